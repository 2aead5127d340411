"""Every notebook in notebooks/ runs from top to bottom (in fast mode, BLOC_FAST=1), and the
documented command for running one outside Jupyter (docs/how-to/notebooks.md) works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_three_notebooks_are_there():
    assert {p.stem for p in NOTEBOOKS} >= {"classroom", "sweep-analysis", "validation"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs_and_reads_the_fast_switch(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "clear the outputs"
    assert any("BLOC_FAST" in c.source for c in code)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path):
    """Runs each notebook as docs/how-to/notebooks.md says (`BLOC_FAST=1 .venv/bin/jupyter execute
    notebooks/classroom.ipynb`): nbclient's command line, with the venv's python3 kernel."""
    jupyter = Path(sys.executable).parent / "jupyter"
    env = {**os.environ, "BLOC_FAST": "1", "MPLBACKEND": "Agg"}
    cmd = [str(jupyter), "execute", str(path.relative_to(ROOT))]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]

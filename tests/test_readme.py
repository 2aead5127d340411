"""Every command in the README works: the quick ones run here, in README order, in a scratch
folder; the long-running ones (servers, the test suite itself, big sweeps) name the test that
exercises them, and that test must exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

#: Commands that do not return (servers), run the suite itself, or take minutes: the test that
#: exercises each, as "file::function".
COVERED_ELSEWHERE: dict[str, str] = {
    "./scripts/start": "tests/test_app.py::test_scripts_start_serves_the_app",
    "./scripts/test": ".ci/run",
    ".venv/bin/bloc app": "tests/test_app_browser.py::test_page_loads_offline",
    ".venv/bin/bloc workshop": "tests/test_workshop.py",
    "uv sync": "scripts/setup",
    "uv lock": "scripts/setup",
    ".venv/bin/python -m pytest": ".ci/run",
    ".venv/bin/ruff": ".ci/run",
    ".venv/bin/dask": "tests/test_sweep_backends.py::test_separate_scheduler_and_worker_processes",
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False .venv/bin/dask worker": (
        "tests/test_sweep_backends.py::test_separate_scheduler_and_worker_processes"
    ),
    ".venv/bin/bloc sweep": "tests/test_sweep.py",
    ".venv/bin/bloc check": "tests/test_validation.py",
    "BLOC_FAST=1 .venv/bin/jupyter": "tests/test_notebooks.py",
    # the whole command: that test runs exactly this one (and would not cover other arguments)
    ".venv/bin/python benchmarks/bench_sweep.py --runs 4 --rounds 3 --only overhead": (
        "tests/test_sweep.py::test_benchmark_runs_small"
    ),
}


def readme_commands() -> list[str]:
    """Shell commands in the README's ```bash blocks (comments and continuations joined)."""
    text = README.read_text()
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        pending = ""
        for raw in block.splitlines():
            line = raw.split("  #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
            if not line.strip():
                continue
            if pending:  # a continuation line: its indentation is layout, not the command
                line = line.lstrip()
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            commands.append((pending + line).strip())
            pending = ""
    return commands


def covering(command: str) -> str | None:
    for prefix, where in COVERED_ELSEWHERE.items():
        if command.startswith(prefix):
            return where
    return None


def test_the_readme_has_the_two_commands_first():
    commands = readme_commands()
    assert commands[:2] == ["./scripts/start", "./scripts/test"]


def test_commands_covered_elsewhere_name_a_real_test():
    for command in readme_commands():
        where = covering(command)
        if where is None:
            continue
        path, _, func = where.partition("::")
        target = ROOT / path
        assert target.exists(), f"{command!r}: {path} does not exist"
        if func:
            assert f"def {func}(" in target.read_text(), f"{command!r}: {where} is missing"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder that looks like the checkout to a README command."""
    d = tmp_path_factory.mktemp("readme")
    for name in (".venv", "scenarios", "notebooks", "docs", "benchmarks"):
        if (ROOT / name).exists():
            (d / name).symlink_to(ROOT / name)
    return d


def test_every_quick_readme_command_runs(scratch):
    ran = 0
    for command in readme_commands():
        if covering(command) is not None:
            continue
        p = subprocess.run(
            ["bash", "-c", command], cwd=scratch, capture_output=True, text=True, timeout=300
        )
        assert p.returncode == 0, f"{command}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
        assert "Traceback" not in p.stderr, command
        ran += 1
    assert ran >= 5

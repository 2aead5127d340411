"""The built-in scenarios ship in the wheel: after a normal (non-editable) install into a fresh
environment, `bloc scenarios` lists them and `bloc run NAME` runs one, from any folder.

Two things keep this quick without changing what is installed or run: the fresh environment gets
the market kernels' numba cache that scripts/setup compiled for this checkout (the same source
file, so numba loads the machine code instead of compiling for a minute), and the commands write
their bytecode as they import (PYTHONDONTWRITEBYTECODE is dropped) rather than at install, which
would compile every module of every dependency."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: the uv scripts/setup used: the one on PATH, or the private copy it installs in .tools/
UV = shutil.which("uv") or next(
    (str(p) for p in [ROOT / ".tools" / "bin" / "uv"] if os.access(p, os.X_OK)), None
)

pytestmark = [
    pytest.mark.slow,
    # skipped only outside CI: in CI a missing uv is a failure (set-up always provides one)
    pytest.mark.skipif(UV is None and not os.environ.get("CI"), reason="no uv (run scripts/setup)"),
]


def sh(*args: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    # Python's defaults: no path of ours, and bytecode written on first import
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["UV_PYTHON_DOWNLOADS"] = "never"  # build and install with this interpreter, never another
    p = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed (not editable); its bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    assert UV is not None, "no uv on PATH or in .tools/bin (scripts/setup installs one)"
    sh(UV, "build", "--wheel", "--python", sys.executable, "--out-dir", tmp / "dist", ROOT, cwd=tmp)
    (wheel,) = (tmp / "dist").glob("bloc-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "negotiation/_scenarios/ministerial-2026.toml" in names
    assert "negotiation/_scenarios/tin-1985.toml" in names
    sh(UV, "venv", "--python", sys.executable, tmp / "venv", cwd=tmp)
    python = tmp / "venv" / "bin" / "python"
    sh(UV, "pip", "install", "--python", python, wheel, cwd=tmp)
    seed_kernel_cache(tmp / "venv")
    return tmp / "venv" / "bin"


def seed_kernel_cache(venv: Path) -> None:
    """Copy this checkout's numba cache of negotiation/engine/_kernels.py next to the installed
    copy.

    numba keys its cache on the source file's modification time and size, and each compiled
    function on its bytecode, so the installed file (the same bytes) gets the checkout's time.
    Nothing else changes: the kernels still load from the installed package's own __pycache__,
    and anything the cache lacks (or a stale cache) is compiled there as usual."""
    source = ROOT / "negotiation" / "engine" / "_kernels.py"
    (installed,) = venv.glob("lib/python3*/site-packages/negotiation/engine/_kernels.py")
    cached = sorted((source.parent / "__pycache__").glob("_kernels.*.nb[ci]"))
    if not cached or installed.read_bytes() != source.read_bytes():
        return  # numba compiles them in the fresh environment (about a minute)
    dest = installed.parent / "__pycache__"
    dest.mkdir(exist_ok=True)
    for path in cached:  # sorted: data files (.nbc) before the index (.nbi) that names them
        shutil.copy2(path, dest / path.name)
    stat = source.stat()
    os.utime(installed, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_installed_bloc_lists_and_runs_the_built_in_scenarios(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = sh(installed / "bloc", "scenarios", cwd=elsewhere).stdout
    top_level = {p.stem for p in (ROOT / "scenarios").glob("*.toml")}
    assert {line.split()[0] for line in listed.splitlines()} == top_level  # no sub-folder files
    assert {"ministerial-2026", "tin-1985", "expansion"} <= top_level
    ran = sh(installed / "bloc", "run", "tin-1985", "--rounds", "2", cwd=elsewhere).stdout
    assert "Bloc at the end:" in ran and "tin" in ran
    shown = sh(installed / "bloc", "scenarios", "show", "expansion", cwd=elsewhere).stdout
    assert 'name = "expansion"' in shown and "[actors.supplier]" in shown  # extends resolved


def test_installed_package_reads_its_own_scenario_folder(installed, tmp_path):
    code = (
        "import negotiation.engine.scenario as s;"
        "print(*s.SCENARIO_DIRS, sep='\\n');"
        "print(','.join(s.scenario_names()))"
    )
    out = sh(installed / "python", "-c", code, cwd=tmp_path).stdout.splitlines()
    dirs, names = out[:-1], out[-1].split(",")
    assert dirs and all(d.endswith("negotiation/_scenarios") for d in dirs), dirs
    top_level = {p.stem for p in (ROOT / "scenarios").glob("*.toml")}
    assert set(names) == top_level

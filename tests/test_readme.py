"""Every command in the README and the documentation site (docs/, every page) works: the quick
ones run here, in the order of the pages, in a scratch folder; the long-running ones (servers,
the test suite itself, big sweeps) name the test that exercises them, and that test must
exist."""

from __future__ import annotations

import subprocess

import pytest

from tests.doc_pages import README, ROOT, code_blocks

#: Commands that do not return (servers), run the suite itself, or take minutes: the test that
#: exercises each, as "file::function". A key ending in "*" covers every command it begins;
#: any other key is one whole command.
WORKSHOP = "tests/test_workshop.py::test_bloc_workshop_serves_on_the_venues_network"
SWEEPS = "tests/test_sweep.py::test_readme_commands"
DASK = "tests/test_sweep_backends.py::test_separate_scheduler_and_worker_processes"
COVERED_ELSEWHERE: dict[str, str] = {
    "./scripts/start": "tests/test_app.py::test_scripts_start_serves_the_app",
    "./scripts/test": ".ci/run",
    "./scripts/docs": "tests/test_site.py::test_scripts_docs_serves_the_site",
    ".venv/bin/bloc app --host 0.0.0.0 --port 9000": (
        "tests/test_app.py::test_bloc_app_serves_on_the_host_and_port_asked"
    ),
    ".venv/bin/bloc workshop": WORKSHOP,
    ".venv/bin/bloc workshop --host 0.0.0.0 --port 8766": WORKSHOP,
    ".venv/bin/bloc workshop --scenario us-mexico-60-day": WORKSHOP,
    ".venv/bin/bloc workshop --host 0.0.0.0 --resume": (
        "tests/test_workshop_resume.py::test_bloc_workshop_resumes_a_room_after_being_killed"
    ),
    ".venv/bin/bloc sweep scenarios/sweeps/penalty-floor.toml --out runs/penalty-floor": SWEEPS,
    ".venv/bin/bloc sweep scenarios/sweeps/penalty-floor.toml --out runs/penalty-floor --resume": (
        SWEEPS
    ),
    ".venv/bin/bloc sweep report runs/penalty-floor": SWEEPS,
    ".venv/bin/bloc sweep scenarios/sweeps/sensitivity.toml --out runs/sensitivity --workers 2": (
        SWEEPS
    ),
    ".venv/bin/bloc sweep report runs/sensitivity": SWEEPS,
    ".venv/bin/dask scheduler*": DASK,
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False .venv/bin/dask worker*": DASK,
    (".venv/bin/bloc sweep scenarios/sweeps/penalty-floor.toml --out runs/on-dask --scheduler*"): (
        DASK
    ),
    # the whole command: that test runs exactly this one (and would not cover other arguments)
    ".venv/bin/python benchmarks/bench_sweep.py --runs 4 --rounds 3 --only overhead": (
        "tests/test_sweep.py::test_benchmark_runs_small"
    ),
    ".venv/bin/bloc check": (
        "tests/test_validation.py::test_bloc_check_runs_every_check_and_exits_by_the_verdicts"
    ),
    ".venv/bin/bloc check --only daspremont-free-riding": (
        "tests/test_validation.py::"
        "test_bloc_check_only_prints_the_statement_the_figure_and_the_verdict"
    ),
    ".venv/bin/python scripts/assumptions.py": (
        "tests/test_docs.py::test_the_assumptions_table_is_what_the_model_gives"
    ),
    ".venv/bin/python scripts/assumptions.py --check": (
        "tests/test_docs.py::test_the_assumptions_table_is_what_the_model_gives"
    ),
    ".venv/bin/bloc check --only daspremont --fast": (
        "tests/test_validation.py::test_bloc_check_a_prefix_selects_several"
    ),
    "BLOC_FAST=1 .venv/bin/jupyter execute notebooks/*": (
        "tests/test_notebooks.py::test_notebook_runs"
    ),
}


def shell_commands(blocks: list[str]) -> list[str]:
    """Shell commands in ```bash blocks (comments and continuations joined)."""
    commands: list[str] = []
    for block in blocks:
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


def readme_commands() -> list[str]:
    """The README's own commands."""
    return shell_commands(code_blocks("bash", [README]))


def documented_commands() -> list[str]:
    """The commands of the README, then of every page of the site."""
    return shell_commands(code_blocks("bash"))


def covering(command: str) -> str | None:
    for key, where in COVERED_ELSEWHERE.items():
        if command == key or (key.endswith("*") and command.startswith(key[:-1])):
            return where
    return None


def test_the_readme_has_the_two_commands_first():
    commands = readme_commands()
    assert commands[:2] == ["./scripts/start", "./scripts/test"]


def test_commands_are_collected_from_the_site_too():
    """The README is the front door; most commands are on the site's pages."""
    commands = documented_commands()
    assert set(readme_commands()) < set(commands)
    assert ".venv/bin/bloc scenarios show tin-1985" in commands  # docs/how-to/scenarios.md


def test_commands_covered_elsewhere_name_a_real_test():
    for command in documented_commands():
        where = covering(command)
        if where is None:
            continue
        path, _, func = where.partition("::")
        target = ROOT / path
        assert target.exists(), f"{command!r}: {path} does not exist"
        if func:
            assert f"def {func}(" in target.read_text(), f"{command!r}: {where} is missing"


def test_every_command_said_to_be_covered_elsewhere_is_documented():
    """A stale entry would excuse a command added later without a test."""
    commands = documented_commands()
    for key in COVERED_ELSEWHERE:
        assert any(covering(c) and (c == key or c.startswith(key.rstrip("*"))) for c in commands), (
            f"{key!r} is no longer a documented command"
        )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder that looks like the checkout to a documented command."""
    d = tmp_path_factory.mktemp("readme")
    for name in (".venv", "scenarios", "notebooks", "docs", "benchmarks"):
        if (ROOT / name).exists():
            (d / name).symlink_to(ROOT / name)
    return d


def test_every_quick_documented_command_runs(scratch):
    ran = 0
    for command in documented_commands():
        if covering(command) is not None:
            continue
        p = subprocess.run(
            ["bash", "-c", command], cwd=scratch, capture_output=True, text=True, timeout=300
        )
        assert p.returncode == 0, f"{command}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
        assert "Traceback" not in p.stderr, command
        ran += 1
    assert ran >= 15  # the quick commands the README had before they moved to the site

"""The layering as a contract (pyproject.toml, [tool.importlinter]), checked by import-linter: no
module imports one of a layer above it, deferred imports included."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(config: Path | None = None) -> subprocess.CompletedProcess:
    args = [str(LINT), "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_every_layer_contract_is_kept():
    done = lint()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def private_imports(files) -> list[str]:
    """`from negotiation.x import _name` (or agents'), deferred ones too: a private name used
    outside its module. A private module's public names (negotiation.engine._kernels) are fine."""
    found = []
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
                "negotiation",
                "agents",
            ):
                found += [
                    f"{f.name}:{node.lineno}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    return found


def test_no_private_name_is_used_outside_its_module(tmp_path):
    """What two modules share is public: named without a leading underscore."""
    files = sorted([*(ROOT / "negotiation").rglob("*.py"), *(ROOT / "agents").glob("*.py")])
    assert len(files) > 40
    assert private_imports(files) == []
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from negotiation.experiments.sweep import _private\n")
    assert private_imports([probe]) == ["probe.py:2: negotiation.experiments.sweep._private"]


def test_no_test_module_imports_another():
    """What tests share lives in helper modules (tests/*_helpers.py, browser_support.py,
    market_cases.py, reference_market.py), not in another test module: a test module can be
    run, moved or deleted on its own."""
    found = []
    for f in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests.test_"):
                found.append(f"{f.name}:{node.lineno}: {node.module}")
            if isinstance(node, ast.Import):
                found += [f"{f.name}:{node.lineno}: {a.name}" for a in node.names
                          if a.name.startswith("tests.test_")]  # fmt: skip
    assert found == []


def test_a_deferred_upward_import_is_caught(tmp_path):
    """The scenario loader imports the strategy registry inside a function (to check strategy
    names); a contract forbidding it must see that import and fail."""
    config = tmp_path / "contract.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    negotiation\n    agents\n\n"
        "[importlinter:contract:probe]\nname = probe\ntype = forbidden\n"
        "source_modules =\n    negotiation.engine.scenario\nforbidden_modules =\n    agents\n"
    )
    done = lint(config)
    assert done.returncode != 0
    assert "negotiation.engine.scenario -> agents" in done.stdout


def test_the_records_digest_shows_a_refactoring_changed_nothing(tmp_path):
    """scripts/records_digest.py, as a refactoring uses it: digests saved before, compared after;
    a digest that differs is named and fails the comparison."""
    script = [sys.executable, str(ROOT / "scripts" / "records_digest.py")]
    saved = tmp_path / "before.json"
    run = lambda *a: subprocess.run([*script, *a], cwd=ROOT, capture_output=True, text=True)  # noqa: E731
    assert run("--save", str(saved), "--seeds", "1").returncode == 0
    same = run("--compare", str(saved), "--seeds", "1")
    assert same.returncode == 0 and "CHANGED" not in same.stdout
    assert same.stdout.count("same") == len(__import__("negotiation").scenario_names())
    before = json.loads(saved.read_text())
    before["tin-1985"] = "0" * 64  # as if the move had changed the tin agreement's records
    saved.write_text(json.dumps(before))
    changed = run("--compare", str(saved), "--seeds", "1")
    assert changed.returncode == 1 and "CHANGED tin-1985" in changed.stdout

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


#: Underscored attributes that are public API: each with why it may be used anywhere.
PUBLIC_UNDERSCORED = {
    # namedtuple's methods and attributes: underscored so as not to clash with field names
    "_replace": "namedtuple: a copy with some fields changed",
    "_asdict": "namedtuple: the fields as a dict",
    "_fields": "namedtuple: the field names",
    "_make": "namedtuple: an instance from an iterable",
    "_field_defaults": "namedtuple: the fields' defaults",
    # the standard library's documented way out of a process without cleanup (a killed
    # pool's manager thread would hang the interpreter's exit: cli.py, sweep.py)
    "_exit": "os._exit",
    # workshop_app's own mark on Solara's Starlette app (set and read in that module only):
    # the server is hardened once
    "_bloc_hardened": "negotiation.ui.workshop_app's mark on the Starlette app",
}


def private_attributes(files) -> list[str]:
    """`obj._name` where `obj` is not `self` or `cls` and the module does not define `_name`
    (an AST heuristic): a private attribute of another module's object. A module defines a
    name with a function or class of that name, an assignment to it, or an attribute of `self`
    or `cls` it reads or sets; setting `other._name` does not make `_name` its own (a part that
    wrote its room's private state would pass otherwise)."""
    found = []
    for f in files:
        tree = ast.parse(f.read_text())
        defined = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.add(n.name)
            elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                defined.add(n.id)
            elif isinstance(n, ast.Attribute) and own(n):
                defined.add(n.attr)
        found += [
            f"{f.name}:{n.lineno}: {ast.unparse(n)}"
            for n in ast.walk(tree)
            if isinstance(n, ast.Attribute)
            and n.attr.startswith("_")
            and not n.attr.startswith("__")
            and n.attr not in PUBLIC_UNDERSCORED
            and n.attr not in defined
            and not own(n)
        ]
    return sorted(found)


def own(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")


def test_no_private_attribute_is_used_outside_its_module(tmp_path):
    """What a module uses of another's objects is public: no `room._touch()`, no
    `model._invitations(r)` (issue 17). A room's parts get what they need of the room in hooks
    it hands them (`SeatHooks`, `RecordHooks`)."""
    files = sorted([*(ROOT / "negotiation").rglob("*.py"), *(ROOT / "agents").glob("*.py")])
    assert len(files) > 40
    assert private_attributes(files) == []
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os\n"
        "class Part:\n"
        "    def __init__(self, room):\n"
        "        self._own = room\n"
        "        room._touch()\n"  # another object's private method
        "    def restore(self, room, t):\n"
        "        room._opening = t\n"  # set on another object: not the module's own
        "        return room._opening, self._own._replace(a=1), os._exit\n"
    )
    assert private_attributes([probe]) == [
        "probe.py:5: room._touch",
        "probe.py:7: room._opening",
        "probe.py:8: room._opening",
    ]


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


def test_the_records_digest_can_leave_out_a_column_added_on_purpose():
    """`--drop COLUMN`: a change that adds a column (the offtake share did) can still show that
    every other figure of the records is unchanged; left out, the column changes the digest."""
    import hashlib
    import importlib.util

    from negotiation import BlocModel, load_scenario

    spec = importlib.util.spec_from_file_location(
        "records_digest", ROOT / "scripts" / "records_digest.py"
    )
    rd = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rd)
    m = BlocModel(load_scenario("tin-1985"), rng=0).run()
    h = hashlib.sha256()
    for table in (m.rounds_df, m.actors_df, m.events_df):
        table = table.drop(columns=["offtake_share"], errors="ignore")
        h.update(table.to_csv(index=False, float_format="%.17g").encode())
    assert rd.digest("tin-1985", (0,), drop=("offtake_share",)) == h.hexdigest()
    assert rd.digest("tin-1985", (0,)) != h.hexdigest()

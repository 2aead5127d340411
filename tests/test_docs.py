"""The documentation kept true to the code and the repository: statements of docs/ODD.md checked
as behaviour, the data sources in the repository, links between the pages, and the help text the
site's command-line reference is generated from (tests/test_site.py builds the site)."""

from __future__ import annotations

import csv
import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from negotiation import BlocModel, load_scenario
from negotiation.cli import main
from tests.doc_pages import ROOT, code_blocks, documents, page

# ---------------------------------------------------------------------------------------------
# docs/ODD.md, Submodel C: the stockpile fund buys only while the bloc has at least one member


def _stockpile_world(members: list[str], rounds: int = 3) -> BlocModel:
    """The default world under a stockpile floor far above the clearing price, with `members` in
    the bloc from the start and nobody invited to join (no tables, no open accession)."""
    sc = load_scenario(
        "ministerial-2026",
        {"policy.initial_members": members, "agenda.tracks": [], "agenda.open_accession": False},
    )
    floors = dict.fromkeys(sc.minerals, 0.0)
    floors["rare_earths"] = 3.0 * sc.minerals["rare_earths"].reference_price
    return BlocModel(sc, rounds=rounds, rng=0, instrument="stockpile", floors=floors,
                     stockpile_fund=1e9, supplier_strategy="passive").run()  # fmt: skip


def test_the_stockpile_fund_buys_nothing_while_the_bloc_has_no_member():
    m = _stockpile_world([])
    r = m.rounds_df
    assert (r["n_members"] == 0).all()
    stockpiled = [c for c in r.columns if c.startswith("stockpiled_")]
    assert stockpiled and (r[stockpiled] == 0).all().all()
    assert (r["stockpile_fund"] == 1e9).all() and m.fund == 1e9
    assert not r["fund_exhausted"].any() and (r["fiscal_cost"] == 0).all()
    # Nothing holds the floor: the world price stays where the market clears, far below it.
    assert (r["world_price_rare_earths"] < 0.5 * r["floor_rare_earths"]).all()


def test_with_one_member_the_same_fund_buys_and_holds_the_floor():
    # The contrast that makes the test above mean something: one member and the fund is active.
    m = _stockpile_world(["us"])
    r = m.rounds_df.iloc[1:]
    assert (r["n_members"] == 1).all()
    assert (r["stockpiled_rare_earths"] > 0).all()
    assert r["world_price_rare_earths"].to_numpy() == pytest.approx(
        r["floor_rare_earths"].to_numpy()
    )
    assert m.fund < 1e9 and (r["fiscal_cost"] > 0).all()


def test_the_odd_quotes_the_price_search_as_implemented():
    """Submodel B names the kernel's entry points and quotes its constants. The kernel's private
    functions are listed from the code on the site (docs/ref/kernels.md, checked in
    tests/test_site.py); a private name the ODD does use must exist."""
    import math

    from negotiation.engine import _kernels as k
    from negotiation.engine.market import PRICE_HI, PRICE_LO

    odd = " ".join((ROOT / "docs" / "ODD.md").read_text().split())  # line breaks as spaces
    for name in ("clear_kernel", "find_prices"):
        assert hasattr(k, name) and f"`{name}`" in odd, name
    assert "(ref/kernels.md)" in odd
    code = "\n".join(p.read_text() for p in (ROOT / "negotiation").rglob("*.py"))
    for name in set(re.findall(r"`(_[a-z][a-z0-9_]*)`", odd)):
        assert re.search(rf"^\s*(def {name}\(|{name}\s*[:=])", code, re.M), (
            f"docs/ODD.md names {name}, which negotiation/ does not define"
        )
    assert f"Up to {k.NEWTON_STEPS} steps" in odd
    assert k.CAP_BAND == 1e-9 and "within 1e-9 of it" in odd
    assert f"[x0 - {k.WARM:g}, x0 + {k.WARM:g}]" in odd
    assert f"by {4 * k.WARM:g}, then {16 * k.WARM:g}" in odd
    assert f"wider than {k.NEAR:g} in log price" in odd
    assert f"at most {k.MAX_STEPS} steps" in odd
    assert f"taken as {k.LOG_ZERO:g}" in odd
    assert f"narrower than {k.TOLERANCE:g} in log price" in odd
    lo, hi = round(math.log10(PRICE_LO)), round(math.log10(PRICE_HI))
    assert f"[10^{lo} ref, 10^{hi} ref]" in odd


# ---------------------------------------------------------------------------------------------
# Data sources: the reference material is in the repository, and the documents point at it

#: every page, as a path from the repository's root (the README and the site's Markdown files)
DOCUMENTS = [str(p.relative_to(ROOT)) for p in documents()]
REFERENCE = ROOT / "docs" / "reference"
CSV_MARK = {
    "production.csv": "mark_of_quantity",
    "prices.csv": "mark",
    "import-dependence.csv": "mark",
    "bilateral-trade.csv": "mark",
}


def test_the_reference_files_are_in_the_repository_with_a_source_on_every_row():
    assert (REFERENCE / "domain-data.md").read_text().startswith("# Reference data")
    for name, mark in CSV_MARK.items():
        with (REFERENCE / name).open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows, name
        for i, row in enumerate(rows, start=2):
            assert row["source"].strip(), f"{name} line {i}: no source"
            assert row[mark] in {"R", "R-sec", "D"}, f"{name} line {i}: mark {row[mark]!r}"


def test_no_file_points_at_reference_material_outside_the_repository():
    """Scenario files, code and notebooks cite docs/reference/, which ships with the project."""
    offenders = [
        f"{path.relative_to(ROOT)}: {word}"
        for folder in ("negotiation", "agents", "scenarios", "notebooks", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in {".py", ".toml", ".ipynb"}
        for word in ("shared/reference", "DESIGN.md")
        if word in path.read_text()
    ]
    assert not offenders


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_link_and_docs_path_in_the_documents_exists(document):
    path = ROOT / document
    text = path.read_text()
    assert "shared/reference" not in text, "points outside the repository: use docs/reference/"
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "#")):
            continue
        assert (path.parent / target.split("#")[0]).exists(), f"{document}: broken link {target}"
    for named in re.findall(r"`(docs/[\w./-]+)`", text):
        assert (ROOT / named).exists(), f"{document}: {named} does not exist"
    if document in ("README.md", "docs/ODD.md"):  # the front door and the model's description
        assert "data-sources.md" in text and "reference/domain-data.md" in text


def test_data_sources_names_every_reference_file_and_scenario():
    from negotiation.engine.scenario import scenario_names

    text = (ROOT / "docs" / "data-sources.md").read_text()
    for f in REFERENCE.iterdir():
        assert f"`{f.name}`" in text, f"docs/data-sources.md does not say what {f.name} holds"
    for name in scenario_names():
        assert f"`{name}`" in text, f"docs/data-sources.md: which figures does {name} use?"
    for f in (ROOT / "scenarios" / "validation").glob("*.toml"):
        assert f"validation/{f.stem}" in text, f"docs/data-sources.md: {f.stem} missing"


# ---------------------------------------------------------------------------------------------
# The command line's help: the site's reference (docs/ref/cli.md) is generated from it by
# mkdocs-click, so every command and option must say what it does there


def _commands() -> dict[str, click.Command]:
    """Every command path of the `bloc` program ("bloc", "bloc run", "bloc sweep report", ...)."""
    out: dict[str, click.Command] = {}

    def walk(path: str, cmd: click.Command) -> None:
        out[path] = cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            if not sub.hidden:
                walk(f"{path} {name}", sub)

    walk("bloc", main)
    return out


def test_the_command_line_page_is_generated_from_the_click_group():
    text = page("ref/cli.md")
    assert "::: mkdocs-click" in text
    assert ":module: negotiation.cli" in text and ":command: main" in text
    assert ":prog_name: bloc" in text and ":list_subcommands: true" in text
    assert "| `bloc" not in text, "a hand-written table would go stale: the page is generated"


@pytest.mark.parametrize("path", sorted(_commands()))
def test_every_command_and_option_says_what_it_does(path):
    cmd = _commands()[path]
    assert (cmd.help or "").strip(), f"`{path}` has no help text (its docstring)"
    for p in cmd.params:
        if isinstance(p, click.Option) and not p.hidden:
            assert (p.help or "").strip(), f"`{path}` {p.opts[0]}: no help text"


def test_the_version_is_as_the_command_line_page_says():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("bloc, version ")
    assert "`bloc --version` prints the installed version (`bloc, version X.Y.Z`)" in page(
        "ref/cli.md"
    )
    for opt in ("--version", "-h", "--help"):
        assert opt in main.get_help(click.Context(main, info_name="bloc")), opt


# ---------------------------------------------------------------------------------------------
# The scenario examples of the documentation load


def test_the_documented_scenario_examples_load(tmp_path):
    examples = [b for b in code_blocks("toml") if "extends =" in b]
    assert len(examples) >= 3
    for i, block in enumerate(examples):
        path = tmp_path / f"example{i}.toml"
        path.write_text(block)
        sc = load_scenario(path)
        if "[[levers]]" in block:
            assert sc.seed == 3 and [c.round for c in sc.levers] == [7, 13]
            m = BlocModel(sc, rng=sc.seed, rounds=7).run()
            assert m.rounds_df["penalty"].iloc[-1] == 1.0
            assert (m.events_df["kind"] == "lever").any()


def test_the_model_in_brief_names_every_registered_strategy():
    from agents import STRATEGIES

    brief = page("explanation/model.md").split("\n## ", 1)[0]  # before its first section
    for name in STRATEGIES:
        assert f"`{name}`" in brief, f"docs/explanation/model.md: strategy {name} missing"


def test_the_assumptions_table_is_what_the_model_gives():
    """docs/assumptions.md is the table scripts/assumptions.py writes for the model as it is; the
    check fails, naming the file, when it is not."""
    script = ROOT / "scripts" / "assumptions.py"
    r = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "is up to date" in r.stdout
    table = (ROOT / "docs" / "assumptions.md").read_text()
    assert table.count("\n| ") >= 15  # the header, its rule and a row per variation


# ---------------------------------------------------------------------------------------------
# Docstrings in the numpy style (mkdocs.yml: mkdocstrings reads them with `docstring_style:
# numpy`): the workshop's rooms and the engine's classes, the API the pages and the tests call

#: (module, class, at least this many public methods): a class renamed or emptied fails the test
#: rather than pass it with nothing checked
NUMPY_STYLE = [
    ("negotiation.rooms.workshop", "Room", 40),
    ("negotiation.rooms.workshop", "Workshop", 15),
    ("negotiation.engine.model", "BlocModel", 20),
    ("negotiation.engine.evaluator", "Evaluator", 25),
    ("negotiation.engine.recorder", "Recorder", 5),
    ("negotiation.engine.levers", "LeverStore", 7),
    ("negotiation.engine.projects", "ProjectBook", 4),
]


@pytest.mark.parametrize(("module_name", "cls", "at_least"), NUMPY_STYLE)
def test_the_public_methods_have_numpy_docstrings(caplog, module_name, cls, at_least):
    """Every public method of `Room` and `Workshop` (negotiation/rooms/workshop.py) and of the
    engine's `BlocModel`, `Evaluator`, `Recorder` and `LeverStore` has a docstring that
    mkdocstrings' parser reads without a warning, with a Parameters section naming each
    parameter in order and a Returns section when it returns something (issue 17); the class's
    own docstring is read without a warning too."""
    import logging

    import griffe

    caplog.set_level(logging.WARNING, logger="griffe")
    module = griffe.load(
        module_name, search_paths=[str(ROOT)], docstring_parser=griffe.Parser.numpy
    )
    problems, checked = [], 0
    if module[cls].docstring is None:
        problems.append(f"{cls}: no docstring")
    else:
        module[cls].docstring.parse(griffe.Parser.numpy)
    for name, member in module[cls].members.items():
        if name.startswith("_") or not member.is_function:
            continue
        checked += 1
        where = f"{cls}.{name}"
        if member.docstring is None:
            problems.append(f"{where}: no docstring")
            continue
        sections = {s.kind.value: s for s in member.docstring.parse(griffe.Parser.numpy)}
        if "property" in member.labels:
            continue  # a summary is enough
        params = [p.name for p in member.parameters if p.name not in ("self", "cls")]
        listed = [p.name.lstrip("*") for p in getattr(sections.get("parameters"), "value", [])]
        if params != listed:
            problems.append(f"{where}: Parameters lists {listed}, not {params}")
        if str(member.returns) != "None" and "returns" not in sections:
            problems.append(f"{where}: no Returns section")
    assert checked >= at_least
    assert problems == []
    assert [r.getMessage() for r in caplog.records] == []

"""Bad scenario files get errors a person can act on.

One line per problem, naming the file (or `--set`), the field path and what is wrong, with "did
you mean" for a misspelt key or name; exit code 2; never a traceback. The corpus of malformed files
is tests/malformed/: each file there has its expected message below, and the test fails if a file
is added without one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from negotiation import load_scenario
from negotiation.cli import main
from negotiation.engine.scenario import ScenarioError, apply_overrides, parse_value

CORPUS = Path(__file__).resolve().parent / "malformed"

#: file -> fragments its error output must contain (the field path, and what is wrong).
EXPECTED: dict[str, tuple[str, ...]] = {
    # syntax, encoding, empty
    "syntax-missing-equals.toml": ("line 5, column 7", "TOML syntax error", "Expected '='"),
    "syntax-unclosed-table.toml": ("line 4", "TOML syntax error", "Expected ']'"),
    "syntax-duplicate-key.toml": ("line 6", "TOML syntax error", "Cannot overwrite a value"),
    "empty.toml": ("the file is empty",),
    "only-comments.toml": ("holds only comments",),
    "not-utf8.toml": ("line 5", "not UTF-8 text", "save the file as UTF-8"),
    # unknown keys
    "unknown-top-level-key.toml": ("polcy: unknown key 'polcy' (did you mean 'policy'?)",),
    "unknown-actor-key.toml": (
        "actors.japan.patiense: unknown key 'patiense' (did you mean 'patience'?)",
    ),
    "unknown-mineral-key.toml": (
        "minerals.lithium.elasticty: unknown key 'elasticty' (did you mean 'elasticity'?)",
    ),
    # wrong types
    "wrong-type-text-for-number.toml": ("time.rounds: must be a number, not text ('ten')",),
    "wrong-type-boolean-for-number.toml": ("actors.us.patience: must be a number, not a boolean",),
    "wrong-type-floors-not-table.toml": ("policy.floors: should be a table (got 110000)",),
    "wrong-type-members-not-array.toml": ("policy.initial_members: should be an array (got 'us')",),
    "wrong-type-cost-sharing.toml": (
        "policy.cost_sharing: should be 'consumption' or 'equal', or a table (got 5)",
    ),
    "wrong-type-extends.toml": ("extends: must be a scenario name or a .toml file",),
    # out of range
    "negative-capacity.toml": (
        "actors.us.production.copper: should be greater than or equal to 0 (got -1100000)",
    ),
    "elasticity-wrong-sign.toml": (
        "minerals.lithium.elasticity: should be less than 0 (got 0.3)",
        "price elasticity of demand",
    ),
    "share-above-one.toml": (
        "actors.japan.exposure.rare_earths: should be less than or equal to 1 (got 1.4)",
    ),
    "zero-round-length.toml": (
        "time.round_days: should be greater than or equal to 1 (got 0)",
        "length of a round in days",
    ),
    "absurd-demand.toml": ("minerals.copper.demand: 1e+300 is absurdly large",),
    "absurd-rounds.toml": ("time.rounds: should be less than or equal to 10000",),
    "infinite-price.toml": ("minerals.gallium.reference_price: must be a finite number",),
    "shock-negative-flood.toml": ("shocks.0.magnitude: -0.2 is out of range for a flood shock",),
    "shock-after-last-round.toml": (
        "shocks.0.start_round: 100 is after the last round (36), so the shock never happens",
    ),
    "deadline-before-start.toml": ("agenda.tracks.0.deadline_round: 2 is before start_round (5)",),
    # references to things not defined
    "undefined-mineral-floor.toml": (
        "policy.floors.unobtainium: mineral 'unobtainium' is not defined",
    ),
    "undefined-mineral-misspelt.toml": (
        "actors.us.production.lithum: mineral 'lithum' is not defined (did you mean 'lithium'?)",
    ),
    "undefined-actor-member.toml": ("policy.initial_members: actor 'brazil' is not defined",),
    "undefined-actor-track.toml": (
        "agenda.tracks.0.parties: actor 'japn' is not defined (did you mean 'japan'?)",
    ),
    "project-without-cost.toml": (
        "projects.0: actors.mexico.unit_cost.lithium is missing: a project's unit cost is its "
        "actor's for the mineral",
        "projects.1.actor: actor 'narnia' is not defined",
        "projects.1.mineral: mineral 'litium' is not defined (did you mean 'lithium'?)",
        "projects.3: a second project of 'mexico' for 'copper' (one each)",
    ),
    "offtake-shares-above-one.toml": (
        "policy.offtake_shares.australia: should be less than or equal to 1 (got 1.5)",
    ),
    "offtake-shares-unknown-partner.toml": (
        "policy.offtake_shares.atlantis: actor 'atlantis' is not defined",
        "policy.offtake_shares.supplier: the supplier cannot be the bloc's offtake partner",
        "levers.0.offtake_shares.indai: actor 'indai' is not defined (did you mean 'india'?)",
    ),
    "offtake-share-zero.toml": (
        "policy.offtake_share: should be greater than or equal to 0.01 (got 0)",
        "levers.0.offtake_share: should be less than or equal to 1 (got 1.5)",
    ),
    "undefined-mineral-track.toml": (
        "agenda.tracks.0.minerals: mineral 'galium' is not defined (did you mean 'gallium'?)",
        "agenda.tracks.0.minerals: a mineral is listed twice",
    ),
    "new-actor-misspelt.toml": (
        "actors.japn.name: missing (required)",
        "did you mean 'japan'?",
    ),
    "convener-not-a-party.toml": ("agenda.tracks.0.convener: 'eu' is not one of the parties",),
    "mandate-without-the-floors.toml": (
        "agenda.mandate: [1.2, 2.0] must be [lowest, highest] multiples of the scenario's floors",
    ),
    "supplier-role-mismatch.toml": (
        "actors.us.role: the supplier must have role 'supplier'",
        "policy.initial_members: the supplier cannot start inside the bloc",
    ),
    "produced-without-cost.toml": (
        "actors.singapore.unit_cost.copper: missing for a produced mineral",
    ),
    "missing-required-fields.toml": (
        "minerals.tin.reference_price: missing (required)",
        "minerals.tin.fringe_cost: missing (required)",
    ),
    "bad-actor-id.toml": ("actors: 'South Korea' is not a usable id",),
    # unknown names
    "unknown-strategy.toml": (
        "actors.eu.strategy: unknown country strategy 'boulwere' (did you mean 'boulware'?)",
    ),
    "unknown-supplier-strategy.toml": (
        "supplier.strategy: unknown supplier strategy 'conceder' ('conceder' is a country "
        "strategy)",
    ),
    "unknown-design.toml": (
        "agenda.tracks.0.designs.1: should be 'instrument', 'floors', 'each_floor', 'invitees', "
        "'penalty', 'sharing' or 'offtake', not 'penalties' (did you mean 'penalty'?)",
    ),
    "floors-and-each-floor.toml": (
        'agenda.tracks.0.designs: "floors" (one multiple of every floor) and "each_floor" (a '
        "floor per mineral) are two ways to design the floors: list one of them",
    ),
    "partner-weight-without-designs.toml": (
        "agenda.tracks.0.partner_weight: 0.5 weighs what the convener designs, but the table has "
        "no designs",
    ),
    "unknown-instrument.toml": (
        "policy.instrument: should be 'border', 'price_gap' or 'stockpile', not 'boarder' "
        "(did you mean 'border'?)",
    ),
    # extends
    "extends-cycle-a.toml": (
        "extends: cycle (extends-cycle-a -> extends-cycle-b -> extends-cycle-a)",
    ),
    "extends-cycle-b.toml": (
        "extends: cycle (extends-cycle-b -> extends-cycle-a -> extends-cycle-b)",
    ),
    "extends-unknown-scenario.toml": (
        "extends: ministerial-2027: no such scenario (did you mean 'ministerial-2026'?)",
    ),
}


def corpus_files() -> list[str]:
    return sorted(p.name for p in CORPUS.glob("*.toml"))


def test_the_corpus_is_complete():
    files = corpus_files()
    assert len(files) >= 25
    assert set(files) == set(EXPECTED), (
        f"without an expectation: {sorted(set(files) - set(EXPECTED))}; "
        f"expected but missing: {sorted(set(EXPECTED) - set(files))}"
    )


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_malformed_file_gets_one_line_per_problem(name):
    path = CORPUS / name
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = error_lines(result.output)
    assert lines, "no error printed"
    for line in lines:
        assert line.startswith("bloc: error: "), line
        assert name in line, f"the line does not name the file: {line}"
    for fragment in EXPECTED[name]:
        assert fragment in result.output, f"{fragment!r} not in:\n{result.output}"
    with pytest.raises(ScenarioError):
        load_scenario(path)


@pytest.mark.parametrize(
    "name", ["not-utf8.toml", "syntax-missing-equals.toml", "absurd-rounds.toml"]
)
def test_the_real_command_exits_2_without_a_traceback(name):
    for command in (["validate"], ["run", "--rounds", "1"]):
        p = subprocess.run(
            [sys.executable, "-m", "negotiation.cli", *command, str(CORPUS / name)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 2, p.stderr
        assert "Traceback" not in p.stderr
        assert p.stderr.startswith("bloc: error: ")
        assert name in p.stderr


def test_validate_reports_good_and_bad_files_together():
    good = Path(__file__).resolve().parent.parent / "scenarios" / "tin-1985.toml"
    result = CliRunner().invoke(main, ["validate", str(good), str(CORPUS / "empty.toml")])
    assert result.exit_code == 2
    assert "tin-1985.toml: ok (" in result.output
    assert "empty.toml: the file is empty" in result.output


# ------------------------------------------------------------------------------------------------
# --set values are validated exactly like file values, and errors name the --set


@pytest.mark.parametrize(
    "sets, message",
    [
        (
            ["polcy.outsider_penalty=0.1"],
            "--set polcy.outsider_penalty: polcy: unknown key 'polcy' (did you mean 'policy'?)",
        ),
        (["policy.outsider_penalty=-1"], "--set policy.outsider_penalty: should be greater"),
        (["time.rounds=ten"], "--set time.rounds: must be a number, not text ('ten')"),
        (["actors.japan.exposure.gallium=1.5"], "--set actors.japan.exposure.gallium: should be"),
        (["actors.eu.strategy=boulwar"], "unknown country strategy 'boulwar' (did you mean"),
        (["policy.floors.lithum=90000"], "--set policy.floors.lithum: mineral 'lithum' is not"),
        (["agenda.tracks.7.deadline_round=2"], "agenda.tracks has 3 entries, so the index can be"),
        (["agenda.tracks.first.deadline_round=2"], "agenda.tracks is an array: the next key must"),
        (["time.rounds.max=3"], "time.rounds is a single value (36), not a table"),
        (["agenda.tracks.3.deadline_round=2"], "--set agenda.tracks.3.deadline_round: agenda"),
        (["shocks.0.magnitude=9"], "--set shocks.0.magnitude: shocks.0.kind: missing (required)"),
    ],
)
def test_set_errors_name_the_set(sets, message):
    args = ["run", "ministerial-2026", "--rounds", "1"]
    for s in sets:
        args += ["--set", s]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert all(line.startswith("bloc: error: ") for line in error_lines(result.output))


def test_an_error_names_the_file_that_holds_the_value(tmp_path):
    parent = tmp_path / "parent.toml"
    parent.write_text('extends = "ministerial-2026"\n[actors.japan]\npatience = -1\n')
    child = tmp_path / "child.toml"
    child.write_text('extends = "parent.toml"\n[time]\nround_days = 0\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(child)
    problems = e.value.problems
    assert any("parent.toml: actors.japan.patience:" in p for p in problems), problems
    assert any("child.toml: time.round_days:" in p for p in problems), problems
    # an array replaced by the child answers for everything in it
    child.write_text(
        'extends = "parent.toml"\n[actors.japan]\npatience = 2\n[[shocks]]\nkind = "flood"\n'
    )
    with pytest.raises(ScenarioError) as e:
        load_scenario(child)
    assert any("child.toml: shocks.0.mineral: missing" in p for p in e.value.problems)


def test_an_error_in_an_extended_file_names_it(tmp_path):
    (tmp_path / "broken.toml").write_text("[time\n")
    child = tmp_path / "child.toml"
    child.write_text('extends = "broken.toml"\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(child)
    (line,) = e.value.problems
    assert "child.toml: extends: " in line and "broken.toml: line 1" in line


def test_a_folder_and_a_missing_file():
    for arg, message in [
        (str(CORPUS), "is a folder, not a scenario file"),
        ("nowhere/scenario.toml", "nowhere/scenario.toml: no such file"),
        ("ministeral-2026", "no such scenario (did you mean 'ministerial-2026'?)"),
    ]:
        result = CliRunner().invoke(main, ["validate", arg])
        assert result.exit_code == 2 and message in result.output, result.output


# ------------------------------------------------------------------------------------------------
# Whatever the input, a ScenarioError or a scenario, never another exception


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_any_text_gives_a_scenario_error_not_a_crash(text, tmp_path):
    path = tmp_path / "fuzz.toml"
    path.write_text('extends = "ministerial-2026"\n' + text, encoding="utf-8")
    try:
        load_scenario(path)
    except ScenarioError as e:
        assert e.problems and all(isinstance(p, str) and p for p in e.problems)


KEYS = st.sampled_from(
    ["policy", "floors", "lithium", "actors", "japan", "patience", "agenda", "tracks", "0", "3",
     "time", "rounds", "shocks", "meta", "name", "x"]
)  # fmt: skip
VALUES = st.sampled_from(["1", "-1", "1e400", "nan", "true", '"text"', "[1, 2]", "{a = 1}", "x"])


@settings(max_examples=80, deadline=None)
@given(path=st.lists(KEYS, min_size=1, max_size=5), value=VALUES)
def test_any_set_gives_a_scenario_error_not_a_crash(path, value):
    try:
        load_scenario("ministerial-2026", {".".join(path): parse_value(value)})
    except ScenarioError as e:
        assert e.problems


def test_apply_overrides_never_changes_its_input():
    data = {"shocks": [{"kind": "flood"}], "policy": {"floors": {"lithium": 1.0}}}
    out = apply_overrides(data, {"shocks.0.kind": "demand", "policy.floors.lithium": 2.0}, "x")
    assert data == {"shocks": [{"kind": "flood"}], "policy": {"floors": {"lithium": 1.0}}}
    assert out["shocks"][0]["kind"] == "demand" and out["policy"]["floors"]["lithium"] == 2.0

"""Custom sweep metrics (`[custom_metrics]`, `module:function`): checked when the spec loads (one
line naming the file, the field and what was wrong; exit 2), computed per run on the worker
processes, typed, with units; a value of the wrong type fails its run alone."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from negotiation import BlocModel, load_scenario
from negotiation.cli import main
from negotiation.experiments.sweep import load, run_sweep
from negotiation.experiments.sweep_spec import SpecError, load_spec

MODULE = '''
def members_ever(model):
    """How many actors were members in some round (the opening included)."""
    rounds = model.rounds_df
    return len({a for s in rounds["members"] for a in str(s).split("+") if a})


def penalty_percent(model):
    return 100 * model.config.policy.outsider_penalty


def last_action(model):
    return str(model.rounds_df["supplier_action"].iloc[-1])


def held_to_the_end(model):
    import numpy as np

    return np.bool_(model.rounds_df["n_members"].iloc[-1] >= model.rounds_df["n_members"].max())


def text_when_high(model):
    p = model.config.policy.outsider_penalty
    return "high" if p > 0.1 else p


def nothing(model):
    return None


def a_list(model):
    return [1, 2]


def boom(model):
    raise ValueError("no data for this")


NOT_A_FUNCTION = 3
'''

SPEC = """
    seed = 8
    metrics = ["final_size"]
    [set]
    "time.rounds" = 3
    [parameters]
    "policy.outsider_penalty" = {{ values = [0.05, 0.2] }}
    "supplier.aggressiveness" = {{ values = [0.3, 0.7] }}
    [custom_metrics]
    {body}
"""


def write_spec(tmp_path: Path, body: str, module: str) -> Path:
    """A spec with `[custom_metrics]` = body, beside a module of MODULE's functions named
    `module` (a name of its own per test: Python imports a module once per process)."""
    (tmp_path / f"{module}.py").write_text(MODULE)
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC.format(body=body.replace("MOD", module))))
    return spec


def problems_of(spec: Path) -> list[str]:
    with pytest.raises(SpecError) as e:
        load_spec(spec)
    return e.value.problems


def test_custom_metrics_are_computed_per_run_on_the_workers(tmp_path):
    spec = write_spec(tmp_path, """
    members_ever = "MOD:members_ever"
    penalty_pct = { function = "MOD:penalty_percent", unit = "%", description = "penalty x 100" }
    last_action = "MOD:last_action"
    held = "MOD:held_to_the_end"
    maybe = { function = "MOD:nothing", dtype = "float" }
    """, "metrics_ok")  # fmt: skip
    out = tmp_path / "out"
    summary = run_sweep(spec, out, workers=2, batch_size=1, progress=False)
    assert (summary.n_ok, summary.n_failed) == (4, 0), summary.failures[:2]
    runs, _, meta = load(out)
    assert str(runs["members_ever"].dtype) == "Int64" and str(runs["maybe"].dtype) == "float64"
    assert runs["held"].dtype == bool and runs["maybe"].isna().all()
    for _, r in runs.iterrows():
        overrides = {
            "time.rounds": 3,
            "policy.outsider_penalty": r["policy.outsider_penalty"],
            "supplier.aggressiveness": r["supplier.aggressiveness"],
        }
        model = BlocModel(load_scenario("ministerial-2026", overrides), rng=int(r["seed"])).run()
        rounds = model.rounds_df
        ever = {a for s in rounds["members"] for a in str(s).split("+") if a}
        assert r["members_ever"] == len(ever)
        assert r["penalty_pct"] == 100 * r["policy.outsider_penalty"]
        assert r["last_action"] == rounds["supplier_action"].iloc[-1]
        assert r["held"] == (rounds["n_members"].iloc[-1] >= rounds["n_members"].max())
    assert runs.attrs["units"]["penalty_pct"] == "%"
    assert runs.attrs["descriptions"]["penalty_pct"] == "penalty x 100"
    assert "metrics_ok:members_ever" in runs.attrs["descriptions"]["members_ever"]
    field = pq.read_schema(next((out / "runs").glob("*.parquet"))).field("penalty_pct")
    assert field.metadata[b"unit"] == b"%"
    info = json.loads((out / "metadata.json").read_text())["custom_metrics"]
    assert info["members_ever"]["function"] == "metrics_ok:members_ever"
    assert info["members_ever"]["file"] == str(tmp_path / "metrics_ok.py")
    import hashlib

    digest = hashlib.sha256((tmp_path / "metrics_ok.py").read_bytes()).hexdigest()
    assert info["penalty_pct"]["sha256"] == digest
    entry = next(m for m in meta["metrics"] if m["name"] == "members_ever")
    assert entry["stat"] == "custom" and entry["dtype"] == "int64"
    # the report treats a numeric custom metric as any other
    from negotiation.experiments.sweep_report import render_report

    assert "<h3>members_ever</h3>" in render_report(runs, meta, ["members_ever"])


BAD = {
    "no such module": (
        'x = "no_such_module_here:f"',
        "custom_metrics.x: no module named 'no_such_module_here' (looked in",
    ),
    "no such function": (
        'x = "MOD:members_evr"',
        "custom_metrics.x: module MOD (",
    ),
    "not module:function": (
        'x = "MOD.members_ever"',
        "custom_metrics.x: 'MOD.members_ever' is not",
    ),
    "not a function": ('x = "MOD:NOT_A_FUNCTION"', "custom_metrics.x: MOD:NOT_A_FUNCTION is int"),
    "raises on the probe": (
        'x = "MOD:boom"',
        "custom_metrics.x: MOD:boom raised on a probe model (the scenario after one round): "
        "ValueError: no data for this",
    ),
    "returns a list": (
        'x = "MOD:a_list"',
        "custom_metrics.x: MOD:a_list returned list [1, 2]; a metric is one value",
    ),
    "returns None and no dtype": (
        'x = "MOD:nothing"',
        'give it, as x = { function = "MOD:nothing", dtype = "float" }',
    ),
    "dtype that does not fit": (
        'x = { function = "MOD:last_action", dtype = "float" }',
        "custom_metrics.x: MOD:last_action returned str",
    ),
    "not a column name": (
        '"x y" = "MOD:members_ever"',
        "custom_metrics: 'x y' is not a usable column name",
    ),
    "a parameter's name": ('seed = "MOD:members_ever"', "the runs table already has a column"),
    "a metric's name": ('final_size = "MOD:members_ever"', "already named 'final_size'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_custom_metrics_get_one_line_naming_file_and_field(tmp_path, case):
    module = "bad_" + case.replace(" ", "_").replace("'", "")
    body, expected = BAD[case]
    spec = write_spec(tmp_path, body, module)
    problems = problems_of(spec)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{spec}: "), problems
    assert expected.replace("MOD", module) in problems[0], problems
    assert "\n" not in problems[0]


def test_a_misspelt_key_is_named(tmp_path):
    spec = write_spec(tmp_path, 'x = { fucntion = "MOD:members_ever" }', "misspelt_key")
    assert problems_of(spec) == [
        f"{spec}: custom_metrics.x.function: missing (required)",
        f"{spec}: custom_metrics.x.fucntion: unknown key 'fucntion' (did you mean 'function'?)",
    ]


def test_a_missing_function_is_named_with_what_the_module_has(tmp_path):
    spec = write_spec(tmp_path, 'x = "MOD:members_evr"', "has_functions")
    (problem,) = problems_of(spec)
    assert f"has_functions ({tmp_path / 'has_functions.py'}) has no function 'members_evr'" in (
        problem
    )
    assert "(did you mean 'members_ever'?)" in problem and "; it has a_list, boom," in problem


def test_a_module_that_fails_to_import_says_why(tmp_path):
    (tmp_path / "broken_metrics.py").write_text("def f(model):\n    return (\n")
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC.format(body='x = "broken_metrics:f"')))
    (problem,) = problems_of(spec)
    assert problem.startswith(f"{spec}: custom_metrics.x: importing broken_metrics failed: ")
    assert "SyntaxError" in problem


def test_the_command_exits_2_before_any_run(tmp_path):
    spec = write_spec(tmp_path, 'x = "MOD:members_evr"', "cli_metrics")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 2 and not out.exists()
    assert r.stderr.startswith(f"bloc: error: {spec}: custom_metrics.x: module cli_metrics")


def test_a_value_of_the_wrong_type_fails_its_run_alone(tmp_path):
    """The probe point's penalty (0.05) gives a number; 0.2 gives text: those runs fail, with
    the reason, and the others keep their value."""
    spec = write_spec(tmp_path, 'x = "MOD:text_when_high"', "typed_metrics")
    out = tmp_path / "out"
    summary = run_sweep(spec, out, workers=1, progress=False)
    assert (summary.n_ok, summary.n_failed, summary.exit_code) == (2, 2, 4)
    runs, _, _ = load(out)
    high = runs["policy.outsider_penalty"] == 0.2
    assert (runs.loc[high, "status"] == "failed").all() and runs.loc[high, "x"].isna().all()
    assert runs.loc[high, "final_size"].isna().all()
    assert set(runs.loc[high, "error"]) == {
        "custom metric x (typed_metrics:text_when_high) returned str 'high'; its column holds "
        "a number"
    }
    assert (runs.loc[~high, "x"] == 0.05).all() and (runs.loc[~high, "status"] == "ok").all()

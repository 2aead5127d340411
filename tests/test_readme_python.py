"""The Python examples of the README and the documentation site, run from the pages' own text
(tests/doc_pages.py collects them from every page; tests/test_readme.py runs the shell commands).
Each block runs in a scratch folder with what it reads made there first."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import agents
import agents.countries
from negotiation.cli import main
from negotiation.rooms.workshop import Workshop
from tests.doc_pages import ROOT, code_blocks
from tests.workshop_helpers import play_a_session

SCENARIO = "ministerial-2026"

BLOCKS = code_blocks("python")

#: what each test below looks for in the block it runs
MARKERS = {
    "replay": "replay(",
    "api": "BlocModel(scenario",
    "sweep": 'load("runs/',
    "ensemble": "run_ensemble(",
    "checks": "run_checks(",
    "bargain": "bargain(",
    "space": "bargaining_space(",
    "strategy": "class Stubborn",
    "counter": "counter_forecast(",
    "propose": "proposal_forecast(",
    "custom_metric": "def members_ever(model)",
    "query": "query_names(",
    "ema": "ema.bloc_model(",
}


def block(kind: str) -> str:
    """The block with this kind's marker (of several, the one with no other kind's marker)."""
    found = [b for b in BLOCKS if MARKERS[kind] in b]
    if len(found) > 1:
        others = [m for k, m in MARKERS.items() if k != kind]
        found = [b for b in found if not any(m in b for m in others)]
    (one,) = found
    return one


def test_every_python_block_of_the_documentation_is_run_by_a_test_here():
    for b in BLOCKS:
        assert any(marker in b for marker in MARKERS.values()), f"no test runs:\n{b}"
    assert len(BLOCKS) == len(MARKERS)


def test_python_api(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(block("api"), ns)
    model = ns["model"]
    assert model.round == 7
    assert model.supplier_agent.strategy.name == "flood"
    assert model.floors[model.minerals.index("rare_earths")] == 90_000
    assert any(x["round"] == 7 for x in model.levers.log)
    assert {"rounds_df", "actors_df", "events_df"} <= {n for n in dir(model) if n.endswith("_df")}


def test_the_bargaining_space_example():
    ns: dict = {}
    exec(block("space"), ns)
    space = ns["space"]
    assert space.attrs["round"] == 3 and space["on_table"].sum() == 1
    assert set(space.attrs["disagreement"]) == set(space.attrs["parties"])


def test_a_counter_forecast_as_the_docs_show():
    ns: dict = {}
    exec(block("counter"), ns)
    f, model = ns["forecast"], ns["model"]
    assert set(f["verdicts"]) == set(model.members) and isinstance(f["agreed"], bool)
    assert f["rule"] == "every member must agree" and len(f["gain"]) == 8


def test_a_package_a_person_tables_as_the_docs_show():
    """The convener's forecast, then the package tabled: Japan and the EU expected to accept a
    10% penalty, nobody else in the bloc to ask, and the penalty in force from round 1."""
    ns: dict = {}
    exec(block("propose"), ns)
    f, model = ns["forecast"], ns["model"]
    assert sorted(f["expected"]) == ["eu", "japan"]
    assert f["verdicts"] == {"us": True} and f["agreed"] is True
    assert model.penalty == 0.1 and model.tabling("us")["tabled"] is True
    assert set(model.prepare_round().views) == {"eu", "japan", "us"}


def test_replay_a_workshop_session(tmp_path, monkeypatch):
    from negotiation.engine.scenario import load_scenario

    ws = Workshop(ticker=False)
    try:
        room = play_a_session(ws, load_scenario(SCENARIO))
    finally:
        ws.close()
    code = block("replay")
    (name,) = re.findall(r'replay\("([^"]+)"\)', code)
    (tmp_path / name).write_text(room.export_json())
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(code, ns)
    pd.testing.assert_frame_equal(ns["model"].rounds_df, room.model.rounds_df)
    pd.testing.assert_frame_equal(ns["model"].events_df, room.model.events_df)


def test_load_a_sweep_in_pandas(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "scenarios" / "sweeps", tmp_path / "scenarios" / "sweeps")
    args = ["sweep", "scenarios/sweeps/penalty-floor.toml", "--out", "runs/penalty-floor"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    ns: dict = {}
    exec(block("sweep"), ns)
    assert len(ns["runs"]) == 16 and ns["rounds"].empty and ns["metadata"]
    code = block("sweep").strip().splitlines()
    by_penalty = eval(code[-1], ns)  # the block's last line is an expression: show its value
    assert len(by_penalty) == 4 and np.isfinite(by_penalty).all()
    # column names for df.query, on the same sweep
    ns = {}
    exec(block("query"), ns)
    code = block("query").strip().splitlines()
    chosen = eval(code[-1], ns)
    runs = ns["runs"]
    expected = runs[(runs["policy__outsider_penalty"] > 0.1) & (runs["final_size"] >= 3)]
    pd.testing.assert_frame_equal(chosen, expected)


def test_an_ensemble_from_python():
    from negotiation.experiments.ensemble import Ensemble

    ns: dict = {}
    exec(block("ensemble"), ns)
    ens = ns["ens"]
    assert isinstance(ens, Ensemble) and ens.n == 40 and ens.n_rounds == 12
    assert 0 <= ens.p_holds <= 1 and ens.p_holds_ci[0] <= ens.p_holds <= ens.p_holds_ci[1]
    assert list(ns["fan"].index) == list(range(13))
    assert ens.outcomes["p"].sum() == pytest.approx(1.0)


def test_validation_checks_from_python(monkeypatch, capsys):
    monkeypatch.setenv("BLOC_FAST", "1")
    ns: dict = {}
    exec(block("checks"), ns)
    printed = capsys.readouterr().out
    assert "PASS" in printed and "tin" in printed.lower()
    assert {"stockpile_fund", "world_price", "floor", "outside_capacity"} <= set(ns["rounds"])


def test_two_rubinstein_players_agree_at_once():
    ns: dict = {}
    code = block("bargain")
    exec(code, ns)
    deal = ns["deal"]
    assert deal.period == 0
    assert deal.shares[0] == pytest.approx((1 - 0.8) / (1 - 0.72))
    assert deal.shares[1] == pytest.approx(1 - deal.shares[0])


def test_adding_a_strategy_as_the_docs_show(monkeypatch):
    """The example class, defined in agents/countries.py's namespace and registered as
    docs/how-to/add-a-strategy.md says, is played by the model and passes a seeded run twice the
    same."""
    ns = dict(vars(agents.countries))
    exec(block("strategy"), ns)
    stubborn = ns["Stubborn"]
    monkeypatch.setitem(agents.STRATEGIES, "stubborn", stubborn)
    monkeypatch.setitem(agents.COUNTRY_STRATEGIES, "stubborn", stubborn)
    monkeypatch.setitem(agents.AGENT_STRATEGIES, "stubborn", stubborn)
    from negotiation import BlocModel, load_scenario

    runs = []
    for _ in range(2):
        model = BlocModel(load_scenario("ministerial-2026"), rounds=4, rng=5)
        model.set_levers(strategies={"japan": "stubborn"})
        runs.append(model.run().actors_df)
    japan = runs[0][(runs[0]["actor"] == "japan") & (runs[0]["round"] >= 1)]
    assert (japan["strategy"] == "stubborn").all()
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_the_custom_metrics_example(tmp_path):
    """The [custom_metrics] table and my_metrics.py of the sweep spec format, in a small sweep."""
    import textwrap

    from negotiation.experiments.sweep import load, run_sweep

    (table,) = [b for b in code_blocks("toml") if "[custom_metrics]" in b]
    (tmp_path / "my_metrics.py").write_text(textwrap.dedent(block("custom_metric")))
    spec = tmp_path / "spec.toml"
    head = 'metrics = ["final_size"]\n[set]\n"time.rounds" = 3\n[parameters]\n'
    head += '"policy.outsider_penalty" = { values = [0.05, 0.2] }\n'
    spec.write_text(head + textwrap.dedent(table))
    assert run_sweep(spec, tmp_path / "out", workers=1, progress=False).n_ok == 2
    runs, _, _ = load(tmp_path / "out")
    assert (runs["members_ever"] >= runs["final_size"]).all()
    assert runs["penalty_pct"].tolist() == [5.0, 20.0]
    assert runs.attrs["units"]["penalty_pct"] == "%"


def test_the_ema_workbench_example(monkeypatch, capsys):
    """The EMA Workbench block: 8 scenarios x 2 policies through EMA's sequential evaluator,
    feature scores of the four parameters and a PRIM box on the result."""
    ns: dict = {}
    exec(block("ema"), ns)
    experiments, outcomes = ns["experiments"], ns["outcomes"]
    assert len(experiments) == 16
    params = {
        "supplier__aggressiveness",
        "actors__japan__patience",
        "policy__outsider_penalty",
        "policy__instrument",
    }
    assert params <= set(experiments.columns)
    assert {"final_size", "first_fracture", "mean_fiscal_cost"} <= set(outcomes)
    assert all(len(v) == 16 for v in outcomes.values())
    scores = ns["scores"]
    assert set(scores.index) == params and list(scores.columns) == [
        "final_size",
        "mean_fiscal_cost",
    ]
    assert 0 < ns["large"].sum() < 16  # the sampler is seeded: some runs end with 4 members
    trajectory = ns["box"].peeling_trajectory
    assert len(trajectory) >= 1 and trajectory["coverage"].between(0, 1).all()
    assert "box" in capsys.readouterr().out  # box.inspect() printed the box

"""The model against theory and history (`bloc check`), the alternating-offers game, and the ODD
description kept true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from agents import STRATEGIES, make_strategy
from agents.bargaining import bargain, game
from negotiation import BlocModel, load_scenario
from negotiation.cli import main
from negotiation.experiments import validation as v
from negotiation.rules.bargaining import AlternatingOffers, Offer, Response, equilibrium_share
from negotiation.rules.types import COMPONENTS, Instrument, SupplierAction

ROOT = Path(__file__).resolve().parent.parent


def bloc(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# ---------------------------------------------------------------------------------------------
# Every check, in fast mode


@pytest.mark.parametrize("name", v.check_names())
def test_check_passes(name):
    result = v.run_check(name, fast=True)
    assert result.passed, result.text()
    assert result.statement and result.figure and result.reference


def test_the_same_package_scores_the_same_in_any_batch():
    # Regression: the cost-sharing key was once normalised over the batch axis, so a package's
    # fiscal outlays depended on the other packages cleared with it.
    for scenario in ("symmetric-club", "tin-buffer-stock"):
        assert v.batch_dependence(scenario)["max_difference"] <= 1.0


# ---------------------------------------------------------------------------------------------
# Nordhaus


def test_on_the_calibrated_model_participation_rises_with_the_penalty_from_zero():
    sweep = v.nordhaus_sweep([0.0, 0.01, 0.05])
    mean = sweep.set_index("penalty")["participation"]
    assert mean[0.0] < 2.5 <= mean[0.01] <= mean[0.05]
    assert v.threshold_penalty(sweep, 3.0) == 0.01
    assert v.threshold_penalty(sweep, 10.0) == float("inf")  # more members than there are


# ---------------------------------------------------------------------------------------------
# d'Aspremont


def test_stability_report_matches_brute_force_without_fiscal_outlays():
    audit = v.stability_audit("ministerial-2026", rounds=4)
    assert audit["agrees"].all(), audit[~audit["agrees"]]
    assert len(audit) == 5 * 5  # rounds 0-4, five countries


def test_auditing_leaves_the_run_unchanged():
    plain = BlocModel("ministerial-2026", rounds=3, rng=2).run()
    audited = v.AuditedModel("ministerial-2026", rounds=3, rng=2).run()
    assert plain.rounds_df.equals(audited.rounds_df)
    assert plain.actors_df.equals(audited.actors_df)
    assert len(audited.audit) == 4 * 5


def test_symmetric_suppliers_family_is_built_from_the_file():
    sc = v.symmetric_suppliers(6, members=2)
    producers = [a for a in sc.country_ids if a.startswith("p")]
    assert producers == [f"p{k}" for k in range(1, 7)]
    base = load_scenario("symmetric-suppliers")
    q = base.actors["p1"].production["ore"]
    assert sc.minerals["ore"].demand == base.minerals["ore"].demand + 2 * q
    assert sc.policy.initial_members == ("buyer", "p1", "p2")
    assert {sc.actors[p].production["ore"] for p in producers} == {q}


def test_stable_bloc_is_stable_both_ways():
    s = v.stable_bloc(8)
    assert s["internally_stable"] and s["externally_stable"]
    assert 0 < s["stable_members"] < 8 and s["next_joiner_gain"] <= 0


def test_outsiders_free_ride_on_a_stockpile_floor():
    df = v.free_riding(n=6, members=3)
    assert df.attrs["stockpiled"] > 0 and df.attrs["world_price"] == pytest.approx(11000)
    inside, outside = df[df["member"]], df[~df["member"]]
    # The same price per tonne for every mine; only members pay for the fund.
    np.testing.assert_allclose(df["producer_surplus_per_t"], df["producer_surplus_per_t"].iloc[0])
    assert (outside["fiscal_outlay_per_t"] == 0).all() and (inside["fiscal_outlay_per_t"] < 0).all()
    assert outside["net_margin_per_t"].min() > inside["net_margin_per_t"].max()


# ---------------------------------------------------------------------------------------------
# Rubinstein: the alternating-offers game


@pytest.mark.parametrize(
    "d1, d2", [(0.9, 0.9), (0.5, 0.9), (0.9, 0.5), (0.95, 0.8), (0.6, 0.7), (0.999, 0.999)]
)
def test_equilibrium_players_agree_at_once_on_rubinsteins_split(d1, d2):
    a = bargain("rubinstein", "rubinstein", d1, d2)
    assert a.period == 0
    assert a.shares[0] == pytest.approx((1 - d2) / (1 - d1 * d2), rel=0.01)
    assert sum(a.shares) == pytest.approx(1.0)


def test_equal_patience_gives_one_over_one_plus_delta():
    a = bargain("rubinstein", "rubinstein", 0.8, 0.8)
    assert a.shares == pytest.approx((1 / 1.8, 0.8 / 1.8))


def test_a_greedy_opponent_gets_delay_or_a_worse_split():
    eq = equilibrium_share(0.9, 0.9)
    stubborn = bargain(make_strategy("greedy", "bargainer", demand=0.9), "rubinstein", 0.9, 0.9)
    assert not stubborn.agreed and stubborn.payoffs == (0.0, 0.0)
    modest = bargain(make_strategy("greedy", "bargainer", demand=0.5), "rubinstein", 0.9, 0.9)
    assert modest.period == 0 and modest.payoffs[0] < eq
    # As the responder, greed delays the deal past the first period.
    second = bargain("rubinstein", make_strategy("greedy", "bargainer", demand=0.5), 0.9, 0.9)
    assert second.period == 1 and second.payoffs[1] == pytest.approx(0.5 * 0.9)
    assert second.payoffs[1] < 1 - eq


def test_the_mechanism_takes_an_outside_move_and_checks_its_input():
    g = game(["rubinstein", "rubinstein"], (0.9, 0.9))
    assert g.step(Offer(0, 0, 0.99)) is None  # rejected: too greedy
    assert g.offers[0].share == 0.99 and not g.responses[0].accept
    done = g.step(Response(True, "a person accepts"))
    assert done is not None and done.period == 1
    assert done.payoffs[1] == pytest.approx(equilibrium_share(0.9, 0.9) * 0.9)
    with pytest.raises(ValueError, match="discount factors"):
        game(["rubinstein", "greedy"], (0.0, 0.9))
    with pytest.raises(ValueError, match="two players"):
        game(["rubinstein"], (0.9, 0.9))
    with pytest.raises(TypeError, match="agents.bargaining.bargain"):
        AlternatingOffers(["rubinstein", "rubinstein"], (0.9, 0.9))  # the game takes players
    with pytest.raises(ValueError, match="unknown bargainer strategy"):
        bargain("myopic", "rubinstein", 0.9, 0.9)
    with pytest.raises(ValueError, match="unknown country strategy"):
        make_strategy("rubinstein")  # a bargainer is not a country strategy


# ---------------------------------------------------------------------------------------------
# Tin


def test_tin_fund_runs_dry_and_the_price_falls_below_the_floor():
    m, df = v.tin_run()
    r = int(df.loc[df["fund_exhausted"], "round"].min())
    assert 0 < r < m.rounds
    years = r * m.config.time.round_days / 365
    assert v.TIN_YEARS[0] <= years <= v.TIN_YEARS[1]  # the ITC's fund lasted 3.3 years
    assert (df.loc[df["round"] < r, "world_price"] == df["floor"].iloc[0]).all()
    assert (df.loc[df["round"] > r, "world_price"] < df["floor"].iloc[0]).all()
    assert df["outside_capacity"].iloc[r] > df["outside_capacity"].iloc[0]
    assert (m.events_df["kind"] == "fund_exhausted").sum() == 1


@pytest.mark.parametrize("name", ["symmetric-club", "symmetric-suppliers", "tin-buffer-stock"])
def test_validation_scenarios_load_by_name_and_run(name):
    sc = load_scenario(name)
    assert sc.meta.name == name and sc.meta.sources
    assert len(BlocModel(sc, rounds=1, rng=0).run().rounds_df) == 2


# ---------------------------------------------------------------------------------------------
# `bloc check` (the commands of docs/explanation/validation.md)


def test_bloc_check_only_prints_the_statement_the_figure_and_the_verdict():
    r = bloc("check", "--only", "daspremont-free-riding")
    assert r.exit_code == 0, r.output
    assert "[PASS] daspremont-free-riding: d'Aspremont et al. (1983)" in r.output
    assert "literature: " in r.output and "model: " in r.output
    assert r.output.rstrip().endswith("1 of 1 checks passed")


def test_bloc_check_a_prefix_selects_several():
    r = bloc("check", "--only", "daspremont", "--fast")
    names = re.findall(r"^\[(?:PASS|FAIL)\] ([a-z0-9-]+):", r.output, re.M)
    assert names == ["daspremont-stability", "daspremont-free-riding", "daspremont-many-suppliers"]
    assert r.exit_code == 0, r.output


@pytest.mark.slow
def test_bloc_check_runs_every_check_and_exits_by_the_verdicts():
    r = bloc("check")
    names = re.findall(r"^\[(PASS|FAIL)\] ([a-z0-9-]+):", r.output, re.M)
    assert [n for _, n in names] == v.check_names()
    failed = [n for verdict, n in names if verdict == "FAIL"]
    assert failed == [], r.output
    assert r.exit_code == (1 if failed else 0)


def test_bloc_check_fails_with_exit_1_when_a_check_fails(monkeypatch):
    broken = v.Check("broken", "nobody (2026)", "x holds", lambda fast: ("x does not", False, {}))
    monkeypatch.setitem(v.CHECKS, "broken", broken)
    r = bloc("check", "--only", "broken")
    assert r.exit_code == 1
    assert "[FAIL] broken" in r.output and "0 of 1 checks passed; failed: broken" in r.output


def test_a_check_that_raises_fails_and_says_why(monkeypatch):
    def boom(fast):
        raise RuntimeError("the engine broke")

    monkeypatch.setitem(v.CHECKS, "boom", v.Check("boom", "ref", "claim", boom))
    result = v.run_check("boom")
    assert not result.passed and "RuntimeError: the engine broke" in result.figure


def test_bloc_check_unknown_name_is_a_usage_error():
    r = CliRunner().invoke(main, ["check", "--only", "nordhaus-clubs"])
    assert r.exit_code == 2
    assert "no such check (did you mean 'nordhaus-club'?)" in r.output


# ---------------------------------------------------------------------------------------------
# The ODD description (docs/ODD.md) names what the code has


@pytest.fixture(scope="module")
def odd() -> str:
    return (ROOT / "docs" / "ODD.md").read_text()


@pytest.fixture(scope="module")
def records():
    m = BlocModel("ministerial-2026", rounds=2, rng=0).run()
    return m.rounds_df, m.actors_df


def test_odd_has_the_protocol_headings(odd):
    for heading in (
        "Purpose and patterns",
        "Entities, state variables and scales",
        "Process overview and scheduling",
        "Design concepts",
        "Initialisation",
        "Input data",
        "Submodels",
    ):
        assert re.search(rf"^#+ .*{heading}", odd, re.M | re.I), heading


def test_odd_names_every_strategy_component_instrument_and_move(odd):
    for name in STRATEGIES:
        assert f"`{name}`" in odd, f"strategy {name} missing from docs/ODD.md"
    for c in COMPONENTS:
        assert f"`{c}`" in odd, f"component {c} missing"
    for i in Instrument:
        assert f"`{i.value}`" in odd, f"instrument {i.value} missing"
    for a in SupplierAction:
        assert f"`{a.value}`" in odd, f"supplier action {a.value} missing"
    for name in v.check_names():
        assert f"`{name}`" in odd, f"check {name} missing"


def test_odd_names_every_record_column(odd, records):
    rounds, actors = records
    minerals = load_scenario("ministerial-2026").mineral_ids
    families = {re.sub(rf"_({'|'.join(minerals)})$", "_<mineral>", c) for c in rounds.columns}
    for col in sorted(families) + [c for c in actors.columns if c not in COMPONENTS]:
        assert f"`{col}`" in odd, f"column {col} missing from docs/ODD.md"


def test_odd_names_every_scenario_parameter(odd):
    from negotiation.engine import scenario as s

    for model in (s.Mineral, s.Actor, s.Policy, s.Investment, s.Time, s.Supplier, s.Shock,
                  s.Agenda, s.Track, s.Trade, s.Uncertainty, s.Foresight, s.Project):  # fmt: skip
        for field in model.model_fields:
            if field in ("name", "sources", "source", "note"):
                continue
            assert f"`{field}`" in odd, f"{model.__name__}.{field} missing from docs/ODD.md"


def test_odd_names_the_top_level_keys_and_the_lever_schedule(odd):
    from negotiation.engine import scenario as s

    for field in s.Scenario.model_fields:  # seed, levers, extends (the tables are named above)
        if field not in ("meta", "time", "minerals", "actors", "policy", "agenda", "supplier",
                         "shocks", "investment", "trade"):  # fmt: skip
            assert f"`{field}`" in odd, f"Scenario.{field} missing from docs/ODD.md"
    assert "`[[levers]]`" in odd
    for field in s.LeverChange.model_fields:
        assert f"`{field}`" in odd, f"LeverChange.{field} missing from docs/ODD.md"


def test_odd_quotes_the_engine_constants(odd):
    from negotiation.engine.model import SCALES

    assert ", ".join(f"{s:g}" for s in SCALES) in odd
    assert "at least $1 a year" in odd  # the stake's floor


def test_readme_python_examples():
    from negotiation.experiments.validation import run_checks

    results = run_checks(only=["tin"])
    assert [r.name for r in results] == ["tin-buffer-stock"] and results[0].text()
    rounds = results[0].data["rounds"]
    assert {"stockpile_fund", "world_price", "floor", "outside_capacity"} <= set(rounds.columns)

    deal = bargain("rubinstein", "rubinstein", 0.9, 0.8)
    assert deal.period == 0 and deal.shares[0] == pytest.approx((1 - 0.8) / (1 - 0.72))
    assert f"{deal.shares[0]:.3f}, {deal.shares[1]:.3f}" == "0.714, 0.286"

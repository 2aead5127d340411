"""Metamorphic properties of whole runs: change a scenario in a way that must not matter (or must
matter in a known way) and compare the records of the two runs.

- **Money scaled by k.** Every money quantity of the scenario (the fields in `MONEY`, found by
  reading the schema in `negotiation/engine/scenario.py`;
  `test_every_number_of_the_schema_is_classified` fails when a field is added without saying whether
  it is money) multiplied by k: every decision, membership path and event kind is the same, money
  columns scale by k, all else is unchanged.
- **A zero-stake actor changes nothing.** A country that produces and consumes nothing, has no
  openness value and is never invited (or always rejects): the other actors' records are unchanged.
- **Relabelling actors permutes results.** An actor's id renamed (changing its place in sort
  order), and possibly moved in the actors table: the records are the same up to the renaming.

Each property is checked on small runs (6 rounds, or up to the last table, shock or lever change
a scenario schedules) of the built-in scenarios with levers drawn by hypothesis (instrument,
penalty, floors, supplier strategy and aggressiveness, country strategies, seed).

Each property found a way the model broke it, now fixed, and the test that found it stays (its
reason constant says what it was): the stake's constant 1e6 USD/yr (`STAKE_CONSTANT`) and the
cost-sharing key's constant 1 USD (`KEY_CONSTANT`) under money scaling; a margin zero in exact
arithmetic whose sign was rounding noise (`test_a_zero_margin_is_rounding_noise`); the
credibility share counting every country (`HEADCOUNT`) and `reciprocal` answering anyone's
rejection (`RECIPROCITY`) under a zero-stake actor; a side offer's tie broken by id
(`SIDE_OFFER_TIE`) under relabelling.
Texts of events are compared up to their reasons (`what_happened`): they list components by sign.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, currently_in_test_context, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agents.countries import CountryStrategy
from agents.views import CountryView
from negotiation import BlocModel
from negotiation.engine.scenario import (
    Scenario,
    load_scenario,
    scenario_names,
    scenario_to_dict,
    validate,
)
from negotiation.rules.types import Action, Decision

ROUNDS = 6  # at least: a scenario whose tables, shocks or levers start later runs to them
EXAMPLES = 40

# ---------------------------------------------------------------------------------------------
# Which numbers of a scenario are money (USD, USD/t or USD/yr), by path in the scenario's dict
# ("*" is any key of a table or any element of an array)

MONEY = {
    "minerals.*.reference_price",  # USD/t
    "minerals.*.fringe_cost",  # USD/t
    "actors.*.unit_cost.*",  # USD/t
    "actors.*.openness_value",  # USD/yr
    "actors.*.fiscal_capacity",  # USD/yr
    "actors.*.covered_exports.*",  # USD/yr
    "policy.floors.*",  # USD/t
    "policy.cost_sharing.*",  # shares in any unit (renormalised over members): typed Money
    "policy.stockpile_fund",  # USD
    "levers.*.floors.*",  # USD/t
    "levers.*.cost_sharing.*",  # as policy.cost_sharing
}
NOT_MONEY = {
    "time.round_days",
    "time.rounds",
    "minerals.*.demand",  # t/yr
    "minerals.*.elasticity",
    "minerals.*.fringe_capacity",  # t/yr
    "minerals.*.supply_spread",  # a fraction of cost
    "actors.*.strategy_params.*",  # fractions of the stake, probabilities, exponents, rounds
    "actors.*.patience",
    "actors.*.production.*",  # t/yr
    "actors.*.consumption.*",  # t/yr
    "actors.*.exposure.*",  # a share
    "actors.*.risk_premium",  # a fraction of the value of consumption
    "actors.*.weights.*",  # multipliers of USD components
    "policy.outsider_penalty",  # ad valorem
    "agenda.tracks.*.start_round",
    "agenda.tracks.*.deadline_round",
    "agenda.tracks.*.end_round",
    "agenda.tracks.*.partner_weight",
    "agenda.mandate.*",  # multiples of the scenario's floors
    "supplier.aggressiveness",
    "supplier.strategic_weight",  # weight on bloc share x world price x quantity: USD already
    "shocks.*.start_round",
    "shocks.*.duration",
    "shocks.*.magnitude",  # fractions of capacity or of demand
    "investment.lag_days",
    "investment.rate",
    "investment.retirement",  # a share a year
    "investment.closure_days",
    "investment.restart_margin",  # a margin: a fraction of cost
    "investment.restart_days",
    "projects.*.capacity",  # t/yr
    "projects.*.hurdle",  # a margin: a fraction of cost
    "projects.*.decision_days",
    "projects.*.build_days",
    "trade.demand_elasticity",
    "trade.supply_elasticity",
    "investment.credibility_threshold",
    "uncertainty.outage_rate",  # events a year
    "uncertainty.outage_size.*",  # shares of capacity
    "uncertainty.outage_days",
    "uncertainty.demand_volatility",  # of log demand
    "uncertainty.demand_memory_days",
    "uncertainty.surprise_rate",
    "uncertainty.surprise_size.*",  # shares of sales
    "uncertainty.surprise_days",
    "uncertainty.forecast_error",  # of log forecasts
    "foresight.horizon_days",
    "foresight.exit_cost",  # a fraction of the stake, itself money: scales with it
    "policy.stockpile_resale",  # a share of what the stock cost
    "policy.offtake_share",  # a share of a partner's capacity
    "policy.offtake_shares.*",  # a partner's own share of its capacity
    "foresight.rejoin_cost",
    "actors.*.discount",
    "levers.*.round",
    "levers.*.penalty",
    "levers.*.offtake_share",
    "levers.*.offtake_shares.*",
    "levers.*.aggressiveness",
    "levers.*.weights.*.*",
    "levers.*.patience.*",
    "seed",
}


def _args(annotation: Any) -> list[Any]:
    """The types an annotation allows: Annotated stripped, unions and Optional unpacked."""
    if typing.get_origin(annotation) is Annotated:
        return _args(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _args(arg)]
    return [annotation]


def numeric_paths(annotation: Any, prefix: str = "") -> set[str]:
    """Paths of every number a scenario can hold under `annotation`."""
    out: set[str] = set()
    for a in _args(annotation):
        origin = typing.get_origin(a)
        if isinstance(a, type) and issubclass(a, BaseModel):
            for name, field in a.model_fields.items():
                out |= numeric_paths(field.annotation, f"{prefix}{name}.")
        elif origin is dict:
            out |= numeric_paths(typing.get_args(a)[1], f"{prefix}*.")
        elif origin is tuple:
            out |= numeric_paths(typing.get_args(a)[0], f"{prefix}*.")
        elif a in (int, float):
            out.add(prefix.rstrip("."))
    return out


def matches(path: str, pattern: str) -> bool:
    """`path` is one of `pattern`'s, "*" standing for any one segment."""
    parts, pats = path.split("."), pattern.split(".")
    return len(parts) == len(pats) and all(q in ("*", p) for p, q in zip(parts, pats))


def test_every_number_of_the_schema_is_classified():
    """A new number in the scenario schema must be put in MONEY or NOT_MONEY (so that the
    money-scaling property scales it if it is money)."""
    found = numeric_paths(Scenario)
    classes = [{p for p in found if any(matches(p, q) for q in qs)} for qs in (MONEY, NOT_MONEY)]
    assert classes[0].isdisjoint(classes[1])
    assert found - classes[0] - classes[1] == set(), "classify these as money or not"
    for pattern in MONEY | NOT_MONEY:
        assert any(matches(p, pattern) for p in found), f"{pattern}: no longer in the schema"


def at_paths(data: Any, path: str, fn: Callable[[float], float]) -> None:
    """Apply fn to every number at `path` in the scenario dict `data`, in place."""
    head, _, rest = path.partition(".")
    if head == "*":
        keys = range(len(data)) if isinstance(data, list) else list(data)
    elif isinstance(data, dict) and data.get(head) is not None:
        keys = [head]
    else:
        return
    for key in keys:
        if rest:
            if isinstance(data[key], dict | list):
                at_paths(data[key], rest, fn)
        elif isinstance(data[key], int | float) and not isinstance(data[key], bool):
            data[key] = fn(data[key])


def scale_money(d: dict, k: float) -> dict:
    d = copy.deepcopy(d)
    for path in MONEY:
        at_paths(d, path, lambda v: v * k)
    return d


# ---------------------------------------------------------------------------------------------
# Worlds to run

COUNTRY_STRATEGIES = ["myopic", "fixed", "time-dependent", "boulware", "conceder", "reciprocal"]
SUPPLIER_STRATEGIES = ["passive", "flood", "export-controls", "side-offers", "adaptive"]


def short(name: str) -> dict:
    """A built-in scenario as a dict, cut to ROUNDS rounds or to the last that starts a table, a
    shock or a lever change (the scenario would be invalid without them)."""
    d = scenario_to_dict(load_scenario(name))
    starts = [t["start_round"] for t in d["agenda"].get("tracks", [])]
    starts += [x["start_round"] for x in d.get("shocks", [])]
    starts += [x["round"] for x in d.get("levers", [])]
    d["time"]["rounds"] = max([ROUNDS, *starts])
    return d


@dataclass(frozen=True)
class World:
    """A built-in scenario with some levers changed (None: as the scenario has it)."""

    scenario: str
    seed: int = 0
    instrument: str | None = None
    penalty: float | None = None
    floor_scale: float | None = None
    supplier: str | None = None
    aggressiveness: float | None = None
    strategies: tuple[tuple[str, str], ...] = ()
    cost_sharing: str | tuple[tuple[str, float], ...] | None = None

    def dict(self) -> dict:
        d = short(self.scenario)
        pol = d["policy"]
        if self.instrument is not None:
            pol["instrument"] = self.instrument
        if self.penalty is not None:
            pol["outsider_penalty"] = self.penalty
        if self.floor_scale is not None:
            pol["floors"] = {m: f * self.floor_scale for m, f in pol.get("floors", {}).items()}
        if self.supplier is not None:
            d["supplier"]["strategy"] = self.supplier
        if self.aggressiveness is not None:
            d["supplier"]["aggressiveness"] = self.aggressiveness
        if self.cost_sharing is not None:
            key = self.cost_sharing
            pol["cost_sharing"] = key if isinstance(key, str) else dict(key)
        for aid, strategy in self.strategies:
            d["actors"][aid]["strategy"] = strategy
            d["actors"][aid]["strategy_params"] = {}
        return d


@st.composite
def worlds(
    draw, suppliers: list[str] = SUPPLIER_STRATEGIES, strategies: list[str] = COUNTRY_STRATEGIES
) -> World:
    """A built-in scenario with levers drawn at random; the supplier's strategy one of
    `suppliers`, countries' strategies (where changed) among `strategies`."""
    name = draw(st.sampled_from(scenario_names()))
    d = short(name)
    maybe = lambda s: draw(st.one_of(st.none(), s))  # noqa: E731
    supplier = maybe(st.sampled_from(suppliers))
    if supplier is None and d["supplier"]["strategy"] not in suppliers:
        supplier = draw(st.sampled_from(suppliers))
    countries = [a for a, x in d["actors"].items() if x.get("role", "country") == "country"]
    changed = draw(st.lists(st.sampled_from(countries), unique=True, max_size=len(countries)))
    table = tuple((a, draw(st.sampled_from([0.5, 1.0, 2.0]))) for a in countries)
    return World(
        scenario=name,
        seed=draw(st.integers(0, 3)),
        instrument=maybe(st.sampled_from(["border", "price_gap", "stockpile"])),
        penalty=maybe(st.sampled_from([0.0, 0.05, 0.3, 1.0])),
        floor_scale=maybe(st.sampled_from([0.0, 0.5, 1.5, 3.0])),
        supplier=supplier,
        aggressiveness=maybe(st.sampled_from([0.2, 0.5, 1.0])),
        strategies=tuple((a, draw(st.sampled_from(strategies))) for a in changed),
        cost_sharing=maybe(st.sampled_from(["consumption", "equal", table])),
    )


#: Suppliers that make no side offers (`adaptive` may: STAKE_CONSTANT).
NO_SIDE_OFFERS = ["passive", "flood", "export-controls"]


def ties(m: BlocModel) -> bool:
    """Whether a member's gain from staying is within a dollar a year of zero in some round:
    zero in exact arithmetic (leaving changes nothing for it), its sign is rounding noise, and
    the model acts on that sign (see `test_a_zero_margin_is_rounding_noise`)."""
    return bool((m.actors_df["margin"].abs() < 1.0).any())


def run(d: dict, seed: int, **kwargs: Any) -> BlocModel:
    return BlocModel(validate(d, "<test>"), rng=seed, **kwargs).run()


#: Columns that carry money, in the rounds and actors tables (the rest must not move).
ROUND_MONEY = re.compile(
    r"^(fiscal_cost|tariff_revenue|capital_charges|capital_charges_no_policy|stockpile_fund"
    r"|stock_value|rest_of_world_producers"
    r"|rest_of_world_buyers"
    r"|world_money|(floor|world_price|bloc_price)_.*)$"
)
ACTOR_MONEY = re.compile(
    r"^(utility|margin|capital_charge|producer_surplus|consumer_cost|tariff_revenue|fiscal_outlay"
    r"|supply_security|openness|retaliation|market_access)$"
)


def what_happened(events: pd.DataFrame) -> list[str]:
    """Each event's text up to its reasons ("Japan counter-proposed floors x1.25 and the United
    States agreed"). The reasons list the components by sign, and one that is zero in exact
    arithmetic can come out -1e-9 in one run and +1e-9 in the other: text, not a decision.
    Amounts of money in the text ("offers eu $0.33bn a year") are money, compared in the
    records' columns, and read here as "$_"."""
    return [re.sub(r"\$[0-9.,]+(bn|m|k)?", "$_", t.split(":")[0]) for t in events.text]


def frames_equal(a: pd.DataFrame, b: pd.DataFrame, money: re.Pattern, k: float, rtol: float):
    """Columns matching `money` in b are k times a's, every other column equal (floats to rtol).
    Money is compared to rtol of the largest money figure of its row: a margin is a difference
    of utilities, and carries their rounding."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    cols = [c for c in a.columns if money.match(c)]
    size = a[cols].abs().max(axis=1).to_numpy() if cols else np.zeros(len(a))
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if money.match(col):
            ok = np.abs(y - k * x) <= rtol * abs(k) * np.maximum(np.abs(x), size)
            ok |= np.isnan(x) & np.isnan(y)
            bad = np.nonzero(~ok)[0]
            assert ok.all(), f"{col}, rows {bad}: {x[bad]} x {k} != {y[bad]}"
        elif pd.api.types.is_float_dtype(x):
            np.testing.assert_allclose(y, x, rtol=rtol, atol=1e-12, err_msg=col)
        else:
            assert x.tolist() == y.tolist(), col


# ---------------------------------------------------------------------------------------------
# Money scaled by k


def check_money_scaled(world: World, k: float, d: dict | None = None) -> None:
    """Runs of `world` (or of the scenario dict d) with money as it is and scaled by k: the same
    decisions, memberships and events; money columns k times; everything else equal. Worlds
    with a margin within a dollar of zero are left out (`ties`)."""
    d = world.dict() if d is None else d
    a = run(d, world.seed)
    if ties(a):
        if currently_in_test_context():
            assume(False)  # draw another world
        pytest.skip("a margin within a dollar of zero: its sign is rounding noise")
    b = run(scale_money(d, k), world.seed)
    frames_equal(a.rounds_df, b.rounds_df, ROUND_MONEY, k, rtol=1e-7)
    frames_equal(a.actors_df, b.actors_df, ACTOR_MONEY, k, rtol=1e-7)
    ea, eb = a.events_df, b.events_df
    assert ea[["round", "actor", "kind"]].equals(eb[["round", "actor", "kind"]])
    assert what_happened(ea) == what_happened(eb)


K = [10.0, 0.1, 1e3, 1e-3]

#: Country strategies whose decisions do not depend on the stake (threshold 0, or none).
STAKE_FREE = ["myopic", "random"]

STAKE_CONSTANT = (
    "Fixed; it was: "
    "`BlocModel.stake` (then negotiation/model.py:266): an actor's stake is its interests in "
    "USD plus a constant 1e6 "
    "USD/yr, which does not scale with money. Strategies' thresholds are fractions of the stake "
    "(agents/countries.py:25, need = threshold * stake), so with money scaled by k a "
    "country's need is threshold * (k S + 1e6) against gains k times as large: at k = 1e-3 "
    "Japan (`fixed`, reservation 0.01) joins the expansion table in one run and not in the "
    "other, or counter-proposes floors x0.8 in one and accepts in the other. Side offers are "
    "sized from the stake too (agents/supplier.py:86: premium * stake * (0.5 + "
    "aggressiveness)), so an offer is k * offer + premium * 1e6 * (1 - k) * (0.5 + "
    "aggressiveness), and the target's margin shows it. With the constant taken out of "
    "`BlocModel.stake` these cases pass."
)


KEY_CONSTANT = (
    "Fixed; it was: "
    "the cost-sharing key (now `Evaluator.cost_key`; then negotiation/model.py:290): the "
    "`consumption` key is each actor's value of "
    "consumption at reference prices + 1.0 USD, a constant that does not scale with money. "
    "With money x 1e-3 a member's share of price-gap payments and stockpile purchases moves by "
    "about 1 / (its value of consumption x 1e-3): in expansion under price_gap with no "
    "penalty, Singapore (value ~2e8 USD, a member by `random`) gets a fiscal outlay 1.3e-6 "
    "off k times its own (USD 0.006 in 4,577). Without the + 1.0 the runs agree. Too small to "
    "move a decision here, but a member with a small value of consumption feels it more."
)


def test_money_scaled_with_the_consumption_key():
    stake_free = (("us", "myopic"), ("japan", "myopic"), ("eu", "myopic"),
                  ("singapore", "random"), ("mexico", "myopic"))  # fmt: skip
    world = World("expansion", instrument="price_gap", penalty=0.0, supplier="passive",
                  strategies=stake_free, cost_sharing="consumption")  # fmt: skip
    check_money_scaled(world, 1e-3)


@pytest.mark.parametrize("k", [10.0, 0.1])
@pytest.mark.parametrize("name", scenario_names())
def test_money_scaled_in_each_built_in_scenario(name: str, k: float):
    """Each built-in scenario as shipped (its strategies, its supplier), money x k. Its
    countries' thresholds are fractions of the stake, and some share fiscal outlays by
    consumption: what STAKE_CONSTANT and KEY_CONSTANT describe (both fixed) would show here."""
    check_money_scaled(World(name), k)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(  # found by the property: a stock used up left a billionth of a tonne at one scale
    World("us-mexico-60-day", instrument="stockpile", supplier="export-controls",
          aggressiveness=0.5), 1e3,
)  # fmt: skip
@example(  # found by the property: floors binding nobody tied to rounding in the design
    World("convener-designs", seed=2, floor_scale=0.5, supplier="passive"), 10.0
)
@given(
    worlds(suppliers=NO_SIDE_OFFERS, strategies=STAKE_FREE),
    st.sampled_from(K),
)
def test_money_scaled_by_k_changes_no_decision(world: World, k: float):
    """Levers drawn at random, with every country's strategy one whose decisions do not depend
    on the size of its stake, a supplier that makes no side offers (STAKE_CONSTANT says why),
    and fiscal outlays shared equally or by a table (KEY_CONSTANT says why not by
    consumption)."""
    d = world.dict()
    for actor in d["actors"].values():
        if actor.get("role", "country") == "country" and actor["strategy"] not in STAKE_FREE:
            actor["strategy"], actor["strategy_params"] = "myopic", {}
    if d["policy"].get("cost_sharing", "consumption") == "consumption":
        d["policy"]["cost_sharing"] = "equal"  # KEY_CONSTANT says why
    check_money_scaled(world, k, d)


JAPAN_FIXED = (
    ("us", "myopic"), ("eu", "myopic"), ("mexico", "myopic"), ("singapore", "myopic"),
    ("australia", "myopic"), ("south_korea", "myopic"), ("japan", "fixed"), ("india", "myopic"),
)  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(
    World("expansion", instrument="stockpile", supplier="passive", strategies=JAPAN_FIXED), 1e-3
)
@example(
    World("expansion", instrument="price_gap", supplier="passive", strategies=JAPAN_FIXED), 1e-3
)
@example(World("ministerial-2026", supplier="side-offers"), 10.0)
@given(worlds(), st.sampled_from(K))
def test_money_scaled_with_thresholds_and_side_offers(world: World, k: float):
    """Any strategies and any supplier: fails today (STAKE_CONSTANT)."""
    check_money_scaled(world, k)


def test_a_zero_margin_is_rounding_noise():
    d = World("tin-1985", instrument="border").dict()
    a, b = run(d, 0), run(scale_money(d, 10.0), 0)
    assert a.rounds_df.would_leave.tolist() == b.rounds_df.would_leave.tolist()


# ---------------------------------------------------------------------------------------------
# A zero-stake actor

NOBODY = "nobody"


class Refuses(CountryStrategy):
    """Rejects every package, whatever it gains (a test strategy, not registered)."""

    name = "refuses"

    def respond(self, view: CountryView) -> Decision:
        return Decision(Action.REJECT, view.gains[1.0], 1.0, "refuses")


def with_nobody(d: dict, invited: bool) -> dict:
    """The scenario with one more country that produces and consumes nothing, has no openness
    value and no risk premium. Invited (open accession), it rejects: its strategy in the file is
    `fixed` with a reservation of its whole stake, and the run gives it `Refuses`, which rejects
    even where its gain (zero) would clear a threshold (a stake of zero)."""
    d = copy.deepcopy(d)
    d["actors"][NOBODY] = {
        "name": "Nobody",
        "role": "country",
        "strategy": "fixed",
        "strategy_params": {"reservation": 1.0},
        "risk_premium": 0.0,
        "openness_value": 0.0,
    }
    if not invited:
        d["agenda"]["open_accession"] = False  # and it is a party to no table
    return d


def others(m: BlocModel) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The run's records without the zero-stake actor's rows."""
    actors = m.actors_df[m.actors_df.actor != NOBODY].reset_index(drop=True)
    events = m.events_df[m.events_df.actor != NOBODY].reset_index(drop=True)
    return m.rounds_df, actors, events


def calm(d: dict) -> dict:
    """The scenario in a calm world. The world's draws follow the order of the actors (an
    outage falls on a producer drawn along the table) and forecast errors are drawn for each
    country in turn: one more country, or the same in another order, draws other luck. These
    properties are of the negotiation and the markets, so they are checked without the luck."""
    d = copy.deepcopy(d)
    d["uncertainty"] = {**d.get("uncertainty", {}), "enabled": False}
    return d


def check_nobody_changes_nothing(d: dict, seed: int, invited: bool) -> None:
    d = calm(d)
    if not invited:
        d["agenda"]["open_accession"] = False
    a = run(d, seed)
    if ties(a):
        if currently_in_test_context():
            assume(False)
        pytest.skip("a margin within a dollar of zero: its sign is rounding noise")
    b = run(with_nobody(d, invited), seed, strategies={NOBODY: Refuses()})
    (ra, xa, ea), (rb, xb, eb) = others(a), others(b)
    # floats to 1e-9: sums over actors now add one more zero, in another order
    frames_equal(ra, rb, ROUND_MONEY, 1.0, rtol=1e-9)
    frames_equal(xa, xb, ACTOR_MONEY, 1.0, rtol=1e-9)
    if invited:
        # one more invitee in the shuffle: the others answer in another order, so events of a
        # round are compared as a set
        ea, eb = (e.sort_values(["round", "actor", "kind"], kind="stable") for e in (ea, eb))
    assert (
        ea[["round", "actor", "kind"]].values.tolist()
        == eb[["round", "actor", "kind"]].values.tolist()
    )
    assert sorted(what_happened(ea)) == sorted(what_happened(eb))


HEADCOUNT = (
    "Fixed; it was: "
    "the credibility check (now in `Recorder.flows_and_capacity`; then negotiation/model.py:952): "
    "the floor is credible when members / countries >= "
    "credibility_threshold, and `countries` counts every country, a zero-stake one too. In "
    "us-mexico-60-day (six countries) the US, Mexico and Canada are members from round 3: 3 of 6 "
    "= 0.5, credible at the default threshold 0.5; with a seventh, zero-stake country 3 of 7 = "
    "0.43, not credible. Members' producers then expect the world price rather than the price "
    "they receive, capacity closes differently (`_flows_and_capacity`), and prices, tariff "
    "revenue and utilities move from round 4. With the threshold at 0 the runs agree."
)
RECIPROCITY = (
    "Fixed; it was: "
    "agents/countries.py:97-101: `reciprocal` asks for `margin` (1% of its stake) instead of "
    "tolerating a loss once anyone rejected in the last `memory` rounds, a zero-stake country's "
    "rejection too (model.py:1001 puts every event in the history its view holds). In "
    "export-controls (seed 1, price_gap, floors x1.5) Nobody answers first and rejects, Japan's "
    "counter (floors x0.8) is adopted, and Mexico, answering against fresh views that hold "
    "Nobody's rejection of this round, rejects where it joined without Nobody."
)


def mutual(world: World) -> World:
    """The world with no `reciprocal` country (those become `myopic`)."""
    d = short(world.scenario)
    changed = dict(world.strategies)
    for aid, actor in d["actors"].items():
        if changed.get(aid, actor.get("strategy")) == "reciprocal":
            changed[aid] = "myopic"
    return replace(world, strategies=tuple(changed.items()))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_a_zero_stake_actor_never_invited_changes_nothing(world: World):
    """Levers drawn at random, no open accession (the actor sits at no table); investment
    credible whatever the bloc's size (HEADCOUNT says why)."""
    d = world.dict()
    d["investment"]["credibility_threshold"] = 0.0
    check_nobody_changes_nothing(d, world.seed, invited=False)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds().map(mutual))
def test_a_zero_stake_actor_that_always_rejects_changes_nothing(world: World):
    """Invited every round (open accession) and rejecting: no `reciprocal` country (RECIPROCITY
    says why), investment credible whatever the bloc's size (HEADCOUNT)."""
    d = world.dict()
    d["investment"]["credibility_threshold"] = 0.0
    check_nobody_changes_nothing(d, world.seed, invited=True)


def test_a_zero_stake_actor_leaves_credibility_alone():
    d = World("us-mexico-60-day", instrument="border", supplier="adaptive").dict()
    check_nobody_changes_nothing(d, 0, invited=False)


def test_a_zero_stake_rejection_leaves_reciprocal_partners_alone():
    d = World("export-controls", seed=1, instrument="price_gap", floor_scale=1.5).dict()
    d["investment"]["credibility_threshold"] = 0.0
    check_nobody_changes_nothing(d, 1, invited=True)


# ---------------------------------------------------------------------------------------------
# Relabelling actors


def renamed(d: dict, names: dict[str, str]) -> dict:
    """The scenario dict with actor ids renamed wherever the schema holds one: the actors table,
    each actor's covered exports by buyer, policy.initial_members, policy.partners, partners'
    own contract shares and a cost-sharing table, each table's parties and convener,
    supplier.actor, and the lever changes by actor and of the offtake partners."""
    d = copy.deepcopy(d)
    new = lambda a: names.get(a, a)  # noqa: E731
    keys = lambda t: {new(a): v for a, v in t.items()} if isinstance(t, dict) else t  # noqa: E731
    d["actors"] = keys(d["actors"])
    for actor in d["actors"].values():  # covered exports are by buyer
        if "covered_exports" in actor:
            actor["covered_exports"] = keys(actor["covered_exports"])
    pol = d.get("policy", {})
    pol["initial_members"] = [new(a) for a in pol.get("initial_members", [])]
    pol["partners"] = [new(a) for a in pol.get("partners", [])]
    pol["cost_sharing"] = keys(pol.get("cost_sharing", "consumption"))
    pol["offtake_shares"] = keys(pol.get("offtake_shares", {}))
    for t in d.get("agenda", {}).get("tracks", []):
        t["parties"] = [new(a) for a in t["parties"]]
        if t.get("convener") is not None:
            t["convener"] = new(t["convener"])
    d["supplier"]["actor"] = new(d["supplier"].get("actor", "supplier"))
    for change in d.get("levers", []):
        for table in ("strategies", "weights", "patience", "cost_sharing", "offtake_shares"):
            if change.get(table) is not None:
                change[table] = keys(change[table])
        if change.get("partners") is not None:
            change["partners"] = [new(a) for a in change["partners"]]
    return d


def moved_last(d: dict, aid: str) -> dict:
    """The scenario dict with actor `aid` last in its actors table (the order of the model's
    arrays and of the countries open accession invites)."""
    d = copy.deepcopy(d)
    d["actors"][aid] = d["actors"].pop(aid)
    return d


def relabel_records(m: BlocModel, names: dict[str, str]):
    """The run's records with actor ids renamed by `names`, in texts too (countries' ids only:
    the supplier's texts say "The supplier ..." whatever its id)."""
    in_text = {a: b for a, b in names.items() if a != m.supplier_id}
    word = re.compile(r"\b(" + "|".join(map(re.escape, in_text)) + r")\b")

    countries = sorted((names.get(a, a) for a in m.countries), key=len, reverse=True)
    one = "(?:" + "|".join(map(re.escape, countries)) + ")"
    listed = re.compile(rf"\b{one}(?:, {one})+\b")

    def ids(text: str) -> str:
        """Ids renamed; a list of ids ("expects eu, us to leave") sorted again, as the model
        sorts it by id."""
        text = word.sub(lambda x: in_text[x.group(1)], text) if in_text else text
        return listed.sub(lambda x: ", ".join(sorted(x.group(0).split(", "))), text)

    def id_set(joined: str) -> frozenset[str]:
        return frozenset(names.get(a, a) for a in joined.split("+") if a)

    rounds = m.rounds_df.copy()
    for col in ("members", "partners", "would_leave", "would_join"):
        rounds[col] = rounds[col].map(id_set)
    rounds["supplier_target"] = rounds["supplier_target"].map(ids)
    rounds["offtake_shares"] = rounds["offtake_shares"].map(
        lambda joined: frozenset((names.get(a, a), x) for a, _, x in
                                 (pair.partition(":") for pair in joined.split("+") if pair))
    )  # fmt: skip
    actors = m.actors_df.copy()
    actors["actor"] = actors["actor"].map(lambda a: names.get(a, a))
    events = m.events_df.copy()
    events["actor"] = events["actor"].map(lambda a: names.get(a, a))
    events["text"] = events["text"].map(ids)
    return rounds, actors, events


def check_relabelled(d: dict, seed: int, names: dict[str, str], order: bool) -> None:
    """A run with actor ids renamed by `names`: its records are the original run's, renamed.
    `order`: the renamed actors also move to the end of the actors table. In a calm world (see
    `calm`)."""
    d = calm(d)
    a = run(d, seed)
    if ties(a):
        if currently_in_test_context():
            assume(False)
        pytest.skip("a margin within a dollar of zero: its sign is rounding noise")
    e = renamed(d, names)
    if order:
        for new in names.values():
            e = moved_last(e, new)
    b = run(e, seed)
    (ra, xa, ea), (rb, xb, eb) = relabel_records(a, names), relabel_records(b, {})
    if order:  # actors in another order: compare actor rows by (round, actor)
        xa, xb = (x.sort_values(["round", "actor"]).reset_index(drop=True) for x in (xa, xb))
    frames_equal(ra, rb, ROUND_MONEY, 1.0, rtol=1e-9 if order else 0.0)
    frames_equal(xa, xb, ACTOR_MONEY, 1.0, rtol=1e-9 if order else 0.0)
    if order:
        # the countries open accession invites come in table order, so the shuffle gives
        # another order of answers: a round's events are compared as a set, and their texts up
        # to the reasons (a component zero in exact arithmetic can change sign with the order
        # of a sum: see `what_happened`)
        ea, eb = (e.sort_values(["round", "actor", "kind"], kind="stable") for e in (ea, eb))
        assert sorted(what_happened(ea)) == sorted(what_happened(eb))
    else:
        assert ea.text.tolist() == eb.text.tolist()
    cols = ["round", "actor", "kind"]
    assert ea[cols].values.tolist() == eb[cols].values.tolist()


@st.composite
def renamings(draw, world: World) -> dict[str, str]:
    """One or two actors renamed so that they sort first or last."""
    d = short(world.scenario)
    ids = draw(st.lists(st.sampled_from(list(d["actors"])), min_size=1, max_size=2, unique=True))
    return {a: draw(st.sampled_from(["a0_", "zz_"])) + a for a in ids}


#: Suppliers for the relabelling properties: not `side-offers` (SIDE_OFFER_TIE says why).
NO_TIES = ["passive", "flood", "export-controls", "adaptive"]

SIDE_OFFER_TIE = (
    "Fixed; it was: "
    "A tie broken by the actors' ids, legitimately: `side-offers` targets the member with the "
    "smallest margin per unit of stake, ties to the alphabetically first id "
    "(agents/supplier.py:83-85, key (margin / stake, id)). Members who joined this round have no "
    "margin yet (view.margins.get(a, 0.0) = 0), so in round 1 of expansion the EU, Japan and "
    "Mexico tie at 0 and the offer goes to 'eu'; renamed 'a0_japan', Japan gets it, and (with "
    "its own margin negative under the offer) leaves in round 6 where it stayed. The property "
    "holds for the other supplier strategies, `adaptive` included."
)


def test_relabelling_moves_the_side_offer_tie():
    check_relabelled(World("expansion", supplier="side-offers").dict(), 0, {"japan": "a0_japan"},
                     order=False)  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_relabelling_actors_permutes_results(data):
    """Actor ids renamed in place (the actors keep their place in the table, so only the ids'
    sort order changes): records equal up to the renaming, to the last bit.

    Who tables the package where the convener is out, and who sponsors an accession, is the
    member with the largest stake (`BlocModel._track_proposer`, `BlocModel.invitations`), not
    the first id: until that rule, a convener renamed to sort first sponsored the accessions
    and its design's list kept others out (the fixed example below)."""
    world = data.draw(worlds(suppliers=NO_TIES))
    names = data.draw(renamings(world))
    check_relabelled(world.dict(), world.seed, names, order=False)


def test_a_designing_convener_renamed_to_sort_first_changes_nothing():
    """convener-designs with the United States renamed a0_us: found by the property above when
    the sponsor of an accession was the alphabetically first member (then the convener, whose
    list kept Mexico out)."""
    check_relabelled(World("convener-designs").dict(), 0, {"us": "a0_us"}, order=False)


def test_partners_own_contract_shares_are_renamed_with_them():
    """australia-offtake with India a second partner, a quarter of Australia's output under its
    own contract, and both renamed (Australia to sort first): records equal up to the
    renaming, the own shares' column included."""
    d = World("australia-offtake").dict()
    d["policy"]["partners"] = ["australia", "india"]
    d["policy"]["offtake_shares"] = {"australia": 0.25}
    check_relabelled(d, 0, {"australia": "a0_australia", "india": "zz_india"}, order=True)


def test_a_zero_stake_actor_changes_nothing_at_a_designing_convener():
    """convener-designs with a zero-stake country invited every round and refusing: the
    convener neither weighs it nor leaves it out (found by the property when the convener
    expected it, indifferent, to accept and named it in the tabled line)."""
    d = World("convener-designs").dict()
    d["investment"]["credibility_threshold"] = 0.0
    check_nobody_changes_nothing(d, 0, invited=True)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_relabelling_and_reordering_actors_permutes_results(data):
    """Actor ids renamed and the renamed actors moved to the end of the actors table: the
    model's arrays are in another order (sums to 1e-9) and so are the keys that order the
    invitees' answers, so invitees answer in another order. That order legitimately matters
    when a counter-proposal is taken: it sets the floors, later invitees answer at them and
    later counters count as rejections (ODD, step 4). Runs with a counter are left out; in the
    others a round's events are compared as a set."""
    world = data.draw(worlds(suppliers=NO_TIES))
    names = data.draw(renamings(world))
    counters = world_counters(world)
    assume(counters.max(initial=0) < 1)
    check_relabelled(world.dict(), world.seed, names, order=True)


def world_counters(world: World) -> np.ndarray:
    """Counter-proposals in each round of the world's run (in a calm world, as the checks
    that use it run)."""
    x = run(calm(world.dict()), world.seed).actors_df
    return (x.decision == "counter").groupby(x["round"]).sum().to_numpy()

"""The negotiation protocol (negotiation/rules/protocol.py and its use in the model), in the words
of a policy student: patience buys better terms, deadlines bring agreement forward, a convener
tables what serves it, a counter nobody takes changes nothing, and an agreement is efficient."""

from __future__ import annotations

import itertools
import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.human import reject
from negotiation import BlocModel, load_scenario
from negotiation.engine.model import SCALES
from negotiation.engine.scenario import Scenario
from negotiation.rules.protocol import (
    DESIGN_PASSES,
    SUGGESTED_DESIGNS,
    Option,
    Terms,
    agreed,
    best_counter,
    design,
    verdicts,
)
from negotiation.rules.types import (
    COMPONENTS,
    Action,
    Decision,
    Reason,
    SupplierAction,
    SupplierMove,
    money,
)

# ----------------------------------------------------------------------------------------------
# The rules on their own


def test_agreement_rules():
    votes = {"us": True, "japan": False, "eu": True}
    assert not agreed(votes, "unanimity")
    assert agreed(votes, "majority")
    assert agreed(votes, "convener", proposer="us")
    assert not agreed(votes, "convener", proposer="japan")
    assert not agreed({"us": True, "japan": False}, "majority")  # half is not more than half
    assert agreed({}, "unanimity")  # nobody in the bloc yet: the first joiner sets the terms
    with pytest.raises(ValueError, match="unknown agreement rule"):
        agreed(votes, "consensus")


def test_a_member_says_yes_when_no_worse_off_up_to_rounding():
    assert verdicts({"us": -1.0, "eu": -200.0}, {"us": 10.0, "eu": 10.0}) == {
        "us": True,
        "eu": False,
    }


def test_an_invitee_names_the_best_counter_the_members_take():
    options = [Option("a", 5.0, False), Option("b", 3.0, True), Option("c", 4.0, True)]
    assert best_counter(options, need=2.0) == 2  # "a" is worth more but the members refuse it
    assert best_counter(options, need=4.5) is None  # nothing they take is enough


def test_counters_equal_up_to_rounding_are_a_tie_the_first_listed_wins():
    """Every floor 20% lower and one mineral's floor 20% lower are worth the same to an invitee
    when the other floors bind nowhere: equal in exact arithmetic, they differ by rounding, and
    rounding must not choose (money scaled by 10 would pick the other one)."""
    options = [Option("every floor 20% lower", 20_177_462.0, True),
               Option("the rare-earths floor 20% lower", 20_177_462.000001, True)]  # fmt: skip
    assert best_counter(options, need=0.0) == 1  # without a tolerance, the rounding decides
    assert best_counter(options, need=0.0, tolerance=1e-3) == 0
    better = [options[0], Option("the rare-earths floor 20% lower", 20_177_463.0, True)]
    assert best_counter(better, need=0.0, tolerance=1e-3) == 1  # a real difference still wins


def test_the_agreed_counter_lies_on_the_pareto_frontier_of_a_symmetric_world():
    """Two parties split a surplus: terms x in [0, 1] give the invitee sqrt(x) and the member
    sqrt(1 - x), so the frontier is the quarter circle u_i^2 + u_m^2 = 1. The member takes any
    counter that leaves it at least its disagreement payoff d; the invitee names the counter
    worth most to it among those. The agreement is the frontier's point where the member gets
    exactly d: (sqrt(1 - d^2), d), to the grid's resolution."""
    xs = np.linspace(0.0, 1.0, 10_001)
    for d in (0.0, 0.3, 0.6, 0.8):
        member = np.sqrt(1.0 - xs)
        options = [Option(f"{x:.4f}", math.sqrt(x), m >= d) for x, m in zip(xs, member)]
        k = best_counter(options, need=0.0)
        u_i, u_m = math.sqrt(xs[k]), member[k]
        assert u_i**2 + u_m**2 == pytest.approx(1.0)  # on the frontier
        assert u_m == pytest.approx(d, abs=1e-3)  # the member kept to its disagreement payoff
        assert u_i == pytest.approx(math.sqrt(1.0 - d**2), abs=1e-3)


@given(st.lists(st.tuples(st.floats(-10, 10), st.floats(-10, 10)), min_size=1, max_size=30))
def test_no_counter_the_members_take_is_better_for_the_invitee(pairs):
    """Whatever the menu, the counter named is one the members take, and no other they take
    gives the invitee more."""
    options = [Option(str(n), mine, theirs >= 0) for n, (mine, theirs) in enumerate(pairs)]
    k = best_counter(options, need=-math.inf)
    taken = [o for o in options if o.agreed]
    if not taken:
        assert k is None
    else:
        assert options[k].agreed
        assert options[k].value == max(o.value for o in taken)


def test_a_convener_tables_the_package_worth_most_to_it():
    values = {(1.0, ("japan",)): 5.0, (0.8, ("japan", "eu")): 7.0, (1.25, ()): 7.0}
    d = design(values)
    assert (d.scale, d.invited, d.value) == (0.8, ("japan", "eu"), 7.0)  # more invitees on a tie


def test_a_convener_changes_no_more_terms_than_it_gains_by():
    """Two packages worth the same to the convener: it tables the one that changes fewer of the
    terms in force (a doubled penalty alone, not a doubled penalty and a new key)."""
    values = {
        (Terms(1.0, 2.0, "equal"), ("japan",)): 9.0,
        (Terms(1.0, 2.0), ("japan",)): 9.0,
        (Terms(0.8), ("japan", "eu")): 8.0,
    }
    d = design(values)
    assert (d.scale, d.penalty, d.sharing, d.invited) == (1.0, 2.0, "", ("japan",))
    assert d.terms == Terms(1.0, 2.0)
    # another instrument is one more term changed: on a tie the instrument in force stays
    tie = {(Terms(instrument="price_gap"), ()): 9.0, (Terms(), ()): 9.0}
    assert design(tie).instrument == "" and Terms(instrument="price_gap").changes() == 1


def test_a_convener_indifferent_up_to_rounding_keeps_the_terms_in_force():
    """Floors that bind nobody give the same bloc at every multiple: their values differ only by
    rounding, and a convener tables the floors in force, not whichever rounding favoured; a
    real difference, however small against the values, still counts."""
    bloc = ("japan", "eu")
    noise = {(Terms(0.8), bloc): 4.643936819940001e9, (Terms(1.0), bloc): 4.64393681994e9,
             (Terms(1.25), bloc): 4.643936819940002e9}  # fmt: skip
    assert design(noise).scale == 1.25  # exact comparison: the rounding picks
    assert design(noise, tie=1e-9 * 5e9).scale == 1.0  # a billionth of the stake: a tie
    real = {**noise, (Terms(0.8), bloc): 4.64393681994e9 + 10.0}  # $10 a year more
    assert design(real, tie=1e-9 * 5e9).scale == 0.8


# ----------------------------------------------------------------------------------------------
# In the model


def calm(name: str, **changes) -> dict:
    """A built-in scenario without luck (no outages, demand swings, surprises or forecast
    errors), so that one run shows the mechanism."""
    d = load_scenario(name).model_dump()
    d["uncertainty"]["enabled"] = False
    for path, value in changes.items():
        *keys, last = path.split(".")
        node = d
        for k in keys:
            node = node[k]
        node[last] = value
    return d


def prized_australia(strategy: str, **params) -> Scenario:
    """The expansion world where the members prize secure supply (their weight on supply
    security three times the scenario's), so that Australia, a producer, brings something
    they want: they would take its joining even on terms better for it."""
    d = calm("expansion")
    for a in ("us", "japan", "eu", "mexico"):
        d["actors"][a]["weights"]["supply_security"] *= 3
    d["agenda"]["tracks"][-1]["designs"] = ["floors"]  # the United States designs the floors
    d["actors"]["australia"]["strategy"] = strategy
    d["actors"]["australia"]["strategy_params"] = {"aspiration": 0.028, **params}
    return Scenario.model_validate(d)


def test_a_patient_country_extracts_better_terms_than_a_conceder_in_the_same_seat():
    """Australia is invited in round 7, when joining on the floors as tabled is worth 2.6% of
    its stake and every floor 25% higher would be worth 3.0%, terms the members would take.
    Asking for 2.8%, a patient (Boulware) Australia holds out for the higher floors and gets
    them; a conceder, whose demand falls fast, takes the floors as tabled. Both join in round
    7; the patient one's producers earn more."""
    runs = {}
    for strategy in ("boulware", "conceder"):
        m = BlocModel(prized_australia(strategy), rng=0).run(7)
        runs[strategy] = m
        assert "australia" in m.members
    patient, conceding = runs["boulware"], runs["conceder"]
    assert (patient.floors >= conceding.floors).all()
    assert (patient.floors > conceding.floors).any()
    counter = patient.events_df.query("actor == 'australia' and round == 7").text.iloc[0]
    assert counter.startswith("Australia counter-proposed every floor 25% higher and joined")
    assert "every member must agree" in counter

    def earned(m):
        x = m.actors_df
        return x[(x["round"] == 7) & (x["actor"] == "australia")]["producer_surplus"].iloc[0]

    assert earned(patient) > earned(conceding)


def test_a_deadline_brings_agreement_forward():
    """The same patient Australia asking for more than anything on offer (4% of its stake) at
    the expansion table: with the table's six-month deadline it concedes in time to join by
    the deadline (round 12); with no deadline its demand wears down over its own 12-round
    horizon, and it joins later."""

    def joined(deadline):
        sc = prized_australia("boulware", aspiration=0.04)
        d = sc.model_dump()
        d["agenda"]["tracks"][-1]["deadline_round"] = deadline
        m = BlocModel(Scenario.model_validate(d), rng=0).run(24)
        x = m.actors_df
        rounds = x[(x["actor"] == "australia") & x["member"]]["round"]
        return rounds.min() if len(rounds) else math.inf

    with_deadline, without = joined(12), joined(None)
    assert with_deadline <= 12
    assert with_deadline < without


def test_the_convener_invites_the_coalition_that_serves_it_best():
    """With the tables letting the United States choose whom to invite, in round 1 it weighs
    every group of the invitees it expects to accept, at floors 0.8, 1 and 1.25 times the
    scenario's, and tables the one worth most to it. Checked by brute force: the package it
    tabled is worth as much to it as the best of all those groups (cleared independently).
    Without foresight, so that an invitee is expected to accept when joining pays it now."""
    d = calm("ministerial-2026", **{"foresight.horizon_days": 0})
    for t in d["agenda"]["tracks"]:
        t["designs"] = ["floors", "invitees"]
    m = BlocModel(Scenario.model_validate(d), rng=0)
    members, us = m.members, m.index["us"]
    parties = sorted(m.invitations(1))
    best = -math.inf
    for s in SCALES:
        expect = []
        for a in parties:
            ev = m.evaluate([(members | {a}, s, m.last_move), (members, s, m.last_move)], 1)
            i = m.index[a]
            gain = ((ev.comp[0, i] - ev.comp[1, i]) * m.weights[i]).sum()
            if gain >= 0:
                expect.append(a)
        for n in range(len(expect) + 1):
            for group in combinations(expect, n):
                ev = m.evaluate([(members | set(group), s, m.last_move)], 1)
                best = max(best, float(ev.util[0, us]))
    prep = m.prepare_round()
    assert prep.design is not None
    assert prep.design.value == pytest.approx(best, rel=1e-6)
    # What that means here: each partner's joining would cost the United States (the penalty
    # it collects on their exports, the secure supply they would share), so a convener that
    # counts only its own money invites nobody.
    assert prep.design.invited == ()
    m.step()
    text = m.events_df.query("kind == 'tabled'").text.iloc[0]
    assert "whose joining would cost it" in text


def test_a_convener_designing_the_floors_lowers_them_where_that_costs_it_less():
    """docs/ODD.md (Submodel N): designing the floors alone in the ministerial world, the United
    States expects Mexico, the EU and Japan to join whatever it tables; the bloc with them costs
    it less at floors 20% lower, so it tables those, a lever change it explains."""
    d = calm("ministerial-2026")
    for t in d["agenda"]["tracks"]:
        t["designs"] = ["floors"]
    m = BlocModel(Scenario.model_validate(d), rng=0)
    opening = m.floors.copy()
    prep = m.prepare_round()
    assert prep.design.scale == 0.8
    assert set(prep.design.expected) == {"mexico", "eu", "japan"}
    np.testing.assert_allclose(m.floors, opening * 0.8)
    m.step()
    text = m.events_df.query("kind == 'tabled'").text.iloc[0]
    assert text.startswith(
        "United States tabled every floor 20% lower at the US-Japan-EU and US-Mexico tables"
    )
    assert m.levers.log[0]["lever"] == "floors"


def test_a_counter_no_member_accepts_changes_nothing():
    """Japan, played by a person, counters with every floor at zero; the United States, the only
    member, refuses (Japan's joining on those terms would cost it). The round then goes on as
    if Japan had simply said no: the floors, the bloc and every later record are the same as
    in the run where it rejected."""

    def run(decision):
        d = calm("ministerial-2026")
        d["actors"]["japan"]["strategy"] = "human"
        m = BlocModel(Scenario.model_validate(d), rng=0)
        m.submit("japan", decision)
        m.play()
        while m.round < 6:  # later rounds: an agent answers for the silent seat, alike in both
            m.play(force=True)
        return m

    zero = {"floors": {k: 0.0 for k in load_scenario("ministerial-2026").policy.floors}}
    counter = Decision(Action.COUNTER, Reason({}), 1.0, "", zero)
    countered, rejected = run(counter), run(reject())
    text = countered.events_df.query("actor == 'japan' and round == 1").text.iloc[0]
    assert "refused" in text and "so nothing changed" in text
    assert "japan" not in countered.actors_df.query("round == 1 and member").actor.tolist()
    pd.testing.assert_frame_equal(countered.rounds_df, rejected.rounds_df)
    a, b = countered.actors_df, rejected.actors_df
    pd.testing.assert_frame_equal(a.drop(columns="decision"), b.drop(columns="decision"))
    assert (a.decision != b.decision).sum() == 1  # "counter" where the other said "reject"


def test_a_persons_counter_is_forecast_before_it_is_sent():
    """The forecast a person at the table sees: what the counter is worth to them, each
    member's answer and whether the rule carries it; asking changes nothing in the run."""
    d = calm("expansion")
    for a in ("us", "japan", "eu", "mexico"):
        d["actors"][a]["weights"]["supply_security"] *= 3
    m = BlocModel(Scenario.model_validate(d), rng=0).run(6)
    before = m.floors.copy()
    f = m.counter_forecast("australia", scale=1.25)
    assert set(f["verdicts"]) == set(m.members) and f["agreed"] is True
    assert sum(f["gain"].values()) > sum(m.gain_from_joining("australia").values())
    assert f["rule"] == "every member must agree"
    zero = m.counter_forecast("australia", {"floors": {"rare_earths": 0.0}})
    assert sum(zero["gain"].values()) < sum(f["gain"].values())
    np.testing.assert_array_equal(m.floors, before)
    with pytest.raises(ValueError, match="not invited"):
        m.counter_forecast("us")


def test_a_counter_from_the_list_forecasts_at_the_value_listed():
    """A person at the table sees one forecast: each counter an agent in the seat would weigh is
    listed with its value to the seat (over its horizon, with its forecast error of the round),
    and forecasting that counter's terms gives the same value, component by component."""
    m = BlocModel("expansion", rng=1).run(6)  # the expansion table opens next; shocks on
    options = m.prepare_round().views["australia"].counter_options()
    assert len(options) >= 4
    assert not np.allclose(m.belief[m.countries.index("australia")], 1.0)  # errors matter here
    for o in options:
        f = m.counter_forecast("australia", o.terms, o.scale)
        for c, v in o.gain.deltas.items():
            assert f["gain"][c] == pytest.approx(v, rel=1e-6, abs=1.0), (o.label, c)
        assert f["agreed"] == o.agreed and f["verdicts"] == o.verdicts


def same_first_round(a: BlocModel, b: BlocModel) -> None:
    """Round 1's records of two runs are the same (to 1e-9), but for whether a lever changed."""
    pd.testing.assert_frame_equal(
        a.actors_df.query("round == 1"), b.actors_df.query("round == 1"), rtol=1e-9
    )
    pd.testing.assert_frame_equal(
        a.rounds_df.query("round == 1").drop(columns="levers_changed"),
        b.rounds_df.query("round == 1").drop(columns="levers_changed"),
        rtol=1e-9,
    )


def designing(terms: list[str], agreement: str = "unanimity", **changes) -> Scenario:
    """The calm ministerial world where every table lets the United States design `terms`."""
    d = calm("ministerial-2026", **{"agenda.agreement": agreement, **changes})
    for t in d["agenda"]["tracks"]:
        t["designs"] = terms
    return Scenario.model_validate(d)


def test_a_convener_that_taxes_its_own_imports_tables_the_penalty_that_serves_it():
    """The United States buys from outsiders and, alone in the bloc, collects the outsider
    penalty on what it buys: designing the penalty (and whom to invite), it doubles a 5%
    penalty, keeps a 20% one and halves a 40% one. Its best penalty lies in between, where the
    revenue and the better terms of trade on its imports stop outweighing what its buyers pay.
    Checked by brute force at 5%: the bloc it tables (nobody invited) is worth more to it at
    10% than at 2.5% or 5%."""
    tabled = {}
    for penalty in (0.05, 0.2, 0.4):
        m = BlocModel(designing(["invitees", "penalty"], **{"policy.outsider_penalty": penalty}),
                      rng=0)  # fmt: skip
        prep = m.prepare_round()
        tabled[penalty] = m.penalty
        if penalty == 0.05:
            us = m.index["us"]
            worth = {
                p: float(m.evaluate([(m.members, 1.0, m.last_move, {"penalty": p})], 1).util[0, us])
                for p in (0.025, 0.05, 0.1)
            }
            assert max(worth, key=worth.get) == 0.1
            assert prep.design.value == pytest.approx(worth[0.1], rel=1e-9)
            assert prep.design.invited == ()
    assert tabled == {0.05: pytest.approx(0.1), 0.2: 0.2, 0.4: pytest.approx(0.2)}


def four_members(terms: list[str], agreement: str = "unanimity", **changes) -> Scenario:
    """`designing`, with Japan, the EU and Mexico already members (Singapore, invited by open
    accession, is the only outsider)."""
    members = {"policy.initial_members": ["us", "japan", "eu", "mexico"]}
    return designing(terms, agreement, **members, **changes)


def test_the_refused_package_is_told_at_the_terms_it_was_weighed_at():
    """In a bloc of four with a stockpile, the United States doubles the penalty (5% to 10%) and
    would rather also have shared the cost equally, which Mexico refuses: the narrative quotes
    the refused package at the 10% it was weighed at, not at twice the penalty now in force."""
    sc = four_members(["invitees", "penalty", "sharing"], **{
        "policy.instrument": "stockpile", "policy.cost_sharing": "consumption",
        "policy.outsider_penalty": 0.05})  # fmt: skip
    m = BlocModel(sc, rng=0)
    m.prepare_round()
    assert m.penalty == pytest.approx(0.1)
    text = m.events_df.query("kind == 'tabled'").text.iloc[0]
    assert "tabled an outsider penalty twice the one in force (10%)" in text
    assert (
        "it would rather have tabled an outsider penalty twice the one in force (10%) and cost "
        "shared in equal shares, which Mexico would refuse"
    ) in text
    assert "(20%)" not in text


def test_the_members_refuse_a_penalty_that_costs_them():
    """At a 40% penalty the United States would halve it (its buyers pay more than it collects),
    but halving it costs the other members, Mexico's copper miners most (they sell into the
    bloc behind the penalty): under unanimity they refuse, the United States tables the terms in
    force and says what it would rather have tabled; where the convener decides, it halves it."""
    m = BlocModel(four_members(["penalty"], **{"policy.outsider_penalty": 0.4}), rng=0)
    prep = m.prepare_round()
    assert m.penalty == 0.4 and prep.design.penalty == 1.0
    us, members = m.index["us"], m.members
    ev = m.evaluate([(members, 1.0, m.last_move, {"penalty": 0.2}), (members, 1.0, m.last_move)])
    assert ev.util[0, us] > ev.util[1, us]  # halving it would serve the United States
    losers = sorted(a for a in members if ev.util[0, m.index[a]] < ev.util[1, m.index[a]])
    assert losers == ["eu", "japan", "mexico"]
    m.step()
    text = m.events_df.query("kind == 'tabled'").text.iloc[0]
    assert text.startswith("United States tabled the terms in force")
    assert (
        "it would rather have tabled an outsider penalty half the one in force (20%), which "
        "European Union, Japan and Mexico would refuse (every member must agree)"
    ) in text
    assert not m.levers.log
    ruled = BlocModel(four_members(["penalty"], "convener", **{"policy.outsider_penalty": 0.4}),
                      rng=0)  # fmt: skip
    ruled.prepare_round()
    assert ruled.penalty == pytest.approx(0.2)
    assert ruled.levers.log[0]["lever"] == "penalty"


def test_a_designed_term_the_members_refuse_changes_nothing():
    """The refused halving of the penalty above: the run is the run where nobody designs
    anything, record for record, but for the events that say what was tabled."""
    changes = {"policy.outsider_penalty": 0.4}
    designed = BlocModel(four_members(["penalty"], **changes), rng=0).run(6)
    plain = BlocModel(four_members([], **changes), rng=0).run(6)
    pd.testing.assert_frame_equal(designed.rounds_df, plain.rounds_df)
    pd.testing.assert_frame_equal(designed.actors_df, plain.actors_df)
    events = designed.events_df.query("kind != 'tabled'").reset_index(drop=True)
    pd.testing.assert_frame_equal(events, plain.events_df)
    tabled = designed.events_df.query("kind == 'tabled'")
    assert tabled["round"].tolist() == [1, 3]  # the first two tables, as each first sits
    assert tabled.text.str.contains("tabled the terms in force").all()
    assert tabled.text.str.contains("would refuse").all()


def test_a_penalty_the_convener_tables_is_answered_as_if_the_scenario_had_set_it():
    """Alone in the bloc and expecting Mexico, the EU and Japan to join, the United States
    doubles the 5% penalty in round 1: the invitees answer on 10%, as they would if the scenario
    had set 10% (the round cleared again on it): the same joins, the same records (up to the
    rounding of the price searches, which start from the markets of round 0)."""
    designed = BlocModel(designing(["penalty"]), rng=0)
    plain_scenario = Scenario.model_validate(
        calm("ministerial-2026", **{"policy.outsider_penalty": 0.1})
    )
    plain = BlocModel(plain_scenario, rng=0)
    asked, views = designed.prepare_round().views, plain.prepare_round().views
    assert set(asked) == set(views) == {"japan", "eu", "mexico", "singapore"}
    for a, view in views.items():
        assert asked[a].package.penalty == view.package.penalty == pytest.approx(0.1)
        for s, gain in view.gains.items():
            assert asked[a].gains[s].total == pytest.approx(gain.total, rel=1e-9), (a, s)
    designed.step()
    plain.step()
    assert designed.penalty == plain.penalty == pytest.approx(0.1)
    assert designed.members == plain.members == {"us", "japan", "eu", "mexico"}
    text = designed.events_df.query("kind == 'tabled'").text.iloc[0]
    assert text.startswith(
        "United States tabled an outsider penalty twice the one in force (10%) at the "
        "US-Japan-EU and US-Mexico tables, expecting European Union, Japan and Mexico to accept"
    )
    same_first_round(designed, plain)


def sharing_bloc(members: list[str], key: str, agreement: str) -> BlocModel:
    """The calm ministerial world under price-gap payments (the bloc pays its producers the gap
    to the floor, so a key shares a bill), the given members with `key` in force, and the United
    States designing the key at a table where only Singapore, which refuses, is invited."""
    d = calm(
        "ministerial-2026",
        **{
            "policy.instrument": "price_gap",
            "policy.cost_sharing": key,
            "policy.initial_members": members,
            "agenda.agreement": agreement,
            "agenda.open_accession": False,
        },
    )
    d["agenda"]["tracks"] = [
        {"name": "Table", "parties": [*members, "singapore"], "convener": "us",
         "designs": ["sharing"]}
    ]  # fmt: skip
    return BlocModel(Scenario.model_validate(d), rng=0)


def test_a_convener_tables_the_key_that_charges_it_less():
    """What the model's economics give: a key only moves the bill among the members, so a
    convener tables the key that charges it less in the bloc it expects. The United States
    tables cost shared by consumption only where its share of the members' consumption is below
    an equal share: with the EU alone (37% of the two's consumption, against an equal half) it
    moves an equal split to one by consumption; in the bloc of four (27.5% against a quarter) it
    moves a split by consumption to equal shares. Each time the members it charges more refuse
    under unanimity (the EU; Japan and Mexico), and where the convener decides it carries."""
    value = None
    for members, key, wanted, refusing in (
        (["us", "eu"], "equal", "consumption", "European Union"),
        (["us", "japan", "eu", "mexico"], "consumption", "equal", "Japan and Mexico"),
    ):
        ruled = sharing_bloc(members, key, "convener")
        value = ruled.data.consumption @ ruled.data.ref_price
        share = value[ruled.index["us"]] / sum(value[ruled.index[a]] for a in members)
        assert (share < 1 / len(members)) == (wanted == "consumption")
        ruled.prepare_round()
        assert ruled.cost_sharing == wanted
        unanimous = sharing_bloc(members, key, "unanimity")
        unanimous.step()
        assert unanimous.cost_sharing == key
        text = unanimous.events_df.query("kind == 'tabled'").text.iloc[0]
        words = {"consumption": "by consumption", "equal": "in equal shares"}[wanted]
        assert f"rather have tabled cost shared {words}, which {refusing} would refuse" in text


def test_every_term_designed_the_united_states_still_invites_nobody():
    """docs/explanation/negotiation-protocol.md: designing the floors, the invitees, the
    penalty and the key (idle under the border tariff) in the calm ministerial world, a United
    States counting its own money tables floors 20% lower and a penalty twice the one in force,
    and invites nobody: each partner's joining costs it money at those terms, and the three
    together cost it more than at the scenario's penalty (Japan's and Mexico's joining more, the
    EU's less), so the finding for floors and invitees alone stands."""
    m = BlocModel(designing(["floors", "invitees", "penalty", "sharing"]), rng=0)
    members, us = m.members, m.index["us"]
    prep = m.prepare_round()
    d = prep.design
    assert (d.scale, d.penalty, d.sharing, d.invited) == (0.8, 2.0, "", ())
    partners = ("japan", "eu", "mexico")

    def cost(terms):  # the floors it tabled are in force now: scale 1
        specs = [(members, 1.0, m.last_move, terms), (members | set(partners), 1.0, m.last_move,
                                                      terms)]  # fmt: skip
        specs += [(members | {a}, 1.0, m.last_move, terms) for a in partners]
        util = m.evaluate(specs, 1).util[:, us]
        return util[0] - util[1:]  # the three together, then each alone

    at_tabled, at_scenario = cost({"penalty": 0.1}), cost({"penalty": 0.05})
    assert (at_tabled > 0).all() and at_tabled[0] > at_scenario[0]
    japan, eu, mexico = 1, 2, 3
    assert at_tabled[japan] > at_scenario[japan] and at_tabled[mexico] > at_scenario[mexico]
    assert at_tabled[eu] < at_scenario[eu]
    m.step()
    text = m.events_df.query("kind == 'tabled'").text.iloc[0]
    assert text.startswith(
        "United States tabled every floor 20% lower and an outsider penalty twice the one in "
        "force (10%) at the US-Japan-EU and US-Mexico tables, expecting nobody to accept"
    )


# The instrument: who pays a floor (outsiders at the border, or the members' treasuries).

FIVE = ["instrument", "floors", "invitees", "penalty", "sharing"]
GAP_WORDS = (
    "price-gap payments (the members pay their producers the gap between the floor and the "
    "market price) instead of the border-adjusted tariff"
)


def test_a_convener_whose_buyers_pay_the_floor_at_the_border_tables_price_gap_payments():
    """Under the border tariff the United States' buyers pay the floor and it collects the
    tariff on what they buy from outsiders; under price-gap payments its buyers pay the world
    price plus the penalty and its treasury pays its producers the gap. Designing the instrument
    alone (every party invited, Mexico, the EU and Japan expected), it tables price-gap payments:
    checked by brute force, the bloc it expects is worth more to it under them than under the
    border tariff or a stockpile, because its buyers save more than it gives up in tariff
    revenue and pays in its share of the bill (by consumption, the partners pay most of it).
    A United States that counts its treasury's money five times keeps the border tariff."""
    m = BlocModel(designing(["instrument"]), rng=0)
    members, us = m.members, m.index["us"]
    expected = members | {"mexico", "eu", "japan"}
    ev = m.evaluate([(expected, 1.0, m.last_move, {"instrument": i})
                     for i in ("border", "price_gap", "stockpile")], 1)  # fmt: skip
    worth = dict(zip(("border", "price_gap", "stockpile"), ev.util[:, us].tolist()))
    assert max(worth, key=worth.get) == "price_gap"
    gap = dict(zip(COMPONENTS, (ev.comp[1, us] - ev.comp[0, us]).tolist()))
    assert gap["consumer_cost"] > -(gap["tariff_revenue"] + gap["fiscal_outlay"]) > 0
    prep = m.prepare_round()
    assert prep.design.instrument == "price_gap" and m.instrument.value == "price_gap"
    assert prep.design.value == pytest.approx(worth["price_gap"], rel=1e-9)
    assert set(prep.design.expected) == {"mexico", "eu", "japan"}
    m.step()
    text = m.events_df.query("kind == 'tabled'").text.iloc[0]
    assert text.startswith(
        f"United States tabled {GAP_WORDS} at the US-Japan-EU and US-Mexico tables"
    )
    assert m.levers.log[0]["lever"] == "instrument"
    thrifty = BlocModel(designing(["instrument"], **{"actors.us.weights.fiscal_outlay": 5.0}),
                        rng=0)  # fmt: skip
    assert thrifty.prepare_round().design.instrument == ""
    assert thrifty.instrument.value == "border" and not thrifty.levers.log


def test_a_track_that_does_not_design_the_instrument_keeps_it():
    """A table that has already chosen its instrument: designing every other term, the
    United States tables nothing about the instrument, though price-gap payments would serve it."""
    for instrument in ("border", "stockpile"):
        m = BlocModel(designing(FIVE[1:], **{"policy.instrument": instrument}), rng=0).run(6)
        assert m.instrument.value == instrument
        assert "instrument" not in {x["lever"] for x in m.levers.log}


def test_a_second_pass_finds_what_the_order_of_the_terms_hid(monkeypatch):
    """The convener's first sweep weighs the terms one at a time. In round 3 of the calm
    ministerial world under the border tariff, the United States, alone in the bloc, weighs
    the floors first, on the 10% penalty in force: lowering them 20% would cost it $0.26m a
    year, so it keeps them. Then it doubles the penalty to 20%, on which lowering the floors
    would bring it $0.89m a year. A second pass, each term given the others as chosen, finds
    it; one pass cannot.
    Checked by brute force over the nine multiples of the floors and the penalty (nobody
    invited, as it tables): the second pass's package is the best of them."""
    import negotiation.engine.model as engine_model

    def round_3(passes: int) -> tuple[BlocModel, dict]:
        monkeypatch.setattr(engine_model, "DESIGN_PASSES", passes)
        m = BlocModel(designing(FIVE[1:], **{"policy.instrument": "border"}), rng=0)
        m.step()
        m.step()
        us, combos = m.index["us"], [(s, k) for s in SCALES for k in (0.5, 1.0, 2.0)]
        specs = [({"us"}, s, m.last_move, {"penalty": m.penalty * k}) for s, k in combos]
        ev = m.evaluate([(frozenset(a), s, move, t) for a, s, move, t in specs], 3)
        return m, {c: float(ev.util[n, us]) for n, c in enumerate(combos)}

    m, worth = round_3(3)
    assert m.penalty == pytest.approx(0.1) and m.members == {"us"}
    gain = {c: v - worth[(1.0, 1.0)] for c, v in worth.items()}
    assert money(gain[(0.8, 1.0)]) == "-$264k" and gain[(0.8, 2.0)] - gain[(1.0, 2.0)] > 8.8e5
    d = m.prepare_round().design
    assert (d.scale, d.penalty, d.invited) == (0.8, 2.0, ())
    assert d.value == pytest.approx(max(worth.values()), rel=1e-12)
    one, _ = round_3(1)
    d = one.prepare_round().design
    assert (d.scale, d.penalty) == (1.0, 2.0)  # one pass: the floors were weighed first


def test_the_search_runs_until_a_sweep_changes_nothing(monkeypatch):
    """In round 19 of the US-Mexico world at seed 1 (with its luck), the United States designs
    every term. One sweep, each term given those chosen before it, would table the border
    tariff instead of the price-gap payments in force; the second, each term (and each pair of
    terms) weighed given the others as chosen, keeps price-gap payments, $39m a year better
    for it, and a third changes nothing. The search runs until a sweep changes nothing: on the
    same state, it tables what a search with no practical cap tables."""
    import negotiation.engine.model as engine_model

    d = load_scenario("us-mexico-60-day").model_dump()
    for t in d["agenda"]["tracks"]:
        t["designs"] = list(SUGGESTED_DESIGNS)
    sc = Scenario.model_validate(d)

    def round_19(passes: int):
        m = BlocModel(sc, rng=1, rounds=25).run(18)  # the same state, whatever the cap
        assert m.instrument.value == "price_gap"
        monkeypatch.setattr(engine_model, "DESIGN_PASSES", passes)
        try:
            return m.prepare_round().design
        finally:
            monkeypatch.setattr(engine_model, "DESIGN_PASSES", DESIGN_PASSES)

    one, found, more = round_19(1), round_19(DESIGN_PASSES), round_19(50)
    assert one.instrument == "border" and found.instrument == ""
    assert money(found.value - one.value) == "+$39m"
    assert found == more  # it ended because a sweep changed nothing, not at the cap


def design_search_script():
    """scripts/design_search.py, as a module: its brute force over every combination of terms
    and its hook on the convener's design searches."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "design_search.py"
    spec = importlib.util.spec_from_file_location("design_search", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_convener_tables_two_terms_that_serve_it_only_together(monkeypatch):
    """A package deal. In round 7 of the ministerial world at seed 2, the United States,
    alone in the bloc under the border tariff with a 20% penalty and Japan's producers as
    offtake partners, designs every term. Price-gap payments serve it, barely. On them,
    doubling the penalty alone would cost it $105m a year, and taking Mexico's producers as
    the offtake partners instead of Japan's $137m; both together bring it $26m a year more
    than the terms in force. Weighing one term at a time, it would table price-gap payments
    with every floor 25% higher, worth less than $0.1m a year more than the terms in force;
    weighing pairs of terms, it tables price-gap payments, the doubled penalty and Mexico's
    offtake, the best of every combination of terms by brute force. Why together: Mexico's
    copper then covers what US buyers need, so the doubled penalty no longer lifts the bloc's
    copper price above the world's."""
    import negotiation.engine.model as engine_model

    ds = design_search_script()
    m = BlocModel(ds.designing_every_term("ministerial-2026"), rng=2, rounds=25).run(6)
    assert (m.instrument.value, m.penalty, m.partners) == ("border", 0.2, {"japan"})
    gap, mexico = Terms(instrument="price_gap"), frozenset({"mexico"})
    both, penalty, offtake = (gap._replace(penalty=2.0, offtake=mexico),
                              gap._replace(penalty=2.0), gap._replace(offtake=mexico))  # fmt: skip
    search, seen = BlocModel._design_search, {}

    def weigh(model, prep, proposer, mine, designs, found, args):
        for c in (Terms(), gap, penalty, offtake, both):
            value, terms = ds.best_of(model, prep, proposer, [c], args)
            seen[c] = value if terms == c else None  # None: the members would refuse it
        combos = ds.every_combination(model, prep, designs)
        seen["best"] = ds.best_of(model, prep, proposer, combos, args)[0]
        monkeypatch.setattr(engine_model, "DESIGN_PAIRS", False)
        seen["one term at a time"] = search(model, prep, proposer, mine, designs).design
        monkeypatch.setattr(engine_model, "DESIGN_PAIRS", True)
        seen["found"] = found.design
        alone = [(frozenset({"us"}), 1.0, model.last_move, model._design_terms(c))
                 for c in (penalty, both)]  # fmt: skip
        o, j = model.evaluate(alone, prep.round).outcome, model.minerals.index("copper")
        seen["copper"] = [(o.bloc_price[k, j], o.world_price[k, j]) for k in (0, 1)]

    stop = ds.on_each_design(weigh)
    try:
        m.prepare_round()
    finally:
        stop()
    found, one = seen["found"], seen["one term at a time"]
    assert found.terms == both and found.invited == ()
    held = seen[Terms()]
    assert seen[gap] > held
    assert money(seen[penalty] - held) == "-$105m" and money(seen[offtake] - held) == "-$137m"
    assert money(seen[both] - held) == "+$26m"
    assert one.terms == gap._replace(scale=1.25) and 0 < one.value - held < 1e5
    assert found.value == pytest.approx(seen["best"], rel=1e-12)
    # why: with Mexico's copper selling into the bloc's market, the doubled penalty no longer
    # lifts the bloc's copper price above the world's
    (bloc, world), (bloc_both, world_both) = seen["copper"]
    assert bloc > 1.3 * world and bloc_both == pytest.approx(world_both, rel=1e-9)


def test_the_design_search_script_compares_the_searches_with_brute_force(capsys):
    """scripts/design_search.py on one design round: a line per world with the design rounds,
    the misses of each search against the brute force and their times."""
    ds = design_search_script()
    ds.main(["ministerial-2026", "--seeds", "2", "--rounds", "2"])
    header, line = capsys.readouterr().out.strip().splitlines()
    assert "missed: one term at a time  with pairs" in header
    # round 1 at seed 2: one term at a time misses the best package, pairs of terms find it
    assert line.split()[:4] == ["ministerial-2026", "1", "1", "0"]


def test_the_members_refuse_an_instrument_that_costs_them_and_nothing_changes():
    """In a bloc of four under the border tariff, price-gap payments would serve the United
    States, but they cost the EU, Japan and Mexico (each pays a share of the bill): under
    unanimity it tables the terms in force and says what it would rather have tabled, and the
    run is the run where nobody designs anything, record for record, but for the events that
    say what was tabled; where the convener decides, it tables them."""
    m = BlocModel(four_members([]), rng=0)
    members, us = m.members, m.index["us"]
    ev = m.evaluate([(members, 1.0, m.last_move, {"instrument": "price_gap"}),
                     (members, 1.0, m.last_move)], 1)  # fmt: skip
    assert ev.util[0, us] > ev.util[1, us]
    losers = sorted(a for a in members if ev.util[0, m.index[a]] < ev.util[1, m.index[a]])
    assert losers == ["eu", "japan", "mexico"]
    designed = BlocModel(four_members(["instrument"]), rng=0).run(6)
    plain = BlocModel(four_members([]), rng=0).run(6)
    assert designed.instrument.value == "border" and not designed.levers.log
    pd.testing.assert_frame_equal(designed.rounds_df, plain.rounds_df)
    pd.testing.assert_frame_equal(designed.actors_df, plain.actors_df)
    events = designed.events_df.query("kind != 'tabled'").reset_index(drop=True)
    pd.testing.assert_frame_equal(events, plain.events_df)
    text = designed.events_df.query("kind == 'tabled'").text.iloc[0]
    assert text.startswith("United States tabled the terms in force")
    assert (
        f"it would rather have tabled {GAP_WORDS}, which European Union, Japan and Mexico would "
        "refuse (every member must agree)"
    ) in text
    ruled = BlocModel(four_members(["instrument"], "convener"), rng=0)
    ruled.prepare_round()
    assert ruled.instrument.value == "price_gap"


def test_a_tabled_instrument_is_answered_as_if_the_scenario_had_set_it():
    """The United States tables price-gap payments in round 1: the invitees answer on them, as
    they would if the scenario had set them (the round cleared again): the same views, the same
    joins, the same records of round 1 (up to the rounding of the price searches)."""
    designed = BlocModel(designing(["instrument"]), rng=0)
    plain = BlocModel(
        Scenario.model_validate(calm("ministerial-2026", **{"policy.instrument": "price_gap"})),
        rng=0,
    )
    asked, views = designed.prepare_round().views, plain.prepare_round().views
    assert set(asked) == set(views) == {"japan", "eu", "mexico", "singapore"}
    for a, view in views.items():
        assert asked[a].package.instrument == view.package.instrument == "price_gap"
        for s, gain in view.gains.items():
            assert asked[a].gains[s].total == pytest.approx(gain.total, rel=1e-9), (a, s)
    designed.step()
    plain.step()
    assert designed.members == plain.members == {"us", "japan", "eu", "mexico"}
    same_first_round(designed, plain)


def test_every_term_and_the_instrument_designed_the_united_states_invites_the_eu():
    """docs/explanation/negotiation-protocol.md: designing the instrument too (first, since it
    says who pays the floors), the United States tables price-gap payments, floors 25% higher
    and a penalty twice the one in force (10%), and invites the EU alone: at those terms the
    EU's joining is worth money to it (the EU pays a share of the price-gap bill and its buyers
    no longer pay the floor, more than the penalty the United States stops collecting on its
    exports), while Japan's and Mexico's still cost it. Under the border tariff it invited
    nobody (the test above)."""
    m = BlocModel(designing(FIVE), rng=0)
    members, us = m.members, m.index["us"]
    d = m.prepare_round().design
    assert (d.instrument, d.scale, d.penalty, d.sharing, d.invited) == (
        "price_gap", 1.25, 2.0, "", ("eu",)
    )  # fmt: skip
    # the terms it tabled are in force now
    specs = [(members, 1.0, m.last_move), *((members | {a}, 1.0, m.last_move)
                                            for a in ("eu", "japan", "mexico"))]  # fmt: skip
    util = m.evaluate(specs, 1).util[:, us]
    assert d.value == pytest.approx(util[1], rel=1e-9)
    assert util[1] > util[0] > max(util[2], util[3])
    m.step()
    text = m.events_df.query("kind == 'tabled'").text.iloc[0]
    assert text.startswith(
        f"United States tabled {GAP_WORDS}, every floor 25% higher and an outsider penalty twice "
        "the one in force (10%) at the US-Japan-EU and US-Mexico tables, expecting European Union "
        "to accept"
    )
    assert "eu" in m.members


# The convener's aims: its own money, and its partners' gains at the table's partner_weight.


def aiming(weight: float, **changes) -> Scenario:
    """The calm ministerial world where the United States designs the floors and whom to invite,
    weighing the other parties' gains at `weight` of its own."""
    d = calm("ministerial-2026", **changes)
    for t in d["agenda"]["tracks"]:
        t["designs"], t["partner_weight"] = ["floors", "invitees"], weight
    return Scenario.model_validate(d)


def test_a_convener_that_weighs_its_partners_gains_invites_them_and_pays_for_it():
    """Counting its own money alone the United States invites nobody (above). Its partners are
    the other parties at the tables it designs for in round 1 (US-Japan-EU and US-Mexico: Japan,
    the EU and Mexico). Weighing their gains at a quarter of its own, it invites all three and
    tables floors 20% lower: the bloc it expects costs it about $175m a year of its own money and
    brings them about $1.1bn, which at a quarter is worth more to it. Checked by brute force: the
    package it tabled is worth as much, by its aims, as the best of every group it expects to
    accept at every multiple of the floors (cleared independently; without foresight, as
    above)."""
    m = BlocModel(aiming(0.25, **{"foresight.horizon_days": 0}), rng=0)
    members, us = m.members, m.index["us"]
    partners = [m.index[a] for a in ("japan", "eu", "mexico")]
    aim = np.zeros(len(m.actor_ids))
    aim[us], aim[partners] = 1.0, 0.25
    best, best_package = -math.inf, None
    for s in SCALES:
        expect = []
        for a in sorted(m.invitations(1)):
            ev = m.evaluate([(members | {a}, s, m.last_move), (members, s, m.last_move)], 1)
            i = m.index[a]
            if ((ev.comp[0, i] - ev.comp[1, i]) * m.weights[i]).sum() >= 0:
                expect.append(a)
        for n in range(len(expect) + 1):
            for group in combinations(expect, n):
                ev = m.evaluate([(members | set(group), s, m.last_move)], 1)
                if float(ev.util[0] @ aim) > best:
                    best, best_package = float(ev.util[0] @ aim), (s, set(group))
    d = m.prepare_round().design
    assert d.value == pytest.approx(best, rel=1e-9)
    assert (d.scale, set(d.invited)) == best_package == (0.8, {"eu", "japan", "mexico"})

    # With foresight (the calm world as it is): the bloc it expects costs it and serves them.
    m = BlocModel(aiming(0.25), rng=0)
    # the bloc as it stands, and the bloc it expects at the floors it tables
    three = {"eu", "japan", "mexico"}
    ev = m.evaluate([(m.members, 1.0, m.last_move), (m.members | three, 0.8, m.last_move)], 1)
    d = m.prepare_round().design
    assert (d.scale, set(d.invited)) == (0.8, three)
    mine = ev.util[1, us] - ev.util[0, us]
    theirs = ev.util[1, partners].sum() - ev.util[0, partners].sum()
    assert mine < 0 < 0.25 * theirs + mine
    assert (money(mine), money(theirs)) == ("-$175m", "+$1.1bn")  # as the docs say
    m.step()
    text = m.events_df.query("kind == 'tabled'").text.iloc[0]
    assert text.startswith(
        "United States tabled every floor 20% lower at the US-Japan-EU and US-Mexico tables, "
        "expecting European Union, Japan and Mexico to accept: the bloc it expects is worth "
        f"{money(mine)} a year to it and {money(theirs)} to its partners at the tables against "
        "the bloc as it stands (it weighs their gains at 0.25 of its own)"
    )
    assert three <= m.members


def test_the_more_a_convener_weighs_its_partners_the_more_it_invites():
    """Counting its own money alone (0) or a tenth of its partners' gains, the United States
    invites nobody; at 0.15 it invites the EU alone; at 0.2 and 0.25, the EU, Japan and Mexico.
    Each partner's joining costs it money (the penalty it collects on their exports, the secure
    supply they share) and gains them more: the weight is the price at which it pays for theirs."""
    invited = {w: set(BlocModel(aiming(w), rng=0).prepare_round().design.invited)
               for w in (0.0, 0.1, 0.15, 0.2, 0.25)}  # fmt: skip
    assert invited == {0.0: set(), 0.1: set(), 0.15: {"eu"}, 0.2: {"eu", "japan", "mexico"},
                       0.25: {"eu", "japan", "mexico"}}  # fmt: skip


def test_a_convener_designing_for_a_table_it_does_not_sit_at_counts_its_own_money():
    """A table whose parties are none of them members is tabled by another member (the largest
    stake): that proposer's own utility is its aim, at weight 1, whatever the table's weight
    (here 0: its own money alone), so it does not design as if nothing were at stake."""
    d = calm("ministerial-2026", **{"policy.initial_members": ["japan"]})
    d["agenda"]["tracks"] = [{"name": "US-Mexico", "parties": ["us", "mexico"], "convener": "us",
                              "start_round": 1, "designs": ["floors", "invitees"]}]  # fmt: skip
    m, before = (BlocModel(Scenario.model_validate(d), rng=0) for _ in range(2))
    assert m.invitations(1)["us"][2] == "japan"
    design = m.prepare_round().design
    # the package it tabled, cleared on a twin of the model before it tabled it
    ev = before.evaluate([(before.members | set(design.invited), design.scale, m.last_move)], 1)
    assert design.value == pytest.approx(float(ev.util[0, m.index["japan"]]), rel=1e-9)
    assert design.value != 0.0


def test_a_convener_that_weighs_its_partners_gains_keeps_the_four_together():
    """Over the whole run: counting its own money alone, the United States keeps the bloc to
    itself to round 36; weighing its partners' gains at a quarter of its own, the calm bloc is
    the United States, Japan, the EU and Mexico (all three invited in round 1) at round 36."""
    assert BlocModel(aiming(0.0), rng=0).run(36).members == {"us"}
    assert BlocModel(aiming(0.25), rng=0).run(36).members == {"us", "japan", "eu", "mexico"}


def test_an_outsider_the_convener_left_out_learns_when_it_may_be_asked_again():
    """A United States counting its own money leaves Japan out at the tables it designs for in
    round 1 (US-Japan-EU and US-Mexico); that list holds there until those tables design again
    (round 7), and as a sponsor of accessions. The Plurilateral table, where Japan is a party
    too, designs when it first sits in round 3: the workshop's outlook tells Japan it is left out
    by the United States' list now and may be asked in round 3. The list holds only at the
    tables designed for: a table the convener does not design for asks as it would."""
    m = BlocModel(aiming(0.0), rng=0).run(1)
    assert "japan" not in m.invitations(2)
    outlook = m.invitation_outlook("japan")
    assert (outlook["why"], outlook["convener"], outlook["next"]) == ("list", "us", 3)
    m.run(1)
    assert "japan" not in m.members
    # the same round-1 list, with a fourth table the convener does not design for
    d = calm("ministerial-2026")
    for t in d["agenda"]["tracks"]:
        t["designs"] = ["floors", "invitees"]
    d["agenda"]["tracks"] = [*d["agenda"]["tracks"], {"name": "US-Japan", "convener": "us",
                                                      "parties": ["us", "japan"],
                                                      "start_round": 2}]  # fmt: skip
    m = BlocModel(Scenario.model_validate(d), rng=0).run(1)
    assert m.invitations(2)["japan"][2] == "us"


def two_conveners(eu_designs: list[str]) -> Scenario:
    """The calm ministerial world without foresight, the EU a member from the start, the United
    States designing the floors at the US-Japan-EU table, and an EU-Singapore table from round 1
    where the EU designs `eu_designs`; a convener's word carries its terms."""
    d = calm("ministerial-2026", **{"foresight.horizon_days": 0, "agenda.agreement": "convener"})
    d["policy"]["initial_members"] = ["us", "eu"]
    tracks = [dict(t) for t in d["agenda"]["tracks"]]
    tracks[0]["designs"] = ["floors"]
    eu_table = {"name": "EU-Singapore", "parties": ["eu", "singapore"], "convener": "eu"}
    d["agenda"]["tracks"] = [*tracks, {**eu_table, "start_round": 1, "designs": eu_designs}]
    return Scenario.model_validate(d)


def test_two_conveners_design_in_the_same_round_one_after_the_other():
    """Where tables with different conveners design in the same round, each designs: the United
    States first (the agenda's order), then the EU on the terms the United States tabled. The
    United States tables every floor 20% lower at its table; the EU, designing next, tables
    those 25% higher at its own: back where they were. Checked by brute force: the EU's package
    is worth as much to it as the best of every multiple of the floors the United States left,
    with Singapore invited where the EU expects it to accept."""
    m = BlocModel(two_conveners(["floors", "invitees"]), rng=0)
    # the world the EU designs in: the United States' design alone
    alone = BlocModel(two_conveners([]), rng=0)
    opening = alone.floors.copy()
    us_scale = alone.prepare_round().design.scale
    members, eu = alone.members, alone.index["eu"]
    best = -math.inf
    for s in SCALES:
        ev = alone.evaluate([(members | {"singapore"}, s, alone.last_move),
                             (members, s, alone.last_move)], 1)  # fmt: skip
        i = alone.index["singapore"]
        joins = ((ev.comp[0, i] - ev.comp[1, i]) * alone.weights[i]).sum() >= 0
        best = max(best, float(ev.util[1, eu]), float(ev.util[0, eu]) if joins else -math.inf)
    # against the bloc as it stands on the floors the United States left
    now = float(alone.evaluate([(members, 1.0, alone.last_move)], 1).util[0, eu])
    d = m.prepare_round().design
    assert d.value == pytest.approx(best, rel=1e-9)
    assert (us_scale, d.scale) == (0.8, 1.25)
    np.testing.assert_allclose(m.floors, opening * us_scale * d.scale)
    m.step()
    tabled = m.events_df.query("kind == 'tabled' and round == 1")
    assert tabled["actor"].tolist() == ["us", "eu"]
    us_text, eu_text = tabled["text"]
    assert us_text.startswith("United States tabled every floor 20% lower at the US-Japan-EU table")
    assert eu_text.startswith(
        "European Union tabled every floor 25% higher at the EU-Singapore table, expecting "
        f"nobody to accept: the bloc it expects is worth {money(d.value - now)} a year to it "
        "against the bloc as it stands"
    )


def us_and_eu_tables(us_weight: float) -> Scenario:
    """The calm ministerial world without foresight, the EU a member from the start, the United
    States choosing whom to invite at the US-Japan-EU table (weighing its partners' gains at
    `us_weight`), and an EU-Japan table from round 1 where the EU, counting its own money alone,
    chooses whom to invite too."""
    d = calm("ministerial-2026", **{"foresight.horizon_days": 0})
    d["policy"]["initial_members"] = ["us", "eu"]
    tracks = [dict(t) for t in d["agenda"]["tracks"]]
    tracks[0]["designs"], tracks[0]["partner_weight"] = ["invitees"], us_weight
    eu_table = {"name": "EU-Japan", "parties": ["eu", "japan"], "convener": "eu"}
    d["agenda"]["tracks"] = [*tracks, {**eu_table, "start_round": 1, "designs": ["invitees"]}]
    return Scenario.model_validate(d)


def test_a_country_at_two_conveners_tables_is_the_first_conveners_to_decide():
    """Japan sits at the US-Japan-EU table and at the EU-Japan table, both designing in round 1.
    The United States, first in the agenda, decides whether it is asked: weighing its partners'
    gains fully it invites Japan, and the EU, designing next, cannot leave Japan out (it is not
    the EU's to weigh); counting its own money alone it leaves Japan out, and it does not then
    sponsor Japan's accession the next round (another member may)."""
    m = BlocModel(us_and_eu_tables(1.0), rng=0)
    prep = m.prepare_round()
    assert "japan" in prep.order  # asked in round 1
    m.step()
    us_text, eu_text = m.events_df.query("kind == 'tabled' and round == 1")["text"]
    assert "expecting Japan to accept" in us_text and "invite Japan" not in eu_text
    m = BlocModel(us_and_eu_tables(0.0), rng=0)
    assert "japan" not in m.prepare_round().order
    m.step()
    assert "japan" not in m.members
    asked = m.invitations(2)
    assert "japan" in asked and asked["japan"][2] not in ("us", "")


# ---------------------------------------------------------------------------------------------
# Designing the offtake (`designs = ["offtake"]`)


def expansion_world(agreement: str = "unanimity", designs=("offtake",), **changes) -> dict:
    """The calm expansion world where the United States designs `designs` at the expansion
    table (round 7: Australia, South Korea and India invited), as a scenario dict."""
    d = calm("expansion", **{"agenda.agreement": agreement, **changes})
    d["agenda"]["tracks"][3]["designs"] = list(designs)
    return d


def expansion_offtake(agreement: str = "unanimity", designs=("offtake",), **changes) -> BlocModel:
    """`expansion_world`, played to round 7."""
    world = expansion_world(agreement, designs, **changes)
    return BlocModel(Scenario.model_validate(world), rng=0).run(7)


def test_a_convener_offers_offtake_to_a_producer_it_would_rather_buy_from_than_take_in():
    """Where its word decides, the United States gives Australia, the largest producer at the
    expansion table, offtake rather than membership: its miners sell into the bloc's market on
    its terms from round 7 (a lever change told in words), and Australia, paid the bloc's price
    outside, declines to join, where without the design it joins in round 7. Checked against
    the brute force: for each offtake it may weigh (none, each producer alone, all three), whom
    it expects to join (joining pays them, over their horizon, at the terms in force and with
    that offtake) and what that bloc is worth to it, each cleared again: offtake for Australia
    alone is worth most, and is what it tables."""
    m = expansion_offtake("convener")
    e = m.events_df.query("round == 7")
    assert m.partners == {"australia"}
    assert "Lever changed: offtake partners: none -> Australia" in set(e.text)
    (tabled,) = e.query("kind == 'tabled'").text
    assert tabled.startswith(
        "United States tabled offtake from the producers of Australia, outside the bloc (they "
        "sell into its market on its terms) at the Expansion table"
    )
    assert "australia" not in m.members
    assert (e.query("actor == 'australia'").kind == "rejected").all()
    plain = expansion_offtake("convener", designs=())
    assert "australia" in plain.members
    # the brute force, from the opening of round 7 of the same world where nobody designs
    before = BlocModel(Scenario.model_validate(expansion_world("convener", ())), rng=0).run(6)
    prep = before.prepare_round()
    new = ["australia", "india", "south_korea"]
    assert set(new) <= set(prep.order)  # (Singapore, asked at another table, is not its to weigh)
    worth = {}
    for offtake in ([], ["australia"], ["india"], ["south_korea"], new):
        own = {"partners": offtake}
        specs = [(before.members, 1.0, before.last_move, own)]
        specs += [(before.members | {a}, 1.0, before.last_move, own) for a in new]
        comp = before.evaluate(specs, 7).comp
        expects = []
        for k, a in enumerate(new, start=1):
            i = before.index[a]
            gain = (comp[k, i] - comp[0, i] + before._pipeline(prep, a)) * before.weights[i]
            if gain.sum() >= 0:
                expects.append(a)
        util = before.evaluate([(before.members | set(expects), 1.0, before.last_move, own)], 7)
        worth[tuple(offtake)] = float(util.util[0, before.index["us"]])
    assert max(worth, key=worth.get) == ("australia",)
    designed = BlocModel(m.config, rng=0).run(6).prepare_round().design
    assert designed.offtake == {"australia"}
    assert designed.value == pytest.approx(worth[("australia",)], rel=1e-9)


def test_members_that_lose_by_a_producers_offtake_refuse_it():
    """Under unanimity the United States would rather give Australia offtake, but the EU, Japan
    and Mexico refuse: the EU and Japan would lose the tariff they collect on Australia's sales,
    which the offtake hands to its miners, and Mexico's copper miners would meet Australia's in
    the bloc's market. The United States tables the terms in force, says so, and Australia joins
    as in the expansion scenario."""
    m = expansion_offtake()
    (tabled,) = m.events_df.query("round == 7 and kind == 'tabled'").text
    assert tabled.startswith("United States tabled the terms in force at the Expansion table")
    assert (
        "it would rather have tabled offtake from the producers of Australia, outside the bloc "
        "(they sell into its market on its terms), which European Union, Japan and Mexico would "
        "refuse (every member must agree)"
    ) in tabled
    assert not m.partners and "australia" in m.members
    # the same bloc, with Australia outside it, without and with offtake for its miners
    before = BlocModel(m.config, rng=0).run(6)
    bloc = before.members | {"india", "south_korea"}
    ev = before.evaluate([(bloc, 1.0, before.last_move, {"partners": p})
                          for p in ([], ["australia"])], 7)  # fmt: skip
    tariff, ps = COMPONENTS.index("tariff_revenue"), COMPONENTS.index("producer_surplus")
    for a in ("eu", "japan"):
        i = before.index[a]
        assert ev.comp[1, i, tariff] < ev.comp[0, i, tariff]  # less tariff money with offtake
    i, cu = before.index["mexico"], before.minerals.index("copper")
    assert ev.comp[1, i, ps] < ev.comp[0, i, ps]
    assert ev.outcome.bloc_price[1, cu] < ev.outcome.bloc_price[0, cu]  # its copper sells lower


def test_under_price_gap_payments_a_convener_does_not_offer_offtake():
    """With price-gap payments the bloc pays its sellers the floor's gap: offtake for all their
    output would have the members pay it on the producers' whole output (Australia's lithium
    above all), and for less of it Australia would join anyway. So the United States, whose
    word decides and which does not choose whom to invite, weighs offtake and tables the terms
    in force, and Australia joins."""
    m = expansion_offtake("convener", **{"policy.instrument": "price_gap"})
    (tabled,) = m.events_df.query("round == 7 and kind == 'tabled'").text
    assert tabled.startswith("United States tabled the terms in force at the Expansion table")
    assert not m.partners and "australia" in m.members
    before = BlocModel(m.config, rng=0).run(6)
    prep = before.prepare_round()
    weighed = before._design_candidates("offtake", Terms(), prep)
    quarter = Terms(offtake=frozenset({"australia"}), share=0.25)
    assert Terms(offtake=frozenset({"australia"})) in weighed and quarter in weighed
    assert "australia" in before._design_accepts(prep, [quarter])[quarter]  # it would join


def test_no_offtake_is_weighed_where_it_changes_nothing():
    """Offtake is at the bloc's price: with no penalty and no floor, or no penalty and a
    stockpile (which buys on the world market), there is none to sell at, and a convener weighs
    no offtake; with the floors on the border, it does."""
    for changes, weighs in (
        ({}, True),
        ({"policy.floors": {}, "policy.outsider_penalty": 0.0}, False),
        ({"policy.instrument": "stockpile", "policy.outsider_penalty": 0.0}, False),
        ({"policy.instrument": "stockpile"}, True),
    ):
        world = expansion_world("convener", (), **changes)
        m = BlocModel(Scenario.model_validate(world), rng=0).run(6)
        prep = m.prepare_round()
        assert prep.order, changes  # there are producers to weigh
        assert bool(m._design_candidates("offtake", Terms(), prep)) == weighs, changes


def test_a_later_convener_leaves_alone_the_offtake_an_earlier_one_tabled():
    """Two conveners design in round 7: the United States gives Australia offtake at the
    expansion table, then the EU designs at an EU-Japan table with no producer outside the bloc
    to decide: it weighs no offtake and cannot take Australia's away."""
    world = expansion_world("convener")
    eu_table = {"name": "EU-Japan", "parties": ["eu", "japan"], "convener": "eu"}
    eu_table |= {"start_round": 7, "designs": ["offtake"]}
    world["agenda"]["tracks"] = [*world["agenda"]["tracks"], eu_table]
    m = BlocModel(Scenario.model_validate(world), rng=0).run(7)
    assert m.partners == {"australia"} and "australia" not in m.members
    tabled = m.events_df.query("round == 7 and kind == 'tabled'").text.tolist()
    assert len(tabled) == 2 and "offtake" not in tabled[1]


def test_under_price_gap_payments_a_convener_buys_a_quarter_of_the_outsiders_output():
    """An offtake contract is for a volume, and the convener chooses it. Under price-gap payments
    the members pay the gap on every contracted tonne. Designing whom to invite and the offtake,
    the United States invites none of the producers at the expansion table and buys a quarter
    of their output: the more it contracts, the more of the members' supply is secure, but the
    bill grows faster. A quarter secures about $70m a year of the US's supply for about $7m of
    gap payments; all of their output would secure about $78m more, for about $260m more of
    gap payments. The EU, Japan and Mexico, who must agree, each gain by it. Checked against the
    brute force over every share, the same bloc: a quarter is worth most to the United States,
    and is what it tables."""
    world = expansion_world(designs=("invitees", "offtake"), **{"policy.instrument": "price_gap"})
    m = BlocModel(Scenario.model_validate(world), rng=0).run(7)
    producers = {"australia", "india", "south_korea"}
    assert m.partners == producers and m.offtake_share == 0.25
    assert not producers & m.members
    (tabled,) = m.events_df.query("round == 7 and kind == 'tabled'").text
    assert tabled.startswith(
        "United States tabled offtake from the producers of Australia, India and South Korea, "
        "outside the bloc, for a quarter of their output instead of all (they sell into its "
        "market on its terms) at the Expansion table, expecting nobody to accept"
    )
    lever = m.events_df.query("round == 7 and kind == 'lever'").text
    assert (
        "Lever changed: offtake share: 100% of a partner's output -> 25% of a partner's "
        "output" in set(lever)
    )
    # the brute force, from the opening of round 7 (before the design), the same bloc
    before = BlocModel(m.config, rng=0).run(6)
    shares = (0.1, 0.25, 0.5, 1.0)
    specs = [(before.members, 1.0, before.last_move, {"partners": []})]
    specs += [(before.members, 1.0, before.last_move,
               {"partners": sorted(producers), "offtake_share": x}) for x in shares]  # fmt: skip
    ev = before.evaluate(specs, 7)
    us = before.index["us"]
    worth = dict(zip((0.0, *shares), ev.util[:, us].tolist()))
    assert max(worth, key=worth.get) == 0.25
    designed = before.prepare_round().design
    assert designed.share == 0.25 and designed.offtake == producers and designed.invited == ()
    assert designed.value == pytest.approx(worth[0.25], rel=1e-9)
    fiscal, security = COMPONENTS.index("fiscal_outlay"), COMPONENTS.index("supply_security")
    bill = -ev.comp[:, us, fiscal] + ev.comp[0, us, fiscal]  # the gap payments offtake adds
    secure = ev.comp[:, us, security] - ev.comp[0, us, security]  # the security it adds
    assert 63e6 < secure[2] < 77e6 and 5.5e6 < bill[2] < 8e6  # a quarter: about $70m, $7m
    assert 70e6 < secure[4] - secure[2] < 86e6 and 235e6 < bill[4] - bill[2] < 285e6  # all
    assert (np.diff(secure) > 0).all() and (np.diff(bill) > 0).all()
    for a in ("eu", "japan", "mexico"):
        assert ev.util[2, before.index[a]] > ev.util[0, before.index[a]]


def test_a_contract_share_is_told_in_words_and_weighed_for_the_partners_in_force():
    """A convener may keep the partners in force and change how much of their output is under
    contract: that package is among those it weighs, is told as such, and clears as the same
    partners at the new share in force do. Where a partner in force is not its to decide
    (Singapore, asked at another table) it weighs no share for every partner: the share it
    weighs is the own share of the partner it decides, Singapore keeping its contract; with no
    producer to decide at its tables it weighs no offtake at all."""
    m = BlocModel(Scenario.model_validate(expansion_world("convener", ())), rng=0).run(6)
    m.set_levers(partners=["australia"])
    prep = m.prepare_round()
    weighed = m._design_candidates("offtake", Terms(), prep)
    assert Terms(share=0.1) in weighed and Terms(share=1.0) not in weighed  # 1 is in force
    assert Terms(offtake=frozenset()) in weighed and Terms(offtake=frozenset(), share=0.5) not in (
        weighed
    )  # no partner, no contract
    assert m._design_words(Terms(share=0.25), ("offtake",)) == (
        "offtake contracts with the producers of Australia for a quarter of their output "
        "instead of all"
    )
    assert m._design_terms(Terms(share=0.25)) == {"offtake_share": 0.25}
    row = m.evaluator.partner_row(None, 0.25)
    assert row[m.index["australia"]] == 0.25 and row.sum() == 0.25
    own = m.evaluate([(m.members, 1.0, m.last_move, {"offtake_share": 0.25})], 7)
    m.levers.apply({"offtake_share": 0.25}, at_round=7)
    assert m.offtake_share == 0.25
    np.testing.assert_array_equal(m.evaluate([(m.members, 1.0, m.last_move)], 7).util, own.util)
    m.levers.apply({"offtake_share": 1.0, "partners": ["australia", "singapore"]}, at_round=7)
    weighed = m._design_candidates("offtake", Terms(), prep)
    assert weighed and all(c.share is None for c in weighed)
    quarter = Terms(shares=(("australia", 0.25),))
    assert quarter in weighed and Terms(shares=(("australia", 1.0),)) not in weighed  # in force
    assert m._design_terms(quarter) == {"offtake_shares": {"australia": 0.25}}
    assert m._design_words(quarter, ("offtake",)) == (
        "offtake contracts with the producers of Australia and Singapore for a quarter of "
        "Australia's output"
    )
    row = m.evaluator.partner_row(None, None, {"australia": 0.25})
    assert row[m.index["australia"]] == 0.25 and row[m.index["singapore"]] == 1.0
    prep.order = []
    assert m._design_candidates("offtake", Terms(), prep) == []


def test_a_partner_another_table_contracted_keeps_its_contract_while_the_convener_sizes_its_own():
    """Each offtake deal has its own size (Lynas is to supply Japan with up to 65% of Mt Weld's
    Dy/Tb output; MP's magnet plant sells all of its output under contract). Singapore is the
    bloc's offtake partner from the start, for all of its output, and is not the United
    States' to decide at the expansion table. Under price-gap payments the United States still
    contracts a quarter of the output of the three producers it decides (Australia, India and
    South Korea), their own share, while Singapore keeps its whole contract: worth about $43m
    a year to it, as in the same world without Singapore's contract (before partners had their
    own shares, the best it could table there was all of South Korea's output, worth $0.5m).
    Checked against the brute force over every share of the three, Singapore's contract as it
    is; a later sweep weighs the offtake afresh from the terms in force."""
    world = expansion_world(
        designs=("invitees", "offtake"),
        **{"policy.instrument": "price_gap", "policy.partners": ["singapore"]},
    )
    m = BlocModel(Scenario.model_validate(world), rng=0).run(7)
    producers = {"australia", "india", "south_korea"}
    assert m.partners == producers | {"singapore"} and not producers & m.members
    assert m.offtake_share == 1.0 and m.offtake_shares == dict.fromkeys(sorted(producers), 0.25)
    row = m.partner_mask
    assert row[m.index["singapore"]] == 1.0
    assert all(row[m.index[a]] == 0.25 for a in producers)
    (tabled,) = m.events_df.query("round == 7 and kind == 'tabled'").text
    assert tabled.startswith(
        "United States tabled offtake from the producers of Australia, India, Singapore and "
        "South Korea, outside the bloc, for a quarter of Australia, India and South Korea's "
        "output (they sell into its market on its terms) at the Expansion table"
    )
    assert (
        "Lever changed: partners' own contract shares: none -> Australia 25%, India 25%, South "
        "Korea 25%" in set(m.events_df.query("round == 7 and kind == 'lever'").text)
    )
    assert m.rounds_df.iloc[-1]["offtake_shares"] == "australia:0.25+india:0.25+south_korea:0.25"
    # the brute force, from the opening of round 7 (before the design), the same bloc
    before = BlocModel(m.config, rng=0).run(6)
    shares = (0.1, 0.25, 0.5, 1.0)
    partners = sorted(producers | {"singapore"})
    specs = [(before.members, 1.0, before.last_move, {})]
    specs += [(before.members, 1.0, before.last_move,
               {"partners": partners, "offtake_shares": dict.fromkeys(producers, x)})
              for x in shares]  # fmt: skip
    ev = before.evaluate(specs, 7)
    worth = dict(zip((0.0, *shares), ev.util[:, before.index["us"]].tolist()))
    assert max(worth, key=worth.get) == 0.25
    designed = before.prepare_round().design
    assert designed.shares == tuple((a, 0.25) for a in sorted(producers))
    assert designed.value == pytest.approx(worth[0.25], rel=1e-9)
    assert 38e6 < worth[0.25] - worth[0.0] < 48e6  # about $43m a year against no new offtake
    # A later sweep weighs the offtake afresh from the terms in force, whatever shares it
    # chose before: the terms in force among the options, each option's own shares for the
    # partners it names, never a share for every partner beside them.
    prep = before.prepare_round()  # the round opened above
    chosen = Terms(offtake=frozenset(producers | {"singapore"}), shares=designed.shares)
    again = before._design_moves("offtake", chosen, prep, SCALES)
    assert Terms() in again
    for c in again:
        named = c.offtake if c.offtake is not None else before.partners
        assert {a for a, _ in c.shares} <= named and not (c.shares and c.share is not None), c


def tabled_in_round_one(m: BlocModel) -> str:
    """Play round 1 and say what the convener tabled (the first `tabled` line)."""
    m.step()
    return m.events_df.query("kind == 'tabled'").text.iloc[0]


def test_a_convener_designing_each_floor_sets_each_like_a_tariff_on_whoever_bears_it():
    """A floor per mineral ("each_floor"). Under the border tariff a floor is a tariff on the
    bloc's imports. Designing each floor on its own, the United States (weighing its partners'
    gains at a quarter of its own) lowers the rare-earth floor 20%, keeps the lithium and
    graphite floors, and raises the gallium floor 25%: worth about $8m a year more by its aims
    than the best single multiple of every floor (every floor 20% lower). The rare-earth floor
    costs the members' buyers more than it brings their treasuries and MP's separation (20%
    lower: US buyers save about $98m a year against about $62m of tariff and $29m of MP's
    surplus; Japan's and the EU's buyers save more than their treasuries lose). The gallium
    floor brings each member that imports gallium a little more tariff than it costs its buyers:
    the supplier, nearly the only seller, bears part of it (the world price it sells at falls,
    and so does its surplus). Checked by brute force over all 81 combinations
    of the four floors' multiples, with the three it expects in the bloc: the one it tables is
    the best, which its first sweep (a floor at a time, in the minerals' order) finds here."""
    m = BlocModel(own_tables(((), (), ()), ("each_floor", "invitees")), rng=0)
    opening = dict(zip(m.minerals, m.floors.tolist()))
    floored = [k for k in m.minerals if opening[k] > 0]
    assert floored == ["lithium", "rare_earths", "graphite", "gallium"]
    us, three = m.index["us"], {"japan", "eu", "mexico"}
    aim = np.zeros(len(m.actor_ids))
    aim[us], aim[[m.index[a] for a in three]] = 1.0, 0.25
    combos = list(itertools.product(SCALES, repeat=len(floored)))
    specs = []
    for c in combos:
        times = dict(zip(floored, c))
        floors = {k: f * times.get(k, 1.0) for k, f in opening.items()}
        specs.append((m.members | three, 1.0, m.last_move, {"floors": floors}))
    ev = m.evaluate(specs, 1)
    values = dict(zip(combos, (ev.util @ aim).tolist()))
    d = m.prepare_round().design
    assert set(d.expected) == set(d.invited) == three
    assert (d.scale, d.multiples) == (1.0, (("gallium", 1.25), ("rare_earths", 0.8)))
    tabled = (1.0, 0.8, 1.0, 1.25)
    assert max(values, key=values.get) == tabled
    assert d.value == pytest.approx(values[tabled], rel=1e-12)
    uniform = max(values[(s,) * 4] for s in SCALES)
    assert uniform == values[(0.8,) * 4] and 5e6 < values[tabled] - uniform < 12e6
    # why: each floor against keeping it, the others as tabled
    consumer, tariff = COMPONENTS.index("consumer_cost"), COMPONENTS.index("tariff_revenue")
    ps = COMPONENTS.index("producer_surplus")

    def change(mineral: str, component: int, a: str) -> float:
        kept = list(tabled)
        kept[floored.index(mineral)] = 1.0
        at, other = combos.index(tabled), combos.index(tuple(kept))
        return float(ev.comp[at, m.index[a], component] - ev.comp[other, m.index[a], component])

    assert 90e6 < change("rare_earths", consumer, "us") < 105e6
    assert -70e6 < change("rare_earths", tariff, "us") < -55e6
    assert -35e6 < change("rare_earths", ps, "us") < -25e6
    for a in ("japan", "eu"):
        assert change("rare_earths", consumer, a) > -change("rare_earths", tariff, a) > 0
    for a in ("us", "japan", "eu"):  # the members that import gallium (Mexico buys none)
        assert change("gallium", tariff, a) > -change("gallium", consumer, a) > 0
    # the supplier bears part of it: the world price it sells at falls, and so does its surplus
    kept = list(tabled)
    kept[floored.index("gallium")] = 1.0
    at, other = combos.index(tabled), combos.index(tuple(kept))
    ga = m.minerals.index("gallium")
    assert ev.outcome.world_price[at, ga] < 0.97 * ev.outcome.world_price[other, ga]
    assert change("gallium", ps, "supplier") < 0
    assert tabled_in_round_one(m).startswith(
        "United States tabled the rare earths floor 20% lower, the lithium and natural graphite "
        "floors as in force and the gallium floor 25% higher at the US-Japan-EU and US-Mexico "
        "tables, expecting European Union, Japan and Mexico to accept"
    )
    assert m.floors[m.minerals.index("gallium")] == pytest.approx(opening["gallium"] * 1.25)


def test_a_designing_convener_keeps_each_floor_within_its_mandate():
    """Designs compound on the floors in force. Designing each floor, the United States raises
    the gallium floor at every design (a tariff the supplier partly bears): 25% in round 1,
    again in rounds 3 and 7, when it is 1.95 times the scenario's; then it would pass twice the
    scenario's floor, its mandate (FLOOR_BAND), and it stops there. Every floor stays within half
    and twice the scenario's for the whole run, and a design that would leave the band is not
    weighed."""
    m = BlocModel(own_tables(((), (), ()), ("each_floor", "invitees")), rng=0)
    opening = m.floors.copy()
    ga = m.minerals.index("gallium")
    path = []
    for _ in range(36):
        m.step()
        path.append(m.floors[ga] / opening[ga])
    floored = opening > 0
    ratio = m.floors[floored] / opening[floored]
    assert (ratio >= 0.5 - 1e-9).all() and (ratio <= 2.0 + 1e-9).all()
    assert [path[r - 1] for r in (1, 3, 7)] == pytest.approx([1.25, 1.25**2, 1.25**3])
    assert max(path) == pytest.approx(1.25**3)
    assert path[-1] == pytest.approx(1.25**3)
    assert not m._within_mandate(frozenset({"gallium"}), 1.25)
    assert m._within_mandate(frozenset({"gallium"}), 0.8) and m._within_mandate(None, 1.0)


def test_the_scenario_sets_the_conveners_mandate():
    """The band is the agenda's `mandate`: a convener held to the scenario's floors exactly
    ([1, 1]) designs whom to invite and never moves a floor; one allowed three times them
    raises gallium a fourth time (round 13), to 2.44 times, past the default's twice, and stops
    there (a fifth time would pass three times). A band that does not hold the scenario's own
    floors is refused in words."""
    base = own_tables(((), (), ()), ("each_floor", "invitees")).model_dump()

    def gallium_path(band):
        d = {**base, "agenda": {**base["agenda"], "mandate": band}}
        m = BlocModel(Scenario.model_validate(d), rng=0)
        ga, opening = m.minerals.index("gallium"), m.floors.copy()
        path = []
        for _ in range(24):
            m.step()
            path.append(m.floors[ga] / opening[ga])
        return m, opening, path

    held, opening, path = gallium_path([1.0, 1.0])
    np.testing.assert_array_equal(held.floors, opening)
    assert not held.levers.log and set(path) == {1.0}
    wide, _, path = gallium_path([0.5, 3.0])
    assert [path[r - 1] for r in (7, 13, 19)] == pytest.approx([1.25**3, 1.25**4, 1.25**4])
    assert max(path) == pytest.approx(1.25**4)
    with pytest.raises(ValueError, match=r"(?s)mandate.*0 <= lowest <= 1 <= highest"):
        Scenario.model_validate({**base, "agenda": {**base["agenda"], "mandate": [1.2, 2.0]}})


def test_a_floor_set_outside_the_mandate_may_come_back_but_not_go_further():
    """A lever sets the gallium floor at three times the scenario's before round 1. Designing one
    multiple of every floor, the United States may still lower them all 20% (gallium moves back
    toward its mandate, the others stay within it), as it does without the lever, but not raise
    them. A floor the scenario did not set takes the floor first found in force at a design as
    its mandate."""
    m = BlocModel(own_tables(((), (), ())), rng=0)
    ga = m.minerals.index("gallium")
    opening = float(m.floors[ga])
    m.set_levers(floors={"gallium": 3 * opening})
    prep = m.prepare_round()
    assert prep.design.scale == 0.8
    assert m.floors[ga] == pytest.approx(3 * opening * 0.8)  # the lever's, 20% lower
    assert m._within_mandate(None, 0.8) and not m._within_mandate(None, 1.25)
    assert m._mandate[ga] == opening  # the scenario's, not the lever's
    cu = m.minerals.index("copper")
    assert m._mandate[cu] == 0.0 and m.floors[cu] == 0.0


def test_each_floor_is_its_own_package_and_one_floor_is_every_floor():
    """Which packages of floors a convener designing each floor weighs: each floored mineral's
    own, in the minerals' order (a mineral with no floor is not weighed); with a single floor,
    that floor is every floor."""
    m = BlocModel(own_tables(((), (), ()), ("each_floor",)), rng=0)
    mine = [m.config.agenda.tracks[0]]
    assert m._design_scopes(mine, 1, each=True) == [
        (frozenset({x}), "") for x in ("lithium", "rare_earths", "graphite", "gallium")
    ]
    assert m._design_scopes(mine, 1) == [(None, "")]
    # at tables with minerals of interest, each floor of each table's package in turn, whose
    # it is kept: the US-Mexico table moves only its own floors, one at a time
    m = BlocModel(own_tables(designs=("each_floor", "invitees")), rng=0)
    tracks = m.config.agenda.tracks
    usjeu, usmx = "the US-Japan-EU table's", "the US-Mexico table's"
    assert m._design_scopes([tracks[1]], 1, each=True) == [
        (frozenset({"lithium"}), usmx), (frozenset({"graphite"}), usmx)
    ]  # fmt: skip
    assert m._design_scopes(tracks[:2], 1, each=True) == [
        (frozenset({"rare_earths"}), usjeu), (frozenset({"gallium"}), usjeu),
        (frozenset({"lithium"}), usmx), (frozenset({"graphite"}), usmx),
    ]  # fmt: skip
    words = m._table_floors_words((("gallium", 1.25), ("rare_earths", 0.8)),
                                  m._design_scopes(tracks[:2], 1, each=True))  # fmt: skip
    assert words == (
        "the rare earths floor 20% lower and the gallium floor 25% higher (the US-Japan-EU "
        "table's) and the lithium and natural graphite floors as in force (the US-Mexico table's)"
    )
    one = own_tables(((), (), ()), ("each_floor",)).model_dump()
    one["policy"]["floors"] = {"gallium": 250_000.0}
    m = BlocModel(Scenario.model_validate(one), rng=0)
    assert m._design_scopes(mine, 1, each=True) == [(None, "")]
    assert m._table_floors_words((), [(frozenset({"gallium"}), ""), (frozenset({"lithium"}), "")]
                                 ) == "the floors in force"  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Tables with their own minerals of interest (issue 18, item 3)


def own_tables(
    scopes=(("rare_earths", "gallium"), ("lithium", "graphite"), ()),
    designs=("floors", "invitees"),
) -> Scenario:
    """The calm ministerial world where the United States designs the floors and whom to invite,
    weighing its partners' gains at a quarter of its own (as `aiming`), and each table
    negotiates its own minerals' floors: US-Japan-EU the rare earths and gallium (which Japan
    and the EU buy from the supplier), US-Mexico lithium and graphite, the all-party table
    every floor (`designs`: what it designs)."""
    d = calm("ministerial-2026")
    for t, minerals in zip(d["agenda"]["tracks"], scopes, strict=True):
        t["designs"], t["partner_weight"] = list(designs), 0.25
        t["minerals"] = list(minerals)
    return Scenario.model_validate(d)


def test_tables_with_their_own_minerals_get_their_own_floors():
    """Negotiating every floor at once, the United States tables every floor 20% lower in round
    1 (`test_a_convener_that_weighs_its_partners_gains_invites_them_and_pays_for_it`). When
    each table negotiates its own minerals' floors it can treat them apart: it lowers the
    rare-earth and gallium floors, the US-Japan-EU table's, and keeps the lithium and graphite
    floors, the US-Mexico table's. A lower lithium floor would save its buyers a little, but
    Japan and the EU collect tariff money on the lithium they import, and it weighs their gains
    at a quarter of its own. Checked by brute force: of the nine pairs of the two tables'
    multiples, with the three it expects in the bloc, this one is worth most to its aims, and
    more than the best it could table with every floor together."""
    m = BlocModel(own_tables(), rng=0)
    opening = dict(zip(m.minerals, m.floors.tolist()))
    members, us = m.members, m.index["us"]
    three = {"japan", "eu", "mexico"}
    aim = np.zeros(len(m.actor_ids))
    aim[us], aim[[m.index[a] for a in three]] = 1.0, 0.25
    pairs = [(s1, s2) for s1 in SCALES for s2 in SCALES]
    specs = []
    for s1, s2 in pairs:
        times = {"rare_earths": s1, "gallium": s1, "lithium": s2, "graphite": s2}
        floors = {k: f * times.get(k, 1.0) for k, f in opening.items()}
        specs.append((members | three, 1.0, m.last_move, {"floors": floors}))
    ev = m.evaluate(specs, 1)
    values = dict(zip(pairs, (ev.util @ aim).tolist()))
    d = m.prepare_round().design
    assert set(d.expected) == set(d.invited) == three
    assert (d.scale, d.multiples) == (1.0, (("gallium", 0.8), ("rare_earths", 0.8)))
    assert d.value == pytest.approx(max(values.values()), rel=1e-12)
    assert max(values, key=values.get) == (0.8, 1.0)
    assert values[(0.8, 1.0)] > max(values[(s, s)] for s in SCALES) == values[(0.8, 0.8)]
    # Why the lithium floor stays (graphite's barely matters): lowering it alone, the United
    # States would gain a little, and Japan and the EU would lose tariff money.
    low = {"rare_earths": 0.8, "gallium": 0.8}
    lithium = [{k: f * {**low, "lithium": s}.get(k, 1.0) for k, f in opening.items()}
               for s in (1.0, 0.8)]  # fmt: skip
    ev = m.evaluate([(members | three, 1.0, m.last_move, {"floors": f}) for f in lithium], 1)
    assert ev.util[0, us] < ev.util[1, us]
    tariff = COMPONENTS.index("tariff_revenue")
    for a in ("japan", "eu"):
        assert ev.comp[0, m.index[a], tariff] > ev.comp[1, m.index[a], tariff] + 1e7
    assert float((ev.util[0] - ev.util[1]) @ aim) > 0  # by its aims, worth keeping
    # The round's packages are cleared again on the floors tabled: the invitees answer on them.
    prep = m.prepare_round()
    fresh, _ = m._clear_table(1, prep.members, sorted(prep.slot, key=prep.slot.get), [])
    np.testing.assert_allclose(prep.ev.util, fresh.util, rtol=1e-12)
    # The floors tabled: the US-Japan-EU table's 20% lower, every other as it was.
    floors = dict(zip(m.minerals, m.floors.tolist()))
    for k, f in opening.items():
        assert floors[k] == pytest.approx(f * (0.8 if k in ("rare_earths", "gallium") else 1.0))
    assert tabled_in_round_one(m).startswith(
        "United States tabled the rare earths and gallium floors 20% lower (the US-Japan-EU "
        "table's) and the lithium and natural graphite floors as in force (the US-Mexico "
        "table's) at the US-Japan-EU and US-Mexico tables, expecting European Union, Japan and "
        "Mexico to accept"
    )
    assert three <= m.members

    # Negotiating every floor together (no minerals of interest) it lowers them all.
    m = BlocModel(own_tables(((), (), ())), rng=0)
    d = m.prepare_round().design
    assert (d.scale, d.multiples, set(d.invited)) == (0.8, (), three)


def test_an_invitee_counters_on_its_own_tables_minerals():
    """Asked at the US-Mexico table, Mexico may counter on that table's floors only (lithium and
    graphite, together or one by one), Japan and the EU on the rare earths and gallium; at the
    all-party table, with every mineral, Singapore may ask for every floor lower or higher: the
    table where everyone sits reconciles what the tracks set. (The United States designs the
    floors alone here, so that it invites Singapore.)"""
    m = BlocModel(own_tables(designs=("floors",)), rng=0)
    prep = m.prepare_round()
    for a, scope, words in (
        ("mexico", {"lithium", "graphite"}, "the lithium and natural graphite floors"),
        ("japan", {"rare_earths", "gallium"}, "the rare earths and gallium floors"),
        ("eu", {"rare_earths", "gallium"}, "the rare earths and gallium floors"),
    ):
        options = m._counter_options(prep, a)
        labels = [o.label for o in options]
        assert labels[:2] == [f"{words} 20% lower", f"{words} 25% higher"], a
        assert len(options) == 6, labels  # together, and each of the two alone
        for o in options:
            assert set(o.terms["floors"]) <= scope and o.terms["floors"], (a, o.label)
            for k, f in o.terms["floors"].items():  # lower or higher than the floor in force
                ratio = f / m.floors[m.minerals.index(k)]
                assert ratio == pytest.approx(0.8) or ratio == pytest.approx(1.25)
    m.run(2)
    prep = m.prepare_round()
    assert prep.round == 3 and "singapore" in prep.invites and prep.scopes["singapore"] is None
    labels = [o.label for o in m._counter_options(prep, "singapore")]
    assert labels[:2] == ["every floor 20% lower", "every floor 25% higher"]


def test_a_track_names_only_minerals_the_scenario_defines():
    """A misspelt mineral of interest is an error in words, with the field (and a mineral
    listed twice)."""
    d = calm("ministerial-2026")
    d["agenda"]["tracks"][0]["minerals"] = ["galium", "lithium", "lithium"]
    with pytest.raises(ValueError) as err:
        Scenario.model_validate(d)
    text = str(err.value)
    assert "agenda.tracks.0.minerals: mineral 'galium' is not defined" in text
    assert "listed twice" in text


def test_the_all_party_table_reconciles_the_tracks_packages():
    """The all-party table has every mineral: in round 3, with Japan, the EU and Mexico in the
    bloc, the United States weighs each track's package again, in turn (the US-Japan-EU table's
    rare earths and gallium, then the US-Mexico table's lithium and graphite), not one multiple
    of every floor. It raises the rare-earth and gallium floors 25%, back to the scenario's, and
    keeps the others. Why: since round 1 the supplier has cut its exports of those minerals to
    members, so a higher floor brings the members more tariff money on what they import from
    elsewhere than it costs their buyers (Japan about $80m against $73m a year, the EU $128m
    against $116m), and they agree; with the supplier selling normally it would cut them 20%
    again. Checked by brute force: of the nine pairs of the two packages' multiples, this one is
    worth most to its aims (its own utility and a quarter of each other party's at the
    table)."""
    m = BlocModel(own_tables(), rng=0).run(2)
    assert m.members == {"us", "japan", "eu", "mexico"}
    plurilateral = m.config.agenda.tracks[2]
    assert m._design_scopes([plurilateral], 3) == [
        (frozenset({"rare_earths", "gallium"}), "the US-Japan-EU table's"),
        (frozenset({"lithium", "graphite"}), "the US-Mexico table's"),
    ]
    before = dict(zip(m.minerals, m.floors.tolist()))
    aim = np.zeros(len(m.actor_ids))
    aim[m.index["us"]] = 1.0
    aim[[m.index[a] for a in ("japan", "eu", "mexico", "singapore")]] = 0.25
    pairs = [(s1, s2) for s1 in SCALES for s2 in SCALES]
    specs = []
    for s1, s2 in pairs:
        times = {"rare_earths": s1, "gallium": s1, "lithium": s2, "graphite": s2}
        floors = {k: f * times.get(k, 1.0) for k, f in before.items()}
        specs.append((m.members, 1.0, m.last_move, {"floors": floors}))
    ev = m.evaluate(specs, 3)
    values = dict(zip(pairs, (ev.util @ aim).tolist()))
    # the supplier's export cut to members, and what the raise does for them under it
    assert m.last_move.action == SupplierAction.EXPORT_CONTROLS
    assert {"rare_earths", "gallium"} <= set(m.last_move.minerals)
    raised, kept = pairs.index((1.25, 1.0)), pairs.index((1.0, 1.0))
    tariff, buyers = COMPONENTS.index("tariff_revenue"), COMPONENTS.index("consumer_cost")
    for a, (more, cost) in {"japan": (80e6, 73e6), "eu": (128e6, 116e6)}.items():
        delta = ev.comp[raised, m.index[a]] - ev.comp[kept, m.index[a]]
        assert delta[tariff] == pytest.approx(more, rel=0.02), a
        assert -delta[buyers] == pytest.approx(cost, rel=0.02), a
    normal = [(*spec[:2], SupplierMove(SupplierAction.NORMAL), spec[3]) for spec in specs]
    calm_values = dict(zip(pairs, (m.evaluate(normal, 3).util @ aim).tolist()))
    assert max(calm_values, key=calm_values.get) == (0.8, 1.0)
    d = m.prepare_round().design
    assert dict(d.multiples) == {"rare_earths": 1.25, "gallium": 1.25}
    assert max(values, key=values.get) == (1.25, 1.0)
    assert d.value == pytest.approx(values[(1.25, 1.0)], rel=1e-12)
    m.step()
    text = m.events_df.query("round == 3 and kind == 'tabled'").text.iloc[0]
    assert text.startswith(
        "United States tabled the rare earths and gallium floors 25% higher (the US-Japan-EU "
        "table's) and the lithium and natural graphite floors as in force (the US-Mexico "
        "table's) at the Plurilateral table"
    )


def test_on_a_tie_the_package_held_from_the_step_before_stays():
    """Two packages worth the same and changing as many terms: the one the convener already
    holds from the step before stays, wherever it is listed; with none held, the first."""
    held = Terms(multiples=(("graphite", 1.25),))
    other = Terms(multiples=(("graphite", 0.8),))
    bloc = ("eu",)
    values = {(other, bloc): 5e9, (held, bloc): 5e9}
    assert design(values, held=(held, bloc)).multiples == held.multiples
    assert design(values).multiples == other.multiples
    assert Terms(multiples=(("gallium", 0.8), ("graphite", 0.8))).changes() == 2


def test_which_packages_of_floors_a_convener_weighs():
    """Until a track with minerals of interest has sat, one multiple of every floor; after,
    a table's own floors, or at a table of every mineral each track's package (the earlier
    track keeps a mineral two share) and then the rest, its own; nothing where no floor is
    in a package."""
    m = BlocModel(own_tables(), rng=0)
    us_japan_eu, us_mexico, everyone = m.config.agenda.tracks
    re_ga, li_gr = frozenset({"rare_earths", "gallium"}), frozenset({"lithium", "graphite"})
    assert m._design_scopes([us_japan_eu, us_mexico], 1) == [
        (re_ga, "the US-Japan-EU table's"),
        (li_gr, "the US-Mexico table's"),
    ]
    assert m._design_scopes([everyone], 3) == [
        (re_ga, "the US-Japan-EU table's"),
        (li_gr, "the US-Mexico table's"),
    ]
    # a track that has not sat yet is not reconciled; the rest is the table's own
    later = own_tables((("rare_earths", "gallium"), (), ())).model_dump()
    later["agenda"]["tracks"][0].update(start_round=2, deadline_round=2)
    m = BlocModel(Scenario.model_validate(later), rng=0)
    us_japan_eu, us_mexico, everyone = m.config.agenda.tracks
    assert m._design_scopes([us_mexico], 1) == [(None, "")]
    assert m._design_scopes([us_mexico], 2) == [
        (re_ga, "the US-Japan-EU table's"),
        (li_gr, "the US-Mexico table's"),
    ]
    # shared minerals go with the earlier track at the all-party table
    shared = own_tables((("rare_earths", "graphite"), ("graphite", "lithium"), ())).model_dump()
    m = BlocModel(Scenario.model_validate(shared), rng=0)
    assert m._design_scopes([m.config.agenda.tracks[2]], 3) == [
        (frozenset({"rare_earths", "graphite"}), "the US-Japan-EU table's"),
        (frozenset({"lithium"}), "the US-Mexico table's"),
        (frozenset({"gallium"}), "the Plurilateral table's"),
    ]
    # one package of every floored mineral is every floor; no floor in a package, none
    every = own_tables((("lithium", "rare_earths", "graphite", "gallium"), (), ()))
    m = BlocModel(every, rng=0)
    assert m._design_scopes(list(m.config.agenda.tracks[:1]), 1) == [(None, "")]
    unfloored = own_tables((("nickel", "copper"), ("cobalt",), ()))
    m = BlocModel(unfloored, rng=0)
    assert m._design_scopes(list(m.config.agenda.tracks[:2]), 1) == []


def test_a_floor_that_binds_nobody_is_not_moved_for_nothing():
    """A graphite floor of $100 a tonne, far below the market price, binds nobody: lowering or
    raising it at the US-Mexico table (graphite its mineral) gives the same bloc, and the
    convener keeps it as it is rather than table a change worth nothing."""
    d = own_tables((("rare_earths", "gallium"), ("graphite",), ())).model_dump()
    d["policy"]["floors"]["graphite"] = 100.0
    m = BlocModel(Scenario.model_validate(d), rng=0)
    d = m.prepare_round().design
    assert dict(d.multiples) == {"rare_earths": 0.8, "gallium": 0.8}
    assert m.floors[m.minerals.index("graphite")] == 100.0


def test_which_floors_a_table_negotiates():
    """A table's minerals of interest that cover every floored mineral are every floor; minerals
    none of which has a floor leave it no floor to negotiate, and its invitees no floor to
    counter on."""
    m = BlocModel(own_tables(), rng=0)
    tracks = m.config.agenda.tracks
    assert m._table_scope(tracks[0]) == frozenset({"rare_earths", "gallium"})
    assert m._table_scope(tracks[2]) is None
    every = tracks[0].model_copy(update={"minerals": ("lithium", "rare_earths", "graphite",
                                                      "gallium", "copper")})  # fmt: skip
    assert m._table_scope(every) is None
    unfloored = tracks[0].model_copy(update={"minerals": ("nickel", "copper")})
    assert m._table_scope(unfloored) == frozenset()


def test_a_patient_producer_counters_on_its_tables_floors():
    """The patient Australia of `test_a_patient_country_extracts_better_terms_than_a_conceder_in_
    the_same_seat`, asked at an expansion table that negotiates lithium and the rare earths (the
    minerals its miners sell): it holds out, as there, and names the counter worth most to it
    among that table's floors, both 25% higher, which every member agrees to. The other floors
    stay as they were."""
    d = prized_australia("boulware").model_dump()
    d["agenda"]["tracks"][-1]["minerals"] = ["rare_earths", "lithium"]
    m = BlocModel(Scenario.model_validate(d), rng=0).run(6)
    before = dict(zip(m.minerals, m.floors.tolist()))
    m.run(7)
    text = m.events_df.query("actor == 'australia' and round == 7").text.iloc[0]
    assert text.startswith(
        "Australia counter-proposed the lithium and rare earths floors 25% higher and joined; "
        "European Union, Japan, Mexico and United States agreed (every member must agree)"
    )
    after = dict(zip(m.minerals, m.floors.tolist()))
    for k, f in before.items():
        assert after[k] == pytest.approx(f * (1.25 if k in ("rare_earths", "lithium") else 1.0))


def test_an_invitee_past_its_first_round_may_still_counter_on_its_tables_floors():
    """Past the round it was first invited (and any deadline), an invitee no longer re-opens the
    terms one by one, but may still ask for its table's floors lower or higher. Singapore, asked
    in round 4 at an all-party table that negotiates lithium and graphite, has those two
    counters (no member would take them: its joining costs each of them); the every-floor
    counters, which the round's packages hold, are not its table's and do not decide whether
    it may counter."""
    d = own_tables((("rare_earths", "gallium"), ("lithium", "graphite"),
                    ("lithium", "graphite")), designs=("floors",)).model_dump()  # fmt: skip
    m = BlocModel(Scenario.model_validate(d), rng=0).run(3)
    prep = m.prepare_round()
    assert prep.round == 4 and prep.invites["singapore"][0] == 2  # its second round asked
    assert prep.scopes["singapore"] == frozenset({"lithium", "graphite"})
    assert m._anyone_agrees(prep, "singapore")
    options = m._counter_options(prep, "singapore")
    words = "the lithium and natural graphite floors"
    assert [o.label for o in options] == [f"{words} 20% lower", f"{words} 25% higher"]
    assert not any(o.agreed for o in options)
    assert prep.views["singapore"].best_counter(-math.inf) is None


def test_mineral_names_read_as_in_a_sentence():
    """Counters and tabled packages name minerals in the middle of a sentence: "the natural
    graphite floor", while a name whose first word has capitals of its own keeps them."""
    from negotiation.engine.model import _in_sentence

    assert _in_sentence("Natural graphite") == "natural graphite"
    assert _in_sentence("Gallium") == "gallium"
    for name in ("NdPr oxide", "PGMs", "LiOH", "REE concentrate"):
        assert _in_sentence(name) == name


def eu_in_at_own_tables() -> dict:
    """The calm ministerial world with the EU already in, an EU-Mexico table the EU convenes,
    and tables with their own minerals (rare earths and gallium at the US-Japan-EU table,
    lithium and graphite at the EU-Mexico one), each convener designing its floors and whom to
    invite, weighing its partners at a quarter of itself."""
    d = calm("ministerial-2026")
    d["policy"]["initial_members"] = ["us", "eu"]
    tracks = d["agenda"]["tracks"]
    tracks[1].update(parties=["eu", "mexico"], convener="eu", name="EU-Mexico")
    for t, minerals in zip(tracks, (("rare_earths", "gallium"), ("lithium", "graphite"), ())):
        t["designs"], t["partner_weight"], t["minerals"] = ["floors", "invitees"], 0.25, minerals
    return d


def test_a_package_refused_for_whom_it_invites_is_told_so():
    """With the EU already in, the United States would rather table the rare-earth and gallium
    floors 20% lower with Japan invited, but the EU would refuse Japan's joining on them
    (unanimity): it tables the same floors inviting nobody, and the narrative says it would
    rather have invited Japan on the same terms, not that Japan's joining would not serve it."""
    m = BlocModel(Scenario.model_validate(eu_in_at_own_tables()), rng=0)
    m.step()
    text = m.events_df.query("actor == 'us' and kind == 'tabled'").text.iloc[0]
    assert text.startswith(
        "United States tabled the rare earths and gallium floors 20% lower (the US-Japan-EU "
        "table's) at the US-Japan-EU table, expecting nobody to accept"
    )
    assert (
        "it would rather have tabled the same terms inviting Japan, which European Union would "
        "refuse (every member must agree)" in text
    )
    assert "it did not invite Japan" not in text


# ----------------------------------------------------------------------------------------------
# A person who tables the package


def person_convener(**changes) -> BlocModel:
    """The calm ministerial world with the United States, the convener, played by a person."""
    d = calm("ministerial-2026", **changes)
    d["actors"]["us"]["strategy"] = "human"
    return BlocModel(Scenario.model_validate(d), rng=0)


def test_a_person_at_the_conveners_seat_tables_terms_answered_as_if_the_scenario_had_set_them():
    """A person in the United States' seat doubles the 5% penalty in round 1, before anyone
    answers: the invitees answer on 10%, as they would if the scenario had set it (the round
    cleared again on it), and the round's records are the same but for the lever's change.
    Forecast first, the package meets what an agent convener would expect of it."""
    m = person_convener()
    assert m.tabling("us") == {
        "tables": ["US-Japan-EU", "US-Mexico"],
        "invitees": list(m.prepare_round().order),
        "tabled": False,
        "designs": SUGGESTED_DESIGNS,  # its tables list none: every term, for a suggestion
    }
    f = m.proposal_forecast("us", {"penalty": 0.1})
    agent = BlocModel(designing(["penalty"]), rng=0)
    agent.prepare_round()
    assert agent.penalty == pytest.approx(0.1)  # the agent convener tables the same 10%
    assert sorted(f["expected"]) == sorted(agent.prepare_round().design.expected)
    assert f["agreed"] and f["verdicts"] == {"us": True}  # alone in the bloc: nobody to ask
    assert f["words"] == "an outsider penalty of 10%"
    plain = person_convener(**{"policy.outsider_penalty": 0.1})
    m.propose("us", {"penalty": 0.1})
    asked, views = m.prepare_round().views, plain.prepare_round().views
    assert set(asked) == {*views, "us"}  # and the United States, asked whether it stays
    for a, view in views.items():
        assert asked[a].package.penalty == pytest.approx(0.1)
        for s, gain in view.gains.items():
            assert asked[a].gains[s].total == pytest.approx(gain.total, rel=1e-9), (a, s)
    for run in (m, plain):
        run.submit("us", Decision(Action.ACCEPT, Reason({})))
        run.play()
    assert m.members == plain.members == {"us", "japan", "eu", "mexico"}
    same_first_round(m, plain)
    assert m.events_df.query("kind == 'tabled'").text.tolist() == [
        "United States tabled an outsider penalty of 10% at the US-Japan-EU and US-Mexico "
        "tables, inviting European Union, Japan, Mexico and Singapore, expecting European "
        "Union, Japan and Mexico to accept"
    ]
    assert m.levers.log[0]["lever"] == "penalty" and m.levers.log[0]["round"] == 1


def levers_of(m: BlocModel) -> dict:
    """The terms in force: what a tabled package may change."""
    return {"floors": m.floors.tolist(), "penalty": m.penalty, "instrument": m.instrument,
            "cost_sharing": m.cost_sharing, "partners": sorted(m.partners),
            "offtake_share": m.offtake_share}  # fmt: skip


def same_as_the_agent(d: dict, r: int = 1, seat: str = "us") -> dict:
    """In world `d`, what an agent at `seat` (a convener) tables in round `r` and what a
    person who takes the seat for round `r` is told an agent's design search would table
    (`BlocModel.suggestion`) and then tables: the terms in force after it, and whom the round
    then asks, in both; and the suggestion."""
    agent, person = (BlocModel(Scenario.model_validate(d), rng=0).run(r - 1) for _ in "ap")
    person.set_levers(strategies={seat: "human"})
    prep = person.prepare_round()

    def state() -> tuple:
        return (levers_of(person), {a: v.gains[1.0].total for a, v in prep.views.items()},
                person.rng.bit_generator.state, len(person.events_df), list(prep.order),
                dict(prep.invites), prep.scale, person._mandate.tolist(),
                dict(person._invitation_lists), dict(person._sponsor_lists))  # fmt: skip

    before = state()
    s = person.suggestion(seat)
    assert state() == before  # asking changes nothing
    person.propose(seat, s["terms"], s["invited"])
    asked = set(person.prepare_round().views) - {seat}
    tabled = set(agent.prepare_round().views) - {seat}  # (its design opens the round)
    return {"agent": (levers_of(agent), tabled), "person": (levers_of(person), asked),
            "suggestion": s, "run": agent}  # fmt: skip


def test_a_person_at_the_conveners_seat_is_told_what_an_agent_would_table_there():
    """The person in the United States' seat asks what an agent in it would table. Where its
    tables let the convener design every term, the answer is the agent convener's package to
    the letter: price-gap payments, every floor 25% higher, a 10% penalty and offtake from
    Japan's producers, inviting the EU alone, the bloc it expects worth +$152m a year to the
    United States; tabled, the terms and whom the round asks are the agent's. Where its tables
    list no terms to design (the Ministerial's), it is told the same package (every term),
    though an agent there would table the terms in force. Asking changes nothing."""
    d = designing(list(SUGGESTED_DESIGNS)).model_dump()
    out = same_as_the_agent(d)
    assert out["person"] == out["agent"]
    s = out["suggestion"]
    assert s["designs"] == SUGGESTED_DESIGNS and s["agreed"] and s["expected"] == ["eu"]
    assert s["terms"]["instrument"] == "price_gap" and s["terms"]["penalty"] == pytest.approx(0.1)
    assert s["terms"]["partners"] == ["japan"] and s["invited"] == ["eu"]
    assert s["terms"]["floors"]["rare_earths"] == pytest.approx(1.25 * 110_000)
    assert money(s["values"]["us"]) == "+$152m"
    tabled = out["run"].events_df.query("kind == 'tabled'").text.iloc[0]
    assert "the bloc it expects is worth +$152m a year to it" in tabled
    plain = person_convener()
    told = plain.suggestion("us")
    assert told["terms"] == s["terms"] and told["invited"] == s["invited"]
    assert plain.tabling("us")["designs"] == SUGGESTED_DESIGNS
    # the terms a caller names: the floors alone, whom it invites kept
    floors = plain.suggestion("us", designs=["floors"])
    assert set(floors["terms"]) <= {"floors"} and floors["designs"] == ("floors",)
    assert floors["invited"] == plain.tabling("us")["invitees"]
    with pytest.raises(ValueError, match="designs are among"):
        plain.suggestion("us", designs=["floors", "partners"])
    with pytest.raises(ValueError, match="tables no package"):
        plain.suggestion("japan")
    plain.propose("us", told["terms"], told["invited"])
    with pytest.raises(ValueError, match="has tabled a package this round already"):
        plain.suggestion("us")


def test_the_suggestion_follows_the_tables_design_its_partners_and_what_members_refuse():
    """With the EU already in and the tables' own minerals (the US designs their floors and
    whom to invite, weighing its partners at a quarter of itself), the agent convener tables
    the rare-earth and gallium floors 20% lower inviting nobody: it would rather invite Japan
    on them, but the EU would refuse. The person is told the same, with that reason; and in
    the convener-designs scenario, with its luck, in round 3 (the all-party table's first
    design: every floor 25% higher), the suggestion is again the agent's package."""
    out = same_as_the_agent(eu_in_at_own_tables())
    assert out["person"] == out["agent"]
    s = out["suggestion"]
    assert s["designs"] == ("floors", "invitees") and s["invited"] == []
    assert s["rather"] == (
        "the same terms inviting Japan, which European Union would refuse (every member must agree)"
    )
    assert s["terms"]["floors"]["gallium"] == pytest.approx(0.8 * 250_000)
    later = same_as_the_agent(load_scenario("convener-designs").model_dump(), r=3)
    assert later["person"] == later["agent"]
    # (every floor 20% lower in round 1, then 25% higher at the Plurilateral table)
    floors = later["suggestion"]["terms"]["floors"]
    assert floors["rare_earths"] == pytest.approx(110_000 * 0.8 * 1.25)


def test_the_suggestion_weighs_what_the_agent_would_and_says_when_it_would_not_design():
    """The suggestion is the agent's design wherever an agent in the seat designs: where only
    the seat's third table (the Plurilateral, from round 3) designs the floors, in round 3;
    and where the United States' design (weighing its partners) has kept Japan invited, the
    EU, convening its own table with Japan and Singapore, leaves Japan invited as its agent
    would (an invitation another convener decided this round), inviting Mexico, whose
    accession it sponsors, not Singapore; where the seat's tables design on different
    calendars, those that design this round are the suggestion's. In a round where an agent
    would not design (round 2), the suggestion is still the design search's, and says so."""
    d = calm("ministerial-2026")
    d["agenda"]["tracks"][2]["designs"] = ["floors"]
    out = same_as_the_agent(d, r=3)
    assert out["person"] == out["agent"] and out["suggestion"]["agent_designs"]
    assert out["suggestion"]["designs"] == ("floors",)
    two = person_convener(**{"agenda.tracks": d["agenda"]["tracks"]})
    two.play(force=True)
    assert two.suggestion("us")["agent_designs"] is False  # round 2: nobody designs
    d = calm("ministerial-2026")
    d["policy"]["initial_members"] = ["us", "eu"]
    us, eu = d["agenda"]["tracks"][:2]
    us.update(designs=["invitees"], partner_weight=0.25, deadline_round=None)
    eu.update(name="EU-Japan-Singapore", convener="eu", parties=["eu", "japan", "singapore"],
              deadline_round=2, designs=["invitees"])  # fmt: skip
    out = same_as_the_agent(d, seat="eu")
    assert out["person"] == out["agent"]
    s = out["suggestion"]
    assert s["invited"] == ["mexico", "japan"] and s["agent_designs"] and not s["terms"]
    assert s["summary"] == "the floors in force"
    # the exception the ODD states: a person at the United States' seat is passed over, so the
    # EU designs first and leaves Japan out; an agent there would have decided Japan first
    out = same_as_the_agent(d, seat="us")
    assert out["suggestion"]["agent_designs"] and out["suggestion"]["invited"] == []
    assert "japan" in out["agent"][1] and "japan" not in out["person"][1]
    # the seat's tables on different calendars: in round 7 of convener-designs (counting
    # its own money at the two bilateral tables) only they design, and the Plurilateral's
    # invitees stay as they are, as the agent leaves them
    d = calm("convener-designs")
    for t in d["agenda"]["tracks"][:2]:
        t["partner_weight"] = 0.0
    out = same_as_the_agent(d, r=7)
    assert out["person"] == out["agent"] and out["suggestion"]["agent_designs"]
    assert "singapore" in out["agent"][1]


def test_a_persons_tabling_fixes_the_mandate_of_a_floor_the_scenario_did_not_set():
    """A nickel floor set by a lever (the scenario sets none) has no mandate until a package is
    designed or tabled by a person: then the floor in force is its mandate, so suggestions
    tabled round after round cannot ratchet it beyond the agenda's band."""
    m = person_convener()
    m.set_levers(floors={"nickel": 16_000.0})
    j = m.minerals.index("nickel")
    m.prepare_round()
    assert m.floors[j] == 16_000.0 and m._mandate[j] == 0.0
    m.propose("us", {"floors": {"nickel": 20_000.0}})
    assert m.floors[j] == 20_000.0 and m._mandate[j] == 16_000.0


def test_a_package_the_members_refuse_changes_nothing():
    """In a bloc of four at a 40% penalty, the person in the United States' seat halves it.
    It would serve the United States, but it costs the other members (Mexico's copper miners
    sell into the bloc behind the penalty): the forecast says so before it is tabled, under
    unanimity they refuse, and the run is the run where the person tabled nothing, record for
    record, but for the event that tells it. Where the convener decides, it is halved."""
    four = {"policy.initial_members": ["us", "japan", "eu", "mexico"],
            "policy.outsider_penalty": 0.4}  # fmt: skip

    def run(terms, agreement="unanimity"):
        m = person_convener(**four, **{"agenda.agreement": agreement})
        f = m.propose("us", terms) if terms else None
        m.submit("us", Decision(Action.ACCEPT, Reason({})))
        m.play()
        while m.round < 6:
            m.play(force=True)
        return m, f

    (tabled, f), (plain, _) = run({"penalty": 0.2}), run(None)
    assert f["values"]["us"] > 0 and not f["agreed"]
    assert f["verdicts"] == {"eu": False, "japan": False, "mexico": False, "us": True}
    assert tabled.penalty == pytest.approx(0.4)
    pd.testing.assert_frame_equal(tabled.rounds_df, plain.rounds_df)
    pd.testing.assert_frame_equal(tabled.actors_df, plain.actors_df)
    events = tabled.events_df.query("kind != 'tabled'").reset_index(drop=True)
    pd.testing.assert_frame_equal(events, plain.events_df)
    assert tabled.events_df.query("kind == 'tabled'").text.tolist() == [
        "United States tabled an outsider penalty of 20% at the US-Japan-EU and US-Mexico "
        "tables; European Union, Japan and Mexico refused (every member must agree), so the "
        "package stays as it was"
    ]
    ruled, g = run({"penalty": 0.2}, "convener")
    assert g["agreed"] and ruled.levers.log[0]["lever"] == "penalty"
    assert ruled.levers.log[0]["round"] == 1


def test_those_a_person_leaves_out_are_not_asked_and_those_who_answered_answer_again():
    """People in the United States' and Japan's seats. Japan accepts the package on the table;
    then the United States tables a 10% penalty to Japan and the EU alone: Japan must answer
    again (the package it accepted is no longer on the table), Mexico and Singapore are not
    asked this round, and they are asked again the next."""
    d = calm("ministerial-2026")
    d["actors"]["us"]["strategy"] = d["actors"]["japan"]["strategy"] = "human"
    m = BlocModel(Scenario.model_validate(d), rng=0)
    m.submit("japan", Decision(Action.ACCEPT, Reason({})))
    assert m.awaiting() == ["us"]
    m.propose("us", {"penalty": 0.1}, invited=["eu", "japan"])
    assert sorted(m.awaiting()) == ["japan", "us"]
    assert set(m.prepare_round().views) == {"eu", "japan", "us"}
    text = m.events_df.query("kind == 'tabled'").text.iloc[0]
    assert "inviting European Union and Japan (not Mexico and Singapore)" in text
    with pytest.raises(ValueError, match="tabled a package this round already"):
        m.propose("us", {"penalty": 0.2})
    m.submit("japan", Decision(Action.ACCEPT, Reason({})))
    m.submit("us", Decision(Action.ACCEPT, Reason({})))
    m.play()
    row = m.actors_df.query("round == 1").set_index("actor").decision
    assert row["japan"] == "accept" and row["mexico"] != "accept"
    assert {"mexico", "singapore"} <= set(m.prepare_round().invites)  # asked again in round 2
    assert m.tabling("us")["tabled"] is False


def test_only_the_seat_that_tables_the_package_may_table_it_and_asking_changes_nothing():
    """The forecast is a query; a seat that tables nothing (Japan), an agent's seat, an unknown
    term and a country the round does not ask are refused in words."""
    m = person_convener()
    before = m.prepare_round().views["japan"].gains[1.0].total
    m.proposal_forecast("us", {"floors": {"rare_earths": 0.0}, "penalty": 0.3})
    assert m.prepare_round().views["japan"].gains[1.0].total == before
    assert m.penalty == 0.05 and not m.levers.log and m.events_df.empty
    assert m.tabling("japan") is None
    assert BlocModel(rng=0).tabling("us") is None  # an agent plays the United States
    with pytest.raises(ValueError, match="tables no package"):
        m.propose("japan", {"penalty": 0.1})
    with pytest.raises(ValueError, match="not tariff"):
        m.proposal_forecast("us", {"tariff": 0.1})
    with pytest.raises(ValueError, match="not china"):
        m.proposal_forecast("us", invited=["japan", "china"])
    with pytest.raises(ValueError, match="penalty"):
        m.proposal_forecast("us", {"penalty": 5.0})
    same = m.proposal_forecast("us", {"penalty": 0.05, "floors": {"rare_earths": 110000.0}})
    assert same["words"] == "the terms in force" and same["agreed"]


def test_a_person_at_the_conveners_seat_may_table_a_partner_s_own_contract_share():
    """With Singapore the bloc's only offtake partner, a quarter of its output under its own
    contract is forecast as a quarter for every partner is (the same expectation, values and
    verdicts), told by name; tabled and agreed, it is in force from the round, and a table
    without it is told as taking Singapore back to the partners' share. The table in force is
    the terms in force; a table naming no country is refused."""
    m = person_convener(**{"policy.partners": ["singapore"]})
    own = m.proposal_forecast("us", {"offtake_shares": {"singapore": 0.25}})
    common = m.proposal_forecast("us", {"offtake_share": 0.25})
    assert own["words"] == "a quarter of Singapore's output under contract"
    assert {k: v for k, v in own.items() if k != "words"} == {
        k: v for k, v in common.items() if k != "words"
    }
    assert m.proposal_forecast("us", {"offtake_shares": {}})["words"] == "the terms in force"
    assert own["agreed"]
    m.propose("us", {"offtake_shares": {"singapore": 0.25}})
    assert m.offtake_shares == {"singapore": 0.25}
    assert m.partner_mask[m.index["singapore"]] == 0.25
    back = m.proposal_forecast("us", {"offtake_shares": {}})["words"]
    assert back == "Singapore back to the partners' share (all)"
    with pytest.raises(ValueError, match="offtake_shares"):
        m.proposal_forecast("us", {"offtake_shares": {"atlantis": 0.5}})


def test_on_new_terms_a_member_answers_again_and_on_a_shorter_list_nobody_does():
    """People in the United States' and Japan's seats, both members. Japan says it stays; new
    terms from the United States (a 40% penalty) change what staying is worth, so Japan must
    answer again. Tabling the terms in force to fewer invitees changes nothing for those still
    asked: their answers stand."""
    d = calm("ministerial-2026", **{"policy.initial_members": ["us", "japan"]})
    d["actors"]["us"]["strategy"] = d["actors"]["japan"]["strategy"] = "human"
    d["actors"]["eu"]["strategy"] = "human"
    m = BlocModel(Scenario.model_validate(d), rng=0)
    stay = Decision(Action.ACCEPT, Reason({}))
    m.submit("japan", stay)
    was = m.prepare_round().views["japan"].gains[1.0].total
    m.propose("us", {"penalty": 0.4})
    assert "japan" in m.awaiting()
    assert m.prepare_round().views["japan"].gains[1.0].total != pytest.approx(was)
    fewer = BlocModel(Scenario.model_validate(d), rng=0)
    fewer.submit("japan", stay)
    fewer.submit("eu", stay)
    f = fewer.propose("us", {}, invited=["eu"])
    assert f["changes"] is False and f["verdicts"] == {"us": True}
    assert fewer.awaiting() == ["us"]  # Japan's and the EU's answers stand
    assert fewer.prepare_round().left_out == {"mexico": "us", "singapore": "us"}
    assert fewer.invitation_outlook("mexico")["why"] == "tabled"


def a_person_and_an_agent_convene(members: list[str], agreement: str) -> Scenario:
    """The ministerial world with its luck (the pipeline counts in round 1), `members` in the
    bloc, and two tables: the United States (an agent) designs the floors at one, with the EU
    and Mexico; Japan, played by a person, convenes the other, with Singapore and the EU."""
    d = load_scenario("ministerial-2026").model_dump()
    d["policy"]["initial_members"] = members
    d["agenda"] |= {"open_accession": False, "agreement": agreement}
    d["agenda"]["tracks"] = [
        {"name": "A", "parties": ["us", "eu", "mexico"], "convener": "us", "designs": ["floors"]},
        {"name": "B", "parties": ["japan", "singapore", "eu"], "convener": "japan"},
    ]
    d["actors"]["japan"]["strategy"] = "human"
    return Scenario.model_validate(d)


def test_a_person_forecasts_on_the_floors_another_convener_tabled_this_round():
    """Two tables sit in round 1, where each convener's word decides: at one the United States
    (an agent) designs the floors and tables them 20% lower; at the other Japan, played by a
    person, tables a 10% penalty. Its forecast is made on the lower floors, cleared anew (as the
    package it then tables is): the forecast before tabling is the one the package is decided
    on."""
    sc = a_person_and_an_agent_convene(["us", "japan"], "convener")
    m = BlocModel(sc, rng=0)
    assert m.prepare_round().scale == 0.8  # the United States' floors, not yet cleared
    before = m.proposal_forecast("japan", {"penalty": 0.1})
    decided = m.propose("japan", {"penalty": 0.1})
    for key in ("invitees", "values"):
        assert before[key] == pytest.approx(decided[key], rel=1e-12), key
    assert before["verdicts"] == decided["verdicts"]
    # Where the convener's word decides, a package the others refuse still carries, and says so.
    m = BlocModel(sc, rng=0)
    f = m.propose("japan", {"penalty": 0.5})
    assert f["agreed"] and f["verdicts"] == {"japan": True, "us": False}
    assert (
        m.events_df.query("kind == 'tabled' and actor == 'japan'")
        .text.iloc[0]
        .endswith("; United States refused (the member who tabled the package decides)")
    )


def test_a_refused_package_leaves_the_round_as_it_was():
    """In a bloc of three deciding by majority, the United States (an agent) tables every floor
    20% lower at its table; Japan, a person, then tables a 50% penalty at its own and the
    United States and Singapore refuse it: nothing in the open round changes, not the views
    the invitees answer on nor what a counter is forecast to be worth."""
    m = BlocModel(a_person_and_an_agent_convene(["us", "japan", "singapore"], "majority"), rng=0)
    prep = m.prepare_round()
    assert prep.scale == 0.8

    def seen():
        views = m.prepare_round().views
        gains = {a: {s: r.total for s, r in v.gains.items()} for a, v in views.items()}
        counters = {o.label: o.gain.total for o in views["eu"].counter_options()}
        return gains, counters, m.counter_forecast("eu", scale=0.8)["gain"]

    before = seen()
    f = m.propose("japan", {"penalty": 0.5})
    assert not f["agreed"] and f["verdicts"] == {"japan": True, "singapore": False, "us": False}
    assert m.prepare_round().scale == 0.8 and seen() == before


def test_a_later_sweep_weighs_no_key_under_the_border_tariff():
    """The later sweeps weigh what the first one would: moving from price-gap payments to the
    border tariff, a convener that chose to share the cost equally weighs the tariff without a
    key (under the tariff outsiders and the members' buyers pay the floor, and there is no bill
    to share), and with no penalty it weighs no offtake on a stockpile, which buys on the world
    market."""
    changes = {"policy.instrument": "price_gap", "policy.outsider_penalty": 0.0}
    sc = designing(["instrument", "sharing", "offtake"], **changes)
    m = BlocModel(sc, rng=0)
    prep = m.prepare_round()
    chosen = Terms(sharing="equal", offtake=frozenset({"mexico"}))
    moves = m._design_moves("instrument", chosen, prep, (1.0,))
    border = [c for c in moves if c.instrument == "border"]
    stockpile = [c for c in moves if c.instrument == "stockpile"]
    assert border and all(c.sharing == "" for c in border)
    assert all(c.offtake == {"mexico"} for c in border)  # a floor at the border: offtake counts
    assert stockpile and all(c.offtake is None and c.sharing == "equal" for c in stockpile)

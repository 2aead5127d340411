"""The bargaining space of the package on the table (negotiation/experiments/bargaining_space.py): a
query that changes nothing, its Pareto flags and Nash point checked by brute force, and the answer
in a world of identical countries, where symmetry tells it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from negotiation import BlocModel, load_scenario
from negotiation.engine.scenario import scenario_to_dict, validate
from negotiation.experiments.bargaining_space import TOLERANCE, bargaining_space, table_minerals

SCENARIO = "ministerial-2026"


def _played(rounds: int, seed: int = 0) -> BlocModel:
    return BlocModel(SCENARIO, rng=seed).run(rounds)


def _rng_states(m: BlocModel) -> tuple:
    return tuple(g.bit_generator.state for g in (m.rng, m._world_rng, m._belief_rng))


def _symmetric_club(initial: list[str]) -> BlocModel:
    data = scenario_to_dict(load_scenario("scenarios/validation/symmetric-club.toml"))
    data["policy"]["initial_members"] = initial
    return BlocModel(validate(data, "symmetric club"), rng=0)


def _utilities(df: pd.DataFrame) -> np.ndarray:
    return df[[f"utility_{a}" for a in df.attrs["parties"]]].to_numpy()


def _gains(df: pd.DataFrame) -> np.ndarray:
    return df[[f"gain_{a}" for a in df.attrs["parties"]]].to_numpy()


def test_the_table_is_a_query_the_run_goes_on_as_if_nobody_had_asked():
    asked, fresh = _played(3), _played(3)
    before = (asked.rounds_df, asked.actors_df, asked.events_df, _rng_states(asked))
    levers = (asked.floors.copy(), asked.penalty, asked.members, asked.levers.pending.copy())
    df = bargaining_space(asked)
    assert len(df) > 50
    pd.testing.assert_frame_equal(asked.rounds_df, before[0])
    pd.testing.assert_frame_equal(asked.actors_df, before[1])
    pd.testing.assert_frame_equal(asked.events_df, before[2])
    assert _rng_states(asked) == before[3]
    assert (asked.floors == levers[0]).all() and asked.penalty == levers[1]
    assert asked.members == levers[2] and asked.levers.pending == levers[3]
    asked.run(4)
    fresh.run(4)
    pd.testing.assert_frame_equal(asked.rounds_df, fresh.rounds_df)
    pd.testing.assert_frame_equal(asked.actors_df, fresh.actors_df)


def test_at_round_0_the_status_quo_is_the_opening_record():
    m = BlocModel(SCENARIO, rng=0)
    df = bargaining_space(m, scales=(0.8, 1.0), penalties=(0.0,))
    record = m.actors_df.set_index("actor")["utility"]
    (quo,) = df.index[df["status_quo"]]
    for a in df.attrs["parties"]:
        assert df.at[quo, f"utility_{a}"] == pytest.approx(record[a], rel=1e-9)
        assert df.at[quo, f"gain_{a}"] == 0.0
    assert df.attrs["round"] == 0 and not df["agreed"].any()  # nothing tabled yet
    # the table round 1 opens with: the bloc as it is and every invitee in, at the levers in force
    (table,) = df.index[df["on_table"]]
    invited = set(m.invitations(1))
    assert set(df.at[table, "members"].split("+")) == set(m.members) | invited
    assert df.at[table, "floor_scale"] == 1.0 and df.at[table, "penalty"] == m.penalty
    assert set(df.attrs["parties"]) == set(m.members) | invited
    assert m.supplier_id not in df.attrs["parties"]  # the supplier is not a party to the bargain


def test_the_proposal_and_the_agreement_are_those_of_the_round_played():
    m = _played(1)
    t = m.last_table
    assert t is not None and t.round == 1
    df = bargaining_space(m)
    (table,) = df.index[df["on_table"]]
    (agreed,) = df.index[df["agreed"]]
    assert set(df.at[table, "members"].split("+")) == set(t.members) | set(t.invitees)
    assert df.at[agreed, "members"] == m.rounds_df["members"].iloc[-1]  # the round's bloc
    assert df.at[agreed, "penalty"] == m.rounds_df["penalty"].iloc[-1]
    assert df.attrs["convener"] in df.attrs["parties"]


def test_pareto_flags_match_a_brute_force_check():
    """An alternative is efficient when no other gives every party at least as much and some
    party more (within the model's rounding tolerance, a billionth of the party's stake)."""
    m = _played(3)
    df = bargaining_space(m)
    u = _utilities(df).tolist()
    eps = [TOLERANCE * m.stake[a] for a in df.attrs["parties"]]
    expected = []
    for i, ui in enumerate(u):
        dominated = False
        for j, uj in enumerate(u):
            if j == i:
                continue
            if all(b >= a - e for a, b, e in zip(ui, uj, eps)) and any(
                b > a + e for a, b, e in zip(ui, uj, eps)
            ):
                dominated = True
                break
        expected.append(not dominated)
    assert df["pareto"].tolist() == expected
    assert 0 < sum(expected) < len(expected)


@pytest.mark.parametrize("where", ["symmetric", "ministerial"])
def test_the_nash_point_is_the_largest_product_of_gains_where_everyone_gains(where):
    if where == "symmetric":
        m = _symmetric_club(["c1", "c2", "c3", "c4", "c5", "c6"])
    else:
        m = _played(3)
    df = bargaining_space(m)
    eps = [TOLERANCE * m.stake[a] for a in df.attrs["parties"]]
    best, best_product = None, -math.inf
    for k, g in enumerate(_gains(df).tolist()):
        if all(x > e for x, e in zip(g, eps)):
            p = math.prod(g)
            assert df["nash_product"].iloc[k] == pytest.approx(p, rel=1e-9)
            if p > best_product:
                best, best_product = k, p
        else:
            assert math.isnan(df["nash_product"].iloc[k]) and not df["all_gain"].iloc[k]
    assert df.attrs["nash"] == best
    assert df["nash"].tolist() == [k == best for k in range(len(df))]
    if best is not None:
        assert df["pareto"].iloc[best]  # the Nash point is efficient
    if where == "symmetric":
        assert best is not None


def test_identical_countries_share_the_gains_of_the_nash_point_equally():
    """Six identical countries are in the bloc; two more, identical to them, are invited. Each
    alternative is a floor, a penalty on outsiders and which of the two newcomers come in; the
    no-deal point is the bloc of six with the floor and penalty on the table.

    Nothing in the world tells the two newcomers apart, so the menu looks the same from either
    side: swap their names and every alternative becomes another one on the list. So the best
    deals (the Pareto frontier) come in mirror pairs, and the Nash bargaining point, the deal
    that makes the product of everyone's gains largest among those where everyone gains, treats
    them alike: both come in and gain the same, and the six members, alike among themselves,
    gain the same as each other. Letting one newcomer in alone is worse for the one left out,
    which pays the outsider penalty."""
    m = _symmetric_club(["c1", "c2", "c3", "c4", "c5", "c6"])
    df = bargaining_space(m)
    assert df.attrs["parties"] == [f"c{i}" for i in range(1, 9)]
    g = _gains(df)
    # the six members gain alike in every alternative
    assert np.allclose(g[:, :6], g[:, :1], rtol=1e-9, atol=1.0)
    # the mirror of every efficient alternative is efficient too
    key = {(r.joining, r.floor_scale, r.penalty): r.pareto for r in df.itertuples()}
    swap = {"c7": "c8", "c8": "c7", "": "", "c7+c8": "c7+c8"}
    for (joining, s, p), efficient in key.items():
        assert key[(swap[joining], s, p)] == efficient
    nash = df.attrs["nash"]
    assert nash is not None
    row = df.iloc[nash]
    assert row["joining"] == "c7+c8"
    assert row["gain_c7"] == pytest.approx(row["gain_c8"], rel=1e-9)
    assert row["gain_c7"] > 0 and row["gain_c1"] > 0


def test_everyone_in_from_the_start_the_nash_point_is_the_best_common_gain():
    """All eight identical countries are members and nobody is invited: every alternative (a
    floor and a penalty) treats them alike, so they agree on how to rank the alternatives. The
    bargaining problem shrinks to a line: the efficient alternatives are those best for all, and
    the Nash point is one of them."""
    m = _symmetric_club([f"c{i}" for i in range(1, 9)])
    df = bargaining_space(m)
    g = _gains(df)
    assert np.allclose(g, g[:, :1], rtol=1e-9, atol=1.0)
    common = g[:, 0]
    top = common.max()
    eps = TOLERANCE * m.stake["c1"]
    assert df["pareto"].tolist() == (common >= top - eps).tolist()
    assert df.attrs["nash"] is not None and common[df.attrs["nash"]] == top


def test_a_tables_own_floors_are_the_ones_laid_out():
    """For a table with its own minerals of interest (Mexico's lithium and graphite), the
    alternatives scale those floors alone: every other floor is as proposed in every row, and
    the rows at the proposed floors are the every-floor layout's. An unknown mineral is refused
    in words."""
    m = BlocModel(SCENARIO, rng=0)
    own = bargaining_space(m, minerals=["lithium", "graphite"], penalties=(0.05,))
    every = bargaining_space(m, penalties=(0.05,))
    assert own.attrs["minerals"] == ["lithium", "graphite"] and every.attrs["minerals"] is None
    # the same alternatives at the proposed floors, and the same status quo
    at = own.floor_scale == 1.0
    np.testing.assert_allclose(
        _utilities(own[at]), _utilities(every[every.floor_scale == 1.0]), rtol=1e-12
    )
    assert own.attrs["disagreement"] == every.attrs["disagreement"]
    # elsewhere, what moves is lithium's and graphite's floors only: cleared by hand
    row = own[(own.floor_scale == 0.6) & (own.joining == "")].iloc[0]
    floors = {x: f * (0.6 if x in ("lithium", "graphite") else 1.0)
              for x, f in zip(m.minerals, m.floors.tolist())}  # fmt: skip
    ev = m.evaluate([(m.members, 1.0, m.last_move, {"floors": floors, "penalty": 0.05})], 0)
    us = own.attrs["parties"].index("us")
    assert _utilities(own.loc[[row.name]])[0, us] == pytest.approx(ev.util[0, m.index["us"]])
    with pytest.raises(ValueError, match="lithum"):
        bargaining_space(m, minerals=["lithum"])


def _us_mexico(minerals: list[str]) -> BlocModel:
    """The US-Mexico scenario, its 60-day table negotiating the floors of `minerals` (Mexico
    the only invitee in round 1)."""
    return BlocModel(load_scenario("us-mexico-60-day", {"agenda.tracks.0.minerals": minerals}),
                     rng=0)  # fmt: skip


def test_the_floors_laid_out_are_those_the_tables_negotiated():
    """`table_minerals` names the floors the package on the table negotiated: Mexico, the only
    invitee, sits at a table of lithium and fluorspar, before round 1 is played and after; at a
    table of every mineral, or with the round's invitees at tables of different minerals (the
    US-Japan-EU table's rare earths and gallium, the US-Mexico table's lithium and graphite),
    every floor."""
    m = _us_mexico(["fluorspar", "lithium"])
    assert table_minerals(m) == ["lithium", "fluorspar"]  # round 1's table, in the model's order
    m.step()
    assert m.last_table.invitees == ("mexico",)
    assert m.last_table.scopes == (frozenset({"lithium", "fluorspar"}),)
    df = bargaining_space(m, minerals=table_minerals(m))
    assert df.attrs["minerals"] == ["lithium", "fluorspar"]
    assert df.attrs["floors_words"] == "the lithium and fluorspar floors"
    assert table_minerals(_us_mexico([])) is None
    # a table whose minerals of interest have no floor negotiates none: the floors stay as tabled
    copper = _us_mexico(["copper"])
    assert table_minerals(copper) == []
    df = bargaining_space(copper, minerals=[])
    assert set(df["floor_scale"]) == {1.0} and df.attrs["floors_words"] == "no floor"
    d = load_scenario(SCENARIO).model_dump()
    d["agenda"]["open_accession"] = False  # every invitee at a table of its own minerals
    tables = (["rare_earths", "gallium"], ["lithium", "graphite"], [])
    for t, minerals in zip(d["agenda"]["tracks"], tables, strict=True):
        t["minerals"] = minerals
    mixed = BlocModel(validate(d, "<test>"), rng=0)
    scopes = mixed.invitation_scopes(1)
    assert scopes["japan"] == frozenset({"rare_earths", "gallium"})
    assert scopes["mexico"] == frozenset({"lithium", "graphite"})
    assert table_minerals(mixed) is None
    mixed.step()
    assert table_minerals(mixed) is None

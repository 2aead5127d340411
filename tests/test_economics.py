"""The economics of the bloc, stated as a policy student would, on the calibrated default scenario
(ministerial-2026) unless a test says otherwise. Each test names what it holds the model to and
can fail: it compares two runs that differ in one thing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import numpy as np
import pytest

from negotiation import BlocModel, load_scenario
from negotiation.engine._kernels import capacity_kernel
from negotiation.engine.model import NORMAL
from negotiation.engine.payoffs import score
from negotiation.engine.projects import ProjectBook
from negotiation.engine.scenario import scenario_to_dict, validate
from negotiation.rules.types import COMPONENTS, SupplierAction, SupplierMove
from tests.reference_market import members_cut, stock_kept, stock_released, stock_used

DEFAULT = "ministerial-2026"
#: A calm world: no random outages, demand swings, surprises or forecast errors. A test of one
#: mechanism runs there, so that the two runs it compares differ in that mechanism alone.
CALM = {"uncertainty.enabled": False}


def scenario(**changes):
    """The default scenario with some tables changed (a dict of dotted paths to values)."""
    data = scenario_to_dict(load_scenario(DEFAULT))
    for path, value in changes.items():
        *head, last = path.split(".")
        node = data
        for key in head:
            node = node.setdefault(key, {})
        node[last] = value
    return validate(data, "test")


def component(model: BlocModel, ev, k: int, actor: str, name: str) -> float:
    return float(ev.comp[k, model.index[actor], COMPONENTS.index(name)])


# ---------------------------------------------------------------------------------------------
# Supply security comes from flows


def test_nothing_on_offer_means_no_bloc():
    """No floors, no penalty, no stockpile: joining changes no flow of minerals or money, so
    nobody joins the convener, and the first invitations are declined as empty."""
    m = BlocModel(
        DEFAULT, floors={m: 0.0 for m in load_scenario(DEFAULT).minerals}, penalty=0.0, rng=0
    )
    m.run()
    assert m.rounds_df["n_members"].max() <= 1
    assert not (m.events_df["kind"] == "joined").any()
    first = m.events_df[m.events_df["round"] == 1]
    declined = first[first["kind"] == "rejected"]["text"]
    assert declined.str.endswith("nothing changes either way").sum() == 4

    # The same package with the default floors and penalty draws members in.
    assert BlocModel(DEFAULT, rng=0).run(1).rounds_df["n_members"].iloc[-1] >= 3


def test_security_is_measured_the_same_way_in_and_out_of_the_bloc():
    """Where the package gives members' producers no reason to sell to members first (no floor
    or penalty binds), a country's dependence on the supplier is the same in and out, and so is
    its supply-security component; with the default floors and penalty, members' own producers
    supply members first and joining lowers a buyer's dependence."""
    empty = BlocModel(DEFAULT, floors={}, penalty=0.0)
    empty.levers.apply({"floors": {m: 0.0 for m in empty.minerals}}, log=False)
    specs = [(frozenset({"us"}), 1.0, empty.last_move), (frozenset({"us", "japan"}), 1.0,
                                                         empty.last_move)]  # fmt: skip
    ev = empty.evaluate(specs, 1)
    out, inn = (component(empty, ev, k, "japan", "supply_security") for k in (0, 1))
    assert inn == pytest.approx(out, rel=1e-12)

    floored = BlocModel(DEFAULT)
    ev = floored.evaluate(specs, 1)
    out, inn = (component(floored, ev, k, "japan", "supply_security") for k in (0, 1))
    assert inn > out  # less negative: a smaller cost of dependence inside
    assert float(ev.outcome.secured[1].sum()) > 0


def test_the_convener_is_a_net_importer_of_ndpr():
    """MP Materials separated about 1.3 kt of NdPr oxide in 2024 against some 5 kt of US use:
    the United States imports most of its NdPr, as its 80% net import reliance says."""
    us = load_scenario(DEFAULT).actors["us"]
    assert us.production["rare_earths"] < 0.5 * us.consumption["rare_earths"]
    # and in the model's markets: in the opening round the US buys more NdPr than it separates
    m = BlocModel(DEFAULT, rng=0)
    out, i, j = m.last_outcome, m.index["us"], m.minerals.index("rare_earths")
    assert out.consumption[0, i, j] > 2 * out.production[0, i, j] > 0


# ---------------------------------------------------------------------------------------------
# The penalty bites on outsiders, as in Nordhaus's clubs


def test_an_outsider_selling_into_the_bloc_loses_more_outside_as_the_penalty_rises():
    """Singapore re-exports covered goods into the bloc: outside it, every rise of the outsider
    penalty costs it more of that market (and costs the supplier more of its sales too)."""
    m = BlocModel(DEFAULT)
    bloc = frozenset({"us", "japan", "eu", "mexico"})
    losses = []
    for penalty in (0.0, 0.05, 0.2, 0.5, 1.0):
        ev = m.evaluate([(bloc, 1.0, m.last_move, {"penalty": penalty})], 1)
        losses.append(
            (
                component(m, ev, 0, "singapore", "market_access"),
                component(m, ev, 0, "supplier", "market_access"),
            )
        )
    for (sg_lo, sup_lo), (sg_hi, sup_hi) in zip(losses, losses[1:]):
        assert sg_hi < sg_lo and sup_hi < sup_lo
    assert losses[0] == (0.0, 0.0)  # no penalty, no loss


def test_participation_rises_with_the_penalty_past_a_threshold():
    """Nordhaus (2015) on the calibrated model, averaged over draws: with no penalty on
    outsiders the bloc does not hold together (fewer than half the five countries in, on
    average); a small penalty (1%) keeps three members or more on average, and at 10% the four
    that join stay nearly throughout. In a calm world the same: all four leave-proof from 1%."""
    mean = {}
    for penalty in (0.0, 0.01, 0.1):
        runs = [BlocModel(DEFAULT, penalty=penalty, rng=seed).run() for seed in range(4)]
        mean[penalty] = np.mean([m.rounds_df["n_members"].iloc[1:].mean() for m in runs])
    assert mean[0.0] < 2.5 and mean[0.01] >= 3
    assert mean[0.1] >= 3.8
    calm = {p: BlocModel(scenario(**CALM), penalty=p, rng=0).run().rounds_df["n_members"]
            for p in (0.0, 0.01)}  # fmt: skip
    assert calm[0.0].iloc[1:].mean() < 2 and (calm[0.01].iloc[1:] == 4).all()


# ---------------------------------------------------------------------------------------------
# The supplier's moves cost it and bite


def flood_run(flood: bool, floors: bool) -> BlocModel:
    changes = {"supplier.strategy": "passive", **CALM}
    if flood:  # a year and a half of rare earths dumped at 40% of the supplier's capacity
        changes["shocks"] = [
            {"kind": "flood", "mineral": "rare_earths", "start_round": 1, "duration": 18,
             "magnitude": 0.4}
        ]  # fmt: skip
    if not floors:
        changes["policy.floors"] = {}
        changes["policy.outsider_penalty"] = 0.0
    return BlocModel(scenario(**changes), rng=0).run()


@pytest.fixture(scope="module")
def floods():
    return {(f, fl): flood_run(f, fl) for f in (False, True) for fl in (False, True)}


def test_a_flood_costs_the_supplier_while_it_lasts(floods):
    """Selling below the price it would otherwise get: its producers earn less in every round
    of the flood."""
    for floors in (False, True):
        calm, flood = floods[False, floors], floods[True, floors]

        def earned(m: BlocModel):
            a = m.actors_df
            return a[a["actor"] == "supplier"].set_index("round").loc[1:18, "producer_surplus"]

        assert (earned(flood) < earned(calm)).all()


def test_a_flood_without_floors_leaves_the_supplier_a_larger_share_after_it(floods):
    """Rivals under their cash cost for over a year close (as Nickel West did in 2024); when the
    flood ends they are gone, the supplier's share stays higher and the price climbs above where
    it started: flood, crush, then raise prices (to the end of this three-year run: a restart
    takes longer, see the test after the next)."""
    calm, flood = floods[False, False], floods[True, False]
    end = lambda m, col: float(m.rounds_df[col].iloc[-1])  # noqa: E731
    assert end(flood, "supplier_share_rare_earths") > end(calm, "supplier_share_rare_earths") + 0.1
    assert end(flood, "world_price_rare_earths") > 1.5 * end(calm, "world_price_rare_earths")
    closures = flood.events_df[flood.events_df["kind"] == "closure"]["text"]
    assert closures.str.contains("Rare earths").any()
    assert not (calm.events_df["kind"] == "closure").any()
    # The world pays for it, and more once the rivals are gone: against a world with no flood
    # (where they stayed open), buyers at no table gain while it lasts and lose after.
    money = flood.rounds_df.set_index("round")
    during, after = money.loc[2:18], money.loc[20:]
    assert (during["world_money"] < 0).all() and (during["rest_of_world_buyers"] > 0).all()
    assert (after["rest_of_world_buyers"] < 0).all()
    assert after["world_money"].mean() < 2 * during["world_money"].mean()
    assert (calm.rounds_df["world_money"] == 0.0).all()  # no flood, no bloc: nothing to count


def test_floors_keep_members_producers_alive_through_a_flood(floods):
    """The United States' rare-earth separation survives the flood inside a bloc with a floor,
    and closes without one."""
    j = lambda m: (m.index["us"], m.minerals.index("rare_earths"))  # noqa: E731
    kept = floods[True, True].capacity[j(floods[True, True])]
    lost = floods[True, False].capacity[j(floods[True, False])]
    assert kept > 0.9 * load_scenario(DEFAULT).actors["us"].production["rare_earths"]
    assert lost < 0.5 * kept


def long_flood(**changes) -> BlocModel:
    """The flood above with no floors, run for six years, with some investment settings changed."""
    changes = {"supplier.strategy": "passive", **CALM, "time.rounds": 72, **changes}
    changes["shocks"] = [
        {"kind": "flood", "mineral": "rare_earths", "start_round": 1, "duration": 18,
         "magnitude": 0.4}
    ]  # fmt: skip
    changes["policy.floors"], changes["policy.outsider_penalty"] = {}, 0.0
    return BlocModel(scenario(**changes), rng=0).run()


@pytest.fixture(scope="module")
def reopening():
    # a restart that repays nothing short of ten times the margin never happens here
    return {"pays": long_flood(), "never": long_flood(**{"investment.restart_margin": 10.0})}


def test_rivals_a_flood_closed_come_back_once_prices_have_repaid_a_restart_for_a_year(reopening):
    """Reopening takes years and money. The rivals the flood closed keep their mines shut while
    the price stays more than twice as high; once prices have repaid a restart for more than a
    year they order them back, and the mines produce again only after the two-year investment lag.
    The supplier's larger share lasts those three years, then falls back to about where it
    started; were a restart never repaid, it would keep the share. The restarts are paid for:
    from the round the mines produce again, their producers pay a yearly capital charge, and
    the world's money stays that much below the world with no policy's, where they never
    closed."""
    pays, never = reopening["pays"], reopening["never"]
    events = pays.events_df[pays.events_df["text"].str.contains("Rare earths")]
    closed = events[events["kind"] == "closure"]
    restarted = events[events["kind"] == "restart"]
    assert set(closed["actor"]) == {"us", ""}  # the US's separation and the rest of the world's
    assert set(restarted["actor"]) == {"us", ""}
    sc = pays.config
    wait = sc.investment.restart_days / sc.time.round_days
    lag = round(sc.investment.lag_days / sc.time.round_days)
    back = int(restarted["round"].min())
    # prices repay a restart from the round after the flood (18) and a year of them is 12.2
    # rounds: the 13th such round orders the mines back, not before, not later
    j = pays.minerals.index("rare_earths")
    cost = max(pays.data.cost[pays.index["us"], j], pays.data.fringe_cost[j])  # the two rivals
    hurdle = pays.base_price[j] + sc.investment.restart_margin * cost
    assert (
        pays.rounds_df.set_index("round")["world_price_rare_earths"].loc[19:back] > hurdle
    ).all()
    assert back == 18 + int(wait) + 1
    assert not (never.events_df["kind"] == "restart").any()
    share = lambda m: m.rounds_df.set_index("round")["supplier_share_rare_earths"]  # noqa: E731
    price = lambda m: m.rounds_df.set_index("round")["world_price_rare_earths"]  # noqa: E731
    start, calibration = share(pays)[0], price(pays)[0]
    # until the restarted mines produce, the two worlds are the same: the supplier's share high
    # (ordered at round `back`'s close, they arrive `lag` rounds later and sell from the next)
    arrive = back + lag + 1
    np.testing.assert_allclose(share(pays).loc[: arrive - 1], share(never).loc[: arrive - 1])
    assert (share(pays).loc[20 : arrive - 1] > start + 0.15).all()
    assert (price(pays).loc[20 : arrive - 1] > 2 * calibration).all()
    # once they do, its share and the price fall back near where they started
    assert (share(pays).loc[arrive:] < start + 0.05).all()
    assert 0.9 < price(pays).iloc[-1] / calibration < 1  # a little below it: restarts overshoot
    # the world pays more after the flood than during it, until the restarted mines produce
    # (against the world with no policy, where they stayed open); then the restarts' capital:
    # from the round they produce the producers pay a yearly charge of the margin the restart
    # waited for (`restart_margin` times unit cost) on each tonne ordered back, written down
    # as the capacity retires. While the flood's orders arrive (from round 26, two years after
    # the first), the rivals that did not replace what retired have saved that capital.
    rounds = pays.rounds_df.set_index("round")
    money, charges = rounds["world_money"], rounds["capital_charges"]
    during, after, back_again = money.loc[2:18], money.loc[20 : arrive - 1], money.loc[arrive:]
    assert (during < 0).all() and after.mean() < 2 * during.mean()
    assert (charges.loc[:25] == 0).all() and (charges.loc[26 : arrive - 1] < 0).all()
    us = pays.actors_df.query("actor == 'us'").set_index("round")["capital_charge"]
    ordered = restarted.set_index("actor")["text"].str.extract(r"back ([\d,]+) t")[0]
    tonnes = {a: float(t.replace(",", "")) for a, t in ordered.items()}
    margin = sc.investment.restart_margin
    keep = 1 - sc.investment.retirement * sc.time.round_days / 365
    restart_us = margin * pays.data.cost[pays.index["us"], j] * tonnes["us"]
    restart_all = restart_us + margin * pays.data.fringe_cost[j] * tonnes[""]
    # the restarts arrive at once (with the round's other orders, a few percent more)
    jump_us = us.loc[arrive] - keep * us.loc[arrive - 1]
    assert restart_us * 0.999 < jump_us < restart_us * 1.05
    jump = charges.loc[arrive] - keep * charges.loc[arrive - 1]
    assert restart_all * 0.999 < jump < restart_all * 1.1
    # with them, the world's money is back near the world with no policy's, but for the charges
    assert -back_again.mean() > 0.5 * charges.loc[arrive:].mean()
    assert abs((back_again + charges.loc[arrive:]).mean()) < 0.1 * abs(after.mean())
    # a restart never repaid leaves the supplier its larger share and a higher price
    assert share(never).iloc[-1] > start + 0.15 and price(never).iloc[-1] > 1.5 * calibration


def test_the_capital_book_charges_what_was_ordered_from_the_round_it_produces():
    """The recorder's capital book on its own (`Recorder._charge`), in the default scenario
    (a two-year lag: 24 rounds). One round orders a restart of 100 t of the US's rare earths and
    investment beyond the replacement of what retires (Japan's nickel, 50 t) and below it (the
    rest of the world's lithium, 20 t short): nothing is charged until the capacity arrives, 24
    rounds later; then the restart's `restart_margin` times unit cost a tonne, the growth's normal
    margin times unit cost a tonne, and the capital not spent on lithium comes off; each round
    after, written down as capacity retires. A project built is charged at once (it produces
    from the next round)."""
    from types import SimpleNamespace

    from negotiation.engine.evaluator import Investment

    m = BlocModel(DEFAULT, rng=0)
    rec, A, M = m.recorder, len(m.actor_ids), len(m.minerals)
    lag = m.lag_rounds
    assert lag == 24
    world = SimpleNamespace(capital=np.zeros((A + 1, M)),
                            charge_pipeline=deque([np.zeros((A + 1, M))] * lag))  # fmt: skip
    installed = np.full((A + 1, M), 1_000.0)
    replace = m.config.investment.retirement * m.config.round_years
    us, jp, re, ni, li = (m.index["us"], m.index["japan"], m.minerals.index("rare_earths"),
                          m.minerals.index("nickel"), m.minerals.index("lithium"))  # fmt: skip
    restarted = np.zeros((A + 1, M))
    restarted[us, re] = 100.0
    beyond = np.zeros((A + 1, M))
    beyond[jp, ni], beyond[A, li] = 50.0, -20.0
    eu = m.index["eu"]
    assert m.base_margin[eu, li] < 0  # the EU's lithium loses money at the calibration's prices
    beyond[eu, li] = 30.0  # so more of it costs no capital beyond what it earns
    additions = replace * installed + restarted + beyond
    zero = np.zeros((A + 1, M))
    ordered = Investment(zero, additions, zero, zero, zero, restarted, zero, beyond)
    steady = Investment(zero, replace * installed, zero, zero, zero, zero, zero, zero)
    empty = ProjectBook.empty()
    rec._charge(world, ordered, empty, None)
    for _ in range(lag - 1):
        assert not world.capital.any()
        rec._charge(world, steady, empty, None)
    assert not world.capital.any()
    rec._charge(world, steady, empty, None)  # the 24th round's close: it arrives
    costs = np.vstack([m.data.cost, m.data.fringe_cost[None]])
    normal = np.maximum(m.base_margin, 0.0) * costs
    want = np.zeros((A + 1, M))
    want[us, re] = 100.0 * m.config.investment.restart_margin * costs[us, re]
    want[jp, ni] = 50.0 * normal[jp, ni]
    want[A, li] = -20.0 * normal[A, li]
    np.testing.assert_allclose(world.capital, want, rtol=1e-9, atol=1e-6)
    assert want[jp, ni] > 0 > want[A, li]
    rec._charge(world, steady, empty, None)
    keep = 1 - m.config.investment.retirement * m.config.round_years
    np.testing.assert_allclose(world.capital, want * keep, rtol=1e-9, atol=1e-6)
    book = sonora_book(m)
    rec._charge(world, steady, book, np.array([0]))
    assert world.capital[book.actor[0], book.mineral[0]] == pytest.approx(
        want[book.actor[0], book.mineral[0]] * keep**2 + book.capital[0]
    )


def sonora_book(m: BlocModel) -> ProjectBook:
    """A one-project book for Mexico's lithium (6,600 t at a charge of $128.7m a year)."""
    i = np.array([m.index["mexico"]])
    j = np.array([m.minerals.index("lithium")])
    z = np.zeros(1)
    return ProjectBook(("Sonora",), i, j, np.array([6_600.0]), np.array([84_500.0]),
                       np.array([128.7e6]), z, np.zeros(1, dtype=np.int64), z.copy(),
                       np.zeros(1, dtype=np.int64), np.full(1, -1, dtype=np.int64))  # fmt: skip


def test_capacity_both_worlds_restart_is_charged_alike_and_costs_the_world_nothing():
    """With no policy the world's money is zero whatever happens to the world. A deep slump in
    rare-earth demand (half of it gone for a year and a half) closes the US's separation and the
    rest of the world's in both worlds alike; both order it back when prices recover, and both
    pay the same capital charges for it: the restarts cost the producers money, and the world's
    money against the world with no policy stays zero."""
    changes = {**CALM, "supplier.strategy": "passive", "time.rounds": 72}
    changes |= {"policy.initial_members": [], "policy.floors": {}, "policy.outsider_penalty": 0.0}
    changes["shocks"] = [
        {"kind": "demand", "mineral": "rare_earths", "start_round": 1, "duration": 18,
         "magnitude": -0.5}
    ]  # fmt: skip
    m = BlocModel(scenario(**changes), rng=0).run()
    r = m.rounds_df
    assert set(m.events_df.query("kind == 'restart'")["actor"]) == {"us", ""}
    assert r["capital_charges"].max() > 100e6
    assert (r["world_money"] == 0.0).all() and (r["rest_of_world_producers"] == 0.0).all()
    assert np.array_equal(m.capital, m.no_policy.capital)


def restart_round(
    price: float, repaid: float, margin: float = 0.2, cost: float = 100.0, retirement: float = 0.0
) -> tuple[float, float]:
    """One producer (cost 100 and 150 at the calibration, a margin of 0.5, unless told) with
    1,000 t a year of capacity closed, at `price`, after `repaid` rounds of prices that repay a
    restart, when a restart waits for more than 12 rounds of them: (what it orders back, its
    count of such rounds after this one)."""
    one = np.ones((1, 1))
    base_margin = np.full((2, 1), min((150.0 - cost) / cost, 2.0))  # as the model clips it
    out = capacity_kernel(
        one * 1e4, np.ones(1), np.full(1, price), np.full(1, price), one * cost,
        np.full(1, 100.0), np.full(1, 0.5), np.zeros((1, 1)), False, 1 / 12, 1.0, retirement,
        base_margin, np.zeros((2, 1)), np.zeros((2, 1)), 12.0, 1, np.zeros((2, 1)),
        True, np.array([[1e3], [0.0]]), margin, np.full((2, 1), repaid), 12.0,
        np.full(1, 150.0), np.full((2, 1), 1e4),
    )  # fmt: skip
    return float(out[5][0, 0]), float(out[6][0, 0])


def test_a_closed_mine_reopens_only_at_a_price_that_repays_its_restart():
    """At the price at which it ran before it closed, a closed mine stays shut: the restart must
    be repaid, so it comes back only at a margin `restart_margin` above that one, the higher the
    restart's cost the higher the price; and a spike does not reopen it, only prices that have
    repaid the restart for more than `restart_days` in a row."""
    assert restart_round(150.0, 12.0) == (0.0, 0.0)  # the calibration's price: shut
    assert restart_round(169.0, 12.0) == (0.0, 0.0)  # a margin of 0.69: not yet
    assert restart_round(171.0, 12.0) == (1e3, 0.0)  # 0.71: ordered back, all of it
    assert restart_round(171.0, 12.0, margin=0.5) == (0.0, 0.0)  # a dearer restart: not yet
    assert restart_round(201.0, 12.0, margin=0.5) == (1e3, 0.0)
    assert restart_round(171.0, 0.0) == (0.0, 1.0)  # a first round of such prices: it waits
    assert restart_round(171.0, 11.0) == (0.0, 12.0)  # a year of them: not more than a year
    assert restart_round(150.0, 11.0) == (0.0, 0.0)  # prices fall back: it starts again
    # a mine far below the price (cost 40: a margin of 2.75 at the calibration) still needs the
    # calibration's price plus the restart, 150 + 0.2 x 40 = 158
    assert restart_round(157.0, 12.0, cost=40.0) == (0.0, 0.0)
    assert restart_round(159.0, 12.0, cost=40.0) == (1e3, 0.0)
    # shut, it is written down as installed capacity retires (12% a year: 1% a round)
    assert restart_round(171.0, 12.0, retirement=0.12) == (pytest.approx(990.0), 0.0)


def margins_after(strategy: str) -> dict[str, float]:
    """Members' gains from staying after one round of the supplier playing `strategy`, from
    the bloc the default forms in round 1."""
    m = BlocModel(DEFAULT, supplier_strategy="passive", rng=0)
    m.run(2)
    m.set_levers(supplier_strategy=strategy)
    m.run(1)
    return m.last_margins


def test_blanket_and_targeted_controls_move_cohesion_in_opposite_directions():
    """Controls aimed at members (the December 2024 ban to the US) make membership costlier:
    every member's gain from staying falls. Blanket controls on every buyer (the August 2023
    licensing) hit outsiders too, and members' secured supply shields them: the gain rises."""
    calm = margins_after("passive")
    aimed = margins_after("export-controls")
    blanket = margins_after("blanket-controls")
    assert set(calm) == {"us", "japan", "eu", "mexico"}
    for a in calm:
        assert aimed[a] < calm[a] <= blanket[a] + 1e-6
    assert sum(blanket.values()) > sum(calm.values())


def test_a_large_enough_side_offer_pries_the_thinnest_member_out():
    """Offered more than its gain from staying, paid only if it leaves, the member with the
    thinnest gain walks out; a supplier with no budget for offers pries nobody out."""
    rich = BlocModel(DEFAULT, supplier_strategy="side-offers", aggressiveness=1.0, rng=0).run()
    left = rich.events_df[rich.events_df["kind"] == "left"]
    assert len(left) >= 1 and "side deals" in left["text"].iloc[0]
    broke = BlocModel(
        scenario(**{"actors.supplier.fiscal_capacity": 0.0}),
        supplier_strategy="side-offers",
        aggressiveness=1.0,
        rng=0,
    ).run()
    assert not (broke.events_df["kind"] == "left").any()


# ---------------------------------------------------------------------------------------------
# Budgets bind


def test_fiscal_capacity_caps_outlays_and_changes_outcomes():
    """Price-gap floors well above the market: with the calibrated budgets the members pay
    the whole gap; with a thousandth of them support is rationed (the effective floor falls),
    outlays stay within the budgets, and members' producers earn less."""
    floors = {"rare_earths": 150000, "lithium": 110000, "graphite": 900, "gallium": 300000}

    def run(scale: float) -> BlocModel:
        sc = load_scenario(DEFAULT)
        caps = {f"actors.{a}.fiscal_capacity": sc.actors[a].fiscal_capacity * scale
                for a in sc.actors}  # fmt: skip
        return BlocModel(scenario(**caps), instrument="price_gap", floors=floors, rng=0).run()

    full, poor = run(1.0), run(1e-3)
    assert full.rounds_df["support_ratio"].min() == 1.0
    assert poor.rounds_df["support_ratio"].iloc[1:].max() < 1.0
    budgets = sum(a.fiscal_capacity for a in load_scenario(DEFAULT).actors.values()) * 1e-3
    assert poor.rounds_df["fiscal_cost"].max() <= budgets * (1 + 1e-9)
    mean_cost = lambda m: m.rounds_df["fiscal_cost"].iloc[1:].mean()  # noqa: E731
    assert mean_cost(poor) < mean_cost(full)

    # The rationed floor pays members' producers less: their surplus falls.
    def members_surplus(m: BlocModel) -> float:
        a = m.actors_df[(m.actors_df["round"] > 0) & m.actors_df["member"]]
        return float(a["producer_surplus"].sum())

    assert members_surplus(poor) < members_surplus(full)


# ---------------------------------------------------------------------------------------------
# The baseline holds still; welfare is counted for everyone


def test_with_no_policy_prices_stay_within_ten_percent_over_36_rounds():
    """No bloc, no floors, a passive supplier, a calm world: capacity retires and is replaced,
    prices stay within 10% of where they start, and where they start is within 10% of the 2024
    prices. (With the world's shocks prices swing as history's did: `bloc check
    price-volatility`.)"""
    sc = load_scenario(DEFAULT)
    m = BlocModel(
        scenario(**{"policy.initial_members": [], "policy.floors": {}, **CALM}),
        supplier_strategy="passive",
        rounds=36,
    ).run()
    r = m.rounds_df
    for mineral, spec in sc.minerals.items():
        p = r[f"world_price_{mineral}"]
        assert p.max() <= 1.1 * p.iloc[0] and p.min() >= 0.9 * p.iloc[0], mineral
        assert abs(p.iloc[0] / spec.reference_price - 1) <= 0.1, mineral


def test_the_rest_of_the_world_is_accounted():
    """A bloc with floors moves money for producers and buyers at no table (Australia, Chile,
    Indonesia, the DRC...), and the world's money sums everyone's."""
    m = BlocModel(DEFAULT, rng=0).run(6)
    r = m.rounds_df
    assert {"rest_of_world_producers", "rest_of_world_buyers", "world_money"} <= set(r.columns)
    assert np.isfinite(r["world_money"]).all()
    assert (r["rest_of_world_producers"].iloc[1:] != 0).all()


def test_the_stockpile_holds_stock_and_releases_it_to_members_under_export_controls():
    """A stockpile fund buys at the floor and keeps the stock; when the supplier bans exports
    to members, the stock goes to members and the narrative says so."""
    m = BlocModel(DEFAULT, instrument="stockpile", supplier_strategy="passive", rng=0)
    m.run(6)
    held = m.stock_held.copy()
    assert held.sum() > 0
    m.set_levers(supplier_strategy="export-controls", aggressiveness=1.0)
    m.run(1)
    assert m.stock_held.sum() < held.sum()
    assert (m.events_df["kind"] == "stock_released").any()


def test_a_stockpile_buys_an_asset_worth_what_the_market_pays_without_the_floor():
    """The stockpile pays cash for tonnes it keeps, and a stock can be sold: members count
    what it would fetch against the cash. It buys to hold the world price up to the floor, so
    its tonnes fetch no more than the price the market pays without that support (the world
    with no policy): what the fund pays above it is lost, the price of holding the floor up,
    even for a stock sold at its full market value; and the higher the floor the fund defends
    above the market, the more of each dollar is lost. `stockpile_resale` is the share of that
    market value a stock fetches sold (0: worth nothing, every dollar lost, as a price-gap
    payment would be). The cash the fund pays does not depend on what the stock is worth. The
    records carry the stock's value beside the fund's cash."""
    four = frozenset({"us", "japan", "eu", "mexico"})
    outlays, cash = {}, {}
    for resale in (0.0, 0.5, 1.0):
        sc = scenario(**{"policy.stockpile_resale": resale, **CALM})
        m = BlocModel(sc, instrument="stockpile", supplier_strategy="passive", rng=0)
        ev = m.evaluate([(four, 1.0, NORMAL), (four, 1.5, NORMAL)], r=1)
        cash[resale] = ev.outcome.stock_spending.sum(axis=1)
        outlays[resale] = np.array([sum(component(m, ev, k, a, "fiscal_outlay") for a in four)
                                    for k in (0, 1)])  # fmt: skip
    out = ev.outcome
    assert cash[0.0][0] > 1e8  # the fund buys (hundreds of millions of dollars a year)
    np.testing.assert_array_equal(cash[0.5], cash[0.0])
    np.testing.assert_array_equal(cash[1.0], cash[0.0])
    np.testing.assert_allclose(outlays[0.0], -cash[0.0], rtol=1e-9)
    # it buys above the price the market pays without support, where it buys at all
    bought = out.stock_purchases > 0
    assert (out.world_price[bought] > m.stock_mark[np.nonzero(bought)[1]]).all()
    # sold at full market value, the stock is worth its tonnes at that price: the rest is lost
    worth = (out.stock_purchases * np.minimum(out.world_price, m.stock_mark)).sum(axis=1)
    np.testing.assert_allclose(outlays[1.0], -(cash[0.0] - worth), rtol=1e-9)
    lost = outlays[1.0] / outlays[0.0]  # the share of each dollar lost
    assert 0.02 < lost[0] < lost[1] < 1  # more of it, the higher the floor
    np.testing.assert_allclose(outlays[0.5], 0.5 * (outlays[0.0] + outlays[1.0]), rtol=1e-9)
    # its book value: the tonnes bought each round at the price they would fetch then (the
    # world's price with no policy the round before), times the resale share
    m = BlocModel(scenario(**CALM), instrument="stockpile", supplier_strategy="passive", rng=0)
    marks = []
    for _ in range(6):
        marks.append(m.stock_mark.copy())
        m.step()
    r = m.rounds_df.iloc[1:]
    minerals = m.minerals
    price = r[[f"world_price_{x}" for x in minerals]].to_numpy()
    tonnes = r[[f"stockpiled_{x}" for x in minerals]].to_numpy()  # in the round
    book = (m.profiles.stock_resale * tonnes * np.minimum(price, np.array(marks))).sum(axis=1)
    assert r["stock_value"].to_numpy() == pytest.approx(np.cumsum(book), rel=1e-9)
    spent = r["stockpile_fund"].iloc[0] - r["stockpile_fund"].iloc[-1]
    assert 0 < r["stock_value"].iloc[-1] < m.profiles.stock_resale * spent


def test_a_rationed_stockpile_spends_within_the_members_budgets():
    """Under the stockpile, budgets a hundredth of the calibrated ones: the fund spends at most
    what the members can pay, and no member pays beyond its capacity in cash, nor counts more
    than the cash less the stock's resale value (the fund used to be
    cut to a share of its allowance, which a fund that could no longer hold the floor spent in
    full: more than with full budgets)."""
    sc = load_scenario(DEFAULT)
    caps = {a: sc.actors[a].fiscal_capacity * 0.01 for a in sc.actors}
    overrides = {f"actors.{a}.fiscal_capacity": c for a, c in caps.items()}
    poor = BlocModel(scenario(**overrides), instrument="stockpile", supplier_strategy="passive",
                     rng=0).run(12)  # fmt: skip
    full = BlocModel(DEFAULT, instrument="stockpile", supplier_strategy="passive", rng=0).run(12)
    r = poor.rounds_df.iloc[1:]
    assert (r["support_ratio"] < 1).any()
    members_budget = r["members"].map(lambda ms: sum(caps[a] for a in ms.split("+") if a))
    assert (r["fiscal_cost"] <= members_budget * (1 + 1e-9)).all()
    assert r["fiscal_cost"].mean() < full.rounds_df["fiscal_cost"].iloc[1:].mean()
    a = poor.actors_df[(poor.actors_df["round"] > 0) & poor.actors_df["member"]]
    assert (-a["fiscal_outlay"] <= a["actor"].map(caps) * (1 + 1e-9)).all()
    # What members count, rationed, is the cash less what the stock would fetch sold.
    counted = -a.groupby("round")["fiscal_outlay"].sum()
    cash = r.set_index("round")["fiscal_cost"]
    assert (r.set_index("round")["support_ratio"] < 1).any()
    held = poor.rounds_df.set_index("round")["stock_value"].diff().loc[cash.index]
    np.testing.assert_allclose(counted, cash - held / poor.config.round_years, rtol=1e-9)


def test_world_money_is_the_negotiations_effect_not_the_worlds_luck():
    """The world's money is measured against the same world with no policy (no bloc, the
    supplier selling normally) meeting the same luck: outages, demand swings and surprises
    happen in both, so they cancel. With no policy it is zero in every round, with the shocks
    on. A pure distortion, the supplier withholding exports from every buyer, costs the world
    money (its gain is smaller than the buyers' loss); so does a bloc with floors and a penalty
    (the producers at no table lose more than members gain)."""
    none = {"policy.initial_members": [], "policy.floors": {}, "policy.outsider_penalty": 0.0}
    for seed in (0, 1):
        lucky = BlocModel(scenario(**none), supplier_strategy="passive", rng=seed).run(24)
        assert (lucky.rounds_df["world_money"] == 0.0).all()
        assert (lucky.rounds_df["rest_of_world_producers"] == 0.0).all()
    hit = BlocModel(
        scenario(**none), supplier_strategy="blanket-controls", aggressiveness=0.5, rng=0
    ).run(3)
    assert (hit.rounds_df["world_money"].iloc[1:] < -1e7).all()
    bloc = BlocModel(DEFAULT, supplier_strategy="passive", rng=0).run(12).rounds_df.iloc[1:]
    assert (bloc["world_money"] < 0).all() and (bloc["rest_of_world_producers"] < 0).all()


def test_a_stock_released_in_a_disruption_saves_members_the_world_price_and_leaves_the_books():
    """A stockpile bought in calm times is a buffer for a crisis. When the supplier bans exports
    to members, the stock releases what the ban cuts off of their supply, up to what it holds:
    each tonne released is one the members' buyers need not replace at the world price, and the
    fund's books lose that tonne's value, which the members count as spent (they counted it as
    an asset when it was bought, net of what its purchase lost). Bought below the world price of
    the crisis, the stock saves the members more than it costs them. What it released no longer
    covers the next disruption."""
    m = BlocModel(DEFAULT, instrument="stockpile", supplier_strategy="passive", rng=0).run(6)
    assert m.stock_held.sum() > 0 and m.stock_book.sum() > 0
    ban = SupplierMove(SupplierAction.EXPORT_CONTROLS, tuple(m.minerals), 1.0)
    pol, prof, side = m.spelled_out([(m.members, 1.0, ban)])
    out, comp, _ = score(m.data, prof, pol, m.weights, side_offer=side)
    released, used = stock_released(prof, pol, members_cut(m.data, prof, pol, out))
    assert (released[0] > 0).any()
    members = pol.member[0]
    security, fiscal = COMPONENTS.index("supply_security"), COMPONENTS.index("fiscal_outlay")

    def against_no_release(p):
        """(members' supply security, their fiscal outlay saved by the release): against the
        same stock released over an endless round, nothing now."""
        now = score(m.data, p, pol, m.weights, side_offer=side)[1][0, members]
        never = score(m.data, replace(p, round_years=1e15), pol, m.weights, side_offer=side)[1]
        never = never[0, members]
        return (now[:, security] - never[:, security]).sum(), (never - now)[:, fiscal].sum()

    # Without a premium on dependence the security component is the cut supply replaced alone.
    saved, spent = against_no_release(replace(prof, risk_premium=np.zeros_like(prof.risk_premium)))
    assert saved == pytest.approx((released[0] * out.world_price[0]).sum(), rel=1e-6)
    assert spent == pytest.approx(used[0], rel=1e-6) and spent > 0
    assert saved > spent
    # With it: a stock the disruption uses up whole covers nothing after, as no stock would; so
    # against no stock at all, the members gain the world price of what it released, no more.
    small = replace(prof, stock_held=prof.stock_held * 0.01, stock_book=prof.stock_book * 0.01)
    none = replace(prof, stock_held=np.zeros_like(prof.stock_held), stock_book=0.0)
    released, _ = stock_released(small, pol, members_cut(m.data, small, pol, out))
    whole = released[0] > 0
    np.testing.assert_allclose(released[0][whole] * prof.round_years, small.stock_held[whole])
    with_small, without = (score(m.data, p, pol, m.weights, side_offer=side)[1][0, members]
                           for p in (small, none))  # fmt: skip
    gained = (with_small - without)[:, security].sum()
    assert gained == pytest.approx((released[0] * out.world_price[0]).sum(), rel=1e-6)


def test_the_stock_released_is_the_tonnage_the_payoffs_counted():
    """The release the records tell (the stock held falls by it, the books by its share) is the
    one the round's payoffs counted: what export controls cut off of the members' supply, up to
    the stock held when the round opened (tests/reference_market.py, from the round's own
    controls and market). Here the stock is small, so it is released whole, and a high floor
    keeps the fund buying in the same round: what it buys is kept, not released at once."""
    m = BlocModel(DEFAULT, instrument="stockpile", supplier_strategy="passive", rng=0).run(6)
    m.set_levers(supplier_strategy="export-controls", aggressiveness=1.0,
                 floors={"rare_earths": 400_000})  # fmt: skip
    m.stock_held *= 0.05  # in place: the model's payoffs read these arrays
    m.stock_book *= 0.05
    held, book, mark = m.stock_held.copy(), m.stock_book.copy(), m.stock_mark.copy()
    members = m.members
    m.step()
    assert m.last_move.action.value == "export_controls"
    pol, prof, _ = m.spelled_out([(members, 1.0, m.last_move)])
    out = m.last_outcome
    cut = members_cut(m.data, prof, pol, out.packages(0, 1))
    ry = m.config.round_years
    start = type(prof)(**{**prof.__dict__, "stock_held": held, "stock_book": book})
    released = stock_released(start, pol, cut)[0][0]
    j = list(m.minerals).index("rare_earths")
    bought = out.stock_purchases[0] * ry
    assert cut[0, j] * ry > held[j] > 0 and bought[j] > 0  # the stock binds; the fund buys
    gone = np.minimum(released * ry, held)
    np.testing.assert_allclose(m.stock_held, held - gone + bought, rtol=1e-9)
    # the books: what was released leaves at its share, what was bought comes in at its value
    share = np.divide(gone, held, out=np.zeros_like(held), where=held > 0)
    price = out.world_price[0]
    kept = prof.stock_resale * np.minimum(1.0, mark / price) * out.stock_spending[0] * ry
    np.testing.assert_allclose(m.stock_book, book * (1 - share) + kept, rtol=1e-9)
    text = " ".join(m.events_df.query("kind == 'stock_released' and round == 7").text)
    for j, x in enumerate(m.minerals):
        if released[j] > 0:
            assert f"released {min(released[j] * ry, held[j]):,.0f} t of" in text, x


def test_budgets_ration_the_cash_not_the_stock_used_up():
    """Members' fiscal capacity caps the cash they pay for floor support (the fund's purchases
    are rationed); the stock released in a disruption is no cash, so it is charged at its book
    value outside the budgets, by the key, rationed or not."""
    m = BlocModel(DEFAULT, instrument="stockpile", supplier_strategy="passive", rng=0).run(6)
    ban = SupplierMove(SupplierAction.EXPORT_CONTROLS, tuple(m.minerals), 1.0)
    # a floor high enough that the fund buys through the ban
    pol, prof, side = m.spelled_out([(m.members, 1.0, ban, {"floors": {"rare_earths": 4e5}})])
    members = pol.member[0]
    fiscal = COMPONENTS.index("fiscal_outlay")
    for cap in (1e300, 1e6):  # budgets that cover everything, then a million dollars each
        p = replace(prof, fiscal_cap=np.full(len(m.actor_ids), cap))
        out, comp, _ = score(m.data, p, pol, m.weights, side_offer=side)
        used = stock_used(m.data, p, pol, out)[0]
        cash = float((out.gap_payments + out.stock_spending)[0].sum())
        net = float((out.gap_payments + out.stock_spending - stock_kept(p, out))[0].sum())
        assert used > 0 and cash > 0
        if cap < 1e300:
            assert out.support_ratio[0].min() < 1.0  # rationed
            assert cash <= cap * members.sum() * (1 + 1e-9)
        assert -comp[0, members, fiscal].sum() == pytest.approx(net + used, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Offtake from partners outside the bloc (`[policy] partners`)

FOUR = frozenset({"us", "japan", "eu", "mexico"})


def expansion(partners=(), **changes) -> BlocModel:
    """The expansion scenario's calm world (Australia, South Korea and India at the table from
    round 7), with Australia as the bloc's offtake partner or not."""
    return BlocModel(
        load_scenario("expansion", {**CALM, "policy.partners": list(partners), **changes}), rng=0
    )


def four_in_round_1(partners=(), **changes):
    """The four founding members' bloc in round 1, and the model it was cleared in."""
    m = expansion(partners, **changes)
    return m, m.evaluate([(FOUR, 1.0, m.last_move)], 1)


def test_an_offtake_partner_sells_to_the_bloc_at_its_price_and_secures_members_supply():
    """Australia outside the bloc, as its October 2025 framework with the US has it (price
    floors and offtake): its rare-earth miners sell into the bloc's market at the bloc's price,
    twice the world's, instead of at the world price; its 2,600 t of NdPr go to members first,
    on top of the members' own 1,300 t, so the members buy less from the supplier; and the
    members' buyers pay Australia's miners the price that was tariff money before."""
    m, out = four_in_round_1()
    mp, part = four_in_round_1(["australia"])
    aus, j = m.index["australia"], m.minerals.index("rare_earths")
    o, p = out.outcome, part.outcome
    assert o.producer_price[0, aus, j] == pytest.approx(o.world_price[0, j])
    assert p.producer_price[0, aus, j] == pytest.approx(p.bloc_price[0, j])
    assert p.bloc_price[0, j] > 2 * p.world_price[0, j]
    australia_ndpr = p.production[0, aus, j]
    assert australia_ndpr == pytest.approx(2600)
    assert p.secured[0, j] == pytest.approx(o.secured[0, j] + australia_ndpr)
    assert p.supplier_share_of_bloc[0, j] < o.supplier_share_of_bloc[0, j] - 0.1
    gain = component(mp, part, 0, "australia", "producer_surplus") - component(
        m, out, 0, "australia", "producer_surplus"
    )
    assert gain > 1e8  # its miners' gain, hundreds of millions a year
    tariffs = [sum(component(x, ev, 0, a, "tariff_revenue") for a in FOUR)
               for x, ev in ((m, out), (mp, part))]  # fmt: skip
    assert tariffs[1] < tariffs[0]  # less is imported over the tariff
    security = [sum(component(x, ev, 0, a, "supply_security") for a in FOUR)
                for x, ev in ((m, out), (mp, part))]  # fmt: skip
    assert security[1] > security[0]  # less dependence on the supplier (less negative)


def test_a_border_floor_stops_binding_when_the_bloc_sellers_have_more_than_members_buy():
    """A border-adjusted floor lifts the bloc's price only while the bloc imports: Australia's
    88,000 t of lithium, sold into the bloc's market, cover what the members buy, so the
    bloc's lithium price falls to the world's and the US's lithium miners lose the floor's
    lift (as they do in the expansion scenario once Australia joins)."""
    m, out = four_in_round_1()
    _, part = four_in_round_1(["australia"])
    us, li = m.index["us"], m.minerals.index("lithium")
    o, p = out.outcome, part.outcome
    assert o.bloc_price[0, li] > 1.05 * o.world_price[0, li]
    assert p.bloc_price[0, li] == pytest.approx(p.world_price[0, li], rel=1e-9)
    assert p.producer_price[0, us, li] < o.producer_price[0, us, li]
    assert p.secured[0, li] == 0.0  # no price above the world's: no reason to sell members first


def test_under_price_gap_payments_members_pay_the_gap_on_the_partners_tonnes():
    """Price-gap payments (the DoD-MP offtake) paid on the partner's output too: with Australia
    as the offtake partner the members pay its lithium miners the floor's gap on their 88,000 t,
    and their fiscal outlay grows about tenfold, by more than Australia's producers gain."""
    m, out = four_in_round_1(**{"policy.instrument": "price_gap"})
    mp, part = four_in_round_1(["australia"], **{"policy.instrument": "price_gap"})
    aus, li = m.index["australia"], m.minerals.index("lithium")
    floor = load_scenario("expansion").policy.floors["lithium"]
    p = part.outcome
    assert p.producer_price[0, aus, li] == pytest.approx(floor)
    fiscal = [-sum(component(x, ev, 0, a, "fiscal_outlay") for a in FOUR)
              for x, ev in ((m, out), (mp, part))]  # fmt: skip
    assert fiscal[1] > 10 * fiscal[0] > 0
    australia = component(mp, part, 0, "australia", "producer_surplus") - component(
        m, out, 0, "australia", "producer_surplus"
    )
    assert fiscal[1] - fiscal[0] > australia > 0
    assert out.outcome.gap_payments[0].sum() == pytest.approx(fiscal[0])


def test_with_nothing_on_offer_or_no_bloc_an_offtake_partner_changes_nothing():
    """Offtake is a term of the bloc's package: with no floor and no penalty there is no price
    to sell to members at, and before anyone has joined there is no bloc to sell to; a run with
    Australia as the offtake partner is then the run without, figure for figure (but for the
    column that records the partners)."""
    nothing = {"policy.floors": {}, "policy.outsider_penalty": 0.0}
    runs = [expansion(p, **nothing).run(12) for p in ((), ("australia",))]
    assert (runs[1].rounds_df["partners"] == "australia").all()
    for table in ("rounds_df", "actors_df", "events_df"):
        a, b = (getattr(r, table).drop(columns=["partners"], errors="ignore") for r in runs)
        assert a.equals(b), table
    nobody, utils = frozenset(), []
    for partners in ((), ("australia",)):
        m = expansion(partners)
        ev = m.evaluate([(nobody, 1.0, m.last_move), (FOUR, 1.0, m.last_move)], 1)
        utils.append(ev.util)
    # the same up to the price search's tolerance (it starts from last round's prices, which
    # the opening's US-only bloc, with its partner, moved)
    np.testing.assert_allclose(utils[0][0], utils[1][0], rtol=1e-9)
    assert not np.allclose(utils[0][1], utils[1][1])  # with a bloc, it does change things


def test_offtake_without_membership_lets_the_partner_free_ride():
    """Club theory (Nordhaus 2015): a club holds when its benefits go to members only. Offered
    the bloc's price for its miners without joining, Australia takes it and stays out: without
    offtake it joins in round 7, when the expansion table opens, for its miners' gain; with it,
    it declines that invitation, its miners already paid the bloc's price, and joining would
    only raise its buyers' costs."""
    alone = expansion().run(12)
    free = expansion(["australia"]).run(12)

    def joined(m: BlocModel) -> list[int]:
        e = m.events_df
        return e[(e["kind"] == "joined") & (e["actor"] == "australia")]["round"].tolist()

    assert joined(alone) == [7]
    text = alone.events_df.query("kind == 'joined' and actor == 'australia'")["text"].iloc[0]
    assert "of producer surplus" in text.split("against")[0]
    assert joined(free) == []
    e = free.events_df
    no = e[(e["kind"] == "rejected") & (e["actor"] == "australia") & (e["round"] == 7)]
    assert len(no) == 1
    reason = no["text"].iloc[0]
    assert "of consumer cost" in reason.split("against")[1]
    assert "producer surplus" not in reason.split("against")[0]


def test_an_offtake_contract_for_part_of_the_output_sells_that_part_at_the_bloc_price():
    """An offtake contract covers a volume, not a country's whole output. With a quarter of
    Australia's capacity under contract (`[policy] offtake_share = 0.25`), a quarter of its NdPr
    (650 t) goes to members first, on top of their own 1,300 t; its miners get the bloc's price
    on that quarter and the world price on the rest; and the members' buyers still pay the
    tariff on the lithium they import over the floor, which holds again (Australia's contracted
    lithium no longer covers what they buy)."""
    _, whole = four_in_round_1(["australia"])
    m, part = four_in_round_1(["australia"], **{"policy.offtake_share": 0.25})
    aus, j, li = m.index["australia"], m.minerals.index("rare_earths"), m.minerals.index("lithium")
    p = part.outcome
    assert p.secured[0, j] == pytest.approx(1300 + 0.25 * 2600)
    assert whole.outcome.secured[0, j] == pytest.approx(1300 + 2600)
    # a quarter of its capacity runs in full at the bloc's price, the rest on its ramp at the
    # world price: its average price is the world's plus the bloc's premium on 650 t of what it
    # sells
    pw, pb, q = p.world_price[0, j], p.bloc_price[0, j], p.production[0, aus, j]
    assert pb > 2 * pw and 650 < q < 2600
    assert p.producer_price[0, aus, j] == pytest.approx(pw + (pb - pw) * 650 / q)
    assert whole.outcome.bloc_price[0, li] == pytest.approx(whole.outcome.world_price[0, li])
    assert p.bloc_price[0, li] > 1.05 * p.world_price[0, li]


def test_each_partner_s_contract_covers_its_own_share_of_its_output():
    """Offtake deals differ by partner: Lynas is to supply Japan with up to 65% of Mt Weld's
    Dy/Tb output, while MP's magnet plant sells all of its output under contract. With
    Australia and India as partners, a quarter of Australia's output under its own contract
    (`[policy] offtake_shares`) and all of India's: the members' secured NdPr is their own
    1,300 t, a quarter of Australia's 2,600 t and all of India's 580 t, where one share of a
    quarter for both would secure only a quarter of India's. A partner's own share is the
    contract share for that partner and nothing else: with Australia alone, its own quarter
    clears exactly as a quarter for every partner; for a country that is not a partner, it
    changes nothing."""
    _, whole = four_in_round_1(["australia", "india"])
    m, own = four_in_round_1(
        ["australia", "india"], **{"policy.offtake_shares": {"australia": 0.25}}
    )
    _, both = four_in_round_1(["australia", "india"], **{"policy.offtake_share": 0.25})
    j = m.minerals.index("rare_earths")
    assert whole.outcome.secured[0, j] == pytest.approx(1300 + 2600 + 580)
    assert own.outcome.secured[0, j] == pytest.approx(1300 + 0.25 * 2600 + 580)
    assert both.outcome.secured[0, j] == pytest.approx(1300 + 0.25 * 2600 + 0.25 * 580)
    india = m.index["india"]
    assert own.outcome.production[0, india, j] == pytest.approx(580)  # all of it, at the bloc's
    assert own.outcome.producer_price[0, india, j] == pytest.approx(own.outcome.bloc_price[0, j])
    _, alone = four_in_round_1(["australia"], **{"policy.offtake_shares": {"australia": 0.25}})
    _, common = four_in_round_1(["australia"], **{"policy.offtake_share": 0.25})
    np.testing.assert_array_equal(alone.comp, common.comp)
    _, listed_only = four_in_round_1([], **{"policy.offtake_shares": {"australia": 0.25}})
    _, plain = four_in_round_1([])
    np.testing.assert_array_equal(listed_only.comp, plain.comp)


def test_under_price_gap_payments_members_pay_the_gap_on_the_contracted_tonnes_only():
    """The DoD-MP price gap is paid on the offtake volume: with a quarter of Australia's lithium
    under contract the members pay the floor's gap on their own producers' lithium and that
    quarter (at the floor all of it runs: 22,000 t), not on the whole of Australia's 88,000 t,
    and their outlay falls accordingly."""
    gap = {"policy.instrument": "price_gap"}
    m, whole = four_in_round_1(["australia"], **gap)
    _, part = four_in_round_1(["australia"], **{**gap, "policy.offtake_share": 0.25})
    aus, li = m.index["australia"], m.minerals.index("lithium")
    members = [m.index[a] for a in FOUR]
    for ev, share in ((whole, 1.0), (part, 0.25)):
        o = ev.outcome
        floor = load_scenario("expansion").policy.floors["lithium"]
        contracted = o.production[0, members, li].sum() + share * 88_000
        assert o.gap_payments[0, li] == pytest.approx((floor - o.bloc_price[0, li]) * contracted)
    assert whole.outcome.production[0, aus, li] == pytest.approx(88_000)
    # the rest sells at the world price, where part of its ramp stands idle
    assert 22_000 < part.outcome.production[0, aus, li] < 88_000
    assert part.outcome.gap_payments[0, li] < 0.4 * whole.outcome.gap_payments[0, li]


def test_the_less_of_its_output_the_bloc_contracts_the_more_a_partner_gains_by_joining():
    """Club theory again (Nordhaus 2015): what a partner gets outside the club, the club cannot
    offer it for joining. The smaller the share of Australia's capacity under contract, the
    more its miners gain by joining (the bloc's price on all their NdPr, not only the
    contracted share), and the sooner it joins: with all of it, never; with three quarters, in
    round 11; with half or less, in round 7, when the expansion table opens, as without
    offtake."""
    shares = (1.0, 0.75, 0.5, 0.25, 0.1)
    gains, joined = [], []
    for share in shares:
        m = expansion(["australia"], **{"policy.offtake_share": share})
        five = FOUR | {"australia"}
        ev = m.evaluate([(FOUR, 1.0, m.last_move), (five, 1.0, m.last_move)], 1)
        gains.append(component(m, ev, 1, "australia", "producer_surplus")
                     - component(m, ev, 0, "australia", "producer_surplus"))  # fmt: skip
        e = m.run(12).events_df
        rounds = e[(e["kind"] == "joined") & (e["actor"] == "australia")]["round"].tolist()
        joined.append(rounds[0] if rounds else None)
    assert gains[2] > 1e8
    assert abs(gains[0]) < 0.05 * gains[2]  # all of it under contract: next to nothing to gain
    assert all(a < b for a, b in zip(gains, gains[1:]))  # more to gain, the less contracted
    assert joined == [None, 11, 7, 7, 7]


# ---------------------------------------------------------------------------------------------
# Projects: new mines a floor brings online (`[[projects]]`)

SONORA = {
    "name": "Sonora lithium",
    "actor": "mexico",
    "mineral": "lithium",
    "capacity": 6_600.0,
    "decision_days": 180,
    "build_days": 365,
}


def with_sonora(**changes) -> BlocModel:
    """The default scenario's calm world with a Mexican lithium project (6,600 t a year of
    lithium, the 35,000 t of carbonate Sonora's clays were planned for) at a unit cost of
    $65,000/t (so its developer needs $84,500/t with the default hurdle of 30%), decided on half
    a year of prices and built in a year."""
    over = {**CALM, "projects": [SONORA], "actors.mexico.unit_cost.lithium": 65_000.0}
    return BlocModel(load_scenario(DEFAULT, {**over, **changes}), rng=0)


def project_events(m: BlocModel) -> list[tuple[int, str]]:
    e = m.events_df.query("kind == 'project'")
    return list(zip(e["round"].tolist(), e["text"].tolist()))


def test_a_floor_that_holds_brings_a_new_mine_online_where_the_world_price_would_not():
    """Investment grows what is there, so a member with no lithium mine never gets one from
    investment alone. A project is a new entrant: Mexico's lithium project needs $84,500/t. The
    world price, about $74,000/t, would never bring it; the bloc's border floor, credible once
    four are in, lifts the price Mexico's miners would sell to members at to about $88,700/t.
    After half a year of that price the project is committed (round 7), built a year later, and
    its 6,600 t a year go to members first: the members' secured lithium about triples and the
    world price eases. In the world with no policy, and with no floor, it is never built. A new
    entrant is judged by the price it was built for: its normal margin is its hurdle, its normal
    spare capacity none."""
    m = with_sonora().run(36)
    mex, li = m.index["mexico"], m.minerals.index("lithium")
    (commit, text), (built, _) = project_events(m)
    assert commit == 7 and built == 19
    assert (
        "the price it expects, $88,717/t, has covered its unit cost and hurdle, $84,500/t" in text
    )
    assert "it produces from round 20" in text
    from negotiation.experiments.records import summary

    assert f"round   7: {text}" in summary(m)  # `bloc run` tells it among who moved and why
    r = m.rounds_df.set_index("round")
    assert (r["world_price_lithium"].loc[1:19] < 84_500).all()  # the world price would not do
    assert m.no_policy.capacity[mex, li] == 0.0  # nor does it in the world with no policy
    assert 3_200 < r["secured_lithium"].loc[19] < 3_400  # about 3,300 t
    assert 9_700 < r["secured_lithium"].loc[20] < 10_100  # about 9,900 t
    assert r["world_price_lithium"].loc[20] < r["world_price_lithium"].loc[19]
    assert 5_500 < m.capacity[mex, li] <= 6_600  # built, then retiring as any mine
    assert m.base_margin[mex, li] == pytest.approx(0.3)  # the hurdle it was built for
    assert m.base_idle[mex, li] == 0.0  # at $84,500/t its whole ramp runs
    nothing = with_sonora(**{"policy.floors": {}}).run(36)
    assert project_events(nothing) == []
    assert nothing.capacity[mex, li] == 0.0


def test_a_new_mine_pays_for_its_capital_and_the_world_pays_for_the_floor_that_brought_it():
    """A mine is not free. From the round it produces, Mexico's producers pay its capital: a
    yearly charge of its hurdle on its unit cost for each tonne (30% of $65,000/t on 6,600 t:
    $128.7m a year, which would repay the $800m Sonora was planned for in about six years),
    written down as the mine retires. Net of it the mine adds to Mexico's producer surplus only
    what the floor pays above its hurdle price, about $4,200/t: some $28m a year, not the
    $156m of its operating margin. And the world loses money on it: a mine that needs
    $84,500/t, selling lithium the world buys at about $73,500/t, costs the world about $70m a
    year more than the world with no policy, where it is not built. Counted without its capital
    it would have looked like a gain of about $59m. The security the floor buys is paid for."""
    m = with_sonora().run(36)
    _, (_, built) = project_events(m)
    assert built.endswith("when its producers start paying its capital, $129m a year (its "
                          "hurdle on its unit cost, a tonne)")  # fmt: skip
    mex = m.index["mexico"]
    actor = m.actors_df.query("actor == 'mexico'").set_index("round")
    charge = actor["capital_charge"]
    assert (charge.loc[:19] == 0).all()  # built at round 19's close, it produces from 20
    assert charge.loc[20] == pytest.approx(6_600 * 0.3 * 65_000, rel=1e-12)
    keep = 1 - m.config.investment.retirement * m.config.round_years
    # written down as the mine retires (from round 26 the charges of what Mexico ordered
    # beyond replacement from round 1 arrive too: the lithium mine's own is in its row)
    after = charge.loc[20:25]
    np.testing.assert_allclose(after.iloc[1:] / after.iloc[:-1].to_numpy(), keep, rtol=1e-12)
    li = m.minerals.index("lithium")
    assert m.capital[mex, li] == pytest.approx(charge.loc[20] * keep**17, rel=1e-12)
    # the records' utility is still the sum of its weighted components, the charge off both
    np.testing.assert_allclose(actor[list(COMPONENTS)].sum(axis=1), actor["utility"], rtol=1e-12)
    surplus = actor["producer_surplus"] / m.weights[mex, COMPONENTS.index("producer_surplus")]
    net = surplus.loc[20] - surplus.loc[19]
    assert 20e6 < net < 35e6
    assert 150e6 < net + charge.loc[20] < 165e6  # its operating margin
    r = m.rounds_df.set_index("round")
    assert r["capital_charges"].loc[20] == charge.loc[20]  # no other order has arrived yet
    change = r["world_money"].loc[20] - r["world_money"].loc[19]
    assert -80e6 < change < -60e6
    assert change + charge.loc[20] > 50e6  # what it looked like without its capital
    # what shows a utility level outside the records takes the charge off as they do: the
    # workshop's payoffs and the bargaining space (the charges after round 36's close)
    ps = COMPONENTS.index("producer_surplus")
    sunk = m.capital[mex].sum() * m.weights[mex, ps]
    assert m.capital_utility()[mex] == pytest.approx(sunk, rel=1e-12)
    assert sunk > m.capital[mex, li] > 0
    ev = m.evaluate([(m.members, 1.0, m.last_move), (m.members - {"mexico"}, 1.0, m.last_move)], 36)
    paid = m._outcomes(ev, 0, 1, "mexico")
    for k, key in enumerate(("accept", "reject")):
        own = ev.comp[k, mex, ps] * m.weights[mex, ps]
        assert paid[key]["producer_surplus"] == pytest.approx(own - sunk, rel=1e-12)
    from negotiation.experiments.bargaining_space import bargaining_space

    df = bargaining_space(m, scales=(1.0,), penalties=(m.penalty,), memberships=False)
    quo = df[df["status_quo"]].iloc[0]
    assert quo["utility_mexico"] == pytest.approx(ev.util[0, mex] - sunk, rel=1e-12)


@pytest.mark.parametrize(
    "cost, built",
    [
        (57_000.0, {"run", "no floors", "no policy"}),
        (60_000.0, {"run", "no floors"}),
        (62_000.0, {"run"}),
        (69_000.0, set()),
    ],
)
def test_the_floor_makes_the_difference_only_for_a_mine_between_two_costs(cost, built):
    """The floor brings the mine for a unit cost between about $61,000/t and $68,200/t: its
    hurdle price above what the same bloc without floors gives Mexico's miners (the outsider
    penalty alone: about $79,300/t) and below what the floor gives (about $88,700/t). Cheaper,
    the bloc without floors brings it too, and below about $58,700/t so does the world with no
    policy (its world price about $76,400/t), in the same round as the run; dearer, neither."""
    cost_of = {"actors.mexico.unit_cost.lithium": cost}
    m = with_sonora(**cost_of).run(19)
    bare = with_sonora(**cost_of, **{"policy.floors": {}}).run(19)
    mex, li = m.index["mexico"], m.minerals.index("lithium")
    worlds = {
        "run": m.capacity[mex, li],
        "no floors": bare.capacity[mex, li],
        "no policy": m.no_policy.capacity[mex, li],
    }
    assert {k for k, c in worlds.items() if c > 0} == built
    for world in built:
        assert worlds[world] == pytest.approx(6_600.0)  # built at round 19's record
    if built:
        assert [r for r, _ in project_events(m)] == [7, 19]


def test_a_committed_project_is_built_even_if_the_floor_is_withdrawn():
    """The money of a committed project is sunk: the floors withdrawn the round after Mexico
    commits, the mine is still built when due, and produces."""
    m = with_sonora().run(7)
    assert [r for r, _ in project_events(m)] == [7]
    m.set_levers(floors={x: 0.0 for x in m.minerals})
    m.run(20)
    assert [r for r, _ in project_events(m)] == [7, 19]
    assert m.capacity[m.index["mexico"], m.minerals.index("lithium")] > 6_000


def test_the_forecast_after_the_pipeline_sees_a_committed_mine():
    """A country that looks past the investment lag (24 rounds) sees the mine Mexico committed
    to in round 7: the capacity it forecasts once the pipeline has delivered is what is
    installed when it has (the mine built in round 19, written down by retirement since)."""
    m = with_sonora().run(7)
    mex, li = m.index["mexico"], m.minerals.index("lithium")
    assert m.capacity[mex, li] == 0.0 and len(m.pipeline) == 24
    seen = m.evaluator.future_capacity()[0][mex, li]
    assert 6_000 < seen < 6_600
    m.run(24)  # to round 31, when what was in the pipeline in round 7 has arrived
    assert m.capacity[mex, li] == pytest.approx(seen, rel=1e-12)


def test_a_project_waits_for_prices_that_last_and_commits_once():
    """The project book alone: a developer commits after more than `decide` rounds in a row at or
    above its threshold (a round below starts the count again), is due `build` rounds after, is
    built when due whatever the price then, and is never committed twice."""
    from negotiation.engine.projects import BUILT, COMMITTED

    book = ProjectBook(
        names=("a", "b"), actor=np.array([0, 1]), mineral=np.array([0, 0]),
        capacity=np.array([10.0, 20.0]), threshold=np.array([100.0, 100.0]),
        capital=np.array([300.0, 600.0]), decide=np.array([2.0, 0.0]), build=np.array([3, 0]),
        streak=np.zeros(2),
        status=np.zeros(2, dtype=np.int64), due=np.full(2, -1, dtype=np.int64),
    )  # fmt: skip
    prices = [100.0, 120.0, 99.0, 100.0, 100.0, 150.0, 10.0, 10.0, 10.0, 500.0]
    log = []
    for r, p in enumerate(prices, start=1):
        committed, built = book.advance(r, np.array([p, 50.0]))
        log.append((r, committed.tolist(), built.tolist()))
    # b never reaches its threshold; a counts 2 rounds, drops at round 3, counts again from 4,
    # and commits in round 6 (its third round in a row above), due in round 9
    assert [x for x in log if x[1] or x[2]] == [(6, [0], []), (9, [], [0])]
    assert book.status.tolist() == [BUILT, 0] and book.due.tolist() == [9, -1]
    book.status[1] = 0
    committed, built = book.advance(11, np.array([500.0, 100.0]))  # b: decide 0, build 0
    assert committed.tolist() == [1] and built.tolist() == [1] and book.status[1] == BUILT
    assert COMMITTED not in book.status.tolist()

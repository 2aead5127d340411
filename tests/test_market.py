"""The market and payoff code alone: unit tests and hypothesis invariants."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from negotiation.engine.market import (
    BORDER,
    PRICE_GAP,
    STOCKPILE,
    MarketData,
    Policies,
    clear,
    ramp_supply,
    ramp_surplus,
)
from negotiation.engine.payoffs import Profiles, components
from negotiation.rules.types import COMPONENTS
from tests.market_cases import random_case
from tests.reference_market import stock_kept, stock_used


def world(A=3, M=2, supplier=2, seed=0):
    """A small symmetric-ish world: actor 2 is a big low-cost supplier."""
    rng = np.random.default_rng(seed)
    ref = np.full(M, 100.0)
    cap = np.array([[20.0] * M, [10.0] * M, [60.0] * M])[:A]
    data = MarketData(
        ref_price=ref,
        demand=np.full(M, 100.0),
        elasticity=np.full(M, -0.4),
        fringe_cost=np.full(M, 90.0),
        spread=np.full(M, 0.5),
        cost=np.array([[100.0] * M, [95.0] * M, [60.0] * M])[:A] * rng.uniform(0.95, 1.05, (A, M)),
        consumption=np.array([[30.0] * M, [20.0] * M, [30.0] * M])[:A],
        exposure=np.array([[0.5] * M, [0.6] * M, [0.0] * M])[:A],
        supplier=supplier,
    )
    return data, cap, np.full(M, 20.0)


def policies(data, cap, fringe, member, floors, instrument=BORDER, penalty=0.0, budget=0.0,
             flood=0.0, control=0.0):  # fmt: skip
    member = np.atleast_2d(np.asarray(member, dtype=bool))
    K, (A, M) = member.shape[0], cap.shape
    return Policies(
        member=member,
        floors=np.broadcast_to(np.asarray(floors, float), (K, M)).copy(),
        instrument=np.full(K, instrument),
        penalty=np.full(K, penalty),
        stock_budget=np.full((K, M), budget),
        flood=np.full((K, M), flood),
        control=np.full((K, M), control),
        demand_shift=np.ones((K, M)),
        capacity=np.broadcast_to(cap, (K, A, M)),
        fringe_capacity=np.broadcast_to(fringe, (K, M)),
    )


def profiles(data):
    A, M = data.cost.shape
    return Profiles(
        risk_premium=np.full(A, 0.3),
        openness_value=np.zeros(A),
        weights=np.ones((A, len(COMPONENTS))),
        cost_sharing=np.ones(A),
        strategic_weight=0.5,
        base_supplier_share=np.full(M, 0.5),
    )


def test_ramp_supply_and_surplus_agree():
    p = np.linspace(0, 300, 3001)
    q = ramp_supply(p, 10.0, 100.0, 0.5)
    assert q[0] == 0 and q[-1] == 10
    area = np.concatenate([[0], np.cumsum(0.5 * (q[1:] + q[:-1]) * np.diff(p))])
    np.testing.assert_allclose(ramp_surplus(p, 10.0, 100.0, 0.5), area, atol=1e-6)


def test_no_bloc_one_price_and_clears():
    data, cap, fringe = world()
    out = clear(data, policies(data, cap, fringe, [[False, False, False]], [0, 0]))
    np.testing.assert_allclose(out.world_price, out.bloc_price)
    assert np.all(np.abs(out.excess_demand) < 1e-6 * data.demand)


def test_border_floor_lifts_landed_price_of_outside_supply():
    data, cap, fringe = world()
    base = clear(data, policies(data, cap, fringe, [[True, True, False]], [0, 0]))
    floor = 2.0 * base.world_price[0, 0]
    out = clear(data, policies(data, cap, fringe, [[True, True, False]], [floor, floor]))
    assert out.bloc_imports[0, 0] > 0
    np.testing.assert_allclose(out.bloc_price[0], floor, rtol=1e-9)
    # Less bloc demand for outside supply: the world price falls below the no-floor price.
    assert out.world_price[0, 0] < base.world_price[0, 0]
    assert out.tariffs_paid[0, 0] > 0


def test_price_gap_floor_costs_members_money():
    data, cap, fringe = world()
    mem = [[True, True, False]]
    base = clear(data, policies(data, cap, fringe, mem, [0, 0], PRICE_GAP))
    floor = 1.5 * base.world_price[0, 0]
    pol = policies(data, cap, fringe, mem, [floor, floor], PRICE_GAP)
    out = clear(data, pol)
    assert np.all(out.gap_payments > 0)
    comp = components(data, profiles(data), pol, out)
    fiscal = comp[0, :, COMPONENTS.index("fiscal_outlay")]
    assert fiscal[0] < 0 and fiscal[1] < 0 and fiscal[2] == 0
    np.testing.assert_allclose(-fiscal.sum(), out.gap_payments.sum(), rtol=1e-9)


def test_flooding_lowers_world_price_and_raises_floor_cost():
    data, cap, fringe = world()
    mem = [[True, True, False]]
    floor = [150.0, 150.0]
    calm = clear(data, policies(data, cap, fringe, mem, floor, PRICE_GAP))
    flood = clear(data, policies(data, cap, fringe, mem, floor, PRICE_GAP, flood=0.5))
    assert np.all(flood.world_price < calm.world_price)
    assert flood.gap_payments.sum() > calm.gap_payments.sum()


def test_stockpile_holds_floor_until_budget_short():
    data, cap, fringe = world()
    mem = [[True, True, False]]
    free = clear(data, policies(data, cap, fringe, mem, [0, 0])).world_price[0, 0]
    floor = 1.2 * free
    rich = clear(data, policies(data, cap, fringe, mem, [floor, floor], STOCKPILE, budget=1e9))
    np.testing.assert_allclose(rich.world_price[0], floor, rtol=1e-9)
    assert np.all(rich.stock_purchases > 0)
    poor = clear(data, policies(data, cap, fringe, mem, [floor, floor], STOCKPILE, budget=10.0))
    assert np.all(poor.world_price[0] < floor)
    np.testing.assert_allclose(poor.stock_spending[0], 10.0, rtol=1e-6)


def test_export_controls_raise_world_price_and_hurt_members():
    data, cap, fringe = world()
    mem = [[True, True, False]]
    calm_pol = policies(data, cap, fringe, mem, [0, 0])
    ctrl_pol = policies(data, cap, fringe, mem, [0, 0], control=0.8)
    calm, ctrl = clear(data, calm_pol), clear(data, ctrl_pol)
    assert np.all(ctrl.world_price > calm.world_price)
    assert np.all(ctrl.withheld > 0)
    # Controls aimed at members cut the supply members got from the supplier: a loss of supply
    # security for members (not for the supplier's own buyers).
    r = COMPONENTS.index("supply_security")
    calm_comp = components(data, profiles(data), calm_pol, calm)
    comp = components(data, profiles(data), ctrl_pol, ctrl)
    assert comp[0, 0, r] < calm_comp[0, 0, r] and comp[0, 1, r] < calm_comp[0, 1, r]


# ---------------------------------------------------------------------------------------------
# Invariants over random worlds and policies


@settings(max_examples=150, deadline=None)
@given(random_case())
def test_invariants(case):
    data, pol, prof, offer = case
    out = clear(data, pol)
    for name in ("world_price", "bloc_price", "production", "consumption", "fringe_supply",
                 "bloc_imports", "stock_purchases", "gap_payments", "tariffs_paid"):  # fmt: skip
        x = getattr(out, name)
        assert np.all(np.isfinite(x)), name
        assert np.all(x >= -1e-9 * np.abs(x).max(initial=1.0)), name
    assert np.all(out.world_price > 0)
    # Every market clears.
    world_demand = out.consumption.sum(axis=1) + out.fringe_demand + out.stock_purchases
    assert np.all(np.abs(out.excess_demand) <= 1e-6 * world_demand + 1e-9)
    # The bloc price lies between the world price and the landed price of outside supply (the
    # floor or the world price, whichever is higher, plus the penalty on the world price).
    assert np.all(out.bloc_price >= out.world_price * (1 - 1e-12))
    floors = np.broadcast_to(np.asarray(pol.floors, dtype=float), out.world_price.shape)
    penalty = np.broadcast_to(np.asarray(pol.penalty, dtype=float), out.world_price.shape[:1])
    landed = np.maximum(floors, out.world_price) + penalty[:, None] * out.world_price
    assert np.all(out.bloc_price <= landed * (1 + 1e-9))
    # Shares are shares.
    for name in ("supplier_share", "bloc_share", "supplier_share_of_bloc"):
        x = getattr(out, name)
        assert np.all((x >= 0) & (x <= 1)), name
    # Money is conserved: tariffs paid = tariff revenue; fiscal outlays = gap + stockpile, the
    # stockpile's purchases net of the stock they buy (worth `stock_resale` times the lower of
    # the price paid and the price without support, `stock_mark`), and the book value of the
    # stock it releases to members in a disruption (the asset used up).
    np.testing.assert_allclose(
        out.tariff_revenue.sum(axis=(1, 2)), out.tariffs_paid.sum(axis=1), rtol=1e-9, atol=1e-6
    )
    comp = components(data, prof, pol, out, offer)
    assert np.all(np.isfinite(comp))
    fiscal = -comp[..., COMPONENTS.index("fiscal_outlay")].sum(axis=1)
    spent = (out.gap_payments + out.stock_spending - stock_kept(prof, out)).sum(axis=1)
    spent += stock_used(data, prof, pol, out)
    has_members = pol.member.any(axis=1)
    np.testing.assert_allclose(fiscal[has_members], spent[has_members], rtol=1e-9, atol=1e-6)
    # The fund never spends more than its budget.
    assert np.all(out.stock_spending <= pol.stock_budget * (1 + 1e-9) + 1e-9)


def test_the_kernels_return_every_field_of_an_outcome_once():
    """clear_kernel returns two arrays of slabs; the names of the slabs are Outcome's fields."""
    from negotiation.engine._kernels import OUTCOME_KAM, OUTCOME_KM
    from negotiation.engine.market import Outcome

    names = [*OUTCOME_KM, *OUTCOME_KAM]
    assert sorted(names) == sorted(Outcome.__dataclass_fields__)
    km, kam = (
        np.arange(len(OUTCOME_KM) * 6.0).reshape(-1, 2, 3),
        np.zeros((len(OUTCOME_KAM), 2, 4, 3)),
    )
    out = Outcome.from_kernel(km, kam)
    assert out.autarky.shape == (2, 3) and out.consumption.shape == (2, 4, 3)
    np.testing.assert_array_equal(out.bloc_price, km[OUTCOME_KM.index("bloc_price")])
    assert out.packages(1, 2).world_price.tolist() == [[3.0, 4.0, 5.0]]

"""The compiled kernels against the numpy formulation they replace (tests/reference_market.py),
on random worlds, policies and profiles: every output of the market and every payoff component
agrees to rounding."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from negotiation.engine._kernels import capacity_kernel, future_capacity_kernel
from negotiation.engine.market import Outcome, clear
from negotiation.engine.payoffs import components, score, utility
from tests.market_cases import random_case
from tests.reference_market import capacity as reference_capacity
from tests.reference_market import clear as reference_clear
from tests.reference_market import components as reference_components


def close(name: str, got: np.ndarray, want: np.ndarray, scale: float | None = None) -> None:
    assert got.shape == want.shape, name
    assert np.isfinite(got).all() and np.isfinite(want).all(), name
    scale = np.abs(want).max(initial=0.0) if scale is None else scale
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * scale + 1e-12, err_msg=name)


@settings(max_examples=100, deadline=None)
@given(random_case())
def test_the_compiled_market_and_payoffs_equal_the_numpy_oracle(case):
    data, pol, prof, offer = case
    got, want = clear(data, pol), reference_clear(data, pol)
    volume = (want.consumption.sum(axis=1) + want.fringe_demand).max()
    # Differences of volumes (the residual of clearing; members' imports, which are members'
    # consumption less their production, ~1e-12 t where the two are equal; what a stockpile
    # buys, supply less demand at the floor) and the money on them are compared on the scale of
    # the volumes and values that cancel in them.
    scales = {
        "excess_demand": volume,
        "bloc_imports": volume,
        "stock_purchases": volume,
        "stock_spending": volume * want.world_price.max(initial=0.0),
        "tariffs_paid": volume * want.bloc_price.max(initial=0.0),
        "tariff_revenue": volume * want.bloc_price.max(initial=0.0),
    }
    for name in Outcome.__dataclass_fields__:
        close(name, getattr(got, name), getattr(want, name), scales.get(name))
    for side in (offer, None):
        close(
            "components",
            components(data, prof, pol, got, side),
            reference_components(data, prof, pol, want, side),
        )


@settings(max_examples=100, deadline=None)
@given(random_case())
def test_warm_starts_do_not_change_the_answer(case):
    """A guess near (or far from) the answer only changes where the price search starts."""
    data, pol, _, _ = case
    cold = clear(data, pol)
    for factor in (1.0, 1.3, 0.01):
        warm = clear(data, pol, cold.world_price * factor, np.maximum(cold.autarky, 1.0) * factor)
        close("world_price", warm.world_price, cold.world_price)
        close("bloc_price", warm.bloc_price, cold.bloc_price)


@settings(max_examples=50, deadline=None)
@given(random_case())
def test_score_is_clear_then_components_then_utility_exactly(case):
    """The model's one-call path gives bit for bit what the three steps give."""
    data, pol, prof, offer = case
    weights = np.linspace(0.5, 2.0, prof.weights.size).reshape(prof.weights.shape)
    guess = clear(data, pol).world_price * 1.1
    out, comp, util = score(data, prof, pol, weights, guess, None, offer)
    want = clear(data, pol, guess)
    for name in Outcome.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(out, name), getattr(want, name), err_msg=name)
    want_comp = components(data, prof, pol, want, offer)
    np.testing.assert_array_equal(comp, want_comp)
    np.testing.assert_array_equal(util, utility(want_comp, weights))


@settings(max_examples=30, deadline=None)
@given(random_case())
def test_packages_may_share_one_row_of_the_inputs_that_do_not_vary(case):
    """capacity, fringe_capacity and demand_shift given once (leading axis 1) for K packages
    give what the same rows repeated K times give."""
    data, pol, _, _ = case
    K = pol.member.shape[0]
    shared = {
        name: np.ascontiguousarray(getattr(pol, name)[:1])
        for name in ("capacity", "fringe_capacity", "demand_shift")
    }
    one_row = dataclasses.replace(pol, **shared)
    repeated = dataclasses.replace(
        pol, **{name: np.repeat(x, K, axis=0) for name, x in shared.items()}
    )
    got, want = clear(data, one_row), clear(data, repeated)
    for name in Outcome.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


@st.composite
def capacity_case(draw):
    A = draw(st.integers(2, 5))
    M = draw(st.integers(1, 3))
    f = st.floats

    def arr(lo, hi, shape):
        n = int(np.prod(shape))
        return np.array(draw(st.lists(f(lo, hi), min_size=n, max_size=n))).reshape(shape)

    cost = arr(1.0, 100.0, (A, M))
    return dict(
        cap=arr(0.0, 1e6, (A, M)),
        fringe_cap=arr(0.0, 1e6, (M,)),
        seller_price=arr(0.5, 300.0, (M,)),
        world_price=arr(0.5, 300.0, (M,)),
        cost=cost,
        fringe_cost=arr(1.0, 100.0, (M,)),
        spread=arr(0.1, 1.5, (M,)),
        # members (1), outsiders (0) and offtake partners with a share of their capacity
        # under contract
        sold=np.clip(arr(-0.5, 1.5, (A, M)), 0.0, 1.0),
        credible=draw(st.booleans()),
        years=draw(f(1 / 12, 1.0)),
        rate=draw(f(0.0, 5.0)),
        retirement=draw(f(0.0, 0.2)),
        base_margin=arr(-1.0, 2.0, (A + 1, M)),
        base_idle=arr(0.0, 1.0, (A + 1, M)),
        losing=np.floor(arr(0.0, 20.0, (A + 1, M))),
        closure_rounds=draw(f(0.0, 15.0)),
        exempt=draw(st.integers(0, A - 1)),
        arriving=arr(0.0, 1e5, (A + 1, M)),
        lagged=draw(st.booleans()),
        closed=arr(0.0, 1e5, (A + 1, M)) * (arr(0, 1, (A + 1, M)) > 0.5),
        restart_margin=draw(f(0.0, 1.0)),
        repaid=np.floor(arr(0.0, 20.0, (A + 1, M))),
        restart_rounds=draw(f(0.0, 15.0)),
        base_price=arr(0.5, 300.0, (M,)),
        opening=arr(0.0, 1e5, (A + 1, M)),
    )


@settings(max_examples=100, deadline=None)
@given(capacity_case())
def test_the_compiled_capacity_round_equals_the_numpy_oracle(case):
    """capacity_kernel (retirement, investment against the baseline margin, closures after a
    streak under water, closed capacity kept and restarted after a streak of prices that repay
    it, arrivals)
    against its numpy statement in tests/reference_market.py."""
    got = capacity_kernel(*case.values())
    want = reference_capacity(*case.values())
    names = ("capacity", "additions", "streak", "closures", "kept", "restarts", "repaid", "beyond")
    assert len(got) == len(want) == len(names)
    for name, g, w in zip(names, got, want):
        close(name, g, w)


@settings(max_examples=100, deadline=None)
@given(capacity_case())
def test_capacity_adds_up_through_closures_and_restarts(case):
    """No capacity appears or vanishes but by retirement and arrivals: what is installed after
    the round, what is kept shut and what was ordered back is what was installed and shut
    before, both written down by the round's retirement, plus what arrived (a producer closing
    nearly all it has closes at most what retirement leaves, so nothing is clipped)."""
    new, additions, _, closures, kept, restarts, _, _ = capacity_kernel(*case.values())
    keep = max(1.0 - case["retirement"] * case["years"], 0.0)
    before = np.vstack([case["cap"], case["fringe_cap"][None]]) + case["closed"]
    arrived = case["arriving"] if case["lagged"] else additions
    np.testing.assert_allclose(new + kept + restarts, before * keep + arrived, rtol=1e-12,
                               atol=1e-6)  # fmt: skip
    assert (new >= 0).all() and (kept >= 0).all() and (closures >= 0).all()


def test_capacity_after_the_pipeline_is_the_numpy_fold_bit_for_bit():
    """`future_capacity_kernel` keeps what is installed at `keep` and adds each round's arrivals
    in their order: the same multiplications and additions as the numpy loop it replaced."""
    rng = np.random.default_rng(0)
    capacity, fringe = rng.random((6, 8)) * 1e5, rng.random(8) * 1e6
    arrivals = rng.random((24, 7, 8)) * 1e3
    keep = 1.0 - 0.04 * 30 / 365
    want = np.vstack([capacity, fringe[None]])
    for arriving in arrivals:
        want = want * keep + arriving
    np.testing.assert_array_equal(future_capacity_kernel(capacity, fringe, arrivals, keep), want)

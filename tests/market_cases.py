"""Random worlds and policies for the market's property tests (test_market, test_kernels)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from negotiation.engine.market import BORDER, PRICE_GAP, STOCKPILE, MarketData, Policies
from negotiation.engine.payoffs import Profiles
from negotiation.rules.types import COMPONENTS


@st.composite
def random_case(draw):
    A = draw(st.integers(2, 5))
    M = draw(st.integers(1, 3))
    K = draw(st.integers(1, 4))
    f = st.floats
    arr = lambda lo, hi, shape: np.array(  # noqa: E731
        draw(st.lists(f(lo, hi), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    ).reshape(shape)
    ref = arr(1.0, 1e6, (M,))
    demand = arr(1.0, 1e6, (M,))
    data = MarketData(
        ref_price=ref,
        demand=demand,
        elasticity=arr(-1.5, -0.1, (M,)),
        fringe_cost=ref * arr(0.3, 1.5, (M,)),
        spread=arr(0.1, 1.5, (M,)),
        cost=ref[None] * arr(0.3, 1.5, (A, M)),
        consumption=demand[None] * arr(0.0, 0.2, (A, M)),
        exposure=arr(0.0, 1.0, (A, M)),
        supplier=A - 1,
    )
    member = arr(0, 1, (K, A)) > 0.5
    member[:, A - 1] = False
    pol = Policies(
        member=member,
        floors=ref[None] * arr(0.0, 3.0, (K, M)) * (arr(0, 1, (K, M)) > 0.4),
        instrument=np.array(
            draw(st.lists(st.sampled_from([BORDER, PRICE_GAP, STOCKPILE]), min_size=K, max_size=K))
        ),  # fmt: skip
        penalty=arr(0.0, 0.5, (K,)),
        stock_budget=(ref * demand)[None] * arr(0.0, 0.5, (K, M)),
        flood=arr(0.0, 0.5, (K, M)),
        control=arr(0.0, 1.0, (K, M)),
        demand_shift=arr(0.5, 1.5, (K, M)),
        capacity=demand[None, None] * arr(0.0, 0.6, (K, A, M)),
        fringe_capacity=demand[None] * arr(0.3, 1.0, (K, M)),
        blanket=arr(0.0, 1.0, (K, M)) * (arr(0, 1, (K, M)) > 0.5),
        # offtake partners: any country but the supplier, in some packages, with some or all
        # of their capacity under contract (a partner that joins is a member: membership wins)
        partner=np.where(
            (arr(0, 1, (K, A)) > 0.6) & (np.arange(A) != A - 1)[None],
            np.minimum(arr(0.05, 1.5, (K, A)), 1.0),
            0.0,
        ),
    )
    prof = Profiles(
        risk_premium=arr(0.0, 1.0, (A,)),
        openness_value=arr(0.0, 1e9, (A,)),
        weights=arr(0.0, 3.0, (A, len(COMPONENTS))),
        cost_sharing=arr(0.01, 1.0, (A,)),
        strategic_weight=draw(f(0, 2)),
        base_supplier_share=arr(0.01, 1.0, (M,)),
        # a stock from a thousandth of a year's demand up: small ones run out in a disruption
        stock_held=demand
        * arr(0.0, 0.2, (M,))
        * 10.0 ** arr(-3.0, 0.0, (M,))
        * (arr(0, 1, (M,)) > 0.5),
        covered=arr(0.0, 1e9, (A, A)) * (arr(0, 1, (A, A)) > 0.5),
        trade_eps=(draw(f(-3.0, -0.2)), draw(f(0.2, 3.0))),
        stock_resale=draw(f(0.0, 1.0)),
        # the price a stock would fetch: around the prices the case clears at, or no mark
        stock_mark=draw(st.sampled_from([np.inf, 0.5, 1.0, 2.0])) * data.ref_price,
        # the stock's book value: up to the reference price a tonne
        stock_book=demand * arr(0.0, 0.2, (M,)) * data.ref_price,
        round_years=draw(st.sampled_from([30 / 365, 0.25, 1.0])),
    )
    offer = arr(0.0, 1e8, (K, A))
    return data, pol, prof, offer

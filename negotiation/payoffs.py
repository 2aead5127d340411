"""Each actor's utility as a sum of named components, in USD per year, for K outcomes at once.

Pure numpy, no Mesa. Components (see `negotiation.types.COMPONENTS`):

- producer_surplus: area left of the actor's supply ramp at the price its producers receive, plus
  (price - cost) on any volume the supplier dumps;
- consumer_cost: -(price paid - reference price) x quantity bought (zero at 2024 prices);
- tariff_revenue: the member's share of tariffs on non-member supply, by its net imports;
- fiscal_outlay: -(member's cost-sharing share of price-gap payments and stockpile purchases);
- supply_security: -risk premium x reference value of consumption x exposure to the supplier, where
  exposure scales with the supplier's share of the market the actor buys in (the bloc's market for a
  member); for the supplier, -strategic weight x value of the bloc's share of world supply;
- openness: -(hub business x the discrimination a member applies: penalty plus average tariff);
- retaliation: -(value of supplier-sourced consumption withheld by export controls) for members,
  plus a side offer received while outside; for the supplier, -(offers paid).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negotiation._kernels import components_kernel, score_kernel
from negotiation.market import MarketData, Outcome, Policies, as_array, as_rows, clear_args
from negotiation.types import COMPONENTS


@dataclass(frozen=True)
class Profiles:
    """Per-actor parameters of the payoffs. Arrays of shape (A,) or (A, M)."""

    risk_premium: np.ndarray  # (A,)
    openness_value: np.ndarray  # (A,) USD/yr
    weights: np.ndarray  # (A, C)
    cost_sharing: np.ndarray  # (A,) or (K, A) raw key, renormalised over members
    strategic_weight: float  # the supplier's value on a small bloc
    base_supplier_share: np.ndarray  # (M,) the supplier's share of world supply at reference


def components(
    data: MarketData,
    prof: Profiles,
    pol: Policies,
    out: Outcome,
    side_offer: np.ndarray | None = None,
) -> np.ndarray:
    """Utility components, shape (K, A, C), USD per year. `side_offer`: (K, A) USD/yr.

    Computed as the module docstring says by `negotiation._kernels.components_kernel` (its numpy
    form is the test oracle in tests/reference_market.py)."""
    a = _profile_args(data, prof, pol, side_offer)
    # components_kernel takes the profiles, then the outcome, then the side offers
    comp = components_kernel(
        *a[:-1],
        out.world_price,
        out.bloc_price,
        out.producer_price,
        out.consumer_price,
        out.consumption,
        out.fringe_demand,
        out.tariff_revenue,
        out.gap_payments,
        out.stock_spending,
        out.supplier_share,
        out.bloc_share,
        out.supplier_share_of_bloc,
        a[-1],
    )
    assert comp.shape[2] == len(COMPONENTS)
    return comp


def _profile_args(data: MarketData, prof: Profiles, pol: Policies, side_offer) -> tuple:
    """The arguments of `components_kernel` other than the outcome, in its compiled types."""
    K, A = pol.member.shape
    M = data.cost.shape[1]
    f = as_array
    return (
        data.ref_price,
        data.cost,
        data.spread,
        data.consumption,
        data.exposure,
        data.supplier,
        f(prof.risk_premium, (A,)),
        f(prof.openness_value, (A,)),
        f(prof.cost_sharing, (K, A)),
        float(prof.strategic_weight),
        f(prof.base_supplier_share, (M,)),
        f(pol.member, (K, A), np.bool_),
        f(pol.penalty, (K,)),
        f(pol.flood, (K, M)),
        f(pol.control, (K, M)),
        as_rows(pol.capacity, (K, A, M)),
        f(0.0 if side_offer is None else side_offer, (K, A)),
    )


def utility(comp: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted sum of components: (K, A, C) x (A, C) -> (K, A), USD per year."""
    return (comp * weights[None]).sum(axis=2)


def score(
    data: MarketData,
    prof: Profiles,
    pol: Policies,
    weights: np.ndarray,
    guess: np.ndarray | None = None,
    autarky_guess: np.ndarray | None = None,
    side_offer: np.ndarray | None = None,
) -> tuple[Outcome, np.ndarray, np.ndarray]:
    """`clear`, `components` and `utility` one after another, in one compiled call (the
    model's `batch_kernel` builds its batches' arrays and calls the same compiled code):
    (outcome, components (K, A, C), utility (K, A)), the same numbers."""
    outcome, comp, util = score_kernel(
        clear_args(data, pol, guess, autarky_guess),
        _profile_args(data, prof, pol, side_offer),
        as_array(weights, (pol.member.shape[1], len(COMPONENTS))),
    )
    return Outcome.from_kernel(*outcome), comp, util

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

from negotiation.market import MarketData, Outcome, Policies, ramp_surplus
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
    """Utility components, shape (K, A, C), USD per year. `side_offer`: (K, A) USD/yr."""
    K, A, M = out.production.shape
    member = pol.member[:, :, None]
    sup = data.supplier
    ref = data.ref_price[None, None, :]
    comp = np.zeros((K, A, len(COMPONENTS)))

    # Producer surplus: the ramp at the producer price; the supplier's flood volume at (p - c).
    cap = pol.capacity.copy()
    member_cons_share = (out.consumption * member).sum(axis=1) / np.maximum(
        out.consumption.sum(axis=1) + out.fringe_demand, 1e-300
    )
    cap[:, sup, :] *= 1.0 - np.clip(pol.control, 0, 1) * member_cons_share
    ps = ramp_surplus(out.producer_price, cap, data.cost[None], data.spread[None, None, :])
    flood_q = pol.flood * pol.capacity[:, sup, :]
    ps[:, sup, :] += (out.world_price - data.cost[sup][None]) * flood_q
    comp[..., 0] = ps.sum(axis=2)

    comp[..., 1] = -((out.consumer_price - ref) * out.consumption).sum(axis=2)
    comp[..., 2] = out.tariff_revenue.sum(axis=2)

    key = np.broadcast_to(prof.cost_sharing, pol.member.shape) * pol.member
    key = key / np.maximum(key.sum(axis=1, keepdims=True), 1e-300)
    bloc_outlay = (out.gap_payments + out.stock_spending).sum(axis=1)  # (K,)
    comp[..., 3] = -key * bloc_outlay[:, None]

    base = np.maximum(prof.base_supplier_share, 1e-9)[None, None, :]
    market_share = np.where(
        member, out.supplier_share_of_bloc[:, None, :], out.supplier_share[:, None, :]
    )
    dependence = data.exposure[None] * np.clip(market_share / base, 0.0, 2.0)
    value = ref * data.consumption[None]
    comp[..., 4] = -prof.risk_premium[None, :] * (value * dependence).sum(axis=2)
    world_value = out.world_price * (out.consumption.sum(axis=1) + out.fringe_demand)  # (K, M)
    comp[:, sup, 4] = -prof.strategic_weight * (out.bloc_share * world_value).sum(axis=1)

    avg_tariff = np.where(
        pol.member.any(axis=1),
        ((out.bloc_price - out.world_price) / out.world_price).mean(axis=1),
        0.0,
    )
    discrimination = np.clip(pol.penalty + avg_tariff, 0.0, 1.0)
    comp[..., 5] = -prof.openness_value[None, :] * discrimination[:, None] * pol.member

    controlled = np.clip(pol.control, 0, 1)[:, None, :] * data.exposure[None] * member
    comp[..., 6] = -(controlled * out.world_price[:, None, :] * data.consumption[None]).sum(axis=2)
    if side_offer is not None:
        received = side_offer * ~pol.member
        comp[..., 6] += received
        comp[:, sup, 6] -= received.sum(axis=1)
    return comp


def utility(comp: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted sum of components: (K, A, C) x (A, C) -> (K, A), USD per year."""
    return (comp * weights[None]).sum(axis=2)

"""Mineral markets: clear every mineral under a bloc policy, for many counterfactual packages.

Pure numpy, no Mesa. Arrays are indexed [package k, actor a, mineral m]; nothing loops over minerals
or packages in Python.

The world in one paragraph. Each mineral has a world price P_w. Bloc members form a second market
with price P_b, between P_w (the bloc exports, or trades at world parity) and the landed price of
outside supply L = max(F, P_w) + penalty * P_w under a border-adjusted floor F (the variable tariff
lifts outside supply to the floor), or (1 + penalty) * P_w under the other instruments; inside those
bounds P_b is the bloc's own clearing price. Under a price-gap floor members' producers receive
max(P_b, F), the gap paid from members' budgets. Under a stockpile floor a fund buys on the world
market at the floor until its per-round budget is spent. Producers (actors and a rest-of-world
fringe)
supply along a linear ramp around their unit cost; demand has a constant elasticity. The dominant
supplier can flood (sell extra volume at any price) or withhold exports aimed at members.

Units: quantities in tonnes per year, prices in USD per tonne, money flows in USD per year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negotiation._prices import find_prices
from negotiation.types import INSTRUMENT_CODES, Instrument

BORDER = INSTRUMENT_CODES[Instrument.BORDER]
PRICE_GAP = INSTRUMENT_CODES[Instrument.PRICE_GAP]
STOCKPILE = INSTRUMENT_CODES[Instrument.STOCKPILE]

#: Search brackets for every price, as multiples of the reference price (see negotiation._prices).
PRICE_LO, PRICE_HI = 1e-3, 1e6


@dataclass(frozen=True)
class MarketData:
    """The fixed description of the minerals and producers (from the scenario).

    ref_price, demand, elasticity, fringe_cost, spread: shape (M,)
    cost, consumption, exposure: shape (A, M)
    supplier: index of the dominant supplier among the actors.
    """

    ref_price: np.ndarray
    demand: np.ndarray
    elasticity: np.ndarray
    fringe_cost: np.ndarray
    spread: np.ndarray
    cost: np.ndarray
    consumption: np.ndarray
    exposure: np.ndarray
    supplier: int

    @property
    def fringe_demand(self) -> np.ndarray:
        """Rest-of-world buyers at the reference price: world demand less the actors', t/yr."""
        return np.maximum(self.demand - self.consumption.sum(axis=0), 0.0)


@dataclass(frozen=True)
class Policies:
    """K packages to clear side by side.

    member: (K, A) bool; floors: (K, M) USD/t, 0 = no floor; instrument, penalty: (K,);
    stock_budget: (K, M) USD per year the fund may spend on each mineral;
    flood, control: (K, M) supplier's extra volume and withheld share, as fractions of its
    capacity; demand_shift: (K, M) multiplier on demand; capacity: (K, A, M) and
    fringe_capacity: (K, M) in t/yr.
    """

    member: np.ndarray
    floors: np.ndarray
    instrument: np.ndarray
    penalty: np.ndarray
    stock_budget: np.ndarray
    flood: np.ndarray
    control: np.ndarray
    demand_shift: np.ndarray
    capacity: np.ndarray
    fringe_capacity: np.ndarray


@dataclass(frozen=True)
class Outcome:
    """Cleared markets for K packages. Prices (K, M) in USD/t; quantities in t/yr."""

    world_price: np.ndarray
    bloc_price: np.ndarray
    producer_price: np.ndarray  # (K, A, M): price each actor's producers receive
    consumer_price: np.ndarray  # (K, A, M): price each actor's buyers pay
    production: np.ndarray  # (K, A, M), including any flood volume
    consumption: np.ndarray  # (K, A, M)
    fringe_supply: np.ndarray
    fringe_demand: np.ndarray
    bloc_imports: np.ndarray  # (K, M): non-member supply bought by members, >= 0
    tariff_revenue: np.ndarray  # (K, A, M) USD/yr collected by each member
    tariffs_paid: np.ndarray  # (K, M) USD/yr paid on bloc imports
    gap_payments: np.ndarray  # (K, M) USD/yr paid to members' producers
    stock_purchases: np.ndarray  # (K, M) t/yr bought by the fund
    stock_spending: np.ndarray  # (K, M) USD/yr
    excess_demand: np.ndarray  # (K, M) t/yr left uncleared (should be ~0)
    supplier_share: np.ndarray  # (K, M) of world supply
    bloc_share: np.ndarray  # (K, M) of world supply produced by members
    supplier_share_of_bloc: np.ndarray  # (K, M) of members' consumption sourced from the supplier
    withheld: np.ndarray  # (K, M) t/yr the supplier keeps from the market by export controls
    autarky: np.ndarray  # (K, M) the price that would clear members' market alone (0: no bloc)


def ramp_supply(price: np.ndarray, capacity: np.ndarray, cost: np.ndarray, spread: np.ndarray):
    """Output of producers whose costs spread evenly over cost * (1 -/+ spread/2), t/yr."""
    lo = cost * (1.0 - 0.5 * spread)
    return capacity * np.clip((price - lo) / (cost * spread), 0.0, 1.0)


def ramp_surplus(price: np.ndarray, capacity: np.ndarray, cost: np.ndarray, spread: np.ndarray):
    """Producer surplus of the ramp supply at `price`: the area left of the curve, USD/yr."""
    width = cost * spread
    lo = cost * (1.0 - 0.5 * spread)
    x = np.clip(price - lo, 0.0, None)
    inside = capacity * x * x / (2.0 * width)
    beyond = capacity * (0.5 * width + (x - width))
    return np.where(x <= width, inside, beyond)


def isoelastic(price: np.ndarray, base: np.ndarray, ref: np.ndarray, elasticity: np.ndarray):
    """Demand at `price` given `base` at the reference price, t/yr."""
    return base * (price / ref) ** elasticity


def clear(
    data: MarketData,
    pol: Policies,
    guess: np.ndarray | None = None,
    autarky_guess: np.ndarray | None = None,
) -> Outcome:
    """Clear all minerals of all K packages at once.

    guess, autarky_guess: world and bloc-autarky prices, (M,) or (K, M), expected near the answer
    (last round's), to start the search from a narrow bracket; results do not depend on them
    beyond the solver's tolerance.
    """
    K = pol.member.shape[0]
    A, M = data.cost.shape
    ref = data.ref_price[None, :]
    eps = data.elasticity[None, :]
    member = pol.member[:, :, None]  # (K, A, 1)
    outsider = ~member
    has_bloc = pol.member.any(axis=1)[:, None]  # (K, 1)
    floors = pol.floors
    gap = (pol.instrument == PRICE_GAP)[:, None] & (floors > 0)
    border = (pol.instrument == BORDER)[:, None] & (floors > 0)
    # A fund with no members behind it buys nothing.
    stock = (pol.instrument == STOCKPILE)[:, None] & (floors > 0) & (pol.stock_budget > 0)
    stock &= pol.member.any(axis=1)[:, None]
    pen = pol.penalty[:, None]

    cons_base = data.consumption[None, :, :] * pol.demand_shift[:, None, :]  # (K, A, M)
    bloc_cons_base = (cons_base * member).sum(axis=1)  # (K, M)
    out_cons_base = (cons_base * outsider).sum(axis=1) + data.fringe_demand[None] * pol.demand_shift
    # Demand as a function of log price: base * exp(eps * (log p - log ref)).
    log_ref = np.log(ref)
    bloc_d0 = bloc_cons_base * np.exp(-eps * log_ref)
    out_d0 = out_cons_base * np.exp(-eps * log_ref)

    sup = data.supplier
    cap = pol.capacity.copy()
    # Export controls aimed at members: the supplier withholds the share of its output that
    # members would buy (their share of world consumption) times the control intensity.
    member_cons_share = bloc_cons_base / np.maximum(bloc_cons_base + out_cons_base, 1e-300)
    withhold_frac = np.clip(pol.control, 0, 1) * member_cons_share
    cap[:, sup, :] *= 1.0 - withhold_frac
    flood_q = pol.flood * pol.capacity[:, sup, :]  # (K, M) sold whatever the price

    cost = data.cost[None]
    spread = data.spread[None, None, :]
    ramp_lo = cost * (1.0 - 0.5 * spread)  # (1, A, M)
    ramp_inv = 1.0 / (cost * spread)
    # Outsiders and the fringe share the world price: one (K, A + 1, M) block.
    out_cap = np.concatenate([cap * outsider, pol.fringe_capacity[:, None, :]], axis=1)
    f_lo = (data.fringe_cost * (1.0 - 0.5 * data.spread))[None, None, :]
    f_inv = (1.0 / (data.fringe_cost * data.spread))[None, None, :]
    out_lo = np.concatenate([np.broadcast_to(ramp_lo, (1, A, M)), f_lo], axis=1)
    out_inv = np.concatenate([np.broadcast_to(ramp_inv, (1, A, M)), f_inv], axis=1)

    def log_of(g):
        if g is None:
            return np.full((K, M), np.nan)
        return np.log(np.maximum(np.broadcast_to(g, (K, M)), ref * 1e-6))

    p_w, autarky = find_prices(
        np.ascontiguousarray(bloc_d0),
        np.ascontiguousarray(out_d0),
        data.elasticity,
        np.ascontiguousarray(cap * member),
        np.ascontiguousarray(out_cap),
        np.ascontiguousarray(ramp_lo[0]),
        np.ascontiguousarray(ramp_inv[0]),
        np.ascontiguousarray(out_lo[0]),
        np.ascontiguousarray(out_inv[0]),
        np.ascontiguousarray(flood_q),
        np.ascontiguousarray(floors, dtype=float),
        np.ascontiguousarray(gap),
        np.ascontiguousarray(border),
        np.ascontiguousarray(stock),
        np.ascontiguousarray(np.broadcast_to(pol.stock_budget, (K, M)), dtype=float),
        np.ascontiguousarray(pol.penalty, dtype=float),
        np.ascontiguousarray(has_bloc[:, 0]),
        np.ascontiguousarray(bloc_cons_base),
        np.log(data.ref_price * PRICE_LO),
        np.log(data.ref_price * PRICE_HI),
        log_of(guess),
        log_of(autarky_guess),
    )

    def bloc_price(p_w):
        landed = np.where(border, np.maximum(floors, p_w), p_w) + pen * p_w
        return np.where(has_bloc, np.minimum(np.maximum(autarky, p_w), landed), p_w)

    p_b = bloc_price(p_w)
    p_prod_bloc = np.where(gap, np.maximum(p_b, floors), p_b)
    producer_price = np.where(member, p_prod_bloc[:, None, :], p_w[:, None, :])
    consumer_price = np.where(member, p_b[:, None, :], p_w[:, None, :])

    production = ramp_supply(producer_price, cap, cost, spread)
    production[:, sup, :] += flood_q
    consumption = isoelastic(consumer_price, cons_base, ref[:, None, :], eps[:, None, :])
    fringe_supply = ramp_supply(p_w, pol.fringe_capacity, data.fringe_cost[None], data.spread[None])
    fringe_demand = isoelastic(p_w, data.fringe_demand[None] * pol.demand_shift, ref, eps)

    member_prod = (production * member).sum(axis=1)
    member_cons = (consumption * member).sum(axis=1)
    world_supply = production.sum(axis=1) + fringe_supply
    world_cons = consumption.sum(axis=1) + fringe_demand

    # The stockpile buys what the world does not at the floor, up to its budget.
    budget_q = pol.stock_budget / np.maximum(p_w, 1e-300)
    stock_q = np.where(
        stock & (p_w <= floors),
        np.clip(world_supply - world_cons, 0.0, budget_q),
        0.0,
    )
    stock_spending = stock_q * p_w

    bloc_imports = np.maximum(member_cons - member_prod, 0.0) * has_bloc
    tariff_rate = p_b - p_w
    tariffs_paid = tariff_rate * bloc_imports
    net_imports = np.maximum(consumption - production, 0.0) * member
    share_of_imports = net_imports / np.maximum(net_imports.sum(axis=1, keepdims=True), 1e-300)
    tariff_revenue = share_of_imports * tariffs_paid[:, None, :]
    gap_payments = np.where(gap, (p_prod_bloc - p_b) * member_prod, 0.0)

    excess = world_cons + stock_q - world_supply
    supplier_q = production[:, sup, :]
    supplier_share = supplier_q / np.maximum(world_supply, 1e-300)
    outside_q = world_supply - member_prod
    supplier_share_of_outside = supplier_q / np.maximum(outside_q, 1e-300)
    supplier_share_of_bloc = np.where(
        has_bloc,
        np.clip(bloc_imports / np.maximum(member_cons, 1e-300), 0, 1) * supplier_share_of_outside,
        supplier_share,
    )
    return Outcome(
        world_price=p_w,
        bloc_price=p_b,
        producer_price=producer_price,
        consumer_price=consumer_price,
        production=production,
        consumption=consumption,
        fringe_supply=fringe_supply,
        fringe_demand=fringe_demand,
        bloc_imports=bloc_imports,
        tariff_revenue=tariff_revenue,
        tariffs_paid=tariffs_paid,
        gap_payments=gap_payments,
        stock_purchases=stock_q,
        stock_spending=stock_spending,
        excess_demand=excess,
        supplier_share=np.clip(supplier_share, 0, 1),
        bloc_share=np.clip(member_prod / np.maximum(world_supply, 1e-300), 0, 1),
        supplier_share_of_bloc=np.clip(supplier_share_of_bloc, 0, 1),
        withheld=withhold_frac * pol.capacity[:, sup, :],
        autarky=autarky,
    )


def single(pol_kwargs: dict) -> Policies:
    """Policies for one package from unbatched arrays (adds the leading K axis)."""
    return Policies(**{k: np.asarray(v)[None] for k, v in pol_kwargs.items()})

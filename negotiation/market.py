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

from negotiation.types import INSTRUMENT_CODES, Instrument

BORDER = INSTRUMENT_CODES[Instrument.BORDER]
PRICE_GAP = INSTRUMENT_CODES[Instrument.PRICE_GAP]
STOCKPILE = INSTRUMENT_CODES[Instrument.STOCKPILE]

#: Bisection brackets, as multiples of the reference price, and the number of halvings (in log
#: space the bracket is 21 e-folds wide; 2**-42 of it is a relative error of about 5e-12).
PRICE_LO, PRICE_HI, ITERATIONS = 1e-3, 1e6, 42


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


def clear(data: MarketData, pol: Policies) -> Outcome:
    """Clear all minerals of all K packages at once."""
    K = pol.member.shape[0]
    A, M = data.cost.shape
    ref = data.ref_price[None, :]
    eps = data.elasticity[None, :]
    spread = data.spread[None, None, :]
    member = pol.member[:, :, None]  # (K, A, 1)
    outsider = ~member
    has_bloc = pol.member.any(axis=1)[:, None]  # (K, 1)
    floors = pol.floors
    gap = (pol.instrument == PRICE_GAP)[:, None] & (floors > 0)
    border = (pol.instrument == BORDER)[:, None] & (floors > 0)
    stock = (pol.instrument == STOCKPILE)[:, None] & (floors > 0) & (pol.stock_budget > 0)
    pen = pol.penalty[:, None]

    cons_base = data.consumption[None, :, :] * pol.demand_shift[:, None, :]  # (K, A, M)
    bloc_cons_base = (cons_base * member).sum(axis=1)  # (K, M)
    out_cons_base = (cons_base * outsider).sum(axis=1) + data.fringe_demand[None] * pol.demand_shift

    sup = data.supplier
    cap = pol.capacity.copy()
    # Export controls aimed at members: the supplier withholds the share of its output that
    # members would buy (their share of world consumption) times the control intensity.
    member_cons_share = bloc_cons_base / np.maximum(bloc_cons_base + out_cons_base, 1e-300)
    withhold_frac = np.clip(pol.control, 0, 1) * member_cons_share
    cap[:, sup, :] *= 1.0 - withhold_frac
    flood_q = pol.flood * pol.capacity[:, sup, :]  # (K, M) sold whatever the price

    cost = data.cost[None]
    member_cap = cap * member
    outsider_cap = cap * outsider

    def member_supply(p_bloc):
        p_prod = np.where(gap, np.maximum(p_bloc, floors), p_bloc)[:, None, :]
        return ramp_supply(p_prod, member_cap, cost, spread).sum(axis=1)

    def outside_supply(p_w):
        s = ramp_supply(p_w[:, None, :], outsider_cap, cost, spread).sum(axis=1)
        s += ramp_supply(p_w, pol.fringe_capacity, data.fringe_cost[None], data.spread[None])
        return s + flood_q

    # 1. The bloc's autarky price (does not depend on the world price).
    lo = np.log(ref * PRICE_LO) * np.ones((K, M))
    hi = np.log(ref * PRICE_HI) * np.ones((K, M))
    if bool(has_bloc.any()):
        a_lo, a_hi = lo.copy(), hi.copy()
        for _ in range(ITERATIONS):
            mid = 0.5 * (a_lo + a_hi)
            p = np.exp(mid)
            excess = isoelastic(p, bloc_cons_base, ref, eps) - member_supply(p)
            up = excess > 0
            a_lo = np.where(up, mid, a_lo)
            a_hi = np.where(up, a_hi, mid)
        autarky = np.exp(0.5 * (a_lo + a_hi))
        autarky = np.where(bloc_cons_base > 0, autarky, 0.0)
    else:
        autarky = np.zeros((K, M))

    def bloc_price(p_w):
        landed = np.where(border, np.maximum(floors, p_w), p_w) + pen * p_w
        return np.where(has_bloc, np.clip(autarky, p_w, landed), p_w)

    def world_excess(p_w):
        p_b = bloc_price(p_w)
        d = isoelastic(p_b, bloc_cons_base, ref, eps) + isoelastic(p_w, out_cons_base, ref, eps)
        s = member_supply(p_b) + outside_supply(p_w)
        budget_q = np.where(stock & (p_w < floors), pol.stock_budget / np.maximum(p_w, 1e-300), 0)
        return d + budget_q - s

    # 2. The world price.
    w_lo, w_hi = lo, hi
    for _ in range(ITERATIONS):
        mid = 0.5 * (w_lo + w_hi)
        up = world_excess(np.exp(mid)) > 0
        w_lo = np.where(up, mid, w_lo)
        w_hi = np.where(up, w_hi, mid)
    p_w = np.exp(0.5 * (w_lo + w_hi))
    # A stockpile floor that holds pins the price at the floor exactly.
    at_floor = stock & (np.abs(p_w - floors) <= 1e-9 * floors)
    p_w = np.where(at_floor, floors, p_w)

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
    )


def single(pol_kwargs: dict) -> Policies:
    """Policies for one package from unbatched arrays (adds the leading K axis)."""
    return Policies(**{k: np.asarray(v)[None] for k, v in pol_kwargs.items()})

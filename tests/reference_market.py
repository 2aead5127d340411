"""The market and payoffs in plain numpy: the formulation the compiled kernels of
`negotiation.engine._kernels` replace, kept as their test oracle (tests/test_kernels.py holds the
two together on random packages). Read this to see the model as array algebra."""

from __future__ import annotations

import numpy as np

from negotiation.engine._kernels import DISRUPTION_YEARS, HOME_PRICE_FLOOR, find_prices
from negotiation.engine.market import (
    BORDER,
    PRICE_GAP,
    PRICE_HI,
    PRICE_LO,
    STOCKPILE,
    MarketData,
    Outcome,
    Policies,
    isoelastic,
    ramp_supply,
    ramp_surplus,
)
from negotiation.engine.payoffs import Profiles
from negotiation.rules.types import COMPONENTS


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
    has_bloc = pol.member.any(axis=1)[:, None]  # (K, 1)
    # Who sells into the bloc's market: members, all their capacity, and a bloc's offtake
    # partners, the share under contract; the rest sells at the world price.
    partner = np.clip(np.broadcast_to(np.asarray(pol.partner, dtype=float), (K, A)), 0, 1)
    seller = np.where(member, 1.0, (partner * has_bloc)[:, :, None])  # (K, A, 1)
    outsider = 1.0 - seller
    floors = pol.floors
    gap = (pol.instrument == PRICE_GAP)[:, None] & (floors > 0)
    border = (pol.instrument == BORDER)[:, None] & (floors > 0)
    # A fund with no members behind it buys nothing.
    stock = (pol.instrument == STOCKPILE)[:, None] & (floors > 0) & (pol.stock_budget > 0)
    stock &= pol.member.any(axis=1)[:, None]
    pen = pol.penalty[:, None]

    cons_base = data.consumption[None, :, :] * pol.demand_shift[:, None, :]  # (K, A, M)
    bloc_cons_base = (cons_base * member).sum(axis=1)  # (K, M)
    out_cons_base = (cons_base * ~member).sum(axis=1) + data.fringe_demand[None] * pol.demand_shift
    # Demand as a function of log price: base * exp(eps * (log p - log ref)).
    log_ref = np.log(ref)
    bloc_d0 = bloc_cons_base * np.exp(-eps * log_ref)
    out_d0 = out_cons_base * np.exp(-eps * log_ref)

    sup = data.supplier
    cap = pol.capacity.copy()
    # Export controls aimed at members: the supplier withholds the share of its output that
    # members would buy (their share of world consumption) times the control intensity; blanket
    # controls withhold the share every foreign buyer would buy.
    total_cons = np.maximum(bloc_cons_base + out_cons_base, 1e-300)
    member_cons_share = bloc_cons_base / total_cons
    foreign_share = 1.0 - cons_base[:, sup, :] / total_cons
    withhold_frac = np.clip(
        np.clip(pol.control, 0, 1) * member_cons_share + np.clip(pol.blanket, 0, 1) * foreign_share,
        0,
        1,
    )
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

    p_w, autarky = np.empty((K, M)), np.empty((K, M))  # the search writes its prices here
    find_prices(
        np.ascontiguousarray(bloc_d0),
        np.ascontiguousarray(out_d0),
        data.elasticity,
        np.ascontiguousarray(cap * seller),
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
        p_w,
        autarky,
    )

    def bloc_price(p_w):
        landed = np.where(border, np.maximum(floors, p_w), p_w) + pen * p_w
        return np.where(has_bloc, np.minimum(np.maximum(autarky, p_w), landed), p_w)

    p_b = bloc_price(p_w)
    p_prod_bloc = np.where(gap, np.maximum(p_b, floors), p_b)
    consumer_price = np.where(member, p_b[:, None, :], p_w[:, None, :])

    sold_in = ramp_supply(p_prod_bloc[:, None, :], cap * seller, cost, spread)
    sold_out = ramp_supply(p_w[:, None, :], cap * outsider, cost, spread)
    production = sold_in + sold_out
    # the average price of what each sold (of its capacity, where it sold nothing)
    weight = np.where(production > 0, sold_in / np.where(production > 0, production, 1), seller)
    producer_price = p_w[:, None, :] + (p_prod_bloc - p_w)[:, None, :] * weight
    production[:, sup, :] += flood_q
    consumption = isoelastic(consumer_price, cons_base, ref[:, None, :], eps[:, None, :])
    fringe_supply = ramp_supply(p_w, pol.fringe_capacity, data.fringe_cost[None], data.spread[None])
    fringe_demand = isoelastic(p_w, data.fringe_demand[None] * pol.demand_shift, ref, eps)

    member_prod = (production * member).sum(axis=1)
    seller_prod = sold_in.sum(axis=1)
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

    bloc_imports = np.maximum(member_cons - seller_prod, 0.0) * has_bloc
    tariff_rate = p_b - p_w
    tariffs_paid = tariff_rate * bloc_imports
    net_imports = np.maximum(consumption - production, 0.0) * member
    share_of_imports = net_imports / np.maximum(net_imports.sum(axis=1, keepdims=True), 1e-300)
    tariff_revenue = share_of_imports * tariffs_paid[:, None, :]
    gap_payments = np.where(gap, (p_prod_bloc - p_b) * seller_prod, 0.0)

    excess = world_cons + stock_q - world_supply
    supplier_q = production[:, sup, :]
    supplier_share = supplier_q / np.maximum(world_supply, 1e-300)
    withheld = withhold_frac * pol.capacity[:, sup, :]
    # Members' producers, and the offtake partners', sell to members first where the package
    # gives them a reason: a bloc price above the world price, or a price-gap payment. Everyone
    # else buys from one pool, in which what export controls hold back still counts as the
    # supplier's.
    wedge = has_bloc & ((p_b > p_w * (1 + 1e-9)) | gap)
    secured = np.where(wedge, np.minimum(seller_prod, member_cons), 0.0)
    pool_share = np.clip(
        (supplier_q + withheld) / np.maximum(world_supply + withheld - secured, 1e-300), 0, 1
    )
    bought = member_cons > 0
    supplier_share_of_bloc = np.where(
        bought, (1 - secured / np.where(bought, member_cons, 1.0)) * pool_share, pool_share
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
        withheld=withheld,
        autarky=autarky,
        supplier_share_outside=pool_share,
        secured=secured,
        support_ratio=np.ones((K, M)),
        seller_price=p_prod_bloc,
        bloc_sales_share=np.broadcast_to(seller, (K, A, M)).copy(),
    )


def stock_kept(prof, out) -> np.ndarray:
    """What the stockpile's purchases are worth as an asset, (K, M) USD/yr."""
    mark = np.broadcast_to(np.asarray(prof.stock_mark, dtype=float), out.world_price.shape[1:])
    price = np.maximum(out.world_price, 1e-300)
    value = float(prof.stock_resale) * out.stock_spending * np.minimum(1.0, mark / price)
    return np.where(out.stock_spending > 0, value, 0.0)


def cut_off(data: MarketData, prof: Profiles, pol: Policies, out: Outcome) -> tuple:
    """Each buyer's dependence on the supplier (its exposure moved by the supplier's share of
    the supply it buys from, (K, A, M)), what export controls cut off of its supply (that
    dependence, at most all it buys, times the share withheld from it: aimed controls hit
    members, blanket ones every buyer; (K, A, M) t/yr), and the function that moves exposure."""
    M = data.cost.shape[1]
    member = pol.member[:, :, None]
    base = np.broadcast_to(np.asarray(prof.base_supplier_share, dtype=float), (M,))[None, :]
    none = base <= 1e-9  # the supplier has no share at the calibration: exposure as given

    def moved(share):
        return np.where(none, 1.0, np.clip(share / np.where(none, 1.0, base), 0.0, 2.0))

    market_share = np.where(
        member, out.supplier_share_of_bloc[:, None, :], out.supplier_share_outside[:, None, :]
    )
    dependence = data.exposure[None] * moved(market_share)
    hit = np.minimum(
        np.clip(pol.blanket, 0, 1)[:, None, :] + np.clip(pol.control, 0, 1)[:, None, :] * member,
        1.0,
    )
    return dependence, hit * np.minimum(dependence, 1) * data.consumption[None], moved


def members_cut(data: MarketData, prof: Profiles, pol: Policies, out: Outcome) -> np.ndarray:
    """What export controls cut off of the members' supply together, (K, M) t/yr: the share
    withheld from members times the sum of their supplier-sourced consumption (summed first,
    then scaled, as the kernel does, so that the two agree on what is zero)."""
    dependence = cut_off(data, prof, pol, out)[0]
    hit = np.minimum(np.clip(pol.blanket, 0, 1) + np.clip(pol.control, 0, 1), 1.0)
    base = np.minimum(dependence, 1) * data.consumption[None] * pol.member[:, :, None]
    return base.sum(axis=1) * hit


def stock_used(data: MarketData, prof: Profiles, pol: Policies, out: Outcome) -> np.ndarray:
    """The book value of the stock released to members in a disruption, (K,) USD/yr."""
    return stock_released(prof, pol, members_cut(data, prof, pol, out))[1]


def stock_released(prof, pol, cut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stock released to members when export controls cut `cut` (K, M) t/yr of
    their supply: (released (K, M) t/yr, up to the stock held over the round; the book value
    of those tonnes (K,) USD/yr)."""
    M = cut.shape[1]
    stock = np.broadcast_to(np.asarray(prof.stock_held, dtype=float), (M,))[None]
    book = np.broadcast_to(np.asarray(prof.stock_book, dtype=float), (M,))[None]
    has_bloc = pol.member.any(axis=1)[:, None]
    years = float(prof.round_years)
    released = np.where(has_bloc & (stock > 0), np.minimum(stock / years, cut), 0.0)
    # the released share of the stock, at most 1 / years (a ratio: no overflow on tiny stocks)
    part = np.where(released > 0, released / np.where(stock > 0, stock, 1.0), 0.0)
    return released, (book * part).sum(axis=1)


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

    # Producer surplus: the ramp, on capacity net of what export controls hold back, at the
    # bloc's producer price for the share that sells into its market and at the world price for
    # the rest; the supplier's flood volume at (p - reference price).
    cap = pol.capacity.copy()
    cap[:, sup, :] = np.maximum(cap[:, sup, :] - out.withheld, 0.0)
    sold = out.bloc_sales_share
    cost, spread = data.cost[None], data.spread[None, None, :]
    ps = ramp_surplus(out.seller_price[:, None, :], cap * sold, cost, spread) + ramp_surplus(
        out.world_price[:, None, :], cap * (1 - sold), cost, spread
    )
    flood_q = pol.flood * pol.capacity[:, sup, :]
    ps[:, sup, :] += (out.world_price - data.ref_price[None]) * flood_q
    # What export controls keep at home goes to the supplier's buyers, at the price they take it.
    paid = out.consumer_price.copy()
    bought = out.consumption.copy()
    w, b = out.withheld, out.consumption[:, sup, :]
    sells = (w > 0) & (b > 0)
    ratio = np.where(sells, (b + w) / np.where(sells, b, 1.0), 1.0)
    p_free = out.world_price * ratio ** (1 / data.elasticity[None])
    home = sells & (p_free >= data.cost[sup][None])  # below its cost the capacity stays idle
    floor = data.ref_price[None] * HOME_PRICE_FLOOR
    p_home = np.maximum(p_free, floor)
    # at the floor the home buyers take only what they demand there
    extra = np.where(p_free < floor, b * (p_home / out.world_price) ** data.elasticity[None] - b, w)
    paid[:, sup, :] = np.where(home, p_home, paid[:, sup, :])
    bought[:, sup, :] = np.where(home, b + extra, b)
    ps[:, sup, :] += np.where(
        home, (p_home - data.cost[sup][None]) * extra - (out.world_price - p_home) * b, 0.0
    )
    comp[..., 0] = ps.sum(axis=2)
    # Consumer surplus lost against the reference price, on each buyer's demand curve.
    e = data.elasticity[None, None, :]
    q_ref = bought * (paid / ref) ** (-e)
    unit = np.abs(1 + e) < 1e-9
    lost = np.where(
        unit,
        q_ref * ref * np.log(paid / ref),
        (paid * bought - ref * q_ref) / np.where(unit, 1.0, 1 + e),
    )
    comp[..., 1] = -np.where(bought > 0, lost, 0.0).sum(axis=2)
    comp[..., 2] = out.tariff_revenue.sum(axis=2)

    key = np.broadcast_to(prof.cost_sharing, pol.member.shape) * pol.member
    key = key / np.maximum(key.sum(axis=1, keepdims=True), 1e-300)
    # the stockpile's purchases net of the stock they buy: tonnes worth stock_resale x the
    # lower of the price paid (the world price) and the price without support (stock_mark)
    bloc_outlay = (out.gap_payments + out.stock_spending - stock_kept(prof, out)).sum(axis=1)

    # Supply security from flows, the same way in and out; a stockpile covers members.
    dependence, cut, moved = cut_off(data, prof, pol, out)
    exposed = (data.exposure[None] * data.consumption[None] * member).sum(axis=1)  # (K, M)
    need = DISRUPTION_YEARS * exposed * moved(out.supplier_share_of_bloc)
    stock = np.broadcast_to(np.asarray(prof.stock_held, dtype=float), (M,))[None]
    has_bloc = pol.member.any(axis=1)[:, None]
    # for members, the stock releases what the controls cut off up to what it holds over the
    # round, each tonne one they need not replace at the world price; its book value leaves
    # the fund; what is left covers the next disruption
    together = members_cut(data, prof, pol, out)
    released, used = stock_released(prof, pol, together)
    years = float(prof.round_years)
    left = np.where(released > 0, np.maximum(stock - released * years, 0.0), stock)
    cover = np.where(has_bloc & (stock > 0), np.minimum(left / np.maximum(need, 1e-300), 1), 0)
    comp[..., 3] = -key * (bloc_outlay + used)[:, None]
    positive = together > 0
    share = np.where(positive[:, None], cut / np.where(positive, together, 1)[:, None], 0)
    lost = (cut - np.where(member, released[:, None, :] * share, 0.0)) * out.world_price[:, None]
    dependence = np.where(member, dependence * (1 - cover[:, None, :]), dependence)
    value = ref * data.consumption[None]
    comp[..., 4] = -(prof.risk_premium[:, None] * value * dependence + lost).sum(axis=2)
    world_value = out.world_price * (out.consumption.sum(axis=1) + out.fringe_demand)  # (K, M)
    comp[:, sup, 4] = -prof.strategic_weight * (out.bloc_share * world_value).sum(axis=1)

    avg_tariff = np.where(
        pol.member.any(axis=1),
        ((out.bloc_price - out.world_price) / out.world_price).mean(axis=1),
        0.0,
    )
    discrimination = np.clip(pol.penalty + avg_tariff, 0.0, 1.0)
    comp[..., 5] = -prof.openness_value[None, :] * discrimination[:, None] * pol.member

    if side_offer is not None:
        received = side_offer * ~pol.member
        comp[..., 6] += received
        comp[:, sup, 6] -= received.sum(axis=1)

    # The penalty on covered goods outsiders sell into the bloc, split by the trade elasticities.
    eps_d, eps_s = prof.trade_eps
    t = pol.penalty[:, None, None]
    x = np.broadcast_to(np.asarray(prof.covered, dtype=float), (A, A))[None]
    applies = (~pol.member)[:, :, None] & pol.member[:, None, :] & (t > 0) & (x > 0)
    px = (1 + t) ** (eps_d / (eps_s - eps_d))
    lost_x = np.where(applies, x * (1 - px ** (1 + eps_s)) / (1 + eps_s), 0.0)
    if abs(1 + eps_d) < 1e-9:  # unit-elastic demand: the integral is a logarithm
        paid_x = np.where(applies, x * np.log(px * (1 + t)), 0.0)
    else:
        paid_x = np.where(applies, x * ((px * (1 + t)) ** (1 + eps_d) - 1) / (1 + eps_d), 0.0)
    collected = np.where(applies, t * px ** (1 + eps_s) * x, 0.0)
    comp[..., 7] = -lost_x.sum(axis=2)
    comp[..., 1] -= paid_x.sum(axis=1)
    comp[..., 2] += collected.sum(axis=1)
    return comp


def capacity(
    cap: np.ndarray,
    fringe_cap: np.ndarray,
    seller_price: np.ndarray,
    world_price: np.ndarray,
    cost: np.ndarray,
    fringe_cost: np.ndarray,
    spread: np.ndarray,
    sold: np.ndarray,
    credible: bool,
    years: float,
    rate: float,
    retirement: float,
    base_margin: np.ndarray,
    base_idle: np.ndarray,
    losing: np.ndarray,
    closure_rounds: float,
    exempt: int,
    arriving: np.ndarray,
    lagged: bool,
    closed: np.ndarray,
    restart_margin: float,
    repaid: np.ndarray,
    restart_rounds: float,
    base_price: np.ndarray,
    opening: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """One round of capacity as the ODD's Submodel G says, in numpy over producers (the actors,
    then the fringe as the last row): (capacity, additions, losing streaks, closures, capacity
    kept closed, restarts, streaks of rounds repaying a restart, and the investment ordered
    beyond the steady replacement of the `opening` capacity). `sold`: the share of each actor's
    capacity that sells into the bloc's market, at `seller_price`; the rest, and the fringe, sell
    at the world price."""
    A = cap.shape[0]
    caps = np.vstack([cap, fringe_cap[None]])
    costs = np.vstack([cost, fringe_cost[None]])
    share = np.vstack([sold, np.zeros_like(world_price)[None]])
    # the price expected: the bloc's on the share sold there, if its floor is credible (the
    # shares' average, for a restart); each share grows by its own price's margin
    expected = world_price[None] + (seller_price - world_price)[None] * share * credible

    def growth(price):
        margin = np.clip((price - costs) / costs, -1.0, 2.0)
        return np.maximum(1.0 + rate * (margin - base_margin), 0.0)

    on_contract = seller_price[None] if credible else world_price[None]
    grows = share * growth(on_contract) + (1 - share) * growth(world_price[None])
    # closed capacity, written down as installed capacity retires, comes back whole when the
    # expected margin has repaid a restart (`restart_margin` above the margin at the
    # calibration's price) for more than `restart_rounds` rounds in a row
    keep = max(1.0 - retirement * years, 0.0)
    shut = closed * keep
    repays = (expected >= base_price[None] + restart_margin * costs) & (shut > 0.0)
    paid = np.where(repays, repaid + 1.0, 0.0)
    back = paid > restart_rounds
    restarts = np.where(back, shut, 0.0)
    shut = np.where(back, 0.0, shut)
    paid = np.where(back, 0.0, paid)
    grown = retirement * years * caps * grows
    additions = grown + restarts
    arrive = arriving if lagged else additions

    def running(price):  # the share of the ramp that runs at `price`
        return np.clip((price - costs * (1 - 0.5 * spread)) / (costs * spread), 0.0, 1.0)

    idle = 1.0 - (share * running(seller_price[None]) + (1 - share) * running(world_price[None]))
    excess = idle - base_idle
    under = (excess > 0.05) & (caps > 0.0)
    under[exempt if exempt < A else A] = False
    streak = np.where(under, losing + 1.0, 0.0)
    closing = streak > closure_rounds
    # a producer closing nearly all it has closes at most what retirement leaves
    closures = np.where(closing, np.minimum(excess, keep) * caps, 0.0)
    streak = np.where(closing, 0.0, streak)
    new = np.maximum(caps * keep - closures + arrive, 0.0)
    beyond = grown - retirement * years * opening
    return new, additions, streak, closures, shut + closures, restarts, paid, beyond

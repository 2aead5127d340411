"""Market clearing and payoff components for K packages, compiled with numba.

`negotiation.engine.market.clear` and `negotiation.engine.payoffs.components` describe the model and
call the two kernels at the end of this file. Written as loops over (package k, actor a, mineral m),
they do in one call what numpy would do in some sixty small array operations, each costing more in
overhead than in arithmetic at these sizes (K ~ 30, A ~ 6, M ~ 8). The numpy formulation they
replace is kept as the test oracle in `tests/reference_market.py`, and a property test holds the
two together.

The price search. For every package k and mineral m, two prices: the bloc's autarky price
(members' demand equals members' supply) and the world price (world demand, including any
stockpile purchases, equals world supply). Each is the root of a decreasing function of the log
price, written as log(demand / supply), which is nearly linear. Where last round's price is
given as a guess: Newton's method from it (with the slope of the supply ramps), which takes two
or three steps where the price moved little; where that does not converge (a kink, a jump), a
bracket around the guess, widened where the root lies outside, bisected while wide and then
narrowed by Illinois-modified regula falsi. Both stop at a relative error of 1e-12.

Everything numba compiles lives in this one module on purpose: numba's on-disk cache of a
function is invalidated by changes to its own file only, so a kernel calling a compiled function
from another module could keep running that function's old code.
"""

from __future__ import annotations

from math import exp, log

import numpy as np
from numba import njit

from negotiation.rules.types import INSTRUMENT_CODES, Instrument

TINY = 1e-300
#: log(0) for the price search: below log of the smallest double (-744.4), so that any positive
#: quantity, however small, still outweighs none (a clamp at TINY made tiny demand look like none
#: and left the root flat, its position up to the starting point)
LOG_ZERO = -800.0
BORDER_CODE = INSTRUMENT_CODES[Instrument.BORDER]
PRICE_GAP_CODE = INSTRUMENT_CODES[Instrument.PRICE_GAP]
STOCKPILE_CODE = INSTRUMENT_CODES[Instrument.STOCKPILE]
TOLERANCE = 1e-12
NEAR = 0.25  # bisect while the bracket is wider than this (in log price)
WARM = 0.1  # half-width of the first bracket around a guess
MAX_STEPS = 200
NEWTON_STEPS = 8
CAP_BAND = 1e-9  # a guess this close below the top of the price range counts as at it

BLOC, WORLD = 0, 1

#: The outcome of a clearing comes back as two arrays, (19, K, M) and (6, K, A, M), one slab per
#: field of `negotiation.engine.market.Outcome` in these orders: numba returns each array it hands
#: to Python at a cost (about a microsecond), which twenty arrays made a tenth of a small batch.
OUTCOME_KM = ("world_price", "bloc_price", "fringe_supply", "fringe_demand", "bloc_imports",
              "tariffs_paid", "gap_payments", "stock_purchases", "stock_spending",
              "excess_demand", "supplier_share", "bloc_share", "supplier_share_of_bloc", "withheld",
              "autarky", "supplier_share_outside", "secured", "support_ratio",
              "seller_price")  # fmt: skip
OUTCOME_KAM = ("producer_price", "consumer_price", "production", "consumption", "tariff_revenue",
               "bloc_sales_share")  # fmt: skip
(W_PRICE, B_PRICE, F_SUPPLY, F_DEMAND, B_IMPORTS, T_PAID, G_PAY, S_QTY, S_SPEND, EXCESS, S_SHARE,
 B_SHARE, S_SHARE_B, WITHHELD, AUTARKY, S_SHARE_O, SECURED, SUPPORT,
 SELLER_PRICE) = range(len(OUTCOME_KM))  # fmt: skip
P_PRICE, C_PRICE, PRODUCTION, CONSUMPTION, T_REVENUE, SALES_SHARE = range(len(OUTCOME_KAM))


@njit(cache=True, inline="always")
def _ramp(p, R, row, n):
    """Supply at price p of the n producers in scratch rows R[row] (capacity), R[row + 1] (where
    the ramp starts) and R[row + 2] (1 / its width), and its derivative in p."""
    s = 0.0
    ds = 0.0
    for i in range(n):
        x = (p - R[row + 1, i]) * R[row + 2, i]
        if x > 0.0:
            if x < 1.0:
                s += R[row, i] * x
                ds += R[row, i] * R[row + 2, i]
            else:
                s += R[row, i]
    return s, ds


@njit(cache=True, inline="always")
def _levels(kind, p, x, q, R, n_in, n_out, fund):
    """(demand, its derivative in log price, supply, its derivative in log price) at price
    p = exp(x) in one market: the BLOC's own (autarky) or the WORLD's.

    q: the market's scalars (see `find_prices`); R: its producers' ramps, members in rows 0-2
    and everyone else in rows 3-5; fund: whether stockpile purchases count as demand."""
    bloc_d0, out_d0, eps, floor, gap, border, stock, budget, pen, has_bloc, autarky, flood_q = q
    if kind == BLOC:
        d = bloc_d0 * exp(eps * x)
        below = gap > 0.0 and p < floor
        s, ds = _ramp(floor if below else p, R, 0, n_in)
        return d, eps * d, s, 0.0 if below else ds * p
    p_b, d_pb = p, 1.0
    if has_bloc > 0.0:
        if border > 0.0 and floor > p:
            landed, d_landed = floor + pen * p, pen
        else:
            landed, d_landed = p + pen * p, 1.0 + pen
        if autarky > p:
            p_b, d_pb = autarky, 0.0
        if landed < p_b:
            p_b, d_pb = landed, d_landed
    demand = exp(eps * x)
    d_out = out_d0 * demand
    d_bloc = bloc_d0 * (demand if p_b == p else p_b**eps)
    d = d_bloc + d_out
    dd = eps * (d_bloc * d_pb * p / p_b + d_out)
    if fund and stock > 0.0 and p < floor:
        d += budget / p
        dd -= budget / p
    below = gap > 0.0 and p_b < floor
    s, ds = _ramp(floor if below else p_b, R, 0, n_in)
    ds = 0.0 if below else ds * d_pb * p
    s_out, ds_out = _ramp(p, R, 3, n_out)
    return d, dd, s + s_out + flood_q, ds + ds_out * p


@njit(cache=True, inline="always")
def _log0(x):
    return log(x) if x > 0.0 else LOG_ZERO


@njit(cache=True, inline="always")
def _f(kind, x, q, R, n_in, n_out):
    """log(demand / supply) at log price x, decreasing in x, and its slope (NaN where the
    levels are not both positive: Newton's method cannot be trusted there)."""
    d, dd, s, ds = _levels(kind, exp(x), x, q, R, n_in, n_out, True)
    if d <= 0.0 or s <= 0.0:
        return _log0(d) - _log0(s), np.nan
    return log(d) - log(s), dd / d - ds / s


@njit(cache=True)
def _root(kind, q, R, n_in, n_out, lo_w, hi_w, guess):
    """The log price where _f changes sign, within [lo_w, hi_w]; `guess` NaN for none.

    From a guess, Newton's method first: _f is nearly linear in the log price, so a few steps
    reach the tolerance; where it stalls at a kink or leaves the range, the bracketed search."""
    if guess == guess:
        # Last round's price at the cap (often the bloc's autarky price: members cannot supply
        # themselves): one look at the cap says whether it still is, as the search would find.
        if guess >= hi_w - CAP_BAND and _f_value(kind, hi_w, q, R, n_in, n_out) >= 0.0:
            return hi_w
        x = guess
        for _ in range(NEWTON_STEPS):
            fx, slope = _f(kind, x, q, R, n_in, n_out)
            if not slope < 0.0:  # NaN or not decreasing: no safe Newton step
                break
            if abs(fx) < TOLERANCE:
                return x
            step = -fx / slope
            x += step
            if not lo_w < x < hi_w:
                break
            if abs(step) < TOLERANCE:
                return x
    return _bracketed(kind, q, R, n_in, n_out, lo_w, hi_w, guess)


@njit(cache=True)
def _f_value(kind, x, q, R, n_in, n_out):
    """_f without its slope, as a call rather than inlined: the bracketed search is the rare
    fallback, and five inlined copies of _f would double the kernels' compile time."""
    return _f(kind, x, q, R, n_in, n_out)[0]


@njit(cache=True)
def _bracketed(kind, q, R, n_in, n_out, lo_w, hi_w, guess):
    """The root by bracketing: widen from the guess, bisect, then Illinois regula falsi."""
    if guess == guess:  # not NaN: a narrow bracket first, widened step by step
        lo, hi = max(guess - WARM, lo_w), min(guess + WARM, hi_w)
        flo = _f_value(kind, lo, q, R, n_in, n_out)
        fhi = _f_value(kind, hi, q, R, n_in, n_out)
        step = 4.0 * WARM
        while flo <= 0.0 and lo > lo_w:
            hi, fhi = lo, flo
            lo = max(lo - step, lo_w)
            flo = _f_value(kind, lo, q, R, n_in, n_out)
            step *= 4.0
        step = 4.0 * WARM
        while fhi >= 0.0 and hi < hi_w:
            lo, flo = hi, fhi
            hi = min(hi + step, hi_w)
            fhi = _f_value(kind, hi, q, R, n_in, n_out)
            step *= 4.0
    else:
        lo, hi = lo_w, hi_w
        flo = _f_value(kind, lo, q, R, n_in, n_out)
        fhi = _f_value(kind, hi, q, R, n_in, n_out)
    if flo <= 0.0:
        return lo  # excess supply even at the lowest price
    if fhi >= 0.0:
        return hi  # excess demand even at the highest price: capped
    side, slow = 0, 0
    width = hi - lo
    x = 0.5 * (lo + hi)
    for _ in range(MAX_STEPS):
        if width < TOLERANCE:
            return 0.5 * (lo + hi)
        bisect = width > NEAR or slow >= 3
        x = 0.5 * (lo + hi) if bisect else hi - fhi * (hi - lo) / (fhi - flo)
        fx = _f_value(kind, x, q, R, n_in, n_out)
        if abs(fx) < TOLERANCE:
            return x
        if fx > 0.0:
            lo, flo = x, fx
            if side == 1:
                fhi *= 0.5
            side = 1
        else:
            hi, fhi = x, fx
            if side == -1:
                flo *= 0.5
            side = -1
        new_width = hi - lo
        slow = slow + 1 if new_width > 0.5 * width else 0
        width = new_width
    return 0.5 * (lo + hi)


@njit(cache=True, inline="always")
def _same(a, b):
    return a == b or (a != a and b != b)  # two NaN guesses are the same (no) guess


@njit(cache=True)
def _twin(k, m, bloc_d0, out_d0, member_cap, out_cap, flood_q, floors, gap, border, stock,
          budget, pen, has_bloc, log_guess, log_autarky_guess):  # fmt: skip
    """An earlier package j whose market m has exactly k's inputs, so k's prices; or -1.

    The packages of a batch differ in a few members or minerals, so about half of its markets
    repeat one already cleared."""
    for j in range(k):
        if not (
            bloc_d0[j, m] == bloc_d0[k, m]
            and out_d0[j, m] == out_d0[k, m]
            and flood_q[j, m] == flood_q[k, m]
            and floors[j, m] == floors[k, m]
            and gap[j, m] == gap[k, m]
            and border[j, m] == border[k, m]
            and stock[j, m] == stock[k, m]
            and budget[j, m] == budget[k, m]
            and has_bloc[j] == has_bloc[k]
            and pen[j] == pen[k]
            and _same(log_guess[j, m], log_guess[k, m])
            and _same(log_autarky_guess[j, m], log_autarky_guess[k, m])
        ):
            continue
        same = True
        for a in range(member_cap.shape[1]):
            same = same and member_cap[j, a, m] == member_cap[k, a, m]
        for a in range(out_cap.shape[1]):
            same = same and out_cap[j, a, m] == out_cap[k, a, m]
        if same:
            return j
    return -1


@njit(cache=True, inline="always")
def _gather(R, row, caps, lo, inv, k, m):
    """Write the producers of caps[k, :, m] with any capacity into scratch rows R[row] (capacity),
    R[row + 1] (where the ramp starts) and R[row + 2] (1 / its width); return how many."""
    n = 0
    for a in range(caps.shape[1]):
        if caps[k, a, m] > 0.0:
            R[row, n], R[row + 1, n], R[row + 2, n] = caps[k, a, m], lo[a, m], inv[a, m]
            n += 1
    return n


@njit(cache=True)
def find_prices(bloc_d0, out_d0, eps, member_cap, out_cap, m_lo, m_inv, o_lo, o_inv, flood_q,
                floors, gap, border, stock, budget, pen, has_bloc, bloc_cons, log_lo, log_hi,
                log_guess, log_autarky_guess, p_w, autarky):  # fmt: skip
    """World prices and bloc autarky prices, each (K, M), in USD per tonne, written into
    p_w and autarky."""
    K, M = bloc_d0.shape
    R = np.empty((6, max(member_cap.shape[1], out_cap.shape[1])))
    for m in range(M):
        for k in range(K):
            j = _twin(k, m, bloc_d0, out_d0, member_cap, out_cap, flood_q, floors, gap, border,
                      stock, budget, pen, has_bloc, log_guess, log_autarky_guess)  # fmt: skip
            if j >= 0:
                p_w[k, m], autarky[k, m] = p_w[j, m], autarky[j, m]
                continue
            # This market's producers with any capacity, members and everyone else.
            n_in = _gather(R, 0, member_cap, m_lo, m_inv, k, m)
            n_out = _gather(R, 3, out_cap, o_lo, o_inv, k, m)
            d0, floor = bloc_d0[k, m], floors[k, m]
            is_gap = 1.0 if gap[k, m] else 0.0
            aut = 0.0
            if has_bloc[k] and bloc_cons[k, m] > 0.0:
                bloc = (d0, 0.0, eps[m], floor, is_gap, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
                x = _root(BLOC, bloc, R, n_in, n_out, log_lo[m], log_hi[m], log_autarky_guess[k, m])
                aut = exp(x)
            autarky[k, m] = aut
            is_border = 1.0 if border[k, m] else 0.0
            is_stock = 1.0 if stock[k, m] else 0.0
            is_bloc = 1.0 if has_bloc[k] else 0.0
            q = (d0, out_d0[k, m], eps[m], floor, is_gap, is_border, is_stock, budget[k, m],
                 pen[k], is_bloc, aut, flood_q[k, m])  # fmt: skip
            lo_w, hi_w, guess = log_lo[m], log_hi[m], log_guess[k, m]
            if stock[k, m]:
                # The fund makes demand jump at the floor: where it holds the floor the price is
                # the floor; elsewhere search on one side of it only.
                f = max(floor, exp(log_lo[m]))
                d, _, s, _ = _levels(WORLD, f, log(f), q, R, n_in, n_out, False)
                gap_at_floor = d - s
                if gap_at_floor < 0.0 < gap_at_floor + budget[k, m] / f:
                    p_w[k, m] = floor
                    continue
                if gap_at_floor >= 0.0:
                    lo_w = log(f)
                else:
                    hi_w = log(f)
                guess = np.nan
            p_w[k, m] = exp(_root(WORLD, q, R, n_in, n_out, lo_w, hi_w, guess))


@njit(cache=True)
def _rows2(x, K):
    """x (K, M), or its one row (1, M) shared by all K packages, as (K, M)."""
    if x.shape[0] == K:
        return x
    out = np.empty((K, x.shape[1]))
    for k in range(K):
        out[k] = x[0]
    return out


@njit(cache=True)
def _rows3(x, K):
    """x (K, A, M), or its one row (1, A, M) shared by all K packages, as (K, A, M)."""
    if x.shape[0] == K:
        return x
    out = np.empty((K, x.shape[1], x.shape[2]))
    for k in range(K):
        out[k] = x[0]
    return out


@njit(cache=True)
def _pick2(x, state):
    """x (W, M), W states of the world: as it is if W is 1 (one row shared by every package),
    else (K, M), row k the state `state[k]` of package k."""
    if x.shape[0] == 1:
        return x
    out = np.empty((state.shape[0], x.shape[1]))
    for k in range(state.shape[0]):
        out[k] = x[state[k]]
    return out


@njit(cache=True)
def _pick3(x, state):
    """x (W, A, M), as `_pick2` does (W, M)."""
    if x.shape[0] == 1:
        return x
    out = np.empty((state.shape[0], x.shape[1], x.shape[2]))
    for k in range(state.shape[0]):
        out[k] = x[state[k]]
    return out


@njit(cache=True, inline="always")
def _clip01(x):
    return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)


@njit(cache=True)
def clear_kernel(ref, eps, demand, fringe_cost, spread, cost, consumption, sup, member, floors,
                 instrument, penalty, stock_budget, flood, control, blanket, demand_shift,
                 capacity, fringe_capacity, log_lo, log_hi, log_guess,
                 log_autarky_guess, partner):  # fmt: skip
    """Every output of `negotiation.engine.market.clear`: (19, K, M) and (6, K, A, M) arrays, one
    slab per field of `Outcome` (see OUTCOME_KM and OUTCOME_KAM).

    partner: (K, A) or (1, A) the share of each actor's producers' capacity under offtake
    contracts with the bloc (0: none): the package's offtake partners, non-members whose
    producers sell that share into the bloc's market on its terms (a member's producers sell all
    of theirs). On it they receive the members' producer price (`seller_price`), and its output
    counts against the bloc's imports and, where the package gives a reason to sell to members
    first, as secured; the rest of their capacity sells at the world price
    (`bloc_sales_share` says which share sold where; `producer_price` is the average over
    their output). Their buyers pay the world price.

    control: export controls aimed at members (the December 2024 ban to the US), the share of
    the supplier's sales to members it withholds; blanket: controls on every foreign buyer (the
    August 2023 licensing), the share of its exports it withholds. support_ratio is 1 here (the
    rationing of floor support by budgets is `score_kernel`'s)."""
    K, A = member.shape
    M = ref.shape[0]
    # Inputs the same for every package may come as one row (leading axis 1).
    demand_shift, fringe_capacity = _rows2(demand_shift, K), _rows2(fringe_capacity, K)
    log_guess, log_autarky_guess = _rows2(log_guess, K), _rows2(log_autarky_guess, K)
    capacity = _rows3(capacity, K)
    fringe_d0 = np.empty(M)
    # demand at price 1 per demand at the reference price, ref ** -eps: the same for every
    # package, so computed once a mineral
    d_scale = np.empty(M)
    for m in range(M):
        c = 0.0
        for a in range(A):
            c += consumption[a, m]
        fringe_d0[m] = max(demand[m] - c, 0.0)
        d_scale[m] = np.exp(-eps[m] * np.log(ref[m]))

    has_bloc = np.zeros(K, dtype=np.bool_)
    for k in range(K):
        for a in range(A):
            if member[k, a]:
                has_bloc[k] = True
    # who sells into the bloc's market: members, all their capacity, and a bloc's offtake
    # partners, the share under contract
    seller = np.zeros((K, A))
    for k in range(K):
        kp = k if partner.shape[0] > 1 else 0
        for a in range(A):
            if member[k, a]:
                seller[k, a] = 1.0
            elif has_bloc[k]:
                seller[k, a] = _clip01(partner[kp, a])
    gap = np.zeros((K, M), dtype=np.bool_)
    border = np.zeros((K, M), dtype=np.bool_)
    stock = np.zeros((K, M), dtype=np.bool_)
    bloc_cons = np.zeros((K, M))
    out_cons = np.zeros((K, M))
    bloc_d0 = np.empty((K, M))
    out_d0 = np.empty((K, M))
    withhold = np.empty((K, M))
    flood_q = np.empty((K, M))
    cap = capacity.copy()
    member_cap = np.zeros((K, A, M))
    out_cap = np.zeros((K, A + 1, M))
    for k in range(K):
        for m in range(M):
            floored = floors[k, m] > 0.0
            gap[k, m] = instrument[k] == PRICE_GAP_CODE and floored
            border[k, m] = instrument[k] == BORDER_CODE and floored
            stock[k, m] = (
                instrument[k] == STOCKPILE_CODE and floored and stock_budget[k, m] > 0.0
            ) and has_bloc[k]
            for a in range(A):
                c = consumption[a, m] * demand_shift[k, m]
                if member[k, a]:
                    bloc_cons[k, m] += c
                else:
                    out_cons[k, m] += c
            out_cons[k, m] += fringe_d0[m] * demand_shift[k, m]
            bloc_d0[k, m] = bloc_cons[k, m] * d_scale[m]
            out_d0[k, m] = out_cons[k, m] * d_scale[m]
            total_cons = max(bloc_cons[k, m] + out_cons[k, m], TINY)
            share = bloc_cons[k, m] / total_cons
            foreign = 1.0 - consumption[sup, m] * demand_shift[k, m] / total_cons
            withhold[k, m] = _clip01(
                _clip01(control[k, m]) * share + _clip01(blanket[k, m]) * foreign
            )
            cap[k, sup, m] *= 1.0 - withhold[k, m]
            flood_q[k, m] = flood[k, m] * capacity[k, sup, m]
            for a in range(A):
                member_cap[k, a, m] = seller[k, a] * cap[k, a, m]
                out_cap[k, a, m] = (1.0 - seller[k, a]) * cap[k, a, m]
            out_cap[k, A, m] = fringe_capacity[k, m]
    ramp_lo = np.empty((A, M))
    ramp_inv = np.empty((A, M))
    out_lo = np.empty((A + 1, M))
    out_inv = np.empty((A + 1, M))
    for m in range(M):
        for a in range(A):
            ramp_lo[a, m] = cost[a, m] * (1.0 - 0.5 * spread[m])
            ramp_inv[a, m] = 1.0 / (cost[a, m] * spread[m])
            out_lo[a, m] = ramp_lo[a, m]
            out_inv[a, m] = ramp_inv[a, m]
        out_lo[A, m] = fringe_cost[m] * (1.0 - 0.5 * spread[m])
        out_inv[A, m] = 1.0 / (fringe_cost[m] * spread[m])

    km = np.empty((len(OUTCOME_KM), K, M))
    kam = np.empty((len(OUTCOME_KAM), K, A, M))
    p_w, autarky = km[W_PRICE], km[AUTARKY]
    find_prices(bloc_d0, out_d0, eps, member_cap, out_cap, ramp_lo, ramp_inv, out_lo, out_inv,
                flood_q, floors, gap, border, stock, stock_budget, penalty, has_bloc, bloc_cons,
                log_lo, log_hi, log_guess, log_autarky_guess, p_w, autarky)  # fmt: skip

    p_b, fringe_supply, fringe_demand = km[B_PRICE], km[F_SUPPLY], km[F_DEMAND]
    bloc_imports, tariffs_paid, gap_payments = km[B_IMPORTS], km[T_PAID], km[G_PAY]
    stock_q, stock_spending, excess = km[S_QTY], km[S_SPEND], km[EXCESS]
    supplier_share, bloc_share = km[S_SHARE], km[B_SHARE]
    supplier_share_of_bloc, withheld = km[S_SHARE_B], km[WITHHELD]
    supplier_share_outside, secured, support = km[S_SHARE_O], km[SECURED], km[SUPPORT]
    producer_price, consumer_price = kam[P_PRICE], kam[C_PRICE]
    production, cons, tariff_revenue = kam[PRODUCTION], kam[CONSUMPTION], kam[T_REVENUE]
    seller_price, sales_share = km[SELLER_PRICE], kam[SALES_SHARE]
    net = np.empty(A)
    for k in range(K):
        for m in range(M):
            pw = p_w[k, m]
            if has_bloc[k]:
                landed = (max(floors[k, m], pw) if border[k, m] else pw) + penalty[k] * pw
                pb = min(max(autarky[k, m], pw), landed)
            else:
                pb = pw
            p_b[k, m] = pb
            p_prod = max(pb, floors[k, m]) if gap[k, m] else pb
            seller_price[k, m] = p_prod
            # demand relative to the reference price's, at the two prices buyers pay
            at_pw = (pw / ref[m]) ** eps[m]
            at_pb = (pb / ref[m]) ** eps[m] if pb != pw else at_pw
            member_prod = seller_prod = member_cons = world_supply = world_cons = net_sum = 0.0
            for a in range(A):
                s = seller[k, a]
                sales_share[k, a, m] = s
                pc = pb if member[k, a] else pw
                consumer_price[k, a, m] = pc
                # output sold into the bloc's market at its producer price, and the rest at the
                # world price
                q_in = 0.0
                if s > 0.0:
                    q_in = s * cap[k, a, m] * _clip01((p_prod - ramp_lo[a, m]) * ramp_inv[a, m])
                q = q_in
                if s < 1.0:
                    q += (1.0 - s) * cap[k, a, m] * _clip01((pw - ramp_lo[a, m]) * ramp_inv[a, m])
                if s >= 1.0:
                    producer_price[k, a, m] = p_prod
                elif s <= 0.0:
                    producer_price[k, a, m] = pw
                else:  # the average price of what they sold (of their capacity, if nothing)
                    w = q_in / q if q > 0.0 else s
                    producer_price[k, a, m] = pw + (p_prod - pw) * w
                if a == sup:
                    q += flood_q[k, m]
                production[k, a, m] = q
                c = consumption[a, m] * demand_shift[k, m] * (at_pb if member[k, a] else at_pw)
                cons[k, a, m] = c
                world_supply += q
                world_cons += c
                seller_prod += q_in
                if member[k, a]:
                    member_prod += q
                    member_cons += c
                    net[a] = max(c - q, 0.0)
                else:
                    net[a] = 0.0
                net_sum += net[a]
            fs = fringe_capacity[k, m] * _clip01((pw - out_lo[A, m]) * out_inv[A, m])
            fd = fringe_d0[m] * demand_shift[k, m] * at_pw
            fringe_supply[k, m] = fs
            fringe_demand[k, m] = fd
            world_supply += fs
            world_cons += fd
            sq = 0.0
            if stock[k, m] and pw <= floors[k, m]:
                budget_q = stock_budget[k, m] / max(pw, TINY)
                sq = min(max(world_supply - world_cons, 0.0), budget_q)
            stock_q[k, m] = sq
            stock_spending[k, m] = sq * pw
            imports = max(member_cons - seller_prod, 0.0) if has_bloc[k] else 0.0
            bloc_imports[k, m] = imports
            paid = (pb - pw) * imports
            tariffs_paid[k, m] = paid
            denominator = max(net_sum, TINY)
            for a in range(A):
                tariff_revenue[k, a, m] = net[a] / denominator * paid
            gap_payments[k, m] = (p_prod - pb) * seller_prod if gap[k, m] else 0.0
            excess[k, m] = world_cons + sq - world_supply
            supplier_q = production[k, sup, m]
            supplier_share[k, m] = _clip01(supplier_q / max(world_supply, TINY))
            bloc_share[k, m] = _clip01(member_prod / max(world_supply, TINY))
            withheld[k, m] = withhold[k, m] * capacity[k, sup, m]
            # Where the buyers' supply comes from, by flows, the same way in and out of the
            # bloc. Members' producers sell to members first only where the package gives them
            # a reason: a bloc price above the world price (a floor or penalty that binds) or a
            # price-gap payment (paid on supply to members, as the DoD-MP offtake); so do the
            # offtake partners' producers. That supply is secured; everyone else buys from one
            # mixed pool. What the supplier withholds by export controls still counts as its
            # supply: buyers depend on it all the same.
            secured_q = 0.0
            if has_bloc[k] and (pb > pw * (1.0 + 1e-9) or gap[k, m]):
                secured_q = min(seller_prod, member_cons)
            secured[k, m] = secured_q
            structural = supplier_q + withheld[k, m]
            pool_share = _clip01(structural / max(world_supply + withheld[k, m] - secured_q, TINY))
            supplier_share_outside[k, m] = pool_share
            if member_cons > 0.0:
                supplier_share_of_bloc[k, m] = (1.0 - secured_q / member_cons) * pool_share
            else:
                supplier_share_of_bloc[k, m] = pool_share
            support[k, m] = 1.0
    return km, kam


#: The lowest home price export controls can leave the supplier's buyers, as a multiple of the
#: reference price (the bottom of the price search's range, `negotiation.engine.market.PRICE_LO`).
HOME_PRICE_FLOOR = 1e-3

#: How long a disruption is taken to last when a stockpile's cover is measured, years
#: (assumption: the 2010 rare-earth halt to Japan lasted about two months, the 2023 gallium and
#: germanium licensing stopped shipments for about two; half a year is a prudent planning case).
DISRUPTION_YEARS = 0.5


@njit(cache=True, inline="always")
def _covered_trade(x, t, eps_d, eps_s):
    """An ad-valorem tariff t on covered goods worth x USD/yr at no tariff, with constant
    demand (eps_d < 0) and export supply (eps_s > 0) elasticities: (the exporter's loss of
    producer surplus, the buyers' loss of consumer surplus, the tariff collected), USD/yr.

    The exporter's price falls to (1 + t) ** (eps_d / (eps_s - eps_d)) of its level and the
    buyers' rises to (1 + t) times that: an inelastic exporter bears more of the tariff."""
    px = (1.0 + t) ** (eps_d / (eps_s - eps_d))
    pb = px * (1.0 + t)
    exporter = x * (1.0 - px ** (1.0 + eps_s)) / (1.0 + eps_s)
    if abs(1.0 + eps_d) < 1e-9:
        buyers = x * log(pb)
    else:
        buyers = x * (pb ** (1.0 + eps_d) - 1.0) / (1.0 + eps_d)
    revenue = t * px * px**eps_s * x
    return exporter, buyers, revenue


@njit(cache=True, inline="always")
def _surplus_lost(p, q, ref, eps, q_ref=-1.0):
    """Buyers' consumer surplus lost at price p, buying q there, against the reference price,
    on their constant-elasticity demand curve (USD/yr; negative where p is below the reference):
    the area left of the curve between ref and p, -(p q - ref q_ref) / (1 + eps), with q_ref
    their demand at ref (computed from q where not given; a logarithm where eps = -1)."""
    if q <= 0.0:
        return 0.0
    if q_ref < 0.0:
        q_ref = q * (p / ref) ** (-eps)
    if abs(1.0 + eps) < 1e-9:
        return q_ref * ref * log(p / ref)
    return (p * q - ref * q_ref) / (1.0 + eps)


@njit(cache=True, inline="always")
def _moved(share, base):
    """How far the supplier's share of the supply an actor buys moves its calibrated exposure:
    share / base, clipped to [0, 2]; 1 where the supplier has no share at the calibration (its
    leverage there is in processing, which this one-stage market does not move)."""
    if base <= 1e-9:
        return 1.0
    return min(max(share / base, 0.0), 2.0)


@njit(cache=True)
def _stock_kept(spent, price, resale, mark):
    """What a stockpile's purchase is worth as an asset, USD: the tonnes it bought (`spent` at
    the world `price` it paid) valued at what they would fetch sold, `resale` times the lower of
    that price and `mark`, the price the market pays without the bloc's support (the world with
    no policy; the fund buys to hold the price up, so the tonnes fetch no more than that)."""
    if spent <= 0.0 or price <= 0.0:
        return 0.0
    return resale * spent * min(1.0, mark / price)


@njit(cache=True)
def stock_release(k, m, member, exposure, consumption, control, blanket, share_of_bloc,
                  base_share, stock_held, years):  # fmt: skip
    """The stock released to members when export controls cut their supply of mineral m in
    package k: (released, cut), t/yr over the round. The cut is what the controls take of the
    members' supplier-sourced consumption (hit, the share withheld from members, times each
    member's dependence, its exposure moved by the supplier's share of the bloc's pool, at most
    all it consumes); the stock releases the cut, up to what it holds (spread over the round's
    `years`). Each released tonne replaces a tonne the members would buy at the world price."""
    if stock_held[m] <= 0.0:
        return 0.0, 0.0
    hit = min(_clip01(blanket[k, m]) + _clip01(control[k, m]), 1.0)
    if hit <= 0.0:
        return 0.0, 0.0
    moved = _moved(share_of_bloc[k, m], base_share[m])
    cut = 0.0
    for a in range(member.shape[1]):
        if member[k, a]:
            cut += min(exposure[a, m] * moved, 1.0) * consumption[a, m]
    cut *= hit
    return min(stock_held[m] / years, cut), cut


@njit(cache=True)
def _release_charge(k, member, exposure, consumption, control, blanket, share_of_bloc,
                    base_share, stock_held, stock_book, years):  # fmt: skip
    """The book value of the stock package k releases (`stock_release`), USD/yr: the asset the
    members use up (its purchases were counted net of it, `_stock_kept`)."""
    charge = 0.0
    for m in range(stock_held.shape[0]):
        released, _ = stock_release(k, m, member, exposure, consumption, control, blanket,
                                    share_of_bloc, base_share, stock_held, years)  # fmt: skip
        if released > 0.0:
            charge += stock_book[m] * (released / stock_held[m])
    return charge


@njit(cache=True, inline="always")
def _ramp_surplus(price, capacity, cost, spread):
    """Producer surplus of `capacity` on its cost ramp at `price`, USD/yr."""
    width = cost * spread
    x = max(price - cost * (1.0 - 0.5 * spread), 0.0)
    if x <= width:
        return capacity * x * x / (2.0 * width)
    return capacity * (0.5 * width + (x - width))


@njit(cache=True)
def components_kernel(ref, cost, spread, consumption, exposure, sup, risk_premium, openness,
                      cost_sharing, strategic_weight, base_share, member, penalty, flood, control,
                      blanket, capacity, stock_held, covered, trade_eps, eps, demand_shift,
                      world_price, bloc_price,
                      producer_price, consumer_price, cons, fringe_demand, tariff_revenue,
                      gap_payments, stock_spending, bloc_share, supplier_share_of_bloc,
                      supplier_share_outside, withheld, side_offer, stock_resale,
                      stock_mark, stock_book, years, seller_price, sales_share):  # fmt: skip
    """The (K, A, 8) components of `negotiation.engine.payoffs.components`, USD per year.

    The fiscal outlay counts a stockpile's purchases net of the stock they buy: the fund pays
    cash for tonnes worth what they would fetch sold (`_stock_kept`); and, in a disruption, the
    book value of the stock it releases (`stock_release`), tonnes that replace supply the
    members' buyers would otherwise replace at the world price."""
    K, A, M = cons.shape
    comp = np.zeros((K, A, 8))
    eps_d, eps_s = trade_eps[0], trade_eps[1]
    for k in range(K):
        kc = k if capacity.shape[0] > 1 else 0  # capacity may be one row shared by all
        ks = k if demand_shift.shape[0] > 1 else 0  # so may the demand shift
        has_bloc = False
        key_sum = 0.0
        for a in range(A):
            if member[k, a]:
                has_bloc = True
                key_sum += cost_sharing[k, a]
        outlay = 0.0
        world_value = 0.0
        avg_tariff = 0.0
        for m in range(M):
            spent = stock_spending[k, m]
            outlay += (
                gap_payments[k, m]
                + spent
                - _stock_kept(spent, world_price[k, m], stock_resale, stock_mark[m])
            )
            total = fringe_demand[k, m]
            for a in range(A):
                total += cons[k, a, m]
            world_value += bloc_share[k, m] * world_price[k, m] * total
            avg_tariff += (bloc_price[k, m] - world_price[k, m]) / world_price[k, m]
            # The fund's stock covers part of members' supplier-sourced needs in a disruption,
            # and in one now it releases what the controls cut off (up to what it holds).
            cover = 0.0
            released, cut = 0.0, 0.0
            if has_bloc and stock_held[m] > 0.0:
                released, cut = stock_release(k, m, member, exposure, consumption, control,
                                              blanket, supplier_share_of_bloc, base_share,
                                              stock_held, years)  # fmt: skip
                left = stock_held[m]  # what covers the next disruption: the stock not released
                if released > 0.0:
                    outlay += stock_book[m] * (released / stock_held[m])
                    left = max(stock_held[m] - released * years, 0.0)
                exposed = 0.0
                for a in range(A):
                    if member[k, a]:
                        exposed += exposure[a, m] * consumption[a, m]
                need = DISRUPTION_YEARS * exposed * _moved(supplier_share_of_bloc[k, m],
                                                           base_share[m])  # fmt: skip
                cover = min(left / max(need, TINY), 1.0)
            aimed, all_buyers = _clip01(control[k, m]), _clip01(blanket[k, m])
            for a in range(A):
                # producer surplus on the ramp (capacity net of what export controls hold back)
                c = capacity[kc, a, m]
                if a == sup:
                    c = max(c - withheld[k, m], 0.0)
                # (the share sold into the bloc's market at its producer price, the rest at
                # the world price)
                sold = sales_share[k, a, m]
                if sold >= 1.0:
                    ps = _ramp_surplus(producer_price[k, a, m], c, cost[a, m], spread[m])
                elif sold <= 0.0:
                    ps = _ramp_surplus(world_price[k, m], c, cost[a, m], spread[m])
                else:
                    ps = (_ramp_surplus(seller_price[k, m], sold * c, cost[a, m], spread[m])
                          + _ramp_surplus(world_price[k, m], (1.0 - sold) * c, cost[a, m],
                                          spread[m]))  # fmt: skip
                paid, bought = consumer_price[k, a, m], cons[k, a, m]
                if a == sup:
                    # A flood sells volume from capacity and stocks that would otherwise fetch
                    # the reference price: below it, every flooded tonne is revenue given up.
                    ps += (world_price[k, m] - ref[m]) * flood[k, m] * capacity[kc, sup, m]
                    # What export controls keep at home is sold to the supplier's own buyers,
                    # whose price falls until they take it (an export restriction splits the
                    # market: dearer abroad, cheaper at home).
                    w = withheld[k, m]
                    home = 0.0
                    if w > 0.0 and bought > 0.0:
                        home = world_price[k, m] * ((bought + w) / bought) ** (1.0 / eps[m])
                    # below its unit cost it would rather leave the capacity idle
                    if home >= cost[sup, m]:
                        paid = home
                        # no lower than the bottom of the price search's range (a home market
                        # of almost no buyers would send it to zero)
                        if paid < ref[m] * HOME_PRICE_FLOOR:  # its buyers take less there
                            paid = ref[m] * HOME_PRICE_FLOOR
                            extra = bought * (paid / world_price[k, m]) ** eps[m] - bought
                        else:
                            extra = w
                        # its producers sell at home at that price: what its buyers took at the
                        # world price, and what they take of the withheld volume
                        ps -= (world_price[k, m] - paid) * bought
                        ps += (paid - cost[sup, m]) * extra
                        bought += extra
                comp[k, a, 0] += ps
                at_ref = consumption[a, m] * demand_shift[ks, m]  # their demand at ref
                comp[k, a, 1] -= _surplus_lost(paid, bought, ref[m], eps[m], at_ref)
                comp[k, a, 2] += tariff_revenue[k, a, m]
                if a == sup:
                    continue
                # Supply security from flows: the share of the actor's consumption that comes
                # from the supplier (the calibrated exposure, moved by the supplier's share of
                # the pool the actor buys from), less what a stockpile covers for members.
                share = (
                    supplier_share_of_bloc[k, m] if member[k, a] else supplier_share_outside[k, m]
                )
                dep0 = exposure[a, m] * _moved(share, base_share[m])
                dependence = dep0
                if member[k, a]:
                    dependence *= 1.0 - cover
                security = risk_premium[a] * ref[m] * consumption[a, m] * dependence
                # Export controls realise the risk: supply the actor got from the supplier stops
                # and must be replaced (aimed controls hit members, blanket ones every buyer) at
                # the world price, but for the tonnes the stockpile releases to members (shared
                # by what the controls cut off each).
                hit = min(all_buyers + (aimed if member[k, a] else 0.0), 1.0)
                lost = hit * min(dep0, 1.0) * world_price[k, m] * consumption[a, m]
                if released > 0.0 and member[k, a]:
                    lost -= (released * hit * min(dep0, 1.0) * consumption[a, m] / cut
                             * world_price[k, m])  # fmt: skip
                comp[k, a, 4] -= security + lost
        avg_tariff = avg_tariff / M if has_bloc else 0.0
        discrimination = _clip01(penalty[k] + avg_tariff)
        received_total = 0.0
        for a in range(A):
            if member[k, a]:
                comp[k, a, 3] = -cost_sharing[k, a] / max(key_sum, TINY) * outlay
                comp[k, a, 5] = -openness[a] * discrimination
            else:
                comp[k, a, 6] += side_offer[k, a]
                received_total += side_offer[k, a]
        # The outsider penalty on covered goods (refined metals, magnets, battery materials,
        # a hub's re-exports) sold by non-members into the bloc.
        if has_bloc and penalty[k] > 0.0:
            # linear in the trade: the three shares of a dollar of it, once per package
            lost, paid, collected = _covered_trade(1.0, penalty[k], eps_d, eps_s)
            for a in range(A):
                if member[k, a]:
                    continue
                for b in range(A):
                    if member[k, b] and covered[a, b] > 0.0:
                        x = covered[a, b]
                        comp[k, a, 7] -= lost * x
                        comp[k, b, 1] -= paid * x
                        comp[k, b, 2] += collected * x
        comp[k, sup, 4] = -strategic_weight * world_value
        comp[k, sup, 6] -= received_total
    return comp


@njit(cache=True)
def _ration(comp, km, cost_sharing, fiscal_cap, member, floors, stock_budget, instrument):
    """Floor support within budgets: each member pays its cost-sharing share of the outlays up
    to its fiscal capacity (USD/yr); where the members together fall short, the support is
    rationed. Returns (ratio (K,) of the outlay the budgets cover, the effective floors and
    stockpile budgets for a second clearing, and each package's outlay before rationing)."""
    K, A = member.shape
    M = floors.shape[1]
    ratio = np.ones(K)
    first = np.zeros(K)
    eff_floors = floors.copy()
    eff_budget = stock_budget.copy()
    for k in range(K):
        outlay = 0.0
        for m in range(M):
            outlay += km[G_PAY, k, m] + km[S_SPEND, k, m]
        first[k] = outlay
        if outlay <= 0.0:
            continue
        key_sum = 0.0
        for a in range(A):
            if member[k, a]:
                key_sum += cost_sharing[k, a]
        paid = 0.0
        for a in range(A):
            if member[k, a]:
                paid += min(cost_sharing[k, a] / max(key_sum, TINY) * outlay, fiscal_cap[a])
        if paid >= outlay * (1.0 - 1e-9):
            continue
        r = paid / outlay
        ratio[k] = r
        for m in range(M):
            if floors[k, m] > 0.0:
                if instrument[k] == PRICE_GAP_CODE:
                    pb = km[B_PRICE, k, m]
                    eff_floors[k, m] = min(floors[k, m], pb + r * max(floors[k, m] - pb, 0.0))
                elif instrument[k] == STOCKPILE_CODE:
                    # r of what the fund spent, not of its allowance: a fund that held the floor
                    # spent less than its allowance, and one that cannot spends all it has
                    eff_budget[k, m] = km[S_SPEND, k, m] * r
    return ratio, eff_floors, eff_budget, first


@njit(cache=True)
def score_kernel(clear_args, profile_args, weights, fiscal_cap):
    """clear_kernel, then components_kernel on its outcome, then the weighted sum over the
    components: (outcome arrays, components (K, A, C), utility (K, A)). One call from Python
    where there would be three (see `negotiation.engine.payoffs.score`).

    Budgets bind: where members' fiscal capacities (fiscal_cap, USD/yr each) cannot pay the
    floor support, the price-gap floors or stockpile budgets are cut to what they can pay and
    the markets cleared again; each member then pays its share, capped at its capacity."""
    km, kam = clear_kernel(*clear_args)
    p = profile_args
    comp = components_of(p, km, kam)
    member, floors, instrument, stock_budget = clear_args[8], clear_args[9], clear_args[10], \
        clear_args[12]  # fmt: skip
    ratio, eff_floors, eff_budget, first = _ration(comp, km, p[8], fiscal_cap, member, floors,
                                                   stock_budget, instrument)  # fmt: skip
    K, A, C = comp.shape
    if ratio.min() < 1.0:
        a = clear_args
        km, kam = clear_kernel(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], eff_floors,
                               a[10], a[11], eff_budget, a[13], a[14], a[15], a[16], a[17], a[18],
                               a[19], a[20], a[21], a[22], a[23])  # fmt: skip
        comp = components_of(p, km, kam)
        for k in range(K):
            km[SUPPORT, k, :] = ratio[k]
            if ratio[k] >= 1.0:
                continue
            outlay = 0.0  # the cash the rationed support costs
            net = 0.0  # and what it costs the members, the stock's resale value netted out
            for m in range(km.shape[2]):
                outlay += km[G_PAY, k, m] + km[S_SPEND, k, m]
                spent = km[S_SPEND, k, m]
                kept = _stock_kept(spent, km[W_PRICE, k, m], p[23], p[24][m])
                net += km[G_PAY, k, m] + spent - kept
            if outlay <= 0.0:  # the rationed floors cost nothing: nobody pays
                continue
            key_sum = 0.0
            for i in range(A):
                if member[k, i]:
                    key_sum += p[8][k, i]
            # the stock released in a disruption is no cash: outside the budgets, by the key
            used = _release_charge(k, member, p[4], p[3], p[14], p[15], km[S_SHARE_B], p[10],
                                   p[17], p[25], p[26])  # fmt: skip
            shares = np.zeros(A)
            total = 0.0
            for i in range(A):
                if member[k, i]:
                    # each member's part of the support before rationing, capped by its budget;
                    # the rationed outlay (at most their sum) is split in those proportions, so
                    # nobody pays beyond its capacity
                    shares[i] = min(p[8][k, i] / max(key_sum, TINY) * first[k], fiscal_cap[i])
                    total += shares[i]
            for i in range(A):
                if member[k, i]:
                    comp[k, i, 3] = -net * shares[i] / max(total, TINY)
                    if used > 0.0:
                        comp[k, i, 3] -= used * p[8][k, i] / max(key_sum, TINY)
    util = np.zeros((K, A))
    for k in range(K):
        for a in range(A):
            u = 0.0
            for c in range(C):
                u += comp[k, a, c] * weights[a, c]
            util[k, a] = u
    return (km, kam), comp, util


@njit(cache=True)
def components_of(p, km, kam):
    """components_kernel on one clearing's outcome, with the profiles `p`."""
    return components_kernel(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10],
                             p[11], p[12], p[13], p[14], p[15], p[16], p[17], p[18], p[19],
                             p[20], p[21], km[W_PRICE], km[B_PRICE], kam[P_PRICE], kam[C_PRICE],
                             kam[CONSUMPTION], km[F_DEMAND], kam[T_REVENUE], km[G_PAY],
                             km[S_SPEND], km[B_SHARE], km[S_SHARE_B], km[S_SHARE_O],
                             km[WITHHELD], p[22], p[23], p[24], p[25], p[26],
                             km[SELLER_PRICE], kam[SALES_SHARE])  # fmt: skip


@njit(cache=True)
def batch_kernel(data, profiles, weights, sets, moves, terms, which, scale, instrument, budget,
                 shocks, capacity, fringe_capacity, log_guess, log_autarky_guess):  # fmt: skip
    """score_kernel on K packages given as picks from a few distinct parts, as the model's
    batches are: one call from Python, where numpy would take some twenty to build the arrays.

    data: (ref, elasticity, demand, fringe_cost, spread, cost, consumption, exposure, supplier,
    log_lo, log_hi) as in MarketData; profiles: (risk_premium, openness, strategic_weight,
    base_share, stock_held (M,), covered (A, A), trade_eps (2,), fiscal_cap (A,), stock_resale,
    stock_mark (M,), stock_book (M,) USD, round's years);
    sets: (S, A)
    bool member sets; moves: (V, 3M + A) supplier moves, each its flood, aimed and blanket
    export controls per mineral and side offers per actor; terms: (floors (T, M), penalty (T,),
    cost-sharing key (T, A), offtake partners (T, A): the share of each actor's capacity under
    contract); which: (4, K) the set, move, terms
    and state of each package; scale: (K,) on its floors; instrument: (T,) the instrument's code
    of each terms row; budget: the fund's spending per floored mineral. The W states of the
    world the packages meet (`which[3]` says which: W = 1, or more where some are cleared in
    the state after the investment pipeline, with the round's luck faded, or in the world with
    no policy), each input one row a state or one row shared by all: shocks: (flood, aimed
    export controls, blanket ones and demand shift, each (W, M)); capacity (W, A, M),
    fringe_capacity (W, M); log_guess and log_autarky_guess (W, M), where the price searches
    start."""
    ref, eps, demand, fringe_cost, spread, cost, consumption, exposure, sup, log_lo, log_hi = data
    risk_premium, openness, strategic_weight, base_share, stock_held, covered, trade_eps, \
        fiscal_cap, stock_resale, stock_mark, stock_book, years = profiles  # fmt: skip
    t_floors, t_penalty, t_key, t_partner = terms
    s_flood, s_aimed, s_blanket, demand_shift = shocks
    K = which.shape[1]
    state = which[3]
    # One state: its rows stay one row, shared (the kernels spread it); more: a row a package.
    demand_shift = _pick2(demand_shift, state)
    capacity = _pick3(capacity, state)
    fringe_capacity = _pick2(fringe_capacity, state)
    log_guess = _pick2(log_guess, state)
    log_autarky_guess = _pick2(log_autarky_guess, state)
    A = sets.shape[1]
    M = ref.shape[0]
    member = np.empty((K, A), dtype=np.bool_)
    partner = np.empty((K, A))
    floors = np.empty((K, M))
    penalty = np.empty(K)
    key = np.empty((K, A))
    flood = np.empty((K, M))
    control = np.empty((K, M))
    blanket = np.empty((K, M))
    stock_budget = np.empty((K, M))
    offer = np.empty((K, A))
    for k in range(K):
        s, v, t = which[0, k], which[1, k], which[2, k]
        # the package's row of each shock (its state's, or the one shared)
        kf = state[k] if s_flood.shape[0] > 1 else 0
        ka = state[k] if s_aimed.shape[0] > 1 else 0
        kb = state[k] if s_blanket.shape[0] > 1 else 0
        penalty[k] = t_penalty[t]
        for a in range(A):
            member[k, a] = sets[s, a]
            partner[k, a] = t_partner[t, a]
            key[k, a] = t_key[t, a]
            offer[k, a] = moves[v, 3 * M + a]
        for m in range(M):
            f = t_floors[t, m] * scale[k]
            floors[k, m] = f
            stock_budget[k, m] = budget if f > 0.0 else 0.0
            flood[k, m] = s_flood[kf, m] + moves[v, m]
            control[k, m] = min(s_aimed[ka, m] + moves[v, M + m], 1.0)
            blanket[k, m] = min(s_blanket[kb, m] + moves[v, 2 * M + m], 1.0)
    codes = np.empty(K, dtype=np.int64)
    for k in range(K):
        codes[k] = instrument[which[2, k]]
    return score_kernel(
        (ref, eps, demand, fringe_cost, spread, cost, consumption, sup, member, floors, codes,
         penalty, stock_budget, flood, control, blanket, demand_shift, capacity, fringe_capacity,
         log_lo, log_hi, log_guess, log_autarky_guess, partner),
        (ref, cost, spread, consumption, exposure, sup, risk_premium, openness, key,
         strategic_weight, base_share, member, penalty, flood, control, blanket, capacity,
         stock_held, covered, trade_eps, eps, demand_shift, offer, stock_resale, stock_mark,
         stock_book, years),
        weights,
        fiscal_cap,
    )  # fmt: skip


@njit(cache=True)
def capacity_kernel(capacity, fringe_capacity, seller_price, world_price, cost, fringe_cost,
                    spread, sold, credible, years, rate, retirement, base_margin, base_idle,
                    losing, closure_rounds, exempt, arriving, lagged, closed,
                    restart_margin, repaid, restart_rounds, base_price, opening):  # fmt: skip
    """One round of capacity: (capacity after retirement, closures and arrivals (A + 1, M), the
    fringe in the last row; additions started this round, restarts included; each producer's
    count of consecutive rounds under water; capacity closed this round; capacity closed and
    kept (care and maintenance) after the round; capacity ordered back this round; each
    producer's count of consecutive rounds in which prices repaid a restart; the investment
    ordered beyond the steady replacement of the opening capacity (`opening`, (A + 1, M): what
    retires of it each round), below 0 where less was ordered), each (A + 1, M), t/yr.

    Capacity retires at `retirement` a year (mines deplete). Investment replaces it, more where
    the expected margin ((price - unit cost) / unit cost, clipped to [-1, 2]) is above the
    producer's margin in the no-policy calibration (`base_margin`), less where below:
    additions = retirement x capacity x max(0, 1 + rate x (margin - base margin)) x years, so
    that with no policy capacity holds still and prices do not drift. The expected price is,
    on the share of a producer's capacity that sells into the bloc's market (`sold`, (A, M): 1
    for a member, the contracted share for an offtake partner), the bloc's producer price
    (`seller_price`, (M,)) when the floor is credible, and the world price otherwise, on the
    rest and always for the fringe; each share grows by its own margin (a partner's growth is
    the shares' average), and a restart waits for the shares' average expected price. Additions
    arrive `lagged` (from `arriving`) or at once.

    Closures: a producer whose idle share of capacity (the part of its cost ramp above its
    price) stays above its calibrated idle share (`base_idle`) by more than 5 points for more
    than `closure_rounds` rounds closes that excess capacity (Nickel West, 2024): it produces
    nothing, and is kept (`closed`, care and maintenance), written down at `retirement` as
    installed capacity is (a producer closing nearly all it has closes at most what retirement
    leaves). Reopening takes years and money: a producer orders its closed capacity back, all of
    it, when its expected margin has been `restart_margin` above its margin at the calibration's
    prices (`base_price`, (M,): the expected price at least `base_price` + `restart_margin` x
    its unit cost; the restart must be repaid) for more than `restart_rounds` rounds in a row (a
    spike does not reopen a mine), and it arrives with the investment's lag, as additions do.
    `exempt` (the state-backed supplier, an assumption) never closes; new entrants are the
    projects of `negotiation.engine.projects`, added to `capacity` when built."""
    A, M = capacity.shape
    new = np.empty((A + 1, M))
    additions = np.empty((A + 1, M))
    streak = np.zeros((A + 1, M))
    closures = np.zeros((A + 1, M))
    kept = np.empty((A + 1, M))
    restarts = np.zeros((A + 1, M))
    paid = np.zeros((A + 1, M))
    beyond = np.empty((A + 1, M))
    for i in range(A + 1):
        for m in range(M):
            s = 0.0
            pw, pp = world_price[m], seller_price[m]
            if i < A:
                s = sold[i, m]
                c, cap = cost[i, m], capacity[i, m]
            else:
                c, cap = fringe_cost[m], fringe_capacity[m]
            if s >= 1.0:
                expected = pp if credible else pw
            elif s <= 0.0:
                expected = pw
            else:
                expected = pw + (pp - pw) * s if credible else pw
            margin = min(max((expected - c) / c, -1.0), 2.0)
            growth = max(1.0 + rate * (margin - base_margin[i, m]), 0.0)
            if 0.0 < s < 1.0 and credible:
                # each share of an offtake partner's capacity grows by its own price's margin
                at_pw = min(max((pw - c) / c, -1.0), 2.0)
                growth = s * max(1.0 + rate * (min(max((pp - c) / c, -1.0), 2.0)
                                               - base_margin[i, m]), 0.0) + (1.0 - s) * max(
                    1.0 + rate * (at_pw - base_margin[i, m]), 0.0)  # fmt: skip
            keep = max(1.0 - retirement * years, 0.0)
            shut = closed[i, m] * keep
            if shut > 0.0 and expected >= base_price[m] + restart_margin * c:
                paid[i, m] = repaid[i, m] + 1.0
                if paid[i, m] > restart_rounds:
                    restarts[i, m] = shut
                    shut = 0.0
                    paid[i, m] = 0.0
            additions[i, m] = retirement * years * cap * growth + restarts[i, m]
            beyond[i, m] = retirement * years * (cap * growth - opening[i, m])
            arrive = arriving[i, m] if lagged else additions[i, m]
            lo = c * (1.0 - 0.5 * spread[m])
            # the idle share of its ramp: at the price each share of its capacity sells at
            if s >= 1.0:
                idle = 1.0 - _clip01((pp - lo) / (c * spread[m]))
            elif s <= 0.0:
                idle = 1.0 - _clip01((pw - lo) / (c * spread[m]))
            else:
                idle = 1.0 - (s * _clip01((pp - lo) / (c * spread[m]))
                              + (1.0 - s) * _clip01((pw - lo) / (c * spread[m])))  # fmt: skip
            excess = idle - base_idle[i, m]
            closing = 0.0
            if excess > 0.05 and i != exempt and cap > 0.0:
                streak[i, m] = losing[i, m] + 1.0
                if streak[i, m] > closure_rounds:
                    closing = min(excess, keep) * cap
                    streak[i, m] = 0.0
            closures[i, m] = closing
            kept[i, m] = shut + closing
            new[i, m] = max(cap * keep - closing + arrive, 0.0)
    return new, additions, streak, closures, kept, restarts, paid, beyond


@njit(cache=True)
def future_capacity_kernel(capacity, fringe_capacity, arrivals, keep):
    """Installed capacity once the investment pipeline has delivered, (A + 1, M), the fringe in
    the last row: each round of the lag, what is there is kept at `keep` (retirement goes on)
    and that round's `arrivals` (L, A + 1, M) are added, in their order."""
    A, M = capacity.shape
    cap = np.empty((A + 1, M))
    for i in range(A + 1):
        for m in range(M):
            c = capacity[i, m] if i < A else fringe_capacity[m]
            for n in range(arrivals.shape[0]):
                c = c * keep + arrivals[n, i, m]
            cap[i, m] = c
    return cap


@njit(cache=True)
def fringe_money_kernel(price, bought, lo, width, capacity, ref, eps):
    """The rest of the world's money at world prices `price` (M,): (its producers' surplus on
    their ramps, starting at `lo` and `width` wide, on `capacity`; minus its buyers' consumer
    surplus lost against `ref`, buying `bought` at `price`), USD/yr, summed over minerals."""
    producers = 0.0
    buyers = 0.0
    for m in range(price.shape[0]):
        x = max(price[m] - lo[m], 0.0)
        w = width[m]
        if x <= w:
            producers += capacity[m] * x * x / (2.0 * w)
        else:
            producers += capacity[m] * (0.5 * w + (x - w))
        buyers -= _surplus_lost(price[m], bought[m], ref[m], eps[m])
    return producers, buyers

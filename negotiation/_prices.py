"""The price search at the heart of market clearing, compiled with numba.

For every package k and mineral m it finds two prices: the bloc's autarky price (members' demand
equals members' supply) and the world price (world demand, including any stockpile purchases,
equals world supply). Each is the root of a decreasing function of the log price, written as
log(demand / supply), which is nearly linear; the search starts from a narrow bracket around last
round's price where one is given, widens it where the root lies outside, bisects while the bracket
is wide and then switches to Illinois-modified regula falsi, stopping at a relative error of 1e-12.

Everything else in `negotiation.market` stays vectorised numpy; only this loop over (k, m) pairs,
which numpy would run as dozens of small array operations per step, is compiled.
"""

from __future__ import annotations

from math import exp, log

import numpy as np
from numba import njit

TINY = 1e-300
TOLERANCE = 1e-12
NEAR = 0.25  # bisect while the bracket is wider than this (in log price)
WARM = 0.1  # half-width of the first bracket around a guess
MAX_STEPS = 200

BLOC, WORLD = 0, 1


@njit(cache=True, inline="always")
def _ramp(p, caps, lo, inv, k, m):
    """Supply of producers caps[k, :, m] on ramps starting at lo[:, m], slope inv[:, m]."""
    s = 0.0
    for i in range(caps.shape[1]):
        x = (p - lo[i, m]) * inv[i, m]
        if x > 0.0:
            s += caps[k, i, m] * (x if x < 1.0 else 1.0)
    return s


@njit(cache=True)
def _member_supply(p_bloc, k, m, member_cap, m_lo, m_inv, floors, gap):
    p = max(p_bloc, floors[k, m]) if gap[k, m] else p_bloc
    return _ramp(p, member_cap, m_lo, m_inv, k, m)


@njit(cache=True)
def _bloc_price(p_w, k, m, autarky, floors, border, pen, has_bloc):
    if not has_bloc[k]:
        return p_w
    landed = (max(floors[k, m], p_w) if border[k, m] else p_w) + pen[k] * p_w
    return min(max(autarky[k, m], p_w), landed)


@njit(cache=True)
def _levels(kind, p, k, m, a):
    """(demand, supply) at price p for the BLOC or the WORLD market; `a` is the argument tuple."""
    (bloc_d0, out_d0, eps, member_cap, out_cap, m_lo, m_inv, o_lo, o_inv, flood_q, floors,
     gap, border, stock, budget, pen, has_bloc, autarky, with_fund) = a  # fmt: skip
    if kind == BLOC:
        d = bloc_d0[k, m] * p ** eps[m]
        return d, _member_supply(p, k, m, member_cap, m_lo, m_inv, floors, gap)
    p_b = _bloc_price(p, k, m, autarky, floors, border, pen, has_bloc)
    d = bloc_d0[k, m] * p_b ** eps[m] + out_d0[k, m] * p ** eps[m]
    if with_fund and stock[k, m] and p < floors[k, m]:
        d += budget[k, m] / p
    s = _member_supply(p_b, k, m, member_cap, m_lo, m_inv, floors, gap)
    s += _ramp(p, out_cap, o_lo, o_inv, k, m) + flood_q[k, m]
    return d, s


@njit(cache=True)
def _f(kind, x, k, m, a):
    d, s = _levels(kind, exp(x), k, m, a)
    return log(max(d, TINY)) - log(max(s, TINY))


@njit(cache=True)
def _root(kind, k, m, a, lo_w, hi_w, guess):
    """The log price where _f changes sign, within [lo_w, hi_w]; `guess` NaN for none."""
    if guess == guess:  # not NaN: a narrow bracket first, widened step by step
        lo, hi = max(guess - WARM, lo_w), min(guess + WARM, hi_w)
        flo, fhi = _f(kind, lo, k, m, a), _f(kind, hi, k, m, a)
        step = 4.0 * WARM
        while flo <= 0.0 and lo > lo_w:
            hi, fhi = lo, flo
            lo = max(lo - step, lo_w)
            flo = _f(kind, lo, k, m, a)
            step *= 4.0
        step = 4.0 * WARM
        while fhi >= 0.0 and hi < hi_w:
            lo, flo = hi, fhi
            hi = min(hi + step, hi_w)
            fhi = _f(kind, hi, k, m, a)
            step *= 4.0
    else:
        lo, hi = lo_w, hi_w
        flo, fhi = _f(kind, lo, k, m, a), _f(kind, hi, k, m, a)
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
        fx = _f(kind, x, k, m, a)
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


@njit(cache=True)
def find_prices(bloc_d0, out_d0, eps, member_cap, out_cap, m_lo, m_inv, o_lo, o_inv, flood_q,
                floors, gap, border, stock, budget, pen, has_bloc, bloc_cons, log_lo, log_hi,
                log_guess, log_autarky_guess):  # fmt: skip
    """World prices and bloc autarky prices, each (K, M), in USD per tonne."""
    K, M = bloc_d0.shape
    autarky = np.zeros((K, M))
    p_w = np.zeros((K, M))
    a = (bloc_d0, out_d0, eps, member_cap, out_cap, m_lo, m_inv, o_lo, o_inv, flood_q, floors,
         gap, border, stock, budget, pen, has_bloc, autarky, True)  # fmt: skip
    for k in range(K):
        for m in range(M):
            if has_bloc[k] and bloc_cons[k, m] > 0.0:
                x = _root(BLOC, k, m, a, log_lo[m], log_hi[m], log_autarky_guess[k, m])
                autarky[k, m] = exp(x)
    no_fund = (bloc_d0, out_d0, eps, member_cap, out_cap, m_lo, m_inv, o_lo, o_inv, flood_q,
               floors, gap, border, stock, budget, pen, has_bloc, autarky, False)  # fmt: skip
    for k in range(K):
        for m in range(M):
            lo_w, hi_w, guess = log_lo[m], log_hi[m], log_guess[k, m]
            if stock[k, m]:
                # The fund makes demand jump at the floor: where it holds the floor the price is
                # the floor; elsewhere search on one side of it only.
                f = max(floors[k, m], exp(log_lo[m]))
                d, s = _levels(WORLD, f, k, m, no_fund)
                gap_at_floor = d - s
                if gap_at_floor < 0.0 < gap_at_floor + budget[k, m] / f:
                    p_w[k, m] = floors[k, m]
                    continue
                if gap_at_floor >= 0.0:
                    lo_w = log(f)
                else:
                    hi_w = log(f)
                guess = np.nan
            p_w[k, m] = exp(_root(WORLD, k, m, a, lo_w, hi_w, guess))
    return p_w, autarky

"""The price search checked against an independent oracle.

`negotiation.engine.market.clear` finds every world price and every bloc-autarky price with its own
compiled search (Newton's method and a bracketed Illinois search, `negotiation/engine/_kernels.py`).
Its other test oracle, `tests/reference_market.py`, calls the same compiled search, so nothing else
checks the prices it finds. Here the economics are written again, in plain numpy and from their
documentation only (the docstring of `negotiation/engine/market.py` and Submodels A-C of
`docs/ODD.md`; neither the kernels nor `tests/reference_market.py` were read to write this file),
for one mineral and one package at a time, and their roots are found with `scipy.optimize.brentq` on
the log price.

What is drawn (hypothesis): 2-5 actors, one of them the dominant supplier (never a member, as in
the model), 1-3 minerals, 1-3 packages (some copies of an earlier one, so that the kernel's reuse
of repeated markets is exercised too), any members, floors or none, each instrument, a penalty,
a stockpile budget, a flood, export controls, a demand shift, capacities (some zero) and
consumption (some zero), with or without a starting guess.

Export controls: the ODD (Submodel E) says the supplier withholds "the share of its output members
would buy (members' share of world consumption) times the intensity"; `Policies.control` is that
intensity, and the oracle takes members' share at the reference price (their `consumption` over the
mineral's `demand`; a demand shift scales every buyer alike). Reading `control` as a share of
capacity withheld from everyone disagrees with the kernel at once.

What is left out, and why:
- every world has some rest-of-world demand (`demand` above the actors' consumption) and a demand
  elasticity of at least 0.1 in absolute value: the world's excess demand is then strictly
  decreasing in the price, so its root is unique and both searches must find the same one. With
  no fringe buyers and every buyer a member behind a bloc price that does not move with the world
  price, excess demand can be flat over an interval, and any price in it is a root;
- no root-finding where the stockpile fund holds the floor: the fund's demand, b / p below the
  floor F, vanishes at F, so where the fund can absorb the world's excess supply at F excess demand
  jumps from positive to negative there, with no root. The oracle applies the documented rule
  (the price is F) instead of a root finder, and `test_fund_at_the_floor_closes_the_gap` checks
  that case on its own: the price is F, the fund buys exactly the world's excess supply at F, and
  brentq run across the jump closes on F too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from negotiation.engine.market import (
    BORDER,
    PRICE_GAP,
    PRICE_HI,
    STOCKPILE,
    MarketData,
    Policies,
    clear,
)

#: The search range, as documented (ODD Submodel B): [1e-3 ref, 1e6 ref].
LO, HI = 1e-3, 1e6
LOG0 = -800.0  # ln 0, as documented: below the log of any positive double
RTOL = 1e-8
PRICES = {"bloc_price", "consumer_price", "producer_price"}
MONEY = {"tariffs_paid", "gap_payments", "stock_spending", "tariff_revenue"}
SHARES = {"supplier_share", "bloc_share"}


# ---------------------------------------------------------------------------------------------
# The oracle: one mineral, one package


def ramp(p: float, cap, cost, spread):
    """Submodel A: capacity x clip((p - c (1 - s/2)) / (c s), 0, 1)."""
    return cap * np.clip((p - cost * (1.0 - 0.5 * spread)) / (cost * spread), 0.0, 1.0)


def iso(p: float, base, ref: float, eps: float, shift: float):
    """Submodel A: base x shift x (p / ref)^eps."""
    return base * shift * (p / ref) ** eps


def log_or(x: float) -> float:
    return np.log(x) if x > 0 else LOG0


@dataclass
class OneMarket:
    """One mineral under one package, every array over the actors."""

    ref: float
    eps: float
    spread: float
    fringe_cost: float
    fringe_cap: float
    fringe_demand: float  # rest-of-world buyers at the reference price
    cost: np.ndarray
    cap: np.ndarray
    cons: np.ndarray
    supplier: int
    member: np.ndarray
    floor: float
    instrument: int
    penalty: float
    budget: float
    flood: float
    control: float
    shift: float

    @property
    def has_bloc(self) -> bool:
        return bool(self.member.any())

    @property
    def fund_buys(self) -> bool:
        """The fund is active with the stockpile instrument, a floor, a budget and a member."""
        return self.instrument == STOCKPILE and self.floor > 0 and self.budget > 0 and self.has_bloc

    def withheld_share(self) -> float:
        """Export controls (ODD Submodel E): the supplier withholds the share of its output
        members would buy, members' share of world consumption (here at the reference price:
        their `consumption` over the mineral's `demand`), times the intensity `control`."""
        world = self.cons.sum() + self.fringe_demand
        return self.control * float(self.cons[self.member].sum() / world) if world > 0 else 0.0

    def supply_cap(self) -> np.ndarray:
        """Each actor's capacity on its ramp: the supplier's net of what it withholds."""
        cap = self.cap.astype(float).copy()
        cap[self.supplier] *= 1.0 - self.withheld_share()
        return cap

    def flood_volume(self) -> float:
        """Extra volume sold at any price: a fraction of the supplier's capacity."""
        return self.flood * self.cap[self.supplier]

    # --- the bloc's own market ------------------------------------------------------------
    def members_supply(self, p: float) -> float:
        """Members' producers at bloc price p (at max(p, F) under price_gap)."""
        q = max(p, self.floor) if self.instrument == PRICE_GAP else p
        m = self.member
        return float(ramp(q, self.supply_cap()[m], self.cost[m], self.spread).sum())

    def members_demand(self, p: float) -> float:
        return float(iso(p, self.cons[self.member], self.ref, self.eps, self.shift).sum())

    def autarky_excess(self, x: float) -> float:
        p = np.exp(x)
        return log_or(self.members_demand(p)) - log_or(self.members_supply(p))

    def autarky(self) -> float:
        """The price clearing members' market alone; 0 with no bloc or no members' demand."""
        if not self.has_bloc or self.cons[self.member].sum() == 0:
            return 0.0
        return root(self.autarky_excess, self.ref)

    # --- the world market -----------------------------------------------------------------
    def landed(self, p: float) -> float:
        """L(p): max(F, p) + pen p under border with a floor, else (1 + pen) p."""
        base = max(self.floor, p) if (self.instrument == BORDER and self.floor > 0) else p
        return base + self.penalty * p

    def bloc_price(self, p: float, autarky: float) -> float:
        if not self.has_bloc:
            return p
        return min(max(autarky, p), self.landed(p))

    def world_demand(self, p: float, autarky: float) -> float:
        pb = self.bloc_price(p, autarky)
        m = self.member
        d = iso(pb, self.cons[m], self.ref, self.eps, self.shift).sum()
        d += iso(p, self.cons[~m], self.ref, self.eps, self.shift).sum()
        d += iso(p, self.fringe_demand, self.ref, self.eps, self.shift)
        if self.fund_buys and p < self.floor:
            d += self.budget / p
        return float(d)

    def world_supply(self, p: float, autarky: float) -> float:
        pb = self.bloc_price(p, autarky)
        m = self.member
        cap = self.supply_cap()
        q = max(pb, self.floor) if self.instrument == PRICE_GAP else pb
        s = ramp(q, cap[m], self.cost[m], self.spread).sum()
        s += ramp(p, cap[~m], self.cost[~m], self.spread).sum()
        s += ramp(p, self.fringe_cap, self.fringe_cost, self.spread)
        return float(s + self.flood_volume())

    def world_excess(self, x: float, autarky: float) -> float:
        p = np.exp(x)
        return log_or(self.world_demand(p, autarky)) - log_or(self.world_supply(p, autarky))

    def world(self, autarky: float) -> float:
        if self.pinned(autarky):
            return float(self.floor)
        return root(lambda x: self.world_excess(x, autarky), self.ref)

    def glut_at_floor(self, autarky: float) -> float:
        """The world's excess supply at p = F, without the fund, t/yr."""
        f = self.floor
        demand = self.world_demand(f, autarky)  # the fund buys only below F
        return self.world_supply(f, autarky) - demand

    def pinned(self, autarky: float) -> bool:
        """The fund holds the world price at the floor: at p = F the world has excess supply,
        and the fund's budget can buy all of it (ODD Submodel C). Excess demand jumps down at F
        (the fund's b / p vanishes there) and has no root; the price is F."""
        if not self.fund_buys:
            return False
        glut = self.glut_at_floor(autarky)
        return 0 < glut < self.budget / self.floor

    # --- what follows from the prices (ODD Submodels B and C) -------------------------------
    def flows(self, w: float, autarky: float) -> dict[str, np.ndarray | float]:
        """Prices, quantities and money at world price w, as documented."""
        m = self.member
        pb = self.bloc_price(w, autarky)
        consumer = np.where(m, pb, w)
        producer = consumer.copy()
        if self.instrument == PRICE_GAP:
            producer[m] = max(pb, self.floor)
        production = ramp(producer, self.supply_cap(), self.cost, self.spread)
        production[self.supplier] += self.flood_volume()
        consumption = iso(consumer, self.cons, self.ref, self.eps, self.shift)
        fringe_supply = ramp(w, self.fringe_cap, self.fringe_cost, self.spread)
        fringe_demand = iso(w, self.fringe_demand, self.ref, self.eps, self.shift)
        imports = max(consumption[m].sum() - production[m].sum(), 0.0) if self.has_bloc else 0.0
        # members collect the tariffs in proportion to their own net imports
        net_imports = np.where(m, np.maximum(consumption - production, 0.0), 0.0)
        world_supply = production.sum() + fringe_supply
        gap = 0.0
        if self.instrument == PRICE_GAP and self.has_bloc:
            gap = (max(pb, self.floor) - pb) * production[m].sum()
        bought = 0.0
        if self.fund_buys and w <= self.floor:
            glut = production.sum() + fringe_supply - consumption.sum() - fringe_demand
            bought = min(max(glut, 0.0), self.budget / w)
        return {
            "bloc_price": pb,
            "consumer_price": consumer,
            "producer_price": producer,
            "production": production,
            "consumption": consumption,
            "fringe_supply": fringe_supply,
            "fringe_demand": fringe_demand,
            "bloc_imports": imports,
            "tariffs_paid": (pb - w) * imports,
            "gap_payments": gap,
            "stock_purchases": bought,
            "stock_spending": bought * w,
            "supplier_share": production[self.supplier] / world_supply if world_supply else 0.0,
            "bloc_share": production[m].sum() / world_supply if world_supply else 0.0,
            "tariff_revenue": (pb - w) * imports * net_imports / max(net_imports.sum(), 1e-300),
        }


def root(excess, ref: float) -> float:
    """The price where `excess` (of the log price, non-increasing) changes sign, in the search
    range; the end of the range where it does not (excess supply even at the lowest price, or
    excess demand even at the highest)."""
    lo, hi = np.log(ref * LO), np.log(ref * HI)
    e_lo, e_hi = excess(lo), excess(hi)
    if e_lo <= 0:
        return float(np.exp(lo))
    if e_hi >= 0:
        return float(np.exp(hi))
    x = brentq(excess, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500)
    return float(np.exp(x))


# ---------------------------------------------------------------------------------------------
# Random worlds


@dataclass
class Case:
    data: MarketData
    pol: Policies
    guess: np.ndarray | None
    autarky_guess: np.ndarray | None

    def market(self, k: int, m: int) -> OneMarket:
        d, p = self.data, self.pol
        return OneMarket(
            ref=d.ref_price[m],
            eps=d.elasticity[m],
            spread=d.spread[m],
            fringe_cost=d.fringe_cost[m],
            fringe_cap=p.fringe_capacity[k, m],
            fringe_demand=d.demand[m] - d.consumption[:, m].sum(),
            cost=d.cost[:, m],
            cap=p.capacity[k, :, m],
            cons=d.consumption[:, m],
            supplier=d.supplier,
            member=p.member[k],
            floor=p.floors[k, m],
            instrument=int(p.instrument[k]),
            penalty=p.penalty[k],
            budget=p.stock_budget[k, m],
            flood=p.flood[k, m],
            control=p.control[k, m],
            shift=p.demand_shift[k, m],
        )


def some_zero(draw, lo: float, hi: float, shape, p_zero: float = 0.2) -> np.ndarray:
    """Log-uniform values in [lo, hi], each zero with probability about p_zero."""
    n = int(np.prod(shape))
    u = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    z = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    v = np.exp(np.log(lo) + np.array(u) * (np.log(hi) - np.log(lo)))
    return np.where(np.array(z) < p_zero, 0.0, v).reshape(shape)


def uniform(draw, lo: float, hi: float, shape) -> np.ndarray:
    n = int(np.prod(shape))
    return np.array(draw(st.lists(st.floats(lo, hi), min_size=n, max_size=n))).reshape(shape)


@st.composite
def cases(draw) -> Case:
    A = draw(st.integers(2, 5))
    M = draw(st.integers(1, 3))
    K = draw(st.integers(1, 3))
    sup = draw(st.integers(0, A - 1))
    ref = some_zero(draw, 1e2, 1e5, M, p_zero=0.0)
    cons = some_zero(draw, 1.0, 1e4, (A, M))
    fringe_share = uniform(draw, 0.05, 0.8, M)  # of world demand: fringe buyers always buy
    demand = cons.sum(axis=0) / (1 - fringe_share) + 1.0
    data = MarketData(
        ref_price=ref,
        demand=demand,
        elasticity=uniform(draw, -2.0, -0.1, M),
        fringe_cost=ref * uniform(draw, 0.2, 2.0, M),
        spread=uniform(draw, 0.05, 1.5, M),
        cost=ref * uniform(draw, 0.2, 2.0, (A, M)),
        consumption=cons,
        exposure=uniform(draw, 0.0, 1.0, (A, M)),
        supplier=sup,
    )
    member = np.array(draw(st.lists(st.booleans(), min_size=K * A, max_size=K * A))).reshape(K, A)
    member[:, sup] = False
    floored = np.array(draw(st.lists(st.booleans(), min_size=K * M, max_size=K * M)))
    floors = np.where(floored.reshape(K, M), ref * uniform(draw, 0.3, 3.0, (K, M)), 0.0)
    instrument = np.array(draw(st.lists(st.sampled_from([BORDER, PRICE_GAP, STOCKPILE]),
                                        min_size=K, max_size=K)))  # fmt: skip
    penalty = np.where(uniform(draw, 0, 1, K) < 0.3, 0.0, uniform(draw, 0.0, 1.0, K))
    # a budget from a trickle to several times the mineral's value at the reference price
    budget = some_zero(draw, 1e-3, 3.0, (K, M), p_zero=0.3) * ref * demand
    flood = some_zero(draw, 0.01, 0.8, (K, M), p_zero=0.6)
    control = some_zero(draw, 0.01, 1.0, (K, M), p_zero=0.6)
    shift = np.where(uniform(draw, 0, 1, (K, M)) < 0.6, 1.0, uniform(draw, 0.5, 1.5, (K, M)))
    # capacity around the demand at the reference price, shared out at random; some zero
    cap = some_zero(draw, 0.05, 1.0, (K, A, M)) * demand
    fringe = some_zero(draw, 0.05, 1.0, (K, M)) * demand
    # some packages repeat an earlier one in a mineral (the kernel reuses such markets)
    for k in range(1, K):
        if draw(st.booleans()):
            j = draw(st.integers(0, k - 1))
            member[k] = member[j]
            instrument[k], penalty[k] = instrument[j], penalty[j]
            for arr in (floors, budget, flood, control, shift, cap, fringe):
                arr[k] = arr[j]
    pol = Policies(
        member=member,
        floors=floors,
        instrument=instrument.astype(np.int64),
        penalty=penalty,
        stock_budget=budget,
        flood=flood,
        control=control,
        demand_shift=shift,
        capacity=cap,
        fringe_capacity=fringe,
    )
    guesses = draw(st.booleans())
    guess = ref * np.exp(uniform(draw, -3, 3, M)) if guesses else None
    aguess = ref * np.exp(uniform(draw, -3, 3, M)) if guesses else None
    return Case(data, pol, guess, aguess)


def close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b))


# ---------------------------------------------------------------------------------------------
# The tests


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.floats(-0.05, 0.05))
def test_prices_agree_with_the_oracle(case: Case, near: float):
    """Every price of `clear` is the oracle's root, and the flows are the documented ones at it;
    searched from no guess, a random one (the case's), and one within `near` in log price of the
    answer, as the model's guesses are (last round's prices: Newton's method)."""
    out = clear(case.data, case.pol, case.guess, case.autarky_guess)
    K, M = case.pol.floors.shape
    world, autarky = np.zeros((K, M)), np.zeros((K, M))
    for k in range(K):
        for m in range(M):
            mk = case.market(k, m)
            a = autarky[k, m] = mk.autarky()
            w = world[k, m] = mk.world(a)
            where = f"package {k}, mineral {m}: {mk}"
            assert close(out.autarky[k, m], a), f"autarky {out.autarky[k, m]} != {a}; {where}"
            assert close(out.world_price[k, m], w), f"world {out.world_price[k, m]} != {w}; {where}"
            flows = mk.flows(w, a)
            pb = flows["bloc_price"]
            assert close(out.bloc_price[k, m], pb), f"bloc {out.bloc_price[k, m]} != {pb}; {where}"
            # quantities to 1e-8 of the world's demand, money to 1e-8 of its value
            q_tol = RTOL * case.data.demand[m]
            money_tol = q_tol * max(w, pb, mk.floor)
            for name, want in flows.items():
                got = getattr(out, name)[k, ..., m]
                atol = money_tol if name in MONEY else q_tol if name not in PRICES else 0.0
                atol = RTOL if name in SHARES else atol
                np.testing.assert_allclose(
                    got, want, rtol=RTOL, atol=atol, err_msg=f"{name}; {where}"
                )
    # from a guess near the first package's answer (the model's: its autarky price, else its
    # bloc price), as every package of a model's batch starts from the same guess
    a_guess = np.where(autarky[0] > 0, autarky[0], out.bloc_price[0])
    again = clear(case.data, case.pol, world[0] * np.exp(near), a_guess * np.exp(-near))
    np.testing.assert_allclose(again.world_price, world, rtol=RTOL)
    np.testing.assert_allclose(again.autarky, autarky, rtol=RTOL)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.floats(1.05, 3.0), st.floats(0.05, 10.0))
def test_fund_at_the_floor_closes_the_gap(case: Case, above: float, reach: float):
    """A stockpile floor F above the price that clears the world without the fund, with a fund
    whose budget b can buy `reach` times the world's excess supply at F: where b / F covers the
    excess (reach > 1) the world price is F and the fund buys exactly that excess, spending it
    times F; where it does not, the fund spends its whole budget and the price falls below F."""
    K, M = case.pol.floors.shape
    member = case.pol.member.copy()
    member[:, (case.data.supplier + 1) % member.shape[1]] = True  # a bloc, so the fund buys
    pol = replace(
        case.pol,
        member=member,
        instrument=np.full(K, STOCKPILE, dtype=np.int64),
        stock_budget=np.zeros((K, M)),
        floors=np.zeros((K, M)),
    )
    floors, budget, gluts = np.zeros((K, M)), np.zeros((K, M)), np.zeros((K, M))
    for k in range(K):
        for m in range(M):
            mk = Case(case.data, pol, None, None).market(k, m)
            a = mk.autarky()  # the floor does not move members' market under `stockpile`
            mk.floor = above * mk.world(a)
            glut = mk.glut_at_floor(a)
            # no supply at all (the world price is capped even without the fund), or a floor
            # beyond the top of the prices the market searches (a world price already capped)
            if glut <= 0 or mk.floor >= PRICE_HI * mk.ref:
                continue
            floors[k, m], gluts[k, m] = mk.floor, glut
            budget[k, m] = reach * glut * mk.floor
    held = floors > 0
    pol = replace(pol, floors=floors, stock_budget=budget)
    out = clear(case.data, pol, case.guess, case.autarky_guess)
    if reach > 1.0 + 1e-9:
        np.testing.assert_allclose(out.world_price[held], floors[held], rtol=1e-12)
        np.testing.assert_allclose(out.stock_purchases[held], gluts[held], rtol=RTOL)
        np.testing.assert_allclose(out.stock_spending, gluts * floors, rtol=RTOL)
        # the oracle's own root finder, run over the jump, closes on the floor too
        for k, m in zip(*np.nonzero(held)):
            mk = Case(case.data, pol, None, None).market(k, m)
            a = mk.autarky()
            p = root(lambda x, mk=mk, a=a: mk.world_excess(x, a), mk.ref)
            assert close(p, floors[k, m])
    elif reach < 1.0 - 1e-9:
        assert np.all(out.world_price[held] < floors[held])
        np.testing.assert_allclose(out.stock_spending, budget, rtol=RTOL)

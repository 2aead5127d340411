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
supplier can flood (sell extra volume at any price) or withhold exports, aimed at members or
from every foreign buyer.

Supply security is measured on flows (see `negotiation.engine._kernels`): members' producers sell to
members first where the package gives them a reason (a bloc price above the world price, or a
price-gap payment), and that supply is `secured`; everyone else buys from one mixed pool. A
package's offtake partners (non-members, as Australia under its October 2025 framework with the
US) sell into the bloc's market as members' producers do, for the share of their capacity under
contract (`[policy] offtake_share`; the rest sells at the world price): at the members' producer
price, the gap paid by members, their buyers at the world price.

Units: quantities in tonnes per year, prices in USD per tonne, money flows in USD per year.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from negotiation.engine._kernels import OUTCOME_KAM, OUTCOME_KM, clear_kernel
from negotiation.rules.types import INSTRUMENT_CODES, Instrument

BORDER = INSTRUMENT_CODES[Instrument.BORDER]  # codes of `Policies.instrument`
PRICE_GAP = INSTRUMENT_CODES[Instrument.PRICE_GAP]
STOCKPILE = INSTRUMENT_CODES[Instrument.STOCKPILE]

#: Search brackets for every price, as multiples of the reference price (see
#: negotiation.engine._kernels).
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

    @cached_property
    def log_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The price search's bracket for every mineral, as log prices (see PRICE_LO, _HI)."""
        return np.log(self.ref_price * PRICE_LO), np.log(self.ref_price * PRICE_HI)

    @cached_property
    def kernel_args(self) -> tuple:
        """The data as `negotiation.engine._kernels.batch_kernel` takes it."""
        return (
            self.ref_price,
            self.elasticity,
            self.demand,
            self.fringe_cost,
            self.spread,
            self.cost,
            self.consumption,
            self.exposure,
            self.supplier,
            *self.log_bounds,
        )

    @property
    def fringe_demand(self) -> np.ndarray:
        """Rest-of-world buyers at the reference price: world demand less the actors', t/yr."""
        return np.maximum(self.demand - self.consumption.sum(axis=0), 0.0)


@dataclass(frozen=True)
class Policies:
    """K packages to clear side by side.

    member: (K, A) bool; floors: (K, M) USD/t, 0 = no floor; instrument, penalty: (K,);
    stock_budget: (K, M) USD per year the fund may spend on each mineral;
    flood: (K, M) supplier's extra volume, as a fraction of its capacity; control: (K, M) the
    share of its sales to members it withholds (export controls aimed at members); blanket:
    (K, M) the share of its exports to everyone it withholds; demand_shift: (K, M) multiplier
    on demand; capacity: (K, A, M) and fringe_capacity: (K, M) in t/yr; partner: (K, A) or (A,)
    the offtake partners (non-members whose producers sell into the bloc's market on its
    terms), as the share of each actor's capacity under contract (True: all of it; False or 0:
    none), none by default.
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
    blanket: np.ndarray | float = 0.0
    partner: np.ndarray | bool | float = False


@dataclass(frozen=True)
class Outcome:
    """Cleared markets for K packages. Prices (K, M) in USD/t; quantities in t/yr."""

    world_price: np.ndarray
    bloc_price: np.ndarray
    producer_price: np.ndarray  # (K, A, M): price each actor's producers receive (an offtake
    # partner's: the average over what it sold in the bloc's market and outside)
    consumer_price: np.ndarray  # (K, A, M): price each actor's buyers pay
    production: np.ndarray  # (K, A, M), including any flood volume
    consumption: np.ndarray  # (K, A, M)
    fringe_supply: np.ndarray
    fringe_demand: np.ndarray
    bloc_imports: np.ndarray  # (K, M): supply from outside the bloc's sellers (members and
    # offtake partners) bought by members, >= 0
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
    supplier_share_outside: np.ndarray  # (K, M) of the pool non-members buy from
    secured: np.ndarray  # (K, M) t/yr members' producers sell to members first
    support_ratio: np.ndarray  # (K, M) share of floor support members' budgets pay (1: all)
    seller_price: np.ndarray  # (K, M) price paid on what is sold into the bloc's market
    bloc_sales_share: np.ndarray  # (K, A, M) share of each actor's capacity that sells there
    # (a member's all, an offtake partner's the contracted share)

    @classmethod
    def from_kernel(cls, km: np.ndarray, kam: np.ndarray) -> Outcome:
        """The outcome from the kernels' two arrays: its fields are views of their slabs."""
        return cls._of(dict(zip(OUTCOME_KM + OUTCOME_KAM, (*km, *kam))))

    @classmethod
    def _of(cls, fields: dict[str, np.ndarray]) -> Outcome:
        """An Outcome of these fields, all of them, without the frozen dataclass's __init__ (a
        microsecond a field: the model makes a few a round)."""
        out = object.__new__(cls)
        out.__dict__.update(fields)
        return out

    def packages(self, start: int, stop: int) -> Outcome:
        """Packages start..stop of the batch, as an Outcome of their own (views)."""
        return Outcome._of({k: v[start:stop] for k, v in self.__dict__.items()})


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


def kernel_ready(a: np.ndarray) -> np.ndarray:
    """`a` C-contiguous and writeable, as the kernels are compiled for: numba compiles a kernel
    again (tens of seconds) for each other layout or a read-only array (a broadcast view that
    happens to be contiguous, such as a scalar spread over one mineral), and computes the same
    numbers. `a` itself when it already is one."""
    if a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.array(a, order="C")  # a copy: writeable, whatever `a` was


def as_array(x, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """`x` as a C-contiguous, writeable array of `shape` and `dtype` for the compiled kernels
    (see `kernel_ready`), broadcast if need be; `x` itself when it already is one."""
    if (
        type(x) is np.ndarray
        and x.dtype == dtype
        and x.shape == shape
        and x.flags.c_contiguous
        and x.flags.writeable
    ):
        return x  # the common case, kept cheap: the model calls this ~40 times a batch
    a = np.asarray(x, dtype=dtype)
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    return kernel_ready(a)


def as_rows(x, shape: tuple[int, ...]) -> np.ndarray:
    """Like `as_array`, for inputs the kernels accept as one row shared by all K packages:
    shape (1, ...) stays as it is, and so does anything without the leading K axis, given one."""
    if (
        type(x) is np.ndarray
        and x.dtype == np.float64
        and x.flags.c_contiguous
        and x.flags.writeable
        and (x.shape == shape or (x.shape[0] == 1 and x.shape[1:] == shape[1:]))
    ):
        return x
    a = np.asarray(x, dtype=np.float64)
    if a.shape == shape[1:]:
        return kernel_ready(a[None])
    return as_array(a, shape)


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

    The arithmetic is the module docstring's, compiled in `negotiation.engine._kernels.clear_kernel`
    (its numpy form is the test oracle in tests/reference_market.py).

    The plain entry point, over full (K, ...) arrays: the reference the model's packed batches
    (`negotiation.engine.evaluator.Evaluator`, the model's one way into the kernels) are checked
    against. The model clears through it only its calibration (`Evaluator.no_policy_outcome`).
    """
    return Outcome.from_kernel(*clear_kernel(*clear_args(data, pol, guess, autarky_guess)))


def clear_args(data: MarketData, pol: Policies, guess=None, autarky_guess=None) -> tuple:
    """The arguments of `negotiation.engine._kernels.clear_kernel`, in the types it is compiled
    for."""
    K = pol.member.shape[0]
    A, M = data.cost.shape
    km = (K, M)

    def log_of(g) -> np.ndarray:
        if g is None:
            return np.full((1, M), np.nan)
        return as_rows(log_guess(data, g), km)

    return (
        data.ref_price,
        data.elasticity,
        data.demand,
        data.fringe_cost,
        data.spread,
        data.cost,
        data.consumption,
        data.supplier,
        as_array(pol.member, (K, A), np.bool_),
        as_array(pol.floors, km),
        as_array(pol.instrument, (K,), np.int64),
        as_array(pol.penalty, (K,)),
        as_array(pol.stock_budget, km),
        as_array(pol.flood, km),
        as_array(pol.control, km),
        as_array(pol.blanket, km),
        as_rows(pol.demand_shift, km),
        as_rows(pol.capacity, (K, A, M)),
        as_rows(pol.fringe_capacity, km),
        *data.log_bounds,
        log_of(guess),
        log_of(autarky_guess),
        partner_rows(pol.partner, K, A),
    )


def partner_rows(partner, K: int, A: int) -> np.ndarray:
    """The offtake partners as the kernels take them, the share of each actor's capacity under
    contract (True: all of it): (1, A) shared by all K packages, or (K, A)."""
    a = np.asarray(partner, dtype=float)
    if a.ndim < 2:
        return kernel_ready(np.broadcast_to(a, (A,))[None])
    return as_array(a, (K, A))


def log_guess(data: MarketData, price: np.ndarray) -> np.ndarray:
    """A price guess, (M,) or (K, M), as the kernels take it: its log, kept above a millionth of
    the reference price."""
    return np.log(np.maximum(price, data.ref_price * 1e-6))

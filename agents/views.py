"""What agents see: an immutable snapshot of the round and an interface to forecast outcomes.

Agents never reach into the model. The model fills these views; strategies read them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from negotiation.rules.protocol import Option, best_counter
from negotiation.rules.types import CounterOption, Package, Reason, SupplierMove


@dataclass(frozen=True)
class CountryView:
    """A country's view when a package is on the table.

    gains: for each floor scale the engine evaluated (1.0 = the package as proposed), the reason for
    joining: (utility if it joins - utility if it stays out) by component, USD per year, as the
    country forecasts it (with its error) over its horizon: a year's equivalent of what it
    expects now and once the investment pipeline has delivered, discounted.
    stake: the size of the actor's interests (sum of absolute components), USD per year, so that
    strategies can express thresholds as fractions.
    elapsed: rounds since the track opened; deadline: rounds from the track's opening to its
    deadline (None without one).
    history: previous rounds' public events, as (round, actor, kind) tuples.
    """

    actor: str
    round: int
    elapsed: int
    deadline: int | None
    package: Package
    gains: dict[float, Reason]
    stake: float
    members: frozenset[str]
    history: tuple[tuple[int, str, str], ...]
    rng: np.random.Generator
    #: the value now of a dollar a year from now (the profile's `discount`)
    discount: float = 1.0
    #: Weighted components (USD/yr) if it accepts and if it rejects, at the proposed floors.
    outcomes: dict[str, dict[str, float]] = field(default_factory=dict)
    #: what accepting costs beyond the gains, as USD a year over the horizon: joining again
    #: after leaving (positive), or, for a member asked whether it stays, the cost of leaving
    #: that staying saves (negative)
    switch_cost: float = 0.0
    #: The counter-proposals it may name this round, each with its value to it and the members'
    #: expected answer (computed when first asked: a country that accepts never pays for them).
    counters: Callable[[], tuple[CounterOption, ...]] = field(default=lambda: (), repr=False)
    #: The counter it names for a need (USD/yr), or None (the model answers without making every
    #: option an object; by default, `best_counter` over `counter_options()`)
    best: Callable[[float], CounterOption | None] | None = field(default=None, repr=False)

    def counter_options(self) -> tuple[CounterOption, ...]:
        return self.counters()

    def best_counter(self, need: float) -> CounterOption | None:
        """Among the counters the members are expected to agree to and worth at least `need`
        to it, the one worth most (negotiation.rules.protocol.best_counter, values within a
        billionth of the stake a tie, as the model's), or None."""
        if self.best is not None:
            return self.best(need)
        options = self.counter_options()
        table = [Option(o.label, o.gain.total, o.agreed) for o in options]
        k = best_counter(table, need, 1e-9 * self.stake)
        return None if k is None else options[k]


@dataclass(frozen=True)
class Forecast:
    """What the supplier expects from one of its options, for one round."""

    move: SupplierMove
    utility: float  # the supplier's weighted utility, USD per year
    members_after: frozenset[str]  # who would still be in after members react
    margins: dict[str, float] = field(default_factory=dict)  # members' gain from staying


@dataclass(frozen=True)
class SupplierView:
    """The supplier's view: the bloc, the markets, and a forecast of its candidate moves."""

    actor: str
    round: int
    members: frozenset[str]
    minerals: tuple[str, ...]
    floors: dict[str, float]
    supplier_share: dict[str, float]  # of world supply at the reference, by mineral
    #: each member's gain from staying in (USD/yr) last round, without any side offer
    margins: dict[str, float]
    stakes: dict[str, float]
    aggressiveness: float
    forecast: Callable[[Sequence[SupplierMove]], list[Forecast]]
    rng: np.random.Generator
    budget: float = float("inf")  # USD/yr it can spend on side offers

"""Bloc's Mesa agents and their strategies.

Strategies live in one registry (`STRATEGIES`), keyed by name, in the style of Axelrod's
`axelrod.strategies`: `COUNTRY_STRATEGIES`, `SUPPLIER_STRATEGIES` and `BARGAINER_STRATEGIES` (the
two-player alternating-offers game of `negotiation.rules.bargaining`) are derived from the tags.
"""

from agents.bargaining import BargainingStrategy, Greedy, Rubinstein
from agents.base import Strategy
from agents.countries import (
    Boulware,
    Conceder,
    CountryStrategy,
    FixedReservation,
    Myopic,
    RandomCountry,
    Reciprocal,
    TimeDependent,
)
from agents.human import Human, HumanSupplier
from agents.supplier import (
    Adaptive,
    BlanketControls,
    ExportControls,
    Flood,
    Passive,
    SideOffers,
    SupplierStrategy,
)

ALL_STRATEGIES: list[type[Strategy]] = [
    Myopic,
    FixedReservation,
    TimeDependent,
    Boulware,
    Conceder,
    Reciprocal,
    RandomCountry,
    Passive,
    Flood,
    ExportControls,
    BlanketControls,
    SideOffers,
    Adaptive,
    Human,
    HumanSupplier,
    Rubinstein,
    Greedy,
]
STRATEGIES: dict[str, type[Strategy]] = {s.name: s for s in ALL_STRATEGIES}
COUNTRY_STRATEGIES = {n: s for n, s in STRATEGIES.items() if s.classifier["role"] == "country"}
SUPPLIER_STRATEGIES = {n: s for n, s in STRATEGIES.items() if s.classifier["role"] == "supplier"}
BARGAINER_STRATEGIES = {n: s for n, s in STRATEGIES.items() if s.classifier["role"] == "bargainer"}
#: Strategies an agent can play on its own (the human ones wait for a person).
AGENT_STRATEGIES = {n: s for n, s in STRATEGIES.items() if not s.classifier.get("human")}


def make_strategy(name: str, role: str = "country", **params: float) -> Strategy:
    """Build a registered strategy by name, checking it fits the role."""
    import difflib

    table = {"country": COUNTRY_STRATEGIES, "bargainer": BARGAINER_STRATEGIES}.get(
        role, SUPPLIER_STRATEGIES
    )
    if name not in table:
        close = difflib.get_close_matches(name, list(table), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown {role} strategy {name!r}{hint}; known: {', '.join(sorted(table))}"
        )
    return table[name](**params)


__all__ = [
    "AGENT_STRATEGIES",
    "ALL_STRATEGIES",
    "BARGAINER_STRATEGIES",
    "BargainingStrategy",
    "Human",
    "HumanSupplier",
    "COUNTRY_STRATEGIES",
    "STRATEGIES",
    "SUPPLIER_STRATEGIES",
    "CountryStrategy",
    "Strategy",
    "SupplierStrategy",
    "make_strategy",
]

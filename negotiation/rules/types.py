"""Shared vocabulary of the engine: utility components, instruments, supplier actions, decisions.

A leaf module: it imports nothing from the rest of the project, so both `agents/` and
`negotiation/` can use it without closing an import cycle.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

#: Named utility components, in USD per year. Positive is good for the actor.
COMPONENTS: tuple[str, ...] = (
    "producer_surplus",  # (price received - unit cost) x output (records: net of capital charges)
    "consumer_cost",  # -(price paid - reference price) x consumption
    "tariff_revenue",  # variable tariff and penalty collected on non-member supply
    "fiscal_outlay",  # -(share of price-gap payments and stockpile purchases)
    "supply_security",  # -(risk premium x value of supplier-sourced consumption, by flows)
    "openness",  # -(hub business lost by discriminating against outsiders)
    "retaliation",  # side offers received (paid only to a member that left); the supplier pays
    "market_access",  # -(outsider's loss on covered goods sold into the bloc, under its penalty)
)

COMPONENT_LABELS: dict[str, str] = {
    "producer_surplus": "producer surplus",
    "consumer_cost": "consumer cost",
    "tariff_revenue": "tariff revenue",
    "fiscal_outlay": "fiscal outlay",
    "supply_security": "supply security",
    "openness": "openness of trade",
    "retaliation": "side deals",
    "market_access": "access to the bloc's market",
}


class Instrument(StrEnum):
    """How the bloc defends its price floors."""

    BORDER = "border"  # variable tariff on non-member supply lifts its landed price to the floor
    PRICE_GAP = "price_gap"  # members pay their producers floor minus market price
    STOCKPILE = "stockpile"  # a finite fund buys at the floor until it runs dry


INSTRUMENT_CODES: dict[str, int] = {i.value: n for n, i in enumerate(Instrument)}

#: Levers, instruments and cost-sharing keys in words (the events and the app say these, never
#: the ids).
INSTRUMENT_LABELS: dict[str, str] = {
    "border": "border-adjusted tariff",
    "price_gap": "price-gap payments",
    "stockpile": "stockpile",
}
COST_SHARING_LABELS: dict[str, str] = {"consumption": "by consumption", "equal": "equal shares"}
LEVER_LABELS: dict[str, str] = {
    "floors": "floors",
    "instrument": "instrument",
    "penalty": "outsider penalty",
    "cost_sharing": "cost sharing",
    "partners": "offtake partners",
    "offtake_share": "offtake share",
    "offtake_shares": "partners' own contract shares",
    "supplier_strategy": "supplier's strategy",
    "aggressiveness": "supplier's aggressiveness",
    "strategies": "strategies",
    "weights": "weights",
    "patience": "patience",
}


class SupplierAction(StrEnum):
    """What the dominant supplier does in a round."""

    NORMAL = "normal"
    FLOOD = "flood"
    EXPORT_CONTROLS = "export_controls"
    SIDE_OFFER = "side_offer"


class Action(StrEnum):
    """A country's answer to the package on the table."""

    ACCEPT = "accept"
    REJECT = "reject"
    COUNTER = "counter"


@dataclass(frozen=True)
class Reason:
    """Why a decision was taken: the utility difference that drove it, by component.

    `deltas` holds (joining - staying out) in USD per year for each component.
    """

    deltas: dict[str, float]
    threshold: float = 0.0

    @property
    def total(self) -> float:
        return float(sum(self.deltas.values()))

    def sentence(self) -> str:
        """Plain words: "+$0.8bn of consumer cost against -$0.5bn of supply security"."""
        ranked = sorted(self.deltas.items(), key=lambda kv: -abs(kv[1]))
        pos = [(k, v) for k, v in ranked if v > 0][:2]
        neg = [(k, v) for k, v in ranked if v < 0][:2]

        def words(items: list[tuple[str, float]]) -> str:
            return " and ".join(f"{money(v)} of {COMPONENT_LABELS[k]}" for k, v in items)

        if pos and neg:
            return f"{words(pos)} against {words(neg)} a year"
        if pos or neg:
            return f"{words(pos or neg)} a year"
        return "nothing changes either way"


def ids_in_words(text: str, names: dict[str, str]) -> str:
    """A text of the engine with display names for the ids in it (`names`: id -> name), each
    id replaced where it stands as a word ("offers us discounts", "floods rare_earths,
    graphite"), longest first."""
    if not names:
        return text
    ids = "|".join(re.escape(x) for x in sorted(names, key=len, reverse=True))
    return re.sub(rf"(?<![\w-])({ids})(?![\w-])", lambda found: names[found.group(1)], text)


def listed(names: Sequence[str]) -> str:
    """Names in a sentence: ["Japan", "the EU", "Mexico"] -> "Japan, the EU and Mexico"
    ("" for none)."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def money(usd_per_year: float) -> str:
    """Format a USD-per-year amount compactly with its sign: +$1.2bn, -$35m."""
    sign = "+" if usd_per_year >= 0 else "-"
    x = abs(usd_per_year)
    if x >= 1e9:
        return f"{sign}${x / 1e9:.1f}bn"
    if x >= 1e6:
        return f"{sign}${x / 1e6:.0f}m"
    return f"{sign}${x / 1e3:.0f}k"


def money_words(usd_per_year: float) -> str:
    """An amount a year in words, without a sign: "$35m a year"."""
    return f"{money(usd_per_year)[1:]} a year"


@dataclass(frozen=True)
class Package:
    """A proposal on the table.

    floors: USD per tonne for each mineral, 0 where there is no floor.
    penalty: ad-valorem margin on non-member supply into the bloc (0.1 = 10 %).
    cost_sharing: share of the bloc's fiscal outlays for each member (renormalised over members).
    """

    members: frozenset[str]
    floors: tuple[float, ...]
    instrument: Instrument
    penalty: float
    cost_sharing: tuple[float, ...]
    proposer: str = ""


@dataclass(frozen=True)
class Decision:
    """A country's answer with its reason; `counter_scale` multiplies the floors of a counter."""

    action: Action
    reason: Reason
    counter_scale: float = 1.0
    note: str = ""
    #: A counter-proposal's own terms: {"floors": {mineral: USD/t}, "penalty": x,
    #: "cost_sharing": "equal" | "consumption" | {actor: share}}; None = scale the floors.
    terms: dict | None = None
    #: The counter in words ("the gallium floor 20% lower"); empty: the model words it.
    label: str = ""


@dataclass(frozen=True)
class CounterOption:
    """A counter-proposal an invitee may name: its terms (a multiple of every floor, or terms
    of its own as in `Decision.terms`), in words, what joining on them is worth to the invitee
    against staying out (its forecast, as `CountryView.gains`), and the members' expected answer
    under the agenda's agreement rule (`negotiation.rules.protocol`)."""

    label: str
    gain: Reason
    agreed: bool
    verdicts: dict[str, bool] = field(default_factory=dict)
    scale: float = 1.0
    terms: dict | None = None


@dataclass(frozen=True)
class SupplierMove:
    """The supplier's action this round."""

    action: SupplierAction
    minerals: tuple[str, ...] = ()
    intensity: float = 0.0
    target: str = ""  # the member a side offer is aimed at
    offer: float = 0.0  # USD per year offered to the target for leaving
    reason: str = ""

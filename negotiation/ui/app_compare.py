"""Two runs side by side in the web app: run A (pinned) against the run on screen (B).

"Pin as A" keeps the `Snapshot` of the run on screen: immutable, it holds the run's records
(rounds, actors, events) as they were when pinned, so nothing is played again. The Compare tab
overlays A and B (`compare_svg`) and lists the differences at each run's last round played
(`compare_rows`), naming each run's settings (`settings_words`). Built from the snapshots alone,
without Solara, so that the tests can check them against the records by hand.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from negotiation.engine.levers import LEVERS
from negotiation.rules.types import COMPONENT_LABELS, COST_SHARING_LABELS, INSTRUMENT_LABELS
from negotiation.ui.app_charts import BLUE, ORANGE, Panel, Series, line_spec
from negotiation.ui.app_charts_svg import to_svg
from negotiation.ui.app_state import Levers, Snapshot, mineral_label

#: A dashed orange with circles, B solid blue with squares: told apart without colour too, and
#: named in the legend.
A_COLOUR, B_COLOUR = ORANGE, BLUE


@dataclass(frozen=True)
class Row:
    """One difference at the end: A's and B's values (None where there is no number: the
    members) and the words the table shows."""

    key: str
    label: str
    a: float | None
    b: float | None
    a_text: str
    b_text: str
    diff_text: str


def _usd(x: float) -> str:
    return f"${x:,.0f}" if math.isfinite(x) else "–"


def _bn(x: float) -> str:
    return f"${x / 1e9:,.2f}bn" if math.isfinite(x) else "–"


def _share(x: float) -> str:
    return f"{100 * x:.1f}%" if math.isfinite(x) else "–"


def _members(snap: Snapshot) -> list[str]:
    return [snap.names[a] for a in snap.members]


def compare_rows(a: Snapshot, b: Snapshot) -> list[Row]:
    """The differences between run A and run B at the last round each has played: the members,
    each mineral's world price (USD per tonne), the bloc's fiscal cost ($ a year) and the
    supplier's share of each mineral's world supply. B - A, and in percent of A for money."""
    la, lb = a.last, b.last
    ma, mb = _members(a), _members(b)
    only_a = [n for n in ma if n not in mb]
    only_b = [n for n in mb if n not in ma]
    words = []
    if only_b:
        words.append("in B only: " + ", ".join(only_b))
    if only_a:
        words.append("in A only: " + ", ".join(only_a))
    rows = [
        Row(
            "members",
            "Members at the end",
            float(len(ma)),
            float(len(mb)),
            ", ".join(ma) or "nobody",
            ", ".join(mb) or "nobody",
            "; ".join(words) or "the same",
        )
    ]

    def money_row(key: str, label: str, x: float, y: float, fmt) -> Row:
        diff = y - x
        if not (math.isfinite(x) and math.isfinite(y)):
            text = "–"
        elif diff == 0:
            text = "the same"
        else:
            sign = "+" if diff > 0 else "-"
            text = f"{sign}{fmt(abs(diff))}"
            if x != 0:
                text += f" ({diff / abs(x):+.1%})"
        return Row(key, label, x, y, fmt(x), fmt(y), text)

    minerals = [m for m in b.minerals if m in a.minerals]
    for m in minerals:
        key = f"world_price_{m}"
        label = f"World price of {mineral_label(b.mineral_names[m])}, USD per tonne"
        rows.append(money_row(key, label, float(la[key]), float(lb[key]), _usd))
    rows.append(
        money_row(
            "fiscal_cost",
            "Fiscal cost of the floors, a year",
            float(la["fiscal_cost"]),
            float(lb["fiscal_cost"]),
            _bn,
        )
    )
    for m in minerals:
        key = f"supplier_share_{m}"
        x, y = float(la[key]), float(lb[key])
        diff = 100 * (y - x)
        text = (
            "–"
            if not math.isfinite(diff)
            else "the same"
            if abs(diff) < 0.05
            else f"{diff:+.1f} points"
        )
        label = f"Supplier's share of {mineral_label(b.mineral_names[m])}"
        rows.append(Row(key, label, x, y, _share(x), _share(y), text))
    return rows


def lever_words(lv: Levers, name: str, snap: Snapshot, other: Levers | None = None) -> str:
    """A lever's value in words; for floors, weights and patience only the parts that differ
    from `other` (all of them without one)."""
    value = getattr(lv, name)
    theirs = getattr(other, name) if other is not None else None
    if name == "floors":
        parts = [
            f"{mineral_label(snap.mineral_names.get(m, m))} "
            + (f"${f:,.0f}/t" if f > 0 else "no floor")
            for m, f in value.items()
            if theirs is None or not math.isclose(f, theirs.get(m, 0.0))
        ]
        return "floors " + ", ".join(parts)
    if name == "instrument":
        return INSTRUMENT_LABELS.get(value, value)
    if name in ("penalty", "aggressiveness"):
        label = "outsider penalty" if name == "penalty" else "supplier's aggressiveness"
        return f"{label} {value:.0%}"
    if name == "cost_sharing":
        if isinstance(value, Mapping):
            return "cost sharing by the table"
        return f"cost sharing {COST_SHARING_LABELS.get(value, value)}"
    if name == "partners":
        return "offtake partners " + (", ".join(snap.names.get(a, a) for a in value) or "none")
    if name == "offtake_share":
        return f"offtake share {value:.0%}"
    if name == "offtake_shares":
        own = [f"{snap.names.get(a, a)} {x:.0%}" for a, x in value.items()]
        return "partners' own contract shares " + (", ".join(own) or "none")
    if name == "supplier_strategy":
        return f"supplier's strategy {value}"
    if name == "weights":
        return ", ".join(
            f"{snap.names.get(a, a)}'s weight on {COMPONENT_LABELS.get(c, c)} {x:g}"
            for a, w in value.items()
            for c, x in w.items()
            if theirs is None or theirs.get(a, {}).get(c) != x
        )
    if name == "patience":
        return ", ".join(
            f"{snap.names.get(a, a)}'s patience {p} rounds"
            for a, p in value.items()
            if theirs is None or theirs.get(a) != p
        )
    return f"{name} {value}"


#: The live levers, in the model's order.
LEVER_NAMES = LEVERS


def _differ(x: Levers, y: Levers, name: str) -> bool:
    mine, theirs = getattr(x, name), getattr(y, name)
    if name == "floors":
        return any(not math.isclose(f, theirs.get(m, 0.0)) for m, f in mine.items())
    return mine != theirs


def settings_words(a: Snapshot, b: Snapshot) -> tuple[str, str]:
    """A's and B's settings in words: the scenario (if they differ), the seed, the rounds
    played, the levers in which the two differ (as they stand at the end of each run) and the
    rounds where levers changed mid-run."""

    def words(s: Snapshot, other: Snapshot) -> str:
        parts = []
        if s.scenario != other.scenario:
            parts.append(s.title)
        parts.append(f"seed {s.seed}")
        parts.append(f"rounds 0-{s.round} of {s.rounds}")
        levers = [
            lever_words(s.levers, n, s, other.levers)
            for n in LEVER_NAMES
            if _differ(s.levers, other.levers, n)
        ]
        parts.append("; ".join(levers) if levers else "the same levers")
        changed = [r for r in s.lever_rounds if r > 0]
        if changed:
            parts.append("levers changed in round " + ", ".join(str(r) for r in changed))
        return " · ".join(parts)

    return words(a, b), words(b, a)


def compare_minerals(a: Snapshot, b: Snapshot) -> tuple[str, ...]:
    """The minerals the overlay draws: those with a floor in either run (the first four if
    none has one)."""
    both = [m for m in b.minerals if m in a.minerals]
    floored = set(a.floored()) | set(b.floored())
    return tuple(m for m in both if m in floored) or tuple(both[:4])


def overlay(a: Snapshot, b: Snapshot) -> Snapshot:
    """B's snapshot whose rounds table holds A's and B's series side by side (`<column>_A`,
    `<column>_B`) over the rounds of the longer run, for the line charts."""
    columns = ["n_members", "fiscal_cost"] + [
        f"world_price_{m}" for m in b.minerals if m in a.minerals
    ]
    last = max(a.round, b.round)
    rounds = pd.DataFrame({"round": np.arange(last + 1)})
    for tag, s in (("A", a), ("B", b)):
        part = s.rounds_df[["round", *columns]].rename(columns={c: f"{c}_{tag}" for c in columns})
        rounds = rounds.merge(part, on="round", how="left")
    return dataclasses.replace(b, rounds_df=rounds, rounds=max(a.rounds, b.rounds))


def compare_panels(b: Snapshot, minerals: Sequence[str]) -> list[Panel]:
    def pair(column: str, scale: float = 1.0) -> tuple[Series, Series]:
        return (
            Series("A (pinned)", f"{column}_A", A_COLOUR, "--", scale=scale, marker="circle"),
            Series("B (on screen)", f"{column}_B", B_COLOUR, scale=scale, marker="square"),
        )

    panels = [
        Panel(f"World price of {mineral_label(b.mineral_names[m])}", pair(f"world_price_{m}"))
        for m in minerals
    ]
    panels.append(Panel("Fiscal cost, $bn a year", pair("fiscal_cost", 1e-9), unit="bn"))
    panels.append(Panel("Members", pair("n_members"), unit="bn"))
    return panels


def compare_svg(a: Snapshot, b: Snapshot) -> str:
    """A and B over the rounds: each floored mineral's world price, the fiscal cost and the
    number of members, A dashed orange with circles and B solid blue with squares."""
    both = overlay(a, b)
    return to_svg(line_spec(both, compare_panels(b, compare_minerals(a, b)), "compare"))

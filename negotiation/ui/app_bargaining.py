"""The bargaining chart of the package on the table (negotiation/experiments/bargaining_space.py),
shared by the web app's Bargaining tab and the workshop's debrief: the chart
(`app_charts_svg.bargaining_svg`) for two parties the viewer picks, and what it shows in words."""

from __future__ import annotations

from html import escape
from typing import Any

import solara

from negotiation.rules.types import listed, money
from negotiation.ui.app_charts_svg import bargaining_svg


def bargaining_default(df: Any) -> tuple[str, str]:
    """The two parties the chart opens with: the convener (who tabled the package) and the
    first invitee, or the first other member."""
    parties = list(df.attrs["parties"])
    a = df.attrs["convener"] or parties[0]
    others = [p for p in parties if p != a]
    inside = set(str(df[df["status_quo"]].iloc[0]["members"]).split("+"))
    b = next((p for p in others if p not in inside), others[0])
    return a, b


def _musd(x: float) -> str:
    return money(x).replace("+", "")


def _nash_floors(floors: str, scale: float) -> str:
    """The floors of a package, at the head of a list: "floors x0.8" for every floor, "the
    lithium floor x0.8" for a table's own, "the floors as tabled" where it negotiates none."""
    if floors == "no floor":
        return "the floors as tabled"
    return f"{'floors' if floors == 'every floor' else floors} x{scale:g}"


def bargaining_html(df: Any, a: str, b: str) -> str:
    """What the bargaining chart shows, in words, for parties a (across) and b (up)."""
    names, r = df.attrs["names"], df.attrs["round"]
    n, parties = len(df), df.attrs["parties"]
    quo = df[df["status_quo"]].iloc[0]
    base = [names[p] for p in parties if p in set(str(quo["members"]).split("+"))]
    invited = [names[p] for p in parties if names[p] not in base]
    when = f"in round {r}" if r else "when round 1 opens"
    floors = df.attrs.get("floors_words", "every floor")
    if floors == "every floor":
        scaled = "the floors on the table from x0.6 to x1.6"
    elif floors == "no floor":
        scaled = "the floors as tabled (the table negotiates none of them)"
    else:
        scaled = f"{floors} on the table (the table's own; the others as tabled) from x0.6 to x1.6"
    text = (
        f"Each dot is a package the bloc could agree {when} ({n} of them): {scaled}, "
        "an outsider penalty from 0 to 100%, and which invitees come in, "
        f"placed by what it is worth a year to {names[a]} (across) and to {names[b]} (up) against "
        f"no deal, the origin: the bloc as it stood ({listed(base) or 'nobody'}), nobody "
        f"joining, at the terms on the table. The parties are the members and the invitees "
        f"({listed(invited) or 'none this round'}); the supplier is not a party: it acts "
        "after them, and is held at its latest move. Filled blue dots are efficient for every "
        "party (no other package is at least as good for all of them and better for one), "
        "hollow grey rings are not; the blue line is the frontier for these two alone."
    )
    nash = df.attrs["nash"]
    if nash is None:
        text += (
            " There is no Nash point: no package on the grid leaves every party better off "
            "than no deal."
        )
    else:
        row = df.iloc[nash]
        who = str(row["joining"]).replace("+", ", ") or "nobody"
        text += (
            " The Nash point is the package with the largest product of every party's gain over "
            f"no deal among those where all gain: {_nash_floors(floors, row['floor_scale'])}, "
            "penalty "
            f"{row['penalty']:.0%}, {who} joining; it gives {names[a]} {_musd(row[f'gain_{a}'])} "
            f"and {names[b]} {_musd(row[f'gain_{b}'])} a year."
        )
    table = df[df["on_table"]].iloc[0]
    text += (
        f" The proposal (every invitee in, at the terms on the table) gives {names[a]} "
        f"{_musd(table[f'gain_{a}'])} and {names[b]} {_musd(table[f'gain_{b}'])} a year."
    )
    if df["agreed"].any():
        done = df[df["agreed"]].iloc[0]
        size = len(str(done["members"]).split("+")) if done["members"] else 0
        text += (
            f" The agreement (the bloc after the round's answers, {size} members, and its terms) "
            f"gives {names[a]} {_musd(done[f'gain_{a}'])} and {names[b]} "
            f"{_musd(done[f'gain_{b}'])} a year."
        )
    else:
        text += " Nothing has been agreed yet: no round has been played."
    return f"<p class='bargaining-text' data-round='{r}'>{escape(text)}</p>"


@solara.component
def BargainingChart(df: Any):
    """The chart and its sentence, for the two parties picked (by default the convener and the
    first invitee)."""
    across = solara.use_reactive("")
    up = solara.use_reactive("")
    parties = list(df.attrs["parties"])
    a0, b0 = bargaining_default(df)
    a = across.value if across.value in parties else a0
    b = up.value if up.value in parties and up.value != a else (b0 if b0 != a else a0)
    if b == a:
        b = next(p for p in parties if p != a)
    items = [{"text": df.attrs["names"][p], "value": p} for p in parties]
    with solara.Row(gap="12px", style={"align-items": "center", "max-width": "640px"}):
        for label, value, setter, cls in (
            ("Across", a, across.set, "bargaining-x"),
            ("Up", b, up.set, "bargaining-y"),
        ):
            with solara.Div(style={"flex": "1 1 0"}):
                solara.v.Select(
                    label=label,
                    items=items,
                    v_model=value,
                    on_v_model=setter,
                    dense=True,
                    hide_details=True,
                    class_=cls,
                )
    svg = solara.use_memo(lambda: bargaining_svg(df, a, b), [df, a, b])
    solara.HTML(
        tag="div",
        unsafe_innerHTML=svg,
        classes=["bloc-chart-view", "chart-bargaining-view"],
        style="max-width: 980px",
    )
    words = solara.use_memo(lambda: bargaining_html(df, a, b), [df, a, b])
    solara.HTML(tag="div", unsafe_innerHTML=words, classes=["bloc-bargaining"])

"""The charts of the web app and the workshop, each specified once.

A chart is a spec: frozen dataclasses holding everything that is drawn (`LineChartSpec`: panels
of lines with their values, y ticks, round ticks, legend, the rounds where levers changed and
the round looked back at; `BarChartSpec`: bars by category and group on one shared scale;
`TimelineSpec`: a status per row and round). `CHARTS` maps each chart's name to the builder
that makes its spec from a `Snapshot` alone, and `chart_spec` looks it up. Two renderers take a
spec and nothing else: `app_charts_svg.to_svg`, the inline SVG the page shows (a few
milliseconds: crisp at any size, nothing to rasterise at each round), and
`app_charts_mpl.to_figure`, the matplotlib figure of the PNG/SVG downloads (a few hundred
milliseconds on a 2-core machine, so drawn only when a download is asked for). Adding a chart:
a builder in `CHARTS` (returning one of the specs) and its place on a tab.

Charts are sized for the main area of a 1366x768 screen (about 960 px wide) and stay readable on
a projector: a large font, few lines per panel (small multiples per mineral), and the rounds
where levers changed marked by a vertical dashed line.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from negotiation.rules.types import COMPONENT_LABELS, COMPONENTS
from negotiation.ui.app_state import Snapshot

# Okabe-Ito colours (Okabe and Ito, "Color Universal Design", 2008): told apart with the common
# colour-vision deficiencies (deuteranopia, protanopia, tritanopia). Besides them the charts use
# only greys. Colour is never the only cue: every series of a line chart has its own marker
# shape (and its own dash where two share a colour family), the bars that hurt are hatched, the
# timeline's statuses have patterns, and the legends and the status table say it in words.
BLUE, ORANGE, VERMILLION, GREEN, SKY = "#0072B2", "#E69F00", "#D55E00", "#009E73", "#56B4E9"
YELLOW, PURPLE, BLACK = "#F0E442", "#CC79A7", "#000000"
OKABE_ITO = (BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE)
GREY, DARK, LIGHT = "#8C8C8C", "#333333", "#DDDDDD"
STATUS_COLOURS = {"member": BLUE, "negotiating": ORANGE, "outside": LIGHT}
#: Marker shapes of the line charts, with matplotlib's name for each (the downloads).
MARKERS = {
    "circle": "o",
    "square": "s",
    "triangle": "^",
    "diamond": "D",
    "down": "v",
    "cross": "x",
    "plus": "P",
}
#: Line styles: matplotlib's names, and the SVG dash pattern of each.
DASHES = {"-": "", "--": "8 5", ":": "2 4", "-.": "9 4 2 4"}

#: The charts' width in the page's units (the SVG viewBox; about one a pixel in the main area of
#: a 1366-px-wide screen): panel layouts and how many round ticks fit are worked out for it.
WIDTH = 960
CHART_TITLES = {
    "prices": "World price, bloc price and floor, USD per tonne",
    "supply": "Share of world supply",
    "money": "The bloc's money, $bn",
    "gains": "Each member's gain from staying in the bloc",
    "compare": "Run A (pinned) against run B (on screen)",
}


def money_label(x: float) -> str:
    """Axis label for USD: 110000 -> $110k, 2.1e6 -> $2.1M."""
    a = abs(x)
    if a >= 1e9:
        return f"${x / 1e9:g}bn"
    if a >= 1e6:
        return f"${x / 1e6:g}M"
    if a >= 1e3:
        return f"${x / 1e3:g}k"
    return f"${x:g}"


def tick_label(x: float, unit: str) -> str:
    """A y tick's label: "money" (USD), "percent" (0-100) or "bn" (a plain number)."""
    if unit == "percent":
        return f"{x:g}%"
    if unit == "money":
        return money_label(x)
    return f"{x:g}"


def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """Round tick values from at most `lo` to at least `hi`, about `n` intervals, in steps of
    1, 2, 2.5 or 5 times a power of ten (0..1 when the range is empty or not finite)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo <= 0:
        lo, hi = (0.0, 1.0) if not math.isfinite(hi) or hi <= 0 else (0.0, hi)
    raw = (hi - lo) / n
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [k * step for k in range(first, last + 1)]


def round_step(rounds: int, most: int = 6) -> int:
    """A step for the round axis' labels, at most `most` + 1 of them: the smallest round step
    that divides the number of rounds (36 -> 0, 6, ... 36), else the smallest that fits."""
    steps = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 24, 25, 30, 50, 100, 200, 250, 500)
    fits = [s for s in steps if rounds / s <= most]
    if not fits:
        return max(1, math.ceil(rounds / most))
    return next((s for s in fits if rounds % s == 0), fits[0])


def marker_every(rounds: int) -> int:
    """Markers go on every this many rounds: about ten along the round axis."""
    return max(1, round((rounds + 1) / 10))


def marker_offset(k: int, n: int, every: int) -> int:
    """The first round with a marker for the `k`-th of `n` series: staggered, so that lines
    drawn over each other still show each one's markers."""
    return (k * every) // max(n, 1)


def grid(n: int) -> tuple[int, int]:
    """Rows and columns of `n` small multiples: side by side up to two, else a grid."""
    if n <= 2:
        return 1, max(n, 1)
    cols = 2 if n <= 4 else 3 if n <= 6 else 4
    return math.ceil(n / cols), cols


# ----------------------------------------------------------------------------------------------
# The specs: what a chart draws, for both renderers


@dataclass(frozen=True)
class Fill:
    """A bar's or a cell's fill: a colour, hatched or not (meaning never by colour alone)."""

    colour: str
    hatch: str = ""  # "//" stripes, "xx" cross-stripes (matplotlib's names for them)
    name: str = ""  # a hatched fill's name (the page's SVG pattern id)


@dataclass(frozen=True)
class Key:
    """A legend entry: a line (with its series' marker), the lever marks, or a swatch."""

    label: str
    colour: str
    style: str = "-"  # a key of DASHES, LEVER for the marks of the rounds levers changed, or
    # MARK for a marker alone (the capacity marks)
    marker: str = ""  # a key of MARKERS
    fill: Fill | None = None  # a swatch of bars or cells rather than a line


LEVER = "lever"
MARK = "mark"


@dataclass(frozen=True)
class Mark:
    """An event drawn on a panel at its round (a thin dotted line in its colour, its marker at
    the top of the axis): its kind (a key of CAPACITY_MARKS) and the narrative's line (the
    tooltip)."""

    round: int
    kind: str
    text: str


#: The capacity events the supply chart marks in each mineral's panel: (legend, colour, marker).
CAPACITY_MARKS = {
    "closure": ("capacity closed", VERMILLION, "down"),
    "restart": ("closed capacity ordered back", GREEN, "triangle"),
    "project": ("new mine committed or built", BLUE, "plus"),
}


@dataclass(frozen=True, eq=False)
class Line:
    """A series with its values: `y` at each round of its chart's `x` (NaN: nothing there)."""

    label: str
    key: str  # the rounds column it comes from
    colour: str
    style: str  # a key of DASHES
    marker: str  # a key of MARKERS, or "" (none)
    step: bool  # a step per round (a floor), not a line through the rounds' points
    y: np.ndarray
    first_marker: int  # markers from this round on, every `marker_every` rounds


@dataclass(frozen=True, eq=False)
class LinePanel:
    """One small multiple: its y axis runs from the first of `ticks` to the last."""

    title: str
    unit: str  # "money" (USD), "percent" (0-100) or "bn" (plain numbers): see tick_label
    lines: tuple[Line, ...]
    ticks: tuple[float, ...]
    marks: tuple[Mark, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(np.isfinite(line.y).any() for line in self.lines)


@dataclass(frozen=True, eq=False)
class LineChartSpec:
    """Small multiples of a few lines each over the rounds 0..`rounds` (the scenario's whole
    length), in `columns` columns, with the legend, the rounds where levers changed (marked
    between the round before and the round itself) and the round `shown`, a past round the
    page looks back at (None for none)."""

    kind: str
    title: str
    round: int
    rounds: int
    x: np.ndarray  # the rounds with values
    panels: tuple[LinePanel, ...]
    columns: int
    x_ticks: tuple[int, ...]
    legend: tuple[Key, ...]
    levers: tuple[int, ...]
    shown: int | None
    marker_every: int


@dataclass(frozen=True, eq=False)
class BarGroup:
    """One group of bars (a country): a value per category, or None (nothing yet)."""

    key: str
    title: str
    name: str  # in full, for the bars' tooltips
    values: np.ndarray | None
    note: str  # under the group


@dataclass(frozen=True, eq=False)
class BarChartSpec:
    """Horizontal bars, a row per category and a panel per group, on one value axis from
    -`extent` to `extent` shared by every group; a value helps (to the right) or hurts."""

    kind: str
    title: str
    round: int
    categories: tuple[str, ...]
    labels: tuple[str, ...]
    groups: tuple[BarGroup, ...]
    extent: float
    ticks: tuple[float, ...]
    unit: str  # of the values, for the tooltips
    helps: Fill
    hurts: Fill
    legend: tuple[Key, ...]


@dataclass(frozen=True, eq=False)
class TimelineSpec:
    """A row per country and a cell per round so far, each a status (an index into
    `statuses`, whose keys are the legend), with the rounds where levers changed."""

    kind: str
    title: str
    round: int
    rounds: int
    rows: tuple[tuple[str, str, str], ...]  # (key, label, full name)
    matrix: np.ndarray  # rows x rounds so far
    statuses: tuple[Key, ...]
    x_ticks: tuple[int, ...]
    levers: tuple[int, ...]


ChartSpec = LineChartSpec | BarChartSpec | TimelineSpec


# ----------------------------------------------------------------------------------------------
# Line charts (prices, supply shares, money, gains): which columns, then the spec


@dataclass(frozen=True)
class Series:
    """A line to draw from a column of the rounds table (times `scale`)."""

    label: str
    column: str
    colour: str
    style: str = "-"  # a key of DASHES
    scale: float = 1.0
    positive_only: bool = False  # a floor of 0 means "no floor": not drawn
    step: bool = False
    marker: str = ""  # a key of MARKERS, drawn along the line ("": none, for a dashed step)


@dataclass(frozen=True)
class Panel:
    title: str
    series: tuple[Series, ...]
    unit: str = "money"  # "money" (USD axis labels), "percent" (0-100), "bn" (plain numbers)
    marks: tuple[Mark, ...] = ()


def price_panels(snap: Snapshot, minerals: Sequence[str]) -> list[Panel]:
    return [
        Panel(
            snap.mineral_names[m].split(" (")[0],
            (
                Series("world price", f"world_price_{m}", GREY, marker="circle"),
                Series("bloc price", f"bloc_price_{m}", BLUE, "-.", marker="square"),
                Series("floor", f"floor_{m}", VERMILLION, "--", positive_only=True, step=True),
            ),
        )
        for m in minerals
    ]


def supply_panels(snap: Snapshot, minerals: Sequence[str]) -> list[Panel]:
    """Each mineral's bloc and supplier shares of world supply, with the rounds where a
    producer closed capacity in it or ordered closed capacity back (`capacity_marks`): why the
    supplier's share jumps after a flood, and falls back years later."""
    return [
        Panel(
            snap.mineral_names[m].split(" (")[0],
            (
                Series("bloc members", f"bloc_share_{m}", BLUE, scale=100.0, marker="square"),
                Series(
                    "supplier", f"supplier_share_{m}", DARK, "--", scale=100.0, marker="triangle"
                ),
            ),
            unit="percent",
            marks=capacity_marks(snap, m),
        )
        for m in minerals
    ]


def capacity_marks(snap: Snapshot, mineral: str) -> tuple[Mark, ...]:
    """The closures, restarts and projects of `mineral`'s capacity so far, from the narrative
    (its lines name the mineral: "... t a year of Rare earths (NdPr oxide) capacity ...")."""
    ev = snap.events_df
    if ev.empty:
        return ()
    named = f" of {snap.mineral_names[mineral]} capacity"
    rows = ev[ev["kind"].isin(list(CAPACITY_MARKS)) & ev["text"].str.contains(named, regex=False)]
    return tuple(Mark(int(r), k, t) for r, k, t in zip(rows["round"], rows["kind"], rows["text"]))


def stockpile_used(snap: Snapshot) -> bool:
    """Whether the instrument has been the stockpile in any round so far (only then does the
    fund move: docs/ODD.md, Submodel C)."""
    return bool((snap.rounds_df["instrument"].to_numpy(dtype=object) == "stockpile").any())


def capital_charged(snap: Snapshot) -> bool:
    """Whether producers have paid a capital charge in any round so far (for capacity
    restarted, a new mine built or investment beyond the replacement of what retires, in the
    run: docs/ODD.md, Submodel G; below 0 where producers replaced less than retired)."""
    df = snap.rounds_df
    return "capital_charges" in df and bool((df["capital_charges"] != 0).any())


def money_panels(snap: Snapshot) -> list[Panel]:
    """The bloc's budget, the stockpile fund once the stockpile has been the instrument (a flat
    line for a fund nobody uses would read as a policy), what the policy costs the world and
    those at no table against no policy, and, once there are any, the capital charges of
    capacity added in the run."""
    budget = Panel(
        "Bloc budget, $bn a year",
        (
            Series("fiscal cost", "fiscal_cost", VERMILLION, scale=1e-9, marker="triangle"),
            Series("tariff revenue", "tariff_revenue", GREEN, "--", scale=1e-9, marker="circle"),
        ),
        unit="bn",
    )
    world = Panel(
        "Against no policy, $bn a year",
        (
            Series("world", "world_money", DARK, scale=1e-9, marker="diamond"),
            Series(
                "rest-of-world producers",
                "rest_of_world_producers",
                ORANGE,
                "--",
                scale=1e-9,
                marker="down",
            ),
            Series(
                "rest-of-world buyers",
                "rest_of_world_buyers",
                SKY,
                "-.",
                scale=1e-9,
                marker="cross",
            ),
        ),
        unit="bn",
    )
    panels = [budget, world]
    if capital_charged(snap):
        panels.append(
            Panel(
                "Capital of capacity added in the run, $bn a year",
                (
                    Series(
                        "capital charges in the run (below 0: capital not spent)",
                        "capital_charges",
                        BLUE,
                        scale=1e-9,
                        marker="plus",
                    ),
                    Series(
                        "capital charges with no policy (world money counts the difference)",
                        "capital_charges_no_policy",
                        GREY,
                        "--",
                        scale=1e-9,
                        marker="cross",
                    ),
                ),
                unit="bn",
            )
        )
    if not stockpile_used(snap):
        return panels
    fund = Panel(
        "Stockpile: cash left and stock held, $bn",
        (
            Series("stockpile fund", "stockpile_fund", BLUE, scale=1e-9, marker="square"),
            Series(
                "stock held, at its book value",
                "stock_value",
                ORANGE,
                "--",
                scale=1e-9,
                marker="diamond",
            ),
        ),
        unit="bn",
    )
    return [budget, fund, *panels[1:]]


#: One colour, dash and marker per country in the gain chart (Okabe-Ito; the markers and dashes
#: keep the lines apart without colour, and the legend names them).
COUNTRY_STYLES: tuple[tuple[str, str, str], ...] = (
    (BLUE, "-", "circle"),
    (ORANGE, "--", "square"),
    (GREEN, "-", "triangle"),
    (VERMILLION, "--", "diamond"),
    (SKY, "-", "down"),
    (GREY, "--", "cross"),
    (DARK, "-.", "plus"),
)


def gain_panels(snap: Snapshot) -> list[Panel]:
    """Each country's gain from staying in the bloc over the rounds (while a member)."""
    styles = [COUNTRY_STYLES[k % len(COUNTRY_STYLES)] for k in range(len(snap.countries))]
    series = tuple(
        Series(snap.short[a], f"gain_{a}", colour, dash, scale=1e-6, marker=marker)
        for a, (colour, dash, marker) in zip(snap.countries, styles)
    )
    return [
        Panel("Gain from staying in, $m a year (below 0: it would gain by leaving)", series, "bn")
    ]


def with_gains(snap: Snapshot) -> Snapshot:
    """`snap` with a `gain_<country>` column in its rounds table: the country's margin (its
    utility in the bloc minus its utility had it alone left, USD a year) while it is a member,
    NaN while it is out (docs/ODD.md, Submodel D)."""
    df = snap.actors_df
    inside = df[df["member"].to_numpy(dtype=bool)]
    gains = inside.pivot_table(index="round", columns="actor", values="margin", aggfunc="first")
    rounds = snap.rounds_df
    columns = {
        f"gain_{a}": (
            rounds["round"].map(gains[a]).to_numpy(dtype=float)
            if a in gains.columns
            else np.full(len(rounds), np.nan)
        )
        for a in snap.countries
    }
    return dataclasses.replace(snap, rounds_df=rounds.assign(**columns))


def line_spec(
    snap: Snapshot, panels: Sequence[Panel], kind: str, shown: int | None = None
) -> LineChartSpec:
    """The spec of small multiples of `panels`, their values from `snap`'s rounds table: each
    panel's y axis from 0 (or below, for values below 0) to a round tick above its values,
    0-100 for shares."""
    df = snap.rounds_df
    x = df["round"].to_numpy(dtype=float)
    every = marker_every(snap.rounds)
    out = []
    legend: list[Key] = []
    for p in panels:
        drawn = []
        for k, s in enumerate(p.series):
            y = df[s.column].to_numpy(dtype=float) * s.scale if s.column in df else x * np.nan
            if s.positive_only:
                y = np.where(y > 0, y, np.nan)
            first = marker_offset(k, len(p.series), every)
            drawn.append(Line(s.label, s.column, s.colour, s.style, s.marker, s.step, y, first))
            key = Key(s.label, s.colour, s.style, s.marker)
            if key not in legend:
                legend.append(key)
        finite = np.concatenate([y.y[np.isfinite(y.y)] for y in drawn]) if drawn else x[:0]
        if p.unit == "percent":
            ticks = [0.0, 25.0, 50.0, 75.0, 100.0]
        elif finite.size:
            ticks = nice_ticks(min(0.0, float(finite.min())), max(0.0, float(finite.max()) * 1.02))
        else:
            ticks = nice_ticks(0.0, 1.0)
        out.append(LinePanel(p.title, p.unit, tuple(drawn), tuple(ticks), p.marks))
    marked = {mark.kind for p in panels for mark in p.marks}
    for event, (label, colour, shape) in CAPACITY_MARKS.items():
        if event in marked:
            legend.append(Key(label, colour, MARK, shape))
    if snap.lever_rounds:
        legend.append(Key("levers changed", DARK, LEVER))
    if shown is not None:
        legend.append(Key(f"round {shown} shown", SKY))
    _, cols = grid(len(out))
    step = round_step(snap.rounds, max(2, int((WIDTH / cols - 78) / 48)))  # 48 units a label
    return LineChartSpec(
        kind=kind,
        title=CHART_TITLES.get(kind, kind),
        round=snap.round,
        rounds=snap.rounds,
        x=x,
        panels=tuple(out),
        columns=cols,
        x_ticks=tuple(range(0, snap.rounds + 1, step)),
        legend=tuple(legend),
        levers=tuple(snap.lever_rounds),
        shown=shown,
        marker_every=every,
    )


# ----------------------------------------------------------------------------------------------
# Utility by component: a bar per component and country


UTILITY_LABELS = COMPONENT_LABELS
HELPS = Fill(GREEN)
HURTS = Fill(VERMILLION, "//", "bloc-hurts-hatch")


def utility_values(snap: Snapshot) -> dict[str, tuple[np.ndarray, bool, float]]:
    """Each country's utility components this round, $bn a year as it weighs them (NaN as 0),
    whether it is a member, and its total utility ($bn, NaN if none)."""
    out = {}
    for a, row in snap.now.items():
        if a in snap.countries:
            vals = np.array([float(row[c]) for c in COMPONENTS]) / 1e9
            out[a] = (np.nan_to_num(vals), bool(row["member"]), float(row["utility"]) / 1e9)
    return out


def utility_spec(snap: Snapshot) -> BarChartSpec:
    """Each country's utility by component this round (helps to the right, hurts to the
    left), on one shared scale so countries compare at a glance."""
    values = utility_values(snap)
    groups = []
    for a in snap.countries:
        if a in values:
            vals, member, total = values[a]
            status = "in" if member else "out"
            note = f"{status} · total {total:+.1f}" if math.isfinite(total) else status
            groups.append(BarGroup(a, snap.short[a], snap.names[a], vals, note))
        else:
            groups.append(BarGroup(a, snap.short[a], snap.names[a], None, "no decision yet"))
    lim = max([0.01, *(float(np.abs(v).max()) for v, _, _ in values.values())])
    t = nice_ticks(0.0, lim, 2)[1]  # a round step of at most lim: ticks -t, 0, t
    return BarChartSpec(
        kind="utility",
        title=f"Utility by component in round {snap.round}, $bn a year",
        round=snap.round,
        categories=tuple(COMPONENTS),
        labels=tuple(UTILITY_LABELS[c] for c in COMPONENTS),
        groups=tuple(groups),
        extent=lim * 1.15,
        ticks=(-t, 0.0, t),
        unit="$bn a year",
        helps=HELPS,
        hurts=HURTS,
        legend=(
            Key("helps: right of 0", GREEN, fill=HELPS),
            Key("hurts: left of 0", VERMILLION, fill=HURTS),
        ),
    )


# ----------------------------------------------------------------------------------------------
# Membership: who was in each round

#: The statuses of the timeline, 0 outside, 1 negotiating, 2 member, 3 member leaning to the
#: supplier: besides its colour, negotiating is striped and leaning cross-striped.
TIMELINE_STATUSES = (
    Key("outside", LIGHT, fill=Fill(LIGHT)),
    Key("negotiating", ORANGE, fill=Fill(ORANGE, "//", "bloc-tl-negotiating")),
    Key("member", BLUE, fill=Fill(BLUE)),
    Key(
        "member leaning to the supplier", VERMILLION, fill=Fill(VERMILLION, "xx", "bloc-tl-leaning")
    ),
)


def status_matrix(snap: Snapshot) -> np.ndarray:
    """countries x rounds so far: 0 outside, 1 negotiating, 2 member, 3 member leaning."""
    df = snap.actors_df
    index = {a: i for i, a in enumerate(snap.countries)}
    rows = np.array([index.get(a, -1) for a in df["actor"]], dtype=int)
    ok = rows >= 0
    i, j = rows[ok], df["round"].to_numpy(dtype=int)[ok]
    shape = (len(snap.countries), int(j.max()) + 1 if j.size else 0)
    m = np.zeros(shape, dtype=bool)
    m[i, j] = df["member"].to_numpy(dtype=bool)[ok]
    decision = df["decision"].to_numpy(dtype=object)[ok]
    neg = np.zeros(shape, dtype=bool)
    neg[i, j] = (decision == "reject") | (decision == "counter")
    neg &= ~m
    # a member worse off inside leans to the supplier only where the supplier's move is why
    lean = np.zeros(shape, dtype=bool)
    for r, pushed in snap.pushed.items():
        for a in pushed:
            if a in index and r < shape[1]:
                lean[index[a], r] = m[index[a], r]
    rounds = snap.rounds_df
    for k, (act, tgt) in enumerate(zip(rounds["supplier_action"], rounds["supplier_target"])):
        if act == "side_offer" and tgt in index and k < lean.shape[1]:
            lean[index[tgt], k] |= m[index[tgt], k]
    return np.where(lean, 3, np.where(m, 2, np.where(neg, 1, 0)))


def timeline_spec(snap: Snapshot) -> TimelineSpec:
    """The membership timeline: a row per country, a cell per round so far, levers marked."""
    r = snap.rounds
    step = max(1, round(r / 6 / 6) * 6) if r >= 12 else max(1, r // 6)
    return TimelineSpec(
        kind="timeline",
        title="Membership, round by round",
        round=snap.round,
        rounds=r,
        rows=tuple((a, snap.short[a], snap.names[a]) for a in snap.countries),
        matrix=status_matrix(snap),
        statuses=TIMELINE_STATUSES,
        x_ticks=tuple(range(0, r + 1, step)),
        levers=tuple(snap.lever_rounds),
    )


# ----------------------------------------------------------------------------------------------
# The registry: a chart's name -> the builder of its spec


def prices_chart(snap: Snapshot, minerals: Sequence[str], shown: int | None) -> ChartSpec:
    return line_spec(snap, price_panels(snap, minerals), "prices", shown)


def supply_chart(snap: Snapshot, minerals: Sequence[str], shown: int | None) -> ChartSpec:
    return line_spec(snap, supply_panels(snap, minerals), "supply", shown)


def money_chart(snap: Snapshot, minerals: Sequence[str], shown: int | None) -> ChartSpec:
    return line_spec(snap, money_panels(snap), "money", shown)


def gains_chart(snap: Snapshot, minerals: Sequence[str], shown: int | None) -> ChartSpec:
    return line_spec(with_gains(snap), gain_panels(snap), "gains")  # lines from the actors


def utility_chart(snap: Snapshot, minerals: Sequence[str], shown: int | None) -> ChartSpec:
    return utility_spec(snap)


def timeline_chart(snap: Snapshot, minerals: Sequence[str], shown: int | None) -> ChartSpec:
    return timeline_spec(snap)


#: Each chart that the page shows and offers as a download, by name: (snapshot, the minerals
#: shown, the round looked back at or None) -> its spec.
CHARTS: dict[str, Callable[[Snapshot, Sequence[str], int | None], ChartSpec]] = {
    "prices": prices_chart,
    "supply": supply_chart,
    "money": money_chart,
    "gains": gains_chart,
    "utility": utility_chart,
    "timeline": timeline_chart,
}


def chart_spec(
    kind: str, snap: Snapshot, minerals: Sequence[str] = (), shown: int | None = None
) -> ChartSpec:
    """The spec of the chart `kind` (a key of CHARTS) for `snap`."""
    if kind not in CHARTS:
        raise ValueError(f"unknown chart {kind!r}")
    return CHARTS[kind](snap, tuple(minerals), shown)

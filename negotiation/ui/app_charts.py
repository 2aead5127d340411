"""Charts of the web app: inline SVG for the page, matplotlib for the PNG/SVG downloads.

Every chart is drawn from a `Snapshot` alone, with a large font and few lines per panel (small
multiples per mineral), and marks the rounds where levers changed with a vertical dashed line.
Charts are sized for the main area of a 1366x768 screen (about 980 px wide) and stay readable on
a projector.

Repaint speed: the live charts (prices, supply shares, money, utility by component), the network
and the membership timeline are SVG strings built here, a few milliseconds each, which the page
puts in its DOM as they are: crisp at any size, and nothing to rasterise or load at each round.
Drawing a matplotlib figure costs a few hundred milliseconds on a 2-core machine, so matplotlib
only draws the downloads (`LineChart`, `UtilityChart`, kept per session in `Charts` and updated in
place when a download is asked for).
"""

from __future__ import annotations

import dataclasses
import io
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from negotiation.rules.types import COMPONENT_LABELS, COMPONENTS
from negotiation.ui.app_state import Snapshot, Status, mineral_label

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
FONT = "DejaVu Sans, Arial, sans-serif"

DPI = 100
EXPORT_DPI = 150
WIDTH = 9.8  # inches at DPI: the main area of a 1366-px-wide screen
STYLE = {
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.titleweight": "bold",
    "axes.labelsize": 13,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E6E6E6",
    "lines.linewidth": 2.5,
    "svg.fonttype": "none",  # SVG text stays text: smaller files, selectable labels
}
# rcParams are global: figures are created one at a time under this lock with STYLE in force.
_CREATE = threading.Lock()


def render(fig: Figure, fmt: str = "png", dpi: int = DPI) -> bytes:
    """PNG (low compression: fast) or SVG bytes of a figure."""
    buf = io.BytesIO()
    if fmt == "png":
        fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    else:
        fig.savefig(buf, format=fmt)
    return buf.getvalue()


def money_label(x: float, _pos: object = None) -> str:
    """Axis label for USD: 110000 -> $110k, 2.1e6 -> $2.1M."""
    a = abs(x)
    if a >= 1e9:
        return f"${x / 1e9:g}bn"
    if a >= 1e6:
        return f"${x / 1e6:g}M"
    if a >= 1e3:
        return f"${x / 1e3:g}k"
    return f"${x:g}"


def _bn_label(x: float, _pos: object = None) -> str:
    return f"{x:g}"


FORMATTERS: dict[str, Callable[[float, Any], str]] = {"money": money_label, "bn": _bn_label}


# ----------------------------------------------------------------------------------------------
# Line charts (prices, supply shares, money), updated in place


@dataclass(frozen=True)
class Series:
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
        )
        for m in minerals
    ]


def stockpile_used(snap: Snapshot) -> bool:
    """Whether the instrument has been the stockpile in any round so far (only then does the
    fund move: docs/ODD.md, Submodel C)."""
    return bool((snap.rounds_df["instrument"].to_numpy(dtype=object) == "stockpile").any())


def money_panels(snap: Snapshot) -> list[Panel]:
    """The bloc's budget, the stockpile fund once the stockpile has been the instrument (a flat
    line for a fund nobody uses would read as a policy), and what the policy costs the world and
    those at no table against no policy."""
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
    if not stockpile_used(snap):
        return [budget, world]
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
    return [budget, fund, world]


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


def marker_every(rounds: int) -> int:
    """Markers go on every this many rounds: about ten along the round axis."""
    return max(1, round((rounds + 1) / 10))


def marker_offset(k: int, n: int, every: int) -> int:
    """The first round with a marker for the `k`-th of `n` series: staggered, so that lines
    drawn over each other still show each one's markers."""
    return (k * every) // max(n, 1)


def _grid(n: int) -> tuple[int, int]:
    cols = 1 if n == 1 else 2 if n <= 4 else 3 if n <= 6 else 4
    return math.ceil(n / cols), cols


class LineChart:
    """Small multiples of a few lines each over the rounds, kept and updated in place."""

    def __init__(self, panels: Sequence[Panel], rounds: int, ylabel: str = "") -> None:
        self.panels = list(panels)
        self.rounds = rounds
        self.lock = threading.Lock()
        n = max(len(self.panels), 1)
        rows, cols = _grid(n) if len(self.panels) > 2 else (1, n)
        height = 1.0 + 2.0 * rows if rows > 1 else 3.9
        with _CREATE, mpl.rc_context(STYLE):
            fig = Figure(figsize=(WIDTH, height), dpi=DPI)
            axes = fig.subplots(rows, cols, sharex=True, squeeze=False).ravel().tolist()
            for ax in axes[len(self.panels) :]:
                ax.set_visible(False)
            self.axes = axes[: len(self.panels)]
            self.lines: list[list[Any]] = []
            self.levers: list[LineCollection] = []
            every = marker_every(rounds)
            for ax, p in zip(self.axes, self.panels):
                ls = []
                for k, s in enumerate(p.series):
                    kw: dict[str, Any] = {"drawstyle": "steps-mid"} if s.step else {}
                    if s.marker:
                        lines_only = s.marker in ("cross", "plus")  # no face: its edge is it
                        kw |= {
                            "marker": MARKERS[s.marker],
                            "markevery": (marker_offset(k, len(p.series), every), every),
                            "markersize": 7,
                            "markeredgecolor": s.colour if lines_only else "white",
                            "markeredgewidth": 2.0 if lines_only else 0.8,
                        }
                    (line,) = ax.plot(
                        [], [], color=s.colour, linestyle=s.style, label=s.label, **kw
                    )
                    ls.append(line)
                self.lines.append(ls)
                ax.set_title(p.title, loc="left")
                ax.set_xlim(-0.5, rounds + 0.5)
                ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
                ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
                if p.unit == "percent":
                    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
                else:
                    ax.yaxis.set_major_formatter(FuncFormatter(FORMATTERS[p.unit]))
                lc = LineCollection([], colors=DARK, linestyles=(0, (4, 3)), linewidths=1.3)
                lc.set_transform(ax.get_xaxis_transform())
                ax.add_collection(lc, autolim=False)
                self.levers.append(lc)
            shared = len({tuple(s.label for s in p.series) for p in self.panels}) == 1
            legend_room = 0.4 if shared else 0.0
            if self.axes:
                ax0 = self.axes[0]
                self.lever_note = ax0.annotate(
                    "levers changed",
                    (0, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(3, -2),
                    textcoords="offset points",
                    va="top",
                    fontsize=11,
                    color=DARK,
                    visible=False,
                )
                if shared:
                    fig.legend(
                        handles=self.lines[0],
                        loc="upper right",
                        ncols=len(self.lines[0]),
                        frameon=False,
                        bbox_to_anchor=(0.995, 1.0),
                    )
                else:
                    for ax, lines in zip(self.axes, self.lines):
                        if len(lines) > 1:
                            ax.legend(loc="best", frameon=False)
            if len(self.panels) > 2:
                fig.supxlabel("round", fontsize=12, y=0.005)
                if ylabel:
                    fig.supylabel(ylabel, fontsize=12, x=0.005)
            else:
                for ax in self.axes:
                    ax.set_xlabel("round")
            top = 1 - (0.45 + legend_room) / height
            bottom = (0.5 if len(self.panels) > 2 else 0.65) / height
            fig.subplots_adjust(
                left=0.1 if len(self.panels) > 2 else 0.06,
                right=0.985,
                bottom=bottom,
                top=top,
                hspace=0.5,
                wspace=0.35 if cols > 2 else 0.2,
            )
        self.fig = fig

    def update(self, snap: Snapshot) -> None:
        df = snap.rounds_df
        x = df["round"].to_numpy(dtype=float)
        segments = [[(r - 0.5, 0.0), (r - 0.5, 1.0)] for r in snap.lever_rounds]
        for ax, p, lines, lc in zip(self.axes, self.panels, self.lines, self.levers):
            top = 0.0
            for s, line in zip(p.series, lines):
                y = df[s.column].to_numpy(dtype=float) * s.scale if s.column in df else x * np.nan
                if s.positive_only:
                    y = np.where(y > 0, y, np.nan)
                line.set_data(x, y)
                finite = y[np.isfinite(y)]
                if finite.size:
                    top = max(top, float(finite.max()))
            if p.unit == "percent":
                ax.set_ylim(0, 100)
            else:
                ax.set_ylim(0, top * 1.1 if top > 0 else 1.0)
            lc.set_segments(segments)
        if self.axes:
            first = snap.lever_rounds[0] - 0.5 if snap.lever_rounds else 0.0
            self.lever_note.xy = (first, 1.0)
            self.lever_note.set_visible(bool(snap.lever_rounds))

    def image(self, snap: Snapshot, fmt: str = "png", dpi: int = DPI) -> bytes:
        with self.lock:
            self.update(snap)
            return render(self.fig, fmt, dpi)


class UtilityChart:
    """Each country's utility components this round, $bn a year, as the country weighs them."""

    def __init__(self, countries: Sequence[str], short: dict[str, str]) -> None:
        self.countries = list(countries)
        self.lock = threading.Lock()
        n = len(self.countries)
        y = np.arange(len(COMPONENTS))
        with _CREATE, mpl.rc_context(STYLE):
            fig = Figure(figsize=(WIDTH, 4.4), dpi=DPI)
            axes = fig.subplots(1, n, sharex=True, sharey=True, squeeze=False)[0]
            self.axes = list(axes)
            self.bars = []
            self.totals = []
            for ax, a in zip(self.axes, self.countries):
                self.bars.append(ax.barh(y, np.zeros(len(y)), height=0.7, color=GREEN))
                ax.axvline(0, color=DARK, linewidth=1)
                ax.grid(axis="y", visible=False)
                ax.xaxis.set_major_locator(MaxNLocator(nbins=3, symmetric=True))
                ax.set_title(short[a], loc="left", fontsize=13)
                self.totals.append(ax.set_xlabel(""))
            labels = COMPONENT_LABELS
            axes[0].set_yticks(y, [labels[c] for c in COMPONENTS])
            axes[0].invert_yaxis()
            self.title = fig.suptitle("", x=0.01, y=0.99, ha="left", fontsize=14, fontweight="bold")
            fig.subplots_adjust(left=0.235, right=0.98, top=0.84, bottom=0.17, wspace=0.12)
        self.fig = fig
        self.short = short

    def update(self, snap: Snapshot) -> None:
        df = snap.actors_df
        now = df[df["round"] == snap.round].set_index("actor")
        lim = 0.01
        for bars, total, a in zip(self.bars, self.totals, self.countries):
            if a not in now.index:
                continue
            vals = np.nan_to_num(np.array([float(now.loc[a, c]) for c in COMPONENTS]) / 1e9)
            for bar, v in zip(bars, vals):
                bar.set_x(min(v, 0.0))
                bar.set_width(abs(v))
                bar.set_color(GREEN if v >= 0 else VERMILLION)
                bar.set_hatch("" if v >= 0 else "///")  # hurts: hatched, not only red
                bar.set_edgecolor("white")
            lim = max(lim, float(np.abs(vals).max()))
            status = "in" if bool(now.loc[a, "member"]) else "out"
            u = float(now.loc[a, "utility"]) / 1e9
            total.set_text(f"{status} · total {u:+.1f}" if np.isfinite(u) else status)
        self.axes[0].set_xlim(-lim * 1.15, lim * 1.15)  # shared: countries compare at a glance
        self.title.set_text(f"Utility by component in round {snap.round}, $bn a year")

    def image(self, snap: Snapshot, fmt: str = "png", dpi: int = DPI) -> bytes:
        with self.lock:
            self.update(snap)
            return render(self.fig, fmt, dpi)


@dataclass
class Charts:
    """A session's live charts, rebuilt only when their structure changes."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: dict[str, tuple[tuple, Any]] = field(default_factory=dict)

    def get(self, kind: str, snap: Snapshot, minerals: Sequence[str] = ()) -> Any:
        key = (snap.scenario, snap.rounds, tuple(minerals), snap.countries)
        if kind == "money":  # its panels change once the stockpile is used
            key += (stockpile_used(snap),)
        with self.lock:
            hit = self.cache.get(kind)
            if hit is not None and hit[0] == key:
                return hit[1]
            if kind == "prices":
                chart: Any = LineChart(price_panels(snap, minerals), snap.rounds, "USD per tonne")
            elif kind == "supply":
                chart = LineChart(supply_panels(snap, minerals), snap.rounds, "share of supply")
            elif kind == "money":
                chart = LineChart(money_panels(snap), snap.rounds)
            elif kind == "gains":
                chart = LineChart(gain_panels(snap), snap.rounds)
            elif kind == "utility":
                chart = UtilityChart(snap.countries, dict(snap.short))
            else:
                raise ValueError(f"unknown chart {kind!r}")
            self.cache[kind] = (key, chart)
            return chart


# ----------------------------------------------------------------------------------------------
# The live charts as inline SVG (the page's), drawn from the same panels as the downloads

SVG_W = 960  # viewBox width: about 1 unit a pixel in the main area of a 1366-px-wide screen
CHART_TITLES = {
    "prices": "World price, bloc price and floor, USD per tonne",
    "supply": "Share of world supply",
    "money": "The bloc's money, $bn",
    "gains": "Each member's gain from staying in the bloc",
    "compare": "Run A (pinned) against run B (on screen)",
}
DASH = DASHES["--"]  # a dashed series (the floor)
LEVER_DASH = "5 4"  # the rounds where levers changed


def marker_svg(shape: str, x: float, y: float, colour: str, size: float = 5.0) -> str:
    """A series' marker at (x, y): a filled shape with a white rim (a cross or plus in strokes),
    so that the lines can be told apart in grey or by a reader who cannot tell their colours."""
    s = size
    head = f'class="series-marker" data-marker="{shape}"'
    filled = f'fill="{colour}" stroke="white" stroke-width="1"'
    if shape == "circle":
        return f'<circle {head} cx="{x:.1f}" cy="{y:.1f}" r="{s:.1f}" {filled}/>'
    if shape == "square":
        s *= 0.9
        return (
            f'<rect {head} x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" '
            f'height="{2 * s:.1f}" {filled}/>'
        )
    if shape in ("triangle", "down", "diamond"):
        s *= 1.2
        points = {
            "triangle": ((0, -s), (s, 0.8 * s), (-s, 0.8 * s)),
            "down": ((0, s), (s, -0.8 * s), (-s, -0.8 * s)),
            "diamond": ((0, -s), (s, 0), (0, s), (-s, 0)),
        }[shape]
        pts = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in points)
        return f'<polygon {head} points="{pts}" {filled}/>'
    if shape in ("cross", "plus"):
        if shape == "cross":
            d = (
                f"M{x - s:.1f},{y - s:.1f}L{x + s:.1f},{y + s:.1f}"
                f"M{x - s:.1f},{y + s:.1f}L{x + s:.1f},{y - s:.1f}"
            )
        else:
            d = f"M{x - s:.1f},{y:.1f}H{x + s:.1f}M{x:.1f},{y - s:.1f}V{y + s:.1f}"
        return f'<path {head} d="{d}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
    raise ValueError(f"unknown marker {shape!r}")


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


def tick_label(x: float, unit: str) -> str:
    if unit == "percent":
        return f"{x:g}%"
    if unit == "money":
        return money_label(x)
    return f"{x:g}"


#: A legend entry: (label, colour, dash) or (label, colour, dash, marker).
LegendItem = tuple[str, ...]


def legend_width(items: Sequence[LegendItem]) -> float:
    return sum(34 + 7.6 * len(item[0]) + 16 for item in items)


def title_width(title: str) -> float:
    """About the width of a 17-px bold title."""
    return 10.0 * len(title)


def _legend(items: Sequence[LegendItem], right: float, y: float) -> list[str]:
    """(label, colour, dash[, marker]) entries, right-aligned to `right`: a short line (with the
    series' marker on it) and the label."""
    widths = [34 + 7.6 * len(item[0]) + 16 for item in items]
    x = right - sum(widths)
    parts = ['<g class="legend">']
    for item, w in zip(items, widths):
        label, colour, dash = item[:3]
        marker = item[3] if len(item) > 3 else ""
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        width = 1.5 if dash == LEVER_DASH else 3
        parts.append(
            f'<g class="legend-item" data-label="{escape(label)}">'
            f'<line x1="{x:.0f}" y1="{y - 5:.0f}" x2="{x + 26:.0f}" y2="{y - 5:.0f}" '
            f'stroke="{colour}" stroke-width="{width}"{dashes}/>'
            + (marker_svg(marker, x + 13, y - 5, colour) if marker else "")
            + f'<text x="{x + 32:.0f}" y="{y:.0f}" font-size="14" fill="{DARK}">'
            f"{escape(label)}</text></g>"
        )
        x += w
    parts.append("</g>")
    return parts


def _runs(ok: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs, end excluded, of the runs of True in `ok`."""
    runs, j = [], 0
    n = len(ok)
    while j < n:
        if not ok[j]:
            j += 1
            continue
        k = j
        while k < n and ok[k]:
            k += 1
        runs.append((j, k))
        j = k
    return runs


def _panel_svg(
    p: Panel,
    snap: Snapshot,
    box: tuple[float, float, float, float],
    note_levers: bool,
    shown: int | None = None,
) -> list[str]:
    """One small multiple: title, y grid with labels, round labels, lever markers, the lines,
    and a band at the round `shown` when the page looks back at a past round."""
    df = snap.rounds_df
    rounds = df["round"].to_numpy(dtype=float)
    x0, y0, w, h = box
    left, right, top, bottom = x0 + 64, x0 + w - 14, y0 + 28, y0 + h - 26
    ys = []
    for s in p.series:
        y = df[s.column].to_numpy(dtype=float) * s.scale if s.column in df else rounds * np.nan
        if s.positive_only:
            y = np.where(y > 0, y, np.nan)
        ys.append(y)
    finite = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.array([])
    if p.unit == "percent":
        ticks = [0.0, 25.0, 50.0, 75.0, 100.0]
    elif finite.size:
        ticks = nice_ticks(min(0.0, float(finite.min())), max(0.0, float(finite.max()) * 1.02))
    else:
        ticks = nice_ticks(0.0, 1.0)
    lo, hi = ticks[0], ticks[-1]

    def px(r: float) -> float:
        return left + (r + 0.5) / (snap.rounds + 1) * (right - left)

    def py(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts = [
        f'<g class="panel" data-title="{escape(p.title)}">',
        f'<text x="{x0 + 10:.0f}" y="{y0 + 17:.0f}" font-size="16" font-weight="bold" '
        f'fill="{DARK}">{escape(p.title)}</text>',
    ]
    for t in ticks:
        y = py(t)
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" '
            f'stroke="{"#9A9A9A" if t == 0 else "#E3E3E3"}" stroke-width="1"/>'
            f'<text x="{left - 6:.1f}" y="{y + 5:.1f}" font-size="14" text-anchor="end" '
            f'fill="{DARK}">{escape(tick_label(t, p.unit))}</text>'
        )
    step = round_step(snap.rounds, max(2, int((right - left) / 48)))
    for r in range(0, snap.rounds + 1, step):
        parts.append(
            f'<text x="{px(r):.1f}" y="{bottom + 19:.1f}" font-size="14" text-anchor="middle" '
            f'fill="{DARK}">{r}</text>'
        )
    for k, r in enumerate(snap.lever_rounds):
        x = px(r - 0.5)
        parts.append(
            f'<line class="lever-marker" data-lever-round="{r}" x1="{x:.1f}" y1="{top - 4:.1f}" '
            f'x2="{x:.1f}" y2="{bottom:.1f}" stroke="{DARK}" stroke-width="1.5" '
            f'stroke-dasharray="{LEVER_DASH}"/>'
        )
        if note_levers and k == 0:
            parts.append(
                f'<text x="{x + 4:.1f}" y="{top + 9:.1f}" font-size="12" fill="{DARK}">'
                "levers changed</text>"
            )
    if shown is not None:
        x = px(shown)
        parts.append(
            f'<rect class="shown-marker" data-shown-round="{shown}" x="{x - 3:.1f}" '
            f'y="{top - 4:.1f}" width="6" height="{bottom - top + 4:.1f}" fill="{SKY}" '
            f'fill-opacity="0.45"><title>round {shown}, shown above</title></rect>'
        )
        if note_levers:
            parts.append(
                f'<text x="{x + 5:.1f}" y="{bottom - 6:.1f}" font-size="12" fill="{DARK}">'
                f"round {shown}</text>"
            )
    every = marker_every(snap.rounds)
    for k, (s, y) in enumerate(zip(p.series, ys)):
        ok = np.isfinite(y)
        dash = f' stroke-dasharray="{DASHES[s.style]}"' if DASHES[s.style] else ""
        for a, b in _runs(ok):
            if s.step:
                pts = " ".join(
                    f"{px(r - 0.5):.1f},{py(v):.1f} {px(r + 0.5):.1f},{py(v):.1f}"
                    for r, v in zip(rounds[a:b], y[a:b])
                )
            else:
                pts = " ".join(f"{px(r):.1f},{py(v):.1f}" for r, v in zip(rounds[a:b], y[a:b]))
            parts.append(
                f'<polyline class="series" data-series="{s.column}" points="{pts}" fill="none" '
                f'stroke="{s.colour}" stroke-width="2.5" stroke-linejoin="round"{dash}>'
                f"<title>{escape(p.title)}: {escape(s.label)}</title></polyline>"
            )
        if s.marker:  # on every `every` rounds: each line told apart without its colour
            first = marker_offset(k, len(p.series), every)
            at = np.flatnonzero(ok & (np.mod(rounds - first, every) == 0) & (rounds >= first))
            if at.size:
                parts.append(f'<g class="series-markers" data-series="{s.column}">')
                parts.extend(marker_svg(s.marker, px(rounds[i]), py(y[i]), s.colour) for i in at)
                parts.append("</g>")
        last = np.flatnonzero(ok)
        if last.size and not s.step:  # the latest value, visible even as a single point
            i = int(last[-1])
            parts.append(
                f'<circle class="last-point" cx="{px(rounds[i]):.1f}" cy="{py(y[i]):.1f}" r="4" '
                f'fill="{s.colour}"/>'
            )
    if not finite.size:
        parts.append(
            f'<text x="{(left + right) / 2:.0f}" y="{(top + bottom) / 2:.0f}" font-size="14" '
            f'text-anchor="middle" fill="{GREY}">nothing to draw yet</text>'
        )
    parts.append("</g>")
    return parts


def line_chart_svg(
    snap: Snapshot, panels: Sequence[Panel], kind: str, shown: int | None = None
) -> str:
    """Small multiples of a few lines each over the rounds (the scenario's whole length on the
    round axis), with a legend, the rounds where levers changed and the round `shown` (a past
    round the page looks back at; None for none)."""
    n = max(len(panels), 1)
    rows, cols = _grid(n) if len(panels) > 2 else (1, n)
    items: list[LegendItem] = []
    for p in panels:
        for s in p.series:
            item = (s.label, s.colour, DASHES[s.style], s.marker)
            if item not in items:
                items.append(item)
    if snap.lever_rounds:
        items.append(("levers changed", DARK, LEVER_DASH))
    if shown is not None:
        items.append((f"round {shown} shown", SKY, ""))
    title = CHART_TITLES.get(kind, kind)
    two_lines = title_width(title) + 20 + legend_width(items) > SVG_W  # legend under the title
    head, foot = 58 if two_lines else 34, 20
    ph = 290 if rows == 1 else 200
    height = head + rows * ph + foot
    pw = SVG_W / cols
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_W} {height}" width="100%" '
        f'role="img" font-family="{FONT}" class="bloc-chart chart-{kind}" '
        f'data-round="{snap.round}">',
        f"<title>{escape(title)}, round {snap.round}</title>",
        f'<text x="4" y="21" font-size="17" font-weight="bold" fill="{DARK}">'
        f"{escape(title)}</text>",
        *_legend(items, SVG_W - 6, 46 if two_lines else 22),
    ]
    for k, p in enumerate(panels):
        r, c = divmod(k, cols)
        parts += _panel_svg(p, snap, (c * pw, head + r * ph, pw, ph), k == 0, shown)
    parts.append(
        f'<text x="{SVG_W / 2:.0f}" y="{height - 4}" font-size="14" text-anchor="middle" '
        f'fill="{DARK}">round</text></svg>'
    )
    return "".join(parts)


def prices_svg(snap: Snapshot, minerals: Sequence[str], shown: int | None = None) -> str:
    return line_chart_svg(snap, price_panels(snap, minerals), "prices", shown)


def supply_svg(snap: Snapshot, minerals: Sequence[str], shown: int | None = None) -> str:
    return line_chart_svg(snap, supply_panels(snap, minerals), "supply", shown)


def money_svg(snap: Snapshot, shown: int | None = None) -> str:
    return line_chart_svg(snap, money_panels(snap), "money", shown)


def gains_svg(snap: Snapshot) -> str:
    return line_chart_svg(with_gains(snap), gain_panels(snap), "gains")


UTILITY_LABELS = COMPONENT_LABELS


def utility_values(snap: Snapshot) -> dict[str, tuple[np.ndarray, bool, float]]:
    """Each country's utility components this round, $bn a year as it weighs them (NaN as 0),
    whether it is a member, and its total utility ($bn, NaN if none)."""
    out = {}
    for a, row in snap.now.items():
        if a in snap.countries:
            vals = np.array([float(row[c]) for c in COMPONENTS]) / 1e9
            out[a] = (np.nan_to_num(vals), bool(row["member"]), float(row["utility"]) / 1e9)
    return out


HURTS_PATTERN = "bloc-hurts-hatch"


def _stripes(pattern_id: str, colour: str, stripe: str, angle: int = 45, gap: int = 6) -> str:
    """An SVG pattern: `colour` with `stripe`-coloured stripes at `angle` degrees."""
    return (
        f'<pattern id="{pattern_id}" patternUnits="userSpaceOnUse" width="{gap}" '
        f'height="{gap}" patternTransform="rotate({angle})"><rect width="{gap}" '
        f'height="{gap}" fill="{colour}"/><line x1="0" y1="0" x2="0" y2="{gap}" '
        f'stroke="{stripe}" stroke-width="2"/></pattern>'
    )


def _swatches(items: Sequence[tuple[str, str]], right: float, y: float) -> list[str]:
    """(label, fill) legend entries of bars or cells, right-aligned to `right`."""
    widths = [22 + 7.6 * len(label) + 16 for label, _ in items]
    x = right - sum(widths)
    parts = ['<g class="legend">']
    for (label, fill), w in zip(items, widths):
        parts.append(
            f'<g class="legend-item" data-label="{escape(label)}">'
            f'<rect x="{x:.0f}" y="{y - 12:.0f}" width="16" height="14" fill="{fill}" '
            f'stroke="{DARK}" stroke-width="0.5"/><text x="{x + 22:.0f}" y="{y:.0f}" '
            f'font-size="14" fill="{DARK}">{escape(label)}</text></g>'
        )
        x += w
    parts.append("</g>")
    return parts


def utility_svg(snap: Snapshot) -> str:
    """Each country's utility by component this round (green to the right helps, hatched
    vermillion to the left hurts), on one shared scale so countries compare at a glance."""
    values = utility_values(snap)
    countries = list(snap.countries)
    n = max(len(countries), 1)
    label_w, gap, head, row = 200, 16, 36, 29
    pw = (SVG_W - label_w - 6 - gap * (n - 1)) / n
    top = head + 28
    bottom = top + row * len(COMPONENTS)
    height = bottom + 50
    lim = max([0.01, *(float(np.abs(v).max()) for v, _, _ in values.values())])
    t = nice_ticks(0.0, lim, 2)[1]  # a round step of at most lim: ticks -t, 0, t
    extent = lim * 1.15
    title = f"Utility by component in round {snap.round}, $bn a year"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_W} {height}" width="100%" '
        f'role="img" font-family="{FONT}" class="bloc-chart chart-utility" '
        f'data-round="{snap.round}">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="22" font-size="17" font-weight="bold" fill="{DARK}">'
        f"{escape(title)}</text>",
        f"<defs>{_stripes(HURTS_PATTERN, VERMILLION, 'white')}</defs>",
        *_swatches(
            [("helps: right of 0", GREEN), ("hurts: left of 0", f"url(#{HURTS_PATTERN})")],
            SVG_W - 6,
            22,
        ),
    ]
    for i, c in enumerate(COMPONENTS):
        parts.append(
            f'<text x="{label_w - 8}" y="{top + row * i + row / 2 + 5:.0f}" font-size="14" '
            f'text-anchor="end" fill="{DARK}">{escape(UTILITY_LABELS[c])}</text>'
        )
    for k, a in enumerate(countries):
        x0 = label_w + k * (pw + gap)

        def px(v: float, x0: float = x0) -> float:
            return x0 + pw / 2 + v / extent * (pw / 2)

        parts.append(
            f'<g class="utility-country" data-actor="{escape(a)}">'
            f'<rect x="{x0:.1f}" y="{top:.0f}" width="{pw:.1f}" height="{bottom - top:.0f}" '
            f'fill="#F6F6F6"/>'
            f'<text x="{x0 + 4:.1f}" y="{top - 9:.0f}" font-size="16" font-weight="bold" '
            f'fill="{DARK}">{escape(snap.short[a])}</text>'
        )
        for tv in (-t, 0.0, t):
            parts.append(
                f'<line x1="{px(tv):.1f}" y1="{top:.0f}" x2="{px(tv):.1f}" y2="{bottom:.0f}" '
                f'stroke="{DARK if tv == 0 else "#DADADA"}" stroke-width="1"/>'
                f'<text x="{px(tv):.1f}" y="{bottom + 17:.0f}" font-size="13" '
                f'text-anchor="middle" fill="{DARK}">{tv:g}</text>'
            )
        if a in values:
            vals, member, total = values[a]
            for i, (c, v) in enumerate(zip(COMPONENTS, vals)):
                x = min(px(v), px(0.0))
                parts.append(
                    f'<rect class="bar" data-component="{c}" x="{x:.1f}" '
                    f'y="{top + row * i + 4:.1f}" width="{abs(px(v) - px(0.0)):.1f}" '
                    f'height="{row - 8}" fill="{GREEN if v >= 0 else f"url(#{HURTS_PATTERN})"}" '
                    f'data-sign="{"helps" if v >= 0 else "hurts"}">'
                    f"<title>{escape(snap.names[a])}: {escape(UTILITY_LABELS[c])} "
                    f"{v:+.2f} $bn a year ({'helps' if v >= 0 else 'hurts'})</title></rect>"
                )
            status = "in" if member else "out"
            words = f"{status} · total {total:+.1f}" if math.isfinite(total) else status
        else:
            words = "no decision yet"
        parts.append(
            f'<text class="utility-total" x="{x0 + pw / 2:.1f}" y="{bottom + 38:.0f}" '
            f'font-size="14" text-anchor="middle" fill="{DARK}">{escape(words)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------------------------
# Membership: who was in each round (statuses), as SVG for the page and as a figure for PNG.

#: 0 outside, 1 negotiating, 2 member, 3 member leaning to the supplier
TIMELINE_COLOURS = (LIGHT, ORANGE, BLUE, VERMILLION)
TIMELINE_LABELS = ("outside", "negotiating", "member", "member leaning to the supplier")
#: Each status's fill besides its colour (meaning never by colour alone): negotiating striped,
#: leaning cross-striped; matplotlib's hatches for the PNG.
TIMELINE_PATTERNS = ("", "bloc-tl-negotiating", "", "bloc-tl-leaning")
TIMELINE_HATCHES = ("", "//", "", "xx")


def _timeline_fill(status: int) -> str:
    pattern = TIMELINE_PATTERNS[status]
    return f"url(#{pattern})" if pattern else TIMELINE_COLOURS[status]


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


def timeline_svg(snap: Snapshot, matrix: np.ndarray | None = None) -> str:
    """The membership timeline: a row per country, a cell per round, levers marked."""
    mat = status_matrix(snap) if matrix is None else matrix
    n = len(snap.countries)
    w, left, right, top, row = 960, 90, 12, 34, 30
    plot_w = w - left - right
    h = top + n * row + 64
    cell = plot_w / (snap.rounds + 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" '
        f'role="img" font-family="{FONT}" class="bloc-timeline" data-round="{snap.round}">',
        "<title>Membership, round by round</title>",
        "<defs>"
        + _stripes(TIMELINE_PATTERNS[1], ORANGE, "white", 45, 8)
        + f'<pattern id="{TIMELINE_PATTERNS[3]}" patternUnits="userSpaceOnUse" width="8" '
        f'height="8"><rect width="8" height="8" fill="{VERMILLION}"/><path d="M0,0L8,8M8,0L0,8" '
        'stroke="white" stroke-width="1.5"/></pattern></defs>',
        f'<text x="4" y="20" font-size="16" font-weight="bold" fill="{DARK}">'
        "Membership, round by round</text>",
    ]
    for i, a in enumerate(snap.countries):
        y = top + i * row
        parts.append(
            f'<text x="{left - 8}" y="{y + row / 2 + 5:.0f}" font-size="14" text-anchor="end" '
            f'fill="{DARK}">{escape(snap.short[a])}</text>'
        )
        # runs of equal status as one rect each
        j = 0
        cols = mat.shape[1] if mat.ndim == 2 else 0
        while j < cols:
            k = j
            while k + 1 < cols and mat[i, k + 1] == mat[i, j]:
                k += 1
            status = int(mat[i, j])
            rounds = f"round {j}" if j == k else f"rounds {j}-{k}"
            parts.append(
                f'<rect x="{left + j * cell:.1f}" y="{y + 2}" width="{(k - j + 1) * cell:.1f}" '
                f'height="{row - 4}" fill="{_timeline_fill(status)}" '
                f'data-status="{TIMELINE_LABELS[status]}"><title>{escape(snap.names[a])}: '
                f"{TIMELINE_LABELS[status]}, {rounds}</title></rect>"
            )
            j = k + 1
    bottom = top + n * row
    for r in snap.lever_rounds:
        x = left + r * cell
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom + 2}" stroke="{DARK}" '
            f'stroke-width="1.5" stroke-dasharray="5 4"/>'
        )
    x_now = left + (snap.round + 1) * cell
    parts.append(
        f'<line x1="{x_now:.1f}" y1="{top - 4}" x2="{x_now:.1f}" y2="{bottom + 2}" '
        f'stroke="{DARK}" stroke-width="1"/>'
    )
    step = max(1, round(snap.rounds / 6 / 6) * 6) if snap.rounds >= 12 else max(1, snap.rounds // 6)
    for r in range(0, snap.rounds + 1, step):
        x = left + (r + 0.5) * cell
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 18}" font-size="13" text-anchor="middle" '
            f'fill="{DARK}">{r}</text>'
        )
    parts.append(
        f'<text x="{left - 8}" y="{bottom + 18}" font-size="13" text-anchor="end" '
        f'fill="{DARK}">round</text>'
    )
    x0 = left
    for status, label in enumerate(TIMELINE_LABELS):
        parts.append(
            f'<rect x="{x0}" y="{bottom + 32}" width="16" height="16" '
            f'fill="{_timeline_fill(status)}" stroke="{DARK}" stroke-width="0.5"/>'
            f'<text x="{x0 + 22}" y="{bottom + 45}" font-size="13" fill="{DARK}">{label}</text>'
        )
        x0 += 22 + int(7.6 * len(label)) + 24
    parts.append(
        f'<line x1="{x0}" y1="{bottom + 40}" x2="{x0 + 18}" y2="{bottom + 40}" stroke="{DARK}" '
        f'stroke-width="1.5" stroke-dasharray="5 4"/><text x="{x0 + 24}" y="{bottom + 45}" '
        f'font-size="13" fill="{DARK}">levers changed</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def timeline_figure(snap: Snapshot) -> Figure:
    """The membership timeline as a matplotlib figure (for the PNG download)."""
    from matplotlib.patches import Patch

    mat = status_matrix(snap)
    n = len(snap.countries)
    with _CREATE, mpl.rc_context({**STYLE, "hatch.color": "white", "hatch.linewidth": 1.2}):
        fig = Figure(figsize=(WIDTH, 0.42 * n + 1.6), dpi=DPI, layout="constrained")
        ax = fig.subplots()
        ax.grid(False)
        for i in range(n):
            for status in range(len(TIMELINE_COLOURS)):
                cells = np.flatnonzero(mat[i] == status) if mat.size else np.array([])
                spans = [(float(j) - 0.5, 1.0) for j in cells]
                if spans:
                    ax.broken_barh(
                        spans,
                        (i - 0.45, 0.9),
                        facecolors=TIMELINE_COLOURS[status],
                        hatch=TIMELINE_HATCHES[status] or None,
                        linewidth=0,
                    )
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_yticks(range(n), [snap.short[a] for a in snap.countries])
        ax.set_xlim(-0.5, snap.rounds + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=7, integer=True))
        for r in snap.lever_rounds:
            ax.axvline(r - 0.5, color=DARK, linestyle=(0, (4, 3)), linewidth=1.3)
        ax.set_xlabel("round")
        ax.set_title("Membership, round by round", loc="left")
        ax.legend(
            [
                Patch(facecolor=c, hatch=h or None, edgecolor=DARK, linewidth=0.5)
                for c, h in zip(TIMELINE_COLOURS, TIMELINE_HATCHES)
            ],
            TIMELINE_LABELS,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.3),
            ncols=4,
            frameon=False,
        )
    return fig


# ----------------------------------------------------------------------------------------------
# The network

NET_W, NET_H = 480, 330
#: A node's outline by status: besides the colours, a member is linked to the other members, a
#: country negotiating has a dashed outline, and each node's title says its status in words.
NODE_OUTLINES = {
    "member": f'stroke="{DARK}" stroke-width="1"',
    "negotiating": f'stroke="{DARK}" stroke-width="3" stroke-dasharray="7 4"',
    "outside": f'stroke="{DARK}" stroke-width="1"',
}


def _positions(countries: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Countries around a circle on the left; the supplier stands apart on the right."""
    n = len(countries)
    cx, cy, r = 165.0, 150.0, 112.0
    return {
        a: (cx - r * math.cos(2 * math.pi * i / n), cy - r * math.sin(2 * math.pi * i / n))
        for i, a in enumerate(countries)
    }


def network_svg(snap: Snapshot, status: dict[str, Status]) -> str:
    """Members, negotiating, outside and leaning countries; preferential-access links between
    members; the supplier's move, with a dashed line for a side deal."""
    pos = _positions(snap.countries)
    sx, sy = 400.0, 150.0
    last = snap.last
    action = str(last["supplier_action"])
    target = str(last.get("supplier_target", "") or "")
    members = [a for a in snap.countries if status[a].kind == "member"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {NET_W} {NET_H}" width="100%" '
        f'role="img" font-family="{FONT}" class="bloc-network" data-round="{snap.round}">',
        f"<title>The bloc in round {snap.round}: {len(members)} members</title>",
    ]
    for i, a in enumerate(members):  # preferential access between every pair of members
        for b in members[i + 1 :]:
            (x1, y1), (x2, y2) = pos[a], pos[b]
            parts.append(
                f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                f'stroke="{BLUE}" stroke-opacity="0.5" stroke-width="5"/>'
            )
    if action == "side_offer" and target in pos:
        x, y = pos[target]
        parts.append(
            f'<line x1="{sx:.0f}" y1="{sy:.0f}" x2="{x:.0f}" y2="{y:.0f}" stroke="{VERMILLION}" '
            f'stroke-width="3" stroke-dasharray="9 6" class="side-deal"/>'
            f'<text x="{(sx + x) / 2:.0f}" y="{(sy + y) / 2 - 8:.0f}" font-size="14" '
            f'fill="{VERMILLION}" text-anchor="middle">side deal</text>'
        )
    for a in snap.countries:
        x, y = pos[a]
        s = status[a]
        ring = (
            f'<circle cx="{x:.0f}" cy="{y:.0f}" r="35" fill="none" stroke="{VERMILLION}" '
            f'stroke-width="6" class="leaning-ring"/>'
            if s.leaning
            else ""
        )
        label = snap.short[a]
        size = 16 if len(label) <= 3 else 12 if len(label) <= 7 else 10
        parts.append(
            f'<g class="node node-{s.kind}" data-actor="{escape(a)}">'
            f"<title>{escape(snap.names[a])}: {s.kind}; {escape(s.note)}</title>"
            f'<circle cx="{x:.0f}" cy="{y:.0f}" r="29" fill="{STATUS_COLOURS[s.kind]}" '
            f"{NODE_OUTLINES[s.kind]}/>{ring}"
            f'<text x="{x:.0f}" y="{y + 5:.0f}" font-size="{size}" font-weight="bold" '
            f'fill="{"white" if s.kind == "member" else DARK}" text-anchor="middle">'
            f"{escape(label)}</text></g>"
        )
    listed = ", ".join(mineral_label(snap.mineral_names.get(m, m)) for m in target.split(",") if m)
    move = {
        "normal": "sells normally",
        "flood": f"floods {listed}",
        "export_controls": f"export controls: {listed}",
        "side_offer": f"side offer to {snap.short.get(target, target)}",
    }.get(action, action)
    parts.append(
        f'<g class="node node-supplier"><title>{escape(snap.names[snap.supplier])}: '
        f"{escape(move)}</title>"
        f'<rect x="{sx - 38:.0f}" y="{sy - 24:.0f}" width="76" height="48" rx="6" fill="{DARK}"/>'
        f'<text x="{sx:.0f}" y="{sy + 5:.0f}" font-size="13" font-weight="bold" fill="white" '
        f'text-anchor="middle">Supplier</text></g>'
    )
    lines: list[str] = []
    for word in move.split():
        if lines and len(lines[-1]) + 1 + len(word) <= 20:
            lines[-1] += " " + word
        else:
            lines.append(word)
    for k, line in enumerate(lines[:4]):
        parts.append(
            f'<text x="{sx:.0f}" y="{sy + 44 + 16 * k:.0f}" font-size="13" fill="{DARK}" '
            f'text-anchor="middle">{escape(line)}</text>'
        )
    legend = [
        (BLUE, NODE_OUTLINES["member"], "member"),
        (ORANGE, f'stroke="{DARK}" stroke-width="2" stroke-dasharray="3 2"', "negotiating"),
        (LIGHT, NODE_OUTLINES["outside"], "outside"),
        ("white", f'stroke="{VERMILLION}" stroke-width="4"', "leaning to supplier"),
    ]
    x0 = 8
    for fill, outline, text in legend:
        parts.append(
            f'<circle cx="{x0 + 8}" cy="{NET_H - 14}" r="7" fill="{fill}" {outline}/>'
            f'<text x="{x0 + 20}" y="{NET_H - 9}" font-size="13" fill="{DARK}">{text}</text>'
        )
        x0 += 20 + int(7.8 * len(text)) + 14
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------------------------
# How likely is this? Fan charts over an ensemble's runs, and the chances of each outcome

FAN_FILL = "#9CC9E8"  # the 5-95 % band: a light blue under the median's blue


@dataclass(frozen=True)
class FanPanel:
    title: str
    column: str
    unit: str = "money"  # as Panel.unit
    scale: float = 1.0


def fan_panels(mineral_names: dict[str, str], minerals: Sequence[str]) -> list[FanPanel]:
    """World price of each mineral shown, the bloc's fiscal cost and its size."""
    return [
        *(
            FanPanel(f"World price: {mineral_label(mineral_names[m])}", f"world_price_{m}")
            for m in minerals
        ),
        FanPanel("Fiscal cost of the floors, $bn a year", "fiscal_cost", "bn", 1e-9),
        FanPanel("Bloc size, members", "n_members", "bn"),
    ]


def _fan_panel_svg(
    p: FanPanel,
    band: np.ndarray | None,
    rounds: np.ndarray,
    single: tuple[np.ndarray, np.ndarray] | None,
    last_round: int,
    box: tuple[float, float, float, float],
) -> list[str]:
    """One small multiple of a fan chart: the 5-95 % band, the median, the single run."""
    x0, y0, w, h = box
    left, right, top, bottom = x0 + 64, x0 + w - 14, y0 + 28, y0 + h - 26
    lo_q = mid = hi_q = np.full(len(rounds), np.nan)
    if band is not None:
        lo_q, mid, hi_q = (band[k] * p.scale for k in range(3))
    sx, sy = single if single is not None else (np.array([]), np.array([]))
    sy = sy * p.scale
    values = np.concatenate([lo_q, hi_q, mid, sy])
    finite = values[np.isfinite(values)]
    if finite.size:
        ticks = nice_ticks(min(0.0, float(finite.min())), max(0.0, float(finite.max()) * 1.02))
    else:
        ticks = nice_ticks(0.0, 1.0)
    lo, hi = ticks[0], ticks[-1]

    def px(r: float) -> float:
        return left + (r + 0.5) / (last_round + 1) * (right - left)

    def py(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts = [
        f'<g class="panel fan-panel" data-title="{escape(p.title)}" data-column="{p.column}">',
        f'<text x="{x0 + 10:.0f}" y="{y0 + 17:.0f}" font-size="16" font-weight="bold" '
        f'fill="{DARK}">{escape(p.title)}</text>',
    ]
    for t in ticks:
        y = py(t)
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" '
            f'stroke="{"#9A9A9A" if t == 0 else "#E3E3E3"}" stroke-width="1"/>'
            f'<text x="{left - 6:.1f}" y="{y + 5:.1f}" font-size="14" text-anchor="end" '
            f'fill="{DARK}">{escape(tick_label(t, p.unit))}</text>'
        )
    step = round_step(last_round, max(2, int((right - left) / 48)))
    for r in range(0, last_round + 1, step):
        parts.append(
            f'<text x="{px(r):.1f}" y="{bottom + 19:.1f}" font-size="14" text-anchor="middle" '
            f'fill="{DARK}">{r}</text>'
        )
    ok = np.isfinite(lo_q) & np.isfinite(hi_q)
    for a, b in _runs(ok):
        upper = [f"{px(r):.1f},{py(v):.1f}" for r, v in zip(rounds[a:b], hi_q[a:b])]
        lower = [f"{px(r):.1f},{py(v):.1f}" for r, v in zip(rounds[a:b], lo_q[a:b])]
        parts.append(
            f'<polygon class="fan-band" points="{" ".join(upper + lower[::-1])}" '
            f'fill="{FAN_FILL}" fill-opacity="0.6" stroke="{FAN_FILL}" stroke-width="1">'
            f"<title>{escape(p.title)}: 5–95% of runs</title></polygon>"
        )
    for series, xs, ys, colour, width in (
        ("median", rounds, mid, BLUE, 2.5),
        ("this-run", sx, sy, VERMILLION, 2.5),
    ):
        dash = f' stroke-dasharray="{DASH}"' if series == "this-run" else ""
        good = np.isfinite(ys)
        for a, b in _runs(good):
            pts = " ".join(f"{px(r):.1f},{py(v):.1f}" for r, v in zip(xs[a:b], ys[a:b]))
            label = "median of the runs" if series == "median" else "the run on screen"
            parts.append(
                f'<polyline class="series fan-{series}" data-series="{series}" points="{pts}" '
                f'fill="none" stroke="{colour}" stroke-width="{width}" stroke-linejoin="round"'
                f"{dash}><title>{escape(p.title)}: {label}</title></polyline>"
            )
        last = np.flatnonzero(good)
        if last.size:
            i = int(last[-1])
            parts.append(
                f'<circle class="last-point" cx="{px(xs[i]):.1f}" cy="{py(ys[i]):.1f}" r="4" '
                f'fill="{colour}"/>'
            )
    if not finite.size:
        parts.append(
            f'<text x="{(left + right) / 2:.0f}" y="{(top + bottom) / 2:.0f}" font-size="14" '
            f'text-anchor="middle" fill="{GREY}">nothing to draw yet</text>'
        )
    parts.append("</g>")
    return parts


def fan_svg(
    panels: Sequence[FanPanel],
    bands: dict[str, np.ndarray],
    single: Any,
    last_round: int,
    n: int,
    seed: int | None = None,
) -> str:
    """Fan charts: for each panel the median over an ensemble's `n` runs and the band from the
    5th to the 95th percentile, round by round (`bands`: see `app_ensemble.fan_bands`), with
    the run on screen (`single`, its rounds table, or None) drawn over them."""
    rounds = np.asarray(bands.get("round", np.arange(last_round + 1)), dtype=float)
    cols = 1 if len(panels) == 1 else 2 if len(panels) <= 4 else 3
    rows = math.ceil(max(len(panels), 1) / cols)
    this_run = "the run on screen" + (f" (seed {seed})" if seed is not None else "")
    items = [
        (f"median of {n} runs", BLUE, ""),
        ("5–95% of runs", FAN_FILL, ""),
        (this_run, VERMILLION, DASH),
    ]
    title = f"How likely: {n} runs, round by round"
    two_lines = title_width(title) + 20 + legend_width(items) > SVG_W
    head, foot = 58 if two_lines else 34, 20
    ph = 250 if rows == 1 else 200
    height = head + rows * ph + foot
    pw = SVG_W / cols
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_W} {height:.0f}" '
        f'width="100%" role="img" font-family="{FONT}" class="bloc-chart chart-fan" '
        f'data-runs="{n}">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="21" font-size="17" font-weight="bold" fill="{DARK}">'
        f"{escape(title)}</text>",
        *_legend(items, SVG_W - 6, 46 if two_lines else 22),
    ]
    for k, p in enumerate(panels):
        r, c = divmod(k, cols)
        single_xy = None
        if single is not None and p.column in single:
            single_xy = (
                single["round"].to_numpy(dtype=float),
                single[p.column].to_numpy(dtype=float),
            )
        parts += _fan_panel_svg(
            p, bands.get(p.column), rounds, single_xy, last_round, (c * pw, head + r * ph, pw, ph)
        )
    parts.append(
        f'<text x="{SVG_W / 2:.0f}" y="{height - 4:.0f}" font-size="14" text-anchor="middle" '
        f'fill="{DARK}">round</text></svg>'
    )
    return "".join(parts)


def chances_svg(rows: Sequence[tuple[str, str, float]], n: int) -> str:
    """Horizontal bars, one per (key, label, share of runs): the chance of each outcome, 0-100 %,
    with the percentage at the end of the bar."""
    label_w, row, head = 330, 34, 40
    right = SVG_W - 70
    height = head + row * len(rows) + 30
    title = f"Chances out of {n} runs"

    def px(share: float) -> float:
        return label_w + share * (right - label_w)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_W} {height}" width="100%" '
        f'role="img" font-family="{FONT}" class="bloc-chart chart-chances" data-runs="{n}">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="22" font-size="17" font-weight="bold" fill="{DARK}">'
        f"{escape(title)}</text>",
    ]
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = px(t)
        parts.append(
            f'<line x1="{x:.1f}" y1="{head:.0f}" x2="{x:.1f}" y2="{head + row * len(rows):.0f}" '
            f'stroke="{"#9A9A9A" if t == 0 else "#E3E3E3"}" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{head + row * len(rows) + 18:.0f}" font-size="13" '
            f'text-anchor="middle" fill="{DARK}">{100 * t:g}%</text>'
        )
    for i, (key, label, share) in enumerate(rows):
        y = head + row * i
        s = share if math.isfinite(share) else 0.0
        words = f"{100 * share:.0f}%" if math.isfinite(share) else "–"
        parts.append(
            f'<g class="chance" data-key="{escape(key)}" data-share="{s:.4f}">'
            f'<text x="{label_w - 8}" y="{y + row / 2 + 5:.0f}" font-size="15" '
            f'text-anchor="end" fill="{DARK}">{escape(label)}</text>'
            f'<rect class="bar" x="{label_w:.1f}" y="{y + 5:.1f}" '
            f'width="{max(px(s) - label_w, 1.5):.1f}" height="{row - 10}" '
            f'fill="{BLUE if key != "holds" else GREEN}"><title>{escape(label)}: {words}</title>'
            f"</rect>"
            f'<text x="{px(s) + 6:.1f}" y="{y + row / 2 + 5:.0f}" font-size="15" '
            f'fill="{DARK}">{words}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------------------------
# The bargaining space (negotiation/experiments/bargaining_space.py): two parties' gains over no
# deal


def frontier_2d(x: np.ndarray, y: np.ndarray) -> list[int]:
    """The points no other point beats on both axes (at least as good on each, better on one),
    from left to right: the frontier for these two parties alone."""
    order = sorted(range(len(x)), key=lambda k: (-x[k], -y[k]))
    kept, best_y = [], -math.inf
    for k in order:  # from the right: a point is on the frontier when it is higher than all so far
        if y[k] > best_y:
            kept.append(k)
            best_y = y[k]
    return kept[::-1]


def _signed_money(x: float) -> str:
    """-$2.5bn rather than $-2.5bn."""
    return ("-" if x < 0 else "") + money_label(abs(x))


def bargaining_svg(df: Any, a: str, b: str) -> str:
    """Each alternative of a `bargaining_space` table as a dot at (gain of party a, gain of party
    b) over no deal, USD/yr: the frontier for the two as a line, no deal at the origin, the Nash
    point, the proposal and the agreement marked."""
    names = df.attrs["names"]
    r = df.attrs["round"]
    x = df[f"gain_{a}"].to_numpy(dtype=float) / 1e6
    y = df[f"gain_{b}"].to_numpy(dtype=float) / 1e6
    left, right, top, bottom = 110, SVG_W - 40, 56, 470
    height = bottom + 62
    xt = nice_ticks(min(float(x.min()), 0.0), max(float(x.max()), 0.0), 5)
    yt = nice_ticks(min(float(y.min()), 0.0), max(float(y.max()), 0.0), 5)

    def px(v: float) -> float:
        return left + (v - xt[0]) / (xt[-1] - xt[0]) * (right - left)

    def py(v: float) -> float:
        return bottom - (v - yt[0]) / (yt[-1] - yt[0]) * (bottom - top)

    title = f"What each package is worth to {names[a]} and {names[b]}, round {r}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_W} {height}" width="100%" '
        f'role="img" font-family="{FONT}" class="bloc-chart chart-bargaining" data-round="{r}" '
        f'data-x="{escape(a)}" data-y="{escape(b)}" data-alternatives="{len(df)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="22" font-size="17" font-weight="bold" fill="{DARK}">'
        f"{escape(title)}</text>",
    ]
    for t in xt:
        parts.append(
            f'<line x1="{px(t):.1f}" y1="{top}" x2="{px(t):.1f}" y2="{bottom}" stroke="#E6E6E6"/>'
            f'<text x="{px(t):.1f}" y="{bottom + 20}" font-size="13" text-anchor="middle" '
            f'fill="{DARK}">{_signed_money(t * 1e6)}</text>'
        )
    for t in yt:
        parts.append(
            f'<line x1="{left}" y1="{py(t):.1f}" x2="{right}" y2="{py(t):.1f}" stroke="#E6E6E6"/>'
            f'<text x="{left - 8}" y="{py(t) + 5:.1f}" font-size="13" text-anchor="end" '
            f'fill="{DARK}">{_signed_money(t * 1e6)}</text>'
        )
    parts.append(
        f'<line class="bs-axis" x1="{px(0):.1f}" y1="{top}" x2="{px(0):.1f}" y2="{bottom}" '
        f'stroke="#9A9A9A"/><line class="bs-axis" x1="{left}" y1="{py(0):.1f}" x2="{right}" '
        f'y2="{py(0):.1f}" stroke="#9A9A9A"/>'
        f'<text x="{(left + right) / 2:.0f}" y="{bottom + 44}" font-size="14" '
        f'text-anchor="middle" fill="{DARK}">{escape(names[a])}: gain over no deal, a year'
        "</text>"
        f'<text x="16" y="{(top + bottom) / 2:.0f}" font-size="14" text-anchor="middle" '
        f'fill="{DARK}" transform="rotate(-90 16 {(top + bottom) / 2:.0f})">'
        f"{escape(names[b])}: gain over no deal, a year</text>"
    )
    pareto = df["pareto"].to_numpy()
    parts.append('<g class="bs-alternatives">')
    for k in np.argsort(pareto, kind="stable"):  # efficient ones drawn last, on top
        # efficient: a filled blue dot with a dark rim; the others hollow grey rings (the
        # difference is in the shape too, not in the colour alone)
        look = (
            f'r="5" fill="{BLUE}" fill-opacity="0.85" stroke="{DARK}" stroke-width="1"'
            if pareto[k]
            else 'r="3.5" fill="none" stroke="#9A9A9A" stroke-width="1.2"'
        )
        parts.append(
            f'<circle class="bs-alt{" bs-efficient" if pareto[k] else ""}" cx="{px(x[k]):.1f}" '
            f'cy="{py(y[k]):.1f}" {look}/>'
        )
    parts.append("</g>")
    line = frontier_2d(x, y)
    points = " ".join(f"{px(x[k]):.1f},{py(y[k]):.1f}" for k in line)
    parts.append(
        f'<polyline class="bs-frontier" points="{points}" fill="none" stroke="{BLUE}" '
        f'stroke-width="2.5"/>'
    )

    def mark(cls: str, k: int, shape: str, label: str, dy: float, anchor: str = "start") -> str:
        cx, cy = px(x[k]), py(y[k])
        dx = -12 if anchor == "end" else 12
        return (
            f'<g class="{cls}" data-x="{x[k] * 1e6:.0f}" data-y="{y[k] * 1e6:.0f}">{shape}'
            f'<text x="{cx + dx:.1f}" y="{cy + dy:.1f}" font-size="14" font-weight="bold" '
            f'text-anchor="{anchor}" fill="{DARK}">{escape(label)}</text></g>'
        )

    cx0, cy0 = px(0.0), py(0.0)
    parts.append(
        f'<g class="bs-origin"><circle cx="{cx0:.1f}" cy="{cy0:.1f}" r="6" fill="white" '
        f'stroke="{DARK}" stroke-width="2"/><text x="{cx0 + 10:.1f}" y="{cy0 + 36:.1f}" '
        f'font-size="14" fill="{DARK}">no deal</text></g>'
    )
    flags = df["on_table"].to_numpy(), df["agreed"].to_numpy(), df["nash"].to_numpy()
    for k in np.flatnonzero(flags[0]):
        cx, cy = px(x[k]), py(y[k])
        shape = (
            f'<rect x="{cx - 6:.1f}" y="{cy - 6:.1f}" width="12" height="12" fill="{ORANGE}" '
            f'stroke="{DARK}"/>'
        )
        parts.append(mark("bs-proposal", int(k), shape, "proposal", -12, "end"))
    for k in np.flatnonzero(flags[1]):
        cx, cy = px(x[k]), py(y[k])
        shape = (
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="10" fill="none" stroke="{GREEN}" '
            f'stroke-width="3"/>'
        )
        parts.append(mark("bs-agreement", int(k), shape, "agreement", 26, "end"))
    for k in np.flatnonzero(flags[2]):
        cx, cy = px(x[k]), py(y[k])
        d = 8
        shape = (
            f'<polygon points="{cx:.1f},{cy - d:.1f} {cx + d:.1f},{cy:.1f} {cx:.1f},{cy + d:.1f} '
            f'{cx - d:.1f},{cy:.1f}" fill="{VERMILLION}" stroke="{DARK}"/>'
        )
        parts.append(mark("bs-nash", int(k), shape, "Nash point", -12))
    parts.append("</svg>")
    return "".join(parts)

"""The downloads' renderer of the charts' specs (`app_charts`): a matplotlib figure, saved as PNG
or SVG when a download is asked for (a few hundred milliseconds on a 2-core machine: never at
each round). `to_figure` draws any spec and `chart_image` a chart of the registry by name, as
bytes. It draws what the page's SVG (`app_charts_svg`) draws from the same spec: the titles,
the legend's labels, the y ticks and their labels, the round ticks, the lever marks.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from functools import singledispatch
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from negotiation.ui.app_charts import (
    CAPACITY_MARKS,
    DARK,
    LEVER,
    MARK,
    MARKERS,
    SKY,
    BarChartSpec,
    ChartSpec,
    Fill,
    Key,
    LineChartSpec,
    TimelineSpec,
    chart_spec,
    tick_label,
)
from negotiation.ui.app_state import Snapshot

DPI = 100
EXPORT_DPI = 150
FIG_WIDTH = 9.8  # inches at DPI: the main area of a 1366-px-wide screen
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
    "hatch.color": "white",
    "hatch.linewidth": 1.2,
    "svg.fonttype": "none",  # SVG text stays text: smaller files, selectable labels
}
LEVER_STYLE = {"color": DARK, "linestyle": (0, (4, 3)), "linewidth": 1.3}
# rcParams are global: figures are drawn one at a time under this lock with STYLE in force.
_DRAW = threading.Lock()


def render(fig: Figure, fmt: str = "png", dpi: int = DPI) -> bytes:
    """PNG (low compression: fast) or SVG bytes of a figure."""
    buf = io.BytesIO()
    if fmt == "png":
        fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    else:
        fig.savefig(buf, format=fmt)
    return buf.getvalue()


def chart_image(
    kind: str,
    snap: Snapshot,
    minerals: Sequence[str] = (),
    shown: int | None = None,
    fmt: str = "png",
    dpi: int = DPI,
) -> bytes:
    """The chart `kind` of the registry (`app_charts.CHARTS`) as PNG or SVG bytes."""
    return image(chart_spec(kind, snap, minerals, shown), fmt, dpi)


def image(spec: ChartSpec, fmt: str = "png", dpi: int = DPI) -> bytes:
    """A chart's spec drawn by matplotlib, as PNG or SVG bytes."""
    with _DRAW, mpl.rc_context(STYLE):
        return render(to_figure(spec), fmt, dpi)


@singledispatch
def to_figure(spec: Any) -> Figure:
    """A chart's spec as a matplotlib figure (call it with STYLE in force: `chart_image`)."""
    raise TypeError(f"no figure renderer for {type(spec).__name__}")


def handle(k: Key) -> Any:
    """A legend entry's handle: a swatch, the lever mark, or a line with its marker."""
    if k.fill is not None:
        return patch(k.fill)
    if k.style == LEVER:
        return Line2D([], [], **LEVER_STYLE)
    if k.style == MARK:  # a marker alone: the capacity marks
        return Line2D([], [], color=k.colour, linestyle="none", **marker_style(k.marker, k.colour))
    return Line2D([], [], color=k.colour, linestyle=k.style, **marker_style(k.marker, k.colour))


def patch(f: Fill) -> Patch:
    return Patch(facecolor=f.colour, hatch=f.hatch or None, edgecolor=DARK, linewidth=0.5)


def marker_style(marker: str, colour: str) -> dict[str, Any]:
    if not marker:
        return {}
    lines_only = marker in ("cross", "plus")  # no face: its edge is it
    return {
        "marker": MARKERS[marker],
        "markersize": 7,
        "markeredgecolor": colour if lines_only else "white",
        "markeredgewidth": 2.0 if lines_only else 0.8,
    }


def legend_columns(keys: Sequence[Key]) -> int:
    """As many columns as fit across the figure (about 0.09 inch a character at 12 pt)."""
    widths = [0.8 + 0.09 * len(k.label) for k in keys]
    n = len(keys)
    while n > 1 and (sum(widths) if n == len(keys) else n * max(widths)) > FIG_WIDTH - 0.4:
        n -= 1
    return max(n, 1)


def legend(fig: Figure, keys: Sequence[Key], top: float) -> None:
    """The spec's legend across the top of the figure, under its title."""
    if keys:
        fig.legend(
            handles=[handle(k) for k in keys],
            labels=[k.label for k in keys],
            loc="upper right",
            bbox_to_anchor=(0.995, top),
            ncols=legend_columns(keys),
            frameon=False,
        )


@to_figure.register(LineChartSpec)
def line_chart_figure(spec: LineChartSpec) -> Figure:
    cols = spec.columns
    rows = math.ceil(max(len(spec.panels), 1) / cols)
    legend_rows = math.ceil(len(spec.legend) / legend_columns(spec.legend))
    head = 0.5 + 0.3 * legend_rows  # inches: the title and the legend's rows
    height = head + (2.2 if rows > 1 else 3.2) * rows + 0.45
    fig = Figure(figsize=(FIG_WIDTH, height), dpi=DPI)
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False).ravel().tolist()
    for ax in axes[len(spec.panels) :]:
        ax.set_visible(False)
    x = spec.x
    for k, (ax, p) in enumerate(zip(axes, spec.panels)):
        for s in p.lines:
            kw = marker_style(s.marker, s.colour)
            if s.marker:
                kw["markevery"] = (s.first_marker, spec.marker_every)
            ax.plot(
                x,
                s.y,
                color=s.colour,
                linestyle=s.style,
                label=s.label,
                drawstyle="steps-mid" if s.step else "default",
                **kw,
            )
        ax.set_title(p.title, loc="left", fontsize=14 if cols == 1 else 12)
        ax.set_xlim(-0.5, spec.rounds + 0.5)
        ax.set_xticks(spec.x_ticks)
        ax.set_yticks(p.ticks, [tick_label(t, p.unit) for t in p.ticks])
        ax.set_ylim(p.ticks[0], p.ticks[-1])
        for r in spec.levers:
            ax.axvline(r - 0.5, **LEVER_STYLE)
        if k == 0 and spec.levers:
            ax.annotate(
                "levers changed",
                (spec.levers[0] - 0.5, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -2),
                textcoords="offset points",
                va="top",
                fontsize=11,
                color=DARK,
            )
        if spec.shown is not None:
            ax.axvspan(spec.shown - 0.15, spec.shown + 0.15, color=SKY, alpha=0.45, lw=0)
        for mark in p.marks:  # a dotted line, the marker on top
            _, colour, shape = CAPACITY_MARKS[mark.kind]
            ax.axvline(mark.round, color=colour, linestyle=(0, (1, 2)), linewidth=1.2)
            ax.plot([mark.round], [1.0], transform=ax.get_xaxis_transform(), color=colour,
                    linestyle="none", clip_on=False, **marker_style(shape, colour))  # fmt: skip
        if p.empty:
            ax.text(0.5, 0.5, "nothing to draw yet", transform=ax.transAxes, ha="center")
    fig.suptitle(
        spec.title, x=0.01, y=1 - 0.08 / height, ha="left", va="top", fontsize=14, weight="bold"
    )
    legend(fig, spec.legend, 1 - 0.42 / height)
    fig.supxlabel("round", fontsize=12, y=0.005)
    fig.subplots_adjust(
        left=0.1 if cols > 1 else 0.08,
        right=0.985,
        bottom=0.5 / height,
        top=1 - (head + 0.3) / height,
        hspace=0.55,
        wspace=0.3 if cols > 2 else 0.22,
    )
    return fig


@to_figure.register(BarChartSpec)
def bar_chart_figure(spec: BarChartSpec) -> Figure:
    n = max(len(spec.groups), 1)
    y = np.arange(len(spec.categories))
    fig = Figure(figsize=(FIG_WIDTH, 4.6), dpi=DPI)
    axes = fig.subplots(1, n, sharex=True, sharey=True, squeeze=False)[0]
    for ax, g in zip(axes, spec.groups):
        if g.values is not None:
            fills = [spec.helps if v >= 0 else spec.hurts for v in g.values]
            ax.barh(
                y,
                g.values,
                height=0.7,
                color=[f.colour for f in fills],
                hatch=[f.hatch or None for f in fills],
                edgecolor="white",
            )
        ax.axvline(0, color=DARK, linewidth=1)
        ax.grid(axis="y", visible=False)
        ax.set_xticks(spec.ticks, [f"{t:g}" for t in spec.ticks])
        ax.set_xlim(-spec.extent, spec.extent)  # shared: the groups compare at a glance
        ax.set_title(g.title, loc="left", fontsize=13)
        ax.set_xlabel(g.note)
    axes[0].set_yticks(y, spec.labels)
    axes[0].invert_yaxis()
    fig.suptitle(spec.title, x=0.01, y=0.99, ha="left", fontsize=14, fontweight="bold")
    legend(fig, spec.legend, 0.92)
    fig.subplots_adjust(left=0.26, right=0.98, top=0.76, bottom=0.17, wspace=0.12)
    return fig


@to_figure.register(TimelineSpec)
def timeline_figure(spec: TimelineSpec) -> Figure:
    n = len(spec.rows)
    mat = spec.matrix
    fig = Figure(figsize=(FIG_WIDTH, 0.42 * n + 1.9), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    ax.grid(False)
    for i in range(n):
        for status, key in enumerate(spec.statuses):
            fill = key.fill or Fill(key.colour)
            cells = np.flatnonzero(mat[i] == status) if mat.size else np.array([])
            if cells.size:
                ax.broken_barh(
                    [(float(j) - 0.5, 1.0) for j in cells],
                    (i - 0.45, 0.9),
                    facecolors=fill.colour,
                    hatch=fill.hatch or None,
                    linewidth=0,
                )
    ax.axvline(spec.round + 0.5, color=DARK, linewidth=1)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_yticks(range(n), [label for _, label, _ in spec.rows])
    ax.set_xlim(-0.5, spec.rounds + 0.5)
    ax.set_xticks(spec.x_ticks)
    for r in spec.levers:
        ax.axvline(r - 0.5, **LEVER_STYLE)
    ax.set_xlabel("round")
    ax.set_title(spec.title, loc="left")
    keys = [*spec.statuses, Key("levers changed", DARK, LEVER)]
    ax.legend(
        [handle(k) for k in keys],
        [k.label for k in keys],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.3),
        ncols=3,
        frameon=False,
    )
    return fig

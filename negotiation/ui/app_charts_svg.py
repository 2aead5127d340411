"""The page's renderer of the charts' specs (`app_charts`): inline SVG, which the page puts in
its DOM as it is (a few milliseconds a chart: crisp at any size, nothing to rasterise or load at
each round). `to_svg` draws any spec and `chart_svg` a chart of the registry by name. The charts
the page alone shows are drawn here too: the network, the fan charts and chances of an ensemble,
the bargaining space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import singledispatch
from html import escape
from typing import Any

import numpy as np

from negotiation.ui.app_charts import (
    BLUE,
    CAPACITY_MARKS,
    DARK,
    DASHES,
    GREEN,
    GREY,
    LEVER,
    LIGHT,
    MARK,
    ORANGE,
    SKY,
    STATUS_COLOURS,
    VERMILLION,
    WIDTH,
    BarChartSpec,
    Fill,
    Key,
    LineChartSpec,
    LinePanel,
    TimelineSpec,
    chart_spec,
    money_label,
    nice_ticks,
    round_step,
    tick_label,
)
from negotiation.ui.app_state import Snapshot, Status, mineral_label

FONT = "DejaVu Sans, Arial, sans-serif"
SVG_W = WIDTH  # the viewBox width
DASH = DASHES["--"]  # a dashed series (the floor)
LEVER_DASH = "5 4"  # the rounds where levers changed


def chart_svg(
    kind: str, snap: Snapshot, minerals: Sequence[str] = (), shown: int | None = None
) -> str:
    """The chart `kind` of the registry (`app_charts.CHARTS`) as inline SVG."""
    return to_svg(chart_spec(kind, snap, minerals, shown))


@singledispatch
def to_svg(spec: Any) -> str:
    """A chart's spec as an SVG document."""
    raise TypeError(f"no SVG renderer for {type(spec).__name__}")


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


def legend_width(items: Sequence[Key]) -> float:
    return sum(key_width(k) for k in items)


def key_width(k: Key) -> float:
    return (22 if k.fill else 34) + 7.6 * len(k.label) + 16


def title_width(title: str) -> float:
    """About the width of a 17-px bold title."""
    return 10.0 * len(title)


def fill_svg(f: Fill) -> str:
    """The SVG paint of a fill: its pattern when hatched."""
    return f"url(#{f.name})" if f.hatch else f.colour


def pattern_svg(f: Fill, gap: int = 6) -> str:
    """The SVG pattern of a hatched fill: white stripes at 45 degrees ("//") or crossed ("xx")
    over its colour."""
    if f.hatch == "xx":
        return (
            f'<pattern id="{f.name}" patternUnits="userSpaceOnUse" width="{gap}" '
            f'height="{gap}"><rect width="{gap}" height="{gap}" fill="{f.colour}"/>'
            f'<path d="M0,0L{gap},{gap}M{gap},0L0,{gap}" stroke="white" stroke-width="1.5"/>'
            "</pattern>"
        )
    return (
        f'<pattern id="{f.name}" patternUnits="userSpaceOnUse" width="{gap}" '
        f'height="{gap}" patternTransform="rotate(45)"><rect width="{gap}" '
        f'height="{gap}" fill="{f.colour}"/><line x1="0" y1="0" x2="0" y2="{gap}" '
        f'stroke="white" stroke-width="2"/></pattern>'
    )


def legend_svg(items: Sequence[Key], right: float, y: float) -> list[str]:
    """Legend entries, right-aligned to `right`: a short line (with the series' marker on it)
    or a swatch, and the label."""
    x = right - legend_width(items)
    parts = ['<g class="legend">']
    for k in items:
        parts.append(f'<g class="legend-item" data-label="{escape(k.label)}">')
        if k.fill:
            parts.append(
                f'<rect x="{x:.0f}" y="{y - 12:.0f}" width="16" height="14" '
                f'fill="{fill_svg(k.fill)}" stroke="{DARK}" stroke-width="0.5"/><text '
                f'x="{x + 22:.0f}" y="{y:.0f}" font-size="14" fill="{DARK}">'
                f"{escape(k.label)}</text></g>"
            )
        elif k.style == MARK:  # a marker alone: the capacity marks
            parts.append(
                marker_svg(k.marker, x + 13, y - 5, k.colour, 6.0)
                + f'<text x="{x + 32:.0f}" y="{y:.0f}" font-size="14" fill="{DARK}">'
                f"{escape(k.label)}</text></g>"
            )
        else:
            dash = LEVER_DASH if k.style == LEVER else DASHES[k.style]
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            width = 1.5 if k.style == LEVER else 3
            parts.append(
                f'<line x1="{x:.0f}" y1="{y - 5:.0f}" x2="{x + 26:.0f}" y2="{y - 5:.0f}" '
                f'stroke="{k.colour}" stroke-width="{width}"{dashes}/>'
                + (marker_svg(k.marker, x + 13, y - 5, k.colour) if k.marker else "")
                + f'<text x="{x + 32:.0f}" y="{y:.0f}" font-size="14" fill="{DARK}">'
                f"{escape(k.label)}</text></g>"
            )
        x += key_width(k)
    parts.append("</g>")
    return parts


def runs_of(ok: np.ndarray) -> list[tuple[int, int]]:
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


def panel_svg(
    spec: LineChartSpec, p: LinePanel, box: tuple[float, float, float, float], first: bool
) -> list[str]:
    """One small multiple: title, y grid with labels, round labels, lever markers, the lines,
    and a band at the round `shown` when the page looks back at a past round."""
    rounds = spec.x
    x0, y0, w, h = box
    left, right, top, bottom = x0 + 64, x0 + w - 14, y0 + 28, y0 + h - 26
    lo, hi = p.ticks[0], p.ticks[-1]

    def px(r: float) -> float:
        return left + (r + 0.5) / (spec.rounds + 1) * (right - left)

    def py(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts = [
        f'<g class="panel" data-title="{escape(p.title)}">',
        f'<text x="{x0 + 10:.0f}" y="{y0 + 17:.0f}" font-size="16" font-weight="bold" '
        f'fill="{DARK}">{escape(p.title)}</text>',
    ]
    for t in p.ticks:
        y = py(t)
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" '
            f'stroke="{"#9A9A9A" if t == 0 else "#E3E3E3"}" stroke-width="1"/>'
            f'<text x="{left - 6:.1f}" y="{y + 5:.1f}" font-size="14" text-anchor="end" '
            f'fill="{DARK}">{escape(tick_label(t, p.unit))}</text>'
        )
    for r in spec.x_ticks:
        parts.append(
            f'<text x="{px(r):.1f}" y="{bottom + 19:.1f}" font-size="14" text-anchor="middle" '
            f'fill="{DARK}">{r}</text>'
        )
    for k, r in enumerate(spec.levers):
        x = px(r - 0.5)
        parts.append(
            f'<line class="lever-marker" data-lever-round="{r}" x1="{x:.1f}" y1="{top - 4:.1f}" '
            f'x2="{x:.1f}" y2="{bottom:.1f}" stroke="{DARK}" stroke-width="1.5" '
            f'stroke-dasharray="{LEVER_DASH}"/>'
        )
        if first and k == 0:
            parts.append(
                f'<text x="{x + 4:.1f}" y="{top + 9:.1f}" font-size="12" fill="{DARK}">'
                "levers changed</text>"
            )
    shown = spec.shown
    if shown is not None:
        x = px(shown)
        parts.append(
            f'<rect class="shown-marker" data-shown-round="{shown}" x="{x - 3:.1f}" '
            f'y="{top - 4:.1f}" width="6" height="{bottom - top + 4:.1f}" fill="{SKY}" '
            f'fill-opacity="0.45"><title>round {shown}, shown above</title></rect>'
        )
        if first:
            parts.append(
                f'<text x="{x + 5:.1f}" y="{bottom - 6:.1f}" font-size="12" fill="{DARK}">'
                f"round {shown}</text>"
            )
    every = spec.marker_every
    for s in p.lines:
        y = s.y
        ok = np.isfinite(y)
        dash = f' stroke-dasharray="{DASHES[s.style]}"' if DASHES[s.style] else ""
        for a, b in runs_of(ok):
            if s.step:
                pts = " ".join(
                    f"{px(r - 0.5):.1f},{py(v):.1f} {px(r + 0.5):.1f},{py(v):.1f}"
                    for r, v in zip(rounds[a:b], y[a:b])
                )
            else:
                pts = " ".join(f"{px(r):.1f},{py(v):.1f}" for r, v in zip(rounds[a:b], y[a:b]))
            parts.append(
                f'<polyline class="series" data-series="{s.key}" points="{pts}" fill="none" '
                f'stroke="{s.colour}" stroke-width="2.5" stroke-linejoin="round"{dash}>'
                f"<title>{escape(p.title)}: {escape(s.label)}</title></polyline>"
            )
        if s.marker:  # on every `every` rounds: each line told apart without its colour
            first_marker = s.first_marker
            at = np.flatnonzero(
                ok & (np.mod(rounds - first_marker, every) == 0) & (rounds >= first_marker)
            )
            if at.size:
                parts.append(f'<g class="series-markers" data-series="{s.key}">')
                parts.extend(marker_svg(s.marker, px(rounds[i]), py(y[i]), s.colour) for i in at)
                parts.append("</g>")
        last = np.flatnonzero(ok)
        if last.size and not s.step:  # the latest value, visible even as a single point
            i = int(last[-1])
            parts.append(
                f'<circle class="last-point" cx="{px(rounds[i]):.1f}" cy="{py(y[i]):.1f}" r="4" '
                f'fill="{s.colour}"/>'
            )
    for mark in p.marks:  # a dotted line, the marker on top, the narrative's line as tooltip
        _, colour, shape = CAPACITY_MARKS[mark.kind]
        x = px(mark.round)
        parts.append(
            f'<g class="capacity-mark" data-kind="{mark.kind}" data-round="{mark.round}">'
            f'<line x1="{x:.1f}" y1="{top + 8:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="2 3"/>'
            + marker_svg(shape, x, top + 2, colour, 6.0)
            + f"<title>round {mark.round}: {escape(mark.text)}</title></g>"
        )
    if p.empty:
        parts.append(
            f'<text x="{(left + right) / 2:.0f}" y="{(top + bottom) / 2:.0f}" font-size="14" '
            f'text-anchor="middle" fill="{GREY}">nothing to draw yet</text>'
        )
    parts.append("</g>")
    return parts


@to_svg.register(LineChartSpec)
def line_chart_svg(spec: LineChartSpec) -> str:
    """Small multiples of a few lines each, the legend at the top right (under the title when
    both do not fit on a line)."""
    cols = spec.columns
    rows = math.ceil(max(len(spec.panels), 1) / cols)
    two_lines = title_width(spec.title) + 20 + legend_width(spec.legend) > SVG_W
    head, foot = 58 if two_lines else 34, 20
    ph = 290 if rows == 1 else 200
    height = head + rows * ph + foot
    pw = SVG_W / cols
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_W} {height}" width="100%" '
        f'role="img" font-family="{FONT}" class="bloc-chart chart-{spec.kind}" '
        f'data-round="{spec.round}">',
        f"<title>{escape(spec.title)}, round {spec.round}</title>",
        f'<text x="4" y="21" font-size="17" font-weight="bold" fill="{DARK}">'
        f"{escape(spec.title)}</text>",
        *legend_svg(spec.legend, SVG_W - 6, 46 if two_lines else 22),
    ]
    for k, p in enumerate(spec.panels):
        r, c = divmod(k, cols)
        parts += panel_svg(spec, p, (c * pw, head + r * ph, pw, ph), k == 0)
    parts.append(
        f'<text x="{SVG_W / 2:.0f}" y="{height - 4}" font-size="14" text-anchor="middle" '
        f'fill="{DARK}">round</text></svg>'
    )
    return "".join(parts)


@to_svg.register(BarChartSpec)
def bar_chart_svg(spec: BarChartSpec) -> str:
    """A panel per group with a bar per category, on the shared scale: helps to the right,
    hurts to the left (hatched)."""
    n = max(len(spec.groups), 1)
    label_w, gap, head, row = 200, 16, 36, 29
    pw = (SVG_W - label_w - 6 - gap * (n - 1)) / n
    top = head + 28
    bottom = top + row * len(spec.categories)
    height = bottom + 50
    patterns = "".join(pattern_svg(f) for f in (spec.helps, spec.hurts) if f.hatch)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_W} {height}" width="100%" '
        f'role="img" font-family="{FONT}" class="bloc-chart chart-{spec.kind}" '
        f'data-round="{spec.round}">',
        f"<title>{escape(spec.title)}</title>",
        f'<text x="4" y="22" font-size="17" font-weight="bold" fill="{DARK}">'
        f"{escape(spec.title)}</text>",
        f"<defs>{patterns}</defs>",
        *legend_svg(spec.legend, SVG_W - 6, 22),
    ]
    for i, label in enumerate(spec.labels):
        parts.append(
            f'<text x="{label_w - 8}" y="{top + row * i + row / 2 + 5:.0f}" font-size="14" '
            f'text-anchor="end" fill="{DARK}">{escape(label)}</text>'
        )
    for k, g in enumerate(spec.groups):
        x0 = label_w + k * (pw + gap)

        def px(v: float, x0: float = x0) -> float:
            return x0 + pw / 2 + v / spec.extent * (pw / 2)

        parts.append(
            f'<g class="utility-country" data-actor="{escape(g.key)}">'
            f'<rect x="{x0:.1f}" y="{top:.0f}" width="{pw:.1f}" height="{bottom - top:.0f}" '
            f'fill="#F6F6F6"/>'
            f'<text x="{x0 + 4:.1f}" y="{top - 9:.0f}" font-size="16" font-weight="bold" '
            f'fill="{DARK}">{escape(g.title)}</text>'
        )
        for tv in spec.ticks:
            parts.append(
                f'<line x1="{px(tv):.1f}" y1="{top:.0f}" x2="{px(tv):.1f}" y2="{bottom:.0f}" '
                f'stroke="{DARK if tv == 0 else "#DADADA"}" stroke-width="1"/>'
                f'<text x="{px(tv):.1f}" y="{bottom + 17:.0f}" font-size="13" '
                f'text-anchor="middle" fill="{DARK}">{tv:g}</text>'
            )
        if g.values is not None:
            for i, (c, label, v) in enumerate(zip(spec.categories, spec.labels, g.values)):
                x = min(px(v), px(0.0))
                sign = "helps" if v >= 0 else "hurts"
                parts.append(
                    f'<rect class="bar" data-component="{c}" x="{x:.1f}" '
                    f'y="{top + row * i + 4:.1f}" width="{abs(px(v) - px(0.0)):.1f}" '
                    f'height="{row - 8}" fill="{fill_svg(spec.helps if v >= 0 else spec.hurts)}" '
                    f'data-sign="{sign}">'
                    f"<title>{escape(g.name)}: {escape(label)} "
                    f"{v:+.2f} {spec.unit} ({sign})</title></rect>"
                )
        parts.append(
            f'<text class="utility-total" x="{x0 + pw / 2:.1f}" y="{bottom + 38:.0f}" '
            f'font-size="14" text-anchor="middle" fill="{DARK}">{escape(g.note)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


@to_svg.register(TimelineSpec)
def timeline_svg(spec: TimelineSpec) -> str:
    """The membership timeline: a row per country, a cell per round (a rect per run of one
    status), the rounds where levers changed and the round on screen marked."""
    mat = spec.matrix
    n = len(spec.rows)
    w, left, right, top, row = SVG_W, 90, 12, 34, 30
    plot_w = w - left - right
    h = top + n * row + 64
    cell = plot_w / (spec.rounds + 1)
    fills = [k.fill or Fill(k.colour) for k in spec.statuses]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" '
        f'role="img" font-family="{FONT}" class="bloc-timeline" data-round="{spec.round}">',
        f"<title>{escape(spec.title)}</title>",
        "<defs>" + "".join(pattern_svg(f, 8) for f in fills if f.hatch) + "</defs>",
        f'<text x="4" y="20" font-size="16" font-weight="bold" fill="{DARK}">'
        f"{escape(spec.title)}</text>",
    ]
    cols = mat.shape[1] if mat.ndim == 2 else 0
    for i, (_, label, name) in enumerate(spec.rows):
        y = top + i * row
        parts.append(
            f'<text x="{left - 8}" y="{y + row / 2 + 5:.0f}" font-size="14" text-anchor="end" '
            f'fill="{DARK}">{escape(label)}</text>'
        )
        j = 0
        while j < cols:  # runs of equal status as one rect each
            k = j
            while k + 1 < cols and mat[i, k + 1] == mat[i, j]:
                k += 1
            status = spec.statuses[int(mat[i, j])].label
            rounds = f"round {j}" if j == k else f"rounds {j}-{k}"
            parts.append(
                f'<rect x="{left + j * cell:.1f}" y="{y + 2}" width="{(k - j + 1) * cell:.1f}" '
                f'height="{row - 4}" fill="{fill_svg(fills[int(mat[i, j])])}" '
                f'data-status="{status}"><title>{escape(name)}: {status}, {rounds}</title></rect>'
            )
            j = k + 1
    bottom = top + n * row
    for r in spec.levers:
        x = left + r * cell
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom + 2}" stroke="{DARK}" '
            f'stroke-width="1.5" stroke-dasharray="{LEVER_DASH}"/>'
        )
    x_now = left + (spec.round + 1) * cell
    parts.append(
        f'<line x1="{x_now:.1f}" y1="{top - 4}" x2="{x_now:.1f}" y2="{bottom + 2}" '
        f'stroke="{DARK}" stroke-width="1"/>'
    )
    for r in spec.x_ticks:
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
    for key, fill in zip(spec.statuses, fills):
        parts.append(
            f'<rect x="{x0}" y="{bottom + 32}" width="16" height="16" '
            f'fill="{fill_svg(fill)}" stroke="{DARK}" stroke-width="0.5"/>'
            f'<text x="{x0 + 22}" y="{bottom + 45}" font-size="13" fill="{DARK}">'
            f"{escape(key.label)}</text>"
        )
        x0 += 22 + int(7.6 * len(key.label)) + 24
    parts.append(
        f'<line x1="{x0}" y1="{bottom + 40}" x2="{x0 + 18}" y2="{bottom + 40}" stroke="{DARK}" '
        f'stroke-width="1.5" stroke-dasharray="{LEVER_DASH}"/><text x="{x0 + 24}" '
        f'y="{bottom + 45}" font-size="13" fill="{DARK}">levers changed</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


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


def fan_panel_svg(
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
    for a, b in runs_of(ok):
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
        for a, b in runs_of(good):
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
        Key(f"median of {n} runs", BLUE),
        Key("5–95% of runs", FAN_FILL),
        Key(this_run, VERMILLION, "--"),
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
        *legend_svg(items, SVG_W - 6, 46 if two_lines else 22),
    ]
    for k, p in enumerate(panels):
        r, c = divmod(k, cols)
        single_xy = None
        if single is not None and p.column in single:
            single_xy = (
                single["round"].to_numpy(dtype=float),
                single[p.column].to_numpy(dtype=float),
            )
        parts += fan_panel_svg(
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

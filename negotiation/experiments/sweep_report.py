"""`bloc sweep report DIR`: one static HTML page of a sweep, its charts embedded as inline SVG.

The page shows what ran (spec, design, seeds, versions, successes and failures), whether the
replications differ, each design point's mean over its replications with a t interval, a heatmap
of a metric over two parameters, the main effect of every parameter on each metric (the mean of
the design points' means at each level, with a bootstrap interval over design points), and, for a
Sobol design, first-order, total (and, when the design paid for them, second-order) Sobol indices
from `SALib.analyze.sobol` on the design points' means, with SALib's bootstrap intervals; for a
Morris design, mu*, mu and sigma of every parameter (`SALib.analyze.morris`); for a Latin
hypercube, PRCC and SRC of each numeric parameter with bootstrap intervals; which inputs matter
most for each outcome (extra-trees feature scores from `ema_workbench.analysis.feature_scoring`,
with the forest's out-of-bag R²); each metric's distribution across runs (a histogram, and box
plots by level of a parameter); envelopes of the per-round series (median and 5-95 % band over
runs, by group of a parameter) when the rounds table was collected; which settings make the bloc
hold (a PRIM box from `ema_workbench.analysis.prim`, with coverage and density, and a seeded
classification tree grown as `ema_workbench.analysis.cart` grows it); and which coalitions
formed (final memberships, overall, by actor and by design point). Every
figure says how many design points and runs it rests on, and how many runs a metric's empty values
(first_fracture when no member left) leave out. The numbers come from
`negotiation.experiments.sweep_stats`. Parameters with many distinct values (Latin hypercube, Sobol)
are grouped into quantile bins. It needs no internet to display.
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from negotiation.engine.scenario import did_you_mean
from negotiation.experiments import sweep_stats as st
from negotiation.experiments.sweep import load
from negotiation.experiments.sweep_spec import SpecError

#: Requested (not per-mineral) metrics shown by default, and per-mineral ones after them.
DEFAULT_METRICS = 8
PER_MINERAL = 3
#: Coalitions listed in the table of final memberships.
MAX_COALITIONS = 15
#: Design points listed in the page's table of points (the rest are counted).
MAX_POINT_ROWS = 60

esc = html.escape
_fmt = st.fmt


def _svg(fig: Any) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _numeric_metrics(meta: dict[str, Any]) -> list[str]:
    return [m["name"] for m in meta["metrics"] if m["dtype"] in ("int64", "float64", "bool")]


def _family(m: dict[str, Any], minerals: Sequence[str]) -> str | None:
    """The per-mineral family of a metric (mean_world_price, supplier_share), else None."""
    if "family" in m:
        return m["family"]
    for fam in ("mean_world_price", "supplier_share"):  # metadata from before `family`
        if m["name"].startswith(fam + "_") and m["name"][len(fam) + 1 :] in minerals:
            return fam
    return None


def default_metrics(ok: pd.DataFrame, meta: dict[str, Any], per_mineral: int) -> list[str]:
    """The metrics the report shows when none are named: the spec's own metrics first (those
    that vary across runs first, empty in some runs counting as varying; up to
    DEFAULT_METRICS), then at most `per_mineral` of the per-mineral columns that
    `mean_world_price` and `supplier_share` expand into, those varying most (relative to
    their mean) first. Eight minerals' columns never crowd out a metric the spec asked for."""
    minerals = meta.get("scenario", {}).get("minerals", ())
    numeric = set(_numeric_metrics(meta))
    entries = [m for m in meta["metrics"] if m["name"] in numeric]

    def varies(name: str) -> bool:
        return bool(ok[name].astype(float).nunique(dropna=False) > 1)

    own = [m["name"] for m in entries if _family(m, minerals) is None]
    mineral = [m["name"] for m in entries if _family(m, minerals) is not None]
    own = ([m for m in own if varies(m)] + [m for m in own if not varies(m)])[:DEFAULT_METRICS]
    spread = {}
    for name in mineral:
        x = ok[name].astype(float)
        if varies(name):
            spread[name] = float(x.std() / (abs(x.mean()) or 1.0))
    ranked = sorted(spread, key=lambda n: -spread[n])[:per_mineral]
    chosen = own + [n for n in mineral if n in ranked]  # in the spec's order
    return chosen or (own + mineral)[:DEFAULT_METRICS]


def _empty_reason(meta: dict[str, Any], metric: str) -> str:
    stat = next((m.get("stat") for m in meta["metrics"] if m["name"] == metric), None)
    return " (first_fracture is empty when no member left)" if stat == "first_fracture" else ""


def _interval_cell(mean: float, low: float, high: float, n: int, note: str) -> str:
    return st.Interval(mean, low, high, n, note).text()


def heatmap_cells(points: pd.DataFrame, x: str, y: str) -> dict[str, Any]:
    """The heatmap's cells: `grid` (mean of the point means in each cell; NaN when blank),
    `points` (design points with a successful run in each cell), `with_value` (those with a
    value of the metric), the axes' labels `lx`, `ly`."""
    # Enough design points per cell: about 3 a cell when parameters are binned.
    has = points[points["n"] > 0]
    n_bins = int(np.clip(math.sqrt(len(points) / 3), 2, st.BINS))
    gx, ox, lx, _ = st.groups(points[x], n_bins)
    gy, oy, ly, _ = st.groups(points[y], n_bins)
    table = has["mean"].groupby([gy[has.index], gx[has.index]]).mean().unstack()
    grid = table.reindex(index=oy, columns=ox).to_numpy(dtype=float)
    count = points["n"].groupby([gy, gx]).size().unstack()
    count = count.reindex(index=oy, columns=ox).fillna(0).to_numpy(dtype=int)
    valued = (points["n"] > 0).groupby([gy, gx]).sum().unstack()
    valued = valued.reindex(index=oy, columns=ox).fillna(0).to_numpy(dtype=int)
    return {"grid": grid, "points": count, "with_value": valued, "lx": lx, "ly": ly}


def blank_cells_text(cells: dict[str, Any], metric: str, reason: str) -> str:
    """What the blank cells of a heatmap mean, counted by cause."""
    blank = ~np.isfinite(cells["grid"])
    no_point = int((blank & (cells["points"] == 0)).sum())
    no_value = int((blank & (cells["points"] > 0)).sum())
    if not no_point and not no_value:
        return "No cell is blank."
    parts = []
    if no_point:
        parts.append(
            f"{no_point} blank cell{'s' if no_point > 1 else ''} (marked \u201cno point\u201d) "
            "hold no design point with a successful run: the design has no point with that "
            "pair of values (bins of a random design can miss a combination), or every run "
            "there failed"
        )
    if no_value:
        parts.append(
            f"{no_value} blank cell{'s' if no_value > 1 else ''} (marked \u201cno value\u201d) "
            f"hold design points, but {metric} is empty in every one of their runs{reason}"
        )
    return "; ".join(parts) + "."


def _heatmap(points: pd.DataFrame, metric: str, x: str, y: str) -> str:
    cells = heatmap_cells(points, x, y)
    grid, lx, ly = cells["grid"], cells["lx"], cells["ly"]
    fig = _figure(max(4.5, 0.6 * len(lx) + 2.5), max(3.2, 0.45 * len(ly) + 1.8))
    ax = fig.add_subplot()
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(lx)), lx, rotation=45 if len(lx) > 6 else 0)
    ax.set_yticks(range(len(ly)), ly)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{metric}: mean of the design points' means")
    fig.colorbar(im, ax=ax, label=metric)
    if grid.size <= 100:
        finite = grid[np.isfinite(grid)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(j, i, _fmt(float(v)), ha="center", va="center", fontsize=8,
                        color="black" if v > mid else "white")  # fmt: skip
            else:
                why = "no point" if cells["points"][i, j] == 0 else "no value"
                ax.text(j, i, why, ha="center", va="center", fontsize=7, color="grey")
    return _svg(fig)


def _main_effects_figure(effects: dict[str, pd.DataFrame], metric: str,
                         params: Sequence[dict[str, Any]]) -> str:  # fmt: skip
    cols = min(len(params), 4)
    rows = math.ceil(len(params) / cols)
    fig = _figure(3.4 * cols, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for k, p in enumerate(params):
        ax = axes[k // cols][k % cols]
        eff = effects[p["path"]]
        numeric = pd.api.types.is_numeric_dtype(eff["level"]) and not (
            pd.api.types.is_bool_dtype(eff["level"])
        )
        xs = eff["level"].to_numpy(dtype=float) if numeric else np.arange(len(eff))
        ax.plot(xs, eff["mean"], marker="o", linestyle="-" if numeric else "none")
        has = eff["low"].notna().to_numpy()
        if has.any():  # levels without an interval get none drawn (the table says why)
            mean = eff["mean"].to_numpy()[has]
            yerr = [mean - eff["low"].to_numpy()[has], eff["high"].to_numpy()[has] - mean]
            ax.errorbar(xs[has], mean, yerr=yerr, fmt="none", capsize=3, ecolor="C0")
        if numeric and p.get("log"):
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(xs, list(eff["label"]), rotation=30)
        ax.set_xlabel(p["path"])
        if k % cols == 0:
            ax.set_ylabel(metric)
    for k in range(len(params), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    fig.suptitle(f"Main effects on {metric} (mean of design-point means, 95 % bootstrap interval)")
    return _svg(fig)


def _main_effects_table(effects: dict[str, pd.DataFrame]) -> str:
    body = []
    for param, eff in effects.items():
        for r in eff.itertuples():
            body.append(
                f"<tr><td>{esc(param)}</td><td>{esc(r.label)}</td>"
                f"<td>{r.points} of {r.points_total}</td><td>{r.runs} of {r.runs_total}</td>"
                f"<td>{esc(_interval_cell(r.mean, r.low, r.high, r.points, r.note))}</td></tr>"
            )
    return (
        "<table><tr><th>parameter</th><th>level</th><th>design points</th><th>runs</th>"
        f"<th>mean [95 % bootstrap interval]</th></tr>{''.join(body)}</table>"
    )


def _points_table(points: dict[str, pd.DataFrame], params: Sequence[str]) -> str:
    metrics = list(points)
    index = sorted(set().union(*(p.index for p in points.values())))
    first = points[metrics[0]]
    head = "".join(f"<th>{esc(h)}</th>" for h in ["point", *params, "runs"])
    head += "".join(f"<th>{esc(m)}: mean [95 % t interval]</th>" for m in metrics)
    body = []
    for point in index[:MAX_POINT_ROWS]:
        cells = [str(point), *(_fmt(first.at[point, p]) for p in params)]
        cells.append(str(int(first.at[point, "runs"])))
        for m in metrics:
            r = points[m].loc[point]
            text = _interval_cell(r["mean"], r["low"], r["high"], int(r["n"]), r["note"])
            if 0 < r["n"] < r["runs"]:
                text += f" ({int(r['n'])} runs with a value)"
            cells.append(text)
        body.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    more = ""
    if len(index) > MAX_POINT_ROWS:
        more = (
            f"<p>... and {len(index) - MAX_POINT_ROWS} more design points "
            "(`negotiation.experiments.sweep_stats.point_stats` gives them all).</p>"
        )
    return f"<table><tr>{head}</tr>{''.join(body)}</table>{more}"


def _replication_summary(ok: pd.DataFrame, chosen: Sequence[str], design: dict[str, Any]) -> str:
    per_point = ok.groupby("point").size()
    counts = (
        f"{len(per_point)} design points with a successful run, "
        f"{_span(per_point)} successful replications each "
        f"({design['replications']} planned)"
        if len(per_point)
        else "no successful run"
    )
    same = st.replications_identical(ok, chosen)
    if same is None:
        verdict = (
            "No design point has two successful replications: there is no replication interval, "
            "and the intervals below reflect design points only."
        )
    elif same:
        verdict = (
            "Replications are identical: at every design point every replication gave the same "
            "value of every metric shown, so intervals reflect design points only."
        )
    else:
        differ = [
            f"{m} at {int((ok.groupby('point')[m].nunique(dropna=False) > 1).sum())}"
            for m in chosen
        ]
        verdict = (
            "Replications differ (design points where they do: " + ", ".join(differ) + "); "
            "each point's interval is a t interval of its mean over its replications."
        )
    return f"<p>{esc(counts)}. {esc(verdict)}</p>"


def _span(counts: pd.Series) -> str:
    low, high = int(counts.min()), int(counts.max())
    return str(low) if low == high else f"{low} to {high}"


def _metric_counts(ok: pd.DataFrame, metric: str, meta: dict[str, Any]) -> str:
    n = int(ok[metric].notna().sum())
    if n == len(ok):
        return f"{metric}: every one of the {len(ok)} successful runs has a value."
    return (
        f"{metric}: {n} of {len(ok)} successful runs have a value; the means below average those "
        f"{n} and leave out {len(ok) - n} empty runs{_empty_reason(meta, metric)}."
    )


def _sobol_section(res: st.SobolIndices | str, metric: str, counts: pd.Series) -> str:
    if isinstance(res, str):
        return f"<h3>{esc(metric)}</h3><p>{esc(res)}</p>"
    first = res.first
    names = list(first.index)
    fig = _figure(max(4.5, 1.4 * len(names) + 2), 3.2)
    ax = fig.add_subplot()
    xs = np.arange(len(names))
    ax.bar(xs - 0.2, first["S1"], 0.4, yerr=first["S1_conf"], capsize=3, label="first order S1")
    ax.bar(xs + 0.2, first["ST"], 0.4, yerr=first["ST_conf"], capsize=3, label="total ST")
    ax.set_xticks(xs, names, rotation=20)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_ylabel("Sobol index")
    ax.set_title(f"Sobol indices of {metric}")
    ax.legend()
    body = "".join(
        f"<tr><td>{esc(n)}</td><td>{r.S1:.3f} ± {r.S1_conf:.3f}</td>"
        f"<td>{r.ST:.3f} ± {r.ST_conf:.3f}</td></tr>"
        for n, r in zip(names, first.itertuples())
    )
    table = (
        "<table><tr><th>parameter</th><th>S1 (± 95 % conf.)</th><th>ST (± 95 % conf.)</th></tr>"
        f"{body}</table>"
    )
    if res.second is not None:
        pairs = "".join(
            f"<tr><td>{esc(r.a)} × {esc(r.b)}</td><td>{r.S2:.3f} ± {r.S2_conf:.3f}</td></tr>"
            for r in res.second.itertuples()
        )
        table += (
            f"<table><tr><th>pair</th><th>second order S2 (± 95 % conf.)</th></tr>{pairs}</table>"
        )
    rests = (
        f"<p>Rests on {res.n_points} design points (base size {res.base}), each the mean of its "
        f"runs with a value ({_span(counts)} per point)."
    )
    if res.base < 64:
        rests += (
            f" A base size of {res.base} gives rough indices and intervals (an S1 above 1 or "
            "below 0 shows it); use 256 or more."
        )
    rests += "</p>"
    return f"<h3>{esc(metric)}</h3><figure>{_svg(fig)}</figure>{table}{rests}"


def _convergence_figure(curve: pd.DataFrame, metric: str) -> str:
    fig = _figure(8.0, 3.2)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, index in zip(axes, ("S1", "ST")):
        for k, (name, sub) in enumerate(curve.groupby("parameter", sort=False)):
            ax.errorbar(sub["base"], sub[index], yerr=sub[f"{index}_conf"], marker="o",
                        capsize=3, label=name, color=f"C{k}")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("base size N")
        ax.set_title("first order S1" if index == "S1" else "total ST")
    axes[0].set_ylabel("Sobol index")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"Sobol indices of {metric} against N (± 95 % conf.)")
    return _svg(fig)


def _morris_section(res: st.MorrisIndices | str, metric: str, counts: pd.Series) -> str:
    if isinstance(res, str):
        return f"<h3>{esc(metric)}</h3><p>{esc(res)}</p>"
    table = res.table.sort_values("mu_star", ascending=False, kind="stable")
    names = list(table.index)
    fig = _figure(5.2, 3.6)
    ax = fig.add_subplot()
    ax.errorbar(table["mu_star"], table["sigma"], xerr=table["mu_star_conf"], fmt="o",
                capsize=3)  # fmt: skip
    for name, r in table.iterrows():
        ax.annotate(name, (r["mu_star"], r["sigma"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)  # fmt: skip
    top = float(max(table["mu_star"].max(), table["sigma"].max(), 0.0))
    if top > 0:
        ax.plot([0, top], [0, top], color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("mu* (mean |elementary effect|)")
    ax.set_ylabel("sigma (sd of elementary effects)")
    ax.set_title(f"Morris screening of {metric}")
    body = "".join(
        f"<tr><td>{esc(n)}</td><td>{_fmt(float(r.mu_star))} ± {_fmt(float(r.mu_star_conf))}"
        f"</td><td>{_fmt(float(r.mu))}</td><td>{_fmt(float(r.sigma))}</td></tr>"
        for n, r in zip(names, table.itertuples())
    )
    html_table = (
        "<table><tr><th>parameter</th><th>mu* (± 95 % conf.)</th><th>mu</th><th>sigma</th></tr>"
        f"{body}</table>"
    )
    still = [n for n, r in table.iterrows() if r["mu_star"] == 0 and r["sigma"] == 0]
    notes = ""
    if still:
        notes = (
            f"<p>No step of {esc(', '.join(still))} changed {esc(metric)} at any point tried "
            "(mu* = sigma = 0).</p>"
        )
    rests = (
        f"<p>Rests on {res.trajectories} trajectories of {len(names) + 1} design points each "
        f"({res.n_points} points, a grid of {res.levels} levels), each point the mean of its "
        f"runs with a value ({_span(counts)} per point).</p>"
    )
    return f"<h3>{esc(metric)}</h3><figure>{_svg(fig)}</figure>{html_table}{notes}{rests}"


def _choose(requested: Sequence[str], available: Sequence[str], what: str) -> list[str]:
    problems = [
        f"--metric {m}: not a numeric metric of this sweep" + did_you_mean(m, available)
        + f"; {what}: {', '.join(available)}"
        for m in requested
        if m not in available
    ]  # fmt: skip
    if problems:
        raise SpecError(problems)
    return list(requested)


def _heatmap_axes(
    requested: Sequence[str] | None, meta: dict[str, Any], paths: Sequence[str]
) -> tuple[list[str], str]:
    """The heatmap's two parameters (x, y) and where they come from: the --heatmap option,
    the spec's [report] heatmap, or the first two parameters."""
    spec = (meta.get("report") or {}).get("heatmap")
    axes, source = (
        (list(requested), "--heatmap")
        if requested
        else (list(spec), "the spec's [report] heatmap")
        if spec
        else (list(paths[:2]), "the first two parameters; choose others with --heatmap X,Y")
    )
    problems = [
        f"--heatmap {a}: not a parameter of this sweep" + did_you_mean(a, paths)
        + f"; parameters: {', '.join(paths)}"
        for a in axes
        if a not in paths
    ]  # fmt: skip
    if requested and len(axes) != 2:
        problems.append(f"--heatmap: give two parameters, X,Y (got {len(axes)})")
    elif requested and axes[0] == axes[1]:
        problems.append("--heatmap: give two different parameters")
    if problems:
        raise SpecError(problems)
    return axes, source


def _group_and_series(
    group: str | None, series: Sequence[str], meta: dict[str, Any], paths: Sequence[str],
    rounds: pd.DataFrame | None,
) -> tuple[str | None, list[str]]:  # fmt: skip
    """The grouping parameter and the extra envelope series: the options, else the spec's
    `[report] group` and `series`; checked against the sweep's parameters and the rounds
    table's numeric columns."""
    spec = meta.get("report") or {}
    source_g = "--group" if group else "report.group"
    source_s = "--series" if series else "report.series"
    group = group or spec.get("group")
    series = list(series or spec.get("series") or [])
    problems = []
    if group and group not in paths:
        problems.append(
            f"{source_g} {group}: not a parameter of this sweep" + did_you_mean(group, paths)
            + f"; parameters: {', '.join(paths) or 'none'}"
        )  # fmt: skip
    if series:
        if rounds is None or rounds.empty:
            problems.append(
                f"{source_s}: this sweep has no rounds table (its spec needs "
                'collect = "every_round" or tables = ["rounds"])'
            )
        else:
            numeric = [c for c in rounds.columns if c not in ("run_id", "round")
                       and pd.api.types.is_numeric_dtype(rounds[c])]  # fmt: skip
            problems += [
                f"{source_s} {c}: not a numeric column of the rounds table"
                + did_you_mean(c, numeric)
                for c in series
                if c not in numeric
            ]  # fmt: skip
    if problems:
        raise SpecError(problems)
    return group, series


def _sensitivity_section(
    ok: pd.DataFrame, points: dict[str, pd.DataFrame], chosen: Sequence[str],
    params: Sequence[dict[str, Any]], meta: dict[str, Any],
) -> str:  # fmt: skip
    numeric = [
        p["path"]
        for p in params
        if pd.api.types.is_numeric_dtype(ok[p["path"]])
        and not pd.api.types.is_bool_dtype(ok[p["path"]])
    ]
    other = [p["path"] for p in params if p["path"] not in numeric]
    root = int(meta["root_seed"])
    out = [
        "<h2>Sensitivity (Latin hypercube)</h2>",
        "<p>For each metric and numeric parameter, on the design points' means (each point "
        "counted once): the <b>partial rank correlation coefficient</b> (PRCC: the correlation "
        "of the ranks of the parameter and of the metric once the ranks of the other "
        "parameters are regressed out of both; it measures a monotone effect, linear or not, "
        "from -1 to 1), and the <b>standardized regression coefficient</b> (SRC: the "
        "coefficient of the parameter in a least-squares regression of the metric's z-score on "
        "the parameters' z-scores; how many standard deviations the metric moves per standard "
        "deviation of the parameter). R² says how much of the metric's variance that linear "
        "regression explains: where it is low, read the PRCC (or the main effects), not the "
        "SRC. Each has a 95 % percentile bootstrap interval from "
        f"{st.SOBOL_RESAMPLES} resamples of the design points (seeded from the root seed and "
        "the metric). An interval that contains 0 is no evidence of an effect.</p>",
    ]
    if other:
        out.append(
            f"<p>Left out (not numeric: ranks mean nothing there; see the main effects): "
            f"{esc(', '.join(other))}.</p>"
        )
    for m in chosen:
        res = st.sensitivity(points[m], numeric, seed=st.stream_seed(root, m, "sensitivity"))
        if isinstance(res, str):
            out.append(f"<h3>{esc(m)}</h3><p>{esc(res)}{esc(_empty_reason(meta, m))}</p>")
            continue
        body = "".join(
            f"<tr><td>{esc(r.parameter)}</td>"
            f"<td>{r.prcc:.3f} [{r.prcc_low:.3f}, {r.prcc_high:.3f}]</td>"
            f"<td>{r.src:.3f} [{r.src_low:.3f}, {r.src_high:.3f}]</td></tr>"
            for r in res.itertuples()
        )
        left = int((points[m]["n"] == 0).sum())
        rests = f"Rests on {res.attrs['n']} design points"
        if left:
            rests += f" ({left} without a value left out{_empty_reason(meta, m)})"
        out.append(
            f"<h3>{esc(m)}</h3><table><tr><th>parameter</th><th>PRCC [95 % bootstrap]</th>"
            f"<th>SRC [95 % bootstrap]</th></tr>{body}</table>"
            f"<p>{esc(rests)}; R² of the linear regression {res.attrs['r2']:.3f}.</p>"
        )
    return "".join(out)


def _prim_limit(r: Any) -> tuple[str, str]:
    """A restricted parameter's box and full range, as text."""
    if r.kind == "categorical":
        return ", ".join(r.values), ", ".join(r.full)
    return f"{_fmt(r.low)} to {_fmt(r.high)}", f"{_fmt(r.full[0])} to {_fmt(r.full[1])}"


def _qp(v: float) -> str:
    if not math.isfinite(v):
        return "(not restricted)"
    return f"{v:.2g}" + (" (not significant)" if v > 0.05 else "")


def _prim_figure(res: st.PrimResult) -> str:
    t = res.trajectory
    fig = _figure(5.2, 3.6)
    ax = fig.add_subplot()
    points = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=18)
    ax.scatter([res.coverage], [res.density], s=120, facecolors="none", edgecolors="red",
               label=f"box chosen ({res.chosen})")  # fmt: skip
    ax.axhline(res.density_target, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("coverage (share of the held runs inside the box)")
    ax.set_ylabel("density (share of the box's runs that held)")
    ax.set_title("PRIM peeling trajectory")
    fig.colorbar(points, ax=ax, label="parameters restricted")
    ax.legend(loc="lower left")
    return _svg(fig)


def _prim_section(ok: pd.DataFrame, paths: Sequence[str]) -> str:
    out = ["<h2>Which settings make the bloc hold?</h2>"]
    missing = [m for m in ("final_size", "first_fracture") if m not in ok.columns]
    if missing:
        out.append(
            f"<p>Add {' and '.join(missing)} to the spec's metrics to see which settings make "
            "the bloc hold.</p>"
        )
        return "".join(out)
    if ok.empty or not paths:
        out.append("<p>Nothing to search: no successful run, or no parameter.</p>")
        return "".join(out)
    held = st.holds(ok)
    k, n = int(held.sum()), len(ok)
    out.append(
        f"<p>The bloc holds in a run when {esc(st.HOLDS_DOC)} (as <code>bloc ensemble</code> "
        f"says it). It held in {k} of the {n} successful runs.</p>"
    )
    res = st.prim_box(ok[list(paths)].reset_index(drop=True), held.to_numpy())
    if isinstance(res, str):
        out.append(f"<p>No box: {esc(res)}.</p>")
        return "".join(out)
    out.append(
        "<p>PRIM (the patient rule induction method of scenario discovery, "
        "<code>ema_workbench.analysis.prim</code>) looks for a box of parameter values, a range "
        "for each numeric parameter and a set of values for the others, inside which the bloc "
        "holds: it peels off the slices of runs that hold least, one at a time, down to 5 % of "
        "the runs. Each run is a case, with the parameter values of its design point "
        "(replications of a point may disagree). <b>Coverage</b>: the share of the runs where "
        "the bloc held that fall inside the box; <b>density</b>: the share of the runs inside "
        "the box where it held; <b>mass</b>: the share of all runs inside. Peeling trades "
        "coverage for density; the box shown is the one of highest coverage with a density of "
        f"at least {res.density_target:.0%}"
        + ("" if res.reached else " (no box reaches it: the densest is shown)")
        + ".</p>"
    )
    out.append(f"<figure>{_prim_figure(res)}</figure>")
    out.append(
        f"<p>The box: coverage {res.coverage:.0%}, density {res.density:.0%}, mass "
        f"{res.mass:.0%}: {res.n_in_box} of the {res.n} runs are inside, and the bloc held in "
        f"{round(res.density * res.n_in_box)} of them, out of the {res.n_interest} runs where it "
        "held.</p>"
    )
    if res.limits.empty:
        out.append("<p>It restricts no parameter.</p>")
        return "".join(out)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{esc(c)}</td>"
            for c in (r.parameter, *_prim_limit(r), _qp(r.qp_low), _qp(r.qp_high))
        )
        + "</tr>"
        for r in res.limits.itertuples()
    )
    out.append(
        "<table><tr><th>parameter</th><th>in the box</th><th>over all runs</th>"
        "<th>quasi-p, lower side</th><th>quasi-p, upper side</th></tr>"
        f"{body}</table>"
    )
    free = [p for p in paths if p not in set(res.limits["parameter"])]
    out.append(
        "<p>Any value of the parameters not listed"
        + (f" ({esc(', '.join(free))})" if free else "")
        + ". The quasi-p-value of a restricted side (EMA Workbench's, after Bryant and "
        "Lempert 2010) is a one-sided binomial test: the chance of the box's density, or more, "
        "among the runs of the box with that side's restriction dropped. Above 0.05, read that "
        "side as not restricted.</p>"
    )
    return "".join(out)


def _unit(meta: dict[str, Any], table: str, column: str) -> str:
    """A column's unit from the sweep's metadata, as " (unit)", or ""."""
    unit = ((meta.get("columns") or {}).get(table) or {}).get(column, {}).get("unit")
    return f" ({unit})" if unit else ""


#: The outcome feature scoring adds to the metrics: the share of a point's runs that held.
HOLDS = "bloc holds (share of runs)"


def feature_table(
    ok: pd.DataFrame, points: dict[str, pd.DataFrame], chosen: Sequence[str],
    paths: Sequence[str], root_seed: int,
) -> tuple[dict[str, st.FeatureScores], dict[str, str]]:  # fmt: skip
    """Feature scores of each chosen metric (on the design points' means) and of the share of
    each point's runs where the bloc held (when final_size and first_fracture are metrics),
    each seeded from the root seed and the outcome's name; and why an outcome has none."""
    scores: dict[str, st.FeatureScores] = {}
    why: dict[str, str] = {}
    first = points[chosen[0]]
    x = first[list(paths)]
    outcomes = {m: points[m]["mean"].reindex(first.index) for m in chosen}
    if "final_size" in ok.columns and "first_fracture" in ok.columns:
        share = st.holds(ok).astype(float).groupby(ok["point"]).mean()
        outcomes[HOLDS] = share.reindex(first.index)
    for name, y in outcomes.items():
        res = st.feature_scores(x, y.to_numpy(dtype=float),
                                seed=st.stream_seed(root_seed, name, "feature_scores"))  # fmt: skip
        if isinstance(res, str):
            why[name] = res
        else:
            scores[name] = res
    return scores, why


def _feature_figure(scores: dict[str, st.FeatureScores], paths: Sequence[str]) -> str:
    names = list(scores)
    grid = np.array([[scores[m].scores.get(p, 0.0) for m in names] for p in paths])
    fig = _figure(max(4.8, 1.1 * len(names) + 3.2), max(2.6, 0.5 * len(paths) + 1.6))
    ax = fig.add_subplot()
    im = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0.0, vmax=max(float(grid.max()), 0.5))
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(paths)), list(paths))
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                color="black" if v > 0.5 * grid.max() else "white")  # fmt: skip
    fig.colorbar(im, ax=ax, label="feature score (each column sums to 1)")
    ax.set_title("Which inputs matter most (extra-trees feature scores)")
    return _svg(fig)


def _feature_section(
    scores: dict[str, st.FeatureScores], why: dict[str, str], paths: Sequence[str],
    ok: pd.DataFrame, meta: dict[str, Any],
) -> str:  # fmt: skip
    out = ["<h2>Which inputs matter most (feature scoring)</h2>"]
    if len(paths) < 2:
        out.append(
            "<p>Feature scoring ranks parameters against each other; this sweep varies "
            f"{'one' if paths else 'none'}.</p>"
        )
        return "".join(out)
    k = len(paths)
    out.append(
        "<p>For each outcome, an extra-trees forest (<code>ema_workbench.analysis."
        "feature_scoring.get_ex_feature_scores</code>, regression, EMA Workbench's defaults: "
        f"{st.FEATURE_TREES} trees grown on bootstrap samples, a third of the parameters tried at "
        "each split) predicts the outcome from the parameters; a parameter's <b>score</b> is "
        "the share of the forest's reduction of the outcome's variance made by splits on it. "
        "Scores of an outcome sum to 1: with "
        f"{k} parameters, {1 / k:.2f} each is what they would get if none mattered more than "
        "another. They rank parameters, main effects and interactions together, linear or not; "
        "they say neither the direction nor the size of an effect (the main effects do). Each "
        "design point is a case, with its mean over its replications (each point counted "
        "once); the bloc holds as in the section below, here the share of the point's runs in "
        "which it held. The <b>out-of-bag R²</b> is how much of the outcome's variance across "
        "design points the trees predict for the points left out of their bootstrap sample: "
        "near 0, or below, the trees predict nothing and the scores rank noise. Each forest is "
        "seeded from the root seed and the outcome's name, so the page is reproducible.</p>"
    )
    if scores:
        names = list(scores)
        out.append(f"<figure>{_feature_figure(scores, paths)}</figure>")
        head = "".join(f"<th>{esc(p)}</th>" for p in paths)
        rows = []
        for m in names:
            res = scores[m]
            cells = "".join(
                f"<td><b>{v:.3f}</b></td>" if p == res.scores.index[0] else f"<td>{v:.3f}</td>"
                for p, v in ((p, float(res.scores.get(p, 0.0))) for p in paths)
            )
            rows.append(
                f"<tr><td>{esc(m)}</td>{cells}<td>{res.oob_r2:.2f}</td>"
                f"<td>{res.n} ({_runs_behind(ok, m)})</td></tr>"
            )
        out.append(
            f"<table><tr><th>outcome</th>{head}<th>out-of-bag R²</th>"
            f"<th>design points (runs)</th></tr>{''.join(rows)}</table>"
            "<p>In bold, each outcome's highest score.</p>"
        )
        weak = [m for m in names if not scores[m].oob_r2 > 0.5]
        if weak:
            out.append(
                f"<p>Out-of-bag R² of 0.5 or less ({esc(', '.join(weak))}): the parameters "
                "predict little of the outcome across design points (too few points, effects "
                "smaller than the replications' noise, or an outcome nearly constant); read "
                "those scores with care.</p>"
            )
    for m, reason in why.items():
        out.append(f"<p>{esc(m)}: {esc(reason)}{esc(_empty_reason(meta, m))}.</p>")
    return "".join(out)


def _runs_behind(ok: pd.DataFrame, outcome: str) -> int:
    """Runs behind an outcome's design points: those with a value (every run, for HOLDS)."""
    return len(ok) if outcome not in ok.columns else int(ok[outcome].notna().sum())


def grouping(
    metric: str | None, scores: dict[str, st.FeatureScores], paths: Sequence[str],
    chosen: str | None,
) -> tuple[str | None, str]:  # fmt: skip
    """The parameter a metric's distribution and envelope are grouped by, and why: the one
    asked for (--group or the spec's [report] group), else the metric's highest feature score,
    else (a per-round series of no metric shown) the highest mean score over the outcomes
    scored, else the first parameter."""
    if chosen:
        return chosen, "as asked"
    if metric in scores:
        return str(scores[metric].scores.index[0]), f"{metric}'s highest feature score"
    if metric is None and scores:
        mean = pd.concat([s.scores for s in scores.values()], axis=1).fillna(0).mean(axis=1)
        top = mean.sort_values(ascending=False, kind="stable").index[0]
        return str(top), "the highest mean feature score over the outcomes"
    if paths:
        return paths[0], "the first parameter, for want of feature scores"
    return None, "no parameter"


def _bins(x: np.ndarray) -> Any:
    """Histogram bins: one per whole number for integer values spanning at most 40, else
    NumPy's "auto" bins, at most 40."""
    lo, hi = float(x.min()), float(x.max())
    if np.all(x == np.round(x)) and hi - lo <= 40:
        return np.arange(lo - 0.5, hi + 1.5)
    edges = np.histogram_bin_edges(x, "auto")
    return edges if len(edges) <= 41 else 40


def _distribution_figure(ok: pd.DataFrame, metric: str, by: pd.DataFrame, param: str | None,
                         unit: str) -> str:  # fmt: skip
    x = ok[metric].astype(float).to_numpy()
    x = x[np.isfinite(x)]
    fig = _figure(9.0, 3.2)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.4])
    bins = _bins(x)
    left.hist(x, bins=bins, color="C0", edgecolor="white")
    if not isinstance(bins, int) and len(bins) <= 16 and bins[0] % 1 == 0.5:  # whole numbers
        left.set_xticks(np.arange(bins[0] + 0.5, bins[-1]))
    left.set_xlabel(metric + unit)
    left.set_ylabel("runs")
    left.set_title(f"all {len(x)} runs with a value")
    stats = [
        {
            "med": r.median,
            "q1": r.q1,
            "q3": r.q3,
            "whislo": r.low,
            "whishi": r.high,
            "mean": r.mean,
            "fliers": [],
            "label": f"{r.label}\n(n={r.n})",
        }  # fmt: skip
        for r in by.itertuples()
        if r.n > 0
    ]
    if stats:
        right.bxp(stats, showfliers=False, showmeans=True)
        if len(stats) > 4:
            right.tick_params(axis="x", labelsize=7)
            plt_labels = right.get_xticklabels()
            right.set_xticks(right.get_xticks(), plt_labels, rotation=30, ha="right")
        else:
            right.tick_params(axis="x", labelsize=8)
    right.set_xlabel(param or "")
    right.set_ylabel(metric + unit)
    right.set_title("by level: box 25-75 %, whiskers 5-95 %, line median, triangle mean",
                    fontsize=9)  # fmt: skip
    return _svg(fig)


def _distribution_section(
    ok: pd.DataFrame, chosen: Sequence[str], scores: dict[str, st.FeatureScores],
    paths: Sequence[str], asked: str | None, meta: dict[str, Any],
) -> str:  # fmt: skip
    out = [
        "<h2>Distributions across runs</h2>",
        "<p>Each metric over the successful runs with a value, every run counted (identical "
        "replications count as many times as they ran): a histogram of them all, and box "
        "plots by level of one parameter (up to "
        f"{st.MAX_LEVELS} levels; more distinct values are cut into {st.BINS} quantile bins of "
        "runs, labelled by their range). A box spans the 25 % and 75 % quantiles, the line is the "
        "median, the triangle the mean, the whiskers the 5 % and 95 % quantiles (NumPy's "
        "linear interpolation); runs beyond the whiskers are not drawn. The parameter is the "
        "metric's most influential by feature score, unless <code>--group</code> (or the "
        "spec's <code>[report] group</code>) names one. The spread at a level is the spread "
        "over the other parameters' values and the replications together.</p>",
    ]
    for m in chosen:
        x = ok[m].astype(float)
        n = int(x.notna().sum())
        if n == 0:
            out.append(f"<h3>{esc(m)}</h3><p>No value in any run{esc(_empty_reason(meta, m))}.</p>")
            continue
        if x.min() == x.max():
            left = (
                f" ({len(ok) - n} without a value{_empty_reason(meta, m)})" if n < len(ok) else ""
            )
            out.append(
                f"<h3>{esc(m)}</h3><p>{esc(_fmt(float(x.min())))} in every one of the {n} runs "
                f"with a value{esc(left)}: nothing to draw.</p>"
            )
            continue
        param, reason = grouping(m, scores, paths, asked)
        if param is None:
            by = st.distribution(ok, m)
        else:
            group, order, labels = st.run_groups(ok[param], st.MAX_LEVELS, st.BINS)
            by = st.distribution(ok, m, group, order, labels)
        overall = st.distribution(ok, m).iloc[0]
        unit = _unit(meta, "runs", m)
        out.append(f"<h3>{esc(m)}</h3>")
        out.append(f"<figure>{_distribution_figure(ok, m, by, param, unit)}</figure>")
        text = (
            f"{m}{unit}: median {_fmt(overall['median'])}, 5-95 % of runs between "
            f"{_fmt(overall['low'])} and {_fmt(overall['high'])}, mean {_fmt(overall['mean'])}, "
            f"over {n} runs"
        )
        if n < len(ok):
            text += f"; {len(ok) - n} without a value left out{_empty_reason(meta, m)}"
        text += f". By {param}: {reason}." if param else "."
        rows = "".join(
            f"<tr><td>{esc(r.label)}</td><td>{r.n}</td><td>{_fmt(r.low)}</td>"
            f"<td>{_fmt(r.q1)}</td><td>{_fmt(r.median)}</td><td>{_fmt(r.q3)}</td>"
            f"<td>{_fmt(r.high)}</td><td>{_fmt(r.mean)}</td></tr>"
            for r in by.itertuples()
        )
        out.append(
            f"<p>{esc(text)}</p><details><summary>the numbers</summary><table><tr>"
            f"<th>{esc(param or '')}</th><th>runs</th><th>5 %</th><th>25 %</th><th>median</th>"
            f"<th>75 %</th><th>95 %</th><th>mean</th></tr>{rows}</table></details>"
        )
    return "".join(out)


def envelope_series(
    meta: dict[str, Any], chosen: Sequence[str], rounds: pd.DataFrame, asked: Sequence[str]
) -> list[tuple[str, str | None]]:
    """The per-round series drawn as envelopes: (rounds column, the metric it is behind, or
    None), the chosen metrics' own columns first (a metric's statistic over rounds: last
    value, mean, min, max or sum; not first_fracture nor custom metrics), then those asked
    for (--series or the spec's [report] series)."""
    numeric = {c for c in rounds.columns if c not in ("run_id", "round")
               and pd.api.types.is_numeric_dtype(rounds[c])}  # fmt: skip
    out: dict[str, str | None] = {}
    by_name = {m["name"]: m for m in meta["metrics"]}
    for m in chosen:
        entry = by_name.get(m, {})
        col = entry.get("column")
        if entry.get("stat") in ("final", "mean", "min", "max", "sum") and col in numeric:
            out.setdefault(col, m)
    for c in asked:
        out.setdefault(c, None)
    return list(out.items())


def _envelope_figure(env: pd.DataFrame, column: str, param: str | None, unit: str) -> str:
    fig = _figure(7.0, 3.3)
    ax = fig.add_subplot()
    for k, (_, sub) in enumerate(env.groupby("level", sort=False)):
        label = sub["label"].iloc[0]
        name = f"{param} = {label}" if param else label
        color = f"C{k}"
        ax.fill_between(sub["round"], sub["low"], sub["high"], color=color, alpha=0.18,
                        linewidth=0)  # fmt: skip
        # a marker and a dash pattern each, so coinciding medians stay apart (and in grey)
        ax.plot(sub["round"], sub["median"], color=color, marker="osD^"[k % 4], markersize=4,
                linestyle=["-", "--", ":", "-."][k % 4], markerfacecolor="none",
                label=f"{name} ({int(sub['n'].max())} runs)")  # fmt: skip
    ax.set_xlabel("round")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel(column + unit)
    ax.set_title(f"{column}: median and 5-95 % of runs, round by round")
    ax.legend(fontsize=8)
    return _svg(fig)


def _envelope_section(
    ok: pd.DataFrame, rounds: pd.DataFrame | None, chosen: Sequence[str],
    scores: dict[str, st.FeatureScores], paths: Sequence[str], asked_group: str | None,
    asked_series: Sequence[str], meta: dict[str, Any],
) -> str:  # fmt: skip
    out = ["<h2>Over the rounds (envelopes)</h2>"]
    if rounds is None or rounds.empty:
        out.append(
            "<p>Envelopes of the per-round series need the rounds table: a sweep whose spec "
            'has <code>collect = "every_round"</code> (or <code>tables = ["rounds"]</code>). '
            "This one has none.</p>"
        )
        return "".join(out)
    series = envelope_series(meta, chosen, rounds, asked_series)
    out.append(
        "<p>For each per-round series behind a metric shown (its rounds column: "
        "n_members behind final_size, fiscal_cost behind mean_fiscal_cost, ...) and each one "
        "asked for with <code>--series</code> (or the spec's <code>[report] series</code>): "
        "round by round, the median over the successful runs (line) and the band from the 5 % "
        "to the 95 % quantile of the runs (shaded; NumPy's linear interpolation), every run "
        "counted. Round 0 is the opening position. Runs are grouped by one parameter, the "
        "series' metric's most influential by feature score unless <code>--group</code> (or "
        f"<code>[report] group</code>) names one, into at most {st.ENVELOPE_GROUPS} groups "
        "(more distinct values: quantile bins of runs, labelled by their range). A band "
        "covers the other parameters' values and the replications together.</p>"
    )
    if not series:
        out.append("<p>No metric shown is a statistic of a numeric rounds column.</p>")
        return "".join(out)
    ids = ok.set_index("run_id")
    for column, metric in series:
        param, reason = grouping(metric, scores, paths, asked_group)
        if param is None:
            env = st.envelope(rounds[rounds["run_id"].isin(ids.index)], column)
        else:
            group, order, labels = st.run_groups(ids[param], st.ENVELOPE_GROUPS)
            env = st.envelope(rounds, column, group, order, labels)
        if env.empty:
            out.append(f"<h3>{esc(column)}</h3><p>No value in any round.</p>")
            continue
        if float(env["high"].max()) == float(env["low"].min()):
            out.append(
                f"<h3>{esc(column)}</h3><p>{esc(_fmt(float(env['low'].min())))} in every run "
                "and round: nothing to draw.</p>"
            )
            continue
        unit = _unit(meta, "rounds", column)
        out.append(f"<h3>{esc(column)}</h3>")
        out.append(f"<figure>{_envelope_figure(env, column, param, unit)}</figure>")
        behind = f"behind {metric}" if metric else "asked for"
        n = env.groupby("round")["n"].sum()
        text = (
            f"{column}{unit} ({behind}), rounds {int(env['round'].min())} to "
            f"{int(env['round'].max())}, {_span(n)} runs a round"
        )
        text += f"; grouped by {param}: {reason}." if param else "."
        out.append(f"<p>{esc(text)}</p>")
    return "".join(out)


def _cart_figure(res: st.CartResult) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from sklearn.tree import plot_tree

    leaves = len(res.leaves)
    fig = _figure(max(6.0, 1.8 * leaves + 1.0), 1.4 * (res.tree.get_depth() + 1) + 0.6)
    FigureCanvasAgg(fig)  # plot_tree measures its boxes' text with a renderer
    ax = fig.add_subplot()
    names = [f"[{n.replace('!?!', ' = ')}]" if "!?!" in n else n for n in res.feature_names]
    plot_tree(res.tree, ax=ax, feature_names=names, class_names=["did not hold", "held"],
              filled=True, impurity=False, rounded=True, node_ids=True, fontsize=8)  # fmt: skip
    return _svg(fig)


def _cart_section(ok: pd.DataFrame, paths: Sequence[str], root_seed: int) -> str:
    if any(m not in ok.columns for m in ("final_size", "first_fracture")) or ok.empty:
        return ""
    if not paths:
        return ""
    out = ["<h3>A classification tree (CART)</h3>"]
    held = st.holds(ok).to_numpy()
    res = st.cart_tree(ok[list(paths)].reset_index(drop=True), held,
                       seed=st.stream_seed(root_seed, "holds", "cart"),
                       groups=ok["point"].to_numpy())  # fmt: skip
    if isinstance(res, str):
        out.append(f"<p>No tree: {esc(res)}.</p>")
        return "".join(out)
    out.append(
        "<p>Where PRIM gives one box, a classification tree splits all the runs into leaves, "
        "each a box of parameter values, by whether the bloc held: grown as "
        "<code>ema_workbench.analysis.cart</code> grows it (scikit-learn's CART, every leaf "
        f"at least {res.mass_min:.0%} of the runs, a category tested as "
        "<code>[parameter = value]</code>, 1 for yes: &le; 0.5 means another value), at most "
        f"{res.max_depth} splits deep so that it reads, and seeded (scikit-learn draws the "
        "order in which it tries parameters), so the page is reproducible. Each run is a "
        "case. In the figure, the left branch of a node is where its test is true; a node "
        "shows its number (#), its runs, and how many of them did not hold and held.</p>"
    )
    out.append(f"<figure>{_cart_figure(res)}</figure>")
    rows = "".join(
        f"<tr><td>#{r.leaf}</td><td>{esc(r.rule)}</td><td>{r.runs}</td><td>{r.interest}</td>"
        f"<td>{r.density:.0%}</td><td>{r.coverage:.0%}</td><td>{r.mass:.0%}</td></tr>"
        for r in res.leaves.itertuples()
    )
    out.append(
        "<table><tr><th>leaf</th><th>where</th><th>runs</th><th>held</th><th>density</th>"
        f"<th>coverage</th><th>mass</th></tr>{rows}</table>"
    )
    cv = (
        f"{res.cv_accuracy:.0%} on the runs of design points held out ({res.folds}-fold "
        "cross-validation by design point: a point's replications never on both sides)"
        if math.isfinite(res.cv_accuracy)
        else "not cross-validated (fewer than two design points)"
    )
    out.append(
        f"<p>Rests on {res.n} runs ({int(ok['point'].nunique())} design points); the bloc held "
        f"in {res.n_interest}. Leaves are sorted by density (the share of their runs that "
        "held); coverage is their share of all the runs that held, mass their share of all "
        f"runs. The tree classifies {res.accuracy:.0%} of the runs right on the runs it was "
        f"grown on, {cv}; always guessing the commoner outcome gets {res.base_rate:.0%}. "
        "Where the held-out accuracy is no better than that, the splits describe these runs, "
        "not a rule.</p>"
    )
    return "".join(out)


def _coalitions_section(ok: pd.DataFrame, paths: Sequence[str]) -> str:
    out = ["<h2>Coalitions that formed</h2>"]
    if "final_members" not in ok.columns:
        out.append("<p>Add final_members to the spec's metrics to see which coalitions formed.</p>")
        return "".join(out)
    if ok.empty:
        return ""
    table = st.coalitions(ok)
    rows = "".join(
        f"<tr><td>{esc(r.coalition)}</td><td>{r.size}</td><td>{r.runs}</td>"
        f"<td>{100 * r.share:.1f} %</td><td>{r.points}</td></tr>"
        for r in table.head(MAX_COALITIONS).itertuples()
    )
    more = (
        f"<p>... and {len(table) - MAX_COALITIONS} more memberships.</p>"
        if len(table) > MAX_COALITIONS
        else ""
    )
    out.append(
        f"<p>The members in the last round of each of the {len(ok)} successful runs "
        f"(the final_members metric): {len(table)} distinct memberships.</p>"
        "<table><tr><th>final members</th><th>size</th><th>runs</th><th>share of runs</th>"
        f"<th>design points where it formed</th></tr>{rows}</table>{more}"
    )
    shares = st.membership_shares(ok)
    if len(shares):
        cells = "".join(
            f"<tr><td>{esc(a)}</td><td>{100 * v:.1f} %</td></tr>" for a, v in shares.items()
        )
        out.append(
            "<table><tr><th>actor</th><th>share of runs it ends in the bloc</th></tr>"
            f"{cells}</table>"
        )
    by_point = st.coalitions_by_point(ok)
    first = ok.groupby("point").first()
    head = "".join(f"<th>{esc(h)}</th>" for h in ["point", *paths, "runs"])
    head += "<th>most frequent final members</th><th>its share</th><th>distinct</th>"
    body = []
    for r in by_point.head(MAX_POINT_ROWS).itertuples():
        cells = [str(r.point), *(_fmt(first.at[r.point, p]) for p in paths), str(r.runs),
                 r.coalition, f"{100 * r.share:.0f} %", str(r.distinct)]  # fmt: skip
        body.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    more = (
        f"<p>... and {len(by_point) - MAX_POINT_ROWS} more design points "
        "(`negotiation.experiments.sweep_stats.coalitions_by_point` gives them all).</p>"
        if len(by_point) > MAX_POINT_ROWS
        else ""
    )
    out.append(f"<h3>By design point</h3><table><tr>{head}</tr>{''.join(body)}</table>{more}")
    return "".join(out)


def render_report(
    runs: pd.DataFrame,
    meta: dict[str, Any],
    metrics: Sequence[str] = (),
    *,
    heatmap: Sequence[str] | None = None,
    per_mineral: int | None = None,
    rounds: pd.DataFrame | None = None,
    group: str | None = None,
    series: Sequence[str] = (),
) -> str:
    """The report's HTML page from a sweep's runs table and metadata (as `load` returns them).

    metrics: the metrics to plot (default: `default_metrics`). heatmap: its two parameters
    (default: the spec's `[report] heatmap`, else the first two). per_mineral: how many
    per-mineral columns to add to the default metrics (default: the spec's `[report]
    per_mineral`, else PER_MINERAL). rounds: the rounds table, for the envelopes (None or
    empty: none drawn). group: the parameter that distributions and envelopes are grouped by
    (default: the spec's `[report] group`, else each metric's highest feature score).
    series: rounds columns drawn as envelopes besides the metrics' own (default: the spec's
    `[report] series`)."""
    numeric = _numeric_metrics(meta)
    runs = runs.copy()
    for m in numeric:  # nullable integers (first_fracture) as floats with NaN for the figures
        if runs[m].dtype == "Int64":
            runs[m] = runs[m].astype("float64")
    ok = runs[runs["status"] == "ok"]
    params = meta["design"]["parameters"]
    paths = [p["path"] for p in params]
    axes, axes_source = _heatmap_axes(heatmap, meta, paths) if len(paths) >= 2 else ([], "")
    if per_mineral is None:
        per_mineral = int((meta.get("report") or {}).get("per_mineral", PER_MINERAL))
    if metrics:
        chosen = _choose(metrics, numeric, "numeric metrics")
    else:
        chosen = default_metrics(ok, meta, per_mineral) if not ok.empty else numeric
    failed = runs[runs["status"] != "ok"]
    design = meta["design"]
    root_seed = int(meta["root_seed"])
    group, series = _group_and_series(group, series, meta, paths, rounds)

    parts: list[str] = []
    facts = [
        ("scenario", f"{meta['scenario']['name']} ({meta['scenario']['path']})"),
        (
            "design",
            f"{design['kind']}, {design['n_points']} points x {design['replications']} "
            f"replications = {design['n_runs']} runs",
        ),
        ("runs done", f"{len(runs)} of {design['n_runs']}: {len(ok)} ok, {len(failed)} failed"),
        ("root seed", str(meta["root_seed"])),
        ("parameters", ", ".join(paths) or "none"),
        ("started / ended", f"{meta['started']} / {meta['ended'] or '(not finished)'}"),
        ("git", json.dumps(meta.get("git"))),
        ("versions", ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)),
    ]
    parts.append(
        "<table class='facts'>"
        + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
        + "</table>"
    )

    if ok.empty or not chosen:
        parts.append("<p>No successful run with a numeric metric: nothing to plot.</p>")
    else:
        points = {m: st.point_stats(ok, m, paths) for m in chosen}
        parts.append("<h2>Replications and design points</h2>")
        parts.append(_replication_summary(ok, chosen, design))
        parts.append(
            "<p>Each design point's metric is the mean over its replications, with a 95 % t "
            "interval of that mean (mean ± t<sub>0.975, n−1</sub>·sd/√n over its n runs with a "
            "value); a point with one run, or with identical runs, has no interval and says "
            "so.</p>"
        )
        parts.append("<ul>" + "".join(
            f"<li>{esc(_metric_counts(ok, m, meta))}</li>" for m in chosen
        ) + "</ul>")  # fmt: skip
        parts.append(_points_table(points, paths))

        parts.append("<h2>Heatmap</h2>")
        if len(params) >= 2:
            x, y = axes
            m0 = chosen[0]
            cells = heatmap_cells(points[m0], x, y)
            parts.append(f"<figure>{_heatmap(points[m0], m0, x, y)}</figure>")
            parts.append(
                f"<p>{esc(m0)} over {esc(x)} (x) and {esc(y)} (y): {esc(axes_source)}. Each "
                "cell: the mean of the means of the design points in it (each point counted "
                f"once). {esc(blank_cells_text(cells, m0, _empty_reason(meta, m0)))}</p>"
            )
        else:
            parts.append("<p>A heatmap needs two parameters; this sweep varies fewer.</p>")
        if params:
            parts.append("<h2>Main effects</h2>")
            parts.append(
                "<p>At each level of a parameter (or quantile bin, labelled by its mean): the "
                "mean of the means of the design points there, each point counted once however "
                "many replications it had, and a 95 % percentile bootstrap interval from "
                f"{st.BOOTSTRAP_RESAMPLES} resamples of those design points (seeded from the "
                "root seed, the metric and the parameter, so the page is reproducible). For a "
                "grid the interval shows how much the level's mean depends on the other "
                "parameters' values; for a random design (Latin hypercube, Sobol) it is the "
                "sampling uncertainty of the mean over them. Replications enter only through "
                "their point's mean.</p>"
            )
            for m in chosen:
                if not ok[m].notna().any():
                    parts.append(f"<p>{esc(m)}: no value in any run (nothing to plot).</p>")
                    continue
                effects = {
                    p: st.main_effects(points[m], p, seed=st.stream_seed(root_seed, m, p))
                    for p in paths
                }
                parts.append(f"<h3>{esc(m)}</h3>")
                parts.append(f"<p>{esc(_metric_counts(ok, m, meta))}</p>")
                parts.append(f"<figure>{_main_effects_figure(effects, m, params)}</figure>")
                parts.append(_main_effects_table(effects))
        if design["kind"] == "sobol":
            parts.append("<h2>Sobol indices</h2>")
            order = (
                "First-order, second-order and total"
                if design["second_order"]
                else "First-order and total"
            )
            parts.append(
                f"<p>{order} indices from SALib.analyze.sobol on the Saltelli layout the design "
                "was drawn in, each design point's metric being its mean over its replications; "
                f"± is SALib's 95 % bootstrap interval ({st.SOBOL_RESAMPLES} resamples, seeded "
                "from the root seed and the metric).</p>"
            )
            for m in chosen:
                means = points[m]["mean"]
                res = st.sobol_indices(means, design, seed=st.stream_seed(root_seed, m, "sobol"))
                if isinstance(res, str) and points[m]["n"].lt(points[m]["runs"]).any():
                    res += _empty_reason(meta, m)
                parts.append(_sobol_section(res, m, points[m]["n"]))
                if isinstance(res, str):
                    continue
                curve = st.sobol_convergence(
                    means, design, seed=st.stream_seed(root_seed, m, "sobol")
                )
                if isinstance(curve, str):
                    parts.append(f"<p>Convergence: {esc(curve)}.</p>")
                    continue
                bases = sorted(curve["base"].unique())
                parts.append(
                    f"<figure>{_convergence_figure(curve, m)}</figure><p>Convergence: the "
                    f"indices of {esc(m)} from the first N x (D + 2) design points "
                    f"({'N x (2D + 2) with second order; ' if design['second_order'] else ''}"
                    "SALib's layout of base N is the start of the layout of base 2N), for N = "
                    f"{', '.join(str(int(b)) for b in bases)}, each with SALib's 95 % "
                    "interval. Indices that still move as N doubles, or intervals that "
                    "overlap those of other parameters, are not settled: a larger base (resume "
                    "with size doubled) runs only the new points.</p>"
                )

        if design["kind"] == "morris":
            parts.append("<h2>Morris screening</h2>")
            parts.append(
                "<p>Elementary effects from SALib.analyze.morris on the Morris trajectories the "
                "design was drawn in, each design point's metric being its mean over its "
                "replications. Each step of a trajectory moves one parameter by "
                f"{design['levels'] // 2} of the {design['levels']} grid levels; its elementary "
                "effect is the change of the metric divided by that step as a share of the "
                "parameter's range, so it is in the metric's units per whole range of the "
                "parameter (of its logarithm, for a log_uniform one). <b>mu*</b> is the mean of "
                "their absolute values (how much the parameter matters), <b>mu</b> their mean "
                "(mu* well above |mu|: effects of both signs), <b>sigma</b> their standard "
                "deviation (large against mu*: the effect depends on the other parameters, or "
                "is not linear). ± is SALib's 95 % bootstrap interval of mu* "
                f"({st.SOBOL_RESAMPLES} resamples, seeded from the root seed and the metric). "
                "Morris screens: it ranks parameters cheaply; it does not apportion variance as "
                "Sobol indices do.</p>"
            )
            for m in chosen:
                res = st.morris_indices(
                    points[m]["mean"], design, seed=st.stream_seed(root_seed, m, "morris")
                )
                if isinstance(res, str) and points[m]["n"].lt(points[m]["runs"]).any():
                    res += _empty_reason(meta, m)
                parts.append(_morris_section(res, m, points[m]["n"]))

        if design["kind"] == "lhs" and params:
            parts.append(_sensitivity_section(ok, points, chosen, params, meta))
        scores, why = feature_table(ok, points, chosen, paths, root_seed) if paths else ({}, {})
        parts.append(_feature_section(scores, why, paths, ok, meta))
        parts.append(_distribution_section(ok, chosen, scores, paths, group, meta))
        parts.append(_envelope_section(ok, rounds, chosen, scores, paths, group, series, meta))
    parts.append(_prim_section(ok, paths))
    parts.append(_cart_section(ok, paths, root_seed))
    parts.append(_coalitions_section(ok, paths))

    parts.append("<h2>Failed runs</h2>")
    if failed.empty:
        parts.append("<p>None.</p>")
    else:
        rows = "".join(
            f"<tr><td>{int(r.run_id)}</td><td>{esc(str(r.error))}</td></tr>"
            for r in failed.head(50).itertuples()
        )
        more = f"<p>... and {len(failed) - 50} more.</p>" if len(failed) > 50 else ""
        parts.append(f"<table><tr><th>run</th><th>error</th></tr>{rows}</table>{more}")
    parts.append(f"<h2>Spec</h2><pre>{esc(meta['spec_text'])}</pre>")

    title = meta.get("title") or Path(meta["spec_path"]).stem
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(title)}: sweep report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }}
figure {{ margin: 1em 0; }} figure svg {{ max-width: 100%; height: auto; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style></head>
<body>
<h1>{esc(title)}</h1>
{"".join(parts)}
</body></html>
"""


def write_report(
    sweep_dir: str | Path,
    out_file: str | Path | None = None,
    *,
    metrics: Sequence[str] = (),
    heatmap: Sequence[str] | None = None,
    per_mineral: int | None = None,
    group: str | None = None,
    series: Sequence[str] = (),
) -> Path:
    """Write the report of the sweep in `sweep_dir` (default file: sweep_dir/report.html)."""
    sweep_dir = Path(sweep_dir)
    runs, rounds, meta = load(sweep_dir)
    page = render_report(runs, meta, metrics, heatmap=heatmap, per_mineral=per_mineral,
                         rounds=rounds, group=group, series=series)  # fmt: skip
    path = Path(out_file) if out_file is not None else sweep_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path

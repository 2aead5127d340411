"""`bloc sweep report DIR`: one static HTML page of a sweep, its charts embedded as inline SVG.

The page shows what ran (spec, design, seeds, versions, successes and failures), a heatmap of a
metric over two parameters, the main effect of every parameter on each metric (the mean over all
other parameters and replications, with a 95 % interval), and, for a Sobol design, first-order and
total Sobol indices from `SALib.analyze.sobol` (the design was drawn in SALib's Saltelli layout;
the metric of a design point is its mean over replications). Parameters with many distinct values
(Latin hypercube, Sobol) are grouped into quantile bins. It needs no internet to display.
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

from negotiation.scenario import _did_you_mean
from negotiation.sweep import load
from negotiation.sweep_spec import SpecError

#: Parameters with more distinct values than this are binned (into BINS quantile bins).
MAX_LEVELS = 12
BINS = 8
DEFAULT_METRICS = 6


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


def _groups(values: pd.Series, bins: int = BINS) -> tuple[pd.Series, list[Any], list[str], bool]:
    """Group a parameter's values: (group of each row, group order, labels, numeric axis)."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    uniq = pd.unique(values.dropna())
    if not numeric or len(uniq) <= MAX_LEVELS:
        order = sorted(uniq, key=lambda v: (str(type(v)), v))
        labels = [_fmt(v) for v in order]
        return values, order, labels, numeric
    cut = pd.qcut(values, q=bins, duplicates="drop")
    centers = values.groupby(cut, observed=True).mean()
    group = cut.map(dict(zip(centers.index, centers.values))).astype(float)
    order = list(centers.values)
    return group, order, [_fmt(v) for v in order], True


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3g}"
    return str(v)


def _numeric_metrics(meta: dict[str, Any]) -> list[str]:
    return [m["name"] for m in meta["metrics"] if m["dtype"] in ("int64", "float64", "bool")]


def _heatmap(ok: pd.DataFrame, metric: str, x: str, y: str) -> str:
    # Enough runs per cell: about 3 design points a cell when parameters are binned.
    n_bins = int(np.clip(math.sqrt(ok["point"].nunique() / 3), 2, BINS))
    gx, ox, lx, _ = _groups(ok[x], n_bins)
    gy, oy, ly, _ = _groups(ok[y], n_bins)
    values = ok[metric].astype(float)
    table = values.groupby([gy, gx]).mean().unstack()
    grid = table.reindex(index=oy, columns=ox).to_numpy(dtype=float)
    fig = _figure(max(4.5, 0.6 * len(ox) + 2.5), max(3.2, 0.45 * len(oy) + 1.8))
    ax = fig.add_subplot()
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(lx)), lx, rotation=45 if len(lx) > 6 else 0)
    ax.set_yticks(range(len(ly)), ly)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{metric}: mean over replications and other parameters")
    fig.colorbar(im, ax=ax, label=metric)
    if grid.size <= 100:
        finite = grid[np.isfinite(grid)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(j, i, _fmt(float(v)), ha="center", va="center", fontsize=8,
                        color="black" if v > mid else "white")  # fmt: skip
    return _svg(fig)


def _main_effects(ok: pd.DataFrame, metric: str, params: Sequence[dict[str, Any]]) -> str:
    cols = min(len(params), 4)
    rows = math.ceil(len(params) / cols)
    fig = _figure(3.4 * cols, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    values = ok[metric].astype(float)
    for k, p in enumerate(params):
        ax = axes[k // cols][k % cols]
        group, order, labels, numeric = _groups(ok[p["path"]])
        stats = values.groupby(group).agg(["mean", "std", "count"]).reindex(order)
        half = 1.96 * stats["std"].fillna(0) / np.sqrt(stats["count"].clip(lower=1))
        xs = np.asarray(order, dtype=float) if numeric else np.arange(len(order))
        ax.errorbar(xs, stats["mean"], yerr=half, marker="o", capsize=3,
                    linestyle="-" if numeric else "none")  # fmt: skip
        if numeric and p.get("log"):
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(xs, labels, rotation=30)
        ax.set_xlabel(p["path"])
        if k % cols == 0:
            ax.set_ylabel(metric)
    for k in range(len(params), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    fig.suptitle(f"Main effects on {metric} (mean and 95 % interval)")
    return _svg(fig)


def _sobol(runs: pd.DataFrame, meta: dict[str, Any], metric: str) -> tuple[str, str]:
    """(figure, table) of Sobol indices, or ("", a note saying why there are none)."""
    from SALib.analyze import sobol

    design = meta["design"]
    ok = runs[runs["status"] == "ok"]
    y = ok.groupby("point")[metric].mean().reindex(range(design["n_points"]))
    if y.isna().any():
        lost = design["n_points"] - ok["point"].nunique()
        if lost:
            return "", f"not computed: {lost} design points have no successful run"
        return "", (
            f"not computed: the metric is empty at {int(y.isna().sum())} design points "
            "(first_fracture is empty when no member left)"
        )
    if float(y.max() - y.min()) == 0.0:
        return "", "not computed: the metric is the same at every design point"
    problem = design["salib_problem"]
    res = sobol.analyze(problem, y.to_numpy(dtype=float), calc_second_order=design["second_order"],
                        print_to_console=False, seed=meta["root_seed"])  # fmt: skip
    names = problem["names"]
    fig = _figure(max(4.5, 1.4 * len(names) + 2), 3.2)
    ax = fig.add_subplot()
    xs = np.arange(len(names))
    ax.bar(xs - 0.2, res["S1"], 0.4, yerr=res["S1_conf"], capsize=3, label="first order S1")
    ax.bar(xs + 0.2, res["ST"], 0.4, yerr=res["ST_conf"], capsize=3, label="total ST")
    ax.set_xticks(xs, names, rotation=20)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_ylabel("Sobol index")
    ax.set_title(f"Sobol indices of {metric}")
    ax.legend()
    body = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{s1:.3f} ± {c1:.3f}</td><td>{st:.3f} ± {ct:.3f}</td>"
        "</tr>"
        for n, s1, c1, st, ct in zip(names, res["S1"], res["S1_conf"], res["ST"], res["ST_conf"])
    )
    table = (
        "<table><tr><th>parameter</th><th>S1 (± 95 % conf.)</th><th>ST (± 95 % conf.)</th></tr>"
        f"{body}</table>"
    )
    return _svg(fig), table


def _choose(requested: Sequence[str], available: Sequence[str], what: str) -> list[str]:
    problems = [
        f"--metric {m}: not a numeric metric of this sweep" + _did_you_mean(m, available)
        + f"; {what}: {', '.join(available)}"
        for m in requested
        if m not in available
    ]  # fmt: skip
    if problems:
        raise SpecError(problems)
    return list(requested)


def write_report(
    sweep_dir: str | Path, out_file: str | Path | None = None, *, metrics: Sequence[str] = ()
) -> Path:
    """Write the report of the sweep in `sweep_dir` (default file: sweep_dir/report.html)."""
    sweep_dir = Path(sweep_dir)
    runs, _, meta = load(sweep_dir)
    numeric = _numeric_metrics(meta)
    ok = runs[runs["status"] == "ok"]
    if metrics:
        chosen = _choose(metrics, numeric, "numeric metrics")
    else:  # the metrics that vary come first: a constant one shows nothing
        varying = [m for m in numeric if ok[m].astype(float).nunique() > 1]
        chosen = (varying or numeric)[:DEFAULT_METRICS]
    params = meta["design"]["parameters"]
    failed = runs[runs["status"] != "ok"]
    design = meta["design"]
    esc = html.escape

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
        ("parameters", ", ".join(p["path"] for p in params) or "none"),
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
        parts.append("<h2>Heatmap</h2>")
        if len(params) >= 2:
            x, y = params[0]["path"], params[1]["path"]
            parts.append(f"<figure>{_heatmap(ok, chosen[0], x, y)}</figure>")
        else:
            parts.append("<p>A heatmap needs two parameters; this sweep varies fewer.</p>")
        if params:
            parts.append("<h2>Main effects</h2>")
            for m in chosen:
                if ok[m].notna().any():
                    parts.append(f"<figure>{_main_effects(ok, m, params)}</figure>")
                else:
                    parts.append(f"<p>{esc(m)}: no value in any run (nothing to plot).</p>")
        if design["kind"] == "sobol":
            parts.append("<h2>Sobol indices</h2>")
            parts.append(
                "<p>SALib.analyze.sobol on the Saltelli layout the design was drawn in; each "
                "design point's metric is its mean over replications.</p>"
            )
            for m in chosen:
                fig, table = _sobol(runs, meta, m)
                if fig:
                    parts.append(f"<h3>{esc(m)}</h3><figure>{fig}</figure>{table}")
                else:
                    parts.append(f"<h3>{esc(m)}</h3><p>{esc(table)}</p>")

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
    page = f"""<!doctype html>
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
    path = Path(out_file) if out_file is not None else sweep_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path

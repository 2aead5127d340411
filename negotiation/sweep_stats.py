"""The numbers behind `bloc sweep report`: replication intervals, main effects, Sobol indices,
Morris screening, PRCC/SRC, coalitions.

Every figure says what it rests on. A design point's metric is the mean over its replications with
a t interval of that mean; a main effect is the mean of the point means at a level of a parameter
(each design point counted once, however many replications it had) with a percentile bootstrap
interval resampling those design points; Sobol indices come from `SALib.analyze.sobol` on the
point means, with SALib's own bootstrap intervals, and so do Morris's mu* and sigma
(`SALib.analyze.morris`). Runs where a metric is empty (first_fracture
when no member left) are left out and counted. Random draws come from generators seeded from the
sweep's root seed, the metric and the parameter, so a report is reproducible; no global state.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from negotiation import ensemble

CONFIDENCE = 0.95
#: Bootstrap resamples of a main effect, and of SALib's Sobol intervals.
BOOTSTRAP_RESAMPLES = 2000
SOBOL_RESAMPLES = 1000
#: Parameters with more distinct values than this are binned (into BINS quantile bins).
MAX_LEVELS = 12
BINS = 8

N1 = "n=1, no interval"
IDENTICAL_REPLICATIONS = "replications identical"
NO_VALUE = "no value"


@dataclass(frozen=True)
class Interval:
    """A mean and its 95 % interval; `note` says why there is no interval (low, high are NaN)."""

    mean: float
    low: float
    high: float
    n: int
    note: str = ""

    def text(self) -> str:
        if self.n == 0:
            return NO_VALUE
        if self.note:
            return f"{fmt(self.mean)} ({self.note})"
        return f"{fmt(self.mean)} [{fmt(self.low)}, {fmt(self.high)}]"


def fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        if not math.isfinite(v):
            return str(v)
        if 1e4 <= abs(v) < 1e7:  # 74623 rather than 7.462e+04
            return f"{v:.0f}"
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3g}"
    return str(v)


def _finite(values: Any) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return x[np.isfinite(x)]


def t_interval(values: Any, *, identical: str = IDENTICAL_REPLICATIONS) -> Interval:
    """Mean of the finite values and its t interval, mean ± t(0.975, n-1)·sd/√n.

    With one value, or values all equal, there is no interval, and `note` says so."""
    x = _finite(values)
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, NO_VALUE)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, N1)
    if float(x.max() - x.min()) == 0.0:
        return Interval(mean, math.nan, math.nan, n, identical)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def bootstrap_interval(
    values: Any, rng: np.random.Generator, n_resamples: int = BOOTSTRAP_RESAMPLES
) -> Interval:
    """Mean of the finite values and a percentile bootstrap interval of it: `n_resamples`
    resamples with replacement, drawn as one `rng.integers(0, n, (n_resamples, n))`, and the
    2.5 % and 97.5 % quantiles of their means. One value, or equal values: no interval (and no
    draw from `rng`)."""
    x = _finite(values)
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, NO_VALUE)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, "1 design point, no interval")
    if float(x.max() - x.min()) == 0.0:
        return Interval(mean, math.nan, math.nan, n, "design points identical")
    means = x[rng.integers(0, n, size=(n_resamples, n))].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(mean, float(low), float(high), n)


def stream_seed(root_seed: int, *labels: str) -> int:
    """A seed for one figure's draws, from the sweep's root seed and labels (metric, parameter):
    the same figure gets the same draws whichever other figures the report shows. Never 0 (SALib
    falls back to NumPy's global state for a seed of 0)."""
    entropy = [int(root_seed) % 2**63, *(zlib.crc32(s.encode()) for s in labels)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> 1) or 1


def groups(values: pd.Series, bins: int = BINS) -> tuple[pd.Series, list[Any], list[str], bool]:
    """Group a parameter's values: (group of each row, group order, labels, numeric axis).

    Up to MAX_LEVELS distinct values are levels of their own; more (Latin hypercube, Sobol) are
    grouped into `bins` quantile bins, each labelled by the mean of its values."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    uniq = pd.unique(values.dropna())
    if not numeric or len(uniq) <= MAX_LEVELS:
        order = sorted(uniq, key=lambda v: (str(type(v)), v))
        labels = [fmt(v) for v in order]
        return values, order, labels, numeric
    cut = pd.qcut(values, q=bins, duplicates="drop")
    centers = values.groupby(cut, observed=True).mean()
    group = cut.map(dict(zip(centers.index, centers.values))).astype(float)
    order = list(centers.values)
    return group, order, [fmt(v) for v in order], True


def point_stats(ok: pd.DataFrame, metric: str, params: Sequence[str] = ()) -> pd.DataFrame:
    """One row per design point with a successful run, by point: its parameter values, `runs`
    (successful runs), `n` (those where the metric has a value), `mean`, `sd` (NaN below n=2), and
    the t interval `low`, `high` (NaN with `note` saying why there is none)."""
    rows = []
    for point, sub in ok.groupby("point", sort=True):
        iv = t_interval(sub[metric])
        x = _finite(sub[metric])
        rows.append(
            {
                "point": point,
                **{p: sub[p].iloc[0] for p in params},
                "runs": len(sub),
                "n": iv.n,
                "mean": iv.mean,
                "sd": float(x.std(ddof=1)) if len(x) > 1 else math.nan,
                "low": iv.low,
                "high": iv.high,
                "note": iv.note,
            }
        )
    columns = ["point", *params, "runs", "n", "mean", "sd", "low", "high", "note"]
    return pd.DataFrame(rows, columns=columns).set_index("point")


def replications_identical(ok: pd.DataFrame, metrics: Sequence[str]) -> bool | None:
    """True if, at every design point, the replications gave the same value of every metric
    (empty counts as a value); False if any differ; None if no point has two successful runs."""
    counts = ok.groupby("point").size()
    if not (counts > 1).any():
        return None
    return all(bool((ok.groupby("point")[m].nunique(dropna=False) <= 1).all()) for m in metrics)


def main_effects(
    points: pd.DataFrame,
    param: str,
    *,
    seed: int,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
) -> pd.DataFrame:
    """The main effect of `param` from a `point_stats` table: for each level (or quantile bin),
    the mean of the point means there, each design point counted once, and a percentile
    bootstrap interval resampling those design points (`bootstrap_interval`, one generator
    `default_rng(seed)` drawn level after level in order). Columns: `level`, `label`, `points`
    (design points with a value), `points_total`, `runs` (runs with a value at them), `runs_total`
    (successful runs at the level), `mean`, `low`, `high`, `note`."""
    group, order, labels, _ = groups(points[param])
    rng = np.random.default_rng(seed)
    rows = []
    for level, label in zip(order, labels):
        at = points[group == level]
        has = at[at["n"] > 0]
        iv = bootstrap_interval(has["mean"], rng, n_resamples)
        rows.append(
            {
                "level": level,
                "label": label,
                "points": len(has),
                "points_total": len(at),
                "runs": int(has["n"].sum()),
                "runs_total": int(at["runs"].sum()),
                "mean": iv.mean,
                "low": iv.low,
                "high": iv.high,
                "note": iv.note,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SobolIndices:
    """First-order and total indices by parameter (`first`: S1, S1_conf, ST, ST_conf), and the
    second-order ones by pair (`second`: a, b, S2, S2_conf) when the design paid for them."""

    first: pd.DataFrame
    second: pd.DataFrame | None
    base: int
    n_points: int
    seed: int


def sobol_indices(
    point_means: pd.Series,
    design: dict[str, Any],
    *,
    seed: int,
    num_resamples: int = SOBOL_RESAMPLES,
) -> SobolIndices | str:
    """`SALib.analyze.sobol` on the metric's mean at every design point of a Saltelli layout
    (`point_means` by point), with SALib's bootstrap intervals (`num_resamples` resamples,
    `conf_level` 0.95, `seed`). A string says why there are none."""
    from SALib.analyze import sobol

    n_points = design["n_points"]
    y = point_means.reindex(range(n_points))
    if y.isna().any():
        return f"not computed: no value at {int(y.isna().sum())} of {n_points} design points"
    if float(y.max() - y.min()) == 0.0:
        return "not computed: the metric is the same at every design point"
    problem = design["salib_problem"]
    second = bool(design["second_order"])
    res = sobol.analyze(problem, y.to_numpy(dtype=float), calc_second_order=second,
                        num_resamples=num_resamples, conf_level=CONFIDENCE,
                        print_to_console=False, seed=seed)  # fmt: skip
    names = list(problem["names"])
    first = pd.DataFrame(
        {k: np.asarray(res[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")},
        index=pd.Index(names, name="parameter"),
    )
    pairs = None
    if second:
        rows = [
            {
                "a": names[i],
                "b": names[j],
                "S2": float(res["S2"][i, j]),
                "S2_conf": float(res["S2_conf"][i, j]),
            }  # fmt: skip
            for i in range(len(names))
            for j in range(i + 1, len(names))
        ]
        pairs = pd.DataFrame(rows, columns=["a", "b", "S2", "S2_conf"])
    d = len(names)
    base = n_points // (2 * d + 2 if second else d + 2)
    return SobolIndices(first, pairs, base, n_points, seed)


#: The smallest base size of a Sobol convergence curve.
CONVERGENCE_MIN_BASE = 4


def sobol_convergence(
    point_means: pd.Series,
    design: dict[str, Any],
    *,
    seed: int,
    num_resamples: int = SOBOL_RESAMPLES,
    min_base: int = CONVERGENCE_MIN_BASE,
) -> pd.DataFrame | str:
    """Sobol indices against the base size N: SALib's Saltelli layout of base n is the start of
    the layout of base 2n, so the first n x (D + 2) design points (n x (2D + 2) with second
    order) are a design of base n. For n = min_base, 2 min_base, ... up to the design's base,
    `sobol_indices` on those points (the same seed at every n). Columns: `base`, `parameter`,
    `S1`, `S1_conf`, `ST`, `ST_conf`. A string says why there is none."""
    d = len(design["salib_problem"]["names"])
    per_base = 2 * d + 2 if design["second_order"] else d + 2
    base = int(design["n_points"]) // per_base
    if base < 2 * min_base:
        return f"not drawn: a base size of {base} gives fewer than two points on the curve"
    rows = []
    n = min_base
    while n <= base:
        sub = {**design, "n_points": n * per_base}
        res = sobol_indices(point_means.reindex(range(n * per_base)), sub, seed=seed,
                            num_resamples=num_resamples)  # fmt: skip
        if isinstance(res, str):
            return f"not drawn at base {n}: {res.removeprefix('not computed: ')}"
        for name, r in res.first.iterrows():
            rows.append({"base": n, "parameter": name, **r.to_dict()})
        n *= 2
    return pd.DataFrame(rows, columns=["base", "parameter", "S1", "S1_conf", "ST", "ST_conf"])


# ------------------------------------------------------------------------------------------------
# Morris screening (elementary effects)


@dataclass(frozen=True)
class MorrisIndices:
    """Morris screening of one metric: by parameter (`table` index), `mu` (mean elementary
    effect), `mu_star` (mean absolute elementary effect), `mu_star_conf` (half-width of SALib's
    95 % bootstrap interval of mu*) and `sigma` (standard deviation of the elementary effects).
    An elementary effect is the change of the metric over one step of one parameter, divided
    by the step as a share of the parameter's range: the units are the metric's per whole
    range of the parameter (its log for a log_uniform one)."""

    table: pd.DataFrame
    trajectories: int
    n_points: int
    levels: int
    seed: int


def morris_indices(
    point_means: pd.Series,
    design: dict[str, Any],
    *,
    seed: int,
    num_resamples: int = SOBOL_RESAMPLES,
) -> MorrisIndices | str:
    """`SALib.analyze.morris` on the metric's mean at every design point of a Morris design
    (`point_means` by point; the design's `unit_sample`, `levels` and `salib_problem` from
    the sweep's metadata), with SALib's bootstrap interval of mu* (`num_resamples`
    resamples, `conf_level` 0.95, `seed`). A string says why there are none."""
    from SALib.analyze import morris

    n_points = design["n_points"]
    y = point_means.reindex(range(n_points))
    if y.isna().any():
        return f"not computed: no value at {int(y.isna().sum())} of {n_points} design points"
    problem = design["salib_problem"]
    x = np.asarray(design["unit_sample"], dtype=float)
    levels = int(design["levels"])
    res = morris.analyze(problem, x, y.to_numpy(dtype=float), num_resamples=num_resamples,
                         conf_level=CONFIDENCE, num_levels=levels, print_to_console=False,
                         seed=seed)  # fmt: skip
    table = pd.DataFrame(
        {k: np.asarray(res[k], dtype=float) for k in ("mu", "mu_star", "mu_star_conf", "sigma")},
        index=pd.Index(list(problem["names"]), name="parameter"),
    )
    return MorrisIndices(table, n_points // (len(table) + 1), n_points, levels, seed)


# ------------------------------------------------------------------------------------------------
# Sensitivity of a random design (Latin hypercube): rank and regression measures


def _partial(corr: np.ndarray) -> np.ndarray:
    """Partial correlations of each of the first k variables with the last, given the other
    first k variables, from the (k+1) x (k+1) correlation matrix: -P[j, y] / sqrt(P[j, j] P[y, y])
    with P its inverse. NaN where the matrix is singular."""
    try:
        p = np.linalg.inv(corr)
    except np.linalg.LinAlgError:
        return np.full(len(corr) - 1, math.nan)
    d = np.diag(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        return -p[:-1, -1] / np.sqrt(d[:-1] * d[-1])


def _src(corr: np.ndarray) -> tuple[np.ndarray, float]:
    """Standardized regression coefficients of the last variable on the first k (the least
    squares coefficients of the z-scores: solve(Cxx, Cxy)) and R^2 = Cxy . beta."""
    cxx, cxy = corr[:-1, :-1], corr[:-1, -1]
    try:
        beta = np.linalg.solve(cxx, cxy)
    except np.linalg.LinAlgError:
        return np.full(len(cxy), math.nan), math.nan
    return beta, float(cxy @ beta)


def _corr(m: np.ndarray) -> np.ndarray | None:
    """The correlation matrix of the columns of m, or None if a column is constant."""
    sd = m.std(axis=0)
    if (sd == 0).any():
        return None
    z = (m - m.mean(axis=0)) / sd
    return (z.T @ z) / len(m)


def prcc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Partial rank correlation coefficient of y with each column of x (n x k): the correlation
    of the ranks of x_j and y once the ranks of the other columns are regressed out of both."""
    ranks = stats.rankdata(np.column_stack([x, y]), axis=0)
    c = _corr(ranks)
    if c is None:
        return np.full(x.shape[1], math.nan)
    if np.linalg.cond(c) < 1e10:  # the fast way: from the inverse of the correlation matrix
        return _partial(c)
    return _partial_by_residuals(ranks)  # y's ranks are (nearly) a function of the others'


def _partial_by_residuals(m: np.ndarray) -> np.ndarray:
    """Partial correlations of each of the first k columns of m with the last, by regressing
    both on the other k - 1 columns (with an intercept) and correlating the residuals."""
    k = m.shape[1] - 1
    out = np.full(k, math.nan)
    for j in range(k):
        others = np.column_stack([np.ones(len(m)), np.delete(m[:, :k], j, axis=1)])
        targets = m[:, [j, k]]
        coef, *_ = np.linalg.lstsq(others, targets, rcond=None)
        res = targets - others @ coef
        sd = res.std(axis=0)
        if (sd > 1e-12 * max(1.0, float(np.abs(targets).max()))).all():
            out[j] = float(np.clip(np.corrcoef(res.T)[0, 1], -1.0, 1.0))
    return out


def src(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Standardized regression coefficients of y on the columns of x, and the R^2 of that
    linear regression (how much of y's variance a linear model of the parameters explains)."""
    c = _corr(np.column_stack([x, y]).astype(float))
    return (np.full(x.shape[1], math.nan), math.nan) if c is None else _src(c)


def sensitivity(
    points: pd.DataFrame,
    params: Sequence[str],
    *,
    seed: int,
    n_resamples: int = SOBOL_RESAMPLES,
) -> pd.DataFrame | str:
    """PRCC and SRC of a metric with each numeric parameter, from a `point_stats` table (each
    design point's mean, each point counted once), with 95 % percentile bootstrap intervals
    from `n_resamples` resamples of the design points (`default_rng(seed)`). Columns:
    `parameter`, `prcc`, `prcc_low`, `prcc_high`, `src`, `src_low`, `src_high`; `attrs`
    holds `r2` (of the linear regression behind SRC) and `n` (design points used). A string
    says why there is none."""
    has = points[points["n"] > 0]
    n, k = len(has), len(params)
    if k == 0:
        return "not computed: no numeric parameter"
    if n < k + 3:
        return f"not computed: {n} design points with a value, too few for {k} parameters"
    x = has[list(params)].to_numpy(dtype=float)
    y = has["mean"].to_numpy(dtype=float)
    if float(y.max() - y.min()) == 0.0:
        return "not computed: the metric is the same at every design point"
    p0 = prcc(x, y)
    s0, r2 = src(x, y)
    rng = np.random.default_rng(seed)
    boot_p = np.full((n_resamples, k), math.nan)
    boot_s = np.full((n_resamples, k), math.nan)
    for b, idx in enumerate(rng.integers(0, n, size=(n_resamples, n))):
        boot_p[b] = prcc(x[idx], y[idx])
        boot_s[b] = src(x[idx], y[idx])[0]
    tail = (1 - CONFIDENCE) / 2
    with warnings.catch_warnings():  # a resample with a constant column gives NaN: left out
        warnings.simplefilter("ignore", RuntimeWarning)
        p_lo, p_hi = np.nanquantile(boot_p, [tail, 1 - tail], axis=0)
        s_lo, s_hi = np.nanquantile(boot_s, [tail, 1 - tail], axis=0)
    out = pd.DataFrame(
        {
            "parameter": list(params),
            "prcc": p0,
            "prcc_low": p_lo,
            "prcc_high": p_hi,
            "src": s0,
            "src_low": s_lo,
            "src_high": s_hi,
        }
    )
    out.attrs.update(r2=r2, n=n, seed=seed, n_resamples=n_resamples)
    return out


# ------------------------------------------------------------------------------------------------
# Scenario discovery: which settings make the bloc hold (PRIM)

#: The density a PRIM box should reach: the report picks the box of highest coverage among those
#: with at least this density on the peeling trajectory.
PRIM_DENSITY = 0.8
#: "Holds", as `bloc ensemble` says it.
HOLDS_DOC = ensemble.HOLDS_DOC


def holds(ok: pd.DataFrame) -> pd.Series:
    """Whether the bloc held in each run: at the last round at least two members
    (`final_size`), and no member left during the run (`first_fracture` empty)."""
    size = ok["final_size"].astype("float64")
    return (size >= 2) & ok["first_fracture"].isna()


@dataclass(frozen=True)
class PrimResult:
    """A PRIM box (`ema_workbench.analysis.prim`) and the peeling trajectory it was chosen on.

    `limits`: one row per parameter the box restricts: `parameter`, `kind` (numeric or
    categorical), `low`, `high` (numeric: the box's range, inclusive), `values` (categorical:
    the values inside, sorted), `full` (the range or values of all runs), `qp_low`, `qp_high`
    (EMA's quasi-p-values of each restricted side; NaN where that side is not restricted).
    `trajectory`: coverage, density, mass, res_dim, n of every box peeled. `chosen`: its row.
    `reached`: whether the chosen box reaches the density asked for."""

    limits: pd.DataFrame
    trajectory: pd.DataFrame
    chosen: int
    coverage: float
    density: float
    mass: float
    n_in_box: int
    n: int
    n_interest: int
    density_target: float
    reached: bool


def _prim_inputs(x: pd.DataFrame) -> pd.DataFrame:
    """Parameters as PRIM reads them: numbers as floats, anything else as text categories."""
    out = {}
    for c in x.columns:
        s = x[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[c] = s.to_numpy(dtype=float)
        else:
            out[c] = s.astype(str).to_numpy(dtype=object)
    return pd.DataFrame(out)


def prim_box(
    x: pd.DataFrame,
    y: Any,
    *,
    density: float = PRIM_DENSITY,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> PrimResult | str:
    """PRIM (`ema_workbench.analysis.prim.Prim`, its default lenient objective) on the cases
    `x` (one row per run: the parameters) and the outcome of interest `y` (true/false per run):
    one box peeled down to `mass_min`; of its trajectory, the box of highest coverage with
    density >= `density` (ties: the denser), else the densest box (ties: the higher
    coverage). Coverage: the share of the cases of interest inside the box; density: the share
    of the cases inside that are of interest; mass: the share of all cases inside. A string
    says why there is none. Deterministic: PRIM draws nothing at random."""
    import warnings as _warnings

    y = np.asarray(y, dtype=bool)
    n, k = len(y), int(y.sum())
    if x.shape[1] == 0:
        return "not computed: no parameter"
    if k == 0 or k == n:
        return f"not computed: the outcome is {'true' if k else 'false'} in all {n} runs"
    with _warnings.catch_warnings():  # EMA warns of optional parts missing and of pandas 4
        _warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        xs = _prim_inputs(x)
        finder = prim.Prim(xs, y.copy(), peel_alpha=peel_alpha, paste_alpha=paste_alpha,
                           mass_min=mass_min)  # fmt: skip
        box = finder.find_box()
        trajectory = box.peeling_trajectory[["coverage", "density", "mass", "res_dim", "n"]]
        trajectory = trajectory.astype({"res_dim": int, "n": int}).reset_index(drop=True)
        dense = trajectory[trajectory["density"] >= density]
        reached = not dense.empty
        pool = (
            dense if reached else trajectory[trajectory["density"] == trajectory["density"].max()]
        )
        best = pool.sort_values(["coverage", "density"], ascending=False, kind="stable")
        chosen = int(best.index[0])
        box.select(chosen)
        lims = box.box_lim
        qp = box.p_values[chosen]
    init = finder.box_init
    rows = []
    for c in xs.columns:
        lo, hi = lims[c].iloc[0], lims[c].iloc[1]
        full_lo, full_hi = init[c].iloc[0], init[c].iloc[1]
        if isinstance(lo, set):
            if lo == full_lo:
                continue
            row = {"kind": "categorical", "low": math.nan, "high": math.nan,
                   "values": sorted(lo), "full": sorted(full_lo)}  # fmt: skip
        else:
            if lo <= full_lo and hi >= full_hi:
                continue
            row = {"kind": "numeric", "low": float(lo), "high": float(hi), "values": None,
                   "full": (float(full_lo), float(full_hi))}  # fmt: skip
        q = [math.nan if v is None or v < 0 else float(v) for v in qp.get(c, [None, None])]
        rows.append({"parameter": c, **row, "qp_low": q[0], "qp_high": q[1]})
    columns = ["parameter", "kind", "low", "high", "values", "full", "qp_low", "qp_high"]
    limits = pd.DataFrame(rows, columns=columns)
    r = trajectory.loc[chosen]
    return PrimResult(limits, trajectory, chosen, float(r["coverage"]), float(r["density"]),
                      float(r["mass"]), int(r["n"]), n, k, density, reached)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Coalitions


def coalitions(ok: pd.DataFrame, column: str = "final_members") -> pd.DataFrame:
    """Which coalitions formed: one row per distinct final membership, most frequent first,
    with `runs`, `share` (of the runs given), `points` (design points where it formed at least
    once) and `size`. An empty membership reads "(none)"."""
    members = ok[column].fillna("").astype(str)
    rows = []
    for who, sub in ok.groupby(members, sort=False):
        rows.append(
            {
                "coalition": who or "(none)",
                "size": len([m for m in who.split("+") if m]),
                "runs": len(sub),
                "share": len(sub) / len(ok),
                "points": int(sub["point"].nunique()),
            }
        )
    df = pd.DataFrame(rows, columns=["coalition", "size", "runs", "share", "points"])
    return df.sort_values(["runs", "coalition"], ascending=[False, True]).reset_index(drop=True)


def membership_shares(ok: pd.DataFrame, column: str = "final_members") -> pd.Series:
    """For each actor that was ever a final member, the share of the runs in which it was."""
    sets = ok[column].fillna("").astype(str).str.split("+")
    counts: dict[str, int] = {}
    for s in sets:
        for a in s:
            if a:
                counts[a] = counts.get(a, 0) + 1
    shares = pd.Series(counts, dtype=float) / max(len(ok), 1)
    return shares.sort_values(ascending=False, kind="stable")


def coalitions_by_point(ok: pd.DataFrame, column: str = "final_members") -> pd.DataFrame:
    """By design point: `runs`, the most frequent final membership (`coalition`, ties to the
    alphabetically first), its `share` of the point's runs, and `distinct` memberships."""
    rows = []
    for point, sub in ok.groupby("point", sort=True):
        c = coalitions(sub, column)
        rows.append(
            {
                "point": point,
                "runs": len(sub),
                "coalition": c.at[0, "coalition"],
                "share": float(c.at[0, "share"]),
                "distinct": len(c),
            }
        )
    return pd.DataFrame(rows, columns=["point", "runs", "coalition", "share", "distinct"])

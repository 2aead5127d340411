"""The numbers behind `bloc sweep report`: replication intervals, main effects, Sobol indices,
Morris screening, PRCC/SRC, PRIM, feature scores (extra trees), a classification tree (CART),
distributions across runs, envelopes of per-round series, coalitions.

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

from negotiation.experiments import ensemble

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


def _no_split(x: pd.DataFrame, y: np.ndarray) -> str:
    """Why a true/false outcome `y` over the cases `x` cannot be split (PRIM, CART), or ""."""
    n, k = len(y), int(y.sum())
    if x.shape[1] == 0:
        return "not computed: no parameter"
    if k == 0 or k == n:
        return f"not computed: the outcome is {'true' if k else 'false'} in all {n} runs"
    return ""


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
    why = _no_split(x, y)
    if why:
        return why
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


# ------------------------------------------------------------------------------------------------
# Which inputs matter most: feature scoring (extra trees), as ema_workbench.analysis.feature_scoring

#: Trees of a feature-scoring forest (EMA Workbench's default for extra trees).
FEATURE_TREES = 100
#: Fewer cases (design points with a value) than this: no feature scores.
FEATURE_MIN_CASES = 5


@dataclass(frozen=True)
class FeatureScores:
    """Feature scores of one outcome: `scores` by parameter (highest first; they sum to 1,
    so 1/k is what each of k parameters would get if none mattered more than another), the
    forest's out-of-bag R² (`oob_r2`: how much of the outcome's variance across cases the
    trees predict for cases they were not grown on; near 0 or below, the scores rank noise),
    `n` cases, the `seed` and the number of `trees`."""

    scores: pd.Series
    oob_r2: float
    n: int
    seed: int
    trees: int


def _sk_seed(seed: int) -> int:
    """A seed as scikit-learn takes it (below 2**32): the seed's low 32 bits."""
    return int(seed) % 2**32


def feature_scores(
    x: pd.DataFrame, y: Any, *, seed: int, trees: int = FEATURE_TREES
) -> FeatureScores | str:
    """Extra-trees feature scores of the outcome `y` (one number per row of `x`, NaN left out)
    over the parameters `x` (one column each; text, true/false and other non-numbers are
    categories), by `ema_workbench.analysis.feature_scoring.get_ex_feature_scores` in
    regression mode with its defaults (`trees` trees, bootstrap, a third of the parameters
    tried at each split, leaves of at least max(1, sqrt(n / 1000)) cases), seeded with
    `random_state` the seed's low 32 bits: the same inputs give the same scores. A string
    says why there are none."""
    y = np.asarray(y, dtype=float)
    has = np.isfinite(y)
    n, k = int(has.sum()), x.shape[1]
    if k == 0:
        return "not computed: no parameter"
    if n < FEATURE_MIN_CASES:
        return f"not computed: {n} design points with a value, fewer than {FEATURE_MIN_CASES}"
    if float(y[has].max() - y[has].min()) == 0.0:
        return "not computed: the same at every design point"
    xs = _prim_inputs(x.loc[has]).reset_index(drop=True)
    with warnings.catch_warnings():  # EMA warns of optional parts missing
        warnings.simplefilter("ignore")
        from ema_workbench.analysis.feature_scoring import get_ex_feature_scores
        from ema_workbench.analysis.scenario_discovery_util import RuleInductionType

        table, forest = get_ex_feature_scores(
            xs, y[has], mode=RuleInductionType.REGRESSION, nr_trees=trees,
            max_features=max(1, round(k / 3)), random_state=_sk_seed(seed),
        )  # fmt: skip
    scores = table.iloc[:, 0].astype(float).reindex(list(x.columns)).fillna(0.0)
    scores = scores.sort_values(ascending=False, kind="stable").rename_axis("parameter")
    oob = float(getattr(forest, "oob_score_", math.nan))
    return FeatureScores(scores, oob, n, seed, trees)


# ------------------------------------------------------------------------------------------------
# Which settings make the bloc hold: a classification tree (CART)

#: CART's leaves hold at least this share of the runs (EMA Workbench's mass_min, as PRIM's).
CART_MASS_MIN = 0.05
#: CART's depth: at most 2**depth leaves, few enough to read.
CART_DEPTH = 3
CART_FOLDS = 5


@dataclass(frozen=True)
class CartResult:
    """A classification tree of a true/false outcome. `leaves`: one row per leaf, densest
    first: `leaf` (the tree's node id), `rule` (the conditions on the way to it, " and "-joined),
    `conditions` (parameter -> condition text), `runs`, `interest` (runs of interest in it),
    `density` (their share of the leaf), `coverage` (their share of all runs of interest),
    `mass` (the leaf's share of all runs). `accuracy`: the share of runs the tree classifies
    right (on the runs it was grown on); `cv_accuracy`: the same for runs of design points
    held out (`CART_FOLDS`-fold cross-validation by design point; NaN with fewer points);
    `base_rate`: the accuracy of always guessing the commoner outcome. `tree`: the fitted
    `sklearn.tree.DecisionTreeClassifier`, `feature_names` its inputs' names."""

    leaves: pd.DataFrame
    tree: Any
    feature_names: list[str]
    n: int
    n_interest: int
    accuracy: float
    cv_accuracy: float
    base_rate: float
    folds: int
    seed: int
    mass_min: float
    max_depth: int


def cart_inputs(x: pd.DataFrame, sep: str) -> tuple[np.ndarray, list[str]]:
    """The cases as EMA Workbench's CART fits its tree on them, built as `CART.__init__` builds
    them (`pandas.get_dummies`; EMA keeps its matrix private): a column per numeric parameter,
    and a 0/1 column per value of every other, named "param<sep>value".

    Parameters
    ----------
    x : pandas.DataFrame
        The cases, one row per run (`CART.x`: EMA drops a "scenario" column first).
    sep : str
        The separator of a category's column name (`CART.sep`).

    Returns
    -------
    (numpy.ndarray, list of str)
        The matrix and its columns' names (`CART.feature_names`).
    """
    dummies = pd.get_dummies(x, prefix_sep=sep)
    return dummies.to_numpy(), dummies.columns.tolist()


def _cart_class() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import cart

    class SeededCART(cart.CART):
        """EMA Workbench's CART (one-hot categories, leaves of at least mass_min of the cases),
        grown with a seed and a depth limit: scikit-learn permutes the features at every split,
        so an unseeded tree may change from one report to the next where splits tie."""

        def __init__(self, x: pd.DataFrame, y: Any, *, mass_min: float, max_depth: int,
                     seed: int) -> None:  # fmt: skip
            super().__init__(x, y, mass_min=mass_min)
            self.max_depth, self.seed = max_depth, seed
            #: the cases as the tree reads them (`cart_inputs`: EMA's own matrix, rebuilt)
            self.matrix, self.feature_names = cart_inputs(self.x, self.sep)

        def make_tree(self) -> Any:
            from sklearn import tree

            min_samples = max(1, int(self.mass_min * self.x.shape[0]))
            return tree.DecisionTreeClassifier(min_samples_leaf=min_samples,
                                               max_depth=self.max_depth,
                                               random_state=_sk_seed(self.seed))  # fmt: skip

        def build_tree(self) -> None:
            self.clf = self.make_tree().fit(self.matrix, self.y)

    return SeededCART


def _leaf_rules(clf: Any, names: Sequence[str], x: pd.DataFrame, sep: str) -> dict[int, dict]:
    """Each leaf's conditions, parameter by parameter, read from the tree's splits: a numeric
    parameter's range (x <= t goes left), a categorical one's remaining values (EMA's one-hot
    column "param<sep>value" <= 0.5 goes left: the value is not that one)."""
    t = clf.tree_
    out: dict[int, dict] = {}

    def walk(node: int, lims: dict[str, Any]) -> None:
        if t.children_left[node] == -1:
            out[node] = lims
            return
        feat, thr = names[t.feature[node]], float(t.threshold[node])
        if sep in feat:
            param, value = feat.split(sep, 1)
            allowed = lims.get(param, set(x[param].astype(str).unique()))
            walk(t.children_left[node], {**lims, param: allowed - {value}})
            walk(t.children_right[node], {**lims, param: allowed & {value}})
        else:
            lo, hi = lims.get(feat, (-math.inf, math.inf))
            walk(t.children_left[node], {**lims, feat: (lo, min(hi, thr))})
            walk(t.children_right[node], {**lims, feat: (max(lo, thr), hi)})

    walk(0, {})
    texts = {}
    for leaf, lims in out.items():
        conds = {}
        for param, lim in lims.items():
            if isinstance(lim, set):
                values = sorted(lim)
                conds[param] = (f"{param} = {values[0]}" if len(values) == 1
                                else f"{param} in {{{', '.join(values)}}}")  # fmt: skip
            else:
                lo, hi = lim
                if math.isfinite(lo) and math.isfinite(hi):
                    conds[param] = f"{fmt(lo)} < {param} <= {fmt(hi)}"
                elif math.isfinite(hi):
                    conds[param] = f"{param} <= {fmt(hi)}"
                else:
                    conds[param] = f"{param} > {fmt(lo)}"
        texts[leaf] = conds
    return texts


def cart_tree(
    x: pd.DataFrame,
    y: Any,
    *,
    seed: int,
    groups: Any = None,
    mass_min: float = CART_MASS_MIN,
    max_depth: int = CART_DEPTH,
    folds: int = CART_FOLDS,
) -> CartResult | str:
    """A classification tree (CART, grown as `ema_workbench.analysis.cart.CART` grows it:
    categories one-hot, leaves of at least `mass_min` of the cases; here seeded and at most
    `max_depth` deep) of the true/false outcome `y` over the cases `x` (one row per run: the
    parameters). Each leaf's runs are read from the tree itself (`apply`), not from EMA's
    boxes, which in EMA Workbench 3.0 drop a split that keeps a single category. `groups`
    (each run's design point) makes the cross-validation hold out whole design points, so a
    point's replications never sit on both sides. A string says why there is none."""
    y = np.asarray(y, dtype=bool)
    n, k = len(y), int(y.sum())
    why = _no_split(x, y)
    if why:
        return why
    xs = _prim_inputs(x).reset_index(drop=True)
    cart = _cart_class()(xs, y.copy(), mass_min=mass_min, max_depth=max_depth, seed=seed)
    cart.build_tree()
    clf = cart.clf
    names = list(cart.feature_names)
    leaf_of = clf.apply(cart.matrix)
    rules = _leaf_rules(clf, names, xs, cart.sep)
    rows = []
    for leaf in sorted(set(leaf_of)):
        inside = leaf_of == leaf
        m, hits = int(inside.sum()), int(y[inside].sum())
        conds = rules[int(leaf)]
        rows.append({
            "leaf": int(leaf),
            "rule": " and ".join(conds.values()) or "(every run)",
            "conditions": conds,
            "runs": m,
            "interest": hits,
            "density": hits / m,
            "coverage": hits / k,
            "mass": m / n,
        })  # fmt: skip
    leaves = pd.DataFrame(rows).sort_values(["density", "runs"], ascending=False, kind="stable")
    accuracy = float((clf.predict(cart.matrix) == y).mean())
    cv = math.nan
    used_folds = 0
    if groups is not None:
        from sklearn.model_selection import GroupKFold, cross_val_score

        groups = np.asarray(groups)
        used_folds = min(folds, len(np.unique(groups)))
        if used_folds >= 2:
            cv = float(np.mean(cross_val_score(cart.make_tree(), cart.matrix, y, groups=groups,
                                               cv=GroupKFold(n_splits=used_folds))))  # fmt: skip
        else:
            used_folds = 0
    return CartResult(leaves.reset_index(drop=True), clf, names, n, k, accuracy, cv,
                      max(k, n - k) / n, used_folds, seed, mass_min, max_depth)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Distributions across runs, and envelopes of per-round series

#: Quantiles of a distribution's whiskers and of an envelope's band.
BAND = (0.05, 0.95)
#: Groups of an envelope plot (more distinct values are binned into this many quantile bins).
ENVELOPE_GROUPS = 4


def run_groups(
    values: pd.Series, max_groups: int, bins: int | None = None
) -> tuple[pd.Series, list[Any], list[str]]:
    """Group runs by a parameter's values: (each run's group, the groups in order, their
    labels). Up to `max_groups` distinct values are groups of their own (labelled by the value);
    more numeric values are cut into `bins` (default `max_groups`) quantile bins of runs (fewer
    where values tie), each labelled by the range of the values inside, "low to high" (three
    significant digits), or by its one value."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    uniq = pd.unique(values.dropna())
    if not numeric or len(uniq) <= max_groups:
        order = sorted(uniq, key=lambda v: (str(type(v)), v))
        return values, order, [fmt(v) for v in order]
    codes = pd.qcut(values.astype(float), q=bins or max_groups, labels=False, duplicates="drop")
    lows = values.groupby(codes).min()
    highs = values.groupby(codes).max()
    order = sorted(lows.index)
    labels = [
        _short(lows[c]) if lows[c] == highs[c] else f"{_short(lows[c])} to {_short(highs[c])}"
        for c in order
    ]
    return codes, order, labels


def _short(v: Any) -> str:
    """A bin's end in three significant digits (a label, not a figure to compute with)."""
    v = float(v)
    return f"{v:.3g}" if abs(v) < 1e4 else fmt(v)


def distribution(
    ok: pd.DataFrame, metric: str, group: pd.Series | None = None, order: Sequence[Any] = (),
    labels: Sequence[str] = (), band: tuple[float, float] = BAND,
) -> pd.DataFrame:  # fmt: skip
    """A metric's distribution across runs with a value, overall (`group` None: one row,
    label "all runs") or by group (`group`: each run's group, as `run_groups` gives it, with its
    `order` and `labels`): `label`, `n` (runs with a value), `empty` (runs without), `low`,
    `q1`, `median`, `q3`, `high` (the `band` quantiles, 5 % and 95 %; NumPy's linear
    interpolation), `mean`."""
    if group is None:
        group = pd.Series(0, index=ok.index)
        order, labels = [0], ["all runs"]
    rows = []
    for level, label in zip(order, labels):
        v = ok.loc[group == level, metric].astype(float).to_numpy()
        x = v[np.isfinite(v)]
        qs = np.quantile(x, [band[0], 0.25, 0.5, 0.75, band[1]]) if len(x) else [math.nan] * 5
        rows.append({"level": level, "label": label, "n": len(x), "empty": len(v) - len(x),
                     "low": qs[0], "q1": qs[1], "median": qs[2], "q3": qs[3], "high": qs[4],
                     "mean": float(x.mean()) if len(x) else math.nan})  # fmt: skip
    return pd.DataFrame(rows)


def envelope(
    rounds: pd.DataFrame, column: str, group: pd.Series | None = None, order: Sequence[Any] = (),
    labels: Sequence[str] = (), band: tuple[float, float] = BAND,
) -> pd.DataFrame:  # fmt: skip
    """The envelope of a per-round series over runs: for each group of runs and each round,
    `n` (runs with a value that round), `median`, `low` and `high` (the `band` quantiles, 5 %
    and 95 %, NumPy's linear interpolation) of the rounds table's `column`. `group`: each
    run's group by run_id (as `run_groups` gives it for the runs table, indexed by run_id),
    with its `order` and `labels`; None: one group of every run in `rounds`, "all runs".
    Rounds of runs not in `group` (failed runs) are left out."""
    r = rounds[["run_id", "round", column]].copy()
    r[column] = r[column].astype(float)
    if group is None:
        r["_group"] = 0
        order, labels = [0], ["all runs"]
    else:
        r["_group"] = r["run_id"].map(group)
        r = r[r["run_id"].isin(group.index)]
    r = r[np.isfinite(r[column])]
    rows = []
    for level, label in zip(order, labels):
        sub = r[r["_group"] == level]
        for rnd, s in sub.groupby("round", sort=True):
            x = s[column].to_numpy()
            lo, med, hi = np.quantile(x, [band[0], 0.5, band[1]])
            rows.append({"level": level, "label": label, "round": int(rnd), "n": len(x),
                         "median": med, "low": lo, "high": hi})  # fmt: skip
    return pd.DataFrame(rows, columns=["level", "label", "round", "n", "median", "low", "high"])

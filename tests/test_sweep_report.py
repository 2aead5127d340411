"""The sweep report's statistics, checked by hand on small synthetic runs tables (the schema `load`
returns): t intervals of design points' means, bootstrap main effects over design points, Sobol
indices with SALib's intervals (Ishigami against its analytic indices), and what the page says
about replications, empty metrics and what each figure rests on. No sweep is run."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from negotiation.experiments import sweep_stats as st
from negotiation.experiments.sweep_report import render_report

# --- synthetic tables ---------------------------------------------------------------------------


def runs_table(params: dict[str, list], values: dict[str, list[list[float]]]) -> pd.DataFrame:
    """A runs table: point i has the parameter values params[p][i] and, for each metric, the
    replications values[m][i] (points may have different numbers of runs)."""
    rows = []
    n_points = len(next(iter(values.values())))
    for point in range(n_points):
        reps = len(next(iter(values.values()))[point])
        for rep in range(reps):
            rows.append(
                {
                    "point": point,
                    "replication": rep,
                    "seed": 1000 * point + rep,
                    **{p: v[point] for p, v in params.items()},
                    **{m: v[point][rep] for m, v in values.items()},
                    "status": "ok",
                    "error": None,
                }
            )
    df = pd.DataFrame(rows)
    df.insert(0, "run_id", range(len(df)))
    return df


def meta_for(runs: pd.DataFrame, params: list[str], metrics: list[str], *, kind: str = "grid",
             replications: int = 2, stats_: dict[str, str] | None = None,
             salib_problem: dict | None = None, second_order: bool = False) -> dict:  # fmt: skip
    n_points = int(runs["point"].max()) + 1
    return {
        "title": "synthetic",
        "spec_path": "synthetic.toml",
        "spec_text": "# synthetic\n",
        "scenario": {"name": "synthetic", "path": "synthetic.toml"},
        "root_seed": 11,
        "started": "2026-01-01T00:00:00+00:00",
        "ended": "2026-01-01T00:01:00+00:00",
        "git": None,
        "versions": {"bloc": "test"},
        "metrics": [
            {"name": m, "column": m, "stat": (stats_ or {}).get(m, "final"), "dtype": "float64"}
            for m in metrics
        ],
        "design": {
            "kind": kind,
            "n_points": n_points,
            "replications": replications,
            "n_runs": n_points * replications,
            "second_order": second_order,
            "parameters": [{"path": p, "log": False} for p in params],
            **({"salib_problem": salib_problem} if salib_problem else {}),
        },
    }


def text_of(page: str) -> str:
    """The page without figures and tags, one line per table row or paragraph."""
    page = re.sub(r"<svg.*?</svg>", "", page, flags=re.S)
    page = re.sub(r"</t[dh]>", " | ", page)
    page = re.sub(r"</(tr|p|li|h\d)>", "\n", page)
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", page))


# --- t intervals of a design point's mean -------------------------------------------------------


def test_t_interval_by_hand():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    iv = st.t_interval(x)
    mean, sd = x.mean(), x.std(ddof=1)
    half = stats.t.ppf(0.975, 3) * sd / 2  # sqrt(4) = 2
    assert (iv.n, iv.note) == (4, "")
    assert iv.mean == pytest.approx(3.5)
    assert (iv.low, iv.high) == pytest.approx((mean - half, mean + half))
    assert half == pytest.approx(3.182446305 * 2.6457513 / 2)  # t(0.975, 3) and sd, from tables
    # the same as scipy's own t interval
    assert (iv.low, iv.high) == pytest.approx(stats.t.interval(0.95, 3, mean, stats.sem(x)))


def test_t_interval_says_when_there_is_none():
    one = st.t_interval([5.0, math.nan])
    assert (one.n, one.note, one.mean) == (1, "n=1, no interval", 5.0)
    assert math.isnan(one.low) and one.text() == "5 (n=1, no interval)"
    same = st.t_interval([2.0, 2.0, 2.0])
    assert (same.n, same.note) == (3, "replications identical") and math.isnan(same.high)
    assert same.text() == "2 (replications identical)"
    none = st.t_interval([math.nan, math.nan])
    assert (none.n, none.text()) == (0, "no value")


def test_point_stats_by_hand():
    runs = runs_table(
        {"a": [0.0, 1.0, 2.0]},
        {"y": [[1.0, 2.0, 6.0], [4.0, math.nan, 5.0], [3.0, 3.0, 3.0]]},
    )
    pts = st.point_stats(runs, "y", ["a"])
    assert list(pts.index) == [0, 1, 2] and list(pts["a"]) == [0.0, 1.0, 2.0]
    assert list(pts["runs"]) == [3, 3, 3] and list(pts["n"]) == [3, 2, 3]
    assert list(pts["mean"]) == pytest.approx([3.0, 4.5, 3.0])
    half0 = stats.t.ppf(0.975, 2) * np.std([1, 2, 6], ddof=1) / math.sqrt(3)
    assert (pts.at[0, "low"], pts.at[0, "high"]) == pytest.approx((3 - half0, 3 + half0))
    half1 = stats.t.ppf(0.975, 1) * np.std([4, 5], ddof=1) / math.sqrt(2)  # the empty run left out
    assert (pts.at[1, "low"], pts.at[1, "high"]) == pytest.approx((4.5 - half1, 4.5 + half1))
    assert pts.at[2, "note"] == "replications identical" and math.isnan(pts.at[2, "low"])


def test_replications_identical():
    same = runs_table(
        {"a": [0, 1]}, {"y": [[1.0, 1.0], [math.nan, math.nan]], "z": [[2, 2], [3, 3]]}
    )
    assert st.replications_identical(same, ["y", "z"]) is True
    differ = runs_table({"a": [0, 1]}, {"y": [[1.0, 1.0], [2.0, math.nan]]})
    assert st.replications_identical(differ, ["y"]) is False  # empty in one run only differs
    single = runs_table({"a": [0, 1]}, {"y": [[1.0], [2.0]]})
    assert st.replications_identical(single, ["y"]) is None


# --- main effects: point means, bootstrap over design points ------------------------------------


def hand_bootstrap(x: np.ndarray, rng: np.random.Generator, b: int) -> tuple[float, float]:
    idx = rng.integers(0, len(x), size=(b, len(x)))
    return tuple(np.quantile(x[idx].mean(axis=1), [0.025, 0.975]))


def test_main_effects_count_each_point_once_with_a_seeded_bootstrap():
    # a: two levels; at a=0 point 0 has four replications and points 1, 2 one each, so the mean of
    # the runs (1*4 + 5 + 9) / 6 = 3 differs from the mean of the point means (1 + 5 + 9) / 3 = 5
    runs = runs_table(
        {"a": [0, 0, 0, 1, 1, 1], "b": ["x", "y", "z", "x", "y", "z"]},
        {"y": [[1, 1, 1, 1], [5], [9], [2, 4], [6, math.nan], [math.nan, math.nan]]},
    )
    pts = st.point_stats(runs, "y", ["a", "b"])
    eff = st.main_effects(pts, "a", seed=123, n_resamples=500)
    assert list(eff["level"]) == [0, 1]
    assert list(eff["mean"]) == pytest.approx([5.0, 4.5])  # point 5 (both runs empty) left out
    assert list(eff["points"]) == [3, 2] and list(eff["points_total"]) == [3, 3]
    assert list(eff["runs"]) == [6, 3] and list(eff["runs_total"]) == [6, 6]
    rng = np.random.default_rng(123)  # drawn level after level, in order
    want0 = hand_bootstrap(np.array([1.0, 5.0, 9.0]), rng, 500)
    want1 = hand_bootstrap(np.array([3.0, 6.0]), rng, 500)
    assert (eff.at[0, "low"], eff.at[0, "high"]) == pytest.approx(want0)
    assert (eff.at[1, "low"], eff.at[1, "high"]) == pytest.approx(want1)
    # same seed, same interval; the interval is within the range of the point means
    again = st.main_effects(pts, "a", seed=123, n_resamples=500)
    pd.testing.assert_frame_equal(eff, again)
    assert 1 <= eff.at[0, "low"] < 5 < eff.at[0, "high"] <= 9
    # a level with one design point, or identical ones, has no interval and says so
    by_b = st.main_effects(pts, "b", seed=1)
    assert list(by_b["note"]) == ["", "", "1 design point, no interval"]
    assert list(by_b["mean"]) == pytest.approx([2.0, 5.5, 9.0])


def test_bootstrap_agrees_with_scipy_and_t_on_many_points():
    """A sanity check of the percentile bootstrap: scipy.stats.bootstrap's percentile method on the
    same data gives nearly the same interval, and both are near the t interval."""
    x = np.random.default_rng(5).normal(10, 2, size=200)
    ours = st.bootstrap_interval(x, np.random.default_rng(9), 4000)
    sp = stats.bootstrap((x,), np.mean, n_resamples=4000, method="percentile",
                         rng=np.random.default_rng(9)).confidence_interval  # fmt: skip
    t = st.t_interval(x)
    assert ours.low == pytest.approx(sp.low, abs=0.05) and ours.high == pytest.approx(
        sp.high, abs=0.05
    )
    assert ours.low == pytest.approx(t.low, abs=0.08) and ours.high == pytest.approx(
        t.high, abs=0.08
    )


def test_stream_seed_is_stable_and_never_zero():
    assert st.stream_seed(11, "y", "a") == st.stream_seed(11, "y", "a")
    assert st.stream_seed(11, "y", "a") != st.stream_seed(11, "y", "b")
    assert st.stream_seed(0) != 0 and st.stream_seed(12, "y") != st.stream_seed(11, "y")


# --- Sobol indices ------------------------------------------------------------------------------

ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]
ISHIGAMI_S13 = 0.2437


@pytest.fixture(scope="module")
def ishigami():
    """Ishigami on a Saltelli layout (base 1024, second order), each point run twice with +d and
    -d noise, so that the point means are exactly the function and the runs differ."""
    from SALib.sample import sobol as saltelli
    from SALib.test_functions import Ishigami

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3}
    x = saltelli.sample(problem, 1024, calc_second_order=True, seed=3)
    y = Ishigami.evaluate(x)
    d = 0.5 + np.abs(np.sin(np.arange(len(y))))  # some noise, the same size in both runs
    runs = runs_table(
        {f"x{i + 1}": list(x[:, i]) for i in range(3)},
        {"y": [[v + e, v - e] for v, e in zip(y, d)]},
    )
    meta = meta_for(runs, ["x1", "x2", "x3"], ["y"], kind="sobol", salib_problem=problem,
                    second_order=True)  # fmt: skip
    return problem, y, runs, meta


def test_sobol_on_point_means_matches_ishigami_and_salib(ishigami):
    from SALib.analyze import sobol

    problem, y, runs, meta = ishigami
    means = st.point_stats(runs, "y")["mean"]
    np.testing.assert_allclose(means.to_numpy(), y, rtol=1e-12, atol=1e-12)
    res = st.sobol_indices(means, meta["design"], seed=77, num_resamples=300)
    assert not isinstance(res, str)
    assert (res.base, res.n_points) == (1024, 1024 * 8)
    np.testing.assert_allclose(res.first["S1"], ISHIGAMI_S1, atol=0.05)
    np.testing.assert_allclose(res.first["ST"], ISHIGAMI_ST, atol=0.05)
    pairs = res.second.set_index(["a", "b"])
    assert pairs.at[("x1", "x3"), "S2"] == pytest.approx(ISHIGAMI_S13, abs=0.05)
    assert abs(pairs.at[("x1", "x2"), "S2"]) < 0.05 and abs(pairs.at[("x2", "x3"), "S2"]) < 0.05
    # the intervals are SALib's own, with the same seed and number of resamples
    direct = sobol.analyze(problem, y, calc_second_order=True, num_resamples=300, conf_level=0.95,
                           seed=77)  # fmt: skip
    np.testing.assert_allclose(res.first["S1_conf"], direct["S1_conf"])
    np.testing.assert_allclose(res.first["ST_conf"], direct["ST_conf"])
    assert pairs.at[("x1", "x3"), "S2_conf"] == pytest.approx(direct["S2_conf"][0, 2])
    # and the analytic values lie within them (for this seed)
    assert (np.abs(res.first["S1"] - ISHIGAMI_S1) <= res.first["S1_conf"]).all()


def test_sobol_convergence_uses_the_start_of_the_layout(ishigami):
    """At base n the indices come from the first n x (2D + 2) points (a Saltelli layout of base
    n, as SALib draws it); at the full base they are the page's indices; they approach
    Ishigami's analytic indices as n grows."""
    from SALib.analyze import sobol
    from SALib.sample import sobol as saltelli
    from SALib.test_functions import Ishigami

    problem, y, runs, meta = ishigami
    means = st.point_stats(runs, "y")["mean"]
    curve = st.sobol_convergence(means, meta["design"], seed=5, num_resamples=100)
    assert sorted(curve["base"].unique()) == [4, 8, 16, 32, 64, 128, 256, 512, 1024]
    at = curve.set_index(["base", "parameter"])
    full = st.sobol_indices(means, meta["design"], seed=5, num_resamples=100)
    np.testing.assert_allclose(at.loc[1024][["S1", "S1_conf", "ST", "ST_conf"]], full.first)
    x64 = saltelli.sample(problem, 64, calc_second_order=True, seed=3)
    np.testing.assert_allclose(x64, saltelli.sample(problem, 1024, calc_second_order=True,
                                                    seed=3)[: 64 * 8])  # fmt: skip
    direct = sobol.analyze(problem, Ishigami.evaluate(x64), calc_second_order=True,
                           num_resamples=100, conf_level=0.95, seed=5)  # fmt: skip
    np.testing.assert_allclose(at.loc[64]["S1"], direct["S1"], atol=1e-9)
    np.testing.assert_allclose(at.loc[64]["ST_conf"], direct["ST_conf"], atol=1e-9)
    err = {n: np.abs(at.loc[n]["S1"].to_numpy() - ISHIGAMI_S1).max() for n in (4, 1024)}
    assert err[1024] < 0.05 and err[1024] < err[4]
    assert st.sobol_convergence(means.iloc[: 8 * 7], {**meta["design"], "n_points": 8 * 7},
                                seed=1) == (
        "not drawn: a base size of 7 gives fewer than two points on the curve"
    )  # fmt: skip


def test_sobol_says_why_not(ishigami):
    _, y, runs, meta = ishigami
    means = pd.Series(y)
    design = dict(meta["design"])
    assert st.sobol_indices(means.iloc[:-3], design, seed=1) == (
        f"not computed: no value at 3 of {len(y)} design points"
    )
    assert "same at every design point" in st.sobol_indices(means * 0 + 2, design, seed=1)


# --- the page -----------------------------------------------------------------------------------


def grid_runs(identical: bool) -> tuple[pd.DataFrame, dict]:
    """2 x 2 grid, 3 replications; first_fracture empty in some runs."""
    y = [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [3.0, 3.0, 3.0], [5.0, 5.0, 5.0]]
    if not identical:
        y = [[1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [3.0, 5.0, 4.0], [5.0, 6.0, 7.0]]
    ff = [[2.0, 2.0, 2.0], [math.nan] * 3, [4.0, 4.0, 4.0], [math.nan] * 3]
    if not identical:
        ff[1] = [3.0, math.nan, math.nan]
    runs = runs_table({"a": [0.0, 0.0, 1.0, 1.0], "b": [10, 20, 10, 20]},
                      {"y": y, "first_fracture": ff})  # fmt: skip
    meta = meta_for(runs, ["a", "b"], ["y", "first_fracture"], replications=3,
                    stats_={"first_fracture": "first_fracture"})  # fmt: skip
    return runs, meta


def test_page_of_identical_replications():
    runs, meta = grid_runs(identical=True)
    text = text_of(render_report(runs, meta))
    assert "4 design points with a successful run, 3 successful replications each" in text
    assert "Replications are identical" in text and "intervals reflect design points only" in text
    assert "0 | 0 | 10 | 3 | 1 (replications identical) | 2 (replications identical) |" in text
    assert "1 | 0 | 20 | 3 | 2 (replications identical) | no value |" in text
    assert (
        "first_fracture: 6 of 12 successful runs have a value; the means below average those 6 "
        "and leave out 6 empty runs (first_fracture is empty when no member left)."
    ) in text
    # main effects of y on a from point means: a=0 -> (1 + 2) / 2, a=1 -> (3 + 5) / 2
    pts = st.point_stats(runs, "y", ["a", "b"])
    eff = st.main_effects(pts, "a", seed=st.stream_seed(11, "y", "a"))
    row = (
        f"a | 0 | 2 of 2 | 6 of 6 | 1.5 [{st.fmt(eff.at[0, 'low'])}, {st.fmt(eff.at[0, 'high'])}] |"
    )
    assert row in text and eff.at[0, "low"] == 1.0 and eff.at[0, "high"] == 2.0
    assert "a | 1 | 2 of 2 | 6 of 6 | 4 [" in text
    # first_fracture at b=20: no design point has a value
    assert "b | 20 | 0 of 2 | 0 of 6 | no value |" in text
    assert "b | 10 | 2 of 2 | 6 of 6 | 3 [" in text
    # reproducible: the same page again (figures aside: matplotlib salts their ids)
    assert text_of(render_report(runs, meta)) == text


def test_page_of_differing_replications():
    runs, meta = grid_runs(identical=False)
    text = text_of(render_report(runs, meta))
    assert "Replications differ (design points where they do: y at 3, first_fracture at 1)" in text
    half = stats.t.ppf(0.975, 2) * np.std([1, 2, 3], ddof=1) / math.sqrt(3)
    assert f"0 | 0 | 10 | 3 | 2 [{st.fmt(2 - half)}, {st.fmt(2 + half)}] |" in text
    assert "3 (n=1, no interval) (1 runs with a value)" in text
    assert "first_fracture: 7 of 12 successful runs have a value" in text


def test_page_says_when_there_is_one_replication_and_shows_second_order(ishigami):
    _, _, runs, meta = ishigami
    one = runs[runs["replication"] == 0].copy()
    meta = {**meta, "design": {**meta["design"], "replications": 1}}
    text = text_of(render_report(one, meta))
    assert "No design point has two successful replications" in text
    assert "(n=1, no interval)" in text
    assert "First-order, second-order and total indices" in text
    assert re.search(r"x1 × x3 \| 0\.2\d\d ± 0\.\d\d\d \|", text)
    assert "Rests on 8192 design points (base size 1024)" in text and "rough indices" not in text
    assert (
        "Convergence: the indices of y from the first N x (D + 2) design points (N x (2D + 2) "
        "with second order; SALib's layout of base N is the start of the layout of base 2N), "
        "for N = 4, 8, 16, 32, 64, 128, 256, 512, 1024, each with SALib's 95 % interval."
    ) in text


# --- which metrics, which heatmap, blank cells --------------------------------------------------


def test_requested_metrics_come_before_at_most_n_per_mineral_ones():
    minerals = ["lithium", "nickel", "cobalt", "gallium"]
    rng = np.random.default_rng(3)
    n = 6
    values = {m: [[float(v)] for v in rng.normal(10, 1, n)] for m in ["final_size", "fund"]}
    # relative spread grows with the mineral's index: gallium varies most, lithium least
    for k, m in enumerate(minerals):
        values[f"mean_world_price_{m}"] = [[100.0 + (k + 1) * i] for i in range(n)]
    values["first_fracture"] = [[math.nan]] * (n - 1) + [[2.0]]
    runs = runs_table({"a": list(range(n))}, values)
    order = ["final_size", *(f"mean_world_price_{m}" for m in minerals), "first_fracture", "fund"]
    meta = meta_for(runs, ["a"], order, replications=1)
    meta["scenario"]["minerals"] = minerals
    for m in meta["metrics"]:
        if m["name"].startswith("mean_world_price_"):
            m["family"] = "mean_world_price"
    from negotiation.experiments.sweep_report import default_metrics

    ok = runs[runs["status"] == "ok"]
    assert default_metrics(ok, meta, 2) == [
        "final_size", "first_fracture", "fund", "mean_world_price_cobalt",
        "mean_world_price_gallium",
    ]  # fmt: skip
    assert default_metrics(ok, meta, 0) == ["final_size", "first_fracture", "fund"]
    # metadata from before `family`: recognised by name and the scenario's minerals
    for m in meta["metrics"]:
        m.pop("family", None)
    assert default_metrics(ok, meta, 1)[-1] == "mean_world_price_gallium"
    text = text_of(render_report(runs, meta, per_mineral=1))
    assert "Main effects on" not in text  # figures are stripped; the headings remain
    assert text.index("final_size: every one") < text.index("mean_world_price_gallium")


def sparse_grid() -> tuple[pd.DataFrame, dict]:
    """3 parameters; the combination a=1, c=1 is absent; y is empty at a=0, c=1."""
    a = [0, 0, 1, 1, 0]
    b = [5, 6, 5, 6, 5]
    c = [0, 0, 0, 0, 1]
    y = [[1.0, 2.0], [3.0, 3.0], [5.0, 6.0], [7.0, 8.0], [math.nan, math.nan]]
    runs = runs_table({"a": a, "b": b, "c": c}, {"y": y})
    return runs, meta_for(runs, ["a", "b", "c"], ["y"])


def test_heatmap_axes_can_be_chosen_and_blank_cells_are_explained():
    from negotiation.experiments.sweep_report import blank_cells_text, heatmap_cells
    from negotiation.experiments.sweep_spec import SpecError

    runs, meta = sparse_grid()
    text = text_of(render_report(runs, meta))
    assert "y over a (x) and b (y): the first two parameters" in text
    assert "No cell is blank." in text
    text = text_of(render_report(runs, meta, heatmap=["a", "c"]))
    assert "y over a (x) and c (y): --heatmap" in text
    assert "1 blank cell (marked “no point”) hold no design point" in text
    assert "1 blank cell (marked “no value”) hold design points, but y is empty" in text
    pts = st.point_stats(runs, "y", ["a", "b", "c"])
    cells = heatmap_cells(pts, "a", "c")
    # rows: c = 0, 1; columns: a = 0, 1; cell (c=0, a=0) is the mean of the points' means
    assert cells["grid"][0, 0] == (1.5 + 3.0) / 2 and cells["grid"][0, 1] == (5.5 + 7.5) / 2
    assert cells["points"].tolist() == [[2, 2], [1, 0]]
    assert cells["with_value"].tolist() == [[2, 2], [0, 0]]
    assert blank_cells_text(cells, "y", "").startswith("1 blank cell")
    meta["report"] = {"heatmap": ["c", "b"]}
    assert "y over c (x) and b (y): the spec's [report] heatmap" in text_of(
        render_report(runs, meta)
    )
    with pytest.raises(SpecError, match="did you mean 'c'"):
        render_report(runs, meta, heatmap=["a", "cc"])


# --- sensitivity of a Latin hypercube: PRCC and SRC ---------------------------------------------


def test_prcc_equals_the_partial_spearman_correlation_by_hand():
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(40, 2))
    x[:, 1] += 0.5 * x[:, 0]  # correlated parameters: partialling out matters
    y = np.exp(3 * x[:, 0]) - 2 * x[:, 1] + rng.normal(0, 0.3, 40)
    r = stats.spearmanr(np.column_stack([x, y])).statistic
    r1y, r2y, r12 = r[0, 2], r[1, 2], r[0, 1]
    hand1 = (r1y - r12 * r2y) / math.sqrt((1 - r12**2) * (1 - r2y**2))
    hand2 = (r2y - r12 * r1y) / math.sqrt((1 - r12**2) * (1 - r1y**2))
    assert st.prcc(x, y) == pytest.approx([hand1, hand2], abs=1e-12)
    # monotone in x1 alone, however curved: PRCC 1 for it, and x2 adds nothing
    assert st.prcc(x, np.exp(5 * x[:, 0]))[0] == pytest.approx(1.0)


def test_src_are_the_regression_slopes_in_standard_deviations():
    rng = np.random.default_rng(6)
    x = rng.uniform(size=(30, 2)) * [1.0, 10.0]
    y = 3.0 * x[:, 0] - 0.5 * x[:, 1] + 4.0  # exactly linear: R^2 = 1
    coef, r2 = st.src(x, y)
    hand = np.array([3.0, -0.5]) * x.std(axis=0) / y.std()
    assert coef == pytest.approx(hand, abs=1e-12) and r2 == pytest.approx(1.0)


def test_sensitivity_on_point_means_with_a_seeded_bootstrap():
    rng = np.random.default_rng(8)
    n = 30
    a, b = rng.uniform(size=n), rng.uniform(size=n)
    y = [[2 * a[i] + rng.normal(0, 0.05), 2 * a[i] + rng.normal(0, 0.05)] for i in range(n)]
    runs = runs_table({"a": list(a), "b": list(b), "kind": ["x", "y"] * (n // 2)}, {"y": y})
    pts = st.point_stats(runs, "y", ["a", "b"])
    res = st.sensitivity(pts, ["a", "b"], seed=4, n_resamples=300)
    means = pts["mean"].to_numpy()
    assert res["prcc"].tolist() == pytest.approx(list(st.prcc(np.column_stack([a, b]), means)))
    row = res.set_index("parameter")
    assert row.at["a", "prcc_low"] > 0.9 and row.at["a", "src"] == pytest.approx(1.0, abs=0.05)
    assert row.at["b", "prcc_low"] < 0 < row.at["b", "prcc_high"]  # no effect: 0 inside
    assert res.attrs["n"] == n and res.attrs["r2"] > 0.95
    again = st.sensitivity(pts, ["a", "b"], seed=4, n_resamples=300)
    pd.testing.assert_frame_equal(res, again)
    assert "too few" in st.sensitivity(pts.head(4), ["a", "b"], seed=4)
    meta = meta_for(runs, ["a", "b", "kind"], ["y"], kind="lhs")
    text = text_of(render_report(runs, meta))
    assert "Sensitivity (Latin hypercube)" in text
    assert "Left out (not numeric: ranks mean nothing there; see the main effects): kind." in text
    assert re.search(r"\na \| 0\.9\d\d \[0\.9\d\d, 0\.9\d\d\] \| ", text)
    assert f"Rests on {n} design points; R² of the linear regression" in text
    grid_page = text_of(render_report(*grid_runs(identical=False)))
    assert "Sensitivity" not in grid_page


# --- coalitions ---------------------------------------------------------------------------------


def test_coalitions_counted_by_hand():
    members = [["us+eu", "us+eu", "us"], ["us+eu", "", "us+eu+japan"]]
    runs = runs_table({"a": [0.0, 1.0]}, {"y": [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]})
    runs["final_members"] = [m for point in members for m in point]
    table = st.coalitions(runs)
    assert table.to_dict("records") == [
        {"coalition": "us+eu", "size": 2, "runs": 3, "share": 0.5, "points": 2},
        {"coalition": "(none)", "size": 0, "runs": 1, "share": 1 / 6, "points": 1},
        {"coalition": "us", "size": 1, "runs": 1, "share": 1 / 6, "points": 1},
        {"coalition": "us+eu+japan", "size": 3, "runs": 1, "share": 1 / 6, "points": 1},
    ]
    assert st.membership_shares(runs).to_dict() == {"us": 5 / 6, "eu": 4 / 6, "japan": 1 / 6}
    by_point = st.coalitions_by_point(runs)
    assert by_point.to_dict("records") == [
        {"point": 0, "runs": 3, "coalition": "us+eu", "share": 2 / 3, "distinct": 2},
        {"point": 1, "runs": 3, "coalition": "(none)", "share": 1 / 3, "distinct": 3},
    ]
    text = text_of(render_report(runs, meta_for(runs, ["a"], ["y"], replications=3)))
    assert "6 successful runs (the final_members metric): 4 distinct memberships" in text
    assert "us+eu | 2 | 3 | 50.0 % | 2 |" in text
    assert "us | 83.3 % |" in text
    assert "0 | 0 | 3 | us+eu | 67 % | 2 |" in text
    no_members = text_of(render_report(*grid_runs(identical=True)))
    assert "Add final_members to the spec's metrics" in no_members


# --- Morris screening ---------------------------------------------------------------------------


def morris_sweep(metric) -> tuple[pd.DataFrame, dict, object]:
    """A Morris design drawn from a spec as `bloc sweep` draws it (3 parameters, 8
    trajectories, 2 replications, y + 0.5 and y - 0.5, so that points with equal y have equal
    means to the last bit), and the metric computed from each point's values by
    `metric(a, b, c)`."""
    from negotiation.experiments.sweep_spec import make_design, parse_spec

    spec = parse_spec(
        {
            "seed": 21,
            "replications": 2,
            "design": {"kind": "morris", "size": 8},
            "parameters": {
                "a": {"uniform": [0.0, 2.0]},
                "b": {"uniform": [10.0, 20.0]},
                "c": {"values": [1, 2, 3]},
            },
        },
        "morris.toml",
    )
    design = make_design(spec)
    cols = {p: [pt[j] for pt in design.points] for j, p in enumerate("abc")}
    y = [metric(a, b, c) for a, b, c in zip(cols["a"], cols["b"], cols["c"])]
    runs = runs_table(cols, {"y": [[v + 0.5, v - 0.5] for v in y]})
    meta = meta_for(runs, ["a", "b", "c"], ["y"], kind="morris")
    meta["design"].update(salib_problem=design.salib_problem(), levels=design.levels,
                          unit_sample=design.unit.tolist())  # fmt: skip
    return runs, meta, design


def hand_elementary_effects(design, y: np.ndarray) -> dict[int, list[float]]:
    """Each step of each trajectory: the change of y over the change of the one parameter it
    moves, in shares of that parameter's range (the unit sample)."""
    effects: dict[int, list[float]] = {0: [], 1: [], 2: []}
    k = len(design.params)
    for t in range(len(y) // (k + 1)):
        rows = slice(t * (k + 1), (t + 1) * (k + 1))
        u, v = design.unit[rows], y[rows]
        for i in range(k):
            step = u[i + 1] - u[i]
            j = int(np.argmax(np.abs(step)))
            effects[j].append(float((v[i + 1] - v[i]) / step[j]))
    return effects


def test_morris_screens_out_a_parameter_without_effect():
    """b has no effect on y by construction: mu* = sigma = 0, and the page says so; a's and
    c's mu*, mu and sigma equal the elementary effects computed by hand."""
    runs, meta, design = morris_sweep(lambda a, b, c: 3.0 * a**2 + 2.0 * c)
    pts = st.point_stats(runs, "y", ["a", "b", "c"])
    res = st.morris_indices(pts["mean"], meta["design"], seed=9, num_resamples=200)
    assert not isinstance(res, str)
    assert (res.trajectories, res.n_points, res.levels) == (8, 32, 4)
    table = res.table
    assert table.at["b", "mu_star"] == 0.0 and table.at["b", "sigma"] == 0.0
    assert table.at["b", "mu_star_conf"] == 0.0
    effects = hand_elementary_effects(design, pts["mean"].to_numpy())
    for j, name in enumerate("abc"):
        ee = np.array(effects[j])
        assert len(ee) == 8
        assert table.at[name, "mu_star"] == pytest.approx(np.abs(ee).mean(), abs=1e-9)
        assert table.at[name, "mu"] == pytest.approx(ee.mean(), abs=1e-9)
        assert table.at[name, "sigma"] == pytest.approx(ee.std(ddof=1), abs=1e-9)
    assert table.at["c", "mu"] > 0 and table.at["a", "mu"] > 0  # y grows with a and c
    again = st.morris_indices(pts["mean"], meta["design"], seed=9, num_resamples=200)
    pd.testing.assert_frame_equal(table, again.table)

    text = text_of(render_report(runs, meta))
    assert "Morris screening" in text
    assert "No step of b changed y at any point tried (mu* = sigma = 0)." in text
    assert "b | 0 ± 0 | 0 | 0 |" in text
    seed = st.stream_seed(11, "y", "morris")
    a = st.morris_indices(pts["mean"], meta["design"], seed=seed).table.loc["a"]
    row = f"a | {st.fmt(a.mu_star)} ± {st.fmt(a.mu_star_conf)} | {st.fmt(a.mu)} | "
    assert row + f"{st.fmt(a.sigma)} |" in text
    assert "Rests on 8 trajectories of 4 design points each (32 points, a grid of 4 levels)" in text
    # ordered by mu*: b, with none, last
    assert text.index("\nb | 0 ± 0") > max(text.index("\na | "), text.index("\nc | "))


def test_morris_needs_a_value_at_every_point():
    runs, meta, _ = morris_sweep(lambda a, b, c: a + b)
    pts = st.point_stats(runs, "y", ["a", "b", "c"])
    assert st.morris_indices(pts["mean"].iloc[:-2], meta["design"], seed=1) == (
        "not computed: no value at 2 of 32 design points"
    )


# --- which settings make the bloc hold (PRIM) ---------------------------------------------------


def known_box_runs(n_points: int = 300) -> pd.DataFrame:
    """Runs (2 replications a point) where the bloc holds exactly when penalty > 0.6, floor
    < 0.3 and the instrument is border; `patience` has no part in it. Where it fails, half the
    runs lose a member (first_fracture 3) and half end with one member."""
    rng = np.random.default_rng(12)
    params = {
        "policy.penalty": list(rng.uniform(0, 1, n_points)),
        "policy.floor": list(rng.uniform(0, 1, n_points)),
        "policy.instrument": list(rng.choice(["border", "price_gap"], n_points)),
        "actors.japan.patience": list(rng.integers(1, 6, n_points)),
    }
    inside = [
        a > 0.6 and b < 0.3 and c == "border"
        for a, b, c in zip(params["policy.penalty"], params["policy.floor"],
                           params["policy.instrument"])
    ]  # fmt: skip
    size = [[3.0, 3.0] if h else [1.0, 3.0] for h in inside]
    fracture = [[math.nan, math.nan] if h else [math.nan, 3.0] for h in inside]
    return runs_table(params, {"final_size": size, "first_fracture": fracture}), inside


def test_holds_is_the_ensembles_definition():
    size = [[3.0], [1.0], [4.0]]
    fracture = [[math.nan], [math.nan], [2.0]]
    runs = runs_table({"a": [0.0, 1.0, 2.0]}, {"final_size": size, "first_fracture": fracture})
    assert st.holds(runs).tolist() == [True, False, False]
    from negotiation.experiments.ensemble import HOLDS_DOC

    assert st.HOLDS_DOC == HOLDS_DOC


def test_prim_finds_the_box_known_by_construction():
    runs, inside = known_box_runs()
    held = st.holds(runs)
    assert held.sum() == 2 * sum(inside)
    params = ["policy.penalty", "policy.floor", "policy.instrument", "actors.japan.patience"]
    res = st.prim_box(runs[params], held)
    assert not isinstance(res, str)
    assert res.reached and res.coverage >= 0.9 and res.density >= 0.9
    assert (res.n, res.n_interest) == (600, int(held.sum()))
    lim = res.limits.set_index("parameter")
    # exactly the three parameters of the rule, each on the side the rule restricts
    assert list(lim.index) == ["policy.penalty", "policy.floor", "policy.instrument"]
    assert 0.6 < lim.at["policy.penalty", "low"] < 0.65
    assert 0.25 < lim.at["policy.floor", "high"] < 0.35
    assert lim.at["policy.instrument", "values"] == ["border"]
    assert lim.at["policy.instrument", "full"] == ["border", "price_gap"]
    assert lim.at["policy.penalty", "qp_low"] < 1e-3 and lim.at["policy.floor", "qp_high"] < 1e-3
    assert np.isnan(lim.at["policy.penalty", "qp_high"]) and np.isnan(
        lim.at["policy.floor", "qp_low"]
    )
    # the box's statistics are what its limits select
    box = (
        runs["policy.penalty"].between(lim.at["policy.penalty", "low"],
                                       lim.at["policy.penalty", "high"])
        & runs["policy.floor"].between(lim.at["policy.floor", "low"],
                                       lim.at["policy.floor", "high"])
        & (runs["policy.instrument"] == "border")
    )  # fmt: skip
    assert res.n_in_box == int(box.sum())
    assert res.coverage == pytest.approx(held[box].sum() / held.sum())
    assert res.density == pytest.approx(held[box].mean())
    assert res.mass == pytest.approx(box.mean())
    # the trajectory ends at mass_min, and the box chosen is its best coverage at density 0.8
    t = res.trajectory
    dense = t[t["density"] >= 0.8]
    assert res.coverage == dense["coverage"].max()


def test_prim_says_why_not():
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    assert st.prim_box(x, [True] * 3) == "not computed: the outcome is true in all 3 runs"
    assert st.prim_box(x, [False] * 3) == "not computed: the outcome is false in all 3 runs"


def test_the_page_says_which_settings_make_the_bloc_hold():
    runs, inside = known_box_runs()
    params = ["policy.penalty", "policy.floor", "policy.instrument", "actors.japan.patience"]
    meta = meta_for(runs, params, ["final_size", "first_fracture"], kind="lhs",
                    stats_={"first_fracture": "first_fracture"})  # fmt: skip
    text = text_of(render_report(runs, meta))
    held = int(st.holds(runs).sum())
    assert "Which settings make the bloc hold?" in text
    assert f"It held in {held} of the 600 successful runs." in text
    res = st.prim_box(runs[params], st.holds(runs))
    assert (
        f"The box: coverage {res.coverage:.0%}, density {res.density:.0%}, mass {res.mass:.0%}: "
        f"{res.n_in_box} of the 600 runs are inside"
    ) in text
    low = st.fmt(res.limits.set_index("parameter").at["policy.penalty", "low"])
    assert re.search(
        rf"\npolicy\.penalty \| {re.escape(low)} to [\d.]+ \| [\d.]+ to [\d.]+ \| ", text
    )
    assert "\npolicy.instrument | border | border, price_gap | " in text
    # without the metrics that say whether it held, the page says what to add
    no_fracture = runs.drop(columns="first_fracture")
    meta2 = meta_for(no_fracture, params, ["final_size"], kind="lhs")
    assert "Add first_fracture to the spec's metrics" in text_of(render_report(no_fracture, meta2))


# --- which inputs matter most: feature scoring (extra trees) ------------------------------------


def driven_points(driver: str, n: int = 40, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """n design points of three numeric parameters and a categorical one; the outcome is
    driven by `driver` alone, with a little noise."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({
        "a": rng.uniform(0, 1, n),
        "b": rng.uniform(0, 1, n),
        "c": rng.uniform(0, 1, n),
        "kind": rng.choice(["p", "q", "r"], n),
    })  # fmt: skip
    effect = {"b": 10 * x["b"], "kind": x["kind"].map({"p": 0.0, "q": 10.0, "r": 3.0})}[driver]
    return x, (effect + rng.normal(0, 0.2, n)).to_numpy()


@pytest.mark.parametrize("driver", ["b", "kind"])
def test_feature_scores_rank_the_driving_input_first(driver):
    x, y = driven_points(driver)
    res = st.feature_scores(x, y, seed=5)
    assert not isinstance(res, str)
    # first, with more than twice the 1/4 of no preference, and 3 times any other's score
    assert res.scores.index[0] == driver and res.scores.iloc[0] > 0.5
    assert res.scores.iloc[0] > 3 * res.scores.iloc[1]
    assert set(res.scores.index) == {"a", "b", "c", "kind"}
    assert res.scores.sum() == pytest.approx(1.0)
    assert res.oob_r2 > 0.7 and (res.n, res.trees) == (40, st.FEATURE_TREES)
    # seeded: the same seed gives the same scores
    pd.testing.assert_series_equal(res.scores, st.feature_scores(x, y, seed=5).scores)
    # and it is EMA Workbench's extra-trees scoring, with that seed
    from ema_workbench.analysis.feature_scoring import get_ex_feature_scores
    from ema_workbench.analysis.scenario_discovery_util import RuleInductionType

    xs = x.assign(kind=x["kind"].astype(object))
    ema, _ = get_ex_feature_scores(xs, y, mode=RuleInductionType.REGRESSION, max_features=1,
                                   random_state=5)  # fmt: skip
    assert ema.iloc[:, 0].to_dict() == pytest.approx(res.scores.to_dict())


def test_feature_scores_of_noise_have_no_out_of_bag_fit():
    """An outcome no parameter drives: the scores are near 1/k and the out-of-bag R² (which
    the page tells readers to look at) is about zero or below."""
    x, _ = driven_points("b")
    y = np.random.default_rng(8).normal(0, 1, len(x))
    res = st.feature_scores(x, y, seed=5)
    assert res.oob_r2 < 0.1
    assert res.scores.max() < 0.45


def test_feature_scores_say_why_not():
    x, y = driven_points("b", n=6)
    assert st.feature_scores(x, np.full(6, 2.0), seed=1) == (
        "not computed: the same at every design point"
    )
    y = y.copy()
    y[2:] = np.nan
    assert st.feature_scores(x, y, seed=1) == (
        "not computed: 2 design points with a value, fewer than 5"
    )
    assert st.feature_scores(x[[]], y, seed=1) == "not computed: no parameter"


# --- which settings make the bloc hold: a classification tree (CART) -----------------------------


def test_cart_finds_the_rule_and_reads_a_categorical_leaf_right():
    """The bloc holds exactly when kind is q and a > 0.5: the tree's densest leaf is that rule,
    with every run that held; its statistics are counted from the runs it holds (EMA
    Workbench 3.0's own CART boxes drop the split `kind = q` and would give it density 0)."""
    rng = np.random.default_rng(4)
    n = 200
    x = pd.DataFrame({"a": rng.uniform(0, 1, n), "b": rng.uniform(0, 1, n),
                      "kind": rng.choice(["p", "q", "r"], n)})  # fmt: skip
    held = ((x["kind"] == "q") & (x["a"] > 0.5)).to_numpy()
    points = np.arange(n) // 2  # two runs a design point
    res = st.cart_tree(x, held, seed=3, groups=points)
    assert not isinstance(res, str)
    top = res.leaves.iloc[0]
    assert top["density"] == 1.0 and top["coverage"] == 1.0
    assert top["conditions"]["kind"] == "kind = q"
    a = top["conditions"]["a"]
    threshold = float(a.removeprefix("a > "))
    assert 0.45 < threshold <= 0.5 + 1e-9 or a.startswith("a > 0.5")
    # the leaf's runs, counted by hand from its rule
    inside = (x["kind"] == "q") & (x["a"] > threshold)
    assert top["runs"] == inside.sum() and top["interest"] == held.sum()
    assert top["mass"] == pytest.approx(inside.mean())
    assert res.leaves["runs"].sum() == n and res.leaves["interest"].sum() == held.sum()
    assert "b" not in " ".join(res.leaves["rule"])  # b has no part in it
    assert res.accuracy == 1.0 and res.cv_accuracy > res.base_rate
    assert res.base_rate == pytest.approx(1 - held.mean()) and res.folds == 5
    # every leaf has at least mass_min of the runs; the tree is at most CART_DEPTH deep
    assert res.leaves["runs"].min() >= int(st.CART_MASS_MIN * n)
    assert res.tree.get_depth() <= st.CART_DEPTH
    # seeded: the same tree again
    again = st.cart_tree(x, held, seed=3, groups=points)
    pd.testing.assert_frame_equal(res.leaves, again.leaves)


def test_cart_inputs_are_emas_own_matrix():
    """The tree is fitted on `cart_inputs`, the cases encoded as EMA Workbench's CART encodes
    them (numbers as they are, a 0/1 column per category, EMA's names): equal to the matrix EMA
    keeps private (`CART._x`), a "scenario" column dropped as EMA drops it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis.cart import CART

    rng = np.random.default_rng(5)
    n = 40
    x = pd.DataFrame({"a": rng.uniform(0, 1, n), "kind": rng.choice(["p", "q", "r"], n),
                      "on": rng.choice(["True", "False"], n).astype(object),
                      "scenario": np.arange(n)})  # fmt: skip
    y = rng.uniform(0, 1, n) > 0.5
    ema = CART(x, y)
    matrix, names = st.cart_inputs(ema.x, ema.sep)
    assert names == ema.feature_names and "scenario" not in names
    assert matrix.dtype == ema._x.dtype and matrix.shape == ema._x.shape
    np.testing.assert_array_equal(matrix, ema._x)


def test_cart_says_why_not():
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    assert st.cart_tree(x, [True] * 3, seed=1) == "not computed: the outcome is true in all 3 runs"
    assert st.cart_tree(x[[]], [True, False, True], seed=1) == "not computed: no parameter"


# --- distributions across runs and envelopes over rounds -----------------------------------------


def test_run_groups_levels_and_quantile_bins():
    few = pd.Series([0.3, 0.1, 0.1, 0.2])
    group, order, labels = st.run_groups(few, 4)
    assert order == [0.1, 0.2, 0.3] and labels == ["0.1", "0.2", "0.3"] and group.equals(few)
    many = pd.Series(np.arange(12, dtype=float))
    group, order, labels = st.run_groups(many, 4)
    assert order == [0, 1, 2, 3] and labels == ["0 to 2", "3 to 5", "6 to 8", "9 to 11"]
    assert list(group) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    cats = pd.Series(["b", "a", "b"])
    assert st.run_groups(cats, 4)[2] == ["a", "b"]
    # more levels than max_groups: `bins` bins, a bin of one value labelled by it
    ties = pd.Series([0.0] * 6 + [5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    group, order, labels = st.run_groups(ties, 4, bins=2)  # the median, 2.5, splits them
    assert labels == ["0", "5 to 10"] and list(group) == [0] * 6 + [1] * 6


def test_distribution_by_hand():
    values = [[1.0, 2.0, 9.0], [4.0, math.nan, 5.0], [7.0, 8.0, 3.0]]
    runs = runs_table({"a": [0.0, 1.0, 1.0]}, {"y": values})
    overall = st.distribution(runs, "y").iloc[0]
    x = np.array([1.0, 2.0, 9.0, 4.0, 5.0, 7.0, 8.0, 3.0])
    assert (overall["label"], overall["n"], overall["empty"]) == ("all runs", 8, 1)
    assert overall["low"] == pytest.approx(np.quantile(x, 0.05))
    assert overall["median"] == pytest.approx(4.5) and overall["mean"] == pytest.approx(39 / 8)
    group, order, labels = st.run_groups(runs["a"], 8)
    by = st.distribution(runs, "y", group, order, labels).set_index("label")
    at1 = np.array([4.0, 5.0, 7.0, 8.0, 3.0])
    assert by.at["1", "n"] == 5 and by.at["1", "empty"] == 1
    for col, q in [("low", 0.05), ("q1", 0.25), ("median", 0.5), ("q3", 0.75), ("high", 0.95)]:
        assert by.at["1", col] == pytest.approx(np.quantile(at1, q))
        assert by.at["0", col] == pytest.approx(np.quantile([1.0, 2.0, 9.0], q))
    # by hand, NumPy's linear interpolation: sorted 3, 4, 5, 7, 8; 95 % at position 0.95 x 4
    assert by.at["1", "high"] == pytest.approx(7.0 + 0.8 * (8.0 - 7.0))


def rounds_table(series: dict[int, list[float]]) -> pd.DataFrame:
    """A rounds table: run_id -> the column x over rounds 0, 1, ..."""
    rows = [{"run_id": r, "round": k, "x": v} for r, xs in series.items()
            for k, v in enumerate(xs)]  # fmt: skip
    return pd.DataFrame(rows)


def test_envelope_band_by_hand_from_the_rounds_table():
    rounds = rounds_table({
        0: [1.0, 2.0, 3.0],
        1: [1.0, 4.0, 5.0],
        2: [1.0, 6.0, 9.0],
        3: [1.0, 10.0],          # a run with fewer rounds
        4: [1.0, 0.0, 0.0],
        5: [9.0, 9.0, 9.0],      # a failed run: not in the runs given
    })  # fmt: skip
    group = pd.Series({0: "lo", 1: "lo", 2: "lo", 3: "lo", 4: "hi"})
    env = st.envelope(rounds, "x", group, ["lo", "hi"], ["low group", "high group"])
    lo = env[env["level"] == "lo"].set_index("round")
    assert list(lo.index) == [0, 1, 2] and list(lo["n"]) == [4, 4, 3]
    for rnd, xs in {0: [1.0] * 4, 1: [2.0, 4.0, 6.0, 10.0], 2: [3.0, 5.0, 9.0]}.items():
        assert lo.at[rnd, "median"] == pytest.approx(np.median(xs))
        assert lo.at[rnd, "low"] == pytest.approx(np.quantile(xs, 0.05))
        assert lo.at[rnd, "high"] == pytest.approx(np.quantile(xs, 0.95))
    # by hand, NumPy's linear interpolation: round 1's 95 % is 6 + (0.95 * 3 - 2) * (10 - 6)
    assert lo.at[1, "high"] == pytest.approx(6 + 0.85 * 4)
    assert lo.at[1, "low"] == pytest.approx(2 + 0.15 * 2)
    hi = env[env["level"] == "hi"]
    assert list(hi["median"]) == [1.0, 0.0, 0.0] and set(hi["label"]) == {"high group"}
    assert 9.0 not in set(env["high"])  # the failed run is left out
    everything = st.envelope(rounds, "x")
    assert list(everything["n"]) == [6, 6, 5] and set(everything["label"]) == {"all runs"}


def series_sweep() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """A grid of 12 points x 2 replications where y (the mean of the rounds column x) is
    driven by b; a second parameter a does nothing; the bloc holds where b > 1."""
    a = [0.0, 1.0, 2.0] * 4
    b = [0.0] * 3 + [1.0] * 3 + [2.0] * 3 + [3.0] * 3
    per_run = []
    for i in range(12):
        per_run.append([[b[i] * r + 0.1 * rep for r in range(4)] for rep in range(2)])
    y = [[float(np.mean(s[1:])) for s in runs] for runs in per_run]
    size = [[3.0, 3.0] if b[i] > 1 else [1.0, 1.0] for i in range(12)]
    fracture = [[math.nan, math.nan]] * 12
    runs = runs_table({"a": a, "b": b}, {"y": y, "final_size": size, "first_fracture": fracture})
    rounds = rounds_table({2 * i + rep: per_run[i][rep] for i in range(12) for rep in range(2)})
    meta = meta_for(runs, ["a", "b"], ["y", "final_size", "first_fracture"],
                    stats_={"first_fracture": "first_fracture"})  # fmt: skip
    for m in meta["metrics"]:
        if m["name"] == "y":
            m.update(column="x", stat="mean")
    meta["columns"] = {"runs": {"y": {"unit": "USD/t"}}, "rounds": {"x": {"unit": "USD/t"}}}
    return runs, rounds, meta


def test_the_page_shows_feature_scores_distributions_envelopes_and_a_tree():
    runs, rounds, meta = series_sweep()
    page = render_report(runs, meta, ["y"], rounds=rounds)
    text = text_of(page)
    # feature scoring: b first for y and for the bloc holding, with what it rests on
    assert "Which inputs matter most (feature scoring)" in text
    pts = st.point_stats(runs, "y", ["a", "b"])
    seed = st.stream_seed(11, "y", "feature_scores")
    res = st.feature_scores(pts[["a", "b"]], pts["mean"], seed=seed)
    assert res.scores.index[0] == "b"
    row = (f"\ny | {res.scores['a']:.3f} | {res.scores['b']:.3f} | {res.oob_r2:.2f} | "
           "12 (24) |")  # fmt: skip
    assert row in text
    assert "<td><b>" + f"{res.scores['b']:.3f}" + "</b></td>" in page
    assert "\nbloc holds (share of runs) | " in text
    # distributions: y grouped by b (its highest score), 5-95 % by hand
    assert "Distributions across runs" in text
    x = runs["y"].to_numpy()
    assert (f"y (USD/t): median {st.fmt(float(np.median(x)))}, 5-95 % of runs between "
            f"{st.fmt(float(np.quantile(x, 0.05)))} and {st.fmt(float(np.quantile(x, 0.95)))}"
            ) in text  # fmt: skip
    assert "over 24 runs. By b: y's highest feature score." in text
    # envelopes: the rounds column behind y, grouped by b, 24 runs a round
    assert "Over the rounds (envelopes)" in text
    assert ("x (USD/t) (behind y), rounds 0 to 3, 24 runs a round; grouped by b: y's highest "
            "feature score.") in text  # fmt: skip
    # a classification tree of the bloc holding splits on b
    assert "A classification tree (CART)" in text
    assert re.search(r"\n#\d+ \| b > 1\.5 \| 12 \| 12 \| 100% \| 100% \| 50% \|", text)
    assert "Rests on 24 runs (12 design points); the bloc held in 12." in text
    # --group and --series; reproducible
    text2 = text_of(render_report(runs, meta, ["y"], rounds=rounds, group="a", series=["x"]))
    assert "over 24 runs. By a: as asked." in text2
    assert "x (USD/t) (behind y), rounds 0 to 3, 24 runs a round; grouped by a: as asked." in text2
    assert text_of(render_report(runs, meta, ["y"], rounds=rounds)) == text


def test_the_page_without_rounds_and_bad_options():
    from negotiation.experiments.sweep_spec import SpecError

    runs, rounds, meta = series_sweep()
    text = text_of(render_report(runs, meta, ["y"]))
    assert "Envelopes of the per-round series need the rounds table" in text
    with pytest.raises(SpecError) as e:
        render_report(runs, meta, ["y"], rounds=rounds, group="bb", series=["xx", "round"])
    problems = e.value.problems
    assert problems[0].startswith("--group bb: not a parameter of this sweep (did you mean")
    assert problems[1].startswith("--series xx: not a numeric column of the rounds table")
    assert problems[2].startswith("--series round: not a numeric column")
    with pytest.raises(SpecError, match="--series: this sweep has no rounds table"):
        render_report(runs, meta, ["y"], series=["x"])
    meta["report"] = {"group": "a"}
    assert "By a: as asked." in text_of(render_report(runs, meta, ["y"]))

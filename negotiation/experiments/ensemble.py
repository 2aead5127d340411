"""`bloc ensemble`: one scenario run many times, its outcomes read as probabilities.

    from negotiation.experiments.ensemble import run_ensemble
    ens = run_ensemble("ministerial-2026", runs=100, seed=0, workers=2)
    ens.p_holds, ens.p_holds_ci      # P(the bloc holds to the end) and its 95 % interval
    ens.p_member                     # country -> P(in the bloc at the end)
    ens.outcomes                     # each final membership, most likely first
    ens.bands(["world_price_lithium"])   # per round: 5th, 50th, 95th percentile over runs
    ens.summary()                    # last round: median, 90 % band and mean over runs

Run i (0-based) takes the seed `run_seed(seed, i)` = SeedSequence(seed, spawn_key=(i,)), as a
63-bit integer: the i-th child of `SeedSequence(seed).spawn(...)`, computed alone (the sweep's
`negotiation.experiments.sweep.run_seed`). So an ensemble is the same whatever the number of
workers, an ensemble of 200 runs starts with the 100 of an ensemble of 100, and `bloc run SCENARIO
--seed S` (with the same `--rounds` and `--set`) replays a run alone from the seed in its row.

"Holds": at the last round the bloc has at least two members and no member left it during the
run (`first_fracture`, the first round in which a member of the round before is no longer one, as
the sweep's metric, is empty). Joining is not leaving: a bloc that grows holds.

Every probability is a share of the runs, k of n, with a 95 % Wilson score interval
(`scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`): what n runs can tell.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from negotiation.engine.scenario import DEFAULT_SCENARIO, Scenario, load_scenario, scenario_to_dict
from negotiation.experiments.records import write_table
from negotiation.experiments.sweep import auto_batch, exit_with, run_seed
from negotiation.experiments.sweep_spec import first_fracture, scenario_with

if TYPE_CHECKING:
    from negotiation.engine.model import BlocModel

__all__ = [
    "BANDS",
    "LEVEL",
    "MODEL_KWARGS",
    "Ensemble",
    "EnsembleCancelled",
    "proportion_ci",
    "run_ensemble",
    "write_ensemble",
]

#: BlocModel keyword arguments `run_ensemble(model_kwargs=...)` passes on (the app's levers).
MODEL_KWARGS = (
    "floors",
    "instrument",
    "penalty",
    "cost_sharing",
    "partners",
    "offtake_share",
    "offtake_shares",
    "stockpile_fund",
    "supplier_strategy",
    "aggressiveness",
    "strategies",
    "weights",
    "patience",
)
#: The confidence level of the intervals around probabilities.
LEVEL = 0.95
#: The quantiles of `Ensemble.bands` by default: a 90 % band and the median.
BANDS = (0.05, 0.5, 0.95)
#: How a run's seed is made from the root seed (written to meta.json).
SEEDS_DOC = (
    "run i: SeedSequence(root_seed, spawn_key=(i,)).generate_state(1, uint64)[0] >> 1, the i-th "
    "child of SeedSequence(root_seed).spawn(n) as a 63-bit integer "
    "(negotiation.experiments.sweep.run_seed)"
)
HOLDS_DOC = (
    "at the last round the bloc has at least two members, and no member left it during the run"
)
#: Mineral-level columns of the rounds table, after n_members and fiscal_cost.
ROUND_PREFIXES = ("world_price", "bloc_price", "supplier_share")


class EnsembleCancelled(Exception):
    """`cancel` was set: the ensemble stopped after `done` of its `total` runs (none kept)."""

    def __init__(self, done: int, total: int):
        self.done, self.total = done, total
        super().__init__(f"ensemble cancelled after {done} of {total} runs")


def proportion_ci(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n at `level` (nan, nan when n is 0)."""
    if n <= 0:
        return (math.nan, math.nan)
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return (float(ci.low), float(ci.high))


# ------------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True, eq=False)
class Ensemble:
    """The runs of one scenario with spawned seeds (see the module's docstring).

    runs: one row per run: run, seed, final_members ("+"-joined ids, "" for nobody),
    final_size, holds, first_fracture (nullable Int64: empty if no member ever left), and
    in_<country> (bool) for each country. rounds: one row per run and round, round 0 (the
    opening position) included: run, round, n_members, fiscal_cost (USD/yr) and per mineral
    world_price_<m>, bloc_price_<m> (USD/t), supplier_share_<m> (share of world supply, 0-1).
    """

    runs: pd.DataFrame
    rounds: pd.DataFrame
    scenario: str
    seed: int
    n: int
    countries: tuple[str, ...] = ()
    minerals: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)

    # -- probabilities ------------------------------------------------------------------------

    @property
    def n_rounds(self) -> int:
        """The rounds each run simulated (its last round's number)."""
        return int(self.rounds["round"].max()) if len(self.rounds) else 0

    @property
    def p_holds(self) -> float:
        """P(the bloc holds to the end): the share of runs in which, at the last round, the bloc
        has at least two members and no member left it during the run (`holds`)."""
        return float(self.runs["holds"].mean()) if self.n else math.nan

    @property
    def p_holds_ci(self) -> tuple[float, float]:
        """The 95 % Wilson interval of `p_holds`."""
        return proportion_ci(int(self.runs["holds"].sum()), self.n)

    @property
    def p_member(self) -> pd.Series:
        """Country id -> P(in the bloc at the end), in the scenario's order of countries."""
        s = pd.Series({c: float(self.runs[f"in_{c}"].mean()) for c in self.countries}, dtype=float)
        s.index.name = "country"
        return s.rename("p_member")

    @property
    def p_member_ci(self) -> pd.DataFrame:
        """Per country: runs (in at the end, out of n), p, and the 95 % interval (low, high)."""
        rows = []
        for c in self.countries:
            k = int(self.runs[f"in_{c}"].sum())
            lo, hi = proportion_ci(k, self.n)
            rows.append({"country": c, "runs": k, "p": k / self.n, "low": lo, "high": hi})
        return pd.DataFrame(rows, columns=["country", "runs", "p", "low", "high"]).set_index(
            "country"
        )

    @property
    def outcomes(self) -> pd.DataFrame:
        """Each distinct final membership: members ("+"-joined ids), size, runs (how many ended
        with it), p, and the 95 % interval (low, high); most likely first, ties by members."""
        counts = self.runs.groupby("final_members", sort=True)["run"].count()
        sizes = self.runs.groupby("final_members", sort=True)["final_size"].first()
        df = pd.DataFrame(
            {"members": counts.index, "size": sizes.to_numpy(), "runs": counts.to_numpy()}
        )
        df = df.sort_values(["runs", "members"], ascending=[False, True], kind="stable")
        df["p"] = df["runs"] / self.n
        ci = [proportion_ci(k, self.n) for k in df["runs"]]
        df["low"] = [c[0] for c in ci]
        df["high"] = [c[1] for c in ci]
        return df.reset_index(drop=True)

    # -- distributions ------------------------------------------------------------------------

    @property
    def value_columns(self) -> list[str]:
        """The rounds table's columns other than run and round."""
        return [c for c in self.rounds.columns if c not in ("run", "round")]

    def bands(self, columns: Sequence[str] | str | None = None, q: Sequence[float] = BANDS):
        """Per round, the quantiles `q` over runs of each rounds column (default: all), for fan
        charts. Wide: indexed by round (0 = the opening), columns a MultiIndex (column,
        quantile), so `bands()["world_price_lithium"][0.05]` is a Series by round. Quantiles
        interpolate linearly between runs (numpy's and pandas' default)."""
        cols = [columns] if isinstance(columns, str) else list(columns or self.value_columns)
        unknown = [c for c in cols if c not in self.value_columns]
        if unknown:
            raise KeyError(f"not a rounds column: {', '.join(unknown)}")
        qs = [float(x) for x in q]
        out = self.rounds.groupby("round")[cols].quantile(qs).unstack(level=-1)
        out = out.reindex(columns=pd.MultiIndex.from_product([cols, qs]))
        out.columns.names = ["column", "quantile"]
        return out.astype(float)

    def last_round(self) -> pd.DataFrame:
        """Each run's last round (one row per run, in run order)."""
        return self.rounds.drop_duplicates("run", keep="last").reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """At the last round, over runs: median, p05 and p95 (the 90 % band: 5th and 95th
        percentiles) and mean of each mineral's world price (USD/t), the fiscal cost (USD/yr)
        and each mineral's supplier share (share of world supply, 0-1). Indexed by a label
        with the unit."""
        last = self.last_round()
        items = [(f"world price {m} (USD/t)", f"world_price_{m}") for m in self.minerals]
        items.append(("fiscal cost (USD/yr)", "fiscal_cost"))
        items += [(f"supplier share {m} (0-1)", f"supplier_share_{m}") for m in self.minerals]
        rows = []
        for label, col in items:
            x = last[col].to_numpy(dtype=float)
            lo, med, hi = np.quantile(x, [0.05, 0.5, 0.95])
            rows.append(
                {"quantity": label, "column": col, "median": med, "p05": lo, "p95": hi,
                 "mean": float(np.mean(x))}
            )  # fmt: skip
        return pd.DataFrame(rows).set_index("quantity")

    # -- printing -----------------------------------------------------------------------------

    def text(self, top: int = 5) -> str:
        """The report `bloc ensemble` prints: probabilities with their intervals, then the
        distribution of prices, fiscal cost and supplier share at the last round."""
        n = self.n
        k = int(self.runs["holds"].sum())
        lo, hi = self.p_holds_ci
        name = self.names.get
        lines = [
            f"{self.scenario} — ensemble of {n} runs of {self.n_rounds} rounds, root seed "
            f"{self.seed}",
            "(run i's seed is spawned from the root seed: SeedSequence(root, spawn_key=(i,)); "
            "each run's seed is in the runs table)",
            "",
            f"The bloc holds to the end in {k} of {n} runs: P = {k / n:.2f} "
            f"(95% interval {lo:.2f}-{hi:.2f}, Wilson)",
            f"  (holds: {HOLDS_DOC})",
            "",
            "In the bloc at the end:",
            f"  {'country':<16} {'runs':>5} {'P':>6}   95% interval",
        ]
        for r in self.p_member_ci.itertuples():
            lines.append(
                f"  {name(r.Index, r.Index):<16} {r.runs:>5} {r.p:>6.2f}   {r.low:.2f}-{r.high:.2f}"
            )
        out = self.outcomes
        width = max([len("members"), *(len(m) for m in out["members"].head(top))]) + 2
        lines += [
            "",
            "Most likely final memberships:",
            f"  {'members':<{width}} {'runs':>5} {'P':>6}   95% interval",
        ]
        for r in out.head(top).itertuples():
            lines.append(
                f"  {r.members or '(nobody)':<{width}} {r.runs:>5} {r.p:>6.2f}   "
                f"{r.low:.2f}-{r.high:.2f}"
            )
        if len(out) > top:
            rest = out.iloc[top:]
            lines.append(
                f"  ... {len(rest)} other memberships in {int(rest['runs'].sum())} runs "
                f"(P = {rest['p'].sum():.2f})"
            )
        lines += [
            "",
            f"At the last round (round {self.n_rounds}), over runs: median and 90% band "
            "(5th-95th percentile), and mean",
            f"  {'':<34} {'median':>13} {'5%':>13} {'95%':>13} {'mean':>13}",
        ]
        for label, r in self.summary().iterrows():
            col = r["column"]
            if col == "fiscal_cost":
                label, scale, fmt = "fiscal cost (USD bn/yr)", 1e-9, "{:>13,.2f}"
            elif col.startswith("supplier_share_"):
                label, scale, fmt = label.replace("(0-1)", "(%)"), 100.0, "{:>13.1f}"
            else:
                scale, fmt = 1.0, "{:>13,.0f}"
            cells = " ".join(fmt.format(r[k] * scale) for k in ("median", "p05", "p95", "mean"))
            lines.append(f"  {label:<34} {cells}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class _Context:
    """What every run shares (sent once to each worker)."""

    scenario: Scenario
    rounds: int | None
    model_kwargs: dict[str, Any]


#: (run, seed)
_Item = tuple[int, int]
#: (the runs row, the rounds part)
_Result = tuple[dict[str, Any], pd.DataFrame]

_CTX: _Context | None = None


def _round_columns(model: BlocModel) -> list[str]:
    cols = ["n_members", "fiscal_cost"]
    for prefix in ROUND_PREFIXES:
        cols += [f"{prefix}_{m}" for m in model.minerals]
    return cols


def _record(model: BlocModel, run: int, seed: int) -> _Result:
    """A finished model as its runs row and rounds part."""
    df = model.rounds_df
    members = [str(m) for m in df["members"].tolist()]
    final = members[-1]
    ids = set(final.split("+")) - {""}
    fracture = first_fracture(df["round"].tolist(), members)
    size = int(df["n_members"].iloc[-1])
    row: dict[str, Any] = {
        "run": run,
        "seed": seed,
        "final_members": final,
        "final_size": size,
        "holds": size >= 2 and fracture is None,
        "first_fracture": fracture,
    }
    row.update({f"in_{c}": c in ids for c in model.countries})
    part = df[["round", *_round_columns(model)]].copy()
    part.insert(0, "run", run)
    return row, part


def _model(ctx: _Context, seed: int) -> BlocModel:
    """Run `seed`'s model. Its keyword arguments are copied: a Strategy object given in
    `strategies` must not carry one run's state into the next (nor differ by worker)."""
    from negotiation.engine.model import BlocModel

    kwargs = copy.deepcopy(ctx.model_kwargs)
    return BlocModel(ctx.scenario, rounds=ctx.rounds, rng=seed, **kwargs)


def _run_batch(items: Sequence[_Item], ctx: _Context | None = None) -> list[_Result]:
    ctx = ctx or _CTX
    if ctx is None:
        raise RuntimeError("_run_batch needs a context")
    out = []
    for run, seed in items:
        model = _model(ctx, seed)
        model.run()
        out.append(_record(model, run, seed))
    return out


def _init_worker(ctx: _Context, parent: int) -> None:
    """Pool initializer: Ctrl-C and SIGTERM are the parent's to handle (it stops the pool), end
    with the parent, keep the context."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exit_with(parent)
    global _CTX
    _CTX = ctx


def _executor(ctx: _Context, workers: int) -> cf.ProcessPoolExecutor:
    """A process pool as the sweep's: forkserver (the engine imported once, in the server), or
    spawn where there is none."""
    import multiprocessing

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    mp = multiprocessing.get_context(method)
    if method == "forkserver":
        mp.set_forkserver_preload(["negotiation.engine.model", "negotiation.experiments.ensemble"])
    return cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=mp, initializer=_init_worker, initargs=(ctx, os.getpid())
    )


def _kill(executor: cf.ProcessPoolExecutor) -> None:
    """Stop a pool now: pending batches cancelled, running ones abandoned (its workers ignore
    SIGINT and SIGTERM, so SIGKILL)."""
    for proc in list((getattr(executor, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.kill()
    executor.shutdown(wait=False, cancel_futures=True)


def _resolve(scenario: Scenario | str | Path, overrides: Mapping[str, Any] | None) -> Scenario:
    if not isinstance(scenario, Scenario):
        return load_scenario(scenario, dict(overrides) if overrides else None)
    if not overrides:
        return scenario
    return scenario_with(scenario_to_dict(scenario), scenario.meta.name, dict(overrides))


def run_ensemble(
    scenario: Scenario | str | Path = DEFAULT_SCENARIO,
    runs: int = 100,
    *,
    seed: int = 0,
    workers: int = 1,
    rounds: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Ensemble:
    """Run `scenario` `runs` times, run i with the seed `run_seed(seed, i)`, and collect them.

    Parameters
    ----------
    scenario
        A Scenario, or a built-in name or TOML path.
    runs
        How many runs (seeds).
    seed
        The ensemble's seed: run i is seeded by `run_seed(seed, i)`.
    workers
        1 runs here; more use a process pool, several runs per task. The result does not
        depend on it.
    rounds
        Overrides the scenario's number of rounds.
    overrides
        Dotted scenario paths to values, as `bloc run --set` applies them.
    model_kwargs
        BlocModel keyword arguments (MODEL_KWARGS: floors, penalty, instrument, strategies,
        ...), e.g. the app's levers.
    progress
        Called as `progress(done, total)` as runs finish (last with `(runs, runs)`).
    cancel
        When set, the ensemble stops promptly (the pool's workers are stopped) and raises
        EnsembleCancelled.

    Returns
    -------
    Ensemble
        The runs' outcomes (`runs`, `rounds`) and the probabilities and bands read from them.

    Raises
    ------
    ScenarioError
        A bad scenario or override, before any run.
    ValueError
        A bad argument, model keyword or value, or a seat played by a person, before any run.
    """
    if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 1:
        raise ValueError(f"runs must be a positive integer (got {runs!r})")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed!r})")
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers!r})")
    if rounds is not None and rounds < 1:
        raise ValueError(f"rounds must be at least 1 (got {rounds})")
    kwargs = dict(model_kwargs or {})
    unknown = sorted(set(kwargs) - set(MODEL_KWARGS))
    if unknown:
        raise ValueError(
            f"model_kwargs: not a lever: {', '.join(unknown)} (use {', '.join(MODEL_KWARGS)}; "
            "rounds and seed are arguments of their own)"
        )
    runs, seed, workers = int(runs), int(seed), int(workers)
    sc = _resolve(scenario, overrides)
    ctx = _Context(sc, rounds, kwargs)
    items = [(i, run_seed(seed, i)) for i in range(runs)]
    if cancel is not None and cancel.is_set():
        raise EnsembleCancelled(0, runs)

    # Run 0 here, first: it checks the arguments (a bad one raises before any pool starts) and
    # times a run for the pool's batches.
    first = _model(ctx, items[0][1])
    people = first.human_seats()
    if people:
        raise ValueError(
            f"{', '.join(people)} played by a person (strategy 'human'): an ensemble plays "
            "agents only"
        )
    t0 = time.perf_counter()
    first.run()
    seconds = time.perf_counter() - t0
    results = [_record(first, *items[0])]
    if progress is not None:
        progress(1, runs)
    rest = items[1:]
    if workers == 1 or len(rest) <= 1:
        for item in rest:
            if cancel is not None and cancel.is_set():
                raise EnsembleCancelled(len(results), runs)
            results += _run_batch([item], ctx)
            if progress is not None:
                progress(len(results), runs)
    elif rest:
        results += _run_pool(ctx, rest, workers, seconds, runs, progress, cancel)
    return _assemble(results, sc, seed, runs, first)


def _run_pool(
    ctx: _Context,
    items: Sequence[_Item],
    workers: int,
    seconds_per_run: float,
    total: int,
    progress: Callable[[int, int], None] | None,
    cancel: threading.Event | None,
) -> list[_Result]:
    size = auto_batch(seconds_per_run, len(items), workers)
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    done = total - len(items)
    out: list[_Result] = []
    executor = _executor(ctx, workers)
    try:
        pending = {executor.submit(_run_batch, b) for b in batches}
        while pending:
            if cancel is not None and cancel.is_set():
                raise EnsembleCancelled(done, total)
            finished, pending = cf.wait(pending, timeout=0.1, return_when=cf.FIRST_COMPLETED)
            for f in finished:
                got = f.result()
                out += got
                done += len(got)
                if progress is not None:
                    progress(done, total)
    except BaseException:  # cancelled, a run raised, Ctrl-C: stop the workers now
        _kill(executor)
        raise
    executor.shutdown(wait=True)
    return out


def _assemble(
    results: list[_Result], sc: Scenario, seed: int, n: int, model: BlocModel
) -> Ensemble:
    results = sorted(results, key=lambda r: r[0]["run"])
    runs = pd.DataFrame([r[0] for r in results])
    runs["run"] = runs["run"].astype("int64")
    runs["seed"] = runs["seed"].astype("int64")
    runs["final_size"] = runs["final_size"].astype("int64")
    runs["holds"] = runs["holds"].astype(bool)
    runs["first_fracture"] = pd.array(
        [None if v is None or pd.isna(v) else int(v) for v in runs["first_fracture"]],
        dtype="Int64",
    )
    for c in model.countries:
        runs[f"in_{c}"] = runs[f"in_{c}"].astype(bool)
    rounds = pd.concat([r[1] for r in results], ignore_index=True)
    names = {c: model.country_agents[c].name for c in model.countries}
    return Ensemble(
        runs=runs,
        rounds=rounds,
        scenario=sc.meta.name,
        seed=seed,
        n=n,
        countries=tuple(model.countries),
        minerals=tuple(model.minerals),
        names=names,
    )


# ------------------------------------------------------------------------------------------------
# Writing


def write_ensemble(ens: Ensemble, out: Path, fmt: str, meta: Mapping[str, Any]) -> list[Path]:
    """Write runs and rounds as CSV or Parquet, and meta.json (`meta` plus the ensemble's root
    seed, runs, seeds, how they were spawned and the definition of holds)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in (("runs", ens.runs), ("rounds", ens.rounds)):
        paths.append(write_table(df, out / f"{name}.{fmt}", fmt))
    full = {
        **meta,
        "scenario": ens.scenario,
        "seed": ens.seed,
        "runs": ens.n,
        "seeds": [int(s) for s in ens.runs["seed"]],
        "seeding": SEEDS_DOC,
        "holds": HOLDS_DOC,
        "p_holds": ens.p_holds,
        "p_holds_ci95": list(ens.p_holds_ci),
    }
    meta_path = out / "meta.json"
    meta_path.write_text(json.dumps(full, indent=2, sort_keys=True, default=str) + "\n")
    return [*paths, meta_path]

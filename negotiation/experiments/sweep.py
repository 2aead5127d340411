"""`bloc sweep`: run an experiment spec on local processes or a Dask cluster, streaming to Parquet.

    from negotiation.experiments.sweep import load, run_sweep
    summary = run_sweep("scenarios/sweeps/penalty-floor.toml", "runs/penalty-floor", workers=2)
    runs, rounds, metadata = load("runs/penalty-floor")   # also .actors, .events

The spec format is described in `negotiation.experiments.sweep_spec`. An output folder holds:

    metadata.json          versions, git commit, spec text and hash, root seed, design, sessions
    design.parquet         the design points: point, then one column per parameter
    runs/part-*.parquet    one row per run: run_id, point, replication, seed, parameters,
                           metrics, status ("ok" or "failed"), error
    rounds/part-*.parquet  one row per run and round, every column of BlocModel.rounds_df
                           (with tables = ["rounds"], or collect = "every_round")
    actors/part-*.parquet  one row per run, round and actor (actors_df; tables = ["actors"])
    events/part-*.parquet  one row per event (events_df; tables = ["events"])

Every column carries its unit and description as Parquet field metadata (`sweep_units`).

While a sweep runs, a part file is added every few seconds; once it finishes they are merged
into one file per table (`_compact`, crash-safe like the rest: see `_rewrite`).

Runs are numbered 0..N-1, design point by design point, replications fastest
(run_id = point * replications + replication). A run's seed is spawned from the root seed with
its design point's values and its replication number (`point_seed`), in the parent, so any
backend and worker count gives identical tables (sorted by run id, as `load` returns them), and
a spec that extends a sweep (more replications, more grid values, a larger Sobol base) gives its
finished runs the seeds they ran with: `--resume` with it renumbers them into the new design and
runs only the new ones. Backends: this process (1 worker), a `concurrent.futures` process pool
(forkserver; several runs per task) or a `dask.distributed` cluster given by its scheduler's
address. Every part file is written under a hidden temporary name and renamed into place, rounds
before runs, so a SIGKILL at any moment leaves a consistent dataset: `--resume` deletes leftovers,
reads which run ids are in `runs/` and runs only the others.

A run that raises becomes a row with status "failed" and the error in one line; the sweep goes
on. `exit_code(summary)` is 0 when every run succeeded, else 2 + the number of failed runs
(capped at 125): 2 alone always means bad input, before any run.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import logging
import math
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from negotiation.experiments import sweep_custom
from negotiation.experiments.records import invocation
from negotiation.experiments.sweep_spec import (
    EVENT_COLUMNS,
    EXTRA_TABLES,
    Metric,
    Plan,
    SpecError,
    compute_metrics,
    load_spec,
    one_line,
    scenario_with,
)
from negotiation.experiments.sweep_units import column_info

__all__ = [
    "SpecError",
    "SweepCrashed",
    "SweepInterrupted",
    "SweepResults",
    "SweepSummary",
    "columns",
    "exit_code",
    "load",
    "load_spec",
    "point_key",
    "point_seed",
    "query_name",
    "query_names",
    "resume_command",
    "run_seed",
    "run_sweep",
]

#: Format 2: a run's seed depends on its design point's values and its replication (format 1:
#: on its run id, so on the number of replications). Both are read; format 1 resumes with its
#: own seeds but cannot be extended.
FORMAT = "bloc-sweep/2"
FORMAT_RUN_ID_SEEDS = "bloc-sweep/1"
SEEDS_DOC = (
    "run at point p, replication r: SeedSequence(root_seed, spawn_key=(point_key(p), r))"
    ".generate_state(1, uint64)[0] >> 1; point_key(p) = the first 8 bytes (big-endian) of the "
    "SHA-256 of p's values as JSON {path: value} (sorted keys, no spaces, integral floats as "
    "integers): negotiation.experiments.sweep.point_key"
)
#: Exit codes of `bloc sweep` (see `exit_code`); a signal gives 128 + its number (SIGTERM: 143).
EXIT_OK, EXIT_CRASHED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
ARROW = {
    "int": pa.int64(),
    "int64": pa.int64(),
    "float": pa.float64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "str": pa.string(),
    "string": pa.string(),
    "json": pa.string(),
}
#: Seconds of work a task should hold: on 2 cores parallelism pays from about 0.1 s a task.
TASK_SECONDS = 1.0
FLUSH_ROWS = 5000
FLUSH_ROUND_ROWS = 500_000
VERSIONED = (
    "bloc",
    "mesa",
    "numpy",
    "pandas",
    "pyarrow",
    "pydantic",
    "scipy",
    "SALib",
    "dask",
    "distributed",
    "tqdm",
)


class SweepInterrupted(Exception):
    """Ctrl-C or SIGTERM: what was written is kept and consistent; resume to finish.

    `signum` is the signal that stopped the sweep; `exit_code` is 128 + it, as a shell reports a
    process killed by that signal (130 for SIGINT, 143 for SIGTERM)."""

    #: The process pool's workers were killed: end the process with os._exit (see `run_sweep`).
    pool_aborted: bool = False

    def __init__(self, out: Path, done: int, total: int, signum: int = signal.SIGINT):
        self.out, self.done, self.total, self.signum = out, done, total, int(signum)
        how = "interrupted" if self.signum == signal.SIGINT else f"stopped by {self.signal_name}"
        super().__init__(f"{how}: {done} of {total} runs are saved in {out}")

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _Stopped(KeyboardInterrupt):
    """Raised in the main thread by SIGINT or SIGTERM while a sweep runs (a KeyboardInterrupt,
    so code that already cleans up after Ctrl-C cleans up after SIGTERM too)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into `_Stopped` for the duration of a sweep.

    SIGTERM is what `timeout`, SLURM (at the end of a job's time) and `docker stop` send; by
    default it kills Python on the spot, with nothing written and the pool's processes orphaned.
    Only the first signal raises: a second one, while the results are being written, is ignored
    (SIGKILL still works). Outside the main thread (where handlers cannot be set) nothing
    changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise _Stopped(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class SweepCrashed(Exception):
    """The backend broke (a pool's worker process died; the Dask scheduler was lost, or every
    worker left and none came back within the connect timeout): what finished is written, the
    status is "crashed", and the message ends with how many runs are saved."""

    #: The process pool's workers were killed: end the process with os._exit (see `run_sweep`).
    pool_aborted: bool = False


def run_seed(root_seed: int, run_id: int) -> int:
    """The seed of run `run_id` in a sweep of format 1 (started by bloc before point-keyed
    seeds): SeedSequence(root).spawn(n)[run_id] as a 63-bit integer, computed without spawning
    the others (a child's spawn key is its index)."""
    ss = np.random.SeedSequence(root_seed, spawn_key=(run_id,))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _canonical(value: Any) -> Any:
    """A parameter value as it identifies a design point: 1.0 and 1 are the same point (a grid
    extended with 2.5 turns its integer levels into floats), numpy scalars are Python's."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    return value


def point_key(paths: Sequence[str], values: Sequence[Any]) -> int:
    """A design point's identity, from its values alone (not its place in the design): the
    first 8 bytes, big-endian, of the SHA-256 of {path: value} as compact JSON, sorted."""
    blob = json.dumps(
        {p: _canonical(v) for p, v in zip(paths, values)}, sort_keys=True, separators=(",", ":")
    )
    return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "big")


def point_seed(root_seed: int, key: int, replication: int) -> int:
    """The seed of replication `replication` at the design point whose `point_key` is `key`: a
    63-bit integer from SeedSequence(root_seed, spawn_key=(key, replication)).

    It depends on nothing else: not on the run's id, the number of replications or the other
    points, so a sweep extended with replications, grid values or a larger Sobol base gives its
    finished runs the seeds they ran with. Identical points get identical seeds."""
    ss = np.random.SeedSequence(root_seed, spawn_key=(key, replication))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def exit_code(summary: SweepSummary) -> int:
    """0 if every run succeeded; else 2 + the number of failed runs, capped at 125."""
    return EXIT_OK if not summary.n_failed else min(2 + summary.n_failed, 125)


def resume_command(
    spec: str | Path, out: str | Path, workers: int | None = None, scheduler: str | None = None
) -> str:
    """The command that resumes a sweep (printed on Ctrl-C)."""
    args = ["bloc", "sweep", str(spec), "--out", str(out), "--resume"]
    if scheduler:
        args += ["--scheduler", scheduler]
    elif workers:
        args += ["--workers", str(workers)]
    return shlex.join(args)


# ------------------------------------------------------------------------------------------------
# What a worker runs


@dataclass(frozen=True)
class RunContext:
    """Everything a worker needs, sent once per worker (the scenario travels as data)."""

    key: str
    scenario_raw: dict[str, Any]
    scenario_path: str
    fixed: dict[str, Any]
    paths: tuple[str, ...]
    dtypes: tuple[str, ...]
    metrics: tuple[Metric, ...]
    round_columns: tuple[str, ...]
    tables: tuple[str, ...] = ()  # per-round tables to return: rounds, actors, events
    import_paths: tuple[str, ...] = ()  # first on the Python path for custom metrics

    @classmethod
    def of(cls, plan: Plan) -> RunContext:
        return cls(
            key=_plan_sha256(plan),
            scenario_raw=plan.scenario_raw,
            scenario_path=plan.scenario_path,
            fixed=plan.fixed,
            paths=plan.design.paths,
            dtypes=tuple(p.dtype for p in plan.design.params),
            metrics=plan.metrics,
            round_columns=plan.round_columns,
            tables=plan.tables,
            import_paths=plan.import_paths,
        )


#: (run_id, point, replication, seed, parameter values)
RunItem = tuple[int, int, int, int, tuple[Any, ...]]
#: A batch's runs rows, and its per-round tables by name (rounds, actors, events; run_id first)
BatchResult = tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]

_CONTEXT: RunContext | None = None
_SCENARIOS: dict[tuple[str, str], Any] = {}


def _init_worker(ctx: RunContext, sweep_pid: int) -> None:
    """Process-pool initializer: leave Ctrl-C and SIGTERM to the sweep's process (which stops
    the workers itself, after writing what finished), end this worker if that process dies,
    import the engine once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exit_with(sweep_pid)
    global _CONTEXT
    _CONTEXT = ctx
    import negotiation.engine.model  # noqa: F401


def exit_with(pid: int) -> None:
    """End this process as soon as process `pid` ends (a daemon thread waits for it).

    A pool worker's parent is the fork server, not the sweep's process: if the sweep's process
    is SIGKILLed, nothing else tells the workers, which would wait for work forever (and keep
    the fork server and the resource tracker alive with them)."""

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)  # Linux >= 5.3: readable when the process ends
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            import select

            select.select([fd], [], [])
        else:
            while True:  # elsewhere: poll, every second (a cost of nothing beside a run)
                time.sleep(1.0)
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                except PermissionError:  # alive, and someone else's: cannot be ours
                    pass
        os._exit(1)

    threading.Thread(target=watch, name="bloc-exit-with-sweep", daemon=True).start()


def _scenario(ctx: RunContext, values: tuple[Any, ...]) -> Any:
    """The run's scenario, cached per design point (replications share it; it is frozen)."""
    key = (ctx.key, json.dumps(values, sort_keys=True, default=str))
    sc = _SCENARIOS.get(key)
    if sc is None:
        if len(_SCENARIOS) >= 64:
            _SCENARIOS.clear()
        overrides = {**ctx.fixed, **dict(zip(ctx.paths, values))}
        sc = _SCENARIOS[key] = scenario_with(ctx.scenario_raw, ctx.scenario_path, overrides)
    return sc


def _cell(value: Any, dtype: str) -> Any:
    return json.dumps(value, sort_keys=True) if dtype == "json" else value


def run_batch(items: Sequence[RunItem], ctx: RunContext | None = None) -> BatchResult:
    """Run a batch: one row per run (a failure is a row too) and, if asked, its per-round
    tables (rounds, actors, events), each with the run's id first."""
    from negotiation.engine.model import BlocModel

    ctx = ctx or _CONTEXT
    if ctx is None:
        raise RuntimeError("run_batch needs a RunContext")
    rows: list[dict[str, Any]] = []
    frames: dict[str, list[pd.DataFrame]] = {t: [] for t in ctx.tables}
    for run_id, point, replication, seed, values in items:
        row: dict[str, Any] = {
            "run_id": run_id,
            "point": point,
            "replication": replication,
            "seed": seed,
        }
        row.update({p: _cell(v, t) for p, v, t in zip(ctx.paths, values, ctx.dtypes)})
        try:
            model = BlocModel(_scenario(ctx, values), rng=seed)
            model.run()
            rounds = model.rounds_df
            measured = compute_metrics(ctx.metrics, rounds)
            measured.update(sweep_custom.compute(ctx.metrics, model, ctx.import_paths))
            row.update(measured)
            row["status"], row["error"] = "ok", None
            for table in ctx.tables:
                if table == "rounds":
                    part = rounds[["round", *ctx.round_columns]].copy()
                elif table == "actors":
                    part = model.actors_df.copy()
                else:
                    part = model.events_df.copy()
                part.insert(0, "run_id", run_id)
                frames[table].append(part)
        except sweep_custom.CustomMetricError as e:  # the run went well, its metric did not
            row["status"], row["error"] = "failed", str(e)
        except Exception as e:  # a failed run is a result: recorded, and the sweep goes on
            row["status"], row["error"] = "failed", one_line(e)
        rows.append(row)
    return rows, {t: pd.concat(f, ignore_index=True) for t, f in frames.items() if f}


def _probe() -> str:
    """Runs on a Dask worker before the sweep: can it import the engine?"""
    import negotiation
    import negotiation.engine.model  # noqa: F401

    return negotiation.__version__


def _failed_rows(items: Sequence[RunItem], ctx: RunContext, error: str) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "point": point,
            "replication": rep,
            "seed": seed,
            **{p: _cell(v, t) for p, v, t in zip(ctx.paths, values, ctx.dtypes)},
            "status": "failed",
            "error": error,
        }
        for run_id, point, rep, seed, values in items
    ]


# ------------------------------------------------------------------------------------------------
# Backends: submit a batch, wait for some, get a result, abort


class _InProcess:
    """One worker: run each batch here, lazily, when the loop waits for it."""

    name = "this process"

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self.window = 1
        self.inflight: dict[Any, Sequence[RunItem]] = {}
        self._ids = itertools.count()
        self._done: dict[Any, BatchResult] = {}

    def submit(self, items: Sequence[RunItem]) -> Any:
        return next(self._ids)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        h = handles[0]
        self._done[h] = run_batch(self.inflight[h], self.ctx)
        return [h]

    def result(self, handle: Any, items: Sequence[RunItem]) -> BatchResult:
        return self._done.pop(handle)

    def abort(self) -> None:
        self.inflight.clear()

    def close(self) -> None:
        pass


class _Pool:
    """A local process pool (forkserver, or spawn where there is none)."""

    def __init__(self, ctx: RunContext, workers: int):
        import multiprocessing

        method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        mp = multiprocessing.get_context(method)
        if method == "forkserver":
            # Import the engine once in the fork server; every worker forks with it loaded.
            mp.set_forkserver_preload(["negotiation.engine.model", "negotiation.experiments.sweep"])
        self.ctx = ctx
        self.name = f"process pool ({workers} workers, {method})"
        self.window = 2 * workers
        self.inflight: dict[Any, Sequence[RunItem]] = {}
        self.executor = cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=mp,
            initializer=_init_worker,
            initargs=(ctx, os.getpid()),
        )
        self._closing = threading.Event()
        #: Workers were killed: the executor's manager thread may be stuck reading a result a
        #: killed worker was writing, and Python joins that thread at exit (see `run_sweep`).
        self.aborted = False
        #: The exit code of a worker the watcher saw die (None: none died).
        self.died: int | None = None
        threading.Thread(target=self._watch, name="bloc-pool-watch", daemon=True).start()

    def _watch(self) -> None:
        """When a worker dies (killed, out of memory), SIGKILL the others.

        The executor's manager thread then marks the pool broken and, holding the executor's
        lock, terminates and joins the workers; ours ignore SIGTERM (see `_init_worker`), so
        without this the join waits for ever and so does the next `submit`, which needs that
        lock (a sweep hung rather than stopped)."""
        while not self._closing.wait(0.2):
            try:
                procs = list((getattr(self.executor, "_processes", None) or {}).values())
            except RuntimeError:  # the manager changed the table as we read it
                continue
            dead = [p.exitcode for p in procs if p.exitcode is not None]
            if dead:
                self.died = dead[0]
                for p in procs:
                    if p.exitcode is None:
                        with contextlib.suppress(Exception):
                            p.kill()
                return

    def submit(self, items: Sequence[RunItem]) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.executor.submit(run_batch, items)
        except BrokenProcessPool as e:  # a worker died since the last result came back
            raise SweepCrashed(f"a worker process died ({e}); killed, or out of memory?") from e

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        """The batches done within `timeout` seconds. Raises SweepCrashed once the watcher has
        seen a worker die with nothing done: the executor marks its futures broken from its
        manager thread, which can stay stuck reading a result the killed worker was writing, so
        the sweep does not wait on it (a sweep hung under load rather than stopped)."""
        end = time.monotonic() + timeout
        while True:
            done, _ = cf.wait(handles, timeout=min(max(end - time.monotonic(), 0.0), 0.5),
                              return_when=cf.FIRST_COMPLETED)  # fmt: skip
            if done or time.monotonic() >= end:
                return list(done)
            if self.died is not None:
                raise SweepCrashed(
                    f"a worker process died (exit code {self.died}); killed, or out of memory?"
                )

    def result(self, handle: Any, items: Sequence[RunItem]) -> BatchResult:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return handle.result()
        except BrokenProcessPool as e:
            raise SweepCrashed(f"a worker process died ({e}); killed, or out of memory?") from e
        except Exception as e:
            return _failed_rows(items, self.ctx, one_line(e)), {}

    def abort(self) -> None:
        self._closing.set()
        self.aborted = True
        for f in self.inflight:
            f.cancel()
        # Running batches are abandoned (resume reruns them): stop the workers now. SIGKILL,
        # since they ignore SIGTERM (see `_init_worker`).
        for proc in list((getattr(self.executor, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.inflight.clear()

    def close(self) -> None:
        self._closing.set()
        self.executor.shutdown(wait=True, cancel_futures=True)


def _ping_scheduler(address: str, timeout: float, what: str) -> str:
    """Ask a Dask server who it is, within `timeout` seconds whatever happens. (A `Client`'s own
    timeout does not cover a server that accepts the connection and then says nothing.)"""
    import asyncio

    from distributed.comm import connect

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            await comm.close()

    async def bounded() -> Any:
        return await asyncio.wait_for(identity(), timeout)

    # A thread of its own, so that this works where an event loop already runs (notebooks).
    with cf.ThreadPoolExecutor(1) as pool:
        try:
            reply = pool.submit(asyncio.run, bounded()).result(timeout=timeout + 30)
        except ValueError as e:
            raise SpecError([f"{what}: not a scheduler address ({e})"]) from None
        except (OSError, TimeoutError, cf.TimeoutError):
            raise SpecError(
                [f"{what}: no answer within {timeout:g} s (is a Dask scheduler running there?)"]
            ) from None
    return str(reply.get("type")) if isinstance(reply, dict) else type(reply).__name__


class _Dask:
    """An existing dask.distributed cluster, reached through its scheduler's address."""

    def __init__(self, ctx: RunContext, address: str, timeout: float):
        from distributed import Client

        self.ctx = ctx
        self.address = address
        self.name = f"dask cluster at {address}"
        self.inflight: dict[Any, Sequence[RunItem]] = {}
        what = f"--scheduler {address}"
        kind = _ping_scheduler(address, timeout, what)
        if kind != "Scheduler":
            raise SpecError([f"{what}: answers, but is not a Dask scheduler (it is a {kind})"])
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise SpecError([f"{what}: cannot connect ({one_line(e).split(' (at ')[0]})"]) from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            self.client.close()
            raise SpecError(
                [f"{what}: the scheduler has no workers (waited {timeout:g} s)"]
            ) from None
        try:
            self.client.submit(_probe, pure=False).result(timeout=max(timeout, 60))
        except Exception as e:
            self.client.close()
            raise SpecError(
                [f"{what}: the workers cannot run bloc ({one_line(e)}); install it there"]
            ) from None
        threads = sum(self.client.nthreads().values()) or 1
        self.window = max(4, 2 * threads)
        self.timeout = timeout
        self.workerless_since: float | None = None
        self.last_count = 0.0
        # While the sweep runs, a lost scheduler or worker is reported once, as SweepCrashed
        # or not at all (the sweep carries on); the client's own log would print tracebacks
        # of every reconnection attempt. Restored by `close`.
        self.log_levels = _quiet_dask_logs()
        # A `result(timeout=...)` that times out (its data died with its worker) leaves a
        # gather task inside the client that later fails with AllExit, which asyncio reports
        # as a "Task exception was never retrieved" traceback: nobody waits for it, by design.
        self.client.loop.add_callback(_ignore_abandoned_gathers)

    def submit(self, items: Sequence[RunItem]) -> Any:
        # The context travels in every task (a few kB beside about a second of work), so the
        # scheduler holds it and sends it to any worker, including one that replaces a dead
        # one. Scattered once to the workers, it was lost with them when they all died, and
        # every task needing it was cancelled.
        return self.client.submit(run_batch, list(items), self.ctx, pure=False)

    def crashed(self, why: str) -> SweepCrashed:
        return SweepCrashed(f"the Dask cluster at {self.address} stopped answering ({why})")

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        """The batches done within `timeout` seconds (at most 1 s, to watch the workers)."""
        from distributed import wait

        try:
            with self.client.as_current():  # `wait` uses the current client; ours is not global
                done = wait(handles, timeout=min(timeout, 1.0), return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = None
        except Exception as e:  # the client gave up on the scheduler and cancelled everything
            raise self.crashed(_brief(e)) from e
        if done is not None and done.done:
            self.workerless_since = None
            return list(done.done)
        self._count_workers()
        return []

    def _count_workers(self) -> None:
        """Raise SweepCrashed once the cluster has had no worker for `timeout` seconds (the
        tasks wait on the scheduler meanwhile: a nanny restarting a worker takes a second or
        two), or when the client has lost the scheduler. Asks at most once a second."""
        now = time.monotonic()
        if now - self.last_count < 1.0:
            return
        self.last_count = now
        if self.client.status not in ("running", "connecting"):
            raise self.crashed(f"the client is {self.client.status}")
        try:
            info = self.client.scheduler_info(n_workers=-1)
        except Exception as e:
            raise self.crashed(_brief(e)) from e
        n_workers = info.get("n_workers", len(info.get("workers", {})))
        if n_workers:
            self.workerless_since = None
        elif self.workerless_since is None:
            self.workerless_since = now
        elif now - self.workerless_since >= self.timeout:
            raise SweepCrashed(
                f"every worker of the Dask cluster at {self.address} left, and none came back "
                f"within {self.timeout:g} s"
            )

    def result(self, handle: Any, items: Sequence[RunItem]) -> BatchResult | None:
        """The batch's rows, or None when its result cannot be had yet: it finished, but on a
        worker that died before the result was fetched, and the scheduler is running it again
        (when a worker is back; `_count_workers` gives up after `timeout` s without any)."""
        from distributed import KilledWorker

        try:
            got = handle.result(timeout=self.timeout)
        except TimeoutError:
            self._count_workers()
            return None
        except KilledWorker as e:  # the runs took their worker down, again and again
            got = _failed_rows(items, self.ctx, one_line(e)), {}
        except Exception as e:
            if handle.status != "error":
                raise self.crashed(_brief(e)) from e
            got = _failed_rows(items, self.ctx, one_line(e)), {}
        with contextlib.suppress(Exception):
            handle.release()
        return got

    def abort(self) -> None:
        if self.inflight:
            with contextlib.suppress(Exception):  # a client that lost its scheduler may refuse
                self.client.cancel(list(self.inflight))
        self.inflight.clear()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # nothing left to save: do not fail on the way out
            self.client.close(timeout=self.timeout)
        for name, level in self.log_levels.items():
            logging.getLogger(name).setLevel(level)


def _ignore_abandoned_gathers() -> None:
    """Run on the Dask client's event loop: drop asyncio's report of a gather that ended with
    AllExit after its caller stopped waiting; report anything else as before."""
    import asyncio

    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if type(context.get("exception")).__name__ == "AllExit":
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def _quiet_dask_logs() -> dict[str, int]:
    """Raise distributed's loggers (Dask's configuration sets some one by one) to CRITICAL;
    returns their levels before."""
    names = ["distributed"] + [
        name for name in logging.root.manager.loggerDict if name.startswith("distributed.")
    ]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return levels


def _brief(e: BaseException) -> str:
    """What a Dask exception says, short, without where it was raised (Dask's code)."""
    text = one_line(e).split(" (at ")[0]
    if "scheduler-connection-lost" in text:  # FuturesCancelledError, listing every future
        return "the client lost its connection to the scheduler and could not make it again"
    return text[:300]


# ------------------------------------------------------------------------------------------------
# Writing


def _write_atomic(table: pa.Table, path: Path) -> None:
    """Write under a hidden temporary name, then rename: readers see whole files or nothing."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _write_json_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


def _schema(
    columns: Sequence[Sequence[str]], info: dict[str, dict[str, str]] | None = None
) -> pa.Schema:
    """An Arrow schema; with `info` ({column: {"unit", "description"}}), each field carries
    its unit and description as Parquet field metadata."""
    fields = []
    for name, t in columns:
        meta = (info or {}).get(name)
        fields.append(pa.field(name, ARROW[t], metadata=meta or None))
    return pa.schema(fields)


def _table_columns(plan: Plan) -> dict[str, list[tuple[str, str]] | None]:
    """Each table's (column, type) list: runs and rounds (None if not collected), and actors
    and events only when collected (so sweeps from before they existed compare equal)."""
    runs = [("run_id", "int64"), ("point", "int64"), ("replication", "int64"), ("seed", "int64")]
    runs += [(p.path, p.dtype) for p in plan.design.params]
    runs += [(m.name, m.dtype) for m in plan.metrics]
    runs += [("status", "string"), ("error", "string")]
    out: dict[str, list[tuple[str, str]] | None] = {"runs": runs, "rounds": None}
    if plan.round_columns:
        rounds = [("run_id", "int64"), ("round", "int64")]
        out["rounds"] = rounds + [(c, plan.columns[c]) for c in plan.round_columns]
    if "actors" in plan.tables:
        out["actors"] = [("run_id", "int64"), *plan.actor_columns.items()]
    if "events" in plan.tables:
        out["events"] = [("run_id", "int64"), *EVENT_COLUMNS.items()]
    return out


def _extra(tables: dict[str, Any]) -> list[str]:
    """The per-round tables a sweep writes (those of `tables` with columns), in a fixed order."""
    return [t for t in EXTRA_TABLES if tables.get(t)]


def _plan_info(plan: Plan) -> dict[str, dict[str, dict[str, str]]]:
    """Units and descriptions of every column of the plan's tables (`sweep_units`)."""
    return column_info(
        _table_columns(plan),
        [m.entry() for m in plan.metrics],
        plan.design.paths,
        plan.minerals,
    )


def _meta_info(meta: dict[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
    """Units and descriptions from a sweep's metadata (computed for sweeps that predate them)."""
    if "columns" in meta:
        return meta["columns"]
    return column_info(
        meta["tables"],
        meta["metrics"],
        [p["path"] for p in meta["design"]["parameters"]],
        meta.get("scenario", {}).get("minerals", ()),
    )


class _Writer:
    """Buffers finished runs and writes them as part files every few seconds."""

    def __init__(self, out: Path, plan: Plan, flush_seconds: float):
        cols = _table_columns(plan)
        info = _plan_info(plan)
        self.out = out
        self.runs_schema = _schema(cols["runs"] or [], info["runs"])
        self.schemas = {t: _schema(cols[t] or [], info[t]) for t in _extra(cols)}
        self.flush_seconds = flush_seconds
        self.rows: list[dict[str, Any]] = []
        self.frames: dict[str, list[pd.DataFrame]] = {t: [] for t in self.schemas}
        self.round_rows = 0
        self.last = time.monotonic()
        self.written = 0
        self.failed = 0

    def add(self, rows: list[dict[str, Any]], frames: dict[str, pd.DataFrame]) -> None:
        self.rows.extend(rows)
        self.failed += sum(r["status"] != "ok" for r in rows)
        for table, df in frames.items():
            if table in self.frames and len(df):
                self.frames[table].append(df)
                self.round_rows += len(df)

    def seconds_to_flush(self) -> float:
        return max(0.05, self.flush_seconds - (time.monotonic() - self.last))

    def maybe_flush(self) -> None:
        due = time.monotonic() - self.last >= self.flush_seconds
        if due or len(self.rows) >= FLUSH_ROWS or self.round_rows >= FLUSH_ROUND_ROWS:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.rows:
            return
        # Take the buffer first: an interruption after this loses these runs (resume reruns
        # them) but can never write them twice.
        rows, frames = self.rows, self.frames
        self.rows, self.round_rows = [], 0
        self.frames = {t: [] for t in self.schemas}
        name = f"part-{min(r['run_id'] for r in rows):09d}-{uuid.uuid4().hex[:8]}.parquet"
        # Per-round tables before runs: a runs part is what marks its runs as done. Every
        # table gets a part (maybe empty: a batch without events), so all share the name.
        for t, schema in self.schemas.items():
            if frames[t]:
                df = pd.concat(frames[t], ignore_index=True)
                table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
            else:
                table = schema.empty_table()
            _write_atomic(table, self.out / t / name)
        _write_atomic(pa.Table.from_pylist(rows, schema=self.runs_schema), self.out / "runs" / name)
        self.written += len(rows)


#: The folder in which a rewrite of the tables (compaction, extension) is prepared.
REWRITE = ".rewrite"
#: Rows per Parquet row group of a compacted file: big enough to read fast, small enough that
#: compacting a sweep holds little in memory (one group at a time).
ROW_GROUP_ROWS = 262_144


def _copy_parts(
    files: Sequence[Path],
    schema: pa.Schema,
    dest: Path,
    transform: Callable[[pa.Table], pa.Table] | None = None,
) -> int | None:
    """Write the part files, in order, into one Parquet file (streamed: a row group at a time).
    Returns the smallest run id written (None if no rows)."""
    smallest: int | None = None
    pending: list[pa.Table] = []
    rows = 0
    with pq.ParquetWriter(dest, schema) as writer:
        for f in files:
            table = pq.read_table(f, schema=schema)
            if transform is not None:
                table = transform(table)
            if table.num_rows:
                low = pc.min(table.column("run_id")).as_py()
                smallest = low if smallest is None else min(smallest, low)
            pending.append(table)
            rows += table.num_rows
            if rows >= ROW_GROUP_ROWS:
                writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
                pending, rows = [], 0
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
    return smallest


def _rewrite(
    out: Path,
    tables: dict[str, list[tuple[str, str]] | None],
    extension: _Extension | None = None,
    metadata: dict[str, Any] | None = None,
    design: pa.Table | None = None,
    info: dict[str, dict[str, dict[str, str]]] | None = None,
) -> None:
    """Replace the part files of `runs/` and of each per-round table (`rounds/`, `actors/`,
    `events/`) by one file each (compaction), with run
    ids and points renumbered into an extended design if `extension` is given, and with new
    `metadata.json` and `design.parquet` if given. Crash-safe: everything is prepared in
    `.rewrite/`, then a COMMIT file lists what the folder will hold; from then on
    `_finish_rewrite` (run again by `--resume` and `load` after a crash) completes the switch,
    and before it the folder is as it was."""
    stage = out / REWRITE
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "runs").mkdir(parents=True)
    info = info or {}
    run_files = sorted((out / "runs").glob("part-*.parquet"))
    names = {f.name for f in run_files}
    extra = [t for t in _extra(tables) if (out / t).is_dir()]

    def runs_renumbered(t: pa.Table) -> pa.Table:
        assert extension is not None
        ids = extension.run_ids(t.column("run_id").to_numpy())
        t = t.set_column(t.schema.get_field_index("run_id"), "run_id", pa.array(ids, pa.int64()))
        point = pa.array(ids // extension.new_replications, pa.int64())
        return t.set_column(t.schema.get_field_index("point"), "point", point)

    def rounds_renumbered(t: pa.Table) -> pa.Table:
        assert extension is not None
        ids = extension.run_ids(t.column("run_id").to_numpy())
        return t.set_column(t.schema.get_field_index("run_id"), "run_id", pa.array(ids, pa.int64()))

    commit: dict[str, list[str] | None] = {"runs": [], **{t: [] for t in extra}}
    if run_files:
        tmp = stage / "runs" / "compacting.parquet"
        smallest = _copy_parts(
            run_files,
            _schema(tables["runs"] or [], info.get("runs")),
            tmp,
            runs_renumbered if extension is not None else None,
        )
        name = f"part-{smallest or 0:09d}-{uuid.uuid4().hex[:8]}.parquet"
        os.replace(tmp, stage / "runs" / name)
        commit["runs"] = [name]
        for t in extra:
            (stage / t).mkdir()
            files = [f for f in sorted((out / t).glob("part-*.parquet")) if f.name in names]
            _copy_parts(
                files,
                _schema(tables[t] or [], info.get(t)),
                stage / t / name,
                rounds_renumbered if extension is not None else None,
            )
            commit[t] = [name]
    if design is not None:
        pq.write_table(design, stage / "design.parquet")
    if metadata is not None:
        (stage / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    _write_json_atomic(commit, stage / "COMMIT")
    _finish_rewrite(out)


def _finish_rewrite(out: Path, drop_uncommitted: bool = False) -> None:
    """Complete a committed rewrite (idempotent: safe to run again after a crash, or beside
    another process doing the same); with `drop_uncommitted`, delete one that never committed
    (only a sweep being resumed may: a running sweep could be preparing it)."""
    stage = out / REWRITE
    commit_file = stage / "COMMIT"
    if not commit_file.exists():
        if drop_uncommitted:
            shutil.rmtree(stage, ignore_errors=True)
        return
    try:
        keep = json.loads(commit_file.read_text())
    except FileNotFoundError:  # another process finished it meanwhile
        return
    for sub in ("runs", *EXTRA_TABLES):
        if keep.get(sub) is None:
            continue
        (out / sub).mkdir(exist_ok=True)
        for f in (out / sub).glob("part-*.parquet"):
            if f.name not in keep[sub]:
                f.unlink(missing_ok=True)
        for name in keep[sub]:
            with contextlib.suppress(FileNotFoundError):
                os.replace(stage / sub / name, out / sub / name)
    for name in ("design.parquet", "metadata.json"):
        with contextlib.suppress(FileNotFoundError):
            os.replace(stage / name, out / name)
    commit_file.unlink(missing_ok=True)
    shutil.rmtree(stage, ignore_errors=True)


def _compact(out: Path, plan: Plan) -> None:
    """Merge the part files of a finished sweep into one per table: a day-long sweep writes
    thousands (one every `flush_seconds`, 5 s by default), which file systems and readers
    handle badly. Streamed, so it needs memory for one row group, not the tables."""
    if len(list((out / "runs").glob("part-*.parquet"))) > 1:
        _rewrite(out, _table_columns(plan), info=_plan_info(plan))


# ------------------------------------------------------------------------------------------------
# The output folder


def _plan_sha256(plan: Plan) -> str:
    """What must not change for a sweep to be resumed: the validated spec and the scenario
    (comments and layout of the spec file may change)."""
    spec = plan.spec.model_dump(mode="json", by_alias=True, exclude={"report"})
    if not spec["tables"]:  # as before `tables` existed: sweeps started then still resume
        del spec["tables"]
    if not spec["custom_metrics"]:  # as before custom metrics: those sweeps resume
        del spec["custom_metrics"]
    if spec["design"].get("levels") is None:  # as before Morris designs: those sweeps resume
        spec["design"].pop("levels", None)
    blob = json.dumps({"spec": spec, "scenario": plan.scenario_sha256}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _invocation() -> str | None:
    """The `bloc ...` command line that started the sweep; None when called from Python."""
    return invocation()


def _git() -> dict[str, Any] | None:
    """The commit of the code that ran, if it sits in a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        top = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.split()  # fmt: skip
        if len(top) != 2 or not (Path(top[0]) / "negotiation").is_dir():
            return None
        dirty = subprocess.run(
            ["git", "-C", top[0], "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        return {"commit": top[1], "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return None


def _metadata(plan: Plan) -> dict[str, Any]:
    d = plan.design
    params = []
    for p, spec in zip(d.params, plan.spec.parameters.values()):
        entry: dict[str, Any] = {
            "path": p.path,
            "kind": p.kind,
            "dtype": p.dtype,
            "spec": spec.model_dump(exclude_none=True),
        }
        if p.levels is not None:
            entry["levels"] = list(p.levels)
        else:
            entry.update(low=p.low, high=p.high, log=p.log)
        params.append(entry)
    return {
        "format": FORMAT,
        "title": plan.spec.title,
        "spec_path": str(Path(plan.spec_path).resolve()),
        "spec_sha256": plan.spec_sha256,
        "plan_sha256": _plan_sha256(plan),
        "spec_text": plan.spec_text,
        "root_seed": plan.spec.seed,
        "seeds": SEEDS_DOC,
        "scenario": {
            "ref": plan.scenario_ref,
            "path": plan.scenario_path,
            "name": plan.scenario_name,
            "sha256": plan.scenario_sha256,
            "set": plan.fixed,
            "minerals": list(plan.minerals),
        },
        "design": {
            "kind": d.kind,
            "size": d.size,
            "second_order": d.second_order,
            "n_points": d.n_points,
            "replications": plan.spec.replications,
            "n_runs": plan.n_runs,
            "run_id": "point * replications + replication",
            "parameters": params,
            **({"salib_problem": d.salib_problem()} if d.kind in ("sobol", "morris") else {}),
            **(
                {"levels": d.levels, "unit_sample": np.asarray(d.unit).tolist()}
                if d.kind == "morris"
                else {}
            ),
        },
        "collect": plan.spec.collect,
        "metrics": [m.entry() for m in plan.metrics],
        **(
            {
                "custom_metrics": {
                    m.name: sweep_custom.source_info(m.column, plan.import_paths)
                    for m in plan.metrics
                    if m.stat == "custom"
                }
            }
            if plan.spec.custom_metrics
            else {}
        ),
        "tables": _table_columns(plan),
        "columns": _plan_info(plan),
        "report": plan.spec.report.model_dump(),
        "versions": _versions(),
        "git": _git(),
        "command": _invocation(),
        "started": None,
        "ended": None,
        "status": "running",
        "sessions": [],
    }


def _read_metadata(out: Path) -> dict[str, Any] | None:
    path = out / "metadata.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise SpecError([f"{path}: cannot read the sweep's metadata ({e})"]) from None


def _inspect_out(
    out: Path, plan: Plan, resume: bool
) -> tuple[dict[str, Any] | None, _Extension | None]:
    """Check the output folder before anything runs. Returns the metadata of a sweep to resume
    (None for a new sweep) and, when the spec extends that sweep's, how its runs map into the
    new design."""
    what = f"--out {out}"
    if (out / REWRITE / "COMMIT").exists():  # a rewrite that was committed, then interrupted
        _finish_rewrite(out)
    meta = _read_metadata(out)
    if meta is not None:
        if not resume:
            n_done = len(_done_ids(out))
            raise SpecError(
                [
                    f"{what}: already holds a sweep ({n_done} of {meta['design']['n_runs']} runs "
                    "done); add --resume to continue it, or choose another folder"
                ]
            )
        if meta.get("plan_sha256") == _plan_sha256(plan):
            return meta, None
        if meta.get("scenario", {}).get("sha256") != plan.scenario_sha256:
            raise SpecError(
                [
                    f"{what}: the scenario changed since this sweep started; resume it with the "
                    "same spec and scenario, or choose another folder"
                ]
            )
        return meta, _extension(out, meta, _with_stored_rounds(plan, meta))
    if out.exists():
        if not out.is_dir():
            raise SpecError([f"{what}: not a folder"])
        if any(p.name != ".bloc-write-test" for p in out.iterdir()):
            raise SpecError(
                [f"{what}: the folder is not empty and holds no sweep; choose a new or empty one"]
            )
    parent = out.resolve()
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise SpecError([f"{what}: cannot write in {parent}"])
    return None, None


@dataclass(frozen=True)
class _Extension:
    """How the runs of a sweep become runs of a spec that extends it (more replications, more
    grid values, a larger Sobol base): each old design point is a point of the new design, and
    a run keeps its point's values, its replication and so its seed; only its ids change."""

    old_replications: int
    new_replications: int
    new_point: np.ndarray  # the new design's index of each old design point
    old_done: frozenset[int]  # finished runs, by their old ids

    def run_ids(self, old_ids: np.ndarray) -> np.ndarray:
        """New run ids of runs given by their old ids (run id = point x replications + rep)."""
        point, rep = np.divmod(np.asarray(old_ids, dtype=np.int64), self.old_replications)
        return self.new_point[point] * self.new_replications + rep

    def done(self) -> set[int]:
        return {int(i) for i in self.run_ids(np.fromiter(self.old_done, np.int64))}


def _same(a: Any, b: Any) -> bool:
    """Equal once written as JSON (metadata holds lists where the plan holds tuples)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _extension(out: Path, meta: dict[str, Any], plan: Plan) -> _Extension:
    """The mapping of a sweep's runs into the design of `plan`, or SpecError saying why `plan`
    does not extend the sweep (it would drop or change finished runs)."""

    def refuse(reason: str) -> SpecError:
        return SpecError(
            [
                f"--out {out}: the spec changed since this sweep started, and does not extend "
                f"it: {reason}; resume it with the same spec, or extend it (more replications, "
                "more grid values, a larger Sobol base: every design point kept), or choose "
                "another folder"
            ]
        )

    if meta.get("format") == FORMAT_RUN_ID_SEEDS:
        raise refuse(
            "this sweep was started by an older bloc, whose seeds depend on the number of runs, "
            "so it can only be resumed as it is"
        )
    if meta.get("root_seed") != plan.spec.seed:
        raise refuse(f"the seed is {plan.spec.seed}, the sweep's is {meta.get('root_seed')}")
    if not _same(meta.get("scenario", {}).get("set"), plan.fixed):
        raise refuse("the [set] values differ")
    if not _same(meta.get("tables"), _table_columns(plan)):
        raise refuse("the tables' columns differ (parameters, their types, metrics or collect)")
    old_reps = int(meta["design"]["replications"])
    new_reps = plan.spec.replications
    if new_reps < old_reps:
        raise refuse(f"{new_reps} replications, fewer than the sweep's {old_reps}")
    params = [(p["path"], p["dtype"]) for p in meta["design"]["parameters"]]
    paths = [path for path, _ in params]
    old_points = _design_points(out, params) if (out / "design.parquet").exists() else []
    # Points match by value; a value that occurs k times matches its k-th occurrence.
    where: dict[tuple[int, int], int] = {}
    seen: dict[int, int] = {}
    for i, pt in enumerate(plan.design.points):
        key = point_key(paths, pt)
        where[(key, seen.get(key, 0))] = i
        seen[key] = seen.get(key, 0) + 1
    seen.clear()
    new_point = np.empty(len(old_points), dtype=np.int64)
    for i, pt in enumerate(old_points):
        key = point_key(paths, pt)
        j = where.get((key, seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
        if j is None:
            values = ", ".join(f"{p} = {v!r}" for p, v in zip(paths, pt))
            raise refuse(f"its design point {i} ({values}) is not in the new design")
        new_point[i] = j
    return _Extension(old_reps, new_reps, new_point, frozenset(_done_ids(out)))


def _with_stored_rounds(plan: Plan, meta: dict[str, Any] | None) -> Plan:
    """The plan, writing the rounds columns of the sweep in `meta`: a sweep started by a bloc
    that kept only the rounds columns its metrics used resumes (and extends) with those."""
    stored = (meta or {}).get("tables", {}).get("rounds")
    if not stored or not plan.round_columns:
        return plan
    columns = tuple(c for c, _ in stored if c not in ("run_id", "round"))
    if columns == plan.round_columns or not set(columns) <= set(plan.columns):
        return plan
    return dataclasses.replace(plan, round_columns=columns)


def _extended_metadata(meta: dict[str, Any], plan: Plan, ext: _Extension) -> dict[str, Any]:
    """The metadata of the extended sweep: the new plan's, with the sweep's history, and a
    record of what it was before."""
    new = _metadata(plan)
    new["started"] = meta.get("started")
    new["sessions"] = list(meta.get("sessions", []))
    new["extensions"] = [
        *meta.get("extensions", []),
        {
            "at": _now(),
            "command": _invocation(),
            "runs_kept": len(ext.old_done),
            "before": {
                "spec_sha256": meta.get("spec_sha256"),
                "plan_sha256": meta.get("plan_sha256"),
                "spec_text": meta.get("spec_text"),
                "n_points": meta["design"]["n_points"],
                "replications": meta["design"]["replications"],
                "n_runs": meta["design"]["n_runs"],
            },
        },
    ]
    return new


def _done_ids(out: Path) -> set[int]:
    done: set[int] = set()
    for f in sorted((out / "runs").glob("part-*.parquet")):
        done.update(pq.read_table(f, columns=["run_id"]).column("run_id").to_pylist())
    return done


def _tidy(out: Path) -> None:
    """After a crash: finish a committed rewrite or drop an unfinished one, drop temporary
    files, and rounds parts whose runs part never landed."""
    _finish_rewrite(out, drop_uncommitted=True)
    for sub in ("runs", *EXTRA_TABLES):
        for tmp in (out / sub).glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
    runs = {f.name for f in (out / "runs").glob("part-*.parquet")}
    for sub in EXTRA_TABLES:
        for f in (out / sub).glob("part-*.parquet"):
            if f.name not in runs:
                f.unlink()
    for tmp in out.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def _design_table(plan: Plan) -> pa.Table:
    d = plan.design
    cols: dict[str, list[Any]] = {"point": list(range(d.n_points))}
    for j, p in enumerate(d.params):
        cols[p.path] = [_cell(pt[j], p.dtype) for pt in d.points]
    schema = _schema([("point", "int64"), *((p.path, p.dtype) for p in d.params)])
    return pa.table(cols, schema=schema)


def _write_design(out: Path, plan: Plan) -> None:
    _write_atomic(_design_table(plan), out / "design.parquet")


def _design_points(out: Path, params: Sequence[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """The points of `design.parquet`, in order, given the parameters' paths and types."""
    df = pq.read_table(out / "design.parquet").to_pandas().sort_values("point")
    cols = []
    for path, dtype in params:
        values = df[path].tolist()
        cols.append([json.loads(v) for v in values] if dtype == "json" else values)
    if not cols:
        return [()] * len(df)
    return [tuple(_native(x) for x in pt) for pt in zip(*cols)]


def _stored_points(out: Path, plan: Plan) -> list[tuple[Any, ...]]:
    """The design a sweep started with (robust to a library drawing differently since)."""
    path = out / "design.parquet"
    if not path.exists():
        return plan.design.points
    points = _design_points(out, [(p.path, p.dtype) for p in plan.design.params])
    if len(points) != plan.design.n_points:
        raise SpecError(
            [f"{path}: {len(points)} design points, the spec makes {plan.design.n_points}"]
        )
    return points


def _native(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


# ------------------------------------------------------------------------------------------------
# Running


@dataclass
class SweepSummary:
    out: Path
    n_runs: int
    n_ok: int
    n_failed: int
    n_run_now: int
    seconds: float
    backend: str
    failures: list[tuple[int, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return exit_code(self)

    def text(self) -> str:
        lines = [
            f"{self.n_runs} runs: {self.n_ok} ok, {self.n_failed} failed -> {self.out}",
            f"this session ran {self.n_run_now} in {self.seconds:.1f} s on {self.backend}",
        ]
        for run_id, error in self.failures[:5]:
            lines.append(f"  run {run_id} failed: {error}")
        if self.n_failed > 5:
            lines.append(f"  ... and {self.n_failed - 5} more (the runs table's error column)")
        lines.append(f"report: bloc sweep report {shlex.quote(str(self.out))}")
        return "\n".join(lines)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def auto_batch(seconds_per_run: float, n_missing: int, slots: int) -> int:
    """Runs per task: about TASK_SECONDS of work, but at least 4 tasks per worker slot."""
    size = max(1, round(TASK_SECONDS / max(seconds_per_run, 1e-4)))
    balance = max(1, math.ceil(n_missing / (4 * slots)))
    return max(1, min(size, balance, 1000))


def _batches(
    plan: Plan,
    points: Sequence[tuple[Any, ...]],
    missing: Iterator[int],
    size: int,
    run_id_seeds: bool = False,
) -> Iterator[list[RunItem]]:
    """The missing runs in batches of `size`, each with its seed (`point_seed`; `run_seed` for
    a sweep of format 1, `run_id_seeds`)."""
    reps, root, paths = plan.spec.replications, plan.spec.seed, plan.design.paths
    keys: dict[int, int] = {}
    batch: list[RunItem] = []
    for run_id in missing:
        point, rep = divmod(run_id, reps)
        if run_id_seeds:
            seed = run_seed(root, run_id)
        else:
            if point not in keys:
                keys[point] = point_key(paths, points[point])
            seed = point_seed(root, keys[point], rep)
        batch.append((run_id, point, rep, seed, points[point]))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _execute(backend: Any, batches: Iterator[list[RunItem]], writer: _Writer, bar: Any) -> None:
    inflight = backend.inflight
    exhausted = False
    while True:
        while not exhausted and len(inflight) < backend.window:
            items = next(batches, None)
            if items is None:
                exhausted = True
                break
            inflight[backend.submit(items)] = items
        if not inflight:
            break
        for handle in backend.wait(list(inflight), writer.seconds_to_flush()):
            got = backend.result(handle, inflight[handle])
            if got is None:  # not to be had yet (Dask: lost with its worker, being rerun)
                continue
            inflight.pop(handle)
            rows, rounds = got
            writer.add(rows, rounds)
            bar.update(len(rows))
            if writer.failed:
                bar.set_postfix(failed=writer.failed, refresh=False)
        writer.maybe_flush()
    writer.flush()


def _make_backend(
    ctx: RunContext, workers: int | None, scheduler: str | None, timeout: float
) -> Any:
    if scheduler:
        return _Dask(ctx, scheduler, timeout)
    n = workers if workers is not None else (os.cpu_count() or 1)
    return _InProcess(ctx) if n <= 1 else _Pool(ctx, n)


def run_sweep(
    spec: str | Path | Plan,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    batch_size: int | None = None,
    progress: bool = True,
    connect_timeout: float = 10.0,
    flush_seconds: float = 5.0,
    log: Callable[[str], None] = _stderr,
) -> SweepSummary:
    """Run (or resume) the sweep of a spec file into the folder `out`.

    workers: local processes (default: one per CPU; 1 runs in this process). scheduler: the
    address of a Dask scheduler (tcp://host:8786) to use instead. resume: continue the sweep
    already in `out`, running only the missing run ids. batch_size: runs per task (default: about
    a second of work). flush_seconds: how often finished runs are written.

    Raises SpecError (bad spec, folder or scheduler: nothing ran), SweepInterrupted (Ctrl-C or
    SIGTERM: what finished is saved, the workers are stopped) or SweepCrashed (a worker process
    died: what finished is saved)."""
    out = Path(out)
    try:
        with _stop_on_signals():
            return _run_sweep(
                spec,
                out,
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                batch_size=batch_size,
                progress=progress,
                connect_timeout=connect_timeout,
                flush_seconds=flush_seconds,
                log=log,
            )
    except _Stopped as e:  # before the sweep's folder was set up, or after it was finished
        meta = _read_metadata(out) if out.is_dir() else None
        total = int(meta["design"]["n_runs"]) if meta else 0
        raise SweepInterrupted(out, len(_done_ids(out)) if meta else 0, total, e.signum) from None


def _run_sweep(
    spec: str | Path | Plan,
    out: Path,
    *,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    batch_size: int | None,
    progress: bool,
    connect_timeout: float,
    flush_seconds: float,
    log: Callable[[str], None],
) -> SweepSummary:
    plan = spec if isinstance(spec, Plan) else load_spec(spec)
    if workers is not None and scheduler:
        raise SpecError(["--workers and --scheduler exclude each other (the cluster has workers)"])
    if workers is not None and workers < 1:
        raise SpecError([f"--workers must be at least 1 (got {workers})"])
    for w in plan.warnings:
        log(f"bloc: warning: {w}")
    meta, extension = _inspect_out(out, plan, resume)
    plan = _with_stored_rounds(plan, meta)
    n = plan.n_runs
    run_id_seeds = meta is not None and meta.get("format") == FORMAT_RUN_ID_SEEDS
    if extension is not None:
        points = plan.design.points
        done = extension.done()
        log(
            f"bloc sweep: the spec extends the sweep in {out}: its {len(done)} finished runs are "
            f"kept, {n - len(done)} of the {n} runs are left to run"
        )
    else:
        points = _stored_points(out, plan) if meta else plan.design.points
        done = _done_ids(out) if meta else set()
    n_missing = n - len(done)
    t0 = time.monotonic()
    ctx = RunContext.of(plan)
    try:
        backend = _make_backend(ctx, workers, scheduler, connect_timeout) if n_missing else None
    except KeyboardInterrupt as e:
        raise SweepInterrupted(out, len(done), n, _signum(e)) from None
    backend_name = backend.name if backend else "nothing to run"

    session = {"started": _now(), "ended": None, "backend": backend_name, "runs": 0}
    writer: _Writer | None = None
    status = "running"
    signum = int(signal.SIGINT)
    crash: SweepCrashed | None = None
    closed = False
    try:
        session["spec_sha256"] = plan.spec_sha256
        meta = _open_out(out, plan, meta, session, extension)
        if backend is not None:
            slots = backend.window // 2 if not isinstance(backend, _InProcess) else 1
            size = batch_size or auto_batch(plan.seconds_per_run, n_missing, max(slots, 1))
            missing = (i for i in range(n) if i not in done)
            writer = _Writer(out, plan, flush_seconds)
            from tqdm import tqdm

            with tqdm(
                total=n,
                initial=n - n_missing,
                unit="run",
                desc="bloc sweep",
                file=sys.stderr,
                disable=not progress,
                dynamic_ncols=True,
                smoothing=0.05,
            ) as bar:
                batches = _batches(plan, points, missing, size, run_id_seeds)
                _execute(backend, batches, writer, bar)
            # The workers go before the tables are merged: their memory is not held beside
            # the merge's (a 20,000-run sweep's peak on 2 workers is the two added)
            backend.close()
            closed = True
        _compact(out, plan)
        status = "complete"
    except KeyboardInterrupt as e:
        status, signum = "interrupted", _signum(e)
        if backend is not None:
            backend.abort()
        if writer is not None:
            writer.flush()
    except SweepCrashed as e:
        status, crash = "crashed", e
        if backend is not None:
            backend.abort()
        if writer is not None:
            writer.flush()
    finally:
        if backend is not None and not closed:
            backend.close()
        if meta is None:  # stopped inside `_open_out`, which may have written it already
            meta = _read_metadata(out)
        if meta is not None and (out / "metadata.json").exists():
            session["ended"] = _now()
            session["runs"] = writer.written if writer else 0
            meta["status"] = status
            if status == "complete":
                meta["ended"] = session["ended"]
            _write_json_atomic(meta, out / "metadata.json")
    # Workers killed mid-write can leave the pool's manager thread reading for ever, and the
    # interpreter joins it at exit: the caller should end the process with os._exit once it
    # has said what it has to (the CLI does; everything is written by now).
    wedged = bool(getattr(backend, "aborted", False))
    if status == "interrupted":
        stopped = SweepInterrupted(out, len(_done_ids(out)), n, signum)
        stopped.pool_aborted = wedged
        raise stopped
    if crash is not None:
        saved = f"{len(_done_ids(out))} of {n} runs are saved in {out}"
        crashed = SweepCrashed(f"{crash}: {saved}")
        crashed.pool_aborted = wedged
        raise crashed from crash
    return _summary(out, n, writer.written if writer else 0, time.monotonic() - t0, backend_name)


def _signum(e: KeyboardInterrupt) -> int:
    """The signal behind a KeyboardInterrupt: SIGTERM for `_Stopped`'s, else SIGINT."""
    return int(getattr(e, "signum", signal.SIGINT))


def _open_out(
    out: Path,
    plan: Plan,
    meta: dict[str, Any] | None,
    session: dict[str, Any],
    extension: _Extension | None = None,
) -> dict[str, Any]:
    """Create the sweep's folder (metadata.json first: from then on `--resume` can finish it), or
    tidy the folder of a sweep being resumed (and renumber its runs into the extended design);
    record the session. Returns the metadata."""
    try:
        if meta is None:
            out.mkdir(parents=True, exist_ok=True)
            meta = _metadata(plan)
            meta["started"] = session["started"]
            meta["sessions"].append(session)
            _write_json_atomic(meta, out / "metadata.json")
            for sub in ("runs", *_extra(_table_columns(plan))):
                (out / sub).mkdir(exist_ok=True)
            _write_design(out, plan)
        else:
            for sub in ("runs", *_extra(meta["tables"])):
                (out / sub).mkdir(exist_ok=True)
            _tidy(out)
            if extension is not None:
                meta = _extended_metadata(meta, plan, extension)
                meta["sessions"].append(session)
                _rewrite(
                    out,
                    _table_columns(plan),
                    extension,
                    meta,
                    _design_table(plan),
                    _plan_info(plan),
                )
            else:
                meta["status"] = "running"
                meta["sessions"].append(session)
                _write_json_atomic(meta, out / "metadata.json")
    except OSError as e:
        raise SpecError([f"--out {out}: cannot write there ({e.strerror or e})"]) from None
    return meta


def _summary(out: Path, n: int, run_now: int, seconds: float, backend: str) -> SweepSummary:
    n_ok = n_failed = 0
    failures: list[tuple[int, str]] = []
    for f in sorted((out / "runs").glob("part-*.parquet")):
        t = pq.read_table(f, columns=["run_id", "status", "error"]).to_pylist()
        for r in t:
            if r["status"] == "ok":
                n_ok += 1
            else:
                n_failed += 1
                failures.append((r["run_id"], r["error"]))
    failures.sort()
    return SweepSummary(out, n, n_ok, n_failed, run_now, seconds, backend, failures)


# ------------------------------------------------------------------------------------------------
# Reading


class _Tables(NamedTuple):
    runs: pd.DataFrame
    rounds: pd.DataFrame  # empty unless the spec collected every round
    metadata: dict[str, Any]


class SweepResults(_Tables):
    """A sweep's tables, sorted by run id (rounds: by run id and round): `runs, rounds,
    metadata = load(...)` unpacks the three; `actors` and `events` are attributes (empty
    DataFrames unless the spec's `tables` asked for them), so is `tables`, every table by name.

    Each DataFrame's `attrs["units"]` and `attrs["descriptions"]` give its columns' units and
    meanings (`negotiation.experiments.sweep_units`); `columns(DIR)` lists them all."""

    actors: pd.DataFrame
    events: pd.DataFrame

    def __new__(
        cls,
        runs: pd.DataFrame,
        rounds: pd.DataFrame,
        metadata: dict[str, Any],
        actors: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> SweepResults:
        self = super().__new__(cls, runs, rounds, metadata)
        self.actors = actors if actors is not None else pd.DataFrame()
        self.events = events if events is not None else pd.DataFrame()
        return self

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"runs": self.runs, "rounds": self.rounds, "actors": self.actors,
                "events": self.events}  # fmt: skip


def _read_parts(
    files: Sequence[Path],
    columns: Sequence[Sequence[str]] | None,
    info: dict[str, dict[str, str]] | None = None,
) -> pa.Table:
    schema = _schema([(c, t) for c, t in columns], info) if columns else pa.schema([])
    tables = [pq.read_table(f, schema=schema) for f in files]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _to_pandas(
    table: pa.Table, info: dict[str, dict[str, str]], nullable: set[str]
) -> pd.DataFrame:
    """A table as a DataFrame, with the columns in `nullable` as pandas' nullable integers
    (Int64: an empty value stays empty, not a float NaN) and the units in `attrs`."""
    df = table.to_pandas()
    for c in nullable & set(df.columns):
        one = pa.table({c: table.column(c)})
        df[c] = one.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)[c]
    df.attrs["units"] = {c: info.get(c, {}).get("unit", "") for c in df.columns}
    df.attrs["descriptions"] = {c: info.get(c, {}).get("description", "") for c in df.columns}
    return df


def _nullable_ints(meta: dict[str, Any]) -> set[str]:
    """Integer columns of the runs table that may be empty: every metric (first_fracture when
    no member left; any metric of a failed run)."""
    return {m["name"] for m in meta["metrics"] if m["dtype"] == "int64"}


def load(out: str | Path) -> SweepResults:
    """The tables of a sweep folder as pandas DataFrames, and its metadata.

    Parameters
    ----------
    out
        The sweep's folder (`bloc sweep SPEC --out DIR`).

    Returns
    -------
    SweepResults
        `runs, rounds, metadata = load(DIR)`; `load(DIR).actors` and `.events` are the
        per-actor and events tables when the spec asked for them (else empty). Integer metrics
        are pandas' nullable Int64 (`first_fracture` is empty when no member left).

    Raises
    ------
    SpecError
        The folder holds no sweep.

    Notes
    -----
    Only complete part files are read (a crash leaves none half-written); rows of per-round
    tables whose runs part never landed are ignored, as `--resume` would delete them. A merge
    of the part files (or an extension's renumbering) that was committed and then cut short is
    finished first, so this may write in the folder; one that never committed is ignored.
    """
    out = Path(out)
    if (out / REWRITE / "COMMIT").exists():  # a compaction or extension cut short: finish it
        _finish_rewrite(out)
    meta = _read_metadata(out)
    if meta is None:
        raise SpecError([f"{out}: no sweep here (no metadata.json)"])
    tables = meta["tables"]
    info = _meta_info(meta)
    run_files = sorted((out / "runs").glob("part-*.parquet"))
    runs = _to_pandas(
        _read_parts(run_files, tables["runs"], info.get("runs")),
        info.get("runs", {}),
        _nullable_ints(meta),
    )
    runs = runs.sort_values("run_id", kind="stable").reset_index(drop=True)
    names = {f.name for f in run_files}
    frames: dict[str, pd.DataFrame] = {}
    for t in ("rounds", "actors", "events"):
        columns = tables.get(t)
        if t != "rounds" and not columns:
            continue
        files = [f for f in sorted((out / t).glob("part-*.parquet")) if f.name in names]
        table = _read_parts(
            files, columns or [("run_id", "int64"), ("round", "int64")], info.get(t)
        )
        df = _to_pandas(table, info.get(t, {}), set())
        keys = ["run_id", "round"]
        frames[t] = df.sort_values(keys, kind="stable").reset_index(drop=True)
    rounds = frames.pop("rounds")
    return SweepResults(runs, rounds, meta, frames.get("actors"), frames.get("events"))


def columns(out: str | Path) -> pd.DataFrame:
    """Every column of a sweep's tables: `table`, `column`, `type`, `unit`, `description`."""
    meta = _read_metadata(Path(out))
    if meta is None:
        raise SpecError([f"{out}: no sweep here (no metadata.json)"])
    info = _meta_info(meta)
    rows = [
        {"table": t, "column": c, "type": dtype, **info.get(t, {}).get(c, {"unit": "",
                                                                       "description": ""})}
        for t, cols in meta["tables"].items()
        if cols
        for c, dtype in cols
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["table", "column", "type", "unit", "description"])


def query_name(column: str) -> str:
    """A column's name as `df.query` and attribute access take it: a parameter's dotted path
    with each "." as "__" (`policy.outsider_penalty` -> `policy__outsider_penalty`); every other
    column (run ids, metrics, custom metrics, rounds columns) is one already."""
    return column.replace(".", "__")


def query_names(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a sweep table with every column renamed by `query_name`, for
    `df.query("policy__outsider_penalty > 0.1")`; its units and descriptions in `attrs` follow,
    and `attrs["columns"]` maps each new name back to the column's own. (Without it, `df.query`
    takes a dotted name in backticks: ``df.query("`policy.outsider_penalty` > 0.1")``.)"""
    names = {c: query_name(c) for c in df.columns}
    if len(set(names.values())) < len(names):
        raise ValueError("two columns would get the same name: " + ", ".join(df.columns))
    out = df.rename(columns=names)
    out.attrs = {
        k: ({names.get(c, c): v for c, v in a.items()} if k in ("units", "descriptions") else a)
        for k, a in df.attrs.items()
    }
    out.attrs["columns"] = {new: old for old, new in names.items()}
    return out

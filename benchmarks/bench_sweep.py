"""Sweep overhead, scaling, Dask and memory, printed as ratios measured in one invocation.

    .venv/bin/python benchmarks/bench_sweep.py                     # the issue's sizes (long)
    .venv/bin/python benchmarks/bench_sweep.py --runs 200 --rounds 12 --memory-runs 2000

What it measures (the default scenario, a grid of outsider penalty x rare-earth floor with
replications, the same run ids and seeds everywhere):

- overhead: `bloc sweep` with 1 worker against a plain loop that builds each run's scenario with
  `load_scenario` and calls `BlocModel(scenario, rng=seed).run()`; and mesa.batch_run (1 process)
  on the same model and design, for comparison. Target: sweep / loop <= 1.05.
- scaling: 2 worker processes against 1. Target: >= 1.7x on 2 cores.
- dask: a dask.distributed LocalCluster (2 workers x 1 thread) against the 2-process pool, with
  the workers' statistical profiler off (as the README starts workers) and on (Dask's default).
  Target: within 20 %. The cluster's start-up is printed apart (a sweep uses a running cluster).
- sizing: the runs per second per core (the 1-worker sweep), and from it, the 2-worker scaling
  and Dask's ratio to the pool, how long a 100,000-run design (a Sobol design of that size) of
  the default scenario takes on a laptop and on a Dask cluster of N nodes: runs / (runs per
  second per core x cores x the efficiency measured on 2 workers x Dask's ratio). Needs the
  scaling part (and uses the dask part when it ran).
- memory: peak resident memory of the whole process tree (the `bloc sweep` process, the fork
  server and the workers), sampled every 0.1 s, for a sweep of --memory-runs runs and one of a
  tenth of that, to show it does not grow with the number of runs. Target: < 600 MB.

Nothing here asserts a timing: it prints what it measured, with the sizes used.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def spec_text(runs: int, rounds: int, collect: str = "end") -> tuple[str, int]:
    """A grid spec of about `runs` runs: penalties x 2 floors x replications."""
    penalties = max(1, min(10, runs // 2))
    reps = max(1, math.ceil(runs / (penalties * 2)))
    text = textwrap.dedent(f"""
        title = "benchmark"
        seed = 1
        replications = {reps}
        collect = "{collect}"
        metrics = ["final_size", "final_members", "first_fracture", "mean_world_price",
                   "mean_fiscal_cost", "supplier_share"]
        [set]
        "time.rounds" = {rounds}
        [parameters]
        "policy.outsider_penalty" = {{ range = [0.0, 0.3], steps = {penalties} }}
        "policy.floors.rare_earths" = {{ values = [90000.0, 130000.0] }}
    """)
    return text, penalties * 2 * reps


class Timer:
    """Wall-clock and CPU time of this process (CPU time is what to compare on a busy machine:
    the 1-worker sweep, the loop and batch_run all run in this one thread)."""

    def __enter__(self) -> Timer:
        self.load = os.getloadavg()[0]
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0


def plain_loop(plan) -> Timer:
    from negotiation import BlocModel, load_scenario
    from negotiation.experiments.sweep import point_key, point_seed

    reps = plan.spec.replications
    with Timer() as t:
        for run_id in range(plan.n_runs):
            point = plan.design.points[run_id // reps]
            sc = load_scenario(plan.scenario_ref, plan.overrides(point))
            seed = point_seed(plan.spec.seed, point_key(plan.design.paths, point), run_id % reps)
            model = BlocModel(sc, rng=seed).run()
            model.rounds_df  # noqa: B018 - the records, as a sweep reads them
    return t


def batch_run(plan) -> Timer:
    """mesa.batch_run (1 process) on the same model and design. Imported here only: it calls
    multiprocessing.set_start_method("spawn", force=True) on import."""
    import mesa
    from mesa.batchrunner import batch_run as mesa_batch_run

    from negotiation import BlocModel, load_scenario
    from negotiation.experiments.sweep import run_seed

    class Recorded(BlocModel):
        """batch_run reads a DataCollector: record the bloc's size at the end."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.datacollector = mesa.DataCollector(
                model_reporters={"n_members": lambda m: len(m.members)}
            )

        def step(self):
            super().step()
            if not self.running:
                self.datacollector.collect(self)

    penalties = sorted({p[0] for p in plan.design.points})
    floors = sorted({p[1] for p in plan.design.points})
    sc = load_scenario(plan.scenario_ref, plan.fixed)
    # batch_run gives every point the same seeds, one per replication: these stand in for them
    seeds = [run_seed(plan.spec.seed, i) for i in range(plan.spec.replications)]
    with Timer() as t:
        mesa_batch_run(
            Recorded,
            parameters={
                "scenario": [sc],
                "penalty": penalties,
                "floors": [{"rare_earths": f} for f in floors],
            },
            rng=seeds,
            number_processes=1,
            data_collection_period=-1,
            max_steps=sc.time.rounds,
            display_progress=False,
        )
    return t


def sweep(spec: Path, out: Path, **kwargs) -> Timer:
    from negotiation.experiments.sweep import run_sweep

    with Timer() as t:
        summary = run_sweep(spec, out, progress=False, **kwargs)
    assert summary.n_failed == 0, summary.failures[:3]
    return t


def peak_memory(spec: Path, out: Path, workers: int) -> dict[str, float]:
    """Run `bloc sweep` in a child process and sample its process tree's memory every 0.2 s.

    Returns seconds and peaks in MB: "pss" sums the proportional set size of every process of
    the tree (pages shared by the fork server and the workers it forked counted once: the
    sweep's real footprint), "rss" sums resident sets (shared pages counted in each process),
    "parent" is the `bloc sweep` process alone (where results pass through)."""
    import psutil

    bloc = Path(sys.executable).parent / "bloc"
    cmd = [str(bloc), "sweep", str(spec), "--out", str(out), "--workers", str(workers), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    top = psutil.Process(proc.pid)
    peak = {"pss": 0.0, "rss": 0.0, "parent": 0.0}
    while proc.poll() is None:
        pss = rss = 0
        try:
            for p in [top, *top.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    info = p.memory_full_info()
                    pss += info.pss
                    rss += info.rss
                    if p.pid == top.pid:
                        peak["parent"] = max(peak["parent"], info.rss / 2**20)
        except psutil.Error:
            pass
        peak["pss"] = max(peak["pss"], pss / 2**20)
        peak["rss"] = max(peak["rss"], rss / 2**20)
        time.sleep(0.2)
    peak["seconds"] = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"bloc sweep failed: {proc.stderr.read().decode()[-2000:]}")
    return peak


def sizing(per_core: float, efficiency: float, dask_ratio: float | None, rounds: int) -> None:
    """How long 100,000 runs take at `per_core` runs a second on one core, on more cores at
    the `efficiency` measured on 2 (capped at 1), through Dask at `dask_ratio` of the pool's
    speed (the target, 1.2, if not measured)."""
    runs = 100_000
    eff = min(efficiency, 1.0)
    ratio = dask_ratio if dask_ratio is not None else 1.2
    print(f"sizing: {per_core:.1f} runs/s per core ({rounds} rounds a run, the default scenario); "
          f"efficiency on 2 workers {efficiency:.2f}; Dask / pool {ratio:.2f}"
          + ("" if dask_ratio is not None else " (not measured: the target)"))  # fmt: skip
    print(f"  {runs:,} runs (e.g. a Sobol design of N = 2,500 over 19 parameters, N (2D + 2)):")

    def hours(cores: int, factor: float = 1.0) -> str:
        seconds = runs / (per_core * cores * eff) * factor
        return f"{seconds / 3600:6.1f} h" if seconds >= 3600 else f"{seconds / 60:6.1f} min"

    for label, cores, factor in (
        ("laptop, 4 cores (process pool)", 4, 1.0),
        ("laptop, 8 cores (process pool)", 8, 1.0),
        *((f"Dask cluster, {nodes} nodes x 16 cores", 16 * nodes, ratio) for nodes in (4, 16, 64)),
    ):
        print(f"  {label:<36} {hours(cores, factor)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=2000, help="runs in the timed sweeps")
    ap.add_argument("--rounds", type=int, default=36, help="rounds a run (default scenario: 36)")
    ap.add_argument("--workers", type=int, default=2, help="processes for scaling and Dask")
    ap.add_argument("--memory-runs", type=int, default=20_000, help="runs in the memory sweep")
    ap.add_argument("--memory-rounds", type=int, default=3, help="rounds a run there")
    ap.add_argument("--memory-workers", default="1,2", help="worker counts to measure memory with")
    ap.add_argument(
        "--only",
        default="overhead,scaling,dask,sizing,memory",
        help="comma-separated parts to run: overhead, scaling, dask, sizing, memory",
    )
    ap.add_argument("--skip-batch-run", action="store_true", help="leave out mesa.batch_run")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    if "sizing" in parts:
        parts |= {"scaling"}  # it scales the measured speeds

    from negotiation import BlocModel, load_scenario
    from negotiation.experiments.sweep_spec import load_spec

    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    text, n = spec_text(args.runs, args.rounds)
    spec = tmp / "bench.toml"
    spec.write_text(text)
    plan = load_spec(spec)
    timed = parts & {"overhead", "scaling", "dask"}
    if timed:
        print(f"bench_sweep: {n} runs of ministerial-2026, {args.rounds} rounds each, "
              f"{os.cpu_count()} CPUs; output in {tmp}")  # fmt: skip
    else:
        print(f"bench_sweep: {os.cpu_count()} CPUs; output in {tmp}")
    # Compile and warm up in this process first, so no measurement here pays for it.
    BlocModel(load_scenario("ministerial-2026", {"time.rounds": args.rounds}), rng=0).run()

    def show(label: str, t: Timer, extra: str = "") -> None:
        print(f"{label:<30} wall {t.wall:8.1f} s  cpu {t.cpu:8.1f} s  ({n / t.wall:6.1f} runs/s, "
              f"load {t.load:4.1f})  {extra}", flush=True)  # fmt: skip

    t1 = t2 = None
    if parts & {"overhead", "scaling"}:
        t1 = sweep(spec, tmp / "one", workers=1)
        show("bloc sweep, 1 worker", t1)
    if "overhead" in parts:
        loop = plain_loop(plan)
        show("plain loop", loop)
        print(f"  overhead: sweep / loop = {t1.cpu / loop.cpu:.3f} in CPU time, "
              f"{t1.wall / loop.wall:.3f} in wall time  (target <= 1.05)")  # fmt: skip
        if not args.skip_batch_run:
            br = batch_run(plan)
            show("mesa.batch_run, 1 process", br)
            print(f"  for comparison: batch_run / loop = {br.cpu / loop.cpu:.3f} in CPU time, "
                  f"{br.wall / loop.wall:.3f} in wall time")  # fmt: skip
    if parts & {"scaling", "dask"}:
        t2 = sweep(spec, tmp / "two", workers=args.workers)
        show(f"bloc sweep, {args.workers} workers", t2)
    if "scaling" in parts:
        print(f"  scaling: 1 -> {args.workers} workers = {t1.wall / t2.wall:.2f}x in wall time  "
              "(target >= 1.7x)")  # fmt: skip
    dask_ratio = None
    if "dask" in parts:
        import logging

        import dask
        from distributed import LocalCluster

        # Dask workers sample their threads' stacks every 10 ms by default (the dashboard's
        # profile); on 2 cores that costs a run-bound sweep about a quarter of its speed. The
        # README starts workers with it off; both are measured here.
        for profile in (False, True):
            c0 = time.perf_counter()
            with (
                dask.config.set({"distributed.worker.profile.enabled": profile}),
                LocalCluster(
                    n_workers=args.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                ) as cluster,
            ):
                started = time.perf_counter() - c0
                out = tmp / f"dask-profile-{profile}"
                td = sweep(spec, out, scheduler=cluster.scheduler_address)
            if not profile:
                dask_ratio = td.wall / t2.wall
            label = "on (dask's default)" if profile else "off"
            show(f"dask LocalCluster, profiler {'on' if profile else 'off'}", td)
            print(f"  dask / process pool = {td.wall / t2.wall:.3f} in wall time with the workers' "
                  f"profiler {label}  (target <= 1.20; cluster start-up {started:.1f} s not "
                  "counted)", flush=True)  # fmt: skip
    if "sizing" in parts:
        sizing(n / t1.wall, t1.wall / t2.wall / args.workers, dask_ratio, args.rounds)
    if "memory" in parts:
        for workers in sorted({int(w) for w in args.memory_workers.split(",")}):
            for runs in (max(1, args.memory_runs // 10), args.memory_runs):
                mtext, m = spec_text(runs, args.memory_rounds, collect="every_round")
                mspec = tmp / f"memory-{m}.toml"
                mspec.write_text(mtext)
                peak = peak_memory(mspec, tmp / f"memory-{m}-{workers}", workers)
                print(
                    f"memory    {m:6d} runs x {args.memory_rounds} rounds (rounds table too), "
                    f"{workers} worker(s): {peak['seconds']:7.1f} s; peak {peak['pss']:5.0f} MB "
                    f"PSS of the whole tree, {peak['parent']:5.0f} MB RSS of bloc sweep "
                    f"({peak['rss']:5.0f} MB summed RSS)  (target < 600 MB)"
                )


if __name__ == "__main__":
    main()

"""`run_ensemble` against one run of the default scenario, as ratios measured in one invocation
(the machines are noisy; ratios travel, absolute times do not).

    .venv/bin/python benchmarks/bench_ensemble.py [--runs 100] [--rounds 36] [--workers 2]

Prints the median time of one run (model built and run, its rounds table read; after a
warm-up), then the wall time of
an ensemble of --runs runs in this process (1 worker) and on a process pool of --workers, each as
a multiple of the single run: the ideal is --runs for 1 worker and --runs / workers on the pool.
The pool is timed twice: first with the fork server to start (the first ensemble of a `bloc
ensemble` command), then with it running (every later ensemble in the same process, as in the
app). Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from negotiation import BlocModel, load_scenario  # noqa: E402
from negotiation.experiments.ensemble import run_ensemble  # noqa: E402


def one_run(scenario, rounds: int | None, seed: int) -> float:
    t = time.perf_counter()
    model = BlocModel(scenario, rounds=rounds, rng=seed).run()
    model.rounds_df  # noqa: B018 - the records, read as an ensemble reads them
    return time.perf_counter() - t


def timed_ensemble(scenario, runs: int, rounds: int | None, workers: int) -> float:
    t = time.perf_counter()
    run_ensemble(scenario, runs, rounds=rounds, workers=workers)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100, help="runs in the ensemble")
    ap.add_argument("--rounds", type=int, default=None, help="rounds a run (default: 36)")
    ap.add_argument("--workers", type=int, default=2, help="processes of the pool")
    ap.add_argument("--repeat", type=int, default=7, help="single runs timed (median)")
    args = ap.parse_args()
    sc = load_scenario("ministerial-2026")
    one_run(sc, args.rounds, 0)  # warm up imports and the compiled kernels' cache
    single = statistics.median(one_run(sc, args.rounds, i) for i in range(args.repeat))
    rounds = args.rounds or sc.time.rounds
    print(f"bench_ensemble: ministerial-2026, {rounds} rounds a run, {os.cpu_count()} CPUs")
    print(f"  {'one run':<44} {single * 1e3:8.1f} ms (median of {args.repeat})")
    w1 = timed_ensemble(sc, args.runs, args.rounds, 1)
    print(f"  {f'{args.runs} runs, 1 worker':<44} {w1:8.2f} s = {w1 / single:6.1f} x one run")
    cold = timed_ensemble(sc, args.runs, args.rounds, args.workers)
    warm = timed_ensemble(sc, args.runs, args.rounds, args.workers)
    for how, t in (("fork server starting", cold), ("fork server running", warm)):
        label = f"{args.runs} runs, {args.workers} workers ({how})"
        print(
            f"  {label:<44} {t:8.2f} s = {t / single:6.1f} x one run "
            f"({w1 / t:.2f}x the speed of 1 worker)"
        )
    print(f"  {'load average':<44} {os.getloadavg()[0]:8.2f} (other work on the machine)")


if __name__ == "__main__":
    main()

"""Time per round of the default scenario, as a ratio to a bare Mesa model stepping six trivial
agents, both measured in this process and interleaved (the machines are noisy; ratios travel,
absolute times do not).

    .venv/bin/python benchmarks/bench_engine.py [--runs 5] [--rounds 52]

Prints the median over repetitions of: ms per round of BlocModel, ms per step of the bare model,
their ratio, the number of market clearings per round, the share of a round spent in market
clearing and payoffs (the compiled kernels), the time of a whole run, and the runs per second of
a 36-round run (three years: the default's length) including building the model, beside the bare
model's 36-step runs per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import mesa

import negotiation.engine.evaluator as evaluator_module
from negotiation import BlocModel, load_scenario


class Trivial(mesa.Agent):
    def step(self) -> None:
        self.value = self.model.rng.random()


class Bare(mesa.Model):
    def __init__(self, rng: int = 0) -> None:
        super().__init__(rng=rng)
        for _ in range(6):
            Trivial(self)

    def step(self) -> None:
        self.agents.shuffle_do("step")


def time_bare(steps: int) -> float:
    m = Bare()
    t = time.perf_counter()
    for _ in range(steps):
        m.step()
    return (time.perf_counter() - t) / steps


def time_bloc(scenario, rounds: int, seed: int) -> tuple[float, float, int, float]:
    """(seconds a round, seconds for the whole run, market clearings, share of the run's time
    spent clearing markets and scoring payoffs: the compiled `batch_kernel` the model's evaluator
    calls)."""
    calls, inside = 0, 0.0
    original = evaluator_module.batch_kernel

    def timed(*args, **kwargs):
        nonlocal calls, inside
        calls += 1
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            inside += time.perf_counter() - t

    evaluator_module.batch_kernel = timed
    try:
        t0 = time.perf_counter()
        m = BlocModel(scenario, rounds=rounds, rng=seed)
        t1 = time.perf_counter()
        m.run()
        t2 = time.perf_counter()
    finally:
        evaluator_module.batch_kernel = original
    return (t2 - t1) / rounds, t2 - t0, calls, inside / (t2 - t1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="repetitions (median reported)")
    ap.add_argument("--rounds", type=int, default=52, help="rounds per run")
    args = ap.parse_args()
    sc = load_scenario("ministerial-2026")
    time_bloc(sc, 3, 0)  # warm up imports and caches
    time_bare(1000)
    per_round, per_step, whole, clearings, shares = [], [], [], [], []
    for i in range(args.runs):
        per_step.append(time_bare(5000))
        pr, w, calls, share = time_bloc(sc, args.rounds, i)
        per_round.append(pr)
        whole.append(w)
        clearings.append(calls / args.rounds)
        shares.append(share)
    pr, ps = statistics.median(per_round), statistics.median(per_step)
    size = f"{len(sc.actors)} actors, {len(sc.minerals)} minerals"
    print(f"default scenario ({size}), {args.rounds} rounds")
    print(f"  BlocModel:            {pr * 1e3:8.3f} ms a round")
    print(f"  bare Mesa, 6 agents:  {ps * 1e3:8.3f} ms a step")
    print(f"  ratio:                {pr / ps:8.1f} x the bare loop")
    print(f"  market clearings:     {statistics.median(clearings):8.2f} a round")
    print(f"  clearing + payoffs:   {statistics.median(shares):8.0%} of a round (compiled kernels)")
    print(f"  load average:         {os.getloadavg()[0]:8.2f} (other work on the machine)")
    print(f"  a whole run:          {statistics.median(whole):8.3f} s (model built and run)")
    bloc_rate, bare_rate = runs_per_second(sc, 36, max(args.runs, 3))
    print(f"  36-round runs:        {bloc_rate:8.1f} a second (built and run; bare Mesa: "
          f"{bare_rate:,.0f})")  # fmt: skip


def runs_per_second(scenario, rounds: int, runs: int) -> tuple[float, float]:
    """Runs a second of `rounds`-round runs, each model built and run, for BlocModel and for the
    bare model, alternated (the median run time of each)."""
    bloc, bare = [], []
    for i in range(runs):
        t = time.perf_counter()
        BlocModel(scenario, rounds=rounds, rng=i).run()
        bloc.append(time.perf_counter() - t)
        t = time.perf_counter()
        m = Bare(rng=i)
        for _ in range(rounds):
            m.step()
        bare.append(time.perf_counter() - t)
    return 1 / statistics.median(bloc), 1 / statistics.median(bare)


if __name__ == "__main__":
    main()

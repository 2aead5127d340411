"""How close the convener's design search comes to the best package of all: each design round
of the worlds named, with every term designed, searched one term at a time (coordinate ascent),
then with pairs of terms (the model's search), and by brute force over every combination of
terms (each instrument, multiple of the floors, penalty and key, and with each every offtake
the convener weighs; whom to invite chosen for each, as the search does).

    .venv/bin/python scripts/design_search.py                      # four worlds, seeds 0-2
    .venv/bin/python scripts/design_search.py expansion --seeds 0 1 --rounds 13

Prints, by world: the design rounds, how many times each search missed the brute-force best
(by more than a millionth of its value), the largest miss (USD a year) and the time each
search took against one term at a time, measured in this process. The brute force is slow
(about fifteen times the search with pairs, a hundred times one term at a time): it checks the
search, it does not replace it. It weighs one multiple of every floor: a design round at
tables with their own minerals (each table's floors their own multiple) is left out and
counted apart.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

import negotiation.engine.model as engine_model
from negotiation import BlocModel, load_scenario
from negotiation.engine.model import SCALES
from negotiation.engine.scenario import Scenario
from negotiation.rules.protocol import SUGGESTED_DESIGNS, Terms

WORLDS = ("ministerial-2026", "supplier-floods", "singapore-open-hub", "expansion")


def designing_every_term(name: str) -> Scenario:
    """The built-in scenario `name` with every table letting its convener design every term."""
    d = load_scenario(name).model_dump()
    for t in d["agenda"]["tracks"]:
        t["designs"] = list(SUGGESTED_DESIGNS)
    return Scenario.model_validate(d)


def every_combination(m: BlocModel, prep: Any, designs: Sequence[str]) -> list[Terms]:
    """Every package of terms (against those in force) a convener designing `designs` could
    table: each instrument, multiple of the floors (within its mandate), penalty and key, and
    with each, every offtake it weighs (`BlocModel._design_candidates`)."""
    base = Terms()
    every = "floors" in designs and m.floors.any()
    scales = [s for s in SCALES if m._within_mandate(None, s)] if every else [1.0]

    def options(term: str, t: Terms) -> list[Terms]:
        if term not in designs:
            return [t]
        return [t, *m._design_candidates(term, t, prep)]

    out = []
    for i in options("instrument", base):
        for s in scales:
            for p in options("penalty", i._replace(scale=s)):
                for k in options("sharing", p):
                    out += options("offtake", k)
    return list(dict.fromkeys(out))


def on_each_design(weigh: Callable[..., None]) -> Callable[[], None]:
    """Call `weigh(model, prep, proposer, mine, designs, found, args)` after each design search
    of every model (`found` its result; `args` the convener's (choose, aim, partners), as its
    steps weigh packages) and return the search's result; returns the function that stops it.
    The model's state is the search's: the design is not yet tabled."""
    step, search = BlocModel._design_step, BlocModel._design_search

    def watched(self, prep, proposer, mine, designs):
        seen: dict[str, tuple] = {}

        def spy(self, prep, proposer, accepted, choose, aim, partners, own, incumbent=None):
            seen.setdefault("args", (choose, aim, partners))
            return step(self, prep, proposer, accepted, choose, aim, partners, own, incumbent)

        engine_model.BlocModel._design_step = spy
        try:
            found = search(self, prep, proposer, mine, designs)
        finally:
            engine_model.BlocModel._design_step = step
        if "args" in seen:
            weigh(self, prep, proposer, mine, designs, found, seen["args"])
        return found

    engine_model.BlocModel._design_search = watched

    def stop() -> None:
        engine_model.BlocModel._design_search = search

    return stop


def best_of(m: BlocModel, prep: Any, proposer: str, candidates: Sequence[Terms], args: tuple):
    """The package the convener's step picks among `candidates` (each with whom it would invite
    on them), as `BlocModel._design_step` picks: (its value, USD a year, and its terms)."""
    d, _ = m._design_step(prep, proposer, m._design_accepts(prep, list(candidates)), *args, {})
    return d.value, d.terms


def compare(name: str, seeds: Sequence[int], rounds: int) -> dict[str, Any]:
    """Each design round of the world `name` at `seeds` over `rounds` rounds: how far each
    search fell short of the brute-force best (0 where it found it), and their times."""
    sc = designing_every_term(name)
    out: dict[str, Any] = {"rounds": 0, "one": [], "pairs": [], "t_one": 0.0, "t_pairs": 0.0,
                           "left out": 0}  # fmt: skip
    search = BlocModel._design_search

    def weigh(model, prep, proposer, mine, designs, found, args):
        if found.per_package:  # each table's floors their own multiple: not brute-forced here
            out["left out"] += 1
            return
        t0 = time.perf_counter()
        search(model, prep, proposer, mine, designs)  # timed apart from the watching
        t1 = time.perf_counter()
        pairs, engine_model.DESIGN_PAIRS = engine_model.DESIGN_PAIRS, False
        try:
            one = search(model, prep, proposer, mine, designs)
        finally:
            engine_model.DESIGN_PAIRS = pairs
        out["t_pairs"] += t1 - t0
        out["t_one"] += time.perf_counter() - t1
        best, _ = best_of(model, prep, proposer, every_combination(model, prep, designs), args)
        tol = 1e-6 * max(abs(best), 1e6)
        out["rounds"] += 1
        for key, d in (("one", one.design), ("pairs", found.design)):
            out[key].append(best - d.value if best - d.value > tol else 0.0)

    stop = on_each_design(weigh)
    try:
        for seed in seeds:
            BlocModel(sc, rng=seed, rounds=rounds).run()
    finally:
        stop()
    return out


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("worlds", nargs="*", default=list(WORLDS), help="built-in scenarios")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rounds", type=int, default=25)
    args = ap.parse_args(argv)
    print("world                 design rounds   missed: one term at a time  with pairs   "
          "largest miss: one term  pairs   time: pairs / one term")  # fmt: skip
    for name in args.worlds:
        r = compare(name, args.seeds, args.rounds)
        one, pairs = r["one"], r["pairs"]
        ratio = r["t_pairs"] / r["t_one"] if r["t_one"] else float("nan")
        print(f"{name:22s}{r['rounds']:14d}{sum(g > 0 for g in one):28d}"
              f"{sum(g > 0 for g in pairs):12d}{max(one, default=0) / 1e6:24,.1f}m"
              f"{max(pairs, default=0) / 1e6:7,.1f}m{ratio:24.1f}x")  # fmt: skip
        if r["left out"]:
            print(f"  ({r['left out']} design rounds at tables with their own minerals left out)")


if __name__ == "__main__":
    main()

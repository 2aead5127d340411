"""How likely is this? Ensembles of the app's settings run in the background, and the words the
app's *How likely?* tab and the workshop debrief say about them. No Solara here: the pages
(`negotiation/ui/app.py`, `negotiation/ui/workshop_app.py`) only start an `EnsembleJob` and render
what it holds.

An ensemble (`negotiation.experiments.ensemble.run_ensemble`) plays the same settings many times
with different random draws, agents at every seat. A probability here is a share of those runs:
"out of 50 simulated runs with these settings and different random draws, 80% ...".
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from negotiation.experiments.ensemble import Ensemble, EnsembleCancelled, run_ensemble
from negotiation.ui.app_state import Bounds, Levers
from negotiation.ui.app_text import the

logger = logging.getLogger("bloc.ensemble")

#: Runs in an ensemble unless the page asks for another number, and the numbers it may ask.
ENSEMBLE_RUNS = 50
RUNS_BOUNDS = Bounds(10, 1000, integer=True, unit="runs")
#: The ensemble's root seed: fixed, so that the ensemble does not depend on the seed of the run
#: on screen (a new seed, or "another draw", redraws that run over the same fan).
ENSEMBLE_SEED = 0
#: The quantiles of a fan chart: the 5-95 % band and the median.
FAN_QUANTILES = (0.05, 0.5, 0.95)


def ensemble_workers(cpus: int | None = None) -> int:
    """Worker processes for a page's ensemble: 2 on a machine with 4 cores or more, else 1 (on
    2 cores the server and the browser need the other one)."""
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    return 2 if cpus >= 4 else 1


def settings_key(scenario: str, rounds: int, levers: Mapping[str, Any], runs: int) -> str:
    """The settings an ensemble runs, as text: two keys are equal when the runs would be the
    same (an ensemble is restarted when its key changes)."""
    return json.dumps(
        {"scenario": scenario, "rounds": int(rounds), "levers": levers, "runs": int(runs)},
        sort_keys=True,
        default=str,
    )


def model_kwargs(levers: Levers) -> dict[str, Any]:
    """The levers as `BlocModel` keyword arguments, for `run_ensemble(model_kwargs=...)`."""
    return levers.kwargs()


# ----------------------------------------------------------------------------------------------
# A job on a thread of its own

RUNNING, DONE, CANCELLED, FAILED = "running", "done", "cancelled", "failed"


class EnsembleJob:
    """One ensemble computed on a daemon thread: its progress, then its result or error. Pages
    wait on it (`wait`) to redraw as it moves; `cancel` stops it promptly (the ensemble checks
    the event between runs and raises `EnsembleCancelled`)."""

    def __init__(
        self,
        key: str,
        work: Callable[[Callable[[int, int], None], threading.Event], Ensemble],
        total: int = 0,
    ) -> None:
        self.key = key
        self._work = work
        self._changed = threading.Condition()
        self._cancel = threading.Event()
        self.version = 0
        self.done = 0
        self.total = total
        self.state = RUNNING
        self.result: Ensemble | None = None
        self.error = ""
        self.started = time.monotonic()
        self.seconds: float | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EnsembleJob:
        self._thread = threading.Thread(target=self._run, name="bloc-ensemble", daemon=True)
        self._thread.start()
        return self

    def _bump(self, **changes: Any) -> None:
        with self._changed:
            for k, v in changes.items():
                setattr(self, k, v)
            self.version += 1
            self._changed.notify_all()

    def _progress(self, done: int, total: int) -> None:
        self._bump(done=int(done), total=int(total))

    def _run(self) -> None:
        try:
            result = self._work(self._progress, self._cancel)
        except EnsembleCancelled:
            self._bump(state=CANCELLED)
        except Exception as e:  # a bug: logged with its traceback, told on the page
            logger.exception("an ensemble failed")
            self._bump(state=FAILED, error=str(e) or type(e).__name__)
        else:
            if self._cancel.is_set():  # cancelled after its last run: not the settings' result
                self._bump(state=CANCELLED)
            else:
                self._bump(
                    state=DONE,
                    result=result,
                    done=result.n,
                    total=result.n,
                    seconds=time.monotonic() - self.started,
                )

    def cancel(self) -> None:
        """Stop the job (a finished job keeps its result)."""
        self._cancel.set()

    @property
    def finished(self) -> bool:
        return self.state != RUNNING

    def wait(self, version: int, timeout: float = 1.0) -> int:
        """The job's version once it differs from `version`, or after `timeout` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != version, timeout)
            return self.version

    def follow(
        self, on_change: Callable[[int], None], cancel: threading.Event, pause: float = 0.2
    ) -> None:
        """Call `on_change(version)` as the job moves, at most once every `pause` seconds, until
        it has finished or `cancel` is set (a page's thread, to redraw as the runs go)."""
        seen = -1
        while not cancel.is_set():
            now = self.wait(seen, 0.5)
            if now != seen:
                seen = now
                on_change(now)
            if self.finished:
                return
            cancel.wait(pause)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def start_ensemble(
    key: str,
    scenario: Any,
    runs: int,
    *,
    rounds: int | None,
    kwargs: Mapping[str, Any],
    workers: int | None = None,
) -> EnsembleJob:
    """An `EnsembleJob` running `run_ensemble` with these settings, started."""

    def work(progress: Callable[[int, int], None], cancel: threading.Event) -> Ensemble:
        return run_ensemble(
            scenario,
            runs,
            seed=ENSEMBLE_SEED,
            workers=workers if workers is not None else ensemble_workers(),
            rounds=rounds,
            model_kwargs=dict(kwargs),
            progress=progress,
            cancel=cancel,
        )

    return EnsembleJob(key, work, total=runs).start()


# ----------------------------------------------------------------------------------------------
# Numbers and words


def fan_bands(
    ens: Ensemble, columns: Sequence[str], q: Sequence[float] = FAN_QUANTILES
) -> dict[str, np.ndarray]:
    """`Ensemble.bands` for the fan charts: each column's per-round quantiles over the runs as
    an array (len(q), rounds), keyed by column, and "round": the rounds. Columns the ensemble
    does not record are left out."""
    have = [c for c in columns if c in ens.value_columns]
    table = ens.bands(have, q) if have else pd.DataFrame(index=sorted(ens.rounds["round"].unique()))
    out: dict[str, np.ndarray] = {"round": table.index.to_numpy()}
    for c in have:
        out[c] = table[c].to_numpy(dtype=float).T
    return out


def percent(share: float) -> str:
    """A share of runs as a percentage: "80%"; "under 1%" and "over 99%" rather than a 0% or
    100% that some runs contradict."""
    if not math.isfinite(share):
        return "–"
    if 0 < share < 0.005:
        return "under 1%"
    if 0.995 < share < 1:
        return "over 99%"
    return f"{100 * share:.0f}%"


def runs_sentence(n: int) -> str:
    return f"Out of {n} simulated runs with these settings and different random draws"


def members_words(members: str, names: Mapping[str, str], order: Sequence[str]) -> str:
    """A final membership ("eu+japan+us") in words, in the scenario's order: "the United States,
    Japan and the European Union"; "nobody" or "<name> alone (no bloc)"."""
    inside = set(str(members).split("+")) - {"", "nan"}
    who = [names.get(a, a) for a in order if a in inside]
    who += sorted(names.get(a, a) for a in inside if a not in order)
    if not who:
        return "nobody (no bloc)"
    if len(who) == 1:
        return f"{who[0]} alone (no bloc)"
    words = [the(w) for w in who]
    return f"{', '.join(words[:-1])} and {words[-1]}"


def outcome_shares(ens: Ensemble) -> list[tuple[str, float, int]]:
    """The distinct final memberships (`Ensemble.outcomes`): (members, share of runs, runs),
    most likely first."""
    df = ens.outcomes
    return [(str(m), float(p), int(k)) for m, p, k in zip(df["members"], df["p"], df["runs"])]


def member_shares(runs: pd.DataFrame, countries: Sequence[str]) -> dict[str, float]:
    """Each country's share of runs in which it is in the bloc at the end."""
    return {
        a: float(runs[f"in_{a}"].astype(bool).mean()) if f"in_{a}" in runs else float("nan")
        for a in countries
    }


HOLDS_DEFINITION = (
    "the bloc holds to the end: it has two members or more after the last round and no member "
    "left it during the run"
)


@dataclass(frozen=True)
class Rank:
    """Where a value stands among others: the shares of them below, equal and above it."""

    below: float
    same: float
    above: float
    n: int


def rank(value: float, others: Sequence[float]) -> Rank:
    x = np.asarray(others, dtype=float)
    n = int(x.size)
    if n == 0:
        return Rank(math.nan, math.nan, math.nan, 0)
    return Rank(
        float((x < value).sum() / n), float((x == value).sum() / n), float((x > value).sum() / n), n
    )


def rank_words(r: Rank, more: str, same: str, less: str, of: str) -> str:
    """ "longer than in 80% of 50 agent-only runs, as long as in 10% and shorter than in 10%":
    the parts with a share, the largest first as a person would say it: `more`, `same`, `less`
    are the comparisons ("longer than in", "as long as in", "shorter than in"), `of` what the
    runs are ("agent-only runs")."""
    parts = [(r.below, more), (r.same, same), (r.above, less)]
    shown = [(s, w) for s, w in parts if s > 0]
    if not shown:
        return f"no {of} to compare with"
    if len(shown) == 1:
        return f"{shown[0][1]} all {r.n} {of}"
    words = [f"{w} {percent(s)}" for s, w in shown]
    words[0] += f" of {r.n} {of}"
    return f"{', '.join(words[:-1])} and {words[-1]}"


def bloc_rounds(n_members: Sequence[float], rounds: Sequence[int], upto: int) -> int:
    """Rounds 1..`upto` in which there was a bloc: two members or more."""
    r = np.asarray(rounds)
    m = np.asarray(n_members, dtype=float)
    return int(((r >= 1) & (r <= upto) & (m >= 2)).sum())


def runs_bloc_rounds(ens_rounds: pd.DataFrame, upto: int) -> np.ndarray:
    """For each run of an ensemble, its rounds 1..`upto` with a bloc (two members or more)."""
    df = ens_rounds[(ens_rounds["round"] >= 1) & (ens_rounds["round"] <= upto)]
    counts = (df["n_members"] >= 2).groupby(df["run"]).sum()
    runs = sorted(ens_rounds["run"].unique())
    return counts.reindex(runs, fill_value=0).to_numpy(dtype=int)


def members_at(rounds_df: pd.DataFrame, r: int) -> set[str]:
    row = rounds_df[rounds_df["round"] == r]
    if row.empty:
        return set()
    return set(str(row["members"].iloc[-1]).split("+")) - {"", "nan"}


def _lasted(rounds_df: pd.DataFrame, upto: int) -> bool:
    """A bloc held: two members or more at round `upto` and no member left in rounds 1..upto."""
    before = members_at(rounds_df, 0)
    for r in range(1, upto + 1):
        now = members_at(rounds_df, r)
        if before - now:
            return False
        before = now
    return len(before) >= 2


def debrief_lines(
    rounds_df: pd.DataFrame,
    played: int,
    finished: bool,
    ens: Ensemble,
    names: Mapping[str, str],
    countries: Sequence[str],
) -> list[str]:
    """The room's game against an agent-only ensemble of the same settings, in sentences: how
    many rounds the room had a bloc against the runs' first `played` rounds, whether it held
    (at the end, when `finished`), and each country in or out against its share of runs."""
    n = ens.n
    of = "agent-only runs"
    if played < 1:
        return [f"Nothing played yet: the room will be compared with {n} {of} once it has."]
    mine = bloc_rounds(rounds_df["n_members"], rounds_df["round"], played)
    theirs = runs_bloc_rounds(ens.rounds, played)
    r = rank(mine, theirs)
    where = "" if finished else f" (so far: their first {played} rounds)"
    lines = [
        f"Your room had a bloc (two members or more) in {mine} of {played} rounds: "
        + rank_words(r, "more than in", "as many as in", "fewer than in", of)
        + where
        + "."
    ]
    if finished:
        held = _lasted(rounds_df, played)
        p = float(ens.runs["holds"].astype(bool).mean())
        lines.append(
            f"Your bloc {'held' if held else 'did not hold'} to the end (two members or more "
            f"after the last round, nobody left during the run); in {of} it did in {percent(p)} "
            f"of {n}."
        )
    shares = member_shares(ens.runs, countries)
    inside = members_at(rounds_df, played)
    when = "at the end" if finished else f"in round {played}"
    for a in countries:
        name = the(names.get(a, a))
        state = "in" if a in inside else "out"
        lines.append(
            f"{name[0].upper()}{name[1:]} was {state} {when} in your room; "
            f"in at the end in {percent(shares[a])} of {n} {of}."
        )
    return lines

"""Market evaluation for the model: packages in, cleared markets and every actor's payoffs out.

The values a market evaluation takes and gives: `PackageSpec` (one package to clear),
`Evaluation` (a batch of packages cleared and scored), `Future` (packages cleared again once the
investment pipeline has delivered) and `NoPolicyWorld` (the run's world with no policy, stepped
along with it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from negotiation.market import Outcome
from negotiation.types import SupplierAction, SupplierMove


class PackageSpec(NamedTuple):
    """One package to clear (`BlocModel.evaluate`).

    Attributes
    ----------
    members
        Who is in the bloc.
    scale
        A multiple of the floors in force (or of the package's own floors).
    move
        The supplier's move.
    terms
        Terms of the package's own, or None: {"floors": {mineral: USD/t}, "penalty": x,
        "cost_sharing": "equal" | "consumption" | {actor: share}}, each in place of the one in
        force.
    """

    members: frozenset[str]
    scale: float = 1.0
    move: SupplierMove = SupplierMove(SupplierAction.NORMAL)
    terms: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Evaluation:
    """A batch of cleared packages.

    Attributes
    ----------
    comp
        Every actor's components, (K, A, C), USD/yr.
    util
        Every actor's utility, (K, A), USD/yr.
    cleared
        The markets as the kernel returns them, two arrays (see `Outcome.from_kernel`);
        `outcome` is made of them when first read (most batches are read for utilities only).
    """

    comp: np.ndarray
    util: np.ndarray
    cleared: tuple[np.ndarray, np.ndarray]

    @cached_property
    def outcome(self) -> Outcome:
        """The batch's markets, (K, ...) arrays."""
        return Outcome.from_kernel(*self.cleared)

    def rows(self, start: int, stop: int) -> Evaluation:
        """Packages `start` to `stop` (excluded) of the batch, as an Evaluation of their own."""
        km, kam = self.cleared
        return Evaluation(
            self.comp[start:stop], self.util[start:stop], (km[:, start:stop], kam[:, start:stop])
        )


class Future(NamedTuple):
    """Some packages of a batch cleared again once the investment pipeline has delivered.

    Attributes
    ----------
    ev
        The batch they are in.
    at
        Where package k of the batch asked about is in `ev`: `at[k]`.
    """

    ev: Evaluation
    at: dict[int, int]


@dataclass
class NoPolicyWorld:
    """The run's world with no policy: no bloc, no floors, the supplier selling normally (none of
    its strategy's moves, none of the floods and export controls a scenario schedules: those are
    its moves in history), under the same outages, demand swings and surprises (the world's luck
    is drawn once per round for both) and the scheduled changes in demand, its capacity
    investing and closing by the prices it would have had. Stepped along with the run; the
    records' `world_money` and rest-of-world columns are measured against it.

    Attributes
    ----------
    capacity
        (A, M) t/yr installed.
    fringe_capacity
        (M,) the rest of the world's.
    pipeline
        Additions on their way, as the run's.
    losing
        (A + 1, M) rounds under water, as the run's.
    outcome
        Its markets in the round just recorded.
    """

    capacity: np.ndarray
    fringe_capacity: np.ndarray
    pipeline: deque
    losing: np.ndarray
    outcome: Outcome | None = None

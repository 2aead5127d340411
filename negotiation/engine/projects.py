"""Projects: mines and plants not yet built, which a price floor can bring online (docs/ODD.md,
Submodel G).

Investment (`negotiation.engine._kernels.capacity_kernel`) grows installed capacity in
proportion to what is there, so a country with no mine of a mineral never gets one. A project
is a new entrant: a developer's mine or plant (Sonora's lithium clays, Mexico, 35,000 t a year
of lithium carbonate planned, about 6,600 t of lithium; Arafura's Nolans rare-earth project,
Australia) that is committed when the price its
developer expects has covered its unit cost and a hurdle (the capital to repay) for long enough,
and that produces after the build time. The expected price is the investment's: on the share of
the actor's capacity that sells into the bloc's market (all of a member's, an offtake partner's
contracted share), the price paid there while the floor is credible; the world price otherwise.
So a floor that holds brings a member's project online where the world price would not. Once
committed a project is built whatever prices do after (the money is sunk); built, it is capacity
like any other (it invests, retires, closes and restarts); a new entrant's normal margin is the
hurdle it was built for. Its capital is charged from the round it produces: a yearly charge of
the hurdle times its unit cost on each tonne of its capacity, written down as the capacity retires
(`capital`; the recorder's books, `negotiation.engine.recorder`), so that at its hurdle price a
new mine makes no money beyond repaying its capital.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from negotiation.engine.market import Outcome

PLANNED, COMMITTED, BUILT = 0, 1, 2


@dataclass
class ProjectBook:
    """A world's projects (the run's, or the world with no policy's), one entry each.

    Attributes
    ----------
    names
        The projects' names, as the scenario gives them.
    actor, mineral
        (P,) the indices of each project's actor and mineral.
    capacity
        (P,) t/yr once built.
    threshold
        (P,) USD/t: the actor's unit cost of the mineral times (1 + hurdle), the price the
        developer must expect before it commits.
    capital
        (P,) USD/yr: the yearly charge that repays the project's capital once built, the hurdle
        times the unit cost on each tonne of its capacity (its capacity times threshold less
        unit cost).
    decide
        (P,) rounds the expected price must stand at or above the threshold, more than which it
        commits.
    build
        (P,) rounds from commitment to output.
    streak
        (P,) rounds in a row the expected price has stood at or above the threshold (planned
        projects; 0 once committed).
    status
        (P,) PLANNED, COMMITTED or BUILT.
    due
        (P,) the round a committed project is built in, at the round's record (it produces from
        the next); -1 until committed.
    recorded
        The last round whose record advanced the book.
    """

    names: tuple[str, ...]
    actor: np.ndarray
    mineral: np.ndarray
    capacity: np.ndarray
    threshold: np.ndarray
    capital: np.ndarray
    decide: np.ndarray
    build: np.ndarray
    streak: np.ndarray
    status: np.ndarray
    due: np.ndarray
    recorded: int = 0

    @classmethod
    def empty(cls) -> ProjectBook:
        """A book with no project.

        Returns
        -------
        ProjectBook
            Empty arrays of every field.
        """
        z = np.zeros(0)
        i = np.zeros(0, dtype=np.int64)
        return cls(
            (), i, i.copy(), z, z.copy(), z.copy(), z.copy(), i.copy(), z.copy(), i.copy(), i.copy()
        )

    def copy(self) -> ProjectBook:
        """The same book, its state arrays copied (another world's, stepped apart).

        Returns
        -------
        ProjectBook
            The same projects, their streaks, statuses and due rounds copies of these.
        """
        return replace(
            self, streak=self.streak.copy(), status=self.status.copy(), due=self.due.copy()
        )

    def __len__(self) -> int:
        return len(self.names)

    def expected(self, outcome: Outcome, credible: bool) -> np.ndarray:
        """The price each project's developer expects, from package 0 of the round's markets: the
        bloc's sellers' price on the share of its actor's capacity that sells into the bloc's
        market while the floor is credible, the world price on the rest.

        Parameters
        ----------
        outcome : Outcome
            The round's markets (package 0 is the bloc as it stands).
        credible : bool
            Whether the floors are credible (developers invest against them).

        Returns
        -------
        np.ndarray
            (P,) USD/t.
        """
        pw = outcome.world_price[0, self.mineral]
        if not credible:
            return pw
        pp = outcome.seller_price[0, self.mineral]
        sold = outcome.bloc_sales_share[0, self.actor, self.mineral]
        return pw + (pp - pw) * sold

    def committed_by(self, rounds: int, keep: float, shape: tuple[int, int]) -> np.ndarray:
        """What the committed projects built within `rounds` records after the last one add to
        installed capacity by then, each written down by `keep` at every record after the one
        it is built in (as `future_capacity_kernel` writes down what is installed).

        Parameters
        ----------
        rounds : int
            The records ahead (the investment pipeline's length).
        keep : float
            The share of capacity a record leaves after retirement.
        shape : tuple of int
            (A, M), the actors' capacity's.

        Returns
        -------
        np.ndarray
            (A, M) t/yr.
        """
        out = np.zeros(shape)
        horizon = self.recorded + rounds
        for p in ((self.status == COMMITTED) & (self.due <= horizon)).nonzero()[0]:
            out[self.actor[p], self.mineral[p]] += self.capacity[p] * keep ** (
                horizon - self.due[p]
            )
        return out

    def advance(self, r: int, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Round r's decisions: a planned project whose expected price has stood at or above
        its threshold for more than `decide` rounds in a row is committed, to be built in round
        r + `build` (producing from the round after); a committed project due by round r is
        built.

        Parameters
        ----------
        r : int
            The round recorded.
        expected : np.ndarray
            (P,) the price each developer expects this round (`expected`).

        Returns
        -------
        tuple of np.ndarray
            The indices of the projects committed this round, and of those built (whose
            capacity the world adds now).
        """
        self.recorded = r
        planned = self.status == PLANNED
        self.streak = np.where(planned & (expected >= self.threshold), self.streak + 1.0, 0.0)
        committed = (planned & (self.streak > self.decide)).nonzero()[0]
        self.status[committed] = COMMITTED
        self.due[committed] = r + self.build[committed]
        self.streak[committed] = 0.0
        built = ((self.status == COMMITTED) & (self.due <= r)).nonzero()[0]
        self.status[built] = BUILT
        return committed, built

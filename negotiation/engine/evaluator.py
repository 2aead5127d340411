"""Market evaluation for the model: packages in, cleared markets and every actor's payoffs out.

`Evaluator` is the model's one way into the compiled kernels (`negotiation.engine._kernels`): it
clears batches of packages and scores every actor (`evaluate`, `batch`, `now_and_future`,
`future_and_no_policy`), works out the capacity that can produce now and once the investment
pipeline has delivered, the round's shocks, the world with no policy's markets, the rest of the
world's money and a round's investment and closures. It keeps what it can reuse from one batch
to the next (member rows, move rows, the terms in force, the round's shocks, last round's prices
as the price searches' starting points), and the packages the supplier's look-ahead cleared,
which are the round's record if it makes that move.

`negotiation.engine.market.clear` and `negotiation.engine.payoffs.score` are the plain entry points
over full (K, ...) arrays, with no packing and no starting guesses: the reference the packed batches
are checked against (tests/test_model.py, tests/test_kernels.py; `validation.brute_force_stability`
scores `Evaluator.spelled_out` packages with `score`). The model clears through them only its
calibration (`no_policy_outcome`).

The values a market evaluation takes and gives: `PackageSpec` (one package to clear),
`Evaluation` (a batch of packages cleared and scored), `Future` (packages cleared again once the
investment pipeline has delivered), `Investment` (a round's capacity change) and
`NoPolicyWorld` (the run's world with no policy, stepped along with it).
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from negotiation.engine._kernels import (
    batch_kernel,
    capacity_kernel,
    fringe_money_kernel,
    future_capacity_kernel,
)
from negotiation.engine.market import Outcome, Policies, clear, kernel_ready, log_guess
from negotiation.engine.payoffs import Profiles
from negotiation.engine.projects import ProjectBook
from negotiation.rules.types import INSTRUMENT_CODES, SupplierAction, SupplierMove

#: The supplier selling normally: no flood, no export controls, no side offer.
NORMAL = SupplierMove(SupplierAction.NORMAL, reason="sells normally")

#: The model an evaluator serves: a `negotiation.engine.model.BlocModel` (not imported: this module
#: sits below it), read through its public attributes.
Model = Any


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
        "cost_sharing": "equal" | "consumption" | {actor: share}, "instrument": "border" |
        "price_gap" | "stockpile", "partners": [country, ...] (the offtake partners),
        "offtake_share": x (the share of each partner's output under contract), "offtake_shares":
        {partner: x} (partners' own shares)}, each in place
        of the one in force.
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
    closed, repaid
        (A + 1, M) capacity closed and kept, and rounds prices have repaid its restart, as the
        run's.
    projects
        Its projects (`negotiation.engine.projects`), committed by the prices it would have
        had.
    capital, charge_pipeline
        (A + 1, M) the yearly capital charge of what it added, restarted or built, and the
        charges of what was ordered (investment beyond replacement, restarts) on their way, as
        the run's.
    outcome
        Its markets in the round just recorded.
    """

    capacity: np.ndarray
    fringe_capacity: np.ndarray
    pipeline: deque
    losing: np.ndarray
    closed: np.ndarray
    repaid: np.ndarray
    projects: ProjectBook
    capital: np.ndarray
    charge_pipeline: deque
    outcome: Outcome | None = None


class Investment(NamedTuple):
    """A round's investment, retirement, closures and restarts (`Evaluator.invest`).

    Attributes
    ----------
    capacity
        Installed capacity after the round, (A + 1, M) t/yr: the actors', then the rest of the
        world's.
    additions
        What was ordered this round (arrives after the investment lag), (A + 1, M).
    losing
        Rounds each producer has been under water, (A + 1, M).
    closed
        Capacity closed this round, (A + 1, M).
    kept
        Capacity closed and kept (care and maintenance) after the round, (A + 1, M).
    restarted
        Closed capacity ordered back this round (in `additions`: it arrives with the lag),
        (A + 1, M).
    repaid
        Rounds each producer's prices have repaid a restart of its closed capacity, (A + 1, M).
    beyond
        Investment ordered beyond the steady replacement of the opening capacity (in
        `additions`; below 0 where less was ordered), (A + 1, M): what pays a capital charge
        (Submodel G).
    """

    capacity: np.ndarray
    additions: np.ndarray
    losing: np.ndarray
    closed: np.ndarray
    kept: np.ndarray
    restarted: np.ndarray
    repaid: np.ndarray
    beyond: np.ndarray


def move_key(move: SupplierMove) -> tuple:
    """What makes two supplier moves the same move for the markets (the reason does not)."""
    return (move.action, move.minerals, move.intensity, move.target, move.offer)


_NO_GUESS_YET = object()  # Evaluator._guess_of before the first guess is made


class Evaluator:
    """The model's market evaluations: the only caller of the compiled kernels for the model.

    Parameters
    ----------
    model
        The `BlocModel` whose markets are cleared: its data, levers, capacity, random state and
        fund are read through its public attributes when a batch is cleared.

    Attributes
    ----------
    profile_args
        The payoffs' per-actor parameters as the kernels take them (`use_profiles`).
    fades
        What is left, once the investment pipeline has delivered, of a surprise on now (the
        chance it still is) and of today's demand swing (its decay): set by the model with its
        random state.
    looks_ahead
        Whether any country weighs the pipeline's deliveries (when none does, no package is
        cleared a second time for the future).
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self.profile_args: tuple = ()
        self.fades = (0.0, 0.0)
        self.looks_ahead = False
        self._fringe_lo: np.ndarray | None = None  # the rest of the world's ramps (`use_profiles`)
        self._fringe_width: np.ndarray | None = None
        self._shocks: dict[int, tuple[np.ndarray, ...]] = {}
        self._luck: dict[int, tuple[np.ndarray, ...]] = {}
        self._later: dict[int, tuple[np.ndarray, ...]] = {}
        self._available_of: tuple = (None, None, b"")  # what `available` last computed from
        self._available_now: tuple[np.ndarray, np.ndarray] | None = None  # and what it gave
        self._future_of: np.ndarray | None = None
        self._future: tuple[np.ndarray, np.ndarray] | None = None
        self._guess_of: Outcome | None | object = _NO_GUESS_YET
        self._guess: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))
        self._key_of: str | Mapping[str, float] | None = None
        self._key = np.empty(0)
        self._member_rows: dict[frozenset[str], tuple[bool, ...]] = {}
        self._member_arrays: dict[tuple[frozenset[str], ...], np.ndarray] = {}
        self._move_arrays: dict[tuple, np.ndarray] = {}
        self._terms_of: tuple | None = None  # what `terms_rows` last made its rows of
        self._terms: tuple[np.ndarray, ...] | None = None
        self._n_floored = 1
        #: packages the supplier's look-ahead cleared, by (round, members, move): `remember`
        self._lookahead: dict[tuple, tuple[Evaluation, int, int]] = {}

    def use_profiles(self, profiles: Profiles) -> None:
        """Take the payoffs' per-actor parameters (once the model has calibrated them): the
        arrays the kernels read (the stock held and its mark are the model's, changed in
        place).

        Sets `profile_args`, and the rest of the world's supply ramps from the model's data.

        Parameters
        ----------
        profiles : Profiles
            The payoffs' per-actor parameters (`negotiation.engine.payoffs.Profiles`).
        """
        p = profiles
        self.profile_args = (
            p.risk_premium,
            p.openness_value,
            float(p.strategic_weight),
            p.base_supplier_share,
            p.stock_held,
            p.covered,
            np.array(p.trade_eps, dtype=float),
            p.fiscal_cap,
            float(p.stock_resale),
            p.stock_mark,
            p.stock_book,
            float(p.round_years),
        )
        d = self.model.data
        self._fringe_lo = d.fringe_cost * (1.0 - 0.5 * d.spread)
        self._fringe_width = d.fringe_cost * d.spread

    # ------------------------------------------------------------------------------------------
    # Capacity

    def available(self) -> tuple[np.ndarray, np.ndarray]:
        """Capacity that can produce this round (installed, less outages), (A, M) and (M,).

        Computed again when the capacity arrays were replaced (each round: they are never
        changed in place) or the outages' values changed (compared by content: they are changed
        in place).

        Returns
        -------
        tuple of (np.ndarray, np.ndarray)
            The actors' (A, M) and the rest of the world's (M,), t/yr (the model's own arrays
            when there is no outage).
        """
        m = self.model
        outage = m.outage.tobytes()
        made = self._available_of
        if made[0] is m.capacity and made[1] is m.fringe_capacity and made[2] == outage:
            return self._available_now
        if not m.outage.any():
            now = m.capacity, m.fringe_capacity
        else:
            now = (m.capacity * (1 - m.outage[:-1]), m.fringe_capacity * (1 - m.outage[-1]))
        self._available_now, self._available_of = now, (m.capacity, m.fringe_capacity, outage)
        return now

    def future_capacity(self) -> tuple[np.ndarray, np.ndarray]:
        """Installed capacity once the investment pipeline has delivered (what is ordered
        arrives, and the committed projects due by then are built; retirement goes on; outages
        are over), (A, M) and (M,).

        Computed again only when the model's capacity array was replaced (each round).

        Returns
        -------
        tuple of (np.ndarray, np.ndarray)
            The actors' (A, M) and the rest of the world's (M,), t/yr.
        """
        m = self.model
        if self._future_of is m.capacity:  # capacity is a new array each round
            return self._future
        keep = 1.0 - m.config.investment.retirement * m.config.round_years
        if m.pipeline:  # the arrivals in their order, (lag, A + 1, M)
            cap = future_capacity_kernel(m.capacity, m.fringe_capacity, np.array(m.pipeline), keep)
            if len(m.projects):
                cap[:-1] += m.projects.committed_by(len(m.pipeline), keep, m.capacity.shape)
        else:
            cap = np.vstack([m.capacity, m.fringe_capacity[None]])
        self._future, self._future_of = (cap[:-1], cap[-1]), m.capacity
        return self._future

    def no_policy_available(self) -> tuple[np.ndarray, np.ndarray]:
        """The world with no policy's capacity that can produce this round (its own installed
        capacity, less this round's outages), (A, M) and (M,).

        Returns
        -------
        tuple of (np.ndarray, np.ndarray)
            The actors' (A, M) and the rest of the world's (M,), t/yr.
        """
        m = self.model
        w = m.no_policy
        if not m.outage.any():
            return w.capacity, w.fringe_capacity
        return w.capacity * (1 - m.outage[:-1]), w.fringe_capacity * (1 - m.outage[-1])

    def invest(
        self,
        capacity: np.ndarray,
        fringe_capacity: np.ndarray,
        outcome: Outcome,
        credible: bool,
        losing: np.ndarray,
        arriving: np.ndarray,
        closed: np.ndarray,
        repaid: np.ndarray,
    ) -> Investment:
        """A round's investment, retirement, closures and restarts (`capacity_kernel`,
        docs/ODD.md section G) at the prices of package 0 of `outcome`.

        Parameters
        ----------
        capacity, fringe_capacity
            Installed capacity, the actors' (A, M) and the rest of the world's (M,).
        outcome
            The round's markets: package 0's world price, the price sellers into the bloc's
            market receive and the share of each producer's capacity that sells there (all of
            a member's, an offtake partner's contracted share).
        credible
            Whether the floors are credible (producers invest against them).
        losing
            Rounds each producer has been under water, (A + 1, M).
        arriving
            What arrives from the pipeline this round, (A + 1, M) (the baseline's idle share
            when there is no lag).
        closed
            Capacity closed earlier and kept (care and maintenance), (A + 1, M).
        repaid
            Rounds each producer's prices have repaid a restart, (A + 1, M).

        Returns
        -------
        Investment
            Installed capacity after the round, what was ordered, rounds under water, what
            closed, what is kept closed, what was ordered back and the rounds prices have
            repaid a restart, each (A + 1, M): the actors', then the rest of the world's.
        """
        m = self.model
        d, inv = m.data, m.config.investment
        return Investment(
            *capacity_kernel(
                capacity,
                fringe_capacity,
                outcome.seller_price[0],
                outcome.world_price[0],
                d.cost,
                d.fringe_cost,
                d.spread,
                outcome.bloc_sales_share[0],
                credible,
                m.config.round_years,
                inv.rate,
                inv.retirement,
                m.base_margin,
                m.base_idle,
                losing,
                m.closure_rounds,
                d.supplier,
                arriving,
                bool(m.lag_rounds),
                closed,
                inv.restart_margin,
                repaid,
                m.restart_rounds,
                m.base_price,
                m.opening_capacity,
            )
        )

    def member_mask(self, members: frozenset[str]) -> np.ndarray:
        """Which actors are in `members`, (A,) booleans.

        Parameters
        ----------
        members : frozenset of str
            A bloc's members.

        Returns
        -------
        np.ndarray
            (A,) booleans, in the order of the model's actors.
        """
        m = self.model
        return np.array(self._member_rows.get(members) or [a in members for a in m.actor_ids])

    def partner_row(
        self,
        partners: Sequence[str] | None,
        share: float | None = None,
        shares: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """The offtake partners a package names, as the share of each actor's producers'
        capacity under contract with the bloc, (A,): a partner's own contract share if it has
        one, else the offtake share; 0 for anyone else.

        Parameters
        ----------
        partners : Sequence of str or None
            A package's own offtake partners (`PackageSpec.terms["partners"]`), or None for
            those in force.
        share : float or None
            A package's own contract share (`PackageSpec.terms["offtake_share"]`), or None for
            the one in force (`[policy] offtake_share`).
        shares : Mapping of str to float, or None
            A package's own table of partners' own contract shares
            (`PackageSpec.terms["offtake_shares"]`), or None for the one in force (`[policy]
            offtake_shares`).

        Returns
        -------
        np.ndarray
            (A,) floats in [0, 1], in the order of the model's actors.
        """
        m = self.model
        if partners is None and share is None and shares is None:
            return m.partner_mask
        share = m.offtake_share if share is None else share
        partners = m.partners if partners is None else partners
        shares = m.offtake_shares if shares is None else shares
        return np.array([shares.get(a, share) if a in partners else 0.0 for a in m.actor_ids])

    # ------------------------------------------------------------------------------------------
    # Money outside the tables

    def fringe_money(
        self, price: np.ndarray, bought: np.ndarray, capacity: np.ndarray | None = None
    ) -> tuple[float, float]:
        """The rest of the world's producers' surplus on their ramps at `price` (with the
        capacity that could produce: `capacity`, or this round's, outages out), and their
        buyers' consumer surplus lost against the reference prices buying `bought` there (on
        their demand curves, as the actors'), USD/yr.

        Parameters
        ----------
        price : np.ndarray
            World prices, (M,).
        bought : np.ndarray
            What the rest of the world's buyers buy at them, (M,).
        capacity : np.ndarray or None, default None
            The rest of the world's capacity that could produce, (M,) (None: this round's,
            outages out, `available()`).

        Returns
        -------
        tuple of (float, float)
            (the producers' surplus, minus the buyers' consumer surplus lost), USD/yr, summed
            over minerals (`fringe_money_kernel`).
        """
        d = self.model.data
        cap = self.available()[1] if capacity is None else capacity
        return fringe_money_kernel(
            price, bought, self._fringe_lo, self._fringe_width, cap, d.ref_price, d.elasticity
        )

    def no_policy_outcome(self) -> Outcome:
        """The markets cleared with no bloc, no floors and no supplier move, with the capacity
        installed (the calibration, through `negotiation.engine.market.clear`).

        Returns
        -------
        Outcome
            The markets of that one package, (1, ...) arrays.
        """
        m = self.model
        A, M = m.data.cost.shape
        zeros = np.zeros((1, M))
        pol = Policies(
            member=np.zeros((1, A), dtype=bool),
            floors=zeros,
            instrument=np.zeros(1, dtype=np.int64),
            penalty=np.zeros(1),
            stock_budget=zeros,
            flood=zeros,
            control=zeros,
            demand_shift=np.ones((1, M)),
            capacity=m.capacity[None],
            fringe_capacity=m.fringe_capacity[None],
        )
        return clear(m.data, pol)

    # ------------------------------------------------------------------------------------------
    # The terms and the cost-sharing key

    def base_key(self) -> np.ndarray:
        """`cost_key()` for the lever as set, computed again only when the lever changes.

        Returns
        -------
        np.ndarray
            The cost-sharing key, (A,) (the same array until the lever changes).
        """
        m = self.model
        if self._key_of != m.cost_sharing:
            self._key, self._key_of = self.cost_key(), copy.deepcopy(m.cost_sharing)
        return self._key

    def cost_key(self, sharing: str | Mapping[str, float] | None = None) -> np.ndarray:
        """The cost-sharing key (A,) of `sharing`, before it is renormalised over a package's
        members.

        Parameters
        ----------
        sharing : str or Mapping[str, float] or None, default None
            "consumption", "equal" or {actor: share} (None: the lever as set).

        Returns
        -------
        np.ndarray
            (A,): the shares of the table (0 for an actor it leaves out); ones for "equal";
            else the value of each actor's consumption at the reference prices, plus a sliver
            of the total (so that a member with no consumption stays in the key).
        """
        m = self.model
        sharing = m.cost_sharing if sharing is None else sharing
        if isinstance(sharing, Mapping):
            return np.array([float(sharing.get(a, 0.0)) for a in m.actor_ids])
        if sharing == "equal":
            return np.ones(len(m.actor_ids))
        # By value of consumption; a sliver of the total keeps a member with no consumption in
        # the key (and the key the same whatever the unit of money).
        value = m.data.consumption @ m.data.ref_price
        return value + 1e-12 * max(float(value.sum()), 1e-300)

    def terms_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The terms in force as `batch_kernel` takes a terms row: floors (1, M), penalty (1,),
        cost-sharing key (1, A) and offtake partners (1, A). Made again only when one of them
        changed: the levers replace `floors`, the key (`base_key`) and the partners' mask with
        new arrays, never change them in place, and the penalty is a number (so the cache
        compares the objects themselves).

        Returns
        -------
        tuple of (np.ndarray, np.ndarray, np.ndarray, np.ndarray)
            Floors (1, M) USD/t, penalty (1,), cost-sharing key (1, A) and partners (1, A): the
            share of each actor's capacity under contract (`partner_row`).
        """
        m = self.model
        key = self.base_key()
        made = self._terms_of
        if (
            made is None
            or made[0] is not m.floors
            or made[1] != m.penalty
            or made[2] is not key
            or made[3] is not m.partner_mask
        ):
            self._terms = (
                np.array([m.floors], dtype=float),
                np.array([m.penalty], dtype=float),
                np.array([key], dtype=float),
                m.partner_mask[None],
            )
            # the floored minerals share the stockpile fund's spending (at least one: no floor)
            self._n_floored = max(int(np.count_nonzero(m.floors)), 1)
            self._terms_of = (m.floors, m.penalty, key, m.partner_mask)
        return self._terms

    # ------------------------------------------------------------------------------------------
    # The round's shocks and the supplier's moves

    def forget_shocks(self) -> None:
        """The round's random state was drawn again: the shocks are worked out afresh when next
        asked for."""
        self._shocks = {}

    def shock_arrays(self, r: int) -> tuple:
        """The scheduled shocks of round r, with the round's random state (a surprise is a
        blanket control).

        Only round r's are kept (with `future_shocks`' and `luck_arrays`' of it) until another
        round is asked for or `forget_shocks`.

        Parameters
        ----------
        r : int
            The round.

        Returns
        -------
        tuple
            (flood, aimed, blanket, demand): supplier flood (a fraction of its capacity), export
            controls aimed at members and blanket ones (shares of its sales withheld) and demand
            multipliers, each (M,), but blanket (1, M) and demand (1, M).
        """
        cached = self._shocks.get(r)
        if cached is not None:
            return cached
        m = self.model
        M = len(m.minerals)
        flood, aimed, blanket, demand = np.zeros(M), np.zeros(M), np.zeros(M), np.ones(M)
        for s in m.config.shocks:
            end = s.start_round + s.duration - 1 if s.duration else m.rounds
            if s.start_round <= r <= end:
                j = m.minerals.index(s.mineral)
                if s.kind == "flood":
                    flood[j] += s.magnitude
                elif s.kind == "export_control":
                    controls = aimed if s.target == "members" else blanket
                    controls[j] = min(1.0, controls[j] + s.magnitude)
                else:
                    demand[j] *= 1.0 + s.magnitude
        # The random state drawn for the round (see `BlocModel._draw_round`), and what is
        # expected of it once the investment pipeline has delivered (`future_shocks`): a
        # surprise still on (each lasts a geometric time, of mean `surprise_days`) and the
        # demand swing decayed (an AR(1) of memory `demand_memory_days`), over the investment
        # lag.
        fade_s, fade_d = self.fades
        sched_demand = demand
        demand = sched_demand * np.exp(m.demand_log)
        luck_blanket = np.minimum(m.surprise, 1.0)[None]
        self._shocks = {
            r: (flood, aimed, np.minimum(blanket + m.surprise, 1.0)[None], demand[None])
        }  # only this round is asked
        zeros = np.zeros(M)
        self._luck = {r: (zeros, zeros, luck_blanket, demand[None])}
        later_demand = sched_demand * np.exp(m.demand_log * fade_d)
        later_blanket = np.minimum(blanket + m.surprise * fade_s, 1.0)
        self._later = {r: (flood, aimed, later_blanket[None], later_demand[None])}
        return self._shocks[r]

    def future_shocks(self, r: int) -> tuple:
        """`shock_arrays` of round r as expected once the investment pipeline has delivered:
        scheduled shocks and the supplier's last move as they are (taken to persist), the
        round's surprises and demand swing faded by what is expected of them over the lag.

        Parameters
        ----------
        r : int
            The round.

        Returns
        -------
        tuple
            (flood, aimed, blanket, demand) as `shock_arrays` gives them: (M,), (M,), (1, M),
            (1, M).
        """
        self.shock_arrays(r)
        return self._later[r]

    def luck_arrays(self, r: int) -> tuple:
        """`shock_arrays` of round r without the supplier's scheduled moves (a scenario's
        floods and export controls: the supplier's moves in history): the world's luck (outages
        aside: in the capacity) and the scheduled changes in demand, as the world with no policy
        meets them.

        Parameters
        ----------
        r : int
            The round.

        Returns
        -------
        tuple
            (flood, aimed, blanket, demand) as `shock_arrays` gives them: no flood and no aimed
            controls (zeros, (M,)), the round's surprises as blanket controls (1, M) and demand
            (1, M).
        """
        self.shock_arrays(r)
        return self._luck[r]

    def controls(self, moves: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
        """The export controls packages meet in round r, as the kernels compose them: the
        round's scheduled ones and surprises plus each package's move.

        Parameters
        ----------
        moves : np.ndarray
            (K, 3M + A) supplier moves (`move_row`).
        r : int
            The round.

        Returns
        -------
        tuple of (np.ndarray, np.ndarray)
            (controls aimed at members, blanket ones), each (K, M) shares withheld, at most 1.
        """
        M = len(self.model.minerals)
        _, aimed, blanket, _ = self.shock_arrays(r)
        return (
            np.minimum(aimed + moves[:, M : 2 * M], 1.0),
            np.minimum(blanket[0] + moves[:, 2 * M : 3 * M], 1.0),
        )

    def move_row(self, move: SupplierMove) -> list[float]:
        """What a supplier move adds to a package.

        Parameters
        ----------
        move : SupplierMove
            The supplier's move.

        Returns
        -------
        list of float
            3 M + A values: flood (a fraction of its capacity), export controls aimed at
            members and blanket ones (shares of sales withheld) per mineral, then side offers
            per actor (USD/yr).
        """
        m = self.model
        M, A = len(m.minerals), len(m.actor_ids)
        row = [0.0] * (3 * M + A)
        if move.action is SupplierAction.FLOOD:
            for x in move.minerals:
                row[m.minerals.index(x)] += move.intensity
        elif move.action is SupplierAction.EXPORT_CONTROLS:
            offset = 2 * M if move.target == "all" else M
            for x in move.minerals:
                row[offset + m.minerals.index(x)] += move.intensity
        elif move.action is SupplierAction.SIDE_OFFER and move.target:
            row[3 * M + m.index[move.target]] = move.offer
        return row

    def move_array(self, move: SupplierMove) -> np.ndarray:
        """`move_row` as an array, kept by what makes the move (`move_key`): the row depends
        on nothing else (the minerals and actors are the run's). A batch asks for a few moves a
        round, made afresh each time; the cache is emptied when it grows past a few hundred
        (a side offer's amount changes each round).

        Parameters
        ----------
        move : SupplierMove
            The supplier's move.

        Returns
        -------
        np.ndarray
            (3 M + A,) float64, as `move_row` (the cached array: not to be changed).
        """
        key = move_key(move)
        row = self._move_arrays.get(key)
        if row is None:
            if len(self._move_arrays) > 256:
                self._move_arrays.clear()
            row = self._move_arrays[key] = np.array(self.move_row(move), dtype=np.float64)
        return row

    def log_guesses(self) -> tuple[np.ndarray, np.ndarray]:
        """Last round's world and bloc prices (the model's `last_outcome`), where the price
        search starts, as log prices (1, M) (NaN: no guess).

        Returns
        -------
        tuple of (np.ndarray, np.ndarray)
            The world's and the bloc's (its autarky price where it has one), each (1, M); all
            NaN while the model has no `last_outcome`.
        """
        m = self.model
        last = m.last_outcome
        if self._guess_of is last:
            return self._guess
        if last is None:
            none = np.full((1, len(m.minerals)), np.nan)
            self._guess = none, none
        else:
            bloc = np.where(last.autarky[0] > 0, last.autarky[0], last.bloc_price[0])
            world = last.world_price[0]
            self._guess = log_guess(m.data, world)[None], log_guess(m.data, bloc)[None]
        self._guess_of = last
        return self._guess

    # ------------------------------------------------------------------------------------------
    # Batches

    def evaluate(
        self,
        specs: Sequence[PackageSpec | tuple],
        r: int | None = None,
        capacity: tuple[np.ndarray, np.ndarray] | None = None,
        shocks: tuple | None = None,
    ) -> Evaluation:
        """Clear one package per spec in one batch and score every actor.

        Parameters
        ----------
        specs
            The packages (`PackageSpec`: members, floor scale, supplier move, and optionally
            terms that set "floors" ({mineral: USD/t}), "penalty", "cost_sharing" and
            "instrument" for that package alone); a plain tuple in the same order is taken too.
        r
            The round whose shocks the packages meet (default: the model's round).
        capacity
            The producers' (A, M) and the rest of the world's (M,) capacity to clear with
            (default: what can produce now, `available()`).
        shocks
            The round's shocks as `shock_arrays` gives them (the default).

        Returns
        -------
        Evaluation
            The packages' markets, components and utilities, in the order of `specs`.
        """
        r = self.model.round if r is None else r
        cap, fringe = self.available() if capacity is None else capacity
        shocks = self.shock_arrays(r) if shocks is None else tuple(kernel_ready(x) for x in shocks)
        flood, aimed, blanket, demand = shocks
        return self.batch(
            specs,
            kernel_ready(cap[None]),
            kernel_ready(fringe[None]),
            (flood[None], aimed[None], blanket, demand),
        )

    def batch(
        self,
        specs: Sequence[PackageSpec | tuple],
        capacity: np.ndarray,
        fringe: np.ndarray,
        shocks: tuple,
        state: list[int] | None = None,
        guesses: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Evaluation:
        """`evaluate` in W states of the world at once.

        The arrays are all kernel-ready and each one row a state or one row shared by all.

        Parameters
        ----------
        specs : Sequence of PackageSpec or tuple
            The packages, as `evaluate` takes them.
        capacity : np.ndarray
            The actors' capacity, (W, A, M).
        fringe : np.ndarray
            The rest of the world's capacity, (W, M).
        shocks : tuple
            (flood, aimed and blanket export controls, demand shift).
        state : list of int or None, default None
            The state of each package (default: all in the first).
        guesses : tuple of (np.ndarray, np.ndarray) or None, default None
            Log world and bloc prices where the price searches start (default
            `log_guesses()`).

        Returns
        -------
        Evaluation
            The packages' markets, components and utilities, in the order of `specs`.
        """
        m = self.model
        # A batch holds a few member sets and supplier moves, each in many packages: each is
        # one row, and a package is its picks (see `batch_kernel`).
        if any(type(spec[0]) is not frozenset for spec in specs):
            specs = [(frozenset(spec[0]), *spec[1:]) for spec in specs]
        sets: dict[frozenset[str], int] = {}
        which_set = [sets.setdefault(spec[0], len(sets)) for spec in specs]
        moves = {id(spec[2]): spec[2] for spec in specs}
        move_index = {i: n for n, i in enumerate(moves)}
        which_move = [move_index[id(spec[2])] for spec in specs]
        terms = self.terms_rows()  # the terms in force: row 0
        which_terms = [0] * len(specs)
        code = INSTRUMENT_CODES[m.instrument]
        codes = [code]  # each terms row's instrument
        # A package with its own floors, penalty, cost-sharing key or instrument has its own
        # terms row.
        own_terms = [k for k, spec in enumerate(specs) if len(spec) > 3 and spec[3]]
        if own_terms:
            minerals, base_key = m.minerals, self.base_key()
            floors, penalty, key = [m.floors], [m.penalty], [base_key]
            partner = [m.partner_mask]
            for k in own_terms:
                own = specs[k][3]
                which_terms[k] = len(floors)
                partner.append(
                    self.partner_row(
                        own.get("partners"), own.get("offtake_share"), own.get("offtake_shares")
                    )
                )
                own_floors = own.get("floors", {})
                floors.append([float(own_floors.get(x, f)) for x, f in zip(minerals, m.floors)])
                penalty.append(float(own.get("penalty", m.penalty)))
                sharing = own.get("cost_sharing")
                key.append(base_key if sharing is None else self.cost_key(sharing))
                instrument = own.get("instrument")
                codes.append(code if instrument is None else INSTRUMENT_CODES[instrument])
            terms = (
                np.array(floors, dtype=float),
                np.array(penalty, dtype=float),
                np.array(key, dtype=float),
                np.array(partner, dtype=float),
            )
        # The member rows of the batch's sets, kept by the sets in their order: a round's
        # batches come back with the same few (the bloc, each country toggled in or out).
        members = self._member_arrays.get(tuple(sets))
        if members is None:
            rows = self._member_rows
            for mem in sets:
                if mem not in rows:
                    rows[mem] = tuple(a in mem for a in m.actor_ids)
            if len(self._member_arrays) > 256:
                self._member_arrays.clear()
            members = np.array([rows[mem] for mem in sets], dtype=np.bool_)
            self._member_arrays[tuple(sets)] = members
        n_floored = self._n_floored
        budget = 0.0 if m.fund_exhausted else m.fund / m.config.round_years / n_floored
        guess, autarky_guess = self.log_guesses() if guesses is None else guesses
        move_rows = [self.move_array(move) for move in moves.values()]
        outcome, comp, util = batch_kernel(
            m.data.kernel_args,
            self.profile_args,
            m.weights,
            members,
            move_rows[0][None] if len(move_rows) == 1 else np.array(move_rows),
            terms,
            np.array(
                [which_set, which_move, which_terms, state or [0] * len(specs)], dtype=np.int64
            ),
            np.array([spec[1] for spec in specs], dtype=np.float64),
            np.array(codes, dtype=np.int64),
            budget,
            shocks,
            capacity,
            fringe,
            guess,
            autarky_guess,
        )
        return Evaluation(comp, util, outcome)

    def now_and_future(
        self,
        specs: Sequence[PackageSpec],
        r: int,
        ahead: Sequence[int],
        now: Evaluation | None = None,
    ) -> tuple[Evaluation, Future | None]:
        """`specs` cleared now, and those numbered in `ahead` once the investment pipeline has
        delivered (None where nobody looks ahead), in one batch (only the future if given
        `now`).

        Parameters
        ----------
        specs : Sequence of PackageSpec
            The packages.
        r : int
            The round whose shocks they meet.
        ahead : Sequence of int
            The places in `specs` of the packages to clear for the future too.
        now : Evaluation or None, default None
            `specs` cleared now already (then only the future is cleared).

        Returns
        -------
        tuple of (Evaluation, Future or None)
            `specs` cleared now (`now` if given), and the future (`Future.at[k]` for k in
            `ahead`); None when no country looks ahead (`looks_ahead`) or `ahead` is empty.
        """
        if not self.looks_ahead or not ahead:
            return (self.evaluate(specs, r) if now is None else now), None
        fcap, ffringe = self.future_capacity()
        fshocks = self.future_shocks(r)
        later = [specs[k] for k in ahead]
        if now is not None:
            ev = self.evaluate(later, r, capacity=(fcap, ffringe), shocks=fshocks)
            return now, Future(ev, {k: n for n, k in enumerate(ahead)})
        # Two states of the world, now (0) and once the pipeline has delivered (1): the
        # packages of `specs` meet the first, those of `later` the second (the scheduled
        # shocks, flood and aimed controls, are taken to persist: one row for both). The
        # states' rows are stacked with np.array (a few times quicker than np.stack here).
        K, L = len(specs), len(later)
        cap, fringe = self.available()
        flood, aimed, blanket, demand = self.shock_arrays(r)
        ev = self.batch(
            [*specs, *later],
            np.array([cap, fcap]),
            np.array([fringe, ffringe]),
            (flood[None], aimed[None], np.concatenate([blanket, fshocks[2]]),
             np.concatenate([demand, fshocks[3]])),
            state=[0] * K + [1] * L,
        )  # fmt: skip
        return ev.rows(0, K), Future(ev, {k: K + n for n, k in enumerate(ahead)})

    def future_and_no_policy(
        self, specs: Sequence[PackageSpec], r: int, ahead: Sequence[int], guesses: tuple
    ) -> tuple[Future, Evaluation]:
        """The round's record once the round itself is cleared (by the supplier's look-ahead):
        the packages of `specs` numbered in `ahead` once the pipeline has delivered, as
        `now_and_future` clears them, and the world with no policy (`Recorder.welfare` measures
        the world's money against it), in one batch of two states. Each package meets what its
        own batch would have given it: the future starts its price search from `guesses` (last
        round's markets), the world with no policy from `log_guesses()` (this round's).

        Parameters
        ----------
        specs : Sequence of PackageSpec
            The round's record packages.
        r : int
            The round.
        ahead : Sequence of int
            The places in `specs` of the packages to clear for the future.
        guesses : tuple
            Log world and bloc prices, (1, M) each, where the future's price searches start.

        Returns
        -------
        tuple of (Future, Evaluation)
            The future (`Future.at[k]` for k in `ahead`), and the world with no policy, one
            package.
        """
        fcap, ffringe = self.future_capacity()
        cap0, fringe0 = self.no_policy_available()
        later = [specs[k] for k in ahead]
        L = len(later)
        now_guesses = self.log_guesses()
        flood, aimed, blanket, demand = self.future_shocks(r)
        flood0, aimed0, blanket0, demand0 = self.luck_arrays(r)
        ev = self.batch(
            [*later, PackageSpec(frozenset(), 1.0, NORMAL)],
            np.array([fcap, cap0]),
            np.array([ffringe, fringe0]),
            (
                np.array([flood, flood0]),
                np.array([aimed, aimed0]),
                np.concatenate([blanket, blanket0]),
                np.concatenate([demand, demand0]),
            ),
            state=[0] * L + [1],
            guesses=(
                np.concatenate([guesses[0], now_guesses[0]]),
                np.concatenate([guesses[1], now_guesses[1]]),
            ),
        )
        return Future(ev, {k: n for n, k in enumerate(ahead)}), ev.rows(L, L + 1)

    def no_policy(self, r: int) -> Evaluation:
        """The world with no policy cleared in round r: its own capacity, the round's luck.

        Parameters
        ----------
        r : int
            The round.

        Returns
        -------
        Evaluation
            One package: no members, the supplier selling normally.
        """
        return self.evaluate(
            [PackageSpec(frozenset(), 1.0, NORMAL)], r, capacity=self.no_policy_available(),
            shocks=self.luck_arrays(r),
        )  # fmt: skip

    # ------------------------------------------------------------------------------------------
    # The supplier's look-ahead, kept for the round's record

    def remember(
        self,
        r: int,
        members: frozenset[str],
        move: SupplierMove,
        ev: Evaluation,
        start: int,
        stop: int,
    ) -> None:
        """Keep packages `start` to `stop` (excluded) of `ev`: the round's record if the
        supplier makes `move` with `members` in round r (`Recorder.record_specs`' packages),
        for `recall`.

        Parameters
        ----------
        r : int
            The round.
        members : frozenset of str
            The bloc's members.
        move : SupplierMove
            The supplier's move (kept by `move_key`: its reason does not count).
        ev : Evaluation
            The batch the packages are in.
        start : int
            The first package's place in `ev`.
        stop : int
            The place after the last.
        """
        self._lookahead[(r, members, move_key(move))] = (ev, start, stop)

    def recall(self, r: int, members: frozenset[str], move: SupplierMove) -> Evaluation | None:
        """The packages `remember` kept for (r, members, move); everything kept is forgotten
        (a round is recorded once).

        Parameters
        ----------
        r : int
            The round.
        members : frozenset of str
            The bloc's members.
        move : SupplierMove
            The supplier's move (by `move_key`).

        Returns
        -------
        Evaluation or None
            The packages, as an Evaluation of their own, or None if none were kept for them.
        """
        kept = self._lookahead.pop((r, members, move_key(move)), None)
        self._lookahead.clear()
        return None if kept is None else kept[0].rows(kept[1], kept[2])

    # ------------------------------------------------------------------------------------------
    # The plain form

    def spelled_out(
        self, specs: Sequence[PackageSpec | tuple], r: int | None = None
    ) -> tuple[Policies, Profiles, np.ndarray]:
        """The packages of `specs` (as `evaluate` takes them) as full (K, ...) arrays for the
        public `negotiation.engine.payoffs.score`.

        `evaluate` packs the same packages for its compiled batch; this is the plain form, for
        checks that want to score packages without the model's batching.

        Parameters
        ----------
        specs : Sequence of PackageSpec or tuple
            The K packages, as `evaluate` takes them.
        r : int or None, default None
            The round whose shocks the packages meet (default: the model's round).

        Returns
        -------
        tuple of (Policies, Profiles, np.ndarray)
            (policies, profiles, side offers (K, A) USD/yr).
        """
        m = self.model
        r = m.round if r is None else r
        K, A, M = len(specs), len(m.actor_ids), len(m.minerals)
        s_flood, _, _, s_demand = self.shock_arrays(r)
        floors, penalty, key = np.empty((K, M)), np.empty(K), np.empty((K, A))
        partner = np.empty((K, A))
        codes = np.full(K, INSTRUMENT_CODES[m.instrument])
        moves = np.array([self.move_row(spec[2]) for spec in specs]).reshape(K, 3 * M + A)
        control, blanket = self.controls(moves, r)
        for k, (_, scale, _, *rest) in enumerate(specs):
            terms = rest[0] if rest and rest[0] else {}
            own = terms.get("floors", {})
            floors[k] = [float(own.get(x, f)) * scale for x, f in zip(m.minerals, m.floors)]
            penalty[k] = float(terms.get("penalty", m.penalty))
            sharing = terms.get("cost_sharing")
            key[k] = self.base_key() if sharing is None else self.cost_key(sharing)
            if terms.get("instrument") is not None:
                codes[k] = INSTRUMENT_CODES[terms["instrument"]]
            partner[k] = self.partner_row(
                terms.get("partners"), terms.get("offtake_share"), terms.get("offtake_shares")
            )
        n_floored = max(int(np.count_nonzero(m.floors)), 1)
        budget = 0.0 if m.fund_exhausted else m.fund / m.config.round_years / n_floored
        cap, fringe = self.available()
        pol = Policies(
            member=np.array([[a in spec[0] for a in m.actor_ids] for spec in specs]),
            floors=floors,
            instrument=codes,
            penalty=penalty,
            stock_budget=np.where(floors > 0, budget, 0.0),
            flood=s_flood + moves[:, :M],
            control=control,
            blanket=blanket,
            demand_shift=np.repeat(s_demand, K, axis=0),
            capacity=np.repeat(cap[None], K, axis=0),
            fringe_capacity=np.repeat(fringe[None], K, axis=0),
            partner=partner,
        )
        prof = replace(m.profiles, cost_sharing=key)
        return pol, prof, moves[:, 3 * M :]

"""The Mesa model: agenda, protocol, supplier, markets, entry and exit, records.

One round (see docs/ODD.md, section 3):

1. levers changed since the last round take effect;
2. the agenda says which tracks sit and who proposes; the package on the table is the bloc's current
   policy; every invited outsider forecasts joining against staying out (at the proposed floors and
   at lower and higher ones) and accepts, rejects or counter-proposes on terms through its
   strategy; the members decide a counter under the agenda's agreement rule, each saying yes if
   it leaves them no worse off (negotiation/rules/protocol.py); refused, it changes nothing;
3. the supplier acts (its strategy may forecast each option);
4. markets clear; tariffs, gap payments and stockpile purchases flow; capacity moves;
5. members below their outside option for longer than their patience leave;
6. the stability report (d'Aspremont et al. 1983) is computed against every member leaving and every
   outsider joining, and everything is recorded.

All randomness comes from `self.rng` (the `rng=` argument): the order in which invitees answer and
any stochastic strategy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any, NamedTuple

import mesa
import numpy as np
import pandas as pd

from agents import make_strategy
from agents.actors import CountryAgent, SupplierAgent
from agents.base import Strategy
from agents.views import CountryView, Forecast, SupplierView
from negotiation.engine.evaluator import (
    NORMAL,
    Evaluation,
    Evaluator,
    Future,
    NoPolicyWorld,
    PackageSpec,
)
from negotiation.engine.levers import LeverStore, per_tonne
from negotiation.engine.market import MarketData, Outcome, Policies
from negotiation.engine.payoffs import Profiles
from negotiation.engine.projects import ProjectBook
from negotiation.engine.recorder import Recorder, Stability
from negotiation.engine.scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from negotiation.rules.protocol import (
    CONTRACT_SHARES,
    DESIGN_PAIRS,
    DESIGN_PASSES,
    PENALTY_MULTIPLES,
    PROPOSAL_TERMS,
    RULE_WORDS,
    SHARING_KEYS,
    SUGGESTED_DESIGNS,
    Design,
    Option,
    Terms,
    agreed,
    best_counter,
    design,
    verdicts,
)
from negotiation.rules.types import (
    COMPONENTS,
    COST_SHARING_LABELS,
    INSTRUMENT_LABELS,
    Action,
    CounterOption,
    Decision,
    Instrument,
    Package,
    Reason,
    SupplierAction,
    SupplierMove,
    listed,
    money,
    money_words,
)

#: An instrument a convener tables, in words (`BlocModel._design_words`): as tabled (the
#: label of `INSTRUMENT_LABELS` with its article), what it does, and as replaced.
_INSTRUMENT_WORDS: dict[str, tuple[str, str, str]] = {
    "border": (
        f"a {INSTRUMENT_LABELS['border']}",
        "a variable tariff lifts outsiders' supply to the floor",
        f"the {INSTRUMENT_LABELS['border']}",
    ),
    "price_gap": (
        INSTRUMENT_LABELS["price_gap"],
        "the members pay their producers the gap between the floor and the market price",
        INSTRUMENT_LABELS["price_gap"],
    ),
    "stockpile": (
        f"a {INSTRUMENT_LABELS['stockpile']}",
        "a fund buys at the floor until it runs dry",
        f"the {INSTRUMENT_LABELS['stockpile']}",
    ),
}

#: Which of a country's three forecast errors each component carries: 0 prices, 1 the supplier,
#: 2 its hub business (see `BlocModel._draw_round`).
_BELIEF_GROUP = np.array(
    [{"supply_security": 1, "retaliation": 1, "openness": 2}.get(c, 0) for c in COMPONENTS]
)

#: Events worth telling a leaver's story with, in words.
_DONE = {
    "joined": "joined",
    "left": "left",
    "surprise": "put exports under licence",
    "export_controls": "imposed export controls",
    "flood": "flooded the market",
    "side_offer": "made side offers",
}

#: Floor scales every invitee evaluates: the proposal, and the counter-proposals it may make.
SCALES: tuple[float, ...] = (0.8, 1.0, 1.25)


class AwaitingDecisions(RuntimeError):
    """The round cannot be played yet: people at these seats have not decided."""

    def __init__(self, seats: list[str]):
        self.seats = seats
        super().__init__(f"waiting for decisions from: {', '.join(seats)}")


class Table(NamedTuple):
    """The package on the table in a round and the one agreed, kept as the round is played (no
    copy: the model replaces these arrays and dicts, never changes them in place) for queries such
    as `negotiation.experiments.bargaining_space`. The proposal: the bloc as it stood when the round
    opened (`members`) offered to `invitees` (in the agenda's order, with each one's proposer) at
    the floors, penalty and cost-sharing key then in force, each invitee's table negotiating
    `scopes` (the floors its table's minerals of interest name, None for every floor). The
    agreement: the bloc and its terms after the round's answers (before the exits at its end)."""

    round: int
    members: frozenset[str]
    invitees: tuple[str, ...]
    proposers: tuple[str, ...]
    floors: np.ndarray
    penalty: float
    cost_sharing: str | Mapping[str, float]
    agreed_members: frozenset[str]
    agreed_floors: np.ndarray
    agreed_penalty: float
    agreed_cost_sharing: str | Mapping[str, float]
    scopes: tuple[frozenset[str] | None, ...] = ()


@dataclass
class Prepared:
    """The next round, opened: the table, the order of answers, and every seat's forecast."""

    round: int
    members: frozenset[str]
    invites: dict[str, tuple[int, int | None, str]]
    order: list[str]
    staying: list[str]  # members played by people, asked whether they stay
    ev: Evaluation
    views: dict[str, CountryView]
    future: Future | None = None  # packages at the proposed floors once the pipeline delivers
    #: where invitee a's packages are in `ev` (its place in the round's order before the
    #: convener left anyone out)
    slot: dict[str, int] = field(default_factory=dict)
    #: the multiple of the floors in force the convener tabled (they are in force from now)
    scale: float = 1.0
    #: the convener's design this round (where several designed, the last one's)
    design: Design | None = None
    counters: dict[str, tuple[CounterOption, ...]] = field(default_factory=dict)
    counter_tables: dict[str, tuple] = field(default_factory=dict)
    #: the minerals whose floors invitee a's table negotiates (`BlocModel._table_scope`: None
    #: for every floor, the default; a table's minerals of interest otherwise)
    scopes: dict[str, frozenset[str] | None] = field(default_factory=dict)
    #: the seats played by people that tabled a package this round (`BlocModel.propose`)
    tabled: set[str] = field(default_factory=set)
    #: the invitees a person who tabled the package left out this round -> that person's seat
    left_out: dict[str, str] = field(default_factory=dict)
    #: how many times people tabled new terms this round (the forms on the pages start again)
    tablings: int = 0
    #: the invitees whose invitation agent conveners' designs decided this round
    decided: set[str] = field(default_factory=set)


@dataclass
class DesignSearch:
    """A convener's design search, before anything is tabled (`BlocModel._design_search`)."""

    #: the package it would table
    design: Design
    #: the package it would rather have tabled that the members refuse: (its value, its terms,
    #: the names of those who refuse, whom it invites), or ()
    refused: tuple
    #: terms weighed -> the invitees it expects to accept them
    accepted: dict[Terms, tuple[str, ...]]
    #: (terms, invited) -> (its own utility, its partners' summed)
    own: dict[tuple, tuple[float, float]]
    #: its aims: 1 for itself, each partner's weight, by actor
    aim: np.ndarray
    #: the parties whose gains it weighs (not itself)
    partners: np.ndarray
    #: its packages of floors (`BlocModel._design_scopes`), and whether it weighs them in turn
    packages: list
    per_package: bool


class BlocModel(mesa.Model):
    """A critical-minerals bloc negotiated round by round.

    Each setting from `floors` to `patience` overrides the scenario (None: the scenario's).

    Parameters
    ----------
    scenario : Scenario or str or Path, default DEFAULT_SCENARIO
        A Scenario, or a built-in name or TOML path (default: ministerial-2026).
    rounds : int or None, default None
        Override the scenario's number of rounds.
    floors : Mapping[str, float] or None, default None
        {mineral: USD per tonne}.
    instrument : str or None, default None
        "border" | "price_gap" | "stockpile".
    penalty : float or None, default None
        Ad-valorem margin on non-member supply (0.1 = 10 %).
    cost_sharing : str or Mapping[str, float] or None, default None
        "consumption", "equal" or {actor: share}.
    partners : Sequence[str] or None, default None
        The offtake partners: countries outside the bloc whose producers sell into its market
        on its terms (`[policy] partners`).
    offtake_share : float or None, default None
        The share of each offtake partner's capacity under contract, from 0.01 to 1 (`[policy]
        offtake_share`).
    offtake_shares : Mapping[str, float] or None, default None
        A partner's own contract share where its deal differs, {country: share} (`[policy]
        offtake_shares`).
    stockpile_fund : float or None, default None
        USD.
    supplier_strategy : str or Strategy or None, default None
        The supplier's strategy (a name or a Strategy).
    aggressiveness : float or None, default None
        The supplier's aggressiveness (0-1).
    strategies : Mapping[str, str or Strategy] or None, default None
        {actor: strategy name or Strategy}.
    weights : Mapping[str, Mapping[str, float]] or None, default None
        {actor: {component: weight}}.
    patience : Mapping[str, int] or None, default None
        {actor: rounds}.
    before_record : Sequence of callables, default ()
        Functions called with (model, round, supplier move) as each round, round 0 included,
        is about to be recorded.
    rng : int or numpy.random.Generator or None, default None
        Seed or numpy Generator.

    Raises
    ------
    ValueError
        If the number of rounds is below 1.
    """

    INSTRUMENTS = tuple(i.value for i in Instrument)

    def __init__(
        self,
        scenario: Scenario | str | Path = DEFAULT_SCENARIO,
        *,
        rounds: int | None = None,
        floors: Mapping[str, float] | None = None,
        instrument: str | None = None,
        penalty: float | None = None,
        cost_sharing: str | Mapping[str, float] | None = None,
        partners: Sequence[str] | None = None,
        offtake_share: float | None = None,
        offtake_shares: Mapping[str, float] | None = None,
        stockpile_fund: float | None = None,
        supplier_strategy: str | Strategy | None = None,
        aggressiveness: float | None = None,
        strategies: Mapping[str, str | Strategy] | None = None,
        weights: Mapping[str, Mapping[str, float]] | None = None,
        patience: Mapping[str, int] | None = None,
        before_record: Sequence[Callable[[BlocModel, int, SupplierMove], None]] = (),
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(rng=rng)
        self._members: frozenset[str] | None = None
        # Mesa wraps `step` to advance its clock; `_tick` calls that wrapper only when a round is
        # really played (see `_tick`).
        self._mesa_step, self.step = self.step, self._tick
        self.seed = int(rng) if isinstance(rng, int | np.integer) else None
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.config = sc
        self.rounds = int(rounds if rounds is not None else sc.time.rounds)
        if self.rounds < 1:
            raise ValueError(f"rounds must be at least 1 (got {self.rounds})")
        self.minerals = sc.mineral_ids
        self.actor_ids = sc.actor_ids
        self.countries = sc.country_ids
        self.index = {a: i for i, a in enumerate(self.actor_ids)}
        self.supplier_id = sc.supplier.actor
        #: The model's market evaluations, its one way into the compiled kernels
        #: (`negotiation.engine.evaluator`).
        self.evaluator = Evaluator(self)
        #: The offtake partners (`[policy] partners`, a live lever): non-members whose producers
        #: sell into the bloc's market on its terms while there is a bloc, the share of their
        #: capacity under contract (`[policy] offtake_share`, a live lever, and a partner's own
        #: share where its deal differs, `[policy] offtake_shares`, another); and as (A,) shares
        #: (0: none)
        self.partners = frozenset(sc.policy.partners)
        self.offtake_share = float(sc.policy.offtake_share)
        self.offtake_shares = {a: float(x) for a, x in sorted(sc.policy.offtake_shares.items())}
        self.partner_mask = self.evaluator.partner_row(sorted(self.partners))
        self._build_arrays(sc)
        self._build_uncertainty(sc)

        # Policy levers (live).
        self.floors = np.array([sc.policy.floors.get(m, 0.0) for m in self.minerals], dtype=float)
        #: the scenario's floors: a designing convener keeps each within the agenda's `mandate`
        self._mandate = self.floors.copy()
        self.instrument = Instrument(sc.policy.instrument)
        self.penalty = float(sc.policy.outsider_penalty)
        self.cost_sharing: str | dict[str, float] = (
            dict(sc.policy.cost_sharing)
            if isinstance(sc.policy.cost_sharing, Mapping)
            else sc.policy.cost_sharing
        )
        self.aggressiveness = float(sc.supplier.aggressiveness)
        self.fund = float(sc.policy.stockpile_fund)
        self.fund_initial = self.fund
        self.fund_exhausted = False

        # Agents.
        self.country_agents: dict[str, CountryAgent] = {}
        for aid in self.countries:
            prof = sc.actors[aid]
            strat = make_strategy(prof.strategy, "country", **prof.strategy_params)
            self.country_agents[aid] = CountryAgent(self, aid, prof.name, strat, prof.patience)
        sup = sc.actors[self.supplier_id]
        self.supplier_agent = SupplierAgent(
            self, self.supplier_id, sup.name, make_strategy(sc.supplier.strategy, "supplier")
        )
        for aid in sc.policy.initial_members:
            self.country_agents[aid].member = True

        self.round = 0
        self.last_move: SupplierMove = NORMAL
        self.history: list[tuple[int, str, str]] = []
        #: The run's records and the books a round's close moves (`negotiation.engine.recorder`).
        self.recorder = Recorder(self)
        #: The live levers: changes waiting, the scenario's schedule, the log
        #: (`negotiation.engine.levers`).
        self.levers = LeverStore(self, ((c.round, c.changes()) for c in sc.levers))
        self.last_margins: dict[str, float] = {}
        self.last_outcome: Outcome | None = None
        #: `_verdicts`' members in sorted order, their rows and tolerances, by member set (the
        #: stakes are the scenario's: fixed for the run)
        self._voters: dict[frozenset[str], tuple[list[str], np.ndarray, dict[str, float]]] = {}
        self._prepared: Prepared | None = None
        #: The package on the table in the last round played and the one agreed (None before
        #: round 1).
        self.last_table: Table | None = None
        #: A designing convener's lists of whom it invites (`_design_table`): at each table it
        #: designed for, {table: (it, whom)}, until the table designs again; and as a sponsor
        #: under open accession, {it: whom}, from its latest design, until it designs again.
        #: Absent: every party is invited
        self._invitation_lists: dict[str, tuple[str, frozenset[str]]] = {}
        self._sponsor_lists: dict[str, frozenset[str]] = {}
        # in the middle of a sentence: "the gallium floor" (an acronym's capitals stay)
        self._short_names = {m: _in_sentence(sc.minerals[m].name.split(" (")[0])
                             for m in self.minerals}  # fmt: skip
        self._forced = False
        #: Called with (model, round, supplier move) as each round is recorded, before the
        #: record: the state the round's stability report sees (checks audit it here).
        self.before_record: list[Callable[[BlocModel, int, SupplierMove], None]] = list(
            before_record
        )

        self.levers.apply(
            {
                k: v
                for k, v in dict(
                    floors=floors,
                    instrument=instrument,
                    penalty=penalty,
                    cost_sharing=cost_sharing,
                    partners=partners,
                    offtake_share=offtake_share,
                    offtake_shares=offtake_shares,
                    supplier_strategy=supplier_strategy,
                    aggressiveness=aggressiveness,
                    strategies=strategies,
                    weights=weights,
                    patience=patience,
                ).items()
                if v is not None
            },
            log=False,
        )
        if stockpile_fund is not None:
            self.fund = self.fund_initial = float(stockpile_fund)
        self.levers.opening = self.levers.settings()
        # Mesa's DataCollector, for `mesa.batch_run` and Mesa users: a few figures of each
        # round's record (the full records are `rounds_df`, `actors_df`, `events_df`: hundreds
        # of columns, kept as rows for speed and written by `negotiation.experiments.records`).
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "round": "round",
                "n_members": lambda m: m.recorder.round_rows[-1]["n_members"],
                "members": lambda m: m.recorder.round_rows[-1]["members"],
                "fiscal_cost": lambda m: m.recorder.round_rows[-1]["fiscal_cost"],
                "world_money": lambda m: m.recorder.round_rows[-1]["world_money"],
            },
            agent_reporters={"actor": "actor_id", "member": "member", "utility": "utility"},
        )
        self._record_round(0, {}, NORMAL)

    # ------------------------------------------------------------------------------------------
    # Set-up

    def _build_arrays(self, sc: Scenario) -> None:
        M, A = len(self.minerals), len(self.actor_ids)
        mins = [sc.minerals[m] for m in self.minerals]
        acts = [sc.actors[a] for a in self.actor_ids]
        ref = np.array([m.reference_price for m in mins])
        cost = np.array([[a.unit_cost.get(m, r) for m, r in zip(self.minerals, ref)] for a in acts])
        self.data = MarketData(
            ref_price=ref,
            demand=np.array([m.demand for m in mins]),
            elasticity=np.array([m.elasticity for m in mins]),
            fringe_cost=np.array([m.fringe_cost for m in mins]),
            spread=np.array([m.supply_spread for m in mins]),
            cost=cost,
            consumption=np.array(
                [[a.consumption.get(m, 0.0) for m in self.minerals] for a in acts]
            ),
            exposure=np.array([[a.exposure.get(m, 0.0) for m in self.minerals] for a in acts]),
            supplier=self.index[sc.supplier.actor],
        )
        self.capacity = np.array([[a.production.get(m, 0.0) for m in self.minerals] for a in acts])
        self.fringe_capacity = np.array([m.fringe_capacity for m in mins])
        #: the opening capacity, the fringe's in the last row: its steady replacement is the
        #: steady state's, and investment beyond it pays a capital charge (Submodel G)
        self.opening_capacity = np.vstack([self.capacity, self.fringe_capacity[None]])
        covered = np.zeros((A, A))
        for i, a in enumerate(acts):
            for b, x in a.covered_exports.items():
                covered[i, self.index[b]] = x
        self.weights = np.array([a.weights.vector() for a in acts])
        #: tonnes the bloc's stockpile holds, by mineral (bought at the floor, released to members
        #: when export controls cut their supply)
        self.stock_held = np.zeros(M)
        #: what members count the stock at, by mineral (USD): what its tonnes would fetch sold
        #: when bought (`stock_mark`), less the share of it released
        self.stock_book = np.zeros(M)
        #: the price a stock's tonnes would fetch sold, by mineral (USD/t, before the
        #: `stockpile_resale` discount): the world price with no policy (`NoPolicyWorld`) in the
        #: last round recorded, the opening's calibration before round 1; changed in place
        self.stock_mark = np.zeros(M)
        self.fiscal_capacity = np.array([a.fiscal_capacity for a in acts])
        self.profiles = Profiles(
            risk_premium=np.array([a.risk_premium for a in acts]),
            openness_value=np.array([a.openness_value for a in acts]),
            weights=self.weights,
            cost_sharing=np.ones(A),
            strategic_weight=sc.supplier.strategic_weight,
            base_supplier_share=np.ones(M),
            stock_held=self.stock_held,
            covered=covered,
            trade_eps=(sc.trade.demand_elasticity, sc.trade.supply_elasticity),
            fiscal_cap=self.fiscal_capacity,
            stock_resale=sc.policy.stockpile_resale,
            stock_mark=self.stock_mark,
            stock_book=self.stock_book,
            round_years=self.config.round_years,
        )
        self.baseline = self.evaluator.no_policy_outcome()
        self.stock_mark[:] = self.baseline.world_price[0]
        # The calibration: the markets with no bloc and no supplier move. Dependence on the
        # supplier is measured against its share here (where it mines nothing its leverage is in
        # processing, which this one-stage market does not move: the exposure stays as given).
        share = self.baseline.supplier_share[0]
        base_share = np.ascontiguousarray(share)
        self.profiles = replace(self.profiles, base_supplier_share=base_share)
        self.base_supplier_share = dict(zip(self.minerals, share.tolist()))
        self.evaluator.use_profiles(self.profiles)
        # Every actor's stake (the size of its interests, USD/yr): strategies' thresholds are
        # fractions of it. At least $1 a year, so that an actor with no stake divides safely.
        self.stake = {
            a: max(
                float((ref * (self.data.consumption[i] + self.capacity[i])).sum())
                + acts[i].openness_value
                + float(covered[i].sum()),
                1.0,
            )
            for i, a in enumerate(self.actor_ids)
        }
        inv = sc.investment
        ry = sc.round_years
        # Each producer's margin and idle share of capacity at the calibration's prices: the
        # baseline investment answers (so that with no policy capacity holds still).
        p0 = self.baseline.world_price[0]
        #: the calibration's world prices, (M,): closed capacity restarts above them (Submodel G)
        self.base_price = np.ascontiguousarray(p0)
        costs = np.vstack([cost, self.data.fringe_cost[None]])
        self.base_margin = np.clip((p0[None] - costs) / costs, -1.0, 2.0)
        lo = costs * (1.0 - 0.5 * self.data.spread[None])
        self.base_idle = 1.0 - np.clip((p0[None] - lo) / (costs * self.data.spread[None]), 0, 1)
        self.losing = np.zeros((A + 1, M))
        #: capacity closed and kept (care and maintenance), the fringe's in the last row: it can
        #: be ordered back when prices repay the restart (docs/ODD.md, Submodel G)
        self.closed = np.zeros((A + 1, M))
        #: rounds in a row each producer's prices have repaid a restart of its closed capacity
        self.repaid = np.zeros((A + 1, M))
        lag_rounds = round(inv.lag_days / sc.time.round_days)
        # The pipeline starts full of the baseline's replacement investment.
        steady = inv.retirement * ry * np.vstack([self.capacity, self.fringe_capacity[None]])
        self.pipeline: deque[np.ndarray] = deque(
            [steady.copy() for _ in range(lag_rounds)], maxlen=max(lag_rounds, 1)
        )
        self.lag_rounds = lag_rounds
        #: the yearly capital charge, USD/yr, of capacity added during the run (ordered beyond
        #: the steady replacement of the opening capacity, restarted or built), the fringe's in
        #: the last row, written down as the capacity retires: what repays it (Submodel G),
        #: charged to its producers from the round it produces
        self.capital = np.zeros((A + 1, M))
        #: the charges of what was ordered (investment beyond replacement, restarts), on their
        #: way with the capacity (as `pipeline`)
        self.charge_pipeline: deque[np.ndarray] = deque(
            [np.zeros((A + 1, M)) for _ in range(lag_rounds)], maxlen=max(lag_rounds, 1)
        )
        self.closure_rounds = inv.closure_days / sc.time.round_days
        self.restart_rounds = inv.restart_days / sc.time.round_days
        #: The mines and plants not yet built that prices may bring online (Submodel G).
        self.projects = self._project_book(sc, cost)
        #: The same world with no policy (no bloc, the supplier selling normally), stepped along
        #: with the run: the world's money is recorded against it (see `Recorder.welfare`).
        self.no_policy = NoPolicyWorld(
            self.capacity.copy(), self.fringe_capacity.copy(),
            deque(self.pipeline, maxlen=self.pipeline.maxlen), self.losing.copy(),
            self.closed.copy(), self.repaid.copy(), self.projects.copy(), self.capital.copy(),
            deque(self.charge_pipeline, maxlen=self.charge_pipeline.maxlen),
        )  # fmt: skip

    def _project_book(self, sc: Scenario, cost: np.ndarray) -> ProjectBook:
        """The scenario's projects, all planned. A new entrant (an actor with no capacity of the
        mineral) takes the hurdle it was built for as its normal margin, and the idle share of
        its ramp at that price as its normal spare capacity: investment and closures answer
        prices against those once it produces, not against the calibration's prices, at which
        it would not have been built."""
        if not sc.projects:
            return ProjectBook.empty()
        days = sc.time.round_days
        a = np.array([self.index[p.actor] for p in sc.projects])
        j = np.array([self.minerals.index(p.mineral) for p in sc.projects])
        threshold = cost[a, j] * (1.0 + np.array([p.hurdle for p in sc.projects]))
        lag = sc.investment.lag_days
        for i, k, h, t in zip(a, j, [p.hurdle for p in sc.projects], threshold):
            if self.capacity[i, k] <= 0:
                self.base_margin[i, k] = min(max(h, -1.0), 2.0)
                lo = cost[i, k] * (1.0 - 0.5 * self.data.spread[k])
                self.base_idle[i, k] = 1.0 - min(max((t - lo) / (cost[i, k] * self.data.spread[k]),
                                                     0.0), 1.0)  # fmt: skip
        n = len(sc.projects)
        return ProjectBook(
            names=tuple(p.name for p in sc.projects),
            actor=a,
            mineral=j,
            capacity=np.array([p.capacity for p in sc.projects], dtype=float),
            threshold=threshold,
            capital=np.array([p.capacity for p in sc.projects], dtype=float)
            * (threshold - cost[a, j]),
            decide=np.array([p.decision_days / days for p in sc.projects]),
            build=np.array(
                [
                    round((lag if p.build_days is None else p.build_days) / days)
                    for p in sc.projects
                ],
                dtype=np.int64,
            ),  # fmt: skip
            streak=np.zeros(n),
            status=np.zeros(n, dtype=np.int64),
            due=np.full(n, -1, dtype=np.int64),
        )

    def _build_uncertainty(self, sc: Scenario) -> None:
        """The random state (outages, demand, the supplier's surprises, beliefs) and how far
        countries look ahead. The model's generator draws three seeds at the start: the world's
        shocks, the forecast errors, and the order of answers (a generator per round). The world
        draws the same numbers each round whatever the agents do, so two runs with one seed and
        different policies face the same outages, swings and surprises (common random
        numbers)."""
        M, A = len(self.minerals), len(self.actor_ids)
        u, ry, days = sc.uncertainty, sc.round_years, sc.time.round_days
        self.uncertainty = u
        world, beliefs, self._order_seed = (int(x) for x in self.rng.integers(2**63, size=3))
        self._world_rng = np.random.default_rng(int(world))
        self._belief_rng = np.random.default_rng(int(beliefs))
        # the supplier's errors about the countries: a generator of their own, seeded by the
        # beliefs' seed, so that they leave the countries' draws as they were
        self._supplier_belief_rng = np.random.default_rng([beliefs, 1])
        #: share of each producer's capacity (actors, then the rest of the world) out of action
        self.outage = np.zeros((A + 1, M))
        self._outage_left = np.zeros((A + 1, M), dtype=np.int64)
        #: log of world demand against the calibration, by mineral (an AR(1) about zero)
        self.demand_log = np.zeros(M)
        self._demand_memory = float(np.exp(-days / u.demand_memory_days))
        # Of a round's draws, the scale of the demand swing's innovation (see `_draw_round`)
        # and of the forecast errors' log, each half (shared, own): the scenario's, fixed.
        self._demand_step = np.sqrt(1 - self._demand_memory**2) * u.demand_volatility
        self._belief_sd = u.forecast_error / np.sqrt(2.0)
        # What is left, once the investment pipeline has delivered (after its lag), of a surprise
        # on now (the chance it still is) and of today's demand swing (its AR(1) decay).
        lag = round(sc.investment.lag_days / days)
        end = min(days / u.surprise_days, 1.0)  # a surprise's chance of ending in a round
        self.evaluator.fades = (float((1.0 - end) ** lag), self._demand_memory**lag)
        #: share of the supplier's sales withheld by a surprise export control, by mineral
        self.surprise = np.zeros(M)
        self._surprise_left = np.zeros(M, dtype=np.int64)
        # A surprise falls on a mineral where the supplier has leverage: a quarter of world
        # supply or more at the calibration.
        self._surprise_minerals = np.flatnonzero(self.baseline.supplier_share[0] >= 0.25)
        self._p_outage = 1.0 - np.exp(-u.outage_rate * ry) if u.enabled else 0.0
        self._p_surprise = 1.0 - np.exp(-u.surprise_rate * ry) if u.enabled else 0.0
        self._drawn = 0  # the last round whose shocks were drawn
        C = len(self.countries)
        #: each country's forecast error this round: a factor on each component of its forecast
        #: gains (log-normal, mean one; half its variance shared by the components the same thing
        #: drives, see `_draw_round`)
        self.belief = np.ones((C, len(COMPONENTS)))
        #: the supplier's error this round in judging each country's gain from being in the bloc
        #: (a factor, log-normal of mean one, by country; see `_draw_round`)
        self.supplier_belief = dict.fromkeys(self.countries, 1.0)
        self._country_row = {a: n for n, a in enumerate(self.countries)}
        # Foresight: each country weighs the next `horizon` rounds, discounted, with capacity
        # arriving from the investment pipeline over its lag. What counts is the weight on the
        # state after the pipeline (`lam`) and the annuity factor of the horizon in years.
        f = sc.foresight
        H = max(round(f.horizon_days / days), 1)
        t = np.arange(H)
        ramp = np.minimum(t / max(self.lag_rounds, 1), 1.0) if self.lag_rounds else np.zeros(H)
        self._lam = np.zeros(A)
        self._annuity = np.ones(A)
        for a in self.countries:
            i = self.index[a]
            w = sc.actors[a].discount ** (ry * t)
            self._lam[i] = float((w * ramp).sum() / w.sum()) if H > 1 else 0.0
            self._annuity[i] = float(w.sum() * ry)
        self.evaluator.looks_ahead = bool(self._lam.any())  # anyone weighs the deliveries
        # One-off costs of changing sides, as USD a year over the horizon.
        self._exit_cost = {
            a: f.exit_cost * self.stake[a] / self._annuity[self.index[a]] for a in self.countries
        }
        self._rejoin_cost = {
            a: f.rejoin_cost * self.stake[a] / self._annuity[self.index[a]] for a in self.countries
        }

    def _draw_round(self, r: int) -> None:
        """Draw round r's outages, demand swing, supplier surprises and forecast errors. The
        same count of numbers is drawn every round, events or none."""
        if r <= self._drawn:
            return
        self._drawn = r
        self.evaluator.forget_shocks()
        u = self.uncertainty
        M = len(self.minerals)
        g = self._world_rng
        out_u = g.random((4, M))  # event?, which producer, size, length
        demand_z = g.standard_normal(M)
        sur_u = g.random(4)  # event?, which mineral, size, length
        C = len(self.countries)
        group_errors = self._belief_rng.standard_normal((C, 3))  # prices, supplier, openness
        own_errors = self._belief_rng.standard_normal(self.belief.shape)
        supplier_errors = self._supplier_belief_rng.standard_normal(C)
        if not u.enabled:
            return
        days = self.config.time.round_days
        # Outages run out, then new ones start at a producer drawn in proportion to capacity.
        self._outage_left = np.maximum(self._outage_left - 1, 0)
        self.outage[self._outage_left == 0] = 0.0
        for j in (out_u[0] < self._p_outage).nonzero()[0]:
            weights = np.cumsum(np.append(self.capacity[:, j], self.fringe_capacity[j]))
            if weights[-1] <= 0:
                continue
            i = int(np.searchsorted(weights, out_u[1, j] * weights[-1], side="right"))
            i = min(i, len(weights) - 1)
            lo, hi = u.outage_size
            self.outage[i, j] = max(self.outage[i, j], lo + (hi - lo) * out_u[2, j])
            n = _geometric(out_u[3, j], u.outage_days / days)
            self._outage_left[i, j] = max(self._outage_left[i, j], n)
        # Demand: an AR(1) in logs about the calibration, with stationary deviation sigma.
        phi = self._demand_memory
        self.demand_log = phi * self.demand_log + self._demand_step * demand_z
        # The supplier's surprises: licensing or a halt on one mineral where it has leverage.
        self._surprise_left = np.maximum(self._surprise_left - 1, 0)
        self.surprise[self._surprise_left == 0] = 0.0
        eligible = self._surprise_minerals
        if sur_u[0] < self._p_surprise and len(eligible):
            j = int(eligible[min(int(sur_u[1] * len(eligible)), len(eligible) - 1)])
            lo, hi = u.surprise_size
            size = lo + (hi - lo) * sur_u[2]
            n = _geometric(sur_u[3], u.surprise_days / days)
            started = self.surprise[j] == 0
            self.surprise[j] = max(self.surprise[j], size)
            self._surprise_left[j] = max(self._surprise_left[j], n)
            if started:
                what = self._mineral_name(self.minerals[j])
                self.recorder.event(
                    r, self.supplier_id, "surprise",
                    f"Surprise: {self.supplier_agent.name} put {what} exports under licence, "
                    f"withholding {size:.0%} of its sales (expected to last about "
                    f"{u.surprise_days} days)",
                )  # fmt: skip
        # Forecast errors, mean one so that a country is right on average. Each figure's log
        # error has standard deviation `forecast_error`; half its variance is shared with the
        # figures driven by the same thing: what prices do (every money component moves with
        # them: a country that expects too high a bloc price expects both more consumer cost
        # and more tariff revenue), what the supplier does (supply security, side deals), and
        # its hub business (openness); the other half is the figure's own (volumes forecast
        # apart).
        s = self._belief_sd
        log_f = s * (group_errors[:, _BELIEF_GROUP] + own_errors)
        self.belief = np.exp(log_f - s * s)
        # The supplier's beliefs about the countries' moves: it judges each one's gain from
        # being in the bloc (what decides whether it stays, or takes a side offer) with an error
        # of the same size, its own each round (from a generator of their own).
        e = u.forecast_error
        factors = np.exp(e * supplier_errors - e * e / 2).tolist()
        self.supplier_belief = dict(zip(self.countries, factors))

    # ------------------------------------------------------------------------------------------
    # Levers

    def set_levers(self, **changes: Any) -> None:
        """Change live levers; they act from the next round (and are logged on the charts).

        Parameters
        ----------
        **changes
            Live levers (`LEVERS`: floors, instrument, penalty, cost_sharing, partners,
            offtake_share, offtake_shares, supplier_strategy, aggressiveness, weights, patience;
            or strategies)
            and their new
            values. They wait in `levers.pending` (`negotiation.engine.levers.LeverStore`) until the
            next round opens.

        Raises
        ------
        ValueError
            For a name that is not a live lever, or a value the model cannot take (an unknown
            mineral, instrument, component or country, a penalty out of [0, 2], an offtake
            partner or own contract share for no country, an offtake share out of [0.01, 1]):
            refused at once, and
            nothing is changed.
        """
        self.levers.set(**changes)

    def country(self, aid: str) -> CountryAgent:
        """The Mesa agent of country `aid`.

        Parameters
        ----------
        aid : str
            A country's id.

        Returns
        -------
        CountryAgent
            The run's agent of that country (not a copy).

        Raises
        ------
        ValueError
            `aid` is no country of the run.
        """
        if aid not in self.country_agents:
            raise ValueError(f"unknown country {aid!r}")
        return self.country_agents[aid]

    # ------------------------------------------------------------------------------------------
    # Evaluation: clear a batch of packages and score every actor.

    @property
    def own_contracts(self) -> dict[str, float]:
        """The partners in force whose own contract share differs from every partner's
        (`offtake_shares` against `offtake_share`), {partner: share}, as the run's summary and
        the workshop's panels name them."""
        return {
            a: x
            for a, x in self.offtake_shares.items()
            if a in self.partners and x != self.offtake_share
        }

    @property
    def members(self) -> frozenset[str]:
        """The countries in the bloc now."""
        if self._members is None:
            self._members = frozenset(a for a, ag in self.country_agents.items() if ag.member)
        return self._members

    def members_changed(self) -> None:
        """A country joined or left (CountryAgent.member calls this): the set is drawn again."""
        self._members = None

    def package(self, members: frozenset[str] | None = None, proposer: str = "") -> Package:
        """The package `members` would have on the terms in force: the floors, instrument,
        penalty and cost-sharing key as set now (the package of an agent's view,
        `CountryView.package`).

        Parameters
        ----------
        members : frozenset of str or None, default None
            Who is in the bloc (None: the members now).
        proposer : str, default ""
            Who tables it ("" for no one).

        Returns
        -------
        Package
            The proposal: `members`, the floors (USD per tonne for each mineral, 0 where there
            is no floor), the instrument, the penalty (0.1 = 10 %), the cost-sharing key (one
            share per actor, `Evaluator.base_key`, before it is renormalised over members) and
            `proposer`.
        """
        return Package(
            self.members if members is None else members,
            tuple(self.floors.tolist()),
            self.instrument,
            self.penalty,
            tuple(self.evaluator.base_key().tolist()),
            proposer,
        )

    def evaluate(
        self,
        specs: Sequence[PackageSpec | tuple],
        r: int | None = None,
        capacity: tuple[np.ndarray, np.ndarray] | None = None,
        shocks: tuple | None = None,
    ) -> Evaluation:
        """Clear one package per spec in one batch and score every actor (`Evaluator.evaluate`).

        Parameters
        ----------
        specs : Sequence of PackageSpec or tuple
            The packages (`PackageSpec`: members, floor scale, supplier move, and optionally
            terms that set "floors" ({mineral: USD/t}), "penalty", "cost_sharing" and
            "instrument" for that package alone).
        r : int or None, default None
            The round whose shocks the packages meet (default: the round just played).
        capacity : tuple of np.ndarray or None, default None
            The producers' (A, M) and the rest of the world's (M,) capacity to clear with
            (default: what can produce now).
        shocks : tuple or None, default None
            The round's shocks as `Evaluator.shock_arrays` gives them (the default).

        Returns
        -------
        Evaluation
            The packages' markets, components and utilities, in the order of `specs`.
        """
        return self.evaluator.evaluate(specs, r, capacity, shocks)

    # ------------------------------------------------------------------------------------------
    # Forecasts anyone may ask for (queries: nothing in the run changes)

    def invitation_outlook(self, actor: str) -> dict[str, Any]:
        """When an outsider the open round does not invite would be invited, if the members
        stay as they are (a query: nothing in the run changes).

        For the workshop's page of a seat with nothing to decide.

        Parameters
        ----------
        actor : str
            A country (an outsider the open round does not invite).

        Returns
        -------
        dict[str, Any]
            `next`: the first round from the open one in which it would be, None if not before
            the run ends; `why` the reason it is not now: "cooling" (it left in round `left`
            and is not invited back for `patience` rounds), "list" (the convener `convener`
            designed its table without it; it designs again in round `next`, when it may
            invite it), "tables" (no table it is a party to sits yet: `table` opens in round
            `next`), "tabled" (a person at the seat `convener` tabled the open round's package
            without it: it is asked again from round `next`), "" (it is invited in the open
            round). `left` (None if it never left) and
            `patience` are always given; `convener` and `table` are "" unless `why` names them.

        Raises
        ------
        KeyError
            `actor` is no country of the run.
        """
        r = self.round + 1
        ag = self.country_agents[actor]
        out: dict[str, Any] = {"next": None, "why": "", "left": ag.left_round,
                               "patience": ag.patience, "convener": "", "table": ""}  # fmt: skip
        lists, sponsor = dict(self._invitation_lists), dict(self._sponsor_lists)
        members = self.members
        prep = self._prepared if self._prepared is not None and self._prepared.round == r else None
        left_out = prep.left_out if prep is not None else {}
        for q in range(r, self.rounds + 1):
            again = [t for t in self.active_tracks(q) if self._design_round(t, q) and t.designs]
            if q > r and again:  # the convener weighs every party again there
                for t in again:
                    lists.pop(t.name, None)
                    sponsor.pop(self._track_proposer(t, q), None)
            if self._cooling_off(actor, q):
                out["why"] = out["why"] or "cooling"
                continue
            tracks = [t for t in self.active_tracks(q) if actor in t.parties]
            if not tracks and not self.config.agenda.open_accession:
                if not out["why"]:
                    out["why"] = "tables"
                    later = [t for t in self.config.agenda.tracks
                             if actor in t.parties and t.start_round > q]  # fmt: skip
                    out["table"] = min(later, key=lambda t: t.start_round).name if later else ""
                continue
            # who would ask it: each table's proposer there, and with open accession any
            # member (a sponsor; a convener's list holds there too)
            askers = [(self._track_proposer(t, q), t.name) for t in tracks]
            if self.config.agenda.open_accession:
                askers += [(b, None) for b in members] or [("", None)]
            blocking = [
                p
                for p, table in askers
                if (chosen := (p, sponsor[p]) if table is None and p in sponsor
                    else lists.get(table) if table is not None else None) is not None
                and chosen[0] == p
                and actor not in chosen[1]
            ]  # fmt: skip
            if askers and len(blocking) == len(askers):
                if not out["why"]:
                    out["why"], out["convener"] = "list", blocking[0]
                continue
            if q == r and actor in left_out:  # a person tabled this round's package without it
                out["why"], out["convener"] = "tabled", left_out[actor]
                continue
            out["next"] = q
            if q == r:
                out["why"] = ""
            return out
        return out

    def gain_from_joining(
        self, actor: str, terms: Mapping[str, Any] | None = None, r: int | None = None
    ) -> dict[str, float]:
        """What joining the bloc as it is (on `terms`, if given: see `PackageSpec`) is worth to
        `actor` against staying out, next round, by weighted component, USD/yr, with the
        supplier repeating its last move.

        The plain forecast: today's markets (this round's outages, demand and surprises), no
        look ahead and no forecast error. An invitee decides on it as it sees it: over its
        horizon (λ times what the investment pipeline changes added, docs/ODD.md section M)
        and times its forecast error this round, `belief[row]` by component (section L).

        Parameters
        ----------
        actor : str
            The country (a member too: the bloc is taken without it, and with it).
        terms : Mapping[str, Any] or None, default None
            The package's own terms if it joins (`PackageSpec.terms`: "floors" ({mineral:
            USD/t}), "penalty", "cost_sharing"); None: the terms in force.
        r : int or None, default None
            The round whose shocks the packages meet (default: the next, `round + 1`).

        Returns
        -------
        dict[str, float]
            {component: joining minus staying out, times the actor's weight on it}, USD/yr, in
            the order of `COMPONENTS`.
        """
        r = self.round + 1 if r is None else r
        members = self.members - {actor}
        ev = self.evaluate(
            [
                PackageSpec(members | {actor}, 1.0, self.last_move, dict(terms or {})),
                PackageSpec(members, 1.0, self.last_move),
            ],
            r,
        )
        i = self.index[actor]
        delta = (ev.comp[0, i] - ev.comp[1, i]) * self.weights[i]
        return dict(zip(COMPONENTS, delta.tolist()))

    def move_forecast(self, move: SupplierMove, r: int | None = None) -> dict[str, Any]:
        """For a supplier move next round, with today's members: the supplier's utility with it
        and selling normally (levels net of the capital charges it pays, as the records count
        them), and each member's gain from staying in (USD/yr), without error (the supplier's
        look-ahead judges these gains times `supplier_belief`).

        Parameters
        ----------
        move : SupplierMove
            The supplier's move.
        r : int or None, default None
            The round whose shocks the packages meet (default: the next, `round + 1`).

        Returns
        -------
        dict[str, Any]
            "utility": the supplier's utility with the move (USD/yr); "normal": its utility
            selling normally; "margins": {member: its utility in the bloc minus out of it, the
            supplier making the move} (USD/yr), members in sorted order.
        """
        r = self.round + 1 if r is None else r
        members = sorted(self.members)
        specs = [PackageSpec(self.members, 1.0, move), PackageSpec(self.members, 1.0, NORMAL)]
        specs += [PackageSpec(self.members - {a}, 1.0, move) for a in members]
        ev = self.evaluate(specs, r)
        s = self.index[self.supplier_id]
        sunk = float(self.capital_utility()[s])  # as the records count it
        return {
            "utility": float(ev.util[0, s]) - sunk,
            "normal": float(ev.util[1, s]) - sunk,
            "margins": {
                a: float(ev.util[0, self.index[a]] - ev.util[2 + j, self.index[a]])
                for j, a in enumerate(members)
            },
        }

    def capital_utility(self) -> np.ndarray:
        """What the capital charges of capacity each actor's producers added (beyond the steady
        replacement of the opening capacity), restarted or built in the run take off its utility
        now, weighted (docs/ODD.md, Submodel G): the records count it, no decision weighs it (it
        is the same in every package). Queries that show a
        utility level (the workshop's payoffs, `move_forecast`, the bargaining space) take it off
        as the records do.

        Returns
        -------
        np.ndarray
            (A,) USD/yr, in the order of the model's actors.
        """
        return self.capital[:-1].sum(axis=1) * self.weights[:, _PRODUCER_SURPLUS]

    def spelled_out(
        self, specs: Sequence[PackageSpec | tuple], r: int | None = None
    ) -> tuple[Policies, Profiles, np.ndarray]:
        """The packages of `specs` (as `evaluate` takes them) as full (K, ...) arrays for the
        public `negotiation.engine.payoffs.score`; see `Evaluator.spelled_out`.

        Parameters
        ----------
        specs : Sequence of PackageSpec or tuple
            The K packages, as `evaluate` takes them.
        r : int or None, default None
            The round whose shocks the packages meet (default: the round just played).

        Returns
        -------
        tuple of (Policies, Profiles, np.ndarray)
            (policies, profiles, side offers (K, A) USD/yr).
        """
        return self.evaluator.spelled_out(specs, r)

    def _reason(
        self,
        ev: Evaluation,
        k_in: int,
        k_out: int,
        actor: str,
        future: Future | None = None,
        beliefs: bool = False,
        anchor: tuple[int, int] | None = None,
    ) -> Reason:
        """Package k_in against k_out for `actor`, by weighted component, USD/yr. With `future`,
        what the actor expects over its horizon as a year's equivalent: the gain now, and once
        the pipeline has delivered, weighted by its discounting (see `_build_uncertainty`).
        Where the future has not cleared k_in and k_out, what the pipeline changes in the gain
        of the `anchor` pair (the package at the proposed floors) is added. With `beliefs`, as
        the actor forecasts it this round, with its error."""
        i = self.index[actor]
        comp = ev.comp
        delta = comp[k_in, i] - comp[k_out, i]
        if future is not None:
            at, fcomp = future.at, future.ev.comp
            lam = self._lam[i]
            a_in, a_out = (k_in, k_out) if k_in in at and k_out in at else anchor
            pipeline = fcomp[at[a_in], i] - fcomp[at[a_out], i] - (comp[a_in, i] - comp[a_out, i])
            delta = delta + lam * pipeline
        delta = delta * self.weights[i]
        if beliefs and actor in self.country_agents:
            delta = delta * self.belief[self._country_row[actor]]
        return Reason(dict(zip(COMPONENTS, delta.tolist())))

    # ------------------------------------------------------------------------------------------
    # The round

    def active_tracks(self, r: int) -> list:
        """The agenda's tracks that sit in round `r` (a query: nothing in the run changes).

        Parameters
        ----------
        r : int
            The round.

        Returns
        -------
        list
            The scenario's tracks (`agenda.tracks`, in its order) that have started by round
            `r` and not ended before it (a track with no end round sits to the run's end).
        """
        return [
            t
            for t in self.config.agenda.tracks
            if t.start_round <= r and (t.end_round is None or r <= t.end_round)
        ]

    def play(self, force: bool = False) -> None:
        """Play one round.

        Parameters
        ----------
        force : bool, default False
            Play the round even though a person's seat has not decided: an agent answers for
            the silent seat, and the narrative says so.

        Raises
        ------
        AwaitingDecisions
            While a person's seat has not decided, unless `force`.
        """
        waiting = self.awaiting()
        if waiting and not force:
            raise AwaitingDecisions(waiting)
        self._forced = force
        try:
            self.step()
        finally:
            self._forced = False

    def _tick(self) -> None:
        """`step()` as callers see it: Mesa's step (time advances by one and the round is
        played), unless the run is over or a person's seat has not decided, when nothing
        happens and Mesa's time does not move either."""
        if self.round >= self.rounds or (self.awaiting() and not self._forced):
            return
        self._mesa_step()

    def step(self) -> None:
        """One round (Mesa's step). While a person's seat has not decided it does nothing: use
        `play()` to be told why, or `play(force=True)` to let agents answer."""
        prep = self.prepare_round()
        if prep is None:
            return
        force = self._forced
        if self.awaiting() and not force:
            return
        self.round += 1
        r = self.round
        proposed = (self.floors, self.penalty, self.cost_sharing)
        decisions = self._negotiate(prep, force)
        self.last_table = Table(
            r, prep.members, tuple(prep.invites),
            tuple(p for _, _, p in prep.invites.values()), *proposed,
            self.members, self.floors, self.penalty, self.cost_sharing,
            tuple(prep.scopes.get(a) for a in prep.invites),
        )  # fmt: skip
        move = self._supplier_acts(r, force)
        self._prepared = None
        self._record_round(r, decisions, move)
        if self.round >= self.rounds:
            self.running = False

    def prepare_round(self) -> Prepared | None:
        """Open the next round: apply lever changes, set the agenda, forecast every invitation.

        Idempotent until the round is played; the app calls it to show a person the package on
        the table and their forecasts before they decide.

        Returns
        -------
        Prepared or None
            The round opened (the same object until it is played), or None once the run is
            over.
        """
        if self.round >= self.rounds:
            return None
        r = self.round + 1
        if self._prepared is not None and self._prepared.round == r:
            return self._prepared
        self.levers.take_effect(r)
        self._draw_round(r)
        members = self.members
        again = [t for t in self.active_tracks(r) if self._design_round(t, r) and t.designs]
        for t in again:  # the convener weighs every party again there
            self._invitation_lists.pop(t.name, None)
            self._sponsor_lists.pop(self._track_proposer(t, r), None)
        invites, tables = self._invites(r)
        # Who answers first matters when a counter is adopted: the order is drawn afresh each
        # round, a key per country in the table's order, so that one more country at the end
        # of the table leaves the others' order alone.
        order = list(invites)
        if len(order) > 1:  # (one invitee or none has no order to draw: most rounds)
            keys = np.random.default_rng([self._order_seed, r]).random(len(self.countries))
            order = sorted(invites, key=lambda a: keys[self._country_row[a]])
        # Members played by people are asked each round whether they stay.
        staying = [a for a in sorted(members) if self._is_human(a)]
        ev, future = self._clear_table(r, members, order, staying)
        prep = Prepared(r, members, invites, order, staying, ev, {}, future)
        prep.slot = {a: n for n, a in enumerate(order)}
        prep.scopes = {a: self._table_scope(tables.get(a)) for a in order}
        self._design_table(prep)
        self._open_views(prep)
        self._prepared = prep
        return prep

    def _open_views(self, prep: Prepared) -> None:
        """Every seat's view of the round: each invitee's at the package on the table, and each
        member played by a person asked whether it stays (their rows in the round's batch are
        after every invitee's, in the order before anyone was left out: `prep.slot`)."""
        prep.views = {a: self._country_view(prep, a, prep.scale) for a in prep.order}
        r, members, one = prep.round, prep.members, SCALES.index(1.0)
        for j, a in enumerate(prep.staying):
            k_out = len(SCALES) * (len(prep.slot) + 1) + j
            reason = self._reason(prep.ev, one, k_out, a, prep.future, beliefs=True)
            prep.views[a] = self._view(r, a, 1, None, members, {1.0: reason}, "",
                                       self._outcomes(prep.ev, one, k_out, a),
                                       -self._exit_cost[a])  # fmt: skip

    def _clear_table(
        self, r: int, members: frozenset[str], order: Sequence[str], staying: Sequence[str]
    ) -> tuple[Evaluation, Future | None]:
        """The round's batch: the bloc and the bloc with each invitee (in `order`) at every
        multiple of the floors, and the bloc without each member played by a person
        (`staying`), cleared now and, at the proposed floors, once the pipeline has delivered."""
        move = self.last_move
        specs = [PackageSpec(members, s, move) for s in SCALES]
        for a in order:
            specs.extend(PackageSpec(members | {a}, s, move) for s in SCALES)
        specs.extend(PackageSpec(members - {a}, 1.0, move) for a in staying)
        # Looking ahead, each weighs the package at the proposed floors (its gain from the
        # pipeline is taken to be the same at the floors of a counter-proposal).
        one = SCALES.index(1.0)
        ahead = [len(SCALES) * n + one for n in range(len(order) + 1)]
        ahead += range(len(SCALES) * (len(order) + 1), len(specs))
        return self.evaluator.now_and_future(specs, r, ahead)

    def awaiting(self) -> list[str]:
        """Seats whose strategy waits for a person's decision in the next round. A query: it
        changes nothing (levers set since the last round still wait for `prepare_round`).

        Returns
        -------
        list of str
            The seats (actor ids): the countries the round asks (invited outsiders, and
            members played by people) that wait, then the supplier if it waits; empty once the
            run is over.
        """
        if self.round >= self.rounds:
            return []
        r = self.round + 1
        prep = self._prepared if self._prepared is not None and self._prepared.round == r else None
        if prep is not None:
            asked = list(prep.views)
        elif not any(ag.strategy.needs_input() for ag in self.country_agents.values()):
            asked = []  # no country waits for a person: whoever is asked, no seat waits
        else:  # who the round would ask: invited outsiders, and members played by people
            members = self.members
            asked = [*self.invitations(r), *(a for a in sorted(members) if self._is_human(a))]
        seats = [a for a in asked if self.country_agents[a].strategy.needs_input()]
        if self.supplier_agent.strategy.needs_input():
            seats.append(self.supplier_id)
        return seats

    def submit(self, seat: str, decision: Decision | SupplierMove) -> None:
        """A person's decision for their seat this round (see agents.human).

        Opens the round first if it is not open (`prepare_round`).

        Parameters
        ----------
        seat : str
            The seat (actor id): a country the round asks, or the supplier.
        decision : Decision or SupplierMove
            A country's Decision, or the supplier's SupplierMove.

        Raises
        ------
        ValueError
            If the run is over, the seat is no country of the run or has nothing to decide
            this round, the decision is not of its seat's kind, or an agent (not a person)
            plays the seat.
        """
        prep = self.prepare_round()
        if prep is None:
            raise ValueError("the run is over")
        if seat == self.supplier_id:
            strat = self.supplier_agent.strategy
            if not isinstance(decision, SupplierMove):
                raise ValueError("the supplier's seat submits a SupplierMove")
        else:
            strat = self.country(seat).strategy
            if seat not in prep.views:
                raise ValueError(f"{seat} has nothing to decide in round {prep.round}")
            if not isinstance(decision, Decision):
                raise ValueError(f"{seat}'s seat submits a Decision")
        if not strat.classifier.get("human"):
            raise ValueError(f"{seat} is played by an agent ({strat.name}), not by a person")
        strat.submit(decision)

    def human_seats(self) -> list[str]:
        """The seats (actor ids) whose strategy waits for a person's decision.

        Returns
        -------
        list of str
            The countries played by people, in the scenario's order, then the supplier if a
            person plays it.
        """
        seats = [a for a, ag in self.country_agents.items() if ag.strategy.classifier.get("human")]
        if self.supplier_agent.strategy.classifier.get("human"):
            seats.append(self.supplier_id)
        return seats

    def _is_human(self, actor: str) -> bool:
        return bool(self.country_agents[actor].strategy.classifier.get("human"))

    def invitations(self, r: int) -> dict[str, tuple[int, int | None, str]]:
        """The outsiders invited to the bloc in round `r`, as the agenda's tracks (and open
        accession) invite them: not members, not cooling off after leaving, and on the
        convener's list where it chose one. A query: it changes nothing.

        Parameters
        ----------
        r : int
            The round (the open one is ``model.round + 1``).

        Returns
        -------
        dict of str to (int, int or None, str)
            Each invited country -> (the rounds its track has been open, counting `r`; the
            rounds the track allows in all, None for no deadline; who proposes the package to
            it). Invited on several tracks: the one that allows the fewest rounds.
        """
        return self._invites(r)[0]

    def invitation_scopes(self, r: int) -> dict[str, frozenset[str] | None]:
        """The floors each country invited in round `r` negotiates at the table that invites it
        (`invitation_table`): its floored minerals of interest, or None for every floor (a
        table with no minerals of interest, or with every floored mineral among them, and
        open accession). A query: it changes nothing.

        Parameters
        ----------
        r : int
            The round (the open one is ``model.round + 1``).

        Returns
        -------
        dict of str to frozenset of str or None
            Each invited country (as `invitations`) -> the minerals whose floors its table
            negotiates, or None.
        """
        invites, tables = self._invites(r)
        return {a: self._table_scope(tables.get(a)) for a in invites}

    def invitation_table(self, actor: str, r: int) -> str:
        """The table that invites `actor` in round `r`, as `invitations` chooses it (a query:
        nothing in the run changes).

        Parameters
        ----------
        actor : str
            A country.
        r : int
            The round.

        Returns
        -------
        str
            The track's name; "" if `actor` is not invited then, or only by open accession.
        """
        t = self._invites(r)[1].get(actor)
        return "" if t is None else t.name

    def _invites(self, r: int) -> tuple[dict[str, tuple[int, int | None, str]], dict]:
        """`invitations`, and for each invitee the track that invites it (none under open
        accession)."""
        invites: dict[str, tuple[int, int | None, str]] = {}
        tables: dict = {}
        members = self.members
        for t in self.active_tracks(r):
            proposer = self._track_proposer(t, r)
            deadline = None if t.deadline_round is None else t.deadline_round - t.start_round + 1
            for a in t.parties:
                if a in members or a not in self.country_agents or self._cooling_off(a, r):
                    continue
                if not self._on_list(proposer, a, t.name):
                    continue
                prev = invites.get(a)
                if prev is None or (deadline or 10**9) < (prev[1] or 10**9):
                    invites[a] = (r - t.start_round + 1, deadline, proposer)
                    tables[a] = t
        if self.config.agenda.open_accession:
            for a in self.countries:
                if a in members or a in invites or self._cooling_off(a, r):
                    continue
                # Any member may sponsor an outsider's accession, but a convener does not ask
                # one it chose to leave out; the sponsor is the member with the largest stake
                # among those who would ask (whatever the actors' ids or their order).
                sponsors = [b for b in members if self._on_list(b, a)]
                if sponsors or not members:
                    invites[a] = (r, None, self._largest_stake(sponsors))
        return invites, tables

    def _table_scope(self, t) -> frozenset[str] | None:
        """The floors a table negotiates: None for every floor (a table with no minerals of
        interest, or with every floored mineral among them); else its floored minerals of
        interest (empty: none of them has a floor)."""
        if t is None or not t.minerals:
            return None
        floored = self._floored()
        scope = frozenset(t.minerals) & floored
        return None if floored <= scope else scope

    def _on_list(self, proposer: str, actor: str, table: str | None = None) -> bool:
        """Whether a convener who chose whom to invite (`_design_table`) has `actor` on its list
        at `table` (None: as a sponsor under open accession). True for every other proposer,
        and at the tables it did not design for."""
        if table is None:
            return actor in self._sponsor_lists.get(proposer, (actor,))
        chosen = self._invitation_lists.get(table)
        return chosen is None or chosen[0] != proposer or actor in chosen[1]

    def _cooling_off(self, actor: str, r: int) -> bool:
        """A country that left is not invited back for as many rounds as its patience."""
        ag = self.country_agents[actor]
        return ag.left_round is not None and r - ag.left_round <= ag.patience

    def _view(self, r, actor, elapsed, deadline, members, gains, proposer, outcomes=None,
              switch_cost=0.0, **counters):  # fmt: skip
        return CountryView(
            **counters,
            actor=actor,
            round=r,
            elapsed=elapsed,
            deadline=deadline,
            package=self.package(members, proposer),
            gains=gains,
            stake=self.stake[actor],
            members=members,
            history=tuple(self.history),
            rng=self.rng,
            discount=self.config.actors[actor].discount,
            outcomes=outcomes or {},
            switch_cost=switch_cost,
        )

    def _scale_reasons(self, prep: Prepared, a: str) -> list[Reason]:
        """`_reason` of invitee a joining at each of the round's SCALES against staying out at
        it, as `_country_view` asks for them (looking ahead, with its forecast errors): the
        packages of a scale are rows `first + j` and `j` of the round's batch, so all three are
        one slice each, and what the pipeline changes is that of the package at the proposed
        floors (the anchor) for every scale, so it is computed once. The operations on each row
        are `_reason`'s, element by element: the same numbers."""
        i, n = self.index[a], len(SCALES)
        first = n * (prep.slot[a] + 1)
        comp = prep.ev.comp
        delta = comp[first : first + n, i] - comp[:n, i]
        if prep.future is not None:
            at, fcomp = prep.future.at, prep.future.ev.comp
            one = SCALES.index(1.0)
            a_in, a_out = first + one, one
            pipeline = fcomp[at[a_in], i] - fcomp[at[a_out], i] - (comp[a_in, i] - comp[a_out, i])
            delta = delta + self._lam[i] * pipeline
        delta = delta * self.weights[i] * self.belief[self._country_row[a]]
        return [Reason(dict(zip(COMPONENTS, d))) for d in delta.tolist()]

    def _outcomes(self, ev: Evaluation, k_in: int, k_out: int, actor: str) -> dict:
        """Weighted components if the actor is in (accepts) and if it is out (rejects), producer
        surplus net of its capital charges as the records count it."""
        i = self.index[actor]
        w = self.weights[i]
        sunk = float(self.capital_utility()[i])
        out = {}
        for key, k in (("accept", k_in), ("reject", k_out)):
            weighted = dict(zip(COMPONENTS, (ev.comp[k, i] * w).tolist()))
            weighted["producer_surplus"] -= sunk
            out[key] = weighted
        return out

    def _country_view(self, prep: Prepared, a: str, adopted: float) -> CountryView:
        """An invitee's view, with the floors in force being `adopted` times those the round's
        packages were cleared at (the convener's design)."""
        elapsed, deadline, proposer = prep.invites[a]
        first = len(SCALES) * (prep.slot[a] + 1)
        base = {s: i for i, s in enumerate(SCALES)}
        if adopted == 1.0:  # every scale: `_reason` of each, as the rows of one array
            gains = dict(zip(SCALES, self._scale_reasons(prep, a)))
        else:
            anchor = (first + base[1.0], base[1.0])
            j = base[adopted]
            gains = {1.0: self._reason(prep.ev, first + j, j, a, prep.future, True, anchor)}
        j = SCALES.index(adopted)
        outcomes = self._outcomes(prep.ev, first + j, base[adopted], a)
        # A country that left before pays again to come back (see `Foresight.rejoin_cost`).
        cost = self._rejoin_cost_of(a)
        return self._view(prep.round, a, elapsed, deadline, prep.members, gains, proposer,
                          outcomes, cost, counters=lambda: self._counter_options(prep, a),
                          best=lambda need: self._best_counter(prep, a, need))  # fmt: skip

    # ------------------------------------------------------------------------------------------
    # The protocol: the convener's design, counters on terms, the agreement rule
    # (negotiation/rules/protocol.py has the rules; these methods feed them the model's forecasts)

    def _track_proposer(self, t, r: int) -> str:
        """Who tables a track's package in round r: its convener, or the party whose turn it is;
        only a member can table the bloc's package (else the track's first member, else the
        member with the largest stake, ties to the first id: whatever the actors' ids)."""
        if t.proposer == "rotation":
            proposer = t.parties[(r - t.start_round) % len(t.parties)]
        else:
            proposer = t.convener or t.parties[0]
        members = self.members
        if proposer not in members:
            proposer = next((a for a in t.parties if a in members), self._largest_stake(members))
        return proposer

    def _largest_stake(self, actors: Iterable[str]) -> str:
        """The one of `actors` with the largest stake, ties to the first id ("" for none): who
        speaks for the bloc where no rule names anyone, whatever the actors' ids or order."""
        return min(actors, key=lambda b: (-self.stake[b], b), default="")

    @staticmethod
    def _design_round(t, r: int) -> bool:
        """A table's convener designs its package when it first sits and every sixth round
        (twice a year) after, while it sits."""
        return r >= t.start_round and (r - t.start_round) % 6 == 0

    def _pipeline(self, prep: Prepared, a: str) -> np.ndarray:
        """What the investment pipeline adds, over a's horizon, to its gain from joining at the
        proposed floors (components, unweighted; zero without foresight): taken to be the same
        for the terms of a counter-proposal."""
        i = self.index[a]
        if prep.future is None:
            return np.zeros(len(COMPONENTS))
        one = SCALES.index(1.0)
        k_in = len(SCALES) * (prep.slot[a] + 1) + one
        at, fcomp, comp = prep.future.at, prep.future.ev.comp, prep.ev.comp
        now = comp[k_in, i] - comp[one, i]
        return self._lam[i] * (fcomp[at[k_in], i] - fcomp[at[one], i] - now)

    def _gains(
        self, comp_in: np.ndarray, comp_out: np.ndarray, a: str, prep: Prepared,
        beliefs: bool = True,
    ) -> np.ndarray:  # fmt: skip
        """a's forecast gain from joining, by component, USD/yr (components `comp_in`, one row
        per package or one package, against `comp_out`), over its horizon and with its forecast
        error (without it, `beliefs` False: as a convener expects it)."""
        i = self.index[a]
        delta = (comp_in - comp_out + self._pipeline(prep, a)) * self.weights[i]
        return delta * self.belief[self._country_row[a]] if beliefs else delta

    def _gain(self, comp_in: np.ndarray, comp_out: np.ndarray, a: str, prep: Prepared) -> Reason:
        """`_gains` of one package, as a Reason."""
        return Reason(dict(zip(COMPONENTS, self._gains(comp_in, comp_out, a, prep).tolist())))

    def _verdicts(self, util_in: np.ndarray, util_out: np.ndarray, members) -> list[dict]:
        """Each member's yes to each counter (a row of `util_in`: every actor's utility with the
        invitee in on the counter's terms): no worse for it than the status quo (`util_out`)
        beyond rounding (`negotiation.rules.protocol.verdicts`), members in sorted order. The one
        place the members' answers are computed: the counters an invitee may name, a person's
        own terms, the convener's floors."""
        members = frozenset(members)
        voters = self._voters.get(members)
        if voters is None:  # the members in sorted order, their rows and tolerances: kept
            names = sorted(members)
            at = np.array([self.index[m] for m in names], dtype=np.intp)
            voters = self._voters[members] = names, at, {m: 1e-9 * self.stake[m] for m in names}
        names, at, tol = voters
        gains = (np.atleast_2d(util_in)[:, at] - util_out[at]).tolist()
        return [verdicts(dict(zip(names, g)), tol) for g in gains]

    def _live(self, elapsed: int, deadline: int | None, r: int) -> bool:
        """Whether an invitee re-opens the terms one by one this round (one mineral's floor, the
        cost-sharing key): when first invited and while its track's deadline runs (later it can
        still ask for every floor lower or higher)."""
        return elapsed == 1 or (deadline is not None and elapsed <= deadline)

    def _counter_table(self, prep: Prepared, a: str) -> tuple:
        """The counter-proposals invitee a may name this round, each with its value to a and
        the members' expected answer under the agenda's rule (computed once a round, when a
        strategy or a person first asks): (rows (label, scale, terms), gains by component,
        each member's yes, carried under the rule).

        Every floor 20% lower or 25% higher, each round; when the terms are re-opened one by one
        (`_live`), each floored mineral's floor 20% lower or 25% higher, and, where the bloc
        pays (price-gap payments, a stockpile), the other cost-sharing key. At a table with
        minerals of interest (`Prepared.scopes`) the floors are its minerals' only: its own
        package. Each is weighed against staying out on the terms in force: refused, a counter
        changes nothing."""
        cached = prep.counter_tables.get(a)
        if cached is not None:
            return cached
        r = prep.round
        elapsed, deadline, proposer = prep.invites[a]
        scope = prep.scopes.get(a)
        menu: list[tuple[str, float, dict | None]] = []
        if scope is None and self.floors.any():
            menu += [("every floor 20% lower", 0.8, None), ("every floor 25% higher", 1.25, None)]
        elif scope:
            words = self.floors_words(scope)
            for s, way in ((0.8, "20% lower"), (1.25, "25% higher")):
                floors = {m: f * s for m, f in zip(self.minerals, self.floors.tolist())
                          if m in scope}  # fmt: skip
                menu.append((f"{words} {way}", 1.0, {"floors": floors}))
        if self._live(elapsed, deadline, r):
            for m, f in zip(self.minerals, self.floors.tolist()):
                if f > 0 and (scope is None or (m in scope and len(scope) > 1)):
                    name = self._short_names[m]
                    menu.append((f"the {name} floor 20% lower", 1.0, {"floors": {m: f * 0.8}}))
                    menu.append((f"the {name} floor 25% higher", 1.0, {"floors": {m: f * 1.25}}))
            if self.instrument is not Instrument.BORDER:
                for key in ("consumption", "equal"):
                    if key != self.cost_sharing:
                        words = f"cost shared {COST_SHARING_LABELS[key]}"
                        menu.append((words, 1.0, {"cost_sharing": key}))
        if not menu:
            prep.counter_tables[a] = ((), [], [], [])
            return prep.counter_tables[a]
        # Every option's components and utilities, as rows: those cleared with the round
        # (multiples of the floors at the floors tabled), the others in one batch.
        out = SCALES.index(prep.scale)
        i = self.index[a]
        first = len(SCALES) * (prep.slot[a] + 1)
        cleared, batch, rows = [], [], []
        for label, s, terms in menu:
            if terms is None and prep.scale == 1.0:
                cleared.append(first + SCALES.index(s))
                rows.append((label, s, None))
                continue
            if terms is None:
                terms = {"floors": dict(zip(self.minerals, (self.floors * s).tolist()))}
                s = 1.0
            batch.append((prep.members | {a}, 1.0, self.last_move, terms))
            rows.append((label, s, terms))
        comp, util = prep.ev.comp[cleared, i], prep.ev.util[cleared]
        if batch:
            ev = self.evaluate(batch, r)
            comp = np.concatenate([comp, ev.comp[:, i]])
            util = np.concatenate([util, ev.util])
        # The invitee's gain (as `_gain`), and each member's yes, for all rows.
        gains = self._gains(comp, prep.ev.comp[out, i], a, prep).tolist()
        votes = self._verdicts(util, prep.ev.util[out], prep.members)
        rule = self.config.agenda.agreement
        ok = [agreed(v, rule, proposer) for v in votes]
        table = (rows, gains, votes, ok)
        prep.counter_tables[a] = table
        return table

    def _option(self, table: tuple, k: int) -> CounterOption:
        rows, gains, votes, ok = table
        label, s, terms = rows[k]
        return CounterOption(label, Reason(dict(zip(COMPONENTS, gains[k]))), ok[k], votes[k], s,
                             terms)  # fmt: skip

    def _anyone_agrees(self, prep: Prepared, a: str) -> bool:
        """Whether any counter invitee a may name could carry, before its value is weighed:
        True where the terms re-open one by one (their markets are not cleared yet); else
        whether the members would take every floor lower or higher with a in (the round's own
        packages) under the rule."""
        elapsed, deadline, proposer = prep.invites[a]
        if self._live(elapsed, deadline, prep.round) or prep.scale != 1.0:
            return True
        if prep.scopes.get(a) is not None:  # its table's floors alone: not among the round's
            return bool(prep.scopes[a])
        if not self.floors.any():
            return False
        first, one = len(SCALES) * (prep.slot[a] + 1), SCALES.index(1.0)
        rows = [first + SCALES.index(s) for s in SCALES if s != 1.0]
        votes = self._verdicts(prep.ev.util[rows], prep.ev.util[one], prep.members)
        rule = self.config.agenda.agreement
        return any(agreed(v, rule, proposer) for v in votes)

    def _counter_options(self, prep: Prepared, a: str) -> tuple[CounterOption, ...]:
        """Every counter invitee a may name this round (see `_counter_table`), as objects."""
        cached = prep.counters.get(a)
        if cached is None:
            table = self._counter_table(prep, a)
            cached = prep.counters[a] = tuple(self._option(table, k) for k in range(len(table[0])))
        return cached

    def _best_counter(self, prep: Prepared, a: str, need: float) -> CounterOption | None:
        """The counter invitee a names for what its strategy asks (`need`, USD/yr), or None:
        `negotiation.rules.protocol.best_counter` over `_counter_table` (only the one named is made
        an object: most rounds no counter is taken)."""
        if a not in prep.counter_tables and not self._anyone_agrees(prep, a):
            return None  # no counter could carry: nothing to weigh
        table = self._counter_table(prep, a)
        rows, gains, votes, ok = table
        options = [Option(row[0], sum(g), taken) for row, g, taken in zip(rows, gains, ok)]
        k = best_counter(options, need, 1e-9 * self.stake[a])
        return None if k is None else self._option(table, k)

    def _design_table(self, prep: Prepared) -> None:
        """When a table first sits, its convener (played by an agent) designs the package: the
        floors' instrument (border tariff, price-gap payments or a stockpile, with the track's
        "instrument"), the multiple of the floors in force (0.8, 1 or 1.25, with "floors"; once
        tracks with minerals of interest have sat, each package of floors in turn:
        `_design_scopes`), whom to
        invite (with "invitees"; see negotiation.rules.protocol.design), the multiple of the
        outsider penalty (0.5, 1 or 2, with "penalty"), the cost-sharing key (with "sharing", where
        the bloc pays: not under the border tariff, nor with no floor) and the offtake partners
        among the producers it invites and the share of their output under contract (with
        "offtake", `_design_candidates`); with "each_floor", each floor's own multiple in turn;
        every floor it designs stays within its mandate (`_within_mandate`).

        The terms are chosen one at a time, instrument, then floors, then penalty, then key, then
        offtake, each given those already chosen and the rest as in force, then each again given
        all the others as chosen, and each pair of terms together (a package deal: a term that
        serves it only with another), until a sweep changes nothing, at most DESIGN_PASSES
        sweeps (`_design_step`, `_design_moves`, `_design_weigh`). The instrument comes first
        because it says what the floors and the key mean (who pays a floor: outsiders at the
        border, or the members' treasuries). For each
        candidate it expects an invitee to accept when joining pays it (the invitee's forecast
        without its errors, counting a rejoining cost; what the pipeline adds taken as at the terms
        in force) and weighs the bloc with those it expects (choosing whom to invite: every group of
        them, up to four); it keeps the package whose expected bloc is worth most to it now (by its
        aims: its own utility and, at the track's `partner_weight`, each other party's), among the
        terms the other members agree to (each weighs the bloc it expects on them against the bloc
        as it stands, under the agenda's rule). The terms change from this round (a changed
        instrument, penalty, key, partners or contract share: the round's packages are cleared
        again on them, `_design_reclear`); those it did not invite are not asked at the tables
        it designed for until each designs again (`_design_round`: every sixth round), nor
        sponsored by it under open accession until it designs again. It designs once for all the
        tables it tables that design this round, and weighs only the invitees the design decides
        (not a country with nothing at stake, nor one asked at a table it does not design for:
        those stay invited).
        Where tables with different conveners design in the same round, each convener designs in
        turn, in the agenda's order, on the terms the one before tabled (the round's packages
        cleared again on them); a country at tables of both is decided by the first."""
        r = prep.round
        tables = [t for t in self.active_tracks(r) if self._design_round(t, r) and t.designs]
        for proposer in dict.fromkeys(self._track_proposer(t, r) for t in tables):
            if not proposer or self._is_human(proposer) or not prep.order:
                continue
            if prep.scale != 1.0:  # new floors, not yet cleared: the next designs on them
                self._design_reclear(prep)
            # The tables it designs for this round: its list of whom to invite holds there
            # (and where it sponsors an accession).
            mine = [t for t in tables if self._track_proposer(t, r) == proposer]
            self._design_for(prep, proposer, mine)

    def _design_for(self, prep: Prepared, proposer: str, mine: list) -> None:
        """`_design_table` for one convener and the tables it designs for this round (the
        first one's `designs`), leaving alone the invitees in `prep.decided` (an earlier
        convener's this round) and adding its own: the search (`_design_search`), then what it
        tables. A new instrument, penalty, key, partners or contract share clears the round's
        packages again at once; new floors alone are `prep.scale` until another convener
        designs."""
        r, t = prep.round, mine[0]
        self._fix_mandate()
        idle = self._design_idle(prep, proposer, mine, prep.order)
        everyone = prep.order
        order = [a for a in everyone if a not in idle]  # it may design the terms alone
        prep.decided.update(order)
        ev = prep.ev  # the round as it stands (what it tables may clear it again)
        found = self._design_search(replace(prep, order=order), proposer, mine, t.designs)
        d, refused, accepted, own = found.design, found.refused, found.accepted, found.own
        p, aim, partners, one = self.index[proposer], found.aim, found.partners, SCALES.index(1.0)
        choose = "invitees" in t.designs
        prep.design = d
        changes = self._design_changes(d)
        # In words before the levers change (both are multiples of the terms in force now).
        words = self._design_summary(found, t.designs)
        rather = self._design_rather(found, proposer, t.designs)
        if changes:
            self.levers.apply(changes, at_round=r)
        if (d.instrument or d.penalty != 1.0 or d.sharing or d.offtake is not None
                or d.share is not None or d.shares or d.multiples):  # fmt: skip
            self._design_reclear(prep)
        elif d.scale != 1.0:
            prep.scale = d.scale
        if choose:
            chosen = (proposer, frozenset(d.invited) | frozenset(idle))
            self._invitation_lists.update({u.name: chosen for u in mine})
            self._sponsor_lists[proposer] = chosen[1]
        left_out = [a for a in order if a not in d.invited]
        for a in left_out:
            del prep.invites[a]
        prep.order = [a for a in everyone if a in d.invited or a in idle]
        name = self._name(proposer)
        # names in alphabetical order, whatever order the invitees answer in
        expects = listed(sorted(self._name(a) for a in d.expected)) or "nobody"
        worth = d.value - float(ev.util[one] @ aim)
        tables_word = "tables" if len(mine) > 1 else "table"
        where = f"the {listed([u.name for u in mine])} {tables_word}"
        text = f"{name} tabled {words} at {where}, expecting {expects} to accept: "
        w = max(u.partner_weight for u in mine)
        weight = f"{w:g}" if all(u.partner_weight == w for u in mine) else f"up to {w:g}"
        if w:
            mine_now, theirs_now = float(ev.util[one, p]), float(ev.util[one][partners].sum())
            gain, gains = own[(d.terms, d.invited)]
            text += (
                f"the bloc it expects is worth {money(gain - mine_now)} a year to it and "
                f"{money(gains - theirs_now)} to its partners at the {tables_word} against the "
                f"bloc as it stands (it weighs their gains at {weight} of its own)"
                if abs(worth) >= 1e3
                else "nothing it could table would serve its aims better than the bloc as it "
                f"stands (its own gain and, at {weight} of it, its partners')"
            )
        else:
            text += (
                f"the bloc it expects is worth {money(worth)} a year to it against the bloc as "
                "it stands"
                if abs(worth) >= 1e3
                else "nothing it could table would do better for it than the bloc as it stands"
            )
        if rather:
            text += f"; it would rather have tabled {rather}"
        # those the members would refuse on these terms are told above, not as unwanted
        vetoed = set(refused[3]) if rather and refused[1] == d.terms else set()
        unwanted = sorted(self._name(a) for a in left_out
                          if a in accepted[d.terms] and a not in vetoed)  # fmt: skip
        refusing = sorted(self._name(a) for a in left_out if a not in accepted[d.terms])
        if unwanted:
            text += f"; it did not invite {listed(unwanted)}, whose joining would " + (
                f"not serve its aims (its own money and, at {weight} of it, its partners' gains)"
                if w
                else "cost it"
            )
        if refusing:
            text += f"; it did not invite {listed(refusing)}, whom it expects to refuse"
        if r == t.start_round or d.terms.changes() or left_out:
            self.recorder.event(r, proposer, "tabled", text)

    def _design_idle(
        self, prep: Prepared, proposer: str, mine: Sequence, among: Sequence[str]
    ) -> list[str]:
        """The invitees `among` whom a design by `proposer` at the tables `mine` leaves invited
        without weighing them: a country with nothing at stake (it gains and costs nobody
        anything), one an earlier convener decided this round (`prep.decided`), and one asked
        at a table the design is not for (that table's). It decides a party at a table in
        `mine`, and an outsider at no table that it sponsors."""
        sitting = self.active_tracks(prep.round)

        def decides(a: str) -> bool:
            if a in prep.decided:
                return False
            if any(a in u.parties for u in mine):
                return True
            return prep.invites[a][2] == proposer and not any(a in u.parties for u in sitting)

        return [a for a in among if self.stake[a] <= 1.0 or not decides(a)]

    def _fix_mandate(self) -> None:
        """A floor the scenario did not set, first found in force when a package is designed
        or tabled by a person: that floor is its mandate (`_within_mandate`)."""
        unset = (self._mandate == 0) & (self.floors > 0)
        self._mandate[unset] = self.floors[unset]

    def _design_search(
        self, prep: Prepared, proposer: str, mine: Sequence, designs: Sequence[str]
    ) -> DesignSearch:
        """The search of `_design_table` for one convener (a query: nothing in the run
        changes): the package it would table at the tables `mine` (its aims: their parties'
        gains at each one's `partner_weight`; their packages of floors, `_design_scopes`, or
        every floor where it tables at none), designing the terms `designs` lists, among the
        invitees `prep.order` (those whose invitation the design decides)."""
        r = prep.round
        # The floors it designs: every floor (a multiple of them all), or, once tracks with
        # minerals of interest have sat, each table's own floors in turn (`_design_scopes`).
        each = "each_floor" in designs
        floors = each or "floors" in designs
        packages = self._design_scopes(mine, r, each) if mine else [(None, "")]
        per_package = floors and packages != [(None, "")]
        p, ev = self.index[proposer], prep.ev
        # Its aims: its own utility and, at each table's partner_weight, the other parties' at
        # every table it designs for this round (whom it invites holds at all of them); never
        # the supplier's.
        aim = np.zeros(len(self.actor_ids))
        for u in mine:
            for b in u.parties:
                if b not in (proposer, self.supplier_id):
                    aim[self.index[b]] = max(aim[self.index[b]], u.partner_weight)
        aim[p] = 1.0
        partners = aim > 0
        partners[p] = False
        # (terms, invited) -> (its own utility, its partners' summed), for the narrative
        own: dict[tuple, tuple[float, float]] = {}
        base = {s: i for i, s in enumerate(SCALES)}
        every = floors and not per_package and self.floors.any()
        scales = tuple(s for s in SCALES if self._within_mandate(None, s)) if every else (1.0,)
        choose = "invitees" in designs
        one = base[1.0]
        # The floors on the instrument in force: whom it expects to accept at each multiple,
        # from the round's packages.
        accepted: dict[Terms, tuple[str, ...]] = {}
        for s in scales:
            j = base[s]
            accepts = {}
            for a in prep.order:
                first = len(SCALES) * (prep.slot[a] + 1)
                gain = self._reason(ev, first + j, j, a, prep.future, False, (first + one, one))
                cost = self._rejoin_cost_of(a)
                accepts[a] = gain.total >= cost
            accepted[Terms(s)] = tuple(a for a in prep.order if accepts[a])
        d: Design | None = None
        refused: tuple = ()
        # The instrument first (against the package in force), then the floors on it, then the
        # penalty, then the key, then the offtake, each given the terms chosen so far.
        instruments = self._design_candidates("instrument", Terms())
        if "instrument" in designs and instruments:
            accepted.update(self._design_accepts(prep, instruments))
            weighed = {c: accepted[c] for c in (Terms(), *instruments)}
            d, refused = self._design_step(prep, proposer, weighed, choose, aim, partners, own)
        if d is None or not d.instrument:
            floors = {c: accepted[c] for c in (Terms(s) for s in scales)}
        else:  # the floors' multiples on the instrument chosen: cleared anew
            multiples = [d.terms._replace(scale=s) for s in scales if s != 1.0]
            floors = self._design_accepts(prep, multiples) if multiples else {}
            accepted.update(floors)
        if d is None or floors:
            d, no = self._design_step(prep, proposer, floors, choose, aim, partners, own, d)
            if no and (not refused or no[0] > refused[0]):
                refused = no
        # Then each package of floors (`_design_scopes`: a table's own minerals, or at the
        # all-party table each track's), in turn, then the penalty, the key and the offtake, each
        # given the terms chosen so far (cleared anew); then again every term, each given all
        # the others as chosen, until a sweep changes nothing (at most DESIGN_PASSES sweeps in
        # all): what one sweep finds can depend on the order of the terms.
        rest = [("package", scope) for scope, _ in packages] if per_package else []
        rest += [(term, None) for term in ("penalty", "sharing", "offtake") if term in designs]
        again = [("instrument", None)] if "instrument" in designs and instruments else []
        again += [("floors", None)] if every else []
        # From the second sweep on, after each term alone, each pair of terms together (a
        # package deal: two terms that serve the convener only together).
        for sweep in range(DESIGN_PASSES):
            start = (d.terms, d.invited)
            for term, scope in (again + rest) if sweep else rest:
                moves = self._design_moves(term, d.terms, prep, scales, scope)
                d, refused = self._design_weigh(prep, proposer, moves, accepted, choose, aim,
                                                partners, own, d, refused)  # fmt: skip
            pairs_of = combinations(again + rest, 2) if sweep and DESIGN_PAIRS else ()
            for (t1, s1), (t2, s2) in pairs_of:
                firsts = [d.terms, *self._design_moves(t1, d.terms, prep, scales, s1)]
                pairs = [c for f in firsts
                         for c in (f, *self._design_moves(t2, f, prep, scales, s2))]  # fmt: skip
                pairs = [c for c in dict.fromkeys(pairs) if c != d.terms]
                d, refused = self._design_weigh(prep, proposer, pairs, accepted, choose, aim,
                                                partners, own, d, refused)  # fmt: skip
            if sweep and (d.terms, d.invited) == start:
                break
        return DesignSearch(d, refused, accepted, own, aim, partners, packages, per_package)

    def _design_weigh(
        self,
        prep: Prepared,
        proposer: str,
        candidates: Sequence[Terms],
        accepted: dict[Terms, tuple],
        choose: bool,
        aim: np.ndarray,
        partners: np.ndarray,
        own: dict[tuple, tuple[float, float]],
        d: Design,
        refused: tuple,
    ) -> tuple[Design, tuple]:
        """One move of `_design_search`: the candidate terms weighed against the package held
        (`_design_step`, whom each would have accept cleared first where not yet known), and
        the best refused package so far."""
        if not candidates:
            return d, refused
        new = [c for c in candidates if c not in accepted]
        if new:
            accepted.update(self._design_accepts(prep, new))
        d, no = self._design_step(prep, proposer, {c: accepted[c] for c in candidates},
                                  choose, aim, partners, own, d)  # fmt: skip
        if no and (not refused or no[0] > refused[0]):
            refused = no
        return d, refused

    def _design_summary(self, found: DesignSearch, designs: Sequence[str]) -> str:
        """What a design tables, in words, against the terms in force ("every floor 25%
        higher and an outsider penalty twice the one in force (10%)"; at tables with their own
        minerals, each package of floors and whose it is)."""
        d, packages = found.design, found.packages
        if not (found.per_package and packages):
            return self._design_words(d.terms, designs)
        rest = d.terms._replace(multiples=())
        if d.multiples or not rest.changes():
            words = self._table_floors_words(d.multiples, packages)
            if rest.changes():
                words += f", and {self._design_words(rest, designs)}"
            return words
        return self._design_words(rest, designs)  # no floor moved: the other terms alone

    def _design_rather(self, found: DesignSearch, proposer: str, designs: Sequence[str]) -> str:
        """The package a convener would rather have tabled that the members refuse, in words
        with who refuses and the rule ("the same terms inviting Japan, which European Union
        would refuse (every member must agree)"); "" if none is worth more to it."""
        refused, d = found.refused, found.design
        if not refused or refused[0] <= d.value + 1e-9 * self.stake[proposer]:
            return ""
        what = self._design_words(refused[1], designs)
        if refused[1] == d.terms:  # the same terms, with others invited
            what = "the same terms inviting " + (
                listed(sorted(self._name(a) for a in refused[3])) or "nobody"
            )
        rule = RULE_WORDS[self.config.agenda.agreement]
        return f"{what}, which {listed(refused[2])} would refuse ({rule})"

    def _design_changes(self, d: Design) -> dict[str, Any]:
        """What a design tables, as the levers take it (`set_levers`): the terms it changes."""
        changes: dict[str, Any] = {}
        if d.instrument:
            changes["instrument"] = d.instrument
        if d.scale != 1.0:
            changes["floors"] = dict(zip(self.minerals, (self.floors * d.scale).tolist()))
        if d.multiples:
            changes["floors"] = self._scaled_floors(dict(d.multiples))
        if d.penalty != 1.0:
            changes["penalty"] = self.penalty * d.penalty
        if d.sharing:
            changes["cost_sharing"] = self._sharing_of(d.sharing)
        if d.offtake is not None:
            changes["partners"] = sorted(d.offtake)
        if d.share is not None:
            changes["offtake_share"] = d.share
        if d.shares:
            changes["offtake_shares"] = {**self.offtake_shares, **dict(d.shares)}
        return changes

    def _design_step(
        self,
        prep: Prepared,
        proposer: str,
        accepted: Mapping[Terms, tuple],
        choose: bool,
        aim: np.ndarray,
        partners: np.ndarray,
        own: dict[tuple, tuple[float, float]],
        incumbent: Design | None = None,
    ) -> tuple[Design, tuple]:
        """One step of the convener's design: among the candidate terms (`accepted`: terms ->
        the invitees it expects to accept them) and, choosing invitees, every group of those it
        expects (beyond four, each alone and all), the package worth most to it, in one batch
        (its worth: every actor's utility times `aim`, the convener's 1 and its partners' weight;
        `own` gets each package's (convener's utility, the `partners`' summed) for the
        narrative);
        terms other than those in force only where the other members agree (the agenda's rule),
        and the package chosen by the step before (`incumbent`) kept unless one beats it
        (`negotiation.rules.protocol.design`). Also returns the package it would rather have tabled
        that the members refuse: (its value, its terms, the names of those who refuse, whom it
        invites), or ()."""
        r, ev, p = prep.round, prep.ev, self.index[proposer]
        options: list[tuple[Terms, tuple[str, ...], tuple[str, ...]]] = []  # terms, invited, in
        for terms, expected in accepted.items():
            if not choose:
                options.append((terms, tuple(prep.order), expected))
                continue
            groups = (
                [c for n in range(len(expected) + 1) for c in combinations(expected, n)]
                if len(expected) <= 4
                else [(), *((a,) for a in expected), expected]
            )
            options += [(terms, g, g) for g in groups]
        specs = [(prep.members | set(e), c.scale, self.last_move, self._design_terms(c))
                 for c, _, e in options]  # fmt: skip
        more = self.evaluate(specs, r)
        # New terms bind the members too: they must agree to them (the agenda's rule), each
        # weighing the bloc it expects on them against the bloc as it stands; the convener, who
        # tables them, says yes (under the "convener" rule its word carries them).
        rule = self.config.agenda.agreement
        status_quo = ev.util[SCALES.index(1.0)]
        values, invited, expected = {}, {}, {}
        refused: tuple = ()
        for k, (c, inv, e) in enumerate(options):
            value = float(more.util[k] @ aim)
            own[(c, inv)] = (float(more.util[k, p]), float(more.util[k][partners].sum()))
            if c.changes():
                votes = self._verdicts(more.util[k], status_quo, prep.members)[0]
                votes[proposer] = True
                if not agreed(votes, rule, proposer):
                    if not refused or value > refused[0]:
                        no = sorted(self._name(m) for m in votes if not votes[m])
                        refused = (value, c, no, inv)
                    continue
            values[(c, inv)], invited[(c, inv)], expected[(c, inv)] = value, inv, e
        if incumbent is not None:
            key = (incumbent.terms, incumbent.invited)
            values[key], invited[key], expected[key] = (
                incumbent.value, incumbent.invited, incumbent.expected
            )  # fmt: skip
        # a tie to rounding: a billionth of its stake (a sum of large terms can net to ~0)
        held = None if incumbent is None else (incumbent.terms, incumbent.invited)
        return design(values, invited, expected, 1e-9 * self.stake[proposer], held), refused

    def _design_candidates(
        self, term: str, chosen: Terms, prep: Prepared | None = None
    ) -> list[Terms]:
        """The terms a convener weighs for `term` ("instrument", "penalty", "sharing" or
        "offtake") given those it has `chosen`: each other instrument (none with no floor, which
        no instrument defends; the stockpile only while its fund has money), the penalty halved
        or doubled (within the lever's bounds, 0 to 2; none with no penalty in force), each
        other cost-sharing key (`negotiation.rules.protocol.SHARING_KEYS` and the scenario's
        table; none where the key changes nothing: the border tariff, or no floor), or the
        offtake partners, among the producers whose invitation this design decides (`prep.order`:
        outside the bloc, at the tables it designs for, not decided by an earlier convener this
        round; the partners in force elsewhere stay): none of them, one of them (each in turn)
        or all of them, each with each share of their output under contract
        (`negotiation.rules.protocol.CONTRACT_SHARES`), and the partners in force at each other
        share. Where every partner would be one it decides, none with its own share, the share
        is every partner's (`offtake_share`); where a partner in force elsewhere keeps its
        contract, or one it decides has its own, the share is the own share of those it decides
        (`offtake_shares`; `Terms.shares`). None where offtake changes nothing: no penalty, and
        no floor or a stockpile, which buys on the world market)."""
        if term == "offtake":
            instrument = chosen.instrument or self.instrument.value
            if self.penalty * chosen.penalty <= 0 and (
                not self.floors.any() or instrument == Instrument.STOCKPILE.value
            ):
                return []
            mine = {a for a in prep.order if self.capacity[self.index[a]].any()}
            if not mine:
                return []
            others = self.partners - mine
            options = {others, others | mine, *(others | {a} for a in mine)}
            shares = [x for x in CONTRACT_SHARES if x != self.offtake_share]
            out = []
            for o in sorted(options, key=sorted):
                offtake = None if o == self.partners else o
                if offtake is not None:
                    out.append(chosen._replace(offtake=offtake))
                decided = sorted(o - others)
                if not decided:
                    continue
                if not others and not set(decided) & set(self.offtake_shares):
                    # partners to contract with, all its own: other shares for every partner
                    out += [chosen._replace(offtake=offtake, share=x) for x in shares]
                    continue
                # a partner in force elsewhere keeps its contract (or one it decides has its
                # own): the share of those it decides is theirs alone
                for x in CONTRACT_SHARES:
                    if any(self.offtake_shares.get(a, self.offtake_share) != x for a in decided):
                        own = tuple((a, x) for a in decided)
                        out.append(chosen._replace(offtake=offtake, shares=own))
            return out
        if term == "instrument":
            if not self.floors.any():
                return []
            empty = self.fund_exhausted or self.fund <= 0
            return [chosen._replace(instrument=i.value) for i in Instrument
                    if i is not self.instrument
                    and not (i is Instrument.STOCKPILE and empty)]  # fmt: skip
        if term == "penalty":
            if self.penalty <= 0:
                return []
            multiples = {min(self.penalty * m, 2.0) / self.penalty for m in PENALTY_MULTIPLES}
            return [chosen._replace(penalty=m) for m in sorted(multiples) if m != 1.0]
        instrument = Instrument(chosen.instrument) if chosen.instrument else self.instrument
        if instrument is Instrument.BORDER or not self.floors.any():
            return []
        keys = [*SHARING_KEYS, *(["table"] if self._sharing_of("table") else [])]
        return [chosen._replace(sharing=k) for k in keys
                if self._sharing_of(k) != self.cost_sharing]  # fmt: skip

    def _design_moves(
        self,
        term: str,
        chosen: Terms,
        prep: Prepared,
        scales: Sequence[float],
        scope: frozenset[str] | None = None,
    ) -> list[Terms]:
        """The terms a convener weighs for one `term` given all the others as `chosen`
        (`_design_for`'s sweeps; in the first, a term not yet chosen is the one in force):
        every other value of that term, the one in force included ("floors": each multiple of
        every floor in `scales`; "package": each multiple of the floors of `scope` within the
        mandate; "instrument", "penalty",
        "sharing", "offtake": `_design_candidates` from the term in force, and the term in
        force)."""
        if term == "floors":
            return [chosen._replace(scale=s) for s in scales if s != chosen.scale]
        if term == "package":
            held = {m: x for m, x in chosen.multiples if m not in scope}
            out = []
            for s in SCALES:
                if self._within_mandate(scope, s):
                    own = {**held, **(dict.fromkeys(scope, s) if s != 1.0 else {})}
                    out.append(chosen._replace(multiples=tuple(sorted(own.items()))))
            return [c for c in out if c != chosen]
        in_force: dict[str, dict[str, Any]] = {
            "instrument": {"instrument": ""},
            "penalty": {"penalty": 1.0},
            "sharing": {"sharing": ""},
            "offtake": {"offtake": None, "share": None, "shares": ()},
        }
        home = chosen._replace(**in_force[term])
        out = [home, *self._design_candidates(term, home, prep)]
        if term == "instrument":  # the key and the offtake only where they mean something
            out = [self._meaningful(c, prep) for c in out]
        return [c for c in dict.fromkeys(out) if c != chosen]

    def _meaningful(self, terms: Terms, prep: Prepared) -> Terms:
        """`terms` without a cost-sharing key under the border tariff, nor offtake where it
        changes nothing on their instrument (as the first sweep weighs them:
        `_design_candidates`)."""
        instrument = Instrument(terms.instrument) if terms.instrument else self.instrument
        if instrument is Instrument.BORDER and terms.sharing:
            terms = terms._replace(sharing="")
        bare = terms._replace(offtake=None, share=None, shares=())
        if bare != terms and not self._design_candidates("offtake", bare, prep):
            terms = bare
        return terms

    def _sharing_of(self, key: str) -> str | dict[str, float] | None:
        """A designed cost-sharing key as the lever takes it: "table" is the scenario's table of
        shares (None if it has none)."""
        if key != "table":
            return key
        table = self.config.policy.cost_sharing
        return dict(table) if isinstance(table, Mapping) else None

    def _scaled_floors(self, multiples: Mapping[str, float]) -> dict[str, float]:
        """The floors in force, each times its multiple (1 if none)."""
        return {m: f * multiples.get(m, 1.0) for m, f in zip(self.minerals, self.floors.tolist())}

    def floors_words(self, scope: Iterable[str] | None) -> str:
        """Floors in words, for a sentence.

        Parameters
        ----------
        scope : iterable of str or None
            The minerals whose floors are meant; None for every floor.

        Returns
        -------
        str
            "every floor", "the copper floor", "the rare earths and gallium floors", "no
            floor" (none of them).
        """
        if scope is None:
            return "every floor"
        names = [self._short_names[m] for m in self.minerals if m in scope]
        if not names:
            return "no floor"
        return f"the {listed(names)} floor{'s' if len(names) > 1 else ''}"

    def _within_mandate(self, scope: frozenset[str] | None, s: float) -> bool:
        """Whether the floors of `scope` (None: every floor) in force, times `s`, stay within
        the agenda's `mandate` (by default FLOOR_BAND, half to twice) of the floors of the
        convener's mandate (the scenario's, or for a mineral it
        gives no floor, the first one a design found in force), or move toward the band (a floor
        set outside it, by a lever, may come back). Keeping them as they are (s = 1) always
        does."""
        if s == 1.0:
            return True
        lo, hi = self.config.agenda.mandate
        for j, m in enumerate(self.minerals):
            # (a floor the scenario did not set: the one in force, as a design would find it)
            f = self.floors[j]
            base = self._mandate[j] or f
            if (scope is not None and m not in scope) or base <= 0 or f <= 0:
                continue
            new = f * s
            inside = lo * base * (1 - 1e-9) <= new <= hi * base * (1 + 1e-9)
            toward = (f > hi * base and s < 1.0) or (f < lo * base and s > 1.0)
            if not (inside or toward):
                return False
        return True

    def _floored(self) -> frozenset[str]:
        """The minerals with a floor in force."""
        return frozenset(m for m, f in zip(self.minerals, self.floors.tolist()) if f > 0)

    def _design_scopes(
        self, mine: Sequence, r: int, each: bool = False
    ) -> list[tuple[frozenset[str] | None, str]]:
        """The packages of floors a convener weighs in turn for the tables it designs for in
        round r, each (floored minerals, whose package in words): [(None, "")], one multiple of
        every floor, until a track with minerals of interest has sat; after that, a table with
        its own minerals weighs their floors, and a table of every mineral (the all-party one)
        reconciles the tracks' packages: each track's floors that have sat by then (ended ones
        too) in the agenda's order (those no earlier one took), then those of no track, its own.
        Packages of the same floored minerals are one; empty ones are left out; a single
        package of every floored mineral is every floor. With `each` (the track designs
        "each_floor": a floor per mineral) each package is split into its minerals' own, in the
        minerals' order, each keeping whose it is (every floor's: nobody's, "")."""
        floored = self._floored()
        out = self._table_packages(mine, r, floored)
        if not each or len(floored) <= 1:
            return out
        return [(frozenset({m}), who) for scope, who in out for m in self.minerals
                if m in (floored if scope is None else scope)]  # fmt: skip

    def _table_packages(
        self, mine: Sequence, r: int, floored: frozenset[str]
    ) -> list[tuple[frozenset[str] | None, str]]:
        """`_design_scopes` before a package is split into its minerals."""
        tracks = [u for u in self.config.agenda.tracks if u.minerals and u.start_round <= r]
        if not tracks:
            return [(None, "")]
        packages: dict[frozenset[str], str] = {}
        for u in mine:
            if u.minerals:
                packages.setdefault(floored & set(u.minerals), f"the {u.name} table's")
                continue
            taken: set[str] = set()
            for v in tracks:
                packages.setdefault(floored & set(v.minerals) - taken, f"the {v.name} table's")
                taken |= set(v.minerals)
            packages.setdefault(floored - taken, f"the {u.name} table's")  # no track's: its own
        out = [(sc, who) for sc, who in packages.items() if sc]
        return [(None, "")] if [sc for sc, _ in out] == [floored] else out

    def _table_floors_words(self, multiples: tuple, packages: Sequence) -> str:
        """What a convener tabled for each package of floors (`_design_scopes`): "the rare earths
        and gallium floors 20% lower (the US-Japan-EU table's) and the lithium floor as in force
        (the US-Mexico table's)"."""
        times = dict(multiples)
        groups: dict[str, dict[str, float]] = {}  # whose, in order: each of its floors' multiple
        for scope, who in packages:
            if scope:
                groups.setdefault(who, {}).update({m: times.get(m, 1.0) for m in scope})
        if list(groups) == [""] and set(groups[""].values()) == {1.0}:
            return "the floors in force"
        parts = [listed(self._multiples_words(moved)) + (f" ({who})" if who else "")
                 for who, moved in groups.items()]  # fmt: skip
        return listed(parts) or "the floors in force"

    def _multiples_words(self, times: Mapping[str, float]) -> list[str]:
        """Floors by the multiple each is tabled at, from the lowest: ["the rare earths and
        gallium floors 20% lower", "the lithium floor as in force"]."""
        by_multiple: dict[float, set[str]] = {}
        for m, s in times.items():
            by_multiple.setdefault(s, set()).add(m)
        return [f"{self.floors_words(frozenset(ms))} {_change_words(s)}"
                for s, ms in sorted(by_multiple.items())]  # fmt: skip

    def _design_terms(self, terms: Terms) -> dict[str, Any]:
        """`terms` as a package spec's own terms (see `evaluate`): the multiple of every floor
        is its scale; the multiples of tables' own minerals' floors (`Terms.multiples`) are
        among its terms."""
        own: dict[str, Any] = {}
        if terms.multiples:
            own["floors"] = self._scaled_floors(dict(terms.multiples))
        if terms.instrument:
            own["instrument"] = terms.instrument
        if terms.penalty != 1.0:
            own["penalty"] = self.penalty * terms.penalty
        if terms.sharing:
            own["cost_sharing"] = self._sharing_of(terms.sharing)
        if terms.offtake is not None:
            own["partners"] = sorted(terms.offtake)
        if terms.share is not None:
            own["offtake_share"] = terms.share
        if terms.shares:
            own["offtake_shares"] = {**self.offtake_shares, **dict(terms.shares)}
        return own

    def _design_accepts(self, prep: Prepared, candidates: Sequence[Terms]) -> dict[Terms, tuple]:
        """Whom the convener expects to accept each candidate's terms, as for the floors in
        `_design_table` (joining pays the invitee, without its errors, counting a rejoining
        cost; what the pipeline adds is taken as at the terms in force, `_pipeline`): the bloc
        as it stands and with each invitee on each candidate's terms, in one batch."""
        n = len(prep.order) + 1
        specs = []
        for c in candidates:
            own = self._design_terms(c)
            specs.append((prep.members, c.scale, self.last_move, own))
            specs += [(prep.members | {a}, c.scale, self.last_move, own) for a in prep.order]
        comp = self.evaluate(specs, prep.round).comp
        accepted = {}
        for k, c in enumerate(candidates):
            out = comp[n * k]
            expected = []
            for m, a in enumerate(prep.order, start=1):
                i = self.index[a]
                gain = self._gains(comp[n * k + m, i], out[i], a, prep, beliefs=False)
                if gain.sum() >= self._rejoin_cost_of(a):
                    expected.append(a)
            accepted[c] = tuple(expected)
        return accepted

    def _design_reclear(self, prep: Prepared) -> None:
        """After a convener tabled a new instrument, penalty, cost-sharing key, offtake partners or
        contract share, the round's packages (the bloc and each invitee at the three multiples of
        the floors, and each member played by a person leaving: `prepare_round`'s batch, in its
        order) cleared again on the terms now in force, so that the invitees answer on them."""
        order = sorted(prep.slot, key=prep.slot.__getitem__)
        prep.ev, prep.future = self._clear_table(prep.round, prep.members, order, prep.staying)
        prep.scale = 1.0

    def _design_words(self, terms: Terms, designs: Sequence[str]) -> str:
        """What a convener tabled, in words: "price-gap payments (the members pay their
        producers the gap between the floor and the market price) instead of the border-adjusted
        tariff, every floor 20% lower, an outsider penalty twice the one in force (10%) and cost
        shared by consumption"."""
        parts = []
        if terms.instrument:
            new, old = terms.instrument, self.instrument.value
            parts.append(f"{_INSTRUMENT_WORDS[new][0]} ({_INSTRUMENT_WORDS[new][1]}) instead of "
                         f"{_INSTRUMENT_WORDS[old][2]}")  # fmt: skip
        if terms.scale != 1.0:
            parts.append(f"every floor {_change_words(terms.scale)}")
        parts += self._multiples_words(dict(terms.multiples))
        if terms.penalty != 1.0:
            times = {0.5: "half", 2.0: "twice"}.get(terms.penalty, f"{terms.penalty:.3g} times")
            new = 100 * self.penalty * terms.penalty
            parts.append(f"an outsider penalty {times} the one in force ({new:.3g}%)")
        if terms.sharing:
            how = {"consumption": "by consumption", "equal": "in equal shares"}
            table = "by the scenario's table of shares"
            parts.append(f"cost shared {how.get(terms.sharing, table)}")
        contract = ""
        if terms.share is not None:
            contract = f"{_contract_words(terms.share)} of their output instead of " + (
                _contract_words(self.offtake_share)
            )
        if terms.shares:
            by_share: dict[float, list[str]] = {}
            for a, x in terms.shares:
                by_share.setdefault(x, []).append(self._name(a))
            contract = listed([f"{_contract_words(x)} of {listed(sorted(n))}'s output"
                               for x, n in sorted(by_share.items())])  # fmt: skip
        if terms.offtake is not None:
            named = listed(sorted(self._name(a) for a in terms.offtake))
            on = f", for {contract}" if contract else ""
            parts.append(
                f"offtake from the producers of {named}, outside the bloc{on} (they sell into "
                "its market on its terms)"
                if named
                else "no offtake from producers outside the bloc"
            )
        elif contract:
            named = listed(sorted(self._name(a) for a in self.partners))
            parts.append(f"offtake contracts with the producers of {named} for {contract}")
        if not parts:
            floors_only = set(designs) <= {"floors", "each_floor", "invitees"}
            return "the floors in force" if floors_only else "the terms in force"
        return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"

    def _fresh_views(self, prep: Prepared, later: list[str]) -> dict[str, CountryView]:
        """After a counter-proposal was adopted, the views of the invitees still to answer, at
        the new terms (cleared again; they cannot counter in turn)."""
        r, members = prep.round, prep.members
        specs = [(members, 1.0, self.last_move)]
        specs += [(members | {a}, 1.0, self.last_move) for a in later]
        ev = self.evaluate(specs, r)
        views = {}
        for n, a in enumerate(later, start=1):
            i = self.index[a]
            elapsed, deadline, proposer = prep.invites[a]
            cost = self._rejoin_cost_of(a)
            gains = {1.0: self._gain(ev.comp[n, i], ev.comp[0, i], a, prep)}
            views[a] = self._view(r, a, elapsed, deadline, members, gains, proposer,
                                  self._outcomes(ev, n, 0, a), cost)  # fmt: skip
        return views

    def _negotiate(self, prep: Prepared, force: bool) -> dict[str, str]:
        r = prep.round
        decisions: dict[str, str] = {}
        adopted = False  # once a counter is adopted, later invitees answer at its terms
        views = prep.views
        joined: list[str] = []
        for n, a in enumerate(prep.order):
            elapsed, deadline, proposer = prep.invites[a]
            view = views[a]
            agent = self.country_agents[a]
            name = agent.name
            if agent.strategy.needs_input():  # a person who did not answer in time
                decision = make_strategy("myopic").respond(view)
                name = f"{name} (no answer in time; an agent decided)"
            else:
                decision = agent.respond(view)
            # (the reason in words only where an event tells it: most refusals are not told)
            if decision.action is Action.ACCEPT:
                joined.append(a)
                decisions[a] = "accept"
                reason = decision.reason.sentence()
                self.recorder.event(r, a, "joined", f"{name} joined the bloc: {reason}")
            elif decision.action is Action.COUNTER and not adopted:
                decisions[a] = "counter"
                if self._settle_counter(prep, a, name, proposer, decision):
                    joined.append(a)
                    adopted = True
                    views = self._fresh_views(prep, prep.order[n + 1 :])
            else:
                decisions[a] = decision.action.value
                if elapsed == 1 or deadline is not None or r % 6 == 1 or self._is_human(a):
                    reason = decision.reason.sentence()
                    self.recorder.event(r, a, "rejected", f"{name} rejected the package: {reason}")
                else:
                    self.history.append((r, a, "rejected"))
        for a in prep.staying:
            agent = self.country_agents[a]
            if agent.strategy.needs_input():
                decisions[a] = "stay"
                continue
            decision = agent.respond(prep.views[a])
            if decision.action is Action.REJECT:
                agent.member = False
                agent.left_round = r
                decisions[a] = "leave"
                reason = Reason({k: -v for k, v in decision.reason.deltas.items()}).sentence()
                self.recorder.event(r, a, "left", f"{agent.name} left the bloc: {reason}")
            else:
                decisions[a] = "stay"
        for a in joined:
            self.country_agents[a].member = True
        return decisions

    def counter_forecast(self, actor: str, terms: Mapping[str, Any] | None = None,
                         scale: float = 1.0) -> dict[str, Any]:  # fmt: skip
        """What a counter-proposal by invitee `actor` next round would meet (a query: nothing in
        the run changes; the round is opened, `prepare_round`, if it is not open).

        Parameters
        ----------
        actor : str
            A country invited in the next round.
        terms : Mapping[str, Any] or None, default None
            The counter's terms, as `Decision.terms` ("floors" ({mineral: USD/t}), "penalty",
            "cost_sharing"; other keys are ignored); None or empty: `scale` times every floor.
        scale : float, default 1.0
            The multiple of every floor in force, when no `terms` are given.

        Returns
        -------
        dict[str, Any]
            `gain` (its components if it joins on the terms, minus staying out on the terms in
            force, USD/yr, as its agent weighs the counters it may name: over its horizon, with
            what the investment pipeline delivers, and with its forecast error of the round;
            for a named counter the value `counter_options` lists), `verdicts` (each member's
            yes or no, {member: bool}), `agreed` (under the agenda's rule, a bool), `rule` (the
            rule in words).

        Raises
        ------
        ValueError
            If the run is over or `actor` is not invited in the next round.
        """
        prep = self.prepare_round()
        if prep is None:
            raise ValueError("the run is over")
        if actor not in prep.invites:
            raise ValueError(f"{actor} is not invited in round {prep.round}")
        terms = self._counter_terms(terms, scale)
        members = prep.members
        ev = self.evaluate([PackageSpec(members | {actor}, 1.0, self.last_move, terms),
                            PackageSpec(members, 1.0, self.last_move)], prep.round)  # fmt: skip
        i = self.index[actor]
        delta = self._gains(ev.comp[0, i], ev.comp[1, i], actor, prep)
        votes = self._verdicts(ev.util[0], ev.util[1], members)[0]
        rule = self.config.agenda.agreement
        return {
            "gain": dict(zip(COMPONENTS, delta.tolist())),
            "verdicts": votes,
            "agreed": agreed(votes, rule, prep.invites[actor][2]),
            "rule": RULE_WORDS[rule],
        }

    def _counter_terms(self, terms: Mapping[str, Any] | None, scale: float) -> dict:
        """A counter's terms as `Decision.terms` has them: `scale` times every floor if none."""
        if terms:
            return {k: v for k, v in terms.items() if k in ("floors", "penalty", "cost_sharing")}
        return {"floors": dict(zip(self.minerals, (self.floors * scale).tolist()))}

    def _counter_words(self, terms: Mapping[str, Any]) -> str:
        """Terms in words, each against the one in force: "the gallium floor at $X/t, an
        outsider penalty of 20%, cost shared by consumption" (a counter's), and a package's
        instrument, offtake partners and contract share."""
        names = self._short_names
        parts = []
        if "instrument" in terms:
            new, old = str(terms["instrument"]), self.instrument.value
            parts.append(f"{_INSTRUMENT_WORDS[new][0]} instead of {_INSTRUMENT_WORDS[old][2]}")
        for m, f in (terms.get("floors") or {}).items():
            old = float(self.floors[self.minerals.index(m)])
            if abs(f - old) > 1e-9 * max(old, 1.0):
                parts.append(f"the {names[m]} floor at {per_tonne(float(f))}")
        if "penalty" in terms:
            parts.append(f"an outsider penalty of {100 * float(terms['penalty']):.3g}%")
        if "cost_sharing" in terms:
            key = terms["cost_sharing"]
            words = COST_SHARING_LABELS.get(key, "") if isinstance(key, str) else ""
            parts.append(f"cost shared {words or 'by a table of shares'}")
        if "partners" in terms:
            named = listed(sorted(self._name(a) for a in terms["partners"]))
            parts.append(f"offtake from the producers of {named}" if named else "no offtake")
        if "offtake_share" in terms:
            parts.append(f"{_contract_words(float(terms['offtake_share']))} of the partners' "
                         "output under contract")  # fmt: skip
        if "offtake_shares" in terms:
            # the entries it changes: those of partners (in force, or those it names), and
            # those that wait until a country is one
            table = terms["offtake_shares"]
            partners = set(terms["partners"]) if "partners" in terms else self.partners
            changed = [(a, float(x)) for a, x in sorted(table.items())
                       if a not in self.offtake_shares or self.offtake_shares[a] != x]  # fmt: skip
            for now in (True, False):
                own = [f"{_contract_words(x)} of {self._name(a)}'s" for a, x in changed
                       if (a in partners) == now]  # fmt: skip
                if own:
                    later = "" if now else (" once it is a partner" if len(own) == 1
                                            else " once they are partners")  # fmt: skip
                    parts.append(f"{listed(own)} output under contract{later}")
            dropped = sorted(self._name(a) for a in self.offtake_shares if a not in table)
            if dropped:
                parts.append(f"{listed(dropped)} back to the partners' share "
                             f"({_contract_words(self.offtake_share)})")  # fmt: skip
        return ", ".join(parts) or "the terms in force"

    def _settle_counter(self, prep: Prepared, a: str, name: str, proposer: str,
                        decision: Decision) -> bool:  # fmt: skip
        """A counter-proposal put to the members under the agenda's agreement rule. Agreed, its
        terms are the bloc's from now (a lever change) and the invitee joins; refused, nothing
        changes. Returns whether it was agreed."""
        r, members = prep.round, prep.members
        # A counter from the menu was weighed with the round (`_counter_table`): the members'
        # answers are those; a person's own terms are cleared now.
        rows, _, answers, _ = prep.counter_tables.get(a, ((), [], [], []))
        named = [k for k, row in enumerate(rows) if decision.label and row[0] == decision.label]
        terms = self._counter_terms(decision.terms, decision.counter_scale)
        if named:
            votes = answers[named[0]]
        else:
            ev = self.evaluate([PackageSpec(members | {a}, 1.0, self.last_move, terms),
                                PackageSpec(members, 1.0, self.last_move)], r)  # fmt: skip
            votes = self._verdicts(ev.util[0], ev.util[1], members)[0]
        label = decision.label or self._counter_words(terms)
        rule = self.config.agenda.agreement
        ok = agreed(votes, rule, proposer)
        reason = decision.reason.sentence()
        # in the order of their names (not of their ids: relabelling must not reorder words)
        yes = listed(sorted(self._name(m) for m in votes if votes[m]))
        no = listed(sorted(self._name(m) for m in votes if not votes[m]))
        if not votes:
            who = "with nobody in the bloc yet, it set the terms"
        elif ok:
            who = f"{yes} agreed ({RULE_WORDS[rule]})"
        else:
            who = f"{no} refused ({RULE_WORDS[rule]}), so nothing changed"
        if not ok:
            self.recorder.event(
                r, a, "rejected", f"{name} counter-proposed {label}; {who}: {reason}"
            )
            return False
        self.levers.apply(terms, at_round=r)
        self.recorder.event(r, a, "joined", f"{name} counter-proposed {label} and joined; {who}: "
                                    f"{reason}")  # fmt: skip
        return True

    # ------------------------------------------------------------------------------------------
    # A person who tables the package (the convener's seat, or the member whose turn it is)

    def tabling(self, actor: str) -> dict[str, Any] | None:
        """What a person at `actor`'s seat may table in the open round (a query: nothing in the
        run changes; the round is opened, `prepare_round`, if it is not open).

        A country tables the package where it proposes (`_track_proposer`: a track's convener,
        or the party whose turn it is) at a table that sits, or where it sponsors an accession.
        An agent in the seat designs the package only where the track lists `designs`, every
        sixth round; a person may table new terms once in any round.

        Parameters
        ----------
        actor : str
            A country.

        Returns
        -------
        dict or None
            None if the seat tables nothing in the open round, an agent plays it, or the run is
            over; else ``tables`` (the names of the tables where it proposes), ``invitees``
            (the countries the round asks on its package, in the round's order: those it may
            invite), ``tabled`` (whether it has tabled this round already), ``designs`` (the
            terms an agent in the seat designs, `suggestion`: the `designs` of the first of its
            tables that design, `_seat_tables`, or every term where none lists any).
        """
        prep = self.prepare_round()
        if prep is None or actor not in self.country_agents or not self._is_human(actor):
            return None
        r = prep.round
        seat = [t for t in self.active_tracks(r) if self._track_proposer(t, r) == actor]
        tables = [t.name for t in seat]
        invitees = [a for a in prep.order if prep.invites[a][2] == actor]
        if not tables and not invitees:
            return None
        designing = self._seat_tables(seat, r)
        designs = designing[0].designs if designing and designing[0].designs else SUGGESTED_DESIGNS
        return {"tables": tables, "invitees": invitees, "tabled": actor in prep.tabled,
                "designs": designs}  # fmt: skip

    def proposal_forecast(
        self,
        actor: str,
        terms: Mapping[str, Any] | None = None,
        invited: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """What a package tabled by a person at `actor`'s seat would meet this round (a query:
        nothing in the run changes). The convener's own forecast, as an agent convener weighs its
        designs: whom it expects to accept (joining pays the invitee on these terms, without its
        forecast errors, counting a rejoining cost), the bloc it then expects, and each member's
        yes or no to the new terms (the bloc it expects on them against the bloc as it stands,
        under the agenda's agreement rule; the proposer says yes).

        Parameters
        ----------
        actor : str
            A country that tables the package this round (`tabling`).
        terms : Mapping[str, Any] or None, default None
            The package's new terms, each in place of the one in force: "floors" ({mineral:
            USD/t}, those named), "penalty", "cost_sharing", "instrument", "partners" (the
            offtake partners), "offtake_share" and "offtake_shares" (partners' own shares, the
            whole table), as `set_levers` takes them. None or empty:
            the terms in force.
        invited : Iterable[str] or None, default None
            Whom it invites, among `tabling(actor)["invitees"]` (None: all of them). Those left
            out are not asked this round.

        Returns
        -------
        dict[str, Any]
            ``invitees`` ({invitee: its gain from joining on these terms, USD/yr, as the
            convener expects it}), ``expected`` (the invitees it expects to accept, in the
            round's order), ``values`` ({actor: the change in its utility, USD/yr, from the bloc
            as it stands to the bloc it expects, for the proposer, the members and the invitees}),
            ``verdicts`` ({member: bool}; only the proposer's yes when the terms change
            nothing, which needs no vote), ``agreed`` (whether the rule carries the terms; True
            when they change nothing), ``changes`` (whether any term differs from the one in
            force), ``rule`` (in words), ``words`` (the terms in words).

        Raises
        ------
        ValueError
            If the run is over, the seat tables nothing this round, or a term or an invitee is
            not one it may table.
        """
        prep, terms, invited = self._proposal(actor, terms, invited)
        prep = self._cleared(prep)  # (on floors another convener tabled, not yet cleared)
        members, move = prep.members, self.last_move
        specs = [PackageSpec(members, 1.0, move), PackageSpec(members, 1.0, move, terms)]
        specs += [PackageSpec(members | {a}, 1.0, move, terms) for a in invited]
        ev = self.evaluate(specs, prep.round)
        gains = {}
        for n, a in enumerate(invited, start=2):
            i = self.index[a]
            gains[a] = float(self._gains(ev.comp[n, i], ev.comp[1, i], a, prep, False).sum())
        expected = [a for a in invited if gains[a] >= self._rejoin_cost_of(a)]
        bloc = self.evaluate([PackageSpec(members | set(expected), 1.0, move, terms)], prep.round)
        util = bloc.util[0]
        # New terms bind the members: they decide them; the same terms need no vote.
        votes = self._verdicts(util, ev.util[0], members)[0] if terms else {}
        votes[actor] = True
        rule = self.config.agenda.agreement
        parties = [actor, *sorted(members - {actor}), *invited]
        return {
            "invitees": gains,
            "expected": expected,
            "values": {a: float(util[self.index[a]] - ev.util[0, self.index[a]]) for a in parties},
            "verdicts": votes,
            "agreed": not terms or agreed(votes, rule, actor),
            "changes": bool(terms),
            "rule": RULE_WORDS[rule],
            "words": self._counter_words(terms),
        }

    def _cleared(self, prep: Prepared) -> Prepared:
        """The open round for a query: as it is, or where another convener tabled floors not
        yet cleared (`prep.scale`), a copy cleared on them (the round itself unchanged)."""
        if prep.scale == 1.0:
            return prep
        ev, future = self._clear_table(prep.round, prep.members,
                                       sorted(prep.slot, key=prep.slot.__getitem__),
                                       prep.staying)  # fmt: skip
        return replace(prep, ev=ev, future=future, scale=1.0)

    def suggestion(self, actor: str, designs: Iterable[str] | None = None) -> dict[str, Any]:
        """What an agent convener's design search would table at `actor`'s seat in the open
        round, for the person who plays it (a query: nothing in the run changes). It is the
        search of `_design_table`: the same aims (its own utility and, at each of its tables'
        `partner_weight`, its partners'), the same expectation of whom accepts, the same
        members' rule and the same sweeps, at the seat's tables that design this round, as an
        agent's (`_seat_tables`), on the terms in force now; among the invitees the person may
        invite, those the design would leave alone stay invited (`_design_idle`). An agent in
        the seat designs only on a design round of a table that lists `designs`, with somebody
        invited (``agent_designs``); in any other round it tables the terms in force. Even
        then, where a convener after it in the agenda's order designed this round, an agent in
        the seat would have designed first (a person's seat is passed over): the invitees they
        share are that convener's, here.

        Parameters
        ----------
        actor : str
            A country that tables the package this round (`tabling`).
        designs : Iterable[str] or None, default None
            The terms it designs, as a track's `designs` lists them. None: those of the first
            of its tables that design (`_seat_tables`); where none lists any, every term
            (`negotiation.rules.protocol.SUGGESTED_DESIGNS`).

        Returns
        -------
        dict[str, Any]
            `proposal_forecast` of the package, and ``terms`` (its new terms, as `propose`
            takes them), ``invited`` (whom it invites, in the round's order), ``designs`` (the
            terms it designed), ``summary`` (what it tables against the terms in force, in
            words, as the narrative tells an agent's design), ``rather`` (the package it would
            rather have tabled that the members would refuse, in words with who refuses; ""
            if none) and ``agent_designs`` (whether an agent in the seat designs this round).

        Raises
        ------
        ValueError
            As `proposal_forecast`; if the seat has tabled this round already; or if
            `designs` names a term a convener does not design.
        """
        can = self.tabling(actor)
        if can is None:
            self._proposal(actor, None, None)  # raises, in words
        if can["tabled"]:
            raise ValueError(f"{self._name(actor)} has tabled a package this round already")
        designs = can["designs"] if designs is None else tuple(designs)
        known = (*SUGGESTED_DESIGNS, "each_floor")
        if set(designs) - set(known) or {"floors", "each_floor"} <= set(designs):
            raise ValueError(f"designs are among {', '.join(known)} (not both floors and "
                             f"each_floor); not {', '.join(designs)}")  # fmt: skip
        prep = self._cleared(self._prepared)
        r = prep.round
        mine = self._seat_tables([t for t in self.active_tracks(r) if t.name in can["tables"]], r)
        names = can["invitees"]
        idle = self._design_idle(prep, actor, mine, names)
        order = [a for a in names if a not in idle]
        found = self._design_search(replace(prep, order=order), actor, mine, designs)
        d = found.design
        terms = self._design_changes(d)
        invited = [a for a in names if a in d.invited or a in idle]
        f = self.proposal_forecast(actor, terms, invited)
        return {
            **f,
            "terms": terms,
            "invited": invited,
            "designs": designs,
            "summary": self._design_summary(found, designs),
            "rather": self._design_rather(found, actor, designs),
            "agent_designs": bool(prep.order)
            and any(self._design_round(t, r) and t.designs for t in mine),
        }

    def _seat_tables(self, tables: Sequence, r: int) -> list:
        """The tables a design at a seat that tables `tables` is for in round r
        (`suggestion`): as an agent convener's, those that design this round
        (`_design_table`); in a round when none does, those that list `designs`; where none
        lists any, all of them."""
        listing = [t for t in tables if t.designs]
        return [t for t in listing if self._design_round(t, r)] or listing or tables

    def propose(
        self,
        actor: str,
        terms: Mapping[str, Any] | None = None,
        invited: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """A person at `actor`'s seat tables the package for the open round (once a round): the
        members decide its new terms under the agenda's agreement rule, each weighing the bloc
        the proposer expects on them against the bloc as it stands (`proposal_forecast`).
        Agreed, the terms are the bloc's from this round (a lever change), those it did not
        invite are not asked this round, and the invitees answer on the new package (on new
        terms, a person at another seat who had already answered this round, to join, to stay
        or with the supplier's move, answers again). Refused, nothing changes. The narrative
        tells it ("tabled").

        Parameters
        ----------
        actor, terms, invited
            As `proposal_forecast`.

        Returns
        -------
        dict[str, Any]
            The forecast it was decided on (`proposal_forecast`).

        Raises
        ------
        ValueError
            As `proposal_forecast`; or if the seat has tabled this round already.
        """
        prep, terms, chosen = self._proposal(actor, terms, invited)
        if actor in prep.tabled:
            raise ValueError(f"{self._name(actor)} has tabled a package this round already")
        f = self.proposal_forecast(actor, terms, chosen)  # (on floors another convener tabled)
        prep.tabled.add(actor)
        r, rule = prep.round, self.config.agenda.agreement
        left_out = [a for a in prep.order if prep.invites[a][2] == actor and a not in chosen]
        votes = {m: v for m, v in f["verdicts"].items() if m != actor}
        yes = listed(sorted(self._name(m) for m in votes if votes[m]))
        no = listed(sorted(self._name(m) for m in votes if not votes[m]))
        name, words = self._name(actor), f["words"]
        tables = self.tabling(actor)["tables"]
        where = f" at the {listed(tables)} table{'s' if len(tables) > 1 else ''}" if tables else ""
        if not f["agreed"]:
            refused = f"{no} refused ({RULE_WORDS[rule]}), so the package stays as it was"
            self.recorder.event(r, actor, "tabled", f"{name} tabled {words}{where}; {refused}")
            return f
        if terms:
            self._fix_mandate()  # (the floors in force before the person's)
            self.levers.apply(terms, at_round=r)
            self._design_reclear(prep)
            prep.counters.clear()
            prep.counter_tables.clear()
            prep.tablings += 1
        for a in left_out:
            del prep.invites[a]
            prep.left_out[a] = actor
        prep.order = [a for a in prep.order if a in prep.invites]
        self._open_views(prep)
        # On new terms, the people who answered the package that was on the table (invitees
        # whether they join, members whether they stay, the supplier its move) answer again, on
        # this one; the proposer's own answer stands. Those left out have nothing to answer.
        again = [b for b in prep.views if b != actor] if terms else []
        for a in [*again, *left_out]:
            if self._is_human(a):
                self.country_agents[a].strategy.reset()
        if terms and self.supplier_agent.strategy.classifier.get("human"):
            self.supplier_agent.strategy.reset()
        # names in alphabetical order, whatever order the invitees answer in
        asked = listed(sorted(self._name(a) for a in chosen)) or "nobody"
        text = f"{name} tabled {words}{where}, inviting {asked}"
        if left_out:
            text += f" (not {listed(sorted(self._name(a) for a in left_out))})"
        expects = listed(sorted(self._name(a) for a in f["expected"])) or "nobody"
        text += f", expecting {expects} to accept"
        if terms and votes:  # (under the "convener" rule its word carries the terms alone)
            said = [f"{yes} agreed" if yes else "", f"{no} refused" if no else ""]
            text += f"; {' and '.join(x for x in said if x)} ({RULE_WORDS[rule]})"
        self.recorder.event(r, actor, "tabled", text)
        return f

    def _proposal(
        self, actor: str, terms: Mapping[str, Any] | None, invited: Iterable[str] | None
    ) -> tuple[Prepared, dict[str, Any], list[str]]:
        """A person's package checked: the round open, the seat one that tables it, the terms
        levers that differ from those in force (each checked as `set_levers` checks it), the
        invitees among those it may invite (in the round's order)."""

        def named(a: str) -> str:  # a country's name in words; an unknown id as given
            return self._name(a) if a in self.country_agents else a

        can = self.tabling(actor)
        if can is None:
            raise ValueError(f"{named(actor)} tables no package this round (or an agent plays it)")
        prep = self._prepared
        unknown = set(terms or {}) - set(PROPOSAL_TERMS)
        if unknown:
            raise ValueError(f"a package's terms are {', '.join(PROPOSAL_TERMS)}; not "
                             f"{', '.join(sorted(unknown))}")  # fmt: skip
        # each term as a lever holds it, those equal to the one in force dropped
        now = {"penalty": self.penalty, "offtake_share": self.offtake_share,
               "offtake_shares": self.offtake_shares, "instrument": self.instrument.value,
               "cost_sharing": self.cost_sharing, "partners": sorted(self.partners)}  # fmt: skip
        own: dict[str, Any] = {}
        for k, v in (terms or {}).items():
            self.levers.check(k, v)
            if k == "floors":
                held = dict(zip(self.minerals, self.floors.tolist()))
                v = {x: float(f) for x, f in v.items() if abs(float(f) - held[x]) > 1e-9 * held[x]}
            elif k == "partners":
                v = sorted(v)
            elif k in ("penalty", "offtake_share"):
                v = float(v)
            elif k == "offtake_shares":
                v = {a: float(x) for a, x in sorted(v.items())}
            if v != now.get(k, {}):
                own[k] = v
        names = can["invitees"]
        chosen = list(names) if invited is None else list(dict.fromkeys(invited))
        stray = [a for a in chosen if a not in names]
        if stray:
            may = listed([named(a) for a in names]) or "nobody"
            no = listed([named(a) for a in stray])
            raise ValueError(f"{named(actor)} may invite {may} this round, not {no}")
        return prep, own, [a for a in names if a in chosen]

    def _rejoin_cost_of(self, a: str) -> float:
        """What joining again costs a country that left before (0 for one that never left)."""
        return self._rejoin_cost[a] if self.country_agents[a].left_round is not None else 0.0

    def _supplier_acts(self, r: int, force: bool = False) -> SupplierMove:
        if self.supplier_agent.strategy.needs_input():  # a person who did not answer in time
            move = SupplierMove(SupplierAction.NORMAL, reason="sells normally (no answer in time)")
            self.last_move = move
            return move
        members = self.members
        view = SupplierView(
            actor=self.supplier_id,
            round=r,
            members=members,
            minerals=self.minerals,
            floors=dict(zip(self.minerals, (float(f) for f in self.floors))),
            supplier_share=self.base_supplier_share,
            # each member's gain from staying last round, as the supplier judges it
            margins={a: g * self.supplier_belief[a] for a, g in self.last_margins.items()},
            stakes=self.stake,
            budget=float(self.fiscal_capacity[self.index[self.supplier_id]]),
            aggressiveness=self.aggressiveness,
            forecast=lambda moves: self.forecast_moves(moves, r),
            rng=self.rng,
        )
        move = self.supplier_agent.act(view)
        self.last_move = move
        return move

    def forecast_moves(self, moves: Sequence[SupplierMove], r: int) -> list[Forecast]:
        """For each move: who would leave (members whose patience runs out) and the supplier's
        utility once they have, as the supplier judges them: each member's gain from staying
        times the supplier's error about it this round (`supplier_belief`).

        The packages cleared for each move are kept (`Evaluator.remember`): they are the
        round's record if the supplier makes that move.

        Parameters
        ----------
        moves : Sequence of SupplierMove
            The supplier's options.
        r : int
            The round they are made in.

        Returns
        -------
        list of Forecast
            One a move, in the order of `moves`: the move, the supplier's utility (USD/yr)
            once the members who would leave have left, the members after, and each member's
            gain from staying as the supplier judges it (USD/yr).
        """
        members = self.members
        sup = self.index[self.supplier_id]
        specs = []
        for mv in moves:
            specs.extend(self.recorder.record_specs(members, mv))
        ev = self.evaluate(specs, r)
        stride = 1 + len(self.countries)
        util = ev.util.tolist()
        inside = [(a, self.index[a], j) for j, a in enumerate(self.countries) if a in members]
        belief = self.supplier_belief
        afters, margins_all = [], []
        for n, mv in enumerate(moves):
            k0 = n * stride
            # The same packages are the round's record if the supplier picks this move.
            self.evaluator.remember(r, members, mv, ev, k0, k0 + stride)
            margins = {a: (util[k0][i] - util[k0 + 1 + j][i]) * belief[a] for a, i, j in inside}
            leaving = {
                a
                for a, g in margins.items()
                if self._losing(a, g + self._exit_cost[a])  # leaving costs it, as it knows
                and self.country_agents[a].losing_streak + 1 > self.country_agents[a].patience
            }
            afters.append(frozenset(members) - leaving)
            margins_all.append(margins)
        utilities = [util[n * stride][sup] for n in range(len(moves))]
        changed = [n for n, after in enumerate(afters) if after != members]
        if changed:  # look one step further where members would walk out
            ev2 = self.evaluate([PackageSpec(afters[n], 1.0, moves[n]) for n in changed], r)
            for j, n in enumerate(changed):
                utilities[n] = float(ev2.util[j, sup])
        return [Forecast(mv, utilities[n], afters[n], margins_all[n]) for n, mv in enumerate(moves)]

    # ------------------------------------------------------------------------------------------
    # Markets clear, money and capacity move, members leave, records are written.

    def _record_round(self, r: int, decisions: dict[str, str], move: SupplierMove) -> None:
        """Round r closes (docs/ODD.md, section 3, steps 6 to 9): the markets clear for the bloc
        as it now is with the round's move, the stability report is made, money, stock and
        capacity move (the recorder's books), members past their patience leave, and the
        recorder writes the round."""
        for hook in self.before_record:
            hook(self, r, move)
        members = self.members
        ev, future, no_policy = self._clear_round(r, members, move)
        stability = self._stability(ev, members, move)
        rec = self.recorder
        charges = rec.charges()  # the books the round cleared with, before its close moves them
        welfare = rec.welfare(ev.outcome, ev.comp[0], no_policy, charges)
        if r > 0:
            rec.flows_and_capacity(ev.outcome, move, r)
            self._exits(r, ev, future, list(self.countries), decisions)
        if move.action is not SupplierAction.NORMAL and r > 0:
            self.recorder.event(
                r, self.supplier_id, move.action.value, f"The supplier {move.reason}"
            )
        rec.write(r, members, move, decisions, ev, stability, welfare, charges)
        self.datacollector.collect(self)

    def _clear_round(
        self, r: int, members: frozenset[str], move: SupplierMove
    ) -> tuple[Evaluation, Future | None, Evaluation]:
        """The round's record cleared: the round as played and each country toggled in or out
        (`Recorder.record_specs`), now and, for the members, once the pipeline has delivered
        (None where nobody looks ahead), and the world with no policy. The supplier's
        look-ahead may have cleared the packages of the move it made already (`forecast_moves`):
        they are taken from there."""
        ex = self.evaluator
        now = ex.recall(r, members, move)
        specs = self.recorder.record_specs(members, move)
        # Members look ahead when they weigh leaving.
        ahead = [0, *(n + 1 for n, a in enumerate(self.countries) if a in members)] if r else []
        ahead = ahead if members else []
        no_policy = None  # the world with no policy, if cleared here
        if now is not None and ahead and ex.looks_ahead:
            guesses = ex.log_guesses()  # last round's markets, for the future's searches
            ev = now
            self.last_outcome = ev.outcome
            future, no_policy = ex.future_and_no_policy(specs, r, ahead, guesses)
        else:
            ev, future = ex.now_and_future(specs, r, ahead, now)
            self.last_outcome = ev.outcome
        if no_policy is None:
            no_policy = ex.no_policy(r)
        return ev, future, no_policy

    def _stability(self, ev: Evaluation, members: frozenset[str], move: SupplierMove) -> Stability:
        """The round's stability report: would any member gain by leaving, would any outsider
        gain by joining (package 0 of `ev` the round as played, then each country toggled).
        Keeps each member's gain from staying for the supplier's next offer (`last_margins`)."""
        margins: dict[str, float] = {}
        would_leave, would_join = [], []
        util = ev.util.tolist()
        for n, a in enumerate(self.countries):
            i = self.index[a]
            if a in members:
                g = util[0][i] - util[n + 1][i]
                margins[a] = g
                if self._losing(a, g):
                    would_leave.append(a)
            else:
                g = util[n + 1][i] - util[0][i]
                if self._losing(a, -g):
                    would_join.append(a)
        # The supplier prices its next offer against each member's gain from staying without
        # any offer: what a side offer paid this round took off the target's margin goes back.
        self.last_margins = dict(margins)
        if move.action is SupplierAction.SIDE_OFFER and move.target in margins:
            w = self.weights[self.index[move.target], COMPONENTS.index("retaliation")]
            self.last_margins[move.target] += move.offer * w
        return Stability(margins, would_leave, would_join)

    def _name(self, actor: str) -> str:
        if actor == self.supplier_id:
            return self.supplier_agent.name
        return self.country_agents[actor].name

    def _mineral_name(self, m: str) -> str:
        return self.config.minerals[m].name

    def _losing(self, actor: str, gain: float) -> bool:
        """Whether a gain (USD/yr) is a loss: below zero by more than rounding (a billionth of
        the actor's stake), so that a member indifferent between staying and leaving (a margin
        of zero in exact arithmetic, a few cents either way in floating point) is not counted as
        wanting to leave, whatever the sign of the noise."""
        return gain < -1e-9 * self.stake[actor]

    def _exits(self, r: int, ev: Evaluation, future: Evaluation | None, others: list[str],
               decisions: dict[str, str]) -> None:  # fmt: skip
        """Members who, for longer than their patience, expect staying to be worth less than
        leaving (over their horizon, as they forecast it, counting the cost of leaving) leave."""
        for n, a in enumerate(others):
            ag = self.country_agents[a]
            if not ag.member:
                continue
            leaving = self._reason(ev, n + 1, 0, a, future, beliefs=True)
            if self._losing(a, self._exit_cost[a] - leaving.total):
                ag.losing_streak += 1
            else:
                ag.losing_streak = 0
            if ag.losing_streak > ag.patience:
                ag.member = False
                ag.losing_streak = 0
                ag.left_round = r
                decisions[a] = "leave"
                self.recorder.event(r, a, "left", self._leaving_text(r, a, leaving))
            elif a not in decisions:
                decisions[a] = "stay"

    def _leaving_text(self, r: int, actor: str, leaving: Reason) -> str:
        """Why a member left, in words: the gain it expects from leaving, what leaving costs,
        and what changed since it joined (who came and went, the supplier's moves)."""
        ag = self.country_agents[actor]
        rounds = f"{ag.patience + 1} round{'s' if ag.patience else ''}"
        years = self.config.foresight.horizon_days / 365
        text = (
            f"{ag.name} left the bloc after {rounds} expecting to do better outside over its "
            f"{years:g}-year horizon, even after {money_words(self._exit_cost[actor])} of leaving "
            f"costs: {leaving.sentence()}"
        )
        joined = max((q for q, a, kind in self.history if a == actor and kind == "joined"),
                     default=None)  # fmt: skip
        if joined is None:
            return text
        since = [
            f"{self._name(a)} {_DONE[kind]}"
            for q, a, kind in self.history
            if q > joined and a != actor and kind in _DONE
        ]
        seen = list(dict.fromkeys(since))
        if seen:
            return text + f". Since it joined in round {joined}: " + ", ".join(seen[-4:])
        return (
            text + f". Since it joined in round {joined} nobody came or went and the supplier did "
            "not move: demand, outages and new capacity moved the markets"
        )

    # ------------------------------------------------------------------------------------------
    # Settings as a scenario

    def to_scenario(self) -> Scenario:
        """A scenario that replays this run: the opening settings, every lever changed since (as
        a schedule), the number of rounds and the seed. `bloc run` on it gives the same records.

        Returns
        -------
        Scenario
            The run's scenario with those settings, validated.

        Raises
        ------
        ScenarioError
            If they do not validate (the error names "<name> (exported)" as its source).
        """
        from negotiation.engine.scenario import scenario_to_dict, validate

        data = scenario_to_dict(self.config)
        o = self.levers.opening
        data["policy"].update(
            floors={m: f for m, f in o["floors"].items() if f > 0},
            instrument=o["instrument"],
            outsider_penalty=o["penalty"],
            cost_sharing=o["cost_sharing"],
            partners=o["partners"],
            offtake_share=o["offtake_share"],
            offtake_shares=o["offtake_shares"],
            stockpile_fund=o["stockpile_fund"],
        )
        data["supplier"].update(strategy=o["supplier_strategy"], aggressiveness=o["aggressiveness"])
        for a, actor in data["actors"].items():
            if a in o["strategies"]:
                actor["strategy"] = o["strategies"][a]
                actor["patience"] = o["patience"][a]
                actor["strategy_params"] = o["strategy_params"][a]
            actor["weights"] = o["weights"][a]
        data["time"]["rounds"] = self.rounds
        data["levers"] = [{"round": r, **changes} for r, changes in self.levers.history]
        if self.seed is not None:
            data["seed"] = self.seed
        return validate(data, f"{self.config.meta.name} (exported)")

    # ------------------------------------------------------------------------------------------
    # Running and records

    def run(self, rounds: int | None = None) -> BlocModel:
        """Step until the last round (or `rounds` more rounds).

        Parameters
        ----------
        rounds : int or None, default None
            How many more rounds to play at most (None: to the last).

        Returns
        -------
        BlocModel
            The model itself, played.

        Raises
        ------
        AwaitingDecisions
            When a person's seat has not decided (it does not wait for a person forever).
        RuntimeError
            When a round does not play because an error inside an earlier one stopped Mesa's
            clock (rather than loop forever).
        """
        target = self.rounds if rounds is None else min(self.rounds, self.round + rounds)
        while self.round < target:
            before = self.round
            self.play()  # raises AwaitingDecisions rather than wait for a person forever
            if self.round == before:
                # Mesa drops its step event when a step raises, and then steps no more: an
                # error inside an earlier round left this model unable to play one.
                raise RuntimeError(
                    f"round {before + 1} did not play: an error in an earlier round left the "
                    "model unable to go on; build a new one"
                )
        return self

    @property
    def rounds_df(self) -> pd.DataFrame:
        """One row a round (round 0 is the opening): see `Recorder.rounds_df`."""
        return self.recorder.rounds_df

    @property
    def actors_df(self) -> pd.DataFrame:
        """One row a round and actor: see `Recorder.actors_df`."""
        return self.recorder.actors_df

    @property
    def events_df(self) -> pd.DataFrame:
        """The narrative, one row an event: see `Recorder.events_df`."""
        return self.recorder.events_df

    @property
    def event_count(self) -> int:
        """Events told so far (rows of `events_df`): where a caller's own events of the same
        moment go among them (the workshop's rooms tell theirs in the order they happened)."""
        return self.recorder.event_count


def compile_kernels() -> None:
    """Compile (or load from numba's cache) the market kernels for the argument types the model
    uses: one round of the default scenario. scripts/setup calls this, so no command waits for
    it."""
    BlocModel(load_scenario(DEFAULT_SCENARIO), rounds=1, rng=0).run()


def _change_words(multiple: float) -> str:
    """A multiple of a term in force in words: "20% lower", "25% higher", "as in force"."""
    if multiple == 1.0:
        return "as in force"
    return f"{abs(multiple - 1):.0%} {'higher' if multiple > 1 else 'lower'}"


def _in_sentence(name: str) -> str:
    """A name as it reads in the middle of a sentence: "Natural graphite" -> "natural
    graphite"; a first word with capitals after its first letter ("NdPr oxide", "PGMs",
    "LiOH") keeps them."""
    first = name.split(" ", 1)[0]
    return name[:1].lower() + name[1:] if first[1:] == first[1:].lower() else name


#: Where producer surplus is among the components (capital charges come off it).
_PRODUCER_SURPLUS = COMPONENTS.index("producer_surplus")


def _contract_words(share: float) -> str:
    """An offtake contract's share of a partner's output in words: "a quarter", "all",
    "30%"."""
    named = {0.1: "a tenth", 0.25: "a quarter", 0.5: "half", 1.0: "all"}
    return named.get(share, f"{share:.0%}")


def _geometric(u: float, mean_rounds: float) -> int:
    """A geometric number of rounds (at least one) with the given mean, from a uniform draw."""
    if mean_rounds <= 1.0:
        return 1
    return 1 + int(np.log1p(-u) / np.log1p(-1.0 / mean_rounds))

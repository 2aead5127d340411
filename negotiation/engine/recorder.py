"""The run's books and records: what a round's close moves and writes down.

`Recorder` keeps the three tables of a run (`rounds_df`, `actors_df`, `events_df`, as rows:
hundreds of columns, appended as dicts for speed) and does the round's bookkeeping once the
markets have cleared (docs/ODD.md, section 3, steps 7 and 9): the money of those at no table and
of the world against the world with no policy (`welfare`), the stockpile fund's purchases and
releases, investment and closures (`flows_and_capacity`), and the round's rows (`write`).

The model decides (who joins, who leaves, what the supplier does) and clears the markets; the
recorder measures and writes. It reads the model's state through its public attributes and
changes only the state the books move: the fund and the stock, capacity, the investment
pipeline, and the world with no policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from negotiation.engine._kernels import stock_release
from negotiation.engine.evaluator import Evaluation, Investment, PackageSpec
from negotiation.engine.projects import ProjectBook
from negotiation.rules.types import COMPONENTS, SupplierMove, money_words

if TYPE_CHECKING:
    from negotiation.engine.market import Outcome

#: The model a recorder serves: a `negotiation.engine.model.BlocModel` (not imported: this module
#: sits below it), read through its public attributes.
Model = Any

#: The components that are money (the others, supply security and openness, are values an
#: actor puts on risk and on its hub business): their sum over everyone is the world's money.
MONEY_COMPONENTS = (
    "producer_surplus",
    "consumer_cost",
    "tariff_revenue",
    "fiscal_outlay",
    "retaliation",
    "market_access",
)

#: Where the money components are among the components.
_MONEY = np.array([COMPONENTS.index(c) for c in MONEY_COMPONENTS])

#: Where producer surplus is: capital charges come off it.
_PS = COMPONENTS.index("producer_surplus")

#: The columns of `events_df`.
EVENT_COLUMNS = ("round", "actor", "kind", "text")


class Stability(NamedTuple):
    """The round's stability report (d'Aspremont et al. 1983), against every member leaving
    and every outsider joining alone.

    Attributes
    ----------
    margins
        Each member's gain from staying in (USD/yr, utility in the bloc minus utility after
        leaving alone).
    would_leave
        Members who would gain by leaving (beyond rounding), in the countries' order.
    would_join
        Outsiders who would gain by joining (beyond rounding), in the countries' order.
    """

    margins: dict[str, float]
    would_leave: list[str]
    would_join: list[str]


class Charges(NamedTuple):
    """The yearly capital charges a round's record counts, USD/yr: what repays the capacity
    added (beyond the steady replacement of the opening capacity), restarted or built during the
    run (docs/ODD.md, Submodel G), by producer, each (A + 1,) with the rest of the world's last.

    Attributes
    ----------
    run
        The run's.
    no_policy
        The world with no policy's.
    """

    run: np.ndarray
    no_policy: np.ndarray


def _days(n: int) -> str:
    """'more than a year', or 'more than n days'."""
    return "more than a year" if n == 365 else f"more than {n} days"


class Recorder:
    """A run's records and the books a round's close moves.

    Parameters
    ----------
    model
        The `BlocModel` whose rounds are recorded (its markets, data and state, read through
        its public attributes).

    Attributes
    ----------
    round_rows, actor_rows, event_rows
        The records so far, one dict a row: `rounds_df`, `actors_df` and `events_df` as lists
        (the model's Mesa `DataCollector` reads the last round's row).
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self.round_rows: list[dict[str, Any]] = []
        self.actor_rows: list[dict[str, Any]] = []
        self.event_rows: list[dict[str, Any]] = []
        d = model.data
        #: the narrative tells of closures beyond a rounding of the world's demand
        self._reported_closure = 0.005 * d.demand[None]
        inv = model.config.investment
        self._under_water = _days(inv.closure_days)
        self._repaid = _days(inv.restart_days)
        lagged = round(inv.lag_days / model.config.time.round_days) > 0
        #: a restart's yearly charge a tonne: the margin above the calibration's that the
        #: restart waited for (`restart_margin` times unit cost), (A + 1, M)
        self._costs = np.vstack([d.cost, d.fringe_cost[None]])
        self._restart_charge = inv.restart_margin * self._costs
        #: the share of capacity (and of its capital charge) a round's retirement leaves
        self._keep = max(1.0 - inv.retirement * model.config.round_years, 0.0)
        #: each producer's normal margin (at least 0) times unit cost, a tonne: what investment
        #: beyond replacement costs a year (set at the first close: projects' entrants' margins
        #: are the model's once it is built)
        self._normal: np.ndarray | None = None
        self._lag_text = (
            f"after the investment lag ({inv.lag_days} days)" if lagged else "at once (no lag)"
        )
        self._columns: list[str] = []  # the per-mineral column names of a round's row
        self._toggled: dict[frozenset[str], list[frozenset[str]]] = {}

    # ------------------------------------------------------------------------------------------
    # The tables

    @property
    def rounds_df(self) -> pd.DataFrame:
        """One row a round (round 0 is the opening): the bloc, the levers, the markets by
        mineral, money and the stability report."""
        return pd.DataFrame(self.round_rows)

    @property
    def actors_df(self) -> pd.DataFrame:
        """One row a round and actor: membership, decision, strategy, utility, margin and the
        weighted components."""
        return pd.DataFrame(self.actor_rows)

    @property
    def events_df(self) -> pd.DataFrame:
        """The narrative: one row an event (round, actor, kind, text)."""
        return pd.DataFrame(self.event_rows, columns=list(EVENT_COLUMNS))

    @property
    def event_count(self) -> int:
        """Events told so far (rows of `events_df`)."""
        return len(self.event_rows)

    def event(self, r: int, actor: str, kind: str, text: str) -> None:
        """Tell an event of round r in the narrative; one of an actor's goes into the model's
        `history` too (what strategies and the leavers' stories read).

        Parameters
        ----------
        r
            The round.
        actor
            The actor's id, or "" for an event of nobody's (a lever change, a closure of the
            rest of the world's capacity).
        kind
            The event's kind ("joined", "left", "lever", ...).
        text
            The event in words.
        """
        self.event_rows.append({"round": r, "actor": actor, "kind": kind, "text": text})
        if actor:
            self.model.history.append((r, actor, kind))

    # ------------------------------------------------------------------------------------------
    # The round's packages and books

    def record_specs(self, members: frozenset[str], move: SupplierMove) -> list[PackageSpec]:
        """The packages a round's record clears: the round as played, then each country toggled
        in or out (for the stability report).

        Parameters
        ----------
        members
            The bloc as it is.
        move
            The supplier's move of the round.

        Returns
        -------
        list of PackageSpec
            First the bloc, then the bloc with each country (in the model's order) toggled.
        """
        toggled = self._toggled.get(members)
        if toggled is None:  # a function of the member set alone: kept for the run
            toggled = self._toggled[members] = [members ^ {a} for a in self.model.countries]
        return [PackageSpec(members, 1.0, move)] + [PackageSpec(t, 1.0, move) for t in toggled]

    def charges(self) -> Charges:
        """The capital charges of capacity added, restarted or built so far, the run's and the world
        with no policy's, by producer (copies: the round's close moves the books).

        Returns
        -------
        Charges
            USD/yr, each (A + 1,), the rest of the world's last.
        """
        return Charges(self.model.capital.sum(axis=1), self.model.no_policy.capital.sum(axis=1))

    def welfare(
        self, out: Outcome, comp: np.ndarray, ev0: Evaluation, charges: Charges
    ) -> dict[str, float]:
        """Money for those at no table, and for the world, against the same world with no
        policy, USD/yr.

        The world with no policy (`NoPolicyWorld`) has no bloc, the supplier selling normally
        and making none of the scenario's scheduled moves, the same outages, demand swings,
        surprises and scheduled changes in demand, and capacity that has invested and closed
        with no policy since the opening. The round's luck is in both, so it cancels.

        Parameters
        ----------
        out
            The round's markets.
        comp
            Every actor's components in the round (A, C).
        ev0
            The world with no policy cleared in the round (its `outcome` becomes the world's).
        charges
            The capital charges of what each world has added, restarted or built (`charges`): they
            come off its producers' surplus.

        Returns
        -------
        dict
            `rest_of_world_producers` and `rest_of_world_buyers` (their producers' surplus, net
            of capital charges, and their buyers' consumer surplus) and `world_money`: the
            change in every actor's money components (producer surplus net of capital charges,
            consumer cost, tariffs, fiscal outlays, side deals, market access) plus the rest of
            the world's.
        """
        w, ex = self.model.no_policy, self.model.evaluator
        _, fringe = ex.no_policy_available()
        w.outcome = base = ev0.outcome
        producers, buyers = ex.fringe_money(out.world_price[0], out.fringe_demand[0])
        producers0, buyers0 = ex.fringe_money(base.world_price[0], base.fringe_demand[0], fringe)
        actors = float(comp[:, _MONEY].sum()) - float(ev0.comp[0][:, _MONEY].sum())
        actors -= float(charges.run[:-1].sum()) - float(charges.no_policy[:-1].sum())
        producers -= float(charges.run[-1])
        producers0 -= float(charges.no_policy[-1])
        return {
            "rest_of_world_producers": producers - producers0,
            "rest_of_world_buyers": buyers - buyers0,
            "world_money": actors + (producers - producers0) + (buyers - buyers0),
        }

    def flows_and_capacity(self, out: Outcome, move: SupplierMove, r: int) -> None:
        """Money, stock and capacity move at the end of round r (docs/ODD.md, step 7): the stock
        releases what export controls cut off (as the round's payoffs counted it), the fund
        pays for the round's purchases, producers invest, retire and close (the run's, and the
        world with no policy's by its own prices).

        Parameters
        ----------
        out
            The round's markets.
        move
            The supplier's move of the round.
        r
            The round.
        """
        m = self.model
        ry = m.config.round_years
        # the stock the round's payoffs saw released (held at the round's start), then bought
        self._release_stock(out, move, ry, r)
        spent = float(out.stock_spending[0].sum()) * ry
        if spent > 0:
            m.stock_held += out.stock_purchases[0] * ry
            # bought at the world price, worth what the tonnes would fetch sold (the kernels'
            # `_stock_kept`, for every mineral at once)
            price = np.maximum(out.world_price[0], 1e-300)
            kept = np.minimum(1.0, m.stock_mark / price) * m.profiles.stock_resale
            m.stock_book += kept * out.stock_spending[0] * ry
            m.fund = max(m.fund - spent, 0.0)
            if m.fund <= 1e-6 * max(m.fund_initial, 1.0) and not m.fund_exhausted:
                m.fund, m.fund_exhausted = 0.0, True
                self.event(
                    r, "", "fund_exhausted",
                    "The stockpile fund ran dry: the floors can no longer be defended",
                )  # fmt: skip
        inv = m.config.investment
        members = m.members
        # The share of the countries with anything at stake that are in (a country with no
        # production, consumption or trade counts for nothing either way).
        at_stake = [a for a in m.countries if m.stake[a] > 1.0]
        cohesion = len([a for a in at_stake if a in members]) / max(len(at_stake), 1)
        credible = cohesion >= inv.credibility_threshold and not m.fund_exhausted
        arriving = m.pipeline.popleft() if m.lag_rounds else m.base_idle
        ex = m.evaluator
        step = ex.invest(m.capacity, m.fringe_capacity, out, credible, m.losing, arriving,
                         m.closed, m.repaid)  # fmt: skip
        m.losing, m.closed, m.repaid = step.losing, step.kept, step.repaid
        if m.lag_rounds:
            m.pipeline.append(step.additions)
        m.capacity, m.fringe_capacity = step.capacity[:-1], step.capacity[-1]
        self._report_closures(r, step.closed, step.restarted)
        built = None
        if len(m.projects):
            book = m.projects
            expected = book.expected(out, credible)
            committed, built = book.advance(r, expected)
            m.capacity = self._build(book, built, m.capacity)
            self._report_projects(r, book, committed, built, expected)
        self._charge(m, step, m.projects, built)
        # The world with no policy invests and closes by its own prices (no member, no floor).
        w = m.no_policy
        arriving = w.pipeline.popleft() if m.lag_rounds else m.base_idle
        step = ex.invest(w.capacity, w.fringe_capacity, w.outcome, False, w.losing, arriving,
                         w.closed, w.repaid)  # fmt: skip
        w.losing, w.closed, w.repaid = step.losing, step.kept, step.repaid
        if m.lag_rounds:
            w.pipeline.append(step.additions)
        w.capacity, w.fringe_capacity = step.capacity[:-1], step.capacity[-1]
        built = None
        if len(w.projects):
            _, built = w.projects.advance(r, w.projects.expected(w.outcome, False))
            w.capacity = self._build(w.projects, built, w.capacity)
        self._charge(w, step, w.projects, built)
        # What a stock bought from the next round would fetch sold: this round's price with no
        # policy (the same luck, no bloc, no support; `_stock_kept`).
        m.stock_mark[:] = w.outcome.world_price[0]

    def _release_stock(self, out: Outcome, move: SupplierMove, ry: float, r: int) -> None:
        """Export controls cut members' supply from the supplier: the stockpile releases to
        members what they cut off, up to what it holds (`_kernels.stock_release`, the tonnes the
        round's payoffs counted: members' buyers replace no more at the world price, and the
        fund's books lose those tonnes' value)."""
        m = self.model
        if not m.stock_held.any() or not m.members:
            return
        ev = m.evaluator
        # the round's controls as the kernels saw them
        control, blanket = ev.controls(np.asarray([ev.move_row(move)]), r)
        member = ev.member_mask(m.members)[None]
        share = np.ascontiguousarray(out.supplier_share_of_bloc[:1])
        base = m.profiles.base_supplier_share
        for j, mineral in enumerate(m.minerals):
            rate, cut = stock_release(0, j, member, m.data.exposure, m.data.consumption, control,
                                      blanket, share, base, m.stock_held, ry)  # fmt: skip
            if rate <= 0.0:
                continue
            release = min(rate * ry, m.stock_held[j])
            if release >= m.stock_held[j] * (1.0 - 1e-9):
                # used up: the rate is the stock over the round's years, and the division and
                # multiplication back can leave a rounding of a tonne's billionth behind
                release = m.stock_held[j]
            m.stock_book[j] *= 1.0 - release / m.stock_held[j]
            m.stock_held[j] -= release
            self.event(
                r, "", "stock_released",
                f"The bloc's stockpile released {release:,.0f} t of "
                f"{m.config.minerals[mineral].name} to members, against {cut * ry:,.0f} t of "
                "their supply cut off by export controls",
            )  # fmt: skip

    def _charge(
        self,
        world: Any,
        step: Investment,
        book: ProjectBook,
        built: np.ndarray | None,
    ) -> None:
        """A world's capital charges move with its capacity at the round's close: written down
        by the round's retirement; the charges of what the round ordered arriving with the
        investment's lag, as the capacity does: a restart's `restart_margin` times unit cost a
        tonne, and investment beyond the steady replacement of the opening capacity its
        producer's normal margin (at least 0) times unit cost a tonne (below it, the capital not
        spent comes off); and the projects `built` added (Submodel G).

        Parameters
        ----------
        world
            The model or its world with no policy (its `capital` and `charge_pipeline`).
        step
            The round's investment (`Evaluator.invest`): what it ordered beyond the steady
            replacement of the opening capacity, and capacity ordered back, (A + 1, M).
        book, built
            The world's projects and the indices of those built this round (None: none).
        """
        if self._normal is None:  # the normal margins are final once the model is built
            self._normal = np.maximum(self.model.base_margin, 0.0) * self._costs
        ordered = step.beyond * self._normal
        if step.restarted.any():
            ordered += step.restarted * self._restart_charge
        capital = world.capital
        capital *= self._keep
        if self.model.lag_rounds:
            capital += world.charge_pipeline.popleft()
            world.charge_pipeline.append(ordered)
        else:
            capital += ordered
        if built is not None and len(built):
            np.add.at(capital, (book.actor[built], book.mineral[built]), book.capital[built])

    @staticmethod
    def _build(book: ProjectBook, built: np.ndarray, capacity: np.ndarray) -> np.ndarray:
        """`capacity` with the projects `built` added (a new array if any)."""
        if not len(built):
            return capacity
        capacity = capacity.copy()
        np.add.at(capacity, (book.actor[built], book.mineral[built]), book.capacity[built])
        return capacity

    def _report_projects(
        self,
        r: int,
        book: ProjectBook,
        committed: np.ndarray,
        built: np.ndarray,
        expected: np.ndarray,
    ) -> None:
        """Say in the narrative which projects were committed this round, on what price, and
        which started producing."""
        m = self.model
        days = m.config.time.round_days
        for p in committed:
            a, x = m.actor_ids[book.actor[p]], m.minerals[book.mineral[p]]
            when = "next round" if book.due[p] <= r else f"from round {book.due[p] + 1}"
            who = m.country_agents[a].name if a in m.country_agents else m.supplier_agent.name
            self.event(
                r, a, "project",
                f"{who} committed to {book.names[p]}, {book.capacity[p]:,.0f} t a year of "
                f"{m.config.minerals[x].name} capacity: the price it expects, "
                f"${expected[p]:,.0f}/t, has covered its unit cost and hurdle, "
                f"${book.threshold[p]:,.0f}/t, for more "
                f"than {book.decide[p] * days:,.0f} days; it produces {when}",
            )  # fmt: skip
        for p in built:
            a, x = m.actor_ids[book.actor[p]], m.minerals[book.mineral[p]]
            self.event(
                r, a, "project",
                f"{book.names[p]} is built: {book.capacity[p]:,.0f} t a year of "
                f"{m.config.minerals[x].name} capacity, producing from the next round, when its "
                f"producers start paying its capital, {money_words(book.capital[p])} (its hurdle "
                "on its unit cost, a tonne)",
            )  # fmt: skip

    def _report_closures(self, r: int, closed: np.ndarray, restarted: np.ndarray) -> None:
        """Say in the narrative who closed capacity this round, who ordered closed capacity
        back, and how much."""
        shown = self._reported_closure
        if not ((closed > shown).any() or (restarted > shown).any()):
            return
        m = self.model
        names = [
            *(m.supplier_agent.name if a == m.supplier_id else m.country_agents[a].name
              for a in m.actor_ids),
            "rest-of-world producers",
        ]  # fmt: skip
        mineral = [m.config.minerals[x].name for x in m.minerals]
        actor = [*m.actor_ids, ""]
        for i, j in zip(*(closed > shown).nonzero()):
            self.event(
                r, actor[i], "closure",
                f"{names[i]} closed {closed[i, j]:,.0f} t a year of {mineral[j]} capacity after "
                f"{self._under_water} under its cash cost (kept shut until prices repay a "
                "restart)",
            )  # fmt: skip
        for i, j in zip(*(restarted > shown).nonzero()):
            charge = restarted[i, j] * self._restart_charge[i, j]
            self.event(
                r, actor[i], "restart",
                f"{names[i]} ordered back {restarted[i, j]:,.0f} t a year of {mineral[j]} "
                f"capacity closed earlier, after prices repaid a restart for {self._repaid}; "
                f"it produces again {self._lag_text}, and from then pays the restart, "
                f"{money_words(charge)}",
            )  # fmt: skip

    # ------------------------------------------------------------------------------------------
    # The round's rows

    def write(
        self,
        r: int,
        members: frozenset[str],
        move: SupplierMove,
        decisions: Mapping[str, str],
        ev: Evaluation,
        stability: Stability,
        welfare: Mapping[str, float],
        charges: Charges,
    ) -> None:
        """Write round r's rows: one in `rounds_df`, one per actor in `actors_df` (and set each
        agent's `utility`).

        Parameters
        ----------
        r
            The round.
        members
            The bloc the round's markets cleared for (before the exits at its end).
        move
            The supplier's move of the round.
        decisions
            Each actor's decision in the round, in words ("accept", "leave", "stay", ...).
        ev
            The round's record as cleared: package 0 the round as played.
        stability
            The round's stability report.
        welfare
            The money of those at no table and of the world (`welfare`).
        charges
            The capital charges the round counts (`charges`, taken before its close moved
            them): each actor's comes off its producer surplus and its utility.
        """
        m = self.model
        out = ev.outcome
        ry = m.config.round_years
        row: dict[str, Any] = {
            "round": r,
            "day": r * m.config.time.round_days,
            "members": "+".join(sorted(members)),
            "n_members": len(members),
            "instrument": m.instrument.value,
            "penalty": m.penalty,
            "partners": "+".join(sorted(m.partners)),
            "offtake_share": m.offtake_share,
            # partners' own contract shares where their deals differ, "country:share" joined by +
            "offtake_shares": "+".join(f"{a}:{x:g}" for a, x in m.offtake_shares.items()),
            "supplier_action": move.action.value,
            "supplier_target": move.target or ",".join(move.minerals),
            "fiscal_cost": float((out.gap_payments[0] + out.stock_spending[0]).sum()),
            "support_ratio": float(out.support_ratio[0].min()),
            "tariff_revenue": float(out.tariff_revenue[0].sum()),
            "capital_charges": float(charges.run.sum()),
            "capital_charges_no_policy": float(charges.no_policy.sum()),
            **welfare,
            "stockpile_fund": m.fund,
            # the stock as members count it: what its tonnes would fetch sold (its book value;
            # the purchases are an asset, not all loss), less the share released
            "stock_value": float(m.stock_book.sum()),
            "fund_exhausted": m.fund_exhausted,
            "internally_stable": not stability.would_leave,
            "externally_stable": not stability.would_join,
            "would_leave": "+".join(stability.would_leave),
            "would_join": "+".join(stability.would_join),
            "levers_changed": any(x["round"] == r for x in m.levers.log),
        }
        # Plain floats in bulk (.tolist()): per-element numpy scalars are most of a record's cost.
        columns = {
            "floor": m.floors,
            "world_price": out.world_price[0],
            "bloc_price": out.bloc_price[0],
            "bloc_share": out.bloc_share[0],
            "supplier_share": out.supplier_share[0],
            "stockpiled": out.stock_purchases[0] * ry,
            "stock_held": m.stock_held,
            "secured": out.secured[0],
        }
        values = np.array(list(columns.values()), dtype=float).T.ravel().tolist()
        if len(self._columns) != len(values):  # the per-mineral column names, made once
            self._columns = [f"{name}_{x}" for x in m.minerals for name in columns]
        row.update(zip(self._columns, values))
        self.round_rows.append(row)

        charge = charges.run[:-1]
        comp = ev.comp[0]
        util = ev.util[0]
        if charge.any():  # sunk: the same in every package, so no decision weighed it
            comp = comp.copy()
            comp[:, _PS] -= charge
            util = util - charge * m.weights[:, _PS]
        utility = util.tolist()
        weighted = (comp * m.weights).tolist()
        charge_list = charge.tolist()
        margins = stability.margins
        sup = m.supplier_agent
        for a in m.actor_ids:
            i = m.index[a]
            agent = sup if a == m.supplier_id else m.country_agents[a]
            is_sup = agent is sup
            arow: dict[str, Any] = {
                "round": r,
                "actor": a,
                "name": agent.name,
                "member": a in members,
                "decision": move.action.value if is_sup else decisions.get(a, ""),
                "strategy": agent.strategy.name,
                "utility": utility[i],
                "margin": margins.get(a, float("nan")),
                "capital_charge": charge_list[i],
            }
            arow.update(zip(COMPONENTS, weighted[i]))
            self.actor_rows.append(arow)
            agent.utility = utility[i]

"""The lever store: every change to a run's live levers, from its asking to its record.

A lever set during a run (`BlocModel.set_levers`) or scheduled by the scenario (`[[levers]]`)
waits in `LeverStore.pending` or `LeverStore.schedule` until the next round opens
(`LeverStore.take_effect`, docs/ODD.md, section 3, step 1), when it acts on the model; each
change is logged (`LeverStore.log`, the charts' markers) and told in the narrative in words, old
value and new. `LeverStore.history` and `LeverStore.opening` are what `BlocModel.to_scenario`
needs to replay the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from agents import make_strategy
from agents.base import Strategy
from negotiation.rules.types import (
    COMPONENT_LABELS,
    COMPONENTS,
    COST_SHARING_LABELS,
    INSTRUMENT_LABELS,
    LEVER_LABELS,
    Instrument,
)

#: Live levers: they act from the next round. Structural settings act on reset.
LEVERS = (
    "floors",
    "instrument",
    "penalty",
    "cost_sharing",
    "partners",
    "offtake_share",
    "offtake_shares",
    "supplier_strategy",
    "aggressiveness",
    "weights",
    "patience",
)

#: The model a lever store serves: a `negotiation.engine.model.BlocModel` (not imported: this module
#: sits below it), whose levers it sets through its public attributes.
Model = Any


def per_tonne(usd: float) -> str:
    """A price per tonne in words: whole dollars, or three figures under $100 (so that a change
    of a small floor still shows)."""
    return f"${usd:,.0f}/t" if usd >= 100 else f"${usd:.3g}/t"


class LeverStore:
    """A run's live levers: the changes waiting, the scenario's schedule, the log.

    Parameters
    ----------
    model
        The `BlocModel` whose levers these are (the floors, instrument, penalty, cost-sharing
        key, aggressiveness and weights are its attributes; strategies and patience its agents').
    schedule
        The scenario's lever changes, as (round, {lever: value}) pairs; changes for one round
        merge.

    Attributes
    ----------
    pending
        Changes set since the last round opened, {lever: value}: they act when the next opens.
    schedule
        The scenario's changes by round, {round: {lever: value}}.
    log
        Every change that took effect, as {"round", "lever", "before", "after"} (values in
        words): the charts' markers and the `levers_changed` column.
    history
        Every change that took effect, as (round, {lever: value}) in scenario terms: the
        schedule of `BlocModel.to_scenario`.
    opening
        The live levers and agent settings at the opening (`settings()` then).
    """

    def __init__(self, model: Model, schedule: Any = ()) -> None:
        self.model = model
        self.pending: dict[str, Any] = {}
        self.schedule: dict[int, dict[str, Any]] = {}
        for r, changes in schedule:
            self.schedule.setdefault(r, {}).update(changes)
        self.log: list[dict[str, Any]] = []
        self.history: list[tuple[int, dict[str, Any]]] = []
        self.opening: dict[str, Any] = {}

    def set(self, **changes: Any) -> None:
        """Ask for lever changes: they act from the next round (see `BlocModel.set_levers`).

        Parameters
        ----------
        **changes
            Levers (`LEVERS`, or "strategies": {actor: strategy}) and their new values.

        Raises
        ------
        ValueError
            For a name that is not a live lever, or a value `apply` would refuse (`check`):
            refused now, before the round opens, rather than halfway through opening it.
        """
        unknown = set(changes) - set(LEVERS) - {"strategies"}
        if unknown:
            raise ValueError(f"unknown lever(s): {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            self.check(name, value)
        self.pending.update(changes)

    def check(self, name: str, value: Any) -> None:
        """Refuse a lever value the model cannot take.

        Parameters
        ----------
        name : str
            A lever (`LEVERS`, or "strategies").
        value : Any
            Its new value, as `set` takes it.

        Raises
        ------
        ValueError
            For an unknown mineral, instrument, cost-sharing key, strategy, component, actor or
            country; a number that is not one (or is negative where it cannot be); a penalty out
            of [0, 2]; an offtake partner, or a partner's own contract share, that is no country of
            the scenario; an offtake share out of [0.01, 1].
        """
        m = self.model

        def number(x: Any, what: str, low: float = 0.0) -> float:
            try:
                f = float(x)
            except (TypeError, ValueError):
                raise ValueError(f"{what}: {x!r} is not a number") from None
            if not np.isfinite(f) or f < low:
                raise ValueError(f"{what}: {x!r} must be a finite number, at least {low:g}")
            return f

        def table(x: Any, what: str) -> Mapping[str, Any]:
            if not callable(getattr(x, "items", None)):  # a dict, a pandas Series...
                raise ValueError(f"{what}: a table by id, not {x!r}")
            return dict(x.items())

        def strategy(x: Any, role: str) -> None:
            if not isinstance(x, Strategy):
                make_strategy(x, role)  # a ValueError naming the known strategies

        if name == "floors":
            for x, f in table(value, "floors").items():
                if x not in m.minerals:
                    raise ValueError(f"floors: unknown mineral {x!r}")
                number(f, f"floors.{x}")
        elif name == "instrument":
            Instrument(value)  # a ValueError naming the value for anything else
        elif name == "penalty":
            if not 0 <= number(value, "penalty") <= 2:
                raise ValueError(f"penalty must be between 0 and 2 (got {value})")
        elif name == "cost_sharing":
            if isinstance(value, str):
                if value not in COST_SHARING_LABELS:
                    raise ValueError(f"cost_sharing: {value!r} is not one of "
                                     f"{', '.join(COST_SHARING_LABELS)} or a table")  # fmt: skip
            else:
                for aid, x in table(value, "cost_sharing").items():
                    if aid not in m.index:
                        raise ValueError(f"cost_sharing: unknown actor {aid!r}")
                    number(x, f"cost_sharing.{aid}")
        elif name == "partners":
            if isinstance(value, str | Mapping) or not hasattr(value, "__iter__"):
                raise ValueError(f"partners: a list of countries, not {value!r}")
            for a in value:
                if a not in m.countries:
                    raise ValueError(f"partners: {a!r} is not a country of this scenario")
        elif name == "offtake_share":
            if not 0.01 <= number(value, "offtake_share") <= 1:
                raise ValueError(f"offtake_share must be between 0.01 and 1 (got {value})")
        elif name == "offtake_shares":
            for a, x in table(value, "offtake_shares").items():
                if a not in m.countries:
                    raise ValueError(f"offtake_shares: {a!r} is not a country of this scenario")
                if not 0.01 <= number(x, f"offtake_shares.{a}") <= 1:
                    raise ValueError(f"offtake_shares.{a} must be between 0.01 and 1 (got {x})")
        elif name == "supplier_strategy":
            strategy(value, "supplier")
        elif name == "aggressiveness":
            number(value, "aggressiveness")
        elif name == "strategies":
            for aid, x in table(value, "strategies").items():
                if aid != m.supplier_id and aid not in m.countries:
                    raise ValueError(f"strategies: unknown actor {aid!r}")
                strategy(x, "supplier" if aid == m.supplier_id else "country")
        elif name == "weights":
            for aid, w in table(value, "weights").items():
                if aid not in m.index:
                    raise ValueError(f"weights: unknown actor {aid!r}")
                for comp, x in table(w, f"weights.{aid}").items():
                    if comp not in COMPONENTS:
                        raise ValueError(f"weights.{aid}: unknown component {comp!r}")
                    number(x, f"weights.{aid}.{comp}")
        elif name == "patience":
            for aid, x in table(value, "patience").items():
                if aid not in m.countries:
                    raise ValueError(f"patience: {aid!r} is not a country of this scenario")
                if number(x, f"patience.{aid}") != int(float(x)):
                    raise ValueError(f"patience.{aid}: {x!r} is not a whole number of rounds")

    def take_effect(self, r: int) -> None:
        """Round r opens: the scenario's changes for it and those asked for since the last round
        (which win over the schedule) act, are logged and told.

        The changes asked for are cleared (`pending` is empty after), and the round's changes,
        if any, go to `history` in scenario terms before they act (`apply`).

        Parameters
        ----------
        r : int
            The round that opens.

        Raises
        ------
        ValueError
            As `apply`: for an unknown mineral, component or country, or a penalty out of
            [0, 2].
        """
        changes = {**self.schedule.get(r, {}), **self.pending}
        self.pending = {}
        if changes:
            self.history.append((r, plain(changes)))
            self.apply(changes, at_round=r)

    def apply(
        self, changes: Mapping[str, Any], log: bool = True, at_round: int | None = None
    ) -> None:
        """Set levers on the model now.

        Parameters
        ----------
        changes : Mapping[str, Any]
            {lever: value}, as `set` takes them.
        log : bool, default True
            Log each change and tell it in the narrative (not for the settings a run opens
            with).
        at_round : int or None, default None
            The round the change is logged in (None: the model's round).

        Raises
        ------
        ValueError
            For a value `check` refuses.
        """
        m = self.model
        for name, value in changes.items():
            self.check(name, value)
            before, before_parts = self.value(name), self.parts(name)
            if name == "floors":
                m.floors = np.array([float(value.get(x, f)) for x, f in zip(m.minerals, m.floors)])
            elif name == "instrument":
                m.instrument = Instrument(value)
            elif name == "penalty":
                m.penalty = float(value)
            elif name == "cost_sharing":
                m.cost_sharing = dict(value) if isinstance(value, Mapping) else str(value)
            elif name == "partners":
                m.partners = frozenset(value)
                # a new array, never changed in place (the evaluator's terms rows compare it)
                m.partner_mask = m.evaluator.partner_row(sorted(m.partners))
            elif name == "offtake_share":
                m.offtake_share = float(value)
                m.partner_mask = m.evaluator.partner_row(sorted(m.partners))
            elif name == "offtake_shares":  # the table in force is replaced
                m.offtake_shares = {a: float(x) for a, x in sorted(value.items())}
                m.partner_mask = m.evaluator.partner_row(sorted(m.partners))
            elif name == "supplier_strategy":
                strat = value if isinstance(value, Strategy) else make_strategy(value, "supplier")
                m.supplier_agent.strategy = strat
            elif name == "aggressiveness":
                m.aggressiveness = float(np.clip(value, 0.0, 1.0))
            elif name == "strategies":
                for aid, strat in value.items():
                    if aid == m.supplier_id:
                        self.apply({"supplier_strategy": strat}, log=False)
                        continue
                    s = strat if isinstance(strat, Strategy) else make_strategy(strat, "country")
                    self.model.country(aid).strategy = s
            elif name == "weights":
                for aid, w in value.items():
                    for comp, x in w.items():
                        m.weights[m.index[aid], COMPONENTS.index(comp)] = float(x)
            elif name == "patience":
                for aid, p in value.items():
                    self.model.country(aid).patience = int(p)
            if log:
                after = self.value(name)
                r = m.round if at_round is None else at_round
                self.log.append({"round": r, "lever": name, "before": before, "after": after})
                m.recorder.event(r, "", "lever", self.text(name, before_parts))

    def parts(self, name: str) -> dict[str, str]:
        """A lever's value in words, part by part: display names, never ids, so that the events
        read as sentences.

        Parameters
        ----------
        name : str
            A lever (`LEVERS`, or "strategies").

        Returns
        -------
        dict[str, str]
            {part: value in words}; one part, labelled "", for a single value (instrument,
            penalty, cost sharing, offtake partners and share, supplier strategy,
            aggressiveness); a part
            per mineral (floors), per country (strategies, patience) or per country and
            component (weights). Empty for a name that is no lever.
        """
        m = self.model
        actor = {a: m.config.actors[a].name for a in m.actor_ids}
        if name == "floors":
            return {
                m.config.minerals[x].name.split(" (")[0]: per_tonne(f) if f > 0 else "no floor"
                for x, f in zip(m.minerals, m.floors)
            }
        if name == "instrument":
            return {"": INSTRUMENT_LABELS[m.instrument.value]}
        if name == "penalty":
            return {"": f"{m.penalty:.0%}"}
        if name == "cost_sharing":
            if isinstance(m.cost_sharing, Mapping):
                total = sum(m.cost_sharing.values()) or 1.0
                table = ", ".join(
                    f"{actor.get(a, a)} {x / total:.0%}" for a, x in m.cost_sharing.items()
                )
                return {"": f"the table ({table})"}
            return {"": COST_SHARING_LABELS.get(m.cost_sharing, m.cost_sharing)}
        if name == "partners":
            return {"": ", ".join(sorted(actor[a] for a in m.partners)) or "none"}
        if name == "offtake_share":
            return {"": f"{m.offtake_share:.0%} of a partner's output"}
        if name == "offtake_shares":
            own = [f"{actor[a]} {x:.0%}" for a, x in m.offtake_shares.items()]
            return {"": ", ".join(own) or "none"}
        if name == "supplier_strategy":
            return {"": m.supplier_agent.strategy.name}
        if name == "aggressiveness":
            return {"": f"{m.aggressiveness:.0%}"}
        if name == "strategies":
            return {actor[a]: ag.strategy.name for a, ag in m.country_agents.items()}
        if name == "weights":
            w = m.weights
            return {
                f"{actor[a]}'s weight on {COMPONENT_LABELS[c]}": f"{w[m.index[a], j]:g}"
                for a in m.countries
                for j, c in enumerate(COMPONENTS)
            }
        if name == "patience":
            return {actor[a]: f"{ag.patience} rounds" for a, ag in m.country_agents.items()}
        return {}

    def value(self, name: str) -> str:
        """A lever's whole value in words (the log's before and after).

        Parameters
        ----------
        name : str
            A lever (`LEVERS`, or "strategies").

        Returns
        -------
        str
            Its `parts`, "part value" (or the value alone for the part ""), joined by "; ".
        """
        return "; ".join(
            f"{part} {value}" if part else value for part, value in self.parts(name).items()
        )

    def text(self, name: str, before: Mapping[str, str]) -> str:
        """The event of a lever change: the parts that changed, old and new values in words.

        Parameters
        ----------
        name : str
            The lever that was set.
        before : Mapping[str, str]
            The lever's `parts` before the change.

        Returns
        -------
        str
            "Lever changed: <lever>: <part> <old> -> <new>; ..." for the parts that changed, or
            "Lever set: <lever> unchanged (<value>)" when none did.
        """
        after = self.parts(name)
        what = LEVER_LABELS.get(name, name)
        changed = [
            f"{part} {before.get(part, '')} -> {value}"
            if part
            else f"{before.get(part)} -> {value}"
            for part, value in after.items()
            if before.get(part) != value
        ]
        if not changed:
            return f"Lever set: {what} unchanged ({self.value(name)})"
        return f"Lever changed: {what}: {'; '.join(changed)}"

    def settings(self) -> dict[str, Any]:
        """The live levers and agent settings now, as plain data in scenario terms.

        Returns
        -------
        dict[str, Any]
            The floors ({mineral: USD/t}), instrument, penalty, cost sharing, offtake partners,
            share and partners' own shares, stockpile fund (the initial one), supplier strategy,
            aggressiveness, strategies and their parameters, patience and weights ({actor:
            {component: weight}}), by the scenario's keys.
        """
        m = self.model
        return {
            "floors": {x: float(f) for x, f in zip(m.minerals, m.floors)},
            "instrument": m.instrument.value,
            "penalty": m.penalty,
            "cost_sharing": m.cost_sharing,
            "partners": sorted(m.partners),
            "offtake_share": m.offtake_share,
            "offtake_shares": dict(m.offtake_shares),
            "stockpile_fund": m.fund_initial,
            "supplier_strategy": m.supplier_agent.strategy.name,
            "aggressiveness": m.aggressiveness,
            "strategies": {a: ag.strategy.name for a, ag in m.country_agents.items()},
            "strategy_params": {a: ag.strategy.init_kwargs for a, ag in m.country_agents.items()},
            "patience": {a: ag.patience for a, ag in m.country_agents.items()},
            "weights": {
                a: dict(zip(COMPONENTS, (float(x) for x in m.weights[i])))
                for a, i in m.index.items()
            },
        }


def plain(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Lever changes as data a scenario file can hold (strategies by name)."""
    out: dict[str, Any] = {}
    for k, v in changes.items():
        if isinstance(v, Strategy):
            v = v.name
        elif k == "strategies":
            v = {a: (x.name if isinstance(x, Strategy) else x) for a, x in v.items()}
        elif isinstance(v, Mapping):
            v = {a: (dict(x) if isinstance(x, Mapping) else x) for a, x in v.items()}
        elif isinstance(v, Instrument):
            v = v.value
        out[k] = v
    return out

"""The web app's per-session state, without Solara: one model, its lock, and read-only snapshots.

The Solara page (`negotiation/ui/app.py`) keeps one `Session` per browser tab and renders only from
`Snapshot`s: immutable copies of the model's records and levers taken under the session's lock, so
the Play thread can step the model while the page is drawn. Nothing in `negotiation/` imports this
module; it imports the engine, never the reverse.

Levers and structural settings follow docs/ODD.md: levers (floors, instrument, outsider penalty,
cost-sharing key, the supplier's strategy and aggressiveness, each country's weights and
patience) act from the next round through `BlocModel.set_levers`; structural settings (scenario,
seed, number of rounds) act on Reset. As in NetLogo, where sliders keep their values across
`setup`, a Reset keeps the levers as they are and opens the new run with them (unless the
scenario changes: a new scenario brings its own).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from negotiation.engine.levers import LEVERS
from negotiation.engine.model import NORMAL, BlocModel
from negotiation.engine.scenario import (
    DEFAULT_SCENARIO,
    Actor,
    Policy,
    Scenario,
    ScenarioError,
    Supplier,
    Time,
    Weights,
    load_scenario,
    load_scenario_bytes,
    scenario_to_toml,
)
from negotiation.experiments.bargaining_space import bargaining_space, table_minerals
from negotiation.rules.types import (
    COMPONENT_LABELS,
    COMPONENTS,
    LEVER_LABELS,
    SupplierAction,
    ids_in_words,
    listed,
)
from negotiation.ui.app_text import the

#: The weights a student moves in the app ("security against cost"), and the hub's openness.
WEIGHT_LEVERS: tuple[str, ...] = ("supply_security", "consumer_cost", "openness")


def mineral_label(name: str) -> str:
    """A mineral's name without its grade: "Lithium (carbonate equivalent)" -> "Lithium"."""
    return name.split(" (")[0]


def short_name(actor: str, name: str, supplier: str) -> str:
    """A label that fits a chart: "United States" -> "US", "European Union" -> "EU"."""
    if actor == supplier:
        return "Supplier"
    words = name.split()
    return "".join(w[0] for w in words).upper() if len(words) > 1 else name


def _schema_range(model: type, name: str) -> tuple[float, float]:
    """The (lowest, highest) a scenario file accepts for `model.name`: its pydantic Field bounds,
    so that the app and a scenario file never disagree on what a lever may be."""
    low, high = -math.inf, math.inf
    for rule in model.model_fields[name].metadata:
        low = getattr(rule, "ge", low)
        high = getattr(rule, "le", high)
    return float(low), float(high)


@dataclass(frozen=True)
class Bounds:
    """What a numeric field accepts, in the units the page shows (`scale` x the model's value:
    the penalty is typed in percent, the model takes a fraction)."""

    low: float
    high: float
    integer: bool = False
    unit: str = ""
    scale: float = 1.0
    grouped: bool = True  # thousands commas in the field (not in a seed: it is an id)

    def describe(self) -> str:
        """The allowed range in words: "a whole number from 0 to 1,000 rounds"."""
        kind = "a whole number" if self.integer else "a number"
        unit = self.unit if self.unit in ("", "%") else f" {self.unit}"
        return f"{kind} from {self._text(self.low)} to {self._text(self.high)}{unit}"

    def _text(self, shown: float) -> str:
        if self.integer or float(shown).is_integer():
            return f"{round(shown):,}"
        return f"{shown:,.2f}".rstrip("0").rstrip(".")

    def show(self, value: float) -> str:
        """A model value as the field shows it."""
        text = self._text(value * self.scale)
        return text if self.grouped else text.replace(",", "")

    def parse(self, text: str | float | None, what: str) -> float:
        """The model value of what was typed (thousands commas and a trailing % allowed), or a
        ValueError whose message names `what` and the allowed range."""
        raw = "" if text is None else str(text).strip()
        cleaned = raw.replace(",", "").replace("_", "").removesuffix("%").strip()
        x: float
        try:
            x = int(cleaned)  # exact, however long (a float would round a large seed)
        except ValueError:
            try:
                x = float(cleaned)
            except ValueError:
                got = f"got {raw!r}" if raw else "the field was empty"
                raise ValueError(f"{what} must be {self.describe()} ({got})") from None
        whole = isinstance(x, int) or x.is_integer()
        # a range check refuses nan and inf too (every comparison with nan is false)
        if not self.low <= x <= self.high or (self.integer and not whole):
            raise ValueError(f"{what} must be {self.describe()} (got {raw})")
        value = int(x) if self.integer else float(x)
        return value if self.scale == 1 else value / self.scale


#: TOML integers are 64-bit: a larger seed could not be written into the exported scenario file.
MAX_SEED = 2**63 - 1
_PENALTY = _schema_range(Policy, "outsider_penalty")
_AGGRESSIVENESS = _schema_range(Supplier, "aggressiveness")
PENALTY_BOUNDS = Bounds(100 * _PENALTY[0], 100 * _PENALTY[1], unit="%", scale=100)
AGGRESSIVENESS_BOUNDS = Bounds(
    100 * _AGGRESSIVENESS[0], 100 * _AGGRESSIVENESS[1], unit="%", scale=100
)
_OFFTAKE_SHARE = _schema_range(Policy, "offtake_share")
OFFTAKE_SHARE_BOUNDS = Bounds(100 * _OFFTAKE_SHARE[0], 100 * _OFFTAKE_SHARE[1], unit="%", scale=100)
WEIGHT_BOUNDS = Bounds(*_schema_range(Weights, "supply_security"))
PATIENCE_BOUNDS = Bounds(*_schema_range(Actor, "patience"), integer=True, unit="rounds")
ROUNDS_BOUNDS = Bounds(*_schema_range(Time, "rounds"), integer=True, unit="rounds")
SEED_BOUNDS = Bounds(_schema_range(Scenario, "seed")[0], MAX_SEED, integer=True, grouped=False)
#: A floor may be at most this many times the mineral's reference price. The scenario schema
#: only asks for a floor >= 0; ten times the 2024 price is beyond any price the markets were
#: calibrated on (it already prices most demand away), so a larger number is a typing slip, not a
#: policy, and would only flatten the charts' axes.
FLOOR_CAP = 10


#: A scenario file opened in the app has at most this many bytes: the app's own export of the
#: default scenario is about 25 KB, the largest built-in scenario resolved about 40 KB.
MAX_SCENARIO_BYTES = 256 * 1024
#: How an opened file is listed among the scenarios ("file: ministerial-2026-seed0.toml"): never
#: a built-in name, nor a path on the server.
OPENED = "file: "
#: A session keeps at most this many opened files in its list (the oldest go first).
MAX_OPENED = 8


def read_scenario_file(file_name: str, data: bytes, size: int | None = None) -> Scenario:
    """A scenario file someone opened in the app (`size`: the size the browser announced, if it
    is known before the bytes are read): at most MAX_SCENARIO_BYTES, read and validated by the
    scenario loader. Raises ScenarioError, one line per problem, each naming the file, the field
    and what is wrong."""
    n = max(len(data), size or 0)
    if n > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            [
                f"{file_name}: the file is {n / 1024:,.0f} KB; a scenario file opened here has "
                f"at most {MAX_SCENARIO_BYTES // 1024} KB (the Export tab's is about 25 KB)"
            ]
        )
    return load_scenario_bytes(data, file_name)


def floor_bounds(reference_price: float) -> Bounds:
    """A mineral's floor field: 0 (no floor) to FLOOR_CAP x its reference price, USD per tonne."""
    return Bounds(0.0, FLOOR_CAP * float(reference_price), integer=True, unit="USD per tonne")


@dataclass(frozen=True)
class Levers:
    """The live levers in scenario terms. floors: USD per tonne (0 = no floor); penalty: 0.1 =
    10 %; partners: the offtake partners' ids, sorted; offtake_share: the share of their
    capacity under contract (1 = all); offtake_shares: a partner's own share where its deal
    differs, {country: share}; weights: {country: {component: weight}}
    (every component); patience: rounds."""

    floors: Mapping[str, float]
    instrument: str
    penalty: float
    cost_sharing: str | Mapping[str, float]
    partners: tuple[str, ...]
    offtake_share: float
    offtake_shares: Mapping[str, float]
    supplier_strategy: str
    aggressiveness: float
    weights: Mapping[str, Mapping[str, float]]
    patience: Mapping[str, int]

    def kwargs(self) -> dict[str, Any]:
        """As keyword arguments of `BlocModel` (to open a new run with these levers)."""
        return {
            "floors": dict(self.floors),
            "instrument": self.instrument,
            "penalty": self.penalty,
            "cost_sharing": (
                dict(self.cost_sharing)
                if isinstance(self.cost_sharing, Mapping)
                else self.cost_sharing
            ),
            "partners": list(self.partners),
            "offtake_share": self.offtake_share,
            "offtake_shares": dict(self.offtake_shares),
            "supplier_strategy": self.supplier_strategy,
            "aggressiveness": self.aggressiveness,
            "weights": {a: dict(w) for a, w in self.weights.items()},
            "patience": dict(self.patience),
        }

    @classmethod
    def of(cls, model: BlocModel, with_pending: bool = True) -> Levers:
        """The levers in force from the next round: the current ones with pending changes
        (without them when `with_pending` is False: the levers of the round just played)."""
        pending = model.levers.pending if with_pending else {}
        floors = {m: float(f) for m, f in zip(model.minerals, model.floors)}
        floors.update({m: float(f) for m, f in pending.get("floors", {}).items()})
        weights = {
            a: {c: float(model.weights[model.index[a], j]) for j, c in enumerate(COMPONENTS)}
            for a in model.countries
        }
        for a, w in pending.get("weights", {}).items():
            if a in weights:
                weights[a].update({c: float(x) for c, x in w.items()})
        patience = {a: int(ag.patience) for a, ag in model.country_agents.items()}
        patience.update({a: int(p) for a, p in pending.get("patience", {}).items()})
        strategy = pending.get("supplier_strategy", model.supplier_agent.strategy.name)
        cost_sharing = pending.get("cost_sharing", model.cost_sharing)
        return cls(
            floors=floors,
            instrument=str(pending.get("instrument", model.instrument.value)),
            penalty=float(pending.get("penalty", model.penalty)),
            cost_sharing=dict(cost_sharing) if isinstance(cost_sharing, Mapping) else cost_sharing,
            partners=tuple(sorted(pending.get("partners", model.partners))),
            offtake_share=float(pending.get("offtake_share", model.offtake_share)),
            offtake_shares=dict(pending.get("offtake_shares", model.offtake_shares)),
            supplier_strategy=getattr(strategy, "name", strategy),
            aggressiveness=float(pending.get("aggressiveness", model.aggressiveness)),
            weights=weights,
            patience=patience,
        )


@dataclass(frozen=True, eq=False)  # compared by identity: each one is a new moment
class Snapshot:
    """What the page shows, copied from the model under the session's lock."""

    version: int
    scenario: str
    title: str
    about: Mapping[str, str]
    seed: int
    round: int
    rounds: int
    round_days: int
    minerals: tuple[str, ...]
    mineral_names: Mapping[str, str]
    reference_prices: Mapping[str, float]  # USD per tonne: the floors' upper bounds follow them
    countries: tuple[str, ...]
    names: Mapping[str, str]
    short: Mapping[str, str]
    supplier: str
    rounds_df: pd.DataFrame
    actors_df: pd.DataFrame
    events_df: pd.DataFrame
    levers: Levers
    scenario_levers: Levers
    pending: tuple[str, ...]
    lever_rounds: tuple[int, ...]
    #: {round: members worse off inside only because of the supplier's move that round}
    pushed: Mapping[int, frozenset[str]] = field(default_factory=dict)
    #: {round: {country: patience in force in that round}} (pending changes not counted: they
    #: act from the next round), so that a look back quotes the patience of its round
    patience_by_round: Mapping[int, Mapping[str, int]] = field(default_factory=dict)
    error: str = ""
    run: int = 0  # the session's run (one per Setup/Reset)
    #: the scenario as the session knows it: a built-in name, a path, or an opened file
    #: (OPENED + its name)
    source: str = ""
    #: None for the run as it is; when looking back (`at`), the round the run has reached
    latest: int | None = None

    @property
    def records_key(self) -> tuple[int, int]:
        """Changes only when the records do (a round played, a new run): charts redraw on it,
        not on a lever moved before the next round."""
        return (self.run, self.round)

    @property
    def run_round(self) -> int:
        """The round the run has reached (the round shown, unless this is a look back)."""
        return self.round if self.latest is None else self.latest

    @property
    def finished(self) -> bool:
        return self.run_round >= self.rounds

    def at(self, r: int) -> Snapshot:
        """The run as it stood after round `r` (clamped to 0..the round played), from its own
        records alone: the rows of the rounds, actors and events tables up to `r`, as the
        snapshot taken in that round had them. Nothing is played again and the run is not
        touched; `latest` keeps the round the run has reached (the levers and any pending change
        stay the run's: they act on the run, not on the round looked at)."""
        r = max(0, min(int(r), self.run_round))
        if r == self.round:
            return self

        def upto(df: pd.DataFrame) -> pd.DataFrame:
            return df[df["round"].to_numpy() <= r].reset_index(drop=True)

        return dataclasses.replace(
            self,
            round=r,
            rounds_df=upto(self.rounds_df),
            actors_df=upto(self.actors_df),
            events_df=upto(self.events_df),
            lever_rounds=tuple(x for x in self.lever_rounds if x <= r),
            pushed={k: v for k, v in self.pushed.items() if k <= r},
            patience_by_round={k: v for k, v in self.patience_by_round.items() if k <= r},
            latest=self.run_round,
        )

    @cached_property  # a snapshot never changes: worked out once (a frozen dataclass allows it)
    def last(self) -> Mapping[str, Any]:
        """The latest round's row of the rounds table."""
        return self.rounds_df.iloc[-1].to_dict()

    @cached_property
    def now(self) -> dict[str, dict[str, Any]]:
        """The latest round's row of the actors table, for each actor."""
        df = self.actors_df
        at = np.flatnonzero(df["round"].to_numpy() == self.round)
        columns = {c: df[c].to_numpy()[at] for c in df.columns}  # 5x faster than .to_dict()
        return {
            str(a): {c: v[k] for c, v in columns.items()} for k, a in enumerate(columns["actor"])
        }

    def patience(self, actor: str) -> int | None:
        """`actor`'s patience in force in the round shown (the rounds it stays below its outside
        option before it leaves), not the levers' value now: a look back at round 12 quotes
        round 12's, whatever was changed since."""
        in_force = self.patience_by_round.get(self.round)
        if in_force is not None and actor in in_force:
            return int(in_force[actor])
        return self.levers.patience.get(actor)

    @property
    def members(self) -> list[str]:
        """Members at the current round, in the scenario's order."""
        inside = set(str(self.last["members"]).split("+")) - {""}
        return [a for a in self.countries if a in inside]

    def floored(self) -> list[str]:
        """Minerals with a floor at any round of the run so far."""
        df = self.rounds_df
        return [m for m in self.minerals if (df[f"floor_{m}"] > 0).any()]


@dataclass(frozen=True)
class Status:
    """A country at the current round, as the network and the member list show it."""

    actor: str
    kind: str  # "member" | "negotiating" | "outside"
    leaning: bool  # towards the supplier: a side offer's target, or a member the move pushes out
    decision: str  # this round's decision (accept, reject, counter, leave, stay or "")
    margin: float | None  # gain from staying in (members), USD a year
    note: str  # plain words for this round


#: The supplier's moves as the end of "because the supplier ...".
MOVE_WORDS = {
    "normal": "sells normally",
    "flood": "floods the market",
    "export_controls": "restricts its exports",
    "side_offer": "offers a side deal",
}
STATUS_WORDS = {"member": "member", "negotiating": "negotiating", "outside": "outside"}


def statuses(snap: Snapshot) -> dict[str, Status]:
    """Member, negotiating (invited this round and said no or countered) or outside, and
    whether the country leans to the supplier."""
    last = snap.last
    members = set(snap.members)
    now = snap.now
    move = str(last["supplier_action"])
    target = str(last.get("supplier_target", "")) if move == "side_offer" else ""
    out: dict[str, Status] = {}
    for a in snap.countries:
        row = now.get(a)
        decision = str(row["decision"]) if row is not None else ""
        margin = float(row["margin"]) if row is not None else float("nan")
        margin_v = margin if margin == margin else None  # NaN for non-members
        if a in members:
            kind = "member"
            note = {"accept": "joined this round", "counter": "joined on its counter-proposal"}.get(
                decision, "in the bloc"
            )
        elif decision in ("reject", "counter"):
            kind = "negotiating"
            note = "rejected the package" if decision == "reject" else "countered, refused"
        else:
            kind = "outside"
            note = "left this round" if decision == "leave" else "outside the bloc"
        pushed = a in snap.pushed.get(snap.round, frozenset())
        leaning = a == target or pushed
        if a == target:
            note += "; the supplier offers it a side deal"
        elif pushed:
            note += f"; would gain by leaving, because the supplier {MOVE_WORDS[move]}"
        elif margin_v is not None and margin_v < 0:
            note += "; would gain by leaving"
        out[a] = Status(a, kind, leaning, decision, margin_v, note)
    return out


def levers_differing(lv: Levers, base: Levers, names: Mapping[str, str]) -> list[str]:
    """The levers of `lv` that differ from the scenario's (`base`), in words: "outsider penalty",
    "weights (Japan)"."""
    out = []
    for name in LEVERS:
        mine, theirs = getattr(lv, name), getattr(base, name)
        if name in ("weights", "patience"):
            who = [names.get(a, a) for a in mine if mine[a] != theirs.get(a)]
            if who:
                out.append(f"{LEVER_LABELS[name]} ({', '.join(who)})")
        elif name == "floors":
            if any(not math.isclose(f, theirs.get(m, 0.0)) for m, f in mine.items()):
                out.append(LEVER_LABELS[name])
        elif mine != theirs:
            out.append(LEVER_LABELS[name])
    return out


def in_words(text: str, snap: Snapshot) -> str:
    """A text of the engine with display names for the ids in it. The supplier's moves are told
    with ids ("offers us discounts", "floods rare_earths, graphite"): on the page "us" would read
    as the pronoun."""
    names = {m: mineral_label(snap.mineral_names[m]) for m in snap.minerals}
    names.update({a: snap.names[a] for a in snap.countries})
    return ids_in_words(text, names)


def round_summary(snap: Snapshot) -> str:
    """What happened in the round on screen, in two or three sentences: the levers that changed,
    who joined, left or said no (and why, for the most telling move), and the supplier's move."""
    if snap.round == 0:
        return "The opening position: press Step to play the first round."
    ev = snap.events_df
    now = ev[ev["round"].to_numpy() == snap.round]
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for actor, kind, text in zip(now["actor"], now["kind"], now["text"]):
        by_kind.setdefault(str(kind), []).append((str(actor), str(text)))
    sentences = []
    levers = [
        t.removeprefix("Lever changed: ").split(":")[0]
        for _, t in by_kind.get("lever", [])
        if t.startswith("Lever changed: ")  # not a lever set to the value it had
    ]
    if levers:
        sentences.append(f"Levers changed: {', '.join(levers)}.")
    moves = []
    for kind, verb in (("joined", "joined"), ("left", "left"), ("rejected", "said no")):
        who = [the(snap.names.get(a, a)) for a, _ in by_kind.get(kind, [])]
        if who:
            moves.append(f"{listed(who)} {verb}")
    sentences.append(f"{'; '.join(moves)}." if moves else "No country moved.")
    telling = (by_kind.get("left") or by_kind.get("joined") or [None])[0]
    if telling is not None:
        sentences.append(telling[1] + ".")
    supplier = [t for a, t in now[["actor", "text"]].itertuples(index=False) if a == snap.supplier]
    if supplier and str(snap.last["supplier_action"]) != "normal":
        sentences.append(in_words(str(supplier[0]), snap) + ".")
    return " ".join(s[0].upper() + s[1:] for s in sentences)


def latest_reasons(snap: Snapshot) -> dict[str, str]:
    """Each actor's latest join/reject/leave event, in words (actors without one are absent)."""
    ev = snap.events_df
    kind = ev["kind"].to_numpy(dtype=object)
    at = np.flatnonzero((kind == "joined") | (kind == "rejected") | (kind == "left"))
    actors = ev["actor"].to_numpy(dtype=object)[at]
    rounds = ev["round"].to_numpy()[at]
    texts = ev["text"].to_numpy(dtype=object)[at]
    return {str(a): f"Round {int(r)}: {t}" for a, r, t in zip(actors, rounds, texts)}


def latest_reason(snap: Snapshot, actor: str) -> str:
    """The latest join/reject/leave event of `actor`, in words ("" if none yet)."""
    return latest_reasons(snap).get(actor, "")


def lever_rounds(rounds_df: pd.DataFrame, minerals: list[str]) -> tuple[int, ...]:
    """Rounds the charts mark as lever changes: those the model logs (a person's, the
    scenario's schedule, an agreed counter-proposal, a convener's design), and those whose
    floors differ from the round before's (whatever moved them, a change of terms for a
    student all the same)."""
    floors = rounds_df[[f"floor_{m}" for m in minerals]].to_numpy()
    moved = np.r_[False, (np.diff(floors, axis=0) != 0).any(axis=1)]
    marked = rounds_df["levers_changed"].to_numpy(dtype=bool) | moved
    return tuple(int(r) for r in rounds_df["round"].to_numpy()[marked])


def pushed_by_the_supplier(model: BlocModel) -> frozenset[str]:
    """Members worse off inside this round that would not be if the supplier had sold normally:
    those the supplier's move (a flood, export controls) is pushing toward the door. A member
    worse off inside whatever the supplier does is not leaning to the supplier: it is the
    package that costs it."""
    losing = [a for a, g in model.last_margins.items() if g < 0 and a in model.members]
    if not losing or model.last_move.action in (SupplierAction.NORMAL, SupplierAction.SIDE_OFFER):
        return frozenset()  # a side offer's target is marked as such (see `statuses`)
    normal = model.move_forecast(NORMAL, r=model.round)["margins"]
    return frozenset(a for a in losing if normal.get(a, -1.0) >= 0)


@dataclass
class Session:
    """One browser tab's run. All access to the model goes through the lock."""

    scenario: str = DEFAULT_SCENARIO
    seed: int | None = None
    rounds: int | None = None
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    #: scenario files opened in this session, by their entry in the list (OPENED + file name)
    opened: dict[str, Scenario] = field(default_factory=dict, repr=False)
    version: int = 0
    run_id: int = 0  # one per Setup/Reset, so a Play thread never steps the next run
    shown: int = 0  # the latest snapshot version the page has rendered (paces Play)

    def __post_init__(self) -> None:
        self.model: BlocModel
        self.config: Scenario
        self.setup(self.scenario, self.seed, self.rounds)

    # ------------------------------------------------------------------------------------------
    def setup(
        self,
        scenario: str,
        seed: int | None = None,
        rounds: int | None = None,
        levers: Levers | None = None,
    ) -> Snapshot:
        """A new run: the structural settings, and the levers to open it with (the scenario's
        own when None). Raises ScenarioError or ValueError on bad settings."""
        sc = self.load(scenario)
        seed = int(seed) if seed is not None else (sc.seed if sc.seed is not None else 0)
        SEED_BOUNDS.parse(seed, "The seed")
        if rounds is not None:
            ROUNDS_BOUNDS.parse(rounds, "The number of rounds")
        model = BlocModel(sc, rng=seed, rounds=rounds, **(levers.kwargs() if levers else {}))
        scenario_levers = Levers.of(BlocModel(sc, rng=seed, rounds=1))
        with self.lock:
            self.scenario, self.seed, self.config = scenario, seed, sc
            self.rounds = model.rounds
            self.model = model
            self.scenario_levers = scenario_levers
            self.pushed = {}
            self.patience_by_round = {0: self._patience_now()}
            self.run_id += 1
            return self.snapshot()

    def load(self, scenario: str) -> Scenario:
        """A scenario by its name in the list: a file opened in this session, else a built-in
        scenario (or a path)."""
        opened = self.opened.get(scenario)
        return opened if opened is not None else load_scenario(scenario)

    def open_file(self, file_name: str, data: bytes, size: int | None = None) -> Snapshot:
        """Open a scenario file (the Export tab's, say): validated first (ScenarioError naming
        the file, the field and what is wrong, and nothing changed: the run on screen goes on),
        then a new run of it with its own seed, rounds, levers and scheduled lever changes. It
        joins the session's list of scenarios as OPENED + `file_name`."""
        return self.open_scenario(file_name, read_scenario_file(file_name, data, size))

    def open_scenario(self, file_name: str, sc: Scenario) -> Snapshot:
        """A new run of `sc`, a scenario file already read and validated (`read_scenario_file`)."""
        key = OPENED + file_name
        with self.lock:
            before = self.opened.pop(key, None)  # and in again last: the newest
            self.opened[key] = sc
            try:
                snap = self.setup(key)
            except (ScenarioError, ValueError) as e:  # the file is valid, the run is not
                if before is None:
                    del self.opened[key]
                else:
                    self.opened[key] = before
                problems = getattr(e, "problems", None) or [str(e)]
                raise ScenarioError([f"{file_name}: {p}" for p in problems]) from None
            for old in list(self.opened)[: max(0, len(self.opened) - MAX_OPENED)]:
                if old != key:
                    del self.opened[old]
            return snap

    def redraw(self, seed: int) -> Snapshot:
        """Same settings, another draw: a new run of this scenario and number of rounds with
        `seed` and the levers as they are now (pending changes included), played at once to the
        round on screen (to the end if none was played yet)."""
        with self.lock:
            upto = self.model.round or self.model.rounds
            self.setup(self.scenario, seed, self.rounds, self.levers())
            while self.model.round < upto:
                self._play_round()
            return self.snapshot()

    def step(self, run_id: int | None = None) -> Snapshot | None:
        """Play one round (None, and nothing done, if `run_id` is no longer the current run)."""
        with self.lock:
            if run_id is not None and run_id != self.run_id:
                return None
            self._play_round()
            return self.snapshot()

    def _play_round(self) -> None:
        """One round, and what the records do not keep: who the supplier's move pushes out, and
        the patience each country played the round with."""
        self.model.step()
        self.pushed[self.model.round] = pushed_by_the_supplier(self.model)
        self.patience_by_round[self.model.round] = self._patience_now()

    def _patience_now(self) -> dict[str, int]:
        return {a: int(ag.patience) for a, ag in self.model.country_agents.items()}

    def levers(self) -> Levers:
        with self.lock:
            return Levers.of(self.model)

    @property
    def finished(self) -> bool:
        with self.lock:
            return self.model.round >= self.model.rounds

    def change(self, name: str, value: Any) -> Snapshot:
        """Change one live lever from the next round. floors: {mineral: USD/t} (the others
        kept); weights: {country: {component: weight}} for the countries changed; patience:
        {country: rounds} likewise. Out-of-bounds values raise ValueError. A value equal to
        the one in force this round is no change: it cancels any pending change instead (a
        penalty moved to 100% and back to 5% before the next round is not logged)."""
        with self.lock:
            self.check(name, value)
            model = self.model
            now = Levers.of(model)
            current = Levers.of(model, with_pending=False)
            if name == "floors":
                full = {m: float(value.get(m, now.floors[m])) for m in model.minerals}
                self._pend(name, full, full == dict(current.floors))
            elif name in ("weights", "patience"):
                merged: dict[str, Any] = dict(model.levers.pending.get(name, {}))
                for a, x in value.items():
                    if name == "weights":
                        merged[a] = {**now.weights[a], **{c: float(w) for c, w in x.items()}}
                    else:
                        merged[a] = int(x)
                in_force = getattr(current, name)
                merged = {a: x for a, x in merged.items() if x != in_force[a]}
                self._pend(name, merged, not merged)
            elif name == "partners":
                chosen = tuple(sorted(set(value)))
                self._pend(name, list(chosen), chosen == current.partners)
            else:
                self._pend(name, value, value == getattr(current, name))
            return self.snapshot()

    def _pend(self, name: str, value: Any, same_as_in_force: bool) -> None:
        if same_as_in_force:
            self.model.levers.pending.pop(name, None)
        else:
            self.model.set_levers(**{name: value})

    def floor_bounds(self, mineral: str) -> Bounds:
        return floor_bounds(self.config.minerals[mineral].reference_price)

    def check(self, name: str, value: Any) -> None:
        """Refuse a lever value out of its bounds (ValueError naming the allowed range)."""
        names = {a: self.config.actors[a].name for a in self.config.actors}
        if name == "floors":
            for m, f in value.items():
                if m not in self.config.minerals:
                    raise ValueError(f"there is no mineral {m!r} in this scenario")
                what = f"The floor for {mineral_label(self.config.minerals[m].name)}"
                # whole dollars are what the field takes; a floor scaled by a button or by an
                # adopted counter-proposal may have cents, and is still in bounds
                dataclasses.replace(self.floor_bounds(m), integer=False).parse(f, what)
        elif name == "penalty":
            PENALTY_BOUNDS.parse(100 * float(value), "The outsider penalty")
        elif name == "aggressiveness":
            AGGRESSIVENESS_BOUNDS.parse(100 * float(value), "The supplier's aggressiveness")
        elif name == "offtake_share":
            OFFTAKE_SHARE_BOUNDS.parse(100 * float(value), "The offtake share")
        elif name == "offtake_shares":
            for a, x in value.items():
                if a not in self.config.country_ids:
                    raise ValueError(f"{names.get(a, a)} cannot be an offtake partner")
                OFFTAKE_SHARE_BOUNDS.parse(100 * float(x), f"{names.get(a, a)}'s contract share")
        elif name == "weights":
            for a, w in value.items():
                for c, x in w.items():
                    what = f"{names.get(a, a)}'s weight on {COMPONENT_LABELS.get(c, c)}"
                    WEIGHT_BOUNDS.parse(x, what)
        elif name == "patience":
            for a, p in value.items():
                PATIENCE_BOUNDS.parse(p, f"{names.get(a, a)}'s patience")
        elif name == "partners":
            for a in value:
                if a not in self.config.country_ids:
                    raise ValueError(f"{names.get(a, a)} cannot be an offtake partner")

    def restore_levers(self) -> Snapshot:
        """Every lever back to the scenario's values (from the next round)."""
        with self.lock:
            s = self.scenario_levers
            for name in ("floors", "instrument", "penalty", "cost_sharing", "partners",
                         "offtake_share", "offtake_shares"):  # fmt: skip
                self.change(name, getattr(s, name))
            self.change("supplier_strategy", s.supplier_strategy)
            self.change("aggressiveness", s.aggressiveness)
            self.change("weights", s.weights)
            self.change("patience", s.patience)
            return self.snapshot()

    # ------------------------------------------------------------------------------------------
    def snapshot(self, error: str = "") -> Snapshot:
        with self.lock:
            self.version += 1
            m, sc = self.model, self.config
            rounds_df = m.rounds_df
            about = sc.meta.about
            names = {a: sc.actors[a].name for a in m.actor_ids}
            return Snapshot(
                version=self.version,
                scenario=sc.meta.name,
                title=sc.meta.title,
                about={
                    k: getattr(about, k, "") or ""
                    for k in ("what_is_it", "how_it_works", "things_to_notice", "things_to_try")
                },
                seed=int(self.seed or 0),
                round=m.round,
                rounds=m.rounds,
                round_days=sc.time.round_days,
                minerals=tuple(m.minerals),
                mineral_names={k: sc.minerals[k].name for k in m.minerals},
                reference_prices={k: sc.minerals[k].reference_price for k in m.minerals},
                countries=tuple(m.countries),
                names=names,
                short={a: short_name(a, n, m.supplier_id) for a, n in names.items()},
                supplier=m.supplier_id,
                rounds_df=rounds_df,
                actors_df=m.actors_df,
                events_df=m.events_df,
                levers=Levers.of(m),
                scenario_levers=self.scenario_levers,
                pending=tuple(sorted(m.levers.pending)),
                lever_rounds=lever_rounds(rounds_df, m.minerals),
                pushed=dict(self.pushed),
                patience_by_round=dict(self.patience_by_round),
                error=error,
                run=self.run_id,
                source=self.scenario,
            )

    def bargaining(self) -> pd.DataFrame:
        """The bargaining space of the package on the table in the round on the model
        (negotiation.experiments.bargaining_space: a query, computed only when asked), with the
        floors its table negotiated scaled (`table_minerals`: every floor but where the round's
        invitees sat at tables of the same minerals of interest)."""
        with self.lock:
            df = bargaining_space(self.model, minerals=table_minerals(self.model))
            df.attrs["run"] = self.run_id
            return df

    # ------------------------------------------------------------------------------------------
    # Export

    def scenario_file(self) -> tuple[str, str]:
        """(file name, TOML text) of a scenario that replays this run with `bloc run`."""
        with self.lock:
            text = scenario_to_toml(self.model.to_scenario())
            return f"{self.config.meta.name}-seed{self.seed}.toml", text


def csv_text(df: pd.DataFrame) -> str:
    """A record table as `bloc run --out` writes it."""
    return df.to_csv(index=False)


def export_name(snap: Snapshot, table: str) -> str:
    return f"{snap.scenario}-seed{snap.seed}-{table}.csv"

"""What the pages render: a room at one moment (`RoomSnapshot`), copied under the room's lock,
with the seats (`SeatState`), each deciding seat's proposal and forecasts (`Panel`), what never
changes in a room (`RoomInfo`) and the counter-proposals a person may pick (`CounterChoice`).

Snapshots are immutable: a page renders from one, never from the room (see
`negotiation.rooms.workshop_live` for when a page gets a new one).

And how they are built (issue 17): `SnapshotBuilder`, a part of a room (`Room.snapshots`), makes
a snapshot from what the room holds (`RoomState`, under the room's lock, once per version) and
keeps what does not change within a round: the engine's records, the deciding seats' panels
(`panel`) and the idle seats' words (`idle_words`). It knows the room only as `RoomState` says:
this module imports nothing of `negotiation.rooms.workshop`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from negotiation.rooms.workshop_common import (
    LOBBY,
    OVER,
    ROSTER_EVENTS,
    RUNNING,
    Participant,
    RoomEvent,
    Settings,
    person_plays,
    sharing_words,
    story_key,
    told_lever,
)
from negotiation.rules.protocol import RULE_WORDS
from negotiation.rules.types import COMPONENT_LABELS, money

if TYPE_CHECKING:
    from negotiation.engine.model import BlocModel
    from negotiation.engine.scenario import Scenario
    from negotiation.rooms.workshop_clock import RoundTimer


@dataclass(frozen=True)
class SeatState:
    seat: str
    name: str
    role: str  # "country" | "supplier"
    holders: tuple[str, ...]  # participant ids, the submitter first
    holder_names: tuple[str, ...]
    submitter: str  # participant id, "" if nobody holds the seat
    person: bool  # played by a person in the open round
    person_next: bool  # ... from the next round (after a pending change)
    required: bool  # must decide in the open round
    decided: bool
    decision: dict[str, Any] | None  # the latest submitted this round (visible per settings)
    decided_by: str  # participant name
    member: bool

    @property
    def submitter_name(self) -> str:
        return self.holder_names[0] if self.holder_names else ""


@dataclass(frozen=True)
class Panel:
    """What a seat that must decide sees: the proposal on the table and its forecasts.

    kind: "invite" (accept, reject or counter-propose), "stay" (a member: stay or leave) or
    "supplier". accept / reject: the seat's weighted utility components if it accepts (joins or
    stays) and if it rejects (stays out or leaves), USD per year, as its agent would weigh them.
    floors: USD per tonne; penalty: 0.1 = 10 %.
    """

    seat: str
    kind: str
    round: int
    proposer: str
    members: tuple[str, ...]
    floors: dict[str, float]
    instrument: str
    penalty: float
    cost_sharing: str
    accept: dict[str, float]
    reject: dict[str, float]
    by_scale: dict[float, float]  # floor scale -> gain from accepting, USD per year
    elapsed: int = 0
    deadline: int | None = None
    #: the cost-sharing key in force ("consumption" or "equal"; "" for a table of shares)
    sharing_key: str = ""
    #: the offtake partners in force (ids): producers outside the bloc selling into its market
    partners: tuple[str, ...] = ()
    #: the share of each partner's capacity under contract with the bloc (1: all of it)
    offtake_share: float = 1.0
    #: partners' own contract shares where their deals differ, (partner, share) pairs
    offtake_shares: tuple[tuple[str, float], ...] = ()
    #: the whole table of own contract shares in force ([policy] offtake_shares), (country,
    #: share) pairs: entries for countries that are not partners wait until they are
    contract_table: tuple[tuple[str, float], ...] = ()
    #: the floors the seat's table negotiates, its floored minerals of interest (ids; empty:
    #: every floor, or a table none of whose minerals has a floor), and the table's name
    table_minerals: tuple[str, ...] = ()
    table: str = ""
    #: a person at the seat that tables the package this round (`BlocModel.tabling`: a
    #: convener's, or the member's whose turn it is) may table new terms: whether it may, the
    #: countries it may invite (ids, in the scenario's order) and whether it has tabled already
    proposes: bool = False
    invitees: tuple[str, ...] = ()
    tabled: bool = False
    #: the countries whose producers a package tabled here may name offtake partners (ids, in
    #: the scenario's order): outside the package's bloc, other than the seat, producing any
    #: of the minerals, and the partners in force
    offtake_candidates: tuple[str, ...] = ()
    #: how many times people tabled new terms in the open round (`Prepared.tablings`): the
    #: forms on a page start again from the new package
    tablings: int = 0

    @property
    def gain(self) -> float:
        return sum(self.accept.values()) - sum(self.reject.values())


@dataclass(frozen=True, eq=False)
class RoomInfo:
    """What never changes in a room (one object per room, so pages can pass it around
    cheaply): seat and mineral names, and the agreement rule in words ("every member must
    agree": who decides a counter-proposal, `negotiation.rules.protocol`)."""

    names: Mapping[str, str]
    minerals: tuple[str, ...]
    mineral_names: Mapping[str, str]
    countries: tuple[str, ...]
    supplier: str
    agreement: str = RULE_WORDS["unanimity"]


@dataclass(frozen=True)
class CounterChoice:
    """A counter-proposal an agent in the seat would weigh this round (`CountryView.
    counter_options`), ready to fill a person's form: its `label` in words, its `value` to the
    seat (USD/yr: the seat's forecast over its horizon, as the agents weigh it), whether the
    members are expected to agree (`agreed`), each member's expected answer (`answers`:
    (display name, yes) in the table's order), `verdict` in words, and its terms as the form
    has them: every mineral's floor (USD/t) and the cost-sharing key ("" keeps the one in
    force)."""

    label: str
    value: float
    agreed: bool
    answers: tuple[tuple[str, bool], ...]
    verdict: str
    floors: Mapping[str, float]
    cost_sharing: str = ""


def counter_verdict(answers: Iterable[tuple[str, bool]], agreed: bool, rule: str) -> str:
    """A counter-proposal's fate in words, for the person who would send it: the rule, each
    member's answer and the outcome ("Every member must agree: United States yes, European
    Union no: it would be refused, and nothing would change")."""
    answers = list(answers)
    if not answers:
        return "Nobody is in the bloc yet: as the first to join, you would set the terms."
    carried = "it would be agreed, and you would join on these terms"
    return _fate(
        answers, rule, carried if agreed else "it would be refused, and nothing would change"
    )


def _fate(answers: list[tuple[str, bool]], rule: str, outcome: str) -> str:
    """The rule, each member's answer and the outcome, in a sentence."""
    said = ", ".join(f"{name} {'yes' if yes else 'no'}" for name, yes in answers)
    return f"{rule[:1].upper()}{rule[1:]}: {said}: {outcome}."


def table_verdict(
    answers: Iterable[tuple[str, bool]], agreed: bool, rule: str, changes: bool = True
) -> str:
    """A package's fate in words, for the person who would table it: the rule, each other
    member's answer and the outcome ("Every member must agree: Japan yes, Mexico no: it would
    be refused, and the package would stay as it is"); with no term changed (`changes`), that
    there is nothing for the members to decide."""
    answers = list(answers)
    if not changes:
        return (
            "No term differs from those in force: nothing for the members to decide, and those "
            "you invite answer the package as it stands."
        )
    if not answers:
        return "Nobody else is in the bloc: your terms would stand, and the invitees answer them."
    carried = "it would be agreed, and the invitees would answer on these terms"
    return _fate(
        answers,
        rule,
        carried if agreed else "it would be refused, and the package would stay as it is",
    )


@dataclass(frozen=True, eq=False)
class RoomSnapshot:
    """A room at one moment, copied under its lock: pages render from it, never from the room."""

    version: int
    public_version: int
    code: str
    title: str
    scenario: str
    seed: int
    solo: bool
    phase: str
    round: int  # rounds played
    rounds: int
    paused: bool
    deadline: float | None  # clock time the open round closes, if timed
    time_left: float | None  # seconds, when the snapshot was taken
    taken_at: float
    settings: Settings
    seats: tuple[SeatState, ...]
    panels: Mapping[str, Panel]
    participants: tuple[Participant, ...]  # copies; tokens included (server side only)
    members: tuple[str, ...]
    minerals: tuple[str, ...]
    mineral_names: Mapping[str, str]
    names: Mapping[str, str]
    supplier: str
    countries: tuple[str, ...]
    round_days: int
    about: Mapping[str, str]
    room_events: tuple[RoomEvent, ...]
    decisions: tuple[Mapping[str, Any], ...]  # every submission so far, oldest first
    tables: Mapping[str, pd.DataFrame]  # rounds, actors, events (engine records)
    lever_rounds: tuple[int, ...]
    closed: Mapping[int, str]  # round -> how it closed ("all decided", "forced", "timer"...)
    info: RoomInfo | None = None
    #: seats the facilitator locked: nobody new takes them, their people keep them
    locked_seats: frozenset[str] = frozenset()
    #: the facilitator's message to the room ("" for none), shown on every page
    message: str = ""
    #: practice runs the facilitator reset to round 0 so far
    practices: int = 0
    #: for a country seat a person plays that is outside the bloc with nothing to decide in
    #: the open round: why, when it is next invited, and what joining would be worth to it now
    #: (`idle_words`)
    idle: Mapping[str, str] = field(default_factory=dict)
    #: of those, the seats kept out because they left the bloc (cooling off): seat -> the round
    #: they are next invited (None: not before the end); the facilitator may invite them back
    #: sooner (`Room.invite_back`), and their people may ask for it (`Room.ask_back`)
    cooling: Mapping[str, int | None] = field(default_factory=dict)
    #: the seats whose people asked to be invited back, not answered yet
    asks_back: frozenset[str] = frozenset()
    #: What pages derive from this snapshot, computed once for all of them (see `shared`).
    memo: dict = field(default_factory=dict, compare=False, repr=False)
    #: What pages derive from the records, computed once for all of them and every snapshot
    #: until a round is played or a lever changes (see `per_round`).
    round_memo: dict = field(default_factory=dict, compare=False, repr=False)

    def shared(self, key: Any, make: Callable[[], Any]) -> Any:
        """`make()`, computed once per snapshot: every page of the room renders from the same
        snapshot object, so 40 pages pay for one narrative, not forty."""
        try:
            return self.memo[key]
        except KeyError:
            value = self.memo[key] = make()
            return value

    def per_round(self, key: Any, make: Callable[[], Any]) -> Any:
        """`make()`, computed once for every snapshot with the same records (the same rounds
        played, the same levers): the charts, whichever pages show them and however many times
        the room changes within the round. `make` may read only the records (`tables`,
        `lever_rounds`) and what never changes in the room."""
        try:
            return self.round_memo[key]
        except KeyError:
            value = self.round_memo[key] = make()
            return value

    @property
    def open_round(self) -> int:
        return self.round + 1

    @property
    def finished(self) -> bool:
        return self.phase == OVER

    def seat(self, seat: str) -> SeatState:
        for s in self.seats:
            if s.seat == seat:
                return s
        raise KeyError(seat)

    def participant(self, pid: str) -> Participant | None:
        return next((p for p in self.participants if p.id == pid), None)

    def by_token(self, token: str) -> Participant | None:
        if not token:
            return None
        return next((p for p in self.participants if secrets.compare_digest(p.token, token)), None)

    @property
    def waiting_for(self) -> tuple[str, ...]:
        """Seats that must still decide this round."""
        return tuple(s.seat for s in self.seats if s.required and not s.decided)

    @cached_property
    def rounds_df(self) -> pd.DataFrame:
        return self.tables["rounds"]

    @cached_property
    def actors_df(self) -> pd.DataFrame:
        return self.tables["actors"]

    @cached_property
    def events_df(self) -> pd.DataFrame:
        return self.tables["events"]

    def narrative(self, limit: int | None = None) -> list[tuple[int, str, str, str]]:
        """(round, kind, text, actor), newest first: the engine's events, with the seat changes
        told in the room's words (not as lever changes), and the room's own events."""
        out = self.shared("narrative", self._narrative)
        return out[:limit] if limit else out

    def _narrative(self) -> list[tuple[int, str, str, str]]:
        ev = self.events_df
        rows: list[tuple[tuple, int, str, str, str]] = []
        for n, e in enumerate(ev.itertuples()):
            if e.kind == "lever" and not told_lever(str(e.text)):
                continue
            key = story_key(int(e.round), n)
            rows.append((key, int(e.round), str(e.kind), str(e.text), str(e.actor or "")))
        for n, e in enumerate(self.room_events):
            if e.kind not in ROSTER_EVENTS:
                key = story_key(e.round, n, True, e.kind, e.after)
                rows.append((key, e.round, e.kind, e.text, ""))
        rows.sort(key=lambda row: row[0])
        return [(r, k, t, a) for _, r, k, t, a in reversed(rows)]

    def deciders(self) -> dict[tuple[int, str], str]:
        """(round, seat) -> the person whose decision counted."""
        return self.shared(
            "deciders",
            lambda: {(int(d["round"]), d["seat"]): d["participant"] for d in self.decisions},
        )


# ----------------------------------------------------------------------------------------------
# Building snapshots


class RoomState(Protocol):
    """What `SnapshotBuilder.build` reads of a room (`negotiation.rooms.workshop.Room`): its public
    state, read under its lock. The room passes what it keeps private as arguments."""

    code: str
    config: Scenario
    scenario: str
    seed: int
    solo: bool
    phase: str
    model: BlocModel
    seats: tuple[str, ...]
    names: dict[str, str]
    info: RoomInfo
    settings: Settings
    actions: list[dict[str, Any]]
    room_events: list[RoomEvent]
    closed: dict[int, str]
    message: str
    practice: list[dict[str, Any]]
    timer: RoundTimer
    clock: Callable[[], float]

    @property
    def version(self) -> int: ...

    @property
    def public_version(self) -> int: ...

    @property
    def participants(self) -> dict[str, Participant]: ...

    @property
    def holders(self) -> dict[str, list[str]]: ...

    @property
    def locked_seats(self) -> set[str]: ...

    @property
    def paused(self) -> bool: ...

    @property
    def deadline(self) -> float | None: ...


class SnapshotBuilder:
    """Builds a room's snapshots (`build`) and keeps, from one version to the next, what does
    not change within a round: the engine's records (`records`), the deciding seats' panels,
    the idle seats' words and the memo of what pages derive from the records
    (`RoomSnapshot.round_memo`).

    A part of a `Room` (`Room.snapshots`): `Room.snapshot` calls `build` under the room's lock,
    once per version (`negotiation.rooms.workshop_live`), and the room tells it when what it keeps
    goes stale (`forget_panels`, `forget_idle`). It reads the room (`RoomState`) and changes
    nothing in it.
    """

    def __init__(self) -> None:
        #: the open round's panels, by (round, seat)
        self.panels: dict[tuple[int, str], Panel] = {}
        #: (model, round, seat) -> `idle_words`
        self.idle: dict[tuple[int, int, str], tuple[str, dict[str, Any]]] = {}
        #: ((round, engine calls, model), the model's records)
        self.tables: tuple[tuple[int, int, int], dict[str, pd.DataFrame]] | None = None
        #: (the records' key, `RoomSnapshot.round_memo`)
        self.round_memo: tuple[Any, dict] = (None, {})

    def forget_panels(self) -> None:
        """Drop the panels kept (the model was rebuilt: its rounds start again)."""
        self.panels = {}

    def forget_idle(self) -> None:
        """Drop the idle seats' words kept (a seat's outlook changed within the round)."""
        self.idle = {}

    def records(self, model: BlocModel, engine_calls: int) -> dict[str, pd.DataFrame]:
        """The model's records (rounds, actors, events), made once for each state of the run.

        Parameters
        ----------
        model : BlocModel
            The room's model.
        engine_calls : int
            The engine calls the room has made on it so far: the records change only with a
            call (a round played, a lever, a decision).

        Returns
        -------
        dict of str to pandas.DataFrame
            ``rounds``, ``actors`` and ``events``, the same objects until the run moves.
        """
        key = (model.round, engine_calls, id(model))
        if self.tables is None or self.tables[0] != key:
            self.tables = (key, {"rounds": model.rounds_df, "actors": model.actors_df,
                                 "events": model.events_df})  # fmt: skip
        return self.tables[1]

    def build(
        self,
        room: RoomState,
        required: frozenset[str],
        pending: Mapping[str, str],
        engine_calls: int,
    ) -> RoomSnapshot:
        """The room as it is now, for the pages (call it with the room's lock held).

        Parameters
        ----------
        room : RoomState
            The room (`negotiation.rooms.workshop.Room`).
        required : frozenset of str
            The seats a person must decide for in the open round.
        pending : mapping of str to str
            Seats changing hands from the next round: seat -> "person" or "agent".
        engine_calls : int
            The engine calls the room has made on its model (`records`).

        Returns
        -------
        RoomSnapshot
            The room at this moment, with its `time_left` as of now.
        """
        m = room.model
        sc = room.config
        running = room.phase == RUNNING
        undecided = set(m.awaiting()) if running else set()
        prep = m.prepare_round() if running else None
        seats = seat_states(room, required, pending, undecided)
        panels = self._panels(m, prep, required)
        idle: dict[str, str] = {}
        cooling: dict[str, int | None] = {}
        if prep is not None:
            for st in seats:
                if st.person and not st.required and st.role == "country" and not st.member:
                    words, outlook = self._idle_words(room, prep.round, st.seat)
                    if words:
                        idle[st.seat] = words
                    if outlook["why"] == "cooling":
                        cooling[st.seat] = outlook["next"]
        tables = self.records(m, engine_calls)
        records = (id(m), m.round, len(m.levers.log), room.phase)
        if self.round_memo[0] != records:
            self.round_memo = (records, {})
        rounds_df = tables["rounds"]
        lever_rounds = tuple(int(r) for r in rounds_df.loc[rounds_df["levers_changed"], "round"])
        about = sc.meta.about
        members = m.members
        now = room.clock()
        return RoomSnapshot(
            version=room.version,
            public_version=room.public_version,
            code=room.code,
            title=sc.meta.title,
            scenario=room.scenario,
            seed=room.seed,
            solo=room.solo,
            phase=room.phase,
            round=m.round,
            rounds=m.rounds,
            paused=room.paused,
            deadline=room.deadline,
            time_left=room.timer.time_left(now),
            taken_at=now,
            settings=room.settings,
            seats=seats,
            panels=panels,
            participants=tuple(replace(p) for p in room.participants.values()),
            members=tuple(a for a in m.countries if a in members),
            minerals=tuple(m.minerals),
            mineral_names={x: sc.minerals[x].name for x in m.minerals},
            names=dict(room.names),
            supplier=m.supplier_id,
            countries=tuple(m.countries),
            round_days=sc.time.round_days,
            about={
                k: getattr(about, k, "") or ""
                for k in ("what_is_it", "how_it_works", "things_to_notice", "things_to_try")
            },
            room_events=tuple(room.room_events),
            # (an answer set aside when a person tabled new terms no longer counts)
            decisions=tuple(
                a for a in room.actions if a["kind"] == "submit" and not a.get("withdrawn")
            ),
            tables=tables,
            lever_rounds=lever_rounds,
            closed=dict(room.closed),
            info=room.info,
            round_memo=self.round_memo[1],
            locked_seats=frozenset(room.locked_seats),
            message=room.message,
            practices=len(room.practice),
            idle=idle,
            cooling=cooling,
            asks_back=frozenset(asking_back(room.room_events) & set(cooling)),
        )

    def _panels(self, m: BlocModel, prep: Any, required: frozenset[str]) -> dict[str, Panel]:
        """The panels of the seats that must decide in the open round, each made once a round."""
        panels: dict[str, Panel] = {}
        if prep is not None:
            cache = {k: p for k, p in self.panels.items() if k[0] == prep.round}
            for s in required:
                if (prep.round, s) not in cache:
                    cache[(prep.round, s)] = panel(m, s, prep)
                panels[s] = cache[(prep.round, s)]
            self.panels = cache
        return panels

    def _idle_words(self, room: RoomState, r: int, seat: str) -> tuple[str, dict[str, Any]]:
        """`idle_words`, made once a round (and again when the room forgets them)."""
        key = (id(room.model), r, seat)
        if key not in self.idle:
            self.idle = {k: x for k, x in self.idle.items() if k[:2] == key[:2]}
            self.idle[key] = idle_words(room.model, room.names, room.room_events, seat)
        return self.idle[key]


def seat_states(
    room: RoomState, required: frozenset[str], pending: Mapping[str, str], undecided: set[str]
) -> tuple[SeatState, ...]:
    """Every seat of the room as the pages show it, in the room's order.

    Parameters
    ----------
    room : RoomState
        The room (`negotiation.rooms.workshop.Room`).
    required : frozenset of str
        The seats a person must decide for in the open round.
    pending : mapping of str to str
        Seats changing hands from the next round: seat -> "person" or "agent".
    undecided : set of str
        The seats the open round still waits for (`BlocModel.awaiting`).

    Returns
    -------
    tuple of SeatState
        One per seat: who holds it, who plays it, whether it must decide and has, its latest
        decision this round.
    """
    m = room.model
    latest: dict[str, dict[str, Any]] = {}
    for act in room.actions:
        if act["kind"] == "submit" and act["round"] == m.round + 1 and not act.get("withdrawn"):
            latest[act["seat"]] = act
    seats = []
    members = m.members
    for s in room.seats:
        team = room.holders[s]
        person = person_plays(m, s) if room.phase != LOBBY else bool(team)
        how = pending.get(s)
        must = s in required
        act = latest.get(s) if must else None
        seats.append(
            SeatState(
                seat=s,
                name=room.names[s],
                role="supplier" if s == m.supplier_id else "country",
                holders=tuple(team),
                holder_names=tuple(room.participants[x].name for x in team),
                submitter=team[0] if team else "",
                person=person,
                person_next=(how == "person") if how else person,
                required=must,
                decided=must and s not in undecided,
                decision=act["decision"] if act else None,
                decided_by=act["participant"] if act else "",
                member=s in members,
            )
        )
    return tuple(seats)


def asking_back(room_events: Iterable[RoomEvent]) -> set[str]:
    """The seats whose people asked to be invited back and were not invited back since.

    Parameters
    ----------
    room_events : iterable of RoomEvent
        The room's events, oldest first.

    Returns
    -------
    set of str
        The seats.
    """
    asked = set()
    for e in room_events:
        if e.kind == "ask_back":
            asked.add(e.seat)
        elif e.kind == "invite_back":
            asked.discard(e.seat)
    return asked


def idle_words(
    m: BlocModel, names: Mapping[str, str], room_events: Iterable[RoomEvent], seat: str
) -> tuple[str, dict[str, Any]]:
    """For a country seat outside the bloc that the open round does not ask: why not, the
    round it is next invited if the members stay as they are (`BlocModel.invitation_outlook`),
    and what joining the bloc as it stands would be worth to it in this round's markets
    (`BlocModel.gain_from_joining`): what it is missing.

    Parameters
    ----------
    m : BlocModel
        The room's model.
    names : mapping of str to str
        Display names by seat.
    room_events : iterable of RoomEvent
        The room's events (the facilitator's invitations back this round count).
    seat : str
        The country's id.

    Returns
    -------
    tuple of (str, dict)
        The words ("" when the seat is not kept out) and the outlook they were made from
        (``why``, ``next``, ...: `BlocModel.invitation_outlook`).
    """
    name = names[seat]
    o = m.invitation_outlook(seat)
    r = m.round + 1
    if any(e.kind == "invite_back" and e.seat == seat and e.round == r
           for e in room_events):  # fmt: skip
        o = {**o, "why": "back", "next": r + 1}  # its new patience acts from round r + 1
    if not o["why"]:
        return "", o
    nxt = o["next"]
    if o["why"] == "back":
        why = f"the facilitator invited {name} back to the table"
        when = f"{name} is invited again from round {nxt}"
    elif o["why"] == "cooling":
        p = o["patience"]
        why = (
            f"{name} left the bloc in round {o['left']}, and a country that leaves is not "
            f"invited back for {p} round{'s' if p != 1 else ''}"
        )
        when = f"{name} is next invited in round {nxt}" if nxt else ""
    elif o["why"] == "tabled":
        why = (
            f"{names.get(o['convener'], o['convener'])} tabled this round's package without {name}"
        )
        when = f"{name} is asked again in round {nxt}" if nxt else ""
    elif o["why"] == "list":
        why = f"{names.get(o['convener'], o['convener'])} drew up its table without {name}"
        when = f"it draws it up again in round {nxt}, and may invite {name} then" if nxt else ""
    else:
        table = f" (the {o['table']} talks)" if o["table"] else ""
        why = f"no table {name} sits at has opened yet{table}"
        when = f"{name} is first invited in round {nxt}" if nxt else ""
    if not when:
        when = f"{name} is not invited again before the session ends (round {m.rounds})"
    gain = m.gain_from_joining(seat)
    total = sum(gain.values())
    moved = sorted(gain.items(), key=lambda kv: abs(kv[1]), reverse=True)
    items = ", ".join(f"{COMPONENT_LABELS[c]} {money(x)}" for c, x in moved[:3] if abs(x) >= 5e5)
    worth = (
        f"joining the bloc as it stands would be worth {money(total)} a year to {name} in "
        f"this round's markets" + (f" ({items})" if items else "")
    )
    missing = (
        f"What {name} is missing: {worth}." if total > 0 else f"Staying out pays for now: {worth}."
    )
    return f"{why[:1].upper()}{why[1:]}: {when}. {missing}", o


def panel(m: BlocModel, seat: str, prep: Any) -> Panel:
    """What a seat that must decide in the open round sees (`Panel`).

    Parameters
    ----------
    m : BlocModel
        The room's model.
    seat : str
        A seat that must decide this round.
    prep : object
        The open round, as the model prepared it (`BlocModel.prepare_round`): its members and
        each country's view of the package it is offered.

    Returns
    -------
    Panel
        The package on the table and the seat's forecasts (the supplier's: the bloc's terms).
    """
    if seat == m.supplier_id:
        return Panel(
            seat=seat,
            kind="supplier",
            round=prep.round,
            proposer="",
            members=tuple(sorted(prep.members)),
            floors={x: float(f) for x, f in zip(m.minerals, m.floors)},
            instrument=m.instrument.value,
            penalty=float(m.penalty),
            cost_sharing=sharing_words(m.cost_sharing),
            accept={},
            reject={},
            by_scale={},
            partners=tuple(sorted(m.partners)),
            offtake_share=float(m.offtake_share),
            offtake_shares=tuple(m.own_contracts.items()),
            tablings=prep.tablings,
        )
    v = prep.views[seat]
    pkg = v.package
    tabling = m.tabling(seat) if seat in prep.members else None
    return Panel(
        seat=seat,
        kind="stay" if seat in prep.members else "invite",
        round=prep.round,
        proposer=pkg.proposer,
        members=tuple(a for a in m.countries if a in pkg.members),
        floors={x: float(f) for x, f in zip(m.minerals, pkg.floors)},
        instrument=pkg.instrument.value,
        penalty=float(pkg.penalty),
        cost_sharing=sharing_words(m.cost_sharing),
        accept=dict(v.outcomes.get("accept", {})),
        reject=dict(v.outcomes.get("reject", {})),
        by_scale={float(k): float(r.total) for k, r in sorted(v.gains.items())},
        elapsed=int(v.elapsed),
        deadline=v.deadline,
        sharing_key=m.cost_sharing if isinstance(m.cost_sharing, str) else "",
        partners=tuple(sorted(m.partners)),
        offtake_share=float(m.offtake_share),
        offtake_shares=tuple(m.own_contracts.items()),
        table_minerals=tuple(x for x in m.minerals if x in (prep.scopes.get(seat) or ())),
        table=m.invitation_table(seat, prep.round) if prep.scopes.get(seat) else "",
        contract_table=tuple((a, float(x)) for a, x in sorted(m.offtake_shares.items())),
        proposes=tabling is not None,
        invitees=tuple(a for a in m.countries if tabling and a in tabling["invitees"]),
        tabled=bool(tabling and tabling["tabled"]),
        offtake_candidates=tuple(
            a
            for a in m.countries
            if tabling
            and (
                a in m.partners
                or (a != seat and a not in pkg.members and m.capacity[m.index[a]].any())
            )
        ),
        tablings=prep.tablings,
    )

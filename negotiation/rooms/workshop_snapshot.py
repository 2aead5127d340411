"""What the pages render: a room at one moment (`RoomSnapshot`), copied under the room's lock,
with the seats (`SeatState`), each deciding seat's proposal and forecasts (`Panel`), what never
changes in a room (`RoomInfo`) and the counter-proposals a person may pick (`CounterChoice`).

Snapshots are immutable: a page renders from one, never from the room (see
`negotiation.rooms.workshop_live` for when a page gets a new one).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from negotiation.rooms.workshop_common import (
    OVER,
    ROSTER_EVENTS,
    Participant,
    RoomEvent,
    Settings,
    story_key,
    told_lever,
)
from negotiation.rules.protocol import RULE_WORDS


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
    said = ", ".join(f"{name} {'yes' if yes else 'no'}" for name, yes in answers)
    outcome = (
        "it would be agreed, and you would join on these terms"
        if agreed
        else "it would be refused, and nothing would change"
    )
    return f"{rule[:1].upper()}{rule[1:]}: {said}: {outcome}."


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
    #: (`Room._idle_words`)
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

"""Workshop rooms: people take the seats of a run, decide each round, and the room keeps the record.

Pure Python (no Solara): the Solara pages in `negotiation/workshop_app.py` only render a room's
snapshots and call its methods. A room is the one place where state is shared between browser
sessions, so every method takes the room's lock, and every change bumps a version that the pages
wait on (`Room.wait`) to re-render at once.

- A facilitator creates a room on a scenario (`Workshop.create`) and gets a join code (6
  characters of Crockford's base32 alphabet, drawn with `secrets`) and a secret facilitator key.
- A participant joins with a display name and gets a secret token (`secrets.token_urlsafe`);
  every later call carries the token, and the room checks it: only the seat's submitter can
  decide for a seat. Rejoining with the token gives the seat back.
- Seats taken before the facilitator starts are played by people from round 1; a seat taken
  (or given back) later changes hands from the next round, through `BlocModel.set_levers
  (strategies=...)`, so the engine has no special case: a person is the `human` strategy.
- Several people may share a seat as a team; one of them (the first, or whom the facilitator
  picks) submits.
- The round is played when every seat played by a person that must decide has decided; the
  facilitator can force it (an agent answers for silent seats), pause, extend the timer; when
  the optional round timer runs out the room forces the round.
- The record (`Room.record`) lists every engine call in order (seat changes, lever changes,
  decisions with seat, person and time, rounds played) with each round's outcome; `replay`
  makes the same calls on a new model with the same seed and gets the same records.

What a server exposed to a venue's network must hold (issue 14): a page opens a room only with
the facilitator secret (`Workshop.open_room`), names scenarios and never files
(`Workshop.scenario`; a facilitator may upload a file, `scenario_from_upload`); rooms, people
per room, joins, one-person rooms and wrong secrets are capped or rate-limited per browser
(`RateLimit`); a decision carries the round it was made for and is refused once that round has
closed (`Room.submit`); every number a participant sends is bounded (`_check_decision`); names
are cleaned and unique (`clean_name`, `name_key`); CSV exports neutralise formulas
(`spreadsheet_csv`); the facilitator can bar a participant and lock the seats.

The facilitator's toolkit (issue 14): lock a seat (`Room.lock_seat`: nobody new takes it, its
people keep it) and seat a named participant (`Room.seat_person`); a message to the room
(`Room.announce`, on every page); a practice reset to round 0 keeping the seats
(`Room.reset_practice`, the practice kept apart in the record); and a round closed by the
facilitator or the timer is told in the narrative with each silent seat and what was done for
it (R2, `Room._closed_text`).

What people see (a facilitator's review, U1-U5 and S9): a seat that left the bloc is told
when it is invited back and what joining would be worth to it now (`RoomSnapshot.idle`), asks
the facilitator to invite it back (`Room.ask_back`), who may (`Room.invite_back`, its
patience lever); the facilitator replaces a participant's private link (`Room.new_link`: a
link is a bearer credential) and sees each participant's devices; a room event keeps its place
among the engine's (`RoomEvent.after`, `story_key`), so that every view tells a round in the
order things happened.

A room survives a restart of the server (issue 14, R1): a Workshop with a `state_dir` saves
each room's state (`Room.state`: its record, which replays the model, and what the record
leaves out: tokens, the facilitator key, teams, the open round's pending seats) to
`room-CODE.json` there, atomically and readable by the owner only, whenever the room changes;
`Workshop.resume` brings the rooms back (`Room.from_state`) with the same code, links, seats,
round and decisions.
"""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import json
import math
import os
import re
import secrets
import sys
import tempfile
import threading
import time
import tomllib
import unicodedata
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from agents import make_strategy
from agents.base import Strategy
from negotiation.bargaining_space import bargaining_space
from negotiation.model import BlocModel
from negotiation.protocol import RULE_WORDS
from negotiation.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_names,
    scenario_to_dict,
    validate,
)
from negotiation.types import (
    COMPONENT_LABELS,
    Action,
    Decision,
    Reason,
    SupplierAction,
    SupplierMove,
    money,
)

#: Crockford's base32: digits and capitals without I, L, O and U (no look-alikes).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 6
#: A person's seat, by role: the engine's strategies whose decisions come from the app.
PERSON = {"country": "human", "supplier": "human-supplier"}
RECORD_FORMAT = "bloc-workshop-session"
RECORD_VERSION = 1
#: A room's saved state (`Room.state`), for resuming it after a restart.
STATE_FORMAT = "bloc-workshop-room-state"
STATE_VERSION = 1
#: Rooms a server holds at most: rooms facilitators opened, and one-person rooms (which
#: anyone may open from /solo; counted apart, so that they never crowd out a facilitator).
MAX_ROOMS = 50
MAX_SOLO_ROOMS = 200
#: Seconds without an open page after which a room may be forgotten to make space for a new
#: one (a one-person room; a facilitator's room). A room that is over may always be.
SOLO_IDLE, ROOM_IDLE = 600.0, 6 * 3600.0
#: People in a room at most (not counting those the facilitator removed), and joins a room
#: takes at most in all (removed people included: a bound on its memory).
MAX_PARTICIPANTS = 60
MAX_JOINS = 2 * MAX_PARTICIPANTS
#: Joins one browser may make in one room, and one-person rooms one browser may open, per
#: window of seconds; wrong facilitator secrets one browser may try per window.
JOINS_PER_BROWSER, JOIN_WINDOW = 3, 600.0
SOLO_ROOMS_PER_BROWSER, SOLO_WINDOW = 5, 600.0
SECRET_TRIES_PER_BROWSER, SECRET_WINDOW = 5, 60.0
#: Room codes that match no room one browser may try per window of seconds (32**6 codes: a
#: lockout makes guessing one hopeless rather than merely slow).
CODE_MISSES_PER_BROWSER, CODE_MISS_WINDOW = 10, 600.0
#: A scenario file a facilitator uploads has at most this many bytes.
MAX_UPLOAD_BYTES = 64 * 1024
#: A facilitator secret chosen by the operator has at least this many characters.
MIN_SECRET = 12
#: Room events that are about the roster, not the game: kept in the record, left out of the
#: story participants and the projector read (forty "joined" lines would push every game
#: event out of view).
ROSTER_EVENTS = frozenset({"joined_room", "seat_lock", "link"})
MAX_NAME = 40
#: A facilitator's message to the room has at most this many characters.
MAX_MESSAGE = 300
#: Bounds on the numbers a participant sends: a counter-proposal's floor, in multiples of the
#: mineral's reference price; its outsider penalty (2 = 200 %); a side offer, USD a year.
MAX_FLOOR_MULTIPLE = 10
MAX_PENALTY = 2.0
MAX_SIDE_OFFER = 100e9

LOBBY, RUNNING, OVER = "lobby", "running", "over"
#: How a round closed (`Room.closed`) when nobody waited for every seat, in the narrative's
#: words (R2: such a round is marked, with the default taken for each silent seat).
CLOSED_WORDS = {
    "forced by the facilitator": "was closed by the facilitator (Play the round now)",
    "time up": "closed when its time ran out",
}
SUPPLIER_MOVE_WORDS = {
    "normal": "sold normally",
    "flood": "flooded a market",
    "export_controls": "put on export controls",
    "side_offer": "made a side offer",
}


SEATS_LOCKED = "The facilitator has locked the seats: ask them for one."
REPLACED_LINK = (
    "This private link was replaced by the facilitator and no longer works: ask them for "
    "your new one."
)


def told_lever(text: str) -> bool:
    """Whether a lever event of the engine is told in a room's story: not a seat changing
    hands (the room tells it in its own words), nor a lever set to the value it had (the
    engine's "Lever set: ... unchanged", as when a slider went and came back in a round)."""
    return "strateg" not in text and not text.startswith("Lever set:")


def seat_locked(name: str, holders: Iterable[str] = ()) -> str:
    """The refusal for a seat the facilitator locked (`Room.lock_seat`), naming whom it is
    kept for."""
    holders = list(holders)
    kept = f" (it is kept for {', '.join(holders)})" if holders else ""
    return f"The facilitator has locked {name}'s seat{kept}: choose another seat or ask them."


class WorkshopError(ValueError):
    """A request the room cannot grant; the message is for the person who made it."""


class Refused(WorkshopError):
    """The caller has no right to do this (unknown token, someone else's seat, not the
    facilitator)."""


class RoomNotFound(WorkshopError):
    pass


class RateLimit:
    """At most `count` events per `window` seconds for each key (a browser, or a browser in a
    room). Thread-safe; an empty key (a caller inside the server, not a browser) is never
    limited."""

    def __init__(self, count: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.count = count
        self.window = window
        self.clock = clock
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._times.setdefault(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(self._times) > 10_000:  # forget browsers gone quiet (bounds the memory)
            for k in [k for k, q in self._times.items() if not q or now - q[-1] >= self.window]:
                if k != key:
                    del self._times[k]
        return times

    def blocked(self, key: str) -> bool:
        """Whether `key` has used up its events in the current window."""
        if not key:
            return False
        with self._lock:
            return len(self._recent(key, self.clock())) >= self.count

    def hit(self, key: str) -> None:
        """Count one event for `key`."""
        if key:
            with self._lock:
                now = self.clock()
                self._recent(key, now).append(now)

    def allow(self, key: str) -> bool:
        """Count one event for `key` if it has any left in the window; whether it had."""
        if not key:
            return True
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)
            if len(times) >= self.count:
                return False
            times.append(now)
            return True


def new_code(taken: Iterable[str] = (), length: int = CODE_LENGTH) -> str:
    """A join code: `length` characters drawn with `secrets` from the 32-character alphabet
    (32**6, about a billion, codes for 6), never one in `taken`."""
    if not 6 <= length <= 8:
        raise ValueError("join codes have 6 to 8 characters")
    taken = set(taken)
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(length))
        if code not in taken:
            return code


def normalize_code(text: str) -> str:
    """What a person typed, as a code: upper case, without spaces or dashes, and Crockford's
    look-alikes read as digits (O -> 0, I and L -> 1)."""
    text = "".join(ch for ch in str(text).upper() if ch not in " -_\t")
    return text.translate(str.maketrans("OIL", "011"))


def _finite(x: Any) -> bool:
    """Whether `x` is a finite number (not a bool, a string, NaN or an infinity)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


#: Unicode categories taken out of names: controls, format characters (zero-width spaces and
#: joiners, bidi overrides such as U+202E, which reversed the rest of every line a name was
#: in), private use, surrogates and unassigned code points.
NAME_STRIPPED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})


def clean_name(raw: Any) -> str:
    """A display name as the room keeps and shows it: Unicode NFKC (full-width letters and
    compatibility forms become plain ones), without control or format characters, spaces
    collapsed, at most MAX_NAME characters. "" if nothing is left."""
    return clean_text(raw, MAX_NAME)


def clean_text(raw: Any, limit: int) -> str:
    """A line of text from a person (a facilitator's message) as the room keeps it: as
    `clean_name`, at most `limit` characters."""
    text = unicodedata.normalize("NFKC", str(raw))
    text = "".join(
        " " if unicodedata.category(ch) in ("Zl", "Zp") else ch
        for ch in text
        if unicodedata.category(ch) not in NAME_STRIPPED_CATEGORIES
    )
    return " ".join(text.split())[:limit].strip()


def name_key(name: str) -> str:
    """What two names must not share in a room: the cleaned name, case folded (so "Bob", "BOB",
    "Ｂｏｂ" and "Bob" with a zero-width space are one name)."""
    return unicodedata.normalize("NFKC", clean_name(name).casefold())


def scenario_from_upload(data: bytes) -> Scenario:
    """A scenario from a file a facilitator uploaded: at most MAX_UPLOAD_BYTES of UTF-8 TOML,
    validated like any scenario, and whole (an `extends` would name a file of the server's).
    Errors quote the uploaded file only."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise WorkshopError(f"A scenario file has at most {MAX_UPLOAD_BYTES // 1024} KB.")
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise WorkshopError(f"The uploaded file is not TOML text: {e}") from None
    if "extends" in raw:
        raise WorkshopError("An uploaded scenario cannot extend another: upload it whole.")
    try:
        return validate(raw, "the uploaded file")
    except ScenarioError as e:
        raise WorkshopError("\n".join(e.problems)) from None


def now_iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


# ----------------------------------------------------------------------------------------------
# Decisions as data (for the record and replays)


def encode_decision(d: Decision | SupplierMove) -> dict[str, Any]:
    if isinstance(d, SupplierMove):
        return {
            "type": "move",
            "action": d.action.value,
            "minerals": list(d.minerals),
            "intensity": float(d.intensity),
            "target": d.target,
            "offer": float(d.offer),
        }
    return {
        "type": "decision",
        "action": d.action.value,
        "counter_scale": float(d.counter_scale),
        "note": d.note,
        "terms": copy.deepcopy(d.terms) if d.terms else None,
    }


def decode_decision(data: Mapping[str, Any]) -> Decision | SupplierMove:
    if data.get("type") == "move":
        return SupplierMove(
            SupplierAction(data["action"]),
            tuple(data.get("minerals") or ()),
            float(data.get("intensity", 0.0)),
            str(data.get("target") or ""),
            float(data.get("offer", 0.0)),
        )
    return Decision(
        Action(data["action"]),
        Reason({}),
        float(data.get("counter_scale", 1.0)),
        str(data.get("note") or ""),
        copy.deepcopy(data.get("terms")) or None,
    )


def describe_decision(
    d: Mapping[str, Any], names: Mapping[str, str] | None = None, member: bool = False
) -> str:
    """Plain words for a recorded decision, with display names for the ids in `names`
    (minerals, a side offer's target): "accept the package", "stay in the bloc" (`member`: the
    seat was a member, asked whether it stays), "counter-propose: Rare earths $60,000/t;
    outsider penalty 10%", "side offer to Japan: $1.00bn a year"."""
    names = names or {}

    def mineral(m: str) -> str:
        return names.get(m, m).split(" (")[0]

    if d.get("type") == "move":
        action = d["action"]
        minerals = ", ".join(mineral(m) for m in d.get("minerals") or ())
        if action == "flood":
            return f"flood {minerals} ({d.get('intensity', 0):.0%})"
        if action == "export_controls":
            return f"export controls on {minerals} ({d.get('intensity', 0):.0%})"
        if action == "side_offer":
            target = names.get(d.get("target", ""), d.get("target", ""))
            return f"side offer to {target}: ${d.get('offer', 0) / 1e9:.2f}bn a year"
        return "sell normally"
    action = d["action"]
    if action == "accept":
        return "stay in the bloc" if member else "accept the package"
    if action == "reject":
        return "leave the bloc" if member else "reject the package"
    if action != "counter":
        return str(action)
    terms = d.get("terms") or {}
    parts = [
        f"{mineral(m)} " + (f"${f:,.0f}/t" if f > 0 else "no floor")
        for m, f in (terms.get("floors") or {}).items()
    ]
    if "penalty" in terms:
        parts.append(f"outsider penalty {float(terms['penalty']):.0%}")
    if "cost_sharing" in terms:
        parts.append(f"floor support shared {_sharing_words(terms['cost_sharing'])}")
    if not parts:
        return f"counter-propose floors x{d.get('counter_scale', 1):g}"
    return "counter-propose: " + "; ".join(parts)


# ----------------------------------------------------------------------------------------------
# Engine calls: one code path for the live room and for replays


def person_strategy(role: str) -> str:
    return PERSON[role]


def agent_strategies(model: BlocModel, sc: Scenario) -> dict[str, Strategy]:
    """The agent that plays each seat when no person does: the model's own strategy object where
    an agent opened the seat, else a new one built from the scenario (the same in a replay)."""
    out: dict[str, Strategy] = {}
    for a, ag in model.country_agents.items():
        if ag.strategy.classifier.get("human"):
            prof = sc.actors[a]
            out[a] = make_strategy(prof.strategy, "country", **prof.strategy_params)
        else:
            out[a] = ag.strategy
    sup = model.supplier_agent.strategy
    out[model.supplier_id] = (
        make_strategy(sc.supplier.strategy, "supplier") if sup.classifier.get("human") else sup
    )
    return out


def build_model(
    sc: Scenario, seed: int, rounds: int | None, people: Iterable[str], levers: Mapping[str, Any]
) -> tuple[BlocModel, dict[str, Strategy]]:
    """A model with the seats in `people` played by persons from round 1, and round 1 opened."""
    people = set(people)
    strategies = {a: PERSON["country"] for a in sc.country_ids if a in people}
    supplier = PERSON["supplier"] if sc.supplier.actor in people else None
    model = BlocModel(
        sc,
        rng=seed,
        rounds=rounds,
        strategies=strategies or None,
        supplier_strategy=supplier,
        **dict(levers),
    )
    agents = agent_strategies(model, sc)
    model.prepare_round()  # open round 1 (the live room and a replay both do it here)
    return model, agents


def apply_action(model: BlocModel, agents: Mapping[str, Strategy], act: Mapping[str, Any]) -> None:
    """Make one recorded engine call."""
    kind = act["kind"]
    if kind == "seats":
        strategies: dict[str, Any] = {}
        for seat, who in act["strategies"].items():
            role = "supplier" if seat == model.supplier_id else "country"
            strategies[seat] = PERSON[role] if who == "person" else agents[seat]
        model.set_levers(strategies=strategies)
    elif kind == "levers":
        model.set_levers(**copy.deepcopy(act["changes"]))
    elif kind == "submit":
        model.submit(act["seat"], decode_decision(act["decision"]))
    elif kind == "play":
        model.play(force=bool(act["force"]))
        model.prepare_round()  # open the next round at once, as the live room does
    else:
        raise ValueError(f"unknown action {kind!r} in the session record")


# ----------------------------------------------------------------------------------------------
# People


@dataclass
class Participant:
    """A person in a room. `token` is their secret; `id` is public (shown to the facilitator)."""

    id: str
    name: str
    token: str = field(repr=False)
    joined: float
    seat: str | None = None
    removed: bool = False
    sessions: int = 0  # browser pages open now
    last_seen: float = 0.0  # when a page of theirs last opened or closed, or they last acted
    devices: int = 0  # browsers with a page open now (S9: more than one may be someone else)
    client: str = field(default="", repr=False)  # the browser that joined (server side only)


@dataclass(frozen=True)
class Settings:
    """What the facilitator chooses: whether participants see others' decisions before the
    round closes, a round timer (seconds, None for none), whether teams may share a seat, and
    whether the seats are locked (then only the facilitator assigns them, `Room.assign`)."""

    show_decisions: bool = False
    timer_seconds: float | None = None
    teams: bool = True
    seats_locked: bool = False


# ----------------------------------------------------------------------------------------------
# What the pages render: immutable snapshots


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


@dataclass(frozen=True)
class RoomEvent:
    round: int
    kind: str
    text: str
    time: float
    seat: str = ""
    #: how many of the engine's events had been told when this one happened (its place among
    #: them: `story_key`); None in rooms saved before it was kept
    after: int | None = None


#: Room events that come after the engine's events of their round when their place among them
#: is not known (rooms saved before `RoomEvent.after`): a round's close and the session's end.
_CLOSING_KINDS = frozenset({"closed", "over"})


def story_key(
    r: int, n: int, room: bool = False, kind: str = "", after: int | None = None
) -> tuple[int, int, int, int]:
    """Where an event goes in a room's story, oldest first: by round, then in the order things
    happened within the round. The engine's event number `n` of round `r`; or (`room`) the
    room's event number `n`, told when `after` of the engine's events had been (it goes before
    the engine's event number `after`)."""
    if not room:
        return (r, n, 1, 0)
    if after is None:  # not known: before the round's play, but a close and the end after it
        after = 1 << 60 if kind in _CLOSING_KINDS else -1
    return (r, after, 0, n)


@dataclass(frozen=True, eq=False)
class RoomInfo:
    """What never changes in a room (one object per room, so pages can pass it around
    cheaply): seat and mineral names, and the agreement rule in words ("every member must
    agree": who decides a counter-proposal, `negotiation.protocol`)."""

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
# A room


class Room:
    """One session: a model, its seats and people, and the record. Thread-safe."""

    def __init__(
        self,
        code: str,
        scenario: str | Scenario = DEFAULT_SCENARIO,
        *,
        seed: int | None = None,
        rounds: int | None = None,
        settings: Settings | None = None,
        levers: Mapping[str, Any] | None = None,
        solo: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.code = code
        self.config = sc
        self.scenario = sc.meta.name
        self.seed = int(seed) if seed is not None else (sc.seed if sc.seed is not None else 0)
        if self.seed < 0:
            raise WorkshopError(f"the seed must be a non-negative integer (got {self.seed})")
        self.rounds_requested = rounds
        self.levers = dict(levers or {})
        self.settings = settings or Settings()
        self.solo = solo
        self.clock = clock
        self.created = clock()
        self.admin_token = secrets.token_urlsafe(16)
        self.seats: tuple[str, ...] = (*sc.country_ids, sc.supplier.actor)
        self.names = {a: sc.actors[a].name for a in sc.actor_ids}
        self.info = RoomInfo(
            names=dict(self.names),
            minerals=tuple(sc.mineral_ids),
            mineral_names={x: sc.minerals[x].name for x in sc.mineral_ids},
            countries=tuple(sc.country_ids),
            supplier=sc.supplier.actor,
            agreement=RULE_WORDS[sc.agenda.agreement],
        )
        self._panels: dict[tuple[int, str], Panel] = {}  # the open round's, kept across versions
        #: (model, round, seat) -> `_idle_words`
        self._idle: dict[tuple[int, int, str], tuple[str, dict[str, Any]]] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.version = 0
        self.public_version = 0
        #: public changes so far: a Workshop with a state directory saves the room when it moves
        self.changes = 0
        self._snap: RoomSnapshot | None = None
        self._tables: tuple[tuple[int, int], dict[str, pd.DataFrame]] | None = None
        self._round_memo: tuple[Any, dict] = (None, {})  # (records' key, RoomSnapshot.round_memo)
        self._bargaining: tuple[BlocModel, int, pd.DataFrame] | None = None  # `bargaining`
        self.participants: dict[str, Participant] = {}  # by id
        self._by_token: dict[str, Participant] = {}
        self.holders: dict[str, list[str]] = {s: [] for s in self.seats}  # submitter first
        self.phase = LOBBY
        self.paused = False
        self.deadline: float | None = None
        self._paused_left: float | None = None
        self.actions: list[dict[str, Any]] = []
        self.room_events: list[RoomEvent] = []
        self.closed: dict[int, str] = {}
        self._opening: tuple[str, ...] = ()
        self._joins = RateLimit(JOINS_PER_BROWSER, JOIN_WINDOW, clock)
        #: whom the facilitator barred: their browsers, and their names (`name_key`)
        self._banned_clients: set[str] = set()
        self._banned: set[str] = set()
        self._pending_seats: dict[str, str] = {}  # seat -> "person" | "agent", from next round
        #: seats the facilitator locked (`lock_seat`); the facilitator's message to the room
        #: (`announce`); practice runs reset to round 0 (`reset_practice`), as recorded
        self.locked_seats: set[str] = set()
        #: S9: the browsers each participant has pages open in (pid -> client -> pages), the
        #: number of times their link was replaced, and the tokens replaced (-> pid)
        self._pages: dict[str, dict[str, int]] = {}
        self._page_ids = itertools.count(1)
        self._link_gen: dict[str, int] = {}
        self._revoked: dict[str, str] = {}
        self.message = ""
        self.practice: list[dict[str, Any]] = []
        self._required: frozenset[str] = frozenset()
        self._engine_calls = 0
        # A model to show the table before the start; rebuilt with the people's seats at start.
        self.model, self.agents = build_model(sc, self.seed, rounds, (), self.levers)
        self.rounds = self.model.rounds

    # ------------------------------------------------------------------------------------------
    # Notification

    def _touch(self, public: bool = True) -> None:
        """Something changed: new version; wake every page waiting on the room."""
        self.version += 1
        if public:
            self.public_version += 1
            self.changes += 1
        self._snap = None
        self._changed.notify_all()

    def wait(self, version: int, timeout: float = 1.0, public: bool = False) -> RoomSnapshot:
        """The room's snapshot once its version (or public version) differs from `version`, or
        after `timeout` seconds."""
        with self._changed:
            attr = "public_version" if public else "version"
            self._changed.wait_for(lambda: getattr(self, attr) != version, timeout)
            return self.snapshot()

    def _event(self, kind: str, text: str, seat: str = "") -> None:
        r = self.model.round if self.phase == OVER else self.model.round + 1
        if self.phase == LOBBY:
            r = 0
        after = self.model.event_count
        self.room_events.append(RoomEvent(r, kind, text, self.clock(), seat, after))

    # ------------------------------------------------------------------------------------------
    # Who is who

    def _person(self, token: str) -> Participant:
        p = self._by_token.get(token) if isinstance(token, str) else None
        if p is None:
            if isinstance(token, str) and token in self._revoked:
                raise Refused(REPLACED_LINK)
            raise Refused("This link is not valid in this room: join again with your name.")
        if p.removed:
            raise Refused("The facilitator removed you from this room.")
        p.last_seen = self.clock()
        return p

    def replaced(self, token: str) -> bool:
        """Whether `token` was a private link the facilitator replaced (`new_link`)."""
        with self._lock:
            return isinstance(token, str) and token in self._revoked

    def new_link(self, key: str, pid: str) -> Participant:
        """The facilitator gives a participant a new private link (S9: a link is a bearer
        credential, and one open on a device that is not theirs acts as them): a new token;
        the old one stops working at once (its open pages say the link was replaced), and the
        participant keeps their seat and team. The participant, with the new token."""
        with self._lock:
            self._admin(key)
            p = self.participants.get(pid)
            if p is None or p.removed:
                raise WorkshopError("No such participant.")
            old = p.token
            del self._by_token[old]
            self._revoked[old] = p.id
            p.token = secrets.token_urlsafe(16)
            self._by_token[p.token] = p
            # The pages open on the old link count no more (their closing changes nothing).
            self._pages[p.id] = {}
            self._link_gen[p.id] = self._link_gen.get(p.id, 0) + 1
            p.sessions = p.devices = 0
            self._event("link", f"The facilitator gave {p.name} a new private link")
            self._touch()
            return replace(p)

    def _admin(self, key: str) -> None:
        if not (isinstance(key, str) and secrets.compare_digest(key, self.admin_token)):
            raise Refused("Only the facilitator can do this.")

    def check_admin(self, key: str) -> bool:
        try:
            self._admin(key)
        except Refused:
            return False
        return True

    def join(self, name: str, client: str = "") -> Participant:
        """A new participant, with a secret token; names are unique in a room. `client` is
        the browser asking (its session id; "" from inside the server): a browser joins at
        most JOINS_PER_BROWSER times per JOIN_WINDOW seconds, and a room takes at most
        MAX_PARTICIPANTS people."""
        name = clean_name(name)
        if not name:
            raise WorkshopError("Give a display name to join.")
        with self._lock:
            if self.solo and self.participants:
                raise Refused("This is a one-person room.")
            active = sum(not p.removed for p in self.participants.values())
            if active >= MAX_PARTICIPANTS or len(self.participants) >= MAX_JOINS:
                raise Refused(
                    f"This room is full ({MAX_PARTICIPANTS} people): ask the facilitator."
                )
            if (client and client in self._banned_clients) or name_key(name) in self._banned:
                raise Refused("The facilitator has barred you from this room.")
            if self._joins.blocked(client):
                raise Refused(
                    "This browser has joined this room too many times in the last minutes: "
                    "wait a while, or ask the facilitator for your private link."
                )
            taken = {name_key(p.name) for p in self.participants.values() if not p.removed}
            if name_key(name) in taken:
                raise WorkshopError(
                    f"Someone called {name!r} is already in the room: pick another name (or, "
                    "if it is you, open the link you got when you joined)."
                )
            pid = f"p{len(self.participants) + 1}"
            token = secrets.token_urlsafe(16)
            p = Participant(pid, name, token, self.clock(), last_seen=self.clock(), client=client)
            self.participants[pid] = p
            self._by_token[token] = p
            self._joins.hit(client)
            self._event("joined_room", f"{name} joined the room")
            self._touch()
            return p

    def participant(self, token: str) -> Participant:
        with self._lock:
            return replace(self._person(token))

    def claim(self, token: str, seat: str) -> Participant:
        """Take `seat`: a free seat makes you its submitter; a held one adds you to its team
        (if teams are allowed). Claimed before the start, a person plays it from round 1;
        later, from the next round. Refused while the facilitator has locked the seats."""
        with self._lock:
            p = self._person(token)
            if self.settings.seats_locked and p.seat != seat:
                raise Refused(SEATS_LOCKED)
            if seat in self.locked_seats and p.id not in self.holders.get(seat, ()):
                raise Refused(self.locked_refusal(seat))
            return self._claim(p, seat)

    def locked_refusal(self, seat: str) -> str:
        """Why a person who does not hold `seat` cannot take it: it is locked."""
        with self._lock:
            names = [self.participants[x].name for x in self.holders.get(seat, ())]
            return seat_locked(self.names.get(seat, seat), names)

    def lock_seat(self, key: str, seat: str, locked: bool = True) -> None:
        """The facilitator locks `seat` (nobody new takes it, and its people cannot give it up;
        the facilitator still assigns it, `assign`) or unlocks it."""
        with self._lock:
            self._admin(key)
            if seat not in self.seats:
                raise WorkshopError(f"There is no seat {seat!r} in this room.")
            if locked == (seat in self.locked_seats):
                return
            if locked:
                self.locked_seats.add(seat)
            else:
                self.locked_seats.discard(seat)
            what = "locked" if locked else "unlocked"
            self._event("seat_lock", f"The facilitator {what} {self.names[seat]}'s seat", seat)
            self._touch()

    def seat_person(self, key: str, name: str, seat: str, lock: bool = True) -> Participant:
        """The facilitator seats a named participant: a new participant called `name` in
        `seat` (locked, with `lock`, so that nobody else takes it). The facilitator hands them
        their private link (the participant's token), as for anyone who joined."""
        with self._lock:
            self._admin(key)
            self._seat_open(seat)  # before the participant exists: a refusal leaves nobody
            p = self.join(name)
            self._claim(self.participants[p.id], seat)
            if lock:
                self.lock_seat(key, seat, True)
            return replace(self.participants[p.id])

    def assign(self, key: str, pid: str, seat: str | None) -> None:
        """The facilitator puts a participant in `seat` (None: takes them off their seat),
        locked seats or not."""
        with self._lock:
            self._admin(key)
            p = self.participants.get(pid)
            if p is None or p.removed:
                raise WorkshopError("No such participant.")
            if seat is None:
                if p.seat is not None:
                    self._leave_seat(p)
                    self._touch()
                    self._advance()
                return
            self._claim(p, seat)

    def _seat_open(self, seat: str) -> list[str]:
        """The seat's team, if one more may take the seat; else WorkshopError saying why."""
        if seat not in self.seats:
            raise WorkshopError(f"There is no seat {seat!r} in this room.")
        if self.phase == OVER:
            raise WorkshopError("The session is over.")
        team = self.holders[seat]
        if team and not self.settings.teams:
            holder = self.participants[team[0]].name
            raise WorkshopError(f"{holder} holds {self.names[seat]}'s seat.")
        return team

    def _claim(self, p: Participant, seat: str) -> Participant:
        with self._lock:
            if seat not in self.seats:
                raise WorkshopError(f"There is no seat {seat!r} in this room.")
            if p.seat == seat:
                return replace(p)
            team = self._seat_open(seat)
            if p.seat is not None:
                self._leave_seat(p)
            team.append(p.id)
            p.seat = seat
            if len(team) == 1:
                self._seat_to(seat, "person")
                when = self._when()
                self._event("seat", f"{p.name} took {self.names[seat]}'s seat{when}", seat)
            else:
                lead = self.participants[team[0]].name
                self._event(
                    "seat", f"{p.name} joined {self.names[seat]}'s team ({lead} submits)", seat
                )
            self._touch()
            self._advance()
            return replace(p)

    def release(self, token: str) -> None:
        """Give your seat back (you stay in the room, watching); not while the seats are
        locked."""
        with self._lock:
            p = self._person(token)
            if p.seat is None:
                return
            if self.settings.seats_locked:
                raise Refused(SEATS_LOCKED)
            if p.seat in self.locked_seats:
                raise Refused(
                    f"The facilitator has locked {self.names[p.seat]}'s seat: it stays yours."
                )
            self._leave_seat(p)
            self._touch()
            self._advance()

    def remove(self, key: str, pid: str, ban: bool = False) -> None:
        """The facilitator removes a participant: their token stops working, and their seat
        goes to the next team member or, if none, back to an agent. With `ban`, they cannot
        join again: not from the same browser, nor under the same name."""
        with self._lock:
            self._admin(key)
            p = self.participants.get(pid)
            if p is None or (p.removed and not ban):
                raise WorkshopError("No such participant.")
            if p.seat is not None:
                self._leave_seat(p)
            p.removed = True
            if ban:
                if p.client:
                    self._banned_clients.add(p.client)
                self._banned.add(name_key(p.name))
            barred = " and barred them from the room" if ban else ""
            self._event("removed", f"The facilitator removed {p.name}{barred}")
            self._touch()
            self._advance()

    def set_submitter(self, key: str, seat: str, pid: str) -> None:
        """The facilitator picks who submits for a team."""
        with self._lock:
            self._admin(key)
            team = self.holders.get(seat, [])
            if pid not in team:
                raise WorkshopError("That participant is not on this seat's team.")
            team.remove(pid)
            team.insert(0, pid)
            name = self.participants[pid].name
            self._event("seat", f"{name} now submits for {self.names[seat]}", seat)
            self._touch()

    def _leave_seat(self, p: Participant) -> None:
        seat = p.seat
        assert seat is not None
        team = self.holders[seat]
        was_submitter = team and team[0] == p.id
        team.remove(p.id)
        p.seat = None
        if not team:
            self._seat_to(seat, "agent")
            self._event("seat", f"{p.name} left {self.names[seat]}'s seat{self._when()}", seat)
        elif was_submitter:
            lead = self.participants[team[0]].name
            self._event("seat", f"{p.name} left {self.names[seat]}'s team; {lead} submits", seat)
        else:
            self._event("seat", f"{p.name} left {self.names[seat]}'s team", seat)

    def _when(self) -> str:
        if self.phase == LOBBY:
            return ""
        return f" (from round {self.model.round + 2}; an agent plays round {self.model.round + 1})"

    def _seat_to(self, seat: str, who: str) -> None:
        """A seat goes to a person or back to an agent: at the start if not started, else from
        the next round (through the engine's strategies lever)."""
        if self.phase == LOBBY:
            return  # the model is built with the people's seats at start
        if self.phase == OVER:
            return
        now_person = self._is_person(seat)
        if (who == "person") == now_person:
            self._pending_seats.pop(seat, None)
        else:
            self._pending_seats[seat] = who
        self._call({"kind": "seats", "strategies": dict(self._pending_seats)})

    def _is_person(self, seat: str) -> bool:
        m = self.model
        strat = (
            m.supplier_agent.strategy if seat == m.supplier_id else m.country_agents[seat].strategy
        )
        return bool(strat.classifier.get("human"))

    def attach(self, token: str, client: str = "") -> Callable[[], None]:
        """A browser page of this participant opened; call the result when it closes. `client`
        is the browser (its session id): pages of one browser are one device; a page whose
        browser is not known ("") counts as a device of its own."""
        with self._lock:
            p = self._person(token)
            client = client or f"page-{next(self._page_ids)}"
            gen = self._link_gen.get(p.id, 0)
            pages = self._pages.setdefault(p.id, {})
            pages[client] = pages.get(client, 0) + 1
            p.sessions += 1
            was, p.devices = p.devices, len(pages)
            # The person's own pages say when their link is open on more than one device
            # (someone else may be acting as them): wake them when that starts or stops.
            self._touch(public=(was > 1) != (p.devices > 1))

        def detach() -> None:
            with self._lock:
                p.last_seen = self.clock()
                if self._link_gen.get(p.id, 0) != gen:
                    return  # a page of a link the facilitator replaced: it counts no more
                pages = self._pages.get(p.id, {})
                if client in pages:
                    pages[client] -= 1
                    if not pages[client]:
                        del pages[client]
                p.sessions = max(p.sessions - 1, 0)
                was, p.devices = p.devices, len(pages)
                self._touch(public=(was > 1) != (p.devices > 1))

        return detach

    # ------------------------------------------------------------------------------------------
    # The facilitator

    def start(self, key: str) -> None:
        """Open round 1 with the seats claimed so far played by their people."""
        with self._lock:
            self._admin(key)
            self._start()

    def _start(self) -> None:
        if self.phase != LOBBY:
            return
        people = tuple(s for s in self.seats if self.holders[s])
        self.model, self.agents = build_model(
            self.config, self.seed, self.rounds_requested, people, self.levers
        )
        self._opening = people
        self.phase = RUNNING
        self._open_round()
        who = ", ".join(self.names[s] for s in people) or "nobody (agents play every seat)"
        self._event("start", f"The session started; people play {who}")
        self._touch()
        self._advance()

    def force(self, key: str) -> None:
        """Play the open round now: an agent answers for every seat that has not decided."""
        with self._lock:
            self._admin(key)
            self._require_running()
            self._play(force=True, how="forced by the facilitator")

    def play_on(self, token: str) -> None:
        """In a one-person room, the person plays the next round when there is nothing for them
        to decide (the room shows each round's outcome until they do)."""
        with self._lock:
            p = self._person(token)
            if not self.solo:
                raise Refused("Only the facilitator moves the session on.")
            self._require_running()
            if p.seat and p.seat in self.model.awaiting():
                raise WorkshopError("Decide first: the round is waiting for you.")
            self._play(force=True, how="played on")

    def pause(self, key: str) -> None:
        with self._lock:
            self._admin(key)
            if self.paused:
                return
            self.paused = True
            if self.deadline is not None:
                self._paused_left = max(self.deadline - self.clock(), 0.0)
                self.deadline = None
            self._event("pause", "The facilitator paused the session")
            self._touch()

    def resume(self, key: str) -> None:
        with self._lock:
            self._admin(key)
            if not self.paused:
                return
            self.paused = False
            if self._paused_left is not None:
                self.deadline = self.clock() + self._paused_left
                self._paused_left = None
            self._event("pause", "The facilitator resumed the session")
            self._touch()
            self._advance()

    def announce(self, key: str, text: str) -> None:
        """The facilitator's message to the room, shown on every participant's page and on the
        projector until the next one ("" takes it down). Cleaned as names are (no control or
        format characters), at most MAX_MESSAGE characters; it enters the narrative."""
        with self._lock:
            self._admin(key)
            text = clean_text(text, MAX_MESSAGE)
            if text == self.message:
                return
            self.message = text
            if text:
                self._event("message", f"Message from the facilitator: {text}")
            else:
                self._event("message", "The facilitator took the message down")
            self._touch()

    def ask_back(self, token: str) -> None:
        """A person whose seat left the bloc and is not invited back yet (cooling off) asks
        the facilitator to invite it back sooner (`invite_back`): said in the narrative, and
        on the facilitator's page until answered. Once a round."""
        with self._lock:
            p = self._person(token)
            self._require_running()
            seat = p.seat
            snap = self.snapshot()
            if seat is None or seat not in snap.cooling:
                raise WorkshopError("Your seat is not waiting to be invited back into the bloc.")
            r = self.model.round + 1
            if any(e.kind == "ask_back" and e.seat == seat and e.round == r
                   for e in self.room_events):  # fmt: skip
                raise WorkshopError("Asked already this round: the facilitator has it.")
            self._event("ask_back", f"{self.names[seat]} ({p.name}) asks to be invited back "
                        "into the bloc", seat)  # fmt: skip
            self._touch()

    def invite_back(self, key: str, seat: str) -> int:
        """The facilitator lets a country that left the bloc be invited again from the next
        round, rather than when its cooling-off ends: its patience (the rounds a country that
        left is not invited back, and an agent member bears a loss) becomes the rounds since it
        left, an engine lever like any other (in the record and the narrative). The round it is
        invited from."""
        with self._lock:
            self._admin(key)
            self._require_running()
            m = self.model
            o = m.invitation_outlook(seat) if seat in m.country_agents else {"why": ""}
            if o["why"] != "cooling":
                raise WorkshopError(f"{self.names.get(seat, seat)} is not cooling off.")
            r = m.round + 1
            if o["next"] == r + 1:
                raise WorkshopError(f"{self.names[seat]} is invited again from round {r + 1}.")
            self._call({"kind": "levers", "changes": {"patience": {seat: r - int(o["left"])}}})
            self._event("invite_back", f"The facilitator invited {self.names[seat]} back to the "
                        f"table from round {r + 1}", seat)  # fmt: skip
            self._idle = {}  # its words change
            self._touch()
            return r + 1

    def reset_practice(self, key: str) -> None:
        """End a practice: the room goes back to round 0, before the start, with every person
        in the seat they hold and the seats' locks, settings and the opening levers as they
        were (a lever changed during the practice is undone); the facilitator starts the real
        session when ready. What the practice played is kept in the record (`practice`), out of
        the session's decisions, rounds and replay; the narrative says the room was reset."""
        with self._lock:
            self._admin(key)
            if self.phase == LOBBY:
                raise WorkshopError("The session has not started: there is nothing to reset.")
            played = self.model.round
            start = max((i for i, e in enumerate(self.room_events) if e.kind == "start"), default=0)
            self.practice.append(
                {
                    "rounds_played": played,
                    "reset": now_iso(self.clock()),
                    "opening_people": list(self._opening),
                    "actions": copy.deepcopy(self.actions),
                    "closed": {str(r): how for r, how in self.closed.items()},
                    "room_events": [_event_data(e) for e in self.room_events[start:]],
                }
            )
            del self.room_events[start:]
            self.model, self.agents = build_model(
                self.config, self.seed, self.rounds_requested, (), self.levers
            )
            self.rounds = self.model.rounds
            self.phase = LOBBY
            self.actions = []
            self.closed = {}
            self._opening = ()
            self._engine_calls = 0
            self._panels = {}
            self._pending_seats = {}
            self._required = frozenset()
            self.paused = False
            self.deadline = None
            self._paused_left = None
            seated = [
                f"{self.names[s]}: {', '.join(self.participants[x].name for x in team)}"
                for s, team in self.holders.items()
                if team
            ]
            kept = "; ".join(seated) if seated else "nobody holds a seat"
            self._event(
                "practice",
                f"Practice over: the facilitator reset the room to round 0 after "
                f"{played} practice round{'s' if played != 1 else ''}. Everyone keeps their "
                f"seat ({kept}); the session starts again from round 1 when the facilitator "
                "starts it.",
            )
            self._touch()

    def extend(self, key: str, seconds: float) -> None:
        """More time for the open round (starts a countdown if the round has none)."""
        with self._lock:
            self._admin(key)
            self._require_running()
            seconds = float(seconds)
            if self.paused:
                self._paused_left = (self._paused_left or 0.0) + seconds
            elif self.deadline is None:
                self.deadline = self.clock() + seconds
            else:
                self.deadline += seconds
            self._event("timer", f"The facilitator gave {seconds:g} s more")
            self._touch()

    def configure(self, key: str, **changes: Any) -> None:
        """Change settings: show_decisions, timer_seconds (None or 0 for none; from the next
        round, or now if the open round has no countdown), teams."""
        with self._lock:
            self._admin(key)
            unknown = set(changes) - {"show_decisions", "timer_seconds", "teams", "seats_locked"}
            if unknown:
                raise WorkshopError(f"unknown setting(s): {', '.join(sorted(unknown))}")
            if "timer_seconds" in changes:
                t = changes["timer_seconds"]
                t = None if t in (None, 0, "") else float(t)
                if t is not None and not (math.isfinite(t) and t > 0):
                    raise WorkshopError("The round timer must be a positive number of seconds.")
                changes["timer_seconds"] = t
                if t is None:
                    self.deadline = None
                    self._paused_left = None
                elif self.phase == RUNNING and self.deadline is None and not self.paused:
                    self.deadline = self.clock() + t
            self.settings = replace(self.settings, **changes)
            self._touch()

    def set_levers(self, key: str, **changes: Any) -> None:
        """Live levers (instrument, penalty, floors, ...), from the next round."""
        with self._lock:
            self._admin(key)
            if self.phase == LOBBY:
                try:
                    BlocModel(self.config, rng=self.seed, rounds=1, **{**self.levers, **changes})
                except (ValueError, TypeError) as e:
                    raise WorkshopError(str(e)) from e
                self.levers.update(changes)
                self.model, self.agents = build_model(
                    self.config, self.seed, self.rounds_requested, (), self.levers
                )
            else:
                self._require_running()
                bad = set(changes) & {"strategies", "supplier_strategy"}
                if bad:
                    raise WorkshopError("Seats change hands by claiming them, not as levers.")
                try:
                    self._call({"kind": "levers", "changes": copy.deepcopy(changes)})
                except (ValueError, TypeError) as e:
                    raise WorkshopError(str(e)) from e
            self._touch()

    def _require_running(self) -> None:
        if self.phase == LOBBY:
            raise WorkshopError("The session has not started.")
        if self.phase == OVER:
            raise WorkshopError("The session is over.")

    # ------------------------------------------------------------------------------------------
    # Decisions

    def submit(
        self, token: str, seat: str, decision: Decision | SupplierMove, for_round: int | None = None
    ) -> None:
        """A participant's decision for `seat`: refused unless they submit for that seat.
        `for_round` is the round whose proposal the person saw when deciding (pages always
        give it): a decision for a round that has closed is refused, never counted for the
        next one. None (callers inside the server, replays' tests) means the open round."""
        with self._lock:
            p = self._person(token)
            open_round = self.model.round + 1
            if for_round is not None and self.phase == RUNNING and for_round != open_round:
                raise WorkshopError(
                    f"Round {for_round} closed before your decision arrived: it was not counted. "
                    f"Round {open_round} is open now: look at its proposal and decide again."
                )
            if p.seat != seat:
                mine = f"you hold {self.names[p.seat]}'s seat" if p.seat else "you hold no seat"
                raise Refused(f"You cannot decide for {self.names.get(seat, seat)}: {mine}.")
            team = self.holders[seat]
            if team[0] != p.id:
                lead = self.participants[team[0]].name
                raise Refused(f"{lead} submits for {self.names[seat]}'s team.")
            if self.phase != RUNNING:
                raise WorkshopError(
                    "The session has not started."
                    if self.phase == LOBBY
                    else "The session is over."
                )
            if self.paused:
                raise WorkshopError("The facilitator has paused the session: wait a moment.")
            if seat not in self._required:
                if self._is_person(seat) or seat not in self._pending_seats:
                    raise WorkshopError(f"{self.names[seat]} has nothing to decide this round.")
                raise WorkshopError(
                    f"An agent plays {self.names[seat]} this round; you decide from round "
                    f"{self.model.round + 2}."
                )
            data = encode_decision(decision)
            self._check_decision(seat, decision)
            try:
                self._call(
                    {
                        "kind": "submit",
                        "seat": seat,
                        "decision": data,
                        "participant": p.name,
                        "participant_id": p.id,
                    }
                )
            except ValueError as e:
                raise WorkshopError(str(e)) from e
            self._touch()
            self._advance()

    def _check_decision(self, seat: str, d: Decision | SupplierMove) -> None:
        """Refuse a decision whose numbers are out of bounds (MAX_FLOOR_MULTIPLE,
        MAX_PENALTY, MAX_SIDE_OFFER), with a message for the person: a floor of 1e300 once
        went through, the proposer agreed, and every page drew 300-digit numbers."""
        m = self.model
        if isinstance(d, SupplierMove):
            if any(x not in m.minerals for x in d.minerals):
                raise WorkshopError("Pick minerals of this scenario.")
            if d.action in (SupplierAction.FLOOD, SupplierAction.EXPORT_CONTROLS):
                if not d.minerals:
                    raise WorkshopError("Pick at least one mineral.")
                if not (_finite(d.intensity) and 0 < d.intensity <= 1):
                    raise WorkshopError("The intensity must be above 0 % and at most 100 %.")
            if d.action is SupplierAction.SIDE_OFFER:
                if d.target not in m.countries:
                    raise WorkshopError("Pick the country the side offer is for.")
                if not (_finite(d.offer) and 0 < d.offer <= MAX_SIDE_OFFER):
                    raise WorkshopError(
                        f"The offer must be a positive amount, at most "
                        f"${MAX_SIDE_OFFER / 1e9:,.0f}bn a year."
                    )
            return
        if not (_finite(d.counter_scale) and 0.5 <= d.counter_scale <= 2):
            raise WorkshopError("A counter-proposal scales the floors by 0.5 to 2.")
        if d.action is Action.COUNTER:
            terms = d.terms or {}
            self._check_terms(terms)
            if not terms and d.counter_scale not in (0.8, 1.0, 1.25):
                raise WorkshopError("A counter-proposal needs its terms.")

    def _check_terms(self, terms: Mapping[str, Any]) -> None:
        """A counter-proposal's terms: floors (USD per tonne, from 0 to MAX_FLOOR_MULTIPLE
        times the mineral's reference price), penalty (0 to MAX_PENALTY, 1 = 100 %), cost
        sharing ("consumption" or "equal")."""
        if not isinstance(terms, Mapping) or set(terms) - {"floors", "penalty", "cost_sharing"}:
            raise WorkshopError("A counter-proposal has floors, a penalty and cost sharing.")
        floors = terms.get("floors") or {}
        if not isinstance(floors, Mapping):
            raise WorkshopError("Floors are USD per tonne, one for each mineral.")
        for x, f in floors.items():
            if x not in self.model.minerals:
                raise WorkshopError("There is an unknown mineral among the floors.")
            top = MAX_FLOOR_MULTIPLE * self.config.minerals[x].reference_price
            if not (_finite(f) and 0 <= f <= top):
                name = self.config.minerals[x].name
                raise WorkshopError(
                    f"Floors are USD per tonne, from 0 to {MAX_FLOOR_MULTIPLE} times today's "
                    f"price: at most ${top:,.0f}/t for {name}."
                )
        if "penalty" in terms and not (
            _finite(terms["penalty"]) and 0 <= terms["penalty"] <= MAX_PENALTY
        ):
            raise WorkshopError(f"The penalty must be between 0 % and {MAX_PENALTY:.0%}.")
        if terms.get("cost_sharing") not in (None, "consumption", "equal"):
            raise WorkshopError("Cost sharing is 'consumption' or 'equal'.")

    # ------------------------------------------------------------------------------------------
    # Rounds

    def _call(self, act: dict[str, Any]) -> None:
        """Make an engine call and record it (only if the engine took it)."""
        act = {"kind": act["kind"], "round": self.model.round + 1, **act}
        act["time"] = now_iso(self.clock())
        apply_action(self.model, self.agents, act)
        act["seq"] = len(self.actions)
        self.actions.append(act)
        self._engine_calls += 1

    def _open_round(self) -> None:
        """The next round is open: who must decide, and its countdown."""
        m = self.model
        if m.round >= m.rounds:
            self.phase = OVER
            self.deadline = None
            self._required = frozenset()
            self._event("over", f"The session is over after {m.round} rounds")
            return
        self._required = frozenset(m.awaiting())
        t = self.settings.timer_seconds
        if t:
            if self.paused:
                self._paused_left = t
                self.deadline = None
            else:
                self.deadline = self.clock() + t
        else:
            self.deadline = None

    def _play(self, force: bool, how: str) -> None:
        r = self.model.round + 1
        # Seats a person was to decide for and that had not (R2): an agent's default answers
        # for them, and the narrative says which and what.
        silent = [s for s in self.seats if s in self._required and s in self.model.awaiting()]
        leads = {s: self.participants[self.holders[s][0]].name for s in silent if self.holders[s]}
        was_member = {s: s in self.model.members for s in silent}
        self._call({"kind": "play", "force": force, "how": how})
        self.closed[r] = how
        if how in CLOSED_WORDS:
            text = self._closed_text(r, how, silent, leads, was_member)
            after = self.model.event_count
            self.room_events.append(RoomEvent(r, "closed", text, self.clock(), after=after))
        self._pending_seats = {}
        self._open_round()
        self._touch()

    def _closed_text(self, r: int, how: str, silent: list[str], leads: Mapping[str, str],
                     was_member: Mapping[str, bool]) -> str:  # fmt: skip
        """Round `r`, just played, closed by the facilitator or the timer: which seats were
        silent and the default taken for each (from the round's record: whether the country
        is in the bloc after it, the supplier's move)."""
        head = f"Round {r} {CLOSED_WORDS[how]}"
        if not silent:
            return f"{head}: no seat played by a person was waiting."
        row = self.model.rounds_df.iloc[-1]
        members = {a for a in str(row.get("members") or "").split("+") if a}
        done = []
        for s in silent:
            who = self.names[s] + (f" ({leads[s]})" if s in leads else " (nobody in the seat)")
            if s == self.model.supplier_id:
                move = str(row.get("supplier_action") or "normal")
                what = SUPPLIER_MOVE_WORDS.get(move, move.replace("_", " "))
                done.append(f"{who}: {what}" + (" (the default)" if move == "normal" else ""))
            elif was_member[s]:
                state = "stayed in the bloc (the default)" if s in members else "left the bloc"
                done.append(f"{who}, a member: {state}")
            else:
                state = "joined the bloc" if s in members else "stayed out of the bloc"
                done.append(f"{who}, invited: an agent decided for it and it {state}")
        n = len(silent)
        return (
            f"{head} with {n} seat{'s' if n != 1 else ''} silent. What was done for "
            f"{'them' if n != 1 else 'it'}: " + "; ".join(done) + "."
        )

    def _advance(self) -> None:
        """Play on while nothing waits for a person: when every seat a person plays has decided
        (an agent answers for a seat that nobody holds any longer), or, in a round where no
        person must decide, as long as some seat is held by a person."""
        for _ in range(self.model.rounds + 1):
            if self.phase != RUNNING or self.paused:
                return
            undecided = set(self.model.awaiting())
            held = {s for s in self.seats if self.holders[s]}
            if self._required:
                if undecided & held:
                    return
                how = "all decided" if not undecided else "all decided; an agent for empty seats"
                self._play(force=bool(undecided), how=how)
            elif held and not self.solo_waits():
                self._play(force=False, how="nothing to decide")
            else:
                return

    def solo_waits(self) -> bool:
        """A one-person room shows each round's outcome until the person plays on."""
        return self.solo

    def tick(self, now: float | None = None) -> bool:
        """Force the open round if its time is up; True if it did."""
        with self._lock:
            if self.phase != RUNNING or self.paused or self.deadline is None:
                return False
            now = self.clock() if now is None else now
            if now < self.deadline:
                return False
            self._play(force=True, how="time up")
            self._advance()
            return True

    # ------------------------------------------------------------------------------------------
    # Forecasts a person can ask for (pure: nothing in the run changes)

    def _counter_seat(self, token: str) -> str:
        """The seat of the person behind `token` if it may counter-propose in the open round
        (a country invited to join), else a WorkshopError."""
        p = self._person(token)
        seat = p.seat
        if seat is None or seat not in self._required or seat == self.model.supplier_id:
            raise WorkshopError("Nothing to forecast for you this round.")
        prep = self.model.prepare_round()
        if prep is None or seat not in prep.invites:
            raise WorkshopError("Only a country invited to join counter-proposes.")
        return seat

    def _answers(self, verdicts: Mapping[str, bool]) -> tuple[tuple[str, bool], ...]:
        """Members' yes or no by display name, in the table's order."""
        return tuple((self.names[a], bool(verdicts[a])) for a in self.model.countries
                     if a in verdicts)  # fmt: skip

    def preview_counter(self, token: str, terms: Mapping[str, Any]) -> dict[str, Any]:
        """What a counter-proposal on these terms would meet, before the person sends it
        (`BlocModel.counter_forecast`): `gain`, the seat's components (USD/yr) if it joins on
        these terms minus staying out; `answers`, each member's expected yes or no by display
        name; `agreed`, whether the agreement rule carries it; `rule` in words; `verdict`, all
        of it in a sentence."""
        with self._lock:
            seat = self._counter_seat(token)
            self._check_terms(terms)
            f = self.model.counter_forecast(seat, terms)
            answers = self._answers(f["verdicts"])
            return {
                "gain": dict(f["gain"]),
                "answers": answers,
                "agreed": bool(f["agreed"]),
                "rule": f["rule"],
                "verdict": counter_verdict(answers, f["agreed"], f["rule"]),
            }

    def counter_choices(self, token: str) -> tuple[CounterChoice, ...]:
        """The counter-proposals an agent in the person's seat would weigh this round (its
        view's `counter_options`), each with its value to the seat, the members' expected
        answers and its terms ready for the form."""
        with self._lock:
            seat = self._counter_seat(token)
            m = self.model
            prep = m.prepare_round()
            rule = self.info.agreement
            out = []
            for o in prep.views[seat].counter_options():
                floors = dict(zip(m.minerals, (m.floors * o.scale).tolist()))
                floors.update((o.terms or {}).get("floors") or {})
                key = (o.terms or {}).get("cost_sharing")
                answers = self._answers(o.verdicts)
                out.append(
                    CounterChoice(
                        label=o.label,
                        value=float(o.gain.total),
                        agreed=bool(o.agreed),
                        answers=answers,
                        verdict=counter_verdict(answers, o.agreed, rule),
                        floors={x: float(f) for x, f in floors.items()},
                        cost_sharing=key if isinstance(key, str) else "",
                    )
                )
            return tuple(out)

    def bargaining(self) -> pd.DataFrame | None:
        """For the debrief: the bargaining space of the package tabled in the last round played
        (`negotiation.bargaining_space`, a query), computed once a round for every page that
        shows it; None before the first round is played."""
        with self._lock:
            m = self.model
            if m.round < 1:
                return None
            cached = self._bargaining
            if cached is None or cached[0] is not m or cached[1] != m.round:
                cached = self._bargaining = (m, m.round, bargaining_space(m))
            return cached[2]

    def preview_move(self, token: str, move: SupplierMove) -> dict[str, Any]:
        """For the supplier: its utility this round with this move against selling normally,
        and each member's gain from staying in, with today's members (USD/yr)."""
        with self._lock:
            p = self._person(token)
            m = self.model
            if p.seat != m.supplier_id:
                raise WorkshopError("Only the supplier's seat forecasts moves.")
            self._check_decision(p.seat, move)
            return m.move_forecast(move)

    # ------------------------------------------------------------------------------------------
    # Snapshots

    def snapshot(self) -> RoomSnapshot:
        with self._lock:
            if self._snap is None:
                self._snap = self._build_snapshot()
            snap = self._snap
        if snap.deadline is None:
            return snap
        now = self.clock()
        return replace(snap, time_left=max(snap.deadline - now, 0.0), taken_at=now)

    def _records(self) -> dict[str, pd.DataFrame]:
        key = (self.model.round, self._engine_calls, id(self.model))
        if self._tables is None or self._tables[0] != key:
            m = self.model
            self._tables = (key, {"rounds": m.rounds_df, "actors": m.actors_df,
                                  "events": m.events_df})  # fmt: skip
        return self._tables[1]

    def _build_snapshot(self) -> RoomSnapshot:
        m = self.model
        sc = self.config
        undecided = set(m.awaiting()) if self.phase == RUNNING else set()
        prep = m.prepare_round() if self.phase == RUNNING else None
        latest: dict[str, dict[str, Any]] = {}
        for act in self.actions:
            if act["kind"] == "submit" and act["round"] == m.round + 1:
                latest[act["seat"]] = act
        seats = []
        members = m.members
        for s in self.seats:
            team = self.holders[s]
            person = self._is_person(s) if self.phase != LOBBY else bool(team)
            pending = self._pending_seats.get(s)
            required = s in self._required
            act = latest.get(s) if required else None
            seats.append(
                SeatState(
                    seat=s,
                    name=self.names[s],
                    role="supplier" if s == m.supplier_id else "country",
                    holders=tuple(team),
                    holder_names=tuple(self.participants[x].name for x in team),
                    submitter=team[0] if team else "",
                    person=person,
                    person_next=(pending == "person") if pending else person,
                    required=required,
                    decided=required and s not in undecided,
                    decision=act["decision"] if act else None,
                    decided_by=act["participant"] if act else "",
                    member=s in members,
                )
            )
        panels: dict[str, Panel] = {}
        if prep is not None:
            cache = {k: p for k, p in self._panels.items() if k[0] == prep.round}
            for s in self._required:
                if (prep.round, s) not in cache:
                    cache[(prep.round, s)] = self._panel(s, prep)
                panels[s] = cache[(prep.round, s)]
            self._panels = cache
        idle: dict[str, str] = {}
        cooling: dict[str, int | None] = {}
        if prep is not None:
            for st in seats:
                if st.person and not st.required and st.role == "country" and not st.member:
                    key = (id(m), prep.round, st.seat)
                    if key not in self._idle:
                        self._idle = {k: x for k, x in self._idle.items() if k[:2] == key[:2]}
                        self._idle[key] = self._idle_words(st.seat)
                    words, outlook = self._idle[key]
                    if words:
                        idle[st.seat] = words
                    if outlook["why"] == "cooling":
                        cooling[st.seat] = outlook["next"]
        asked = set()
        for e in self.room_events:
            if e.kind == "ask_back":
                asked.add(e.seat)
            elif e.kind == "invite_back":
                asked.discard(e.seat)
        tables = self._records()
        records = (id(m), m.round, len(m.lever_log), self.phase)
        if self._round_memo[0] != records:
            self._round_memo = (records, {})
        rounds_df = tables["rounds"]
        lever_rounds = tuple(int(r) for r in rounds_df.loc[rounds_df["levers_changed"], "round"])
        about = sc.meta.about
        now = self.clock()
        left = self.deadline - now if self.deadline is not None else self._paused_left
        return RoomSnapshot(
            version=self.version,
            public_version=self.public_version,
            code=self.code,
            title=sc.meta.title,
            scenario=self.scenario,
            seed=self.seed,
            solo=self.solo,
            phase=self.phase,
            round=m.round,
            rounds=m.rounds,
            paused=self.paused,
            deadline=self.deadline,
            time_left=max(left, 0.0) if left is not None else None,
            taken_at=now,
            settings=self.settings,
            seats=tuple(seats),
            panels=panels,
            participants=tuple(replace(p) for p in self.participants.values()),
            members=tuple(a for a in m.countries if a in members),
            minerals=tuple(m.minerals),
            mineral_names={x: sc.minerals[x].name for x in m.minerals},
            names=dict(self.names),
            supplier=m.supplier_id,
            countries=tuple(m.countries),
            round_days=sc.time.round_days,
            about={
                k: getattr(about, k, "") or ""
                for k in ("what_is_it", "how_it_works", "things_to_notice", "things_to_try")
            },
            room_events=tuple(self.room_events),
            decisions=tuple(a for a in self.actions if a["kind"] == "submit"),
            tables=tables,
            lever_rounds=lever_rounds,
            closed=dict(self.closed),
            info=self.info,
            round_memo=self._round_memo[1],
            locked_seats=frozenset(self.locked_seats),
            message=self.message,
            practices=len(self.practice),
            idle=idle,
            cooling=cooling,
            asks_back=frozenset(asked & set(cooling)),
        )

    def _idle_words(self, seat: str) -> tuple[str, dict[str, Any]]:
        """For a country seat outside the bloc that the open round does not ask: why not, the
        round it is next invited if the members stay as they are (`BlocModel.
        invitation_outlook`), and what joining the bloc as it stands would be worth to it in
        this round's markets (`BlocModel.gain_from_joining`): what it is missing."""
        m, name = self.model, self.names[seat]
        o = m.invitation_outlook(seat)
        r = m.round + 1
        if any(e.kind == "invite_back" and e.seat == seat and e.round == r
               for e in self.room_events):  # fmt: skip
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
        elif o["why"] == "list":
            why = f"{self.names.get(o['convener'], o['convener'])} drew up its table without {name}"
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
        items = ", ".join(
            f"{COMPONENT_LABELS[c]} {money(x)}" for c, x in moved[:3] if abs(x) >= 5e5
        )
        worth = (
            f"joining the bloc as it stands would be worth {money(total)} a year to {name} in "
            f"this round's markets" + (f" ({items})" if items else "")
        )
        missing = (
            f"What {name} is missing: {worth}."
            if total > 0
            else f"Staying out pays for now: {worth}."
        )
        return f"{why[:1].upper()}{why[1:]}: {when}. {missing}", o

    def _panel(self, seat: str, prep: Any) -> Panel:
        m = self.model
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
                cost_sharing=_sharing_words(m.cost_sharing),
                accept={},
                reject={},
                by_scale={},
            )
        v = prep.views[seat]
        pkg = v.package
        return Panel(
            seat=seat,
            kind="stay" if seat in prep.members else "invite",
            round=prep.round,
            proposer=pkg.proposer,
            members=tuple(a for a in m.countries if a in pkg.members),
            floors={x: float(f) for x, f in zip(m.minerals, pkg.floors)},
            instrument=pkg.instrument.value,
            penalty=float(pkg.penalty),
            cost_sharing=_sharing_words(m.cost_sharing),
            accept=dict(v.outcomes.get("accept", {})),
            reject=dict(v.outcomes.get("reject", {})),
            by_scale={float(k): float(r.total) for k, r in sorted(v.gains.items())},
            elapsed=int(v.elapsed),
            deadline=v.deadline,
            sharing_key=m.cost_sharing if isinstance(m.cost_sharing, str) else "",
        )

    # ------------------------------------------------------------------------------------------
    # The record

    def record(self) -> dict[str, Any]:
        """The whole session as plain data (JSON-ready): settings, people, every engine call in
        order (decisions with seat, person and time), and each round's outcome."""
        with self._lock:
            tables = self._records()
            return {
                "format": RECORD_FORMAT,
                "version": RECORD_VERSION,
                "room": self.code,
                "solo": self.solo,
                "created": now_iso(self.created),
                "exported": now_iso(self.clock()),
                "scenario": self.scenario,
                "scenario_data": scenario_to_dict(self.config),
                "seed": self.seed,
                "rounds": self.rounds_requested,
                "levers": copy.deepcopy(self.levers),
                "settings": {
                    "show_decisions": self.settings.show_decisions,
                    "timer_seconds": self.settings.timer_seconds,
                    "teams": self.settings.teams,
                    "seats_locked": self.settings.seats_locked,
                },
                "phase": self.phase,
                "opening_people": list(self._opening),
                "participants": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "seat": p.seat or "",
                        "joined": now_iso(p.joined),
                        "removed": p.removed,
                    }
                    for p in self.participants.values()
                ],
                "actions": copy.deepcopy(self.actions) if self.phase != LOBBY else [],
                "room_events": [_event_data(e) for e in self.room_events],
                "closed": {str(r): how for r, how in self.closed.items()},
                "lever_changes": copy.deepcopy(self.model.lever_log),
                "outcomes": {name: _plain_rows(df) for name, df in tables.items()},
                "locked_seats": sorted(self.locked_seats),
                "message": self.message,
                "practice": copy.deepcopy(self.practice),
            }

    def export_json(self) -> str:
        return json.dumps(self.record(), indent=1, allow_nan=False, default=_json_default)

    def export_csv(self, table: str) -> str:
        """One table of the record as CSV (see `spreadsheet_csv`): decisions, rounds, actors,
        events, levers or participants."""
        return spreadsheet_csv(tables_from_record(self.record())[table])

    def export_zip(self) -> bytes:
        """Every table as CSV (see `spreadsheet_csv`), with session.json (exact), in one zip
        file."""
        rec = self.record()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, df in tables_from_record(rec).items():
                z.writestr(f"{name}.csv", spreadsheet_csv(df))
            z.writestr("session.json", json.dumps(rec, indent=1, default=_json_default))
        return buf.getvalue()

    def file_stem(self) -> str:
        """The exports' file name, without extension (an uploaded scenario's name may hold
        any characters: only letters, digits, - and _ are kept)."""
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", self.scenario).strip("-")[:60] or "scenario"
        return f"workshop-{self.code}-{name}-seed{self.seed}"

    # ------------------------------------------------------------------------------------------
    # Saved state (a restart of the server)

    def state(self) -> dict[str, Any]:
        """Everything needed to bring the room back after a restart (`from_state`), as plain
        data: the record (whose engine calls replay the model) and what the record leaves out,
        the secrets among them (the facilitator key, every participant's token): a saved state
        must be kept from anyone but the server's operator."""
        with self._lock:
            if self.paused:
                left = self._paused_left
            else:
                left = None if self.deadline is None else max(self.deadline - self.clock(), 0.0)
            return {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "record": self.record(),
                "private": {
                    "admin_token": self.admin_token,
                    "created": self.created,
                    "participants": [
                        {
                            "id": p.id,
                            "token": p.token,
                            "joined": p.joined,
                            "last_seen": p.last_seen,
                            "client": p.client,
                        }  # fmt: skip
                        for p in self.participants.values()
                    ],
                    "holders": {seat: list(team) for seat, team in self.holders.items()},
                    "event_times": [e.time for e in self.room_events],
                    "pending_seats": dict(self._pending_seats),
                    "required": sorted(self._required),
                    "banned_clients": sorted(self._banned_clients),
                    "replaced_links": dict(self._revoked),
                    "banned_names": sorted(self._banned),
                    "paused": self.paused,
                    "time_left": left,
                },
            }

    @classmethod
    def from_state(cls, data: Mapping[str, Any], clock: Callable[[], float] = time.time) -> Room:
        """The room saved in `data` (`state`): the same code, facilitator key, participants
        with their tokens and seats, teams, settings and record; the model replayed from the
        record with the same seed (so the run goes on as it would have), in the same round with
        the decisions already submitted. The open round's countdown starts again, with the
        round's whole timer (or the time it had left, if more); a paused room stays paused.
        Raises WorkshopError if `data` is not a saved room or does not replay to itself."""
        if not isinstance(data, Mapping) or data.get("format") != STATE_FORMAT:
            raise WorkshopError("not a saved Bloc workshop room")
        if int(data.get("version", 0)) > STATE_VERSION:
            raise WorkshopError(f"saved by a newer Bloc (state version {data['version']})")
        try:
            # Plain data only (`load_record` would also read a path or JSON text).
            if not isinstance(data.get("record"), Mapping):
                raise WorkshopError("it holds no session record")
            if not isinstance(data.get("private"), Mapping):
                raise WorkshopError("it holds no tokens")
            rec = load_record(data["record"])
            priv = data["private"]
            code = str(rec["room"])
            if not code or normalize_code(code) != code or set(code) - set(ALPHABET):
                raise WorkshopError(f"{code!r} is not a room code")
            name = f"{rec.get('scenario', 'scenario')} (saved room {code})"
            sc = validate(rec["scenario_data"], name)
            s = rec["settings"]
            timer = s["timer_seconds"]
            if timer is not None and not (_finite(timer) and timer > 0):
                raise WorkshopError(f"the round timer {timer!r} is not a number of seconds")
            settings = Settings(
                show_decisions=bool(s["show_decisions"]),
                timer_seconds=timer,
                teams=bool(s["teams"]),
                seats_locked=bool(s["seats_locked"]),
            )
            rounds = rec.get("rounds")
            room = cls(code, sc, seed=int(rec["seed"]), rounds=None if rounds is None else
                       int(rounds), settings=settings, levers=rec.get("levers") or {},
                       solo=bool(rec["solo"]), clock=clock)  # fmt: skip
            room._restore(rec, priv)
        except ScenarioError as e:
            raise WorkshopError("its scenario is not valid: " + "; ".join(e.problems)) from e
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            if isinstance(e, WorkshopError):
                raise
            what = f"{e.args[0]!r} missing" if isinstance(e, KeyError) else str(e)
            raise WorkshopError(f"it is damaged ({type(e).__name__}: {what})") from e
        # Saved and replayed must be one and the same session (not so if the file was edited,
        # or saved by a version of Bloc whose model plays differently).
        again = room.record()
        again["exported"] = rec.get("exported")
        # Saved before seat locks, messages and practice runs were recorded: none of them.
        rec = {**{"locked_seats": [], "message": "", "practice": []}, **rec}
        if _canonical(again) != _canonical(rec):
            raise WorkshopError(
                "it does not replay to the session it saved (edited, or saved by another "
                "version of Bloc)"
            )
        return room

    def _restore(self, rec: Mapping[str, Any], priv: Mapping[str, Any]) -> None:
        with self._lock:
            phase = rec["phase"]
            if phase not in (LOBBY, RUNNING, OVER):
                raise ValueError(f"unknown phase {phase!r}")
            self.admin_token = str(priv["admin_token"])
            self.created = float(priv["created"])
            if phase != LOBBY:
                opening = tuple(str(s) for s in rec["opening_people"])
                if set(opening) - set(self.seats):
                    raise ValueError("an opening seat is not in the scenario")
                self.model, self.agents = build_model(
                    self.config, self.seed, self.rounds_requested, opening, self.levers
                )
                self.actions = copy.deepcopy(list(rec["actions"]))
                for act in self.actions:
                    apply_action(self.model, self.agents, act)
                self._opening = opening
                self.rounds = self.model.rounds
            self._engine_calls = len(self.actions)
            self.phase = phase
            private = {str(q["id"]): q for q in priv["participants"]}
            for p in rec["participants"]:
                q = private[str(p["id"])]
                seat = str(p["seat"]) or None
                if seat is not None and seat not in self.seats:
                    raise ValueError(f"no seat {seat!r} in the scenario")
                person = Participant(
                    str(p["id"]), str(p["name"]), str(q["token"]), float(q["joined"]),
                    seat=seat, removed=bool(p["removed"]), last_seen=float(q["last_seen"]),
                    client=str(q.get("client", "")),
                )  # fmt: skip
                if not person.token:
                    raise ValueError(f"participant {person.id} has no token")
                self.participants[person.id] = person
                self._by_token[person.token] = person
            self.holders = {s: [str(pid) for pid in priv["holders"].get(s, [])] for s in self.seats}
            for seat, team in self.holders.items():
                if any(self.participants[pid].seat != seat for pid in team):
                    raise ValueError(f"the team of {seat!r} does not match its people's seats")
            times = list(priv["event_times"])
            self.room_events = [
                RoomEvent(
                    int(e["round"]),
                    str(e["kind"]),
                    str(e["text"]),
                    float(t),
                    str(e.get("seat", "")),
                    None if e.get("after") is None else int(e["after"]),
                )  # fmt: skip
                for e, t in zip(rec["room_events"], times, strict=True)
            ]
            self.closed = {int(r): str(how) for r, how in rec["closed"].items()}
            self._pending_seats = {str(k): str(v) for k, v in priv["pending_seats"].items()}
            self._required = frozenset(str(s) for s in priv["required"])
            self._banned_clients = {str(c) for c in priv["banned_clients"]}
            self._revoked = {
                str(t): str(pid) for t, pid in (priv.get("replaced_links") or {}).items()
            }
            self._banned = {str(n) for n in priv["banned_names"]}
            self.locked_seats = {str(s) for s in rec.get("locked_seats") or ()}
            if self.locked_seats - set(self.seats):
                raise ValueError("a locked seat is not in the scenario")
            self.message = clean_text(rec.get("message") or "", MAX_MESSAGE)
            self.practice = copy.deepcopy(list(rec.get("practice") or ()))
            self.paused = bool(priv["paused"])
            left = priv.get("time_left")
            left = None if left is None else float(left)
            if phase == RUNNING:
                if self.paused:
                    self._paused_left = left
                elif left is not None or self.settings.timer_seconds:
                    self.deadline = self.clock() + max(
                        left or 0.0, self.settings.timer_seconds or 0
                    )


#: What makes a spreadsheet read a cell as a formula (or, for tab and carriage return, lets a
#: formula hide behind them): OWASP's list for CSV injection.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (`=HYPERLINK(...)` as a display name),
    made plain text with a leading apostrophe; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_csv(df: pd.DataFrame) -> str:
    """A table as CSV that is safe to open in a spreadsheet: text cells that would be
    formulas are neutralised (`neutralise_formula`); numbers (negative ones too) stay
    numbers. session.json keeps the exact text."""
    safe = df.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):  # text (object or str dtype)
            safe[column] = safe[column].map(neutralise_formula)
    return safe.to_csv(index=False)


def _event_data(e: RoomEvent) -> dict[str, Any]:
    """A room event as the record keeps it (`after`, its place among the engine's events,
    where it is known)."""
    out = {"round": e.round, "kind": e.kind, "text": e.text, "time": now_iso(e.time),
           "seat": e.seat}  # fmt: skip
    if e.after is not None:
        out["after"] = e.after
    return out


def _sharing_words(sharing: Any) -> str:
    if isinstance(sharing, Mapping):
        return "the scenario's table"
    return {"consumption": "by consumption", "equal": "equal shares"}.get(
        str(sharing), str(sharing)
    )


def _plain_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready rows, floats exact (NaN as None)."""
    rows = df.to_dict(orient="records")
    for row in rows:
        for k, v in row.items():
            if hasattr(v, "item"):
                v = row[k] = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                row[k] = None
    return rows


def _canonical(rec: Mapping[str, Any]) -> str:
    """A record as JSON text with sorted keys: two records are the same session if equal."""
    return json.dumps(rec, sort_keys=True, default=_json_default)


def _json_default(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, set | frozenset | tuple):
        return list(x)
    return str(x)


# ----------------------------------------------------------------------------------------------
# Records: tables and replays


def tables_from_record(rec: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """The record's tables: decisions (one row per submission: round, seat, person, time, action
    and terms), rounds (the engine's round rows, with how each round closed), actors, events
    (the engine's and the room's), levers, participants."""
    minerals = [m for m in rec["scenario_data"].get("minerals", {})]
    names = {a: x.get("name", a) for a, x in rec["scenario_data"].get("actors", {}).items()}
    words = {m: x.get("name", m) for m, x in rec["scenario_data"].get("minerals", {}).items()}
    words.update(names)
    # The members as each round opened (after the round before it): a member decides to stay.
    members_after = {
        int(row["round"]): set(str(row.get("members") or "").split("+"))
        for row in rec["outcomes"]["rounds"]
    }
    rows = []
    for act in rec["actions"]:
        if act["kind"] != "submit":
            continue
        d = act["decision"]
        member = act["seat"] in members_after.get(int(act["round"]) - 1, ())
        terms = d.get("terms") or {}
        row = {
            "round": act["round"],
            "seat": act["seat"],
            "seat_name": names.get(act["seat"], act["seat"]),
            "participant": act["participant"],
            "participant_id": act["participant_id"],
            "time": act["time"],
            "type": d["type"],
            "action": d["action"],
            "words": describe_decision(d, words, member),
            "counter_scale": d.get("counter_scale"),
            "penalty": terms.get("penalty"),
            "cost_sharing": (
                json.dumps(terms["cost_sharing"])
                if isinstance(terms.get("cost_sharing"), Mapping)
                else terms.get("cost_sharing")
            ),
            "minerals": "+".join(d.get("minerals") or ()),
            "intensity": d.get("intensity"),
            "target": d.get("target"),
            "offer": d.get("offer"),
            "note": d.get("note"),
            "seq": act["seq"],
        }
        for m in minerals:
            row[f"counter_floor_{m}"] = (terms.get("floors") or {}).get(m)
        rows.append(row)
    decisions = pd.DataFrame(
        rows, columns=_DECISION_COLUMNS + [f"counter_floor_{m}" for m in minerals]
    )
    # The submission that counted: the last one for its seat in its round.
    if not decisions.empty:
        last = decisions.groupby(["round", "seat"])["seq"].transform("max")
        decisions["counted"] = decisions["seq"] == last
    else:
        decisions["counted"] = pd.Series(dtype=bool)
    out = rec["outcomes"]
    rounds = pd.DataFrame(out["rounds"])
    closed = {int(r): how for r, how in rec.get("closed", {}).items()}
    plays = {a["round"]: a["time"] for a in rec["actions"] if a["kind"] == "play"}
    if not rounds.empty:
        rounds["closed_by"] = [closed.get(int(r), "" if r else "opening") for r in rounds["round"]]
        rounds["closed_at"] = [plays.get(int(r), "") for r in rounds["round"]]
    events = pd.DataFrame(out["events"], columns=["round", "actor", "kind", "text"])
    events["source"] = "model"
    kept = rec.get("room_events", [])
    room = pd.DataFrame(kept, columns=["round", "kind", "text", "time", "seat"])
    room = room.rename(columns={"seat": "actor"}).assign(source="room")
    # In the order things happened (`story_key`), as the room's pages tell them.
    keys = [story_key(int(r), n) for n, r in enumerate(events["round"])]
    keys += [story_key(int(e["round"]), n, True, e["kind"], e.get("after"))
             for n, e in enumerate(kept)]  # fmt: skip
    events = pd.concat([events, room], ignore_index=True)
    order = sorted(range(len(keys)), key=keys.__getitem__)
    events = events.iloc[order]
    levers = pd.DataFrame(
        rec.get("lever_changes", []), columns=["round", "lever", "before", "after"]
    )
    people = pd.DataFrame(
        rec.get("participants", []), columns=["id", "name", "seat", "joined", "removed"]
    )
    return {
        "decisions": decisions,
        "rounds": rounds,
        "actors": pd.DataFrame(out["actors"]),
        "events": events.reset_index(drop=True),
        "levers": levers,
        "participants": people,
    }


_DECISION_COLUMNS = [
    "round", "seat", "seat_name", "participant", "participant_id", "time", "type", "action",
    "words", "counter_scale", "penalty", "cost_sharing", "minerals", "intensity", "target",
    "offer", "note", "seq",
]  # fmt: skip


def load_record(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A session record from an exported JSON file, JSON text, or the parsed data."""
    if isinstance(source, Mapping):
        rec = dict(source)
    else:
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text(encoding="utf-8")
        rec = json.loads(text)
    if rec.get("format") != RECORD_FORMAT:
        raise WorkshopError("not a Bloc workshop session record")
    if int(rec.get("version", 0)) > RECORD_VERSION:
        raise WorkshopError(f"session record version {rec['version']} is newer than this Bloc")
    return rec


def replay(source: str | Path | Mapping[str, Any]) -> BlocModel:
    """Replay a session from its record: the same scenario, seed and opening seats, then every
    recorded engine call in order. The model's records equal the live session's."""
    rec = load_record(source)
    sc = validate(rec["scenario_data"], f"{rec.get('scenario', 'session')} (session record)")
    model, agents = build_model(
        sc,
        int(rec["seed"]),
        rec.get("rounds"),
        rec.get("opening_people", ()),
        rec.get("levers", {}),
    )
    for act in rec["actions"]:
        apply_action(model, agents, act)
    return model


# ----------------------------------------------------------------------------------------------
# The registry of rooms


class Workshop:
    """Every room of a server, by join code. Rooms are isolated: a code or a token opens only
    its own room. A background thread closes timed rounds whose time is up.

    Scenarios are asked for by name (from a page: a URL or a form value), and a name is only
    ever one of the built-in scenarios or the one the server's operator chose at the command
    line (`operator_scenario`): never a path, so no page reads a file of the server's."""

    def __init__(
        self,
        ticker: bool = True,
        tick_seconds: float = 0.2,
        facilitator_secret: str = "",
        state_dir: str | Path | None = None,
    ) -> None:
        #: the scenario `bloc workshop --scenario` named (a built-in name or a TOML file the
        #: operator trusts), by the name pages use for it
        self.operator_scenario: str | None = None
        #: what a facilitator types to open a room from a page (`open_room`); while it is
        #: empty, no page can open one
        self.facilitator_secret = facilitator_secret
        self._secret_tries = RateLimit(SECRET_TRIES_PER_BROWSER, SECRET_WINDOW)
        self._solo_opens = RateLimit(SOLO_ROOMS_PER_BROWSER, SOLO_WINDOW)
        self._code_misses = RateLimit(CODE_MISSES_PER_BROWSER, CODE_MISS_WINDOW)
        self._lock = threading.Lock()
        self.rooms: dict[str, Room] = {}
        self._solo_codes: set[str] = set()  # the one-person rooms (built or being built)
        self._tick_seconds = tick_seconds
        self._ticker_on = ticker
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        #: where each room's state is saved (`save`), None for nowhere; `bloc workshop
        #: --state-dir` sets it
        self.state_dir = Path(state_dir) if state_dir else None
        self._saved: dict[str, int] = {}  # code -> the room's `changes` when last saved
        self._save_lock = threading.Lock()

    def scenario_choices(self) -> list[str]:
        """The scenario names a page may ask for: the built-in ones and the operator's."""
        names = scenario_names()
        if self.operator_scenario and self.operator_scenario not in names:
            names.append(self.operator_scenario)
        return names

    def scenario(self, name: str) -> Scenario:
        """The scenario called `name`, if it is one of `scenario_choices()`. The refusal says
        nothing of `name` beyond that: it never touches the file system for it."""
        if not isinstance(name, str) or name not in self.scenario_choices():
            raise WorkshopError(
                "There is no such scenario on this server: pick one of "
                + ", ".join(scenario_names())
                + "."
            )
        return load_scenario(name)

    def create(
        self,
        scenario: str | Scenario = DEFAULT_SCENARIO,
        *,
        seed: int | None = None,
        rounds: int | None = None,
        settings: Settings | None = None,
        levers: Mapping[str, Any] | None = None,
        solo: bool = False,
        clock: Callable[[], float] = time.time,
        code_length: int = CODE_LENGTH,
    ) -> Room:
        """A new room on `scenario`: a Scenario (the caller's own, trusted), or the name of one of
        `scenario_choices()` (refused otherwise, see `scenario`)."""
        if rounds is not None and int(rounds) < 1:
            raise WorkshopError(f"rounds must be at least 1 (got {rounds})")
        if not isinstance(scenario, Scenario):
            scenario = self.scenario(scenario)
        cap = MAX_SOLO_ROOMS if solo else MAX_ROOMS
        with self._lock:
            if self._count(solo) >= cap:
                self._prune(solo)
            if self._count(solo) >= cap:
                raise WorkshopError("This server has too many rooms open.")
            code = new_code(self.rooms, code_length)
            self.rooms[code] = None  # type: ignore[assignment] - reserved while the model builds
            if solo:
                self._solo_codes.add(code)
        try:
            room = Room(code, scenario, seed=seed, rounds=rounds, settings=settings,
                        levers=levers, solo=solo, clock=clock)  # fmt: skip
        except BaseException:
            with self._lock:
                self.rooms.pop(code, None)
                self._solo_codes.discard(code)
            raise
        with self._lock:
            self.rooms[code] = room
        self._ensure_ticker()
        return room

    def _count(self, solo: bool) -> int:
        """Rooms of a kind: one-person rooms, or facilitators' rooms."""
        return len(self._solo_codes) if solo else len(self.rooms) - len(self._solo_codes)

    def check_secret(self, secret: str) -> bool:
        """Whether `secret` is the facilitator secret (compared in constant time; never true
        while the server has none)."""
        if not (self.facilitator_secret and isinstance(secret, str)):
            return False
        return secrets.compare_digest(secret.encode(), self.facilitator_secret.encode())

    def open_room(
        self, secret: str, scenario: str | Scenario = DEFAULT_SCENARIO, *, client: str = "",
        **options: Any,
    ) -> Room:  # fmt: skip
        """A room a facilitator opens from a page: only with the server's facilitator secret.
        `client` is the browser asking (its session id): it may get the secret wrong
        SECRET_TRIES_PER_BROWSER times per SECRET_WINDOW seconds. `options` are `create`'s."""
        self.check_facilitator(secret, client)
        return self.create(scenario, **options)

    def open_room_from_upload(
        self, secret: str, read: Callable[[int], bytes], *, client: str = "", **options: Any
    ) -> Room:
        """A room on a scenario file the facilitator uploads: the secret is checked before a
        byte is read (`read(n)` reads at most n bytes of the file), then the file (see
        `scenario_from_upload`)."""
        self.check_facilitator(secret, client)
        return self.create(scenario_from_upload(read(MAX_UPLOAD_BYTES + 1)), **options)

    def check_facilitator(self, secret: str, client: str = "") -> None:
        """Refuse unless `secret` is the facilitator secret; `client` (the browser) may get
        it wrong SECRET_TRIES_PER_BROWSER times per SECRET_WINDOW seconds."""
        if self._secret_tries.blocked(client):
            raise Refused("Too many wrong secrets from this browser: wait a minute.")
        if not self.check_secret(secret):
            self._secret_tries.hit(client)
            raise Refused(
                "That is not this server's facilitator secret (`bloc workshop` prints it on "
                "its console when it starts)."
            )

    def get(self, code: str) -> Room:
        room = self.rooms.get(normalize_code(code or ""))
        if room is None:
            raise RoomNotFound(f"No room has the code {code!r}: check it with your facilitator.")
        return room

    def lookup(self, code: str | None, client: str = "") -> Room | None:
        """The room a page names by code (`find`), for a browser (`client`): one that has
        tried CODE_MISSES_PER_BROWSER codes matching no room in CODE_MISS_WINDOW seconds is
        refused any room until the window has passed, so that codes cannot be guessed."""
        if self._code_misses.blocked(client):
            raise Refused("Too many wrong room codes from this browser: wait a few minutes.")
        room = self.find(code)
        if room is None and code:
            self._code_misses.hit(client)
        return room

    def find(self, code: str | None) -> Room | None:
        try:
            return self.get(code or "")
        except RoomNotFound:
            return None

    def solo(
        self, scenario: str | Scenario, seat: str, name: str = "You", *, seed: int | None = None,
        rounds: int | None = None, client: str = "",
    ) -> tuple[Room, Participant]:  # fmt: skip
        """A one-person room: one seat for the person, agents elsewhere, started at once.
        Anyone may open one (no secret), so a browser (`client`, its session id) opens at
        most SOLO_ROOMS_PER_BROWSER per SOLO_WINDOW seconds, and they have their own cap."""
        if not self._solo_opens.allow(client):
            raise Refused("This browser has opened many rooms lately: wait a few minutes.")
        room = self.create(scenario, seed=seed, rounds=rounds, solo=True)
        p = room.join(name)
        room.claim(p.token, seat)
        room.start(room.admin_token)
        return room, room.participant(p.token)

    def _prune(self, solo: bool) -> None:
        """Forget idle rooms of a kind, the oldest first: one-person rooms nobody has had open
        for SOLO_IDLE seconds; facilitators' rooms that are over, or that nobody has had open
        for ROOM_IDLE seconds."""
        now = time.time()
        rooms = sorted(self.rooms.items(), key=lambda kv: kv[1].created if kv[1] else now)
        for code, room in rooms:
            if room is None or room.solo != solo:
                continue
            people = list(room.participants.values())
            idle = SOLO_IDLE if solo else ROOM_IDLE
            quiet = all(p.sessions == 0 and now - p.last_seen > idle for p in people)
            if (quiet and now - room.created > idle) or (not solo and room.phase == OVER):
                del self.rooms[code]
                self._solo_codes.discard(code)
                self._forget(code)

    def _ensure_ticker(self) -> None:
        if not self._ticker_on or self._ticker is not None:
            return
        with self._lock:
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick_loop, name="bloc-workshop-timer",
                                                daemon=True)  # fmt: skip
                self._ticker.start()

    def _tick_loop(self) -> None:
        while not self._stop.wait(self._tick_seconds):
            for room in list(self.rooms.values()):
                if room is not None:
                    try:
                        room.tick()
                    except Exception:  # a bug in one room must not stop the others' timers
                        import logging

                        logging.getLogger("bloc.workshop").exception("room %s", room.code)
            self.save_changed()

    # ------------------------------------------------------------------------------------------
    # Saved rooms (a restart of the server)

    def state_path(self, code: str) -> Path:
        """The file a room's state is saved to."""
        assert self.state_dir is not None
        return self.state_dir / f"room-{code}.json"

    def save(self, room: Room) -> Path | None:
        """Write the room's state (`Room.state`) to `state_path`, atomically (a temporary file
        in the same directory, renamed over the old one: a crash leaves the old state or the
        new, never half of one), readable and writable by the owner only (0600: it holds the
        room's tokens). None if the Workshop has no state directory, or the room is not (or
        no longer) one of its rooms."""
        if self.state_dir is None:
            return None
        with self._save_lock:
            if self.rooms.get(room.code) is not room:
                return None  # forgotten meanwhile (`_prune`): its file must not come back
            with room._lock:
                changes = room.changes
                state = room.state()  # fresh plain data: written out without the room's lock
            text = json.dumps(state, default=_json_default)
            path = self.state_path(room.code)
            write_private(path, text)
            self._saved[room.code] = changes
            return path

    def save_changed(self) -> list[str]:
        """Save every room that changed since it was last saved (the timer thread calls this
        every `tick_seconds`, so a room is saved within a fraction of a second of each
        decision, round, seat or setting change). A room that cannot be saved is said on the
        console and tried again at the next change; the others are saved all the same. The
        codes saved."""
        if self.state_dir is None:
            return []
        done = []
        for code, room in list(self.rooms.items()):
            if room is None or self._saved.get(code) == room.changes:
                continue
            try:
                self.save(room)
                done.append(code)
            except Exception as e:  # a full disk must not stop the timers or the other rooms
                self._saved[code] = room.changes
                print(f"bloc workshop: could not save room {code}: {e}", file=sys.stderr)
        return done

    def _forget(self, code: str) -> None:
        """A room leaves the server: its saved state too (it must not come back)."""
        with self._save_lock:
            self._saved.pop(code, None)
            if self.state_dir is not None:
                with contextlib.suppress(OSError):
                    self.state_path(code).unlink(missing_ok=True)

    def saved_files(self) -> list[Path]:
        """The files of the state directory that `resume` reads (`*.json`)."""
        if self.state_dir is None or not self.state_dir.is_dir():
            return []
        return sorted(p for p in self.state_dir.glob("*.json") if not p.name.startswith("."))

    def resume(self, clock: Callable[[], float] = time.time) -> tuple[list[Room], list[str]]:
        """Bring back every room saved in the state directory (`Room.from_state`): the rooms,
        and a message for each file refused (damaged, not a saved room, another room's code
        already open here), naming the file; a refused file is left as it is and the other
        rooms come back all the same."""
        rooms: list[Room] = []
        problems: list[str] = []
        for path in self.saved_files():
            try:
                if path.stat().st_size > MAX_STATE_BYTES:
                    raise WorkshopError("it is too large to be a saved room")
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as e:
                    raise WorkshopError(f"it is not JSON ({e})") from e
                room = Room.from_state(data, clock=clock)
                if path.name != f"room-{room.code}.json":
                    raise WorkshopError(f"it holds room {room.code}, not the room of its name")
            except (WorkshopError, OSError, RecursionError) as e:
                problems.append(f"not resuming {path}: {e}")
                continue
            except Exception as e:  # whatever else: this file is refused, the others come back
                problems.append(f"not resuming {path}: {type(e).__name__}: {e}")
                continue
            with self._lock:
                if room.code in self.rooms:
                    continue  # already open (the state directory resumed twice)
                self.rooms[room.code] = room
                if room.solo:
                    self._solo_codes.add(room.code)
                self._saved[room.code] = room.changes
            rooms.append(room)
        if rooms:
            self._ensure_ticker()
        return rooms, problems

    def close(self) -> None:
        self._stop.set()


#: The largest file `Workshop.resume` reads as a saved room (a 60-person room of 36 rounds is
#: well under a megabyte).
MAX_STATE_BYTES = 64 * 1024 * 1024


def default_state_dir() -> Path:
    """Where `bloc workshop` saves its rooms unless told (`--state-dir`): the user's data
    directory (XDG_DATA_HOME, else ~/.local/share; %LOCALAPPDATA% on Windows; ~/Library/
    Application Support on macOS), bloc/workshop."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "bloc" / "workshop"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, the file readable and writable by its owner only
    (0600); the directory is made (0700) if missing."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if hasattr(os, "fchmod"):  # mkstemp makes it 0600 already; say so wherever
                os.fchmod(f.fileno(), 0o600)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: The server's rooms (one per process: the Solara pages of every browser session share it).
WORKSHOP = Workshop()


# ----------------------------------------------------------------------------------------------
# Serving


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, as its own name resolves them (no
    traffic is sent)."""
    import socket

    found: list[str] = []
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    for info in infos:
        addr = str(info[4][0])
        if not addr.startswith("127.") and addr not in found:
            found.append(addr)
    return found


def public_url(host: str, port: int) -> str:
    """The address to give participants: the bound host, or for 0.0.0.0 (every network) this
    machine's first address on the local network."""
    if host in ("0.0.0.0", "::", ""):
        lan = lan_addresses()
        host = lan[0] if lan else "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"

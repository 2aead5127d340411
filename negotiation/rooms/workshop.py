"""Workshop rooms: people take the seats of a run, decide each round, and the room keeps the record.

Pure Python (no Solara): the Solara pages in `negotiation/ui/workshop_app.py` only render a room's
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
closed (`Room.submit`); every number a participant sends is bounded (`check_decision`); names
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

Where the code lives (issue 17): this module is the home of `Room` (play control: the start, the
rounds, decisions, the facilitator's moves and forecasts) and `Workshop` (a server's rooms, its
ticker and saved rooms), and re-exports the names the pages and tests import from it. A room's
parts are modules of their own: `negotiation.rooms.workshop_seats` (participants, tokens, seats,
locks, access checks: `Room.access`), `negotiation.rooms.workshop_clock` (the round's countdown,
`Room.timer`, and the ticker), `negotiation.rooms.workshop_record` (the record, exports, saved state
and replays: `Room.archive`), `negotiation.rooms.workshop_live` (the lock and versions pages wait
on,
`Room.live`, with its contract), `negotiation.rooms.workshop_snapshot` (what the pages render and
how it is built from the room: `Room.snapshots`), on `negotiation.rooms.workshop_common` (limits,
errors, names, decisions as data and their bounds, the people and events).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import secrets
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from negotiation.engine.model import BlocModel
from negotiation.engine.scenario import DEFAULT_SCENARIO, Scenario, load_scenario, scenario_names
from negotiation.experiments.bargaining_space import bargaining_space, table_minerals
from negotiation.rooms.workshop_clock import RoundTimer, Ticker
from negotiation.rooms.workshop_common import (
    ALPHABET,
    CLOSED_WORDS,
    CODE_LENGTH,
    CODE_MISS_WINDOW,
    CODE_MISSES_PER_BROWSER,
    JOIN_WINDOW,
    JOINS_PER_BROWSER,
    LOBBY,
    MAX_FLOOR_MULTIPLE,
    MAX_JOINS,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_PARTICIPANTS,
    MAX_PENALTY,
    MAX_ROOMS,
    MAX_SIDE_OFFER,
    MAX_SOLO_ROOMS,
    MAX_UPLOAD_BYTES,
    MIN_SECRET,
    OVER,
    PERSON,
    RECORD_FORMAT,
    RECORD_VERSION,
    REPLACED_LINK,
    ROOM_IDLE,
    ROSTER_EVENTS,
    RUNNING,
    SEATS_LOCKED,
    SECRET_TRIES_PER_BROWSER,
    SECRET_WINDOW,
    SOLO_IDLE,
    SOLO_ROOMS_PER_BROWSER,
    SOLO_WINDOW,
    STATE_FORMAT,
    STATE_VERSION,
    SUPPLIER_MOVE_WORDS,
    Participant,
    RateLimit,
    Refused,
    RoomEvent,
    RoomNotFound,
    RunState,
    Settings,
    WorkshopError,
    agent_strategies,
    apply_action,
    build_model,
    check_decision,
    check_package,
    check_terms,
    clean_name,
    clean_text,
    decode_decision,
    describe_decision,
    encode_decision,
    name_key,
    new_code,
    normalize_code,
    now_iso,
    person_plays,
    person_strategy,
    scenario_from_upload,
    seat_locked,
    story_key,
    told_lever,
)
from negotiation.rooms.workshop_live import Versions
from negotiation.rooms.workshop_record import (
    FORMULA_STARTS,
    MAX_STATE_BYTES,
    Archive,
    RecordHooks,
    default_state_dir,
    event_data,
    from_state,
    json_default,
    load_record,
    neutralise_formula,
    replay,
    spreadsheet_csv,
    tables_from_record,
    write_private,
)
from negotiation.rooms.workshop_seats import Access, SeatHooks
from negotiation.rooms.workshop_snapshot import (
    CounterChoice,
    Panel,
    RoomInfo,
    RoomSnapshot,
    SeatState,
    SnapshotBuilder,
    counter_verdict,
    table_verdict,
)
from negotiation.rules.protocol import RULE_WORDS
from negotiation.rules.types import (
    Decision,
    SupplierMove,
)

# ----------------------------------------------------------------------------------------------
# A room


class Room:
    """One session: a model, its seats and people, and the record. Thread-safe.

    A room is its play control (this class: the start, the rounds, decisions, the facilitator's
    moves, forecasts) and its parts, each in a module of its own: `access`, who is who and who
    may do what (`negotiation.rooms.workshop_seats`); `timer`, the open round's countdown
    (`negotiation.rooms.workshop_clock`); `archive`, the record, exports and saved state
    (`negotiation.rooms.workshop_record`); `snapshots`, what the pages render, built from the room
    (`negotiation.rooms.workshop_snapshot`); and `live`, the lock and versions pages wait on
    (`negotiation.rooms.workshop_live`, whose docstring is the contract pages rely on). The public
    methods of the parts are the room's: pages and tests call the room.

    A part reads the room's public state and nothing private of it: what else it needs, the
    room hands it when it builds it (issue 17): `access` gets `SeatHooks` (tell the narrative,
    bump the version, play on, hand a seat to a person or an agent, say from when), `archive`
    gets `RecordHooks` (the model's records and the room's `RunState`, which it saves and
    restores); `snapshots.build` is given what it reads (`RoomState`, and the `RunState`'s
    fields); `timer` and `live` need nothing of the room."""

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
        #: what the room keeps of its run besides the model (the opening seats, the seats
        #: changing hands, the seats that must decide, the engine calls): the archive saves it
        self._run = RunState()
        #: the room's parts (see the class's docstring), each handed what it may ask of the room
        self.live = Versions()
        self.lock = self.live.lock
        self.access = Access(
            self,
            SeatHooks(event=self._event, touch=self._touch, advance=self._advance,
                      seat_to=self._seat_to, when=self._when),
        )  # fmt: skip
        self.timer = RoundTimer()
        self.archive = Archive(self, RecordHooks(records=self._records, run=self._run))
        self.snapshots = SnapshotBuilder()
        self._snap: RoomSnapshot | None = None  # this version's (`snapshot`)
        self._bargaining: tuple[BlocModel, int, pd.DataFrame] | None = None  # `bargaining`
        self.phase = LOBBY
        self.actions: list[dict[str, Any]] = []
        self.room_events: list[RoomEvent] = []
        self.closed: dict[int, str] = {}
        #: the facilitator's message to the room (`announce`); practice runs reset to round 0
        #: (`reset_practice`), as recorded
        self.message = ""
        self.practice: list[dict[str, Any]] = []
        # A model to show the table before the start; rebuilt with the people's seats at start.
        self.model, self.agents = build_model(sc, self.seed, rounds, (), self.levers)
        self.rounds = self.model.rounds

    # ------------------------------------------------------------------------------------------
    # The parts' state, as the room's (read-only: the parts change it)

    @property
    def version(self) -> int:
        """The room's version: it goes up by one with every change
        (`negotiation.rooms.workshop_live`)."""
        return self.live.version

    @property
    def public_version(self) -> int:
        """The room's public version: it goes up with every change a page shows."""
        return self.live.public_version

    @property
    def changes(self) -> int:
        """Public changes so far: a Workshop with a state directory saves the room when it
        moves."""
        return self.live.changes

    @property
    def admin_token(self) -> str:
        """The facilitator's key: a secret, made when the room is."""
        return self.access.admin_token

    @property
    def participants(self) -> dict[str, Participant]:
        """Everyone who joined, by id (removed people too)."""
        return self.access.participants

    @property
    def holders(self) -> dict[str, list[str]]:
        """Each seat's team, the submitter first."""
        return self.access.holders

    @property
    def locked_seats(self) -> set[str]:
        """The seats the facilitator locked (`lock_seat`)."""
        return self.access.locked_seats

    @property
    def paused(self) -> bool:
        """Whether the facilitator paused the session (`pause`)."""
        return self.timer.paused

    @property
    def deadline(self) -> float | None:
        """The clock time the open round closes (None: no countdown, or paused)."""
        return self.timer.deadline

    @property
    def _paused_left(self) -> float | None:
        return self.timer.paused_left

    # ------------------------------------------------------------------------------------------
    # Notification (`negotiation.rooms.workshop_live`)

    def _touch(self, public: bool = True) -> None:
        """Something changed: new version; wake every page waiting on the room."""
        self._snap = None
        self.live.bump(public)

    def wait(self, version: int, timeout: float = 1.0, public: bool = False) -> RoomSnapshot:
        """The room's snapshot once its version (or public version) differs from `version`, or
        after `timeout` seconds.

        Parameters
        ----------
        version : int
            The version the caller has seen (`RoomSnapshot.version`, or `public_version`).
        timeout : float, default 1.0
            The seconds to wait at most.
        public : bool, default False
            Wait for the public version to move, not the version.

        Returns
        -------
        RoomSnapshot
            The room's snapshot: a new one if the version moved, else the one as it is.
        """
        return self.live.wait(version, timeout, public, self.snapshot)

    def _event(self, kind: str, text: str, seat: str = "") -> None:
        r = self.model.round if self.phase == OVER else self.model.round + 1
        if self.phase == LOBBY:
            r = 0
        after = self.model.event_count
        self.room_events.append(RoomEvent(r, kind, text, self.clock(), seat, after))

    # ------------------------------------------------------------------------------------------
    # Who is who (`Room.access`, negotiation/rooms/workshop_seats.py)

    def replaced(self, token: str) -> bool:
        """Whether `token` was a private link the facilitator replaced (`new_link`).

        Parameters
        ----------
        token : str
            A participant's token, as a page holds it.

        Returns
        -------
        bool
            True if the facilitator gave its participant a new link since.
        """
        return self.access.replaced(token)

    def new_link(self, key: str, pid: str) -> Participant:
        """The facilitator gives a participant a new private link (`Access.new_link`): the old one
        stops working at once, and the participant keeps their seat and team.

        Parameters
        ----------
        key : str
            The facilitator's key (`admin_token`).
        pid : str
            The participant's id.

        Returns
        -------
        Participant
            A copy of the participant, with the new token.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If there is no such participant (or they were removed).
        """
        return self.access.new_link(key, pid)

    def check_admin(self, key: str) -> bool:
        """Whether `key` is the facilitator's key (compared in constant time).

        Parameters
        ----------
        key : str
            What a page holds as the facilitator's key.

        Returns
        -------
        bool
            True if it is the room's `admin_token`.
        """
        return self.access.check_admin(key)

    def join(self, name: str, client: str = "") -> Participant:
        """A new participant, with a secret token (`Access.join`): a browser joins at most
        JOINS_PER_BROWSER times per JOIN_WINDOW seconds, and a room takes at most
        MAX_PARTICIPANTS people and MAX_JOINS joins.

        Parameters
        ----------
        name : str
            The display name (cleaned, `clean_name`; unique in the room, `name_key`).
        client : str, default ""
            The browser asking (its session id); "" from inside the server.

        Returns
        -------
        Participant
            The participant, with their token (their private link).

        Raises
        ------
        WorkshopError
            If the name is empty or someone in the room has it.
        Refused
            If the room is a one-person room with its person, full, has barred this person, or
            this browser joined too many times lately.
        """
        return self.access.join(name, client, MAX_PARTICIPANTS, MAX_JOINS)

    def participant(self, token: str) -> Participant:
        """The participant behind `token`.

        Parameters
        ----------
        token : str
            A participant's token.

        Returns
        -------
        Participant
            A copy of the participant.

        Raises
        ------
        Refused
            If `token` is no link of this room (or one the facilitator replaced), or its
            participant was removed.
        """
        return self.access.participant(token)

    def claim(self, token: str, seat: str) -> Participant:
        """Take `seat`, or join its team (`Access.claim`): a free seat makes you its submitter, a
        held one adds you to its team (if teams are allowed). Claimed before the start, a person
        plays it from round 1; later, from the next round.

        Parameters
        ----------
        token : str
            The participant's token.
        seat : str
            A country's id or the supplier's.

        Returns
        -------
        Participant
            A copy of the participant, in the seat.

        Raises
        ------
        Refused
            If `token` is not valid here, the facilitator locked the seats, or locked this seat.
        WorkshopError
            If there is no such seat, the session is over, or the seat is held and teams are off.
        """
        return self.access.claim(token, seat)

    def locked_refusal(self, seat: str) -> str:
        """Why a person who does not hold `seat` cannot take it: it is locked.

        Parameters
        ----------
        seat : str
            A seat of the room.

        Returns
        -------
        str
            The refusal in words, naming the seat's people.
        """
        return self.access.locked_refusal(seat)

    def lock_seat(self, key: str, seat: str, locked: bool = True) -> None:
        """The facilitator locks or unlocks `seat` (`Access.lock_seat`): nobody new takes a locked
        seat, and its people cannot give it up; the facilitator still assigns it (`assign`).

        Parameters
        ----------
        key : str
            The facilitator's key.
        seat : str
            A seat of the room.
        locked : bool, default True
            Lock it (True) or unlock it (False).

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If there is no such seat.
        """
        self.access.lock_seat(key, seat, locked)

    def seat_person(self, key: str, name: str, seat: str, lock: bool = True) -> Participant:
        """The facilitator seats a named participant (`Access.seat_person`): a new participant
        called `name`, in `seat`; the facilitator hands them their private link.

        Parameters
        ----------
        key : str
            The facilitator's key.
        name : str
            The participant's display name.
        seat : str
            The seat they take.
        lock : bool, default True
            Lock the seat, so that nobody else takes it.

        Returns
        -------
        Participant
            A copy of the new participant, with their token.

        Raises
        ------
        Refused
            If `key` is not the facilitator's, or the room refuses a join (`join`).
        WorkshopError
            If the seat cannot be taken (no such seat, the session is over, held without teams),
            or the name is empty or taken.
        """
        return self.access.seat_person(key, name, seat, lock)

    def assign(self, key: str, pid: str, seat: str | None) -> None:
        """The facilitator puts a participant in `seat`, or takes them off (`Access.assign`),
        locked seats or not.

        Parameters
        ----------
        key : str
            The facilitator's key.
        pid : str
            The participant's id.
        seat : str or None
            The seat; None takes them off their seat.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If there is no such participant, or the seat cannot be taken.
        """
        self.access.assign(key, pid, seat)

    def release(self, token: str) -> None:
        """Give your seat back (`Access.release`): you stay in the room, watching; the seat goes to
        the next of its team, or back to an agent. Nothing if you hold no seat.

        Parameters
        ----------
        token : str
            The participant's token.

        Raises
        ------
        Refused
            If `token` is not valid here, or the facilitator locked the seats or this seat.
        """
        self.access.release(token)

    def remove(self, key: str, pid: str, ban: bool = False) -> None:
        """The facilitator removes (and with `ban`, bars) a participant (`Access.remove`): their
        token stops working, and their seat goes to the next of its team or back to an agent.

        Parameters
        ----------
        key : str
            The facilitator's key.
        pid : str
            The participant's id.
        ban : bool, default False
            Bar them too: they cannot join again from the same browser, nor under the same name.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If there is no such participant (or they were removed already, without `ban`).
        """
        self.access.remove(key, pid, ban)

    def set_submitter(self, key: str, seat: str, pid: str) -> None:
        """The facilitator picks who submits for a team.

        Parameters
        ----------
        key : str
            The facilitator's key.
        seat : str
            The team's seat.
        pid : str
            The id of the participant who submits from now on.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If the participant is not on the seat's team.
        """
        self.access.set_submitter(key, seat, pid)

    def attach(self, token: str, client: str = "") -> Callable[[], None]:
        """A browser page of this participant opened; call the result when it closes
        (`Access.attach`).

        Parameters
        ----------
        token : str
            The participant's token.
        client : str, default ""
            The browser (its session id): pages of one browser are one device; "" counts as a
            device of its own.

        Returns
        -------
        Callable[[], None]
            What to call when the page closes.

        Raises
        ------
        Refused
            If `token` is not valid here.
        """
        return self.access.attach(token, client)

    # ------------------------------------------------------------------------------------------
    # Seats changing hands in the engine

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
        now_person = person_plays(self.model, seat)
        if (who == "person") == now_person:
            self._run.pending_seats.pop(seat, None)
        else:
            self._run.pending_seats[seat] = who
        self._call({"kind": "seats", "strategies": dict(self._run.pending_seats)})

    # ------------------------------------------------------------------------------------------
    # Play control: the facilitator

    def start(self, key: str) -> None:
        """Open round 1 with the seats claimed so far played by their people (nothing once
        started).

        Parameters
        ----------
        key : str
            The facilitator's key.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        """
        with self.lock:
            self.access.admin(key)
            self._start()

    def _start(self) -> None:
        if self.phase != LOBBY:
            return
        people = tuple(s for s in self.seats if self.holders[s])
        self.model, self.agents = build_model(
            self.config, self.seed, self.rounds_requested, people, self.levers
        )
        self._run.opening = people
        self.phase = RUNNING
        self._open_round()
        who = ", ".join(self.names[s] for s in people) or "nobody (agents play every seat)"
        self._event("start", f"The session started; people play {who}")
        self._touch()
        self._advance()

    def force(self, key: str) -> None:
        """Play the open round now: an agent answers for every seat that has not decided.

        Parameters
        ----------
        key : str
            The facilitator's key.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If the session has not started or is over.
        """
        with self.lock:
            self.access.admin(key)
            self._require_running()
            self._play(force=True, how="forced by the facilitator")

    def play_on(self, token: str) -> None:
        """In a one-person room, the person plays the next round when there is nothing for them
        to decide (the room shows each round's outcome until they do).

        Parameters
        ----------
        token : str
            The person's token.

        Raises
        ------
        Refused
            If `token` is not valid here, or the room is not a one-person room.
        WorkshopError
            If the session is not running, or the round waits for the person's decision.
        """
        with self.lock:
            p = self.access.person(token)
            if not self.solo:
                raise Refused("Only the facilitator moves the session on.")
            self._require_running()
            if p.seat and p.seat in self.model.awaiting():
                raise WorkshopError("Decide first: the round is waiting for you.")
            self._play(force=True, how="played on")

    def pause(self, key: str) -> None:
        """The facilitator pauses the session: the round's countdown stops, keeping the time it
        had left, and no decision is taken until `resume` (nothing if paused already).

        Parameters
        ----------
        key : str
            The facilitator's key.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        """
        with self.lock:
            self.access.admin(key)
            if self.timer.paused:
                return
            self.timer.pause(self.clock())
            self._event("pause", "The facilitator paused the session")
            self._touch()

    def resume(self, key: str) -> None:
        """The facilitator resumes a paused session: the countdown goes on with the time it had
        left, and a round that waits for nobody is played (nothing if not paused).

        Parameters
        ----------
        key : str
            The facilitator's key.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        """
        with self.lock:
            self.access.admin(key)
            if not self.timer.paused:
                return
            self.timer.resume(self.clock())
            self._event("pause", "The facilitator resumed the session")
            self._touch()
            self._advance()

    def announce(self, key: str, text: str) -> None:
        """The facilitator's message to the room, shown on every participant's page and on the
        projector until the next one ("" takes it down). Cleaned as names are (no control or
        format characters), at most MAX_MESSAGE characters; it enters the narrative.

        Parameters
        ----------
        key : str
            The facilitator's key.
        text : str
            The message; "" for none.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        """
        with self.lock:
            self.access.admin(key)
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
        on the facilitator's page until answered. Once a round.

        Parameters
        ----------
        token : str
            The person's token.

        Raises
        ------
        Refused
            If `token` is not valid here.
        WorkshopError
            If the session is not running, the person's seat is not cooling off, or it asked
            already this round.
        """
        with self.lock:
            p = self.access.person(token)
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
        left, an engine lever like any other (in the record and the narrative).

        Parameters
        ----------
        key : str
            The facilitator's key.
        seat : str
            The country's id.

        Returns
        -------
        int
            The round it is invited from.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If the session is not running, the country is not cooling off, or it is invited
            from the next round already.
        """
        with self.lock:
            self.access.admin(key)
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
            self.snapshots.forget_idle()  # its words change
            self._touch()
            return r + 1

    def reset_practice(self, key: str) -> None:
        """End a practice: the room goes back to round 0, before the start, with every person
        in the seat they hold and the seats' locks, settings and the opening levers as they
        were (a lever changed during the practice is undone); the facilitator starts the real
        session when ready. What the practice played is kept in the record (`practice`), out of
        the session's decisions, rounds and replay; the narrative says the room was reset.

        Parameters
        ----------
        key : str
            The facilitator's key.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If the session has not started.
        """
        with self.lock:
            self.access.admin(key)
            if self.phase == LOBBY:
                raise WorkshopError("The session has not started: there is nothing to reset.")
            played = self.model.round
            start = max((i for i, e in enumerate(self.room_events) if e.kind == "start"), default=0)
            self.practice.append(
                {
                    "rounds_played": played,
                    "reset": now_iso(self.clock()),
                    "opening_people": list(self._run.opening),
                    "actions": copy.deepcopy(self.actions),
                    "closed": {str(r): how for r, how in self.closed.items()},
                    "room_events": [event_data(e) for e in self.room_events[start:]],
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
            self._run.opening = ()
            self._run.engine_calls = 0
            self.snapshots.forget_panels()
            self._run.pending_seats = {}
            self._run.required = frozenset()
            self.timer.reset()
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
        """More time for the open round (starts a countdown if the round has none).

        Parameters
        ----------
        key : str
            The facilitator's key.
        seconds : float
            The seconds added.

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If the session has not started or is over.
        """
        with self.lock:
            self.access.admin(key)
            self._require_running()
            seconds = float(seconds)
            self.timer.extend(seconds, self.clock())
            self._event("timer", f"The facilitator gave {seconds:g} s more")
            self._touch()

    def configure(self, key: str, **changes: Any) -> None:
        """Change settings: show_decisions, timer_seconds (None or 0 for none; from the next
        round, or now if the open round has no countdown), teams, seats_locked.

        Parameters
        ----------
        key : str
            The facilitator's key.
        **changes
            The settings changed, by name (`Settings`): ``show_decisions`` (bool),
            ``timer_seconds`` (float or None), ``teams`` (bool), ``seats_locked`` (bool).

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If a setting is unknown, or the timer is not a positive number of seconds.
        """
        with self.lock:
            self.access.admin(key)
            unknown = set(changes) - {"show_decisions", "timer_seconds", "teams", "seats_locked"}
            if unknown:
                raise WorkshopError(f"unknown setting(s): {', '.join(sorted(unknown))}")
            if "timer_seconds" in changes:
                t = changes["timer_seconds"]
                t = None if t in (None, 0, "") else float(t)
                if t is not None and not (math.isfinite(t) and t > 0):
                    raise WorkshopError("The round timer must be a positive number of seconds.")
                changes["timer_seconds"] = t
                self.timer.set_timer(t, self.phase == RUNNING, self.clock())
            self.settings = replace(self.settings, **changes)
            self._touch()

    def set_levers(self, key: str, **changes: Any) -> None:
        """Live levers (instrument, penalty, floors, ...), from the next round; before the start,
        the model is built again with them.

        Parameters
        ----------
        key : str
            The facilitator's key.
        **changes
            The levers changed, by name, as `BlocModel.set_levers` takes them (not the seats'
            strategies: seats change hands by claiming them).

        Raises
        ------
        Refused
            If `key` is not the facilitator's.
        WorkshopError
            If the engine refuses a lever, a lever names the seats' strategies, or the session
            is over.
        """
        with self.lock:
            self.access.admin(key)
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
        next one. None (callers inside the server, replays' tests) means the open round.

        Parameters
        ----------
        token : str
            The participant's token.
        seat : str
            The seat they decide for.
        decision : Decision or SupplierMove
            A country's decision, or the supplier's move.
        for_round : int or None, default None
            The round the decision is for; None for the open round.

        Raises
        ------
        Refused
            If `token` is not valid here, the participant does not hold `seat`, or another of
            its team submits.
        WorkshopError
            If the round closed, the session is not running or is paused, the seat has nothing
            to decide this round, or the decision's numbers are out of bounds.
        """
        with self.lock:
            p = self._decider(token, seat, for_round)
            data = encode_decision(decision)
            check_decision(self.model, self.config, decision)
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

    def _decider(self, token: str, seat: str, for_round: int | None) -> Participant:
        """The person behind `token` if they may decide for `seat` in the open round (`submit`,
        `propose`: the round they saw is open, they hold the seat and lead its team, the session
        runs and is not paused, and the seat decides this round); else Refused or
        WorkshopError, saying why."""
        p = self.access.person(token)
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
                "The session has not started." if self.phase == LOBBY else "The session is over."
            )
        if self.paused:
            raise WorkshopError("The facilitator has paused the session: wait a moment.")
        if seat not in self._run.required:
            if person_plays(self.model, seat) or seat not in self._run.pending_seats:
                raise WorkshopError(f"{self.names[seat]} has nothing to decide this round.")
            raise WorkshopError(
                f"An agent plays {self.names[seat]} this round; you decide from round "
                f"{self.model.round + 2}."
            )
        return p

    def propose(
        self,
        token: str,
        seat: str,
        terms: Mapping[str, Any] | None = None,
        invited: Sequence[str] | None = None,
        for_round: int | None = None,
    ) -> dict[str, Any]:
        """A person at the seat that tables the package (the convener's, or the member's whose
        turn it is) tables it for the open round, once a round (`BlocModel.propose`): the
        members decide its new terms under the agreement rule; agreed, the invitees answer on
        it (on new terms, a person who had answered, to join, to stay or with the supplier's
        move, answers again) and
        those left out are not asked this round; refused, nothing changes. The narrative tells
        it.

        Parameters
        ----------
        token : str
            The participant's token.
        seat : str
            The seat they table the package for.
        terms : mapping or None, default None
            ``floors`` (USD per tonne, by mineral), ``penalty`` (1 = 100 %), ``cost_sharing``
            ("consumption" or "equal", or the scenario's own table of shares),
            ``instrument`` ("border", "price_gap" or "stockpile"), ``partners`` (the offtake
            partners, a list of countries), ``offtake_share`` (every partner's share of its
            output under contract, 0.01 to 1) and ``offtake_shares`` (partners' own shares, a
            table that replaces the one in force), each optional; None: the terms in force.
        invited : sequence of str or None, default None
            Whom it invites among those the round asks on its package (None: all of them).
        for_round : int or None, default None
            The round the person saw (as `submit`).

        Returns
        -------
        dict
            The forecast it was decided on, as `preview_proposal` gives it.

        Raises
        ------
        Refused
            As `submit`.
        WorkshopError
            As `submit`; or if the seat tables no package this round, has tabled one already,
            or the terms or the invitees are not ones it may table.
        """
        with self.lock:
            p = self._decider(token, seat, for_round)
            self._tabling(seat)
            check_package(self.model, self.config, terms or {}, invited)
            supplier = self.model.supplier_id
            before = {*self.model.prepare_round().views, supplier}
            waiting = set(self.model.awaiting())
            try:
                f = self.model.proposal_forecast(seat, terms, invited)
            except ValueError as e:
                raise WorkshopError(str(e)) from e
            try:
                self._call(
                    {
                        "kind": "propose",
                        "seat": seat,
                        "terms": copy.deepcopy(dict(terms or {})),
                        "invited": None if invited is None else list(invited),
                        "participant": p.name,
                        "participant_id": p.id,
                    }
                )
            except ValueError as e:
                raise WorkshopError(str(e)) from e
            # The seats no longer asked this round (left out) decide nothing in it; the answers
            # the model set aside (on new terms, or of those left out) no longer count.
            asked = {*self.model.prepare_round().views, supplier}
            now = set(self.model.awaiting())
            self._run.required = frozenset(s for s in self._run.required
                                           if s in asked or s not in before)  # fmt: skip
            reset = {s for s in before if s != seat and s not in waiting
                     and (s in now or s not in asked)}  # fmt: skip
            r = self.model.round + 1
            for act in self.actions:
                if act["kind"] == "submit" and act["round"] == r and act["seat"] in reset:
                    act["withdrawn"] = True
            self.snapshots.forget_panels()  # the package on the table changed
            self.snapshots.forget_idle()  # and who is asked
            self._touch()
            self._advance()
            return self._proposal_words(seat, f)

    def preview_proposal(
        self,
        token: str,
        terms: Mapping[str, Any] | None = None,
        invited: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """What a package tabled on these terms would meet, before the person tables it
        (`BlocModel.proposal_forecast`). Nothing in the run changes.

        Parameters
        ----------
        token : str
            The token of a person whose seat tables the package in the open round.
        terms, invited
            As `propose`.

        Returns
        -------
        dict
            ``value``, the change in the seat's utility (USD/yr) from the bloc as it stands to
            the bloc it expects; ``changes``, whether any term differs from the one in force
            (else the members have nothing to decide); ``invitees``, (display name, its gain
            from joining as the seat expects it, whether it is expected to accept) for each
            invited; ``answers``, each other member's expected yes or no by display name;
            ``agreed``, whether the agreement rule carries the terms; ``rule`` and ``words``,
            in words; ``verdict``, the members' answer in a sentence.

        Raises
        ------
        Refused
            If `token` is not valid here.
        WorkshopError
            If the person's seat tables no package this round, or the terms or the invitees are
            not ones it may table.
        """
        with self.lock:
            p = self.access.person(token)
            seat = p.seat
            if seat is None or seat not in self._run.required:
                raise WorkshopError("Nothing to table for you this round.")
            self._tabling(seat)
            check_package(self.model, self.config, terms or {}, invited)
            try:
                f = self.model.proposal_forecast(seat, terms, invited)
            except ValueError as e:
                raise WorkshopError(str(e)) from e
            return self._proposal_words(seat, f)

    def suggest_proposal(self, token: str) -> dict[str, Any]:
        """What an agent convener's design search would table at the person's seat this round,
        on the terms a package tabled here sets (`BlocModel.suggestion`: the floors, the
        outsider penalty, the cost-sharing key, the instrument and whom to invite, as far as
        the seat's tables let an agent design them; offtake partners and their contracts
        too), with its forecast. Nothing in
        the run changes; the person may table it as it is (`propose`).

        Parameters
        ----------
        token : str
            The token of a person whose seat tables the package in the open round.

        Returns
        -------
        dict
            As `preview_proposal`, and ``terms`` and ``invited`` (as `propose` takes them),
            ``invited_names`` (whom it invites, by display name), ``summary`` (what it tables
            against the terms in force, in words), ``rather`` (the package it would rather
            have tabled that the members would refuse, in words; "" if none),
            and ``agent_designs`` (whether an agent in the seat designs this round; else it
            would table the terms in force).

        Raises
        ------
        Refused
            If `token` is not valid here.
        WorkshopError
            If the person's seat tables no package this round.
        """
        with self.lock:
            p = self.access.person(token)
            seat = p.seat
            if seat is None or seat not in self._run.required:
                raise WorkshopError("Nothing to table for you this round.")
            self._tabling(seat)
            try:
                f = self.model.suggestion(seat)
            except ValueError as e:
                raise WorkshopError(str(e)) from e
            return {
                **self._proposal_words(seat, f),
                "terms": f["terms"],
                "invited": list(f["invited"]),
                "invited_names": [self.names[a] for a in f["invited"]],
                "summary": f["summary"],
                "rather": f["rather"],
                "agent_designs": bool(f["agent_designs"]),
            }

    def _tabling(self, seat: str) -> dict[str, Any]:
        """What the seat may table this round (`BlocModel.tabling`), or WorkshopError."""
        t = self.model.tabling(seat)
        if t is None:
            raise WorkshopError(f"{self.names[seat]} does not table the package this round.")
        return t

    def _proposal_words(self, seat: str, f: Mapping[str, Any]) -> dict[str, Any]:
        """A package's forecast (`BlocModel.proposal_forecast`) as a page shows it."""
        answers = self._answers({m: v for m, v in f["verdicts"].items() if m != seat})
        changes = bool(f["changes"])
        expected = set(f["expected"])
        invitees = tuple((self.names[a], float(g), a in expected) for a, g in f["invitees"].items())
        return {
            "value": float(f["values"][seat]),
            "invitees": invitees,
            "answers": answers,
            "agreed": bool(f["agreed"]),
            "rule": f["rule"],
            "words": f["words"],
            "changes": changes,
            "verdict": table_verdict(answers, f["agreed"], f["rule"], changes),
        }

    # ------------------------------------------------------------------------------------------
    # Rounds

    def _call(self, act: dict[str, Any]) -> None:
        """Make an engine call and record it (only if the engine took it)."""
        act = {"kind": act["kind"], "round": self.model.round + 1, **act}
        act["time"] = now_iso(self.clock())
        apply_action(self.model, self.agents, act)
        act["seq"] = len(self.actions)
        self.actions.append(act)
        self._run.engine_calls += 1

    def _open_round(self) -> None:
        """The next round is open: who must decide, and its countdown."""
        m = self.model
        if m.round >= m.rounds:
            self.phase = OVER
            self.timer.stop()
            self._run.required = frozenset()
            self._event("over", f"The session is over after {m.round} rounds")
            return
        self._run.required = frozenset(m.awaiting())
        self.timer.open_round(self.settings.timer_seconds, self.clock())

    def _play(self, force: bool, how: str) -> None:
        r = self.model.round + 1
        # Seats a person was to decide for and that had not (R2): an agent's default answers
        # for them, and the narrative says which and what.
        silent = [s for s in self.seats if s in self._run.required and s in self.model.awaiting()]
        leads = {s: self.participants[self.holders[s][0]].name for s in silent if self.holders[s]}
        was_member = {s: s in self.model.members for s in silent}
        self._call({"kind": "play", "force": force, "how": how})
        self.closed[r] = how
        if how in CLOSED_WORDS:
            text = self._closed_text(r, how, silent, leads, was_member)
            after = self.model.event_count
            self.room_events.append(RoomEvent(r, "closed", text, self.clock(), after=after))
        self._run.pending_seats = {}
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
            if self._run.required:
                if undecided & held:
                    return
                how = "all decided" if not undecided else "all decided; an agent for empty seats"
                self._play(force=bool(undecided), how=how)
            elif held and not self.solo_waits():
                self._play(force=False, how="nothing to decide")
            else:
                return

    def solo_waits(self) -> bool:
        """A one-person room shows each round's outcome until the person plays on.

        Returns
        -------
        bool
            True in a one-person room: rounds with nothing to decide wait for `play_on`.
        """
        return self.solo

    def tick(self, now: float | None = None) -> bool:
        """Force the open round if its time is up (the server's ticker calls this).

        Parameters
        ----------
        now : float or None, default None
            The clock time; None for the room's clock now.

        Returns
        -------
        bool
            True if it forced the round.
        """
        with self.lock:
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
        p = self.access.person(token)
        seat = p.seat
        if seat is None or seat not in self._run.required or seat == self.model.supplier_id:
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
        (`BlocModel.counter_forecast`). Nothing in the run changes.

        Parameters
        ----------
        token : str
            The token of a person whose country is invited to join in the open round.
        terms : mapping
            The counter-proposal's terms: ``floors`` (USD per tonne, by mineral), ``penalty``
            (1 = 100 %) and ``cost_sharing`` ("consumption" or "equal"), each optional.

        Returns
        -------
        dict
            ``gain``, the seat's components (USD/yr) if it joins on these terms minus staying
            out; ``answers``, each member's expected yes or no by display name; ``agreed``,
            whether the agreement rule carries it; ``rule`` in words; ``verdict``, all of it in
            a sentence.

        Raises
        ------
        Refused
            If `token` is not valid here.
        WorkshopError
            If the person's seat is no country invited to join this round, or the terms are
            out of bounds.
        """
        with self.lock:
            seat = self._counter_seat(token)
            check_terms(self.model, self.config, terms)
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
        answers and its terms ready for the form.

        Parameters
        ----------
        token : str
            The token of a person whose country is invited to join in the open round.

        Returns
        -------
        tuple of CounterChoice
            The choices, in the agent's order.

        Raises
        ------
        Refused
            If `token` is not valid here.
        WorkshopError
            If the person's seat is no country invited to join this round.
        """
        with self.lock:
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
        (`negotiation.experiments.bargaining_space`, a query), computed once a round for every page
        that shows it.

        Returns
        -------
        pandas.DataFrame or None
            The bargaining space; None before the first round is played.
        """
        with self.lock:
            m = self.model
            if m.round < 1:
                return None
            cached = self._bargaining
            if cached is None or cached[0] is not m or cached[1] != m.round:
                cached = self._bargaining = (
                    m,
                    m.round,
                    bargaining_space(m, minerals=table_minerals(m)),
                )
            return cached[2]

    def preview_move(self, token: str, move: SupplierMove) -> dict[str, Any]:
        """For the supplier: its utility this round with this move against selling normally,
        and each member's gain from staying in, with today's members (USD/yr).

        Parameters
        ----------
        token : str
            The token of the person in the supplier's seat.
        move : SupplierMove
            The move to forecast.

        Returns
        -------
        dict
            The forecast (`BlocModel.move_forecast`).

        Raises
        ------
        Refused
            If `token` is not valid here.
        WorkshopError
            If the person does not hold the supplier's seat, or the move is out of bounds.
        """
        with self.lock:
            p = self.access.person(token)
            m = self.model
            if p.seat != m.supplier_id:
                raise WorkshopError("Only the supplier's seat forecasts moves.")
            check_decision(self.model, self.config, move)
            return m.move_forecast(move)

    # ------------------------------------------------------------------------------------------
    # Snapshots (`Room.snapshots`, negotiation/rooms/workshop_snapshot.py)

    def snapshot(self) -> RoomSnapshot:
        """The room as the pages render it (`negotiation.rooms.workshop_live`): built under the
        room's lock once per version (`SnapshotBuilder.build`) and shared by every page.

        Returns
        -------
        RoomSnapshot
            The room's snapshot, its `time_left` and `taken_at` as of now.
        """
        with self.lock:
            if self._snap is None:
                self._snap = self.snapshots.build(
                    self, self._run.required, self._run.pending_seats, self._run.engine_calls
                )
            snap = self._snap
        if snap.deadline is None:
            return snap
        now = self.clock()
        return replace(snap, time_left=max(snap.deadline - now, 0.0), taken_at=now)

    def _records(self) -> dict[str, pd.DataFrame]:
        """The model's records (`SnapshotBuilder.records`), as snapshots and the record have
        them."""
        return self.snapshots.records(self.model, self._run.engine_calls)

    # ------------------------------------------------------------------------------------------
    # The record and saved state (`Room.archive`, negotiation/rooms/workshop_record.py)

    def record(self) -> dict[str, Any]:
        """The whole session as plain data (JSON-ready): settings, people, every engine call in
        order (decisions with seat, person and time), and each round's outcome
        (`Archive.record`).

        Returns
        -------
        dict
            The record (RECORD_FORMAT); `replay` makes the same calls on a new model.
        """
        return self.archive.record()

    def export_json(self) -> str:
        """The record (`record`) as JSON text: session.json of the exports.

        Returns
        -------
        str
            The record, indented.
        """
        return self.archive.export_json()

    def export_csv(self, table: str) -> str:
        """One table of the record as CSV (see `spreadsheet_csv`): decisions, rounds, actors,
        events, levers or participants.

        Parameters
        ----------
        table : str
            The table's name.

        Returns
        -------
        str
            The table as CSV, safe in a spreadsheet.

        Raises
        ------
        KeyError
            If the record has no such table.
        """
        return self.archive.export_csv(table)

    def export_zip(self) -> bytes:
        """Every table as CSV, with session.json (exact), in one zip file.

        Returns
        -------
        bytes
            The zip file.
        """
        return self.archive.export_zip()

    def file_stem(self) -> str:
        """The exports' file name, without extension.

        Returns
        -------
        str
            ``workshop-CODE-SCENARIO-seedN``, letters, digits, - and _ only.
        """
        return self.archive.file_stem()

    def state(self) -> dict[str, Any]:
        """Everything needed to bring the room back after a restart (`from_state`), secrets
        included (`Archive.state`).

        Returns
        -------
        dict
            Plain data (STATE_FORMAT): the record and what it leaves out (tokens, the
            facilitator key, teams, the open round's pending seats). Keep it from anyone but
            the server's operator.
        """
        return self.archive.state()

    @classmethod
    def from_state(cls, data: Mapping[str, Any], clock: Callable[[], float] = time.time) -> Room:
        """The room saved in `data` (`state`), replayed to where it was
        (`negotiation.rooms.workshop_record.from_state`).

        Parameters
        ----------
        data : mapping
            A room's saved state (`state`).
        clock : Callable[[], float], default time.time
            The room's clock.

        Returns
        -------
        Room
            The room, with the same code, key, links, seats, round and decisions.

        Raises
        ------
        WorkshopError
            If `data` is not a saved room, or does not replay to itself.
        """
        return from_state(cls, data, clock)


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
        self._ticker: Ticker | None = None
        self._stop = threading.Event()
        #: where each room's state is saved (`save`), None for nowhere; `bloc workshop
        #: --state-dir` sets it
        self.state_dir = Path(state_dir) if state_dir else None
        self._saved: dict[str, int] = {}  # code -> the room's `changes` when last saved
        self._save_lock = threading.Lock()

    def scenario_choices(self) -> list[str]:
        """The scenario names a page may ask for: the built-in ones and the operator's.

        Returns
        -------
        list of str
            The names, the built-in ones first.
        """
        names = scenario_names()
        if self.operator_scenario and self.operator_scenario not in names:
            names.append(self.operator_scenario)
        return names

    def scenario(self, name: str) -> Scenario:
        """The scenario called `name`, if it is one of `scenario_choices()`. The refusal says
        nothing of `name` beyond that: it never touches the file system for it.

        Parameters
        ----------
        name : str
            The scenario's name, as a page gives it.

        Returns
        -------
        Scenario
            The scenario, loaded.

        Raises
        ------
        WorkshopError
            If `name` is not one of `scenario_choices()`.
        """
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
        `scenario_choices()` (refused otherwise, see `scenario`).

        Parameters
        ----------
        scenario : str or Scenario, default DEFAULT_SCENARIO
            The scenario, or its name.
        seed : int or None, default None
            The run's seed; None for the scenario's (else 0).
        rounds : int or None, default None
            The rounds to play; None for the scenario's.
        settings : Settings or None, default None
            The facilitator's settings; None for the defaults.
        levers : mapping or None, default None
            The opening levers, by name (`BlocModel`'s).
        solo : bool, default False
            A one-person room (`solo`).
        clock : Callable[[], float], default time.time
            The room's clock.
        code_length : int, default CODE_LENGTH
            The join code's length.

        Returns
        -------
        Room
            The room, in the lobby, with a new join code.

        Raises
        ------
        WorkshopError
            If `rounds` is below 1, the seed is negative, the scenario is not one of
            `scenario_choices()`, or the server has too many rooms of the kind open.
        """
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
        while the server has none).

        Parameters
        ----------
        secret : str
            What the facilitator typed.

        Returns
        -------
        bool
            True if it is the server's facilitator secret.
        """
        if not (self.facilitator_secret and isinstance(secret, str)):
            return False
        return secrets.compare_digest(secret.encode(), self.facilitator_secret.encode())

    def open_room(
        self, secret: str, scenario: str | Scenario = DEFAULT_SCENARIO, *, client: str = "",
        **options: Any,
    ) -> Room:  # fmt: skip
        """A room a facilitator opens from a page: only with the server's facilitator secret.
        `client` is the browser asking (its session id): it may get the secret wrong
        SECRET_TRIES_PER_BROWSER times per SECRET_WINDOW seconds.

        Parameters
        ----------
        secret : str
            The facilitator secret, as typed.
        scenario : str or Scenario, default DEFAULT_SCENARIO
            The scenario, or its name (`create`).
        client : str, default ""
            The browser asking (its session id).
        **options
            `create`'s other arguments.

        Returns
        -------
        Room
            The new room.

        Raises
        ------
        Refused
            If the secret is wrong, or this browser got it wrong too often lately.
        WorkshopError
            If `create` refuses the room.
        """
        self.check_facilitator(secret, client)
        return self.create(scenario, **options)

    def open_room_from_upload(
        self, secret: str, read: Callable[[int], bytes], *, client: str = "", **options: Any
    ) -> Room:
        """A room on a scenario file the facilitator uploads: the secret is checked before a
        byte is read, then the file (see `scenario_from_upload`).

        Parameters
        ----------
        secret : str
            The facilitator secret, as typed.
        read : Callable[[int], bytes]
            Reads the uploaded file: ``read(n)`` reads at most n bytes.
        client : str, default ""
            The browser asking (its session id).
        **options
            `create`'s other arguments.

        Returns
        -------
        Room
            The new room, on the uploaded scenario.

        Raises
        ------
        Refused
            If the secret is wrong, or this browser got it wrong too often lately.
        WorkshopError
            If the file is too large or not a valid scenario, or `create` refuses the room.
        """
        self.check_facilitator(secret, client)
        return self.create(scenario_from_upload(read(MAX_UPLOAD_BYTES + 1)), **options)

    def check_facilitator(self, secret: str, client: str = "") -> None:
        """Refuse unless `secret` is the facilitator secret; `client` (the browser) may get
        it wrong SECRET_TRIES_PER_BROWSER times per SECRET_WINDOW seconds.

        Parameters
        ----------
        secret : str
            The facilitator secret, as typed.
        client : str, default ""
            The browser asking (its session id).

        Raises
        ------
        Refused
            If the secret is wrong, or this browser got it wrong too often lately.
        """
        if self._secret_tries.blocked(client):
            raise Refused("Too many wrong secrets from this browser: wait a minute.")
        if not self.check_secret(secret):
            self._secret_tries.hit(client)
            raise Refused(
                "That is not this server's facilitator secret (`bloc workshop` prints it on "
                "its console when it starts)."
            )

    def get(self, code: str) -> Room:
        """The room with join code `code`, as a person typed it (`normalize_code`).

        Parameters
        ----------
        code : str
            The join code.

        Returns
        -------
        Room
            The room.

        Raises
        ------
        RoomNotFound
            If no room of this server has the code.
        """
        room = self.rooms.get(normalize_code(code or ""))
        if room is None:
            raise RoomNotFound(f"No room has the code {code!r}: check it with your facilitator.")
        return room

    def lookup(self, code: str | None, client: str = "") -> Room | None:
        """The room a page names by code (`find`), for a browser (`client`): one that has
        tried CODE_MISSES_PER_BROWSER codes matching no room in CODE_MISS_WINDOW seconds is
        refused any room until the window has passed, so that codes cannot be guessed.

        Parameters
        ----------
        code : str or None
            The join code, as the page has it.
        client : str, default ""
            The browser asking (its session id).

        Returns
        -------
        Room or None
            The room; None if no room has the code.

        Raises
        ------
        Refused
            If this browser tried too many wrong codes lately.
        """
        if self._code_misses.blocked(client):
            raise Refused("Too many wrong room codes from this browser: wait a few minutes.")
        room = self.find(code)
        if room is None and code:
            self._code_misses.hit(client)
        return room

    def find(self, code: str | None) -> Room | None:
        """The room with join code `code` (`get`), or None.

        Parameters
        ----------
        code : str or None
            The join code.

        Returns
        -------
        Room or None
            The room; None if no room has the code.
        """
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
        most SOLO_ROOMS_PER_BROWSER per SOLO_WINDOW seconds, and they have their own cap.

        Parameters
        ----------
        scenario : str or Scenario
            The scenario, or its name (`create`).
        seat : str
            The person's seat.
        name : str, default "You"
            The person's display name.
        seed : int or None, default None
            The run's seed (`create`).
        rounds : int or None, default None
            The rounds to play (`create`).
        client : str, default ""
            The browser asking (its session id).

        Returns
        -------
        tuple of (Room, Participant)
            The room, started, and a copy of its person, with their token.

        Raises
        ------
        Refused
            If this browser opened too many rooms lately.
        WorkshopError
            If `create` refuses the room, or the seat cannot be taken.
        """
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
                self._ticker = Ticker(
                    self._tick, self._tick_seconds, self._stop, name="bloc-workshop-timer"
                )
                self._ticker.start()

    def _tick(self) -> None:
        """A tick of the ticker: close the rounds whose time is up, save the rooms that changed."""
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
        """The file a room's state is saved to (the Workshop must have a state directory).

        Parameters
        ----------
        code : str
            The room's join code.

        Returns
        -------
        pathlib.Path
            ``room-CODE.json`` in the state directory.
        """
        assert self.state_dir is not None
        return self.state_dir / f"room-{code}.json"

    def save(self, room: Room) -> Path | None:
        """Write the room's state (`Room.state`) to `state_path`, atomically (a temporary file
        in the same directory, renamed over the old one: a crash leaves the old state or the
        new, never half of one), readable and writable by the owner only (0600: it holds the
        room's tokens).

        Parameters
        ----------
        room : Room
            One of this Workshop's rooms.

        Returns
        -------
        pathlib.Path or None
            The file written; None if the Workshop has no state directory, or the room is not
            (or no longer) one of its rooms.

        Raises
        ------
        OSError
            If the file cannot be written.
        """
        if self.state_dir is None:
            return None
        with self._save_lock:
            if self.rooms.get(room.code) is not room:
                return None  # forgotten meanwhile (`_prune`): its file must not come back
            with room.lock:
                changes = room.changes
                state = room.state()  # fresh plain data: written out without the room's lock
            text = json.dumps(state, default=json_default)
            path = self.state_path(room.code)
            write_private(path, text)
            self._saved[room.code] = changes
            return path

    def save_changed(self) -> list[str]:
        """Save every room that changed since it was last saved (the timer thread calls this
        every `tick_seconds`, so a room is saved within a fraction of a second of each
        decision, round, seat or setting change). A room that cannot be saved is said on the
        console and tried again at the next change; the others are saved all the same.

        Returns
        -------
        list of str
            The codes of the rooms saved.
        """
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
        """The files of the state directory that `resume` reads (`*.json`).

        Returns
        -------
        list of pathlib.Path
            The files, sorted; none without a state directory.
        """
        if self.state_dir is None or not self.state_dir.is_dir():
            return []
        return sorted(p for p in self.state_dir.glob("*.json") if not p.name.startswith("."))

    def resume(self, clock: Callable[[], float] = time.time) -> tuple[list[Room], list[str]]:
        """Bring back every room saved in the state directory (`Room.from_state`); a refused
        file is left as it is and the other rooms come back all the same.

        Parameters
        ----------
        clock : Callable[[], float], default time.time
            The rooms' clock.

        Returns
        -------
        tuple of (list of Room, list of str)
            The rooms brought back, and a message for each file refused (damaged, not a saved
            room, another room's code already open here), naming the file.
        """
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
        """Stop the server's ticker (its thread ends within a tick); the rooms stay."""
        self._stop.set()


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


#: What other modules import from here (the parts' names are re-exported: see the docstring).
__all__ = [
    "ALPHABET",
    "CLOSED_WORDS",
    "CODE_LENGTH",
    "CODE_MISSES_PER_BROWSER",
    "CODE_MISS_WINDOW",
    "FORMULA_STARTS",
    "JOINS_PER_BROWSER",
    "JOIN_WINDOW",
    "LOBBY",
    "MAX_FLOOR_MULTIPLE",
    "MAX_JOINS",
    "MAX_MESSAGE",
    "MAX_NAME",
    "MAX_PARTICIPANTS",
    "MAX_PENALTY",
    "MAX_ROOMS",
    "MAX_SIDE_OFFER",
    "MAX_SOLO_ROOMS",
    "MAX_STATE_BYTES",
    "MAX_UPLOAD_BYTES",
    "MIN_SECRET",
    "OVER",
    "PERSON",
    "RECORD_FORMAT",
    "RECORD_VERSION",
    "REPLACED_LINK",
    "ROOM_IDLE",
    "ROSTER_EVENTS",
    "RUNNING",
    "SEATS_LOCKED",
    "SECRET_TRIES_PER_BROWSER",
    "SECRET_WINDOW",
    "SOLO_IDLE",
    "SOLO_ROOMS_PER_BROWSER",
    "SOLO_WINDOW",
    "STATE_FORMAT",
    "STATE_VERSION",
    "SUPPLIER_MOVE_WORDS",
    "WORKSHOP",
    "agent_strategies",
    "apply_action",
    "build_model",
    "clean_name",
    "clean_text",
    "counter_verdict",
    "CounterChoice",
    "decode_decision",
    "default_state_dir",
    "describe_decision",
    "encode_decision",
    "lan_addresses",
    "load_record",
    "name_key",
    "neutralise_formula",
    "new_code",
    "normalize_code",
    "now_iso",
    "Panel",
    "Participant",
    "person_strategy",
    "public_url",
    "RateLimit",
    "Refused",
    "replay",
    "Room",
    "RoomEvent",
    "RoomInfo",
    "RoomNotFound",
    "RoomSnapshot",
    "scenario_from_upload",
    "seat_locked",
    "SeatState",
    "Settings",
    "spreadsheet_csv",
    "story_key",
    "tables_from_record",
    "told_lever",
    "Workshop",
    "WorkshopError",
    "write_private",
]

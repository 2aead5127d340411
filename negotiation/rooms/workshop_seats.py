"""A room's seats and who may act in them: the participants and their secret tokens (private
links, replaced by the facilitator's `new_link`), the facilitator's key, joins (capped and
rate-limited per browser), seats claimed, shared as teams, given back, locked and assigned,
people removed and barred, and the pages each person has open (`attach`).

`Access` is a part of a `Room` (`Room.access`): the room's public methods for these hand over
to it. It works under the room's lock (`Room.lock`, see `negotiation.rooms.workshop_live`),
reads the room's public state (its seats, names, settings, phase, clock) and tells the room what
changed through the `SeatHooks` the room hands it when it builds it (issue 17): a line of the
narrative, a new version, a seat that changes hands in the engine, a round that may now be
played.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from negotiation.rooms.workshop_common import (
    JOIN_WINDOW,
    JOINS_PER_BROWSER,
    MAX_JOINS,
    MAX_PARTICIPANTS,
    OVER,
    REPLACED_LINK,
    SEATS_LOCKED,
    Participant,
    RateLimit,
    Refused,
    WorkshopError,
    clean_name,
    name_key,
    seat_locked,
)

if TYPE_CHECKING:
    from negotiation.rooms.workshop import Room


@dataclass(frozen=True)
class SeatHooks:
    """What `Access` may ask of its room beyond the room's public state: the room hands it these
    when it builds its parts. Each is called with the room's lock held.

    Attributes
    ----------
    event : Callable[..., None]
        ``event(kind, text, seat="")``: a line of the room's narrative (a `RoomEvent` of the
        open round).
    touch : Callable[..., None]
        ``touch(public=True)``: something changed: a new version, and every page waiting on the
        room is woken (`negotiation.rooms.workshop_live`); ``public=False`` for a change only
        the person's own pages show.
    advance : Callable[[], None]
        Play on while nothing waits for a person (a seat was given up or its person removed).
    seat_to : Callable[[str, str], None]
        ``seat_to(seat, who)``: the seat goes to a ``"person"`` or back to an ``"agent"`` in the
        engine (at the start if not started, else from the next round).
    when : Callable[[], str]
        When a seat changing hands now is played by its new holder, in words to end a sentence
        ("" before the start, else " (from round N; an agent plays round N-1)").
    """

    event: Callable[..., None]
    touch: Callable[..., None]
    advance: Callable[[], None]
    seat_to: Callable[[str, str], None]
    when: Callable[[], str]


class Access:
    """Who is who in a room, and who may do what (see the module's docstring)."""

    def __init__(self, room: Room, hooks: SeatHooks) -> None:
        self.room = room
        #: what it may ask of the room (`SeatHooks`)
        self.hooks = hooks
        self.admin_token = secrets.token_urlsafe(16)
        self.participants: dict[str, Participant] = {}  # by id
        self.by_token: dict[str, Participant] = {}
        self.holders: dict[str, list[str]] = {s: [] for s in room.seats}  # submitter first
        self._joins = RateLimit(JOINS_PER_BROWSER, JOIN_WINDOW, room.clock)
        #: whom the facilitator barred: their browsers, and their names (`name_key`)
        self.banned_clients: set[str] = set()
        self.banned_names: set[str] = set()
        #: seats the facilitator locked (`lock_seat`)
        self.locked_seats: set[str] = set()
        #: S9: the browsers each participant has pages open in (pid -> client -> pages), the
        #: number of times their link was replaced, and the tokens replaced (-> pid)
        self._pages: dict[str, dict[str, int]] = {}
        self._page_ids = itertools.count(1)
        self._link_gen: dict[str, int] = {}
        self.replaced_links: dict[str, str] = {}

    def person(self, token: str) -> Participant:
        p = self.by_token.get(token) if isinstance(token, str) else None
        if p is None:
            if isinstance(token, str) and token in self.replaced_links:
                raise Refused(REPLACED_LINK)
            raise Refused("This link is not valid in this room: join again with your name.")
        if p.removed:
            raise Refused("The facilitator removed you from this room.")
        p.last_seen = self.room.clock()
        return p

    def replaced(self, token: str) -> bool:
        """Whether `token` was a private link the facilitator replaced (`new_link`)."""
        with self.room.lock:
            return isinstance(token, str) and token in self.replaced_links

    def new_link(self, key: str, pid: str) -> Participant:
        """The facilitator gives a participant a new private link (S9: a link is a bearer
        credential, and one open on a device that is not theirs acts as them): a new token;
        the old one stops working at once (its open pages say the link was replaced), and the
        participant keeps their seat and team. The participant, with the new token."""
        with self.room.lock:
            self.admin(key)
            p = self.participants.get(pid)
            if p is None or p.removed:
                raise WorkshopError("No such participant.")
            old = p.token
            del self.by_token[old]
            self.replaced_links[old] = p.id
            p.token = secrets.token_urlsafe(16)
            self.by_token[p.token] = p
            # The pages open on the old link count no more (their closing changes nothing).
            self._pages[p.id] = {}
            self._link_gen[p.id] = self._link_gen.get(p.id, 0) + 1
            p.sessions = p.devices = 0
            self.hooks.event("link", f"The facilitator gave {p.name} a new private link")
            self.hooks.touch()
            return replace(p)

    def admin(self, key: str) -> None:
        if not (isinstance(key, str) and secrets.compare_digest(key, self.admin_token)):
            raise Refused("Only the facilitator can do this.")

    def check_admin(self, key: str) -> bool:
        try:
            self.admin(key)
        except Refused:
            return False
        return True

    def join(
        self,
        name: str,
        client: str = "",
        most: int = MAX_PARTICIPANTS,
        most_joins: int = MAX_JOINS,
    ) -> Participant:
        """A new participant, with a secret token; names are unique in a room. `client` is
        the browser asking (its session id; "" from inside the server): a browser joins at
        most JOINS_PER_BROWSER times per JOIN_WINDOW seconds, and a room takes at most `most`
        people (MAX_PARTICIPANTS) and `most_joins` joins in all (MAX_JOINS)."""
        name = clean_name(name)
        if not name:
            raise WorkshopError("Give a display name to join.")
        with self.room.lock:
            if self.room.solo and self.participants:
                raise Refused("This is a one-person room.")
            active = sum(not p.removed for p in self.participants.values())
            if active >= most or len(self.participants) >= most_joins:
                raise Refused(f"This room is full ({most} people): ask the facilitator.")
            if (client and client in self.banned_clients) or name_key(name) in self.banned_names:
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
            p = Participant(
                pid, name, token, self.room.clock(), last_seen=self.room.clock(), client=client
            )
            self.participants[pid] = p
            self.by_token[token] = p
            self._joins.hit(client)
            self.hooks.event("joined_room", f"{name} joined the room")
            self.hooks.touch()
            return p

    def participant(self, token: str) -> Participant:
        with self.room.lock:
            return replace(self.person(token))

    def claim(self, token: str, seat: str) -> Participant:
        """Take `seat`: a free seat makes you its submitter; a held one adds you to its team
        (if teams are allowed). Claimed before the start, a person plays it from round 1;
        later, from the next round. Refused while the facilitator has locked the seats."""
        with self.room.lock:
            p = self.person(token)
            if self.room.settings.seats_locked and p.seat != seat:
                raise Refused(SEATS_LOCKED)
            if seat in self.locked_seats and p.id not in self.holders.get(seat, ()):
                raise Refused(self.locked_refusal(seat))
            return self.take(p, seat)

    def locked_refusal(self, seat: str) -> str:
        """Why a person who does not hold `seat` cannot take it: it is locked."""
        with self.room.lock:
            names = [self.participants[x].name for x in self.holders.get(seat, ())]
            return seat_locked(self.room.names.get(seat, seat), names)

    def lock_seat(self, key: str, seat: str, locked: bool = True) -> None:
        """The facilitator locks `seat` (nobody new takes it, and its people cannot give it up;
        the facilitator still assigns it, `assign`) or unlocks it."""
        with self.room.lock:
            self.admin(key)
            if seat not in self.room.seats:
                raise WorkshopError(f"There is no seat {seat!r} in this room.")
            if locked == (seat in self.locked_seats):
                return
            if locked:
                self.locked_seats.add(seat)
            else:
                self.locked_seats.discard(seat)
            what = "locked" if locked else "unlocked"
            self.hooks.event(
                "seat_lock", f"The facilitator {what} {self.room.names[seat]}'s seat", seat
            )
            self.hooks.touch()

    def seat_person(self, key: str, name: str, seat: str, lock: bool = True) -> Participant:
        """The facilitator seats a named participant: a new participant called `name` in
        `seat` (locked, with `lock`, so that nobody else takes it). The facilitator hands them
        their private link (the participant's token), as for anyone who joined."""
        with self.room.lock:
            self.admin(key)
            self.seat_open(seat)  # before the participant exists: a refusal leaves nobody
            p = self.room.join(name)
            self.take(self.participants[p.id], seat)
            if lock:
                self.lock_seat(key, seat, True)
            return replace(self.participants[p.id])

    def assign(self, key: str, pid: str, seat: str | None) -> None:
        """The facilitator puts a participant in `seat` (None: takes them off their seat),
        locked seats or not."""
        with self.room.lock:
            self.admin(key)
            p = self.participants.get(pid)
            if p is None or p.removed:
                raise WorkshopError("No such participant.")
            if seat is None:
                if p.seat is not None:
                    self.leave_seat(p)
                    self.hooks.touch()
                    self.hooks.advance()
                return
            self.take(p, seat)

    def seat_open(self, seat: str) -> list[str]:
        """The seat's team, if one more may take the seat; else WorkshopError saying why."""
        if seat not in self.room.seats:
            raise WorkshopError(f"There is no seat {seat!r} in this room.")
        if self.room.phase == OVER:
            raise WorkshopError("The session is over.")
        team = self.holders[seat]
        if team and not self.room.settings.teams:
            holder = self.participants[team[0]].name
            raise WorkshopError(f"{holder} holds {self.room.names[seat]}'s seat.")
        return team

    def take(self, p: Participant, seat: str) -> Participant:
        with self.room.lock:
            if seat not in self.room.seats:
                raise WorkshopError(f"There is no seat {seat!r} in this room.")
            if p.seat == seat:
                return replace(p)
            team = self.seat_open(seat)
            if p.seat is not None:
                self.leave_seat(p)
            team.append(p.id)
            p.seat = seat
            if len(team) == 1:
                self.hooks.seat_to(seat, "person")
                when = self.hooks.when()
                self.hooks.event(
                    "seat", f"{p.name} took {self.room.names[seat]}'s seat{when}", seat
                )
            else:
                lead = self.participants[team[0]].name
                self.hooks.event(
                    "seat", f"{p.name} joined {self.room.names[seat]}'s team ({lead} submits)", seat
                )
            self.hooks.touch()
            self.hooks.advance()
            return replace(p)

    def release(self, token: str) -> None:
        """Give your seat back (you stay in the room, watching); not while the seats are
        locked."""
        with self.room.lock:
            p = self.person(token)
            if p.seat is None:
                return
            if self.room.settings.seats_locked:
                raise Refused(SEATS_LOCKED)
            if p.seat in self.locked_seats:
                raise Refused(
                    f"The facilitator has locked {self.room.names[p.seat]}'s seat: it stays yours."
                )
            self.leave_seat(p)
            self.hooks.touch()
            self.hooks.advance()

    def remove(self, key: str, pid: str, ban: bool = False) -> None:
        """The facilitator removes a participant: their token stops working, and their seat
        goes to the next team member or, if none, back to an agent. With `ban`, they cannot
        join again: not from the same browser, nor under the same name."""
        with self.room.lock:
            self.admin(key)
            p = self.participants.get(pid)
            if p is None or (p.removed and not ban):
                raise WorkshopError("No such participant.")
            if p.seat is not None:
                self.leave_seat(p)
            p.removed = True
            if ban:
                if p.client:
                    self.banned_clients.add(p.client)
                self.banned_names.add(name_key(p.name))
            barred = " and barred them from the room" if ban else ""
            self.hooks.event("removed", f"The facilitator removed {p.name}{barred}")
            self.hooks.touch()
            self.hooks.advance()

    def set_submitter(self, key: str, seat: str, pid: str) -> None:
        """The facilitator picks who submits for a team."""
        with self.room.lock:
            self.admin(key)
            team = self.holders.get(seat, [])
            if pid not in team:
                raise WorkshopError("That participant is not on this seat's team.")
            team.remove(pid)
            team.insert(0, pid)
            name = self.participants[pid].name
            self.hooks.event("seat", f"{name} now submits for {self.room.names[seat]}", seat)
            self.hooks.touch()

    def leave_seat(self, p: Participant) -> None:
        seat = p.seat
        assert seat is not None
        team = self.holders[seat]
        was_submitter = team and team[0] == p.id
        team.remove(p.id)
        p.seat = None
        if not team:
            self.hooks.seat_to(seat, "agent")
            self.hooks.event(
                "seat", f"{p.name} left {self.room.names[seat]}'s seat{self.hooks.when()}", seat
            )
        elif was_submitter:
            lead = self.participants[team[0]].name
            self.hooks.event(
                "seat", f"{p.name} left {self.room.names[seat]}'s team; {lead} submits", seat
            )
        else:
            self.hooks.event("seat", f"{p.name} left {self.room.names[seat]}'s team", seat)

    def attach(self, token: str, client: str = "") -> Callable[[], None]:
        """A browser page of this participant opened; call the result when it closes. `client`
        is the browser (its session id): pages of one browser are one device; a page whose
        browser is not known ("") counts as a device of its own."""
        with self.room.lock:
            p = self.person(token)
            client = client or f"page-{next(self._page_ids)}"
            gen = self._link_gen.get(p.id, 0)
            pages = self._pages.setdefault(p.id, {})
            pages[client] = pages.get(client, 0) + 1
            p.sessions += 1
            was, p.devices = p.devices, len(pages)
            # The person's own pages say when their link is open on more than one device
            # (someone else may be acting as them): wake them when that starts or stops.
            self.hooks.touch(public=(was > 1) != (p.devices > 1))

        def detach() -> None:
            with self.room.lock:
                p.last_seen = self.room.clock()
                if self._link_gen.get(p.id, 0) != gen:
                    return  # a page of a link the facilitator replaced: it counts no more
                pages = self._pages.get(p.id, {})
                if client in pages:
                    pages[client] -= 1
                    if not pages[client]:
                        del pages[client]
                p.sessions = max(p.sessions - 1, 0)
                was, p.devices = p.devices, len(pages)
                self.hooks.touch(public=(was > 1) != (p.devices > 1))

        return detach

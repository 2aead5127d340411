"""What every part of a workshop room shares: its limits and words, its errors, rate limits,
join codes, cleaned names and text, decisions as plain data and their bounds (`check_decision`),
the engine's build and calls for a room, the people (`Participant`), the facilitator's
`Settings`, what the room keeps of its run (`RunState`) and the room's own events (`RoomEvent`,
`story_key`).

The parts of a room import from here, not from `negotiation.rooms.workshop` (the home of `Room` and
`Workshop`, which re-exports these names for the pages and the tests; the seats and the record
name `Room` there for type checkers only).
"""

from __future__ import annotations

import copy
import math
import secrets
import threading
import time
import tomllib
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agents import make_strategy
from agents.base import Strategy
from negotiation.engine.model import BlocModel
from negotiation.engine.scenario import Scenario, ScenarioError, validate
from negotiation.rules.protocol import PROPOSAL_TERMS
from negotiation.rules.types import (
    INSTRUMENT_LABELS,
    Action,
    Decision,
    Reason,
    SupplierAction,
    SupplierMove,
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


def finite(x: Any) -> bool:
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


def sharing_words(sharing: Any) -> str:
    """The cost-sharing key in words ("by consumption"; a scenario's table of shares)."""
    if isinstance(sharing, Mapping):
        return "the scenario's table"
    return {"consumption": "by consumption", "equal": "equal shares"}.get(
        str(sharing), str(sharing)
    )


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
        parts.append(f"floor support shared {sharing_words(terms['cost_sharing'])}")
    if not parts:
        return f"counter-propose floors x{d.get('counter_scale', 1):g}"
    return "counter-propose: " + "; ".join(parts)


def check_decision(model: BlocModel, sc: Scenario, d: Decision | SupplierMove) -> None:
    """Refuse a decision whose numbers are out of bounds (MAX_FLOOR_MULTIPLE, MAX_PENALTY,
    MAX_SIDE_OFFER), with a message for the person: a floor of 1e300 once went through, the
    proposer agreed, and every page drew 300-digit numbers.

    Parameters
    ----------
    model : BlocModel
        The room's model (its minerals and countries).
    sc : Scenario
        The room's scenario (its minerals' reference prices and names).
    d : Decision or SupplierMove
        A country's decision, or the supplier's move.

    Raises
    ------
    WorkshopError
        If a number is out of bounds or a name is not the scenario's, saying which.
    """
    m = model
    if isinstance(d, SupplierMove):
        if any(x not in m.minerals for x in d.minerals):
            raise WorkshopError("Pick minerals of this scenario.")
        if d.action in (SupplierAction.FLOOD, SupplierAction.EXPORT_CONTROLS):
            if not d.minerals:
                raise WorkshopError("Pick at least one mineral.")
            if not (finite(d.intensity) and 0 < d.intensity <= 1):
                raise WorkshopError("The intensity must be above 0 % and at most 100 %.")
        if d.action is SupplierAction.SIDE_OFFER:
            if d.target not in m.countries:
                raise WorkshopError("Pick the country the side offer is for.")
            if not (finite(d.offer) and 0 < d.offer <= MAX_SIDE_OFFER):
                raise WorkshopError(
                    f"The offer must be a positive amount, at most "
                    f"${MAX_SIDE_OFFER / 1e9:,.0f}bn a year."
                )
        return
    if not (finite(d.counter_scale) and 0.5 <= d.counter_scale <= 2):
        raise WorkshopError("A counter-proposal scales the floors by 0.5 to 2.")
    if d.action is Action.COUNTER:
        terms = d.terms or {}
        check_terms(model, sc, terms)
        if not terms and d.counter_scale not in (0.8, 1.0, 1.25):
            raise WorkshopError("A counter-proposal needs its terms.")


def check_terms(model: BlocModel, sc: Scenario, terms: Mapping[str, Any]) -> None:
    """Refuse a counter-proposal's terms out of bounds: floors (USD per tonne, from 0 to
    MAX_FLOOR_MULTIPLE times the mineral's reference price), penalty (0 to MAX_PENALTY,
    1 = 100 %), cost sharing ("consumption" or "equal", or the scenario's own table of shares,
    a key an agent convener weighs, so a suggestion may table it).

    Parameters
    ----------
    model : BlocModel
        The room's model (its minerals).
    sc : Scenario
        The room's scenario (its minerals' reference prices and names).
    terms : mapping
        ``floors`` (by mineral), ``penalty`` and ``cost_sharing``, each optional.

    Raises
    ------
    WorkshopError
        If the terms hold anything else, or a term is out of bounds, saying which.
    """
    if not isinstance(terms, Mapping) or set(terms) - {"floors", "penalty", "cost_sharing"}:
        raise WorkshopError("A counter-proposal has floors, a penalty and cost sharing.")
    floors = terms.get("floors") or {}
    if not isinstance(floors, Mapping):
        raise WorkshopError("Floors are USD per tonne, one for each mineral.")
    for x, f in floors.items():
        if x not in model.minerals:
            raise WorkshopError("There is an unknown mineral among the floors.")
        top = MAX_FLOOR_MULTIPLE * sc.minerals[x].reference_price
        if not (finite(f) and 0 <= f <= top):
            name = sc.minerals[x].name
            raise WorkshopError(
                f"Floors are USD per tonne, from 0 to {MAX_FLOOR_MULTIPLE} times today's "
                f"price: at most ${top:,.0f}/t for {name}."
            )
    if "penalty" in terms and not (
        finite(terms["penalty"]) and 0 <= terms["penalty"] <= MAX_PENALTY
    ):
        raise WorkshopError(f"The penalty must be between 0 % and {MAX_PENALTY:.0%}.")
    key, table = terms.get("cost_sharing"), sc.policy.cost_sharing
    own = isinstance(table, Mapping) and isinstance(key, Mapping) and dict(key) == dict(table)
    if key not in (None, "consumption", "equal") and not own:
        raise WorkshopError("Cost sharing is 'consumption' or 'equal' (or the scenario's own "
                            "table of shares).")  # fmt: skip


def check_package(
    model: BlocModel, sc: Scenario, terms: Mapping[str, Any], invited: Iterable[str] | None
) -> None:
    """Refuse a package a person tables whose terms are out of bounds (`check_terms`; the
    floors' instrument: "border", "price_gap" or "stockpile"; offtake partners that are no
    countries of the scenario; a share of a partner's output under contract out of [0.01, 1])
    or whose invitees are no countries of the scenario.

    Parameters
    ----------
    model : BlocModel
        The room's model (its minerals and countries).
    sc : Scenario
        The room's scenario.
    terms : mapping
        ``floors`` (by mineral), ``penalty``, ``cost_sharing``, ``instrument``, ``partners``
        (the offtake partners, a list of countries), ``offtake_share`` (every partner's share
        of its output under contract) and ``offtake_shares`` (the table of partners' own
        shares, which replaces the one in force), each optional.
    invited : iterable of str or None
        The countries invited (None: all those the round asks).

    Raises
    ------
    WorkshopError
        If a term is out of bounds or unknown, or an invitee is no country, saying which.
    """
    if not isinstance(terms, Mapping) or set(terms) - set(PROPOSAL_TERMS):
        raise WorkshopError("A package tabled here has floors, a penalty, cost sharing, an "
                            "instrument and offtake terms.")  # fmt: skip
    check_terms(model, sc, {k: v for k, v in terms.items() if k in ("floors", "penalty",
                                                                     "cost_sharing")})  # fmt: skip
    if terms.get("instrument") not in (None, *INSTRUMENT_LABELS):
        raise WorkshopError("The instrument is 'border', 'price_gap' or 'stockpile'.")
    partners = terms.get("partners", ())
    if not isinstance(partners, list | tuple | set | frozenset):
        raise WorkshopError("Offtake partners are a list of countries.")
    if any(a not in model.countries for a in partners):
        raise WorkshopError("Offtake partners are countries of this scenario.")
    shares = terms.get("offtake_shares", {})
    if not isinstance(shares, Mapping) or any(a not in model.countries for a in shares):
        raise WorkshopError("Own contract shares are by country of this scenario.")
    given = [*shares.values(), *([terms["offtake_share"]] if "offtake_share" in terms else [])]
    if not all(finite(x) and 0.01 <= x <= 1 for x in given):
        raise WorkshopError("A partner's share of its output under contract is from 1 % to "
                            "100 %.")  # fmt: skip
    if invited is not None and (
        isinstance(invited, str) or any(a not in model.countries for a in invited)
    ):
        raise WorkshopError("Invite countries of this scenario.")


# ----------------------------------------------------------------------------------------------
# Engine calls: one code path for the live room and for replays


def person_strategy(role: str) -> str:
    return PERSON[role]


def person_plays(model: BlocModel, seat: str) -> bool:
    """Whether a person plays `seat` in the model as it stands (its strategy is a person's).

    Parameters
    ----------
    model : BlocModel
        The room's model.
    seat : str
        A country's id or the supplier's.

    Returns
    -------
    bool
        True if the seat's strategy is classed ``human`` (`PERSON`).
    """
    strat = (
        model.supplier_agent.strategy
        if seat == model.supplier_id
        else model.country_agents[seat].strategy
    )
    return bool(strat.classifier.get("human"))


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
    elif kind == "propose":
        model.propose(act["seat"], copy.deepcopy(act.get("terms")) or None, act.get("invited"))
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


@dataclass
class RunState:
    """What a room keeps of its run besides the model and what the record lists (issue 17).

    The room's play control (`negotiation.rooms.workshop.Room`) changes it in place and hands
    this one object to its archive (`negotiation.rooms.workshop_record.RecordHooks`), which
    saves it and restores it on a new room; the snapshot builder gets its fields as arguments.

    Attributes
    ----------
    opening : tuple of str
        The seats people played from round 1 (claimed before the start).
    pending_seats : dict of str to str
        Seats changing hands from the next round: seat -> "person" or "agent".
    required : frozenset of str
        The seats a person must decide for in the open round.
    engine_calls : int
        The engine calls the room has made on its model (the records change only with one).
    """

    opening: tuple[str, ...] = ()
    pending_seats: dict[str, str] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    engine_calls: int = 0


# ----------------------------------------------------------------------------------------------
# The room's own events


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

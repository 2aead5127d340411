"""A room's record and what is made of it: the session as plain data (`Archive.record`: every
engine call in order, the room's events, each round's outcome), its exports (JSON, CSV safe in a
spreadsheet, a zip of both), the saved state a server resumes a room from (`Archive.state`,
`from_state`; written with `write_private`), and what reads a record back: its tables
(`tables_from_record`) and its replay (`replay`).

`Archive` is a part of a `Room` (`Room.archive`): `Room.record`, `Room.state`, the exports and
`Room.from_state` hand over to it. It reads the room under the room's lock
(`negotiation.rooms.workshop_live`) and changes nothing in it, but for `restore` on a new room.
It reads the room's public state, and what the room keeps to itself only through the
`RecordHooks` the room hands it when it builds it (issue 17): the model's records and the
room's `RunState`.
The formats (`RECORD_FORMAT`, `STATE_FORMAT`) are the files' contract: saved rooms and exported
sessions must keep loading.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from negotiation.engine.model import BlocModel
from negotiation.engine.scenario import ScenarioError, scenario_to_dict, validate
from negotiation.rooms.workshop_common import (
    ALPHABET,
    LOBBY,
    MAX_MESSAGE,
    OVER,
    RECORD_FORMAT,
    RECORD_VERSION,
    RUNNING,
    STATE_FORMAT,
    STATE_VERSION,
    Participant,
    RoomEvent,
    RunState,
    Settings,
    WorkshopError,
    apply_action,
    build_model,
    clean_text,
    describe_decision,
    finite,
    normalize_code,
    now_iso,
    story_key,
)

if TYPE_CHECKING:
    from negotiation.rooms.workshop import Room


@dataclass(frozen=True)
class RecordHooks:
    """What `Archive` may ask of its room beyond the room's public state: the room hands it these
    when it builds its parts.

    Attributes
    ----------
    records : Callable[[], dict of str to pandas.DataFrame]
        The model's records (rounds, actors, events), as the room's snapshots have them
        (`SnapshotBuilder.records`).
    run : RunState
        What the room keeps of its run besides the model, the room's own object: `state` saves
        it, `record` reads its opening seats, `restore` sets it on a new room.
    """

    records: Callable[[], dict[str, pd.DataFrame]]
    run: RunState


class Archive:
    """A room's record, exports and saved state (see the module's docstring)."""

    def __init__(self, room: Room, hooks: RecordHooks) -> None:
        self.room = room
        #: what it may ask of the room (`RecordHooks`)
        self.hooks = hooks

    def record(self) -> dict[str, Any]:
        """The whole session as plain data (JSON-ready): settings, people, every engine call in
        order (decisions with seat, person and time), and each round's outcome."""
        room = self.room
        with room.lock:
            tables = self.hooks.records()
            return {
                "format": RECORD_FORMAT,
                "version": RECORD_VERSION,
                "room": room.code,
                "solo": room.solo,
                "created": now_iso(room.created),
                "exported": now_iso(room.clock()),
                "scenario": room.scenario,
                "scenario_data": scenario_to_dict(room.config),
                "seed": room.seed,
                "rounds": room.rounds_requested,
                "levers": copy.deepcopy(room.levers),
                "settings": {
                    "show_decisions": room.settings.show_decisions,
                    "timer_seconds": room.settings.timer_seconds,
                    "teams": room.settings.teams,
                    "seats_locked": room.settings.seats_locked,
                },
                "phase": room.phase,
                "opening_people": list(self.hooks.run.opening),
                "participants": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "seat": p.seat or "",
                        "joined": now_iso(p.joined),
                        "removed": p.removed,
                    }
                    for p in room.participants.values()
                ],
                "actions": copy.deepcopy(room.actions) if room.phase != LOBBY else [],
                "room_events": [event_data(e) for e in room.room_events],
                "closed": {str(r): how for r, how in room.closed.items()},
                "lever_changes": copy.deepcopy(room.model.levers.log),
                "outcomes": {name: plain_rows(df) for name, df in tables.items()},
                "locked_seats": sorted(room.locked_seats),
                "message": room.message,
                "practice": copy.deepcopy(room.practice),
            }

    def export_json(self) -> str:
        return json.dumps(self.record(), indent=1, allow_nan=False, default=json_default)

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
            z.writestr("session.json", json.dumps(rec, indent=1, default=json_default))
        return buf.getvalue()

    def file_stem(self) -> str:
        """The exports' file name, without extension (an uploaded scenario's name may hold
        any characters: only letters, digits, - and _ are kept)."""
        room = self.room
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", room.scenario).strip("-")[:60] or "scenario"
        return f"workshop-{room.code}-{name}-seed{room.seed}"

    def state(self) -> dict[str, Any]:
        """Everything needed to bring the room back after a restart (`from_state`), as plain
        data: the record (whose engine calls replay the model) and what the record leaves out,
        the secrets among them (the facilitator key, every participant's token): a saved state
        must be kept from anyone but the server's operator."""
        room = self.room
        with room.lock:
            left = room.timer.saved_left(room.clock())
            return {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "record": self.record(),
                "private": {
                    "admin_token": room.access.admin_token,
                    "created": room.created,
                    "participants": [
                        {
                            "id": p.id,
                            "token": p.token,
                            "joined": p.joined,
                            "last_seen": p.last_seen,
                            "client": p.client,
                        }  # fmt: skip
                        for p in room.participants.values()
                    ],
                    "holders": {seat: list(team) for seat, team in room.holders.items()},
                    "event_times": [e.time for e in room.room_events],
                    "pending_seats": dict(self.hooks.run.pending_seats),
                    "required": sorted(self.hooks.run.required),
                    "banned_clients": sorted(room.access.banned_clients),
                    "replaced_links": dict(room.access.replaced_links),
                    "banned_names": sorted(room.access.banned_names),
                    "paused": room.timer.paused,
                    "time_left": left,
                },
            }

    def restore(self, rec: Mapping[str, Any], priv: Mapping[str, Any]) -> None:
        """Bring back what `state` saved (`from_state`, on a new room)."""
        room, run = self.room, self.hooks.run
        with room.lock:
            phase = rec["phase"]
            if phase not in (LOBBY, RUNNING, OVER):
                raise ValueError(f"unknown phase {phase!r}")
            room.access.admin_token = str(priv["admin_token"])
            room.created = float(priv["created"])
            if phase != LOBBY:
                opening = tuple(str(s) for s in rec["opening_people"])
                if set(opening) - set(room.seats):
                    raise ValueError("an opening seat is not in the scenario")
                room.model, room.agents = build_model(
                    room.config, room.seed, room.rounds_requested, opening, room.levers
                )
                room.actions = copy.deepcopy(list(rec["actions"]))
                for act in room.actions:
                    apply_action(room.model, room.agents, act)
                run.opening = opening
                room.rounds = room.model.rounds
            run.engine_calls = len(room.actions)
            room.phase = phase
            private = {str(q["id"]): q for q in priv["participants"]}
            for p in rec["participants"]:
                q = private[str(p["id"])]
                seat = str(p["seat"]) or None
                if seat is not None and seat not in room.seats:
                    raise ValueError(f"no seat {seat!r} in the scenario")
                person = Participant(
                    str(p["id"]), str(p["name"]), str(q["token"]), float(q["joined"]),
                    seat=seat, removed=bool(p["removed"]), last_seen=float(q["last_seen"]),
                    client=str(q.get("client", "")),
                )  # fmt: skip
                if not person.token:
                    raise ValueError(f"participant {person.id} has no token")
                room.participants[person.id] = person
                room.access.by_token[person.token] = person
            room.access.holders = {
                s: [str(pid) for pid in priv["holders"].get(s, [])] for s in room.seats
            }
            for seat, team in room.holders.items():
                if any(room.participants[pid].seat != seat for pid in team):
                    raise ValueError(f"the team of {seat!r} does not match its people's seats")
            times = list(priv["event_times"])
            room.room_events = [
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
            room.closed = {int(r): str(how) for r, how in rec["closed"].items()}
            run.pending_seats = {str(k): str(v) for k, v in priv["pending_seats"].items()}
            run.required = frozenset(str(s) for s in priv["required"])
            room.access.banned_clients = {str(c) for c in priv["banned_clients"]}
            room.access.replaced_links = {
                str(t): str(pid) for t, pid in (priv.get("replaced_links") or {}).items()
            }
            room.access.banned_names = {str(n) for n in priv["banned_names"]}
            room.access.locked_seats = {str(s) for s in rec.get("locked_seats") or ()}
            if room.locked_seats - set(room.seats):
                raise ValueError("a locked seat is not in the scenario")
            room.message = clean_text(rec.get("message") or "", MAX_MESSAGE)
            room.practice = copy.deepcopy(list(rec.get("practice") or ()))
            left = priv.get("time_left")
            left = None if left is None else float(left)
            timer = room.settings.timer_seconds
            room.timer.restore(bool(priv["paused"]), left, phase == RUNNING, timer, room.clock())


def from_state(
    make: Callable[..., Room], data: Mapping[str, Any], clock: Callable[[], float] = time.time
) -> Room:
    """The room saved in `data` (`Archive.state`), made by `make` (`Room`): the same code,
    facilitator key, participants with their tokens and seats, teams, settings and record; the
    model replayed from the record with the same seed (so the run goes on as it would have), in
    the same round with the decisions already submitted. The open round's countdown starts
    again, with the round's whole timer (or the time it had left, if more); a paused room
    stays paused.
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
        if timer is not None and not (finite(timer) and timer > 0):
            raise WorkshopError(f"the round timer {timer!r} is not a number of seconds")
        settings = Settings(
            show_decisions=bool(s["show_decisions"]),
            timer_seconds=timer,
            teams=bool(s["teams"]),
            seats_locked=bool(s["seats_locked"]),
        )
        rounds = rec.get("rounds")
        room = make(code, sc, seed=int(rec["seed"]), rounds=None if rounds is None else
                   int(rounds), settings=settings, levers=rec.get("levers") or {},
                   solo=bool(rec["solo"]), clock=clock)  # fmt: skip
        room.archive.restore(rec, priv)
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
    if canonical(again) != canonical(rec):
        raise WorkshopError(
            "it does not replay to the session it saved (edited, or saved by another "
            "version of Bloc)"
        )
    return room


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


def event_data(e: RoomEvent) -> dict[str, Any]:
    """A room event as the record keeps it (`after`, its place among the engine's events,
    where it is known)."""
    out = {"round": e.round, "kind": e.kind, "text": e.text, "time": now_iso(e.time),
           "seat": e.seat}  # fmt: skip
    if e.after is not None:
        out["after"] = e.after
    return out


def plain_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready rows, floats exact (NaN as None)."""
    rows = df.to_dict(orient="records")
    for row in rows:
        for k, v in row.items():
            if hasattr(v, "item"):
                v = row[k] = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                row[k] = None
    return rows


def canonical(rec: Mapping[str, Any]) -> str:
    """A record as JSON text with sorted keys: two records are the same session if equal."""
    return json.dumps(rec, sort_keys=True, default=json_default)


def json_default(x: Any) -> Any:
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
            # set aside: a person tabled new terms (or left the seat out) after it was sent
            "withdrawn": bool(act.get("withdrawn")),
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
    # The submission that counted: the last one for its seat in its round, unless it was set
    # aside (`withdrawn`: a person tabled new terms, or left the seat out, after it was sent).
    if not decisions.empty:
        last = decisions.groupby(["round", "seat"])["seq"].transform("max")
        decisions["counted"] = (decisions["seq"] == last) & ~decisions["withdrawn"]
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
    "offer", "note", "seq", "withdrawn",
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
# Saved rooms on disk

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

"""A workshop room survives a restart of the server (issue 14, R1): a Workshop with a state
directory saves each room as it changes (`Workshop.save_changed`, atomically, 0600), and a new
Workshop brings the rooms back from it (`Workshop.resume`) with the same code, tokens, seats,
round, decisions and record; `bloc workshop --state-dir DIR --resume` does the same for a
server killed mid-session."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import time
from pathlib import Path

import pytest

from agents.human import accept
from negotiation.cli import entry
from negotiation.engine.scenario import load_scenario
from negotiation.rooms.workshop import (
    RUNNING,
    STATE_FORMAT,
    Room,
    Settings,
    Workshop,
    WorkshopError,
)
from negotiation.rules.types import SupplierAction, SupplierMove
from tests.workshop_helpers import Clock, people, play_a_session

SCENARIO = "ministerial-2026"


@pytest.fixture(scope="module")
def sc():
    return load_scenario(SCENARIO)


def decide(room, tokens, clock, seats=None, choice=None):
    """The seats' people decide (every seat waiting, or `seats`), 5 s apart."""
    for seat in seats or room.snapshot().waiting_for:
        clock.t += 5
        if choice is not None:
            d = choice(seat)
        elif seat == "supplier":
            d = SupplierMove(SupplierAction.EXPORT_CONTROLS, ("gallium",), 0.5)
        else:
            d = accept()  # join, then stay
        room.submit(tokens[seat], seat, d, for_round=room.snapshot().open_round)


def a_room_two_rounds_in(ws, sc, clock):
    """A room on which people played two rounds (Alice for Japan, with Dee on her team, Sam
    for the supplier), with Mia watching, a lever changed, and round 3 open with Alice's
    decision in and Sam's to come: (room, tokens by seat, the seat that decided in round 3)."""
    room = ws.create(sc, seed=5, rounds=6, settings=Settings(timer_seconds=120), clock=clock)
    alice, dee, sam, mia = people(
        room, ("Alice", "japan"), ("Dee", "japan"), ("Sam", "supplier"), ("Mia", None)
    )
    tokens = {"japan": alice.token, "supplier": sam.token}
    room.start(room.admin_token)
    decide(room, tokens, clock)  # round 1
    room.set_levers(room.admin_token, penalty=0.3)
    decide(room, tokens, clock)  # round 2
    first = room.snapshot().waiting_for[0]
    decide(room, tokens, clock, seats=[first])  # round 3: one seat has decided, not the other
    snap = room.snapshot()
    assert snap.round == 2 and len(snap.waiting_for) == 1 and snap.seat(first).decided
    return room, tokens, first


def test_a_room_comes_back_after_a_restart_as_it_was(tmp_path, sc):
    clock = Clock()
    ws = Workshop(ticker=False, state_dir=tmp_path)
    room, tokens, decided = a_room_two_rounds_in(ws, sc, clock)
    waiting = room.snapshot().waiting_for
    assert ws.save_changed() == [room.code]
    assert ws.save_changed() == []  # nothing changed since
    ws.close()
    del ws  # the server goes down: only the state directory is left

    again = Workshop(ticker=False, state_dir=tmp_path)
    later = Clock(clock.t)  # the resumed room's clock: both rooms' times go on alike below
    rooms, problems = again.resume(clock=later)
    assert problems == [] and [r.code for r in rooms] == [room.code]
    back = again.get(room.code.lower())  # the same code, typed as a participant would
    assert back.admin_token == room.admin_token  # the facilitator's link still works
    before, after = room.snapshot(), back.snapshot()
    assert [(p.id, p.name, p.token, p.seat, p.removed) for p in after.participants] == [
        (p.id, p.name, p.token, p.seat, p.removed) for p in before.participants
    ]
    assert back.holders == room.holders  # teams, the submitter first
    assert (after.phase, after.round, after.waiting_for) == (RUNNING, 2, waiting)
    assert after.seat(decided).decided and after.seat(decided).decision == (
        before.seat(decided).decision
    )
    assert after.settings == before.settings
    assert back.export_json() == room.export_json()  # byte for byte
    # Participants reload their pages: their links are theirs again.
    for seat, token in tokens.items():
        assert back.participant(token).seat == seat

    # The next rounds play as they would have without the restart: the other seat decides.
    for r, c in ((room, clock), (back, later)):
        decide(r, tokens, c, seats=waiting)
        decide(r, tokens, c)  # round 4
    assert back.snapshot().round == room.snapshot().round == 4
    assert back.export_json() == room.export_json()

    # The resumed room is saved in its turn as it moves on.
    assert again.save_changed() == [room.code]
    saved = json.loads(again.state_path(room.code).read_text())
    assert saved["record"]["closed"] == json.loads(room.export_json())["closed"]


def test_state_files_are_private_and_written_whole(tmp_path, sc):
    clock = Clock()
    ws = Workshop(ticker=False, state_dir=tmp_path / "state")
    room = ws.create(sc, seed=1, rounds=3, clock=clock)
    people(room, ("Alice", "japan"))
    path = ws.save(room)
    assert path == tmp_path / "state" / f"room-{room.code}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the tokens
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["format"] == STATE_FORMAT
    room.start(room.admin_token)
    assert ws.save_changed() == [room.code]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left
    # A lobby room comes back too, and one whose state a page changed since (a seat).
    lobby = ws.create(sc, seed=2, rounds=3, clock=clock)
    (bob,) = people(lobby, ("Bob", "eu"))
    ws.save_changed()
    rooms, problems = Workshop(ticker=False, state_dir=path.parent).resume(clock=clock)
    assert problems == []
    back = {r.code: r for r in rooms}
    assert back[lobby.code].phase == "lobby" and back[lobby.code].participant(bob.token).seat
    assert back[room.code].export_json() == room.export_json()


def test_the_timer_thread_saves_rooms_as_they_change(tmp_path, sc):
    ws = Workshop(tick_seconds=0.05, state_dir=tmp_path)
    try:
        room = ws.create(sc, seed=1, rounds=3)
        path = ws.state_path(room.code)
        deadline = time.monotonic() + 10
        while not path.exists():
            assert time.monotonic() < deadline, "the room was not saved"
            time.sleep(0.05)
        (alice,) = people(room, ("Alice", "japan"))
        while alice.token not in path.read_text():
            assert time.monotonic() < deadline, "the join was not saved"
            time.sleep(0.05)
    finally:
        ws.close()


def test_a_damaged_or_foreign_file_is_refused_by_name_and_the_others_come_back(tmp_path, sc):
    clock = Clock()
    ws = Workshop(ticker=False, state_dir=tmp_path)
    room, _, _ = a_room_two_rounds_in(ws, sc, clock)
    other = ws.create(sc, seed=2, rounds=3, clock=clock)
    people(other, ("Bob", "eu"))
    ws.save_changed()
    good = ws.state_path(room.code).read_text()
    state = json.loads(good)

    (tmp_path / "room-TRUNC8.json").write_text(good[: len(good) // 2])  # a crash mid-copy
    (tmp_path / "session.json").write_text(room.export_json())  # an export, not a state
    (tmp_path / "notes.json").write_text("[1, 2, 3]")
    edited = json.loads(good)  # an outcome changed by hand: the run does not give it
    row = edited["record"]["outcomes"]["rounds"][0]
    key = next(k for k, v in row.items() if isinstance(v, float))
    row[key] += 1.0
    (tmp_path / "room-EDITED.json").write_text(json.dumps(edited))
    no_tokens = json.loads(good)
    del no_tokens["private"]["participants"]
    (tmp_path / "room-NOTOKN.json").write_text(json.dumps(no_tokens))
    renamed = tmp_path / "room-XXXXXX.json"
    renamed.write_text(good)  # another room's state under this name
    newer = {**state, "version": 99}
    (tmp_path / "room-NEWER9.json").write_text(json.dumps(newer))

    rooms, problems = Workshop(ticker=False, state_dir=tmp_path).resume(clock=clock)
    assert sorted(r.code for r in rooms) == sorted([room.code, other.code])
    said = "\n".join(problems)
    assert len(problems) == 7, said
    for name in ("room-TRUNC8", "session", "notes", "room-EDITED", "room-NOTOKN", "room-XXXXXX",
                 "room-NEWER9"):  # fmt: skip
        line = next(p for p in problems if f"{tmp_path / name}.json" in p)
        assert line.startswith("not resuming "), line
    assert "not JSON" in said and "not a saved Bloc workshop room" in said
    assert "does not replay to the session it saved" in said
    assert "'participants' missing" in said and "newer Bloc" in said
    assert f"holds room {room.code}" in said
    # Nothing was deleted or rewritten: the operator can look at the files.
    assert renamed.read_text() == good


def test_from_state_refuses_what_is_not_a_state(tmp_path):
    for data in ({}, [], {"format": "bloc-workshop-session"}, {"format": STATE_FORMAT}):
        with pytest.raises(WorkshopError):
            Room.from_state(data)
    # A record given as a path is not read (a session record may be loaded from a file
    # elsewhere, never from a saved state).
    secret = tmp_path / "session.json"
    secret.write_text("{}")
    for record in (str(secret), '{"format": "bloc-workshop-session"}'):
        data = {"format": STATE_FORMAT, "version": 1, "record": record, "private": {}}
        with pytest.raises(WorkshopError, match="no session record"):
            Room.from_state(data)


def test_a_room_the_server_forgets_has_its_file_deleted(tmp_path, sc):
    ws = Workshop(ticker=False, state_dir=tmp_path)
    room = ws.create(sc, seed=1, rounds=1)
    people(room, ("Alice", None))
    room.start(room.admin_token)
    room.force(room.admin_token)
    assert room.phase == "over" and ws.save_changed() == [room.code]
    ws._prune(solo=False)  # a full server forgets the rooms that are over
    assert ws.find(room.code) is None and list(tmp_path.iterdir()) == []
    assert ws.save(room) is None  # and never writes it again


def test_bloc_workshop_state_options(tmp_path, capsys):
    from click.testing import CliRunner

    from negotiation.cli import main

    out = CliRunner().invoke(main, ["workshop", "--help"]).output
    assert "--state-dir" in out and "--resume" in out and "readable by you only" in out
    assert entry(["workshop", "--resume", "--state-dir", str(tmp_path / "none")]) == 2
    assert "no state directory" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert entry(["workshop", "--state-dir", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def _wait_for_log(proc, pattern: str, timeout: float = 120.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while True:
        found = re.search(pattern, Path(proc.log_path).read_text(errors="replace"))
        if found:
            return found
        assert proc.poll() is None, Path(proc.log_path).read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, Path(proc.log_path).read_text()[-3000:]
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.browser
def test_bloc_workshop_resumes_a_room_after_being_killed(tmp_path, sc, browser):
    """A session in progress (saved by a server), `bloc workshop --state-dir DIR --resume`
    serves it; a participant decides on the page; the server is killed (SIGKILL: no chance
    to save anything more); started again with --resume, the participant's link opens their
    seat at the same round, with their decision in."""
    from tests.browser_support import (
        FACILITATOR_SECRET,
        WORKSHOP_COMMAND,
        free_port,
        start_app_server,
        stop_app_server,
    )

    state_dir = tmp_path / "state"
    ws = Workshop(ticker=False, state_dir=state_dir)
    room = ws.create(sc, seed=3, rounds=6)
    alice, sam = people(room, ("Alice", "japan"), ("Sam", "supplier"))
    room.start(room.admin_token)
    room.submit(alice.token, "japan", accept(), for_round=1)
    room.submit(sam.token, "supplier", SupplierMove(SupplierAction.NORMAL), for_round=1)
    assert room.snapshot().round == 1  # round 2 open: both must decide
    ws.save_changed()
    args = ["--facilitator-secret", FACILITATOR_SECRET, "--state-dir", str(state_dir)]

    def serve():
        port = free_port()
        proc = start_app_server([*args, "--resume"], port, command=WORKSHOP_COMMAND)
        _wait_for_log(proc, rf"resumed room {room.code} on {SCENARIO} \(round 2 open")
        return f"http://127.0.0.1:{port}", proc

    def alice_page(url):
        context = browser.new_context(viewport={"width": 1000, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{url}/join?room={room.code}&token={alice.token}", wait_until="commit")
        page.locator(".ws-me[data-seat='japan']").wait_for(state="attached")
        page.wait_for_function(
            "() => Number(document.querySelector('.ws-round')?.dataset.round ?? -1) === 1"
        )
        return context, page

    url, proc = serve()
    try:
        log = Path(proc.log_path).read_text()
        assert f"key={room.admin_token}" in log  # the facilitator's link, on the console
        context, page = alice_page(url)
        page.locator(".ws-accept, .ws-stay").first.click()
        page.locator(".ws-decided").wait_for()
        path = state_dir / f"room-{room.code}.json"
        deadline = time.monotonic() + 30
        while len(json.loads(path.read_text())["record"]["actions"]) == len(room.actions):
            assert time.monotonic() < deadline, "Alice's decision was not saved"
            time.sleep(0.1)
        context.close()
        os.killpg(proc.pid, signal.SIGKILL)  # the laptop's lid closed, the server crashed...
        proc.wait(timeout=30)
    finally:
        stop_app_server(proc)

    url, proc = serve()
    try:
        context, page = alice_page(url)
        # Her seat, at round 2, her decision in (the round waits for the supplier only).
        assert "Decided:" in page.locator(".ws-decided").inner_text()
        back = Workshop(ticker=False, state_dir=state_dir)
        (again,), problems = back.resume()
        assert again.snapshot().waiting_for == ("supplier",)
        assert again.snapshot().seat("japan").decided
        context.close()
        assert "Traceback" not in Path(proc.log_path).read_text()
    finally:
        stop_app_server(proc)


def test_a_whole_session_and_a_paused_room_with_a_pending_seat_come_back(tmp_path, sc):
    """test_workshop's full session (teams, a counter-proposal, the supplier, a removal, a
    seat taken mid-run, levers, forced and timed rounds) comes back identical; and a paused
    room, with a seat changing hands from the next round and a barred participant, comes back
    paused, with the change still pending and the bar in place."""

    clock = Clock()
    ws = Workshop(ticker=False, state_dir=tmp_path)
    whole = play_a_session(ws, sc, clock)
    room, tokens, _ = a_room_two_rounds_in(ws, sc, clock)
    (lee,) = people(room, ("Lee", "eu"))  # from the next round
    mia = next(p for p in room.participants.values() if p.name == "Mia")
    room.remove(room.admin_token, mia.id, ban=True)
    clock.t += 30
    room.pause(room.admin_token)
    ws.save_changed()

    later = Clock(clock.t + 600)
    rooms, problems = Workshop(ticker=False, state_dir=tmp_path).resume(clock=later)
    assert problems == []
    back = {r.code: r for r in rooms}
    clock.t = later.t  # (the export says when it was made)
    assert back[whole.code].export_json() == whole.export_json()
    again = back[room.code]
    assert again.paused and again._paused_left == room._paused_left == 85  # 120 s, 35 s gone
    assert again._run.pending_seats == room._run.pending_seats == {"eu": "person"}
    with pytest.raises(WorkshopError, match="barred"):
        again.join("Mia")
    for r in (room, again):
        r.resume(r.admin_token)
    assert again.deadline == room.deadline == later.t + 85
    assert again.export_json() == room.export_json()

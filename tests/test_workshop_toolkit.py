"""The facilitator's toolkit of issue 14: join by QR code on the projector, seats locked or
assigned by the facilitator, a practice reset to round 0 keeping the seats, a message to the
room, rounds closed by the facilitator or the timer marked with what was done for each silent
seat (R2); all of it kept across a restart. (That a participant can do none of it is in
tests/test_workshop_security.py, S8.)

Through the Room API and pages rendered with `solara.render`; `-m browser` drives a real
`bloc workshop` in chromium (the QR code read back from a screenshot of the projector).
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import ipyvuetify as v
import pytest
import solara
import solara.widgets

from agents.human import accept
from negotiation.engine.scenario import load_scenario
from negotiation.rooms.workshop import (
    LOBBY,
    MAX_MESSAGE,
    RUNNING,
    Refused,
    Room,
    Settings,
    Workshop,
    WorkshopError,
    replay,
)
from negotiation.rules.types import SupplierAction, SupplierMove
from negotiation.ui import workshop_app as wa
from tests.browser_support import FACILITATOR_SECRET
from tests.workshop_helpers import Clock, button, eventually, people, texts

SCENARIO = "ministerial-2026"


@pytest.fixture(scope="module")
def sc():
    return load_scenario(SCENARIO)


def story(room: Room) -> list[str]:
    return [text for _, _, text, _ in room.snapshot().narrative()]


# ----------------------------------------------------------------------------------------------
# Seats locked or assigned by the facilitator


def test_a_locked_seat_keeps_its_people_and_refuses_newcomers(ws, sc):
    room = ws.create(sc, rounds=3)
    key = room.admin_token
    alice, carol = people(room, ("Alice", "japan"), ("Carol", None))
    room.lock_seat(key, "japan")
    room.lock_seat(key, "us")  # nobody's yet: kept free for someone the facilitator seats
    for seat in ("japan", "us"):
        with pytest.raises(Refused, match=f"locked {sc.actors[seat].name}'s seat"):
            room.claim(carol.token, seat)
    with pytest.raises(Refused, match="kept for Alice"):
        room.claim(carol.token, "japan")
    with pytest.raises(Refused, match="stays yours"):
        room.release(alice.token)
    room.claim(carol.token, "eu")  # the other seats are as before
    room.claim(alice.token, "japan")  # her own seat: nothing to refuse
    # The facilitator still assigns a locked seat, and unlocks it.
    room.assign(key, carol.id, "us")
    assert room.snapshot().participant(carol.id).seat == "us"
    room.lock_seat(key, "japan", False)
    room.release(alice.token)
    assert room.snapshot().locked_seats == {"us"}
    # Locks are the roster's business: kept in the record, out of the story.
    assert not any("locked" in t for t in story(room))
    assert [e["text"] for e in room.record()["room_events"] if e["kind"] == "seat_lock"] == [
        "The facilitator locked Japan's seat",
        "The facilitator locked United States's seat",
        "The facilitator unlocked Japan's seat",
    ]
    with pytest.raises(WorkshopError, match="no seat"):
        room.lock_seat(key, "atlantis")


def test_the_facilitator_seats_a_named_participant(ws, sc):
    room = ws.create(sc, rounds=3, settings=Settings(teams=False))
    key = room.admin_token
    bob = room.seat_person(key, "Bob", "eu")
    snap = room.snapshot()
    assert snap.participant(bob.id).seat == "eu" and "eu" in snap.locked_seats
    # Bob's private link is his, like anyone's who joined: it decides for the EU.
    assert room.participant(bob.token).seat == "eu"
    room.start(key)
    if "eu" in room.snapshot().waiting_for:
        room.submit(bob.token, "eu", accept(), for_round=1)
    # Names stay unique; a seat taken (teams off) is refused; unlocked on request.
    with pytest.raises(WorkshopError, match="already in the room"):
        room.seat_person(key, "BOB", "us")
    with pytest.raises(WorkshopError, match="Bob holds"):
        room.seat_person(key, "Eve", "eu")
    dee = room.seat_person(key, "Dee", "us", lock=False)
    assert room.snapshot().participant(dee.id).seat == "us"
    assert "us" not in room.snapshot().locked_seats


def test_a_locked_seats_link_is_refused_to_whoever_does_not_hold_it(ws, sc):
    room = ws.create(sc, rounds=3)
    (alice,) = people(room, ("Alice", "japan"))
    room.lock_seat(room.admin_token, "japan")
    snap = room.snapshot()
    # The seat's join link, opened by a newcomer: refused, with the reason.
    assert "locked Japan's seat (it is kept for Alice)" in wa.seat_link_refusal(snap, "japan")
    assert wa.seat_link_refusal(snap, "eu") == ""
    _, rc = solara.render(wa.JoinForm(room, lambda url: None, "japan"), handle_error=False)
    assert "kept for Alice" in texts(rc) and "this link cannot give it to you" in texts(rc)
    # A free seat's link takes the newcomer to it when they join.
    went: list[str] = []
    _, rc = solara.render(wa.JoinForm(room, went.append, "eu"), handle_error=False)
    assert "seats you as" in texts(rc)
    rc.find(v.TextField).widget.v_model = "Carol"
    button(rc, "ws-join").click()
    eventually(lambda: went)
    carol = next(p for p in room.snapshot().participants if p.name == "Carol")
    assert carol.seat == "eu"
    # Carol's own link with `seat=japan` (the locked seat) shows her seat and says why not.
    _, rc = solara.render(wa.ParticipantView(room, carol.token, "japan"), handle_error=False)
    page = html.unescape(texts(rc))
    assert "locked Japan's seat" in page and "This page shows your own seat" in page
    assert "ws-decision-japan" not in page
    # Alice's link with her own seat is hers as ever.
    _, rc = solara.render(wa.ParticipantView(room, alice.token, "japan"), handle_error=False)
    assert "locked Japan's seat" not in html.unescape(texts(rc))


# ----------------------------------------------------------------------------------------------
# The facilitator's message to the room


def test_a_message_reaches_every_page_and_the_projector(ws, sc):
    room = ws.create(sc, rounds=3)
    (alice,) = people(room, ("Alice", "japan"))
    _, alice_page = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    _, projector = solara.render(wa.ProjectorView(room), handle_error=False)
    room.announce(room.admin_token, "Coffee <b>at</b> 11\u202e:00, back at 11:20\n")
    assert room.snapshot().message == "Coffee <b>at</b> 11:00, back at 11:20"
    shown = "From the facilitator:</b> <span class='ws-room-message-text'>Coffee &lt;b&gt;at"
    for rc in (alice_page, projector):
        eventually(lambda rc=rc: shown in texts(rc))
    assert any("Message from the facilitator: Coffee" in t for t in story(room))
    room.announce(room.admin_token, "x" * (MAX_MESSAGE + 50))
    assert len(room.snapshot().message) == MAX_MESSAGE
    room.announce(room.admin_token, "")
    for rc in (alice_page, projector):
        eventually(lambda rc=rc: "ws-room-message" not in texts(rc))
    assert "The facilitator took the message down" in story(room)


# ----------------------------------------------------------------------------------------------
# A practice round


def test_a_practice_resets_to_round_0_keeping_the_seats(ws, sc):
    room = ws.create(sc, seed=3, rounds=4)
    key = room.admin_token
    alice, bob, sam = people(room, ("Alice", "japan"), ("Bob", "eu"), ("Sam", "supplier"))
    opening = room.snapshot().rounds_df.iloc[-1]["penalty"]
    with pytest.raises(WorkshopError, match="nothing to reset"):
        room.reset_practice(key)
    room.start(key)
    room.set_levers(key, penalty=0.6)
    room.force(key)
    room.force(key)
    assert room.snapshot().round == 2
    room.reset_practice(key)
    snap = room.snapshot()
    assert snap.phase == LOBBY and snap.round == 0 and snap.practices == 1
    assert {s.seat: s.holder_names for s in snap.seats if s.holders} == {
        "japan": ("Alice",),
        "eu": ("Bob",),
        "supplier": ("Sam",),
    }
    assert snap.narrative()[0][2].startswith(
        "Practice over: the facilitator reset the room to round 0 after 2 practice rounds."
    )
    assert "Japan: Alice" in snap.narrative()[0][2]
    # Nothing of the practice is left in the session's story, decisions or levers.
    assert all(r == 0 for r, *_ in snap.narrative())
    rec = room.record()
    assert rec["actions"] == [] and rec["lever_changes"] == [] and rec["closed"] == {}
    (practice,) = rec["practice"]
    assert practice["rounds_played"] == 2
    assert [a["kind"] for a in practice["actions"]].count("play") == 2
    # The real session: people play their seats from round 1, the opening levers as set.
    room.start(key)
    snap = room.snapshot()
    assert snap.phase == RUNNING and snap.round == 0
    assert snap.rounds_df.iloc[-1]["penalty"] == pytest.approx(opening) != 0.6
    assert {"japan", "eu", "supplier"} & set(snap.waiting_for)
    for seat, p in (("japan", alice), ("eu", bob), ("supplier", sam)):
        assert snap.seat(seat).person
        if seat in snap.waiting_for and seat != "supplier":
            room.submit(p.token, seat, accept(), for_round=1)
    room.force(key)
    # The record replays to the real session (the practice is not in its engine calls).
    model = replay(room.record())
    assert model.rounds_df.equals(room.snapshot().rounds_df)


def test_a_practice_can_be_reset_after_the_session_ended(ws, sc):
    room = ws.create(sc, rounds=1)
    people(room, ("Alice", "japan"))
    room.start(room.admin_token)
    room.force(room.admin_token)
    assert room.snapshot().phase == "over"
    room.reset_practice(room.admin_token)
    assert room.snapshot().phase == LOBBY and room.snapshot().seat("japan").holder_names


# ----------------------------------------------------------------------------------------------
# R2: a round closed by the facilitator or the timer, with what was done for silent seats


def silent_words(snap, seat: str, was_member: bool) -> str:
    """What the narrative must say for a silent seat, read from the round's record (the
    outcome is the model's, whatever its protocol)."""
    row = snap.rounds_df.iloc[-1]
    members = set(str(row["members"]).split("+"))
    if seat == snap.supplier:
        return {"normal": "sold normally"}.get(row["supplier_action"], "")
    if was_member:
        return "stayed in the bloc" if seat in members else "left the bloc"
    return "joined the bloc" if seat in members else "stayed out of the bloc"


@pytest.mark.parametrize("closes", ["facilitator", "timer"])
def test_a_round_closed_early_names_each_silent_seat_and_what_was_done(ws, sc, closes):
    clock = Clock()
    room = ws.create(sc, rounds=3, clock=clock, settings=Settings(timer_seconds=60))
    alice, bob, sam = people(room, ("Alice", "japan"), ("Bob", "eu"), ("Sam", "supplier"))
    room.start(room.admin_token)
    for _ in range(2):  # two rounds, each with one person deciding and the others silent
        snap = room.snapshot()
        waiting = list(snap.waiting_for)
        assert len(waiting) >= 2
        r = snap.open_round
        decided, *silent = waiting
        token = {"japan": alice, "eu": bob, "supplier": sam}[decided].token
        if decided == "supplier":
            room.submit(token, decided, SupplierMove(SupplierAction.NORMAL), for_round=r)
        else:
            room.submit(token, decided, accept(), for_round=r)
        was_member = {s: s in snap.members for s in silent}
        if closes == "facilitator":
            room.force(room.admin_token)
        else:
            clock.t += 61
            assert room.tick()
        after = room.snapshot()
        (line,) = [t for rr, k, t, _ in after.narrative() if rr == r and k == "closed"]
        how = "was closed by the facilitator" if closes == "facilitator" else "its time ran out"
        assert line.startswith(f"Round {r} ") and how in line, line
        assert f"with {len(silent)} seat{'s' if len(silent) > 1 else ''} silent" in line
        for s in silent:
            holder = after.seat(s).holder_names[0]
            part = f"{after.names[s]} ({holder})"
            assert part in line, line
            assert silent_words(after, s, was_member[s]) in line.split(part, 1)[1], line
        assert f"{after.names[decided]} (" not in line  # who decided is not silent
        if after.phase != RUNNING:
            break


def test_a_round_everyone_decided_is_not_marked(ws, sc):
    room = ws.create(sc, rounds=3)
    (alice,) = people(room, ("Alice", "japan"))
    room.start(room.admin_token)
    if "japan" in room.snapshot().waiting_for:
        room.submit(alice.token, "japan", accept(), for_round=1)
    assert room.snapshot().round >= 1
    assert not [k for _, k, _, _ in room.snapshot().narrative() if k == "closed"]


# ----------------------------------------------------------------------------------------------
# A restart keeps the new room state


def test_locks_messages_and_practice_survive_a_restart(tmp_path, sc):
    clock = Clock()
    ws = Workshop(ticker=False, state_dir=tmp_path)
    room = ws.create(sc, seed=2, rounds=4, clock=clock)
    key = room.admin_token
    alice, _ = people(room, ("Alice", "japan"), ("Bob", "eu"))
    dee = room.seat_person(key, "Dee", "supplier")
    room.lock_seat(key, "japan")
    room.start(key)
    room.force(key)
    room.reset_practice(key)  # a practice round, thrown away
    room.announce(key, "The real session starts now")
    room.start(key)
    if "japan" in room.snapshot().waiting_for:
        room.submit(alice.token, "japan", accept(), for_round=1)
    room.force(key)
    ws.save(room)
    before = room.snapshot()

    back = Workshop(ticker=False, state_dir=tmp_path)
    (again,), problems = back.resume(clock=clock)
    assert problems == []
    snap = again.snapshot()
    assert snap.locked_seats == {"japan", "supplier"}
    assert snap.message == "The real session starts now"
    assert snap.practices == 1 and again.record()["practice"] == room.record()["practice"]
    assert snap.round == before.round and snap.narrative() == before.narrative()
    assert json.loads(again.export_json())["practice"] == json.loads(room.export_json())["practice"]
    # The locks hold after the restart; Dee's link still seats her.
    carol = again.join("Carol")
    with pytest.raises(Refused, match="locked"):
        again.claim(carol.token, "japan")
    assert again.participant(dee.token).seat == "supplier"
    # The resumed room plays on as the original does.
    room.force(key)
    again.force(key)
    assert again.snapshot().rounds_df.equals(room.snapshot().rounds_df)


def test_a_room_saved_before_locks_and_messages_existed_still_resumes(tmp_path, sc):
    ws = Workshop(ticker=False, state_dir=tmp_path)
    room = ws.create(sc, rounds=3)
    people(room, ("Alice", "japan"))
    room.start(room.admin_token)
    state = room.state()
    for field in ("locked_seats", "message", "practice"):
        del state["record"][field]
    again = Room.from_state(json.loads(json.dumps(state)))
    snap = again.snapshot()
    assert snap.locked_seats == frozenset() and snap.message == "" and snap.practices == 0


# ----------------------------------------------------------------------------------------------
# The facilitator's page


def test_the_facilitators_page_locks_seats_messages_and_resets(ws, sc, monkeypatch):
    monkeypatch.setenv("BLOC_WORKSHOP_URL", "http://192.0.2.7:8766")
    room = ws.create(sc, rounds=3)
    key = room.admin_token
    people(room, ("Alice", "japan"))
    _, rc = solara.render(wa.FacilitatorView(room, key), handle_error=False)
    button(rc, "ws-lock-japan").click()
    eventually(lambda: "japan" in room.snapshot().locked_seats)
    eventually(lambda: "Unlock" in str(button(rc, "ws-lock-japan").children))
    hrefs = {
        w.attributes.get("class", ""): w.attributes.get("href")
        for w in rc.find(solara.widgets.HTML).widgets
    }
    assert hrefs["ws-seat-link ws-seat-link-eu"] == (
        f"http://192.0.2.7:8766/join?room={room.code}&seat=eu"
    )
    # A message to the room.
    rc.find(v.Html, class_="ws-message-input").find(v.TextField).widget.v_model = "Welcome!"
    button(rc, "ws-message-send").click()
    eventually(lambda: room.snapshot().message == "Welcome!")
    # A named participant seated from the form, their private link shown.
    rc.find(v.Html, class_="ws-seat-person-name").find(v.TextField).widget.v_model = "Bob"
    rc.find(v.Html, class_="ws-seat-person-seat").find(v.Select).widget.v_model = "Mexico"
    button(rc, "ws-seat-person").click()
    bob = eventually(
        lambda: next((p for p in room.snapshot().participants if p.name == "Bob"), None)
    )
    assert bob.seat == "mexico" and "mexico" in room.snapshot().locked_seats
    eventually(lambda: f"token={bob.token}" in texts(rc))
    button(rc, "ws-start").click()
    eventually(lambda: room.snapshot().phase == RUNNING)
    eventually(lambda: rc.find(v.Btn, class_="ws-practice").widgets)
    button(rc, "ws-practice").click()
    eventually(lambda: rc.find(v.Btn, class_="ws-practice-confirm").widgets)
    assert room.snapshot().phase == RUNNING  # one click is not enough
    button(rc, "ws-practice-confirm").click()
    eventually(lambda: room.snapshot().phase == LOBBY)


# ----------------------------------------------------------------------------------------------
# Join by QR code


def modules_path(svg: str) -> str:
    """The path segno draws a QR code's dark modules with (its `d`)."""
    return re.search(r'class="qrline"[^>]* d="([^"]+)"', svg)[1]


def test_the_projector_shows_the_join_link_as_a_segno_qr_code(ws, sc, monkeypatch):
    import segno

    monkeypatch.setenv("BLOC_WORKSHOP_URL", "http://192.0.2.7:8766")
    room = ws.create(sc, rounds=3)
    join_url = f"http://192.0.2.7:8766/join?room={room.code}"
    _, rc = solara.render(wa.ProjectorView(room), handle_error=False)
    (qr,) = [
        w
        for w in rc.find(solara.widgets.HTML).widgets
        if "ws-qr" in w.attributes.get("class", "").split()
    ]
    assert qr.attributes["data-url"] == join_url
    svg = str(qr.unsafe_innerHTML)
    assert svg == wa.join_qr_svg(join_url)
    # segno's drawing of exactly the join link (the modules' path), and nothing else.
    expected = segno.make(join_url, error="m", micro=False, boost_error=False)
    assert modules_path(svg) == modules_path(expected.svg_inline(border=4))
    assert "ws-qr-code" in svg and f"Join: {join_url}" in svg
    assert room.code in texts(rc) and join_url in texts(rc)


def test_the_qr_code_reads_back_as_the_join_link():
    """Decoded by zxing-cpp from segno's picture of it (the browser test decodes the page)."""
    zxingcpp = pytest.importorskip("zxingcpp")
    import segno
    from PIL import Image

    url = "http://192.168.1.20:8766/join?room=K7M2QX"
    qr = segno.make(url, error="m", micro=False, boost_error=False)
    png = io.BytesIO()
    qr.save(png, kind="png", scale=8, border=4)
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.getvalue())))
    assert found.text == url
    assert wa.join_qr_svg(url) == qr.svg_inline(
        border=4, dark="#000", light="#fff", omitsize=True, title=f"Join: {url}",
        svgclass="ws-qr-code",
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# In a browser: the whole toolkit against a real `bloc workshop`


def new_page(browser, width: int = 1000):
    """A page in a browser context of its own (its own cookies: another device)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


def decode_qr(png: bytes) -> str | None:
    """The text of the QR code in a screenshot, None if no decoder is installed."""
    try:
        import zxingcpp
    except ImportError:
        return None
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1, f"{len(found)} codes read in the screenshot"
    return found[0].text


def join_as(browser, link: str, name: str):
    """Someone opens a join link on a device of their own and joins as `name`."""
    context, page = new_page(browser)
    page.goto(link)
    page.locator(".ws-name input").fill(name)
    page.locator(".ws-join").click()
    page.wait_for_url("**token=**")
    return context, page


@pytest.mark.browser
@pytest.mark.slow
def test_the_facilitators_toolkit_in_a_browser(browser, workshop, sc, screenshot_dir):
    import segno

    from tests.app_browser_helpers import choose

    names = {a: sc.actors[a].name for a in sc.actor_ids}
    url, proc = workshop
    log_start = len(Path(proc.log_path).read_text(errors="replace"))
    fctx, fac = new_page(browser, 1280)
    fac.goto(f"{url}/")
    fac.locator(".ws-create-secret input").fill(FACILITATOR_SECRET)
    fac.locator(".ws-create").click()
    fac.locator(".ws-join-url").wait_for()
    join_url = fac.locator(".ws-join-url").get_attribute("href")
    code = fac.locator(".ws-code").get_attribute("data-code")
    assert join_url.endswith(f"/join?room={code}")

    # The projector shows the join link as a QR code: segno's drawing of exactly that
    # link, and a phone reading it gets that link.
    pctx, proj = new_page(browser, 1280)
    proj.goto(f"{url}/projector?room={code}")
    qr = proj.locator(".ws-qr svg")
    qr.wait_for()
    assert proj.locator(".ws-qr").get_attribute("data-url") == join_url
    drawn = proj.locator(".ws-qr path.qrline").get_attribute("d")
    made = segno.make(join_url, error="m", micro=False, boost_error=False)
    assert drawn == modules_path(made.svg_inline(border=4))
    scanned = decode_qr(qr.screenshot())
    assert scanned in (join_url, None)
    proj.screenshot(path=screenshot_dir / "workshop-projector-qr.png")

    # Alice scans it and takes Japan's seat.
    actx, alice = join_as(browser, scanned or join_url, "Alice")
    alice.locator(".ws-choose-japan").click()
    alice.locator(".ws-me[data-seat='japan']").wait_for(state="attached")

    # The facilitator seats Bob at the EU (locked) and hands him his private link.
    fac.locator(".ws-seat-person-name input").fill("Bob")
    choose(fac, "ws-seat-person-seat", names["eu"])
    fac.locator(".ws-seat-person").click()
    seated = fac.locator(".ws-seated").inner_text()
    bob_link = re.search(r"(http\S+token=\S+)", seated)[1]
    bctx, bob = new_page(browser)
    bob.goto(bob_link)
    bob.locator(".ws-me[data-seat='eu']").wait_for(state="attached")
    fac.locator(".ws-lock-eu", has_text="Unlock").wait_for()
    fac.screenshot(path=screenshot_dir / "workshop-facilitator-seats.png", full_page=True)

    # Carol opens the EU's seat link: refused, with the reason; she joins and sees the
    # seat locked; her own link naming the EU shows her own page and says why not.
    eu_link = fac.locator(".ws-seat-link-eu").get_attribute("href")
    cctx, carol = new_page(browser)
    carol.goto(eu_link)
    carol.locator(".ws-seat-refused", has_text="kept for Bob").wait_for()
    carol.locator(".ws-name input").fill("Carol")
    carol.locator(".ws-join").click()
    carol.wait_for_url("**token=**")
    carol.locator(".ws-locked-eu").wait_for()
    assert carol.locator(".ws-choose-eu").count() == 0
    carol.goto(carol.url + "&seat=eu")
    carol.locator(".ws-seat-locked", has_text=f"locked {names['eu']}'s seat").wait_for()
    assert carol.locator(".ws-decision-eu").count() == 0

    # Japan locked: Alice can no longer give her seat up.
    alice.locator(".ws-leave-seat").wait_for()
    fac.locator(".ws-lock-japan").click()
    fac.locator(".ws-lock-japan", has_text="Unlock").wait_for()
    alice.locator(".ws-leave-seat").wait_for(state="detached")

    # A message to the room: on every participant's page and on the projector.
    fac.locator(".ws-message-input input").fill("Coffee at 11:00, back at 11:20")
    fac.locator(".ws-message-send").click()
    for page in (alice, bob, carol, proj):
        page.locator(".ws-room-message-text", has_text="Coffee at 11:00").wait_for()

    # The session starts; nobody answers; the facilitator closes the round. The narrative
    # names each seat that was waiting, with its person and what was done for it.
    fac.locator(".ws-start").click()
    waiting = fac.locator(".ws-seat-row[data-required='1'][data-decided='0']")
    waiting.first.wait_for()
    silent = [
        re.search(r"ws-seat-row-(\w+)", waiting.nth(i).get_attribute("class"))[1]
        for i in range(waiting.count())
    ]
    r = int(fac.locator(".ws-round").get_attribute("data-round")) + 1
    fac.locator(".ws-force").click()
    closed = proj.locator(".ws-events li.ws-ev-closed", has_text=f"Round {r} ")
    closed.wait_for()
    line = closed.inner_text()
    assert "was closed by the facilitator" in line
    holders = {"japan": "Alice", "eu": "Bob"}
    for seat in silent:
        assert f"{names[seat]} ({holders[seat]})" in line, line

    # Practice over: back to round 0, everyone in their seat, and the room is told.
    fac.locator(".ws-practice").click()
    fac.locator(".ws-practice-confirm").click()
    for page in (fac, alice, bob, carol, proj):
        page.wait_for_function(
            "() => document.querySelector('.ws-round')?.dataset.phase === 'lobby'"
        )
    alice.locator(".ws-me[data-seat='japan']").wait_for(state="attached")
    bob.locator(".ws-me[data-seat='eu']").wait_for(state="attached")
    proj.locator(".ws-events li", has_text="Practice over").wait_for()
    assert proj.locator(".ws-events li.ws-ev-closed").count() == 0
    proj.locator(".ws-qr svg").wait_for()
    proj.screenshot(path=screenshot_dir / "workshop-projector-practice.png", full_page=True)
    fac.locator(".ws-start").wait_for()

    for ctx in (fctx, pctx, actx, bctx, cctx):
        ctx.close()
    log = Path(proc.log_path).read_text(errors="replace")[log_start:]
    assert "Traceback" not in log, log[-3000:]

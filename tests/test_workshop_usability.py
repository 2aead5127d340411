"""What participants and facilitators see in a workshop room, as a facilitator's review at a
venue found it (the review's U1-U5 and S9, and the story's order): each test drives a room
through its API and reads the pages as they render (`solara.render`, no browser); the few
things only a browser shows (the projector's timer, the buttons greyed while paused, the
comparison with agent-only runs) are at the end, against `bloc workshop` in chromium.

- U1: the header names the round people decide in, as the decision panel does.
- U2: the last round says who decided for the seat, or what was done for it.
- U3: the story in words: names, not ids; lever changes in sentences; no change that is none.
- The story in the order things happened within a round, in every view that lists it.
- U4: a seat that left the bloc is told when it is invited back and what it is missing, and
  may ask the facilitator to invite it back sooner.
- U5: buttons wait while paused; no seat to give up or take after the end; the default taken
  for a silent seat said before the round closes; the supplier's move starts afresh each
  round; the projector's timer large.
- S9: the roster shows devices and when a participant was last seen; the facilitator gives a
  new private link (the old stops); the facilitator's page warns it must not be projected.
- A restart (the server's own autosave, then `--resume` in process) keeps all of it.
"""

from __future__ import annotations

import html
import json
import re

import ipyvuetify as v
import pytest
import solara

from agents.human import accept, reject
from negotiation.rooms import workshop_debrief as wd
from negotiation.rooms.workshop import Refused, Room, Settings, Workshop, WorkshopError, replay
from negotiation.rules.types import SupplierAction, SupplierMove
from negotiation.ui import workshop_app as wa
from tests.browser_support import create_room
from tests.workshop_helpers import Clock, button, eventually, people, texts

SCENARIO = "ministerial-2026"
NORMAL = SupplierMove(SupplierAction.NORMAL)


def visible(page: str) -> str:
    """A page's text as read: tags out (class names hold ids), entities decoded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def play(room: Room, decisions: dict) -> None:
    """Submit for every seat that must decide: `decisions` maps seat -> (token, decision)."""
    snap = room.snapshot()
    for seat in snap.waiting_for:
        token, decision = decisions[seat]
        room.submit(token, seat, decision, for_round=snap.open_round)


def story(snap) -> list[str]:
    """The narrative, oldest first, in the words pages show."""
    return [wd.story_words(snap, k, t, a) for _, k, t, a in reversed(snap.narrative())]


# ----------------------------------------------------------------------------------------------
# U1: one round number on a page


def test_the_header_names_the_round_the_decision_panel_asks_about(ws):
    room = ws.create(SCENARIO, seed=1, rounds=4)
    (alice,) = people(room, ("Alice", "japan"))
    assert "Round 0 of 4" in wa.head_html(room.snapshot())  # before the start
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    room.start(room.admin_token)
    eventually(lambda: "Round 1: your decision as Japan" in texts(rc))
    assert "Round 1 of 4" in texts(rc) and "Round 0 of 4" not in texts(rc)
    # the header and the decision panel redraw apart: wait for the button too (a loaded CI
    # machine once found the header's words before the button)
    eventually(lambda: rc.find(v.Btn, class_="ws-accept").widgets)
    button(rc, "ws-accept").click()
    eventually(lambda: "Round 2: your decision as Japan" in texts(rc))
    page = texts(rc)
    assert "Round 2 of 4" in page and "Round 1 of 4" not in page
    assert "Last round (round 1)" in page and "Round 2 is open" in page
    # The facilitator's page and the projector say the same.
    _, fac = solara.render(wa.FacilitatorView(room, room.admin_token), handle_error=False)
    _, proj = solara.render(wa.ProjectorView(room), handle_error=False)
    assert "Round 2 of 4" in texts(fac) and "Round 2 of 4" in texts(proj)
    room.force(room.admin_token)
    room.force(room.admin_token)
    room.force(room.admin_token)
    eventually(lambda: "Round 4 of 4" in texts(rc) and "The session is over" in texts(rc))


# ----------------------------------------------------------------------------------------------
# U2: who decided the last round, never "no move recorded"


def test_the_last_round_says_who_decided_or_what_was_done_for_the_seat(ws):
    room = ws.create(SCENARIO, seed=1, rounds=5)
    key = room.admin_token
    alice, sam = people(room, ("Alice", "japan"), ("Sam", "supplier"))
    room.start(key)
    me = {"japan": (alice.token, accept()), "supplier": (sam.token, NORMAL)}
    play(room, me)  # round 1: Alice accepts, Sam sells normally
    snap = room.snapshot()
    assert "japan" in snap.members
    japan, supplier = wa._last_round_html(snap, "japan"), wa._last_round_html(snap, "supplier")
    assert "Alice decided for Japan: accepted the package." in japan
    assert "Japan joined the bloc" in japan and "Japan is in the bloc." in japan
    assert "Sam decided for Dominant supplier: sold normally." in html.unescape(supplier)
    play(room, me)  # round 2: Alice, a member now, stays; nothing else is said of it
    japan = wa._last_round_html(room.snapshot(), "japan")
    assert "Alice decided for Japan: stayed in the bloc." in japan
    room.submit(sam.token, "supplier", NORMAL)
    room.force(key)  # round 3: Alice silent, closed by the facilitator
    japan = wa._last_round_html(room.snapshot(), "japan")
    assert "Nobody decided for Japan before round 3 closed: it stayed in the bloc (the default)."
    assert "Nobody decided for Japan before round 3 closed: it stayed in the bloc" in japan
    # A seat taken mid-run is an agent's for the round it was taken in.
    (carol,) = people(room, ("Carol", "eu"))
    play(room, me)  # round 4
    eu = wa._last_round_html(room.snapshot(), "eu")
    assert "An agent played European Union in round 4: it " in eu or "nothing to decide" in eu
    for seat in ("japan", "eu", "supplier"):
        assert "No move of yours" not in wa._last_round_html(room.snapshot(), seat)


# ----------------------------------------------------------------------------------------------
# U3: the story in words


IDS = re.compile(r"\b(rare_earths|price_gap|export_controls|side_offer|eu|us|japan)\b|->|\{'")


def test_the_story_and_the_decisions_are_in_words(ws):
    room = ws.create(SCENARIO, seed=1, rounds=4, settings=Settings(show_decisions=True))
    key = room.admin_token
    alice, sam = people(room, ("Alice", "japan"), ("Sam", "supplier"))
    room.start(key)
    room.set_levers(key, instrument="price_gap")
    room.set_levers(key, penalty=room.model.penalty)  # set to what it was: no change to tell
    flood = SupplierMove(SupplierAction.FLOOD, ("rare_earths",), 0.5)
    play(room, {"japan": (alice.token, accept()), "supplier": (sam.token, flood)})
    offer = SupplierMove(SupplierAction.SIDE_OFFER, (), 0.0, "japan", 2e9)
    room.submit(sam.token, "supplier", offer)
    snap = room.snapshot()
    seats = wa.seats_html(snap, reveal=True)
    assert "side offer to Japan: $2.00bn a year" in seats
    assert "accept the package" in wa.decision_words(snap, {"action": "accept"}, False)
    assert wa.decision_words(snap, {"action": "accept"}, True) == "stay in the bloc"
    room.force(key)
    snap = room.snapshot()
    told = " ".join(story(snap))
    assert "The instrument changed from border-adjusted tariff to price-gap payments." in told
    assert "unchanged" not in told and "outsider penalty" not in told
    assert "floods Rare earths" in told
    pages = [
        wa.narrative_html(snap, 300),
        wa._last_round_html(snap, "supplier"),
        wa._last_round_html(snap, "japan"),
        wd.timeline_html(snap),
        wd.decisions_html(wd.decision_lines(snap)),
    ]
    for page in pages:
        assert not IDS.search(visible(page)), IDS.search(visible(page))
    last = visible(pages[1])
    assert "Sam decided for Dominant supplier: side offer to Japan: $2.00bn a year." in last
    assert "The supplier offers Japan $2.00bn a year to leave" in last
    floors = wd.lever_words(snap, "Lever changed: floors: Lithium $85,000/t -> no floor; Gallium "
                            "$250,000/t -> $300,000/t")  # fmt: skip
    assert floors == (
        "The floors changed: Lithium from $85,000/t to no floor; Gallium from $250,000/t to "
        "$300,000/t."
    )
    terms = "counter-propose: Lithium $70,000/t; outsider penalty 10%"
    line = wd.DecisionLine(1, "japan", "Japan", "counter", "Alice", True, terms, ())
    assert "counter-proposed <span class='ws-muted'>(Lithium $70,000/t; outsider penalty 10%)" in (
        wd.decisions_html([line])
    )
    patience = wd.lever_words(snap, "Lever changed: patience: Japan 5 rounds -> 1 rounds")
    assert patience == "The patience changed: Japan from 5 rounds to 1 round."
    # The CSV export's words name minerals and the side offer's target too.
    words = room.export_csv("decisions")
    assert "side offer to Japan" in words and "flood Rare earths (50%)" in words


# ----------------------------------------------------------------------------------------------
# The story in the order things happened within a round


def test_every_view_lists_a_rounds_events_in_the_order_they_happened(ws):
    room = ws.create(SCENARIO, seed=1, rounds=4)
    key = room.admin_token
    alice, sam = people(room, ("Alice", "japan"), ("Sam", "supplier"))
    room.start(key)
    room.set_levers(key, instrument="price_gap")  # acts from round 2: told as it opens
    play(room, {"japan": (alice.token, accept()), "supplier": (sam.token, NORMAL)})
    room.announce(key, "Ten minutes left")  # round 2, then the supplier floods, then a close
    room.submit(sam.token, "supplier", SupplierMove(SupplierAction.FLOOD, ("gallium",), 0.5))
    room.force(key)
    snap = room.snapshot()
    order = ["The instrument changed", "Ten minutes left", "floods Gallium", "Round 2 was closed"]

    def in_order(lines: list[str], parts: list[str] = order) -> None:
        at = [next(i for i, t in enumerate(lines) if part in t) for part in parts]
        assert at == sorted(at), [lines[i] for i in at]

    start = next(i for i, t in enumerate(story(snap)) if "The session started" in t)
    joined = next(i for i, t in enumerate(story(snap)) if "Japan joined the bloc" in t)
    assert start < joined  # round 1: the start, then what was decided in it
    in_order(story(snap))
    in_order([t for _, _, t in wd.timeline(snap)])
    # The exported events keep the engine's own text (ids, arrows): the data, in order too.
    raw = ["Lever changed: instrument", "Ten minutes left", "floods gallium", "Round 2 was closed"]
    in_order(room.export_csv("events").splitlines(), raw)


# ----------------------------------------------------------------------------------------------
# U4: a seat that left the bloc


def a_seat_that_left(ws):
    """Alice's Japan joins in round 1 and leaves in round 2; round 3 is open."""
    room = ws.create(SCENARIO, seed=1, rounds=8)
    alice, sam = people(room, ("Alice", "japan"), ("Sam", "supplier"))
    room.start(room.admin_token)
    play(room, {"japan": (alice.token, accept()), "supplier": (sam.token, NORMAL)})
    play(room, {"japan": (alice.token, reject()), "supplier": (sam.token, NORMAL)})
    assert "japan" not in room.snapshot().members and room.snapshot().open_round == 3
    return room, alice, sam


def test_a_seat_that_left_is_told_when_it_is_invited_back_and_what_it_misses(ws):
    room, alice, _ = a_seat_that_left(ws)
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    eventually(lambda: "Nothing for Japan to decide" in texts(rc))
    page = visible(texts(rc))
    patience = room.model.country_agents["japan"].patience
    assert (
        f"Japan left the bloc in round 2, and a country that leaves is not invited back for "
        f"{patience} rounds: Japan is next invited in round {2 + patience + 1}." in page
    )
    assert "What Japan is missing: joining the bloc as it stands would be worth" in page
    assert rc.find(v.Btn, class_="ws-ask-back").widget.style_ == ""  # it may ask


def test_a_seat_that_left_asks_to_be_invited_back_and_the_facilitator_does(ws):
    room, alice, sam = a_seat_that_left(ws)
    key = room.admin_token
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    _, fac = solara.render(wa.FacilitatorView(room, key), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-ask-back").widgets)
    button(rc, "ws-ask-back").click()
    eventually(lambda: "asks to be invited back" in texts(fac))
    eventually(lambda: rc.find(v.Btn, class_="ws-ask-back").widget.style_ == "display: none")
    assert "You asked the facilitator to invite Japan back" in visible(texts(rc))
    with pytest.raises(WorkshopError, match="not waiting"):
        room.ask_back(sam.token)  # the supplier has nothing to be invited back to
    with pytest.raises(Refused):
        room.invite_back(alice.token, "japan")  # the facilitator's, not hers
    button(fac, "ws-invite-back-japan").click()
    told = "The facilitator invited Japan back to the table from round 4"
    eventually(lambda: told in " ".join(story(room.snapshot())))
    eventually(lambda: "The facilitator invited Japan back to the table: Japan is invited again "
               "from round 4." in visible(texts(rc)))  # fmt: skip
    play(room, {"supplier": (sam.token, NORMAL)})
    snap = room.snapshot()
    assert snap.open_round == 4 and snap.panels["japan"].kind == "invite"
    eventually(lambda: "Round 4: your decision as Japan" in texts(rc))
    # The record replays to the same session: the invitation back is an engine lever.
    assert replay(room.record()).rounds_df.equals(snap.rounds_df)


# ----------------------------------------------------------------------------------------------
# U5: controls and what a participant is told


def test_buttons_wait_while_paused(ws):
    room = ws.create(SCENARIO, seed=1, rounds=4)
    alice, sam = people(room, ("Alice", "japan"), ("Sam", "supplier"))
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    _, sup = solara.render(wa.ParticipantView(room, sam.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-accept").widgets)
    eventually(lambda: sup.find(v.Btn, class_="ws-supplier-send").widgets)
    room.pause(room.admin_token)
    for page, names in ((rc, ("ws-accept", "ws-reject", "ws-counter-open")),
                        (sup, ("ws-supplier-send", "ws-supplier-forecast"))):  # fmt: skip
        for cls in names:
            eventually(lambda p=page, c=cls: button(p, c).disabled)
    assert "Paused by the facilitator: you can decide once they resume" in texts(rc)
    room.resume(room.admin_token)
    eventually(lambda: not button(rc, "ws-accept").disabled)
    eventually(lambda: not button(sup, "ws-supplier-send").disabled)


def test_a_participant_is_told_what_happens_if_the_round_closes_before_they_decide(ws):
    room = ws.create(SCENARIO, seed=1, rounds=4)
    alice, sam = people(room, ("Alice", "japan"), ("Sam", "supplier"))
    room.start(room.admin_token)
    snap = room.snapshot()
    said = visible(wa.notes_html(snap, snap.by_token(alice.token), "japan"))
    assert (
        "Not decided yet. If the round closes before you decide (the facilitator closes it), "
        "an agent decides for Japan" in said
    )
    said = visible(wa.notes_html(snap, snap.by_token(sam.token), "supplier"))
    assert "If the round closes before you decide (the facilitator closes it), you sell normally"
    assert "you sell normally" in said
    room.configure(room.admin_token, timer_seconds=120)
    play(room, {"japan": (alice.token, accept()), "supplier": (sam.token, NORMAL)})
    snap = room.snapshot()
    said = visible(wa.notes_html(snap, snap.by_token(alice.token), "japan"))
    assert (
        "If the round closes before you decide (its time runs out or the facilitator closes it)"
        ", Japan stays in the bloc." in said
    )
    room.submit(alice.token, "japan", accept())
    said = visible(wa.notes_html(room.snapshot(), snap.by_token(alice.token), "japan"))
    assert "Decided: stay in the bloc (by Alice)" in said and "Not decided" not in said


def test_the_suppliers_move_starts_afresh_each_round(ws):
    room = ws.create(SCENARIO, seed=1, rounds=4)
    (sam,) = people(room, ("Sam", "supplier"))
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, sam.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-move-flood").widgets)
    rc.find(v.BtnToggle, class_="ws-supplier-action").widget.v_model = 1  # flood
    eventually(lambda: rc.find(v.Checkbox).widgets)
    (box,) = [w for w in rc.find(v.Checkbox).widgets if w.label == "Gallium"]
    box.v_model = True
    button(rc, "ws-supplier-send").click()
    eventually(lambda: room.snapshot().round == 1)
    assert room.snapshot().rounds_df.iloc[-1]["supplier_action"] == "flood"
    eventually(lambda: "Round 2 of 4" in texts(rc))
    eventually(lambda: rc.find(v.BtnToggle, class_="ws-supplier-action").widget.v_model == 0)
    assert not rc.find(v.Checkbox).widgets  # selling normally: no minerals ticked, none shown
    rc.find(v.BtnToggle, class_="ws-supplier-action").widget.v_model = 1
    eventually(lambda: rc.find(v.Checkbox).widgets)
    assert not any(w.v_model for w in rc.find(v.Checkbox).widgets)


def test_a_supplier_page_left_selling_normally_keeps_its_layout(ws, layouts):
    """Starting afresh costs a re-render only when there is something to reset (40 pages of a
    room are updated in place: see `Live`)."""
    room = ws.create(SCENARIO, seed=1, rounds=4)
    (sam,) = people(room, ("Sam", "supplier"))
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, sam.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-supplier-send").widgets)
    renders = len(layouts)
    for r in (1, 2):
        room.submit(sam.token, "supplier", NORMAL)
        eventually(lambda r=r: f"Round {r + 1} of 4" in texts(rc))
    assert len(layouts) == renders


def test_after_the_end_no_seat_to_give_up_or_take(ws):
    room = ws.create(SCENARIO, seed=1, rounds=1)
    alice, bob = people(room, ("Alice", "japan"), ("Bob", None))
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    _, watcher = solara.render(wa.ParticipantView(room, bob.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-leave-seat").widgets)
    assert watcher.find(v.Btn, class_="ws-choose-eu").widgets
    room.force(room.admin_token)
    eventually(lambda: "Your summary, Alice" in texts(rc))
    eventually(lambda: "Your summary, Bob" in texts(watcher))
    assert not rc.find(v.Btn, class_="ws-leave-seat").widgets
    assert not watcher.find(v.Btn, class_="ws-choose-eu").widgets
    assert "Choose a seat" not in texts(watcher)


# ----------------------------------------------------------------------------------------------
# S9: private links are bearer credentials


def test_the_roster_shows_devices_and_when_each_participant_was_last_seen(ws):
    clock = Clock()
    room = ws.create(SCENARIO, rounds=3, clock=clock)
    alice, bob = room.join("Alice"), room.join("Bob")
    _, fac = solara.render(wa.FacilitatorView(room, room.admin_token), handle_error=False)
    assert "Your page only: never on the projector." in visible(texts(fac))
    one = room.attach(alice.token, "session:phone")
    room.attach(alice.token, "session:phone")  # a second tab on her phone: one device
    eventually(lambda: "data-devices='1' data-pages='2'>online, open on 2 pages</span>" in
               texts(fac))  # fmt: skip
    assert "several devices" not in texts(fac)
    room.attach(alice.token, "session:laptop")  # her link on another browser
    eventually(lambda: "open on 3 pages on 2 devices" in texts(fac))
    assert "several devices: one may not be theirs" in texts(fac)
    clock.t += 600
    room.attach(bob.token, "session:bob")()  # Bob opened his page and closed it
    eventually(lambda: "(last seen " in texts(fac))
    assert visible(wa.presence_html(room.snapshot().participant(bob.id))).startswith("offline")
    one()
    assert room.snapshot().participant(alice.id).devices == 2  # her phone still has a page


def test_a_new_link_stops_the_old_one_and_keeps_the_seat(ws):
    room = ws.create(SCENARIO, seed=1, rounds=3)
    key = room.admin_token
    (alice,) = people(room, ("Alice", "japan"))
    room.start(key)
    _, mine = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    _, thief = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    _, fac = solara.render(wa.FacilitatorView(room, key), handle_error=False)
    old = alice.token
    eventually(lambda: room.snapshot().participant(alice.id).sessions == 2)
    button(fac, f"ws-new-link-{alice.id}").click()
    eventually(lambda: "Alice's new private link" in visible(texts(fac)))
    new = room.snapshot().participant(alice.id).token
    assert new != old and f"token={new}" in texts(fac)
    for page in (mine, thief):  # every page on the old link stops, and says why
        eventually(lambda p=page: "was replaced by the facilitator" in texts(p))
    with pytest.raises(Refused, match="replaced"):
        room.submit(old, "japan", accept())
    assert room.snapshot().participant(alice.id).sessions == 0
    room.submit(new, "japan", accept())  # her seat, with the new link
    assert room.snapshot().round == 1 and room.participant(new).seat == "japan"
    with pytest.raises(Refused):
        room.new_link(new, alice.id)  # the facilitator's only
    assert "new private link" not in " ".join(story(room.snapshot()))  # the roster's, not a story


# ----------------------------------------------------------------------------------------------
# A restart keeps it all (the server's autosave, then resumed)


def test_the_newer_room_state_survives_a_restart(tmp_path):
    """The Workshop saves a room as its timer thread does (`save_changed`) and is dropped
    without a goodbye, as a killed server is; a new one resumes the directory. Seats the
    facilitator assigned and locked, the locked seats, the message, the practice reset, a
    seat's request to be invited back, a replaced link and the story's order come back, and
    the pages show them."""
    clock = Clock()
    ws = Workshop(ticker=False, state_dir=tmp_path)
    room = ws.create(SCENARIO, seed=1, rounds=8, clock=clock)
    key = room.admin_token
    alice, sam, carol = people(room, ("Alice", "japan"), ("Sam", "supplier"), ("Carol", None))
    dee = room.seat_person(key, "Dee", "eu")  # seated and locked by the facilitator
    room.assign(key, carol.id, "mexico")  # Carol put in a seat by the facilitator
    room.configure(key, seats_locked=True)
    room.start(key)
    room.force(key)
    room.reset_practice(key)  # a practice round, thrown away
    room.start(key)
    me = {
        "japan": (alice.token, accept()),
        "supplier": (sam.token, NORMAL),
        "eu": (dee.token, accept()),
        "mexico": (carol.token, accept()),
    }
    play(room, me)
    me["japan"] = (alice.token, reject())
    play(room, me)  # Japan left in round 2
    room.ask_back(alice.token)
    room.announce(key, "Back in five minutes")
    old = sam.token  # (the Participant a join returns is the room's: keep the text)
    fresh = room.new_link(key, sam.id)
    assert ws.save_changed() == [room.code]  # what the timer thread does
    before = room.snapshot()
    del ws  # killed: nothing more is saved

    back = Workshop(ticker=False, state_dir=tmp_path)
    (again,), problems = back.resume(clock=clock)
    assert problems == []
    snap = again.snapshot()
    assert snap.settings.seats_locked and snap.locked_seats == {"eu"}
    assert again.participant(carol.token).seat == "mexico"
    assert again.participant(dee.token).seat == "eu"
    assert snap.message == "Back in five minutes" and snap.practices == 1
    assert snap.asks_back == {"japan"} and "japan" in snap.cooling
    assert story(snap) == story(before) and wd.timeline(snap) == wd.timeline(before)
    with pytest.raises(Refused, match="replaced"):
        again.participant(old)
    assert again.participant(fresh.token).seat == "supplier"
    # The pages: Alice's seat, its wait and her request; the message; the story's order.
    _, rc = solara.render(wa.ParticipantView(again, alice.token), handle_error=False)
    eventually(lambda: "Round 3 of 8" in texts(rc))
    page = visible(texts(rc))
    assert "From the facilitator: Back in five minutes" in page
    assert "You asked the facilitator to invite Japan back" in page
    assert "Japan left the bloc in round 2" in page
    _, stale = solara.render(wa.ParticipantView(again, old), handle_error=False)
    assert "was replaced by the facilitator" in texts(stale)
    # And it plays on as the original does.
    for r in (room, again):
        r.invite_back(key, "japan")
        r.force(key)
    assert again.snapshot().rounds_df.equals(room.snapshot().rounds_df)
    assert json.loads(again.export_json())["practice"] == json.loads(room.export_json())["practice"]


# ----------------------------------------------------------------------------------------------
# In chromium: what only a browser shows, in one room on one `bloc workshop`


def new_page(browser, width: int = 1000):
    """A page in a browser context of its own (its own cookies: another device)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


@pytest.mark.browser
@pytest.mark.slow
def test_in_chromium_the_room_as_people_see_it(browser, workshop, screenshot_dir):
    """A 2-round room: the facilitator's page warns it is not for the projector; Alice's
    buttons are greyed while paused (not clickable, then an error); her header and panel name
    the same round, and the last round says she decided; her link opened on a second device
    shows on the roster, and a new link stops it; the projector's timer is large; the Charts
    tab compares the room with agent-only runs, computed in the background."""
    url, _ = workshop
    fctx, fac, code = create_room(browser, url, rounds=2)
    fac.locator(".ws-head", has_text="Round 0 of 2").wait_for()
    assert fac.locator(".ws-facilitator-warning").is_visible()
    assert "never on the projector" in fac.locator(".ws-facilitator-warning").inner_text()

    actx, alice = new_page(browser)
    alice.goto(f"{url}/join?room={code}&seat=japan")
    alice.locator(".ws-name input").fill("Alice")
    alice.locator(".ws-join").click()
    alice.locator(".ws-me[data-seat='japan']").wait_for(state="attached")
    fac.locator(".ws-facilitator", has_text="Alice").wait_for()
    fac.locator(".ws-start").click()
    accept_button = alice.locator(".ws-decision-japan .ws-accept")
    accept_button.wait_for()
    assert "Round 1 of 2" in alice.locator(".ws-round").inner_text()
    assert "Round 1: your decision as Japan" in alice.locator(".ws-notes").inner_text()
    assert "an agent decides for Japan" in alice.locator(".ws-default").inner_text()

    fac.locator(".ws-pause").click()  # U5: greyed while paused
    alice.wait_for_function("() => document.querySelector('.ws-accept')?.disabled === true")
    assert alice.locator(".ws-paused").is_visible()
    fac.locator(".ws-resume").click()
    alice.wait_for_function("() => document.querySelector('.ws-accept')?.disabled === false")
    accept_button.click()
    alice.locator(".ws-last", has_text="Alice decided for Japan").wait_for()
    assert "Round 2 of 2" in alice.locator(".ws-round").inner_text()

    # S9: her link on a second device shows on the roster; a new link stops both pages.
    sctx, second = new_page(browser)
    second.goto(alice.url)
    second.locator(".ws-me[data-seat='japan']").wait_for(state="attached")
    fac.locator(".ws-devices").wait_for()
    assert "on 2 devices" in fac.locator(".ws-online").first.inner_text()
    alice.locator(".ws-header", has_text="open on 2 devices").wait_for()
    fac.locator(".ws-new-link-p1").click()
    fac.locator(".ws-new-link", has_text="Alice's new private link").wait_for()
    for page in (alice, second):
        page.locator(".ws-refused", has_text="replaced by the facilitator").wait_for()

    fac.locator(".ws-extend-60").click()  # a countdown, for the projector
    pctx, proj = new_page(browser, 1280)
    proj.goto(f"{url}/projector?room={code}")
    timer = proj.locator(".ws-timer")
    timer.wait_for()
    size = float(timer.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px"))
    assert size >= 64, size  # read from the back of the room
    proj.screenshot(path=screenshot_dir / "workshop-projector-timer.png")

    fac.get_by_role("tab", name="Charts").click()  # starts the agent-only runs
    comparison = fac.locator(".ws-agent-comparison")
    comparison.wait_for(timeout=120_000)
    text = comparison.inner_text()
    assert "Your room had a bloc" in text and "agent-only runs" in text and "%" in text
    for ctx in (fctx, actx, sctx, pctx):
        ctx.close()

"""The printable debrief and the participants' end-of-game summaries (issue 14, "What
facilitators expect"): the content builders (negotiation/rooms/workshop_debrief.py) on a played
room, the pages rendered with `solara.render`, and (`-m browser`) the printable page of a
played room opened by the facilitator in chromium and printed to PDF."""

from __future__ import annotations

import re

import ipyvuetify as v
import pytest
import solara

from agents.human import accept, reject
from negotiation.rooms import workshop_debrief as wd
from negotiation.rooms.workshop import Workshop
from negotiation.rules.types import COMPONENTS, SupplierAction, SupplierMove
from negotiation.ui import workshop_app as wa
from tests.browser_support import create_room, join
from tests.workshop_helpers import eventually, texts

SCENARIO = "ministerial-2026"


@pytest.fixture(scope="module")
def played():
    """A room of 3 rounds, over: Alice at Japan (accepts, then stays), Bob at the EU (rejects
    round 1, then silent: the facilitator closes the rounds), Sam at the supplier (floods
    rare earths in round 2); (room, alice, bob, sam)."""
    ws = Workshop(ticker=False)
    room = ws.create(SCENARIO, rounds=3)
    alice, bob, sam = room.join("Alice"), room.join("Bob"), room.join("Sam")
    room.claim(alice.token, "japan")
    room.claim(bob.token, "eu")
    room.claim(sam.token, "supplier")
    key = room.admin_token
    room.start(key)
    for r in (1, 2, 3):
        snap = room.snapshot()
        if "japan" in snap.panels:
            room.submit(alice.token, "japan", accept())
        if r == 1 and "eu" in snap.panels:
            room.submit(bob.token, "eu", reject())
        if r == 2:
            flood = SupplierMove(SupplierAction.FLOOD, ("rare_earths",), 0.5)
            room.submit(sam.token, "supplier", flood)
        if not room.snapshot().finished and room.snapshot().round < r:
            room.force(key)
    assert room.snapshot().finished
    yield room, alice, bob, sam
    ws.close()


def no_ids(text: str, room) -> None:
    """Names, never ids: no participant id (p1...) and no seat id outside attributes."""
    shown = re.sub(r"<[^>]+>", " ", text)  # the text, without tags and their attributes
    assert not re.search(r"\bp\d+\b", shown)
    for seat in ("japan", "eu", "mexico", "singapore", "rare_earths"):  # names are capitalised
        assert not re.search(rf"\b{seat}\b", shown), seat


# ----------------------------------------------------------------------------------------------
# The content builders


def test_seat_results_are_the_utility_by_component_at_the_start_and_the_end(played):
    room, *_ = played
    snap = room.snapshot()
    results = {r.seat: r for r in wd.seat_results(snap)}
    assert list(results) == [*snap.countries, snap.supplier]
    actors = snap.actors_df
    for seat, res in results.items():
        first = actors[(actors["actor"] == seat) & (actors["round"] == 0)].iloc[0]
        last = actors[(actors["actor"] == seat) & (actors["round"] == 3)].iloc[0]
        assert res.utility_start == pytest.approx(first["utility"], rel=1e-9, abs=1)
        assert res.utility_end == pytest.approx(last["utility"], rel=1e-9, abs=1)
        assert set(res.start) == set(COMPONENTS)
        assert res.member == (seat in snap.members)
    assert results["japan"].people == ("Alice",) and results["us"].people == ()
    assert 1 in results["japan"].joined
    words = wd.result_words(results["japan"], snap.round)
    assert words.startswith("Played by Alice. Ended in the bloc (joined in round 1).")
    assert "Utility after round 3" in words and "at the start" in words
    table = wd.result_table_html(results["japan"])
    assert "<th class='num'>start</th>" in table and "class='total'" in table
    assert "consumer cost" in table


def test_the_timeline_has_the_people_the_members_and_the_supplier_in_order(played):
    room, *_ = played
    snap = room.snapshot()
    lines = wd.timeline(snap)
    rounds = [r for r, _, _ in lines]
    assert rounds == sorted(rounds)
    text = [t for _, _, t in lines]
    assert "Alice joined the room" in text and "Alice took Japan's seat" in text
    assert any(t.startswith("Japan joined the bloc") for t in text)
    assert any(r == 2 and t.startswith("The supplier") and "flood" in t for r, _, t in lines)
    assert (1, "", "The supplier sold normally.") in lines
    assert text[-1] == "The session is over after 3 rounds"
    assert all(re.fullmatch(r"\d\d:\d\d", t) for _, t, x in lines if "joined the room" in x)


def test_decision_lines_name_who_decided_what_and_why(played):
    room, *_ = played
    snap = room.snapshot()
    lines = wd.decision_lines(snap)
    by = {(x.round, x.seat): x for x in lines}
    japan1 = by[(1, "japan")]
    assert (japan1.person, japan1.decision, japan1.words) == ("Alice", "accept", "accepted "
                                                              "the package")  # fmt: skip
    assert japan1.reasons and japan1.reasons[0].startswith("Japan joined the bloc:")
    eu1 = by[(1, "eu")]
    assert (eu1.person, eu1.decision) == ("Bob", "reject")
    assert eu1.reasons[0].startswith("European Union rejected the package:")
    sup2 = by[(2, "supplier")]
    assert (sup2.person, sup2.decision) == ("Sam", "flood")
    assert "Rare earths" in sup2.terms or "rare earths" in sup2.terms.lower()
    silent = [x for x in lines if x.seat == "eu" and x.round > 1]
    assert silent and all(x.who.startswith("nobody") for x in silent)
    assert all(any("was closed by the facilitator" in t for t in x.reasons) for x in silent)
    assert by[(1, "us")].who == "an agent"
    assert [x.seat for x in wd.decision_lines(snap, "japan")] == ["japan"] * 3
    page = wd.decisions_html(lines)
    assert page.count("ws-decision-line") == len(lines)
    no_ids(page, room)


def test_the_debrief_document_has_its_sections_in_names(played):
    room, *_ = played
    snap = room.snapshot()
    doc = wd.debrief_html(snap, {"timeline": "<svg class='x'></svg>"})
    for key in ("results", "timeline", "decisions"):
        assert f"ws-debrief-section ws-debrief-{key}" in doc
    assert "Members at the end" in doc and "session over" in doc
    assert "<h2>Timeline</h2><svg class='x'></svg>" in doc
    no_ids(doc, room)


def test_a_participants_summary_is_their_seat_decisions_and_result(played):
    room, alice, bob, sam = played
    snap = room.snapshot()
    mine = wd.summary_html(snap, snap.participant(alice.id))
    assert "Your summary, Alice" in mine and "You played <b>Japan</b>" in mine
    assert mine.count("ws-decision-line") == 3 and "accepted the package" in mine
    assert "Japan's result" in mine and "class='total'" in mine
    assert "European Union" not in re.sub(r"<[^>]+>", " ", mine).split("Japan's result")[1]
    no_ids(mine, room)
    bobs = wd.summary_html(snap, snap.participant(bob.id))
    assert "You played <b>European Union</b>" in bobs and "nobody" in bobs


# ----------------------------------------------------------------------------------------------
# The pages, rendered


def test_the_participants_page_shows_the_summary_once_the_session_is_over(played):
    room, alice, *_ = played
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    page = eventually(lambda: (t := texts(rc)) and "Your summary, Alice" in t and t)
    assert "You played <b>Japan</b>" in page and "Your seat's decisions" in page


def test_no_summary_while_the_session_runs():
    ws = Workshop(ticker=False)
    room = ws.create(SCENARIO, rounds=3)
    alice = room.join("Alice")
    room.claim(alice.token, "japan")
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    page = eventually(lambda: (t := texts(rc)) and "your decision as Japan" in t and t)
    assert "Your summary" not in page
    ws.close()


def test_the_debrief_view_renders_every_section(played):
    room, *_ = played
    _, rc = solara.render(wa.DebriefView(room), handle_error=False)
    page = texts(rc)
    for title in ("Results by country", "Timeline", "Decisions and their reasons"):
        assert f"<h2>{title}</h2>" in page
    assert "<h2>Your room against agents alone</h2>" in page
    assert "Save as PDF" in page and "Played by Alice" in page
    assert rc.find(v.Btn, class_="ws-debrief-compare").widgets  # no ensemble yet: on demand


# ----------------------------------------------------------------------------------------------
# In chromium: the printable page of a played room, printed to PDF


@pytest.mark.browser
@pytest.mark.slow
def test_the_printable_debrief_of_a_played_room_prints_to_pdf(
    browser, workshop, tmp_path, screenshot_dir
):
    """A room of 2 rounds played in chromium (Alice at Japan accepts round 1; the facilitator
    closes both rounds): Alice's page shows her summary; the facilitator's printable debrief
    has its four sections and prints to a PDF."""

    url, _ = workshop
    fctx, fac, code = create_room(browser, url, rounds=2)
    fac.locator(".ws-head", has_text="Round 0 of 2").wait_for()
    actx, alice = join(browser, url, code, "Alice", "japan")
    fac.locator(".ws-facilitator", has_text="Alice").wait_for()
    fac.locator(".ws-start").click()
    alice.locator(".ws-accept").click()
    fac.locator(".ws-round[data-round='1']").wait_for()
    fac.locator(".ws-force").click()  # round 2: Alice silent, closed by the facilitator
    fac.locator(".ws-round[data-phase='over']").wait_for()

    summary = alice.locator(".ws-summary")
    summary.wait_for()
    assert "Your summary, Alice" in summary.inner_text()
    assert "You played Japan" in summary.inner_text()
    assert summary.locator(".ws-decision-line").count() == 2
    assert summary.locator(".ws-result-table").count() == 1

    fac.get_by_role("tab", name="Charts").click()  # it also starts the agent-only runs
    fac.locator(".ws-debrief-link").wait_for()
    href = fac.locator(".ws-debrief-link").get_attribute("href")
    assert href.startswith("/debrief?room=") and "key=" in href
    debrief = fctx.new_page()
    debrief.set_default_timeout(60_000)
    debrief.goto(url + href)
    for section in ("results", "timeline", "decisions", "comparison"):
        debrief.locator(f".ws-debrief-{section} h2").wait_for()
    assert "Played by Alice" in debrief.locator(".ws-debrief-results").inner_text()
    assert debrief.locator(".ws-result-table").count() == 6
    decisions = debrief.locator(".ws-debrief-decisions").inner_text()
    assert "Alice" in decisions and "accepted the package" in decisions
    debrief.emulate_media(media="print")
    assert not debrief.locator(".ws-debrief-help").is_visible()
    debrief.screenshot(path=screenshot_dir / "workshop-debrief-print.png", full_page=True)
    alice.screenshot(path=screenshot_dir / "workshop-summary.png", full_page=True)
    pdf = debrief.pdf(path=str(tmp_path / "debrief.pdf"), format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    assert (tmp_path / "debrief.pdf").stat().st_size == len(pdf)
    for ctx in (fctx, actx):
        ctx.close()


def test_the_supplier_lines_name_minerals_and_targets(played):
    room, *_ = played
    snap = room.snapshot()
    said = wd.in_names(
        snap, "The supplier bans exports of rare_earths, graphite to members", "supplier"
    )
    assert said == (
        "The supplier bans exports of Rare earths (NdPr oxide), Natural graphite to members"
    )
    offer = wd.in_names(snap, "The supplier offers japan $1.00bn a year to leave", "supplier")
    assert offer == "The supplier offers Japan $1.00bn a year to leave"
    assert wd.in_names(snap, "rare_earths", "japan") == "rare_earths"  # only the supplier's

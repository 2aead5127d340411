"""The workshop pages rendered with `solara.render` (no browser): clicks on the widgets, and the
pages follow the room as other people act (negotiation/ui/workshop_app.py)."""

from __future__ import annotations

import dataclasses

import ipyvuetify as v
import pytest
import solara
import solara.widgets

from agents.human import accept
from negotiation.rooms.workshop import Settings
from negotiation.ui import workshop_app as wa
from tests.workshop_helpers import button, eventually, texts

SCENARIO = "ministerial-2026"


def test_a_participant_takes_a_seat_decides_and_sees_the_round_close(ws):
    room = ws.create(SCENARIO, rounds=3)
    alice = room.join("Alice")
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    assert "Choose a seat" in texts(rc)
    button(rc, "ws-choose-japan").click()
    eventually(lambda: "(you)" in texts(rc))
    assert "has not started" in texts(rc)
    room.start(room.admin_token)  # the facilitator, elsewhere
    eventually(lambda: rc.find(v.Btn, class_="ws-accept").widgets)
    page = texts(rc)
    assert "if you accept" in page and "if you reject" in page and "On the table" in page
    assert "consumer cost" in page and "supply security" in page
    button(rc, "ws-accept").click()
    eventually(lambda: room.snapshot().round == 1)
    eventually(lambda: "Round 2 of 3" in texts(rc))
    assert "Japan joined the bloc" in texts(rc)
    assert "Alice" in texts(rc)  # the narrative names the person who decided


def test_a_page_acts_only_for_its_own_seat(ws):
    """A participant who adds another seat to the link still sees and decides for their own
    (the attack itself is in test_workshop_security.py)."""
    room = ws.create(SCENARIO, rounds=3)
    alice, bob = room.join("Alice"), room.join("Bob")
    room.claim(alice.token, "japan")
    room.claim(bob.token, "eu")
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, alice.token, "eu"), handle_error=False)
    assert "seat named in this link is ignored" in texts(rc)
    eventually(lambda: "your decision as Japan" in texts(rc))
    button(rc, "ws-reject").click()
    eventually(lambda: room.snapshot().seat("japan").decided)
    assert not room.snapshot().seat("eu").decided


def test_an_unknown_or_removed_token_gets_no_seat(ws):
    room = ws.create(SCENARIO, rounds=3)
    _, rc = solara.render(wa.ParticipantView(room, "forged"), handle_error=False)
    assert "not valid" in texts(rc)
    p = room.join("Zed")
    room.remove(room.admin_token, p.id)
    _, rc = solara.render(wa.ParticipantView(room, p.token), handle_error=False)
    assert "removed you" in texts(rc)


def test_counter_proposal_form(ws):
    room = ws.create(SCENARIO, rounds=3)
    bob = room.join("Bob")
    room.claim(bob.token, "eu")
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, bob.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-counter-open").widgets)
    button(rc, "ws-counter-open").click()
    assert "The members decide it (every member must agree)" in texts(rc)
    field = rc.find(v.TextField, class_="ws-counter-floor-rare_earths").widget
    field.v_model = "60000"
    button(rc, "ws-counter-forecast").click()
    eventually(lambda: "If it is agreed" in texts(rc))
    assert "Every member must agree: United States no: it would be refused" in texts(rc)
    button(rc, "ws-counter-send").click()
    eventually(lambda: room.snapshot().round == 1)
    d = room.record()["actions"]
    sent = next(a for a in d if a["kind"] == "submit")
    assert sent["decision"]["terms"]["floors"]["rare_earths"] == 60000.0
    assert set(sent["decision"]["terms"]) == {"floors"}  # the penalty and sharing left as tabled


def test_a_named_counter_fills_the_form(ws):
    """The counters an agent in the seat weighs are one-click choices: one fills the floors,
    and its forecast gives the members' answers the choice said."""
    room = ws.create(SCENARIO, rounds=3)
    bob = room.join("Bob")
    room.claim(bob.token, "eu")
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, bob.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-counter-open").widgets)
    button(rc, "ws-counter-open").click()
    choices = room.counter_choices(bob.token)
    k = next(k for k, c in enumerate(choices) if c.label == "the gallium floor 20% lower")
    eventually(lambda: rc.find(v.Btn, class_=f"ws-counter-choice-{k}").widgets)
    page = texts(rc)
    assert "would be refused (United States no)" in page and "a year to you" in page
    button(rc, f"ws-counter-choice-{k}").click()
    field = rc.find(v.TextField, class_="ws-counter-floor-gallium").widget
    eventually(lambda: float(field.v_model) == 200000.0)
    button(rc, "ws-counter-forecast").click()
    eventually(lambda: "If it is agreed" in texts(rc))
    assert choices[k].verdict in texts(rc)


def table_form(ws, scenario: str):
    """A room of `scenario` (seed 0, three rounds) with Ann in the United States' seat (the
    convener), started, her page rendered and its "Table new terms…" form open."""
    room = ws.create(scenario, seed=0, rounds=3)
    ann = room.join("Ann")
    room.claim(ann.token, "us")
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, ann.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-table-open").widgets)
    button(rc, "ws-table-open").click()
    return room, ann, rc


def test_the_convener_tables_new_terms_from_the_form(ws):
    """The person in the convener's seat opens "Table new terms…", lowers the rare-earth floor,
    leaves Singapore out, forecasts (whom it expects to accept, the members' answer) and tables
    the package: the record holds it, and the form says it was tabled."""
    room, ann, rc = table_form(ws, SCENARIO)
    assert "Table new terms." in texts(rc) and "(every member must agree)" in texts(rc)
    rc.find(v.TextField, class_="ws-table-floor-rare_earths").widget.v_model = "88000"
    rc.find(v.Checkbox, class_="ws-table-invite-singapore").widget.v_model = False
    button(rc, "ws-table-forecast").click()
    eventually(lambda: "You expect:" in texts(rc))
    page = texts(rc)
    assert "Japan accepts" in page and "Singapore" not in page.split("You expect:")[1][:300]
    assert "Nobody else is in the bloc" in page
    button(rc, "ws-table-send").click()
    eventually(lambda: "You have tabled the package this round" in texts(rc))
    sent = next(a for a in room.record()["actions"] if a["kind"] == "propose")
    assert sent["terms"]["floors"]["rare_earths"] == 88000.0
    assert set(sent["terms"]) == {"floors"}  # the penalty, sharing and instrument as tabled
    assert sent["invited"] == ["japan", "eu", "mexico"]
    assert room.model.floors[room.model.minerals.index("rare_earths")] == 88000.0
    assert "Tabled: the rare earths" in texts(rc)


def test_the_convener_contracts_a_quarter_of_a_partners_output_from_the_form(ws):
    """In the Australia-offtake world (seed 0) the person in the United States' seat opens
    "Table new terms…": Australia, the offtake partner in force, is ticked with 100% of its
    output under contract. Lowering it to 25% and forecasting, the bloc they expect is worth
    more to the United States than with all of Australia's output contracted (+$179m a year
    against +$124m): the members' buyers pay Australia's miners the bloc's price on fewer
    tonnes and collect the outsider's tariff on the rest. Tabled, a quarter of Australia's
    output is under contract, and the record holds the form's terms."""
    from negotiation.rules.types import money

    room, ann, rc = table_form(ws, "australia-offtake")
    assert "<b>Offtake partners</b>: producers outside the bloc" in texts(rc)
    box = rc.find(v.Checkbox, class_="ws-table-partner-australia").widget
    assert box.v_model is True  # the partner in force
    assert not rc.find(v.Checkbox, class_="ws-table-partner-us").widgets  # not the seat itself
    share = rc.find(v.TextField, class_="ws-table-share-australia").widget
    assert float(share.v_model) == 100.0
    assert not rc.find(v.TextField, class_="ws-table-share-india").widgets  # not ticked
    all_of_it = room.preview_proposal(ann.token)["value"]
    share.v_model = "25"
    button(rc, "ws-table-forecast").click()
    eventually(lambda: "You expect:" in texts(rc))
    page = texts(rc)
    assert "+$179m</span></b> a year to you (a quarter of Australia&#x27;s output under" in page
    assert money(all_of_it) == "+$124m"
    button(rc, "ws-table-send").click()
    eventually(lambda: "You have tabled the package this round" in texts(rc))
    sent = next(a for a in room.record()["actions"] if a["kind"] == "propose")
    assert sent["terms"]["offtake_shares"] == {"australia": 0.25}
    assert "partners" not in sent["terms"]  # Australia stays the partner
    assert room.model.offtake_shares == {"australia": 0.25} and room.model.partners == {"australia"}


def test_the_forms_offtake_terms_are_what_the_person_changed():
    """The table form's offtake terms (`offtake_terms`): nothing where nothing changed; a
    ticked partner's share as its own where it differs from every partner's, and none where
    it equals it; an untick removes the partner and keeps its own share waiting; a share left
    empty is sent (the room refuses it in words)."""
    panel = wa.Panel(
        seat="us", kind="stay", round=1, proposer="us", members=("us",), floors={},
        instrument="border", penalty=0.05, cost_sharing="", accept={}, reject={}, by_scale={},
        partners=("australia", "india"), offtake_share=0.5,
        contract_table=(("australia", 0.07), ("korea", 0.3)),
        offtake_candidates=("australia", "india", "korea"),
    )  # fmt: skip
    shown = {"australia": round(100 * 0.07, 6), "india": 50.0, "korea": 30.0}
    assert wa.offtake_terms(panel, ["australia", "india"], shown) == {}
    assert wa.offtake_terms(panel, ["india", "australia"], {**shown, "india": 25}) == {
        "offtake_shares": {"australia": 0.07, "korea": 0.3, "india": 0.25}
    }
    assert wa.offtake_terms(panel, ["australia", "india"], {**shown, "australia": 50}) == {
        "offtake_shares": {"korea": 0.3}  # back to every partner's share
    }
    assert wa.offtake_terms(panel, ["india"], shown) == {"partners": ["india"]}
    assert wa.offtake_terms(panel, ["india", "korea"], shown) == {"partners": ["india", "korea"]}
    assert wa.offtake_terms(panel, ["korea"], {**shown, "korea": 60}) == {
        "partners": ["korea"],
        "offtake_shares": {"australia": 0.07, "korea": 0.6},
    }
    assert wa.offtake_terms(panel, ["australia", "india"], {**shown, "india": None}) == {
        "offtake_shares": {"australia": 0.07, "korea": 0.3, "india": None}
    }
    # a share in force the form can only show rounded (a third) is no change left untouched
    third = dataclasses.replace(panel, contract_table=(("australia", 1 / 3),))
    assert wa.offtake_terms(third, ["australia", "india"], {**shown, "australia": 33.333333}) == {}
    assert wa.offtake_terms(third, ["australia", "india"], {**shown, "australia": 25}) == {
        "offtake_shares": {"australia": 0.25}
    }


def test_a_share_field_left_empty_is_refused_in_words(ws):
    """The person empties Australia's share on the table form and forecasts: the page says
    what a share may be, and nothing is tabled."""
    room, ann, rc = table_form(ws, "australia-offtake")
    rc.find(v.TextField, class_="ws-table-share-australia").widget.v_model = ""
    button(rc, "ws-table-forecast").click()
    eventually(lambda: "under contract is from 1 % to 100 %" in texts(rc))
    assert room.model.offtake_shares == {}
    assert not [a for a in room.record()["actions"] if a["kind"] == "propose"]


def test_the_convener_tables_what_an_agent_would_table(ws):
    """The person in the convener's seat asks the form "What would an agent table?": the page
    says what an agent in the seat would table, whom it expects to accept and what the members
    say; "Table this package" tables it as it is (the record holds the suggested terms)."""
    room, ann, rc = table_form(ws, SCENARIO)
    button(rc, "ws-table-suggest").click()
    eventually(lambda: "an agent in your seat would table" in texts(rc))
    g = room.suggest_proposal(ann.token)
    page = texts(rc)
    assert g["summary"] in page and g["words"] in page and "inviting European Union" in page
    # the Ministerial's tables design nothing: an agent there tables the terms in force
    assert not g["agent_designs"] and "does not design the package this round" in page
    assert "European Union accepts" in page and g["verdict"] in page
    button(rc, "ws-table-suggest-send").click()
    eventually(lambda: "You have tabled the package this round" in texts(rc))
    sent = next(a for a in room.record()["actions"] if a["kind"] == "propose")
    assert sent["terms"] == g["terms"] and sent["invited"] == g["invited"]
    assert room.model.instrument.value == g["terms"]["instrument"]


def test_an_open_counter_form_starts_again_from_terms_the_convener_tables(ws):
    """Jo (Japan) has the counter form open when Ann (the United States) tables the rare-earth
    floor at $132,000/t: Jo's page shows the new package and the form starts again from it, so
    a counter Jo then sends does not undo the convener's floor unawares."""
    room = ws.create(SCENARIO, rounds=3)
    ann, jo = room.join("Ann"), room.join("Jo")
    room.claim(ann.token, "us")
    room.claim(jo.token, "japan")
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, jo.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-counter-open").widgets)
    button(rc, "ws-counter-open").click()
    field = rc.find(v.TextField, class_="ws-counter-floor-rare_earths").widget
    assert float(field.v_model) == 110000.0
    room.propose(ann.token, "us", {"floors": {"rare_earths": 132000.0}})
    eventually(lambda: "Rare earths $132,000/t" in texts(rc))
    eventually(lambda: not rc.find(v.TextField, class_="ws-counter-floor-rare_earths").widgets)
    button(rc, "ws-counter-open").click()
    field = rc.find(v.TextField, class_="ws-counter-floor-rare_earths").widget
    assert float(field.v_model) == 132000.0


def test_the_supplier_panel(ws):
    room = ws.create(SCENARIO, rounds=3)
    sam = room.join("Sam")
    room.claim(sam.token, "supplier")
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, sam.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-move-flood").widgets)
    rc.find(v.BtnToggle, class_="ws-supplier-action").widget.v_model = 1  # flood
    eventually(lambda: rc.find(v.Checkbox).widgets)
    (box,) = [w for w in rc.find(v.Checkbox).widgets if w.label == "Gallium"]
    box.v_model = True
    button(rc, "ws-supplier-forecast").click()
    eventually(lambda: "With today's members" in texts(rc))
    button(rc, "ws-supplier-send").click()
    eventually(lambda: room.snapshot().round == 1)
    row = room.snapshot().rounds_df.iloc[-1]
    assert row["supplier_action"] == "flood" and row["supplier_target"] == "gallium"


def test_the_facilitator_sees_who_decided_and_runs_the_room(ws):
    room = ws.create(SCENARIO, rounds=4)
    alice, bob = room.join("Alice"), room.join("Bob")
    room.claim(alice.token, "japan")
    room.claim(bob.token, "eu")
    _, rc = solara.render(wa.FacilitatorView(room, room.admin_token), handle_error=False)
    assert room.code in texts(rc) and "Alice" in texts(rc)
    button(rc, "ws-start").click()
    eventually(lambda: room.snapshot().phase == "running")
    room.submit(alice.token, "japan", accept())
    eventually(lambda: "decided</span> accept" in texts(rc))  # the facilitator sees what
    button(rc, "ws-pause").click()
    eventually(lambda: room.snapshot().paused)
    eventually(lambda: rc.find(v.Btn, class_="ws-resume").widgets)
    button(rc, "ws-resume").click()
    eventually(lambda: not room.snapshot().paused)
    button(rc, "ws-force").click()
    eventually(lambda: room.snapshot().round == 1)
    eventually(lambda: "forced" in str(room.snapshot().closed))
    button(rc, f"ws-remove-{bob.id}").click()
    eventually(lambda: room.snapshot().participant(bob.id).removed)
    button(rc, "ws-extend-30").click()
    eventually(lambda: room.snapshot().time_left is not None)


def test_the_facilitators_link_needs_the_key(ws):
    room = ws.create(SCENARIO, rounds=3)
    # The route component checks the key before showing anything.
    assert not room.check_admin("guess") and room.check_admin(room.admin_token)


def test_charts_projector_and_export_render(ws):
    room = ws.create(SCENARIO, rounds=3, settings=Settings(show_decisions=True))
    alice = room.join("Alice")
    room.claim(alice.token, "japan")
    room.start(room.admin_token)
    room.submit(alice.token, "japan", accept())
    snap = room.snapshot()
    _, rc = solara.render(wa.ChartsView(snap), handle_error=False)
    # the network, the membership timeline, prices, money and why: SVG, drawn by the browser
    assert texts(rc).count("<svg") == 5
    # Drawn once for every page and snapshot until a round is played (a lever changed now
    # shows in the records from the next round).
    room.set_levers(room.admin_token, penalty=0.5)
    assert wa.room_charts(room.snapshot()) is wa.room_charts(snap)
    room.force(room.admin_token)
    assert wa.room_charts(room.snapshot()) is not wa.room_charts(snap)
    _, rc = solara.render(wa.ProjectorView(room), handle_error=False)
    page = texts(rc)
    assert room.code in page and "Japan" in page and "What happened" in page
    _, rc = solara.render(wa.ExportView(room, snap), handle_error=False)
    labels = [str(w.children[-1]) for w in rc.find(v.Btn).widgets]
    assert "session.json" in labels and "decisions.csv" in labels and "rounds.csv" in labels


def test_the_debrief_draws_the_last_rounds_bargain(ws):
    room = ws.create(SCENARIO, rounds=3)
    room.start(room.admin_token)
    _, rc = solara.render(wa.BargainingDebrief(room, room.snapshot()), handle_error=False)
    assert "Once a round has been played" in texts(rc)
    room.force(room.admin_token)
    _, rc = solara.render(wa.BargainingDebrief(room, room.snapshot()), handle_error=False)
    page = texts(rc)
    assert "Round 1's package" in page and "chart-bargaining" in page and "The proposal" in page
    assert rc.find(v.Select, class_="bargaining-y").widgets  # the two parties, picked


def test_a_solo_page_plays_on(ws):
    room, p = ws.solo(SCENARIO, "japan", seed=0, rounds=4)
    _, rc = solara.render(wa.ParticipantView(room, p.token), handle_error=False)
    assert "Charts" in texts(rc)  # one person is their own facilitator: charts and export
    button(rc, "ws-accept").click()
    eventually(lambda: room.snapshot().round >= 1)
    snap = room.snapshot()
    if not snap.panels and snap.phase == "running":
        eventually(lambda: rc.find(v.Btn, class_="ws-play-on").widgets)
        button(rc, "ws-play-on").click()
        eventually(lambda: room.snapshot().round >= 2)


def test_query_and_links():
    assert wa.query("room=ABC123&token=x-y_z") == {"room": "ABC123", "token": "x-y_z"}
    assert wa.query(None) == {}
    assert wa.link("join", room="ABC123", token=None) == "/join?room=ABC123"


def test_others_decisions_are_hidden_unless_the_facilitator_shows_them(ws):
    room = ws.create(SCENARIO, rounds=3)
    alice, bob = room.join("Alice"), room.join("Bob")
    room.claim(alice.token, "japan")
    room.claim(bob.token, "eu")
    room.start(room.admin_token)
    room.submit(alice.token, "japan", accept())
    _, rc = solara.render(wa.ParticipantView(room, bob.token), handle_error=False)
    row = wa.seats_html(room.snapshot(), reveal=False)
    assert "decided" in row and "decided</span> accept" not in row
    assert "decided</span> accept" not in texts(rc)  # Bob sees that Japan decided, not what
    room.configure(room.admin_token, show_decisions=True)
    eventually(lambda: "decided</span> accept" in texts(rc))


def test_a_page_updates_in_place_and_re_renders_only_when_its_layout_changes(ws, layouts):
    """Forty pages re-rendering at a round's close made most of the wait (issue #5): a
    participant's page re-renders only when its layout changes (here: a countdown appears);
    otherwise what changed is written into the page's parts in place, even when Japan, having
    joined, is asked to stay."""
    room = ws.create(SCENARIO, rounds=4)
    alice, bob = room.join("Alice"), room.join("Bob")
    room.claim(alice.token, "japan")
    room.claim(bob.token, "eu")
    tokens = {"japan": alice.token, "eu": bob.token}
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    eventually(lambda: "Round 1: your decision as Japan" in texts(rc))
    renders = len(layouts)

    def widgets() -> set[int]:
        return set(map(id, [*rc.find(solara.widgets.HTML).widgets, *rc.find(wa.LiveSlot).widgets]))

    html_widgets = widgets()
    carrier = rc.find(wa.LiveParts).widget

    room.submit(bob.token, "eu", accept())  # Bob decides: Alice's page shows it, in place
    eventually(lambda: "ws-seat-row-eu' data-decided='1'" in texts(rc))

    def play_round() -> int:
        for seat in room.snapshot().waiting_for:
            room.submit(tokens[seat], seat, accept())
        return room.snapshot().round

    assert play_round() == 1 and room.snapshot().panels["japan"].kind == "stay"
    eventually(lambda: "Round 2: your decision as Japan" in texts(rc))
    eventually(lambda: rc.find(v.Btn, children=["Stay in the bloc"]).widgets)
    assert "if you stay" in texts(rc) and "On the table" not in texts(rc)
    room.set_levers(room.admin_token, penalty=0.1)  # new terms from round 3: still in place
    assert play_round() == 2
    eventually(lambda: "Round 3: your decision as Japan" in texts(rc))
    page = texts(rc)
    assert "Round 3 of 4" in page and "<span class='ws-end' data-round='2'>" in page
    assert len(layouts) == renders  # two rounds, and not one re-render
    assert widgets() == html_widgets
    # the round's close went to the page as one message, every part that changed in it
    assert {"head", "notes", "lower"} <= set(carrier.parts) and wa.SEQ in carrier.parts

    room.extend(room.admin_token, 30)  # a countdown appears: a new layout
    eventually(lambda: rc.find(wa.Countdown).widgets)
    assert len(layouts) > renders
    renders = len(layouts)
    countdown = rc.find(wa.Countdown).widget
    stamp = countdown.stamp
    room.extend(room.admin_token, 60)  # more time: the countdown restarts in place
    eventually(lambda: countdown.stamp != stamp and countdown.seconds > 60)
    assert len(layouts) == renders


def test_a_seat_with_nothing_to_decide_keeps_its_panel_hidden_and_the_page_its_layout(ws, layouts):
    """A member that leaves sits out while it cools off: its page hides the decision panel in
    place, and shows it in place when the seat is invited again (no re-render either way, as
    forty such pages re-rendering made the slowest rounds)."""
    from negotiation.rules.types import SupplierAction, SupplierMove

    room = ws.create(SCENARIO, rounds=8, seed=1)
    seats = ("us", "japan", "eu", "mexico", "singapore", "supplier")
    tokens = {}
    for seat in seats:
        p = room.join(seat)
        room.claim(p.token, seat)
        tokens[seat] = p.token
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, tokens["singapore"]), handle_error=False)
    eventually(lambda: "your decision as Singapore" in texts(rc))
    box = rc.find(v.Html, class_=wa.panel_class("singapore")).widget
    body = box.children[1]

    def play_until(check) -> None:
        for _ in range(8):
            snap = room.snapshot()
            if check(snap):
                return
            for seat in snap.waiting_for:
                move = SupplierMove(SupplierAction.NORMAL) if seat == "supplier" else accept()
                room.submit(tokens[seat], seat, move)
            eventually(lambda r=snap.round: room.snapshot().round > r)
        raise AssertionError("the room never got there")

    renders = len(layouts)
    play_until(lambda snap: snap.panels.get("singapore") is None)
    eventually(lambda: "Nothing for Singapore to decide" in texts(rc))
    eventually(lambda: body.style_ == "display: none" and box.class_ == "")
    play_until(lambda snap: snap.panels.get("singapore") is not None)
    eventually(lambda: "your decision as Singapore" in texts(rc))
    eventually(lambda: body.style_ == "" and "ws-decision-singapore" in box.class_)
    assert len(layouts) == renders  # hidden and back, in place
    assert rc.find(v.Btn, class_="ws-accept").widgets or rc.find(v.Btn, class_="ws-stay").widgets


def test_the_narrative_names_the_supplier_s_minerals_and_targets(ws):
    """The engine tells the supplier's moves with ids ("bans exports of rare_earths, graphite
    to members"); every page's narrative says them in names."""
    room = ws.create("ministerial-2026", rounds=2)
    room.start(room.admin_token)
    room.force(room.admin_token)  # agents answer: the supplier bans exports in round 1
    snap = room.snapshot()
    engine = [t for _, kind, t, _ in snap.narrative(40) if kind == "export_controls"]
    assert engine and "rare_earths" in engine[0]  # as the engine records it
    shown = wa.narrative_html(snap, 40)
    assert "Rare earths" in shown and "rare_earths" not in shown


@pytest.mark.parametrize(
    "changes, words",
    [
        ({}, "Australia"),
        ({"policy.offtake_share": 0.25}, "Australia, 25% of their output under contract"),
        ({"policy.offtake_shares": {"australia": 1.0}}, "Australia"),  # the same as everyone's
        (
            {"policy.partners": ["australia", "singapore"],
             "policy.offtake_shares": {"australia": 0.25}},
            "Australia, Singapore (under contract: Australia 25%, Singapore 100% of their "
            "output)",
        ),
    ],
)  # fmt: skip
def test_a_seat_sees_the_offtake_partners_on_the_table(ws, changes, words):
    """In the australia-offtake world a seat at the expansion table is told that Australia is
    an offtake partner (selling into the bloc's market from outside): the term that explains why
    joining adds nothing for Australia's miners; and, when the bloc contracts only part of its
    output, how much, each partner's where one has its own contract (an own share the same as
    every partner's is not one)."""
    from negotiation import load_scenario

    sc = load_scenario("australia-offtake", changes)
    room = ws.create(sc, rounds=8)
    alice = room.join("Alice")
    room.claim(alice.token, "australia")
    room.start(room.admin_token)
    eventually(lambda: room.snapshot().round == 6)  # Australia is first asked in round 7
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-accept").widgets)
    told = "offtake partners (outside, selling into the bloc's market) " + words + "."
    assert told in texts(rc)
    assert ("under contract" in texts(rc)) == ("under contract" in words)


def test_a_seat_at_a_table_with_its_own_minerals_is_told_so_and_offered_its_floors(ws):
    """Mexico's seat at a US-Mexico table that negotiates lithium and graphite (its minerals of
    interest) reads that its table negotiates those floors, and the counters an agent in its
    seat would weigh name only them."""
    from negotiation import load_scenario
    from negotiation.engine.scenario import Scenario

    d = load_scenario("ministerial-2026").model_dump()
    d["agenda"]["tracks"][1]["minerals"] = ["lithium", "graphite"]
    room = ws.create(Scenario.model_validate(d), rounds=3)
    alice = room.join("Alice")
    room.claim(alice.token, "mexico")
    room.start(room.admin_token)
    _, rc = solara.render(wa.ParticipantView(room, alice.token), handle_error=False)
    eventually(lambda: rc.find(v.Btn, class_="ws-accept").widgets)
    assert (
        "The US-Mexico table negotiates its own minerals' floors: Lithium and Natural graphite"
        in texts(rc)
    )
    labels = [c.label for c in room.counter_choices(alice.token)]
    assert labels[:2] == [
        "the lithium and natural graphite floors 20% lower",
        "the lithium and natural graphite floors 25% higher",
    ]
    assert not any(w in x.lower() for x in labels for w in ("every", "gallium", "rare")), labels
    # its gains at other floors are every floor's multiples, not only its table's
    assert "Gain from joining at other floors: every floor x0.8" in texts(rc)

"""Workshop rooms without a browser: codes, tokens, seats, teams, the round's rules, the timer,
isolation, the record and its replay (negotiation/rooms/workshop.py)."""

from __future__ import annotations

import io
import json
import re
import threading
import time
import zipfile

import numpy as np
import pandas as pd
import pytest

from agents.human import accept, reject
from negotiation.cli import entry
from negotiation.engine.scenario import load_scenario
from negotiation.rooms.workshop import (
    ALPHABET,
    LOBBY,
    OVER,
    RUNNING,
    Refused,
    RoomNotFound,
    Settings,
    Workshop,
    WorkshopError,
    load_record,
    new_code,
    normalize_code,
    public_url,
    replay,
    tables_from_record,
)
from negotiation.rooms.workshop_snapshot import RoomState, SnapshotBuilder
from negotiation.rules.types import SupplierAction, SupplierMove, money
from tests.workshop_helpers import Clock, counter, people, play_a_session

SCENARIO = "ministerial-2026"


@pytest.fixture(scope="module")
def sc():
    return load_scenario(SCENARIO)


# ----------------------------------------------------------------------------------------------
# Codes and rooms


def test_join_codes_are_unguessable_and_typable():
    assert len(ALPHABET) == 32 and len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)  # Crockford: no look-alikes
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000  # 32**6 ~ 1.07e9 codes: no collision in a few thousand
    assert all(len(c) == 6 and set(c) <= set(ALPHABET) for c in codes)
    assert len(new_code(length=8)) == 8
    with pytest.raises(ValueError):
        new_code(length=5)
    assert normalize_code(" k7m-2qo ") == "K7M2Q0"
    assert normalize_code("il") == "11"


def test_codes_never_repeat_a_taken_one(monkeypatch):
    draws = iter("AAAAAA" + "BBBBBB")
    monkeypatch.setattr("negotiation.rooms.workshop.secrets.choice", lambda _alphabet: next(draws))
    assert new_code(taken={"AAAAAA"}) == "BBBBBB"


def test_rooms_are_isolated(ws, sc):
    a, b = ws.create(sc, rounds=3), ws.create(sc, rounds=3)
    assert a.code != b.code and ws.get(a.code.lower()) is a
    (alice,) = people(a, ("Alice", "japan"))
    # Alice's token means nothing in room b, and the facilitator key of a nothing in b.
    with pytest.raises(Refused):
        b.claim(alice.token, "japan")
    with pytest.raises(Refused):
        b.start(a.admin_token)
    with pytest.raises(Refused):
        b.submit(alice.token, "japan", accept())
    assert b.snapshot().seat("japan").holders == ()
    a.start(a.admin_token)
    assert b.snapshot().phase == LOBBY and a.snapshot().phase == RUNNING
    with pytest.raises(RoomNotFound):
        ws.get("ZZZZZZ")
    assert ws.find(None) is None


def test_tokens_are_secret_and_checked(ws, sc):
    room = ws.create(sc, rounds=3)
    (p,) = people(room, ("Alice", None))
    assert len(p.token) >= 20 and p.token not in json.dumps(room.snapshot().seats, default=str)
    with pytest.raises(Refused, match="not valid"):
        room.claim("forged-token", "japan")
    with pytest.raises(Refused):
        room.force("not-the-key")
    with pytest.raises(WorkshopError, match="name"):
        room.join("   ")
    with pytest.raises(WorkshopError, match="already"):
        room.join("alice")  # names are unique, whatever the case


# ----------------------------------------------------------------------------------------------
# Seats and the round


def test_only_the_holder_of_a_seat_can_submit_for_it(ws, sc):
    room = ws.create(sc, rounds=4)
    alice, bob, cy = people(room, ("Alice", "japan"), ("Bob", "eu"), ("Cy", None))
    room.start(room.admin_token)
    assert set(room.snapshot().waiting_for) == {"japan", "eu"}
    with pytest.raises(Refused, match="European Union: you hold Japan's seat"):
        room.submit(alice.token, "eu", reject())
    with pytest.raises(Refused, match="no seat"):
        room.submit(cy.token, "japan", accept())
    with pytest.raises(Refused):
        room.submit("", "japan", accept())
    with pytest.raises(Refused):
        room.submit(room.admin_token, "japan", accept())  # the facilitator decides for nobody
    room.claim(cy.token, "us")
    with pytest.raises(WorkshopError, match="from round 2"):
        room.submit(cy.token, "us", accept())  # a seat taken mid-run is an agent's this round
    snap = room.snapshot()
    assert not snap.seat("eu").decided and not snap.seat("japan").decided
    assert snap.decisions == ()  # a refused submission is not recorded


def test_the_round_waits_for_every_person_then_plays(ws, sc):
    room = ws.create(sc, rounds=4)
    alice, bob, sup = people(room, ("Alice", "japan"), ("Bob", "eu"), ("Sam", "supplier"))
    room.start(room.admin_token)
    snap = room.snapshot()
    assert snap.round == 0 and set(snap.waiting_for) == {"japan", "eu", "supplier"}
    assert snap.panels["japan"].kind == "invite" and snap.panels["supplier"].kind == "supplier"
    assert set(snap.panels["japan"].accept) == set(snap.panels["japan"].reject)
    room.submit(alice.token, "japan", accept())
    room.submit(bob.token, "eu", reject())
    assert room.snapshot().round == 0 and room.snapshot().waiting_for == ("supplier",)
    room.submit(sup.token, "supplier", SupplierMove(SupplierAction.FLOOD, ("gallium",), 0.5))
    snap = room.snapshot()
    assert snap.round == 1 and snap.closed[1] == "all decided"
    row = snap.rounds_df.iloc[-1]
    assert row["supplier_action"] == "flood" and "japan" in row["members"]
    texts = " ".join(t for _, _, t, _ in snap.narrative())
    assert "Japan joined the bloc" in texts and "a person's move" in texts
    assert "European Union rejected the package" in texts
    # Japan is now a member played by a person: asked whether it stays.
    assert snap.panels["japan"].kind == "stay"


def test_a_changed_decision_counts_until_the_round_closes(ws, sc):
    room = ws.create(sc, rounds=3)
    alice, bob = people(room, ("Alice", "japan"), ("Bob", "eu"))
    room.start(room.admin_token)
    room.submit(alice.token, "japan", reject())
    room.submit(alice.token, "japan", accept())
    room.submit(bob.token, "eu", accept())
    snap = room.snapshot()
    assert "japan" in snap.members
    table = tables_from_record(room.record())["decisions"]
    assert table.query("seat == 'japan'")["counted"].tolist() == [False, True]


def test_forcing_lets_agents_answer_for_silent_seats(ws, sc):
    room = ws.create(sc, rounds=3)
    alice, bob = people(room, ("Alice", "japan"), ("Bob", "eu"))
    room.start(room.admin_token)
    room.submit(alice.token, "japan", accept())
    room.force(room.admin_token)
    snap = room.snapshot()
    assert snap.round == 1 and snap.closed[1] == "forced by the facilitator"
    assert "no answer in time; an agent decided" in " ".join(snap.events_df["text"])
    with pytest.raises(Refused):
        room.force(alice.token)


def test_pause_holds_the_round_and_resume_plays_it(ws, sc):
    room = ws.create(sc, rounds=3)
    (alice,) = people(room, ("Alice", "japan"))
    room.start(room.admin_token)
    room.pause(room.admin_token)
    with pytest.raises(WorkshopError, match="paused"):
        room.submit(alice.token, "japan", accept())
    assert room.snapshot().paused
    room.resume(room.admin_token)
    room.submit(alice.token, "japan", accept())
    assert room.snapshot().round == 1


def test_the_timer_forces_the_round_and_can_be_extended_or_paused(ws, sc):
    clock = Clock()
    room = ws.create(sc, rounds=4, settings=Settings(timer_seconds=60), clock=clock)
    alice, bob = people(room, ("Alice", "japan"), ("Bob", "eu"))
    room.start(room.admin_token)
    assert room.snapshot().time_left == pytest.approx(60)
    room.submit(alice.token, "japan", accept())
    clock.t += 59
    assert not room.tick() and room.snapshot().round == 0
    room.extend(room.admin_token, 30)
    clock.t += 2
    assert not room.tick()
    room.pause(room.admin_token)
    clock.t += 1000  # time does not run while paused
    assert not room.tick()
    room.resume(room.admin_token)
    assert room.snapshot().time_left == pytest.approx(29)
    clock.t += 29
    assert room.tick()
    snap = room.snapshot()
    assert snap.round == 1 and snap.closed[1] == "time up"
    assert snap.time_left == pytest.approx(60)  # the next round has its own countdown
    room.configure(room.admin_token, timer_seconds=None)
    assert room.snapshot().time_left is None
    with pytest.raises(WorkshopError):
        room.configure(room.admin_token, timer_seconds=-5)


def test_the_servers_timer_thread_closes_rounds():
    w = Workshop(ticker=True, tick_seconds=0.05)
    try:
        room = w.create(SCENARIO, rounds=3, settings=Settings(timer_seconds=0.3))
        people(room, ("Alice", "japan"))
        room.start(room.admin_token)
        deadline = time.monotonic() + 10
        while room.snapshot().round < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert room.snapshot().closed.get(1) == "time up"
    finally:
        w.close()


def test_a_dropped_connection_keeps_the_seat(ws, sc):
    room = ws.create(sc, rounds=3)
    (alice,) = people(room, ("Alice", "japan"))
    detach = room.attach(alice.token)
    assert room.snapshot().participant(alice.id).sessions == 1
    detach()  # the browser tab is gone
    assert room.snapshot().participant(alice.id).sessions == 0
    room.start(room.admin_token)
    again = room.participant(alice.token)  # rejoining with the private link
    assert again.seat == "japan" and again.name == "Alice"
    room.attach(alice.token)
    room.submit(alice.token, "japan", accept())
    assert room.snapshot().round == 1


def test_teams_share_a_seat_with_one_submitter(ws, sc):
    room = ws.create(sc, rounds=3)
    alice, dee = people(room, ("Alice", "japan"), ("Dee", "japan"))
    seat = room.snapshot().seat("japan")
    assert seat.holder_names == ("Alice", "Dee") and seat.submitter == alice.id
    room.start(room.admin_token)
    with pytest.raises(Refused, match="Alice submits"):
        room.submit(dee.token, "japan", accept())
    room.set_submitter(room.admin_token, "japan", dee.id)
    with pytest.raises(Refused, match="Dee submits"):
        room.submit(alice.token, "japan", accept())
    room.submit(dee.token, "japan", accept())
    assert room.snapshot().round == 1
    assert room.record()["actions"][-2]["participant"] == "Dee"
    # Without teams, a held seat cannot be joined.
    room.configure(room.admin_token, teams=False)
    (eve,) = people(room, ("Eve", None))
    with pytest.raises(WorkshopError, match="holds"):
        room.claim(eve.token, "japan")


def test_removing_a_participant_frees_the_seat_for_an_agent(ws, sc):
    room = ws.create(sc, rounds=5)
    alice, bob, dee = people(room, ("Alice", "japan"), ("Bob", "eu"), ("Dee", "eu"))
    room.start(room.admin_token)
    room.submit(alice.token, "japan", accept())
    room.remove(room.admin_token, bob.id)  # Dee takes over EU's team
    with pytest.raises(Refused, match="removed"):
        room.submit(bob.token, "eu", accept())
    assert room.snapshot().seat("eu").submitter == dee.id
    room.remove(room.admin_token, dee.id)  # nobody left: an agent answers, the round plays
    snap = room.snapshot()
    assert snap.round == 1 and "an agent for empty seats" in snap.closed[1]
    assert not snap.seat("eu").person and snap.seat("eu").holders == ()
    with pytest.raises(Refused):
        room.remove(alice.token, alice.id)


def test_a_seat_taken_mid_run_is_a_persons_from_the_next_round(ws, sc):
    room = ws.create(sc, rounds=6)
    (alice,) = people(room, ("Alice", "japan"))
    room.start(room.admin_token)
    (mia,) = people(room, ("Mia", "mexico"))
    snap = room.snapshot()
    assert not snap.seat("mexico").person and snap.seat("mexico").person_next
    with pytest.raises(WorkshopError, match="from round 2"):
        room.submit(mia.token, "mexico", accept())
    room.submit(alice.token, "japan", accept())
    snap = room.snapshot()
    assert snap.round == 1 and snap.seat("mexico").person
    assert "Mia took Mexico's seat" in " ".join(t for _, _, t, _ in snap.narrative())
    assert not any("strategies" in t for _, _, t, _ in snap.narrative())  # told as a seat change


def test_a_counter_proposal_and_its_forecast(ws, sc):
    room = ws.create(sc, rounds=3)
    (bob,) = people(room, ("Bob", "eu"))
    room.start(room.admin_token)
    terms = {"floors": {"rare_earths": 60000.0}, "penalty": 0.02, "cost_sharing": "equal"}
    before = room.snapshot().rounds_df.copy()
    floors = room.model.floors.copy()
    f = room.preview_counter(bob.token, terms)
    assert set(f) == {"gain", "answers", "agreed", "rule", "verdict"}
    assert f["gain"] == room.model.counter_forecast("eu", terms)["gain"]
    assert any(abs(v) > 1e6 for v in f["gain"].values())  # a real forecast, not an empty one
    pd.testing.assert_frame_equal(before, room.snapshot().rounds_df)  # a forecast changes nothing
    np.testing.assert_array_equal(floors, room.model.floors)
    with pytest.raises(WorkshopError, match="unknown mineral"):
        room.submit(bob.token, "eu", counter(floors={"unobtainium": 1.0}))
    room.submit(bob.token, "eu", counter(**terms))
    event = room.snapshot().events_df.query("actor == 'eu'")["text"].iloc[0]
    assert "counter-proposed" in event


def test_the_counter_forecast_gives_each_members_answer_and_the_verdict_in_words(ws):
    """Before sending, a person sees what the members would answer, by name, and whether the
    agreement rule carries the counter; the round then does what the forecast said (in the
    ministerial world the United States, the only member in round 1, refuses every counter)."""
    room = ws.create("ministerial-2026", seed=0, rounds=3)
    (ann,) = people(room, ("Ann", "japan"))
    room.start(room.admin_token)
    floors = {m: f * 0.8 for m, f in zip(room.model.minerals, room.model.floors.tolist())}
    f = room.preview_counter(ann.token, {"floors": floors})
    expected = room.model.counter_forecast("japan", {"floors": floors})
    assert f["gain"] == pytest.approx(expected["gain"])
    assert f["answers"] == (("United States", False),)  # display names, never ids
    assert f["agreed"] is False and f["rule"] == "every member must agree"
    assert f["verdict"] == (
        "Every member must agree: United States no: it would be refused, and nothing would change."
    )
    before = room.model.floors.copy()
    room.submit(ann.token, "japan", counter(floors=floors))
    text = room.snapshot().events_df.query("actor == 'japan'")["text"].iloc[0]
    assert text.startswith("Japan counter-proposed the lithium floor at $68,000/t")
    assert "United States refused (every member must agree), so nothing changed" in text
    assert "japan" not in room.model.members and (room.model.floors == before).all()


def test_a_counter_the_members_would_agree_to_is_forecast_so_and_carried(ws):
    """In the supplier-floods world the United States agrees to Singapore's counters in round
    1: the forecast says the counter would be carried, and Singapore joins on its terms."""
    room = ws.create("supplier-floods", seed=0, rounds=3)
    (sam,) = people(room, ("Sam", "singapore"))
    room.start(room.admin_token)
    floors = {m: f * 0.8 for m, f in zip(room.model.minerals, room.model.floors.tolist())}
    f = room.preview_counter(sam.token, {"floors": floors})
    assert f["answers"] == (("United States", True),) and f["agreed"] is True
    assert f["verdict"] == (
        "Every member must agree: United States yes: it would be agreed, and you would join "
        "on these terms."
    )
    room.submit(sam.token, "singapore", counter(floors=floors))
    text = room.snapshot().events_df.query("actor == 'singapore'")["text"].iloc[0]
    assert "and joined; United States agreed (every member must agree)" in text
    assert "singapore" in room.model.members
    assert room.model.floors.tolist() == pytest.approx(list(floors.values()))


@pytest.mark.parametrize(
    ("scenario", "seat"), [("ministerial-2026", "japan"), ("supplier-floods", "singapore")]
)
def test_the_named_counters_are_the_agents_options_and_their_forecast_agrees(ws, scenario, seat):
    """The one-click counters are those an agent in the seat weighs (`counter_options`), with
    its value and the members' expected answers; filling the form with one and forecasting it
    gives the same answers."""
    room = ws.create(scenario, seed=0, rounds=3)
    (p,) = people(room, ("Pat", seat))
    room.start(room.admin_token)
    choices = room.counter_choices(p.token)
    options = room.model.prepare_round().views[seat].counter_options()
    assert [c.label for c in choices] == [o.label for o in options]
    assert [c.value for c in choices] == pytest.approx([o.gain.total for o in options])
    assert [c.agreed for c in choices] == [o.agreed for o in options]
    assert "every floor 20% lower" in [c.label for c in choices]
    for c in choices:
        assert set(c.floors) == set(room.model.minerals)
        terms = {"floors": dict(c.floors)}
        if c.cost_sharing:
            terms["cost_sharing"] = c.cost_sharing
        f = room.preview_counter(p.token, terms)
        assert (f["answers"], f["agreed"], f["verdict"]) == (c.answers, c.agreed, c.verdict)
        assert all(name in room.names.values() for name, _ in c.answers)
    assert not any(a["kind"] == "submit" for a in room.record()["actions"])  # nothing sent


def test_only_an_invited_country_forecasts_a_counter(ws):
    room = ws.create("ministerial-2026", seed=0, rounds=3)
    ann, sue, ned = people(room, ("Ann", "us"), ("Sue", "supplier"), ("Ned", ""))
    room.start(room.admin_token)
    terms = {"floors": {"lithium": 70000.0}}
    for p in (ann, sue, ned):  # a member asked to stay, the supplier, a person with no seat
        with pytest.raises(WorkshopError):
            room.preview_counter(p.token, terms)
        with pytest.raises(WorkshopError):
            room.counter_choices(p.token)
    with pytest.raises(Refused):
        room.counter_choices("forged")


def test_the_debrief_bargaining_space_is_the_last_rounds_computed_once(ws):
    room = ws.create("ministerial-2026", seed=0, rounds=3)
    (ann,) = people(room, ("Ann", "japan"))
    assert room.bargaining() is None  # nothing tabled and played yet
    room.start(room.admin_token)
    assert room.bargaining() is None
    room.submit(ann.token, "japan", accept())
    df = room.bargaining()
    assert df.attrs["round"] == 1 and df["on_table"].sum() == 1
    assert "japan" in df.attrs["parties"]
    assert room.bargaining() is df  # once a round, for every page
    assert df.attrs["minerals"] is None  # a table of every mineral: every floor


def test_the_debrief_lays_out_the_floors_the_table_negotiated(ws):
    """Mexico, the round's only invitee, sits at a table negotiating the lithium and fluorspar
    floors: the debrief's bargaining space scales those floors alone."""
    sc = load_scenario("us-mexico-60-day", {"agenda.tracks.0.minerals": ["lithium", "fluorspar"]})
    room = ws.create(sc, seed=0, rounds=3)
    (ann,) = people(room, ("Ann", "mexico"))
    room.start(room.admin_token)
    room.submit(ann.token, "mexico", accept())
    df = room.bargaining()
    assert df.attrs["round"] == 1 and df.attrs["minerals"] == ["lithium", "fluorspar"]
    assert df.attrs["floors_words"] == "the lithium and fluorspar floors"


def test_the_supplier_seat_and_its_forecast(ws, sc):
    room = ws.create(sc, rounds=3)
    (sam,) = people(room, ("Sam", "supplier"))
    room.start(room.admin_token)
    flood = SupplierMove(SupplierAction.FLOOD, ("rare_earths",), 0.6)
    f = room.preview_move(sam.token, flood)
    # The engine's forecast, as the seat sees it: a flood costs the supplier revenue while it
    # lasts (its utility this round is below selling normally), and every member's gain from
    # staying is there.
    assert f == room.model.move_forecast(flood)
    assert f["utility"] < f["normal"]
    assert set(f["margins"]) == set(room.model.members) and "us" in f["margins"]
    with pytest.raises(WorkshopError, match="mineral"):
        room.submit(sam.token, "supplier", SupplierMove(SupplierAction.FLOOD, (), 0.5))
    with pytest.raises(WorkshopError, match="side offer"):
        room.submit(sam.token, "supplier", SupplierMove(SupplierAction.SIDE_OFFER, (), 0, "", 1e9))
    room.submit(sam.token, "supplier", SupplierMove(SupplierAction.SIDE_OFFER, (), 0, "us", 2e9))
    row = room.snapshot().rounds_df.iloc[-1]
    assert row["supplier_action"] == "side_offer" and row["supplier_target"] == "us"


def test_nothing_to_decide_plays_on_while_people_hold_seats(ws, sc):
    """A person whose seat has nothing to decide (here: cooling off after leaving) does not
    hold the room up: rounds play until someone must decide."""
    room = ws.create(sc, rounds=8)
    (alice,) = people(room, ("Alice", "japan"))
    room.start(room.admin_token)
    room.submit(alice.token, "japan", accept())
    room.submit(alice.token, "japan", reject())  # leaves in round 2, then cools off
    snap = room.snapshot()
    assert snap.round > 2 or snap.phase == OVER
    assert any(how == "nothing to decide" for how in snap.closed.values())


def test_an_empty_room_waits_for_the_facilitator(ws, sc):
    room = ws.create(sc, rounds=3)
    room.start(room.admin_token)
    assert room.snapshot().round == 0  # nobody holds a seat: no round plays by itself
    room.force(room.admin_token)
    assert room.snapshot().round == 1


def test_a_solo_room_waits_for_its_person(ws, sc):
    room, p = ws.solo(sc, "japan", seed=2, rounds=4)
    snap = room.snapshot()
    assert snap.solo and snap.phase == RUNNING and snap.waiting_for == ("japan",)
    with pytest.raises(Refused):
        room.join("Intruder")
    with pytest.raises(WorkshopError, match="Decide first"):
        room.play_on(p.token)
    room.submit(p.token, "japan", reject())
    snap = room.snapshot()
    assert snap.round == 1
    if not snap.panels:  # nothing to decide: the room shows the round until the person plays on
        room.play_on(p.token)
        assert room.snapshot().round == 2


def test_the_session_ends_and_refuses_more(ws, sc):
    room = ws.create(sc, rounds=2)
    (alice,) = people(room, ("Alice", "japan"))
    room.start(room.admin_token)
    room.force(room.admin_token)
    room.force(room.admin_token)
    snap = room.snapshot()
    assert snap.phase == OVER and snap.round == 2
    with pytest.raises(WorkshopError, match="over"):
        room.force(room.admin_token)
    with pytest.raises(WorkshopError, match="over"):
        room.submit(alice.token, "japan", accept())


# ----------------------------------------------------------------------------------------------
# Pages wait on the room


def test_waiting_pages_wake_when_the_room_changes(ws, sc):
    room = ws.create(sc, rounds=3)
    (alice,) = people(room, ("Alice", "japan"))
    room.start(room.admin_token)
    v0 = room.snapshot().public_version
    woke: list[float] = []

    def page():
        snap = room.wait(v0, timeout=5, public=True)
        woke.append(time.perf_counter())
        assert snap.round == 1

    threads = [threading.Thread(target=page) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    t0 = time.perf_counter()
    room.submit(alice.token, "japan", accept())
    for t in threads:
        t.join()
    assert len(woke) == 20 and max(woke) - t0 < 1.0
    # Presence changes wake the facilitator's page, not the participants'.
    v = room.snapshot()
    room.attach(alice.token)
    assert room.wait(v.public_version, timeout=0.05, public=True).public_version == v.public_version
    assert room.wait(v.version, timeout=0.05).version > v.version


def test_snapshots_are_shared_between_pages_until_the_room_changes(ws, sc):
    room = ws.create(sc, rounds=3)
    assert room.snapshot() is room.snapshot()
    people(room, ("Alice", None))
    assert room.snapshot().version > 0


def test_a_room_has_all_its_snapshots_are_built_from(ws, sc):
    """`RoomState` is what `SnapshotBuilder.build` reads of a room (the builder knows nothing
    else of `negotiation.rooms.workshop`): a room has every name it lists, and its snapshot part."""
    room = ws.create(sc, rounds=3)
    listed = set(RoomState.__annotations__) | {
        name for name, v in vars(RoomState).items() if isinstance(v, property)
    }
    assert {"model", "holders", "timer", "version"} <= listed
    assert [name for name in sorted(listed) if not hasattr(room, name)] == []
    assert isinstance(room.snapshots, SnapshotBuilder)


# ----------------------------------------------------------------------------------------------
# The record, its exports and replays


def test_a_session_replays_from_its_record_to_the_same_outcomes(ws, sc):
    room = play_a_session(ws, sc)
    rec = json.loads(room.export_json())  # through JSON text, as a facilitator exports it
    closes = set(rec["closed"].values())
    assert {"all decided", "time up", "forced by the facilitator"} <= closes
    model = replay(rec)
    pd.testing.assert_frame_equal(model.rounds_df, room.model.rounds_df)
    pd.testing.assert_frame_equal(model.actors_df, room.model.actors_df)
    pd.testing.assert_frame_equal(model.events_df, room.model.events_df)
    # ... and the exported outcomes are those records.
    exported = pd.DataFrame(rec["outcomes"]["rounds"])
    pd.testing.assert_frame_equal(exported, model.rounds_df, check_dtype=False)


def test_replay_from_a_file(tmp_path, ws, sc):
    room = play_a_session(ws, sc)
    path = tmp_path / "session.json"
    path.write_text(room.export_json())
    pd.testing.assert_frame_equal(replay(path).actors_df, room.model.actors_df)
    with pytest.raises(WorkshopError, match="not a Bloc workshop session"):
        load_record({"format": "something else"})


def test_the_record_holds_every_decision_with_seat_person_and_time(ws, sc):
    room = play_a_session(ws, sc)
    tables = tables_from_record(room.record())
    d = tables["decisions"]
    assert {"round", "seat", "participant", "time", "action"} <= set(d.columns)
    assert set(d["participant"]) >= {"Alice", "Bob", "Sam"}
    assert (d["time"].str.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")).all()
    counters = d[d["action"] == "counter"]
    assert counters["counter_floor_rare_earths"].iloc[0] == 95000.0
    moves = d[d["seat"] == "supplier"]
    assert set(moves["action"]) == {"export_controls"}
    assert set(moves["minerals"]) == {"gallium+rare_earths"}
    r = tables["rounds"]
    assert list(r["round"]) == list(range(10)) and (r["closed_by"].iloc[1:] != "").all()
    ev = tables["events"]
    assert {"model", "room"} == set(ev["source"])
    assert any(re.search(r"removed Bob", t) for t in ev["text"])
    levers = tables["levers"]
    assert "penalty" in set(levers["lever"])


def test_csv_and_zip_exports_parse(ws, sc):
    room = play_a_session(ws, sc)
    for table in ("decisions", "rounds", "actors", "events", "levers", "participants"):
        df = pd.read_csv(io.StringIO(room.export_csv(table)))
        assert len(df) > 0, table
    with zipfile.ZipFile(io.BytesIO(room.export_zip())) as z:
        names = set(z.namelist())
        assert {"decisions.csv", "rounds.csv", "session.json"} <= names
        rec = json.loads(z.read("session.json"))
    pd.testing.assert_frame_equal(replay(rec).rounds_df, room.model.rounds_df)


def test_a_lobby_record_replays_to_the_opening(ws, sc):
    room = ws.create(sc, rounds=3, levers={"penalty": 0.2})
    people(room, ("Alice", "japan"))
    model = replay(room.export_json())
    assert model.round == 0 and model.penalty == 0.2


# ----------------------------------------------------------------------------------------------
# Serving


def test_public_url():
    assert public_url("127.0.0.1", 8766) == "http://127.0.0.1:8766"
    url = public_url("0.0.0.0", 8766)
    assert url.startswith("http://") and url.endswith(":8766") and "0.0.0.0" not in url


def test_bloc_workshop_refuses_bad_arguments(capsys):
    assert entry(["workshop", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    assert entry(["workshop", "--scenario", "no-such-scenario"]) == 2
    assert "no-such-scenario" in capsys.readouterr().err


def test_bloc_workshop_help():
    from click.testing import CliRunner

    from negotiation.cli import main

    out = CliRunner().invoke(main, ["workshop", "--help"]).output
    assert "--host" in out and "127.0.0.1" in out and "8766" in out and "--scenario" in out


@pytest.mark.slow
def test_bloc_workshop_serves_on_the_venues_network():
    """The documented command (docs/how-to/workshop.md): `bloc workshop --host 0.0.0.0 --port
    PORT --scenario NAME` listens on every network, says which address to give participants, and
    serves the pages."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.browser_support import fetch_when_up, free_port, stop_app_server

    port = free_port()
    bloc = Path(sys.executable).parent / "bloc"
    cmd = [str(bloc), "workshop", "--host", "0.0.0.0", "--port", str(port)]
    cmd += ["--scenario", "us-mexico-60-day"]
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)  # fmt: skip
    try:
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert f"serving on http://0.0.0.0:{port}/" in lines[0]
        assert re.search(rf"participants open http://[\d.]+:{port}/", lines[1]), lines
        fetch_when_up(f"http://127.0.0.1:{port}/", proc)
    finally:
        stop_app_server(proc)


def test_the_convener_at_the_table_forecasts_and_tables_a_package(ws):
    """A person in the United States' seat (the convener) sees, before tabling new terms, whom
    it expects to accept and what the bloc it expects is worth to it; tabling a 10% penalty to
    Japan and the EU alone, Mexico and Singapore are not asked this round, Japan's person, who
    had accepted the old package, must answer again, and a replay of the record gives the same
    run."""
    room = ws.create("ministerial-2026", seed=0, rounds=3)
    ann, jo = people(room, ("Ann", "us"), ("Jo", "japan"))
    room.start(room.admin_token)
    panel = room.snapshot().panels["us"]
    assert panel.kind == "stay" and panel.proposes and not panel.tabled
    assert panel.invitees == ("japan", "eu", "mexico", "singapore")
    assert not room.snapshot().panels["japan"].proposes
    room.submit(jo.token, "japan", accept())
    before = {a: v.gains[1.0].total for a, v in room.model.prepare_round().views.items()}
    terms, invited = {"penalty": 0.1}, ["japan", "eu"]
    f = room.preview_proposal(ann.token, terms, invited)
    assert sorted(name for name, _, _ in f["invitees"]) == ["European Union", "Japan"]
    assert all(gain > 0 and yes for _, gain, yes in f["invitees"])  # both expected to accept
    assert f["words"] == "an outsider penalty of 10%" and f["agreed"] is True
    assert f["verdict"].startswith("Nobody else is in the bloc")
    forecast = room.model.proposal_forecast("us", terms, invited)
    assert f["value"] == pytest.approx(forecast["values"]["us"])
    # a forecast changes nothing: the views, the levers, the events
    assert before == {a: v.gains[1.0].total for a, v in room.model.prepare_round().views.items()}
    assert room.model.penalty == 0.05 and room.model.events_df.empty
    with pytest.raises(WorkshopError, match="does not table"):
        room.preview_proposal(jo.token, terms)
    with pytest.raises(WorkshopError, match="penalty"):
        room.propose(ann.token, "us", {"penalty": 9.0})
    with pytest.raises(WorkshopError, match="United States may invite .*, not United States"):
        room.propose(ann.token, "us", terms, ["us"])
    with pytest.raises(WorkshopError, match="A package tabled here has floors"):
        room.preview_proposal(ann.token, {"stockpile_fund": 1e9})
    with pytest.raises(WorkshopError, match="Offtake partners are countries of this scenario"):
        room.preview_proposal(ann.token, {"partners": ["atlantis"]})
    with pytest.raises(WorkshopError, match="Offtake partners are a list"):
        room.preview_proposal(ann.token, {"partners": "mexico"})
    for bad in ({"offtake_shares": {"mexico": 1.5}}, {"offtake_share": 0.0},
                {"offtake_shares": {"mexico": None}}):  # fmt: skip
        with pytest.raises(WorkshopError, match="under contract is from 1 % to 100 %"):
            room.preview_proposal(ann.token, bad)
    room.propose(ann.token, "us", terms, invited)
    snap = room.snapshot()
    assert snap.panels["us"].tabled and room.model.penalty == pytest.approx(0.1)
    assert snap.panels["japan"].penalty == pytest.approx(0.1)  # the panel shows the new package
    assert set(snap.waiting_for) == {"us", "japan"}  # Japan answers again
    assert "United States tabled an outsider penalty of 10%" in " ".join(
        t for _, _, t, _ in snap.narrative()
    )
    with pytest.raises(WorkshopError, match="already"):
        room.propose(ann.token, "us", {"penalty": 0.2})
    assert not room.snapshot().decisions  # Jo's answer to the old package no longer counts
    (row,) = tables_from_record(room.record())["decisions"].to_dict("records")
    assert row["seat"] == "japan" and row["withdrawn"]
    room.submit(jo.token, "japan", accept())
    room.submit(ann.token, "us", accept())
    assert room.snapshot().round == 1
    row = room.model.actors_df.query("round == 1").set_index("actor").decision
    assert row["japan"] == "accept" and row["mexico"] != "accept"
    replayed = replay(room.record())
    pd.testing.assert_frame_equal(replayed.actors_df, room.model.actors_df)
    pd.testing.assert_frame_equal(replayed.events_df, room.model.events_df)


def test_the_package_forecast_the_workshop_guide_quotes(ws):
    """docs/how-to/workshop.md: at seed 0, the rare-earth floor at $132,000/t tabled to Japan,
    the EU and Mexico in round 1: "Japan accepts (+$309m a year to it)", and the bloc of four
    costs the United States $206m a year against standing alone."""
    room = ws.create("ministerial-2026", seed=0, rounds=3)
    (ann,) = people(room, ("Ann", "us"))
    room.start(room.admin_token)
    f = room.preview_proposal(ann.token, {"floors": {"rare_earths": 132000.0}},
                              ["japan", "eu", "mexico"])  # fmt: skip
    gains = {name: (gain, yes) for name, gain, yes in f["invitees"]}
    assert gains["Japan"][1] and money(gains["Japan"][0]) == "+$309m"
    assert all(yes for _, yes in gains.values())
    assert money(f["value"]) == "-$206m"


def test_the_convener_asks_what_an_agent_would_table_and_tables_it(ws):
    """docs/how-to/workshop.md: Ann (the United States, seed 0) asks what an agent in her seat
    would table. It is price-gap payments, every floor 25% higher, a 10% penalty and offtake
    from Japan's producers, inviting the EU alone, whom it expects to accept: +$137m a year to
    the United States, as the forecast of that package says. Asking changes nothing; she
    tables it as it is, and a replay of the record gives the same run."""
    room = ws.create("ministerial-2026", seed=0, rounds=3)
    ann, jo = people(room, ("Ann", "us"), ("Jo", "japan"))
    room.start(room.admin_token)
    m = room.model
    before = {a: v.gains[1.0].total for a, v in m.prepare_round().views.items()}
    g = room.suggest_proposal(ann.token)
    assert {a: v.gains[1.0].total for a, v in m.prepare_round().views.items()} == before
    assert m.penalty == 0.05 and not m.levers.log and m.events_df.empty
    assert g["terms"] == m.suggestion("us")["terms"] and g["terms"]["partners"] == ["japan"]
    assert g["terms"]["instrument"] == "price_gap" and g["terms"]["penalty"] == 0.1
    assert g["terms"]["floors"]["rare_earths"] == 1.25 * 110_000
    assert g["invited"] == ["eu"] and g["invited_names"] == ["European Union"]
    assert g["invitees"] == (("European Union", pytest.approx(g["invitees"][0][1]), True),)
    assert money(g["value"]) == "+$137m" and g["agreed"] and g["rather"] == ""
    assert g["summary"].startswith("price-gap payments (the members pay their producers")
    assert "every floor 25% higher" in g["summary"]
    assert "offtake from the producers of Japan, outside the bloc" in g["summary"]
    assert g["agent_designs"] is False  # the Ministerial's tables design nothing
    assert g["value"] == room.preview_proposal(ann.token, g["terms"], g["invited"])["value"]
    with pytest.raises(WorkshopError, match="Japan does not table the package"):
        room.suggest_proposal(jo.token)
    room.propose(ann.token, "us", g["terms"], g["invited"])
    assert m.instrument.value == "price_gap" and m.penalty == pytest.approx(0.1)
    assert m.partners == {"japan"}
    assert set(m.prepare_round().views) == {"us", "eu"}
    room.submit(ann.token, "us", accept())
    room.force(room.admin_token)
    replayed = replay(room.record())
    pd.testing.assert_frame_equal(replayed.actors_df, m.actors_df)
    pd.testing.assert_frame_equal(replayed.events_df, m.events_df)


def test_a_suggestion_designs_offtake_where_the_seats_tables_do_and_is_tabled_as_it_is(ws):
    """Where the seat's tables let an agent design offtake, the workshop's suggestion designs
    it as an agent would (at seed 0, with the border tariff, every floor 20% lower and Japan's
    producers selling into the bloc's market, inviting nobody: +$3m a year to the United
    States), and the person tables it as it is: Japan is the bloc's offtake partner."""
    from negotiation.engine.scenario import Scenario
    from negotiation.ui.workshop_app import suggestion_html

    d = load_scenario("ministerial-2026").model_dump()
    for t in d["agenda"]["tracks"]:
        t["designs"] = ["floors", "invitees", "offtake"]
    room = ws.create(Scenario.model_validate(d), seed=0, rounds=3)
    (ann,) = people(room, ("Ann", "us"))
    room.start(room.admin_token)
    g = room.suggest_proposal(ann.token)
    assert g["agent_designs"] and g["terms"] == room.model.suggestion("us")["terms"]
    assert g["terms"]["partners"] == ["japan"] and g["invited"] == []
    assert money(g["value"]) == "+$3m" and g["agreed"]
    assert "offtake from the producers of Japan" in suggestion_html(g)
    room.propose(ann.token, "us", g["terms"], g["invited"])
    assert room.model.partners == {"japan"}


def test_the_words_of_a_tabled_contract_table_name_only_what_it_changes(ws):
    """The form sends the whole table of own contract shares: the words name the entries it
    changes, and an entry for a country that is no partner as waiting until it is one."""
    from negotiation.engine.scenario import Scenario

    d = load_scenario("australia-offtake").model_dump()
    d["policy"]["offtake_shares"] = {"india": 0.4}  # India is no partner: it waits
    room = ws.create(Scenario.model_validate(d), seed=0, rounds=3)
    (ann,) = people(room, ("Ann", "us"))
    room.start(room.admin_token)
    words = room.preview_proposal(ann.token, {"offtake_shares": {"india": 0.4, "australia": 0.25}})
    assert words["words"] == "a quarter of Australia's output under contract"
    words = room.preview_proposal(ann.token, {"offtake_shares": {"india": 0.5}})
    assert words["words"] == "half of India's output under contract once it is a partner"
    both = {"partners": ["australia", "india"], "offtake_shares": {"india": 0.5}}
    assert room.preview_proposal(ann.token, both)["words"] == (
        "offtake from the producers of Australia and India, half of India's output under contract"
    )


def test_a_package_may_share_its_costs_by_the_scenarios_own_table():
    """A suggestion may table the scenario's own table of cost shares (a key an agent convener
    weighs): the workshop takes that table, and no other, as a package's cost sharing."""
    from negotiation import BlocModel
    from negotiation.engine.scenario import Scenario
    from negotiation.rooms.workshop_common import check_terms

    d = load_scenario("ministerial-2026").model_dump()
    table = {"us": 0.5, "japan": 0.2, "eu": 0.2, "mexico": 0.1}
    d["policy"]["cost_sharing"] = table
    sc = Scenario.model_validate(d)
    m = BlocModel(sc, rng=0)
    check_terms(m, sc, {"cost_sharing": dict(table)})  # taken
    for other, scenario in (({**table, "us": 0.4}, sc), (table, load_scenario("ministerial-2026"))):
        with pytest.raises(WorkshopError, match="the scenario's own table of shares"):
            check_terms(m, scenario, {"cost_sharing": other})


def test_a_seat_the_convener_leaves_out_is_told_why_and_a_silent_seat_is_nobodys(ws):
    """Mia (Mexico) accepts, then Ann (the United States) tables the package as it stands to
    Japan and the EU alone: Mia's answer no longer counts, her page says why she has nothing
    to decide and when she is asked again, and the form's verdict says no term changed. When
    the facilitator closes the round, nobody is credited with Mexico's seat."""
    room = ws.create("ministerial-2026", seed=0, rounds=3)
    ann, mia = people(room, ("Ann", "us"), ("Mia", "mexico"))
    room.start(room.admin_token)
    room.submit(mia.token, "mexico", accept())
    f = room.preview_proposal(ann.token, {"penalty": 0.05}, ["japan", "eu"])
    assert f["changes"] is False and f["verdict"].startswith("No term differs")
    room.propose(ann.token, "us", {}, ["japan", "eu"])
    snap = room.snapshot()
    assert "mexico" not in snap.waiting_for and not snap.decisions
    assert snap.idle["mexico"].startswith(
        "United States tabled this round's package without Mexico: Mexico is asked again in "
        "round 2."
    )
    room.force(room.admin_token)
    assert (1, "mexico") not in room.snapshot().deciders()
    assert "mexico" in room.model.prepare_round().invites  # asked again in round 2


def test_on_new_terms_the_supplier_chooses_its_move_again(ws):
    """Sue (the supplier) chose to flood lithium on the package on the table; Ann (the United
    States) then tables a 10% penalty: Sue's move no longer counts, and she chooses again."""
    room = ws.create("ministerial-2026", seed=0, rounds=3)
    ann, sue = people(room, ("Ann", "us"), ("Sue", "supplier"))
    room.start(room.admin_token)
    flood = SupplierMove(SupplierAction.FLOOD, ("lithium",), 0.5)
    room.submit(sue.token, "supplier", flood)
    assert room.snapshot().waiting_for == ("us",)
    room.propose(ann.token, "us", {"penalty": 0.1})
    snap = room.snapshot()
    assert set(snap.waiting_for) == {"us", "supplier"} and not snap.decisions
    room.submit(sue.token, "supplier", flood)
    assert [d["seat"] for d in room.snapshot().decisions] == ["supplier"]

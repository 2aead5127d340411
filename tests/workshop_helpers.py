"""Helpers of the workshop tests: a hand-moved clock, people who join and take seats, a whole
session played, and waiting for a page rendered in-process to follow its room."""

from __future__ import annotations

import time

import ipyvuetify as v
import solara
import solara.widgets

from agents.human import accept, reject
from negotiation.rooms.workshop import RUNNING, Settings
from negotiation.rules.types import Action, Decision, Reason, SupplierAction, SupplierMove
from negotiation.ui import workshop_app as wa


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def people(room, *names_seats):
    """Join and claim: [(name, seat)] -> participants."""
    out = []
    for name, seat in names_seats:
        p = room.join(name)
        if seat:
            room.claim(p.token, seat)
        out.append(p)
    return out


def counter(**terms):
    return Decision(Action.COUNTER, Reason({}), terms=terms)


def play_a_session(ws, sc, clock=None):
    """A session with everything in it: teams, a counter, the supplier, a removal, a seat taken
    mid-run, a lever change, a forced round, a timer, a changed decision."""
    clock = clock or Clock()
    room = ws.create(sc, seed=7, rounds=9, settings=Settings(timer_seconds=90), clock=clock)
    alice, dee, bob, sam = people(
        room, ("Alice", "japan"), ("Dee", "japan"), ("Bob", "eu"), ("Sam", "supplier")
    )
    room.start(room.admin_token)

    def decide_all(choice):
        for _ in range(3):
            snap = room.snapshot()
            if snap.phase != RUNNING:
                return
            for seat in snap.waiting_for:
                holder = snap.seat(seat).submitter
                token = next(p.token for p in snap.participants if p.id == holder)
                clock.t += 3
                room.submit(token, seat, choice(seat, snap))
            if not snap.waiting_for:
                return

    def choice(seat, snap):
        if seat == "supplier":
            return SupplierMove(SupplierAction.EXPORT_CONTROLS, ("gallium", "rare_earths"), 0.7)
        return accept() if snap.round % 3 != 2 else reject()

    room.submit(bob.token, "eu", reject())
    terms = {"floors": {"rare_earths": 95000.0}, "penalty": 0.1, "cost_sharing": "equal"}
    room.submit(bob.token, "eu", counter(**terms))  # he changed his mind
    decide_all(choice)  # round 1
    room.set_levers(room.admin_token, penalty=0.3)
    (mia,) = people(room, ("Mia", "mexico"))
    decide_all(choice)  # round 2
    room.remove(room.admin_token, bob.id)
    clock.t += 100
    room.tick()  # time up for whoever has not decided
    room.force(room.admin_token)
    while room.snapshot().phase == RUNNING:
        decide_all(choice)
        if room.snapshot().phase == RUNNING and room.snapshot().waiting_for:
            room.force(room.admin_token)
    return room


def texts(rc) -> str:
    """The page's text as a browser shows it: its HTML widgets, and each live part as its
    LiveParts last pushed it (or as rendered)."""
    carriers = rc.find(wa.LiveParts).widgets
    store = carriers[0].store if carriers else {}
    live = [w.shown(store) for w in rc.find(wa.LiveSlot).widgets]
    fixed = [str(w.unsafe_innerHTML) for w in rc.find(solara.widgets.HTML).widgets]
    return " ".join([*fixed, *live])


def eventually(check, timeout: float = 10.0):
    """Pages re-render from a thread that waits on the room: poll until `check()` holds."""
    end = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            out = check()
        except (ValueError, AssertionError) as e:  # not yet: the last failure is reported
            out, last = None, e
        if out:
            return out
        if time.monotonic() > end:
            raise AssertionError(f"the page did not follow the room in time: {last!r}") from last
        time.sleep(0.05)


def button(rc, cls: str):
    return rc.find(v.Btn, class_=cls).widget

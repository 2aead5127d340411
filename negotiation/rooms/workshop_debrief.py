"""A room's debrief in words and tables, built from a `RoomSnapshot` (issue 14): each country's
result (in or out at the end, its utility by component at the end against the start), the
timeline (people joining and leaving, the bloc's members joining and leaving, the supplier's
moves, the facilitator's acts), the decisions with their reasons, seat by seat and round by
round, and a participant's own end-of-game summary.

Names only, never ids: seats by their display names, people by theirs, minerals by theirs.
The pages (`workshop_app`) put these pieces on the printable debrief (`/debrief`) and on a
participant's page once the session is over; the comparison with agent-only runs is theirs
(it needs the room's ensemble).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from negotiation.rooms.workshop import (
    Participant,
    RoomSnapshot,
    describe_decision,
    story_key,
    told_lever,
)
from negotiation.rules.types import COMPONENT_LABELS, COMPONENTS, ids_in_words, money

#: What a recorded decision means, in words ("" rows are seats with nothing to decide).
DECISION_WORDS = {
    "accept": "accepted the package",
    "reject": "rejected the package",
    "counter": "counter-proposed",
    "stay": "stayed in the bloc",
    "leave": "left the bloc",
    "normal": "sold normally",
    "flood": "flooded a market",
    "export_controls": "imposed export controls",
    "side_offer": "made a side offer",
}
#: Decisions whose terms the decisions' table shows after the word (a counter's floors, a
#: move's minerals or target): the others say it all in `DECISION_WORDS`.
TERMS_SHOWN = frozenset({"counter", "flood", "export_controls", "side_offer"})
#: Engine events that belong to the timeline (membership, the supplier's moves, levers).
TIMELINE_KINDS = frozenset({"joined", "left", "lever", "flood", "export_controls", "side_offer"})


@dataclass(frozen=True)
class SeatResult:
    """A seat's result: in the bloc at the end or not, and its utility by component (USD a
    year, as the agents weigh them) before round 1 and after the last round played."""

    seat: str
    name: str
    supplier: bool
    member: bool
    start: Mapping[str, float]
    end: Mapping[str, float]
    people: tuple[str, ...]  # who held the seat at the end ("" for none: an agent)
    joined: tuple[int, ...]  # rounds it joined the bloc in
    left: tuple[int, ...]  # rounds it left the bloc in

    @property
    def utility_start(self) -> float:
        return float(sum(self.start.values()))

    @property
    def utility_end(self) -> float:
        return float(sum(self.end.values()))

    @property
    def change(self) -> dict[str, float]:
        return {k: self.end[k] - self.start[k] for k in COMPONENTS}


@dataclass(frozen=True)
class DecisionLine:
    """One seat's decision in one round: what it did, who decided (a person's display name, or
    "" for an agent), the person's own terms, and the reasons the narrative gives."""

    round: int
    seat: str
    name: str
    decision: str  # the engine's word: accept, reject, counter, stay, leave, normal, flood...
    person: str
    human: bool  # a seat people played that round (no person's decision: it was silent)
    terms: str  # the person's decision in words ("counter: Gallium $200,000/t"), or ""
    reasons: tuple[str, ...]

    @property
    def who(self) -> str:
        if self.person:
            return self.person
        return "nobody: the round closed without it" if self.human else "an agent"

    @property
    def words(self) -> str:
        return DECISION_WORDS.get(self.decision, self.decision.replace("_", " "))


def in_names(snap: RoomSnapshot, text: str, actor: str) -> str:
    """An engine line in names: the supplier's moves are told by the engine with the
    minerals' (and a side offer's target's) ids ("The supplier bans exports of rare_earths,
    graphite to members"); the debrief names them."""
    if actor != snap.supplier:
        return text
    names = dict(snap.mineral_names)
    names.update({a: n for a, n in snap.names.items() if a != snap.supplier})
    return ids_in_words(text, names)


#: An engine line of a lever change: "Lever changed: outsider penalty: 5% -> 10%", or with
#: parts, "Lever changed: floors: Lithium $85,000/t -> no floor; Gallium $600/t -> $700/t".
_LEVER_LINE = re.compile(r"Lever changed: (?P<what>[^:]+): (?P<changes>.+)\Z", re.S)


def lever_words(snap: RoomSnapshot, text: str) -> str:
    """A lever change in a sentence: "The outsider penalty changed from 5% to 10%.", "The
    floors changed: Lithium from $85,000/t to no floor; Gallium from $600/t to $700/t." (the
    engine says it with arrows, for the app's log of changes)."""
    found = _LEVER_LINE.match(text)
    if not found:
        return text
    people = [n for a, n in snap.names.items() if a != snap.supplier]
    parts = [
        *(n.split(" (")[0] for n in snap.mineral_names.values()),
        *people,
        *(f"{n}'s weight on {label}" for n in people for label in COMPONENT_LABELS.values()),
    ]
    parts.sort(key=len, reverse=True)
    items, named = [], False
    for change in found["changes"].split("; "):
        before, arrow, after = change.partition(" -> ")
        part = next((x for x in parts if before.startswith(x + " ")), "") if arrow else ""
        named = named or bool(part)
        if not arrow:
            items.append(change)
        elif part:
            items.append(f"{part} from {before[len(part) + 1 :]} to {after}")
        else:
            items.append(f"from {before} to {after}")
    what = found["what"]
    items = [re.sub(r"\b1 rounds\b", "1 round", x) for x in items]  # the engine's patience
    if len(items) == 1 and not named:
        return f"The {what} changed {items[0]}."
    return f"The {what} changed: {'; '.join(items)}."


def story_words(snap: RoomSnapshot, kind: str, text: str, actor: str) -> str:
    """An engine line as the room's pages tell it: names for the supplier's ids
    (`in_names`), a lever change in a sentence (`lever_words`)."""
    if kind == "lever":
        return lever_words(snap, text)
    return in_names(snap, text, actor)


def _components(row: Any) -> dict[str, float]:
    return {k: float(row[k]) for k in COMPONENTS}


def seat_results(snap: RoomSnapshot) -> list[SeatResult]:
    """Every seat's result (the countries, then the supplier), once rounds have been played;
    before round 1, start and end are the same."""
    return snap.shared("debrief-results", lambda: _seat_results(snap))


def _seat_results(snap: RoomSnapshot) -> list[SeatResult]:
    actors = snap.actors_df
    ev = snap.events_df
    first = actors["round"].min()
    last = actors["round"].max()
    holders = {s.seat: s.holder_names for s in snap.seats}
    out = []
    for seat in (*snap.countries, snap.supplier):
        rows = actors[actors["actor"] == seat]
        start = rows[rows["round"] == first].iloc[0]
        end = rows[rows["round"] == last].iloc[0]
        mine = ev[ev["actor"] == seat]
        out.append(
            SeatResult(
                seat=seat,
                name=snap.names.get(seat, seat),
                supplier=seat == snap.supplier,
                member=seat in snap.members,
                start=_components(start),
                end=_components(end),
                people=tuple(holders.get(seat, ())),
                joined=tuple(int(r) for r in mine.loc[mine["kind"] == "joined", "round"]),
                left=tuple(int(r) for r in mine.loc[mine["kind"] == "left", "round"]),
            )
        )
    return out


def _rounds_words(rounds: tuple[int, ...]) -> str:
    return ("round " if len(rounds) == 1 else "rounds ") + ", ".join(map(str, rounds))


def result_words(res: SeatResult, played: int, who: bool = True) -> str:
    """A seat's result in a sentence or two: (who played it,) where it ended, and its
    utility at the end against the start, with the components that moved most."""
    where = ""
    if not res.supplier:
        state = "in the bloc" if res.member else "outside the bloc"
        moves = []
        if res.joined:
            moves.append(f"joined in {_rounds_words(res.joined)}")
        if res.left:
            moves.append(f"left in {_rounds_words(res.left)}")
        where = f"Ended {state}" + (f" ({'; '.join(moves)})" if moves else "") + ". "
    played_by = f"Played by {', '.join(res.people) or 'an agent'}. " if who else ""
    delta = res.utility_end - res.utility_start
    text = (
        f"{played_by}{where}Utility after round {played}: {money(res.utility_end)} a year, "
        f"against {money(res.utility_start)} at the start ({money(delta)})"
    )
    moved = sorted(res.change.items(), key=lambda kv: abs(kv[1]), reverse=True)
    moved = [(k, x) for k, x in moved if abs(x) >= 5e5][:2]
    if moved:
        text += ": mostly " + " and ".join(f"{COMPONENT_LABELS[k]} ({money(x)})" for k, x in moved)
    return text + "."


def result_table_html(res: SeatResult) -> str:
    """A seat's utility by component: at the start, at the end, the change."""
    rows = []
    for k in COMPONENTS:
        a, b = res.start[k], res.end[k]
        if abs(a) < 1 and abs(b) < 1:
            continue  # a component that is nothing for this seat
        rows.append(
            f"<tr><td>{escape(COMPONENT_LABELS[k])}</td><td class='num'>{money(a)}</td>"
            f"<td class='num'>{money(b)}</td><td class='num'>{money(b - a)}</td></tr>"
        )
    total = res.utility_end - res.utility_start
    rows.append(
        f"<tr class='total'><td>utility</td><td class='num'>{money(res.utility_start)}</td>"
        f"<td class='num'>{money(res.utility_end)}</td><td class='num'>{money(total)}</td></tr>"
    )
    return (
        f"<table class='ws-table ws-result-table' data-seat='{escape(res.seat)}'><thead><tr>"
        "<th>USD a year</th><th class='num'>start</th><th class='num'>end</th>"
        f"<th class='num'>change</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _clock(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


def timeline(snap: RoomSnapshot) -> list[tuple[int, str, str]]:
    """(round, time or "", text), oldest first: people joining and leaving the room and its
    seats, the session's start, pauses, messages and closes (the room's events, with their
    clock time); the bloc's members joining and leaving, lever changes and the supplier's
    moves (the engine's events; a round the supplier sold normally says so)."""
    return snap.shared("debrief-timeline", lambda: _timeline(snap))


def _timeline(snap: RoomSnapshot) -> list[tuple[int, str, str]]:
    rows: list[tuple[tuple, int, str, str]] = []
    for n, e in enumerate(snap.room_events):
        key = story_key(e.round, n, True, e.kind, e.after)  # in the order things happened
        rows.append((key, e.round, _clock(e.time), e.text))
    ev = snap.events_df
    moved = set()
    for n, e in enumerate(ev.itertuples()):
        if e.kind not in TIMELINE_KINDS or (e.kind == "lever" and not told_lever(str(e.text))):
            continue
        if e.actor == snap.supplier:
            moved.add(int(e.round))
        text = story_words(snap, str(e.kind), str(e.text), str(e.actor))
        rows.append((story_key(int(e.round), n), int(e.round), "", text))
    # A round the supplier sold normally: said where its move would have been (after the
    # round's other events of the engine, before the room's close).
    last = {int(r): n for n, r in enumerate(ev["round"])}
    for r in range(1, snap.round + 1):
        if r not in moved:
            key = (*story_key(r, last.get(r, -1)), 1)
            rows.append((key, r, "", "The supplier sold normally."))
    rows.sort(key=lambda x: x[0])
    return [(r, t, text) for _, r, t, text in rows]


def decision_lines(snap: RoomSnapshot, seat: str | None = None) -> list[DecisionLine]:
    """Each seat's decision in each round played (or `seat`'s only), oldest first: seats with
    nothing to decide in a round are left out."""
    lines = snap.shared("debrief-decisions", lambda: _decision_lines(snap))
    return [x for x in lines if seat is None or x.seat == seat]


def _decision_lines(snap: RoomSnapshot) -> list[DecisionLine]:
    actors = snap.actors_df
    ev = snap.events_df
    reasons: dict[tuple[int, str], list[str]] = {}
    for e in ev.itertuples():
        if e.actor and e.kind != "lever":
            reasons.setdefault((int(e.round), str(e.actor)), []).append(
                in_names(snap, str(e.text), str(e.actor))
            )
    submitted: dict[tuple[int, str], Mapping[str, Any]] = {}
    for d in snap.decisions:  # the last submission of a round counts
        submitted[(int(d["round"]), d["seat"])] = d
    order = {a: i for i, a in enumerate((*snap.countries, snap.supplier))}
    closes = {e.round: e.text for e in snap.room_events if e.kind == "closed"}
    out = []
    for row in actors[actors["round"] >= 1].itertuples():
        r, seat, decision = int(row.round), str(row.actor), str(row.decision or "")
        if not decision:
            continue
        d = submitted.get((r, seat))
        names = {**snap.mineral_names, **snap.names}
        terms = describe_decision(d["decision"], names, decision in ("stay", "leave")) if d else ""
        why = list(reasons.get((r, seat), ()))
        human = str(row.strategy).startswith("human")
        if human and not d and closes.get(r):
            why.append(closes[r])  # silent: the room's line saying what was done for it
        if not why and decision == "normal" and seat == snap.supplier:
            why = ["The supplier sold normally."]
        out.append(
            DecisionLine(
                round=r,
                seat=seat,
                name=snap.names.get(seat, seat),
                decision=decision,
                person=str(d["participant"]) if d else "",
                human=human,
                terms=terms,
                reasons=tuple(why),
            )
        )
    out.sort(key=lambda x: (x.round, order.get(x.seat, 99)))
    return out


def decisions_html(lines: list[DecisionLine], with_seat: bool = True) -> str:
    """A table of decisions: round, (seat,) who, what, why."""
    if not lines:
        return "<p class='ws-muted'>No round has been played.</p>"
    head = "<th>Round</th>" + ("<th>Seat</th>" if with_seat else "")
    head += "<th>Decided by</th><th>Decision</th><th>Why (the narrative)</th>"
    rows = []
    for x in lines:
        what = escape(x.words)
        if x.terms and x.decision in TERMS_SHOWN:
            terms = x.terms.removeprefix("counter-propose: ")
            what += f" <span class='ws-muted'>({escape(terms)})</span>"
        seat = f"<td>{escape(x.name)}</td>" if with_seat else ""
        rows.append(
            f"<tr class='ws-decision-line' data-round='{x.round}'><td class='num'>{x.round}</td>"
            f"{seat}<td>{escape(x.who)}</td><td>{what}</td>"
            f"<td>{escape(' '.join(x.reasons))}</td></tr>"
        )
    return (
        f"<table class='ws-table ws-decisions'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def results_html(snap: RoomSnapshot) -> str:
    """Per-country results: the members at the end, then each seat in words and a table."""
    members = ", ".join(snap.names.get(a, a) for a in snap.members) or "nobody"
    parts = [
        f"<p class='ws-debrief-members'><b>Members at the end ({len(snap.members)}):</b> "
        f"{escape(members)}.</p>"
    ]
    for res in seat_results(snap):
        parts.append(
            f"<div class='ws-result' data-seat='{escape(res.seat)}'><h3>{escape(res.name)}</h3>"
            f"<p>{escape(result_words(res, snap.round))}</p>{result_table_html(res)}</div>"
        )
    return "".join(parts)


def timeline_html(snap: RoomSnapshot) -> str:
    items = [
        f"<li><span class='r'>round {r}</span>{escape(text)}"
        + (f" <span class='ws-muted'>({t})</span>" if t else "")
        + "</li>"
        for r, t, text in timeline(snap)
    ]
    return f"<ul class='ws-events ws-timeline-list'>{''.join(items)}</ul>"


def debrief_html(snap: RoomSnapshot, figures: Mapping[str, str] | None = None) -> str:
    """The printable debrief: a title, then a section a printed page: results by country,
    the timeline and the decisions with their reasons. `figures` (section -> HTML, such as a
    chart's SVG) go at the top of their section. The comparison with agent-only runs is the
    page's, a section of its own after these."""
    figures = figures or {}
    state = "over" if snap.finished else f"{snap.round} of {snap.rounds} rounds played"
    sections = [
        ("results", "Results by country", results_html(snap)),
        ("timeline", "Timeline", timeline_html(snap)),
        ("decisions", "Decisions and their reasons", decisions_html(decision_lines(snap))),
    ]
    body = "".join(
        f"<section class='ws-debrief-section ws-debrief-{key}'><h2>{escape(title)}</h2>"
        f"{figures.get(key, '')}{inner}</section>"
        for key, title, inner in sections
    )
    return (
        f"<header class='ws-debrief-title'><h1>Debrief: {escape(snap.title)}</h1>"
        f"<p class='ws-muted'>Room {escape(snap.code)} · scenario {escape(snap.scenario)}, "
        f"seed {snap.seed} · session {escape(state)}</p></header>{body}"
    )


def summary_seat(snap: RoomSnapshot, me: Participant) -> str | None:
    """The seat a participant's summary is about: theirs at the end, else the last one they
    decided for."""
    if me.seat:
        return me.seat
    mine = [d["seat"] for d in snap.decisions if d.get("participant_id") == me.id]
    return mine[-1] if mine else None


def summary_html(snap: RoomSnapshot, me: Participant) -> str:
    """A participant's own end-of-game summary: their seat, its decisions round by round with
    the reasons (who decided: them, a team mate, or an agent when the round closed without
    them), and the country's result (utility by component at the end against the start)."""
    seat = summary_seat(snap, me)
    if seat is None:
        return (
            f"<h2>Your summary, {escape(me.name)}</h2><p>You did not play a seat in this "
            "session.</p>"
        )
    res = next(x for x in seat_results(snap) if x.seat == seat)
    lines = decision_lines(snap, seat)
    return (
        f"<h2>Your summary, {escape(me.name)}</h2>"
        f"<p class='ws-summary-seat' data-seat='{escape(seat)}'>You played "
        f"<b>{escape(res.name)}</b>. {escape(result_words(res, snap.round, who=False))}</p>"
        f"<h3>Your seat's decisions</h3>{decisions_html(lines, with_seat=False)}"
        f"<h3>{escape(res.name)}'s result</h3>{result_table_html(res)}"
    )

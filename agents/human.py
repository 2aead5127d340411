"""A person at a seat: one more strategy, whose decisions come from the app.

The model asks every seat's strategy `needs_input()` before it resolves a round and waits (or, when
the facilitator forces the round, lets an agent answer) while any says yes. A script of decisions
(round -> decision) replays a session exactly.
"""

from __future__ import annotations

from dataclasses import replace

from agents.countries import CountryStrategy
from agents.supplier import SupplierStrategy
from agents.views import CountryView, SupplierView
from negotiation.rules.types import Action, Decision, Reason, SupplierAction, SupplierMove


class Inbox:
    """A seat's mailbox: the app puts a person's answer in, the model takes it out once."""

    def reset(self) -> None:
        self.inbox = None

    def needs_input(self) -> bool:
        return self.inbox is None

    def submit(self, answer) -> None:
        self.inbox = answer

    def take(self, actor: str, round_: int):
        if self.inbox is None:
            raise RuntimeError(f"{actor}: no decision submitted for round {round_}")
        answer, self.inbox = self.inbox, None
        return answer


class Human(Inbox, CountryStrategy):
    """A country played by a person: accept, reject or counter-propose, from the decision panel."""

    name = "human"
    classifier = {**CountryStrategy.classifier, "human": True}

    def respond(self, view: CountryView) -> Decision:
        d: Decision = self.take(view.actor, view.round)
        return Decision(d.action, Reason(view.gains[1.0].deltas), d.counter_scale, d.note, d.terms)


class HumanSupplier(Inbox, SupplierStrategy):
    """The dominant supplier played by a person, who picks the round's move."""

    name = "human-supplier"
    classifier = {**SupplierStrategy.classifier, "human": True}

    def act(self, view: SupplierView) -> SupplierMove:
        move: SupplierMove = self.take(view.actor, view.round)
        return move if move.reason else replace(move, reason=describe(move))


def describe(move: SupplierMove) -> str:
    """Plain words for a move a person chose."""
    what = ", ".join(move.minerals)
    if move.action is SupplierAction.FLOOD:
        return f"floods {what} (a person's move)"
    if move.action is SupplierAction.EXPORT_CONTROLS:
        return f"licenses exports of {what} to members (a person's move)"
    if move.action is SupplierAction.SIDE_OFFER:
        return f"offers {move.target} ${move.offer / 1e9:.2f}bn a year to leave (a person's move)"
    return "sells normally (a person's move)"


def accept(note: str = "") -> Decision:
    return Decision(Action.ACCEPT, Reason({}), note=note)


def reject(note: str = "") -> Decision:
    return Decision(Action.REJECT, Reason({}), note=note)

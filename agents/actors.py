"""The Mesa agents: five (or more) countries at the table and the dominant supplier outside it.

An agent holds its profile id, its strategy and its standing in the bloc; it decides through its
strategy from the view the model hands it and never touches the model's internals.
"""

from __future__ import annotations

import mesa

from agents.base import Strategy
from agents.views import CountryView, SupplierView
from negotiation.rules.types import Decision, SupplierMove


class CountryAgent(mesa.Agent):
    """A country: member or outsider, with a strategy for invitations and a patience for losses."""

    def __init__(self, model: mesa.Model, actor_id: str, name: str, strategy: Strategy,
                 patience: int) -> None:  # fmt: skip
        super().__init__(model)
        self.actor_id = actor_id
        self.name = name
        self.strategy = strategy
        self.patience = patience
        self.member = False
        self.losing_streak = 0  # consecutive rounds as a member below the outside option
        self.utility = 0.0  # last round's weighted utility, USD/yr (the model records it)
        self.left_round: int | None = None  # the round it last left the bloc

    @property
    def member(self) -> bool:
        """In the bloc or not."""
        return self._member

    @member.setter
    def member(self, value: bool) -> None:
        self._member = bool(value)
        # the model keeps the set of members at hand (asked for many times a round): a change
        # of anyone's standing makes it draw the set again
        self.model.members_changed()

    def respond(self, view: CountryView) -> Decision:
        return self.strategy.respond(view)


class SupplierAgent(mesa.Agent):
    """The dominant supplier: never a member; acts on the markets every round."""

    def __init__(self, model: mesa.Model, actor_id: str, name: str, strategy: Strategy) -> None:
        super().__init__(model)
        self.actor_id = actor_id
        self.name = name
        self.strategy = strategy
        self.member = False
        self.utility = 0.0  # last round's weighted utility, USD/yr (the model records it)

    def act(self, view: SupplierView) -> SupplierMove:
        return self.strategy.act(view)

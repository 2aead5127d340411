"""Bargaining strategies for the alternating-offers game (`negotiation.rules.bargaining`).

Role "bargainer": a strategy proposes a split (`propose(state) -> Offer`) and answers one
(`respond(state, offer) -> Response`). `rubinstein` plays the subgame-perfect equilibrium of
Rubinstein (1982); `greedy` asks for a fixed share and takes nothing less, the non-equilibrium
opponent the validation checks play it against. `bargain` and `game` play the game of
`negotiation.rules.bargaining` with players named by string.
"""

from __future__ import annotations

from typing import Any

from agents.base import Strategy
from negotiation.rules.bargaining import (
    TOLERANCE,
    Agreement,
    AlternatingOffers,
    BargainingState,
    Offer,
    Response,
    equilibrium_share,
)
from negotiation.rules.bargaining import bargain as play


class BargainingStrategy(Strategy):
    classifier = {"role": "bargainer", "stochastic": False, "memory": 0, "lookahead": False}

    def propose(self, state: BargainingState) -> Offer:
        raise NotImplementedError

    def respond(self, state: BargainingState, offer: Offer) -> Response:
        raise NotImplementedError


class Rubinstein(BargainingStrategy):
    """The equilibrium strategy of Rubinstein (1982).

    Proposes to keep x* = (1 - d_other) / (1 - d_self d_other), and accepts any offer worth at
    least what waiting is worth: d_self x*, the share it would propose for itself next period,
    discounted by one period. The strategy is stationary: it ignores the history.
    """

    name = "rubinstein"
    classifier = {**BargainingStrategy.classifier, "lookahead": True}

    def propose(self, state: BargainingState) -> Offer:
        x = equilibrium_share(state.my_discount, state.other_discount)
        why = f"keeps (1 - d_other) / (1 - d_self d_other) = {x:.4f}"
        return Offer(state.period, state.me, x, why)

    def respond(self, state: BargainingState, offer: Offer) -> Response:
        waiting = state.my_discount * equilibrium_share(state.my_discount, state.other_discount)
        mine = offer.share_of(state.me)
        if mine >= waiting - TOLERANCE:
            return Response(True, f"{mine:.4f} is at least {waiting:.4f}, what waiting is worth")
        return Response(False, f"{mine:.4f} is less than {waiting:.4f}, what waiting is worth")


class Greedy(BargainingStrategy):
    """Asks for `demand` (a fraction of the pie) every time and accepts nothing less."""

    name = "greedy"
    defaults = {"demand": 0.9}

    def propose(self, state: BargainingState) -> Offer:
        d = self.params["demand"]
        return Offer(state.period, state.me, d, f"asks for {d:.0%}")

    def respond(self, state: BargainingState, offer: Offer) -> Response:
        mine, d = offer.share_of(state.me), self.params["demand"]
        if mine >= d - TOLERANCE:
            return Response(True, f"{mine:.0%} meets its demand of {d:.0%}")
        return Response(False, f"{mine:.0%} is below its demand of {d:.0%}")


def _player(player: Any) -> Any:
    if isinstance(player, str):
        from agents import make_strategy  # the registry: agents/__init__ imports this module

        return make_strategy(player, "bargainer")
    return player


def game(players: list[Any], discounts: tuple[float, float], **kwargs: Any) -> AlternatingOffers:
    """`negotiation.rules.bargaining.AlternatingOffers` with players given as strategies or
    names."""
    return AlternatingOffers([_player(p) for p in players], discounts, **kwargs)


def bargain(player1: Any, player2: Any, d1: float, d2: float, **kwargs: Any) -> Agreement:
    """`negotiation.rules.bargaining.bargain` (one game, player 1 proposing first; `max_periods`,
    `rng`) with players given as strategies or by name ("rubinstein", "greedy")."""
    return play(_player(player1), _player(player2), d1, d2, **kwargs)

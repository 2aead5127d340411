"""Alternating offers (Rubinstein 1982): two players split a pie by turns, with discounting.

A mechanism apart from the strategies, in the style of NegMAS and OpenSpiel: `AlternatingOffers`
holds the state and the rules; a player sees an immutable `BargainingState` and answers through a
strategy's `propose(state) -> Offer` and `respond(state, offer) -> Response` (strategies with the
role "bargainer" in the registry, see `agents.bargaining`). `step(action=...)` lets an outside
policy (a person, a test) supply the next move instead of the strategy.

The rules. Player 1 (index 0) proposes in period 0, player 2 in period 1, and so on. An offer names
the proposer's share of the pie; the responder accepts (the game ends) or rejects, and then
proposes in the next period. A share agreed in period t is worth share x d_i**t to player i, where
d_i is its discount factor per period. Without agreement after `max_periods` both get nothing.

Rubinstein (1982, Econometrica 50(1): 97-110): the unique subgame-perfect equilibrium agrees at
once, player 1 getting (1 - d2) / (1 - d1 d2).

A leaf module: it imports nothing from `agents/` (the players live there and import it), so the
game takes strategy objects; `agents.bargaining.bargain` plays it with strategies named by string
("rubinstein", "greedy").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Offers within this of a threshold count as meeting it (floating-point round-off).
TOLERANCE = 1e-12


def equilibrium_share(d_self: float, d_other: float) -> float:
    """The proposer's share in Rubinstein's equilibrium: (1 - d_other) / (1 - d_self d_other)."""
    if d_self >= 1.0 and d_other >= 1.0:
        return 0.5  # no impatience: the limit of equal discount factors as they tend to 1
    return (1.0 - d_other) / (1.0 - d_self * d_other)


@dataclass(frozen=True)
class Offer:
    """A proposal: `share` of the pie (a fraction, 0-1) to the `proposer` (0 or 1)."""

    period: int
    proposer: int
    share: float
    reason: str = ""

    def share_of(self, player: int) -> float:
        """The fraction of the pie this offer gives `player`."""
        return self.share if player == self.proposer else 1.0 - self.share


@dataclass(frozen=True)
class Response:
    """An answer to an offer, with its reason in words."""

    accept: bool
    reason: str = ""


@dataclass(frozen=True)
class BargainingState:
    """What a player sees: the period, who it is, who proposes now, both discount factors, the pie
    (USD or any unit) and the offers so far; `rng` for stochastic strategies."""

    period: int
    me: int
    proposer: int
    discounts: tuple[float, float]
    pie: float = 1.0
    history: tuple[Offer, ...] = ()
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    @property
    def other(self) -> int:
        return 1 - self.me

    @property
    def my_discount(self) -> float:
        return self.discounts[self.me]

    @property
    def other_discount(self) -> float:
        return self.discounts[self.other]


@dataclass(frozen=True)
class Agreement:
    """How a game ended. `period` is None without agreement; `shares` are fractions of the pie,
    `payoffs` the discounted values share x d_i**period (0 without agreement)."""

    period: int | None
    shares: tuple[float, float]
    payoffs: tuple[float, float]
    offers: tuple[Offer, ...]
    responses: tuple[Response, ...]

    @property
    def agreed(self) -> bool:
        return self.period is not None


class AlternatingOffers:
    """Two players, a pie, discount factors: the Rubinstein game.

    players: two bargaining strategies (objects with `propose` and `respond`; build one by name
    with `agents.make_strategy(name, "bargainer")`, or play by name: `agents.bargaining.bargain`).
    discounts: (d1, d2), each in (0, 1]; pie: its size (shares are fractions of it).
    max_periods: the game stops without agreement after this many offers.
    rng: seed or numpy Generator handed to the players through the state.
    """

    def __init__(
        self,
        players: Sequence[Any],
        discounts: tuple[float, float],
        *,
        pie: float = 1.0,
        max_periods: int = 500,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        if len(players) != 2:
            raise ValueError(f"alternating offers needs two players (got {len(players)})")
        d = tuple(float(x) for x in discounts)
        if len(d) != 2 or not all(0.0 < x <= 1.0 for x in d):
            raise ValueError(f"discount factors must be two numbers in (0, 1] (got {discounts})")
        if max_periods < 1:
            raise ValueError(f"max_periods must be at least 1 (got {max_periods})")
        self.players = [_strategy(p) for p in players]
        for p in self.players:
            p.reset()
        self.discounts: tuple[float, float] = (d[0], d[1])
        self.pie = float(pie)
        self.max_periods = int(max_periods)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.period = 0
        self.offers: list[Offer] = []
        self.responses: list[Response] = []
        self.result: Agreement | None = None

    def state(self, player: int) -> BargainingState:
        """The immutable view `player` (0 or 1) has now."""
        return BargainingState(
            period=self.period,
            me=player,
            proposer=self.period % 2,
            discounts=self.discounts,
            pie=self.pie,
            history=tuple(self.offers),
            rng=self.rng,
        )

    def step(self, action: Offer | Response | None = None) -> Agreement | None:
        """One period: the proposer offers, the responder answers. `action` replaces one move of
        this period (an Offer for the proposer's, a Response for the responder's). Returns the
        Agreement once the game is over, else None."""
        if self.result is not None:
            return self.result
        t = self.period
        proposer, responder = t % 2, 1 - t % 2
        if isinstance(action, Offer):
            offer = Offer(t, proposer, action.share, action.reason)
        else:
            offer = self.players[proposer].propose(self.state(proposer))
            offer = Offer(t, proposer, offer.share, offer.reason)  # the rules fix period, proposer
        if not 0.0 <= offer.share <= 1.0:
            raise ValueError(f"period {t}: share {offer.share} is not a fraction of the pie")
        self.offers.append(offer)
        if isinstance(action, Response):
            response = action
        else:
            response = self.players[responder].respond(self.state(responder), offer)
        self.responses.append(response)
        if response.accept:
            shares = (offer.share_of(0), offer.share_of(1))
            payoffs = (shares[0] * self.discounts[0] ** t, shares[1] * self.discounts[1] ** t)
            self.result = Agreement(t, shares, payoffs, tuple(self.offers), tuple(self.responses))
        elif t + 1 >= self.max_periods:
            self.result = Agreement(
                None, (0.0, 0.0), (0.0, 0.0), tuple(self.offers), tuple(self.responses)
            )
        self.period = t + 1
        return self.result

    def run(self) -> Agreement:
        """Play until agreement or `max_periods`."""
        while self.result is None:
            self.step()
        return self.result


def bargain(
    player1: Any,
    player2: Any,
    d1: float,
    d2: float,
    *,
    max_periods: int = 500,
    rng: int | np.random.Generator | None = 0,
) -> Agreement:
    """Play one game of alternating offers (player 1 proposes first) and return its end."""
    return AlternatingOffers([player1, player2], (d1, d2), max_periods=max_periods, rng=rng).run()


def _strategy(player: Any) -> Any:
    if isinstance(player, str):
        raise TypeError(
            f"{player!r} is a strategy's name: play by name with agents.bargaining.bargain, or "
            f'build it with agents.make_strategy({player!r}, "bargainer")'
        )
    if not (hasattr(player, "propose") and hasattr(player, "respond")):
        raise TypeError(
            f"{player!r} cannot bargain: it needs propose(state) and respond(state, offer)"
        )
    return player

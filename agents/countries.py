"""Country strategies: how an invited actor answers the package on the table.

Each strategy reads the forecast gain of joining on the package as tabled and accepts, rejects
or names a counter-proposal (see `negotiation.rules.protocol`): the one worth most to it among those
the members are expected to agree to. Thresholds are fractions of the actor's stake, so the
same strategy behaves alike for Singapore and for the United States.
"""

from __future__ import annotations

from agents.base import Strategy
from agents.views import CountryView
from negotiation.rules.types import Action, Decision, Reason


class CountryStrategy(Strategy):
    classifier = {"role": "country", "stochastic": False, "memory": 0, "lookahead": False}

    def respond(self, view: CountryView) -> Decision:
        raise NotImplementedError

    # Shared rule: accept if the gain at the package as tabled clears `threshold` (a fraction of
    # the stake); otherwise name the counter-proposal worth most among those the members are
    # expected to agree to that clear it (negotiation.rules.protocol.best_counter); otherwise
    # reject.
    @staticmethod
    def answer(view: CountryView, threshold: float, note: str = "") -> Decision:
        need = threshold * view.stake + view.switch_cost
        proposed = view.gains[1.0]
        # Nobody signs a package that changes nothing for them, whatever its reservation: a
        # willingness to pay for a deal is for a deal that does something. Nothing is less than
        # a millionth of the stake a year (the markets clear to a tolerance: two packages that
        # differ in nothing can differ by a few dollars once demand or capacity has moved).
        if all(abs(v) <= 1e-6 * view.stake for g in view.gains.values() for v in g.deltas.values()):
            nothing = dict.fromkeys(proposed.deltas, 0.0)  # below the markets' tolerance
            return Decision(Action.REJECT, Reason(nothing, need), 1.0, "nothing on offer")
        if proposed.total >= need:
            return Decision(Action.ACCEPT, Reason(proposed.deltas, need), 1.0, note)
        o = view.best_counter(need)
        if o is not None:
            return Decision(
                Action.COUNTER, Reason(o.gain.deltas, need), o.scale, note, o.terms, o.label
            )
        return Decision(Action.REJECT, Reason(proposed.deltas, need), 1.0, note)


class Myopic(CountryStrategy):
    """Myopic best response: join exactly when joining pays this round."""

    name = "myopic"
    defaults = {"threshold": 0.0}

    def respond(self, view: CountryView) -> Decision:
        return self.answer(view, self.params["threshold"])


class FixedReservation(CountryStrategy):
    """Join only if the gain is at least a fixed reservation (fraction of the stake)."""

    name = "fixed"
    defaults = {"reservation": 0.01}

    def respond(self, view: CountryView) -> Decision:
        return self.answer(view, self.params["reservation"])


class TimeDependent(CountryStrategy):
    """A concession schedule (Faratin et al. 1998): the required gain falls from `aspiration` to
    `reservation` as the deadline nears, following (t/T)**(1/e). e < 1 concedes late (Boulware),
    e > 1 concedes early (Conceder). T is the track's deadline, or `horizon` rounds where the
    track has none."""

    name = "time-dependent"
    defaults = {"aspiration": 0.02, "reservation": 0.0, "e": 1.0, "horizon": 12}

    def threshold(self, view: CountryView) -> float:
        horizon = view.deadline if view.deadline else self.params["horizon"]
        t = min(1.0, view.elapsed / max(horizon, 1))
        p = self.params
        return p["aspiration"] - (p["aspiration"] - p["reservation"]) * t ** (1.0 / p["e"])

    def respond(self, view: CountryView) -> Decision:
        return self.answer(view, self.threshold(view), note=f"asks {self.threshold(view):+.1%}")


class Boulware(TimeDependent):
    name = "boulware"
    defaults = {**TimeDependent.defaults, "e": 0.2}


class Conceder(TimeDependent):
    name = "conceder"
    defaults = {**TimeDependent.defaults, "e": 3.0}


class Reciprocal(CountryStrategy):
    """Reciprocity: tolerant while partners hold together, demanding after a defection.

    Accepts a gain of at least -`tolerance` (0 by default: no loss) when no member left the bloc
    in the previous `memory` rounds, and asks for `margin` after one did; under a deadline the
    margin it asks falls in proportion to the time left, to nothing at the deadline.
    """

    name = "reciprocal"
    classifier = {**CountryStrategy.classifier, "memory": 3}
    defaults = {"tolerance": 0.0, "margin": 0.01, "memory": 3}

    def respond(self, view: CountryView) -> Decision:
        since = view.round - int(self.params["memory"])
        # A defection is a partner walking out of the bloc; a country declining to join was
        # never a partner (Singapore's standing refusal is no betrayal).
        defections = [
            (r, a)
            for r, a, kind in view.history
            if r >= since and kind == "left" and a != view.actor
        ]
        if defections:
            # A deadline wears the demand down: the margin falls to nothing by the deadline.
            margin = self.params["margin"]
            note = "after a defection"
            if view.deadline:
                margin *= max(0.0, 1.0 - view.elapsed / view.deadline)
                note += f", {view.deadline - view.elapsed} round(s) before its deadline"
            return self.answer(view, margin, note=note)
        return self.answer(view, -self.params["tolerance"], note="partners hold together")


class RandomCountry(CountryStrategy):
    """Accepts with probability `p` whatever the gain: a test opponent and a null model."""

    name = "random"
    classifier = {**CountryStrategy.classifier, "stochastic": True}
    defaults = {"p": 0.5}

    def respond(self, view: CountryView) -> Decision:
        reason = view.gains[1.0]
        action = Action.ACCEPT if view.rng.random() < self.params["p"] else Action.REJECT
        return Decision(action, reason, 1.0, "at random")

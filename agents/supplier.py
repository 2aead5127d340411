"""Strategies of the dominant supplier: what it does each round to the bloc and its markets."""

from __future__ import annotations

from agents.base import Strategy
from agents.views import SupplierView
from negotiation.rules.types import SupplierAction, SupplierMove


class SupplierStrategy(Strategy):
    classifier = {"role": "supplier", "stochastic": False, "memory": 0, "lookahead": False}

    def act(self, view: SupplierView) -> SupplierMove:
        raise NotImplementedError


def dominated(view: SupplierView, threshold: float) -> tuple[str, ...]:
    """Minerals where the supplier's share of world supply is at least `threshold`."""
    return tuple(m for m in view.minerals if view.supplier_share[m] >= threshold)


def floored(view: SupplierView) -> tuple[str, ...]:
    return tuple(m for m in view.minerals if view.floors.get(m, 0.0) > 0)


class Passive(SupplierStrategy):
    """Normal supply: sells what pays at the market price."""

    name = "passive"

    def act(self, view: SupplierView) -> SupplierMove:
        return SupplierMove(SupplierAction.NORMAL, reason="sells normally")


class Flood(SupplierStrategy):
    """Floods every floored mineral it supplies with extra volume, to make floors expensive."""

    name = "flood"
    defaults = {"min_share": 0.2, "volume": 0.3}

    def act(self, view: SupplierView) -> SupplierMove:
        targets = tuple(
            m for m in floored(view) if view.supplier_share[m] >= self.params["min_share"]
        )
        if not view.members or not targets:
            return SupplierMove(SupplierAction.NORMAL, reason="nothing to flood")
        intensity = self.params["volume"] * view.aggressiveness * 2
        return SupplierMove(
            SupplierAction.FLOOD,
            targets,
            intensity,
            reason=f"floods {', '.join(targets)} to sink the world price under the floors",
        )


class ExportControls(SupplierStrategy):
    """Withholds exports to members in the minerals it dominates (like the December 2024 ban on
    gallium and germanium to the US): membership becomes costlier, the supplier loses the sales."""

    name = "export-controls"
    defaults = {"min_share": 0.5}

    def act(self, view: SupplierView) -> SupplierMove:
        targets = dominated(view, self.params["min_share"])
        if not view.members or not targets:
            return SupplierMove(SupplierAction.NORMAL, reason="no member to target")
        return SupplierMove(
            SupplierAction.EXPORT_CONTROLS,
            targets,
            view.aggressiveness,
            reason=f"bans exports of {', '.join(targets)} to members",
        )


class BlanketControls(SupplierStrategy):
    """Licenses exports to every foreign buyer in the minerals it dominates (like the August 2023
    gallium and germanium licensing): everyone who depends on it pays, members and outsiders."""

    name = "blanket-controls"
    defaults = {"min_share": 0.5}

    def act(self, view: SupplierView) -> SupplierMove:
        targets = dominated(view, self.params["min_share"])
        if not targets:
            return SupplierMove(SupplierAction.NORMAL, reason="nothing it dominates")
        return SupplierMove(
            SupplierAction.EXPORT_CONTROLS,
            targets,
            view.aggressiveness,
            target="all",
            reason=f"licenses exports of {', '.join(targets)} to every foreign buyer",
        )


class SideOffers(SupplierStrategy):
    """Offers the least committed member (the thinnest gain from staying, as a share of its
    stake) a payment, made only if it leaves, worth its gain from staying plus a premium; never
    more than the supplier's budget."""

    name = "side-offers"
    defaults = {"premium": 0.01}

    def act(self, view: SupplierView) -> SupplierMove:
        if not view.members:
            return SupplierMove(SupplierAction.NORMAL, reason="no bloc to pry apart")
        # Ties (members who have just joined have no margin yet; members alike in every way,
        # whose margins differ only by rounding: shares equal to nine places) go to the largest
        # stake: the one whose leaving costs the bloc most, whatever the countries are called.
        target = min(
            view.members,
            key=lambda a: (
                round(view.margins.get(a, 0.0) / max(view.stakes[a], 1), 9),
                -view.stakes[a],
                a,
            ),
        )
        premium = self.params["premium"] * view.stakes[target] * (0.5 + view.aggressiveness)
        offer = min(max(view.margins.get(target, 0.0), 0.0) + premium, view.budget)
        return SupplierMove(
            SupplierAction.SIDE_OFFER,
            target=target,
            offer=offer,
            intensity=view.aggressiveness,
            reason=f"offers {target} discounts worth ${offer / 1e9:.2f}bn a year to leave",
        )


class Adaptive(SupplierStrategy):
    """Looks one round ahead: forecasts each option against the bloc (normal, flood, export
    controls aimed at members, side offer), including how members would react, and picks the
    one worth most to it. Blanket controls are not among them: against buyers whose demand is
    inelastic in the short run, restricting all exports pays a dominant supplier every round
    (the optimal export tax), which a one-round look ahead cannot weigh against rivals' entry
    years later; scenarios schedule them as shocks, or use the blanket-controls strategy."""

    name = "adaptive"
    classifier = {**SupplierStrategy.classifier, "lookahead": True}

    def __init__(self, **params: float) -> None:
        super().__init__(**params)
        self.options: tuple[SupplierStrategy, ...] = (
            Passive(),
            Flood(),
            ExportControls(),
            SideOffers(),
        )

    def act(self, view: SupplierView) -> SupplierMove:
        moves = [s.act(view) for s in self.options]
        unique = list({(m.action, m.minerals, m.target): m for m in moves}.values())
        forecasts = view.forecast(unique)
        best = max(forecasts, key=lambda f: (f.utility, -len(f.members_after)))
        left = sorted(view.members - best.members_after)
        why = f"; expects {', '.join(left)} to leave" if left else ""
        return SupplierMove(
            best.move.action,
            best.move.minerals,
            best.move.intensity,
            best.move.target,
            best.move.offer,
            reason=best.move.reason + why,
        )

"""Strategies of the dominant supplier: what it does each round to the bloc and its markets."""

from __future__ import annotations

from agents.base import Strategy
from agents.views import SupplierView
from negotiation.types import SupplierAction, SupplierMove


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
    """Withholds exports aimed at members in the minerals it dominates (the 2023-2025 pattern)."""

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
            reason=f"licenses exports of {', '.join(targets)} to members",
        )


class SideOffers(SupplierStrategy):
    """Offers the least committed member a discount worth more than its gain from staying."""

    name = "side-offers"
    defaults = {"premium": 0.01}

    def act(self, view: SupplierView) -> SupplierMove:
        if not view.members:
            return SupplierMove(SupplierAction.NORMAL, reason="no bloc to pry apart")
        target = min(
            view.members, key=lambda a: (view.margins.get(a, 0.0) / max(view.stakes[a], 1), a)
        )
        offer = max(view.margins.get(target, 0.0), 0.0) + self.params["premium"] * view.stakes[
            target
        ] * (0.5 + view.aggressiveness)
        return SupplierMove(
            SupplierAction.SIDE_OFFER,
            target=target,
            offer=offer,
            intensity=view.aggressiveness,
            reason=f"offers {target} discounts worth ${offer / 1e9:.2f}bn a year to leave",
        )


class Adaptive(SupplierStrategy):
    """Looks one round ahead: forecasts each option (normal, flood, export controls, side offer),
    including how members would react, and picks the one worth most to it."""

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

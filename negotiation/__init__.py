"""Bloc: a critical-minerals trading bloc negotiated by Mesa agents.

    from negotiation import BlocModel, load_scenario
    model = BlocModel(load_scenario("ministerial-2026"), rng=42).run()
    model.rounds_df, model.actors_df, model.events_df

Names are resolved lazily (PEP 562) so that `agents/` can import the bottom layer of this package
(`negotiation.rules`: types, protocol, bargaining) without loading the engine, which imports
`agents/` (`negotiation.engine.model`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["BlocModel", "Scenario", "ScenarioError", "load_scenario", "scenario_names"]

_LAZY = {
    "BlocModel": "negotiation.engine.model",
    "Scenario": "negotiation.engine.scenario",
    "ScenarioError": "negotiation.engine.scenario",
    "load_scenario": "negotiation.engine.scenario",
    "scenario_names": "negotiation.engine.scenario",
}

if TYPE_CHECKING:  # pragma: no cover
    from negotiation.engine.model import BlocModel
    from negotiation.engine.scenario import Scenario, ScenarioError, load_scenario, scenario_names


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'negotiation' has no attribute {name!r}")

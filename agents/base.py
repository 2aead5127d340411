"""The strategy base class, in the style of Axelrod's `Player`.

A strategy is a small class with a display `name`, a `classifier` of tags, and one decision method.
The base class records the constructor arguments, so `clone()`, `reset()` and a readable `repr` come
free. Strategies hold no reference to the model: they see a view (see `agents.views`) each
round, and
draw any randomness from the generator the view carries.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar


class Strategy:
    """Base of country and supplier strategies."""

    name: ClassVar[str] = "strategy"
    #: Tags: "role" ("country" or "supplier"), "stochastic", "memory" (rounds remembered; -1 for
    #: all), "lookahead" (forecasts outcomes of its own options), "human".
    classifier: ClassVar[dict[str, Any]] = {}
    #: Parameters a scenario may set in `strategy_params`, with their defaults.
    defaults: ClassVar[dict[str, float]] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> Strategy:
        obj = super().__new__(cls)
        obj._init_kwargs = dict(kwargs)
        if args:
            raise TypeError(f"{cls.__name__} takes keyword arguments only")
        return obj

    def __init__(self, **params: float) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        self.params = {**self.defaults, **params}
        self.reset()

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """The keyword arguments the strategy was made with (the parameters given, without the
        defaults: a scenario's `strategy_params` for the seat), as a new dict: changing it
        changes nothing in the strategy.

        Returns
        -------
        dict of str to Any
            Parameter name -> value, as passed to the constructor.
        """
        return dict(self._init_kwargs)

    def reset(self) -> None:
        """Forget everything learnt in a run (override to clear memory; call super)."""

    def needs_input(self) -> bool:
        """True while the strategy waits for a decision from outside (a person at a seat)."""
        return False

    def clone(self) -> Strategy:
        """A fresh copy with the same parameters and no memory."""
        return type(self)(**self._init_kwargs)

    def __repr__(self) -> str:
        if not self._init_kwargs:
            return self.name
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self._init_kwargs.items()))
        return f"{self.name}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.__dict__ == copy.copy(other.__dict__)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self._init_kwargs.items()))))

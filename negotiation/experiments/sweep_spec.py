"""Experiment specs for `bloc sweep`: a TOML file validated into frozen objects, and its design.

A spec names a scenario, the parameters to vary (dotted paths into the scenario, as in
`bloc run --set`), a design, replications, a root seed and the metrics to collect:

    title = "Outsider penalty x rare-earth floor"
    scenario = "ministerial-2026"    # a built-in name, or a TOML file (relative to this spec)
    seed = 20260204                  # root seed: each run's seed is spawned from it
    replications = 2
    collect = "end"                  # "end": a runs table; "every_round": a rounds table too
    tables = ["actors", "events"]    # per-round tables beside runs: rounds, actors, events
    metrics = ["final_size", "first_fracture", "mean_world_price", "stockpile_fund"]

    [design]
    kind = "grid"                    # grid | lhs (Latin hypercube) | sobol (Saltelli layout)
                                     # | morris (trajectories; size = r, levels = p)

    [set]                            # fixed values for every run
    "time.rounds" = 6

    [parameters]
    "policy.outsider_penalty" = { range = [0.0, 0.3], steps = 4 }
    "policy.floors.rare_earths" = { values = [90000, 130000] }

    [report]                         # how `bloc sweep report` shows it; changes no run
    heatmap = ["policy.floors.rare_earths", "policy.outsider_penalty"]
    per_mineral = 3                  # per-mineral metric columns shown after the spec's own

Parameters take one of `values = [...]` (a list, any type), `choice = [...]` (categorical),
`range = [start, stop]` with `step` or `steps` (integer bounds default to step 1; float bounds
without steps are continuous), `uniform = [low, high]` or `log_uniform = [low, high]` (continuous;
`steps` makes a grid of them). A grid runs every combination; `lhs` draws `size` points; `sobol`
draws SALib's Saltelli layout (`SALib.sample.sobol.sample`) of base size `size`, a power of 2:
size x (D + 2) points, or size x (2D + 2) with `second_order = true`, so that
`SALib.analyze.sobol` gives valid indices; `morris` draws SALib's Morris trajectories
(`SALib.sample.morris.sample`): `size` = r trajectories of D + 1 points each, every step moving one
parameter by half of its range on a grid of `levels` (even, default 4) levels, so that
`SALib.analyze.morris` gives mu* and sigma. Continuous parameters map the unit sample through
their distribution; finite ones pick a level (level k of n for a unit sample in [k/n, (k+1)/n));
on a Morris grid, the p grid levels are spread evenly over a parameter's n values
(`Param.from_grid`: n = p maps one to one).

Metrics are computed from the run's rounds table over the simulated rounds 1..R (round 0 is the
opening position). Built-ins: `final_size` (members in the last round), `final_members` (their
ids, "+"-joined), `first_fracture` (the first round in which a member left; empty if none),
`mean_world_price` (one column per mineral, USD per tonne), `mean_fiscal_cost` (USD per year),
`supplier_share` (the supplier's share of each mineral's supply in the last round). Any rounds
column also works: `stockpile_fund` is its last value, `bloc_share_lithium:mean` is its mean
(column `mean_bloc_share_lithium`); statistics are final, mean, min, max and sum. Custom
metrics are Python functions of the finished model, `[custom_metrics] column = "module:function"`
(`negotiation.experiments.sweep_custom`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import time
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from negotiation.engine.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioError,
    apply_overrides,
    deep_merge,
    did_you_mean,
    format_validation_error,
    read_toml,
    resolve_raw,
    validate,
)

#: The keys that make a table a parameter (anything else in `[parameters]` nests dotted paths).
KINDS = ("values", "choice", "range", "uniform", "log_uniform")
STATS = ("final", "mean", "min", "max", "sum")
BUILTIN_METRICS = (
    "final_size",
    "final_members",
    "first_fracture",
    "mean_world_price",
    "mean_fiscal_cost",
    "supplier_share",
)
DEFAULT_METRICS = BUILTIN_METRICS
#: Built-in metrics that make one column per mineral (`<name>_<mineral>`).
PER_MINERAL_FAMILIES = ("mean_world_price", "supplier_share")
#: Per-mineral metric columns the report shows by default, after the requested metrics.
PER_MINERAL_METRICS = 3
#: Tables a sweep can write beside `runs`, one row per run and round (events: per event).
EXTRA_TABLES = ("rounds", "actors", "events")
EVENT_COLUMNS = {"round": "int64", "actor": "string", "kind": "string", "text": "string"}
#: Spawn key of the design sampler's seed: a 2-word key, so it never equals a run's (i,).
DESIGN_SPAWN_KEY = (0x5EED, 0xD351)
MAX_RUNS = 50_000_000
#: Columns of the runs table besides the parameters and metrics (a parameter may not be one).
RUNS_COLUMNS = {
    "run_id": "the run's number",
    "point": "the design point's number",
    "replication": "the replication's number",
    "seed": "the run's seed",
    "status": "ok or failed",
    "error": "why a run failed",
}
#: A Morris design's grid levels unless the spec says (`design.levels`; SALib's default).
MORRIS_LEVELS = 4
#: Candidate values checked against the scenario before a sweep (per parameter).
MAX_CANDIDATES = 200


class SpecError(ScenarioError):
    """A spec (or a sweep's options) that cannot be used; `problems` holds one line each."""


# ------------------------------------------------------------------------------------------------
# The spec file


def _number(x: Any) -> int | float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ValueError("must be a number")
    if not math.isfinite(x):
        raise ValueError("must be a finite number")
    return x


Number = Annotated[Any, AfterValidator(_number)]


def _dtype(x: Any) -> str:
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, int):
        return "int"
    if isinstance(x, float):
        return "float"
    if isinstance(x, str):
        return "str"
    return "json"


def common_dtype(values: Sequence[Any]) -> str | None:
    """The one type of a list of values (ints and floats make floats), or None if they mix."""
    kinds = {_dtype(v) for v in values}
    if kinds == {"int", "float"}:
        return "float"
    return kinds.pop() if len(kinds) == 1 else None


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class ParameterSpec(SpecModel):
    """One varied parameter: exactly one of values, choice, range, uniform, log_uniform."""

    values: list[Any] | None = None
    choice: list[Any] | None = None
    range: list[Number] | None = None
    uniform: list[Number] | None = None
    log_uniform: list[Number] | None = None
    step: Number | None = None
    steps: int | None = Field(None, ge=1, le=1_000_000)

    @model_validator(mode="before")
    @classmethod
    def _is_a_table(cls, v: Any) -> Any:
        if not isinstance(v, Mapping):
            raise ValueError(
                "expected a table such as { values = [...] } or { range = [start, stop], "
                "steps = n }; a fixed value goes under [set]"
            )
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ParameterSpec:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if not given:
            raise ValueError(f"give one of {', '.join(KINDS)}")
        if len(given) > 1:
            raise ValueError(f"give only one of {', '.join(KINDS)} (got {' and '.join(given)})")
        kind = given[0]
        problems: list[str] = []
        if kind in ("values", "choice"):
            items = getattr(self, kind)
            if not items:
                problems.append(f"{kind} is empty")
            elif common_dtype(items) is None:
                problems.append(
                    f"{kind} mix types ({', '.join(sorted({_dtype(v) for v in items}))})"
                )
        else:
            lo_hi = getattr(self, kind)
            if len(lo_hi) != 2:
                problems.append(f"{kind} must be [low, high] (got {len(lo_hi)} numbers)")
            else:
                lo, hi = lo_hi
                if not hi > lo:
                    problems.append(f"empty {kind} [{lo}, {hi}]: the end must be above the start")
                elif kind == "log_uniform" and lo <= 0:
                    problems.append("log_uniform bounds must be positive")
                elif self.step is not None and self.step > hi - lo:
                    problems.append(
                        f"step {self.step} is wider than the range [{lo}, {hi}], which would "
                        "hold its start only"
                    )
        if self.step is not None:
            if kind != "range":
                problems.append("step goes with range only")
            elif self.step <= 0:
                problems.append("step must be positive")
            if self.steps is not None:
                problems.append("give step or steps, not both")
        if self.steps is not None and kind not in ("range", "uniform", "log_uniform"):
            problems.append("steps goes with range, uniform or log_uniform")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)


class DesignSpec(SpecModel):
    kind: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    size: int | None = Field(None, ge=1, le=MAX_RUNS)
    second_order: bool = False
    #: Morris only: the grid of levels each parameter is read on (SALib's num_levels, even).
    levels: int | None = Field(None, ge=2, le=1000)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FUNCTION_REF = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*"
)


class CustomMetricSpec(SpecModel):
    """A custom metric: `"module:function"`, or a table with `function` and optionally its
    `dtype` (float, int, bool, string; else learnt from a probe model), `unit` and
    `description` (stored with the column, as every column's)."""

    function: str
    dtype: Literal["float", "int", "bool", "string"] | None = None
    unit: str = ""
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _a_string_is_the_function(cls, v: Any) -> Any:
        return {"function": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _module_colon_function(self) -> CustomMetricSpec:
        if not _FUNCTION_REF.fullmatch(self.function):
            raise ValueError(
                f"{self.function!r} is not module:function (a module's dotted name, a colon, "
                'a function\'s name, as "my_metrics:hold_share")'
            )
        return self


class ReportSpec(SpecModel):
    """`[report]`: how `bloc sweep report` presents the sweep (changing it never affects runs,
    resuming or extending)."""

    heatmap: list[str] | None = Field(None, min_length=2, max_length=2)
    per_mineral: int = Field(PER_MINERAL_METRICS, ge=0, le=1000)
    group: str | None = None  # the parameter distributions and envelopes are grouped by
    series: list[str] = Field(default_factory=list)  # rounds columns drawn as envelopes


class SweepSpec(SpecModel):
    title: str = ""
    scenario: str = DEFAULT_SCENARIO
    seed: int = Field(0, ge=0, le=2**63 - 1)
    replications: int = Field(1, ge=1, le=1_000_000)
    collect: Literal["end", "every_round"] = "end"
    tables: list[Literal["rounds", "actors", "events"]] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_METRICS), min_length=1)
    design: DesignSpec = DesignSpec()
    fixed: dict[str, Any] = Field(default_factory=dict, alias="set")
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    custom_metrics: dict[str, CustomMetricSpec] = Field(default_factory=dict)
    report: ReportSpec = ReportSpec()

    @property
    def extra_tables(self) -> tuple[str, ...]:
        """The per-round tables written beside runs, in a fixed order: `collect = "every_round"`
        is short for `tables = ["rounds"]`."""
        wanted = set(self.tables) | ({"rounds"} if self.collect == "every_round" else set())
        return tuple(t for t in EXTRA_TABLES if t in wanted)

    @model_validator(mode="after")
    def _design_fits(self) -> SweepSpec:
        problems: list[str] = []
        if len(set(self.tables)) != len(self.tables):
            problems.append("tables: a table is named twice")
        heat = self.report.heatmap
        if heat is not None:
            for path in heat:
                if path not in self.parameters:
                    problems.append(
                        f"report.heatmap: {path!r} is not a parameter of this sweep"
                        + did_you_mean(path, list(self.parameters))
                    )
            if heat[0] == heat[1]:
                problems.append("report.heatmap: give two different parameters")
        group = self.report.group
        if group is not None and group not in self.parameters:
            problems.append(
                f"report.group: {group!r} is not a parameter of this sweep"
                + did_you_mean(group, list(self.parameters))
            )
        if self.report.series and "rounds" not in self.extra_tables:
            problems.append(
                "report.series: envelopes need the rounds table: add collect = "
                '"every_round" (or tables = ["rounds"])'
            )
        d = self.design
        params = self.parameters
        if d.kind == "grid":
            if d.size is not None:
                problems.append(
                    "design.size: a grid has no size: it runs every combination of the "
                    "parameters' values (leave size out)"
                )
            for path, p in params.items():
                if _levels(p) is None:
                    problems.append(
                        f"parameters.{path}: a grid needs a finite list of values: add steps = N "
                        f"to the {p.kind}" + (" (or step = d)" if p.kind == "range" else "")
                    )
        else:
            name = {"lhs": "an lhs", "sobol": "a Sobol", "morris": "a Morris"}[d.kind]
            if not params:
                problems.append(f"parameters: {name} design needs at least one parameter")
            if d.size is None:
                what = {
                    "lhs": "the number of points",
                    "sobol": "the base sample N, a power of 2; it runs N x (D + 2) points",
                    "morris": "the number of trajectories r, at least 2; it runs r x (D + 1) "
                    "points",
                }[d.kind]
                problems.append(f"design.size: {name} design needs a size ({what})")
            elif d.kind == "morris" and d.size < 2:
                problems.append(
                    "design.size: a Morris design needs at least 2 trajectories (a parameter's "
                    "sigma needs two elementary effects); 10 to 50 is usual"
                )
            elif d.kind == "sobol" and d.size & (d.size - 1):
                lo = 1 << (d.size.bit_length() - 1)
                problems.append(
                    f"design.size: a Sobol design needs a power of 2 (got {d.size}; "
                    f"try {lo} or {lo * 2})"
                )
        if d.second_order and d.kind != "sobol":
            problems.append("design.second_order: only a Sobol design has second-order indices")
        if d.levels is not None and d.kind != "morris":
            problems.append(
                "design.levels: only a Morris design has levels (a grid takes each parameter's "
                "values or steps)"
            )
        elif d.levels is not None and d.levels % 2:
            problems.append(
                f"design.levels: a Morris design needs an even number of levels (got "
                f"{d.levels}; try {d.levels - 1} or {d.levels + 1}): "
                "each step then moves a parameter by half its levels"
            )
        if d.kind in ("sobol", "morris"):
            name = "a Sobol" if d.kind == "sobol" else "a Morris"
            for path, p in params.items():
                levels = _levels(p)
                if levels is not None and common_dtype(levels) not in ("int", "float"):
                    problems.append(
                        f"parameters.{path}: {name} design needs numeric parameters (this "
                        f"{p.kind} holds {common_dtype(levels) or 'mixed values'}); vary it in a "
                        "grid or lhs design, or fix it under [set]"
                    )
                elif d.kind == "morris" and levels is not None and len(levels) < 2:
                    problems.append(
                        f"parameters.{path}: a Morris design moves every parameter: give it at "
                        "least two values, or fix it under [set]"
                    )
        for name in self.custom_metrics:
            if not _IDENTIFIER.fullmatch(name):
                problems.append(
                    f"custom_metrics: {name!r} is not a usable column name: use letters, digits "
                    "and _ (not starting with a digit), so that df.query and df.NAME can use it"
                )
            elif name in RUNS_COLUMNS or name in self.parameters:
                problems.append(
                    f"custom_metrics.{name}: the runs table already has a column {name!r}"
                )
        for path in params:
            if path in RUNS_COLUMNS:
                problems.append(
                    f"parameters.{path}: the runs table has a column {path!r} of its own "
                    f"({RUNS_COLUMNS[path]}); fix the scenario's {path} under [set], or leave it "
                    "out (a sweep gives every run its own seed)"
                )
        paths = [*params, *self.fixed]
        for a, b in itertools.combinations(paths, 2):
            if a == b or a.startswith(b + ".") or b.startswith(a + "."):
                problems.append(f"parameters: {a!r} and {b!r} set the same scenario value")
        for path in paths:
            if not all(path.split(".")):
                problems.append(f"parameters: {path!r}: empty key in the dotted path")
        if not problems and self.n_points * self.replications > MAX_RUNS:
            problems.append(
                f"replications: {self.n_points:,} points x {self.replications:,} replications is "
                f"more than {MAX_RUNS:,} runs"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def n_points(self) -> int:
        d = self.design
        if d.kind == "grid":
            return math.prod(len(_levels(p) or ()) for p in self.parameters.values())
        if d.kind == "lhs":
            return int(d.size or 0)
        k = len(self.parameters)
        if d.kind == "morris":
            return int(d.size or 0) * (k + 1)
        return int(d.size or 0) * ((2 * k + 2) if d.second_order else (k + 2))


def _flatten_parameters(table: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict:
    """`[parameters]` keys may be quoted paths or nested tables: a table whose values are all
    tables is a step in the path; anything else is a parameter."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        path = (*prefix, str(k))
        if isinstance(v, Mapping) and v and all(isinstance(x, Mapping) for x in v.values()):
            out.update(_flatten_parameters(v, path))
        else:
            out[".".join(path)] = v
    return out


def _flatten_set(table: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict:
    """`[set]` values are leaves: nested tables merge key by key, as in `extends`."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        path = (*prefix, str(k))
        if isinstance(v, Mapping) and v:
            out.update(_flatten_set(v, path))
        else:
            out[".".join(path)] = v
    return out


def parse_spec(data: Mapping[str, Any], origin: str) -> SweepSpec:
    """Validate raw spec data, or raise SpecError with one line per problem."""
    raw = dict(data)
    if isinstance(raw.get("parameters"), Mapping):
        raw["parameters"] = _flatten_parameters(raw["parameters"])
    if isinstance(raw.get("set"), Mapping):
        raw["set"] = _flatten_set(raw["set"])
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as e:
        raise SpecError(format_validation_error(e, origin, SweepSpec)) from None


# ------------------------------------------------------------------------------------------------
# Parameters and designs


def _clean(x: float) -> float:
    """Round away float noise from start + i * step (0.30000000000000004 -> 0.3)."""
    return float(f"{x:.12g}")


def _levels(p: ParameterSpec) -> list[Any] | None:
    """The finite values of a parameter, or None when it is continuous."""
    kind = p.kind
    if kind in ("values", "choice"):
        items = list(getattr(p, kind))
        return [float(v) for v in items] if common_dtype(items) == "float" else items
    lo, hi = getattr(p, kind)
    integer = kind == "range" and isinstance(lo, int) and isinstance(hi, int)
    if kind == "range" and p.step is not None:
        n = int(math.floor((hi - lo) / p.step + 1e-9)) + 1
        if integer and isinstance(p.step, int):
            return [lo + i * p.step for i in range(n)]
        return [_clean(lo + i * p.step) for i in range(n)]
    if p.steps is not None:
        if p.steps == 1:
            return [_clean(math.sqrt(lo * hi)) if kind == "log_uniform" else lo]
        if kind == "log_uniform":
            return [_clean(x) for x in np.geomspace(lo, hi, p.steps)]
        xs = [_clean(x) for x in np.linspace(lo, hi, p.steps)]
        if integer and all(x == int(x) for x in xs):
            return [int(x) for x in xs]
        return xs
    if integer:
        return list(range(lo, hi + 1))
    return None


@dataclass(frozen=True)
class Param:
    """A parameter ready to sample: finite levels, or a continuous (log-)uniform range."""

    path: str
    kind: str
    levels: tuple[Any, ...] | None
    low: float = 0.0
    high: float = 1.0
    log: bool = False

    @classmethod
    def from_spec(cls, path: str, p: ParameterSpec) -> Param:
        levels = _levels(p)
        if levels is not None:
            return cls(path, p.kind, tuple(levels))
        lo, hi = (float(x) for x in getattr(p, p.kind))
        return cls(path, p.kind, None, lo, hi, p.kind == "log_uniform")

    @property
    def dtype(self) -> str:
        """int, float, bool, str or json (lists and tables, stored as JSON text)."""
        return "float" if self.levels is None else (common_dtype(self.levels) or "json")

    @property
    def numeric(self) -> bool:
        return self.dtype in ("int", "float")

    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Map unit samples in [0, 1) to values of this parameter."""
        if self.levels is not None:
            n = len(self.levels)
            idx = np.minimum((np.asarray(u) * n).astype(np.int64), n - 1)
            return [self.levels[i] for i in idx]
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return [float(x) for x in np.exp(lo + np.asarray(u) * (hi - lo))]
        return [float(x) for x in self.low + np.asarray(u) * (self.high - self.low)]

    def from_grid(self, u: np.ndarray) -> list[Any]:
        """Map the points of a Morris grid (k / (p - 1) for k = 0..p-1) to values: a continuous
        parameter as `from_unit`; one with n finite values spreads the p grid levels evenly over
        them (value round(u x (n - 1))), so its first and last values are the grid's ends and
        n = p maps one to one."""
        if self.levels is None:
            return self.from_unit(u)
        n = len(self.levels)
        idx = np.clip(np.rint(np.asarray(u) * (n - 1)).astype(np.int64), 0, n - 1)
        return [self.levels[i] for i in idx]

    def candidates(self) -> list[Any]:
        """Values to check against the scenario before the sweep: the levels, or the bounds."""
        if self.levels is None:
            return [self.low, self.high]
        if len(self.levels) <= MAX_CANDIDATES:
            return list(self.levels)
        return [self.levels[0], self.levels[-1]]


@dataclass(frozen=True)
class Design:
    """The design points (tuples of values, in parameter order) and how they were drawn."""

    kind: str
    params: tuple[Param, ...]
    points: list[tuple[Any, ...]]
    size: int | None = None
    second_order: bool = False
    #: Morris: the number of grid levels, and the unit sample SALib drew (rows: points), which
    #: `SALib.analyze.morris` needs to tell which parameter each step moved, and which way.
    levels: int | None = None
    unit: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(p.path for p in self.params)

    def salib_problem(self) -> dict[str, Any]:
        """The SALib problem the Sobol or Morris layout was drawn for (unit bounds; values are
        mapped)."""
        return {
            "num_vars": len(self.params),
            "names": list(self.paths),
            "bounds": [[0.0, 1.0]] * len(self.params),
        }


def design_rng(root_seed: int) -> np.random.Generator:
    """The sampler's generator: from the root seed, on a stream no run uses."""
    return np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=DESIGN_SPAWN_KEY))


def make_design(spec: SweepSpec) -> Design:
    params = tuple(Param.from_spec(path, p) for path, p in spec.parameters.items())
    d = spec.design
    if d.kind == "grid":
        points = list(itertools.product(*(p.levels or () for p in params)))
        return Design("grid", params, points)
    if d.kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(params), rng=design_rng(spec.seed)).random(d.size)
    elif d.kind == "morris":
        from SALib.sample import morris

        levels = d.levels or MORRIS_LEVELS
        problem = {
            "num_vars": len(params),
            "names": [p.path for p in params],
            "bounds": [[0.0, 1.0]] * len(params),
        }
        unit = morris.sample(problem, d.size, num_levels=levels, seed=design_rng(spec.seed))
        columns = [p.from_grid(unit[:, j]) for j, p in enumerate(params)]
        points = list(zip(*columns))
        return Design("morris", params, points, d.size, levels=levels, unit=unit)
    else:
        from SALib.sample import sobol

        problem = {
            "num_vars": len(params),
            "names": [p.path for p in params],
            "bounds": [[0.0, 1.0]] * len(params),
        }
        unit = sobol.sample(
            problem,
            d.size,
            calc_second_order=d.second_order,
            scramble=True,
            seed=design_rng(spec.seed),
        )
        unit = np.clip(unit, 0.0, np.nextafter(1.0, 0.0))
    columns = [p.from_unit(unit[:, j]) for j, p in enumerate(params)]
    points = list(zip(*columns)) if params else [()] * len(unit)
    return Design(d.kind, params, points, d.size, d.second_order)


# ------------------------------------------------------------------------------------------------
# Metrics


@dataclass(frozen=True)
class Metric:
    """An output column computed from a run's rounds table."""

    name: str
    column: str
    stat: str  # final | mean | min | max | sum | first_fracture | custom (column: module:function)
    dtype: str  # int64 | float64 | bool | string
    family: str | None = None  # mean_world_price or supplier_share: one of a per-mineral set
    unit: str | None = None  # custom metrics: as the spec gives them
    description: str | None = None

    def entry(self) -> dict[str, Any]:
        """Its `metadata.json` entry (unit and description only for a custom metric)."""
        out = dict(self.__dict__)
        if self.stat != "custom":
            del out["unit"], out["description"]
        return out


def column_dtypes(rounds: Any) -> dict[str, str]:
    """Arrow type names of a rounds DataFrame's columns."""
    import pandas as pd

    out = {}
    for c in rounds.columns:
        s = rounds[c]
        if pd.api.types.is_bool_dtype(s):
            out[c] = "bool"
        elif pd.api.types.is_integer_dtype(s):
            out[c] = "int64"
        elif pd.api.types.is_float_dtype(s):
            out[c] = "float64"
        else:
            out[c] = "string"
    return out


def plan_metrics(
    names: Sequence[str], columns: Mapping[str, str], minerals: Sequence[str]
) -> tuple[list[Metric], list[str]]:
    """Metrics for the names in a spec, and one line per name that is not understood."""
    metrics: list[Metric] = []
    problems: list[str] = []
    for name in names:
        col, _, stat = name.partition(":")
        if name == "final_size":
            metrics.append(Metric(name, "n_members", "final", "int64"))
        elif name == "final_members":
            metrics.append(Metric(name, "members", "final", "string"))
        elif name == "first_fracture":
            metrics.append(Metric(name, "members", "first_fracture", "int64"))
        elif name == "mean_world_price":
            metrics += [
                Metric(f"mean_world_price_{m}", f"world_price_{m}", "mean", "float64", name)
                for m in minerals
            ]
        elif name == "mean_fiscal_cost":
            metrics.append(Metric(name, "fiscal_cost", "mean", "float64"))
        elif name == "supplier_share":
            metrics += [
                Metric(f"supplier_share_{m}", f"supplier_share_{m}", "final", "float64", name)
                for m in minerals
            ]
        elif col not in columns:
            problems.append(
                f"metrics: unknown metric {name!r}"
                + did_you_mean(col, [*BUILTIN_METRICS, *columns])
                + f"; built-in: {', '.join(BUILTIN_METRICS)}, or any rounds column"
                " (optionally column:mean, :min, :max, :sum or :final)"
            )
        elif stat and stat not in STATS:
            problems.append(
                f"metrics: {name!r}: unknown statistic {stat!r}"
                + did_you_mean(stat, STATS)
                + f"; use {', '.join(STATS)}"
            )
        elif stat and stat != "final" and columns[col] == "string":
            problems.append(f"metrics: {name!r}: {col} holds text; only {col}:final applies")
        elif not stat:
            metrics.append(Metric(col, col, "final", columns[col]))
        else:
            dtype = columns[col] if stat == "final" else "float64"
            metrics.append(Metric(f"{stat}_{col}", col, stat, dtype))
    unique: dict[str, Metric] = {}
    for m in metrics:
        unique.setdefault(m.name, m)
    return list(unique.values()), problems


def compute_metrics(metrics: Sequence[Metric], rounds: Any) -> dict[str, Any]:
    """The metrics of one run from its rounds table (round 0 = the opening, excluded from
    statistics over rounds)."""
    out: dict[str, Any] = {}
    body = rounds.iloc[1:] if len(rounds) > 1 else rounds
    for m in metrics:
        if m.stat == "custom":  # computed from the model (`sweep_custom.compute`)
            continue
        if m.stat == "final":
            v = rounds[m.column].iloc[-1]
            out[m.name] = v.item() if hasattr(v, "item") else v
        elif m.stat == "first_fracture":
            out[m.name] = first_fracture(rounds["round"].tolist(), rounds["members"].tolist())
        else:
            x = body[m.column].to_numpy(dtype=float)
            out[m.name] = float(getattr(np, m.stat)(x))
    return out


def first_fracture(rounds: Sequence[int], members: Sequence[str]) -> int | None:
    """The first round in which a member of the round before is no longer a member."""
    prev = set(str(members[0]).split("+")) - {""}
    for r, s in zip(rounds[1:], members[1:]):
        cur = set(str(s).split("+")) - {""}
        if prev - cur:
            return int(r)
        prev = cur
    return None


# ------------------------------------------------------------------------------------------------
# Scenario paths


def _strip_annotated(ann: Any) -> Any:
    while typing.get_origin(ann) is Annotated:
        ann = typing.get_args(ann)[0]
    return ann


def _union_args(ann: Any) -> tuple[Any, ...]:
    ann = _strip_annotated(ann)
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return tuple(_strip_annotated(a) for a in typing.get_args(ann))
    return (ann,)


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def path_problem(path: str, raw: Mapping[str, Any], root: type[BaseModel] = Scenario) -> str | None:
    """Why `path` does not name a value of the scenario, or None if it does.

    Walks the scenario's pydantic fields: a model needs a known field; a table of models
    (actors, minerals) needs an existing key; a table of numbers (floors) takes a new key, which
    the scenario's own validation then checks; a list of models (the agenda's tracks, shocks)
    takes the number of an existing entry (`agenda.tracks.0.partner_weight`)."""
    keys = path.split(".")
    ann: Any = root
    node: Any = raw
    for depth, key in enumerate(keys):
        here = ".".join(keys[:depth]) or "the scenario"
        options = _union_args(ann)
        model = next((a for a in options if _is_model(a)), None)
        table = next((a for a in options if typing.get_origin(a) is dict), None)
        items = [a for a in options if typing.get_origin(a) in (tuple, list)]
        item = _strip_annotated(typing.get_args(items[0])[0]) if items else None
        if model is None and table is None and _is_model(item):
            entries = list(node) if isinstance(node, list | tuple) else []
            if not key.isdigit():
                return f"{here} is a list: name an entry by its number ({here}.0...)"
            if int(key) >= len(entries):
                return f"{here} has no entry {key} (it has {len(entries)}, from 0)"
            ann, node = item, entries[int(key)]
            continue
        if model is not None and (table is None or not isinstance(node, Mapping)):
            fields = model.model_fields
            if key not in fields:
                return f"{key!r} is not a field of {here}" + did_you_mean(key, fields)
            ann = fields[key].annotation
        elif table is not None:
            value_ann = _strip_annotated(typing.get_args(table)[1])
            present = list(node) if isinstance(node, Mapping) else []
            if key not in present and any(_is_model(a) for a in _union_args(value_ann)):
                return (
                    f"{here} has no {key!r}"
                    + did_you_mean(key, present)
                    + (f"; it has {', '.join(present)}" if present else "")
                )
            ann = value_ann
        else:
            kind = "a list" if typing.get_origin(_strip_annotated(ann)) in (tuple, list) else None
            return f"{here} is {kind or 'a single value'}, not a table: set it whole"
        node = node.get(key) if isinstance(node, Mapping) else None
    return None


# ------------------------------------------------------------------------------------------------
# Binding a spec to its scenario


def scenario_with(raw: Mapping[str, Any], path: str, overrides: Mapping[str, Any]) -> Scenario:
    """What `load_scenario(path, overrides)` returns, from the scenario's already-resolved raw
    data (no file access, so a remote worker needs only the data)."""
    data = apply_overrides(dict(raw), overrides, path) if overrides else deep_merge({}, raw)
    data.setdefault("meta", {})
    if isinstance(data["meta"], dict):
        data["meta"] = {"name": Path(path).stem, **data["meta"]}
    return validate(data, path)


def resolve_scenario_ref(ref: str, spec_path: Path) -> str:
    """A scenario named in a spec: a file path is relative to the spec's folder (if it exists
    there), else a built-in name or a path as given."""
    if ref.endswith(".toml") or "/" in ref:
        beside = (spec_path.parent / ref).resolve()
        if not Path(ref).is_absolute() and beside.is_file():
            return str(beside)
    return ref


@dataclass(frozen=True)
class Plan:
    """A validated spec bound to its scenario: everything a sweep needs before running."""

    spec: SweepSpec
    spec_path: str
    spec_text: str
    spec_sha256: str
    scenario_ref: str
    scenario_path: str
    scenario_raw: dict[str, Any]
    scenario_sha256: str
    scenario_name: str
    minerals: tuple[str, ...]
    design: Design
    metrics: tuple[Metric, ...]
    columns: dict[str, str]  # rounds columns -> arrow type names
    round_columns: tuple[str, ...]  # written to the rounds table (every rounds column)
    seconds_per_run: float  # a rough estimate, to size batches
    warnings: tuple[str, ...] = field(default=())
    #: The per-round tables written beside runs ("rounds", "actors", "events").
    tables: tuple[str, ...] = ()
    actor_columns: dict[str, str] = field(default_factory=dict)  # actors columns -> arrow types
    #: Folders put first on the Python path to import custom metrics (the spec's folder).
    import_paths: tuple[str, ...] = ()

    @property
    def n_runs(self) -> int:
        return self.design.n_points * self.spec.replications

    @property
    def fixed(self) -> dict[str, Any]:
        return dict(self.spec.fixed)

    def overrides(self, point: Sequence[Any]) -> dict[str, Any]:
        return {**self.spec.fixed, **dict(zip(self.design.paths, point))}


def _about(problem: str, path: str) -> str | None:
    """The message of a scenario problem about the value at `path` (or below it), else None.

    Scenario problems read `FILE: field.path: message` or `--set field.path: message`."""
    m = re.search(rf"(?:^|\s){re.escape(path)}(?:\.[\w.]+)?: (.*)$", problem)
    return m.group(1) if m else None


def _attribute(
    problem: str, origin: str, sections: Mapping[str, str], values: Mapping[str, Any]
) -> str:
    """Rephrase a scenario problem about an overridden value as a problem of the spec."""
    for path, section in sections.items():
        msg = _about(problem, path)
        if msg is not None:
            return (
                f"{origin}: {section}.{path}: {values[path]!r} is rejected by the scenario: {msg}"
            )
    point = ", ".join(f"{k} = {v!r}" for k, v in values.items())
    return f"{origin}: the point ({point}) makes the scenario invalid: {problem}"


def _rejection(raw: Mapping[str, Any], scen_path: str, values: Mapping[str, Any]) -> str | None:
    """Why the scenario with these overrides is invalid (its first problem), or None."""
    try:
        scenario_with(raw, scen_path, values)
    except ScenarioError as e:
        return e.problems[0]
    return None


def check_values(
    spec: SweepSpec, raw: Mapping[str, Any], scen_path: str, origin: str
) -> tuple[list[str], list[str], dict[str, Any]]:
    """Check every parameter's values against the scenario before the design is drawn, so that
    the outcome never depends on the seed. Returns (problems, warnings, probe point).

    Each value is tried alone, with the `[set]` values and the scenario's own values for the
    other parameters. A range (`range`, `uniform`, `log_uniform`) whose start or end the
    scenario rejects is a problem: it reaches past one of the scenario's bounds, and a share of
    its runs would fail. A rejected value in a list (`values`, `choice`) gives a warning (its
    runs are recorded as failed), unless every value is rejected. The probe point holds each
    parameter's first accepted value: `load_spec` checks it as a whole and times a model on it."""
    problems: list[str] = []
    warnings: list[str] = []
    probe: dict[str, Any] = {}
    fixed = dict(spec.fixed)
    sections = {p: "set" for p in fixed}
    why = _rejection(raw, scen_path, fixed)
    if why is not None:
        return [_attribute(why, origin, sections, fixed)], [], {}
    for path, p in spec.parameters.items():
        param = Param.from_spec(path, p)
        candidates = param.candidates()
        ends = (
            (candidates[0], candidates[-1]) if p.kind in ("range", "uniform", "log_uniform") else ()
        )
        accepted: list[Any] = []
        rejected: list[tuple[Any, str]] = []
        for value in candidates:
            why = _rejection(raw, scen_path, {**fixed, path: value})
            if why is None:
                accepted.append(value)
            else:
                rejected.append((value, _about(why, path) or why))
        beyond = [(v, msg) for v, msg in rejected if v in ends]
        if beyond:
            value, msg = beyond[0]
            low, high = getattr(p, p.kind)
            end = "start" if value == ends[0] else "end"
            problems.append(
                f"{origin}: parameters.{path}: {p.kind} [{low}, {high}] goes past the "
                f"scenario's bound at its {end}: {msg}; keep the {p.kind} within the bound"
            )
        elif rejected and not accepted:
            value, msg = rejected[0]
            more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
            problems.append(
                f"{origin}: parameters.{path}: no value is accepted by the scenario: "
                f"{value!r} is rejected: {msg}{more}"
            )
        else:
            warnings += [
                f"{origin}: parameters.{path}: {value!r} is rejected by the scenario ({msg}); "
                "runs with it will be recorded as failed"
                for value, msg in rejected
            ]
            probe[path] = accepted[0]
    return problems, warnings, probe


def load_spec(spec_path: str | Path) -> Plan:
    """Read, validate and bind a spec, or raise SpecError listing every problem.

    Checks, before the design is drawn and any run: the spec's own fields; every parameter path
    against the scenario (with "did you mean"); every parameter's values, or a range's start and
    end, through the scenario's validation (see `check_values`: a range past a bound is an
    error, whatever the seed); the metrics against the rounds table of a real model. Values of
    a list that the scenario rejects give warnings (their runs will be recorded as failed)."""
    path = Path(spec_path)
    origin = str(spec_path)
    data = read_toml(path)
    spec_text = path.read_text(encoding="utf-8")
    spec = parse_spec(data, origin)
    return bind_spec(spec, path, spec_text, origin)


def bind_spec(spec: SweepSpec, path: Path, spec_text: str = "", origin: str | None = None) -> Plan:
    """Bind a parsed spec to its scenario, as `load_spec` does for a file, or raise SpecError.

    `path` is where the spec stands: a scenario file it names, and custom metrics' modules, are
    looked up beside it (`negotiation.experiments.ema` binds specs made in Python with a path in the
    working directory). `origin` begins every problem's line (default: `path`)."""
    origin = str(path) if origin is None else origin
    ref = resolve_scenario_ref(spec.scenario, path)
    try:
        raw, scen_file = resolve_raw(ref)
    except ScenarioError as e:
        raise SpecError([f"{origin}: scenario: {p}" for p in e.problems]) from None
    scen_path = str(scen_file)

    problems: list[str] = []
    sections = {**{p: "parameters" for p in spec.parameters}, **{p: "set" for p in spec.fixed}}
    for p, section in sections.items():
        why = path_problem(p, raw)
        if why:
            problems.append(f"{origin}: {section}.{p}: unknown scenario path: {why}")
    if problems:
        raise SpecError(problems)

    problems, warnings, probe_point = check_values(spec, raw, scen_path, origin)
    if problems:
        raise SpecError(problems)
    design = make_design(spec)
    values = {**spec.fixed, **probe_point}
    try:
        scenario = scenario_with(raw, scen_path, values)
    except ScenarioError as e:
        raise SpecError([_attribute(p, origin, sections, values) for p in e.problems]) from None

    from negotiation.engine.model import BlocModel

    try:
        probe = BlocModel(scenario, rng=0)  # the first model of a process may compile code
        t0 = time.perf_counter()
        timed = BlocModel(scenario, rng=1)
        t1 = time.perf_counter()
        timed.step()
        t2 = time.perf_counter()
    except Exception as e:  # the engine refuses the probe point: nothing can run
        point = ", ".join(f"{k} = {v!r}" for k, v in values.items())
        raise SpecError([f"{origin}: the point ({point}) cannot run: {one_line(e)}"]) from None
    seconds = (t1 - t0) + scenario.time.rounds * (t2 - t1)
    columns = column_dtypes(probe.rounds_df)
    metrics, metric_problems = plan_metrics(spec.metrics, columns, scenario.mineral_ids)
    if metric_problems:
        raise SpecError([f"{origin}: {p}" for p in metric_problems])
    import_paths = (str(path.resolve().parent),) if spec.custom_metrics else ()
    if spec.custom_metrics:
        from negotiation.experiments import sweep_custom

        clash = [
            f"{origin}: custom_metrics.{name}: a metric of the spec's metrics list is already "
            f"named {name!r}"
            for name in spec.custom_metrics
            if name in {m.name for m in metrics}
        ]
        dtypes, custom_problems = sweep_custom.probe(spec.custom_metrics, timed, import_paths)
        if clash or custom_problems:
            raise SpecError(clash + [f"{origin}: {p}" for p in custom_problems])
        metrics += [
            Metric(name, c.function, "custom", dtypes[name], None, c.unit, c.description)
            for name, c in spec.custom_metrics.items()
        ]
    numeric_columns = [c for c, t in columns.items() if t != "string" and c != "round"]
    series_problems = [
        f"{origin}: report.series: {c!r} is not a numeric rounds column"
        + did_you_mean(c, numeric_columns)
        for c in spec.report.series
        if c not in numeric_columns
    ]  # fmt: skip
    if series_problems:
        raise SpecError(series_problems)
    tables = spec.extra_tables
    round_columns: tuple[str, ...] = ()
    if "rounds" in tables:  # every column: what a researcher plots is rarely what metrics used
        round_columns = tuple(c for c in columns if c != "round")
    actor_columns = column_dtypes(probe.actors_df) if "actors" in tables else {}

    raw_json = json.dumps(raw, sort_keys=True, default=str)
    return Plan(
        spec=spec,
        spec_path=origin,
        spec_text=spec_text,
        spec_sha256=hashlib.sha256(spec_text.encode()).hexdigest(),
        scenario_ref=spec.scenario,
        scenario_path=scen_path,
        scenario_raw=raw,
        scenario_sha256=hashlib.sha256(raw_json.encode()).hexdigest(),
        scenario_name=scenario.meta.name,
        minerals=tuple(scenario.mineral_ids),
        design=design,
        metrics=tuple(metrics),
        columns=columns,
        round_columns=round_columns,
        seconds_per_run=seconds,
        warnings=tuple(warnings),
        tables=tables,
        actor_columns=actor_columns,
        import_paths=import_paths,
    )


def one_line(e: BaseException) -> str:
    """An exception as one line: type, message, and where it was raised."""
    import traceback

    msg = "; ".join(e.problems) if isinstance(e, ScenarioError) else str(e)
    msg = " | ".join(line.strip() for line in msg.splitlines() if line.strip())
    text = f"{type(e).__name__}: {msg}" if msg else type(e).__name__
    tb = traceback.extract_tb(e.__traceback__) if e.__traceback__ else []
    if tb and not isinstance(e, ScenarioError):
        frame = tb[-1]
        where = "/".join(Path(frame.filename).parts[-2:])
        text += f" (at {where}:{frame.lineno} in {frame.name})"
    return text[:2000]

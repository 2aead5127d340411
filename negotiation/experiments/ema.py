"""The model as an EMA Workbench model: its samplers, evaluators and analysis on Bloc's runs.

    from ema_workbench import SequentialEvaluator
    from negotiation.experiments import ema

    model = ema.bloc_model(
        "ministerial-2026",
        uncertainties=[ema.real("supplier.aggressiveness", 0.0, 1.0)],
        levers=[ema.real("policy.outsider_penalty", 0.0, 0.3),
                ema.categorical("policy.instrument", ["border", "price_gap"])],
        fixed={"time.rounds": 6},
        seed=20260204,
    )
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=8, policies=2)

Uncertainties and levers are scenario paths, as a sweep spec's parameters: `real`, `integer`
and `categorical` make EMA's RealParameter, IntegerParameter and CategoricalParameter with the
path as the `variable_name` and a Python identifier as the name (`query_name`: each "." as
"__", so `policy__outsider_penalty` is the experiments' column, as in
`query_names(load(DIR).runs)`). Any EMA parameter whose variable name is a path works too
(from a scipy distribution as well, if bounded). The model is checked as a spec is, before
anything runs (`negotiation.experiments.sweep_spec.bind_spec`): an unknown path ("did you mean"), a
range whose low or high end the scenario rejects, a category it rejects, an unknown metric: a
`ValueError` (`EMAModelError`) with one line per problem, naming the parameter and the bound.
Every value must be accepted, where a sweep only warns of a rejected value of a list and
records its runs as failed: EMA cannot record a failed run (an exception in a run stops
`perform_experiments`), so a run that fails raises, naming its point and seed.

Outcomes are the sweep's metrics, the same names computed by the same code
(`negotiation.experiments.sweep.run_batch`): `final_size`, `first_fracture`,
`mean_world_price_<mineral>`,
`mean_fiscal_cost`, `supplier_share_<mineral>` by default, or any `metrics` a spec takes, and
`custom_metrics` (`module:function`). An empty value is NaN, so `first_fracture` (and a custom
metric of integers or true/false) is a float outcome; text (`final_members`) is a
`TextOutcome` (Python strings): not among the defaults, since EMA's feature scoring and PRIM
want numbers.

Seeds. A run's seed is the one `bloc sweep` gives the same run: spawned from the root seed
(`seed`) with the point's values and the replication number, `point_seed(seed,
point_key(paths, values), replication)` (`negotiation.experiments.sweep`), computed in the run from
the experiment's values. So a point evaluated through EMA, with the same root seed, `[set]`
values (`fixed`) and varied paths (uncertainties and levers together: the point key is over
the paths that vary) equals the same point of `bloc sweep`, to the last bit, whatever the
sampler or evaluator. The replication is the EMA constant `replication` (0 by default:
`bloc sweep`'s first); `replications=n` makes a `ReplicatorModel` running replications
0..n-1 of each experiment, each outcome aggregated over them (`mean_of_values` by default:
the mean over the runs with a value, as `bloc sweep report` averages a design point).
`run_seeds(model, experiments)` gives each experiment's seed, to rerun it alone:
`BlocModel(load_scenario(name, overrides), rng=seed)`.

`from_spec(path)` makes the model of a sweep spec (its scenario, `[set]`, parameters,
metrics, custom metrics, root seed and replications) and `design_scenarios(path)` its design
points as EMA samples: evaluated through EMA, they give `bloc sweep`'s numbers.

Evaluators: the model (its function a `BlocRun`, holding the scenario as data) pickles, so
EMA's SequentialEvaluator, MultiprocessingEvaluator, MPIEvaluator (with mpi4py) and
IpyparallelEvaluator (with ipyparallel) run it; workers need bloc importable.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

with warnings.catch_warnings():  # EMA warns of optional parts missing (ipyparallel, mpi4py)
    warnings.simplefilter("ignore")
    from ema_workbench import (
        CategoricalParameter,
        Constant,
        IntegerParameter,
        Model,
        RealParameter,
        ReplicatorModel,
        ScalarOutcome,
    )
    from ema_workbench.em_framework.outcomes import Outcome
    from ema_workbench.em_framework.parameters import Parameter
    from ema_workbench.em_framework.points import Sample
    from ema_workbench.util import EMAError

from negotiation.engine.scenario import DEFAULT_SCENARIO
from negotiation.experiments.sweep import RunContext, point_key, point_seed, query_name, run_batch
from negotiation.experiments.sweep_spec import (
    BUILTIN_METRICS,
    Metric,
    Plan,
    SpecError,
    bind_spec,
    load_spec,
    parse_spec,
)

__all__ = [
    "METRICS",
    "BlocRun",
    "EMAModelError",
    "TextOutcome",
    "bloc_model",
    "categorical",
    "design_scenarios",
    "ema_name",
    "from_spec",
    "integer",
    "mean_of_values",
    "most_common",
    "real",
    "run_seeds",
]

#: The default outcomes: the sweep's built-in metrics that are numbers (not `final_members`).
METRICS = tuple(m for m in BUILTIN_METRICS if m != "final_members")
#: EMA's constant (and ReplicatorModel's key) holding a run's replication number.
REPLICATION = "replication"
#: The parameter classes as the messages name them.
_CLASS = {
    "real": "RealParameter",
    "integer": "IntegerParameter",
    "categorical": "CategoricalParameter",
}


class EMAModelError(SpecError, ValueError):
    """A model that cannot be built: `problems` holds one line each (also a ValueError)."""


# ------------------------------------------------------------------------------------------------
# Parameters: scenario paths


def ema_name(path: str) -> str:
    """The EMA name of a scenario path: a Python identifier (EMA 3 asks for one), each "." as
    "__" as `negotiation.experiments.sweep.query_name` does (`policy.outsider_penalty` ->
    `policy__outsider_penalty`)."""
    name = re.sub(r"\W", "_", query_name(path))
    return name if name.isidentifier() else f"_{name}"


def real(path: str, low: float, high: float, **kwargs: Any) -> RealParameter:
    """A real parameter at a scenario path (`kwargs`: EMA's, as `default` or `resolution`)."""
    return RealParameter(ema_name(path), low, high, variable_name=path, **kwargs)


def integer(path: str, low: int, high: int, **kwargs: Any) -> IntegerParameter:
    """An integer parameter at a scenario path, low and high included."""
    return IntegerParameter(ema_name(path), low, high, variable_name=path, **kwargs)


def categorical(path: str, values: Sequence[Any], **kwargs: Any) -> CategoricalParameter:
    """A categorical parameter at a scenario path: the values a run may take (text, numbers,
    true/false)."""
    return CategoricalParameter(ema_name(path), list(values), variable_name=path, **kwargs)


def _kind(p: Parameter) -> str:
    if isinstance(p, CategoricalParameter):  # BooleanParameter too
        return "categorical"
    return "integer" if isinstance(p, IntegerParameter) else "real"


def _path(p: Any, role: str) -> tuple[str | None, str | None]:
    """The scenario path an EMA parameter sets, or why it cannot be used."""
    if not isinstance(p, Parameter):
        return None, (
            f"{role} {p!r}: not an EMA parameter; make one with "
            "negotiation.experiments.ema.real, integer or categorical"
            " (a scenario path and its range or values)"
        )
    names = list(p.variable_name)
    where = f"{role} {p.name}"
    if len(names) != 1:
        return None, f"{where}: sets {len(names)} variables; give one scenario path"
    if getattr(p, "shape", None) is not None:
        return None, f"{where}: has a shape; a scenario path takes one value"
    if getattr(p, "multivalue", False):
        return None, f"{where}: is multivalue; a scenario path takes one value"
    return str(names[0]), None


def _spec_entry(p: Parameter, kind: str) -> tuple[dict[str, Any] | None, str | None]:
    """The sweep spec's form of an EMA parameter (what `check_values` checks)."""
    if kind == "categorical":
        return {"values": [_native(c.value) for c in p.categories]}, None
    low, high = _native(p.lower_bound), _native(p.upper_bound)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None, (
            f"its distribution is unbounded ([{low}, {high}]), so the scenario's bounds "
            "cannot be checked: truncate it"
        )
    if kind == "integer":
        low, high = int(low), int(high)
        return ({"values": [low]} if low == high else {"range": [low, high]}), None
    low, high = float(low), float(high)
    return ({"values": [low]} if low == high else {"uniform": [low, high]}), None


def _native(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


# ------------------------------------------------------------------------------------------------
# Outcomes


class TextOutcome(Outcome):
    """A text outcome (`final_members`: the members' ids, "+"-joined), one Python string per
    experiment in an object array. (EMA's ScalarOutcome takes numbers only, and an outcome
    without a dtype would be stored as NumPy text as wide as the first experiment's value.)"""

    def __init__(self, name: str, function: Callable[..., Any] | None = None):
        super().__init__(name, function=function, shape=(), dtype=object)

    def process(self, values: list[Any]) -> Any:
        value = super().process(values)
        if value is not None and not isinstance(value, str):
            raise EMAError(f"outcome {self.name} should be text, but is {type(value)}: {value}")
        return value

    @classmethod
    def to_disk(cls, values: np.ndarray) -> tuple[Any, str]:
        return ScalarOutcome.to_disk(values)

    @classmethod
    def from_disk(cls, filename: str, archive: Any) -> np.ndarray:
        f = archive.extractfile(filename)
        values = pd.read_csv(f, index_col=False, header=None, dtype=str, keep_default_na=False)
        values = values.to_numpy(object)  # "" stays "" (an empty bloc), not NaN
        return np.reshape(values, (values.shape[0],))


def mean_of_values(values: Sequence[Any]) -> float:
    """The mean of a replicated outcome over the runs with a value (not NaN); NaN if none."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    return float(x.mean()) if len(x) else math.nan


def most_common(values: Sequence[Any]) -> Any:
    """The most frequent value of a replicated text outcome (of ties, the first seen)."""
    return Counter(values).most_common(1)[0][0]


def _empty_is_nan(m: Metric) -> bool:
    """Metrics that may be empty in a successful run: EMA gets NaN, so they are floats."""
    return m.stat in ("first_fracture", "custom") and m.dtype != "string"


def _outcome(m: Metric, aggregate: Callable | None, text: Callable | None) -> Outcome:
    if m.dtype == "string":
        return TextOutcome(m.name, function=text)
    return ScalarOutcome(m.name, function=aggregate)


# ------------------------------------------------------------------------------------------------
# Running a point


@dataclass(frozen=True)
class BlocRun:
    """The EMA model's function: one run of the scenario at an experiment's values, with the
    seed `bloc sweep` gives that point and replication; returns the metrics.

    Called with the experiment's variables by scenario path (and `replication`). Picklable:
    it holds the scenario as data, as a sweep's workers get it."""

    ctx: RunContext
    root_seed: int
    kinds: tuple[str, ...]  # per path: real, integer or categorical
    #: Paths of the design with one value (a spec's parameter with one level): not EMA's
    pinned: tuple[tuple[str, Any], ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        return self.ctx.paths

    def values(self, experiment: Mapping[str, Any]) -> tuple[Any, ...]:
        """The point's values in path order, as Python values of each parameter's type."""
        experiment = {**experiment, **dict(self.pinned)}
        unknown = sorted(set(experiment) - set(self.paths))
        missing = [p for p in self.paths if p not in experiment]
        if unknown or missing:
            raise ValueError(
                "this Bloc model was built for the paths "
                + ", ".join(self.paths or ("(none)",))
                + (f"; it got {', '.join(unknown)}" if unknown else "")
                + (f"; it misses {', '.join(missing)}" if missing else "")
                + ": build another with negotiation.experiments.ema.bloc_model to vary other paths"
            )
        out = []
        for path, kind in zip(self.paths, self.kinds):
            v = _native(experiment[path])
            if kind == "real":
                v = float(v)
            elif kind == "integer":
                if isinstance(v, float) and not v.is_integer():
                    raise ValueError(f"{path}: {v!r} is not an integer")
                v = int(v)
            out.append(v)
        return tuple(out)

    def seed(self, values: Sequence[Any], replication: int = 0) -> int:
        """The run's seed: `bloc sweep`'s for this point and replication."""
        return point_seed(self.root_seed, point_key(self.paths, values), int(replication))

    def __call__(self, **experiment: Any) -> dict[str, Any]:
        replication = int(_native(experiment.pop(REPLICATION, 0)))
        values = self.values(experiment)
        seed = self.seed(values, replication)
        (row,), _ = run_batch([(0, 0, replication, seed, values)], self.ctx)
        if row["status"] != "ok":
            point = ", ".join(f"{p} = {v!r}" for p, v in zip(self.paths, values))
            raise RuntimeError(
                f"the run at ({point}), replication {replication}, seed {seed} failed: "
                f"{row['error']}"
            )
        out: dict[str, Any] = {}
        for m in self.ctx.metrics:
            v = row[m.name]
            if m.dtype != "string" and (v is None or _empty_is_nan(m)):
                v = math.nan if v is None else float(v)
            out[m.name] = v
        return out


# ------------------------------------------------------------------------------------------------
# Building the model


def _rephrase(line: str, origin: str, where: Mapping[str, tuple[str, str]]) -> str:
    """A sweep spec's problem line in the words of the EMA model."""
    for path, (role, kind) in where.items():
        spec_kind = {"real": "uniform", "integer": "range", "categorical": "values"}[kind]
        line = line.replace(f"{origin}: parameters.{path}: ", f"{origin}: {role} {path}: ")
        line = line.replace(f": {role} {path}: {spec_kind} [", f": {role} {path}: {_CLASS[kind]} [")
        line = line.replace(f"keep the {spec_kind} within", "keep it within")
    line = line.replace(f"{origin}: set.", f"{origin}: fixed ")
    line = line.replace("under [set]", "in fixed=")
    return line.replace(
        "; runs with it will be recorded as failed",
        ": a run cannot fail in EMA (it stops perform_experiments), so every value must be "
        "accepted",
    )


def _make(
    plan: Plan,
    params: Mapping[str, tuple[str, Parameter]],
    *,
    replication: int,
    replications: int | Sequence[int] | None,
    aggregate: Callable[[Sequence[Any]], Any],
    name: str,
    pinned: Mapping[str, Any] | None = None,
) -> Model | ReplicatorModel:
    kinds = tuple(_kind(params[p][1]) if p in params else "categorical" for p in plan.design.paths)
    run = BlocRun(RunContext.of(plan), plan.spec.seed, kinds, tuple((pinned or {}).items()))
    if replications is None:
        model = Model(name, function=run)
        model.constants = [Constant(REPLICATION, int(replication))]
        model.outcomes = [_outcome(m, None, None) for m in plan.metrics]
    else:
        reps = list(range(replications)) if isinstance(replications, int) else list(replications)
        if not reps:
            raise EMAModelError([f"replications: {replications!r} holds no replication"])
        model = ReplicatorModel(name, function=run)
        model.replications = [{REPLICATION: int(r)} for r in reps]
        model.outcomes = [_outcome(m, aggregate, most_common) for m in plan.metrics]
    model.uncertainties = [p for role, p in params.values() if role == "uncertainty"]
    model.levers = [p for role, p in params.values() if role == "lever"]
    return model


def bloc_model(
    scenario: str | Path = DEFAULT_SCENARIO,
    uncertainties: Iterable[Parameter] = (),
    levers: Iterable[Parameter] = (),
    *,
    fixed: Mapping[str, Any] | None = None,
    metrics: Sequence[str] = METRICS,
    custom_metrics: Mapping[str, Any] | None = None,
    seed: int = 0,
    replication: int = 0,
    replications: int | Sequence[int] | None = None,
    aggregate: Callable[[Sequence[Any]], Any] = mean_of_values,
    name: str = "bloc",
) -> Model | ReplicatorModel:
    """An EMA model of a scenario (a built-in name or a TOML file) whose uncertainties and
    levers are scenario paths (`real`, `integer`, `categorical`, or EMA parameters with a path
    as variable name) and whose outcomes are the sweep's metrics.

    fixed: `[set]` values for every run (`{"time.rounds": 6}`). metrics, custom_metrics: as a
    sweep spec's (`{"name": "module:function"}`; modules looked up in the working directory,
    then on the Python path). seed: the root seed, as a spec's `seed`. replication: the
    replication every run is (an EMA constant of the model); replications: instead, run each
    experiment for these replications (an int n: 0..n-1) as a ReplicatorModel, outcomes
    `aggregate`d over them (text ones: `most_common`).

    Raises EMAModelError (a ValueError) with one line per problem before anything runs."""
    origin = f"ema model {name!r}"
    params: dict[str, tuple[str, Parameter]] = {}
    entries: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    names: dict[str, str] = {}
    for role, group in (("uncertainty", uncertainties), ("lever", levers)):
        for p in group:
            path, why = _path(p, role)
            if why is not None or path is None:
                problems.append(f"{origin}: {why}")
                continue
            if path in params:
                problems.append(f"{origin}: {role} {path}: the path is varied twice")
                continue
            if p.name in names:
                problems.append(
                    f"{origin}: {role} {path}: the name {p.name!r} is taken by {names[p.name]}"
                )
                continue
            names[p.name] = path
            entry, why = _spec_entry(p, _kind(p))
            if why is not None or entry is None:
                problems.append(f"{origin}: {role} {path}: {why}")
                continue
            params[path] = (role, p)
            entries[path] = entry
    for path in params:
        if path == REPLICATION:
            problems.append(
                f"{origin}: {params[path][0]} {path}: the replication is not a scenario path: "
                "give replication= or replications="
            )
    if problems:
        raise EMAModelError(problems)
    data = {
        "scenario": str(scenario),
        "seed": seed,
        "metrics": list(metrics),
        "set": dict(fixed or {}),
        "parameters": entries,
        "custom_metrics": dict(custom_metrics or {}),
        "design": {"kind": "lhs", "size": 1} if entries else {"kind": "grid"},
    }
    where = {path: (role, _kind(p)) for path, (role, p) in params.items()}
    try:
        spec = parse_spec(data, origin)
        plan = bind_spec(spec, Path.cwd() / "ema-model", origin=origin)
    except SpecError as e:
        raise EMAModelError([_rephrase(line, origin, where) for line in e.problems]) from None
    if plan.warnings:
        raise EMAModelError([_rephrase(line, origin, where) for line in plan.warnings])
    return _make(
        plan,
        params,
        replication=replication,
        replications=replications,
        aggregate=aggregate,
        name=name,
    )


# ------------------------------------------------------------------------------------------------
# Sweep specs


def _parameter(param: Any) -> Parameter:
    """The EMA parameter of a spec's parameter (`negotiation.experiments.sweep_spec.Param`) of more
    than one value: continuous -> RealParameter (log_uniform: a scipy loguniform distribution),
    integers from low to high by 1 -> IntegerParameter, any other list of values ->
    CategoricalParameter of them."""
    path, name = param.path, ema_name(param.path)
    if param.levels is None:
        if param.log:
            from scipy import stats

            dist = stats.loguniform(param.low, param.high)
            return RealParameter.from_dist(name, dist, variable_name=path)
        return real(path, param.low, param.high)
    levels = list(param.levels)
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in levels)
    if ints and levels == list(range(levels[0], levels[-1] + 1)):
        return integer(path, levels[0], levels[-1])
    return categorical(path, levels)


def from_spec(
    spec: str | Path | Plan,
    *,
    levers: Iterable[str] = (),
    replications: int | Sequence[int] | None = None,
    aggregate: Callable[[Sequence[Any]], Any] = mean_of_values,
    name: str = "bloc",
) -> Model | ReplicatorModel:
    """The EMA model of a sweep spec (a file, or a `load_spec` plan): its scenario, `[set]`
    values, metrics, custom metrics and root seed; its parameters as uncertainties (those
    named in `levers` as levers) with the spec's ranges and values; its replications
    (`replications` overrides: one replication makes a plain Model, of replication 0).

    The spec is checked as `bloc sweep` checks it (SpecError), and a value of a list that the
    scenario rejects is an error here (EMAModelError): EMA cannot record a failed run."""
    plan = spec if isinstance(spec, Plan) else load_spec(spec)
    origin = plan.spec_path
    if plan.warnings:
        where = {p.path: ("uncertainty", "categorical") for p in plan.design.params}
        raise EMAModelError([_rephrase(line, origin, where) for line in plan.warnings])
    levers = set(levers)
    unknown = sorted(levers - set(plan.design.paths))
    if unknown:
        raise EMAModelError(
            [f"{origin}: levers: {p!r} is not a parameter of the spec" for p in unknown]
        )
    params: dict[str, tuple[str, Parameter]] = {}
    pinned: dict[str, Any] = {}  # one value: EMA has no parameter of one category
    for param in plan.design.params:
        if param.levels is not None and len(param.levels) == 1:
            pinned[param.path] = param.levels[0]
        else:
            role = "lever" if param.path in levers else "uncertainty"
            params[param.path] = (role, _parameter(param))
    reps = replications
    if reps is None and plan.spec.replications > 1:
        reps = plan.spec.replications
    return _make(
        plan,
        params,
        replication=0,
        replications=reps,
        aggregate=aggregate,
        name=name,
        pinned=pinned,
    )


def design_scenarios(spec: str | Path | Plan) -> list[Sample]:
    """A spec's design points as EMA samples, named by point number, to pass as `scenarios`
    to the spec's model (`from_spec`, without levers): `bloc sweep`'s design through EMA."""
    plan = spec if isinstance(spec, Plan) else load_spec(spec)
    params = [p for p in plan.design.params if p.levels is None or len(p.levels) > 1]
    index = [plan.design.paths.index(p.path) for p in params]
    return [
        Sample(str(i), **{ema_name(p.path): point[j] for p, j in zip(params, index)})
        for i, point in enumerate(plan.design.points)
    ]


# ------------------------------------------------------------------------------------------------
# Seeds of finished experiments


def run_seeds(
    model: Model | ReplicatorModel, experiments: pd.DataFrame, replication: int | None = None
) -> pd.Series:
    """Each experiment's run seed (`bloc sweep`'s for its point and replication), to rerun it
    alone: `BlocModel(load_scenario(scenario, overrides), rng=seed)`. `replication`: by
    default the model's constant (a ReplicatorModel needs it given)."""
    run = model.function
    if not isinstance(run, BlocRun):
        raise ValueError(f"{model.name} is not a Bloc model (made by negotiation.experiments.ema)")
    consts = {c.name: c for c in model.constants}
    if replication is None:
        if REPLICATION not in consts:
            raise ValueError("give the replication: this model runs several of each experiment")
        replication = int(consts[REPLICATION].value)
    columns = {
        p.variable_name[0]: experiments[p.name].tolist()
        for p in [*model.uncertainties, *model.levers]
    }
    seeds = [
        run.seed(run.values({p: v[i] for p, v in columns.items()}), replication)
        for i in range(len(experiments))
    ]
    return pd.Series(seeds, index=experiments.index, name="seed", dtype="int64")

"""Scenario files: TOML validated into frozen pydantic objects.

A scenario says what world the run is in: minerals, actors, the opening policy, the agenda, the
supplier's behaviour and a schedule of shocks. Units are fixed across the project: quantities in
tonnes per year, prices in USD per tonne, money in USD (per year for flows), time in rounds whose
length in days the scenario sets.

`load_scenario(name_or_path)` resolves `extends = "other"` chains, applies `--set` overrides and
validates. Errors are collected into a `ScenarioError` whose lines each name the file, the field
path
and what is wrong.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from negotiation.types import COMPONENTS, Instrument

#: Largest magnitude accepted for any number in a scenario (guards against absurd values).
ABSURD = 1e15

SCENARIO_DIRS: list[Path] = [
    Path(__file__).resolve().parent.parent / "scenarios",  # a source checkout
    Path(__file__).resolve().parent / "_scenarios",  # an installed wheel
]
DEFAULT_SCENARIO = "ministerial-2026"


class ScenarioError(Exception):
    """A scenario (or spec) that cannot be used. `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    if abs(v) > ABSURD:
        raise ValueError(f"{v:g} is absurdly large (limit {ABSURD:g})")
    return v


Money = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Quantity = Annotated[float, Field(ge=0)]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @field_validator("*", mode="after")
    @classmethod
    def _numbers_are_sane(cls, v: Any) -> Any:
        if isinstance(v, float):
            return _finite(v)
        if isinstance(v, Mapping):
            for x in v.values():
                if isinstance(x, float):
                    _finite(x)
        return v


class About(Frozen):
    what_is_it: str = ""
    how_it_works: str = ""
    things_to_notice: str = ""
    things_to_try: str = ""


class Meta(Frozen):
    name: str
    title: str
    summary: str
    about: About = About()
    sources: tuple[str, ...] = ()
    headline: str = ""  # the claim the scenario's About promises, checked by a test


class Time(Frozen):
    round_days: int = Field(30, ge=1, le=3650, description="length of a round in days")
    rounds: int = Field(36, ge=1, le=10_000, description="number of rounds in a run")


class Mineral(Frozen):
    name: str
    unit: str = "t"
    reference_price: float = Field(gt=0, description="USD per tonne, 2024")
    demand: float = Field(gt=0, description="world demand at the reference price, t per year")
    elasticity: float = Field(-0.3, lt=0, ge=-5, description="price elasticity of demand")
    fringe_capacity: Quantity = Field(description="rest-of-world producers' capacity, t per year")
    fringe_cost: float = Field(gt=0, description="rest-of-world unit cost, USD per tonne")
    supply_spread: float = Field(
        0.5, gt=0, le=5, description="cost spread of a producer's ramp, as a fraction of its cost"
    )
    source: str = ""


class Weights(Frozen):
    producer_surplus: float = Field(1.0, ge=0, le=100)
    consumer_cost: float = Field(1.0, ge=0, le=100)
    tariff_revenue: float = Field(1.0, ge=0, le=100)
    fiscal_outlay: float = Field(1.0, ge=0, le=100)
    supply_security: float = Field(1.0, ge=0, le=100)
    openness: float = Field(1.0, ge=0, le=100)
    retaliation: float = Field(1.0, ge=0, le=100)

    def vector(self) -> tuple[float, ...]:
        return tuple(getattr(self, c) for c in COMPONENTS)


class Actor(Frozen):
    name: str
    role: Literal["country", "supplier"] = "country"
    strategy: str = "myopic"
    strategy_params: dict[str, float] = {}
    patience: int = Field(3, ge=0, le=1000, description="rounds a member tolerates a loss")
    production: dict[str, Quantity] = {}  # t per year capacity
    unit_cost: dict[str, Annotated[float, Field(gt=0)]] = {}  # USD per tonne
    consumption: dict[str, Quantity] = {}  # t per year at the reference price
    exposure: dict[str, Share] = {}  # share of consumption sourced from the supplier
    risk_premium: float = Field(
        0.3, ge=0, le=10, description="cost of a supplier-dependent tonne, fraction of its value"
    )
    openness_value: Money = Field(0.0, description="hub business exposed to discrimination, USD/yr")
    fiscal_capacity: Money = Field(1e10, description="USD per year it can spend on floors")
    weights: Weights = Weights()
    sources: dict[str, str] = {}


class Policy(Frozen):
    instrument: Instrument = Instrument.BORDER
    floors: dict[str, Money] = {}  # USD per tonne; absent = no floor
    outsider_penalty: float = Field(0.05, ge=0, le=2)
    cost_sharing: Literal["consumption", "equal"] | dict[str, Money] = "consumption"
    stockpile_fund: Money = Field(2e9, description="USD available to buy at the floor")
    initial_members: tuple[str, ...] = ()


class Track(Frozen):
    name: str
    parties: tuple[str, ...]
    convener: str | None = None
    proposer: Literal["convener", "rotation"] = "convener"
    start_round: int = Field(1, ge=1)
    deadline_round: int | None = Field(None, ge=1)
    end_round: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _rounds_in_order(self) -> Track:
        if self.end_round is not None and self.end_round < self.start_round:
            raise ValueError("end_round is before start_round")
        if self.convener is not None and self.convener not in self.parties:
            raise ValueError(f"convener {self.convener!r} is not one of the parties")
        return self


class Agenda(Frozen):
    tracks: tuple[Track, ...] = ()
    open_accession: bool = Field(True, description="outsiders who would gain may join any round")


class Supplier(Frozen):
    actor: str = "supplier"
    strategy: str = "adaptive"
    aggressiveness: float = Field(0.5, ge=0, le=1)
    strategic_weight: float = Field(
        0.5, ge=0, le=100, description="value it puts on keeping the bloc small, per unit of share"
    )


class Shock(Frozen):
    kind: Literal["export_control", "flood", "demand"]
    mineral: str
    start_round: int = Field(ge=1)
    duration: int = Field(0, ge=0, description="rounds; 0 = until the end")
    magnitude: float = Field(0.5, ge=-0.9, le=5)
    note: str = ""


class Investment(Frozen):
    lag_days: int = Field(730, ge=0, le=36500, description="from decision to new capacity")
    rate: float = Field(0.15, ge=0, le=5, description="capacity growth per year per unit margin")
    credibility_threshold: float = Field(0.5, ge=0, le=1)


class LeverChange(Frozen):
    """Live levers changed from a given round on (how the app's mid-run changes are replayed)."""

    round: int = Field(ge=1)
    floors: dict[str, Money] | None = None
    instrument: Instrument | None = None
    penalty: float | None = Field(None, ge=0, le=2)
    cost_sharing: Literal["consumption", "equal"] | dict[str, Money] | None = None
    supplier_strategy: str | None = None
    aggressiveness: float | None = Field(None, ge=0, le=1)
    strategies: dict[str, str] | None = None
    weights: dict[str, dict[str, Annotated[float, Field(ge=0, le=100)]]] | None = None
    patience: dict[str, Annotated[int, Field(ge=0, le=1000)]] | None = None

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude={"round"}).items() if v is not None}


class Scenario(Frozen):
    meta: Meta
    time: Time = Time()
    minerals: dict[str, Mineral]
    actors: dict[str, Actor]
    policy: Policy = Policy()
    agenda: Agenda = Agenda()
    supplier: Supplier = Supplier()
    shocks: tuple[Shock, ...] = ()
    investment: Investment = Investment()
    levers: tuple[LeverChange, ...] = ()
    seed: int | None = Field(None, ge=0, description="seed used by `bloc run` without --seed")
    extends: str | None = None

    @model_validator(mode="after")
    def _references_exist(self) -> Scenario:
        problems: list[str] = []
        minerals, actors = set(self.minerals), set(self.actors)
        if not minerals:
            problems.append("minerals: at least one mineral is needed")
        for aid, actor in self.actors.items():
            for table in ("production", "unit_cost", "consumption", "exposure"):
                for m in getattr(actor, table):
                    if m not in minerals:
                        problems.append(
                            f"actors.{aid}.{table}.{m}: mineral {m!r} is not defined"
                            + _did_you_mean(m, minerals)
                        )
            for m in actor.production:
                if actor.production[m] > 0 and m not in actor.unit_cost:
                    problems.append(f"actors.{aid}.unit_cost.{m}: missing for a produced mineral")
        for m in self.policy.floors:
            if m not in minerals:
                problems.append(
                    f"policy.floors.{m}: mineral {m!r} is not defined" + _did_you_mean(m, minerals)
                )
        for a in self.policy.initial_members:
            if a not in actors:
                problems.append(
                    f"policy.initial_members: actor {a!r} is not defined" + _did_you_mean(a, actors)
                )
        if isinstance(self.policy.cost_sharing, dict):
            for a in self.policy.cost_sharing:
                if a not in actors:
                    problems.append(
                        f"policy.cost_sharing.{a}: actor {a!r} is not defined"
                        + _did_you_mean(a, actors)
                    )
        for i, track in enumerate(self.agenda.tracks):
            for a in track.parties:
                if a not in actors:
                    problems.append(
                        f"agenda.tracks.{i}.parties: actor {a!r} is not defined"
                        + _did_you_mean(a, actors)
                    )
            if track.start_round > self.time.rounds:
                problems.append(
                    f"agenda.tracks.{i}.start_round: {track.start_round} is after the last round "
                    f"({self.time.rounds})"
                )
        if self.supplier.actor not in actors:
            problems.append(
                f"supplier.actor: actor {self.supplier.actor!r} is not defined"
                + _did_you_mean(self.supplier.actor, actors)
            )
        elif self.actors[self.supplier.actor].role != "supplier":
            problems.append(
                f"actors.{self.supplier.actor}.role: the supplier must have role 'supplier'"
            )
        if self.supplier.actor in self.policy.initial_members:
            problems.append("policy.initial_members: the supplier cannot start inside the bloc")
        for i, change in enumerate(self.levers):
            for m in change.floors or {}:
                if m not in minerals:
                    problems.append(
                        f"levers.{i}.floors.{m}: mineral {m!r} is not defined"
                        + _did_you_mean(m, minerals)
                    )
            for table in ("weights", "patience", "strategies"):
                for a in getattr(change, table) or {}:
                    if a not in actors:
                        problems.append(
                            f"levers.{i}.{table}.{a}: actor {a!r} is not defined"
                            + _did_you_mean(a, actors)
                        )
        problems.extend(self._strategy_problems())
        for i, shock in enumerate(self.shocks):
            if shock.mineral not in minerals:
                problems.append(
                    f"shocks.{i}.mineral: mineral {shock.mineral!r} is not defined"
                    + _did_you_mean(shock.mineral, minerals)
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _strategy_problems(self) -> list[str]:
        from agents import COUNTRY_STRATEGIES, SUPPLIER_STRATEGIES

        problems = []
        for aid, actor in self.actors.items():
            if actor.role == "supplier":
                continue
            cls = COUNTRY_STRATEGIES.get(actor.strategy)
            if cls is None:
                problems.append(
                    f"actors.{aid}.strategy: unknown country strategy {actor.strategy!r}"
                    + _did_you_mean(actor.strategy, COUNTRY_STRATEGIES)
                    + f"; known: {', '.join(sorted(COUNTRY_STRATEGIES))}"
                )
                continue
            for p in actor.strategy_params:
                if p not in cls.defaults:
                    problems.append(
                        f"actors.{aid}.strategy_params.{p}: not a parameter of {actor.strategy!r}"
                        + _did_you_mean(p, cls.defaults)
                    )
        if self.supplier.strategy not in SUPPLIER_STRATEGIES:
            problems.append(
                f"supplier.strategy: unknown supplier strategy {self.supplier.strategy!r}"
                + _did_you_mean(self.supplier.strategy, SUPPLIER_STRATEGIES)
                + f"; known: {', '.join(sorted(SUPPLIER_STRATEGIES))}"
            )
        return problems

    # Convenience views used by the engine ------------------------------------------------------
    @property
    def mineral_ids(self) -> tuple[str, ...]:
        return tuple(self.minerals)

    @property
    def actor_ids(self) -> tuple[str, ...]:
        return tuple(self.actors)

    @property
    def country_ids(self) -> tuple[str, ...]:
        return tuple(a for a, x in self.actors.items() if x.role == "country")

    @property
    def round_years(self) -> float:
        return self.time.round_days / 365.0


# ------------------------------------------------------------------------------------------------
# Loading


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def scenario_names() -> list[str]:
    """Names of the built-in scenarios (files under scenarios/, validation configs excluded)."""
    names: set[str] = set()
    for d in SCENARIO_DIRS:
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


def find_scenario_file(name_or_path: str | Path) -> Path:
    """A path as given, or a built-in scenario by name (with or without `.toml`)."""
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.exists():
        return p
    if p.exists() and p.is_file():
        return p
    stem = p.stem if p.suffix == ".toml" else str(name_or_path)
    for d in SCENARIO_DIRS:
        for candidate in (d / f"{stem}.toml", d / "validation" / f"{stem}.toml"):
            if candidate.is_file():
                return candidate
    if p.suffix == ".toml" or "/" in str(name_or_path):
        raise ScenarioError([f"{name_or_path}: no such file"])
    raise ScenarioError(
        [
            f"{name_or_path}: no such scenario"
            + _did_you_mean(str(name_or_path), scenario_names())
            + f"; built-in scenarios: {', '.join(scenario_names())}"
        ]
    )


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a one-line ScenarioError."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ScenarioError([f"{path}: cannot read ({e.strerror})"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError([f"{path}: not UTF-8 text (byte {e.start})"]) from None
    if not text.strip():
        raise ScenarioError([f"{path}: the file is empty"])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError([f"{path}: TOML syntax error: {e}"]) from None


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; every other value (arrays included) replaces the base's."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


def resolve_raw(name_or_path: str | Path, _seen: tuple[Path, ...] = ()) -> tuple[dict, Path]:
    """The raw (unvalidated) data of a scenario with its `extends` chain merged in."""
    path = find_scenario_file(name_or_path).resolve()
    if path in _seen:
        chain = " -> ".join(p.stem for p in (*_seen, path))
        raise ScenarioError([f"{_seen[0]}: extends: cycle ({chain})"])
    data = read_toml(path)
    parent = data.get("extends")
    if parent is None:
        return data, path
    if not isinstance(parent, str):
        raise ScenarioError([f"{path}: extends: must be a scenario name or file, not {parent!r}"])
    parent_ref = parent
    if parent.endswith(".toml") and not Path(parent).is_absolute():
        parent_ref = str(path.parent / parent)
    try:
        base, _ = resolve_raw(parent_ref, (*_seen, path))
    except ScenarioError as e:
        if any("cycle" in p for p in e.problems):
            raise
        raise ScenarioError([f"{path}: extends: {p}" for p in e.problems]) from None
    merged = deep_merge(base, data)
    merged.pop("extends", None)
    return merged, path


def parse_value(text: str) -> Any:
    """A `--set` value: parsed as a TOML value when it is one, else kept as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any], origin: str) -> dict:
    """Set dotted paths (`policy.floors.lithium=20000`) in raw scenario data."""
    out = deep_merge({}, data)
    for dotted, value in overrides.items():
        keys = dotted.split(".")
        if not all(keys):
            raise ScenarioError([f"{origin}: --set {dotted}: empty key in the path"])
        node = out
        for k in keys[:-1]:
            child = node.get(k)
            if child is None:
                child = {}
            elif not isinstance(child, dict):
                raise ScenarioError([f"{origin}: --set {dotted}: {k!r} is not a table"])
            node[k] = child = dict(child)
            node = child
        node[keys[-1]] = value
    return out


def validate(data: Mapping[str, Any], origin: str) -> Scenario:
    """Validate raw data into a Scenario, or raise ScenarioError with one line per problem."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as e:
        raise ScenarioError(format_validation_error(e, origin, Scenario)) from None


def format_validation_error(e: ValidationError, origin: str, root: type[BaseModel]) -> list[str]:
    problems: list[str] = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            field = str(err["loc"][-1])
            allowed = _allowed_keys(root, err["loc"][:-1])
            msg = f"unknown key {field!r}" + _did_you_mean(field, allowed)
        elif err["type"] == "value_error" and ("\n" in msg or not loc):
            for line in msg.removeprefix("Value error, ").splitlines():
                problems.append(f"{origin}: {line}")
            continue
        else:
            msg = msg.removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], dict | list):
                msg += f" (got {err['input']!r})"
        problems.append(f"{origin}: {loc or '(top level)'}: {msg}")
    return problems


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the model found by walking `loc` (best effort, for 'did you mean')."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        if part in fields:
            annotation = fields[part].annotation
            current = _model_in(annotation)
        else:
            # a dict of models (actors.us): the value type
            current = current
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _model_in(annotation: Any) -> Any:
    """The BaseModel class inside an annotation like dict[str, Actor] or tuple[Track, ...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def load_scenario(
    name_or_path: str | Path = DEFAULT_SCENARIO, overrides: Mapping[str, Any] | None = None
) -> Scenario:
    """Load a built-in scenario by name, or a TOML file by path, and validate it.

    overrides: dotted paths to values (`{"policy.outsider_penalty": 0.2}`), validated like file
    values.
    """
    data, path = resolve_raw(name_or_path)
    if overrides:
        data = apply_overrides(data, overrides, str(path))
    data.setdefault("meta", {})
    if isinstance(data["meta"], dict):
        data["meta"] = {"name": path.stem, **data["meta"]}
    return validate(data, str(path))


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """Plain data for TOML output (None values dropped, since TOML has no null)."""
    return _drop_none(scenario.model_dump(mode="json", exclude={"extends"}))


def _drop_none(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _drop_none(v) for k, v in x.items() if v is not None}
    if isinstance(x, list):
        return [_drop_none(v) for v in x]
    return x


def scenario_to_toml(scenario: Scenario) -> str:
    """The fully resolved scenario as TOML text that loads back to an equal Scenario."""
    import tomli_w

    return tomli_w.dumps(scenario_to_dict(scenario))

"""Scenario files: TOML validated into frozen pydantic objects.

A scenario says what world the run is in: minerals, actors, the opening policy, the agenda, the
supplier's behaviour and a schedule of shocks. Units are fixed across the project: quantities in
tonnes per year, prices in USD per tonne, money in USD (per year for flows), time in rounds whose
length in days the scenario sets.

`load_scenario(name_or_path)` resolves `extends = "other"` chains, applies `--set` overrides and
validates. Errors are collected into a `ScenarioError` whose lines each name the file (the file of
the `extends` chain that holds the offending value, or `--set`), the field path and what is wrong.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from negotiation.rules.protocol import FLOOR_BAND
from negotiation.rules.types import COMPONENTS, Instrument

#: Largest magnitude accepted for any number in a scenario (guards against absurd values).
ABSURD = 1e15

_HERE = Path(__file__).resolve().parent.parent  # negotiation/
#: Where built-in scenarios live: `scenarios/` of a source checkout (recognised by its
#: pyproject.toml, so that an unrelated `site-packages/scenarios` is never picked up), and the copy
#: an installed wheel carries as `negotiation/_scenarios`. Only top-level files are scenarios;
#: sub-folders (validation/, history/, sweeps/) hold other files.
SCENARIO_DIRS: list[Path] = [
    *([_HERE.parent / "scenarios"] if (_HERE.parent / "pyproject.toml").is_file() else []),
    _HERE / "_scenarios",
]
#: Sub-folders whose files load by bare name (`load_scenario("tin-buffer-stock")`) but are not
#: listed as scenarios: the worlds `bloc check` runs (validation/, history/).
SCENARIO_SUBDIRS: tuple[str, ...] = ("validation", "history")
DEFAULT_SCENARIO = "ministerial-2026"
#: Ids of minerals and actors: they become column names and `--set` path segments.
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
#: Rounds a run can have at most (also bounds every round number in a scenario).
MAX_ROUNDS = 10_000


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


def _alternatives(annotation: Any) -> tuple[Any, ...]:
    """The types an annotation allows: Annotated stripped, unions and Optional unpacked."""
    if typing.get_origin(annotation) is Annotated:
        return _alternatives(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(a for arg in typing.get_args(annotation) for a in _alternatives(arg))
    return (annotation,)


def _numeric(annotation: Any) -> bool:
    return any(a in (int, float) for a in _alternatives(annotation))


def _numeric_table(annotation: Any) -> Any:
    """For a table of numbers (or of tables of numbers), its value annotation; else None."""
    for a in _alternatives(annotation):
        if typing.get_origin(a) is dict:
            value = typing.get_args(a)[1]
            if _numeric(value) or _numeric_table(value) is not None:
                return value
    return None


def _not_a_number(v: Any) -> str | None:
    """Why `v` cannot stand for a number (TOML text or a boolean), or None if it can."""
    if isinstance(v, bool):
        return f"must be a number, not a boolean ({str(v).lower()})"
    if isinstance(v, str):
        return f"must be a number, not text ({v!r})"
    return None


def _check_numbers(v: Any, annotation: Any, where: str = "") -> None:
    if _numeric(annotation) and not isinstance(v, Mapping):
        why = _not_a_number(v)
        if why:
            raise ValueError(f"{where}{why}")
    value_ann = _numeric_table(annotation)
    if value_ann is not None and isinstance(v, Mapping):
        for key, x in v.items():
            _check_numbers(x, value_ann, f"{where}{key}: ")


def _sane(v: Any, where: str = "") -> None:
    if isinstance(v, float):
        try:
            _finite(v)
        except ValueError as e:
            raise ValueError(f"{where}{e}") from None
    elif isinstance(v, Mapping):
        for key, x in v.items():
            _sane(x, f"{where}{key}: ")


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        """Pydantic would quietly read "30" or true as a number: a scenario must not."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None:
            _check_numbers(v, field.annotation)
        return v

    @field_validator("*", mode="after")
    @classmethod
    def _numbers_are_sane(cls, v: Any) -> Any:
        _sane(v)
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
    market_access: float = Field(1.0, ge=0, le=100)

    def vector(self) -> tuple[float, ...]:
        return tuple(getattr(self, c) for c in COMPONENTS)


class Actor(Frozen):
    name: str
    role: Literal["country", "supplier"] = "country"
    strategy: str = "myopic"
    strategy_params: dict[str, float] = {}
    patience: int = Field(3, ge=0, le=1000, description="rounds a member tolerates a loss")
    discount: float = Field(
        0.9, gt=0, le=1, description="value now of a dollar a year from now (time preference)"
    )
    production: dict[str, Quantity] = {}  # t per year capacity
    unit_cost: dict[str, Annotated[float, Field(gt=0)]] = {}  # USD per tonne
    consumption: dict[str, Quantity] = {}  # t per year at the reference price
    exposure: dict[str, Share] = {}  # share of consumption sourced from the supplier
    risk_premium: float = Field(
        0.3, ge=0, le=10, description="cost of a supplier-dependent tonne, fraction of its value"
    )
    openness_value: Money = Field(0.0, description="hub business exposed to discrimination, USD/yr")
    fiscal_capacity: Money = Field(
        1e10, description="USD per year it can spend on price-gap payments and stockpile buying"
    )
    covered_exports: dict[str, Money] = Field(
        {},
        description="USD per year of covered goods (refined minerals, magnets, battery materials,"
        " re-exports) it sells to each other actor: what the outsider penalty falls on",
    )
    weights: Weights = Weights()
    sources: dict[str, str] = {}


class Policy(Frozen):
    instrument: Instrument = Instrument.BORDER
    floors: dict[str, Money] = {}  # USD per tonne; absent = no floor
    outsider_penalty: float = Field(
        0.05, ge=0, le=2, description="margin on non-member supply (0.05 = 5%)"
    )
    cost_sharing: Literal["consumption", "equal"] | dict[str, Money] = "consumption"
    stockpile_fund: Money = Field(2e9, description="USD available to buy at the floor")
    stockpile_resale: float = Field(
        0.65,
        ge=0,
        le=1,
        description="share of its market value a stock fetches sold: a tonne the stockpile "
        "bought is an asset worth this times the lower of the price paid and the world price "
        "without the bloc's support (tin 1985: the price fell overnight to 62% of the defended "
        "one, the market without the buffer stock, and to 40% as the stock overhung it: "
        "0.40 / 0.62 = 0.65)",
    )
    initial_members: tuple[str, ...] = ()
    partners: tuple[str, ...] = Field(
        (),
        description="offtake partners: countries outside the bloc whose producers sell into "
        "its market on its terms (the members' producer price, the gap paid by members) while "
        "there is a bloc; their buyers pay the world price and they share no costs",
    )
    offtake_share: float = Field(
        1.0,
        ge=0.01,
        le=1,
        description="share of each offtake partner's capacity under contract with the bloc, "
        "from 0.01 to 1: its producers sell that share into the bloc's market on its terms and "
        "the rest at the world price (1: all of it; assumption: the sources give no contracted "
        "volumes)",
    )
    offtake_shares: dict[str, Annotated[float, Field(ge=0.01, le=1)]] = Field(
        default_factory=dict,
        description="a partner's own contract share, where its deal differs from "
        "`offtake_share` (a table by the partner's id, each from 0.01 to 1; a partner not "
        "listed has the share `offtake_share` sets; an entry for a country that is not a "
        "partner waits until it is one): Lynas, in Australia, is to supply Japan with up to 65% "
        "of Mt Weld's Dy/Tb output, and MP's magnet plant sells all its output under a 10-year "
        "offtake",
    )


class Track(Frozen):
    name: str
    parties: tuple[str, ...]
    convener: str | None = None
    proposer: Literal["convener", "rotation"] = "convener"
    start_round: int = Field(1, ge=1, le=MAX_ROUNDS, description="first round the table sits")
    deadline_round: int | None = Field(
        None, ge=1, le=MAX_ROUNDS, description="round by which parties concede to their reservation"
    )
    end_round: int | None = Field(None, ge=1, le=MAX_ROUNDS, description="last round it sits")
    #: What the convener designs when the table first sits and every sixth round after
    #: (negotiation.rules.protocol): "instrument" (how the floors are defended: border tariff,
    #: price-gap payments or a stockpile; not listed, the instrument stays as set, as at a table
    #: that has already chosen it), "floors" (a multiple of the floors in force: 0.8, 1 or 1.25),
    #: "each_floor" (each floor's own multiple, 0.8, 1 or 1.25, one floor at a time in the
    #: minerals' order, instead of one multiple of them all: a floor per mineral; at a table
    #: with minerals of interest, each of its package's floors in turn; not with "floors"),
    #: "invitees" (whom to invite: those whose joining serves it),
    #: "penalty" (a multiple of the
    #: outsider penalty in force: 0.5, 1 or 2), "sharing" (the cost-sharing key: by
    #: consumption, equal, or the scenario's table of shares) and "offtake" (offtake partners
    #: among the producers it invites: none, each alone, or all; and the share of their output
    #: under contract: a tenth, a quarter, half or all). By default nothing: the
    #: package is the scenario's levers and every party is invited.
    designs: tuple[
        Literal["instrument", "floors", "each_floor", "invitees", "penalty", "sharing", "offtake"],
        ...,
    ] = ()
    #: The convener's aims when it designs: besides its own utility, each other party's utility
    #: at this weight (0: its own money alone; 1: the table's joint gain, the coalition's
    #: welfare that Nordhaus's club maximises). A convener designs once a round for all the
    #: tables it tables that design then (the first one's terms; its partners are the other
    #: parties at all of them, never the supplier). Only what it designs: its answers to
    #: counters and whether it stays weigh its own utility.
    partner_weight: float = Field(
        0.0, ge=0, le=10, description="weight a designing convener puts on each other party's gain"
    )
    #: The table's minerals of interest (the US-Mexico plan's first step is to "identify
    #: minerals of interest"): its own package is their floors. Its invitees' counters name
    #: only them, and its convener's design (with "floors" in `designs`) weighs their floors,
    #: each such table's in turn in the agenda's order. A table of every mineral (the default,
    #: empty, as the all-party table) reconciles the packages of the tracks that have sat:
    #: its convener weighs each one's floors again, in turn, then those of no track (its own).
    #: The bloc keeps one market and one floor per mineral.
    minerals: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _rounds_in_order(self) -> Track:
        problems = []
        if not self.parties:
            problems.append("parties: a table needs at least one party")
        if self.end_round is not None and self.end_round < self.start_round:
            problems.append(
                f"end_round: {self.end_round} is before start_round ({self.start_round})"
            )
        if self.deadline_round is not None and self.deadline_round < self.start_round:
            problems.append(
                f"deadline_round: {self.deadline_round} is before start_round ({self.start_round})"
            )
        if (
            self.deadline_round is not None
            and self.end_round is not None
            and self.deadline_round > self.end_round
        ):
            problems.append(
                f"deadline_round: {self.deadline_round} is after end_round ({self.end_round}), "
                "so the deadline never comes"
            )
        if "floors" in self.designs and "each_floor" in self.designs:
            problems.append(
                'designs: "floors" (one multiple of every floor) and "each_floor" (a floor per '
                "mineral) are two ways to design the floors: list one of them"
            )
        if self.partner_weight and not self.designs:
            problems.append(
                f"partner_weight: {self.partner_weight:g} weighs what the convener designs, but "
                "the table has no designs"
            )
        if self.convener is not None and self.convener not in self.parties:
            problems.append(
                f"convener: {self.convener!r} is not one of the parties"
                + did_you_mean(self.convener, self.parties)
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self


class Agenda(Frozen):
    tracks: tuple[Track, ...] = ()
    open_accession: bool = Field(True, description="outsiders who would gain may join any round")
    agreement: Literal["unanimity", "majority", "convener"] = Field(
        "unanimity", description="who must agree to a counter-proposal (negotiation.rules.protocol)"
    )
    mandate: tuple[float, float] = Field(
        FLOOR_BAND,
        description="the band a designing convener keeps each floor within, as multiples of the "
        "scenario's floor for that mineral: [lowest, highest] (an assumption)",
    )

    @field_validator("mandate")
    @classmethod
    def _mandate_holds_the_scenarios_floors(cls, band: tuple[float, float]) -> tuple[float, float]:
        lo, hi = band
        if not (0 <= lo <= 1 <= hi <= 100):
            raise ValueError(
                f"{[lo, hi]} must be [lowest, highest] multiples of the scenario's floors, with "
                "0 <= lowest <= 1 <= highest <= 100 (the scenario's own floors within it)"
            )
        return band


class Supplier(Frozen):
    actor: str = "supplier"
    strategy: str = "adaptive"
    aggressiveness: float = Field(0.5, ge=0, le=1, description="how hard it acts, 0 to 1")
    strategic_weight: float = Field(
        0.5, ge=0, le=100, description="value it puts on keeping the bloc small, per unit of share"
    )


#: What a shock's magnitude means, and the range it must fall in, by kind.
SHOCK_MAGNITUDES: dict[str, tuple[float, float, str]] = {
    "flood": (0.0, 5.0, "extra volume the supplier dumps, as a fraction of its capacity"),
    "export_control": (0.0, 1.0, "share of the supplier's sales withheld from those targeted"),
    "demand": (-0.9, 5.0, "change in world demand at any price (-0.1 = 10% less)"),
}


class Shock(Frozen):
    kind: Literal["export_control", "flood", "demand"]
    mineral: str
    start_round: int = Field(ge=1, le=MAX_ROUNDS)
    duration: int = Field(0, ge=0, le=MAX_ROUNDS, description="rounds; 0 = until the end")
    magnitude: float = Field(0.5, ge=-0.9, le=5)
    target: Literal["all", "members"] = Field(
        "all", description="export controls on every foreign buyer, or aimed at bloc members"
    )
    note: str = ""

    @model_validator(mode="after")
    def _magnitude_fits_kind(self) -> Shock:
        lo, hi, meaning = SHOCK_MAGNITUDES[self.kind]
        if not lo < self.magnitude <= hi and not (self.kind == "demand" and self.magnitude == lo):
            raise ValueError(
                f"magnitude: {self.magnitude:g} is out of range for a {self.kind} shock "
                f"({lo:g} < magnitude <= {hi:g}: {meaning})"
            )
        return self


class Trade(Frozen):
    """Trade in covered goods, on which the outsider penalty falls."""

    demand_elasticity: float = Field(
        -1.5, lt=0, ge=-20, description="of the bloc's demand for an outsider's covered goods"
    )
    supply_elasticity: float = Field(
        1.5, gt=0, le=20, description="of an outsider's export supply of covered goods"
    )


class Investment(Frozen):
    lag_days: int = Field(730, ge=0, le=36500, description="from decision to new capacity")
    rate: float = Field(
        1.0, ge=0, le=50, description="response of investment to the margin above the baseline's"
    )
    retirement: float = Field(
        0.05, ge=0, le=1, description="share of capacity retired a year (depletion)"
    )
    closure_days: int = Field(
        365, ge=0, le=36500, description="days under cash cost before idle capacity closes"
    )
    restart_margin: float = Field(
        0.2,
        ge=0,
        le=10,
        description="margin over cash cost, above the calibration's, that restarts closed "
        "capacity; also the restart's yearly capital charge, times unit cost, a tonne",
    )
    restart_days: int = Field(
        365, ge=0, le=36500, description="days prices must repay a restart before it is ordered"
    )
    credibility_threshold: float = Field(
        0.5, ge=0, le=1, description="share of countries in the bloc for members to invest"
    )


class Project(Frozen):
    """A mine or plant not yet built (docs/ODD.md, Submodel G): its developer commits when the
    price it expects has covered its unit cost (the actor's `unit_cost` of the mineral) and a
    hurdle for `decision_days`, and it produces `build_days` after; committed, it is built
    whatever prices do after (the money is sunk), and its producers pay the hurdle times its unit
    cost on each tonne a year from the round it produces (its capital)."""

    name: str
    actor: str
    mineral: str
    capacity: float = Field(gt=0, description="t per year once built")
    hurdle: float = Field(
        0.3,
        ge=0,
        le=10,
        description="margin over its unit cost the price it expects must give before the project "
        "is committed: the capital to repay (assumption), charged yearly, times unit cost, "
        "on each tonne once it produces",
    )
    decision_days: int = Field(
        365, ge=0, le=36500, description="days the price must stand above the hurdle"
    )
    build_days: int | None = Field(
        None,
        ge=0,
        le=36500,
        description="days from commitment to output (default: investment.lag_days)",
    )


class Uncertainty(Frozen):
    """What is random in a run, all drawn from the model's generator (see docs/ODD.md, Submodel L).

    Rates are events per year, durations in days (each event lasts a geometric number of rounds
    with that mean), sizes shares. Where docs/reference has a figure the default is taken from it;
    the others are assumptions (the ODD's table says which)."""

    enabled: bool = Field(True, description="draw outages, demand swings and policy surprises")
    outage_rate: float = Field(
        0.2, ge=0, le=12, description="outages a year per mineral, each at one producer"
    )
    outage_size: tuple[float, float] = Field(
        (0.1, 0.5), description="share of that producer's capacity out, drawn uniformly"
    )
    outage_days: int = Field(90, ge=1, le=3650, description="mean length of an outage")
    demand_volatility: float = Field(
        0.08, ge=0, le=1, description="standard deviation of log world demand about its level"
    )
    demand_memory_days: int = Field(
        365, ge=1, le=36500, description="days for a demand swing to decay by a factor e"
    )
    surprise_rate: float = Field(
        0.45, ge=0, le=12, description="supplier's export-control surprises a year"
    )
    surprise_size: tuple[float, float] = Field(
        (0.2, 0.6), description="share of its sales withheld, drawn uniformly"
    )
    surprise_days: int = Field(180, ge=1, le=3650, description="mean length of a surprise")
    forecast_error: float = Field(
        0.3, ge=0, le=2, description="log-normal error of each figure a country forecasts"
    )

    @model_validator(mode="after")
    def _ranges_ordered(self) -> Uncertainty:
        for name in ("outage_size", "surprise_size"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi <= 1:
                raise ValueError(f"{name}: [{lo:g}, {hi:g}] must satisfy 0 <= low <= high <= 1")
        return self


class Foresight(Frozen):
    """How far ahead countries look, and what switching sides costs them."""

    horizon_days: int = Field(
        730, ge=0, le=36500, description="days a country weighs when it joins, stays or leaves"
    )
    exit_cost: float = Field(
        0.005, ge=0, le=10, description="one-off cost of leaving, fraction of a year's stake"
    )
    rejoin_cost: float = Field(
        0.005, ge=0, le=10, description="one-off cost of joining again after leaving, same units"
    )


class LeverChange(Frozen):
    """Live levers changed from a given round on (how the app's mid-run changes are replayed)."""

    round: int = Field(ge=1)
    floors: dict[str, Money] | None = None
    instrument: Instrument | None = None
    penalty: float | None = Field(None, ge=0, le=2)
    cost_sharing: Literal["consumption", "equal"] | dict[str, Money] | None = None
    partners: tuple[str, ...] | None = None
    offtake_share: float | None = Field(None, ge=0.01, le=1)
    offtake_shares: dict[str, Annotated[float, Field(ge=0.01, le=1)]] | None = None
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
    projects: tuple[Project, ...] = ()
    trade: Trade = Trade()
    uncertainty: Uncertainty = Uncertainty()
    foresight: Foresight = Foresight()
    levers: tuple[LeverChange, ...] = ()
    seed: int | None = Field(None, ge=0, description="seed used by `bloc run` without --seed")
    extends: str | None = None

    @model_validator(mode="after")
    def _references_exist(self) -> Scenario:
        problems: list[str] = []
        minerals, actors = set(self.minerals), set(self.actors)
        if not minerals:
            problems.append("minerals: at least one mineral is needed")
        for table, ids in (("minerals", self.minerals), ("actors", self.actors)):
            for x in ids:
                if not ID_PATTERN.match(x):
                    problems.append(
                        f"{table}: {x!r} is not a usable id (lower-case letters, digits and _, "
                        "starting with a letter: it becomes a column name and a --set path)"
                    )
        for m in self.minerals:
            if self.minerals[m].fringe_capacity <= 0 and not any(
                a.production.get(m, 0.0) > 0 for a in self.actors.values()
            ):
                problems.append(
                    f"minerals.{m}.fringe_capacity: nobody can produce {m!r} (no fringe capacity "
                    "and no actor's production)"
                )
        if not self.country_ids:
            problems.append("actors: at least one actor with role 'country' is needed")
        for aid, actor in self.actors.items():
            if actor.role == "supplier" and aid != self.supplier.actor:
                problems.append(
                    f"actors.{aid}.role: only the actor named in supplier.actor "
                    f"({self.supplier.actor!r}) can have role 'supplier'"
                )
        for aid, actor in self.actors.items():
            for b in actor.covered_exports:
                if b not in actors:
                    problems.append(
                        f"actors.{aid}.covered_exports.{b}: actor {b!r} is not defined"
                        + did_you_mean(b, actors)
                    )
            for table in ("production", "unit_cost", "consumption", "exposure"):
                for m in getattr(actor, table):
                    if m not in minerals:
                        problems.append(
                            f"actors.{aid}.{table}.{m}: mineral {m!r} is not defined"
                            + did_you_mean(m, minerals)
                        )
            for m in actor.production:
                if actor.production[m] > 0 and m in minerals and m not in actor.unit_cost:
                    problems.append(f"actors.{aid}.unit_cost.{m}: missing for a produced mineral")
        for m in self.policy.floors:
            if m not in minerals:
                problems.append(
                    f"policy.floors.{m}: mineral {m!r} is not defined" + did_you_mean(m, minerals)
                )
        for a in self.policy.initial_members:
            if a not in actors:
                problems.append(
                    f"policy.initial_members: actor {a!r} is not defined" + did_you_mean(a, actors)
                )
        problems.extend(self._partner_problems("policy.partners", self.policy.partners))
        for a in self.policy.offtake_shares:
            problems.extend(self._partner_problems(f"policy.offtake_shares.{a}", [a]))
        problems.extend(self._project_problems())
        if isinstance(self.policy.cost_sharing, dict):
            for a in self.policy.cost_sharing:
                if a not in actors:
                    problems.append(
                        f"policy.cost_sharing.{a}: actor {a!r} is not defined"
                        + did_you_mean(a, actors)
                    )
        for i, track in enumerate(self.agenda.tracks):
            for a in track.parties:
                if a not in actors:
                    problems.append(
                        f"agenda.tracks.{i}.parties: actor {a!r} is not defined"
                        + did_you_mean(a, actors)
                    )
            for m in track.minerals:
                if m not in minerals:
                    problems.append(
                        f"agenda.tracks.{i}.minerals: mineral {m!r} is not defined"
                        + did_you_mean(m, minerals)
                    )
            if len(set(track.minerals)) != len(track.minerals):
                problems.append(f"agenda.tracks.{i}.minerals: a mineral is listed twice")
            if track.start_round > self.time.rounds:
                problems.append(
                    f"agenda.tracks.{i}.start_round: {track.start_round} is after the last round "
                    f"({self.time.rounds})"
                )
        if self.supplier.actor not in actors:
            problems.append(
                f"supplier.actor: actor {self.supplier.actor!r} is not defined"
                + did_you_mean(self.supplier.actor, actors)
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
                        + did_you_mean(m, minerals)
                    )
            for table in ("weights", "patience", "strategies"):
                for a in getattr(change, table) or {}:
                    if a not in actors:
                        problems.append(
                            f"levers.{i}.{table}.{a}: actor {a!r} is not defined"
                            + did_you_mean(a, actors)
                        )
            problems.extend(self._partner_problems(f"levers.{i}.partners", change.partners or ()))
            for a in change.offtake_shares or {}:
                problems.extend(self._partner_problems(f"levers.{i}.offtake_shares.{a}", [a]))
            problems.extend(self._lever_problems(i, change))
        problems.extend(self._strategy_problems())
        for i, shock in enumerate(self.shocks):
            if shock.mineral not in minerals:
                problems.append(
                    f"shocks.{i}.mineral: mineral {shock.mineral!r} is not defined"
                    + did_you_mean(shock.mineral, minerals)
                )
            if shock.start_round > self.time.rounds:
                problems.append(
                    f"shocks.{i}.start_round: {shock.start_round} is after the last round "
                    f"({self.time.rounds}), so the shock never happens"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _lever_problems(self, i: int, change: LeverChange) -> list[str]:
        """What the round of a scheduled lever change would refuse, found when the file loads:
        unknown strategies, weight components and cost-sharing actors."""
        from agents import COUNTRY_STRATEGIES, SUPPLIER_STRATEGIES
        from negotiation.rules.types import COMPONENTS

        problems = []
        where = f"levers.{i}"
        if change.supplier_strategy is not None and (
            change.supplier_strategy not in SUPPLIER_STRATEGIES
        ):
            problems.append(
                f"{where}.supplier_strategy: unknown supplier strategy {change.supplier_strategy!r}"
                + did_you_mean(change.supplier_strategy, SUPPLIER_STRATEGIES)
            )
        for aid, name in (change.strategies or {}).items():
            known = SUPPLIER_STRATEGIES if aid == self.supplier.actor else COUNTRY_STRATEGIES
            if aid in self.actors and name not in known:
                problems.append(
                    f"{where}.strategies.{aid}: unknown strategy {name!r}"
                    + did_you_mean(name, known)
                )
        for aid, w in (change.weights or {}).items():
            for c in w:
                if c not in COMPONENTS:
                    problems.append(
                        f"{where}.weights.{aid}.{c}: not a utility component"
                        + did_you_mean(c, COMPONENTS)
                    )
        if isinstance(change.cost_sharing, dict):
            for aid in change.cost_sharing:
                if aid not in self.actors:
                    problems.append(
                        f"{where}.cost_sharing.{aid}: actor {aid!r} is not defined"
                        + did_you_mean(aid, self.actors)
                    )
        return problems

    def _project_problems(self) -> list[str]:
        """What is wrong with the projects: each names a defined actor and mineral, for which the
        actor has a unit cost (the project's, and the hurdle's base); one project an actor and
        mineral."""
        problems, seen = [], set()
        for i, p in enumerate(self.projects):
            where = f"projects.{i}"
            if p.actor not in self.actors:
                problems.append(
                    f"{where}.actor: actor {p.actor!r} is not defined"
                    + did_you_mean(p.actor, self.actors)
                )
            if p.mineral not in self.minerals:
                problems.append(
                    f"{where}.mineral: mineral {p.mineral!r} is not defined"
                    + did_you_mean(p.mineral, self.minerals)
                )
            if p.actor in self.actors and p.mineral in self.minerals:
                if p.mineral not in self.actors[p.actor].unit_cost:
                    problems.append(
                        f"{where}: actors.{p.actor}.unit_cost.{p.mineral} is missing: a project's "
                        "unit cost is its actor's for the mineral"
                    )
                if (p.actor, p.mineral) in seen:
                    problems.append(
                        f"{where}: a second project of {p.actor!r} for {p.mineral!r} (one each)"
                    )
                seen.add((p.actor, p.mineral))
        return problems

    def _partner_problems(self, where: str, partners: Iterable[str]) -> list[str]:
        """What is wrong with a list of offtake partners: each must be a defined country (the
        supplier's producers sell to the bloc as any outsider's do)."""
        problems = []
        for a in partners:
            if a not in self.actors:
                problems.append(
                    f"{where}: actor {a!r} is not defined" + did_you_mean(a, self.actors)
                )
            elif a == self.supplier.actor:
                problems.append(
                    f"{where}: the supplier cannot be the bloc's offtake partner (its producers "
                    "sell to the bloc as any outsider's do)"
                )
        return problems

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
                    + (
                        f" ({actor.strategy!r} is a supplier strategy: set it in [supplier])"
                        if actor.strategy in SUPPLIER_STRATEGIES
                        else did_you_mean(actor.strategy, COUNTRY_STRATEGIES)
                    )
                    + f"; known: {', '.join(sorted(COUNTRY_STRATEGIES))}"
                )
                continue
            for p in actor.strategy_params:
                if p not in cls.defaults:
                    problems.append(
                        f"actors.{aid}.strategy_params.{p}: not a parameter of {actor.strategy!r}"
                        + did_you_mean(p, cls.defaults)
                    )
        if self.supplier.strategy not in SUPPLIER_STRATEGIES:
            other = (
                f" ({self.supplier.strategy!r} is a country strategy)"
                if self.supplier.strategy in COUNTRY_STRATEGIES
                else did_you_mean(self.supplier.strategy, SUPPLIER_STRATEGIES)
            )
            problems.append(
                f"supplier.strategy: unknown supplier strategy {self.supplier.strategy!r}"
                + other
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


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" for the option closest to a mistyped `word`, or "" if none is
    close: every message about a name that is not there ends with it."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def scenario_names() -> list[str]:
    """Names of the built-in scenarios: the top-level files of the scenario folders.

    Returns
    -------
    list of str
        Sorted names; sub-folders (validation configs, sweep specs) are not listed, nor files
        whose names start with `_` or `.`.
    """
    names: set[str] = set()
    for d in SCENARIO_DIRS:
        if d.is_dir():
            names.update(
                p.stem
                for p in d.glob("*.toml")
                if p.is_file() and not p.name.startswith(("_", "."))
            )
    return sorted(names)


def display_path(path: str | Path) -> str:
    """A file as a person would type it: relative to the working folder when it is inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def find_scenario_file(name_or_path: str | Path) -> Path:
    """A path as given, or a built-in scenario by name (with or without `.toml`)."""
    p = Path(name_or_path)
    text = str(name_or_path)
    if p.is_file():
        return p
    if p.is_dir():
        raise ScenarioError([f"{text}: is a folder, not a scenario file"])
    is_path = "/" in text or os.sep in text
    stem = p.stem if p.suffix == ".toml" else text
    if not is_path:
        for d in SCENARIO_DIRS:
            for sub in ("", *SCENARIO_SUBDIRS):
                candidate = d / sub / f"{stem}.toml"
                if candidate.is_file():
                    return candidate
    if is_path or p.suffix == ".toml":
        raise ScenarioError([f"{text}: no such file"])
    names = scenario_names()
    raise ScenarioError(
        [
            f"{text}: no such scenario"
            + did_you_mean(text, names)
            + f"; built-in scenarios: {', '.join(names)} (or give the path of a .toml file)"
        ]
    )


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a one-line ScenarioError."""
    shown = display_path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise ScenarioError([f"{shown}: is a folder, not a file"]) from None
    except OSError as e:
        raise ScenarioError([f"{shown}: cannot read ({e.strerror or e})"]) from None
    return parse_toml(raw, shown)


def parse_toml(raw: bytes, shown: str) -> dict[str, Any]:
    """Parse the bytes of a TOML file named `shown` in errors, turning every failure into a
    one-line ScenarioError."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark, as some editors write
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ScenarioError(
            [f"{shown}: line {line}: not UTF-8 text (byte {e.start}); save the file as UTF-8"]
        ) from None
    if not text.strip():
        raise ScenarioError([f"{shown}: the file is empty"])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        where = _TOML_POSITION.search(msg)
        if where:
            msg = msg[: where.start()]
            line, col = where.groups()
            raise ScenarioError(
                [f"{shown}: line {line}, column {col}: TOML syntax error: {msg}"]
            ) from None
        raise ScenarioError([f"{shown}: TOML syntax error: {msg}"]) from None
    if not data:
        raise ScenarioError([f"{shown}: the file holds only comments: nothing to read"])
    return data


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; every other value (arrays included) replaces the base's."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


#: Longest `extends` chain followed (a guard: cycles are reported as such before this).
MAX_EXTENDS = 32


def resolve_layers(
    name_or_path: str | Path, _seen: tuple[Path, ...] = ()
) -> list[tuple[Path, dict[str, Any]]]:
    """The files of an `extends` chain, the base first, each with its own raw data (no
    `extends` key): what `resolve_raw` merges, kept apart to say which file a value came from."""
    path = find_scenario_file(name_or_path).resolve()
    if path in _seen:
        chain = " -> ".join(p.stem for p in (*_seen, path))
        raise ScenarioError([f"{display_path(_seen[0])}: extends: cycle ({chain})"])
    if len(_seen) >= MAX_EXTENDS:
        raise ScenarioError(
            [f"{display_path(_seen[0])}: extends: more than {MAX_EXTENDS} files in the chain"]
        )
    data = read_toml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return [(path, data)]
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(
            [f"{display_path(path)}: extends: must be a scenario name or a .toml file, "
             f"not {parent!r}"]
        )  # fmt: skip
    parent_ref = parent
    if (parent.endswith(".toml") or "/" in parent) and not Path(parent).is_absolute():
        beside = path.parent / parent  # a relative file is relative to the extending file
        if beside.is_file() or "/" in parent:
            parent_ref = str(beside)
    try:
        base = resolve_layers(parent_ref, (*_seen, path))
    except ScenarioError as e:
        if any(": extends: cycle (" in p for p in e.problems):
            raise
        raise ScenarioError([f"{display_path(path)}: extends: {p}" for p in e.problems]) from None
    return [*base, (path, data)]


def merge_layers(layers: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """Merge an `extends` chain, base first. A scenario's `meta.name` is never inherited: unless
    the last file sets it, the name is that file's stem."""
    merged: dict[str, Any] = {}
    for _, data in layers:
        merged = deep_merge(merged, data)
    path, own = layers[-1]
    meta = merged.get("meta")
    own_meta = own.get("meta")
    if isinstance(meta, dict) and not (isinstance(own_meta, dict) and "name" in own_meta):
        merged["meta"] = {**meta, "name": path.stem}
    return merged


def resolve_raw(name_or_path: str | Path, _seen: tuple[Path, ...] = ()) -> tuple[dict, Path]:
    """The raw (unvalidated) data of a scenario with its `extends` chain merged in."""
    layers = resolve_layers(name_or_path, _seen)
    return merge_layers(layers), layers[-1][0]


def parse_value(text: str) -> Any:
    """A `--set` value: parsed as a TOML value when it is one, else kept as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _index(key: str, items: list, dotted: str, at: str, origin: str) -> int:
    """A `--set` path segment that indexes an array: 0-based, or one past the end to append."""
    if not key.isdigit():
        raise ScenarioError(
            [f"{origin}: --set {dotted}: {at} is an array: the next key must be an index "
             f"(0 to {len(items)}), not {key!r}"]
        )  # fmt: skip
    i = int(key)
    if i > len(items):
        raise ScenarioError(
            [f"{origin}: --set {dotted}: {at} has {len(items)} "
             f"entr{'y' if len(items) == 1 else 'ies'}, so the index can be 0 to {len(items)} "
             f"({len(items)} adds one), not {i}"]
        )  # fmt: skip
    return i


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any], origin: str) -> dict:
    """Set dotted paths (`policy.floors.lithium=20000`, `shocks.0.magnitude=0.8`) in raw
    scenario data. A number indexes an array of tables (`agenda.tracks.1.deadline_round`); the
    index one past the end adds an entry. Tables and arrays on the way are copied, never shared
    with `data`."""
    out = deep_merge({}, data)
    for dotted, value in overrides.items():
        keys = dotted.split(".")
        if not all(k.strip() for k in keys):
            raise ScenarioError([f"{origin}: --set {dotted}: empty key in the path"])
        node: Any = out
        for depth, k in enumerate(keys):
            at = ".".join(keys[:depth]) or "the scenario"
            last = depth == len(keys) - 1
            if isinstance(node, list):
                i = _index(k, node, dotted, at, origin)
                if i == len(node):
                    node.append({})
                if last:
                    node[i] = value
                    break
                child = node[i]
            else:
                if last:
                    node[k] = value
                    break
                child = node.get(k)
            nxt = keys[depth + 1]
            if child is None:
                child = [] if nxt.isdigit() else {}
            elif isinstance(child, Mapping):
                child = dict(child)
            elif isinstance(child, list):
                child = list(child)
            else:
                here = ".".join(keys[: depth + 1])
                raise ScenarioError(
                    [f"{origin}: --set {dotted}: {here} is a single value ({child!r}), "
                     "not a table"]
                )  # fmt: skip
            if isinstance(node, list):
                node[int(k)] = child
            else:
                node[k] = child
            node = child
    return out


# ------------------------------------------------------------------------------------------------
# Validation errors, one line per problem


Where = Callable[[tuple[str | int, ...]], str]


def _value_at(data: Any, loc: Iterable[str]) -> tuple[int, Any]:
    """How many keys of `loc` raw data holds from the top, and the value at the deepest one."""
    node, depth = data, 0
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            break
        depth += 1
    return depth, node


def provenance(
    layers: list[tuple[Path, dict[str, Any]]], overrides: Mapping[str, Any] | None = None
) -> Where:
    """A function telling, for a field path, where its value came from: `--set PATH`, or the
    file of the `extends` chain that sets it. Tables merge key by key down the chain; an array
    or a single value replaces the base's whole, so the file that set it answers for all of it.
    A path no file sets (a missing field) is answered for by the file that holds its table."""
    sets = [tuple(d.split(".")) for d in (overrides or {})]
    merged = merge_layers(layers)

    def where(loc: tuple[str | int, ...]) -> str:
        parts = tuple(str(x) for x in loc)
        for keys in reversed(sets):
            n = next((i for i, (a, b) in enumerate(zip(parts, keys)) if a != b), None)
            common = min(len(parts), len(keys)) if n is None else n
            if common == len(keys) or common == len(parts) and parts:
                return "--set " + ".".join(keys)  # the value set, or a table holding it
            if common and _value_at(merged, parts[:common])[0] < common:
                return "--set " + ".".join(keys)  # an entry the --set created
        best, best_depth = layers[-1][0], -1
        for path, data in reversed(layers):
            depth, value = _value_at(data, parts)
            if depth == len(parts) or (depth and not isinstance(value, Mapping)):
                return display_path(path)  # sets it, or replaced the array that holds it
            if depth > best_depth:
                best, best_depth = path, depth
        return display_path(best)

    return where


def validate(data: Mapping[str, Any], origin: str, where: Where | None = None) -> Scenario:
    """Validate raw data into a Scenario, or raise ScenarioError with one line per problem.

    origin: the file (or other source) to name in errors; where: optionally, a function naming
    the source of each field path (see `provenance`)."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as e:
        raise ScenarioError(
            format_validation_error(e, origin, Scenario, where=where, data=data)
        ) from None


_LINE_PATH = re.compile(r"^([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*): (.*)$", re.S)
_PLAIN = {
    "Field required": "missing (required)",
    "Input should be a valid dictionary": "should be a table",
    "Input should be a valid tuple": "should be an array",
    "Input should be a valid list": "should be an array",
    "Input should be a valid string": "should be text (in quotes)",
}


def _is_type_tag(part: Any) -> bool:
    """Pydantic adds a segment naming the branch of a union (`literal['a','b']`, `dict[...]`)."""
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "float", "bool"))


def _line(label: str, loc: str, msg: str) -> str:
    if label == f"--set {loc}":
        return f"{label}: {msg}"
    return f"{label}: {loc or '(top level)'}: {msg}"


def format_validation_error(
    e: ValidationError,
    origin: str,
    root: type[BaseModel],
    where: Where | None = None,
    data: Mapping[str, Any] | None = None,
) -> list[str]:
    """One line per problem: `FILE: field.path: what is wrong`, with "did you mean" for a
    misspelt key or choice, the value given, and what the field means when it has a description.
    `where` names the source of a field path (default: `origin` for all); `data` is the raw
    input, used to suggest an existing id for a misspelt new one."""
    name = where or (lambda loc: origin)
    problems: list[str] = []
    merged: dict[tuple, list[str]] = {}  # the branches of one union error, by location
    for err in e.errors():
        full_loc = tuple(err["loc"])
        loc_t = tuple(p for p in full_loc if not _is_type_tag(p))
        loc = ".".join(str(x) for x in loc_t)
        msg = err["msg"]
        kind = err["type"]
        if kind == "value_error":
            for line in msg.removeprefix("Value error, ").splitlines():
                m = _LINE_PATH.match(line)
                sub: tuple = ()
                if m and not _is_type_tag(m.group(1)):
                    sub, line = tuple(m.group(1).split(".")), m.group(2)
                    if loc_t and sub and sub[0] == str(loc_t[-1]) and len(sub) == 1:
                        sub = ()
                path_t = (*loc_t, *sub)
                label = name(path_t)
                if not loc_t and not label.startswith("--set"):
                    # A cross-reference (an id used but not defined, a supplier without the
                    # supplier role...): the combination is wrong, so name the file loaded.
                    label = origin
                problems.append(_line(label, ".".join(map(str, path_t)), line))
            continue
        if kind == "extra_forbidden":
            field = str(loc_t[-1])
            allowed = _allowed_keys(root, loc_t[:-1])
            hint = did_you_mean(field, allowed)
            if not hint and allowed:
                hint = f"; known keys here: {', '.join(allowed)}"
            problems.append(_line(name(loc_t), loc, f"unknown key {field!r}{hint}"))
            continue
        if kind == "missing":
            msg = _PLAIN.get(msg, msg)
            if len(loc_t) >= 3 and loc_t[0] in ("actors", "minerals") and data is not None:
                table = data.get(str(loc_t[0]))
                others = [k for k in table if k != loc_t[1]] if isinstance(table, Mapping) else []
                close = difflib.get_close_matches(str(loc_t[1]), others, n=1, cutoff=0.6)
                if close:
                    msg += (
                        f" (a new {str(loc_t[0])[:-1]} {loc_t[1]!r} needs it: did you mean "
                        f"{close[0]!r}?)"
                    )
            problems.append(_line(name(loc_t), loc, msg))
            continue
        msg = _PLAIN.get(msg, msg).replace("Input should be", "should be")
        if kind in ("literal_error", "enum") and isinstance(err.get("input"), str):
            expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            msg += f", not {err['input']!r}" + did_you_mean(err["input"], expected)
        elif "input" in err and not isinstance(err["input"], dict | list):
            msg += f" (got {err['input']!r})"
        description = _description(root, loc_t)
        if description and kind not in ("literal_error", "enum"):
            msg += f"; {loc_t[-1]}: {description}"  # descriptions are not all noun phrases
        if len(full_loc) != len(loc_t):  # one branch of a union: merge with its siblings
            merged.setdefault(loc_t, []).append(msg)
            continue
        problems.append(_line(name(loc_t), loc, msg))
    for loc_t, msgs in merged.items():
        loc = ".".join(str(x) for x in loc_t)
        got = re.search(r"( \(got .*\)|, not '.*)$", msgs[0])
        bare = [re.sub(r"( \(got .*\)|, not '.*)$", "", m).removeprefix("should be ") for m in msgs]
        text = "should be " + ", or ".join(dict.fromkeys(bare)) + (got.group(0) if got else "")
        problems.append(_line(name(loc_t), loc, text))
    return problems


def _walk(model: type[BaseModel], loc: tuple) -> tuple[Any, Any]:
    """Walk `loc` from `model`: (the model that holds the last key, its FieldInfo or None)."""
    current: Any = model
    info = None
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return None, None
        if part in fields:
            info = fields[part]
            nxt = _model_in(info.annotation)
            if nxt is None:
                return current, info
            current = nxt
        else:
            info = None  # a key of a table of models (actors.us): stay on the value model
    return current, info


def _description(model: type[BaseModel], loc: tuple) -> str:
    if not loc:
        return ""
    holder, info = _walk(model, loc)
    if info is None or holder is None:
        return ""
    if str(loc[-1]) not in getattr(holder, "model_fields", {}):
        return ""
    return info.description or ""


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the model found by walking `loc` (best effort, for 'did you mean')."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        if part in fields:
            current = _model_in(fields[part].annotation)
        # else: a key of a table of models (actors.us): stay on the value model
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

    Parameters
    ----------
    name_or_path
        A built-in scenario's name (`scenario_names()`) or a TOML file's path.
    overrides
        Dotted paths to values (`{"policy.outsider_penalty": 0.2}`), validated like file
        values; errors about them name `--set PATH` instead of the file.

    Returns
    -------
    Scenario
        The validated scenario (an immutable pydantic model).

    Raises
    ------
    ScenarioError
        Every problem found, each naming the file (or `--set PATH`), the field and what is
        wrong.
    """
    layers = resolve_layers(name_or_path)
    path = layers[-1][0]
    data = merge_layers(layers)
    if overrides:
        data = apply_overrides(data, overrides, display_path(path))
    data.setdefault("meta", {})
    if isinstance(data["meta"], dict):
        data["meta"] = {"name": path.stem, **data["meta"]}
    return validate(data, display_path(path), where=provenance(layers, overrides))


def load_scenario_bytes(data: bytes, name: str) -> Scenario:
    """A scenario from the bytes of a TOML file named `name` (one uploaded to the web app, say),
    validated like a file on disk; errors name `name`, the field and what is wrong. The file
    must be whole, as `bloc scenarios show` and the app's Export write it: an `extends` would
    have it read another file, of the server's."""
    data_ = parse_toml(data, name)
    if "extends" in data_:
        raise ScenarioError(
            [
                f"{name}: extends: a scenario opened from its bytes cannot extend another "
                "scenario; save it whole (`bloc scenarios show FILE > whole.toml`, or the app's "
                "Export) and open that"
            ]
        )
    meta = data_.setdefault("meta", {})
    if isinstance(meta, dict):
        meta.setdefault("name", Path(name).stem or "scenario")
    return validate(data_, name)


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

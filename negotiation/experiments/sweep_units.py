"""The unit and meaning of every column a sweep writes (`runs`, `rounds`, `actors`, `events`).

`bloc sweep` stores them as Parquet field metadata (keys `unit` and `description`, readable with
`pyarrow.parquet.read_schema(f).field(name).metadata`), in `metadata.json` under `columns`, and
`negotiation.experiments.sweep.load` puts them in each DataFrame's `attrs["units"]` and
`attrs["descriptions"]`. Units are short strings:

    USD/yr   US dollars a year (money flows: costs, revenues, utility and its components)
    USD      US dollars (a stock of money: the stockpile fund)
    USD/t    US dollars per tonne (prices, floors)
    t, t/yr  tonnes (bought in a round, held), tonnes a year (secured supply)
    share    a fraction, 0 to 1 (of supply, of rounds; a penalty 0.05 = 5 %)
    count    a number of things (members)
    round    a round number (0 = the opening position)
    day      days since the opening
    id, ids  an identifier; several, "+"-joined
    flag     true or false
    category one of a few names (instrument, supplier action, status)
    text     free text
    seed     a 63-bit integer seed

Statistics keep the unit of their column (the mean of a USD/yr column is USD/yr), except a sum
over rounds ("USD/yr x rounds") and the mean of a flag (a share of rounds)."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

#: Rounds columns: (unit, description).
ROUNDS: dict[str, tuple[str, str]] = {
    "run_id": ("id", "the run (runs table's run_id)"),
    "round": ("round", "round number: 0 is the opening position, 1..R the simulated rounds"),
    "day": ("day", "days since the opening (round x time.round_days)"),
    "members": ("ids", "the bloc's members after the round, sorted, '+'-joined"),
    "n_members": ("count", "number of members after the round"),
    "instrument": ("category", "the bloc's instrument (border, price_gap, ...)"),
    "penalty": (
        "share",
        "outsider penalty: margin on non-member supply into the bloc (0.05 = 5 %)",
    ),
    "partners": (
        "ids",
        "the offtake partners in force (outside the bloc, selling into its market)",
    ),
    "offtake_share": (
        "share",
        "share of each offtake partner's capacity under contract with the bloc (1 = all), "
        "unless it has its own (offtake_shares)",
    ),
    "offtake_shares": (
        "text",
        "partners' own contract shares where their deals differ, country:share joined by +",
    ),
    "supplier_action": ("category", "the supplier's move this round (normal, flood, ...)"),
    "supplier_target": ("ids", "whom or which minerals the supplier's move aims at"),
    "fiscal_cost": ("USD/yr", "members' gap payments and stockpile purchases"),
    "support_ratio": ("share", "share of the floor support members' budgets pay (1 = all)"),
    "tariff_revenue": ("USD/yr", "tariffs and penalties members collect on non-member supply"),
    "capital_charges": (
        "USD/yr",
        "yearly capital charges of capacity added (beyond the steady replacement of the opening "
        "capacity), restarted or built in the run (producers pay them; below 0: capital not "
        "spent)",
    ),
    "capital_charges_no_policy": (
        "USD/yr",
        "the same in the world with no policy (world_money counts the difference)",
    ),
    "rest_of_world_producers": (
        "USD/yr",
        "change against the world with no policy in the surplus of producers at no table, net "
        "of capital charges",
    ),
    "rest_of_world_buyers": (
        "USD/yr",
        "change against the world with no policy in the consumer surplus of buyers at no table",
    ),
    "world_money": (
        "USD/yr",
        "change against the world with no policy (same luck) in all actors' and the rest of the "
        "world's money",
    ),
    "stockpile_fund": ("USD", "money left in the stockpile fund"),
    "stock_value": (
        "USD",
        "the stockpile's book value: what its tonnes would fetch sold when bought "
        "(stockpile_resale x the price with no policy, at most the price paid), less the "
        "share released",
    ),
    "fund_exhausted": ("flag", "the stockpile fund has run out"),
    "internally_stable": ("flag", "no member would gain by leaving"),
    "externally_stable": ("flag", "no outsider would gain by joining"),
    "would_leave": ("ids", "members who would gain by leaving, '+'-joined"),
    "would_join": ("ids", "outsiders who would gain by joining, '+'-joined"),
    "levers_changed": ("flag", "a lever (floor, instrument, penalty...) changed this round"),
}
#: Per-mineral rounds columns `<prefix>_<mineral>`: (unit, description of the mineral's ...).
PER_MINERAL: dict[str, tuple[str, str]] = {
    "floor": ("USD/t", "price floor (0 = none)"),
    "world_price": ("USD/t", "world price"),
    "bloc_price": ("USD/t", "price inside the bloc"),
    "bloc_share": ("share", "members' share of world supply"),
    "supplier_share": ("share", "the supplier's share of world supply"),
    "stockpiled": ("t", "tonnes the stockpile bought in the round"),
    "stock_held": ("t", "tonnes the stockpile holds"),
    "secured": ("t/yr", "tonnes a year members' producers sell to members first"),
}
ACTORS: dict[str, tuple[str, str]] = {
    "run_id": ("id", "the run (runs table's run_id)"),
    "round": ("round", "round number: 0 is the opening position"),
    "actor": ("id", "the actor's id (a country, or the supplier)"),
    "name": ("text", "the actor's display name"),
    "member": ("flag", "a member of the bloc after the round"),
    "decision": ("category", "its decision this round (joined, stayed, left, rejected...)"),
    "strategy": ("category", "its strategy"),
    "utility": ("USD/yr", "its utility: the weighted sum of its components"),
    "margin": ("USD/yr", "a member's gain from staying (empty for outsiders)"),
    "capital_charge": (
        "USD/yr",
        "its producers' yearly capital charge of capacity added, restarted or built in the run "
        "(already off its producer surplus)",
    ),
}
COMPONENTS = (
    "producer_surplus",
    "consumer_cost",
    "tariff_revenue",
    "fiscal_outlay",
    "supply_security",
    "openness",
    "retaliation",
    "market_access",
)
EVENTS: dict[str, tuple[str, str]] = {
    "run_id": ("id", "the run (runs table's run_id)"),
    "round": ("round", "the round of the event"),
    "actor": ("id", "who acted"),
    "kind": ("category", "joined, rejected, left, flood, export_controls, side_offer, ..."),
    "text": ("text", "the event as a sentence, with the components that drove it"),
}
RUNS: dict[str, tuple[str, str]] = {
    "run_id": ("id", "the run: point x replications + replication"),
    "point": ("id", "the design point (design.parquet)"),
    "replication": ("count", "replication number at the design point, from 0"),
    "seed": ("seed", "the run's seed (BlocModel(scenario, rng=seed) reproduces it)"),
    "status": ("category", "ok or failed"),
    "error": ("text", "a failed run's error, in one line"),
}
BUILTIN: dict[str, tuple[str, str]] = {
    "final_size": ("count", "members in the last round"),
    "final_members": ("ids", "members in the last round, sorted, '+'-joined"),
    "first_fracture": (
        "round",
        "first round in which a member of the round before had left; empty if none did",
    ),
    "mean_fiscal_cost": ("USD/yr", "mean over rounds 1..R of fiscal_cost"),
}
#: Units of scenario values commonly swept, by path (or path prefix ending in ".").
PARAMETER_UNITS: dict[str, str] = {
    "policy.outsider_penalty": "share",
    "policy.floors.": "USD/t",
    "policy.stockpile_fund": "USD",
    "supplier.aggressiveness": "share",
    "supplier.strategic_weight": "share",
    "time.rounds": "count",
    "time.round_days": "day",
    "policy.instrument": "category",
    "policy.cost_sharing": "category",
    "supplier.strategy": "category",
}
_UNIT_WORDS = (
    (r"USD per tonne|USD/t\b", "USD/t"),
    (r"t per year|t/yr", "t/yr"),
    (r"USD per year|USD/yr", "USD/yr"),
    (r"^rounds\b|rounds a member", "count"),
    (r"\bin days\b", "day"),
    (r"\bUSD\b", "USD"),
)


def _pair(unit: str, description: str) -> dict[str, str]:
    return {"unit": unit, "description": description}


def rounds_column(name: str, minerals: Sequence[str] = ()) -> dict[str, str]:
    if name in ROUNDS:
        return _pair(*ROUNDS[name])
    for prefix, (unit, what) in PER_MINERAL.items():
        mineral = name[len(prefix) + 1 :]
        if name.startswith(prefix + "_") and (mineral in minerals or not minerals):
            return _pair(unit, f"{mineral}: {what}")
    return _pair("", "a rounds column of BlocModel.rounds_df (see docs/ODD.md, Submodel I)")


def actors_column(name: str) -> dict[str, str]:
    if name in ACTORS:
        return _pair(*ACTORS[name])
    if name == "producer_surplus":
        return _pair(
            "USD/yr",
            "the producer surplus component of utility, weighted, net of capital charges",
        )
    if name in COMPONENTS:
        return _pair("USD/yr", f"the {name.replace('_', ' ')} component of utility, weighted")
    return _pair("", "an actors column of BlocModel.actors_df (see docs/ODD.md, Submodel I)")


def events_column(name: str) -> dict[str, str]:
    return _pair(*EVENTS.get(name, ("", "an events column of BlocModel.events_df")))


def parameter_column(path: str) -> dict[str, str]:
    """A swept scenario value: its unit (known paths, or words of the scenario field's own
    description) and its description."""
    field_text = scenario_field_description(path)
    unit = PARAMETER_UNITS.get(path)
    if unit is None:
        unit = next(
            (u for p, u in PARAMETER_UNITS.items() if p.endswith(".") and path.startswith(p)), ""
        )
    if not unit and field_text:
        unit = next((u for rx, u in _UNIT_WORDS if re.search(rx, field_text)), "")
    text = f"parameter: the scenario's {path}"
    return _pair(unit, f"{text} ({field_text})" if field_text else text)


def metric_column(metric: Mapping[str, Any], minerals: Sequence[str] = ()) -> dict[str, str]:
    """A metric column, from its metadata entry (name, column, stat, dtype)."""
    name, column, stat = metric["name"], metric["column"], metric["stat"]
    if stat == "custom":
        what = metric.get("description") or f"custom metric: {column}(model) after the run"
        return _pair(metric.get("unit") or "", what)
    if name in BUILTIN:
        return _pair(*BUILTIN[name])
    base = rounds_column(column, minerals)
    unit, what = base["unit"], base["description"]
    if stat == "final":
        return _pair(unit, f"last round's {column} ({what})")
    if stat == "sum":
        summed = f"{unit} x rounds" if unit else ""
        return _pair(summed, f"sum over rounds 1..R of {column} ({what})")
    if unit == "flag" and stat == "mean":
        return _pair("share", f"share of rounds 1..R in which {column} ({what})")
    if unit == "flag":
        unit = "share"
    return _pair(unit, f"{stat} over rounds 1..R of {column} ({what})")


def column_info(
    tables: Mapping[str, Sequence[Sequence[str]] | None],
    metrics: Sequence[Mapping[str, Any]],
    parameters: Sequence[str],
    minerals: Sequence[str] = (),
) -> dict[str, dict[str, dict[str, str]]]:
    """{table: {column: {"unit", "description"}}} for every column of every table, given the
    tables' columns (as `metadata.json`'s `tables`), the metrics' entries and the parameters'
    paths."""
    by_metric = {m["name"]: m for m in metrics}
    out: dict[str, dict[str, dict[str, str]]] = {}
    for table, columns in tables.items():
        if columns is None:
            continue
        info: dict[str, dict[str, str]] = {}
        for name, _ in columns:
            if table == "runs":
                if name in RUNS:
                    info[name] = _pair(*RUNS[name])
                elif name in parameters:
                    info[name] = parameter_column(name)
                elif name in by_metric:
                    info[name] = metric_column(by_metric[name], minerals)
                else:
                    info[name] = _pair("", "")
            elif table == "rounds":
                info[name] = rounds_column(name, minerals)
            elif table == "actors":
                info[name] = actors_column(name)
            else:
                info[name] = events_column(name)
        out[table] = info
    return out


def scenario_field_description(path: str) -> str | None:
    """The description of the scenario field a dotted path ends in (None if it has none)."""
    from pydantic import BaseModel

    from negotiation.engine.scenario import Scenario

    ann: Any = Scenario
    description = None
    for key in path.split("."):
        model = next(
            (a for a in _args(ann) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
        table = next((a for a in _args(ann) if typing.get_origin(a) is dict), None)
        if model is not None and key in model.model_fields:
            f = model.model_fields[key]
            ann, description = f.annotation, f.description
        elif table is not None:
            ann = typing.get_args(table)[1]
        else:
            return description
    return description


def _args(ann: Any) -> tuple[Any, ...]:
    while typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return tuple(_args(a)[0] for a in typing.get_args(ann))
    return (ann,)

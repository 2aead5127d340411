"""Writing a run's records to disk and summarising them in plain words."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pandas as pd

if TYPE_CHECKING:
    from negotiation.engine.model import BlocModel

TABLES = ("rounds", "actors", "events")


def tables(model: BlocModel) -> dict[str, pd.DataFrame]:
    return {"rounds": model.rounds_df, "actors": model.actors_df, "events": model.events_df}


def write_table(df: pd.DataFrame, path: Path, fmt: str) -> Path:
    """Write one table as CSV or Parquet (`fmt`), without the index; returns the path."""
    if fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def write_run(model: BlocModel, out: Path, fmt: str, meta: dict[str, Any]) -> list[Path]:
    """Write rounds/actors/events as CSV or Parquet, and meta.json. Returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in tables(model).items():
        paths.append(write_table(df, out / f"{name}.{fmt}", fmt))
    meta_path = out / "meta.json"
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    return [*paths, meta_path]


def summary(model: BlocModel) -> str:
    """A readable summary: who is in at the end, the floors, prices, who left and why."""
    rounds, events = model.rounds_df, model.events_df
    last = rounds.iloc[-1]
    names = {a: ag.name for a, ag in model.country_agents.items()}
    members = [names[a] for a in str(last["members"]).split("+") if a]
    internal = (
        "internally stable" if last["internally_stable"] else f"would leave: {last['would_leave']}"
    )
    external = (
        "externally stable" if last["externally_stable"] else f"would join: {last['would_join']}"
    )
    lines = [
        f"{model.config.meta.title} — {int(last['round'])} rounds of "
        f"{model.config.time.round_days} days, seed-reproducible",
        "",
        f"Bloc at the end: {', '.join(members) if members else 'nobody'}"
        f" ({len(members)} of {len(model.countries)} countries)",
        f"Instrument: {last['instrument']}, outsider penalty {last['penalty']:.0%}; "
        f"supplier's last move: {last['supplier_action']}",
        f"Stability: {internal}; {external}",
        *_partners_line(model, names, members),
        "",
        f"{'mineral':<12} {'floor':>12} {'world price':>12} {'bloc price':>12} {'bloc share':>10}"
        f" {'supplier':>9}",
    ]
    for m in model.minerals:
        floor = last[f"floor_{m}"]
        lines.append(
            f"{m:<12} {floor if floor > 0 else float('nan'):>12,.0f} "
            f"{last[f'world_price_{m}']:>12,.0f} {last[f'bloc_price_{m}']:>12,.0f} "
            f"{last[f'bloc_share_{m}']:>10.1%} {last[f'supplier_share_{m}']:>9.1%}"
        )
    lines.append("(prices in USD per tonne)")
    lines.append(f"Fiscal cost: ${last['fiscal_cost'] / 1e9:.2f}bn a year; "
                 f"stockpile fund ${last['stockpile_fund'] / 1e9:.2f}bn"
                 + (" (exhausted)" if last["fund_exhausted"] else ""))  # fmt: skip
    moves = events[
        events["kind"].isin(["joined", "left", "fund_exhausted", "closure", "restart", "project"])
    ]
    if len(moves):
        lines += ["", "Who moved and why:"]
        lines += [f"  round {int(e['round']):>3}: {e['text']}" for _, e in moves.iterrows()]
    return "\n".join(lines)


def _partners_line(model: BlocModel, names: dict[str, str], members: list[str]) -> list[str]:
    """The offtake partners, if any: who sells into the bloc's market without being in it."""
    if not model.partners:
        return []
    outside = [names[a] for a in sorted(model.partners) if names[a] not in members]
    inside = [names[a] for a in sorted(model.partners) if names[a] in members]
    text = (
        "Offtake partners outside the bloc (their producers sell into its market on its terms): "
        + (", ".join(outside) or "none")
    )
    own = {a: x for a, x in model.own_contracts.items() if names[a] not in members}
    if outside and own:  # each partner's share where one outside has its own contract
        shares = [
            (names[a], own.get(a, model.offtake_share))
            for a in sorted(model.partners)
            if names[a] not in members
        ]
        if len(shares) == 1:
            text += f" ({shares[0][1]:.0%} of its output under contract)"
        else:
            each = ", ".join(f"{n} {x:.0%}" for n, x in shares)
            text += f" (under contract: {each} of their output)"
    elif outside and model.offtake_share < 1:
        text += f" ({model.offtake_share:.0%} of their output under contract)"
    if inside:
        text += f"; joined: {', '.join(inside)}"
    return [text]


def invocation() -> str | None:
    """The command line of the running `bloc` command (as `negotiation.cli` keeps it in click's
    context), for the metadata of what it writes; None outside one (a call from Python)."""
    ctx = click.get_current_context(silent=True)
    argv = ctx.meta.get("bloc.argv") if ctx is not None else None
    return None if argv is None else shlex.join(["bloc", *argv])

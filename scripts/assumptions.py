"""How the default scenario's results move with its main assumptions: writes docs/assumptions.md.

    .venv/bin/python scripts/assumptions.py            # regenerate docs/assumptions.md
    .venv/bin/python scripts/assumptions.py --check    # exit 1 if the file is out of date

Each row runs the calibrated default scenario (ministerial-2026, 36 rounds) with one assumption
changed, through the same `--set` paths a user has, over the draws of `bloc ensemble --runs 10
--seed 0` (the same ten seeds in every row), and reports what a reader of the results would look
at. The test suite runs `--check`, so the table is always the model's own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from negotiation import BlocModel, load_scenario
from negotiation.experiments.sweep import run_seed

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "assumptions.md"
SCENARIO = "ministerial-2026"
#: Draws per row: the seeds of `bloc ensemble --runs RUNS --seed 0`.
RUNS = 10


def scaled(path: str, factor: float) -> dict[str, float]:
    """`--set` overrides multiplying a per-mineral or per-actor table's values by `factor`."""
    sc = load_scenario(SCENARIO)
    table, field = path.split(".")
    if table == "minerals":
        return {f"minerals.{m}.{field}": getattr(x, field) * factor for m, x in sc.minerals.items()}
    out: dict[str, float] = {}
    for a, x in sc.actors.items():
        value = getattr(x, field)
        if isinstance(value, dict):  # a table by mineral or by actor: scale each entry
            out.update({f"actors.{a}.{field}.{k}": v * factor for k, v in value.items()})
        else:
            out[f"actors.{a}.{field}"] = value * factor
    return out


#: (assumption, the value in the scenario, the changed value, its overrides)
VARIATIONS: list[tuple[str, str, str, dict]] = [
    ("(the calibration)", "", "", {}),
    ("demand elasticities", "-0.2 to -0.5", "x0.5", scaled("minerals.elasticity", 0.5)),
    ("demand elasticities", "-0.2 to -0.5", "x2", scaled("minerals.elasticity", 2.0)),
    ("security premium (`risk_premium`)", "0.05 to 0.5", "x0", scaled("actors.risk_premium", 0.0)),
    ("security premium (`risk_premium`)", "0.05 to 0.5", "x2", scaled("actors.risk_premium", 2)),
    ("investment lag (`lag_days`)", "730", "365", {"investment.lag_days": 365}),
    ("investment lag (`lag_days`)", "730", "1,460", {"investment.lag_days": 1460}),
    ("retirement a year", "5%", "2.5%", {"investment.retirement": 0.025}),
    ("retirement a year", "5%", "10%", {"investment.retirement": 0.10}),
    ("closure after (`closure_days`)", "365", "180", {"investment.closure_days": 180}),
    ("restart hurdle (`restart_margin`)", "0.2", "0", {"investment.restart_margin": 0.0}),
    ("restart after (`restart_days`)", "365", "90", {"investment.restart_days": 90}),
    (
        "covered goods' elasticities",
        "-1.5 / 1.5",
        "-3 / 0.75",
        {"trade.demand_elasticity": -3.0, "trade.supply_elasticity": 0.75},
    ),  # fmt: skip
    (
        "covered goods' elasticities",
        "-1.5 / 1.5",
        "-0.75 / 3",
        {"trade.demand_elasticity": -0.75, "trade.supply_elasticity": 3.0},
    ),  # fmt: skip
    ("covered exports", "as in the file", "x0", scaled("actors.covered_exports", 0.0)),
    ("uncertainty (`uncertainty.enabled`)", "on", "off", {"uncertainty.enabled": False}),
    ("forecast error", "0.3", "0", {"uncertainty.forecast_error": 0.0}),
    ("forecast error", "0.3", "0.6", {"uncertainty.forecast_error": 0.6}),
    ("supplier's surprises a year", "0.45", "0", {"uncertainty.surprise_rate": 0.0}),
    ("supplier's surprises a year", "0.45", "0.9", {"uncertainty.surprise_rate": 0.9}),
    ("demand volatility", "0.08", "0.16", {"uncertainty.demand_volatility": 0.16}),
    ("horizon (`horizon_days`)", "730", "0", {"foresight.horizon_days": 0}),
    ("horizon (`horizon_days`)", "730", "1,460", {"foresight.horizon_days": 1460}),
    (
        "costs of leaving and rejoining",
        "0.5% of a year's stake",
        "0",
        {"foresight.exit_cost": 0.0, "foresight.rejoin_cost": 0.0},
    ),  # fmt: skip
    (
        "costs of leaving and rejoining",
        "0.5% of a year's stake",
        "2%",
        {"foresight.exit_cost": 0.02, "foresight.rejoin_cost": 0.02},
    ),  # fmt: skip
    ("instrument", "border", "price gap", {"policy.instrument": "price_gap"}),
    ("instrument", "border", "stockpile", {"policy.instrument": "stockpile"}),
    (
        "stockpile's resale value (`stockpile_resale`), stockpile floors",
        "0.65 of its value unsupported",
        "0",
        {"policy.instrument": "stockpile", "policy.stockpile_resale": 0.0},
    ),  # fmt: skip
    (
        "fiscal capacity, price-gap floors",
        "as in the file",
        "x0.01",
        {"policy.instrument": "price_gap", **scaled("actors.fiscal_capacity", 0.01)},
    ),  # fmt: skip
]


def row(assumption: str, base: str, changed: str, overrides: dict) -> dict[str, object]:
    sc = load_scenario(SCENARIO, overrides)
    runs = [BlocModel(sc, rng=run_seed(0, i)).run().rounds_df for i in range(RUNS)]
    med = lambda values: float(pd.Series(values).median())  # noqa: E731
    ends = pd.Series([r["members"].iloc[-1].replace("+", ", ") or "none" for r in runs])
    top = ends.value_counts()
    left = [r["n_members"].diff().iloc[2:].lt(0).any() for r in runs]
    return {
        "assumption": assumption,
        "in the scenario": base,
        "changed to": changed or "-",
        "mean members": f"{sum(r['n_members'].iloc[1:].mean() for r in runs) / RUNS:.2f}",
        "a member left": f"{sum(left)} of {RUNS}",
        "most often in at the end": f"{top.index[0]} ({top.iloc[0]} of {RUNS})",
        "NdPr world price, end / start": f"{med(r['world_price_rare_earths'].iloc[-1] / r['world_price_rare_earths'].iloc[0] for r in runs):.2f}",  # noqa: E501
        "supplier's NdPr share at the end": f"{med(r['supplier_share_rare_earths'].iloc[-1] for r in runs):.0%}",  # noqa: E501
        "fiscal cost, $bn/yr": f"{med(r['fiscal_cost'].iloc[1:].mean() for r in runs) / 1e9:.2f}",
        "world money, $bn/yr": f"{med(r['world_money'].iloc[1:].mean() for r in runs) / 1e9:.2f}",
    }


def table() -> str:
    df = pd.DataFrame([row(*v) for v in VARIATIONS])
    head = "| " + " | ".join(df.columns) + " |\n| " + " | ".join("---" for _ in df.columns) + " |\n"
    body = "".join("| " + " | ".join(str(x) for x in rec) + " |\n" for rec in df.to_numpy())
    return head + body


def document() -> str:
    return f"""# How the results move with the main assumptions

Generated by `scripts/assumptions.py` (do not edit by hand; the test suite checks that this file is
what the script writes for the model as it is). Each row runs the calibrated default scenario
(`{SCENARIO}`, 36 rounds of 30 days) with one assumption changed through its `--set` paths, over
the same {RUNS} draws in every row (the seeds `bloc ensemble --runs {RUNS} --seed 0` uses); the
first row is the scenario as it is. Columns: the mean number of members over rounds 1-36 (averaged
over the draws); in how many draws a member left; the membership at the end most often; and,
medians over the draws, the NdPr oxide world price at the end against round 0, the supplier's
share of world NdPr supply at the end, the members' fiscal outlays for the floors (mean over the
run), and the world's money against no policy (the change in every actor's producer surplus,
net of capital charges, consumer cost, tariffs, fiscal outlays, side deals and market access,
with the rest of the world's producers and buyers, against the same world with no policy: no
bloc, the supplier selling normally, the same outages, demand swings and surprises; mean over
the run). Security is not money: under a stockpile the world's money counts the stock a
disruption uses up, at its book value, and what the release averts counts in supply security.

Assumptions without a data source are labelled as such in the scenario file; the ones here are
those the results lean on most. A result that moves a lot with one of them should be read as
conditional on it.

{table()}"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = ap.parse_args()
    text = document()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(
                f"{OUT.relative_to(ROOT)} is out of date: run scripts/assumptions.py",
                file=sys.stderr,
            )
            return 1
        print(f"{OUT.relative_to(ROOT)} is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

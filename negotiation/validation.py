"""Validation against theory and history: the limiting cases of the literature, run as checks.

Each check runs the model on a dedicated configuration (`scenarios/validation/*.toml`), computes a
figure from what the model does, and compares it with a statement from the literature
(docs/reference/domain-data.md, sections 3 and 4). Nothing is hard-coded: a check passes or fails
on the model's own numbers.

    from negotiation.validation import run_checks
    for result in run_checks():
        print(result.text())

`bloc check [--only NAME]` prints the same and exits 1 if any check fails. `fast=True` (or the
environment variable BLOC_FAST=1, which the notebooks read) uses smaller grids.

The checks:

- nordhaus-club: Nordhaus (2015). Eight identical countries; a stockpile floor helps every mine in
  the world (a public good) while members pay for it; the outsider penalty gives members' mines a
  premium in the members' market (a club good). A sweep over penalty and floor.
- daspremont-stability: d'Aspremont et al. (1983). The model's stability report against a brute
  force of every member leaving and every outsider joining, evaluated one deviation at a time.
- daspremont-free-riding: under a stockpile floor, outsiders' mines earn more per tonne than
  members', who pay for the fund.
- daspremont-many-suppliers: identical mining countries and a buyer's protected market; the stable
  bloc (no member gains by leaving, no outsider by joining) holds a smaller share of the suppliers,
  and of world supply, as their number grows.
- rubinstein: alternating offers with the registry's equilibrium strategy (negotiation.bargaining).
- tin-buffer-stock: a buffer-stock fund defending a floor above the clearing price, with outsiders
  expanding, runs dry, and the world price then falls below the floor.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from agents import make_strategy
from agents.bargaining import Rubinstein
from negotiation.bargaining import BargainingState, Offer, bargain
from negotiation.model import BlocModel
from negotiation.scenario import Scenario, load_scenario, scenario_to_dict, validate
from negotiation.types import SupplierAction, SupplierMove

NORMAL = SupplierMove(SupplierAction.NORMAL, reason="sells normally")


def fast_mode() -> bool:
    """True when the environment asks for quick, smaller checks (BLOC_FAST=1)."""
    return os.environ.get("BLOC_FAST", "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class CheckResult:
    """One check: the literature's statement, the model's figure, and whether they agree.

    `data` holds the tables behind the figure (pandas DataFrames and numbers), for notebooks."""

    name: str
    reference: str
    statement: str
    figure: str
    passed: bool
    data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def text(self) -> str:
        """The check in plain words, as `bloc check` prints it."""
        return "\n".join(
            [
                f"[{self.verdict}] {self.name}: {self.reference}",
                *_wrap("literature: ", self.statement),
                *_wrap("model:      ", self.figure),
            ]
        )


@dataclass(frozen=True)
class Check:
    name: str
    reference: str
    statement: str
    run: Callable[[bool], tuple[str, bool, dict[str, Any]]]


def usd(x: float) -> str:
    """-$2,694 rather than $-2,694."""
    return f"{'-' if x < 0 else ''}${abs(x):,.0f}"


def _wrap(label: str, text: str, width: int = 100) -> list[str]:
    import textwrap

    return textwrap.wrap(
        text, width, initial_indent="  " + label, subsequent_indent="  " + " " * len(label)
    )


# ------------------------------------------------------------------------------------------------
# Nordhaus (2015): climate clubs

#: The sweep: penalties (fractions) x floors (USD per tonne) on scenarios/validation/symmetric-club.
NORDHAUS_PENALTIES = tuple(round(0.05 * i, 2) for i in range(11))  # 0, 0.05, ..., 0.5
NORDHAUS_FLOORS = (11000.0, 12500.0, 14000.0)
NORDHAUS_FAST_PENALTIES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
NORDHAUS_FAST_FLOORS = (11000.0, 14000.0)


def nordhaus_sweep(
    penalties: Iterable[float] = NORDHAUS_PENALTIES,
    floors: Iterable[float] = NORDHAUS_FLOORS,
    scenario: str | Scenario = "symmetric-club",
    seed: int = 0,
    rounds: int | None = None,
) -> pd.DataFrame:
    """Run the club at every (floor, penalty) and report who is in at the end.

    One row per run: floor (the target, USD/t), penalty, members (countries in the bloc after the
    last round), final_floor (the floor they ended with: invitees may counter-propose lower
    floors), world_price (USD/t, last round), stockpiled (t bought in the last round), and
    members_at_target: the members of a club that still holds the target floor (a club that
    bargained its floor down counts as 0 at the target, as Nordhaus measures participation at a
    given target).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    mineral = sc.mineral_ids[0]
    penalties = tuple(penalties)
    rows = []
    for floor in tuple(floors):
        for pen in penalties:
            m = BlocModel(sc, penalty=pen, floors={mineral: floor}, rounds=rounds, rng=seed).run()
            last = m.rounds_df.iloc[-1]
            final_floor = float(m.floors[0])
            members = len(m.members)
            held = final_floor >= floor * (1 - 1e-9)
            rows.append(
                {
                    "floor": float(floor),
                    "penalty": float(pen),
                    "members": members,
                    "final_floor": final_floor,
                    "world_price": float(last[f"world_price_{mineral}"]),
                    "stockpiled": float(last[f"stockpiled_{mineral}"]),
                    "members_at_target": members if held else 0,
                }
            )
    return pd.DataFrame(rows)


def threshold_penalty(sweep: pd.DataFrame, floor: float, at_least: float) -> float:
    """The lowest penalty at which the club holds `at_least` members at the target floor (inf if
    none in the sweep)."""
    rows = sweep[(sweep["floor"] == floor) & (sweep["members_at_target"] >= at_least)]
    return float(rows["penalty"].min()) if len(rows) else math.inf


def _nordhaus(fast: bool) -> tuple[str, bool, dict[str, Any]]:
    sc = load_scenario("symmetric-club")
    n = len(sc.country_ids)
    pens = NORDHAUS_FAST_PENALTIES if fast else NORDHAUS_PENALTIES
    floors = NORDHAUS_FAST_FLOORS if fast else NORDHAUS_FLOORS
    sweep = nordhaus_sweep(pens, floors, sc)
    small, large = n / 4, n / 2
    thresholds = {f: threshold_penalty(sweep, f, large) for f in floors}
    zero = sweep[sweep["penalty"] == 0.0]
    stays_small = bool((zero["members_at_target"] <= small).all())
    # Without a penalty, a club that survives holds only a floor that costs nothing (the fund buys
    # nothing: "minimal abatement").
    minimal = bool(((zero["members"] <= small) | (zero["stockpiled"] <= 0.0)).all())
    monotone, jumps = True, {}
    for f in floors:
        path = sweep[sweep["floor"] == f].sort_values("penalty")["members_at_target"].to_numpy()
        monotone &= bool(np.all(np.diff(path) >= 0))
        jumps[f] = int(np.diff(path).max()) if len(path) > 1 else 0
    formed = [f for f in floors if math.isfinite(thresholds[f])]
    sharp = bool(formed) and all(jumps[f] >= large for f in formed)
    t = [thresholds[f] for f in floors]
    ordered = all(a <= b for a, b in zip(t, t[1:])) and t[-1] > t[0]
    lowest = floors[0]
    passed = stays_small and minimal and monotone and sharp and ordered and lowest in formed

    def pen(x: float) -> str:
        return f"{x:.0%}" if math.isfinite(x) else "none up to " + f"{max(pens):.0%}"

    z = zero[zero["floor"] == lowest].iloc[0]
    cut = (
        f"at zero penalty and a ${lowest:,.0f} floor the {int(z['members'])} who stay "
        f"cut their floor to ${z['final_floor']:,.0f}, under the world price of "
        f"${z['world_price']:,.0f}, so the fund buys {z['stockpiled']:,.0f} t"
        if z["members"] > small
        else f"at zero penalty and a ${lowest:,.0f} floor {int(z['members'])} stay"
    )
    figure = (
        f"{n} identical countries, starting all in, {len(sweep)} runs. Members holding the floor "
        f"at zero penalty: {', '.join(str(int(x)) for x in zero['members_at_target'])} of {n} "
        f"(floors {', '.join(f'${f:,.0f}' for f in floors)}); {cut}. Penalty at which at least "
        f"{int(large)} hold the floor: "
        + ", ".join(f"{pen(thresholds[f])} at ${f:,.0f}" for f in floors)
        + f"; membership jumps by {', '.join(str(jumps[f]) for f in floors)} in one "
        f"{min(np.diff(sorted(pens))):.0%} step of the penalty"
        + ("" if monotone else "; NOT monotone in the penalty")
        + "."
    )
    data = {"sweep": sweep, "thresholds": thresholds, "countries": n}
    return figure, passed, data


# ------------------------------------------------------------------------------------------------
# d'Aspremont et al. (1983): stability, free-riding, many suppliers


class AuditedModel(BlocModel):
    """A BlocModel that checks its stability report by brute force as each round is recorded.

    The record of round r is taken at the state the report uses (members after round r's
    negotiation, capacity and fund before round r's flows, the supplier's move of round r); here,
    before the report, every member's leaving and every outsider's joining is cleared on its own,
    one deviation per batch, and the gains are kept in `audit` (one row per round and country).
    """

    def _record_round(self, r: int, decisions: dict[str, str], move: SupplierMove) -> None:
        if "audit" not in self.__dict__:
            self.audit: list[dict[str, Any]] = []
        self.audit.extend(brute_force_stability(self, r, move))
        super()._record_round(r, decisions, move)


def brute_force_stability(model: BlocModel, r: int, move: SupplierMove) -> list[dict[str, Any]]:
    """For the model's current members: each member's gain from staying (utility in the bloc minus
    utility after leaving alone) and each outsider's gain from joining alone, USD per year; each
    pair of packages cleared in its own batch."""
    members = model.members
    rows = []
    for a in model.countries:
        i = model.index[a]
        if a in members:
            ev = model.evaluate([(members, 1.0, move), (members - {a}, 1.0, move)], r)
        else:
            ev = model.evaluate([(members | {a}, 1.0, move), (members, 1.0, move)], r)
        gain = float(ev.util[0, i] - ev.util[1, i])
        rows.append(
            {
                "round": r,
                "actor": a,
                "member": a in members,
                "gain": gain,
                "would_leave": a in members and gain < 0,
                "would_join": a not in members and gain > 0,
            }
        )
    return rows


#: Runs audited by `daspremont-stability`: (scenario, keyword arguments of BlocModel).
AUDITED_RUNS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("ministerial-2026", {"rounds": 12}),
    ("symmetric-club", {"rounds": 4}),
    ("symmetric-club", {"rounds": 4, "penalty": 0.4, "floors": {"ore": 12500.0}}),
    ("tin-buffer-stock", {"rounds": 20}),
)
AUDITED_FAST: tuple[tuple[str, dict[str, Any]], ...] = (
    ("ministerial-2026", {"rounds": 4}),
    ("symmetric-club", {"rounds": 3}),
    ("tin-buffer-stock", {"rounds": 4}),
)


def stability_audit(scenario: str | Scenario, seed: int = 0, **kwargs: Any) -> pd.DataFrame:
    """Run `scenario` and compare, round by round and country by country, the model's stability
    report (rounds_df would_leave / would_join, actors_df margin) with the brute force.

    One row per round and country: member, gain (brute force, USD/yr), margin (the model's, for
    members), would_leave / would_join by brute force and by the report, and `agrees`."""
    m = AuditedModel(scenario, rng=seed, **kwargs).run()
    brute = pd.DataFrame(m.audit)
    rounds = m.rounds_df.set_index("round")
    actors = m.actors_df.set_index(["round", "actor"])
    out = []
    for row in brute.itertuples(index=False):
        rec = rounds.loc[row.round]
        leave = row.actor in str(rec["would_leave"]).split("+")
        join = row.actor in str(rec["would_join"]).split("+")
        margin = float(actors.loc[(row.round, row.actor), "margin"])
        tol = 1e-6 * m.stake[row.actor]
        near_zero = abs(row.gain) <= tol
        same = (leave == row.would_leave and join == row.would_join) or near_zero
        if row.member:
            same = same and abs(margin - row.gain) <= tol
        out.append(
            {
                "scenario": m.config.meta.name,
                "round": row.round,
                "actor": row.actor,
                "member": row.member,
                "gain": row.gain,
                "margin": margin,
                "would_leave": row.would_leave,
                "would_join": row.would_join,
                "report_would_leave": leave,
                "report_would_join": join,
                "internally_stable": bool(rec["internally_stable"]),
                "externally_stable": bool(rec["externally_stable"]),
                "agrees": same,
            }
        )
    df = pd.DataFrame(out)
    # The round's flags must say what its lists say.
    flags = df.groupby("round").agg(
        leave=("report_would_leave", "any"),
        join=("report_would_join", "any"),
        internal=("internally_stable", "first"),
        external=("externally_stable", "first"),
    )
    inconsistent = (flags["leave"] == flags["internal"]) | (flags["join"] == flags["external"])
    df.loc[df["round"].isin(flags.index[inconsistent]), "agrees"] = False
    return df


def batch_dependence(scenario: str | Scenario = "symmetric-club", seed: int = 0) -> dict[str, Any]:
    """Whether clearing a package gives the same components whatever else is in the batch.

    The opening package of `scenario` is cleared alone and then with every country toggled in or
    out beside it (the batch the stability report uses). Returns the largest difference (USD/yr),
    the component and actor where it occurs, and both values. A correct engine gives 0."""
    from negotiation.types import COMPONENTS

    m = BlocModel(scenario, rng=seed)
    members = m.members
    alone = m.evaluate([(members, 1.0, NORMAL)], 0)
    batch = m.evaluate([(members, 1.0, NORMAL)] + [(members ^ {a}, 1.0, NORMAL)
                                                     for a in m.countries], 0)  # fmt: skip
    diff = np.abs(alone.comp[0] - batch.comp[0])
    i, c = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return {
        "max_difference": float(diff[i, c]),
        "actor": m.actor_ids[i],
        "component": COMPONENTS[c],
        "alone": float(alone.comp[0, i, c]),
        "in_batch": float(batch.comp[0, i, c]),
        "batch_size": len(m.countries) + 1,
    }


def _stability(fast: bool) -> tuple[str, bool, dict[str, Any]]:
    runs = AUDITED_FAST if fast else AUDITED_RUNS
    audit = pd.concat([stability_audit(sc, **kw) for sc, kw in runs], ignore_index=True)
    bad = audit[~audit["agrees"]]
    n_rounds = audit.groupby(["scenario", "round"]).ngroups
    leaves = int(audit["would_leave"].sum())
    joins = int(audit["would_join"].sum())
    unstable = audit.groupby(["scenario", "round"])["would_leave"].any().sum()
    names = ", ".join(dict.fromkeys(sc for sc, _ in runs))
    if bad.empty:
        figure = (
            f"{len(audit)} (round, country) cases over {n_rounds} rounds of {len(runs)} runs "
            f"({names}): the report agrees with the brute force on every case (a member would "
            f"leave in {leaves}, an outsider would join in {joins}; {int(unstable)} rounds "
            "internally unstable) and every member's gain matches to within 1e-6 of its stake."
        )
    else:
        worst = bad.assign(diff=(bad["margin"] - bad["gain"]).abs()).sort_values("diff").iloc[-1]
        figure = (
            f"{len(bad)} of {len(audit)} (round, country) cases disagree ({names}). E.g. "
            f"{worst['scenario']} round {int(worst['round'])}, {worst['actor']}: the report's "
            f"gain from staying {worst['margin']:+.4g} USD/yr against {worst['gain']:+.4g} by "
            f"brute force (would leave: report {bool(worst['report_would_leave'])}, brute force "
            f"{bool(worst['would_leave'])})."
        )
        dep = batch_dependence()
        if dep["max_difference"] > 1.0:
            figure += (
                f" Diagnosis: the same package gives {dep['actor']} a {dep['component']} of "
                f"{dep['alone']:+.4g} USD/yr cleared alone and {dep['in_batch']:+.4g} cleared in "
                f"a batch of {dep['batch_size']}: BlocModel.evaluate's results depend on the "
                "batch."
            )
    return figure, bad.empty, {"audit": audit}


def symmetric_suppliers(
    n: int,
    members: int = 0,
    scenario: str = "symmetric-suppliers",
    **policy: Any,
) -> Scenario:
    """The d'Aspremont world with `n` identical mining countries (copies of p1), the first
    `members` of them in the bloc with the buyer. Each mining country added beyond the file's
    comes with as many tonnes of rest-of-world demand, so the world price stays where it is while
    the buyer's protected market does not grow. `policy` overrides policy keys (instrument,
    outsider_penalty...)."""
    data = scenario_to_dict(load_scenario(scenario))
    actors = data["actors"]
    producers = [a for a in actors if a.startswith("p") and a[1:].isdigit()]
    template = actors["p1"]
    mineral = next(iter(data["minerals"]))
    q = template["production"][mineral]
    rebuilt = {a: v for a, v in actors.items() if a not in producers}
    supplier = rebuilt.pop(data["supplier"]["actor"])
    for k in range(1, n + 1):
        rebuilt[f"p{k}"] = {**template, "name": f"Mining country {k}"}
    rebuilt[data["supplier"]["actor"]] = supplier
    data["actors"] = rebuilt
    data["minerals"][mineral]["demand"] += (n - len(producers)) * q
    anchors = [a for a in data["policy"]["initial_members"] if a not in producers]
    data["policy"]["initial_members"] = anchors + [f"p{k}" for k in range(1, members + 1)]
    data["policy"].update(policy)
    data["meta"]["name"] = f"{scenario}-{n}"
    return validate(data, f"{scenario} with {n} mining countries")


def stable_bloc(n: int, scenario: str = "symmetric-suppliers") -> dict[str, Any]:
    """The stable bloc among `n` identical mining countries, by sequential accession: starting
    from the buyer alone, mining countries join one at a time while the next one gains by joining.
    The bloc where that stops is externally stable by construction; `internally_stable` says
    whether its last member (all are alike) also gains by staying. Gains from the model's own
    payoffs (BlocModel.evaluate), at the opening state."""
    m = BlocModel(symmetric_suppliers(n, scenario=scenario), rng=0)
    anchors = frozenset(m.members)
    producers = [a for a in m.countries if a not in anchors]
    ev = m.evaluate([(anchors | set(producers[:k]), 1.0, NORMAL) for k in range(n + 1)], 0)

    def util(k: int, a: str) -> float:
        return float(ev.util[k, m.index[a]])

    join_gain = [util(k + 1, producers[k]) - util(k, producers[k]) for k in range(n)]
    k = next((k for k in range(n) if join_gain[k] <= 0), n)
    stay_gain = util(k, producers[k - 1]) - util(k - 1, producers[k - 1]) if k else math.inf
    mineral = m.minerals[0]
    return {
        "suppliers": n,
        "stable_members": k,
        "share_of_suppliers": k / n,
        "share_of_supply": float(ev.outcome.bloc_share[k, 0]),
        "internally_stable": stay_gain >= 0,
        "externally_stable": k == n or join_gain[k] <= 0,
        "next_joiner_gain": join_gain[k] if k < n else math.nan,
        "world_price": float(ev.outcome.world_price[k, 0]),
        "bloc_price": float(ev.outcome.bloc_price[k, 0]),
        "mineral": mineral,
    }


SUPPLIER_COUNTS = (2, 4, 8, 16)
SUPPLIER_COUNTS_FAST = (2, 4, 8)


def _many_suppliers(fast: bool) -> tuple[str, bool, dict[str, Any]]:
    counts = SUPPLIER_COUNTS_FAST if fast else SUPPLIER_COUNTS
    table = pd.DataFrame([stable_bloc(n) for n in counts])
    frac = table["share_of_suppliers"].to_numpy()
    supply = table["share_of_supply"].to_numpy()
    stable = bool((table["internally_stable"] & table["externally_stable"]).all())
    falls = bool(
        np.all(np.diff(frac) <= 1e-12)
        and frac[-1] < frac[0]
        and np.all(np.diff(supply) <= 1e-12)
        and supply[-1] < supply[0]
    )
    figure = (
        "Stable bloc (sequential accession; no member gains by leaving, no outsider by joining) "
        "with N = "
        + ", ".join(str(n) for n in counts)
        + " identical mining countries: "
        + ", ".join(
            f"{int(r.stable_members)} of {int(r.suppliers)}" for r in table.itertuples(index=False)
        )
        + "; share of the suppliers "
        + " -> ".join(f"{x:.0%}" for x in frac)
        + "; share of world supply "
        + " -> ".join(f"{x:.1%}" for x in supply)
        + (
            ". Every one of them is internally and externally stable."
            if stable
            else ". NOT every one is internally and externally stable."
        )
        + " (The bloc's size is set by the buyer's protected market, which does not grow with N.)"
    )
    return figure, stable and falls, {"table": table}


def free_riding(n: int = 8, members: int = 4) -> pd.DataFrame:
    """Per-tonne margins of the mining countries under a stockpile floor with no penalty, the
    first `members` of `n` in the bloc: producer surplus per tonne produced, and, for members, net
    of their share of the fund's purchases (fiscal outlay), USD per tonne. From the record of the
    opening round (round 0)."""
    sc = symmetric_suppliers(n, members, instrument="stockpile", outsider_penalty=0.0)
    m = BlocModel(sc, rng=0)
    actors = m.actors_df[m.actors_df["round"] == 0].set_index("actor")
    out = m.last_outcome
    rows = []
    for a in m.countries:
        if a == "buyer":
            continue
        i = m.index[a]
        q = float(out.production[0, i].sum())
        ps = float(actors.loc[a, "producer_surplus"])
        fiscal = float(actors.loc[a, "fiscal_outlay"])
        rows.append(
            {
                "actor": a,
                "member": bool(actors.loc[a, "member"]),
                "production": q,
                "producer_surplus_per_t": ps / q,
                "fiscal_outlay_per_t": fiscal / q,
                "net_margin_per_t": (ps + fiscal) / q,
            }
        )
    df = pd.DataFrame(rows)
    df.attrs["world_price"] = float(out.world_price[0, 0])
    df.attrs["floor"] = float(m.floors[0])
    df.attrs["stockpiled"] = float(out.stock_purchases[0, 0])
    return df


def _free_riding(fast: bool) -> tuple[str, bool, dict[str, Any]]:
    df = free_riding()
    mem, out = df[df["member"]], df[~df["member"]]
    binding = df.attrs["stockpiled"] > 0
    passed = binding and float(out["net_margin_per_t"].min()) > float(mem["net_margin_per_t"].max())
    figure = (
        f"{len(mem)} of {len(df)} identical mining countries in the bloc, stockpile floor "
        f"${df.attrs['floor']:,.0f}/t, no penalty: the fund buys {df.attrs['stockpiled']:,.0f} t a "
        f"year and holds the world price at ${df.attrs['world_price']:,.0f}/t for every mine. "
        f"Margin per tonne: outsiders {usd(out['net_margin_per_t'].mean())}; members "
        f"{usd(mem['producer_surplus_per_t'].mean())} less "
        f"{usd(-mem['fiscal_outlay_per_t'].mean())} for the fund = "
        f"{usd(mem['net_margin_per_t'].mean())}."
    )
    return figure, bool(passed), {"margins": df}


# ------------------------------------------------------------------------------------------------
# Rubinstein (1982): alternating offers

RUBINSTEIN_PAIRS = ((0.9, 0.9), (0.5, 0.9), (0.9, 0.5), (0.95, 0.8), (0.8, 0.95), (0.99, 0.99))


def rubinstein_table(
    pairs: Sequence[tuple[float, float]] = RUBINSTEIN_PAIRS, offers: int = 1001
) -> pd.DataFrame:
    """Two `rubinstein` players for each (d1, d2): the period of agreement, player 1's share, the
    formula (1 - d2) / (1 - d1 d2) and their relative error; and, found by search, player 1's best
    first offer against an equilibrium opponent (`offers` evenly spaced first offers, equilibrium
    play afterwards), with what it is worth."""
    rows = []
    for d1, d2 in pairs:
        a = bargain("rubinstein", "rubinstein", d1, d2)
        theory = (1 - d2) / (1 - d1 * d2)
        share = a.shares[0] if a.agreed else math.nan
        grid = np.linspace(0.0, 1.0, offers)
        worth = [bargain(FirstOffer(first=x), "rubinstein", d1, d2).payoffs[0] for x in grid]
        best = int(np.argmax(worth))
        rows.append(
            {
                "d1": d1,
                "d2": d2,
                "period": a.period,
                "share_1": share,
                "theory": theory,
                "error": abs(share - theory) / theory,
                "best_first_offer": float(grid[best]),
                "best_deviation": float(worth[best]),
            }
        )
    return pd.DataFrame(rows)


class FirstOffer(Rubinstein):
    """Equilibrium play except a chosen first offer: a one-shot deviation (not registered)."""

    name = "first-offer"
    defaults = {"first": 0.5}

    def propose(self, state: BargainingState) -> Offer:
        if state.period == 0:
            return Offer(0, state.me, self.params["first"], "a one-shot deviation")
        return super().propose(state)


def _rubinstein(fast: bool) -> tuple[str, bool, dict[str, Any]]:
    table = rubinstein_table(RUBINSTEIN_PAIRS[:3] if fast else RUBINSTEIN_PAIRS)
    at_once = bool((table["period"] == 0).all())
    close = bool((table["error"] <= 0.01).all())
    searched = (table["best_first_offer"] - table["theory"]).abs() / table["theory"]
    no_deviation = bool((table["best_deviation"] <= table["share_1"] + 1e-9).all())
    no_deviation = no_deviation and bool((searched <= 0.01).all())
    greedy = bargain(make_strategy("greedy", "bargainer", demand=0.9), "rubinstein", 0.9, 0.9)
    theory = 1 / 1.9
    greedy_worse = greedy.payoffs[0] < theory
    passed = at_once and close and no_deviation and greedy_worse
    outcome = (
        f"agreement in period {greedy.period} worth {greedy.payoffs[0]:.3f}"
        if greedy.agreed
        else f"no agreement in {len(greedy.offers)} periods (worth 0)"
    )
    figure = (
        "Two `rubinstein` players, "
        + "; ".join(
            f"d=({r.d1:g},{r.d2:g}): period {r.period}, player 1 gets {r.share_1:.4f} "
            f"(formula {r.theory:.4f}, error {r.error:.1e})"
            for r in table.itertuples(index=False)
        )
        + ". Player 1's best first offer, found by trying 1,001 against an equilibrium player 2: "
        + ", ".join(f"{x:.3f}" for x in table["best_first_offer"])
        + ("" if no_deviation else " (NOT the equilibrium share)")
        + f". A `greedy` player 1 asking 90% against `rubinstein` (d = 0.9): {outcome}, "
        f"against {theory:.3f} in equilibrium."
    )
    return figure, passed, {"table": table, "greedy": greedy}


# ------------------------------------------------------------------------------------------------
# The tin agreement (1985)


def tin_run(scenario: str | Scenario = "tin-buffer-stock", seed: int = 0,
            overrides: dict[str, Any] | None = None) -> tuple[BlocModel, pd.DataFrame]:  # fmt: skip
    """Run the tin world round by round; returns the model and a table per round of the fund, the
    world price against the floor, and the outsiders' capacity (the supplier-seat producer and
    the rest-of-world fringe, t/yr) at the end of each round."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overrides)
    m = BlocModel(sc, rng=seed)
    sup = m.index[m.supplier_id]

    def outside() -> float:
        return float(m.capacity[sup].sum() + m.fringe_capacity.sum())

    capacity = [outside()]
    while m.round < m.rounds:
        m.step()
        capacity.append(outside())
    mineral = m.minerals[0]
    df = m.rounds_df[["round", "day", "n_members", "stockpile_fund", "fund_exhausted"]].copy()
    df["world_price"] = m.rounds_df[f"world_price_{mineral}"]
    df["floor"] = m.rounds_df[f"floor_{mineral}"]
    df["stockpiled"] = m.rounds_df[f"stockpiled_{mineral}"]
    df["supplier_share"] = m.rounds_df[f"supplier_share_{mineral}"]
    df["outside_capacity"] = capacity
    return m, df


def _tin(fast: bool) -> tuple[str, bool, dict[str, Any]]:
    m, df = tin_run()
    exhausted = df.index[df["fund_exhausted"]]
    floor = float(df["floor"].iloc[0])
    fund0 = float(df["stockpile_fund"].iloc[0])
    _, still = tin_run(overrides={"investment.rate": 0.0})
    still_exhausted = still.index[still["fund_exhausted"]]
    if len(exhausted) == 0:
        figure = (
            f"The fund (${fund0 / 1e9:.2f}bn) still holds "
            f"${df['stockpile_fund'].iloc[-1] / 1e9:.2f}bn after {int(df['round'].iloc[-1])} "
            "rounds: it never runs dry."
        )
        return figure, False, {"rounds": df, "no_investment": still}
    r = int(df.loc[exhausted[0], "round"])
    after = df[df["round"] > r]
    below = bool(len(after)) and bool((after["world_price"] < floor).all())
    expanded = float(df.loc[exhausted[0], "outside_capacity"]) / float(
        df["outside_capacity"].iloc[0]
    )
    later = len(still_exhausted) == 0 or int(still.loc[still_exhausted[0], "round"]) > r
    years = r * m.config.time.round_days / 365
    first_after = float(after["world_price"].iloc[0]) if len(after) else math.nan
    without = (
        f"the fund still holds ${still['stockpile_fund'].iloc[-1] / 1e9:.2f}bn at the end"
        if len(still_exhausted) == 0
        else f"it runs dry in round {int(still.loc[still_exhausted[0], 'round'])}"
    )
    figure = (
        f"The ${fund0 / 1e9:.2f}bn fund defending ${floor:,.0f}/t runs dry in round {r} "
        f"({years:.1f} years; the ITC's lasted from Jul 1982 to Oct 1985, 3.3 years), after the "
        f"outsiders' capacity grew by {expanded - 1:+.0%}. The world price then falls to "
        f"${first_after:,.0f}/t ({first_after / floor:.0%} of the floor; history: GBP 8,900 -> "
        f"5,500, 62%) and stays below the floor in all {len(after)} remaining rounds "
        f"(last ${after['world_price'].iloc[-1]:,.0f}). With no new capacity anywhere, {without}."
    )
    passed = below and expanded > 1.0 and later
    return figure, passed, {"rounds": df, "no_investment": still, "exhausted_round": r}


# ------------------------------------------------------------------------------------------------
# The registry of checks

CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        Check(
            "nordhaus-club",
            "Nordhaus (2015), Climate Clubs, AER 105(4)",
            "Without sanctions against non-participants there are no stable coalitions other than "
            "those with minimal abatement: with no penalty on outsiders the club stays small (0-3 "
            "of 15 regions); participation rises with the penalty, with a threshold; a higher "
            "target needs a higher penalty for the same participation.",
            _nordhaus,
        ),
        Check(
            "daspremont-stability",
            "d'Aspremont, Jacquemin, Gabszewicz & Weymark (1983)",
            "A bloc is internally stable when no member gains by leaving and externally stable "
            "when no outsider gains by joining: the model's stability report must agree with a "
            "brute-force check of every member leaving and every outsider joining.",
            _stability,
        ),
        Check(
            "daspremont-free-riding",
            "d'Aspremont et al. (1983); Stigler (1950)",
            "It is more profitable to be outside a cartel than in it: the fringe, selling at the "
            "price the floor supports without bearing its cost, earns more per unit than members.",
            _free_riding,
        ),
        Check(
            "daspremont-many-suppliers",
            "d'Aspremont et al. (1983)",
            "With a finite number of firms a stable cartel exists; in large industries the stable "
            "cartel's share tends to zero: as the number of symmetric suppliers grows, the stable "
            "bloc's share falls.",
            _many_suppliers,
        ),
        Check(
            "rubinstein",
            "Rubinstein (1982), Econometrica 50(1)",
            "Two players splitting a pie by alternating offers, with discount factors d1 and d2, "
            "agree at once in the unique perfect equilibrium, the first proposer getting "
            "(1 - d2) / (1 - d1 d2) (within 1% here).",
            _rubinstein,
        ),
        Check(
            "tin-buffer-stock",
            "International Tin Agreement, 1982-1985 (docs/reference/domain-data.md, section 3)",
            "A buffer-stock fund defending a floor above the market-clearing price, while outside "
            "producers expand (Brazil), drains and runs dry (24 Oct 1985), and the price then "
            "falls below the floor (GBP 8,900 -> 5,500 per tonne overnight).",
            _tin,
        ),
    )
}


def check_names() -> list[str]:
    return list(CHECKS)


def select(only: Iterable[str] | None = None) -> list[str]:
    """Check names to run: all, or those named in `only` (a name, or a prefix such as
    "daspremont"). Raises ValueError naming an unknown one."""
    wanted = [w.strip() for w in (only or ()) if w.strip()]
    if not wanted:
        return check_names()
    chosen: list[str] = []
    for w in wanted:
        hits = [n for n in CHECKS if n == w] or [n for n in CHECKS if n.startswith(w)]
        if not hits:
            close = difflib.get_close_matches(w, list(CHECKS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"--only {w}: no such check{hint}; checks: {', '.join(CHECKS)}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def run_check(name: str, fast: bool | None = None) -> CheckResult:
    """Run one check. A check that raises fails, with the error as its figure."""
    check = CHECKS[name]
    fast = fast_mode() if fast is None else fast
    try:
        figure, passed, data = check.run(fast)
    except Exception as e:  # a broken engine fails the check; it does not stop the others
        figure, passed, data = f"the check could not run: {type(e).__name__}: {e}", False, {}
    return CheckResult(check.name, check.reference, check.statement, figure, bool(passed), data)


def run_checks(only: Iterable[str] | None = None, fast: bool | None = None) -> list[CheckResult]:
    """Run the selected checks (all by default), in order."""
    return [run_check(n, fast) for n in select(only)]

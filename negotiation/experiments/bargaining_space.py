"""The bargaining space of the package on the table, as Genius's analysis view shows it.

`bargaining_space(model)` takes a `BlocModel` at its current round and lays out the alternatives
around the package that was on the table: the floors in force scaled from 0.6 to 1.6 (every floor,
or with `minerals=` a table's own: `table_minerals` names the floors the round's table
negotiated, as the app and the workshop's debrief lay them out), outsider
penalties from none to 100 %, and every combination of the round's invitees coming in (all of them
up to four invitees; beyond that, none, each alone and all). It clears them all in one
`BlocModel.evaluate` batch, with the supplier's latest move, in the world as it stands now, and
returns one row per alternative: its terms, each party's utility (USD/yr, the weighted components
the model's agents weigh, its level net of the capital charges the records count, which no agent
weighs: they are the same in every row) and its gain over its disagreement point, whether the
alternative is Pareto-efficient among those evaluated, which one is the Nash bargaining solution
over the grid, and which are the status quo, the proposal and the agreement.

**Parties.** The members of the bloc as it stood when the round opened, and the round's invitees.
The supplier is not a party to the bloc's bargain: it is not invited and cannot sign; its move is
part of the world the parties bargain in (it acts after them, and is held at its latest move).

**The disagreement point** (no deal) is the status quo: the bloc as it stood when the round opened,
with nobody joining, at the terms then in force (the proposed floors, penalty and cost sharing).
For an invitee, its utility outside the bloc as it stands; for a member, its utility in the bloc as
it stands without the newcomers. It is the model's own comparison: an invitee accepts when joining
beats staying out at the proposed floors, and a member agrees to a counter-proposal that leaves it
no worse off than the invitee staying out (`negotiation.rules.protocol`).

**Pareto.** An alternative is efficient among those evaluated when no other gives every party at
least as much and one party more. **Nash.** The Nash bargaining solution over the grid is the
alternative that maximises the product of the parties' gains over the disagreement point, among
those where every party gains (by more than rounding: a billionth of its stake, the model's own
tolerance); none when there is no such alternative.

**Which round.** After round r the proposal is the one tabled in round r (`BlocModel.last_table`)
and the agreement is the bloc and terms after its answers. At round 0 nothing has been tabled: the
proposal is the package the first round would open with (the levers in force, the countries round
1 invites) and nothing is agreed. The markets are cleared as the model clears them now: round r's
demand and outages, the capacity, stock and fund after round r's investment and purchases, the
supplier's move of round r. At round 0 the status quo's utilities are the round-0 record's; after
round r they differ from round r's record by what the round's investment, retirement and purchases
changed (the invitees themselves forecast with the supplier's previous move and with errors).

A query: nothing in the run changes (records, levers and random state), and nothing is computed
unless it is called: a round costs what it did.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from negotiation.engine.model import BlocModel

#: Multiples of the proposed floors (0.8, 1 and 1.25 are the scales the model's invitees weigh).
FLOOR_SCALES: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6)
#: Outsider penalties (the proposed and agreed ones are added).
PENALTIES: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
#: Up to this many invitees every combination of them is evaluated; beyond, none, each alone, all.
ALL_COMBINATIONS_UP_TO = 4
#: A gain counts when it beats zero by more than this share of the party's stake (as the model's
#: own `_losing`): a party indifferent up to rounding does not gain.
TOLERANCE = 1e-9


def bargaining_space(
    model: BlocModel,
    scales: Sequence[float] = FLOOR_SCALES,
    penalties: Sequence[float] = PENALTIES,
    memberships: bool = True,
    minerals: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The alternatives around the package on the table, one row each (see the module's text).

    Columns: `members` (the bloc, ids joined by "+"), `joining` (the invitees in), `floor_scale`
    (a multiple of the proposed floors; NaN for an agreement on floors of its own), `penalty`,
    `utility_<party>` and `gain_<party>` (USD/yr), `all_gain`, `nash_product` (NaN unless every
    party gains), `pareto`, `nash`, `status_quo`, `on_table`, `agreed`. `attrs`: `round`,
    `parties`, `names`, `convener`, `disagreement` ({party: USD/yr}), `nash` (the row of the Nash
    point or None), `supplier_move`, `minerals`. `memberships=False` keeps the invitees as
    proposed (all in, plus the status quo and the agreement). `minerals`: scale only these
    floors, the others as proposed (a table's own package, where a track names its minerals of
    interest; default: every floor)."""
    from negotiation.engine.evaluator import PackageSpec

    table = _table(model)
    invitees = list(table["invitees"])
    base = frozenset(table["members"])
    parties = [a for a in model.countries if a in base or a in invitees]
    floors0 = np.asarray(table["floors"], dtype=float)
    if minerals is not None:
        unknown = sorted(set(minerals) - set(model.minerals))
        if unknown:
            raise ValueError(f"minerals: {', '.join(unknown)} not in the scenario's minerals")
    scaled = np.array([minerals is None or x in minerals for x in model.minerals])
    if not floors0[scaled].any():
        scales = (1.0,)  # no floor to scale: every scale is the same package
    pens = sorted({*map(float, penalties), float(table["penalty"])})

    if not memberships:
        groups: list[tuple[str, ...]] = [(), tuple(invitees)]
    elif len(invitees) <= ALL_COMBINATIONS_UP_TO:
        groups = [c for n in range(len(invitees) + 1) for c in itertools.combinations(invitees, n)]
    else:
        groups = [(), *((a,) for a in invitees), tuple(invitees)]
    groups = list(dict.fromkeys(groups))

    rows: list[dict[str, Any]] = []
    for group in groups:
        for s in sorted(set(map(float, scales))):
            for p in pens:
                floors = np.where(scaled, floors0 * s, floors0)
                rows.append(_row(base | set(group), floors, s, p, table["cost_sharing"]))
    agreed = None
    if table["agreed_members"] is not None:
        f = np.asarray(table["agreed_floors"], dtype=float)
        ratio = _uniform_ratio(f, floors0)
        agreed = _row(
            frozenset(table["agreed_members"]),
            f,
            ratio,
            float(table["agreed_penalty"]),
            table["agreed_cost_sharing"],
        )

    def find(row: dict[str, Any]) -> int:
        for k, r in enumerate(rows):
            if _same(r, row):
                return k
        rows.append(row)
        return len(rows) - 1

    k_quo = find(_row(base, floors0, 1.0, float(table["penalty"]), table["cost_sharing"]))
    k_table = find(
        _row(base | set(invitees), floors0, 1.0, float(table["penalty"]), table["cost_sharing"])
    )
    k_agreed = find(agreed) if agreed is not None else None

    move = model.last_move
    specs = [
        PackageSpec(
            r["set"],
            1.0,
            move,
            {
                "floors": dict(zip(model.minerals, r["floors"].tolist())),
                "penalty": r["penalty"],
                "cost_sharing": r["cost_sharing"],
            },
        )
        for r in rows
    ]
    ev = model.evaluate(specs, model.round)
    idx = [model.index[a] for a in parties]
    # utility levels as the records count them: net of capital charges (the same in every row)
    util = np.asarray(ev.util[:, idx], dtype=float) - model.capital_utility()[idx]  # (K, P)
    d = util[k_quo]
    gains = util - d
    eps = np.array([TOLERANCE * model.stake[a] for a in parties])
    pareto = pareto_efficient(util, eps)
    positive = (gains > eps).all(axis=1) if parties else np.zeros(len(rows), dtype=bool)
    nash = nash_point(gains, eps)

    df = pd.DataFrame(
        {
            "members": ["+".join(sorted(r["set"])) for r in rows],
            "joining": ["+".join(a for a in invitees if a in r["set"]) for r in rows],
            "floor_scale": [r["scale"] for r in rows],
            "penalty": [r["penalty"] for r in rows],
        }
    )
    for j, a in enumerate(parties):
        df[f"utility_{a}"] = util[:, j]
    for j, a in enumerate(parties):
        df[f"gain_{a}"] = gains[:, j]
    with np.errstate(over="ignore"):
        product = np.where(
            positive, np.prod(np.where(positive[:, None], gains, 1.0), axis=1), np.nan
        )
    df["all_gain"] = positive
    df["nash_product"] = product
    df["pareto"] = pareto
    df["nash"] = np.arange(len(rows)) == (-1 if nash is None else nash)
    df["status_quo"] = np.arange(len(rows)) == k_quo
    df["on_table"] = np.arange(len(rows)) == k_table
    df["agreed"] = np.arange(len(rows)) == (-1 if k_agreed is None else k_agreed)
    names = {a: model.config.actors[a].name for a in parties}
    df.attrs.update(
        round=model.round,
        parties=parties,
        names=names,
        convener=_convener(table["proposers"], base, parties),
        disagreement=dict(zip(parties, d.tolist())),
        nash=nash,
        supplier_move=move.action.value,
        minerals=None if minerals is None else [x for x in model.minerals if x in minerals],
        floors_words=model.floors_words(minerals),
    )
    return df


def table_minerals(model: BlocModel) -> list[str] | None:
    """The floors the package on the table negotiated (the one `bargaining_space` lays out):
    where every invitee sat at a table negotiating the same minerals of interest' floors
    (`BlocModel.invitation_scopes`), those minerals (none, [], where none of them has a floor:
    the layout then keeps the floors as tabled); else None, every floor (a table of every
    mineral, invitees at tables of different minerals, or nobody invited).

    Parameters
    ----------
    model : BlocModel
        The model at its current round.

    Returns
    -------
    list of str or None
        The minerals, in the model's order, or None.
    """
    scopes = set(_table(model)["scopes"])
    if len(scopes) != 1:
        return None
    (scope,) = scopes
    return None if scope is None else [x for x in model.minerals if x in scope]


def pareto_efficient(util: np.ndarray, eps: np.ndarray | float = 0.0) -> np.ndarray:
    """For each row of `util` (alternatives x parties): True when no other row gives every party
    at least as much (within `eps`) and some party more (by more than `eps`)."""
    util = np.asarray(util, dtype=float)
    n = len(util)
    eps = np.broadcast_to(np.asarray(eps, dtype=float), util.shape[1:])
    out = np.ones(n, dtype=bool)
    for i in range(n):
        at_least = (util >= util[i] - eps).all(axis=1)
        more = (util > util[i] + eps).any(axis=1)
        out[i] = not (at_least & more).any()
    return out


def nash_point(gains: np.ndarray, eps: np.ndarray | float = 0.0) -> int | None:
    """The row of `gains` (alternatives x parties, over the disagreement point) with the largest
    product of gains among the rows where every party gains by more than `eps`; the first such
    row on a tie; None when no row has every party gaining."""
    gains = np.asarray(gains, dtype=float)
    if gains.ndim != 2 or gains.shape[1] == 0:
        return None
    ok = (gains > eps).all(axis=1)
    if not ok.any():
        return None
    logs = np.where(ok, np.log(np.where(ok[:, None], gains, 1.0)).sum(axis=1), -np.inf)
    return int(np.argmax(logs))


# ----------------------------------------------------------------------------------------------


def _table(model: BlocModel) -> dict[str, Any]:
    """The proposal and the agreement of the last round played; at round 0 the table round 1
    would open with (the levers in force), with nothing agreed."""
    t = model.last_table
    if t is not None and t.round == model.round:
        return t._asdict()
    invites = model.invitations(model.round + 1)  # a query: nothing changes
    scopes = model.invitation_scopes(model.round + 1)
    return {
        "members": model.members,
        "invitees": tuple(invites),
        "proposers": tuple(p for _, _, p in invites.values()),
        "floors": model.floors,
        "penalty": model.penalty,
        "cost_sharing": model.cost_sharing,
        "agreed_members": None,
        "agreed_floors": None,
        "agreed_penalty": None,
        "agreed_cost_sharing": None,
        "scopes": tuple(scopes.get(a) for a in invites),
    }


def _row(members, floors, scale, penalty, cost_sharing) -> dict[str, Any]:
    return {
        "set": frozenset(members),
        "floors": np.asarray(floors, dtype=float),
        "scale": float(scale),
        "penalty": float(penalty),
        "cost_sharing": cost_sharing,
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["set"] == b["set"]
        and np.allclose(a["floors"], b["floors"], rtol=1e-9, atol=1e-9)
        and math.isclose(a["penalty"], b["penalty"], abs_tol=1e-12)
        and a["cost_sharing"] == b["cost_sharing"]
    )


def _uniform_ratio(floors: np.ndarray, proposed: np.ndarray) -> float:
    """floors / proposed when it is one number for every floored mineral, else NaN."""
    if not proposed.any():
        return 1.0 if not floors.any() else math.nan
    on = proposed > 0
    if (floors[~on] != 0).any():
        return math.nan
    ratios = floors[on] / proposed[on]
    return float(ratios[0]) if np.allclose(ratios, ratios[0], rtol=1e-9) else math.nan


def _convener(proposers: Sequence[str], members: frozenset[str], parties: list[str]) -> str | None:
    """Who tables the package: the first proposer named, else the first member, else the first
    party (None without parties)."""
    for p in proposers:
        if p in parties:
            return p
    return next((a for a in parties if a in members), parties[0] if parties else None)

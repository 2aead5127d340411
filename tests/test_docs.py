"""The documentation kept true to the code: statements of docs/ODD.md checked as behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from negotiation import BlocModel, load_scenario

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# docs/ODD.md, Submodel C: the stockpile fund buys only while the bloc has at least one member


def _stockpile_world(members: list[str], rounds: int = 3) -> BlocModel:
    """The default world under a stockpile floor far above the clearing price, with `members` in
    the bloc from the start and nobody invited to join (no tables, no open accession)."""
    sc = load_scenario(
        "ministerial-2026",
        {"policy.initial_members": members, "agenda.tracks": [], "agenda.open_accession": False},
    )
    floors = dict.fromkeys(sc.minerals, 0.0)
    floors["rare_earths"] = 3.0 * sc.minerals["rare_earths"].reference_price
    return BlocModel(sc, rounds=rounds, rng=0, instrument="stockpile", floors=floors,
                     stockpile_fund=1e9, supplier_strategy="passive").run()  # fmt: skip


def test_the_stockpile_fund_buys_nothing_while_the_bloc_has_no_member():
    m = _stockpile_world([])
    r = m.rounds_df
    assert (r["n_members"] == 0).all()
    stockpiled = [c for c in r.columns if c.startswith("stockpiled_")]
    assert stockpiled and (r[stockpiled] == 0).all().all()
    assert (r["stockpile_fund"] == 1e9).all() and m.fund == 1e9
    assert not r["fund_exhausted"].any() and (r["fiscal_cost"] == 0).all()
    # Nothing holds the floor: the world price stays where the market clears, far below it.
    assert (r["world_price_rare_earths"] < 0.5 * r["floor_rare_earths"]).all()


def test_with_one_member_the_same_fund_buys_and_holds_the_floor():
    # The contrast that makes the test above mean something: one member and the fund is active.
    m = _stockpile_world(["us"])
    r = m.rounds_df.iloc[1:]
    assert (r["n_members"] == 1).all()
    assert (r["stockpiled_rare_earths"] > 0).all()
    assert r["world_price_rare_earths"].to_numpy() == pytest.approx(
        r["floor_rare_earths"].to_numpy()
    )
    assert m.fund < 1e9 and (r["fiscal_cost"] > 0).all()

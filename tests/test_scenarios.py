"""The built-in scenarios and the scenario format.

Every built-in scenario loads, runs its full length with three seeds without breaking an invariant,
and shows the headline its About text promises (each headline has its test below, reading the run's
records); the outcomes its things_to_try names are checked on the runs they describe. A scenario
printed by `bloc scenarios show` loads back to the same scenario and the same run. `extends`,
`--set` and adding an actor work with data only. The commands of the README's scenario section are
run here too (README_COMMANDS).
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from negotiation import BlocModel, load_scenario
from negotiation import scenario as scenario_module
from negotiation.cli import main
from negotiation.scenario import (
    ScenarioError,
    find_scenario_file,
    scenario_names,
)
from negotiation.types import COMPONENTS

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = (
    "ministerial-2026",
    "us-japan-eu-30-day",
    "us-mexico-60-day",
    "supplier-floods",
    "export-controls",
    "singapore-open-hub",
    "expansion",
    "tin-1985",
)
SEEDS = (0, 1, 2)


@functools.cache
def run(name: str, seed: int = 0, sets: tuple[tuple[str, object], ...] = ()) -> BlocModel:
    """A full run of a scenario (cached: the invariant and headline tests share runs)."""
    return BlocModel(load_scenario(name, dict(sets)), rng=seed).run()


def bloc(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def members(model: BlocModel) -> dict[int, set[str]]:
    """Round -> members during that round (after the round's joins, before its exits)."""
    r = model.rounds_df
    return {int(k): set(filter(None, str(v).split("+"))) for k, v in zip(r["round"], r["members"])}


def events(model: BlocModel, kind: str, actor: str | None = None) -> pd.DataFrame:
    e = model.events_df
    e = e[e["kind"] == kind]
    return e if actor is None else e[e["actor"] == actor]


def rounds_of(model: BlocModel, kind: str, actor: str) -> list[int]:
    return [int(x) for x in events(model, kind, actor)["round"]]


_AMOUNT = re.compile(r"([+-])\$([\d.]+)(k|m|bn) of ([a-z' ]+?)(?= and | against | a year)")
_SCALE = {"k": 1e3, "m": 1e6, "bn": 1e9}


def amounts(text: str) -> dict[str, float]:
    """The signed USD amounts a decision's reason lists, by component label."""
    return {
        label: (1 if sign == "+" else -1) * float(x) * _SCALE[unit]
        for sign, x, unit, label in _AMOUNT.findall(text)
    }


# ------------------------------------------------------------------------------------------------
# Finding scenarios


def test_the_built_in_scenarios_are_listed():
    assert set(BUILTIN) <= set(scenario_names())


def test_only_top_level_files_are_scenarios(tmp_path, monkeypatch):
    base = tmp_path / "scenarios"
    for rel in ("alpha.toml", "validation/check.toml", "sweeps/grid.toml", "_draft.toml"):
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text('extends = "x"\n')
    monkeypatch.setattr(scenario_module, "SCENARIO_DIRS", [base])
    assert scenario_names() == ["alpha"]
    assert find_scenario_file("check") == base / "validation" / "check.toml"  # found by name
    with pytest.raises(ScenarioError, match="grid: no such scenario"):
        find_scenario_file("grid")  # a sweep spec is never taken for a scenario


def test_the_checkout_lists_no_sweep_or_validation_file():
    nested = {p.stem for p in (ROOT / "scenarios").glob("*/*.toml")}
    assert not nested & (set(scenario_names()) - set(BUILTIN))


@pytest.mark.parametrize("name", BUILTIN)
def test_every_built_in_scenario_is_documented_and_sourced(name):
    sc = load_scenario(name)
    meta = sc.meta
    assert meta.name == name
    assert meta.title and meta.summary and meta.headline
    for part in ("what_is_it", "how_it_works", "things_to_notice", "things_to_try"):
        assert len(getattr(meta.about, part)) > 80, f"{name}: About.{part} is missing"
    assert meta.sources


NUMBER_LINE = re.compile(r"^\s*[\w\"]+\s*=\s*([-+]?(\d|inf|nan)|\{[^}]*\d)")


def _without_strings(line: str) -> str:
    return re.sub(r'"[^"]*"', '""', line)


@pytest.mark.parametrize("name", [n for n in BUILTIN if n != "ministerial-2026"])
def test_every_figure_carries_its_source_or_is_labelled_an_assumption(name):
    """A number is cited on its own line or in the comment block just above it."""
    lines = find_scenario_file(name).read_text().splitlines()
    for i, line in enumerate(lines):
        if not NUMBER_LINE.match(_without_strings(line)) or "#" in line:
            continue
        above = []
        j = i - 1
        while j >= 0 and lines[j].lstrip().startswith("#"):
            above.append(lines[j])
            j -= 1
        assert above, f"{name}.toml line {i + 1}: {line.strip()!r} has no source or label"


#: A citation names a provenance mark (docs/reference/domain-data.md, section 0) or says why not.
CITED = re.compile(r"\[(R|R-sec|D)\]|assumption|by definition")


def _numeric(value) -> bool:
    if isinstance(value, dict):
        return bool(value) and all(_numeric(v) for v in value.values())
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_the_default_scenario_cites_every_figure_in_its_sources_tables():
    """ministerial-2026 cites its figures in `[actors.X.sources]` and each mineral's `source`
    rather than in comments (so the test above leaves it out): every numeric field an actor sets
    (a number, or a table of numbers by mineral or component) has an entry in its sources table,
    and every mineral a `source`, each naming a provenance mark or labelled an assumption."""
    data = tomllib.loads(find_scenario_file("ministerial-2026").read_text())
    for aid, actor in data["actors"].items():
        sources = actor.get("sources", {})
        figures = [k for k, v in actor.items() if k != "sources" and _numeric(v)]
        assert figures, aid
        for field in figures:
            assert sources.get(field, "").strip(), f"actors.{aid}.{field} has no entry in sources"
        for field, text in sources.items():
            assert CITED.search(text), f"actors.{aid}.sources.{field}: no mark or label: {text!r}"
    for mid, mineral in data["minerals"].items():
        text = mineral.get("source", "")
        assert text.strip(), f"minerals.{mid} has no source"
        assert CITED.search(text), f"minerals.{mid}.source: no mark or label: {text!r}"


# ------------------------------------------------------------------------------------------------
# Every scenario runs its full length with three seeds without breaking an invariant


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", BUILTIN)
def test_full_run_keeps_the_invariants(name, seed):
    m = run(name, seed)
    sc = m.config
    r, a = m.rounds_df, m.actors_df
    assert list(r["round"]) == list(range(sc.time.rounds + 1)), "did not run its full length"
    for mineral in sc.minerals:
        for col in (f"world_price_{mineral}", f"bloc_price_{mineral}"):
            assert np.isfinite(r[col]).all() and (r[col] > 0).all(), col
        for col in (f"bloc_share_{mineral}", f"supplier_share_{mineral}"):
            assert r[col].between(0, 1).all(), col
        assert (r[f"floor_{mineral}"] >= 0).all()
        assert (r[f"stockpiled_{mineral}"] >= 0).all()
    fund = r["stockpile_fund"]
    assert (fund >= 0).all() and (fund.diff().dropna() <= 1e-6).all(), "fund negative or refilled"
    assert (r["fund_exhausted"].astype(int).diff().dropna() >= 0).all()
    countries = set(sc.country_ids)
    by_round = members(m)
    for rnd, mem in by_round.items():
        assert mem <= countries, f"round {rnd}: {mem - countries} are not countries"
        listed = set(a.loc[(a["round"] == rnd) & a["member"], "actor"])
        assert listed == mem
    assert (r["n_members"] == [len(by_round[k]) for k in r["round"]]).all()
    total = a[list(COMPONENTS)].sum(axis=1)
    scale = np.maximum(a[list(COMPONENTS)].abs().sum(axis=1), 1.0)
    assert ((a["utility"] - total).abs() <= 1e-9 * scale).all(), "utility != sum of components"
    assert np.isfinite(a["utility"]).all()
    assert a.loc[~a["member"], "margin"].isna().all()


# ------------------------------------------------------------------------------------------------
# The headline each About text promises (meta.headline), from the run's records, for three seeds,
# and the outcomes its things_to_try names, with the seed-0 run

FOUR = {"us", "japan", "eu", "mexico"}
CONTROLLED = "rare_earths,graphite,gallium,germanium"  # the minerals the supplier dominates


def margins(model: BlocModel, rnd: int) -> pd.Series:
    """Each member's gain from staying (USD a year) in a round."""
    a = model.actors_df
    return a[(a["round"] == rnd) & a["member"]].set_index("actor")["margin"]


def nobody_would_leave(model: BlocModel, rounds: range) -> bool:
    w = model.rounds_df.set_index("round")["would_leave"].fillna("")
    return (w.loc[rounds.start : rounds.stop - 1] == "").all()


def test_ministerial_2026_headline():
    """Japan, the EU and Mexico join the US in round 1 and the four stay all 36 rounds, in none of
    which a member would gain by leaving, although the supplier cuts its exports of four minerals
    to members every round; Singapore stays out in every round, for the openness of its trade."""
    for seed in SEEDS:
        m = run("ministerial-2026", seed)
        by_round = members(m)
        assert by_round[0] == {"us"}
        assert all(by_round[k] == FOUR for k in range(1, 37)), seed
        assert nobody_would_leave(m, range(1, 37))
        r = m.rounds_df.iloc[1:]
        assert (r["supplier_action"] == "export_controls").all()
        assert (r["supplier_target"] == CONTROLLED).all()
        assert events(m, "export_controls")["text"].str.endswith("to members").all()
        no = events(m, "rejected", "singapore")
        assert len(no) > 0
        assert events(m, "joined", "singapore").empty
        for text in no["text"]:
            costs = {k: v for k, v in amounts(text).items() if v < 0}
            assert min(costs, key=costs.get) == "openness of trade", text
    m = run("ministerial-2026")
    for a in ("japan", "eu"):  # what decides it (things_to_notice)
        gains = amounts(events(m, "joined", a)["text"].iloc[0])
        assert {"tariff revenue", "supply security"} <= {k for k, v in gains.items() if v > 0}
    gains = amounts(events(m, "joined", "mexico")["text"].iloc[0])
    assert max(gains, key=gains.get) == "producer surplus"
    r = m.rounds_df.iloc[1:]
    assert (r["bloc_price_copper"] > 1.04 * r["world_price_copper"]).all()
    assert (r["secured_rare_earths"] >= 1300).all()  # MP's NdPr goes to members first
    thin = margins(m, 1)  # "how thin some margins are"
    assert thin["us"] < thin["japan"] < thin["mexico"] < thin["eu"]
    assert 0 < thin["us"] < 60e6


def test_ministerial_2026_holds_with_other_instruments_and_blanket_controls():
    for sets in (
        (("policy.instrument", "price_gap"),),
        (("supplier.strategy", "blanket-controls"), ("supplier.aggressiveness", 1.0)),
    ):
        m = run("ministerial-2026", 0, sets)
        assert all(members(m)[k] == FOUR for k in range(1, 37)), sets
        assert nobody_would_leave(m, range(1, 37)), sets


def test_ministerial_2026_stockpile_drained_by_floods():
    m = run("ministerial-2026", 0, (("policy.instrument", "stockpile"),))
    r = m.rounds_df.set_index("round")
    assert (r.loc[1:10, "supplier_action"] == "flood").all()
    assert set(r.loc[1, "would_leave"].split("+")) == FOUR - {"mexico"}
    assert rounds_of(m, "left", "us")[0] == 5
    last_out = max(rounds_of(m, "left", a)[0] for a in FOUR)
    assert last_out == rounds_of(m, "left", "japan")[0] == 11
    assert r.loc[11, "stockpile_fund"] < 0.2 * r.loc[0, "stockpile_fund"]  # most of it spent
    assert all(min(rounds_of(m, "joined", a)) == 1 for a in FOUR - {"us"})
    assert all(max(rounds_of(m, "joined", a)) >= 12 for a in FOUR)
    assert members(m)[17] == FOUR


def test_ministerial_2026_fractures_behind_a_tariff_wall():
    m = run("ministerial-2026", 0, (("policy.outsider_penalty", 0.5),))
    assert members(m)[1] == FOUR
    assert [rounds_of(m, "left", a) for a in ("us", "japan", "eu")] == [[5], [11], [12]]
    assert all(members(m)[k] == {"mexico"} for k in range(13, 37))
    for text in events(m, "left")["text"]:
        found = amounts(text)  # what leaving gains: consumer cost saved outweighs tariff revenue
        assert found["consumer cost"] > -found["tariff revenue"] > 0, text
    wall = run("ministerial-2026", 0, (("policy.outsider_penalty", 1.0),))
    assert events(wall, "joined", "japan").empty and events(wall, "joined", "eu").empty
    assert len(events(wall, "rejected", "japan")) > 0 and len(events(wall, "rejected", "eu")) > 0
    assert rounds_of(wall, "left", "us") == [5]
    assert all(members(wall)[k] == {"mexico"} for k in range(6, 37))


def test_ministerial_2026_fractures_under_a_tougher_supplier():
    m = run("ministerial-2026", 0, (("supplier.aggressiveness", 0.6),))
    assert rounds_of(m, "left", "us")[0] == 5
    full = run("ministerial-2026", 0, (("supplier.aggressiveness", 1.0),))
    assert [rounds_of(full, "left", a) for a in ("us", "japan", "eu")] == [[5], [6], [7]]
    assert rounds_of(full, "joined", "us") == [10]
    assert events(full, "joined", "japan")["round"].max() == 1
    assert events(full, "joined", "eu")["round"].max() == 1
    assert members(full)[36] == {"us", "mexico"}
    bribed = run(
        "ministerial-2026",
        0,
        (("supplier.strategy", "side-offers"), ("supplier.aggressiveness", 1.0)),
    )
    out = rounds_of(bribed, "left", "us")
    assert out[0] == 6 and len(out) >= 3  # "again each time the US comes back"
    assert len(rounds_of(bribed, "joined", "us")) >= 3
    assert set(events(bribed, "left")["actor"]) == {"us"}
    assert all("side deals" in amounts(t) for t in events(bribed, "left")["text"])


def test_ministerial_2026_a_bloc_that_holds_breaks_when_the_penalty_rises_mid_run():
    m = run("ministerial-2026", 0, (("levers.0.round", 13), ("levers.0.penalty", 1.0)))
    by_round = members(m)
    assert all(by_round[k] == FOUR for k in range(1, 17))
    assert [rounds_of(m, "left", a) for a in ("us", "japan", "eu")] == [[17], [18], [19]]
    assert by_round[20] == {"mexico"}


def test_ministerial_2026_with_nothing_on_offer_nobody_joins():
    nothing = (("policy.outsider_penalty", 0.0),) + tuple(
        (f"policy.floors.{mineral}", 0)
        for mineral in ("rare_earths", "lithium", "graphite", "gallium")
    )
    m = run("ministerial-2026", 0, nothing)
    assert events(m, "joined").empty
    no = events(m, "rejected")
    first = no[no["round"] == 1]
    assert set(first["actor"]) == {"japan", "eu", "mexico", "singapore"}
    assert first["text"].str.endswith("nothing changes either way").all()


def test_us_japan_eu_30_day_headline():
    """The 30-day target is met: Japan and the EU both join the US in round 1 and the three hold
    together to the end of the year, through the supplier's export cuts aimed at members."""
    for seed in SEEDS:
        m = run("us-japan-eu-30-day", seed)
        assert rounds_of(m, "joined", "japan") == [1]
        assert rounds_of(m, "joined", "eu") == [1]
        assert all(members(m)[k] == {"us", "japan", "eu"} for k in range(1, 13))
        assert events(m, "left").empty
        r = m.rounds_df.iloc[1:]
        assert (r["supplier_action"] == "export_controls").all()
        assert (r["supplier_target"] == CONTROLLED).all()
        for a in ("japan", "eu"):
            gains = amounts(events(m, "joined", a)["text"].iloc[0])
            assert {"tariff revenue", "supply security"} <= {k for k, v in gains.items() if v > 0}


def test_us_japan_eu_30_day_things_to_try():
    boulware = run("us-japan-eu-30-day", 0, (("actors.eu.strategy", "boulware"),))
    assert rounds_of(boulware, "joined", "eu") == [11]  # "until round 11"
    tougher = run("us-japan-eu-30-day", 0, (("actors.eu.strategy_params.aspiration", 0.03),))
    assert rounds_of(tougher, "joined", "eu") == [9]
    binding = run("us-japan-eu-30-day", 0, (("agenda.tracks.0.deadline_round", 1),))
    assert rounds_of(binding, "joined", "eu") == [1]
    opened = run("us-japan-eu-30-day", 0, (("agenda.open_accession", True),))
    assert rounds_of(opened, "joined", "mexico") == [1]
    assert events(opened, "joined", "singapore").empty
    assert len(events(opened, "rejected", "singapore")) > 0


def test_us_mexico_60_day_headline():
    """Mexico joins in round 1 for its copper; Canada joins at the USMCA table in round 3; the
    fluorspar floor stays on paper (bloc price = world price, below the floor)."""
    for seed in SEEDS:
        m = run("us-mexico-60-day", seed)
        r = m.rounds_df.iloc[1:]
        joined = events(m, "joined", "mexico")
        assert list(joined["round"]) == [1]
        gains = amounts(joined["text"].iloc[0])
        assert max(gains, key=gains.get) == "producer surplus"
        assert rounds_of(m, "joined", "canada") == [3]
        assert all("canada" not in members(m)[k] for k in (1, 2))
        assert all(members(m)[k] == {"us", "mexico", "canada"} for k in range(3, 13))
        assert events(m, "left").empty
        np.testing.assert_allclose(r["bloc_price_copper"], 1.05 * r["world_price_copper"])
        np.testing.assert_allclose(r["bloc_price_fluorspar"], r["world_price_fluorspar"])
        assert (r["bloc_price_fluorspar"] < r["floor_fluorspar"]).all()
        assert "fluorspar" in r["supplier_target"].iloc[0].split(",")
        world = m.rounds_df.set_index("round")["world_price_fluorspar"]
        assert world.loc[0] < 475 and 495 < world.loc[12] < 515  # "$472 to about $504/t"


def test_us_mexico_60_day_things_to_try():
    m = run("us-mexico-60-day", 0, (("agenda.open_accession", True),))
    for a, rnd in (("japan", 1), ("canada", 1), ("mexico", 1), ("eu", 11)):
        assert rounds_of(m, "joined", a) == [rnd], a
    r = m.rounds_df.set_index("round")
    assert (r.loc[1:10, "bloc_price_fluorspar"] < r.loc[1:10, "floor_fluorspar"]).all()
    assert r.loc[12, "bloc_price_fluorspar"] > r.loc[12, "floor_fluorspar"]
    free = run("us-mexico-60-day", 0, (("policy.outsider_penalty", 0.0),))
    assert rounds_of(free, "joined", "mexico") == [1]
    assert rounds_of(free, "joined", "canada") == [3]
    assert rounds_of(free, "left", "us") == [5]
    passive = run("us-mexico-60-day", 0, (("supplier.strategy", "passive"),))
    assert rounds_of(passive, "joined", "mexico") == [1]
    assert rounds_of(passive, "joined", "canada") == [3]


def test_supplier_floods_headline():
    """The surge halves the world rare-earth price, raises the price-gap bill by nearly half and
    costs the supplier about $4bn a year of producer surplus; no member leaves."""
    for seed in SEEDS:
        m = run("supplier-floods", seed)
        r = m.rounds_df.set_index("round")
        before, during = r.loc[6], r.loc[7:18]
        price = during["world_price_rare_earths"] / before["world_price_rare_earths"]
        assert price.between(0.45, 0.55).all()  # "halves"
        graphite = during["world_price_graphite"] / before["world_price_graphite"]
        assert graphite.between(0.55, 0.65).all()  # "about -41%"
        bill = during["fiscal_cost"] / before["fiscal_cost"]
        assert bill.between(1.35, 1.6).all()  # "by nearly half"
        assert 80e6 < before["fiscal_cost"] < 90e6 and 120e6 < during["fiscal_cost"].max() < 130e6
        assert np.allclose(r.loc[19:25, "fiscal_cost"], before["fiscal_cost"])  # falls back
        a = m.actors_df.set_index(["round", "actor"])
        lost = (
            a.loc[(6, "supplier"), "producer_surplus"] - a.loc[(7, "supplier"), "producer_surplus"]
        )
        assert 3.5e9 < lost < 4.5e9
        share = -a.loc[(7, "mexico"), "fiscal_outlay"]
        assert 25e6 < share < 35e6  # "about $31m a year each"
        assert a.loc[(7, "mexico"), "margin"] > 4 * share
        assert all(members(m)[k] == FOUR for k in range(1, 37))
        assert events(m, "left").empty


def test_supplier_floods_things_to_try():
    border = run("supplier-floods", 0, (("policy.instrument", "border"),))
    r = border.rounds_df.set_index("round")
    assert (r["fiscal_cost"] == 0).all()
    assert r.loc[7, "tariff_revenue"] > r.loc[6, "tariff_revenue"]
    closed = events(border, "closure")
    assert list(closed["round"]) == [13] and (closed["actor"] == "").all()
    assert "15,000 t a year of Rare earths" in closed["text"].iloc[0]
    assert events(run("supplier-floods", 0), "closure").empty
    for magnitude, low, high in ((0.5, 0.55, 0.65), (2.0, 0.05, 0.15)):
        sets = (("shocks.0.magnitude", magnitude), ("shocks.1.magnitude", magnitude))
        m = run("supplier-floods", 0, sets)
        r = m.rounds_df.set_index("round")
        fall = r.loc[8, "world_price_rare_earths"] / r.loc[6, "world_price_rare_earths"]
        assert low < fall < high, magnitude
        assert events(m, "left").empty, magnitude
    big = run("supplier-floods", 0, (("shocks.0.magnitude", 2.0), ("shocks.1.magnitude", 2.0)))
    a = big.actors_df.set_index(["round", "actor"])["producer_surplus"]
    assert a[(8, "supplier")] < 0.05 * a[(6, "supplier")]  # "nearly all its producer surplus"
    adaptive = run("supplier-floods", 0, (("supplier.strategy", "adaptive"),))
    assert (adaptive.rounds_df["supplier_action"] == "export_controls").any()
    assert events(adaptive, "left").empty


EXPORT_CONTROL_LICENCES_NEVER_COME = tuple((f"shocks.{i}.duration", 0) for i in range(5))


def test_export_controls_headline():
    """The US leaves in round 21 and Japan in round 22, once the controls stack up; the US returns
    in round 26 and Japan in round 28, with the licences; the EU and Mexico stay throughout."""
    for seed in SEEDS:
        m = run("export-controls", seed)
        by_round = members(m)
        assert all(s.target == "members" for s in m.config.shocks)
        assert rounds_of(m, "left", "us") == [21]
        assert rounds_of(m, "left", "japan") == [22]
        assert rounds_of(m, "joined", "us") == [26]  # a founding member: no join in round 1
        assert rounds_of(m, "joined", "japan") == [1, 28]
        assert all("japan" not in by_round[k] for k in range(23, 28))
        assert all(by_round[k] == FOUR for k in range(28, 37))
        assert all({"eu", "mexico"} <= by_round[k] for k in range(1, 37))
        margin = m.actors_df.set_index(["round", "actor"])["margin"]
        for a in ("us", "japan"):  # the controls stack up
            assert margin[(16, a)] > 0 > margin[(21, a)], a
            assert margin[(17, a)] < margin[(16, a)], a
        assert margin[(16, "us")] < margin[(16, "japan")]  # the US's gain is the thinnest


def test_export_controls_japan_returns_only_because_licences_ease():
    m = run("export-controls", 0, EXPORT_CONTROL_LICENCES_NEVER_COME)
    assert rounds_of(m, "joined", "japan") == [1]
    assert rounds_of(m, "left", "japan") == [22]
    assert rounds_of(m, "joined", "us") == [26]
    assert "japan" not in members(m)[36]


def test_export_controls_things_to_try():
    blanket = run("export-controls", 0, tuple((f"shocks.{i}.target", "all") for i in range(6)))
    assert events(blanket, "left").empty
    assert all(members(blanket)[k] == FOUR for k in range(1, 37))
    patient = run("export-controls", 0, (("actors.japan.patience", 6),))
    assert rounds_of(patient, "left", "japan") == [23]
    assert rounds_of(patient, "joined", "japan") == [1, 30]
    adaptive = run("export-controls", 0, (("supplier.strategy", "adaptive"),))
    assert rounds_of(adaptive, "left", "us")[0] == 5


def test_singapore_open_hub_headline():
    """Singapore never joins: ~$2.8bn a year of openness in round 1 and ~$2bn after, against gains
    of less than $70m; the other four join in round 1 and stay."""
    for seed in SEEDS:
        m = run("singapore-open-hub", seed)
        by_round = members(m)
        assert all("singapore" not in mem for mem in by_round.values())
        assert all(by_round[k] == FOUR for k in range(1, 37))
        no = events(m, "rejected", "singapore").set_index("round")["text"]
        assert list(no.index) == list(range(1, 37))  # it answers (no) at every round
        for rnd, text in no.items():
            found = amounts(text)
            hub = -found["openness of trade"]
            assert (2.5e9 <= hub < 3.1e9) if rnd == 1 else (1.7e9 <= hub < 2.4e9), (rnd, text)
            gains = {k: v for k, v in found.items() if v > 0}
            assert sum(gains.values()) < 70e6
            assert set(gains) <= {"access to the bloc's market", "tariff revenue"}


def test_singapore_open_hub_things_to_try():
    no_hub = run("singapore-open-hub", 0, (("actors.singapore.openness_value", 0),))
    joined = events(no_hub, "joined", "singapore")
    assert list(joined["round"]) == [2]
    gains = amounts(joined["text"].iloc[0])
    assert max(gains, key=gains.get) == "access to the bloc's market"
    assert "singapore" in members(no_hub)[36]
    free = run("singapore-open-hub", 0, (("policy.outsider_penalty", 0.0),))
    assert all("singapore" not in mem for mem in members(free).values())
    hub = [-amounts(t)["openness of trade"] for t in events(free, "rejected", "singapore")["text"]]
    assert min(hub) > 0.8e9 and max(hub) < 1.9e9
    gap = run("singapore-open-hub", 0, (("policy.instrument", "price_gap"),))
    assert all("singapore" not in mem for mem in members(gap).values())
    hub = [-amounts(t)["openness of trade"] for t in events(gap, "rejected", "singapore")["text"]]
    assert all(0.95e9 < h < 1.05e9 for h in hub)


def test_expansion_headline():
    """Australia, South Korea and India join in round 7; the bloc's lithium share jumps from
    about 1% to over a third and its lithium price falls to the world price; the seven stay,
    South Korea with a gain of only a few million dollars a year."""
    newcomers = {"australia", "south_korea", "india"}
    seven = newcomers | FOUR
    for seed in SEEDS:
        m = run("expansion", seed)
        by_round = members(m)
        for a in newcomers:
            assert rounds_of(m, "joined", a) == [7], a
        assert all(not (by_round[k] & newcomers) for k in range(7))
        assert all(by_round[k] == seven for k in range(7, 37))
        assert events(m, "left").empty
        r = m.rounds_df.set_index("round")
        share = r["bloc_share_lithium"]
        assert (share.loc[:6] < 0.02).all()
        assert share.loc[7:].between(0.34, 0.4).all()
        assert (r.loc[1:6, "bloc_price_lithium"] > 1.04 * r.loc[1:6, "world_price_lithium"]).all()
        np.testing.assert_allclose(
            r.loc[7:, "bloc_price_lithium"], r.loc[7:, "world_price_lithium"]
        )
        gains = amounts(events(m, "joined", "australia")["text"].iloc[0])
        assert max(gains, key=gains.get) == "producer surplus"
        for a in ("south_korea", "india"):
            gains = amounts(events(m, "joined", a)["text"].iloc[0])
            assert {k for k, v in gains.items() if v > 0} == {"tariff revenue", "supply security"}
        before, after = margins(m, 6), margins(m, 7)
        assert after["us"] < before["us"] and after["japan"] < before["japan"]
        assert 0 < after["south_korea"] < 10e6


def test_expansion_things_to_try():
    m = run("expansion", 0, (("agenda.open_accession", True),))
    six = {"australia", "south_korea", "india", "japan", "eu", "mexico"}
    assert {a for a in six if rounds_of(m, "joined", a) == [1]} == six
    assert events(m, "left").empty
    free = run("expansion", 0, (("policy.outsider_penalty", 0.0),))
    assert len(events(free, "left")) >= 5  # "forms and falls apart in waves"
    assert members(free)[36] == {"australia"}


def _dry_round(model: BlocModel) -> int | None:
    r = model.rounds_df
    dry = r.loc[r["fund_exhausted"], "round"]
    return int(dry.iloc[0]) if len(dry) else None


def test_tin_1985_headline():
    """The fund runs dry in round 15, the world price then falls about 40% below the floor, mines
    close for good five quarters later, and Brazil raises its share of world supply by about a
    quarter."""
    for seed in SEEDS:
        m = run("tin-1985", seed)
        r = m.rounds_df.set_index("round")
        dry = _dry_round(m)
        assert dry == 15
        assert list(events(m, "fund_exhausted")["round"]) == [15]
        held = r.loc[1 : dry - 1]
        assert (held["world_price_tin"] >= 0.999 * held["floor_tin"]).all()
        broken = r.loc[dry:]
        assert broken["world_price_tin"].between(0.55 * 12800, 0.65 * 12800).all()
        assert (broken["floor_tin"] == 12800).all()
        share = r["supplier_share_tin"]
        assert 1.15 <= share.iloc[-1] / share.iloc[0] < 1.35
        closed = events(m, "closure")
        assert list(closed["round"].unique()) == [20]
        assert {"malaysia", "thailand", ""} <= set(closed["actor"])
        assert members(m)[20] == {"malaysia", "indonesia", "thailand", "ec", "japan"}
        everyone = {"malaysia", "indonesia", "thailand", "ec", "japan"}
        assert all(set(r.loc[k, "would_leave"].split("+")) == everyone for k in range(1, dry))


@pytest.mark.parametrize(
    "sets, dry",
    [
        ((("investment.rate", 0),), 16),
        ((("policy.stockpile_fund", 2.8e9),), None),
        ((("policy.floors.tin", 11000),), 19),
        ((("policy.floors.tin", 10000),), None),
    ],
)
def test_tin_1985_things_to_try(sets, dry):
    m = run("tin-1985", 0, sets)
    assert _dry_round(m) == dry
    if sets == (("policy.stockpile_fund", 2.8e9),):
        left = m.rounds_df["stockpile_fund"].iloc[-1] / 2.8e9
        assert 0.15 < left < 0.25  # "about a fifth of it left"


# ------------------------------------------------------------------------------------------------
# `bloc scenarios show` round-trips: the same scenario and the same run


@pytest.mark.parametrize("name", BUILTIN)
def test_show_loads_back_to_the_identical_run(name, tmp_path):
    shown = bloc("scenarios", "show", name)
    assert shown.exit_code == 0, shown.output
    path = tmp_path / "resolved.toml"
    path.write_text(shown.output)
    again = load_scenario(path)
    assert again == load_scenario(name)
    a, b = run(name, 0), BlocModel(again, rng=0).run()
    for table in ("rounds_df", "actors_df", "events_df"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table))


def test_show_applies_set_and_loads_back(tmp_path):
    shown = bloc("scenarios", "show", "tin-1985", "--set", "policy.floors.tin=9000")
    assert shown.exit_code == 0, shown.output
    assert "--set policy.floors.tin=9000" in shown.output.splitlines()[1]
    path = tmp_path / "tin.toml"
    path.write_text(shown.output)
    assert load_scenario(path) == load_scenario("tin-1985", {"policy.floors.tin": 9000})
    assert tomllib.loads(shown.output)["policy"]["floors"]["tin"] == 9000


# ------------------------------------------------------------------------------------------------
# extends, --set and new actors: data only


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_extends_changes_only_what_differs(tmp_path):
    child = write(
        tmp_path / "child.toml", 'extends = "ministerial-2026"\n[actors.japan]\npatience = 9\n'
    )
    base, sc = load_scenario("ministerial-2026"), load_scenario(child)
    assert sc.actors["japan"].patience == 9
    assert sc.actors["japan"].model_copy(update={"patience": 5}) == base.actors["japan"]
    assert sc.minerals == base.minerals and sc.policy == base.policy
    assert sc.meta.name == "child"  # a name is never inherited
    assert sc.meta.title == base.meta.title  # other metadata is


def test_arrays_replace_and_relative_extends_chain(tmp_path):
    write(tmp_path / "middle.toml", 'extends = "ministerial-2026"\n[time]\nrounds = 6\n')
    last = write(
        tmp_path / "last.toml",
        'extends = "middle.toml"\n[[agenda.tracks]]\nname = "Solo"\nparties = ["us", "japan"]\n',
    )
    sc = load_scenario(last)
    assert sc.time.rounds == 6
    assert [t.name for t in sc.agenda.tracks] == ["Solo"]


def test_set_reaches_into_arrays_and_can_add_an_entry():
    sc = load_scenario(
        "supplier-floods",
        {
            "shocks.0.magnitude": 2.0,
            "shocks.2.kind": "export_control",
            "shocks.2.mineral": "gallium",
            "shocks.2.start_round": 3,
        },
    )
    assert sc.shocks[0].magnitude == 2.0 and sc.shocks[1].magnitude == 1.0
    assert sc.shocks[2].kind == "export_control" and sc.shocks[2].start_round == 3
    assert load_scenario("supplier-floods").shocks[0].magnitude == 1.0  # the file is untouched


def test_adding_an_actor_needs_only_data(tmp_path):
    chile = write(
        tmp_path / "chile.toml",
        """extends = "ministerial-2026"
[actors.chile]
name = "Chile"
production = { lithium = 49000, copper = 5300000 }
unit_cost = { lithium = 60000, copper = 6000 }
consumption = { copper = 100000 }
[minerals.lithium]
fringe_capacity = 149620
[minerals.copper]
fringe_capacity = 13690000
[[agenda.tracks]]
name = "US-Chile"
parties = ["us", "chile"]
convener = "us"
""",
    )
    m = BlocModel(load_scenario(chile), rng=0).run(3)
    assert "chile" in set(m.actors_df["actor"])
    assert m.rounds_df["world_price_lithium"].gt(0).all()


# ------------------------------------------------------------------------------------------------
# The README's scenario commands (tests/test_scenarios.py::README_COMMANDS mirrors them)

README_COMMANDS = (
    "bloc scenarios",
    "bloc scenarios show tin-1985",
    "bloc scenarios show us-mexico-60-day > my-scenario.toml",
    "bloc validate my-scenario.toml scenarios/tin-1985.toml",
    "bloc run my-scenario.toml --rounds 6",
    "bloc run tin-1985 --set policy.stockpile_fund=2.8e9",
    "bloc run us-japan-eu-30-day --set agenda.tracks.0.deadline_round=1",
    "bloc run supplier-floods --set shocks.0.magnitude=1.0 --set actors.mexico.patience=12",
)


@pytest.mark.parametrize("command", README_COMMANDS)
def test_readme_command(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "tin-1985.toml").write_text(
        find_scenario_file("tin-1985").read_text()
    )
    if "my-scenario.toml" in command and command.split()[1] != "scenarios":
        shown = bloc("scenarios", "show", "us-mexico-60-day")
        (tmp_path / "my-scenario.toml").write_text(shown.output)
    args, _, target = command.removeprefix("bloc ").partition(" > ")
    result = bloc(*args.split())
    assert result.exit_code == 0, result.output
    if target:
        (tmp_path / target).write_text(result.output)
        assert load_scenario(tmp_path / target) == load_scenario("us-mexico-60-day")
    if args == "scenarios":
        for name in BUILTIN:
            assert re.search(rf"^{re.escape(name)}\s+\S", result.output, re.M), name
        assert "(default)" in result.output
    if args.startswith("validate"):
        assert result.output.count(": ok (") == 2


def test_readme_section_commands_are_all_tested():
    """Once the scenario section is in README.md, every `bloc` command it shows is tested here."""
    readme = (ROOT / "README.md").read_text()
    if "## Scenarios" not in readme:
        pytest.skip("the scenario section is not in README.md yet")
    section = readme.split("## Scenarios", 1)[1].split("\n## ", 1)[0]
    shown = {
        re.sub(r"\s+#.*$", "", line).strip().removeprefix(".venv/bin/")
        for line in section.splitlines()
        if re.match(r"^\s*(\.venv/bin/)?bloc ", line)
    }
    assert shown <= set(README_COMMANDS), shown - set(README_COMMANDS)


def _floats(x):
    if isinstance(x, float):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _floats(v)
    elif isinstance(x, list):
        for v in x:
            yield from _floats(v)


@pytest.mark.parametrize("name", BUILTIN)
def test_numbers_in_the_built_in_files_are_plain(name):
    """No NaN or infinity slips into a built-in scenario through TOML's inf/nan."""
    data = tomllib.loads(find_scenario_file(name).read_text())
    assert all(math.isfinite(x) for x in _floats(data))

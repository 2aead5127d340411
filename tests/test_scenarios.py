"""The built-in scenarios and the scenario format.

Every built-in scenario loads, runs its full length with three seeds without breaking an invariant,
and shows the headline its About text promises (each headline has its test below, reading the run's
records). A scenario printed by `bloc scenarios show` loads back to the same scenario and the same
run. `extends`, `--set` and adding an actor work with data only. The commands of the README's
scenario section are run here too (README_COMMANDS).
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


_AMOUNT = re.compile(r"([+-])\$([\d.]+)(k|m|bn) of ([a-z ]+?)(?= and | against | a year)")
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
# The headline each About text promises (meta.headline), from the run's records, for three seeds


def test_ministerial_2026_headline():
    """Japan, the EU and Mexico join the US in round 1 and stay all 36 rounds, through the
    supplier's floods; Singapore stays out in every round, for the openness of its trade."""
    four = {"us", "japan", "eu", "mexico"}
    for seed in SEEDS:
        m = run("ministerial-2026", seed)
        by_round = members(m)
        assert by_round[0] == {"us"}
        assert all(by_round[k] == four for k in range(1, 37)), seed
        assert (m.rounds_df["supplier_action"].iloc[1:] == "flood").all()
        no = events(m, "rejected", "singapore")
        assert len(no) > 0
        for text in no["text"]:
            costs = {k: v for k, v in amounts(text).items() if v < 0}
            assert min(costs, key=costs.get) == "openness of trade", text


def test_us_japan_eu_30_day_headline():
    """Japan joins in round 1, the EU only in round 4; the three hold together to the end."""
    for seed in SEEDS:
        m = run("us-japan-eu-30-day", seed)
        by_round = members(m)
        assert rounds_of(m, "joined", "japan") == [1]
        assert rounds_of(m, "joined", "eu") == [4]
        assert all("eu" not in by_round[k] for k in (1, 2, 3))
        assert all(by_round[k] == {"us", "japan", "eu"} for k in range(4, 13))
        assert events(m, "left").empty


def test_us_japan_eu_30_day_things_to_try():
    binding = run("us-japan-eu-30-day", 0, (("agenda.tracks.0.deadline_round", 1),))
    assert rounds_of(binding, "joined", "eu") == [1]
    boulware = run("us-japan-eu-30-day", 0, (("actors.eu.strategy", "boulware"),))
    assert rounds_of(boulware, "joined", "eu")[0] >= 8  # "holds out for most of the year"


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
        assert (r["bloc_price_copper"] > 1.04 * r["world_price_copper"]).all()
        np.testing.assert_allclose(r["bloc_price_fluorspar"], r["world_price_fluorspar"])
        assert (r["bloc_price_fluorspar"] < r["floor_fluorspar"]).all()


def test_us_mexico_60_day_things_to_try():
    m = run("us-mexico-60-day", 0, (("agenda.open_accession", True),))
    last = m.rounds_df.iloc[-1]
    assert {"japan", "eu"} <= members(m)[12]
    assert last["bloc_price_fluorspar"] >= last["floor_fluorspar"]


def test_supplier_floods_headline():
    """The surge halves the world rare-earth price and raises the price-gap bill by more than
    half; Mexico leaves in round 10; the US, Japan and the EU stay."""
    for seed in SEEDS:
        m = run("supplier-floods", seed)
        r = m.rounds_df.set_index("round")
        before, during = r.loc[6], r.loc[7:18]
        price = during["world_price_rare_earths"] / before["world_price_rare_earths"]
        assert price.between(0.45, 0.55).all()  # "halves"
        bill = during["fiscal_cost"] / before["fiscal_cost"]
        assert (bill > 1.5).all()  # "by more than half"
        assert rounds_of(m, "left", "mexico") == [10]
        assert all({"us", "japan", "eu"} <= mem for k, mem in members(m).items() if k >= 1)
        assert len(events(m, "left")) == 1


def test_supplier_floods_things_to_try():
    border = run("supplier-floods", 0, (("policy.instrument", "border"),))
    r = border.rounds_df.set_index("round")
    assert (r["fiscal_cost"] == 0).all()
    assert r.loc[7, "tariff_revenue"] > r.loc[6, "tariff_revenue"]
    patient = run("supplier-floods", 0, (("actors.mexico.patience", 12),))
    assert events(patient, "left").empty


EXPORT_CONTROL_LICENCES_NEVER_COME = tuple((f"shocks.{i}.duration", 0) for i in range(5))


def test_export_controls_headline():
    """Japan leaves in round 22, returns in round 28 and stays; the US, the EU and Mexico stay."""
    for seed in SEEDS:
        m = run("export-controls", seed)
        by_round = members(m)
        assert rounds_of(m, "left", "japan") == [22]
        assert rounds_of(m, "joined", "japan") == [1, 28]
        assert all("japan" not in by_round[k] for k in range(23, 28))
        assert all("japan" in by_round[k] for k in range(28, 37))
        assert all({"us", "eu", "mexico"} <= by_round[k] for k in range(1, 37))
        retaliation = m.actors_df.set_index(["round", "actor"])["retaliation"]
        assert retaliation[(21, "japan")] < retaliation[(16, "japan")] < 0  # controls stack up


def test_export_controls_japan_stays_only_because_licences_ease():
    m = run("export-controls", 0, EXPORT_CONTROL_LICENCES_NEVER_COME)
    assert rounds_of(m, "joined", "japan")[:2] == [1, 28]
    assert len(rounds_of(m, "left", "japan")) == 2  # back in round 28, and out again
    assert "japan" not in members(m)[36]


def test_singapore_open_hub_headline():
    """Singapore never joins: ~$1.5bn a year of openness in round 1, more than $5bn once the
    supplier floods, against gains of less than $15m; the other four join in round 1."""
    for seed in SEEDS:
        m = run("singapore-open-hub", seed)
        by_round = members(m)
        assert all("singapore" not in mem for mem in by_round.values())
        assert all(by_round[k] == {"us", "japan", "eu", "mexico"} for k in range(1, 37))
        no = events(m, "rejected", "singapore").set_index("round")["text"]
        assert list(no.index) == list(range(1, 37))  # it answers (no) at every round
        for rnd, text in no.items():
            found = amounts(text)
            hub = -found["openness of trade"]
            assert (1e9 <= hub < 2e9) if rnd == 1 else (hub > 5e9), (rnd, text)
            assert sum(v for v in found.values() if v > 0) < 15e6


def test_singapore_open_hub_without_its_hub_still_stays_out():
    m = run("singapore-open-hub", 0, (("actors.singapore.openness_value", 0),))
    assert all("singapore" not in mem for mem in members(m).values())


def test_expansion_headline():
    """Australia, South Korea and India join in round 7; the bloc's lithium share jumps from
    about 1% to about a third; the seven stay together."""
    newcomers = {"australia", "south_korea", "india"}
    seven = newcomers | {"us", "japan", "eu", "mexico"}
    for seed in SEEDS:
        m = run("expansion", seed)
        by_round = members(m)
        for a in newcomers:
            assert rounds_of(m, "joined", a) == [7], a
        assert all(not (by_round[k] & newcomers) for k in range(7))
        assert all(by_round[k] == seven for k in range(7, 37))
        share = m.rounds_df.set_index("round")["bloc_share_lithium"]
        assert (share.loc[:6] < 0.02).all()
        assert share.loc[7:].between(0.28, 0.4).all()
        assert events(m, "left").empty
        gains = amounts(events(m, "joined", "australia")["text"].iloc[0])
        assert max(gains, key=gains.get) == "producer surplus"


def _dry_round(model: BlocModel) -> int | None:
    r = model.rounds_df
    dry = r.loc[r["fund_exhausted"], "round"]
    return int(dry.iloc[0]) if len(dry) else None


def test_tin_1985_headline():
    """The fund runs dry in round 13, the world price then falls more than 40% below the floor,
    and Brazil nearly doubles its share of world supply."""
    for seed in SEEDS:
        m = run("tin-1985", seed)
        r = m.rounds_df.set_index("round")
        dry = _dry_round(m)
        assert dry == 13
        assert list(events(m, "fund_exhausted")["round"]) == [13]
        held = r.loc[1 : dry - 1]
        assert (held["world_price_tin"] >= 0.999 * held["floor_tin"]).all()
        broken = r.loc[dry + 1 :]
        assert (broken["world_price_tin"] < 0.6 * broken["floor_tin"]).all()
        share = r["supplier_share_tin"]
        assert 1.7 <= share.iloc[-1] / share.iloc[0] < 2.0
        assert members(m)[20] == {"malaysia", "indonesia", "thailand", "ec", "japan"}


@pytest.mark.parametrize(
    "sets, dry",
    [
        ((("investment.rate", 0),), 16),
        ((("policy.stockpile_fund", 2.8e9),), 18),
        ((("policy.floors.tin", 9000),), 20),
        ((("policy.floors.tin", 8500),), None),
    ],
)
def test_tin_1985_things_to_try(sets, dry):
    assert _dry_round(run("tin-1985", 0, sets)) == dry


def test_ministerial_2026_things_to_try():
    controls = run("ministerial-2026", 0, (("supplier.strategy", "export-controls"),))
    assert len(rounds_of(controls, "left", "japan")) >= 2
    assert len(rounds_of(controls, "joined", "japan")) >= 3  # "again and again"
    stockpile = run("ministerial-2026", 0, (("policy.instrument", "stockpile"),))
    r = stockpile.rounds_df.set_index("round")
    assert set(r.loc[1, "would_leave"].split("+")) == {"us", "japan", "eu", "mexico"}
    assert r.loc[8, "n_members"] == 0


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

"""Sweep specs: validation with one-line errors, designs, seeds and metrics (no sweep runs here)."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import numpy as np
import pytest

from negotiation import BlocModel, load_scenario
from negotiation.engine.scenario import resolve_raw
from negotiation.experiments.sweep import point_key, point_seed, run_seed
from negotiation.experiments.sweep_spec import (
    SpecError,
    column_dtypes,
    compute_metrics,
    first_fracture,
    load_spec,
    plan_metrics,
    scenario_with,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "scenarios" / "sweeps"


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(SpecError) as e:
        load_spec(path)
    return e.value.problems


def test_example_specs_are_valid():
    grid = load_spec(EXAMPLES / "penalty-floor.toml")
    assert (grid.design.n_points, grid.spec.replications, grid.n_runs) == (8, 2, 16)
    assert grid.design.points[:3] == [(0.0, 90000), (0.0, 130000), (0.1, 90000)]
    assert "mean_bloc_share_rare_earths" in [m.name for m in grid.metrics]
    sobol = load_spec(EXAMPLES / "sensitivity.toml")
    assert sobol.design.kind == "sobol" and sobol.n_runs == 8 * (3 + 2)
    assert not grid.warnings and not sobol.warnings


def test_quoted_and_nested_paths_are_the_same(tmp_path):
    quoted = write(tmp_path, """
        [set]
        "time.rounds" = 3
        [parameters]
        "policy.floors.rare_earths" = { values = [90000, 110000] }
        "actors.japan.patience" = { range = [1, 3] }
    """, "quoted.toml")  # fmt: skip
    nested = write(tmp_path, """
        [set.time]
        rounds = 3
        [parameters.policy.floors]
        rare_earths = { values = [90000, 110000] }
        [parameters.actors.japan.patience]
        range = [1, 3]
    """, "nested.toml")  # fmt: skip
    a, b = load_spec(quoted), load_spec(nested)
    assert (
        a.design.paths == b.design.paths == ("policy.floors.rare_earths", "actors.japan.patience")
    )
    assert a.design.points == b.design.points
    assert [p[1] for p in a.design.points[:3]] == [1, 2, 3]  # integer range: step 1
    assert a.fixed == b.fixed == {"time.rounds": 3}


def test_ranges_and_grids(tmp_path):
    spec = write(tmp_path, """
        [set]
        "time.rounds" = 3
        [parameters]
        "policy.outsider_penalty" = { range = [0.0, 0.3], step = 0.1 }
        "supplier.aggressiveness" = { uniform = [0.2, 0.8], steps = 3 }
        "policy.stockpile_fund" = { log_uniform = [1e8, 1e10], steps = 3 }
    """)  # fmt: skip
    plan = load_spec(spec)
    levels = [p.levels for p in plan.design.params]
    assert levels == [(0.0, 0.1, 0.2, 0.3), (0.2, 0.5, 0.8), (1e8, 1e9, 1e10)]
    assert plan.design.n_points == 4 * 3 * 3
    # grid order: the last parameter varies fastest
    assert plan.design.points[:2] == [(0.0, 0.2, 1e8), (0.0, 0.2, 1e9)]


def test_latin_hypercube_is_stratified_and_seeded(tmp_path):
    text = """
        seed = 11
        [design]
        kind = "lhs"
        size = 20
        [set]
        "time.rounds" = 3
        [parameters]
        "policy.outsider_penalty" = { uniform = [0.0, 0.4] }
        "policy.instrument" = { choice = ["border", "price_gap"] }
    """
    plan = load_spec(write(tmp_path, text))
    x = np.array([p[0] for p in plan.design.points])
    assert sorted((x / 0.4 * 20).astype(int)) == list(range(20))  # one point per stratum
    assert {p[1] for p in plan.design.points} == {"border", "price_gap"}
    assert load_spec(write(tmp_path, text, "again.toml")).design.points == plan.design.points


def test_sobol_design_is_salibs_saltelli_layout(tmp_path):
    from SALib.sample import sobol

    from negotiation.experiments.sweep_spec import design_rng

    plan = load_spec(EXAMPLES / "sensitivity.toml")
    unit = sobol.sample(
        plan.design.salib_problem(), 8, calc_second_order=False, seed=design_rng(plan.spec.seed)
    )
    penalty = [p[0] for p in plan.design.points]
    assert np.allclose(penalty, unit[:, 0] * 0.4)
    fund = [p[2] for p in plan.design.points]
    assert np.allclose(np.log(fund), np.log(2e8) + unit[:, 2] * (np.log(2e10) - np.log(2e8)))
    second = write(tmp_path, (EXAMPLES / "sensitivity.toml").read_text().replace(
        "size = 8", "size = 8\nsecond_order = true"))  # fmt: skip
    assert load_spec(second).n_runs == 8 * (2 * 3 + 2)


def test_morris_design_is_salibs_trajectories(tmp_path):
    """r trajectories of D + 1 points, each step moving one parameter by half the grid; the
    unit sample is SALib's (seeded from the root seed); a continuous parameter maps it through
    its range, a finite one spreads the grid levels over its values."""
    from SALib.sample import morris

    from negotiation.experiments.sweep_spec import design_rng

    text = """
        seed = 5
        [design]
        kind = "morris"
        size = 6
        [set]
        "time.rounds" = 3
        [parameters]
        "policy.outsider_penalty" = { uniform = [0.0, 0.6] }
        "actors.japan.patience" = { range = [1, 7] }
        "policy.stockpile_fund" = { log_uniform = [2.0e8, 2.0e10] }
        "supplier.aggressiveness" = { values = [0.2, 0.4, 0.6, 0.8] }
    """
    plan = load_spec(write(tmp_path, text))
    d = plan.design
    assert (d.kind, d.levels, d.n_points, plan.n_runs) == ("morris", 4, 6 * 5, 6 * 5)
    unit = morris.sample(d.salib_problem(), 6, num_levels=4, seed=design_rng(5))
    np.testing.assert_array_equal(d.unit, unit)
    values = np.array([[float(v) for v in pt] for pt in d.points])
    np.testing.assert_allclose(values[:, 0], unit[:, 0] * 0.6)
    # 7 patience values, 4 grid levels: 1, 3, 5, 7 (round(k / 3 x 6) + 1)
    assert set(values[:, 1]) <= {1, 3, 5, 7}
    np.testing.assert_array_equal(values[:, 1], np.rint(unit[:, 1] * 6) + 1)
    np.testing.assert_allclose(np.log(values[:, 2]),
                               np.log(2e8) + unit[:, 2] * np.log(100))  # fmt: skip
    np.testing.assert_allclose(values[:, 3], 0.2 + 0.2 * np.rint(unit[:, 3] * 3))  # 4 = 4 levels
    for t in range(6):  # each step of a trajectory moves exactly one parameter, by 2/3
        steps = np.diff(unit[5 * t : 5 * t + 5], axis=0)
        assert ((np.abs(steps) > 1e-12).sum(axis=1) == 1).all()
        assert np.allclose(np.abs(steps).sum(axis=1), 2 / 3)
        assert sorted(np.argmax(np.abs(steps), axis=1)) == [0, 1, 2, 3]
    assert load_spec(write(tmp_path, text, "again.toml")).design.points == d.points
    levels = write(tmp_path, text.replace("size = 6", "size = 6\n        levels = 6"), "six.toml")
    assert set(np.round(load_spec(levels).design.unit.ravel(), 9)) <= {
        round(k / 5, 9) for k in range(6)
    }


def test_a_run_seed_depends_only_on_its_point_and_replication():
    """Spawned from the root seed with the key (point's values, replication): nothing about the
    rest of the design, so extending a sweep leaves the seeds of its runs as they were."""
    paths = ("policy.outsider_penalty", "policy.instrument")
    blob = b'{"policy.instrument":"border","policy.outsider_penalty":0.1}'
    key = int.from_bytes(hashlib.sha256(blob).digest()[:8], "big")
    assert point_key(paths, (0.1, "border")) == key == point_key(paths, (np.float64(0.1), "border"))
    assert point_key(("time.rounds",), (6,)) == point_key(("time.rounds",), (6.0,))
    assert point_key(paths, (0.2, "border")) != key != point_key(paths[::-1], (0.1, "border"))
    state = np.random.SeedSequence(2026, spawn_key=(key, 3)).generate_state(1, np.uint64)[0]
    assert point_seed(2026, key, 3) == int(state >> np.uint64(1))
    seeds = {point_seed(2026, point_key(paths, (x / 100, "border")), r)
             for x in range(50) for r in range(4)}  # fmt: skip
    assert len(seeds) == 200 and all(0 <= s < 2**63 for s in seeds)


def test_sweeps_of_format_1_keep_their_run_id_seeds():
    """A sweep started by an older bloc resumes with the seeds it started with."""
    children = np.random.SeedSequence(2026).spawn(50)
    expected = [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]
    assert [run_seed(2026, i) for i in range(50)] == expected


BAD = {
    "unknown parameter path": (
        '[parameters]\n"policy.outsider_penalt" = { values = [0.1] }',
        "parameters.policy.outsider_penalt: unknown scenario path: 'outsider_penalt' is not a "
        "field of policy (did you mean 'outsider_penalty'?)",
    ),
    "unknown actor": (
        '[parameters]\n"actors.japn.patience" = { values = [1, 2] }',
        "actors has no 'japn' (did you mean 'japan'?)",
    ),
    "unknown path in set": ('[set]\n"time.rouns" = 3', "set.time.rouns: unknown scenario path"),
    "inside a list": (
        '[parameters]\n"agenda.tracks.name" = { values = ["a"] }',
        "agenda.tracks is a list: name an entry by its number (agenda.tracks.0...)",
    ),
    "past the end of a list": (
        '[parameters]\n"agenda.tracks.7.deadline_round" = { values = [1, 2] }',
        "parameters.agenda.tracks.7.deadline_round: unknown scenario path: agenda.tracks has no "
        "entry 7 (it has 3, from 0)",
    ),
    "inside a list of numbers": (
        '[parameters]\n"uncertainty.outage_size.0" = { values = [0.1] }',
        "uncertainty.outage_size is a list, not a table: set it whole",
    ),
    "empty range": (
        '[parameters]\n"policy.outsider_penalty" = { range = [0.3, 0.0], steps = 3 }',
        "parameters.policy.outsider_penalty: empty range [0.3, 0.0]",
    ),
    "sobol with a non-numeric parameter": (
        '[design]\nkind = "sobol"\nsize = 8\n[parameters]\n'
        '"policy.instrument" = { choice = ["border", "price_gap"] }',
        "parameters.policy.instrument: a Sobol design needs numeric parameters",
    ),
    "sobol size": (
        '[design]\nkind = "sobol"\nsize = 10\n[parameters]\n'
        '"policy.outsider_penalty" = { uniform = [0, 1] }',
        "design.size: a Sobol design needs a power of 2 (got 10; try 8 or 16)",
    ),
    "continuous parameter in a grid": (
        '[parameters]\n"policy.outsider_penalty" = { uniform = [0.0, 0.3] }',
        "a grid needs a finite list of values: add steps = N",
    ),
    "lhs without size": (
        '[design]\nkind = "lhs"\n[parameters]\n"policy.outsider_penalty" = { uniform = [0, 1] }',
        "design.size: an lhs design needs a size",
    ),
    "misspelt key": (
        '[parameters]\n"policy.outsider_penalty" = { rnage = [0.0, 0.3] }',
        "parameters.policy.outsider_penalty.rnage: unknown key 'rnage' (did you mean 'range'?)",
    ),
    "misspelt top-level key": ("replication = 3", "unknown key 'replication' (did you mean"),
    "a bare value": (
        '[parameters]\n"policy.outsider_penalty" = 0.2',
        "expected a table such as { values = [...] }",
    ),
    "mixed value types": (
        '[parameters]\n"policy.outsider_penalty" = { values = [0.1, "high"] }',
        "values mix types (float, str)",
    ),
    "unknown metric": ('metrics = ["final_sise"]', "unknown metric 'final_sise' (did you mean"),
    "statistic of text": ('metrics = ["members:mean"]', "members holds text"),
    "every value rejected": (
        '[parameters]\n"policy.outsider_penalty" = { values = [5.0, 3.0] }',
        "parameters.policy.outsider_penalty: no value is accepted by the scenario: 5.0 is "
        "rejected: should be less than or equal to 2 (got 5.0)",
    ),
    "a range past a bound": (
        '[parameters]\n"policy.outsider_penalty" = { range = [0.0, 3.0], steps = 4 }',
        "parameters.policy.outsider_penalty: range [0.0, 3.0] goes past the scenario's bound at "
        "its end: should be less than or equal to 2 (got 3.0)",
    ),
    "no such scenario": ('scenario = "ministerial-2062"', "scenario: ministerial-2062: no such"),
    "a parameter named as a runs column": (
        "[parameters]\nseed = { values = [1, 2] }",
        "parameters.seed: the runs table has a column 'seed' of its own (the run's seed)",
    ),
    "morris without size": (
        '[design]\nkind = "morris"\n[parameters]\n"policy.outsider_penalty" = { uniform = [0, 1] }',
        "design.size: a Morris design needs a size (the number of trajectories r",
    ),
    "morris with one trajectory": (
        '[design]\nkind = "morris"\nsize = 1\n[parameters]\n'
        '"policy.outsider_penalty" = { uniform = [0, 1] }',
        "design.size: a Morris design needs at least 2 trajectories",
    ),
    "morris with odd levels": (
        '[design]\nkind = "morris"\nsize = 4\nlevels = 5\n[parameters]\n'
        '"policy.outsider_penalty" = { uniform = [0, 1] }',
        "design.levels: a Morris design needs an even number of levels (got 5; try 4 or 6)",
    ),
    "levels outside morris": (
        '[design]\nkind = "lhs"\nsize = 4\nlevels = 4\n[parameters]\n'
        '"policy.outsider_penalty" = { uniform = [0, 1] }',
        "design.levels: only a Morris design has levels",
    ),
    "morris with a non-numeric parameter": (
        '[design]\nkind = "morris"\nsize = 4\n[parameters]\n'
        '"policy.instrument" = { choice = ["border", "price_gap"] }',
        "parameters.policy.instrument: a Morris design needs numeric parameters",
    ),
    "morris with a misspelt design key": (
        '[design]\nkind = "morris"\nsize = 4\nlevles = 4\n[parameters]\n'
        '"policy.outsider_penalty" = { uniform = [0, 1] }',
        "design.levles: unknown key 'levles' (did you mean 'levels'?)",
    ),
    "report group not a parameter": (
        '[parameters]\n"policy.outsider_penalty" = { values = [0.1, 0.2] }\n'
        '[report]\ngroup = "policy.outsider_penalt"',
        "report.group: 'policy.outsider_penalt' is not a parameter of this sweep (did you mean "
        "'policy.outsider_penalty'?)",
    ),
    "report series without a rounds table": (
        '[report]\nseries = ["n_members"]',
        'report.series: envelopes need the rounds table: add collect = "every_round"',
    ),
    "report series not a rounds column": (
        'collect = "every_round"\n[report]\nseries = ["n_member"]',
        "report.series: 'n_member' is not a numeric rounds column (did you mean 'n_members'?)",
    ),
    "morris misspelt": (
        '[design]\nkind = "moris"\nsize = 4\n[parameters]\n'
        '"policy.outsider_penalty" = { uniform = [0, 1] }',
        "design.kind",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_specs_get_one_line_naming_file_and_field(tmp_path, case):
    body, expected = BAD[case]
    spec = write(tmp_path, body + "\n")
    problems = problems_of(spec)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{spec}: "), problems
    assert expected in problems[0], problems
    assert "\n" not in problems[0]


def test_every_problem_is_listed(tmp_path):
    spec = write(tmp_path, """
        [design]
        kind = "sobol"
        size = 6
        [parameters]
        "policy.instrument" = { choice = ["border"] }
        "policy.outsider_penalty" = { range = [0.2, 0.1] }
    """)  # fmt: skip
    assert len(problems_of(spec)) == 1  # a bad parameter stops before the design is checked
    spec.write_text(spec.read_text().replace("[0.2, 0.1]", "[0.1, 0.2]"))
    problems = problems_of(spec)
    assert len(problems) == 2
    assert "power of 2" in problems[0] and "numeric parameters" in problems[1]


def test_values_the_scenario_rejects_give_a_warning(tmp_path):
    spec = write(tmp_path, """
        [set]
        "time.rounds" = 3
        [parameters]
        "policy.outsider_penalty" = { values = [0.1, 5.0] }
    """)  # fmt: skip
    plan = load_spec(spec)
    assert len(plan.warnings) == 1
    assert "5.0 is rejected by the scenario (" in plan.warnings[0]
    assert "less than or equal to 2" in plan.warnings[0]
    assert "recorded as failed" in plan.warnings[0]


def test_a_rejected_value_of_a_list_warns_whatever_the_seed_and_order(tmp_path):
    """Values are checked one by one before the design is drawn: a rejected value drawn first by
    the Latin hypercube is a warning like any other, not an error."""
    for seed in range(1, 7):
        for values in ("[5.0, 0.1]", "[0.1, 5.0]"):
            spec = write(tmp_path, f"""
                seed = {seed}
                [design]
                kind = "lhs"
                size = 4
                [set]
                "time.rounds" = 3
                [parameters]
                "policy.outsider_penalty" = {{ values = {values} }}
            """)  # fmt: skip
            plan = load_spec(spec)
            assert len(plan.warnings) == 1 and "5.0 is rejected by the scenario" in plan.warnings[0]
            assert {p[0] for p in plan.design.points} <= {0.1, 5.0}


def test_scenario_with_equals_load_scenario():
    raw, path = resolve_raw("ministerial-2026")
    overrides = {"policy.outsider_penalty": 0.2, "actors.japan.patience": 1, "time.rounds": 4}
    assert scenario_with(raw, str(path), overrides) == load_scenario("ministerial-2026", overrides)


def test_metrics_from_a_real_run():
    model = BlocModel(load_scenario("ministerial-2026", {"time.rounds": 4}), rng=3).run()
    rounds = model.rounds_df
    columns = column_dtypes(rounds)
    names = ["final_size", "final_members", "mean_fiscal_cost", "mean_world_price",
             "stockpile_fund", "bloc_share_lithium:max", "internally_stable"]  # fmt: skip
    metrics, problems = plan_metrics(names, columns, model.minerals)
    assert not problems
    values = compute_metrics(metrics, rounds)
    last, body = rounds.iloc[-1], rounds.iloc[1:]
    assert values["final_size"] == last["n_members"]
    assert values["final_members"] == last["members"]
    assert values["mean_fiscal_cost"] == body["fiscal_cost"].mean()
    assert values["mean_world_price_lithium"] == body["world_price_lithium"].mean()
    assert values["stockpile_fund"] == last["stockpile_fund"]
    assert values["max_bloc_share_lithium"] == body["bloc_share_lithium"].max()
    assert values["internally_stable"] == bool(last["internally_stable"])


def test_first_fracture_is_the_first_round_a_member_left():
    assert first_fracture([0, 1, 2, 3], ["us", "us+eu", "us+eu+japan", "us+eu"]) == 3
    assert first_fracture([0, 1, 2], ["us", "us+eu", "us+eu+mexico"]) is None
    assert first_fracture([0, 1], ["us+eu", "us+japan"]) == 1  # one left, another joined


def test_an_entry_of_a_list_of_tables_is_a_parameter(tmp_path):
    """A researcher sweeps one table's field by its number: the convener's aims at the first
    table of convener-designs. Each run's scenario has the value there, and the other tables'
    as the file has them."""
    spec = write(
        tmp_path,
        """
        scenario = "convener-designs"
        [parameters]
        "agenda.tracks.0.partner_weight" = { values = [0.0, 0.25] }
    """,
    )
    plan = load_spec(spec)
    assert plan.design.points == [(0.0,), (0.25,)]
    weights = [
        [
            t.partner_weight
            for t in scenario_with(
                plan.scenario_raw, plan.scenario_path, plan.overrides(point)
            ).agenda.tracks
        ]
        for point in plan.design.points
    ]
    assert weights == [[0.0, 0.25, 0.25], [0.25, 0.25, 0.25]]

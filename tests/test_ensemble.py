"""`bloc ensemble` and `negotiation.experiments.ensemble`: seeds, reproducibility across workers,
the probabilities, bands and summary against a hand computation, cancelling, progress, the CLI.

Nothing here needs two seeds to give different runs on the default scenario: outcomes vary
because every country plays the "random" strategy (it accepts with probability 1/2)."""

from __future__ import annotations

import json
import math
import threading
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from agents.countries import RandomCountry
from negotiation import BlocModel, load_scenario
from negotiation.cli import main
from negotiation.engine.scenario import ScenarioError
from negotiation.experiments.ensemble import (
    Ensemble,
    EnsembleCancelled,
    _record,
    proportion_ci,
    run_ensemble,
)
from negotiation.experiments.sweep import run_seed
from negotiation.rules.types import Action, Decision

COUNTRIES = ("us", "japan", "eu", "mexico", "singapore")
RANDOM = {"strategies": {c: "random" for c in COUNTRIES}}
RANDOM_SETS = {f"actors.{c}.strategy": "random" for c in COUNTRIES}
N, ROUNDS, SEED = 12, 6, 4


def bloc(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def ens() -> Ensemble:
    return run_ensemble(runs=N, rounds=ROUNDS, seed=SEED, model_kwargs=RANDOM)


# --- structure, seeds, reproducibility ------------------------------------------------------


def test_tables_have_one_row_per_run_and_per_run_and_round(ens):
    assert ens.n == N and ens.seed == SEED and ens.scenario == "ministerial-2026"
    assert ens.countries == COUNTRIES and ens.n_rounds == ROUNDS
    assert list(ens.runs.columns) == [
        "run", "seed", "final_members", "final_size", "holds", "first_fracture",
        *(f"in_{c}" for c in COUNTRIES),
    ]  # fmt: skip
    assert ens.runs["run"].tolist() == list(range(N))
    assert str(ens.runs["first_fracture"].dtype) == "Int64"
    minerals = load_scenario("ministerial-2026").mineral_ids
    assert list(ens.rounds.columns) == [
        "run", "round", "n_members", "fiscal_cost",
        *(f"world_price_{m}" for m in minerals),
        *(f"bloc_price_{m}" for m in minerals),
        *(f"supplier_share_{m}" for m in minerals),
    ]  # fmt: skip
    assert len(ens.rounds) == N * (ROUNDS + 1)  # round 0, the opening, included
    assert ens.rounds.groupby("run")["round"].apply(list).tolist() == [list(range(ROUNDS + 1))] * N
    # the outcomes vary (every country plays "random"), so the aggregates below are not trivial
    assert ens.runs["final_members"].nunique() > 1 and ens.runs["holds"].nunique() == 2


def test_run_i_takes_the_ith_seed_spawned_from_the_root(ens):
    children = np.random.SeedSequence(SEED).spawn(N)
    expected = [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]
    assert ens.runs["seed"].tolist() == expected == [run_seed(SEED, i) for i in range(N)]


def test_a_run_replays_alone_from_its_seed(ens):
    row = ens.runs.iloc[7]
    model = BlocModel(rounds=ROUNDS, rng=int(row["seed"]), **RANDOM).run()
    assert model.rounds_df["members"].iloc[-1] == row["final_members"]
    mine = ens.rounds[ens.rounds["run"] == 7].drop(columns="run").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, model.rounds_df[mine.columns])


def test_same_seed_same_ensemble_whatever_the_workers(ens):
    again = run_ensemble(runs=N, rounds=ROUNDS, seed=SEED, model_kwargs=RANDOM)
    pooled = run_ensemble(runs=N, rounds=ROUNDS, seed=SEED, model_kwargs=RANDOM, workers=2)
    for other in (again, pooled):
        pd.testing.assert_frame_equal(other.runs, ens.runs)
        pd.testing.assert_frame_equal(other.rounds, ens.rounds)


def test_a_smaller_ensemble_is_the_start_of_a_larger_one(ens):
    small = run_ensemble(runs=5, rounds=ROUNDS, seed=SEED, model_kwargs=RANDOM)
    pd.testing.assert_frame_equal(small.runs, ens.runs.iloc[:5])


def test_overrides_are_applied_as_bloc_run_set_applies_them(ens):
    """The same strategies through --set paths, on a name or a Scenario, as through kwargs."""
    by_name = run_ensemble(runs=N, rounds=ROUNDS, seed=SEED, overrides=RANDOM_SETS)
    by_object = run_ensemble(
        load_scenario("ministerial-2026"), N, rounds=ROUNDS, seed=SEED, overrides=RANDOM_SETS
    )
    for other in (by_name, by_object):
        pd.testing.assert_frame_equal(other.runs, ens.runs)
    penalty = run_ensemble(runs=1, rounds=2, overrides={"policy.outsider_penalty": 0.25})
    lever = run_ensemble(runs=1, rounds=2, model_kwargs={"penalty": 0.25})
    pd.testing.assert_frame_equal(penalty.rounds, lever.rounds)


class Alternating(RandomCountry):
    """A strategy with state: accepts at every other question, counting across its life."""

    name = "alternating"

    def __init__(self, **params):
        super().__init__(**params)
        self.calls = 0

    def respond(self, view):
        self.calls += 1
        action = Action.ACCEPT if self.calls % 2 else Action.REJECT
        return Decision(action, view.gains[1.0], 1.0, "alternating")


def test_a_strategy_object_starts_every_run_afresh():
    """Strategy objects in model_kwargs are copied per run: no state carries from one run to
    the next (which would also make the result depend on the number of workers)."""
    shared = Alternating()
    ens = run_ensemble(runs=3, rounds=4, model_kwargs={"strategies": {"singapore": shared}})
    assert shared.calls == 0
    for row in ens.runs.itertuples():
        alone = BlocModel(rounds=4, rng=row.seed, strategies={"singapore": Alternating()}).run()
        assert alone.rounds_df["members"].iloc[-1] == row.final_members


# --- the definition of holds ------------------------------------------------------------------


@pytest.mark.parametrize(
    "members, holds, fracture",
    [
        (["us", "japan+us", "eu+japan+us"], True, None),  # joining is not leaving
        (["us", "japan+us", "us"], False, 2),  # a member left (and one is left)
        (["us", "eu+japan+us", "eu+japan+mexico+us", "eu+mexico+us"], False, 3),  # left, 3 stay
        (["us", "us", "us"], False, None),  # one member is no bloc
        (["us", "", ""], False, 1),
    ],
)
def test_holds_means_two_members_at_the_end_and_nobody_left(members, holds, fracture):
    rounds = pd.DataFrame(
        {
            "round": range(len(members)),
            "members": members,
            "n_members": [len([m for m in s.split("+") if m]) for s in members],
            "fiscal_cost": 0.0,
            "world_price_x": 1.0,
            "bloc_price_x": 1.0,
            "supplier_share_x": 0.5,
        }
    )
    model = SimpleNamespace(rounds_df=rounds, countries=COUNTRIES, minerals=("x",))
    row, _ = _record(model, 0, 0)
    assert row["holds"] is holds and row["first_fracture"] == fracture
    assert row["final_size"] == len([m for m in members[-1].split("+") if m])
    assert [row[f"in_{c}"] for c in COUNTRIES] == [c in members[-1].split("+") for c in COUNTRIES]


def test_holds_column_follows_its_definition(ens):
    by_hand = (ens.runs["final_size"] >= 2) & ens.runs["first_fracture"].isna()
    assert ens.runs["holds"].tolist() == by_hand.tolist()


# --- probabilities, bands, summary, by hand ----------------------------------------------------


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_wilson_interval_is_the_textbook_formula():
    for k, n in [(0, 10), (3, 10), (10, 10), (47, 100), (1, 1)]:
        assert proportion_ci(k, n) == pytest.approx(wilson(k, n), abs=1e-12)


def test_probabilities_are_shares_of_runs_with_their_intervals(ens):
    runs = ens.runs
    k = int(runs["holds"].sum())
    assert ens.p_holds == k / N
    assert ens.p_holds_ci == pytest.approx(wilson(k, N))
    for c in COUNTRIES:
        kc = sum(runs[f"in_{c}"])
        assert ens.p_member[c] == kc / N
        assert ens.p_member_ci.loc[c, "runs"] == kc
        assert (ens.p_member_ci.loc[c, "low"], ens.p_member_ci.loc[c, "high"]) == pytest.approx(
            wilson(kc, N)
        )
    counts: dict[str, int] = {}
    for m in runs["final_members"]:
        counts[m] = counts.get(m, 0) + 1
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    out = ens.outcomes
    assert list(zip(out["members"], out["runs"])) == expected
    assert out["p"].tolist() == [v / N for _, v in expected]
    assert out["p"].sum() == pytest.approx(1.0)
    assert out["size"].tolist() == [len(m.split("+")) for m, _ in expected]
    assert out[["low", "high"]].to_numpy() == pytest.approx(
        np.array([wilson(v, N) for _, v in expected])
    )


def test_bands_are_per_round_quantiles_over_runs(ens):
    cols = ["world_price_rare_earths", "n_members"]
    b = ens.bands(cols)
    assert b.index.tolist() == list(range(ROUNDS + 1))
    assert b.columns.tolist() == [(c, q) for c in cols for q in (0.05, 0.5, 0.95)]
    for r in range(ROUNDS + 1):
        for c in cols:
            x = ens.rounds.loc[ens.rounds["round"] == r, c].to_numpy(dtype=float)
            assert len(x) == N
            assert [b.loc[r, (c, q)] for q in (0.05, 0.5, 0.95)] == pytest.approx(
                np.quantile(x, [0.05, 0.5, 0.95])
            )
    assert ens.bands("fiscal_cost", q=(0.25,)).columns.tolist() == [("fiscal_cost", 0.25)]
    assert ens.bands().shape[1] == 3 * (len(ens.rounds.columns) - 2)
    with pytest.raises(KeyError, match="not a rounds column: nope"):
        ens.bands(["nope"])


def test_summary_is_the_last_rounds_median_band_and_mean(ens):
    s = ens.summary()
    minerals = ens.minerals
    assert s.index.tolist() == [
        *(f"world price {m} (USD/t)" for m in minerals),
        "fiscal cost (USD/yr)",
        *(f"supplier share {m} (0-1)" for m in minerals),
    ]
    last = ens.rounds[ens.rounds["round"] == ROUNDS]
    for label, row in s.iterrows():
        x = last[row["column"]].to_numpy(dtype=float)
        lo, med, hi = np.quantile(x, [0.05, 0.5, 0.95])
        assert (row["median"], row["p05"], row["p95"], row["mean"]) == pytest.approx(
            (med, lo, hi, x.mean())
        ), label


def test_aggregates_of_a_known_set_of_runs():
    """A synthetic ensemble: four runs, numbers small enough to check by eye."""
    runs = pd.DataFrame(
        {
            "run": [0, 1, 2, 3],
            "seed": [10, 11, 12, 13],
            "final_members": ["a+b", "a+b", "a", "a+b+c"],
            "final_size": [2, 2, 1, 3],
            "holds": [True, False, False, True],
            "first_fracture": pd.array([None, 3, 2, None], dtype="Int64"),
            "in_a": [True] * 4,
            "in_b": [True, True, False, True],
            "in_c": [False, False, False, True],
        }
    )
    rounds = pd.DataFrame(
        {
            "run": [0, 0, 1, 1, 2, 2, 3, 3],
            "round": [0, 1] * 4,
            "fiscal_cost": [0.0, 10.0, 0.0, 20.0, 0.0, 30.0, 0.0, 40.0],
            "world_price_x": [5.0, 1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 4.0],
            "supplier_share_x": [0.5, 0.1, 0.5, 0.2, 0.5, 0.3, 0.5, 0.4],
        }
    )
    e = Ensemble(runs, rounds, "toy", 0, 4, countries=("a", "b", "c"), minerals=("x",))
    assert e.p_holds == 0.5
    assert e.p_member.to_dict() == {"a": 1.0, "b": 0.75, "c": 0.25}
    assert e.outcomes[["members", "runs", "p"]].values.tolist() == [
        ["a+b", 2, 0.5],
        ["a", 1, 0.25],
        ["a+b+c", 1, 0.25],
    ]
    # quantiles of 1, 2, 3, 4 (linear): 5 % -> 1.15, median 2.5, 95 % -> 3.85
    s = e.summary()
    assert s.loc["world price x (USD/t)", ["median", "p05", "p95", "mean"]].tolist() == (
        pytest.approx([2.5, 1.15, 3.85, 2.5])
    )
    assert s.loc["fiscal cost (USD/yr)", "median"] == pytest.approx(25.0)
    b = e.bands("world_price_x")
    assert b.loc[0].tolist() == [5.0, 5.0, 5.0]
    assert b.loc[1].tolist() == pytest.approx([1.15, 2.5, 3.85])
    text = e.text()
    assert "The bloc holds to the end in 2 of 4 runs: P = 0.50" in text
    assert "fiscal cost (USD bn/yr)" in text and "supplier share x (%)" in text


# --- progress and cancelling ------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_counts_up_to_n_of_n(workers):
    calls: list[tuple[int, int]] = []
    run_ensemble(runs=9, rounds=2, workers=workers, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (9, 9)
    assert all(t == 9 for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[0] >= 1


def test_cancel_in_process_stops_at_once():
    cancel = threading.Event()
    calls = []

    def progress(done, total):
        calls.append(done)
        if done == 3:
            cancel.set()

    with pytest.raises(EnsembleCancelled) as e:
        run_ensemble(runs=50, rounds=2, progress=progress, cancel=cancel)
    assert (e.value.done, e.value.total) == (3, 50) and calls == [1, 2, 3]


def test_cancel_stops_a_pool_before_it_finishes():
    """Set from another thread while the pool works, as the app does: pending batches are
    dropped and the workers stopped, without waiting for the ensemble."""
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done, total):
        seen.append(done)
        if done == 1:  # run 0 (in this process) is done: the pool is starting
            threading.Timer(0.2, cancel.set).start()

    with pytest.raises(EnsembleCancelled) as e:
        run_ensemble(runs=3000, rounds=3, workers=2, progress=progress, cancel=cancel)
    assert e.value.total == 3000 and e.value.done < 3000 and seen[-1] == e.value.done


def test_a_cancel_already_set_runs_nothing():
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(EnsembleCancelled):
        run_ensemble(runs=5, cancel=cancel)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"runs": 0}, ValueError, "runs must be a positive integer"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"workers": 0}, ValueError, "workers must be at least 1"),
        ({"rounds": 0}, ValueError, "rounds must be at least 1"),
        ({"model_kwargs": {"rng": 1}}, ValueError, "not a lever: rng"),
        ({"model_kwargs": {"instrument": "bogus"}}, ValueError, "bogus"),
        ({"overrides": {"policy.outsider_penalty": "abc"}}, ScenarioError, "outsider_penalty"),
        ({"overrides": {"actors.japan.strategy": "human"}}, ValueError, "played by a person"),
    ],
)
def test_bad_arguments_raise_before_any_run(kwargs, error, message):
    args = {"runs": 2, "rounds": 1, **kwargs}
    with pytest.raises(error, match=message):
        run_ensemble(**args)


# --- the command line ---------------------------------------------------------------------------


def test_cli_prints_the_tables_and_writes_the_files(tmp_path, ens):
    out = tmp_path / "ens"
    sets = [a for k, v in RANDOM_SETS.items() for a in ("--set", f"{k}={v}")]
    r = bloc("ensemble", "--runs", str(N), "--rounds", str(ROUNDS), "--seed", str(SEED),
             *sets, "--out", str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    text = r.output
    assert f"ministerial-2026 — ensemble of {N} runs of {ROUNDS} rounds, root seed {SEED}" in text
    k = int(ens.runs["holds"].sum())
    lo, hi = ens.p_holds_ci
    assert (
        f"The bloc holds to the end in {k} of {N} runs: P = {k / N:.2f} "
        f"(95% interval {lo:.2f}-{hi:.2f}, Wilson)"
    ) in text
    assert "at least two members, and no member left it during the run" in text
    assert "In the bloc at the end:" in text and "Singapore" in text
    assert "Most likely final memberships:" in text
    assert ens.outcomes["members"].iloc[0] in text
    assert "median and 90% band (5th-95th percentile)" in text
    assert "world price rare_earths (USD/t)" in text and "fiscal cost (USD bn/yr)" in text
    assert "supplier share gallium (%)" in text
    assert f"--seed {ens.runs['seed'].iloc[0]}" in text  # how to replay a run
    runs = pd.read_csv(out / "runs.csv")
    assert runs["seed"].tolist() == ens.runs["seed"].tolist()
    assert runs["final_members"].tolist() == ens.runs["final_members"].tolist()
    assert runs["holds"].tolist() == ens.runs["holds"].tolist()
    rounds = pd.read_csv(out / "rounds.csv")
    pd.testing.assert_frame_equal(rounds, ens.rounds, check_dtype=False)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == SEED and meta["runs"] == N and meta["rounds"] == ROUNDS
    assert meta["seeds"] == ens.runs["seed"].tolist() and "SeedSequence" in meta["seeding"]
    assert meta["scenario"] == "ministerial-2026" and "numpy" in meta["versions"]
    assert meta["command"].startswith(f"bloc ensemble --runs {N}")


def test_cli_parquet_and_quiet(tmp_path):
    out = tmp_path / "pq"
    r = bloc("ensemble", "--runs", "3", "--rounds", "2", "--quiet", "--format", "parquet",
             "--out", str(out))  # fmt: skip
    assert r.exit_code == 0 and r.output == ""
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 3 and str(runs["first_fracture"].dtype) == "Int64"
    assert len(pd.read_parquet(out / "rounds.parquet")) == 3 * 3


def test_cli_seed_defaults_to_the_scenarios(tmp_path):
    path = tmp_path / "seeded.toml"
    from negotiation.engine.scenario import scenario_to_toml

    path.write_text(f"seed = 42\n{scenario_to_toml(load_scenario('ministerial-2026'))}")
    r = bloc("ensemble", str(path), "--runs", "2", "--rounds", "1", "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    assert "root seed 42" in r.output
    assert json.loads((tmp_path / "o" / "meta.json").read_text())["seeds"] == [
        run_seed(42, 0),
        run_seed(42, 1),
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--runs", "0"], "--runs must be at least 1 (got 0)"),
        (["--rounds", "0"], "--rounds must be at least 1 (got 0)"),
        (["--workers", "0"], "--workers must be at least 1 (got 0)"),
        (["--seed", "-1"], "--seed must be a non-negative integer (got -1)"),
        (["nosuch"], "nosuch: no such scenario"),
        (["--set", "policy.outsider_penalty=abc"], "--set policy.outsider_penalty: must be a"),
        (["--set", "actors.japan.strategy=bogus"], "unknown country strategy 'bogus'"),
        (["--set", "actors.japan.strategy=human"], "japan played by a person"),
        (["--set", "novalue"], "expected dotted.path=value"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args, message):
    r = CliRunner().invoke(main, ["ensemble", "--runs", "2", "--rounds", "1", *args])
    assert r.exit_code == 2, r.output
    assert f"bloc: error: {message}" in r.output or message in r.output
    assert "Traceback" not in r.output


def test_cli_unwritable_out_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = CliRunner().invoke(main, ["ensemble", "--runs", "1", "--rounds", "1", "--out",
                                  str(blocker / "sub")])  # fmt: skip
    assert r.exit_code == 2 and "cannot write there" in r.output

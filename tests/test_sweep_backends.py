"""`bloc sweep` across processes: identical tables from 1 worker, 2 workers, a Dask LocalCluster
and a Dask scheduler and workers started from the command line; SIGKILL at random moments then
resume; Ctrl-C; a scheduler that does not answer. Real processes, real signals, no timing
assertions."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from negotiation.cli import main
from negotiation.experiments.sweep import load, run_sweep

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BLOC = [str(BIN / "bloc")] if (BIN / "bloc").exists() else [sys.executable, "-m", "negotiation.cli"]
DASK = str(BIN / "dask")

SPEC = """
    title = "backends"
    seed = 5
    replications = 2
    collect = "every_round"
    metrics = ["final_size", "final_members", "first_fracture", "mean_world_price",
               "supplier_share", "stockpile_fund"]
    [design]
    kind = "lhs"
    size = 6
    [set]
    "time.rounds" = 3
    [parameters]
    "policy.outsider_penalty" = { uniform = [0.0, 0.4] }
    "policy.instrument" = { choice = ["border", "price_gap", "stockpile"] }
    "supplier.aggressiveness" = { uniform = [0.0, 1.0] }
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def assert_same(a: Path, b: Path) -> None:
    x, y = load(a), load(b)
    assert list(x.runs["run_id"]) == list(range(len(x.runs)))
    pd.testing.assert_frame_equal(x.runs, y.runs, check_exact=True)
    pd.testing.assert_frame_equal(x.rounds, y.rounds, check_exact=True)


def stop(proc: subprocess.Popen) -> None:
    """End a process we started, with its process group (workers, nannies, fork server)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)


def wait_for(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def parts(out: Path) -> int:
    return len(list((out / "runs").glob("part-*.parquet"))) if (out / "runs").is_dir() else 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    spec = write(tmp, SPEC)
    run_sweep(spec, tmp / "one", workers=1, progress=False)
    return spec, tmp / "one"


@pytest.mark.slow
def test_two_workers_give_the_same_tables(reference, tmp_path):
    spec, one = reference
    summary = run_sweep(spec, tmp_path / "two", workers=2, batch_size=1, progress=False)
    assert summary.n_ok == 12 and "process pool (2 workers" in summary.backend
    assert_same(one, tmp_path / "two")


@pytest.mark.slow
def test_a_dask_local_cluster_gives_the_same_tables(reference, tmp_path):
    from distributed import LocalCluster

    spec, one = reference
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:  # fmt: skip
        summary = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address,
                            batch_size=3, progress=False)  # fmt: skip
    assert summary.n_ok == 12 and "dask" in summary.backend
    assert_same(one, tmp_path / "dask")


@pytest.mark.slow
def test_separate_scheduler_and_worker_processes(reference, tmp_path):
    """`dask scheduler` and `dask worker` as separate processes on free ports of 127.0.0.1."""
    spec, one = reference
    file = tmp_path / "scheduler.json"
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str, env: dict[str, str] | None = None) -> None:
        with open(logs / f"{name}.log", "w") as log:
            proc = subprocess.Popen(
                [DASK, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=tmp_path,
                env=env,
            )
        procs.append(proc)

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(file))  # fmt: skip
        wait_for(lambda: file.exists() and "address" in file.read_text(), 120, "the scheduler")
        address = json.loads(file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")

        # No worker yet: a one-line error, exit code 2, nothing written.
        none = tmp_path / "none"
        r = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(none), "--scheduler",
                                      address, "--connect-timeout", "2"])  # fmt: skip
        assert r.exit_code == 2 and "the scheduler has no workers" in r.stderr, r.output
        assert not none.exists()

        # as docs/how-to/sweeps.md starts them: without the 10 ms stack sampling of Dask's profiler
        no_profile = {**os.environ, "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}
        start("worker", "worker", "--scheduler-file", str(file), "--nworkers", "2", "--nthreads",
              "1", "--no-dashboard", "--host", "127.0.0.1", env=no_profile)  # fmt: skip
        out = tmp_path / "cli"
        done = subprocess.run([*BLOC, "sweep", str(spec), "--out", str(out), "--scheduler",
                               address, "--connect-timeout", "120", "--batch-size", "2",
                               "--quiet"], capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert_same(one, out)
        sessions = load(out).metadata["sessions"]
        assert sessions[0]["backend"] == f"dask cluster at {address}"
    finally:
        for p in reversed(procs):
            stop(p)


def test_a_scheduler_that_does_not_answer(reference, tmp_path):
    spec, _ = reference
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        out = tmp_path / "out"
        r = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--scheduler",
                                      address, "--connect-timeout", "1"])  # fmt: skip
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"bloc: error: --scheduler {address}: no answer within 1 s"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume(tmp_path):
    """Kill the whole sweep (parent, fork server, workers) with SIGKILL at random moments: no
    run is lost or duplicated, and the tables equal an uninterrupted sweep's."""
    # 100 runs of 24 rounds: long enough that a kill aimed "a few runs in" lands before the end
    spec = write(tmp_path, SPEC.replace("size = 6", "size = 50").replace("= 3\n", "= 24\n"))
    rng = random.Random(20260204)
    out = tmp_path / "killed"
    base = [*BLOC, "sweep", str(spec), "--out", str(out), "--batch-size", "1", "--quiet",
            "--flush-seconds", "0"]  # fmt: skip
    for attempt, workers in enumerate(["1", "2", "1"]):
        before = parts(out)
        args = [*base, "--workers", workers] + (["--resume"] if attempt else [])
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)  # fmt: skip
        try:
            if attempt == 0:  # anywhere from the folder's creation on, even before a run lands
                wait_for(lambda: (out / "metadata.json").exists(), 300, "the sweep to start")
                time.sleep(rng.uniform(0.0, 0.5))
            else:  # in the middle of the runs
                target = before + rng.randint(1, 4)
                wait_for(lambda p=proc, t=target: parts(out) >= t or p.poll() is not None, 300,
                         "runs")  # fmt: skip
                time.sleep(rng.uniform(0.0, 0.3))
            assert proc.poll() is None, "the sweep finished before it could be killed"
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            stop(proc)
        assert proc.returncode == -signal.SIGKILL
        runs = load(out).runs
        # (all 100 may be saved: a kill can land while a finished sweep merges its part files)
        assert runs["run_id"].is_unique and len(runs) <= 100
    finish = subprocess.run([*base, "--workers", "1", "--resume"], capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert finish.returncode == 0, finish.stderr
    killed = load(out)
    assert list(killed.runs["run_id"]) == list(range(100))
    assert not killed.rounds.duplicated(["run_id", "round"]).any()
    assert len(killed.metadata["sessions"]) == 4
    run_sweep(spec, tmp_path / "whole", workers=1, progress=False)
    assert_same(tmp_path / "whole", out)


@pytest.mark.slow
def test_ctrl_c_keeps_what_is_written_and_prints_the_resume_command(long_reference, tmp_path):
    # the long sweep (60 runs of 20 rounds): the short one's 12 runs of 3 rounds could all
    # finish between two looks at the part files, and the Ctrl-C land on a finished sweep
    spec, one = long_reference
    out = tmp_path / "out"
    proc = subprocess.Popen([*BLOC, "sweep", str(spec), "--out", str(out), "--workers", "2",
                             "--batch-size", "1", "--flush-seconds", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        wait_for(lambda: parts(out) >= 2 or proc.poll() is not None, 300, "runs")
        assert proc.poll() is None, "the sweep finished before Ctrl-C"
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends to the foreground group
        _, stderr = proc.communicate(timeout=120)
    finally:
        stop(proc)
    assert proc.returncode == 130, stderr
    command = f"bloc sweep {spec} --out {out} --resume --workers 2"
    assert f"resume with: {command}" in stderr
    assert "Traceback" not in stderr
    saved = load(out)
    assert saved.runs["run_id"].is_unique and 2 <= len(saved.runs) < 60
    assert saved.metadata["status"] == "interrupted"
    r = CliRunner().invoke(main, command.split()[1:] + ["--quiet"])
    assert r.exit_code == 0, r.output
    assert_same(one, out)


@pytest.mark.slow
def test_a_worker_that_dies_stops_the_sweep_cleanly(long_reference, tmp_path):
    """SIGKILL one worker process of the pool: exit code 1, what finished is kept, resume ends.
    (60 runs of 20 rounds, so that the kill lands mid-sweep: with the 12 short runs of the
    small spec, the engine can finish them all before it lands, and a worker killed while the
    pool shuts down is another case.)"""
    import psutil

    spec, one = long_reference
    out = tmp_path / "out"
    proc = subprocess.Popen([*BLOC, "sweep", str(spec), "--out", str(out), "--workers", "2",
                             "--batch-size", "1", "--flush-seconds", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip

    def workers() -> list[psutil.Process]:
        """The pool's workers: forked by the fork server, a child of the sweep's process."""
        found = []
        for p in psutil.Process(proc.pid).children():
            with contextlib.suppress(psutil.Error):
                if "forkserver" in " ".join(p.cmdline()):
                    found += p.children()
        return found

    try:
        wait_for(lambda: parts(out) >= 1 or proc.poll() is not None, 300, "runs")
        victims = workers()
        assert proc.poll() is None and victims, "no worker to kill"
        victims[0].kill()
        _, stderr = proc.communicate(timeout=120)
    finally:
        stop(proc)
    assert proc.returncode == 1, stderr
    assert "a worker process died" in stderr and "resume with: bloc sweep" in stderr
    assert load(out).runs["run_id"].is_unique
    r = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--resume", "--workers",
                                  "1", "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert_same(one, out)


#: 60 runs of 20 rounds: on 2 workers long enough to be stopped mid-sweep (the tests stop it once
#: 1-3 runs are written; the other runs take about a second more there, many times what the
#: stop takes), and short to resume in one process, as every test that stops it does. (Of 30
#: rounds, the later rounds of a big bloc the dearest, they took up to twice as long.)
LONG_SPEC = SPEC.replace("size = 6", "size = 30").replace('"time.rounds" = 3', '"time.rounds" = 20')


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("long")
    spec = write(tmp, LONG_SPEC)
    run_sweep(spec, tmp / "one", workers=1, progress=False)
    return spec, tmp / "one"


def sweep_family(pid: int) -> list:
    """The sweep's process and its descendants (fork server, resource tracker, pool workers)."""
    import psutil

    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def still_running(family: list, group: int) -> list[str]:
    """Processes of the sweep still running: one of `family`, or any process of its process
    group (the test starts the sweep in a session of its own, and every process it starts
    stays in its group even when re-parented). Zombies hold nothing and are not counted."""
    import psutil

    alive = {}
    for p in family:
        with contextlib.suppress(psutil.Error):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive[p.pid] = p
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(p.pid) == group and p.status() != psutil.STATUS_ZOMBIE:
                alive[p.pid] = p
    found = []
    for p in alive.values():
        with contextlib.suppress(psutil.Error):
            found.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM to the sweep", "SIGTERM to its group", "SIGKILL"])
def test_sigterm_writes_what_finished_and_leaves_no_process(long_reference, tmp_path, how):
    """SIGTERM to the sweep's process (as `docker stop` sends it) or to its whole process group
    (as `timeout` and SLURM do) stops it like Ctrl-C: what finished is written, status
    "interrupted", the resume command printed, exit code 143; and no process of the sweep stays
    alive. After SIGKILL of the sweep's process, which nothing can handle, its workers end too."""
    spec, one = long_reference
    out = tmp_path / "out"
    proc = subprocess.Popen([*BLOC, "sweep", str(spec), "--out", str(out), "--workers", "2",
                             "--batch-size", "1", "--flush-seconds", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        wait_for(lambda: parts(out) >= 3 or proc.poll() is not None, 300, "runs")
        family = sweep_family(proc.pid)
        assert proc.poll() is None, "the sweep finished before it could be stopped"
        commands = " ".join(" ".join(p.cmdline()) for p in family[1:])
        # the fork server, the resource tracker and two workers: what must not outlive the sweep
        assert len(family) >= 5 and "forkserver" in commands and "resource_tracker" in commands
        if how == "SIGTERM to the sweep":
            proc.send_signal(signal.SIGTERM)
        elif how == "SIGTERM to its group":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.kill()
        _, stderr = proc.communicate(timeout=120)
        wait_for(lambda: not still_running(family, proc.pid), 30, "the sweep's processes to end")
    finally:
        left = still_running([], proc.pid) if proc.poll() is not None else []
        stop(proc)
    assert not left
    saved = load(out)
    assert saved.runs["run_id"].is_unique and 3 <= len(saved.runs) < 60
    if how == "SIGKILL":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 143, stderr
        assert f"stopped by SIGTERM: {len(saved.runs)} of 60 runs are saved in {out}" in stderr
        command = f"bloc sweep {spec} --out {out} --resume --workers 2"
        assert f"resume with: {command}" in stderr and "Traceback" not in stderr
        assert saved.metadata["status"] == "interrupted"
        assert saved.metadata["sessions"][-1]["runs"] == len(saved.runs)
    r = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--resume", "--workers",
                                  "1", "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert load(out).metadata["status"] == "complete"
    assert_same(one, out)


GROWS = """
    title = "a sweep that grows"
    seed = 11
    replications = 2
    collect = "every_round"
    metrics = ["final_size", "final_members", "mean_world_price", "stockpile_fund"]
    [set]
    "time.rounds" = 3
    [parameters]
    "policy.outsider_penalty" = { values = [0.05, 0.2] }
    "policy.instrument" = { choice = ["border", "price_gap"] }
"""
#: one grid value and one replication more: 6 points x 3 replications, 8 of the 18 runs done
GROWN = GROWS.replace("replications = 2", "replications = 3").replace(
    "[0.05, 0.2]", "[0.05, 0.1, 0.2]"
)


@pytest.mark.slow
def test_an_extended_spec_resumes_with_only_the_new_runs(tmp_path):
    """Add a grid value and a replication, resume with the new spec: the finished runs are kept
    (their seeds depend only on their point and replication), only the 10 new runs run, and the
    tables equal a fresh sweep of the extended spec. Real `bloc sweep` processes (the fresh
    sweep, the reference, runs in the test's process)."""
    small, grown = write(tmp_path, GROWS, "small.toml"), write(tmp_path, GROWN, "grown.toml")
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    first = subprocess.run([*BLOC, "sweep", str(small), "--out", str(out), "--workers", "2",
                            "--batch-size", "1"], capture_output=True, text=True,
                           timeout=600)  # fmt: skip
    assert first.returncode == 0, first.stderr
    before = load(out).runs
    extend = subprocess.run([*BLOC, "sweep", str(grown), "--out", str(out), "--resume",
                             "--workers", "2", "--batch-size", "1"], capture_output=True,
                            text=True, timeout=600)  # fmt: skip
    run_sweep(grown, fresh, workers=1, progress=False)  # the reference, as the fixtures make it
    assert extend.returncode == 0, extend.stderr
    assert (f"the spec extends the sweep in {out}: its 8 finished runs are kept, 10 of the 18 "
            "runs are left to run") in extend.stderr  # fmt: skip
    assert "18 runs: 18 ok, 0 failed" in extend.stdout
    assert "this session ran 10 in" in extend.stdout
    assert_same(fresh, out)
    after = load(out)
    # the kept runs are the same runs: same values, replication and seed, under new ids
    key = ["policy.outsider_penalty", "policy.instrument", "replication"]
    kept = after.runs.merge(before, on=key, suffixes=("", "_before"))
    assert len(kept) == 8 and (kept["seed"] == kept["seed_before"]).all()
    assert (kept["final_members"] == kept["final_members_before"]).all()
    meta = after.metadata
    assert meta["design"]["n_runs"] == 18 and meta["status"] == "complete"
    assert meta["spec_text"] == grown.read_text() and len(meta["sessions"]) == 2
    (extension,) = meta["extensions"]
    assert extension["runs_kept"] == 8 and extension["before"]["n_runs"] == 8
    assert extension["before"]["spec_text"] == small.read_text()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "design.parquet"),
                                  pd.read_parquet(fresh / "design.parquet"))  # fmt: skip
    # a spec that would drop runs or change them is refused, and the folder is left as it was
    refused = {
        "fewer replications": (GROWN.replace("replications = 3", "replications = 1"),
                               "1 replications, fewer than the sweep's 3"),
        "a value dropped": (GROWN.replace("[0.05, 0.1, 0.2]", "[0.05, 0.2]"),
                            "its design point 2 (policy.outsider_penalty = 0.1, policy.instrument"
                            " = 'border') is not in the new design"),
        "another seed": (GROWN.replace("seed = 11", "seed = 12"),
                         "the seed is 12, the sweep's is 11"),
        "another metric": (GROWN.replace('"stockpile_fund"]', '"tariff_revenue"]'),
                           "the tables' columns differ"),
    }  # fmt: skip
    for case, (text, reason) in refused.items():
        other = write(tmp_path, text, "other.toml")
        r = CliRunner().invoke(main, ["sweep", str(other), "--out", str(out), "--resume"])
        assert r.exit_code == 2, (case, r.output)
        assert f"the spec changed since this sweep started, and does not extend it: {reason}" in (
            r.stderr
        ), case
        assert_same(fresh, out)


def test_a_sobol_design_doubled_reuses_every_run(tmp_path):
    """SALib's Saltelli layout of base N is the first rows of base 2N (same seed): doubling
    the base keeps every run."""
    spec = """
        seed = 4
        metrics = ["final_size", "mean_world_price"]
        [design]
        kind = "sobol"
        size = SIZE
        [set]
        "time.rounds" = 3
        [parameters]
        "policy.outsider_penalty" = { uniform = [0.0, 0.4] }
        "supplier.aggressiveness" = { uniform = [0.0, 1.0] }
    """
    small = write(tmp_path, spec.replace("SIZE", "2"), "small.toml")
    doubled = write(tmp_path, spec.replace("SIZE", "4"), "doubled.toml")
    run_sweep(small, tmp_path / "out", workers=1, progress=False)
    logged: list[str] = []
    summary = run_sweep(doubled, tmp_path / "out", workers=1, resume=True, progress=False,
                        log=logged.append)  # fmt: skip
    assert summary.n_run_now == 8 and summary.n_ok == 16
    assert any("its 8 finished runs are kept, 8 of the 16 runs are left" in line for line in logged)
    run_sweep(doubled, tmp_path / "fresh", workers=1, progress=False)
    assert_same(tmp_path / "fresh", tmp_path / "out")


def listing(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*"))


@pytest.mark.slow
def test_a_finished_sweep_leaves_a_handful_of_files(reference, tmp_path):
    """A part file every batch while it runs (flushing every batch, one run a batch); one file
    per table once it has finished, with the same tables. A real `bloc sweep` process."""
    spec, one = reference
    out = tmp_path / "out"
    proc = subprocess.Popen([*BLOC, "sweep", str(spec), "--out", str(out), "--workers", "2",
                             "--batch-size", "1", "--flush-seconds", "0", "--quiet"],
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    most = 0
    while proc.poll() is None:
        most = max(most, parts(out))
        time.sleep(0.02)
    assert proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
    assert most >= 3  # seen while it ran (12 when every part is seen)
    (name,) = [p.name for p in (out / "runs").iterdir()]
    assert listing(out) == ["design.parquet", "metadata.json", "rounds", f"rounds/{name}", "runs",
                            f"runs/{name}"]  # fmt: skip
    assert_same(one, out)
    assert load(out).metadata["status"] == "complete"


def test_a_compaction_cut_short_is_finished_or_forgotten(reference, tmp_path, monkeypatch):
    """Killed after the compacted files are committed: `load` and `--resume` finish the switch,
    even from halfway. Killed before: the old part files stay, the half-made files are ignored
    and then deleted."""
    import negotiation.experiments.sweep as sw

    spec, one = reference
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        m.setattr(sw, "_finish_rewrite", lambda out, drop_uncommitted=False: None)  # "killed"
        run_sweep(spec, out, workers=1, batch_size=1, flush_seconds=0, progress=False)
    assert (out / ".rewrite" / "COMMIT").exists() and parts(out) == 12
    halfway, before = tmp_path / "halfway", tmp_path / "before"
    shutil.copytree(out, halfway)
    shutil.copytree(out, before)
    for f in sorted((halfway / "runs").glob("part-*.parquet"))[:5]:  # deleted before the kill
        f.unlink()
    for folder in (out, halfway):
        assert_same(one, folder)  # `load` finishes the switch
        assert parts(folder) == 1 and not (folder / ".rewrite").exists()

    (before / ".rewrite" / "COMMIT").unlink()  # killed before the commit
    (before / ".rewrite" / "runs" / "compacting.parquet").write_bytes(b"PAR1 half a file")
    assert_same(one, before)  # the 12 parts, the half-made files ignored
    assert parts(before) == 12
    r = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(before), "--resume", "--quiet"])
    assert r.exit_code == 0, r.output
    assert not (before / ".rewrite").exists() and parts(before) == 1
    assert_same(one, before)


class DaskProcesses:
    """`dask scheduler` and `dask worker` processes on free ports of 127.0.0.1, each in a
    session of its own (so that a test can kill one with everything it started)."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.file = tmp_path / "scheduler.json"
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        # as docs/how-to/sweeps.md starts them: without the 10 ms stack sampling of Dask's profiler
        env = {**os.environ, "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}
        with open(self.logs / f"{name}.log", "w") as log:
            proc = subprocess.Popen([DASK, *args], stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=self.tmp, env=env)  # fmt: skip
        self.procs.append(proc)
        return proc

    def scheduler(self) -> tuple[subprocess.Popen, str]:
        proc = self.start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0",
                          "--no-dashboard", "--scheduler-file", str(self.file))  # fmt: skip
        wait_for(lambda: self.file.exists() and "address" in self.file.read_text(), 120,
                 "the scheduler")  # fmt: skip
        return proc, json.loads(self.file.read_text())["address"]

    def worker(self, name: str = "worker") -> subprocess.Popen:
        """One worker process (one thread) under a nanny, which restarts it if it dies."""
        proc = self.start(name, "worker", "--scheduler-file", str(self.file), "--nworkers", "1",
                          "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1")  # fmt: skip
        log = self.logs / f"{name}.log"
        wait_for(lambda: "Registered to" in log.read_text(), 120, "the worker to register")
        return proc

    @staticmethod
    def worker_processes(nanny: subprocess.Popen) -> list:
        """The worker processes the nanny started (not the nanny)."""
        import psutil

        found = []
        for p in psutil.Process(nanny.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "spawn_main" in " ".join(p.cmdline()):
                    found.append(p)
        return found

    def __enter__(self) -> DaskProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        for p in reversed(self.procs):
            stop(p)


class SharedDask(DaskProcesses):
    """A scheduler and one worker (under its nanny) that the tests taking a worker or the
    scheduler away share: `ready()` gives them to a test, starting whichever is gone (a worker
    lost for good, a killed scheduler: then everything anew). Starting both, and the worker's
    first import of the engine, took seconds of each test."""

    def __init__(self, tmp_path: Path):
        super().__init__(tmp_path)
        self.sched: subprocess.Popen | None = None
        self.nanny: subprocess.Popen | None = None
        self.address = ""

    def worker(self, name: str = "worker") -> subprocess.Popen:
        self.nanny = super().worker(f"{name}-{len(self.procs)}")  # a log of its own
        return self.nanny

    def ready(self) -> tuple[str, subprocess.Popen, subprocess.Popen]:
        """(address, scheduler, nanny): a running scheduler and the one worker registered."""
        if self.sched is None or self.sched.poll() is not None:
            for p in reversed(self.procs):
                stop(p)
            self.procs.clear()
            self.file.unlink(missing_ok=True)
            self.sched, self.address = self.scheduler()
            self.nanny = None
        if self.nanny is None or self.nanny.poll() is not None:
            self.worker()
        assert self.nanny is not None
        return self.address, self.sched, self.nanny


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    with SharedDask(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


def dask_sweep(spec: Path, out: Path, address: str, timeout: str) -> subprocess.Popen:
    return subprocess.Popen([*BLOC, "sweep", str(spec), "--out", str(out), "--scheduler",
                             address, "--connect-timeout", timeout, "--batch-size", "1",
                             "--flush-seconds", "0", "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip


@pytest.mark.slow
def test_every_dask_worker_lost_for_a_moment(long_reference, dask_cluster, tmp_path):
    """The only worker SIGKILLed mid-sweep, its nanny starting another: the sweep waits for
    it, sends it what it needs, and finishes with the same tables."""
    spec, one = long_reference
    out = tmp_path / "out"
    address, _, nanny = dask_cluster.ready()
    proc = dask_sweep(spec, out, address, "120")
    try:
        wait_for(lambda: parts(out) >= 2 or proc.poll() is not None, 300, "runs")
        victims = dask_cluster.worker_processes(nanny)
        assert proc.poll() is None and len(victims) == 1, "no worker to kill"
        victims[0].kill()
        _, stderr = proc.communicate(timeout=600)
    finally:
        stop(proc)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert_same(one, out)


def kill_mid_sweep(spec, out, address, victim, what: str):
    """A sweep on the cluster at `address` with a 5 s connect timeout; `victim`'s process group
    SIGKILLed once two parts are written. The sweep must exit with code 1: (its stderr, the
    tables it saved)."""
    proc = dask_sweep(spec, out, address, "5")
    try:
        wait_for(lambda: parts(out) >= 2 or proc.poll() is not None, 300, "runs")
        assert proc.poll() is None, f"the sweep finished before {what} could be killed"
        os.killpg(victim.pid, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=300)
    finally:
        stop(proc)
    assert proc.returncode == 1, stderr
    return stderr, load(out)


@pytest.mark.slow
def test_every_dask_worker_lost_for_good_stops_cleanly(long_reference, dask_cluster, tmp_path):
    """The worker and its nanny SIGKILLed: after --connect-timeout seconds without a worker,
    one line says so, the resume command follows, exit code 1, what finished is written and
    the status is "crashed"; resuming on a new worker finishes with the same tables."""
    spec, one = long_reference
    out = tmp_path / "out"
    address, _, nanny = dask_cluster.ready()
    stderr, saved = kill_mid_sweep(spec, out, address, nanny, "its worker")
    n = len(saved.runs)
    assert stderr.splitlines() == [
        f"bloc sweep: every worker of the Dask cluster at {address} left, and none came back "
        f"within 5 s: {n} of 60 runs are saved in {out}",
        f"resume with: bloc sweep {spec} --out {out} --resume --scheduler {address}",
    ], stderr
    assert saved.runs["run_id"].is_unique and 2 <= n < 60
    assert saved.metadata["status"] == "crashed"
    assert saved.metadata["sessions"][-1]["runs"] == n
    dask_cluster.worker("another")
    done = subprocess.run([*BLOC, "sweep", str(spec), "--out", str(out), "--resume",
                           "--scheduler", address, "--quiet"], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert_same(one, out)


@pytest.mark.slow
def test_a_lost_dask_scheduler_stops_the_sweep_cleanly(long_reference, dask_cluster, tmp_path):
    """The scheduler SIGKILLed mid-sweep: one line, the resume command, exit code 1, what
    finished is written, status "crashed"; the sweep resumes (here on local processes)."""
    spec, one = long_reference
    out = tmp_path / "out"
    address, scheduler, _ = dask_cluster.ready()
    stderr, saved = kill_mid_sweep(spec, out, address, scheduler, "the scheduler")
    n = len(saved.runs)
    lines = stderr.splitlines()
    assert len(lines) == 2, stderr
    assert lines[0].startswith(f"bloc sweep: the Dask cluster at {address} stopped answering (")
    assert lines[0].endswith(f": {n} of 60 runs are saved in {out}")
    assert lines[1] == f"resume with: bloc sweep {spec} --out {out} --resume --scheduler {address}"
    assert saved.runs["run_id"].is_unique and 2 <= n < 60
    assert saved.metadata["status"] == "crashed"
    r = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--resume", "--workers",
                                  "1", "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert_same(one, out)

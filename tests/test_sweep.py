"""`bloc sweep` in one process: tables equal to direct model calls, metadata, failures as rows,
resume, the output folder's rules, one-line errors before any run, the report, and the documented
commands."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from negotiation import BlocModel, load_scenario
from negotiation.cli import main
from negotiation.experiments.sweep import load, point_key, point_seed, run_seed, run_sweep

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "scenarios" / "sweeps"

TINY = """
    title = "tiny"
    seed = 99
    replications = 2
    collect = "every_round"
    metrics = ["final_size", "final_members", "first_fracture", "mean_world_price",
               "mean_fiscal_cost", "supplier_share", "internally_stable", "tariff_revenue:sum"]
    [set]
    "time.rounds" = 3
    [parameters]
    "policy.outsider_penalty" = { values = [0.05, 0.2] }
    "policy.instrument" = { choice = ["border", "price_gap"] }
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def bloc(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("bloc: error:")]


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    spec = write(tmp, TINY)
    summary = run_sweep(spec, tmp / "out", workers=1, progress=False)
    return spec, tmp / "out", summary


def test_tables_equal_direct_model_calls(tiny_sweep):
    spec, out, summary = tiny_sweep
    assert (summary.n_runs, summary.n_ok, summary.n_failed, summary.exit_code) == (8, 8, 0, 0)
    runs, rounds, meta = load(out)
    assert list(runs["run_id"]) == list(range(8))
    assert list(runs["point"]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert list(runs["replication"]) == [0, 1] * 4
    paths = ["policy.outsider_penalty", "policy.instrument"]
    assert list(runs["seed"]) == [
        point_seed(99, point_key(paths, (r["policy.outsider_penalty"], r["policy.instrument"])),
                   r["replication"])
        for _, r in runs.iterrows()
    ]  # fmt: skip
    assert list(runs["policy.instrument"]) == ["border", "border", "price_gap", "price_gap"] * 2
    assert set(runs["status"]) == {"ok"} and runs["error"].isna().all()
    columns = [c for c in rounds.columns if c not in ("run_id", "round")]
    assert {"n_members", "members", "world_price_lithium", "tariff_revenue"} <= set(columns)
    for _, got in runs.iterrows():
        overrides = {
            "time.rounds": 3,
            "policy.outsider_penalty": got["policy.outsider_penalty"],
            "policy.instrument": got["policy.instrument"],
        }
        sc = load_scenario("ministerial-2026", overrides)
        direct = BlocModel(sc, rng=int(got["seed"])).run().rounds_df
        last, body = direct.iloc[-1], direct.iloc[1:]
        assert got["final_size"] == last["n_members"]
        assert got["final_members"] == last["members"]
        assert got["mean_world_price_rare_earths"] == body["world_price_rare_earths"].mean()
        assert got["supplier_share_gallium"] == last["supplier_share_gallium"]
        assert got["sum_tariff_revenue"] == body["tariff_revenue"].sum()
        assert got["internally_stable"] == last["internally_stable"]
        mine = rounds[rounds["run_id"] == got["run_id"]].drop(columns="run_id")
        pd.testing.assert_frame_equal(
            mine.reset_index(drop=True), direct[["round", *columns]], check_dtype=False
        )


def test_metadata_says_what_ran(tiny_sweep):
    spec, out, _ = tiny_sweep
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["spec_text"] == spec.read_text()
    import hashlib

    assert meta["spec_sha256"] == hashlib.sha256(spec.read_bytes()).hexdigest()
    assert meta["root_seed"] == 99
    assert meta["design"]["kind"] == "grid" and meta["design"]["n_runs"] == 8
    assert [p["path"] for p in meta["design"]["parameters"]] == [
        "policy.outsider_penalty",
        "policy.instrument",
    ]
    assert meta["scenario"]["name"] == "ministerial-2026"
    assert {"bloc", "mesa", "numpy", "pandas", "pyarrow", "dask", "SALib", "python"} <= set(
        meta["versions"]
    )
    assert meta["started"] and meta["ended"] and meta["status"] == "complete"
    assert len(meta["sessions"]) == 1 and meta["sessions"][0]["runs"] == 8
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True)  # fmt: skip
    if head.returncode == 0:
        assert meta["git"]["commit"] == head.stdout.strip()
    design = pq.read_table(out / "design.parquet").to_pandas()
    assert list(design.columns) == ["point", "policy.outsider_penalty", "policy.instrument"]
    assert len(design) == 4


def test_failed_runs_are_rows_and_set_the_exit_code(tmp_path):
    spec = write(tmp_path, """
        seed = 1
        replications = 2
        metrics = ["final_size"]
        [set]
        "time.rounds" = 3
        [parameters]
        "policy.outsider_penalty" = { values = [0.1, 5.0] }
    """)  # fmt: skip
    r = bloc("sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet")
    assert r.exit_code == 2 + 2, r.output  # 2 + the number of failed runs
    assert "bloc: warning:" in r.stderr and "5.0 is rejected by the scenario" in r.stderr
    runs = load(tmp_path / "out").runs
    assert list(runs["status"]) == ["ok", "ok", "failed", "failed"]
    failed = runs[runs["status"] == "failed"]
    assert failed["error"].str.contains("outsider_penalty").all()
    assert failed["error"].str.contains("less than or equal to 2").all()
    assert failed["final_size"].isna().all() and runs["final_size"].notna().sum() == 2
    again = bloc("sweep", str(spec), "--out", str(tmp_path / "out"), "--resume")
    # failed runs count as done: a resume does not rerun them, and the exit code still says 2
    assert again.exit_code == 4 and "this session ran 0 in" in again.stdout


def one_part_per_run(out: Path) -> None:
    """Split a finished sweep's tables (compacted into one file each) into one part file per
    run, named as the sweep names them: the folder as a sweep leaves it while it runs."""
    for sub in ("runs", "rounds"):
        files = sorted((out / sub).glob("part-*.parquet"))
        table = pa.concat_tables([pq.read_table(f) for f in files])
        for f in files:
            f.unlink()
        for run_id in range(8):
            rows = table.filter(pc.equal(table.column("run_id"), run_id))
            pq.write_table(rows, out / sub / f"part-{run_id:09d}-{run_id:08x}.parquet")


def test_resume_runs_only_what_is_missing(tmp_path):
    spec = write(tmp_path, TINY)
    full = tmp_path / "full"
    run_sweep(spec, full, workers=1, batch_size=1, flush_seconds=0, progress=False)
    expected = load(full)
    cut = tmp_path / "cut"
    shutil.copytree(full, cut)
    one_part_per_run(cut)
    parts = sorted((cut / "runs").glob("part-*.parquet"))
    assert len(parts) == 8
    for p in parts[1:4]:  # three runs lost with both their tables
        p.unlink()
        (cut / "rounds" / p.name).unlink()
    parts[5].unlink()  # a crash between the rounds part and the runs part: an orphan
    (cut / "runs" / f".{parts[6].name}.1234abcd.tmp").write_bytes(b"PAR1 half a file")
    partial = load(cut)
    assert list(partial.runs["run_id"]) == [0, 4, 6, 7]
    assert set(partial.rounds["run_id"]) == {0, 4, 6, 7}  # the orphan's rounds are not read
    summary = run_sweep(spec, cut, resume=True, workers=1, progress=False)
    assert summary.n_run_now == 4 and summary.n_ok == 8
    assert "this session ran 4 in" in summary.text()
    done = load(cut)
    pd.testing.assert_frame_equal(done.runs, expected.runs, check_exact=True)
    pd.testing.assert_frame_equal(done.rounds, expected.rounds, check_exact=True)
    assert not list(cut.glob("**/.*.tmp"))
    # compacted once finished: one file per table, under the same name
    assert [p.name for p in (cut / "rounds").iterdir()] == [
        p.name for p in (cut / "runs").iterdir()
    ]
    assert len(list((cut / "runs").iterdir())) == 1
    assert len(done.metadata["sessions"]) == 2


def test_a_sweep_of_format_1_resumes_with_run_id_seeds_and_cannot_be_extended(tmp_path):
    """Folders written before seeds were keyed by design point still resume, with the seeds
    their runs were started with (by run id); extending them would change those, so it is
    refused."""
    spec = write(tmp_path, TINY)
    out = tmp_path / "old"
    run_sweep(spec, out, workers=1, progress=False)
    one_part_per_run(out)
    for name in sorted(p.name for p in (out / "runs").iterdir())[4:]:
        (out / "runs" / name).unlink()
        (out / "rounds" / name).unlink()
    meta = json.loads((out / "metadata.json").read_text())
    meta["format"] = "bloc-sweep/1"
    (out / "metadata.json").write_text(json.dumps(meta))
    summary = run_sweep(spec, out, workers=1, resume=True, progress=False)
    assert summary.n_run_now == 4 and summary.n_ok == 8
    runs = load(out).runs
    assert list(runs["seed"][4:]) == [run_seed(99, i) for i in range(4, 8)]
    more = write(tmp_path, TINY.replace("replications = 2", "replications = 3"), "more.toml")
    r = bloc("sweep", str(more), "--out", str(out), "--resume")
    assert r.exit_code == 2 and "started by an older bloc" in r.stderr


def test_the_output_folder_is_never_mixed_up(tmp_path, tiny_sweep):
    spec, out, _ = tiny_sweep
    r = bloc("sweep", str(spec), "--out", str(out), "--workers", "1")
    assert r.exit_code == 2 and "already holds a sweep (8 of 8 runs done); add --resume" in r.stderr
    r = bloc("sweep", str(spec), "--out", str(out), "--workers", "1", "--resume", "--quiet")
    assert r.exit_code == 0
    other = write(tmp_path, TINY.replace("seed = 99", "seed = 100"), "other.toml")
    r = bloc("sweep", str(other), "--out", str(out), "--resume")
    assert r.exit_code == 2 and "the spec changed since this sweep started" in r.stderr
    cosmetic = write(tmp_path, "# a new comment\n" + TINY, "cosmetic.toml")
    assert bloc("sweep", str(cosmetic), "--out", str(out), "--resume", "--quiet").exit_code == 0
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    r = bloc("sweep", str(spec), "--out", str(tmp_path / "full"))
    assert r.exit_code == 2 and "not empty and holds no sweep" in r.stderr


BAD = {
    "unknown parameter path": (
        '"policy.outsider_penalt" = { values = [0.1] }',
        "unknown scenario path: 'outsider_penalt' is not a field of policy (did you mean "
        "'outsider_penalty'?)",
    ),
    "empty range": (
        '"policy.outsider_penalty" = { range = [0.3, 0.1], steps = 3 }',
        "empty range [0.3, 0.1]",
    ),
    "sobol with a non-numeric parameter": (
        '"policy.instrument" = { choice = ["border", "stockpile"] }',
        "a Sobol design needs numeric parameters",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_specs_exit_2_before_any_run(tmp_path, case):
    param, expected = BAD[case]
    design = '[design]\nkind = "sobol"\nsize = 4\n' if "sobol" in case else ""
    spec = write(tmp_path, f"{design}[parameters]\n{param}\n")
    out = tmp_path / "out"
    r = bloc("sweep", str(spec), "--out", str(out))
    assert r.exit_code == 2
    assert len(errors(r)) == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert errors(r)[0].startswith(f"bloc: error: {spec}: parameters.") and expected in r.stderr
    assert not out.exists()


def test_bad_morris_designs_exit_2_naming_file_and_field(tmp_path):
    spec = write(tmp_path, """
        [design]
        kind = "morris"
        size = 4
        levels = 3
        [parameters]
        "policy.outsider_penalty" = { uniform = [0.0, 0.3] }
    """)  # fmt: skip
    out = tmp_path / "out"
    r = bloc("sweep", str(spec), "--out", str(out))
    assert r.exit_code == 2 and not out.exists()
    assert errors(r) == [
        f"bloc: error: {spec}: design.levels: a Morris design needs an even number of levels "
        "(got 3; try 2 or 4): each step then moves a parameter by half its levels"
    ]


def test_a_morris_sweep_and_its_report(tmp_path):
    """A real Morris sweep: r x (D + 1) runs on SALib's trajectories, the unit sample in the
    metadata, and the report's mu*, mu and sigma equal SALib.analyze.morris on the point
    means of the loaded runs."""
    from negotiation.experiments import sweep_stats as st
    from negotiation.experiments.sweep_spec import load_spec

    spec = write(tmp_path, """
        seed = 4
        metrics = ["final_size", "mean_fiscal_cost"]
        [design]
        kind = "morris"
        size = 3
        [set]
        "time.rounds" = 3
        [parameters]
        "policy.outsider_penalty" = { uniform = [0.0, 0.6] }
        "supplier.aggressiveness" = { values = [0.2, 0.4, 0.6, 0.8] }
    """)  # fmt: skip
    out = tmp_path / "out"
    summary = run_sweep(spec, out, workers=1, progress=False)
    assert summary.exit_code == 0 and summary.n_ok == 3 * 3
    runs, _, meta = load(out)
    plan = load_spec(spec)
    assert meta["design"]["kind"] == "morris" and meta["design"]["levels"] == 4
    np.testing.assert_array_equal(np.array(meta["design"]["unit_sample"]), plan.design.unit)
    got = list(zip(runs["policy.outsider_penalty"], runs["supplier.aggressiveness"]))
    assert got == plan.design.points
    page = tmp_path / "report.html"
    r = bloc("sweep", "report", str(out), "--out", str(page))
    assert r.exit_code == 0, r.output
    text = page.read_text()
    assert "<h2>Morris screening</h2>" in text and "<h2>Sobol indices" not in text
    for m in ("final_size", "mean_fiscal_cost"):
        means = runs.groupby("point")[m].mean().astype(float)
        res = st.morris_indices(means, meta["design"], seed=st.stream_seed(4, m, "morris"))
        for name, row in res.table.iterrows():
            cells = (
                f"<td>{name}</td><td>{st.fmt(row.mu_star)} ± {st.fmt(row.mu_star_conf)}</td>"
                f"<td>{st.fmt(row.mu)}</td><td>{st.fmt(row.sigma)}</td>"
            )
            assert cells in text, (m, name)
    assert text.count("Rests on 3 trajectories of 3 design points each (9 points") == 2
    # more trajectories extend it: SALib draws the first 3 of 6 as it drew the 3
    spec.write_text(spec.read_text().replace("size = 3", "size = 6"))
    summary = run_sweep(spec, out, workers=1, progress=False, resume=True)
    assert (summary.n_ok, summary.n_run_now) == (6 * 3, 3 * 3)
    fresh = run_sweep(spec, tmp_path / "fresh", workers=1, progress=False)
    assert fresh.n_run_now == 6 * 3
    extended, _, meta = load(out)
    pd.testing.assert_frame_equal(extended, load(tmp_path / "fresh").runs)
    assert (
        meta["design"]["unit_sample"] == load(tmp_path / "fresh").metadata["design"]["unit_sample"]
    )


def test_a_range_past_a_scenario_bound_exits_2_whatever_the_seed(tmp_path):
    """`outsider_penalty` is at most 2 and `aggressiveness` at most 1: ranges reaching past them
    are refused before the design is drawn, so every seed gives the same one-line errors, which
    quote the bound rather than a random draw. Real `bloc sweep` processes, one per seed."""
    import sys

    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "bloc")] if (bin_dir / "bloc").exists() else [
        sys.executable, "-m", "negotiation.cli"]  # fmt: skip
    procs = []
    for seed in (1, 2, 3):
        spec = write(tmp_path, f"""
            seed = {seed}
            [design]
            kind = "lhs"
            size = 20
            [set]
            "time.rounds" = 3
            [parameters]
            "policy.outsider_penalty" = {{ uniform = [0, 3] }}
            "supplier.aggressiveness" = {{ uniform = [0.5, 1.5] }}
        """, f"seed{seed}.toml")  # fmt: skip
        out = tmp_path / f"out{seed}"
        procs.append((spec, out, subprocess.Popen(
            [*command, "sweep", str(spec), "--out", str(out), "--workers", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))  # fmt: skip
    for spec, out, proc in procs:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 2, stderr
        assert stderr.splitlines() == [
            f"bloc: error: {spec}: parameters.policy.outsider_penalty: uniform [0, 3] goes past "
            "the scenario's bound at its end: should be less than or equal to 2 (got 3.0); "
            "outsider_penalty: margin on non-member supply (0.05 = 5%); keep the uniform within "
            "the bound",
            f"bloc: error: {spec}: parameters.supplier.aggressiveness: uniform [0.5, 1.5] goes "
            "past the scenario's bound at its end: should be less than or equal to 1 (got 1.5); "
            "aggressiveness: how hard it acts, 0 to 1; keep the uniform within the bound",
        ]
        assert not out.exists()


def test_bad_options_exit_2(tmp_path, tiny_sweep):
    spec = tiny_sweep[0]
    out = tmp_path / "out"
    r = bloc("sweep", str(spec), "--out", str(out), "--workers", "2", "--scheduler", "tcp://x:1")
    assert r.exit_code == 2 and "exclude each other" in r.stderr
    r = bloc("sweep", str(spec), "--out", str(out), "--workers", "0")
    assert r.exit_code == 2
    r = bloc("sweep", str(tmp_path / "missing.toml"), "--out", str(out))
    assert r.exit_code == 2 and "missing.toml" in r.stderr
    r = bloc("sweep", "report", str(tmp_path / "nothing"))
    assert r.exit_code == 2 and "no sweep here" in r.stderr
    assert not out.exists()


def test_report_of_a_grid(tiny_sweep, tmp_path):
    _, out, _ = tiny_sweep
    page = tmp_path / "tiny.html"
    r = bloc(
        "sweep", "report", str(out), "--out", str(page), "--metric", "mean_world_price_lithium"
    )
    assert r.exit_code == 0, r.output
    text = page.read_text()
    assert text.startswith("<!doctype html>")
    assert "Heatmap" in text and "Main effects on mean_world_price_lithium" in text
    assert "Sobol indices" not in text and "http" not in text.split("<body>")[1].split("<svg")[0]
    # 4 design points: too few for feature scores, which the distributions and envelopes say
    assert "mean_world_price_lithium: not computed: 4 design points with a value, fewer than 5" in (
        text
    )
    assert "By policy.outsider_penalty: the first parameter, for want of feature scores." in text
    r = bloc("sweep", "report", str(out), "--metric", "mean_world_price_lithum")
    assert r.exit_code == 2 and "did you mean 'mean_world_price_lithium'" in r.stderr
    # the grouping and the envelopes' series can be chosen; the rounds table is there
    r = bloc("sweep", "report", str(out), "--out", str(page), "--metric", "final_size",
             "--group", "policy.instrument", "--series", "tariff_revenue")  # fmt: skip
    assert r.exit_code == 0, r.output
    text = page.read_text()
    assert (
        "n_members (count) (behind final_size), rounds 0 to 3, 8 runs a round; grouped by "
        "policy.instrument: as asked." in text
    )
    assert "<h3>tariff_revenue</h3>" in text and "(asked for), rounds 0 to 3" in text
    r = bloc("sweep", "report", str(out), "--group", "policy.instrumen", "--series", "n_member")
    assert r.exit_code == 2
    assert "--group policy.instrumen: not a parameter of this sweep (did you mean" in r.stderr
    assert (
        "--series n_member: not a numeric column of the rounds table (did you mean "
        "'n_members'?)" in r.stderr
    )


def test_readme_commands(tmp_path, monkeypatch):
    """The sweep commands of the README and the site (docs/tutorials/first-sweep.md,
    docs/how-to/sweeps.md), run as written (in a scratch folder)."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(EXAMPLES, tmp_path / "scenarios" / "sweeps")
    commands = [
        "bloc sweep scenarios/sweeps/penalty-floor.toml --out runs/penalty-floor",
        "bloc sweep scenarios/sweeps/penalty-floor.toml --out runs/penalty-floor --resume",
        "bloc sweep report runs/penalty-floor",
        "bloc sweep scenarios/sweeps/sensitivity.toml --out runs/sensitivity --workers 2",
        "bloc sweep report runs/sensitivity",
    ]
    for command in commands:
        r = bloc(*shlex.split(command)[1:])
        assert r.exit_code == 0, (command, r.output)
    from negotiation.experiments.sweep import load

    runs, rounds, metadata = load("runs/penalty-floor")
    assert len(runs) == 16 and (runs["status"] == "ok").all() and rounds.empty
    best = runs.groupby("policy.outsider_penalty")["final_size"].mean()
    assert len(best) == 4
    sobol = (tmp_path / "runs/sensitivity/report.html").read_text()
    assert "Sobol indices" in sobol and "first order S1" in sobol
    assert (tmp_path / "runs/penalty-floor/report.html").is_file()
    assert np.isfinite(load("runs/sensitivity").runs["mean_world_price_lithium"]).all()


def small_bench(part: str) -> subprocess.CompletedProcess:
    """bench_sweep.py's `part` at the quick sizes of docs/how-to/sweeps.md; it must exit 0."""
    import sys

    done = subprocess.run(
        [sys.executable, "benchmarks/bench_sweep.py", "--runs", "4", "--rounds", "3", "--only",
         part],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow
def test_benchmark_runs_small():
    """The quick benchmark command of docs/how-to/sweeps.md (it prints ratios; nothing is
    asserted on them)."""
    done = small_bench("overhead")
    assert "Traceback" not in done.stderr  # as tests/test_readme.py checks of documented commands
    assert "overhead: sweep / loop = " in done.stdout and "batch_run / loop = " in done.stdout


@pytest.mark.slow
def test_the_sizing_table_scales_the_measured_speed():
    """bench_sweep's sizing part: the runs per second per core it measured, and a 100,000-run
    design's time on more cores and on Dask clusters, each in proportion to the cores."""
    import re

    done = small_bench("sizing")
    assert re.search(r"sizing: [0-9.]+ runs/s per core", done.stdout), done.stdout

    def minutes(label: str) -> float:
        m = re.search(rf"{re.escape(label)}[^\n]*?\s([0-9.]+) (h|min)\n", done.stdout)
        assert m, (label, done.stdout)
        return float(m.group(1)) * (60 if m.group(2) == "h" else 1)

    four, eight = minutes("laptop, 4 cores"), minutes("laptop, 8 cores")
    assert eight == pytest.approx(four / 2, rel=0.05)
    small, large = minutes("Dask cluster, 4 nodes"), minutes("Dask cluster, 16 nodes")
    assert large == pytest.approx(small / 4, rel=0.05)
    assert small == pytest.approx(four / 16 * 1.2, rel=0.05)  # Dask at its target ratio

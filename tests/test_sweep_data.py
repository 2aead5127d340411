"""What a sweep writes for a research group: units and descriptions on every column (Parquet
field metadata, metadata.json, DataFrame attrs), integer metrics as nullable integers, every
rounds column with `every_round`, the optional actors and events tables (equal to direct model
calls, resumed like the rest), the spec's `tables` and `[report]`, and the report's options on a
real sweep. Tiny sweeps: 2 points x 2 replications x 3 rounds, in this process."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from negotiation import BlocModel, load_scenario
from negotiation.cli import main
from negotiation.experiments.sweep import _plan_sha256, columns, load, query_names, run_sweep
from negotiation.experiments.sweep_spec import load_spec

SPEC = """
    title = "tables"
    seed = 7
    replications = 2
    tables = ["rounds", "actors", "events"]
    metrics = ["final_size", "final_members", "first_fracture", "mean_world_price",
               "mean_fiscal_cost", "supplier_share", "internally_stable:mean",
               "tariff_revenue:sum"]
    [set]
    "time.rounds" = 3
    [parameters]
    "policy.outsider_penalty" = { values = [0.05, 0.2] }
    "supplier.aggressiveness" = { values = [0.5] }
    [report]
    heatmap = ["supplier.aggressiveness", "policy.outsider_penalty"]
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def bloc(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tables")
    spec = write(tmp, SPEC)
    run_sweep(spec, tmp / "out", workers=1, batch_size=1, flush_seconds=0, progress=False)
    return spec, tmp / "out"


def test_every_column_has_a_unit_and_a_description(sweep):
    _, out = sweep
    meta = json.loads((out / "metadata.json").read_text())
    for table in ("runs", "rounds", "actors", "events"):
        files = list((out / table).glob("part-*.parquet"))
        assert len(files) == 1  # compacted
        schema = pq.read_schema(files[0])
        assert schema.names == [c for c, _ in meta["tables"][table]]
        for f in schema:
            assert f.metadata and f.metadata[b"description"], (table, f.name)
            assert f.metadata[b"unit"], (table, f.name)
            assert meta["columns"][table][f.name]["unit"] == f.metadata[b"unit"].decode()
    unit = {
        t: {f.name: f.metadata[b"unit"].decode() for f in pq.read_schema(next((out / t).glob("*")))}
        for t in ("runs", "rounds", "actors", "events")
    }
    assert unit["runs"]["mean_fiscal_cost"] == "USD/yr"
    assert unit["runs"]["mean_world_price_lithium"] == "USD/t"
    assert unit["runs"]["supplier_share_gallium"] == "share"
    assert unit["runs"]["mean_internally_stable"] == "share"  # a flag's mean: a share of rounds
    assert unit["runs"]["sum_tariff_revenue"] == "USD/yr x rounds"
    assert unit["runs"]["final_size"] == "count" and unit["runs"]["first_fracture"] == "round"
    assert unit["runs"]["policy.outsider_penalty"] == "share"
    assert unit["rounds"]["stockpile_fund"] == "USD" and unit["rounds"]["secured_copper"] == "t/yr"
    assert unit["rounds"]["bloc_price_nickel"] == "USD/t" and unit["rounds"]["round"] == "round"
    assert unit["actors"]["utility"] == "USD/yr" and unit["actors"]["openness"] == "USD/yr"
    assert unit["events"]["kind"] == "category"
    # the same in pandas (attrs) and in one table of every column
    res = load(out)
    assert res.runs.attrs["units"]["mean_fiscal_cost"] == "USD/yr"
    assert "first round in which a member" in res.runs.attrs["descriptions"]["first_fracture"]
    assert res.actors.attrs["units"]["margin"] == "USD/yr"
    cols = columns(out)
    assert list(cols.columns) == ["table", "column", "type", "unit", "description"]
    assert len(cols) == sum(len(v) for v in meta["tables"].values() if v)
    assert (cols["unit"] != "").all() and (cols["description"] != "").all()


def test_query_names_make_every_column_usable_in_df_query(sweep):
    _, out = sweep
    results = load(out)
    for name, df in results.tables.items():
        renamed = query_names(df)
        assert all(c.isidentifier() for c in renamed.columns), (name, list(renamed.columns))
        assert renamed.attrs["columns"] == {
            c.replace(".", "__"): c for c in df.columns
        }  # fmt: skip
        assert list(renamed.attrs["units"].values()) == list(df.attrs["units"].values())
    runs = query_names(results.runs)
    assert runs.attrs["units"]["policy__outsider_penalty"] == "share"
    high = runs.query("policy__outsider_penalty > 0.1 and final_size >= 0")
    pd.testing.assert_frame_equal(
        high.set_axis(results.runs.columns, axis=1),
        results.runs.query("`policy.outsider_penalty` > 0.1 and final_size >= 0"),
    )
    assert len(high) == 2
    # the metrics' own names need no mapping
    assert [c for c in results.runs.columns if not c.isidentifier()] == [
        "policy.outsider_penalty",
        "supplier.aggressiveness",
    ]


def test_integer_metrics_load_as_nullable_integers(sweep):
    _, out = sweep
    runs = load(out).runs
    assert runs["first_fracture"].dtype == "Int64" and runs["final_size"].dtype == "Int64"
    schema = pq.read_schema(next((out / "runs").glob("*.parquet")))
    assert schema.field("first_fracture").type == pa.int64()
    assert schema.field("first_fracture").nullable


def test_tables_equal_direct_model_calls(sweep):
    _, out = sweep
    res = load(out)
    assert len(res.runs) == 4 and (res.runs["status"] == "ok").all()
    assert res.tables["actors"] is res.actors
    for _, run in res.runs.iterrows():
        overrides = {
            "time.rounds": 3,
            "policy.outsider_penalty": run["policy.outsider_penalty"],
            "supplier.aggressiveness": 0.5,
        }
        model = BlocModel(load_scenario("ministerial-2026", overrides), rng=int(run["seed"]))
        model.run()
        for name, direct in (
            ("rounds", model.rounds_df),
            ("actors", model.actors_df),
            ("events", model.events_df),
        ):
            table = res.tables[name]
            mine = table[table["run_id"] == run["run_id"]].drop(columns="run_id")
            # every column of the model's table, in its order
            assert list(mine.columns) == list(direct.columns), name
            pd.testing.assert_frame_equal(
                mine.reset_index(drop=True), direct.reset_index(drop=True), check_dtype=False
            )
        if run["first_fracture"] is pd.NA:
            assert not (res.events[res.events["run_id"] == run["run_id"]]["kind"] == "left").any()


def test_every_round_keeps_every_rounds_column(tmp_path):
    spec = write(
        tmp_path,
        """
        collect = "every_round"
        metrics = ["final_size"]
        [set]
        "time.rounds" = 3
        [parameters]
        "policy.outsider_penalty" = { values = [0.1] }
        """,
    )
    plan = load_spec(spec)
    assert plan.tables == ("rounds",)
    assert len(plan.round_columns) == len(plan.columns) - 1  # all but round
    run_sweep(spec, tmp_path / "out", workers=1, progress=False)
    res = load(tmp_path / "out")
    assert {"world_price_lithium", "would_leave", "stock_held_copper"} <= set(res.rounds.columns)
    assert res.actors.empty and res.events.empty
    assert not (tmp_path / "out" / "actors").exists()


def split_parts(out: Path, tables: tuple[str, ...], n: int) -> None:
    """One part file per run in every table: the folder as a running sweep leaves it."""
    for sub in tables:
        files = sorted((out / sub).glob("part-*.parquet"))
        table = pa.concat_tables([pq.read_table(f) for f in files])
        for f in files:
            f.unlink()
        for run_id in range(n):
            rows = table.filter(pc.equal(table.column("run_id"), run_id))
            pq.write_table(rows, out / sub / f"part-{run_id:09d}-{run_id:08x}.parquet")


def test_actors_and_events_resume_like_the_rest(sweep, tmp_path):
    spec, out = sweep
    expected = load(out)
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    tables = ("runs", "rounds", "actors", "events")
    split_parts(cut, tables, 4)
    lost = sorted((cut / "runs").glob("part-*.parquet"))[1]
    for sub in tables:
        (cut / sub / lost.name).unlink()
    (cut / "runs" / sorted((cut / "runs").glob("part-*"))[1].name).unlink()  # orphans remain
    partial = load(cut)
    assert list(partial.runs["run_id"]) == [0, 3]
    assert set(partial.actors["run_id"]) == {0, 3} and set(partial.events["run_id"]) <= {0, 3}
    summary = run_sweep(spec, cut, resume=True, workers=1, progress=False)
    assert summary.n_run_now == 2
    done = load(cut)
    for name in tables:
        pd.testing.assert_frame_equal(done.tables[name], expected.tables[name], check_exact=True)
        assert len(list((cut / name).glob("part-*.parquet"))) == 1


def test_spec_tables_and_report_are_checked(tmp_path):
    bad = write(
        tmp_path,
        """
        tables = ["rounds", "agents"]
        [parameters]
        "policy.outsider_penalty" = { values = [0.1, 0.2] }
        "policy.instrument" = { choice = ["border", "price_gap"] }
        [report]
        heatmap = ["policy.outsider_penalty", "policy.instrumnt"]
        """,
    )
    r = bloc("sweep", str(bad), "--out", str(tmp_path / "out"))
    assert r.exit_code == 2
    assert "tables.1: should be 'rounds', 'actors' or 'events', not 'agents'" in r.stderr
    bad.write_text(bad.read_text().replace('"agents"', '"events"'))
    r = bloc("sweep", str(bad), "--out", str(tmp_path / "out"))
    assert r.exit_code == 2
    assert "report.heatmap: 'policy.instrumnt' is not a parameter" in r.stderr
    assert "did you mean 'policy.instrument'" in r.stderr
    assert not (tmp_path / "out").exists()


def test_report_options_do_not_change_the_sweep(tmp_path):
    """A spec's [report] section, or an empty `tables`, changes nothing a resume compares."""
    body = """
        [set]
        "time.rounds" = 3
        [parameters]
        "policy.outsider_penalty" = { values = [0.1, 0.2] }
        "supplier.aggressiveness" = { values = [0.2, 0.4] }
    """
    plain = load_spec(write(tmp_path, body, "a.toml"))
    dressed = load_spec(
        write(
            tmp_path,
            'tables = []\n' + textwrap.dedent(body)
            + '[report]\nheatmap = ["supplier.aggressiveness", "policy.outsider_penalty"]\n'
            "per_mineral = 0\n",
            "b.toml",
        )
    )  # fmt: skip
    assert _plan_sha256(plain) == _plan_sha256(dressed)


def test_report_of_the_sweep_with_options(sweep, tmp_path):
    _, out = sweep
    page = tmp_path / "r.html"
    r = bloc("sweep", "report", str(out), "--out", str(page))
    assert r.exit_code == 0, r.output
    text = page.read_text()
    # the spec's own metrics come before per-mineral ones, of which at most 3 by default
    shown = [m for m in ("final_size", "mean_fiscal_cost", "sum_tariff_revenue") if m in text]
    assert shown
    assert "the spec&#x27;s [report] heatmap" in text or "the spec's [report] heatmap" in text
    assert "Coalitions that formed" in text
    r = bloc("sweep", "report", str(out), "--out", str(page), "--heatmap",
             "policy.outsider_penalty,supplier.aggressiveness", "--per-mineral", "0")  # fmt: skip
    assert r.exit_code == 0, r.output
    text = page.read_text()
    assert "over policy.outsider_penalty (x) and supplier.aggressiveness (y): --heatmap" in text
    assert "Main effects on mean_world_price" not in text
    r = bloc("sweep", "report", str(out), "--heatmap", "policy.outsider_penalty,supplier.agg")
    assert r.exit_code == 2 and "did you mean 'supplier.aggressiveness'" in r.stderr

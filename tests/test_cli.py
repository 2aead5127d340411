"""What a user of `bloc run` sees: the summary, the files written, and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from negotiation import BlocModel, load_scenario
from negotiation.cli import main


def bloc(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_run_prints_a_readable_summary():
    r = bloc("run", "--rounds", "3", "--seed", "1")
    assert r.exit_code == 0, r.output
    assert "Bloc at the end:" in r.output
    assert "rare_earths" in r.output and "world price" in r.output
    assert "Who moved and why:" in r.output and "joined the bloc" in r.output


def test_run_tells_of_producers_closing_and_reopening():
    """The summary's "who moved and why" has producers too: rivals the surge closes, and the
    capacity they order back once prices have repaid a restart for a year, and what the
    restart will cost them a year once it produces."""
    r = bloc("run", "supplier-floods", "--seed", "1")
    assert r.exit_code == 0, r.output
    moved = r.output.split("Who moved and why:")[1]
    assert re.search(
        r"round  13: rest-of-world producers closed [\d,]+ t a year of Natural graphite", moved
    )
    assert re.search(
        r"round  31: rest-of-world producers ordered back [\d,]+ t a year of Natural graphite "
        r"capacity closed earlier, after prices repaid a restart for more than a year; it "
        r"produces again after the investment lag \(730 days\), and from then pays the "
        r"restart, \$\d+m a year",
        moved,
    )


def test_run_names_the_offtake_partners_and_whether_they_joined():
    """The summary says who sells into the bloc's market from outside it (the scenario's
    offtake partners), and which of them joined after all; a run without partners says
    nothing of them."""
    r = bloc("run", "australia-offtake", "--rounds", "8", "--seed", "0")
    assert r.exit_code == 0, r.output
    line = "Offtake partners outside the bloc (their producers sell into its market on its terms)"
    assert f"{line}: Australia\n" in r.output
    r = bloc("run", "australia-offtake", "--rounds", "8", "--set", "policy.partners=['india']")
    assert r.exit_code == 0, r.output
    assert f"{line}: none; joined: India\n" in r.output  # India joins at round 7
    assert "Offtake partners" not in bloc("run", "expansion", "--rounds", "2").output
    r = bloc("run", "australia-offtake", "--set", "policy.partners=['narnia']")
    assert r.exit_code == 2
    assert "--set policy.partners: actor 'narnia' is not defined" in r.output


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_run_writes_tables_equal_to_the_api(tmp_path, fmt):
    out = tmp_path / "run"
    r = bloc("run", "ministerial-2026", "--rounds", "4", "--seed", "5", "--out", str(out),
             "--format", fmt)  # fmt: skip
    assert r.exit_code == 0, r.output
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    model = BlocModel(load_scenario("ministerial-2026"), rounds=4, rng=5).run()
    for name in ("rounds", "actors"):
        written = read(out / f"{name}.{fmt}")
        expected = getattr(model, f"{name}_df")
        if fmt == "csv":
            expected = pd.read_csv(pd.io.common.StringIO(expected.to_csv(index=False)))
        pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    events = read(out / f"events.{fmt}")
    assert list(events["text"]) == list(model.events_df["text"])
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 5 and meta["scenario"] == "ministerial-2026" and meta["rounds"] == 4
    assert {"bloc", "mesa", "numpy", "pandas", "python"} <= set(meta["versions"])
    # the command as the user typed it, whatever the host process's argv (here pytest's)
    assert meta["command"] == (
        f"bloc run ministerial-2026 --rounds 4 --seed 5 --out {out} --format {fmt}"
    )


def test_same_seed_same_files(tmp_path):
    for d in ("a", "b"):
        assert (
            bloc("run", "--rounds", "5", "--seed", "9", "--out", str(tmp_path / d)).exit_code == 0
        )
    for name in ("rounds.csv", "actors.csv", "events.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_set_overrides_a_scenario_value(tmp_path):
    r = bloc("run", "--rounds", "1", "--set", "policy.outsider_penalty=0.25", "--out",
             str(tmp_path))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert pd.read_csv(tmp_path / "rounds.csv")["penalty"].eq(0.25).all()


def test_a_scenario_file_from_any_path_works(tmp_path):
    from negotiation.engine.scenario import scenario_to_toml

    path = tmp_path / "mine.toml"
    path.write_text(scenario_to_toml(load_scenario("ministerial-2026")))
    r = bloc("run", str(path), "--rounds", "2")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "no-such-scenario"], "no-such-scenario: no such scenario"),
        (["run", "--rounds", "0"], "--rounds must be at least 1"),
        (["run", "--set", "actors.japan.strategy=boulwar"], "did you mean 'boulware'"),
        (["run", "--set", "policy.outsider_penalty=-1"], "policy.outsider_penalty"),
        (["run", "--set", "nonsense"], "expected dotted.path=value"),
        (["run", "missing/file.toml"], "missing/file.toml: no such file"),
    ],
)
def test_bad_input_gets_one_line_and_exit_code_2(args, message):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("bloc: error:")]
    assert len(errors) == 1


def test_unwritable_output_folder(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    r = CliRunner().invoke(main, ["run", "--rounds", "1", "--out", str(blocked / "sub")])
    assert r.exit_code == 2 and "cannot write there" in r.output


def test_the_real_command_exits_2_without_a_traceback():
    p = subprocess.run(
        [sys.executable, "-m", "negotiation.cli", "run", "atlantis", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2
    assert p.stderr.startswith("bloc: error: atlantis: no such scenario")
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("seat", ["japan", "supplier"])
def test_a_scenario_with_a_persons_seat_is_refused_by_bloc_run(tmp_path, seat):
    """bloc run plays agents only: a seat given to a person (`human`, `human-supplier`) would
    wait for ever, so the command says so in one line, exits 2 and writes nothing."""
    strategy = "human-supplier" if seat == "supplier" else "human"
    path = f"actors.{seat}.strategy" if seat != "supplier" else "supplier.strategy"
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", "--set", f"{path}={strategy}", "--out", str(out)])
    assert r.exit_code == 2
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and f"{seat} played by a person" in lines[0]
    assert not out.exists() or not any(out.iterdir())

"""How likely is this? The helpers of negotiation/ui/app_ensemble.py against hand computations, the
background job, the app's *How likely?* tab and the workshop debrief's comparison with agents
alone, rendered with `solara.render` (no browser; tests/test_app_browser.py drives the tab in
chromium)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import ipyvuetify as v
import numpy as np
import pandas as pd
import pytest
import solara
import solara.widgets

from negotiation.experiments.ensemble import Ensemble, EnsembleCancelled
from negotiation.ui.app_ensemble import (
    CANCELLED,
    DONE,
    FAILED,
    EnsembleJob,
    bloc_rounds,
    debrief_lines,
    ensemble_workers,
    fan_bands,
    members_words,
    outcome_shares,
    percent,
    rank,
    rank_words,
    runs_bloc_rounds,
    settings_key,
    start_ensemble,
)
from negotiation.ui.app_state import Session
from tests.app_helpers import the_widget, type_in

NAMES = {"us": "United States", "japan": "Japan", "eu": "European Union", "mexico": "Mexico"}
COUNTRIES = ("us", "japan", "eu", "mexico")


@dataclass(frozen=True)
class FakeEnsemble:
    """What debrief_lines reads of an Ensemble, written by hand."""

    runs: pd.DataFrame
    rounds: pd.DataFrame
    n: int


def _rounds(sizes: dict[int, list[int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"run": k, "round": r, "n_members": m}
            for k, ms in sizes.items()
            for r, m in enumerate(ms)
        ]
    )


def test_rank_and_its_words_against_a_hand_count():
    # 30 among 10, 20, 30, 30, 40: two below (40%), two equal (40%), one above (20%)
    r = rank(30, [10, 20, 30, 30, 40])
    assert (r.below, r.same, r.above, r.n) == (0.4, 0.4, 0.2, 5)
    assert rank_words(r, "longer than in", "as long as in", "shorter than in", "runs") == (
        "longer than in 40% of 5 runs, as long as in 40% and shorter than in 20%"
    )
    same = rank(3, [3, 3, 3])
    assert rank_words(same, "more than in", "as many as in", "fewer than in", "runs") == (
        "as many as in all 3 runs"
    )
    top = rank(9, [1, 2, 3, 4])
    assert rank_words(top, "more than in", "as many as in", "fewer than in", "runs") == (
        "more than in all 4 runs"
    )
    assert rank_words(rank(1, []), "a", "b", "c", "runs") == "no runs to compare with"


def test_percent_never_rounds_a_share_some_runs_contradict_to_0_or_100():
    assert [percent(x) for x in (0, 0.004, 0.2, 0.8, 0.999, 1)] == [
        "0%",
        "under 1%",
        "20%",
        "80%",
        "over 99%",
        "100%",
    ]


def test_rounds_with_a_bloc_by_hand():
    # rounds 0..4 with 1, 4, 4, 2, 1 members: rounds 1, 2 and 3 have a bloc
    assert bloc_rounds([1, 4, 4, 2, 1], [0, 1, 2, 3, 4], 4) == 3
    assert bloc_rounds([1, 4, 4, 2, 1], [0, 1, 2, 3, 4], 2) == 2
    ens = _rounds({0: [1, 4, 4, 4, 4], 1: [1, 1, 2, 2, 1], 2: [1, 3, 3, 3, 1], 3: [1] * 5})
    assert runs_bloc_rounds(ens, 4).tolist() == [4, 2, 3, 0]
    assert runs_bloc_rounds(ens, 1).tolist() == [1, 0, 1, 0]


def test_the_debrief_lines_against_a_hand_computation():
    room = pd.DataFrame(
        {
            "round": [0, 1, 2, 3, 4],
            "n_members": [1, 4, 4, 2, 1],
            "members": ["us", "eu+japan+mexico+us", "eu+japan+mexico+us", "japan+us", "us"],
        }
    )
    rounds = _rounds({0: [1, 4, 4, 4, 4], 1: [1, 1, 2, 2, 1], 2: [1, 3, 3, 3, 1], 3: [1] * 5})
    runs = pd.DataFrame(
        {
            "run": [0, 1, 2, 3],
            "holds": [True, False, False, False],
            "in_us": [True, True, True, True],
            "in_japan": [True, False, True, False],
            "in_eu": [True, False, False, False],
            "in_mexico": [False, False, False, False],
        }
    )
    lines = debrief_lines(room, 4, True, FakeEnsemble(runs, rounds, 4), NAMES, COUNTRIES)
    # the room: a bloc in rounds 1-3 (3 rounds); the runs: 4, 2, 3 and 0 rounds, so the room
    # had more than 2 of 4 (50%), as many as 1 (25%), fewer than 1 (25%)
    assert lines[0] == (
        "Your room had a bloc (two members or more) in 3 of 4 rounds: more than in 50% of 4 "
        "agent-only runs, as many as in 25% and fewer than in 25%."
    )
    # the room's bloc lost members in round 3 (and has one left): it did not hold; 1 run of 4 did
    assert lines[1].startswith("Your bloc did not hold to the end") and "25% of 4" in lines[1]
    assert lines[2:] == [
        "The United States was in at the end in your room; in at the end in 100% of 4 "
        "agent-only runs.",
        "Japan was out at the end in your room; in at the end in 50% of 4 agent-only runs.",
        "The European Union was out at the end in your room; in at the end in 25% of 4 "
        "agent-only runs.",
        "Mexico was out at the end in your room; in at the end in 0% of 4 agent-only runs.",
    ]
    # mid-session: the runs' first 2 rounds (room 2; runs 2, 1, 2, 0), no "held" line yet
    mid = debrief_lines(room, 2, False, FakeEnsemble(runs, rounds, 4), NAMES, COUNTRIES)
    assert mid[0] == (
        "Your room had a bloc (two members or more) in 2 of 2 rounds: more than in 50% of 4 "
        "agent-only runs and as many as in 50% (so far: their first 2 rounds)."
    )
    assert mid[1].startswith("The United States was in in round 2 in your room")
    assert debrief_lines(room, 0, False, FakeEnsemble(runs, rounds, 4), NAMES, COUNTRIES) == [
        "Nothing played yet: the room will be compared with 4 agent-only runs once it has."
    ]


def _ensemble(runs: pd.DataFrame, rounds: pd.DataFrame) -> Ensemble:
    return Ensemble(runs=runs, rounds=rounds, scenario="hand", seed=0, n=len(runs))


def test_fan_bands_are_the_per_round_quantiles():
    rounds = pd.DataFrame(
        {"run": [0, 0, 1, 1, 2, 2], "round": [0, 1] * 3, "x": [1.0, 10, 2, 30, 3, 20]}
    )
    b = fan_bands(_ensemble(pd.DataFrame({"run": [0, 1, 2]}), rounds), ["x", "missing"])
    assert b["round"].tolist() == [0, 1] and "missing" not in b
    # round 0: 1, 2, 3 -> 5%: 1 + 0.05 * 2 = 1.1, median 2, 95%: 2.9 (linear, as numpy)
    np.testing.assert_allclose(b["x"][:, 0], [1.1, 2.0, 2.9])
    np.testing.assert_allclose(b["x"][:, 1], np.quantile([10, 30, 20], [0.05, 0.5, 0.95]))


def test_outcomes_most_likely_first_in_words():
    finals = ["us", "eu+us", "eu+us", "", "eu+japan+us", "eu+us"]
    runs = pd.DataFrame(
        {
            "run": range(6),
            "final_members": finals,
            "final_size": [len(f.split("+")) for f in finals],
        }
    )
    shares = outcome_shares(_ensemble(runs, pd.DataFrame({"run": [], "round": []})))
    assert [(m, k) for m, _, k in shares] == [("eu+us", 3), ("", 1), ("eu+japan+us", 1), ("us", 1)]
    assert shares[0][1] == 0.5
    assert members_words("eu+us", NAMES, COUNTRIES) == "the United States and the European Union"
    assert members_words("eu+japan+us", NAMES, COUNTRIES) == (
        "the United States, Japan and the European Union"
    )
    assert members_words("us", NAMES, COUNTRIES) == "United States alone (no bloc)"
    assert members_words("", NAMES, COUNTRIES) == "nobody (no bloc)"


def test_workers_and_settings_key():
    assert [ensemble_workers(c) for c in (1, 2, 3, 4, 16)] == [1, 1, 1, 2, 2]
    a = settings_key("s", 36, {"penalty": 0.1, "floors": {"a": 1}}, 50)
    assert a == settings_key("s", 36, {"floors": {"a": 1}, "penalty": 0.1}, 50)
    assert a != settings_key("s", 36, {"penalty": 0.2, "floors": {"a": 1}}, 50)
    assert a != settings_key("s", 36, {"penalty": 0.1, "floors": {"a": 1}}, 60)


# ----------------------------------------------------------------------------------------------
# The job


def test_a_job_reports_progress_and_stops_promptly_when_cancelled():
    started = threading.Event()

    def slow(progress, cancel):
        for k in range(1000):
            if cancel.is_set():
                raise EnsembleCancelled(k, 1000)
            progress(k + 1, 1000)
            started.set()
            time.sleep(0.01)
        raise AssertionError("never cancelled")

    job = EnsembleJob("k", slow, total=1000).start()
    assert started.wait(5)
    seen = job.wait(-1, 5)
    assert job.state == "running" and 0 < job.done < 1000 and seen >= 1
    job.cancel()
    job.join(5)
    assert job.state == CANCELLED and job.result is None and job.done < 1000

    def broken(progress, cancel):
        raise RuntimeError("boom")

    failed = EnsembleJob("k", broken).start()
    failed.join(5)
    assert failed.state == FAILED and failed.error == "boom"


def test_a_real_ensemble_with_a_random_country_gives_shares_that_add_up():
    """Japan's and the EU's answers at random: the runs differ, whatever the model's own draws."""
    s = Session(rounds=6)
    kwargs = {**s.levers().kwargs(), "strategies": {"japan": "random", "eu": "random"}}
    job = start_ensemble("k", s.scenario, 12, rounds=6, kwargs=kwargs, workers=1)
    job.join(120)
    assert job.state == DONE, job.error
    ens = job.result
    assert ens.n == 12 and job.done == job.total == 12
    assert sum(p for _, p, _ in outcome_shares(ens)) == pytest.approx(1.0)
    b = fan_bands(ens, ["world_price_lithium", "n_members"])
    for c in ("world_price_lithium", "n_members"):
        lo, mid, hi = b[c]
        assert (lo <= mid + 1e-9).all() and (mid <= hi + 1e-9).all()
    assert 0 <= ens.p_holds <= 1


def test_another_draw_keeps_the_levers_and_plays_to_the_round_on_screen():
    s = Session(rounds=8)
    s.step()
    s.step()
    s.change("penalty", 0.5)
    snap = s.redraw(1234)
    assert snap.seed == 1234 and snap.round == 2 and snap.levers.penalty == 0.5
    assert not snap.pending  # the levers are the new run's own, from round 1
    fresh = Session(rounds=8)
    assert fresh.redraw(7).round == 8  # from round 0: to the end


# ----------------------------------------------------------------------------------------------
# The pages, rendered without a browser


def _html(rc, cls: str) -> list:
    return [
        w
        for w in rc.find(solara.widgets.HTML).widgets
        if cls in str(w.attributes.get("class", "")).split()
    ]


def _until(check, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while True:
        out = check()
        if out:
            return out
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def _status(rc) -> dict:
    """The status line's attributes (looked for again if a render from the job's thread is
    half way through replacing it)."""
    for _ in range(50):
        found = _html(rc, "likely-status")
        if len(found) == 1:
            return dict(found[0].attributes)
        time.sleep(0.02)
    raise AssertionError(f"{len(found)} status lines")


def _type(rc, cls: str, text: str) -> None:
    type_in(rc, cls, text)


def test_the_how_likely_tab_runs_restarts_on_a_change_and_draws_the_fan():
    from negotiation.ui.app import Page

    _, rc = solara.render(Page(), handle_error=False)
    _type(rc, "structural-rounds", "6")
    rc.find(v.Btn, class_="bloc-reset").widget.click()
    rc.find(v.Btn, class_="bloc-step").widget.click()
    tabs = rc.find(v.Tabs).widget
    tabs.v_model = 5  # How likely?
    _type(rc, "likely-runs", "1000")
    first = _until(lambda: _status(rc)["data-state"] == "running" and _status(rc))
    _until(lambda: int(_status(rc)["data-done"]) > 0)
    # a lever changed while it runs: the runs stop and start again with the new settings
    the_widget(rc, v.Slider, "lever-penalty-track").v_model = 50
    _until(lambda: _status(rc)["data-key"] != first["data-key"])
    _until(lambda: _html(rc, "likely-restarted"))
    assert "runs started again" in _html(rc, "likely-restarted")[0].unsafe_innerHTML
    _type(rc, "likely-runs", "10")
    done = _until(lambda: _status(rc)["data-state"] == "done" and _status(rc))
    assert done["data-total"] == "10" and not _html(rc, "likely-restarted")
    (fan,) = _html(rc, "likely-fan-view")
    svg = fan.unsafe_innerHTML
    for heading in ("World price: ", "Fiscal cost of the floors", "Bloc size, members"):
        assert heading in svg
    assert "median of 10 runs" in svg and "5–95% of runs" in svg and "the run on screen" in svg
    assert svg.count('class="fan-band"') >= 3 and "fan-this-run" in svg
    (chances,) = _html(rc, "likely-chances-view")
    assert "The bloc holds to the end" in chances.unsafe_innerHTML
    assert "Japan in at the end" in chances.unsafe_innerHTML
    text = " ".join(w.unsafe_innerHTML for w in _html(rc, "likely-text"))
    assert "Out of 10 simulated runs with these settings and different random draws" in text
    # another draw: a new seed, the same round, the same levers
    assert the_widget(rc, v.TextField, "structural-seed").v_model == "0"
    rc.find(v.Btn, class_="likely-redraw").widget.click()
    (header,) = _html(rc, "bloc-members")
    assert header.attributes["data-round"] == "1"
    assert the_widget(rc, v.TextField, "structural-seed").v_model != "0"
    # the runs do not depend on the run's seed: the same settings, the runs already done
    after = _until(lambda: _status(rc)["data-state"] != "starting" and _status(rc))
    assert after["data-key"] == done["data-key"], (done, after)
    assert after["data-state"] == "done", (done, after)
    # leaving the tab and coming back with the same settings shows the runs at once
    tabs.v_model = 0
    tabs.v_model = 5
    assert _status(rc)["data-state"] == "done"


def test_the_facilitators_debrief_compares_the_room_with_agents_alone():
    from negotiation.rooms.workshop import Workshop
    from negotiation.ui import workshop_app as wa

    ws = Workshop(ticker=False)
    try:
        room = ws.create("ministerial-2026", rounds=3)
        room.start(room.admin_token)
        for _ in range(3):
            room.force(room.admin_token)
        _, rc = solara.render(wa.FacilitatorView(room, room.admin_token), handle_error=False)
        rc.find(v.Tabs).widget.v_model = 1  # Charts
        (box,) = _until(lambda: _html(rc, "ws-agent-comparison"))
        text = box.unsafe_innerHTML
        assert "Your room had a bloc (two members or more) in" in text
        assert f"of {wa.AGENT_RUNS} agent-only runs" in text
        assert "Japan was in at the end in your room; in at the end in" in text
        assert wa.agent_runs(room) is wa.agent_runs(room)  # one ensemble a room
    finally:
        ws.close()

"""The web app in a real browser: Debian's chromium driven by Playwright against `bloc app`.

One server for the module (Solara keeps a model per browser tab, so tests never see each
other's runs). Every test clicks and types as a person would, and leaves screenshots in
tests/screenshots/ (git-ignored). After each test the server's log must hold no traceback.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from negotiation import BlocModel, load_scenario
from tests.app_browser_helpers import (
    charts_ok,
    choose,
    current_round,
    download,
    field_message,
    focused,
    members,
    open_app,
    open_tab,
    play_to_end,
    reset,
    set_slider,
    slider_value,
    step,
    tab_to,
    toggle,
    type_floor,
    type_into,
    unnamed_controls,
    wait_consistent,
    wait_field,
    wait_round,
)
from tests.browser_support import AppServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCENARIO = "ministerial-2026"
REFERENCE_PRICES = {m: x.reference_price for m, x in load_scenario(SCENARIO).minerals.items()}
COUNTRY_NAMES = {a: x.name for a, x in load_scenario(SCENARIO).actors.items()}
#: Number fields the fuzz types bad input into (each refuses it and keeps the value in force).
BAD_INPUT_FIELDS = [
    "lever-floor-lithium",
    "lever-floor-graphite",
    "lever-penalty-number",
    "lever-aggressiveness-number",
    "lever-offtake-share-number",
    "lever-patience-number",
    "lever-weight-openness-number",
    "structural-seed",
    "structural-rounds",
]


@pytest.fixture(scope="module")
def server(app_server):
    return app_server()


@pytest.fixture(scope="module")
def app_context(browser):
    """One browser context for the module's `app` pages, so the app's scripts and styles come
    from its HTTP cache after the first page. Each test still opens a page of its own, and so
    gets a Solara session of its own: a model nobody else steps (see
    test_two_browser_sessions_do_not_interfere for two separate browsers)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context
    finally:
        context.close()


class PagesAhead:
    """Fresh pages of the app for the `app` fixture, each opened one test ahead: the browser
    loads it, and the server starts its Solara session, while the test before it runs (a page
    takes seconds to load: most of a short test). Nothing touches a page before its test: it
    is as new as one opened at the start of the test. `checked`: how much of the server's log
    the `app` tests have checked for tracebacks (all of it, from the first)."""

    def __init__(self, server: AppServer, context) -> None:
        self.server, self.context = server, context
        self.ahead = None
        self.checked = len(server.log())

    def open(self):
        page = self.context.new_page()
        page.set_default_timeout(30_000)
        page.goto(self.server.url, wait_until="commit")  # it goes on loading in the browser
        return page

    def take(self):
        """The page opened ahead (or one opened now), loaded, and the next opened ahead."""
        page, self.ahead = self.ahead or self.open(), None
        page.wait_for_load_state("load", timeout=60_000)
        open_app(page, None)  # the app drawn
        self.ahead = self.open()
        # the tab in front, as it would be with no page ahead (chromium paces the animation
        # frames of a tab behind others, which waits on the page run on, to about one a second)
        page.bring_to_front()
        return page


@pytest.fixture(scope="module")
def pages_ahead(server, app_context):
    return PagesAhead(server, app_context)


@pytest.fixture
def app(server, app_context, pages_ahead):
    """The app open in a fresh page (see PagesAhead); fails the test if the server logged a
    traceback (since the last test that checked: nothing goes unchecked)."""
    try:
        yield pages_ahead.take()
    finally:
        for opened in app_context.pages:  # this page and any tab the test opened
            if opened is not pages_ahead.ahead:
                opened.close()
    log = server.log()
    new, pages_ahead.checked = log[pages_ahead.checked :], len(log)
    assert "Traceback" not in new, new[-3000:]


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def _records_csv(df: pd.DataFrame, tmp: Path, name: str) -> pd.DataFrame:
    """A DataFrame as it reads back from CSV (so both sides go through the same parser)."""
    path = tmp / f"expected-{name}.csv"
    df.to_csv(path, index=False)
    return pd.read_csv(path)


# ----------------------------------------------------------------------------------------------


def test_page_loads_offline(server, page, screenshot_dir):
    """Every request stays on the app's own server and none fails: no CDN, no telemetry."""
    outside, failed = [], []

    def only_local(route):
        if route.request.url.startswith(server.url.rstrip("/")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    open_app(page, server.url)
    page.locator(".network-view svg").wait_for()
    page.wait_for_load_state("networkidle")
    assert current_round(page) == 0 and members(page) == ["us"]
    assert page.locator(".bloc-round").inner_text() == "Round 0 of 36"
    page.screenshot(path=screenshot_dir / "app-offline-start.png")
    assert outside == [] and failed == []
    assert not charts_ok(page)


def test_step_advances_the_round(app, screenshot_dir):
    step(app)
    wait_consistent(app)
    assert current_round(app) == 1
    assert app.locator(".bloc-round").inner_text() == "Round 1 of 36"
    shown = members(app)
    assert len(shown) >= 2 and "us" in shown
    assert app.locator(".network-view .node-member").count() == len(shown)
    # on a wide screen the controls are a panel: no drawer button, no second Step
    assert not app.locator(".bloc-phone-bar").is_visible()
    assert not app.locator(".bloc-drawer-close").is_visible()
    summary = app.locator(".bloc-summary")
    assert summary.get_attribute("data-round") == "1"
    assert "This round:" in summary.inner_text() and "joined" in summary.inner_text()
    step(app, 2)
    assert current_round(app) == 3
    app.wait_for_function("() => document.querySelector('.bloc-summary').dataset.round === '3'")
    app.screenshot(path=screenshot_dir / "app-step.png")


def test_a_live_lever_changes_the_next_rounds_floor(app, tmp_path, screenshot_dir):
    step(app, 2)
    type_floor(app, "rare_earths", 150_000)
    pending = app.locator(".bloc-pending").first
    pending.wait_for()
    assert "act from round 3" in pending.inner_text() and "floors" in pending.inner_text()
    step(app)
    # the round played, the notice goes (it may be drawn a message after the round's number)
    app.locator(".bloc-pending").first.wait_for(state="detached", timeout=10_000)
    open_tab(app, "Prices")
    cell = app.locator(".monitor-prices td[data-key=floor_rare_earths]")
    cell.wait_for()
    assert cell.inner_text() == "$150,000"
    assert "Round 3" in app.locator(".monitor-prices caption").inner_text()
    chart = app.locator("svg.chart-prices")
    assert chart.get_attribute("data-round") == "3"
    assert chart.locator("line.lever-marker[data-lever-round='3']").count() >= 1
    app.screenshot(path=screenshot_dir / "app-lever-floor.png")
    # the downloads are drawn by matplotlib, from the same round
    png = download(app, "download-prices-png", tmp_path)
    assert png.name == f"{SCENARIO}-seed0-prices.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    svg = download(app, "download-prices-svg", tmp_path).read_text()
    assert "<svg" in svg and "Rare earths" in svg
    open_tab(app, "Export")
    rounds = _csv(download(app, "download-rounds-csv", tmp_path))
    assert rounds["floor_rare_earths"].tolist() == [110_000, 110_000, 110_000, 150_000]
    assert rounds["levers_changed"].tolist() == [False, False, False, True]


def test_reset_with_a_new_seed_starts_a_new_run(app, screenshot_dir):
    step(app, 2)
    old = app.locator(".structural-seed input").input_value()
    app.locator(".new-seed").click()
    app.wait_for_function(
        f"() => document.querySelector('.structural-seed input').value !== '{old}'"
    )
    seed = int(app.locator(".structural-seed input").input_value())
    assert "press Setup/Reset" in app.locator(".structural-hint").inner_text()
    reset(app)
    assert current_round(app) == 0 and members(app) == ["us"]
    assert f"seed {seed} ·" in app.locator(".bloc-run").inner_text()
    assert app.locator(".structural-hint").inner_text() == "Act on Setup/Reset."
    step(app)
    assert current_round(app) == 1
    app.screenshot(path=screenshot_dir / "app-new-seed.png")


def _wait_message(page, cls: str, words: str) -> str:
    page.wait_for_function(
        f"() => (document.querySelector('.{cls} .v-messages__message')?.innerText ?? '')"
        f".includes({words!r})"
    )
    return field_message(page, cls)


def test_a_bad_number_is_refused_with_its_range_and_the_field_keeps_the_value_in_force(
    app, screenshot_dir
):
    """Out of range, not a number, or empty: a message under the field names the allowed range,
    the field shows the value in force again, and nothing changes in the run."""
    floor = "lever-floor-lithium"
    for typed in ("-5000", "abc", "1000000000000", "12.5", ""):
        type_into(app, floor, typed)
        message = _wait_message(app, floor, typed or "the field was empty")
        assert "The floor for Lithium must be a whole number from 0 to 744,680 USD per tonne" in (
            message
        )
        wait_field(app, floor, "85,000")
    app.screenshot(path=screenshot_dir / "app-bad-floor.png")
    type_into(app, "structural-seed", "abc")
    _wait_message(app, "structural-seed", "The seed must be a whole number from 0 to")
    wait_field(app, "structural-seed", "0")
    type_into(app, "structural-rounds", "100000")
    _wait_message(app, "structural-rounds", "from 1 to 10,000 rounds")
    wait_field(app, "structural-rounds", "36")
    type_into(app, "lever-penalty-number", "250")
    _wait_message(app, "lever-penalty-number", "from 0 to 200%")
    wait_field(app, "lever-penalty-number", "5")
    assert app.locator(".bloc-pending").count() == 0  # nothing was taken
    assert app.locator(".structural-hint").inner_text() == "Act on Setup/Reset."
    reset(app)
    assert "seed 0 ·" in app.locator(".bloc-run").inner_text()
    assert app.locator(".bloc-round").inner_text() == "Round 0 of 36"
    # a good value clears the message and acts from the next round
    type_into(app, floor, "90000")
    app.locator(".bloc-pending").first.wait_for()
    assert field_message(app, floor) == ""
    assert app.locator(f".{floor} input").input_value() == "90,000"
    app.screenshot(path=screenshot_dir / "app-bad-numbers.png")


def test_patience_typed_beside_its_slider_acts_beyond_the_sliders_range(app):
    type_into(app, "lever-patience-number", "40")
    app.locator(".bloc-pending").first.wait_for()
    assert "40 rounds" in app.locator(".lever-patience-title").inner_text()
    assert slider_value(app, "lever-patience") == 40
    box = app.locator(".lever-patience .v-slider").first.bounding_box()
    assert box["width"] >= 120  # wide enough to aim at (it was 29 px)
    thumb = app.locator(".lever-patience [role=slider]").first
    assert thumb.get_attribute("aria-label").startswith("Patience: 40 rounds")  # named
    # a field's name holds its visible label ("Lithium") and says what it sets, with the unit
    floor = app.get_by_label("The floor for Lithium, USD per tonne", exact=True)
    assert floor.input_value() == "85,000"


def test_lever_changes_read_as_sentences_and_a_change_undone_is_not_logged(app, screenshot_dir):
    app.locator(".country-japan").click()
    # the server has drawn Japan's fields (typed earlier, the weight went to the country before)
    app.locator(".country-japan[aria-pressed=true]").wait_for()
    type_into(app, "lever-weight-supply_security-number", "2")
    type_into(app, "lever-patience-number", "9")
    set_slider(app, "lever-penalty", 100, 0, 200, 5)  # moved, then back before the round
    set_slider(app, "lever-penalty", 5, 0, 200, 5)
    app.locator(".floors-x0").click()
    pending = app.locator(".bloc-pending").first
    app.wait_for_function(
        "() => document.querySelector('.bloc-pending')?.innerText.includes('patience')"
    )
    assert "outsider penalty" not in pending.inner_text()
    step(app)
    open_tab(app, "Events")
    events = app.locator(".bloc-events")
    events.locator("li.event-lever").first.wait_for()
    lines = events.locator("li.event-lever").all_inner_texts()
    text = "\n".join(lines)
    assert "Japan's weight on supply security 1.5 -> 2" in text
    assert "patience: Japan 5 rounds -> 9 rounds" in text
    assert "Lithium $85,000/t -> no floor" in text
    assert "penalty" not in text and "changed -> changed" not in text
    assert not re.search(r"\b(us|japan|rare_earths|price_gap)\b|_", text)
    app.screenshot(path=screenshot_dir / "app-lever-events.png")


def _lever_events_after_a_round(app, pending: str) -> str:
    """Once the change `pending` names is pending, play a round and read the lever events."""
    app.wait_for_function(
        f"() => document.querySelector('.bloc-pending')?.innerText.includes({pending!r})"
    )
    step(app)
    open_tab(app, "Events")
    events = app.locator(".bloc-events")
    events.locator("li.event-lever").first.wait_for()
    return "\n".join(events.locator("li.event-lever").all_inner_texts())


def test_offtake_partners_are_chosen_by_name_and_act_from_the_next_round(app, screenshot_dir):
    """The offtake partners' lever: explained, chosen by name in a list, pending until the next
    round, then told in words in the events and named in the banner of levers that differ."""
    assert "outside the bloc" in app.locator(".lever-partners-help").inner_text()
    toggle(app, "lever-partners", "Singapore")
    text = _lever_events_after_a_round(app, "offtake partners")
    assert "offtake partners: none -> Singapore" in text
    assert "offtake partners" in app.locator(".levers-banner").inner_text()
    app.screenshot(path=screenshot_dir / "app-offtake-partners.png")
    toggle(app, "lever-partners", "Singapore")  # untick it: back to none before the round
    app.wait_for_function(
        "() => document.querySelector('.bloc-pending')?.innerText.includes('offtake partners')"
    )


def test_the_offtake_share_is_typed_in_percent_and_acts_from_the_next_round(app):
    """The offtake share: explained, greyed while there is no partner, refused out of its range
    with the range named, pending until the next round, then told in words in the events."""
    assert "contracts" in app.locator(".lever-offtake-share-help").inner_text()
    assert "no offtake partner" in app.locator(".lever-offtake-share-idle").inner_text()
    type_into(app, "lever-offtake-share-number", "0")
    _wait_message(app, "lever-offtake-share-number", "from 1 to 100%")
    wait_field(app, "lever-offtake-share-number", "100")
    type_into(app, "lever-offtake-share-number", "25")
    text = _lever_events_after_a_round(app, "offtake share")
    assert "offtake share: 100% of a partner's output -> 25% of a partner's output" in text
    wait_field(app, "lever-offtake-share-number", "25")
    type_into(app, "lever-offtake-share-number", "100")  # back to all before the next round


def test_one_country_is_no_bloc_and_a_passive_supplier_rings_nobody(app, screenshot_dir):
    header = app.locator(".bloc-members")
    assert members(app) == ["us"]
    assert "no bloc: a bloc needs two members" in header.inner_text()
    assert "stable" not in header.inner_text()
    choose(app, "structural-scenario", "tin-1985")
    reset(app)
    app.wait_for_function("() => document.querySelector('.bloc-run').innerText.includes('Tin')")
    step(app, 4)
    wait_consistent(app)
    assert app.locator(".network-view .leaning-ring").count() == 0
    assert "leaning" not in app.locator(".status-view").inner_text()
    app.screenshot(path=screenshot_dir / "app-tin-no-leaning.png")


def test_levers_explain_themselves_and_idle_ones_are_greyed_with_the_reason(app, screenshot_dir):
    for lever in ("floors", "instrument", "penalty", "cost-sharing", "supplier", "patience"):
        assert app.locator(f".lever-{lever}-help").first.is_visible(), lever
    idle = app.locator(".lever-cost-sharing-idle")
    assert "No effect under the border tariff" in idle.inner_text()
    opacity = app.locator(".v-btn-toggle.lever-cost-sharing").evaluate(
        "el => getComputedStyle(el).opacity"
    )
    assert float(opacity) < 0.6  # greyed
    app.locator(".instrument-price_gap").click()
    idle.wait_for(state="detached")
    assert "gap" in app.locator(".lever-instrument-help").inner_text()
    choose(app, "lever-supplier", "passive")
    reason = app.locator(".lever-aggressiveness-idle")
    reason.wait_for()
    assert "a passive supplier never acts against the bloc" in reason.inner_text()
    app.screenshot(path=screenshot_dir / "app-lever-help.png")
    # the levers now differ from the scenario's: a banner says which, and takes them back
    banner = app.locator(".levers-banner")
    banner.wait_for()
    assert "instrument, supplier's strategy" in banner.inner_text()
    app.locator(".levers-banner-restore").click()
    banner.wait_for(state="detached")
    app.locator(".lever-cost-sharing-idle").wait_for()  # the border tariff is back
    open_tab(app, "About")
    about = app.locator(".bloc-about")
    about.get_by_text("Glossary").wait_for()
    text = about.inner_text()
    for term in (
        "Price floor",
        "Border-adjusted tariff",
        "Price-gap payment",
        "Stockpile",
        "Outsider penalty",
        "Cost sharing",
        "Side offer",
        "Export controls",
    ):
        assert term in text, term
    app.screenshot(path=screenshot_dir / "app-glossary.png", full_page=True)


def test_on_a_phone_the_view_takes_the_width_and_the_controls_are_a_drawer(
    server, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        before = len(server.log())
        page.goto(server.url)
        page.locator(".bloc-members").wait_for()
        main = page.locator(".bloc-main").bounding_box()
        assert main["width"] >= 370, main  # it was squeezed into 40 px
        assert not page.locator(".bloc-controls").is_visible()
        round_box = page.locator(".bloc-round").bounding_box()
        assert round_box["height"] < 40  # "Round 0 of 36" on one line
        page.locator(".phone-step").tap()
        wait_round(page, 1)
        page.screenshot(path=screenshot_dir / "app-phone.png")
        # every tab is on screen and opens with a tap
        for name, view in [
            ("Prices", "svg.chart-prices"),
            ("Events", ".bloc-events"),
            ("About", ".bloc-about"),
            ("Export", ".download-scenario"),
            ("Why?", "svg.chart-utility"),
            ("Bloc", ".network-view svg"),
        ]:
            tab = page.get_by_role("tab", name=name)
            box = tab.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
            tab.tap()
            page.locator(f".bloc-main {view}").first.wait_for()
        # the controls open as a drawer over the view, and close again
        page.locator(".bloc-drawer-toggle").tap()
        controls = page.locator(".bloc-controls")
        controls.wait_for()
        assert controls.bounding_box()["width"] >= 300
        page.screenshot(path=screenshot_dir / "app-phone-drawer.png")
        page.locator(".bloc-step").tap()
        wait_round(page, 2)
        page.locator(".bloc-drawer-close").tap()
        controls.wait_for(state="hidden")
        assert "Traceback" not in server.log()[before:]
    finally:
        context.close()


def test_why_shows_each_member_s_gain_from_staying_over_the_rounds(app, screenshot_dir):
    step(app, 6)
    open_tab(app, "Why?")
    chart = app.locator("svg.chart-gains")
    chart.wait_for()
    app.wait_for_function("() => document.querySelector('svg.chart-gains')?.dataset.round === '6'")
    assert chart.locator("polyline").count() >= 2
    assert "gain from staying in" in (chart.text_content() or "").lower()
    assert not charts_ok(app)
    chart.scroll_into_view_if_needed()
    app.screenshot(path=screenshot_dir / "app-why-gains.png")


def test_bargaining_shows_the_alternatives_frontier_nash_proposal_and_agreement(
    app, screenshot_dir
):
    step(app, 1)
    open_tab(app, "Bargaining")
    chart = app.locator("svg.chart-bargaining")
    chart.wait_for()
    app.wait_for_function(
        "() => document.querySelector('svg.chart-bargaining')?.dataset.round === '1'"
    )
    assert (chart.get_attribute("data-x"), chart.get_attribute("data-y")) == ("us", "japan")
    n = int(chart.get_attribute("data-alternatives"))
    assert chart.locator("circle.bs-alt").count() == n > 100
    assert chart.locator("circle.bs-efficient").count() >= 1
    assert chart.locator("polyline.bs-frontier").count() == 1
    for mark, label in (("bs-origin", "no deal"), ("bs-proposal", "proposal"),
                        ("bs-agreement", "agreement")):  # fmt: skip
        assert label in (chart.locator(f"g.{mark}").text_content() or "")
    text = chart.text_content() or ""
    assert "United States: gain over no deal" in text and "Japan: gain over no deal" in text
    words = app.locator(".bloc-bargaining").text_content() or ""
    assert "the supplier is not a party" in words and "Nash" in words
    # another party up the chart
    choose(app, "bargaining-y", "Singapore")
    app.wait_for_function(
        "() => document.querySelector('svg.chart-bargaining')?.dataset.y === 'singapore'"
    )
    assert "Singapore: gain over no deal" in (chart.text_content() or "")
    assert not charts_ok(app)
    app.screenshot(path=screenshot_dir / "app-bargaining.png")


def _scripted_session(page) -> tuple[int, int]:
    """Penalty 30 % from round 1, three rounds, floors x1.5, two rounds. Returns (seed,
    rounds played)."""
    set_slider(page, "lever-penalty", 30, 0, 200, 5)
    step(page, 3)
    page.locator(".floors-x1_5").click()
    page.locator(".bloc-pending").first.wait_for()
    step(page, 2)
    seed = int(page.locator(".structural-seed input").input_value())
    return seed, current_round(page)


def test_the_exported_csv_equals_the_models_records(app, tmp_path):
    seed, played = _scripted_session(app)
    sc = load_scenario(SCENARIO)
    model = BlocModel(sc, rng=seed)
    model.set_levers(penalty=0.3)
    model.run(3)
    model.set_levers(floors={m: 1.5 * sc.policy.floors.get(m, 0.0) for m in model.minerals})
    model.run(2)
    assert model.round == played == 5
    open_tab(app, "Export")
    for table in ("rounds", "actors", "events"):
        path = download(app, f"download-{table}-csv", tmp_path)
        assert path.name == f"{SCENARIO}-seed{seed}-{table}.csv"
        page_df = _csv(path)
        expected = _records_csv(getattr(model, f"{table}_df"), tmp_path, table)
        pd.testing.assert_frame_equal(page_df, expected)


def test_the_exported_scenario_reproduces_the_run_with_bloc_run(app, tmp_path):
    seed, played = _scripted_session(app)
    open_tab(app, "Export")
    toml = download(app, "download-scenario", tmp_path)
    assert toml.name == f"{SCENARIO}-seed{seed}.toml"
    pages = {t: _csv(download(app, f"download-{t}-csv", tmp_path)) for t in ("rounds", "actors")}
    out = tmp_path / "replay"
    cmd = [sys.executable, "-m", "negotiation.cli", "run", str(toml), "--rounds", str(played)]
    subprocess.run([*cmd, "--out", str(out), "--quiet"], check=True, timeout=300)
    for table, df in pages.items():
        pd.testing.assert_frame_equal(_csv(out / f"{table}.csv"), df)


def test_two_browser_sessions_do_not_interfere(server, browser, screenshot_dir):
    a = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    b = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        open_app(a, server.url)
        open_app(b, server.url)
        step(a, 3)
        assert current_round(a) == 3 and current_round(b) == 0
        set_slider(b, "lever-penalty", 100, 0, 200, 5)
        b.locator(".bloc-pending").first.wait_for()
        assert a.locator(".bloc-pending").count() == 0
        assert "5%" in a.locator(".lever-penalty").inner_text()
        step(b)
        step(a)
        assert current_round(a) == 4 and current_round(b) == 1
        reset(b)
        assert current_round(a) == 4
        b.screenshot(path=screenshot_dir / "app-session-b.png")
        a.screenshot(path=screenshot_dir / "app-session-a.png")
    finally:
        a.context.close()
        b.context.close()


def test_take_a_seat_plays_a_round_from_the_seat(app, screenshot_dir):
    """The "Take a seat" button opens the solo page in a new tab, on the structural settings: one
    seat for you, agents elsewhere; your accept shows in the narrative, with your name."""
    step(app, 2)  # the run on screen goes on in its own tab
    rounds = app.locator(".structural-rounds input")
    rounds.fill("4")
    rounds.press("Enter")
    choose(app, "take-seat-seat", "Japan")
    go = app.locator(".take-seat-go")
    app.wait_for_function(
        "() => document.querySelector('.take-seat-go').getAttribute('href').includes('rounds=4')"
    )
    assert go.get_attribute("href") == "solo?scenario=ministerial-2026&seat=japan&seed=0&rounds=4"
    assert go.get_attribute("target") == "_blank"
    with app.context.expect_page() as opened:
        go.click()
    seat = opened.value
    try:
        seat.set_default_timeout(30_000)
        seat.wait_for_url("**/join?room=*&token=*")
        seat.locator(".ws-me[data-seat='japan']").wait_for(state="attached")
        head = seat.locator(".ws-round")
        assert head.get_attribute("data-round") == "0" and "Round 1 of 4" in head.inner_text()
        seat.locator(".ws-decision-japan .ws-accept").click()
        seat.wait_for_function("() => document.querySelector('.ws-round')?.dataset.round === '1'")
        story = seat.locator(".ws-events")
        story.locator("li", has_text="Japan joined the bloc").first.wait_for()
        joined = story.locator("li", has_text="Japan joined the bloc").first
        assert "round 1" in joined.inner_text() and "You" in joined.inner_text()  # your decision
        assert "japan" in (seat.locator(".ws-members").get_attribute("data-members") or "")
        seat.screenshot(path=screenshot_dir / "app-take-a-seat.png", full_page=True)
    finally:
        seat.close()
    assert current_round(app) == 2  # the app's own run did not move


# ----------------------------------------------------------------------------------------------
# The recipes of the About panel's "Things to try"


def test_about_names_the_recipes(app):
    """The scenario file's own "Things to try" (the app adds nothing), each recipe once."""
    open_tab(app, "About")
    text = app.locator(".bloc-about").inner_text()
    assert "Things to try" in text
    assert text.count("Make the bloc form and hold") == 1 and text.count("Make it fracture") == 1
    assert text.count("Break a bloc that holds") == 1


# The app's run is one draw (seed 0). The scenario file states each recipe for most draws
# (tests/test_scenarios.py checks those shares); these check what seed 0's draw shows.


def test_recipe_price_gap_makes_the_bloc_form_and_hold(app, screenshot_dir):
    app.locator(".instrument-price_gap").click()
    app.locator(".bloc-pending").first.wait_for()
    play_to_end(app)
    wait_consistent(app)
    assert current_round(app) == 36
    assert len(members(app)) == 4, members(app)  # together by round 5, as in every draw
    assert app.locator(".status-view tr[data-kind=member]").count() == len(members(app))
    open_tab(app, "Events")
    assert "left the bloc" not in app.locator(".bloc-events").inner_text()  # nobody left
    app.screenshot(path=screenshot_dir / "app-recipe-hold.png")


def test_recipe_tariff_wall_makes_the_bloc_fracture(app, screenshot_dir):
    set_slider(app, "lever-penalty", 100, 0, 200, 5)
    step(app, 5)
    assert len(members(app)) == 4  # it forms...
    step(app, 2)
    wait_consistent(app)
    # ...and fractures: in seed 0's draw the US leaves in round 6, within the first year, as in
    # most draws (a member leaves in about 9 draws in 10)
    assert len(members(app)) == 3 and "us" not in members(app), members(app)
    assert app.locator(".status-view tr[data-kind=member]").count() == len(members(app))
    app.screenshot(path=screenshot_dir / "app-recipe-fracture.png")
    open_tab(app, "Why?")
    app.locator(".chart-utility").wait_for()
    assert "Why is United States out?" in app.locator(".bloc-why").inner_text()
    app.screenshot(path=screenshot_dir / "app-recipe-fracture-why.png")
    open_tab(app, "Events")
    assert "left the bloc" in app.locator(".bloc-events").inner_text()  # the exits, in words


def test_recipe_a_tariff_wall_mid_run_breaks_a_bloc_that_holds(app, screenshot_dir):
    step(app, 12)
    assert len(members(app)) >= 4
    set_slider(app, "lever-penalty", 200, 0, 200, 5)
    play_to_end(app)
    wait_consistent(app)
    # in every draw a member leaves; in seed 0's the EU, the US and Japan in rounds 21-24
    assert len(members(app)) <= 2, members(app)
    open_tab(app, "Events")
    assert "left the bloc" in app.locator(".bloc-events").inner_text()
    app.screenshot(path=screenshot_dir / "app-recipe-break.png")


def test_the_supply_chart_shows_a_flood_closing_rivals_and_their_return(app, screenshot_dir):
    """The tutorial's flood (supplier-floods, seed 1) in the page: on the Supply tab the
    rare-earth panel marks the round rivals closed capacity (13) and the round they ordered it
    back (31), the narrative's line on hover, and the legend names both marks."""
    choose(app, "structural-scenario", "supplier-floods")
    type_into(app, "structural-seed", "1")
    wait_field(app, "structural-seed", "1")
    type_into(app, "structural-rounds", "31")
    wait_field(app, "structural-rounds", "31")
    reset(app)
    app.wait_for_function("() => document.querySelector('.bloc-round').innerText.includes('31')")
    play_to_end(app)
    open_tab(app, "Supply")
    chart = app.locator("svg.chart-supply")
    chart.wait_for()
    app.wait_for_function(
        "() => document.querySelector('svg.chart-supply')?.dataset.round === '31'"
    )
    panel = chart.locator("g.panel[data-title='Rare earths']")
    closed = panel.locator("g.capacity-mark[data-kind=closure][data-round='13']")
    back = panel.locator("g.capacity-mark[data-kind=restart][data-round='31']")
    assert closed.count() == 1 and back.count() == 1
    assert "rest-of-world producers closed" in closed.locator("title").text_content()
    assert "ordered back" in back.locator("title").text_content()
    legend = [g.get_attribute("data-label") for g in chart.locator("g.legend-item").all()]
    assert "capacity closed" in legend and "closed capacity ordered back" in legend
    app.screenshot(path=screenshot_dir / "app-supply-capacity-marks.png")


# ----------------------------------------------------------------------------------------------


def _random_lever(page, rng: random.Random) -> str:
    action = rng.choice(
        ["scale", "floor", "instrument", "penalty", "sharing", "supplier", "aggr", "country", "bad",
         "partners"]
    )  # fmt: skip
    if action == "scale":
        k = rng.choice(["0", "0_5", "1", "1_5", "2", "3"])
        page.locator(f".floors-x{k}").click()
        return f"floors x{k}"
    if action == "floor":
        m = rng.choice(["lithium", "nickel", "rare_earths", "graphite", "gallium", "copper"])
        value = rng.choice([0, rng.randrange(1, round(10 * REFERENCE_PRICES[m]))])
        type_floor(page, m, value)
        return f"floor {m}={value}"
    if action == "bad":
        cls = rng.choice(BAD_INPUT_FIELDS)
        typed = rng.choice(["-1", "abc", "", "1e300", "99999999999999999999999"])
        before = page.locator(f".{cls} input").input_value()
        type_into(page, cls, typed)
        _wait_message(page, cls, "must be")
        wait_field(page, cls, before)  # refused: the field shows the value in force again
        return f"bad {cls}={typed!r}"
    if action == "instrument":
        code = rng.choice(["border", "price_gap", "stockpile"])
        page.locator(f".instrument-{code}").click()
        return f"instrument {code}"
    if action == "penalty":
        value = rng.randrange(0, 41) * 5
        set_slider(page, "lever-penalty", value, 0, 200, 5)
        return f"penalty {value}%"
    if action == "sharing":
        code = rng.choice(["consumption", "equal"])
        page.locator(f".cost-sharing-{code}").click()
        return f"cost sharing {code}"
    if action == "partners":
        name = rng.choice(["Mexico", "Singapore", "Japan"])
        toggle(page, "lever-partners", name)
        return f"offtake partner {name} toggled"
    if action == "supplier":
        name = rng.choice(["passive", "flood", "export-controls", "side-offers", "adaptive"])
        choose(page, "lever-supplier", name)
        return f"supplier {name}"
    if action == "aggr":
        value = rng.randrange(0, 21) * 5
        set_slider(page, "lever-aggressiveness", value, 0, 100, 5)
        return f"aggressiveness {value}%"
    country = rng.choice(["us", "japan", "eu", "mexico", "singapore"])
    page.locator(f".country-{country}").click()
    # the server has drawn that country's sliders: moved before, a slider would set the
    # weight of the country shown before (its handler), then show the new one's
    page.locator(f".country-{country}[aria-pressed=true]").wait_for()
    page.wait_for_function(
        f"() => document.querySelector('.lever-patience-help')?.textContent"
        f".includes({COUNTRY_NAMES[country]!r})"
    )
    comp = rng.choice(["supply_security", "consumer_cost", "openness", "patience"])
    if comp == "patience":
        value = rng.randrange(0, 25)
        set_slider(page, "lever-patience", value, 0, 24, 1)
    else:
        value = rng.randrange(0, 31) / 10
        set_slider(page, f"lever-weight-{comp}", value, 0, 3, 0.1)
    return f"{country} {comp}={value}"


#: A view each tab shows, inside an element that carries the round it shows.
TAB_VIEWS = {
    "Prices": "svg.chart-prices",
    "Supply": "svg.chart-supply",
    "Money": "svg.chart-money",
    "Why?": "svg.chart-utility",
    "Events": ".bloc-events",
    "Bloc": ".network-view svg",
}


def test_fifty_random_lever_settings_break_nothing(app, server, screenshot_dir):
    """50 random combinations of lever values set on the page, bad input typed into number
    fields among them, a round after each: no server exception, no error shown, no empty chart,
    no "nan" anywhere, every view in step, every refused field back to the value in force."""
    rng = random.Random(2026)
    tabs = ["Prices", "Supply", "Money", "Why?", "Events", "Bloc"]
    tab = "Bloc"
    done = []
    for i in range(50):
        if current_round(app) >= 36:
            reset(app)
        done.append([_random_lever(app, rng) for _ in range(rng.randint(1, 3))])
        step(app)
        if i % 5 == 4:
            tab = tabs[(i // 5) % len(tabs)]
            open_tab(app, tab)
        if tab == "Bloc":
            wait_consistent(app)
        if i % 5 == 4 or tab != "Bloc":
            app.locator(f".bloc-main {TAB_VIEWS[tab]}").first.wait_for()  # the tab is drawn
            app.wait_for_function(
                f"() => document.querySelector('.bloc-main {TAB_VIEWS[tab]}')"
                f".closest('[data-round]')?.dataset.round === '{current_round(app)}'"
            )
            problems = charts_ok(app)
            assert not problems, (problems, done[-5:])
        errors = app.locator(".bloc-error")
        assert errors.count() == 0, (errors.first.inner_text(), done[-1])
        assert "Traceback" not in server.log(), done[-5:]
    app.screenshot(path=screenshot_dir / "app-random-levers.png")


def _likely(page) -> dict:
    return page.evaluate("() => ({...document.querySelector('.likely-status')?.dataset ?? {}})")


def test_how_likely_runs_in_the_background_restarts_on_a_change_and_draws_the_fan(
    app, screenshot_dir
):
    """The How likely? tab: a progress bar while the runs go; a lever changed while they run
    stops them and starts them again; then the fan charts, the chances and what they mean;
    another draw replays the run on screen with a new seed over the same runs."""
    type_into(app, "structural-rounds", "6")
    reset(app)
    step(app)
    open_tab(app, "How likely?")
    app.locator(".likely-title").wait_for()
    type_into(app, "likely-runs", "1000")  # long enough to change a lever while it runs
    app.wait_for_function(
        "() => { const s = document.querySelector('.likely-status')?.dataset;"
        " return s && s.total === '1000' && s.state === 'running' && Number(s.done) > 0; }"
    )
    assert app.locator(".likely-progress").is_visible()
    assert "Running:" in app.locator(".likely-status").inner_text()
    first = _likely(app)
    app.screenshot(path=screenshot_dir / "app-likely-running.png")
    type_into(app, "lever-penalty-number", "50")
    try:
        app.wait_for_function(
            f"() => document.querySelector('.likely-status')?.dataset.key !== '{first['key']}'"
        )
    finally:
        app.screenshot(path=screenshot_dir / "app-likely-changed.png")
    assert _likely(app)["state"] in ("starting", "running")
    note = app.locator(".likely-restarted").inner_text()
    assert "of 1000 runs were done" in note and "runs started again with the new settings" in note
    # The field may be drawn again as the restarted runs report progress: type until the runs
    # in progress are the 10 asked for (the 1000 of six rounds can finish in seconds).
    for _ in range(3):
        type_into(app, "likely-runs", "10")
        try:
            app.wait_for_function(
                "() => document.querySelector('.likely-status')?.dataset.total === '10'",
                timeout=10_000,
            )
            break
        except PlaywrightTimeout:
            continue
    app.wait_for_function(
        "() => { const s = document.querySelector('.likely-status')?.dataset;"
        " return s && s.total === '10' && s.state === 'done'; }",
        timeout=120_000,
    )
    fan = app.locator(".likely-fan-view svg.chart-fan")
    fan.locator("g.fan-panel").first.wait_for()
    app.locator(".likely-chances-view svg.chart-chances").wait_for()
    titles = [
        t for t in fan.locator("g.fan-panel").evaluate_all("gs => gs.map(g => g.dataset.title)")
    ]
    assert any(t.startswith("World price: ") for t in titles), titles
    assert "Fiscal cost of the floors, $bn a year" in titles and "Bloc size, members" in titles
    assert fan.locator("polygon.fan-band").count() == len(titles)
    assert fan.locator("polyline.fan-this-run").count() >= len(titles)
    chances = app.locator(".likely-chances-view svg.chart-chances")
    assert chances.locator("g.chance[data-key=holds]").count() == 1
    assert chances.locator("g.chance[data-key=japan]").count() == 1
    assert app.locator(".likely-outcomes tr[data-members]").count() >= 1
    text = app.locator(".likely-text").inner_text()
    assert "Out of 10 simulated runs with these settings and different random draws" in text
    assert not charts_ok(app)
    app.screenshot(path=screenshot_dir / "app-likely.png", full_page=True)
    seed = app.locator(".structural-seed input").input_value()
    app.locator(".likely-redraw").click()
    app.wait_for_function(
        f"() => document.querySelector('.structural-seed input').value !== '{seed}'"
    )
    assert current_round(app) == 1
    assert _likely(app)["state"] == "done"  # the runs have their own draws: not started again


def test_going_back_shows_a_past_round_and_now_follows_the_run(app, screenshot_dir):
    """The round slider: the network, the header and Why? of a past round, from the run's
    records; the run is not touched (a Step still plays the next round); the Prices chart marks
    the round shown; Now follows the run again."""
    step(app, 4)
    # the field follows the round played: typed into before it shows round 4, the 4 arriving
    # would replace what was typed
    wait_field(app, "round-shown-number", "4")
    type_into(app, "round-shown-number", "2")
    wait_round(app, 2)
    wait_consistent(app)  # the network, the timeline and the statuses: round 2
    back = app.locator(".bloc-looking-back")
    assert "the run is at round 4" in back.inner_text()
    app.locator(".round-shown-track [role=slider]").focus()  # by keyboard too
    app.keyboard.press("ArrowLeft")
    wait_round(app, 1)
    wait_consistent(app)
    app.locator(".bloc-step").click()  # the run goes on: round 5, the view stays in round 1
    app.wait_for_function(
        "() => document.querySelector('.bloc-looking-back')?.innerText.includes('round 5')"
    )
    assert current_round(app) == 1
    open_tab(app, "Why?")
    app.wait_for_function("() => document.querySelector('.bloc-why')?.dataset.round === '1'")
    open_tab(app, "Prices")
    marker = app.locator(".chart-prices-view .shown-marker").first
    marker.wait_for()
    assert marker.get_attribute("data-shown-round") == "1"
    assert app.locator(".chart-prices-view svg").get_attribute("data-round") == "5"
    app.screenshot(path=screenshot_dir / "app-going-back.png")
    app.locator(".round-shown-now").click()
    wait_round(app, 5)
    assert app.locator(".bloc-looking-back").count() == 0
    # one marker a chart panel: wait until there is none (a locator waits for one element)
    app.wait_for_function("() => !document.querySelector('.chart-prices-view .shown-marker')")
    step(app)  # following the run again
    assert current_round(app) == 6
    assert not charts_ok(app)


def test_compare_pins_a_changes_a_lever_and_overlays_b(app, screenshot_dir):
    """Pin as A, a lever changed, Setup/Reset and play B: A and B overlaid and the differences
    at the end in a table, each run's settings named; Unpin clears it."""
    step(app, 4)
    open_tab(app, "Compare")
    app.locator(".compare-empty").wait_for()
    app.locator(".compare-pin").click()
    app.locator(".compare-view svg").wait_for()
    type_into(app, "lever-penalty-number", "100")
    reset(app)
    step(app, 4)  # the tariff wall: the US leaves in round 6 of seed 0, so play on
    step(app, 2)
    app.wait_for_function(
        "() => document.querySelector('.compare-view svg')?.dataset.round === '6'"
    )
    for series in ("n_members_A", "n_members_B", "fiscal_cost_A", "fiscal_cost_B"):
        assert app.locator(f".compare-view polyline[data-series={series}]").count() >= 1
    b = "B (on screen): seed 0 · rounds 0-6 of 36 · outsider penalty 100%"
    app.locator(".compare-settings", has_text=b).wait_for()  # drawn with the table, after the chart
    settings = app.locator(".compare-settings").inner_text()
    assert "A (pinned): seed 0 · rounds 0-4 of 36 · outsider penalty 5%" in settings
    # (the table is drawn after the chart: wait for it too, not only for the chart's round)
    app.locator(".compare-table", has_text="At the end: A in round 4, B in round 6").wait_for()
    members_row = app.locator(".compare-table .compare-members").inner_text()
    assert "in A only: United States" in members_row
    assert app.locator(".compare-table tr[class^=compare-world_price_]").count() == len(
        REFERENCE_PRICES
    )
    assert app.locator(".compare-table .compare-fiscal_cost").count() == 1
    app.screenshot(path=screenshot_dir / "app-compare.png")
    assert not charts_ok(app)
    app.locator(".compare-unpin").click()
    app.locator(".compare-empty").wait_for()
    assert app.locator(".compare-view").count() == 0


# ----------------------------------------------------------------------------------------------
# Opening a saved scenario file


def _lever_fields(page) -> dict[str, str]:
    """What the lever fields show (Japan's weights and patience: its country button pressed)."""
    page.locator(".country-japan").click()
    page.locator(".country-japan[aria-pressed=true]").wait_for()
    fields = ["lever-floor-lithium", "lever-floor-graphite", "lever-penalty-number",
              "lever-aggressiveness-number", "lever-patience-number",
              "lever-weight-supply_security-number"]  # fmt: skip
    return {f: page.locator(f".{f} input").input_value() for f in fields}


def _open_file(page, path: Path, state: str) -> str:
    """Choose `path` in the Open a scenario file input; the message once it says `state`."""
    page.locator(".open-scenario input[type=file]").set_input_files(str(path))
    message = page.locator(f".open-scenario-message[data-state={state}]", has_text=path.name)
    message.wait_for(timeout=60_000)
    return message.inner_text()


def test_a_saved_scenario_file_opens_in_the_app_and_a_bad_one_changes_nothing(
    app, tmp_path, screenshot_dir
):
    """Export the settings of a run, open the file again: a new run from it, whose levers, played
    to the round it was saved at, are those of the saved run (so are its members). A malformed
    file is refused with a message naming the file, the field and what is wrong, an oversize
    one before it is read, and either way the run on screen goes on untouched."""
    type_into(app, "lever-penalty-number", "100")
    type_floor(app, "graphite", 900)
    app.locator(".country-japan").click()
    app.locator(".country-japan[aria-pressed=true]").wait_for()  # its fields drawn
    type_into(app, "lever-patience-number", "9")
    app.locator(".bloc-pending").first.wait_for()
    step(app, 2)
    saved, saved_members = _lever_fields(app), members(app)
    open_tab(app, "Export")
    path = download(app, "download-scenario", tmp_path)
    app.locator(".levers-restore").click()  # the scenario's own levers, and a new run
    reset(app)
    wait_field(app, "lever-penalty-number", "5")

    message = _open_file(app, path, "opened")
    assert f"Opened {path.name}" in message
    wait_round(app, 0)
    assert f"opened from {path.name}" in app.locator(".bloc-run").inner_text()
    assert f"file: {path.name}" in app.locator(".structural-scenario").inner_text()
    assert app.locator(".structural-hint").inner_text() == "Act on Setup/Reset."
    step(app, 2)  # its lever changes act from round 1, as they did
    app.wait_for_function(
        "() => document.querySelector('.lever-penalty-number input')?.value === '100'"
    )
    assert _lever_fields(app) == saved and members(app) == saved_members
    app.screenshot(path=screenshot_dir / "app-opened-file.png")

    good = path.read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(re.sub(r"(?m)^outsider_penalty = .*$", "outsider_penalty = 5.0", good))
    huge = tmp_path / "huge.toml"
    huge.write_text(good + "# padding\n" * 30_000)  # about 320 KB
    for bad, words in (
        (broken, ["broken.toml: policy.outsider_penalty:", "less than or equal to 2"]),
        (huge, ["huge.toml: the file is", "at most 256 KB"]),
    ):
        before = (current_round(app), members(app), _lever_fields(app))
        message = _open_file(app, bad, "refused")
        assert f"Not opened: {bad.name}. The run on screen goes on" in message
        for w in words:
            assert w in message, message
        assert (current_round(app), members(app), _lever_fields(app)) == before  # nothing lost
        assert f"opened from {path.name}" in app.locator(".bloc-run").inner_text()
        app.screenshot(path=screenshot_dir / f"app-refused-{bad.stem}.png")
    step(app)  # and it plays on from where it was
    assert current_round(app) == 3


# ----------------------------------------------------------------------------------------------
# Accessibility


#: A view of each tab, drawn once the tab is open.
AUDITED_VIEWS = {
    "Bloc": ".network-view svg",
    "Prices": ".chart-prices-view svg",
    "Why?": ".bloc-why",
    "Events": ".bloc-events",
    "Export": ".download-scenario",
    "Compare": ".compare-pin",
}


def test_every_control_has_a_name_and_the_keyboard_reaches_play_step_and_the_levers(
    app, screenshot_dir
):
    """Each input, slider, select and button has an accessible name (chromium's own computation:
    a label, an aria-label or its text); Tab alone reaches Play, Step, the lever fields, the
    sliders and the file input, and the keyboard plays a round and changes levers; toggles say
    which is pressed (aria-pressed), not by their shade alone."""
    step(app)
    assert app.locator(".instrument-border").get_attribute("aria-pressed") == "true"
    assert app.locator(".instrument-price_gap").get_attribute("aria-pressed") == "false"

    # from the top of the page, by keyboard alone
    app.evaluate("() => document.activeElement?.blur()")
    app.locator(".bloc-controls").get_by_text("critical-minerals bloc").click()  # Tab: from here
    tab_to(app, "bloc-play")
    tab_to(app, "bloc-step")
    app.keyboard.press("Enter")
    wait_round(app, 2)
    tab_to(app, "lever-floor-lithium")
    app.keyboard.press("Control+A")
    app.keyboard.type("90000")
    app.keyboard.press("Enter")
    wait_field(app, "lever-floor-lithium", "90,000")
    tab_to(app, "instrument-price_gap")
    app.keyboard.press("Enter")
    app.locator(".instrument-price_gap[aria-pressed=true]").wait_for()
    tab_to(app, "lever-penalty-track")
    assert focused(app)[1] == "slider"
    app.keyboard.press("ArrowRight")  # 5% -> 10%
    wait_field(app, "lever-penalty-number", "10")
    tab_to(app, "lever-penalty-number")
    tab_to(app, "lever-patience-track")
    tab_to(app, "lever-patience-number")
    tab_to(app, "structural-seed")
    tab_to(app, "open-scenario")  # its folder icon (a button), then the file input itself
    for _ in range(3):
        if focused(app)[1] == "file":
            break
        app.keyboard.press("Tab")
    assert focused(app)[1] == "file" and "open-scenario" in focused(app)[3].split()
    pending = app.locator(".bloc-pending").first.inner_text()
    assert "act from round 3" in pending
    for lever in ("floors", "instrument", "outsider penalty"):
        assert lever in pending
    app.screenshot(path=screenshot_dir / "app-keyboard.png")

    for tab, view in AUDITED_VIEWS.items():  # Compare last: the tab bar scrolls to it
        open_tab(app, tab)
        app.locator(view).first.wait_for()
        if tab == "Compare":
            app.locator(".compare-pin").click()
            app.locator(".compare-unpin").wait_for()
        assert unnamed_controls(app) == [], tab

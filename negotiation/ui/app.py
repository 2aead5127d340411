"""The Bloc web app: a Solara page to watch the bloc form or fracture, NetLogo-style.

Run it with `bloc app` (http://127.0.0.1:8765). Each browser tab gets its own `Session` (one model,
never shared: `solara.use_memo` inside `Page`), and the page renders only from immutable
`Snapshot`s of it, so Play can step the model on a thread while the page is drawn.

Controls (left; a drawer on a phone): Setup/Reset, Play/Pause, Step, speed; live levers (act from
the next round, and the rounds where they changed are marked on every chart), each with a few
words of explanation (negotiation/ui/app_text.py), greyed with the reason when it can have no
effect; structural settings (scenario, seed, rounds: act on Setup/Reset). Every number is typed into
a field bounded as the scenario schema bounds it, and a refused one goes back to the value in force.
Views (right, one tab drawn at a time), under a header with a "This round" summary and a banner
when the levers differ from the scenario's: the bloc as a network with the membership timeline,
prices against floors, bloc and supplier shares of supply, money, each country's utility
decomposition and gain from staying, the event narrative, the scenario's About text with a
glossary, export, and Compare (a run pinned as A against the run on screen). Above the tabs,
Show round looks back at a past round (the header, Bloc and Why? from the run's records; the
other charts mark it) without touching the run.
"""

from __future__ import annotations

import os

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # before solara is imported

import contextlib
import hashlib
import logging
import math
import secrets
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlencode

import solara
import solara.lab
import traitlets
from ipyvuetify.extra.file_input import FileInput, load_template

from agents import SUPPLIER_STRATEGIES
from negotiation.engine.scenario import Scenario, ScenarioError, load_scenario, scenario_names
from negotiation.rules.types import COMPONENT_LABELS, LEVER_LABELS, SupplierAction, money
from negotiation.ui.app_bargaining import BargainingChart
from negotiation.ui.app_charts import STATUS_COLOURS, VERMILLION, stockpile_used
from negotiation.ui.app_charts_mpl import EXPORT_DPI, chart_image
from negotiation.ui.app_charts_svg import chances_svg, chart_svg, fan_panels, fan_svg, network_svg
from negotiation.ui.app_compare import compare_rows, compare_svg, settings_words
from negotiation.ui.app_ensemble import (
    CANCELLED,
    DONE,
    ENSEMBLE_RUNS,
    FAILED,
    HOLDS_DEFINITION,
    RUNS_BOUNDS,
    EnsembleJob,
    fan_bands,
    members_words,
    outcome_shares,
    percent,
    runs_sentence,
    settings_key,
    start_ensemble,
)
from negotiation.ui.app_state import (
    AGGRESSIVENESS_BOUNDS,
    MAX_SCENARIO_BYTES,
    OFFTAKE_SHARE_BOUNDS,
    OPENED,
    PATIENCE_BOUNDS,
    PENALTY_BOUNDS,
    ROUNDS_BOUNDS,
    SEED_BOUNDS,
    WEIGHT_BOUNDS,
    WEIGHT_LEVERS,
    Bounds,
    Levers,
    Session,
    Snapshot,
    Status,
    csv_text,
    export_name,
    floor_bounds,
    in_words,
    latest_reasons,
    levers_differing,
    mineral_label,
    read_scenario_file,
    round_summary,
    statuses,
)
from negotiation.ui.app_text import (
    AGGRESSIVENESS_HELP,
    COST_SHARING_HELP,
    OFFTAKE_SHARE_HELP,
    PARTNERS_HELP,
    aggressiveness_idle,
    cost_sharing_idle,
    floors_help,
    glossary_markdown,
    instrument_help,
    partners_idle,
    patience_help,
    penalty_help,
    seed_help,
    strategy_help,
    weights_help,
)
from negotiation.ui.ui_parts import Download

logger = logging.getLogger("bloc.app")
# Solara warns on every page load that a local http server cannot set samesite=none cookies; the
# app needs no cross-site cookie, so the warning is noise in the server log.
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

#: Delay between rounds while playing, in seconds, by the speed control's setting.
SPEEDS: dict[str, float] = {
    "slowest": 2.0,
    "slower": 1.0,
    "normal": 0.4,
    "faster": 0.1,
    "fastest": 0.0,
}
#: The supplier's strategies an agent plays on its own (the human seat belongs to workshop mode).
SUPPLIER_CHOICES = sorted(
    n for n, s in SUPPLIER_STRATEGIES.items() if not s.classifier.get("human")
)
MIN_PAUSE = 0.02  # s: even at "fastest", clicks get a turn between rounds
INSTRUMENTS = {"border": "Border tariff", "price_gap": "Price gap", "stockpile": "Stockpile"}
COST_SHARING = {"consumption": "By consumption", "equal": "Equal shares"}
FLOOR_SCALES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
#: The sliders' usual ranges; the number field beside each takes anything the schema allows.
WEIGHT_SLIDER_MAX = 3.0
PATIENCE_SLIDER_MAX = 24
WEIGHT_TITLES = {
    "supply_security": "Weight on supply security",
    "consumer_cost": "Weight on consumer cost",
    "openness": "Weight on openness of trade",
}

CSS = """
.bloc-app { display: flex; height: 100vh; overflow: hidden; font-size: 15px; }
.bloc-controls { width: 350px; flex: none; overflow-y: auto; padding: 8px 12px 24px 12px;
  border-right: 1px solid #ddd; background: #f7f7f7; }
.bloc-main { flex: 1 1 auto; overflow-y: auto; padding: 6px 16px 24px 16px; min-width: 0; }
.bloc-controls h3 { font-size: 15px; margin: 14px 0 2px 0; }
.bloc-controls .hint { font-size: 13px; color: #555; margin: 0 0 4px 0; }
.bloc-buttons .v-btn { min-width: 0 !important; padding: 0 10px !important; }
.floor-scales .v-btn { text-transform: none; font-size: 15px; }
.bloc-header { font-size: 16px; line-height: 1.5; margin-bottom: 2px; }
.bloc-header b { font-size: 17px; }
.bloc-round { font-size: 20px; font-weight: bold; }
.bloc-summary { font-size: 15px; line-height: 1.4; margin: 2px 0; max-width: 980px; }
.bloc-pending { color: #8a4b00; font-size: 14px; }
.bloc-error { color: #b00020; font-size: 14px; white-space: pre-wrap; }
.bloc-chart { display: block; width: 100%; max-width: 980px; height: auto; }
.bloc-status td { padding: 3px 8px 3px 0; font-size: 15px; vertical-align: top; }
.bloc-status .dot { display: inline-block; width: 14px; height: 14px; border-radius: 7px;
  border: 1px solid #333; }
.bloc-events { font-size: 15px; line-height: 1.45; padding-left: 0; list-style: none; }
.bloc-events li { margin-bottom: 4px; }
.bloc-events .r { display: inline-block; min-width: 4.2em; color: #555; }
.bloc-why p { font-size: 15px; margin: 4px 0 8px 0; }
.bloc-about { max-width: 980px; font-size: 16px; }
.bloc-monitor { border-collapse: collapse; font-size: 15px; margin-top: 6px; }
.bloc-monitor caption { text-align: left; font-weight: bold; }
.bloc-monitor th, .bloc-monitor td { padding: 2px 14px 2px 0; text-align: right; }
.bloc-monitor tr th:first-child { text-align: left; }
.floor-grid { display: grid; grid-template-columns: 1fr 1fr; column-gap: 10px; row-gap: 6px;
  margin-top: 4px; }
.bloc-controls .v-btn-toggle { flex-wrap: wrap; }
.bloc-controls .v-btn-toggle .v-btn { text-transform: none; padding: 0 8px !important;
  min-width: 0 !important; font-size: 14px; }
.bloc-controls .v-input--slider { margin-top: 2px; }
.bloc-controls .take-seat { margin-top: 22px !important; }
.bloc-controls .v-label { font-size: 14px; }
.v-slider__tick-label { font-size: 12px; }
.bloc-controls .lever-help { font-size: 13px; color: #444; margin: 0 0 2px 0; line-height: 1.35; }
.bloc-controls .lever-idle-reason { font-size: 13px; color: #8a4b00; margin: 0 0 2px 0;
  line-height: 1.35; }
.bloc-controls .lever-idle .slider-track, .bloc-controls .lever-idle .slider-number,
.bloc-controls .lever-idle .slider-title, .bloc-controls .v-btn-toggle.lever-idle {
  opacity: 0.45; }
/* solara's Row carries Vuetify's d-flex (display: flex !important): outdone by specificity */
.bloc-main .bloc-phone-bar.d-flex, .bloc-controls .bloc-drawer-close { display: none !important; }
@media (max-width: 760px) {
  /* a phone: the view takes the width; the controls are a drawer over it */
  .bloc-app { display: block; height: auto; overflow: visible; }
  .bloc-main { padding: 4px 8px 24px 8px; overflow: visible; }
  .bloc-controls { display: none; }
  .bloc-app.drawer-open .bloc-controls { display: block; position: fixed; top: 0; left: 0;
    bottom: 0; width: min(360px, 92vw); z-index: 20; box-shadow: 0 0 24px rgba(0,0,0,0.35); }
  .bloc-main .bloc-phone-bar.d-flex { display: flex !important; margin: 4px 0; }
  .bloc-controls .bloc-drawer-close { display: inline-flex !important; }
  /* every tab on screen (two rows if need be), so each can be tapped without scrolling */
  .bloc-main .v-slide-group__content { flex-wrap: wrap; flex: 1 1 100%; width: 100%;
    transform: none !important; }
  .bloc-main .v-slide-group__wrapper { overflow: visible; }
  .bloc-main .v-tabs-bar { height: auto; }
  .bloc-main .v-slide-group__prev, .bloc-main .v-slide-group__next { display: none !important; }
  .bloc-main .v-tab { min-width: 0; padding: 0 10px; height: 40px; font-size: 13px; }
  .bloc-main .v-tabs-slider-wrapper { display: none; }
  .bloc-main .v-tab--active { border-bottom: 3px solid #1976d2; }
}
.bloc-controls .slider-track .v-label { display: none; }
.likely-status { font-size: 15px; margin: 6px 0; max-width: 980px; }
.likely-note { color: #8a4b00; font-size: 14px; max-width: 980px; }
.likely-text p, .likely-sentences li { font-size: 15px; line-height: 1.45; max-width: 980px; }
.likely-outcomes { border-collapse: collapse; font-size: 15px; margin: 6px 0 10px 0; }
.likely-outcomes th, .likely-outcomes td { padding: 2px 14px 2px 0; text-align: left; }
.likely-outcomes td.n { text-align: right; }
.round-shown { margin: 2px 0; }
.round-shown .round-shown-title { white-space: nowrap; }
.round-shown .round-shown-track .v-label { display: none; }
.compare-settings p { font-size: 15px; margin: 2px 0; max-width: 980px; }
.compare-table { border-collapse: collapse; font-size: 15px; margin-top: 8px; }
.compare-table caption { text-align: left; font-weight: bold; }
.compare-table th, .compare-table td { padding: 2px 14px 2px 0; text-align: right; }
.compare-table tr th:first-child { text-align: left; }
.open-scenario { margin-top: 12px; }
.open-scenario-message { font-size: 14px; white-space: pre-wrap; margin-top: 4px; }
.levers-banner { background: #fff4e0; border: 1px solid #e0b060; border-radius: 4px;
  padding: 4px 10px; margin: 4px 0; font-size: 14px; }
"""


def _warm_up() -> None:
    """Play one round of the default scenario when the server starts, so the first visitor does
    not wait for the engine's first-call costs (compiling the market clearing). The model is
    thrown away: sessions never share one."""
    try:
        Session().step()
    except Exception:  # the first real session reports any problem to its user
        logger.debug("warm-up failed", exc_info=True)


# Only in the server `bloc app` and `bloc workshop` start (they set BLOC_APP_WARM_UP=1):
# importing the module, in Python or a test, starts no thread.
if os.environ.get("BLOC_APP_WARM_UP") == "1":
    threading.Thread(target=_warm_up, name="bloc-warm-up", daemon=True).start()


def new_seed() -> int:
    """A fresh seed for the "new seed" button (the model itself never uses global random)."""
    return secrets.randbelow(1_000_000)


# ----------------------------------------------------------------------------------------------
# Small building blocks


@solara.component
def Layout(children: list = []):  # noqa: B006 - Solara's signature for layouts
    """No app bar or drawer: the page lays out its own controls and views."""
    return solara.Column(children=children, style={"padding": "0", "gap": "0"})


def field_name(what: str, bounds: Bounds) -> str:
    """A number field's accessible name: what it sets, and the unit ("The floor for Lithium,
    USD per tonne")."""
    return f"{what}, {bounds.unit}" if bounds.unit else what


@solara.component
def NumberField(
    label: str,
    value: float,
    bounds: Bounds,
    what: str,
    on_value: Callable[[float], None],
    classes: list[str],
    style: str = "",
):
    """A number typed in, taken on Enter or when the field loses focus. It never shows a value
    that is not in force: anything out of `bounds`, not a number, or empty is refused with a
    message under the field naming the allowed range, and the field goes back to `value` (the
    value in force), as it does whenever that value changes (a counter-proposal adopted). Its
    accessible name is `what` and the unit ("The outsider penalty, %"): the visible label may be
    a unit alone, beside a slider that names the lever."""
    shown = bounds.show(value)
    text = solara.use_reactive(shown)
    message = solara.use_reactive("")
    # The text in the field: as its "input" events tell it, keystroke by keystroke, or as the
    # server last set it. Not the v_model: the browser holds a widget's state updates back
    # while one is on its way, so an Enter pressed right after typing reaches the server before
    # the v_model does (which may still hold the first digit typed).
    typed_now = solara.use_ref(shown)
    # The text of the last commit when the v_model was behind it: its late arrival is no typing
    # (the field then shows the value in force again, not what was refused)
    late = solara.use_ref(None)
    widget_ref = solara.use_ref(None)  # the field's widget, as the last commit had it

    def follow_the_value_in_force() -> None:
        text.set(shown)
        typed_now.current = shown

    solara.use_effect(follow_the_value_in_force, [shown])

    def typing(widget: Any, event: str, data: Any) -> None:
        typed_now.current = "" if data is None else str(data)

    def synced(x: Any) -> None:
        x = "" if x is None else str(x)
        if x == typed_now.current:  # the server's own text (or typing that matches it)
            text.set(x)
            return
        behind, late.current = late.current, None
        if behind is not None and x == behind and widget_ref.current is not None:
            widget_ref.current.v_model = typed_now.current  # as the commit left it
            return
        text.set(x)

    def commit(widget: Any, event: str, data: Any) -> None:
        typed = typed_now.current
        if typed == shown:  # nothing typed since the value in force was shown: keep any message
            return
        behind = typed if typed != str(widget.v_model or "") else None
        widget_ref.current = widget
        try:
            x = bounds.parse(typed, what)
        except ValueError as e:
            late.current, typed_now.current = behind, shown
            widget.v_model = shown  # the value in force back first, then the message
            text.set(shown)
            message.set(f"{e}. Still in force: {shown}.")
            return
        late.current = behind
        typed_now.current = bounds.show(x)
        message.set("")
        text.set(bounds.show(x))
        if x != value:
            on_value(x)

    field = solara.v.TextField(
        label=label,
        v_model=text.value,
        on_v_model=synced,
        dense=True,
        hide_details="auto",
        error_messages=[message.value] if message.value else [],
        class_=" ".join(classes),
        style_=style,
        attributes={"aria-label": field_name(what, bounds)},
    )
    solara.v.use_event(field, "input", typing)
    solara.v.use_event(field, "keyup.enter", commit)
    solara.v.use_event(field, "focusout", commit)
    return field


@solara.component
def Svg(svg: str, classes: list[str], style: str = ""):
    return solara.HTML(tag="div", unsafe_innerHTML=svg, classes=classes, style=style)


@solara.component
def LiveChart(
    kind: str,
    snap: Snapshot,
    minerals: tuple[str, ...] = (),
    option: tuple[str, solara.Reactive[bool]] | None = None,
    shown: int | None = None,
):
    """A chart of the live run (`kind`, a key of `app_charts.CHARTS`), drawn from its spec as
    inline SVG at each round (a few milliseconds), with PNG and SVG downloads drawn from the
    same spec by matplotlib on click (and a check box for an `option` (label, reactive) on the
    same row). `shown`: a past round the page looks back at (marked on the page only)."""
    svg = solara.use_memo(
        lambda: chart_svg(kind, snap, minerals, shown), [snap.records_key, minerals, shown]
    )
    latest = solara.use_ref((snap, minerals))
    latest.current = (snap, minerals)

    def image(fmt: str, dpi: int) -> bytes:
        now, mins = latest.current
        return chart_image(kind, now, mins, None, fmt, dpi)

    Svg(svg, ["bloc-chart-view", f"chart-{kind}-view"], "max-width: 980px")
    stem = f"{snap.scenario}-seed{snap.seed}-{kind}"
    with solara.Row(gap="0", style={"align-items": "center", "flex-wrap": "wrap"}):
        Download(
            "PNG",
            f"{stem}.png",
            lambda: image("png", EXPORT_DPI),
            "image/png",
            f"download-{kind}-png",
        )
        Download(
            "SVG",
            f"{stem}.svg",
            lambda: image("svg", 100),
            "image/svg+xml",
            f"download-{kind}-svg",
        )
        if option is not None:
            solara.Checkbox(label=option[0], value=option[1], style="margin-left: 12px")


# ----------------------------------------------------------------------------------------------
# Views


@solara.component
def PhoneBar(
    drawer: solara.Reactive[bool],
    playing: bool,
    toggle_play: Callable[[], None],
    step: Callable[[], None],
):
    """On a phone (CSS shows it below 760 px only): the button that opens the controls' drawer,
    and Play and Step, so a round can be played without opening it."""
    with solara.Row(gap="4px", classes=["bloc-phone-bar", "bloc-buttons"]):
        solara.Button(
            "Controls",
            icon_name="mdi-tune",
            color="primary",
            outlined=True,
            on_click=lambda: drawer.set(not drawer.value),
            classes=["bloc-drawer-toggle"],
        )
        solara.Button(
            "Pause" if playing else "Play",
            icon_name="mdi-pause" if playing else "mdi-play",
            color="primary",
            on_click=toggle_play,
            classes=["phone-play"],
        )
        solara.Button(
            "Step",
            icon_name="mdi-skip-next",
            color="primary",
            outlined=True,
            on_click=step,
            disabled=playing,
            classes=["phone-step"],
        )


@solara.component
def LeversBanner(lv: Levers, base: Levers, names: tuple[tuple[str, str], ...], restore: Callable):
    """Says when the levers differ from the scenario's (they survive Setup/Reset, as NetLogo's
    sliders do, so a recipe tried after another one would start from the other's levers)."""
    differing = levers_differing(lv, base, dict(names))
    if not differing:
        return
    with solara.Row(
        gap="10px",
        classes=["levers-banner"],
        style={"align-items": "center", "flex-wrap": "wrap"},
    ):
        solara.Text(
            f"Levers differ from the scenario's: {', '.join(differing)}. The scenario's About "
            "and its recipes start from its own.",
            classes=["levers-banner-text"],
        )
        solara.Button(
            "Back to the scenario's",
            on_click=restore,
            icon_name="mdi-restore",
            outlined=True,
            small=True,
            classes=["levers-banner-restore"],
        )


@solara.component
def Header(snap: Snapshot, error: str):
    last = snap.last
    names = [snap.names[a] for a in snap.members]
    day = snap.round * snap.round_days
    joiners = [snap.names[a] for a in str(last["would_join"] or "").split("+") if a]
    if len(names) < 2:  # one country alone is not a bloc, whatever the stability test says
        stable = "no bloc: a bloc needs two members"
        if joiners:
            stable += f"; would gain by joining: {', '.join(joiners)}"
    elif last["internally_stable"] and last["externally_stable"]:
        stable = "stable: no member would gain by leaving, no outsider by joining"
    else:
        parts = []
        if last["would_leave"]:
            who = ", ".join(snap.names[a] for a in str(last["would_leave"]).split("+"))
            parts.append(f"would gain by leaving: {who}")
        if last["would_join"]:
            who = ", ".join(snap.names[a] for a in str(last["would_join"]).split("+"))
            parts.append(f"would gain by joining: {who}")
        stable = "; ".join(parts)
    with solara.Column(gap="0", classes=["bloc-header"]):
        with solara.Row(gap="18px", style={"align-items": "baseline", "flex-wrap": "wrap"}):
            solara.Text(f"Round {snap.round} of {snap.rounds}", classes=["bloc-round"])
            origin = (
                f" · opened from {snap.source.removeprefix(OPENED)}"
                if snap.source.startswith(OPENED)
                else ""
            )
            solara.Text(
                f"day {day} · seed {snap.seed} · {snap.title}{origin}", classes=["bloc-run"]
            )
        if snap.latest is not None:
            solara.Text(
                f"Looking back at round {snap.round}: the run is at round {snap.latest} and "
                "goes on untouched; the slider's Now follows it again.",
                classes=["bloc-looking-back"],
            )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"<b>Members ({len(names)}):</b> "
                f"<span class='bloc-members-list'>{escape(', '.join(names) or 'nobody')}</span>"
                f" <span style='color:#555'>· {escape(stable)}</span>"
            ),
            classes=["bloc-members"],
            attributes={"data-members": "+".join(snap.members), "data-round": str(snap.round)},
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<b>This round:</b> {escape(round_summary(snap))}",
            classes=["bloc-summary"],
            attributes={"data-round": str(snap.round)},
        )
        if snap.pending:
            words = ", ".join(LEVER_LABELS.get(p, p) for p in snap.pending)
            solara.Text(
                f"Changed levers act from round {snap.run_round + 1}: {words}",
                classes=["bloc-pending"],
            )
        if snap.finished:
            solara.Text("The run is over: Setup/Reset starts a new one.", classes=["bloc-pending"])
        if error:
            solara.Text(error, classes=["bloc-error"])


def _status_table(snap: Snapshot, st: dict[str, Status]) -> str:
    rows = []
    for a in snap.countries:
        s = st[a]
        ring = f"box-shadow: 0 0 0 3px {VERMILLION};" if s.leaning else ""
        margin = f" Gain from staying in: {money(s.margin)} a year." if s.margin is not None else ""
        rows.append(
            f"<tr class='status-{escape(a)}' data-kind='{s.kind}'>"
            f"<td><span class='dot' style='background:{STATUS_COLOURS[s.kind]};{ring}'></span></td>"
            f"<td><b>{escape(snap.names[a])}</b></td><td>{s.kind}: {escape(s.note)}.{margin}</td>"
            "</tr>"
        )
    return f"<table class='bloc-status' data-round='{snap.round}'>" + "".join(rows) + "</table>"


@solara.component
def BlocView(snap: Snapshot):
    key = snap.records_key
    st = solara.use_memo(lambda: statuses(snap), [key])
    net = solara.use_memo(lambda: network_svg(snap, st), [key])
    timeline = solara.use_memo(lambda: chart_svg("timeline", snap), [key])
    table = solara.use_memo(lambda: _status_table(snap, st), [key])
    latest = solara.use_ref(snap)
    latest.current = snap
    stem = f"{snap.scenario}-seed{snap.seed}"
    with solara.Row(gap="12px", style={"flex-wrap": "wrap", "align-items": "flex-start"}):
        Svg(net, ["network-view"], "flex: 0 1 460px; min-width: 300px")
        solara.HTML(
            tag="div",
            unsafe_innerHTML=table,
            classes=["status-view"],
            style="flex: 1 1 380px",
        )
    Svg(timeline, ["timeline-view"], "max-width: 980px")
    with solara.Row(gap="0"):
        Download(
            "Network SVG",
            f"{stem}-network.svg",
            lambda: network_svg(latest.current, statuses(latest.current)),
            "image/svg+xml",
            "download-network-svg",
        )
        Download(
            "Timeline SVG",
            f"{stem}-membership.svg",
            lambda: chart_svg("timeline", latest.current),
            "image/svg+xml",
            "download-timeline-svg",
        )
        Download(
            "Timeline PNG",
            f"{stem}-membership.png",
            lambda: chart_image("timeline", latest.current, fmt="png", dpi=EXPORT_DPI),
            "image/png",
            "download-timeline-png",
        )


def _fmt(x: float, kind: str) -> str:
    """A monitor's number: "–" rather than "nan" when there is none."""
    if x is None or not math.isfinite(float(x)):
        return "–"
    if kind == "usd":
        return f"${x:,.0f}" if x > 0 else "no floor"
    if kind == "share":
        return f"{100 * x:.1f} %"
    return f"${x / 1e9:,.2f}bn"


def _monitor_html(snap: Snapshot, columns: list[tuple[str, str, str]], rows: list[str]) -> str:
    """NetLogo-style monitors: this round's values, one row per mineral (or one row)."""
    last = snap.last
    head = "".join(f"<th>{escape(title)}</th>" for title, _, _ in columns)
    body = []
    for m in rows:
        label = snap.mineral_names.get(m, m).split(" (")[0]
        cells = "".join(
            f"<td data-key='{key.format(m=m)}'>{_fmt(last[key.format(m=m)], kind)}</td>"
            for _, key, kind in columns
        )
        body.append(f"<tr><th>{escape(label)}</th>{cells}</tr>")
    return (
        f"<table class='bloc-monitor' data-round='{snap.round}'><caption>Round {snap.round}"
        f"</caption><tr><th></th>{head}</tr>{''.join(body)}</table>"
    )


MONITORS = {
    "prices": [
        ("floor", "floor_{m}", "usd"),
        ("world price", "world_price_{m}", "usd"),
        ("bloc price", "bloc_price_{m}", "usd"),
    ],
    "supply": [
        ("bloc members' share", "bloc_share_{m}", "share"),
        ("supplier's share", "supplier_share_{m}", "share"),
    ],
}


@solara.component
def MineralsView(snap: Snapshot, kind: str, shown: int | None = None):
    everything = solara.use_reactive(False)
    floored = tuple(snap.floored()) or snap.minerals[:4]
    minerals = snap.minerals if everything.value else floored
    option = ("all minerals, not only those with a floor", everything)
    LiveChart(kind, snap, minerals, option=option, shown=shown)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=_monitor_html(snap, MONITORS[kind], list(minerals)),
        classes=[f"monitor-{kind}"],
    )


@solara.component
def MoneyView(snap: Snapshot, shown: int | None = None):
    LiveChart("money", snap, shown=shown)
    columns = [
        ("fiscal cost a year", "fiscal_cost", "bn"),
        ("tariff revenue a year", "tariff_revenue", "bn"),
    ]
    used = stockpile_used(snap)
    if used:
        columns.append(("stockpile fund", "stockpile_fund", "bn"))
        columns.append(("stock held, at its book value", "stock_value", "bn"))
    html = _monitor_html(snap, columns, ["the bloc"])
    solara.HTML(tag="div", unsafe_innerHTML=html, classes=["monitor-money"])
    if not used:
        solara.Text(
            "The stockpile fund is not shown: the instrument has not been the stockpile in "
            "this run, so the fund has not moved.",
            classes=["money-no-stockpile"],
        )


def _now_sentence(snap: Snapshot, status: Status) -> str:
    """Where a member stands in the round shown, so that an old decision cited above it is not
    read as today's reason (the header may say it would gain by leaving)."""
    if status.kind != "member" or status.margin is None:
        return ""
    now = f"Now, in round {snap.round}, "
    if status.margin >= 0:
        return now + f"staying in is worth {money(status.margin)} a year to it."
    patience = snap.patience(status.actor)  # the round shown's, not the lever's value now
    later = snap.levers.patience.get(status.actor)
    pending = (
        f" (from round {snap.round + 1}: {later} rounds, as changed)"
        if snap.latest is None and later is not None and later != patience
        else ""
    )
    return (
        now + f"its gain from staying in is {money(status.margin)} a year: in this round's "
        "markets it would gain by leaving. It leaves once it has expected to do better outside "
        "over its horizon, the cost of leaving counted, for longer than its patience"
        + (f" ({patience} rounds){pending}." if patience is not None else ".")
    )


def _why_html(snap: Snapshot) -> str:
    """Each country's "why is it in (out)?": its last decision and what drove it, and for a
    member where it stands in the round shown."""
    st = statuses(snap)
    reasons = latest_reasons(snap)
    paragraphs = []
    for a in snap.countries:
        inside = st[a].kind == "member"
        reason = reasons.get(a) or (
            "A member from the start: it opened the bloc." if inside else "No decision yet."
        )
        now = _now_sentence(snap, st[a])
        paragraphs.append(
            f"<p class='why-{escape(a)}'><b>Why is {escape(snap.names[a])} "
            f"{'in' if inside else 'out'}?</b> {escape(reason)}"
            + (f" <span class='why-now'>{escape(now)}</span>" if now else "")
            + "</p>"
        )
    return "".join(paragraphs)


@solara.component
def WhyView(snap: Snapshot):
    LiveChart("utility", snap)
    LiveChart("gains", snap)
    solara.Text(
        "The lines: each member's gain from staying in rather than leaving alone, round by "
        "round, in that round's markets. Below zero it would gain by leaving that round; it "
        "leaves once it has expected to do better outside over its horizon (as it forecasts "
        "it, the cost of leaving counted) for longer than its patience."
    )
    why = solara.use_memo(lambda: _why_html(snap), [snap.records_key])
    solara.HTML(
        tag="div",
        unsafe_innerHTML=why,
        classes=["bloc-why"],
        attributes={"data-round": str(snap.round)},
    )
    solara.Text(
        "Bars: each part of the country's yearly payoff this round, as it weighs it "
        "(green, to the right of 0, helps; hatched vermillion, to the left, hurts). The "
        "sentences give the last decision and what drove it: the change from joining (or "
        "staying) against staying out; for a member, where it stands now."
    )


@solara.component
def RoundSlider(run_round: int, back: int | None, look_back: Callable[[int | None], None]):
    """Going back: the round the network, the header and Why? show, 0 to the round played (a
    slider, and a field to type it in); `back` is the round looked back at (None: now). "Now"
    (or the slider at its right end) follows the run again. Looking back reads the run's
    records only: the run itself is not touched."""
    shown = run_round if back is None else back

    def pick(x: float) -> None:
        look_back(None if int(x) >= run_round else int(x))

    bounds = Bounds(0, max(run_round, 0), integer=True, unit="rounds")
    with solara.Row(
        gap="10px", classes=["round-shown"], style={"align-items": "center", "max-width": "980px"}
    ):
        solara.Text("Show round", classes=["round-shown-title"])
        solara.v.Slider(
            label="Show round",
            v_model=shown,
            on_v_model=pick,
            min=0,
            max=max(run_round, 1),
            step=1,
            disabled=run_round == 0,
            hide_details=True,
            class_="round-shown-track",
            style_="flex: 1 1 auto; min-width: 120px",
        )
        NumberField(
            "round",
            shown,
            bounds,
            "The round shown",
            pick,
            classes=["round-shown-number"],
            style="flex: 0 0 70px; max-width: 70px",
        )
        solara.Button(
            "Now",
            icon_name="mdi-page-last",
            outlined=True,
            small=True,
            disabled=back is None,
            on_click=lambda: look_back(None),
            classes=["round-shown-now"],
        )


def _compare_table(a: Snapshot, b: Snapshot) -> str:
    rows = compare_rows(a, b)
    body = "".join(
        f"<tr class='compare-{escape(r.key)}'><th>{escape(r.label)}</th>"
        f"<td class='a'>{escape(r.a_text)}</td><td class='b'>{escape(r.b_text)}</td>"
        f"<td class='diff'>{escape(r.diff_text)}</td></tr>"
        for r in rows
    )
    return (
        f"<table class='compare-table'><caption>At the end: A in round {a.round}, "
        f"B in round {b.round}</caption><tr><th></th><th>A (pinned)</th><th>B (on screen)</th>"
        f"<th>B against A</th></tr>{body}</table>"
    )


@solara.component
def CompareView(snap: Snapshot, pinned: solara.Reactive[Snapshot | None]):
    """Pin the run on screen as A, change levers, play B: A and B overlaid, and the differences
    at the end in a table, with each run's settings named."""
    a = pinned.value
    with solara.Row(gap="8px", style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.Button(
            "Pin as A" if a is None else "Pin this run as A instead",
            icon_name="mdi-pin",
            color="primary",
            outlined=True,
            on_click=lambda: pinned.set(snap),
            classes=["compare-pin"],
        )
        if a is not None:
            solara.Button(
                "Unpin",
                icon_name="mdi-pin-off",
                text=True,
                on_click=lambda: pinned.set(None),
                classes=["compare-unpin"],
            )
    if a is None:
        solara.HTML(
            tag="p",
            unsafe_innerHTML=(
                "Nothing pinned. <b>Pin as A</b> keeps the run on screen as it is now (its "
                "records, to the round played). Then change levers (or the seed), press "
                "Setup/Reset and play: this tab draws A against the new run, B, and lists the "
                "differences at the end. Keep the seed to compare two settings on the same luck."
            ),
            classes=["compare-empty"],
        )
        return
    CompareResults(a, snap)


@solara.component
def CompareResults(a: Snapshot, snap: Snapshot):
    """A (pinned) against B (the run on screen): settings, overlay and table, drawn again only
    when B's records (or its levers, for the settings) change."""
    key = [id(a), snap.records_key]
    svg = solara.use_memo(lambda: compare_svg(a, snap), key)
    table = solara.use_memo(lambda: _compare_table(a, snap), key)
    words = solara.use_memo(lambda: settings_words(a, snap), [*key, snap.levers])
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f"<p><b>A (pinned):</b> {escape(words[0])}</p>"
            f"<p><b>B (on screen):</b> {escape(words[1])}</p>"
        ),
        classes=["compare-settings"],
    )
    Svg(svg, ["compare-view"], "max-width: 980px")
    solara.HTML(tag="div", unsafe_innerHTML=table, classes=["compare-table-view"])


@solara.component
def BargainingView(session: Session, snap: Snapshot):
    """The bargaining space of the package on the table (computed only while the tab is open,
    once a round): two parties' gains over no deal for each alternative."""
    df = solara.use_memo(session.bargaining, [snap.records_key])
    if len(df.attrs["parties"]) < 2:
        solara.Text(
            "Fewer than two parties at the table this round (members and invitees): there is "
            "nothing to bargain over.",
            classes=["bargaining-none"],
        )
    else:
        BargainingChart(df)


#: The events of every round, behind the Events tab's checkbox: the supplier's moves (a
#: surprise is not one of them: it is drawn, and shown) and the stock they release.
ROUTINE_EVENTS = [*(a.value for a in SupplierAction if a is not SupplierAction.NORMAL),
                  "stock_released"]  # fmt: skip


@solara.component
def EventsView(snap: Snapshot):
    everything = solara.use_reactive(False)
    ev = snap.events_df
    if not everything.value:
        # everything but what comes every round: the supplier's moves and the stock they
        # release (a convener's tabled package, closures, restarts and surprises stay)
        ev = ev[~ev["kind"].isin(ROUTINE_EVENTS)]
    solara.Checkbox(
        label="include the supplier's moves every round (and the stock they release)",
        value=everything,
    )
    items = [
        f"<li class='event-{escape(str(e.kind))}'><span class='r'>round {int(e.round)}</span>"
        f"{escape(in_words(str(e.text), snap) if e.actor == snap.supplier else str(e.text))}</li>"
        for e in ev.iloc[::-1].head(150).itertuples()
    ]
    if not items:
        items = ["<li>Nothing has happened yet: press Step or Play.</li>"]
    solara.HTML(
        tag="ul",
        unsafe_innerHTML="".join(items),
        classes=["bloc-events"],
        attributes={"data-round": str(snap.round)},
    )


@solara.component
def AboutView(snap: Snapshot):
    a = snap.about
    how_to_use = (
        "**Setup/Reset** starts a new run from the structural settings (scenario, seed, "
        "rounds). **Step** plays one round; **Play** plays rounds until the end or until you "
        "press **Pause**; the speed control sets the pause between rounds. The **live levers** "
        "act from the next round, and every chart marks with a dashed line the rounds where they "
        "changed. As in NetLogo, the levers keep their values across Setup/Reset, and "
        "*All levers back to the scenario's* restores them. **Export** saves the run as CSV "
        "and the settings as a scenario file that `bloc run FILE` replays exactly, and "
        "*Open a scenario file* (under the structural settings) opens it here again. Every "
        "control is reached with Tab; Enter takes a number typed, the arrow keys move a slider."
    )
    md = "\n\n".join(
        [
            f"# {snap.title}",
            "## What is it?",
            a.get("what_is_it", ""),
            "## How it works",
            a.get("how_it_works", ""),
            "## How to use it",
            how_to_use,
            "## Things to notice",
            a.get("things_to_notice", ""),
            "## Things to try",
            a.get("things_to_try", ""),
            "## Glossary",
            glossary_markdown(),
        ]
    )
    with solara.Column(classes=["bloc-about"]):
        solara.Markdown(md)


@solara.component
def ExportView(session: Session, snap: Snapshot):
    latest = solara.use_ref(snap)
    latest.current = snap
    solara.Markdown(
        "The run so far, as `bloc run --out` writes it: one row per round, one per actor per "
        "round, one per event."
    )
    with solara.Row(gap="0", style={"flex-wrap": "wrap"}):
        for table in ("rounds", "actors", "events"):
            Download(
                f"{table}.csv",
                export_name(snap, table),
                lambda t=table: csv_text(getattr(latest.current, f"{t}_df")),
                "text/csv",
                f"download-{table}-csv",
            )
    name = f"{snap.scenario}-seed{snap.seed}.toml"
    solara.Markdown(
        f"The settings as a scenario file: the opening levers, every lever you changed and when, "
        f"the seed and the number of rounds. `bloc run {name} --rounds {snap.round}` replays "
        f"this run to the round shown; without `--rounds` it plays all {snap.rounds}."
    )
    Download(
        "scenario file (.toml)",
        name,
        lambda: session.scenario_file()[1],
        "application/toml",
        "download-scenario",
    )
    solara.Markdown("Each chart has its own PNG and SVG buttons under it.")


@dataclass
class Likely:
    """The tab's ensemble, one per browser tab: kept when another tab is shown, so that coming
    back to the same settings shows it at once. `dropped`: (runs done, runs asked, settings key)
    of the last ensemble stopped before it finished."""

    job: EnsembleJob | None = None
    dropped: tuple[int, int, str] | None = None


def likely_minerals(snap: Snapshot) -> tuple[str, ...]:
    """The minerals with a floor in the levers now, else those with a floor in the run, else
    the first four."""
    now = tuple(m for m in snap.minerals if snap.levers.floors.get(m, 0) > 0)
    return now or tuple(snap.floored()) or snap.minerals[:4]


def _outcomes_html(snap: Snapshot, shares: list[tuple[str, float, int]], n: int) -> str:
    rows = "".join(
        f"<tr data-members='{escape(m)}'><td>{escape(members_words(m, snap.names, snap.countries))}"
        f"</td><td class='n'>{k}</td><td class='n'>{escape(percent(p))}</td></tr>"
        for m, p, k in shares[:6]
    )
    more = len(shares) - 6
    tail = f"<caption style='caption-side: bottom'>and {more} more</caption>" if more > 0 else ""
    return (
        "<table class='likely-outcomes'><caption style='text-align:left'><b>The most likely "
        f"final memberships</b> (members after the last round, out of {n} runs)</caption>"
        "<tr><th>members at the end</th><th>runs</th><th>share</th></tr>"
        f"{rows}{tail}</table>"
    )


def _meaning_html(snap: Snapshot, n: int, holds: float) -> str:
    changed = [r for r in snap.lever_rounds if r > 0]
    paragraphs = [
        f"<b>What a probability means here.</b> {runs_sentence(n)}, {percent(holds)} ended with "
        f"{HOLDS_DEFINITION}. Each run plays all {snap.rounds} rounds of <i>{escape(snap.title)}"
        "</i> with agents at every seat and the levers as they are now, from round 1; the runs "
        "differ only in their random draws: outages at mines and refineries, swings in demand, "
        "the supplier's surprise export controls, each country's forecast errors, who answers "
        "first within a round and any random strategy. A share is a count of runs, not a "
        "forecast of the world: it is as good as the model's assumptions about that luck. In a "
        "scenario that draws no outages, swings or surprises, every run tends to tell the same "
        "story and the shares are 0% or 100%.",
        "The runs start again whenever a lever, the number of runs or the run's scenario or "
        "number of rounds (on Setup/Reset) changes: the runs in progress stop, and the view "
        "shows only runs of the settings in force. A new seed does not restart them: they have "
        "their own draws. <i>Same settings, another draw</i> plays the run on screen again "
        "with a new seed, to the round it had reached (to the end from round 0).",
    ]
    if changed:
        paragraphs.append(
            f"The run on screen changed levers during the run (round {', '.join(map(str, changed))}"
            "); these runs have the levers as they are now from the start, so it is not one of "
            "their draws. <i>Same settings, another draw</i> plays one that is."
        )
    return "".join(f"<p>{p}</p>" for p in paragraphs)


@solara.component
def LikelyView(
    snap: Snapshot,
    likely: Likely,
    runs: solara.Reactive[int],
    redraw: Callable[[], None],
    opened: Scenario | None = None,
):
    """How likely is this? An ensemble of the settings on screen, run in the background with a
    progress bar and restarted when they change: fan charts of the runs round by round with the
    run on screen over them, and the chance of each outcome. `opened`: the scenario of the run on
    screen when it is a file opened in the app (else its name is enough)."""
    n = int(runs.value)
    kwargs = snap.levers.kwargs()
    # a file opened again under the same name is another scenario: told apart by its object
    # (which the job started on it keeps alive, so that its id is not reused meanwhile)
    source = snap.source or snap.scenario
    key = settings_key(f"{source}@{id(opened)}" if opened else source, snap.rounds, kwargs, n)
    current = solara.use_reactive(likely.job)
    tick = solara.use_reactive(0)
    tick.value  # noqa: B018 - read, so that the page redraws when the job moves

    def launch() -> Callable[[], None]:
        job = likely.job
        if job is None or job.key != key or job.state in (CANCELLED, FAILED):
            job = likely.job = start_ensemble(
                key,
                opened if opened is not None else snap.scenario,
                n,
                rounds=snap.rounds,
                kwargs=kwargs,
            )
        current.set(job)

        def stop() -> None:  # the settings changed, or the tab was left
            if not job.finished:
                job.cancel()
                likely.dropped = (job.done, job.total, key)

        return stop

    solara.use_effect(launch, [key])
    job = current.value

    def follow(cancel: threading.Event) -> None:
        """Redraw as the job moves, at most five times a second, until it has finished."""
        if job is not None:
            job.follow(tick.set, cancel)

    solara.use_thread(follow, dependencies=[job], intrusive_cancel=False)

    solara.HTML(tag="h3", unsafe_innerHTML="How likely is this?", classes=["likely-title"])
    solara.Text(
        f"The settings on screen played {n} times with different random draws, agents at every "
        "seat: how often each outcome comes up.",
        classes=["likely-intro"],
    )
    with solara.Row(gap="12px", style={"align-items": "center", "flex-wrap": "wrap"}):
        NumberField(
            "Runs",
            n,
            RUNS_BOUNDS,
            "The number of runs",
            lambda x: runs.set(int(x)),
            classes=["likely-runs"],
            style="flex: 0 0 110px; max-width: 110px",
        )
        solara.Button(
            "Same settings, another draw",
            icon_name="mdi-dice-multiple",
            color="primary",
            outlined=True,
            on_click=redraw,
            classes=["likely-redraw"],
        )
    ours = job is not None and job.key == key
    state = job.state if ours else "starting"
    done, total = (job.done, job.total or n) if ours else (0, n)
    dropped = likely.dropped
    if job is not None and not ours and not job.finished:  # being stopped as this is drawn
        dropped = (job.done, job.total, job.key)
    if dropped is not None and dropped[2] != key and state != DONE:
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"The settings changed while {dropped[0]} of {dropped[1]} runs were "
            "done: those runs were stopped, and the runs started again with the new settings.",
            classes=["likely-note", "likely-restarted"],
        )
    words = {
        "starting": f"Starting {n} runs…",
        "running": f"Running: {done} of {total} runs done",
        DONE: f"{total} runs done"
        + (f" in {job.seconds:.1f} s" if ours and job.seconds is not None else ""),
        CANCELLED: "Stopped.",
        FAILED: f"The runs failed: {job.error if ours else ''}",
    }[state]
    solara.HTML(
        tag="div",
        unsafe_innerHTML=escape(words),
        classes=["likely-status", *(["bloc-error"] if state == FAILED else [])],
        attributes={
            "data-state": state,
            "data-done": str(done),
            "data-total": str(total),
            "data-key": hashlib.sha1(key.encode()).hexdigest()[:10],
        },
    )
    if state in ("starting", "running"):
        solara.ProgressLinear(100 * done / max(total, 1), classes=["likely-progress"])
    if state == DONE and job is not None and job.result is not None:
        LikelyResults(snap, job.result)


@solara.component
def LikelyResults(snap: Snapshot, ens: Any):
    """A finished ensemble: fan charts with the run on screen, the chances, the meaning."""
    everything = solara.use_reactive(False)
    minerals = snap.minerals if everything.value else likely_minerals(snap)
    panels = fan_panels(dict(snap.mineral_names), minerals)
    bands = solara.use_memo(lambda: fan_bands(ens, [p.column for p in panels]), [id(ens), minerals])
    fan = solara.use_memo(
        lambda: fan_svg(panels, bands, snap.rounds_df, snap.rounds, ens.n, snap.seed),
        [id(ens), minerals, snap.records_key],
    )
    Svg(fan, ["likely-fan-view"], "max-width: 980px")
    solara.Checkbox(label="all minerals, not only those with a floor", value=everything)
    holds = float(ens.p_holds)
    p_member = ens.p_member
    rows = [("holds", "The bloc holds to the end", holds)] + [
        (a, f"{snap.names[a]} in at the end", float(p_member.get(a, float("nan"))))
        for a in snap.countries
    ]
    Svg(chances_svg(rows, ens.n), ["likely-chances-view"], "max-width: 980px")
    shares = outcome_shares(ens)
    solara.HTML(tag="div", unsafe_innerHTML=_outcomes_html(snap, shares, ens.n))
    top, p_top, _ = shares[0]
    sentences = [
        f"{runs_sentence(ens.n)}, the bloc held to the end in {percent(holds)} "
        f"({round(holds * ens.n)} runs).",
        f"The most likely end: {members_words(top, snap.names, snap.countries)}, in "
        f"{percent(p_top)} of the runs.",
    ]
    solara.HTML(
        tag="ul",
        unsafe_innerHTML="".join(f"<li>{escape(t)}</li>" for t in sentences),
        classes=["likely-sentences"],
    )
    solara.HTML(
        tag="div", unsafe_innerHTML=_meaning_html(snap, ens.n, holds), classes=["likely-text"]
    )


# ----------------------------------------------------------------------------------------------
# Controls


@solara.component
def SpeedSlider(speed: solara.Reactive[str]):
    """NetLogo's speed slider: from slowest (2 s between rounds) to fastest (no pause)."""
    names = list(SPEEDS)
    ticks = [n if n in ("slowest", "normal", "fastest") else "" for n in names]
    solara.v.Slider(
        label="Speed",
        v_model=names.index(speed.value),
        on_v_model=lambda i: speed.set(names[int(i)]),
        min=0,
        max=len(names) - 1,
        step=1,
        ticks="always",
        tick_labels=ticks,
        hide_details=True,
    )


def pressed(value: str, chosen: str) -> dict[str, Any]:
    """A toggle button's state for a screen reader (aria-pressed), not only its shade."""
    return {"attributes": {"aria-pressed": "true" if value == chosen else "false"}}


@dataclass(frozen=True)
class LeverInfo:
    """What the lever panel needs besides the levers: fixed for a run, so the panel is not drawn
    again at every round (Solara skips a component whose arguments are equal)."""

    minerals: tuple[str, ...]
    mineral_names: tuple[tuple[str, str], ...]
    countries: tuple[str, ...]
    short: tuple[tuple[str, str], ...]
    names: tuple[tuple[str, str], ...]
    scenario_levers: Levers
    floor_bounds: tuple[tuple[str, Bounds], ...]
    stockpile_fund: float  # USD: the scenario's fund, for the stockpile's explanation

    @classmethod
    def of(cls, snap: Snapshot) -> LeverInfo:
        return cls(
            snap.minerals,
            tuple(snap.mineral_names.items()),
            snap.countries,
            tuple(snap.short.items()),
            tuple(snap.names.items()),
            snap.scenario_levers,
            tuple((m, floor_bounds(p)) for m, p in snap.reference_prices.items()),
            float(snap.rounds_df["stockpile_fund"].iloc[0]),
        )


@solara.component
def LeverHelp(help_text: str, idle: str, cls: str):
    """A lever's explanation, and why it has no effect now (if it has none)."""
    if help_text:
        solara.HTML(
            tag="p", unsafe_innerHTML=escape(help_text), classes=["lever-help", f"{cls}-help"]
        )
    if idle:
        solara.HTML(
            tag="p", unsafe_innerHTML=escape(idle), classes=["lever-idle-reason", f"{cls}-idle"]
        )


@solara.component
def SliderField(
    title: str,
    value: float,
    bounds: Bounds,
    what: str,
    slider_max: float,
    step: float,
    on_value: Callable[[float], None],
    cls: str,
    help_text: str = "",
    idle: str = "",
):
    """A lever as a slider over its usual range with a number field beside it for any value the
    scenario schema allows (the slider stretches to show a larger one). Both show the value in
    force; `value` is in the model's units, the slider and field in the page's (percent for
    the penalty and aggressiveness). `idle`: why the lever has no effect now (greyed)."""
    shown = value * bounds.scale
    top = max(slider_max, shown)
    with solara.Div(classes=[cls, "slider-field", *(["lever-idle"] if idle else [])]):
        solara.Text(title, classes=["slider-title", f"{cls}-title"])
        LeverHelp(help_text, idle, cls)
        with solara.Row(gap="8px", style={"align-items": "center"}):
            solara.v.Slider(
                label=title,  # the slider's accessible name (aria-label); shown above, not here
                v_model=round(shown, 6),
                on_v_model=lambda x: on_value(float(x) / bounds.scale),
                min=bounds.low,
                max=top,
                step=step,
                hide_details=True,
                class_=f"slider-track {cls}-track",
                style_="flex: 1 1 auto; min-width: 120px",
            )
            NumberField(
                bounds.unit if bounds.unit != "rounds" else "rounds",
                value,
                bounds,
                what,
                on_value,
                classes=["slider-number", f"{cls}-number"],
                style="flex: 0 0 84px; max-width: 84px",
            )


@solara.component
def LeverControls(
    lv: Levers,
    info: LeverInfo,
    change: Callable[[str, Any], None],
    restore: Callable[[], None],
):
    names, short = dict(info.mineral_names), dict(info.short)
    country = solara.use_reactive(info.countries[0] if info.countries else "")
    if country.value not in info.countries and info.countries:
        country.set(info.countries[0])

    solara.HTML(tag="h3", unsafe_innerHTML="Live levers")
    solara.HTML(
        tag="p", unsafe_innerHTML="Act from the next round; marked on the charts.", classes=["hint"]
    )

    solara.Text("Floors, USD per tonne (0 = no floor)")
    labels = {m: mineral_label(n) for m, n in names.items()}
    LeverHelp(floors_help(info.scenario_levers.floors, labels), "", "lever-floors")
    bounds = dict(info.floor_bounds)

    def set_floor(m: str, x: float) -> None:
        change("floors", {**lv.floors, m: x})

    with solara.Div(classes=["floor-grid"]):
        for m in info.minerals:
            label = mineral_label(names[m])
            NumberField(
                label,
                lv.floors[m],
                bounds[m],
                f"The floor for {label}",
                lambda x, m=m: set_floor(m, x),
                classes=[f"lever-floor-{m}"],
            )
    base = info.scenario_levers.floors
    with solara.Row(
        gap="2px", style={"flex-wrap": "wrap"}, classes=["bloc-buttons", "floor-scales"]
    ):
        solara.Text("All floors, × the scenario's:", style={"align-self": "center"})
        for k in FLOOR_SCALES:
            solara.Button(
                f"×{k:g}",
                text=True,
                classes=[f"floors-x{k:g}".replace(".", "_")],
                on_click=lambda k=k: change("floors", {m: f * k for m, f in base.items()}),
            )

    solara.Text("Instrument")
    LeverHelp(instrument_help(lv.instrument, info.stockpile_fund), "", "lever-instrument")
    with solara.ToggleButtonsSingle(
        value=lv.instrument,
        on_value=lambda x: change("instrument", x),
        classes=["lever-instrument"],
        dense=True,
    ):
        for code, label in INSTRUMENTS.items():
            solara.Button(
                label, value=code, classes=[f"instrument-{code}"], **pressed(code, lv.instrument)
            )

    SliderField(
        f"Outsider penalty: {PENALTY_BOUNDS.show(lv.penalty)}%",
        lv.penalty,
        PENALTY_BOUNDS,
        "The outsider penalty",
        PENALTY_BOUNDS.high,
        5,
        lambda x: change("penalty", x),
        "lever-penalty",
        help_text=penalty_help(info.scenario_levers.penalty),
    )

    solara.Text("Cost sharing of floor support")
    sharing_idle = cost_sharing_idle(lv.instrument, any(f > 0 for f in lv.floors.values()))
    LeverHelp(COST_SHARING_HELP, sharing_idle, "lever-cost-sharing")
    options = dict(COST_SHARING)
    if not isinstance(lv.cost_sharing, str) or not isinstance(
        info.scenario_levers.cost_sharing, str
    ):
        options["table"] = "Scenario's table"
    current = lv.cost_sharing if isinstance(lv.cost_sharing, str) else "table"

    def set_cost_sharing(x: str) -> None:
        change("cost_sharing", info.scenario_levers.cost_sharing if x == "table" else x)

    with solara.ToggleButtonsSingle(
        value=current,
        on_value=set_cost_sharing,
        dense=True,
        classes=["lever-cost-sharing", *(["lever-idle"] if sharing_idle else [])],
    ):
        for code, label in options.items():
            solara.Button(
                label, value=code, classes=[f"cost-sharing-{code}"], **pressed(code, current)
            )

    solara.Text("Offtake partners")
    idle = partners_idle(lv.instrument, any(f > 0 for f in lv.floors.values()), lv.penalty)
    LeverHelp(PARTNERS_HELP, idle, "lever-partners")
    country_names = dict(info.names)
    ids_of = {country_names[a]: a for a in info.countries}
    with solara.Div(classes=["lever-partners", *(["lever-idle"] if idle else [])]):
        solara.SelectMultiple(
            "Offtake partners",
            values=[country_names[a] for a in lv.partners],
            all_values=[country_names[a] for a in info.countries],
            dense=True,
            on_value=lambda xs: change("partners", [ids_of[x] for x in xs]),
        )
    own = [f"{country_names[a]} {x:.0%}" for a, x in lv.offtake_shares.items() if a in lv.partners]
    every_own = bool(lv.partners) and len(own) == len(lv.partners)
    SliderField(
        f"Offtake share: {OFFTAKE_SHARE_BOUNDS.show(lv.offtake_share)}%",
        lv.offtake_share,
        OFFTAKE_SHARE_BOUNDS,
        "The offtake share",
        OFFTAKE_SHARE_BOUNDS.high,
        1,  # a step of 5 from 1% would move a typed 25% to the slider's 26%
        lambda x: change("offtake_share", x),
        "lever-offtake-share",
        help_text=OFFTAKE_SHARE_HELP,
        idle=idle
        or ("" if lv.partners else "No effect with no offtake partner.")
        or ("No effect: every partner has its own contract share." if every_own else ""),
    )
    if own:
        solara.Text(
            f"Own contracts: {', '.join(own)} of their output (offtake_shares, from the scenario, "
            "a design or Python); the slider sets the share of partners without one.",
            classes=["lever-offtake-own"],
        )

    with solara.Div(classes=["lever-supplier"]):
        solara.Select(
            "Supplier's strategy",
            values=SUPPLIER_CHOICES,
            value=lv.supplier_strategy,
            dense=True,
            on_value=lambda x: change("supplier_strategy", x),
        )
    LeverHelp(strategy_help(lv.supplier_strategy), "", "lever-supplier")
    SliderField(
        f"Supplier's aggressiveness: {AGGRESSIVENESS_BOUNDS.show(lv.aggressiveness)}%",
        lv.aggressiveness,
        AGGRESSIVENESS_BOUNDS,
        "The supplier's aggressiveness",
        AGGRESSIVENESS_BOUNDS.high,
        5,
        lambda x: change("aggressiveness", x),
        "lever-aggressiveness",
        help_text=AGGRESSIVENESS_HELP,
        idle=aggressiveness_idle(lv.supplier_strategy),
    )

    solara.Text("Each country's weights and patience")
    with solara.ToggleButtonsSingle(value=country, dense=True, classes=["lever-country"]):
        for a in info.countries:
            solara.Button(short[a], value=a, classes=[f"country-{a}"], **pressed(a, country.value))
    a = country.value
    if a in lv.weights:
        who = dict(info.names)[a]
        for comp in WEIGHT_LEVERS:
            w = lv.weights[a][comp]
            SliderField(
                f"{WEIGHT_TITLES[comp]}: {WEIGHT_BOUNDS.show(w)}",
                w,
                WEIGHT_BOUNDS,
                f"{who}'s weight on {COMPONENT_LABELS[comp]}",
                WEIGHT_SLIDER_MAX,
                0.1,
                lambda x, c=comp: change("weights", {a: {c: x}}),
                f"lever-weight-{comp}",
                help_text=weights_help(who) if comp == WEIGHT_LEVERS[0] else "",
            )
        p = lv.patience[a]
        SliderField(
            f"Patience: {p} rounds below its outside option",
            p,
            PATIENCE_BOUNDS,
            f"{who}'s patience",
            PATIENCE_SLIDER_MAX,
            1,
            lambda x: change("patience", {a: round(x)}),
            "lever-patience",
            help_text=patience_help(who),
        )
    solara.Button(
        "All levers back to the scenario's",
        on_click=restore,
        text=True,
        icon_name="mdi-restore",
        classes=["levers-restore"],
    )
    solara.Text(
        "Weights multiply the named parts of the country's payoff "
        f"({', '.join(COMPONENT_LABELS[c] for c in WEIGHT_LEVERS)}): security against cost.",
        style={"font-size": "13px", "color": "#555"},
    )


def _draws_luck(name: str, load: Callable[[str], Scenario] = load_scenario) -> bool:
    """Whether the scenario draws outages, demand swings and surprises (what the seed does)."""
    try:
        return load(name).uncertainty.enabled
    except ScenarioError:
        return True


@solara.component
def StructuralControls(
    scenario: solara.Reactive[str],
    seed: solara.Reactive[int],
    rounds: solara.Reactive[int],
    running: tuple[str, int, int],
    opened: tuple[str, ...] = (),
    load: Callable[[str], Scenario] = load_scenario,
):
    """running: (scenario, seed, rounds) of the run on screen; opened: the scenario files opened
    in this session (their entries in the list), which `load` loads as it does the others."""
    solara.HTML(tag="h3", unsafe_innerHTML="Structural settings")
    differs = (scenario.value, seed.value, rounds.value) != running
    hint = "Changed: press Setup/Reset to apply." if differs else "Act on Setup/Reset."
    solara.HTML(tag="p", unsafe_innerHTML=hint, classes=["hint", "structural-hint"])

    def pick(name: str) -> None:
        scenario.set(name)
        with contextlib.suppress(ScenarioError):
            rounds.set(load(name).time.rounds)

    with solara.Div(classes=["structural-scenario"]):
        solara.Select(
            "Scenario",
            values=[*scenario_names(), *opened],
            value=scenario.value,
            on_value=pick,
            dense=True,
        )
    with solara.Row(style={"align-items": "center"}):
        NumberField(
            "Seed",
            seed.value if seed.value is not None else 0,
            SEED_BOUNDS,
            "The seed",
            lambda x: seed.set(int(x)),
            classes=["structural-seed"],
        )
        solara.Button(
            "New seed",
            icon_name="mdi-dice-multiple",
            text=True,
            on_click=lambda: seed.set(new_seed()),
            classes=["new-seed"],
        )
    uncertain = solara.use_memo(lambda: _draws_luck(scenario.value, load), [scenario.value])
    solara.HTML(
        tag="p", unsafe_innerHTML=escape(seed_help(uncertain)), classes=["hint", "seed-help"]
    )
    NumberField(
        "Rounds",
        rounds.value if rounds.value is not None else running[2],
        ROUNDS_BOUNDS,
        "The number of rounds",
        lambda x: rounds.set(int(x)),
        classes=["structural-rounds"],
    )


def seats(scenario: str) -> dict[str, str]:
    """{seat: name} of a scenario: its countries, then the supplier ({} if it does not load, or
    is a file opened in the app: the seat's page plays built-in scenarios only)."""
    if scenario.startswith(OPENED):
        return {}
    try:
        sc = load_scenario(scenario)
    except ScenarioError:
        return {}
    return {a: sc.actors[a].name for a in (*sc.country_ids, sc.supplier.actor)}


def solo_link(scenario: str, seat: str, seed: int | None, rounds: int | None) -> str:
    """The solo page for `seat` with these structural settings (relative to the app's root)."""
    params = {"scenario": scenario, "seat": seat, "seed": seed, "rounds": rounds}
    return "solo?" + urlencode({k: v for k, v in params.items() if v is not None})


@solara.component
def TakeSeat(
    scenario: solara.Reactive[str],
    seed: solara.Reactive[int | None],
    rounds: solara.Reactive[int | None],
):
    """Play one seat yourself, agents at the others: opens the solo page (workshop mode, one
    person) in a new tab, on the structural settings of the panel."""
    names = solara.use_memo(lambda: seats(scenario.value), [scenario.value])
    seat = solara.use_reactive("japan")
    if names and seat.value not in names:
        seat.set(next(iter(names)))
    href = solo_link(scenario.value, seat.value, seed.value, rounds.value)
    with solara.Row(gap="6px", style={"align-items": "center"}, classes=["take-seat"]):
        with solara.Div(classes=["take-seat-seat"], style={"flex": "1 1 auto", "min-width": "0"}):
            solara.v.Select(
                label="Play yourself as",
                items=[{"text": n, "value": a} for a, n in names.items()],
                v_model=seat.value,
                on_v_model=seat.set,
                dense=True,
                hide_details=True,
            )
        solara.Button(
            "Take a seat",
            icon_name="mdi-account-arrow-right",
            color="primary",
            outlined=True,
            href=href,
            target="_blank",
            disabled=not names,
            classes=["take-seat-go"],
        )
    if scenario.value.startswith(OPENED):
        solara.HTML(
            tag="p",
            unsafe_innerHTML="A seat is taken in a built-in scenario: to play a seat in a "
            "scenario file, open it in workshop mode (<code>bloc workshop</code>).",
            classes=["hint", "take-seat-opened"],
        )


class ScenarioFileInput(FileInput):
    """ipyvuetify's file input with a label of its own (its accessible name) and a hint."""

    template = traitlets.Unicode(
        load_template("file_input.vue").replace(
            "<v-file-input\n",
            '<v-file-input\n      :label="label"\n      :hint="hint"\n      persistent-hint\n'
            '      prepend-icon="mdi-folder-open"\n',
            1,
        )
    ).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    hint = traitlets.Unicode("").tag(sync=True)


@solara.component
def OpenScenario(open_file: Callable[[str, bytes, int], str]):
    """Open a scenario file, such as the Export tab's: a file input (.toml, at most
    MAX_SCENARIO_BYTES), read on a thread of the server's as the browser sends it, then
    `open_file(name, bytes, size)`, which returns "" once a new run of it is on screen or why it
    was refused (the run on screen then goes on: nothing is lost). A larger file is refused
    before it is read."""
    message = solara.use_reactive(("", ""))  # (state: "opened" | "refused" | "reading", text)
    asked = solara.use_reactive((0, None))  # (how many times, the file's info) to read
    widget_ref = solara.use_ref(None)  # the file input's widget
    state, text = message.value
    with solara.Div(classes=["open-scenario"]):
        el = ScenarioFileInput.element(
            multiple=False,
            accept=".toml",
            show_progress=False,
            label="Open a scenario file (.toml)",
            hint=f"The Export tab's scenario file, or one of yours: at most "
            f"{MAX_SCENARIO_BYTES // 1024} KB. A new run starts from it.",
        )
        if text:
            solara.HTML(
                tag="div",
                unsafe_innerHTML=escape(text),
                classes=["open-scenario-message", *(["bloc-error"] if state == "refused" else [])],
                attributes={"data-state": state, "role": "status"},
            )

    def watch() -> Callable[[], None]:
        widget = widget_ref.current = solara.get_widget(el)

        def changed(_: Any) -> None:
            files = widget.get_files()
            if not files:
                return
            info = files[0]
            name, size = str(info["name"]), int(info["size"])
            if size > MAX_SCENARIO_BYTES:  # refused unread
                try:
                    read_scenario_file(name, b"", size)
                except ScenarioError as e:
                    message.set(("refused", _refused(name, e.problems)))
                widget.clear()
                return
            message.set(("reading", f"Reading {name}…"))
            asked.set((asked.value[0] + 1, info))

        widget.observe(changed, "file_info")
        return lambda: widget.unobserve(changed, "file_info")

    solara.use_effect(watch, [])

    def read() -> None:
        number, info = asked.value
        if not number or info is None:
            return
        name = str(info["name"])
        try:
            file = info["file_obj"]
            file.seek(0)
            data = file.read(MAX_SCENARIO_BYTES + 1)
        except Exception:  # the browser went, or sent nothing in time
            logger.info("scenario file not read", exc_info=True)
            message.set(("refused", f"{name} could not be read: choose it again."))
            return
        why = open_file(name, data, int(info["size"]))
        if why:
            message.set(("refused", _refused(name, why.split("\n"))))
        else:
            message.set(("opened", f"Opened {name}: a new run from its settings."))
        if widget_ref.current is not None:  # so that the same file can be chosen again
            widget_ref.current.clear()

    solara.use_thread(read, dependencies=[asked.value], intrusive_cancel=False)


def _refused(name: str, problems: list[str]) -> str:
    return f"Not opened: {name}. The run on screen goes on, untouched.\n" + "\n".join(problems)


# ----------------------------------------------------------------------------------------------
# The page


@solara.component
def Page():
    solara.Style(CSS)
    session: Session = solara.use_memo(Session, [])  # one model per browser tab, never shared
    first = solara.use_memo(session.snapshot, [])
    snap = solara.use_reactive(first)
    playing = solara.use_reactive(False)
    drawer = solara.use_reactive(False)  # the controls' drawer on a phone
    speed = solara.use_reactive("normal")
    tab = solara.use_reactive(0)
    error = solara.use_reactive("")
    scenario = solara.use_reactive(first.source)  # an entry of the list (a name, or a file)
    seed = solara.use_reactive(first.seed)
    rounds = solara.use_reactive(first.rounds)
    back = solara.use_reactive(None)  # (run, round) looked back at; None: now, following the run
    pinned = solara.use_reactive(None)  # run A's snapshot, for the Compare tab
    s = snap.value
    # a look back belongs to its run: a new run (Setup/Reset, another draw) is shown as it is
    shown_back = back.value[1] if back.value and back.value[0] == s.run else None
    if shown_back is not None and shown_back >= s.round:
        shown_back = None
    view = s if shown_back is None else s.at(shown_back)

    def look_back(r: int | None) -> None:
        back.set(None if r is None else (snap.value.run, r))

    def shown() -> None:  # effects run once the render is done: the page shows this snapshot
        session.shown = max(session.shown, s.version)

    solara.use_effect(shown, [s.version])
    solara.Title(f"Bloc — {s.title}")

    def make_guarded() -> Callable[[Callable[[], Snapshot | None]], None]:
        def guarded(action: Callable[[], Snapshot | None]) -> None:
            try:
                new = action()
            except (ValueError, ScenarioError) as e:
                problems = getattr(e, "problems", None) or [str(e)]
                error.set("\n".join(problems))
                return
            except Exception as e:  # a bug: log it with its traceback, tell the user
                logger.exception("the app failed")
                error.set(f"Something went wrong: {e}")
                return
            error.set("")
            if new is not None:
                snap.set(new)

        return guarded

    # made once: the callbacks only close over this tab's session and reactive variables, so
    # the panels that take them are not drawn again at every round
    guarded = solara.use_memo(make_guarded, [])

    def play_loop(cancel: threading.Event) -> None:
        if not playing.value:
            return
        run = session.run_id
        while not cancel.is_set():
            try:
                new = session.step(run)
            except Exception as e:
                logger.exception("a round failed")
                error.set(f"Something went wrong: {e}")
                playing.set(False)
                return
            if new is None:  # a Reset started another run
                return
            snap.set(new)
            if new.finished:
                playing.set(False)
                return
            # Back-pressure: the next round waits until this one is on the page (the render may
            # run on another thread), so the page never falls behind the model
            shown_by = time.monotonic() + 5.0
            while session.shown < new.version and time.monotonic() < shown_by:
                if cancel.wait(0.01):
                    return
            cancel.wait(max(SPEEDS.get(speed.value, 0.4), MIN_PAUSE))

    solara.use_thread(play_loop, dependencies=[playing.value], intrusive_cancel=False)

    def reset() -> Snapshot:
        playing.set(False)
        keep = scenario.value == session.scenario
        return session.setup(
            scenario.value, seed.value, rounds.value, session.levers() if keep else None
        )

    def step() -> Snapshot | None:
        return None if playing.value else session.step(session.run_id)

    def toggle_play() -> None:
        if not playing.value and session.finished:
            error.set("The run is over: press Setup/Reset to start a new one.")
            return
        playing.set(not playing.value)

    def make_change() -> Callable[[str, Any], None]:
        return lambda name, value: guarded(lambda: session.change(name, value))

    change = solara.use_memo(make_change, [])
    likely: Likely = solara.use_memo(Likely, [])  # this tab's ensemble
    runs = solara.use_reactive(ENSEMBLE_RUNS)

    def another_draw() -> Snapshot:
        playing.set(False)
        fresh = new_seed()
        seed.set(fresh)
        return session.redraw(fresh)

    restore = solara.use_memo(lambda: lambda: guarded(session.restore_levers), [])

    def make_open_file() -> Callable[[str, bytes, int], str]:
        def open_file(name: str, data: bytes, size: int) -> str:
            """A new run of a scenario file (on the reading thread); "" or why not. A file
            refused stops nothing: the run on screen, playing or not, goes on."""
            try:
                sc = read_scenario_file(name, data, size)
            except ScenarioError as e:
                return "\n".join(e.problems)
            playing.set(False)
            try:
                new = session.open_scenario(name, sc)
            except ScenarioError as e:
                return "\n".join(e.problems)
            except Exception as e:  # a bug: log it with its traceback, tell the user
                logger.exception("opening a scenario file failed")
                return f"Something went wrong: {e}"
            error.set("")
            snap.set(new)
            scenario.set(new.source)
            seed.set(new.seed)
            rounds.set(new.rounds)
            return ""

        return open_file

    open_file = solara.use_memo(make_open_file, [])
    info = solara.use_memo(lambda: LeverInfo.of(s), [s.run])

    with solara.Div(classes=["bloc-app", *(["drawer-open"] if drawer.value else [])]):
        with solara.Div(classes=["bloc-controls"]):
            with solara.Row(gap="4px", style={"align-items": "center"}):
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML="<b style='font-size:20px'>Bloc</b>"
                    " <span style='color:#555'>critical-minerals bloc</span>",
                    style="flex: 1 1 auto",
                )
                solara.Button(  # shown on a phone only (CSS), where the controls are a drawer
                    "Close",
                    icon_name="mdi-close",
                    text=True,
                    on_click=lambda: drawer.set(False),
                    classes=["bloc-drawer-close"],
                )
            with solara.Row(gap="4px", classes=["bloc-buttons"], style={"margin": "6px 0"}):
                solara.Button(
                    "Setup/Reset",
                    icon_name="mdi-restart",
                    color="primary",
                    outlined=True,
                    on_click=lambda: guarded(reset),
                    classes=["bloc-reset"],
                )
                solara.Button(
                    "Pause" if playing.value else "Play",
                    icon_name="mdi-pause" if playing.value else "mdi-play",
                    color="primary",
                    on_click=toggle_play,
                    classes=["bloc-play"],
                )
                solara.Button(
                    "Step",
                    icon_name="mdi-skip-next",
                    color="primary",
                    outlined=True,
                    on_click=lambda: guarded(step),
                    disabled=playing.value,
                    classes=["bloc-step"],
                )
            with solara.Div(classes=["bloc-speed"]):
                SpeedSlider(speed)
            TakeSeat(scenario, seed, rounds)
            LeverControls(s.levers, info, change, restore)
            StructuralControls(
                scenario,
                seed,
                rounds,
                (s.source, s.seed, s.rounds),
                tuple(session.opened),
                session.load,
            )
            OpenScenario(open_file)
        with solara.Div(classes=["bloc-main"]):
            PhoneBar(drawer, playing.value, toggle_play, lambda: guarded(step))
            Header(view, error.value)
            LeversBanner(s.levers, s.scenario_levers, tuple(s.names.items()), restore)
            RoundSlider(s.round, shown_back, look_back)
            with solara.lab.Tabs(value=tab, lazy=True):
                with solara.lab.Tab("Bloc"):
                    BlocView(view)
                with solara.lab.Tab("Prices"):
                    MineralsView(s, "prices", shown_back)
                with solara.lab.Tab("Supply"):
                    MineralsView(s, "supply", shown_back)
                with solara.lab.Tab("Money"):
                    MoneyView(s, shown_back)
                with solara.lab.Tab("Why?"):
                    WhyView(view)
                with solara.lab.Tab("How likely?"):
                    LikelyView(
                        s, likely, runs, lambda: guarded(another_draw), session.opened.get(s.source)
                    )
                with solara.lab.Tab("Bargaining"):
                    BargainingView(session, s)
                with solara.lab.Tab("Events"):
                    EventsView(s)
                with solara.lab.Tab("About"):
                    AboutView(s)
                with solara.lab.Tab("Export"):
                    ExportView(session, s)
                with solara.lab.Tab("Compare"):
                    CompareView(s, pinned)

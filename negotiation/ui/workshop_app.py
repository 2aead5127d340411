"""Workshop mode: the Solara pages of `bloc workshop` (rooms for participants; see workshop.py).

Pages (one server, many rooms):

- `/`: create a room (facilitator, with the server's facilitator secret; on a built-in
  scenario or an uploaded file), join one with its code, or play a seat alone.
- `/join?room=CODE`: a participant gives a display name, gets a private link
  (`&token=...`, which brings the seat back after a dropped connection) and claims a seat; when
  the seat must decide, the decision panel shows the proposal and the forecast payoff if it
  accepts and if it rejects, by component; an invited country's counter-proposal form offers
  the counters its agent would weigh and forecasts a counter before it is sent (its value,
  each member's answer, the agreement rule's verdict). The page shows the person's own seat only (a
  `seat=` in the link is ignored), and a decision goes with the round the browser showed.
- `/join?room=CODE&seat=SEAT`: a seat's link: joining with it takes that seat, unless the
  facilitator locked it for someone else (then the page says so, and whom it is kept for).
- `/facilitator?room=CODE&key=KEY`: who has decided; start, force, pause, extend, timer,
  visibility, teams and removals; seat locks, seat links and seating a named participant; a
  message to the room; the practice reset; each participant's devices and a new private link;
  a country that left invited back; the debrief charts (the last round's bargaining chart
  among them) and the exports. It says at its top that it must never be projected.
- `/debrief?room=CODE&key=KEY`: the printable debrief (facilitator only): results by country,
  the timeline, the decisions with their reasons, the room against agent-only runs; the
  browser's Print (Save as PDF) gives a clean document, a section a page.
- `/projector?room=CODE`: the shared view for the big screen, with the join link as a QR code.
- `/solo?scenario=NAME&seat=SEAT[&seed=N&rounds=R]`: one person takes one seat, agents play the
  others (the web app's "Take a seat" opens this); NAME is a built-in scenario, never a path.

Rooms live in `negotiation.rooms.workshop.WORKSHOP`, shared by every browser session of the server:
each page only renders the room's snapshots, and a thread per page waits on the room's version
so that every page re-renders as soon as the room changes (`negotiation.rooms.workshop_live`: the
mechanism and its contract).
"""

from __future__ import annotations

import os

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # before solara is imported

import contextlib
import dataclasses
import functools
import itertools
import logging
import secrets
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import ipyvuetify as v
import solara
import solara.lab
import traitlets
from ipyvuetify.extra import FileInput
from reacton import ipyvue as rvue
from reacton import ipyvuetify as rv

from negotiation.engine.scenario import DEFAULT_SCENARIO, ScenarioError
from negotiation.rooms.workshop import (
    LOBBY,
    MAX_MESSAGE,
    MAX_UPLOAD_BYTES,
    OVER,
    REPLACED_LINK,
    RUNNING,
    WORKSHOP,
    CounterChoice,
    Panel,
    Participant,
    Refused,
    Room,
    RoomInfo,
    RoomSnapshot,
    Settings,
    WorkshopError,
    describe_decision,
    encode_decision,
    normalize_code,
)
from negotiation.rooms.workshop_debrief import (
    TERMS_SHOWN,
    debrief_html,
    decision_lines,
    story_words,
    summary_html,
)
from negotiation.rooms.workshop_live import in_turn, watcher
from negotiation.rules.types import (
    COMPONENT_LABELS,
    COMPONENTS,
    Action,
    Decision,
    Reason,
    SupplierAction,
    SupplierMove,
    listed,
    money,
)
from negotiation.ui.app_bargaining import BargainingChart
from negotiation.ui.app_charts_mpl import chart_image
from negotiation.ui.app_charts_svg import chart_svg, network_svg
from negotiation.ui.app_ensemble import CANCELLED, debrief_lines, settings_key, start_ensemble
from negotiation.ui.app_state import Snapshot, short_name, statuses
from negotiation.ui.ui_parts import Download

logger = logging.getLogger("bloc.workshop")
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

INSTRUMENTS = {"border": "Border tariff", "price_gap": "Price gap", "stockpile": "Stockpile"}
SUPPLIER_ACTIONS = {
    "normal": "Sell normally",
    "flood": "Flood a market",
    "export_controls": "Export controls",
    "side_offer": "Side offer",
}
TIMER_CHOICES = {0: "no timer", 60: "1 min", 90: "1½ min", 120: "2 min", 180: "3 min", 300: "5 min"}

CSS = """
.ws-page { max-width: 1180px; margin: 0 auto; padding: 10px 16px 40px 16px; font-size: 16px; }
.ws-page h2 { font-size: 22px; margin: 12px 0 6px 0; }
.ws-page h3 { font-size: 18px; margin: 14px 0 4px 0; }
.ws-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 18px;
  border-bottom: 1px solid #ddd; padding-bottom: 6px; margin-bottom: 8px; }
.ws-round { font-size: 22px; font-weight: bold; }
.ws-muted { color: #555; }
.ws-banner { background: #fff4e0; border-left: 4px solid #E69F00; padding: 6px 10px;
  margin: 6px 0; }
.ws-error { color: #b00020; white-space: pre-wrap; margin: 4px 0; }
.ws-ok { color: #006e4f; margin: 4px 0; }
.ws-code { font-family: DejaVu Sans Mono, monospace; font-size: 28px; letter-spacing: 3px;
  font-weight: bold; }
.ws-big .ws-code { font-size: 64px; }
.ws-big { font-size: 24px; }
.ws-big .ws-round { font-size: 40px; }
.ws-big .ws-timer-row { font-size: 32px; align-items: center !important; }
.ws-big .ws-timer { font-size: 96px; line-height: 1.1; }
.ws-table { border-collapse: collapse; margin: 4px 0 10px 0; }
.ws-table th, .ws-table td { padding: 3px 12px 3px 0; text-align: left; vertical-align: top; }
.ws-table td.num, .ws-table th.num { text-align: right; }
.ws-table tr.total td { border-top: 1px solid #999; font-weight: bold; }
.ws-pos { color: #006e4f; } .ws-neg { color: #b00020; }
.ws-chip { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 14px;
  background: #eee; margin-right: 4px; }
.ws-chip.decided { background: #cfe8dc; } .ws-chip.waiting { background: #ffe3b3; }
.ws-chip.person { background: #d6e6f5; } .ws-chip.agent { background: #eee; }
.ws-chip.locked { background: #e8d6f5; }
.ws-room-message { font-size: 1.15em; border-left-color: #0072B2; background: #e6f1fa; }
.ws-qr svg { width: 280px; height: 280px; display: block; }
.ws-qr-small svg { width: 150px; height: 150px; }
.ws-join-box { display: flex; flex-wrap: wrap; gap: 24px; align-items: center; }
.ws-join-box > div:last-child { flex: 1 1 420px; }
.ws-panel { border: 1px solid #ccc; border-radius: 6px; padding: 8px 14px; margin: 8px 0;
  background: #fafafa; }
.ws-events { list-style: none; padding-left: 0; font-size: 15px; line-height: 1.45; }
.ws-events li { margin-bottom: 3px; }
.ws-events .r { display: inline-block; min-width: 4.5em; color: #555; }
.ws-timer { font-family: DejaVu Sans Mono, monospace; font-weight: bold; }
.ws-timer-low { color: #b00020; }
.ws-counter-choices { margin: 4px 0 12px 0; }
.ws-counter-choices .ws-counter-choice { margin: 2px 0; }
.ws-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  gap: 4px 12px; }
.ws-cards { display: flex; flex-wrap: wrap; gap: 16px; }
.ws-cards > div { flex: 1 1 320px; }
.ws-seats-big { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; }
.ws-seats-big > div { border: 2px solid #ccc; border-radius: 8px; padding: 8px 12px; }
.ws-seats-big > div.decided { border-color: #009E73; } .ws-seats-big > div.waiting {
  border-color: #E69F00; }
.ws-chart { width: 100%; max-width: 980px; height: auto; }
.ws-page .v-btn { text-transform: none; }
.ws-summary { border: 2px solid #0072B2; border-radius: 8px; padding: 4px 14px 8px 14px;
  margin: 10px 0; }
.ws-debrief h1 { font-size: 26px; margin: 8px 0 2px 0; }
.ws-debrief-section h2 { border-bottom: 1px solid #999; }
.ws-result { break-inside: avoid; }
.ws-decisions td { font-size: 14px; }
@media print {
  .ws-no-print, .v-btn, .v-app-bar, .v-navigation-drawer, .solara-loading { display: none
    !important; }
  .ws-page { max-width: none; padding: 0; font-size: 11pt; }
  .ws-debrief-section { break-before: page; page-break-before: always; }
  .ws-debrief-section:first-of-type { break-before: auto; page-break-before: auto; }
  .ws-debrief h2, .ws-debrief h3 { break-after: avoid; page-break-after: avoid; }
  .ws-table tr, .ws-events li { break-inside: avoid; page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  @page { margin: 16mm 14mm; }
}
"""


# ----------------------------------------------------------------------------------------------
# Plumbing


def query(search: str | None) -> dict[str, str]:
    """The URL's query parameters (the first value of each)."""
    return {k: vs[0] for k, vs in parse_qs(search or "").items() if vs}


def link(path: str, **params: Any) -> str:
    return f"/{path.strip('/')}?{urlencode({k: v for k, v in params.items() if v is not None})}"


@functools.lru_cache(maxsize=256)
def join_qr_svg(url: str) -> str:
    """`url` (a room's join link) as a QR code, inline SVG drawn by segno: black on white with
    the standard quiet zone of 4 modules, error correction M (still read with about 15% of it
    lost, to glare on a projector's screen say), sized by the page's CSS (a viewBox, no width
    or height). segno escapes the title."""
    import segno  # the QR encoder: pure Python, no image library needed for SVG

    qr = segno.make(url, error="m", micro=False, boost_error=False)
    return qr.svg_inline(
        border=4, dark="#000", light="#fff", omitsize=True, title=f"Join: {url}",
        svgclass="ws-qr-code",
    )  # fmt: skip


def base_url() -> str:
    """The address participants use: the one `bloc workshop` worked out (BLOC_WORKSHOP_URL),
    else the host this page was opened on."""
    env = os.environ.get("BLOC_WORKSHOP_URL", "").strip()
    if env:
        return env.rstrip("/")
    headers = solara.lab.headers.value or {}
    host = headers.get("host") or headers.get("Host") or ""
    if isinstance(host, list):
        host = host[0] if host else ""
    return f"http://{host}" if host else ""


def default_scenario() -> str:
    return os.environ.get("BLOC_WORKSHOP_SCENARIO", "") or DEFAULT_SCENARIO


#: The operator's `--scenario` (set in the environment by `bloc workshop`) is the one scenario
#: besides the built-in ones that pages may name.
WORKSHOP.operator_scenario = default_scenario()


def console(line: str) -> None:
    """A line on the console of the server (where `bloc workshop` runs): for the operator."""
    print(f"bloc workshop: {line}", file=sys.stderr, flush=True)


def _facilitator_secret() -> str:
    """The secret that opens rooms: `bloc workshop` passes it (from --facilitator-secret,
    BLOC_FACILITATOR_SECRET, or one it drew); served some other way, the server draws one, so
    that no page can open a room without it, and prints it if it serves the workshop's pages
    (`bloc app` serves only the one-person rooms, which need none)."""
    secret = os.environ.get("BLOC_FACILITATOR_SECRET", "")
    if not secret:
        secret = os.environ["BLOC_FACILITATOR_SECRET"] = secrets.token_urlsafe(16)
        if "workshop_app" in os.environ.get("SOLARA_APP", ""):
            console(f"facilitator secret (to create rooms): {secret}")
    return secret


WORKSHOP.facilitator_secret = _facilitator_secret()


def _resume_rooms() -> None:
    """`bloc workshop` passes its state directory (BLOC_WORKSHOP_STATE_DIR): every room is
    saved there as it changes; with --resume (BLOC_WORKSHOP_RESUME), the rooms saved there
    come back, each facilitator link printed on the console, and each file refused said."""
    if "BLOC_WORKSHOP_RESUME" not in os.environ:
        return  # not served by `bloc workshop` (tests rendering pages, `bloc app`): no saving
    state_dir = os.environ.get("BLOC_WORKSHOP_STATE_DIR", "").strip()
    if not state_dir or WORKSHOP.state_dir is not None:
        return
    WORKSHOP.state_dir = Path(state_dir)
    if not os.environ.get("BLOC_WORKSHOP_RESUME"):
        return
    rooms, problems = WORKSHOP.resume()
    for problem in problems:
        console(problem)
    for room in rooms:
        where = {LOBBY: "in the lobby", OVER: "over"}.get(room.phase) or (
            f"round {room.model.round + 1} open"
        )
        facilitator = link("facilitator", room=room.code, key=room.admin_token)
        console(
            f"resumed room {room.code} on {room.scenario} ({where}, "
            f"{len(room.participants)} participant(s)): facilitator link "
            f"{base_url()}{facilitator}"
        )


_resume_rooms()

#: Headers on every HTTP answer of the workshop server: no page may be framed by another site
#: (clickjacking), no content sniffing, and no Referer, since private links carry tokens.
SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def _with_security_headers(app: Callable) -> Callable:
    """An ASGI app that answers as `app`, with SECURITY_HEADERS on every HTTP response (also
    a Starlette middleware: Starlette passes `app=`)."""
    names = {name for name, _ in SECURITY_HEADERS}

    async def guarded(scope: dict, receive: Callable, send: Callable) -> None:
        if scope.get("type") != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message.get("type") == "http.response.start":
                kept = [h for h in message.get("headers", []) if h[0].lower() not in names]
                message = {**message, "headers": [*kept, *SECURITY_HEADERS]}
            await send(message)

        await app(scope, receive, send_with_headers)

    return guarded


def harden_server() -> None:
    """Under `solara run` (the Starlette server is loaded): `/resourcez` (the host's CPU,
    memory and sessions) answers only with `Authorization: Bearer <facilitator secret>`, as
    404 otherwise, and every answer gets SECURITY_HEADERS. Solara has no setting for either,
    so this changes its Starlette app in place, once, when the server loads this module (in
    its startup, before it serves a request)."""
    server = sys.modules.get("solara.server.starlette")
    app = getattr(server, "app", None)
    if app is None or getattr(app, "_bloc_hardened", False):
        return
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    for i, route in enumerate(app.router.routes):
        if getattr(route, "path", None) == "/resourcez":

            async def resourcez(request: Any, endpoint: Callable = route.endpoint) -> Any:
                scheme, _, presented = request.headers.get("authorization", "").partition(" ")
                if scheme.lower() == "bearer" and WORKSHOP.check_secret(presented):
                    return await endpoint(request)
                return PlainTextResponse("Not Found", status_code=404)

            app.router.routes[i] = Route("/resourcez", endpoint=resourcez)
    if app.middleware_stack is None:  # not started yet: an ordinary middleware
        app.add_middleware(_with_security_headers)
    else:  # started (this module loads in the server's startup): wrap what it built
        app.middleware_stack = _with_security_headers(app.middleware_stack)
    app._bloc_hardened = True


harden_server()


def client_id() -> str:
    """The browser a request comes from, as far as the server can tell: its Solara session (a
    cookie). Rate limits count by it. "" outside a browser's session (tests rendering pages)."""
    try:
        return "session:" + solara.get_session_id()
    except RuntimeError:
        return ""


def use_room(room: Room | None, public: bool = True) -> tuple[RoomSnapshot | None, Callable]:
    """The room's latest snapshot, re-rendered whenever the room changes (a thread per page
    waits on the room's version); and a function to show a fresh one at once. For the pages
    one of a kind (facilitator, projector); a participant's page uses `Live`."""
    first = solara.use_memo(lambda: room.snapshot() if room else None, [room])
    snap, set_snap = solara.use_state(first, key="ws-room-snapshot")
    if room is not None and (snap is None or snap.code != room.code):
        snap = first

    def watch(cancel: threading.Event) -> None:
        if room is not None:
            watcher(room, public, lambda new: in_turn(lambda: set_snap(new)))(cancel)

    solara.use_thread(watch, dependencies=[room], intrusive_cancel=False)
    return snap, lambda: set_snap(room.snapshot()) if room else None


_NEVER = object()


class Live:
    """The parts of a page that change while its layout stays the same, written into their
    widgets in place.

    Re-rendering a page with Solara walks every widget of the page (about 10 ms of CPU for a
    participant's page, whatever changed); forty pages re-rendering at a round's close were
    most of the wait. So a participant's page re-renders only when its *layout* changes
    (`layout(snap)`: the phase, the seat, the kind of decision panel, ...). Otherwise the
    page's watcher computes each live part (`parts(snap)`: the header, the decision notes and
    forecasts, the seats and the story; mostly strings computed once per snapshot for every
    page) and writes what changed, about 0.3 ms per page.

    The HTML parts that changed go out together, as one message to the page's `LiveParts`
    widget, which writes each into its `LiveSlot` in the browser: one message and one redraw a
    page, where a message for each part arrived over several frames and was drawn several times
    (with forty pages on two cores, most of the time to the last page). The other parts (a
    button's words, the countdown, the decision panel shown or hidden) are traits of their own
    widgets, set in place.

    The page's components render from `snap`, the newest snapshot the page has, with the same
    `parts`, so a render and a push show the same thing. A render may race with a push from
    the watcher thread: after every render the page pushes every part again (`after_render`),
    so the widgets end with the newest snapshot's text. Locks: the turn (`in_turn`) first, then
    the page's own lock; never the other way round."""

    def __init__(
        self,
        snap: RoomSnapshot,
        layout: Callable[[RoomSnapshot], Any],
        parts: Callable[[RoomSnapshot], dict[str, Any]],
    ) -> None:
        self.snap = snap
        self.layout = layout
        self.parts = parts
        self.lock = threading.RLock()
        self.widgets: dict[str, Any] = {}
        self.rendered: Any = _NEVER  # the layout of the last render
        self.rerender: Callable[[], None] = lambda: None  # set by the page
        self.sent: dict[str, str] = {}  # the HTML parts pushed since the last render
        #: (number of a render or push, the open round it shows), where the round changes,
        #: in order, and the round of the first render: what the browser shows is the round
        #: of the last render or push it says it has drawn (`shown_round`)
        self.rounds_from: list[tuple[int, int]] = []
        self.first_round = snap.open_round

    def update(self, snap: RoomSnapshot) -> None:
        """A new snapshot: write the parts in place, or re-render the page if its layout
        changed."""
        with self.lock:
            if snap.version >= self.snap.version:
                self.snap = snap
            if self.rendered is _NEVER:
                return  # the first render is under way: `after_render` looks at `snap`
            same = self.layout(self.snap) == self.rendered
        in_turn(self._push if same else self.rerender)

    def after_render(self, layout: Any) -> None:
        """The page rendered `layout` (an effect, after every render of the page)."""
        with self.lock:
            self.rendered = layout
            self.sent = {}  # push every part: what the render wrote may be older
            same = self.layout(self.snap) == layout
        if same:
            in_turn(self._push)
        else:  # a newer snapshot came in during the render
            self.rerender()

    def register(self, name: str, widget: Any) -> Callable[[], None]:
        def write() -> None:
            with self.lock:
                self.widgets[name] = widget
                part = self.parts(self.snap).get(name)
            if part is not None:
                _apply(widget, part)

        in_turn(write)

        def unregister() -> None:
            with self.lock:
                if self.widgets.get(name) is widget:
                    del self.widgets[name]

        return unregister

    def _push(self) -> None:
        """Write every part that changed (call it in the page's turn: its messages go out
        together)."""
        with self.lock:
            if not self.widgets:
                return
            parts = self.parts(self.snap)
            widgets = dict(self.widgets)
            carrier = widgets.get(CARRIER)
            html_parts = {k: x for k, x in parts.items() if isinstance(x, str)}
            changed = {k: x for k, x in html_parts.items() if self.sent.get(k) != x}
            if carrier is not None and changed:
                self.sent.update(changed)
                carrier.push(changed, self.drawn(self.snap))
        for name, part in parts.items():
            widget = widgets.get(name)
            if widget is not None and name not in html_parts:
                _apply(widget, part)

    def drawn(self, snap: RoomSnapshot) -> int:
        """A number for a render or push that shows `snap`, noted with `snap`'s open round
        (where the round changes: a few entries a session, not one a push)."""
        with self.lock:
            seq = next(_STAMPS)
            if not self.rounds_from or self.rounds_from[-1][1] != snap.open_round:
                self.rounds_from.append((seq, snap.open_round))
            return seq

    def shown_round(self) -> int:
        """The round whose proposal the browser shows now: that of the last render or push it
        has drawn (it says which: `LiveParts.shown` for pushes, the header's `LiveSlot.drawn`
        for renders), or of the first render before it says any. A round the server has
        opened but the browser has not drawn yet does not count: a click on the old proposal
        is for the old round."""
        with self.lock:
            carrier, header = self.widgets.get(CARRIER), self.widgets.get(HEADER)
            shown = max(getattr(carrier, "shown", 0), getattr(header, "drawn", 0))
            done = [i for i, (seq, _) in enumerate(self.rounds_from) if seq <= shown]
            if not done:
                return self.first_round
            del self.rounds_from[: done[-1]]  # older entries will not be asked for again
            return self.rounds_from[0][1]


def _apply(widget: Any, part: dict[str, Any]) -> None:
    """Set a live part's traits on its widget (with a "stamp", only when the stamp changed: the
    countdown). HTML parts go through the page's LiveParts instead (`Live._push`)."""
    try:
        if "stamp" not in part or widget.stamp != part["stamp"]:
            changed = {k: x for k, x in part.items() if getattr(widget, k) != x}
            if changed:
                with widget.hold_sync():
                    for k, x in changed.items():
                        setattr(widget, k, x)
    except Exception:  # a widget closed under us (its page went): nothing to show it on
        logger.debug("live part not applied", exc_info=True)


CARRIER = "_parts"  # the name the page's LiveParts widget registers under
HEADER = "_header"  # ... and its header's LiveSlot (which says which render it has drawn)
SEQ = "_n"  # in a push of HTML parts: its number
#: Numbers for pushes and renders of live parts, increasing across all pages (see LiveSlot): a
#: push numbered above a slot's render came after it. Across pages, so that a page opened in a
#: browser tab that showed another never takes that page's pushes for its own.
_STAMPS = itertools.count(1)


class LiveParts(v.VuetifyTemplate):
    """The HTML parts of a page that changed, pushed in one message (`parts`: name -> HTML, and
    the push's number under "_n"); in the browser it writes each into its LiveSlot, and keeps
    the last of each for a slot that mounts later."""

    template = traitlets.Unicode(
        """
<template><span class="ws-live-parts" style="display: none"></span></template>
<script>
module.exports = {
  watch: { parts(p) { this.apply(p); } },
  mounted() { this.apply(this.parts); },
  methods: {
    apply(p) {
      const store = window.__blocLive || (window.__blocLive = {});
      const seq = p._n || 0;
      for (const [name, html] of Object.entries(p)) {
        if (name === '_n') continue;
        store[name] = {seq, html};
        for (const el of document.querySelectorAll('[data-live="' + name + '"]')) {
          el.innerHTML = html;
        }
      }
      if (seq > this.shown) this.shown = seq;  // tells the server what the person sees
    }
  }
}
</script>"""
    ).tag(sync=True)
    parts = traitlets.Dict({}).tag(sync=True)
    #: the number of the last push the browser has written into the page (set by the browser)
    shown = traitlets.Int(0).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: what the browser keeps (`window.__blocLive`): part -> (number of its push, HTML)
        self.store: dict[str, tuple[int, str]] = {}

    def push(self, changed: dict[str, str], seq: int) -> None:
        """Send the parts that changed, as push number `seq`."""
        self.store.update((name, (seq, html)) for name, html in changed.items())
        _apply(self, {"parts": {**changed, SEQ: seq}})


class LiveSlot(v.VuetifyTemplate):
    """A live part of a page: HTML that the page's LiveParts rewrites in place. It shows
    `html` (its text when the page rendered, numbered `seq`) unless a later push has come
    (one numbered above `seq`)."""

    template = traitlets.Unicode(
        """
<template><component :is="tag" :class="classes" :data-live="part"></component></template>
<script>
module.exports = {
  mounted() { this.show(); },
  watch: { html() { this.show(); }, seq() { this.show(); } },
  methods: {
    show() {
      const pushed = (window.__blocLive || {})[this.part];
      const later = pushed && pushed.seq > this.seq;
      this.$el.innerHTML = later ? pushed.html : this.html;
      if (this.report && !later && this.seq > this.drawn) this.drawn = this.seq;
    }
  }
}
</script>"""
    ).tag(sync=True)
    part = traitlets.Unicode("").tag(sync=True)
    html = traitlets.Unicode("").tag(sync=True)
    classes = traitlets.Unicode("").tag(sync=True)
    tag = traitlets.Unicode("div").tag(sync=True)
    seq = traitlets.Int(0).tag(sync=True)
    #: whether the browser reports which render it has drawn here (the header only: one
    #: message a render, not one a slot), and the number of that render (set by the browser)
    report = traitlets.Bool(False).tag(sync=True)
    drawn = traitlets.Int(0).tag(sync=True)

    def shown(self, store: dict[str, tuple[int, str]]) -> str:
        """What the browser shows in this slot, given its LiveParts' `store` (as `show()`)."""
        seq, html = store.get(self.part, (0, ""))
        return html if seq > self.seq else self.html


@solara.component
def Carrier(live: Live):
    """The page's LiveParts (once a page, before its slots)."""
    el = LiveParts.element()
    solara.use_effect(lambda: live.register(CARRIER, solara.get_widget(el)), [live])
    return el


@solara.component
def Slot(name: str, value: str, cls: str = "", tag: str = "div"):
    """A live part of a page: HTML that the page's watcher rewrites in place (`LiveSlot`)."""
    return LiveSlot.element(part=name, html=value, classes=cls, tag=tag, seq=next(_STAMPS))


@solara.component
def HeaderSlot(live: Live, snap: RoomSnapshot, value: str):
    """The page's header, a live part whose renders the browser acknowledges: with the
    pushes, they tell which round the person sees (`Live.shown_round`). `value` is the
    header of `snap`, the snapshot the page renders."""
    seq = live.drawn(snap)
    el = LiveSlot.element(
        part="head", html=value, classes="ws-header", tag="div", seq=seq, report=True
    )
    solara.use_effect(lambda: live.register(HEADER, solara.get_widget(el)), [live])
    return el


class Countdown(v.VuetifyTemplate):
    """Seconds left in the round, counted down in the browser (no server round trip a second);
    `stamp` restarts it from `seconds`."""

    template = traitlets.Unicode(
        """
<template>
  <span :class="['ws-timer', left <= 10 ? 'ws-timer-low' : '']" :data-left="Math.ceil(left)">
    {{ label }}</span>
</template>
<script>
module.exports = {
  data() { return { left: 0, handle: null }; },
  computed: {
    label() {
      if (!this.running) return this.seconds >= 0 ? 'paused' : '';
      const s = Math.ceil(this.left);
      return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
    }
  },
  watch: { stamp() { this.restart(); }, running() { this.restart(); } },
  mounted() { this.restart(); },
  destroyed() { clearInterval(this.handle); },
  methods: {
    restart() {
      clearInterval(this.handle);
      this.left = Math.max(0, this.seconds);
      if (!this.running) return;
      const end = performance.now() + 1000 * this.seconds;
      this.handle = setInterval(() => {
        this.left = Math.max(0, (end - performance.now()) / 1000);
      }, 250);
    }
  }
}
</script>"""
    ).tag(sync=True)
    seconds = traitlets.Float(0.0).tag(sync=True)
    stamp = traitlets.Int(0).tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)


def timer_part(snap: RoomSnapshot) -> dict[str, Any] | None:
    """The countdown's traits, None when the open round has none. The stamp (and so the
    countdown in the browser) changes only with the deadline: a new round, more time, a pause,
    a resume; not with every snapshot."""
    if snap.time_left is None or snap.phase != RUNNING:
        return None
    key = (snap.open_round, snap.deadline, snap.paused, None if snap.deadline else snap.time_left)
    return {
        "seconds": float(snap.time_left),
        "stamp": hash(key) & 0x3FFFFFFF,
        "running": not snap.paused,
    }


@solara.component
def Timer(snap: RoomSnapshot, live: Live | None = None):
    """The countdown of the open round, if it has one (on a participant's page, `live`
    restarts it in place)."""
    part = timer_part(snap)
    if part is not None:
        _Countdown(part, live)


@solara.component
def _Countdown(part: dict[str, Any], live: Live | None):
    seconds = solara.use_memo(lambda: part["seconds"], [part["stamp"]])
    with solara.Row(gap="6px", style={"align-items": "baseline"}, classes=["ws-timer-row"]):
        solara.Text("Time left:")
        el = Countdown.element(seconds=seconds, stamp=part["stamp"], running=part["running"])

    def register() -> Callable[[], None] | None:
        return live.register("timer", solara.get_widget(el)) if live is not None else None

    solara.use_effect(register, [live])


@solara.component
def Layout(children: list = []):  # noqa: B006 - Solara's signature for layouts
    """No app bar or drawer: each page lays itself out."""
    return solara.Column(children=children, style={"padding": "0", "gap": "0"})


def html(tag: str, inner: str, cls: str = "", **attributes: str) -> None:
    solara.HTML(
        tag=tag, unsafe_innerHTML=inner, classes=[cls] if cls else [], attributes=attributes or None
    )


def signed(x: float) -> str:
    cls = "ws-pos" if x > 0 else "ws-neg" if x < 0 else ""
    return f"<span class='{cls}'>{escape(money(x))}</span>"


def seat_words(snap: RoomSnapshot, seat: str) -> str:
    return snap.names.get(seat, seat)


def decision_words(info: RoomSnapshot | RoomInfo, d: Mapping[str, Any], member: bool) -> str:
    """A decision in words, with the names of its minerals and of a side offer's target
    (`describe_decision`); `member`: the seat was asked whether it stays in the bloc."""
    return describe_decision(d, {**info.mineral_names, **info.names}, member)


def status_line(snap: RoomSnapshot) -> str:
    if snap.phase == LOBBY:
        return "Waiting for the facilitator to start the session."
    if snap.phase == OVER:
        return f"The session is over ({snap.rounds} rounds)."
    if snap.paused:
        return "Paused by the facilitator."
    waiting = [seat_words(snap, s) for s in snap.waiting_for]
    if waiting:
        return f"Round {snap.open_round} is open: waiting for {', '.join(waiting)}."
    return f"Round {snap.open_round} is open."


@solara.component
def RoundHeader(snap: RoomSnapshot, extra: str = ""):
    html("div", head_html(snap, extra), "ws-header")
    Timer(snap)


def head_html(snap: RoomSnapshot, extra: str = "") -> str:
    """The round, the members and what the room waits for."""
    return snap.shared(("head", extra), lambda: _head_html(snap, extra))


def shown_round(snap: RoomSnapshot) -> int:
    """The round a page's header names: the open one while the session runs (the round people
    decide in, as the decision panel and the narrative call it), 0 before the start, the last
    one played at the end."""
    return snap.open_round if snap.phase == RUNNING else snap.round


def _head_html(snap: RoomSnapshot, extra: str) -> str:
    day = snap.round * snap.round_days  # the open round starts on this day
    members = ", ".join(seat_words(snap, a) for a in snap.members) or "nobody"
    # data-round: rounds played (what tests and benchmarks wait on); the words: `shown_round`
    return (
        f"<div class='ws-head'><span class='ws-round' data-round='{snap.round}' "
        f"data-shown='{shown_round(snap)}' data-phase='{snap.phase}' "
        f"data-version='{snap.public_version}'>Round {shown_round(snap)} of "
        f"{snap.rounds}</span><span class='ws-muted'>day {day} · {escape(snap.title)}"
        f"{escape(extra)}</span></div>"
        f"<div class='ws-members' data-members='{'+'.join(snap.members)}'><b>Members "
        f"({len(snap.members)}):</b> {escape(members)}</div>"
        f"<div class='ws-status'>{escape(status_line(snap))}</div>" + message_banner(snap)
    )


def message_banner(snap: RoomSnapshot) -> str:
    """The facilitator's message to the room (`Room.announce`), on every page's header."""
    if not snap.message:
        return ""
    return (
        "<div class='ws-banner ws-room-message'><b>From the facilitator:</b> "
        f"<span class='ws-room-message-text'>{escape(snap.message)}</span></div>"
    )


def narrative_html(snap: RoomSnapshot, limit: int = 40) -> str:
    """The story so far, newest first; a decision a person took names them."""
    return snap.shared(("narrative", limit), lambda: _narrative_html(snap, limit))


def _narrative_html(snap: RoomSnapshot, limit: int) -> str:
    who = snap.deciders()
    items = []
    for r, kind, text, actor in snap.narrative(limit):
        person = who.get((r, actor)) if actor else None
        tag = f" <span class='ws-chip person'>{escape(person)}</span>" if person else ""
        items.append(
            f"<li class='ws-ev-{escape(kind)}'><span class='r'>round {r}</span>"
            f"{escape(story_words(snap, kind, text, actor))}{tag}</li>"
        )
    if not items:
        items = ["<li>Nothing has happened yet.</li>"]
    return "".join(items)


def seats_html(snap: RoomSnapshot, reveal: bool, me: str = "") -> str:
    """Every seat: who holds it, person or agent, and whether it has decided this round (and
    what, if `reveal`)."""
    return snap.shared(("seats", reveal, me), lambda: _seats_html(snap, reveal, me))


def _seats_html(snap: RoomSnapshot, reveal: bool, me: str) -> str:
    rows = []
    for s in snap.seats:
        holders = "<span class='ws-muted'>free</span>"
        if len(s.holder_names) > 1:
            holders = f"{escape(s.holder_names[0])} (submits), " + escape(
                ", ".join(s.holder_names[1:])
            )
        elif s.holder_names:
            holders = escape(s.holder_names[0])
        who = "person" if s.person else "agent"
        if s.person_next != s.person:
            who += " → " + ("person" if s.person_next else "agent") + " next round"
        if not s.required:
            state = "<span class='ws-muted'>nothing to decide</span>"
            if snap.phase == RUNNING and not s.person:
                state = "<span class='ws-muted'>an agent decides</span>"
        elif s.decided:
            words = decision_words(snap, s.decision, s.member) if s.decision else ""
            state = "<span class='ws-chip decided'>decided</span>" + (
                f" {escape(words)}" if reveal and words else ""
            )
        else:
            state = "<span class='ws-chip waiting'>waiting</span>"
        if snap.phase != RUNNING:
            state = ""
        if s.seat in snap.locked_seats:
            holders += " <span class='ws-chip locked'>locked</span>"
        mark = " <b>(you)</b>" if s.seat == me else ""
        status = "member" if s.member else ("supplier" if s.role == "supplier" else "outside")
        rows.append(
            f"<tr class='ws-seat-row ws-seat-row-{s.seat}' data-decided='{int(s.decided)}' "
            f"data-locked='{int(s.seat in snap.locked_seats)}' "
            f"data-required='{int(s.required)}' data-person='{int(s.person)}'>"
            f"<td><b>{escape(s.name)}</b>{mark}</td><td>{status}</td>"
            f"<td><span class='ws-chip {who.split()[0]}'>{escape(who)}</span></td>"
            f"<td>{holders}</td><td>{state}</td></tr>"
        )
    head = "<tr><th>seat</th><th></th><th>played by</th><th>people</th><th>this round</th></tr>"
    return f"<table class='ws-table ws-seats'>{head}{''.join(rows)}</table>"


# ----------------------------------------------------------------------------------------------
# The decision panel


def forecast_table(panel: Panel, yes: str, no: str) -> str:
    """The seat's payoff by component if it accepts and if it rejects (USD a year)."""
    rows = []
    for c in COMPONENTS:
        a, r = panel.accept.get(c, 0.0), panel.reject.get(c, 0.0)
        if abs(a) < 5e5 and abs(r) < 5e5:
            continue
        rows.append(
            f"<tr><td>{escape(COMPONENT_LABELS[c])}</td><td class='num'>{signed(a)}</td>"
            f"<td class='num'>{signed(r)}</td><td class='num'>{signed(a - r)}</td></tr>"
        )
    ta, tr = sum(panel.accept.values()), sum(panel.reject.values())
    rows.append(
        f"<tr class='total'><td>total</td><td class='num'>{signed(ta)}</td>"
        f"<td class='num'>{signed(tr)}</td><td class='num'>{signed(ta - tr)}</td></tr>"
    )
    head = (
        f"<tr><th>your payoff, USD a year</th><th class='num'>{escape(yes)}</th>"
        f"<th class='num'>{escape(no)}</th><th class='num'>difference</th></tr>"
    )
    return f"<table class='ws-table ws-forecast'>{head}{''.join(rows)}</table>"


def proposal_html(snap: RoomSnapshot, panel: Panel) -> str:
    floors = [
        f"{escape(snap.mineral_names[m].split(' (')[0])} ${f:,.0f}/t"
        for m, f in panel.floors.items()
        if f > 0
    ]
    members = ", ".join(seat_words(snap, a) for a in panel.members) or "nobody yet"
    who = seat_words(snap, panel.proposer) if panel.proposer else "the table"
    deadline = ""
    if panel.deadline is not None:
        left = max(panel.deadline - panel.elapsed, 0)
        deadline = (
            " This is the last round before the track's deadline."
            if left == 0
            else f" The track's deadline is {left} round{'s' if left != 1 else ''} away."
        )
    offtake = ""
    if panel.partners:
        names = ", ".join(seat_words(snap, a) for a in panel.partners)
        offtake = f"; offtake partners (outside, selling into the bloc's market) {escape(names)}"
        contracts = dict(panel.offtake_shares)
        if contracts:  # each partner's share where any has its own contract
            shares = ", ".join(
                f"{seat_words(snap, a)} {contracts.get(a, panel.offtake_share):.0%}"
                for a in panel.partners
            )
            offtake += f" (under contract: {escape(shares)} of their output)"
        elif panel.offtake_share < 1:
            offtake += f", {panel.offtake_share:.0%} of their output under contract"
    own = ""
    if panel.table_minerals:
        names = [snap.mineral_names[m].split(" (")[0] for m in panel.table_minerals]
        own = (
            f" The {escape(panel.table)} table negotiates its own minerals' floors: "
            f"{escape(listed(names))} (the agents' counters name only these; the bloc's other "
            "floors are set at other tables)."
        )
    return (
        f"<p><b>On the table</b> (proposed by {escape(who)}): members {escape(members)}; "
        f"floors {escape(', '.join(floors) or 'none')}; instrument "
        f"{escape(INSTRUMENTS.get(panel.instrument, panel.instrument))}; outsider penalty "
        f"{panel.penalty:.0%}; floor support shared {escape(panel.cost_sharing)}{offtake}."
        f"{own}{deadline}</p>"
    )


def panel_parts(info: RoomInfo, panel: Panel) -> dict[str, Any]:
    """The live parts of a decision panel: what changes from round to round while its forms
    stay (the proposal, the forecasts; for a country, whether it joins or stays, in the words
    of its buttons)."""
    if panel.kind == "supplier":
        floored = [m for m, f in panel.floors.items() if f > 0]
        members = ", ".join(seat_words(info, a) for a in panel.members) or "nobody"
        names = ", ".join(info.mineral_names[m].split(" (")[0] for m in floored)
        instrument = INSTRUMENTS.get(panel.instrument, panel.instrument)
        return {
            "panel-intro": (
                f"You are the dominant supplier, outside the bloc. Members now: {escape(members)}."
                f" Floors on {escape(names)} ({escape(instrument)}). <b>Your move this round?</b>"
                " Flooding sinks the world price (floors get expensive to defend); export "
                "controls withhold supply from members; a side offer pays a member to leave."
            )
        }
    if panel.kind == "stay":
        return {
            "panel-intro": "<p>You are a member of the bloc. <b>Stay in, or leave?</b> The "
            "forecast compares this round with you in and with you out.</p>",
            "panel-forecast": forecast_table(panel, "if you stay", "if you leave"),
            "panel-scales": "",
            "panel-yes": {"children": ["Stay in the bloc"], "class_": "ws-stay ws-accept"},
            "panel-no": {"children": ["Leave the bloc"], "class_": "ws-leave ws-reject"},
            "panel-counter": {"style_": "display: none"},
        }
    every = "every floor" if panel.table_minerals else "floors"  # not only its table's
    scales = " · ".join(
        f"{every} x{s:g}: {money(g)}" for s, g in panel.by_scale.items() if s != 1.0
    )
    return {
        "panel-intro": proposal_html(info, panel),
        "panel-forecast": forecast_table(panel, "if you accept", "if you reject"),
        "panel-scales": f"Gain from joining at other floors: {escape(scales)} a year."
        if scales
        else "",
        "panel-yes": {"children": ["Accept"], "class_": "ws-accept"},
        "panel-no": {"children": ["Reject"], "class_": "ws-reject"},
        "panel-counter": {"style_": ""},
    }


@solara.component
def LiveButton(live: Live, name: str, part: dict[str, Any], on_click: Callable, **kwargs: Any):
    """A button whose words, classes or style the page's watcher may change in place."""
    btn = rv.Btn(**{"children": [], "class_": "", "style_": "", **kwargs, **part})
    rvue.use_event(btn, "click", lambda *_: on_click())
    solara.use_effect(lambda: live.register(name, solara.get_widget(btn)), [live, name])
    return btn


@solara.component
def CountryPanel(
    page: ParticipantPage,
    panel: Panel,
    submit: Callable,
    preview: Callable,
    choices: Callable,
    paused: bool = False,
):
    """Join or not (accept, reject, counter-propose), or stay or leave for a member: one layout,
    the words written in place when a seat that joined is asked to stay."""
    panel = page.current_panel(panel)
    live, info = page.live, page.room.info
    parts = panel_parts(info, panel)
    counter_open = solara.use_reactive(False)
    floors = solara.use_reactive(dict(panel.floors))
    penalty = solara.use_reactive(round(panel.penalty * 100))
    sharing = solara.use_reactive(panel.sharing_key or None)
    counter_forecast = solara.use_reactive({})  # with "_round": shown in its round only
    # While the form is open, its defaults follow the proposal: the page re-renders each round.
    page.sticky = counter_open.value
    solara.use_effect(lambda: lambda: setattr(page, "sticky", False), [])
    staying = panel.kind == "stay"
    # The counters an agent in the seat would weigh: asked for once a round, when the form opens.
    menu = solara.use_memo(
        lambda: choices() if counter_open.value and not staying else (),
        [counter_open.value, staying, panel.round],
    )
    Slot("panel-intro", parts["panel-intro"])
    Slot("panel-forecast", parts["panel-forecast"], "ws-forecast-box")
    Slot("panel-scales", parts["panel-scales"], "ws-muted", tag="p")
    with solara.Row(gap="8px", style={"flex-wrap": "wrap"}):
        LiveButton(
            live,
            "panel-yes",
            parts["panel-yes"],
            lambda: submit(Decision(Action.ACCEPT, Reason({}))),
            color="primary",
            disabled=paused,
        )
        LiveButton(
            live,
            "panel-no",
            parts["panel-no"],
            lambda: submit(Decision(Action.REJECT, Reason({}))),
            color="error",
            outlined=True,
            disabled=paused,
        )
        LiveButton(
            live,
            "panel-counter",
            {**parts["panel-counter"], "children": ["Counter-propose…"]},
            lambda: counter_open.set(not counter_open.value),
            outlined=True,
            class_="ws-counter-open",
            disabled=paused,
        )
    if staying or not counter_open.value:
        return
    table_penalty = round(panel.penalty * 100)

    def terms() -> dict[str, Any]:
        return form_terms(panel, floors.value, penalty.value, sharing.value)

    def fill(choice: CounterChoice) -> None:
        floors.set({m: float(choice.floors.get(m, 0.0)) for m in info.minerals})
        penalty.set(table_penalty)
        sharing.set(choice.cost_sharing or panel.sharing_key or None)
        counter_forecast.set({})

    with solara.Div(classes=["ws-panel", "ws-counter-form"]):
        html("p", counter_rule_html(info), "ws-counter-rule")
        if menu:
            with solara.Div(classes=["ws-counter-choices"]):
                solara.Text(
                    "The counters an agent in your seat would weigh (what each is worth to you "
                    "over your horizon, as the gains at other floors above, and whether the "
                    "members would agree). Choose one to fill the form:"
                )
                row = {"align-items": "center", "flex-wrap": "wrap"}
                for k, c in enumerate(menu):
                    with solara.Row(gap="8px", style=row, classes=["ws-counter-choice"]):
                        solara.Button(
                            c.label,
                            small=True,
                            outlined=True,
                            classes=[f"ws-counter-choice-{k}"],
                            on_click=lambda c=c: fill(c),
                        )
                        html("span", choice_html(c), "ws-counter-choice-note")
        TermsInputs(info, floors, penalty, sharing, "ws-counter")
        with solara.Row(gap="8px"):
            solara.Button(
                "Forecast my counter",
                outlined=True,
                classes=["ws-counter-forecast"],
                on_click=lambda: counter_forecast.set(
                    {**(preview(terms()) or {}), "_round": panel.round}
                ),
                disabled=paused,
            )
            solara.Button(
                "Send the counter-proposal",
                color="primary",
                disabled=paused,
                classes=["ws-counter-send"],
                on_click=lambda: submit(Decision(Action.COUNTER, Reason({}), terms=terms())),
            )
        f = counter_forecast.value
        if f.get("_round") == panel.round and "gain" in f:
            gain_html, verdict_html = counter_forecast_html(f)
            html("p", gain_html, "ws-counter-result")
            html("p", verdict_html, "ws-counter-verdict", **{"data-agreed": str(int(f["agreed"]))})


@solara.component
def TermsInputs(
    info: RoomInfo,
    floors: solara.Reactive,
    penalty: solara.Reactive,
    sharing: solara.Reactive,
    prefix: str,
):
    """A form's terms: each mineral's floor, the outsider penalty and the cost-sharing key (a
    counter-proposal's, `prefix` "ws-counter"; a tabled package's, "ws-table")."""
    solara.Text("Floors, USD per tonne (0 = no floor)")
    with solara.Div(classes=["ws-grid"]):
        for m in info.minerals:
            solara.InputFloat(
                info.mineral_names[m].split(" (")[0],
                value=floors.value.get(m, 0.0),
                on_value=lambda x, m=m: floors.set({**floors.value, m: float(x or 0.0)}),
                dense=True,
                continuous_update=True,
                classes=[f"{prefix}-floor-{m}"],
            )
    with solara.Div(classes=[f"{prefix}-penalty"]):
        solara.SliderInt(
            f"Outsider penalty: {penalty.value} %",
            value=penalty,
            min=0,
            max=200,
            step=5,
            tick_labels="end_points",
        )
    solara.Text("Floor support shared")
    with solara.ToggleButtonsSingle(value=sharing, dense=True, classes=[f"{prefix}-sharing"]):
        solara.Button("By consumption", value="consumption")
        solara.Button("Equal shares", value="equal")


def form_terms(
    panel: Panel, floors: Mapping[str, float], penalty: int, sharing: str | None
) -> dict[str, Any]:
    """A form's terms: every floor, and the penalty (a percentage on the form) and the
    cost-sharing key where they differ from the package's."""
    out: dict[str, Any] = {"floors": {m: float(f or 0.0) for m, f in floors.items()}}
    if penalty != round(panel.penalty * 100):
        out["penalty"] = float(penalty) / 100
    if sharing and sharing != panel.sharing_key:
        out["cost_sharing"] = sharing
    return out


@solara.component
def TableForm(page: ParticipantPage, panel: Panel, propose: Callable, preview: Callable,
              suggest: Callable, paused: bool = False):  # fmt: skip
    """The seat that tables the package this round (a convener's, or the member's whose turn
    it is), played by a person: new terms and whom to invite, the forecast of each party's
    answer before tabling them, and tabling them (once a round); or what an agent in the seat
    would table (`suggest`), with its forecast, to table as it is. A new form each round."""
    info = page.room.info
    opened = solara.use_reactive(False)
    floors = solara.use_reactive(dict(panel.floors))
    penalty = solara.use_reactive(round(panel.penalty * 100))
    sharing = solara.use_reactive(panel.sharing_key or None)
    instrument = solara.use_reactive(panel.instrument)
    invited = solara.use_reactive(list(panel.invitees))
    partners = solara.use_reactive(list(panel.partners))
    contracts = dict(panel.contract_table)
    percent = solara.use_reactive(
        {a: shown_percent(contracts.get(a, panel.offtake_share)) for a in panel.offtake_candidates}
    )
    forecast = solara.use_reactive({})
    suggested = solara.use_reactive({})
    page.sticky = page.sticky or opened.value
    if panel.tabled:
        html("p", "You have tabled the package this round: the narrative says what became of "
             "it.", "ws-table-done")  # fmt: skip
        return
    solara.Button("Table new terms…", outlined=True, classes=["ws-table-open"],
                  on_click=lambda: opened.set(not opened.value), disabled=paused)  # fmt: skip
    if not opened.value:
        return

    def terms() -> dict[str, Any]:
        out = form_terms(panel, floors.value, penalty.value, sharing.value)
        if instrument.value and instrument.value != panel.instrument:
            out["instrument"] = instrument.value
        return {**out, **offtake_terms(panel, partners.value, percent.value)}

    def chosen() -> list[str]:
        return [a for a in panel.invitees if a in invited.value]

    with solara.Div(classes=["ws-panel", "ws-table-form"]):
        html("p", table_rule_html(info), "ws-table-rule")
        TermsInputs(info, floors, penalty, sharing, "ws-table")
        solara.Text("Instrument that defends the floors")
        with solara.ToggleButtonsSingle(
            value=instrument, dense=True, classes=["ws-table-instrument"]
        ):
            for key, label in INSTRUMENTS.items():
                solara.Button(label, value=key)
        OfftakeInputs(info, panel, partners, percent)
        if panel.invitees:
            solara.Text("Invite")
            with solara.Row(gap="12px", style={"flex-wrap": "wrap"}, classes=["ws-table-invitees"]):
                for a in panel.invitees:
                    tick_box(info.names[a], a, panel.invitees, invited, f"ws-table-invite-{a}")
        with solara.Row(gap="8px"):
            solara.Button(
                "Forecast my package",
                outlined=True,
                classes=["ws-table-forecast"],
                on_click=lambda: forecast.set(
                    {**(preview(terms(), chosen()) or {}), "_round": panel.round}
                ),
                disabled=paused,
            )
            solara.Button(
                "Table the package",
                color="primary",
                classes=["ws-table-send"],
                on_click=lambda: propose(terms(), chosen()),
                disabled=paused,
            )
            solara.Button(
                "What would an agent table?",
                outlined=True,
                classes=["ws-table-suggest"],
                on_click=lambda: suggested.set({**(suggest() or {}), "_round": panel.round}),
                disabled=paused,
            )
        f = forecast.value
        if f.get("_round") == panel.round and "value" in f:
            value_html, invitees_html = table_forecast_html(f)
            html("p", value_html, "ws-table-result")
            html("p", invitees_html, "ws-table-invitees-forecast")
            html("p", f"<b>{escape(f['verdict'])}</b>", "ws-table-verdict",
                 **{"data-agreed": str(int(f["agreed"]))})  # fmt: skip
        g = suggested.value
        if g.get("_round") == panel.round and "terms" in g:
            with solara.Div(classes=["ws-table-suggestion"]):
                html("p", suggestion_html(g), "ws-table-suggestion-words")
                value_html, invitees_html = table_forecast_html(g)
                html("p", value_html, "ws-table-suggestion-result")
                html("p", invitees_html, "ws-table-suggestion-invitees")
                html("p", f"<b>{escape(g['verdict'])}</b>", "ws-table-suggestion-verdict",
                     **{"data-agreed": str(int(g["agreed"]))})  # fmt: skip
                solara.Button(
                    "Table this package",
                    color="primary",
                    classes=["ws-table-suggest-send"],
                    on_click=lambda: propose(g["terms"], g["invited"]),
                    disabled=paused,
                )


@solara.component
def OfftakeInputs(
    info: RoomInfo, panel: Panel, partners: solara.Reactive, percent: solara.Reactive
):
    """A tabled package's offtake: which producers outside the bloc sell into its market on
    its terms (`Panel.offtake_candidates`, ticked where they are partners in force), and the
    share of each one's output under contract, in percent (shown where it is ticked)."""
    if not panel.offtake_candidates:
        return
    html(
        "p",
        "<b>Offtake partners</b>: producers outside the bloc that sell into its market on its "
        "terms (at its price, or the floor with price-gap payments), and the share of their "
        "output under contract. With no outsider penalty and either no floor or a stockpile "
        "(which buys on the world market), offtake changes nothing.",
        "ws-table-offtake-rule",
    )
    with solara.Row(
        gap="20px",
        style={"flex-wrap": "wrap", "align-items": "center"},
        classes=["ws-table-offtake"],
    ):
        for a in panel.offtake_candidates:
            with solara.Row(gap="6px", style={"align-items": "center"}):
                tick_box(info.names[a], a, panel.offtake_candidates, partners,
                         f"ws-table-partner-{a}")  # fmt: skip
                if a in partners.value:
                    solara.InputFloat(
                        "% under contract",
                        value=percent.value.get(a),
                        on_value=lambda x, a=a: percent.set({**percent.value, a: x}),
                        optional=True,  # emptied: None, which the room refuses in words
                        dense=True,
                        continuous_update=True,
                        suffix="%",
                        style={"width": "120px"},
                        classes=[f"ws-table-share-{a}"],
                    )


def shown_percent(share: float) -> float:
    """A contract share as the form shows it, in percent to six places (7.0, not
    7.000000000000001)."""
    return round(100 * share, 6)


def tick_box(label: str, a: str, order: Sequence[str], chosen: solara.Reactive, cls: str) -> None:
    """A tick box for `a` in the list `chosen`, which it keeps in `order` (whom a package
    invites, or its offtake partners)."""
    rv.Checkbox(
        label=label,
        v_model=a in chosen.value,
        hide_details=True,
        on_v_model=lambda on: chosen.set(
            [b for b in order if (b == a and on) or (b != a and b in chosen.value)]
        ),
        class_=cls,
    )


def offtake_terms(
    panel: Panel, partners: Sequence[str], percent: Mapping[str, float | None]
) -> dict[str, Any]:
    """A form's offtake terms where they differ from those in force: ``partners``, the
    candidates ticked (`Panel.offtake_candidates`, which holds every partner in force), and
    ``offtake_shares``, the table in force with each ticked partner's share (`percent`, in
    percent): its own where it differs from every partner's share (`offtake_share`), none
    where it equals it; entries for those not ticked stay (they wait until they are
    partners). A share the person left empty is sent as None, which the room refuses in
    words."""
    out: dict[str, Any] = {}
    chosen = sorted(a for a in panel.offtake_candidates if a in partners)
    if chosen != sorted(panel.partners):
        out["partners"] = chosen
    before = dict(panel.contract_table)
    table = dict(before)

    def same(x: float | None, y: float) -> bool:  # in percent, as the form shows a share
        return x is not None and abs(x - shown_percent(y)) < 1e-9

    for a in chosen:
        x = percent.get(a)
        if same(x, table.get(a, panel.offtake_share)):
            continue
        if same(x, panel.offtake_share):
            del table[a]
        else:
            table[a] = None if x is None else float(x) / 100
    if table != before:
        out["offtake_shares"] = table
    return out


def table_rule_html(info: RoomInfo) -> str:
    """Who decides a tabled package, for the top of the form."""
    return (
        "<b>Table new terms.</b> You table the package this round (once). The other members "
        f"decide its new terms ({escape(info.agreement)}): each says yes if the bloc you expect "
        "on them leaves it no worse off than the bloc as it stands. Agreed, the terms are the "
        "bloc's and those you invite answer on them (those you leave out are not asked this "
        "round); refused, nothing changes."
    )


def suggestion_html(g: Mapping[str, Any]) -> str:
    """What an agent convener's design search would table at the seat (`Room.suggest_proposal`),
    in sentences of HTML: the terms, whom it invites, whether an agent in the seat designs this
    round, and what it would rather have tabled that the members would refuse."""
    invited = listed(list(g["invited_names"])) or "nobody"
    text = (
        f"<b>Designing the package, an agent in your seat would table</b> "
        f"{escape(g['summary'])}, inviting {escape(invited)}: of the packages it expects the "
        "members to accept, the one that serves the seat's aims best."
    )
    if not g["agent_designs"]:
        text += (" (An agent in your seat does not design the package this round: it would "
                 "table the terms in force.)")  # fmt: skip
    if g.get("rather"):
        text += f" It would rather have tabled {escape(g['rather'])}."
    return text


def table_forecast_html(f: Mapping[str, Any]) -> tuple[str, str]:
    """A package's forecast (`Room.preview_proposal`) as two sentences of HTML: its worth to
    the seat, and whom it expects to accept (each invitee's gain from joining as the seat
    forecasts it)."""
    value = (
        ("If it is agreed, the" if f["changes"] else "The")
        + f" bloc you expect on these terms against the bloc as it stands: "
        f"<b>{signed(f['value'])}</b> a year to you ({escape(f['words'])})."
    )
    said = [
        f"{escape(name)} {'accepts' if yes else 'refuses'} ({signed(gain)} a year to it)"
        for name, gain, yes in f["invitees"]
    ]
    invitees = "You expect: " + ("; ".join(said) if said else "nobody is invited") + "."
    return value, invitees


def counter_rule_html(info: RoomInfo) -> str:
    """Who decides a counter-proposal, for the top of the form."""
    return (
        f"<b>Your counter-proposal.</b> The members decide it ({escape(info.agreement)}): each "
        "says yes if your joining on these terms leaves it no worse off than the bloc without "
        "you. Agreed, you join and the terms are the bloc's; refused, it changes nothing: you "
        "stay out and the package stays as it is."
    )


def choice_html(c: CounterChoice) -> str:
    """A named counter's value to the seat and the members' expected answers, in a line."""
    said = ", ".join(f"{escape(name)} {'yes' if yes else 'no'}" for name, yes in c.answers)
    fate = "would be agreed" if c.agreed else "would be refused"
    return f"{signed(c.value)} a year to you; {fate}" + (f" ({said})" if said else "")


def counter_forecast_html(f: Mapping[str, Any]) -> tuple[str, str]:
    """A counter's forecast (`Room.preview_counter`) as two sentences of HTML: its value to the
    seat by component, and each member's answer with the verdict under the agreement rule."""
    d = {c: x for c, x in f["gain"].items() if c in COMPONENT_LABELS}
    items = [f"{escape(COMPONENT_LABELS[c])} {signed(x)}" for c, x in d.items() if abs(x) >= 5e5]
    gain = (
        "If it is agreed, joining on these terms against staying out, over your horizon: "
        f"<b>{signed(sum(d.values()))}</b> a year ({'; '.join(items) or 'no change'})."
    )
    return gain, f"<b>{escape(f['verdict'])}</b>"


@solara.component
def SupplierPanel(
    page: ParticipantPage, panel: Panel, submit: Callable, preview: Callable, paused: bool = False
):
    """The supplier's move (`paused`: its buttons wait while the room is paused)."""
    panel = page.current_panel(panel)
    info = page.room.info
    action = solara.use_reactive("normal")
    chosen = solara.use_reactive({})
    intensity = solara.use_reactive(50)
    target = solara.use_reactive(panel.members[0] if panel.members else "")
    offer = solara.use_reactive(1.0)
    result = solara.use_reactive({})
    # A forecast shown is for its round, a side offer's choice of country follows the members,
    # and a move chosen (not selling normally) starts afresh next round: then the page
    # re-renders when the round changes, and this form, keyed by its round, is a new one.
    page.sticky = bool(result.value) or action.value != "normal"
    solara.use_effect(lambda: lambda: setattr(page, "sticky", False), [])
    Slot("panel-intro", panel_parts(info, panel)["panel-intro"], tag="p")
    with solara.ToggleButtonsSingle(value=action, classes=["ws-supplier-action"]):
        for code, label in SUPPLIER_ACTIONS.items():
            solara.Button(label, value=code, classes=[f"ws-move-{code}"])
    if action.value in ("flood", "export_controls"):
        solara.Text("Minerals")
        with solara.Div(classes=["ws-grid", "ws-supplier-minerals"]):
            for m in info.minerals:
                with solara.Div(classes=[f"ws-mineral-{m}"]):
                    solara.Checkbox(
                        label=info.mineral_names[m].split(" (")[0],
                        value=bool(chosen.value.get(m)),
                        on_value=lambda x, m=m: chosen.set({**chosen.value, m: x}),
                    )
        with solara.Div(classes=["ws-supplier-intensity"]):
            solara.SliderInt(
                f"Intensity: {intensity.value} %",
                value=intensity,
                min=5,
                max=100,
                step=5,
                tick_labels="end_points",
            )
    if action.value == "side_offer":
        countries = [a for a in info.countries if a in panel.members] or list(info.countries)
        with solara.Div(classes=["ws-supplier-target"]):
            solara.Select("To", values=countries, value=target, dense=True)
        solara.InputFloat(
            "Offer, $bn a year", value=offer, classes=["ws-supplier-offer"], continuous_update=True
        )

    def move() -> SupplierMove:
        a = SupplierAction(action.value)
        minerals = tuple(m for m in info.minerals if chosen.value.get(m))
        if a in (SupplierAction.FLOOD, SupplierAction.EXPORT_CONTROLS):
            return SupplierMove(a, minerals, intensity.value / 100)
        if a is SupplierAction.SIDE_OFFER:
            return SupplierMove(a, (), 0.0, target.value, float(offer.value or 0) * 1e9)
        return SupplierMove(a)

    with solara.Row(gap="8px"):
        solara.Button(
            "Forecast this move",
            outlined=True,
            classes=["ws-supplier-forecast"],
            on_click=lambda: result.set({**(preview(move()) or {}), "_round": panel.round}),
            disabled=paused,
        )
        solara.Button(
            "Make this move",
            color="primary",
            disabled=paused,
            classes=["ws-supplier-send"],
            on_click=lambda: submit(move()),
        )
    if result.value.get("_round") == panel.round and "margins" in result.value:
        r = result.value
        margins = "; ".join(
            f"{escape(seat_words(info, a))} {signed(g)}" for a, g in r["margins"].items()
        )
        html(
            "p",
            f"With today's members: your payoff {signed(r['utility'])} a year against "
            f"{signed(r['normal'])} selling normally. Members' gain from staying in: "
            f"{margins or 'no members'}.",
            "ws-supplier-result",
        )


def notes_html(snap: RoomSnapshot, me: Participant | None, seat: str) -> str:
    """Above the decision panel: what the seat has to do this round (or why nothing)."""
    state = snap.seat(seat)
    panel = snap.panels.get(seat)
    notes = []
    if snap.phase == LOBBY:
        notes.append(
            "<p class='ws-banner'>The session has not started: the facilitator starts it when "
            "the seats are taken.</p>"
        )
    elif snap.phase == OVER:
        notes.append("<p class='ws-banner'>The session is over. Thank you!</p>")
    elif panel is None:
        if state.person_next and not state.person:
            text = f"An agent plays {state.name} this round; you decide from the next round."
        else:
            text = f"Nothing for {state.name} to decide this round: waiting for the others."
        notes.append(f"<p class='ws-nothing'>{escape(text)}</p>")
        if seat in snap.idle:  # outside the bloc, not asked: why, until when, what it misses
            notes.append(f"<p class='ws-idle'>{escape(snap.idle[seat])}</p>")
        if seat in snap.asks_back:
            notes.append(
                f"<p class='ws-asked-back ws-muted'>You asked the facilitator to invite "
                f"{escape(state.name)} back: they have your request.</p>"
            )
    else:
        notes.append(f"<h3>Round {panel.round}: your decision as {escape(state.name)}</h3>")
        if state.decided and state.decision:
            words = decision_words(snap, state.decision, panel.kind == "stay")
            notes.append(
                f"<p class='ws-decided'>Decided: <b>{escape(words)}</b> (by "
                f"{escape(state.decided_by)}). You can change it until the round closes.</p>"
            )
        elif not snap.solo:  # what the room does for the seat if it stays silent
            notes.append(f"<p class='ws-default ws-muted'>{escape(default_words(snap, panel))}</p>")
        submitter = bool(me and state.holders and state.holders[0] == me.id)
        if not submitter and me is not None and me.seat == seat:
            notes.append(
                f"<p class='ws-muted'>{escape(state.submitter_name)} submits for your team: "
                "talk it over with them.</p>"
            )
        if snap.paused:
            notes.append(
                "<p class='ws-banner ws-paused'>Paused by the facilitator: you can decide once "
                "they resume.</p>"
            )
    return "".join(notes)


def default_words(snap: RoomSnapshot, panel: Panel) -> str:
    """What is done for a seat that has not decided when its round closes (`Room._play`: an
    agent answers for a silent invitee, a member stays, the supplier sells normally)."""
    name = seat_words(snap, panel.seat)
    if panel.kind == "supplier":
        default = "you sell normally"
    elif panel.kind == "stay":
        default = f"{name} stays in the bloc"
    else:
        default = f"an agent decides for {name} (as it would have, had no person taken the seat)"
    when = (
        "its time runs out or the facilitator closes it"
        if snap.time_left is not None
        else "the facilitator closes it"
    )
    return f"Not decided yet. If the round closes before you decide ({when}), {default}."


def message_html(message: tuple[int, str, str], open_round: int) -> str:
    """The answer to the page's last request (an error, or what was sent), in its round only."""
    r, kind, text = message
    if not text or r != open_round:
        return ""
    return f"<div class='{'ws-error' if kind == 'error' else 'ws-ok'}'>{escape(text)}</div>"


def _family(panel: Panel | None) -> str | None:
    """Panels with the same layout: a country's (joining or staying) or the supplier's."""
    if panel is None:
        return None
    return "supplier" if panel.kind == "supplier" else "country"


class ParticipantPage:
    """A participant's page: its layout and live parts for each snapshot (see `Live`), and what
    it remembers between renders (the answer to its last request)."""

    def __init__(self, room: Room, token: str, seat_in_link: str = "") -> None:
        self.room = room
        self.token = token
        self.seat_in_link = seat_in_link
        self.message: tuple[int, str, str] = (0, "", "")  # (open round, kind, text)
        #: the decision panel has state that belongs to its round (a form, a forecast)
        self.sticky = False
        #: each country seat's last panel, kept (hidden) in rounds the seat has nothing to
        #: decide: its coming and going is then not a new layout (a re-render of the page)
        self.kept: dict[str, Panel] = {}
        self.live = Live(room.snapshot(), self.layout, self.parts)

    def who(self, snap: RoomSnapshot) -> tuple[Participant | None, str | None]:
        """The person and the seat the page acts for (None if neither): always the person's
        own seat. A `seat=` in the link is ignored (`ignored_seat` says so on the page): the
        token is the credential, and another seat's panel would show its pending decision
        and private forecast."""
        me = snap.by_token(self.token)
        if me is None or me.removed:
            return me, None
        return me, me.seat

    def ignored_seat(self, snap: RoomSnapshot) -> bool:
        """Whether the link names a seat that is not the person's (and so is ignored)."""
        me = snap.by_token(self.token)
        return bool(self.seat_in_link) and (me is None or self.seat_in_link != me.seat)

    def panel(self, snap: RoomSnapshot, seat: str) -> tuple[Panel | None, bool]:
        """The seat's decision panel on this page, and whether it is hidden: a country seat
        with nothing to decide this round keeps its last panel, hidden."""
        panel = snap.panels.get(seat)
        if panel is not None:
            if panel.kind != "supplier":
                self.kept[seat] = panel
            return panel, False
        kept = self.kept.get(seat) if snap.phase == RUNNING and not snap.solo else None
        return kept, kept is not None

    def layout(self, snap: RoomSnapshot) -> tuple:
        """What the page's structure depends on: when it changes, the page re-renders."""
        me, seat = self.who(snap)
        if me is None or me.removed:
            return ("refused", me is not None)
        key: tuple = (me.name, me.seat, seat, snap.phase, snap.solo, timer_part(snap) is None,
                      snap.settings.seats_locked, seat in snap.locked_seats)  # fmt: skip
        if not seat:  # the seat chooser
            seats = tuple((s.seat, s.holder_names) for s in snap.seats)
            return (*key, snap.settings.teams, seats, snap.locked_seats)
        panel, _ = self.panel(snap, seat)
        key += (_family(panel),)  # joining, staying or none this round: the same layout
        if panel is not None and panel.tablings:  # new terms tabled this round: new forms
            key += (panel.round, panel.tablings)
        if panel is not None and panel.proposes:  # the seat tables the package: its own form
            key += (panel.round, panel.tabled)
        key += (snap.paused,)  # the panel's buttons are disabled while the room is paused
        if panel is not None and self.sticky:
            key += (panel.round,)
        if snap.solo:  # the charts
            key += (snap.round, len(snap.room_events))
        return key

    def parts(self, snap: RoomSnapshot) -> dict[str, Any]:
        """The text of each live part, in the order of the page (`.ws-end`, at the bottom,
        comes last)."""
        me, seat = self.who(snap)
        if me is None or me.removed:
            return {}
        out: dict[str, Any] = {"head": head_html(snap, self.extra(snap, me))}
        timer = timer_part(snap)
        if timer is not None:
            out["timer"] = timer
        if seat:
            out["notes"] = notes_html(snap, me, seat)
            panel, hidden = self.panel(snap, seat)
            if panel is not None and not hidden:
                out.update(snap.shared(("panel", seat), lambda: panel_parts(snap.info, panel)))
            out["panel-box"] = {"class_": "" if hidden or panel is None else panel_class(seat)}
            out["panel-body"] = {"style_": "display: none" if hidden else ""}
            out["message"] = message_html(self.message, snap.open_round)
            out["ask-back"] = ask_back_part(snap, seat)
            out["last"] = _last_round_html(snap, seat)
        reveal = snap.settings.show_decisions or snap.solo
        out["lower"] = snap.shared(
            ("lower", reveal, me.seat), lambda: _lower_html(snap, reveal, me.seat)
        )
        return out

    @staticmethod
    def extra(snap: RoomSnapshot, me: Participant) -> str:
        """After the header's title: who the page is for, and a warning when the person's
        private link is open on several pages (a second device may be someone else's)."""
        text = f" · you: {me.name}" + (f", {snap.names[me.seat]}" if me.seat else "")
        if me.devices > 1:
            text += (
                f" · your link is open on {me.devices} devices: if one is not yours, tell the "
                "facilitator (they can give you a new link)"
            )
        return text

    def current_panel(self, panel: Panel) -> Panel:
        """The seat's panel in the newest snapshot (the page may have moved on by a push since
        it last rendered), if it has the same layout."""
        new = self.live.snap.panels.get(panel.seat)
        return new if _family(new) == _family(panel) else panel

    def refresh(self) -> None:
        self.live.update(self.room.snapshot())

    def ask_back(self) -> None:
        """Ask the facilitator to invite the seat back into the bloc (`Room.ask_back`)."""
        r = self.live.snap.open_round
        try:
            self.room.ask_back(self.token)
        except WorkshopError as e:
            self.message = (r, "error", str(e))
        self.refresh()

    def actions(self, seat: str) -> tuple[Callable, ...]:
        """Submit, the forecasts and the named counters, and tabling a package (its forecast,
        then tabling it; and what an agent's design would table there), for `seat`; the room
        checks the token (server side)."""
        room, token = self.room, self.token

        def guarded(fn: Callable[[], Any]) -> Any:
            r = self.live.snap.open_round
            try:
                out = fn()
            except WorkshopError as e:
                self.message = (r, "error", str(e))
                return None
            self.message = (r, "", "")
            return out

        def submit(decision: Any) -> None:
            r = self.live.snap.open_round
            seen = self.live.shown_round()  # the decision is for the round the person saw
            if guarded(lambda: room.submit(token, seat, decision, for_round=seen) or True):
                panel = self.live.snap.panels.get(seat)
                member = panel is not None and panel.kind == "stay"
                words = decision_words(room.info, encode_decision(decision), member)
                self.message = (r, "ok", f"Sent: {words}.")
            self.refresh()

        def preview_counter(terms: dict) -> dict | None:
            out = guarded(lambda: room.preview_counter(token, terms))
            self.refresh()
            return out

        def preview_move(move: SupplierMove) -> dict | None:
            out = guarded(lambda: room.preview_move(token, move))
            self.refresh()
            return out

        def counter_choices() -> tuple[CounterChoice, ...]:
            try:
                return room.counter_choices(token)
            except WorkshopError:
                return ()

        def preview_proposal(terms: dict, invited: list[str]) -> dict | None:
            out = guarded(lambda: room.preview_proposal(token, terms, invited))
            self.refresh()
            return out

        def suggest_proposal() -> dict | None:
            out = guarded(lambda: room.suggest_proposal(token))
            self.refresh()
            return out

        def propose(terms: dict, invited: list[str]) -> None:
            r = self.live.snap.open_round
            seen = self.live.shown_round()
            f = guarded(lambda: room.propose(token, seat, terms, invited, for_round=seen))
            if f is not None:
                fate = (
                    "the members agreed" if f["agreed"] else "the members refused it"
                ) if f["changes"] else "nothing for the members to decide"  # fmt: skip
                self.message = (r, "ok", f"Tabled: {f['words']}; {fate}.")
            self.refresh()

        return (submit, preview_counter, preview_move, counter_choices, preview_proposal,
                propose, suggest_proposal)  # fmt: skip


@solara.component
def DecisionArea(page: ParticipantPage, seat: str, notes: str, message: str, tabled: tuple = ()):
    """The seat's panel when it must decide (or why there is nothing to decide); the panel's
    box and body are live parts, so the panel can hide and come back in place. `tabled`, (the
    round, how many times people tabled new terms in it; () for none): new terms tabled within
    the round render it again, with new forms."""
    submit, preview_counter, preview_move, choices, preview_proposal, propose, suggest = (
        solara.use_memo(lambda: page.actions(seat), [seat])
    )
    snap = page.live.snap
    panel, hidden = page.panel(snap, seat)
    box_class = "" if hidden or panel is None else panel_class(seat)
    with rv.Html(tag="div", class_=box_class) as box:
        Slot("notes", notes, "ws-notes")
        with rv.Html(tag="div", style_="display: none" if hidden else "") as body:
            if panel is not None and snap.phase == RUNNING:
                # The page re-renders on a pause (its layout): the buttons wait while paused.
                # A new form each round, and when a person tables new terms within it.
                again = f"-{panel.round}-{panel.tablings}" if panel.tablings else ""
                if panel.kind == "supplier":
                    SupplierPanel(page, panel, submit, preview_move, snap.paused).key(
                        f"supplier{panel.round}{again}"
                    )
                else:
                    CountryPanel(page, panel, submit, preview_counter, choices, snap.paused).key(
                        f"country{again}"
                    )
                    if panel.proposes:
                        TableForm(page, panel, propose, preview_proposal, suggest, snap.paused).key(
                            f"table{panel.round}{again}"
                        )
    if seat != snap.supplier:  # shown (in place) while the seat waits to be invited back
        LiveButton(page.live, "ask-back", ask_back_part(snap, seat), page.ask_back, outlined=True)
    Slot("message", message, "ws-message")

    def register() -> Callable[[], None]:
        off_box = page.live.register("panel-box", solara.get_widget(box))
        off_body = page.live.register("panel-body", solara.get_widget(body))

        def unregister() -> None:
            off_box()
            off_body()

        return unregister

    solara.use_effect(register, [page.live])


def ask_back_part(snap: RoomSnapshot, seat: str) -> dict[str, Any]:
    """The button that asks the facilitator to invite a seat that left the bloc back (shown
    while it cools off and has not asked yet), as a live part: it comes and goes in place."""
    shown = snap.phase == RUNNING and seat in snap.cooling and seat not in snap.asks_back
    return {
        "children": [f"Ask the facilitator to invite {seat_words(snap, seat)} back"],
        "class_": "ws-ask-back",
        "style_": "" if shown else "display: none",
    }


def panel_class(seat: str) -> str:
    """The classes of a seat's decision box while it has something to decide."""
    return f"ws-panel ws-decision ws-decision-{seat}"


# ----------------------------------------------------------------------------------------------
# Participant


@solara.component
def SeatChooser(room: Room, snap: RoomSnapshot, token: str, refresh: Callable):
    error = solara.use_reactive("")
    me = snap.by_token(token)

    def claim(seat: str) -> None:
        try:
            room.claim(token, seat)
            error.set("")
        except WorkshopError as e:
            error.set(str(e))
        refresh()

    html("h3", "Choose a seat")
    if snap.settings.seats_locked:
        html("p", "The facilitator assigns the seats: wait for yours.", "ws-muted ws-locked")
        return
    if snap.phase == RUNNING:
        html(
            "p",
            "The session is running: a seat you take now is yours from the next round.",
            "ws-muted",
        )
    with solara.Div(classes=["ws-seat-list"]):
        for s in snap.seats:
            with solara.Row(
                gap="10px", style={"align-items": "center"}, classes=[f"ws-choose-row-{s.seat}"]
            ):
                html("span", f"<b>{escape(s.name)}</b>", style="min-width: 160px")
                if me is not None and me.seat == s.seat:
                    solara.Text("your seat")
                elif s.seat in snap.locked_seats:
                    kept = f" (kept for {', '.join(s.holder_names)})" if s.holder_names else ""
                    html(
                        "span",
                        escape(f"locked by the facilitator{kept}"),
                        f"ws-muted ws-locked-{s.seat}",
                    )
                elif not s.holders:
                    solara.Button(
                        "Take this seat",
                        color="primary",
                        outlined=True,
                        on_click=lambda s=s.seat: claim(s),
                        classes=[f"ws-choose-{s.seat}"],
                    )
                elif snap.settings.teams:
                    solara.Button(
                        f"Join the team ({', '.join(s.holder_names)})",
                        outlined=True,
                        on_click=lambda s=s.seat: claim(s),
                        classes=[f"ws-choose-{s.seat}"],
                    )
                else:
                    solara.Text(f"taken by {s.holder_names[0]}", classes=["ws-muted"])
    if error.value:
        html("div", escape(error.value), "ws-error")


@solara.component
def ParticipantView(room: Room, token: str, seat_in_link: str = "", navigate=None):
    """A participant's page. It re-renders only when its layout changes; the rest of the time
    its watcher writes the live parts in place (see `Live`)."""
    page = solara.use_memo(
        lambda: ParticipantPage(room, token, seat_in_link), [room, token, seat_in_link]
    )
    live = page.live
    _, set_renders = solara.use_state(0, key="ws-renders")
    live.rerender = lambda: set_renders(lambda n: n + 1)
    solara.use_thread(watcher(room, True, live.update), dependencies=[page], intrusive_cancel=False)

    def attach():
        try:
            return room.attach(token, client_id())
        except WorkshopError:
            return None

    solara.use_effect(attach, [room, token])
    snap = live.snap
    layout = page.layout(snap)
    solara.use_effect(lambda: live.after_render(layout))  # after every render
    refresh = page.refresh
    me, seat = page.who(snap)
    if me is None or me.removed:
        message = (
            "The facilitator removed you from this room."
            if me
            else REPLACED_LINK
            if room.replaced(token)
            else "This link is not valid in this room."
        )
        html("p", escape(message), "ws-error ws-refused")
        if navigate:
            solara.Button(
                "Join again",
                on_click=lambda: navigate(link("join", room=room.code)),
                classes=["ws-join-again"],
            )
        return
    parts = page.parts(snap)
    solara.Title(f"Bloc · {me.name}" + (f" · {snap.names.get(seat, '')}" if seat else ""))
    Carrier(live)
    HeaderSlot(live, snap, parts["head"])
    Timer(snap, live)
    html("div", "", "ws-me", **{"data-seat": me.seat or "", "data-name": me.name})
    if page.ignored_seat(snap):
        if seat_in_link in snap.locked_seats:
            # A locked seat's link, opened by someone who does not hold it: refused, said.
            html(
                "p",
                escape(room.locked_refusal(seat_in_link) + " This page shows your own seat."),
                "ws-error ws-seat-ignored ws-seat-locked",
            )
        else:
            html(
                "p",
                "The seat named in this link is ignored: this page shows only your own seat.",
                "ws-error ws-seat-ignored",
            )
    if snap.finished:  # the layout changes with the phase: this page re-renders once, here
        summary = snap.shared(("summary", me.id), lambda: summary_html(snap, me))
        html("div", summary, "ws-summary", **{"data-seat": me.seat or ""})
    if seat:
        panel = snap.panels.get(seat)
        tabled = (panel.round, panel.tablings) if panel is not None and panel.tablings else ()
        DecisionArea(page, seat, parts["notes"], parts["message"], tabled).key(f"d{seat}")
        Slot("last", parts["last"], "ws-last ws-muted")
        if snap.solo and snap.phase == RUNNING and panel is None:
            solara.Button(
                "Play the next round",
                color="primary",
                classes=["ws-play-on"],
                on_click=lambda: _safe(lambda: room.play_on(token), refresh),
            )
    elif not snap.finished:  # at the end there is no seat to take
        SeatChooser(room, snap, token, refresh)
    if (
        me.seat
        and not snap.finished
        and not snap.solo
        and not snap.settings.seats_locked
        and me.seat not in snap.locked_seats
    ):
        with solara.Row(gap="8px"):
            solara.Button(
                "Give up my seat (to take another)",
                text=True,
                classes=["ws-leave-seat"],
                on_click=lambda: _safe(lambda: room.release(token), refresh),
            )
    Slot("lower", parts["lower"], "ws-lower")
    if snap.solo:
        SoloExtras(room, snap)
    mine_url = base_url() + link("join", room=room.code, token=token)
    html(
        "p",
        "Your private link (keep it to come back to your seat): "
        f"<code class='ws-my-link'>{escape(mine_url)}</code>",
        "ws-muted",
    )


def _last_round_html(snap: RoomSnapshot, seat: str) -> str:
    """What the seat did in the round just played, and what came of it."""
    if snap.round < 1:
        return ""
    return snap.per_round(("last", seat), lambda: _last_round(snap, seat))


def _last_round(snap: RoomSnapshot, seat: str) -> str:
    """The round just played, for the seat: who decided what for it (a person by name; nobody,
    when the round closed without them, and the default taken; an agent), and the narrative's
    lines about it; or that it had nothing to decide. From the records only (`per_round`)."""
    r, name = snap.round, seat_words(snap, seat)
    line = next((x for x in decision_lines(snap, seat) if x.round == r), None)
    closes = {e.text for e in snap.room_events if e.kind == "closed" and e.round == r}
    if line is None:
        said = [f"{name} had nothing to decide in round {r}."]
    elif line.person:
        what = line.words
        if line.terms and line.decision == "counter":
            what += f" ({line.terms.removeprefix('counter-propose: ')})"
        elif line.terms and line.decision in TERMS_SHOWN:
            what = line.terms  # a move: "flood Rare earths (50%)"
        said = [f"{line.person} decided for {name}: {what}."]
    elif line.human:  # a person's seat, silent when the round closed
        default = line.decision in ("stay", "normal")
        what = (
            f"it {line.words} (the default)"
            if default
            else f"an agent decided for it and it {line.words}"
        )
        said = [f"Nobody decided for {name} before round {r} closed: {what}."]
    else:
        said = [f"An agent played {name} in round {r}: it {line.words}."]
    if line is not None:
        said += [t for t in line.reasons if t not in closes and t != "The supplier sold normally."]
    if seat != snap.supplier:
        said.append(f"{name} is {'in' if seat in snap.members else 'outside'} the bloc.")
    text = " ".join(t if t.endswith((".", "!", "?")) else t + "." for t in said)
    return f"<b>Last round (round {r}):</b> {escape(text)}"


def _lower_html(snap: RoomSnapshot, reveal: bool, seat: str | None) -> str:
    """Seats and the story, in one piece (one update per round for each page); `.ws-end`
    marks that the page has the whole round."""
    return (
        f"<h3>Seats</h3>{seats_html(snap, reveal, seat or '')}<h3>What happened</h3>"
        f"<ul class='ws-events'>{narrative_html(snap, 20)}</ul>"
        f"<span class='ws-end' data-round='{snap.round}'></span>"
    )


def _safe(fn: Callable[[], Any], refresh: Callable) -> None:
    try:
        fn()
    except WorkshopError as e:
        logger.info("refused: %s", e)
    refresh()


@solara.component
def SoloExtras(room: Room, snap: RoomSnapshot):
    html("h3", "Charts")
    ChartsView(snap)
    BargainingDebrief(room, snap)
    ExportView(room, snap)


def seat_link_refusal(snap: RoomSnapshot, seat: str) -> str:
    """Why a seat's join link (`/join?room=CODE&seat=SEAT`) cannot seat a newcomer, "" if it
    can."""
    if seat not in snap.names or seat not in {s.seat for s in snap.seats}:
        return "The seat named in this link is not in this room: choose one once you have joined."
    state = snap.seat(seat)
    if seat in snap.locked_seats:
        kept = f" (it is kept for {', '.join(state.holder_names)})" if state.holder_names else ""
        return (
            f"The facilitator has locked {state.name}'s seat{kept}: this link cannot give it to "
            "you. Join to choose another seat, or ask the facilitator."
        )
    if snap.settings.seats_locked:
        return "The facilitator assigns the seats: join, then wait for yours."
    if state.holders and not snap.settings.teams:
        return f"{state.holder_names[0]} holds {state.name}'s seat: join to choose another."
    return ""


@solara.component
def JoinForm(room: Room, navigate: Callable[[str], None], seat: str = ""):
    """Join with a display name; with a seat's link (`seat`), take that seat too, unless the
    link is refused (the seat locked, taken, ...: said above the form)."""
    name = solara.use_reactive("")
    error = solara.use_reactive("")
    snap, _ = use_room(room)
    refused = seat_link_refusal(snap, seat) if seat else ""

    def join() -> None:
        try:
            p = room.join(name.value or "", client=client_id())
        except WorkshopError as e:
            error.set(str(e))
            return
        if seat and not seat_link_refusal(room.snapshot(), seat):
            with contextlib.suppress(WorkshopError):  # taken meanwhile: the chooser shows
                room.claim(p.token, seat)
        navigate(link("join", room=room.code, token=p.token))

    html("h2", f"Join room <span class='ws-code'>{escape(room.code)}</span>")
    html("p", f"{escape(snap.title)}: {escape(room.config.meta.summary)}", "ws-muted")
    if seat and refused:
        html("p", escape(refused), "ws-error ws-seat-refused")
    elif seat:
        html("p", f"This link seats you as <b>{escape(snap.names[seat])}</b>.", "ws-seat-offered")
    solara.InputText("Your display name", value=name, continuous_update=True, classes=["ws-name"])
    solara.Button("Join", color="primary", on_click=join, classes=["ws-join"])
    if error.value:
        html("div", escape(error.value), "ws-error")


@solara.component
def CodeForm(navigate: Callable[[str], None], message: str = ""):
    code = solara.use_reactive("")
    if message:
        html("div", escape(message), "ws-error")
    solara.InputText("Room code", value=code, continuous_update=True, classes=["ws-code-input"])
    solara.Button(
        "Go to the room",
        color="primary",
        classes=["ws-code-go"],
        on_click=lambda: navigate(link("join", room=normalize_code(code.value or ""))),
    )


def use_lookup(code: str | None) -> tuple[Room | None, str]:
    """The room a page's link names, and why not if it is refused: once a code (a render may
    come again for the same link: one lookup), counted against this browser's wrong codes
    (`Workshop.lookup`)."""

    def lookup() -> tuple[Room | None, str]:
        try:
            return WORKSHOP.lookup(code, client_id()), ""
        except WorkshopError as e:
            return None, str(e)

    return solara.use_memo(lookup, [code])


@solara.component
def JoinPage():
    solara.Style(CSS)
    router = solara.use_router()
    q = query(router.search)
    room, refused = use_lookup(q.get("room"))
    with solara.Div(classes=["ws-page", "ws-participant"]):
        if room is None:
            html("h2", "Join a workshop room")
            msg = refused or (f"No room has the code {q['room']!r}." if q.get("room") else "")
            CodeForm(router.push, msg)
            return
        token = q.get("token", "")
        if not token:
            solara.Title(f"Bloc · join {room.code}")
            JoinForm(room, router.push, q.get("seat", ""))
        else:
            ParticipantView(room, token, q.get("seat", ""), router.push).key(f"{room.code}{token}")


# ----------------------------------------------------------------------------------------------
# Facilitator


@solara.component
def FacilitatorView(room: Room, key: str):
    snap, refresh = use_room(room, public=False)
    error = solara.use_reactive("")
    tab = solara.use_reactive(0)
    timer = solara.use_reactive(int(snap.settings.timer_seconds or 0))

    def do(fn: Callable[[], Any]) -> None:
        try:
            fn()
            error.set("")
        except WorkshopError as e:
            error.set(str(e))
        refresh()

    base = base_url()
    join_url = base + link("join", room=room.code)
    projector = link("projector", room=room.code)
    solara.Title(f"Bloc · facilitator · {room.code}")
    html(
        "div",
        "<b>Your page only: never on the projector.</b> Its address holds your facilitator "
        "key, and it lists every participant's private link: whoever sees them can run the "
        "room or act as a participant. Put the <b>Projector view</b> on the big screen.",
        "ws-banner ws-facilitator-warning ws-no-print",
    )
    with solara.Div(classes=["ws-head"]):
        html("span", escape(room.code), "ws-code", **{"data-code": room.code})
        html(
            "span",
            f"Participants open <a class='ws-join-url' href='{escape(join_url)}' target='_blank'>"
            f"{escape(join_url)}</a> (or {escape(base or 'this address')} and type the code). "
            f"<a class='ws-projector-link' href='{escape(projector)}' target='_blank'>"
            "Projector view</a>",
        )
    RoundHeader(snap)
    with solara.Row(gap="6px", style={"flex-wrap": "wrap", "align-items": "center"}):
        if snap.phase == LOBBY:
            solara.Button(
                "Start the session",
                color="primary",
                classes=["ws-start"],
                on_click=lambda: do(lambda: room.start(key)),
            )
        if snap.phase == RUNNING:
            solara.Button(
                "Play the round now",
                color="primary",
                classes=["ws-force"],
                on_click=lambda: do(lambda: room.force(key)),
            )
            if snap.paused:
                solara.Button(
                    "Resume",
                    outlined=True,
                    classes=["ws-resume"],
                    on_click=lambda: do(lambda: room.resume(key)),
                )
            else:
                solara.Button(
                    "Pause",
                    outlined=True,
                    classes=["ws-pause"],
                    on_click=lambda: do(lambda: room.pause(key)),
                )
            for s in (30, 60):
                solara.Button(
                    f"+{s} s",
                    text=True,
                    classes=[f"ws-extend-{s}"],
                    on_click=lambda s=s: do(lambda: room.extend(key, s)),
                )
    with solara.Row(gap="18px", style={"flex-wrap": "wrap", "align-items": "center"}):
        with solara.Div(classes=["ws-timer-setting"], style={"min-width": "200px"}):
            solara.Select(
                "Round timer",
                values=list(TIMER_CHOICES.values()),
                value=TIMER_CHOICES.get(timer.value, f"{timer.value} s"),
                on_value=lambda x: (
                    timer.set(_seconds(x)),
                    do(lambda: room.configure(key, timer_seconds=_seconds(x) or None)),
                ),
                dense=True,
            )
        with solara.Div(classes=["ws-show-decisions"]):
            solara.Checkbox(
                label="participants see others' decisions before the round closes",
                value=snap.settings.show_decisions,
                on_value=lambda x: do(lambda: room.configure(key, show_decisions=x)),
            )
        with solara.Div(classes=["ws-teams"]):
            solara.Checkbox(
                label="teams may share a seat",
                value=snap.settings.teams,
                on_value=lambda x: do(lambda: room.configure(key, teams=x)),
            )
        with solara.Div(classes=["ws-lock-seats"]):
            solara.Checkbox(
                label="lock the seats (only you assign them, in the Room tab)",
                value=snap.settings.seats_locked,
                on_value=lambda x: do(lambda: room.configure(key, seats_locked=x)),
            )
    RoomMessage(room, snap, key, do)
    if snap.phase != LOBBY:
        PracticeReset(room, snap, key, do)
    if error.value:
        html("div", escape(error.value), "ws-error")
    with solara.lab.Tabs(value=tab, lazy=True):
        with solara.lab.Tab("Room"):
            RoomTab(room, snap, key, do, base)
        with solara.lab.Tab("Charts"):
            debrief = link("debrief", room=room.code, key=key)
            html(
                "p",
                f"<a class='ws-debrief-link' href='{escape(debrief)}' target='_blank'>"
                "Printable debrief</a>: results by country, the timeline, every decision with "
                "its reasons and the comparison with agent-only runs, a section a page (print "
                "it or save it as PDF from the browser).",
            )
            AgentComparison(room, snap)
            ChartsView(snap)
            BargainingDebrief(room, snap)
        with solara.lab.Tab("Narrative"):
            html("ul", narrative_html(snap, 300), "ws-events")
        with solara.lab.Tab("Levers"):
            LeversTab(room, snap, key, do)
        with solara.lab.Tab("Export"):
            ExportView(room, snap)


@solara.component
def RoomMessage(room: Room, snap: RoomSnapshot, key: str, do: Callable):
    """The facilitator's message to the room: shown on every participant's page and on the
    projector (in their header) until taken down or replaced."""
    text = solara.use_reactive("")

    def send() -> None:
        do(lambda: room.announce(key, text.value or ""))
        text.set("")

    with solara.Row(gap="8px", style={"align-items": "center", "flex-wrap": "wrap"}):
        with solara.Div(classes=["ws-message-input"], style={"min-width": "420px"}):
            solara.InputText(
                f"Message to every page and the projector (up to {MAX_MESSAGE} characters)",
                value=text,
                continuous_update=True,
            )
        solara.Button("Show to the room", outlined=True, classes=["ws-message-send"], on_click=send)
        if snap.message:
            solara.Button(
                "Take the message down",
                text=True,
                classes=["ws-message-clear"],
                on_click=lambda: do(lambda: room.announce(key, "")),
            )


@solara.component
def PracticeReset(room: Room, snap: RoomSnapshot, key: str, do: Callable):
    """Practice over: back to round 0 with the seats kept, after a confirmation."""
    asked = solara.use_reactive(False)
    with solara.Row(gap="8px", style={"align-items": "center", "flex-wrap": "wrap"}):
        if not asked.value:
            solara.Button(
                "Practice over: reset to round 0…",
                text=True,
                classes=["ws-practice"],
                on_click=lambda: asked.set(True),
            )
            return
        html(
            "span",
            f"Throw away the {snap.round} round(s) played and go back to round 0? Everyone keeps "
            "their seat; you start the session again (the practice stays in the record).",
            "ws-banner",
        )

        def reset() -> None:
            asked.set(False)
            do(lambda: room.reset_practice(key))

        solara.Button(
            "Yes, reset to round 0",
            color="warning",
            classes=["ws-practice-confirm"],
            on_click=reset,
        )
        solara.Button(
            "Cancel", text=True, classes=["ws-practice-cancel"], on_click=lambda: asked.set(False)
        )


def _seat_by_name(snap: RoomSnapshot, name: str) -> str | None:
    """The seat a facilitator picked by its name (None for "no seat")."""
    return next((s.seat for s in snap.seats if s.name == name), None)


def _seconds(label: str) -> int:
    for s, words in TIMER_CHOICES.items():
        if words == label:
            return s
    return 0


def presence_html(p: Participant) -> str:
    """Whether a participant's private link is open, on how many pages and devices (S9: a link
    is a bearer credential, and a second device may be someone else acting as them), or when
    it was last seen."""
    if not p.sessions:
        since = time.strftime("%H:%M", time.localtime(p.last_seen))
        return (
            f"<span class='ws-offline' data-devices='0' data-pages='0'>offline</span>"
            f" <span class='ws-muted ws-last-seen'>(last seen {since})</span>"
        )
    pages = f", open on {p.sessions} pages" if p.sessions > 1 else ""
    if p.devices > 1:
        pages += f" on {p.devices} devices"
    warn = (
        " <span class='ws-chip waiting ws-devices'>several devices: one may not be theirs "
        "(New link stops the others)</span>"
        if p.devices > 1
        else ""
    )
    return (
        f"<span class='ws-online' data-devices='{p.devices}' data-pages='{p.sessions}'>online"
        f"{pages}</span>{warn}"
    )


@solara.component
def RoomTab(room: Room, snap: RoomSnapshot, key: str, do: Callable, base: str):
    new_link = solara.use_reactive("")  # the new private link the facilitator just made

    def give_new_link(pid: str) -> None:
        out: list[Participant] = []
        do(lambda: out.append(room.new_link(key, pid)))
        if out:
            url = base + link("join", room=room.code, token=out[0].token)
            new_link.set(
                f"{out[0].name}'s new private link: {url} (give it to them; the old one no "
                "longer works, and pages open on it stop)"
            )

    html("h3", "Seats")
    html("div", seats_html(snap, reveal=True))
    for seat, nxt in snap.cooling.items():  # out of the bloc, not invited back yet
        state = snap.seat(seat)
        asked = seat in snap.asks_back
        when = f"invited again from round {nxt}" if nxt else "not invited again before the end"
        with solara.Row(gap="10px", style={"align-items": "center", "flex-wrap": "wrap"},
                        classes=[f"ws-cooling-{seat}"]):  # fmt: skip
            html(
                "span",
                f"<b>{escape(state.name)}</b> ({escape(', '.join(state.holder_names))}) left the "
                f"bloc and waits: {escape(when)}."
                + (
                    " <span class='ws-chip waiting'>asks to be invited back</span>" if asked else ""
                ),
                "ws-cooling" + (" ws-asks-back" if asked else ""),
            )
            if nxt != snap.open_round + 1:
                solara.Button(
                    f"Invite {state.name} back from round {snap.open_round + 1}",
                    outlined=True,
                    classes=[f"ws-invite-back-{seat}"],
                    on_click=lambda seat=seat: do(lambda: room.invite_back(key, seat)),
                )
    SeatControls(room, snap, key, do, base)
    teams = [s for s in snap.seats if len(s.holders) > 1]
    for s in teams:
        with solara.Div(classes=[f"ws-submitter-{s.seat}"], style={"max-width": "420px"}):
            solara.Select(
                f"Who submits for {s.name}",
                values=list(s.holder_names),
                value=s.holder_names[0],
                on_value=lambda name, s=s: do(
                    lambda: room.set_submitter(key, s.seat, s.holders[s.holder_names.index(name)])
                ),
                dense=True,
            )
    html("h3", f"Participants ({sum(not p.removed for p in snap.participants)})")
    if not snap.participants:
        html("p", "Nobody has joined yet.", "ws-muted")
    if new_link.value:
        html("p", escape(new_link.value), "ws-ok ws-new-link")
    for p in snap.participants:
        if p.removed:
            continue
        seat = snap.names.get(p.seat or "", "no seat")
        rejoin = base + link("join", room=room.code, token=p.token)
        with solara.Row(
            gap="10px",
            style={"align-items": "center", "flex-wrap": "wrap"},
            classes=[f"ws-person-{p.id}"],
        ):
            html("span", f"<b>{escape(p.name)}</b> · {escape(seat)} · {presence_html(p)}")
            html(
                "a",
                "rejoin link",
                "ws-rejoin",
                href=rejoin,
                title="Give this link to the "
                "participant if they lost theirs: it brings their seat back",
            )
            with solara.Div(classes=[f"ws-assign-{p.id}"], style={"min-width": "180px"}):
                solara.Select(
                    "Seat",
                    values=["no seat", *(s.name for s in snap.seats)],
                    value=snap.names.get(p.seat or "", "no seat"),
                    on_value=lambda name, p=p: do(
                        lambda: room.assign(key, p.id, _seat_by_name(snap, name))
                    ),
                    dense=True,
                )
            solara.Button(
                "New link",
                text=True,
                classes=[f"ws-new-link-{p.id}"],
                on_click=lambda p=p: give_new_link(p.id),
            )
            solara.Button(
                "Remove",
                text=True,
                color="error",
                classes=[f"ws-remove-{p.id}"],
                on_click=lambda p=p: do(lambda: room.remove(key, p.id)),
            )
            solara.Button(
                "Remove and bar",
                text=True,
                color="error",
                classes=[f"ws-ban-{p.id}"],
                on_click=lambda p=p: do(lambda: room.remove(key, p.id, ban=True)),
            )
    html("h3", "Decisions this round")
    rows = [
        f"<tr><td>{escape(snap.names[d['seat']])}</td><td>{escape(d['participant'])}</td>"
        f"<td>{escape(decision_words(snap, d['decision'], snap.seat(d['seat']).member))}</td>"
        f"<td>{escape(d['time'][11:19])}</td></tr>"
        for d in snap.decisions
        if d["round"] == snap.open_round
    ]
    html("table", "".join(rows) or "<tr><td>none yet</td></tr>", "ws-table ws-decisions")


@solara.component
def SeatControls(room: Room, snap: RoomSnapshot, key: str, do: Callable, base: str):
    """Each seat's lock and join link, and a form that seats a named participant."""
    name = solara.use_reactive("")
    seat_name = solara.use_reactive(snap.seats[0].name)
    lock = solara.use_reactive(True)
    seated = solara.use_reactive("")  # the private link of the participant just seated

    html(
        "p",
        "A seat's link takes whoever opens it to that seat when they join. A locked seat "
        "keeps its people: nobody else takes it (its link is refused) and they cannot give "
        "it up; you can still assign it below.",
        "ws-muted",
    )
    for s in snap.seats:
        locked = s.seat in snap.locked_seats
        with solara.Row(
            gap="10px",
            style={"align-items": "center", "flex-wrap": "wrap"},
            classes=[f"ws-seat-controls-{s.seat}"],
        ):
            html("span", f"<b>{escape(s.name)}</b>", style="min-width: 160px")
            solara.Button(
                "Unlock" if locked else "Lock",
                text=True,
                classes=[f"ws-lock-{s.seat}"],
                on_click=lambda s=s.seat, locked=locked: do(
                    lambda: room.lock_seat(key, s, not locked)
                ),
            )
            seat_url = base + link("join", room=room.code, seat=s.seat)
            html("a", "seat link", f"ws-seat-link ws-seat-link-{s.seat}", href=seat_url)

    def seat_person() -> None:
        seat = _seat_by_name(snap, seat_name.value)
        out: list[Participant] = []
        do(lambda: out.append(room.seat_person(key, name.value or "", seat or "", lock.value)))
        if out:
            name.set("")
            seated.set(
                f"{out[0].name} is seated as {snap.names[seat]}: give them their private link "
                f"{base + link('join', room=room.code, token=out[0].token)}"
            )

    html("h3", "Seat a participant")
    with solara.Row(gap="10px", style={"align-items": "center", "flex-wrap": "wrap"}):
        with solara.Div(classes=["ws-seat-person-name"], style={"min-width": "220px"}):
            solara.InputText("Name", value=name, continuous_update=True)
        with solara.Div(classes=["ws-seat-person-seat"], style={"min-width": "200px"}):
            solara.Select("Seat", values=[s.name for s in snap.seats], value=seat_name, dense=True)
        solara.Checkbox(label="lock the seat", value=lock)
        solara.Button("Seat them", outlined=True, classes=["ws-seat-person"], on_click=seat_person)
    if seated.value:
        html("p", escape(seated.value), "ws-ok ws-seated")


@solara.component
def LeversTab(room: Room, snap: RoomSnapshot, key: str, do: Callable):
    df = snap.rounds_df
    last = df.iloc[-1]
    html(
        "p",
        "Live levers act from the next round (from round 1 before the start) and are "
        "marked on the charts.",
        "ws-muted",
    )
    solara.Text("Instrument")
    with solara.ToggleButtonsSingle(
        value=str(last["instrument"]),
        on_value=lambda x: do(lambda: room.set_levers(key, instrument=x)),
        classes=["ws-lever-instrument"],
        dense=True,
    ):
        for code, label in INSTRUMENTS.items():
            solara.Button(label, value=code)
    with solara.Div(classes=["ws-lever-penalty"], style={"max-width": "420px"}):
        solara.SliderInt(
            f"Outsider penalty (now {float(last['penalty']):.0%})",
            value=round(float(last["penalty"]) * 100),
            min=0,
            max=200,
            step=5,
            tick_labels="end_points",
            on_value=lambda x: do(lambda: room.set_levers(key, penalty=x / 100)),
        )


# ----------------------------------------------------------------------------------------------
# Debrief: charts (the web app's) and exports


def chart_snapshot(rs: RoomSnapshot) -> Any:
    """The web app's Snapshot for its chart functions, filled from a room snapshot."""

    values = {
        "version": rs.round,
        "scenario": rs.scenario,
        "title": rs.title,
        "about": rs.about,
        "seed": rs.seed,
        "round": rs.round,
        "rounds": rs.rounds,
        "round_days": rs.round_days,
        "minerals": rs.minerals,
        "mineral_names": rs.mineral_names,
        "countries": rs.countries,
        "names": rs.names,
        "short": {a: short_name(a, n, rs.supplier) for a, n in rs.names.items()},
        "supplier": rs.supplier,
        "rounds_df": rs.rounds_df,
        "actors_df": rs.actors_df,
        "events_df": rs.events_df,
        "pending": (),
        "lever_rounds": rs.lever_rounds,
        "error": "",
    }
    kwargs = {}
    for f in dataclasses.fields(Snapshot):
        if f.name in values:
            kwargs[f.name] = values[f.name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            kwargs[f.name] = None
    return Snapshot(**kwargs)


class RoomCharts:
    """The debrief's charts at one point of a room's records, drawn once for every page that
    shows them (the facilitator's, the projector's, a solo player's) and every snapshot until
    the next round: SVG, drawn by the browser, as in the web app (matplotlib only for the PNG
    download)."""

    def __init__(self, rs: RoomSnapshot) -> None:
        self.snap = chart_snapshot(rs)
        self.floored = tuple(self.snap.floored()) or tuple(self.snap.minerals[:4])

    @cached_property
    def network(self) -> str:

        return network_svg(self.snap, statuses(self.snap))

    @cached_property
    def timeline(self) -> str:

        return chart_svg("timeline", self.snap)

    @cached_property
    def prices(self) -> str:

        return chart_svg("prices", self.snap, self.floored)

    @cached_property
    def money(self) -> str:

        return chart_svg("money", self.snap)

    @cached_property
    def utility(self) -> str:

        return chart_svg("utility", self.snap)

    def prices_png(self) -> bytes:

        return chart_image("prices", self.snap, self.floored, fmt="png", dpi=150)


def room_charts(rs: RoomSnapshot) -> RoomCharts:
    return rs.per_round("charts", lambda: RoomCharts(rs))


@solara.component
def ChartsView(rs: RoomSnapshot):
    charts = room_charts(rs)
    with solara.Div(classes=["ws-charts"]):
        with solara.Row(gap="12px", style={"flex-wrap": "wrap", "align-items": "flex-start"}):
            html("div", charts.network, "ws-network", style="flex: 0 1 460px; min-width: 300px")
        html("div", charts.timeline, "ws-timeline", style="max-width: 980px")
        html("div", charts.prices, "ws-chart ws-chart-prices")
        html("div", charts.money, "ws-chart ws-chart-money")
        html("div", charts.utility, "ws-chart ws-chart-utility")
        Download(
            "Membership (SVG)",
            f"{rs.code}-membership.svg",
            lambda: charts.timeline,
            "image/svg+xml",
            "ws-download-timeline",
        )
        Download(
            "Prices (PNG)",
            f"{rs.code}-prices.png",
            charts.prices_png,
            "image/png",
            "ws-download-prices",
        )


@solara.component
def BargainingDebrief(room: Room, rs: RoomSnapshot):
    """The debrief's bargaining chart: the package tabled in the last round played and the
    packages the table could have agreed instead (`Room.bargaining`), drawn by the web app's
    Bargaining tab (`app_bargaining.BargainingChart`)."""

    df = solara.use_memo(room.bargaining, [room, rs.round, rs.practices])
    with solara.Div(classes=["ws-bargaining"]):
        html("h3", "The last round's bargain")
        if df is None:
            html(
                "p",
                "Once a round has been played: the package on the table, and what else the "
                "table could have agreed.",
                "ws-muted ws-bargaining-none",
            )
            return
        if len(df.attrs["parties"]) < 2:
            html(
                "p",
                f"Fewer than two parties at the table in round {df.attrs['round']} (members and "
                "invitees): there was nothing to bargain over.",
                "ws-muted ws-bargaining-none",
            )
            return
        html("p", bargaining_caption(df.attrs["round"]), "ws-muted ws-bargaining-caption")
        BargainingChart(df)


def bargaining_caption(r: int) -> str:
    return (
        f"Round {r}'s package, and the packages the table could have agreed instead (other "
        "floors, penalties, who joins), each placed by what it is worth a year to two parties "
        "against no deal: the square is the proposal, the ring what was agreed, the diamond the "
        "Nash point; blue dots are packages no other beats for every party. Choose the two "
        "parties below."
    )


#: Agent-only runs a room's debrief compares the room's game with.
AGENT_RUNS = 50
_AGENT_RUNS: weakref.WeakKeyDictionary[Room, Any] = weakref.WeakKeyDictionary()
_AGENT_RUNS_LOCK = threading.Lock()


def agent_runs(room: Room) -> Any:
    """The room's agent-only ensemble (an `app_ensemble.EnsembleJob`): `AGENT_RUNS` runs of its
    scenario, number of rounds and opening levers with agents at every seat, on a thread of its
    own. One per room, started when a page first asks and shared by every page that shows it;
    started again only if the opening levers change (in the lobby) or it was stopped."""

    levers = dict(room.levers)
    key = settings_key(room.scenario, room.rounds, levers, AGENT_RUNS)
    with _AGENT_RUNS_LOCK:
        job = _AGENT_RUNS.get(room)
        if job is None or job.key != key or job.state == CANCELLED:
            if job is not None:
                job.cancel()
            job = start_ensemble(key, room.config, AGENT_RUNS, rounds=room.rounds, kwargs=levers)
            _AGENT_RUNS[room] = job
        return job


def existing_agent_runs(room: Room) -> Any:
    """The room's agent-only ensemble if a page has started it (None otherwise): the
    printable debrief shows it where it exists, and starts it only when asked."""
    with _AGENT_RUNS_LOCK:
        return _AGENT_RUNS.get(room)


def _comparison_html(rs: RoomSnapshot, ens: Any) -> str:

    lines = debrief_lines(rs.rounds_df, rs.round, rs.finished, ens, rs.names, rs.countries)
    ev = rs.events_df
    changed = sorted({int(r) for r in ev.loc[ev["kind"] == "lever", "round"]})
    note = (
        f" Levers changed during your session (round {', '.join(map(str, changed))}); the "
        "agent-only runs keep the room's opening levers throughout."
        if changed
        else ""
    )
    return (
        "<ul class='ws-agent-lines'>"
        + "".join(f"<li>{escape(t)}</li>" for t in lines)
        + "</ul><p class='ws-muted ws-agent-meaning'>"
        + escape(
            f"The agent-only runs: {ens.n} runs of the same scenario, number of rounds and "
            "opening levers with agents at every seat, each with its own random draws. A "
            f"percentage is a share of those runs: 80% of {ens.n} agent-only runs would be "
            f"{round(0.8 * ens.n)} of the {ens.n} simulated runs with these settings and "
            "different random draws."
        )
        + escape(note)
        + "</p>"
    )


@solara.component
def AgentComparison(room: Room, rs: RoomSnapshot):
    """The debrief's comparison of the room's game with agents alone, computed in the
    background (the page stays responsive and shows the runs' progress)."""
    job = agent_runs(room)
    tick = solara.use_reactive(0)
    tick.value  # noqa: B018 - read, so that the page redraws when the job moves

    def follow(cancel: threading.Event) -> None:
        job.follow(tick.set, cancel, pause=0.3)

    solara.use_thread(follow, dependencies=[job], intrusive_cancel=False)
    html("h3", "Your room against agents alone", "ws-agent-title")
    if not job.finished:
        html(
            "div",
            f"Running {job.total} agent-only runs of the same settings to compare with: "
            f"{job.done} of {job.total} done",
            "ws-agent-status",
            **{"data-state": job.state, "data-done": str(job.done)},
        )
        solara.ProgressLinear(100 * job.done / max(job.total, 1), classes=["ws-agent-progress"])
        return
    if job.result is None:
        html("div", escape(f"The agent-only runs failed: {job.error}"), "ws-error ws-agent-status")
        return
    ens = job.result
    memo = ("agent-comparison", job.key, rs.finished)
    text = rs.per_round(memo, lambda: _comparison_html(rs, ens))
    html("div", text, "ws-agent-comparison", **{"data-round": str(rs.round)})


@solara.component
def ExportView(room: Room, snap: RoomSnapshot):
    stem = room.file_stem()
    html(
        "p",
        "The whole session: every decision with its seat, person and time, every round's "
        "outcome, the lever and seat changes. <code>session.json</code> replays the session "
        "to the same outcomes (<code>negotiation.rooms.workshop.replay</code>).",
    )
    with solara.Row(gap="0", style={"flex-wrap": "wrap"}):
        Download(
            "session.json", f"{stem}.json", room.export_json, "application/json", "ws-download-json"
        )
        for table in ("decisions", "rounds", "actors", "events"):
            Download(
                f"{table}.csv",
                f"{stem}-{table}.csv",
                lambda t=table: room.export_csv(t),
                "text/csv",
                f"ws-download-{table}",
            )
        Download(
            "everything (.zip)",
            f"{stem}.zip",
            room.export_zip,
            "application/zip",
            "ws-download-zip",
        )


@solara.component
def FacilitatorPage():
    solara.Style(CSS)
    router = solara.use_router()
    q = query(router.search)
    room = WORKSHOP.find(q.get("room"))
    with solara.Div(classes=["ws-page", "ws-facilitator"]):
        if room is None:
            html("h2", "No such room")
            html("p", "Create a room on the home page.", "ws-muted")
            return
        if not room.check_admin(q.get("key", "")):
            html("p", "This facilitator link is not valid for this room.", "ws-error ws-refused")
            return
        FacilitatorView(room, q["key"]).key(room.code)


# ----------------------------------------------------------------------------------------------
# Projector


@solara.component
def ProjectorView(room: Room):
    snap, _ = use_room(room, public=True)
    base = base_url()
    solara.Title(f"Bloc · room {room.code}")
    join_url = base + link("join", room=room.code)
    with solara.Div(classes=["ws-big"]):
        with solara.Div(classes=["ws-join-box"]):
            if base:  # a QR code of a relative link would take a phone nowhere
                small = " ws-qr-small" if snap.phase != LOBBY else ""
                html("div", join_qr_svg(join_url), "ws-qr" + small, **{"data-url": join_url})
            with solara.Div():
                html("div", escape(room.code), "ws-code", **{"data-code": room.code})
                html(
                    "div",
                    f"Scan the code, or open <b class='ws-join-url'>{escape(join_url)}</b> "
                    f"(or <b>{escape(base or 'this address')}</b> and type the code)",
                    "ws-muted",
                )
        RoundHeader(snap)
        cells = []
        for s in snap.seats:
            state = "decided" if s.decided else "waiting" if s.required else ""
            who = ", ".join(s.holder_names) or "agent"
            words = ""
            if s.decided and snap.settings.show_decisions and s.decision:
                words = f"<br>{escape(decision_words(snap, s.decision, s.member))}"
            label = {"decided": "decided", "waiting": "deciding…"}.get(state, "")
            cells.append(
                f"<div class='{state} ws-proj-{s.seat}'><b>{escape(s.name)}</b>"
                f"<br><span class='ws-muted'>{escape(who)}</span><br>{label}{words}</div>"
            )
        html("div", "".join(cells), "ws-seats-big")
    ChartsLite(snap)
    html("h3", "What happened")
    html("ul", narrative_html(snap, 12), "ws-events")


@solara.component
def ChartsLite(rs: RoomSnapshot):
    charts = room_charts(rs)
    with solara.Row(gap="12px", style={"flex-wrap": "wrap", "align-items": "flex-start"}):
        html("div", charts.network, "ws-network", style="flex: 0 1 520px; min-width: 300px")
        html("div", charts.timeline, "ws-timeline", style="flex: 1 1 480px")


@solara.component
def ProjectorPage():
    solara.Style(CSS)
    router = solara.use_router()
    room, refused = use_lookup(query(router.search).get("room"))
    with solara.Div(classes=["ws-page", "ws-projector"]):
        if room is None:
            html("h2", "No such room")
            if refused:
                html("p", escape(refused), "ws-error")
            return
        ProjectorView(room).key(room.code)


# ----------------------------------------------------------------------------------------------
# The printable debrief (facilitator only)


@solara.component
def DebriefComparison(room: Room, rs: RoomSnapshot):
    """The debrief's last section: the room against agent-only runs (the Charts tab's text),
    where the room's ensemble exists; a button starts it otherwise."""
    started = solara.use_reactive(0)
    job = existing_agent_runs(room) if not started.value else agent_runs(room)
    tick = solara.use_reactive(0)
    tick.value  # noqa: B018 - read, so that the page redraws when the job moves

    def follow(cancel: threading.Event) -> None:
        if job is not None:
            job.follow(tick.set, cancel, pause=0.5)

    solara.use_thread(follow, dependencies=[job], intrusive_cancel=False)
    title = "<h2>Your room against agents alone</h2>"
    if job is None:
        html(
            "section",
            title + "<p class='ws-muted'>Not computed for this room yet: it compares the room "
            f"with {AGENT_RUNS} agent-only runs of the same settings (the Charts tab computes "
            "it too).</p>",
            "ws-debrief-section ws-debrief-comparison",
            **{"data-state": "none"},
        )
        with solara.Div(classes=["ws-no-print"]):
            solara.Button(
                "Compare with agent-only runs",
                outlined=True,
                classes=["ws-debrief-compare"],
                on_click=lambda: started.set(1),
            )
        return
    if not job.finished:
        inner = f"<p>Running {job.total} agent-only runs: {job.done} of {job.total} done.</p>"
        state = job.state
    elif job.result is None:
        inner = f"<p class='ws-error'>{escape(f'The agent-only runs failed: {job.error}')}</p>"
        state = "failed"
    else:
        memo = ("agent-comparison", job.key, rs.finished)
        inner = rs.per_round(memo, lambda: _comparison_html(rs, job.result))
        state = "done"
    html(
        "section",
        title + inner,
        "ws-debrief-section ws-debrief-comparison",
        **{"data-state": state},
    )


@solara.component
def DebriefView(room: Room):
    snap, _ = use_room(room, public=False)
    charts = room_charts(snap)
    solara.Title(f"Bloc · debrief · {room.code}")
    html(
        "p",
        "To keep it: print this page (Ctrl+P, or ⌘P on a Mac) and choose <b>Save as PDF</b>; "
        "each section starts a new page and the controls are left out. It follows the room: "
        "open it again (or wait) after the last round.",
        "ws-muted ws-no-print ws-debrief-help",
    )
    figures = {"timeline": f"<div class='ws-chart'>{charts.timeline}</div>"}
    html("div", debrief_html(snap, figures), "ws-debrief", **{"data-round": str(snap.round)})
    DebriefComparison(room, snap)


@solara.component
def DebriefPage():
    """`/debrief?room=CODE&key=KEY`: the facilitator key, as the facilitator's page; anyone
    else (a participant's token, no key) is refused and sees nothing of the room."""
    solara.Style(CSS)
    router = solara.use_router()
    q = query(router.search)
    room = WORKSHOP.find(q.get("room"))
    with solara.Div(classes=["ws-page", "ws-debrief-page"]):
        if room is None or not room.check_admin(q.get("key", "")):
            html(
                "p",
                "The debrief opens with the facilitator's link only (its key).",
                "ws-error ws-refused",
            )
            return
        DebriefView(room).key(room.code)


# ----------------------------------------------------------------------------------------------
# Home and solo


@solara.component
def Home():
    solara.Style(CSS)
    router = solara.use_router()
    names = solara.use_memo(WORKSHOP.scenario_choices, [])
    start = default_scenario() if default_scenario() in names else DEFAULT_SCENARIO
    scenario = solara.use_reactive(start)
    seed = solara.use_reactive(0)
    rounds = solara.use_reactive(None)
    timer = solara.use_reactive("no timer")
    show = solara.use_reactive(False)
    teams = solara.use_reactive(True)
    solo_seat = solara.use_reactive("japan")
    secret = solara.use_reactive("")
    upload = solara.use_reactive(None)  # a FileInfo (read only once the secret is right)
    reading = solara.use_reactive((0, ""))  # (how many times asked, the browser) to read it
    error = solara.use_reactive("")
    solara.Title("Bloc workshop")

    def open_with(opening: Callable[..., Room]) -> None:
        """Open a room with `opening(secret, seed=..., ...)`, then go to its facilitator page
        (or say why not)."""
        try:
            room = opening(
                secret.value or "",
                seed=seed.value,
                rounds=rounds.value or None,
                settings=Settings(
                    show_decisions=show.value,
                    timer_seconds=_seconds(timer.value) or None,
                    teams=teams.value,
                ),
            )
        except (WorkshopError, ScenarioError, ValueError) as e:
            error.set("\n".join(getattr(e, "problems", None) or [str(e)]))
            return
        error.set("")
        facilitator = link("facilitator", room=room.code, key=room.admin_token)
        # A facilitator who closes the tab gets the room back from the console (R3).
        console(f"room {room.code} on {room.scenario}: facilitator link {base_url()}{facilitator}")
        router.push(facilitator)

    def create() -> None:
        client = client_id()
        if upload.value is None:
            open_with(lambda *a, **k: WORKSHOP.open_room(*a, scenario.value, client=client, **k))
            return
        # The facilitator's own file: read (from the browser) only once the secret is right,
        # and in a thread of its own, as the browser sends the file while this one waits.
        try:
            WORKSHOP.check_facilitator(secret.value or "", client)
        except WorkshopError as e:
            error.set(str(e))
            return
        reading.set((reading.value[0] + 1, client))

    def read_upload() -> None:
        number, client = reading.value
        if not number or upload.value is None:
            return
        file = upload.value["file_obj"]
        try:
            file.seek(0)
            data = file.read(MAX_UPLOAD_BYTES + 1)
        except Exception:  # the browser went, or sent nothing in time
            logger.info("uploaded scenario not read", exc_info=True)
            error.set("The file could not be read: choose it again.")
            return
        open_with(
            lambda *a, **k: WORKSHOP.open_room_from_upload(
                *a, lambda n: data[:n], client=client, **k
            )
        )

    solara.use_thread(read_upload, dependencies=[reading.value], intrusive_cancel=False)

    seats = solara.use_memo(lambda: _seat_names(scenario.value), [scenario.value])
    with solara.Div(classes=["ws-page", "ws-home"]):
        html("h2", "Bloc workshop: the critical-minerals bloc, played by people")
        with solara.Div(classes=["ws-cards"]):
            with solara.Div():
                html("h3", "Join a room")
                CodeForm(router.push)
            with solara.Div():
                html("h3", "Run a workshop (facilitator)")
                with solara.Div(classes=["ws-create-scenario"]):
                    solara.Select("Scenario", values=names, value=scenario, dense=True)
                with solara.Div(classes=["ws-create-upload"]):
                    html(
                        "span",
                        f"…or your own scenario file (.toml, at most "
                        f"{MAX_UPLOAD_BYTES // 1024} KB), used instead:",
                        "ws-muted",
                    )
                    ScenarioUpload(upload.set)
                    if upload.value is not None:
                        html(
                            "span",
                            f"Scenario file: <b>{escape(str(upload.value['name']))}</b>",
                            "ws-upload-name",
                        )
                with solara.Row():
                    solara.InputInt("Seed", value=seed, dense=True, classes=["ws-create-seed"])
                    solara.InputInt(
                        "Rounds (empty: the scenario's)",
                        value=rounds,
                        dense=True,
                        optional=True,
                        classes=["ws-create-rounds"],
                    )
                with solara.Div(classes=["ws-create-timer"]):
                    solara.Select(
                        "Round timer", values=list(TIMER_CHOICES.values()), value=timer, dense=True
                    )
                solara.Checkbox(
                    label="participants see others' decisions before the round closes", value=show
                )
                solara.Checkbox(label="teams may share a seat", value=teams)
                solara.InputText(
                    "Facilitator secret (printed where the server runs)",
                    value=secret,
                    password=True,
                    continuous_update=True,
                    classes=["ws-create-secret"],
                )
                solara.Button(
                    "Create the room", color="primary", on_click=create, classes=["ws-create"]
                )
                if error.value:
                    html("div", escape(error.value), "ws-error")
            with solara.Div():
                html("h3", "Play a seat alone")
                html(
                    "p",
                    "You take one seat; agents play the others. The round waits for you.",
                    "ws-muted",
                )
                with solara.Div(classes=["ws-solo-seat"]):
                    solara.Select("Seat", values=list(seats), value=solo_seat, dense=True)
                solara.Button(
                    "Take the seat",
                    color="primary",
                    outlined=True,
                    classes=["ws-solo-go"],
                    on_click=lambda: router.push(
                        link(
                            "solo",
                            scenario=scenario.value,
                            seat=solo_seat.value,
                            seed=seed.value,
                            rounds=rounds.value or None,
                        )
                    ),
                )


@solara.component
def ScenarioUpload(on_file: Callable[[dict[str, Any] | None], None]):
    """A file input for the facilitator's own scenario: `on_file` gets the file's name, size
    and a reader (nothing is read until a room is created with the secret), or None when the
    input is cleared."""
    el = FileInput.element(multiple=False, accept=".toml", show_progress=False)

    def watch() -> Callable[[], None]:
        widget = solara.get_widget(el)

        def changed(_: Any) -> None:
            files = widget.get_files()
            on_file(files[0] if files else None)

        widget.observe(changed, "file_info")
        return lambda: widget.unobserve(changed, "file_info")

    solara.use_effect(watch, [])
    return el


def _seat_names(scenario: str) -> list[str]:
    """The seats of a scenario the page names (a form value: only a scenario the server
    offers, see `Workshop.scenario`)."""
    try:
        sc = WORKSHOP.scenario(scenario)
    except (WorkshopError, ScenarioError):
        return []
    return [*sc.country_ids, sc.supplier.actor]


@solara.component
def SoloPage():
    """Open a one-person room on the link's scenario and seat, then go to its page."""
    solara.Style(CSS)
    router = solara.use_router()
    q = query(router.search)
    error = solara.use_reactive("")

    def open_room() -> None:
        try:
            seed = int(q["seed"]) if q.get("seed") else None
            rounds = int(q["rounds"]) if q.get("rounds") else None
            # A name from the URL: only a scenario the server offers (never a path).
            sc = WORKSHOP.scenario(q.get("scenario") or default_scenario())
            seat = q.get("seat") or "japan"
            if seat not in (*sc.country_ids, sc.supplier.actor):
                raise WorkshopError(f"{sc.meta.name} has no such seat.")
            room, p = WORKSHOP.solo(
                sc, seat, q.get("name") or "You", seed=seed, rounds=rounds, client=client_id()
            )
        except (WorkshopError, ScenarioError, ValueError) as e:
            error.set("\n".join(getattr(e, "problems", None) or [str(e)]))
            return
        router.push(link("join", room=room.code, token=p.token))

    solara.use_effect(open_room, [])
    with solara.Div(classes=["ws-page"]):
        if error.value:
            html("div", escape(error.value), "ws-error")
        else:
            html("p", "Setting up your seat…", "ws-muted")


routes = [
    solara.Route(path="/", component=Home, label="Bloc workshop", layout=Layout),
    solara.Route(path="join", component=JoinPage, label="Join"),
    solara.Route(path="facilitator", component=FacilitatorPage, label="Facilitator"),
    solara.Route(path="projector", component=ProjectorPage, label="Projector"),
    solara.Route(path="debrief", component=DebriefPage, label="Debrief"),
    solara.Route(path="solo", component=SoloPage, label="Play a seat"),
]

__all__ = ["Refused", "routes"]

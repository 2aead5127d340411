"""Load on one workshop room: N participants (default 40) each with a browser page open, and the
time from the round's last submission to every page showing the new round.

    .venv/bin/python benchmarks/bench_workshop.py [--participants 40] [--rounds 12]

The Solara server runs in this process (the same app `bloc workshop` serves, production mode),
so the benchmark can set up the room and its 40 participants through the room's API and time
each round's last submission exactly. The participants are real browser pages, not simulated
Solara sessions: Debian's /usr/bin/chromium, headless, driven by Playwright, each page on its
participant's private link with its own websocket and Solara kernel, each with a
MutationObserver that stamps (Date.now()) the moment the end of the page (`.ws-end`, the last
part the server updates) shows a new round, and reports it through a Playwright binding (the
benchmark never polls the pages while they are measured).
Participants share the six seats as teams (six submitters); every round the benchmark submits
for each seat that must decide, the last submission closes the round, and the latency of a page
is its stamp minus the time the last submission was made. Both clocks are this machine's.

Also printed, for comparison: the same fan-out without browsers (N threads waiting on the room
as the pages' threads do: the room's own share), the time the server took to update every page,
when the top of each page (the round number) changed, and one line per round.

The 40 pages run on the same 2 cores as the server (in a workshop each has its own device),
and so does whatever else the machine runs: the benchmark prints the load average (1, 5 and 15
minutes) at the start and the end, and for each round the load average and the CPU time, from
/proc, that the server (this process), the browsers (its children) and every other process
used between the last submission and the last page showing the round. Figures measured while
other processes take the cores say little.

The room is saved as it changes, as `bloc workshop` saves its rooms (the server's timer thread
writes the room's state file within a fifth of a second of each change), in a temporary
directory removed at the end; `--no-save` measures without.

Prints the median, p95 and max over every (round, page) pair, and the median and p95 over
rounds of the slowest page. Target: p95 under 1 s. Not a test: it takes a few minutes (40
pages load on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
os.environ["SOLARA_APP"] = "negotiation.ui.workshop_app"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.human import accept  # noqa: E402
from negotiation.rooms.workshop import WORKSHOP, Room  # noqa: E402
from negotiation.rules.types import SupplierAction, SupplierMove  # noqa: E402
from tests.browser_support import CHROMIUM  # noqa: E402
from tests.browser_support import CHROMIUM_ARGS as TEST_ARGS  # noqa: E402

# the browser tests' flags, and: 40 pages in the background must not be throttled
CHROMIUM_ARGS = [
    *TEST_ARGS,
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
SEATS = ("us", "japan", "eu", "mexico", "singapore", "supplier")
OBSERVER = """() => {
  const seen = {head: {}, end: {}};
  const look = () => {
    const now = Date.now();
    for (const [key, sel] of [['head', '.ws-round'], ['end', '.ws-end']]) {
      const el = document.querySelector(sel);
      if (el && !(el.dataset.round in seen[key])) {
        seen[key][el.dataset.round] = now;
        window.__bloc_seen(key, Number(el.dataset.round), now);
      }
    }
  };
  new MutationObserver(look).observe(document.body,
    {subtree: true, childList: true, attributes: true, characterData: true});
  look();
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> None:
    import solara.server.settings as settings
    import uvicorn

    settings.main.mode = "production"
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = "127.0.0.1", str(port)
    config = uvicorn.Config(
        "solara.server.starlette:app", host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True, name="uvicorn").start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the Solara server did not start")
        time.sleep(0.1)


def setup_room(n: int, rounds: int) -> tuple[Room, list, dict[str, str]]:
    room = WORKSHOP.create("ministerial-2026", seed=1, rounds=rounds)
    people, submitters = [], {}
    for i in range(n):
        p = room.join(f"P{i:02d}")
        seat = SEATS[i % len(SEATS)]
        room.claim(p.token, seat)
        submitters.setdefault(seat, p.token)
        people.append(p)
    room.start(room.admin_token)
    return room, people, submitters


def decide(room: Room, submitters: dict[str, str], settle=None) -> float | None:
    """Submit for every seat that must decide; the time of the last submission (None if the
    round closed by itself). `settle()` runs between submissions: people decide seconds apart,
    so each earlier submission's update has reached the pages before the last one is made."""
    snap = room.snapshot()
    waiting = list(snap.waiting_for)
    if not waiting:
        return None
    t_last = 0.0
    for n, seat in enumerate(waiting):
        if settle is not None and n:
            settle()
        move = SupplierMove(SupplierAction.NORMAL) if seat == "supplier" else accept()
        t_last = time.time()
        room.submit(submitters[seat], seat, move)
    return t_last


def loads() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min)"


def _ticks(pid: int | str) -> tuple[int, int]:
    """(parent pid, CPU ticks used) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def cpu_ticks() -> tuple[float, int, int, int]:
    """(time, ticks the whole machine spent busy, ticks this process spent, ticks its children
    spent: the browsers); the differences between two readings say who used the CPU."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    busy = sum(parts) - parts[3] - parts[4]  # all but idle and iowait
    procs: dict[int, tuple[int, int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):  # a process that ended
                procs[int(name)] = _ticks(name)
    me = os.getpid()
    children, todo = 0, [p for p, (ppid, _) in procs.items() if ppid == me]
    while todo:
        pid = todo.pop()
        children += procs.get(pid, (0, 0))[1]
        todo += [p for p, (ppid, _) in procs.items() if ppid == pid]
    return time.time(), busy, procs.get(me, (0, 0))[1], children


def cpu_use(before: tuple, after: tuple) -> tuple[float, float, float, float]:
    """(seconds elapsed, CPU seconds used by this process (the server), by its children (the
    browsers), by every other process) between two `cpu_ticks()` readings."""
    hz = os.sysconf("SC_CLK_TCK")
    busy, server, browsers = ((a - b) / hz for a, b in zip(after[1:], before[1:], strict=True))
    return after[0] - before[0], server, browsers, max(busy - server - browsers, 0.0)


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, round(q * (len(xs) - 1))))
    return xs[k]


def summary(name: str, samples: list[float], slowest: list[float]) -> None:
    print(f"{name}: {len(samples)} (round, client) pairs over {len(slowest)} rounds")
    print(
        f"  last submission -> client shows the new round: median {statistics.median(samples):.3f}"
        f" s, p95 {percentile(samples, 0.95):.3f} s, max {max(samples):.3f} s"
    )
    print(
        f"  last submission -> every client shows it: median {statistics.median(slowest):.3f} s,"
        f" p95 {percentile(slowest, 0.95):.3f} s"
    )


def bench_threads(n: int, rounds: int) -> None:
    """The server's share: N threads waiting on the room, as each page's watcher does."""
    room, _, submitters = setup_room(n, rounds + 2)
    samples, slowest = [], []
    for _ in range(rounds):
        v = room.snapshot().public_version
        stamps: list[float] = []
        lock = threading.Lock()
        target = room.snapshot().round + 1

        def page(v=v, stamps=stamps, lock=lock, target=target) -> None:
            seen = v
            while True:
                snap = room.wait(seen, timeout=5, public=True)
                seen = snap.public_version
                if snap.round >= target:
                    with lock:
                        stamps.append(time.time())
                    return

        threads = [threading.Thread(target=page) for _ in range(n)]
        for t in threads:
            t.start()
        time.sleep(0.05)
        t0 = decide(room, submitters)
        for t in threads:
            t.join()
        if t0 is None:
            continue
        lat = [s - t0 for s in stamps]
        samples += lat
        slowest.append(max(lat))
    summary(f"threads only ({n} waiting threads, no browser)", samples, slowest)


class Stamps:
    """When each page showed each round, as its observer reports it (through a Playwright
    binding: the benchmark never polls the pages, which would load them while they are
    measured)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], dict[int, float]] = {}  # (part, round) -> page -> s
        self.index: dict[int, int] = {}  # id(page) -> its number

    def report(self, source: dict, key: str, r: int, ms: float) -> None:
        page = self.index.get(id(source["page"]))
        if page is not None:
            self.seen.setdefault((key, int(r)), {})[page] = ms / 1000

    def wait(self, pages: list, r: int, timeout: float = 300.0) -> tuple[list, list]:
        """(end, head) times of round r for every page, once every page has shown it."""
        end = time.monotonic() + timeout
        while len(self.seen.get(("end", r), {})) < len(pages):
            if time.monotonic() > end:
                raise SystemExit(f"pages did not show round {r} in {timeout:.0f} s")
            pages[0].wait_for_timeout(10)  # lets Playwright deliver the reports
        ends, heads = self.seen[("end", r)], self.seen.get(("head", r), {})
        every = range(len(pages))
        return [ends[i] for i in every], [heads.get(i, ends[i]) for i in every]


def open_pages(browser, url: str, room: Room, people: list, per_context: int, stamps: Stamps):
    """Every participant's page on their private link, loading together (as in a room where
    people arrive at once), each with the observer once it shows the round."""
    pages, context = [], None
    for i, p in enumerate(people):
        if i % per_context == 0:
            context = browser.new_context(viewport={"width": 900, "height": 700})
            context.expose_binding("__bloc_seen", stamps.report)
        page = context.new_page()
        page.set_default_timeout(300_000)
        stamps.index[id(page)] = i
        page.goto(f"{url}/join?room={room.code}&token={p.token}", wait_until="commit")
        pages.append(page)
    for page in pages:
        page.locator(".ws-round").wait_for()
        page.evaluate(OBSERVER)
    return pages


def wait_idle(most: float = 60.0) -> None:
    """Until the browsers have settled after loading (under 0.1 s of CPU in a second)."""
    end = time.monotonic() + most
    while time.monotonic() < end:
        before = cpu_ticks()
        time.sleep(1.0)
        if cpu_use(before, cpu_ticks())[2] < 0.1:
            return


def bench_browsers(n: int, rounds: int, per_context: int) -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    start_server(port)
    room, people, submitters = setup_room(n, rounds + 2)
    url = f"http://127.0.0.1:{port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        t_load = time.perf_counter()
        stamps = Stamps()
        pages = open_pages(browser, url, room, people, per_context, stamps)
        wait_idle()
        print(f"{n} pages open and settled in {time.perf_counter() - t_load:.0f} s; {loads()}")
        import negotiation.rooms.workshop_live as app  # the pages' watchers, in this process

        app.RENDERED = []
        samples, slowest, server, first, cpu, use = [], [], [], [], [], []
        for _ in range(rounds):
            target = room.snapshot().round + 1
            cpu0 = [time.process_time(), cpu_ticks()]
            since = len(app.RENDERED)

            def updated(match, since=since) -> int:
                """Pages the server has updated to a snapshot that `match`es."""
                return sum(1 for r, v, _ in app.RENDERED[since:] if match(r, v))

            def settle(cpu0=cpu0, updated=updated) -> None:
                version = room.snapshot().public_version
                while updated(lambda r, v: v == version) < n:  # noqa: B023 - called at once
                    time.sleep(0.01)
                time.sleep(0.3)
                cpu0[:] = [time.process_time(), cpu_ticks()]

            t0 = decide(room, submitters, settle)
            if t0 is None:
                continue
            while updated(lambda r, v: r == target) < n:  # noqa: B023 - called at once
                time.sleep(0.01)
            cpu.append(time.process_time() - cpu0[0])
            ends, heads = stamps.wait(pages, target)
            use.append(cpu_use(cpu0[1], cpu_ticks()))
            lat = [s - t0 for s in ends]
            samples += lat
            slowest.append(max(lat))
            first += [h - t0 for h in heads]
            closing = min(v for r, v, _ in app.RENDERED if r == target)  # the closing snapshot
            server.append(max(t for r, v, t in app.RENDERED if v == closing) - t0)
            secs, by_server, by_browsers, by_others = use[-1]
            print(
                f"  round {target:2d}: pages median {statistics.median(lat):.3f} s, slowest "
                f"{max(lat):.3f} s, server done {server[-1]:.3f} s; CPU in those {secs:.2f} s: "
                f"server {by_server:.2f} s, browsers {by_browsers:.2f} s, other processes "
                f"{by_others:.2f} s; load {os.getloadavg()[0]:.1f}"
            )
            time.sleep(0.3)  # let the pages settle before the next round
        browser.close()
    summary(f"browsers ({n} chromium pages, the whole page updated)", samples, slowest)
    print(
        f"  the round number alone (top of the page): median {statistics.median(first):.3f} s, "
        f"p95 {percentile(first, 0.95):.3f} s"
    )
    print(
        f"  of which the server updating all {n} pages: median "
        f"{statistics.median(server):.3f} s, p95 {percentile(server, 0.95):.3f} s, using "
        f"{statistics.median(cpu):.3f} s of CPU (median; the rest is waiting for a core)"
    )
    print(
        f"  CPU per round (median): server {statistics.median(u[1] for u in use):.2f} s, "
        f"browsers {statistics.median(u[2] for u in use):.2f} s; other processes on the machine "
        f"used {statistics.median(u[3] / u[0] for u in use):.1f} of its {os.cpu_count()} cores"
    )
    print(f"  at the end: {loads()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--participants", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--tabs-per-context", type=int, default=10)
    ap.add_argument("--no-browser", action="store_true", help="only the threads measurement")
    ap.add_argument("--no-save", action="store_true", help="do not save the room as it changes")
    args = ap.parse_args()
    print(
        f"bench_workshop: {args.participants} participants, {args.rounds} rounds, "
        f"{os.cpu_count()} cores, {loads()}"
    )
    state = None
    if not args.no_save:  # as `bloc workshop` does: every room saved as it changes
        state = Path(tempfile.mkdtemp(prefix="bench-workshop-state-"))
        WORKSHOP.state_dir = state
        print(f"rooms saved as they change, in {state} (removed at the end)")
    try:
        bench_threads(args.participants, args.rounds)
        if not args.no_browser:
            if not CHROMIUM.exists():
                raise SystemExit(f"{CHROMIUM} not found: scripts/setup --browser installs it")
            bench_browsers(args.participants, args.rounds, args.tabs_per_context)
        if state is not None:
            saved = sorted(state.glob("room-*.json"))
            size = max((f.stat().st_size for f in saved), default=0)
            print(f"  {len(saved)} room file(s) saved, the largest {size / 1024:.0f} KB")
    finally:
        if state is not None:
            WORKSHOP.state_dir = None
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Load on one workshop room: N participants (default 40) each with a browser page open, and the
time from the round's last submission to every page showing the new round.

    .venv/bin/python benchmarks/bench_workshop.py [--participants 40] [--rounds 8]

The Solara server runs in this process (the same app `bloc workshop` serves, production mode),
so the benchmark can set up the room and its 40 participants through the room's API and time
each round's last submission exactly; the participants are real chromium pages (Debian's
/usr/bin/chromium, headless, driven by Playwright), each on its private link, each with a
MutationObserver that stamps (Date.now()) the moment the end of the page (`.ws-end`, the last
part the server updates) shows a new round.
Participants share the six seats as teams (six submitters); every round the benchmark submits
for each seat that must decide, the last submission closes the round, and the latency of a page
is its stamp minus the time the last submission was made. Both clocks are this machine's.

Also printed, for comparison: the same fan-out without browsers (N threads waiting on the room
as the pages' threads do: the room's own share), the time the server took to re-render every
page, and when the top of each page (the round number) changed.

Prints the median, p95 and max over every (round, page) pair, and the median and p95 over
rounds of the slowest page. Target: p95 under 1 s. Not a test: it takes a few minutes (40
pages load one after another on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
os.environ["SOLARA_APP"] = "negotiation.workshop_app"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.human import accept  # noqa: E402
from negotiation.types import SupplierAction, SupplierMove  # noqa: E402
from negotiation.workshop import WORKSHOP, Room  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
SEATS = ("us", "japan", "eu", "mexico", "singapore", "supplier")
OBSERVER = """() => {
  window.__seen = {head: {}, end: {}};
  const look = () => {
    const now = Date.now();
    for (const [key, sel] of [['head', '.ws-round'], ['end', '.ws-end']]) {
      const el = document.querySelector(sel);
      const seen = window.__seen[key];
      if (el && !(el.dataset.round in seen)) seen[el.dataset.round] = now;
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


def bench_browsers(n: int, rounds: int, per_context: int) -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    start_server(port)
    room, people, submitters = setup_room(n, rounds + 2)
    url = f"http://127.0.0.1:{port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = []
        t_load = time.perf_counter()
        context = None
        for i, p in enumerate(people):
            if i % per_context == 0:
                context = browser.new_context(viewport={"width": 900, "height": 700})
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.goto(f"{url}/join?room={room.code}&token={p.token}")
            page.locator(".ws-round").wait_for()
            page.evaluate(OBSERVER)
            pages.append(page)
        print(f"{n} pages open in {time.perf_counter() - t_load:.0f} s")
        import negotiation.workshop_app as app  # the module the server runs, in this process

        app.RENDERED = []
        samples, slowest, server, first, cpu = [], [], [], [], []
        for _ in range(rounds):
            target = room.snapshot().round + 1
            cpu0 = [time.process_time()]

            def settle(cpu0=cpu0) -> None:
                version = room.snapshot().public_version
                while sum(1 for _, v, _ in app.RENDERED if v == version) < n:
                    time.sleep(0.01)
                time.sleep(0.3)
                cpu0[0] = time.process_time()

            t0 = decide(room, submitters, settle)
            if t0 is None:
                continue
            while sum(1 for r, _, _ in app.RENDERED if r == target) < n:
                time.sleep(0.005)
            cpu.append(time.process_time() - cpu0[0])
            stamps, heads = [], []
            for page in pages:
                page.wait_for_function(f"() => window.__seen.end['{target}'] !== undefined")
                stamps.append(page.evaluate(f"() => window.__seen.end['{target}']") / 1000)
                heads.append(page.evaluate(f"() => window.__seen.head['{target}']") / 1000)
            lat = [s - t0 for s in stamps]
            samples += lat
            slowest.append(max(lat))
            first += [h - t0 for h in heads]
            closing = min(v for r, v, _ in app.RENDERED if r == target)  # the closing snapshot
            server.append(max(t for r, v, t in app.RENDERED if v == closing) - t0)
            time.sleep(0.3)  # let the pages settle before the next round
        browser.close()
    summary(f"browsers ({n} chromium pages, the whole page updated)", samples, slowest)
    print(
        f"  the round number alone (top of the page): median {statistics.median(first):.3f} s, "
        f"p95 {percentile(first, 0.95):.3f} s"
    )
    print(
        f"  of which the server re-rendering all {n} pages: median "
        f"{statistics.median(server):.3f} s, p95 {percentile(server, 0.95):.3f} s, using "
        f"{statistics.median(cpu):.3f} s of CPU (median; the rest is waiting for a core)"
    )
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--participants", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--tabs-per-context", type=int, default=10)
    ap.add_argument("--no-browser", action="store_true", help="only the threads measurement")
    args = ap.parse_args()
    print(
        f"bench_workshop: {args.participants} participants, {args.rounds} rounds, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    bench_threads(args.participants, args.rounds)
    if not args.no_browser:
        if not Path(CHROMIUM).exists():
            raise SystemExit(f"{CHROMIUM} not found: scripts/setup --browser installs it")
        bench_browsers(args.participants, args.rounds, args.tabs_per_context)


if __name__ == "__main__":
    main()

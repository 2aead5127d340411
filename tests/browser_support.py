"""Plumbing for tests that drive the Solara app in a real browser.

Fixtures (made available to every test by ``tests/conftest.py``):

- ``browser``: one headless Debian chromium (``/usr/bin/chromium``) for the whole session, driven
  by Playwright's sync API. Skipped when chromium is missing, unless the ``CI`` environment
  variable is set: then a missing chromium fails the test. ``scripts/setup --browser`` installs it.
- ``page``: a fresh page (own browser context, 1280x900) per test.
- ``app_server``: factory starting ``python -m negotiation.cli app --port PORT [args]`` on a free
  port; returns an :class:`AppServer` with ``.url``. Servers are shared per distinct ``args``
  for the session (Solara keeps state per browser tab, so tests do not see each other's state);
  pass ``fresh=True`` for a server of your own. All are stopped at the end of the session.
- ``workshop``: one ``bloc workshop`` server with ``FACILITATOR_SECRET`` for the session, shared by
  the browser tests of the workshop modules (each test opens rooms of its own, and each browser
  context is a browser of its own to the server's per-browser limits): ``(address, process)``.
  A test that reads the server's log reads what was added since it started.
- ``screenshot_dir``: ``tests/screenshots/`` (git-ignored), created on demand.

Example::

    @pytest.mark.browser
    def test_page_renders(app_server, page, screenshot_dir):
        server = app_server()
        page.goto(server.url)
        page.get_by_text("Step").first.wait_for()
        page.screenshot(path=screenshot_dir / "start.png")
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = [
    "APP_COMMAND",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "SCREENSHOT_DIR",
    "AppServer",
    "app_server",
    "browser",
    "free_port",
    "page",
    "screenshot_dir",
    "start_app_server",
    "stop_app_server",
    "workshop",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT_DIR = REPO_ROOT / "tests" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 60.0
# `bloc app`, run with this interpreter; start_app_server appends `--port PORT` and the args
APP_COMMAND = [sys.executable, "-m", "negotiation.cli", "app"]
WORKSHOP_COMMAND = [sys.executable, "-m", "negotiation.cli", "workshop"]
#: The facilitator secret the test workshop servers start with (creating rooms needs it).
FACILITATOR_SECRET = "a-test-secret-for-rooms"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _log_tail(proc: subprocess.Popen, lines: int = 40) -> str:
    path = getattr(proc, "log_path", None)
    if path is None or not Path(path).exists():
        return "(no log)"
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def start_app_server(
    args: Sequence[str],
    port: int,
    *,
    timeout: float = SERVER_START_TIMEOUT,
    command: Sequence[str] = APP_COMMAND,
) -> subprocess.Popen:
    """Start ``bloc app --port PORT *args`` (or another `command`, such as
    ``WORKSHOP_COMMAND``) and wait until the port answers.

    The server's output goes to a log file (``proc.log_path``), so it can never block on a full
    pipe; its tail is in the error when the server dies or does not answer within ``timeout``.
    """
    cmd = [*command, "--port", str(port), *args]
    env = {
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "PYTHONUNBUFFERED": "1",
    }
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - must outlive this function
        prefix=f"bloc-app-{port}-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group: stop_app_server ends any children too
    )
    log.close()
    proc.log_path = log.name  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while not _port_answers(port):
        if proc.poll() is not None:
            raise RuntimeError(
                f"app server exited with code {proc.returncode} before answering on port "
                f"{port}: {' '.join(cmd)}\n{_log_tail(proc)}"
            )
        if time.monotonic() > deadline:
            stop_app_server(proc)
            raise RuntimeError(
                f"app server did not answer on port {port} within {timeout:.0f} s: "
                f"{' '.join(cmd)}\n{_log_tail(proc)}"
            )
        time.sleep(0.2)
    return proc


def fetch_when_up(
    url: str, proc: subprocess.Popen, timeout: float = 90.0, log: Path | None = None
) -> str:
    """The page at `url` once the server `proc` answers it with 200, as text. `log`: the
    server's output, told when it stops or does not answer in time."""
    import urllib.request

    def said() -> str:
        return log.read_text() if log is not None and log.exists() else ""

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                assert r.status == 200, f"{url}: HTTP {r.status}"
                return r.read().decode(errors="replace")
        except OSError:
            assert proc.poll() is None, f"the server stopped\n{said()}"
            assert time.monotonic() < deadline, f"the server did not answer\n{said()}"
            time.sleep(0.5)


@contextmanager
def workshop_server() -> Iterator[tuple[str, subprocess.Popen]]:
    """A `bloc workshop` process on a free port with `FACILITATOR_SECRET`: (its address, the
    process), stopped on leaving."""
    port = free_port()
    proc = start_app_server(
        ["--facilitator-secret", FACILITATOR_SECRET], port, command=WORKSHOP_COMMAND
    )
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        stop_app_server(proc)


def stop_app_server(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate the server's process group (SIGTERM, then SIGKILL after ``timeout``)."""
    if proc.poll() is None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
    path = getattr(proc, "log_path", None)
    if path:
        Path(path).unlink(missing_ok=True)


@dataclass
class AppServer:
    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def log(self) -> str:
        return Path(self.proc.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def app_server() -> Iterator[Callable[..., AppServer]]:
    shared: dict[tuple[str, ...], AppServer] = {}
    started: list[AppServer] = []

    def start(args: Sequence[str] = (), *, fresh: bool = False) -> AppServer:
        key = tuple(args)
        if not fresh and key in shared and shared[key].proc.poll() is None:
            return shared[key]
        port = free_port()
        server = AppServer(port=port, proc=start_app_server(list(args), port))
        started.append(server)
        if not fresh:
            shared[key] = server
        return server

    yield start
    for server in started:
        stop_app_server(server.proc)


@pytest.fixture(scope="session")
def workshop() -> Iterator[tuple[str, subprocess.Popen]]:
    """One `bloc workshop` server for the session's workshop browser tests (see the module
    docstring): a server takes seconds to start, and the tests never need one of their own."""
    with workshop_server() as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} not found; install it with: scripts/setup --browser"
        if in_ci():
            pytest.fail(msg + " (CI is set, so a missing browser is a failure)")
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.set_default_timeout(30_000)
    try:
        yield p
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


def new_page(browser, width: int = 1000):
    """A page in a browser context of its own (its own cookies: another device)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


def create_room(browser, url: str, rounds: int | None = None):
    """The facilitator creates a room (of `rounds` rounds, else the scenario's) from the home
    page: (context, page, join code)."""
    context, page = new_page(browser, 1280)
    page.goto(f"{url}/")
    if rounds is not None:
        page.locator(".ws-create-rounds input").fill(str(rounds))
        page.locator(".ws-create-rounds input").press("Enter")
    page.locator(".ws-create-secret input").fill(FACILITATOR_SECRET)
    page.locator(".ws-create").click()
    page.locator(".ws-code").wait_for()
    return context, page, page.locator(".ws-code").get_attribute("data-code")


def join(browser, url: str, code: str, name: str, seat: str | None = None):
    """A participant joins on a device of their own and takes `seat`: (context, page)."""
    context, page = new_page(browser)
    page.goto(f"{url}/join?room={code}")
    page.locator(".ws-name input").fill(name)
    page.locator(".ws-join").click()
    page.wait_for_url("**token=**")
    if seat:
        page.locator(f".ws-choose-{seat}").click()
        page.locator(f".ws-me[data-seat='{seat}']").wait_for(state="attached")
    return context, page

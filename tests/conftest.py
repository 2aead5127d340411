"""Shared pytest configuration. Browser-test fixtures live in tests/browser_support.py.

`scripts/test` runs the suite on two pytest-xdist workers (`-n 2 --dist loadfile`; a later `-n 0`
in its arguments, or a bare `pytest`, runs it in one process). A module goes whole to one worker,
so its module-scoped fixtures (an app server, an installed wheel, a sweep's reference tables) are
made once, and its tests run in file order as they would without xdist. Two tweaks to xdist's
`loadfile`, here:

- the modules that take longest are handed out first, so the two workers finish together (a
  worker takes the next module as it runs out of tests; xdist's own order, most tests first, left
  the few long tests of the wheel, the notebooks and the Dask backends for the end);
- test_kernels.py and test_market.py go to the same worker: both call the numba kernels
  directly, and whatever the model's calls have not compiled in a fresh checkout (since the
  kernels get C-ordered, writeable arrays only, `market.kernel_ready`, a few seconds: the
  search tests/reference_market.py calls on its own) the first compiles and the other loads
  from numba's cache, rather than both compiling it at once on two workers;
- the browser modules go to the same worker: one chromium at a time (launched once), and
  the browser pages never compete with a second set of pages for the CPU.
"""

from __future__ import annotations

import pytest

from tests.browser_support import *  # noqa: F403 - fixtures: browser, page, app_server, screenshot_dir


def pytest_configure(config: pytest.Config) -> None:
    """Servers the tests start (`bloc workshop`) save their rooms in a directory of the test
    run, never in the user's data directory (a test that wants one sets its own)."""
    import os
    import tempfile

    if "BLOC_WORKSHOP_STATE_DIR" not in os.environ:
        made = tempfile.mkdtemp(prefix="bloc-workshop-state-")
        os.environ["BLOC_WORKSHOP_STATE_DIR"] = config._bloc_state_dir = made  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    """The test run's state directory goes with it (it holds the test rooms' tokens)."""
    import shutil

    made = getattr(config, "_bloc_state_dir", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture
def ws():
    """A workshop server object in this process (no ticker thread), closed after the test."""
    from negotiation.rooms.workshop import Workshop

    w = Workshop(ticker=False)
    yield w
    w.close()


@pytest.fixture
def layouts(monkeypatch) -> list:
    """The layout of every render of a workshop participant's page, as it happens."""
    from negotiation.ui import workshop_app as wa

    seen: list = []
    after_render = wa.Live.after_render

    def counting(self, layout):
        seen.append(layout)
        after_render(self, layout)

    monkeypatch.setattr(wa.Live, "after_render", counting)
    return seen


#: Longest first (their share of the suite on a 2-core machine); modules not named come after,
#: in file order. Only the balance between the workers depends on this list.
SLOWEST_FIRST = [
    "tests/test_app_browser.py",  # with the other browser modules: about 280 s
    "tests/test_sweep_backends.py",  # about 180 s
    "tests/test_kernels.py",
    "tests/test_market.py",
    "tests/test_workshop_browser.py",
    "tests/test_workshop_security.py",
    "tests/test_app.py",
    "tests/test_scenarios.py",
    "tests/test_wheel.py",
    "tests/test_readme.py",
    "tests/test_sweep_report.py",
    "tests/test_ema.py",
    "tests/test_metamorphic.py",
    "tests/test_sweep.py",
    "tests/test_docs.py",
    "tests/test_notebooks.py",
    "tests/test_price_oracle.py",
    "tests/test_workshop.py",
]

#: Modules run on the worker of another module (see the module docstring).
SAME_WORKER_AS = {
    "tests/test_kernels.py": "tests/test_market.py",
    "tests/test_workshop_browser.py": "tests/test_app_browser.py",
    "tests/test_workshop_security.py": "tests/test_app_browser.py",
    "tests/test_workshop_resume.py": "tests/test_app_browser.py",
    "tests/test_workshop_toolkit.py": "tests/test_app_browser.py",
    "tests/test_workshop_debrief.py": "tests/test_app_browser.py",
    "tests/test_workshop_usability.py": "tests/test_app_browser.py",
}


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, the slowest modules first (each module's tests keep their order)."""
    if not hasattr(config, "workerinput"):
        return  # one process: file order, as always
    rank = {module: i for i, module in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(_module(item.nodeid), len(rank)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadfile`, in the order above and with SAME_WORKER_AS (other modes: xdist's).

    xdist's documented way to put modules together, `--dist loadgroup` with `xdist_group` marks,
    groups nothing on this pytest (pytest-dev/pytest-xdist#1386, open: the group suffix it adds
    to node ids no longer takes), so this scheduler refines `loadfile`'s grouping instead."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ModuleScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = _module(nodeid)
            return SAME_WORKER_AS.get(module, module)

    config.option.loadscopereorder = False  # keep the collection's order (slowest first)
    return ModuleScheduling(config, log)

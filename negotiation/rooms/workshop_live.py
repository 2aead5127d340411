"""How the workshop's pages stay live: a room's versions, waiting on them, and the turn pages
take to re-render. Pure Python (no Solara): `negotiation.ui.workshop_app` builds its pages on it.

The contract
------------

What holds the lock:

- A room has one lock, `Room.lock` (a re-entrant lock, `Versions.lock`), and every piece of
  the room's state is read and written under it: every public method of `Room` takes it for
  its whole work (seats, decisions, rounds, the timer, the record, the saved state), and its
  collaborators (`Room.access`, `Room.timer`, `Room.archive`, `Room.snapshots`) are only ever
  called with it held. `Workshop.save` takes it to read `Room.changes` and `Room.state()` together.
- Nothing else is taken while the room's lock is held, and the lock is never held while a
  page renders: pages render from snapshots, not from the room.

When versions bump and pages are woken:

- Every change to a room ends in `Room._touch(public)`, with the lock held: `Room.version`
  goes up by one; a public change (anything a page shows, which is nearly everything) also
  bumps `Room.public_version` and `Room.changes` (the count a Workshop with a state directory
  saves the room on). The cached snapshot is dropped, and every thread waiting on the room is
  woken at once (`Versions.bump`, a condition on the room's lock). A change that only the
  person's own pages show (a page of theirs opening or closing, while their link is open on one
  device) bumps `version` alone.
- A method that changes nothing does not bump: a page may count on a new version meaning a
  new snapshot.

What a page may rely on:

- `Room.snapshot()` is a `RoomSnapshot`, immutable, built under the lock once per version
  (`SnapshotBuilder.build`, `negotiation.rooms.workshop_snapshot`) and shared by every page (only
  `time_left` and `taken_at` are fresh in each copy); its `version` and `public_version` are
  the room's when it was built.
- `Room.wait(version, timeout, public)` returns the snapshot as soon as the room's version
  (`public`: its public version) differs from `version`, or after `timeout` seconds with the
  snapshot as it is: a page compares the versions to tell which. It never misses a change:
  the versions are compared under the lock the changes are made under.
- `watcher(room, public, update)` is the body of a page's watcher thread: it hands the page
  the room's snapshot now, and every new one after, until the page cancels (noticed within a
  second). A page that watches the public version is not woken by private changes.
- Pages update in their turn (`in_turn`), one page at a time across the server (a Solara
  render is CPU-bound: one at a time, the first pages are done early, and a page's messages go
  out together). A page that holds the turn too long (its browser slow to read) is waited for
  0.25 s at most. Locks: the turn first, then a page's own lock (`workshop_app.Live`); never
  the room's lock inside the turn except to take a snapshot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

#: When a list, each page's watcher appends (round, public version, time) once it has
#: re-rendered a new snapshot (for benchmarks/bench_workshop.py).
RENDERED: list[tuple[int, int, float]] | None = None
#: The turn pages take to update (`in_turn`).
TURN = threading.RLock()


class Versions:
    """A room's lock and its versions (see the module's contract): `version` counts every
    change, `public_version` and `changes` the changes pages show."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self.version = 0
        self.public_version = 0
        #: public changes so far: a Workshop with a state directory saves the room when it moves
        self.changes = 0

    def bump(self, public: bool = True) -> None:
        """Something changed (call it with the lock held): new version; wake every waiter."""
        self.version += 1
        if public:
            self.public_version += 1
            self.changes += 1
        self._changed.notify_all()

    def wait(self, version: int, timeout: float, public: bool, then: Callable[[], Any]) -> Any:
        """`then()`, under the lock, once the version (or public version) differs from
        `version`, or after `timeout` seconds."""
        with self._changed:
            attr = "public_version" if public else "version"
            self._changed.wait_for(lambda: getattr(self, attr) != version, timeout)
            return then()


class Watched(Protocol):
    """What `watcher` needs of a room (`negotiation.rooms.workshop.Room`)."""

    def snapshot(self) -> Any: ...

    def wait(self, version: int, timeout: float = 1.0, public: bool = False) -> Any: ...


def watcher(room: Watched, public: bool, update: Callable[[Any], None]) -> Callable:
    """The body of a page's watcher thread (give it the thread's cancel event): hand the room's
    snapshot to `update` now and every new one after (a new public version, with `public`)."""

    def watch(cancel: threading.Event) -> None:
        current = room.snapshot()
        seen = current.public_version if public else current.version
        update(current)
        while not cancel.is_set():
            new = room.wait(seen, timeout=1.0, public=public)
            version = new.public_version if public else new.version
            if version != seen:
                seen = version
                update(new)
                if RENDERED is not None:  # benchmarks/bench_workshop.py measures here
                    RENDERED.append((new.round, new.public_version, time.time()))

    return watch


def in_turn(work: Callable[[], None]) -> None:
    """Update a page in its turn, one page at a time. A Solara render is CPU-bound: 40 threads
    rendering at once under the GIL would all finish late, while one at a time the first pages
    are done early. And a page's messages go out together: sent concurrently, each page's
    messages would be spread out among the others', and a browser that gets them apart draws
    the page several times. A page whose client is slow to read (its socket full) may hold
    the turn, so the others wait for it 0.25 s at most."""
    turn = TURN.acquire(timeout=0.25)
    try:
        work()
    finally:
        if turn:
            TURN.release()

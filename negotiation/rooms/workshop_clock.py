"""A room's clock: the open round's countdown (`RoundTimer`: its deadline, pause and resume,
more time, the facilitator's timer setting, what a saved room keeps of it) and the server's
ticker (`Ticker`, a thread that has `Room.tick` close the rounds whose time is up).

Times are the room's clock's (`Room.clock`, seconds); the caller passes `now`. A `RoundTimer`
changes only under its room's lock (`negotiation.rooms.workshop_live`): `Room` calls it from its
methods, which say in the narrative what changed and bump the room's version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class RoundTimer:
    """The open round's countdown. `deadline`: the clock time the round closes (None: no
    countdown, or paused); `paused`: the facilitator paused the session; `paused_left`: the
    seconds the round had left when paused (None if it had no countdown)."""

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.paused = False
        self.paused_left: float | None = None

    def pause(self, now: float) -> None:
        self.paused = True
        if self.deadline is not None:
            self.paused_left = max(self.deadline - now, 0.0)
            self.deadline = None

    def resume(self, now: float) -> None:
        self.paused = False
        if self.paused_left is not None:
            self.deadline = now + self.paused_left
            self.paused_left = None

    def extend(self, seconds: float, now: float) -> None:
        """More time for the open round (a countdown starts if the round has none)."""
        if self.paused:
            self.paused_left = (self.paused_left or 0.0) + seconds
        elif self.deadline is None:
            self.deadline = now + seconds
        else:
            self.deadline += seconds

    def set_timer(self, seconds: float | None, running: bool, now: float) -> None:
        """The facilitator changed the round timer: none stops the countdown; a timer starts
        one now if the session runs and the open round has none."""
        if seconds is None:
            self.deadline = None
            self.paused_left = None
        elif running and self.deadline is None and not self.paused:
            self.deadline = now + seconds

    def open_round(self, seconds: float | None, now: float) -> None:
        """A round opened: its countdown (the round timer's `seconds`, if any)."""
        if seconds:
            if self.paused:
                self.paused_left = seconds
                self.deadline = None
            else:
                self.deadline = now + seconds
        else:
            self.deadline = None

    def stop(self) -> None:
        """The session is over: no countdown."""
        self.deadline = None

    def reset(self) -> None:
        """Back to round 0 (a practice reset): not paused, no countdown."""
        self.paused = False
        self.deadline = None
        self.paused_left = None

    def running_out(self) -> bool:
        """Whether a countdown runs (not paused, with a deadline)."""
        return not self.paused and self.deadline is not None

    def time_left(self, now: float) -> float | None:
        """Seconds the open round has left (paused: when it resumes); None with no countdown."""
        left = self.deadline - now if self.deadline is not None else self.paused_left
        return max(left, 0.0) if left is not None else None

    def saved_left(self, now: float) -> float | None:
        """What a saved room keeps of the countdown: the seconds left (None: none)."""
        if self.paused:
            return self.paused_left
        return None if self.deadline is None else max(self.deadline - now, 0.0)

    def restore(
        self, paused: bool, left: float | None, running: bool, timer: float | None, now: float
    ) -> None:
        """A saved room comes back: paused as it was; a running round's countdown starts again
        with the round's whole timer, or the time it had left if more."""
        self.paused = paused
        if running:
            if paused:
                self.paused_left = left
            elif left is not None or timer:
                self.deadline = now + max(left or 0.0, timer or 0)


class Ticker:
    """A daemon thread that calls `work()` every `seconds` until `stop` is set (the Workshop's:
    it may be set before the ticker starts)."""

    def __init__(
        self, work: Callable[[], None], seconds: float, stop: threading.Event, name: str
    ) -> None:
        self.work = work
        self.seconds = seconds
        self.stop = stop
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.wait(self.seconds):
            self.work()

"""One deadline per tool call, carried in a context variable.

The registrar opens `call_deadline(max_wait_seconds + MARGIN)` around every tool call; `HTTPCore`
reads it: no back-off sleeps past it, no request's time-out outlasts it, and a request is not sent
at all when less than `MIN_REQUEST_SECONDS` are left. Hosts cut a call at about a minute, so an
answer that says why is better than one that never arrives.

Transfers to and from signed URLs run inside `paused()`: they report progress and take as long as
the file needs, and the API calls that follow them (finalize, the run start) get the time that was
left before. Outside a tool call (the background poller, `doctor`) there is no deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

MARGIN = 10.0
"""Seconds a tool call may run beyond the wait cap (MOSAIC_MCP_MAX_WAIT_SECONDS): its own requests."""
MIN_REQUEST_SECONDS = 1.0
"""A request is not sent (nor a retry waited for) with less time than this left to answer it."""


class Deadline:
    """When the current tool call must have answered, on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._expires = time.monotonic() + seconds
        self._skipped = 0.0
        self._pauses = 0
        self._paused_at = 0.0

    def _now(self) -> float:
        return (self._paused_at if self._pauses else time.monotonic()) + self._skipped

    def remaining(self) -> float:
        """Seconds left (negative once passed); frozen while paused."""
        return self._expires - self._now()

    @property
    def expired(self) -> bool:
        """Whether the time is up."""
        return self.remaining() <= 0

    def skip(self, seconds: float) -> None:
        """Count `seconds` as spent without waiting them: what a test's RecordingSleep does instead of sleeping."""
        self._skipped += max(seconds, 0.0)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the clock for the duration of the block (nested and concurrent pauses count once)."""
        if self._pauses == 0:
            self._paused_at = time.monotonic()
        self._pauses += 1
        try:
            yield
        finally:
            self._pauses -= 1
            if self._pauses == 0:
                self._expires += time.monotonic() - self._paused_at


_current: ContextVar[Deadline | None] = ContextVar("mosaic_mcp_deadline", default=None)


def current() -> Deadline | None:
    """The deadline of the tool call being served, if any."""
    return _current.get()


@contextmanager
def call_deadline(seconds: float | None) -> Iterator[Deadline | None]:
    """Give the code inside `seconds` in all (None: no limit); an earlier outer deadline stays in force."""
    outer = _current.get()
    if seconds is None or (outer is not None and outer.remaining() <= seconds):
        yield outer
        return
    mine = Deadline(seconds)
    token = _current.set(mine)
    try:
        yield mine
    finally:
        _current.reset(token)


@contextmanager
def paused() -> Iterator[None]:
    """Stop the current call's clock, if it has one, for a transfer (see the module docstring)."""
    limit = _current.get()
    if limit is None:
        yield
        return
    with limit.paused():
        yield

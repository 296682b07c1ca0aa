"""One clock for the job layer: wall time for what is stored and shown, monotonic time for schedules.

The poller, job service, journal, snapshots, write-ahead starts and the reconciler all read time
through a `Clock` handed to them where the server builds them (`create_server`). The server uses
`SYSTEM_CLOCK`; tests pass a `ManualClock` and move it instead of backdating journal rows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where the job layer reads the time."""

    def wall(self) -> float:
        """Epoch seconds (UTC): stored in the journal, shown to people, compared across restarts."""
        ...

    def monotonic(self) -> float:
        """Seconds that never go backwards: for due times and pauses inside one process."""
        ...


class SystemClock:
    """The real clock."""

    def wall(self) -> float:
        """`time.time()`."""
        return time.time()

    def monotonic(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()


class ManualClock:
    """A clock that moves only when told to (tests): both readings advance together."""

    def __init__(self, wall: float | None = None, monotonic: float = 1000.0) -> None:
        self._wall = time.time() if wall is None else wall  # starts at the real now unless told otherwise
        self._monotonic = monotonic

    def wall(self) -> float:
        """The current (manual) epoch time."""
        return self._wall

    def monotonic(self) -> float:
        """The current (manual) monotonic time."""
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (never backwards)."""
        if seconds < 0:
            raise ValueError("the clock never goes backwards")
        self._wall += seconds
        self._monotonic += seconds


def iso_utc(epoch: float) -> str:
    """An epoch time as ISO 8601 UTC with a `Z`, to the second."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

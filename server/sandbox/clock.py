"""Virtual time for the sandbox: a clock tests can speed up, freeze and jump.

Virtual time runs at ``speed`` virtual seconds per real second from a start instant, plus whatever
``advance()`` added. ``speed=0`` freezes it, so a test moves time only with ``advance()`` and never
sleeps. Everything the sandbox simulates (runs, sessions, URL expiry) reads this clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


class SandboxClock:
    """Virtual wall-clock time (epoch seconds) driven by a speed factor and manual advances."""

    def __init__(
        self,
        speed: float = 1.0,
        *,
        start: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._monotonic = monotonic
        self._speed = speed
        self._base_virtual = time.time() if start is None else start
        self._base_real = monotonic()

    @property
    def speed(self) -> float:
        """Virtual seconds per real second (0 = frozen)."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0:
            raise ValueError("speed must be >= 0")
        # Re-base so the change applies from now on and time never jumps backwards.
        self._base_virtual = self.now()
        self._base_real = self._monotonic()
        self._speed = value

    def now(self) -> float:
        """The current virtual time in epoch seconds."""
        return self._base_virtual + (self._monotonic() - self._base_real) * self._speed

    def advance(self, seconds: float) -> None:
        """Jump virtual time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("the clock never goes backwards")
        self._base_virtual += seconds

    def resume(self, at: float) -> None:
        """Continue from virtual time ``at`` (a restored state's clock), whatever this clock said before."""
        self._base_virtual = at
        self._base_real = self._monotonic()


def iso(ts: float) -> str:
    """An epoch time as ISO-8601 UTC with milliseconds, e.g. ``2026-03-02T09:00:00.000Z``."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    """An ISO-8601 date or datetime (``Z`` allowed; naive means UTC) as epoch seconds."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()

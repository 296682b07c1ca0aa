"""Byte progress for transfers: `ctx.report_progress`-shaped, and at most `MAX_NOTIFICATIONS` per transfer.

The bound holds whatever the size, also when it is unknown: a piece of known size is reported in
steps of about 1/98 of it (at least `MIN_STEP`); one of unknown size in steps that grow with what
has arrived (`UNKNOWN_GROWTH` of it), so a 1 GiB stream without a length sends 37 updates and
a 1 TiB one 79. Whatever the steps, the meter never sends more than the budget: the first and
the last notification are always sent, the ones between only while the budget lasts.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

Progress = Callable[[float, float | None, str | None], Awaitable[None]]
"""`ctx.report_progress`-shaped callback: (done, total, message)."""

CHUNK = 1 << 20
"""Bytes read per step of the small transfers (thumbnails)."""
MIN_STEP = 1 << 20
"""The smallest progress step: a file under 1 MiB gets only its first and last notification."""
MAX_NOTIFICATIONS = 100
"""Progress notifications one transfer (one tool call) sends at most, whatever its size."""
UNKNOWN_GROWTH = 0.15
"""Without a known size, the next step is this share of the bytes the piece has had so far."""


class ByteMeter:
    """Byte progress, throttled by size (see the module docstring) and bounded in count."""

    def __init__(
        self, report: Progress | None, total: int | None, label: str, done: int = 0, budget: int = MAX_NOTIFICATIONS
    ) -> None:
        self.report, self.total, self.label = report, total, label
        self.done = self.last = done
        self.budget = max(budget, 2)
        self.sent = 0
        self.expect(total)

    def expect(self, size: int | None) -> None:
        """The next piece starts here and has `size` bytes (None: unknown); sets the step."""
        self._base, self._size = self.done, size

    @property
    def step(self) -> int:
        """Bytes between two notifications for the piece being moved."""
        if self._size is not None:
            return max(MIN_STEP, math.ceil(self._size / (self.budget - 2)))
        return max(MIN_STEP, int((self.done - self._base) * UNKNOWN_GROWTH))

    async def start(self) -> None:
        await self._send()

    async def add(self, count: int) -> None:
        self.done += count
        # One notification stays in reserve for `finish`.
        if self.done - self.last >= self.step and self.sent < self.budget - 1:
            await self._send()

    async def finish(self) -> None:
        if self.done != self.last:
            await self._send()

    async def _send(self) -> None:
        self.last = self.done
        self.sent += 1
        if self.report is not None:
            total = f" of {_mb(self.total)}" if self.total else ""
            await self.report(self.done, self.total, f"{self.label}: {_mb(self.done)}{total}")


def _mb(size: int) -> str:
    return f"{size / (1 << 20):,.1f} MB"

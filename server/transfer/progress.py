"""Byte progress for transfers: `ctx.report_progress`-shaped, throttled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Progress = Callable[[float, float | None, str | None], Awaitable[None]]
"""`ctx.report_progress`-shaped callback: (done, total, message)."""

CHUNK = 1 << 20
"""Bytes read or written per step (and the smallest progress step)."""


class ByteMeter:
    """Byte progress, throttled to about one notification per percent (and per MiB at most)."""

    def __init__(self, report: Progress | None, total: int | None, label: str, done: int = 0) -> None:
        self.report, self.total, self.label = report, total, label
        self.done = self.last = done
        self.step = max(CHUNK, (total or 0) // 100)

    async def start(self) -> None:
        await self._send()

    async def add(self, count: int) -> None:
        self.done += count
        if self.done - self.last >= self.step:
            await self._send()

    async def finish(self) -> None:
        if self.done != self.last:
            await self._send()

    async def _send(self) -> None:
        self.last = self.done
        if self.report is not None:
            total = f" of {_mb(self.total)}" if self.total else ""
            await self.report(self.done, self.total, f"{self.label}: {_mb(self.done)}{total}")


def _mb(size: int) -> str:
    return f"{size / (1 << 20):,.1f} MB"

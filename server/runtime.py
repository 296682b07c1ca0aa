"""`Runtime`: what the tools of one connection share, and the connections open on one server.

A leaf of the MCP wiring: it names types from the layers below (settings, API clients, jobs) and
imports no orchestration module (`app`, `webhooks`, `http`, `cli`), so tools and routes can
depend on it without depending on how the server is assembled (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .api.mosaic import MosaicClient
from .api.motion import MotionClient
from .config import Settings
from .jobs.notify import Notifier
from .jobs.service import JobService
from .jobs.starts import Starts


@dataclass
class Runtime:
    """What the tools share for the life of a connection (stdio, in memory) or of the app (HTTP)."""

    settings: Settings
    mosaic: MosaicClient
    motion: MotionClient
    jobs: JobService
    starts: Starts
    notifier: Notifier
    sandbox_url: str | None = None


class Connections:
    """The runtimes of the lifespans running on one server now, oldest first.

    stdio and HTTP run one lifespan at a time; in memory every `Client` runs its own, and each
    lifespan adds its runtime while it runs and removes only that one when it ends. Every runtime
    of a server reads the same journal for the same keys, so any open one can answer what has no
    request context of its own (`resources/list`, the jobs index, webhook deliveries).
    """

    def __init__(self) -> None:
        self._open: list[Runtime] = []

    @contextmanager
    def open(self, runtime: Runtime) -> Iterator[Runtime]:
        """Count `runtime` as open for the duration of the block."""
        self._open.append(runtime)
        try:
            yield runtime
        finally:
            self._open.remove(runtime)

    def __iter__(self) -> Iterator[Runtime]:
        return iter(tuple(self._open))

    def any(self) -> Runtime | None:
        """The most recently opened runtime still open, or None between connections."""
        return self._open[-1] if self._open else None

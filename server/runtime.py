"""`Runtime`: what the tools of one connection share, and the connections open on one server.

A leaf of the MCP wiring: it names types from the layers below (settings, API clients, jobs) and
imports no orchestration module (`app`, `webhooks`, `http`, `cli`), so tools and routes can
depend on it without depending on how the server is assembled (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .api.errors import MosaicMCPError
from .api.mosaic import MosaicClient
from .api.motion import MotionClient
from .config import Settings
from .jobs.notify import Notifier
from .jobs.service import JobService
from .jobs.starts import Starts
from .people import Person, person_of_request


class NoPersonError(MosaicMCPError):
    """A remote server was asked something outside any person's request (no keys, no sign-in)."""

    def __init__(self) -> None:
        super().__init__(
            "this server serves each person with their own keys, and this request acts for nobody: "
            "send X-Mosaic-Api-Key / X-Motion-Api-Key (MOSAIC_MCP_AUTH=keys) or sign in (oauth)"
        )


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
    for_person: Callable[[Person], Runtime] | None = None
    """Remote modes (MOSAIC_MCP_AUTH keys or oauth): the runtime of one person (their keys, their jobs)."""

    def for_request(self) -> Runtime:
        """The runtime the current request acts in: this one, or in remote modes its person's."""
        if self.for_person is None:
            return self
        person = person_of_request()
        if person is None:
            raise NoPersonError()
        return self.for_person(person)


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

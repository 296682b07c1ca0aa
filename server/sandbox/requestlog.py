"""A record of every request the sandbox received, for assertions such as "sent exactly once"."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any

MAX_BODY = 64 * 1024
"""How much of a JSON request body is kept (the rest is dropped and `body_truncated` set)."""


@dataclass(frozen=True)
class RequestRecord:
    """One request: what was asked, which route matched, and what happened."""

    method: str
    path: str
    route: str | None
    query: str
    status: int | None  # None when the connection was dropped before a status was sent
    fault: str | None
    at: float  # virtual time
    authorization: bool  # whether an Authorization header was present (its value is never stored)
    body: bytes | None = field(default=None, repr=False)
    """The first MAX_BODY bytes of a JSON body, as far as the route read it; None for other bodies."""
    body_truncated: bool = False

    def json(self) -> Any:
        """The JSON body the sandbox received (None when there was none); refuses a truncated one."""
        if self.body is None or not self.body:
            return None
        if self.body_truncated:
            raise ValueError(f"the body of {self.method} {self.path} was longer than {MAX_BODY} bytes")
        return json.loads(self.body)


class RequestLog:
    """Append-only list of ``RequestRecord`` with small query helpers."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        """Record one request."""
        self.records.append(record)

    def matching(self, method: str | None = None, route: str | None = None) -> list[RequestRecord]:
        """Records whose method matches and whose route template or path matches ``route``.

        ``route`` may be a template (``/agent/{agent_id}/run``), a concrete path, or a glob (``/agent/*``).
        """
        found = []
        for record in self.records:
            if method is not None and method != "*" and record.method != method.upper():
                continue
            if route is not None and not _route_matches(route, record):
                continue
            found.append(record)
        return found

    def count(self, method: str | None = None, route: str | None = None) -> int:
        """How many requests matched (see ``matching``)."""
        return len(self.matching(method, route))

    def bodies(self, method: str | None = None, route: str | None = None) -> list[Any]:
        """The JSON bodies of the requests that matched (see ``matching``), oldest first."""
        return [record.json() for record in self.matching(method, route)]

    def clear(self) -> None:
        """Forget everything recorded so far."""
        self.records.clear()

    def __len__(self) -> int:
        return len(self.records)


def _route_matches(pattern: str, record: RequestRecord) -> bool:
    if pattern in (record.route, record.path):
        return True
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatchcase(record.path, pattern) or (
            record.route is not None and fnmatch.fnmatchcase(record.route, pattern)
        )
    return False

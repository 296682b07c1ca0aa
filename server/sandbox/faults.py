"""Fault injection: scripted faults for tests and random ones from the config.

Scripted (deterministic)::

    sandbox.faults.inject(kind="rate_limit", method="POST", path="/agent/*/run", times=1, retry_after=2)

The next ``times`` requests whose method matches and whose path (or route template, e.g.
``/agent/{agent_id}/run``) matches the glob get the fault instead of (or, with ``after=True``, in
place of the response to) the real handling. Kinds:

- ``latency``: wait ``delay`` real seconds, then answer normally; with ``after=True`` the request
  is carried out at once and only the answer waits (a client time-out after the work was done).
- ``server_error``: 500 (``status`` may pick another 5xx).
- ``rate_limit``: 429 with ``Retry-After``.
- ``status``: any ``status`` with ``body`` (dict -> JSON, str/bytes verbatim; default: a
  documented error body for that status).
- ``malformed``: 200 whose body is not JSON (``{not json``).
- ``drop``: the connection is cut mid-response (the client sees a protocol / read error).

``after=True`` runs the real handler first and then replaces its response with the fault - the
"request was processed but the answer was lost" case (e.g. a run created, then a dropped
connection). Random faults (``error_rate`` etc.) apply only to API paths, never after handling.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .config import SandboxConfig

FaultKind = Literal["server_error", "rate_limit", "malformed", "drop", "latency", "status"]
FAULT_KINDS: tuple[str, ...] = ("server_error", "rate_limit", "malformed", "drop", "latency", "status")

LOST_ANSWERS: dict[str, dict[str, Any]] = {
    "500": {"kind": "server_error"},
    "502": {"kind": "status", "status": 502},
    "504": {"kind": "status", "status": 504},
    "malformed": {"kind": "malformed"},
    "timeout": {"kind": "latency", "delay": 0.6},
    "drop": {"kind": "drop"},
}
"""Every way an answer can go missing, as ``inject(**LOST_ANSWERS[name], after=True)`` arguments
(with ``after=True`` the work is done first; "timeout" needs a client time-out under 0.6 s)."""


@dataclass
class Fault:
    """One scripted fault and how many more requests it applies to."""

    kind: FaultKind
    method: str = "*"
    path: str = "*"
    times: int = 1
    status: int | None = None
    retry_after: float | None = None
    body: Any = None
    delay: float | None = None
    after: bool = False
    headers: dict[str, str] | None = None
    then: Callable[[], object] | None = None

    def matches(self, method: str, path: str, route: str | None) -> bool:
        """Whether a request is targeted by this fault."""
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path) or (route is not None and fnmatch.fnmatchcase(route, self.path))


class FaultInjector:
    """Scripted faults (consumed in order) plus config-driven random faults."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._rng = random.Random(f"faults:{config.seed}")  # noqa: S311 - simulation, not crypto
        self._scripted: list[Fault] = []
        self.fired: list[tuple[str, str, str]] = []  # (kind, method, path) of every applied fault

    def inject(
        self,
        kind: FaultKind,
        *,
        method: str = "*",
        path: str = "*",
        times: int = 1,
        status: int | None = None,
        retry_after: float | None = None,
        body: Any = None,
        delay: float | None = None,
        after: bool = False,
        headers: dict[str, str] | None = None,
        then: Callable[[], object] | None = None,
    ) -> Fault:
        """Script a fault for the next ``times`` matching requests; ``then()`` runs each time it fires
        (e.g. another client starting a run while our request is being lost)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if kind == "status" and status is None:
            raise ValueError("kind='status' needs a status")
        if times < 1:
            raise ValueError("times must be >= 1")
        fault = Fault(kind, method, path, times, status, retry_after, body, delay, after, headers, then)
        self._scripted.append(fault)
        return fault

    def clear(self) -> None:
        """Forget all scripted faults."""
        self._scripted.clear()

    @property
    def pending(self) -> list[Fault]:
        """Scripted faults that still have uses left."""
        return [f for f in self._scripted if f.times > 0]

    def take(self, method: str, path: str, route: str | None, *, api: bool) -> Fault | None:
        """The fault for this request, if any (consumes one use of a scripted fault)."""
        for fault in self._scripted:
            if fault.times > 0 and fault.matches(method, path, route):
                fault.times -= 1
                return self._fired(fault, method, path)
        return self._random(method, path) if api else None

    def _random(self, method: str, path: str) -> Fault | None:
        config = self.config
        draws: list[tuple[float, FaultKind]] = [
            (config.drop_rate, "drop"),
            (config.error_rate, "server_error"),
            (config.rate_limit_rate, "rate_limit"),
            (config.malformed_rate, "malformed"),
        ]
        for rate, kind in draws:
            if rate > 0 and self._rng.random() < rate:
                return self._fired(Fault(kind, retry_after=config.retry_after), method, path)
        if config.latency_ms > 0:
            return Fault("latency", delay=config.latency_ms / 1000)
        return None

    def _fired(self, fault: Fault, method: str, path: str) -> Fault:
        self.fired.append((fault.kind, method, path))
        if fault.then is not None:
            fault.then()
        return fault

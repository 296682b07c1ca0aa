"""A tiny discrete-event scheduler: callbacks due at virtual times, run in time order.

The sandbox advances lazily: each request (and the background ticker) calls ``run_until(now)``,
which fires every due event in order, each with its own due time, so a jump of an hour gives the
same history as an hour of small steps (credits are spent in the right order across runs).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

Callback = Callable[[float], None]


@dataclass(order=True)
class _Event:
    due: float
    seq: int
    callback: Callback = field(compare=False)


class Scheduler:
    """Events ordered by due time, then by insertion order."""

    def __init__(self) -> None:
        self._heap: list[_Event] = []
        self._seq = 0  # a plain int, not itertools.count: the state is pickled (sandbox/persist.py)

    def at(self, due: float, callback: Callback) -> None:
        """Run ``callback(due)`` once virtual time reaches ``due``."""
        self._seq += 1
        heapq.heappush(self._heap, _Event(due, self._seq, callback))

    def run_until(self, now: float) -> int:
        """Fire every event due at or before ``now`` (including ones scheduled meanwhile)."""
        fired = 0
        while self._heap and self._heap[0].due <= now:
            event = heapq.heappop(self._heap)
            event.callback(event.due)
            fired += 1
        return fired

    def next_due(self) -> float | None:
        """When the next event is due, if any."""
        return self._heap[0].due if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)

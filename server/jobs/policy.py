"""The poller's interval policy: what happened at a job's last poll in, the next interval out.

One pure function (`next_interval`), no I/O and no clock: the poller measures (did the job change,
is someone waiting, how long since anyone asked about it, how the read failed) and this module
decides. The interval starts at `initial`, grows by `growth` while nothing changes up to `cap`
(`idle_cap` once nobody asked about the job for `idle_after` seconds), and is reset on a change,
when someone waits on the job, or when it is woken (webhook, new watcher). A job `paused` on a
person outside the API (Motion's `awaiting_user_input`) is read every `idle_cap`, changed or not,
watched or not: nothing the poller does can move it on. A failed read backs
off: by the service's Retry-After when rate-limited, by `idle_cap` when the key is rejected or
missing (nothing changes until it is fixed), else twice the growth up to `cap`. Whatever the
reason, a failed read waits between `initial` and `idle_cap`.

Two more pure rules serve the sweep: how many list pages a live set fills (`sweep_pages`), and how
long the single fetches a cycle could not send wait (`spread_delay`: `singles_per_cycle` of them
every `initial` seconds, in due order, so a burst is spread instead of sent at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..api.errors import AuthenticationError, MissingKeyError, RateLimitedError


@dataclass(frozen=True)
class PollTiming:
    """Intervals in seconds; tests shrink them, nothing else changes."""

    initial: float = 2.0
    growth: float = 1.5
    cap: float = 30.0
    idle_cap: float = 120.0
    idle_after: float = 600.0
    sweep_threshold: int = 3
    sweep_max_pages: int = 10
    """List pages a sweep may read beyond those our own live runs fill (other runs of the key share the list)."""
    singles_per_cycle: int = 200
    """Single-run fetches a cycle sends at most; the rest are spread over the next cycles (`spread_delay`)."""
    concurrency: int = 8
    adopt_every: float = 30.0
    sweep_failures_to_pause: int = 3
    """Failed sweeps in a row after which the list endpoint is left alone for `sweep_pause`."""
    sweep_pause: float = 600.0
    quarantine_after: int = 3
    """Unexpected (non-API) failures in a row after which a job's data counts as unusable."""
    journal_retry: float = 10.0
    """How often changes the journal could not take are written again."""
    lease_seconds: float = 20.0
    """How long a replica's poll lease of a scope lasts unless renewed (`jobs/leases.py`)."""
    lease_renew_every: float = 5.0
    """How often the poller renews its leases (and claims scopes whose holder let them expire)."""


Outcome = Literal["first", "woken", "changed", "unchanged", "rate_limited", "auth", "error"]
"""How a job's last poll went: `first` (just followed), `woken` (asked to poll now), a reading
that `changed` or is `unchanged`, or a failure: `rate_limited` (429), `auth` (key rejected or
missing), `error` (anything else)."""

FAILURES: frozenset[Outcome] = frozenset({"rate_limited", "auth", "error"})


@dataclass(frozen=True)
class PollEvent:
    """What happened at a job's last poll, as the policy needs it."""

    outcome: Outcome
    interval: float = 0.0
    """The interval the job was polled at so far."""
    watched: bool = False
    """Someone is waiting on the job (`poll_job` with `wait_seconds`)."""
    viewed_ago: float = 0.0
    """Seconds since anyone last asked about the job (wall clock)."""
    retry_after: float | None = None
    """The service's Retry-After, in seconds, when rate-limited."""
    paused: bool = False
    """The reading shows the job waiting for a person the API cannot reach (Motion's awaiting_user_input)."""


def next_interval(event: PollEvent, timing: PollTiming) -> float:
    """Seconds until the job is polled again (see the module docstring)."""
    t = timing
    if event.paused and event.outcome in ("changed", "unchanged"):
        return t.idle_cap
    if event.outcome in ("first", "woken", "changed") or (event.outcome == "unchanged" and event.watched):
        return t.initial
    if event.outcome == "unchanged":
        idle = event.viewed_ago > t.idle_after
        return min(event.interval * t.growth, t.idle_cap if idle else t.cap)
    if event.outcome == "rate_limited" and event.retry_after:
        delay = event.retry_after
    elif event.outcome == "auth":
        delay = t.idle_cap  # nothing will change until the key is fixed
    else:
        delay = min(event.interval * t.growth * 2, t.cap)
    return min(max(delay, t.initial), t.idle_cap)


def sweep_pages(live_runs: int, page_size: int) -> int:
    """How many list pages `live_runs` fill (what a sweep of them costs at least)."""
    return -(-live_runs // page_size) if live_runs > 0 else 0


def spread_delay(index: int, timing: PollTiming) -> float:
    """Seconds the `index`-th (from 0) single fetch a cycle could not send waits before it is due again."""
    return timing.initial * (1 + index // max(timing.singles_per_cycle, 1))


def failure_outcome(exc: BaseException) -> Outcome:
    """The outcome of a poll that failed with `exc`."""
    if isinstance(exc, RateLimitedError):
        return "rate_limited"
    if isinstance(exc, AuthenticationError | MissingKeyError):
        return "auth"
    return "error"

"""The poller's interval policy, one table: what happened at a poll in, the next interval out."""

import pytest

from mosaic_mcp.server.api.errors import (
    APIStatusError,
    AuthenticationError,
    MissingKeyError,
    RateLimitedError,
    ServerError,
)
from mosaic_mcp.server.jobs.policy import (
    Outcome,
    PollEvent,
    PollTiming,
    failure_outcome,
    next_interval,
    spread_delay,
    sweep_pages,
)

T = PollTiming()  # initial 2, growth 1.5, cap 30, idle_cap 120, idle_after 600
IDLE = T.idle_after + 1

CASES: list[tuple[str, PollEvent, float]] = [
    ("first poll", PollEvent("first"), 2.0),
    ("woken after a long interval", PollEvent("woken", interval=120.0), 2.0),
    ("growth from the first interval", PollEvent("unchanged", interval=2.0), 3.0),
    ("growth further on", PollEvent("unchanged", interval=8.0), 12.0),
    ("growth stops at the cap", PollEvent("unchanged", interval=25.0), 30.0),
    ("the cap holds", PollEvent("unchanged", interval=30.0), 30.0),
    ("after idling, a viewed job drops back to the cap", PollEvent("unchanged", interval=120.0), 30.0),
    ("reset on change", PollEvent("changed", interval=30.0), 2.0),
    ("reset on change while idle", PollEvent("changed", interval=120.0, viewed_ago=IDLE), 2.0),
    ("reset while someone waits", PollEvent("unchanged", interval=30.0, watched=True), 2.0),
    ("someone waits on an idle job", PollEvent("unchanged", interval=120.0, watched=True, viewed_ago=IDLE), 2.0),
    ("not idle yet at exactly idle_after", PollEvent("unchanged", interval=30.0, viewed_ago=T.idle_after), 30.0),
    ("idle: grows past the cap", PollEvent("unchanged", interval=30.0, viewed_ago=IDLE), 45.0),
    ("idle: stops at idle_cap", PollEvent("unchanged", interval=100.0, viewed_ago=IDLE), 120.0),
    ("idle: idle_cap holds", PollEvent("unchanged", interval=120.0, viewed_ago=IDLE), 120.0),
    ("rate limit: Retry-After honoured", PollEvent("rate_limited", interval=2.0, retry_after=7.0), 7.0),
    ("rate limit: Retry-After above the cap", PollEvent("rate_limited", interval=2.0, retry_after=50.0), 50.0),
    ("rate limit: Retry-After bounded by idle_cap", PollEvent("rate_limited", retry_after=3600.0), 120.0),
    ("rate limit: Retry-After below the floor", PollEvent("rate_limited", interval=2.0, retry_after=0.5), 2.0),
    ("rate limit without Retry-After backs off as an error", PollEvent("rate_limited", interval=2.0), 6.0),
    ("Retry-After 0 backs off as an error", PollEvent("rate_limited", interval=4.0, retry_after=0), 12.0),
    ("auth: rejected or missing key waits idle_cap", PollEvent("auth", interval=2.0), 120.0),
    ("auth: even from a long interval", PollEvent("auth", interval=120.0), 120.0),
    ("other error: twice the growth", PollEvent("error", interval=2.0), 6.0),
    ("other error: bounded by the cap", PollEvent("error", interval=12.0), 30.0),
    ("other error after idling: back to the cap", PollEvent("error", interval=120.0), 30.0),
    ("other error: never below the floor", PollEvent("error", interval=0.1), 2.0),
    ("an error is not sped up by a watcher", PollEvent("error", interval=8.0, watched=True), 24.0),
    ("paused on a person: idle_cap at once", PollEvent("unchanged", interval=2.0, paused=True), 120.0),
    ("paused on a person: a change does not reset", PollEvent("changed", interval=2.0, paused=True), 120.0),
    ("paused on a person: a watcher does not speed it up", PollEvent("unchanged", watched=True, paused=True), 120.0),
    ("paused and idle: still idle_cap", PollEvent("unchanged", interval=120.0, viewed_ago=IDLE, paused=True), 120.0),
    ("paused: woken polls now", PollEvent("woken", interval=120.0, paused=True), 2.0),
    ("paused: a failed read keeps its own back-off", PollEvent("error", interval=2.0, paused=True), 6.0),
]


@pytest.mark.parametrize(("event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_next_interval(event: PollEvent, expected: float) -> None:
    """Each situation gets the interval the poller has always used."""
    assert next_interval(event, T) == pytest.approx(expected)


def test_shrunk_timing_scales_every_rule() -> None:
    """Tests that shrink PollTiming get the same rules on their numbers."""
    t = PollTiming(initial=0.5, growth=2.0, cap=4.0, idle_cap=10.0, idle_after=60.0)
    assert next_interval(PollEvent("first"), t) == 0.5
    assert next_interval(PollEvent("unchanged", interval=3.0), t) == 4.0
    assert next_interval(PollEvent("unchanged", interval=3.0, viewed_ago=61.0), t) == 6.0
    assert next_interval(PollEvent("auth", interval=0.5), t) == 10.0
    assert next_interval(PollEvent("error", interval=0.5), t) == 2.0
    assert next_interval(PollEvent("rate_limited", retry_after=99.0), t) == 10.0
    assert next_interval(PollEvent("unchanged", interval=0.5, paused=True), t) == 10.0


@pytest.mark.parametrize("outcome", ["rate_limited", "auth", "error"])
@pytest.mark.parametrize("interval", [0.0, 0.1, 2.0, 7.0, 30.0, 120.0, 1e6])
@pytest.mark.parametrize("retry_after", [None, 0.0, 1.0, 45.0, 1e9])
def test_a_failed_read_waits_between_the_floor_and_the_ceiling(
    outcome: Outcome, interval: float, retry_after: float | None
) -> None:
    """Whatever failed and whatever the service asks, the next try is within [initial, idle_cap]."""
    got = next_interval(PollEvent(outcome, interval=interval, retry_after=retry_after), T)
    assert T.initial <= got <= T.idle_cap


def _status(cls: type[APIStatusError], code: int) -> APIStatusError:
    return cls(service="Mosaic", status_code=code, detail="", method="GET", path="/agent_run/r")


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (_status(RateLimitedError, 429), "rate_limited"),
        (_status(AuthenticationError, 401), "auth"),
        (MissingKeyError("Motion"), "auth"),
        (_status(ServerError, 503), "error"),
        (_status(APIStatusError, 418), "error"),
        (ValueError("bad row"), "error"),
    ],
    ids=["429", "401", "no key", "503", "418", "not an API error"],
)
def test_failures_are_classified(exc: BaseException, outcome: str) -> None:
    """A failed read's exception picks its back-off rule."""
    assert failure_outcome(exc) == outcome


@pytest.mark.parametrize(("live", "pages"), [(0, 0), (1, 1), (100, 1), (101, 2), (5000, 50), (10_000, 100)])
def test_sweep_pages_is_the_pages_the_live_runs_fill(live: int, pages: int) -> None:
    """A sweep of N live runs costs ⌈N/100⌉ list pages."""
    assert sweep_pages(live, 100) == pages


def test_spread_delay_sends_the_postponed_fetches_in_batches() -> None:
    """Postponed single fetches come due `singles_per_cycle` at a time, one `initial` apart."""
    t = PollTiming(initial=2.0, singles_per_cycle=3)
    assert [spread_delay(i, t) for i in range(7)] == [2.0, 2.0, 2.0, 4.0, 4.0, 4.0, 6.0]

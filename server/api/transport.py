"""The one HTTP layer under both clients: auth headers, time-outs, retries and error mapping.

Retry rules (DESIGN.md section 6):

* idempotent requests (GETs, cancels, finalize…) are retried on 429, 5xx, time-outs and connection
  errors, with capped exponential back-off and jitter, honouring `Retry-After`; a 429 without
  `Retry-After` (no rate limit is documented) backs off from a longer first delay, still capped;
* job-creating POSTs are retried only when the request provably never reached the service: a
  connection that could not be opened, or a 429 (the service refused it before doing anything).
  A job-creating POST that timed out or lost its connection after it was sent raises
  `OutcomeUnknownError` — the caller reconciles instead of sending it again;
* a 2xx whose body is not JSON, or not the documented shape, is retried like a 5xx on idempotent
  requests (never on job-creating POSTs: the job may exist).

Inside a tool call, the call's deadline (`deadline.py`) bounds everything: no back-off sleeps past
it (the last error is raised instead, saying why), each request's time-out is capped by the time
left, and a request is not sent when too little is left. Upstream error text is scrubbed of
anything that looks like a key before it becomes a message (`..redact`).

The back-off sleeps through `RetryPolicy.sleep`, so tests pass a recorder and never sleep.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import anyio
import httpx2
from pydantic import BaseModel, SecretStr, ValidationError

from .. import __version__, redact
from . import deadline
from .errors import (
    BASE_URL_VARIABLE,
    KEY_VARIABLE,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    DeadlineExceededError,
    HeaderValueError,
    InvalidResponseError,
    MissingKeyError,
    OutcomeUnknownError,
    RateLimitedError,
    Service,
    error_class_for,
)

log = logging.getLogger("mosaic_mcp.http")

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")

READ_BYTES = 256 * 1024
"""What an HTTP/1.1 connection asks its socket for per read (httpcore's default is 64 KiB). asyncio's
transports hand over up to 256 KiB at a time; taking it whole halves the CPU a large download costs in
h11 and the stream layers (`bench/bench_download.py`), and changes nothing for small answers."""


def _read_in_large_pieces() -> None:
    """Raise httpcore's read size (a class-level setting of its HTTP/1.1 connection) to `READ_BYTES`."""
    import httpcore2  # loaded with the first client, as httpx2 itself does: kept off the start path

    if httpcore2.AsyncHTTP11Connection.READ_NUM_BYTES < READ_BYTES:
        httpcore2.AsyncHTTP11Connection.READ_NUM_BYTES = READ_BYTES


Retry = Literal["idempotent", "create"]
Sleep = Callable[[float], Awaitable[None]]

USER_AGENT = f"mosaic-mcp/{__version__}"
DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)
HARD_STOP_GRACE = 0.5
"""Seconds past the deadline before a request still running is abandoned (its own time-outs fire first)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to back off; `sleep` is the test seam."""

    attempts: int = 4
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25
    rate_limit_delay: float = 2.0
    """First delay after a 429 that says nothing about when to come back: a rate limit outlasts a blip."""
    sleep: Sleep = anyio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, retry_number: int, retry_after: float | None, *, rate_limited: bool = False) -> float:
        """Seconds to wait before retry `retry_number` (1-based); the server's advice wins.

        Without advice: exponential from `initial_delay` (`rate_limit_delay` after a 429), with
        ±`jitter` so that clients limited together do not come back together, never above `max_delay`.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        first = self.rate_limit_delay if rate_limited else self.initial_delay
        base = min(first * 2.0 ** (retry_number - 1), self.max_delay)
        return min(base * (1 + self.jitter * (2 * self.rng.random() - 1)), self.max_delay)


class RecordingSleep:
    """A `RetryPolicy.sleep` that records the delays instead of sleeping (for tests).

    The current tool call's deadline counts a recorded delay as spent, as a real sleep would be.
    """

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        limit = deadline.current()
        if limit is not None:
            limit.skip(seconds)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), else None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_detail(body: Any) -> tuple[str, str | None]:
    """Pull a readable message and an error code out of either service's error body, keys scrubbed."""
    message, code = _error_detail(body)
    return redact.scrub(message), (redact.scrub(code) if code is not None else None)


def _error_detail(body: Any) -> tuple[str, str | None]:
    if not isinstance(body, Mapping):
        return (str(body)[:500] if body else "", None)
    code = body.get("code") or body.get("error")
    parts: list[str] = []
    for key in ("message", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
        elif isinstance(value, list):  # FastAPI-style validation list
            parts.extend(_describe_issue(item) for item in value)
    for item in body.get("details") or []:  # Motion's zod-style issues
        parts.append(_describe_issue(item))
    if not parts and isinstance(body.get("error"), str):
        parts.append(body["error"])
    return ("; ".join(p for p in parts if p)[:1000], code if isinstance(code, str) else None)


def _describe_issue(item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    where = item.get("path") or item.get("loc") or []
    place = ".".join(str(p) for p in where if p != "body") if isinstance(where, list) else str(where)
    message = str(item.get("message") or item.get("msg") or "")
    return f"{place}: {message}" if place else message


class HTTPCore:
    """An authenticated JSON-over-HTTP session with one service."""

    def __init__(
        self,
        *,
        service: Service,
        base_url: str,
        api_key: SecretStr | None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.service: Service = service
        if api_key is not None:
            redact.remember(api_key.get_secret_value())
            api_key = SecretStr(api_key.get_secret_value().strip())  # a pasted key often ends in a newline
        self._api_key = api_key
        self.retry = retry or RetryPolicy()
        self._base_url = base_url.rstrip("/")
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(extra_headers or {})}
        self._timeout = timeout
        self._transport = transport
        # Built on first use: loading the TLS trust store costs ~100 ms, which would otherwise
        # delay the server's first reply to the host even when no request is ever made.
        self._client: httpx2.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        """The service root every path is relative to."""
        return self._base_url

    @property
    def has_key(self) -> bool:
        """Whether a key is configured."""
        return self._api_key is not None

    @property
    def client(self) -> httpx2.AsyncClient:
        """The underlying client, for unauthenticated transfers (signed upload/download URLs)."""
        if self._client is None:
            _read_in_large_pieces()
            self._client = httpx2.AsyncClient(
                base_url=self._base_url, headers=self._headers, timeout=self._timeout, transport=self._transport
            )
        return self._client

    async def aclose(self) -> None:
        """Close the connection pool (if one was ever opened)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def request_model(
        self,
        model: type[ModelT],
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        retry: Retry = "idempotent",
    ) -> ModelT:
        """Send a request and parse its JSON body into `model` (a wrong shape is retried like a 5xx)."""
        return await self._request(
            method, path, json=json, params=params, retry=retry, read=lambda data: self.parse(model, data, method, path)
        )

    def parse(self, model: type[ModelT], data: Any, method: str, path: str) -> ModelT:
        """Validate a decoded body, turning a shape mismatch into InvalidResponseError."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in exc.errors(include_input=False, include_url=False)[:5]
            )
            raise InvalidResponseError(
                f"{self.service}'s answer to {method} {path} did not have the documented shape ({problems}); "
                "the API may have changed — please report it",
                service=self.service,
            ) from None

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        retry: Retry = "idempotent",
    ) -> Any:
        """Send a request with retries; return the decoded JSON body (None for an empty body)."""
        return await self._request(method, path, json=json, params=params, retry=retry, read=_as_is)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        retry: Retry,
        read: Callable[[Any], T],
    ) -> T:
        if self._api_key is None:
            raise MissingKeyError(self.service)
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        headers = {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}
        limit = deadline.current()
        attempt = 0
        last: APIError | None = None
        while True:
            attempt += 1
            timeout, hard_stop = self._timeout, math.inf
            if limit is not None:
                left = limit.remaining()
                if left < deadline.MIN_REQUEST_SECONDS:
                    raise self._out_of_time(limit, method, path, last, sent=False)
                # Each phase's time-out is capped by the time left; the hard stop bounds them all together.
                timeout, hard_stop = _capped(timeout, left), left + HARD_STOP_GRACE
            try:
                with anyio.move_on_after(hard_stop) as stop:
                    response = await self.client.request(
                        method, path, json=json, params=clean_params, headers=headers, timeout=timeout
                    )
            except (UnicodeEncodeError, httpx2.LocalProtocolError):
                raise self._unsendable(method, path) from None
            except httpx2.TransportError as exc:
                failure = self._transport_failure(exc, method, path, retry)
                if attempt < self.retry.attempts and _retryable_transport(exc, retry):
                    last = failure
                    await self._back_off(limit, attempt, None, method, path, type(exc).__name__, failure)
                    continue
                if limit is not None and limit.expired and not isinstance(failure, OutcomeUnknownError):
                    raise self._out_of_time(limit, method, path, failure, sent=True) from None
                raise failure from None
            if stop.cancelled_caught:  # only reachable when the deadline's hard stop fired
                raise self._stopped(limit, method, path, retry, last)
            if response.is_success:
                try:
                    return read(self._decode(response, method, path))
                except InvalidResponseError as failure:
                    if retry == "idempotent" and attempt < self.retry.attempts:
                        last = failure
                        await self._back_off(limit, attempt, None, method, path, "an unreadable answer", failure)
                        continue
                    raise
            error = self._status_error(response, method, path)
            if attempt < self.retry.attempts and _retryable_status(response.status_code, retry):
                # Honoured on 503s too, not only 429s: both mean "come back later".
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                last = error
                limited = response.status_code == 429
                await self._back_off(
                    limit, attempt, retry_after, method, path, str(response.status_code), error, rate_limited=limited
                )
                continue
            raise error

    async def _back_off(
        self,
        limit: deadline.Deadline | None,
        attempt: int,
        retry_after: float | None,
        method: str,
        path: str,
        reason: str,
        failure: APIError,
        *,
        rate_limited: bool = False,
    ) -> None:
        """Sleep before the next attempt — or raise `failure` when the wait would outlast the call's deadline."""
        delay = self.retry.backoff(attempt, retry_after, rate_limited=rate_limited)
        if limit is not None and delay + deadline.MIN_REQUEST_SECONDS > limit.remaining():
            log.info("not retrying %s %s after %s: %.2fs would pass the call's deadline", method, path, reason, delay)
            if limit.expired:
                raise self._out_of_time(limit, method, path, failure, sent=True) from None
            raise failure.explain(
                f"(Not retried here: waiting {delay:.0f} s more would pass this call's time limit of "
                f"{limit.seconds:.0f} s.)"
            ) from None
        log.info("retrying %s %s after %s in %.2fs (attempt %d)", method, path, reason, delay, attempt + 1)
        await self.retry.sleep(delay)

    def _out_of_time(
        self, limit: deadline.Deadline, method: str, path: str, last: APIError | None, *, sent: bool
    ) -> DeadlineExceededError:
        budget = f"its limit is {limit.seconds:.0f} s: MOSAIC_MCP_MAX_WAIT_SECONDS plus {deadline.MARGIN:.0f} s"
        cause = f" Last error: {last}" if last is not None else ""
        if sent:
            said = f"This call ran out of time ({budget}) before {self.service} answered {method} {path}."
        else:
            said = f"This call ran out of time ({budget}), so {method} {path} was not sent to {self.service}."
        return DeadlineExceededError(f"{said}{cause} Try again in a moment.", service=self.service)

    def _stopped(
        self, limit: deadline.Deadline | None, method: str, path: str, retry: Retry, last: APIError | None
    ) -> APIError:
        if retry == "create":
            return OutcomeUnknownError(
                f"{method} {path} was sent to {self.service} but no answer came back before this call's time "
                "limit; it may or may not have been carried out",
                service=self.service,
            )
        assert limit is not None  # without a deadline there is no hard stop
        return self._out_of_time(limit, method, path, last, sent=True)

    def _unsendable(self, method: str, path: str) -> HeaderValueError:
        workspace = " or MOSAIC_WORKSPACE_ID" if self.service == "Mosaic" else ""
        return HeaderValueError(
            f"{method} {path} was not sent: {KEY_VARIABLE[self.service]}{workspace} holds characters an HTTP "
            "header cannot carry (spaces, line breaks or non-ASCII letters); copy the value again",
            service=self.service,
        )

    def _decode(self, response: httpx2.Response, method: str, path: str) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise InvalidResponseError(
                f"{self.service} answered {method} {path} with a body that is not valid JSON "
                f"(status {response.status_code}); try again, and report it if it persists",
                service=self.service,
            ) from None

    def _status_error(self, response: httpx2.Response, method: str, path: str) -> APIStatusError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:500]
        body = redact.scrub_json(body)  # an upstream may echo our Authorization header
        detail, code = error_detail(body)
        cls = error_class_for(response.status_code)
        fields: dict[str, Any] = {
            "service": self.service,
            "status_code": response.status_code,
            "detail": detail,
            "method": method,
            "path": path,
            "code": code,
            "body": body,
        }
        if issubclass(cls, RateLimitedError):
            error: APIStatusError = cls(retry_after=parse_retry_after(response.headers.get("Retry-After")), **fields)
        else:
            error = cls(**fields)
        log.info("%s %s -> %d %s", method, path, response.status_code, code or "")
        return error

    def _transport_failure(self, exc: httpx2.TransportError, method: str, path: str, retry: Retry) -> APIError:
        sent = not _never_sent(exc)
        if retry == "create" and sent:
            return OutcomeUnknownError(
                f"{method} {path} was sent to {self.service} but no answer came back "
                f"({type(exc).__name__}); it may or may not have been carried out",
                service=self.service,
            )
        if isinstance(exc, httpx2.TimeoutException):
            return APITimeoutError(
                f"{self.service} did not answer {method} {path} in time; try again in a moment",
                service=self.service,
            )
        setting = BASE_URL_VARIABLE[self.service]
        if isinstance(exc, httpx2.UnsupportedProtocol):
            advice = f"{setting} must start with http:// or https://"
        else:
            advice = f"check the network, and {setting} (the base URL) if you set it, and try again"
        return APIConnectionError(
            f"Could not talk to {self.service} at {self.base_url} ({type(exc).__name__}); {advice}",
            service=self.service,
        )


def _as_is(data: Any) -> Any:
    return data


def _capped(timeout: httpx2.Timeout, seconds: float) -> httpx2.Timeout:
    """`timeout` with no phase longer than `seconds`."""

    def cap(value: float | None) -> float:
        return seconds if value is None else min(value, seconds)

    return httpx2.Timeout(
        connect=cap(timeout.connect), read=cap(timeout.read), write=cap(timeout.write), pool=cap(timeout.pool)
    )


def _never_sent(exc: httpx2.TransportError) -> bool:
    """True when the request provably never left this machine."""
    return isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout)


def _retryable_transport(exc: httpx2.TransportError, retry: Retry) -> bool:
    return retry == "idempotent" or _never_sent(exc)


def _retryable_status(status: int, retry: Retry) -> bool:
    if status == 429:
        return True  # refused before any work was done: safe even for job-creating POSTs
    return retry == "idempotent" and (status >= 500 or status == 408)

"""Webhooks (HTTP mode): Mosaic tells us when a run changes, so it need not wait for the next poll.

With MOSAIC_MCP_PUBLIC_URL set, runs started through this server carry a `callback_url` to its own
`POST /webhooks/mosaic` (unless the caller gave one). A delivery only makes the poller look at that
run now: its payload is never trusted as state — the run is re-read from the API — so a forged
call costs at most one GET, and all deliveries together at most one per job per `WAKE_WINDOW_SECONDS`.
With MOSAIC_WEBHOOK_SECRET set, a delivery must carry it as `X-Mosaic-Signature` (the documented
plain-secret header, compared in constant time).

The route is open to anyone who can reach the server (Mosaic cannot send our bearer token), so it
is built as a public surface, checked in this order, each step cheaper than the next:

1. per source address, a token bucket (`RATE_BURST`, `RATE_PER_SECOND`) → 429 with Retry-After;
2. the signature, when a secret is set → 401;
3. a declared Content-Length above `MAX_BODY_BYTES` → 413 before a byte is read;
4. at most `MAX_CONCURRENT_BODIES` bodies read at once → 503 with Retry-After, each read within
   `BODY_READ_SECONDS` → 408, and never more than `MAX_BODY_BYTES` of it kept (chunked too) → 413;
5. JSON nested at most `MAX_JSON_DEPTH` deep (measured without recursion), an object with a
   string `run_id` → otherwise 400 with a short JSON error.

Refusals close the connection, so a refused body is never read to its end. Memory is bounded:
bodies by 3–4, the tables of sources and of recent wake-ups by their caps.

With several replicas (PostgreSQL fan-out), a delivery may reach one that does not poll the run:
it passes the wake on to the others (`jobs/fanout.py`), under the same per-job window.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server import MCPServer
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from . import __version__
from .api.requests import RunRequest
from .config import Settings
from .jobs.fanout import Fanout, OnWake
from .runtime import Connections, Runtime

log = logging.getLogger("mosaic_mcp.webhooks")

WEBHOOK_PATH = "/webhooks/mosaic"
SIGNATURE_HEADER = b"x-mosaic-signature"

MAX_BODY_BYTES = 256 * 1024
"""A RUN_FINISHED delivery lists every output with three signed URLs (~1–2 KB each); a clips agent's
dozens of outputs pass 64 KiB, so the limit leaves room for that and nothing near the 300 MB seen."""
MAX_JSON_DEPTH = 32
"""Mosaic's deepest documented payload (RUN_PROGRESS → updated_nodes → outputs → sources) is 7."""
MAX_RUN_ID_CHARS = 200
MAX_CONCURRENT_BODIES = 16
"""With MAX_BODY_BYTES, at most 4 MiB of delivery bodies are held at any moment."""
MAX_DISCARD_BYTES = 64 * 1024
"""How far past the limit a streamed body is still read (and thrown away) before the 413: see `read_body`."""
BODY_READ_SECONDS = 10.0
"""A body trickled slower than this gives up its slot (408) instead of holding it for ever."""

RATE_BURST = 60
RATE_PER_SECOND = 10.0
"""Per source address: Mosaic sends a few events per run and node change; bursts of 60 pass."""
MAX_SOURCES = 1024
"""Sources remembered at once; the least recently seen is forgotten first (a full bucket is the
same as a forgotten one, so only a source that has been idle longest loses its debt)."""

WAKE_WINDOW_SECONDS = 5.0
"""A job is woken (polled now) at most once per window, whatever the number of deliveries. The
first delivery wakes it at once; if more arrive inside the window, one more wake follows when the
window ends (it opens the next window), so the last change reported is never left to the regular
polling, which may be 30 s away."""
MAX_WAKE_ENTRIES = 4096


def with_callback(request: RunRequest, settings: Settings) -> RunRequest:
    """The run request, pointed at this server's webhook when it has a public URL and none was given."""
    if settings.public_url is None or request.callback_url:
        return request
    return request.model_copy(update={"callback_url": settings.public_url.rstrip("/") + WEBHOOK_PATH})


def unsigned_public_url_warning(settings: Settings) -> str | None:
    """The start-up warning for a public webhook that anyone may call, else None."""
    if settings.public_url is None or settings.webhook_secret is not None:
        return None
    return (
        f"mosaic-mcp: warning: MOSAIC_MCP_PUBLIC_URL is set but MOSAIC_WEBHOOK_SECRET is not: anyone who can "
        f"reach {settings.public_url.rstrip('/')}{WEBHOOK_PATH} can send deliveries. Set MOSAIC_WEBHOOK_SECRET "
        "to the webhook secret configured for your Mosaic account."
    )


def warn_if_unsigned(settings: Settings) -> None:
    """Say once on stderr (never stdout) that a public webhook without a secret is open."""
    message = unsigned_public_url_warning(settings)
    if message is not None:
        print(message, file=sys.stderr)


class SourceLimiter:
    """A token bucket per source address, for at most `max_sources` sources at once."""

    def __init__(
        self,
        burst: int = RATE_BURST,
        per_second: float = RATE_PER_SECOND,
        max_sources: int = MAX_SOURCES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = float(burst)
        self.per_second = per_second
        self.max_sources = max_sources
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # source → (tokens, at)

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, source: str) -> float:
        """Spend one token for `source`: 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        tokens, at = self._buckets.pop(source, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.per_second)
        allowed = tokens >= 1.0
        self._buckets[source] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.max_sources:
            self._buckets.popitem(last=False)
        return 0.0 if allowed else (1.0 - tokens) / self.per_second


@dataclass
class _Wake:
    at: float
    trailing: bool = False  # a wake at the end of the window is already planned


class WakeDeduper:
    """When each job was last woken and whether a wake is planned, for at most `max_entries` jobs."""

    def __init__(
        self,
        window: float = WAKE_WINDOW_SECONDS,
        max_entries: int = MAX_WAKE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.max_entries = max_entries
        self.clock = clock
        self._wakes: OrderedDict[str, _Wake] = OrderedDict()  # oldest wake first

    def __len__(self) -> int:
        return len(self._wakes)

    def claim(self, job_id: str) -> float | None:
        """For a delivery: 0 to wake the job now, else the seconds until the planned wake, None for none."""
        now = self.clock()
        while self._wakes:  # forget finished windows (a planned wake keeps its entry)
            oldest = next(iter(self._wakes.values()))
            if oldest.trailing or oldest.at > now - self.window:
                break
            self._wakes.popitem(last=False)
        wake = self._wakes.get(job_id)
        if wake is not None and wake.at > now - self.window:
            if wake.trailing:
                return None
            wake.trailing = True
            return wake.at + self.window - now
        self.woken(job_id)
        return 0.0

    def woken(self, job_id: str) -> None:
        """Record a wake of the job now (also the planned one, when it happens); a new window opens."""
        self._wakes.pop(job_id, None)
        self._wakes[job_id] = _Wake(self.clock())
        while len(self._wakes) > self.max_entries:
            self._wakes.popitem(last=False)


class BodyTooLarge(Exception):
    """The request body is (or declares itself) larger than the limit."""


async def read_body(request: Request, limit: int, discard: int = MAX_DISCARD_BYTES) -> bytes:
    """The body, read chunk by chunk and kept only up to `limit` bytes, else `BodyTooLarge`.

    A declared Content-Length over the limit is refused before anything is read. A streamed body
    that passes it is read on (and thrown away) for at most `discard` more bytes, so that a sender
    that was only a little over ends its request and reads the 413; a longer one is cut off.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > limit + discard:
            break
        else:
            chunks.clear()
    if size > limit:
        raise BodyTooLarge
    return b"".join(chunks)


_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_SQUARE = bytes.maketrans(b"{}", b"[]")


def nests_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the arrays and objects of a JSON text nest deeper than `limit` (or do not balance).

        Exact for valid UTF-8 JSON, and without recursion: escaped backslashes, then escaped quotes are
        removed, so the remaining quotes delimit the strings; the brackets outside them are kept (all
        made square) and each pass removes the innermost pairs, one level at a time (a long run of
    openers ends the count early). For invalid JSON
        the view can be wrong only after the first invalid byte, where the parser stops: it never nests
        deeper than this allowed.
    """
    plain = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(plain.split(b'"')[::2]).translate(_SQUARE, _NOT_BRACKETS)
    for removed in range(limit + 1):
        if not brackets:
            return False
        if b"[" * (limit + 1 - removed) in brackets:  # a run this long nests too deep: say so at once
            return True
        brackets = brackets.replace(b"[]", b"")
    return True


class BadPayload(Exception):
    """The body is not a usable delivery; the message says why, in a few words."""


def parse_delivery(body: bytes) -> str:
    """The `run_id` of a delivery body (UTF-8 JSON), or `BadPayload`."""
    if nests_deeper_than(body, MAX_JSON_DEPTH):
        raise BadPayload(f"JSON unbalanced or nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        # Decoded first: given bytes, json.loads would also accept UTF-16/32, where the byte-wise
        # depth count above is not exact. In UTF-8 no multi-byte sequence contains a '"', '\\' or bracket.
        payload: Any = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadPayload("the body is not valid UTF-8 JSON") from None
    run_id = payload.get("run_id") if isinstance(payload, dict) else None
    if not isinstance(run_id, str) or not 0 < len(run_id) <= MAX_RUN_ID_CHARS:
        raise BadPayload(f"expected a JSON object with a run_id string of at most {MAX_RUN_ID_CHARS} characters")
    return run_id


def signature_matches(request: Request, secret: str) -> bool:
    """Whether the raw X-Mosaic-Signature bytes equal the secret's UTF-8 bytes (constant time).

    Both sides are hashed first so that the comparison reveals nothing, not even the length.
    """
    given = next((value for name, value in request.scope["headers"] if name == SIGNATURE_HEADER), b"")
    expected = secret.strip().encode()
    return hmac.compare_digest(hashlib.sha256(given.strip()).digest(), hashlib.sha256(expected).digest())


def _refuse(status: int, detail: str, *, retry_after: float | None = None) -> Response:
    # "Connection: close" makes the server hang up instead of reading (and discarding) the rest of
    # a body it refused, which could be endless.
    # A refused delivery is worth a warning (a wrong secret, a broken sender); shedding load is not.
    log.log(
        logging.INFO if status in (429, 503) else logging.WARNING, "refused a webhook delivery: %d %s", status, detail
    )
    headers = {"Connection": "close"}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def register_http_routes(app: MCPServer[Runtime], settings: Settings, connections: Connections) -> OnWake:
    """`GET /healthz` and `POST /webhooks/mosaic` on the Streamable HTTP app; returns the handler of peers' wakes.

    A delivery wakes the poller of each open connection that follows the run (over HTTP, the one).
    When none does and other replicas share the database, it is passed on to them (`Fanout.wake`):
    the one that polls the run wakes its poller through the returned handler. Both paths share one
    window per job, so a job is woken as often as if every delivery had reached its replica.
    """

    def followers(run_id: str) -> list[Runtime]:
        return [rt for rt in connections if rt.jobs.poller.followed(run_id) is not None]

    def peers() -> Fanout | None:
        runtime = connections.any()
        return runtime.jobs.fanout if runtime is not None and runtime.jobs.fanout.reaches_peers else None

    limiter = SourceLimiter()
    deduper = WakeDeduper()
    reading = 0  # bodies being read right now

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "version": __version__})

    async def mosaic_webhook(request: Request) -> Response:
        nonlocal reading
        wait = limiter.take(request.client.host if request.client else "")
        if wait:
            return _refuse(429, "too many deliveries from this address", retry_after=wait)
        secret = settings.webhook_secret
        if secret is not None and not signature_matches(request, secret.get_secret_value()):
            return _refuse(401, "bad signature")
        if reading >= MAX_CONCURRENT_BODIES:
            return _refuse(503, "too many deliveries at once", retry_after=1)
        reading += 1
        try:
            with anyio.fail_after(BODY_READ_SECONDS):
                body = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            return _refuse(413, f"body larger than {MAX_BODY_BYTES} bytes")
        except TimeoutError:
            return _refuse(408, "body not received in time")
        except ClientDisconnect:
            return _refuse(400, "body cut short")
        finally:
            reading -= 1
        try:
            run_id = parse_delivery(body)
        except BadPayload as exc:
            return _refuse(400, str(exc))
        if not followers(run_id) and peers() is None:
            return JSONResponse({"ok": True})
        delay = deduper.claim(run_id)
        if delay == 0.0:
            await wake(run_id, tell_peers=True)
        elif delay is not None:  # runs after the response is sent; at most one per job is pending
            return JSONResponse({"ok": True}, background=BackgroundTask(wake_later, run_id, delay, tell_peers=True))
        return JSONResponse({"ok": True})

    async def wake(run_id: str, *, tell_peers: bool) -> None:
        """Wake the run's pollers here; with `tell_peers`, when none follows it here, the other replicas'."""
        here = followers(run_id)
        for rt in here:
            rt.jobs.poller.wake(run_id)
        fanout = peers()
        if not here and tell_peers and fanout is not None:
            await fanout.wake(run_id)

    async def wake_later(run_id: str, delay: float, *, tell_peers: bool) -> None:
        await anyio.sleep(delay)
        deduper.woken(run_id)
        await wake(run_id, tell_peers=tell_peers)

    async def peer_wake(run_id: str) -> None:
        """Another replica got a delivery for `run_id`: wake it here if it is polled here (same window)."""
        if not followers(run_id):
            return
        delay = deduper.claim(run_id)
        if delay == 0.0:
            await wake(run_id, tell_peers=False)
        elif delay is not None:
            await wake_later(run_id, delay, tell_peers=False)

    # Called, not used as decorators: the SDK's decorator is untyped.
    app.custom_route("/healthz", methods=["GET"])(healthz)
    app.custom_route(WEBHOOK_PATH, methods=["POST"])(mosaic_webhook)
    return peer_wake

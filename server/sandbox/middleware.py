"""The outermost ASGI layer: request log, fault injection and the lazy clock catch-up."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import anyio
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import MOSAIC_ERROR_CODES
from .faults import Fault
from .motion import MIN_KICKOFF_CREDITS
from .requestlog import MAX_BODY, RequestRecord
from .sandbox import Sandbox

MOTION_PREFIX = "/api/motion"
SANDBOX_PREFIX = "/_sandbox"
DROP_MESSAGE = "ASGI callable returned without completing response."


def default_error_body(status: int, motion: bool, minimum_credits: int = MIN_KICKOFF_CREDITS) -> dict[str, Any]:
    """A documented-looking error body for ``status`` (Mosaic or Motion flavour; a 402 quotes ``minimum_credits``)."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if motion:
        if status == 402:
            return {
                "error": "insufficient_credits",
                "code": "insufficient_credits_minimum_kickoff_balance",
                "message": "Insufficient credits",
                "minimum_required_credits": minimum_credits,
                "current_balance": 0,
            }
        if status == 409:
            return {
                "error": "followup_requires_completed_job",
                "message": "The job is not completed",
                "status": "running",
            }
        return {"error": phrase.lower().replace(" ", "_"), "message": phrase}
    body: dict[str, Any] = {"detail": phrase}
    if status in MOSAIC_ERROR_CODES:
        body["error"] = MOSAIC_ERROR_CODES[status]
    return body


async def _send_bytes(send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
    raw_headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_fault(
    fault: Fault,
    path: str,
    send: Send,
    minimum_credits: int = MIN_KICKOFF_CREDITS,
    *,
    retry_after_header: bool = True,
) -> None:
    """Answer a request with ``fault`` (everything but ``latency``); a 429 without Retry-After unless told."""
    motion = path.startswith(MOTION_PREFIX)
    headers = dict(fault.headers or {})
    if fault.kind == "drop":
        # Promise more bytes than we send, then stop: the server closes the connection mid-body.
        start = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        await send({"type": "http.response.body", "body": b'{"detail": "', "more_body": True})
        return
    if fault.kind == "malformed":
        await _send_bytes(send, 200, b"{not json", "application/json", headers)
        return
    status = {"server_error": 500, "rate_limit": 429}.get(fault.kind, 500)
    status = fault.status or status
    if fault.kind == "rate_limit" and retry_after_header:
        retry = fault.retry_after if fault.retry_after is not None else 1
        headers.setdefault("Retry-After", f"{retry:g}")
    body = fault.body if fault.body is not None else default_error_body(status, motion, minimum_credits)
    if isinstance(body, dict | list):
        await _send_bytes(send, status, json.dumps(body).encode(), "application/json", headers)
    else:
        data = body.encode() if isinstance(body, str) else bytes(body)
        await _send_bytes(send, status, data, "text/plain; charset=utf-8", headers)


class SandboxMiddleware:
    """Records each request, applies faults, and advances the simulation before handling."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox, routes: list[BaseRoute]) -> None:
        self.app = app
        self.sandbox = sandbox
        self.routes = routes

    def _template(self, scope: Scope) -> str | None:
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", None))
            if match is Match.PARTIAL and partial is None:
                partial = str(getattr(route, "path", None))
        return partial

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        method, path = scope["method"], scope["path"]
        headers = dict(scope.get("headers", []))
        if sandbox.base_url is None and b"host" in headers:
            sandbox.base_url = f"{scope.get('scheme', 'http')}://{headers[b'host'].decode('latin-1')}"
        route = self._template(scope)
        status: list[int | None] = [None]
        is_json = b"json" in headers.get(b"content-type", b"").lower()
        body = bytearray()
        truncated = [False]

        async def recording_receive() -> Message:
            message = await receive()
            if is_json and message["type"] == "http.request":
                chunk = message.get("body", b"")
                room = MAX_BODY - len(body)
                body.extend(chunk[:room])
                truncated[0] = truncated[0] or len(chunk) > room
            return message

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        fault = sandbox.faults.take(method, path, route, api=not path.startswith(SANDBOX_PREFIX))
        try:
            sandbox.tick()
            await self._handle(fault, scope, recording_receive, recording_send)
        finally:
            sandbox.requests.add(
                RequestRecord(
                    method=method,
                    path=path,
                    route=route,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    status=None if fault is not None and fault.kind == "drop" else status[0],
                    fault=fault.kind if fault is not None else None,
                    at=sandbox.now(),
                    authorization=b"authorization" in headers,
                    body=bytes(body) if is_json else None,
                    body_truncated=truncated[0],
                )
            )

    async def _handle(self, fault: Fault | None, scope: Scope, receive: Receive, send: Send) -> None:
        if fault is not None and fault.kind == "latency" and fault.after:
            # Process the request at once, answer late: the client may time out after the work is done.
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, hold)
            await anyio.sleep(fault.delay if fault.delay is not None else 0.5)
            for message in held:
                await send(message)
            return
        if fault is not None and fault.kind == "latency":
            await anyio.sleep(fault.delay if fault.delay is not None else 0.5)
            fault = None
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.after:
            # Process the request for real, lose the answer, then deliver the fault.
            async def discard(message: Message) -> None:
                return None

            await self.app(scope, receive, discard)
        bare = self.sandbox.config.rate_limit_without_retry_after
        await send_fault(fault, scope["path"], send, self.sandbox.motion.minimum_credits, retry_after_header=not bare)

"""GETs of signed URLs (outputs, thumbnails): streamed, and without the services' own headers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx2

from ..api.deadline import paused
from ..api.errors import APIConnectionError, APITimeoutError

DOWNLOAD_TIMEOUT = httpx2.Timeout(connect=15.0, read=120.0, write=60.0, pool=15.0)
REFRESHABLE = {400, 401, 403, 404, 410}
"""How an expired or revoked signed URL answers: re-read the job for a fresh one."""


@contextlib.asynccontextmanager
async def open_signed(client: httpx2.AsyncClient, url: str) -> AsyncIterator[httpx2.Response]:
    """GET a signed URL as a stream, without the service's headers (the URL carries its own auth)."""
    request = client.build_request("GET", url, headers={"Accept": "*/*"}, timeout=DOWNLOAD_TIMEOUT)
    request.headers.pop("X-Workspace-Id", None)
    request.headers.pop("Authorization", None)
    with paused():  # a transfer takes as long as the file needs; it is not held to the call's deadline
        try:
            response = await client.send(request, stream=True)
        except httpx2.TimeoutException:
            raise APITimeoutError(
                "Downloading an output timed out; try download_output again", service="Mosaic"
            ) from None
        except httpx2.TransportError as exc:
            raise APIConnectionError(
                f"Downloading an output failed ({type(exc).__name__}); try download_output again", service="Mosaic"
            ) from None
        try:
            yield response
        finally:
            await response.aclose()


def content_length(response: httpx2.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() and "Content-Encoding" not in response.headers else None

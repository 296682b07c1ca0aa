"""Mosaic uploads and asset view URLs (reference section 2.5); avatar profiles are in `_avatars`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable

import httpx2

from . import deadline
from ._assets_types import AssetKind, FinalizedUpload, UploadTicket, ViewUrl
from ._base import ClientBase
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidInputError,
    PayloadTooLargeError,
    error_class_for,
)
from .multipart import MultipartUpload
from .validation import check_asset_kind, check_id

log = logging.getLogger("mosaic_mcp.api")

# Big files take long to send; each write may wait this long, the whole transfer has no cap.
UPLOAD_TIMEOUT = httpx2.Timeout(connect=15.0, read=120.0, write=120.0, pool=15.0)


class AssetsAPI(ClientBase):
    """The three-step upload flow and view URLs."""

    async def get_upload_url(self, kind: AssetKind) -> UploadTicket:
        """POST /uploads/{kind}/get_upload_url: step 1, a signed URL and the form fields to send."""
        check_asset_kind("kind", kind)
        path = f"/uploads/{kind}/get_upload_url"
        # Nothing is created that costs anything, and an unused slot expires: safe to retry.
        data = await self._http.request_json("POST", path, retry="idempotent")
        if isinstance(data, dict):
            data = {"asset_kind": kind, **data}
        return self._http.parse(UploadTicket, data, "POST", path)

    async def upload_to_signed_url(
        self,
        ticket: UploadTicket,
        content: AsyncIterable[bytes] | bytes,
        *,
        filename: str,
        content_type: str,
        size: int,
    ) -> None:
        """Step 2: stream the file to the signed URL as multipart/form-data (no Mosaic key sent)."""
        if ticket.max_file_size_bytes is not None and size > ticket.max_file_size_bytes:
            raise InvalidInputError(
                "size",
                f"the file has {size:,} bytes; {ticket.asset_kind} uploads are limited to "
                f"{ticket.max_file_size_bytes:,} bytes",
            )
        body = MultipartUpload(ticket.upload_fields, content, filename=filename, content_type=content_type, size=size)
        response = await self._send_upload(ticket, body)
        if not response.is_success:
            raise _upload_error(response)

    async def _send_upload(self, ticket: UploadTicket, body: MultipartUpload) -> httpx2.Response:
        client = self._http.client
        request = client.build_request(
            "POST",
            ticket.upload_url,
            content=body.stream(),
            headers={"Content-Type": body.content_type, "Content-Length": str(body.content_length)},
            timeout=UPLOAD_TIMEOUT,
        )
        # The signed URL is a third party (Cloud Storage): it gets no workspace header either.
        request.headers.pop("X-Workspace-Id", None)
        try:
            with deadline.paused():  # a transfer takes as long as the file needs; it reports progress
                response = await client.send(request)
                await response.aread()
        except httpx2.TimeoutException:
            raise APITimeoutError(
                "The upload to the signed URL timed out; request a new upload URL and try again",
                service="Mosaic",
            ) from None
        except httpx2.TransportError as exc:
            raise APIConnectionError(
                f"The upload to the signed URL failed ({type(exc).__name__}); request a new upload URL and try again",
                service="Mosaic",
            ) from None
        return response

    async def finalize_upload(self, kind: AssetKind, asset_id: str) -> FinalizedUpload:
        """POST /uploads/{kind}/finalize_upload: step 3, after the bytes arrived."""
        check_asset_kind("kind", kind)
        check_id("asset_id", asset_id)
        path = f"/uploads/{kind}/finalize_upload"
        data = await self._http.request_json("POST", path, json={f"{kind}_id": asset_id}, retry="idempotent")
        if isinstance(data, dict):
            data = {"asset_kind": kind, **data}
        return self._http.parse(FinalizedUpload, data, "POST", path)

    async def get_view_url(self, asset_type: AssetKind, asset_id: str) -> ViewUrl:
        """POST /uploads/get_view_url: a short-lived signed URL to look at an asset."""
        check_asset_kind("asset_type", asset_type)
        check_id("asset_id", asset_id)
        body = {"asset_type": asset_type, "asset_id": asset_id}
        return await self._send(ViewUrl, "POST", "/uploads/get_view_url", json=body, retry="idempotent")


def _upload_error(response: httpx2.Response) -> APIStatusError:
    """Map a refusal of the signed URL (Cloud Storage answers XML) to an actionable error."""
    text = response.text[:2000]
    detail = _xml_tag(text, "Message") or _xml_tag(text, "Code") or text[:300]
    too_large = response.status_code == 413 or "EntityTooLarge" in text
    if too_large:
        cls: type[APIStatusError] = PayloadTooLargeError
        advice = "the file is larger than this upload URL allows; use a smaller file"
    elif response.status_code in {400, 401, 403}:
        cls = error_class_for(response.status_code)
        advice = "the signed upload URL was refused (expired or used already?): request a new one and retry"
    else:
        cls = error_class_for(response.status_code)
        advice = "request a new upload URL and try again"
    log.info("upload to signed URL -> %d", response.status_code)
    error = cls(
        service="Mosaic",
        status_code=response.status_code,
        detail=detail,
        method="POST",
        path="<signed upload URL>",
        body=text,
    )
    # The generic advice talks about API keys and scopes, which do not apply to a signed URL.
    said = f": {detail}" if detail else ""
    error.args = (f"The signed upload URL answered {response.status_code}{said} — {advice}.",)
    return error


def _xml_tag(text: str, tag: str) -> str | None:
    start = text.find(f"<{tag}>")
    end = text.find(f"</{tag}>")
    if start < 0 or end < start:
        return None
    return text[start + len(tag) + 2 : end].strip()[:300] or None

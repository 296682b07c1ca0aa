"""Upload flow, view URLs (reference 2.9) and the sandbox's own storage/file endpoints.

``/_sandbox/upload/{asset_id}`` stands in for the signed cloud-storage URL (no Mosaic auth, like
GCS); ``/_sandbox/files/{blob_id}/{filename}`` serves signed, expiring downloads.
"""

from __future__ import annotations

from typing import get_args

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .blobs import MAIN_FILE, Blob, Verdict
from .errors import bad_request, mosaic_error
from .routing import json_body, mosaic_auth, ok, sandbox_of
from .uploads import ASSET_KINDS, MAX_BYTES, AssetKind, StorageError, receive_upload

_STORAGE_ERRORS = {400: "InvalidArgument", 403: "AccessDenied", 404: "NoSuchKey", 413: "EntityTooLarge"}


def _kind(request: Request) -> AssetKind:
    kind = request.path_params["kind"]
    if kind not in get_args(AssetKind):
        raise mosaic_error(404, "Not Found")
    return kind  # type: ignore[no-any-return]


def _storage_error(status: int, message: str) -> Response:
    # Storage speaks XML, like GCS, not the API's JSON.
    code = _STORAGE_ERRORS.get(status, "Error")
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(body, status_code=status, media_type="application/xml")


async def get_upload_url(request: Request) -> Response:
    """POST /uploads/{kind}/get_upload_url (no body)."""
    sandbox = mosaic_auth(request)
    kind = _kind(request)
    max_bytes = sandbox.config.upload_max_bytes or MAX_BYTES[kind]
    upload = sandbox.uploads.issue(
        sandbox.ids.new(), kind, sandbox.now(), sandbox.config.upload_url_ttl_seconds, max_bytes
    )
    return ok(
        {
            f"{kind}_id": upload.asset_id,
            "upload_url": f"{sandbox.public_base_url}/_sandbox/upload/{upload.asset_id}",
            "upload_fields": dict(upload.fields),
            "max_file_size_bytes": max_bytes,
        }
    )


async def finalize_upload(request: Request) -> Response:
    """POST /uploads/{kind}/finalize_upload -> echoes ``{"<kind>_id"}``."""
    sandbox = mosaic_auth(request)
    kind = _kind(request)
    upload = sandbox.uploads.finalize(kind, await json_body(request, optional=True), sandbox.now())
    if sandbox.blobs.get(upload.asset_id) is None:
        data = bytes(upload.kept) if upload.size is not None and upload.size == len(upload.kept) else None
        sandbox.blobs.add(Blob(upload.asset_id, kind, data, upload.content_type))
    return ok({f"{kind}_id": upload.asset_id})


async def get_view_url(request: Request) -> Response:
    """POST /uploads/get_view_url: a short-lived signed URL for an asset."""
    sandbox = mosaic_auth(request)
    body = await json_body(request)
    kind, asset_id = body.get("asset_type"), body.get("asset_id")
    if kind not in ASSET_KINDS:
        raise bad_request("asset_type must be one of video, audio, image")
    if not isinstance(asset_id, str) or not sandbox.known_asset(asset_id, kind):
        raise mosaic_error(404, f"Asset {asset_id} not found in this workspace")
    ttl = sandbox.config.view_url_ttl_seconds
    return ok(
        {
            "asset_type": kind,
            "asset_id": asset_id,
            "signed_url": sandbox.file_url(asset_id, MAIN_FILE[kind], ttl),
            "thumbnail_url": sandbox.file_url(asset_id, "thumbnail.png", ttl) if kind != "audio" else None,
        }
    )


async def storage_upload(request: Request) -> Response:
    """POST /_sandbox/upload/{asset_id}: multipart form, fields first, then ``file`` -> 204."""
    sandbox = sandbox_of(request)
    upload = sandbox.uploads.uploads.get(request.path_params["asset_id"])
    if upload is None:
        return _storage_error(404, "No such upload slot")
    length = request.headers.get("content-length")
    try:
        await receive_upload(
            upload,
            request.headers.get("content-type", ""),
            int(length) if length and length.isdigit() else None,
            request.stream(),
            sandbox.now(),
        )
    except StorageError as exc:
        return _storage_error(exc.status, exc.message)
    return Response(status_code=204)


async def serve_file(request: Request) -> Response:
    """GET /_sandbox/files/{blob_id}/{filename}?expires=..&sig=.. (403 expired / bad signature)."""
    sandbox = sandbox_of(request)
    verdict = sandbox.blobs.verify(
        request.url.path, request.query_params.get("expires"), request.query_params.get("sig"), sandbox.now()
    )
    if verdict is Verdict.EXPIRED:
        return _storage_error(403, "Request has expired")
    if verdict is Verdict.BAD_SIGNATURE:
        return _storage_error(403, "Invalid signature")
    blob = sandbox.blobs.get(request.path_params["blob_id"])
    content = sandbox.blobs.content(blob, request.path_params["filename"]) if blob else None
    if content is None:
        return _storage_error(404, "No such object")
    data, media_type = content
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=0"})


async def social_connect_page(request: Request) -> Response:
    """The ``connect_url`` target of a social connection (the sandbox connects at once)."""
    return PlainTextResponse("Sandbox: the account is connected. You can close this page.")


ROUTES = [
    Route("/uploads/{kind}/get_upload_url", get_upload_url, methods=["POST"]),
    Route("/uploads/{kind}/finalize_upload", finalize_upload, methods=["POST"]),
    Route("/uploads/get_view_url", get_view_url, methods=["POST"]),
    Route("/_sandbox/upload/{asset_id}", storage_upload, methods=["POST"]),
    Route("/_sandbox/files/{blob_id}/{filename}", serve_file, methods=["GET", "HEAD"]),
    Route("/_sandbox/social/connect/{connection_id}", social_connect_page, methods=["GET"]),
]

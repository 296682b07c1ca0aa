"""The three-step asset upload flow (reference 2.9) and the storage endpoint that takes the bytes.

``get_upload_url`` issues a slot with GCS-style POST policy fields; the client POSTs
``multipart/form-data`` (fields first, then ``file``) to ``/_sandbox/upload/<id>`` and gets 204;
``finalize_upload`` then makes the asset usable. The storage endpoint streams the body: it counts
bytes and keeps at most ``KEEP_BYTES`` of the file, so a multi-gigabyte upload costs no memory.

Storage errors (plain text, like a storage service): 404 unknown slot; 400 expired slot, missing or
wrong policy fields, no ``file`` part, or file larger than ``max_file_size_bytes`` (policy
violation, as GCS answers); 413 when the declared ``Content-Length`` alone already exceeds the
limit (rejected before reading the body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from python_multipart.multipart import MultipartParser, parse_options_header

from .clock import iso
from .errors import bad_request, mosaic_error

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

AssetKind = Literal["video", "audio", "image"]
ASSET_KINDS: tuple[AssetKind, ...] = ("video", "audio", "image")
MAX_BYTES: dict[str, int] = {"video": 5_368_709_120, "audio": 524_288_000, "image": 52_428_800}
KEEP_BYTES = 1 << 20  # uploads up to 1 MiB are kept and served back verbatim
_FIELD_LIMIT = 64 * 1024
_OVERHEAD = 64 * 1024  # multipart framing allowed on top of the file size


@dataclass
class Upload:
    """One upload slot and what arrived in it."""

    asset_id: str
    kind: AssetKind
    fields: dict[str, str]
    max_bytes: int
    expires_at: float
    size: int | None = None
    content_type: str | None = None
    kept: bytearray = field(default_factory=bytearray)
    finalized: bool = False


class StorageError(Exception):
    """A storage-endpoint failure: status and plain-text message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class UploadStore:
    """Upload slots by asset id."""

    def __init__(self, signing_key: bytes) -> None:
        self._key = signing_key
        self.uploads: dict[str, Upload] = {}

    def issue(self, asset_id: str, kind: AssetKind, now: float, ttl: float, max_bytes: int) -> Upload:
        """A new slot with its policy fields."""
        key = f"uploads/{kind}/{asset_id}"
        policy_doc = {
            "expiration": iso(now + ttl),
            "conditions": [{"key": key}, ["content-length-range", 0, max_bytes]],
        }
        policy = base64.b64encode(json.dumps(policy_doc).encode()).decode()
        signature = hmac.new(self._key, policy.encode(), hashlib.sha256).hexdigest()
        upload = Upload(
            asset_id, kind, {"key": key, "policy": policy, "x-goog-signature": signature}, max_bytes, now + ttl
        )
        self.uploads[asset_id] = upload
        return upload

    def finalize(self, kind: AssetKind, body: Any, now: float) -> Upload:
        """Check a finalize request: 400 missing id / no bytes yet, 404 unknown or expired."""
        id_key = f"{kind}_id"
        asset_id = body.get(id_key) if isinstance(body, dict) else None
        if not isinstance(asset_id, str):
            raise bad_request(f"{id_key} is required")
        upload = self.uploads.get(asset_id)
        if upload is None or upload.kind != kind or (upload.size is None and now > upload.expires_at):
            raise mosaic_error(404, f"Upload {asset_id} not found or expired")
        if upload.size is None:
            raise bad_request(f"Upload {asset_id} has no bytes yet: POST the file to upload_url before finalizing")
        upload.finalized = True
        return upload

    def finalized(self, asset_id: str, kind: AssetKind) -> Upload | None:
        """A finalized upload of this kind, if any."""
        upload = self.uploads.get(asset_id)
        return upload if upload is not None and upload.kind == kind and upload.finalized else None


class _FormReader:
    """python-multipart callbacks: fields into a dict, the file part counted and mostly discarded."""

    def __init__(self, upload: Upload) -> None:
        self.upload = upload
        self.fields: dict[str, str] = {}
        self.file_seen = False
        self.error: StorageError | None = None
        self._headers: dict[str, str] = {}
        self._name = self._value = b""
        self._part_name: str | None = None
        self._part_value = bytearray()
        self._size = 0
        self._in_file = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers, self._part_value, self._part_name, self._in_file = {}, bytearray(), None, False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._name.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._name = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        self._part_name = options.get(b"name", b"").decode("latin-1")
        if self._part_name == "file" and self.error is None:
            self._in_file = True
            self.file_seen = True
            self._check_fields()
            self.upload.content_type = self._headers.get("content-type")

    def _check_fields(self) -> None:
        for name, expected in self.upload.fields.items():
            if not hmac.compare_digest(self.fields.get(name, ""), expected):
                self.error = StorageError(
                    400, f"Invalid or missing form field {name!r} (send every upload_fields entry before 'file')"
                )
                return

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        if not self._in_file:
            if len(self._part_value) + end - start > _FIELD_LIMIT:
                self.error = StorageError(400, "Form field too large")
            self._part_value += data[start:end]
            return
        if self._size < KEEP_BYTES:
            self.upload.kept += data[start : min(end, start + KEEP_BYTES - self._size)]
        self._size += end - start
        if self._size > self.upload.max_bytes:
            self.error = StorageError(400, "EntityTooLarge: the file exceeds the policy's content-length-range")

    def _part_end(self) -> None:
        if self._in_file:
            self.upload.size = self._size if self.error is None else None
        elif self._part_name:
            self.fields[self._part_name] = self._part_value.decode("utf-8", "replace")


async def receive_upload(
    upload: Upload, content_type: str, content_length: int | None, chunks: AsyncIterator[bytes], now: float
) -> None:
    """Consume a storage POST for ``upload``; raises StorageError, otherwise the bytes are recorded."""
    if now > upload.expires_at:
        raise StorageError(400, "Invalid argument: the upload policy has expired")
    if content_length is not None and content_length > upload.max_bytes + _OVERHEAD:
        raise StorageError(413, "Request entity too large")
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise StorageError(400, "Expected multipart/form-data with a boundary")
    if upload.finalized:
        raise StorageError(400, "This upload was already finalized")
    upload.kept.clear()
    reader = _FormReader(upload)
    parser = MultipartParser(boundary, reader.callbacks())
    async for chunk in chunks:
        # After an error keep reading (and discarding) so the client sees our answer, not a reset.
        if reader.error is None:
            parser.write(chunk)
    if reader.error is not None:
        upload.kept.clear()
        raise reader.error
    if not reader.file_seen or upload.size is None:
        raise StorageError(400, "No 'file' part in the form")

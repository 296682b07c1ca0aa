"""Signed, expiring URLs for the bytes the sandbox serves, and the registry of what can be served.

Every output, input copy, uploaded asset and Motion video is a *blob* with an id. A URL
``/_sandbox/files/<blob_id>/<filename>?expires=<epoch>&sig=<hmac>`` serves one of its files until
the virtual clock passes ``expires`` (then 403, like an expired cloud-storage signature), so a
client can exercise "re-poll for a fresh URL".
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum
from typing import Literal
from urllib.parse import urlencode

from . import media

BlobKind = Literal["video", "image", "audio"]

# Filename -> content type, per blob kind.
_FILES: dict[str, dict[str, str]] = {
    "video": {"video.mp4": "video/mp4", "thumbnail.png": "image/png", "timeline.zip": "application/zip"},
    "image": {"image.png": "image/png", "thumbnail.png": "image/png"},
    "audio": {"audio.wav": "audio/wav", "thumbnail.png": "image/png"},
}
MAIN_FILE: dict[str, str] = {"video": "video.mp4", "image": "image.png", "audio": "audio.wav"}


@dataclass
class Blob:
    """Something the sandbox can serve; ``data`` holds the uploaded bytes when small enough."""

    blob_id: str
    kind: BlobKind
    data: bytes | None = None
    content_type: str | None = None


class Verdict(Enum):
    """Outcome of checking a signed URL."""

    OK = "ok"
    EXPIRED = "expired"
    BAD_SIGNATURE = "bad_signature"


class BlobStore:
    """The blobs, their bytes, and HMAC signing of their URLs."""

    def __init__(self, signing_key: bytes) -> None:
        self._key = signing_key
        self._blobs: dict[str, Blob] = {}

    def add(self, blob: Blob) -> Blob:
        """Register (or replace) a blob."""
        self._blobs[blob.blob_id] = blob
        return blob

    def get(self, blob_id: str) -> Blob | None:
        """The blob with this id, if any."""
        return self._blobs.get(blob_id)

    def _signature(self, path: str, expires: int) -> str:
        return hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def signed_url(self, base_url: str, blob_id: str, filename: str, expires: float) -> str:
        """An absolute URL for one file of a blob, valid until ``expires`` (virtual epoch)."""
        path = f"/_sandbox/files/{blob_id}/{filename}"
        stamp = int(expires)
        query = urlencode({"expires": stamp, "sig": self._signature(path, stamp)})
        return f"{base_url.rstrip('/')}{path}?{query}"

    def verify(self, path: str, expires: str | None, sig: str | None, now: float) -> Verdict:
        """Whether a signed path is authentic and still valid at virtual time ``now``."""
        if expires is None or sig is None or not expires.isdigit():
            return Verdict.BAD_SIGNATURE
        if not hmac.compare_digest(self._signature(path, int(expires)), sig):
            return Verdict.BAD_SIGNATURE
        return Verdict.OK if now <= int(expires) else Verdict.EXPIRED

    def content(self, blob: Blob, filename: str) -> tuple[bytes, str] | None:
        """The bytes and content type of one file of a blob, or None if it has no such file."""
        content_type = _FILES[blob.kind].get(filename)
        if content_type is None:
            return None
        # Eight colour variants: distinct thumbnails per blob without rendering a PNG per blob.
        hue = int(hashlib.sha256(blob.blob_id.encode()).hexdigest()[:2], 16) % 8 * 32
        if filename == "thumbnail.png" and blob.kind == "video":
            return media.asset_bytes("thumbnail.png"), content_type  # a frame of the clip below
        if filename == "thumbnail.png":
            return media.png_bytes(320, 180, hue), content_type
        if filename == MAIN_FILE[blob.kind] and blob.data is not None:
            return blob.data, blob.content_type or content_type
        if filename == "video.mp4":
            return media.asset_bytes("clip.mp4"), content_type  # a real H.264 clip a browser plays
        if filename == "image.png":
            return media.png_bytes(320, 180, (hue + 16) % 256), content_type
        if filename == "audio.wav":
            return media.wav_bytes(), content_type
        return media.premiere_zip_bytes("timeline"), content_type

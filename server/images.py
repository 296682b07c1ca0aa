"""Small previews the model can look at, without an imaging library.

A thumbnail goes into a tool result as base64, so it must stay small: at most `PREVIEW_MAX_BYTES`.
PNGs above that are scaled down here in pure Python (zlib + nearest-neighbour sampling: enough
for a preview) until they fit; other formats above it are left out, with a note.
Only 8-bit, non-interlaced PNGs up to `MAX_DECODE_PIXELS` are decoded; anything else is left out.
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass

from mcp.types import ImageContent

PREVIEW_MAX_BYTES = 64 * 1024
"""Cap on an image put into a tool result (before base64)."""
FETCH_MAX_BYTES = 8 * 1024 * 1024
"""Largest thumbnail file fetched at all."""
MAX_DECODE_PIXELS = 2_100_000  # 1920x1080 and a little more
PREVIEW_SIDES = (320, 240, 160, 96)
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@dataclass(frozen=True)
class Preview:
    """An image ready for a tool result, or the reason there is none."""

    image: ImageContent | None
    note: str | None = None


def preview(data: bytes, content_type: str) -> Preview:
    """An ImageContent of at most PREVIEW_MAX_BYTES, or a note saying why it was left out."""
    mime = "image/png" if data.startswith(_SIGNATURE) else content_type
    if mime not in _IMAGE_TYPES:
        return Preview(None, f"the thumbnail is not an image the model can view ({content_type or 'unknown type'})")
    if len(data) > PREVIEW_MAX_BYTES and mime == "image/png":
        data = shrink_png(data, PREVIEW_MAX_BYTES) or data
    if len(data) > PREVIEW_MAX_BYTES:
        kb = PREVIEW_MAX_BYTES // 1024
        return Preview(None, f"the thumbnail ({len(data) // 1024} KB) is over the {kb} KB preview cap; open its URL")
    encoded = base64.b64encode(data).decode("ascii")
    return Preview(ImageContent(type="image", data=encoded, mime_type=mime))


def shrink_png(data: bytes, max_bytes: int) -> bytes | None:
    """A scaled-down copy of a PNG that fits in `max_bytes`, or None if it cannot be made."""
    try:
        image = _decode(data)
    except (ValueError, zlib.error, struct.error):
        return None
    if image is None:
        return None
    for side in PREVIEW_SIDES:
        smaller = _encode(image.scaled(side))
        if len(smaller) <= max_bytes:
            return smaller
    return None


@dataclass(frozen=True)
class _Image:
    width: int
    height: int
    colour_type: int
    channels: int
    rows: list[bytes]  # unfiltered scanlines
    extra_chunks: list[tuple[bytes, bytes]]  # PLTE / tRNS, kept for palette images

    def scaled(self, side: int) -> _Image:
        factor = max(self.width, self.height) / side
        if factor <= 1:
            return self
        width, height = max(1, round(self.width / factor)), max(1, round(self.height / factor))
        columns = [min(int(x * factor), self.width - 1) for x in range(width)]
        c = self.channels
        rows = []
        for y in range(height):
            row = self.rows[min(int(y * factor), self.height - 1)]
            rows.append(b"".join(row[x * c : x * c + c] for x in columns))
        return _Image(width, height, self.colour_type, c, rows, self.extra_chunks)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    found, pos = [], len(_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        found.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
        if kind == b"IEND":
            break
    return found


def _decode(data: bytes) -> _Image | None:
    if not data.startswith(_SIGNATURE):
        return None
    chunks = _chunks(data)
    header = next((body for kind, body in chunks if kind == b"IHDR"), None)
    if header is None:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or interlace != 0 or colour not in _CHANNELS or width * height > MAX_DECODE_PIXELS:
        return None
    channels = _CHANNELS[colour]
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels
    if len(raw) < (stride + 1) * height:
        return None
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        rows.append(row)
        previous = row
    extra = [(kind, body) for kind, body in chunks if kind in (b"PLTE", b"tRNS")]
    return _Image(width, height, colour, channels, rows, extra)


def _unfilter(kind: int, row: bytearray, prev: bytes, bpp: int) -> bytes:
    if kind == 0:
        return bytes(row)
    if kind == 2:
        return bytes((a + b) & 0xFF for a, b in zip(row, prev, strict=True))
    n = len(row)
    if kind == 1:
        for i in range(bpp, n):
            row[i] = (row[i] + row[i - bpp]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = row[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    else:
        raise ValueError(f"unknown PNG filter {kind}")
    return bytes(row)


def _encode(image: _Image) -> bytes:
    header = struct.pack(">IIBBBBB", image.width, image.height, 8, image.colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in image.rows)
    chunks = [(b"IHDR", header), *image.extra_chunks, (b"IDAT", zlib.compress(raw, 9)), (b"IEND", b"")]
    return _SIGNATURE + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        for kind, body in chunks
    )

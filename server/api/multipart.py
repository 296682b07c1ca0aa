"""Streaming multipart/form-data for step 2 of the upload flow (POST to the signed URL).

httpx2's own multipart support needs file-like objects; a caller with an async byte stream of a
multi-GB video would have to hold it in memory. So the body is built here as an async generator
with a precomputed Content-Length: the `upload_fields` parts first, then the `file` part last, as
the signed policy requires.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Mapping

from .errors import InvalidInputError

CHUNK = 1 << 20


def _quote(value: str) -> str:
    # HTML's form encoding: escape the characters that would end the quoted parameter.
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


class MultipartUpload:
    """A multipart body whose total length is known before a byte of the file is read."""

    def __init__(
        self,
        fields: Mapping[str, str],
        content: AsyncIterable[bytes] | bytes,
        *,
        filename: str,
        content_type: str,
        size: int,
    ) -> None:
        if isinstance(content, bytes | bytearray) and len(content) != size:
            raise InvalidInputError("size", f"must equal the content length ({len(content):,} bytes)")
        if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", content_type):
            raise InvalidInputError("content_type", "must be a MIME type such as video/mp4")
        self.boundary = f"mosaic-mcp-{secrets.token_hex(16)}"
        self._content = content
        self.size = size
        head = b"".join(self._part_header(name) + value.encode() + b"\r\n" for name, value in fields.items())
        file_header = self._part_header("file", filename=filename, content_type=content_type)
        self._head = head + file_header
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    def _part_header(self, name: str, *, filename: str | None = None, content_type: str | None = None) -> bytes:
        disposition = f'form-data; name="{_quote(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quote(filename)}"'
        lines = [f"--{self.boundary}", f"Content-Disposition: {disposition}"]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    @property
    def content_length(self) -> int:
        """Bytes the body will have."""
        return len(self._head) + self.size + len(self._tail)

    @property
    def content_type(self) -> str:
        """The Content-Type header, with the boundary."""
        return f"multipart/form-data; boundary={self.boundary}"

    async def stream(self) -> AsyncIterator[bytes]:
        """The body, in chunks; fails if the file yields more or fewer bytes than announced."""
        yield self._head
        sent = 0
        if isinstance(self._content, bytes | bytearray):
            for start in range(0, len(self._content), CHUNK):
                chunk = bytes(self._content[start : start + CHUNK])
                sent += len(chunk)
                yield chunk
        else:
            async for chunk in self._content:
                sent += len(chunk)
                if sent > self.size:
                    raise InvalidInputError("size", f"the file is larger than the announced {self.size:,} bytes")
                yield chunk
        if sent != self.size:
            raise InvalidInputError("size", f"the file had {sent:,} bytes, not the announced {self.size:,}")
        yield self._tail

"""poll_job(include_thumbnail=true): a small image the model can see, next to the structured snapshot."""

import base64
import struct
import zlib

import pytest
from mcp import Client
from mcp.types import ImageContent, TextContent

from mosaic_mcp.server.images import PREVIEW_MAX_BYTES, preview, shrink_png
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import RUN, SESSIONS, sent
from ..support.files import settle

pytestmark = pytest.mark.anyio

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


async def test_thumbnail_comes_as_a_capped_image(client: Client, served: RunningSandbox) -> None:
    """The sandbox's 94 KB PNG thumbnail is scaled down under the 64 KB cap; the snapshot stays structured."""
    handle = await client.call_tool("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    job_id = handle.structured_content["job_id"]  # type: ignore[index]
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
    await settle(client, served, job_id)
    result = await client.call_tool("poll_job", {"job_id": job_id, "include_thumbnail": True})
    assert not result.is_error
    text, image = result.content
    assert isinstance(text, TextContent)
    assert isinstance(image, ImageContent)
    png = base64.b64decode(image.data)
    assert image.mime_type == "image/png"
    assert png.startswith(b"\x89PNG")
    assert len(png) <= PREVIEW_MAX_BYTES
    assert result.structured_content is not None
    assert result.structured_content["job_id"] == job_id
    assert result.structured_content["settled"] is True


async def test_poll_job_still_advertises_its_output_schema(client: Client) -> None:
    """Returning extra image content does not cost poll_job its outputSchema."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    schema = tools["poll_job"].output_schema
    assert schema is not None
    assert {"job_id", "settled", "outputs"} <= set(schema["properties"])
    assert "include_thumbnail" in tools["poll_job"].input_schema["properties"]
    assert "roots" not in tools["download_output"].input_schema["properties"]


async def test_without_thumbnail_there_is_a_note(client: Client, served: RunningSandbox) -> None:
    """A job with no thumbnail (a Motion session) gets a short note instead of an image."""
    handle = await client.call_tool("create_video_session", {"prompt": "A teaser"})
    job_id = handle.structured_content["job_id"]  # type: ignore[index]
    assert sent(served, SESSIONS) == [{"prompt": "A teaser"}]
    result = await client.call_tool("poll_job", {"job_id": job_id, "include_thumbnail": True})
    assert not result.is_error
    assert isinstance(result.content[-1], TextContent)
    assert "no thumbnail" in result.content[-1].text


def _png(width: int, height: int, filters: list[int]) -> tuple[bytes, list[bytes]]:
    """A noisy RGB PNG whose rows use the given filter types in turn; also its raw rows."""
    rows = [bytes((x * 7 + y * 13 + (x * y) % 17) % 256 for x in range(width * 3)) for y in range(height)]
    out, previous = bytearray(), bytes(width * 3)
    for y, row in enumerate(rows):
        kind = filters[y % len(filters)]
        out.append(kind)
        for i, value in enumerate(row):
            left = row[i - 3] if i >= 3 else 0
            up, corner = previous[i], previous[i - 3] if i >= 3 else 0
            p = left + up - corner
            paeth = (
                left
                if abs(p - left) <= abs(p - up) and abs(p - left) <= abs(p - corner)
                else (up if abs(p - up) <= abs(p - corner) else corner)
            )
            predictor = [0, left, up, (left + up) // 2, paeth][kind]
            out.append((value - predictor) % 256)
        previous = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b"")
    )
    return data, rows


def test_png_shrink_decodes_every_filter() -> None:
    """All five PNG filters decode exactly; the shrunk copy samples the original pixels."""
    data, rows = _png(400, 60, [0, 1, 2, 3, 4])
    small = shrink_png(data, 20_000)
    assert small is not None
    assert len(small) <= 20_000
    width, height = struct.unpack(">II", small[16:24])
    assert max(width, height) <= 320
    raw = zlib.decompress(small[41:-12])  # IDAT body: after signature, IHDR chunk and IDAT header
    first_row = raw[1 : 1 + width * 3]
    assert first_row[:3] == rows[0][:3]


def test_non_png_over_the_cap_is_left_out() -> None:
    """A JPEG larger than the cap is not inlined; a note says why."""
    jpeg = b"\xff\xd8\xff" + b"\x00" * (PREVIEW_MAX_BYTES + 1)
    result = preview(jpeg, "image/jpeg")
    assert result.image is None
    assert result.note is not None
    assert "64 KB" in result.note
    small = preview(b"\xff\xd8\xff\x00", "image/jpeg")
    assert small.image is not None
    assert small.image.mime_type == "image/jpeg"

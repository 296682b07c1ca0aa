"""A job's thumbnail as a small image the model can see (never one that floods the context)."""

from __future__ import annotations

import anyio.to_thread
import httpx2

from ..api.errors import MosaicMCPError
from ..images import FETCH_MAX_BYTES, Preview, preview
from ..jobs.service import JobService
from ..jobs.snapshot import JobSnapshot
from .progress import CHUNK
from .signed import REFRESHABLE, content_length, open_signed


async def thumbnail_preview(jobs: JobService, client: httpx2.AsyncClient, snapshot: JobSnapshot) -> Preview:
    """The first output's thumbnail as a small image (or a note why there is none)."""
    output = next((o for o in snapshot.outputs if o.thumbnail_url), None)
    if output is None or output.thumbnail_url is None:
        return Preview(None, "no thumbnail yet: this job has no output with a thumbnail")
    try:
        fetched = await _fetch_small(client, output.thumbnail_url)
        if isinstance(fetched, int) and fetched in REFRESHABLE:
            fresh = await jobs.refresh(snapshot.job_id, force=True)
            url = next((o.thumbnail_url for o in fresh.snapshot.outputs if o.output_id == output.output_id), None)
            fetched = await _fetch_small(client, url) if url else fetched
    except MosaicMCPError as exc:  # a preview is a nicety: never fail the poll over it
        return Preview(None, f"the thumbnail could not be fetched ({exc})")
    if isinstance(fetched, int):
        reason = "it is too large" if fetched == 0 else f"its link answered {fetched}"
        return Preview(None, f"the thumbnail was left out: {reason}; open thumbnail_url to see it")
    return await anyio.to_thread.run_sync(preview, *fetched)  # decoding a PNG is CPU work


async def _fetch_small(client: httpx2.AsyncClient, url: str) -> tuple[bytes, str] | int:
    """(body, content type) of a small file, else its error status (0 = over FETCH_MAX_BYTES)."""
    async with open_signed(client, url) as response:
        if not response.is_success:
            return response.status_code
        size = content_length(response)
        if size is not None and size > FETCH_MAX_BYTES:
            return 0
        body = bytearray()
        async for chunk in response.aiter_bytes(CHUNK):
            body += chunk
            if len(body) > FETCH_MAX_BYTES:
                return 0
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return bytes(body), content_type

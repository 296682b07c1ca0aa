"""The scenario every transport must carry: start, wait with progress, read the finished resources."""

import json
from typing import Any

from mcp import Client
from mcp.types import TextContent, TextResourceContents

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import MOSAIC_KEY, MOTION_KEY, RUN, SESSIONS, sent


async def call(client: Client, name: str, args: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured content."""
    result = await client.call_tool(name, args, **kw)
    text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
    assert not result.is_error, text
    assert MOSAIC_KEY not in text and MOTION_KEY not in text
    assert result.structured_content is not None
    return result.structured_content


async def run_full_flow(client: Client, served: RunningSandbox) -> None:
    """Run + Motion session to completion with progress; finished resources readable; the exact bodies sent."""
    run = await call(
        client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}
    )
    session = await call(client, "create_video_session", {"prompt": "A 10 second product teaser"})
    assert sent(served, RUN) == [{"video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}]
    assert sent(served, SESSIONS) == [{"prompt": "A 10 second product teaser"}]
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    for handle in (run, session):
        for _ in range(12):
            snap = await call(
                client, "poll_job", {"job_id": handle["job_id"], "wait_seconds": 5}, progress_callback=on_progress
            )
            if snap["settled"]:
                break
        assert snap["status"] == "completed", snap
        body = (await client.read_resource(handle["resource_uri"])).contents[0]
        assert isinstance(body, TextResourceContents)
        assert json.loads(body.text)["outputs"]
    assert progress, "no progress notification arrived"

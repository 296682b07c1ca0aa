"""The real `mosaic-mcp` command over stdio, as a desktop host runs it."""

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import ResourceUpdatedNotification, TextResourceContents

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import RUN, sent
from ..support.processes import mosaic_mcp_command
from .flow import run_full_flow

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_full_flow(server_env: dict[str, str], served: RunningSandbox, mode: str) -> None:
    """Start a run and a Motion session, wait with progress, and read the finished resources over stdio."""
    command = mosaic_mcp_command()
    params = StdioServerParameters(command=command[0], args=[*command[1:], "serve"], env=server_env)
    with anyio.fail_after(60):
        async with Client(params, mode=mode) as client:  # type: ignore[arg-type]
            await run_full_flow(client, served)


async def test_stdio_subscription_notifies(server_env: dict[str, str], served: RunningSandbox) -> None:
    """A 2025-era host subscribed to a job gets notifications/resources/updated over stdio."""
    command = mosaic_mcp_command()
    params = StdioServerParameters(command=command[0], args=[*command[1:], "serve"], env=server_env)
    updated = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updated.set()

    with anyio.fail_after(60):
        async with Client(params, mode="legacy", message_handler=on_message) as client:
            result = await client.call_tool(
                "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}
            )
            assert result.structured_content is not None
            assert sent(served, RUN) == [{"video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}]
            uri = result.structured_content["resource_uri"]
            await client.subscribe_resource(uri)
            await updated.wait()
            body = (await client.read_resource(uri)).contents[0]
            assert isinstance(body, TextResourceContents)


async def test_sandbox_mode_needs_no_keys(tmp_path: Path) -> None:
    """`mosaic-mcp serve --sandbox` answers with the built-in emulator and no keys at all."""
    command = mosaic_mcp_command()
    params = StdioServerParameters(
        command=command[0],
        args=[*command[1:], "serve", "--sandbox"],
        env={"MOSAIC_MCP_HOME": str(tmp_path / "home"), "MOSAIC_MCP_POLL_INTERVAL": "0.1"},
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            credits = await client.call_tool("check_credits", {})
            assert not credits.is_error
            assert credits.structured_content is not None
            assert credits.structured_content["balance"] > 0
            run = await client.call_tool(
                "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}
            )
            assert not run.is_error


async def test_serve_flags_choose_the_tools(server_env: dict[str, str]) -> None:
    """`serve --toolsets all --read-only` lists opt-in tools, and only ones that change nothing."""
    command = mosaic_mcp_command()
    params = StdioServerParameters(
        command=command[0], args=[*command[1:], "serve", "--toolsets", "all", "--read-only"], env=server_env
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            tools = (await client.list_tools()).tools
    names = {t.name for t in tools}
    assert {"list_runs", "get_plan", "list_social_posts"} <= names
    assert not names & {"run_agent", "buy_credits", "delete_agent", "download_output"}
    assert all(t.annotations is not None and t.annotations.read_only_hint for t in tools)

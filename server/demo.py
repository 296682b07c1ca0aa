"""`mosaic-mcp demo`: a newcomer's first five minutes, scripted, with no keys and no network.

It starts the sandbox in this process, launches the real server (`mosaic-mcp serve`) as a child
over stdio pointed at it, and drives it with the SDK's MCP client — exactly what a desktop host
does — printing a short transcript.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, TextContent

from . import __version__
from .sandbox import Sandbox, SandboxConfig, serve_sandbox  # the demo runs on the sandbox; cli.py loads demo lazily

DEMO_VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
DEMO_PROMPT = "A 15-second launch video for Notely, a calm note-taking app: soft gradients, three feature cards."


class DemoError(RuntimeError):
    """A step of the demo did not go as expected."""


class Transcript:
    """Writes the human-readable transcript (to the terminal, never to a protocol stream)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def step(self, text: str) -> None:
        """A numbered-looking step header."""
        self.out.write(f"\n▶ {text}\n")
        self.out.flush()

    def line(self, text: str) -> None:
        """An indented detail line."""
        self.out.write(f"  {text}\n")
        self.out.flush()


def run_demo(*, out: TextIO, speed: float = 30.0) -> int:
    """Run the scripted demo, writing its transcript to `out` (the terminal); 0 when both jobs completed."""
    transcript = Transcript(out)
    try:
        anyio.run(_demo, transcript, speed)
    except DemoError as exc:
        transcript.line(f"✗ demo failed: {exc}")
        return 1
    return 0


async def _demo(t: Transcript, speed: float) -> None:
    t.step(f"mosaic-mcp {__version__} demo — sandbox mode: both APIs emulated on this machine, no credits spent")
    with tempfile.TemporaryDirectory(prefix="mosaic-mcp-demo-") as home:
        async with serve_sandbox(Sandbox(SandboxConfig(speed=speed))) as sandbox:
            t.line(f"sandbox listening on {sandbox.mosaic_base_url} (Mosaic) and {sandbox.motion_base_url} (Motion)")
            params = StdioServerParameters(
                command=sys.executable,
                args=["-m", "mosaic_mcp.server.cli", "serve"],
                env={
                    "MOSAIC_API_KEY": "mk_demo_key",
                    "MOTION_API_KEY": "motion_demo_key",
                    "MOSAIC_API_BASE_URL": sandbox.mosaic_base_url,
                    "MOTION_API_BASE_URL": sandbox.motion_base_url,
                    "MOSAIC_MCP_HOME": home,
                    "MOSAIC_MCP_DOWNLOAD_DIR": f"{home}/downloads",
                    "MOSAIC_MCP_MAX_WAIT_SECONDS": "20",
                },
            )
            with anyio.fail_after(120):
                async with Client(params) as client:
                    await _script(client, t)


async def _script(client: Client, t: Transcript) -> None:
    t.step(f"connected to the server over stdio (MCP {client.protocol_version})")
    tools = (await client.list_tools()).tools
    t.line(f"{len(tools)} tools: {', '.join(tool.name for tool in tools)}")

    t.step("check_credits")
    credits = await _call(client, "check_credits", {})
    t.line(f"balance {credits['balance']:.0f} credits on plan {credits['plan_id'] or credits['plan']}")

    t.step("list_agents → get_agent")
    agents = (await _call(client, "list_agents", {}))["agents"]
    agent = next((a for a in agents if "Captions" in (a["name"] or "")), agents[0])
    view = await _call(client, "get_agent", {"agent_id": agent["agent_id"]})
    tiles = " → ".join(n["tile"] or "?" for n in view["nodes"])
    t.line(f"'{view['name']}': {tiles} ({view['input_mode'].replace('_', ' ')})")

    t.step(f"run_agent on {DEMO_VIDEO}")
    run = await _call(client, "run_agent", {"agent_id": agent["agent_id"], "video_urls": [DEMO_VIDEO]})
    t.line(f"started run {run['job_id']} — {run['resource_uri']}")

    t.step("create_video_session")
    session = await _call(client, "create_video_session", {"prompt": DEMO_PROMPT, "aspect_ratio": "16:9"})
    t.line(f"started Motion session {session['job_id']} — {session['resource_uri']}")

    for job in (run, session):
        t.step(f"poll_job({job['job_id'][:8]}…, wait_seconds=20) until settled")
        final = await _follow(client, job["job_id"], t)
        if final["status"] != "completed":
            raise DemoError(f"job {job['job_id']} ended {final['status']}: {final['errors']}")
        for output in final["outputs"]:
            t.line(f"output {output['output_id'][:8]}: {output['video_url']}")

    t.step("resources")
    listed = (await client.list_resources()).resources
    t.line(f"{len(listed)} resources: " + ", ".join(r.uri for r in listed))
    body = await client.read_resource(run["resource_uri"])
    content = body.contents[0]
    snapshot = json.loads(content.text if hasattr(content, "text") else "{}")
    t.line(f"{run['resource_uri']} → status {snapshot['status']}, {len(snapshot['outputs'])} output(s)")
    t.step("done: both jobs completed ✓")
    next_steps(t)


def next_steps(t: Transcript) -> None:
    """What to do after the demo: add the server to a host, check the set-up."""
    command = installed_command()
    t.step("next steps")
    t.line(f"1. set MOSAIC_API_KEY (mk_…) and MOTION_API_KEY (motion_…), then check them:  {command} doctor")
    t.line("2. add the server to your MCP host; hosts need the command's absolute path:")
    t.line(f"     {command}")
    t.line(f"   Claude Code:    claude mcp add mosaic -e MOSAIC_API_KEY=mk_… -e MOTION_API_KEY=motion_… -- {command}")
    t.line('   Claude Desktop, Cursor, VS Code: the README\'s section "Use it from your assistant"')
    t.line(f"   no keys yet?    the same entry with the arguments `serve --sandbox`: {command} serve --sandbox")


def installed_command() -> str:
    """The absolute path of the `mosaic-mcp` command next to this Python, else what PATH finds."""
    beside = Path(sys.executable).with_name("mosaic-mcp.exe" if sys.platform == "win32" else "mosaic-mcp")
    if beside.exists():
        return str(beside)
    return shutil.which("mosaic-mcp") or "mosaic-mcp"


async def _follow(client: Client, job_id: str, t: Transcript) -> dict[str, Any]:
    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        t.line(f"… {message} ({progress:.0f}s)")

    for _ in range(10):
        snap = await _call(client, "poll_job", {"job_id": job_id, "wait_seconds": 20}, on_progress)
        if snap["settled"]:
            return snap
    raise DemoError(f"job {job_id} did not settle")


async def _call(client: Client, name: str, arguments: dict[str, Any], progress: Any = None) -> dict[str, Any]:
    result: CallToolResult = await client.call_tool(name, arguments, progress_callback=progress)
    if result.is_error:
        text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
        raise DemoError(f"{name} failed: {text}")
    if result.structured_content is None:
        raise DemoError(f"{name} returned no structured content")
    return dict(result.structured_content)

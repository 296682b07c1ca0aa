"""Fault matrix: job-creating and paying tools against every way an upstream answer can go wrong.

For each tool (run_agent, create_video_session, followup_video_session, buy_credits, upgrade_plan)
and each fault (500, 502, 504, a malformed body, a time-out, a dropped connection), once with the
work done upstream before the answer is lost ("after") and once with nothing done ("before"):

- the model follows the server's advice: if the message says to try again, the call is repeated once;
- **held**: the upstream did it at most once, and what it did is tracked (a job) or reported
  (`list_jobs.unresolved`) — or it did nothing and nothing is owed;
- **duplicates**: the upstream did it twice (someone paid twice);
- **lost**: the upstream did it, and the server neither tracks nor reports it.

Run: .venv/bin/python bench/bench_faults.py  (~1 min; in memory, the sandbox on loopback)
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.types import ElicitRequestParams, ElicitResult, TextContent

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import load_settings
from mosaic_mcp.server.jobs.poller import PollTiming
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.faults import LOST_ANSWERS
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, table

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
FAULTS = LOST_ANSWERS
TIME_LIMIT = 600.0


@dataclass
class Tool:
    name: str
    args: dict[str, Any]
    route: str


TOOLS = [
    Tool("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}, "/agent/{agent_id}/run"),
    Tool("create_video_session", {"prompt": "A launch video"}, "/api/motion/sessions"),
    Tool("followup_video_session", {"prompt": "Shorter intro"}, "/api/motion/sessions/{job_id}/followups"),
    Tool("buy_credits", {"credits": 500}, "/credits/buy"),
    Tool("upgrade_plan", {"plan_id": "professional"}, "/plan/upgrade"),
]


def effects(sandbox: Sandbox, tool: str) -> int:
    """How many times the upstream carried the tool's request out so far."""
    if tool == "run_agent":
        return len(sandbox.runs.runs)
    if tool in ("create_video_session", "followup_video_session"):
        return len(sandbox.motion.sessions)
    if tool == "buy_credits":
        return sandbox.billing.purchased // 500
    return int(sandbox.billing.plan_id == "professional")


async def approve(context: Any, params: ElicitRequestParams) -> ElicitResult:
    return ElicitResult(action="accept", content={"approve": True})


def text(result: Any) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


async def unresolved(client: Client, tool: str) -> int:
    listed = (await client.call_tool("list_jobs", {"limit": 100})).structured_content or {}
    return sum(1 for u in listed.get("unresolved", []) if u["action"] == tool)


async def tracked(client: Client) -> set[str]:
    listed = (await client.call_tool("list_jobs", {"limit": 100})).structured_content or {}
    return {j["job_id"] for j in listed.get("jobs", [])}


async def one_case(client: Client, running: RunningSandbox, tool: Tool, fault: str, after: bool) -> str:
    """held / duplicate / lost for one case."""
    sandbox = running.sandbox
    sandbox.billing.plan_id = "creator"
    args = dict(tool.args)
    if tool.name == "followup_video_session":
        first = (await client.call_tool("create_video_session", {"prompt": "First cut"})).structured_content
        assert first is not None
        sandbox.advance(3600)
        await client.call_tool("poll_job", {"job_id": first["job_id"]})
        args["job_id"] = first["job_id"]
    before, reported_before = effects(sandbox, tool.name), await unresolved(client, tool.name)
    tracked_before = await tracked(client)
    sandbox.faults.inject(method="POST", path=tool.route, after=after, **FAULTS[fault])
    result = await client.call_tool(tool.name, args)
    if result.is_error and "try again" in text(result).lower():
        result = await client.call_tool(tool.name, args)  # the model follows the advice
    await anyio.sleep(0.7 if fault == "timeout" else 0)  # a late answer lands upstream
    done = effects(sandbox, tool.name) - before
    if done > 1:
        return "duplicate"
    if done == 0:
        return "held"
    job_id = (result.structured_content or {}).get("job_id") if not result.is_error else None
    if not result.is_error and (job_id is None or job_id in await tracked(client)):
        return "held"
    if await unresolved(client, tool.name) > reported_before or await tracked(client) - tracked_before:
        return "held"  # reported, or adopted since by the background reconciler
    return "lost"


async def main() -> None:
    started = time.monotonic()
    print(machine_line())
    config = SandboxConfig(speed=0, credits=10**6, motion_credits=10**7)
    rows: list[list[object]] = []
    totals = {"tried": 0, "held": 0, "duplicate": 0, "lost": 0}
    failures: list[str] = []
    async with serve_sandbox(Sandbox(config)) as running:
        with tempfile.TemporaryDirectory() as home:
            settings = load_settings(
                mosaic_api_key="mk_bench_key",
                motion_api_key="motion_bench_key",
                mosaic_api_base_url=running.mosaic_base_url,
                motion_api_base_url=running.motion_base_url,
                home=Path(home),
                download_dir=Path(home) / "downloads",
                toolsets="all",
            )
            server = create_server(
                settings,
                poll_timing=PollTiming(initial=0.02, cap=0.1, idle_cap=0.2, adopt_every=0.5),
                retry=RetryPolicy(sleep=RecordingSleep()),
                http_timeout=httpx2.Timeout(0.2, connect=2.0),
            )
            async with Client(server, elicitation_callback=approve) as client:
                for tool in TOOLS:
                    counts = {"tried": 0, "held": 0, "duplicate": 0, "lost": 0}
                    for fault in FAULTS:
                        for after in (True, False):
                            if time.monotonic() - started > TIME_LIMIT:
                                break
                            outcome = await one_case(client, running, tool, fault, after)
                            counts["tried"] += 1
                            counts[outcome] += 1
                            if outcome != "held":
                                failures.append(
                                    f"{outcome}: {tool.name}, {fault}, work {'done' if after else 'not done'}"
                                )
                    rows.append([tool.name, counts["tried"], counts["held"], counts["duplicate"], counts["lost"]])
                    for key in totals:
                        totals[key] += counts[key]
    rows.append(["all", totals["tried"], totals["held"], totals["duplicate"], totals["lost"]])
    print()
    print(table(["tool", "tried", "held", "duplicates", "lost"], rows))
    for line in failures:
        print(f"- {line}")
    print(f"\n{len(FAULTS)} faults x (work done / not done) per tool; {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    anyio.run(main)

"""The tool catalogue as a Markdown table, and which tool reaches each Mosaic endpoint.

`python -m mosaic_mcp.tools.catalogue [README.md]` rewrites the table between the README's
`<!-- tools:start -->` and `<!-- tools:end -->` markers; a test checks it is up to date.
`python -m mosaic_mcp.tools.catalogue --schemas` rewrites `tools/schemas.json`, the tools' JSON schemas
built once per release (`_schemas.py`); a test checks that too.
"""

import json
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import anyio
from mcp.server import MCPServer

from ..server import consent
from ..server.config import TOOLSETS, Settings
from ..server.runtime import Runtime
from . import build_tools
from ._registry import ToolInfo
from ._schemas import SCHEMAS_FILE, derived

log = logging.getLogger("mosaic_mcp.catalogue")

START, END = "<!-- tools:start -->", "<!-- tools:end -->"

ENDPOINT_TOOLS: dict[str, str] = {
    "GET /whoami": "whoami",
    "POST /agent/create": "create_agent",
    "GET /agents": "list_agents",
    "GET /agent/{agent_id}": "get_agent",
    "POST /agent/{agent_id}/update": "update_agent",
    "POST /agent/{agent_id}/duplicate": "duplicate_agent",
    "POST /agent/{agent_id}/delete": "delete_agent",
    "GET /node_types": "list_node_types",
    "GET /node_type/{node_type_id}": "get_node_type",
    "GET /agent_nodes/{agent_node_id}": "get_agent_node",
    "POST /agent/{agent_id}/run": "run_agent",
    "GET /agent_run/{run_id}": "poll_job",
    "GET /agent_run/{run_id}/nodes": "get_run_nodes",
    "GET /agent/{agent_id}/runs": "list_runs",
    "GET /agent_runs": "list_runs",
    "GET /trigger/{trigger_id}/runs": "list_runs",
    "POST /agent_run/{run_id}/cancel": "cancel_job",
    "POST /agent_run/{run_id}/resume": "resume_run",
    "GET /agent_run/{run_id}/progress": "get_run_progress",
    "GET /agent/{agent_id}/triggers": "list_triggers",
    "POST /agent/{agent_id}/triggers/add_youtube_channels": "add_youtube_channels",
    "POST /agent/{agent_id}/triggers/remove_youtube_channels": "remove_youtube_channels",
    "POST /uploads/video/get_upload_url": "upload_file",
    "POST /uploads/video/finalize_upload": "upload_file",
    "POST /uploads/audio/get_upload_url": "upload_file",
    "POST /uploads/audio/finalize_upload": "upload_file",
    "POST /uploads/image/get_upload_url": "upload_file",
    "POST /uploads/image/finalize_upload": "upload_file",
    "POST /uploads/get_view_url": "get_asset_view_url",
    "POST /avatar-profiles/create": "create_avatar_profile",
    "GET /avatar-profiles": "list_avatar_profiles",
    "GET /avatar-profiles/{avatar_profile_id}": "get_avatar_profile",
    "GET /credits": "check_credits",
    "GET /credits/usage": "get_credit_usage",
    "POST /credits/settings": "update_credit_settings",
    "POST /credits/buy": "buy_credits",
    "GET /plan": "get_plan",
    "GET /plan/list": "list_plans",
    "POST /plan/upgrade": "upgrade_plan",
    "POST /social/connections": "connect_social_account",
    "GET /social/connections": "list_social_connections",
    "GET /social/connections/{social_connection_id}": "get_social_connection",
    "DELETE /social/connections/{social_connection_id}": "delete_social_connection",
    "POST /social/post": "create_social_post",
    "GET /social/posts": "list_social_posts",
    "GET /social/post/{post_id}": "get_social_post",
    "GET /social/post/{post_id}/analytics": "get_social_post",
    "GET /social/post/{post_id}/comments": "get_social_post",
    "PATCH /social/post/{post_id}": "update_social_post",
    "DELETE /social/post/{post_id}": "delete_social_post",
    "GET /social/post/track/{tracking_id}": "track_social_post",
    "GET /storage_triggers": "list_storage_triggers",
    "GET /storage_trigger/{trigger_id}/folders": "list_watched_folders",
    "GET /storage_trigger/{trigger_id}/events": "list_storage_events",
    "GET /automations/runs": "list_automation_runs",
    "GET /automations/ingest-batches": "list_ingest_batches",
}
"""Every endpoint of the Mosaic API (reference section 2.0) → the tool that calls it."""


ASKS_ONLY: dict[str, str] = {
    "update_credit_settings": "to turn it on",
    "update_social_post": "to approve, unpause or reschedule",
}
"""Consent-needing tools that ask only for some calls (the rest of their calls change nothing that
costs money or gets published); tests/toolsets/test_consent.py checks both sides."""


def full_catalogue() -> tuple[list[ToolInfo], dict[str, consent.Kind]]:
    """Every tool (all toolsets), and for those that ask the user before acting, the kind of action
    that MOSAIC_MCP_ALLOW_WITHOUT_PROMPT must name for a client that cannot ask (read from `confirm`)."""
    registered = build_tools(Settings(MOSAIC_MCP_TOOLSETS="all"))
    server: MCPServer[Runtime] = MCPServer("catalogue", tools=registered.tools)
    catalogue = registered.catalogue
    tools = anyio.run(server.list_tools)
    asks: dict[str, consent.Kind] = {}
    for tool in tools:
        confirm = tool.input_schema.get("properties", {}).get("confirm")
        if confirm is not None:
            kind = consent.kind_of(confirm.get("description"))
            if kind is None:
                raise ValueError(f"{tool.name}: its confirm parameter is not one of tools/_common.py's Confirm types")
            asks[tool.name] = kind
    return catalogue, asks


def render(catalogue: Sequence[ToolInfo], asks: Mapping[str, str] | None = None) -> str:
    """The Markdown table: toolset, tool, spends credits or money, read-only, asks the user first
    (and, else, which kind MOSAIC_MCP_ALLOW_WITHOUT_PROMPT must name)."""
    asks = asks or {}
    rows = sorted(catalogue, key=lambda t: TOOLSETS.index(t.toolset))
    lines = [
        "| toolset | tool | spends credits / money | read-only | asks the user first (else needs) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for tool in rows:
        lines.append(
            f"| {tool.toolset} | `{tool.name}` | {_yes(tool.spends_credits)} | {_yes(tool.read_only)} "
            f"| {_asks(tool.name, asks)} |"
        )
    return "\n".join(lines)


def _asks(name: str, asks: Mapping[str, str]) -> str:
    if name not in asks:
        return "—"
    return f"{ASKS_ONLY.get(name, 'yes')} (else `{asks[name]}` + `confirm`)"


def replace_table(readme: str, table: str) -> str:
    """The README text with the table between the markers replaced."""
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"README has no {START} … {END} section")
    return f"{head}{START}\n{table}\n{END}{tail}"


def readme_table(readme: str) -> str:
    """The table currently between the README's markers."""
    return readme.partition(START)[2].partition(END)[0].strip()


def _yes(flag: bool) -> str:
    return "yes" if flag else "—"


def release_schemas_text() -> str:
    """What `tools/schemas.json` must hold: every tool's schemas (all toolsets), derived from the code."""
    every = build_tools(Settings(MOSAIC_MCP_TOOLSETS="all"), schemas={}).tools
    return json.dumps(derived(every), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the README's tool table (path: first argument, default README.md); with `--schemas`,
    `tools/schemas.json` instead."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--schemas"]:
        SCHEMAS_FILE.write_text(release_schemas_text(), encoding="utf-8")
        sys.stderr.write(f"wrote the tools' schemas to {SCHEMAS_FILE}\n")
        return 0
    path = Path(args[0] if args else "README.md")
    table = render(*full_catalogue())
    path.write_text(replace_table(path.read_text(encoding="utf-8"), table), encoding="utf-8")
    sys.stderr.write(f"updated the tool table in {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

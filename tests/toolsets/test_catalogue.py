"""Toolsets: the default stays small, read-only hides every change, and all of them cover the API."""

from collections.abc import Mapping
from pathlib import Path
from typing import get_type_hints

import pytest
from mcp import Client
from starlette.routing import Route

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import TOOLSETS, ConfigurationError, Settings, Toolset, load_settings
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, create_app
from mosaic_mcp.tools import ToolInfo
from mosaic_mcp.tools._registry import READ, Registrar
from mosaic_mcp.tools.catalogue import ENDPOINT_TOOLS, full_catalogue, readme_table, render

from ..support import sandbox_settings

pytestmark = pytest.mark.anyio

CORE = {
    "create_video_session", "followup_video_session", "run_agent", "poll_job", "list_jobs", "cancel_job",
    "list_agents", "get_agent", "list_node_types", "check_credits", "upload_file", "download_output",
    "refresh_job_card",  # app-only: the job card calls it (issue 11)
}  # fmt: skip
README = Path(__file__).resolve().parents[2] / "README.md"


async def tool_names(client: Client) -> dict[str, bool]:
    """Registered tools and whether each says it is read-only."""
    return {t.name: bool(t.annotations and t.annotations.read_only_hint) for t in (await client.list_tools()).tools}


async def test_default_toolset_is_the_core_set(served: RunningSandbox, home: Path, mode: str) -> None:
    """Without MOSAIC_MCP_TOOLSETS only the core tools are listed."""
    settings = sandbox_settings(served, home / "default", toolsets=None)
    async with Client(create_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        assert set(await tool_names(client)) == CORE


async def test_named_toolset_adds_only_its_tools(served: RunningSandbox, home: Path, mode: str) -> None:
    """MOSAIC_MCP_TOOLSETS=runs adds the run tools to core and nothing else."""
    settings = sandbox_settings(served, home / "runs", toolsets="runs")
    async with Client(create_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        names = set(await tool_names(client))
    assert names - CORE == {"list_runs", "get_run_nodes", "get_run_progress", "resume_run", "list_automation_runs"}


async def test_read_only_registers_nothing_that_changes(served: RunningSandbox, home: Path, mode: str) -> None:
    """MOSAIC_MCP_READ_ONLY with every toolset: every listed tool is read-only, and reads remain."""
    settings = sandbox_settings(served, home / "ro", toolsets="all", read_only=True)
    async with Client(create_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        tools = await tool_names(client)
    assert all(tools.values())
    assert {"whoami", "list_runs", "get_plan", "poll_job"} <= set(tools)
    assert not {"run_agent", "buy_credits", "delete_agent", "create_social_post"} & set(tools)


def sandbox_endpoints() -> set[str]:
    """Every Mosaic endpoint the sandbox serves (it follows reference section 2.0), one per method."""
    found: set[str] = set()
    for route in create_app(Sandbox()).routes:
        if not isinstance(route, Route) or route.path.startswith(("/_sandbox", "/api/motion")):
            continue
        for method in route.methods or ():
            paths = [route.path.replace("{kind}", k) for k in ("video", "audio", "image")]
            found |= {f"{method} {p}" for p in paths if method != "HEAD"}
    aliases = {"PATCH /agent/{agent_id}/update", "DELETE /agent/{agent_id}/delete"}  # same as POST
    return found - aliases


@pytest.fixture(scope="module")
def catalogue() -> tuple[list[ToolInfo], Mapping[str, str]]:
    """The whole catalogue (built once: it registers every tool)."""
    return full_catalogue()


def test_every_endpoint_has_a_registered_tool(catalogue: tuple[list[ToolInfo], Mapping[str, str]]) -> None:
    """Each endpoint of reference 2.0 (and of the sandbox) maps to a tool registered with `all`."""
    assert len(ENDPOINT_TOOLS) == 56  # rows 1–55; row 55 names two paths; uploads per type
    assert sandbox_endpoints() == set(ENDPOINT_TOOLS)
    registered = {t.name for t in catalogue[0]}
    assert set(ENDPOINT_TOOLS.values()) <= registered


def test_catalogue_is_truthful(catalogue: tuple[list[ToolInfo], Mapping[str, str]]) -> None:
    """Money tools are marked as spending and not read-only; list tools as read-only; each consent tool's kind."""
    info = {t.name: t for t in catalogue[0]}
    asks = catalogue[1]
    for name in ("buy_credits", "upgrade_plan", "run_agent", "resume_run"):
        assert info[name].spends_credits
        assert not info[name].read_only
    assert info["list_runs"].read_only
    assert not info["list_runs"].spends_credits
    assert asks == {
        "buy_credits": "payments", "upgrade_plan": "payments", "update_credit_settings": "payments",
        "create_social_post": "publishing", "update_social_post": "publishing",
        "delete_agent": "deleting", "delete_social_post": "deleting", "delete_social_connection": "deleting",
    }  # fmt: skip


def test_readme_table_is_current(catalogue: tuple[list[ToolInfo], Mapping[str, str]]) -> None:
    """The README's tool table equals the rendered catalogue (python -m mosaic_mcp.tools.catalogue)."""
    assert readme_table(README.read_text(encoding="utf-8")) == render(*catalogue)


def test_every_toolset_has_a_tool_and_every_tool_a_known_toolset(
    catalogue: tuple[list[ToolInfo], Mapping[str, str]],
) -> None:
    """The catalogue's toolsets are exactly the settings' list: none empty, none outside it."""
    assert {t.toolset for t in catalogue[0]} == set(TOOLSETS)


def test_a_tool_declared_under_an_unknown_toolset_is_refused_at_registration() -> None:
    """A typo in toolset= raises when the tool is declared (naming the valid ones), and registers nothing."""
    tools = Registrar(Settings(MOSAIC_MCP_TOOLSETS="all"))

    async def list_things() -> str:
        """A tool with a typo in its toolset."""
        return "things"

    refusal = r"list_things: toolset 'run' is not a toolset; choose from core, agents, runs,"
    with pytest.raises(ValueError, match=refusal):
        tools.tool(toolset="run", annotations=READ, title="List things")(list_things)  # type: ignore[arg-type]
    assert tools.catalogue == []
    assert tools.tools == []


def test_the_toolset_parameter_is_typed_with_the_toolsets() -> None:
    """Registrar.tool's toolset is the `Toolset` type, so mypy --strict refuses a typo before any test runs."""
    assert get_type_hints(Registrar.tool)["toolset"] == Toolset


def test_an_unknown_toolset_setting_is_a_configuration_error_naming_the_valid_ones() -> None:
    """MOSAIC_MCP_TOOLSETS=core,videos is refused with the unknown name and every valid one."""
    with pytest.raises(ConfigurationError) as refused:
        load_settings(toolsets="core,videos")
    message = str(refused.value)
    assert "MOSAIC_MCP_TOOLSETS" in message
    assert "unknown toolset(s) videos" in message
    assert f"choose from {', '.join(TOOLSETS)} or 'all'" in message


def test_toolset_names_in_the_setting_ignore_case_and_all_means_every_one() -> None:
    """MOSAIC_MCP_TOOLSETS=Core,RUNS enables core and runs; ALL enables every toolset; empty means core."""
    assert load_settings(toolsets="Core,RUNS").enabled_toolsets == {"core", "runs"}
    assert load_settings(toolsets="ALL").enabled_toolsets == set(TOOLSETS)
    assert load_settings(toolsets="").enabled_toolsets == {"core"}

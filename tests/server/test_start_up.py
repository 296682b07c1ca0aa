"""A fast start that loses nothing: only the enabled toolsets' modules load, tools/list's lean schemas are
built once yet follow a changed tool, and `serve` turns garbage collection back on once it is built."""

import gc
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mcp import Client

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.cli import _start_up
from mosaic_mcp.server.config import load_settings

pytestmark = pytest.mark.anyio

OPTIONAL_MODULES = {
    f"mosaic_mcp.tools.{name}"
    for name in ("agent_admin", "runs", "assets", "avatars", "triggers", "social", "account_admin")
}

LOADED = textwrap.dedent(
    """
    import json, sys
    from mosaic_mcp.server.app import create_server
    from mosaic_mcp.server.config import load_settings
    settings = load_settings(mosaic_api_key="mk_x", motion_api_key="motion_x", home=sys.argv[1], toolsets=sys.argv[2])
    names = [t.name for t in create_server(settings)._tool_manager.list_tools()]
    print(json.dumps({"modules": sorted(m for m in sys.modules if m.startswith("mosaic_mcp")), "tools": names}))
    """
)


def loaded(tmp_path: Path, toolsets: str) -> dict[str, list[str]]:
    """Our modules a fresh interpreter has loaded after create_server, and the tools it registered."""
    out = subprocess.run(
        [sys.executable, "-c", LOADED, str(tmp_path / "home"), toolsets],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(out.stdout.splitlines()[-1]))


def test_default_toolsets_load_no_optional_tool_module(tmp_path: Path) -> None:
    """With the default toolsets no optional toolset's module, the sandbox or the HTTP transport is imported."""
    found = loaded(tmp_path, "core")
    modules = set(found["modules"])
    assert modules & OPTIONAL_MODULES == set()
    assert not any(m.startswith(("mosaic_mcp.server.sandbox", "mosaic_mcp.server.serve_http")) for m in modules)
    assert "list_jobs" in found["tools"] and "create_social_post" not in found["tools"]


SERVED = textwrap.dedent(
    """
    import json, sys, anyio
    from mosaic_mcp.server.app import create_server
    from mosaic_mcp.server.config import load_settings
    server = create_server(load_settings(mosaic_api_key="mk_x", motion_api_key="motion_x", home=sys.argv[1]))
    async def serve_once():
        async with server.settings.lifespan(server):
            pass
    anyio.run(serve_once)
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("psycopg", "psycopg_pool"))))
    """
)


def test_a_server_on_sqlite_never_loads_the_postgresql_driver(tmp_path: Path) -> None:
    """Without a database URL, building and serving (journal, poller, leases) never loads psycopg (~55 ms of start)."""
    pytest.importorskip("psycopg", reason="needs psycopg installed to show it is not loaded: pip install -e '.[dev]'")
    out = subprocess.run(
        [sys.executable, "-c", SERVED, str(tmp_path / "home")], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_an_enabled_toolset_loads_its_module(tmp_path: Path) -> None:
    """Enabling one optional toolset loads exactly its module and registers its tools after the core ones."""
    found = loaded(tmp_path, "social")
    assert set(found["modules"]) & OPTIONAL_MODULES == {"mosaic_mcp.tools.social"}
    assert found["tools"].index("create_social_post") > found["tools"].index("list_jobs")


async def test_tools_list_follows_a_changed_tool(tmp_path: Path) -> None:
    """A tool replaced after the first tools/list is listed with its new schema (the lean-schema cache follows it)."""
    settings = load_settings(mosaic_api_key="mk_x", motion_api_key="motion_x", home=tmp_path / "home")
    server = create_server(settings)
    async with Client(server) as client:
        first = {t.name: t for t in (await client.list_tools()).tools}
        assert "limit" in first["list_jobs"].input_schema["properties"]

        async def list_jobs(only_this: str) -> str:
            """A stand-in."""
            return only_this

        server.remove_tool("list_jobs")
        server.add_tool(list_jobs)
        again = {t.name: t for t in (await client.list_tools()).tools}
    schema = again["list_jobs"].input_schema
    assert set(schema["properties"]) == {"only_this"} and schema["additionalProperties"] is False
    assert "title" not in schema["properties"]["only_this"]  # still the lean form


def test_start_up_turns_garbage_collection_back_on() -> None:
    """While `serve` builds the server no cyclic collection runs; afterwards it is on again, even after an error."""
    assert gc.isenabled()
    seen: list[bool] = []

    def failing_build() -> None:
        with _start_up():
            seen.append(gc.isenabled())
            raise RuntimeError("the build failed")

    try:
        with pytest.raises(RuntimeError):
            failing_build()
        assert gc.isenabled()
        with _start_up():
            seen.append(gc.isenabled())
        assert gc.isenabled()
    finally:
        gc.unfreeze()
    assert seen == [False, False]

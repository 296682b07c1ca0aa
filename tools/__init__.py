"""MCP tools of mosaic-mcp, one module per domain. Tools are thin: validate, call, shape."""

from mcp.server import MCPServer

from ..server.config import Settings
from ..server.runtime import Runtime
from . import (
    account,
    account_admin,
    agent_admin,
    agents,
    assets,
    avatars,
    card,
    files,
    jobs,
    motion,
    runs,
    social,
    triggers,
)
from ._registry import Registrar, ToolInfo

__all__ = ["ToolInfo", "register_tools"]


def register_tools(server: MCPServer[Runtime], settings: Settings) -> list[ToolInfo]:
    """Register every enabled tool on `server`; returns the whole catalogue (enabled or not)."""
    registrar = Registrar(server, settings)
    core = (motion, agents, jobs, card, files, account)
    for module in (*core, agent_admin, runs, assets, avatars, triggers, social, account_admin):
        module.register(registrar)
    return registrar.catalogue

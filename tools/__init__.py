"""MCP tools of mosaic-mcp, one module per domain. Tools are thin: validate, call, shape."""

from ..server.app import MosaicServer
from ..server.config import Settings
from . import account, agents, jobs, motion
from ._registry import Registrar, ToolInfo

__all__ = ["ToolInfo", "register_tools"]


def register_tools(server: MosaicServer, settings: Settings) -> list[ToolInfo]:
    """Register every enabled tool on `server`; returns the whole catalogue (enabled or not)."""
    registrar = Registrar(server, settings)
    for module in (motion, agents, jobs, account):
        module.register(registrar)
    return registrar.catalogue

"""MCP tools of mosaic-mcp, one module per domain. Tools are thin: validate, call, shape.

Only the enabled toolsets' modules are imported (`_modules`): a toolset left off costs no import,
no schema and no registration at start-up.
"""

from types import ModuleType

from ..server.config import TOOLSETS, Settings, Toolset
from . import account, agents, card, files, jobs, motion
from ._registry import Registrar, ToolInfo
from ._schemas import Schemas

__all__ = ["Registrar", "ToolInfo", "build_tools"]


def build_tools(settings: Settings, schemas: Schemas | None = None) -> Registrar:
    """Every enabled tool (`.tools`, for the server) and the catalogue of the enabled toolsets (`.catalogue`:
    with `all`, every tool; a tool read-only mode leaves out is listed as not registered).

    `schemas` are the tools' JSON schemas (default: those built for this release, `_schemas.py`); `{}`
    derives every one from its code, as the SDK's `add_tool` would."""
    registrar = Registrar(settings, schemas)
    for toolset in TOOLSETS:  # the README table's order, which is also tools/list's
        if toolset in settings.enabled_toolsets:
            for module in _modules(toolset):
                module.register(registrar)
    return registrar


def _modules(toolset: Toolset) -> tuple[ModuleType, ...]:
    """The tool modules of one toolset; those of the optional toolsets are imported here, when enabled."""
    if toolset == "core":
        return (motion, agents, jobs, card, files, account)
    if toolset == "agents":
        from . import agent_admin  # lazy: a toolset's module loads only when the toolset is enabled

        return (agent_admin,)
    if toolset == "runs":
        from . import runs  # lazy: a toolset's module loads only when the toolset is enabled

        return (runs,)
    if toolset == "assets":
        from . import assets  # lazy: a toolset's module loads only when the toolset is enabled

        return (assets,)
    if toolset == "avatars":
        from . import avatars  # lazy: a toolset's module loads only when the toolset is enabled

        return (avatars,)
    if toolset == "triggers":
        from . import triggers  # lazy: a toolset's module loads only when the toolset is enabled

        return (triggers,)
    if toolset == "social":
        from . import social  # lazy: a toolset's module loads only when the toolset is enabled

        return (social,)
    from . import account_admin  # lazy: a toolset's module loads only when the toolset is enabled

    return (account_admin,)

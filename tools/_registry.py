"""How tools are declared: toolset, truthful annotations, and one error translation for all.

Every tool is declared through `Registrar.tool`, which registers it only when its toolset is
enabled (and, in read-only mode, only when it changes nothing), records it in the catalogue the
README's table is checked against, and turns our errors into `ToolError` messages the model can
act on — never a traceback, never a secret. An input error from the API layer names the API's
field; `in_tool_terms` renames it to the tool's own parameter (`API_NAMES`, the one mapping).
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations

from ..server import redact
from ..server.api.deadline import MARGIN, call_deadline
from ..server.api.errors import InvalidInputError, MosaicMCPError
from ..server.config import TOOLSETS, Settings, Toolset
from ..server.jobs.service import JobError
from ..server.runtime import Runtime
from ._schemas import Schemas, build_tool, release_schemas

log = logging.getLogger("mosaic_mcp.tools")

P = ParamSpec("P")
R = TypeVar("R")

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
"""Reads from a service; changes nothing."""
LOCAL_READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
"""Reads this server's own journal only."""
SPEND = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
"""Creates something upstream (a job, an upload…) and may spend credits."""
CHANGE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
"""Changes settings upstream; repeating it changes nothing more."""
CREATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
"""Creates something upstream without spending credits; repeating it creates another."""
EDIT = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)
"""Edits something upstream in ways that can remove parts of it."""
WRITE_LOCAL = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
"""Reads from a service and writes local files; repeating it changes nothing more."""
DESTROY = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
"""Stops or deletes something upstream."""


API_NAMES = {
    "from": "from_date",
    "to": "to_date",
    "cid": "social_connection_id",
    "run_id": "job_id",
    "trigger_callback_url": "callback_url",
}
"""API field (or client argument) → the tool parameter that carries it, where the names differ.

Used only when the tool has that parameter and not the API's name: get_run_nodes keeps its run_id,
poll_job's job_id is named for it. Containers the tools flatten (`auto_topup.threshold`,
`filter_options.duration.min_seconds`, `sources.video_url`) are dropped by `tool_field` itself.
"""

_HEAD = re.compile(r"[^.\[]+")


def tool_field(field: str, parameters: Collection[str]) -> str:
    """An API-layer field path in a tool's own terms: `from` → `from_date`, `auto_topup.threshold` → `threshold`."""
    head = _HEAD.match(field)
    if head is None or head.group() in parameters:
        return field
    renamed = API_NAMES.get(head.group())
    if renamed in parameters:
        return f"{renamed}{field[head.end() :]}"
    parts = field.split(".")
    for i in range(1, len(parts)):
        tail = ".".join(parts[i:])
        if (inner := _HEAD.match(tail)) is not None and inner.group() in parameters:
            return tail
    return field


def in_tool_terms(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Re-raise input errors from below with the field named as this tool's parameter."""
    parameters = frozenset(inspect.signature(fn).parameters)

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except InvalidInputError as exc:
            field = tool_field(exc.field, parameters)
            if field == exc.field:
                raise
            raise InvalidInputError(field, exc.rule) from None

    return call


@dataclass(frozen=True)
class ToolInfo:
    """One tool as the catalogue lists it."""

    name: str
    toolset: Toolset
    spends_credits: bool
    read_only: bool
    registered: bool


class Registrar:
    """Builds the tools the settings' toolsets and read-only mode enable (the server takes them as `tools`)."""

    def __init__(self, settings: Settings, schemas: Schemas | None = None) -> None:
        self.settings = settings
        self.schemas = release_schemas() if schemas is None else schemas
        """Schemas built once per release (`_schemas.py`); `{}` derives every tool's from its code."""
        self.tools: list[Tool] = []
        """The enabled tools, in declaration order (the server's `tools`)."""
        self.catalogue: list[ToolInfo] = []

    def tool(
        self,
        *,
        toolset: Toolset,
        annotations: ToolAnnotations,
        title: str,
        spends_credits: bool = False,
        meta: dict[str, Any] | None = None,
        local_only: bool = False,
    ) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
        """Declare a tool; its docstring is the description the model reads; `meta` is its `_meta`.

        A `toolset` that is not one of `Toolset` raises here, at registration: a typo would otherwise
        register the tool under no setting, not even `all`. A `local_only` tool reads or writes this
        computer's disk: a remote server (MOSAIC_MCP_AUTH keys or oauth) does not register it.
        """

        def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            if toolset not in TOOLSETS:
                raise ValueError(
                    f"tool {fn.__name__}: toolset {toolset!r} is not a toolset; "
                    f"choose from {', '.join(TOOLSETS)} (server/config.py Toolset)"
                )
            read_only = bool(annotations.read_only_hint)
            enabled = toolset in self.settings.enabled_toolsets and (read_only or not self.settings.read_only)
            enabled = enabled and not (local_only and self.settings.remote)
            self.catalogue.append(ToolInfo(fn.__name__, toolset, spends_credits, read_only, enabled))
            wrapped = translate_errors(in_tool_terms(fn), time_limit=self.settings.max_wait_seconds + MARGIN)
            if enabled:
                self.tools.append(
                    build_tool(
                        wrapped,
                        name=fn.__name__,
                        title=title,
                        description=description(fn),
                        annotations=annotations,
                        meta=meta,
                        schemas=self.schemas,
                    )
                )
            return wrapped

        return decorate


def description(fn: Callable[..., Any]) -> str:
    """The tool's description: its docstring without the source's indentation.

    Python 3.13 strips a docstring's common indentation when compiling, 3.11 and 3.12 keep it; cleaning
    it here makes the text a model reads (and the pinned tool list) the same on every version.
    """
    return inspect.cleandoc(fn.__doc__ or "")


def translate_errors(fn: Callable[P, Awaitable[R]], time_limit: float | None = None) -> Callable[P, Awaitable[R]]:
    """Turn our exceptions into ToolError text (keys scrubbed); anything else stays a masked internal error.

    With `time_limit`, the call runs under that deadline (see server/api/deadline.py).
    """

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with call_deadline(time_limit):
                return await fn(*args, **kwargs)
        except ToolError:
            raise
        except (MosaicMCPError, JobError) as exc:
            raise ToolError(redact.scrub(str(exc))) from None
        except Exception:
            log.exception("tool %s failed unexpectedly", fn.__name__)
            raise

    return call


def runtime(ctx: Context[Runtime, Any]) -> Runtime:
    """The runtime for this request: the lifespan's, or in remote modes that of the person it acts for."""
    return ctx.request_context.lifespan_context.for_request()

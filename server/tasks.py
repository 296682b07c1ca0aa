"""MCP tasks (`io.modelcontextprotocol/tasks`, SEP-2663): the jobs we already follow, as tasks.

A thin extension on the SDK's hooks (`mcp.server.extension.Extension`). When a 2026-07-28 request
to a job-starting tool declares the extension in its capabilities, the tool runs exactly as
always, and the job handle it returned is answered as a task instead (`resultType: "task"`):
the task id *is* the job id, and `tasks/get` reads the job from the same journal and poller as
`poll_job` and the job resources, inlining the final `CallToolResult` once the job settles (its
structured content is the tool's own `JobHandle`, so it matches the tool's output schema).
Every other request — no extension declared, a 2025-era connection, any other tool, a tool
error — is answered as before. Nothing is stored for a task beyond the job itself, so tasks
survive a restart like the jobs do.

Not offered: `notifications/tasks` (clients poll; a listen stream for the job's resource gives
pushes), and the 2025-11-25 experimental tasks (`params.task`), which `mcp` 2.3 does not route.
"""

import logging
from typing import Any, cast

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, CallToolRequestParams, CallToolResult, RequestParams, TextContent
from mcp.types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field

from ..tools.handles import JobHandle
from .api.errors import APIError
from .jobs.clock import iso_utc
from .jobs.journal import JobRecord
from .jobs.service import JobError
from .runtime import Runtime

log = logging.getLogger("mosaic_mcp.tasks")

EXTENSION_ID = "io.modelcontextprotocol/tasks"
JOB_TOOLS = frozenset({"run_agent", "create_video_session", "followup_video_session"})
"""The tools whose call a task stands for: each starts one job and returns its handle."""

DEFAULT_POLL_MS = 5000
CANCELLED_STATUSES = frozenset({"cancelled", "canceled"})


class TaskParams(RequestParams):
    """`tasks/get`, `tasks/cancel`: the task to act on."""

    task_id: str = Field(min_length=1, max_length=200)


class TaskUpdateParams(TaskParams):
    """`tasks/update`: answers to input requests (our tasks never ask for any)."""

    input_responses: dict[str, Any] = Field(default_factory=dict)


def opted_in(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request may be answered with a task: 2026-07-28 and the extension declared on it."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        return False
    capabilities = ctx.session.client_capabilities
    return bool(capabilities and capabilities.extensions and EXTENSION_ID in capabilities.extensions)


class Tasks(Extension):
    """Job-starting tool calls answered as tasks to clients that ask; `tasks/get|update|cancel`."""

    identifier = EXTENSION_ID

    def methods(self) -> list[MethodBinding]:
        """The three SEP-2663 methods, on the 2026-07-28 wire only (a 2025 client gets method-not-found)."""
        modern = frozenset(MODERN_PROTOCOL_VERSIONS)
        return [
            MethodBinding("tasks/get", TaskParams, self._get, protocol_versions=modern),
            MethodBinding("tasks/update", TaskUpdateParams, self._update, protocol_versions=modern),
            MethodBinding("tasks/cancel", TaskParams, self._cancel, protocol_versions=modern),
        ]

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """Run the tool as always; a started job becomes a task for a client that opted in."""
        result = await call_next(ctx)
        if params.name not in JOB_TOOLS or not opted_in(ctx):
            return result
        if not isinstance(result, CallToolResult) or result.is_error or not result.structured_content:
            return result  # refused before anything started, or still asking (input_required)
        record = await _runtime(ctx).jobs.tracked(str(result.structured_content.get("job_id", "")))
        if record is None:
            return result
        return {"resultType": "task", **task_of(record)}

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        return task_of(await _task(ctx, params.task_id))

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: TaskUpdateParams) -> dict[str, Any]:
        await _task(ctx, params.task_id)  # nothing is ever outstanding: responses are ignored (SEP-2663)
        return {}

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        record = await _task(ctx, params.task_id)
        try:
            await _runtime(ctx).jobs.cancel(record.job_id)
        except JobError as refused:  # a Motion session: the API cannot cancel one
            raise MCPError(code=INVALID_PARAMS, message=f"taskId: {refused}") from None
        except APIError as failed:
            raise MCPError(code=INTERNAL_ERROR, message=f"Failed to cancel task: {failed}") from None
        return {}


def task_of(record: JobRecord) -> dict[str, Any]:
    """The SEP-2663 `DetailedTask` of a job (camelCase wire form)."""
    snap = record.snapshot
    status = _task_status(record)
    task: dict[str, Any] = {
        "taskId": record.job_id,
        "status": status,
        "statusMessage": _status_message(record),
        "createdAt": iso_utc(record.created_at),
        "lastUpdatedAt": iso_utc(max(record.updated_at, record.created_at)),
        "ttlMs": None,  # jobs stay in the journal: tasks do not expire
    }
    if not snap.settled:
        wait = snap.next_poll_after_seconds
        task["pollIntervalMs"] = round(wait * 1000) if wait else DEFAULT_POLL_MS
    if status == "completed":
        task["result"] = final_result(record).model_dump(by_alias=True, mode="json", exclude_none=True)
    return task


def final_result(record: JobRecord) -> CallToolResult:
    """What the tool call ends as: the settled job's handle, and its snapshot (as poll_job shows it) as text."""
    snap = record.snapshot
    handle = JobHandle.of(record).model_copy(update={"next_step": snap.next_step})
    return CallToolResult(
        content=[TextContent(type="text", text=snap.model_dump_json(indent=2))],
        structured_content=handle.model_dump(mode="json"),
        is_error=snap.status != "completed",
    )


def _task_status(record: JobRecord) -> str:
    snap = record.snapshot
    if not snap.settled:
        return "working"  # even when waiting for a person in the Motion web app: the API cannot ask
    return "cancelled" if snap.status.lower() in CANCELLED_STATUSES else "completed"


def _status_message(record: JobRecord) -> str:
    snap = record.snapshot
    what = "Mosaic run" if record.kind == "mosaic_run" else "Motion session"
    said = f": {snap.status_message}" if snap.status_message else ""
    return f"{what} {snap.status}{said}"[:500]


async def _task(ctx: ServerRequestContext[Any, Any], task_id: str) -> JobRecord:
    record = await _runtime(ctx).jobs.tracked(task_id)
    if record is None:
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"Failed to retrieve task: no task '{task_id[:200]}' (task ids are the job ids this server tracks)",
        )
    return record


def _runtime(ctx: ServerRequestContext[Any, Any]) -> Runtime:
    return cast("Runtime", ctx.lifespan_context).for_request()

"""MCP tasks (SEP-2663): a client that declares the extension gets a task for each job-starting tool and
follows it with tasks/get to the tool's final result; every other client sees today's inline handle."""

import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
import pytest
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, METHOD_NOT_FOUND, CallToolResult, Request, RequestParams, Result, TextContent
from pydantic import ConfigDict

from mosaic_mcp.server.app import MosaicServer
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.tasks import EXTENSION_ID

from ..support import RUN, SESSIONS, VIDEO, call_ok, sent, text_of
from .test_core_tools import follow

pytestmark = pytest.mark.anyio

RUN_ARGS = {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}


class TaskParams(RequestParams):
    task_id: str


class TaskRequest(Request[TaskParams, str]):
    name_param = "taskId"


class TaskResult(Result):
    """A SEP-2663 task as the wire carries it (`CreateTaskResult` or `tasks/get`'s `DetailedTask`)."""

    model_config = ConfigDict(extra="allow")
    result_type: Literal["task", "complete"] = "complete"
    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    poll_interval_ms: int | None = None
    result: dict[str, Any] | None = None


class CreatedTask(TaskResult):
    result_type: Literal["task"] = "task"


async def task_request(client: Client, method: str, task_id: str) -> TaskResult:
    """Send tasks/get or tasks/cancel (cancel's empty ack parses as a bare Result)."""
    request = TaskRequest(method=method, params=TaskParams(task_id=task_id))
    if method == "tasks/get":
        return await client.session.send_request(request, TaskResult)
    await client.session.send_request(request, Result)
    return await task_request(client, "tasks/get", task_id)


class TasksClient(ClientExtension):
    """A client side of the extension: record each task, poll tasks/get until it is terminal."""

    identifier = EXTENSION_ID

    def __init__(self) -> None:
        self.created: list[CreatedTask] = []
        self.polls: list[TaskResult] = []

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self.resolve)]

    async def resolve(self, task: CreatedTask, ctx: ClaimContext) -> CallToolResult:
        self.created.append(task)
        request = TaskRequest(method="tasks/get", params=TaskParams(task_id=task.task_id))
        with anyio.fail_after(30):
            while True:
                seen = await ctx.session.send_request(request, TaskResult)
                self.polls.append(seen)
                if seen.status != "working":
                    break
                await anyio.sleep(0.05)  # real time: the sandbox clock runs at 300x
        assert seen.status == "completed" and seen.result is not None, seen
        return CallToolResult.model_validate(seen.result, by_name=False)


@pytest.fixture
async def tasks_client(server: MosaicServer) -> AsyncIterator[tuple[Client, TasksClient]]:
    """A 2026-07-28 client that declares the tasks extension."""
    extension = TasksClient()
    async with Client(server, mode="auto", extensions=[extension]) as client:
        yield client, extension


async def test_the_extension_is_advertised(tasks_client: tuple[Client, TasksClient]) -> None:
    """server/discover lists io.modelcontextprotocol/tasks among the server's extensions."""
    client, _ = tasks_client
    assert EXTENSION_ID in (client.server_capabilities.extensions or {})


async def test_run_agent_becomes_a_task_followed_to_its_result(
    tasks_client: tuple[Client, TasksClient], served: RunningSandbox
) -> None:
    """run_agent answers with a task (id = job id); tasks/get follows it to the settled run's handle."""
    client, tasks = tasks_client
    result = await client.call_tool("run_agent", RUN_ARGS)
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
    created = tasks.created[0]
    assert (created.result_type, created.status, created.ttl_ms) == ("task", "working", None)
    assert created.poll_interval_ms and created.poll_interval_ms > 0
    assert tasks.polls[0].status == "working" and tasks.polls[-1].status == "completed"
    assert not result.is_error
    handle = result.structured_content
    assert handle is not None
    assert handle["job_id"] == created.task_id and handle["status"] == "completed"
    snapshot = json.loads(text_of(result))
    assert snapshot["job_id"] == created.task_id and snapshot["outputs"]
    again = await call_ok(client, "poll_job", {"job_id": created.task_id})  # the same job, as poll_job shows it
    assert again["status"] == "completed" and again["outputs"] == snapshot["outputs"]


async def test_motion_sessions_and_followups_become_tasks(
    tasks_client: tuple[Client, TasksClient], served: RunningSandbox
) -> None:
    """create_video_session and followup_video_session are tasks too, each followed to a completed session."""
    client, tasks = tasks_client
    first = await client.call_tool("create_video_session", {"prompt": "A short launch video"})
    assert sent(served, SESSIONS) == [{"prompt": "A short launch video"}]
    assert first.structured_content and first.structured_content["status"] == "completed"
    job_id = first.structured_content["job_id"]
    revised = await client.call_tool("followup_video_session", {"job_id": job_id, "prompt": "Shorter"})
    assert revised.structured_content and revised.structured_content["kind"] == "motion_session"
    assert [t.task_id for t in tasks.created] == [job_id, revised.structured_content["job_id"]]
    assert json.loads(text_of(revised))["download_ready"] is True


async def test_other_tools_and_refused_calls_stay_inline(tasks_client: tuple[Client, TasksClient]) -> None:
    """A read-only tool, and a job tool refused before anything starts, answer as always, without a task."""
    client, tasks = tasks_client
    assert (await call_ok(client, "list_jobs"))["jobs"] == []
    refused = await client.call_tool("run_agent", {"agent_id": "no-such-agent", "video_urls": [VIDEO]})
    assert refused.is_error
    assert tasks.created == []


async def test_cancelling_a_task_cancels_the_run(
    tasks_client: tuple[Client, TasksClient], served: RunningSandbox
) -> None:
    """tasks/cancel on a run's task cancels the Mosaic run; tasks/get then says cancelled."""
    client, _ = tasks_client
    served.sandbox.clock.speed = 0  # the run waits for us
    created = await client.session.call_tool("run_agent", RUN_ARGS, allow_claimed=True)
    assert isinstance(created, CreatedTask)
    seen = await task_request(client, "tasks/cancel", created.task_id)
    with anyio.fail_after(10):  # eventually consistent (SEP-2663): a poll begun before the cancel may land after it
        while seen.status == "working":
            await anyio.sleep(0.02)
            seen = await task_request(client, "tasks/get", created.task_id)
    assert seen.status == "cancelled" and seen.result is None
    assert served.sandbox.runs.get(created.task_id).status == "cancelled"


async def test_a_motion_task_cannot_be_cancelled(
    tasks_client: tuple[Client, TasksClient], served: RunningSandbox
) -> None:
    """Motion has no cancel endpoint: tasks/cancel says so, and the task keeps working."""
    client, _ = tasks_client
    served.sandbox.clock.speed = 0
    created = await client.session.call_tool("create_video_session", {"prompt": "A video"}, allow_claimed=True)
    assert isinstance(created, CreatedTask)
    with pytest.raises(MCPError) as refused:
        await task_request(client, "tasks/cancel", created.task_id)
    assert refused.value.error.code == INVALID_PARAMS and "cancel" in refused.value.error.message
    assert (await task_request(client, "tasks/get", created.task_id)).status == "working"


async def test_an_unknown_task_is_invalid_params(tasks_client: tuple[Client, TasksClient]) -> None:
    """tasks/get for an id no job has is -32602, naming what task ids are."""
    client, _ = tasks_client
    with pytest.raises(MCPError) as unknown:
        await task_request(client, "tasks/get", "00000000-0000-4000-8000-000000000000")
    assert unknown.value.error.code == INVALID_PARAMS
    assert "job ids" in unknown.value.error.message


async def test_without_the_extension_the_handle_is_inline(client: Client, mode: str, served: RunningSandbox) -> None:
    """A client that does not declare the extension (either generation) gets today's job handle at once."""
    handle = await call_ok(client, "run_agent", RUN_ARGS)
    assert handle["status"] != "completed" and "poll_job" in handle["next_step"]
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
    settled = await follow(client, handle["job_id"])
    assert settled["status"] == "completed"


async def test_a_legacy_client_with_the_extension_gets_no_task(server: MosaicServer) -> None:
    """2025-era connections cannot carry a task: the handle is inline and tasks/get is not a method there."""
    async with Client(server, mode="legacy", extensions=[TasksClient()]) as client:
        handle = await call_ok(client, "run_agent", RUN_ARGS)
        assert "poll_job" in handle["next_step"]
        with pytest.raises(MCPError) as missing:
            await task_request(client, "tasks/get", handle["job_id"])
    assert missing.value.error.code == METHOD_NOT_FOUND


async def test_a_failed_session_completes_the_task_with_an_error_result(
    tasks_client: tuple[Client, TasksClient], served: RunningSandbox
) -> None:
    """A job that fails upstream is a completed task whose result is an isError tool result (not 'failed')."""
    client, tasks = tasks_client
    served.sandbox.config.motion_render_fails = True
    result = await client.call_tool("create_video_session", {"prompt": "A short launch video"})
    assert result.is_error and tasks.polls[-1].status == "completed"
    assert result.structured_content and result.structured_content["status"] == "failed"
    text = text_of(result)
    assert isinstance(result.content[0], TextContent) and json.loads(text)["errors"]

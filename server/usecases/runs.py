"""Start an agent run: local files checked, pre-flight, uploads, then the write-ahead start; resume one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcp.server.session import ServerSession
from mcp.types import ListRootsResult

from ..api.errors import APIError, APIStatusError
from ..api.mosaic import MosaicClient
from ..api.requests import RunRequest
from ..credits import low_balance_warnings
from ..jobs.journal import JobRecord
from ..jobs.service import JobError
from ..jobs.starts import Started
from ..local_files import file_roots
from ..preflight import prepare_run
from ..transfer import Progress, RunFiles
from ..webhooks import with_callback

if TYPE_CHECKING:
    from ..runtime import Runtime


async def start_agent_run(
    rt: Runtime,
    agent_id: str,
    request: RunRequest,
    *,
    roots: ListRootsResult,
    files: Sequence[str],
    input_files: Sequence[Sequence[str]],
    progress: Progress | None,
    session: ServerSession | None,
) -> Started:
    """Run `agent_id` with `request` plus local video files, spending nothing on a request that cannot run.

    `files` are local videos for the top-level inputs, `input_files[i]` those of `request.video_inputs[i]`.
    Every path is checked first, then the agent's pre-flight runs on the request with placeholders for
    the files; only then are they uploaded and the run started (write-ahead, see `jobs/starts.py`).
    The warnings include a low balance after the start.
    """
    local = RunFiles.check(file_roots(rt.settings, roots), files, input_files)
    request = request.model_copy(
        update={
            "video_ids": local.video_ids(request.video_ids),
            "video_inputs": [local.video_input(i, v) for i, v in enumerate(request.video_inputs)],
        }
    )
    agent = await prepare_run(rt.mosaic, agent_id, request)
    if local:  # uploaded only now, once the run's pre-flight passed
        request = await local.upload(rt.mosaic, request, progress)
    tiles = [n.node_type.node_type_name or n.node_type.node_type_id for n in agent.agent_nodes]
    summary = {"agent_id": agent_id, "agent_name": agent.agent.name, "tiles": tiles}
    started = await rt.starts.run_agent(agent, with_callback(request, rt.settings), summary=summary, session=session)
    return Started(started.record, started.warnings + await low_balance_warnings(rt.mosaic))


RESUMABLE = ("failed", "cancelled")
"""The run statuses Mosaic resumes (reference section 2.4)."""

_NOT_A_STATE_REFUSAL = frozenset({401, 402, 403, 404, 408, 413, 429})
"""4xx answers that say something other than "not in a state to resume" (their own messages apply)."""


class ResumeRefusedError(JobError):
    """Mosaic refused to resume a run because of its state; the message says why and what to do instead."""


@dataclass(frozen=True)
class Resumed:
    """A resumed run, tracked again, and how many tiles Mosaic re-queued."""

    record: JobRecord
    nodes_queued: int | None


async def resume_agent_run(rt: Runtime, run_id: str, *, session: ServerSession | None) -> Resumed:
    """Resume a failed or cancelled run and follow it again; a refusal for its state says what to do instead."""
    await rt.jobs.refuse_foreign(run_id)  # remote modes: another person's run is "not found"
    try:
        result = await rt.mosaic.resume_run(run_id)
    except APIStatusError as exc:
        if not 400 <= exc.status_code < 500 or exc.status_code in _NOT_A_STATE_REFUSAL:
            raise
        raise ResumeRefusedError(await why_not_resumable(rt.mosaic, run_id, exc.detail)) from None
    record = await rt.jobs.started("mosaic_run", run_id, status="running", summary={"resumed": True}, session=session)
    return Resumed(record, result.nodes_queued)


async def why_not_resumable(mosaic: MosaicClient, run_id: str, detail: str) -> str:
    """Why Mosaic would not resume `run_id`, from a fresh reading of the run, and what to do instead."""
    said = f" (Mosaic said: {detail})" if detail else ""
    try:
        status = (await mosaic.get_run(run_id)).status
    except APIError:
        return (
            f"run_id: Mosaic refused to resume run {run_id}{said}; only failed or cancelled runs can be resumed. "
            f"Check it with poll_job('{run_id}'): wait for a running run, and start a new run with run_agent "
            "for one that finished."
        )
    if status in RESUMABLE:
        return (
            f"run_id: Mosaic refused to resume run {run_id} although it is {status}{said}. See get_run_nodes for "
            "its tiles; if it still cannot be resumed, start a new run with run_agent (spends credits)."
        )
    where = f"run_id: run {run_id} is {status}, and only failed or cancelled runs can be resumed{said}."
    if status in ("running", "queued", "not_started", "in_progress"):
        return f"{where} It is still going: follow it with poll_job('{run_id}', wait_seconds=30) instead."
    if status == "completed":
        return f"{where} It already finished: its outputs are in poll_job('{run_id}'); to process again, use run_agent."
    if status == "partial_complete":
        return (
            f"{where} It finished with some tiles failed: use the outputs it has (poll_job('{run_id}')), see which "
            "tiles failed with get_run_nodes, and start a new run with run_agent for the rest (spends credits)."
        )
    return f"{where} Check it with poll_job('{run_id}'); start a new run with run_agent if it is finished."

"""Start an agent run: local files checked, pre-flight, uploads, then the write-ahead start."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mcp.server.session import ServerSession
from mcp.types import ListRootsResult

from ..api.requests import RunRequest
from ..credits import low_balance_warnings
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
    summary = {"agent_id": agent_id, "agent_name": agent.agent.name}
    started = await rt.starts.run_agent(agent, with_callback(request, rt.settings), summary=summary, session=session)
    return Started(started.record, started.warnings + await low_balance_warnings(rt.mosaic))

"""`completion/complete`: job ids for the job resources and prompts, agents, Motion's values, in both generations."""

import pytest
from mcp import Client
from mcp.types import PromptReference, ResourceTemplateReference

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID, PODCAST_AGENT_ID

from ..support import VIDEO, call_ok

pytestmark = pytest.mark.anyio

RUNS = ResourceTemplateReference(uri="mosaic://runs/{run_id}")
SESSIONS = ResourceTemplateReference(uri="motion://sessions/{job_id}")


async def values(client: Client, ref: ResourceTemplateReference | PromptReference, name: str, typed: str) -> list[str]:
    """The suggestions for argument `name` after typing `typed`."""
    result = await client.complete(ref, {"name": name, "value": typed})
    return result.completion.values


async def start_jobs(client: Client) -> tuple[list[str], str]:
    """Two runs, then one Motion session; the run ids oldest first and the session id."""
    runs = [
        (await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}))["job_id"]
        for _ in range(2)
    ]
    session = (await call_ok(client, "create_video_session", {"prompt": "A launch teaser"}))["job_id"]
    return runs, session


async def test_completions_are_advertised(client: Client) -> None:
    """`initialize` / `server/discover` advertise `completions`."""
    assert client.server_capabilities.completions is not None


async def test_run_ids_newest_first_and_only_runs(client: Client) -> None:
    """mosaic://runs/{run_id}: the tracked runs, newest first, no Motion session."""
    runs, session = await start_jobs(client)
    suggested = await values(client, RUNS, "run_id", "")
    assert suggested == runs[::-1]
    assert session not in suggested


async def test_session_ids_for_the_motion_template(client: Client) -> None:
    """motion://sessions/{job_id}: the Motion sessions only."""
    _, session = await start_jobs(client)
    assert await values(client, SESSIONS, "job_id", "") == [session]


async def test_the_typed_prefix_filters(client: Client) -> None:
    """Typing the start of one run's id leaves that run only; a prefix nothing has leaves none."""
    runs, _ = await start_jobs(client)
    first, second = runs
    common = next((i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), len(first))
    assert await values(client, RUNS, "run_id", first[: common + 1]) == [first]
    assert await values(client, RUNS, "run_id", first[:common]) == [second, first]
    assert await values(client, RUNS, "run_id", "zz-no-such-") == []


async def test_the_recover_prompt_suggests_every_kind_of_job(client: Client) -> None:
    """recover_failed_job's job_id: runs and sessions, newest first."""
    runs, session = await start_jobs(client)
    suggested = await values(client, PromptReference(name="recover_failed_job"), "job_id", "")
    assert suggested == [session, *runs[::-1]]


async def test_agent_names_and_ids_for_the_edit_prompt(client: Client) -> None:
    """edit_video_with_agent's agent: names (case ignored) and ids of the account's agents."""
    ref = PromptReference(name="edit_video_with_agent")
    everything = await values(client, ref, "agent", "")
    assert "Captions + vertical reframe" in everything and CAPTIONS_AGENT_ID in everything
    assert await values(client, ref, "agent", "podcast") == ["Podcast clips"]
    assert await values(client, ref, "agent", PODCAST_AGENT_ID[:-1]) == [PODCAST_AGENT_ID]


async def test_no_agent_suggestions_when_the_api_fails(client: Client, served: RunningSandbox) -> None:
    """GET /agents keeps failing: an empty list, not an error."""
    served.sandbox.faults.inject("server_error", method="GET", path="/agents", times=50)
    assert await values(client, PromptReference(name="edit_video_with_agent"), "agent", "") == []


async def test_motion_values_for_the_brief_prompt(client: Client) -> None:
    """motion_video_from_brief's aspect_ratio and duration: Motion's own values, filtered."""
    ref = PromptReference(name="motion_video_from_brief")
    assert await values(client, ref, "aspect_ratio", "9") == ["9:16"]
    assert await values(client, ref, "duration", "") == ["<10s", "10-30s", "30s-1min", "1-5min"]


async def test_an_unknown_reference_gets_no_values(client: Client) -> None:
    """An unknown prompt (the conformance suite's `test_prompt_with_arguments`) or argument: empty, no error."""
    assert await values(client, PromptReference(name="test_prompt_with_arguments"), "arg1", "test") == []
    assert await values(client, PromptReference(name="edit_video_with_agent"), "video", "") == []
    assert await values(client, ResourceTemplateReference(uri="mosaic://jobs"), "x", "") == []

"""The workflow prompts: listed with their arguments, rendered with the user's values, in both generations."""

import re
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, GetPromptResult, TextContent

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.sandbox import RunningSandbox

from ..support import sandbox_settings

pytestmark = pytest.mark.anyio

NAMES = ["edit_video_with_agent", "motion_video_from_brief", "recover_failed_job"]


def text_of(result: GetPromptResult) -> str:
    """The one user message a prompt renders."""
    assert len(result.messages) == 1
    message = result.messages[0]
    assert message.role == "user"
    assert isinstance(message.content, TextContent)
    return message.content.text


async def test_prompts_are_listed_with_described_arguments(client: Client) -> None:
    """prompts/list: three prompts, each with a title, a description and described arguments."""
    assert client.server_capabilities.prompts is not None
    prompts = (await client.list_prompts()).prompts
    assert [p.name for p in prompts] == NAMES
    arguments = {p.name: [(a.name, a.required) for a in p.arguments or []] for p in prompts}
    assert arguments == {
        "edit_video_with_agent": [("video", True), ("agent", False), ("instructions", False)],
        "motion_video_from_brief": [
            ("brief", True),
            ("attachments", False),
            ("aspect_ratio", False),
            ("duration", False),
        ],
        "recover_failed_job": [("job_id", True)],
    }
    for prompt in prompts:
        assert prompt.title and prompt.description and "\n" not in prompt.description
        assert all(a.description for a in prompt.arguments or []), prompt.name


async def test_edit_a_local_file_with_a_named_agent(client: Client) -> None:
    """A local path goes to run_agent's files; the named agent is looked up, the wish quoted."""
    result = await client.get_prompt(
        "edit_video_with_agent",
        {"video": "~/Videos/talk.mp4", "agent": "Podcast clips", "instructions": "three 30 s clips"},
    )
    text = text_of(result)
    assert text.startswith("Edit the local file ~/Videos/talk.mp4 (pass it to run_agent as files=['~/Videos/talk.mp4']")
    assert (
        "Use my Mosaic agent 'Podcast clips': if that is a name rather than an id, find its id with list_agents."
        in text
    )
    assert "What I want: three 30 s clips" in text
    assert "poll_job(job_id, wait_seconds=30)" in text
    assert "download_output(job_id)" in text


async def test_edit_a_video_url_without_an_agent(client: Client) -> None:
    """A URL goes to video_urls; with no agent given, the model lists them and asks."""
    text = text_of(await client.get_prompt("edit_video_with_agent", {"video": "https://youtu.be/abc"}))
    assert "video_urls=['https://youtu.be/abc']" in text
    assert "files=" not in text
    assert "Call list_agents, show me my agents" in text
    assert "Tell me what the agent will do before starting it." in text


async def test_motion_from_a_brief_with_attachments(client: Client) -> None:
    """The brief is quoted whole; attachments are split on commas; the shape is passed on."""
    brief = "A 20 second teaser for our app launch.\nUpbeat, blue and white."
    result = await client.get_prompt(
        "motion_video_from_brief",
        {"brief": brief, "attachments": "~/logo.png, https://example.com/shot.jpg,", "aspect_ratio": "9:16"},
    )
    text = text_of(result)
    assert f"Make a Mosaic Motion video from this brief:\n\n{brief}\n" in text
    assert "attachments): '~/logo.png', 'https://example.com/shot.jpg'." in text
    assert "Use aspect_ratio='9:16'." in text
    assert "duration=" not in text
    assert "followup_video_session(job_id, prompt=<the change>)" in text


async def test_motion_without_attachments_says_nothing_of_them(client: Client) -> None:
    """No attachments, no attachment line."""
    text = text_of(await client.get_prompt("motion_video_from_brief", {"brief": "A product tour"}))
    assert "Attach" not in text
    assert "create_video_session with the brief as the prompt" in text


async def test_recover_points_to_resume_only_with_the_runs_toolset(
    served: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """Core only: retry with run_agent and how to enable resume_run; with `runs`: get_run_nodes and resume_run."""
    texts = {}
    for toolsets in ("core", "runs"):
        server = create_server(sandbox_settings(served, tmp_path / toolsets, toolsets=toolsets))
        async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
            texts[toolsets] = text_of(await client.get_prompt("recover_failed_job", {"job_id": "run-42"}))
    for text in texts.values():
        assert text.startswith("Find out why my job run-42 failed and help me recover.")
        assert "Call poll_job('run-42')" in text
    assert "MOSAIC_MCP_TOOLSETS=runs" in texts["core"] and "resume_run" not in texts["core"].replace(
        "MOSAIC_MCP_TOOLSETS=runs, to resume", ""
    )
    assert "get_run_nodes shows the failed tile and resume_run retries" in texts["runs"]


async def test_every_tool_a_prompt_names_exists(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """Each snake_case word of every prompt that is not an argument name is a registered tool."""
    server = create_server(sandbox_settings(served, tmp_path, toolsets="all"))
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        tools = {t.name for t in (await client.list_tools()).tools}
        rendered = [
            text_of(await client.get_prompt("edit_video_with_agent", {"video": "a.mp4", "agent": "x"})),
            text_of(await client.get_prompt("edit_video_with_agent", {"video": "https://x.test/v"})),
            text_of(await client.get_prompt("motion_video_from_brief", {"brief": "b", "attachments": "a.png"})),
            text_of(await client.get_prompt("recover_failed_job", {"job_id": "j"})),
        ]
    arguments = {"video_urls", "video_inputs", "update_params", "job_id", "wait_seconds", "aspect_ratio"}
    named = {w for text in rendered for w in re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", text)} - arguments
    assert named and named <= tools, named - tools


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        (
            "motion_video_from_brief",
            {},
            "motion_video_from_brief needs the argument 'brief': What the video is about, its tone and any must-have",
        ),
        ("recover_failed_job", {"job_id": "  "}, "recover_failed_job needs the argument 'job_id'"),
        (
            "edit_video_with_agent",
            {"video": "a.mp4", "agent_id": "x"},
            "unknown argument 'agent_id' (did you mean 'agent'?); edit_video_with_agent takes video, agent",
        ),
        ("make_coffee", {}, "unknown prompt 'make_coffee'; the prompts are edit_video_with_agent, "),
    ],
)
async def test_bad_prompt_arguments_are_refused_by_name(
    client: Client, name: str, arguments: dict[str, str], message: str
) -> None:
    """A missing or unknown argument, or an unknown prompt: -32602 naming it, not "Internal server error"."""
    with pytest.raises(MCPError) as failed:
        await client.get_prompt(name, arguments)
    assert failed.value.error.code == INVALID_PARAMS
    assert message in failed.value.error.message

"""Workflow prompts a host offers as slash commands: each one a plan in the tools' own words.

A prompt only writes the request a user would have typed; it calls nothing (no credits, no
network), so `prompts/get` is cheap and always answers. Arguments are strings (MCP prompts take
no other type); `completions.py` suggests agents and job ids for them. The tool names quoted here
are checked against the registered tools by tests/server/test_prompts.py.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args

from mcp.server import MCPServer, ServerRequestContext
from mcp.server.context import HandlerResult
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, GetPromptRequestParams
from pydantic import Field

from .api import rules
from .arguments import unknown_names, unknown_names_message
from .config import Settings

EDIT_VIDEO = "edit_video_with_agent"
MOTION_FROM_BRIEF = "motion_video_from_brief"
RECOVER_RUN = "recover_failed_job"

PROMPT_ARGUMENTS: dict[str, tuple[str, ...]] = {
    EDIT_VIDEO: ("video", "agent", "instructions"),
    MOTION_FROM_BRIEF: ("brief", "attachments", "aspect_ratio", "duration"),
    RECOVER_RUN: ("job_id",),
}
"""Each prompt's arguments, in order (the completion handler and the tests read this)."""

AGENT_ARGUMENT = "agent"
JOB_ARGUMENT = "job_id"


def split_list(text: str | None) -> list[str]:
    """Items of a comma- or newline-separated argument, trimmed, empty ones dropped."""
    return [item.strip() for item in re.split(r"[,\n]", text or "") if item.strip()]


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def edit_video_text(video: str, agent: str | None, instructions: str | None) -> str:
    """The request behind /edit_video_with_agent."""
    source = (
        f"the video at {video} (pass it to run_agent as video_urls=[{video!r}])"
        if _is_url(video)
        else f"the local file {video} (pass it to run_agent as files=[{video!r}]; it is uploaded for you)"
    )
    choose = (
        f"Use my Mosaic agent {agent!r}: if that is a name rather than an id, find its id with list_agents."
        if agent
        else "Call list_agents, show me my agents with one line each on what they do, and ask which one to use."
    )
    wish = f"What I want: {instructions}" if instructions else "Tell me what the agent will do before starting it."
    return "\n".join(
        [
            f"Edit {source} with one of my Mosaic agents.",
            "",
            f"1. {choose}",
            "2. Call get_agent for it: check that it has one Video Input tile (with several, build video_inputs, "
            "one entry per tile) and see which parameters I could change for this run.",
            f"3. {wish} If the request needs a parameter change, pass it in update_params; do not edit the agent.",
            "4. Call check_credits, then run_agent. It spends credits and returns a job_id at once.",
            "5. Follow the job with poll_job(job_id, wait_seconds=30), again while it is not settled, telling me "
            "the progress in one line each time.",
            "6. When it has completed, save the outputs with download_output(job_id) and tell me where they are. "
            "If it failed, say which tile failed and why, in plain words, and what we could change.",
        ]
    )


def motion_text(brief: str, attachments: list[str], aspect_ratio: str | None, duration: str | None) -> str:
    """The request behind /motion_video_from_brief."""
    lines = [
        "Make a Mosaic Motion video from this brief:",
        "",
        brief,
        "",
    ]
    if attachments:
        listed = ", ".join(repr(a) for a in attachments)
        lines.append(
            f"Attach these files or URLs to the session (create_video_session's attachments): {listed}. "
            "Local files are uploaded for you."
        )
    shape = [f"aspect_ratio={aspect_ratio!r}" if aspect_ratio else "", f"duration={duration!r}" if duration else ""]
    if any(shape):
        lines.append("Use " + " and ".join(s for s in shape if s) + ".")
    lines += [
        "",
        "1. Call check_credits: Motion refuses a start below its minimum balance.",
        "2. Call create_video_session with the brief as the prompt. It spends Motion credits and returns a job_id.",
        "3. Follow it with poll_job(job_id, wait_seconds=30) until it is settled, with one line of progress each time.",
        "4. When it has completed, save the video with download_output(job_id) and tell me where it is.",
        "5. Ask me what to change; for each change call followup_video_session(job_id, prompt=<the change>) "
        "and follow the new job the same way.",
    ]
    return "\n".join(lines)


def recover_text(job_id: str, *, runs_toolset: bool) -> str:
    """The request behind /recover_failed_job."""
    resume = (
        "If it is a Mosaic run that failed for a reason that is now fixed (credits topped up, a flaky "
        "tile), get_run_nodes shows the failed tile and resume_run retries only the unfinished tiles."
        if runs_toolset
        else "If it is a Mosaic run that can simply be retried, start it again with run_agent and the same inputs "
        "(enable the runs toolset, MOSAIC_MCP_TOOLSETS=runs, to resume only the failed tiles instead)."
    )
    return "\n".join(
        [
            f"Find out why my job {job_id} failed and help me recover.",
            "",
            f"1. Call poll_job({job_id!r}) and read its status, error and the tile or step that failed.",
            "2. Explain the cause in plain words: bad input, an agent setting, missing credits "
            "(check_credits), or trouble on Mosaic's side.",
            f"3. {resume}",
            "4. If the input or a setting was the problem, say what to change and, once I agree, start a new job "
            "(run_agent with update_params, or followup_video_session / create_video_session for Motion).",
            "5. Spend nothing without asking me first; follow any new job with poll_job.",
        ]
    )


AgentArg = Annotated[
    str | None, Field(description="Agent id or name (completion suggests yours); empty: choose from a list.")
]
VideoArg = Annotated[str, Field(description="A video file on this computer (e.g. ~/Videos/talk.mp4) or a video URL.")]
InstructionsArg = Annotated[str | None, Field(description="What should change, e.g. 'captions in French'.")]
BriefArg = Annotated[str, Field(description="What the video is about, its tone and any must-have scenes.")]
AttachmentsArg = Annotated[
    str | None, Field(description="Files or URLs to attach (logos, screenshots, clips), separated by commas.")
]
ASPECT_RATIOS: tuple[str, ...] = get_args(rules.AspectRatio)
DURATIONS: tuple[str, ...] = get_args(rules.Duration)
AspectArg = Annotated[str | None, Field(description=f"Aspect ratio: one of {', '.join(ASPECT_RATIOS)}.")]
DurationArg = Annotated[str | None, Field(description=f"Length: one of {', '.join(DURATIONS)}.")]
JobArg = Annotated[str, Field(description="The job_id of the failed job (completion suggests your recent jobs).")]


def register_prompts(app: MCPServer[Any], settings: Settings) -> None:
    """Add the workflow prompts to `app`."""
    runs_toolset = "runs" in settings.enabled_toolsets

    _check_arguments_first(app)

    @app.prompt(
        name=EDIT_VIDEO,
        title="Edit a video with one of my agents",
        description="Run one of your Mosaic agents on a local video file or a video URL, follow it, save the result.",
    )
    def edit_video_with_agent(video: VideoArg, agent: AgentArg = None, instructions: InstructionsArg = None) -> str:
        return edit_video_text(video, agent, instructions)

    @app.prompt(
        name=MOTION_FROM_BRIEF,
        title="Make a Motion video from a brief",
        description="Turn a written brief (and optional attachments) into a Mosaic Motion video, then revise it.",
    )
    def motion_video_from_brief(
        brief: BriefArg,
        attachments: AttachmentsArg = None,
        aspect_ratio: AspectArg = None,
        duration: DurationArg = None,
    ) -> str:
        return motion_text(brief, split_list(attachments), aspect_ratio, duration)

    @app.prompt(
        name=RECOVER_RUN,
        title="Find out why a job failed and recover",
        description="Read a failed Mosaic run or Motion session, explain the cause, and retry or fix it.",
    )
    def recover_failed_job(job_id: JobArg) -> str:
        return recover_text(job_id, runs_toolset=runs_toolset)


def _check_arguments_first(app: MCPServer[Any]) -> None:
    """Refuse an unknown prompt, an unknown argument or a missing one with -32602 naming it (the SDK
    answers all three with a bare "Internal server error")."""
    low = app._lowlevel_server  # private: MCPServer has no public hook for it; mcp is pinned to 2.3.x
    entry = low.get_request_handler("prompts/get")
    assert entry is not None  # MCPServer always serves prompts/get

    async def get_prompt(ctx: ServerRequestContext[Any], params: GetPromptRequestParams) -> HandlerResult:
        prompts = {p.name: p for p in await app.list_prompts()}
        prompt = prompts.get(params.name)
        if prompt is None:
            raise MCPError(INVALID_PARAMS, f"unknown prompt {params.name!r}; the prompts are {', '.join(prompts)}")
        given = params.arguments or {}
        known = [a.name for a in prompt.arguments or []]
        if unknown := unknown_names(given, known):
            raise MCPError(INVALID_PARAMS, unknown_names_message(unknown, known, what="argument", owner=prompt.name))
        for argument in prompt.arguments or []:
            if argument.required and not (given.get(argument.name) or "").strip():
                raise MCPError(
                    INVALID_PARAMS,
                    f"{prompt.name} needs the argument {argument.name!r}: {argument.description}",
                )
        return await entry.handler(ctx, params)

    low.add_request_handler("prompts/get", GetPromptRequestParams, get_prompt)

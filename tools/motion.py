"""Core tools for Mosaic Motion: create_video_session, followup_video_session."""

from typing import Annotated, Any

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context, Resolve
from mcp.types import ListRootsResult
from pydantic import Field, model_validator

from ..server.api import rules
from ..server.api.requests import DesignMd, FollowupRequest, MotionSessionRequest
from ..server.local_files import NO_ROOTS, RootsAnswer, client_roots
from ..server.runtime import Runtime
from ..server.usecases import CARD_TOOL_META, revise_video_session, start_video_session
from ._common import ClosedInput
from ._registry import SPEND, Registrar, runtime
from .handles import JobHandle


class AttachmentInput(ClosedInput):
    """A file the video may use: a public URL, or a local path (uploaded to Mosaic for a link)."""

    url: rules.AttachmentUrl | None = Field(default=None, description="Publicly reachable (signed) URL of the file.")
    path: str | None = Field(
        default=None,
        max_length=4096,
        description=(
            "Or a file on this computer (inside the allowed folders); needs MOSAIC_API_KEY. It is uploaded to "
            "Mosaic and sent as a Mosaic view link (short-lived; asked for just before the start, and the result "
            "says when it expires if Mosaic tells). Motion fetches it while the session runs."
        ),
    )
    name: rules.AttachmentName | None = Field(default=None, description="Display name.")
    type: rules.AttachmentType | None = Field(
        default=None, description="The file's kind (for a local path, the uploaded kind when omitted)."
    )
    content_type: str | None = Field(default=None, description="MIME type hint, e.g. image/png.")

    @model_validator(mode="after")
    def _url_or_path(self) -> "AttachmentInput":
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of url or path")
        return self


class DesignMdInput(ClosedInput):
    """A custom DESIGN.md as the API documents it: an optional file name and the text."""

    filename: rules.DesignMdFilename | None = Field(default=None, description='Defaults to "DESIGN.md".')
    content: rules.DesignMdText = Field(description="The DESIGN.md text.")


async def _roots_for(ctx: Context[Any, Any], attachments: list[AttachmentInput] | None = None) -> RootsAnswer:
    """The client's roots, asked for only when an attachment is a local path."""
    return await client_roots(ctx) if any(a.path for a in attachments or []) else NO_ROOTS


RootsArg = Annotated[ListRootsResult, Resolve(_roots_for)]


Prompt = Annotated[rules.PromptText, Field(description="What the video should show.")]
StyleUrl = Annotated[str | None, Field(description="A YouTube video whose style to follow.")]
Attachments = Annotated[
    list[AttachmentInput] | None,
    Field(max_length=rules.MAX_ATTACHMENTS, description="Up to 10 images, clips, audio or files."),
]
AspectRatio = Annotated[rules.AspectRatio | None, Field(description="The video's shape, width:height.")]
Duration = Annotated[rules.Duration | None, Field(description="About how long the video should be.")]
Mode = Annotated[
    rules.MotionMode | None,
    Field(description="light = fastest and cheapest, medium (default), high = slowest and best."),
]
FollowupMode = Annotated[
    rules.MotionMode | None,
    Field(
        description=(
            "light = fastest and cheapest, medium (the default when omitted, whatever the original's mode), "
            "high = slowest and best."
        )
    ),
]


def register(tools: Registrar) -> None:
    """Register the Motion tools."""

    @tools.tool(
        toolset="core",
        annotations=SPEND,
        title="Create a video from a prompt",
        spends_credits=True,
        meta=CARD_TOOL_META,
    )
    async def create_video_session(
        prompt: Prompt,
        ctx: Context[Runtime, Any],
        roots: RootsArg,
        style_reference_url: StyleUrl = None,
        attachments: Attachments = None,
        aspect_ratio: AspectRatio = None,
        duration: Duration = None,
        mode: Mode = None,
        design_system_id: Annotated[
            str | None, Field(description="Pro/Max: a named design system, e.g. 'linear' or 'stripe'.")
        ] = None,
        design_md: Annotated[
            Annotated[str, Field(max_length=rules.max_length(rules.DesignMdText))] | DesignMdInput | None,
            Field(
                description="Pro/Max: a custom DESIGN.md, as text or {filename, content}; wins over design_system_id."
            ),
        ] = None,
    ) -> JobHandle:
        """Start a Mosaic Motion video (prompt-to-video). SPENDS Motion credits (Motion refuses a start
        below its minimum balance and the error quotes it). design_system_id and design_md need a Motion
        Pro or Max plan. Returns at once with a job_id; the video takes minutes — follow it with poll_job.
        Use followup_video_session to revise a finished video."""
        draft = MotionSessionRequest(
            prompt=prompt,
            style_reference_url=style_reference_url,
            aspect_ratio=aspect_ratio,
            duration=duration,
            mode=mode,
            design_system_id=design_system_id,
            design_md=_design_md(design_md),
        )
        started = await start_video_session(
            runtime(ctx), draft, attachments or [], roots=roots, progress=ctx.report_progress, session=ctx.session
        )
        return JobHandle.of(started.record, started.warnings, card=client_supports_apps(ctx))

    @tools.tool(
        toolset="core", annotations=SPEND, title="Revise a finished video", spends_credits=True, meta=CARD_TOOL_META
    )
    async def followup_video_session(
        job_id: Annotated[str, Field(min_length=1, description="job_id of a completed Motion session.")],
        prompt: Annotated[rules.PromptText, Field(description="What to change.")],
        ctx: Context[Runtime, Any],
        roots: RootsArg,
        attachments: Attachments = None,
        style_reference_url: StyleUrl = None,
        mode: FollowupMode = None,
    ) -> JobHandle:
        """Ask Motion to revise a COMPLETED session (e.g. "make the intro shorter"). SPENDS Motion
        credits. Fails if the session is not completed yet — poll_job it first. Returns a job handle
        for the revision; follow it with poll_job."""
        draft = FollowupRequest(prompt=prompt, style_reference_url=style_reference_url, mode=mode)
        started = await revise_video_session(
            runtime(ctx),
            job_id,
            draft,
            attachments or [],
            roots=roots,
            progress=ctx.report_progress,
            session=ctx.session,
        )
        return JobHandle.of(started.record, started.warnings, card=client_supports_apps(ctx))


def _design_md(given: str | DesignMdInput | None) -> DesignMd | None:
    """The request's design_md: plain text becomes `{content}`; the object goes as given."""
    if given is None:
        return None
    if isinstance(given, str):
        return DesignMd(content=given)
    return DesignMd(filename=given.filename, content=given.content)

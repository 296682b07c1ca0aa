"""Core tools for Mosaic Motion: create_video_session, followup_video_session."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context, Resolve
from mcp.types import ListRootsResult
from pydantic import Field, model_validator

from ..server.api import rules
from ..server.api.errors import MissingKeyError
from ..server.api.requests import Attachment, DesignMd, FollowupRequest, MotionSessionRequest
from ..server.api.validation import validate_followup, validate_motion_session
from ..server.app import Runtime
from ..server.files import NO_ROOTS, RootsAnswer, client_roots, file_roots
from ..server.transfer import attachment_from_path
from ._common import ClosedInput
from ._registry import SPEND, Registrar, runtime
from .handles import JobHandle


class AttachmentInput(ClosedInput):
    """A file the video may use: a public URL, or a local path (uploaded to Mosaic for a link)."""

    url: rules.AttachmentUrl | None = Field(default=None, description="Publicly reachable (signed) URL of the file.")
    path: str | None = Field(
        default=None,
        max_length=4096,
        description="Or a file on this computer (inside the allowed folders); needs MOSAIC_API_KEY.",
    )
    name: rules.AttachmentName | None = Field(default=None, description="Display name.")
    type: rules.AttachmentType | None = None
    content_type: str | None = Field(default=None, description="MIME type hint, e.g. image/png.")

    @model_validator(mode="after")
    def _url_or_path(self) -> "AttachmentInput":
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of url or path")
        return self

    def to_request(self, url: str | None = None) -> Attachment:
        """The API's attachment object (with `url` standing in for a local file's link)."""
        link = url or self.url
        assert link is not None
        return Attachment(url=link, name=self.name, type=self.type, content_type=self.content_type)


PENDING_UPLOAD = "https://upload.pending.invalid/file"
"""Stands in for a local file's link while the request is validated, before anything is uploaded."""


def _placeholders(items: list[AttachmentInput] | None) -> list[Attachment]:
    return [item.to_request(url=PENDING_UPLOAD if item.path else None) for item in items or []]


async def _roots_for(ctx: Context[Any, Any], attachments: list[AttachmentInput] | None = None) -> RootsAnswer:
    """The client's roots, asked for only when an attachment is a local path."""
    return await client_roots(ctx) if any(a.path for a in attachments or []) else NO_ROOTS


async def _attachments(
    rt: Runtime, roots: ListRootsResult, items: list[AttachmentInput] | None, ctx: Context[Runtime, Any]
) -> list[Attachment]:
    """The request's attachments; local files are checked first, then uploaded for a link."""
    items = items or []
    allowed = file_roots(rt.settings, roots)
    local = [allowed.readable_file(a.path, f"attachments[{i}].path") if a.path else None for i, a in enumerate(items)]
    if any(local) and not rt.motion.has_key:
        raise MissingKeyError("Motion")
    result = []
    for item, found in zip(items, local, strict=True):
        if found is None:
            result.append(item.to_request())
        else:
            made = await attachment_from_path(rt.mosaic, found, name=item.name, progress=ctx.report_progress)
            result.append(made.model_copy(update={"type": item.type or made.type}))
    return result


RootsArg = Annotated[ListRootsResult, Resolve(_roots_for)]


Prompt = Annotated[rules.PromptText, Field(description="What the video should show.")]
StyleUrl = Annotated[str | None, Field(description="A YouTube video whose style to follow.")]
Attachments = Annotated[
    list[AttachmentInput] | None,
    Field(max_length=rules.MAX_ATTACHMENTS, description="Up to 10 images, clips, audio or files."),
]
Mode = Annotated[
    rules.MotionMode | None,
    Field(description="light = fastest and cheapest, medium (default), high = slowest and best."),
]


def register(tools: Registrar) -> None:
    """Register the Motion tools."""

    @tools.tool(toolset="core", annotations=SPEND, title="Create a video from a prompt", spends_credits=True)
    async def create_video_session(
        prompt: Prompt,
        ctx: Context[Runtime, Any],
        roots: RootsArg,
        style_reference_url: StyleUrl = None,
        attachments: Attachments = None,
        aspect_ratio: rules.AspectRatio | None = None,
        duration: rules.Duration | None = None,
        mode: Mode = None,
        design_system_id: Annotated[
            str | None, Field(description="Pro/Max: a named design system, e.g. 'linear' or 'stripe'.")
        ] = None,
        design_md: Annotated[
            str | None,
            Field(max_length=rules.max_length(rules.DesignMdText), description="Pro/Max: a custom DESIGN.md text."),
        ] = None,
    ) -> JobHandle:
        """Start a Mosaic Motion video (prompt-to-video). SPENDS Motion credits (a session needs at
        least 300 on the balance). Returns at once with a job_id; the video takes minutes — follow it
        with poll_job. Use followup_video_session to revise a finished video."""
        rt = runtime(ctx)
        draft = MotionSessionRequest(
            prompt=prompt,
            style_reference_url=style_reference_url,
            attachments=_placeholders(attachments),
            aspect_ratio=aspect_ratio,
            duration=duration,
            mode=mode,
            design_system_id=design_system_id,
            design_md=DesignMd(content=design_md) if design_md else None,
        )
        validate_motion_session(draft)  # every rule first: a bad request must not cost an upload
        request = draft.model_copy(update={"attachments": await _attachments(rt, roots, attachments, ctx)})
        summary = {"prompt": prompt[:300], "attachments": len(request.attachments), "mode": mode}
        started = await rt.starts.create_session(request, summary=summary, session=ctx.session)
        return JobHandle.of(started.record, started.warnings)

    @tools.tool(toolset="core", annotations=SPEND, title="Revise a finished video", spends_credits=True)
    async def followup_video_session(
        job_id: Annotated[str, Field(min_length=1, description="job_id of a completed Motion session.")],
        prompt: Annotated[rules.PromptText, Field(description="What to change.")],
        ctx: Context[Runtime, Any],
        roots: RootsArg,
        attachments: Attachments = None,
        style_reference_url: StyleUrl = None,
        mode: Mode = None,
    ) -> JobHandle:
        """Ask Motion to revise a COMPLETED session (e.g. "make the intro shorter"). SPENDS Motion
        credits. Fails if the session is not completed yet — poll_job it first. Returns a job handle
        for the revision; follow it with poll_job."""
        rt = runtime(ctx)
        draft = FollowupRequest(
            prompt=prompt, attachments=_placeholders(attachments), style_reference_url=style_reference_url, mode=mode
        )
        validate_followup(draft)  # every rule first: a bad request must not cost an upload
        request = draft.model_copy(update={"attachments": await _attachments(rt, roots, attachments, ctx)})
        summary = {"followup_of": job_id, "prompt": prompt[:300]}
        started = await rt.starts.followup(job_id, request, summary=summary, session=ctx.session)
        return JobHandle.of(started.record, started.warnings)

"""Core tools for Mosaic Motion: create_video_session, followup_video_session."""

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from ..server.api.requests import Attachment, DesignMd, FollowupRequest, MotionSessionRequest
from ..server.app import Runtime
from ._registry import SPEND, Registrar, runtime
from .handles import JobHandle


class AttachmentInput(BaseModel):
    """A file the video may use: a public URL."""

    url: str = Field(max_length=4096, description="Publicly reachable (signed) URL of the file.")
    name: str | None = Field(default=None, max_length=240, description="Display name.")
    type: Literal["image", "video", "audio", "file"] | None = None
    content_type: str | None = Field(default=None, description="MIME type hint, e.g. image/png.")

    def to_request(self) -> Attachment:
        """The API's attachment object."""
        return Attachment(url=self.url, name=self.name, type=self.type, content_type=self.content_type)


Prompt = Annotated[str, Field(min_length=1, max_length=12_000, description="What the video should show.")]
StyleUrl = Annotated[str | None, Field(description="A YouTube video whose style to follow.")]
Attachments = Annotated[
    list[AttachmentInput] | None, Field(max_length=10, description="Up to 10 images, clips, audio or files.")
]
Mode = Annotated[
    Literal["light", "medium", "high"] | None,
    Field(description="light = fastest and cheapest, medium (default), high = slowest and best."),
]


def register(tools: Registrar) -> None:
    """Register the Motion tools."""

    @tools.tool(toolset="core", annotations=SPEND, title="Create a video from a prompt", spends_credits=True)
    async def create_video_session(
        prompt: Prompt,
        ctx: Context[Runtime, Any],
        style_reference_url: StyleUrl = None,
        attachments: Attachments = None,
        aspect_ratio: Literal["16:9", "9:16", "1:1", "4:5", "21:9"] | None = None,
        duration: Literal["<10s", "10-30s", "30s-1min", "1-5min"] | None = None,
        mode: Mode = None,
        design_system_id: Annotated[
            str | None, Field(description="Pro/Max: a named design system, e.g. 'linear' or 'stripe'.")
        ] = None,
        design_md: Annotated[
            str | None, Field(max_length=200_000, description="Pro/Max: a custom DESIGN.md text.")
        ] = None,
    ) -> JobHandle:
        """Start a Mosaic Motion video (prompt-to-video). SPENDS Motion credits (a session needs at
        least 300 on the balance). Returns at once with a job_id; the video takes minutes — follow it
        with poll_job. Use followup_video_session to revise a finished video."""
        rt = runtime(ctx)
        request = MotionSessionRequest(
            prompt=prompt,
            style_reference_url=style_reference_url,
            attachments=[a.to_request() for a in attachments or []],
            aspect_ratio=aspect_ratio,
            duration=duration,
            mode=mode,
            design_system_id=design_system_id,
            design_md=DesignMd(content=design_md) if design_md else None,
        )
        accepted = await rt.motion.create_session(request)
        summary = {"prompt": prompt[:300], "attachments": len(request.attachments), "mode": mode}
        record = await rt.jobs.started("motion_session", accepted.job_id, status=accepted.status, summary=summary)
        rt.notifier.remember(ctx.session)
        return JobHandle.of(record)

    @tools.tool(toolset="core", annotations=SPEND, title="Revise a finished video", spends_credits=True)
    async def followup_video_session(
        job_id: Annotated[str, Field(min_length=1, description="job_id of a completed Motion session.")],
        prompt: Annotated[str, Field(min_length=1, max_length=12_000, description="What to change.")],
        ctx: Context[Runtime, Any],
        attachments: Attachments = None,
        style_reference_url: StyleUrl = None,
        mode: Mode = None,
    ) -> JobHandle:
        """Ask Motion to revise a COMPLETED session (e.g. "make the intro shorter"). SPENDS Motion
        credits. Fails if the session is not completed yet — poll_job it first. Returns a job handle
        for the revision; follow it with poll_job."""
        rt = runtime(ctx)
        request = FollowupRequest(
            prompt=prompt,
            attachments=[a.to_request() for a in attachments or []],
            style_reference_url=style_reference_url,
            mode=mode,
        )
        accepted = await rt.motion.create_followup(job_id, request)
        summary = {"followup_of": job_id, "prompt": prompt[:300]}
        record = await rt.jobs.started(
            "motion_session", accepted.job_id, status=accepted.status, summary=summary, parent_job_id=job_id
        )
        rt.notifier.remember(ctx.session)
        return JobHandle.of(record)

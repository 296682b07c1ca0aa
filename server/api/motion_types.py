"""The Motion API (reference section 4): responses and request bodies."""

from typing import Any

from pydantic import AliasChoices, Field, SkipValidation

from ._types import APIModel, RequestModel
from .rules import (
    AspectRatio,
    AttachmentName,
    AttachmentType,
    AttachmentUrl,
    DesignMdFilename,
    DesignMdText,
    Duration,
    MotionMode,
    PromptText,
)

MOTION_TERMINAL_STATUSES = frozenset({"completed", "failed"})

MOTION_OUTPUT_STATUSES = frozenset({"pending", "queued", "processing", "completed"})
"""The documented `output.status` values; any other (`failed`, seen in third-party code) ends the render."""


class MotionJobAccepted(APIModel):
    """202 from POST /sessions (and, presumably, a follow-up); `status_url` is host-relative."""

    job_id: str
    # Create always says "queued"; the follow-up shape is undocumented, and a just-accepted job is queued.
    status: str = "queued"
    status_url: str | None = None


class MotionOutput(APIModel):
    """The rendered MP4 of a session; ready only when completed *and* a download URL exists."""

    status: str | None = None
    download_url: str | None = None
    expires_at: str | None = None
    error: Any = None  # undocumented; read when the render itself fails

    @property
    def render_failed(self) -> bool:
        """Whether the render ended without a video (a status outside the documented four)."""
        return self.status is not None and self.status not in MOTION_OUTPUT_STATUSES


class MotionSession(APIModel):
    """GET /sessions/{job_id}."""

    job_id: str
    status: str
    created_at: str | None = None
    updated_at: str | None = None
    completed_at: str | None = None
    error: Any = None
    pending_user_input: bool = False
    output: MotionOutput | None = None
    sources: list[dict[str, Any]] = Field(default_factory=list)
    web_url: str | None = Field(
        default=None, validation_alias=AliasChoices("web_url", "session_url", "app_url")
    )  # undocumented: the session in the Motion web app, read under any of these names

    @property
    def is_terminal(self) -> bool:
        """Whether the job itself has stopped (the download URL may still be on its way)."""
        return self.status in MOTION_TERMINAL_STATUSES

    @property
    def download_ready(self) -> bool:
        """Whether the MP4 can be downloaded now."""
        return self.output is not None and self.output.status == "completed" and self.output.download_url is not None


class Attachment(RequestModel):
    """A file the Motion job may use, given as a publicly reachable URL."""

    url: SkipValidation[AttachmentUrl]
    name: SkipValidation[AttachmentName | None] = None
    type: SkipValidation[AttachmentType | None] = None
    content_type: str | None = None


class DesignMd(RequestModel):
    """A custom DESIGN.md (Pro/Max); wins over `design_system_id`."""

    filename: SkipValidation[DesignMdFilename | None] = None
    content: SkipValidation[DesignMdText]


class MotionSessionRequest(RequestModel):
    """Body of POST /sessions."""

    prompt: SkipValidation[PromptText]
    style_reference_url: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    aspect_ratio: SkipValidation[AspectRatio | None] = None
    duration: SkipValidation[Duration | None] = None
    design_system_id: str | None = None  # free text in the tool; validation.py checks it against DesignSystemId
    design_md: DesignMd | str | None = None  # the text alone, or {filename?, content}
    mode: SkipValidation[MotionMode | None] = None


class FollowupRequest(RequestModel):
    """Body of POST /sessions/{id}/followups; optional fields are sent only when given."""

    prompt: SkipValidation[PromptText]
    attachments: list[Attachment] = Field(default_factory=list)
    style_reference_url: str | None = None
    mode: SkipValidation[MotionMode | None] = None

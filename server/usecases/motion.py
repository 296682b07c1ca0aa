"""Start a Motion session, or a follow-up of one: every rule checked, attachments uploaded, then the start."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from mcp.server.session import ServerSession
from mcp.types import ListRootsResult

from ..api.errors import MissingKeyError
from ..api.requests import Attachment, FollowupRequest, MotionSessionRequest
from ..api.validation import validate_followup, validate_motion_session
from ..jobs.starts import Started
from ..local_files import file_roots
from ..transfer import Progress, attachment_from_path

DraftT = TypeVar("DraftT", MotionSessionRequest, FollowupRequest)

if TYPE_CHECKING:
    from ..runtime import Runtime

PENDING_UPLOAD = "https://upload.pending.invalid/file"
"""Stands in for a local file's link while the request is validated, before anything is uploaded."""


class GivenAttachment(Protocol):
    """An attachment as a tool received it: a public `url`, or a local `path` (uploaded to Mosaic for a link)."""

    @property
    def url(self) -> str | None: ...
    @property
    def path(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def type(self) -> str | None: ...
    @property
    def content_type(self) -> str | None: ...


async def start_video_session(
    rt: Runtime,
    draft: MotionSessionRequest,
    attachments: Sequence[GivenAttachment],
    *,
    roots: ListRootsResult,
    progress: Progress | None,
    session: ServerSession | None,
) -> Started:
    """Start a Motion session from `draft` (its `attachments` are replaced by the given ones)."""
    request = await _checked_then_uploaded(rt, draft, attachments, validate_motion_session, roots, progress)
    summary = {"prompt": request.prompt[:300], "attachments": len(request.attachments), "mode": request.mode}
    return await rt.starts.create_session(request, summary=summary, session=session)


async def revise_video_session(
    rt: Runtime,
    job_id: str,
    draft: FollowupRequest,
    attachments: Sequence[GivenAttachment],
    *,
    roots: ListRootsResult,
    progress: Progress | None,
    session: ServerSession | None,
) -> Started:
    """Ask Motion to revise session `job_id` with `draft` (its `attachments` are replaced by the given ones)."""
    request = await _checked_then_uploaded(rt, draft, attachments, validate_followup, roots, progress)
    summary = {"followup_of": job_id, "prompt": request.prompt[:300]}
    return await rt.starts.followup(job_id, request, summary=summary, session=session)


async def _checked_then_uploaded(
    rt: Runtime,
    draft: DraftT,
    attachments: Sequence[GivenAttachment],
    validate: Callable[[DraftT], None],
    roots: ListRootsResult,
    progress: Progress | None,
) -> DraftT:
    """Every rule first, with placeholder links (a bad request must not cost an upload), then the uploads."""
    draft = draft.model_copy(update={"attachments": _placeholders(attachments)})
    validate(draft)
    return draft.model_copy(update={"attachments": await _attachments(rt, roots, attachments, progress)})


def _link(item: GivenAttachment, url: str | None = None) -> Attachment:
    """The API's attachment object (with `url` standing in for a local file's link)."""
    link = url or item.url
    assert link is not None
    return Attachment(url=link, name=item.name, type=item.type, content_type=item.content_type)


def _placeholders(items: Sequence[GivenAttachment]) -> list[Attachment]:
    return [_link(item, url=PENDING_UPLOAD if item.path else None) for item in items]


async def _attachments(
    rt: Runtime, roots: ListRootsResult, items: Sequence[GivenAttachment], progress: Progress | None
) -> list[Attachment]:
    """The request's attachments; local files are checked first, then uploaded for a link."""
    allowed = file_roots(rt.settings, roots)
    local = [allowed.readable_file(a.path, f"attachments[{i}].path") if a.path else None for i, a in enumerate(items)]
    if any(local) and not rt.motion.has_key:
        raise MissingKeyError("Motion")
    result = []
    for item, found in zip(items, local, strict=True):
        if found is None:
            result.append(_link(item))
        else:
            made = await attachment_from_path(rt.mosaic, found, name=item.name, progress=progress)
            result.append(made.model_copy(update={"type": item.type or made.type}))
    return result

"""Start a Motion session, or a follow-up of one: every rule checked, attachments uploaded, then the start.

A local file reaches Motion as a Mosaic view link, which Mosaic calls "short-lived" without saying
how short, and Motion fetches attachments while the session runs. So every file is uploaded
first and the view links are asked for last, right before the start, and the result says until when
each link lives whenever the answer or the link itself says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import parse_qsl, urlsplit

from mcp.server.session import ServerSession
from mcp.types import ListRootsResult

from ..api.errors import InvalidInputError, MissingKeyError
from ..api.models import ViewUrl
from ..api.requests import Attachment, FollowupRequest, MotionSessionRequest
from ..api.validation import validate_followup, validate_motion_session
from ..jobs.starts import Started
from ..local_files import file_roots
from ..transfer import Progress, UploadedAsset, upload_local_file

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
    request, notes = await _checked_then_uploaded(rt, draft, attachments, validate_motion_session, roots, progress)
    summary = {"prompt": request.prompt[:300], "attachments": len(request.attachments), "mode": request.mode}
    return _noted(await rt.starts.create_session(request, summary=summary, session=session), notes)


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
    request, notes = await _checked_then_uploaded(rt, draft, attachments, validate_followup, roots, progress)
    summary = {"followup_of": job_id, "prompt": request.prompt[:300]}
    return _noted(await rt.starts.followup(job_id, request, summary=summary, session=session), notes)


async def _checked_then_uploaded(
    rt: Runtime,
    draft: DraftT,
    attachments: Sequence[GivenAttachment],
    validate: Callable[[DraftT], None],
    roots: ListRootsResult,
    progress: Progress | None,
) -> tuple[DraftT, list[str]]:
    """Every rule first, with placeholder links (a bad request must not cost an upload), then the uploads."""
    draft = draft.model_copy(update={"attachments": _placeholders(attachments)})
    validate(draft)
    linked, notes = await _attachments(rt, roots, attachments, progress)
    return draft.model_copy(update={"attachments": linked}), notes


def _noted(started: Started, notes: list[str]) -> Started:
    return Started(started.record, [*started.warnings, *notes])


def _link(item: GivenAttachment, url: str | None = None) -> Attachment:
    """The API's attachment object (with `url` standing in for a local file's link)."""
    link = url or item.url
    assert link is not None
    return Attachment(url=link, name=item.name, type=item.type, content_type=item.content_type)


def _placeholders(items: Sequence[GivenAttachment]) -> list[Attachment]:
    return [_link(item, url=PENDING_UPLOAD if item.path else None) for item in items]


async def _attachments(
    rt: Runtime, roots: ListRootsResult, items: Sequence[GivenAttachment], progress: Progress | None
) -> tuple[list[Attachment], list[str]]:
    """The request's attachments and a note per local file: all files checked, then uploaded, then linked."""
    allowed = file_roots(rt.settings, roots)
    local = [allowed.readable_file(a.path, f"attachments[{i}].path") if a.path else None for i, a in enumerate(items)]
    if any(local) and not rt.motion.has_key:
        raise MissingKeyError("Motion")
    if any(local) and not rt.mosaic.has_key:
        raise InvalidInputError(
            "attachments.path",
            "attaching a local file needs MOSAIC_API_KEY: the file is uploaded to Mosaic to get a link Motion can "
            "fetch. Set MOSAIC_API_KEY (a key starting with mk_), or give a public URL instead of a path",
        )
    uploaded = [await upload_local_file(rt.mosaic, found, progress) if found else None for found in local]
    result: list[Attachment] = []
    notes: list[str] = []
    for index, (item, asset) in enumerate(zip(items, uploaded, strict=True)):
        if asset is None:
            result.append(_link(item))
            continue
        view = await rt.mosaic.get_view_url(asset.kind, asset.asset_id)  # last, so the link lives longest
        result.append(_uploaded_link(item, asset, view.signed_url))
        notes.append(_link_note(f"attachments[{index}]", item.name or asset.filename, view))
    return result, notes


def _uploaded_link(item: GivenAttachment, asset: UploadedAsset, url: str) -> Attachment:
    """A local file's attachment object: what the caller said wins over what the file looks like."""
    return Attachment(
        url=url,
        name=item.name or asset.filename,
        type=item.type or asset.kind,
        content_type=item.content_type or asset.content_type,
    )


def _link_note(field: str, name: str, view: ViewUrl) -> str:
    """What the user should know about a local file's view link: how long it lives, when that is known."""
    said = f"{field} ({name}) was uploaded to Mosaic and is sent to Motion as a Mosaic view link, which Motion must "
    advice = "If the session fails to fetch it, attach the file by a public URL that lives longer."
    expires = link_expiry(view)
    if expires is None:
        return (
            f"{said}be able to fetch while the session runs. Mosaic does not say how long the link lives "
            f"(only that it is short-lived). {advice}"
        )
    until = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    minutes = max(0.0, (expires - time.time()) / 60)
    lifetime = f"The link expires at {until} (in about {minutes:.0f} min)."
    return f"{said}be able to fetch while the session runs. {lifetime} {advice}"


def link_expiry(view: ViewUrl) -> float | None:
    """When a view link expires (epoch seconds): from the answer (`expires_at`, `expires_in`) or the signed URL.

    Undocumented, so every common spelling is read: the answer's own fields, a signed URL's
    `X-Goog-Date` + `X-Goog-Expires` (or the `X-Amz-` pair), or an `Expires` epoch.
    """
    extra = view.model_extra or {}
    if (at := _epoch(extra.get("expires_at"))) is not None:
        return at
    if isinstance(extra.get("expires_in"), int | float):
        return time.time() + float(extra["expires_in"])
    query = {key.lower(): value for key, value in parse_qsl(urlsplit(view.signed_url).query)}
    for vendor in ("x-goog", "x-amz"):
        signed, lifetime = query.get(f"{vendor}-date"), query.get(f"{vendor}-expires")
        if signed and lifetime and lifetime.isdigit():
            try:
                start = datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            except ValueError:
                continue
            return start.timestamp() + int(lifetime)
    return _epoch(query.get("expires"))


def _epoch(value: object) -> float | None:
    """Epoch seconds from a number, a digit string or an ISO 8601 time; None for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    if value.isdigit():
        return float(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo else parsed.replace(tzinfo=UTC).timestamp()

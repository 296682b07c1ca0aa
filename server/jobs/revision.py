"""A Motion follow-up that kept its session's id: which readings still show the previous render.

The docs do not say whether `POST /sessions/{id}/followups` answers with a new `job_id` or the
parent's (reference section 8). A new id is a new job like any other. The same id is harder: the
session read just after the follow-up may still be the *previous* render, `completed` with its
download URL, and settling on it would hand out the old video as the revision. So the follow-up
notes what the previous render looked like (`PreviousRender`), and a reading counts as the
revision only once the session has moved past it: its status left `completed`, or its
`completed_at`, `updated_at` or download URL differs from the previous render's.

The service's times are compared with the service's own earlier times, never with our clock (a
skewed clock, or the sandbox's fast virtual one, would make an old render look new); only when
nothing of the previous render is known do they fall back to the time of the request.
"""

import hashlib
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from ..api.models import MotionSession


class PreviousRender(BaseModel):
    """What a session showed before a follow-up that kept its id (the service's clock, except `requested_at`)."""

    requested_at: str = Field(description="When the follow-up was sent (this server's clock, UTC).")
    completed_at: str | None = Field(default=None, description="When the previous render completed.")
    updated_at: str | None = Field(default=None, description="When the session last changed before the follow-up.")
    video: str | None = Field(default=None, description="A digest of the previous video's URL path (not the URL).")


def video_digest(url: str | None) -> str | None:
    """A short digest of a download URL without its query (signed URLs are re-signed on every read)."""
    if not url:
        return None
    parts = urlsplit(url)
    return hashlib.sha256(f"{parts.netloc}{parts.path}".encode()).hexdigest()[:16]


def moved_past(session: MotionSession, previous: PreviousRender) -> bool:
    """Whether this reading of the session is past the previous render (see the module docstring)."""
    if session.status != "completed":
        return True
    url = session.output.download_url if session.output is not None else None
    digest = video_digest(url)
    if digest is not None and previous.video is not None and digest != previous.video:
        return True
    known = previous.completed_at is not None or previous.updated_at is not None
    for now, before in ((session.completed_at, previous.completed_at), (session.updated_at, previous.updated_at)):
        if now is None:
            continue
        if before is not None and _later(now, before):
            return True
        if not known and _later(now, previous.requested_at):
            return True
    return False


def _later(a: str, b: str) -> bool:
    """Whether time `a` is after time `b` (unreadable times never are)."""
    first, second = _parse(a), _parse(b)
    return first is not None and second is not None and first > second


def _parse(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)

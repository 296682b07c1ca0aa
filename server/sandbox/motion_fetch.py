"""Motion fetches each attachment URL when a session starts running (reference section 4).

The docs ask that attachment links live through ingestion and generation. The sandbox is offline:
a link to one of its own signed files is judged as a fetch at the session's ``running`` time would
find it (expired, bad signature, no such file); a link to any other host counts as reachable. A link
that cannot be fetched fails the session at that moment, with the reason in its ``error``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from .blobs import Verdict
from .clock import iso
from .motion import MotionSession
from .sandbox import Sandbox

FILES_PREFIX = "/_sandbox/files/"


def fetch_attachments(sandbox: Sandbox, session: MotionSession) -> None:
    """Fail ``session`` when it starts running if one of its attachment links cannot be fetched then."""
    created, running, _ = session.stage_times
    for index, item in enumerate(session.request.get("attachments") or []):
        problem = _fetch(sandbox, str(item.get("url")), running)
        if problem is None:
            continue
        name = item.get("name")
        label = f"attachments[{index}]" + (f" ({name})" if name else "")
        session.failure = (
            f"Could not fetch {label}: {problem}. Attachment URLs must stay reachable through ingestion and generation."
        )
        session.stage_times = (created, running, running)
        return


def _fetch(sandbox: Sandbox, url: str, at: float) -> str | None:
    """Why a GET of ``url`` at virtual time ``at`` would fail, or None if it would succeed."""
    parts = urlsplit(url)
    if parts.netloc != urlsplit(sandbox.public_base_url).netloc or not parts.path.startswith(FILES_PREFIX):
        return None
    query = dict(parse_qsl(parts.query))
    verdict = sandbox.blobs.verify(parts.path, query.get("expires"), query.get("sig"), at)
    if verdict is Verdict.EXPIRED:
        expired = iso(float(query["expires"]))
        return f"the link expired at {expired}, before the session started at {iso(at)} (HTTP 403 Request has expired)"
    if verdict is Verdict.BAD_SIGNATURE:
        return "the link was refused (HTTP 403 Invalid signature)"
    blob_id, _, filename = parts.path.removeprefix(FILES_PREFIX).partition("/")
    blob = sandbox.blobs.get(blob_id)
    if blob is None or sandbox.blobs.content(blob, filename) is None:
        return "no file behind the link (HTTP 404 No such object)"
    return None

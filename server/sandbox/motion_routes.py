"""Motion routes under ``/api/motion`` (reference section 4)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .blobs import Blob
from .motion import MotionSession, accepted_body, poll_body
from .motion_fetch import fetch_attachments
from .routing import motion_auth, motion_json, ok
from .sandbox import Sandbox

PREFIX = "/api/motion"


def _accepted(sandbox: Sandbox, session: MotionSession) -> Response:
    sandbox.blobs.add(Blob(session.video_blob, "video"))  # the MP4 its download_url will serve
    fetch_attachments(sandbox, session)  # judged as at the session's start: it fails then if a link is dead
    return ok(accepted_body(session), status=202)


async def create_session(request: Request) -> Response:
    """POST /api/motion/sessions -> 202 ``{"job_id", "status": "queued", "status_url"}``."""
    sandbox, owner = motion_auth(request)
    session = sandbox.motion.create(owner, await motion_json(request), sandbox.now())
    return _accepted(sandbox, session)


async def get_session(request: Request) -> Response:
    """GET /api/motion/sessions/{job_id}."""
    sandbox, owner = motion_auth(request)
    session = sandbox.motion.get(owner, request.path_params["job_id"])
    ttl = sandbox.config.motion_url_ttl_seconds
    url = sandbox.file_url(session.shown_blob, "video.mp4", ttl)
    return ok(poll_body(session, sandbox.now(), url, sandbox.now() + ttl))


async def followup(request: Request) -> Response:
    """POST /api/motion/sessions/{job_id}/followups -> 202 with a new job (409 unless completed)."""
    sandbox, owner = motion_auth(request)
    body = await motion_json(request)
    session = sandbox.motion.followup(owner, request.path_params["job_id"], body, sandbox.now())
    return _accepted(sandbox, session)


ROUTES = [
    Route(f"{PREFIX}/sessions", create_session, methods=["POST"]),
    Route(f"{PREFIX}/sessions/{{job_id}}", get_session, methods=["GET"]),
    Route(f"{PREFIX}/sessions/{{job_id}}/followups", followup, methods=["POST"]),
]

"""Mosaic routes: triggers, avatar profiles, social publishing and observability (2.5, 2.8, 2.11, 2.12)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .avatars import avatar_view
from .blobs import Blob
from .errors import bad_request, not_found
from .routing import json_body, mosaic_auth, ok, paginate
from .social import PLATFORMS, POST_STATUSES, Post, analytics_view, post_result, post_view, track_view


# -- triggers ------------------------------------------------------------------------------------
async def agent_triggers(request: Request) -> Response:
    """GET /agent/{agent_id}/triggers: a bare JSON array."""
    sandbox = mosaic_auth(request)
    agent = sandbox.agents.get(request.path_params["agent_id"])
    return ok([t.view() for t in sandbox.triggers.of_agent(agent.agent_id)])


async def add_channels(request: Request) -> Response:
    """POST /agent/{agent_id}/triggers/add_youtube_channels."""
    sandbox = mosaic_auth(request)
    agent = sandbox.agents.get(request.path_params["agent_id"])
    return ok(sandbox.triggers.add(agent.agent_id, await json_body(request)))


async def remove_channels(request: Request) -> Response:
    """POST /agent/{agent_id}/triggers/remove_youtube_channels."""
    sandbox = mosaic_auth(request)
    agent = sandbox.agents.get(request.path_params["agent_id"])
    return ok(sandbox.triggers.remove(agent.agent_id, await json_body(request)))


# -- avatars -------------------------------------------------------------------------------------
def _avatar(request: Request, avatar_id: str) -> dict[str, object]:
    sandbox = mosaic_auth(request)
    profile = sandbox.avatars.get(avatar_id)
    preview = sandbox.file_url(profile.avatar_id, "video.mp4", sandbox.config.view_url_ttl_seconds)
    return avatar_view(profile, sandbox.now(), preview)


async def create_avatar(request: Request) -> Response:
    """POST /avatar-profiles/create (response body [INFERRED]: the profile object)."""
    sandbox = mosaic_auth(request)
    body = await json_body(request)
    profile = sandbox.avatars.create(sandbox.ids.new(), body, sandbox.now(), sandbox.known_asset)
    sandbox.blobs.add(Blob(profile.avatar_id, "video"))  # its preview video
    return ok(_avatar(request, profile.avatar_id))


async def list_avatars(request: Request) -> Response:
    """GET /avatar-profiles."""
    sandbox = mosaic_auth(request)
    return ok({"avatar_profiles": [_avatar(request, a) for a in sandbox.avatars.profiles]})


async def get_avatar(request: Request) -> Response:
    """GET /avatar-profiles/{avatar_profile_id}."""
    return ok(_avatar(request, request.path_params["avatar_profile_id"]))


# -- social --------------------------------------------------------------------------------------
async def connect(request: Request) -> Response:
    """POST /social/connections -> ``{"platform", "connect_url"}``."""
    sandbox = mosaic_auth(request)
    connection = sandbox.social.connect(await json_body(request))
    url = f"{sandbox.public_base_url}/_sandbox/social/connect/{connection.connection_id}"
    return ok({"platform": connection.platform, "connect_url": url})


async def connections(request: Request) -> Response:
    """GET /social/connections."""
    sandbox = mosaic_auth(request)
    return ok({"connected_accounts": [c.summary() for c in sandbox.social.connections.values()]})


async def connection(request: Request) -> Response:
    """GET /social/connections/{social_connection_id}."""
    sandbox = mosaic_auth(request)
    return ok(sandbox.social.connection(request.path_params["social_connection_id"]).detail())


async def disconnect(request: Request) -> Response:
    """DELETE /social/connections/{social_connection_id}."""
    sandbox = mosaic_auth(request)
    found = sandbox.social.connection(request.path_params["social_connection_id"])
    del sandbox.social.connections[found.connection_id]
    return ok({"success": True, "platform": found.platform, "social_connection_id": found.connection_id})


async def publish(request: Request) -> Response:
    """POST /social/post."""
    sandbox = mosaic_auth(request)
    older = sandbox.config.social_requires_platforms
    post = sandbox.social.publish(await json_body(request), sandbox.now(), require_platforms=older)
    return ok(post_result(post, sandbox.now()))


async def posts(request: Request) -> Response:
    """GET /social/posts (default limit 20, newest first)."""
    sandbox = mosaic_auth(request)
    status, platform = request.query_params.get("status"), request.query_params.get("platform")
    if status is not None and status not in POST_STATUSES:
        raise bad_request(f"status must be one of {', '.join(POST_STATUSES)}")
    if platform is not None and platform not in PLATFORMS:
        raise bad_request(f"platform must be one of {', '.join(PLATFORMS)}")
    found = sandbox.social.listing(sandbox.now(), status, platform, request.query_params.get("social_connection_id"))

    def key(post: Post) -> tuple[float, str]:
        return post.created_at, f"{post.seq:012d}"

    page, cursor = paginate(request, found, key, default=20)
    field = sandbox.config.social_posts_cursor_field  # its name is undocumented: the sandbox plays each
    return ok({"posts": [post_view(p, sandbox.now()) for p in page], field: cursor})


async def post_detail(request: Request) -> Response:
    """GET | PATCH | DELETE /social/post/{post_id}."""
    sandbox = mosaic_auth(request)
    post = sandbox.social.post(request.path_params["post_id"])
    if request.method == "PATCH":
        return ok(sandbox.social.patch(post, await json_body(request), sandbox.now()))
    if request.method == "DELETE":
        post.deleted = True
        return ok(
            {"post_id": post.post_id, "status": "deleted", "tracking_id": post.tracking_id, "tracked_status": "deleted"}
        )
    return ok(post_view(post, sandbox.now()))


async def post_analytics(request: Request) -> Response:
    """GET /social/post/{post_id}/analytics ([INFERRED] shape)."""
    sandbox = mosaic_auth(request)
    return ok(analytics_view(sandbox.social.post(request.path_params["post_id"])))


async def post_comments(request: Request) -> Response:
    """GET /social/post/{post_id}/comments ([INFERRED] shape: no comments in the sandbox)."""
    sandbox = mosaic_auth(request)
    post = sandbox.social.post(request.path_params["post_id"])
    return ok({"post_id": post.post_id, "comments": []})


async def post_track(request: Request) -> Response:
    """GET /social/post/track/{tracking_id}."""
    sandbox = mosaic_auth(request)
    return ok(track_view(sandbox.social.by_tracking(request.path_params["tracking_id"]), sandbox.now()))


# -- observability (read-only; the sandbox has no storage triggers) -------------------------------
async def storage_triggers(request: Request) -> Response:
    """GET /storage_triggers ([INFERRED] wrapper ``storage_triggers``)."""
    mosaic_auth(request)
    paginate(request, [], lambda _: (0.0, ""))
    return ok({"storage_triggers": [], "next_cursor": None})


async def storage_trigger_detail(request: Request) -> Response:
    """GET /storage_trigger/{trigger_id}/folders | /events: 404, none exist."""
    mosaic_auth(request)
    raise not_found("Storage trigger", request.path_params["trigger_id"])


async def automation_runs(request: Request) -> Response:
    """GET /automations/runs ([INFERRED] shape: the run summaries)."""
    sandbox = mosaic_auth(request)
    runs = sandbox.runs.listing(agent_id=request.query_params.get("agent_id") or None)
    page, cursor = paginate(request, runs, lambda r: (r.created_at, f"{r.seq:012d}"))
    return ok({"runs": [sandbox.runs.summary_view(r) for r in page], "next_cursor": cursor})


async def ingest_batches(request: Request) -> Response:
    """GET /automations/ingest-batches ([INFERRED] shape; always empty here)."""
    mosaic_auth(request)
    paginate(request, [], lambda _: (0.0, ""))
    return ok({"batches": [], "next_cursor": None})


ROUTES = [
    Route("/agent/{agent_id}/triggers", agent_triggers, methods=["GET"]),
    Route("/agent/{agent_id}/triggers/add_youtube_channels", add_channels, methods=["POST"]),
    Route("/agent/{agent_id}/triggers/remove_youtube_channels", remove_channels, methods=["POST"]),
    Route("/avatar-profiles/create", create_avatar, methods=["POST"]),
    Route("/avatar-profiles", list_avatars, methods=["GET"]),
    Route("/avatar-profiles/{avatar_profile_id}", get_avatar, methods=["GET"]),
    Route("/social/connections", connect, methods=["POST"]),
    Route("/social/connections", connections, methods=["GET"]),
    Route("/social/connections/{social_connection_id}", connection, methods=["GET"]),
    Route("/social/connections/{social_connection_id}", disconnect, methods=["DELETE"]),
    Route("/social/post", publish, methods=["POST"]),
    Route("/social/posts", posts, methods=["GET"]),
    Route("/social/post/track/{tracking_id}", post_track, methods=["GET"]),
    Route("/social/post/{post_id}", post_detail, methods=["GET", "PATCH", "DELETE"]),
    Route("/social/post/{post_id}/analytics", post_analytics, methods=["GET"]),
    Route("/social/post/{post_id}/comments", post_comments, methods=["GET"]),
    Route("/storage_triggers", storage_triggers, methods=["GET"]),
    Route("/storage_trigger/{trigger_id}/folders", storage_trigger_detail, methods=["GET"]),
    Route("/storage_trigger/{trigger_id}/events", storage_trigger_detail, methods=["GET"]),
    Route("/automations/runs", automation_runs, methods=["GET"]),
    Route("/automations/ingest-batches", ingest_batches, methods=["GET"]),
]

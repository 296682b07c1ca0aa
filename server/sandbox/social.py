"""Social publishing (reference 2.11): connections and posts, published or scheduled on the clock.

Shapes the docs do not show (analytics, comments, track, list items) are plausible stand-ins and
marked [INFERRED]. A new connection counts as connected at once (no OAuth round trip).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .clock import iso, parse_iso
from .errors import bad_request, mosaic_error, not_found
from .ids import IdFactory
from .run_inputs import is_http_url

PLATFORMS = ("x", "linkedin", "instagram", "facebook", "tiktok", "youtube")
POST_STATUSES = ("scheduled", "pending_approval", "processing", "posted", "partial_failure", "failed", "rejected")


@dataclass
class Connection:
    """A connected social account."""

    connection_id: str
    platform: str
    name: str

    def summary(self) -> dict[str, Any]:
        """An entry of GET /social/connections."""
        return {
            "social_connection_id": self.connection_id,
            "platform": self.platform,
            "account_name": self.name,
            "account_username": f"sandbox_{self.platform}",
            "profile_url": f"https://{self.platform}.example/sandbox_{self.platform}",
        }

    def detail(self) -> dict[str, Any]:
        """GET /social/connections/{id}."""
        return {
            **self.summary(),
            "connected": True,
            "username": f"sandbox_{self.platform}",
            "display_name": self.name,
            "user_image": None,
        }


@dataclass
class Post:
    """A published or scheduled post."""

    post_id: str
    tracking_id: str
    seq: int
    text: str
    media_urls: list[str]
    connections: list[Connection]
    created_at: float
    scheduled_at: float | None
    paused: bool = False
    notes: str | None = None
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def status(self, now: float) -> str:
        """``scheduled`` until its time (or while paused), then ``posted``."""
        if self.scheduled_at is not None and (now < self.scheduled_at or self.paused):
            return "scheduled"
        return "posted"

    def links(self, now: float) -> list[dict[str, Any]]:
        """Per-platform post URLs once posted."""
        if self.status(now) != "posted":
            return []
        return [
            {"platform": c.platform, "post_url": f"https://{c.platform}.example/p/{self.post_id[:8]}"}
            for c in self.connections
        ]


class SocialStore:
    """Connections and posts."""

    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids
        self.connections: dict[str, Connection] = {}
        self.posts: dict[str, Post] = {}
        self._seq = 0

    def connect(self, body: dict[str, Any]) -> Connection:
        """POST /social/connections."""
        platform = body.get("platform")
        if platform not in PLATFORMS:
            raise bad_request(f"platform must be one of {', '.join(PLATFORMS)}")
        name = body.get("connection_name") or f"Sandbox {platform} account"
        connection = Connection(self._ids.new(), platform, str(name))
        self.connections[connection.connection_id] = connection
        return connection

    def connection(self, connection_id: str) -> Connection:
        """A connection, or 404."""
        found = self.connections.get(connection_id)
        if found is None:
            raise not_found("Social connection", connection_id)
        return found

    def _targets(self, body: dict[str, Any], require_platforms: bool) -> list[Connection]:
        destinations, platforms = body.get("destinations"), body.get("platforms")
        if require_platforms and not platforms:
            raise bad_request("platforms is required: a list of platform names such as ['x', 'linkedin']")
        if destinations and not require_platforms:
            if not isinstance(destinations, list):
                raise bad_request("destinations must be an array")
            return [self.connection(str((d or {}).get("social_connection_id"))) for d in destinations]
        if platforms:
            targets = []
            for platform in platforms if isinstance(platforms, list) else [platforms]:
                match = next((c for c in self.connections.values() if c.platform == platform), None)
                if match is None:
                    raise bad_request(f"No connected {platform!r} account; connect one with POST /social/connections")
                targets.append(match)
            return targets
        raise bad_request("destinations (or platforms) is required")

    def publish(self, body: dict[str, Any], now: float, *, require_platforms: bool = False) -> Post:
        """POST /social/post: now, or at ``schedule_date``.

        The newer revision targets ``destinations`` (connection ids), the older requires ``platforms``
        (``require_platforms``: the older one, where ``destinations`` does not exist and is ignored).
        """
        targets = self._targets(body, require_platforms)
        text = body.get("post", "")
        media = body.get("media_urls", [])
        if not isinstance(text, str):
            raise bad_request("post must be a string")
        if not isinstance(media, list) or not all(is_http_url(u) for u in media):
            raise bad_request("media_urls must be an array of http(s) URLs")
        scheduled = body.get("schedule_date")
        try:
            when = parse_iso(scheduled) if isinstance(scheduled, str) else None
        except ValueError:
            raise bad_request("schedule_date must be an ISO-8601 datetime") from None
        known = {"destinations", "platforms", "post", "media_urls", "schedule_date", "workspace_id"}
        extra = {k: v for k, v in body.items() if k not in known}
        self._seq += 1
        post = Post(self._ids.new(), self._ids.new(), self._seq, text, list(media), targets, now, when, extra=extra)
        self.posts[post.post_id] = post
        return post

    def post(self, post_id: str) -> Post:
        """A live post, or 404."""
        found = self.posts.get(post_id)
        if found is None or found.deleted:
            raise not_found("Post", post_id)
        return found

    def by_tracking(self, tracking_id: str) -> Post:
        """A post by its tracking id, or 404."""
        for post in self.posts.values():
            if post.tracking_id == tracking_id:
                return post
        raise not_found("Tracking record", tracking_id)

    def patch(self, post: Post, body: dict[str, Any], now: float) -> dict[str, Any]:
        """PATCH a scheduled post (409 once it is posted)."""
        if post.status(now) != "scheduled":
            raise mosaic_error(409, f"Post {post.post_id} is already posted and cannot be changed")
        if "schedule_date" in body:
            try:
                post.scheduled_at = parse_iso(str(body["schedule_date"]))
            except ValueError:
                raise bad_request("schedule_date must be an ISO-8601 datetime") from None
        if "scheduled_pause" in body:
            post.paused = bool(body["scheduled_pause"])
        if "notes" in body:
            post.notes = str(body["notes"])
        return {"post_id": post.post_id, "status": "success"}

    def listing(self, now: float, status: str | None, platform: str | None, connection_id: str | None) -> list[Post]:
        """Live posts matching the filters, newest first."""
        posts = [p for p in self.posts.values() if not p.deleted]
        if status is not None:
            posts = [p for p in posts if p.status(now) == status]
        if platform is not None:
            posts = [p for p in posts if any(c.platform == platform for c in p.connections)]
        if connection_id is not None:
            posts = [p for p in posts if any(c.connection_id == connection_id for c in p.connections)]
        return sorted(posts, key=lambda p: p.seq, reverse=True)


def post_result(post: Post, now: float) -> dict[str, Any]:
    """The POST /social/post body (earlier-revision shape)."""
    status = post.status(now)
    return {
        "post_id": post.post_id,
        "status": "success" if status == "posted" else "scheduled",
        "links": post.links(now),
        "results": [
            {
                "platform": c.platform,
                "status": "success" if status == "posted" else "scheduled",
                "post_id": post.post_id,
                "post_url": link["post_url"],
            }
            for c, link in zip(post.connections, post.links(now), strict=False)
        ],
        "error": None,
        "tracking_id": post.tracking_id,
        "tracked_status": status,
    }


def post_view(post: Post, now: float) -> dict[str, Any]:
    """A post as listed / fetched ([INFERRED] beyond the documented list fields)."""
    return {
        "post_id": post.post_id,
        "status": post.status(now),
        "description": post.text,
        "thumbnail_url": None,
        "scheduled_at": iso(post.scheduled_at) if post.scheduled_at is not None else None,
        "platforms": [c.platform for c in post.connections],
        "destinations": [c.summary() for c in post.connections],
        "media_urls": list(post.media_urls),
        "links": post.links(now),
        "tracking_id": post.tracking_id,
        "created_at": iso(post.created_at),
    }


def track_view(post: Post, now: float) -> dict[str, Any]:
    """GET /social/post/track/{id} ([3P] shape)."""
    return {
        "tracking_id": post.tracking_id,
        "provider_post_id": post.post_id,
        "status": post.status(now),
        "scheduled_at": iso(post.scheduled_at) if post.scheduled_at is not None else None,
        "platforms": [c.platform for c in post.connections],
        "links": post.links(now),
        "results": post_result(post, now)["results"],
        "error": None,
        "created_at": iso(post.created_at),
        "updated_at": iso(max(post.created_at, min(now, post.scheduled_at or post.created_at))),
    }


def analytics_view(post: Post) -> dict[str, Any]:
    """GET /social/post/{id}/analytics ([INFERRED]: shape not captured); deterministic numbers."""
    seed = int(hashlib.sha256(post.post_id.encode()).hexdigest()[:8], 16)
    return {
        "post_id": post.post_id,
        "analytics": [
            {
                "platform": c.platform,
                "views": seed % 10_000,
                "likes": seed % 500,
                "comments": seed % 40,
                "shares": seed % 25,
            }
            for c in post.connections
        ],
    }

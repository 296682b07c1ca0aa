"""The media origins a job's snapshot links to: what the job card's CSP must allow to show them.

An origin is `scheme://host[:port]` of an http(s) URL, as a Content-Security-Policy source lists it
(`resourceDomains` of an MCP Apps view maps to `img-src` and `media-src`). Pure functions; the
journal keeps every origin it has seen (`Journal.media_origins`).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from .snapshot import JobSnapshot


def origin_of(url: str | None) -> str | None:
    """`https://cdn.example.com:8443/a/b.mp4?sig=…` → `https://cdn.example.com:8443`; None for other schemes."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or "*" in host:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets in an origin
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def snapshot_origins(snapshot: JobSnapshot) -> set[str]:
    """The origins of every video and thumbnail a snapshot shows."""
    urls = (u for o in snapshot.outputs for u in (o.video_url, o.thumbnail_url))
    return {origin for origin in map(origin_of, urls) if origin is not None}


def all_origins(snapshots: Iterable[JobSnapshot]) -> set[str]:
    """The union of `snapshot_origins` over many snapshots."""
    return {origin for snapshot in snapshots for origin in snapshot_origins(snapshot)}

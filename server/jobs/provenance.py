"""Provenance of a job's media: the `sources[]` of Motion sessions and of Mosaic outputs.

Both APIs document `sources[]` as the audit trail for licensed and external media (Getty b-roll,
Pexels, web search, uploads, generated), but neither spells out the entries' field names: Motion
lists a source kind, a provider, source and display URLs, a rights status and usages; Mosaic a
provider asset id, a query, a usage window, placement and rights metadata (reference sections 2.4
and 4). So each entry is read leniently into the few things a person checks: who provided it,
under what rights, and where to see it.
"""

from typing import Any

from pydantic import BaseModel, Field

from ..redact import scrub

MAX_SOURCES = 100
"""An output lists at most this many sources (a longer list is cut there)."""

MAX_URLS = 5


class MediaSource(BaseModel):
    """One piece of media a video used, and its rights."""

    provider: str | None = Field(default=None, description="Who supplied it (e.g. getty, pexels, user_upload).")
    kind: str | None = Field(default=None, description="The service's source kind (stock, web, upload, generated…).")
    rights_status: str | None = Field(default=None, description="The rights or licence status the service reports.")
    urls: list[str] = Field(default_factory=list, description="Source and display links the service gives.")


def media_sources(raw: list[Any]) -> list[MediaSource]:
    """The readable part of a `sources[]` list; entries that are not objects are skipped."""
    return [_source(entry) for entry in raw[:MAX_SOURCES] if isinstance(entry, dict)]


def _source(entry: dict[str, Any]) -> MediaSource:
    rights = entry.get("rights")
    rights_status = _text(entry, "rights_status", "license_status", "licence_status", "license")
    if rights_status is None and isinstance(rights, dict):
        rights_status = _text(rights, "status", "rights_status", "license", "type")
    elif rights_status is None:
        rights_status = _plain(rights)
    provider = entry.get("provider")
    return MediaSource(
        provider=_text(provider, "name", "id") if isinstance(provider, dict) else _plain(provider),
        kind=_text(entry, "source_kind", "kind", "type"),
        rights_status=rights_status,
        urls=_urls(entry),
    )


def _text(mapping: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = _plain(mapping.get(key))
        if value is not None:
            return value
    return None


def _plain(value: object) -> str | None:
    return scrub(value)[:200] if isinstance(value, str) and value else None


def _urls(entry: dict[str, Any]) -> list[str]:
    """Every http(s) link among the entry's `url` / `*_url` fields, in order, without duplicates."""
    links = [
        value
        for key, value in entry.items()
        if (key == "url" or key.endswith("_url"))
        and isinstance(value, str)
        and value.startswith(("https://", "http://"))
    ]
    return list(dict.fromkeys(links))[:MAX_URLS]

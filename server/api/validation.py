"""Documented input rules, checked before any request is sent (DESIGN.md section 6).

Every check raises `InvalidInputError(field, rule)`: the message names the field and the rule and
never echoes the offending value (it may be long, or private). Graph-aware run checks need the
agent's graph, so they live in `validate_run_against_graph`, which the caller runs when it has
fetched the agent.

What can never be right is refused here too, whatever the endpoint: control characters in ids,
URLs and query values; lists, ids, URLs and query values longer than the limits below; callback
URLs to this machine, its network or a cloud metadata service (`check_callback_url`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, TypeAdapter, ValidationError

from . import rules
from .errors import InvalidInputError
from .models import ASSET_KINDS, AgentDetail
from .requests import (
    VIDEO_INPUT_NODE_TYPE_ID,
    Attachment,
    CreateConnectionOp,
    CreateNodeOp,
    DeleteConnectionOp,
    DesignMd,
    FollowupRequest,
    GraphOperation,
    MimirAsset,
    MotionSessionRequest,
    RunRequest,
    UpdateNodeOp,
    VideoInput,
)

ModelT = TypeVar("ModelT", bound=BaseModel)

# Enums and limits come from the rule aliases (rules.py), declared once for tools, models and checks.
ASPECT_RATIOS = rules.choices(rules.AspectRatio)
DURATIONS = rules.choices(rules.Duration)
MOTION_MODES = rules.choices(rules.MotionMode)
ATTACHMENT_TYPES = rules.choices(rules.AttachmentType)
DESIGN_SYSTEM_IDS = rules.choices(rules.DesignSystemId)
PLAN_IDS = rules.choices(rules.PlanId)
MIMIR_ARTIFACTS = rules.choices(rules.MimirArtifact)
SOCIAL_PLATFORMS = rules.choices(rules.SocialPlatform)
SOCIAL_POST_STATUSES = rules.choices(rules.SocialPostStatus)
VISIBILITIES = rules.choices(rules.Visibility)
YOUTUBE_HOSTS = rules.YOUTUBE_HOSTS

MAX_PROMPT = rules.max_length(rules.PromptText)
MAX_ATTACHMENTS = rules.MAX_ATTACHMENTS
MAX_URL = 4_096
"""Any URL we send: video_urls, callback and redirect URLs, attachments, media."""
MAX_ATTACHMENT_URL = rules.max_length(rules.AttachmentUrl)
MAX_ID = rules.max_length(rules.ApiId)
"""Any id, in a path, a body or a query."""
MAX_QUERY_VALUE = 2_048
"""One query parameter (a cursor, a status list, a date)."""
MAX_SOURCES = 100
"""Videos given to one input of a run: video_urls, video_ids (local files included), node_render_ids."""
MAX_GRAPH_ITEMS = 500
"""Tiles named in one call: video_inputs, ignore_nodes, update_params, graph operations."""
MAX_LIST = 100
"""Other lists: YouTube channels, post destinations, platforms and media."""
MAX_POST = 10_000
MAX_NOTES = 5_000
MAX_ATTACHMENT_NAME = rules.max_length(rules.AttachmentName)
MAX_DESIGN_MD = rules.max_length(rules.DesignMdText)
MAX_AGENT_NAME = rules.max_length(rules.AgentName)
MAX_AGENT_DESCRIPTION = rules.max_length(rules.AgentDescription)


# --- primitives ------------------------------------------------------------------------------


def _fail(field: str, rule: str) -> InvalidInputError:
    return InvalidInputError(field, rule)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0 controls (NUL, TAB, LF, CR…), DEL and C1 controls."""


def _short(key: str, limit: int = 80) -> str:
    """A caller-chosen key inside a field path: control characters escaped, cut to stay readable."""
    key = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", key)
    return key if len(key) <= limit else key[: limit - 1] + "…"


def check_no_control(field: str, value: str) -> None:
    """`value` must contain no control character (NUL, CR, LF, TAB, DEL, C1…)."""
    if _CONTROL.search(value):
        raise _fail(field, "must not contain control characters (NUL, CR, LF, TAB, DEL…)")


def check_count(field: str, items: Collection[Any], maximum: int) -> None:
    """A list of at most `maximum` items."""
    if len(items) > maximum:
        raise _fail(field, f"takes at most {maximum:,} items (got {len(items):,})")


def check_length(field: str, value: str, *, minimum: int = 0, maximum: int) -> None:
    """`value` must be a string of between `minimum` and `maximum` characters."""
    if not isinstance(value, str):
        raise _fail(field, "must be a string")
    if not minimum <= len(value) <= maximum:
        low = "at most" if minimum == 0 else f"between {minimum:,} and"
        raise _fail(field, f"must be {low} {maximum:,} characters long (got {len(value):,})")


def check_choice(field: str, value: str, choices: Iterable[str]) -> None:
    """`value` must be one of `choices`."""
    options = tuple(choices)
    if value not in options:
        raise _fail(field, f"must be one of {', '.join(options)}")


def check_range(field: str, value: float, minimum: float, maximum: float) -> None:
    """`value` must be a number within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(field, "must be a number")
    if not minimum <= value <= maximum:
        raise _fail(field, f"must be between {minimum:,} and {maximum:,}")


def check_limit(limit: int | None, *, field: str = "limit", maximum: int = 100) -> None:
    """A page size: an integer from 1 to `maximum`."""
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise _fail(field, "must be an integer")
    if not 1 <= limit <= maximum:
        raise _fail(field, f"must be between 1 and {maximum:,}")


def check_token(field: str, value: str) -> None:
    """An id in a body or a query: non-empty, at most MAX_ID characters, no control characters."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(field, "must be a non-empty id")
    if len(value) > MAX_ID or _CONTROL.search(value):
        raise _fail(field, f"must be an id as returned by the API (no control characters, at most {MAX_ID} characters)")


def check_id(field: str, value: str) -> None:
    """An id that goes into a URL path: a token with no slash and not a dot segment."""
    check_token(field, value)
    if "/" in value or "\\" in value or value in {".", ".."}:
        raise _fail(field, f"must be an id as returned by the API (no slashes, at most {MAX_ID} characters)")


def check_query(params: Mapping[str, Any]) -> None:
    """Query parameters: each string at most MAX_QUERY_VALUE characters, without control characters."""
    for name, value in params.items():
        if isinstance(value, str):
            check_length(name, value, maximum=MAX_QUERY_VALUE)
            check_no_control(name, value)


def check_http_url(field: str, value: str, *, maximum: int = MAX_URL) -> None:
    """An absolute http(s) URL with a host, at most `maximum` characters, without control characters."""
    if not isinstance(value, str):
        raise _fail(field, "must be an http(s) URL")
    if len(value) > maximum:
        raise _fail(field, f"must be at most {maximum:,} characters long (got {len(value):,})")
    check_no_control(field, value)
    try:
        parts = urlsplit(value)
    except ValueError:
        raise _fail(field, "must be an http(s) URL") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise _fail(field, "must be an http(s) URL")


LOCAL_NAME_SUFFIXES = ("localhost", "local", "internal", "localdomain", "home.arpa")
"""Special-use names that resolve on this machine or its network (localhost, mDNS, metadata.google.internal…)."""


@dataclass(frozen=True)
class CallbackPolicy:
    """Where Mosaic may be asked to send webhooks (a run's or a trigger's callback URL)."""

    allow_private: bool = False
    """MOSAIC_MCP_ALLOW_PRIVATE_CALLBACKS: allow loopback, private and link-local addresses."""
    own_url: str | None = None
    """MOSAIC_MCP_PUBLIC_URL: this server's own address, always allowed (its /webhooks/mosaic)."""

    def is_own(self, url: str) -> bool:
        """Whether `url` points at this server's public URL (same scheme, host and port)."""
        if self.own_url is None:
            return False
        try:
            mine, theirs = urlsplit(self.own_url), urlsplit(url)
            return (mine.scheme, mine.hostname, mine.port) == (theirs.scheme, theirs.hostname, theirs.port)
        except ValueError:
            return False


def check_callback_url(field: str, value: str, policy: CallbackPolicy = CallbackPolicy()) -> None:
    """An http(s) URL Mosaic can reach: no loopback, private, link-local or metadata address, unless allowed.

    Only what the URL says is checked (literal IPs, in any notation, and special-use names); no
    DNS lookup is made, so a public name that resolves to a private address is the upstream's to refuse.
    """
    check_http_url(field, value)
    if policy.allow_private or policy.is_own(value):
        return
    problem = _local_host(urlsplit(value).hostname or "")
    if problem is not None:
        raise _fail(
            field,
            f"must be a public address Mosaic can reach, not {problem} "
            "(a person can allow such addresses with MOSAIC_MCP_ALLOW_PRIVATE_CALLBACKS=1)",
        )


def _local_host(host: str) -> str | None:
    """Why `host` is on this machine or its network, or None when it may be public."""
    name = host.rstrip(".").lower()
    address = _literal_ip(name)
    if address is not None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            return "a loopback, private, link-local, metadata or reserved IP address"
        return None
    if "." not in name:
        return "a single-label host name (resolved on the local network)"
    if any(name == suffix or name.endswith("." + suffix) for suffix in LOCAL_NAME_SUFFIXES):
        return "a local or internal host name"
    return None


def _literal_ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address `name` spells, also in the legacy IPv4 forms resolvers accept (2130706433, 127.1, 0x7f.1)."""
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except (OSError, ValueError):
        return None


def is_youtube_url(value: str) -> bool:
    """Whether `value` is an http(s) URL on a YouTube host (youtube.com, www., m., music., youtu.be)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and (parts.hostname or "").lower() in YOUTUBE_HOSTS


def check_youtube_url(field: str, value: str) -> None:
    """A YouTube video URL."""
    check_http_url(field, value)
    if not is_youtube_url(value):
        raise _fail(field, "must be a YouTube URL (https://www.youtube.com/…, https://youtu.be/…)")


def check_timestamp(field: str, value: str | datetime | date | None) -> str | None:
    """An ISO-8601 date or date-time; returned as the string to send."""
    if value is None or isinstance(value, datetime | date):
        return None if value is None else value.isoformat()
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise _fail(field, "must be an ISO-8601 date or date-time, e.g. 2026-03-02T09:00:00Z") from None
    return value.strip()


def check_status_filter(value: str | Sequence[str] | None) -> str | None:
    """Run statuses as the comma-separated string the list endpoints take."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    cleaned = [item.strip() for item in items if isinstance(item, str) and item.strip()]
    if not cleaned or any(not item.replace("_", "").isalpha() for item in cleaned):
        raise _fail("status", "must be run statuses such as running, completed, partial_complete, failed")
    return ",".join(cleaned)


def parse_model(model: type[ModelT], data: Any, *, field: str | None = None) -> ModelT:
    """Build a request model from plain data, turning pydantic's error into InvalidInputError."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _from_validation_error(exc, field) from None


def parse_operations(operations: Sequence[GraphOperation | Mapping[str, Any]]) -> list[GraphOperation]:
    """Graph operations from models or dicts (discriminated on `op`)."""
    try:
        return TypeAdapter(list[GraphOperation]).validate_python(list(operations))
    except ValidationError as exc:
        raise _from_validation_error(exc, "operations") from None


def _from_validation_error(exc: ValidationError, prefix: str | None) -> InvalidInputError:
    # Only the first problem: one actionable message beats a wall of them. No input echoed.
    error = exc.errors(include_input=False, include_url=False)[0]
    path = prefix or ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return _fail(path or "input", error["msg"])


# --- Motion ----------------------------------------------------------------------------------


def validate_attachments(attachments: Sequence[Attachment]) -> None:
    """At most 10 attachments, each an http(s) URL with a documented name and type."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise _fail("attachments", f"at most {MAX_ATTACHMENTS} attachments are allowed")
    for i, item in enumerate(attachments):
        check_http_url(f"attachments[{i}].url", item.url, maximum=MAX_ATTACHMENT_URL)
        if item.name is not None:
            check_length(f"attachments[{i}].name", item.name, maximum=MAX_ATTACHMENT_NAME)
        if item.type is not None:
            check_choice(f"attachments[{i}].type", item.type, ATTACHMENT_TYPES)


def _validate_motion_common(prompt: str, style_reference_url: str | None, mode: str | None) -> None:
    check_length("prompt", prompt, minimum=rules.min_length(rules.PromptText), maximum=MAX_PROMPT)
    if not prompt.strip():
        raise _fail("prompt", "must not be blank")
    if style_reference_url is not None:
        check_youtube_url("style_reference_url", style_reference_url)
    if mode is not None:
        check_choice("mode", mode, MOTION_MODES)


def validate_motion_session(request: MotionSessionRequest) -> None:
    """Every documented rule of POST /sessions."""
    _validate_motion_common(request.prompt, request.style_reference_url, request.mode)
    validate_attachments(request.attachments)
    if request.aspect_ratio is not None:
        check_choice("aspect_ratio", request.aspect_ratio, ASPECT_RATIOS)
    if request.duration is not None:
        check_choice("duration", request.duration, DURATIONS)
    if request.design_system_id is not None:
        check_choice("design_system_id", request.design_system_id, DESIGN_SYSTEM_IDS)
    _check_design_md(request.design_md)


def _check_design_md(design: DesignMd | str | None) -> None:
    """The documented DESIGN.md, as plain text or as `{filename?, content}`."""
    minimum = rules.min_length(rules.DesignMdText)
    if isinstance(design, str):
        check_length("design_md", design, minimum=minimum, maximum=MAX_DESIGN_MD)
    elif design is not None:
        check_length("design_md.content", design.content, minimum=minimum, maximum=MAX_DESIGN_MD)
        if design.filename is not None:
            low, high = rules.min_length(rules.DesignMdFilename), rules.max_length(rules.DesignMdFilename)
            check_length("design_md.filename", design.filename, minimum=low, maximum=high)


def validate_followup(request: FollowupRequest) -> None:
    """The rules of a follow-up (create's rules for the fields it shares)."""
    _validate_motion_common(request.prompt, request.style_reference_url, request.mode)
    validate_attachments(request.attachments)


# --- runs ------------------------------------------------------------------------------------


def _check_mimir_assets(prefix: str, assets: Sequence[MimirAsset]) -> None:
    """Mimir assets: each an id as the integration gives it, and a documented artifact."""
    check_count(f"{prefix}mimir_assets", assets, MAX_SOURCES)
    for i, asset in enumerate(assets):
        check_token(f"{prefix}mimir_assets[{i}].id", asset.id)
        if asset.artifact is not None:
            check_choice(f"{prefix}mimir_assets[{i}].artifact", asset.artifact, MIMIR_ARTIFACTS)


def _check_sources(prefix: str, video_urls: Sequence[str], ids: Mapping[str, Sequence[str]]) -> None:
    check_count(f"{prefix}video_urls", video_urls, MAX_SOURCES)
    for i, url in enumerate(video_urls):
        # A YouTube link is an http(s) URL too; anything else (file://, gs://, bare paths) is refused.
        check_http_url(f"{prefix}video_urls[{i}]", url)
    for name, values in ids.items():
        check_count(f"{prefix}{name}", values, MAX_SOURCES)
        for i, value in enumerate(values):
            check_token(f"{prefix}{name}[{i}]", value)


def _check_video_input(index: int, entry: VideoInput) -> None:
    prefix = f"video_inputs[{index}]."
    if not entry.agent_node_id.strip():
        raise _fail(f"{prefix}agent_node_id", "is required (the Video Input tile this entry feeds)")
    check_token(f"{prefix}agent_node_id", entry.agent_node_id)
    if not entry.has_source:
        raise _fail(
            f"video_inputs[{index}]",
            "needs at least one source: video_ids, node_render_ids, video_urls or mimir_assets",
        )
    _check_sources(prefix, entry.video_urls, {"video_ids": entry.video_ids, "node_render_ids": entry.node_render_ids})
    _check_mimir_assets(prefix, entry.mimir_assets)
    start, end = entry.input_clip_start_ms, entry.input_clip_end_ms
    for name, value in (("input_clip_start_ms", start), ("input_clip_end_ms", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise _fail(f"{prefix}{name}", "must be a non-negative integer number of milliseconds")
    if start is not None and end is not None and start >= end:
        raise _fail(f"{prefix}input_clip_end_ms", "must be greater than input_clip_start_ms")


def validate_run_request(request: RunRequest, callbacks: CallbackPolicy = CallbackPolicy()) -> None:
    """The rules of POST /agent/{id}/run that need no knowledge of the graph."""
    check_count("video_inputs", request.video_inputs, MAX_GRAPH_ITEMS)
    check_count("ignore_nodes", request.ignore_nodes, MAX_GRAPH_ITEMS)
    check_count("update_params", request.update_params, MAX_GRAPH_ITEMS)
    if request.video_inputs and request.has_top_level_inputs:
        raise _fail(
            "video_inputs",
            "cannot be combined with the top-level video_ids/node_render_ids/video_urls/mimir_assets; "
            "use one form or the other",
        )
    for i, entry in enumerate(request.video_inputs):
        _check_video_input(i, entry)
    _check_sources("", request.video_urls, {"video_ids": request.video_ids, "node_render_ids": request.node_render_ids})
    _check_mimir_assets("", request.mimir_assets)
    if request.callback_url is not None:
        check_callback_url("callback_url", request.callback_url, callbacks)
    for node_id, params in request.update_params.items():
        check_token(f"update_params.{_short(node_id)}", node_id)
        if not isinstance(params, Mapping):
            raise _fail(f"update_params.{_short(node_id)}", "must be an object of parameter names to values")
    for i, node_id in enumerate(request.ignore_nodes):
        if not node_id.strip():
            raise _fail(f"ignore_nodes[{i}]", "must be a non-empty agent_node_id")
        check_token(f"ignore_nodes[{i}]", node_id)


def validate_run_against_graph(request: RunRequest, agent: AgentDetail) -> None:
    """The run rules that depend on the agent's graph (its Video Input tiles and node ids)."""
    node_ids = {node.agent_node_id for node in agent.agent_nodes}
    inputs = [n.agent_node_id for n in agent.agent_nodes if n.node_type.node_type_id == VIDEO_INPUT_NODE_TYPE_ID]
    for i, node_id in enumerate(request.ignore_nodes):
        if node_id not in node_ids:
            raise _fail(f"ignore_nodes[{i}]", "must be an agent_node_id of this agent's graph (see get_agent)")
    for node_id in request.update_params:
        if node_id not in node_ids:
            raise _fail(f"update_params.{_short(node_id)}", "keys must be agent_node_ids of this agent's graph")
    runnable = [node_id for node_id in inputs if node_id not in request.ignore_nodes]
    if not inputs:
        if request.has_inputs:
            raise _fail(
                "video_inputs" if request.video_inputs else "video_urls",
                "this agent is generation-only (no Video Input tile) and takes no video inputs",
            )
        return
    if runnable and not request.has_inputs:
        tiles = ", ".join(runnable)
        raise _fail(
            "video_inputs" if len(runnable) > 1 else "video_urls",
            f"this agent has {len(runnable)} Video Input tile(s) ({_short(tiles)}) and needs a video for each: "
            "give video_urls, video_ids, files, node_render_ids or mimir_assets"
            + (" in video_inputs, one entry per tile" if len(runnable) > 1 else "")
            + " (see get_agent); nothing was run",
        )
    if request.has_top_level_inputs and len(runnable) > 1:
        raise _fail(
            "video_inputs",
            f"this agent has {len(runnable)} Video Input tiles: send video_inputs with one entry per tile "
            "instead of the top-level arrays",
        )
    if request.video_inputs:
        _check_video_inputs_cover(request.video_inputs, runnable)


def _check_video_inputs_cover(entries: Sequence[VideoInput], runnable: Sequence[str]) -> None:
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry.agent_node_id not in runnable:
            raise _fail(f"video_inputs[{i}].agent_node_id", "must be the id of a Video Input tile of this agent")
        if entry.agent_node_id in seen:
            raise _fail(f"video_inputs[{i}].agent_node_id", "appears twice; give one entry per Video Input tile")
        seen.add(entry.agent_node_id)
    missing = [node_id for node_id in runnable if node_id not in seen]
    if missing:
        raise _fail("video_inputs", f"needs an entry for every Video Input tile; missing {', '.join(missing)}")


# --- agents ----------------------------------------------------------------------------------


def validate_agent_fields(name: str | None, description: str | None, visibility: str | None) -> None:
    """Agent metadata: name 1–120, description ≤ 5000, visibility public|private."""
    if name is not None:
        check_length("name", name, minimum=rules.min_length(rules.AgentName), maximum=MAX_AGENT_NAME)
    if description is not None:
        check_length("description", description, maximum=MAX_AGENT_DESCRIPTION)
    if visibility is not None:
        check_choice("visibility", visibility, VISIBILITIES)


def validate_operations(operations: Sequence[GraphOperation]) -> None:
    """Graph operations: ids present, connections with exactly one source and one target."""
    check_count("operations", operations, MAX_GRAPH_ITEMS)
    for i, op in enumerate(operations):
        where = f"operations[{i}]"
        if isinstance(op, CreateNodeOp):
            check_id(f"{where}.node_type_id", op.node_type_id)
        elif isinstance(op, UpdateNodeOp) and not op.params_used:
            raise _fail(f"{where}.params_used", "must be a non-empty object of parameters to merge")
        elif isinstance(op, CreateConnectionOp | DeleteConnectionOp):
            for end in ("source", "target"):
                given = [f for f in (f"{end}_agent_node_id", f"{end}_temp_ref_id") if getattr(op, f)]
                if len(given) != 1:
                    raise _fail(
                        f"{where}.{end}",
                        f"give exactly one of {end}_agent_node_id or {end}_temp_ref_id",
                    )


# --- account, assets, avatars, triggers, social ----------------------------------------------


def check_asset_kind(field: str, kind: str) -> None:
    """One of video, audio, image."""
    check_choice(field, kind, ASSET_KINDS)


def validate_auto_topup(threshold: float, quantity: float) -> None:
    """Auto top-up threshold and quantity: 0–1,000,000."""
    check_range("auto_topup.threshold", threshold, *rules.bounds(rules.TopupAmount))
    check_range("auto_topup.quantity", quantity, *rules.bounds(rules.TopupAmount))


def validate_credit_purchase(credits: float, success_url: str | None, cancel_url: str | None) -> None:
    """Credits to buy: 100–1,000,000; redirect URLs http(s)."""
    check_range("credits", credits, *rules.bounds(rules.CreditAmount))
    _optional_urls(success_url=success_url, cancel_url=cancel_url)


def validate_plan_upgrade(plan_id: str, success_url: str | None, cancel_url: str | None) -> None:
    """A documented plan id; redirect URLs http(s)."""
    check_choice("plan_id", plan_id, PLAN_IDS)
    _optional_urls(success_url=success_url, cancel_url=cancel_url)


def _optional_urls(**urls: str | None) -> None:
    for field, url in urls.items():
        if url is not None:
            check_http_url(field, url)


def validate_avatar_sources(name: str, sources: Mapping[str, str]) -> None:
    """A name, and a video (URL or id) or an image plus audio of the same person."""
    check_length("name", name, minimum=1, maximum=MAX_AGENT_NAME)
    known = ("video_url", "image_url", "audio_url", "video_id", "image_id", "audio_id")
    for key, value in sources.items():
        if key not in known:
            raise _fail(f"sources.{key}", f"is not a known source; use {', '.join(known)}")
        if key.endswith("_url"):
            check_http_url(f"sources.{key}", value)
        else:
            check_id(f"sources.{key}", value)
    has = {kind for kind in ("video", "image", "audio") if sources.get(f"{kind}_url") or sources.get(f"{kind}_id")}
    if "video" not in has and not {"image", "audio"} <= has:
        raise _fail("sources.video_url", "needs a video (video_url or video_id), or an image plus an audio source")


def validate_youtube_channels(channels: Sequence[str]) -> None:
    """At least one channel id (UC…) or channel URL."""
    if not channels:
        raise _fail("youtube_channels", "needs at least one channel id (UC…) or channel URL")
    check_count("youtube_channels", channels, MAX_LIST)
    for i, channel in enumerate(channels):
        if not channel.strip():
            raise _fail(f"youtube_channels[{i}]", "must be a channel id (UC…) or a YouTube channel URL")
        if "://" in channel:
            check_youtube_url(f"youtube_channels[{i}]", channel)
        else:
            check_token(f"youtube_channels[{i}]", channel)


def validate_duration_filter(min_seconds: int | None, max_seconds: int | None) -> None:
    """Trigger duration filter: non-negative whole seconds, min ≤ max."""
    for name, value in (("min_seconds", min_seconds), ("max_seconds", max_seconds)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise _fail(f"filter_options.duration.{name}", "must be a non-negative whole number of seconds")
    if min_seconds is not None and max_seconds is not None and min_seconds > max_seconds:
        raise _fail("filter_options.duration.min_seconds", "must not exceed max_seconds")


def check_platform(field: str, platform: str) -> None:
    """One of the documented social platforms."""
    check_choice(field, platform, SOCIAL_PLATFORMS)


def validate_social_post(
    destinations: Sequence[str],
    platforms: Sequence[str],
    media_urls: Sequence[str],
    schedule_date: str | None,
) -> None:
    """A post needs a destination account (or, older form, a platform); media as http(s) URLs."""
    if not destinations and not platforms:
        raise _fail(
            "destinations",
            "needs at least one social_connection_id (see list_social_connections), "
            "or give platforms (the older API form)",
        )
    check_count("destinations", destinations, MAX_LIST)
    check_count("platforms", platforms, MAX_LIST)
    check_count("media_urls", media_urls, MAX_LIST)
    for i, connection_id in enumerate(destinations):
        check_id(f"destinations[{i}]", connection_id)
    for i, platform in enumerate(platforms):
        check_platform(f"platforms[{i}]", platform)
    for i, url in enumerate(media_urls):
        check_http_url(f"media_urls[{i}]", url)
    check_timestamp("schedule_date", schedule_date)

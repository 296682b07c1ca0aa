"""The documented input rules, declared once as types (reference sections 2 and 4).

Each enum is a `Literal` alias and each length limit an `Annotated` alias. The tool arguments
(`tools/`) and the request models (`requests.py`) are typed with these aliases, and `validation.py`
reads its allowed values and limits from them with `choices` and `max_length` instead of restating
them. Change a rule here and the tool schemas, the request models and the checks all follow.

The sandbox (`server/sandbox/`) keeps its own, independent copy: it plays the service, and
`tests/test_rule_agreement.py` asserts that both copies accept and refuse the same values.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from annotated_types import Ge, Le, MaxLen, MinLen

# --- Motion (reference section 4, POST /sessions) --------------------------------------------

AspectRatio = Literal["16:9", "9:16", "1:1", "4:5", "21:9"]
Duration = Literal["<10s", "10-30s", "30s-1min", "1-5min"]
MotionMode = Literal["light", "medium", "high"]
AttachmentType = Literal["image", "video", "audio", "file"]
DesignSystemId = Literal[
    "mosaic", "apple", "claude", "cursor", "linear", "vercel", "stripe", "figma", "notion", "spotify",
    "supabase", "raycast", "framer", "resend", "mintlify", "sentry", "tesla", "nike", "shopify",
    "airbnb", "posthog",
]  # fmt: skip

PromptText = Annotated[str, MinLen(1), MaxLen(12_000)]
"""A Motion prompt or follow-up instruction."""
DesignMdText = Annotated[str, MinLen(1), MaxLen(200_000)]
"""The content of a custom DESIGN.md."""
DesignMdFilename = Annotated[str, MinLen(1), MaxLen(255)]
"""The file name of a custom DESIGN.md (default "DESIGN.md"; no limit documented, so a file name's usual one)."""
AttachmentName = Annotated[str, MaxLen(240)]
AttachmentUrl = Annotated[str, MaxLen(4_096)]
MAX_ATTACHMENTS = 10
"""Attachments of one session or follow-up."""

YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be"})
"""Hosts of a YouTube video URL (style_reference_url, YouTube channel URLs)."""

# --- Mosaic (reference section 2) ------------------------------------------------------------

ApiId = Annotated[str, MinLen(1), MaxLen(200)]
"""Any id the API returns (agent, run, job, upload…), in a path, a body or a query."""

PlanId = Literal["creator", "creator_annual", "professional", "professional_annual", "pro"]
Visibility = Literal["public", "private"]
SocialPlatform = Literal["x", "linkedin", "instagram", "facebook", "tiktok", "youtube"]
SocialPostStatus = Literal[
    "scheduled", "pending_approval", "processing", "posted", "partial_failure", "failed", "rejected"
]  # fmt: skip
MimirArtifact = Literal["highres", "proxy", "auto"]
"""Which file of a Mimir asset a run reads (the service's default: highres)."""
AgentName = Annotated[str, MinLen(1), MaxLen(120)]
AgentDescription = Annotated[str, MaxLen(5_000)]
CreditAmount = Annotated[float, Ge(100), Le(1_000_000)]
"""Credits bought at once."""
TopupAmount = Annotated[float, Ge(0), Le(1_000_000)]
"""Auto top-up threshold and quantity."""


# --- reading the rules back ------------------------------------------------------------------


def choices(alias: Any) -> tuple[str, ...]:
    """The values a `Literal` alias allows, in their documented order."""
    if get_origin(alias) is not Literal:
        raise TypeError(f"{alias!r} is not a Literal alias")
    return tuple(str(value) for value in get_args(alias))


def _meta(alias: Any, kind: type[Any]) -> Any:
    for meta in getattr(alias, "__metadata__", ()):
        if isinstance(meta, kind):
            return meta
    return None


def max_length(alias: Any) -> int:
    """The `MaxLen` of an `Annotated` alias."""
    found = _meta(alias, MaxLen)
    if found is None:
        raise TypeError(f"{alias!r} declares no MaxLen")
    return int(found.max_length)


def min_length(alias: Any) -> int:
    """The `MinLen` of an `Annotated` alias (0 when it declares none)."""
    found = _meta(alias, MinLen)
    return 0 if found is None else int(found.min_length)


def bounds(alias: Any) -> tuple[float, float]:
    """The inclusive `Ge` and `Le` of an `Annotated` number alias."""
    low, high = _meta(alias, Ge), _meta(alias, Le)
    if low is None or high is None:
        raise TypeError(f"{alias!r} declares no Ge/Le")
    return low.ge, high.le

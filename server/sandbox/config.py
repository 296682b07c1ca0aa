"""Sandbox configuration: a plain dataclass, optionally read from ``MOSAIC_SANDBOX_*`` variables.

The variables are listed in the package docstring (``mosaic_mcp.server.sandbox``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

DAY = 86400.0


@dataclass
class SandboxConfig:
    """Everything that shapes one sandbox; defaults give a well-behaved emulator."""

    speed: float = 1.0
    """Virtual seconds per real second; 0 freezes the clock (tests then call ``advance``)."""
    seed: int = 0
    """Seed for ids, durations and random faults: same seed + same requests = same behaviour."""
    latency_ms: int = 0
    """Extra real delay added to every API request."""
    error_rate: float = 0.0
    """Probability that an API request answers 500."""
    rate_limit_rate: float = 0.0
    """Probability that an API request answers 429 with ``Retry-After``."""
    retry_after: int = 1
    """Seconds sent in ``Retry-After`` on 429s."""
    malformed_rate: float = 0.0
    """Probability that an API request answers 200 with a body that is not JSON."""
    drop_rate: float = 0.0
    """Probability that an API request's connection is cut mid-response."""
    credits: int = 5000
    """The Mosaic organisation's starting credit balance."""
    motion_credits: int = 2000
    """Starting Motion credit balance of each ``motion_`` key."""
    webhook_secret: str | None = None
    """When set, sent verbatim as ``X-Mosaic-Signature`` on webhook deliveries."""
    file_url_ttl_seconds: float = 7 * DAY
    """Lifetime (virtual) of signed output URLs (documented: 7 days)."""
    view_url_ttl_seconds: float = 3600.0
    """Lifetime (virtual) of ``get_view_url`` and avatar preview URLs (undocumented; 1 h)."""
    motion_url_ttl_seconds: float = DAY
    """Lifetime (virtual) of Motion ``download_url`` (undocumented; 24 h)."""
    upload_url_ttl_seconds: float = 3600.0
    """Lifetime (virtual) of an upload slot before the bytes arrive (older docs: 1 h)."""
    upload_max_bytes: int | None = None
    """Overrides every asset type's ``max_file_size_bytes`` (tests use a small value)."""
    plan_id: str | None = "creator"
    """The organisation's plan; ``None`` means no paid plan (buy/settings need checkout / 403)."""
    webhook_retries: int = 3
    """Retries after a failed webhook delivery (older docs: 3, exponential back-off)."""
    webhook_backoff_seconds: float = 0.2
    """First real back-off between webhook retries, doubled each time."""
    tick_interval_seconds: float = 0.05
    """Real seconds between background advances of the simulation (and webhook sends)."""

    # Readings of the docs where they are silent or disagree (reference §8). Each switch is off by
    # default (today's behaviour) and makes the sandbox play the other reading.

    # -- Motion session states
    motion_followup_keeps_id: bool = False
    """Follow-ups keep the parent's ``job_id`` instead of a new one, and the first polls after one still
    show the previous render (``completed``, its download URL); the revision's file gets a new URL."""
    motion_stale_polls: int = 2
    """With ``motion_followup_keeps_id``: how many polls after a follow-up still show the previous render."""
    motion_input_pause_seconds: float = 0.0
    """When > 0, each new session waits in ``awaiting_user_input`` (``pending_user_input: true``, with a
    ``web_url``) for this many virtual seconds once it would start running, then resumes."""
    motion_render_fails: bool = False
    """Each new session completes, then its MP4 render ends ``output.status: "failed"`` with ``output.error``."""
    provenance_sources: bool = False
    """Motion sessions (once completed) and Mosaic outputs list ``sources[]`` entries (documented; may be empty)."""

    # -- Motion inputs and answers
    motion_minimum_one_credit: bool = False
    """Newer credits guide: a Motion session needs 1 credit to start (402 quotes ``minimum_required_credits: 1``);
    off: the older guide's 300."""
    motion_without_pro_plan: bool = False
    """The Motion key's user has no Pro/Max plan: ``design_system_id`` and ``design_md`` are refused
    (403 ``motion_pro_feature_required``); off: every option is allowed."""

    # -- Mosaic answers
    needs_credits_camel: bool = False
    """Runs and nodes say ``needsCredits`` instead of ``needs_credits`` (the vendor skill names both)."""
    credits_nested: bool = False
    """GET /credits answers the older nested ``{"credits": {"balance": …}}`` instead of a flat ``balance``."""
    social_requires_platforms: bool = False
    """POST /social/post requires ``platforms`` (older revision) instead of ``destinations``."""
    string_errors: bool = False
    """``errors[]`` of runs and nodes are plain strings (documented for nodes) instead of objects."""
    cancel_finished_status: int = 409
    """The 4xx a cancel of an already finished run answers (undocumented; 400, 409 and 422 are plausible)."""
    rate_limit_without_retry_after: bool = False
    """429s carry no ``Retry-After`` header (none is documented)."""
    social_posts_cursor_field: str = "next_cursor"
    """The field GET /social/posts names its next-page cursor in (undocumented; ``next_cursor`` is inferred)."""
    whoami_scopes: tuple[str, ...] | None = None
    """The key's scopes GET /whoami reports (None = full access, the default)."""
    whoami_scopes_nested: bool = False
    """GET /whoami puts ``scopes`` under ``key`` instead of at the top level (its placement is undocumented)."""

    # -- persistence
    state_dir: str | None = None
    """Folder where the emulated account (agents, runs, sessions, uploads, credits, uploaded bytes) is
    saved after every request and restored on start, with its clock and port; None keeps it in memory
    only, as before (``serve --sandbox`` uses ``$MOSAIC_MCP_HOME/sandbox``)."""


_ENV_PREFIX = "MOSAIC_SANDBOX_"
_ENV_NAMES: dict[str, str] = {
    "SPEED": "speed",
    "SEED": "seed",
    "LATENCY_MS": "latency_ms",
    "ERROR_RATE": "error_rate",
    "RATE_LIMIT_RATE": "rate_limit_rate",
    "RETRY_AFTER": "retry_after",
    "MALFORMED_RATE": "malformed_rate",
    "DROP_RATE": "drop_rate",
    "CREDITS": "credits",
    "MOTION_CREDITS": "motion_credits",
    "WEBHOOK_SECRET": "webhook_secret",
    "URL_TTL_SECONDS": "file_url_ttl_seconds",
    "UPLOAD_MAX_BYTES": "upload_max_bytes",
    "PLAN": "plan_id",
    # -- Motion session states
    "MOTION_FOLLOWUP_KEEPS_ID": "motion_followup_keeps_id",
    "MOTION_INPUT_PAUSE_SECONDS": "motion_input_pause_seconds",
    "MOTION_RENDER_FAILS": "motion_render_fails",
    "PROVENANCE_SOURCES": "provenance_sources",
    # -- Motion inputs and answers
    "MOTION_MINIMUM_ONE_CREDIT": "motion_minimum_one_credit",
    "MOTION_WITHOUT_PRO_PLAN": "motion_without_pro_plan",
    "VIEW_URL_TTL_SECONDS": "view_url_ttl_seconds",
    # -- Mosaic answers
    "NEEDS_CREDITS_CAMEL": "needs_credits_camel",
    "CREDITS_NESTED": "credits_nested",
    "SOCIAL_REQUIRES_PLATFORMS": "social_requires_platforms",
    "STRING_ERRORS": "string_errors",
    "CANCEL_FINISHED_STATUS": "cancel_finished_status",
    "RATE_LIMIT_WITHOUT_RETRY_AFTER": "rate_limit_without_retry_after",
    "SOCIAL_POSTS_CURSOR_FIELD": "social_posts_cursor_field",
    "WHOAMI_SCOPES_NESTED": "whoami_scopes_nested",
    # -- persistence
    "STATE_DIR": "state_dir",
}
_RATES = {"error_rate", "rate_limit_rate", "malformed_rate", "drop_rate"}


def _converter(name: str) -> Callable[[str], Any]:
    types = {f.name: f.type for f in fields(SandboxConfig)}
    kind = str(types[name])
    if kind.startswith("bool"):
        return _boolean
    if kind.startswith("float"):
        return float
    if kind.startswith("int"):
        return int
    return str


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def config_from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> SandboxConfig:
    """A config from ``MOSAIC_SANDBOX_*`` variables (then ``overrides``); bad values raise ValueError."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for suffix, name in _ENV_NAMES.items():
        raw = env.get(_ENV_PREFIX + suffix)
        if raw is None or raw.strip() == "":
            continue
        if name == "plan_id" and raw.strip().lower() in {"none", "free"}:
            values[name] = None
            continue
        try:
            values[name] = _converter(name)(raw.strip())
        except ValueError:
            raise ValueError(f"{_ENV_PREFIX}{suffix}={raw!r} is not a valid {name}") from None
    values.update(overrides)
    config = SandboxConfig(**values)
    validate_config(config)
    return config


def validate_config(config: SandboxConfig) -> None:
    """Reject values that cannot work (negative speed, a rate outside 0..1)."""
    if config.speed < 0:
        raise ValueError("speed must be >= 0")
    for name in _RATES:
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    if not 400 <= config.cancel_finished_status <= 499:
        raise ValueError(f"cancel_finished_status must be a 4xx status, got {config.cancel_finished_status}")
    if config.plan_id is not None and config.plan_id not in PLAN_FAMILIES:
        raise ValueError(f"plan_id must be one of {sorted(PLAN_FAMILIES)} or None")


# Concrete plan id -> family (reference 2.10).
PLAN_FAMILIES: dict[str, str] = {
    "creator": "creator",
    "creator_annual": "creator",
    "professional": "professional",
    "professional_annual": "professional",
    "pro": "pro",
}

"""Offline emulator of the Mosaic API and the Mosaic Motion API (DESIGN section 7).

One Starlette app serves Mosaic at ``/`` and Motion at ``/api/motion``, following
``reference/mosaic-api.md``; it mints signed, expiring URLs to bytes it serves itself under
``/_sandbox``. State advances on a virtual clock (``SandboxClock``), lazily on each request and in a
background task that also delivers run webhooks.

Usage in tests::

    sandbox = Sandbox(SandboxConfig(speed=0))          # frozen clock: time moves only by advance()
    async with serve_sandbox(sandbox) as running:
        ...  # HTTP to running.mosaic_base_url / running.motion_base_url
        sandbox.advance(120)
        sandbox.faults.inject("rate_limit", method="GET", path="/agent_run/*", retry_after=2)
        assert sandbox.count("POST", "/agent/{agent_id}/run") == 1

With ``SandboxConfig(state_dir=...)`` (``MOSAIC_SANDBOX_STATE_DIR``, ``mosaic-mcp sandbox --state-dir``;
``serve --sandbox`` always uses ``$MOSAIC_MCP_HOME/sandbox``) the emulated account - agents, runs,
Motion sessions, uploads and their bytes, credits, ids, the clock and the port - is saved before
each answer leaves and restored on start, so it survives a restart or a SIGKILL (``persist.py``).
Without it the account lives in memory, as it always did.

Environment variables (read by ``config_from_env``, so by ``run_sandbox`` and by ``serve --sandbox``;
``SandboxConfig`` fields):

- ``MOSAIC_SANDBOX_SPEED`` (1.0): virtual seconds per real second; 0 freezes the clock.
- ``MOSAIC_SANDBOX_SEED`` (0): seed for ids, durations and random faults.
- ``MOSAIC_SANDBOX_LATENCY_MS`` (0): delay added to every API request.
- ``MOSAIC_SANDBOX_ERROR_RATE`` (0): share of API requests answered 500.
- ``MOSAIC_SANDBOX_RATE_LIMIT_RATE`` (0): share answered 429 with ``Retry-After``.
- ``MOSAIC_SANDBOX_RETRY_AFTER`` (1): seconds in that ``Retry-After``.
- ``MOSAIC_SANDBOX_MALFORMED_RATE`` (0): share answered 200 with a non-JSON body.
- ``MOSAIC_SANDBOX_DROP_RATE`` (0): share whose connection is cut mid-response.
- ``MOSAIC_SANDBOX_CREDITS`` (5000): the Mosaic organisation's starting balance.
- ``MOSAIC_SANDBOX_MOTION_CREDITS`` (2000): each Motion key's starting balance.
- ``MOSAIC_SANDBOX_WEBHOOK_SECRET`` (unset): sent as ``X-Mosaic-Signature`` on webhooks.
- ``MOSAIC_SANDBOX_URL_TTL_SECONDS`` (604800): virtual lifetime of signed output URLs.
- ``MOSAIC_SANDBOX_UPLOAD_MAX_BYTES`` (unset): overrides ``max_file_size_bytes`` of every type.
- ``MOSAIC_SANDBOX_PLAN`` (creator): plan id, or ``none`` for an organisation without a paid plan.

Switches that play another reading of the docs (reference §8), off by default (``1``/``true`` turns one on):

- ``MOSAIC_SANDBOX_NEEDS_CREDITS_CAMEL`` (off): runs and nodes say ``needsCredits``, not ``needs_credits``.
- ``MOSAIC_SANDBOX_CREDITS_NESTED`` (off): GET /credits answers the older ``{"credits": {"balance": …}}``.
- ``MOSAIC_SANDBOX_SOCIAL_REQUIRES_PLATFORMS`` (off): POST /social/post requires ``platforms`` (older revision).
- ``MOSAIC_SANDBOX_STRING_ERRORS`` (off): ``errors[]`` of runs and nodes are strings, not objects.
- ``MOSAIC_SANDBOX_CANCEL_FINISHED_STATUS`` (409): the 4xx a cancel of a finished run answers.
- ``MOSAIC_SANDBOX_RATE_LIMIT_WITHOUT_RETRY_AFTER`` (off): 429s carry no ``Retry-After``.
- ``MOSAIC_SANDBOX_SOCIAL_POSTS_CURSOR_FIELD`` (next_cursor): the field GET /social/posts names its cursor in.
- ``MOSAIC_SANDBOX_WHOAMI_SCOPES_NESTED`` (off): GET /whoami gives ``scopes`` under ``key``, not at the top.
- ``MOSAIC_SANDBOX_MOTION_MINIMUM_ONE_CREDIT``: a Motion session needs 1 credit to start (newer credits
  guide; the 402 quotes ``minimum_required_credits: 1``) instead of 300 (older guide).
- ``MOSAIC_SANDBOX_MOTION_WITHOUT_PRO_PLAN``: the Motion user has no Pro/Max plan, so ``design_system_id``
  and ``design_md`` are refused with 403 ``motion_pro_feature_required``.
- ``MOSAIC_SANDBOX_VIEW_URL_TTL_SECONDS`` (3600): virtual lifetime of ``get_view_url`` links (undocumented,
  "short-lived"). Motion fetches each attachment when its session starts running, so a short value makes a
  session whose link expired first fail with the fetch error.
- ``MOSAIC_SANDBOX_MOTION_FOLLOWUP_KEEPS_ID``: a Motion follow-up keeps its parent's ``job_id``, and the
  first two polls after it still show the previous render (``completed``, with its download URL).
- ``MOSAIC_SANDBOX_MOTION_INPUT_PAUSE_SECONDS`` (0): when > 0, each new session waits that many virtual
  seconds in ``awaiting_user_input`` (``pending_user_input: true``, a ``web_url``), then resumes.
- ``MOSAIC_SANDBOX_MOTION_RENDER_FAILS``: each new session completes, then its render ends
  ``output.status: "failed"`` with an ``output.error``.
- ``MOSAIC_SANDBOX_PROVENANCE_SOURCES``: completed Motion sessions and Mosaic outputs list provenance
  ``sources[]`` (a licensed Getty clip, a Pexels image, a user upload); empty lists otherwise.

Importing this package pulls in Starlette and uvicorn; the MCP server's stdio path must not.
"""

from __future__ import annotations

from . import catalog, seed
from .clock import SandboxClock
from .config import SandboxConfig, config_from_env
from .faults import FAULT_KINDS, Fault, FaultInjector, FaultKind
from .requestlog import RequestLog, RequestRecord
from .sandbox import Sandbox

from .app import create_app  # isort: skip  (needs the modules above)
from .serve import RunningSandbox, run_sandbox, serve_sandbox  # isort: skip

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "RequestLog",
    "RequestRecord",
    "RunningSandbox",
    "Sandbox",
    "SandboxClock",
    "SandboxConfig",
    "catalog",
    "config_from_env",
    "create_app",
    "run_sandbox",
    "seed",
    "serve_sandbox",
]

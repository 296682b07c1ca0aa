"""``Sandbox``: the state of one emulated Mosaic + Motion backend and its test switches."""

from __future__ import annotations

import secrets
from typing import Any

from . import catalog, seed
from .agents import AgentStore
from .avatars import AvatarStore
from .blobs import Blob, BlobStore
from .clock import SandboxClock, iso
from .config import SandboxConfig, validate_config
from .credits import Billing
from .errors import bad_request
from .faults import FaultInjector
from .ids import IdFactory, fingerprint
from .motion import MotionStore
from .provenance import output_sources
from .requestlog import RequestLog
from .run_inputs import InputSource, RunPlan, is_http_url, plan_run
from .runs import Run, RunEngine
from .scheduler import Scheduler
from .social import SocialStore
from .triggers import TriggerStore
from .uploads import UploadStore
from .webhooks import Outbox

_FALLBACK_BASE_URL = "http://127.0.0.1"


class Sandbox:
    """Config, virtual clock, fault injector, request log and every emulated object."""

    def __init__(self, config: SandboxConfig | None = None, *, clock: SandboxClock | None = None) -> None:
        self.config = config or SandboxConfig()
        validate_config(self.config)
        self.clock = clock or SandboxClock(self.config.speed)
        self.faults = FaultInjector(self.config)
        self.requests = RequestLog()
        self.base_url: str | None = None
        self.revoked_keys: set[str] = set()
        ids = self.ids = IdFactory(self.config.seed)
        key = secrets.token_bytes(32)
        now = self.clock.now()
        self.scheduler = Scheduler()
        self.billing = Billing(self.config.credits, self.config.plan_id, now)
        self.blobs = BlobStore(key)
        self.outbox = Outbox(
            self.config.webhook_secret, self.config.webhook_retries, self.config.webhook_backoff_seconds
        )
        self.agents = AgentStore(ids)
        self.runs = RunEngine(ids, self.scheduler, self.billing, self.blobs)
        self.runs.sign = lambda blob_id, name: self.file_url(blob_id, name, self.config.file_url_ttl_seconds)
        self.runs.emit = self.outbox.emit
        self.runs.sources = lambda render_id: output_sources(render_id) if self.config.provenance_sources else []
        self.uploads = UploadStore(key)
        self.motion = MotionStore(ids, self.config.motion_credits)
        self.motion.minimum_credits = 1 if self.config.motion_minimum_one_credit else self.motion.minimum_credits
        self.motion.pro_plan = not self.config.motion_without_pro_plan
        self.motion.config = self.config  # the Motion session-state switches
        self.avatars = AvatarStore()
        self.triggers = TriggerStore(ids)
        self.social = SocialStore(ids)
        self.agents.seed()
        self.avatars.seed(now)
        self.triggers.seed()
        for video_id in seed.VIDEO_IDS:
            self.blobs.add(Blob(video_id, "video"))

    # -- time -------------------------------------------------------------------------------
    def now(self) -> float:
        """Current virtual time (epoch seconds)."""
        return self.clock.now()

    def tick(self) -> None:
        """Bring every simulated object up to the clock (done before each request)."""
        self.scheduler.run_until(self.clock.now())
        self.runs.flush_webhooks()

    def advance(self, seconds: float) -> None:
        """Jump virtual time forward and catch up at once."""
        self.clock.advance(seconds)
        self.tick()

    # -- URLs -------------------------------------------------------------------------------
    @property
    def public_base_url(self) -> str:
        """Where the sandbox is reachable (set by ``serve_sandbox`` / the first request)."""
        return self.base_url or _FALLBACK_BASE_URL

    def file_url(self, blob_id: str, filename: str, ttl: float) -> str:
        """A signed URL for one file of a blob, valid ``ttl`` virtual seconds from now."""
        return self.blobs.signed_url(self.public_base_url, blob_id, filename, self.now() + ttl)

    # -- lookups used by several routes ----------------------------------------------------------
    def known_video(self, video_id: str) -> bool:
        """A finalized video upload or a seeded workspace video."""
        return video_id in seed.VIDEO_IDS or self.uploads.finalized(video_id, "video") is not None

    def known_asset(self, asset_id: str, kind: str) -> bool:
        """A finalized upload of ``kind`` (or a seeded video)."""
        if kind == "video":
            return self.known_video(asset_id)
        return kind in ("audio", "image") and self.uploads.finalized(asset_id, kind) is not None  # type: ignore[arg-type]

    def motion_owner(self, api_key: str) -> str:
        """The owner label of a Motion key (sessions and balances are per key)."""
        return fingerprint(api_key)

    # -- test switches ------------------------------------------------------------------------
    def count(self, method: str | None = None, route: str | None = None) -> int:
        """How many requests matched, e.g. ``count("POST", "/agent/{agent_id}/run")``."""
        return self.requests.count(method, route)

    def fail_next_nodes(self, match: str | None = None, *, times: int = 1, message: str = "Tile failed") -> None:
        """Make the next ``times`` nodes matching a template id, type id or tile name fail."""
        self.runs.fail_next(match, times=times, message=message)

    def fail_next_motion_sessions(self, times: int = 1, message: str = "Video generation failed") -> None:
        """Make the next ``times`` Motion sessions end ``failed``."""
        self.motion.fail_next(times, message)

    def set_motion_credits(self, api_key: str, credits: int) -> None:
        """Set one Motion key's balance."""
        self.motion.balances[self.motion_owner(api_key)] = credits

    def revoke_key(self, api_key: str) -> None:
        """Make a well-formed key answer 401 from now on."""
        self.revoked_keys.add(api_key)

    def start_api_run(self, agent_id: str, body: dict[str, Any] | None = None) -> Run:
        """Start a run as another API client of the same organisation would (for reconciliation tests)."""
        agent = self.agents.get(agent_id)
        plan = plan_run(agent, body or {}, known_video=self.known_video, known_render=lambda r: r in self.runs.renders)
        return self.runs.start(agent, plan, self.now())

    def fire_trigger(self, trigger_id: str, video_url: str = "https://www.youtube.com/watch?v=dQw4w9WgXcQ") -> Run:
        """Start a run as the YouTube trigger would on a new video (runs show ``triggered_by``)."""
        trigger = self.triggers.triggers.get(trigger_id)
        if trigger is None:
            raise KeyError(trigger_id)
        if not is_http_url(video_url):
            raise bad_request("video_url must be an http(s) URL")
        agent = self.agents.get(trigger.agent_id)
        nodes = list(agent.nodes)
        inputs = [n for n in nodes if agent.nodes[n].node_type.kind == "input"]
        plan = RunPlan(
            nodes,
            list(agent.edges),
            {n: dict(agent.nodes[n].params) for n in nodes},
            {inputs[0]: [InputSource("video_url", video_url)]} if inputs else {},
            trigger.callback_url,
        )
        now = self.now()
        triggered_by: dict[str, Any] = {
            "type": "youtube",
            "trigger_id": trigger_id,
            "channel_id": trigger.channels[0] if trigger.channels else None,
            "video_id": video_url.rsplit("=", 1)[-1],
            "video_title": "New upload",
            "video_url": video_url,
            "triggered_at": iso(now),
        }
        return self.runs.start(agent, plan, now, triggered_by)

    @staticmethod
    def node_types() -> list[dict[str, Any]]:
        """The public catalogue."""
        return [t.public() for t in catalog.CATALOG]

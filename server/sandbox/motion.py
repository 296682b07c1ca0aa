"""Mosaic Motion sessions (reference section 4): validation, per-key credits, status on the clock.

A session moves ``queued`` -> ``created`` -> ``running`` -> ``completed`` (or ``failed``) at
seeded virtual times. ``output`` is null until ``completed``; then ``output.status`` goes
``pending`` -> ``queued`` -> ``processing`` -> ``completed``, and ``download_url`` is never in the
first poll that sees the job ``completed`` - clients must keep polling, as the docs say.

A follow-up creates a **new** job (new ``job_id``, owned by the same key, linked internally to its
parent); the parent stays ``completed``. Creating a session or follow-up needs at least
``MIN_KICKOFF_CREDITS`` on the key's balance (else 402; 1 with ``motion_minimum_one_credit``) and debits
the mode's cost at once. A follow-up without ``mode`` runs at ``medium``, as documented, whatever its
parent's mode. With ``motion_without_pro_plan`` the Pro/Max options (``design_system_id``, ``design_md``)
are refused with 403 ``motion_pro_feature_required``.

Session-state switches (``SandboxConfig``) play the other readings of the docs: a follow-up that
keeps the parent's id (the first polls after it still show the previous render), a pause in
``awaiting_user_input``, a render that fails after ``completed``, and provenance ``sources[]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .clock import iso
from .config import SandboxConfig
from .errors import ApiError, motion_error
from .ids import IdFactory
from .provenance import motion_sources
from .run_inputs import is_http_url, is_youtube_url

MIN_KICKOFF_CREDITS = 300
"""The older credits guide's minimum balance to start a session (the newer guide says 1)."""
PRO_OPTIONS = ("design_system_id", "design_md")
MODE_COST = {"light": 150, "medium": 250, "high": 400}
MODE_SECONDS = {"light": (30.0, 45.0), "medium": (45.0, 70.0), "high": (60.0, 90.0)}
ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:5", "21:9")
DURATIONS = ("<10s", "10-30s", "30s-1min", "1-5min")
MODES = ("light", "medium", "high")
ATTACHMENT_TYPES = ("image", "video", "audio", "file")
DESIGN_SYSTEMS = (
    "mosaic",
    "apple",
    "claude",
    "cursor",
    "linear",
    "vercel",
    "stripe",
    "figma",
    "notion",
    "spotify",
    "supabase",
    "raycast",
    "framer",
    "resend",
    "mintlify",
    "sentry",
    "tesla",
    "nike",
    "shopify",
    "airbnb",
    "posthog",
)
# Seconds after completion at which output.status reaches each stage.
OUTPUT_STAGES = ((0.0, "pending"), (3.0, "queued"), (6.0, "processing"), (12.0, "completed"))
STALE_POLLS_AFTER_FOLLOWUP = 2
"""Switch ``motion_followup_keeps_id``: polls after a follow-up that still show the previous render."""
RENDER_ERROR = "Rendering the MP4 failed: the encoder stopped at 87% (sandbox)"


def _issue(code: str, path: list[str | int], message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, **extra, "message": message, "path": path}


def _string_issues(value: Any, path: list[str | int], low: int, high: int, required: bool) -> list[dict[str, Any]]:
    if value is None:
        if required:
            return [_issue("invalid_type", path, "Required", expected="string", received="undefined")]
        return []
    if not isinstance(value, str):
        return [_issue("invalid_type", path, "Expected string", expected="string", received=type(value).__name__)]
    if len(value) < low:
        return [
            _issue(
                "too_small",
                path,
                f"String must contain at least {low} character(s)",
                minimum=low,
                type="string",
                inclusive=True,
                exact=False,
            )
        ]
    if len(value) > high:
        return [
            _issue(
                "too_big",
                path,
                f"String must contain at most {high} character(s)",
                maximum=high,
                type="string",
                inclusive=True,
                exact=False,
            )
        ]
    return []


def _enum_issues(value: Any, path: list[str | int], options: tuple[str, ...]) -> list[dict[str, Any]]:
    if value is None or value in options:
        return []
    return [
        _issue(
            "invalid_enum_value",
            path,
            f"Invalid enum value. Expected {' | '.join(options)}, received {value!r}",
            options=list(options),
            received=value,
        )
    ]


def _attachment_issues(items: Any) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        return [
            _issue("invalid_type", ["attachments"], "Expected array", expected="array", received=type(items).__name__)
        ]
    if len(items) > 10:
        return [
            _issue(
                "too_big",
                ["attachments"],
                "Array must contain at most 10 element(s)",
                maximum=10,
                type="array",
                inclusive=True,
                exact=False,
            )
        ]
    issues: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        path: list[str | int] = ["attachments", index]
        if not isinstance(item, dict):
            issues.append(
                _issue("invalid_type", path, "Expected object", expected="object", received=type(item).__name__)
            )
            continue
        url_issues = _string_issues(item.get("url"), [*path, "url"], 1, 4096, True)
        if not url_issues and not is_http_url(item["url"]):
            url_issues = [_issue("invalid_string", [*path, "url"], "Invalid url", validation="url")]
        issues += url_issues
        issues += _string_issues(item.get("name"), [*path, "name"], 0, 240, False)
        issues += _enum_issues(item.get("type"), [*path, "type"], ATTACHMENT_TYPES)
        issues += _string_issues(item.get("content_type"), [*path, "content_type"], 1, 255, False)
    return issues


def validate_request(body: Any) -> list[dict[str, Any]]:
    """Zod-style issues for a create / follow-up body (empty when valid)."""
    if not isinstance(body, dict):
        return [_issue("invalid_type", [], "Expected object", expected="object", received=type(body).__name__)]
    issues = _string_issues(body.get("prompt"), ["prompt"], 1, 12_000, True)
    style = body.get("style_reference_url")
    if style is not None and not is_youtube_url(style):
        issues.append(_issue("custom", ["style_reference_url"], "style_reference_url must be a YouTube URL"))
    issues += _attachment_issues(body.get("attachments"))
    issues += _enum_issues(body.get("aspect_ratio"), ["aspect_ratio"], ASPECT_RATIOS)
    issues += _enum_issues(body.get("duration"), ["duration"], DURATIONS)
    issues += _enum_issues(body.get("mode"), ["mode"], MODES)
    issues += _enum_issues(body.get("design_system_id"), ["design_system_id"], DESIGN_SYSTEMS)
    design = body.get("design_md")
    if isinstance(design, dict):
        issues += _string_issues(design.get("content"), ["design_md", "content"], 1, 200_000, True)
        issues += _string_issues(design.get("filename"), ["design_md", "filename"], 1, 255, False)
    elif design is not None:
        issues += _string_issues(design, ["design_md"], 1, 200_000, True)
    return issues


@dataclass
class MotionSession:
    """One Motion job and its seeded timeline."""

    job_id: str
    owner: str
    request: dict[str, Any]
    created_at: float
    stage_times: tuple[float, float, float]  # created, running, done
    failure: str | None = None
    parent_job_id: str | None = None
    seen_completed: bool = False
    download_ready: bool = False
    pause: tuple[float, float] | None = None  # awaiting_user_input from, until (switch)
    render_fails: bool = False  # output.status ends "failed" (switch)
    sources: bool = False  # sources[] once completed (switch)
    revision: int = 0  # follow-ups that kept this id (switch)
    revised_at: float | None = None
    stale_polls: int = 0  # polls that still show the previous render
    previous_times: tuple[float, float, float] | None = None

    def status(self, now: float) -> str:
        """The job status at virtual time ``now``."""
        t_created, t_running, t_done = self.stage_times
        if now >= t_done:
            return "failed" if self.failure else "completed"
        if self.pause is not None and self.pause[0] <= now < self.pause[1]:
            return "awaiting_user_input"
        if now >= t_running:
            return "running"
        return "created" if now >= t_created else "queued"

    @property
    def video_blob(self) -> str:
        """The blob of this revision's MP4 (a follow-up that kept the id renders a new file)."""
        return self.job_id if self.revision == 0 else f"{self.job_id}.r{self.revision}"

    @property
    def shown_blob(self) -> str:
        """The blob the next poll shows: the previous render's while polls are stale."""
        if self.stale_polls > 0:
            return self.job_id if self.revision == 1 else f"{self.job_id}.r{self.revision - 1}"
        return self.video_blob

    def play(self, config: SandboxConfig) -> None:
        """Apply the session-state switches to a new session's timeline."""
        t_created, t_running, t_done = self.stage_times
        if config.motion_input_pause_seconds > 0:
            self.pause = (t_running, t_running + config.motion_input_pause_seconds)
            self.stage_times = (t_created, t_running, t_done + config.motion_input_pause_seconds)
        self.render_fails = config.motion_render_fails
        self.sources = config.provenance_sources

    def revise(self, fresh: MotionSession, now: float, stale_polls: int = STALE_POLLS_AFTER_FOLLOWUP) -> None:
        """Take over ``fresh``'s request and timeline under this id; the next ``stale_polls`` polls show the old one."""
        self.previous_times = self.stage_times
        self.revision += 1
        self.revised_at = now
        self.stale_polls = stale_polls
        self.request, self.stage_times, self.failure = fresh.request, fresh.stage_times, fresh.failure
        self.pause, self.render_fails, self.sources = fresh.pause, fresh.render_fails, fresh.sources
        self.seen_completed = self.download_ready = False


@dataclass
class _Scripted:
    message: str
    remaining: int


@dataclass
class MotionStore:
    """Sessions, per-key balances and scripted failures."""

    ids: IdFactory
    initial_credits: int
    sessions: dict[str, MotionSession] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)
    config: SandboxConfig = field(default_factory=SandboxConfig)
    _failures: list[_Scripted] = field(default_factory=list)
    minimum_credits: int = MIN_KICKOFF_CREDITS
    pro_plan: bool = True

    def balance(self, owner: str) -> int:
        """The key's balance (every key starts with ``initial_credits``)."""
        return self.balances.setdefault(owner, self.initial_credits)

    def fail_next(self, times: int = 1, message: str = "Video generation failed") -> None:
        """Make the next ``times`` sessions end ``failed``."""
        self._failures.append(_Scripted(message, times))

    def create(self, owner: str, body: Any, now: float, parent: MotionSession | None = None) -> MotionSession:
        """Validate, charge and schedule a session (400 / 402 as documented)."""
        issues = validate_request(body)
        if issues:
            raise ApiError(400, {"error": "Invalid request", "details": issues})
        refused = [name for name in PRO_OPTIONS if body.get(name) is not None]
        if refused and not self.pro_plan:
            raise motion_error(
                403,
                "motion_pro_feature_required",
                f"{' and '.join(refused)} require a Pro or Max plan.",
            )
        balance = self.balance(owner)
        if balance < self.minimum_credits:
            raise motion_error(
                402,
                "insufficient_credits",
                f"A new session needs at least {self.minimum_credits} credits; the balance is {balance}.",
                code="insufficient_credits_minimum_kickoff_balance",
                minimum_required_credits=self.minimum_credits,
                current_balance=balance,
            )
        mode = body.get("mode") or "medium"  # documented: a follow-up without mode is medium, like a new job
        self.balances[owner] = balance - MODE_COST[mode]
        job_id = self.ids.new()
        rng = self.ids.rng("motion", job_id)
        total = rng.uniform(*MODE_SECONDS[mode])
        t_created = now + rng.uniform(2.0, 5.0)
        t_running = t_created + rng.uniform(3.0, 8.0)
        session = MotionSession(job_id, owner, dict(body), now, (t_created, t_running, max(now + total, t_running + 5)))
        session.parent_job_id = parent.job_id if parent else None
        for scripted in self._failures:
            if scripted.remaining > 0:
                scripted.remaining -= 1
                session.failure = scripted.message
                break
        session.play(self.config)
        self.sessions[job_id] = session
        return session

    def get(self, owner: str, job_id: str) -> MotionSession:
        """The key's session, or 404 (also for another key's session)."""
        session = self.sessions.get(job_id)
        if session is None or session.owner != owner:
            raise motion_error(404, "not_found", f"Job {job_id} not found")
        return session

    def followup(self, owner: str, job_id: str, body: Any, now: float) -> MotionSession:
        """A revision of a completed job: 400 bad body, 404 unknown, 409 not completed, 402 credits."""
        issues = validate_request(body)
        if issues:
            raise ApiError(400, {"error": "Invalid request", "details": issues})
        parent = self.get(owner, job_id)
        status = parent.status(now)
        if status != "completed":
            raise motion_error(
                409,
                "followup_requires_completed_job",
                f"Follow-ups need a completed job; job {job_id} is {status}.",
                status=status,
            )
        fresh = self.create(owner, body, now, parent)
        if not self.config.motion_followup_keeps_id:
            return fresh
        del self.sessions[fresh.job_id]
        parent.revise(fresh, now, self.config.motion_stale_polls)
        return parent


def accepted_body(session: MotionSession) -> dict[str, Any]:
    """The 202 body of create / follow-up (``status_url`` relative to the host, as documented)."""
    return {"job_id": session.job_id, "status": "queued", "status_url": f"/api/motion/sessions/{session.job_id}"}


def poll_body(session: MotionSession, now: float, download_url: str | None, expires_at: float | None) -> dict[str, Any]:
    """The GET body. ``download_url`` / ``expires_at`` (for ``shown_blob``) are used only once the output is ready."""
    if session.stale_polls > 0 and session.previous_times is not None:
        session.stale_polls -= 1
        return _previous_body(session, session.previous_times, download_url, expires_at)
    status = session.status(now)
    t_created, t_running, t_done = session.stage_times
    transitions = [session.created_at, session.revised_at or session.created_at, t_created, t_running, t_done]
    transitions += list(session.pause or ())
    updated = max(t for t in transitions if t <= now)
    output: dict[str, Any] | None = None
    if status == "completed":
        stage = [name for offset, name in OUTPUT_STAGES if now >= t_done + offset][-1]
        if not session.seen_completed:
            # The first poll that sees "completed" never carries the URL.
            session.seen_completed = True
            stage = "processing" if stage == "completed" else stage
        elif stage == "completed" and not session.render_fails:
            session.download_ready = True
        ready = session.download_ready
        output = {
            "status": "completed" if ready else stage,
            "download_url": download_url if ready else None,
            "expires_at": iso(expires_at) if ready and expires_at is not None else None,
        }
        if session.render_fails and stage == "completed" and not ready:
            output.update(status="failed", error=RENDER_ERROR)
        updated = max(updated, min(now, t_done + OUTPUT_STAGES[-1][0]))
    body = {
        "job_id": session.job_id,
        "status": status,
        "created_at": iso(session.created_at),
        "updated_at": iso(updated),
        "completed_at": iso(t_done) if status in ("completed", "failed") else None,
        "error": session.failure if status == "failed" else None,
        "pending_user_input": status == "awaiting_user_input",
        "output": output,
        "sources": motion_sources(session.job_id) if session.sources and status == "completed" else [],
    }
    if status == "awaiting_user_input":
        body["web_url"] = f"https://motion.sandbox.invalid/sessions/{session.job_id}"
    return body


def _previous_body(
    session: MotionSession, times: tuple[float, float, float], download_url: str | None, expires_at: float | None
) -> dict[str, Any]:
    """What the session showed once its previous render was ready (switch ``motion_followup_keeps_id``)."""
    t_done = times[2]
    return {
        "job_id": session.job_id,
        "status": "completed",
        "created_at": iso(session.created_at),
        "updated_at": iso(t_done + OUTPUT_STAGES[-1][0]),
        "completed_at": iso(t_done),
        "error": None,
        "pending_user_input": False,
        "output": {
            "status": "completed",
            "download_url": download_url,
            "expires_at": iso(expires_at) if expires_at is not None else None,
        },
        "sources": motion_sources(session.job_id) if session.sources else [],
    }

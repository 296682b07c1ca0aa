"""Write-ahead intents: what a job-creating or paying request was about to do, journaled first.

Before a run, a Motion session, a follow-up, a credit purchase or a plan change is requested, the
journal records an intent (what, for which key, when, with which inputs). If that write fails,
nothing is sent. Afterwards the intent is closed: `done` (it became a tracked job, in the same
transaction), `failed` (the service provably did nothing), or `may_exist` (the outcome cannot be
known: the user is told how to check, and `list_jobs` keeps showing it). An intent still `open`
belongs to a request in flight — or to a process that died mid-request, which the reconciler
settles after a restart.
"""

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

IntentAction = Literal["run_agent", "create_video_session", "followup_video_session", "buy_credits", "upgrade_plan"]
IntentState = Literal["open", "done", "failed", "may_exist", "quarantined"]

UNRESOLVED_STATES: tuple[IntentState, ...] = ("open", "may_exist", "quarantined")
"""States a person must hear about: the request may have created something nobody follows."""

UNRESOLVED_VISIBLE_SECONDS = 7 * 86400.0
"""How long `list_jobs` keeps showing an unresolved start (the API's signed URLs live as long)."""

WHAT: dict[IntentAction, str] = {
    "run_agent": "a Mosaic run",
    "create_video_session": "a Motion video session",
    "followup_video_session": "a Motion follow-up",
    "buy_credits": "a credit purchase",
    "upgrade_plan": "a plan change",
}


@dataclass
class Intent:
    """One journaled intent (see the module docstring)."""

    action: IntentAction
    key_fingerprint: str
    target: str | None
    details: dict[str, Any]
    intent_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: float = field(default_factory=time.time)
    state: IntentState = "open"
    outcome: str | None = None
    closed_at: float | None = None


class UnresolvedStart(BaseModel):
    """A start whose result is not a tracked job: it may exist upstream, and may be charged."""

    intent_id: str = Field(description="This server's id for the request.")
    action: IntentAction = Field(description="What was being started or paid.")
    target: str | None = Field(description="Agent id, parent session id or plan id the request was for.")
    started_at: str = Field(description="When the request was sent (UTC).")
    state: Literal["checking", "may_exist", "quarantined"] = Field(
        description="checking: the server is still finding out; may_exist: it could not tell; "
        "quarantined: the service answered with something unusable."
    )
    note: str = Field(description="What is known, how to check, and what not to do.")

    @classmethod
    def of(cls, intent: Intent) -> "UnresolvedStart":
        """The view of an unresolved intent."""
        state = "checking" if intent.state == "open" else intent.state
        assert state in ("checking", "may_exist", "quarantined")
        note = intent.outcome or (
            f"The server stopped while {WHAT[intent.action]} was being requested; it is checking whether "
            "it was created. Do not start it again yet."
        )
        return cls(
            intent_id=intent.intent_id,
            action=intent.action,
            target=intent.target,
            started_at=datetime.fromtimestamp(intent.started_at, UTC).isoformat(timespec="seconds"),
            state=state,
            note=note,
        )

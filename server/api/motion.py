"""The typed async client of the Mosaic Motion API (reference section 4): create, poll, follow up."""

from __future__ import annotations

import httpx2
from pydantic import SecretStr

from ..config import DEFAULT_MOTION_BASE_URL, Settings
from ._base import ClientBase, outcome_unknown_on_failure
from .errors import APIStatusError, ConflictError, OutcomeUnknownError, PlanRequiredError
from .motion_types import FollowupRequest, MotionJobAccepted, MotionSession, MotionSessionRequest
from .transport import DEFAULT_TIMEOUT, HTTPCore, RetryPolicy
from .validation import validate_followup, validate_motion_session


def unknown_session_message(what: str, cause: str) -> str:
    """What to tell the user about a Motion start whose outcome cannot be known."""
    return (
        f"The request to {what} was sent, but its outcome is unknown ({cause}). It may have started and may "
        "be charged. Motion has no list endpoint, so this server cannot check: do NOT send it again; first "
        "look at the sessions in the Motion web app, so the video is not made (and charged) twice."
    )


class MotionClient(ClientBase):
    """Async client of https://api.motion.so/api/motion; use as `async with MotionClient(...)`."""

    def __init__(
        self,
        *,
        api_key: SecretStr | None,
        base_url: str = DEFAULT_MOTION_BASE_URL,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            HTTPCore(
                service="Motion",
                base_url=base_url,
                api_key=api_key,
                timeout=timeout,
                retry=retry,
                transport=transport,
            )
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
    ) -> MotionClient:
        """A client configured from `Settings` (key, base URL)."""
        return cls(
            api_key=settings.motion_api_key,
            base_url=settings.motion_api_base_url,
            timeout=timeout,
            retry=retry,
            transport=transport,
        )

    async def create_session(self, request: MotionSessionRequest) -> MotionJobAccepted:
        """POST /sessions: start a prompt-to-video job (202; spends credits)."""
        validate_motion_session(request)
        try:
            return await self._send(MotionJobAccepted, "POST", "/sessions", json=request.to_body(), retry="create")
        except APIStatusError as exc:
            raise _plan_refusal(exc, _plan_options(request)) or exc from None
        except OutcomeUnknownError as exc:
            raise OutcomeUnknownError(
                unknown_session_message("start a Motion session", str(exc)), service="Motion"
            ) from None

    async def get_session(self, job_id: str) -> MotionSession:
        """GET /sessions/{job_id}: status, and the output once it is rendered."""
        return await self._get(MotionSession, self._path("/sessions/{job_id}", job_id=job_id))

    async def create_followup(self, job_id: str, request: FollowupRequest) -> MotionJobAccepted:
        """POST /sessions/{job_id}/followups: revise a completed job (spends credits).

        The response shape is undocumented: the returned `job_id` is the one to track, and falls
        back to the parent id when the body has none.
        """
        path = self._path("/sessions/{job_id}/followups", job_id=job_id)
        validate_followup(request)
        what = f"revise Motion session {job_id}"
        try:
            data = await self._send_json("POST", path, json=request.to_body())
            body = dict(data) if isinstance(data, dict) else {}
            if body.get("job_id") is None:
                body["job_id"] = job_id
            with outcome_unknown_on_failure("Motion", "POST", path):
                return self._http.parse(MotionJobAccepted, body, "POST", path)
        except ConflictError as exc:
            raise _followup_conflict(exc, job_id) from None
        except APIStatusError as exc:
            raise _plan_refusal(exc, []) or exc from None
        except OutcomeUnknownError as exc:
            raise OutcomeUnknownError(unknown_session_message(what, str(exc)), service="Motion") from None


def _followup_conflict(exc: ConflictError, job_id: str) -> ConflictError:
    """409 on a follow-up: say plainly that the session must be completed first."""
    status = exc.body.get("status") if isinstance(exc.body, dict) else None
    current = f" (it is {status} now)" if status else ""
    error = ConflictError(
        service="Motion",
        status_code=exc.status_code,
        detail=exc.detail,
        method=exc.method,
        path=exc.path,
        code=exc.code or "followup_requires_completed_job",
        body=exc.body,
    )
    error.args = (
        f"Motion refused the follow-up ({exc.code or 'conflict'}): session {job_id} must be completed first"
        f"{current}. Call poll_job('{job_id}') until its status is completed, then send the follow-up again.",
    )
    return error


PRO_FEATURE_CODE = "motion_pro_feature_required"


def _plan_options(request: MotionSessionRequest) -> list[str]:
    """The Pro/Max-only options a create request uses."""
    return [name for name in ("design_system_id", "design_md") if getattr(request, name) is not None]


def _plan_refusal(exc: APIStatusError, options: list[str]) -> PlanRequiredError | None:
    """`motion_pro_feature_required` (in `error` or `code`, under any status): say which plan is needed."""
    body = exc.body if isinstance(exc.body, dict) else {}
    if PRO_FEATURE_CODE not in (exc.code, body.get("error"), body.get("code")):
        return None
    error = PlanRequiredError(
        service="Motion",
        status_code=exc.status_code,
        detail=exc.detail,
        method=exc.method,
        path=exc.path,
        code=PRO_FEATURE_CODE,
        body=exc.body,
    )
    used = " and ".join(options) or "an option of this request"
    need = "need" if len(options) > 1 else "needs"
    said = f" ({exc.detail})" if exc.detail and exc.detail != PRO_FEATURE_CODE else ""
    error.args = (
        f"Motion refused the request ({PRO_FEATURE_CODE}){said}: {used} {need} a Motion Pro or Max plan. "
        "Ask the user to upgrade in the Motion web app, or send the request again without "
        f"{'it' if len(options) <= 1 else 'them'}; nothing was started or charged.",
    )
    return error

"""Errors raised by the Mosaic and Motion clients.

Every message is written for the model (and the person) reading it: what happened, and what to
do next. No message, `repr` or attribute ever holds an API key.

The hierarchy::

    MosaicMCPError
    ├── MissingKeyError              no key configured for the service a call needs
    ├── InvalidInputError            rejected before any request; names the field and the rule
    └── APIError                     something went wrong talking to a service
        ├── APIStatusError           the service answered with an error status
        │   ├── BadRequestError          400 / 422
        │   ├── AuthenticationError      401
        │   ├── InsufficientCreditsError 402, or a run that reports needs_credits
        │   ├── PermissionDeniedError    403
        │   │   └── PlanRequiredError        a Motion option the plan lacks (motion_pro_feature_required)
        │   ├── NotFoundError            404
        │   ├── ConflictError            409
        │   ├── PayloadTooLargeError     413
        │   ├── RateLimitedError         429 (carries retry_after)
        │   └── ServerError              5xx
        │   (any other status: the base class, with advice for that status — 414, 431, 3xx…)
        ├── APITimeoutError          no answer in time
        │   └── DeadlineExceededError    the tool call's time limit ran out
        ├── APIConnectionError       the connection failed or was dropped
        ├── HeaderValueError         a key or header value HTTP cannot carry; nothing was sent
        ├── InvalidResponseError     the answer was not the JSON we expected
        └── OutcomeUnknownError      a job-creating request was sent but its outcome is unknown
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Literal, Self

Service = Literal["Mosaic", "Motion"]

KEY_VARIABLE: dict[Service, str] = {"Mosaic": "MOSAIC_API_KEY", "Motion": "MOTION_API_KEY"}
BASE_URL_VARIABLE: dict[Service, str] = {"Mosaic": "MOSAIC_API_BASE_URL", "Motion": "MOTION_API_BASE_URL"}

KEY_HELP: dict[Service, str] = {
    "Mosaic": ("set MOSAIC_API_KEY to a key starting with mk_ (create one at edit.mosaic.so, API key settings)"),
    "Motion": "set MOTION_API_KEY to a key starting with motion_ (Motion web app: Settings → API)",
}


class MosaicMCPError(Exception):
    """Base class of every error mosaic-mcp raises on purpose."""


class MissingKeyError(MosaicMCPError):
    """The call needs a key for a service that has none configured."""

    def __init__(self, service: Service) -> None:
        self.service = service
        super().__init__(f"No {service} API key is configured: {KEY_HELP[service]}.")


class InvalidInputError(MosaicMCPError, ValueError):
    """Input broke a documented rule; raised before any request is sent."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class APIError(MosaicMCPError):
    """Talking to a service failed."""

    def __init__(self, message: str, *, service: Service) -> None:
        self.service = service
        super().__init__(message)

    def explain(self, note: str) -> Self:
        """Append `note` to the message (for example why the request was not tried again)."""
        self.args = (f"{self.args[0]} {note}" if self.args else note,)
        return self


class APIStatusError(APIError):
    """The service answered with an error status; `detail` is its own explanation."""

    hint = "check the request and try again"

    def __init__(
        self,
        *,
        service: Service,
        status_code: int,
        detail: str,
        method: str,
        path: str,
        code: str | None = None,
        body: object = None,
    ) -> None:
        self.service = service  # advice() may need it before APIError.__init__ runs
        self.body = body
        self.status_code = status_code
        self.detail = detail
        self.code = code
        self.method = method
        self.path = path
        said = f": {detail}" if detail else ""
        super().__init__(
            f"{service} answered {status_code}{_phrase(status_code)} to {method} {path}{said} — {self.advice()}.",
            service=service,
        )

    def advice(self) -> str:
        """What the reader should do about this error (by status, for statuses without a class)."""
        if type(self) is not APIStatusError:
            return self.hint
        status = self.status_code
        if status in STATUS_ADVICE:
            headers = KEY_VARIABLE[self.service] + (" and MOSAIC_WORKSPACE_ID" if self.service == "Mosaic" else "")
            return STATUS_ADVICE[status].format(headers=headers)
        if 300 <= status < 400:
            return (
                f"the service sent a redirect, which API calls do not follow; check {BASE_URL_VARIABLE[self.service]} "
                "(it must be the API root itself, not an address that redirects)"
            )
        if 400 <= status < 500:
            return (
                "the service refused the request without a more specific reason; check the values sent, "
                "and report it if the request looks right"
            )
        return "the service gave an answer this server does not understand; try again, and report it if it persists"


class BadRequestError(APIStatusError):
    """400 / 422: the service rejected the request's content."""

    hint = "fix the named field or value and try again"


class AuthenticationError(APIStatusError):
    """401: the key was rejected."""

    def advice(self) -> str:
        """Point at the variable holding the rejected key."""
        return f"the API key was rejected; {KEY_HELP[self.service]}"


class InsufficientCreditsError(APIStatusError):
    """402: not enough credits."""

    def advice(self) -> str:
        """The documented way back to a positive balance for each service."""
        if self.service == "Motion":
            return f"{motion_credit_shortfall(self.body)}; top up in the Motion web app, then try again"
        return (
            "the organization is out of credits; with the user's consent, upgrade or buy credits "
            "(check_credits shows the balance; account toolset: get_plan, list_plans, upgrade_plan, "
            "buy_credits), then resume the run (resume_run)"
        )


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this (scope, plan or workspace)."""

    hint = "the key lacks the scope or plan for this; use a key with full access or an eligible plan"


class PlanRequiredError(PermissionDeniedError):
    """A Motion option the user's plan does not include (`motion_pro_feature_required`), whatever the status."""

    hint = (
        "design_system_id and design_md need a Motion Pro or Max plan: upgrade in the Motion web app, "
        "or start the session again without them"
    )


class NotFoundError(APIStatusError):
    """404: no such object for this key."""

    hint = "check the id (it may belong to another organization, user or workspace)"


def motion_credit_shortfall(body: object) -> str:
    """What a Motion 402 says about the balance: the minimum and the balance when the body gives them."""
    fields = body if isinstance(body, dict) else {}
    minimum, balance = _number(fields.get("minimum_required_credits")), _number(fields.get("current_balance"))
    if minimum is None:
        known = "" if balance is None else f" (it is {balance:g})"
        return f"the Motion balance{known} is below the minimum Motion needs to start or continue a session"
    known = "" if balance is None else f"; the balance is {balance:g}"
    credits = "credit" if minimum == 1 else "credits"
    return f"the Motion balance is too low: Motion needs at least {minimum:g} {credits} to start a session{known}"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class ConflictError(APIStatusError):
    """409: the object is in the wrong state for this action."""

    hint = "the object is not in a state that allows this; poll it and retry when it is"


class PayloadTooLargeError(APIStatusError):
    """413: the file or body is larger than the service accepts."""

    hint = "the file is larger than the service accepts; use a smaller file"


class RateLimitedError(APIStatusError):
    """429: too many requests; `retry_after` is the server's advice in seconds, if any."""

    hint = "too many requests; wait a little and try again"

    def __init__(
        self,
        *,
        service: Service,
        status_code: int,
        detail: str,
        method: str,
        path: str,
        code: str | None = None,
        body: object = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after  # advice() reads it while the message is built
        super().__init__(
            service=service, status_code=status_code, detail=detail, method=method, path=path, code=code, body=body
        )

    def advice(self) -> str:
        """Say how long the service asked to wait, when it did."""
        if self.retry_after is None:
            return self.hint
        return f"too many requests; wait a little (the service asks for {self.retry_after:.0f} s) and try again"


class ServerError(APIStatusError):
    """5xx: the service failed."""

    hint = "the service had an internal error; try again in a minute"


class APITimeoutError(APIError):
    """No answer within the time-out."""


class DeadlineExceededError(APITimeoutError):
    """The tool call's time limit (the wait cap plus a margin) ran out before an answer came."""


class APIConnectionError(APIError):
    """The connection could not be made or was dropped."""


class HeaderValueError(APIError):
    """A header value (the key, the workspace id) holds characters HTTP cannot carry; nothing was sent."""


class InvalidResponseError(APIError):
    """The service answered 2xx with a body we could not read."""


class OutcomeUnknownError(APIError):
    """A job-creating request was sent, but whether it took effect is unknown."""


STATUS_ADVICE: dict[int, str] = {
    405: "the service does not accept this method here; the API may have changed — please report it",
    406: "the service cannot answer in JSON here; the API may have changed — please report it",
    408: "the service stopped waiting for the request to arrive; try again",
    410: "it is gone for good (deleted or expired); list the objects again for a current id",
    411: "the service did not accept the request's format; please report it",
    412: "the object changed meanwhile; read it again, then retry",
    414: (
        "the request's URL is too long: an id, a filter or a list of values is far longer than the service "
        "accepts; shorten it (fewer or shorter values) and try again"
    ),
    415: "the service did not accept the request's format; the API may have changed — please report it",
    423: "the object is locked by another change in progress; wait a little and try again",
    428: "the service wants a conditional request; please report it",
    431: (
        "the request's headers are too large: a configured value sent in them is much longer than a real one; "
        "check {headers}"
    ),
    451: "the service may not provide this for legal reasons; trying again will not help",
}
"""Advice for statuses that have no class of their own ({headers}: the variables sent as headers)."""


def _phrase(status_code: int) -> str:
    try:
        return f" ({HTTPStatus(status_code).phrase})"
    except ValueError:
        return ""


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: BadRequestError,
    429: RateLimitedError,
}


def error_class_for(status_code: int) -> type[APIStatusError]:
    """The error class for an HTTP status (unknown 4xx map to the base class)."""
    if status_code >= 500:
        return ServerError
    return STATUS_ERRORS.get(status_code, APIStatusError)

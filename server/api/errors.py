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
        │   ├── NotFoundError            404
        │   ├── ConflictError            409
        │   ├── PayloadTooLargeError     413
        │   ├── RateLimitedError         429 (carries retry_after)
        │   └── ServerError              5xx
        ├── APITimeoutError          no answer in time
        ├── APIConnectionError       the connection failed or was dropped
        ├── InvalidResponseError     the answer was not the JSON we expected
        └── OutcomeUnknownError      a job-creating request was sent but its outcome is unknown
"""

from __future__ import annotations

from typing import Literal

Service = Literal["Mosaic", "Motion"]

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
            f"{service} answered {status_code} to {method} {path}{said} — {self.advice()}.", service=service
        )

    def advice(self) -> str:
        """What the reader should do about this error."""
        return self.hint


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
            return (
                "the Motion balance is too low (a new session needs at least 300 credits); "
                "top up in the Motion web app, then try again"
            )
        return (
            "the organization is out of credits; with the user's consent, upgrade or buy credits "
            "(check_credits shows the balance; account toolset: get_plan, list_plans, upgrade_plan, "
            "buy_credits), then resume the run (resume_run)"
        )


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this (scope, plan or workspace)."""

    hint = "the key lacks the scope or plan for this; use a key with full access or an eligible plan"


class NotFoundError(APIStatusError):
    """404: no such object for this key."""

    hint = "check the id (it may belong to another organization, user or workspace)"


class ConflictError(APIStatusError):
    """409: the object is in the wrong state for this action."""

    hint = "the object is not in a state that allows this; poll it and retry when it is"


class PayloadTooLargeError(APIStatusError):
    """413: the file or body is larger than the service accepts."""

    hint = "the file is larger than the service accepts; use a smaller file"


class RateLimitedError(APIStatusError):
    """429: too many requests; `retry_after` is the server's advice in seconds, if any."""

    hint = "too many requests; wait a little and try again"

    retry_after: float | None = None


class ServerError(APIStatusError):
    """5xx: the service failed."""

    hint = "the service had an internal error; try again in a minute"


class APITimeoutError(APIError):
    """No answer within the time-out."""


class APIConnectionError(APIError):
    """The connection could not be made or was dropped."""


class InvalidResponseError(APIError):
    """The service answered 2xx with a body we could not read."""


class OutcomeUnknownError(APIError):
    """A job-creating request was sent, but whether it took effect is unknown."""


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

"""The one exception the sandbox's handlers raise, and the documented error bodies it carries.

Mosaic answers FastAPI-style ``{"detail": "..."}`` (optionally with an ``"error"`` code from the
older status table); Motion answers ``{"error": ..., "message": ...}`` plus per-case extras
(reference section 4).
"""

from __future__ import annotations

from typing import Any

# Codes from the older Mosaic status table (reference section 1), used as the optional "error" field.
MOSAIC_ERROR_CODES: dict[int, str] = {
    400: "validation_error",
    401: "invalid_api_key",
    402: "insufficient_credits",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    422: "parameter_out_of_range",
    429: "rate_limit",
    500: "internal_server_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An HTTP error response: status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def mosaic_error(status: int, detail: str, *, code: str | None = None) -> ApiError:
    """A Mosaic error: ``{"detail": detail, "error": code}``."""
    body: dict[str, Any] = {"detail": detail}
    error_code = code or MOSAIC_ERROR_CODES.get(status)
    if error_code is not None:
        body["error"] = error_code
    return ApiError(status, body)


def bad_request(detail: str) -> ApiError:
    """A Mosaic 400 validation error."""
    return mosaic_error(400, detail)


def not_found(what: str, ident: str) -> ApiError:
    """A Mosaic 404 naming the missing object."""
    return mosaic_error(404, f"{what} {ident} not found")


def motion_error(http_status: int, error: str, message: str, /, **extra: Any) -> ApiError:
    """A Motion error: ``{"error": error, "message": message, **extra}``."""
    return ApiError(http_status, {"error": error, "message": message, **extra})

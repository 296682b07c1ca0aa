"""Who a remote request acts for: the person behind an HTTP request, for the request's duration.

The HTTP layer resolves a :class:`Person` from each request (keys headers or an OAuth access token)
and sets :data:`current_person` while the MCP request runs; everything below reads it through
:func:`person_of_request`. ``None`` means no person: local stdio, or ``token`` mode.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.requests import Request

__all__ = ["Person", "PersonResolver", "current_person", "person_of_request"]


@dataclass(frozen=True)
class Person:
    """Who a remote request acts for: a stable id and their own keys (never logged)."""

    id: str  # stable, not secret: e.g. "keys:<fingerprint>" or "oauth:<subject>"
    mosaic_api_key: SecretStr | None
    motion_api_key: SecretStr | None


PersonResolver = Callable[[Request], Awaitable[Person | None]]  # starlette Request; None = unauthenticated

current_person: ContextVar[Person | None] = ContextVar("current_person", default=None)


def person_of_request() -> Person | None:
    """The person the current MCP request acts for, or None (stdio, token mode, no request)."""
    return current_person.get()

"""What every client shares: the HTTP core, lifetime management and small request helpers.

Path ids and query values are checked here, for every endpoint, before a request is built
(`validation.check_id`, `validation.check_query`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx2
from pydantic import BaseModel

from ._types import ObservabilityPage
from .errors import InvalidResponseError, OutcomeUnknownError, ServerError, Service
from .transport import HTTPCore, Retry
from .validation import CallbackPolicy, check_id, check_limit, check_query, check_timestamp

ModelT = TypeVar("ModelT", bound=BaseModel)
PageT = TypeVar("PageT", bound=ObservabilityPage)
Timestamp = str | datetime | date | None


class ClientBase:
    """Owns one `HTTPCore`; usable as `async with client:`."""

    _http: HTTPCore
    callbacks: CallbackPolicy = CallbackPolicy()
    """Where webhooks may be sent; private addresses are refused unless the settings allow them."""

    def __init__(self, http: HTTPCore) -> None:
        self._http = http

    @property
    def http(self) -> HTTPCore:
        """The HTTP layer (auth, retries, error mapping)."""
        return self._http

    @property
    def transfers(self) -> httpx2.AsyncClient:
        """The connection pool for signed-URL transfers (outputs, thumbnails): callers drop the service headers."""
        return self._http.client

    @property
    def base_url(self) -> str:
        """The service root."""
        return self._http.base_url

    @property
    def has_key(self) -> bool:
        """Whether an API key is configured."""
        return self._http.has_key

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @staticmethod
    def _path(template: str, **ids: str) -> str:
        """Fill `{name}` slots with checked, percent-encoded ids (an id can never change the route)."""
        for name, value in ids.items():
            check_id(name, value)
        return template.format(**{name: quote(value, safe="") for name, value in ids.items()})

    async def _get(self, model: type[ModelT], path: str, params: Mapping[str, Any] | None = None) -> ModelT:
        check_query(params or {})
        return await self._http.request_model(model, "GET", path, params=params, retry="idempotent")

    async def _observe(
        self,
        model: type[PageT],
        path: str,
        *,
        limit: int,
        cursor: str | None,
        from_: Timestamp,
        to: Timestamp,
        updated_from: Timestamp,
        **filters: str | None,
    ) -> PageT:
        """GET one page of a read-only observability listing (section 2.12): limit, cursor, time window."""
        check_limit(limit)
        params = page_params(
            limit,
            cursor,
            **filters,
            **{
                "from": check_timestamp("from", from_),
                "to": check_timestamp("to", to),
                "updated_from": check_timestamp("updated_from", updated_from),
            },
        )
        return await self._get(model, path, params)

    async def _send(
        self,
        model: type[ModelT],
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        retry: Retry,
    ) -> ModelT:
        check_query(params or {})
        if retry != "create":
            return await self._http.request_model(model, method, path, json=json, params=params, retry=retry)
        with outcome_unknown_on_failure(self._http.service, method, path):
            return await self._http.request_model(model, method, path, json=json, params=params, retry=retry)

    async def _send_json(self, method: str, path: str, *, json: Any = None) -> Any:
        """A job-creating POST whose body the caller parses itself (same rules as `_send`)."""
        with outcome_unknown_on_failure(self._http.service, method, path):
            return await self._http.request_json(method, path, json=json, retry="create")


@contextmanager
def outcome_unknown_on_failure(service: Service, method: str, path: str) -> Iterator[None]:
    """After a job-creating or paying request was sent, a 5xx or an unreadable answer proves nothing.

    The service may have done the work and failed only to answer, so these become
    `OutcomeUnknownError` (reconcile, or tell the user it may exist) — never "try again".
    """
    try:
        yield
    except ServerError as exc:
        raise OutcomeUnknownError(
            f"{method} {path} was sent to {service}, which answered {exc.status_code} "
            f"({exc.detail or 'no reason given'}); it may or may not have been carried out",
            service=service,
        ) from None
    except InvalidResponseError:
        raise OutcomeUnknownError(
            f"{method} {path} was sent to {service}, whose answer could not be read; "
            "it may or may not have been carried out",
            service=service,
        ) from None


def page_params(limit: int | None, cursor: str | None, **filters: Any) -> dict[str, Any]:
    """Query parameters of a list call, without the ones left unset."""
    params: dict[str, Any] = {"limit": limit, "cursor": cursor, **filters}
    return {key: value for key, value in params.items() if value is not None}

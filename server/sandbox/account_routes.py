"""Mosaic routes: credits and plans (reference 2.10)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .credits import plan_list
from .errors import mosaic_error
from .routing import json_body, mosaic_auth, ok, query_time

_DAY = 86400.0


async def credits(request: Request) -> Response:
    """GET /credits."""
    sandbox = mosaic_auth(request)
    return ok(sandbox.billing.credits_view(nested=sandbox.config.credits_nested))


async def credits_usage(request: Request) -> Response:
    """GET /credits/usage: what runs actually spent in the date range."""
    sandbox = mosaic_auth(request)
    end = query_time(request, "end_date")
    end = sandbox.now() if end is None else end
    start = query_time(request, "start_date")
    start = end - 30 * _DAY if start is None else start
    raw_limit = request.query_params.get("limit", "5000")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 10_000:
        raise mosaic_error(422, "limit must be between 1 and 10000")
    return ok(sandbox.billing.usage_view(start, end, int(raw_limit)))


async def credits_settings(request: Request) -> Response:
    """POST /credits/settings (auto top-up)."""
    sandbox = mosaic_auth(request)
    return ok(sandbox.billing.settings(await json_body(request)))


async def credits_buy(request: Request) -> Response:
    """POST /credits/buy."""
    sandbox = mosaic_auth(request)
    return ok(sandbox.billing.buy(await json_body(request)))


async def plan(request: Request) -> Response:
    """GET /plan."""
    return ok(mosaic_auth(request).billing.plan_view())


async def plans(request: Request) -> Response:
    """GET /plan/list."""
    mosaic_auth(request)
    return ok(plan_list())


async def upgrade(request: Request) -> Response:
    """POST /plan/upgrade (immediate; grants the plan's monthly credits)."""
    sandbox = mosaic_auth(request)
    return ok(sandbox.billing.upgrade(await json_body(request), sandbox.now()))


ROUTES = [
    Route("/credits", credits, methods=["GET"]),
    Route("/credits/usage", credits_usage, methods=["GET"]),
    Route("/credits/settings", credits_settings, methods=["POST"]),
    Route("/credits/buy", credits_buy, methods=["POST"]),
    Route("/plan", plan, methods=["GET"]),
    Route("/plan/list", plans, methods=["GET"]),
    Route("/plan/upgrade", upgrade, methods=["POST"]),
]

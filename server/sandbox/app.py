"""``create_app``: the Starlette application serving both emulated APIs from one port."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from . import account_routes, asset_routes, extra_routes, mosaic_routes, motion_routes
from .errors import ApiError
from .middleware import MOTION_PREFIX, SandboxMiddleware, default_error_body
from .sandbox import Sandbox
from .webhooks import run_background

logger = logging.getLogger(__name__)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        default_error_body(exc.status_code, request.url.path.startswith(MOTION_PREFIX)),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _crash(request: Request, exc: Exception) -> Response:
    logger.error("sandbox handler crashed on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(default_error_body(500, request.url.path.startswith(MOTION_PREFIX)), status_code=500)


def create_app(sandbox: Sandbox) -> Starlette:
    """The ASGI app for ``sandbox``: Mosaic at ``/``, Motion at ``/api/motion``, files at ``/_sandbox``.

    Its lifespan runs the background task that advances the clock-driven state and sends webhooks.
    """
    routes: list[BaseRoute] = [
        *mosaic_routes.ROUTES,
        *account_routes.ROUTES,
        *asset_routes.ROUTES,
        *extra_routes.ROUTES,
        *motion_routes.ROUTES,
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            group.start_soon(run_background, sandbox.tick, sandbox.outbox, sandbox.config.tick_interval_seconds)
            yield
            group.cancel_scope.cancel()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(SandboxMiddleware, sandbox=sandbox, routes=routes)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _crash},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return app

"""Serving the sandbox over loopback HTTP: in a test's task group, or blocking for the CLI."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import anyio
import uvicorn
from starlette.types import ASGIApp

from .app import create_app
from .config import SandboxConfig, config_from_env
from .middleware import DROP_MESSAGE
from .persist import open_store
from .sandbox import Sandbox

logger = logging.getLogger(__name__)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox being served: its URLs and state."""

    sandbox: Sandbox
    host: str
    port: int

    @property
    def mosaic_base_url(self) -> str:
        """Base URL of the emulated Mosaic API, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def motion_base_url(self) -> str:
        """Base URL of the emulated Motion API (``…/api/motion``)."""
        return f"{self.mosaic_base_url}/api/motion"


class _DropFilter(logging.Filter):
    """Hides uvicorn's complaint about the connections the ``drop`` fault cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return DROP_MESSAGE not in record.getMessage()


_DROP_FILTER = _DropFilter()


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host (tests, the MCP server)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        # uvicorn's loop ticks every 0.1 s; ticking every 0.01 s keeps test teardown short.
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            await anyio.sleep(0.01)


def _bind(host: str, port: int) -> socket.socket:
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the sandbox binds only to loopback (127.0.0.1), not {host!r}")
    # IPPROTO_TCP explicitly: asyncio enables TCP_NODELAY only when sock.proto says TCP
    # (proto 0 costs ~40 ms per response to Nagle + delayed ACKs).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _uvicorn_config(app: ASGIApp) -> uvicorn.Config:
    logging.getLogger("uvicorn.error").addFilter(_DROP_FILTER)
    return uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        log_config=None,
    )


@contextlib.asynccontextmanager
async def serve_asgi(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[int]:
    """Serve any ASGI app on loopback in the current task until the block exits; yields the port.

    Used for the sandbox and, in tests, for small webhook receivers.
    """
    sock = _bind(host, port)
    server = _EmbeddedServer(_uvicorn_config(app))
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            while not server.started:
                if server.should_exit:
                    raise RuntimeError("the loopback server failed to start")
                await anyio.sleep(0.005)
        try:
            yield sock.getsockname()[1]
        finally:
            server.should_exit = True


@contextlib.asynccontextmanager
async def serve_sandbox(
    sandbox: Sandbox | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSandbox]:
    """Serve ``sandbox`` (a default one if None) on loopback until the block exits.

    Port 0 picks a free port; URLs the sandbox mints use the port actually bound. With a
    ``state_dir`` the saved account is restored first, saved after every request and once more at
    the end, and port 0 prefers the port the saved sandbox listened on (``persist.py``).
    """
    sandbox = sandbox or Sandbox()
    store = open_store(sandbox)
    app: ASGIApp = create_app(sandbox)
    if store is not None:
        app, port = store.wrap(app), store.preferred_port(port)
    try:
        async with serve_asgi(app, host=host, port=port) as bound:
            sandbox.base_url = f"http://127.0.0.1:{bound}"
            if store is not None:
                store.port = bound
                await store.save()
            yield RunningSandbox(sandbox, "127.0.0.1", bound)
    finally:
        if store is not None:
            store.close()


def run_sandbox(
    host: str = "127.0.0.1", port: int = 8765, config: SandboxConfig | None = None, *, state_dir: str | None = None
) -> None:
    """Serve a sandbox until interrupted (``mosaic-mcp sandbox --port N [--state-dir D]``); config from env if None."""
    config = config or config_from_env()
    if state_dir is not None:
        config.state_dir = state_dir
    sandbox = Sandbox(config)
    store = open_store(sandbox)
    app: ASGIApp = create_app(sandbox)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    sandbox.base_url = f"http://127.0.0.1:{bound}"
    logger.info("Mosaic sandbox on %s (Motion at %s/api/motion)", sandbox.base_url, sandbox.base_url)
    if store is not None:
        store.port = bound
        store.save_now()
        app = store.wrap(app)
    try:
        uvicorn.Server(_uvicorn_config(app)).run(sockets=[sock])
    finally:
        if store is not None:
            store.close()

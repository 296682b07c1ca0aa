"""The server's warnings and errors reach the client as `notifications/message`, at the level it chose.

2025-era clients choose with `logging/setLevel`; 2026-07-28 clients opt in per request
(`Client(log_level=…)`). Upstream failures are provoked in the sandbox; no message ever holds a key.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    EmptyResult,
    LoggingLevel,
    LoggingMessageNotificationParams,
    SetLevelRequest,
    SetLevelRequestParams,
)

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.sandbox.serve import serve_asgi
from mosaic_mcp.server.serve_http import build_http_app
from mosaic_mcp.server.webhooks import WEBHOOK_PATH

from ..support import FAST_POLLING, MOSAIC_KEY, MOTION_KEY, VIDEO, call_ok, sandbox_settings, transport

pytestmark = pytest.mark.anyio


class Heard:
    """The log messages one client received."""

    def __init__(self) -> None:
        self.messages: list[LoggingMessageNotificationParams] = []
        self._arrived = anyio.Event()

    async def __call__(self, params: LoggingMessageNotificationParams) -> None:
        self.messages.append(params)
        self._arrived.set()
        self._arrived = anyio.Event()

    def texts(self) -> list[str]:
        return [str(m.data) for m in self.messages]

    async def wait_for(self, needle: str, seconds: float = 10) -> LoggingMessageNotificationParams:
        """The first message containing `needle`, waiting for it (bounded)."""
        with anyio.fail_after(seconds):
            while True:
                for message in self.messages:
                    if needle in str(message.data):
                        return message
                await self._arrived.wait()

    def assert_no_key(self) -> None:
        for text in self.texts():
            assert MOSAIC_KEY not in text
            assert MOTION_KEY not in text


@asynccontextmanager
async def listening(server: MosaicServer, mode: str, level: LoggingLevel | None) -> AsyncIterator[tuple[Client, Heard]]:
    """A client of `server` that chose `level` the way its protocol generation does (None: never chose)."""
    heard = Heard()
    opt_in = level if mode == "auto" else None
    async with Client(server, mode=mode, logging_callback=heard, log_level=opt_in) as client:  # type: ignore[arg-type]
        if mode == "legacy" and level is not None:
            await client.set_logging_level(level)
        yield client, heard


def fail_listing_agents(served: RunningSandbox, times: int = 2) -> None:
    """The next `times` GET /agents answer 500 (the client retries, then succeeds)."""
    served.sandbox.faults.inject("server_error", method="GET", path="/agents", times=times)


async def test_logging_capability_is_advertised(client: Client) -> None:
    """`initialize` / `server/discover` advertise `logging`."""
    assert client.server_capabilities.logging is not None


async def test_set_level_answers_an_empty_result(server: MosaicServer) -> None:
    """`logging/setLevel` (2025 era) answers `{}`, as the conformance scenario `logging-set-level` checks."""
    async with Client(server, mode="legacy") as client:
        result = await client.set_logging_level("info")
    assert result.model_dump(exclude_none=True) == {}


async def test_an_unknown_level_is_invalid_params(server: MosaicServer) -> None:
    """A level that is not one of the eight is refused with -32602 (conformance `logging-invalid-level`)."""
    async with Client(server, mode="legacy") as client:
        banana = SetLevelRequestParams.model_construct(level="banana")  # type: ignore[arg-type]
        with pytest.raises(MCPError) as refused:
            await client.session.send_request(SetLevelRequest(params=banana), EmptyResult)
    assert refused.value.error.code == INVALID_PARAMS


async def test_set_level_is_not_a_2026_method(server: MosaicServer) -> None:
    """A 2026-07-28 client has no `logging/setLevel` (it opts in per request instead)."""
    async with Client(server, mode="auto") as client:
        with pytest.raises(MCPError) as refused:
            await client.set_logging_level("info")
    assert refused.value.error.code == METHOD_NOT_FOUND


async def test_retries_of_a_tool_call_reach_the_client_at_info(
    server: MosaicServer, served: RunningSandbox, mode: str
) -> None:
    """At `info`, the retries and upstream answers of the client's own call arrive before its result."""
    fail_listing_agents(served)
    async with listening(server, mode, "info") as (client, heard):
        await call_ok(client, "list_agents")
        texts = heard.texts()  # read at once: they must have come before the answer
    assert any("retrying GET /agents after" in t for t in texts), texts
    assert any("GET /agents -> 500" in t for t in texts), texts
    retry = next(m for m in heard.messages if "retrying" in str(m.data))
    assert (retry.level, retry.logger) == ("info", "mosaic_mcp.http")
    heard.assert_no_key()


async def test_below_the_chosen_level_nothing_arrives(server: MosaicServer, served: RunningSandbox, mode: str) -> None:
    """At `warning`, the same retried failure (logged at info) sends nothing."""
    fail_listing_agents(served)
    async with listening(server, mode, "warning") as (client, heard):
        await call_ok(client, "list_agents")
    assert heard.messages == []


async def test_a_client_that_chose_no_level_hears_nothing(
    server: MosaicServer, served: RunningSandbox, mode: str
) -> None:
    """Without `logging/setLevel` (or a per-request opt-in) no message is sent."""
    fail_listing_agents(served)
    async with listening(server, mode, None) as (client, heard):
        await call_ok(client, "list_agents")
    assert heard.messages == []


async def test_records_of_a_request_go_only_to_its_client(
    server: MosaicServer, served: RunningSandbox, mode: str
) -> None:
    """Another client listening at the same level does not hear the first client's retries."""
    fail_listing_agents(served)
    async with (
        listening(server, mode, "debug") as (first, first_heard),
        listening(server, mode, "debug") as (_, other_heard),
    ):
        await call_ok(first, "list_agents")
        await first_heard.wait_for("retrying GET /agents")
    assert not any("/agents" in t for t in other_heard.texts()), other_heard.texts()


async def test_poller_trouble_reaches_a_legacy_client_that_set_a_level(
    server: MosaicServer, served: RunningSandbox
) -> None:
    """A run whose polls fail: the poller's warning arrives on the standalone stream, at warning."""
    async with listening(server, "legacy", "warning") as (client, heard):
        served.sandbox.faults.inject("server_error", method="GET", path="/agent_run*", times=1000)
        handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        message = await heard.wait_for(f"polling {handle['job_id']} failed")
        served.sandbox.faults.clear()
    assert (message.level, message.logger) == ("warning", "mosaic_mcp.poller")
    assert "Traceback" not in str(message.data)
    heard.assert_no_key()


async def test_background_records_never_carry_a_key(server: MosaicServer) -> None:
    """A record that quotes a key (say, an upstream echoing it) reaches the client scrubbed."""
    async with listening(server, "legacy", "error") as (_, heard):
        logging.getLogger("mosaic_mcp.test").error("upstream said: Bearer %s and %s", MOSAIC_KEY, MOTION_KEY)
        message = await heard.wait_for("upstream said")
    assert MOSAIC_KEY not in str(message.data)
    assert MOTION_KEY not in str(message.data)
    assert "[REDACTED]" in str(message.data)


async def test_no_traceback_above_debug(server: MosaicServer) -> None:
    """An exception logged at error shows its type, not its traceback; at debug the scrubbed traceback comes too."""
    async with listening(server, "legacy", "debug") as (_, heard):
        log = logging.getLogger("mosaic_mcp.test")
        for level in (logging.ERROR, logging.DEBUG):
            try:
                raise RuntimeError(f"boom with {MOSAIC_KEY}")
            except RuntimeError:
                log.log(level, "step %d failed", level, exc_info=True)
        at_error = await heard.wait_for(f"step {logging.ERROR} failed")
        at_debug = await heard.wait_for(f"step {logging.DEBUG} failed")
    assert at_error.data == f"step {logging.ERROR} failed (RuntimeError)"
    assert "Traceback" in str(at_debug.data)
    heard.assert_no_key()


async def test_stderr_says_what_it_said_before(server: MosaicServer, served: RunningSandbox, mode: str) -> None:
    """A client at debug does not make info lines appear on stderr (the root handlers' level stays)."""
    seen: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    catch = Catch()
    root = logging.getLogger()
    before = logging.getLogger("mosaic_mcp").getEffectiveLevel()  # what reached stderr before any client asked
    root.addHandler(catch)
    try:
        fail_listing_agents(served)
        async with listening(server, mode, "debug") as (client, heard):
            await call_ok(client, "list_agents")
            logging.getLogger("mosaic_mcp.test").warning("a warning still reaches stderr")
    finally:
        root.removeHandler(catch)
    assert any("retrying" in str(m.data) for m in heard.messages)
    names = [r.getMessage() for r in seen if r.name.startswith("mosaic_mcp")]
    assert "a warning still reaches stderr" in names
    assert not any(r.levelno < before for r in seen if r.name.startswith("mosaic_mcp")), names


async def test_a_refused_webhook_delivery_reaches_a_client_over_http(served: RunningSandbox, tmp_path: Path) -> None:
    """`serve --http`: a delivery with a wrong signature is a warning for the session that set a level."""
    settings = sandbox_settings(served, tmp_path, webhook_secret="s3cret-webhook")
    server = create_server(settings, poll_timing=FAST_POLLING, retry=RetryPolicy(sleep=RecordingSleep()))
    heard = Heard()
    async with serve_asgi(build_http_app(server, settings, host="127.0.0.1")) as port:
        base = f"http://127.0.0.1:{port}"
        async with Client(base + "/mcp", mode="legacy", logging_callback=heard) as client:
            await client.set_logging_level("warning")
            async with httpx2.AsyncClient(transport=transport(), timeout=10) as http:
                refused = await http.post(base + WEBHOOK_PATH, json={"run_id": "r-1"})
            message = await heard.wait_for("refused a webhook delivery")
    assert refused.status_code == 401
    assert (message.level, message.logger, message.data) == (
        "warning",
        "mosaic_mcp.webhooks",
        "refused a webhook delivery: 401 bad signature",
    )

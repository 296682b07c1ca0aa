"""No secret leaks: the API key never appears in an error, its repr, its args or a log line."""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from pydantic import SecretStr

from mosaic_mcp.server import redact
from mosaic_mcp.server.api import (
    FollowupRequest,
    MosaicClient,
    MosaicMCPError,
    MotionClient,
    MotionSessionRequest,
    RecordingSleep,
    RetryPolicy,
    RunRequest,
)
from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import ConfigurationError, Settings, load_settings
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, seed

from ..support import MOSAIC_KEY, MOTION_KEY, call_error, sandbox_settings, transport
from ..support import MOSAIC_KEY as SUPPORT_KEY

pytestmark = pytest.mark.anyio

CANARIES = (MOSAIC_KEY, MOTION_KEY, "SECRET_canary")


def assert_clean(*texts: object) -> None:
    """None of the texts holds a canary."""
    for text in texts:
        for canary in CANARIES:
            assert canary not in str(text), f"secret leaked into {str(text)[:200]!r}"


def assert_error_clean(exc: BaseException) -> None:
    """The error, its repr, args, attributes and formatted traceback hold no canary."""
    assert_clean(str(exc), repr(exc), exc.args, vars(exc))
    assert_clean("".join(traceback.format_exception(exc)))


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    """No log record (message, args or exception text) holds a canary."""
    assert caplog.records, "expected some log records at DEBUG"
    for record in caplog.records:
        assert_clean(record.getMessage(), record.args, record.exc_text or "")


async def expect_error(call: Callable[[], Awaitable[Any]]) -> MosaicMCPError:
    """Run a call that must fail with one of our errors."""
    with pytest.raises(MosaicMCPError) as caught:
        await call()
    return caught.value


async def test_no_key_in_any_error_or_log(
    served: RunningSandbox, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Every error class, triggered with a canary key, leaks the key nowhere (logs at DEBUG too)."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx2", "httpcore2", "mosaic_mcp"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    retry = RetryPolicy(attempts=2, sleep=RecordingSleep())
    mosaic = MosaicClient(
        transport=transport(), api_key=SecretStr(MOSAIC_KEY), base_url=served.mosaic_base_url, retry=retry
    )
    motion = MotionClient(
        transport=transport(), api_key=SecretStr(MOTION_KEY), base_url=served.motion_base_url, retry=retry
    )
    slow = MosaicClient(
        transport=transport(),
        api_key=SecretStr(MOSAIC_KEY),
        base_url=served.mosaic_base_url,
        retry=retry,
        timeout=httpx2.Timeout(0.05),
    )
    errors: list[MosaicMCPError] = []
    for status in (400, 401, 402, 403, 404, 409, 413, 422, 429, 500, 503):
        sandbox.faults.inject("status", status=status, method="GET", path="/credits", times=2)
        errors.append(await expect_error(mosaic.get_credits))
        sandbox.faults.clear()
    for kind in ("malformed", "drop"):
        sandbox.faults.inject(kind, method="GET", path="/credits", times=2)
        errors.append(await expect_error(mosaic.get_credits))
        sandbox.faults.clear()
    sandbox.faults.inject("drop", method="POST", path="/agent/*/run", after=True)
    sandbox.faults.inject("drop", method="GET", path="/agent/*/runs", times=10)
    errors.append(await expect_error(lambda: mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RunRequest(video_urls=["x"]))))
    errors.append(
        await expect_error(lambda: mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RunRequest(video_ids=[seed.VIDEO_IDS[0]])))
    )
    sandbox.faults.inject("latency", method="GET", path="/whoami", delay=0.3, times=2)
    errors.append(await expect_error(slow.whoami))
    errors.append(await expect_error(lambda: motion.get_session("unknown")))
    job = await motion.create_session(MotionSessionRequest(prompt="p"))
    errors.append(await expect_error(lambda: motion.create_followup(job.job_id, FollowupRequest(prompt="again"))))
    sandbox.revoke_key(MOSAIC_KEY)
    errors.append(await expect_error(mosaic.whoami))
    for client in (mosaic, motion, slow):
        await client.aclose()
    assert len({type(e) for e in errors}) == 14  # every class of errors.py that a call can raise
    for error in errors:
        assert_error_clean(error)
    assert_logs_clean(caplog)


def test_settings_repr_hides_keys() -> None:
    """Settings print keys masked, in repr and str alike."""
    settings = Settings(MOSAIC_API_KEY=MOSAIC_KEY, MOTION_API_KEY=MOTION_KEY)
    assert_clean(repr(settings), str(settings), settings.model_dump())
    assert settings.mosaic_api_key is not None
    assert settings.mosaic_api_key.get_secret_value() == MOSAIC_KEY


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"mosaic_api_key": "motion_SECRET_canary_in_wrong_slot"}, "MOSAIC_API_KEY"),
        ({"motion_api_key": "mk_SECRET_canary_in_wrong_slot"}, "MOTION_API_KEY"),
        ({"mosaic_api_key": "xx_SECRET_canary_bad_prefix"}, "MOSAIC_API_KEY"),
        ({"mosaic_api_key": "mk_SECRET_canary_ok", "max_wait_seconds": "-1"}, "MAX_WAIT_SECONDS"),
    ],
)
def test_configuration_error_hides_keys(overrides: dict[str, str], named: str) -> None:
    """A ConfigurationError names the variable, never a key's value."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**overrides)
    assert named in str(caught.value)
    assert_error_clean(caught.value)


def echo_of(key: str) -> dict[str, Any]:
    """An error body from an upstream that echoes the request's Authorization header back."""
    return {
        "message": f"Invalid credentials in header 'Authorization: Bearer {key}'",
        "error": "unauthorized",
        "details": [{"path": ["headers", "authorization"], "message": f"got {key}"}],
        "request": {"headers": {"authorization": f"Bearer {key}"}},
    }


async def test_echoed_key_scrubbed_from_errors_and_logs(
    mosaic: MosaicClient, motion: MotionClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """An upstream that echoes the key in its error (JSON or text, any status) leaks it into no error or log."""
    caplog.set_level(logging.DEBUG)
    other_key = "mk_9fQ2xLw0ZpRk3TbV"  # not configured here, but shaped like a key
    sandbox.faults.inject("status", status=401, body=echo_of(MOSAIC_KEY), method="GET", path="/whoami")
    sandbox.faults.inject(
        "status", status=500, body=f"upstream failed; Authorization: Bearer {other_key}", path="/credits", times=10
    )
    sandbox.faults.inject("status", status=400, body=echo_of(MOTION_KEY), method="GET", path="/api/motion/sessions/*")
    errors = [
        await expect_error(mosaic.whoami),
        await expect_error(mosaic.get_credits),
        await expect_error(lambda: motion.get_session("s1")),
    ]
    for error in errors:
        assert_error_clean(error)
        assert other_key not in str(error) + repr(vars(error))
        assert "[REDACTED]" in str(error)
    assert_logs_clean(caplog)


async def test_error_codes_stay_readable(motion: MotionClient, sandbox: Sandbox) -> None:
    """Scrubbing leaves error codes that merely start like a key (motion_pro_feature_required) intact."""
    body = {"error": "motion_pro_feature_required", "message": "motion_pro_feature_required: needs a Pro plan"}
    sandbox.faults.inject("status", status=403, body=body, method="GET", path="/api/motion/sessions/*")
    error = await expect_error(lambda: motion.get_session("s1"))
    assert "motion_pro_feature_required: needs a Pro plan" in str(error)
    assert getattr(error, "code", None) == "motion_pro_feature_required"


async def test_echoed_key_kept_out_of_tool_result(
    served: RunningSandbox, sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Through a real tool call, in both protocol modes, the echoed key reaches neither the result nor a log."""
    caplog.set_level(logging.DEBUG)
    server = create_server(sandbox_settings(served, tmp_path), retry=RetryPolicy(sleep=RecordingSleep()))
    for mode in ("auto", "legacy"):
        sandbox.faults.inject("status", status=400, body=echo_of(SUPPORT_KEY), method="GET", path="/credits")
        async with Client(server, mode=mode) as client:
            message = await call_error(client, "check_credits")
        assert SUPPORT_KEY not in message and "[REDACTED]" in message
    assert_logs_clean(caplog)
    for record in caplog.records:
        assert SUPPORT_KEY not in record.getMessage() + (record.exc_text or "")


async def test_log_filter_hides_a_key_httpcore_quotes(served: RunningSandbox) -> None:
    """With the command's log filter on a handler, httpcore's DEBUG line quoting a bad header shows no key."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redact.install(handler)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        async with httpx2.AsyncClient(transport=transport()) as raw:
            with pytest.raises(httpx2.LocalProtocolError):
                await raw.get(f"{served.mosaic_base_url}/whoami", headers={"Authorization": f"Bearer {MOSAIC_KEY}\n"})
        logging.getLogger("mosaic_mcp.test").debug("key %s", MOTION_KEY, exc_info=ValueError(MOSAIC_KEY))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    output = stream.getvalue()
    assert "Illegal header value" in output  # httpcore did log the header...
    assert_clean(output)  # ...without the key


async def test_key_with_trailing_newline_works(served: RunningSandbox, sandbox: Sandbox) -> None:
    """A key pasted with a trailing newline (or spaces) is trimmed when read, and works."""
    key = "mk_SECRET_canary_newline_9"  # not revoked by the tests above
    settings = load_settings(
        mosaic_api_key=f"  {key}\n", motion_api_key=f"{MOTION_KEY}\r\n", mosaic_api_base_url=served.mosaic_base_url
    )
    assert settings.mosaic_api_key is not None and settings.mosaic_api_key.get_secret_value() == key
    assert settings.motion_api_key is not None and settings.motion_api_key.get_secret_value() == MOTION_KEY
    async with MosaicClient.from_settings(settings, transport=transport()) as client:
        assert (await client.whoami()).organization_id == seed.ORGANIZATION_ID


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"mosaic_api_key": "mk_SECRET_canary_é"}, "MOSAIC_API_KEY"),
        ({"motion_api_key": "motion_SECRET_canary_\u200b456"}, "MOTION_API_KEY"),
        ({"mosaic_api_key": "mk_SECRET canary"}, "MOSAIC_API_KEY"),
    ],
)
def test_unusable_key_characters_name_the_variable(overrides: dict[str, str], named: str) -> None:
    """A key with non-ASCII letters or inner spaces is a ConfigurationError naming the variable, not a crash later."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**overrides)
    assert named in str(caught.value)
    assert "non-ASCII" in str(caught.value)
    assert_error_clean(caught.value)


async def test_unsendable_key_is_a_clear_error(served: RunningSandbox, sandbox: Sandbox) -> None:
    """A client given a non-ASCII key directly raises our error naming the variable; nothing is sent."""
    async with MosaicClient(
        transport=transport(), api_key=SecretStr("mk_SECRET_canary_é"), base_url=served.mosaic_base_url
    ) as client:
        error = await expect_error(client.whoami)
    assert "MOSAIC_API_KEY" in str(error)
    assert_error_clean(error)
    assert sandbox.count() == 0

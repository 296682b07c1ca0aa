"""No secret leaks: the API key never appears in an error, its repr, its args or a log line."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

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
from mosaic_mcp.server.config import ConfigurationError, Settings, load_settings
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, seed

from .conftest import MOSAIC_KEY, MOTION_KEY, transport

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

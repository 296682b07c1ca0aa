"""Check the keys a person pastes on the sign-in page, against the APIs, before any code is issued.

The same checks `mosaic-mcp doctor` runs: Mosaic's `GET /whoami` (which also names the key's
organisation) and, since Motion has no identity endpoint, a session id that cannot exist (404 to a
good key, 401 to a bad one). Each message says which key is wrong and what to do; none quotes a key.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import httpx2
from pydantic import SecretStr

from ..api.errors import AuthenticationError, MosaicMCPError, NotFoundError, PermissionDeniedError
from ..api.mosaic import MosaicClient
from ..api.motion import MotionClient
from ..api.transport import RetryPolicy
from ..config import Settings, key_problem

__all__ = ["CHECK_SECONDS", "KeyCheck", "check_keys"]

CHECK_SECONDS = 10.0
NO_RETRY = RetryPolicy(attempts=1)
TIMEOUT = httpx2.Timeout(CHECK_SECONDS)


@dataclass
class KeyCheck:
    """What the APIs said of the pasted keys: the organisation, and one message per key that does not work."""

    organization: str | None = None
    problems: dict[str, str] = field(default_factory=dict)
    """Form field name → what is wrong with it."""


async def check_keys(settings: Settings, mosaic_key: str, motion_key: str) -> KeyCheck:
    """Check each key given (at least one must be), against the APIs `settings` point at."""
    result = KeyCheck()
    if not mosaic_key and not motion_key:
        result.problems["mosaic_api_key"] = "Paste your Mosaic API key, your Motion API key, or both."
        return result
    for name, variable, key in (
        ("mosaic_api_key", "MOSAIC_API_KEY", mosaic_key),
        ("motion_api_key", "MOTION_API_KEY", motion_key),
    ):
        problem = key_problem(variable, key) if key else None
        if problem:
            result.problems[name] = f"This key {problem}."
    if result.problems:
        return result
    if mosaic_key:
        await _bounded(
            result, "mosaic_api_key", "Mosaic", lambda: _check_mosaic(settings, SecretStr(mosaic_key), result)
        )
    if motion_key:
        await _bounded(result, "motion_api_key", "Motion", lambda: _check_motion(settings, SecretStr(motion_key)))
    return result


async def _check_mosaic(settings: Settings, key: SecretStr, result: KeyCheck) -> None:
    client = MosaicClient(
        api_key=key,
        base_url=settings.mosaic_api_base_url,
        workspace_id=settings.workspace_id,
        timeout=TIMEOUT,
        retry=NO_RETRY,
    )
    async with client:
        me = await client.whoami()
    result.organization = me.organization_name or me.organization_id


async def _check_motion(settings: Settings, key: SecretStr) -> None:
    # Motion has no identity endpoint: an unknown session id answers 404 to a good key, 401 to a bad one.
    async with MotionClient(api_key=key, base_url=settings.motion_api_base_url, timeout=TIMEOUT, retry=NO_RETRY) as c:
        with contextlib.suppress(NotFoundError):
            await c.get_session(str(uuid.uuid4()))


async def _bounded(result: KeyCheck, name: str, service: str, check: Callable[[], Awaitable[None]]) -> None:
    again = f"Copy it again from your {service} dashboard."
    with anyio.move_on_after(CHECK_SECONDS + 1) as bound:
        try:
            await check()
        except AuthenticationError:
            result.problems[name] = f"{service} refused this key (401): it is wrong, revoked or expired. {again}"
        except PermissionDeniedError:
            result.problems[name] = f"{service} accepted this key but denied access (403): check its permissions."
        except MosaicMCPError as exc:
            result.problems[name] = f"{service} could not be asked about this key: {exc}"
    if bound.cancelled_caught:
        result.problems[name] = f"{service} did not answer within {CHECK_SECONDS:g} s; try again in a moment."

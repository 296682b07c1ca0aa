"""`mosaic-mcp doctor`: check the configuration and the keys, and say how to fix what is wrong."""

from __future__ import annotations

import uuid
from typing import TextIO

import anyio

from .api.errors import AuthenticationError, MissingKeyError, MosaicMCPError, NotFoundError
from .api.mosaic import MosaicClient
from .api.motion import MotionClient
from .config import Settings


def run_doctor(settings: Settings, out: TextIO) -> int:
    """Write a report to `out` (the terminal); exit 0 when everything configured works, 1 otherwise."""
    return anyio.run(_doctor, settings, out)


async def _doctor(settings: Settings, out: TextIO) -> int:
    problems = 0

    def say(ok: bool | None, text: str) -> None:
        mark = {True: "ok  ", False: "FAIL", None: "--  "}[ok]
        out.write(f"[{mark}] {text}\n")

    if settings.sandbox:
        say(None, "MOSAIC_MCP_SANDBOX is on: both APIs are emulated locally; keys are not used")
        return 0
    async with MosaicClient.from_settings(settings) as mosaic:
        try:
            me = await mosaic.whoami()
            say(True, f"Mosaic key works: organization {me.organization_name or me.organization_id}")
        except MissingKeyError as exc:
            say(None, str(exc))
        except MosaicMCPError as exc:
            problems += 1
            say(False, f"Mosaic: {exc}")
    async with MotionClient.from_settings(settings) as motion:
        try:
            # Motion has no identity endpoint: an unknown session id answers 404 to a good key, 401 to a bad one.
            await motion.get_session(str(uuid.uuid4()))
        except NotFoundError:
            say(True, "Motion key works")
        except MissingKeyError as exc:
            say(None, str(exc))
        except AuthenticationError as exc:
            problems += 1
            say(False, f"Motion: {exc}")
        except MosaicMCPError as exc:
            problems += 1
            say(False, f"Motion: {exc}")
    if settings.mosaic_api_key is None and settings.motion_api_key is None:
        problems += 1
        say(False, "no API key is configured; set one of the keys above, or try everything with --sandbox")
    home = settings.home.expanduser()
    try:
        home.mkdir(parents=True, exist_ok=True)
        say(True, f"job journal folder {home} is writable")
    except OSError as exc:
        problems += 1
        say(False, f"cannot create {home} ({exc.strerror}); set MOSAIC_MCP_HOME to a writable folder")
    say(None, f"downloads go to {settings.resolved_download_dir}")
    say(
        None,
        f"toolsets: {', '.join(sorted(settings.enabled_toolsets))}{' (read-only)' if settings.read_only else ''}",
    )
    return 1 if problems else 0

"""`mosaic-mcp doctor`: check the configuration, the keys and the folders, and say how to fix what is wrong.

Each check says what it is about to do before doing it, and each network probe is bounded
(`--probe-timeout`, 10 s by default), so the report ends in bounded time even against a host that
accepts connections and never answers. With `--sandbox` it starts the emulator and the MCP server
in this process and drives the server through an MCP client, end to end.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

import anyio
from mcp import Client
from mcp.types import TextContent

from . import __version__
from .api.errors import BASE_URL_VARIABLE, MissingKeyError, MosaicMCPError, NotFoundError, Service
from .api.mosaic import MosaicClient
from .api.motion import MotionClient
from .app import create_server
from .config import Settings

DEFAULT_PROBE_SECONDS = 10.0
"""How long one network probe may take before doctor reports it and moves on."""


class SandboxCheckError(RuntimeError):
    """A tool call of `doctor --sandbox` failed."""


class Report:
    """The lines doctor writes (to the terminal), and how many problems it found."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.problems = 0

    def checking(self, text: str) -> None:
        """What is checked next: written before the check starts, so a slow one is never silent."""
        self.line(f"{text}…")

    def say(self, ok: bool | None, text: str) -> None:
        """One result: ok (True), a problem (False) or information (None)."""
        if ok is False:
            self.problems += 1
        self.line(f"[{ {True: 'ok  ', False: 'FAIL', None: '--  '}[ok] }] {text}")

    def line(self, line: str) -> None:
        """A line as it is."""
        self.out.write(line + "\n")
        self.out.flush()


def run_doctor(settings: Settings, out: TextIO, *, probe_seconds: float = DEFAULT_PROBE_SECONDS) -> int:
    """Write a report to `out`; exit 0 when everything configured works, 1 otherwise."""
    return anyio.run(_doctor, settings, Report(out), probe_seconds)


async def _doctor(settings: Settings, report: Report, probe_seconds: float) -> int:
    report.checking(f"mosaic-mcp {__version__} doctor: checking the keys, the APIs and the folders")
    if settings.sandbox:
        await _check_sandbox(settings, report, probe_seconds)
    else:
        await _check_apis(settings, report, probe_seconds)
    _check_folders(settings, report)
    read_only = " (read-only)" if settings.read_only else ""
    report.say(None, f"toolsets: {', '.join(sorted(settings.enabled_toolsets))}{read_only} (MOSAIC_MCP_TOOLSETS)")
    if report.problems:
        report.line(f"{report.problems} problem(s): fix the lines marked FAIL and run `mosaic-mcp doctor` again")
        return 1
    report.line('all good: add the server to your MCP host (README, "Use it from your assistant")')
    return 0


async def _check_apis(settings: Settings, report: Report, seconds: float) -> None:
    async with MosaicClient.from_settings(settings) as mosaic:
        report.checking(f"checking the Mosaic key: GET {mosaic.base_url}/whoami (at most {seconds:g} s)")

        async def whoami() -> str:
            me = await mosaic.whoami()
            return f"Mosaic key works: organization {me.organization_name or me.organization_id}"

        await _probe(report, "Mosaic", whoami, seconds)
    async with MotionClient.from_settings(settings) as motion:
        report.checking(f"checking the Motion key: GET {motion.base_url}/sessions/… (at most {seconds:g} s)")

        async def session() -> str:
            # Motion has no identity endpoint: an unknown session id answers 404 to a good key, 401 to a bad one.
            with contextlib.suppress(NotFoundError):
                await motion.get_session(str(uuid.uuid4()))
            return "Motion key works"

        await _probe(report, "Motion", session, seconds)
    if settings.mosaic_api_key is None and settings.motion_api_key is None:
        report.say(False, "no API key is configured; set one of the keys above, or try everything with --sandbox")


async def _probe(report: Report, service: Service, probe: Callable[[], Awaitable[str]], seconds: float) -> None:
    """Run one probe for at most `seconds`, and report what it found."""
    with anyio.move_on_after(seconds) as bound:
        try:
            report.say(True, await probe())
        except MissingKeyError as exc:
            report.say(None, str(exc))
        except MosaicMCPError as exc:
            report.say(False, f"{service}: {exc}")
    if bound.cancelled_caught:
        report.say(
            False,
            f"{service}: no answer within {seconds:g} s; check the network, and {BASE_URL_VARIABLE[service]} "
            "if you set it",
        )


async def _check_sandbox(settings: Settings, report: Report, seconds: float) -> None:
    """Start the emulator and the server as `serve --sandbox` does, and drive the server with an MCP client."""
    report.checking(
        f"MOSAIC_MCP_SANDBOX is on: starting the offline emulator of both APIs and the MCP server on it "
        f"(keys are not used; at most {seconds * 3:g} s)"
    )
    with tempfile.TemporaryDirectory(prefix="mosaic-mcp-doctor-") as home:
        # A private journal: doctor's sandbox jobs never show up in the real one (nor in its PostgreSQL).
        trial = settings.model_copy(update={"home": Path(home), "database_url": None})
        with anyio.move_on_after(seconds * 3) as bound:
            try:
                async with Client(create_server(trial)) as client:
                    tools = (await client.list_tools()).tools
                    report.say(True, f"the MCP server answers: {len(tools)} tools")
                    credits = await _call(client, "check_credits")
                    report.say(True, f"check_credits through the emulated Mosaic API: balance {credits['balance']:.0f}")
                    agents = (await _call(client, "list_agents"))["agents"]
                    report.say(True, f"list_agents: {len(agents)} agent(s) in the sandbox")
            except SandboxCheckError as exc:
                report.say(False, f"sandbox: {exc}")
        if bound.cancelled_caught:
            report.say(False, f"the sandbox did not answer within {seconds * 3:g} s; run with -v to see why")


async def _call(client: Client, name: str) -> dict[str, Any]:
    result = await client.call_tool(name, {})
    if result.is_error or result.structured_content is None:
        text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
        raise SandboxCheckError(f"{name} failed: {text}")
    return dict(result.structured_content)


def _check_folders(settings: Settings, report: Report) -> None:
    report.checking("checking the folders")
    home = settings.home.expanduser()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        report.say(False, f"cannot create {home} ({exc.strerror}); set MOSAIC_MCP_HOME to a writable folder")
    else:
        _writable(report, home, "job journal folder", "MOSAIC_MCP_HOME")
    download = settings.resolved_download_dir
    if download.is_dir():
        _writable(report, download, "download folder", "MOSAIC_MCP_DOWNLOAD_DIR")
    else:
        parent = next((p for p in download.parents if p.exists()), None)
        if parent is not None and parent.is_dir() and _can_write(parent):
            report.say(True, f"download folder {download} does not exist yet; the first download creates it")
        else:
            report.say(False, f"download folder {download} cannot be created; set MOSAIC_MCP_DOWNLOAD_DIR")
    if not settings.allowed_dirs:
        report.say(
            None,
            "allowed folders (MOSAIC_MCP_ALLOWED_DIRS): none set; files can be read from and saved to the "
            "download folder and the folders the host shares (MCP roots)",
        )
    for folder in (d.expanduser() for d in settings.allowed_dirs):
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            report.say(False, f"allowed folder {folder} {what}; create it or remove it from MOSAIC_MCP_ALLOWED_DIRS")
        elif _can_write(folder):
            report.say(True, f"allowed folder {folder} exists and is writable")
        else:
            report.say(None, f"allowed folder {folder} is read-only here: files can be read from it, not saved into it")


def _writable(report: Report, folder: Path, what: str, variable: str) -> None:
    if _can_write(folder):
        report.say(True, f"{what} {folder} exists and is writable")
    else:
        report.say(False, f"{what} {folder} is not writable; make it writable or set {variable}")


def _can_write(folder: Path) -> bool:
    """Whether a file can be created in `folder` (tried for real, then removed)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False

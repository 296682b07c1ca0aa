"""`mosaic-mcp`: serve (stdio or Streamable HTTP), demo, doctor, sandbox.

stdout is the protocol channel on stdio: everything this module says goes to stderr, except the
human-facing output of `demo` and `doctor`, which never run a protocol on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import sys
import textwrap
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from . import __version__, redact
from .config import ConfigurationError, Settings, load_settings

log = logging.getLogger("mosaic_mcp")
BEFORE = "before_command_"
"""Where argparse puts a server flag given before the command (`mosaic-mcp --sandbox serve`)."""
SANDBOX_SERVE_LOGGER = "mosaic_mcp.server.sandbox.serve"
"""The logger of `run_sandbox`, which logs the URL it listens on."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mosaic-mcp` command."""
    parser = _parser()
    args = _merged(parser, parser.parse_args(argv))
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # No record leaves with a key in it, at any level: httpcore's DEBUG lines quote header values.
    for handler in logging.getLogger().handlers:
        redact.install(handler)
    command = args.command or "serve"
    # Each command imports its own modules when it runs (lazy dispatch): `demo`, `doctor` and
    # `sandbox` start without loading the MCP server, and `serve` without the sandbox or demo.
    try:
        if command == "serve":
            return _serve(args)
        if command == "demo":
            from .demo import run_demo  # lazy dispatch: the demo and its sandbox only for `demo`

            return run_demo(speed=args.speed, out=sys.stdout)
        if command == "doctor":
            from .doctor import run_doctor  # lazy dispatch: only for `doctor`

            return run_doctor(_settings(args), sys.stdout, probe_seconds=args.probe_timeout)
        if command == "sandbox":
            from .sandbox import run_sandbox  # lazy dispatch: the sandbox is heavy, only for `sandbox`

            _announce_sandbox()
            run_sandbox(host=args.host, port=args.port, state_dir=args.state_dir)
            return 0
    except ConfigurationError as exc:
        _report_configuration(exc)
        return 2
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {command}")
    return 2


def _report_configuration(exc: ConfigurationError) -> None:
    if len(exc.problems) == 1:
        print(f"mosaic-mcp: configuration error: {exc.problems[0]}", file=sys.stderr)
        return
    print(f"mosaic-mcp: {len(exc.problems)} configuration errors:", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mosaic-mcp",
        description="MCP server for the Mosaic and Mosaic Motion video APIs.\n\n"
        "Without a command it serves MCP on stdio, as MCP hosts (Claude Desktop, Claude Code, Cursor,\n"
        "VS Code…) launch it. New here? Run `mosaic-mcp demo` (no keys needed), then `mosaic-mcp doctor`\n"
        "to check your set-up. Flags before a command apply to it: `mosaic-mcp --sandbox serve`.",
        epilog=_environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mosaic-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="run the MCP server (default; stdio unless --http)",
        description="Run the MCP server: on stdio for an MCP host, or Streamable HTTP with --http.",
        epilog=_environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _serve_flags(serve)
    _serve_flags(parser)  # bare `mosaic-mcp` = `mosaic-mcp serve`; before a command they apply to it
    demo = sub.add_parser("demo", help="run a scripted session against the built-in sandbox (no keys)")
    demo.add_argument("--speed", type=float, default=30.0, help="sandbox clock speed (default 30x)")
    doctor = sub.add_parser(
        "doctor",
        help="check configuration, keys and folders, and say how to fix problems",
        description="Check the keys against the APIs (each probe bounded), the folders, and the settings; "
        "with --sandbox, run the server on the emulator end to end.",
        epilog=_environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _serve_flags(doctor)
    doctor.add_argument(
        "--probe-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="longest wait for each API probe (default 10)",
    )
    sandbox = sub.add_parser("sandbox", help="serve the offline API emulator on loopback")
    sandbox.add_argument("--host", default="127.0.0.1", help="bind address: loopback only (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    sandbox.add_argument(
        "--state-dir", default=None, help="keep the emulated account in this folder across restarts (default: memory)"
    )
    for flagged in (parser, serve, doctor):
        _only_when_given(flagged, prefix=BEFORE if flagged is parser else "")
    return parser


def _server_flag_defaults() -> dict[str, Any]:
    """The server flags' defaults, by destination."""
    plain = argparse.ArgumentParser(add_help=False)
    _serve_flags(plain)
    return vars(plain.parse_args([]))


def _only_when_given(parser: argparse.ArgumentParser, prefix: str) -> None:
    """Server flags land in the namespace only when given (`_merged` adds the defaults), under `prefix`."""
    defaults = _server_flag_defaults()
    for action in parser._actions:
        if action.dest in defaults:
            if action.metavar is None and action.nargs != 0:
                action.metavar = action.dest.upper()
            action.dest = prefix + action.dest
            action.default = argparse.SUPPRESS


def _merged(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Server flags before the command apply to it (`mosaic-mcp --sandbox serve`); after it, they win.

    argparse would otherwise let the command's defaults overwrite what came before it, silently.
    """
    given = vars(args)
    before = {dest: given.pop(dest) for dest in list(given) if dest.startswith(BEFORE)}
    before = {dest.removeprefix(BEFORE): value for dest, value in before.items()}
    command = given.get("command") or "serve"
    misplaced = [f"--{dest.replace('_', '-')}" for dest in before if dest != "verbose"]
    if command in ("demo", "sandbox") and misplaced:
        verb = "configures" if len(misplaced) == 1 else "configure"
        parser.error(
            f"{', '.join(misplaced)} {verb} the server, not `mosaic-mcp {command}`; see `mosaic-mcp {command} --help`"
        )
    return argparse.Namespace(**{**_server_flag_defaults(), **before, **given})


def _environment_help() -> str:
    lines = ["environment variables (keys are read from the environment only, never from flags):"]
    for info in Settings.model_fields.values():
        if isinstance(info.validation_alias, str):
            lines.append(
                textwrap.fill(
                    info.description or "",
                    width=110,
                    initial_indent=f"  {info.validation_alias:<35}",
                    subsequent_indent=" " * 37,
                )
            )
    lines.append("first steps: `mosaic-mcp demo` (no keys), then `mosaic-mcp doctor` with your keys set")
    return "\n".join(lines)


def _serve_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--http", action="store_true", help="serve Streamable HTTP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default loopback)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    parser.add_argument("--sandbox", action="store_true", default=None, help="use the built-in API emulator")
    parser.add_argument("--toolsets", help="comma list of toolsets, or 'all' (MOSAIC_MCP_TOOLSETS)")
    parser.add_argument("--read-only", action="store_true", default=None, help="only tools that change nothing")
    parser.add_argument(
        "--allow-without-prompt",
        help="comma list of payments, publishing, deleting allowed with confirm=true when the client cannot "
        "show a confirmation prompt (MOSAIC_MCP_ALLOW_WITHOUT_PROMPT)",
    )
    parser.add_argument("--home", help="folder of the job journal (MOSAIC_MCP_HOME)")
    parser.add_argument("--download-dir", help="where outputs are saved (MOSAIC_MCP_DOWNLOAD_DIR)")
    parser.add_argument(
        "--allowed-dirs",
        nargs="*",
        metavar="DIR",
        help="folders files may be read from / written to, one or more, each may be a comma list "
        "(MOSAIC_MCP_ALLOWED_DIRS)",
    )
    parser.add_argument(
        "--max-download-bytes", type=int, help="largest file saved, bytes (MOSAIC_MCP_MAX_DOWNLOAD_BYTES)"
    )
    parser.add_argument("--max-wait-seconds", type=float, help="longest wait in one tool call")
    parser.add_argument("--poll-interval", type=float, help="first interval between polls of a job, seconds")
    parser.add_argument("--mosaic-api-base-url", help="Mosaic API root (MOSAIC_API_BASE_URL)")
    parser.add_argument("--motion-api-base-url", help="Motion API root (MOTION_API_BASE_URL)")
    parser.add_argument("--workspace-id", help="X-Workspace-Id for Mosaic requests (MOSAIC_WORKSPACE_ID)")
    parser.add_argument("--public-url", help="URL at which Mosaic reaches this HTTP server (webhooks)")
    parser.add_argument(
        "--allow-private-callbacks", action="store_true", default=None, help="callback_url may be a private address"
    )
    parser.add_argument("--media-origins", help="comma list of origins the job card may load media from")
    # Keys and tokens are deliberately not flags: a command line is visible in process lists.
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {
        "sandbox": args.sandbox,
        "toolsets": args.toolsets,
        "read_only": args.read_only,
        "allow_without_prompt": args.allow_without_prompt,
        "home": args.home,
        "download_dir": args.download_dir,
        "allowed_dirs": args.allowed_dirs or None,  # `--allowed-dirs` with no folder (an empty selection): unset
        "max_download_bytes": args.max_download_bytes,
        "max_wait_seconds": args.max_wait_seconds,
        "poll_interval_seconds": args.poll_interval,
        "mosaic_api_base_url": args.mosaic_api_base_url,
        "motion_api_base_url": args.motion_api_base_url,
        "workspace_id": args.workspace_id,
        "public_url": args.public_url,
        "allow_private_callbacks": args.allow_private_callbacks,
        "media_origins": args.media_origins,
    }
    return load_settings(**overrides)


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.remote and not args.http:
        raise ConfigurationError(
            f"MOSAIC_MCP_AUTH: '{settings.auth_mode}' serves people over HTTP; use it with `serve --http`, "
            "or unset it for the local stdio server (which uses MOSAIC_API_KEY / MOTION_API_KEY)"
        )
    with _start_up():
        from .app import create_server  # lazy dispatch: only `serve` builds the MCP server

        server = create_server(settings)
        if not args.http:
            import anyio

            from .stdio import serve_stdio  # lazy dispatch: stdio or HTTP, only the transport in use
    # PostgreSQL (MOSAIC_MCP_DATABASE_URL): reached and migrated before serving, or one line and exit 2.
    with server.database.hold() if server.database is not None else contextlib.nullcontext():
        if not args.http:
            if _stdin_is_a_terminal():
                _greet_a_person()
            try:
                anyio.run(serve_stdio, server)
            except KeyboardInterrupt:
                _exit_now(130)
            return 0
        from .serve_http import serve_http  # lazy dispatch: uvicorn and Starlette only for --http

        return serve_http(server, settings, host=args.host, port=args.port)


@contextlib.contextmanager
def _start_up() -> Iterator[None]:
    """No cyclic garbage collection while the server is built, then its objects are frozen.

    Importing the SDK and building the tools' schemas creates about 150,000 tracked objects that live
    as long as the process, and little garbage; the collections on the way cost 100-200 ms of a start
    on a 2-core machine. `gc.freeze` then moves what was built out of every later collection, so the
    poller's collections stay short too. The price: the start's garbage (about 6,400 objects, 1.3 MiB)
    is frozen with it, since collecting it first would cost a full collection (100+ ms) before the
    first answer.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _stdin_is_a_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _greet_a_person() -> None:
    """A host never gives the server a terminal; a person who starts it by hand learns what it is (on stderr)."""
    print(
        f"mosaic-mcp {__version__}: this is the MCP server on stdio. MCP hosts (Claude Desktop, Claude Code, "
        "Cursor, VS Code…) start it themselves and talk JSON-RPC on stdin/stdout; typing here does nothing "
        "useful.\n"
        "  try it without keys:  mosaic-mcp demo\n"
        "  check your set-up:    mosaic-mcp doctor\n"
        "  all commands:         mosaic-mcp --help\n"
        "Waiting for a host on stdin; Ctrl-C quits.",
        file=sys.stderr,
        flush=True,
    )


def _exit_now(code: int) -> NoReturn:
    """Exit without waiting for the stdin reader thread, which stays blocked in a read until a line comes."""
    # The server's lifespan has already closed (the interrupt cancelled it); only the join would be left.
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(code)


def _announce_sandbox() -> None:
    """`mosaic-mcp sandbox` says where it listens: its serve module logs the URL once the port is bound."""
    listening = logging.StreamHandler(sys.stderr)
    listening.setFormatter(logging.Formatter("mosaic-mcp sandbox: %(message)s"))
    announcer = logging.getLogger(SANDBOX_SERVE_LOGGER)
    announcer.addHandler(listening)
    announcer.setLevel(logging.INFO)
    announcer.propagate = False
    print(
        "mosaic-mcp sandbox: the offline emulator of the Mosaic and Motion APIs; any mk_… / motion_… key works. "
        "Point the server at it with MOSAIC_API_BASE_URL and MOTION_API_BASE_URL (below); Ctrl-C stops it.",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())

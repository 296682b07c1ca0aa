"""`mosaic-mcp`: serve (stdio or Streamable HTTP), demo, doctor, sandbox.

stdout is the protocol channel on stdio: everything this module says goes to stderr, except the
human-facing output of `demo` and `doctor`, which never run a protocol on stdout.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from . import redact
from .config import ConfigurationError, Settings, load_settings

log = logging.getLogger("mosaic_mcp")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mosaic-mcp` command."""
    parser = _parser()
    args = parser.parse_args(argv)
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

            return run_doctor(_settings(args), sys.stdout)
        if command == "sandbox":
            from .sandbox import run_sandbox  # lazy dispatch: the sandbox is heavy, only for `sandbox`

            run_sandbox(host=args.host, port=args.port, state_dir=args.state_dir)
            return 0
    except ConfigurationError as exc:
        print(f"mosaic-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {command}")
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mosaic-mcp", description="MCP server for the Mosaic and Mosaic Motion video APIs."
    )
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the MCP server (default; stdio unless --http)")
    _serve_flags(serve)
    _serve_flags(parser)  # bare `mosaic-mcp` = `mosaic-mcp serve`
    demo = sub.add_parser("demo", help="run a scripted session against the built-in sandbox (no keys)")
    demo.add_argument("--speed", type=float, default=30.0, help="sandbox clock speed (default 30x)")
    doctor = sub.add_parser("doctor", help="check configuration and keys, and say how to fix problems")
    _serve_flags(doctor)
    sandbox = sub.add_parser("sandbox", help="serve the offline API emulator on loopback")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument(
        "--state-dir", default=None, help="keep the emulated account in this folder across restarts (default: memory)"
    )
    return parser


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
    parser.add_argument("--allowed-dirs", help="comma list of readable/writable folders (MOSAIC_MCP_ALLOWED_DIRS)")
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
        "allowed_dirs": args.allowed_dirs,
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
    from .app import create_server  # lazy dispatch: only `serve` builds the MCP server

    server = create_server(settings)
    if not args.http:
        import anyio

        from .stdio import serve_stdio  # lazy dispatch: stdio or HTTP, only the transport in use

        anyio.run(serve_stdio, server)
        return 0
    from .serve_http import serve_http  # lazy dispatch: uvicorn and Starlette only for --http

    return serve_http(server, settings, host=args.host, port=args.port)


if __name__ == "__main__":
    sys.exit(main())

"""Flags: before the command they apply to it or are refused; --version; help for every command and flag."""

import argparse
import os
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from mosaic_mcp.server import __version__
from mosaic_mcp.server.cli import _merged, _parser, main

from ..support import call_ok
from ..support.processes import mosaic_mcp_command
from . import run


@pytest.mark.anyio
async def test_a_flag_before_serve_applies_to_it(tmp_path: Path) -> None:
    """`mosaic-mcp --sandbox serve` serves the sandbox (no keys needed), not the real API."""
    command = mosaic_mcp_command()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOSAIC_", "MOTION_"))}
    params = StdioServerParameters(
        command=command[0], args=[*command[1:], "--sandbox", "serve"], env={**env, "MOSAIC_MCP_HOME": str(tmp_path)}
    )
    async with Client(params) as client:
        credits = await call_ok(client, "check_credits")
    assert credits["balance"] > 0


def test_a_flag_after_the_command_wins_over_one_before() -> None:
    """`--port 1 serve --port 2` serves on port 2; `--toolsets all doctor` reaches doctor."""
    parser = _parser()
    assert _merged(parser, parser.parse_args(["--port", "1", "serve", "--port", "2"])).port == 2
    merged = _merged(parser, parser.parse_args(["--toolsets", "all", "doctor"]))
    assert merged.command == "doctor" and merged.toolsets == "all" and merged.probe_timeout == 10.0


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_a_server_flag_before_a_command_that_cannot_use_it_is_refused(command: str) -> None:
    """`mosaic-mcp --toolsets all demo` exits 2 and says the flag is not the command's, instead of dropping it."""
    result = run(["--toolsets", "all", command])
    assert result.returncode == 2
    assert "--toolsets" in result.stderr and f"mosaic-mcp {command}" in result.stderr


def test_version() -> None:
    """`mosaic-mcp --version` prints the package version and exits 0."""
    result = run(["--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"mosaic-mcp {__version__}"


def test_help_names_the_key_variables_and_the_first_steps() -> None:
    """`mosaic-mcp --help` names MOSAIC_API_KEY and MOTION_API_KEY and points at demo and doctor."""
    result = run(["--help"])
    assert result.returncode == 0
    for text in ("MOSAIC_API_KEY", "MOTION_API_KEY", "MOSAIC_MCP_ALLOWED_DIRS", "mosaic-mcp demo", "mosaic-mcp doctor"):
        assert text in result.stdout


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's commands by name."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_and_flag_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Each command is listed with a help line, and each flag of each command has help; each --help exits 0."""
    parser = _parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    listed = {choice.dest: choice.help for choice in action._choices_actions}
    assert set(listed) == set(subcommands(parser)) == {"serve", "demo", "doctor", "sandbox"}
    assert all(listed.values()), listed
    for name, command in [("mosaic-mcp", parser), *subcommands(parser).items()]:
        undocumented = [a.option_strings for a in command._actions if a.option_strings and not a.help]
        assert undocumented == [], f"{name}: {undocumented}"
    for name in subcommands(parser):
        with pytest.raises(SystemExit) as exited:
            main([name, "--help"])
        assert exited.value.code == 0
        assert f"usage: mosaic-mcp {name}" in capsys.readouterr().out

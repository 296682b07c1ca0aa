"""The bundle's launch command as Claude Desktop fills it in, run against the real `mosaic-mcp` command.

Each case is a way a user leaves the bundle's settings: an empty key, a key never touched (the host then
passes the literal `${user_config.NAME}`), two folders (several arguments), untouched folder defaults
(`${HOME}/Movies` passed on unexpanded), and every folder removed. The server must start, answer
`initialize` and `tools/list`, and allow exactly the folders the user chose. CI runs the same check with
the packer's own substitution code and `uv` (.ci/run).
"""

from pathlib import Path
from typing import Any

import pytest

from ..support.processes import mosaic_mcp_command
from .host import ENTRY, MANIFEST, launch_config, server_arguments
from .stdio_check import bounded_check, resolved

pytestmark = pytest.mark.anyio


def host_launch(user_config: dict[str, Any], tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """The host's launch config, with `uv run … entry` replaced by the installed command; and the home used."""
    home = tmp_path / "home"
    home.mkdir()
    config = launch_config(user_config, tmp_path / "extension", home)
    command = mosaic_mcp_command()
    env = {
        **config["env"],
        "HOME": str(home),
        "MOSAIC_MCP_HOME": str(tmp_path / "mcp-home"),
        "MOSAIC_MCP_SANDBOX": "1",  # not a bundle setting: lets the check run offline, keys or not
    }
    return {"command": command[0], "args": [*command[1:], *server_arguments(config)], "env": env}, home


def test_the_launch_command_runs_the_entry_point_with_uv() -> None:
    """mcp_config starts `uv run --directory ${__dirname} <entry_point> serve`, the bundle's own source."""
    args = MANIFEST["server"]["mcp_config"]["args"]
    assert MANIFEST["server"]["mcp_config"]["command"] == "uv"
    assert args[0] == "run"
    assert args[args.index("--directory") + 1] == "${__dirname}"
    assert args[args.index(ENTRY) + 1] == "serve"


async def test_two_folders_and_an_empty_key(tmp_path: Path) -> None:
    """Two chosen folders arrive as two arguments; a cleared key and an untouched one are both unset."""
    movies, desktop = tmp_path / "Movies", tmp_path / "Desk top"
    user = {"allowed_dirs": [str(movies), str(desktop)], "mosaic_api_key": ""}
    config, _ = host_launch(user, tmp_path)
    assert config["args"][-2:] == [str(movies), str(desktop)]
    assert config["env"]["MOTION_API_KEY"] == "${user_config.motion_api_key}"
    await bounded_check(config, resolved([str(movies), str(desktop)]), seconds=60)


async def test_untouched_defaults_are_expanded(tmp_path: Path) -> None:
    """The folder defaults reach the server as `${HOME}/Movies` and `${DESKTOP}`; the server expands them."""
    config, home = host_launch({}, tmp_path)
    assert "${HOME}/Movies" in config["args"]
    assert config["env"]["MOSAIC_MCP_DOWNLOAD_DIR"] == "${HOME}/Downloads/Mosaic"
    folders = [home / "Movies", home / "Desktop", home / "Downloads" / "Mosaic"]
    await bounded_check(config, resolved([str(folder) for folder in folders]), seconds=60)


async def test_every_folder_removed(tmp_path: Path) -> None:
    """An empty folder selection leaves `--allowed-dirs` with no value: the server starts with the default."""
    config, home = host_launch({"allowed_dirs": []}, tmp_path)
    assert config["args"][-1] == "--allowed-dirs"
    await bounded_check(config, resolved([str(home / "Downloads" / "Mosaic")]), seconds=60)


async def test_read_only_and_toolsets_reach_the_server(tmp_path: Path) -> None:
    """The read-only switch arrives as "true" and the toolsets as text: only tools that change nothing, runs too."""
    config, _ = host_launch({"read_only": True, "toolsets": "core,runs"}, tmp_path)
    names = await bounded_check(config, [], seconds=60, expected=frozenset({"poll_job", "list_runs"}))
    assert "run_agent" not in names and "resume_run" not in names

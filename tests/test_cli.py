"""The `mosaic-mcp` command: doctor, sandbox, and configuration errors."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from mosaic_mcp.server.sandbox import Sandbox, SandboxConfig, serve_sandbox

from .support.processes import free_port, mosaic_mcp_command, sandbox_process


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MOSAIC_", "MOTION_"))}
    return subprocess.run(
        [*mosaic_mcp_command(), *args], env={**base, **env}, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """`mosaic-mcp sandbox` running as its own process on a free loopback port."""
    with sandbox_process() as url:
        yield url


def test_doctor_confirms_working_keys(sandbox_url: str, tmp_path: Path) -> None:
    """doctor calls /whoami (and probes Motion) and reports both keys working."""
    env = {
        "MOSAIC_API_KEY": "mk_doctor_SECRET_1",
        "MOTION_API_KEY": "motion_doctor_SECRET_1",
        "MOSAIC_API_BASE_URL": sandbox_url,
        "MOTION_API_BASE_URL": f"{sandbox_url}/api/motion",
        "MOSAIC_MCP_HOME": str(tmp_path),
    }
    result = run(["doctor"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Mosaic key works" in result.stdout
    assert "Motion key works" in result.stdout
    assert "SECRET" not in result.stdout + result.stderr


def test_doctor_reports_an_unreachable_service(tmp_path: Path) -> None:
    """doctor says what failed and exits 1 when the API cannot be reached."""
    env = {
        "MOSAIC_API_KEY": "mk_doctor_SECRET_2",
        "MOSAIC_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "MOSAIC_MCP_HOME": str(tmp_path),
    }
    result = run(["doctor"], env)
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "Could not talk to Mosaic" in result.stdout
    assert "SECRET" not in result.stdout + result.stderr


def test_doctor_without_keys_points_at_the_sandbox(tmp_path: Path) -> None:
    """With no key at all, doctor fails and suggests --sandbox."""
    result = run(["doctor"], {"MOSAIC_MCP_HOME": str(tmp_path)})
    assert result.returncode == 1
    assert "--sandbox" in result.stdout


def test_wrong_key_prefix_is_a_configuration_error(tmp_path: Path) -> None:
    """A Motion key in MOSAIC_API_KEY stops serve with exit 2, a fix, and no key echoed."""
    result = run(["serve"], {"MOSAIC_API_KEY": "motion_SECRET_3", "MOSAIC_MCP_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "MOTION_API_KEY" in result.stderr
    assert "SECRET" not in result.stderr and result.stdout == ""


def test_unknown_toolset_is_a_configuration_error(tmp_path: Path) -> None:
    """An unknown toolset name is refused with the list of valid ones."""
    result = run(["serve", "--toolsets", "core,videos"], {"MOSAIC_MCP_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "videos" in result.stderr and "account" in result.stderr


def test_module_entry_point_matches_the_script() -> None:
    """`python -m mosaic_mcp.server.cli --help` works like the console script."""
    result = subprocess.run(
        [sys.executable, "-m", "mosaic_mcp.server.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "demo" in result.stdout


def test_doctor_trims_a_key_with_a_trailing_newline(sandbox_url: str, tmp_path: Path) -> None:
    """A key pasted with a trailing newline works, and `-v` debug logging never prints it."""
    env = {
        "MOSAIC_API_KEY": "mk_doctor_SECRET_4\n",
        "MOSAIC_API_BASE_URL": sandbox_url,
        "MOSAIC_MCP_HOME": str(tmp_path),
    }
    result = run(["doctor", "-v"], env)
    assert "Mosaic key works" in result.stdout, result.stdout + result.stderr
    assert "DEBUG" in result.stderr  # -v did log at debug level
    assert "SECRET" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["doctor", "serve"])
def test_non_ascii_key_is_a_configuration_error(command: str, tmp_path: Path) -> None:
    """A key with a non-ASCII letter stops doctor and serve with exit 2 and names the variable: no crash, no key."""
    env = {"MOTION_API_KEY": "motion_SECRET_5_é", "MOSAIC_MCP_HOME": str(tmp_path)}
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MOSAIC_", "MOTION_"))}
    result = subprocess.run(
        [*mosaic_mcp_command(), command],
        env={**base, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "MOTION_API_KEY" in result.stderr and "non-ASCII" in result.stderr
    assert "Traceback" not in result.stderr
    assert "SECRET" not in result.stdout + result.stderr


@pytest.mark.anyio
async def test_doctor_hides_a_key_the_upstream_echoes(tmp_path: Path) -> None:
    """An upstream echoing the Authorization header in its errors: doctor's report and its -v log show no key."""
    key = "mk_doctor_SECRET_6"
    echo = {"message": f"bad credentials: Authorization: Bearer {key}", "request_headers": {"authorization": key}}
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as sandbox:
        sandbox.sandbox.faults.inject("status", status=401, body=echo, method="GET", path="/whoami")
        env = {"MOSAIC_API_KEY": key, "MOSAIC_API_BASE_URL": sandbox.mosaic_base_url, "MOSAIC_MCP_HOME": str(tmp_path)}
        result = await anyio.to_thread.run_sync(lambda: run(["doctor", "-v"], env))
    assert result.returncode == 1
    assert "answered 401" in result.stdout and "[REDACTED]" in result.stdout
    assert "SECRET" not in result.stdout + result.stderr

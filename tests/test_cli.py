"""The `mosaic-mcp` command: doctor, sandbox, and configuration errors."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .e2e.conftest import free_port, mosaic_mcp_command, sandbox_process


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

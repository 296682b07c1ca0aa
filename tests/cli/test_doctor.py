"""`mosaic-mcp doctor`: says what it checks, ends in bounded time, checks the sandbox end to end and the folders."""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support.processes import free_port
from . import run


@pytest.fixture
def silent_host() -> Iterator[str]:
    """A loopback server that accepts every connection and never answers; yields its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def test_doctor_ends_in_bounded_time_against_a_host_that_never_answers(silent_host: str, tmp_path: Path) -> None:
    """Each probe is bounded (--probe-timeout 1): doctor says what it checks, reports both, exits 1 within seconds."""
    env = {
        "MOSAIC_API_KEY": "mk_doctor_SECRET_7",
        "MOTION_API_KEY": "motion_doctor_SECRET_7",
        "MOSAIC_API_BASE_URL": silent_host,
        "MOTION_API_BASE_URL": f"{silent_host}/api/motion",
        "MOSAIC_MCP_HOME": str(tmp_path),
    }
    started = time.monotonic()
    result = run(["doctor", "--probe-timeout", "1"], env, timeout=30)
    assert time.monotonic() - started < 20
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    checking = next(i for i, line in enumerate(lines) if line.startswith("checking the Mosaic key"))
    assert "no answer within 1 s" in lines[checking + 1] and "MOSAIC_API_BASE_URL" in lines[checking + 1]
    assert any("Motion: no answer within 1 s" in line and "MOTION_API_BASE_URL" in line for line in lines)
    assert "SECRET" not in result.stdout + result.stderr


@pytest.mark.parametrize("args", [["doctor", "--sandbox"], ["--sandbox", "doctor"]])
def test_doctor_sandbox_drives_the_server_end_to_end(args: list[str], tmp_path: Path) -> None:
    """`doctor --sandbox` starts the emulator and the server, lists the tools and calls two of them: exit 0."""
    result = run(args, {"MOSAIC_MCP_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[ok  ] the MCP server answers:" in result.stdout
    assert "[ok  ] check_credits through the emulated Mosaic API" in result.stdout
    assert "[ok  ] list_agents:" in result.stdout
    assert not (tmp_path / "home" / "jobs.sqlite3").exists()  # its trial journal was a private one


def test_doctor_sandbox_keeps_its_trial_jobs_out_of_the_configured_database(tmp_path: Path) -> None:
    """With MOSAIC_MCP_DATABASE_URL set (here to a PostgreSQL nobody answers at), `doctor --sandbox` still drives
    its trial server on a private SQLite journal: the deployment's database never sees the sandbox's jobs."""
    url = f"postgresql://mosaic@127.0.0.1:{free_port()}/mosaic_jobs?connect_timeout=2"
    result = run(["doctor", "--sandbox"], {"MOSAIC_MCP_HOME": str(tmp_path / "home"), "MOSAIC_MCP_DATABASE_URL": url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[ok  ] list_agents:" in result.stdout


def test_doctor_lists_and_checks_the_folders(tmp_path: Path) -> None:
    """Doctor names the download folder and each allowed folder, and fails on one that does not exist."""
    present, missing, downloads = tmp_path / "media", tmp_path / "gone", tmp_path / "out"
    present.mkdir()
    downloads.mkdir()
    env = {
        "MOSAIC_MCP_HOME": str(tmp_path / "home"),
        "MOSAIC_MCP_DOWNLOAD_DIR": str(downloads),
        "MOSAIC_MCP_ALLOWED_DIRS": f"{present},{missing}",
    }
    result = run(["--sandbox", "doctor"], env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"[ok  ] download folder {downloads} exists and is writable" in result.stdout
    assert f"[ok  ] allowed folder {present} exists and is writable" in result.stdout
    assert f"[FAIL] allowed folder {missing} does not exist" in result.stdout
    assert "MOSAIC_MCP_ALLOWED_DIRS" in result.stdout


def test_doctor_says_a_missing_download_folder_is_created_later(tmp_path: Path) -> None:
    """A download folder that does not exist yet under a writable parent is fine: the first download creates it."""
    env = {"MOSAIC_MCP_HOME": str(tmp_path / "home"), "MOSAIC_MCP_DOWNLOAD_DIR": str(tmp_path / "later")}
    result = run(["doctor", "--sandbox"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"download folder {tmp_path / 'later'} does not exist yet; the first download creates it" in result.stdout
    assert "none set" in result.stdout  # no MOSAIC_MCP_ALLOWED_DIRS: said, not an error

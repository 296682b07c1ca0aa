"""Bare `mosaic-mcp` started by a person in a terminal: it says what it is (on stderr) and Ctrl-C ends it."""

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

from ..support.processes import mosaic_mcp_command
from . import run

GREETING = "this is the MCP server on stdio"


def read_until(fd: int, needle: bytes, seconds: float) -> bytes:
    """What `fd` yields until `needle` appears or `seconds` pass."""
    seen = b""
    deadline = time.monotonic() + seconds
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
    return seen


def test_on_a_terminal_it_explains_itself_and_ctrl_c_ends_it(tmp_path: Path) -> None:
    """stdin a terminal: stderr names the server and suggests demo and doctor, stdout stays empty, SIGINT exits 130."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOSAIC_", "MOTION_"))}
    proc = subprocess.Popen(
        mosaic_mcp_command(),
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**env, "MOSAIC_MCP_HOME": str(tmp_path)},
    )
    os.close(terminal)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        said = read_until(proc.stderr.fileno(), b"Ctrl-C", 30).decode()
        assert GREETING in said and "mosaic-mcp demo" in said and "mosaic-mcp doctor" in said, said
        time.sleep(0.3)  # let it settle into reading stdin, where an interrupt used to be ignored
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground process
        assert proc.wait(timeout=5) == 130
        assert proc.stdout.read() == b""  # stdout is the protocol: nothing was printed there
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(controller)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_a_host_is_not_greeted(tmp_path: Path) -> None:
    """stdin not a terminal (a host's pipe): no greeting, and the server ends when stdin does."""
    result = run([], {"MOSAIC_MCP_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert GREETING not in result.stderr
    assert result.stdout == ""

"""The real `mosaic-mcp serve --sandbox` over stdio answers every line, however malformed, and keeps serving."""

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from ..support.processes import mosaic_mcp_command

pytestmark = pytest.mark.anyio

HANG_GUARD_SECONDS = 30  # only guards against a hang; nothing here is timed
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


def nested(request_id: int, depth: int) -> bytes:
    """A tools/list request whose params hold arrays nested `depth` deep (otherwise valid JSON)."""
    return b'{"jsonrpc":"2.0","id":%d,"method":"tools/list","params":{"deep":%s%s}}' % (
        request_id,
        b"[" * depth,
        b"]" * depth,
    )


class RawStdio:
    """JSON-RPC lines written to the server's stdin and read from its stdout, nothing in between."""

    def __init__(self, process: Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self._stdin = process.stdin
        self._stdout = BufferedByteReceiveStream(process.stdout)

    async def send(self, line: bytes) -> None:
        await self._stdin.send(line + b"\n")

    async def receive(self) -> dict[str, Any]:
        """The next line on stdout, which must be one JSON-RPC message."""
        line = await self._stdout.receive_until(b"\n", 1 << 24)
        message = json.loads(line.decode("utf-8"))  # strict UTF-8: no lone surrogates on the wire
        assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", line[:200]
        return message

    async def initialize(self) -> None:
        await self.send(json.dumps(INITIALIZE).encode())
        assert "result" in await self.receive()
        await self.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')


TOOLS_LIST = b'{"jsonrpc":"2.0","id":99,"method":"tools/list"}'


def assert_tool_list(answer: dict[str, Any]) -> None:
    """`answer` is the normal answer to TOOLS_LIST."""
    assert answer["id"] == 99, str(answer)[:200]
    assert any(tool["name"] == "check_credits" for tool in answer["result"]["tools"])


@asynccontextmanager
async def raw_server(tmp_path: Path, **extra_env: bytes) -> AsyncIterator[RawStdio]:
    """`mosaic-mcp serve --sandbox` as a child process, initialized; its stderr goes to a file."""
    env = {**os.environb, b"MOSAIC_MCP_HOME": os.fsencode(tmp_path / "home")}
    env.update((name.encode(), value) for name, value in extra_env.items())
    with (tmp_path / "stderr.log").open("wb") as stderr:
        process = await anyio.open_process(
            [*mosaic_mcp_command(), "serve", "--sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,  # type: ignore[arg-type]  # bytes keys and values are fine on POSIX
        )
        async with process:
            try:
                with anyio.fail_after(HANG_GUARD_SECONDS):
                    rpc = RawStdio(process)
                    await rpc.initialize()
                    yield rpc
            finally:
                if process.returncode is None:
                    process.terminate()


BAD_LINES = {
    "not JSON": (b"hello", -32700, None),
    "nested 200 deep": (nested(5, 200), -32600, 5),
    "nested 100,000 deep": (nested(6, 100_000), -32600, 6),
    "lone surrogate in a string": (
        b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"check_credits","arguments":{"x":"\\ud800"}}}',
        -32600,
        7,
    ),
    "lone surrogate in the id": (b'{"jsonrpc":"2.0","id":"\\udc00","method":"tools/list"}', -32600, None),
    "a batch array": (b'[{"jsonrpc":"2.0","id":8,"method":"tools/list"}]', -32600, None),
    "JSON that is not an object": (b"42", -32600, None),
    "an object without method": (b'{"jsonrpc":"2.0","id":9}', -32600, 9),
    "an id that is neither string nor integer": (b'{"jsonrpc":"2.0","id":true,"method":"tools/list"}', -32600, None),
    "a valid request followed by garbage": (b'{"jsonrpc":"2.0","id":10,"method":"tools/list"} xyz', -32700, None),
}


async def test_each_malformed_line_gets_its_error_and_the_server_keeps_serving(tmp_path: Path) -> None:
    """Each malformed line is answered with its JSON-RPC error (its id when readable), then tools/list still works."""
    async with raw_server(tmp_path) as rpc:
        for case, (line, code, request_id) in BAD_LINES.items():
            await rpc.send(line)
            await rpc.send(TOOLS_LIST)  # answered after the bad line's error: lines are read in order
            answer = await rpc.receive()
            error_code = answer.get("error", {}).get("code")
            assert error_code == code, f"{case}: got {str(answer)[:200]}"
            assert answer["id"] == request_id, case
            assert answer["error"]["message"], case
            # Also proves that a refused request was not run: only its error came before this answer.
            assert_tool_list(await rpc.receive())


async def test_every_line_of_a_burst_is_answered_in_order(tmp_path: Path) -> None:
    """All malformed lines sent back to back get one error each, in order, then a working request is answered."""
    async with raw_server(tmp_path) as rpc:
        for line, _, _ in BAD_LINES.values():
            await rpc.send(line)
        await rpc.send(TOOLS_LIST)
        for case, (_, code, request_id) in BAD_LINES.items():
            answer = await rpc.receive()
            assert (answer.get("error", {}).get("code"), answer["id"]) == (code, request_id), case
        assert_tool_list(await rpc.receive())


@pytest.mark.skipif(sys.platform == "win32", reason="needs a file name that is not UTF-8 (POSIX bytes)")
async def test_answer_with_lone_surrogates_is_written(tmp_path: Path) -> None:
    """A tool error naming a folder whose name is not UTF-8 reaches the client (as U+FFFD) and the server lives on."""
    odd = os.fsencode(tmp_path) + b"/odd\xff"
    try:
        os.mkdir(odd)
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"not really a video")
    call = {"name": "upload_file", "arguments": {"path": str(outside)}}
    async with raw_server(tmp_path, MOSAIC_MCP_ALLOWED_DIRS=odd) as rpc:
        await rpc.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call}).encode())
        answer = await rpc.receive()
        assert answer["id"] == 2 and answer["result"]["isError"] is True
        assert "odd\ufffd" in answer["result"]["content"][0]["text"]
        await rpc.send(TOOLS_LIST)
        assert_tool_list(await rpc.receive())

"""`mosaic-mcp serve` over stdio, answering every line (see `wire` for why the SDK's reader is not used).

Like the SDK's `stdio_server`, it serves the wire from private duplicates of fd 0 and fd 1 and points
those at the null device and at stderr meanwhile, so a stray `print` or a child process cannot
corrupt the protocol; both are restored on exit. Good lines reach the SDK as the same
`SessionMessage`s its own reader makes; bad lines are answered here, through the one writer.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any, BinaryIO, Literal

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server import MCPServer
from mcp.shared.message import SessionMessage
from mcp.types import JSONRPCError

from . import wire

log = logging.getLogger("mosaic_mcp.stdio")


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve one MCP connection over this process's stdin and stdout until stdin ends."""
    low = server._lowlevel_server  # what MCPServer.run_stdio_async drives; mcp is pinned to 2.3.x
    async with stdio_streams() as (read_stream, write_stream):
        await low.run(read_stream, write_stream, low.create_initialization_options())


@asynccontextmanager
async def stdio_streams() -> AsyncIterator[
    tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]
]:
    """The (read, write) streams the SDK's server loop takes, over the process's stdin and stdout."""
    with _wire(0, "rb", _null_for_reading) as wire_in, _wire(1, "wb", _stderr_for_writing) as wire_out:
        to_server, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        write_stream, to_wire = anyio.create_memory_object_stream[SessionMessage](0)
        text_in = io.TextIOWrapper(wire_in, encoding="utf-8", errors="replace")  # as the SDK decodes
        async with anyio.create_task_group() as tg:
            tg.start_soon(_read, text_in, to_server, write_stream.clone())
            tg.start_soon(_write, to_wire, wire_out)
            yield read_stream, write_stream
            # The server loop has ended and its last answers are written or being written (those
            # writes are not cancellable); a reader still waiting on stdin is abandoned.
            tg.cancel_scope.cancel()


async def _read(
    text_in: io.TextIOWrapper,
    to_server: MemoryObjectSendStream[SessionMessage | Exception],
    answers: MemoryObjectSendStream[SessionMessage],
) -> None:
    async with to_server, answers:
        while True:
            # One worker-thread hop per line, as in the SDK; parsing there keeps a pathological line
            # (100,000 levels deep takes about a second to diagnose) off the event loop.
            ended, item = await anyio.to_thread.run_sync(_next_line, text_in, abandon_on_cancel=True)
            if ended:
                return
            try:
                if isinstance(item, SessionMessage):
                    await to_server.send(item)
                elif item is not None:
                    log.warning("stdin: refused a message (%s): %s", item.error.code, item.error.message)
                    await answers.send(SessionMessage(item))
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the server loop has ended


def _next_line(text_in: io.TextIOWrapper) -> tuple[bool, SessionMessage | JSONRPCError | None]:
    """(stdin has ended, what the next line carries)."""
    line = text_in.readline()
    return (True, None) if not line else (False, wire.read_line(line))


async def _write(from_server: MemoryObjectReceiveStream[SessionMessage], wire_out: BinaryIO) -> None:
    async with from_server:
        async for message in from_server:
            line = wire.encode(message.message)
            if line is None:
                continue
            try:
                await anyio.to_thread.run_sync(_send, wire_out, (line + "\n").encode("utf-8"))
            except OSError as exc:
                log.info("stdout is closed (%s); no more answers can be sent", exc.strerror or exc)
                return


def _send(wire_out: BinaryIO, data: bytes) -> None:
    wire_out.write(data)
    wire_out.flush()


@contextmanager
def _wire(fd: int, mode: Literal["rb", "wb"], diversion: Callable[[], int]) -> Iterator[BinaryIO]:
    """The stream behind `fd`, read or written through a private duplicate while `fd` is diverted."""
    if fd == 1:
        with suppress(Exception):
            sys.stdout.flush()  # nothing should be buffered, but whatever is belongs before the protocol
    private = _duplicate_above_std(fd)
    diverted = False
    with suppress(OSError):
        substitute = diversion()
        try:
            os.dup2(substitute, fd)
            diverted = True
        finally:
            os.close(substitute)
    try:
        # closefd=False: a reader thread may still block on it after we return; never recycle the fd.
        yield os.fdopen(private, mode, closefd=False)
    finally:
        if diverted:
            with suppress(OSError):
                os.dup2(private, fd)


def _duplicate_above_std(fd: int) -> int:
    if sys.platform == "win32":
        return os.dup(fd)  # 0-2 are open, so the duplicate lands above them
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)


def _null_for_reading() -> int:
    return os.open(os.devnull, os.O_RDONLY)


def _stderr_for_writing() -> int:
    try:
        return os.dup(2)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)

"""The emulated account on disk: saved after every request, restored when a sandbox starts.

With ``SandboxConfig.state_dir`` set, everything a ``Sandbox`` holds about the account — every
attribute but the ones in ``LIVE`` (config, clock, faults, request log, webhook outbox, base URL)
— is pickled into ``state.pickle`` as one object graph, so the stores, the id generator, the
scheduled events and the references between them come back as they were, and a store added later
is saved without code here. Two kinds of object are saved as references instead of values:

- what belongs to the running process (the ``LIVE`` attributes, the sandbox itself, and callables
  the sandbox injects into its stores, such as ``runs.sign``): on restore they are linked to the new
  sandbox's own;
- byte strings of ``SIDE_BYTES`` or more (uploaded files): stored once each under ``bytes/`` by
  their SHA-256, so a save after a poll does not rewrite megabytes.

The file starts with one JSON line: format, a fingerprint of the sandbox's code (state saved by
other code is set aside, not loaded into objects of another shape), the clock and the port. The
clock continues from where it was, plus the real time the sandbox was down at its saved speed, as
a real backend keeps working while its client is closed. The port is reused when free, so links
handed out before a restart keep working; otherwise the next read signs them on the new port.

Every write goes to a temporary file that is fsynced and renamed over the old one, so a SIGKILL
at any moment leaves the previous state or the new one, never a mix. The state is written before
a request's answer leaves, so a client never holds an id the disk does not. The folder is private
(0700): the file is a pickle and must only be read from a folder nobody else can write.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import pickle
import socket
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MethodType
from typing import Any, BinaryIO

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .sandbox import Sandbox

if sys.platform != "win32":
    import fcntl

logger = logging.getLogger(__name__)

FORMAT = 1
STATE_FILE = "state.pickle"
LOCK_FILE = "lock"
BYTES_DIR = "bytes"
SIDE_BYTES = 64 * 1024
LIVE = frozenset({"config", "clock", "faults", "requests", "outbox", "base_url"})
"""``Sandbox`` attributes that belong to one process and are never saved."""

Ref = tuple[str, ...]
Key = tuple[str, float, int | None]  # what a written state is: its hash, the clock speed, the port


@cache
def code_fingerprint() -> str:
    """A hash of the sandbox's source files: state is restored only into the code that saved it."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def _state(sandbox: Sandbox) -> dict[str, Any]:
    return {name: value for name, value in vars(sandbox).items() if name not in LIVE}


def _injected(sandbox: Sandbox) -> dict[Ref, Any]:
    """Callables the sandbox set on its stores (``runs.sign``…): wiring, not state."""
    state = _state(sandbox)
    stores = {id(store) for store in state.values()}
    found: dict[Ref, Any] = {}
    for name, store in state.items():
        for attr, value in getattr(store, "__dict__", {}).items():
            if isinstance(value, MethodType) and id(value.__self__) in stores:
                continue  # a method of a saved store is saved as such
            if callable(value) and not isinstance(value, type):
                found[("wire", name, attr)] = value
    return found


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, refs: dict[int, Ref], side: dict[str, bytes]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._refs, self._side = refs, side

    def persistent_id(self, obj: Any) -> Ref | None:
        ref = self._refs.get(id(obj))
        if ref is not None:
            return ref
        if type(obj) in (bytes, bytearray) and len(obj) >= SIDE_BYTES:
            data = bytes(obj)
            digest = hashlib.sha256(data).hexdigest()
            self._side[digest] = data
            return ("bytes", digest, type(obj).__name__)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, links: dict[Ref, Any], side_dir: Path) -> None:
        super().__init__(file)  # our own file, in a folder only its owner can write (see the docstring)
        self._links, self._side_dir = links, side_dir

    def persistent_load(self, pid: Any) -> Any:
        if pid[0] == "bytes":
            data = (self._side_dir / pid[1]).read_bytes()
            if hashlib.sha256(data).hexdigest() != pid[1]:
                raise pickle.UnpicklingError(f"{BYTES_DIR}/{pid[1]} does not match its hash")
            return bytearray(data) if pid[2] == "bytearray" else data
        try:
            return self._links[tuple(pid)]
        except KeyError:
            raise pickle.UnpicklingError(f"the saved state refers to {'.'.join(pid[1:])}, which is gone") from None


@dataclass
class _Saved:
    state: dict[str, Any]
    resume_at: float
    port: int | None


@dataclass
class _Snapshot:
    header: dict[str, Any]
    state: bytes
    side: dict[str, bytes]


class StateStore:
    """Saves one sandbox's account into ``folder`` and restores it from there."""

    def __init__(self, sandbox: Sandbox, folder: Path) -> None:
        self.sandbox = sandbox
        self.folder = folder
        self.port: int | None = None
        """The port the saved sandbox listened on (set by ``restore``); ``serve`` sets the bound one."""
        self._saved: tuple[Key, float] | None = None
        self._lock = anyio.Lock()
        self._reported: set[str] = set()
        self.writable = True
        """False when another process holds the folder (see ``claim``): nothing is written then."""
        self._lock_file: BinaryIO | None = None

    # -- restore ----------------------------------------------------------------------------
    def claim(self) -> bool:
        """Lock the folder for this process (released when it ends, even by SIGKILL); False if another holds it.

        A sandbox that cannot claim the folder still restores from it but never writes it: two
        sandboxes saving one account would each erase the other's jobs.
        """
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = (self.folder / LOCK_FILE).open("ab")
        if sys.platform != "win32":
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                self.writable = False
                return False
        self._lock_file = handle
        return True

    def close(self) -> None:
        """Save a last time and let another sandbox claim the folder."""
        self.save_now()
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor releases the lock
            self._lock_file = None
        self.writable = False

    def restore(self) -> bool:
        """Load the saved account into the sandbox; False (a fresh account) if there is none or it is unusable."""
        path = self.folder / STATE_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as exc:
            logger.warning("sandbox state %s cannot be read (%s); starting a fresh account", path, exc)
            return False
        try:
            saved = self._decode(raw)
        except Exception as exc:  # any damage or mismatch: keep the file for a look, start afresh
            aside = path.with_name(STATE_FILE + ".unusable")
            if self.writable:
                with contextlib.suppress(OSError):
                    os.replace(path, aside)
            logger.warning("sandbox state %s is unusable (%s); set aside as %s, starting afresh", path, exc, aside)
            return False
        for name, value in saved.state.items():
            setattr(self.sandbox, name, value)
        self.sandbox.clock.resume(saved.resume_at)
        self.port = saved.port
        return True

    def _decode(self, raw: bytes) -> _Saved:
        line, _, body = raw.partition(b"\n")
        header = json.loads(line)
        if header.get("format") != FORMAT:
            raise ValueError(f"format {header.get('format')!r}, this sandbox reads {FORMAT}")
        if header.get("code") != code_fingerprint():
            raise ValueError("saved by another version of the sandbox")
        clock = header["clock"]
        # The backend kept working while nobody ran it: add the real time it was down, at its speed.
        down = max(0.0, time.time() - float(clock["wall"]))
        resume_at = float(clock["virtual"]) + down * float(clock["speed"])
        port = header.get("port")
        links: dict[Ref, Any] = {("live", name): getattr(self.sandbox, name) for name in LIVE}
        links[("live", "")] = self.sandbox
        links.update(_injected(self.sandbox))
        state = _Unpickler(io.BytesIO(body), links, self.folder / BYTES_DIR).load()
        if not isinstance(state, dict) or not (port is None or isinstance(port, int)):
            raise ValueError("not a saved sandbox")
        return _Saved(state, resume_at, port)

    # -- save -------------------------------------------------------------------------------
    def _snapshot(self) -> _Snapshot:
        sandbox = self.sandbox
        refs: dict[int, Ref] = {id(sandbox): ("live", "")}
        for name in LIVE:
            value = getattr(sandbox, name, None)
            if value is not None and not isinstance(value, str | int | float):
                refs[id(value)] = ("live", name)
        refs.update({id(value): ref for ref, value in _injected(sandbox).items()})
        buffer = io.BytesIO()
        side: dict[str, bytes] = {}
        _Pickler(buffer, refs, side).dump(_state(sandbox))
        clock = sandbox.clock
        header = {
            "format": FORMAT,
            "code": code_fingerprint(),
            "clock": {"virtual": clock.now(), "wall": time.time(), "speed": clock.speed},
            "port": self.port,
        }
        return _Snapshot(header, buffer.getvalue(), side)

    def _changed(self, snap: _Snapshot) -> tuple[Key, float] | None:
        """The snapshot's key and clock offset, or None if the last write already holds it."""
        clock = snap.header["clock"]
        offset = clock["virtual"] - clock["wall"] * clock["speed"]  # constant while the clock just runs
        key: Key = (hashlib.sha256(snap.state).hexdigest(), clock["speed"], snap.header["port"])
        if self._saved is not None and self._saved[0] == key and abs(offset - self._saved[1]) < 1.0:
            return None
        return key, offset

    async def save(self) -> None:
        """Write the account if it changed since the last write (the file work runs in a thread)."""
        async with self._lock:
            prepared = self._prepare()
            if prepared is not None:
                await anyio.to_thread.run_sync(self._commit, *prepared)

    def save_now(self) -> None:
        """``save``, blocking (on shutdown)."""
        prepared = self._prepare()
        if prepared is not None:
            self._commit(*prepared)

    def _prepare(self) -> tuple[_Snapshot, tuple[Key, float]] | None:
        if not self.writable:
            return None
        try:
            snap = self._snapshot()
        except Exception as exc:  # a store holding something unpicklable must not break the API
            self._report(f"cannot be saved ({type(exc).__name__}: {exc})")
            return None
        changed = self._changed(snap)
        return None if changed is None else (snap, changed)

    def _commit(self, snap: _Snapshot, changed: tuple[Key, float]) -> None:
        try:
            self._write(snap)
        except OSError as exc:
            self._report(f"cannot be written to {self.folder} ({exc})")
            return
        self._saved = changed

    def _write(self, snap: _Snapshot) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        side_dir = self.folder / BYTES_DIR
        if snap.side:
            side_dir.mkdir(mode=0o700, exist_ok=True)
        for digest, data in snap.side.items():
            if not (side_dir / digest).exists():
                _write_atomically(side_dir / digest, data)
        line = json.dumps(snap.header, separators=(",", ":")).encode()
        _write_atomically(self.folder / STATE_FILE, line + b"\n" + snap.state)
        if side_dir.is_dir():  # bytes nothing refers to any more
            for stale in side_dir.iterdir():
                if stale.name not in snap.side and not stale.name.startswith("."):
                    stale.unlink(missing_ok=True)

    def _report(self, problem: str) -> None:
        if problem not in self._reported:  # once per distinct problem, not once per request
            self._reported.add(problem)
            logger.error("the sandbox's state %s; it lives on in memory only", problem)

    # -- serving ----------------------------------------------------------------------------
    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app``, saving the state after each request is handled and before its answer is sent."""

        async def persisting(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def saving_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    await self.save()
                await send(message)

            await app(scope, receive, saving_send)

        return persisting

    def preferred_port(self, requested: int) -> int:
        """``requested`` if given, else the saved port while it is free, else 0 (any free port)."""
        if requested or not self.port:
            return requested
        return self.port if _free(self.port) else 0


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling, fsync it, then rename it over ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def open_store(sandbox: Sandbox) -> StateStore | None:
    """The store of a sandbox with a ``state_dir``, its account already restored; None without one."""
    if sandbox.config.state_dir is None:
        return None
    store = StateStore(sandbox, Path(sandbox.config.state_dir).expanduser())
    try:
        claimed = store.claim()
    except OSError as exc:
        logger.error(
            "the sandbox's state folder %s cannot be used (%s); its account lives in memory only", store.folder, exc
        )
        store.writable = False
        return store
    if not claimed:
        logger.warning(
            "another sandbox is using %s: this one starts from the account saved there but keeps its changes in memory",
            store.folder,
        )
    if store.restore():
        logger.info("sandbox account restored from %s", store.folder)
    return store


__all__ = ["LIVE", "StateStore", "code_fingerprint", "open_store"]

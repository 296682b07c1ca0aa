"""One SQLite file shared by async code: a connection used from worker threads, one call at a time.

The journal, the person key store and the OAuth store each open one (`SQLiteFile`) and run every
query through `run`, so the connection, its pragmas and its lock are written once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

T = TypeVar("T")


class SQLiteFile:
    """The SQLite file at `path` (created with its folder), in WAL mode, with `schema` applied.

    `setup` runs once after the schema, under the lock (more pragmas, migrations of older files).
    """

    def __init__(self, path: Path, schema: str, *, setup: Callable[[sqlite3.Connection], None] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(schema)
            if setup is not None:
                setup(self._db)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` in a worker thread, alone on the connection."""

        def call() -> T:
            with self._lock:
                return fn(self._db)

        return await anyio.to_thread.run_sync(call)

    def close(self) -> None:
        """Close the connection (waits for a query under way)."""
        with self._lock:
            self._db.close()

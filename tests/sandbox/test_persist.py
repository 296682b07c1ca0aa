"""A sandbox with a state folder: the account survives a restart, ids stay unique, links keep working."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, config_from_env, seed, serve_sandbox
from mosaic_mcp.server.sandbox.persist import STATE_FILE, open_store

from ..support import MOSAIC_KEY, MOTION_KEY
from ..support.processes import free_port
from .helpers import http_client, start_run, upload

pytestmark = pytest.mark.anyio


class Served:
    """A sandbox on loopback with a client for each API."""

    def __init__(self, running: RunningSandbox, mosaic: httpx2.AsyncClient, motion: httpx2.AsyncClient) -> None:
        self.running, self.mosaic, self.motion = running, mosaic, motion
        self.sandbox = running.sandbox

    async def session(self, prompt: str = "A launch video") -> str:
        """Create a Motion session; its job id."""
        response = await self.motion.post("/sessions", json={"prompt": prompt})
        assert response.status_code == 202, response.text
        job_id: str = response.json()["job_id"]
        return job_id


@asynccontextmanager
async def serve(folder: Path, *, port: int = 0, **config: Any) -> AsyncIterator[Served]:
    """Serve a frozen-clock sandbox whose account lives in ``folder``."""
    sandbox = Sandbox(SandboxConfig(speed=0.0, state_dir=str(folder), **config))
    async with (
        serve_sandbox(sandbox, port=port) as running,
        http_client(running.mosaic_base_url, headers={"Authorization": f"Bearer {MOSAIC_KEY}"}) as mosaic,
        http_client(running.motion_base_url, headers={"Authorization": f"Bearer {MOTION_KEY}"}) as motion,
    ):
        yield Served(running, mosaic, motion)


def minted_ids(sandbox: Sandbox) -> set[str]:
    """Every id the sandbox minted: runs, their runtime nodes, tasks and renders, Motion jobs."""
    ids = set(sandbox.motion.sessions)
    for run in sandbox.runs.runs.values():
        ids |= {run.run_id, *run.nodes, *run.inputs}
        ids |= {t.task_id for node in run.nodes.values() for t in node.tasks}
        ids |= {node.render_id for node in run.nodes.values() if node.render_id}
    return ids


async def test_the_account_survives_a_restart(tmp_path: Path) -> None:
    """Runs, sessions, uploaded bytes and credits are there after a restart, and the jobs finish."""
    data = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400  # > 64 KiB: kept beside the state file
    async with serve(tmp_path) as first:
        run_id = await start_run(first.mosaic)
        job_id = await first.session()
        video_id = await upload(first.mosaic, "video", data)
        first.sandbox.advance(5)
        balance = (await first.mosaic.get("/credits")).json()
        motion_balances = dict(first.sandbox.motion.balances)

    async with serve(tmp_path) as second:
        assert (await second.mosaic.get("/credits")).json() == balance
        assert second.sandbox.motion.balances == motion_balances
        view = await second.mosaic.post("/uploads/get_view_url", json={"asset_type": "video", "asset_id": video_id})
        async with http_client() as http:
            assert (await http.get(view.json()["signed_url"])).content == data
        second.sandbox.advance(600)
        run = (await second.mosaic.get(f"/agent_run/{run_id}")).json()
        assert run["status"] == "completed" and run["outputs"]
        for _ in range(3):  # download_url shows on a poll after the one that first sees "completed"
            session = (await second.motion.get(f"/sessions/{job_id}")).json()
        assert session["status"] == "completed" and session["output"]["download_url"]


async def test_ids_minted_after_a_restore_never_collide(tmp_path: Path) -> None:
    """Runs and sessions started after a restart get ids no earlier object has."""
    async with serve(tmp_path) as first:
        for _ in range(2):
            await start_run(first.mosaic)
            await first.session()
        first.sandbox.advance(600)  # nodes, tasks and renders mint ids too
        await first.mosaic.get("/credits")
        before = minted_ids(first.sandbox)

    async with serve(tmp_path) as second:
        for _ in range(2):
            await start_run(second.mosaic)
            await second.session()
        second.sandbox.advance(600)
        await second.mosaic.get("/credits")
        after = minted_ids(second.sandbox) - before
        assert before <= minted_ids(second.sandbox)
        assert len(after) == len(before), "as many new ids as the same work minted before the restart"


async def test_the_state_is_on_disk_before_the_answer_leaves(tmp_path: Path) -> None:
    """A run is saved by the time its start is answered: a sandbox killed right after still knows it."""
    async with serve(tmp_path) as first:
        run_id = await start_run(first.mosaic)
        job_id = await first.session()
        reader = Sandbox(SandboxConfig(speed=0.0, state_dir=str(tmp_path)))
        assert open_store(reader) is not None  # reads the folder while the first sandbox still runs
        assert run_id in reader.runs.runs
        assert job_id in reader.motion.sessions


async def test_the_clock_continues_from_where_it_was(tmp_path: Path) -> None:
    """A restored clock resumes at the saved virtual time, not at the wall clock, and never goes back."""
    async with serve(tmp_path) as first:
        first.sandbox.advance(30 * 86400)  # a month ahead of the wall clock
        await start_run(first.mosaic)
        saved = first.sandbox.now()

    async with serve(tmp_path) as second:
        assert second.sandbox.now() == pytest.approx(saved)
        run = next(iter(second.sandbox.runs.runs.values()))
        assert run.created_at <= second.sandbox.now()


async def test_a_poll_after_a_restart_on_another_port_returns_working_links(tmp_path: Path) -> None:
    """Links are signed for the port the sandbox serves on now; the bytes behind them are the same."""
    async with serve(tmp_path) as first:
        run_id = await start_run(first.mosaic)
        first.sandbox.advance(600)
        old = (await first.mosaic.get(f"/agent_run/{run_id}")).json()["outputs"][0]["video_url"]
        async with http_client() as http:
            video = (await http.get(old)).content

    port = free_port()
    async with serve(tmp_path, port=port) as second:
        assert second.running.port == port
        new = (await second.mosaic.get(f"/agent_run/{run_id}")).json()["outputs"][0]["video_url"]
        assert new.startswith(f"http://127.0.0.1:{port}/")
        async with http_client() as http:
            response = await http.get(new)
        assert response.status_code == 200 and response.content == video


async def test_the_saved_port_is_reused_when_free(tmp_path: Path) -> None:
    """Restarted without a port, the sandbox listens where it did, so links handed out before still work."""
    async with serve(tmp_path) as first:
        run_id = await start_run(first.mosaic)
        first.sandbox.advance(600)
        link = (await first.mosaic.get(f"/agent_run/{run_id}")).json()["outputs"][0]["video_url"]
        port = first.running.port

    async with serve(tmp_path) as second:
        assert second.running.port == port
        async with http_client() as http:
            assert (await http.get(link)).status_code == 200


async def test_an_unusable_state_is_set_aside(tmp_path: Path) -> None:
    """A damaged state file starts a fresh account and is kept beside it for a look; a stray temp file is ignored."""
    (tmp_path / STATE_FILE).write_bytes(b'{"format": 1}\n\x80not a pickle')
    (tmp_path / f".{STATE_FILE}.999.tmp").write_bytes(b"half a write")
    async with serve(tmp_path) as fresh:
        assert fresh.sandbox.runs.runs == {}
        assert (await fresh.mosaic.get(f"/agent/{seed.CAPTIONS_AGENT_ID}")).status_code == 200
        await start_run(fresh.mosaic)
    assert (tmp_path / f"{STATE_FILE}.unusable").read_bytes().endswith(b"not a pickle")
    async with serve(tmp_path) as restored:
        assert len(restored.sandbox.runs.runs) == 1


def test_the_state_folder_comes_from_the_environment() -> None:
    """MOSAIC_SANDBOX_STATE_DIR sets the folder; unset, the account lives in memory only."""
    assert config_from_env({"MOSAIC_SANDBOX_STATE_DIR": "/tmp/acct"}).state_dir == "/tmp/acct"
    assert config_from_env({}).state_dir is None


@pytest.mark.skipif(sys.platform == "win32", reason="the folder lock is POSIX-only")
async def test_a_second_sandbox_on_a_folder_in_use_never_writes_it(tmp_path: Path) -> None:
    """Two sandboxes on one folder: the second starts from the saved account, but only the first saves."""
    async with serve(tmp_path) as first:
        first_run = await start_run(first.mosaic)
        async with serve(tmp_path) as second:
            assert first_run in second.sandbox.runs.runs
            second_run = await start_run(second.mosaic)
        await first.mosaic.get("/credits")

    async with serve(tmp_path) as third:
        assert first_run in third.sandbox.runs.runs
        assert second_run not in third.sandbox.runs.runs

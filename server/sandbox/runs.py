"""Agent runs on the virtual clock: runtime nodes, credits, outputs, cancel/resume, webhooks.

Each run clones the runnable template nodes into runtime nodes (fresh ids, ``original_node_id`` =
template id). Video Input nodes complete at once; every other node goes ``not_started`` ->
``queued`` (all parents completed) -> ``running`` -> ``completed`` / ``failed`` and its descendants
``blocked``. A node pays its tile's credits when it completes; if the balance cannot pay it fails
with "Insufficient credits" and ``needs_credits``. Runs end ``completed``, ``partial_complete``
(some outputs, some failures), ``failed`` or ``cancelled``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from . import catalog
from .agents import Agent
from .blobs import Blob, BlobStore
from .clock import iso
from .credits import Billing
from .errors import mosaic_error
from .ids import IdFactory
from .run_inputs import InputSource, RunPlan
from .scheduler import Scheduler

ACTIVE = ("queued", "running")
RUN_STATUSES = ("running", "completed", "partial_complete", "failed", "cancelled")
Emit = Callable[[str, dict[str, Any]], None]
Sign = Callable[[str, str], str]


@dataclass
class Task:
    """One attempt at a node (shown by the progress endpoint)."""

    task_id: str
    status: str
    started_at: float
    completed_at: float | None = None


@dataclass
class RunNode:
    """A runtime node of one run."""

    node_id: str
    original_node_id: str
    node_type: catalog.NodeType
    params: dict[str, Any]
    parents: list[str]
    status: str = "not_started"
    status_message: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    needs_credits: bool = False
    render_id: str | None = None
    completed_at: float | None = None
    updated_at: float = 0.0
    token: int = 0
    tasks: list[Task] = field(default_factory=list)


@dataclass
class Run:
    """One agent run."""

    run_id: str
    agent_id: str
    seq: int
    created_at: float
    updated_at: float
    nodes: dict[str, RunNode]
    inputs: list[str]  # blob ids of the input copies
    callback_url: str | None
    triggered_by: dict[str, Any] | None = None
    status: str = "running"
    status_message: str | None = None
    needs_credits: bool = False

    def counts(self) -> dict[str, int]:
        """``node_status_counts``: in_progress = not_started + queued + running (blocked not counted)."""
        statuses = [n.status for n in self.nodes.values()]
        return {
            "completed": statuses.count("completed"),
            "in_progress": sum(statuses.count(s) for s in ("not_started", "queued", "running")),
            "failed": statuses.count("failed"),
        }

    def sinks(self) -> list[RunNode]:
        """Nodes whose renders are the run's outputs (no runnable children)."""
        parents = {p for n in self.nodes.values() for p in n.parents}
        return [n for n in self.nodes.values() if n.node_id not in parents and n.node_type.kind != "input"]

    def errors(self) -> list[dict[str, Any]]:
        """Run-level errors grouped by template node (element shape undocumented)."""
        return [
            {"original_node_id": n.original_node_id, "node_type_name": n.node_type.name, "message": n.status_message}
            for n in self.nodes.values()
            if n.status == "failed"
        ]


def _fire(run: Run, node: RunNode, token: int, step: Callable[[Run, RunNode, float], None], at: float) -> None:
    # Cancel / resume bump the token: events of an earlier attempt are ignored.
    if node.token == token and run.status == "running":
        step(run, node, at)


@dataclass
class _Failure:
    match: str | None
    message: str
    remaining: int


class RunEngine:
    """All runs, the render registry and the simulation of their nodes."""

    def __init__(self, ids: IdFactory, scheduler: Scheduler, billing: Billing, blobs: BlobStore) -> None:
        self._ids = ids
        self._scheduler = scheduler
        self._billing = billing
        self._blobs = blobs
        self.runs: dict[str, Run] = {}
        self.renders: dict[str, tuple[str, str]] = {}  # render id -> (run id, runtime node id)
        self._failures: list[_Failure] = []
        self._seq = 0
        self._changed: dict[str, dict[str, None]] = {}
        self._finished: dict[str, None] = {}
        self.sign: Sign = lambda blob_id, name: f"/_sandbox/files/{blob_id}/{name}"
        self.emit: Emit = lambda url, payload: None
        self.sources: Callable[[str], list[dict[str, Any]]] = lambda render_id: []  # provenance of a render

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, agent: Agent, plan: RunPlan, now: float, triggered_by: dict[str, Any] | None = None) -> Run:
        """Create a run from a validated plan and schedule its first nodes."""
        run_id = self._ids.new()
        runtime = {template: self._ids.new() for template in plan.node_ids}
        nodes: dict[str, RunNode] = {}
        for template in plan.node_ids:
            parents = [runtime[s] for s, t in plan.edges if t == template]
            node_type = agent.nodes[template].node_type
            nodes[runtime[template]] = RunNode(runtime[template], template, node_type, plan.params[template], parents)
        self._seq += 1
        inputs = [self._input_blob(source) for sources in plan.inputs.values() for source in sources]
        run = Run(run_id, agent.agent_id, self._seq, now, now, nodes, inputs, plan.callback_url, triggered_by)
        self.runs[run_id] = run
        for node in nodes.values():
            node.updated_at = now
            if node.node_type.kind == "input":
                node.status, node.completed_at = "completed", now
        self._queue_ready(run, now)
        self._changed.pop(run_id, None)  # RUN_STARTED already reports the initial node states
        self._send(run, self._started_payload(run))
        return run

    def _input_blob(self, source: InputSource) -> str:
        if source.kind in ("video_id", "node_render_id") and self._blobs.get(source.ref) is not None:
            return source.ref
        blob_id = self._ids.new()  # a "downloaded" copy of a URL / Mimir asset
        self._blobs.add(Blob(blob_id, "video"))
        return blob_id

    def _queue_ready(self, run: Run, now: float) -> None:
        for node in run.nodes.values():
            ready = all(run.nodes[p].status == "completed" for p in node.parents)
            if node.status == "not_started" and ready:
                self._set(run, node, "queued", now)
                rng = self._ids.rng(run.run_id, node.original_node_id, node.token)
                self._schedule(run, node, now + rng.uniform(0.5, 2.0), self._begin)

    def _schedule(self, run: Run, node: RunNode, due: float, step: Callable[[Run, RunNode, float], None]) -> None:
        # A partial of a module-level function, not a closure: scheduled events are pickled (persist.py).
        self._scheduler.at(due, partial(_fire, run, node, node.token, step))

    def _begin(self, run: Run, node: RunNode, now: float) -> None:
        self._set(run, node, "running", now)
        node.tasks.append(Task(self._ids.new(), "running", now))
        low, high = node.node_type.duration
        rng = self._ids.rng(run.run_id, node.original_node_id, node.token, "duration")
        self._schedule(run, node, now + rng.uniform(low, high), self._finish)

    def _finish(self, run: Run, node: RunNode, now: float) -> None:
        task = node.tasks[-1]
        task.completed_at = now
        failure = self._take_failure(node)
        paid = failure is None and self._billing.charge(
            node.node_type.cost, node.node_type.node_type_id, node.node_type.name, run.run_id, now
        )
        if failure is not None or not paid:
            node.needs_credits = failure is None
            message = failure or "Insufficient credits"
            node.errors = [{"message": message}]
            task.status = "failed"
            self._set(run, node, "failed", now, message)
            self._block_descendants(run, node, now)
        else:
            task.status = "completed"
            node.render_id = self._ids.new()
            node.completed_at = now
            self._blobs.add(Blob(node.render_id, node.node_type.output))
            self.renders[node.render_id] = (run.run_id, node.node_id)
            self._set(run, node, "completed", now)
            self._queue_ready(run, now)
        self._maybe_finish(run, now)

    def _take_failure(self, node: RunNode) -> str | None:
        keys = {node.original_node_id.lower(), node.node_type.node_type_id, node.node_type.name.lower()}
        for failure in self._failures:
            if failure.remaining > 0 and (failure.match is None or failure.match.lower() in keys):
                failure.remaining -= 1
                return failure.message
        return None

    def _block_descendants(self, run: Run, failed: RunNode, now: float) -> None:
        frontier = [failed.node_id]
        while frontier:
            current = frontier.pop()
            for node in run.nodes.values():
                if current in node.parents and node.status in ("not_started", "queued"):
                    node.token += 1
                    self._set(run, node, "blocked", now, "Blocked by a failed upstream tile")
                    frontier.append(node.node_id)

    def _maybe_finish(self, run: Run, now: float) -> None:
        if any(n.status in ACTIVE for n in run.nodes.values()):
            return
        failed = [n for n in run.nodes.values() if n.status == "failed"]
        run.needs_credits = any(n.needs_credits for n in failed)
        if run.needs_credits:
            run.status, run.status_message = "failed", "Insufficient credits"
        elif failed and any(n.status == "completed" for n in run.sinks()):
            run.status, run.status_message = "partial_complete", f"{len(failed)} tile(s) failed"
        elif failed:
            run.status, run.status_message = "failed", f"{len(failed)} tile(s) failed"
        else:
            run.status, run.status_message = "completed", None
        run.updated_at = now
        self._finished[run.run_id] = None

    def _set(self, run: Run, node: RunNode, status: str, now: float, message: str | None = None) -> None:
        node.status, node.status_message, node.updated_at = status, message, now
        run.updated_at = max(run.updated_at, now)
        self._changed.setdefault(run.run_id, {})[node.node_id] = None

    # -- commands ---------------------------------------------------------------------------
    def get(self, run_id: str) -> Run:
        """A run, or 404."""
        run = self.runs.get(run_id)
        if run is None:
            raise mosaic_error(404, f"Agent run {run_id} not found")
        return run

    def cancel(self, run: Run, now: float, finished_status: int = 409) -> dict[str, Any]:
        """Stop an active run (``finished_status`` if it already ended; idempotent on a cancelled run)."""
        if run.status == "cancelled":
            return self._cancel_body(run, 0, 0)
        if run.status != "running":
            message = f"Agent run {run.run_id} is already {run.status} and cannot be cancelled"
            raise mosaic_error(finished_status, message)
        tasks = reset = 0
        for node in run.nodes.values():
            if node.status == "running":
                tasks += 1
                node.tasks[-1].status, node.tasks[-1].completed_at = "cancelled", now
                self._set(run, node, "cancelled", now, "Cancelled")
            elif node.status in ("queued", "not_started"):
                reset += 1
                self._set(run, node, "not_started", now)
            node.token += 1
        run.status, run.status_message, run.updated_at = "cancelled", "Cancelled by API request", now
        self._finished[run.run_id] = None
        return self._cancel_body(run, tasks, reset + tasks)

    @staticmethod
    def _cancel_body(run: Run, tasks: int, reset: int) -> dict[str, Any]:
        return {
            "success": True,
            "run_id": run.run_id,
            "tasks_cancelled": tasks,
            "nodes_reset": reset,
            "message": "Agent run cancelled successfully",
        }

    def resume(self, run: Run, now: float) -> dict[str, Any]:
        """Re-queue a failed or cancelled run's unfinished nodes (409 otherwise)."""
        if run.status not in ("failed", "cancelled"):
            raise mosaic_error(
                409, f"Agent run {run.run_id} is {run.status}; only failed or cancelled runs can be resumed"
            )
        requeued = 0
        for node in run.nodes.values():
            if node.node_type.kind != "input" and node.status in ("not_started", "blocked", "cancelled", "failed"):
                node.token += 1
                node.needs_credits, node.errors = False, []
                self._set(run, node, "not_started", now)
                requeued += 1
        run.status, run.status_message, run.needs_credits, run.updated_at = "running", None, False, now
        self._finished.pop(run.run_id, None)
        self._queue_ready(run, now)
        return {
            "success": True,
            "run_id": run.run_id,
            "agent_state_id": run.run_id,
            "nodes_queued": requeued,
            "nodes_considered": len(run.nodes),
            "requeued_nodes": requeued,
            "requeued_node_tasks_detached": requeued,
            "requeued_node_active_tasks_cancelled": 0,
            "requeued_node_active_tasks_total": 0,
        }

    def fail_next(self, match: str | None = None, *, times: int = 1, message: str = "Tile failed") -> None:
        """Make the next ``times`` matching nodes fail (match: template id, type id or tile name)."""
        self._failures.append(_Failure(match, message, times))

    def listing(
        self,
        *,
        agent_id: str | None = None,
        trigger_id: str | None = None,
        statuses: set[str] | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> list[Run]:
        """Runs matching the filters, newest first."""
        runs = [
            r
            for r in self.runs.values()
            if (agent_id is None or r.agent_id == agent_id)
            and (trigger_id is None or (r.triggered_by or {}).get("trigger_id") == trigger_id)
            and (statuses is None or r.status in statuses)
            and (start is None or r.created_at >= start)
            and (end is None or r.created_at <= end)
        ]
        return sorted(runs, key=lambda r: (r.created_at, r.seq), reverse=True)

    # -- views ------------------------------------------------------------------------------
    def inputs_view(self, run: Run) -> list[dict[str, Any]]:
        """``inputs[]`` with freshly signed URLs."""
        return [
            {"video_url": self.sign(b, "video.mp4"), "thumbnail_url": self.sign(b, "thumbnail.png")} for b in run.inputs
        ]

    def output_view(self, node: RunNode) -> dict[str, Any]:
        """One output (render) with freshly signed URLs."""
        assert node.render_id is not None
        assert node.completed_at is not None
        kind = node.node_type.output
        main = {"video": "video.mp4", "image": "image.png", "audio": "audio.wav"}[kind]
        return {
            "id": node.render_id,
            "video_url": self.sign(node.render_id, main),
            "thumbnail_url": self.sign(node.render_id, "thumbnail.png"),
            "premiere_prproj_url": self.sign(node.render_id, "timeline.zip") if kind == "video" else None,
            "completed_at": iso(node.completed_at),
            "original_node_id": node.original_node_id,
            "sources": self.sources(node.render_id),
        }

    def outputs_view(self, run: Run) -> list[dict[str, Any]]:
        """The run's outputs: renders of its completed sink nodes, oldest first."""
        done = [n for n in run.sinks() if n.status == "completed"]
        return [self.output_view(n) for n in sorted(done, key=lambda n: n.completed_at or 0)]

    def run_view(self, run: Run) -> dict[str, Any]:
        """GET /agent_run/{id} (no ``run_id`` field, as documented)."""
        return {
            "agent_id": run.agent_id,
            "started_at": iso(run.created_at),
            "status": run.status,
            "status_message": run.status_message,
            "needs_credits": run.needs_credits,
            "errors": run.errors(),
            "node_status_counts": run.counts(),
            "inputs": self.inputs_view(run),
            "outputs": self.outputs_view(run),
        }

    def summary_view(self, run: Run) -> dict[str, Any]:
        """One entry of the run list endpoints (no ``needs_credits``, as documented)."""
        return {
            "run_id": run.run_id,
            "agent_id": run.agent_id,
            "status": run.status,
            "status_message": run.status_message,
            "started_at": iso(run.created_at),
            "updated_at": iso(run.updated_at),
            "node_status_counts": run.counts(),
            "inputs": self.inputs_view(run),
            "outputs": self.outputs_view(run),
            "triggered_by": run.triggered_by,
        }

    @staticmethod
    def node_view(node: RunNode) -> dict[str, Any]:
        """One entry of GET /agent_run/{id}/nodes."""
        return {
            "agent_node_id": node.node_id,
            "original_node_id": node.original_node_id,
            "status": node.status,
            "status_message": node.status_message,
            "errors": list(node.errors),
            "node_type": node.node_type.public(),
            "needs_credits": node.needs_credits,
        }

    def progress_view(self, run: Run, nodes: list[RunNode], next_cursor: str | None) -> dict[str, Any]:
        """GET /agent_run/{id}/progress ([INFERRED] body: the live one was not captured)."""
        counts = run.counts()
        statuses = [n.status for n in run.nodes.values()]
        total = len(statuses)
        return {
            "run_id": run.run_id,
            "status": run.status,
            "total_nodes": total,
            "node_status_counts": counts,
            "status_breakdown": {s: statuses.count(s) for s in sorted(set(statuses))},
            "completed_node_percent": round(100 * counts["completed"] / total, 1) if total else 0.0,
            "nodes": [
                {
                    **self.node_view(n),
                    "updated_at": iso(n.updated_at),
                    "tasks": [
                        {
                            "task_id": t.task_id,
                            "status": t.status,
                            "started_at": iso(t.started_at),
                            "completed_at": iso(t.completed_at) if t.completed_at is not None else None,
                        }
                        for t in n.tasks[-5:]
                    ],
                }
                for n in nodes
            ],
            "next_cursor": next_cursor,
        }

    # -- webhooks ---------------------------------------------------------------------------
    def _send(self, run: Run, payload: dict[str, Any]) -> None:
        if run.callback_url is not None:
            self.emit(run.callback_url, payload)

    def _started_payload(self, run: Run) -> dict[str, Any]:
        return {
            "flag": "RUN_STARTED",
            "agent_id": run.agent_id,
            "run_id": run.run_id,
            "status": run.status,
            "inputs": self.inputs_view(run),
            "node_status_counts": run.counts(),
            "triggered_by": run.triggered_by,
        }

    def flush_webhooks(self) -> None:
        """Send RUN_PROGRESS for runs whose nodes changed, then RUN_FINISHED for runs that ended."""
        changed, finished = self._changed, self._finished
        self._changed, self._finished = {}, {}
        for run_id, node_ids in changed.items():
            run = self.runs[run_id]
            nodes = [run.nodes[n] for n in node_ids]
            self._send(
                run,
                {
                    "flag": "RUN_PROGRESS",
                    "agent_id": run.agent_id,
                    "run_id": run.run_id,
                    "status": run.status,
                    "node_status_counts": run.counts(),
                    "triggered_by": run.triggered_by,
                    "updated_nodes": [
                        {
                            "original_node_id": n.original_node_id,
                            "status": n.status,
                            "status_message": n.status_message,
                            "errors": list(n.errors),
                            "outputs": [self.output_view(n)] if n.status == "completed" and n.render_id else [],
                        }
                        for n in nodes
                    ],
                },
            )
        for run_id in finished:
            run = self.runs[run_id]
            if run.status != "running":
                self._send(run, self._finished_payload(run))

    def _finished_payload(self, run: Run) -> dict[str, Any]:
        return {
            "flag": "RUN_FINISHED",
            "agent_id": run.agent_id,
            "run_id": run.run_id,
            "status": run.status,
            "status_message": run.status_message,
            "needs_credits": run.needs_credits,
            "errors": run.errors(),
            "inputs": self.inputs_view(run),
            "outputs": self.outputs_view(run),
            "node_status_counts": run.counts(),
            "triggered_by": run.triggered_by,
        }


def as_read(view: dict[str, Any], *, camel_credits: bool, string_errors: bool) -> dict[str, Any]:
    """A run or node body in another reading of the docs: ``needsCredits``, and/or ``errors[]`` as strings."""
    view = dict(view)
    if camel_credits and "needs_credits" in view:
        view["needsCredits"] = view.pop("needs_credits")
    if string_errors and "errors" in view:
        view["errors"] = [_error_string(e) for e in view["errors"]]
    return view


def _error_string(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    message = str(error.get("message") or "Tile failed")
    name = error.get("node_type_name")
    return f"{name}: {message}" if name else message

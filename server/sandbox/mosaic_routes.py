"""Mosaic routes: identity, agents, node types and runs (reference 2.1-2.4)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import catalog, seed
from .clock import iso
from .errors import bad_request, not_found
from .routing import json_body, mosaic_auth, ok, paginate, query_time
from .run_inputs import plan_run
from .runs import RUN_STATUSES, Run, as_read
from .sandbox import Sandbox


async def whoami(request: Request) -> Response:
    """GET /whoami."""
    sandbox = mosaic_auth(request)
    body: dict[str, Any] = {
        "organization_id": seed.ORGANIZATION_ID,
        "organization_name": seed.ORGANIZATION_NAME,
        "organization_slug": seed.ORGANIZATION_SLUG,
        "created_at": "2024-01-15T08:00:00.000Z",
        "last_used_at": iso(sandbox.now()),
    }
    scopes = None if sandbox.config.whoami_scopes is None else list(sandbox.config.whoami_scopes)
    if sandbox.config.whoami_scopes_nested:  # the placement of "scopes" is [INFERRED]: play both
        body["key"] = {"scopes": scopes}
    else:
        body["scopes"] = scopes
    return ok(body)


async def create_agent(request: Request) -> Response:
    """POST /agent/create."""
    sandbox = mosaic_auth(request)
    body = await json_body(request, optional=True)
    workspace = request.headers.get("x-workspace-id") or seed.WORKSPACE_ID
    agent = sandbox.agents.create(body, sandbox.now(), workspace)
    return ok({"success": True, "agent_id": agent.agent_id, "operations_applied": 0, "created_nodes": []})


async def list_agents(request: Request) -> Response:
    """GET /agents (newest first)."""
    sandbox = mosaic_auth(request)
    workspace = request.headers.get("x-workspace-id") or request.query_params.get("workspace_id")
    agents = sandbox.agents.listing(workspace)
    page, cursor = paginate(request, agents, lambda a: (a.created_at, a.agent_id))
    return ok({"agents": [a.summary() for a in page], "next_cursor": cursor})


async def get_agent(request: Request) -> Response:
    """GET /agent/{agent_id}."""
    sandbox = mosaic_auth(request)
    return ok(sandbox.agents.get(request.path_params["agent_id"]).view())


async def update_agent(request: Request) -> Response:
    """POST|PATCH /agent/{agent_id}/update."""
    sandbox = mosaic_auth(request)
    agent = sandbox.agents.get(request.path_params["agent_id"])
    body = await json_body(request)
    applied, created = sandbox.agents.update(agent, body, sandbox.now())
    return ok(
        {
            "success": True,
            "agent_id": agent.agent_id,
            "operations_applied": applied,
            "created_nodes": created,
            "name": agent.name,
            "description": agent.description,
            "visibility": agent.visibility,
            "workspace_id": agent.workspace_id,
            "created_at": iso(agent.created_at),
            "updated_at": iso(agent.updated_at),
        }
    )


async def duplicate_agent(request: Request) -> Response:
    """POST /agent/{agent_id}/duplicate: the new agent in GET /agent shape."""
    sandbox = mosaic_auth(request)
    agent = sandbox.agents.get(request.path_params["agent_id"])
    body = await json_body(request, optional=True)
    return ok(sandbox.agents.duplicate(agent, body, sandbox.now()).view())


async def delete_agent(request: Request) -> Response:
    """POST|DELETE /agent/{agent_id}/delete (soft delete)."""
    sandbox = mosaic_auth(request)
    agent = sandbox.agents.get(request.path_params["agent_id"])
    sandbox.agents.delete(agent, sandbox.now())
    return ok({"success": True, "agent_id": agent.agent_id, "message": "Agent deleted successfully"})


async def node_types(request: Request) -> Response:
    """GET /node_types (no parameter schemas, as on the live API)."""
    sandbox = mosaic_auth(request)
    return ok({"node_types": sandbox.node_types()})


async def node_type(request: Request) -> Response:
    """GET /node_type/{node_type_id}."""
    mosaic_auth(request)
    found = catalog.BY_ID.get(request.path_params["node_type_id"])
    if found is None:
        raise not_found("Node type", request.path_params["node_type_id"])
    return ok({"node_type": found.public()})


async def agent_node(request: Request) -> Response:
    """GET /agent_nodes/{agent_node_id}."""
    sandbox = mosaic_auth(request)
    return ok({"agent_node": sandbox.agents.find_node(request.path_params["agent_node_id"]).view()})


async def start_run(request: Request) -> Response:
    """POST /agent/{agent_id}/run -> ``{"run_id"}``."""
    sandbox = mosaic_auth(request)
    agent = sandbox.agents.get(request.path_params["agent_id"])
    body = await json_body(request, optional=True)
    plan = plan_run(agent, body, known_video=sandbox.known_video, known_render=lambda r: r in sandbox.runs.renders)
    run = sandbox.runs.start(agent, plan, sandbox.now())
    return ok({"run_id": run.run_id})


def _read(sandbox: Sandbox, view: dict[str, Any]) -> dict[str, Any]:
    """A run or node body as the configured reading of the docs shapes it (``needsCredits``, string errors)."""
    config = sandbox.config
    return as_read(view, camel_credits=config.needs_credits_camel, string_errors=config.string_errors)


async def get_run(request: Request) -> Response:
    """GET /agent_run/{run_id} (fresh signed URLs on every call)."""
    sandbox = mosaic_auth(request)
    return ok(_read(sandbox, sandbox.runs.run_view(sandbox.runs.get(request.path_params["run_id"]))))


async def run_nodes(request: Request) -> Response:
    """GET /agent_run/{run_id}/nodes."""
    sandbox = mosaic_auth(request)
    run = sandbox.runs.get(request.path_params["run_id"])
    nodes = [_read(sandbox, sandbox.runs.node_view(n)) for n in run.nodes.values()]
    return ok({"run_id": run.run_id, "nodes": nodes})


async def run_progress(request: Request) -> Response:
    """GET /agent_run/{run_id}/progress (one page of tiles; counts cover the whole run)."""
    sandbox = mosaic_auth(request)
    run = sandbox.runs.get(request.path_params["run_id"])
    nodes = list(run.nodes.values())
    start, end, updated = (query_time(request, n) for n in ("from", "to", "updated_from"))
    nodes = [n for n in nodes if (updated is None or n.updated_at >= updated)]
    nodes = [n for n in nodes if (start is None or n.updated_at >= start) and (end is None or n.updated_at <= end)]
    order = {n.node_id: i for i, n in enumerate(run.nodes.values())}
    page, cursor = paginate(request, nodes, lambda n: (0.0, f"{len(order) - order[n.node_id]:08d}"))
    return ok(sandbox.runs.progress_view(run, page, cursor))


def _statuses(request: Request) -> set[str] | None:
    raw = request.query_params.get("status")
    if not raw:
        return None
    statuses = {s.strip() for s in raw.split(",") if s.strip()}
    unknown = statuses - set(RUN_STATUSES)
    if unknown:
        raise bad_request(
            f"status must be a comma-separated list of {', '.join(RUN_STATUSES)}; got {', '.join(sorted(unknown))}"
        )
    return statuses


def _run_page(request: Request, agent_id: str | None = None, trigger_id: str | None = None) -> Response:
    sandbox = mosaic_auth(request)
    runs = sandbox.runs.listing(
        agent_id=agent_id,
        trigger_id=trigger_id,
        statuses=_statuses(request),
        start=query_time(request, "from"),
        end=query_time(request, "to"),
    )

    def key(run: Run) -> tuple[float, str]:
        return run.created_at, f"{run.seq:012d}"

    page, cursor = paginate(request, runs, key)
    return ok({"runs": [sandbox.runs.summary_view(r) for r in page], "next_cursor": cursor})


async def agent_runs(request: Request) -> Response:
    """GET /agent/{agent_id}/runs."""
    mosaic_auth(request).agents.get(request.path_params["agent_id"])
    return _run_page(request, agent_id=request.path_params["agent_id"])


async def all_runs(request: Request) -> Response:
    """GET /agent_runs (optional ``agent_id`` filter)."""
    return _run_page(request, agent_id=request.query_params.get("agent_id") or None)


async def trigger_runs(request: Request) -> Response:
    """GET /trigger/{trigger_id}/runs."""
    trigger_id = request.path_params["trigger_id"]
    if trigger_id not in mosaic_auth(request).triggers.triggers:
        raise not_found("Trigger", trigger_id)
    return _run_page(request, trigger_id=trigger_id)


async def cancel_run(request: Request) -> Response:
    """POST /agent_run/{run_id}/cancel."""
    sandbox = mosaic_auth(request)
    run = sandbox.runs.get(request.path_params["run_id"])
    return ok(sandbox.runs.cancel(run, sandbox.now(), sandbox.config.cancel_finished_status))


async def resume_run(request: Request) -> Response:
    """POST /agent_run/{run_id}/resume (409 unless failed or cancelled)."""
    sandbox = mosaic_auth(request)
    return ok(sandbox.runs.resume(sandbox.runs.get(request.path_params["run_id"]), sandbox.now()))


ROUTES = [
    Route("/whoami", whoami, methods=["GET"]),
    Route("/agent/create", create_agent, methods=["POST"]),
    Route("/agents", list_agents, methods=["GET"]),
    Route("/agent/{agent_id}", get_agent, methods=["GET"]),
    Route("/agent/{agent_id}/update", update_agent, methods=["POST", "PATCH"]),
    Route("/agent/{agent_id}/duplicate", duplicate_agent, methods=["POST"]),
    Route("/agent/{agent_id}/delete", delete_agent, methods=["POST", "DELETE"]),
    Route("/node_types", node_types, methods=["GET"]),
    Route("/node_type/{node_type_id}", node_type, methods=["GET"]),
    Route("/agent_nodes/{agent_node_id}", agent_node, methods=["GET"]),
    Route("/agent/{agent_id}/run", start_run, methods=["POST"]),
    Route("/agent_run/{run_id}", get_run, methods=["GET"]),
    Route("/agent_run/{run_id}/nodes", run_nodes, methods=["GET"]),
    Route("/agent/{agent_id}/runs", agent_runs, methods=["GET"]),
    Route("/agent_runs", all_runs, methods=["GET"]),
    Route("/trigger/{trigger_id}/runs", trigger_runs, methods=["GET"]),
    Route("/agent_run/{run_id}/cancel", cancel_run, methods=["POST"]),
    Route("/agent_run/{run_id}/resume", resume_run, methods=["POST"]),
    Route("/agent_run/{run_id}/progress", run_progress, methods=["GET"]),
]

"""Validation of ``POST /agent/{agent_id}/run`` bodies (reference section 2.4) into a run plan.

Rules: top-level input arrays only when the runnable graph has exactly one Video Input tile;
several Video Input tiles need ``video_inputs`` with one entry per tile; generation-only graphs take
no inputs; ``update_params`` / ``ignore_nodes`` keys must be agent_node_ids of the graph; URLs
must be http(s); ``video_ids`` / ``node_render_ids`` must be known. Every problem is a 400.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from . import catalog
from .agents import Agent, topo_order
from .errors import bad_request

SOURCE_KEYS = ("video_ids", "node_render_ids", "video_urls", "mimir_assets")
MIMIR_ARTIFACTS = ("highres", "proxy", "auto")
YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "music.youtube.com"})
"""The sandbox's own copy (it is the test oracle): hosts of a YouTube video URL."""


@dataclass(frozen=True)
class InputSource:
    """One input item for a Video Input tile."""

    kind: str  # one of SOURCE_KEYS, singular meaning
    ref: str
    clip: tuple[int | None, int | None] = (None, None)


@dataclass
class RunPlan:
    """What a validated run request asks for."""

    node_ids: list[str]
    edges: list[tuple[str, str]]
    params: dict[str, dict[str, Any]]
    inputs: dict[str, list[InputSource]] = field(default_factory=dict)
    callback_url: str | None = None


def is_http_url(value: Any) -> bool:
    """An absolute http(s) URL with a host."""
    if not isinstance(value, str) or len(value) > 4096:
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def is_youtube_url(value: Any) -> bool:
    """A YouTube watch / short / youtu.be URL."""
    if not is_http_url(value):
        return False
    host = urlparse(value).netloc.lower().split(":")[0]
    return host in YOUTUBE_HOSTS


def mimir_asset_problem(asset: Any) -> str | None:
    """What is wrong with one ``mimir_assets`` item ``{id, artifact?}``, or None."""
    if not isinstance(asset, dict) or not isinstance(asset.get("id"), str) or not asset["id"].strip():
        return "each item needs a non-empty 'id'"
    unknown = set(asset) - {"id", "artifact"}
    if unknown:
        return f"unknown field(s) {', '.join(sorted(unknown))}; an item is {{id, artifact?}}"
    if asset.get("artifact", "highres") not in MIMIR_ARTIFACTS:
        return f"artifact must be one of {', '.join(MIMIR_ARTIFACTS)}"
    return None


def _id_list(body: Mapping[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"{key} must be an array")
    return value


def _runnable_graph(agent: Agent, body: Mapping[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    ignored = _id_list(body, "ignore_nodes")
    for node_id in ignored:
        if node_id not in agent.nodes:
            raise bad_request(f"ignore_nodes: {node_id!r} is not an agent_node_id of agent {agent.agent_id}")
    edges = list(agent.edges)
    for node_id in dict.fromkeys(ignored):
        # Bypass: parents of the ignored node feed its children directly.
        parents = [s for s, t in edges if t == node_id]
        children = [t for s, t in edges if s == node_id]
        edges = [(s, t) for s, t in edges if node_id not in (s, t)]
        edges += [(p, c) for p in parents for c in children if (p, c) not in edges]
    nodes = [n for n in agent.nodes if n not in set(ignored)]
    return topo_order(nodes, edges), edges


def _params(agent: Agent, nodes: list[str], body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    overrides = body.get("update_params") or {}
    if not isinstance(overrides, dict):
        raise bad_request("update_params must be an object keyed by agent_node_id")
    for node_id, patch in overrides.items():
        if node_id not in nodes:
            raise bad_request(
                f"update_params: {node_id!r} is not an agent_node_id of the runnable graph of agent "
                f"{agent.agent_id} (valid: {', '.join(n for n in nodes if agent.nodes[n].node_type.kind != 'input')})"
            )
        if not isinstance(patch, dict):
            raise bad_request(f"update_params[{node_id!r}] must be an object of parameter values")
    merged: dict[str, dict[str, Any]] = {}
    for node_id in nodes:
        node = agent.nodes[node_id]
        merged[node_id] = {**node.params, **overrides.get(node_id, {})}
        problem = catalog.params_problem(node.node_type, merged[node_id], complete=True)
        if problem is not None:
            raise bad_request(f"node {node_id} ({node.node_type.name}): {problem}")
    return merged


class _Sources:
    """Parses and checks the source arrays of one input entry."""

    def __init__(self, known_video: Callable[[str], bool], known_render: Callable[[str], bool]) -> None:
        self.known_video = known_video
        self.known_render = known_render

    def parse(self, entry: Mapping[str, Any], where: str) -> list[InputSource]:
        clip = self._clip(entry, where)
        sources: list[InputSource] = []
        for video_id in _id_list(entry, "video_ids"):
            if not isinstance(video_id, str) or not self.known_video(video_id):
                raise bad_request(f"{where}video_ids: {video_id!r} is not a finalized video upload of this workspace")
            sources.append(InputSource("video_id", video_id, clip))
        for render_id in _id_list(entry, "node_render_ids"):
            if not isinstance(render_id, str) or not self.known_render(render_id):
                raise bad_request(f"{where}node_render_ids: {render_id!r} is not a known render id")
            sources.append(InputSource("node_render_id", render_id, clip))
        for url in _id_list(entry, "video_urls"):
            if not is_http_url(url):
                raise bad_request(f"{where}video_urls: {url!r} is not a YouTube or http(s) URL")
            sources.append(InputSource("video_url", url, clip))
        for asset in _id_list(entry, "mimir_assets"):
            problem = mimir_asset_problem(asset)
            if problem is not None:
                raise bad_request(f"{where}mimir_assets: {problem}")
            sources.append(InputSource("mimir_asset", asset["id"], clip))
        return sources

    def _clip(self, entry: Mapping[str, Any], where: str) -> tuple[int | None, int | None]:
        bounds: list[int | None] = []
        for key in ("input_clip_start_ms", "input_clip_end_ms"):
            value = entry.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise bad_request(f"{where}{key} must be a non-negative integer (milliseconds)")
            bounds.append(value)
        start, end = bounds
        if start is not None and end is not None and end <= start:
            raise bad_request(f"{where}input_clip_end_ms must be greater than input_clip_start_ms")
        return start, end


def _inputs(agent: Agent, nodes: list[str], body: Mapping[str, Any], sources: _Sources) -> dict[str, list[InputSource]]:
    tiles = [n for n in nodes if agent.nodes[n].node_type.kind == "input"]
    top = any(body.get(k) not in (None, []) for k in SOURCE_KEYS)
    entries = body.get("video_inputs")
    if not tiles:
        if top or entries:
            raise bad_request("this agent has no Video Input tile (generation-only): send no video inputs")
        return {}
    if top and entries:
        raise bad_request("send either video_inputs or the top-level video_ids/node_render_ids/video_urls, not both")
    if top:
        if len(tiles) > 1:
            raise bad_request(
                f"this agent has {len(tiles)} Video Input tiles: send video_inputs with one entry per tile "
                f"(agent_node_id one of {', '.join(tiles)}) instead of top-level arrays"
            )
        return {tiles[0]: sources.parse(body, "")}
    if not entries:
        raise bad_request(f"this agent needs a video input for Video Input tile(s) {', '.join(tiles)}")
    if not isinstance(entries, list):
        raise bad_request("video_inputs must be an array")
    result: dict[str, list[InputSource]] = {}
    for index, entry in enumerate(entries):
        where = f"video_inputs[{index}]."
        node_id = entry.get("agent_node_id") if isinstance(entry, dict) else None
        if node_id not in tiles:
            raise bad_request(f"{where}agent_node_id {node_id!r} is not a Video Input tile of this agent")
        if node_id in result:
            raise bad_request(f"{where}agent_node_id {node_id!r} appears twice")
        parsed = sources.parse(entry, where)
        if not parsed:
            raise bad_request(f"{where} needs at least one of {', '.join(SOURCE_KEYS)}")
        result[node_id] = parsed
    missing = [t for t in tiles if t not in result]
    if missing:
        raise bad_request(f"video_inputs has no entry for Video Input tile(s) {', '.join(missing)}")
    return result


def plan_run(
    agent: Agent,
    body: Mapping[str, Any],
    *,
    known_video: Callable[[str], bool],
    known_render: Callable[[str], bool],
) -> RunPlan:
    """Validate a run request against the agent's graph; 400 ``ApiError`` on any problem."""
    nodes, edges = _runnable_graph(agent, body)
    if not any(agent.nodes[n].node_type.kind != "input" for n in nodes):
        raise bad_request(f"agent {agent.agent_id} has no tiles to run")
    params = _params(agent, nodes, body)
    inputs = _inputs(agent, nodes, body, _Sources(known_video, known_render))
    callback = body.get("callback_url")
    if callback is not None and not is_http_url(callback):
        raise bad_request("callback_url must be an http(s) URL")
    return RunPlan(nodes, edges, params, inputs, callback)

"""`completion/complete`: what a host suggests while the user types an argument.

* the job-resource templates (`mosaic://runs/{run_id}`, `motion://sessions/{job_id}`) and the
  prompts' `job_id`: tracked jobs of that kind, newest first, from the journal of the request's
  runtime;
* the prompts' `agent`: agent ids and names from the Mosaic account (one bounded page of
  `GET /agents`; if the API cannot answer, no suggestions rather than an error);
* the prompts' `aspect_ratio` and `duration`: the values Motion accepts.

Everything is filtered by the typed prefix (case-insensitive) and capped at the protocol's 100
values. A reference or argument we know nothing about gets an empty list, never an error (the
conformance scenario `completion-complete` asks about a prompt that does not exist).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import anyio
from mcp.server import MCPServer, ServerRequestContext
from mcp.types import (
    CompleteRequestParams,
    CompleteResult,
    Completion,
    PromptReference,
    ResourceTemplateReference,
)

from .api.errors import MosaicMCPError
from .jobs.snapshot import JobKind
from .prompts import AGENT_ARGUMENT, ASPECT_RATIOS, DURATIONS, JOB_ARGUMENT, PROMPT_ARGUMENTS
from .runtime import Runtime

log = logging.getLogger("mosaic_mcp.completions")

MAX_VALUES = 100
"""The protocol's cap on `completion.values`."""
AGENT_PAGE = 100
"""Agents read for one suggestion: one page, so a keystroke costs at most one request."""
AGENT_SECONDS = 5.0
"""A suggestion that takes longer is not worth waiting for."""
JOB_SCAN = 500
"""Recent jobs read from the journal for one suggestion."""

JOB_TEMPLATES: dict[tuple[str, str], JobKind] = {
    ("mosaic://runs/{run_id}", "run_id"): "mosaic_run",
    ("motion://sessions/{job_id}", "job_id"): "motion_session",
}
"""Resource template and argument → the kind of job it names."""


def register_completions(app: MCPServer[Runtime]) -> None:
    """Serve `completion/complete` (which advertises `completions`)."""
    low = app._lowlevel_server  # private: MCPServer's decorator gives no request context; mcp is pinned to 2.3.x
    low.add_request_handler("completion/complete", CompleteRequestParams, _on_complete)


async def _on_complete(ctx: ServerRequestContext[Runtime], params: CompleteRequestParams) -> CompleteResult:
    values = await suggestions(ctx.lifespan_context.for_request(), params)
    return CompleteResult(completion=capped(values))


async def suggestions(runtime: Runtime, params: CompleteRequestParams) -> list[str]:
    """Every suggestion for the argument being typed, best first (before the cap)."""
    ref, name, typed = params.ref, params.argument.name, params.argument.value
    if isinstance(ref, ResourceTemplateReference):
        kind = JOB_TEMPLATES.get((ref.uri, name))
        return await job_ids(runtime, typed, kind) if kind else []
    if not isinstance(ref, PromptReference) or name not in PROMPT_ARGUMENTS.get(ref.name, ()):
        return []
    if name == JOB_ARGUMENT:
        return await job_ids(runtime, typed, None)
    if name == AGENT_ARGUMENT:
        return await agents(runtime, typed)
    if name == "aspect_ratio":
        return matching(ASPECT_RATIOS, typed)
    if name == "duration":
        return matching(DURATIONS, typed)
    return []


async def job_ids(runtime: Runtime, typed: str, kind: JobKind | None) -> list[str]:
    """Tracked job ids of `kind` (any kind for None) starting with `typed`, newest first."""
    records = await runtime.jobs.recent(limit=JOB_SCAN)
    return matching((r.job_id for r in records if kind is None or r.kind == kind), typed)


async def agents(runtime: Runtime, typed: str) -> list[str]:
    """Agent names, then ids, that start with `typed` (one page of the account's agents)."""
    page = None
    try:
        with anyio.move_on_after(AGENT_SECONDS):
            page = await runtime.mosaic.list_agents(limit=AGENT_PAGE)
    except MosaicMCPError as exc:  # a suggestion is never worth an error; the log says why
        log.info("no agent suggestions: listing agents failed (%s)", type(exc).__name__)
    if page is None:
        return []
    names = [a.name for a in page.agents if a.name]
    return matching([*names, *(a.id for a in page.agents)], typed)


def matching(values: Iterable[str], typed: str) -> list[str]:
    """`values` that start with `typed` (ignoring case), in order, without repeats."""
    prefix = typed.casefold()
    seen: dict[str, None] = {}
    for value in values:
        if value.casefold().startswith(prefix):
            seen.setdefault(value, None)
    return list(seen)


def capped(values: Sequence[str]) -> Completion:
    """At most `MAX_VALUES`, with the total and whether more exist."""
    return Completion(values=list(values[:MAX_VALUES]), total=len(values), has_more=len(values) > MAX_VALUES)

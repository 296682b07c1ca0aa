"""Mosaic agent runs (reference section 2.4, and the automation-runs listing of 2.12): responses and the run request."""

from typing import Any

from pydantic import Field, SkipValidation, field_validator, model_validator

from . import rules
from ._agents_types import NodeType
from ._types import APIModel, ObservabilityPage, RequestModel

RUN_TERMINAL_STATUSES = frozenset({"completed", "partial_complete", "failed", "cancelled"})


def _either_credit_flag(data: Any) -> Any:
    """`needs_credits` or `needsCredits` (the vendor's skill names both): either one true marks the block."""
    if isinstance(data, dict) and "needsCredits" in data:
        flag = bool(data.get("needs_credits")) or bool(data["needsCredits"])
        data = {key: value for key, value in data.items() if key != "needsCredits"} | {"needs_credits": flag}
    return data


def error_text(error: Any) -> str:
    """One `errors[]` entry as text: a string (documented for nodes) or an object (seen for runs)."""
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        message = next((error[k] for k in ("message", "detail", "error", "status_message") if error.get(k)), None)
        if isinstance(message, list):  # an object grouping several messages of one tile
            message = "; ".join(error_text(m) for m in message)
        if message is None and isinstance(error.get("errors"), list):
            message = "; ".join(error_text(m) for m in error["errors"])
        tile = error.get("node_type_name") or error.get("node_name")
        if message:
            text = str(message)
            return f"{tile}: {text}" if tile and not text.startswith(f"{tile}:") else text
    return str(error)[:300]


def _error_texts(value: Any) -> Any:
    if isinstance(value, list):
        return [error_text(entry) for entry in value]
    if isinstance(value, str | dict):
        return [error_text(value)]
    return [] if value is None else value


class NodeStatusCounts(APIModel):
    """How many of a run's nodes are in each state."""

    completed: int = Field(default=0, description="Tiles finished.")
    in_progress: int = Field(default=0, description="Tiles running.")
    failed: int = Field(default=0, description="Tiles failed.")


class RunOutput(APIModel):
    """One rendered output of a run; `id` is the render id to chain into `node_render_ids`."""

    id: str | None = Field(default=None, description="Render id: pass in run_agent's node_render_ids to chain it.")
    video_url: str | None = Field(default=None, description="Signed URL of the video (expires).")
    thumbnail_url: str | None = Field(default=None, description="Signed URL of a still (expires).")
    premiere_prproj_url: str | None = Field(default=None, description="Premiere Pro timeline zip, when offered.")
    completed_at: str | None = Field(default=None, description="When it was rendered.")
    original_node_id: str | None = Field(default=None, description="The agent's tile that produced it.")
    sources: list[dict[str, Any]] = Field(
        default_factory=list, description="Media the video uses, and their rights, as the service gives them."
    )


class RunInput(APIModel):
    """One input video of a run."""

    video_url: str | None = Field(default=None, description="The input video.")
    thumbnail_url: str | None = Field(default=None, description="A still of it.")


class Run(APIModel):
    """GET /agent_run/{id}. `status` is a plain string so a new status never breaks parsing."""

    run_id: str | None = None  # not in the documented body; kept if a future revision adds it
    agent_id: str | None = None
    started_at: str | None = None
    status: str
    status_message: str | None = None
    needs_credits: bool = False
    errors: list[str] = Field(default_factory=list, description="Error messages (strings or objects upstream).")
    node_status_counts: NodeStatusCounts = Field(default_factory=NodeStatusCounts)
    inputs: list[RunInput] = Field(default_factory=list)
    outputs: list[RunOutput] = Field(default_factory=list)

    _credit_flag = model_validator(mode="before")(_either_credit_flag)
    _errors = field_validator("errors", mode="before")(_error_texts)

    @property
    def is_terminal(self) -> bool:
        """Whether the run has stopped changing."""
        return self.status in RUN_TERMINAL_STATUSES


class RunSummary(APIModel):
    """One entry of the run list endpoints (no `needs_credits` there)."""

    run_id: str = Field(description="The run (a job_id for poll_job).")
    agent_id: str | None = Field(default=None, description="The agent it ran.")
    status: str = Field(description="The run's status.")
    status_message: str | None = Field(default=None, description="What the service says about it.")
    started_at: str | None = Field(default=None, description="When it started.")
    updated_at: str | None = Field(default=None, description="When it last changed.")
    node_status_counts: NodeStatusCounts = Field(default_factory=NodeStatusCounts, description="Tiles by state.")
    inputs: list[RunInput] = Field(default_factory=list, description="Its input videos.")
    outputs: list[RunOutput] = Field(default_factory=list, description="Its outputs so far.")
    triggered_by: dict[str, Any] | None = Field(
        default=None, description="What started it (a trigger), when not a direct call."
    )


class RunPage(APIModel):
    """One page of GET /agent/{id}/runs, /agent_runs or /trigger/{id}/runs."""

    runs: list[RunSummary] = Field(default_factory=list, description="The runs, newest first.")
    next_cursor: str | None = Field(default=None, description="Pass as cursor for the next page; null on the last.")


class RunNode(APIModel):
    """A runtime node of a run; `original_node_id` is the template node it was cloned from."""

    agent_node_id: str = Field(description="The run's copy of the tile.")
    original_node_id: str | None = Field(default=None, description="The agent's tile it was copied from.")
    status: str | None = Field(default=None, description="The tile's status.")
    status_message: str | None = Field(default=None, description="What the service says about it.")
    errors: list[str] = Field(default_factory=list, description="Error messages (strings or objects upstream).")
    node_type: NodeType | None = Field(default=None, description="The tile type.")
    needs_credits: bool = Field(default=False, description="True when the tile stopped for lack of credits.")

    _credit_flag = model_validator(mode="before")(_either_credit_flag)
    _errors = field_validator("errors", mode="before")(_error_texts)


class RunNodes(APIModel):
    """GET /agent_run/{id}/nodes."""

    run_id: str | None = Field(default=None, description="The run.")
    nodes: list[RunNode] = Field(default_factory=list, description="The run's tiles.")


class RunCreated(APIModel):
    """POST /agent/{id}/run: only `run_id` is documented."""

    run_id: str


class CancelResult(APIModel):
    """POST /agent_run/{id}/cancel."""

    success: bool = True
    run_id: str | None = None
    tasks_cancelled: int | None = None
    nodes_reset: int | None = None
    message: str | None = None


class ResumeResult(APIModel):
    """POST /agent_run/{id}/resume."""

    success: bool = True
    run_id: str | None = None
    agent_state_id: str | None = None
    nodes_queued: int | None = None
    nodes_considered: int | None = None
    requeued_nodes: int | None = None


class RunProgress(APIModel):
    """GET /agent_run/{id}/progress; the full body was never captured, so most of it is extra."""

    run_id: str | None = Field(default=None, description="The run.")
    status: str | None = Field(default=None, description="The run's status.")
    completed_node_percent: float | None = Field(default=None, description="Share of tiles finished, percent.")
    node_status_counts: NodeStatusCounts | None = Field(default=None, description="Tiles by state.")
    next_cursor: str | None = Field(default=None, description="Pass as cursor for the next page; null on the last.")


class AutomationRunPage(ObservabilityPage):
    """GET /automations/runs."""


class MimirAsset(RequestModel):
    """An asset from a Mimir integration; `artifact` defaults to `highres` on the service."""

    id: str
    artifact: SkipValidation[rules.MimirArtifact | None] = None


class VideoInput(RequestModel):
    """The sources of one Video Input tile (canonical input form; required for multi-input graphs)."""

    agent_node_id: str
    video_ids: list[str] = Field(default_factory=list)
    node_render_ids: list[str] = Field(default_factory=list)
    video_urls: list[str] = Field(default_factory=list)
    mimir_assets: list[MimirAsset] = Field(default_factory=list)
    input_clip_start_ms: int | None = None
    input_clip_end_ms: int | None = None

    @property
    def has_source(self) -> bool:
        """Whether the entry names at least one source."""
        return bool(self.video_ids or self.node_render_ids or self.video_urls or self.mimir_assets)

    @property
    def source_count(self) -> int:
        """How many sources the entry names (a run lists one `inputs[]` item per source)."""
        return len(self.video_ids) + len(self.node_render_ids) + len(self.video_urls) + len(self.mimir_assets)


class RunRequest(RequestModel):
    """Body of POST /agent/{id}/run."""

    video_inputs: list[VideoInput] = Field(default_factory=list)
    video_ids: list[str] = Field(default_factory=list)
    node_render_ids: list[str] = Field(default_factory=list)
    video_urls: list[str] = Field(default_factory=list)
    mimir_assets: list[MimirAsset] = Field(default_factory=list)
    callback_url: str | None = None
    update_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    ignore_nodes: list[str] = Field(default_factory=list)

    @property
    def has_top_level_inputs(self) -> bool:
        """Whether the single-input shorthand arrays are used."""
        return bool(self.video_ids or self.node_render_ids or self.video_urls or self.mimir_assets)

    @property
    def has_inputs(self) -> bool:
        """Whether any video source is given at all."""
        return self.has_top_level_inputs or bool(self.video_inputs)

    @property
    def source_count(self) -> int:
        """How many sources the run is given in all (what reconciliation compares with `inputs[]`)."""
        top = len(self.video_ids) + len(self.node_render_ids) + len(self.video_urls) + len(self.mimir_assets)
        return top + sum(entry.source_count for entry in self.video_inputs)

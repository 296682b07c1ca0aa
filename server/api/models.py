"""Response models for the Mosaic API (reference section 2) and the Motion API (section 4).

Every model allows extra fields: the docs drift without a version bump, and a new field must never
break parsing. Fields we read are typed; everything the reference marks nullable or optional has a
default, so a missing optional field does not fail. Request models live in `requests.py`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AssetKind = Literal["video", "audio", "image"]
ASSET_KINDS: tuple[AssetKind, ...] = ("video", "audio", "image")

RUN_TERMINAL_STATUSES = frozenset({"completed", "partial_complete", "failed", "cancelled"})
MOTION_TERMINAL_STATUSES = frozenset({"completed", "failed"})


class APIModel(BaseModel):
    """Base of every response model: unknown fields are kept, not rejected."""

    # defer_build: ~70 models would otherwise be compiled at import, before the first reply.
    model_config = ConfigDict(extra="allow", defer_build=True)


# --- identity -------------------------------------------------------------------------------


class WhoAmI(APIModel):
    """GET /whoami: the organization the key belongs to (and its scopes; null = full access)."""

    organization_id: str | None = None
    organization_name: str | None = None
    organization_slug: str | None = None
    created_at: str | None = None
    last_used_at: str | None = None
    scopes: list[str] | None = None


# --- agents and node types ------------------------------------------------------------------


class NodeType(APIModel):
    """One tile type of the catalogue; the API gives names and docs links, never param schemas."""

    node_type_id: str
    node_type_name: str | None = None
    docs_url: str | None = None
    params_docs_url: str | None = None


class AgentSummary(APIModel):
    """One entry of GET /agents."""

    id: str
    name: str | None = None
    description: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class AgentPage(APIModel):
    """One page of GET /agents."""

    agents: list[AgentSummary] = Field(default_factory=list)
    next_cursor: str | None = None


class AgentInfo(APIModel):
    """The `agent` object of GET /agent/{id}."""

    id: str
    name: str | None = None
    description: str | None = None
    visibility: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class AgentNode(APIModel):
    """A tile placed in an agent's graph (template node)."""

    agent_node_id: str
    node_type: NodeType
    params_used: dict[str, Any] = Field(default_factory=dict)


class Connection(APIModel):
    """A directed edge between two template nodes."""

    source_agent_node_id: str
    target_agent_node_id: str


class AgentDetail(APIModel):
    """GET /agent/{id} (and the duplicate response): metadata, nodes and edges."""

    agent: AgentInfo
    agent_nodes: list[AgentNode] = Field(default_factory=list)
    connections: list[Connection] = Field(default_factory=list)


class CreatedNode(APIModel):
    """A node created by a `create_node` operation, mapped from its `temp_ref_id`."""

    temp_ref_id: str | None = None
    agent_node_id: str


class AgentMutation(APIModel):
    """Response of POST /agent/create and /agent/{id}/update."""

    success: bool = True
    agent_id: str
    operations_applied: int = 0
    created_nodes: list[CreatedNode] = Field(default_factory=list)


class AgentDeleted(APIModel):
    """Response of POST /agent/{id}/delete."""

    success: bool = True
    agent_id: str | None = None
    message: str | None = None


class NodeTypeList(APIModel):
    """GET /node_types."""

    node_types: list[NodeType] = Field(default_factory=list)


class NodeTypeEnvelope(APIModel):
    """GET /node_type/{id}."""

    node_type: NodeType


class AgentNodeEnvelope(APIModel):
    """GET /agent_nodes/{id}."""

    agent_node: AgentNode


# --- runs ------------------------------------------------------------------------------------


class NodeStatusCounts(APIModel):
    """How many of a run's nodes are in each state."""

    completed: int = 0
    in_progress: int = 0
    failed: int = 0


class RunOutput(APIModel):
    """One rendered output of a run; `id` is the render id to chain into `node_render_ids`."""

    id: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    premiere_prproj_url: str | None = None
    completed_at: str | None = None
    original_node_id: str | None = None
    sources: list[dict[str, Any]] = Field(default_factory=list)


class RunInput(APIModel):
    """One input video of a run."""

    video_url: str | None = None
    thumbnail_url: str | None = None


class Run(APIModel):
    """GET /agent_run/{id}. `status` is a plain string so a new status never breaks parsing."""

    run_id: str | None = None  # not in the documented body; kept if a future revision adds it
    agent_id: str | None = None
    started_at: str | None = None
    status: str
    status_message: str | None = None
    needs_credits: bool = False
    errors: list[Any] = Field(default_factory=list)
    node_status_counts: NodeStatusCounts = Field(default_factory=NodeStatusCounts)
    inputs: list[RunInput] = Field(default_factory=list)
    outputs: list[RunOutput] = Field(default_factory=list)

    @property
    def is_terminal(self) -> bool:
        """Whether the run has stopped changing."""
        return self.status in RUN_TERMINAL_STATUSES


class RunSummary(APIModel):
    """One entry of the run list endpoints (no `needs_credits` there)."""

    run_id: str
    agent_id: str | None = None
    status: str
    status_message: str | None = None
    started_at: str | None = None
    updated_at: str | None = None
    node_status_counts: NodeStatusCounts = Field(default_factory=NodeStatusCounts)
    inputs: list[RunInput] = Field(default_factory=list)
    outputs: list[RunOutput] = Field(default_factory=list)
    triggered_by: dict[str, Any] | None = None


class RunPage(APIModel):
    """One page of GET /agent/{id}/runs, /agent_runs or /trigger/{id}/runs."""

    runs: list[RunSummary] = Field(default_factory=list)
    next_cursor: str | None = None


class RunNode(APIModel):
    """A runtime node of a run; `original_node_id` is the template node it was cloned from."""

    agent_node_id: str
    original_node_id: str | None = None
    status: str | None = None
    status_message: str | None = None
    errors: list[Any] = Field(default_factory=list)
    node_type: NodeType | None = None
    needs_credits: bool = False


class RunNodes(APIModel):
    """GET /agent_run/{id}/nodes."""

    run_id: str | None = None
    nodes: list[RunNode] = Field(default_factory=list)


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

    run_id: str | None = None
    status: str | None = None
    completed_node_percent: float | None = None
    node_status_counts: NodeStatusCounts | None = None
    next_cursor: str | None = None


# --- triggers --------------------------------------------------------------------------------


class YouTubeChannelDetail(APIModel):
    """Metadata of a watched channel; fields stay null until the service refreshes them."""

    channel_id: str | None = None
    channel_name: str | None = None
    channel_handle: str | None = None
    thumbnail_url: str | None = None
    subscriber_count: int | None = None


class Trigger(APIModel):
    """One YouTube trigger node of an agent."""

    id: str
    type: str | None = None
    youtube_channels: list[str] = Field(default_factory=list)
    youtube_channel_details: list[YouTubeChannelDetail] = Field(default_factory=list)
    callback_url: str | None = None
    filter_options: dict[str, Any] | None = None


class ChannelResolution(APIModel):
    """How one given channel id or URL was resolved."""

    input: str | None = None
    channel_id: str | None = None


class TriggerChannelsAdded(APIModel):
    """POST /agent/{id}/triggers/add_youtube_channels."""

    message: str | None = None
    channel_ids: list[str] = Field(default_factory=list)
    channels: list[ChannelResolution] = Field(default_factory=list)
    youtube_channel_details: list[YouTubeChannelDetail] = Field(default_factory=list)


class TriggerChannelsRemoved(APIModel):
    """POST /agent/{id}/triggers/remove_youtube_channels (shape known only from a third party)."""

    message: str | None = None
    removed_channels: list[str] = Field(default_factory=list)


# --- uploads and assets ----------------------------------------------------------------------


def _normalise_asset_id(data: Any) -> Any:
    """Fold the per-kind id key (`video_id`, `audio_id`, `image_id`) into `asset_kind`/`asset_id`."""
    if not isinstance(data, dict) or "asset_id" in data:
        return data
    for kind in ASSET_KINDS:
        key = f"{kind}_id"
        if key in data:
            return {**data, "asset_kind": data.get("asset_kind", kind), "asset_id": data[key]}
    return data


class UploadTicket(APIModel):
    """Step 1 of the upload flow: where to POST the bytes and which form fields to send first."""

    asset_kind: AssetKind
    asset_id: str
    upload_url: str
    upload_fields: dict[str, str] = Field(default_factory=dict)
    max_file_size_bytes: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        data = _normalise_asset_id(data)
        if isinstance(data, dict) and "upload_fields" not in data and isinstance(data.get("fields"), dict):
            data = {**data, "upload_fields": data["fields"]}  # older docs called it `fields`
        return data


class FinalizedUpload(APIModel):
    """Step 3 of the upload flow: the asset id, now usable in runs."""

    asset_kind: AssetKind
    asset_id: str

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        return _normalise_asset_id(data)


class ViewUrl(APIModel):
    """POST /uploads/get_view_url: a short-lived signed URL to look at an asset."""

    asset_type: str | None = None
    asset_id: str | None = None
    signed_url: str
    thumbnail_url: str | None = None


# --- avatar profiles -------------------------------------------------------------------------


class AvatarProfile(APIModel):
    """An AI Avatar profile; `status` is pending | processing | ready | failed."""

    id: str
    name: str | None = None
    status: str | None = None
    status_message: str | None = None
    video_preview_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        # The create response was never captured; accept an `{"avatar_profile": {...}}` envelope too.
        if isinstance(data, dict) and "id" not in data and isinstance(data.get("avatar_profile"), dict):
            return data["avatar_profile"]
        return data


class AvatarProfileList(APIModel):
    """GET /avatar-profiles."""

    avatar_profiles: list[AvatarProfile] = Field(default_factory=list)


# --- credits and plans -----------------------------------------------------------------------


class AutoTopup(APIModel):
    """Auto top-up configuration (GET /credits, POST /credits/settings)."""

    eligible: bool | None = None
    enabled: bool = False
    threshold: float | int | None = None
    quantity: float | int | None = None


class BillingCycle(APIModel):
    """The current billing period."""

    current_period_start: str | None = None
    current_period_end: str | None = None


class Credits(APIModel):
    """GET /credits."""

    organization_id: str | None = None
    balance: float | int = 0
    plan: str | None = None
    plan_id: str | None = None
    billing_cycle: BillingCycle | None = None
    auto_topup: AutoTopup | None = None


class DateRange(APIModel):
    """The period a usage report covers."""

    start_date: str | None = None
    end_date: str | None = None


class UsageSummary(APIModel):
    """Totals of a usage report (shape from a third-party client)."""

    total_credits_used: float | int = 0
    total_events: int | None = None
    matching_events: int | None = None
    returned_events: int | None = None
    truncated: bool = False


class CreditUsage(APIModel):
    """GET /credits/usage; `breakdown` groups by tile, date and both."""

    organization_id: str | None = None
    date_range: DateRange | None = None
    summary: UsageSummary | None = None
    breakdown: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class CreditSettings(APIModel):
    """POST /credits/settings."""

    auto_topup: AutoTopup


class CreditPurchase(APIModel):
    """POST /credits/buy: charged at once, or a checkout URL to finish in a browser."""

    success: bool = False
    requires_checkout: bool = False
    checkout_url: str | None = None
    credits_purchased: float | int | None = None
    amount_charged_usd: float | None = None
    credits_requested: float | int | None = None
    estimated_cost_usd: float | None = None
    plan: str | None = None


class Plan(APIModel):
    """A subscribed (or scheduled) plan."""

    id: str | None = None
    family: str | None = None
    status: str | None = None
    started_at: str | None = None
    current_period_start: str | None = None
    current_period_end: str | None = None
    canceled_at: str | None = None


class PlanCredits(APIModel):
    """The credit block of GET /plan."""

    balance: float | int | None = None
    usage: float | int | None = None
    included_usage: float | int | None = None
    unlimited: bool | None = None


class PlanInfo(APIModel):
    """GET /plan; `plan` is null when the organization has no paid plan (undocumented)."""

    organization_id: str | None = None
    plan: Plan | None = None
    scheduled_plan: Plan | None = None
    credits: PlanCredits | None = None


class PlanOption(APIModel):
    """One purchasable plan of GET /plan/list."""

    id: str
    billing: str | None = None
    price_usd: float | None = None
    credits_per_month: int | None = None
    top_up_rate_per_100_credits_usd: float | None = None
    notes: str | None = None


class PlanList(APIModel):
    """GET /plan/list; the container key is undocumented, so a bare array or any list key is accepted."""

    plans: list[PlanOption] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _find_plans(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"plans": data}
        if isinstance(data, dict) and "plans" not in data:
            for value in data.values():
                if isinstance(value, list):
                    return {**data, "plans": value}
        return data


class PlanUpgrade(APIModel):
    """POST /plan/upgrade: applied at once, or a checkout URL."""

    success: bool = False
    requires_checkout: bool = False
    checkout_url: str | None = None
    plan_id: str | None = None
    plan_family: str | None = None


# --- social publishing -----------------------------------------------------------------------


class SocialConnectLink(APIModel):
    """POST /social/connections: a URL the user opens to connect an account."""

    platform: str | None = None
    connect_url: str


class SocialConnection(APIModel):
    """A connected social account (list entry or single-connection detail)."""

    social_connection_id: str
    platform: str | None = None
    connected: bool | None = None
    account_name: str | None = None
    account_username: str | None = None
    profile_url: str | None = None
    username: str | None = None
    display_name: str | None = None
    user_image: str | None = None


class SocialConnectionList(APIModel):
    """GET /social/connections."""

    connected_accounts: list[SocialConnection] = Field(default_factory=list)


class SocialConnectionDeleted(APIModel):
    """DELETE /social/connections/{id}."""

    success: bool = True
    platform: str | None = None
    social_connection_id: str | None = None


class SocialPostResult(APIModel):
    """POST /social/post (shape from the earlier revision)."""

    post_id: str | None = None
    status: str | None = None
    links: list[dict[str, Any]] = Field(default_factory=list)
    results: list[dict[str, Any]] = Field(default_factory=list)
    error: Any = None
    tracking_id: str | None = None
    tracked_status: str | None = None


class SocialPost(APIModel):
    """A scheduled or published post (list entry or GET /social/post/{id})."""

    post_id: str
    status: str | None = None
    description: str | None = None
    thumbnail_url: str | None = None
    scheduled_at: str | None = None
    platforms: list[Any] = Field(default_factory=list)
    destinations: list[dict[str, Any]] = Field(default_factory=list)


class SocialPostPage(APIModel):
    """One page of GET /social/posts."""

    posts: list[SocialPost] = Field(default_factory=list)
    next_cursor: str | None = None


class SocialPostAnalytics(APIModel):
    """GET /social/post/{id}/analytics (shape not documented)."""

    post_id: str | None = None


class SocialPostComments(APIModel):
    """GET /social/post/{id}/comments (shape not documented)."""

    post_id: str | None = None
    comments: list[dict[str, Any]] = Field(default_factory=list)


class SocialPostUpdated(APIModel):
    """PATCH /social/post/{id}."""

    post_id: str | None = None
    status: str | None = None


class SocialPostDeleted(APIModel):
    """DELETE /social/post/{id}."""

    post_id: str | None = None
    status: str | None = None
    tracking_id: str | None = None
    tracked_status: str | None = None


class SocialPostTracking(APIModel):
    """GET /social/post/track/{tracking_id}: Mosaic's own record of a post."""

    tracking_id: str | None = None
    provider_post_id: str | None = None
    status: str | None = None
    scheduled_at: str | None = None
    platforms: list[Any] = Field(default_factory=list)
    links: list[dict[str, Any]] = Field(default_factory=list)
    results: list[dict[str, Any]] = Field(default_factory=list)
    error: Any = None
    created_at: str | None = None
    updated_at: str | None = None


# --- observability ---------------------------------------------------------------------------


class ObservabilityPage(APIModel):
    """A cursor page whose list key is undocumented: the first list in the body becomes `items`."""

    items: list[dict[str, Any]] = Field(default_factory=list)
    next_cursor: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _find_items(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"items": data}
        if isinstance(data, dict) and "items" not in data:
            for value in data.values():
                if isinstance(value, list):
                    return {**data, "items": value}
        return data


class StorageTriggerPage(ObservabilityPage):
    """GET /storage_triggers."""


class WatchedFolderPage(ObservabilityPage):
    """GET /storage_trigger/{id}/folders."""


class StorageEventPage(ObservabilityPage):
    """GET /storage_trigger/{id}/events."""


class AutomationRunPage(ObservabilityPage):
    """GET /automations/runs."""


class IngestBatchPage(ObservabilityPage):
    """GET /automations/ingest-batches."""


# --- Motion ----------------------------------------------------------------------------------


class MotionJobAccepted(APIModel):
    """202 from POST /sessions (and, presumably, a follow-up); `status_url` is host-relative."""

    job_id: str
    # Create always says "queued"; the follow-up shape is undocumented, and a just-accepted job is queued.
    status: str = "queued"
    status_url: str | None = None


class MotionOutput(APIModel):
    """The rendered MP4 of a session; ready only when completed *and* a download URL exists."""

    status: str | None = None
    download_url: str | None = None
    expires_at: str | None = None


class MotionSession(APIModel):
    """GET /sessions/{job_id}."""

    job_id: str
    status: str
    created_at: str | None = None
    updated_at: str | None = None
    completed_at: str | None = None
    error: Any = None
    pending_user_input: bool = False
    output: MotionOutput | None = None
    sources: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def is_terminal(self) -> bool:
        """Whether the job itself has stopped (the download URL may still be on its way)."""
        return self.status in MOTION_TERMINAL_STATUSES

    @property
    def download_ready(self) -> bool:
        """Whether the MP4 can be downloaded now."""
        return self.output is not None and self.output.status == "completed" and self.output.download_url is not None

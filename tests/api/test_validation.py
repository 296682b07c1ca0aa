"""Input validation: each documented rule is enforced before any request, naming field and rule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mosaic_mcp.server.api import (
    Attachment,
    CreateConnectionOp,
    DesignMd,
    FollowupRequest,
    InvalidInputError,
    MosaicClient,
    MotionClient,
    MotionSessionRequest,
    RunRequest,
    VideoInput,
    parse_model,
    validate_run_against_graph,
)
from mosaic_mcp.server.api.validation import CallbackPolicy, check_callback_url
from mosaic_mcp.server.sandbox import Sandbox, seed

from ..support import SESSIONS, sent

pytestmark = pytest.mark.anyio

Call = Callable[[MosaicClient, MotionClient], Awaitable[Any]]
LONG = "L" * 12_001
URL = "https://example.com/a.png"


def session(**fields: Any) -> MotionSessionRequest:
    """A valid session request with some fields replaced."""
    return MotionSessionRequest(**{"prompt": "A teaser", **fields})


def run(**fields: Any) -> RunRequest:
    """A run request."""
    return RunRequest(**fields)


def entry(**fields: Any) -> VideoInput:
    """One video_inputs entry for the captions agent's input tile."""
    return VideoInput(**{"agent_node_id": seed.CAPTIONS_AGENT_INPUT_NODE_ID, **fields})


CASES: list[tuple[str, Call, str, str]] = [
    # Motion sessions
    ("prompt-empty", lambda m, v: v.create_session(session(prompt="")), "prompt", "between 1 and 12,000"),
    ("prompt-long", lambda m, v: v.create_session(session(prompt=LONG)), "prompt", "between 1 and 12,000"),
    ("prompt-blank", lambda m, v: v.create_session(session(prompt="   ")), "prompt", "must not be blank"),
    ("prompt-not-text", lambda m, v: v.create_session(session(prompt=12)), "prompt", "must be a string"),
    ("attachment-name-not-text", lambda m, v: v.create_session(session(attachments=[Attachment(url=URL, name=3)])),
     "attachments[0].name", "must be a string"),
    ("attachments-11", lambda m, v: v.create_session(session(attachments=[Attachment(url=URL)] * 11)),
     "attachments", "at most 10"),
    ("attachment-url-scheme", lambda m, v: v.create_session(session(attachments=[Attachment(url="ftp://x/y")])),
     "attachments[0].url", "http(s) URL"),
    ("attachment-url-long", lambda m, v: v.create_session(
        session(attachments=[Attachment(url="https://e.com/" + "a" * 4100)])), "attachments[0].url", "4,096"),
    ("attachment-name", lambda m, v: v.create_session(session(attachments=[Attachment(url=URL, name="n" * 241)])),
     "attachments[0].name", "at most 240"),
    ("attachment-type", lambda m, v: v.create_session(session(attachments=[Attachment(url=URL, type="pdf")])),
     "attachments[0].type", "image, video, audio, file"),
    ("style-reference", lambda m, v: v.create_session(session(style_reference_url="https://vimeo.com/1")),
     "style_reference_url", "YouTube URL"),
    ("aspect-ratio", lambda m, v: v.create_session(session(aspect_ratio="3:2")), "aspect_ratio", "one of 16:9"),
    ("duration", lambda m, v: v.create_session(session(duration="1h")), "duration", "one of <10s"),
    ("mode", lambda m, v: v.create_session(session(mode="ultra")), "mode", "one of light, medium, high"),
    ("design-system", lambda m, v: v.create_session(session(design_system_id="acme")), "design_system_id", "one of"),
    ("design-md", lambda m, v: v.create_session(session(design_md=DesignMd(content=""))), "design_md.content",
     "between 1 and 200,000"),
    ("followup-prompt", lambda m, v: v.create_followup("job", FollowupRequest(prompt="")), "prompt", "between 1"),
    ("followup-mode", lambda m, v: v.create_followup("job", FollowupRequest(prompt="p", mode="max")), "mode",
     "one of"),
    ("followup-job-id", lambda m, v: v.create_followup("a/b", FollowupRequest(prompt="p")), "job_id", "no slashes"),
    # Runs
    ("inputs-both-forms", lambda m, v: m.run_agent("a", run(video_ids=["v"], video_inputs=[entry(video_ids=["v"])])),
     "video_inputs", "cannot be combined"),
    ("entry-no-source", lambda m, v: m.run_agent("a", run(video_inputs=[entry()])), "video_inputs[0]",
     "at least one source"),
    ("entry-no-node", lambda m, v: m.run_agent("a", run(video_inputs=[entry(agent_node_id=" ", video_ids=["v"])])),
     "video_inputs[0].agent_node_id", "is required"),
    ("video-url", lambda m, v: m.run_agent("a", run(video_urls=["file:///etc/passwd"])), "video_urls[0]",
     "http(s) URL"),
    ("clip-negative", lambda m, v: m.run_agent("a", run(video_inputs=[entry(video_ids=["v"], input_clip_start_ms=-1)])),
     "video_inputs[0].input_clip_start_ms", "non-negative"),
    ("clip-order", lambda m, v: m.run_agent(
        "a", run(video_inputs=[entry(video_ids=["v"], input_clip_start_ms=5000, input_clip_end_ms=5000)])),
     "video_inputs[0].input_clip_end_ms", "greater than input_clip_start_ms"),
    ("callback-url", lambda m, v: m.run_agent("a", run(callback_url="not a url")), "callback_url", "http(s) URL"),
    ("agent-id-path", lambda m, v: m.run_agent("../whoami", run()), "agent_id", "no slashes"),
    ("run-id-empty", lambda m, v: m.get_run(""), "run_id", "non-empty id"),
    # Lists and filters
    ("limit-low", lambda m, v: m.list_agents(limit=0), "limit", "between 1 and 100"),
    ("limit-high", lambda m, v: m.list_runs(limit=101), "limit", "between 1 and 100"),
    ("status-filter", lambda m, v: m.list_runs(status="bad status!"), "status", "run statuses"),
    ("from-date", lambda m, v: m.list_runs(from_="yesterday"), "from", "ISO-8601"),
    ("usage-limit", lambda m, v: m.get_credit_usage(limit=10_001), "limit", "between 1 and 10,000"),
    # Agents
    ("agent-name-empty", lambda m, v: m.create_agent(name=""), "name", "between 1 and 120"),
    ("agent-name-long", lambda m, v: m.create_agent(name="n" * 121), "name", "between 1 and 120"),
    ("agent-description", lambda m, v: m.create_agent(description="d" * 5001), "description", "at most 5,000"),
    ("agent-visibility", lambda m, v: m.update_agent("a", visibility="secret"), "visibility", "public, private"),
    ("update-nothing", lambda m, v: m.update_agent("a"), "update", "at least one of"),
    ("operation-both-sources", lambda m, v: m.update_agent("a", operations=[CreateConnectionOp(
        source_agent_node_id="x", source_temp_ref_id="y", target_agent_node_id="z")]),
     "operations[0].source", "exactly one of"),
    ("operation-unknown", lambda m, v: m.update_agent("a", operations=[{"op": "explode"}]), "operations[0]",
     "does not match any of the expected tags"),
    ("operation-missing-field", lambda m, v: m.update_agent("a", operations=[{"op": "delete_node"}]),
     "operations[0].delete_node.agent_node_id", "Field required"),
    # Account
    ("credits-low", lambda m, v: m.buy_credits(99), "credits", "between 100 and 1,000,000"),
    ("credits-high", lambda m, v: m.buy_credits(1_000_001), "credits", "between 100 and 1,000,000"),
    ("topup-threshold", lambda m, v: m.update_credit_settings(enabled=True, threshold=-1, quantity=10),
     "auto_topup.threshold", "between 0 and 1,000,000"),
    ("topup-quantity", lambda m, v: m.update_credit_settings(enabled=True, threshold=1, quantity=2_000_000),
     "auto_topup.quantity", "between 0 and 1,000,000"),
    ("plan-id", lambda m, v: m.upgrade_plan("enterprise"), "plan_id", "one of creator"),
    ("checkout-url", lambda m, v: m.buy_credits(100, success_url="javascript:x"), "success_url", "http(s) URL"),
    # Social, uploads, avatars, triggers
    ("platform", lambda m, v: m.create_social_connection("myspace"), "platform", "one of x, linkedin"),
    ("post-status", lambda m, v: m.list_social_posts(status="draft"), "status", "one of scheduled"),
    ("post-destination", lambda m, v: m.create_social_post(post="hi"), "destinations", "at least one"),
    ("post-media", lambda m, v: m.create_social_post(destinations=["c"], media_urls=["x"]), "media_urls[0]",
     "http(s) URL"),
    ("upload-kind", lambda m, v: m.get_upload_url("pdf"),  # type: ignore[arg-type]
     "kind", "one of video, audio, image"),
    ("view-asset-id", lambda m, v: m.get_view_url("video", "../x"), "asset_id", "no slashes"),
    ("avatar-sources", lambda m, v: m.create_avatar_profile("A", {"image_url": URL}), "sources.video_url",
     "an image plus an audio"),
    ("avatar-source-url", lambda m, v: m.create_avatar_profile("A", {"video_url": "x"}), "sources.video_url",
     "http(s) URL"),
    ("channels-empty", lambda m, v: m.add_youtube_channels("a", []), "youtube_channels", "at least one"),
    ("channels-url", lambda m, v: m.remove_youtube_channels("a", ["https://vimeo.com/x"]), "youtube_channels[0]",
     "YouTube URL"),
    ("duration-filter", lambda m, v: m.add_youtube_channels("a", ["UCx"], min_seconds=60, max_seconds=10),
     "filter_options.duration.min_seconds", "must not exceed max_seconds"),
]  # fmt: skip


# What can never be right, whatever the endpoint: control characters, oversized lists and strings.
MANY = [f"v{i}" for i in range(10_000)]
HUGE = "c" * 1_000_000
OPERATIONS = [{"op": "delete_node", "agent_node_id": "n"}] * 501
CANNOT_BE_RIGHT: list[tuple[str, Call, str, str]] = [
    ("path-id-nul", lambda m, v: m.get_agent("agent\x00"), "agent_id", "no control characters"),
    ("path-id-crlf", lambda m, v: m.get_run("run\r\nX-Evil: 1"), "run_id", "no control characters"),
    ("path-id-del", lambda m, v: m.get_run_nodes("run\x7f"), "run_id", "no control characters"),
    ("path-id-c1", lambda m, v: v.get_session("job\x85"), "job_id", "no control characters"),
    ("body-id-lf", lambda m, v: m.run_agent("a", run(video_ids=["v\n1"])), "video_ids[0]", "no control characters"),
    ("body-id-long", lambda m, v: m.run_agent("a", run(node_render_ids=["r" * 201])), "node_render_ids[0]",
     "at most 200"),
    ("entry-node-nul", lambda m, v: m.run_agent("a", run(video_inputs=[entry(agent_node_id="n\x00", video_ids=["v"])])),
     "video_inputs[0].agent_node_id", "no control characters"),
    ("ignore-node-tab", lambda m, v: m.run_agent("a", run(video_ids=["v"], ignore_nodes=["n\t"])), "ignore_nodes[0]",
     "no control characters"),
    ("update-params-key-cr", lambda m, v: m.run_agent("a", run(video_ids=["v"], update_params={"n\r": {}})),
     "update_params.n\\x0d", "no control characters"),
    ("video-url-lf", lambda m, v: m.run_agent("a", run(video_urls=["https://e.com/a\nb"])), "video_urls[0]",
     "control characters"),
    ("video-url-long", lambda m, v: m.run_agent("a", run(video_urls=["https://e.com/" + "a" * 5000])),
     "video_urls[0]", "at most 4,096"),
    ("video-ids-10000", lambda m, v: m.run_agent("a", run(video_ids=MANY)), "video_ids", "at most 100 items"),
    ("video-urls-many", lambda m, v: m.run_agent("a", run(video_urls=[URL] * 101)), "video_urls", "at most 100"),
    ("entry-ids-many", lambda m, v: m.run_agent("a", run(video_inputs=[entry(video_ids=MANY)])),
     "video_inputs[0].video_ids", "at most 100"),
    ("video-inputs-many", lambda m, v: m.run_agent("a", run(video_inputs=[entry(video_ids=["v"])] * 501)),
     "video_inputs", "at most 500"),
    ("ignore-nodes-many", lambda m, v: m.run_agent("a", run(video_ids=["v"], ignore_nodes=MANY)), "ignore_nodes",
     "at most 500"),
    ("operations-many", lambda m, v: m.update_agent("a", operations=OPERATIONS),
     "operations", "at most 500"),
    ("channels-many", lambda m, v: m.add_youtube_channels("a", [f"UC{i}" for i in range(101)]), "youtube_channels",
     "at most 100"),
    ("channel-nul", lambda m, v: m.remove_youtube_channels("a", ["UC\x00"]), "youtube_channels[0]", "control"),
    ("destinations-many", lambda m, v: m.create_social_post(destinations=MANY, post="hi"), "destinations",
     "at most 100"),
    ("media-many", lambda m, v: m.create_social_post(destinations=["c"], media_urls=[URL] * 101), "media_urls",
     "at most 100"),
    ("query-cursor-1mb", lambda m, v: m.list_runs(cursor=HUGE), "cursor", "at most 2,048 characters"),
    ("query-cursor-lf", lambda m, v: m.list_agents(cursor="abc\ndef"), "cursor", "control characters"),
    ("query-filter-1mb", lambda m, v: m.list_social_posts(social_connection_id=HUGE), "social_connection_id",
     "at most 2,048"),
    ("style-reference-long", lambda m, v: v.create_session(session(style_reference_url="https://youtu.be/" + HUGE)),
     "style_reference_url", "at most 4,096"),
]  # fmt: skip

# Callback URLs Mosaic would deliver to this machine, its network or a cloud metadata service.
PRIVATE_CALLBACKS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:8080/hook",
    "http://[::1]/hook",
    "http://10.0.0.5/hook",
    "https://172.16.3.4/hook",
    "http://192.168.1.10/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://0.0.0.0/hook",
    "http://2130706433/hook",
    "http://0x7f.1/hook",
    "http://100.100.100.200/",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://api.localhost/hook",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/",
    "http://printer.local/hook",
]
CASES += [c for c in CANNOT_BE_RIGHT]
CASES += [
    (f"run-callback-{i}", lambda m, v, url=url: m.run_agent("a", run(callback_url=url)), "callback_url",
     "must be a public address")
    for i, url in enumerate(PRIVATE_CALLBACKS)
]  # fmt: skip
CASES += [
    ("trigger-callback", lambda m, v: m.add_youtube_channels("a", ["UCx"], trigger_callback_url=PRIVATE_CALLBACKS[0]),
     "trigger_callback_url", "MOSAIC_MCP_ALLOW_PRIVATE_CALLBACKS"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "field", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_rule_enforced_before_any_request(
    mosaic: MosaicClient, motion: MotionClient, sandbox: Sandbox, call: Call, field: str, rule: str
) -> None:
    """The input is refused with the field and the rule named, and nothing reaches the service."""
    with pytest.raises(InvalidInputError) as caught:
        await call(mosaic, motion)
    assert caught.value.field == field
    assert rule in caught.value.rule
    assert str(caught.value).startswith(f"{field}: ")
    assert LONG not in str(caught.value)
    assert len(str(caught.value)) < 400
    assert len(sandbox.requests) == 0


async def test_upload_content_type_checked(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """A content type that is not a MIME type is refused before the upload starts."""
    ticket = await mosaic.get_upload_url("image")
    sandbox.requests.clear()
    with pytest.raises(InvalidInputError, match="content_type: must be a MIME type"):
        await mosaic.upload_to_signed_url(ticket, b"x", filename="a", content_type="image/png\r\nX: y", size=1)
    assert len(sandbox.requests) == 0


@pytest.mark.parametrize("host", ["www.youtube.com", "youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be"])
async def test_style_reference_on_every_youtube_host_is_sent(motion: MotionClient, sandbox: Sandbox, host: str) -> None:
    """A style reference on any YouTube host, YouTube Music included, passes the checks and is sent."""
    await motion.create_session(session(style_reference_url=f"https://{host}/watch?v=dQw4w9WgXcQ"))
    assert sent(sandbox, SESSIONS) == [
        {"prompt": "A teaser", "style_reference_url": f"https://{host}/watch?v=dQw4w9WgXcQ"}
    ]


def test_parse_model_names_the_field() -> None:
    """Plain data that does not fit a request model becomes InvalidInputError, without echoing input."""
    with pytest.raises(InvalidInputError) as caught:
        parse_model(RunRequest, {"update_params": {"node-1": "SECRET-ish value"}})
    assert caught.value.field == "update_params.node-1"
    assert "dictionary" in caught.value.rule
    assert "SECRET-ish" not in str(caught.value)


GRAPH_CASES: list[tuple[str, str, RunRequest, str, str]] = [
    ("multi-input-top-level", seed.PIP_AGENT_ID, run(video_ids=[seed.VIDEO_IDS[0]]), "video_inputs",
     "one entry per tile"),
    ("multi-input-missing-tile", seed.PIP_AGENT_ID,
     run(video_inputs=[VideoInput(agent_node_id=seed.PIP_AGENT_MAIN_INPUT_NODE_ID, video_ids=["v"])]),
     "video_inputs", "every Video Input tile"),
    ("entry-not-an-input-tile", seed.CAPTIONS_AGENT_ID,
     run(video_inputs=[VideoInput(agent_node_id=seed.CAPTIONS_AGENT_CAPTIONS_NODE_ID, video_ids=["v"])]),
     "video_inputs[0].agent_node_id", "Video Input tile"),
    ("generation-only", seed.GENERATOR_AGENT_ID, run(video_urls=["https://youtu.be/x"]), "video_urls",
     "generation-only"),
    ("update-params-key", seed.CAPTIONS_AGENT_ID, run(video_ids=["v"], update_params={"nope": {"a": 1}}),
     "update_params.nope", "agent_node_ids of this agent"),
    ("ignore-nodes", seed.CAPTIONS_AGENT_ID, run(video_ids=["v"], ignore_nodes=["nope"]), "ignore_nodes[0]",
     "agent_node_id of this agent"),
]  # fmt: skip


@pytest.mark.parametrize(("agent_id", "request_", "field", "rule"), [c[1:] for c in GRAPH_CASES],
                         ids=[c[0] for c in GRAPH_CASES])  # fmt: skip
async def test_graph_rule_enforced(
    mosaic: MosaicClient, agent_id: str, request_: RunRequest, field: str, rule: str
) -> None:
    """validate_run_against_graph applies the rules that need the agent's Video Input tiles."""
    agent = await mosaic.get_agent(agent_id)
    with pytest.raises(InvalidInputError) as caught:
        validate_run_against_graph(request_, agent)
    assert caught.value.field == field
    assert rule in caught.value.rule


async def test_graph_accepts_valid_requests(mosaic: MosaicClient) -> None:
    """Valid single-input, multi-input and generation-only requests pass the graph checks."""
    captions = await mosaic.get_agent(seed.CAPTIONS_AGENT_ID)
    validate_run_against_graph(
        run(video_ids=["v"], update_params={seed.CAPTIONS_AGENT_CAPTIONS_NODE_ID: {"caption_style": "plain"}}),
        captions,
    )
    pip = await mosaic.get_agent(seed.PIP_AGENT_ID)
    validate_run_against_graph(
        run(video_inputs=[
            VideoInput(agent_node_id=seed.PIP_AGENT_MAIN_INPUT_NODE_ID, video_ids=["v"]),
            VideoInput(agent_node_id=seed.PIP_AGENT_OVERLAY_INPUT_NODE_ID, video_urls=["https://youtu.be/x"]),
        ]),
        pip,
    )  # fmt: skip
    validate_run_against_graph(run(), await mosaic.get_agent(seed.GENERATOR_AGENT_ID))


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com/mosaic", "http://93.184.216.34:8080/hook", "https://[2606:4700::1111]/h"]
)
def test_public_callback_urls_pass(url: str) -> None:
    """Public names and addresses are callback URLs Mosaic may call."""
    check_callback_url("callback_url", url)


def test_private_callbacks_when_allowed() -> None:
    """With MOSAIC_MCP_ALLOW_PRIVATE_CALLBACKS, private addresses are accepted (the http(s) rule still holds)."""
    allowed = CallbackPolicy(allow_private=True)
    for url in PRIVATE_CALLBACKS:
        check_callback_url("callback_url", url, allowed)
    with pytest.raises(InvalidInputError, match="http"):
        check_callback_url("callback_url", "file:///etc/passwd", allowed)


def test_own_public_url_is_always_a_valid_callback() -> None:
    """The server's own MOSAIC_MCP_PUBLIC_URL (here on loopback) is accepted; another port on it is not."""
    own = CallbackPolicy(own_url="http://127.0.0.1:8000")
    check_callback_url("callback_url", "http://127.0.0.1:8000/webhooks/mosaic", own)
    with pytest.raises(InvalidInputError):
        check_callback_url("callback_url", "http://127.0.0.1:9000/webhooks/mosaic", own)

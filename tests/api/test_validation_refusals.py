"""validation.py refusals the mutation check found unguarded: each names its field and rule and sends nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mosaic_mcp.server.api import InvalidInputError, MosaicClient, RunRequest
from mosaic_mcp.server.api.validation import validate_run_request
from mosaic_mcp.server.sandbox import Sandbox, seed

pytestmark = pytest.mark.anyio

Call = Callable[[MosaicClient], Awaitable[Any]]


def run_with_params(params: dict[str, Any]) -> RunRequest:
    """A run request whose update_params were changed after it was built (so pydantic never saw them)."""
    request = RunRequest(video_ids=[seed.VIDEO_IDS[0]])
    request.update_params.update(params)
    return request


REFUSED: list[tuple[str, Call, str, str]] = [
    ("limit-fraction", lambda m: m.list_agents(limit=2.5), "limit", "must be an integer"),  # type: ignore[arg-type]
    ("limit-bool", lambda m: m.list_runs(limit=True), "limit", "must be an integer"),
    ("limit-text", lambda m: m.list_agents(limit="10"), "limit", "must be an integer"),  # type: ignore[arg-type]
    ("url-bad-ipv6", lambda m: m.buy_credits(100, success_url="https://[::1/done"), "success_url",
     "must be an http(s) URL"),
    ("url-bad-bracket", lambda m: m.create_social_post(destinations=["c"], media_urls=["http://[example.com]/a.png"]),
     "media_urls[0]", "must be an http(s) URL"),
    ("params-list", lambda m: m.run_agent(seed.CAPTIONS_AGENT_ID, run_with_params({"tile": ["x"]})),
     "update_params.tile", "must be an object of parameter names to values"),
    ("params-text", lambda m: m.run_agent(seed.CAPTIONS_AGENT_ID, run_with_params({"tile": "font=Inter"})),
     "update_params.tile", "must be an object of parameter names to values"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "field", "rule"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
async def test_refused_with_field_and_rule_before_any_request(
    mosaic: MosaicClient, sandbox: Sandbox, call: Call, field: str, rule: str
) -> None:
    """The call raises InvalidInputError naming exactly this field and rule, and the sandbox sees nothing."""
    with pytest.raises(InvalidInputError) as caught:
        await call(mosaic)
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert str(caught.value) == f"{field}: {rule}"
    assert len(sandbox.requests) == 0


def test_a_long_key_is_cut_to_80_characters_in_the_field_name() -> None:
    """An over-long update_params key is named by its first 79 characters and an ellipsis (80 in all)."""
    key = "k" * 300
    with pytest.raises(InvalidInputError) as caught:
        validate_run_request(run_with_params({key: {"a": 1}}))
    shown = caught.value.field.removeprefix("update_params.")
    assert shown == "k" * 79 + "…"
    assert len(shown) == 80


AVATAR_SOURCES: dict[str, dict[str, str]] = {
    "video-url": {"video_url": "https://example.com/me.mp4"},
    "video-id": {"video_id": seed.VIDEO_IDS[0]},
    "image-and-audio-urls": {"image_url": "https://example.com/me.png", "audio_url": "https://example.com/me.mp3"},
}


@pytest.mark.parametrize("sources", AVATAR_SOURCES.values(), ids=AVATAR_SOURCES.keys())
async def test_an_avatar_source_is_a_url_or_an_id(
    mosaic: MosaicClient, sandbox: Sandbox, sources: dict[str, str]
) -> None:
    """A kind counts as given by its URL or its id alone; either form is sent as it is."""
    await mosaic.create_avatar_profile("Presenter", sources)
    assert sandbox.requests.bodies("POST", "/avatar-profiles/create") == [{"name": "Presenter", "sources": sources}]

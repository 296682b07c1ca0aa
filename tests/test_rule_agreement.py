"""The client's input rules and the sandbox's independent copy accept and refuse the same values.

The client declares each rule once (server/api/rules.py, read by validation.py and the tool
arguments); the sandbox keeps its own copy, because it plays the service. One table of values,
valid and invalid, goes through both; every value either side declares is in it, so a value added
to one side only (a new aspect ratio, a new YouTube host, a plan) makes this test fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from mosaic_mcp.server.api import InvalidInputError, rules
from mosaic_mcp.server.api.requests import FollowupRequest, MimirAsset, MotionSessionRequest, RunRequest
from mosaic_mcp.server.api.validation import (
    validate_followup,
    validate_motion_session,
    validate_plan_upgrade,
    validate_run_request,
)
from mosaic_mcp.server.sandbox import config as sandbox_config
from mosaic_mcp.server.sandbox import motion as sandbox_motion
from mosaic_mcp.server.sandbox import run_inputs as sandbox_inputs
from mosaic_mcp.server.sandbox.credits import Billing
from mosaic_mcp.server.sandbox.errors import ApiError

PROMPT = "A teaser"
URL = "https://example.com/a.png"


def _union(*groups: Any) -> list[str]:
    """Every value either side declares, once, in a stable order."""
    return list(dict.fromkeys(value for group in groups for value in group))


def _enum_cases(field: str, client: Any, sandbox: Any, invalid: list[str]) -> list[tuple[str, dict[str, Any]]]:
    values = _union(rules.choices(client), sandbox, invalid)
    return [(f"{field}={value!r}", {"prompt": PROMPT, field: value}) for value in values]


def _attachments(**fields: Any) -> dict[str, Any]:
    return {"prompt": PROMPT, "attachments": [{"url": URL, **fields}]}


YOUTUBE_URLS = [
    *(f"https://{host}/watch?v=dQw4w9WgXcQ" for host in _union(rules.YOUTUBE_HOSTS, sandbox_inputs.YOUTUBE_HOSTS)),
    "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://youtu.be/dQw4w9WgXcQ",
    "http://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://WWW.YouTube.com/watch?v=dQw4w9WgXcQ",
    "https://www.youtube.com:443/watch?v=dQw4w9WgXcQ",
    "https://youtu.be/" + "a" * (4096 - len("https://youtu.be/")),  # at the URL limit
    # refused
    "https://youtu.be/" + "a" * (4097 - len("https://youtu.be/")),  # past it
    "https://vimeo.com/1",
    "https://youtube.com.example.com/watch?v=x",
    "https://notyoutube.com/watch?v=x",
    "https://www.youtube.com./watch?v=x",
    "ftp://www.youtube.com/watch?v=x",
    "www.youtube.com/watch?v=x",
    "",
]

MOTION_CASES: list[tuple[str, dict[str, Any]]] = [
    *_enum_cases("aspect_ratio", rules.AspectRatio, sandbox_motion.ASPECT_RATIOS, ["3:2", "16:10", "16/9", "", "1"]),
    *_enum_cases("duration", rules.Duration, sandbox_motion.DURATIONS, ["1h", "10s", "<10S", ""]),
    *_enum_cases("mode", rules.MotionMode, sandbox_motion.MODES, ["ultra", "Light", "low", ""]),
    *_enum_cases("design_system_id", rules.DesignSystemId, sandbox_motion.DESIGN_SYSTEMS, ["acme", "Linear", ""]),
    *(
        (f"attachment-type={value!r}", _attachments(type=value))
        for value in _union(rules.choices(rules.AttachmentType), sandbox_motion.ATTACHMENT_TYPES, ["pdf", "Image", ""])
    ),
    *((f"style_reference_url[{i}]", {"prompt": PROMPT, "style_reference_url": u}) for i, u in enumerate(YOUTUBE_URLS)),
    ("prompt-1", {"prompt": "a"}),
    ("prompt-12000", {"prompt": "a" * 12_000}),
    ("prompt-empty", {"prompt": ""}),
    ("prompt-12001", {"prompt": "a" * 12_001}),
    ("attachments-0", {"prompt": PROMPT, "attachments": []}),
    ("attachments-10", {"prompt": PROMPT, "attachments": [{"url": URL}] * 10}),
    ("attachments-11", {"prompt": PROMPT, "attachments": [{"url": URL}] * 11}),
    ("attachment-url-4096", _attachments(url="https://e.com/" + "a" * (4096 - len("https://e.com/")))),
    ("attachment-url-4097", _attachments(url="https://e.com/" + "a" * (4097 - len("https://e.com/")))),
    ("attachment-url-ftp", _attachments(url="ftp://e.com/a.png")),
    ("attachment-url-empty", _attachments(url="")),
    ("attachment-name-0", _attachments(name="")),
    ("attachment-name-240", _attachments(name="n" * 240)),
    ("attachment-name-241", _attachments(name="n" * 241)),
    ("design_md-1", {"prompt": PROMPT, "design_md": "d"}),
    ("design_md-200000", {"prompt": PROMPT, "design_md": "d" * 200_000}),
    ("design_md-200001", {"prompt": PROMPT, "design_md": "d" * 200_001}),
    ("design_md-empty", {"prompt": PROMPT, "design_md": ""}),
    ("design_md.content-1", {"prompt": PROMPT, "design_md": {"filename": "DESIGN.md", "content": "d"}}),
    ("design_md.content-200000", {"prompt": PROMPT, "design_md": {"content": "d" * 200_000}}),
    ("design_md.content-200001", {"prompt": PROMPT, "design_md": {"content": "d" * 200_001}}),
    ("design_md.content-empty", {"prompt": PROMPT, "design_md": {"content": ""}}),
    ("design_md.filename-1", {"prompt": PROMPT, "design_md": {"filename": "D", "content": "d"}}),
    ("design_md.filename-255", {"prompt": PROMPT, "design_md": {"filename": "d" * 255, "content": "d"}}),
    ("design_md.filename-256", {"prompt": PROMPT, "design_md": {"filename": "d" * 256, "content": "d"}}),
    ("design_md.filename-empty", {"prompt": PROMPT, "design_md": {"filename": "", "content": "d"}}),
]  # fmt: skip

CLIENT_ONLY: list[tuple[str, dict[str, Any]]] = [
    ("prompt-blank", {"prompt": "   "}),
]
"""Deliberately stricter on the client: a prompt of spaces is valid for the service but never meant."""


def client_accepts_session(body: dict[str, Any]) -> bool:
    """Whether the client would send this POST /sessions body."""
    try:
        validate_motion_session(MotionSessionRequest.model_validate(body))
    except InvalidInputError:
        return False
    return True


def client_accepts_followup(body: dict[str, Any]) -> bool:
    """Whether the client would send this follow-up body."""
    try:
        validate_followup(FollowupRequest.model_validate(body))
    except InvalidInputError:
        return False
    return True


def sandbox_accepts(body: dict[str, Any]) -> bool:
    """Whether the sandbox's Motion service takes this create / follow-up body."""
    return sandbox_motion.validate_request(body) == []


@pytest.mark.parametrize("body", [c[1] for c in MOTION_CASES], ids=[c[0] for c in MOTION_CASES])
def test_motion_session_rules_agree(body: dict[str, Any]) -> None:
    """A POST /sessions body is accepted by the client exactly when the sandbox accepts it."""
    assert client_accepts_session(body) == sandbox_accepts(body)


FOLLOWUP_FIELDS = set(FollowupRequest.model_fields)
FOLLOWUP_CASES = [(name, body) for name, body in MOTION_CASES if set(body) <= FOLLOWUP_FIELDS]


@pytest.mark.parametrize("body", [c[1] for c in FOLLOWUP_CASES], ids=[c[0] for c in FOLLOWUP_CASES])
def test_followup_rules_agree(body: dict[str, Any]) -> None:
    """A follow-up body is accepted by the client exactly when the sandbox accepts it."""
    assert client_accepts_followup(body) == sandbox_accepts(body)


@pytest.mark.parametrize("body", [c[1] for c in CLIENT_ONLY], ids=[c[0] for c in CLIENT_ONLY])
def test_client_is_stricter_only_where_listed(body: dict[str, Any]) -> None:
    """The listed client-only refusals hold: the client refuses, the service would accept."""
    assert not client_accepts_session(body)
    assert sandbox_accepts(body)


def test_table_covers_both_ways() -> None:
    """The table holds values both sides accept and values both refuse, for every shared rule."""
    outcomes = {name: sandbox_accepts(body) for name, body in MOTION_CASES}
    for rule in ("aspect_ratio", "duration", "mode", "design_system_id", "attachment-type", "style_reference_url"):
        seen = {accepted for name, accepted in outcomes.items() if name.startswith(rule)}
        assert seen == {True, False}, rule
    for name in ("attachments-10", "prompt-12000", "attachment-name-240", "design_md-200000", "design_md.filename-255"):
        assert outcomes[name], name
    for name in ("attachments-11", "prompt-12001", "attachment-name-241", "design_md-200001", "design_md.filename-256"):
        assert not outcomes[name], name


PLAN_IDS = _union(rules.choices(rules.PlanId), sandbox_config.PLAN_FAMILIES, ["enterprise", "Creator", "free", ""])


def client_accepts_plan(plan_id: str) -> bool:
    """Whether the client would send POST /plan/upgrade with this plan id."""
    try:
        validate_plan_upgrade(plan_id, None, None)
    except InvalidInputError:
        return False
    return True


def sandbox_accepts_plan(plan_id: str) -> bool:
    """Whether the sandbox's POST /plan/upgrade takes this plan id."""
    try:
        Billing(balance=0, plan_id=None, now=0.0).upgrade({"plan_id": plan_id}, 0.0)
    except ApiError as exc:
        if exc.status != 400:
            raise
        return False
    return True


@pytest.mark.parametrize("plan_id", PLAN_IDS)
def test_plan_ids_agree(plan_id: str) -> None:
    """A plan id is accepted by the client exactly when the sandbox accepts it."""
    assert client_accepts_plan(plan_id) == sandbox_accepts_plan(plan_id)


ARTIFACTS = _union(rules.choices(rules.MimirArtifact), sandbox_inputs.MIMIR_ARTIFACTS, ["original", "HighRes", ""])
MIMIR_ASSETS: list[dict[str, Any]] = [
    *({"id": "m-1", "artifact": value} for value in ARTIFACTS),
    {"id": "m-1"},
    {"id": ""},
    {"id": "   "},
]


def client_accepts_mimir(asset: dict[str, Any]) -> bool:
    """Whether the client would send a run with this Mimir asset."""
    try:
        validate_run_request(RunRequest(mimir_assets=[MimirAsset(**asset)]))
    except InvalidInputError:
        return False
    return True


@pytest.mark.parametrize("asset", MIMIR_ASSETS, ids=[repr(a) for a in MIMIR_ASSETS])
def test_mimir_asset_rules_agree(asset: dict[str, Any]) -> None:
    """A mimir_assets item is accepted by the client exactly when the sandbox's run check accepts it."""
    assert client_accepts_mimir(asset) == (sandbox_inputs.mimir_asset_problem(asset) is None)


def test_mimir_table_covers_both_ways() -> None:
    """The Mimir table holds items both sides accept and items both refuse."""
    assert {sandbox_inputs.mimir_asset_problem(asset) is None for asset in MIMIR_ASSETS} == {True, False}

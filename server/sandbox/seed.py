"""Seed data every sandbox starts with: one organisation, four agents, two workspace videos.

The ids are constants so tests anywhere in the project can refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import catalog

ORGANIZATION_ID = "0b6f3c2a-8e41-4d7a-9c55-1f2e3d4c5b6a"
ORGANIZATION_NAME = "Sandbox Productions"
ORGANIZATION_SLUG = "sandbox-productions"
WORKSPACE_ID = "7a1c9e52-3b8d-4f60-a2e4-6d5c8b9f0e13"
SECOND_WORKSPACE_ID = "3e8d1f47-9a2c-4b65-8e70-c4d3b2a1f098"
WORKSPACE_IDS = (WORKSPACE_ID, SECOND_WORKSPACE_ID)

# (1) Captions + vertical reframe: Video Input -> Captions -> Reframe.
CAPTIONS_AGENT_ID = "a1c2e3f4-0001-4a5b-8c6d-7e8f90a1b2c3"
CAPTIONS_AGENT_INPUT_NODE_ID = "a1000001-0000-4000-8000-000000000001"
CAPTIONS_AGENT_CAPTIONS_NODE_ID = "a1000001-0000-4000-8000-000000000002"
CAPTIONS_AGENT_REFRAME_NODE_ID = "a1000001-0000-4000-8000-000000000003"

# (2) Picture in picture: two Video Input tiles feeding one Motion Graphics tile.
PIP_AGENT_ID = "a1c2e3f4-0002-4a5b-8c6d-7e8f90a1b2c3"
PIP_AGENT_MAIN_INPUT_NODE_ID = "a2000002-0000-4000-8000-000000000001"
PIP_AGENT_OVERLAY_INPUT_NODE_ID = "a2000002-0000-4000-8000-000000000002"
PIP_AGENT_COMPOSE_NODE_ID = "a2000002-0000-4000-8000-000000000003"

# (3) Launch video generator: generation only (Video Generation, AI Music on it, Image Generation).
GENERATOR_AGENT_ID = "a1c2e3f4-0003-4a5b-8c6d-7e8f90a1b2c3"
GENERATOR_AGENT_VIDEO_NODE_ID = "a3000003-0000-4000-8000-000000000001"
GENERATOR_AGENT_MUSIC_NODE_ID = "a3000003-0000-4000-8000-000000000002"
GENERATOR_AGENT_IMAGE_NODE_ID = "a3000003-0000-4000-8000-000000000003"

# (4) Podcast clips: Video Input -> Clips -> Rough Cut (an undocumented tile with strict params).
PODCAST_AGENT_ID = "a1c2e3f4-0004-4a5b-8c6d-7e8f90a1b2c3"
PODCAST_AGENT_INPUT_NODE_ID = "a4000004-0000-4000-8000-000000000001"
PODCAST_AGENT_CLIPS_NODE_ID = "a4000004-0000-4000-8000-000000000002"
PODCAST_AGENT_ROUGH_CUT_NODE_ID = "a4000004-0000-4000-8000-000000000003"

AGENT_IDS = (CAPTIONS_AGENT_ID, PIP_AGENT_ID, GENERATOR_AGENT_ID, PODCAST_AGENT_ID)

# Videos that already exist in the workspace (usable in video_ids without uploading).
VIDEO_IDS = ("5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d")

# A YouTube trigger on the captions agent (runs it starts are listed by /trigger/{id}/runs).
TRIGGER_ID = "7c3e9a10-5d2b-4f84-b1a6-2e9d8c7f6a51"
TRIGGER_CHANNEL_ID = "UCBJycsmduvYEL83R_U4JriQ"

# A ready avatar profile for AI Avatar tiles.
AVATAR_PROFILE_ID = "9d4f2b71-6c3e-4a58-8f19-0b2a7e6d5c43"


@dataclass(frozen=True)
class SeedNode:
    """One template node of a seeded agent."""

    agent_node_id: str
    node_type_id: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SeedAgent:
    """A seeded agent: metadata, nodes and edges (source, target)."""

    agent_id: str
    name: str
    description: str
    nodes: tuple[SeedNode, ...]
    edges: tuple[tuple[str, str], ...]
    created_at: str


SEED_AGENTS: tuple[SeedAgent, ...] = (
    SeedAgent(
        CAPTIONS_AGENT_ID,
        "Captions + vertical reframe",
        "Adds animated captions, then reframes to 9:16 for shorts.",
        (
            SeedNode(CAPTIONS_AGENT_INPUT_NODE_ID, catalog.VIDEO_INPUT_ID),
            SeedNode(
                CAPTIONS_AGENT_CAPTIONS_NODE_ID,
                catalog.CAPTIONS_ID,
                {"caption_style": "colored", "caption_font_weight": "700"},
            ),
            SeedNode(CAPTIONS_AGENT_REFRAME_NODE_ID, catalog.REFRAME_ID, {"aspect_ratio": "9:16"}),
        ),
        (
            (CAPTIONS_AGENT_INPUT_NODE_ID, CAPTIONS_AGENT_CAPTIONS_NODE_ID),
            (CAPTIONS_AGENT_CAPTIONS_NODE_ID, CAPTIONS_AGENT_REFRAME_NODE_ID),
        ),
        "2026-03-02T09:00:00.000Z",
    ),
    SeedAgent(
        PIP_AGENT_ID,
        "Picture in picture",
        "Overlays a second video (e.g. a webcam) on the main one.",
        (
            SeedNode(PIP_AGENT_MAIN_INPUT_NODE_ID, catalog.VIDEO_INPUT_ID),
            SeedNode(PIP_AGENT_OVERLAY_INPUT_NODE_ID, catalog.VIDEO_INPUT_ID),
            SeedNode(PIP_AGENT_COMPOSE_NODE_ID, catalog.MOTION_GRAPHICS_ID, {"prompt": "Picture in picture"}),
        ),
        (
            (PIP_AGENT_MAIN_INPUT_NODE_ID, PIP_AGENT_COMPOSE_NODE_ID),
            (PIP_AGENT_OVERLAY_INPUT_NODE_ID, PIP_AGENT_COMPOSE_NODE_ID),
        ),
        "2026-03-05T10:30:00.000Z",
    ),
    SeedAgent(
        GENERATOR_AGENT_ID,
        "Launch video generator",
        "Generates a launch video with music, plus a poster image. Needs no input video.",
        (
            SeedNode(
                GENERATOR_AGENT_VIDEO_NODE_ID,
                catalog.VIDEO_GENERATION_ID,
                {"prompt": "A product launch teaser", "duration_seconds": 15, "aspect_ratio": "16:9"},
            ),
            SeedNode(GENERATOR_AGENT_MUSIC_NODE_ID, catalog.AI_MUSIC_ID, {"genre": "Cinematic"}),
            SeedNode(
                GENERATOR_AGENT_IMAGE_NODE_ID,
                catalog.IMAGE_GENERATION_ID,
                {"prompt": "A launch poster", "image_size": "landscape_16_9"},
            ),
        ),
        ((GENERATOR_AGENT_VIDEO_NODE_ID, GENERATOR_AGENT_MUSIC_NODE_ID),),
        "2026-03-10T14:00:00.000Z",
    ),
    SeedAgent(
        PODCAST_AGENT_ID,
        "Podcast clips",
        "Finds the best moments of a podcast and cuts them down.",
        (
            SeedNode(PODCAST_AGENT_INPUT_NODE_ID, catalog.VIDEO_INPUT_ID),
            SeedNode(PODCAST_AGENT_CLIPS_NODE_ID, catalog.CLIPS_ID, {"num_clips": 3}),
            SeedNode(PODCAST_AGENT_ROUGH_CUT_NODE_ID, catalog.ROUGH_CUT_ID, {"target_duration_seconds": 60}),
        ),
        (
            (PODCAST_AGENT_INPUT_NODE_ID, PODCAST_AGENT_CLIPS_NODE_ID),
            (PODCAST_AGENT_CLIPS_NODE_ID, PODCAST_AGENT_ROUGH_CUT_NODE_ID),
        ),
        "2026-03-15T16:45:00.000Z",
    ),
)

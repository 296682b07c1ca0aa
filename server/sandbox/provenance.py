"""Sample ``sources[]`` entries (switch ``provenance_sources``): media provenance, reference sections 2.4 and 4.

The docs name what an entry tells but not its field names, and describe Motion's and Mosaic's in
different words; the samples follow each description, so a client must read both shapes.
"""

from __future__ import annotations

from typing import Any


def motion_sources(job_id: str) -> list[dict[str, Any]]:
    """A Motion session's sources: kind, provider, source/display URLs, rights status, usages."""
    return [
        {
            "source_kind": "stock",
            "provider": "getty",
            "source_url": "https://www.gettyimages.com/detail/video/city-skyline-at-night/1234567890",
            "display_url": "https://media.gettyimages.com/id/1234567890/video/city-skyline.mp4",
            "rights_status": "licensed",
            "usages": [{"start_ms": 0, "end_ms": 4000, "scene": 1, "composition": "background"}],
        },
        {
            "source_kind": "upload",
            "provider": "user_upload",
            "source_url": f"https://motion.sandbox.invalid/assets/{job_id}/logo.png",
            "rights_status": "user_provided",
            "usages": [{"start_ms": 4000, "end_ms": 6000, "scene": 2, "composition": "overlay"}],
        },
    ]


def output_sources(render_id: str) -> list[dict[str, Any]]:
    """A Mosaic output's sources: provider asset, query, usage window, placement, rights metadata."""
    return [
        {
            "provider": {"name": "pexels", "asset_id": "3571264"},
            "query": "aerial view of a coastline",
            "provider_asset_id": "3571264",
            "render_asset_id": f"{render_id}-broll-1",
            "usage": {"start_ms": 1200, "end_ms": 5200},
            "placement": {"layout": "full_frame", "track": 2},
            "rights": {"status": "royalty_free", "license": "Pexels License"},
            "url": "https://www.pexels.com/video/3571264/",
        }
    ]

"""The job card in a real browser: headless Chromium, the official ext-apps `AppBridge` host side, and the
real `mosaic-mcp serve --sandbox` over stdio (run.mjs does the driving; this test runs it and reads its report).

Needs Node.js 20+, Debian's `chromium` and the pinned npm packages (`npm ci` here); without them it skips and
says what to install. `.ci/run` installs all three and fails if this test was skipped. Refresh the README's
screenshot (docs/images/job-card.png) with `UPDATE_SCREENSHOT=1 pytest tests/browser`.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SCREENSHOT = HERE.parent.parent / "docs" / "images" / "job-card.png"
NEEDS = (
    "the browser test needs Node.js 20+ (apt-get install -y nodejs npm), Chromium (apt-get install -y chromium) "
    "and the pinned npm packages (cd tests/browser && npm ci)"
)


def chromium() -> str | None:
    """Debian's Chromium (or the path in CHROMIUM)."""
    given = os.environ.get("CHROMIUM")
    return given if given and Path(given).exists() else shutil.which("chromium") or shutil.which("chromium-browser")


def test_job_cards_play_their_videos_in_chromium(tmp_path: Path) -> None:
    """Cards load in under a second, follow their jobs to the end, play the clip, save it, stop polling, cancel."""
    browser, node = chromium(), shutil.which("node")
    if browser is None or node is None or not (HERE / "node_modules" / "@modelcontextprotocol" / "ext-apps").is_dir():
        pytest.skip(NEEDS)
    shot = tmp_path / "job-card.png"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "MOSAIC_MCP_BIN": str(Path(sys.executable).with_name("mosaic-mcp")),
        "CHROMIUM": browser,
        "WORK_DIR": str(tmp_path),
        "SCREENSHOT": str(shot),
    }
    done = subprocess.run(
        [node, str(HERE / "run.mjs")], env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, f"run.mjs failed: {done.stderr.strip()[-2000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for slot in ("run", "video"):
        card = report[slot]
        assert card["initialized_ms"] < 1000
        assert card["video"]["readyState"] >= 2 and card["video"]["duration"] > 0
        assert all(Path(p).stat().st_size > 0 for p in card["saved"])
    assert report["run"]["stages"][-1].startswith("completed")
    assert report["video"]["stages"][-1] == "ready"
    assert report["cancel"]["status"] == "cancelled"
    assert shot.stat().st_size > 0
    if os.environ.get("UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)

"""manifest.json (the Claude Desktop bundle) agrees with the package, the settings and the packer."""

import re
import shutil
import subprocess
import tomllib
from importlib.metadata import version

import pytest

from mosaic_mcp.server.config import Settings

from .host import MANIFEST, ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ALIASES = {str(field.validation_alias) for field in Settings.model_fields.values()}
PACKER = ROOT / "packaging" / "node_modules" / ".bin" / "mcpb"


def test_one_version_everywhere() -> None:
    """The bundle, the registry entry and the installed package carry pyproject's version."""
    expected = PYPROJECT["project"]["version"]
    assert MANIFEST["version"] == expected
    assert version(PYPROJECT["project"]["name"]) == expected


def test_the_server_is_a_uv_bundle_of_the_source() -> None:
    """Server type uv (the host installs from pyproject.toml), with the entry point shipped in the repository."""
    server = MANIFEST["server"]
    assert MANIFEST["manifest_version"] == "0.4"
    assert server["type"] == "uv"
    assert (ROOT / server["entry_point"]).is_file()
    assert MANIFEST["compatibility"]["runtimes"]["python"] == PYPROJECT["project"]["requires-python"]


def test_every_setting_is_declared_and_used() -> None:
    """Each `${user_config.NAME}` in mcp_config is a declared setting, and each setting is passed on."""
    text = str(MANIFEST["server"]["mcp_config"])
    used = set(re.findall(r"\$\{user_config\.([^}]+)\}", text))
    assert used == set(MANIFEST["user_config"])


def test_variables_are_the_servers_own() -> None:
    """Every variable the bundle sets is one the server reads."""
    assert set(MANIFEST["server"]["mcp_config"]["env"]) <= ALIASES


def test_keys_are_sensitive_optional_strings_and_folders_can_be_many() -> None:
    """Both keys are masked and optional (each tool explains a missing key); allowed folders take several."""
    config = MANIFEST["user_config"]
    for key in ("mosaic_api_key", "motion_api_key"):
        assert config[key] == config[key] | {"type": "string", "sensitive": True, "required": False}
    assert config["allowed_dirs"]["type"] == "directory"
    assert config["allowed_dirs"]["multiple"] is True
    assert config["download_dir"]["type"] == "directory"
    assert config["read_only"]["type"] == "boolean"


def test_the_bundle_leaves_out_what_the_host_must_not_get() -> None:
    """.mcpbignore drops the venv, tests and the packer, and keeps the entry point (server type uv: no server/lib)."""
    patterns = (ROOT / ".mcpbignore").read_text().split()
    assert {".venv/", "server/lib/", "tests/", "packaging/*", f"!{MANIFEST['server']['entry_point']}"} <= set(patterns)


@pytest.mark.skipif(not PACKER.exists() or shutil.which("node") is None, reason="run scripts/bundle.sh once (npm ci)")
def test_the_pinned_packer_accepts_the_manifest() -> None:
    """`mcpb validate manifest.json` with the pinned packer passes."""
    result = subprocess.run(
        [str(PACKER), "validate", "manifest.json"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""Settings as bundle hosts hand them over: literal placeholders, blank fields, `${HOME}`, several folders."""

from pathlib import Path

import pytest

from mosaic_mcp.server.config import ConfigurationError, load_settings


def test_an_untouched_optional_key_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """MOTION_API_KEY holding the literal `${user_config.motion_api_key}` means no Motion key, not a bad one."""
    monkeypatch.setenv("MOTION_API_KEY", "${user_config.motion_api_key}")
    monkeypatch.setenv("MOSAIC_API_KEY", "${user_config.mosaic_api_key}")
    settings = load_settings()
    assert settings.motion_api_key is None
    assert settings.mosaic_api_key is None


def test_a_placeholder_in_any_setting_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Toolsets, read-only and the download folder left as placeholders take their defaults."""
    monkeypatch.setenv("MOSAIC_MCP_TOOLSETS", "${user_config.toolsets}")
    monkeypatch.setenv("MOSAIC_MCP_READ_ONLY", "${user_config.read_only}")
    monkeypatch.setenv("MOSAIC_MCP_DOWNLOAD_DIR", "${user_config.download_dir}")
    settings = load_settings()
    assert settings.toolsets == ["core"]
    assert settings.read_only is False
    assert settings.download_dir is None


def test_a_cleared_folder_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty MOSAIC_MCP_DOWNLOAD_DIR or MOSAIC_MCP_HOME means the default, not the current folder."""
    monkeypatch.setenv("MOSAIC_MCP_DOWNLOAD_DIR", "")
    monkeypatch.setenv("MOSAIC_MCP_HOME", "  ")
    settings = load_settings()
    assert settings.download_dir is None
    assert settings.home != Path()


def test_placeholder_folders_are_dropped_from_a_list() -> None:
    """`--allowed-dirs ${user_config.allowed_dirs}` (nothing chosen, no default) allows no extra folder."""
    settings = load_settings(allowed_dirs=["${user_config.allowed_dirs}"])
    assert settings.allowed_dirs == []


def test_host_folder_variables_are_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`${HOME}`, `${DESKTOP}`, `${DOCUMENTS}` and `${DOWNLOADS}` in folder settings become real folders."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MOSAIC_MCP_DOWNLOAD_DIR", "${DOWNLOADS}${/}Mosaic")
    monkeypatch.setenv("MOSAIC_MCP_HOME", "${HOME}/.mosaic")
    settings = load_settings(allowed_dirs=["${HOME}/Movies", "${DESKTOP}", "${DOCUMENTS}/clips"])
    assert settings.allowed_dirs == [tmp_path / "Movies", tmp_path / "Desktop", tmp_path / "Documents" / "clips"]
    assert settings.download_dir == tmp_path / "Downloads" / "Mosaic"
    assert settings.home == tmp_path / ".mosaic"


def test_several_folders_and_comma_lists_mean_the_same() -> None:
    """Folders given as several values (`--allowed-dirs /a /b,/c`) are each split on commas, like the variable."""
    settings = load_settings(allowed_dirs=["/a", "/b,/c"])
    assert settings.allowed_dirs == [Path("/a"), Path("/b"), Path("/c")]


def test_a_wrong_key_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only placeholders are forgiven: a key with the wrong prefix is still a configuration error."""
    monkeypatch.setenv("MOSAIC_API_KEY", "sk_not_a_mosaic_key")
    with pytest.raises(ConfigurationError, match="MOSAIC_API_KEY"):
        load_settings()

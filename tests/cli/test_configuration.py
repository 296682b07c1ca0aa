"""Configuration mistakes are refused offline, all at once, each naming its variable once."""

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from mosaic_mcp.server import redact
from mosaic_mcp.server.api import MosaicClient, MotionClient, RecordingSleep, RetryPolicy
from mosaic_mcp.server.api.errors import APIConnectionError
from mosaic_mcp.server.config import ConfigurationError, Settings, load_settings

from ..support.processes import free_port
from . import run

EXAMPLE = Path(__file__).parents[2] / "claude_desktop_config.example.json"


def example_placeholders() -> dict[str, str]:
    """The key placeholders of claude_desktop_config.example.json, by variable."""
    env = json.loads(EXAMPLE.read_text())["mcpServers"]["mosaic"]["env"]
    return {name: env[name] for name in ("MOSAIC_API_KEY", "MOTION_API_KEY")}


def test_every_configuration_error_is_reported_at_once(tmp_path: Path) -> None:
    """Four mistakes in four variables: serve exits 2 and lists each variable exactly once."""
    env = {
        "MOSAIC_MCP_HOME": str(tmp_path),
        "MOSAIC_MCP_TOOLSETS": "core,videos",
        "MOSAIC_API_KEY": "mk_",
        "MOSAIC_MCP_MAX_WAIT_SECONDS": "-1",
        "MOTION_API_BASE_URL": "api.motion.so/api/motion",
    }
    result = run(["serve"], env)
    assert result.returncode == 2
    assert "4 configuration errors" in result.stderr, result.stderr
    for variable in ("MOSAIC_MCP_TOOLSETS", "MOSAIC_API_KEY", "MOSAIC_MCP_MAX_WAIT_SECONDS", "MOTION_API_BASE_URL"):
        assert result.stderr.count(variable) == 1, result.stderr
    assert result.stdout == ""


def test_one_error_names_its_variable_once() -> None:
    """An unknown toolset reads `MOSAIC_MCP_TOOLSETS: unknown toolset(s) videos; …`, the name not repeated."""
    with pytest.raises(ConfigurationError) as refused:
        load_settings(toolsets="core,videos")
    assert refused.value.problems == [
        "MOSAIC_MCP_TOOLSETS: unknown toolset(s) videos; choose from core, agents, runs, assets, avatars, "
        "triggers, social, account or 'all'"
    ]


@pytest.mark.parametrize(
    ("variable", "key"),
    [
        ("MOSAIC_API_KEY", "mk_"),
        ("MOTION_API_KEY", "motion_"),
        ("MOSAIC_API_KEY", " mk_\n"),
        ("MOSAIC_API_KEY", "mk_…"),  # the README's examples
        ("MOTION_API_KEY", "motion_…"),
        *example_placeholders().items(),
    ],
)
def test_a_prefix_or_a_placeholder_is_not_a_key(variable: str, key: str) -> None:
    """A key that is only its prefix, or an example's placeholder, is a configuration error naming the variable."""
    with pytest.raises(ConfigurationError) as refused:
        load_settings(**{variable.lower(): key})
    (problem,) = refused.value.problems
    assert problem.startswith(f"{variable}: ")
    assert "prefix" in problem or "placeholder" in problem
    assert "dashboard" in problem


def test_doctor_refuses_the_example_placeholder_offline(tmp_path: Path) -> None:
    """The example config's placeholder key: doctor exits 2 with the fix before it calls any API."""
    env = {
        "MOSAIC_MCP_HOME": str(tmp_path),
        **example_placeholders(),
        "MOSAIC_API_BASE_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: a probe would say so
    }
    result = run(["doctor"], env)
    assert result.returncode == 2
    assert "MOSAIC_API_KEY: is still a placeholder" in result.stderr
    assert "MOTION_API_KEY: is still a placeholder" in result.stderr
    assert "Could not talk" not in result.stdout + result.stderr


def test_a_real_looking_key_is_never_echoed() -> None:
    """A Mosaic key in MOTION_API_KEY is refused, saying where it belongs, without quoting it."""
    with pytest.raises(ConfigurationError) as refused:
        load_settings(motion_api_key="mk_live_SECRET_canary_77")
    assert "MOTION_API_KEY" in str(refused.value) and "MOSAIC_API_KEY" in str(refused.value)
    assert "SECRET" not in str(refused.value)


@pytest.mark.parametrize("variable", ["MOSAIC_API_BASE_URL", "MOTION_API_BASE_URL"])
@pytest.mark.parametrize("url", ["api.mosaic.so", "ftp://api.mosaic.so", "https://"])
def test_a_base_url_must_be_http(variable: str, url: str) -> None:
    """A base URL without http:// or https:// (or without a host) is refused offline, naming the variable."""
    with pytest.raises(ConfigurationError) as refused:
        load_settings(**{variable.lower(): url})
    assert refused.value.problems == [
        f"{variable}: is not a URL this server can call: it must start with http:// or https://"
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("client_type", "variable"), [(MosaicClient, "MOSAIC_API_BASE_URL"), (MotionClient, "MOTION_API_BASE_URL")]
)
async def test_a_connection_error_names_the_base_url_variable(
    client_type: type[MosaicClient] | type[MotionClient], variable: str
) -> None:
    """Nothing listening at the base URL: the error names the variable to check, not "the base URL setting"."""
    retry = RetryPolicy(sleep=RecordingSleep())
    url = f"http://127.0.0.1:{free_port()}"
    async with client_type(
        api_key=SecretStr("mk_x" if client_type is MosaicClient else "motion_x"), base_url=url, retry=retry
    ) as client:
        with pytest.raises(APIConnectionError) as failed:
            await (client.whoami() if isinstance(client, MosaicClient) else client.get_session("s1"))
    assert f"check the network, and {variable} (the base URL) if you set it" in str(failed.value)


@pytest.mark.anyio
async def test_an_unsupported_protocol_says_the_url_must_be_http() -> None:
    """A client given a base URL without a scheme says MOSAIC_API_BASE_URL must start with http:// or https://."""
    retry = RetryPolicy(sleep=RecordingSleep())
    async with MosaicClient(api_key=SecretStr("mk_x"), base_url="api.mosaic.so", retry=retry) as client:
        with pytest.raises(APIConnectionError) as failed:
            await client.whoami()
    assert "(UnsupportedProtocol); MOSAIC_API_BASE_URL must start with http:// or https://" in str(failed.value)


@pytest.mark.parametrize("url", ["mysql://u:pw_canary_4242@db/x", "sqlite:///tmp/jobs.db", "pg.example:5432/jobs"])
def test_a_database_url_must_name_postgresql(url: str) -> None:
    """MOSAIC_MCP_DATABASE_URL other than postgresql:// or postgres:// is refused, naming it, never quoting it."""
    with pytest.raises(ConfigurationError) as refused:
        load_settings(database_url=url)
    [problem] = refused.value.problems
    assert problem.startswith("MOSAIC_MCP_DATABASE_URL: is not a PostgreSQL URL: it must start with postgresql://")
    assert "pw_canary" not in problem and url not in problem


def test_a_postgresql_url_is_kept_secret_and_its_password_scrubbed() -> None:
    """Both schemes are accepted; the URL is a secret (not in the settings' repr) and its password is scrubbed."""
    for scheme in ("postgresql", "postgres"):
        settings = load_settings(database_url=f"{scheme}://mosaic:pw_canary_5151@db.internal:5432/mosaic")
        assert settings.database_url is not None and "pw_canary" not in repr(settings)
    assert redact.scrub("auth failed for pw_canary_5151") == f"auth failed for {redact.REDACTED}"
    assert load_settings().database_url is None


@pytest.mark.parametrize(("size", "ok"), [("1", True), ("100", True), ("0", False), ("101", False), ("ten", False)])
def test_the_pool_size_is_bounded(size: str, ok: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """MOSAIC_MCP_DATABASE_POOL_SIZE takes 1 to 100 (default 10); anything else names the variable."""
    assert load_settings().database_pool_size == 10
    monkeypatch.setenv("MOSAIC_MCP_DATABASE_POOL_SIZE", size)
    if ok:
        assert load_settings().database_pool_size == int(size)
        return
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert [p.split(":")[0] for p in refused.value.problems] == ["MOSAIC_MCP_DATABASE_POOL_SIZE"]


@pytest.mark.parametrize("transport", [["serve"], ["serve", "--http", "--port", str(free_port())]])
def test_an_unreachable_database_stops_the_start_with_one_line(tmp_path: Path, transport: list[str]) -> None:
    """Serving (stdio or HTTP) with a PostgreSQL nobody answers at exits 2 with one line naming the host and
    database: no traceback, no password."""
    url = f"postgresql://mosaic:pw_canary_6262@127.0.0.1:{free_port()}/mosaic_jobs?connect_timeout=5"
    result = run(transport, {"MOSAIC_MCP_HOME": str(tmp_path), "MOSAIC_MCP_DATABASE_URL": url})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mosaic-mcp: configuration error: MOSAIC_MCP_DATABASE_URL: cannot reach PostgreSQL")
    assert "127.0.0.1" in lines[0] and "/mosaic_jobs" in lines[0]
    assert "pw_canary" not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_settings_read_each_variable_ignoring_case_and_a_given_value_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A variable is read whatever its case, a value given by name overrides it, and no .env file is read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("MOSAIC_MCP_READ_ONLY=true\nMOSAIC_MCP_TOOLSETS=all\n")
    monkeypatch.setenv("mosaic_mcp_toolsets", "runs, Social")
    monkeypatch.setenv("MOSAIC_MCP_POLL_INTERVAL", "7")
    monkeypatch.setenv("HOME_UNRELATED", "x")
    settings = load_settings()
    assert settings.toolsets == ["runs", "social"]
    assert settings.poll_interval_seconds == 7
    assert settings.read_only is False  # the .env file was not read
    assert load_settings(poll_interval_seconds=3).poll_interval_seconds == 3
    assert Settings(MOSAIC_MCP_POLL_INTERVAL="4").poll_interval_seconds == 4

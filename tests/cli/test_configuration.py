"""Configuration mistakes are refused offline, all at once, each naming its variable once."""

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from mosaic_mcp.server.api import MosaicClient, MotionClient, RecordingSleep, RetryPolicy
from mosaic_mcp.server.api.errors import APIConnectionError
from mosaic_mcp.server.config import ConfigurationError, load_settings

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

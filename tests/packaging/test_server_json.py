"""server.json (the MCP Registry entry) is valid against the registry's schema and matches the package.

The schema is a copy kept in docs/schemas/ (source URL and date in docs/schemas/README.md).
"""

import json
import re
import tomllib

from jsonschema import Draft7Validator, FormatChecker

from mosaic_mcp.server.config import Settings

from .host import ROOT

SERVER = json.loads((ROOT / "server.json").read_text())
SCHEMA = json.loads((ROOT / "docs" / "schemas" / "server.schema.json").read_text())
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_server_json_is_valid_against_the_registry_schema() -> None:
    """No schema error, formats (URIs) checked too."""
    errors = [e.message for e in Draft7Validator(SCHEMA, format_checker=FormatChecker()).iter_errors(SERVER)]
    assert errors == []
    assert SERVER["$schema"] == SCHEMA["$id"]


def test_the_schema_copy_rejects_what_the_registry_rejects() -> None:
    """The copy is the real one: a name without a slash and a 101-character description are refused."""
    validator = Draft7Validator(SCHEMA)
    assert not validator.is_valid({**SERVER, "name": "mcp-server-mosaic"})
    assert not validator.is_valid({**SERVER, "description": "x" * 101})


def test_the_package_is_this_distribution() -> None:
    """The PyPI package named is ours, at pyproject's exact version, run with uvx over stdio."""
    (package,) = SERVER["packages"]
    assert package["registryType"] == "pypi"
    assert package["identifier"] == PROJECT["name"] == "mcp-server-mosaic"
    assert package["version"] == SERVER["version"] == PROJECT["version"]
    assert package["runtimeHint"] == "uvx"
    assert package["transport"] == {"type": "stdio"}
    assert "mcp-server-mosaic" in PROJECT["scripts"]


def test_the_readme_carries_the_ownership_line() -> None:
    """The registry checks the package's README for `mcp-name: <server name>`."""
    readme = (ROOT / PROJECT["readme"]).read_text()
    assert re.search(rf"mcp-name: {re.escape(SERVER['name'])}\b", readme)


def test_environment_variables_are_the_servers_own_and_keys_are_secret() -> None:
    """Each variable listed is one Settings reads; the two keys are secret and optional."""
    variables = {v["name"]: v for v in SERVER["packages"][0]["environmentVariables"]}
    aliases = {str(field.validation_alias) for field in Settings.model_fields.values()}
    assert set(variables) <= aliases
    for key in ("MOSAIC_API_KEY", "MOTION_API_KEY"):
        assert variables[key]["isSecret"] is True
        assert variables[key]["isRequired"] is False

"""What a bundle host launches: the manifest's `mcp_config` with the user's settings substituted.

The rules, as the packer's own `getMcpConfigForManifest` applies them (CI runs that code itself, through
packaging/host_config.mjs; this copy lets the suite run without Node):

- `${user_config.NAME}` takes the user's value, else the manifest's default; booleans become "true"/"false";
- an argument that is exactly `${user_config.NAME}` with a list value expands into one argument per item
  (an empty list into none); with no value, or "", it stays the literal text;
- inside a string, a missing setting also stays literal (a list cannot be put in a string);
- `${HOME}`, `${DESKTOP}`… are replaced in the manifest's own text, not inside a default they come with.
"""

import json
import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((ROOT / "manifest.json").read_text())
ENTRY = MANIFEST["server"]["entry_point"]
_WHOLE = re.compile(r"\$\{(user_config\.[^}]+)\}")


def launch_config(user_config: dict[str, Any], extension_dir: Path, home: Path) -> dict[str, Any]:
    """The {command, args, env} the host starts for these settings."""
    variables: dict[str, str | list[str]] = {
        "__dirname": str(extension_dir),
        "HOME": str(home),
        "DESKTOP": str(home / "Desktop"),
        "DOCUMENTS": str(home / "Documents"),
        "DOWNLOADS": str(home / "Downloads"),
        "/": os.sep,
    }
    merged = {name: option["default"] for name, option in MANIFEST["user_config"].items() if "default" in option}
    for name, value in {**merged, **user_config}.items():
        if isinstance(value, list):
            variables[f"user_config.{name}"] = [str(item) for item in value]
        elif isinstance(value, bool):
            variables[f"user_config.{name}"] = "true" if value else "false"
        else:
            variables[f"user_config.{name}"] = str(value)
    config = MANIFEST["server"]["mcp_config"]
    args: list[str] = []
    for arg in config["args"]:
        whole = _WHOLE.fullmatch(arg)
        if whole is None:
            args.append(_substitute(arg, variables))
            continue
        value = variables.get(whole.group(1))
        if value is None or value == "":
            args.append(arg)
        elif isinstance(value, list):
            args.extend(value)
        else:
            args.append(value)
    env = {name: _substitute(text, variables) for name, text in config.get("env", {}).items()}
    return {"command": config["command"], "args": args, "env": env}


def _substitute(text: str, variables: dict[str, str | list[str]]) -> str:
    for name, value in variables.items():
        if isinstance(value, str):
            text = text.replace("${" + name + "}", value)
    return text


def server_arguments(config: dict[str, Any]) -> list[str]:
    """The arguments after `uv run … <entry point>`: what reaches the `mosaic-mcp` command line."""
    args: list[str] = config["args"]
    return args[args.index(ENTRY) + 1 :]

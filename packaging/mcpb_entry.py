"""The Claude Desktop bundle's entry point: `uv run packaging/mcpb_entry.py serve …` runs the installed CLI.

The bundle (manifest.json, server type `uv`) ships the source; uv installs the project from pyproject.toml
into the extension's own environment, and this file hands the command line to `mosaic-mcp`.
"""

import sys

from mosaic_mcp.server.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""mosaic-mcp: an MCP server for the Mosaic video-editing API and the Mosaic Motion API.

Everything that is not a tool lives below this package: configuration, the typed API clients,
the job journal and poller, the local-file bridge and the offline sandbox.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcp-server-mosaic")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]

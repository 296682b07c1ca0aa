"""The baseline for bench_startup.py: a bare one-tool MCPServer on stdio (no lifespan, no clients).

Run by bench_startup.py as `python bench/bare_server.py`; it is not a benchmark by itself.
"""

from mcp.server import MCPServer

mcp = MCPServer("bare", version="0.0.1", log_level="WARNING")


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


if __name__ == "__main__":
    mcp.run()  # stdio

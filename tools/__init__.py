"""MCP tools of mosaic-mcp, one module per domain. Tools are thin: validate, call, shape."""

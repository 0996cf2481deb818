"""A FastMCP server over the legacy HTTP+SSE transport (protocol 2024-11-05),
on 127.0.0.1. Usage: sse_server.py PORT. The SSE stream is GET /sse; messages
are POSTed to the endpoint its first event names (/messages/?session_id=…).
A POST to /sse (Streamable HTTP's first request) is refused with 405."""

import sys

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("python-sse", host="127.0.0.1", port=int(sys.argv[1]), log_level="WARNING")


@mcp.tool()
def echo(message: str) -> str:
    """Echo the message back."""
    return f"Echo: {message}"


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


if __name__ == "__main__":
    mcp.run(transport="sse")

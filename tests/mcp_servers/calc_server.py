"""A small MCP server for the tests, written with the mcp package's own server API (MCPServer).

    python calc_server.py                   # over stdio
    python calc_server.py --http PORT       # over streamable HTTP on 127.0.0.1:PORT/mcp

Every call it receives is appended as one JSON line to the file named by CALC_SERVER_LOG (when
set), so a test can assert what the server was sent. ``CALC_SERVER_PID`` names a file to write the
server's pid to, so a test can check the process is gone after a run.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys

from mcp.server.mcpserver import Image, MCPServer

server = MCPServer("calc")

# A 1x1 PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _log(tool: str, **args: object) -> None:
    path = os.environ.get("CALC_SERVER_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"tool": tool, "args": args, "pid": os.getpid()}) + "\n")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    _log("add", a=a, b=b)
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Return the text as it was sent."""
    _log("echo", text=text)
    return text


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleep for a number of seconds, then say so."""
    _log("sleep", seconds=seconds)
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def crash() -> str:
    """End the server process at once, without answering."""
    _log("crash")
    print("calc server: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
def pixel() -> Image:
    """A 1x1 PNG image."""
    _log("pixel")
    return Image(data=PIXEL, format="png")


@server.tool()
def secret_env() -> str:
    """The value of CALC_SECRET in the server's environment."""
    return os.environ.get("CALC_SECRET", "")


def main() -> None:
    pid_file = os.environ.get("CALC_SERVER_PID")
    if pid_file:
        with open(pid_file, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
    if os.environ.get("CALC_SERVER_FAIL"):
        print("calc server: refusing to start (CALC_SERVER_FAIL is set)", file=sys.stderr, flush=True)
        sys.exit(4)
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()


if __name__ == "__main__":
    main()

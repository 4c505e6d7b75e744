"""``agno-run serve``: the HTTP API and the session viewer over one or several team files."""

from __future__ import annotations

import ipaddress
import os

import click

from ..errors import UsageError
from .app import cli, err

API_KEY_ENV = "AGNO_RUN_API_KEY"

SERVE_EPILOG = """\b
Examples:
  agno-run serve teams/multilingual.yaml --model echo          # then open http://127.0.0.1:8000/ui/
  AGNO_RUN_API_KEY=s3cret agno-run serve teams/*.yaml --host 0.0.0.0 --port 8080
  curl -s localhost:8000/teams/multilingual-team/runs -d '{"message": "hi", "user_id": "u1"}'

\b
The user id comes from each request. Behind a proxy that authenticates people, pass
--trust-user-header X-Forwarded-User so the proxy's header names the user; without one, put your own
authentication in front when the callers are not trusted.
"""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@cli.command(epilog=SERVE_EPILOG)
@click.argument(
    "team_files", nargs=-1, required=True, metavar="TEAM.yaml...", type=click.Path(dir_okay=False)
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free one)."
)
@click.option("--db", metavar="PATH", help="Store for every team (default: each team file's own).")
@click.option("--model", "model_override", metavar="MODEL", help="Replace every model (e.g. echo, offline).")
@click.option(
    "--trust-user-header",
    metavar="NAME",
    help="Take the user id from this request header, set by a trusted proxy.",
)
@click.option("--insecure", is_flag=True, help=f"Listen on a non-loopback address without {API_KEY_ENV}.")
@click.option(
    "--threads", default=64, show_default=True, type=click.IntRange(1, 1024), help="Turns running at once."
)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Server processes sharing the port (one per core uses every core: a turn's own work holds one).",
)
def serve(
    team_files: tuple[str, ...],
    host: str,
    port: int,
    db: str | None,
    model_override: str | None,
    trust_user_header: str | None,
    insecure: bool,
    threads: int,
    processes: int,
) -> None:
    """Serve team files over HTTP: runs (JSON or Server-Sent Events), sessions, an OpenAI-compatible
    /v1/chat/completions, an OpenAPI description, and the session viewer at /ui/.

    With AGNO_RUN_API_KEY set, every route but /health and /ui needs Authorization: Bearer <key>.
    """
    api_key = os.environ.get(API_KEY_ENV) or None
    if not api_key and not _loopback(host) and not insecure:
        raise UsageError(
            f"refusing to listen on {host} without an API key: anyone who reaches it could read every "
            f"session; set {API_KEY_ENV}, listen on 127.0.0.1, or pass --insecure behind your own auth"
        )
    try:
        import uvicorn

        from ..server import TeamRegistry, create_app
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise UsageError(
            f"agno-run serve needs the server extra: pip install 'agno-yaml[server]' ({exc})"
        ) from None
    registry = TeamRegistry(list(team_files), db=db, model=model_override)  # every file checked here
    if processes > 1:
        import json

        from ..server.factory import CONFIG_ENV

        if port == 0:
            raise UsageError("--processes needs a fixed --port: each process must listen on the same one")
        files = [str(served.path) for served in registry.served.values()]
        os.environ[CONFIG_ENV] = json.dumps(
            {
                "files": files,
                "db": db,
                "model": model_override,
                "trust_user_header": trust_user_header,
                "threads": threads,
            }
        )
        err(
            f"serving {', '.join(registry.served)} on http://{host}:{port} with {processes} processes (viewer: /ui/)"
        )
        uvicorn.run(
            "agno_yaml.server.factory:app", factory=True, host=host, port=port, workers=processes,
            log_level="warning", lifespan="off",
        )  # fmt: skip
        return
    registry.warm()
    app = create_app(registry, api_key=api_key, trust_user_header=trust_user_header, threads=threads)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)

    original = server.startup

    async def startup(sockets: object = None) -> None:
        await original(sockets)  # type: ignore[arg-type]
        for listener in server.servers:
            for sock in listener.sockets:
                bound = sock.getsockname()
                teams = ", ".join(registry.served)
                err(f"serving {teams} on http://{bound[0]}:{bound[1]} (viewer: /ui/, API: /openapi.json)")

    server.startup = startup  # type: ignore[method-assign]
    server.run()

"""Server throughput: turns per second and latency with 1, 8 and 32 concurrent clients.

    python bench/server.py [--turns 8] [--latency 0.2]

`agno-run serve` runs as its own process on 127.0.0.1; each client is an asyncio task posting
--turns turns to its own session (POST /teams/{id}/runs, not streamed). Two teams are measured:
  offline   --model echo: the server's own cost per turn (parsing, the run loop, the TinyDB store)
  latency   a model behind the real litellm path that takes --latency seconds per answer (the
            tests' fake OpenAI server, made to wait): 32 clients must get close to 32 turns per
            --latency seconds, which they only do if waiting models do not serialise the server.
Printed: turns/s, p50 and p99 latency per concurrency. Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


AGNO_RUN = str(Path(sys.executable).with_name("agno-run"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(team: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port() if "--processes" in extra else 0
    proc = subprocess.Popen(
        [AGNO_RUN, "serve", str(team), "--port", str(port), *extra], stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    found = re.search(r"http://[\d.]+:\d+", line)
    if not found:
        proc.kill()
        raise SystemExit(f"the server did not start: {line}")
    return proc, found.group(0)


def wait_ready(base: str) -> None:
    """Until /health answers (several processes start one after the other)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(base + "/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the server did not answer /health")
        time.sleep(0.1)


async def load(base: str, team_id: str, clients: int, turns: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    async with httpx.AsyncClient(
        base_url=base, timeout=120, limits=httpx.Limits(max_connections=clients)
    ) as http:

        async def client(n: int) -> None:
            for _ in range(turns):
                started = time.perf_counter()
                response = await http.post(
                    f"/teams/{team_id}/runs",
                    json={"message": "hi", "user_id": f"u{n}", "session_id": f"c{n}"},
                )
                assert response.json()["status"] == "completed", response.text
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        return time.perf_counter() - started, latencies


def report(title: str, base: str, team_id: str, turns: int) -> None:
    print(title)
    for clients in (1, 8, 32):
        took, latencies = asyncio.run(load(base, team_id, clients, turns))
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"  {clients:>2} clients: {len(latencies) / took:7.1f} turns/s   "
            f"p50 {statistics.median(latencies) * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   ({len(latencies)} turns)"
        )


FAKE = """
import sys, threading
sys.path.insert(0, {tests!r})
from fake_openai import FakeOpenAI
fake = FakeOpenAI().start()
fake.latency = {latency!r}
print(fake.base_url, flush=True)
threading.Event().wait()
"""


def fake_model(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The fake model server in a process of its own: sharing the load generator's interpreter, its
    threads would compete with it for one lock and slow both."""
    code = FAKE.format(tests=str(ROOT / "tests"), latency=latency)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=8, help="turns per client")
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    model, base_url = fake_model(args.latency)
    try:
        with tempfile.TemporaryDirectory(prefix="agno-bench-") as folder:
            team = Path(folder) / "team.yaml"
            team.write_text(
                f"name: Bench\nmodel: {{id: openai/x, api_base: '{base_url}', api_key: k, timeout: 60}}\n"
                f"db: {{path: {folder}/db}}\n"
            )
            runs = [
                (
                    "offline (--model echo): the server's own cost",
                    ["--model", "echo", "--db", f"{folder}/offline"],
                ),
                (f"a model that takes {args.latency:g} s per answer (litellm path), 1 process", []),
                (
                    f"a model that takes {args.latency:g} s per answer (litellm path), 2 processes",
                    ["--processes", "2"],
                ),
            ]
            for number, (title, extra) in enumerate(runs):
                proc, base = serve(team, *extra)
                try:
                    wait_ready(base)
                    report(title, base, "bench", args.turns if number == 0 else max(2, args.turns // 2))
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
    finally:
        model.terminate()


if __name__ == "__main__":
    os.environ.setdefault("AGNO_RUN_NO_WORKER", "1")
    main()

"""Wall time of a cold one-shot turn through litellm: a whole ``agno-run`` process, start to exit.

    python bench/cold.py [--runs 10] [--agno-python /path/to/venv/bin/python]

Each run is a fresh process of the installed console script,
``agno-run TEAM.yaml "hi" --no-stream -s sN``, for a single agent whose model
(``openai/x``) is the tests' loopback server (sub-millisecond answers), storing the turn in a new
session. So the time is Python's start, our imports, importing litellm, the first request, storing
the session and the exit: everything but a provider's latency.

With ``--agno-python`` (an interpreter that can ``import agno``; agno is not a dependency of this
project, install it in a separate venv: ``python -m venv /tmp/agno-venv &&
/tmp/agno-venv/bin/pip install agno openai``), the same turn is also run as a one-shot Agno
script (an ``Agent`` with ``OpenAIChat`` against the same server, a ``JsonDb`` store, telemetry
off), alternating with ``agno-run`` run by run so that machine noise hits both alike. Without
it, the Agno column is skipped.

Printed: median, min and max wall time per command, and for reference the time of the turn itself
inside the process (``agno-run``'s footer; Agno's ``agent.run`` timed in the script). For
``agno-run`` that includes importing litellm, which happens at the first model call.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from cli_start import agno_run  # noqa: E402 - bench/ is on the path when a bench script runs
from fake_openai import FakeOpenAI  # noqa: E402

TEAM = """\
name: Cold Agent
description: You are a helpful assistant.
model: {{id: openai/x, api_base: "{base}", api_key: k}}
db: {{path: "{db}"}}
"""

# The equivalent turn in Agno: one agent, one model, a file store, one run, the answer printed.
AGNO_SCRIPT = """\
import sys
import time

from agno.agent import Agent
from agno.db.json import JsonDb
from agno.models.openai import OpenAIChat

base, db, session = sys.argv[1:4]
agent = Agent(
    model=OpenAIChat(id="x", base_url=base, api_key="k"),
    db=JsonDb(db_path=db),
    description="You are a helpful assistant.",
    telemetry=False,
)
start = time.perf_counter()
out = agent.run("hi", user_id="default", session_id=session, stream=False)
elapsed = time.perf_counter() - start
print(out.content)
print(f"turn {elapsed:.3f} s", file=sys.stderr)
"""

FOOTER = re.compile(r"· (\d+(?:\.\d+)?) (ms|s)\]")
AGNO_TURN = re.compile(r"^turn (\d+\.\d+) s$", re.MULTILINE)  # printed by AGNO_SCRIPT


def timed(argv: list[str], env: dict[str, str], turn_time: re.Pattern[str]) -> tuple[float, float | None]:
    """Wall time of one process, and the turn time it reported (None if it did not say)."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0 or "hi" not in done.stdout:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    found = turn_time.search(done.stderr)
    if found is None:
        return wall, None
    unit = found.group(2) if found.lastindex == 2 else "s"
    return wall, float(found.group(1)) / (1000 if unit == "ms" else 1)


def summary(name: str, walls: list[float], turns: list[float | None]) -> str:
    line = (
        f"  {name:<9} median {statistics.median(walls):.2f} s  (min {min(walls):.2f}, max {max(walls):.2f})"
    )
    known = [t for t in turns if t is not None]
    if known:
        line += f"   turn in process: median {statistics.median(known):.2f} s"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--agno-python", metavar="PATH", help="an interpreter that can import agno")
    args = parser.parse_args()

    # Cold means no warm worker either (agno-run worker start), should one be running.
    env = dict(os.environ, AGNO_TELEMETRY="false", AGNO_RUN_NO_WORKER="1")
    with FakeOpenAI() as server, tempfile.TemporaryDirectory() as tmp:
        team = Path(tmp) / "cold.yaml"
        team.write_text(TEAM.format(base=server.base_url, db=Path(tmp) / "store"))
        ours = [*agno_run(), str(team), "hi", "--no-stream", "-s"]
        commands: dict[str, tuple[list[str], re.Pattern[str]]] = {"agno-run": (ours, FOOTER)}
        if args.agno_python:
            script = Path(tmp) / "agno_one_shot.py"
            script.write_text(AGNO_SCRIPT)
            base = [args.agno_python, str(script), server.base_url, str(Path(tmp) / "agno-db")]
            commands["agno"] = (base, AGNO_TURN)

        for argv, pattern in commands.values():  # page cache, .pyc files, the stores' folders
            timed([*argv, "warm-up"], env, pattern)
        walls: dict[str, list[float]] = {name: [] for name in commands}
        turns: dict[str, list[float | None]] = {name: [] for name in commands}
        order = list(commands)
        for n in range(1, args.runs + 1):
            for name in order if n % 2 else reversed(order):  # alternate who goes first
                argv, pattern = commands[name]
                wall, turn = timed([*argv, f"s{n}"], env, pattern)
                walls[name].append(wall)
                turns[name].append(turn)

    print(f"cold one-shot turn, whole process, loopback server, {args.runs} runs each")
    for name in commands:
        print(summary(name, walls[name], turns[name]))
    if not args.agno_python:
        print("  agno      skipped (no --agno-python given)")


if __name__ == "__main__":
    main()

"""Per-turn overhead of a real team turn, in process, against an OpenAI-compatible server on loopback.

    python bench/turn.py [--turns 1000] [--fresh 30]

A single agent with ``add_history_to_context`` and ``num_history_runs: 3`` talks through the real
litellm path to the tests' fake server (sub-millisecond answers), saving every turn in a TinyDB store.
Printed: the median wall time of ``Team.run`` at turn 1 (over ``--fresh`` new sessions) and around
turns 100, 300 and 1000 of one session (the 25 turns ending there). Reference, measured the same
way on this machine: Agno 3.1.10 took 14.7 ms at turn 1 and 32 ms at turn 300.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI  # noqa: E402

from agno_yaml.config import load_team  # noqa: E402
from agno_yaml.runtime.compile import compile_team  # noqa: E402

TEAM = """\
name: Bench Agent
description: You are a helpful assistant.
add_history_to_context: true
num_history_runs: 3
model: {{id: openai/bench-model, api_base: "{base}", api_key: not-a-key}}
db: {{path: "{db}"}}
"""


WINDOW = 25  # turns ending at each checkpoint whose median is reported


def timed(team, message: str, session: str) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = team.run(message, user_id="bench", session_id=session)
    elapsed = time.perf_counter() - start
    if not out.ok:
        raise SystemExit(f"turn failed: {out.run.error}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--fresh", type=int, default=50, help="new sessions measured for turn 1")
    args = parser.parse_args()
    checkpoints = [n for n in (100, 300, 1000) if n <= args.turns]

    with FakeOpenAI() as server, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(TEAM.format(base=server.base_url, db=Path(tmp) / "store"))
        team = compile_team(load_team(path))
        for i in range(5):  # pay litellm's import and first-call costs before measuring
            timed(team, f"warm-up {i}", "warm-up")

        # Fresh sessions (turn 1) are measured in between the long session's turns, so that both are
        # sampled over the same stretch of time and machine noise hits them alike.
        every = max(1, args.turns // args.fresh)
        first: list[float] = []
        long_session: list[float] = []
        for n in range(1, args.turns + 1):
            long_session.append(timed(team, f"Question number {n}: tell me something.", "long"))
            if n % every == 0 and len(first) < args.fresh:
                first.append(timed(team, "Hello, how are you today?", f"fresh-{n}"))

    results = {1: statistics.median(first)}
    for n in checkpoints:
        results[n] = statistics.median(long_session[max(0, n - WINDOW) : n])
    print("per-turn overhead, single agent, history 3, loopback server (median ms)")
    for n, ms in results.items():
        print(f"  turn {n:>5}: {ms:6.2f} ms")
    last = results[checkpoints[-1]] if checkpoints else results[1]
    print(
        f"  growth turn 1 -> {checkpoints[-1] if checkpoints else 1}: {last / results[1]:.2f}x (goal <= 1.2x)"
    )


if __name__ == "__main__":
    main()

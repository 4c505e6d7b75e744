"""`agno-run test` over the example conversations (tests/conversations/).

    python bench/conversations.py [--runs 5] [--latency 0.05]

Prints (medians, wall time):
  process    `agno-run test tests/conversations/` as CI runs it, --jobs 1 and --jobs 2, and the same
             command with -k choosing one conversation: the difference is what the other
             conversations cost, the rest is start-up, paid once per invocation
  in-process run_conversations() on the loaded files (start-up excluded), --jobs 1 and 2
  latency    the same with every model call taking --latency seconds (an echo model that waits, as
             a provider does): what --jobs buys with real models
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agno_yaml.conversations import RunOptions, conversation_files, load_conversations, run_conversations  # noqa: E402
from agno_yaml.messages import Completion, Message  # noqa: E402
from agno_yaml.models import OnText, register_model  # noqa: E402
from agno_yaml.models.offline import EchoModel  # noqa: E402

EXAMPLES = ROOT / "tests" / "conversations"
AGNO_RUN = str(Path(sys.executable).with_name("agno-run"))


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def process(*args: str) -> None:
    done = subprocess.run([AGNO_RUN, "test", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(
            f"agno-run test {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )


class WaitingEcho(EchoModel):
    """Echo that takes ``latency`` seconds per call, as a provider's round trip does."""

    latency = 0.05

    def complete(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None = None,
        stream: bool = False, on_text: OnText | None = None,
    ) -> Completion:  # fmt: skip
        time.sleep(self.latency)
        return super().complete(messages, tools, stream, on_text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()

    paths = conversation_files([str(EXAMPLES)])
    files = [load_conversations(p) for p in paths]
    conversations = sum(len(f.conversations) for f in files)
    turns = sum(len(c.turns) for f in files for c in f.conversations)
    print(f"{len(files)} files, {conversations} conversations, {turns} turns")

    one = "french user keeps context"
    for label, extra in (
        ("--jobs 1", ["--jobs", "1"]),
        ("--jobs 2", ["--jobs", "2"]),
        ("-k one", ["-k", one]),
    ):
        seconds = median_seconds(lambda extra=extra: process(str(EXAMPLES), *extra), args.runs)
        print(f"process     agno-run test tests/conversations/ {label:<9} {seconds * 1000:7.0f} ms")

    for jobs in (1, 2):
        seconds = median_seconds(lambda jobs=jobs: run_conversations(files, RunOptions(jobs=jobs)), args.runs)
        print(f"in-process  run_conversations --jobs {jobs}                 {seconds * 1000:7.1f} ms")

    WaitingEcho.latency = args.latency
    register_model("waiting-echo", lambda spec: WaitingEcho())
    waiting = [load_conversations(p, model="waiting-echo") for p in paths]
    for jobs in (1, 2, 4, 8):
        seconds = median_seconds(
            lambda jobs=jobs: run_conversations(waiting, RunOptions(jobs=jobs)), max(1, args.runs // 2)
        )
        print(
            f"latency     {args.latency * 1000:.0f} ms per model call, --jobs {jobs}         {seconds:7.2f} s"
        )


if __name__ == "__main__":
    main()

"""Session commands at scale: a user with 10,000 sessions in a store of 20,000.

    python bench/sessions.py [--mine 10000] [--others 10000] [--runs 7]

Prints (medians, wall time):
  create   saving the first turn of a new session, at the user's 11th-30th session and at the
           10,001st-10,020th: it must not grow with the user's sessions (goal: at most 1.2x)
  list     `agno-run sessions list` (a whole process, output piped) and store.list_sessions()
  search   `agno-run sessions search` (a whole process) and store.search_sessions()
  continue store.latest_session() (what --continue asks) and the previous-sessions tool
           (get_previous_session_messages, 20 sessions), which read only what they show
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agno_yaml.messages import Message, RunRecord  # noqa: E402
from agno_yaml.store.tinydb import TinyDBStore  # noqa: E402
from agno_yaml.tools.session import SessionContext, get_previous_session_messages  # noqa: E402

USER = "bench@example.com"
TOPICS = [
    "invoice",
    "holiday",
    "printer",
    "contract",
    "recipe",
    "garden",
    "flight",
    "budget",
    "python",
    "bicycle",
]


def run(session_id: str, user: str, n: int) -> RunRecord:
    question = f"Question {n} about the {TOPICS[n % len(TOPICS)]}: what should I do next, and why?"
    answer = f"About the {TOPICS[(n * 7) % len(TOPICS)]}: first check the details, then decide. " * 4
    return RunRecord(
        f"r{n}", session_id, user, question, content=answer,
        messages=[Message("user", question), Message("assistant", answer)], model="echo",
    )  # fmt: skip


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f} ms"


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def cli(*args: str) -> float:
    script = Path(sys.executable).with_name("agno-run")
    start = time.perf_counter()
    subprocess.run([str(script), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mine", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7, help="samples of each read (default 7)")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="agno-sessions-bench-")
    try:
        store = TinyDBStore(root)
        early: list[float] = []
        late: list[float] = []
        began = time.perf_counter()
        for k in range(args.mine + 20):
            sid = f"mine-{k:06d}"
            elapsed = timed(lambda s=sid, n=k: store.append_runs(s, USER, "bench-team", [run(s, USER, n)]))
            if 10 <= k < 30:
                early.append(elapsed)
            elif k >= args.mine:
                late.append(elapsed)
            if k < args.others:  # interleave the other users' sessions, as a shared store fills
                other = f"other-{k:06d}"
                user = f"user-{k % 50}@example.com"
                store.append_runs(other, user, "bench-team", [run(other, user, k)])
        print(
            f"store filled: {args.mine + 20} sessions of {USER}, {args.others} of 50 other users ({time.perf_counter() - began:.0f} s)"
        )
        ratio = statistics.median(late) / statistics.median(early)
        print(
            f"  create   11th-30th session {median_ms(early)} | {args.mine + 1}th-{args.mine + 20}th {median_ms(late)} | {ratio:.2f}x (goal <= 1.2x)"
        )
        common = ["--db", root, "-u", USER]
        print(
            f"  list     CLI {median_ms([cli('sessions', 'list', *common) for _ in range(args.runs)])} | library {median_ms([timed(lambda: store.list_sessions(USER)) for _ in range(args.runs)])}  (goal < 500 ms)"
        )
        print(
            f"  search   CLI {median_ms([cli('sessions', 'search', 'printer next', *common) for _ in range(args.runs)])} | library {median_ms([timed(lambda: store.search_sessions(USER, 'printer next')) for _ in range(args.runs)])}  (goal < 500 ms)"
        )
        ctx = SessionContext(store, "mine-000000", USER, None, (), 20)
        print(
            f"  continue latest_session {median_ms([timed(lambda: store.latest_session(USER, 'bench-team')) for _ in range(args.runs)])} | previous-sessions tool (20) {median_ms([timed(lambda: get_previous_session_messages(ctx, 'bench-team')) for _ in range(args.runs)])}"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

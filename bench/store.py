"""How long the session store takes per turn, as sessions grow and as the store fills up.

    python bench/store.py [--samples N] [--root DIR]

Prints median (and max) milliseconds for:
  append   - saving one realistic ~2 KB run (fsync included) to a session that already has L runs
  read3    - reading the last 3 top-level runs of that session (what history needs)
  turn     - read3 + append, the store's share of one turn
at session lengths L = 1, 100, 300, 1000, in a store with 1 other session and with 1000.
L = 1 is the first save of a new session (it creates the session and the user's index entry).
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agno_yaml.messages import Message, RunRecord, ToolCall, ToolExecution, Usage  # noqa: E402
from agno_yaml.store import new_session_id  # noqa: E402
from agno_yaml.store.tinydb import TinyDBStore as SessionStore  # noqa: E402

USER = "bench@example.com"
LENGTHS = (1, 100, 300, 1000)
_counter = itertools.count()


def realistic_run(session_id: str, user_id: str, parent: str | None = None) -> RunRecord:
    """About 2 KB stored: a question, a delegation with its tool call and result, an answer."""
    n = next(_counter)
    question = f"Turn {n}: could you compare the two proposals we discussed and say which is cheaper?"
    answer = (
        "Proposal A costs less up front, but B has lower running costs; over three years B is "
        "cheaper by about 12 percent, assuming the usage figures you gave earlier stay the same. "
    ) * 3
    call = ToolCall(
        f"call-{n}", "delegate_task_to_member", '{"member_id": "analyst", "task": "compare costs"}'
    )
    return RunRecord(
        run_id=f"run-{n:08d}",
        session_id=session_id,
        user_id=user_id,
        input=question,
        parent_run_id=parent,
        member="analyst" if parent else None,
        content=answer,
        messages=[
            Message("user", question),
            Message("assistant", None, tool_calls=[call]),
            Message("tool", answer[:300], tool_call_id=call.id, name=call.name),
            Message("assistant", answer),
        ],
        tool_calls=[ToolExecution(call.id, call.name, call.arguments, result=answer[:300], duration=0.8)],
        usage=Usage(812, 143, 955, 0.00042),
        duration=1.3,
        model="openai/gpt-5-mini",
    )


def grow(store: SessionStore, session_id: str, target: int) -> None:
    """Bring the session to ``target`` runs; every third run is a member run of the one before."""
    have = info.run_count if (info := store.get_session(session_id, USER)) else 0
    while have < target:
        batch = []
        for i in range(have, min(target, have + 30)):
            parent = f"run-{next(_counter):08d}" if i % 3 == 2 else None
            batch.append(realistic_run(session_id, USER, parent))
        store.append_runs(session_id, USER, "bench-team", batch)
        have += len(batch)


def read3(store: SessionStore, session_id: str) -> list[RunRecord]:
    out: list[RunRecord] = []
    for run in store.iter_runs_newest_first(session_id, USER):
        if run.parent_run_id is None:
            out.append(run)
            if len(out) == 3:
                break
    return out


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def fill_others(store: SessionStore, count: int) -> None:
    """``count`` other sessions (3 runs each), spread over 20 users, 1 in 20 owned by the bench user."""
    for k in range(count):
        user = USER if k % 20 == 0 else f"user-{k % 20}@example.com"
        sid = f"other-{k:05d}"
        store.append_runs(sid, user, "bench-team", [realistic_run(sid, user) for _ in range(3)])


def bench_store(root: str, others: int, samples: int) -> list[tuple[int, float, float, float, float, float]]:
    store = SessionStore(root)
    fill_others(store, others)
    # Let the filesystem write back the fill before timing; otherwise its journal commits land
    # in the first measurements (seen as 10-60 ms spikes).
    os.sync()
    time.sleep(1.0)
    rows = []
    for length in LENGTHS:
        appends: list[float] = []
        reads: list[float] = []
        if length == 1:
            # Turn 1 is a first save; measure it on fresh sessions.
            for _ in range(samples):
                sid = new_session_id() + "-" + str(next(_counter))
                appends.append(
                    timed(lambda s=sid: store.append_runs(s, USER, "bench-team", [realistic_run(s, USER)]))
                )
                reads.append(timed(lambda s=sid: read3(store, s)))
        else:
            sid = f"long-{others}"
            grow(store, sid, length - 1)
            for _ in range(samples):  # consecutive turns, so every fill level of the last segment shows up
                reads.append(timed(lambda s=sid: read3(store, s)))
                appends.append(
                    timed(lambda s=sid: store.append_runs(s, USER, "bench-team", [realistic_run(s, USER)]))
                )
        turns = [a + r for a, r in zip(appends, reads, strict=True)]
        rows.append(
            (
                length,
                statistics.median(appends),
                max(appends),
                statistics.median(reads),
                max(reads),
                statistics.median(turns),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=31, help="appends/reads timed per point (default 31)")
    parser.add_argument("--root", default=None, help="directory for the scratch stores (default: a temp dir)")
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="agno-store-bench-", dir=args.root)
    size = len(json.dumps(realistic_run("s", USER).to_dict()))
    print(f"run size ~{size} bytes; {args.samples} samples per point; scratch dir {base}")
    try:
        results = {}
        for others in (1, 1000):
            t0 = time.perf_counter()
            results[others] = bench_store(os.path.join(base, f"others-{others}"), others, args.samples)
            print(f"  ({others} other sessions: whole run {time.perf_counter() - t0:.1f} s)")
        print()
        print(
            f"{'others':>6} {'length':>6} | {'append med':>10} {'max':>6} | {'read3 med':>9} {'max':>6} | {'turn med':>8}"
        )
        for others, rows in results.items():
            for length, a_med, a_max, r_med, r_max, t_med in rows:
                print(
                    f"{others:>6} {length:>6} | {a_med:>10.3f} {a_max:>6.2f} | {r_med:>9.3f} {r_max:>6.2f} | {t_med:>8.3f}"
                )
        for others, rows in results.items():
            first, last = rows[0][5], rows[-1][5]
            print(f"turn at L=1000 / L=1 with {others} other sessions: {last / first:.2f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()

"""What the TinyDB store keeps when many processes write at once and when writers are killed.

    python bench/reliability.py [--procs 8] [--turns 50] [--kills 200]

1. ``--procs`` processes each run ``--turns`` real turns (a broadcast team of two members on the
   offline echo model: 3 runs per turn) into ONE shared session, then into one session each;
   prints runs kept vs sent and whether each writer's turns kept their order.
2. A writer appends such turns (with big runs, so turns keep crossing segment boundaries) and is
   killed with SIGKILL at a random moment, ``--kills`` times; after every kill each stored leader
   run's member runs must all be stored too. Prints the number of partly stored turns (must be 0)
   and whether every file still parses.
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agno_yaml.config import load_team_text  # noqa: E402
from agno_yaml.runtime.compile import compile_team  # noqa: E402
from agno_yaml.store.tinydb import TinyDBStore  # noqa: E402

TEAM = """\
name: Bench Broadcast
model: echo
delegate_task_to_all_members: true
members:
  - {name: A, role: first}
  - {name: B, role: second}
"""


def _team(db: str):  # type: ignore[no-untyped-def]
    return compile_team(load_team_text(TEAM, "bench.yaml"), db=db)


def _writer(
    db: str, worker: int, turns: int, session: str | None, start: multiprocessing.synchronize.Event
) -> None:
    team = _team(db)
    start.wait()
    for i in range(turns):
        team.run(f"w{worker}-t{i}", user_id="bench", session_id=session or f"own-{worker}")


def concurrency(procs: int, turns: int, shared: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = multiprocessing.get_context("spawn")
        start = ctx.Event()
        workers = [
            ctx.Process(target=_writer, args=(tmp, w, turns, "shared" if shared else None, start))
            for w in range(procs)
        ]
        for p in workers:
            p.start()
        began = time.perf_counter()
        start.set()
        for p in workers:
            p.join()
        elapsed = time.perf_counter() - began
        store = TinyDBStore(tmp)
        sessions = ["shared"] if shared else [f"own-{w}" for w in range(procs)]
        leaders = [r for s in sessions for r in store.runs(s, "bench") if r.parent_run_id is None]
        in_order = all(
            [r.input for r in leaders if r.input.startswith(f"w{w}-")] == [f"w{w}-t{i}" for i in range(turns)]
            for w in range(procs)
        )
        where = "one shared session" if shared else f"{procs} sessions"
        print(
            f"  {procs} processes x {turns} turns into {where}: {len(leaders)} of {procs * turns} turns kept, "
            f"each writer's turns in order: {in_order}, exit codes {sorted({p.exitcode for p in workers})}, "
            f"{elapsed:.1f} s"
        )


def _forever(db: str) -> None:
    store = TinyDBStore(db)
    from agno_yaml.messages import RunRecord

    i = 0
    while True:
        leader = RunRecord(f"L{i}", "k", "bench", f"turn {i}", content="x" * 3000)
        members = [
            RunRecord(
                f"M{i}-{m}",
                "k",
                "bench",
                "task",
                parent_run_id=leader.run_id,
                member=f"m{m}",
                content="y" * 3000,
            )
            for m in range(2)
        ]
        store.append_runs("k", "bench", "t", [leader, *members])
        i += 1


def kills(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = multiprocessing.get_context("spawn")
        partial = 0
        bad_files = 0
        for _ in range(count):
            p = ctx.Process(target=_forever, args=(tmp,))
            p.start()
            time.sleep(random.uniform(0.3, 0.9))  # the writer's own start-up, then a random moment
            os.kill(p.pid, signal.SIGKILL)
            p.join()
            for path in Path(tmp).rglob("*.json"):
                if not path.name.startswith(".tmp-"):
                    try:
                        json.loads(path.read_text())
                    except ValueError:
                        bad_files += 1
            runs = TinyDBStore(tmp).runs("k", "bench")
            ids = {r.run_id for r in runs}
            partial = sum(
                1
                for r in runs
                if r.parent_run_id is None and not {f"M{r.run_id[1:]}-0", f"M{r.run_id[1:]}-1"} <= ids
            )
        print(
            f"  {count} SIGKILLs during turns of 3 runs (~9 KB, crossing segments): {len(runs) // 3} turns stored, "
            f"{partial} stored partly (must be 0), {bad_files} files that do not parse"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--kills", type=int, default=200)
    args = parser.parse_args()
    print("concurrent writers (real turns, offline echo model, TinyDB store)")
    concurrency(args.procs, args.turns, shared=True)
    concurrency(args.procs, args.turns, shared=False)
    print("kill -9 during turns")
    kills(args.kills)


if __name__ == "__main__":
    main()

"""The PostgreSQL store: per-turn cost as a session and the table grow, and throughput of concurrent
writers against the TinyDB store, measured the same way.

    python bench/postgres.py [--url postgresql://...] [--others 100000] [--turns 40]

Without --url a throwaway server is started from Debian's PostgreSQL binaries (tests/pgkit.py).
Printed (medians):
  store cost   one turn's store work, as the run loop does it: read the history window (the newest
               3 runs) and append the turn's run; at turn 1 and around turn 1,000 of one session, and
               with 1 and with --others other sessions (one run each) in the tables
  throughput   turns per second (a team with the offline echo model, history on) with 1, 4 and 16
               writer processes on different sessions, each --turns turns, on PostgreSQL and on TinyDB
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from storekit import make_run  # noqa: E402

from agno_yaml.store import SessionStore, open_store  # noqa: E402

USER = "bench-user"


def turn_cost(store: SessionStore, session: str, start: int, count: int) -> float:
    """Median seconds of (read the newest 3 runs, append one run) for ``count`` turns from ``start``."""
    times = []
    for i in range(start, start + count):
        begun = time.perf_counter()
        list(itertools.islice(store.iter_runs_newest_first(session, USER), 3))
        store.append_runs(
            session, USER, "bench", [make_run(f"{session}-{i}", session_id=session, user_id=USER)]
        )
        times.append(time.perf_counter() - begun)
    return statistics.median(times)


def fill(store: SessionStore, session: str, upto: int) -> None:
    for i in range(upto):
        store.append_runs(
            session, USER, "bench", [make_run(f"{session}-f{i}", session_id=session, user_id=USER)]
        )


def add_other_sessions(url: str, count: int) -> None:
    """``count`` sessions of other users, one run each, written in bulk by SQL."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO agno_sessions (session_id, user_id, team_id, created_at, updated_at, schema_version, "
            "run_count, turn_count) SELECT 'other-' || g, 'user-' || (g %% 1000), 'bench', g, g, 1, 1, 1 "
            "FROM generate_series(1, %s) g",
            (count,),
        )
        conn.execute(
            "INSERT INTO agno_runs (session_id, n, run_id, doc) SELECT 'other-' || g, 1, 'r' || g, "
            "jsonb_build_object('run_id', 'r' || g, 'input', 'question ' || g, 'content', 'answer') "
            "FROM generate_series(1, %s) g",
            (count,),
        )
        conn.execute("ANALYZE")


def _writer(target: str, writer: int, turns: int) -> None:
    from agno_yaml.config import load_team_text
    from agno_yaml.runtime.compile import compile_team

    team = compile_team(
        load_team_text("name: B\nmodel: echo\nadd_history_to_context: true\n", "b.yaml"), db=target
    )
    stamp = int(time.time() * 1000)
    for turn in range(turns):
        team.run(f"turn {turn}", user_id=f"w{writer}", session_id=f"tp-{stamp}-{writer}")


def throughput(target: str, writers: int, turns: int) -> float:
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_writer, args=(target, w, 1)) for w in range(writers)]  # warm
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    procs = [context.Process(target=_writer, args=(target, w, turns)) for w in range(writers)]
    begun = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return writers * turns / (time.perf_counter() - begun)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="an existing PostgreSQL database (default: a throwaway server)")
    parser.add_argument("--others", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=40, help="turns per writer in the throughput runs")
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        from pgkit import start_server

        server = start_server()
        url = server.url()
    try:
        store = open_store(None, url)
        print(f"PostgreSQL store cost per turn (read 3 runs + append 1), median ms  [{store.location}]")
        print(f"  turn     1, 1 session:            {turn_cost(store, 'a', 0, 1) * 1000:6.2f}")
        print(f"  turns 2-25, 1 session:            {turn_cost(store, 'a', 1, 24) * 1000:6.2f}")
        fill(store, "a", 975)
        print(f"  turns ~1,000, 1 session:          {turn_cost(store, 'a', 1000, 25) * 1000:6.2f}")
        add_other_sessions(url, args.others)
        print(
            f"  turns 2-25 of a new session, {args.others:,} others: {turn_cost(store, 'b', 0, 25) * 1000:6.2f}"
        )
        print(
            f"  turns ~1,025 of session a, {args.others:,} others:   {turn_cost(store, 'a', 1025, 25) * 1000:6.2f}"
        )
        with tempfile.TemporaryDirectory(prefix="agno-bench-") as folder:
            print(
                f"throughput, turns/s (offline model, {args.turns} turns per writer, writers on different sessions)"
            )
            for writers in (1, 4, 16):
                pg = throughput(url, writers, args.turns)
                tiny = throughput(folder, writers, args.turns)
                print(f"  {writers:>2} writers: PostgreSQL {pg:7.1f}   TinyDB {tiny:7.1f}")
    finally:
        if server is not None:
            from pgkit import stop_server

            stop_server(server)


if __name__ == "__main__":
    main()

"""Median wall time of the commands that must start fast (none of them may import litellm).

    python bench/cli_start.py [--runs 10]

Each command runs as a fresh process of the installed ``agno-run`` console script.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEAM = str(ROOT / "teams" / "multilingual.yaml")


def agno_run() -> list[str]:
    script = Path(sys.executable).with_name("agno-run")
    if script.exists():
        return [str(script)]
    found = shutil.which("agno-run")
    return [found] if found else [sys.executable, "-m", "agno_yaml"]


COMMANDS = {
    "--help": ["--help"],
    "validate": ["validate", TEAM],
    "schema": ["schema"],
    "inspect": ["inspect", TEAM],
}


def measure(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    base = agno_run()
    measure([*base, "--help"], 2)  # warm the page cache and .pyc files
    print(f"agno-run start-up, median of {args.runs} runs (goal <= 0.150 s)")
    for name, extra in COMMANDS.items():
        print(f"  {name:<10} {measure([*base, *extra], args.runs):.3f} s")


if __name__ == "__main__":
    main()

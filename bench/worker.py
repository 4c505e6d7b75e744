"""A one-shot CLI turn against a loopback model: in-process vs through the warm worker.

    python bench/worker.py [--runs 20]

Each run is a whole `agno-run TEAM.yaml "hi" -s ID -q` process, timed from outside (wall), against
the tests' OpenAI-compatible fake server on 127.0.0.1 through the real litellm path (the model's own
latency is about a millisecond). Printed: median, min and max of --runs runs with --no-worker and
through a worker started for the purpose (`agno-run worker start`, then stopped). The worker's
overhead beyond the model is its median minus the model's latency. Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI  # noqa: E402

AGNO_RUN = str(Path(sys.executable).with_name("agno-run"))


def timed(command: list[str], env: dict[str, str], cwd: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command} failed: {done.stderr}")
    return took


def line(label: str, times: list[float]) -> str:
    return (
        f"  {label:<12} median {statistics.median(times) * 1000:7.0f} ms   "
        f"min {min(times) * 1000:6.0f}   max {max(times) * 1000:6.0f}   ({len(times)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory(prefix="agw-") as folder:
        team = Path(folder) / "team.yaml"
        team.write_text(
            f"model: {{id: openai/x, api_base: '{fake.base_url}', api_key: k}}\ndb: {{path: db}}\n"
        )
        env = dict(os.environ, AGNO_RUN_SERVER=os.path.join(folder, "w.sock"))
        env.pop("AGNO_RUN_NO_WORKER", None)
        base = [AGNO_RUN, "team.yaml", "hi", "-q"]
        cold = [timed([*base, "-s", f"c{i}", "--no-worker"], env, folder) for i in range(args.runs)]
        subprocess.run([AGNO_RUN, "worker", "start"], env=env, check=True, capture_output=True)
        try:
            warm = [timed([*base, "-s", f"w{i}"], env, folder) for i in range(args.runs)]
        finally:
            subprocess.run([AGNO_RUN, "worker", "stop"], env=env, capture_output=True)
    print("one-shot CLI turn, loopback model through litellm (wall, whole process)")
    print(line("in-process", cold))
    print(line("worker", warm))
    print(f"  speed-up     {statistics.median(cold) / statistics.median(warm):.1f}x")


if __name__ == "__main__":
    main()

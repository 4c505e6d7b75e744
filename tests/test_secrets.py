"""Secrets masked everywhere: a unique secret is planted through every route a value can take, and
every byte the run wrote is scanned: files, stdout, stderr, and every request a model received.

Routes: a model's api_key from ${VAR} (echoed back by a provider's 401), a provider key from its
environment variable, a token in api_base's query string (in a connection error), provider extras
(``extra: {api_key: ...}``, headers) and a member's failure sent to the leader's model as a tool result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fake_openai import FakeOpenAI, refusing_port

SECRETS = {
    "MEMBER_KEY_SECRET": "sk-member-7c1e9a44d2",
    "TOKEN_SECRET": "tok-query-51f0aa93b7",
    "EXTRA_SECRET": "extra-key-0d8c21e6f4",
    "HEADER_SECRET": "hdr-bearer-93aa10c5e2",
    "OPENAI_API_KEY": "sk-leader-env-4e7d2b19c0",
}

TEAM = """\
id: secret-team
model: {{id: openai/leader, api_base: "{base}", num_retries: 0}}
tools: ["leaky:fetch"]
members:
  - name: Agent 1
    role: answers
    model:
      id: openai/member
      api_base: "{base}"
      api_key: "${{MEMBER_KEY_SECRET}}"
      num_retries: 0
      extra: {{extra_headers: {{X-Auth: "Bearer ${{HEADER_SECRET}}"}}}}
  - name: Agent 2
    role: answers too
    model:
      id: openai/member2
      api_base: "{base}"
      num_retries: 0
      extra: {{api_key: "${{EXTRA_SECRET}}"}}
  - name: Agent 3
    role: answers last
    model:
      id: openai/member3
      api_base: "http://127.0.0.1:{refused}/v1?token=${{TOKEN_SECRET}}"
      num_retries: 0
db: {{path: store}}
"""

LEAKY = '''
import os


def fetch(url: str) -> str:
    """Fetch a page.

    Args:
        url: The page.
    """
    raise RuntimeError(f"upstream refused token {os.environ['TOKEN_SECRET']} for {url}")
'''


def agno(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("agno-run")
    env = {**os.environ, **SECRETS}
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, cwd=cwd)


def test_no_secret_in_any_byte_a_run_writes(tmp_path: Path) -> None:
    with FakeOpenAI() as fake, refusing_port() as refused:
        team = tmp_path / "team.yaml"
        team.write_text(TEAM.format(base=fake.base_url, refused=refused), encoding="utf-8")
        (tmp_path / "leaky.py").write_text(LEAKY, encoding="utf-8")

        def delegate(member: str) -> dict[str, object]:
            return {"name": "delegate_task_to_member", "arguments": {"member_id": member, "task": "t"}}

        fake.add_tool_calls([delegate("agent-1")])  # the leader delegates to agent 1 ...
        fake.add_error(401, echo_key=True)  # ... whose provider echoes its key in the error
        fake.add_tool_calls([delegate("agent-2")])  # agent 2's key is a provider extra
        fake.add_error(401, echo_key=True)
        fake.add_tool_calls([delegate("agent-3")])  # agent 3 cannot connect; its api_base holds a token
        fake.add_tool_calls([{"name": "fetch", "arguments": {"url": "x"}}])  # a tool raising with a token
        fake.add_text("done")
        run = agno(str(team), "go", "-s", "s1", "--json", cwd=tmp_path)
        failing = agno(str(team), "go", "-s", "s2", "--model", "openai/nothing", "--json", cwd=tmp_path)
        inspected = agno("inspect", str(team), cwd=tmp_path)
        inspected_json = agno("inspect", str(team), "--json", cwd=tmp_path)
        requests = json.dumps(fake.requests)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["answer"] == "done"
    assert "Incorrect API key: Bearer ***" in requests  # member failures reached the leader, masked
    assert "upstream refused token *** for x" in requests
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"Incorrect API key" in files  # the stored failed member run is there, masked
    written = {
        "files": files.decode("utf-8", "replace"),
        "requests": requests,
        **{f"{name}.{stream}": getattr(proc, stream) for name, proc in
           (("run", run), ("failing", failing), ("inspect", inspected), ("inspect-json", inspected_json))
           for stream in ("stdout", "stderr")},
    }  # fmt: skip
    for secret in SECRETS.values():
        for where, text in written.items():
            assert secret not in text, f"{secret} leaked into {where}"

"""Structured output (``output_schema:``): the request asks for JSON against the schema, the answer is
parsed and checked, a wrong one is sent back once, a second miss fails the run at one clear line.
Through the real litellm path against the loopback fake server, and offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from convkit import line_of, run, write_conversations
from fake_openai import FakeOpenAI

from agno_yaml.cli import cli
from agno_yaml.config import load_team, load_team_text
from agno_yaml.config.spec import TeamSpec
from agno_yaml.errors import ConfigError
from agno_yaml.messages import RunRecord
from agno_yaml.models.offline import shaped
from agno_yaml.runtime.compile import compile_team
from agno_yaml.store.documents import parse_run
from agno_yaml.store.tinydb import TinyDBStore

SCHEMA = {
    "type": "object",
    "required": ["score", "label"],
    "properties": {"score": {"type": "number"}, "label": {"type": "string"}},
}
INLINE = "output_schema: " + json.dumps(SCHEMA) + "\n"


def team_file(tmp_path: Path, fake: FakeOpenAI, body: str = INLINE) -> Path:
    path = tmp_path / "team.yaml"
    options = (
        f"id: openai/fake-model, api_base: '{fake.base_url}', api_key: not-a-key, num_retries: 0, timeout: 5"
    )
    path.write_text(
        f"name: Rater\nmodel: {{{options}}}\ndb: {{path: '{tmp_path / 'db'}'}}\n{body}", encoding="utf-8"
    )
    return path


def agno(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def stored(tmp_path: Path, session: str = "s") -> list[RunRecord]:
    return TinyDBStore(tmp_path / "db").runs(session, "default")


def test_the_request_asks_for_the_schema_and_the_parsed_answer_is_output(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    path = team_file(tmp_path, fake_openai)
    fake_openai.add_text('{"score": 0.8, "label": "good"}')
    result = agno(str(path), "rate it", "-s", "s", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["output"] == {"score": 0.8, "label": "good"}
    assert json.loads(data["answer"]) == data["output"]  # the answer text stays the JSON text
    assert fake_openai.requests[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Rater", "schema": SCHEMA, "strict": False},
    }
    (run_,) = stored(tmp_path)
    assert run_.output == {"score": 0.8, "label": "good"} and run_.status == "completed"


def test_a_team_without_output_schema_sends_no_response_format(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    path = team_file(tmp_path, fake_openai, "")
    fake_openai.add_text("plain")
    result = agno(str(path), "hi", "-s", "s", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["output"] is None
    assert "response_format" not in fake_openai.requests[0]


@pytest.mark.parametrize("stream", ["--no-stream", "--stream"])
def test_a_wrong_answer_is_sent_back_once_with_the_errors(
    tmp_path: Path, fake_openai: FakeOpenAI, stream: str
) -> None:
    path = team_file(tmp_path, fake_openai)
    fake_openai.add_text('{"score": "high"}')
    fake_openai.add_text('{"score": 0.9, "label": "high"}')
    result = agno(str(path), "rate it", "-s", "s", "--json", stream)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"] == {"score": 0.9, "label": "high"}
    assert fake_openai.hits == 2
    second = fake_openai.requests[1]["messages"]
    assert second[-2] == {"role": "assistant", "content": '{"score": "high"}'}
    repair = second[-1]["content"]
    assert second[-1]["role"] == "user"
    assert (
        "$: 'label' is a required property" in repair and "$.score: 'high' is not of type 'number'" in repair
    )
    assert "corrected JSON only" in repair
    assert fake_openai.requests[1]["response_format"]["json_schema"]["schema"] == SCHEMA


def test_two_wrong_answers_fail_the_run_with_one_clear_line(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    path = team_file(tmp_path, fake_openai)
    fake_openai.add_text('{"score": "high", "label": "x"}', times=2)
    result = agno(str(path), "rate it", "-s", "s")
    assert result.exit_code == 1
    line = "the answer does not match output_schema: $.score: 'high' is not of type 'number'"
    assert line in result.stderr and "Traceback" not in result.stderr
    (run_,) = stored(tmp_path)
    assert run_.status == "error" and run_.input == "rate it" and line in (run_.error or "")
    assert run_.output is None


def test_an_answer_that_is_not_json_twice_says_so(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    path = team_file(tmp_path, fake_openai)
    fake_openai.add_text("I think it is good.", times=2)
    result = agno(str(path), "rate it", "-s", "s", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["status"] == "error" and data["output"] is None
    assert "the answer is not JSON, as output_schema requires" in data["error"]
    assert "not JSON" in fake_openai.requests[1]["messages"][-1]["content"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_fenced_json_answer_is_accepted(tmp_path: Path, fake_openai: FakeOpenAI, stream: bool) -> None:
    team = compile_team(load_team(team_file(tmp_path, fake_openai)))
    fake_openai.add_text('Here you are:\n```json\n{"score": 1, "label": "ok"}\n```\n')
    out = team.run("rate it", user_id="u", session_id="s", stream=stream)
    assert out.ok and out.run.output == {"score": 1, "label": "ok"}
    assert out.content == '{"score": 1, "label": "ok"}' and fake_openai.hits == 1


def test_a_schema_file_is_read_relative_to_the_team_file(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "answer.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    path = team_file(tmp_path, fake_openai, "output_schema: {file: schemas/answer.json}\n")
    assert load_team(path).spec.output_schema == {"file": str(tmp_path / "schemas" / "answer.json")}
    fake_openai.add_text('{"score": 2, "label": "fine"}')
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # not the working directory's schemas/
    result = agno(str(path), "rate it", "-s", "s", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"] == {"score": 2, "label": "fine"}
    assert fake_openai.requests[0]["response_format"]["json_schema"]["schema"] == SCHEMA


BAD = """\
name: Bad
model: echo
output_schema:
  type: 12
members:
  - name: Critic
    output_schema: {file: missing.json}
  - name: Broken
    output_schema: {file: broken.json}
"""


def test_a_bad_schema_and_a_missing_or_broken_file_are_located(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(BAD, encoding="utf-8")
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    result = agno("validate", str(path))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"{path}:4:9: $.output_schema.type: not a valid JSON Schema")
    assert lines[1].startswith(
        f"{path}:7:27: $.members[0].output_schema.file: no JSON Schema file at missing.json"
    )
    assert lines[2].startswith(f"{path}:9:27: $.members[1].output_schema.file: broken.json is not JSON")
    ran = agno(str(path), "hi", "--db", "memory:")
    assert ran.exit_code == 2 and f"{path}:4:9: $.output_schema.type" in ran.stderr


def test_compile_checks_a_schema_the_loader_could_not(tmp_path: Path) -> None:
    """A team held in memory with no directory, or a bare spec: compile reads and checks the file."""
    loaded = load_team_text(
        "name: T\nmodel: echo\noutput_schema: {file: nowhere.json}\n", "<team>", base_dir=tmp_path
    )
    with pytest.raises(ConfigError) as err:
        compile_team(loaded, store=False)
    assert "$.output_schema.file: no JSON Schema file at" in str(err.value)
    spec = TeamSpec(name="T", id="t", model=loaded.spec.model, output_schema={"type": "nope"})
    with pytest.raises(ConfigError, match=r"\$\.output_schema\.type: not a valid JSON Schema"):
        compile_team(spec, store=False)


MEMBER = """\
members:
  - name: Critic
    role: Lists points
    output_schema:
      type: object
      required: [points]
      properties: {points: {type: array, items: {type: string}}}
"""


def test_a_members_validated_json_is_what_the_leader_receives(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    team = compile_team(load_team(team_file(tmp_path, fake_openai, MEMBER)))
    fake_openai.add_tool_call("delegate_task_to_member", {"member_id": "critic", "task": "points"})
    fake_openai.add_text('```json\n{"points": ["cold soup"]}\n```')
    fake_openai.add_text("The soup was cold.")
    out = team.run("review", user_id="u", session_id="s")
    assert out.ok and out.content == "The soup was cold." and out.run.output is None
    leader_first, member, leader_second = fake_openai.requests
    assert "response_format" not in leader_first and "response_format" not in leader_second
    assert member["response_format"]["json_schema"]["name"] == "critic"
    tool_result = leader_second["messages"][-1]
    assert tool_result["role"] == "tool" and json.loads(tool_result["content"]) == {"points": ["cold soup"]}
    (member_run,) = out.member_runs
    assert member_run.output == {"points": ["cold soup"]}


SCRIPTED = """\
name: Offline
model:
  id: scripted
  replies:
    - '{"score": "x"}'
    - '{"score": 3, "label": "fine"}'
output_schema:
  type: object
  required: [score, label]
  properties: {score: {type: number}, label: {type: string}}
"""


def test_offline_with_the_scripted_model_and_echo(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(SCRIPTED, encoding="utf-8")
    result = agno(str(path), "rate", "--db", "memory:", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"] == {"score": 3, "label": "fine"}
    echoed = agno(str(path), "rate", "--db", "memory:", "--json", "--model", "echo")
    assert echoed.exit_code == 0, echoed.output
    assert json.loads(echoed.stdout)["output"] == {"score": 0, "label": "rate"}


def test_echo_shapes_its_answer_after_the_schema() -> None:
    schema = {
        "type": "object",
        "required": ["a", "n", "tags", "kind"],
        "properties": {
            "a": {"type": "string"},
            "n": {"type": "integer", "minimum": 2},
            "tags": {"type": "array", "minItems": 2, "items": {"type": "string"}},
            "kind": {"enum": ["x", "y"]},
            "skipped": {"type": "boolean"},
        },
    }
    assert shaped(schema, "hi") == {"a": "hi", "n": 2, "tags": ["hi", "hi"], "kind": "x"}


def test_the_output_is_stored_and_read_back() -> None:
    run_ = RunRecord("r1", "s", "u", "hi", content="[1, 2]", output=[1, 2])
    assert run_.to_dict()["output"] == [1, 2]
    assert parse_run(run_.to_dict()).output == [1, 2]
    assert "output" not in RunRecord("r2", "s", "u", "hi").to_dict()


def test_a_conversation_expects_the_output(tmp_path: Path) -> None:
    team = "name: T\nmodel: echo\n" + INLINE
    (tmp_path / "team.yaml").write_text(team, encoding="utf-8")
    body = """\
    conversations:
      - name: c
        turns:
          - say: rate it
            replies: ['{"score": 2, "label": "ok"}']
            expect:
              output: {score: 2}
          - say: rate again
            replies: ['{"score": 4, "label": "ok"}']
            expect:
              output: {score: 5}
    """
    path = write_conversations(tmp_path, body)
    [result] = run(path)
    [failure] = result.failures
    assert failure.expectation == "output"
    assert 'expected the output to hold {"score": 5}; got {"score": 4, "label": "ok"}' in failure.message
    assert failure.line == line_of(path, "output: {score: 5}")


def test_a_streamed_run_shows_only_the_checked_answer(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """A structured answer is not streamed: stdout holds the valid JSON once, never the wrong one."""
    path = team_file(tmp_path, fake_openai)
    fake_openai.add_text('{"score": "high"}')
    fake_openai.add_text('{"score": 0.9, "label": "high"}')
    result = agno(str(path), "rate it", "-s", "s", "--stream")
    assert result.exit_code == 0, result.output
    assert result.stdout == '{"score": 0.9, "label": "high"}\n'
    assert [r.get("stream", False) for r in fake_openai.requests] == [False, False]


def test_inspect_shows_each_agents_schema() -> None:
    example = Path(__file__).resolve().parent.parent / "teams" / "structured-output.yaml"
    result = agno("inspect", str(example), "--json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["leader"]["output_schema"]["required"] == ["verdict", "score", "summary"]
    assert view["members"][0]["output_schema"]["required"] == ["good", "bad"]  # read from the file

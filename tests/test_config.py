"""Malformed team files: each one is reported at its exact line and column, with the fix.

The table holds the file text and the whole rendered report (``FILE:LINE:COL: PATH: message; fix``),
so a change in wording or position shows up here. Files are written to a temporary directory and
named by a relative path, as a user would type it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agno_yaml import config
from agno_yaml.config.spec import ModelSpec
from agno_yaml.config.yamlload import MAX_BYTES, parse_yaml
from agno_yaml.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
ENV = {"SECRET": "sk-live-abc123", "NUMKEY": "12345", "SECRET_T": "77", "TOOL": "zz-hidden-tool"}
SECRETS = ("sk-live-abc123", "12345", "77", "zz-hidden-tool")
F = "team.yaml"
RANGE_2 = "use a number from 0 to 2"
DUP_FIX = "remove one of them (YAML would silently keep only the last)"
SYNTAX_FIX = "check the indentation and quoting here; quote values that contain ': ', '#', '{', '[' or start with '*', '&', '!', '%', '@'"
REF_FIX = (
    "write ${NAME}, ${NAME:-default} or ${NAME:?message} (NAME: letters, digits, _), or $$ for a literal $"
)
ID_FIX = "member ids must be unique: give one of them an explicit, different id"
TOOL_FIX = "write module:function, for example example_tools:get_exchange_rate (a dotted module path, a colon, a function name)"
EMPTY_FIX = "write a YAML mapping, for example `name: My Team`"
DOC_FIX = "write the file as key: value lines, for example `name: My Team`"
MODEL_FIX = "write a litellm model string such as openai/gpt-5-mini, or echo to run offline"


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expected: list[str]  # whole rendered problems, without the leading "team.yaml:"
    env: dict[str, str] = field(default_factory=lambda: dict(ENV))


def rename(old: str, new: str) -> Case:
    return Case(
        f"rename_{old}",
        f"name: T\n{old}: true\n",
        [
            f"2:1: $.{old}: unknown key '{old}'; did you mean '{new}'? (that is the Agno 3.x name; this format uses the 2.x name {new})"
        ],
    )


# fmt: off
CASES = [
    # -- unknown keys ---------------------------------------------------------------------------
    Case('typo_team', 'name: T\nmarkdwn: true\n',
         ["2:1: $.markdwn: unknown key 'markdwn'; did you mean 'markdown'?"]),
    Case('typo_member', 'members:\n  - name: A\n    rol: writer\n',
         ["3:5: $.members[0].rol: unknown key 'rol'; did you mean 'role'?"]),
    Case('typo_model', 'model:\n  id: openai/gpt-5-mini\n  temprature: 0.2\n',
         ["3:3: $.model.temprature: unknown key 'temprature'; did you mean 'temperature'?"]),
    Case('provider_option_outside_extra', 'model: {id: openai/gpt-5-mini, reasoning_effort: low}\n',
         ["1:32: $.model.reasoning_effort: unknown key 'reasoning_effort'; put provider options under extra: (allowed keys here: id, temperature, max_tokens, top_p, timeout, num_retries, api_base, api_key, tool_choice, extra, replies)"]),
    Case('model_option_at_team_level', 'temperature: 0.2\n',
         ["1:1: $.temperature: unknown key 'temperature'; temperature is a model option: write model: {id: openai/gpt-5-mini, temperature: ...}"]),
    rename("search_past_sessions", "search_session_history"),
    rename("num_past_sessions_to_search", "num_history_sessions"),
    rename("store_tool_messages", "store_tool_results"),
    rename("delegate_to_all_members", "delegate_task_to_all_members"),
    Case('mode_coordinate', 'mode: coordinate\n',
         ["1:1: $.mode: unknown key 'mode'; Agno 3.x `mode` is not a key here: write respond_directly: true for route mode, delegate_task_to_all_members: true for broadcast mode, or nothing for coordinate mode (the default)"]),
    Case('mode_route', 'name: T\nmode: route\n',
         ["2:1: $.mode: unknown key 'mode'; write respond_directly: true for route mode (Agno 3.x `mode` is not a key here)"]),
    Case('on_as_key', 'on: true\n',
         ['1:1: $.on: unknown key \'on\' (YAML reads an unquoted on as true); quote it: "on"']),
    # -- wrong types ----------------------------------------------------------------------------
    Case('members_not_list', 'members: Agent 1\n',
         ['1:10: $.members: expected a list, got a string ("Agent 1"); write one item per line, each starting with \'- \'']),
    Case('float_for_int', 'num_history_runs: 2.5\n',
         ['1:19: $.num_history_runs: expected a whole number, got a number (2.5); write a whole number']),
    Case('quoted_int', "num_history_runs: '3'\n",
         ['1:19: $.num_history_runs: expected a whole number, got a string ("3"); remove the quotes: 3']),
    Case('quoted_bool', "markdown: 'true'\n",
         ['1:11: $.markdown: expected true or false, got a string ("true"); write true or false, without quotes']),
    Case('db_not_mapping', 'db: tmp/agno\n',
         ['1:5: $.db: expected a mapping, got a string ("tmp/agno"); write db: {path: tmp/agno}']),
    Case('instructions_mapping', 'instructions:\n  a: 1\n',
         ["2:3: $.instructions: expected a string or a list, got a mapping; write one item per line, each starting with '- '"]),
    Case('yes_pitfall', 'members:\n  - name: A\n    role: yes\n',
         ['3:11: $.members[0].role: expected a string, got a boolean (true); YAML reads an unquoted yes as true; quote it: "yes"']),
    Case('no_pitfall', 'user_id: no\n',
         ['1:10: $.user_id: expected a string, got a boolean (false); YAML reads an unquoted no as false; quote it: "no"']),
    Case('number_as_name', 'name: 1.10\n',
         ['1:7: $.name: expected a string, got a number (1.1); quote it: "1.10"']),
    # -- ranges and empty values ----------------------------------------------------------------
    Case('temperature_range', 'members:\n  - name: A\n    model: {id: x/y, temperature: 3}\n',
         [f'3:35: $.members[0].model.temperature: 3 is out of range: it must be between 0 and 2; {RANGE_2}']),
    Case('top_p_range', 'model: {id: x/y, top_p: -0.1}\n',
         ['1:25: $.model.top_p: -0.1 is out of range: it must be between 0 and 1; use a number from 0 to 1']),
    Case('history_runs_zero', 'num_history_runs: 0\n',
         ['1:19: $.num_history_runs: 0 is out of range: it must be at least 1; use 1 or more']),
    Case('timeout_zero', 'model: {id: x/y, timeout: 0}\n',
         ['1:27: $.model.timeout: 0 is out of range: it must be greater than 0; use a number above 0']),
    Case('retries_range', 'model: {id: x/y, num_retries: 11}\n',
         ['1:31: $.model.num_retries: 11 is out of range: it must be between 0 and 10; use a number from 0 to 10']),
    Case('empty_model', "model: ''\n",
         [f'1:8: $.model: the model is empty; {MODEL_FIX}']),
    Case('empty_model_id', "model: {id: ''}\n",
         [f'1:13: $.model.id: the model is empty; {MODEL_FIX}']),
    Case('model_without_id', 'model: {temperature: 0.2}\n',
         ["1:8: $.model: missing required key 'id'; add `id: openai/gpt-5-mini` (the litellm model string)"]),
    Case('missing_member_name', 'members:\n  - role: writer\n',
         ["2:5: $.members[0]: missing required key 'name'; add `name: Agent 1` (the member's name, unique in the team)"]),
    # -- tools ----------------------------------------------------------------------------------
    Case('tool_without_module', 'tools: [get_exchange_rate]\n',
         [f'1:9: $.tools[0]: "get_exchange_rate" is not a tool reference; {TOOL_FIX}']),
    Case('tool_with_dot', 'members:\n  - name: A\n    tools:\n      - example_tools.get_exchange_rate\n',
         ['4:9: $.members[0].tools[0]: "example_tools.get_exchange_rate" is not a tool reference; did you mean example_tools:get_exchange_rate? A tool is module:function']),
    # -- rules across keys ----------------------------------------------------------------------
    Case('duplicate_member_names', 'members:\n  - name: Agent 1\n  - name: Agent 2\n  - name: Agent 1\n',
         ['4:11: $.members[2].name: member name "Agent 1" is already used by $.members[0] (line 2); give each member its own name']),
    Case('derived_id_collision', 'members:\n  - name: Agent 1\n  - name: agent 1\n',
         [f"3:11: $.members[1].name: member id 'agent-1' (derived from this name) is already the id of $.members[0] (derived from its name), line 2; {ID_FIX}"]),
    Case('explicit_id_vs_derived', 'members:\n  - name: Writer\n    id: agent-1\n  - name: Agent 1\n',
         [f"4:11: $.members[1].name: member id 'agent-1' (derived from this name) is already the id of $.members[0], line 2; {ID_FIX}"]),
    Case('explicit_ids_equal', 'members:\n  - {name: A, id: same}\n  - {name: B, id: same}\n',
         [f"3:19: $.members[1].id: member id 'same' is already the id of $.members[0], line 2; {ID_FIX}"]),
    Case('route_and_broadcast', 'respond_directly: true\ndelegate_task_to_all_members: true\n',
         ['2:1: $.delegate_task_to_all_members: respond_directly and delegate_task_to_all_members are both true, but a team has one mode; keep respond_directly for route mode (the chosen member answers) or delegate_task_to_all_members for broadcast mode (every member gets the task)']),
    Case('both_history_windows', 'num_history_runs: 3\nnum_history_messages: 10\n',
         ['2:1: $.num_history_messages: num_history_runs and num_history_messages are both set; pick one: num_history_runs counts runs, num_history_messages counts messages']),
    Case('both_history_windows_member', 'members:\n  - name: A\n    num_history_messages: 4\n    num_history_runs: 2\n',
         ['4:5: $.members[0].num_history_runs: num_history_runs and num_history_messages are both set; pick one: num_history_runs counts runs, num_history_messages counts messages']),
    Case('replies_on_real_model', 'model:\n  id: openai/gpt-5-mini\n  replies: [hi]\n',
         ['3:3: $.model.replies: replies are only used by the scripted model, and this model is "openai/gpt-5-mini"; set id: scripted, or remove replies']),
    Case('empty_scripted_reply', 'model:\n  id: scripted\n  replies: [{}]\n',
         ['3:13: $.model.replies[0]: the mapping is empty; give content and/or tool_calls']),
    Case('date_in_session_state', 'session_state:\n  since: 2024-01-31\n',
         ['2:10: $.session_state.since: a date is not allowed here; quote it to keep it as text: "2024-01-31"']),
    Case('date_as_description', 'description: 2024-01-31\n',
         ['1:14: $.description: expected a string, got a date (2024-01-31); quote it: "2024-01-31"']),
    # -- the document itself --------------------------------------------------------------------
    Case('list_document', '- a\n- b\n',
         [f'1:1: $: the document is a list, not a mapping (key: value lines); {DOC_FIX}']),
    Case('scalar_document', 'just text\n',
         [f'1:1: $: the document is a string, not a mapping (key: value lines); {DOC_FIX}']),
    Case('empty_file', '',
         [f'1:1: $: the file is empty; {EMPTY_FIX}']),
    Case('comments_only', '# nothing here\n',
         [f'1:1: $: the file is empty; {EMPTY_FIX}']),
    Case('syntax_error', 'name: [a, b\nmodel: x\n',
         [f"2:6: $: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence started at line 1, column 7); {SYNTAX_FIX}"]),
    Case('tab_indent', 'members:\n\t- name: A\n',
         ['2:1: $: YAML syntax error: found character that cannot start any token (while scanning for the next token started at line 2, column 1); indent with spaces; YAML does not allow tabs']),
    Case('reference_in_flow_mapping', 'model: {id: x/y, api_key: ${NUMKEY}}\n',
         ["1:28: $: YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping started at line 1, column 8); inside [...] or {...}, quote ${VAR} references ('${VAR}'), or write the mapping as indented lines"]),
    Case('duplicate_key', 'name: a\nmodel: echo\nname: b\n',
         [f"3:1: $.name: duplicate key 'name'; the first one is at line 1; {DUP_FIX}"]),
    Case('duplicate_key_in_member', 'members:\n  - name: A\n    role: x\n    role: y\n',
         [f"4:5: $.members[0].role: duplicate key 'role'; the first one is at line 3; {DUP_FIX}"]),
    Case('python_tag', "name: !!python/object/apply:os.system ['echo hi']\n",
         ['1:7: $: cannot read this value: the tag tag:yaml.org,2002:python/object/apply:os.system is not allowed; only plain YAML is allowed (no !!python tags); quote the value to keep it as text']),
    Case('alias_cycle', 'a: &a [*a]\n',
         ['1:4: $: an alias refers to a node that contains it (a cycle); remove the recursive alias']),
    # -- interpolation --------------------------------------------------------------------------
    Case('missing_env_var', "name: T\ndescription: 'Hello ${WHO}, welcome'\n",
         ['2:21: $.description: environment variable WHO is not set; export WHO=... or write ${WHO:-default}']),
    Case('required_env_var_message', 'model:\n  id: openai/gpt-5-mini\n  api_key: ${OPENAI_API_KEY:?set it in .env}\n',
         ['3:12: $.model.api_key: environment variable OPENAI_API_KEY is not set: set it in .env; export OPENAI_API_KEY=...']),
    Case('malformed_reference', 'description: cost ${1X}\n',
         [f"1:19: $.description: malformed reference '${{1X}}'; {REF_FIX}"]),
    Case('unclosed_reference', 'description: "a ${B"\n',
         [f"1:17: $.description: malformed reference '${{B'; {REF_FIX}"]),
    Case('secret_in_type_error', 'model:\n  id: x/y\n  temperature: "${SECRET}"\n',
         ['3:16: $.model.temperature: expected a number, got the value of ${SECRET}; check what the environment variable is set to; it must be a number']),
    Case('secret_typed_as_int', 'model:\n  id: x/y\n  api_key: ${NUMKEY}\n',
         ['3:12: $.model.api_key: expected a string, got the value of ${NUMKEY}; quote it: "${NUMKEY}" to keep it as text']),
    Case('secret_out_of_range', 'model:\n  id: x/y\n  temperature: ${SECRET_T}\n',
         [f'3:16: $.model.temperature: the value of ${{SECRET_T}} is out of range: it must be between 0 and 2; {RANGE_2}']),
    Case('secret_bad_tool', "tools: ['${TOOL}']\n",
         [f'1:9: $.tools[0]: the value of ${{TOOL}} is not a tool reference; {TOOL_FIX}']),
    Case('quoted_reference_stays_string', "model: {id: x/y, temperature: '${T:-0.2}'}\n",
         ['1:31: $.model.temperature: expected a number, got the value of ${T:-0.2}; remove the quotes around ${T:-0.2} so the value is read as a number']),
    Case('secret_in_duplicate_name', "members:\n  - name: '${SECRET}'\n  - name: 'sk-live-abc123'\n",
         ['3:11: $.members[1].name: member name "sk-live-abc123" is already used by $.members[0] (line 2); give each member its own name']),
    # -- several at once, in file order ---------------------------------------------------------
    Case('many_problems_in_line_order', 'name: T\nnum_history_runs: 0\nmarkdwn: true\nmembers:\n  - role: r\n  - name: A\n    model: {id: x/y, temperature: 9}\n',
         [
        '2:19: $.num_history_runs: 0 is out of range: it must be at least 1; use 1 or more',
        "3:1: $.markdwn: unknown key 'markdwn'; did you mean 'markdown'?",
        "5:5: $.members[0]: missing required key 'name'; add `name: Agent 1` (the member's name, unique in the team)",
        f'7:35: $.members[1].model.temperature: 9 is out of range: it must be between 0 and 2; {RANGE_2}',
    ]),
]
# fmt: on


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(text: str) -> str:
    Path(F).write_text(text, encoding="utf-8")
    return F


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_file(case: Case, in_tmp: Path) -> None:
    problems = config.check_team_file(write(case.text), env=case.env)
    assert [str(p) for p in problems] == [f"{F}:{line}" for line in case.expected]
    with pytest.raises(ConfigError) as info:
        config.load_team(F, env=case.env)
    assert str(info.value) == "\n".join(f"{F}:{line}" for line in case.expected)
    assert info.value.problems == problems


@pytest.mark.parametrize("case", [c for c in CASES if c.id.startswith("secret")], ids=lambda c: c.id)
def test_secret_values_never_echoed(case: Case, in_tmp: Path) -> None:
    problems = config.check_team_file(write(case.text), env=case.env)
    rendered = "\n".join(str(p) for p in problems) + repr([p.to_dict() for p in problems])
    for secret in SECRETS:
        if case.id != "secret_in_duplicate_name":  # there the second name is written in the file itself
            assert secret not in rendered


def test_yaml_11_booleans_are_notes_that_do_not_stop_the_file(in_tmp: Path) -> None:
    write("markdown: on\nrespond_directly: yes\nmembers:\n  - {name: A}\nstore_media: false\n")
    problems = config.check_team_file(F, env={})
    assert [str(p) for p in problems] == [
        f"{F}:1:11: note: $.markdown: YAML reads the unquoted on as true; write true to say so plainly",
        f"{F}:2:19: note: $.respond_directly: YAML reads the unquoted yes as true; write true to say so plainly",
    ]
    loaded = config.load_team(F, env={})
    assert loaded.spec.markdown is True and loaded.spec.respond_directly is True
    assert list(loaded.notes) == problems


def test_an_unclosed_quote_is_reported_where_it_opens(in_tmp: Path) -> None:
    write('name: T\ndescription: "A helpful team\nmembers:\n  - name: A\n')
    (problem,) = config.check_team_file(F, env={})
    assert str(problem) == (
        f'{F}:2:14: $: YAML syntax error: the quote " opened here is never closed; '
        'add the closing " at the end of the value'
    )


def test_missing_file_is_one_problem(in_tmp: Path) -> None:
    Path("multilingual.yaml").write_text("name: x\n")
    problems = config.check_team_file("multilingal.yaml")
    assert [str(p) for p in problems] == [
        "multilingal.yaml:1:1: $: no such file; did you mean multilingual.yaml?"
    ]


def test_directory_is_one_problem(in_tmp: Path) -> None:
    Path("d.yaml").mkdir()
    assert [str(p) for p in config.check_team_file("d.yaml")] == [
        "d.yaml:1:1: $: this is a directory, not a file; name a .yaml file"
    ]


def test_billion_laughs_refused_quickly(in_tmp: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    write("\n".join(lines) + "\n")
    start = time.perf_counter()
    problems = config.check_team_file(F)
    elapsed = time.perf_counter() - start
    assert [str(p) for p in problems] == [
        f"{F}:1:1: $: the document expands to more than 100000 values through aliases (*name); use fewer nested aliases; write the values out instead"
    ]
    assert elapsed < 0.05


def test_oversize_file_refused(in_tmp: Path) -> None:
    write("name: T\ndescription: '" + "x" * MAX_BYTES + "'\n")
    problems = config.check_team_file(F)
    assert len(problems) == 1
    assert str(problems[0]).startswith(
        f"{F}:1:1: $: the file is {MAX_BYTES + 24} bytes, over the 1024 KiB limit"
    )


def test_dollar_dollar_is_a_literal_dollar(in_tmp: Path) -> None:
    team = config.load_team(
        write("description: 'costs $$5, not ${PRICE:-4}$$'\ninstructions: pay $$$$ now\n"), env={}
    ).spec
    assert team.description == "costs $5, not 4$"
    assert team.instructions == ("pay $$ now",)


def test_typed_interpolation(in_tmp: Path) -> None:
    text = "model:\n  id: ${MODEL:-x/y}\n  temperature: ${T:-0.2}\n  max_tokens: ${MAX}\nmarkdown: ${MD:-true}\nuser_id: '${U:-007}'\n"
    team = config.load_team(write(text), env={"MAX": "256"}).spec
    assert team.model.id == "x/y"
    assert team.model.temperature == 0.2 and isinstance(team.model.temperature, float)
    assert team.model.max_tokens == 256
    assert team.markdown is True
    assert team.user_id == "007"  # quoted: stays text


def test_defaults_and_agno_resolution(in_tmp: Path) -> None:
    text = (
        "instructions: Be brief.\n"
        "model: {id: x/y, temperature: 1}\n"
        "num_history_messages: 6\n"
        "session_summary_manager: {session_summary_prompt: Short.}\n"
        "members:\n  - name: Agent 1\n  - name: Agent 2\n    model: echo\n"
    )
    team = config.load_team(write(text), env={}).spec
    assert (team.name, team.id, team.source) == ("team", "team", F)
    assert team.instructions == ("Be brief.",)
    assert team.model == ModelSpec(id="x/y", temperature=1.0)
    assert team.num_history_runs is None and team.num_history_messages == 6
    assert team.enable_session_summaries is True  # a manager turns summaries on
    assert team.add_session_summary_to_context is True
    assert team.session_summary_manager is not None
    assert team.session_summary_manager.model is team.model
    assert team.session_summary_manager.session_summary_prompt == "Short."
    assert [(m.id, m.model.id) for m in team.members] == [("agent-1", "x/y"), ("agent-2", "echo")]
    assert team.db.path is None and team.num_history_sessions == 20 and team.store_history_messages is False


def test_summaries_enabled_without_manager_get_default_summary_spec(in_tmp: Path) -> None:
    team = config.load_team(
        write("name: My Team\nenable_session_summaries: true\nadd_session_summary_to_context: false\n"),
        env={},
    ).spec
    assert team.id == "my-team"
    assert (
        team.session_summary_manager is not None
        and team.session_summary_manager.session_summary_prompt is None
    )
    assert team.add_session_summary_to_context is False


def test_merge_keys_are_not_duplicates(in_tmp: Path) -> None:
    text = "x-model: &m {id: x/y, temperature: 0.5}\n"
    doc = parse_yaml(text + "model:\n  <<: *m\n  temperature: 0.1\n", F)
    assert doc.data["model"] == {"id": "x/y", "temperature": 0.1}
    assert doc.mark(("model", "id")) == (1, 18)


def test_interpolation_reads_os_environ_by_default(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGNO_YAML_TEST_NAME", "From Env")
    assert config.load_team(write("name: ${AGNO_YAML_TEST_NAME}\n")).spec.name == "From Env"


def test_importing_config_does_not_import_litellm() -> None:
    code = "import agno_yaml.config, sys; assert 'litellm' not in sys.modules; assert 'jsonschema' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)

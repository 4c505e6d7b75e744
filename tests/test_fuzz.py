"""Property-based fuzz: arbitrary YAML team files and arbitrary stored JSON documents never give a
traceback or an "internal error", only located problems or one-line store errors.

Each property runs 1,000 or more examples (more than 2,000 in all); hypothesis shrinks any failure
to the smallest input that shows it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storekit import ALICE, make_run

from agno_yaml.config import check_team_file, load_team
from agno_yaml.errors import AgnoYamlError, ConfigError, SessionError, StoreError
from agno_yaml.store.tinydb import TinyDBStore

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = [
    "name", "id", "model", "members", "respond_directly", "delegate_task_to_all_members", "db", "tools",
    "num_history_runs", "num_history_messages", "session_summary_manager", "enable_session_summaries",
    "session_state", "instructions", "user_id", "role", "temperature", "api_key", "extra", "replies",
    "max_tool_calls_per_round", "allow_unsafe_tools", "path", "${X}", "on", "<<",
]  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=True),
    st.text(max_size=20), st.sampled_from(["echo", "openai/x", "${UNSET}", "${X:-1}", "$$", "m:f", "yes", "2024-01-01"]),
)  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)


def _problems_are_located(path: Path) -> None:
    problems = check_team_file(path, env={"X": "1"})
    for p in problems:
        assert p.line >= 1 and p.col >= 1 and p.file == str(path) and "\n" not in str(p), p
    try:
        load_team(path, env={"X": "1"})
    except ConfigError as err:
        assert err.problems and all(p.severity == "error" for p in err.problems)


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=8))
def test_any_team_shaped_document_gives_located_problems_only(doc: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "team.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        _problems_are_located(path)


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text_gives_located_problems_only(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "team.yaml"
        path.write_text(text, encoding="utf-8")
        _problems_are_located(path)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=15,
)
SESSION_FIELDS = ["session_id", "user_id", "team_id", "created_at", "updated_at", "summary", "session_state",
                  "metadata", "run_count", "last_segment", "last_run_number", "lost_runs", "schema_version"]  # fmt: skip
RUN_FIELDS = ["run_id", "session_id", "user_id", "input", "content", "messages", "tool_calls", "metrics",
              "status", "created_at", "model", "parent_run_id", "error"]  # fmt: skip


def _touch_everything(store: TinyDBStore) -> None:
    for call in (
        lambda: store.get_session("s1", ALICE),
        lambda: store.runs("s1", ALICE),
        lambda: store.list_sessions(ALICE),
        lambda: store.list_sessions(),
        lambda: store.append_runs("s1", ALICE, "t", [make_run("new")]),
        lambda: store.repair_session("s1", ALICE),
    ):
        try:
            call()
        except (StoreError, SessionError) as err:
            assert "\n" not in str(err) and str(err)
        except AgnoYamlError as err:  # any other error meant for a person is fine too, but one line
            assert "\n" not in str(err)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["session", "segment", "whole-session-file", "whole-segment-file"]),
    st.dictionaries(st.sampled_from(SESSION_FIELDS + RUN_FIELDS), json_values, max_size=6),
    json_values,
)
def test_any_damaged_stored_document_gives_one_line_errors_only(
    where: str, changes: dict[str, Any], raw: Any
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = TinyDBStore(Path(tmp) / "db")
        store.append_runs("s1", ALICE, "t", [make_run(1), make_run(2)])
        sdir = Path(store.session_dir("s1"))
        session_file, segment_file = sdir / "session.json", sdir / "runs-000000.json"
        if where == "session":
            data = json.loads(session_file.read_text())
            data["session"]["1"].update(changes)
            session_file.write_text(json.dumps(data))
        elif where == "segment":
            data = json.loads(segment_file.read_text())
            data["runs"]["2"].update(changes)
            segment_file.write_text(json.dumps(data))
        else:
            target = session_file if where == "whole-session-file" else segment_file
            target.write_text(json.dumps(raw))
        _touch_everything(store)
        _touch_everything(TinyDBStore(Path(tmp) / "db"))

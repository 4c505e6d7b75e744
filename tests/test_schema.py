"""The schema is the one source of truth: it is valid, documented, closed, and matches spec.py."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from agno_yaml import config
from agno_yaml.config import schema as schema_mod
from agno_yaml.config import spec
from agno_yaml.config.spec import McpServerSpec, MemberSpec, ModelSpec, StoreSpec, SummarySpec, TeamSpec

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = config.load_schema()
# (where the properties live in the schema, the dataclass they become, fields that are not keys)
LEVELS = [
    (None, TeamSpec, {"source"}),
    ("member", MemberSpec, {"team"}),  # a team member is the teamMember definition
    ("model", ModelSpec, set()),
    ("db", StoreSpec, set()),
    ("session_summary_manager", SummarySpec, set()),
    ("mcpServer", McpServerSpec, {"cwd"}),
]


def props(level: str | None) -> dict[str, Any]:
    node = SCHEMA if level is None else SCHEMA["$defs"][level]
    return node["properties"]


def subschemas(node: Any, where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from subschemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from subschemas(value, f"{where}/{i}")


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] and SCHEMA["title"] and SCHEMA["description"]


def test_schema_text_is_the_repo_file() -> None:
    assert config.schema_text() == (ROOT / "schemas" / "team.schema.json").read_text(encoding="utf-8")
    assert json.loads(config.schema_text()) == SCHEMA


def test_every_object_is_closed_and_every_property_described() -> None:
    for where, node in subschemas(SCHEMA):
        kinds = node.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        is_open_mapping = "properties" not in node and "object" in kinds  # session_state, extra, arguments
        if "object" in kinds and not is_open_mapping:
            assert node.get("additionalProperties") is False, where
        for name, prop in node.get("properties", {}).items():
            assert prop.get("description"), f"{where}/properties/{name}"


def test_no_one_of() -> None:
    # oneOf errors are unreadable; string-or-mapping unions are written as type: [..] instead.
    assert not [where for where, node in subschemas(SCHEMA) if "oneOf" in node]


@pytest.mark.parametrize(("level", "cls", "extra_fields"), LEVELS, ids=lambda v: getattr(v, "__name__", v))
def test_schema_keys_match_dataclass_fields(level: str | None, cls: type, extra_fields: set[str]) -> None:
    fields = {f.name for f in dataclasses.fields(cls)}
    assert set(props(level)) == fields - extra_fields


def _resolved(path: Path, member: bool = False) -> TeamSpec:
    path.write_text("members:\n  - name: A\n" if member else "name: T\n", encoding="utf-8")
    return config.load_team(path, env={}).spec


def _as_spec_value(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def test_team_defaults_match_resolved_team(tmp_path: Path) -> None:
    team = _resolved(tmp_path / "t.yaml")
    for key, prop in props(None).items():
        if "default" not in prop:
            continue
        actual = getattr(team, key)
        if key == "model":
            assert actual == ModelSpec(id=prop["default"])
        else:
            assert actual == _as_spec_value(prop["default"]), key
    assert team.num_history_runs == 3 and team.add_session_summary_to_context is False
    assert team.db == StoreSpec(path=None)  # no db: the store is chosen when the team is opened


def test_member_and_nested_defaults_match(tmp_path: Path) -> None:
    member = _resolved(tmp_path / "t.yaml", member=True).members[0]
    for key, prop in props("member").items():
        if "default" in prop:
            assert getattr(member, key) == _as_spec_value(prop["default"]), key
    assert "default" not in props("db")["path"] and StoreSpec().path is None
    # Model options are left None in ModelSpec ("use the model layer's default"); that default must
    # be the one the schema documents.
    assert props("model")["timeout"]["default"] == spec.DEFAULT_TIMEOUT_S
    assert props("model")["num_retries"]["default"] == spec.DEFAULT_NUM_RETRIES
    assert props("model")["extra"]["default"] == dict(ModelSpec(id="x").extra)


def test_booleans_default_false_unless_documented() -> None:
    true_by_default = {"determine_input_for_members", "store_media", "store_tool_results"}
    for level in (None, "member"):
        for key, prop in props(level).items():
            if prop.get("type") == "boolean" and "default" in prop:
                assert prop["default"] is (key in true_by_default), key


def test_schema_copy_is_found_in_package_or_repo() -> None:
    found = schema_mod.schema_path()
    assert found.name == "team.schema.json"
    assert found.parent.name == "schemas" and found.parent.parent in (ROOT, ROOT / "agno_yaml")

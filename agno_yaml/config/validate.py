"""Check a team document: the JSON Schema, then the rules the schema cannot express.

Cross-field rules (one mode, one history window, unique member ids, replies only for the scripted
model, values JSON can store) and notes about YAML 1.1 pitfalls that are legal but probably not
meant (``markdown: on`` is true). Nothing here imports tool code or litellm: a file from an
untrusted pull request can be checked without running anything from it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Problem, type_name
from .interpolate import Interpolated
from .output_schema import resolve as resolve_output_schema
from .schema_errors import Checker, validator_for
from .spec import member_id_from_name
from .yamlload import JsonPath, YamlDoc, construct_scalar, is_plain, json_path

_BOOL_TAG = "tag:yaml.org,2002:bool"
_STDLIB = frozenset(sys.stdlib_module_names)


class _TeamChecker(Checker):
    def later(self, path: JsonPath, a: str, b: str) -> str:
        """Of two keys in the mapping at ``path``, the one written later (where the clash shows)."""
        return a if self.doc.key_mark(path, a) > self.doc.key_mark(path, b) else b

    def rules(self, data: Mapping[str, Any]) -> None:
        if data.get("respond_directly") is True and data.get("delegate_task_to_all_members") is True:
            key = self.later((), "respond_directly", "delegate_task_to_all_members")
            self.add(
                (),
                "respond_directly and delegate_task_to_all_members are both true, but a team has one mode",
                "keep respond_directly for route mode (the chosen member answers) or "
                "delegate_task_to_all_members for broadcast mode (every member gets the task)",
                at_key=key,
            )
        self.history_window((), data)
        self.replies(("model",), data.get("model"))
        manager = data.get("session_summary_manager")
        if isinstance(manager, Mapping):
            self.replies(("session_summary_manager", "model"), manager.get("model"))
        self.output_schema((), data)
        members = data.get("members")
        if isinstance(members, list):
            for i, member in enumerate(members):
                if isinstance(member, Mapping):
                    self.history_window(("members", i), member)
                    self.replies(("members", i, "model"), member.get("model"))
                    self.output_schema(("members", i), member)
            self.member_ids(members)

    def output_schema(self, path: JsonPath, mapping: Mapping[str, Any]) -> None:
        """``output_schema`` is a valid JSON Schema, and a ``{file: PATH}`` one exists and is JSON."""
        if "output_schema" not in mapping:
            return
        real = not self.doc.file.startswith("<")
        base = os.path.dirname(os.path.abspath(self.doc.file)) if real else None
        for inside, message, fix in resolve_output_schema(mapping["output_schema"], base)[1]:
            self.add((*path, "output_schema", *inside), message, fix)

    def unsafe_tools(self, data: Mapping[str, Any], allowed: bool) -> None:
        """Standard-library and built-in callables are refused as tools unless the file (or the
        command line) allows them: ``os:system`` lets a model run any command."""
        if allowed or data.get("allow_unsafe_tools") is True:
            return
        places: list[tuple[JsonPath, Any]] = [(("tools",), data.get("tools"))]
        members = data.get("members")
        if isinstance(members, list):
            places += [
                (("members", i, "tools"), m.get("tools"))
                for i, m in enumerate(members)
                if isinstance(m, Mapping)
            ]
        for at, refs in places:
            for i, ref in enumerate(refs if isinstance(refs, list) else []):
                if not isinstance(ref, str) or ":" not in ref:
                    continue
                top = ref.split(":", 1)[0].split(".", 1)[0]
                if top in _STDLIB or top == "builtins":
                    self.add(
                        (*at, i),
                        f"tool {ref!r} is a {'built-in' if top == 'builtins' else 'standard-library'} function: "
                        "a model calling it can do anything this process can",
                        "write a function that does only what the team needs, or set allow_unsafe_tools: true "
                        "(or --allow-unsafe-tools) if you mean it",
                    )

    def history_window(self, path: JsonPath, mapping: Mapping[str, Any]) -> None:
        if mapping.get("num_history_runs") is not None and mapping.get("num_history_messages") is not None:
            key = self.later(path, "num_history_runs", "num_history_messages")
            self.add(
                path,
                "num_history_runs and num_history_messages are both set",
                "pick one: num_history_runs counts runs, num_history_messages counts messages",
                at_key=key,
            )

    def replies(self, path: JsonPath, model: Any) -> None:
        if isinstance(model, Mapping) and "replies" in model and model.get("id") != "scripted":
            shown = self.show((*path, "id"), model.get("id"))
            self.add(
                path,
                f"replies are only used by the scripted model, and this model is {shown}",
                "set id: scripted, or remove replies",
                at_key="replies",
            )

    def member_ids(self, members: list[Any]) -> None:
        names: dict[str, int] = {}
        ids: dict[str, tuple[int, bool]] = {}  # id -> (member index, was it written explicitly)
        for i, member in enumerate(members):
            if not isinstance(member, Mapping):
                continue
            name = member.get("name")
            if isinstance(name, str) and name:
                if name in names:
                    j = names[name]
                    self.add(
                        ("members", i, "name"),
                        f"member name {self.show(('members', i, 'name'), name)} is already used by "
                        f"{json_path(('members', j))} (line {self.doc.mark(('members', j, 'name'))[0]})",
                        "give each member its own name",
                    )
                    if "id" not in member:
                        continue  # the derived ids clash too; one report is enough
                names.setdefault(name, i)
            explicit = isinstance(member.get("id"), str) and bool(member["id"])
            if explicit:
                member_id = member["id"]
            elif isinstance(name, str) and name:
                member_id = member_id_from_name(name)
            else:
                continue
            if member_id in ids:
                j, other_explicit = ids[member_id]
                self.id_clash(i, explicit, j, other_explicit, member_id)
            else:
                ids[member_id] = (i, explicit)

    def id_clash(self, i: int, explicit: bool, j: int, other_explicit: bool, member_id: str) -> None:
        where = ("members", i, "id") if explicit else ("members", i, "name")
        hidden = where in self.interp.sources or ("members", j, "id" if other_explicit else "name") in (
            self.interp.sources
        )
        # The id itself, so the user can search for it; unless it came from the environment.
        shown = "this member id" if hidden else f"member id {member_id!r}"
        derived = "" if explicit else " (derived from this name)"
        theirs = json_path(("members", j)) + ("" if other_explicit else " (derived from its name)")
        line = self.doc.mark(("members", j))[0]
        self.add(
            where,
            f"{shown}{derived} is already the id of {theirs}, line {line}",
            "member ids must be unique: give one of them an explicit, different id",
        )

    def json_only(self, value: Any, path: JsonPath, reported: set[str]) -> None:
        """Dates and binary values (YAML timestamps, !!binary) cannot be stored as JSON: refuse them
        where the schema does not already (session_state, extra, tool-call arguments)."""
        if isinstance(value, Mapping):
            for key, item in value.items():
                self.json_only(item, (*path, key), reported)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.json_only(item, (*path, i), reported)
        elif not isinstance(value, (str, int, float, bool, type(None))) and json_path(path) not in reported:
            node = self.raw(path)
            word = node.value if node is not None else str(value)
            self.add(
                path, f"{type_name(value)} is not allowed here", f'quote it to keep it as text: "{word}"'
            )

    def yaml11_words(self, reported: set[str]) -> None:
        """A note for every ``yes``/``no``/``on``/``off`` read as a boolean: legal YAML 1.1, but
        easy to misread (and YAML 1.2 tools read them as text), so suggest plain true/false."""
        for node, path in _scalars(self.doc.root, ()):
            if json_path(path) in reported:
                continue  # already an error there (a boolean where text belongs): that says it all
            if node.tag == _BOOL_TAG and is_plain(node) and node.value.lower() not in ("true", "false"):
                value = "true" if construct_scalar(node) else "false"
                problem = self.doc.problem(
                    path,
                    f"YAML reads the unquoted {node.value} as {value}",
                    f"write {value} to say so plainly",
                )
                self.problems.append(
                    Problem(problem.file, problem.line, problem.col, problem.path, problem.message,
                            problem.fix, severity="note")
                )  # fmt: skip


def _scalars(node: Node, path: JsonPath) -> Iterator[tuple[ScalarNode, JsonPath]]:
    """Every scalar *value* of the document with its path (keys are checked as unknown keys)."""
    if isinstance(node, ScalarNode):
        yield node, path
    elif isinstance(node, SequenceNode):
        for i, child in enumerate(node.value):
            yield from _scalars(child, (*path, i))
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                yield from _scalars(value, (*path, construct_scalar(key)))


def check(
    doc: YamlDoc, interp: Interpolated, schema: dict[str, Any], *, allow_unsafe_tools: bool = False
) -> list[Problem]:
    """Every problem (and note) in the interpolated data of ``doc``, in file order."""
    checker = _TeamChecker(doc, interp, schema)
    checker.problems.extend(interp.problems)
    for err in validator_for(schema).iter_errors(interp.data):
        checker.schema_error(err)
    if isinstance(interp.data, Mapping):
        checker.rules(interp.data)
        checker.unsafe_tools(interp.data, allow_unsafe_tools)
        reported = {p.path for p in checker.problems}
        checker.json_only(interp.data, (), reported)
        checker.yaml11_words(reported)
    return checker.sorted()

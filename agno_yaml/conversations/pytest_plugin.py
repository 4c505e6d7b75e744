"""A pytest plugin: every conversation in a ``test_*.conv.yaml`` file is a pytest item.

Registered through the ``pytest11`` entry point, so a project that installs agno-yaml runs its
team conversations with the ``pytest`` it already has (``-k``, ``-x`` and ``--junitxml``
included). Only files named ``test_*.conv.yaml`` (or ``.conv.yml``) are collected; every other
pytest run is untouched, and importing this module imports nothing of agno-yaml until such a file
is found. A file with mistakes is a collection error listing each at its line; a failing
conversation reports each expectation that did not hold, at its line, with what came back.

Options: ``--agno-model M`` (replace every model), ``--agno-record DIR``, ``--agno-replay DIR``.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

PATTERNS = ("test_*.conv.yaml", "test_*.conv.yml")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agno-yaml", "team conversations (test_*.conv.yaml)")
    group.addoption("--agno-model", metavar="MODEL", help="Replace every model of the teams (echo: offline).")
    group.addoption(
        "--agno-record", metavar="DIR", help="Record every model exchange in cassettes under DIR."
    )
    group.addoption(
        "--agno-replay", metavar="DIR", help="Answer from the cassettes under DIR: no network, no key."
    )


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in PATTERNS):
        collector: pytest.Collector = ConversationFileCollector.from_parent(parent, path=file_path)
        return collector
    return None


class ConversationError(Exception):
    """A conversation file that cannot run (its problems, one per line)."""


class ConversationFileCollector(pytest.File):
    """One conversation file: loaded and checked once; its groups run once, when first needed."""

    def collect(self) -> Any:
        from ..errors import ConfigError
        from .spec import load_conversations

        config = self.config
        try:
            self.loaded = load_conversations(self.path, model=config.getoption("agno_model"))
        except ConfigError as exc:
            raise self.CollectError(str(exc)) from None
        self.done: dict[str, Any] = {}  # conversation id -> result, filled a group at a time
        for conversation in self.loaded.conversations:
            yield ConversationItem.from_parent(self, name=conversation.name, conversation=conversation)

    def result_of(self, conversation: Any) -> Any:
        from .runner import RunOptions, groups, run_conversations

        if conversation.id not in self.done:
            group = next(g for g in groups(self.loaded) if conversation in g)
            options = RunOptions(
                jobs=1,
                record=self.config.getoption("agno_record"),
                replay=self.config.getoption("agno_replay"),
            )
            for result in run_conversations([self.loaded], options, ids={c.id for c in group}):
                self.done[result.conversation.id] = result
        return self.done[conversation.id]


class ConversationItem(pytest.Item):
    def __init__(self, *, conversation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conversation = conversation

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, ConversationFileCollector)
        result = parent.result_of(self.conversation)
        self.add_report_section("call", "transcript", result.transcript())
        if not result.passed:
            raise ConversationError(_failures(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ConversationError):
            return str(excinfo.value)
        from ..errors import AgnoYamlError

        if isinstance(excinfo.value, AgnoYamlError):
            return f"{self.conversation.id}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(0, self.conversation.line - 1), f"conversation: {self.name}"


def _failures(result: Any) -> str:
    lines = [f"{len(result.failures)} expectation(s) did not hold in {result.conversation.id}:"]
    for failure in result.failures:
        lines.append(f"  {failure}")
        lines += [f"    {d}" for d in failure.diff.splitlines()]
    return "\n".join(lines)

"""Running conversations: each in a store of its own, in parallel, every expectation checked.

    files = [load_conversations(p) for p in conversation_files(["tests/conversations"])]
    results = run_conversations(files, RunOptions(jobs=4))
    all(r.passed for r in results)

Conversations that name the same session in one file form a group: they run in file order, in one
store, so the later ones continue what the earlier ones said. Every other conversation runs alone,
in a fresh in-memory store (or a TinyDB store under ``keep_store`` to look at afterwards), with its
own model objects: nothing is shared between them. Groups run in threads, ``jobs`` at a time: a
turn mostly waits on a model, and the start-up cost (imports, loading files) is paid once.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ..config.spec import ModelSpec
from ..config.yamlload import JsonPath
from ..errors import AgnoYamlError, UsageError
from ..messages import Message
from ..runtime.compile import compile_team
from ..runtime.team import Team
from ..store import SessionStore
from .expect import Miss, TurnFacts, check_session, check_turn
from .script import Cassette, Models, ReplayMismatch, TurnScript
from .select import Selector
from .spec import Conversation, ConversationFile

JUDGE_SYSTEM = """\
You grade an assistant's answer against a rubric. Read the user's message, the rubric and the \
answer. Reply with PASS or FAIL as the first word, then one short sentence saying why."""


@dataclass(frozen=True)
class RunOptions:
    jobs: int | None = None  # None: the number of cores
    select: str | None = None  # a -k expression over "FILE::NAME"
    record: str | None = None  # a directory for cassettes
    replay: str | None = None
    keep_store: str | None = None  # a directory: each conversation's TinyDB store, kept
    fail_fast: bool = False  # -x: start nothing more after the first failure


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold, located in the conversation file."""

    file: str
    line: int
    col: int
    turn: int | None  # 1-based; None for expect_session and the conversation as a whole
    expectation: str  # "contains", "expect_session.runs", "replay", ...
    message: str
    expected: Any = None
    got: Any = None
    diff: str = ""

    def __str__(self) -> str:
        where = f"turn {self.turn}" if self.turn is not None else "conversation"
        return f"{self.file}:{self.line}:{self.col}: {where}: {self.expectation}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "turn": self.turn,
            "expectation": self.expectation,
            "message": self.message,
            "expected": self.expected,
            "got": self.got,
            "diff": self.diff,
        }


@dataclass
class TurnResult:
    number: int
    say: str
    user: str
    session: str
    answer: str | None = None
    status: str = "not run"
    error: str | None = None
    member: str | None = None
    delegated: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    tokens: int = 0
    cost: float | None = 0.0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class ConversationResult:
    conversation: Conversation
    turns: list[TurnResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    judge_tokens: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def tokens(self) -> int:
        return sum(t.tokens for t in self.turns) + self.judge_tokens

    @property
    def cost(self) -> float | None:
        costs = [t.cost for t in self.turns]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)

    def transcript(self) -> str:
        """The conversation as it happened, for a report's system-out."""
        lines = []
        for t in self.turns:
            lines.append(f"[{t.number}] {t.user} ({t.session}): {t.say}")
            who = t.member or "leader"
            lines.append(f"    {who} [{t.status}]: {t.answer if t.answer is not None else t.error or ''}")
            if t.delegated or t.tools:
                lines.append(
                    f"    asked: {', '.join(t.delegated) or '-'}; tools: {', '.join(t.tools) or '-'}"
                )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        c = self.conversation
        return {
            "id": c.id,
            "file": c.file,
            "name": c.name,
            "passed": self.passed,
            "turns": [t.to_dict() for t in self.turns],
            "failures": [f.to_dict() for f in self.failures],
            "tokens": self.tokens,
            "cost": self.cost,
            "seconds": round(self.seconds, 3),
        }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower()[:60] or "conversation"


def cassette_path(directory: str, conversation: Conversation) -> str:
    """``DIR/<file name without .conv.yaml>/<conversation name as a slug>.json``."""
    stem = os.path.basename(conversation.file)
    for suffix in (".yaml", ".yml", ".conv"):
        stem = stem.removesuffix(suffix)
    return os.path.join(directory, _slug(stem), f"{_slug(conversation.name)}.json")


def groups(file: ConversationFile) -> list[list[Conversation]]:
    """The file's conversations in run groups: those naming a session in common run together, in
    file order (a conversation naming two groups' sessions joins them)."""
    group_of: dict[str, int] = {}  # session -> group number
    members: list[list[Conversation]] = []
    for conversation in file.conversations:
        sessions = {s for s in (conversation.session, *(t.session for t in conversation.turns)) if s}
        found = sorted({group_of[s] for s in sessions if s in group_of})
        if not found:
            members.append([])
            found = [len(members) - 1]
        into = found[0]
        for other in found[1:]:  # merge: keep file order
            members[into] = sorted(members[into] + members[other], key=file.conversations.index)
            members[other] = []
            group_of.update({s: into for s, g in group_of.items() if g == other})
        members[into].append(conversation)
        group_of.update({s: into for s in sessions})
    return [g for g in members if g]


class ConversationRun:
    """One conversation, turn by turn, against a team compiled for it alone."""

    def __init__(
        self, file: ConversationFile, conversation: Conversation, store: SessionStore, options: RunOptions
    ) -> None:
        self.file = file
        self.conversation = conversation
        self.options = options
        self.result = ConversationResult(conversation)
        self.script = TurnScript()
        cassette = None
        if options.replay:
            cassette = Cassette.load(
                cassette_path(options.replay, conversation), conversation.file, conversation.name
            )
        elif options.record:
            cassette = Cassette(
                cassette_path(options.record, conversation), conversation.file, conversation.name
            )
        self.cassette = cassette
        self.models = Models(self.script, cassette, replay=bool(options.replay))
        self.team: Team = compile_team(
            file.team, model_override=file.model, store=store, model_for=self.models.model_for
        )
        if cassette is not None:
            cassette.secrets = self.team.secrets
        if options.replay:
            self.team.keys_required = False

    def fail(self, where: JsonPath, turn: int | None, expectation: str, miss: Miss | str) -> None:
        line, col = self.file.mark(where)
        if isinstance(miss, str):
            miss = Miss((), miss)
        self.result.failures.append(
            Failure(
                self.conversation.file,
                line,
                col,
                turn,
                expectation,
                miss.message,
                miss.expected,
                miss.got,
                miss.diff,
            )
        )

    def judge(self, rubric: str, model: str | None, said: str, answer: str) -> tuple[bool, str]:
        spec = ModelSpec(id=model) if model else self.team.spec.model
        grader = self.models.model_for("judge", spec)
        prompt = f"Rubric:\n{rubric}\n\nThe user said:\n{said}\n\nThe answer:\n{answer}"
        completion = grader.complete([Message("system", JUDGE_SYSTEM), Message("user", prompt)])
        self.result.judge_tokens += completion.usage.total_tokens
        verdict = (completion.message.content or "").strip()
        first = re.sub(r"[^A-Za-z]", "", (verdict.split() or [""])[0]).upper()
        if first == "PASS":
            return True, verdict
        if first == "FAIL":
            return False, verdict[4:].strip(" :.-") or "no reason given"
        return False, f"the judge's reply does not begin with PASS or FAIL: {verdict[:200]!r}"

    def run(self) -> ConversationResult:
        started = time.perf_counter()
        try:
            self._turns()
        finally:
            self.result.seconds = time.perf_counter() - started
            if self.cassette is not None and self.options.record:
                self.cassette.save()
        return self.result

    def _turns(self) -> None:
        c = self.conversation
        default_session = c.session or f"test-{_slug(c.name)}"
        for number, turn in enumerate(c.turns, start=1):
            user, session = turn.user or c.user, turn.session or default_session
            record = TurnResult(number, turn.say, user, session)
            self.result.turns.append(record)
            self.script.start(turn.replies)
            started = time.perf_counter()
            try:
                output = self.team.run(
                    turn.say, user_id=user, session_id=session, state=c.state if number == 1 else None
                )
            except (AgnoYamlError, ValueError) as exc:  # the turn could not start: a key, a session owner
                record.status, record.error = "error", str(exc)
                self.fail((*turn.where, "say"), number, "run", f"the turn could not run: {exc}")
                return
            if self.cassette is not None and self.cassette.mismatch is not None:  # the turn ended there
                record.status, record.error = "error", str(self.cassette.mismatch).splitlines()[0]
                self._replay_failed((*turn.where, "say"), number)
                return
            facts = TurnFacts.of(turn.say, output, time.perf_counter() - started)
            usage = output.usage
            record.answer, record.status, record.error = output.content, output.status, output.run.error
            record.member, record.delegated = output.run.answered_by, facts.delegated
            record.tools = [call.name for call in facts.tool_calls]
            record.tokens, record.cost, record.seconds = usage.total_tokens, usage.cost, facts.seconds
            try:
                misses = check_turn(turn.expect, facts, self.judge)
            except ReplayMismatch:
                self._replay_failed((*turn.where, "expect", "judge"), number)
                return
            for miss in misses:
                path = (*turn.where, "expect", *miss.key) if miss.key else (*turn.where, "say")
                self.fail(path, number, ".".join(str(k) for k in miss.key) or "status", miss)
            for agent, left in self.script.unused().items():
                self.fail(
                    (*turn.where, "replies"), number, "replies",
                    f"{left} scripted repl{'y' if left == 1 else 'ies'} for {agent} not used: the team asked "
                    f"{agent} fewer times than the script expects",
                )  # fmt: skip
            if output.status != "completed" and "status" not in turn.expect:
                return  # the turn failed: later turns would only repeat it
        self._session(default_session)

    def _replay_failed(self, where: JsonPath, number: int) -> None:
        assert self.cassette is not None and self.cassette.mismatch is not None
        message, _, diff = str(self.cassette.mismatch).partition("\n")
        self.fail(where, number, "replay", Miss((), message, diff=diff))

    def _session(self, session: str) -> None:
        expect = self.conversation.expect_session
        if not expect:
            return
        c = self.conversation
        info = self.team.get_session(session, c.user)
        runs = sum(r.is_top_level for r in self.team.get_runs(session, c.user)) if info is not None else 0
        summary = info.summary if info is not None else None
        state = info.session_state if info is not None else {}
        for miss in check_session(expect, runs, summary, state):
            self.fail(
                (*c.where, "expect_session", *miss.key),
                None,
                "expect_session." + ".".join(map(str, miss.key)),
                miss,
            )


def _store(options: RunOptions, conversation: Conversation) -> SessionStore:
    if options.keep_store is None:
        from ..store.memory import MemoryStore

        return MemoryStore()
    from ..store.tinydb import TinyDBStore

    path = os.path.join(
        options.keep_store, os.path.dirname(cassette_path("", conversation)), _slug(conversation.name)
    )
    if os.path.isdir(path) and os.listdir(path):
        raise UsageError(
            f"--keep-store: {path} already holds a store from an earlier run; give an empty directory"
        )
    return TinyDBStore(path)


def _run_group(
    file: ConversationFile,
    group: list[Conversation],
    selected: set[str],
    options: RunOptions,
    stop: threading.Event,
) -> list[ConversationResult]:
    """The group's conversations up to the last selected one (the earlier ones set up the session)."""
    wanted = [i for i, c in enumerate(group) if c.id in selected]
    results = []
    store: SessionStore | None = None
    for conversation in group[: wanted[-1] + 1]:
        if stop.is_set():
            break
        store = store or _store(options, conversation)
        try:
            result = ConversationRun(file, conversation, store, options).run()
        except ReplayMismatch as exc:  # no recording to replay
            result = ConversationResult(conversation)
            line, col = file.mark(conversation.where)
            result.failures.append(Failure(conversation.file, line, col, None, "replay", str(exc)))
        if conversation.id in selected:
            results.append(result)
    return results


def check_keys(files: list[ConversationFile]) -> None:
    """Refuse, before anything runs, a team whose models need an API key that is not set."""
    for file in files:
        compile_team(file.team, model_override=file.model, store=False).check_keys()


def selected(files: list[ConversationFile], select: str | None) -> set[str]:
    """The ids of the conversations a ``-k`` expression chooses (all, without one)."""
    selector = Selector(select)
    return {c.id for f in files for c in f.conversations if selector.matches(c.id)}


def run_conversations(
    files: list[ConversationFile],
    options: RunOptions = RunOptions(),
    *,
    on_start: Callable[[Conversation], None] | None = None,
    on_result: Callable[[ConversationResult], None] | None = None,
    ids: set[str] | None = None,
) -> list[ConversationResult]:
    """Run every selected conversation of ``files``; results in file order. UsageError when the
    selection is empty or a --keep-store directory is not empty. ``ids`` chooses conversations by id
    instead of ``options.select``."""
    chosen = ids if ids is not None else selected(files, options.select)
    if not chosen:
        raise UsageError(
            f"no conversation matches -k {options.select!r}" if options.select else "no conversations to run"
        )
    if not options.replay:
        check_keys(files)
    work = [(f, g) for f in files for g in groups(f) if any(c.id in chosen for c in g)]
    order = {c.id: i for i, c in enumerate(c for f in files for c in f.conversations)}
    stop = threading.Event()
    results: list[ConversationResult] = []
    jobs = max(1, options.jobs or os.cpu_count() or 1)

    def one(file: ConversationFile, group: list[Conversation]) -> list[ConversationResult]:
        if on_start is not None:
            for conversation in group:
                if conversation.id in chosen:
                    on_start(conversation)
        return _run_group(file, group, chosen, options, stop)

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="conversation") as pool:
        pending: set[Future[list[ConversationResult]]] = set()
        queue = list(work)
        while queue or pending:
            while queue and len(pending) < jobs and not stop.is_set():
                pending.add(pool.submit(one, *queue.pop(0)))
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                for result in future.result():
                    results.append(result)
                    if on_result is not None:
                        on_result(result)
                    if options.fail_fast and not result.passed:
                        stop.set()
            if stop.is_set():
                queue.clear()
    return sorted(results, key=lambda r: order[r.conversation.id])

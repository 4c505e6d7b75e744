"""Every error a user can see, in one place.

Each error renders as one line a person can act on: where (file, line, column, key), what is wrong,
and how to fix it. The CLI prints ``str(error)`` and exits with ``error.exit_code``; nothing else is
needed to report it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2


Severity = Literal["error", "warning", "note"]
_ONE_LINE_CHARS = "".join(chr(c) for c in range(32) if chr(c) != "\t") + "\x7f\u2028\u2029\x85"
_ONE_LINE = {ord(ch): ch.encode("unicode_escape").decode("ascii") for ch in _ONE_LINE_CHARS}


@dataclass(frozen=True)
class Problem:
    """One located problem in a team file: ``FILE:LINE:COL: PATH: message; fix``.

    Errors stop a file from loading; warnings and notes are shown (``FILE:LINE:COL: warning: ...``)
    and the file is still used.
    """

    file: str
    line: int
    col: int
    path: str  # a JSON path such as "$.members[1].name"; "$" for the whole document
    message: str
    fix: str = ""
    severity: Severity = "error"

    def __str__(self) -> str:
        label = "" if self.severity == "error" else f"{self.severity}: "
        text = f"{self.file}:{self.line}:{self.col}: {label}{self.path}: {self.message}"
        text = f"{text}; {self.fix}" if self.fix else text
        # One line, whatever a value in it held: line breaks and control characters are escaped.
        return text.translate(_ONE_LINE) if any(ch in text for ch in _ONE_LINE_CHARS) else text

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
            "severity": self.severity,
        }


def type_name(value: object) -> str:
    """How a value reads to a person: "a string", "an integer", "a mapping", "a list" ..."""
    if value is None:
        return "null (empty)"
    names = ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"))
    for cls, name in names:
        if isinstance(value, cls):
            return name
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


class AgnoYamlError(Exception):
    """Base of every error meant for a person. ``str(e)`` is the whole report."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(AgnoYamlError):
    """A team file (or another YAML input) has one or more problems; all of them are listed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(AgnoYamlError):
    """The command line asks for something that cannot be done (bad flag combination, bad id)."""


class ToolImportError(AgnoYamlError):
    """A ``module:function`` tool reference could not be imported or is not callable."""


class SessionError(AgnoYamlError):
    """A session cannot be used as asked: not found, or owned by another user."""


class StoreError(AgnoYamlError):
    """The session store cannot be read or written (lock timeout, unreadable file)."""

    exit_code = EXIT_RUN_FAILED


class ModelError(AgnoYamlError):
    """A model call failed: missing key, authentication, unknown model, retries exhausted."""

    exit_code = EXIT_RUN_FAILED

    def __init__(self, message: str, *, kind: str = "error", retryable: bool = False) -> None:
        self.kind = kind  # missing_key | refused | auth | not_found | rate_limit | server | timeout | connection | bad_request | error
        self.retryable = retryable
        super().__init__(message)


class Interrupted(KeyboardInterrupt):
    """A turn stopped from outside: Ctrl-C (SIGINT), SIGTERM (``timeout``, ``docker stop``, a
    cancelled CI job) or SIGHUP (a closed terminal). The turn is stored as cancelled before this
    propagates; ``run_id`` and ``session_id`` say where."""

    NAMES = {2: "Ctrl-C", 15: "SIGTERM", 1: "SIGHUP"}

    def __init__(self, signum: int = 2, *, run_id: str | None = None, session_id: str | None = None) -> None:
        self.signum = signum
        self.run_id = run_id
        self.session_id = session_id
        super().__init__(f"stopped by {self.NAMES.get(signum, f'signal {signum}')}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # what a shell reports for a process ended by the signal


class MissingKeyError(ModelError):
    """A model needs an API key that is not set: found before the run starts, so nothing is stored."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="missing_key")

"""``-k``: choose conversations by words of their ``FILE::NAME`` id, as pytest's ``-k`` does.

A word matches when it appears in the id, ignoring case; words combine with ``and``, ``or``,
``not`` and parentheses: ``-k "french and not joke"``. A bare phrase with spaces (``-k "french
user"``) matches as one phrase when it is not an expression.
"""

from __future__ import annotations

import re

from ..errors import UsageError

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
_OPERATORS = {"and", "or", "not"}


class Selector:
    def __init__(self, expression: str | None) -> None:
        self.expression = (expression or "").strip()
        self.tokens = [m.group(1) for m in _TOKEN.finditer(self.expression)]
        self.phrase = not any(t in _OPERATORS or t in "()" for t in self.tokens)
        if self.tokens and not self.phrase:
            self._check()

    def _check(self) -> None:
        self._pos = 0
        try:
            self._or("")
            if self._pos != len(self.tokens):
                raise ValueError(f"unexpected {self.tokens[self._pos]!r}")
        except (ValueError, IndexError) as exc:
            why = str(exc) if isinstance(exc, ValueError) else "it ends too early"
            raise UsageError(
                f'-k {self.expression!r} is not an expression ({why}); e.g. -k "french and not joke"'
            ) from None

    def matches(self, conversation_id: str) -> bool:
        if not self.tokens:
            return True
        text = conversation_id.casefold()
        if self.phrase:
            return self.expression.casefold() in text
        self._pos = 0
        return self._or(text)

    # A small recursive-descent evaluator: or -> and -> not -> word | ( or ).
    def _or(self, text: str) -> bool:
        value = self._and(text)
        while self._peek() == "or":
            self._pos += 1
            value = self._and(text) or value
        return value

    def _and(self, text: str) -> bool:
        value = self._not(text)
        while self._peek() == "and":
            self._pos += 1
            value = self._not(text) and value
        return value

    def _not(self, text: str) -> bool:
        if self._peek() == "not":
            self._pos += 1
            return not self._not(text)
        token = self.tokens[self._pos]
        self._pos += 1
        if token == "(":
            value = self._or(text)
            if self._peek() != ")":
                raise ValueError("a ( is not closed")
            self._pos += 1
            return value
        if token in _OPERATORS or token == ")":
            raise ValueError(f"unexpected {token!r}")
        return token.casefold() in text

    def _peek(self) -> str | None:
        return self.tokens[self._pos] if self._pos < len(self.tokens) else None

"""Read a YAML file safely and remember where every value came from.

PyYAML's own loaders silently keep the last of two equal keys and expand aliases without limit
(a "billion laughs" file takes minutes and gigabytes). So the file is only *composed* into nodes
(which carry line/column marks and share aliased subtrees instead of copying them), and Python data
is built here from the nodes with duplicate keys rejected, after counting (without expanding) how
many values the aliases would produce. Nothing here knows about teams: conversation files use it too.
"""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
import yaml.reader
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import ConfigError, Problem, type_name

MAX_BYTES = 1024 * 1024
# Far above any real config (a team file has a few hundred nodes) and small enough to stop in ms.
MAX_NODES = 100_000

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"

PathItem = str | int
JsonPath = tuple[PathItem, ...]
# Called for every scalar value (not keys); returns the Python value to use for it.
ScalarHook = Callable[[ScalarNode, JsonPath], Any]


def json_path(path: Sequence[Any]) -> str:
    """Render a path as ``$.members[1].model``; keys that are not plain words are quoted."""
    out = "$"
    for item in path:
        if isinstance(item, int) and not isinstance(item, bool):
            out += f"[{item}]"
        elif isinstance(item, str) and item.isidentifier():
            out += f".{item}"
        else:
            out += f"[{str(item)!r}]"
    return out


def is_plain(node: ScalarNode) -> bool:
    """An unquoted scalar. (libyaml reports the plain style as "", the Python parser as None.)"""
    return not node.style


class _Cycle(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


def expanded_size(root: Node, limit: int = MAX_NODES) -> int:
    """How many values the document has once every alias is expanded, without expanding it.

    Aliased subtrees are shared node objects, so sizes are memoised per node: a billion-laughs file
    of nine nested aliases is counted in microseconds and refused before anything is built.
    Raises _Cycle for an alias inside the node it names.
    """
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise _Cycle(node)
        if isinstance(node, ScalarNode):
            return 1
        visiting.add(key)
        children = [n for pair in node.value for n in pair] if isinstance(node, MappingNode) else node.value
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                break  # the answer is already "too big"; stop walking
        visiting.discard(key)
        sizes[key] = total
        return total

    return size(root)


_SCALARS = SafeConstructor()
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def construct_scalar(node: ScalarNode) -> Any:
    """The value PyYAML's safe loader gives a scalar (int, float, bool, None, date, str ...)."""
    # Calling the tag's constructor directly, not construct_object, because that one caches every
    # node it ever saw on the constructor and would keep whole documents alive.
    table = SafeConstructor.yaml_constructors
    build = table.get(node.tag) or table[None]  # None: the "unknown tag" constructor, which raises
    return build(_SCALARS, node)


def default_scalar(node: ScalarNode, path: JsonPath) -> Any:
    return construct_scalar(node)


@dataclass(frozen=True)
class YamlDoc:
    """A composed YAML document: its node tree (with marks) and the Python data built from it."""

    file: str
    text: str
    root: Node
    data: Any

    # -- building data ---------------------------------------------------------------------------

    def construct(self, scalar: ScalarHook = default_scalar) -> Any:
        """Build the data again with ``scalar`` deciding each scalar value (interpolation uses this)."""
        return _build(self.root, (), scalar, [])

    # -- finding marks ---------------------------------------------------------------------------

    def node_at(self, path: Sequence[PathItem]) -> Node | None:
        """The value node at ``path``, or None when the path leaves the document."""
        node: Node | None = self.root
        for item in path:
            node = _child(node, item)
            if node is None:
                return None
        return node

    def nearest_node(self, path: Sequence[PathItem]) -> Node:
        """The node at ``path``, else its deepest ancestor that exists (for missing keys)."""
        node: Node = self.root
        for item in path:
            child = _child(node, item)
            if child is None:
                break
            node = child
        return node

    def mark(self, path: Sequence[PathItem]) -> tuple[int, int]:
        """1-based (line, column) of the value at ``path`` (or of its nearest existing ancestor)."""
        return _pos(self.nearest_node(path))

    def key_node(self, path: Sequence[PathItem], key: Any) -> Node | None:
        """The key node of ``key`` inside the mapping at ``path``."""
        node = self.node_at(path)
        if not isinstance(node, MappingNode):
            return None
        for key_node, _ in _pairs(node):
            if isinstance(key_node, ScalarNode) and _key_value(key_node) == key:
                return key_node
        return None

    def key_mark(self, path: Sequence[PathItem], key: Any) -> tuple[int, int]:
        """1-based (line, column) of the key ``key`` in the mapping at ``path`` (unknown-key reports)."""
        node = self.key_node(path, key)
        return _pos(node) if node is not None else self.mark(path)

    def position(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset in the text (for spots inside a scalar)."""
        line = self.text.count("\n", 0, index) + 1
        return line, index - (self.text.rfind("\n", 0, index) + 1) + 1

    def problem(
        self, path: Sequence[PathItem], message: str, fix: str = "", *, at_key: Any = None
    ) -> Problem:
        """A Problem located at the value at ``path``, or at the key ``at_key`` inside it."""
        if at_key is None:
            line, col = self.mark(path)
            return Problem(self.file, line, col, json_path(path), message, fix)
        line, col = self.key_mark(path, at_key)
        return Problem(self.file, line, col, json_path([*path, at_key]), message, fix)


def _pos(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _key_value(node: ScalarNode) -> Any:
    try:
        return construct_scalar(node)
    except (ConstructorError, ValueError):
        return node.value


def _pairs(node: MappingNode) -> list[tuple[Node, Node]]:
    """The mapping's own pairs, then pairs pulled in by ``<<`` merge keys (own keys win)."""
    own = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
    merged: list[tuple[Node, Node]] = []
    for k, v in node.value:
        if k.tag != _MERGE_TAG:
            continue
        sources = v.value if isinstance(v, SequenceNode) else [v]
        for src in sources:
            if isinstance(src, MappingNode):
                merged.extend(_pairs(src))
    return own + merged


def _child(node: Node | None, item: PathItem) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in _pairs(node):
            if isinstance(key_node, ScalarNode) and _key_value(key_node) == item:
                return value_node
        return None
    if isinstance(node, SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
        child: Node = node.value[item]
        return child
    return None


# A problem found while building: where (node and path), what, and the fix.
_Found = tuple[Node, JsonPath, str, str]
_DUP_FIX = "remove one of them (YAML would silently keep only the last)"


def _build(node: Node, path: JsonPath, scalar: ScalarHook, problems: list[_Found]) -> Any:
    # Only called after expanded_size() said the expansion is finite and small.
    if isinstance(node, ScalarNode):
        return scalar(node, path)
    if node.tag not in _COLLECTION_TAGS:
        # Only plain maps and lists: explicit tags (!!python/object, !!set ...) are refused.
        raise ConstructorError(None, None, f"the tag {node.tag} is not allowed", node.start_mark)
    if isinstance(node, SequenceNode):
        return [_build(child, (*path, i), scalar, problems) for i, child in enumerate(node.value)]
    if isinstance(node, MappingNode):
        return _build_mapping(node, path, scalar, problems)
    raise ConstructorError(None, None, f"unsupported node {node.tag}", node.start_mark)


def _build_mapping(
    node: MappingNode, path: JsonPath, scalar: ScalarHook, problems: list[_Found]
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    first_key_node: dict[Any, Node] = {}
    merges: list[Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            merges.append(value_node)
            continue
        if not isinstance(key_node, ScalarNode):
            problems.append(
                (key_node, path, "a key must be a plain value, not a list or mapping", "use a text key")
            )
            continue
        key = _key_value(key_node)
        if key in first_key_node:
            first = first_key_node[key].start_mark.line + 1
            message = f"duplicate key {key_node.value!r}; the first one is at line {first}"
            problems.append((key_node, (*path, key), message, _DUP_FIX))
            continue
        first_key_node[key] = key_node
        out[key] = _build(value_node, (*path, key), scalar, problems)
    for merge in merges:
        # `<<: *defaults` fills in keys the mapping does not set itself; that is not a duplicate.
        sources = merge.value if isinstance(merge, SequenceNode) else [merge]
        for src in sources:
            if not isinstance(src, MappingNode):
                problems.append(
                    (merge, path, "a merge key (<<) needs a mapping or a list of mappings", "write <<: *name")
                )
                continue
            for key, value in _build_mapping(src, path, scalar, problems).items():
                out.setdefault(key, value)
    return out


def _syntax_problem(file: str, text: str, err: yaml.YAMLError) -> Problem:
    if isinstance(err, yaml.reader.ReaderError):  # a control character or similar, before any parsing
        at = max(0, min(int(err.position), len(text)))
        line = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        char = err.character if isinstance(err.character, str) else chr(err.character)
        return Problem(
            file, line, col, "$", f"YAML does not allow the character {char!r} ({err.reason})",
            "remove it, or write it as an escape (\\x1f) inside a double-quoted string",
        )  # fmt: skip
    context = getattr(err, "context", None) or ""
    ctx_mark = getattr(err, "context_mark", None)
    if "quoted scalar" in context and ctx_mark is not None and "end of stream" in str(err):
        # Reported at the end of the file by the parser; the mistake is the quote that opens it.
        quote = text[ctx_mark.index : ctx_mark.index + 1] or '"'
        return Problem(
            file, ctx_mark.line + 1, ctx_mark.column + 1, "$",
            f"YAML syntax error: the quote {quote} opened here is never closed",
            f"add the closing {quote} at the end of the value",
        )  # fmt: skip
    mark = getattr(err, "problem_mark", None) or ctx_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    what = getattr(err, "problem", None) or str(err)
    if context and ctx_mark is not None and ctx_mark is not mark:
        what = f"{what} ({context} started at line {ctx_mark.line + 1}, column {ctx_mark.column + 1})"
    fix = "check the indentation and quoting here; quote values that contain ': ', '#', '{', '[' or start with '*', '&', '!', '%', '@'"
    if "flow" in what and "${" in text:
        fix = "inside [...] or {...}, quote ${VAR} references ('${VAR}'), or write the mapping as indented lines"
    lines = text.splitlines()
    bad_line = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in bad_line[: len(bad_line) - len(bad_line.lstrip())]:
        fix = "indent with spaces; YAML does not allow tabs"
    return Problem(file, line, col, "$", f"YAML syntax error: {' '.join(str(what).split())}", fix)


def _fail(file: str, message: str, fix: str, node: Node | None = None, path: JsonPath = ()) -> ConfigError:
    line, col = _pos(node) if node is not None else (1, 1)
    return ConfigError([Problem(file, line, col, json_path(path), message, fix)])


def parse_yaml(text: str, file: str = "<string>", *, expect: type = dict) -> YamlDoc:
    """Compose and build ``text``; raise ConfigError with every problem found.

    ``expect`` is the type the whole document must have (a mapping for team and conversation files).
    """
    if len(text) > MAX_BYTES:
        raise _fail(
            file, f"the text is larger than {MAX_BYTES // 1024} KiB", "split it or remove unused content"
        )
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as err:
        raise ConfigError([_syntax_problem(file, text, err)]) from None
    if root is None or (isinstance(root, ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
        raise _fail(file, "the file is empty", "write a YAML mapping, for example `name: My Team`")
    problems: list[_Found] = []
    try:
        if expanded_size(root) > MAX_NODES:
            message = f"the document expands to more than {MAX_NODES} values through aliases (*name)"
            raise _fail(file, message, "use fewer nested aliases; write the values out instead")
        data = _build(root, (), default_scalar, problems)
    except _Cycle as cyc:
        raise _fail(
            file,
            "an alias refers to a node that contains it (a cycle)",
            "remove the recursive alias",
            cyc.node,
        ) from None
    except RecursionError:
        raise _fail(file, "the document is nested too deeply", "flatten it") from None
    except (ConstructorError, ValueError) as err:
        mark = getattr(err, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = f"cannot read this value: {getattr(err, 'problem', None) or err}"
        fix = "only plain YAML is allowed (no !!python tags); quote the value to keep it as text"
        raise ConfigError([Problem(file, line, col, "$", what, fix)]) from None
    if problems:
        found = [
            Problem(file, *_pos(node), json_path(path), message, fix) for node, path, message, fix in problems
        ]
        raise ConfigError(found)
    if not isinstance(data, expect):
        kind = "mapping (key: value lines)" if expect is dict else type_name(expect())
        message = f"the document is {type_name(data)}, not a {kind}"
        raise _fail(file, message, "write the file as key: value lines, for example `name: My Team`", root)
    return YamlDoc(file, text, root, data)


def read_text(path: str | os.PathLike[str], file: str | None = None) -> str:
    """Read a UTF-8 file, refusing big files before reading them; problems come as ConfigError."""
    shown = file if file is not None else os.fspath(path)
    p = Path(path)
    try:
        info = p.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(os.fspath(path))
        if not stat.S_ISREG(info.st_mode):
            # Opening a FIFO would wait forever for a writer; a device or socket is no YAML file.
            kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
            raise _fail(shown, f"this is {kind}, not a file", "name a .yaml file")
        size = info.st_size
        if size > MAX_BYTES:
            message = f"the file is {size} bytes, over the {MAX_BYTES // 1024} KiB limit"
            raise _fail(shown, message, "split it or remove unused content")
        with p.open("r", encoding="utf-8-sig") as fh:
            return fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _fail(shown, "no such file", _similar_files(p) or "check the path") from None
    except IsADirectoryError:
        raise _fail(shown, "this is a directory, not a file", "name a .yaml file") from None
    except UnicodeDecodeError as err:
        message = f"the file is not UTF-8 text ({err.reason} at byte {err.start})"
        raise _fail(shown, message, "save it as UTF-8") from None
    except OSError as err:
        message = f"cannot read the file: {err.strerror or err}"
        raise _fail(shown, message, "check that it exists and is readable") from None


def load_yaml(path: str | os.PathLike[str], *, expect: type = dict) -> YamlDoc:
    """Read and parse a YAML file; every problem is raised as one ConfigError."""
    file = os.fspath(path)
    return parse_yaml(read_text(path, file), file, expect=expect)


def _similar_files(path: Path) -> str:
    try:
        names = [p.name for p in path.parent.iterdir() if p.suffix in (".yaml", ".yml")]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1)
    return f"did you mean {path.parent / close[0]}?" if close else ""

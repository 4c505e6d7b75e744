"""The files of the TinyDB backend: safe file names, a TinyDB ``Storage`` that never leaves a
half-written file behind, and the open/lock primitives every store file goes through (shared by
the backend, ``segments`` and ``user_index``).

TinyDB's own ``JSONStorage`` rewrites the file in place (seek, write, truncate): a kill in the
middle leaves a corrupt file, measured at 3 of 255 kills (deps-measured.md section 2). This
storage writes a temporary file next to the target, fsyncs it, swaps it in with ``os.replace``
(atomic on POSIX and Windows) and fsyncs the directory so the swap itself survives a power cut.
A reader therefore sees either the old file or the new one, never a mix.

The files stay plain JSON that stock ``tinydb.TinyDB(path)`` opens and queries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any, Literal

from tinydb import TinyDB
from tinydb.storages import Storage

from ...errors import StoreError

TEMP_PREFIX = ".tmp-"
Layout = Literal["pretty", "lines"]
Tables = dict[str, dict[str, Any]]


_KEEP = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_@+.")
_NAME_MAX = 96
# Windows refuses these as file names whatever the extension.
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(1, 10)] + [f"lpt{i}" for i in range(1, 10)]
)


def encode_id(value: str) -> str:
    """A file name for an arbitrary id; the real id is kept inside the documents.

    Lowercase letters, digits and ``-_@+.`` stay readable, so ``user@example.com`` is still
    recognisable; everything else becomes ``%XX`` of its UTF-8 bytes, and a leading or trailing
    dot is escaped (no hidden files, no ``..``, no Windows trailing-dot trap). Uppercase letters
    are kept, but an id containing any gets a hash suffix, because on case-insensitive
    filesystems "Alice" and "alice" would otherwise share a file. Long ids and Windows device
    names are bounded the same way. ``~`` is always escaped, so the suffix is unambiguous.
    """
    raw = value.encode("utf-8", "surrogatepass")
    out: list[str] = []
    last = len(value) - 1
    for i, ch in enumerate(value):
        if (ch in _KEEP and not (ch == "." and i in (0, last))) or "A" <= ch <= "Z":
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    name = "".join(out)
    stem = name.split(".", 1)[0].lower()
    if any("A" <= ch <= "Z" for ch in value) or len(name) > _NAME_MAX or stem in _RESERVED:
        cut = name[:_NAME_MAX]
        # Do not leave a dangling half escape such as "%2" before the suffix.
        pct = cut.rfind("%", max(0, len(cut) - 2))
        if pct != -1:
            cut = cut[:pct]
        name = f"{cut}~{hashlib.sha256(raw).hexdigest()[:16]}"
    return name


def fsync_dir(path: str) -> None:
    """Make a rename in ``path`` durable. Windows cannot open directories; there it is a no-op."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a directory; the rename is still atomic
        pass
    finally:
        os.close(fd)


def dumps_lines(data: Tables) -> str:
    """One document per line.

    ``json.dumps(indent=...)`` falls back to the pure-Python encoder and measured 3x slower than
    compact output on a 32-run segment (0.95 ms vs 0.31 ms). Encoding each document compactly
    with the C encoder and putting each on its own line keeps that speed while leaving the file
    greppable and diffable run by run.
    """
    parts: list[str] = ["{"]
    for t, (table, docs) in enumerate(data.items()):
        parts.append(("," if t else "") + "\n" + json.dumps(table) + ": {")
        for d, (doc_id, doc) in enumerate(docs.items()):
            parts.append(("," if d else "") + "\n" + json.dumps(str(doc_id)) + ": " + json.dumps(doc))
        parts.append("\n}")
    parts.append("\n}\n")
    return "".join(parts)


def dumps_pretty(data: Tables) -> str:
    # For small documents people read by hand (session.json, a user's index); indent=1 is cheap there.
    return json.dumps(data, indent=1) + "\n"


class AtomicJSONStorage(Storage):
    """Whole-file JSON storage with atomic replace.

    An instance is meant to live for one store operation, under the session's lock. It remembers
    the data it last read or wrote, because TinyDB reads the whole file again before every write
    (``insert`` reads once for the next id and once more to update): without the memory, each
    append would parse the segment two or three times. Holding the lock makes the memory exact;
    nothing else may change the file while it is held.

    Output is ASCII-only (``ensure_ascii``) so stock TinyDB, which opens files in the locale's
    encoding, reads it correctly on any machine.
    """

    def __init__(self, path: str | os.PathLike[str], *, layout: Layout = "lines", memo: bool = True) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.layout: Layout = layout
        self.memo = memo
        self._data: Tables | None = None

    def read(self) -> Tables | None:
        if self.memo and self._data is not None:
            return self._data
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StoreError(f"cannot read session store file {self.path}: {e.strerror or e}") from e
        if not text.strip():
            return None  # stock TinyDB creates empty files; treat them as an empty database
        data = self.parse(text, self.path)
        self._data = data if self.memo else None
        return data

    @staticmethod
    def parse(text: str, path: str) -> Tables:
        return parse_tables(text, path)

    def write(self, data: Tables) -> None:
        text = dumps_lines(data) if self.layout == "lines" else dumps_pretty(data)
        directory = os.path.dirname(self.path) or "."
        # Forget what we knew first: if the write fails, the file on disk is the truth again.
        self._data = None
        try:
            # Named after the target, so whoever next holds its lock can remove a killed writer's leftovers.
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=temp_prefix(self.path), suffix=".json")
        except OSError as e:
            raise StoreError(f"cannot write session store file {self.path}: {e.strerror or e}") from e
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException as e:
            # BaseException too: a KeyboardInterrupt must not leave .tmp-* files behind.
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(e, OSError):
                raise StoreError(f"cannot write session store file {self.path}: {e.strerror or e}") from e
            raise
        fsync_dir(directory)
        if self.memo:
            self._data = data

    def close(self) -> None:
        self._data = None


class DamagedFile(StoreError):
    """A store file that cannot be read as what this version writes. ``reason`` says why, without the path."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path} is damaged: {reason}")


def parse_tables(text: str, path: str) -> Tables:
    """The tables of a TinyDB file's text; DamagedFile when it is not JSON or not tables of documents."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DamagedFile(path, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    if not isinstance(data, dict):
        raise DamagedFile(path, "not a TinyDB database (the top level is not an object)")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise DamagedFile(path, f"table {name!r} is not an object of documents")
        for key, doc in table.items():
            if not key.isdigit() or not isinstance(doc, dict):
                raise DamagedFile(
                    path, f"table {name!r} has an entry {key!r} that is not a numbered document"
                )
    return data


def temp_prefix(path: str) -> str:
    return f"{TEMP_PREFIX}{os.path.basename(path)}-"


def remove_temp_files(path: str) -> None:
    """Remove what killed writers of ``path`` left behind. Call it holding ``path``'s lock: no live
    writer of that file exists then, so every such temporary file is a leftover."""
    directory = os.path.dirname(path) or "."
    prefix = temp_prefix(path)
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(prefix):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


def open_db(path: str, layout: Layout = "lines") -> TinyDB:
    """A TinyDB on ``path`` through ``AtomicJSONStorage``; use it as a context manager so it closes."""
    return TinyDB(path, storage=AtomicJSONStorage, layout=layout)


@contextlib.contextmanager
def locked(lock_path: str, what: str, timeout: float) -> Iterator[None]:
    """Hold the file lock ``lock_path``; a timeout or an unusable lock file becomes a StoreError
    that names ``what`` is locked, so the user knows which other run to wait for."""
    # Imported here: filelock pulls in asyncio (~35 ms), which read-only commands never need.
    from filelock import FileLock, Timeout

    lock = FileLock(lock_path, timeout=timeout)
    try:
        lock.acquire()
    except Timeout as e:
        raise StoreError(
            f"{what} is locked by another process: waited {timeout:g}s for {lock_path}; "
            "wait for the other agno-run to finish and try again"
        ) from e
    except OSError as e:
        raise StoreError(f"cannot create lock file {lock_path}: {e.strerror or e}") from e
    try:
        yield
    finally:
        lock.release()

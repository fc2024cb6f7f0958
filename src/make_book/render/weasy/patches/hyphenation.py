"""Hyphenation dictionaries parsed once per machine, not once per process.

Replaces: no code. Puts a `pyphen.HyphDict` into `pyphen.hdcache` (pyphen's own cache of
parsed dictionaries, keyed by path, which `pyphen.Pyphen` looks in before it parses),
made from a copy of an earlier parse kept as JSON.
Why: WeasyPrint hyphenates through pyphen, which parses a language's whole dictionary
the first time a process needs it: 0.07 to 0.09 s for English's 14,000 patterns, in
every layout worker, on the way to an edit's one piece (the worker's warm-up). Read
from the copy, it takes 0.005 s.
Guarded: pyphen has `hdcache`, `HyphDict`, `LANGUAGES` and `language_fallback`, and
`Pyphen.__init__` looks in `hdcache`; a parsed HyphDict holds exactly `patterns`
(each an offset and whole-number values), `cache` and `maxlen`, or no copy is made. A
copy names pyphen's version and the dictionary file's size and modification time: if
any differs, or the copy does not read back as one, pyphen parses as before and the
copy is written again.
Kept: in ${XDG_CACHE_HOME:-~/.cache}/make-book/hyphenation/, the user's own. JSON, never
code, and nothing of any book: only pyphen's patterns. Removing the folder is safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pyphen

from make_book.errors import BookError

FORMAT = 1  # of the JSON copy: a new layout gets a new number, and old copies are parsed over
ATTRIBUTES = ["cache", "maxlen", "patterns"]  # a HyphDict's, sorted
COPY_LIMIT = 16 * 1024 * 1024  # bytes: English's copy is 180 KB; a bigger file is not ours
_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def shape_problem() -> str | None:
    """What in pyphen differs from what this was written for (None: nothing)."""
    for name, kind in (("hdcache", dict), ("LANGUAGES", dict), ("HyphDict", type)):
        if not isinstance(getattr(pyphen, name, None), kind):
            return f"pyphen.{name} is missing"
    if not callable(getattr(pyphen, "language_fallback", None)):
        return "pyphen.language_fallback is missing"
    init = getattr(getattr(pyphen, "Pyphen", None), "__init__", None)
    if "hdcache" not in getattr(getattr(init, "__code__", None), "co_names", ()):
        return "pyphen.Pyphen no longer looks in pyphen.hdcache"
    return None


def folder() -> Path:
    """${XDG_CACHE_HOME:-~/.cache}/make-book/hyphenation (a relative XDG value is ignored,
    as the XDG specification says)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "make-book" / "hyphenation"


def preload(language: str) -> None:
    """Have pyphen's dictionary for `language` (a BCP 47 tag) parsed in this process,
    from the copy when there is a good one. Does nothing for a language pyphen has no
    dictionary for, or when pyphen is not the shape this was written for; never raises."""
    if not language or shape_problem() is not None:
        return
    with contextlib.suppress(Exception):  # at worst, pyphen parses when it needs it
        name = pyphen.language_fallback(language)
        path = pyphen.LANGUAGES.get(name) if name else None
        if path is not None and path not in pyphen.hdcache:
            copied = _from_copy(path)
            if copied is not None:
                pyphen.hdcache[path] = copied
                return
            pyphen.hdcache[path] = parsed = pyphen.HyphDict(path)  # kept, whatever follows
            _copy(path, parsed)


def _source(path: Path) -> list[int]:
    """What a copy is checked against: the dictionary file's size and time."""
    found = os.stat(path)
    return [found.st_size, found.st_mtime_ns]


def _copy_path(path: Path) -> Path:
    """Where the copy of the dictionary at `path` goes: named for the file and the place
    of its pyphen, so that two installs (two virtual environments) keep a copy each."""
    place = hashlib.sha256(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return folder() / f"{path.stem}-{place}.json"


def _from_copy(path: Path) -> Any | None:
    """The HyphDict the copy of `path` describes, or None (no copy, or not a good one)."""
    try:
        data = json.loads(_read_copy(_copy_path(path)))
        if [data["format"], data["pyphen"], data["source"], data["attributes"]] != [
            FORMAT,
            pyphen.__version__,
            _source(path),
            ATTRIBUTES,
        ]:
            return None
        return _restored(data["table"], data["keys"], data["index"], data["maxlen"])
    except Exception:  # noqa: BLE001 - whatever the file holds, it is parsed over
        return None


def _read_copy(copy: Path) -> bytes:
    """The copy's bytes, if it is a regular file of a sane size (a FIFO is not waited for)."""
    fd = os.open(copy, _READ)
    with os.fdopen(fd, "rb") as stream:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_size > COPY_LIMIT:
            raise ValueError(f"{copy} is not a copy")
        return stream.read(COPY_LIMIT + 1)


def _restored(table: Any, keys: Any, index: Any, maxlen: Any) -> Any | None:
    values = [(start, tuple(vs)) for start, vs in table]
    if not _whole_numbers(values) or not all(type(key) is str for key in keys):
        return None
    if not (isinstance(maxlen, int) and isinstance(index, list) and len(keys) == len(index)):
        return None
    restored = pyphen.HyphDict.__new__(pyphen.HyphDict)
    restored.patterns = dict(zip(keys, map(values.__getitem__, index), strict=True))
    restored.cache = {}
    restored.maxlen = maxlen
    return restored


def _whole_numbers(values: list[tuple[Any, tuple[Any, ...]]]) -> bool:
    """Each pattern's offset and values are ints (some languages' dictionaries give
    pyphen objects of its own there: those are not copied)."""
    return all(type(start) is int and all(type(v) is int for v in vs) for start, vs in values)


def _copy(path: Path, parsed: Any) -> None:
    """Write a copy of pyphen's parse of `path` for the next process (not when the parse
    holds anything but numbers, or is not the shape a copy restores)."""
    values = list(dict.fromkeys(parsed.patterns.values()))
    if sorted(vars(parsed)) == ATTRIBUTES and _whole_numbers(values):
        number = {value: i for i, value in enumerate(values)}
        copy = {
            "format": FORMAT,
            "pyphen": pyphen.__version__,
            "source": _source(path),
            "attributes": ATTRIBUTES,
            "maxlen": parsed.maxlen,
            "table": [[start, list(vs)] for start, vs in values],
            "keys": list(parsed.patterns),
            "index": [number[value] for value in parsed.patterns.values()],
        }
        # Imported only to write, once per machine: a worker reading its copy need not.
        from make_book.publish.atomic import write_atomic

        # Whole or not at all (two workers may write the same copy at once); a read-only
        # home, or no room, and it is parsed again next time.
        with contextlib.suppress(OSError, BookError):
            target = _copy_path(path)
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(target, json.dumps(copy, ensure_ascii=False))

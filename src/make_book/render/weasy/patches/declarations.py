"""WeasyPrint's C declarations parsed when make-book is released, not in every process.

Replaces: `cffi.FFI`, while WeasyPrint is imported (lean_import.py, on Linux): the
`FFI()` that `weasyprint/text/ffi.py` makes is then one made from the declarations
already parsed, in the form cffi's own out-of-line ABI mode keeps them
(`_cffi_backend.FFI`, given the type tables `ffi.emit_python_code` writes), and its
`cdef` checks that it is given the very declarations they were made from.
Why: WeasyPrint hands cffi about 500 lines of C declarations at import, which cffi
parses with pycparser: 0.02 s, and 0.015 s to import pycparser, in every layout worker
on the way to an edit's one piece. Each type named in a string later (`ffi.new(
"PangoRectangle *")`) was parsed by pycparser too (0.03 to 0.05 s of a worker's
warm-up); the out-of-line FFI reads such a string with cffi's own C parser. Measured:
a worker's import and warm-up took 0.20 s instead of 0.275 s. The libraries, the C
types and the calls are the same; only where the declarations are parsed moves.
Kept: `ffi_declarations.txt` beside this module, written by
tools/weasyprint_declarations.py from the WeasyPrint it names: Python literals (bytes,
numbers, tuples) read with `ast.literal_eval`, never run.
Guarded: used only if WeasyPrint's `text/ffi.py` is byte for byte the file the
declarations were made from (its sha256), the backend takes them (it checks their
format's version), and WeasyPrint's `cdef` gives the same declarations (their sha256),
with no options; else `ShapeChanged`, and WeasyPrint is imported the usual way. Only
`weasyprint/text/ffi.py`'s `cffi.FFI()` gets them: any other FFI made meanwhile is
cffi's own.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from make_book.render.weasy.patches.fence import ShapeChanged

DATA = Path(__file__).with_name("ffi_declarations.txt")
SIZE_LIMIT = 1024 * 1024  # bytes: WeasyPrint 70's take 29 KB


@contextlib.contextmanager
def prebuilt() -> Iterator[bool]:
    """While inside, `cffi.FFI()` gives the prebuilt declarations, if they fit the
    installed WeasyPrint (says True); else nothing changes (says False)."""
    declared = _declared()
    if declared is None:
        yield False
        return
    import cffi

    make = cffi.FFI

    def made(*args: Any, **kwargs: Any) -> Any:  # WeasyPrint's one FFI; any other as usual
        caller = sys._getframe(1).f_globals.get("__name__")
        return declared if caller == "weasyprint.text.ffi" else make(*args, **kwargs)

    cffi.FFI = made
    try:
        yield True
    finally:
        cffi.FFI = make


def _declared() -> Any:
    """A new FFI of the prebuilt declarations, or None where they do not fit."""
    data = read_data()
    if data is None or weasyprint_ffi_digest() != data["ffi_sha256"]:
        return None
    try:
        return declared_class()(data["module"], **data["arguments"])
    except Exception:  # no backend, or one that refuses the tables: the usual way
        return None


@functools.cache
def declared_class() -> Any:
    """The FFI class of prebuilt declarations: cffi's out-of-line one, whose `cdef` only
    checks that it is given the declarations they were made from."""
    import _cffi_backend

    class Declared(_cffi_backend.FFI):  # type: ignore[misc]  # an untyped C class
        def cdef(self, csource: str, override: bool = False, **options: Any) -> None:
            data = read_data()
            made_from = data["cdef_sha256"] if data is not None else None
            if options or override or _digest(csource.encode()) != made_from:
                raise ShapeChanged("WeasyPrint declares other C types than those prebuilt")

    return Declared


@functools.cache
def read_data() -> dict[str, Any] | None:
    """The kept declarations and what they were made from (None: unreadable)."""
    try:
        with DATA.open("rb") as file:
            text = file.read(SIZE_LIMIT + 1)
        if len(text) > SIZE_LIMIT:
            return None
        data = ast.literal_eval(text.decode("utf-8"))
    except (OSError, ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    wanted = {"weasyprint", "cffi", "ffi_sha256", "cdef_sha256", "module", "arguments"}
    if not isinstance(data, dict) or set(data) != wanted:
        return None
    if not isinstance(data["arguments"], dict):
        return None
    return data


def weasyprint_ffi_digest() -> str | None:
    """The sha256 of the installed WeasyPrint's `text/ffi.py`, read without importing it."""
    spec = importlib.util.find_spec("weasyprint")
    if spec is None or spec.origin is None:
        return None
    try:
        return _digest((Path(spec.origin).parent / "text" / "ffi.py").read_bytes())
    except OSError:
        return None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

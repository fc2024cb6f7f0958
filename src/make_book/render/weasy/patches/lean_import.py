"""Importing WeasyPrint without the parts of fontTools it seldom uses, and without
searching for its libraries with a compiler.

WeasyPrint's PDF font module imports `fontTools.subset` (used only when HarfBuzz
cannot subset) and `fontTools.varLib.instancer` (used only for variable fonts) as it
loads. Together they add about 14 MB to every process that lays out: in a layout
worker, which holds little else, that is a sixth of its memory. `import_weasyprint_lean()`
imports WeasyPrint with stand-ins in their place; a stand-in imports the real module
the first time it is used, so nothing changes but when the import happens.

WeasyPrint also names each C library it loads several ways, for every platform, and
tries them in turn: cffi looks up each name it cannot load as it is ("gobject-2.0")
with `ctypes.util.find_library`, which on Linux runs ldconfig and gcc in subprocesses,
in vain, three times a library. That was 0.3 s of each process's 0.7 s import. While
WeasyPrint loads, such a lookup finds nothing at once, and the name on the list that
Linux itself uses ("libgobject-2.0.so.0") is loaded as before. Should one fail,
WeasyPrint is imported again the slow way; for HarfBuzz's subsetter, which WeasyPrint
may do without, only if a search finds it (one `find_library`: a system without it
would otherwise import WeasyPrint twice, 0.2 s more, to end the same). Meanwhile its C
declarations are the ones parsed when make-book was released (declarations.py).
The swap is process-wide and brief: a worker makes it
before it serves; the build's own process (for the cover) while only the progress
display's thread runs, which writes to stderr and loads no library (the build's
chores thread, build/meanwhile.py, is joined before any output is made).

Replaces, while WeasyPrint is imported and no longer: the entries DEFERRED names in
`sys.modules` (stand-ins, taken out again once WeasyPrint is loaded),
`ctypes.util.find_library` and, on Linux, `cffi.FFI` (declarations.py), each put back
in `finally`.
Guarded: only on the WeasyPrint these were written for (70.x, read from its
__init__.py before it is imported); on another it is imported the ordinary way. A
failure of the fast way falls back to the ordinary import too.
Called by `make_book.render.weasy.patches.install()`, or alone by a process that lays
out without the other patches (the build's own, for the cover).
"""

from __future__ import annotations

import contextlib
import ctypes.util
import importlib
import io
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

from make_book.render.weasy.patches import declarations
from make_book.render.weasy.patches.fence import ShapeChanged, expect_weasyprint

# Each module WeasyPrint imports at load time but seldom uses -> the names it takes
# from it with `from module import name` (bound at once, so they must exist up front).
DEFERRED: dict[str, tuple[str, ...]] = {
    "fontTools.subset": (),
    "fontTools.varLib.instancer": ("instantiateVariableFont",),
}


class _OnFirstUse(types.ModuleType):
    """Stands for a module until one of its attributes is asked for."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system's questions (`__path__`…)
            raise AttributeError(name)
        return getattr(importlib.import_module(self.__name__), name)


def _forwarder(module: str, name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def _stand_in(module: str, names: tuple[str, ...]) -> types.ModuleType:
    stand_in = _OnFirstUse(module)
    for name in names:
        setattr(stand_in, name, _forwarder(module, name))
    return stand_in


def import_weasyprint_lean() -> None:
    """Import WeasyPrint (once per process) with DEFERRED modules left for later."""
    if "weasyprint" in sys.modules:
        return
    try:
        expect_weasyprint()
    except ShapeChanged:  # not the WeasyPrint this was written for: the ordinary way
        importlib.import_module("weasyprint.pdf.fonts")
        return
    missing = [name for name in DEFERRED if name not in sys.modules]
    # Only while WeasyPrint loads: afterwards an import of these finds the real module.
    sys.modules.update({name: _stand_in(name, DEFERRED[name]) for name in missing})
    try:
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, ShapeChanged):
                quiet = contextlib.redirect_stdout(io.StringIO())
                with _no_library_search(), declarations.prebuilt(), quiet:
                    importlib.import_module("weasyprint.pdf.fonts")
                if _has_what_a_search_finds(sys.modules["weasyprint.text.ffi"]):
                    return
            _forget("weasyprint")  # its half-made modules; the slow way follows
        importlib.import_module("weasyprint.pdf.fonts")
    finally:
        for name in missing:
            sys.modules.pop(name, None)


@contextlib.contextmanager
def _no_library_search() -> Iterator[None]:
    """ctypes.util.find_library finds nothing (and runs nothing) for a while."""
    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        yield
    finally:
        ctypes.util.find_library = search


def _has_what_a_search_finds(ffi: Any) -> bool:
    """WeasyPrint, loaded without searching, has HarfBuzz's subsetter, or no search would
    find one either (then the usual import, 0.2 s, would end the same: fontTools subsets)."""
    return ffi.harfbuzz_subset is not None or ctypes.util.find_library("harfbuzz-subset") is None


def _forget(package: str) -> None:
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]

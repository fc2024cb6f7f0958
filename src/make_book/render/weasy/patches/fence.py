"""What every patch checks before it changes another library, and how process-wide
changes are held while any thread needs them.

A patch is written against one release of its library. Before it changes anything it
asks `expect_*` here whether the library is that release and its target is there with
the shape the patch relies on; a `ShapeChanged` says what differs, and the patch is
then not installed (or, for the folio hook, the piecewise layout is refused).

Imports no WeasyPrint: the build's own process asks for the version before any
process imports it (lean_import.py).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import inspect
import linecache
import re
import sys
import threading
from collections.abc import Callable, Iterator
from types import CodeType, ModuleType
from typing import Any

# pyproject.toml: weasyprint>=70,<71. The patches were read line by line against 70.0.
WEASYPRINT_SERIES = "70."
WEASYPRINT_RELEASE = "70.0"
REQUIREMENT = "weasyprint>=70,<71"


class ShapeChanged(Exception):
    """A patch's target is missing, or is not the shape the patch was written for."""


def weasyprint_version() -> str:
    """The WeasyPrint this process has imported, else the one installed (without importing it)."""
    version = getattr(sys.modules.get("weasyprint"), "__version__", None)
    return version if isinstance(version, str) else _installed_weasyprint()


# How WeasyPrint's __init__.py says its version (`VERSION = __version__ = '70.0'`).
_DECLARED_VERSION = re.compile(r"""^(?:VERSION = )?__version__ = ['"]([^'"]+)['"]""", re.M)


@functools.cache
def _installed_weasyprint() -> str:
    """The installed WeasyPrint's version, read once (every piece's cache key asks): as
    its __init__.py declares it, which is what `weasyprint.__version__` will be, read
    without importing it. The distribution's metadata only where that line is not
    found: importing importlib.metadata takes 0.035 s, which a layout worker (it checks
    the version before it imports WeasyPrint) and an edit's build spent waiting."""
    spec = importlib.util.find_spec("weasyprint")
    if spec is None or spec.origin is None:
        return "none"
    with contextlib.suppress(OSError, ValueError):  # unreadable: the metadata then
        with open(spec.origin, encoding="utf-8") as source:
            found = _DECLARED_VERSION.search(source.read(8192))
        if found:
            return found.group(1)
    from importlib import metadata

    try:
        return metadata.version("weasyprint")
    except metadata.PackageNotFoundError:
        return "none"


def expect_weasyprint(release: str = WEASYPRINT_SERIES) -> None:
    """WeasyPrint is `release` (a series such as "70.", or one exact version)."""
    version = weasyprint_version()
    fits = version.startswith(release) if release.endswith(".") else version == release
    if not fits:
        wanted = f"{release}x" if release.endswith(".") else release
        raise ShapeChanged(f"WeasyPrint {version} is installed, not {wanted}")


def expect_function(owner: ModuleType | type, name: str, params: tuple[str, ...]) -> Any:
    """`owner.name`, a function taking exactly `params` (by these names, in this order)."""
    where = (
        f"{owner.__module__}.{owner.__qualname__}" if isinstance(owner, type) else owner.__name__
    )
    return expect_signature(f"{where}.{name}", getattr(owner, name, None), params)


def expect_signature(label: str, target: Any, params: tuple[str, ...]) -> Any:
    """`target` (called `label`), a function taking exactly `params`."""
    if not callable(target):
        raise ShapeChanged(f"{label} is missing")
    try:
        found = tuple(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        raise ShapeChanged(f"{label} has no signature to check") from None
    if found != params:
        raise ShapeChanged(f"{label} takes ({', '.join(found)}), not ({', '.join(params)})")
    return target


def expect_global_calls(function: Callable[..., Any], *names: str) -> None:
    """`function` looks `names` up in its module's globals when it runs, where a patch
    that replaces the module's attribute reaches it (not through a name bound earlier)."""
    code = getattr(function, "__code__", None)
    label = f"{function.__module__}.{function.__qualname__}"
    if code is None:
        raise ShapeChanged(f"{label} is not a Python function")
    for name in names:
        if name not in code.co_names:
            raise ShapeChanged(f"{label} no longer calls {name} by its module's name")


def source_digest(function: Callable[..., Any]) -> str | None:
    """The sha256 of `function`'s source as installed (None if the source is not there)."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    return _sha256(source)


def has_source(function: Callable[..., Any], digest: str) -> bool:
    """Whether `function`'s source as installed has the sha256 `digest` (source_digest's).

    Asked first of the lines its compiled code spans, read without tokenizing: the
    digests of inspect.getsource tokenize 0.03 s of WeasyPrint in every process that
    installs the patches, a layout worker's start among them. Where the function's block
    ends with those lines, they are all of it that can act, and a match is the function
    the patch was written against. Where the block goes on past them (code after a last
    `return`, which Python compiles to nothing but which can still make a name local or
    the function a generator), or where they differ from getsource's (a comment at the
    end of the body), getsource is read."""
    return _sha256(_compiled_lines(function)) == digest or source_digest(function) == digest


def _compiled_lines(function: Callable[..., Any]) -> str:
    """The lines of `function`'s file from its first (decorators included, as getsource's)
    to the last any of its code, nested code too, comes from, if its block ends there: the
    next line that is not blank nor a comment is indented no deeper than its first. ""
    otherwise, or if unknown (Python 3.10 has no end lines)."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    if not isinstance(code, CodeType) or not hasattr(code, "co_positions"):
        return ""
    lines = linecache.getlines(code.co_filename)
    first, last = code.co_firstlineno - 1, _last_line(code)
    if not lines[first:last] or not _block_ends(lines, _indent(lines[first]), last):
        return ""
    return "".join(lines[first:last])


def _block_ends(lines: list[str], indent: int, after: int) -> bool:
    """Whether the first line from `after` on with code is indented `indent` or less."""
    for line in lines[after:]:
        if line.strip() and not line.lstrip().startswith("#"):
            return _indent(line) <= indent
    return True


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _last_line(code: CodeType) -> int:
    # getattr: mypy reads this code as Python 3.10's, whose code objects have none.
    positions: Iterator[tuple[int | None, ...]] = getattr(code, "co_positions")()  # noqa: B009
    ends = [end for _, end, _, _ in positions if end is not None]
    nested = [_last_line(c) for c in code.co_consts if isinstance(c, CodeType)]
    return max([code.co_firstlineno, *ends, *nested])


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def expect_sources(digests: dict[Any, str]) -> None:
    """Each function is, to the letter, the one a patch was written against: its source's
    sha256 is the one given (has_source)."""
    for function, digest in digests.items():
        if not has_source(function, digest):
            label = f"{function.__module__}.{function.__qualname__}"
            raise ShapeChanged(f"{label} is not {WEASYPRINT_RELEASE}'s")


class SharedHold:
    """Process-wide changes entered by the first thread to ask and left by the last to go
    (a layout worker lays out one piece while another waits for its folio)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: dict[str, tuple[int, contextlib.ExitStack]] = {}

    @contextlib.contextmanager
    def hold(
        self, name: str, make: Callable[[], contextlib.AbstractContextManager[None]]
    ) -> Iterator[None]:
        """Inside: `make()` is entered (once, whichever thread came first)."""
        with self.lock:
            users, stack = self.held.get(name, (0, contextlib.ExitStack()))
            if not users:
                stack.enter_context(make())
            self.held[name] = (users + 1, stack)
        try:
            yield
        finally:
            with self.lock:
                users, stack = self.held.pop(name)
                if users > 1:
                    self.held[name] = (users - 1, stack)
                else:
                    stack.close()


SHARED = SharedHold()

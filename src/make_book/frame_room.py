"""Room on CPython's frame stack, so that deep recursion stops mapping memory.

CPython 3.11 keeps a thread's Python frames in chunks of 16 KB, as later releases do.
A chunk beyond the thread's first is mapped (`mmap`) when a call needs it and unmapped
when that call returns. WeasyPrint lays out and draws by recursing through the box
tree, up and down across a chunk's edge all the time. For the synthetic stress book
(1,200 pages) that was 560,000 `mmap` and `munmap` pairs and as many page faults: 4.5 s
of the workers' 43 s of CPU went to system time, and their user time grew with the
cold caches.

`call_with_room` calls a function from a frame that declares a large value stack
(its code's `co_stacksize`). CPython gives that frame a chunk of its own, a power
of two in size and about half unused, and the frames below it fit in the rest
(about 190 KB, some 2,000 of WeasyPrint's frames) instead of mapping chunks of
their own. The extra slots are never written, so their pages are never touched.
Nothing is patched: the code object is copied with a larger stack size, and on
an interpreter that keeps frames otherwise the call is a plain one. The
behaviour this relies on is tested (tests/test_frame_room.py): without the room,
oscillating recursion faults in pages; with it, it does not. A later release that
keeps a spare chunk per thread makes the room needless (and the first test skips).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

# Value-stack slots (8 bytes each) added to the calling frame: 320 KB, so that CPython
# maps a 512 KB chunk for it (the next power of two) and leaves the rest for the calls.
EXTRA_SLOTS = 40_000

# Frames live in mapped chunks from CPython 3.11 (the "data stack"); before, each
# frame was an object of its own, and other interpreters keep theirs otherwise.
CHUNKED_FRAMES = sys.implementation.name == "cpython" and sys.version_info >= (3, 11)

P = ParamSpec("P")
T = TypeVar("T")


def _call(fn: Callable[..., object], *args: object, **kwargs: object) -> object:
    return fn(*args, **kwargs)


def _roomy() -> Callable[..., object]:
    """`_call`, its frame declaring EXTRA_SLOTS more of value stack (and named for what it
    is in a traceback)."""
    if not CHUNKED_FRAMES:
        return _call
    code = _call.__code__
    roomy = code.replace(co_stacksize=code.co_stacksize + EXTRA_SLOTS, co_name="call_with_room")
    return types.FunctionType(roomy, _call.__globals__, "call_with_room")


_ROOMY_CALL = _roomy()


def call_with_room(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)`, its calls kept in one chunk of the frame stack."""
    return cast(T, _ROOMY_CALL(fn, *args, **kwargs))

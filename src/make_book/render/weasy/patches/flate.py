"""PDF streams compressed at zlib's default level while a piece is written.

Replaces: `pydyf.zlib` (the zlib module as pydyf's own module sees it), with an object
that forwards everything to zlib but makes `compressobj` use zlib's default level.
Why: pydyf 0.13's `Stream.data` asks for level 9, which took three times as long for
files 0.5% smaller (measured on the stress book).
Guarded: only when `pydyf.zlib` is the zlib module and `Stream.data` still calls
`zlib.compressobj` through it; otherwise pydyf is left as it is (its own level).
Held while a piece is written (`default_flate_level`), by every thread that writes one.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator
from typing import Any

import pydyf

from make_book.render.weasy.patches.fence import SHARED, ShapeChanged, expect_global_calls


class _DefaultLevelZlib:
    """zlib as pydyf sees it, at zlib's default level."""

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)

    @staticmethod
    def compressobj(level: int = -1, *args: Any, **kwargs: Any) -> Any:
        return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, *args, **kwargs)


def shape_problem() -> str | None:
    """What in pydyf differs from what this patch was written for (None: nothing)."""
    if getattr(pydyf, "zlib", None) is not zlib and not isinstance(pydyf.zlib, _DefaultLevelZlib):
        return "pydyf.zlib is not the zlib module"
    data = getattr(getattr(pydyf, "Stream", None), "data", None)
    if not isinstance(data, property) or data.fget is None:
        return "pydyf.Stream.data is missing"
    try:
        expect_global_calls(data.fget, "zlib", "compressobj")
    except ShapeChanged as changed:
        return str(changed)
    return None


def default_flate_level() -> contextlib.AbstractContextManager[None]:
    """Inside: pydyf compresses at zlib's default level (when its shape fits)."""
    return SHARED.hold("pydyf.zlib", _swapped)


@contextlib.contextmanager
def _swapped() -> Iterator[None]:
    if pydyf.zlib is not zlib or shape_problem() is not None:  # another pydyf: left as it is
        yield
        return
    pydyf.zlib = _DefaultLevelZlib()
    try:
        yield
    finally:
        pydyf.zlib = zlib

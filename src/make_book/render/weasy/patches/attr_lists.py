"""Pango attribute lists that are freed with their layout, in make-book's layouts.

WeasyPrint 70 gives each text layout with font features (kerning, ligatures,
small caps, old-style figures: nearly all of a book's text) a new Pango attribute
list, hands it to the layout, and never drops its own reference to it: the list
lives on after the layout. When a line is drawn, its layout is made again and its
justification adds an attribute per space to that list. Measured on a stress-book
piece laid out again and again in one process: 0.33 MB more memory each time, all
of it outside Python's heap; 0.15 MB without drawing. Over a long book a layout
worker grew by some 20 MB and had to be replaced (pdf/layout/workers.py).

WeasyPrint does not free these lists on purpose: the font-features attribute in
each is shared through a cache on the FontConfiguration, and freeing one list would
free the attribute the others still hold.

Replaces: `weasyprint.text.line_break.Layout.setup`, with a wrapper that calls it and
then drops the reference to the attribute list WeasyPrint keeps, for layouts whose
font configuration was given to `free_attr_lists_with_layouts`: that replaces the
configuration's font-features cache (`FontConfiguration.font_features`) with one that
keeps nothing, so each list owns its own attribute. Any other layout is left as it
was, and so is the benchmark's one-document baseline (bench/benchmark.py).
Guarded, to the letter: freeing the list is right only while WeasyPrint keeps its
reference. Should a WeasyPrint free the list itself, a second unref would free it
twice (a crash, or worse, memory corruption). So the patch is installed only on
WeasyPrint 70.0 whose `Layout.setup` source is the very one it was written for
(SETUP_SOURCE_SHA256); on any other, nothing is installed and nothing freed, and
`free_attr_lists_with_layouts` leaves the configuration as it is.
Installed by `make_book.render.weasy.patches.install()`, for the process's life (inert
for configurations not given to `free_attr_lists_with_layouts`).
"""

from __future__ import annotations

import threading
from typing import Any

from weasyprint.text import line_break
from weasyprint.text.ffi import ffi, pango
from weasyprint.text.fonts import FontConfiguration

from make_book.render.weasy.patches.fence import (
    WEASYPRINT_RELEASE,
    ShapeChanged,
    expect_weasyprint,
    has_source,
)

# The sha256 of `inspect.getsource(Layout.setup)` in WeasyPrint 70.0: it makes a new
# attribute list, hands it to the layout and never unrefs it; the font-features
# attribute comes from `font_config.font_features.setdefault`.
SETUP_SOURCE_SHA256 = "fb227a55094f41d42fbd57f180d8b7a9a1e741969ec8ddb3fd5cd80920257442"

_LOCK = threading.Lock()


def _weasyprints_setup() -> Any:
    """`Layout.setup` as WeasyPrint has it (ours: the one it wraps), even if this module
    is imported again (wrapping ours would drop each reference twice)."""
    setup = line_break.Layout.setup
    return getattr(setup, "__wrapped__", setup)


_original_setup = _weasyprints_setup()  # what `_setup` calls, set again at install


class _KeepsNothing(dict[bytes, Any]):
    """In place of WeasyPrint's font-features cache: every layout gets a new attribute
    (WeasyPrint makes one on each call anyway, as the argument of `setdefault`)."""

    def setdefault(self, key: bytes, default: Any = None) -> Any:
        return default


def shape_problem() -> str | None:
    """What in this WeasyPrint differs from what the patch was written for (None: nothing)."""
    try:
        expect_weasyprint(WEASYPRINT_RELEASE)
        if not has_source(_weasyprints_setup(), SETUP_SOURCE_SHA256):
            raise ShapeChanged("weasyprint.text.line_break.Layout.setup is not 70.0's")
    except ShapeChanged as changed:
        return str(changed)
    return None


def install() -> bool:
    """Wrap `Layout.setup` if this WeasyPrint is the one it was written for; whether it is."""
    with _LOCK:
        if installed():
            return True
        if shape_problem() is not None:
            return False
        global _original_setup
        _original_setup = _setup.__wrapped__ = _weasyprints_setup()  # type: ignore[attr-defined]
        line_break.Layout.setup = _setup
        return True


def installed() -> bool:
    """Whether `Layout.setup` frees the lists of configurations that ask for it."""
    return line_break.Layout.setup is _setup


def free_attr_lists_with_layouts(fonts: FontConfiguration) -> None:
    """From now on, free the attribute lists of `fonts`' layouts with them (where the
    patch is installed: otherwise WeasyPrint's cache stays and no list is freed)."""
    cache = getattr(fonts, "font_features", None)  # a dict in WeasyPrint 70.0
    if installed() and type(cache) is dict:
        fonts.font_features = _KeepsNothing()


def _setup(self: Any, style: Any) -> None:
    # Asked first: a list made while the cache kept its attribute must not be freed.
    owns_attribute = isinstance(style.font_config.font_features, _KeepsNothing)
    _original_setup(self, style)
    if not owns_attribute:
        return  # its attribute is shared with other lists: freeing this one would free it
    attributes = pango.pango_layout_get_attributes(self.layout)
    if attributes != ffi.NULL:
        pango.pango_attr_list_unref(attributes)  # the layout holds its own reference


_setup.__wrapped__ = _original_setup  # type: ignore[attr-defined]

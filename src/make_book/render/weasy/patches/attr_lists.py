"""Pango attribute lists that are freed with their layout, in make-book's layouts.

WeasyPrint 70 gives each text layout with font features (kerning, ligatures,
small caps, old-style figures: nearly all of a book's text) a new Pango attribute
list, hands it to the layout, and never drops its own reference to it: the list
lives on after the layout. When a line is drawn, its layout is made again and its
justification adds an attribute per space to that list. Measured on a stress-book
piece laid out again and again in one process: 0.33 MB more memory each time, all
of it outside Python's heap; 0.15 MB without drawing. Over a long book a layout
worker grew by some 20 MB and had to be replaced (worker_pool.py).

WeasyPrint does not free these lists on purpose: the font-features attribute in
each is shared through a cache on the FontConfiguration, and freeing one list would
free the attribute the others still hold. So `freed_with_layouts(fonts)` gives
a font configuration of make-book's a cache that keeps nothing (each list then owns its
own attribute), and the wrapped `Layout.setup` drops the reference WeasyPrint keeps,
for layouts with such a configuration only. Any other layout is left as it was, and
so is the benchmark's one-document baseline (bench/benchmark.py), which is WeasyPrint
as released but for the leaders (leaders.py) its pages need to equal the pieces'.
"""

from __future__ import annotations

from typing import Any

from weasyprint.text import line_break
from weasyprint.text.ffi import ffi, pango
from weasyprint.text.fonts import FontConfiguration

# The setup as released, even if this module is imported again (then the current one
# is ours, and wrapping it would drop each reference twice).
_original_setup = getattr(line_break.Layout.setup, "__wrapped__", line_break.Layout.setup)


class _KeepsNothing(dict[bytes, Any]):
    """In place of WeasyPrint's font-features cache: every layout gets a new attribute
    (WeasyPrint makes one on each call anyway, as the argument of `setdefault`)."""

    def setdefault(self, key: bytes, default: Any = None) -> Any:
        return default


def freed_with_layouts(fonts: FontConfiguration) -> FontConfiguration:
    """`fonts`, whose layouts' attribute lists are freed with them from now on."""
    if not isinstance(fonts.font_features, _KeepsNothing):
        fonts.font_features = _KeepsNothing()
    line_break.Layout.setup = _setup
    return fonts


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

"""A line's glyphs written to the PDF from Pango's arrays read whole, not field by field.

WeasyPrint 70 writes each line of text glyph by glyph (`draw_first_line`), reading every
glyph's id, advance and offsets as attributes of cffi structs: on the stress book, a
sixth of the drawing and 7.7% of a cold build's CPU, most of it that Python loop. Here
each run's glyph array is read at once (`ffi.buffer`, unpacked with `struct`) and its
cluster starts with `ffi.unpack`; what is written is then worked out with the same
expressions in the same order as WeasyPrint's, so the content streams, the fonts'
widths and their ToUnicode maps are the same, byte for byte (tests compare them).

Lines the quick way does not cover are left to WeasyPrint's own function: an ellipsis,
a glyph a font lacks (it warns and makes one up), a glyph raised or lowered (a text
rise), bitmap faces and colour glyphs (SVG, PNG or COLR emojis), invisible lines.

Replaces: `weasyprint.draw.text.draw_first_line` (called by `draw_text` there and by
the SVG text drawing, both by that module's name), with a function that calls the
original for the lines above.
Guarded: WeasyPrint 70.0, whose `draw_first_line` is the one this was written against
(its source's sha256), a Pango from 1.48.2 (older ones take the style's font size,
which the original handles), and `PangoGlyphInfo` laid out as five 32-bit integers.
Otherwise not installed, and WeasyPrint draws as it does.
Installed by `make_book.render.weasy.patches.install()`, for the process's life.
"""

from __future__ import annotations

import struct
import threading
from typing import Any

import weasyprint.draw.text as draw_text
from weasyprint.text.ffi import FROM_UNITS, ffi, pango

from make_book.render.weasy.patches.fence import (
    WEASYPRINT_RELEASE,
    ShapeChanged,
    expect_function,
    expect_global_calls,
    expect_sources,
    expect_weasyprint,
)

# WeasyPrint's own, even if this module is imported again (then the current one is ours).
_original = getattr(
    getattr(draw_text, "draw_first_line", None),
    "__wrapped__",
    getattr(draw_text, "draw_first_line", None),
)
# draw_first_line as WeasyPrint 70.0 has it (inspect.getsource), read against this code.
ORIGINAL_SHA256 = "1bb8eae6d88e71b17096a034656f3be17da8f1f513c78536c1c38d971927638b"
# PangoGlyphInfo: glyph, geometry (width, x_offset, y_offset), then its attr bit field,
# skipped (Pango may leave its unused bits as they were: they would only miss the memo).
_GLYPH_INFO = struct.Struct("=Iiii4x")
_LOCK = threading.Lock()
_KEPT = "_make_book_glyph_segments"  # the attribute of a WeasyPrint Font holding them


def shape_problem() -> str | None:
    """What in this WeasyPrint differs from what the patch was written for (None: nothing)."""
    try:
        expect_weasyprint(WEASYPRINT_RELEASE)
        if _original is None:
            raise ShapeChanged("weasyprint.draw.text.draw_first_line is missing")
        expect_function(
            draw_text,
            "draw_first_line",
            ("stream", "textbox", "text_overflow", "block_ellipsis", "matrix"),
        )
        expect_sources({_original: ORIGINAL_SHA256})
        expect_global_calls(draw_text.draw_text, "draw_first_line")
        if pango.pango_version() < 14802:
            raise ShapeChanged("Pango is older than 1.48.2")
        if ffi.sizeof("PangoGlyphInfo") != _GLYPH_INFO.size:
            raise ShapeChanged("PangoGlyphInfo is not five 32-bit integers")
    except ShapeChanged as changed:
        return str(changed)
    return None


def install() -> bool:
    """Draw lines the quick way from now on in this process if this WeasyPrint fits
    (idempotent); whether they are."""
    with _LOCK:
        if installed():
            return True
        if shape_problem() is not None:
            return False
        draw_text.draw_first_line = draw_first_line
        return True


def installed() -> bool:
    """Whether WeasyPrint draws lines the quick way now."""
    return getattr(draw_text, "draw_first_line", None) is draw_first_line


def draw_first_line(
    stream: Any, textbox: Any, text_overflow: str, block_ellipsis: Any, matrix: Any
) -> list[Any]:
    """WeasyPrint's `draw_first_line`, the quick way where it can be taken."""
    if text_overflow == "ellipsis" or block_ellipsis != "none":
        return _weasyprints(stream, textbox, text_overflow, block_ellipsis, matrix)
    if not textbox.text.strip() or textbox.style["font_size"] < 1e-6:
        return []
    pango.pango_layout_set_single_paragraph_mode(textbox.pango_layout.layout, True)
    first_line, _ = textbox.pango_layout.get_first_line()
    operators = _operators(stream, first_line, textbox.pango_layout.text)
    if operators is None:
        return _weasyprints(stream, textbox, text_overflow, block_ellipsis, matrix)
    stream.set_text_matrix(*matrix.values)
    for font_size, array in operators:
        if font_size is None:
            stream.show_text(array)
        else:
            stream.set_font_size(*font_size)
    return []


def _weasyprints(*args: Any) -> list[Any]:
    """The line drawn by WeasyPrint's own function (the emojis it leaves to draw)."""
    assert _original is not None
    emojis: list[Any] = _original(*args)
    return emojis


Operator = tuple[tuple[str, float], None] | tuple[None, str]  # Tf's operands or a TJ array


def _operators(stream: Any, line: Any, text: str) -> list[Operator] | None:
    """The line's font changes and TJ arrays in the order WeasyPrint 70 writes them (an
    array at each change of font, but for an empty one, and one at the end), or None
    where the quick way does not fit.

    A line's runs are its words when it is justified (an attribute on each space), so
    the work per run is kept small. What a glyph adds to its array depends only on its
    Pango glyph info and the font and size: it is remembered per font and size, and
    worked out only the first time (`_Segment`), which is also when WeasyPrint notes the
    glyph's text and width in the font's maps (it fills an entry only where there is
    none). Those notes are made in the same order as WeasyPrint's, and a line left to
    WeasyPrint after some were made finds them as it would have made them."""
    operators: list[Operator] = []
    previous_pango_font = None
    string = ""
    run = line.runs[0]
    while run != ffi.NULL:
        glyph_item = run.data
        run = run.next
        pango_font = glyph_item.item.analysis.font
        if pango_font != previous_pango_font:
            previous_pango_font = pango_font
            font, font_size = stream.add_font(pango_font)
            if font.bitmap or font.svg or font.png or font.colr:
                return None
            if string:
                operators.append((None, string))
            string = ""
            operators.append(((font.hash, font_size), None))
            segments = _segments(font, font_size)
        glyph_string = glyph_item.glyphs
        infos = ffi.buffer(glyph_string.glyphs, glyph_string.num_glyphs * _GLYPH_INFO.size)
        parts = ["<"]
        first: _Segment | None = None
        for i, info in enumerate(_GLYPH_INFO.iter_unpack(infos)):
            segment = segments.get(info)
            if segment is None:
                first = first or _Segment(stream, glyph_item, pango_font, font, font_size, text)
                segment = first.work_out(info, i)
                if segment is None:
                    return None
                segments[info] = segment
            parts.append(segment)
        string += "".join(parts)
        string = string[:-1] if string[-1] == "<" else string + ">"
    operators.append((None, string))
    return operators


def _segments(font: Any, font_size: float) -> dict[tuple[int, ...], str]:
    """What each glyph info adds in this font at this size, kept on the font object (one
    per face in a WeasyPrint PDF, dropped with it)."""
    kept: dict[float, dict[tuple[int, ...], str]] | None = getattr(font, _KEPT, None)
    if kept is None:
        kept = {}
        setattr(font, _KEPT, kept)
    return kept.setdefault(font_size, {})


class _Segment:
    """What a run's glyphs add the first time each is met, worked out as WeasyPrint 70
    does (the same expressions, in the same order). Made for a run with a glyph not met
    before (the spaces of a justified line, each line's own width), so it reads the run's
    clusters only when a glyph's text is wanted."""

    __slots__ = ("font", "font_size", "glyph_item", "pango_font", "stream", "text", "utf8")

    def __init__(
        self, stream: Any, glyph_item: Any, pango_font: Any, font: Any, size: float, text: str
    ) -> None:
        self.stream, self.pango_font, self.font, self.font_size = stream, pango_font, font, size
        self.glyph_item, self.text = glyph_item, text
        self.utf8: bytes | None = None

    def work_out(self, info: tuple[int, ...], i: int) -> str | None:
        """What glyph `i` (its `info`) adds; None for a glyph WeasyPrint writes another
        way: one the font lacks, or raised or lowered."""
        glyph_id, width, x_offset, y_offset = info
        font, font_size = self.font, self.font_size
        if glyph_id == pango.PANGO_GLYPH_EMPTY:
            return f">{-width / font_size}<"
        if glyph_id & pango.PANGO_GLYPH_UNKNOWN_FLAG or y_offset:
            return None
        if glyph_id not in font.to_unicode:
            font.to_unicode[glyph_id] = self._text_of(i)
        segment = ""
        offset = x_offset / font_size
        if offset:
            segment += f">{-offset}<"
        segment += f"{glyph_id:04x}"
        if glyph_id in font.widths:
            logical_width = font.widths[glyph_id]
        else:
            logical_width = font.widths[glyph_id] = self._logical_width(glyph_id)
        kerning = logical_width + offset - width * 1000 * FROM_UNITS / font_size
        if kerning:
            segment += f">{int(kerning)}<"
        return segment

    def _text_of(self, i: int) -> str:
        """The text of glyph `i`'s cluster, as WeasyPrint finds it."""
        item, glyph_string = self.glyph_item.item, self.glyph_item.glyphs
        clusters = ffi.unpack(glyph_string.log_clusters, glyph_string.num_glyphs)
        if item.analysis.level % 2:  # right to left
            end = item.length if i == 0 else clusters[i - 1]
        else:
            end = item.length if i == len(clusters) - 1 else clusters[i + 1]
        self.utf8 = self.utf8 or self.text.encode()
        text: str = self.utf8[item.offset + clusters[i] : item.offset + end].decode()
        return text

    def _logical_width(self, glyph_id: int) -> int:
        """The glyph's advance in thousandths of the font size, as WeasyPrint rounds it."""
        stream = self.stream
        pango.pango_font_get_glyph_extents(
            self.pango_font, glyph_id, stream.ink_rect, stream.logical_rect
        )
        rounded: int = round(stream.logical_rect.width * 1000 * FROM_UNITS / self.font_size)
        return rounded


draw_first_line.__wrapped__ = _original  # type: ignore[attr-defined]

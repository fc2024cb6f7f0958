"""Reading a font dictionary for what measuring text needs: how long its codes are and
how wide each glyph is, from /Widths or a CID font's /W.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import pikepdf

from make_book.preflight.geometry import read_matrix
from make_book.preflight.pdf_values import as_dict, entry, name_of, num


@dataclass(frozen=True)
class FontMetrics:
    """Enough of a font to measure a string: its code length and advance widths."""

    code_bytes: int  # 1 for simple fonts, 2 for Identity-H; 0: unknown, not measured
    widths: tuple[float, ...]  # by code, in units of the font size: 256 or 65536 of them

    def advance(self, data: bytes, size: float, char_spacing: float, word_spacing: float) -> float:
        """How far a shown string moves the text position, in unscaled text space units."""
        codes: Sequence[int]
        if self.code_bytes == 1:
            codes = data
            spaces = data.count(32)  # word spacing applies to the single-byte code 32 only
        elif self.code_bytes == 2:
            count = len(data) // 2
            codes = struct.unpack(f">{count}H", data[: count * 2])
            spaces = 0
        else:
            return 0.0
        # A book is a few hundred thousand glyphs: add their widths at C speed.
        total = sum(map(self.widths.__getitem__, codes))
        return total * size + char_spacing * len(codes) + word_spacing * spaces


UNMEASURED = FontMetrics(0, ())


def font_metrics(font: pikepdf.Object) -> FontMetrics:
    subtype = name_of(font.get("/Subtype"))
    if subtype == "Type0":
        return _cid_font_metrics(font)
    widths = font.get("/Widths")
    if not isinstance(widths, pikepdf.Array):
        return UNMEASURED  # a standard 14 font: the file has no widths to measure with
    # Type 3 widths are in glyph space, which the font's own matrix scales.
    scale = read_matrix(font.get("/FontMatrix"))[0] if subtype == "Type3" else 0.001
    missing = num(entry(font.get("/FontDescriptor"), "/MissingWidth"))
    table = [missing * scale] * 256
    for code, width in enumerate(widths, start=int(num(font.get("/FirstChar")))):
        if 0 <= code < 256:
            table[code] = num(width) * scale
    return FontMetrics(1, tuple(table))


def _cid_font_metrics(font: pikepdf.Object) -> FontMetrics:
    cid_font = descendant(font)
    if cid_font is None or name_of(font.get("/Encoding")) != "Identity-H":
        return UNMEASURED  # other CMaps have codes of several lengths: not worth decoding
    table = [num(cid_font.get("/DW"), 1000.0) / 1000] * 65536
    entries = list(cid_font.get("/W", pikepdf.Array()))
    i = 0
    while i + 1 < len(entries):  # runs "first [w w …]" and ranges "first last w"
        first = int(num(entries[i]))
        if isinstance(entries[i + 1], pikepdf.Array):
            for cid, width in enumerate(entries[i + 1], start=first):
                if 0 <= cid < 65536:
                    table[cid] = num(width) / 1000
            i += 2
        elif i + 2 < len(entries):
            low, high = max(first, 0), min(int(num(entries[i + 1])), 65535)
            if low <= high:
                table[low : high + 1] = [num(entries[i + 2]) / 1000] * (high - low + 1)
            i += 3
        else:
            break
    return FontMetrics(2, tuple(table))


def descendant(font: pikepdf.Object) -> pikepdf.Object | None:
    """The CIDFont inside a Type 0 font, which holds its widths and font file."""
    descendants = font.get("/DescendantFonts")
    if not isinstance(descendants, pikepdf.Array) or len(descendants) == 0:
        return None
    return as_dict(descendants[0])

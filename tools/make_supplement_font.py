"""Draw the default theme's supplement face, Make Book Supplement, with fontTools.

Linux Libertine lacks the TWO-EM DASH U+2E3A and the THREE-EM DASH U+2E3B (used for
elided names: "Monsieur de ⸺"); the PDF would set them in a system fallback face.
This face has those two and nothing else, each a rule at the height and thickness
of Libertine's own em dash U+2014 (read from LinLibertine_R.otf), with its side
bearings, across an advance of 2 and 3 em. Its vertical metrics are Libertine's,
so a line holding one is laid out as with Libertine alone. make-book declares it
beside Libertine (render/weasy/session.py) and names it right after Libertine in
the PDF's face stacks, so it sets only what Libertine lacks.

Run `python tools/make_supplement_font.py` to remake
src/make_book/themes/default/fonts/MakeBookSupplement.ttf; the build is
deterministic (fixed timestamps), so an unchanged script gives the same bytes.
`--check` exits 1 if the committed file differs from what the script draws.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.boundsPen import BoundsPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables._g_l_y_f import Glyph

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "src" / "make_book" / "themes" / "default" / "fonts"
LIBERTINE = FONTS / "LinLibertine_R.otf"
OUTPUT = FONTS / "MakeBookSupplement.ttf"

FAMILY = "Make Book Supplement"
STYLE = "Regular"
PS_NAME = "MakeBookSupplement-Regular"
VERSION = "1.000"
# 2024-01-01T00:00:00Z in the font's epoch (seconds since 1904-01-01): a fixed date,
# so the file is the same whenever it is remade.
TIMESTAMP = 3786825600
LICENCE = "MIT License, the licence of make-book; see README-Supplement.txt beside this font."

REGULAR, USE_TYPO_METRICS = 1 << 6, 1 << 7  # OS/2 fsSelection bits

# The rules: code point -> (glyph name, advance in ems).
RULES = {0x2E3A: ("uni2E3A", 2), 0x2E3B: ("uni2E3B", 3)}


def libertine_metrics(path: Path = LIBERTINE) -> dict[str, int]:
    """What the supplement copies from Libertine: its em, its vertical metrics, and
    its em dash's rule (left side bearing, bottom, top, right side bearing)."""
    font = TTFont(path)
    glyphs = font.getGlyphSet()
    dash = glyphs[font.getBestCmap()[0x2014]]
    pen = BoundsPen(glyphs)
    dash.draw(pen)
    assert pen.bounds is not None, "Libertine's em dash has no outline"
    x_min, y_min, x_max, y_max = pen.bounds
    os2, hhea, post = font["OS/2"], font["hhea"], font["post"]
    return {
        "upm": font["head"].unitsPerEm,
        "lsb": round(x_min),
        "rsb": round(dash.width - x_max),
        "bottom": round(y_min),
        "top": round(y_max),
        "ascent": hhea.ascent,
        "descent": hhea.descent,
        "line_gap": hhea.lineGap,
        "typo_ascender": os2.sTypoAscender,
        "typo_descender": os2.sTypoDescender,
        "typo_line_gap": os2.sTypoLineGap,
        "win_ascent": os2.usWinAscent,
        "win_descent": os2.usWinDescent,
        "use_typo_metrics": os2.fsSelection & USE_TYPO_METRICS,
        "x_height": os2.sxHeight,
        "cap_height": os2.sCapHeight,
        "strikeout_size": os2.yStrikeoutSize,
        "strikeout_position": os2.yStrikeoutPosition,
        "underline_position": post.underlinePosition,
        "underline_thickness": post.underlineThickness,
    }


def _rule(left: int, bottom: int, right: int, top: int) -> Glyph:
    """A filled rectangle, drawn clockwise (TrueType's outer contours)."""
    pen = TTGlyphPen(None)
    pen.moveTo((left, bottom))
    pen.lineTo((left, top))
    pen.lineTo((right, top))
    pen.lineTo((right, bottom))
    pen.closePath()
    return pen.glyph()


def build_font(m: dict[str, int]) -> bytes:
    """The supplement face as TrueType bytes, drawn from Libertine's metrics `m`."""
    upm = m["upm"]
    order = [".notdef"] + [name for name, _ in RULES.values()]
    glyphs = {".notdef": TTGlyphPen(None).glyph()}
    metrics = {".notdef": (upm // 2, 0)}
    cmap: dict[int, str] = {}
    for code, (name, ems) in RULES.items():
        advance = ems * upm
        glyphs[name] = _rule(m["lsb"], m["bottom"], advance - m["rsb"], m["top"])
        metrics[name] = (advance, m["lsb"])
        cmap[code] = name

    fb = FontBuilder(upm, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(cmap)
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=m["ascent"], descent=m["descent"], lineGap=m["line_gap"])
    fb.setupNameTable(
        {
            "copyright": "Copyright (c) the make-book authors",
            "familyName": FAMILY,
            "styleName": STYLE,
            "uniqueFontIdentifier": f"{PS_NAME};{VERSION}",
            "fullName": f"{FAMILY} {STYLE}",
            "version": f"Version {VERSION}",
            "psName": PS_NAME,
            "description": (
                "The two-em and three-em dashes Linux Libertine lacks, drawn at the"
                " height and thickness of its em dash."
            ),
            "licenseDescription": LICENCE,
        },
        mac=False,
    )
    fb.setupOS2(
        sTypoAscender=m["typo_ascender"],
        sTypoDescender=m["typo_descender"],
        sTypoLineGap=m["typo_line_gap"],
        usWinAscent=m["win_ascent"],
        usWinDescent=m["win_descent"],
        sxHeight=m["x_height"],
        sCapHeight=m["cap_height"],
        yStrikeoutSize=m["strikeout_size"],
        yStrikeoutPosition=m["strikeout_position"],
        version=4,
        usWeightClass=400,
        fsSelection=REGULAR | m["use_typo_metrics"],
        fsType=0,  # installable: anyone may embed it
        achVendID="NONE",
    )
    fb.font["OS/2"].recalcUnicodeRanges(fb.font)
    fb.setupPost(
        underlinePosition=m["underline_position"],
        underlineThickness=m["underline_thickness"],
    )
    fb.setupHead(unitsPerEm=upm, fontRevision=float(VERSION), created=TIMESTAMP)
    fb.font["head"].modified = TIMESTAMP

    out = io.BytesIO()
    # recalcTimestamp off: fontTools would set head.modified to now when saving.
    fb.font.recalcTimestamp = False
    fb.save(out)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the font")
    parser.add_argument(
        "--check", action="store_true", help="compare with the file at --output, write nothing"
    )
    args = parser.parse_args(argv)
    data = build_font(libertine_metrics())
    if args.check:
        same = args.output.is_file() and args.output.read_bytes() == data
        print(f"{args.output}: {'up to date' if same else 'differs from what the script draws'}")
        return 0 if same else 1
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

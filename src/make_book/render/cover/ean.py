"""The ISBN's barcode for the back cover: EAN-13, and the price as an EAN-5 add-on, in SVG.

python-barcode encodes the main symbol and its SVGWriter draws the bars (the add-on
is encoded here, from python-barcode's own tables); this module sizes them by the
printers' guides (GS1 General Specifications, 5.2): a module of 0.33 mm at 100%,
giving the nominal 37.29 x 25.93 mm symbol, any magnification from 80% to 200%,
light (quiet) zones of 11 modules left and 7 right, the add-on 7 to 12 modules
right of the main symbol with 5 modules of light zone after it. The digits a
person reads are set in the book's face: the hyphenated ISBN above the bars, the
13 digits under them, the price digits above the add-on.

Everything is drawn in one colour, `ink`: black, or for a CMYK press the colour that
the cover's conversion turns into black ink alone (see wrap.py's CoverInks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from barcode.base import Barcode
from barcode.charsets import ean as ean_tables
from barcode.ean import EAN13_GUARD
from barcode.writer import SVGWriter
from lxml import etree
from stdnum import isbn as stdnum_isbn

from make_book.render.weasy.session import BOOK_FONT, FALLBACK

SVG_NS = "http://www.w3.org/2000/svg"
MM_PER_INCH = 25.4

MODULE_MM = 0.33  # the narrowest bar at 100%
BAR_MM = 22.85  # the main symbol's bars at 100%
SYMBOL_MM = 25.93  # its height with the digits under the bars
GUARD_EXTRA = 5  # modules the guard bars reach below the others, between the digits
MAIN_MODULES = 95
QUIET_LEFT, QUIET_RIGHT = 11, 7  # light zones, in modules
ADDON_MODULES = 47  # EAN-5: start pattern, five characters, four separators
ADDON_GAP = 9  # modules from the main symbol to the add-on: GS1 allows 7 to 12
ADDON_QUIET = 5  # light zone after the add-on
MIN_SCALE, MAX_SCALE = 0.8, 2.0  # the magnifications scanners are built for
# The digits, at 100%: sizes, and baselines from the main symbol's bars.
HEADING_MM = 3.4  # the band above the bars for "ISBN 978-…"
HEADING_FONT_MM = 3.0
HEADING_BASELINE_MM = 0.9  # above the bars' tops
DIGIT_FONT_MM = 3.3  # the face's figures are about 0.66 em: 2.2 mm, near OCR-B's 2.4
DIGIT_BASELINE_MM = 2.9  # under the bars' feet: clear of them, inside the 25.93 mm
ADDON_BASELINE_MM = 2.6  # under the bars' tops: the price sits over the add-on's bars

# EAN-5's parity patterns, by its checksum: L from python-barcode's set A, G from set B.
ADDON_PARITY = (
    "GGLLL",
    "GLGLL",
    "GLLGL",
    "GLLLG",
    "LGGLL",
    "LLGGL",
    "LLLGG",
    "LGLGL",
    "LGLLG",
    "LLGLG",
)


class PriceAddOn(Barcode):  # type: ignore[misc]  # python-barcode ships no types
    """EAN-5, the price beside a book's barcode: encoded here, drawn by python-barcode's
    writers like the symbols it knows."""

    name = "EAN-5"
    digits = 5

    def __init__(self, code: str, writer: Any = None) -> None:
        if len(code) != self.digits or not code.isdigit():
            raise ValueError(f"an EAN-5 add-on has five digits, not {code!r}")
        self.code = code
        self.writer = writer or self.default_writer()

    def get_fullcode(self) -> str:
        """The five digits."""
        return self.code

    def checksum(self) -> int:
        """Not printed: it chooses the characters' parities."""
        odd = sum(int(d) for d in self.code[0::2])
        even = sum(int(d) for d in self.code[1::2])
        return (3 * odd + 9 * even) % 10

    def build(self) -> list[str]:
        """The modules: start pattern 1011, then the characters with 01 between them."""
        parity = ADDON_PARITY[self.checksum()]
        characters = [
            ean_tables.CODES["A" if p == "L" else "B"][int(digit)]
            for p, digit in zip(parity, self.code, strict=True)
        ]
        return ["1011" + "01".join(characters)]


@dataclass(frozen=True)
class BarcodePlan:
    """The symbol at one magnification: what it encodes, and its sizes in mm."""

    isbn: str  # 13 digits
    price: str  # 5 digits or ""
    scale: float

    @property
    def module(self) -> float:
        return MODULE_MM * self.scale

    @property
    def modules_wide(self) -> int:
        """From the left light zone to the right one, the add-on's included."""
        if self.price:
            return QUIET_LEFT + MAIN_MODULES + ADDON_GAP + ADDON_MODULES + ADDON_QUIET
        return QUIET_LEFT + MAIN_MODULES + QUIET_RIGHT

    @property
    def width(self) -> float:
        return self.modules_wide * self.module

    @property
    def height(self) -> float:
        return (HEADING_MM + SYMBOL_MM) * self.scale

    @property
    def bars(self) -> float:
        """The main symbol's bars' height; the guard bars are 5 modules longer."""
        return BAR_MM * self.scale

    @property
    def digit_room(self) -> float:
        """The band under the bars for the digits (above the add-on's bars for its own)."""
        return (SYMBOL_MM - BAR_MM) * self.scale


def plan(isbn: str, price: str, room: tuple[float, float]) -> BarcodePlan:
    """The largest magnification up to 100% (in whole percents) that fits `room` (mm)."""
    nominal = BarcodePlan(isbn, price, 1.0)
    fits = min(1.0, room[0] / nominal.width, room[1] / nominal.height)
    scale = math.floor(fits * 100 + 1e-9) / 100
    if scale < MIN_SCALE:
        raise ValueError(f"the barcode area is too small for an EAN-13 at {MIN_SCALE:.0%}")
    return BarcodePlan(isbn, price, scale)


def barcode_svg(isbn: str, price: str, room_in: tuple[float, float], ink: str) -> str:
    """An SVG filling `room_in` (inches), white, with the symbol centred in it: sized in
    mm, so that WeasyPrint draws it to scale, as vectors."""
    room = (room_in[0] * MM_PER_INCH, room_in[1] * MM_PER_INCH)
    p = plan(isbn, price, room)
    left, top = (room[0] - p.width) / 2, (room[1] - p.height) / 2
    main_x, bars_top = left + QUIET_LEFT * p.module, top + HEADING_MM * p.scale
    svg = _area(room, ink)
    svg.append(_main_bars(p, main_x, bars_top, ink))
    svg.extend(_main_digits(p, main_x, bars_top))
    if price:
        addon_x = main_x + (MAIN_MODULES + ADDON_GAP) * p.module
        svg.append(_addon_bars(p, addon_x, bars_top + p.digit_room, ink))
        svg.extend(_addon_digits(p, addon_x, bars_top))
    return str(etree.tostring(svg, encoding="unicode"))


def _area(room: tuple[float, float], ink: str) -> etree._Element:
    """The root <svg>, white all over: the light zones must be light whatever the
    theme paints around the barcode area."""
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    svg.attrib.update(
        {
            "class": "isbn-barcode",
            "width": _mm(room[0]),
            "height": _mm(room[1]),
            "fill": ink,
            "font-family": f'"{BOOK_FONT}", {FALLBACK}',
        }
    )
    white = etree.SubElement(svg, f"{{{SVG_NS}}}rect")
    white.attrib.update({"width": "100%", "height": "100%", "fill": "#ffffff"})
    return svg


def _main_digits(p: BarcodePlan, x: float, bars_top: float) -> list[etree._Element]:
    """The heading, "ISBN 978-…", centred over the bars, and the 13 digits under them."""
    heading = f"ISBN {stdnum_isbn.format(p.isbn)}"
    centre = x + MAIN_MODULES * p.module / 2
    above = bars_top - HEADING_BASELINE_MM * p.scale
    below = bars_top + p.bars + DIGIT_BASELINE_MM * p.scale
    texts = [_text(heading, centre, above, p, HEADING_FONT_MM)]
    return texts + [_text(digit, at, below, p) for at, digit in _main_digit_places(p, x)]


def _addon_digits(p: BarcodePlan, x: float, bars_top: float) -> list[etree._Element]:
    """The price's digits, over the add-on's bars."""
    baseline = bars_top + ADDON_BASELINE_MM * p.scale
    return [_text(digit, at, baseline, p) for at, digit in _addon_digit_places(p, x)]


def _main_bars(p: BarcodePlan, x: float, y: float, ink: str) -> etree._Element:
    """The EAN-13's bars, guard bars longer, as python-barcode's SVGWriter draws them."""
    guards = p.bars + GUARD_EXTRA * p.module
    symbol = EAN13_GUARD(p.isbn, writer=SVGWriter())
    options = {"module_height": p.bars, "guard_height_factor": guards / p.bars}
    return _drawn(symbol, p, options, x, y, ink)


def _addon_bars(p: BarcodePlan, x: float, y: float, ink: str) -> etree._Element:
    """The add-on's bars, their tops under its digits, their feet level with the guards'."""
    height = p.bars + GUARD_EXTRA * p.module - p.digit_room
    return _drawn(PriceAddOn(p.price, SVGWriter()), p, {"module_height": height}, x, y, ink)


def _drawn(
    symbol: Any, p: BarcodePlan, options: Mapping[str, object], x: float, y: float, ink: str
) -> etree._Element:
    """A symbol's bars from SVGWriter, as an <svg> placed at (x, y) mm in the cover's."""
    written = symbol.render(
        {
            **options,
            "module_width": p.module,
            "quiet_zone": 0,  # the light zones are the plan's, around both symbols
            "margin_top": 0,
            "margin_bottom": GUARD_EXTRA * p.module,  # room for the guards below the bars
            "write_text": False,  # the digits are set in the book's face, placed by the plan
            "background": None,  # the cover's white box is the background
            "foreground": ink,
            "with_doctype": False,
            "compress": True,  # no pretty-printing: whitespace text would become glyphs
        }
    )
    drawn = etree.fromstring(written)
    for comment in drawn.xpath("//comment()"):
        comment.getparent().remove(comment)
    for element in drawn.iter():
        element.attrib.pop("id", None)  # two symbols in one page: no repeated ids
        _style_as_attributes(element)
    drawn.attrib.update({"x": _mm(x), "y": _mm(y)})
    return drawn


def _style_as_attributes(element: etree._Element) -> None:
    """`style="fill:#000;"` as `fill="#000"`: WeasyPrint reads every style attribute of
    the page as CSS for HTML, inline SVG's too, and warns of each `fill` it finds."""
    style = str(element.attrib.pop("style", ""))
    for declaration in filter(None, style.split(";")):
        name, _, value = declaration.partition(":")
        element.set(name.strip(), value.strip())


def _main_digit_places(p: BarcodePlan, x: float) -> list[tuple[float, str]]:
    """Where each of the 13 digits is centred: the first in the left light zone, the
    others under the characters that encode them (between the guard bars)."""
    places = [(x - 4 * p.module, p.isbn[0])]
    for n, digit in enumerate(p.isbn[1:7]):
        places.append((x + (3 + 7 * n + 3.5) * p.module, digit))
    for n, digit in enumerate(p.isbn[7:]):
        places.append((x + (50 + 7 * n + 3.5) * p.module, digit))
    return places


def _addon_digit_places(p: BarcodePlan, x: float) -> list[tuple[float, str]]:
    """The price digits, each over its character (4 modules of start, 9 a character)."""
    return [(x + (4 + 9 * n + 3.5) * p.module, digit) for n, digit in enumerate(p.price)]


def _text(
    text: str, x: float, baseline: float, p: BarcodePlan, size: float = DIGIT_FONT_MM
) -> etree._Element:
    """`text` centred on `x` (mm), its size (mm at 100%) magnified as the bars are."""
    element = etree.Element(f"{{{SVG_NS}}}text")
    element.attrib.update(
        {"x": _mm(x), "y": _mm(baseline), "font-size": _mm(size * p.scale), "text-anchor": "middle"}
    )
    element.text = text
    return element


def _mm(value: float) -> str:
    return f"{value:.3f}mm"

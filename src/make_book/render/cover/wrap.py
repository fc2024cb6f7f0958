"""The wrap cover for print: back cover, spine and front cover on one sheet, with bleed.

Laid out by WeasyPrint like the interior: one page the size of the flat sheet,
every panel positioned absolutely in inches. The geometry (sheet size, spine
width, where the folds and the barcode go) is computed here and handed to the
theme's `wrap.html` and `wrap.css` as a small generated stylesheet, so a book
can restyle its cover without knowing the arithmetic.

Numbers follow KDP's paperback cover rules: 0.125 in of bleed on every edge,
spine = pages x paper thickness, no spine text at 79 pages or fewer, spine text
0.0625 in clear of each fold, a 2 x 1.2 in barcode area 0.25 in from the trim
and the spine, and nothing important within 0.25 in of a trim edge. A book with an
ISBN gets its barcode drawn there (ean.py); without one the area is left white, for
the printer's.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pydyf
import weasyprint
from markupsafe import Markup
from PIL import Image
from weasyprint.formatting_structure import boxes

from make_book import __version__
from make_book.model import Book, join_names
from make_book.profiles import BLEED, Profile
from make_book.publish.atomic import atomic_path
from make_book.render.base import RenderContext, Rendered
from make_book.render.cover.ean import barcode_svg
from make_book.render.pdf.preflight_gate import preflight_or_fail
from make_book.render.pdf.print_finish import ManagedInks, finish_for_print
from make_book.render.weasy.fetch import BOOK_URL, BookFetcher
from make_book.render.weasy.patches.font_dates import dated_as_the_book
from make_book.render.weasy.session import (
    BOOK_FONT,
    FALLBACK,
    captured_weasyprint_log,
    font_config,
    font_faces_css,
)
from make_book.source import markup
from make_book.source.manifest_types import Manifest, PdfSettings
from make_book.theme import environment, find_file, search_path

log = logging.getLogger("make_book")

POINTS = 72  # PDF units per inch
PX = 96  # CSS px per inch: WeasyPrint reports box positions in px
SPINE_TEXT_MIN_PAGES = 80  # KDP: "books with 79 pages or fewer can't have spine text"
FOLD_CLEARANCE = 0.0625  # inches between spine text and each fold
SAFE_MARGIN = 0.25  # inches: text stays this far inside the trim of every panel
BARCODE_SIZE = (2.0, 1.2)  # inches, KDP's barcode area
BARCODE_INSET = 0.25  # from the bottom trim edge and from the spine
BLACK = "#000000"  # the barcode's ink, as it is drawn for screens and RGB printers
# For a CMYK press the barcode is drawn in this RGB, one step from black, which no
# design uses, so that the conversion to CMYK can tell the bars from any other black
# and give them black ink alone (CoverInks).
PRESS_BLACK = (0, 0, 1)
MIN_DPI = 300
DESIGN_PT = 11.0  # the base size wrap.css's em values multiply
# The bundled face's capital height (Linux Libertine: 658/1000 em). Spine text is
# set in capitals and small capitals, so capitals are what must fit across the spine.
CAP_HEIGHT = 0.658
SPINE_FILL = 0.8  # share of the room between the clearances the capitals may take
SPINE_SHARE = 0.3  # ...and of the whole spine, so thick spines do not shout
SPINE_MAX_PT = 24.0
SPINE_MIN_PT = 4.5  # smaller capitals blur in cover printing: leave the spine blank
SPINE_IMPRINT_MIN_PT = 7.0  # the publisher's name, smaller still, only on a wider spine
MAX_FIT_PASSES = 8  # layouts to try while balancing and shrinking text


@dataclass(frozen=True)
class Box:
    """A rectangle in inches, measured from the sheet's top-left corner (bleed included)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def css(self) -> str:
        """Absolute position and size, for the generated stylesheet."""
        return (
            f"left: {self.x:.4f}in; top: {self.y:.4f}in;"
            f" width: {self.width:.4f}in; height: {self.height:.4f}in"
        )


@dataclass(frozen=True)
class CoverGeometry:
    """The flat sheet: bleed | back | spine | front | bleed, all in inches."""

    trim: tuple[float, float]  # one panel's width and height
    page_count: int
    spine_width: float
    paper: str = "white"  # as book.yaml says it (white, cream, 0.0023in), for describe()
    bleed: float = BLEED

    @property
    def full_width(self) -> float:
        return self.bleed + self.trim[0] + self.spine_width + self.trim[0] + self.bleed

    @property
    def full_height(self) -> float:
        return self.bleed + self.trim[1] + self.bleed

    @property
    def back(self) -> Box:
        """The back cover's trimmed area."""
        return Box(self.bleed, self.bleed, *self.trim)

    @property
    def spine(self) -> Box:
        return Box(self.bleed + self.trim[0], self.bleed, self.spine_width, self.trim[1])

    @property
    def front(self) -> Box:
        """The front cover's trimmed area."""
        return Box(self.spine.right, self.bleed, *self.trim)

    @property
    def front_with_bleed(self) -> Box:
        """What a cover image fills: the front panel and its bleed, up to the spine fold."""
        return Box(self.front.x, 0.0, self.trim[0] + self.bleed, self.full_height)

    @property
    def trim_box(self) -> Box:
        """The finished cover, flat: the sheet minus the bleed."""
        return Box(self.bleed, self.bleed, self.full_width - 2 * self.bleed, self.trim[1])

    @property
    def barcode(self) -> Box:
        """KDP's barcode area: the back cover's lower right corner, clear of trim and spine."""
        width, height = BARCODE_SIZE
        x = self.back.right - BARCODE_INSET - width
        y = self.back.bottom - BARCODE_INSET - height
        return Box(x, y, width, height)

    @property
    def spine_room(self) -> float:
        """Inches across the spine left for text once both folds are cleared."""
        return max(0.0, self.spine_width - 2 * FOLD_CLEARANCE)

    @property
    def spine_type_pt(self) -> float:
        """The spine's capitals' font size in points: as large as the spine comfortably holds."""
        cap = min(self.spine_room * POINTS * SPINE_FILL, self.spine_width * POINTS * SPINE_SHARE)
        return min(cap / CAP_HEIGHT, SPINE_MAX_PT)

    @property
    def spine_text(self) -> bool:
        """KDP's page minimum, and room for capitals a reader can make out."""
        return self.page_count >= SPINE_TEXT_MIN_PAGES and self.spine_type_pt >= SPINE_MIN_PT

    def describe(self) -> str:
        """One line for the build report."""
        paper = f"{self.paper} paper"
        if self.paper not in ("white", "cream") and self.page_count:
            paper = f"paper {self.spine_width / self.page_count:.4f} in/page"
        return (
            f"{_inches(self.full_width)} x {_inches(self.full_height)} in"
            f" (spine {_inches(self.spine_width)} in, {self.page_count} pages, {paper})"
        )


def _inches(value: float) -> str:
    """12.484, 9.25, 0.5: three decimals at most, no trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def cover_geometry(settings: PdfSettings, page_count: int) -> CoverGeometry:
    """The wrap cover for a book of this trim, paper and page count."""
    return CoverGeometry(
        trim=settings.trim,
        page_count=page_count,
        spine_width=page_count * settings.paper_thickness,
        paper=settings.paper,
    )


def write_wrap_cover(book: Book, ctx: RenderContext, page_count: int) -> Rendered:
    """Lay out the sheet for an interior of `page_count` pages and write the PDF atomically."""
    geometry = cover_geometry(ctx.manifest.pdf, page_count + page_count % 2)  # a bound book is even
    if book.meta.cover:
        warn_low_resolution(book.meta.cover, geometry)
    target = ctx.out_dir / ctx.profile.file_name("cover")
    ink = barcode_ink(ctx.profile.for_cover())
    with captured_weasyprint_log("cover"), dated_as_the_book(book), atomic_path(target) as tmp:
        document = layout(book, ctx.manifest, geometry, ink)
        document.write_pdf(
            tmp,
            pdf_identifier=f"{book.meta.identifier}#cover".encode(),
            finisher=pdf_boxes(geometry),
        )
        _finish_for_press(tmp, book, ctx.profile.for_cover(), geometry)
    return Rendered(target, geometry.describe())


def _finish_for_press(path: Path, book: Book, rules: Profile, geometry: CoverGeometry) -> None:
    """PDF/X covers in colour-managed CMYK; every cover preflighted before it is written."""
    finish_for_print(path, rules, book.meta.title, CoverInks() if rules.identification else None)
    trim = (geometry.full_width - 2 * geometry.bleed, geometry.full_height - 2 * geometry.bleed)
    # The cover image's resolution was already reported, with its file name.
    preflight_or_fail(path, rules, trim, bleed=True, what="cover", quiet=frozenset({"image-dpi"}))


def barcode_ink(rules: Profile) -> str:
    """The barcode's colour: black, or the marked black a CMYK press's conversion knows."""
    if not rules.identification:  # no PDF/X: the colours stay RGB
        return BLACK
    return "#" + "".join(f"{v:02x}" for v in PRESS_BLACK)


class CoverInks(ManagedInks):
    """The cover's colours through the press's profile, but the barcode's in black ink
    alone: bars of four inks blur wherever the plates are out of register, and scan badly."""

    def colour(self, red: float, green: float, blue: float) -> tuple[float, ...]:
        if tuple(round(v * 255) for v in (red, green, blue)) == PRESS_BLACK:
            return (0.0, 0.0, 0.0, 1.0)
        return super().colour(red, green, blue)


def cover_dpi(image: Path, geometry: CoverGeometry) -> float:
    """The image's resolution once scaled to cover the front panel and its bleed."""
    with Image.open(image) as im:
        width, height = float(im.size[0]), float(im.size[1])
        if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF orientation: turned a quarter
            width, height = height, width
    area = geometry.front_with_bleed
    # object-fit: cover scales by the larger ratio, so the smaller resolution wins.
    return min(width / area.width, height / area.height)


def warn_low_resolution(image: Path, geometry: CoverGeometry) -> None:
    """Printers ask for 300 dpi; a blurry cover is the first thing a reader sees."""
    dpi = cover_dpi(image, geometry)
    if dpi < MIN_DPI:
        area = geometry.front_with_bleed
        log.warning(
            "cover: %s is %d dpi at the front cover's size (%.3f x %.3f in with bleed);"
            " printers ask for %d",
            image.name,
            math.floor(dpi),
            area.width,
            area.height,
            MIN_DPI,
        )


# Layout


@dataclass(frozen=True)
class Fit:
    """What a layout pass may adjust: type sizes as multiples of the design's, the spine
    items left out, and the title's measure (narrowed so its lines come out even)."""

    front: float = 1.0
    back: float = 1.0
    spine: float = 1.0
    spine_hidden: tuple[str, ...] = ()  # ids of spine items left out for lack of room
    title_measure: float = 0.0  # em of the title's size; 0: the panel's full width
    title_lines: int = 0  # how many lines that measure was chosen for


@dataclass(frozen=True)
class Measures:
    """Where a pass's text landed. Each ratio is room needed over room there (<= 1: fits)."""

    front: float = 1.0
    back: float = 1.0
    spine: float = 1.0
    spine_items: tuple[str, ...] = ()  # ids of the spine items set, in order
    title_lines: int = 0
    title_width: float = 0.0  # em: the title's lines end to end

    def overflowing(self) -> list[str]:
        # A hair of tolerance: a line that exactly fills its room measures 1.0000001.
        return [p for p in ("front", "back", "spine") if getattr(self, p) > 1.001]


# The smallest multiples of the design's sizes: below them, better to warn than to print.
MIN_FRONT_SCALE = 0.6
MIN_BACK_SCALE = 0.8  # 8.8pt
MAX_TITLE_LINES = 4  # a longer title is set smaller rather than stacked ever higher
SPINE_COMFORT_PT = 8.0  # shrink the spine's title to this before leaving out an item
SPINE_ITEMS = ("spine-title", "spine-names", "spine-publisher")


def layout(
    book: Book, manifest: Manifest, geometry: CoverGeometry, ink: str = BLACK
) -> weasyprint.Document:
    """Lay out the sheet, balancing the title's lines and shrinking type that does not fit.

    `ink` is the barcode's colour (see barcode_ink).
    """
    html = wrap_html(book, manifest, geometry, ink)
    fit = Fit()
    for _ in range(MAX_FIT_PASSES):
        document = _render(book, html, geometry, fit, manifest.pdf)
        found = measure(document, geometry)
        better = refine(fit, found, geometry.spine_type_pt)
        if better == fit:
            break
        fit = better
    for panel in found.overflowing():
        log.warning("cover: the %s text does not fit its panel; shorten it", panel)
    return document


def refine(fit: Fit, found: Measures, spine_pt: float) -> Fit:
    """The next pass's settings (the same settings when this pass is as good as it gets).

    `spine_pt` is the spine's design size, which the spine's scale multiplies.
    """
    back = _scaled(fit.back, found.back, 0.5, MIN_BACK_SCALE)
    better = replace(fit, back=back, **_spine_fit(fit, found, spine_pt))
    # Too many title lines count as overflow too: lines grow with the size, and the
    # front's ratio is squared like an area's.
    crowded = max(found.front, (found.title_lines / MAX_TITLE_LINES) ** 2)
    front = _scaled(fit.front, crowded, 0.5, MIN_FRONT_SCALE)
    if front != fit.front:  # a new size wraps differently: balance again afterwards
        return replace(better, front=front, title_measure=0.0, title_lines=0)
    if found.title_lines > 1 and not fit.title_measure:
        # Even lines are at least the whole title over the line count; a little more
        # leaves room for words that do not split evenly.
        even = found.title_width / found.title_lines * 1.1
        return replace(better, title_measure=even, title_lines=found.title_lines)
    if fit.title_measure and found.title_lines > fit.title_lines:
        return replace(better, title_measure=fit.title_measure * 1.1)
    return better


def _scaled(now: float, ratio: float, power: float, floor: float) -> float:
    # Wrapped text grows with the square of its size (power 0.5); a line, linearly (1).
    # 3% more than the ratio says lands the next pass inside the room, not on its edge.
    if ratio <= 1.001:
        return now
    return max(now * 0.97 / math.pow(ratio, power), floor)


def _spine_fit(fit: Fit, found: Measures, spine_pt: float) -> dict[str, Any]:
    """A little too long: shrink; far too long: leave out the imprint, then the names."""
    if not spine_pt or found.spine <= 1.001:
        return {}
    floor = SPINE_MIN_PT / spine_pt
    optional = [item for item in found.spine_items[1:] if item not in fit.spine_hidden]
    wanted = fit.spine * 0.97 / found.spine
    if optional and wanted * spine_pt < max(SPINE_MIN_PT, min(SPINE_COMFORT_PT, spine_pt)):
        return {"spine_hidden": (*fit.spine_hidden, optional[-1])}
    return {"spine": max(wanted, floor)}


def _render(
    book: Book, html: str, geometry: CoverGeometry, fit: Fit, settings: PdfSettings
) -> weasyprint.Document:
    fetcher = BookFetcher(book.root, search_path(book))
    document = weasyprint.HTML(string=html, base_url=BOOK_URL, url_fetcher=fetcher)
    fonts = font_config()
    css = geometry_css(settings, geometry, fit)
    css += find_file(book, "wrap.css").read_text("utf-8")
    # @font-face rules only load when the stylesheet is parsed with the font config.
    stylesheet = weasyprint.CSS(
        string=css, base_url=BOOK_URL, url_fetcher=fetcher, font_config=fonts
    )
    return document.render(stylesheets=[stylesheet], font_config=fonts)


def wrap_html(book: Book, manifest: Manifest, geometry: CoverGeometry, ink: str = BLACK) -> str:
    """The sheet as HTML: the theme's wrap.html filled in."""
    meta = book.meta
    names = join_names(meta.authors)
    byline = names or (f"Edited by {join_names(meta.editors)}" if meta.editors else "")
    barcode = isbn_barcode(manifest, ink)
    html = (
        environment(book)
        .get_template("wrap.html")
        .render(
            meta=meta,
            geometry=geometry,
            byline=byline,
            spine_title=Markup(main_title(meta.title_html)),
            spine_names=join_names(meta.creators),
            spine_imprint=geometry.spine_type_pt >= SPINE_IMPRINT_MIN_PT,
            back_html=Markup(back_cover_html(manifest)),
            barcode=barcode,
            cover_src=cover_url(book),
            version=__version__,
        )
    )
    if barcode and barcode not in html:
        # A book's own wrap.html from before there were barcodes: say so, not print without.
        log.warning("cover: wrap.html does not place {{ barcode }}; the ISBN's barcode is left out")
    return html


def isbn_barcode(manifest: Manifest, ink: str) -> Markup:
    """The barcode area's SVG for a book with an ISBN; nothing (a white area) without."""
    if not manifest.isbn:
        return Markup("")
    return Markup(barcode_svg(manifest.isbn, manifest.price, BARCODE_SIZE, ink))


def main_title(title_html: str) -> str:
    """The title before its colon: what a spine shows of "Main Title: a Subtitle"."""
    head, colon, _ = title_html.partition(":")
    # A colon inside markup (an attribute, an <em>…</em> span) is not the title's own.
    if not colon or not head.strip() or "<" in head:
        return title_html
    return head.strip()


def back_cover_html(manifest: Manifest) -> str:
    """The back cover's copy: `back_cover` as Markdown, else the description, else nothing."""
    if manifest.back_cover.strip():
        return markup.markdown_to_html(manifest.back_cover, manifest.language)
    if manifest.description.strip():
        return markup.text_to_html(manifest.description, manifest.language)
    return ""


def cover_url(book: Book) -> str:
    """The cover image under the book's virtual root ("" when there is none)."""
    if book.meta.cover is None:
        return ""
    relative = Path(os.path.relpath(book.meta.cover.resolve(), book.root.resolve()))
    if relative.parts and relative.parts[0] == "..":
        raise ValueError(f"cover: {book.meta.cover} is outside the book folder")
    return BOOK_URL + quote(relative.as_posix())


def geometry_css(settings: PdfSettings, geometry: CoverGeometry, fit: Fit) -> str:
    """Faces, sheet size and where every panel sits, written before the theme's wrap.css."""
    hidden = "".join(f"#{item} {{ display: none }}\n" for item in fit.spine_hidden)
    return (
        font_faces_css() + _custom_properties(settings, geometry, fit) + _places(geometry) + hidden
    )


def _custom_properties(settings: PdfSettings, g: CoverGeometry, fit: Fit) -> str:
    family = f'"{settings.font_family}", ' if settings.font_family else ""
    front_pt = DESIGN_PT * g.trim[0] / 6.0  # the front is drawn for 6 in wide; others scale
    spine_pt = g.spine_type_pt * fit.spine
    small_pt = max(spine_pt * 0.82, min(spine_pt, SPINE_MIN_PT))
    measure = f"{fit.title_measure:.3f}em" if fit.title_measure else "none"
    return (
        f':root {{ --cover-font: {family}"{BOOK_FONT}", {FALLBACK};'
        f" --front-type: {front_pt * fit.front:.2f}pt; --back-type: {DESIGN_PT * fit.back:.2f}pt;"
        f" --spine-type: {spine_pt:.2f}pt; --spine-small: {small_pt:.2f}pt;"
        f" --spine-room: {g.spine_room:.4f}in; --title-measure: {measure};"
        f" --safe: {SAFE_MARGIN}in }}\n"
    )


def _places(g: CoverGeometry) -> str:
    sheet = Box(0.0, 0.0, g.full_width, g.full_height)
    return (
        f"@page {{ size: {g.full_width:.4f}in {g.full_height:.4f}in; margin: 0 }}\n"
        f".sheet {{ {sheet.css()} }}\n"
        f".panel.back {{ {g.back.css()} }}\n"
        f".panel.spine {{ {g.spine.css()} }}\n"
        f".panel.front {{ {g.front.css()} }}\n"
        f".cover-image {{ {g.front_with_bleed.css()} }}\n"
        f".barcode {{ {g.barcode.css()} }}\n"
        f".spine-line {{ {_spine_line(g).css()}; line-height: {g.spine_room:.4f}in }}\n"
    )


def _spine_line(g: CoverGeometry) -> Box:
    """The spine's line of text before it is turned: centred on the spine, along its length.

    Turned a quarter clockwise about its centre it runs top to bottom, clear of both folds
    and of the head and foot by the safe margin (plus a little more, for looks).
    """
    length = g.trim[1] - 2 * (SAFE_MARGIN + 0.25)
    across = g.spine_room
    centre_x = g.spine.x + g.spine_width / 2
    centre_y = g.spine.y + g.trim[1] / 2
    return Box(centre_x - length / 2, centre_y - across / 2, length, across)


# Checking the layout


def measure(document: weasyprint.Document, geometry: CoverGeometry) -> Measures:
    """Compare where the text landed with where it may go."""
    walked = list(_walk(document))
    at = _extents(walked)
    gap = 0.25 * PX  # air kept below the front's titling and above the barcode area
    front = back = spine = 1.0
    if "front-titling" in at and "front-byline" in at:
        room = at["front-byline"][1] - gap - at["front-titling"][1]
        need = at["front-titling"][3] - at["front-titling"][1]
        front = need / room if room > 0 else 2.0
    if "back-copy" in at:
        top, bottom = at["back-copy"][1], at["back-copy"][3]
        room = geometry.barcode.y * PX - gap - top
        back = (bottom - top) / room if room > 0 else 2.0
    items = tuple(item for item in SPINE_ITEMS if item in at)
    if items:
        # The items' own widths, margins included: laid out too long, they overlap
        # inside the line rather than run out of it.
        need = sum(at[item][2] - at[item][0] for item in items)
        spine = need / (_spine_line(geometry).width * PX)
    lines, width = _title_lines(walked)
    return Measures(front, back, spine, items, lines, width)


Walked = list[tuple[Any, tuple[str, ...]]]  # every box, with the ids of it and its ancestors
Extent = tuple[float, float, float, float]  # left, top, right, bottom in px


def _walk(document: weasyprint.Document) -> Iterator[tuple[Any, tuple[str, ...]]]:
    def visit(box: Any, owners: tuple[str, ...]) -> Iterator[tuple[Any, tuple[str, ...]]]:
        element = getattr(box, "element", None)
        ident = element.get("id") if element is not None else None
        if ident and ident not in owners:
            owners += (ident,)
        yield box, owners
        for child in getattr(box, "children", ()):
            yield from visit(child, owners)

    for page in document.pages:
        yield from visit(page._page_box, ())


def _extent(box: Any) -> Extent:
    x, y = box.position_x, box.position_y
    return (x, y, x + box.margin_width(), y + box.margin_height())


def _union(a: Extent, b: Extent) -> Extent:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _extents(walked: Walked) -> dict[str, Extent]:
    """Every element with an id: the px its boxes and its descendants' cover.

    Positions are before transforms: the spine's line is measured unturned.
    """
    found: dict[str, Extent] = {}
    for box, owners in walked:
        if hasattr(box, "margin_width"):
            edges = _extent(box)
            for owner in owners:
                found[owner] = _union(found.get(owner, edges), edges)
    return found


def _title_lines(walked: Walked) -> tuple[int, float]:
    """The front title's line count, and its lines' lengths end to end in em."""
    title = [box for box, owners in walked if owners[-1:] == ("front-title",)]
    lines = [box for box in title if isinstance(box, boxes.LineBox)]
    if not lines:
        return 0, 0.0
    font_px = float(title[0].style["font_size"])  # px, like the positions
    total = 0.0
    for line in lines:
        inner = [_extent(child) for child in line.children]
        if inner:
            total += max(e[2] for e in inner) - min(e[0] for e in inner)
    return len(lines), total / font_px


def pdf_boxes(geometry: CoverGeometry) -> Callable[[weasyprint.Document, pydyf.PDF], None]:
    """A finisher that marks the trim and bleed: TrimBox inside the bleed, BleedBox = MediaBox.

    WeasyPrint's own `bleed` property would move the MediaBox's origin below zero; a
    sheet laid out at full size keeps it at (0, 0), as cover templates have it.
    """
    trim = geometry.trim_box
    sheet_height = geometry.full_height

    def finish(_document: weasyprint.Document, pdf: pydyf.PDF) -> None:
        for number in pdf.pages["Kids"][::3]:
            page = pdf.objects[number]
            left, right = trim.x * POINTS, trim.right * POINTS
            # PDF measures up from the bottom edge.
            bottom = (sheet_height - trim.bottom) * POINTS
            top = (sheet_height - trim.y) * POINTS
            page["TrimBox"] = pydyf.Array([left, bottom, right, top])
            page["BleedBox"] = pydyf.Array(list(page["MediaBox"]))

    return finish

"""The printed book: one HTML document laid out by WeasyPrint."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydyf
import weasyprint

from make_book import __version__
from make_book.fragment import replace_noterefs
from make_book.manifest_types import PdfSettings
from make_book.model import Book, Essay
from make_book.output import atomic_path
from make_book.render.base import RenderContext, Renderer
from make_book.render.fetch import BOOK_URL, FONTS_URL, BookFetcher
from make_book.render.links import essay_type, no_epub_type
from make_book.theme import environment, find_file, search_path

# The bundled face: (file, weight, style). Licence: fonts/LICENSE-Libertine.txt (OFL).
BOOK_FONT = "Book Serif"
_FACES = (
    ("LinLibertine_R.otf", 400, "normal"),
    ("LinLibertine_RI.otf", 400, "italic"),
    ("LinLibertine_RB.otf", 700, "normal"),
    ("LinLibertine_RBI.otf", 700, "italic"),
)
_FALLBACK = '"DejaVu Serif", serif'  # for glyphs the book face lacks (Greek polytonic, CJK…)


def settings_css(settings: PdfSettings) -> str:
    """Page geometry and type from book.yaml, as CSS written before the theme's."""
    faces = "".join(
        f'@font-face {{ font-family: "{BOOK_FONT}"; src: url("{FONTS_URL}{f}");'
        f" font-weight: {w}; font-style: {s} }}\n"
        for f, w, s in _FACES
    )
    family = f'"{settings.font_family}", ' if settings.font_family else ""
    w, h = settings.trim
    s = settings
    return faces + (
        f':root {{ --book-font: {family}"{BOOK_FONT}", {_FALLBACK};'
        f" --book-size: {s.font_size}pt; --book-leading: {s.line_height};"
        f" --page-height: {h - s.margin_top - s.margin_bottom - 0.02:.3f}in }}\n"
        f"@page {{ size: {w}in {h}in; margin: {s.margin_top}in {s.margin_outside}in"
        f" {s.margin_bottom}in {s.margin_inside}in;"
        f' font-family: {family}"{BOOK_FONT}", {_FALLBACK}; font-size: {s.font_size * 0.85}pt }}\n'
        f"@page :left {{ margin-left: {s.margin_outside}in; margin-right: {s.margin_inside}in }}\n"
        f"@page :right {{ margin-left: {s.margin_inside}in; margin-right: {s.margin_outside}in }}\n"
    )


def footnoted_body(essay: Essay) -> str:
    """The essay body with each note moved to its call, for `float: footnote`."""
    notes = {note.number: note for note in essay.footnotes}

    def place(number: int, first: bool) -> str:
        note = notes[number]
        if not first:
            return f'<a class="noteref-repeat" href="#{note.id}">{number}</a>'
        return f'<span class="footnote" id="{note.id}">{_inline_blocks(note.html)}</span>'

    return replace_noterefs(essay.body_html, place)


def _inline_blocks(note_html: str) -> str:
    """A footnote lives inside a paragraph: its blocks become spans the CSS sets as blocks."""
    note_html = re.sub(r"<p(\s[^>]*)?>", '<span class="fn-p">', note_html)
    note_html = note_html.replace("</p>", "</span>")
    return re.sub(r"<(/?)(div|blockquote|ul|ol|li|h[1-6])\b[^>]*>", r"<\1span>", note_html)


def print_html(book: Book, typeface: str = "Linux Libertine") -> str:
    """The whole book as one HTML document for WeasyPrint."""
    template = environment(book).get_template("print.html")
    return template.render(
        book=book,
        meta=book.meta,
        notes=footnoted_body,
        contributors=book.contributors_page,
        sources=book.sources_page,
        typeface=typeface,
        version=__version__,
        href=lambda anchor: f"#{anchor}",  # one document: every link is a fragment
        t=no_epub_type,
        essay_type=essay_type,
    )


class PdfRenderer(Renderer):
    """book.yaml -> dist/book.pdf"""

    name = "pdf"
    suffix = ".pdf"

    def render(self, book: Book, ctx: RenderContext) -> Path:
        """Lay out the book and write the PDF atomically."""
        settings = ctx.manifest.pdf
        typeface = settings.font_family or "Linux Libertine"
        target = ctx.out_dir / f"book{self.suffix}"
        with _captured_weasyprint_log(), _source_date(book), atomic_path(target) as tmp:
            document = self.layout(book, settings, typeface)
            document.write_pdf(tmp, **self.pdf_options(book, document))
        return target

    def layout(self, book: Book, settings: PdfSettings, typeface: str) -> weasyprint.Document:
        """Render the HTML to laid-out pages, logging WeasyPrint's warnings as ours."""
        # Fonts resolve along the theme search path: a project's folders may add faces.
        fetcher = BookFetcher(book.root, search_path(book))
        html = weasyprint.HTML(
            string=print_html(book, typeface), base_url=BOOK_URL, url_fetcher=fetcher
        )
        fonts = _fonts()
        css = settings_css(settings) + find_file(book, "print.css").read_text("utf-8")
        # @font-face rules only load when the stylesheet is parsed with the font config.
        stylesheet = weasyprint.CSS(
            string=css, base_url=BOOK_URL, url_fetcher=fetcher, font_config=fonts
        )
        return html.render(stylesheets=[stylesheet], font_config=fonts)

    def pdf_options(self, book: Book, document: weasyprint.Document) -> dict[str, Any]:
        """Fixed identifier and page labels that match the printed folios."""
        opener = _opener_index(document)

        def finisher(_doc: weasyprint.Document, pdf: pydyf.PDF) -> None:
            pdf.catalog["PageLabels"] = page_labels(opener)
            pdf.catalog["Lang"] = pydyf.String(book.meta.language)

        return {
            "pdf_identifier": book.meta.identifier.encode("utf-8"),
            "finisher": finisher,
        }


def _opener_index(document: weasyprint.Document) -> int:
    for index, page in enumerate(document.pages):
        if "main-start" in page.anchors:
            return index
    return 0


def page_labels(opener: int) -> pydyf.Dictionary:
    """Roman numbers for the front matter, arabic from the main matter's first page."""
    nums: list[object] = []
    if opener > 0:
        nums += [0, pydyf.Dictionary({"S": "/r"})]
    nums += [opener, pydyf.Dictionary({"S": "/D"})]
    return pydyf.Dictionary({"Nums": pydyf.Array(nums)})


_FONT_CONFIG: weasyprint.text.fonts.FontConfiguration | None = None


def _fonts() -> weasyprint.text.fonts.FontConfiguration:
    """One FontConfiguration per process: loading @font-face files is the slow part."""
    global _FONT_CONFIG
    if _FONT_CONFIG is None:
        _FONT_CONFIG = weasyprint.text.fonts.FontConfiguration()
    return _FONT_CONFIG


@contextlib.contextmanager
def _source_date(book: Book) -> Iterator[None]:
    """fontTools stamps the clock into subset fonts unless SOURCE_DATE_EPOCH is set."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = str(int(book.meta.modified_time.timestamp()))
    try:
        yield
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]


class _captured_weasyprint_log:
    """Route WeasyPrint's CSS and layout warnings to make-book's logger."""

    def __enter__(self) -> None:
        self.handler = _Forward()
        logger = logging.getLogger("weasyprint")
        self.propagate = logger.propagate
        logger.addHandler(self.handler)
        logger.propagate = False

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("weasyprint")
        logger.removeHandler(self.handler)
        logger.propagate = self.propagate


class _Forward(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING and "HarfBuzz-Subset" not in record.getMessage():
            logging.getLogger("make_book").warning("pdf: %s", record.getMessage())

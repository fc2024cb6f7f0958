"""The whole book laid out as one WeasyPrint document: the reference the pieces must equal.

make-book itself lays books out in pieces (print_layout.py); this is for the tests that
compare the two, and for the benchmark's one-document baseline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from make_book.model import Book
from make_book.profiles import Profile
from make_book.render.pdf.footnotes import footnoted_body
from make_book.render.pdf.layout.pieces import template_context
from make_book.render.pdf.page_css import safe_margin, settings_css
from make_book.render.weasy.session import font_config
from make_book.render.weasy.urls import BOOK_URL
from make_book.source.manifest_types import PdfSettings
from make_book.theme import environment, find_file, search_path

if TYPE_CHECKING:
    import weasyprint


def print_html(book: Book, typeface: str = "Linux Libertine") -> str:
    """The whole book as one HTML document for WeasyPrint."""
    template = environment(book).get_template("print.html")
    return template.render(**template_context(book, typeface, footnoted_body))


def layout(book: Book, settings: PdfSettings, profile: Profile) -> weasyprint.Document:
    """The whole book as one WeasyPrint document: the reference the pieces must equal.

    make-book itself lays books out in pieces (`lay_out`); this is for the tests
    that compare the two, and for the benchmark's one-document baseline.
    """
    import weasyprint

    from make_book.render.weasy import patches
    from make_book.render.weasy.fetch import BookFetcher

    patches.install()  # leaders as the pieces set them: the same pages, drawn the same way

    # Fonts resolve along the theme search path: a project's folders may add faces.
    fetcher = BookFetcher(book.root, search_path(book))
    typeface = settings.font_family or "Linux Libertine"
    html = weasyprint.HTML(
        string=print_html(book, typeface), base_url=BOOK_URL, url_fetcher=fetcher
    )
    fonts = font_config()
    page_css = settings_css(
        settings, profile.bleeds(settings.bleed), safe_margin(settings, profile)
    )
    css = page_css + find_file(book, "print.css").read_text("utf-8")
    # @font-face rules only load when the stylesheet is parsed with the font config.
    stylesheet = weasyprint.CSS(
        string=css, base_url=BOOK_URL, url_fetcher=fetcher, font_config=fonts
    )
    # Printers want 300 dpi and gain nothing from more: WeasyPrint downsamples while laying out.
    dpi = {"dpi": profile.min_dpi} if profile.min_dpi else {}
    return html.render(stylesheets=[stylesheet], font_config=fonts, **dpi)

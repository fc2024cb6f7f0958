"""An offprint's first page: the theme's offprint.html laid out by WeasyPrint at the
book's trim, in the book's face and margins (book.yaml's `pdf:`, as the print edition
of this profile has them), tagged when the offprint is checked as a tagged file."""

from __future__ import annotations

import io

import pydyf
import weasyprint

from make_book import __version__
from make_book.model import Book, Essay, join_names
from make_book.profiles import Profile
from make_book.render.base import PrintPages, RenderContext
from make_book.render.pdf.page_css import print_settings, settings_css
from make_book.render.weasy.fetch import BOOK_URL, BookFetcher
from make_book.render.weasy.patches.font_dates import dated_as_the_book
from make_book.render.weasy.session import captured_weasyprint_log, font_config
from make_book.render.weasy.text_spans import fold_text_spans
from make_book.theme import environment, find_file, search_path


class FirstPages:
    """The first pages of one book's offprints: the template and the stylesheet (its
    fonts loaded) are read once, for every essay."""

    def __init__(self, book: Book, ctx: RenderContext, pages: PrintPages, reading: Profile):
        self.book, self.reading = book, reading  # `reading`: what the offprint is checked as
        self.template = environment(book).get_template("offprint.html")
        self.fetcher = BookFetcher(book.root, search_path(book))
        css = _page_css(ctx, pages) + find_file(book, "offprint.css").read_text("utf-8")
        with captured_weasyprint_log("offprints"):
            # @font-face rules load only when the stylesheet is parsed with the fonts.
            self.stylesheet = weasyprint.CSS(
                string=css, base_url=BOOK_URL, url_fetcher=self.fetcher, font_config=font_config()
            )

    def pdf(self, essay: Essay, page_range: str) -> bytes:
        """The essay's first page as a PDF, its metadata the essay's (title, author)."""
        source = weasyprint.HTML(
            string=self.html(essay, page_range), base_url=BOOK_URL, url_fetcher=self.fetcher
        )
        out = io.BytesIO()
        with captured_weasyprint_log("offprints"), dated_as_the_book(self.book):
            document = source.render(stylesheets=[self.stylesheet], font_config=font_config())
            document.write_pdf(
                out,
                pdf_identifier=f"{self.book.meta.identifier}#offprint-{essay.slug}".encode(),
                pdf_tags=self.reading.tagged,
                pdf_variant=self.reading.weasyprint_variant,
                finisher=_lean_tree,
            )
        return out.getvalue()

    def html(self, essay: Essay, page_range: str) -> str:
        """The theme's offprint.html filled in for this essay."""
        meta = self.book.meta
        return self.template.render(
            meta=meta,
            essay=essay,
            authors=join_names(essay.authors or meta.creators),
            pages=page_range,
            version=__version__,
        )


def _page_css(ctx: RenderContext, pages: PrintPages) -> str:
    """The page size, margins and face of the print edition the essay's pages come from
    (its margins as the layout settled them for the page count; no bleed: a reader's copy)."""
    settings = print_settings(ctx.manifest.pdf, ctx.profile, pages.page_count)
    return settings_css(settings)


def _lean_tree(_document: weasyprint.Document, pdf: pydyf.PDF) -> None:
    """The page's structure tree as the book's is (no element per run of text)."""
    fold_text_spans(pdf)

"""The EPUB renderer: what it is and needs; the making is package.py's (ebooklib is
imported only when an EPUB is made, not while the workers lay out)."""

from __future__ import annotations

from make_book.model import Book
from make_book.render.base import Needs, PrintPages, RenderContext, Rendered, Renderer


class EpubRenderer(Renderer):
    """book.yaml -> dist/book.epub"""

    name = "epub"
    suffix = ".epub"
    # The page-list follows the print edition of the book's own profile, laid out for
    # the purpose if this build makes no such PDF: an EPUB is the same file whichever
    # formats and profiles were asked for. Every page start is known once every piece
    # is paginated, so the EPUB is made while the last pieces are still drawn.
    needs = Needs.PAGE_STARTS

    def render(self, book: Book, ctx: RenderContext, pages: PrintPages | None) -> Rendered:
        """Build the EPUB and write it atomically."""
        from make_book.render.epub.package import write_epub

        assert pages is not None, "the driver gives the print edition's pages"
        return Rendered(write_epub(book, ctx, pages))

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
    later_imports = ("make_book.render.epub.package",)  # ebooklib, Pillow for the cover

    def meanwhile(self, book: Book, ctx: RenderContext) -> None:
        """Each essay's fingerprint, which every page's key takes (model.py)."""
        for essay in book.all_texts:
            _ = essay.fingerprint

    def draft(self, book: Book, ctx: RenderContext, pages: PrintPages) -> object:
        """The essays' pages, made while the front matter is paginated."""
        from make_book.render.epub.package import draft_documents

        return draft_documents(book, ctx, pages)

    def render(
        self, book: Book, ctx: RenderContext, pages: PrintPages | None, draft: object = None
    ) -> Rendered:
        """Build the EPUB (with the drafted pages, if any) and write it atomically."""
        from make_book.cache.memo import BlobMemo
        from make_book.render.epub.package import write_epub

        assert pages is not None, "the driver gives the print edition's pages"
        assert draft is None or isinstance(draft, BlobMemo), "what `draft` made"
        memo = draft if isinstance(draft, BlobMemo) else None
        return Rendered(write_epub(book, ctx, pages, memo))

"""The wrap cover's renderer: what it is and needs; the sheet is wrap.py's (WeasyPrint is
imported only when a cover is made, the quick way, so the build's own process stays
small while the workers lay out)."""

from __future__ import annotations

from make_book.model import Book
from make_book.render.base import Needs, PrintPages, RenderContext, Rendered, Renderer


class WrapCoverRenderer(Renderer):
    """book.yaml -> dist/cover.pdf (dist/cover-kdp.pdf for the kdp profile…)"""

    name = "cover"
    suffix = ".pdf"
    needs = Needs.PAGE_COUNT  # the spine's width
    per_profile = True

    def render(
        self, book: Book, ctx: RenderContext, pages: PrintPages | None, draft: object = None
    ) -> Rendered:
        """Lay out the sheet for the interior's page count and write the PDF atomically."""
        from make_book.render.weasy.patches import import_weasyprint_lean

        import_weasyprint_lean()  # the quicker way, before wrap.py imports it
        from make_book.render.cover.wrap import write_wrap_cover

        assert pages is not None, "the driver gives the interior's page count"
        return write_wrap_cover(book, ctx, pages.page_count)

"""The PDF renderer: the finished interior of the print layout, published under the
book's name (book.pdf, book-kdp.pdf… for the print profiles)."""

from __future__ import annotations

from make_book.model import Book
from make_book.publish.atomic import place
from make_book.render.base import Needs, PrintPages, RenderContext, Rendered, Renderer


class PdfRenderer(Renderer):
    """book.yaml -> dist/book.pdf (or book-kdp.pdf… for the print profiles)"""

    name = "pdf"
    suffix = ".pdf"
    needs = Needs.INTERIOR
    per_profile = True
    # The join (pikepdf) and the preflight, made once the first piece is laid out (an
    # edit's piece is sent first: print_layout.py's _Joining); the fallback-glyph warning
    # reads the faces' cmaps; the join cuts them with HarfBuzz.
    later_imports = (
        "make_book.render.pdf.join.book_join",
        "make_book.render.pdf.preflight_gate",
        "fontTools.ttLib",
        "uharfbuzz",
    )

    def meanwhile(self, book: Book, ctx: RenderContext) -> None:
        """What the fallback-glyph warning reads (preflight_gate.py): the book's
        characters, and the cmaps of the faces it declares."""
        from make_book.render.pdf.glyphs import book_faces, coverage, printed_texts

        printed_texts(book, ctx.manifest.path, ctx.layout.cache_dir)
        for files in book_faces(book, ctx.manifest.pdf.font_family).values():
            coverage(files)

    def render(
        self, book: Book, ctx: RenderContext, pages: PrintPages | None, draft: object = None
    ) -> Rendered:
        """Publish the interior the print layout finished and preflighted."""
        assert pages is not None and pages.interior is not None, "the driver lays it out"
        target = ctx.out_dir / ctx.profile.file_name("book")
        place(pages.interior, target)
        return Rendered(target)

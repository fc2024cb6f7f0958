"""The offprints' renderer: what it is and needs; dist/offprints/ swapped in whole.

An offprint is an essay's pages as the book prints them, so it is made from the finished
interior of the print edition, not laid out again: asking for offprints costs seconds.
WeasyPrint and pikepdf are imported only when offprints are made (offprint.py).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from make_book.model import Book
from make_book.publish.staging import swap_folder
from make_book.render.base import Needs, PrintPages, RenderContext, Rendered, Renderer

FOLDER = "offprints"


class OffprintsRenderer(Renderer):
    """book.yaml -> dist/offprints/<essay>.pdf"""

    name = "offprints"
    suffix = ""
    # Like the EPUB's page-list, offprints follow the print edition of the book's own
    # profile, whichever profiles the build makes: the folios a citation gives.
    needs = Needs.INTERIOR
    per_profile = False

    def render(
        self, book: Book, ctx: RenderContext, pages: PrintPages | None, draft: object = None
    ) -> Rendered:
        """Write every essay's offprint into a fresh folder, then swap it for dist/offprints/."""
        from make_book.render.weasy.patches import import_weasyprint_lean

        import_weasyprint_lean()  # the quicker way, before offprint.py imports WeasyPrint
        from make_book.render.offprints.offprint import write_offprints

        assert pages is not None, "the driver gives the print edition's interior"
        interior = finished_interior(ctx, pages)
        target = ctx.out_dir / FOLDER
        scratch = Path(tempfile.mkdtemp(dir=ctx.out_dir, prefix=f".{FOLDER}-"))
        try:
            made = write_offprints(book, ctx, pages, interior, scratch)
            swap_folder(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return Rendered(target, f"{len(made)} essay{'' if len(made) == 1 else 's'}")


def finished_interior(ctx: RenderContext, pages: PrintPages) -> Path:
    """The finished interior of the print edition: the layout's temporary file, or, when
    the PDF renderer was made first at the same milestone and took it, the PDF it became
    (published under the book's name in the same folder)."""
    if pages.interior is not None and pages.interior.is_file():
        return pages.interior
    published = ctx.out_dir / ctx.profile.file_name("book")
    if pages.interior is not None and published.is_file():
        return published
    raise AssertionError("offprints: the driver gives the finished interior")

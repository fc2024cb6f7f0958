"""Binding an offprint: its first page, then the essay's pages copied from the book's
finished PDF as they are (content, fonts, folios, running heads, notes), with the
tags, links and bookmarks that belong to them and the book's folios as page labels.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pikepdf

from make_book.pagemap import PageStart
from make_book.render.offprints.links import (
    BookLinks,
    ObjGen,
    copy_bookmarks,
    prepare_page,
    put_back,
)
from make_book.render.offprints.structure import graft_structure


def bind(first_page: bytes, book_pdf: Path, starts: Sequence[PageStart], target: Path) -> None:
    """Write the offprint to `target`: `first_page` (a PDF of one page, or a few if a
    book's own template runs on; its catalog and metadata are the offprint's), then the
    book's pages `starts`, in order."""
    with pikepdf.open(io.BytesIO(first_page)) as offprint, pikepdf.open(book_pdf) as book:
        # The book is opened for this offprint alone and never saved: its pages' links
        # are changed in memory before they are copied (links.prepare_page).
        originals = [book.pages[start.index] for start in starts]
        links = BookLinks(book, originals)
        targets = {}
        opening = len(offprint.pages)
        for page in originals:
            targets.update(prepare_page(page, links))
            offprint.pages.append(page)
        copies = list(offprint.pages)[opening:]
        for copy in copies:
            _at_trim(copy)
        annotations = _copied_annotations(originals, copies)
        put_back(annotations, targets, copies)
        pages = {o.obj.objgen: c for o, c in zip(originals, copies, strict=True)}
        graft_structure(book, offprint, pages, annotations)
        copy_bookmarks(links, offprint, copies)
        _label(offprint, opening, [start.label for start in starts])
        offprint.save(target, deterministic_id=True)  # the same book, the same bytes


def _copied_annotations(
    originals: Sequence[pikepdf.Page], copies: Sequence[pikepdf.Page]
) -> dict[ObjGen, pikepdf.Object]:
    """Each kept annotation of the book's pages -> its copy (copied in the same order)."""
    found: dict[ObjGen, pikepdf.Object] = {}
    for original, copy in zip(originals, copies, strict=True):
        theirs = original.obj.get("/Annots", pikepdf.Array())
        mine = copy.obj.get("/Annots", pikepdf.Array())
        found.update({a.objgen: b for a, b in zip(theirs, mine, strict=True)})
    return found


def _at_trim(page: pikepdf.Page) -> None:
    """Shown at the trim: a reader's copy has no bleed (a printer's edition may)."""
    trim = page.obj.get("/TrimBox")
    if isinstance(trim, pikepdf.Array):
        page.obj.MediaBox = pikepdf.Array(list(trim))
        page.obj.BleedBox = pikepdf.Array(list(trim))
        for box in ("/CropBox", "/ArtBox"):
            if box in page.obj:
                del page.obj[box]


def _label(offprint: pikepdf.Pdf, opening: int, folios: Sequence[str]) -> None:
    """Page labels: the book's folios on its pages (a reader cites the page the viewer
    shows), none on the `opening` pages before them."""
    numbers: list[object] = [0, pikepdf.Dictionary()]
    for position, folio in enumerate(folios, start=opening):
        numbers += [position, pikepdf.Dictionary(P=pikepdf.String(folio))]
    offprint.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array(numbers))

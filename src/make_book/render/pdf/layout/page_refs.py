"""Page references: `<a class="page-ref" href="#anchor">` prints the folio of its target.

The book is laid out in pieces (pieces.py), so WeasyPrint's `target-counter()` cannot see
a target in another piece. Each reference is given its target's folio as `data-folio`
instead, which the theme prints (`a.page-ref::after`, print.css). The folios are those of
the previous round of the layout (print_layout.py): the first round prints a stand-in
as wide as most folios, so that the real ones move little, and a round whose
references then print other folios than its own is laid out again (the
pieces that hold no reference come from the cache). Only targets in the main matter have
folios here: a reference to the front matter prints none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from make_book.model import Book
from make_book.pagemap import page_label
from make_book.render.pdf.layout.pieces import Piece
from make_book.render.pdf.layout.protocol import PiecePages

_LINK = re.compile(r"<a\b[^>]*>")
_CLASS = re.compile(r'\bclass="([^"]*)"')
_TARGET = re.compile(r'\bhref="#([^"]+)"')
REFERENCE_CLASS = "page-ref"


def referenced(book: Book) -> frozenset[str]:
    """Every anchor a page reference of the book points at."""
    found: set[str] = set()
    for text in book.all_texts:
        for html in (text.body_html, *(note.html for note in text.footnotes)):
            found.update(anchor for anchor, _ in _references(html))
    return frozenset(found)


PLACEHOLDER = "000"  # the first round's folio: as wide as a long book's


def placeholder_folios(anchors: frozenset[str]) -> dict[str, str]:
    """The first round's folios: a stand-in for each (none for a book without references)."""
    return dict.fromkeys(anchors, PLACEHOLDER)


def with_folios(piece: Piece, folios: dict[str, str]) -> Piece:
    """The piece with each page reference carrying its target's folio, where known."""
    if REFERENCE_CLASS not in piece.html:
        return piece

    def number(link: re.Match[str]) -> str:
        tag = link.group(0)
        target = _reference(tag)
        if target is None or target not in folios:
            return tag
        return f'{tag[:-1]} data-folio="{folios[target]}">'

    return replace(piece, html=_LINK.sub(number, piece.html))


def folios_of(
    anchors: frozenset[str], front_pages: int, main: Iterable[PiecePages]
) -> dict[str, str]:
    """The printed folio of each of `anchors` that the main matter holds."""
    folios: dict[str, str] = {}
    first = front_pages
    for piece in main:
        for anchor, page in piece.anchors.items():
            if anchor in anchors:
                folios[anchor] = page_label(first + page, front_pages)
        first += piece.pages
    return folios


def _references(html: str) -> Iterable[tuple[str, str]]:
    for link in _LINK.finditer(html):
        target = _reference(link.group(0))
        if target is not None:
            yield target, link.group(0)


def _reference(tag: str) -> str | None:
    """The anchor a page reference's <a …> points at (None: not a page reference)."""
    classes = _CLASS.search(tag)
    if classes is None or REFERENCE_CLASS not in classes.group(1).split():
        return None
    target = _TARGET.search(tag)
    return target.group(1) if target else None

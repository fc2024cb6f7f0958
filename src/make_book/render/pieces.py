"""The printed book cut into pieces that can be laid out apart (see layout_pool.py).

Every piece of the main matter starts on a recto, so its folios follow from the
page counts of the pieces before it. The front matter (title pages, contents,
forewords) is one piece, laid out last: its contents print the main matter's
folios, which are known only then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from make_book import __version__
from make_book.model import Book, Essay, Part
from make_book.render.links import essay_type, no_epub_type
from make_book.theme import environment

END_MARKER = "make-book-piece-end"  # the id of the element whose page is dropped
_MARKER_TAG = f'id="{END_MARKER}">'
_HREF = re.compile(r'href="#([^"]+)"')
_ID = re.compile(r'\sid="([^"]+)"')
_FIRST_HEADING = re.compile(r"<h1\b[^>]*>")


@dataclass(frozen=True)
class PieceSpec:
    """What print-piece.html shows: `kind` and, for a part or an essay, which."""

    name: str  # unique: "front", "opener", a slug, "contributors", "sources"
    kind: str  # front, opener, part, essay, contributors, sources
    item: Essay | Part | None = None
    number: int = 0  # a part's number
    extra: str = ""  # the essay's extra classes: in-part, back-essay
    last: bool = False  # the book's last piece: no blank verso after it

    @property
    def words(self) -> int:
        """Roughly how much there is to lay out, for scheduling and progress."""
        return self.item.word_count if isinstance(self.item, Essay) else 50


@dataclass(frozen=True)
class Piece:
    """A piece as a whole HTML document, and the ids it links to but lacks."""

    spec: PieceSpec
    html: str
    borrowed: tuple[str, ...] = field(default=())  # stand-in anchors: they live elsewhere


def main_specs(book: Book, contributors: bool, sources: bool) -> list[PieceSpec]:
    """The main matter's pieces in page order: opener, parts and essays, back matter."""
    specs: list[PieceSpec] = []
    if not isinstance(book.contents[0], Part):
        specs.append(PieceSpec("opener", "opener"))
    for number, item in enumerate(book.contents, 1):
        if isinstance(item, Part):
            part_number = sum(isinstance(i, Part) for i in book.contents[:number])
            specs.append(PieceSpec(item.slug, "part", item, part_number))
            specs += [PieceSpec(e.slug, "essay", e, extra="in-part") for e in item.all_essays]
        else:
            specs.append(PieceSpec(item.slug, "essay", item))
    specs += [PieceSpec(e.slug, "essay", e, extra="back-essay") for e in book.back]
    if contributors:
        specs.append(PieceSpec("contributors", "contributors"))
    if sources:
        specs.append(PieceSpec("sources", "sources"))
    specs[-1] = PieceSpec(**{**specs[-1].__dict__, "last": True})
    return specs


def render_piece(
    template: Any, spec: PieceSpec, context: dict[str, Any], folios: dict[str, int] | None = None
) -> Piece:
    """The piece's HTML; links to other pieces get stand-in anchors.

    WeasyPrint removes a link whose target is not in its document, so each such
    target gets an empty element at the start of the piece's first heading (where
    it adds no line). The joined PDF then points the link's named destination at
    the real place.
    """
    html = template.render(piece=spec, folios=folios or {}, **context)
    present = set(_ID.findall(html))
    borrowed = tuple(dict.fromkeys(t for t in _HREF.findall(html) if t not in present))
    stand_ins = "".join(f'<span id="{name}"></span>' for name in borrowed)
    heading = _FIRST_HEADING.search(html)
    at = heading.end() if heading else html.index(_MARKER_TAG) + len(_MARKER_TAG)
    return Piece(spec, html[:at] + stand_ins + html[at:], borrowed)


def piece_template(book: Book) -> Any:
    """print-piece.html from the book's theme, compiled once for all its pieces."""
    return environment(book).get_template("print-piece.html")


def template_context(book: Book, typeface: str, notes: Any) -> dict[str, Any]:
    """What print.html and print-piece.html are given, but the piece and its folios."""
    return {
        "book": book,
        "meta": book.meta,
        "notes": notes,
        "contributors": book.contributors_page,
        "sources": book.sources_page,
        "typeface": typeface,
        "version": __version__,
        "href": lambda anchor: f"#{anchor}",  # the joined PDF resolves every fragment
        "t": no_epub_type,
        "essay_type": essay_type,
    }

"""The printed book cut into pieces that can be laid out apart (see pool.py).

Every piece of the main matter starts on a recto, so its folios follow from the
page counts of the pieces before it. The front matter (title pages, contents,
forewords) is one piece, laid out last: its contents print the main matter's
folios, which are known only then.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from make_book import __version__
from make_book.cache.folder import CacheFolder
from make_book.cache.templates import CompiledTemplates
from make_book.model import Book, Essay, Part
from make_book.render.links import essay_type, no_epub_type
from make_book.render.pdf.layout.protocol import END_MARKER
from make_book.theme import environment

BATCH = 4  # essays per piece, on average
BATCH_WORDS = 8_000  # about 20 pages: a piece no longer than this, unless one essay is
_MARKER_TAG = f'id="{END_MARKER}">'
_HREF = re.compile(r'href="#([^"]+)"')
_ID = re.compile(r'\sid="([^"]+)"')
_FIRST_HEADING = re.compile(r"<h1\b[^>]*>")


@dataclass(frozen=True)
class PieceSpec:
    """What print-piece.html shows: `kind` and, for a part or essays, which."""

    name: str  # unique: "front", "opener", a slug, "contributors", "sources"
    kind: str  # front, opener, part, essays, contributors, sources
    part: Part | None = None
    number: int = 0  # a part's number
    essays: tuple[tuple[Essay, str], ...] = ()  # each with its extra classes (in-part…)
    last: bool = False  # the book's last piece: no blank verso after it

    @property
    def words(self) -> int:
        """Roughly how much there is to lay out, for scheduling and progress."""
        return sum(essay.word_count for essay, _ in self.essays) or 50


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
    run: list[tuple[Essay, str]] = []  # essays not under a part, in a row
    parts = 0
    for item in book.contents:
        if isinstance(item, Part):
            specs += _batches(run)
            run, parts = [], parts + 1
            specs.append(PieceSpec(item.slug, "part", item, parts))
            specs += _batches([(e, "in-part") for e in item.all_essays])
        else:
            run.append((item, ""))
    specs += _batches(run)
    specs += _batches([(e, "back-essay") for e in book.back])
    if contributors:
        specs.append(PieceSpec("contributors", "contributors"))
    if sources:
        specs.append(PieceSpec("sources", "sources"))
    specs[-1] = PieceSpec(**{**specs[-1].__dict__, "last": True})
    return specs


def _batches(essays: list[tuple[Essay, str]]) -> list[PieceSpec]:
    """Essays in a row, cut into pieces of about `BATCH` essays and `BATCH_WORDS` words.

    A piece costs some time of its own (a document, a PDF), so short essays go
    together. Where a piece ends depends on the essay's slug, and on lengths only
    where a piece would pass BATCH_WORDS: an essay that would take it past starts a
    piece of its own. So editing, adding or removing an essay leaves every piece as it
    was but its own (and, when its length moves where a piece passes BATCH_WORDS, those
    up to the next end set by a slug), and the cache still has them;
    and a long essay is never laid out again for an edit of a short one beside it.
    """
    pieces: list[PieceSpec] = []
    batch: list[tuple[Essay, str]] = []
    words = 0
    for essay, extra in essays:
        if batch and words + essay.word_count > BATCH_WORDS:
            pieces.append(_essays_piece(batch))
            batch, words = [], 0
        batch.append((essay, extra))
        words += essay.word_count
        if _ends_batch(essay.slug):
            pieces.append(_essays_piece(batch))
            batch, words = [], 0
    if batch:
        pieces.append(_essays_piece(batch))
    return pieces


def _essays_piece(batch: list[tuple[Essay, str]]) -> PieceSpec:
    return PieceSpec(batch[0][0].slug, "essays", essays=tuple(batch))


def _ends_batch(slug: str) -> bool:
    return int(hashlib.sha256(slug.encode()).hexdigest()[:8], 16) % BATCH == 0


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


def piece_template(book: Book, cache_dir: Path | None) -> Any:
    """print-piece.html from the book's theme, compiled once for all its pieces (and
    kept compiled in the cache at `cache_dir` for the next build)."""
    compiled = CompiledTemplates(CacheFolder.open(cache_dir))
    return environment(book, compiled=compiled).get_template("print-piece.html")


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

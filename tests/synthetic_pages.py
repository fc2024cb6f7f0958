"""Page starts made up from a book's blocks, for EPUB page-list tests that need no PDF.

They look like a print layout's: in page order, generated pages where the print has
them, each text opening on a new page at its heading, and pages that begin at the
first word of a block, in the middle of one, and twice in one block.
"""

from __future__ import annotations

from pathlib import Path

from make_book.build.driver import load
from make_book.model import Book, Part
from make_book.pagemap import PageStart, block_words, body_blocks
from make_book.render.base import PrintPages, RenderContext
from make_book.render.epub.renderer import EpubRenderer
from make_book.xhtml import parse_fragment

SOURCE = "Print edition, 6 x 9 in"
# Print sections that have no EPUB document: their pages are left out of the page-list.
UNLISTED = frozenset({"half-title", "main-start"})


class _Pages:
    """Hands out page numbers: roman until the main matter starts, arabic after."""

    def __init__(self) -> None:
        self.starts: list[PageStart] = []
        self.opener: int | None = None

    def add(self, text: str, section: str = "", block: int = -1, word: int = 0) -> None:
        index = len(self.starts)
        if self.opener is None and section == "main-start":
            self.opener = index
        label = str(index - self.opener + 1) if self.opener is not None else _roman(index + 1)
        self.starts.append(PageStart(index, label, text, section, block, word))


def _roman(number: int) -> str:
    out = ""
    for value, letters in ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        count, number = divmod(number, value)
        out += letters * count
    return out


def block_positions(number: int, words: int) -> list[int]:
    """Where pages begin in block `number` of `words` words (often none)."""
    found = set()
    if number % 4 == 0 and words:
        found.add(0)  # the block's first word
    if number % 3 == 1 and words > 6:
        found.add(words // 2)  # mid-block
    if number % 5 == 2 and words > 4:
        found.update({1, words - 1})  # two pages in one block
    return sorted(found)


def synthetic_starts(book: Book) -> list[PageStart]:
    """Page starts for every generated page and text of `book`, in print order."""
    pages = _Pages()
    for section in ("half-title", "title-page", "copyright"):
        pages.add("", section)
    if book.meta.dedication_html:
        pages.add("", "dedication")
    if book.meta.epigraph:
        pages.add("", "epigraph")
    pages.add("", "contents")
    for essay in book.front:
        _text(pages, essay.slug, essay.body_html)
    pages.add("", "main-start")
    for item in book.contents:
        if isinstance(item, Part):
            pages.add("", item.slug)
        for essay in item.all_essays if isinstance(item, Part) else (item,):
            _text(pages, essay.slug, essay.body_html)
    for essay in book.back:
        _text(pages, essay.slug, essay.body_html)
    if book.contributors_page:
        pages.add("", "contributors")
        pages.add("", "contributors")  # a second page of contributors
    if book.sources_page:
        pages.add("", "sources")
    return pages.starts


def _text(pages: _Pages, slug: str, body: str) -> None:
    pages.add(slug)  # the text opens a page at its heading
    for number, block in enumerate(body_blocks(parse_fragment(body))):
        for word in block_positions(number, len(block_words(block))):
            pages.add(slug, "", number, word)


def listed(starts: list[PageStart]) -> list[PageStart]:
    """The starts the EPUB can mark (every one but those of pages it has no document for)."""
    return [s for s in starts if s.text or s.section not in UNLISTED]


def build_paged_epub(manifest: Path, out_dir: Path) -> tuple[Path, Book, list[PageStart]]:
    """Build only the EPUB of a book, as if its print edition had been laid out first."""
    loaded, book = load(manifest)
    starts = synthetic_starts(book)
    pages = PrintPages("screen", page_count=len(starts), starts=tuple(starts), source=SOURCE)
    ctx = RenderContext(manifest=loaded, out_dir=out_dir)
    return EpubRenderer().render(book, ctx, pages).path, book, starts

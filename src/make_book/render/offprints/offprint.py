"""The offprints of a book: one PDF per essay, bound from the finished interior of its
print edition (binding.py) after a first page of its own (first_page.py), and
preflighted as a reader's copy."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from make_book.model import Book, Essay
from make_book.pagemap import PageStart, pages_of_texts
from make_book.profiles import PROFILES, Profile
from make_book.render.base import PrintPages, RenderContext
from make_book.render.offprints.binding import bind
from make_book.render.offprints.first_page import FirstPages
from make_book.render.pdf.preflight_gate import preflight_or_fail

log = logging.getLogger("make_book")


@dataclass(frozen=True)
class Offprint:
    """One essay and its printed pages."""

    essay: Essay
    pages: tuple[PageStart, ...]

    @property
    def file_name(self) -> str:
        return f"{self.essay.slug}.pdf"

    @property
    def page_range(self) -> str:
        """The folios as a citation gives them: "p. 7", "pp. 3–5"."""
        first, last = self.pages[0].label, self.pages[-1].label
        return f"p. {first}" if first == last else f"pp. {first}\u2013{last}"


def offprints_of(book: Book, pages: PrintPages) -> list[Offprint]:
    """An offprint for each essay of the main matter (parts' introductions included)."""
    found = pages_of_texts(pages.starts)
    offprints = []
    for essay in book.essays:
        if essay.slug in found:
            offprints.append(Offprint(essay, found[essay.slug]))
        else:  # every essay opens a page: only a layout of ours gone wrong gets here
            log.warning("offprints: no page of the print edition begins %s", essay.slug)
    return offprints


def reading_profile(edition: Profile) -> Profile:
    """What an offprint is checked against: the screen profile's rules, a reader's copy
    (bookmarks, links allowed), tagged if its print edition is (a printer's is not)."""
    screen = PROFILES["screen"]
    if edition.tagged:
        return screen
    return replace(
        screen, name="screen, untagged", tagged=False, weasyprint_variant=None, identification=""
    )


def write_offprints(
    book: Book, ctx: RenderContext, pages: PrintPages, interior: Path, folder: Path
) -> list[Path]:
    """Make every essay's offprint in `folder` from the finished `interior` of the print
    edition `pages` describes, each preflighted; their paths."""
    reading = reading_profile(ctx.profile)
    first_pages = FirstPages(book, ctx, pages, reading)
    made = []
    for offprint in offprints_of(book, pages):
        target = folder / offprint.file_name
        bind(first_pages.pdf(offprint.essay, offprint.page_range), interior, offprint.pages, target)
        what = f"offprints: {offprint.file_name}"
        preflight_or_fail(target, reading, ctx.manifest.pdf.trim, bleed=False, what=what)
        made.append(target)
    return made

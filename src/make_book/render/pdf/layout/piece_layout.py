"""Laying out one piece of the book (pieces.py) and writing its PDF, in any process.

The folios of a piece depend on the page counts of the pieces before it, but its
line and page breaks do not: every piece starts on a recto with the same page
geometry. So WeasyPrint lays the piece out, make-book learns its page count,
asks for the folio its first page gets, and only then are the running heads and
folios (WeasyPrint's margin boxes, made last) set, with the page counter moved on.
Each piece is laid out once, even in a cold parallel build.

That needs two of WeasyPrint's internals, wrapped by the folio hook
(render/weasy/patches/folios.py): on a WeasyPrint where it cannot work, laying out a
piece stops with a RenderError rather than number every piece from 1. Every patch this
layout relies on is installed by `make_book.render.weasy.patches.install()`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pydyf
import weasyprint

from make_book.errors import RenderError
from make_book.render.pdf.layout.page_starts import page_starts
from make_book.render.pdf.layout.protocol import END_MARKER, Bookmark, PiecePages, faces_folder
from make_book.render.pdf.layout.protocol import (
    AskFolio as AskFolio,  # re-exported, see piecetypes.py
)
from make_book.render.pdf.layout.protocol import LayoutJob as LayoutJob
from make_book.render.pdf.layout.protocol import PieceResult as PieceResult
from make_book.render.weasy import patches
from make_book.render.weasy.fetch import BOOK_URL, BookFetcher
from make_book.render.weasy.patches import attr_lists, folios, hyphenation
from make_book.render.weasy.patches.fence import SHARED
from make_book.render.weasy.patches.flate import default_flate_level
from make_book.render.weasy.patches.font_dates import dated_as_a_piece
from make_book.render.weasy.patches.font_faces import marking_faces
from make_book.render.weasy.session import font_config, release_font_config, worth_saying
from make_book.render.weasy.text_spans import fold_text_spans

SCALE = 0.75  # CSS px to PDF points, as WeasyPrint writes them


def lay_out_piece(
    job: LayoutJob, html: str, borrowed: tuple[str, ...], ask: AskFolio, out: Path
) -> PieceResult:
    """Lay out `html`, get its first folio from `ask`, write the PDF to `out` atomically."""
    fetcher = BookFetcher(job.book_root, job.font_dirs)
    paged: list[PiecePages] = []  # told once, when pagination is over

    def counted(found: PiecePages) -> int:
        anchors = _own_anchors(found.anchors, found.pages, set(borrowed))
        paged.append(replace(found, anchors=anchors))
        return ask(paged[0])

    with _collected_warnings() as warnings, dated_as_a_piece():
        document = _render(job, html, fetcher, counted)
        pages = document.pages[:-1]  # the end marker's page
        kept = document.copy(pages)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        # Each face kept whole beside the pieces and marked, for the join to embed once;
        # the piece needs those files as it needs the fonts it read.
        faces = faces_folder(out)
        marking: contextlib.AbstractContextManager[set[str]] = (
            marking_faces(faces) if faces is not None else contextlib.nullcontext(set())
        )
        with default_flate_level(), marking as left_out:
            kept.write_pdf(tmp, **_pdf_options(job))
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    os.replace(tmp, out)
    return PieceResult(
        name=out.stem,
        pages=len(pages),
        pdf=out,
        sha256=digest,
        bookmarks=_bookmarks(pages),
        anchors=paged[0].anchors,
        starts=paged[0].starts,
        warnings=list(dict.fromkeys(_stylesheet(job).warnings + warnings)),
        files=fetcher.read,
        faces=sorted(left_out),
    )


def prepare(job: LayoutJob) -> None:
    """Parse the job's stylesheet, load its fonts and its language's hyphenation
    dictionary, as the first piece would."""
    patches.install()
    hyphenation.preload(job.language)
    _stylesheet(job)


def _render(job: LayoutJob, html: str, fetcher: BookFetcher, ask: AskFolio) -> weasyprint.Document:
    patches.install()  # once per process (a no-op after the first piece)
    hyphenation.preload(job.language)  # from the copy parsed before (a no-op after that)
    fonts = font_config()
    attr_lists.free_attr_lists_with_layouts(fonts)  # a worker's memory stays flat
    stylesheet = _stylesheet(job)
    fetcher.read.update(stylesheet.files)  # read once per process; every piece depends on them
    source = weasyprint.HTML(string=html, base_url=BOOK_URL, url_fetcher=fetcher)
    dpi = {"dpi": job.dpi} if job.dpi else {}

    def first_folio(page_boxes: Sequence[Any]) -> int:
        pages = max(len(page_boxes) - 1, 0)  # the end marker's page is dropped
        starts = page_starts(page_boxes[:pages], 0)
        return ask(PiecePages(pages, _box_anchors(page_boxes), starts))

    with folios.numbered_from(first_folio):
        document = source.render(stylesheets=[stylesheet.css], font_config=fonts, **dpi)
    if not document.pages or END_MARKER not in document.pages[-1].anchors:
        raise RenderError("pdf: a piece's end marker is not on its own last page")
    return document


@dataclass(frozen=True)
class _Stylesheet:
    css: weasyprint.CSS
    files: dict[str, str]  # what parsing it read: the fonts, imported stylesheets
    warnings: list[str]  # what parsing it said: every piece repeats it (a cached one too)


_STYLESHEETS: dict[LayoutJob, _Stylesheet] = {}


def _stylesheet(job: LayoutJob) -> _Stylesheet:
    """The job's stylesheet, parsed (and its fonts loaded) once per process."""
    if job not in _STYLESHEETS:
        fetcher = BookFetcher(job.book_root, job.font_dirs)
        with _collected_warnings() as warnings:
            css = weasyprint.CSS(
                string=job.css, base_url=BOOK_URL, url_fetcher=fetcher, font_config=font_config()
            )
        _STYLESHEETS.clear()  # one job at a time: a new profile or margins replace it
        _STYLESHEETS[job] = _Stylesheet(css, fetcher.read, warnings)
    return _STYLESHEETS[job]


def forget_prepared() -> None:
    """Drop every stylesheet prepared in this process and the fonts they loaded: a new
    font configuration then holds only the next job's faces."""
    _STYLESHEETS.clear()
    release_font_config()


def _pdf_options(job: LayoutJob) -> dict[str, Any]:
    def finisher(_doc: weasyprint.Document, pdf: pydyf.PDF) -> None:
        pdf.catalog["Lang"] = pydyf.String(job.language)
        if job.tagged:
            fold_text_spans(pdf)

    return {
        "pdf_identifier": job.identifier.encode("utf-8"),
        "finisher": finisher,
        "pdf_tags": job.tagged,
        "pdf_variant": job.variant,
    }


def _bookmarks(pages: list[Any]) -> list[Bookmark]:
    """(level, label, page, x, y, state), the point in PDF units as WeasyPrint writes it."""
    return [
        Bookmark(level, label, index, x * SCALE, (page.height - y) * SCALE, state)
        for index, page in enumerate(pages)
        for level, label, (x, y), state in page.bookmarks
    ]


def _own_anchors(found: dict[str, int], pages: int, borrowed: set[str]) -> dict[str, int]:
    """The piece's own anchors on its kept pages: not stand-ins, not the end marker."""
    return {
        name: page
        for name, page in found.items()
        if page < pages and name not in borrowed and name != END_MARKER
    }


def _box_anchors(page_boxes: Iterable[Any]) -> dict[str, int]:
    """Each anchor's page index, read from the paginated boxes as WeasyPrint's
    `gather_anchors` will (the first of a duplicated id wins): known before the
    margin boxes, so the contents can be laid out while the pieces are drawn."""
    found: dict[str, int] = {}

    def walk(box: Any, index: int) -> None:
        name = box.style["anchor"]
        if name and name not in found:
            found[name] = index
        for child in box.all_children():
            walk(child, index)

    for index, page_box in enumerate(page_boxes):
        walk(page_box, index)
    return found


# Warnings: WeasyPrint's logger, held quiet while any thread's piece needs it.


class _Collecting(threading.local):
    found: list[str] | None = None  # this thread's piece's warnings


_COLLECTING = _Collecting()


@contextlib.contextmanager
def _collected_warnings() -> Iterator[list[str]]:
    """WeasyPrint's warnings, kept with the piece so a cached piece reports them again.

    Each thread collects its own piece's; the build says them once, so WeasyPrint's
    logger says nothing itself while any thread collects."""
    found: list[str] = []
    outer, _COLLECTING.found = _COLLECTING.found, found
    try:
        with SHARED.hold("weasyprint warnings", _quiet_weasyprint):
            yield found
    finally:
        _COLLECTING.found = outer


@contextlib.contextmanager
def _quiet_weasyprint() -> Iterator[None]:
    logger = logging.getLogger("weasyprint")
    handlers, propagate = logger.handlers, logger.propagate
    logger.handlers, logger.propagate = [_Collect()], False
    try:
        yield
    finally:
        logger.handlers, logger.propagate = handlers, propagate


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        found = _COLLECTING.found
        if found is not None and worth_saying(record):
            found.append(record.getMessage())

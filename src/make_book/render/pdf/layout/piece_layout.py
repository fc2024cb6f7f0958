"""Laying out one piece of the book (pieces.py) and writing its PDF, in any process.

The folios of a piece depend on the page counts of the pieces before it, but its
line and page breaks do not: every piece starts on a recto with the same page
geometry. So WeasyPrint lays the piece out, make-book learns its page count,
asks for the folio its first page gets, and only then are the running heads and
folios (WeasyPrint's margin boxes, made last) set, with the page counter moved on.
Each piece is laid out once, even in a cold parallel build.

That needs two of WeasyPrint's internals (`make_all_pages`, `make_margin_boxes`,
WeasyPrint 70): `install_folio_hook` wraps them, and `folio_hook_works` tells
whether it could, so that make-book falls back to one document otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydyf
import weasyprint
import weasyprint.layout

from make_book.errors import RenderError
from make_book.render.pdf.layout.page_starts import page_starts
from make_book.render.pdf.layout.protocol import END_MARKER
from make_book.render.pdf.layout.protocol import (
    AskFolio as AskFolio,  # re-exported, see piecetypes.py
)
from make_book.render.pdf.layout.protocol import LayoutJob as LayoutJob
from make_book.render.pdf.layout.protocol import PieceResult as PieceResult
from make_book.render.weasy.fetch import BOOK_URL, BookFetcher
from make_book.render.weasy.patches import attr_lists, leaders
from make_book.render.weasy.session import font_config, worth_saying

SCALE = 0.75  # CSS px to PDF points, as WeasyPrint writes them


def lay_out_piece(
    job: LayoutJob, html: str, borrowed: tuple[str, ...], ask: AskFolio, out: Path
) -> PieceResult:
    """Lay out `html`, get its first folio from `ask`, write the PDF to `out` atomically."""
    fetcher = BookFetcher(job.book_root, job.font_dirs)
    anchors: dict[str, int] = {}

    def counted(pages: int, found: dict[str, int]) -> int:
        anchors.update(_own_anchors(found, pages, set(borrowed)))
        return ask(pages, anchors)

    with _collected_warnings() as warnings, _fixed_font_dates():
        document = _render(job, html, fetcher, counted)
        pages = document.pages[:-1]  # the end marker's page
        kept = document.copy(pages)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        with _default_flate_level():
            kept.write_pdf(tmp, **_pdf_options(job))
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    os.replace(tmp, out)
    return PieceResult(
        name=out.stem,
        pages=len(pages),
        pdf=out,
        sha256=digest,
        bookmarks=_bookmarks(pages),
        anchors=anchors,
        starts=page_starts(kept, 0),
        warnings=list(dict.fromkeys(_stylesheet(job).warnings + warnings)),
        files=fetcher.read,
    )


def _render(job: LayoutJob, html: str, fetcher: BookFetcher, ask: AskFolio) -> weasyprint.Document:
    fonts = attr_lists.freed_with_layouts(font_config())  # a worker's memory stays flat
    stylesheet = _stylesheet(job)
    fetcher.read.update(stylesheet.files)  # read once per process; every piece depends on them
    source = weasyprint.HTML(string=html, base_url=BOOK_URL, url_fetcher=fetcher)
    dpi = {"dpi": job.dpi} if job.dpi else {}
    leaders.install()
    with _folio_from(ask):
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


def _pdf_options(job: LayoutJob) -> dict[str, Any]:
    def finisher(_doc: weasyprint.Document, pdf: pydyf.PDF) -> None:
        pdf.catalog["Lang"] = pydyf.String(job.language)

    return {
        "pdf_identifier": job.identifier.encode("utf-8"),
        "finisher": finisher,
        "pdf_tags": job.tagged,
        "pdf_variant": job.variant,
    }


def _bookmarks(pages: list[Any]) -> list[tuple[int, str, int, float, float, str]]:
    """(level, label, page, x, y, state), the point in PDF units as WeasyPrint writes it."""
    return [
        (level, label, index, x * SCALE, (page.height - y) * SCALE, state)
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


# The folio hook.

_original_make_all_pages = getattr(weasyprint.layout, "make_all_pages", None)
_original_make_margin_boxes = getattr(weasyprint.layout, "make_margin_boxes", None)


class _Shift(threading.local):
    """The piece being laid out in this thread (a worker runs one while another waits)."""

    ask: AskFolio | None = None
    paged: tuple[Any, ...] = ()  # the last pagination pass's page boxes, the marker's included
    delta: int | None = None


_SHIFT = _Shift()


def folio_hook_works() -> bool:
    """Whether this WeasyPrint has the two functions the hook wraps."""
    return _original_make_all_pages is not None and _original_make_margin_boxes is not None


def install_folio_hook() -> None:
    """Wrap WeasyPrint's pagination and margin boxes; inert outside `_folio_from`."""
    if not folio_hook_works() or getattr(weasyprint.layout, "_make_book_hooked", False):
        return
    weasyprint.layout.make_all_pages = _counted_pages
    weasyprint.layout.make_margin_boxes = _shifted_margin_boxes
    weasyprint.layout._make_book_hooked = True


@contextlib.contextmanager
def _folio_from(ask: AskFolio) -> Iterator[None]:
    install_folio_hook()
    _SHIFT.ask, _SHIFT.paged, _SHIFT.delta = ask, (), None
    try:
        yield
        if _SHIFT.delta is None:  # no page asked (cannot happen with a marker): ask anyway
            _ask_once()
    finally:
        _SHIFT.ask, _SHIFT.paged = None, ()


def _counted_pages(*args: Any, **kwargs: Any) -> list[Any]:
    assert _original_make_all_pages is not None
    pages = list(_original_make_all_pages(*args, **kwargs))
    _SHIFT.paged = tuple(pages)  # WeasyPrint may paginate again; the last pass counts
    return pages


def _shifted_margin_boxes(context: Any, page: Any, state: Any) -> Any:
    assert _original_make_margin_boxes is not None
    if _SHIFT.ask is not None:
        if _SHIFT.delta is None:  # pagination is over: margin boxes come after it
            _ask_once()
        if _SHIFT.delta:
            quote_depth, counters, scopes, groups = state
            counters = {**counters, "page": [n + _SHIFT.delta for n in counters.get("page", [])]}
            state = [quote_depth, counters, scopes, groups]
    return _original_make_margin_boxes(context, page, state)


def _ask_once() -> None:
    """The piece's page count and anchors, for its first folio (pagination is over)."""
    assert _SHIFT.ask is not None
    pages = max(len(_SHIFT.paged) - 1, 0)  # the end marker's page is dropped
    _SHIFT.delta = _SHIFT.ask(pages, _box_anchors(_SHIFT.paged)) - 1


# Speed.


class _DefaultLevelZlib:
    """zlib as pydyf sees it, at zlib's default level: pydyf asks for level 9, which
    takes three times as long for files 0.5% smaller (measured on the stress book)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)

    @staticmethod
    def compressobj(level: int = -1, *args: Any, **kwargs: Any) -> Any:
        return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, *args, **kwargs)


@contextlib.contextmanager
def _default_flate_level() -> Iterator[None]:
    before = getattr(pydyf, "zlib", None)
    if before is not zlib:  # another pydyf: leave it as it is
        yield
        return
    pydyf.zlib = _DefaultLevelZlib()
    try:
        yield
    finally:
        pydyf.zlib = before


# Warnings and dates: process-wide settings, held while any thread's piece needs them.


class _Holds:
    """Context managers entered by the first thread to ask and left by the last to go."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: dict[str, tuple[int, contextlib.ExitStack]] = {}

    @contextlib.contextmanager
    def hold(
        self, name: str, make: Callable[[], contextlib.AbstractContextManager[None]]
    ) -> Iterator[None]:
        with self.lock:
            users, stack = self.held.get(name, (0, contextlib.ExitStack()))
            if not users:
                stack.enter_context(make())
            self.held[name] = (users + 1, stack)
        try:
            yield
        finally:
            with self.lock:
                users, stack = self.held.pop(name)
                if users > 1:
                    self.held[name] = (users - 1, stack)
                else:
                    stack.close()


_SHARED = _Holds()


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
        with _SHARED.hold("warnings", _quiet_weasyprint):
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


# fontTools stamps SOURCE_DATE_EPOCH (else the clock) into each font subset. A piece
# must not depend on the book's date, which follows the newest essay when book.yaml
# gives none: one edit would lay every piece out again. The book's dates are in its
# metadata (the front matter's document); the subsets all get this one.
FONT_EPOCH = "946684800"  # 2000-01-01


def _fixed_font_dates() -> contextlib.AbstractContextManager[None]:
    return _SHARED.hold("font dates", _font_epoch)


@contextlib.contextmanager
def _font_epoch() -> Iterator[None]:
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = FONT_EPOCH
    try:
        yield
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before

"""Folios that follow the pages before a piece: WeasyPrint's page counter moved on
between pagination and the margin boxes.

Replaces: `weasyprint.layout.make_all_pages` and `weasyprint.layout.make_margin_boxes`
(WeasyPrint 70.0, imported into `weasyprint.layout` from `layout/page.py` and called
from `layout_document` by those names), with wrappers that call them unchanged.
Why: a piece's line and page breaks do not depend on the pages before it, its folios
do. `make_all_pages` is wrapped to keep the last pagination pass's page boxes; the
first `make_margin_boxes` call (margin boxes are made after pagination is over) asks
for the piece's first folio, and every call gets the page counter moved on by it.
So a piece is laid out once, its folios set when the pieces before it are counted.
Guarded: WeasyPrint 70.x, both functions there with the parameters written for,
`layout_document` calling them through the module's names, the page state the shape
it was. Otherwise `numbered_from` refuses (a RenderError: the piecewise layout would
number every piece from 1). Outside `numbered_from` the wrappers only pass through.
Installed by `make_book.render.weasy.patches.install()`; left installed for the
process's life (inert outside `numbered_from`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import weasyprint.layout

from make_book.errors import RenderError
from make_book.render.weasy.patches.fence import (
    REQUIREMENT,
    ShapeChanged,
    expect_global_calls,
    expect_signature,
    expect_weasyprint,
    weasyprint_version,
)

PAGINATE = "make_all_pages"
MARGIN_BOXES = "make_margin_boxes"
PARAMS = {
    PAGINATE: ("context", "root_box", "html", "pages"),
    MARGIN_BOXES: ("context", "page", "state"),
}

FirstFolio = Callable[[Sequence[Any]], int]  # the paginated page boxes -> the first folio


class _Piece(threading.local):
    """The layout numbered in this thread (a worker runs one while another waits)."""

    first_folio: FirstFolio | None = None
    paged: tuple[Any, ...] | None = None  # the last pagination pass's page boxes
    delta: int | None = None  # what the page counter is moved on by, once asked


_PIECE = _Piece()
_LOCK = threading.Lock()
_ORIGINALS: dict[str, Any] = {}  # WeasyPrint's own functions, once wrapped


def shape_problem() -> str | None:
    """What in this WeasyPrint differs from what the hook was written for (None: nothing)."""
    try:
        expect_weasyprint()
        for name, params in PARAMS.items():
            expect_signature(f"weasyprint.layout.{name}", _weasyprints(name), params)
        expect_global_calls(weasyprint.layout.layout_document, PAGINATE, MARGIN_BOXES)
    except ShapeChanged as changed:
        return str(changed)
    except AttributeError as missing:
        return f"weasyprint.layout: {missing}"
    return None


def _weasyprints(name: str) -> Any:
    """WeasyPrint's function `name` as `layout_document` will call it (ours: the one
    it wraps)."""
    current = getattr(weasyprint.layout, name, None)
    return _ORIGINALS.get(name) if current is _WRAPPERS[name] else current


def install() -> bool:
    """Wrap the two functions if this WeasyPrint has them as written for; whether they are."""
    with _LOCK:
        if installed():
            return True
        if shape_problem() is not None:
            return False
        for name in PARAMS:
            _ORIGINALS[name] = _weasyprints(name)
        weasyprint.layout.make_all_pages = _counted_pages
        weasyprint.layout.make_margin_boxes = _shifted_margin_boxes
        return True


def installed() -> bool:
    """Whether WeasyPrint calls the wrappers now."""
    return all(getattr(weasyprint.layout, name, None) is _WRAPPERS[name] for name in PARAMS)


def refusal(problem: str | None = None) -> str:
    """Why the piecewise layout cannot run on this WeasyPrint: one line for the author."""
    problem = problem or shape_problem() or "WeasyPrint laid the piece out around the folio hook"
    return (
        f"pdf: make-book lays the book out in pieces through two internals of WeasyPrint"
        f" 70 and cannot on this WeasyPrint ({weasyprint_version()}): {problem}."
        f" Install {REQUIREMENT}"
    )


@contextlib.contextmanager
def numbered_from(first_folio: FirstFolio) -> Iterator[None]:
    """Inside, in this thread: the document WeasyPrint lays out numbers its pages from
    `first_folio(page boxes)`, asked once, when pagination is over, with the last
    pagination pass's page boxes. Refuses (RenderError) where the hook cannot work."""
    problem = shape_problem()  # asked for every piece: cheap, and nothing is assumed
    if problem is not None or not install():
        raise RenderError(refusal(problem))
    _PIECE.first_folio, _PIECE.paged, _PIECE.delta = first_folio, None, None
    try:
        yield
        if _PIECE.delta is None:  # WeasyPrint went round the hook: the folios would be wrong
            raise RenderError(refusal())
    finally:
        _PIECE.first_folio, _PIECE.paged = None, None


def _counted_pages(context: Any, root_box: Any, html: Any, pages: Any) -> list[Any]:
    found = list(_ORIGINALS[PAGINATE](context, root_box, html, pages))
    if _PIECE.first_folio is not None:
        _PIECE.paged = tuple(found)  # WeasyPrint may paginate again; the last pass counts
    return found


def _shifted_margin_boxes(context: Any, page: Any, state: Any) -> Any:
    if _PIECE.first_folio is not None:
        if _PIECE.delta is None:  # pagination is over: margin boxes come after it
            if _PIECE.paged is None:
                raise RenderError(refusal(f"{MARGIN_BOXES} came before {PAGINATE}"))
            _PIECE.delta = _PIECE.first_folio(_PIECE.paged) - 1
        if _PIECE.delta:
            state = _moved_on(state, _PIECE.delta)
    return _ORIGINALS[MARGIN_BOXES](context, page, state)


def _moved_on(state: Any, delta: int) -> list[Any]:
    """WeasyPrint 70's page state [quote depth, counters, scopes, groups], its page
    counter moved on by `delta` (a copy: the state is WeasyPrint's)."""
    if not isinstance(state, list | tuple) or len(state) != 4 or not isinstance(state[1], dict):
        raise RenderError(refusal(f"{MARGIN_BOXES} was given a page state it cannot read"))
    quote_depth, counters, scopes, groups = state
    counters = {**counters, "page": [n + delta for n in counters.get("page", [])]}
    return [quote_depth, counters, scopes, groups]


_WRAPPERS = {PAGINATE: _counted_pages, MARGIN_BOXES: _shifted_margin_boxes}

"""What a piece's layout is given and gives back, and the messages between the build and
its layout workers: typed, and without WeasyPrint.

The build's own process makes LayoutJobs, caches and joins PieceResults, but never
lays out a page itself: importing these from here rather than from piece_layout.py
keeps WeasyPrint (~30 MB) out of it while the workers lay out.

A worker is first sent the LayoutJob (the handshake: a worker is started before its
book is known), then a `Lay` per piece, a `Folio` for each piece
that asked for its first folio, and `Stop`. It answers `Paginated` once a piece's
pages are counted (its folio may then be asked), then `Done` or `Failed`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, NamedTuple

from make_book.pagemap import PageStart

# Below this many words to lay out, starting workers costs more than it saves (pool.py;
# the command line, cli/build.py, reads it before it imports the build).
POOL_FROM_WORDS = 20_000

FACES = "faces"  # beside the pieces' folders: each face's whole file, once (font_faces.py)


def faces_folder(pdf: Path) -> Path | None:
    """The faces folder shared by the piece whose PDF is at `pdf` and the book's others
    (in the cache, or in the throwaway folder with the pieces); None for a PDF that is
    not in a piece's folder (a piece laid out elsewhere keeps its fonts' subsets).
    Here, not in piece_cache.py: a worker imports this module, and not the theme's."""
    if not re.fullmatch(r"[0-9a-f]{64}", pdf.parent.name):
        return None
    return pdf.parent.parent / FACES


END_MARKER = "make-book-piece-end"  # the id of the element whose page is dropped (pieces.py)
# The front matter's place among the pieces: laid out last (its contents print the
# folios of all the others), first in the book. The main matter's pieces are 0, 1, ...
FRONT_MATTER: Final = -1


class Bookmark(NamedTuple):
    """One outline entry of a piece, the point in PDF units as WeasyPrint writes it."""

    level: int
    label: str
    page: int  # index in the piece (in the joined book, once joined)
    x: float
    y: float
    state: str  # "open" or "closed"


@dataclass(frozen=True)
class LayoutJob:
    """What every piece of one book and profile is laid out with (sent to workers)."""

    css: str  # settings_css + the theme's print.css
    book_root: Path
    font_dirs: tuple[Path, ...]
    dpi: int  # 0: keep images as they are
    tagged: bool
    variant: str | None
    language: str
    identifier: str
    profile: str


@dataclass
class PieceResult:
    """A laid-out piece: its PDF and what the join, the contents and the EPUB need."""

    name: str
    pages: int  # pages kept: the end marker's page is dropped
    pdf: Path
    sha256: str
    bookmarks: list[Bookmark] = field(default_factory=list)
    anchors: dict[str, int] = field(default_factory=dict)  # id -> page index in the piece
    starts: list[PageStart] = field(default_factory=list)  # page indices in the piece
    warnings: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # file read -> its sha256
    passed: list[str] = field(default_factory=list)  # profiles whose preflight its pages passed
    faces: list[str] = field(default_factory=list)  # sha256 of the faces it left out (FACES)

    @property
    def paged(self) -> PiecePages:
        return PiecePages(self.pages, self.anchors, self.starts)


@dataclass(frozen=True)
class PiecePages:
    """What a piece's pagination tells, before the piece is drawn: its pages kept (the
    end marker's is dropped), and where its anchors and printed pages' starts fall
    (page indices in the piece). Enough for the contents and the EPUB's page-list."""

    pages: int
    anchors: dict[str, int]
    starts: list[PageStart]


# A piece's pages, once counted -> the folio of the piece's first page
AskFolio = Callable[[PiecePages], int]


# The build to a worker.


@dataclass(frozen=True)
class Brief:
    """The first message to a worker started before its build knew its book (launch.py's
    BRIEFED): the book's cache folder, whose last job it prepares (None: none to use)."""

    cache: Path | None


@dataclass(frozen=True)
class Lay:
    """Lay out this piece and write its PDF to `out`; `folio` None: ask for it."""

    index: int
    html: str
    borrowed: tuple[str, ...]
    out: Path
    folio: int | None


@dataclass(frozen=True)
class Folio:
    """The first folio of a piece that was paginated and asked for it."""

    index: int
    folio: int


@dataclass(frozen=True)
class Stop:
    """No more pieces: the worker ends once the pieces it holds are done (each of them
    has its folio by then, or was sent it before this)."""


# A worker to the build.


@dataclass(frozen=True)
class Paginated:
    """A piece's pages are counted, its anchors and page starts known (before it is drawn)."""

    index: int
    paged: PiecePages


@dataclass(frozen=True)
class Done:
    """A piece laid out and written; the memory the worker holds afterwards."""

    index: int
    result: PieceResult
    held_mb: float


@dataclass(frozen=True)
class Failed:
    """Laying out a piece failed: WeasyPrint's error, as one line."""

    index: int
    error: str
    verbatim: bool = False  # make-book's own error (a refusal): said as it is


FromWorker = Paginated | Done | Failed

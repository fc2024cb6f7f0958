"""What a piece's layout is given and gives back (piecework.py), without WeasyPrint.

The build's own process makes LayoutJobs, caches and joins PieceResults, but
never lays out a page itself: importing these from here rather than from
piecework.py keeps WeasyPrint (~30 MB) out of it while the workers lay out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from make_book.pagemap import PageStart

END_MARKER = "make-book-piece-end"  # the id of the element whose page is dropped (pieces.py)


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
    bookmarks: list[tuple[int, str, int, float, float, str]] = field(default_factory=list)
    anchors: dict[str, int] = field(default_factory=dict)  # id -> page index in the piece
    starts: list[PageStart] = field(default_factory=list)  # page indices in the piece
    warnings: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # file read -> its sha256
    passed: list[str] = field(default_factory=list)  # profiles whose preflight its pages passed


# (pages kept, anchor -> page index) -> the folio of the piece's first page
AskFolio = Callable[[int, dict[str, int]], int]

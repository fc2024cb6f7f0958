"""What every renderer is given and must provide.

A renderer declares what it is and what it needs from the print layout as class
attributes (as Sphinx's builders do); the build driver reads them, decides the
order and the overlap, and passes what was asked for as an argument. Renderers
never change the Book, never see each other, and never lay the book out themselves.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from make_book.model import Book
from make_book.pagemap import PageStart
from make_book.profiles import PROFILES, Profile
from make_book.progress import Progress
from make_book.source.manifest_types import Manifest


class Needs(enum.Enum):
    """What a renderer needs from the print layout of its profile, least first."""

    NOTHING = 0
    PAGE_COUNT = 1  # the final page count (a cover's spine)
    PAGE_STARTS = 2  # where every printed page begins (the EPUB's page-list)
    INTERIOR = 3  # the finished interior PDF itself (the PDF)


@dataclass(frozen=True)
class PrintPages:
    """What laying out the print edition of one profile found out, for other outputs.

    Made three times by the layout: once the main matter is paginated (its own pages
    and starts only, numbered from its first page: for drafts), once every page is
    counted (the last pieces may still be drawn), then when everything is laid out,
    with the interior PDF if one was made.
    """

    profile: str
    page_count: int  # padded to the profile's minimum and parity (a draft's: not)
    starts: tuple[PageStart, ...]  # numbered in the joined book (a draft's: in its own)
    source: str  # what the EPUB's page-list cites (dc:source)
    interior: Path | None = None  # the finished PDF, a temporary file beside its target


class SpareWorkers(Protocol):
    """Layout workers started before the book was read (render/pdf/layout/workers.py)."""

    def take(self, count: int) -> list[Any]:
        """Up to `count` of them, no longer spare."""
        ...

    def __len__(self) -> int: ...

    def prepare(self, job: Any) -> None:
        """Send them the job they will lay out (a LayoutJob), before their pieces."""
        ...


@dataclass(frozen=True)
class LayoutOptions:
    """How the print layout runs: worker processes, the cache, the progress display."""

    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    cache_dir: Path | None = None  # None: no cache kept between builds
    progress: Progress = field(default_factory=Progress)
    spares: SpareWorkers | None = None  # started while the book loaded (build/driver.py)
    # Called when the layout first waits for its workers (build/meanwhile.py).
    waiting: Callable[[], None] | None = None
    # Slugs of the essays an edit changed (cache/memo.py's `edited`): their pieces are
    # made first, and the first of them that needs laying out goes to a worker before
    # the others are rendered.
    first: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RenderContext:
    """Where to write, the manifest the book came from, and the print profile: input only."""

    manifest: Manifest
    out_dir: Path
    profile_name: str = ""  # empty: the manifest's pdf.profile
    layout: LayoutOptions = field(default_factory=LayoutOptions)
    # The files beside html/ the web edition links to: this build's, and those already
    # in the output folder (None: those in out_dir when the web edition is made).
    downloads: tuple[str, ...] | None = None

    @property
    def profile(self) -> Profile:
        """The print profile this build lays the PDF out for."""
        return PROFILES[self.profile_name or self.manifest.pdf.profile]


@dataclass(frozen=True)
class Rendered:
    """What a renderer wrote, and a line for the build's output (the cover's size)."""

    path: Path
    note: str = ""


class Renderer:
    """One output format. Renderers never change the Book.

    `needs`: what it needs from its profile's print layout; the driver passes it in
    as `pages` (None when it needs nothing). `per_profile`: made once for each print
    profile the build asks for (else once, for the book's own profile).
    `later_imports`: modules `render` imports that the build has not before it (the
    heavy ones), imported while the layout waits for its workers (build/meanwhile.py).
    """

    name: ClassVar[str] = ""
    suffix: ClassVar[str] = ""
    needs: ClassVar[Needs] = Needs.NOTHING
    per_profile: ClassVar[bool] = False
    later_imports: ClassVar[tuple[str, ...]] = ()

    def render(
        self, book: Book, ctx: RenderContext, pages: PrintPages | None, draft: object = None
    ) -> Rendered:
        """Write this format's output under ctx.out_dir; `draft` is what `draft` made."""
        raise NotImplementedError

    def meanwhile(self, book: Book, ctx: RenderContext) -> None:
        """Fill, in a thread while the layout waits for its workers, the caches `render`
        reads that need nothing from the layout. Say nothing and write nothing: what
        fails here is done again by `render`, and said there."""

    def draft(self, book: Book, ctx: RenderContext, pages: PrintPages) -> object:
        """Make ahead what needs only the main matter's page starts (`pages` has those
        alone, numbered from the main matter's first page), while the front matter is
        laid out; the driver hands it to `render`. A draft may come from a layout that
        is then laid out again (another gutter): `render` must check what it takes."""
        return None

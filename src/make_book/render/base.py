"""What every renderer is given and must provide."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from make_book.model import Book
from make_book.pagemap import PageStart
from make_book.profiles import PROFILES, Profile
from make_book.progress import Progress
from make_book.source.manifest_types import Manifest

if TYPE_CHECKING:
    from make_book.render.pdf.layout.workers import Spares


@dataclass
class PrintFacts:
    """What laying out the interior found out, for the renderers that come after it.

    The cover needs the final page count; the EPUB's page-list needs where each
    printed page begins. Filled by the PDF renderer (or on demand by `interior`).
    """

    page_count: int | None = None
    page_starts: list[PageStart] = field(default_factory=list)
    # The main matter's, numbered in the book, known before the front matter is drawn:
    # the EPUB makes its essays' pages meanwhile (RenderContext.meanwhile).
    main_starts: list[PageStart] = field(default_factory=list)
    profile: str = ""  # the profile those pages were laid out for
    source: str = ""  # what the page-list cites as its source (dc:source)
    notes: dict[str, str] = field(default_factory=dict)  # format -> a line for the build's output


@dataclass(frozen=True)
class LayoutOptions:
    """How the print layout runs: worker processes, the cache, the progress display."""

    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    cache_dir: Path | None = None  # None: no cache kept between builds
    progress: Progress = field(default_factory=Progress)
    spares: Spares | None = None  # workers started while the book loaded (build.py)


@dataclass(frozen=True)
class RenderContext:
    """Where to write, the manifest the book came from, and the print profile."""

    manifest: Manifest
    out_dir: Path
    profile_name: str = ""  # empty: the manifest's pdf.profile
    facts: PrintFacts = field(default_factory=PrintFacts)
    layout: LayoutOptions = field(default_factory=LayoutOptions)
    # The files beside html/ the web edition links to: this build's, and those already
    # in the output folder (None: those in out_dir when the web edition is made).
    downloads: tuple[str, ...] | None = None
    # Called by the PDF renderer while a worker lays out the front matter, given a
    # function that waits for the final page count (None: another layout round comes)
    # and sets facts.page_count and main_starts: the build makes the web edition, the
    # cover and the EPUB's essay pages meanwhile.
    meanwhile: Callable[[Callable[[], int | None]], None] | None = None

    @property
    def profile(self) -> Profile:
        """The print profile this build lays the PDF out for."""
        return PROFILES[self.profile_name or self.manifest.pdf.profile]


class Renderer:
    """One output format. Renderers never change the Book."""

    name: str = ""
    suffix: str = ""

    def render(self, book: Book, ctx: RenderContext) -> Path:
        """Write this format's output under ctx.out_dir and return its path."""
        raise NotImplementedError

    def prepare(self, book: Book, ctx: RenderContext) -> None:
        """Make ahead what needs only ctx.facts.page_count and main_starts, before
        `render` (the build calls it while a worker lays out the front matter)."""

"""The order and overlap of a build's steps, decided from what each renderer declares.

A step is one output of one print profile. Every print layout a step needs is run
once (render/pdf/print_layout.py), and the driver makes each step at the first
milestone of its layout that gives what the step needs:

- main matter paginated (a worker is paginating the front matter, whose contents
  print the main matter's folios): the outputs that need nothing (the web edition),
  and the drafts of those that will need every page start (the EPUB's essay pages);
- every page counted (the last pieces may still be drawn: in a cold build the front
  matter, in a rebuild the edited essay's piece): the outputs that need the count
  (the wrap cover) or every page start (the EPUB);
- finished: the PDF.

While a layout runs, what is made before it is finished goes into a folder of its
own, published once the layout is finished and its PDF, if any, is in place: a
layout or a PDF that fails leaves the output folder as it was. Steps that need no
layout, in a build that runs none, come last.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from make_book.errors import BookError, RenderError
from make_book.model import Book
from make_book.publish.staging import staged
from make_book.render.base import Needs, PrintPages, RenderContext, Renderer
from make_book.render.pdf.print_layout import PrintLayout

log = logging.getLogger("make_book")


@dataclass(frozen=True)
class Step:
    """One output to make: its renderer, and the context (profile) it is made for."""

    renderer: Renderer
    ctx: RenderContext

    @property
    def needs(self) -> Needs:
        """What the renderer needs from the print layout of its context's profile."""
        return self.renderer.needs


@dataclass(frozen=True)
class Built:
    """One output that was written, and how long it took."""

    format: str
    path: Path
    seconds: float
    profile: str = ""
    note: str = ""  # e.g. the cover's dimensions


@dataclass
class Schedule:
    """The steps of one build, made in order around the print layouts they need."""

    book: Book
    steps: list[Step]
    # Called before a step is made or drafted: the build's chores are done (meanwhile.py).
    before_making: Callable[[], None] = lambda: None
    built: dict[int, Built] = field(default_factory=dict)
    page_counts: dict[str, int] = field(default_factory=dict)  # profile -> pages
    # profile -> where its printed pages begin (the preview shows an essay's pages)
    print_pages: dict[str, PrintPages] = field(default_factory=dict)
    drafts: dict[int, object] = field(default_factory=dict)  # step -> what it drafted
    drafting: dict[int, float] = field(default_factory=dict)  # step -> seconds it took

    def run(self) -> list[Built]:
        """Make every step; return what was built, in the steps' order."""
        for ctx in self._layouts():
            self._around_layout(ctx)
        self._make_all(self._to_make(Needs.NOTHING), None)
        return [self.built[i] for i in range(len(self.steps))]

    def _layouts(self) -> list[RenderContext]:
        """The contexts whose print layout some step needs, in the order first needed."""
        contexts: list[RenderContext] = []
        for step in self.steps:
            if step.needs is not Needs.NOTHING and not any(c is step.ctx for c in contexts):
                contexts.append(step.ctx)
        return contexts

    def _around_layout(self, ctx: RenderContext) -> None:
        """Run the layout of `ctx`, making each step at its milestone."""
        mine = [
            i for i, s in enumerate(self.steps) if s.ctx is ctx and s.needs is not Needs.NOTHING
        ]
        writes = any(self.steps[i].needs is Needs.INTERIOR for i in mine)
        # The layout's failures and time are the PDF's, if it is made, else the first user's.
        first = next((i for i in mine if self.steps[i].needs is Needs.INTERIOR), mine[0])
        owner = self.steps[first].renderer.name
        with PrintLayout(self.book, ctx, writes) as layout, staged(ctx.out_dir) as aside:
            with _errors_named(owner):
                main = layout.main_matter_paged()
            self._make_all(self._to_make(Needs.NOTHING), None, aside)
            if main is not None:
                self._draft_all(self._to_make(Needs.PAGE_STARTS, ctx), main)
            with _errors_named(owner):
                counted = layout.counted()
            self._make_all(self._to_make(Needs.PAGE_COUNT, ctx), counted, aside)
            self._make_all(self._to_make(Needs.PAGE_STARTS, ctx), counted, aside)
            with _errors_named(owner):
                finished = layout.finished()
            self.page_counts[finished.profile] = finished.page_count
            self.print_pages[finished.profile] = replace(finished, interior=None)
            self._make_all(self._to_make(Needs.INTERIOR, ctx), finished)
        self._published(aside, ctx.out_dir)
        self._charge(first, layout.seconds)

    def _to_make(self, needs: Needs, ctx: RenderContext | None = None) -> list[int]:
        """Steps not made yet that need exactly `needs` (of `ctx`'s layout, if given)."""
        return [
            i
            for i, step in enumerate(self.steps)
            if i not in self.built and step.needs is needs and (ctx is None or step.ctx is ctx)
        ]

    def _make_all(
        self, indices: list[int], pages: PrintPages | None, folder: Path | None = None
    ) -> None:
        """Make these steps now (into `folder` rather than their own output folder)."""
        if indices:
            self.before_making()
        for index in indices:
            step = self.steps[index]
            ctx = step.ctx if folder is None else replace(step.ctx, out_dir=folder)
            started = time.perf_counter()
            with _errors_named(step.renderer.name):
                made = step.renderer.render(self.book, ctx, pages, self.drafts.pop(index, None))
            seconds = time.perf_counter() - started + self.drafting.get(index, 0.0)
            profile = step.ctx.profile.name
            self.built[index] = Built(step.renderer.name, made.path, seconds, profile, made.note)

    def _draft_all(self, indices: list[int], pages: PrintPages) -> None:
        """Make ahead what these steps can with the main matter's page starts."""
        if indices:
            self.before_making()
        for index in indices:
            step = self.steps[index]
            started = time.perf_counter()
            with _errors_named(step.renderer.name):
                self.drafts[index] = step.renderer.draft(self.book, step.ctx, pages)
            self.drafting[index] = time.perf_counter() - started

    def _charge(self, index: int, seconds: float) -> None:
        """Add the layout's time to the step it was run for first (the PDF, if any)."""
        if index in self.built:
            built = self.built[index]
            self.built[index] = replace(built, seconds=built.seconds + seconds)

    def _published(self, aside: Path, out_dir: Path) -> None:
        """Steps made aside now have their place in the output folder."""
        if aside == out_dir:
            return
        for index, built in self.built.items():
            if built.path.parent == aside:
                self.built[index] = replace(built, path=out_dir / built.path.name)


@contextmanager
def _errors_named(name: str) -> Iterator[None]:
    """A renderer's crash becomes a RenderError naming it (traceback with --verbose)."""
    try:
        yield
    except BookError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as one line
        log.debug("renderer %s failed", name, exc_info=True)
        raise RenderError(f"{name}: {type(exc).__name__}: {exc}") from exc

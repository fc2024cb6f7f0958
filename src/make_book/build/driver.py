"""The build driver: manifest -> Book -> each selected renderer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from make_book.build.warnings_log import collected_warnings
from make_book.cache.memo import ConversionMemo
from make_book.errors import BookError, RenderError, StrictError
from make_book.model import Book
from make_book.profiles import PROFILES
from make_book.publish.atomic import claim_output_folder
from make_book.publish.staging import staged
from make_book.render.base import LayoutOptions, RenderContext, Renderer
from make_book.render.pdf.layout.pool import early_workers
from make_book.render.pdf.renderer import PdfRenderer
from make_book.render.web.renderer import WebRenderer, download_names
from make_book.source.assemble import assemble
from make_book.source.lint import lint
from make_book.source.manifest import load_manifest
from make_book.source.manifest_types import Manifest


def _wrap_cover() -> Renderer:
    """The wrap cover's renderer, imported when a cover is made: it lays the sheet out
    with WeasyPrint in this process, which otherwise stays small while workers lay out."""
    from make_book.render.weasy.patches.lean_import import weasyprint_imported

    weasyprint_imported()  # the quicker way (lean_import.py), before wrap.py imports it
    from make_book.render.cover.wrap import WrapCoverRenderer

    return WrapCoverRenderer()


def _epub() -> Renderer:
    """The EPUB's renderer, imported when the PDF is done: ebooklib stays out of the
    process while the workers lay out, when the build's memory peaks."""
    from make_book.render.epub.renderer import EpubRenderer

    return EpubRenderer()


# In build order: the PDF first, since the cover and the EPUB's page-list use its pages.
# Each makes its renderer: RENDERERS[name]().render(book, ctx).
RENDERERS: dict[str, Callable[[], Renderer]] = {
    "pdf": PdfRenderer,
    "cover": _wrap_cover,
    "epub": _epub,
    "html": WebRenderer,
}
PER_PROFILE = ("pdf", "cover")
NEEDS_COUNT = ("cover",)  # needs only the page count of its profile's PDF
NEEDS_NOTHING = ("html",)  # needs nothing from the print layout
PREPARED = ("epub",)  # made in part once the count and the main matter are known
log = logging.getLogger("make_book")


@dataclass(frozen=True)
class Built:
    """One output that was written, and how long it took."""

    format: str
    path: Path
    seconds: float
    profile: str = ""
    note: str = ""  # e.g. the cover's dimensions


def load(manifest_path: Path, memo: ConversionMemo | None = None) -> tuple[Manifest, Book]:
    """Validate the manifest and read every essay; render nothing (warnings are logged).

    `memo`: conversions and settled essays remembered between builds.
    """
    manifest = load_manifest(manifest_path)
    return manifest, _read(manifest, memo)


def _read(manifest: Manifest, memo: ConversionMemo | None) -> Book:
    book = assemble(manifest, memo)
    lint(book)
    return book


@dataclass
class BuildRun:
    """Everything one build did: for the command's output and the JSON report."""

    book: Book
    built: list[Built] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    page_counts: dict[str, int] = field(default_factory=dict)  # profile -> pages
    seconds: float = 0.0


def build(
    manifest_path: Path,
    out_dir: Path,
    formats: Sequence[str],
    profiles: Sequence[str] = (),
) -> list[Built]:
    """Build the selected formats and return what was written."""
    return run_build(manifest_path, out_dir, formats, profiles).built


def run_build(
    manifest_path: Path,
    out_dir: Path,
    formats: Sequence[str],
    profiles: Sequence[str] = (),
    strict: bool = False,
    layout: LayoutOptions | None = None,
) -> BuildRun:
    """Build the selected formats; a renderer's crash becomes a RenderError naming it.

    The PDF and the cover are made once per print profile (default: the
    manifest's); the EPUB's page-list follows the manifest's profile.
    `strict`: any warning fails the build, and nothing is published unless the
    whole build is clean (outputs are made in a staging folder, then moved).
    `layout`: worker processes, cache and progress of the print layout (default:
    every core, no cache kept, no progress shown).
    """
    layout = layout or LayoutOptions()
    started = time.perf_counter()
    with collected_warnings() as warnings, ExitStack() as workers:
        memo = ConversionMemo(layout.cache_dir)
        manifest = load_manifest(manifest_path)
        if any(name in PER_PROFILE for name in formats):
            layout = workers.enter_context(_early_workers(manifest, layout))
        book = _read(manifest, memo)
        _stop_if_strict(strict, warnings)
        memo.keep()
        # One build at a time per output folder; the next one sweeps what a killed one left.
        with claim_output_folder(out_dir), staged(out_dir, strict) as folder:
            run = BuildRun(book, warnings=warnings)
            names = list(profiles or [manifest.pdf.profile])
            # Known before any is made: the web edition may be made before the others.
            downloads = _downloads(out_dir, formats, names, manifest.pdf.profile)
            contexts = [
                RenderContext(manifest, folder, name, layout=layout, downloads=downloads)
                for name in names
            ]
            # The EPUB's page-list cites the book's own print edition, whichever profiles
            # this run builds, so the EPUB does not depend on the command line.
            edition = next(
                (c for c in contexts if c.profile.name == manifest.pdf.profile),
                RenderContext(manifest, folder, layout=layout, downloads=downloads),
            )
            steps = [(n, ctx) for ctx in contexts for n in formats if n in PER_PROFILE]
            steps += [(n, edition) for n in formats if n not in PER_PROFILE]
            run.built = _Steps(book, steps).run()
            _stop_if_strict(strict, warnings)
    run.built = [replace(b, path=out_dir / b.path.relative_to(folder)) for b in run.built]
    run.page_counts = {c.profile.name: c.facts.page_count for c in contexts if c.facts.page_count}
    run.seconds = time.perf_counter() - started
    return run


@contextmanager
def _early_workers(manifest: Manifest, layout: LayoutOptions) -> Iterator[LayoutOptions]:
    """A big book's layout workers, started while its essays are read (worker_pool.py)."""
    count = early_workers(manifest, layout.jobs, layout.cache_dir)
    if not count:
        yield layout
        return
    from make_book.render.pdf.layout.workers import Spares

    with Spares(count) as spares:
        yield replace(layout, spares=spares)


def _downloads(
    out_dir: Path, formats: Sequence[str], profiles: list[str], edition: str
) -> tuple[str, ...]:
    """The files the web edition links to: the EPUB and the edition's PDF, if this build
    makes them or the output folder has them."""
    made: tuple[str, ...] = ("book.epub",) if "epub" in formats else ()
    if "pdf" in formats:
        made += tuple(PROFILES[name].file_name("book") for name in profiles)
    return download_names(out_dir, PROFILES[edition].file_name("book"), made)


def _stop_if_strict(strict: bool, warnings: list[str]) -> None:
    if strict and warnings:
        raise StrictError(warnings)


class _Steps:
    """The renderers in build order, but for what can be made while a PDF is finished.

    A worker lays out the front matter last, alone (its contents wait for every other
    piece's folios). Meanwhile this process makes the web edition, which needs nothing
    from the layout, then, once the front matter's page count is known, that profile's
    cover, which needs only the count, and the pages of the EPUB's essays, which need
    only the main matter's page starts (Renderer.prepare).
    """

    def __init__(self, book: Book, steps: list[tuple[str, RenderContext]]) -> None:
        self.book, self.steps = book, steps
        self.built: dict[int, Built] = {}
        self.renderers: dict[int, Renderer] = {}

    def run(self) -> list[Built]:
        for index, (name, _ctx) in enumerate(self.steps):
            if index not in self.built:
                self.built[index] = self._pdf(index) if name == "pdf" else self._render(index)
        return [self.built[i] for i in range(len(self.steps))]

    def _renderer(self, index: int) -> Renderer:
        if index not in self.renderers:
            self.renderers[index] = RENDERERS[self.steps[index][0]]()
        return self.renderers[index]

    def _render(self, index: int, ctx: RenderContext | None = None) -> Built:
        name, own = self.steps[index]
        return _render(name, self.book, ctx or own, self._renderer(index))

    def _pdf(self, index: int) -> Built:
        """The PDF, its time without what was made meanwhile. What is made meanwhile is
        written into a folder of its own and published once the PDF is written: a PDF
        that fails leaves the output folder as it was."""
        aside: list[float] = []
        early: list[int] = []
        ctx = self.steps[index][1]
        with staged(ctx.out_dir) as folder:

            def make(kinds: tuple[str, ...], same_profile: bool = False) -> None:
                steps = self._to_come(index, kinds, same_profile)
                aside.append(self._make(steps, folder))
                early.extend(steps)

            def meanwhile(wait_for_count: Callable[[], int | None]) -> None:
                make(NEEDS_NOTHING)
                if wait_for_count() is None:
                    return  # another layout round comes
                make(NEEDS_COUNT, same_profile=True)
                aside.append(self._prepare(self._to_come(index, PREPARED, same_profile=True)))

            built = self._render(index, replace(ctx, meanwhile=meanwhile))
        for later in early:
            path = self.built[later].path
            self.built[later] = replace(self.built[later], path=ctx.out_dir / path.name)
        return replace(built, seconds=built.seconds - sum(aside))

    def _make(self, indices: list[int], folder: Path) -> float:
        """Make these steps now, into `folder`; the seconds it took."""
        started = time.perf_counter()
        for index in indices:
            self.built[index] = self._render(index, replace(self.steps[index][1], out_dir=folder))
        return time.perf_counter() - started

    def _prepare(self, indices: list[int]) -> float:
        """Make ahead what these steps can; the seconds it took."""
        started = time.perf_counter()
        for index in indices:
            name, ctx = self.steps[index]
            with _errors_named(name):
                self._renderer(index).prepare(self.book, ctx)
        return time.perf_counter() - started

    def _to_come(self, pdf: int, kinds: tuple[str, ...], same_profile: bool = False) -> list[int]:
        """Steps of these kinds after the PDF at `pdf`, not made yet (for its profile)."""
        ctx = self.steps[pdf][1]
        return [
            i
            for i, (name, other) in enumerate(self.steps)
            if i > pdf
            and i not in self.built
            and name in kinds
            and (other is ctx or not same_profile)
        ]


def _render(name: str, book: Book, ctx: RenderContext, renderer: Renderer) -> Built:
    started = time.perf_counter()
    with _errors_named(name):
        path = renderer.render(book, ctx)
    seconds = time.perf_counter() - started
    return Built(name, path, seconds, ctx.profile.name, ctx.facts.notes.get(name, ""))


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

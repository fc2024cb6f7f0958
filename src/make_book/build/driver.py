"""The build driver: manifest -> Book -> each selected renderer.

Loads the manifest, reads the book (starting a big book's layout workers meanwhile),
then hands the steps, one per output and profile, to schedule.py, which runs them
in order around the print layouts they need.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from make_book.build.meanwhile import Meanwhile
from make_book.build.overlap import output_names, refuse_overlaps
from make_book.build.schedule import Built, Schedule, Step
from make_book.build.warnings_log import collected_warnings
from make_book.cache.memo import ConversionMemo
from make_book.errors import StrictError
from make_book.model import Book
from make_book.profiles import PROFILES
from make_book.publish.atomic import claim_output_folder
from make_book.publish.staging import staged
from make_book.render.base import LayoutOptions, PrintPages, RenderContext, Renderer
from make_book.render.cover.renderer import WrapCoverRenderer
from make_book.render.epub.renderer import EpubRenderer
from make_book.render.offprints.renderer import OffprintsRenderer
from make_book.render.pdf.layout.pool import early_workers
from make_book.render.pdf.renderer import PdfRenderer
from make_book.render.web.renderer import WebRenderer, download_names
from make_book.source.assemble import assemble
from make_book.source.lint import lint
from make_book.source.manifest import load_manifest
from make_book.source.manifest_types import Manifest

# Every output format, in build order (outputs per print profile first). What each
# needs from the print layout is its class's declaration (render/base.py).
RENDERERS: dict[str, type[Renderer]] = {
    "pdf": PdfRenderer,
    "cover": WrapCoverRenderer,
    "epub": EpubRenderer,
    "html": WebRenderer,
    "offprints": OffprintsRenderer,
}
log = logging.getLogger("make_book")


def load(manifest_path: Path, memo: ConversionMemo | None = None) -> tuple[Manifest, Book]:
    """Validate the manifest and read every essay; render nothing (warnings are logged).

    `memo`: conversions and essay bodies remembered between builds.
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
    print_pages: dict[str, PrintPages] = field(default_factory=dict)  # profile -> page starts
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
    report: Path | None = None,
) -> BuildRun:
    """Build the selected formats; a renderer's crash becomes a RenderError naming it.

    The PDF and the cover are made once per print profile (default: the
    manifest's); the EPUB's page-list follows the manifest's profile.
    `strict`: any warning fails the build, and nothing is published unless the
    whole build is clean (outputs are made in a staging folder, then moved).
    `layout`: worker processes, cache and progress of the print layout (default:
    every core, no cache kept, no progress shown).
    `report`: where the caller writes the report, checked like an output (overlap.py).
    """
    layout = layout or LayoutOptions()
    started = time.perf_counter()
    with collected_warnings() as warnings, ExitStack() as meanwhile:
        memo = ConversionMemo(layout.cache_dir)
        manifest = load_manifest(manifest_path)
        if layout.spares is None and any(_per(name) for name in formats):
            layout = meanwhile.enter_context(_early_workers(manifest, layout))
        waiting = Meanwhile()
        waiting.imports(m for name in formats for m in RENDERERS[name].later_imports)
        meanwhile.push(lambda failed, *_: waiting.cancel() if failed else waiting.join())
        layout = replace(layout, waiting=waiting)
        book = _read(manifest, memo)
        layout = replace(layout, first=memo.edited())
        outputs = output_names(formats, profiles or [manifest.pdf.profile])
        refuse_overlaps(manifest, book, out_dir, outputs, report)
        _stop_if_strict(strict, warnings)
        meanwhile.enter_context(memo.kept_meanwhile())
        # One build at a time per output folder; the next one sweeps what a killed one left.
        with claim_output_folder(out_dir), staged(out_dir, strict) as folder:
            run = BuildRun(book, warnings=warnings)
            names = list(dict.fromkeys(profiles or [manifest.pdf.profile]))
            formats = list(dict.fromkeys(formats))  # `--format pdf,pdf` makes one PDF
            contexts, steps = _steps(manifest, out_dir, folder, formats, names, layout)
            for step in steps:  # chores with the book, for the same wait
                waiting.add(partial(step.renderer.meanwhile, book, step.ctx))
            schedule = Schedule(book, steps, before_making=waiting.join)
            run.built = schedule.run()
            _stop_if_strict(strict, warnings)
    run.built = [replace(b, path=out_dir / b.path.relative_to(folder)) for b in run.built]
    profiles_built = {c.profile.name for c in contexts}
    run.page_counts = {k: v for k, v in schedule.page_counts.items() if k in profiles_built}
    run.print_pages = {k: v for k, v in schedule.print_pages.items() if k in profiles_built}
    run.seconds = time.perf_counter() - started
    return run


def _steps(
    manifest: Manifest,
    out_dir: Path,
    folder: Path,
    formats: Sequence[str],
    profiles: list[str],
    layout: LayoutOptions,
) -> tuple[list[RenderContext], list[Step]]:
    """One context per print profile, and the steps: the outputs per profile first,
    each for every profile, then the others, for the book's own profile."""
    # Known before any is made: the web edition may be made before the others.
    downloads = _downloads(out_dir, formats, profiles, manifest.pdf.profile)
    contexts = [
        RenderContext(manifest, folder, name, layout=layout, downloads=downloads)
        for name in profiles
    ]
    # The EPUB's page-list cites the book's own print edition, whichever profiles
    # this run builds, so the EPUB does not depend on the command line.
    edition = next(
        (c for c in contexts if c.profile.name == manifest.pdf.profile),
        RenderContext(manifest, folder, layout=layout, downloads=downloads),
    )
    steps = [Step(RENDERERS[n](), ctx) for ctx in contexts for n in formats if _per(n)]
    steps += [Step(RENDERERS[n](), edition) for n in formats if not _per(n)]
    return contexts, steps


@contextmanager
def _early_workers(manifest: Manifest, layout: LayoutOptions) -> Iterator[LayoutOptions]:
    """A big book's layout workers, started while its essays are read (layout/workers.py)."""
    count = early_workers(manifest, layout.jobs, layout.cache_dir)
    if not count:
        yield layout
        return
    from make_book.render.pdf.layout.workers import EarlyWorkers

    with EarlyWorkers(count, layout.cache_dir) as spares:
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


def _per(name: str) -> bool:
    return RENDERERS[name].per_profile

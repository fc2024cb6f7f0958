"""`make-book build`: the book into dist/, once or on every save (--watch)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from make_book.build.uptodate import Record, record_for
from make_book.cache.folder import CACHE_FOLDER
from make_book.cli.app import (
    EPILOG,
    Verbosity,
    jobs_option,
    main,
    manifest_argument,
    option_value,
    parse_formats,
    parse_profiles,
    say,
    verbosity,
)
from make_book.cli.reports import Found, found_at
from make_book.errors import BookError, StrictError
from make_book.profiles import PROFILES
from make_book.publish.atomic import write_atomic

if TYPE_CHECKING:
    from make_book.render.base import SpareWorkers

log = logging.getLogger("make_book")


@main.command("build", epilog=EPILOG)
@manifest_argument
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: dist/ beside book.yaml).",
)
@click.option(
    "--format",
    "formats",
    default="all",
    show_default=True,
    help="pdf, cover, epub, html, or all (a comma-separated list); also offprints,"
    " which all leaves out (all,offprints).",
)
@click.option(
    "--profile",
    "profiles",
    default="",
    help="Print profile(s) for the PDF and cover: "
    + ", ".join(PROFILES)
    + " (default: pdf.profile).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail on any warning (each listed); nothing is written unless the build is clean.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a JSON report: outputs with sizes and sha256, pages, words, warnings, timings.",
)
@jobs_option
@click.option(
    "--no-cache",
    is_flag=True,
    help=f"Lay out every essay again, and keep no {CACHE_FOLDER}/ beside book.yaml.",
)
@click.option("--watch", is_flag=True, help="Build again on every save, until Ctrl-C.")
@click.option(
    "--open",
    "open_result",
    is_flag=True,
    help="Open the result: the PDF, or the web edition if no PDF is built.",
)
@verbosity
def build_command(
    manifest: Path,
    out_dir: Path | None,
    formats: str,
    profiles: str,
    strict: bool,
    report_path: Path | None,
    jobs: int,
    no_cache: bool,
    watch: bool,
    open_result: bool,
) -> None:
    """Build the book: MANIFEST (default ./book.yaml) -> dist/.

    Only what changed since the last build is laid out again: laid-out essays are
    kept in .make-book-cache/ beside book.yaml (safe to delete).
    """
    chosen = option_value(parse_formats, formats, "'--format'")
    chosen_profiles = option_value(parse_profiles, profiles, "'--profile'")
    out = out_dir if out_dir is not None else manifest.parent / "dist"
    cache = None if no_cache else manifest.parent / CACHE_FOLDER
    once = _Once(manifest, out, cache, chosen, chosen_profiles, strict, report_path, jobs)
    built = _watched(once, open_result) if watch else once.build()
    if open_result and not watch:
        _open(built)


@dataclass(frozen=True)
class _Once:
    """One build of the book as the options ask, with its up-to-date record."""

    manifest: Path
    out: Path
    cache: Path | None
    formats: list[str]
    profiles: list[str]
    strict: bool
    report_path: Path | None
    jobs: int

    def build(self) -> list[Path]:
        """Build (or find the outputs up to date); the paths of the outputs."""
        return _build(self)


def _watched(once: _Once, open_result: bool) -> list[Path]:
    """Build, then build again after every save; a failed build is said, and waited out."""
    from make_book.serve.watch import BookWatcher

    written = [once.out] + ([once.cache] if once.cache is not None else [])
    if once.report_path is not None:
        written.append(once.report_path)
    with BookWatcher(once.manifest, written) as watcher:
        built = _said_failure(once)
        if open_result:
            _open(built)
        say(f"watching {once.manifest.parent}/ for saves (Ctrl-C to stop)")
        for saved in watcher.changes():
            say(watcher.describe(saved))
            _said_failure(once)
    return built


def _said_failure(once: _Once) -> list[Path]:
    try:
        return once.build()
    except BookError as error:
        error.show()
        return []


def _open(built: list[Path]) -> None:
    """Open the PDF, else the web edition, else the first output, in the desktop's viewer
    (Python's webbrowser: the BROWSER environment variable chooses it, as elsewhere)."""
    import webbrowser

    def rank(path: Path) -> int:
        if path.suffix == ".pdf" and "cover" not in path.name:
            return 0
        return 1 if path.is_dir() else 2

    for path in sorted(built, key=rank)[:1]:
        target = path / "index.html" if path.is_dir() else path
        webbrowser.open(target.resolve().as_uri())


def _build(once: _Once) -> list[Path]:
    manifest, out, cache, report_path = once.manifest, once.out, once.cache, once.report_path
    chosen, chosen_profiles, strict = once.formats, once.profiles, once.strict
    # --strict is not among the settings: it changes whether a build with warnings
    # fails, never what a build writes or warns, so one record serves both.
    settings = [",".join(chosen), ",".join(chosen_profiles)]
    if report_path is not None:  # a new report path builds again: overlap.py checks it
        settings.append(f"report={report_path.resolve()}")
    record = record_for(manifest, out, cache, settings, report_path) if cache is not None else None
    last = record.last() if record is not None else {}
    try:
        previous = _up_to_date(record, last, report_path, strict) if record is not None else None
        if previous is not None:
            return previous
        opened = record.cache.root if record is not None and record.cache is not None else None
        with _spare_workers(last, once.jobs, opened) as spares:
            # Imported only now: a build that is up to date needs none of it.
            from make_book import progress
            from make_book.build.driver import run_build
            from make_book.render.base import LayoutOptions

            shown = progress.Progress() if Verbosity.quiet() else progress.for_stream()
            options = LayoutOptions(jobs=once.jobs, cache_dir=cache, progress=shown, spares=spares)
            run = run_build(
                manifest, out, chosen, chosen_profiles, strict, options, report=report_path
            )
    except BookError as exc:
        if report_path is not None:
            _report_failure(exc, report_path)
        raise
    from make_book.build.report import report, write_report

    lines = []
    for item in run.built:
        note = f"  {item.note}" if item.note else ""
        lines.append(f"{item.format:5} {item.path}  ({item.seconds:.1f} s){note}")
        say(lines[-1])
    written = write_report(run, report_path) if report_path is not None else None
    if record is not None:
        paths = [b.path for b in run.built]
        said = {
            "lines": lines,
            "warnings": run.warnings,  # the book's, in order: the machine's are not in it
            # Written out again only by an up-to-date build with this --report (a report
            # path is among the record's settings); without one, the record needs only
            # the book's words and page counts (_spare_workers), not every output read.
            "report": written if written is not None else report(run, files=False),
            "paths": [str(p) for p in paths],
        }
        record.save(paths, said)
    return [b.path for b in run.built]


@contextlib.contextmanager
def _spare_workers(
    record: dict[str, Any], jobs: int, cache: Path | None
) -> Iterator[SpareWorkers | None]:
    """A layout worker started before this process imports the build, when the last build
    with these options laid out a book big enough for workers (its record says so): the
    worker loads and warms WeasyPrint meanwhile, then prepares the book's last layout job
    (render/pdf/layout/last_job.py), which an edit would otherwise wait for.
    The driver starts its own otherwise (render/pdf/layout/pool.py's `early_workers`)."""
    from make_book.render.pdf.layout.launch import discard_early
    from make_book.render.pdf.layout.protocol import POOL_FROM_WORDS  # not when up to date

    last = record.get("report", {})
    words = last.get("book", {}).get("words", 0) if isinstance(last, dict) else 0
    laid_out = isinstance(last, dict) and bool(last.get("page_counts"))
    if jobs < 2 or not laid_out or not isinstance(words, int) or words < POOL_FROM_WORDS:
        discard_early()  # before the build takes the cores
        yield None
        return
    from make_book.render.pdf.layout.workers import EarlyWorkers  # processes, sockets

    # Taken only now: until EarlyWorkers owns it, `discard_early` ends it if this fails.
    with EarlyWorkers(1, cache, early=True) as spares:
        yield spares


def _report_failure(error: BookError, path: Path) -> None:
    """A failed build reports too, but only over nothing or an earlier report: it may have
    failed before it knew its sources (a book.yaml that does not load), and the path may
    name one of them."""
    if found_at(path) in (Found.NOTHING, Found.EMPTY, Found.REPORT):
        from make_book.build.report import write_failure_report

        write_failure_report(error, path)
    else:
        message = "not written over a file that is not a make-book report"
        click.echo(f"error: --report '{path}': {message}", err=True)


def _up_to_date(
    record: Record, last: dict[str, Any], report_path: Path | None, strict: bool
) -> list[Path] | None:
    """Nothing changed since the last build: say its warnings again, as they were logged
    (so -q hides them), then what it built (and return it). Under --strict, its warnings
    are the failure a build would end in: said, and raised, with nothing written."""
    previous = record.unchanged(last)
    if previous is None:
        return None
    warnings: list[str] = previous.get("warnings", [])
    for warning in warnings:
        log.warning("%s", warning)
    if strict and warnings:
        raise StrictError(warnings)
    for line in previous["lines"]:
        say(line.split("  (")[0] + "  (up to date)")
    if report_path is not None:
        text = json.dumps(previous["report"], indent=2, sort_keys=True, ensure_ascii=False)
        write_atomic(report_path, text + "\n")
    return [Path(path) for path in previous.get("paths", [])]

"""The `make-book` command line."""

from __future__ import annotations

from make_book.build.interrupt import exit_cleanly_on_signals

# What a command needs beyond these (the build driver, the renderers, the preflight) is
# imported when it runs: a build that finds itself up to date imports none of it.
# Loading the modules below takes some 0.2 s: Ctrl-C meanwhile stops make-book as it does
# mid-build (exit 130, one line), not with a traceback. The command then sets the handlers
# again for as long as it runs (`_MakeBook.main`).
with exit_cleanly_on_signals():
    import json
    import logging
    import os
    import stat
    import sys
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    import click

    from make_book import __version__, progress
    from make_book.build.uptodate import Record, record_for
    from make_book.cache.folder import CACHE_FOLDER
    from make_book.errors import BookError, InputError, RenderError
    from make_book.profiles import PROFILES
    from make_book.publish.atomic import write_atomic
    from make_book.scaffold import scaffold

# The output formats in build order: build/driver.py's RENDERERS (test_cli keeps them
# equal), named here so that the command line does not import the renderers to parse.
FORMATS = ("pdf", "cover", "epub", "html")

EPILOG = """\b
Exit codes:
  0  the book was built (or checked) without errors
  1  a build step failed on valid input
  2  bad input: manifest, essay or command-line usage
     (and any warning under --strict)
  130, 143, 129  interrupted by Ctrl-C, SIGTERM or SIGHUP
                 (outputs left as they were)
"""


class _MakeBook(click.Group):
    """The command line, stopping cleanly on Ctrl-C, SIGTERM and SIGHUP whatever it does:
    a build unwinds and removes its temporary files (build/interrupt.py)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command with the signal handlers set."""
        with exit_cleanly_on_signals():
            return super().main(*args, **kwargs)


class _WarningFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WarningFormatter())
    logger = logging.getLogger("make_book")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.propagate = False


def _formats(value: str) -> list[str]:
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    if names == ["all"]:
        return list(FORMATS)
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        choices = ", ".join([*FORMATS, "all"])
        raise click.BadParameter(f"unknown format {', '.join(unknown) or '(none)'}; use {choices}")
    return names


@click.group(cls=_MakeBook, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="make-book")
@click.option("-v", "--verbose", is_flag=True, help="Say more, including tracebacks of failures.")
def main(verbose: bool) -> None:
    """Compile essays into a print-ready PDF, an EPUB 3 and a web edition."""
    _setup_logging(verbose)


manifest_argument = click.argument(
    "manifest", type=click.Path(dir_okay=False, path_type=Path), default="book.yaml"
)


@main.command(epilog=EPILOG)
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
    help="pdf, cover, epub, html, or all (a comma-separated list).",
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
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="the number of cores",
    help="Worker processes laying out the PDF.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help=f"Lay out every essay again, and keep no {CACHE_FOLDER}/ beside book.yaml.",
)
def build_command(
    manifest: Path,
    out_dir: Path | None,
    formats: str,
    profiles: str,
    strict: bool,
    report_path: Path | None,
    jobs: int,
    no_cache: bool,
) -> None:
    """Build the book: MANIFEST (default ./book.yaml) -> dist/.

    Only what changed since the last build is laid out again: laid-out essays are
    kept in .make-book-cache/ beside book.yaml (safe to delete).
    """
    chosen = _option(_formats, formats, "'--format'")
    chosen_profiles = _option(_profiles, profiles, "'--profile'")
    out = out_dir if out_dir is not None else manifest.parent / "dist"
    cache = None if no_cache else manifest.parent / CACHE_FOLDER
    settings = [",".join(chosen), ",".join(chosen_profiles), str(strict)]
    if report_path is not None:  # a new report path builds again: overlap.py checks it
        settings.append(f"report={report_path.resolve()}")
    record = record_for(manifest, out, cache, settings) if cache is not None else None
    if record is not None and _up_to_date(record, report_path):
        return
    # Imported only now: a build that is up to date needs none of it.
    from make_book.build.driver import run_build
    from make_book.build.report import report, write_report
    from make_book.render.base import LayoutOptions

    options = LayoutOptions(jobs=jobs, cache_dir=cache, progress=progress.for_stream())
    try:
        run = run_build(manifest, out, chosen, chosen_profiles, strict, options, report=report_path)
    except BookError as exc:
        if report_path is not None:
            _report_failure(exc, report_path)
        raise
    lines = []
    for item in run.built:
        note = f"  {item.note}" if item.note else ""
        lines.append(f"{item.format:5} {item.path}  ({item.seconds:.1f} s){note}")
        click.echo(lines[-1])
    if report_path is not None:
        write_report(run, report_path)
    if record is not None:
        if run.warnings:
            record.forget()  # a build with warnings is built again: it says them again
        else:
            record.save([b.path for b in run.built], {"lines": lines, "report": report(run)})


def _report_failure(error: BookError, path: Path) -> None:
    """A failed build reports too, but only over nothing or an earlier report: it may have
    failed before it knew its sources (a book.yaml that does not load), and the path may
    name one of them."""
    if _replaceable(path):
        from make_book.build.report import write_failure_report

        write_failure_report(error, path)
    else:
        message = "not written over a file that is not a make-book report"
        click.echo(f"error: --report '{path}': {message}", err=True)


_MOST_REPORT_BYTES = 64 * 1024 * 1024


def _replaceable(path: Path) -> bool:
    """Nothing there, an empty file, or a report of make-book (a FIFO or a device is not read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MOST_REPORT_BYTES:
            return False
        text = stream.read()
    if not text:
        return True
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and "make_book" in body


def _up_to_date(record: Record, report_path: Path | None) -> bool:
    """Nothing changed since the last clean build: say what it built, and stop."""
    previous = record.unchanged()
    if previous is None:
        return False
    for line in previous["lines"]:
        click.echo(line.split("  (")[0] + "  (up to date)")
    if report_path is not None:
        write_atomic(report_path, json.dumps(previous["report"], indent=2, sort_keys=True) + "\n")
    return True


def _option(parse: Callable[[str], list[str]], value: str, hint: str) -> list[str]:
    try:
        return parse(value)
    except click.BadParameter as exc:
        exc.param_hint = hint
        raise


def _profiles(value: str) -> list[str]:
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        raise click.BadParameter(f"unknown profile {', '.join(unknown)}; use {', '.join(PROFILES)}")
    return names


build_command.name = "build"


@main.command(epilog=EPILOG)
@manifest_argument
@click.option(
    "--outputs",
    "outputs",
    is_flag=True,
    help="Also check the built files: EPUBCheck on the EPUB, the preflight on each PDF.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the outputs are (default: dist/ beside book.yaml).",
)
def check(manifest: Path, outputs: bool, out_dir: Path | None) -> None:
    """Validate the manifest and every essay (and with --outputs, the built files)."""
    from make_book.build.driver import load

    _, book = load(manifest)
    words = sum(e.word_count for e in book.all_texts)
    click.echo(f"ok: {len(book.all_texts)} texts, {words} words")
    if outputs:
        _check_outputs(out_dir if out_dir is not None else manifest.parent / "dist")


def _check_outputs(out_dir: Path) -> None:
    failed = 0
    from make_book.build.verify import verify_outputs

    for verdict in verify_outputs(out_dir):
        for finding in verdict.findings:
            click.echo(f"{verdict.path}: {verdict.checker}: {finding}", err=True)
        failed += bool(verdict.findings)
        if not verdict.findings:
            click.echo(f"ok: {verdict.path} ({verdict.checker})")
    if failed:
        raise RenderError(f"{failed} output(s) failed their checks")


@main.command(epilog=EPILOG)
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--profile",
    "profile_name",
    type=click.Choice(list(PROFILES)),
    default="screen",
    show_default=True,
    help="The rules to check against.",
)
@click.option(
    "--cover", is_flag=True, help="The file is a wrap cover: one sheet with bleed on every edge."
)
def preflight(pdf: Path, profile_name: str, cover: bool) -> None:
    """Check a finished PDF against a print profile; exit 1 on any finding."""
    rules = PROFILES[profile_name].for_cover() if cover else PROFILES[profile_name]
    from make_book.preflight.checks import preflight as run_preflight

    findings = run_preflight(pdf, rules, bleed=True if cover else None)
    for finding in findings:
        click.echo(f"{pdf}: {finding}", err=True)
    if findings:
        raise RenderError(
            f"{pdf}: {len(findings)} preflight findings for the {profile_name} profile"
        )
    click.echo(f"ok: {pdf} meets the {profile_name} profile")


@main.command(epilog=EPILOG)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def new(folder: Path) -> None:
    """Create FOLDER with a working example book (book.yaml, chapters/, styles/)."""
    if folder.exists() and any(folder.iterdir()):
        raise InputError(f"{folder}: folder exists and is not empty")
    scaffold(folder)
    click.echo(f"created {folder}/: now `cd {folder} && make-book build`")


@main.command()
@click.option("--markdown", is_flag=True, help="Print the reference (docs/book-yaml.md) instead.")
@click.option(
    "--front-matter", is_flag=True, help="The schema of an essay's front matter, not book.yaml's."
)
def schema(markdown: bool, front_matter: bool) -> None:
    """Print the JSON Schema of book.yaml: every key, its type, default and meaning."""
    from make_book.source import schema_export
    from make_book.source.schema import BOOK, ESSAY_META

    if markdown:
        click.echo(schema_export.markdown(), nl=False)
    else:
        root = ESSAY_META if front_matter else BOOK
        click.echo(json.dumps(schema_export.json_schema(root), indent=2))

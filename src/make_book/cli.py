"""The `make-book` command line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from make_book import __version__
from make_book.build import RENDERERS, build, load
from make_book.errors import InputError
from make_book.scaffold import scaffold

EPILOG = """\b
Exit codes:
  0  the book was built (or checked) without errors
  1  a build step failed on valid input
  2  bad input: manifest, essay or command-line usage
"""


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
        return list(RENDERERS)
    unknown = [n for n in names if n not in RENDERERS]
    if unknown or not names:
        choices = ", ".join([*RENDERERS, "all"])
        raise click.BadParameter(f"unknown format {', '.join(unknown) or '(none)'}; use {choices}")
    return names


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
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
    "--format", "formats", default="all", show_default=True, help="pdf, epub, html, or all."
)
def build_command(manifest: Path, out_dir: Path | None, formats: str) -> None:
    """Build the book: MANIFEST (default ./book.yaml) -> dist/."""
    try:
        chosen = _formats(formats)
    except click.BadParameter as exc:
        exc.param_hint = "'--format'"
        raise
    out = out_dir if out_dir is not None else manifest.parent / "dist"
    for item in build(manifest, out, chosen):
        click.echo(f"{item.format:5} {item.path}  ({item.seconds:.1f} s)")


build_command.name = "build"


@main.command(epilog=EPILOG)
@manifest_argument
def check(manifest: Path) -> None:
    """Validate the manifest and every essay; render nothing."""
    _, book = load(manifest)
    words = sum(e.word_count for e in book.all_texts)
    click.echo(f"ok: {len(book.all_texts)} texts, {words} words")


@main.command(epilog=EPILOG)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def new(folder: Path) -> None:
    """Create FOLDER with a working example book (book.yaml, chapters/, styles/)."""
    if folder.exists() and any(folder.iterdir()):
        raise InputError(f"{folder}: folder exists and is not empty")
    scaffold(folder)
    click.echo(f"created {folder}/: now `cd {folder} && make-book build`")

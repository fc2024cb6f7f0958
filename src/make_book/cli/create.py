"""`make-book new`: a book folder to start from."""

from __future__ import annotations

from pathlib import Path

import click

from make_book.cli.app import EPILOG, main, say, verbosity
from make_book.errors import InputError
from make_book.scaffold import scaffold


@main.command(epilog=EPILOG)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@verbosity
def new(folder: Path) -> None:
    """Create FOLDER with a working example book (book.yaml, chapters/, styles/)."""
    if folder.exists() and any(folder.iterdir()):
        raise InputError(f"{folder}: folder exists and is not empty")
    scaffold(folder)
    say(f"created {folder}/: now `cd {folder} && make-book build`")

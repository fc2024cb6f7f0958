"""`make-book new` (a working starter book in a new folder) and `make-book init` (a book.yaml
for manuscripts already written).

Both write book.schema.json beside book.yaml, for editors that complete and check YAML,
and write every file whole (publish/atomic.py): an interrupted command leaves no
half-written file. The source modules are imported when a command runs, not when the
command line loads (cli/__init__.py says why).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from make_book.cli.app import EPILOG, main, say, verbosity
from make_book.errors import BookError, InputError
from make_book.publish.atomic import write_atomic
from make_book.scaffold import (
    MANIFEST,
    SCHEMA_FILE,
    STARTER,
    STYLES_README,
    BookInfo,
    Entry,
    init_manifest,
    starter_files,
)

log = logging.getLogger("make_book")

Command = Callable[..., Any]


def book_options(command: Command) -> Command:
    """--title, --author, --editor and --language: what book.yaml says first."""
    options = (
        click.option("--title", help="The book's title (Markdown)."),
        click.option("--author", help="Who wrote the book: book.yaml's `author`."),
        click.option("--editor", help="Who edited it (an anthology): book.yaml's `editor`."),
        click.option("--language", help="A language tag such as en, en-GB or fr (default: en)."),
    )
    for option in reversed(options):
        command = option(command)
    return command


@main.command(epilog=EPILOG)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@book_options
@verbosity
def new(
    folder: Path, title: str | None, author: str | None, editor: str | None, language: str | None
) -> None:
    """Create FOLDER with a working example book (book.yaml, chapters/, styles/)."""
    info = checked_info(title, author, editor, language)
    if folder.exists() and any(folder.iterdir()):
        raise InputError(f"{folder}: folder exists and is not empty")
    files = starter_files(info)
    manifest = files.pop(MANIFEST)
    for name, data in files.items():
        write(folder / name, data)
    write_schema(folder)
    write(folder / MANIFEST, manifest)  # last: a folder with a book.yaml is complete
    say(f"created {folder}/: now `cd {folder} && make-book build`")


@main.command(epilog=EPILOG)
@click.argument("folder", type=click.Path(path_type=Path), default=".")
@book_options
@verbosity
def init(
    folder: Path, title: str | None, author: str | None, editor: str | None, language: str | None
) -> None:
    """Write a book.yaml for the essays already in FOLDER (default: here).

    It lists every essay file in FOLDER and its subfolders, in name order, each with its
    title; hidden folders, dist/, styles/, templates/ and other books are skipped."""
    from make_book.source.schema import BOOK

    language = BOOK.text_default("language") if language is None else language
    title = folder_title(folder) if title is None else title
    info = checked_info(title, author, editor, language)
    manifest = folder / MANIFEST
    refuse_existing_manifest(folder, manifest)
    entries = found_entries(folder, info.language or "")
    write_schema(folder)
    write_styles_readme(folder)
    write(manifest, init_manifest(info, entries))  # last: a folder with a book.yaml is complete
    count = f"{len(entries)} essay{'s' if len(entries) != 1 else ''}"
    say(f"wrote {manifest}: {count} in name order; put them in reading order, then build")


# What the command line gives


def checked_info(
    title: str | None, author: str | None, editor: str | None, language: str | None
) -> BookInfo:
    """The options as book.yaml will hold them, refused here as book.yaml would refuse them."""
    return BookInfo(
        title=checked_text("--title", title),
        author=checked_text("--author", author),
        editor=checked_text("--editor", editor),
        language=checked_language(language),
    )


def checked_text(option: str, value: str | None) -> str | None:
    """A text option, stripped; InputError if book.yaml could not hold it."""
    from make_book.source.schema import FORBIDDEN_IN_XML, MAX_VALUE

    if value is None:
        return None
    text = value.strip()
    if not text:
        raise InputError(f"{option}: must not be empty")
    if len(text) > MAX_VALUE:
        raise InputError(f"{option}: {len(text):,} characters; it may have at most {MAX_VALUE:,}")
    if bad := FORBIDDEN_IN_XML.search(text):
        raise InputError(f"{option}: control character #x{ord(bad.group()):04x} is not allowed")
    return text


def checked_language(value: str | None) -> str | None:
    """A language tag, checked as book.yaml's `language` is."""
    from make_book.source.schema import LANGUAGE, valid_language

    if value is None:
        return None
    if not valid_language(value):
        raise InputError(f"--language: {value!r} is not {LANGUAGE.expected}")
    return value.strip()


def folder_title(folder: Path) -> str:
    """The default title of a book: its folder's name."""
    return folder.resolve().name or "Untitled"


# The folder init writes into


def refuse_existing_manifest(folder: Path, manifest: Path) -> None:
    """InputError unless `folder` is a folder without a book.yaml (init never replaces one)."""
    if not folder.is_dir():
        raise InputError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
    if os.path.lexists(manifest):
        raise InputError(f"{manifest} exists: init never replaces it (edit it, or remove it)")


def found_entries(folder: Path, language: str) -> list[Entry]:
    """The essays in `folder` for `contents`; InputError when there are none."""
    from make_book.source.inventory import manuscripts
    from make_book.source.schema import ESSAY_SUFFIXES

    found = manuscripts(folder, language)
    if not found:
        kinds = ", ".join(ESSAY_SUFFIXES)
        hint = "put the essays there, or start from an example with `make-book new FOLDER`"
        raise InputError(f"{folder}: no essay files ({kinds}) here or in subfolders; {hint}")
    return [Entry(m.path, m.title, m.titled) for m in found]


# Writing


def write_schema(folder: Path) -> None:
    """book.schema.json, as `make-book schema` prints it, unless the folder has one that is
    not make-book's (which the user may have made for a reason: it is kept)."""
    from make_book.source.schema import BOOK
    from make_book.source.schema_export import json_schema

    path = folder / SCHEMA_FILE
    if os.path.lexists(path) and not is_our_schema(path, BOOK.title):
        log.warning("%s is not make-book's: kept as it is", path)
        return
    write(path, json.dumps(json_schema(BOOK), indent=2) + "\n")


def write_styles_readme(folder: Path) -> None:
    """styles/README.md, saying how to replace the theme's stylesheets, unless the folder
    already has one (or a styles/ that is not a plain folder of its own)."""
    styles, readme = folder / "styles", folder / STYLES_README
    if not os.path.lexists(styles) or (
        styles.is_dir() and not styles.is_symlink() and not os.path.lexists(readme)
    ):
        write(readme, (STARTER / STYLES_README).read_bytes())


def is_our_schema(path: Path, title: str) -> bool:
    """Whether `path` is a JSON Schema make-book wrote (any version): its title is ours."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        schema = json.loads(path.read_bytes())
    except (OSError, ValueError):  # unreadable, or not JSON: someone else's file
        return False
    return isinstance(schema, dict) and schema.get("title") == title


def write(path: Path, data: str | bytes) -> None:
    """Write `path` whole, or report in one line why it cannot be written (exit 1)."""
    try:
        write_atomic(path, data)
    except OSError as error:
        raise BookError(f"{path}: not written: {error.strerror or error}") from None

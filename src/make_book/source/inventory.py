"""What a folder of manuscripts holds, for `make-book init`: its essay files in name order,
each with the title the build would give it.

The title comes from the assembler's own rules (front matter, else a text file's first line,
else a leading heading), so the comments `init` writes say what the book will print.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from make_book.errors import EssayError
from make_book.source.assemble import _body_and_title, _title_html, plain_text
from make_book.source.conversions import FreshConversions
from make_book.source.essay_files import read_source
from make_book.source.schema import ESSAY_SUFFIXES

log = logging.getLogger("make_book")

# Folders of a book that hold no essays: its outputs, and a theme's overrides. Only at the
# top: an essay may well live in `essays/styles/`.
NOT_ESSAY_FOLDERS = frozenset({"dist", "styles", "templates"})
# Folders of tools, never of essays, at any depth and in any case: Python's virtual
# environments and caches, and Node's packages (hidden ones are skipped anyway). A folder
# holding a pyvenv.cfg is a virtual environment whatever its name.
TOOL_FOLDERS = frozenset({"venv", ".venv", "node_modules", "__pycache__", "site-packages"})
VIRTUAL_ENVIRONMENT_MARK = "pyvenv.cfg"
# The files every repository has, which are no essays: README.md, LICENSE.txt, CHANGELOG.md…
# (in any case, at any depth). A file is one by its name up to the first dot, so that
# `changes-of-heart.md` stays an essay; LICENSE-MIT and the like are licences too.
REPOSITORY_FILES = frozenset(
    {
        "readme",
        "license",
        "licence",
        "changelog",
        "changes",
        "contributing",
        "code_of_conduct",
        "security",
        "notice",
        "authors",
    }
)
LICENCE_PREFIXES = ("license-", "licence-", "license_", "licence_")
MANIFEST = "book.yaml"


@dataclass(frozen=True)
class Manuscript:
    """An essay file found in the folder."""

    path: str  # relative to the folder, with `/`: as book.yaml names it
    title: str  # in plain text: the essay's own, else one made from its file name
    titled: bool  # whether the essay gives the title itself (else book.yaml must)


def manuscripts(folder: Path, language: str) -> list[Manuscript]:
    """Every essay file under `folder` in name order, each with its title."""
    return [_titled(folder, path, language) for path in essay_paths(folder)]


def essay_paths(folder: Path) -> list[str]:
    """The essay files under `folder` (any suffix make-book reads), by relative path in
    natural order: `2-x.md` before `10-y.md`.

    Hidden files and folders are skipped, as are the top's dist/, styles/ and templates/,
    the folders of tools at any depth (venv/, node_modules/…: TOOL_FOLDERS, and any
    virtual environment), a repository's README, LICENSE and the like, and a subfolder
    that is a book of its own (it has a book.yaml).
    """
    root = folder.resolve()
    found = []
    for here, folders, files in os.walk(folder):  # links to folders are not followed
        at_top = Path(here) == folder
        folders[:] = [name for name in folders if _may_hold_essays(Path(here), name, at_top)]
        for name in files:
            path = Path(here) / name
            if _is_essay_file(path, root):
                found.append(path.relative_to(folder).as_posix())
    return sorted(found, key=_natural_order)


def _may_hold_essays(parent: Path, name: str, at_top: bool) -> bool:
    """Whether to look for essays in the folder `name` in `parent`."""
    if name.startswith(".") or (at_top and name in NOT_ESSAY_FOLDERS):
        return False
    if name.casefold() in TOOL_FOLDERS:
        return False
    folder = parent / name
    return not ((folder / MANIFEST).exists() or (folder / VIRTUAL_ENVIRONMENT_MARK).exists())


def _is_essay_file(path: Path, root: Path) -> bool:
    """A visible file with an essay's suffix, inside the book folder (book.yaml refuses a
    link to a file outside it), that is not one of a repository's own files."""
    if path.name.startswith(".") or path.suffix.lower() not in ESSAY_SUFFIXES:
        return False
    if is_repository_file(path.name):
        return False
    try:
        return path.is_file() and path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop
        return False


def is_repository_file(name: str) -> bool:
    """Whether the file `name` is one every repository has (README.md, LICENSE-MIT…), by
    its name up to the first dot, in any case."""
    folded = name.casefold()
    return folded.split(".", 1)[0] in REPOSITORY_FILES or folded.startswith(LICENCE_PREFIXES)


_NameKey = tuple[tuple[int, int, str], ...]


def _natural_order(path: str) -> tuple[tuple[_NameKey, ...], str]:
    """A sort key comparing folder and file names one by one, by `_name_key` (the path as
    written breaks ties: `01` and `1`)."""
    return tuple(_name_key(name) for name in path.split("/")), path


def _name_key(name: str) -> _NameKey:
    """A name's runs of digits as numbers (before letters), its letters without case."""
    runs = (run for run in re.split(r"(\d+)", name) if run)
    return tuple((0, int(run), "") if run.isdecimal() else (1, 0, run.casefold()) for run in runs)


def _titled(folder: Path, path: str, language: str) -> Manuscript:
    """The manuscript at `path` with its title; one made from the file name if it has none."""
    try:
        return Manuscript(path, essay_title(folder / path, path, language), titled=True)
    except EssayError as error:
        fallback = title_from_name(path)
        for problem in error.problems:
            log.warning("%s; book.yaml titles it '%s'", problem, fallback)
        return Manuscript(path, fallback, titled=False)


def essay_title(path: Path, display: str, language: str) -> str:
    """The essay's title in plain text, as the build gives it; EssayError if it has none
    (or cannot be read)."""
    source = read_source(path, display)
    language = str(source.meta.get("language") or "").strip() or language
    conversions = FreshConversions()
    converted, title = _body_and_title(source, path, source.meta, language, conversions)
    body = conversions.essay_body(converted.html, "essay", title)
    return plain_text(_title_html(title, body, language, display, "essay"))


def title_from_name(path: str) -> str:
    """A title made from a file's name: `on-walking_2.md` is "on walking 2"."""
    stem = Path(path).stem
    return " ".join(re.split(r"[-_\s]+", stem)).strip() or stem

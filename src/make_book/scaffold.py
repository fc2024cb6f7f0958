"""The files a new book starts with, as text: the starter book (`make-book new`) and a
book.yaml listing manuscripts already there (`make-book init`).

Nothing here writes: the command (cli/create.py) writes each file whole. Both book.yaml files
open with the line that points VS Code's YAML extension (and any editor using the YAML
language server) at book.schema.json, which the command writes beside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

STARTER = Path(__file__).parent / "starter"
MANIFEST = "book.yaml"
SCHEMA_FILE = "book.schema.json"
SCHEMA_LINE = f"# yaml-language-server: $schema={SCHEMA_FILE}"
STYLES_README = "styles/README.md"
GITIGNORE = "/dist/\n/.make-book-cache/\n"
# Wide enough that PyYAML never folds a long title over several lines.
_NO_FOLDING = 1_000_000
_LINE_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")
# What PyYAML reads anywhere in a file, comments included (its Reader's NON_PRINTABLE).
_UNPRINTABLE_IN_YAML = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


@dataclass(frozen=True)
class BookInfo:
    """What the command line says about the book; None: not given."""

    title: str | None = None
    author: str | None = None
    editor: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Entry:
    """An essay for `contents`, with its title."""

    path: str  # relative to the book folder, with `/`
    title: str
    titled: bool  # the essay gives this title itself: book.yaml only says it in a comment


# The starter book


def starter_files(info: BookInfo) -> dict[str, str | bytes]:
    """The starter book's files by relative path (chapters/, styles/, .gitignore), with
    book.yaml last and holding `info`'s values: a folder with a book.yaml is complete."""
    files: dict[str, str | bytes] = {
        path.relative_to(STARTER).as_posix(): path.read_bytes()
        for path in sorted(STARTER.rglob("*"))
        if path.is_file() and path != STARTER / MANIFEST
    }
    files[".gitignore"] = GITIGNORE
    files[MANIFEST] = starter_manifest(info)
    return files


def starter_manifest(info: BookInfo) -> str:
    """The starter's book.yaml, its title, names and language those of `info` when given."""
    text = (STARTER / MANIFEST).read_text(encoding="utf-8")
    if info.title is not None:
        text = _replace_line(text, "title", _key_line("title", info.title))
    if info.language is not None:
        text = _replace_line(text, "language", _key_line("language", info.language))
    names = _key_line("author", info.author) + _key_line("editor", info.editor)
    if names:  # the placeholder editor ("Your Name") goes: it is not this book's
        text = _replace_line(text, "editor", names)
    return with_schema_line(text)


def _replace_line(text: str, key: str, lines: str) -> str:
    """`text` with its top-level `key:` line replaced by `lines`."""
    new, count = re.subn(rf"^{key}:.*\n", lambda _: lines, text, count=1, flags=re.M)
    if count != 1:  # the starter is ours: tests/test_create.py keeps it so
        raise ValueError(f"the starter's {MANIFEST} has no '{key}:' line")
    return new


# A book.yaml for manuscripts already written

_INIT_HEADER = """\
# Written by `make-book init`: every essay found here, in name order. Put them in
# reading order, group them in parts (- part: Title, then chapters: [...]) and add
# keys: book.schema.json lists them all, and your editor completes them.
"""


def init_manifest(info: BookInfo, entries: Sequence[Entry]) -> str:
    """A book.yaml listing `entries`, each with its title in a comment (or as its `title:`
    when the essay has none of its own, for the build needs one)."""
    head = "".join(
        _key_line(key, value)
        for key, value in (
            ("title", info.title),
            ("author", info.author),
            ("editor", info.editor),
            ("language", info.language),
        )
    )
    return with_schema_line(_INIT_HEADER + head + "contents:\n" + _contents(entries))


def _contents(entries: Sequence[Entry]) -> str:
    """The items of `contents`, their title comments lined up."""
    items = [f"  - {yaml_scalar(entry.path)}" for entry in entries]
    width = max((len(item) for item in items), default=0)
    lines = []
    for item, entry in zip(items, entries, strict=True):
        if entry.titled:
            lines.append(f"{item.ljust(width)}  # {comment_text(entry.title)}")
        else:
            lines.append(item.replace("- ", "- path: ", 1))
            lines.append(f"    title: {yaml_scalar(entry.title)}")
    return "".join(f"{line}\n" for line in lines)


# YAML written by hand


def with_schema_line(text: str) -> str:
    """`text` opening with the line naming its JSON Schema for editors."""
    return f"{SCHEMA_LINE}\n{text}"


def _key_line(key: str, value: str | None) -> str:
    """`key: value` and a line end, the value quoted as YAML needs; "" for no value."""
    return "" if value is None else f"{key}: {yaml_scalar(value)}\n"


def yaml_scalar(value: str) -> str:
    """`value` as a YAML string on one line: plain when YAML reads it back as the same
    string, else quoted (a title with `: `, `#`, quotes, a leading dash; `no`, `1984`)."""
    # Imported here, when a book.yaml is written: importing PyYAML takes 0.01 s that a
    # command which only reads book.yaml (it imports PyYAML itself then) need not wait.
    import yaml

    dumped = yaml.safe_dump([value], allow_unicode=True, width=_NO_FOLDING)
    line = dumped.removeprefix("- ").removesuffix("\n")
    if not _LINE_BREAKS.search(line):
        return line
    # A line break in the value (YAML 1.1's include U+2028, which YAML 1.2 editors take as
    # text): double quotes, the one style that escapes it.
    quoted = yaml.safe_dump(value, allow_unicode=True, width=_NO_FOLDING, default_style='"')
    return quoted.removesuffix("\n")


def comment_text(text: str) -> str:
    """`text` fit for a YAML comment: one line, of characters YAML allows."""
    return " ".join(_UNPRINTABLE_IN_YAML.sub(" ", text).split())

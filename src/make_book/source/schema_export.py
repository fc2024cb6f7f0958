"""The schema's table written out: as a JSON Schema, and as the reference in Markdown.

`make-book schema` prints the first; docs/book-yaml.md is the second, and a test
keeps the committed file current (`make-book schema --markdown > docs/book-yaml.md`).
"""

from __future__ import annotations

import re
from typing import Any

from make_book.source.schema import BOOK, ESSAY_META, SECTIONS, TEXT, Key, Section

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema(root: Section = BOOK) -> dict[str, Any]:
    """A JSON Schema for book.yaml (or, given ESSAY_META, for an essay's front matter)."""
    return {
        "$schema": DIALECT,
        "title": root.title,
        **_object(root),
        "$defs": {section.name: _object(section) for section in SECTIONS if section is not root},
    }


def _object(section: Section) -> dict[str, Any]:
    """The JSON Schema of one mapping: its keys, and no others."""
    required = [key.name for key in section.keys if key.required]
    return {
        "description": section.doc,
        "type": "object",
        "properties": {key.name: _property(key) for key in section.keys},
        **({"required": required} if required else {}),
        "additionalProperties": False,
    }


def _property(key: Key) -> dict[str, Any]:
    """The JSON Schema of one key's value."""
    if key.section is not None:
        schema: dict[str, Any] = {"$ref": f"#/$defs/{key.section.name}"}
    else:
        schema = dict(key.kind.json)
    if key.required and key.kind is TEXT:  # as the loader: "must not be empty"
        schema = {"allOf": [schema, {"pattern": r"\S"}]}
    default = {} if key.default is None else {"default": key.default}
    return {"description": key.doc, **schema, **default}


# The reference


_INTRO = """\
# book.yaml and essay front matter

<!-- Written from make-book's schema table (src/make_book/source/schema.py) by
`make-book schema --markdown > docs/book-yaml.md`: edit the table, not this file. -->

A book is a folder with a `book.yaml` in it, naming the essays in reading order.
Each essay may begin with front matter: YAML between two `---` lines. Every key
make-book reads is listed here; any other key is an error, with a suggestion when
it looks like a misspelt one. Every problem found is reported at once, each with
its line and column.

`make-book schema` prints the same rules as a JSON Schema, for editors that check
YAML as you type (for example `make-book schema > book.schema.json`, then
`# yaml-language-server: $schema=book.schema.json` as the first line of book.yaml).
"""


def markdown() -> str:
    """The reference page for book.yaml and essay front matter, in Markdown."""
    parts = [_INTRO]
    for section in (BOOK, *[s for s in SECTIONS if s not in (BOOK, ESSAY_META)], ESSAY_META):
        parts.append(_markdown_section(section))
    return "\n".join(parts)


def _markdown_section(section: Section) -> str:
    """One mapping's heading, description and table of keys."""
    lines = [
        f"## {section.title}",
        "",
        section.doc,
        "",
        "| Key | Value | Default | Meaning |",
        "| --- | --- | --- | --- |",
    ]
    for key in section.keys:
        name = f"`{key.name}`" + (" (required)" if key.required else "")
        cells = (name, _value(key), _yaml(key.default), key.doc)
        lines.append("| " + " | ".join(cell.replace("|", r"\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _value(key: Key) -> str:
    """What a key takes, as the reference says it."""
    if key.section is None:
        return key.kind.expected
    return f"a mapping: see [{key.section.title}](#{_anchor(key.section.title)})"


def _anchor(title: str) -> str:
    """The anchor GitHub (and most Markdown renderers) give a heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _yaml(value: object) -> str:
    """A default as it would be written in YAML ("" for none)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"

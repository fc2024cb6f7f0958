"""Reading essay files: decoding, and splitting off their YAML front matter.

A Word document (.docx) is read by word.py instead: its HTML is the body, and its
properties (title, author) stand for front matter.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.reader import ReaderError

from make_book.errors import EssayError, Problem
from make_book.source.schema import (
    DATE,
    EPIGRAPH,
    EPIGRAPH_SECTION,
    ESSAY_META,
    FORBIDDEN_IN_XML,
    LANGUAGE,
    MAX_VALUE,
    NAMES,
    TEXT,
    valid_date,
    valid_language,
)
from make_book.source.word import MAX_WORD_BYTES, WORD_SUFFIXES, PictureFolder, read_word

MAX_ESSAY_BYTES = 4 * 1024 * 1024  # 200,000 words of Greek or Russian fit twice over
MAX_YAML_DEPTH = 50  # nested lists and mappings; book.yaml itself needs six
SHOWN_LENGTH = 60  # characters of a value an error message quotes
# What a message escapes in a value it quotes: control characters, line and paragraph
# separators, direction overrides (which would reorder the message), non-characters and
# lone surrogates (which cannot be printed at all).
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]")
log = logging.getLogger("make_book")
_FENCE = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)


@dataclass(frozen=True)
class SourceText:
    """An essay file's decoded text, split into front matter and body."""

    display: str  # the path as the user wrote it, for messages
    meta: dict[str, object]
    body: str
    body_line: int  # line number (1-based) of the body's first line in the file
    located: bool = True  # whether a place in `body` is a place in the file (not in a .docx)


def read_source(path: Path, display: str, book_root: Path | None = None) -> SourceText:
    """Read an essay file as UTF-8 (BOM allowed) and split off its front matter.

    `book_root`: the book folder, whose cache a Word essay's pictures are written to
    (None: they are left out, for a reader of titles).
    """
    if path.suffix.lower() in WORD_SUFFIXES:
        return _word_source(path, display, book_root)
    return parse_source(read_text_essay(path, display), display)


def read_text_essay(path: Path, display: str) -> bytes:
    """The bytes of a Markdown, text or HTML essay, refused when too large."""
    return read_bounded(path, display, MAX_ESSAY_BYTES, "an essay", "split it into several essays")


def parse_source(raw: bytes, display: str) -> SourceText:
    """A text essay's bytes decoded, with its front matter split off."""
    text = decode_utf8(raw, display)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    match = _FENCE.match(text)
    if not match:
        return SourceText(display, {}, text, 1)
    meta = _parse_front_matter(match.group(1), display)
    body_line = text.count("\n", 0, match.end()) + 1
    return SourceText(display, meta, text[match.end() :], body_line)


def _word_source(path: Path, display: str, book_root: Path | None) -> SourceText:
    """A Word essay: its HTML as the body, its properties as front matter; what the
    conversion lost is a warning each."""
    hint = "split it into several essays, or make its pictures smaller"
    raw = read_bounded(path, display, MAX_WORD_BYTES, "a Word essay", hint)
    pictures = PictureFolder(book_root, path) if book_root is not None else None
    essay = read_word(raw, display, pictures)
    found = [_property_problem(display, k, v) for k, v in essay.meta.items()]
    problems = [p for p in found if p is not None]
    if problems:
        raise EssayError(problems)
    for warning in essay.warnings:
        log.warning("%s: %s", display, warning)
    return SourceText(display, essay.meta, essay.html, 1, located=False)


def _property_problem(display: str, key: str, value: object) -> Problem | None:
    """What is wrong with a document property, held to front matter's rules."""
    message = _CHECKS[ESSAY_META[key].kind.name](value)
    return Problem(display, f"document properties: {key}: {message}") if message else None


def read_bounded(path: Path, display: str, limit: int, what: str, hint: str) -> bytes:
    """A file's bytes, refusing one larger than `limit` without reading it all."""
    try:
        with path.open("rb") as file:
            raw = file.read(limit + 1)
    except OSError as exc:
        raise EssayError([Problem(display, f"cannot read: {exc.strerror}")]) from None
    if len(raw) > limit:
        message = f"larger than {limit // (1024 * 1024)} MB, the most {what} may be: {hint}"
        raise EssayError([Problem(display, message)])
    return raw


def decode_utf8(raw: bytes, display: str) -> str:
    """Decode UTF-8 with or without BOM; anything else names the first bad byte."""
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        return raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start  # in the file, as a hex editor shows it
        line_start = raw.rfind(b"\n", 0, offset) + 1
        line = raw.count(b"\n", 0, offset) + 1
        before = raw[max(line_start, bom) : offset].decode("utf-8", "replace")
        message = f"not UTF-8 text: byte 0x{raw[offset]:02x} at offset {offset}"
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            message += " (the file is UTF-16: save it as UTF-8)"
        raise EssayError([Problem(display, message, line, len(before) + 1)]) from None


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with every failure a located YAML error.

    Nesting is limited: PyYAML composes nested lists recursively, so `[[[[…` ten
    thousand deep would exhaust Python's stack instead of naming a line. A value
    PyYAML cannot build (a date such as 2025-02-30) is kept as the text written.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """Compose as usual, refusing a node nested deeper than MAX_YAML_DEPTH."""
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # stubs
                message = f"nested more than {MAX_YAML_DEPTH} levels deep"
                raise ComposerError(None, None, message, mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """Construct as usual, turning a stray ValueError into a located YAML error."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as error:
            raise ConstructorError(None, None, str(error), node.start_mark) from error

    def construct_lenient_timestamp(self, node: ScalarNode) -> object:
        """A date, or the text as written when it looks like one but is not (2025-02-30)."""
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


BoundedLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", BoundedLoader.construct_lenient_timestamp
)


def compose(loader: BoundedLoader) -> tuple[Node | None, object]:
    """The single document's root node and its value (the loader is disposed of)."""
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def reader_position(text: str, error: ReaderError) -> tuple[int, int]:
    """1-based line and column of the character a ReaderError is about."""
    position = int(error.position)
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


# Front matter


class _FrontMatterLoader(BoundedLoader):
    """Plain scalars are kept as written, as book.yaml's are: `3.10` is not 3.1, `no` not False.

    Front matter holds only text, so nothing is lost: a year or a date is its digits.
    """

    def construct_as_written(self, node: ScalarNode) -> str:
        """The scalar's text."""
        return str(self.construct_scalar(node))


for _tag in ("bool", "int", "float", "timestamp"):
    _FrontMatterLoader.add_constructor(
        f"tag:yaml.org,2002:{_tag}", _FrontMatterLoader.construct_as_written
    )


def _parse_front_matter(text: str, display: str) -> dict[str, object]:
    """The front matter's keys and values, each checked as the schema's table says."""
    try:
        node, data = compose(_FrontMatterLoader(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 2 if mark else None  # +1 for 1-based, +1 for the opening fence
        column = mark.column + 1 if mark else None
        raise EssayError([Problem(display, f"front matter: {exc.problem}", line, column)]) from None
    except ReaderError as exc:
        line, column = reader_position(text, exc)
        message = f"front matter: control character #x{int(exc.character):04x} is not allowed"
        raise EssayError([Problem(display, message, line + 1, column)]) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(node, MappingNode):
        raise EssayError([Problem(display, "front matter must be a mapping of keys", 2, 1)])
    lines = {str(key.value): key.start_mark.line + 2 for key, _ in node.value}
    problems = [_value_problem(display, str(k), v, lines.get(str(k))) for k, v in data.items()]
    found = [p for p in problems if p is not None]
    if found:
        raise EssayError(found)
    return {str(k): v for k, v in data.items()}


def _value_problem(display: str, key: str, value: object, line: int | None) -> Problem | None:
    """What is wrong with one front matter entry, if anything."""
    if key not in ESSAY_META.names:
        close = difflib.get_close_matches(key, ESSAY_META.names, n=1)
        message = "unknown key" + (f" (did you mean '{close[0]}'?)" if close else "")
    else:
        message = _CHECKS[ESSAY_META[key].kind.name](value)
    if not message:
        return None
    return Problem(display, f"front matter: {key}: {message}", line, 1 if line else None)


def shown(text: str) -> str:
    """A value as written, as a message shows it: its first line, cut to about
    SHOWN_LENGTH characters, and characters that cannot be seen escaped (\\x07)."""
    lines = text.strip(" \t\r\n").split("\n")
    first = lines[0].rstrip("\r")
    cut = len(first) > SHOWN_LENGTH or len(lines) > 1
    return _UNSEEN.sub(_escape, first[:SHOWN_LENGTH]) + ("…" if cut else "")


def quoted(text: str) -> str:
    """A string value as a message quotes it: `shown`, in single quotes."""
    return f"'{shown(text)}'"


def _escape(match: re.Match[str]) -> str:
    """A character that cannot be seen, as an escape such as \\x07 or \\u202e."""
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def text_problem(text: str) -> str:
    """What is wrong with a string (stripped) that is too long or holds what XML cannot."""
    if len(text) > MAX_VALUE:
        return (
            f"{quoted(text)} has {len(text):,} characters; a value may have at most {MAX_VALUE:,}"
        )
    if bad := FORBIDDEN_IN_XML.search(text):
        # Written as an escape ("\x05"), YAML lets it through; XML (XMP, EPUB) cannot hold it.
        code = ord(bad.group())
        return f"{quoted(text)} has control character #x{code:04x}, which is not allowed"
    return ""


def _text_problem(value: object) -> str:
    """What is wrong with a string value (book.yaml's `text` kind holds it to the same)."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        found = "a list" if isinstance(value, list) else "a mapping"
        return f"expected {TEXT.expected}, found {found}"
    return text_problem(str(value).strip())


def _names_problem(value: object) -> str:
    """What is wrong with a name or a list of names."""
    if isinstance(value, list):
        found = (_text_problem(v) for v in value)
        return next((f"{p} in the list" for p in found if p), "")
    return _text_problem(value).replace(TEXT.expected, NAMES.expected)


def _epigraph_problem(value: object) -> str:
    """What is wrong with an epigraph: a string, or a mapping with text and source."""
    if not isinstance(value, dict):
        return _text_problem(value).replace(TEXT.expected, EPIGRAPH.expected)
    keys = EPIGRAPH_SECTION.names
    unknown = [str(k) for k in value if k not in keys]
    if unknown:
        return f"unknown key '{unknown[0]}'; an epigraph has {' and '.join(keys)}"
    missing = [k.name for k in EPIGRAPH_SECTION.keys if k.required and k.name not in value]
    if missing:
        return f"{missing[0]}: missing required key"
    return next((f"{k}: {p}" for k, v in value.items() if (p := _text_problem(v))), "")


def _language_problem(value: object) -> str:
    """What is wrong with a language tag."""
    problem = _text_problem(value)
    if problem or value is None or valid_language(str(value)):
        return problem
    return f"{quoted(str(value))} is not {LANGUAGE.expected}"


def _date_problem(value: object) -> str:
    """What is wrong with a date."""
    problem = _text_problem(value)
    if problem or value is None or valid_date(str(value).strip()):
        return problem
    return f"expected {DATE.expected}, found {quoted(str(value))}"


# One check for each kind of value front matter may hold (tests/test_schema.py checks it).
_CHECKS: dict[str, Callable[[object], str]] = {
    TEXT.name: _text_problem,
    NAMES.name: _names_problem,
    EPIGRAPH.name: _epigraph_problem,
    LANGUAGE.name: _language_problem,
    DATE.name: _date_problem,
}

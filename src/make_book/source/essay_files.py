"""Reading essay files: decoding, and splitting off their YAML front matter."""

from __future__ import annotations

import datetime as dt
import difflib
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
from make_book.source.markup import MAX_PARAGRAPH

MAX_ESSAY_BYTES = 4 * 1024 * 1024  # 200,000 words of Greek or Russian fit twice over
MAX_YAML_DEPTH = 50  # nested lists and mappings; book.yaml itself needs six
MAX_VALUE = MAX_PARAGRAPH  # characters in one front matter or book.yaml value
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")

# The keys an essay's front matter may carry (see README, "Essay front matter").
FRONT_MATTER_KEYS = (
    "title",
    "subtitle",
    "author",
    "translator",
    "date",
    "source",
    "rights",
    "bio",
    "epigraph",
    "language",
)
_FENCE = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)


@dataclass(frozen=True)
class SourceText:
    """An essay file's decoded text, split into front matter and body."""

    display: str  # the path as the user wrote it, for messages
    meta: dict[str, object]
    body: str
    body_line: int  # line number (1-based) of the body's first line in the file


def read_source(path: Path, display: str) -> SourceText:
    """Read an essay file as UTF-8 (BOM allowed) and split off its front matter."""
    raw = read_bounded(path, display, MAX_ESSAY_BYTES, "an essay", "split it into several essays")
    text = decode_utf8(raw, display)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    match = _FENCE.match(text)
    if not match:
        return SourceText(display, {}, text, 1)
    meta = _parse_front_matter(match.group(1), display)
    body_line = text.count("\n", 0, match.end()) + 1
    return SourceText(display, meta, text[match.end() :], body_line)


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


def _parse_front_matter(text: str, display: str) -> dict[str, object]:
    try:
        node, data = compose(BoundedLoader(text))
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
    return {str(k): _plain(v) for k, v in data.items()}


def _value_problem(display: str, key: str, value: object, line: int | None) -> Problem | None:
    """What is wrong with one front matter entry, if anything."""
    if key not in FRONT_MATTER_KEYS:
        close = difflib.get_close_matches(key, FRONT_MATTER_KEYS, n=1)
        message = "unknown key" + (f" (did you mean '{close[0]}'?)" if close else "")
    else:
        message = _CHECKS.get(key, _text_problem)(value)
    if not message:
        return None
    return Problem(display, f"front matter: {key}: {message}", line, 1 if line else None)


def _text_problem(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return f"expected a string, found {'a list' if isinstance(value, list) else 'a mapping'}"
    if len(str(value)) > MAX_VALUE:
        return f"{len(str(value)):,} characters; a value may have at most {MAX_VALUE:,}"
    return ""


def _names_problem(value: object) -> str:
    if isinstance(value, list):
        found = (_text_problem(v) for v in value)
        return next((f"{p} in the list" for p in found if p), "")
    return _text_problem(value).replace("a string", "a string or a list of strings")


def _epigraph_problem(value: object) -> str:
    if not isinstance(value, dict):
        return _text_problem(value).replace("a string", "a string or a mapping with text")
    unknown = [str(k) for k in value if k not in ("text", "source")]
    if unknown:
        return f"unknown key '{unknown[0]}'; an epigraph has text and source"
    return next((f"{k}: {p}" for k, v in value.items() if (p := _text_problem(v))), "")


def _language_problem(value: object) -> str:
    problem = _text_problem(value)
    if problem or value is None or LANGUAGE_RE.fullmatch(str(value)):
        return problem
    return f"'{value}' is not a language tag such as en, en-GB or fr"


_CHECKS: dict[str, Callable[[object], str]] = {
    "author": _names_problem,
    "translator": _names_problem,
    "epigraph": _epigraph_problem,
    "language": _language_problem,
}


def _plain(value: object) -> object:
    """YAML dates become ISO strings; numbers become strings (a year is text here)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value

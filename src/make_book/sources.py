"""Reading essay files: decoding, and splitting off their YAML front matter."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from make_book.errors import EssayError, Problem

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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EssayError([Problem(display, f"cannot read: {exc.strerror}")]) from None
    text = decode_utf8(raw, display)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    match = _FENCE.match(text)
    if not match:
        return SourceText(display, {}, text, 1)
    meta = _parse_front_matter(match.group(1), display)
    body_line = text.count("\n", 0, match.end()) + 1
    return SourceText(display, meta, text[match.end() :], body_line)


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
        raise EssayError([Problem(display, message, line, len(before) + 1)]) from None


def _parse_front_matter(text: str, display: str) -> dict[str, object]:
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 2 if mark else None  # +1 for 1-based, +1 for the opening fence
        column = mark.column + 1 if mark else None
        raise EssayError([Problem(display, f"front matter: {exc.problem}", line, column)]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EssayError([Problem(display, "front matter must be a mapping of keys", 2, 1)])
    problems = [
        _unknown_key(display, text, str(key)) for key in data if key not in FRONT_MATTER_KEYS
    ]
    if problems:
        raise EssayError(problems)
    return {str(k): _plain(v) for k, v in data.items()}


def _unknown_key(display: str, text: str, key: str) -> Problem:
    line = next(
        (n + 2 for n, row in enumerate(text.splitlines()) if row.startswith(f"{key}:")), None
    )
    close = difflib.get_close_matches(key, FRONT_MATTER_KEYS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return Problem(display, f"front matter: {key}: unknown key{hint}", line, 1 if line else None)


def _plain(value: object) -> object:
    """YAML dates become ISO strings; numbers become strings (a year is text here)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value

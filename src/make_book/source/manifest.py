"""Read book.yaml into a validated `Manifest`, reporting every problem at once."""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from make_book.errors import EssayError, ManifestError, Problem
from make_book.profiles import PROFILES
from make_book.source.essay_files import (
    FRONT_MATTER_KEYS,
    LANGUAGE_RE,
    MAX_VALUE,
    BoundedLoader,
    compose,
    read_bounded,
    reader_position,
)
from make_book.source.images import image_problem
from make_book.source.manifest_types import (
    BackMatter,
    Epigraph,
    EssayRef,
    FrontMatter,
    Manifest,
    PartRef,
    PdfSettings,
    Where,
)
from make_book.source.markup import HTML_SUFFIXES, MARKDOWN_SUFFIXES, TEXT_SUFFIXES

ESSAY_SUFFIXES = MARKDOWN_SUFFIXES + TEXT_SUFFIXES + HTML_SUFFIXES
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
TOP_KEYS = (
    "title",
    "subtitle",
    "editor",
    "author",
    "translator",
    "language",
    "publisher",
    "date",
    "rights",
    "identifier",
    "description",
    "back_cover",
    "subjects",
    "cover",
    "theme",
    "contents",
    "front_matter",
    "back_matter",
    "pdf",
)
OVERRIDE_KEYS = FRONT_MATTER_KEYS  # book.yaml may override any front-matter key
ESSAY_KEYS = ("path", *OVERRIDE_KEYS)
PART_KEYS = ("part", "chapters", "subtitle", "introduction")
FRONT_KEYS = ("dedication", "epigraph", "foreword", "preface", "introduction")
BACK_KEYS = ("acknowledgements", "afterword", "contributors", "sources")
EPIGRAPH_KEYS = ("text", "source")
PDF_KEYS = (
    "trim",
    "margins",
    "font_size",
    "line_height",
    "font_family",
    "profile",
    "bleed",
    "paper",
)
PAPER = {"white": 0.002252, "cream": 0.0025}  # inches per page (KDP's figures)
MARGIN_KEYS = ("top", "bottom", "inside", "outside")

_MM = 1 / 25.4
UNITS = {"in": 1.0, "mm": _MM, "cm": 10 * _MM, "pt": 1 / 72}
# Page sizes in inches (width, height).
TRIM_PRESETS: dict[str, tuple[float, float]] = {
    "6x9in": (6.0, 9.0),
    "5.5x8.5in": (5.5, 8.5),
    "5x8in": (5.0, 8.0),
    "5.25x8in": (5.25, 8.0),
    "6.14x9.21in": (6.14, 9.21),
    "7x10in": (7.0, 10.0),
    "8.5x11in": (8.5, 11.0),
    "letter": (8.5, 11.0),
    "a4": (210 * _MM, 297 * _MM),
    "a5": (148 * _MM, 210 * _MM),
    "b5": (176 * _MM, 250 * _MM),  # ISO B5, as CSS `size: B5` (not JIS B5)
}
FONT_SIZE_RANGE = (6.0, 24.0)  # points
LINE_HEIGHT_RANGE = (1.0, 2.5)

_NUMBER = r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_UNIT = r"(in|mm|cm|pt)"
TRIM_RE = re.compile(rf"{_NUMBER}[x×]{_NUMBER}{_UNIT}")
LENGTH_RE = re.compile(rf"{_NUMBER}{_UNIT}")
POINTS_RE = re.compile(rf"{_NUMBER}pt")
# A font family is written into CSS strings: letters, digits, spaces and a few marks only.
FONT_FAMILY_RE = re.compile(r"[\w .'-]+")
MAX_MANIFEST_BYTES = 1024 * 1024
DATE_RE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
DATE_EXPECTED = "YYYY, YYYY-MM or YYYY-MM-DD"
TRIM_EXPECTED = (
    f"a page size ({', '.join(TRIM_PRESETS)}) or WIDTHxHEIGHT with a unit "
    "(in, mm, cm or pt) such as 148x210mm"
)
LENGTH_EXPECTED = "a length with a unit (in, mm, cm or pt) such as 0.75in, 18mm or 54pt"
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type(None), "nothing"),
    (bool, "a boolean"),
    ((int, float), "a number"),
    (dt.datetime, "a date and time"),
    (dt.date, "a date"),
    (str, "a string"),
    (dict, "a mapping"),
    (list, "a list"),
)


def load_manifest(path: Path) -> Manifest:
    """Read and validate book.yaml at `path`; raise ManifestError listing every problem."""
    file = str(path)
    if path.is_symlink() and not path.resolve().is_relative_to(path.parent.resolve()):
        raise ManifestError([Problem(file, "is a link to a file outside the book folder")])
    data = _parse(_read_text(path, file), file)
    checker = _Checker(file, path.parent)
    manifest = checker.manifest(path, data)
    checker.raise_problems()
    return manifest


# Reading YAML, keeping marks


class _Map(dict[Hashable, object]):
    """A YAML mapping that remembers where its keys and values were written."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks: dict[Hashable, Mark] = {}
        self.value_marks: dict[Hashable, Mark] = {}
        self.raw: dict[Hashable, str] = {}  # source text of plain (unquoted) scalar values
        self.duplicates: list[tuple[Hashable, Mark, Mark]] = []  # key, where, first seen


class _Seq(list[object]):
    """A YAML sequence that remembers where each of its items was written."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.marks: list[Mark] = []
        self.raw: list[str | None] = []


def _plain(node: Node) -> str | None:
    """The source text of a plain (unquoted) scalar, else None."""
    if isinstance(node, ScalarNode) and node.style is None:
        return str(node.value)
    return None


class _Loader(BoundedLoader):
    """A bounded safe loader whose mappings and sequences keep each node's start mark."""

    def construct_marked_map(self, node: MappingNode) -> Iterator[_Map]:
        """Build a _Map, noting duplicate keys before merges (`<<`) are applied."""
        data = _Map(node.start_mark)
        yield data
        self._note_duplicates(node, data)
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node)
            if not isinstance(key, Hashable):
                raise ConstructorError(
                    None, None, "a key must be a plain value", key_node.start_mark
                )
            data[key] = self.construct_object(value_node)
            data.key_marks[key] = key_node.start_mark
            data.value_marks[key] = value_node.start_mark
            raw = _plain(value_node)
            if raw is not None:
                data.raw[key] = raw

    def _note_duplicates(self, node: MappingNode, data: _Map) -> None:
        """Record keys written twice in this mapping (PyYAML would keep the last)."""
        first: dict[Hashable, Mark] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node)
            if key in first:
                data.duplicates.append((key, key_node.start_mark, first[key]))
            else:
                first[key] = key_node.start_mark

    def construct_marked_seq(self, node: SequenceNode) -> Iterator[_Seq]:
        """Build a _Seq with the mark of every item."""
        data = _Seq(node.start_mark)
        yield data
        for item in node.value:
            data.append(self.construct_object(item))
            data.marks.append(item.start_mark)
            data.raw.append(_plain(item))


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_marked_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_marked_seq)


def _read_text(path: Path, file: str) -> str:
    """The text of book.yaml, or ManifestError if it is missing, too large or not UTF-8."""
    if not path.exists():
        raise ManifestError([Problem(file, "no such file")])
    if path.is_dir():
        raise ManifestError([Problem(file, "is a folder, not a file")])
    hint = "move long texts into essays"
    try:
        data = read_bounded(path, file, MAX_MANIFEST_BYTES, "book.yaml", hint)
    except EssayError as error:
        raise ManifestError(error.problems) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ManifestError([_decode_problem(file, data, error.start)]) from None


def _decode_problem(file: str, data: bytes, offset: int) -> Problem:
    """Locate the first byte that is not UTF-8 by offset, line and column."""
    start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode("utf-8")) + 1
    message = f"not valid UTF-8: byte 0x{data[offset]:02x} at offset {offset}; save it as UTF-8"
    return Problem(file, message, line, column)


def _parse(text: str, file: str) -> _Map:
    """Parse the YAML text into a _Map, or raise ManifestError."""
    try:
        node, data = _compose(text)
    except yaml.MarkedYAMLError as error:
        raise ManifestError([_yaml_problem(file, error)]) from None
    except ReaderError as error:
        raise ManifestError([_reader_problem(file, text, error)]) from None
    if node is None:
        raise ManifestError([Problem(file, "the file is empty; it needs title and contents")])
    if not isinstance(data, _Map):
        message = f"expected a mapping with keys such as title and contents, found {_kind(data)}"
        raise ManifestError([Problem(file, message, *_position(node.start_mark))])
    return data


def _compose(text: str) -> tuple[Node | None, object]:
    """The root node of the single YAML document in `text`, and its value."""
    return compose(_Loader(text))


def _yaml_problem(file: str, error: yaml.MarkedYAMLError) -> Problem:
    """A Problem for a YAML syntax (or construction) error."""
    message = f"invalid YAML: {error.problem or 'cannot be read'}"
    if error.context and error.context_mark:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    if error.problem_mark is None:
        return Problem(file, message)
    return Problem(file, message, *_position(error.problem_mark))


def _reader_problem(file: str, text: str, error: ReaderError) -> Problem:
    """A Problem for a character YAML does not allow (control characters)."""
    message = f"invalid YAML: control character #x{int(error.character):04x} is not allowed"
    return Problem(file, message, *reader_position(text, error))


def _position(mark: Mark) -> tuple[int, int]:
    """1-based line and column of a mark."""
    return mark.line + 1, mark.column + 1


# Validation


@dataclass(frozen=True)
class _Value:
    """A value from book.yaml with its key path (for messages) and where it starts."""

    data: object
    path: str
    mark: Mark
    raw: str | None = None  # the source text if it was a plain scalar


def _join(prefix: str, key: str) -> str:
    """The key path of `key` inside the mapping at `prefix`."""
    return f"{prefix}.{key}" if prefix else key


def _entry(m: _Map, key: str, prefix: str) -> _Value:
    """The value under `key` in `m`."""
    return _Value(m[key], _join(prefix, key), m.value_marks[key], m.raw.get(key))


def _items(v: _Value) -> list[_Value]:
    """The items of a list value."""
    seq = v.data
    assert isinstance(seq, _Seq)
    return [_Value(x, f"{v.path}[{i}]", seq.marks[i], seq.raw[i]) for i, x in enumerate(seq)]


def _kind(data: object) -> str:
    """What sort of YAML value `data` is, for messages."""
    for kind, name in _KINDS:
        if isinstance(data, kind):
            return name
    return f"a {type(data).__name__}"


def _found(v: _Value) -> str:
    """The value as a message shows what was found: strings and numbers as written."""
    if isinstance(v.data, str):
        text = v.data.strip().splitlines()[0] if v.data.strip() else v.data
        return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"
    if isinstance(v.data, (int, float)) and not isinstance(v.data, bool):
        return v.raw or str(v.data)
    return _kind(v.data)


# What XML 1.0 cannot hold: C0 controls but tab and line ends, surrogates, U+FFFE/U+FFFF.
_FORBIDDEN_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _as_text(v: _Value) -> str | None:
    """A string value, stripped; plain scalars such as 1984 or `no` count as written."""
    if isinstance(v.data, str):
        return v.data.strip()
    if v.raw is not None and isinstance(v.data, (bool, int, float, dt.date)):
        return v.raw
    return None


def _valid_date(text: str) -> bool:
    """Whether `text` is a real date written YYYY, YYYY-MM or YYYY-MM-DD."""
    match = DATE_RE.fullmatch(text)
    if match is None:
        return False
    try:
        dt.date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        return False
    return True


def _trim_size(text: str) -> tuple[float, float] | None:
    """A page size in inches from a preset name or `WxH` with a unit."""
    key = re.sub(r"\s+", "", text.lower())
    if key in TRIM_PRESETS:
        return TRIM_PRESETS[key]
    match = TRIM_RE.fullmatch(key)
    if match is None:
        return None
    width, height = float(match[1]) * UNITS[match[3]], float(match[2]) * UNITS[match[3]]
    return (width, height) if width > 0 and height > 0 else None


def _length(text: str) -> float | None:
    """A length with a unit, in inches."""
    match = LENGTH_RE.fullmatch(re.sub(r"\s+", "", text.lower()))
    return float(match[1]) * UNITS[match[2]] if match else None


def _points(data: object) -> float | None:
    """A font size: a number of points or a string like `10.5pt`."""
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    if isinstance(data, str):
        match = POINTS_RE.fullmatch(re.sub(r"\s+", "", data.lower()))
        return float(match[1]) if match else None
    return None


def _outside(root: Path, written: str) -> str:
    """Why a path that resolves outside `root` is refused: `..`, or a symbolic link."""
    folder = os.path.abspath(root)  # lexical: the folder may itself be reached by a link
    if os.path.normpath(os.path.join(folder, written)).startswith(folder + os.sep):
        return f"'{written}' is a link to a file outside the book folder"
    return "path leaves the book folder"


def _locate(root: Path, written: str, suffixes: tuple[str, ...]) -> Path | str:
    """The file `written` names inside `root`, or a message saying why it cannot be used."""
    if not written:
        return "expected a path, found an empty string"
    windows = PureWindowsPath(written)
    if windows.drive or windows.root:
        return f"path must be relative to the book folder, found '{written}'"
    try:
        resolved = (root / written).resolve()
        inside = resolved.is_relative_to(root.resolve())
        is_file, exists = resolved.is_file(), resolved.exists()
    except (OSError, RuntimeError, ValueError):
        return f"cannot use the path '{written}'"
    if not inside:
        return _outside(root, written)
    if Path(written).suffix.lower() not in suffixes:
        return f"'{written}' has an unsupported extension; expected one of {', '.join(suffixes)}"
    if not is_file:
        return f"'{written}' is not a file" if exists else f"no such file '{written}'"
    return resolved


class _Checker:
    """Turns the parsed YAML into manifest dataclasses, collecting every problem."""

    def __init__(self, file: str, root: Path) -> None:
        self.file = file
        self.root = root
        self.problems: list[Problem] = []
        self.essays: list[tuple[Path, str, _Value]] = []  # resolved, as written, where

    def report(self, mark: Mark, path: str, message: str) -> None:
        """Note a problem at `mark` about the value at key path `path`."""
        text = f"{path}: {message}" if path else message
        self.problems.append(Problem(self.file, text, *_position(mark)))

    def wrong(self, v: _Value, expected: str) -> None:
        """Note that `v` is not what was expected."""
        self.report(v.mark, v.path, f"expected {expected}, found {_found(v)}")

    def where(self, mark: Mark) -> Where:
        """The Where for a mark."""
        return Where(self.file, *_position(mark))

    def raise_problems(self) -> None:
        """Raise one ManifestError with every problem, in file order, if there are any."""
        self.check_duplicate_essays()
        if self.problems:
            ordered = sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0))
            raise ManifestError(ordered)

    def check_keys(self, m: _Map, prefix: str, allowed: tuple[str, ...]) -> None:
        """Report unknown keys (suggesting a close match) and keys written twice."""
        for key, mark in m.key_marks.items():
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.report(mark, _join(prefix, str(key)), f"unknown key{hint}")
        for key, mark, first in m.duplicates:
            message = f"duplicate key (first given at line {first.line + 1})"
            self.report(mark, _join(prefix, str(key)), message)

    def mapping(self, v: _Value, allowed: tuple[str, ...]) -> _Map | None:
        """`v` as a mapping with its keys checked, or None (reported) if it is not one."""
        if not isinstance(v.data, _Map):
            self.wrong(v, f"a mapping with keys among {', '.join(allowed)}")
            return None
        self.check_keys(v.data, v.path, allowed)
        return v.data

    def field(self, m: _Map, key: str, prefix: str) -> _Value | None:
        """The value under `key`, or None when it is absent or empty (null)."""
        if key not in m or m[key] is None:
            return None
        return _entry(m, key, prefix)

    def require(self, m: _Map, key: str, prefix: str) -> _Value | None:
        """The value under a required key (maybe null); report the key if it is absent."""
        if key not in m:
            self.report(m.mark, _join(prefix, key), "missing required key")
            return None
        return _entry(m, key, prefix)

    # Scalars

    def text(self, v: _Value | None, default: str = "") -> str:
        """A string value, or `default` when absent, wrong or too long."""
        if v is None:
            return default
        text = _as_text(v)
        if text is None:
            self.wrong(v, "a string")
            return default
        if len(text) > MAX_VALUE:
            message = f"{len(text):,} characters; a value may have at most {MAX_VALUE:,}"
            self.report(v.mark, v.path, message)
            return default
        if bad := _FORBIDDEN_IN_XML.search(text):
            # Written as an escape ("\x05"), YAML lets it through; XML (XMP, EPUB) cannot hold it.
            message = f"control character #x{ord(bad.group()):04x} is not allowed"
            self.report(v.mark, v.path, message)
            return default
        return text

    def required_text(self, v: _Value | None) -> str:
        """A string that must be present and not empty."""
        text = self.text(v)
        if v is not None and _as_text(v) == "":
            self.report(v.mark, v.path, "must not be empty")
        return text

    def names(self, v: _Value | None) -> tuple[str, ...]:
        """A string or a list of strings, as a tuple (empty strings are dropped)."""
        if v is None:
            return ()
        if isinstance(v.data, _Seq):
            return tuple(name for name in map(self.text, _items(v)) if name)
        if _as_text(v) is None:
            self.wrong(v, "a string or a list of strings")
            return ()
        text = self.text(v)
        return (text,) if text else ()

    def language(self, v: _Value | None) -> str:
        """A BCP 47 language tag such as en, en-GB or de-CH."""
        tag = self.text(v, "en")
        if v is not None and _as_text(v) is not None and not LANGUAGE_RE.fullmatch(tag):
            self.report(v.mark, v.path, f"'{tag}' is not a language tag such as en, en-GB or fr")
            return "en"
        return tag

    def date(self, v: _Value | None) -> str:
        """An ISO date: YYYY, YYYY-MM or YYYY-MM-DD (a YAML date or a year also do)."""
        if v is None:
            return ""
        if isinstance(v.data, dt.date) and not isinstance(v.data, dt.datetime):
            return v.data.isoformat()
        text = _as_text(v) if not isinstance(v.data, dt.datetime) else None
        if text is None or not _valid_date(text):
            self.wrong(v, DATE_EXPECTED)
            return ""
        return text

    def flag(self, v: _Value | None, default: bool) -> bool:
        """A boolean: true or false."""
        if v is None:
            return default
        if not isinstance(v.data, bool):
            self.wrong(v, "true or false")
            return default
        return v.data

    def number(self, v: _Value, value: float, bounds: tuple[float, float], unit: str) -> bool:
        """Whether `value` (read from `v`) is within `bounds`; report it if not."""
        low, high = bounds
        if low <= value <= high:
            return True
        message = f"must be between {low:g}{unit} and {high:g}{unit}, found {_found(v)}"
        self.report(v.mark, v.path, message)
        return False

    # Files and essays

    def locate(self, v: _Value, suffixes: tuple[str, ...], expected: str) -> Path | None:
        """The file a path value names, or None (reported) if it cannot be used."""
        written = _as_text(v)
        if written is None:
            self.wrong(v, expected)
            return None
        found = _locate(self.root, written, suffixes)
        if isinstance(found, str):
            self.report(v.mark, v.path, found)
            return None
        return found

    def cover(self, v: _Value | None) -> str:
        """The cover image path, as written, once the image has been read whole."""
        found = None if v is None else self.locate(v, IMAGE_SUFFIXES, "a path to a JPEG or PNG")
        if v is None or found is None:
            return ""
        problem = image_problem(found, formats=("JPEG", "PNG"))
        if problem:
            self.report(v.mark, v.path, problem)
            return ""
        return _as_text(v) or ""

    def essay(self, v: _Value | None, expected: str) -> EssayRef | None:
        """An essay: a path, or a mapping with `path` and metadata overrides."""
        if v is None:
            return None
        if not isinstance(v.data, _Map):
            return self.essay_at(v, {}, expected)
        self.check_keys(v.data, v.path, ESSAY_KEYS)
        path = self.require(v.data, "path", v.path)
        overrides = self.overrides(v.data, v.path)
        return self.essay_at(path, overrides, "a path to an essay") if path else None

    def essay_at(self, v: _Value, overrides: dict[str, object], expected: str) -> EssayRef | None:
        """An EssayRef for the path in `v`, remembered for the duplicate check."""
        found = self.locate(v, ESSAY_SUFFIXES, expected)
        written = _as_text(v)
        if found is None or written is None:
            return None
        self.essays.append((found, written, v))
        return EssayRef(written, self.where(v.mark), overrides)

    def overrides(self, m: _Map, prefix: str) -> dict[str, object]:
        """The metadata an essay mapping sets, normalised; keys as in book.yaml."""
        found: dict[str, object] = {}
        for key in OVERRIDE_KEYS:
            v = self.field(m, key, prefix)
            if v is None:
                continue
            if key in ("author", "translator"):
                found[key] = self.names(v)
            elif key == "date":
                found[key] = self.date(v)
            elif key == "epigraph":
                found[key] = self.epigraph(v)
            else:
                found[key] = self.text(v)
        return found

    def check_duplicate_essays(self) -> None:
        """Report every essay named a second time, pointing at the first use."""
        first: dict[Path, Mark] = {}
        for resolved, written, v in sorted(self.essays, key=lambda e: _position(e[2].mark)):
            if resolved in first:
                line = first[resolved].line + 1
                self.report(v.mark, v.path, f"'{written}' is already used at line {line}")
            else:
                first[resolved] = v.mark

    # Contents

    def contents(self, v: _Value | None) -> tuple[EssayRef | PartRef, ...]:
        """The `contents` list: essays and parts, in reading order."""
        found: list[EssayRef | PartRef | None] = []
        for item in self.entries(v, "a list of essays and parts"):
            if isinstance(item.data, _Map) and ("part" in item.data or "chapters" in item.data):
                found.append(self.part(item, item.data))
            else:
                found.append(self.essay(item, "an essay path, a mapping with path, or a part"))
        return tuple(x for x in found if x is not None)

    def entries(self, v: _Value | None, expected: str) -> list[_Value]:
        """The items of a required, non-empty list."""
        if v is None:
            return []
        if not isinstance(v.data, _Seq):
            self.wrong(v, expected)
            return []
        if not v.data:
            self.report(v.mark, v.path, "must list at least one essay")
        return _items(v)

    def part(self, v: _Value, m: _Map) -> PartRef:
        """A part: a title, its chapters, and an optional subtitle and introduction."""
        self.check_keys(m, v.path, PART_KEYS)
        title = self.required_text(self.require(m, "part", v.path))
        chapters: list[EssayRef | None] = []
        for item in self.entries(self.require(m, "chapters", v.path), "a list of essays"):
            if isinstance(item.data, _Map) and "part" in item.data:
                self.report(item.mark, item.path, "parts cannot be nested")
            else:
                chapters.append(self.essay(item, "an essay path or a mapping with path"))
        return PartRef(
            title=title,
            where=self.where(v.mark),
            essays=tuple(x for x in chapters if x is not None),
            subtitle=self.text(self.field(m, "subtitle", v.path)),
            introduction=self.essay(
                self.field(m, "introduction", v.path), "an essay path or a mapping with path"
            ),
        )

    # Front and back matter

    def epigraph(self, v: _Value | None) -> Epigraph | None:
        """A quotation: a string, or a mapping with `text` and `source`."""
        if v is None:
            return None
        if not isinstance(v.data, _Map):
            text = _as_text(v)
            if text is None:
                self.wrong(v, "a string or a mapping with text and source")
            return Epigraph(text) if text else None
        self.check_keys(v.data, v.path, EPIGRAPH_KEYS)
        text = self.required_text(self.require(v.data, "text", v.path))
        return Epigraph(text, self.text(self.field(v.data, "source", v.path)))

    def front_matter(self, v: _Value | None) -> FrontMatter:
        """The `front_matter` mapping."""
        if v is None or (m := self.mapping(v, FRONT_KEYS)) is None:
            return FrontMatter()
        expected = "an essay path or a mapping with path"
        return FrontMatter(
            dedication=self.text(self.field(m, "dedication", v.path)),
            epigraph=self.epigraph(self.field(m, "epigraph", v.path)),
            foreword=self.essay(self.field(m, "foreword", v.path), expected),
            preface=self.essay(self.field(m, "preface", v.path), expected),
            introduction=self.essay(self.field(m, "introduction", v.path), expected),
        )

    def back_matter(self, v: _Value | None) -> BackMatter:
        """The `back_matter` mapping."""
        default = BackMatter()
        if v is None or (m := self.mapping(v, BACK_KEYS)) is None:
            return default
        expected = "an essay path or a mapping with path"
        return BackMatter(
            acknowledgements=self.essay(self.field(m, "acknowledgements", v.path), expected),
            afterword=self.essay(self.field(m, "afterword", v.path), expected),
            contributors=self.flag(self.field(m, "contributors", v.path), default.contributors),
            sources=self.flag(self.field(m, "sources", v.path), default.sources),
        )

    # PDF settings

    def pdf(self, v: _Value | None) -> PdfSettings:
        """The `pdf` mapping: page size, margins and type."""
        default = PdfSettings()
        if v is None or (m := self.mapping(v, PDF_KEYS)) is None:
            return default
        before = len(self.problems)
        margins = self.margins(self.field(m, "margins", v.path), default)
        settings = PdfSettings(
            trim=self.trim(self.field(m, "trim", v.path), default.trim),
            margin_top=margins["top"],
            margin_bottom=margins["bottom"],
            margin_inside=margins["inside"],
            margin_outside=margins["outside"],
            font_size=self.font_size(self.field(m, "font_size", v.path), default.font_size),
            line_height=self.line_height(self.field(m, "line_height", v.path), default),
            font_family=self.font_family(self.field(m, "font_family", v.path)),
            profile=self.profile(self.field(m, "profile", v.path)),
            bleed=self.flag(self.field(m, "bleed", v.path), default.bleed),
            **self.paper(self.field(m, "paper", v.path)),
        )
        if len(self.problems) == before:
            self.check_room(v, settings)
        return settings

    def font_family(self, v: _Value | None) -> str:
        """A font family name, which the stylesheets quote: nothing that ends a CSS string."""
        name = self.text(v)
        if v is not None and name and not FONT_FAMILY_RE.fullmatch(name):
            self.wrong(v, "a font family name (letters, digits, spaces, - . ')")
            return ""
        return name

    def profile(self, v: _Value | None) -> str:
        """One of the print profiles."""
        if v is None:
            return PdfSettings.profile
        name = _as_text(v)
        if name not in PROFILES:
            self.wrong(v, "one of " + ", ".join(PROFILES))
            return PdfSettings.profile
        return name

    def paper(self, v: _Value | None) -> dict[str, Any]:
        """`white`, `cream` or a thickness per page such as 0.0023in."""
        if v is None:
            return {}
        text = _as_text(v)
        if text in PAPER:
            return {"paper": text, "paper_thickness": PAPER[text]}
        inches = _length(text) if text else None
        if inches is None or not 0.001 <= inches <= 0.01:
            self.wrong(v, "white, cream, or a thickness per page such as 0.0023in")
            return {}
        return {"paper": text, "paper_thickness": inches}

    def trim(self, v: _Value | None, default: tuple[float, float]) -> tuple[float, float]:
        """The page size in inches."""
        if v is None:
            return default
        text = _as_text(v) if isinstance(v.data, str) else None
        size = _trim_size(text) if text is not None else None
        if size is None:
            self.wrong(v, TRIM_EXPECTED)
            return default
        return size

    def margins(self, v: _Value | None, default: PdfSettings) -> dict[str, float]:
        """The four margins in inches; unset ones keep their defaults."""
        found = {
            "top": default.margin_top,
            "bottom": default.margin_bottom,
            "inside": default.margin_inside,
            "outside": default.margin_outside,
        }
        if v is None or (m := self.mapping(v, MARGIN_KEYS)) is None:
            return found
        for side in MARGIN_KEYS:
            found[side] = self.length(self.field(m, side, v.path), found[side])
        return found

    def length(self, v: _Value | None, default: float) -> float:
        """A length with a unit, in inches."""
        if v is None:
            return default
        inches = _length(v.data) if isinstance(v.data, str) else None
        if inches is None:
            self.wrong(v, LENGTH_EXPECTED)
            return default
        return inches

    def font_size(self, v: _Value | None, default: float) -> float:
        """The body font size in points."""
        if v is None:
            return default
        size = _points(v.data)
        if size is None:
            self.wrong(v, "a size in points such as 10.5pt or 11")
            return default
        return size if self.number(v, size, FONT_SIZE_RANGE, "pt") else default

    def line_height(self, v: _Value | None, default: PdfSettings) -> float:
        """The line height as a multiple of the font size."""
        if v is None:
            return default.line_height
        if not isinstance(v.data, (int, float)) or isinstance(v.data, bool):
            self.wrong(v, "a number such as 1.35")
            return default.line_height
        value = float(v.data)
        return value if self.number(v, value, LINE_HEIGHT_RANGE, "") else default.line_height

    def check_room(self, v: _Value, settings: PdfSettings) -> None:
        """Report margins that leave no room for text on the page."""
        width, height = settings.trim
        across = settings.margin_inside + settings.margin_outside
        down = settings.margin_top + settings.margin_bottom
        if across >= width or down >= height:
            size = f"{width:g}x{height:g}in"
            self.report(v.mark, v.path, f"the margins leave no room for text on a {size} page")

    # The whole manifest

    def manifest(self, path: Path, m: _Map) -> Manifest:
        """The Manifest for the top-level mapping (valid only if no problems were noted)."""
        self.check_keys(m, "", TOP_KEYS)

        def get(key: str) -> _Value | None:
            """An optional top-level value."""
            return self.field(m, key, "")

        return Manifest(
            path=path,
            title=self.required_text(self.require(m, "title", "")),
            contents=self.contents(self.require(m, "contents", "")),
            subtitle=self.text(get("subtitle")),
            editors=self.names(get("editor")),
            authors=self.names(get("author")),
            translators=self.names(get("translator")),
            language=self.language(get("language")),
            publisher=self.text(get("publisher")),
            date=self.date(get("date")),
            rights=self.text(get("rights")),
            identifier=self.text(get("identifier")),
            description=self.text(get("description")),
            back_cover=self.text(get("back_cover")),
            subjects=self.names(get("subjects")),
            cover=self.cover(get("cover")),
            theme=self.text(get("theme")) or "default",
            front_matter=self.front_matter(get("front_matter")),
            back_matter=self.back_matter(get("back_matter")),
            pdf=self.pdf(get("pdf")),
        )

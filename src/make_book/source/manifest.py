"""Read book.yaml into a validated `Manifest`, reporting every problem at once."""

from __future__ import annotations

import datetime as dt
import difflib
import os
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from make_book.errors import EssayError, ManifestError, Problem
from make_book.model import URN_ISBN
from make_book.profiles import BLEED, PROFILES
from make_book.source.essay_files import (
    BoundedLoader,
    compose,
    quoted,
    read_bounded,
    reader_position,
    shown,
    text_problem,
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
from make_book.source.schema import (
    BACK,
    BOOK,
    CHAPTERS,
    CONTENTS,
    COVER,
    DATE,
    EPIGRAPH,
    EPIGRAPH_SECTION,
    ESSAY,
    ESSAY_PATH,
    ESSAY_SECTION,
    ESSAY_SUFFIXES,
    FLAG,
    FONT_FAMILY,
    FONT_FAMILY_RE,
    FONT_SIZE,
    FONT_SIZE_RANGE,
    FRONT,
    IMAGE_SUFFIXES,
    ISBN,
    ISBN_RE,
    LANGUAGE,
    LENGTH,
    LINE_HEIGHT,
    LINE_HEIGHT_RANGE,
    MARGINS,
    MAX_PAGE_SIDE,
    NAMES,
    PAPER,
    PAPER_KIND,
    PAPER_RANGE,
    PART,
    PDF,
    PRICE,
    PRICE_RE,
    PROFILE,
    TEXT,
    THEME,
    THEMES,
    TRIM,
    Key,
    Section,
    length,
    points,
    trim_size,
    valid_date,
    valid_language,
)

MAX_MANIFEST_BYTES = 1024 * 1024
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
        found = _found(_Value(data, "", node.start_mark, _plain(node)))
        message = f"expected a mapping with keys such as title and contents, found {found}"
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
    """The value as a message shows what was found, as written: a string quoted (cut
    short), a number bare, `yes` or a date quoted as its text; a list or mapping by kind."""
    if isinstance(v.data, str):
        return quoted(v.data)
    if isinstance(v.data, (int, float)) and not isinstance(v.data, bool):
        return shown(v.raw or str(v.data))
    if v.raw is not None and v.data is not None:
        return quoted(v.raw)
    return _kind(v.data)


def _as_text(v: _Value) -> str | None:
    """A string value, stripped; plain scalars such as 1984 or `no` count as written."""
    if isinstance(v.data, str):
        return v.data.strip()
    if v.raw is not None and isinstance(v.data, (bool, int, float, dt.date)):
        return v.raw
    return None


def _outside(root: Path, written: str) -> str:
    """Why a path that resolves outside `root` is refused: `..`, or a symbolic link."""
    folder = os.path.abspath(root)  # lexical: the folder may itself be reached by a link
    if os.path.normpath(os.path.join(folder, written)).startswith(folder + os.sep):
        return f"{quoted(written)} is a link to a file outside the book folder"
    return f"{quoted(written)} leaves the book folder"


def _locate(root: Path, written: str, suffixes: tuple[str, ...]) -> Path | str:
    """The file `written` names inside `root`, or a message saying why it cannot be used."""
    if not written:
        return "expected a path, found an empty string"
    windows = PureWindowsPath(written)
    if windows.drive or windows.root:
        return f"path must be relative to the book folder, found {quoted(written)}"
    try:
        resolved = (root / written).resolve()
        inside = resolved.is_relative_to(root.resolve())
        is_file, exists = resolved.is_file(), resolved.exists()
    except (OSError, RuntimeError, ValueError):
        return f"cannot use the path {quoted(written)}"
    if not inside:
        return _outside(root, written)
    if Path(written).suffix.lower() not in suffixes:
        expected = ", ".join(suffixes)
        return f"{quoted(written)} has an unsupported extension; expected one of {expected}"
    if not is_file:
        return f"{quoted(written)} is not a file" if exists else f"no such file {quoted(written)}"
    return resolved


_Reader = Callable[[_Value], object]
_CONTENTS_ITEM = "an essay path, a mapping with path, or a part"


class _Checker:
    """Turns the parsed YAML into manifest dataclasses, collecting every problem.

    Which keys a mapping has, and how each is read, is the schema's table: every
    kind of value there has a reader here (`readers`), every mapping a builder.
    """

    def __init__(self, file: str, root: Path) -> None:
        self.file = file
        self.root = root
        self.problems: list[Problem] = []
        self.essays: list[tuple[Path, str, _Value]] = []  # resolved, as written, where
        self.readers: dict[str, _Reader] = {**self.scalar_readers(), **self.essay_readers()}
        self.builders: dict[str, Callable[[_Value, _Map], object]] = {
            FRONT.name: self.front_matter,
            BACK.name: self.back_matter,
            PDF.name: self.pdf,
            MARGINS.name: self.margins,
        }

    def scalar_readers(self) -> dict[str, _Reader]:
        """The readers of values that stand alone, by kind."""
        return {
            TEXT.name: self.text,
            NAMES.name: self.names,
            LANGUAGE.name: self.language,
            DATE.name: self.date,
            FLAG.name: self.flag,
            THEME.name: self.theme,
            TRIM.name: self.trim,
            LENGTH.name: self.length,
            FONT_SIZE.name: self.font_size,
            LINE_HEIGHT.name: self.line_height,
            FONT_FAMILY.name: self.font_family,
            PROFILE.name: self.profile,
            PAPER_KIND.name: self.paper,
            ISBN.name: self.isbn,
            PRICE.name: self.price,
        }

    def essay_readers(self) -> dict[str, _Reader]:
        """The readers of files, essays and what holds them, by kind."""
        return {
            COVER.name: self.cover,
            ESSAY.name: self.essay,
            ESSAY_PATH.name: lambda v: v,  # read by essay_in, with the essay's other keys
            EPIGRAPH.name: self.epigraph,
            CONTENTS.name: self.contents,
            CHAPTERS.name: self.chapters,
        }

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

    # Mappings, as the table declares them

    def section(self, m: _Map, section: Section, prefix: str) -> dict[str, Any]:
        """The value of each key `m` gives, by the model's field name; keys checked."""
        self.check_keys(m, prefix, section.names)
        found: dict[str, Any] = {}
        for key in section.keys:
            v = self.require(m, key.name, prefix) if key.required else self.field(m, key, prefix)
            if v is None:
                continue  # absent or null: the model's default
            found[key.field] = self.read(key, v)
            if key.required and key.kind is TEXT and _as_text(v) == "":
                self.report(v.mark, v.path, "must not be empty")
        return found

    def read(self, key: Key, v: _Value) -> object:
        """The value of one key, read as its kind says (None or {} if it is unusable)."""
        if key.section is None:
            return self.readers[key.kind.name](v)
        if not isinstance(v.data, _Map):
            self.wrong(v, f"a mapping with keys among {', '.join(key.section.names)}")
            return None
        return self.builders[key.section.name](v, v.data)

    def check_keys(self, m: _Map, prefix: str, allowed: tuple[str, ...]) -> None:
        """Report unknown keys (suggesting a close match) and keys written twice."""
        for key, mark in m.key_marks.items():
            if key not in allowed:
                self.report(mark, _join(prefix, str(key)), "unknown key" + _hint(key, allowed))
        for key, mark, first in m.duplicates:
            message = f"duplicate key (first given at line {first.line + 1})"
            self.report(mark, _join(prefix, str(key)), message)

    def field(self, m: _Map, key: Key, prefix: str) -> _Value | None:
        """The value under `key`, or None when it is absent or empty (null)."""
        if key.name not in m or m[key.name] is None:
            return None
        return _entry(m, key.name, prefix)

    def require(self, m: _Map, key: str, prefix: str) -> _Value | None:
        """The value under a required key (maybe null); report the key if it is absent."""
        if key not in m:
            self.report(m.mark, _join(prefix, key), "missing required key")
            return None
        return _entry(m, key, prefix)

    # Scalars

    def text(self, v: _Value) -> str:
        """A string value; empty when it is wrong or too long."""
        text = _as_text(v)
        if text is None:
            self.wrong(v, TEXT.expected)
            return ""
        if problem := text_problem(text):  # too long, or a control character
            self.report(v.mark, v.path, problem)
            return ""
        return text

    def names(self, v: _Value) -> tuple[str, ...]:
        """A string or a list of strings, as a tuple (empty strings are dropped)."""
        if isinstance(v.data, _Seq):
            return tuple(name for name in map(self.text, _items(v)) if name)
        if _as_text(v) is None:
            self.wrong(v, NAMES.expected)
            return ()
        text = self.text(v)
        return (text,) if text else ()

    def language(self, v: _Value) -> str | None:
        """A BCP 47 language tag such as en, en-GB or de-CH."""
        tag = self.text(v)
        if _as_text(v) is not None and not valid_language(tag):
            self.report(v.mark, v.path, f"{quoted(tag)} is not {LANGUAGE.expected}")
            return None
        return tag

    def date(self, v: _Value) -> str:
        """An ISO date: YYYY, YYYY-MM or YYYY-MM-DD (a YAML date or a year also do)."""
        if isinstance(v.data, dt.date) and not isinstance(v.data, dt.datetime):
            return v.data.isoformat()
        text = _as_text(v) if not isinstance(v.data, dt.datetime) else None
        if text is None or not valid_date(text):
            self.wrong(v, DATE.expected)
            return ""
        return text

    def flag(self, v: _Value) -> bool | None:
        """A boolean: true or false."""
        if not isinstance(v.data, bool):
            self.wrong(v, FLAG.expected)
            return None
        return v.data

    def theme(self, v: _Value) -> str | None:
        """The name of a packaged theme (empty: the default one)."""
        name = self.text(v) or BOOK.text_default("theme")
        if name not in THEMES:
            message = f"{quoted(name)} is not a packaged theme{_hint(name, THEMES)}"
            self.report(v.mark, v.path, f"{message}; expected {THEME.expected}")
            return None
        return name

    def number(self, v: _Value, value: float, bounds: tuple[float, float], unit: str) -> bool:
        """Whether `value` (read from `v`) is within `bounds`; report it if not."""
        low, high = bounds
        if low <= value <= high:
            return True
        message = f"must be between {low:g}{unit} and {high:g}{unit}, found {_found(v)}"
        self.report(v.mark, v.path, message)
        return False

    # The ISBN and its barcode's price

    def isbn(self, v: _Value) -> str:
        """An ISBN-13 or ISBN-10, checked; its ISBN-13 as 13 digits ("" when it is wrong)."""
        text = _as_text(v)
        if text is None:
            self.wrong(v, ISBN.expected)
            return ""
        return self.checked_isbn(v, text)

    def checked_isbn(self, v: _Value, text: str) -> str:
        """`text` (part of `v`) as ISBN-13 digits, or "" with the problem reported."""
        if not ISBN_RE.fullmatch(text):
            self.wrong(v, ISBN.expected)
            return ""
        from stdnum import isbn as stdnum_isbn  # only for a book with an ISBN (model.py)

        digits = stdnum_isbn.compact(text)
        expected = _check_digit(digits)
        if digits[-1] != expected:
            message = f"{_found(v)} has the wrong check digit: it should end in {expected}"
            self.report(v.mark, v.path, message)
            return ""
        if len(digits) == 13 and digits[:3] not in ("978", "979"):
            message = f"{_found(v)} is not an ISBN: an ISBN-13 begins with 978 or 979"
            self.report(v.mark, v.path, message)
            return ""
        return stdnum_isbn.to_isbn13(digits)

    def price(self, v: _Value) -> str:
        """The five digits of the barcode's price add-on (EAN-5)."""
        text = _as_text(v)
        if text is None or not PRICE_RE.fullmatch(text):
            self.wrong(v, PRICE.expected)
            return ""
        return text

    def settle_isbn(self, m: _Map, values: dict[str, Any]) -> None:
        """One ISBN for the book, from `isbn:` or `identifier: urn:isbn:…`, and the
        identifier made from it: the EPUB is identified by the book's ISBN."""
        identifier: str = values.get("identifier", "")
        if identifier.lower().startswith(URN_ISBN):
            self.identifier_isbn(_entry(m, "identifier", ""), values)
        elif values.get("isbn") and identifier:
            where = _entry(m, "identifier", "")
            message = f"{_found(where)}: a book with an isbn is identified by it"
            self.report(where.mark, where.path, f"{message}; drop identifier")
        elif values.get("isbn"):
            values["identifier"] = URN_ISBN + values["isbn"]
        if "price" in values and "isbn" not in m and not identifier.lower().startswith(URN_ISBN):
            where = _entry(m, "price", "")
            self.report(where.mark, where.path, "needs an isbn: it is printed beside its barcode")

    def identifier_isbn(self, where: _Value, values: dict[str, Any]) -> None:
        """`identifier: urn:isbn:…`, checked as `isbn:` is, and the same as it if both are set."""
        found = self.checked_isbn(where, values["identifier"][len(URN_ISBN) :].strip())
        if not found:
            return
        if values.get("isbn", found) not in (found, ""):
            message = f"{_found(where)} is not the same ISBN as isbn; drop one of them"
            self.report(where.mark, where.path, message)
            return
        values.update(identifier=URN_ISBN + found, isbn=found)

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

    def cover(self, v: _Value) -> str:
        """The cover image path, as written, once the image has been read whole."""
        found = self.locate(v, IMAGE_SUFFIXES, COVER.expected)
        if found is None:
            return ""
        problem = image_problem(found, formats=("JPEG", "PNG"))
        if problem:
            self.report(v.mark, v.path, f"{quoted(_as_text(v) or '')}: {problem}")
            return ""
        return _as_text(v) or ""

    def essay(self, v: _Value) -> EssayRef | None:
        """An essay in front or back matter, or a part's introduction."""
        return self.essay_in(v, ESSAY.expected)

    def essay_in(self, v: _Value, expected: str) -> EssayRef | None:
        """An essay: a path, or a mapping with `path` and metadata overrides."""
        if not isinstance(v.data, _Map):
            return self.essay_at(v, {}, expected)
        overrides = self.section(v.data, ESSAY_SECTION, v.path)
        path = overrides.pop("path", None)
        return self.essay_at(path, overrides, ESSAY_PATH.expected) if path else None

    def essay_at(self, v: _Value, overrides: dict[str, object], expected: str) -> EssayRef | None:
        """An EssayRef for the path in `v`, remembered for the duplicate check."""
        found = self.locate(v, ESSAY_SUFFIXES, expected)
        written = _as_text(v)
        if found is None or written is None:
            return None
        self.essays.append((found, written, v))
        return EssayRef(written, self.where(v.mark), overrides)

    def check_duplicate_essays(self) -> None:
        """Report every essay named a second time, pointing at the first use."""
        first: dict[Path, Mark] = {}
        for resolved, written, v in sorted(self.essays, key=lambda e: _position(e[2].mark)):
            if resolved in first:
                line = first[resolved].line + 1
                self.report(v.mark, v.path, f"{quoted(written)} is already used at line {line}")
            else:
                first[resolved] = v.mark

    # Contents

    def contents(self, v: _Value) -> tuple[EssayRef | PartRef, ...]:
        """The `contents` list: essays and parts, in reading order."""
        found: list[EssayRef | PartRef | None] = []
        for item in self.entries(v, CONTENTS.expected):
            if isinstance(item.data, _Map) and ("part" in item.data or "chapters" in item.data):
                found.append(self.part(item, item.data))
            else:
                found.append(self.essay_in(item, _CONTENTS_ITEM))
        return tuple(x for x in found if x is not None)

    def entries(self, v: _Value, expected: str) -> list[_Value]:
        """The items of a required, non-empty list."""
        if not isinstance(v.data, _Seq):
            self.wrong(v, expected)
            return []
        if not v.data:
            self.report(v.mark, v.path, "must list at least one essay")
        return _items(v)

    def part(self, v: _Value, m: _Map) -> PartRef:
        """A part: a title, its chapters, and an optional subtitle and introduction."""
        values = {"title": "", "essays": (), **self.section(m, PART, v.path)}
        return PartRef(where=self.where(v.mark), **values)

    def chapters(self, v: _Value) -> tuple[EssayRef, ...]:
        """A part's essays: not parts themselves."""
        found: list[EssayRef | None] = []
        for item in self.entries(v, CHAPTERS.expected):
            if isinstance(item.data, _Map) and "part" in item.data:
                self.report(item.mark, item.path, "parts cannot be nested")
            else:
                found.append(self.essay(item))
        return tuple(x for x in found if x is not None)

    # Front and back matter

    def epigraph(self, v: _Value) -> Epigraph | None:
        """A quotation: a string, or a mapping with `text` and `source`."""
        if not isinstance(v.data, _Map):
            text = _as_text(v)
            if text is None:
                self.wrong(v, EPIGRAPH.expected)
            return Epigraph(text) if text else None
        return Epigraph(**{"text": "", **self.section(v.data, EPIGRAPH_SECTION, v.path)})

    def front_matter(self, v: _Value, m: _Map) -> FrontMatter:
        """The `front_matter` mapping."""
        return FrontMatter(**self.section(m, FRONT, v.path))

    def back_matter(self, v: _Value, m: _Map) -> BackMatter:
        """The `back_matter` mapping."""
        return BackMatter(**self.section(m, BACK, v.path))

    # PDF settings

    def pdf(self, v: _Value, m: _Map) -> PdfSettings:
        """The `pdf` mapping: page size, margins and type."""
        before = len(self.problems)
        values = self.section(m, PDF, v.path)
        values.update(values.pop("margins", None) or {})
        values.update(values.pop("paper", None) or {})
        settings = PdfSettings(**{k: x for k, x in values.items() if x is not None})
        if len(self.problems) == before:
            self.check_room(v, settings)
            self.check_page_size(_entry(m, "trim", v.path) if "trim" in m else v, settings)
        return settings

    def margins(self, v: _Value, m: _Map) -> dict[str, float]:
        """The margins given, in inches, by the model's field names."""
        return {f"margin_{side}": x for side, x in self.section(m, MARGINS, v.path).items()}

    def font_family(self, v: _Value) -> str:
        """A font family name, which the stylesheets quote: nothing that ends a CSS string."""
        name = self.text(v)
        if name and not FONT_FAMILY_RE.fullmatch(name):
            self.wrong(v, FONT_FAMILY.expected)
            return ""
        return name

    def profile(self, v: _Value) -> str | None:
        """One of the print profiles."""
        name = _as_text(v)
        if name not in PROFILES:
            self.wrong(v, PROFILE.expected)
            return None
        return name

    def paper(self, v: _Value) -> dict[str, Any]:
        """`white`, `cream` or a thickness per page such as 0.0023in."""
        text = _as_text(v)
        if text in PAPER:
            return {"paper": text, "paper_thickness": PAPER[text]}
        inches = length(text) if text else None
        if inches is None or not PAPER_RANGE[0] <= inches <= PAPER_RANGE[1]:
            self.wrong(v, PAPER_KIND.expected)
            return {}
        return {"paper": text, "paper_thickness": inches}

    def trim(self, v: _Value) -> tuple[float, float] | None:
        """The page size in inches."""
        size = trim_size(v.data.strip()) if isinstance(v.data, str) else None
        if size is None:
            self.wrong(v, TRIM.expected)
        return size

    def length(self, v: _Value) -> float | None:
        """A length with a unit, in inches."""
        inches = length(v.data) if isinstance(v.data, str) else None
        if inches is None:
            self.wrong(v, LENGTH.expected)
        return inches

    def font_size(self, v: _Value) -> float | None:
        """The body font size in points."""
        size = points(v.data)
        if size is None:
            self.wrong(v, FONT_SIZE.expected)
            return None
        return size if self.number(v, size, FONT_SIZE_RANGE, "pt") else None

    def line_height(self, v: _Value) -> float | None:
        """The line height as a multiple of the font size."""
        if not isinstance(v.data, (int, float)) or isinstance(v.data, bool):
            self.wrong(v, LINE_HEIGHT.expected)
            return None
        value = float(v.data)
        return value if self.number(v, value, LINE_HEIGHT_RANGE, "") else None

    def check_room(self, v: _Value, settings: PdfSettings) -> None:
        """Report margins that leave no room for text on the page."""
        width, height = settings.trim
        across = settings.margin_inside + settings.margin_outside
        down = settings.margin_top + settings.margin_bottom
        if across >= width or down >= height:
            size = f"{width:g}x{height:g}in"
            self.report(v.mark, v.path, f"the margins leave no room for text on a {size} page")

    def check_page_size(self, trim: _Value, settings: PdfSettings) -> None:
        """Refuse a page larger than a PDF page may be, with the bleed a print profile
        adds (top, bottom and outside): a viewer or a printer would cut it down."""
        bleed = BLEED if settings.bleed else 0.0
        width, height = settings.trim
        if max(width + bleed, height + 2 * bleed) > MAX_PAGE_SIDE:
            where = ", bleed included" if bleed else ""
            message = f"{_found(trim)} is larger than a PDF page may be: at most"
            self.report(trim.mark, trim.path, f"{message} {MAX_PAGE_SIDE:g}in a side{where}")

    # The whole manifest

    def manifest(self, path: Path, m: _Map) -> Manifest:
        """The Manifest for the top-level mapping (valid only if no problems were noted)."""
        values = {"title": "", "contents": (), **self.section(m, BOOK, "")}
        self.settle_isbn(m, values)
        return Manifest(path=path, **{k: x for k, x in values.items() if x is not None})


def _check_digit(digits: str) -> str:
    """The check digit an ISBN of these 10 or 13 digits must end in."""
    if len(digits) == 13:
        from stdnum import ean

        return str(ean.calc_check_digit(digits[:-1]))
    # ISBN-10: the weighted sum, 10 down to 2, plus the check digit is a multiple of 11.
    total = sum(
        weight * int(digit) for weight, digit in zip(range(10, 1, -1), digits[:9], strict=True)
    )
    check = -total % 11
    return "X" if check == 10 else str(check)


def _hint(key: Hashable, allowed: tuple[str, ...]) -> str:
    """ " (did you mean 'x'?)" for a close match among `allowed`, else ""."""
    close = difflib.get_close_matches(str(key), allowed, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""

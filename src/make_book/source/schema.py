"""The one table of book.yaml and essay front matter: every key's kind, default and doc.

Everything else follows from it: the loader reads each key by its kind
(manifest.py, and essay_files.py for front matter), the model's defaults are
the table's (manifest_types.py), and the JSON Schema and the reference page
docs/book-yaml.md are written from it (schema_export.py). Adding a key here is
the whole of declaring it; tests/test_schema.py checks the rest still agree.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from make_book.profiles import PROFILES
from make_book.source.markup import HTML_SUFFIXES, MARKDOWN_SUFFIXES, MAX_PARAGRAPH, TEXT_SUFFIXES
from make_book.source.word import WORD_SUFFIXES
from make_book.theme import packaged_themes

MAX_VALUE = MAX_PARAGRAPH  # characters in one front matter or book.yaml value
ESSAY_SUFFIXES = MARKDOWN_SUFFIXES + TEXT_SUFFIXES + HTML_SUFFIXES + WORD_SUFFIXES
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
THEMES = packaged_themes()

# The grammar of values. Each regex is written so that it is also a valid
# ECMAScript pattern: the JSON Schema quotes it, and editors run it as JavaScript.
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")  # BCP 47, loosely
DATE_RE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
DATE_EXPECTED = "YYYY, YYYY-MM or YYYY-MM-DD"
_NUMBER = r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_UNIT = r"(in|mm|cm|pt)"
TRIM_RE = re.compile(rf"{_NUMBER}[x×]{_NUMBER}{_UNIT}")
LENGTH_RE = re.compile(rf"{_NUMBER}{_UNIT}")
POINTS_RE = re.compile(rf"{_NUMBER}pt")
# A font family is written into CSS strings: letters, digits, spaces and a few marks only.
FONT_FAMILY_RE = re.compile(r"[\w .'-]+")
# An ISBN as written: 10 or 13 digits (an ISBN-10 may end in X), spaces or single
# hyphens between them. The check digit is the loader's (python-stdnum).
ISBN_RE = re.compile(r"(?:[0-9][ -]?){9}(?:[0-9Xx]|(?:[0-9][ -]?){3}[0-9])")
PRICE_RE = re.compile(r"[0-9]{5}")  # EAN-5: a currency digit and four of price

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
# PDF's implementation limit on a page's side (ISO 32000-1, annex C): 14,400 pt.
MAX_PAGE_SIDE = 200.0  # inches, bleed included
PAPER = {"white": 0.002252, "cream": 0.0025}  # inches per page (KDP's figures)
PAPER_RANGE = (0.001, 0.01)  # inches per page
FONT_SIZE_RANGE = (6.0, 24.0)  # points
LINE_HEIGHT_RANGE = (1.0, 2.5)
TRIM_EXPECTED = (
    f"a page size ({', '.join(TRIM_PRESETS)}) or WIDTHxHEIGHT with a unit "
    "(in, mm, cm or pt) such as 148x210mm"
)
LENGTH_EXPECTED = "a length with a unit (in, mm, cm or pt) such as 0.75in, 18mm or 54pt"
# What XML 1.0 cannot hold: C0 controls but tab and line ends, U+FFFE/U+FFFF (and
# surrogates, which only the loader can see: JSON Schema patterns work on code points).
_XML_FORBIDDEN = r"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
FORBIDDEN_IN_XML = re.compile(rf"[{_XML_FORBIDDEN}\ud800-\udfff]")


def valid_language(text: str) -> bool:
    """Whether `text` is a BCP 47 language tag such as en, en-GB or de-CH (loosely)."""
    return LANGUAGE_RE.fullmatch(text.strip()) is not None


def valid_date(text: str) -> bool:
    """Whether `text` is a real date written YYYY, YYYY-MM or YYYY-MM-DD."""
    match = DATE_RE.fullmatch(text)
    if match is None:
        return False
    try:
        dt.date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        return False
    return True


def trim_size(text: str) -> tuple[float, float] | None:
    """A page size in inches from a preset name or `WxH` with a unit."""
    key = re.sub(r"\s+", "", text.lower())
    if key in TRIM_PRESETS:
        return TRIM_PRESETS[key]
    match = TRIM_RE.fullmatch(key)
    if match is None:
        return None
    width, height = float(match[1]) * UNITS[match[3]], float(match[2]) * UNITS[match[3]]
    return (width, height) if width > 0 and height > 0 else None


def length(text: str) -> float | None:
    """A length with a unit, in inches."""
    match = LENGTH_RE.fullmatch(re.sub(r"\s+", "", text.lower()))
    return float(match[1]) * UNITS[match[2]] if match else None


def points(data: object) -> float | None:
    """A font size: a number of points or a string like `10.5pt`."""
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    if isinstance(data, str):
        match = POINTS_RE.fullmatch(re.sub(r"\s+", "", data.lower()))
        return float(match[1]) if match else None
    return None


# JSON Schema fragments for the grammar above (the loader lowercases and drops spaces).


def _any_case(pattern: str) -> str:
    """`pattern` matching letters in either case, as JSON Schema has no `i` flag."""
    return re.sub(r"(?<!\\)[a-z]", lambda m: f"[{m[0]}{m[0].upper()}]", pattern)


def _spaced(pattern: str) -> str:
    """A whole-string pattern allowing spaces around `pattern`."""
    return rf"^\s*{pattern}\s*$"


def _suffixes(suffixes: tuple[str, ...]) -> str:
    """A pattern for a path ending in one of `suffixes`, in any case."""
    return _any_case(r"\.(" + "|".join(s[1:] for s in suffixes) + ")$")


# DATE_RE with months and days in range (the loader also refuses 2025-02-30; this cannot).
_DATE_PATTERN = r"^[0-9]{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12][0-9]|3[01]))?)?$"
_SIZE = rf"{_NUMBER}\s*[xX×]\s*{_NUMBER}\s*{_any_case(_UNIT)}"
_PRESETS = _any_case("|".join(map(re.escape, TRIM_PRESETS)))
_TEXT: Mapping[str, object] = {
    "type": ["string", "number", "boolean"],  # plain scalars such as 1984 count as written
    "maxLength": MAX_VALUE,
    "pattern": f"^[^{_XML_FORBIDDEN}]*$",
}
_ESSAY_PATH = {"type": "string", "pattern": _suffixes(ESSAY_SUFFIXES)}
_ESSAY = {"anyOf": [_ESSAY_PATH, {"$ref": "#/$defs/essay"}]}
_LENGTH = {"type": "string", "pattern": _spaced(_any_case(rf"{_NUMBER}\s*{_UNIT}"))}


# The table


@dataclass(frozen=True)
class Kind:
    """A kind of value: the loader reads it by `name`; `expected` and `json` describe it."""

    name: str
    expected: str  # completes "expected …, found …", and the reference's type column
    json: Mapping[str, object]  # its JSON Schema


@dataclass(frozen=True)
class Key:
    """One key of a mapping: its kind, default (as it would be written) and meaning."""

    name: str
    kind: Kind
    doc: str
    default: object = None  # None: empty, or the model's own (see `doc`)
    required: bool = False
    attr: str = ""  # the model's field, when it is not named as the key is
    section: Section | None = None  # the keys of a mapping-valued key

    @property
    def field(self) -> str:
        """The model's field for this key."""
        return self.attr or self.name


@dataclass(frozen=True)
class Section:
    """A mapping with a fixed set of keys: book.yaml itself, `pdf:`, an essay's front matter…"""

    name: str  # its name in the JSON Schema's $defs and the reference
    title: str  # the reference's heading
    doc: str
    keys: tuple[Key, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The keys' names, in table order."""
        return tuple(key.name for key in self.keys)

    def __getitem__(self, name: str) -> Key:
        """The key called `name`."""
        return next(key for key in self.keys if key.name == name)

    def text_default(self, name: str) -> str:
        """A key's default as a string, for the model's dataclass."""
        default = self[name].default
        return default if isinstance(default, str) else ""

    def flag_default(self, name: str) -> bool:
        """A boolean key's default, for the model's dataclass."""
        return self[name].default is True


TEXT = Kind("text", "a string", _TEXT)
NAMES = Kind(
    "names", "a string or a list of strings", {"anyOf": [_TEXT, {"type": "array", "items": _TEXT}]}
)
LANGUAGE = Kind(
    "language",
    "a language tag such as en, en-GB or fr",
    {"type": "string", "pattern": f"^{LANGUAGE_RE.pattern}$"},
)
DATE = Kind(
    "date",
    DATE_EXPECTED,
    {
        "anyOf": [
            {"type": "string", "pattern": _DATE_PATTERN},
            {"type": "integer", "minimum": 1000, "maximum": 9999},  # a year, unquoted
        ]
    },
)
FLAG = Kind("flag", "true or false", {"type": "boolean"})
COVER = Kind(
    "cover", "a path to a JPEG or PNG", {"type": "string", "pattern": _suffixes(IMAGE_SUFFIXES)}
)
THEME = Kind("theme", "one of " + ", ".join(THEMES), {"enum": list(THEMES)})
ESSAY = Kind("essay", "an essay path or a mapping with path", _ESSAY)
ESSAY_PATH = Kind("essay_path", "a path to an essay", _ESSAY_PATH)
EPIGRAPH = Kind(
    "epigraph",
    "a string or a mapping with text and source",
    {"anyOf": [_TEXT, {"$ref": "#/$defs/epigraph"}]},
)
CONTENTS = Kind(
    "contents",
    "a list of essays and parts",
    {"type": "array", "minItems": 1, "items": {"anyOf": [_ESSAY, {"$ref": "#/$defs/part"}]}},
)
CHAPTERS = Kind("chapters", "a list of essays", {"type": "array", "minItems": 1, "items": _ESSAY})
MAPPING = Kind("mapping", "a mapping", {"type": "object"})  # see the key's section
TRIM = Kind(
    "trim",
    TRIM_EXPECTED,
    {"type": "string", "pattern": _spaced(f"(?:{_PRESETS}|{_SIZE})")},
)
LENGTH = Kind("length", LENGTH_EXPECTED, _LENGTH)
FONT_SIZE = Kind(
    "font_size",
    "a size in points such as 10.5pt or 11",
    {
        "anyOf": [
            {"type": "number", "minimum": FONT_SIZE_RANGE[0], "maximum": FONT_SIZE_RANGE[1]},
            {"type": "string", "pattern": _spaced(_any_case(rf"{_NUMBER}\s*pt"))},
        ]
    },
)
LINE_HEIGHT = Kind(
    "line_height",
    "a number such as 1.35",
    {"type": "number", "minimum": LINE_HEIGHT_RANGE[0], "maximum": LINE_HEIGHT_RANGE[1]},
)
FONT_FAMILY = Kind(
    "font_family",
    "a font family name (letters, digits, spaces, - . ')",
    {"type": "string", "pattern": _spaced(FONT_FAMILY_RE.pattern)},
)
PROFILE = Kind("profile", "one of " + ", ".join(PROFILES), {"enum": list(PROFILES)})
ISBN = Kind(
    "isbn",
    "an ISBN-13 or ISBN-10 such as 978-0-306-40615-7",
    {
        "anyOf": [
            {"type": "string", "pattern": _spaced(ISBN_RE.pattern)},
            {"type": "integer", "minimum": 10**9, "maximum": 10**13 - 1},  # digits, unquoted
        ]
    },
)
PRICE = Kind(
    "price",
    "five digits such as 51995 (USD 19.95)",
    {
        "anyOf": [
            {"type": "string", "pattern": _spaced(PRICE_RE.pattern)},
            {"type": "integer", "minimum": 10**4, "maximum": 10**5 - 1},
        ]
    },
)
PAPER_KIND = Kind(
    "paper",
    "white, cream, or a thickness per page such as 0.0023in",
    {"anyOf": [{"enum": list(PAPER)}, _LENGTH]},
)

_BIO = "Markdown: a line or two about the author, for the list of contributors"
ESSAY_META = Section(
    "essay-front-matter",
    "Essay front matter",
    "The YAML block between `---` lines at the top of an essay. Every key may also be set "
    "(and then wins) in book.yaml, in an essay's mapping under `contents`.",
    (
        Key("title", TEXT, "Markdown; else the essay's first `# Heading` (plain text: first line)"),
        Key("subtitle", TEXT, "Markdown, set under the title"),
        Key("author", NAMES, "who wrote it: a name or a list"),
        Key("translator", NAMES, "a name or a list"),
        Key("date", DATE, "when it was first published"),
        Key("source", TEXT, "where it was first published, for the list of sources"),
        Key("rights", TEXT, "its own copyright line, for the list of sources"),
        Key("bio", TEXT, _BIO),
        Key("epigraph", EPIGRAPH, "a quotation set under the title"),
        Key("language", LANGUAGE, "BCP 47, when it is not the book's language"),
    ),
)
EPIGRAPH_SECTION = Section(
    "epigraph",
    "Epigraph",
    "A quotation: a string, or this mapping. A text of several lines is set as verse.",
    (
        Key("text", TEXT, "Markdown; line breaks are kept", required=True),
        Key("source", TEXT, "who or where it is from, printed after an em dash"),
    ),
)
ESSAY_SECTION = Section(
    "essay",
    "Essay",
    "An essay: a path, or this mapping, whose other keys override the essay's front matter.",
    (Key("path", ESSAY_PATH, "relative to the book folder", required=True), *ESSAY_META.keys),
)
PART = Section(
    "part",
    "Part",
    "A titled group of essays in `contents`; parts do not nest.",
    (
        Key("part", TEXT, "the part's title (Markdown)", required=True, attr="title"),
        Key("chapters", CHAPTERS, "its essays, in reading order", required=True, attr="essays"),
        Key("subtitle", TEXT, "Markdown, set under the title"),
        Key("introduction", ESSAY, "an essay set right after the part title"),
    ),
)
FRONT = Section(
    "front-matter",
    "front_matter",
    "The pages before the first essay, in book order.",
    (
        Key("dedication", TEXT, "Markdown, set alone on a recto"),
        Key("epigraph", EPIGRAPH, "a quotation on its own page"),
        Key("foreword", ESSAY, 'titled "Foreword" unless the essay says otherwise'),
        Key("preface", ESSAY, 'titled "Preface" unless the essay says otherwise'),
        Key("introduction", ESSAY, 'titled "Introduction" unless the essay says otherwise'),
    ),
)
BACK = Section(
    "back-matter",
    "back_matter",
    "The pages after the last essay.",
    (
        Key("acknowledgements", ESSAY, 'titled "Acknowledgements" unless it says otherwise'),
        Key("afterword", ESSAY, 'titled "Afterword" unless the essay says otherwise'),
        Key("contributors", FLAG, "a generated list of authors, their essays and bios", True),
        Key("sources", FLAG, 'generated "first published in" lines', True),
    ),
)
MARGINS = Section(
    "margins",
    "pdf.margins",
    "The four margins of the text block; unset ones keep their defaults.",
    (
        Key("top", LENGTH, "above the running head", "0.75in"),
        Key("bottom", LENGTH, "below the text", "0.85in"),
        Key("inside", LENGTH, "the gutter side", "0.875in"),
        Key("outside", LENGTH, "the fore-edge side", "0.625in"),
    ),
)
PDF = Section(
    "pdf",
    "pdf",
    "Page geometry and type of the PDF (and the wrap cover's size).",
    (
        Key("trim", TRIM, "the page size (at most 200in a side, bleed included)", "6x9in"),
        Key("margins", MAPPING, "the margins of the text block", section=MARGINS),
        Key("font_size", FONT_SIZE, "the body type, in points (6pt to 24pt)", "10.5pt"),
        Key("line_height", LINE_HEIGHT, "times the font size (1 to 2.5)", 1.35),
        Key("font_family", FONT_FAMILY, "an installed face; unset: the theme's bundled face"),
        Key("profile", PROFILE, "where the PDF goes (see make_book.profiles)", "screen"),
        Key("bleed", FLAG, "print profiles: 0.125in beyond the trim (top, bottom, outside)", False),
        Key("paper", PAPER_KIND, "for the cover's spine: white, cream or inches per page", "white"),
    ),
)
BOOK = Section(
    "book",
    "book.yaml",
    "The book: its metadata, its contents and how it is printed. Paths are relative "
    "to the folder book.yaml is in.",
    (
        Key("title", TEXT, "Markdown", required=True),
        Key("subtitle", TEXT, "Markdown"),
        Key("editor", NAMES, "a name or a list", attr="editors"),
        Key("author", NAMES, "a name or a list (single-author collections)", attr="authors"),
        Key("translator", NAMES, "a name or a list", attr="translators"),
        Key("language", LANGUAGE, "BCP 47; sets hyphenation and quotation marks", "en"),
        Key("publisher", TEXT, "the publisher's name"),
        Key("date", DATE, "of publication; also the year of the copyright page"),
        Key("rights", TEXT, "the copyright line"),
        Key("identifier", TEXT, "ISBN or URN; derived from the title and names when unset"),
        Key(
            "isbn",
            ISBN,
            "checked; an ISBN-10 becomes ISBN-13: the copyright page, the EPUB's identifier"
            " (urn:isbn:…) and the wrap cover's barcode",
        ),
        Key("price", PRICE, "the barcode's price add-on (EAN-5): 51995 is USD 19.95; needs isbn"),
        Key("description", TEXT, "Markdown; also the back cover's text unless back_cover is set"),
        Key("back_cover", TEXT, "Markdown for the back of the wrap cover"),
        Key("subjects", NAMES, "a subject or a list"),
        Key("cover", COVER, "a JPEG or PNG; unset: a typographic cover is drawn"),
        Key(
            "theme", THEME, "a packaged theme; templates/ and styles/ override its files", "default"
        ),
        Key("contents", CONTENTS, "essays and parts, in reading order", required=True),
        Key("front_matter", MAPPING, "the pages before the first essay", section=FRONT),
        Key("back_matter", MAPPING, "the pages after the last essay", section=BACK),
        Key("pdf", MAPPING, "page size, margins and type", section=PDF),
    ),
)
# Every mapping, in the order the reference describes them.
SECTIONS = (BOOK, FRONT, BACK, PDF, MARGINS, PART, ESSAY_SECTION, EPIGRAPH_SECTION, ESSAY_META)

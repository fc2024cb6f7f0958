"""Which characters of a book its faces lack, and where each is written.

The faces are the families the print stylesheets declare (the bundled face's
@font-face rules, then the theme's `print.css`) and `pdf: font_family`, each read
from its files: the characters a face has are its cmap (fontTools), read once per
font file per process. Every text the book prints (titles, bodies, notes, bylines,
book.yaml's own) is checked against them, one set of characters per text, and a
missing character is found in its source files, line by line, for the warning.
"""

from __future__ import annotations

import functools
import html
import os
import re
import subprocess
import threading
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

import tinycss2
from tinycss2 import ast

from make_book.cache.memo import BlobMemo
from make_book.cache.remembered import Remembered
from make_book.model import Book, EpigraphText, Essay, Part
from make_book.render.weasy.session import font_faces_css
from make_book.render.weasy.urls import BOOK_URL, FONTS_URL
from make_book.theme import find_file, search_path

T = TypeVar("T")
LINES_SHOWN = 3  # lines named per file and character, then "and N more"
FILES_SHOWN = 4  # files named per character, then "and N more files"
CHARACTERS_SHOWN = 40  # characters with a warning each; the rest in one more warning
MAX_SOURCE_BYTES = 16 * 1024 * 1024  # a larger file is named without its lines
FIX = "set it in a font that has it: pdf.font_family, or a theme (docs/themes.md)"
FIX_MANY = "set them in a font that has them: pdf.font_family, or a theme (docs/themes.md)"

# Characters the layout never sets in a face of the book: spaces and line breaks,
# controls, format characters (soft hyphen, zero-width joiners and spaces, bidi
# marks), and the selectors and joiners that only choose or join glyphs.
_UNSET_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
_UNSET_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x180B, 0x180F),  # Mongolian variation selectors
    (0xFE00, 0xFE0F),  # variation selectors
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_TAG = re.compile(r"<[^>]*>")
_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.S)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.I)  # its block holds no braces
_ZIP = b"PK\x03\x04"  # a Word essay: no lines to name


@dataclass(frozen=True)
class Place:
    """Where a character is written: a file (relative to the book folder) and the
    first lines it is on, with how many more lines it is on (no lines: not found)."""

    file: str
    lines: tuple[int, ...] = ()
    more: int = 0

    def __str__(self) -> str:
        if not self.lines:
            return self.file
        word = "line" if len(self.lines) + self.more == 1 else "lines"
        shown = ", ".join(str(n) for n in self.lines)
        return f"{self.file} {word} {shown}" + (f" and {self.more} more" if self.more else "")


@dataclass(frozen=True)
class MissingGlyph:
    """A character none of the book's faces has, and where the book has it."""

    char: str
    places: tuple[Place, ...]

    def warning(self) -> str:
        """One line: the character, where it is, and how to set it."""
        shown = [str(p) for p in self.places[:FILES_SHOWN]]
        if len(self.places) > FILES_SHOWN:
            shown.append(f"and {len(self.places) - FILES_SHOWN} more files")
        where = "; ".join(shown)
        return f"{describe(self.char)} is not in the book's typeface: {where}; {FIX}"


def describe(char: str) -> str:
    """`U+2E3A '⸺' TWO-EM DASH`; a combining mark shown on a dotted circle."""
    code = f"U+{ord(char):04X}"
    shown = f"\u25cc{char}" if unicodedata.category(char).startswith("M") else char
    name = unicodedata.name(char, "")
    if not name:
        kind = "private use" if unicodedata.category(char) == "Co" else "unassigned or unnamed"
        name = f"(no Unicode name: {kind})"
    return f"{code} '{shown}' {name}"


def warning_lines(missing: list[MissingGlyph]) -> list[str]:
    """One warning per missing character, the first CHARACTERS_SHOWN of them; then one
    for the rest, with the files they are in."""
    lines = [m.warning() for m in missing[:CHARACTERS_SHOWN]]
    rest = missing[CHARACTERS_SHOWN:]
    if rest:
        files = list(dict.fromkeys(p.file for m in rest for p in m.places))
        shown = ", ".join(files[:FILES_SHOWN])
        if len(files) > FILES_SHOWN:
            shown += f" and {len(files) - FILES_SHOWN} more files"
        first, last = describe(rest[0].char), describe(rest[-1].char)
        lines.append(
            f"{len(rest):,} more characters are not in the book's typeface ({first} to {last}),"
            f" in {shown}; {FIX_MANY}"
        )
    return lines


# The faces


def book_faces(book: Book, font_family: str = "") -> dict[str, tuple[Path, ...]]:
    """Each family the PDF's stylesheets declare (the bundled face's, the theme's
    `print.css`), with its font files; then `font_family` if it is not one of them,
    with its installed files (fontconfig). A family with no file found has none.
    Found once per book (object) and family."""
    return dict(per_book(book, ("faces", font_family), lambda: _book_faces(book, font_family)))


def _book_faces(book: Book, font_family: str) -> dict[str, tuple[Path, ...]]:
    css = font_faces_css() + find_file(book, "print.css").read_text("utf-8")
    faces = declared_faces(css, book)
    if font_family and font_key(font_family) not in {font_key(f) for f in faces}:
        faces[font_family] = installed_files(font_family)
    return faces


def font_key(name: str) -> str:
    """A family or PDF font name compared as the PDF spells it: lowercase, alphanumerics."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def declared_faces(css: str, book: Book) -> dict[str, tuple[Path, ...]]:
    """The @font-face rules of `css`: each family with the files its rules load (the
    first source of each rule that is a file, as the layout's fetcher finds it).

    Only the @font-face blocks are parsed (tinycss2), wherever they are (inside
    @media too), not the whole stylesheet: that would cost more than the rest of
    the check. (An at-keyword written with a CSS escape is not found.)"""
    blocks = "\n".join(m.group() for m in _FONT_FACE.finditer(_COMMENT.sub("", css)))
    faces: dict[str, list[Path]] = {}
    for rule in tinycss2.parse_stylesheet(blocks, skip_comments=True, skip_whitespace=True):
        if not isinstance(rule, ast.AtRule):
            continue
        family, sources = _face(rule)
        if not family:
            continue
        files = faces.setdefault(family, [])
        found = next((p for p in (_font_file(u, book) for u in sources) if p), None)
        if found is not None and found not in files:
            files.append(found)
    return {family: tuple(files) for family, files in faces.items()}


def _face(rule: ast.AtRule) -> tuple[str, list[str]]:
    """A rule's family and the URLs of its `src`, in order (local() sources left out)."""
    family, urls = "", []
    for d in tinycss2.parse_blocks_contents(rule.content or [], True, True):
        if not isinstance(d, ast.Declaration):
            continue
        if d.lower_name == "font-family":
            strings = [t.value for t in d.value if isinstance(t, ast.StringToken)]
            idents = [t.value for t in d.value if isinstance(t, ast.IdentToken)]
            family = strings[0] if strings else " ".join(idents)
        elif d.lower_name == "src":
            urls += [u for u in map(_url, d.value) if u]
    return family, urls


def _url(token: ast.Node) -> str:
    if isinstance(token, ast.URLToken):
        return str(token.value)
    if isinstance(token, ast.FunctionBlock) and token.lower_name in {"url", "src"}:
        strings = [t.value for t in token.arguments if isinstance(t, ast.StringToken)]
        return strings[0] if strings else ""
    return ""


def _font_file(url: str, book: Book) -> Path | None:
    """The file a font URL names, as the layout's fetcher serves it: under the font
    root, the first font folder that has it; under the book's, the book folder's."""
    absolute = urljoin(BOOK_URL, url)
    if absolute.startswith(FONTS_URL):
        roots, prefix = search_path(book), FONTS_URL
    elif absolute.startswith(BOOK_URL):
        roots, prefix = (book.root,), BOOK_URL
    else:
        return None
    relative = unquote(urlsplit(absolute).path[len(urlsplit(prefix).path) :])
    for root in roots:
        try:
            base = root.resolve()
            target = (base / relative).resolve()
            if target.is_relative_to(base) and target.is_file():
                return target
        except (OSError, RuntimeError, ValueError):
            continue
    return None


@functools.cache
def installed_files(family: str) -> tuple[Path, ...]:
    """The files of an installed family, as fontconfig lists them (none: not installed,
    or fontconfig's `fc-list` cannot be run)."""
    escaped = re.sub(r"([\\\-:,=])", r"\\\1", family)
    try:
        done = subprocess.run(
            ["fc-list", "--format=%{file}\\n", f":family={escaped}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(sorted({Path(line) for line in done.stdout.splitlines() if line}))


def coverage(files: Iterable[Path]) -> frozenset[int]:
    """The code points the fonts `files` have between them (their cmaps); a file that
    cannot be read as a font has none."""
    found: set[int] = set()
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        found |= _cmap(path, stat.st_mtime_ns, stat.st_size)
    return frozenset(found)


@functools.cache
def _cmap(path: Path, mtime: int, size: int) -> frozenset[int]:
    """A font file's cmap, read once per file (and version of it) per process."""
    from fontTools.ttLib import TTFont  # imported here: only a PDF build reads a cmap

    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            # Glyphs numbered, not named: naming them would parse a CFF face's whole
            # charset (five times the time), and only the code points are wanted.
            font.setGlyphOrder([f"g{i}" for i in range(font["maxp"].numGlyphs)])
            return frozenset(font.getBestCmap() or ())
    except Exception:  # noqa: BLE001 - anything fontTools raises: a file it cannot read
        return frozenset()


# The book's characters


@dataclass(frozen=True)
class _Text:
    """What the book prints from one file: its display name, path and characters."""

    file: str
    path: Path
    chars: frozenset[str]


def missing_glyphs(
    book: Book,
    manifest_path: Path,
    covered: frozenset[int],
    located: int = CHARACTERS_SHOWN,
    cache_dir: Path | None = None,
) -> list[MissingGlyph]:
    """Every character the book prints that no code point of `covered` sets, by code
    point, each with the files it is in and, for the first `located` (those with a
    warning of their own), the lines. A character not found in its essay's file (a
    title given in book.yaml) is looked for in book.yaml. `cache_dir`: printed_texts'."""
    manifest, *essays = printed_texts(book, manifest_path, cache_dir)
    every = manifest.chars.union(*(t.chars for t in essays))
    missing = sorted(ch for ch in every if not _covered(ch, covered))
    if not missing:
        return []
    locate = frozenset(missing[:located])
    places: dict[str, list[Place]] = {ch: [] for ch in missing}
    unfound: list[tuple[str, str]] = []  # (character, file) not found on any line
    for text in (manifest, *essays):
        wanted = text.chars.intersection(places)
        found = find_lines(text.path, wanted & locate) if wanted & locate else {}
        for ch in sorted(wanted):
            if ch in found or ch not in locate:
                places[ch].append(_place(text.file, found.get(ch, [])))
            elif text is manifest:
                places[ch].append(Place(text.file))
            else:
                unfound.append((ch, text.file))
    in_manifest = {ch for ch, _ in unfound}
    found = find_lines(manifest_path, in_manifest) if in_manifest else {}
    for ch, file in unfound:
        if ch not in found:  # not in book.yaml either: the file alone
            places[ch].append(Place(file))
        elif not any(p.file == manifest.file for p in places[ch]):
            places[ch].insert(0, _place(manifest.file, found[ch]))
    return [MissingGlyph(ch, tuple(places[ch])) for ch in missing]


def printed_texts(book: Book, manifest_path: Path, cache_dir: Path | None = None) -> list[_Text]:
    """What the book prints, file by file, book.yaml's first: read once per book (the
    build reads it in a thread while the layout waits for its workers). An essay's
    characters are remembered in the cache at `cache_dir` by its fingerprint: an edit
    reads the one essay that changed (the rest took 0.025 s of a 300-essay book's)."""

    def read() -> list[_Text]:
        manifest = _Text(_display(book, manifest_path), manifest_path, _chars(_book_texts(book)))
        remembered = Remembered(BlobMemo(cache_dir, "essays"), _CHARACTERS)  # None: none kept
        texts = [manifest] + [
            _Text(_display(book, e.source_path), e.source_path, _essay_chars(e, remembered))
            for e in book.all_texts
        ]
        remembered.keep()
        return texts

    return list(per_book(book, ("texts", manifest_path), read))


# The cache entry of the essays' characters: composed as this Python's Unicode composes.
_CHARACTERS = f"printed characters, NFC, Unicode {unicodedata.unidata_version}"


def _essay_chars(essay: Essay, remembered: Remembered) -> frozenset[str]:
    digest = bytes.fromhex(essay.fingerprint)
    known = remembered.get(digest)
    if known is not None:
        return frozenset(known.decode("utf-8", "surrogatepass"))
    chars = _chars(_essay_texts(essay))
    remembered.put(digest, "".join(sorted(chars)).encode("utf-8", "surrogatepass"))
    return chars


class _PerBook:
    """What was found for one book: a new build's book is a new object, found anew."""

    def __init__(self, book: Book) -> None:
        self.book = weakref.ref(book)
        self.found: dict[tuple[str, object], Any] = {}


_PER_BOOK: list[_PerBook] = []
_PER_BOOK_LOCK = threading.Lock()


def per_book(book: Book, key: tuple[str, object], find: Callable[[], T]) -> T:
    """`find()`, once per book and key (from two threads at once, perhaps twice): what
    one build found out about its book, kept while the build lasts."""
    with _PER_BOOK_LOCK:
        if not _PER_BOOK or _PER_BOOK[0].book() is not book:
            _PER_BOOK[:] = [_PerBook(book)]
        record = _PER_BOOK[0]
        if key in record.found:
            return record.found[key]  # type: ignore[no-any-return]
    found = find()  # not under the lock: the other thread may find its own meanwhile
    record.found[key] = found
    return found


def _place(file: str, lines: list[int]) -> Place:
    return Place(file, tuple(lines[:LINES_SHOWN]), max(0, len(lines) - LINES_SHOWN))


def _covered(ch: str, covered: frozenset[int]) -> bool:
    """Whether the layout sets `ch` from the faces: it is in one, or is never set in a
    face, or its decomposition is (HarfBuzz then sets the letter and its marks)."""
    code = ord(ch)
    if code in covered or is_unset(ch):
        return True
    parts = unicodedata.normalize("NFD", ch)
    return len(parts) > 1 and all(ord(p) in covered or is_unset(p) for p in parts)


def is_unset(ch: str) -> bool:
    """A character the layout never sets in the book's face (see _UNSET_CATEGORIES)."""
    if ch.isspace() or unicodedata.category(ch) in _UNSET_CATEGORIES:
        return True
    code = ord(ch)
    return any(low <= code <= high for low, high in _UNSET_RANGES)


def _chars(fragments: Iterable[str]) -> frozenset[str]:
    """The characters of HTML or plain fragments as printed: tags left out, entities
    decoded, composed (NFC) as HarfBuzz composes them when the face has the letter."""
    found: set[str] = set()
    for fragment in fragments:
        if fragment:
            found.update(_plain(fragment))
    return frozenset(found)


def _plain(fragment: str) -> str:
    text = _TAG.sub("", fragment) if "<" in fragment else fragment
    if "&" in text:
        text = html.unescape(text)
    return _composed(text)


def _essay_texts(essay: Essay) -> Iterator[str]:
    yield from (essay.title_html, essay.subtitle_html, essay.body_html, essay.bio_html)
    yield from (essay.date, essay.source, essay.rights, *essay.authors, *essay.translators)
    yield from (note.html for note in essay.footnotes)
    yield from _epigraph(essay.epigraph)


def _book_texts(book: Book) -> Iterator[str]:
    meta = book.meta
    yield from (meta.title_html or meta.title, meta.subtitle_html or meta.subtitle)
    yield from (meta.dedication_html, meta.publisher, meta.rights, meta.date, meta.year)
    yield from (*meta.editors, *meta.authors, *meta.translators)
    yield from _epigraph(meta.epigraph)
    for item in book.contents:
        if isinstance(item, Part):
            yield from (item.title_html, item.subtitle_html)


def _epigraph(epigraph: EpigraphText | None) -> tuple[str, ...]:
    return (epigraph.html, epigraph.source_html) if epigraph else ()


def _display(book: Book, path: Path) -> str:
    """A file as the author wrote it: relative to the book folder."""
    try:
        return Path(os.path.relpath(path, book.root)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()


def find_lines(path: Path, chars: Iterable[str]) -> dict[str, list[int]]:
    """The lines of the file `path` each of `chars` is on (written as itself or as an
    HTML entity), in one pass; a character not found is left out. Lines count from 1,
    front matter included, as an editor counts them."""
    wanted = frozenset(chars)
    text = _read_text(path) if wanted else None
    if text is None:
        return {}
    any_ascii = any(ch.isascii() for ch in wanted)
    lines: dict[str, list[int]] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if line.isascii() and not any_ascii and "&" not in line:
            continue
        for ch in wanted.intersection(_plain(line) if "&" in line else _composed(line)):
            lines.setdefault(ch, []).append(number)
    return lines


def _composed(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _read_text(path: Path) -> str | None:
    """A source file's text, or None (a Word file, unreadable, or too large)."""
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    if raw.startswith(_ZIP):
        return None
    text = raw.decode("utf-8-sig", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")

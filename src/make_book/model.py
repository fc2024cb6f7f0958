"""The Book model: what every renderer receives, with nothing specific to one format."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

URN_ISBN = "urn:isbn:"  # the identifier of a book with an ISBN, as book.yaml's loader writes it


@dataclass(frozen=True)
class Footnote:
    """A note whose call sits in an essay's text."""

    number: int  # 1-based, restarting in each essay
    id: str  # namespaced id of the note itself
    ref_id: str  # namespaced id of its call in the text
    html: str  # block content (paragraphs)


@dataclass(frozen=True)
class EpigraphText:
    """A quotation with its attribution, already turned into HTML."""

    html: str
    source_html: str = ""


@dataclass(frozen=True)
class Essay:
    """One essay (or foreword, introduction…): metadata and an HTML fragment."""

    slug: str  # unique in the book; also the id of the essay's opening
    kind: str  # essay, foreword, preface, introduction, part-introduction, acknowledgements…
    title: str  # plain text, for metadata, bookmarks and running heads
    title_html: str  # inline HTML (may carry <em>)
    source_path: Path
    body_html: str  # ids namespaced under slug; footnote calls are a.noteref
    subtitle_html: str = ""
    authors: tuple[str, ...] = ()
    translators: tuple[str, ...] = ()
    date: str = ""
    source: str = ""  # where it first appeared
    rights: str = ""
    bio_html: str = ""
    language: str = ""  # empty: the book's language
    epigraph: EpigraphText | None = None
    footnotes: tuple[Footnote, ...] = ()
    images: tuple[Path, ...] = ()  # files the body's <img> elements use, relative to the root
    word_count: int = 0

    @property
    def byline(self) -> str:
        """The authors as printed under the title."""
        return join_names(self.authors)

    @functools.cached_property
    def fingerprint(self) -> str:
        """The sha256 of everything the essay holds (its repr), made once: what the keys
        of pages made from it take (a dataclass's repr is slow, and an edit's EPUB keys
        every essay twice). Frozen, the essay cannot change under it."""
        return hashlib.sha256(repr(self).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Part:
    """A titled group of essays."""

    slug: str
    title: str
    title_html: str
    essays: tuple[Essay, ...]
    subtitle_html: str = ""
    introduction: Essay | None = None

    @property
    def all_essays(self) -> tuple[Essay, ...]:
        """The introduction (when there is one) followed by the essays."""
        return ((self.introduction,) if self.introduction else ()) + self.essays


@dataclass(frozen=True)
class BookMeta:
    """Book-level metadata, ready to print."""

    title: str
    subtitle: str
    editors: tuple[str, ...]
    authors: tuple[str, ...]
    translators: tuple[str, ...]
    language: str
    publisher: str
    date: str  # ISO 8601 as written; may be empty
    year: str  # for the copyright line
    modified: str  # UTC timestamp YYYY-MM-DDThh:mm:ssZ, never the clock (see assemble)
    rights: str
    identifier: str
    description: str
    subjects: tuple[str, ...]
    cover: Path | None  # absolute path of the user's cover image
    title_html: str = ""
    subtitle_html: str = ""
    dedication_html: str = ""
    epigraph: EpigraphText | None = None

    @property
    def modified_time(self) -> dt.datetime:
        """`modified` as a UTC datetime."""
        when = dt.datetime.strptime(self.modified, "%Y-%m-%dT%H:%M:%SZ")
        return when.replace(tzinfo=dt.timezone.utc)

    @property
    def creators(self) -> tuple[str, ...]:
        """Who the book is by: its authors, else its editors."""
        return self.authors or self.editors

    @property
    def isbn(self) -> str:
        """The book's ISBN-13 as 13 digits when its identifier is one (urn:isbn:…), else ""."""
        digits = self.identifier.removeprefix(URN_ISBN)
        is_isbn = self.identifier.startswith(URN_ISBN) and len(digits) == 13 and digits.isdigit()
        return digits if is_isbn else ""

    @property
    def isbn_hyphenated(self) -> str:
        """The ISBN as it is printed, 978-0-306-40615-7 ("" without one)."""
        if not self.isbn:
            return ""
        # Imported only for a book with an ISBN: python-stdnum brings pydoc and ssl with
        # it, 0.015 s and 3 MB of every build's own process otherwise.
        from stdnum import isbn as stdnum_isbn

        return str(stdnum_isbn.format(self.isbn))


@dataclass(frozen=True)
class Contributor:
    """An essay author, the essays they wrote, and their bio."""

    name: str
    essays: tuple[Essay, ...]
    bio_html: str = ""


@dataclass(frozen=True)
class Book:
    """The whole book, in reading order."""

    meta: BookMeta
    root: Path
    front: tuple[Essay, ...]  # foreword, preface, introduction
    contents: tuple[Essay | Part, ...]
    back: tuple[Essay, ...]  # afterword, acknowledgements
    show_contributors: bool = True
    show_sources: bool = True
    theme_dirs: tuple[Path, ...] = field(default_factory=tuple)  # project overrides first
    theme: str = "default"  # the packaged theme under them (book.yaml's `theme:`)

    @property
    def essays(self) -> tuple[Essay, ...]:
        """Every essay of the main matter, parts flattened, in order."""
        out: list[Essay] = []
        for item in self.contents:
            out.extend(item.all_essays if isinstance(item, Part) else (item,))
        return tuple(out)

    @property
    def all_texts(self) -> tuple[Essay, ...]:
        """Front matter, main matter and back matter essays, in order."""
        return self.front + self.essays + self.back

    @property
    def contributors(self) -> tuple[Contributor, ...]:
        """Named essay authors, in order of first appearance (Anonymous is not listed)."""
        order: dict[str, list[Essay]] = {}
        bios: dict[str, str] = {}
        for essay in self.essays:
            for name in essay.authors:
                if name.casefold() in {"anonymous", "anon.", "unknown"}:
                    continue
                order.setdefault(name, []).append(essay)
                if essay.bio_html and len(essay.authors) == 1:
                    bios.setdefault(name, essay.bio_html)
        return tuple(Contributor(n, tuple(e), bios.get(n, "")) for n, e in order.items())

    @property
    def contributors_page(self) -> tuple[Contributor, ...]:
        """What the generated Contributors page lists (nothing when it is switched off)."""
        return self.contributors if self.show_contributors else ()

    @property
    def sources_page(self) -> tuple[Essay, ...]:
        """What the generated Sources page lists (nothing when it is switched off)."""
        return self.sourced_essays if self.show_sources else ()

    @property
    def sourced_essays(self) -> tuple[Essay, ...]:
        """Essays with a first-publication or rights line, for the sources page."""
        return tuple(e for e in self.all_texts if e.source or e.rights)


def join_names(names: tuple[str, ...] | list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    names = list(names)
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]

"""The validated manifest: what book.yaml says, as frozen dataclasses.

What each key means, and its default, is declared once, in the table in
schema.py (the reference, docs/book-yaml.md, is written from it); the defaults
here are read from that table. Fields hold values once read: lengths in inches,
sizes in points, names as tuples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from make_book.source.schema import BACK, BOOK, MARGINS, PAPER, PDF, length, trim_size


def _inches(text: str) -> float:
    """A default length from the table, in inches."""
    inches = length(text)
    assert inches is not None, text
    return inches


def _trim(text: str) -> tuple[float, float]:
    """The default page size from the table, in inches."""
    size = trim_size(text)
    assert size is not None, text
    return size


def _number(value: object) -> float:
    """A default number from the table (a font size may be written `10.5pt`)."""
    assert isinstance(value, (str, int, float)), value
    return float(str(value).removesuffix("pt"))


@dataclass(frozen=True)
class Where:
    """Where in book.yaml a value was written (1-based line and column)."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class Epigraph:
    """A short quotation set on its own page."""

    text: str  # Markdown, may span lines (verse keeps its line breaks)
    source: str = ""  # who or where it is from, printed after an em dash


@dataclass(frozen=True)
class EssayRef:
    """One essay named in `contents` (or as front/back matter)."""

    path: str  # as written in book.yaml, relative to the book folder
    where: Where
    # Values written in book.yaml win over the essay's own front matter.
    overrides: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class PartRef:
    """`{part: "Title", chapters: [...]}`: a titled group of essays."""

    title: str
    where: Where
    essays: tuple[EssayRef, ...]
    subtitle: str = ""
    introduction: EssayRef | None = None  # an essay set right after the part title


@dataclass(frozen=True)
class PdfSettings:
    """The `pdf:` mapping: page geometry and type."""

    trim: tuple[float, float] = _trim(PDF.text_default("trim"))  # width, height in inches
    margin_top: float = _inches(MARGINS.text_default("top"))
    margin_bottom: float = _inches(MARGINS.text_default("bottom"))
    margin_inside: float = _inches(MARGINS.text_default("inside"))
    margin_outside: float = _inches(MARGINS.text_default("outside"))
    font_size: float = _number(PDF["font_size"].default)  # points
    line_height: float = _number(PDF["line_height"].default)
    font_family: str = PDF.text_default("font_family")
    profile: str = PDF.text_default("profile")
    bleed: bool = PDF.flag_default("bleed")
    paper: str = PDF.text_default("paper")
    paper_thickness: float = PAPER[PDF.text_default("paper")]  # inches per page, from `paper`


@dataclass(frozen=True)
class FrontMatter:
    """`front_matter:` the pages before the first essay, in book order."""

    dedication: str = ""  # Markdown, set alone on a recto
    epigraph: Epigraph | None = None
    foreword: EssayRef | None = None  # titled "Foreword" unless the essay says otherwise
    preface: EssayRef | None = None
    introduction: EssayRef | None = None


@dataclass(frozen=True)
class BackMatter:
    """`back_matter:` pages after the last essay."""

    acknowledgements: EssayRef | None = None
    afterword: EssayRef | None = None
    contributors: bool = BACK.flag_default("contributors")
    sources: bool = BACK.flag_default("sources")


@dataclass(frozen=True)
class Manifest:
    """Everything book.yaml says about one book."""

    path: Path  # the book.yaml file itself
    title: str
    contents: tuple[EssayRef | PartRef, ...]
    subtitle: str = ""
    editors: tuple[str, ...] = ()  # `editor:`
    authors: tuple[str, ...] = ()  # `author:`
    translators: tuple[str, ...] = ()  # `translator:`
    language: str = BOOK.text_default("language")
    publisher: str = ""
    date: str = ""  # YYYY, YYYY-MM or YYYY-MM-DD
    rights: str = ""
    identifier: str = ""  # urn:isbn:… when the book has an ISBN
    isbn: str = ""  # ISBN-13, its 13 digits (`isbn:`, or `identifier: urn:isbn:…`)
    price: str = ""  # the barcode's 5-digit price add-on (EAN-5)
    description: str = ""
    back_cover: str = ""
    subjects: tuple[str, ...] = ()
    cover: str = ""  # the path as written
    theme: str = BOOK.text_default("theme")
    front_matter: FrontMatter = field(default_factory=FrontMatter)
    back_matter: BackMatter = field(default_factory=BackMatter)
    pdf: PdfSettings = field(default_factory=PdfSettings)

    @property
    def root(self) -> Path:
        """The book folder: paths in book.yaml are relative to it."""
        return self.path.parent

    @property
    def essay_refs(self) -> list[EssayRef]:
        """Every essay the book names: front matter, contents (parts' too), back matter."""
        front, back = self.front_matter, self.back_matter
        refs = [front.foreword, front.preface, front.introduction]
        for item in self.contents:
            if isinstance(item, PartRef):
                refs += [item.introduction, *item.essays]
            else:
                refs.append(item)
        refs += [back.acknowledgements, back.afterword]
        return [ref for ref in refs if ref is not None]

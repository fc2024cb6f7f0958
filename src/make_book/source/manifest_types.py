"""The validated manifest: what book.yaml says, as frozen dataclasses.

Each field is documented where it is defined, so this module doubles as the
reference for book.yaml (the README points here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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

    trim: tuple[float, float] = (6.0, 9.0)  # width, height in inches; `6x9in`, `a5`, `148x210mm`
    margin_top: float = 0.75  # inches
    margin_bottom: float = 0.85
    margin_inside: float = 0.875  # the gutter side
    margin_outside: float = 0.625
    font_size: float = 10.5  # points
    line_height: float = 1.35  # times the font size
    font_family: str = ""  # empty: the theme's bundled face
    profile: str = "screen"  # screen, kdp, ingram or archive (see make_book.profiles)
    bleed: bool = False  # print profiles: 0.125in beyond the trim on top, bottom and outside
    paper: str = "white"  # for the cover's spine: white, cream, or inches per page
    paper_thickness: float = 0.002252  # inches per page, from `paper`


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
    contributors: bool = True  # generated list of authors, their essays and bios
    sources: bool = True  # generated "first published in" lines


@dataclass(frozen=True)
class Manifest:
    """Everything book.yaml says about one book."""

    path: Path  # the book.yaml file itself
    title: str
    contents: tuple[EssayRef | PartRef, ...]
    subtitle: str = ""
    editors: tuple[str, ...] = ()  # `editor:` a name or a list
    authors: tuple[str, ...] = ()  # `author:` a name or a list (single-author collections)
    translators: tuple[str, ...] = ()
    language: str = "en"  # BCP 47, e.g. en, en-GB, fr, de-CH
    publisher: str = ""
    date: str = ""  # ISO 8601 (YYYY, YYYY-MM or YYYY-MM-DD)
    rights: str = ""  # the copyright line
    identifier: str = ""  # ISBN or URN; derived from the title when empty
    description: str = ""  # also the back cover's text unless back_cover is given
    back_cover: str = ""  # Markdown for the back of the wrap cover
    subjects: tuple[str, ...] = ()
    cover: str = ""  # path to a JPEG or PNG; a typographic cover is drawn when empty
    theme: str = "default"
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

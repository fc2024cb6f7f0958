"""Tests for reading and validating book.yaml."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from PIL import Image

from make_book.errors import ManifestError
from make_book.source.manifest import load_manifest
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
from make_book.theme import packaged_themes

FILES = (
    "chapters/one.md",
    "chapters/two.md",
    "chapters/three.markdown",
    "chapters/four.html",
    "intro.md",
    "foreword.md",
    "thanks.txt",
    "notes.doc",
    "cover.jpg",
    "cover.gif",
)
BOOK = Path("book.yaml")


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A book folder holding FILES, made the working directory so messages read book.yaml."""
    folder = tmp_path / "book"
    for name in FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("# An essay\n", encoding="utf-8")
    Image.new("RGB", (4, 6), "white").save(folder / "cover.jpg")  # the manifest reads it whole
    (tmp_path / "outside.md").write_text("# Elsewhere\n", encoding="utf-8")
    monkeypatch.chdir(folder)
    return folder


def write(text: str | bytes) -> Path:
    """Write book.yaml, exactly as given, in the current folder and return its path."""
    BOOK.write_bytes(text.encode() if isinstance(text, str) else text)
    return BOOK


def dedent(text: str) -> str:
    """A triple-quoted YAML snippet without its indentation and leading newline."""
    return textwrap.dedent(text).lstrip("\n")


def problems(text: str | bytes) -> list[str]:
    """The str() of every problem load_manifest reports for `text`."""
    with pytest.raises(ManifestError) as caught:
        load_manifest(write(text))
    return [str(p) for p in caught.value.problems]


def at(line: int, column: int) -> Where:
    """A Where in book.yaml."""
    return Where("book.yaml", line, column)


FULL = """\
title: The Long Afternoon
subtitle: Essays on Idleness
editor: Ada Byron
author: [Ann One, Bo Two]
translator: Cy Three
language: en-GB
publisher: Small Press
date: 2025-03-01
rights: © 2025 the authors
identifier: 9780000000002
description: |
  A book about
  doing nothing.
subjects: Essays
cover: cover.jpg
theme: default
front_matter:
  dedication: For M.
  epigraph:
    text: |
      Idleness is not
      doing nothing.
    source: Someone
  foreword: foreword.md
back_matter:
  acknowledgements: thanks.txt
  contributors: false
pdf:
  trim: a5
  margins: {top: 18mm, bottom: 1in, inside: 2cm, outside: 36pt}
  font_size: 11pt
  line_height: 1.4
  font_family: EB Garamond
contents:
  - chapters/one.md
  - path: chapters/two.md
    title: Second
    author: Di Four
    date: 2024
  - part: Part Two
    subtitle: Later
    introduction: intro.md
    chapters:
      - chapters/three.markdown
      - path: chapters/four.html
        translator: [Ed Five, Flo Six]
        epigraph: Be still.
"""


def test_full_manifest(book: Path) -> None:
    manifest = load_manifest(write(FULL))
    mm = 1 / 25.4
    assert manifest == Manifest(
        path=BOOK,
        title="The Long Afternoon",
        subtitle="Essays on Idleness",
        editors=("Ada Byron",),
        authors=("Ann One", "Bo Two"),
        translators=("Cy Three",),
        language="en-GB",
        publisher="Small Press",
        date="2025-03-01",
        rights="© 2025 the authors",
        identifier="9780000000002",
        description="A book about\ndoing nothing.",
        subjects=("Essays",),
        cover="cover.jpg",
        theme="default",
        front_matter=FrontMatter(
            dedication="For M.",
            epigraph=Epigraph("Idleness is not\ndoing nothing.", "Someone"),
            foreword=EssayRef("foreword.md", at(24, 13)),
        ),
        back_matter=BackMatter(
            acknowledgements=EssayRef("thanks.txt", at(26, 21)), contributors=False
        ),
        pdf=PdfSettings(
            trim=(148 * mm, 210 * mm),
            margin_top=18 * mm,
            margin_bottom=1.0,
            margin_inside=2 / 2.54,
            margin_outside=0.5,
            font_size=11.0,
            line_height=1.4,
            font_family="EB Garamond",
        ),
        contents=(
            EssayRef("chapters/one.md", at(35, 5)),
            EssayRef(
                "chapters/two.md",
                at(36, 11),
                {"title": "Second", "author": ("Di Four",), "date": "2024"},
            ),
            PartRef(
                title="Part Two",
                where=at(40, 5),
                subtitle="Later",
                introduction=EssayRef("intro.md", at(42, 19)),
                essays=(
                    EssayRef("chapters/three.markdown", at(44, 9)),
                    EssayRef(
                        "chapters/four.html",
                        at(45, 15),
                        {"translator": ("Ed Five", "Flo Six"), "epigraph": Epigraph("Be still.")},
                    ),
                ),
            ),
        ),
    )
    assert manifest.root == Path(".")


def test_minimal_manifest_gets_defaults(book: Path) -> None:
    manifest = load_manifest(write("title: T\ncontents: [chapters/one.md]\n"))
    assert manifest == Manifest(
        path=BOOK, title="T", contents=(EssayRef("chapters/one.md", at(2, 12)),)
    )


def test_plain_scalars_are_taken_as_written(book: Path) -> None:
    text = """
    title: 1984
    language: no
    date: 2025
    author: [yes, 3.10]
    contents: [chapters/one.md]
    """
    manifest = load_manifest(write(dedent(text)))
    assert (manifest.title, manifest.language, manifest.date) == ("1984", "no", "2025")
    assert manifest.authors == ("yes", "3.10")


def test_absolute_book_path_and_problem_file(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("x", encoding="utf-8")
    path = tmp_path / "book.yaml"
    path.write_text("title: T\ncontents: [a.md, b.md]\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:2:18: contents[1]: no such file 'b.md'"
    ]


def test_part_with_introduction_and_overrides(book: Path) -> None:
    text = """
    title: T
    contents:
      - part: One
        introduction:
          path: intro.md
          title: Before
          bio: She writes.
          source: The Review, 2020
          rights: CC BY
          subtitle: S
        chapters: [chapters/one.md, chapters/two.md]
    """
    (part,) = load_manifest(write(dedent(text))).contents
    assert isinstance(part, PartRef)
    assert part.introduction == EssayRef(
        "intro.md",
        at(5, 13),
        {
            "title": "Before",
            "subtitle": "S",
            "source": "The Review, 2020",
            "rights": "CC BY",
            "bio": "She writes.",
        },
    )
    assert [e.path for e in part.essays] == ["chapters/one.md", "chapters/two.md"]


def test_override_epigraph_mapping_and_dates(book: Path) -> None:
    text = """
    title: T
    contents:
      - path: chapters/one.md
        epigraph: {text: Hush., source: Anon}
        date: "2020-05"
        author: Solo
    """
    (essay,) = load_manifest(write(dedent(text))).contents
    assert isinstance(essay, EssayRef)
    assert essay.overrides == {
        "author": ("Solo",),
        "date": "2020-05",
        "epigraph": Epigraph("Hush.", "Anon"),
    }


@pytest.mark.parametrize(
    ("trim", "inches"),
    [
        ("6x9in", (6.0, 9.0)),
        ("5.5x8.5in", (5.5, 8.5)),
        ("5x8in", (5.0, 8.0)),
        ("5.25x8in", (5.25, 8.0)),
        ("6.14x9.21in", (6.14, 9.21)),
        ("7x10in", (7.0, 10.0)),
        ("8.5x11in", (8.5, 11.0)),
        ("letter", (8.5, 11.0)),
        ("A4", (210 / 25.4, 297 / 25.4)),
        ("a5", (148 / 25.4, 210 / 25.4)),
        ("b5", (176 / 25.4, 250 / 25.4)),
        ("148x210mm", (148 / 25.4, 210 / 25.4)),
        ("6 x 9 in", (6.0, 9.0)),
        ("15.6X23.4cm", (15.6 / 2.54, 23.4 / 2.54)),
        ("432x648pt", (6.0, 9.0)),
    ],
)
def test_trim(book: Path, trim: str, inches: tuple[float, float]) -> None:
    manifest = load_manifest(write(f"title: T\ncontents: [intro.md]\npdf: {{trim: {trim}}}\n"))
    assert manifest.pdf.trim == pytest.approx(inches)


def test_margins_and_type(book: Path) -> None:
    text = """
    title: T
    contents: [intro.md]
    pdf:
      margins:
        top: 0.5in
        outside: 12.7 mm
      font_size: 9
      line_height: 2
    """
    pdf = load_manifest(write(dedent(text))).pdf
    assert (pdf.margin_top, pdf.margin_outside) == pytest.approx((0.5, 0.5))
    assert (pdf.margin_bottom, pdf.margin_inside) == (0.85, 0.875)  # defaults
    assert (pdf.font_size, pdf.line_height) == (9.0, 2.0)


def test_missing_book_yaml(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "nope" / "book.yaml")
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path}/nope/book.yaml: no such file"]


def test_symlink_out_of_the_book_folder(book: Path) -> None:
    (book / "chapters" / "link.md").symlink_to(book.parent / "outside.md")
    assert problems("title: T\ncontents: [chapters/link.md]\n") == [
        "book.yaml:2:12: contents[0]:"
        " 'chapters/link.md' is a link to a file outside the book folder"
    ]


def test_every_problem_reported_in_line_order(book: Path) -> None:
    text = """
    titel: T
    language: 12
    contents:
      - chapters/nope.md
      - path: chapters/one.md
        auther: X
      - chapters/one.md
    pdf:
      trim: huge
    title: ""
    """
    assert problems(dedent(text)) == [
        "book.yaml:1:1: titel: unknown key (did you mean 'title'?)",
        "book.yaml:2:11: language: '12' is not a language tag such as en, en-GB or fr",
        "book.yaml:4:5: contents[0]: no such file 'chapters/nope.md'",
        "book.yaml:6:5: contents[1].auther: unknown key (did you mean 'author'?)",
        "book.yaml:7:5: contents[2]: 'chapters/one.md' is already used at line 5",
        "book.yaml:9:9: pdf.trim: expected a page size (6x9in, 5.5x8.5in, 5x8in, 5.25x8in, "
        "6.14x9.21in, 7x10in, 8.5x11in, letter, a4, a5, b5) or WIDTHxHEIGHT with a unit "
        "(in, mm, cm or pt) such as 148x210mm, found 'huge'",
        "book.yaml:10:8: title: must not be empty",
    ]


OK = "title: T\ncontents: [intro.md]\n"
TRIM_EXPECTED = (
    "expected a page size (6x9in, 5.5x8.5in, 5x8in, 5.25x8in, 6.14x9.21in, 7x10in, 8.5x11in, "
    "letter, a4, a5, b5) or WIDTHxHEIGHT with a unit (in, mm, cm or pt) such as 148x210mm"
)
THEMES = ", ".join(packaged_themes())  # what an unknown theme's error offers
ESSAY_TYPES = ".md, .markdown, .txt, .text, .html, .htm, .xhtml, .docx"

BAD_CASES: list[tuple[str, str | bytes, list[str]]] = [
    (
        "yaml syntax error",
        'title: "T\ncontents: []\n',
        [
            "book.yaml:3:1: invalid YAML: found unexpected end of stream"
            " (while scanning a quoted scalar at line 1)"
        ],
    ),
    (
        "yaml bad indentation",
        "title: T\n  contents: [intro.md]\n",
        ["book.yaml:2:11: invalid YAML: mapping values are not allowed here"],
    ),
    (
        "two documents",
        "title: T\n---\ntitle: U\n",
        [
            "book.yaml:2:1: invalid YAML: but found another document"
            " (expected a single document in the stream at line 1)"
        ],
    ),
    (
        "list as key",
        "? [a]\n: b\n",
        ["book.yaml:1:3: invalid YAML: a key must be a plain value"],
    ),
    (
        "control character",
        "title: T\x07\ncontents: [intro.md]\n",
        ["book.yaml:1:9: invalid YAML: control character #x0007 is not allowed"],
    ),
    (
        "escaped control characters",
        'title: "T\\x05"\nrights: ok\nauthor: ["A", "B\\x1b"]\ncontents: [intro.md]\n',
        [
            "book.yaml:1:8: title: 'T\\x05' has control character #x0005, which is not allowed",
            "book.yaml:3:15: author[1]: 'B\\x1b' has control character #x001b,"
            " which is not allowed",
        ],
    ),
    (
        "not a mapping",
        "- intro.md\n",
        ["book.yaml:1:1: expected a mapping with keys such as title and contents, found a list"],
    ),
    (
        "a bare string",
        "\n\nmy book\n",
        ["book.yaml:3:1: expected a mapping with keys such as title and contents, found 'my book'"],
    ),
    ("empty file", "", ["book.yaml: the file is empty; it needs title and contents"]),
    ("only comments", "# TODO\n\n", ["book.yaml: the file is empty; it needs title and contents"]),
    (
        "not utf-8",
        b"title: caf\xe9\ncontents: [intro.md]\n",
        ["book.yaml:1:11: not valid UTF-8: byte 0xe9 at offset 10; save it as UTF-8"],
    ),
    (
        "not utf-8 after multibyte text",
        "title: T\n# \u00e9t\u00e9 ".encode() + b"\xff\ncontents: [intro.md]\n",
        ["book.yaml:2:7: not valid UTF-8: byte 0xff at offset 17; save it as UTF-8"],
    ),
    ("missing title", "contents: [intro.md]\n", ["book.yaml:1:1: title: missing required key"]),
    ("missing contents", "\ntitle: T\n", ["book.yaml:2:1: contents: missing required key"]),
    (
        "null title",
        "title:\ncontents: [intro.md]\n",
        ["book.yaml:1:7: title: expected a string, found nothing"],
    ),
    (
        "blank title",
        "title: '  '\ncontents: [intro.md]\n",
        ["book.yaml:1:8: title: must not be empty"],
    ),
    (
        "unknown key with suggestion",
        OK + "subtitel: S\n",
        ["book.yaml:3:1: subtitel: unknown key (did you mean 'subtitle'?)"],
    ),
    ("unknown key", OK + "colour: red\n", ["book.yaml:3:1: colour: unknown key"]),
    (
        "unknown key in pdf",
        OK + "pdf:\n  trimm: 6x9in\n",
        ["book.yaml:4:3: pdf.trimm: unknown key (did you mean 'trim'?)"],
    ),
    (
        "unknown key in front matter",
        OK + "front_matter: {forword: foreword.md}\n",
        ["book.yaml:3:16: front_matter.forword: unknown key (did you mean 'foreword'?)"],
    ),
    (
        "unknown key in an essay",
        "title: T\ncontents:\n  - path: intro.md\n    Title: X\n",
        ["book.yaml:4:5: contents[0].Title: unknown key (did you mean 'title'?)"],
    ),
    (
        "wrong type",
        OK + "subjects: {a: b}\n",
        ["book.yaml:3:11: subjects: expected a string or a list of strings, found a mapping"],
    ),
    (
        "wrong type for a string",
        "title: [a]\ncontents: [intro.md]\n",
        ["book.yaml:1:8: title: expected a string, found a list"],
    ),
    (
        "wrong type in a list",
        OK + "editor: [A, [B]]\n",
        ["book.yaml:3:13: editor[1]: expected a string, found a list"],
    ),
    (
        "wrong type for a flag",
        OK + "back_matter: {contributors: 'no'}\n",
        ["book.yaml:3:29: back_matter.contributors: expected true or false, found 'no'"],
    ),
    (
        "wrong type for an override",
        "title: T\ncontents:\n  - path: intro.md\n    author: {a: b}\n",
        [
            "book.yaml:4:13: contents[0].author: expected a string or a list of strings,"
            " found a mapping"
        ],
    ),
    (
        "bad language tag",
        OK + "language: english!\n",
        ["book.yaml:3:11: language: 'english!' is not a language tag such as en, en-GB or fr"],
    ),
    (
        "bad date",
        OK + "date: March 2025\n",
        ["book.yaml:3:7: date: expected YYYY, YYYY-MM or YYYY-MM-DD, found 'March 2025'"],
    ),
    (
        "impossible date",
        OK + "date: 2025-02-30\n",
        ["book.yaml:3:7: date: expected YYYY, YYYY-MM or YYYY-MM-DD, found '2025-02-30'"],
    ),
    (
        "date with a time",
        OK + "date: 2025-03-01 10:00:00\n",
        ["book.yaml:3:7: date: expected YYYY, YYYY-MM or YYYY-MM-DD, found '2025-03-01 10:00:00'"],
    ),
    (
        "missing essay file",
        "title: T\ncontents:\n  - intro.md\n  - chapters/missing.md\n",
        ["book.yaml:4:5: contents[1]: no such file 'chapters/missing.md'"],
    ),
    (
        "missing essay file in a mapping",
        "title: T\ncontents:\n  - path: chapters/missing.md\n",
        ["book.yaml:3:11: contents[0].path: no such file 'chapters/missing.md'"],
    ),
    (
        "path escaping the folder",
        "title: T\ncontents: [../outside.md]\n",
        ["book.yaml:2:12: contents[0]: '../outside.md' leaves the book folder"],
    ),
    (
        "path escaping through a subfolder",
        "title: T\ncontents: [chapters/../../outside.md]\n",
        ["book.yaml:2:12: contents[0]: 'chapters/../../outside.md' leaves the book folder"],
    ),
    (
        "absolute path",
        "title: T\ncontents: [/etc/essay.md]\n",
        [
            "book.yaml:2:12: contents[0]: path must be relative to the book folder,"
            " found '/etc/essay.md'"
        ],
    ),
    (
        "windows absolute path",
        "title: T\ncontents: ['C:\\essays\\a.md']\n",
        [
            "book.yaml:2:12: contents[0]: path must be relative to the book folder,"
            " found 'C:\\essays\\a.md'"
        ],
    ),
    (
        "bad extension",
        "title: T\ncontents: [notes.doc]\n",
        [
            "book.yaml:2:12: contents[0]: 'notes.doc' has an unsupported extension;"
            f" expected one of {ESSAY_TYPES}"
        ],
    ),
    (
        "duplicate essay",
        "title: T\ncontents:\n  - intro.md\n  - chapters/one.md\n  - ./intro.md\n",
        ["book.yaml:5:5: contents[2]: './intro.md' is already used at line 3"],
    ),
    (
        "duplicate essay across front matter and parts",
        "front_matter: {preface: chapters/one.md}\ntitle: T\ncontents:\n"
        "  - part: P\n    chapters: [intro.md, chapters/one.md]\n",
        ["book.yaml:5:26: contents[0].chapters[1]: 'chapters/one.md' is already used at line 1"],
    ),
    (
        "duplicate key",
        "title: A\ncontents: [intro.md]\ntitle: B\n",
        ["book.yaml:3:1: title: duplicate key (first given at line 1)"],
    ),
    (
        "duplicate nested key",
        OK + "pdf:\n  font_size: 10\n  font_size: 11\n",
        ["book.yaml:5:3: pdf.font_size: duplicate key (first given at line 4)"],
    ),
    (
        "bad trim",
        OK + "pdf: {trim: 6x9}\n",
        [f"book.yaml:3:13: pdf.trim: {TRIM_EXPECTED}, found '6x9'"],
    ),
    (
        "zero trim",
        OK + "pdf: {trim: 0x9in}\n",
        [f"book.yaml:3:13: pdf.trim: {TRIM_EXPECTED}, found '0x9in'"],
    ),
    (
        "bad margin lengths",
        OK + "pdf:\n  margins:\n    top: 0.75\n    inside: 2 furlongs\n",
        [
            "book.yaml:5:10: pdf.margins.top: expected a length with a unit (in, mm, cm or pt)"
            " such as 0.75in, 18mm or 54pt, found 0.75",
            "book.yaml:6:13: pdf.margins.inside: expected a length with a unit (in, mm, cm or pt)"
            " such as 0.75in, 18mm or 54pt, found '2 furlongs'",
        ],
    ),
    (
        "margins not a mapping",
        OK + "pdf: {margins: 1in}\n",
        [
            "book.yaml:3:16: pdf.margins: expected a mapping with keys among"
            " top, bottom, inside, outside, found '1in'"
        ],
    ),
    (
        "margins leave no room",
        OK + "pdf: {trim: 2x2in, margins: {inside: 1in, outside: 1in}}\n",
        ["book.yaml:3:6: pdf: the margins leave no room for text on a 2x2in page"],
    ),
    (
        "font size out of range",
        OK + "pdf: {font_size: 30pt}\n",
        ["book.yaml:3:18: pdf.font_size: must be between 6pt and 24pt, found '30pt'"],
    ),
    (
        "font size with another unit",
        OK + "pdf: {font_size: 12px}\n",
        [
            "book.yaml:3:18: pdf.font_size: expected a size in points such as 10.5pt or 11,"
            " found '12px'"
        ],
    ),
    (
        "line height out of range",
        OK + "pdf: {line_height: 3}\n",
        ["book.yaml:3:20: pdf.line_height: must be between 1 and 2.5, found 3"],
    ),
    (
        "part without chapters",
        "title: T\ncontents:\n  - part: One\n",
        ["book.yaml:3:5: contents[0].chapters: missing required key"],
    ),
    (
        "part with no chapters",
        "title: T\ncontents:\n  - part: One\n    chapters: []\n",
        ["book.yaml:4:15: contents[0].chapters: must list at least one essay"],
    ),
    (
        "chapters without a part title",
        "title: T\ncontents:\n  - chapters: [intro.md]\n",
        ["book.yaml:3:5: contents[0].part: missing required key"],
    ),
    (
        "nested part",
        "title: T\ncontents:\n  - part: One\n    chapters:\n      - part: Two\n"
        "        chapters: [intro.md]\n",
        ["book.yaml:5:9: contents[0].chapters[0]: parts cannot be nested"],
    ),
    (
        "contents item of the wrong type",
        "title: T\ncontents: [[intro.md]]\n",
        [
            "book.yaml:2:12: contents[0]: expected an essay path, a mapping with path,"
            " or a part, found a list"
        ],
    ),
    (
        "essay mapping without path",
        "title: T\ncontents:\n  - title: X\n",
        ["book.yaml:3:5: contents[0].path: missing required key"],
    ),
    (
        "empty contents",
        "title: T\ncontents: []\n",
        ["book.yaml:2:11: contents: must list at least one essay"],
    ),
    (
        "contents not a list",
        "title: T\ncontents: intro.md\n",
        ["book.yaml:2:11: contents: expected a list of essays and parts, found 'intro.md'"],
    ),
    (
        "epigraph without text",
        OK + "front_matter:\n  epigraph: {source: X}\n",
        ["book.yaml:4:13: front_matter.epigraph.text: missing required key"],
    ),
    (
        "cover of the wrong type",
        OK + "cover: cover.gif\n",
        [
            "book.yaml:3:8: cover: 'cover.gif' has an unsupported extension;"
            " expected one of .jpg, .jpeg, .png"
        ],
    ),
    ("missing cover", OK + "cover: nope.png\n", ["book.yaml:3:8: cover: no such file 'nope.png'"]),
    (
        "unknown theme",
        OK + "theme: fancy\n",
        ["book.yaml:3:8: theme: 'fancy' is not a packaged theme; expected one of " + THEMES],
    ),
    (
        "misspelt theme",
        OK + "theme: defualt\n",
        [
            "book.yaml:3:8: theme: 'defualt' is not a packaged theme (did you mean 'default'?);"
            " expected one of " + THEMES
        ],
    ),
    (
        "bad language tag in an override",
        "title: T\ncontents:\n  - path: intro.md\n    language: english\n",
        [
            "book.yaml:4:15: contents[0].language: 'english' is not a language tag such as en,"
            " en-GB or fr"
        ],
    ),
    (
        "bad date in an override",
        "title: T\ncontents:\n  - path: intro.md\n    date: May 2020\n",
        [
            "book.yaml:4:11: contents[0].date: expected YYYY, YYYY-MM or YYYY-MM-DD,"
            " found 'May 2020'"
        ],
    ),
    (
        "control character in an override",
        'title: T\ncontents:\n  - path: intro.md\n    bio: "a\\x05"\n',
        [
            "book.yaml:4:10: contents[0].bio: 'a\\x05' has control character #x0005,"
            " which is not allowed"
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, expected, id=name) for name, text, expected in BAD_CASES],
)
def test_bad_manifest(book: Path, text: str | bytes, expected: list[str]) -> None:
    assert problems(text) == expected


def test_error_message_lists_every_problem(book: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(write("titel: T\ncontents: []\n"))
    assert caught.value.exit_code == 2
    assert caught.value.format_message() == (
        "book.yaml:1:1: titel: unknown key (did you mean 'title'?)\n"
        "book.yaml:1:1: title: missing required key\n"
        "book.yaml:2:11: contents: must list at least one essay"
    )

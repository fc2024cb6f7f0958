"""Errors about a value quote the value as it was written, not only its key.

Each case writes a tiny book.yaml with one distinctive bad value and checks that
the one problem reported is at the value's line and column and shows the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from make_book.errors import EssayError, ManifestError
from make_book.source.essay_files import read_source
from make_book.source.manifest import load_manifest

BOOK = "title: T\ncontents: [intro.md]\n"  # line 3 is the case's own
LONG = "A" * 70  # longer than a message quotes
ISBN13 = "978-0-306-40615-7"


@dataclass(frozen=True)
class Case:
    """A book.yaml, and what its one problem must begin with and contain."""

    name: str
    yaml: str
    where: str  # line:column of the bad value
    shows: str  # the value as written, as the message quotes it


CASES = [
    # Paths: contents, front and back matter, parts, the cover.
    Case(
        "path out of the book", 'title: T\ncontents: ["../secret.md"]\n', "2:12", "'../secret.md'"
    ),
    Case("path out, in a list", "title: T\ncontents:\n  - ../../x/y.md\n", "3:5", "'../../x/y.md'"),
    Case("absolute path", "title: T\ncontents: [/etc/essay.md]\n", "2:12", "'/etc/essay.md'"),
    Case("windows path", "title: T\ncontents: ['D:\\b\\c.md']\n", "2:12", "'D:\\b\\c.md'"),
    Case("no such file", "title: T\ncontents: [chapters/gone.md]\n", "2:12", "'chapters/gone.md'"),
    Case("a folder", "title: T\ncontents: [folder.md]\n", "2:12", "'folder.md'"),
    Case("a link out", "title: T\ncontents: [link.md]\n", "2:12", "'link.md'"),
    Case("unsupported extension", "title: T\ncontents: [notes.doc]\n", "2:12", "'notes.doc'"),
    Case(
        "essay used twice", "title: T\ncontents: [intro.md, ./intro.md]\n", "2:22", "'./intro.md'"
    ),
    Case(
        "path in a mapping",
        "title: T\ncontents:\n  - path: ../../secret.md\n",
        "3:11",
        "'../../secret.md'",
    ),
    Case("front matter essay", BOOK + "front_matter: {foreword: ../fw.md}\n", "3:26", "'../fw.md'"),
    Case(
        "part introduction",
        "title: T\ncontents:\n  - part: P\n    introduction: /abs.md\n    chapters: [intro.md]\n",
        "4:19",
        "'/abs.md'",
    ),
    Case("cover missing", BOOK + "cover: images/front.png\n", "3:8", "'images/front.png'"),
    Case("cover extension", BOOK + "cover: cover.gif\n", "3:8", "'cover.gif'"),
    Case("cover damaged", BOOK + "cover: broken.png\n", "3:8", "'broken.png'"),
    Case("contents a string", "title: T\ncontents: intro.md\n", "2:11", "'intro.md'"),
    # Dates and language tags.
    Case("impossible date", BOOK + 'date: "2024-13-45"\n', "3:7", "'2024-13-45'"),
    Case("unparsed date", BOOK + "date: 2024-13-45\n", "3:7", "'2024-13-45'"),
    Case("date in words", BOOK + "date: 31/02/2020\n", "3:7", "'31/02/2020'"),
    Case("date with a time", BOOK + "date: 2025-03-01 10:00\n", "3:7", "'2025-03-01 10:00'"),
    Case("date as a number", BOOK + "date: 99999\n", "3:7", "found 99999"),
    Case("language", BOOK + 'language: "english!"\n', "3:11", "'english!'"),
    Case("language as a number", BOOK + "language: 12\n", "3:11", "'12'"),
    Case(
        "override date",
        "title: T\ncontents:\n  - path: intro.md\n    date: Spring 1999\n",
        "4:11",
        "'Spring 1999'",
    ),
    # Themes and PDF settings.
    Case("theme", BOOK + "theme: fancy pants\n", "3:8", "'fancy pants'"),
    Case("trim", BOOK + 'pdf: {trim: "6x9 furlongs"}\n', "3:13", "'6x9 furlongs'"),
    Case("trim as a number", BOOK + "pdf: {trim: 6}\n", "3:13", "found 6"),
    Case("trim too large", BOOK + "pdf: {trim: 300x9in}\n", "3:13", "'300x9in'"),
    Case("margin length", BOOK + "pdf: {margins: {top: 2 furlongs}}\n", "3:22", "'2 furlongs'"),
    Case("margin without unit", BOOK + "pdf: {margins: {inside: 0.75}}\n", "3:25", "found 0.75"),
    Case("margins a string", BOOK + "pdf: {margins: 1in}\n", "3:16", "'1in'"),
    Case("pdf a string", BOOK + "pdf: 6x9in\n", "3:6", "'6x9in'"),
    Case("font size unit", BOOK + "pdf: {font_size: 12px}\n", "3:18", "'12px'"),
    Case("font size range", BOOK + "pdf: {font_size: 30pt}\n", "3:18", "'30pt'"),
    Case("font size a boolean", BOOK + "pdf: {font_size: yes}\n", "3:18", "'yes'"),
    Case("line height range", BOOK + "pdf: {line_height: 3.50}\n", "3:20", "found 3.50"),
    Case("line height a string", BOOK + "pdf: {line_height: '1.4'}\n", "3:20", "'1.4'"),
    Case("line height a boolean", BOOK + "pdf: {line_height: on}\n", "3:20", "'on'"),
    Case("font family", BOOK + "pdf: {font_family: 'Evil\"; }'}\n", "3:20", "'Evil\"; }'"),
    Case("profile", BOOK + "pdf: {profile: lulu-deluxe}\n", "3:16", "'lulu-deluxe'"),
    Case("profile a boolean", BOOK + "pdf: {profile: no}\n", "3:16", "'no'"),
    Case("paper", BOOK + "pdf: {paper: glossy}\n", "3:14", "'glossy'"),
    Case("paper too thick", BOOK + "pdf: {paper: 2in}\n", "3:14", "'2in'"),
    Case("bleed not a flag", BOOK + "pdf: {bleed: 'yes'}\n", "3:14", "'yes'"),
    # Flags, the ISBN, the price.
    Case("flag a string", BOOK + "back_matter: {contributors: 'no'}\n", "3:29", "'no'"),
    Case("flag a date", BOOK + "back_matter: {sources: 2024-01-01}\n", "3:24", "'2024-01-01'"),
    Case("flag a number", BOOK + "back_matter: {sources: 0}\n", "3:24", "found 0"),
    Case("isbn check digit", BOOK + "isbn: 978-0-306-40615-6\n", "3:7", "'978-0-306-40615-6'"),
    Case("isbn shape", BOOK + "isbn: ISBN 12\n", "3:7", "'ISBN 12'"),
    Case("isbn prefix", BOOK + "isbn: 9770306406158\n", "3:7", "9770306406158 is not an ISBN"),
    Case("price", BOOK + f"isbn: {ISBN13}\nprice: '$19.95'\n", "4:8", "'$19.95'"),
    Case(
        "identifier isbn",
        BOOK + "identifier: urn:isbn:978-0-306-40615-6\n",
        "3:13",
        "'urn:isbn:978-0-306-40615-6'",
    ),
    Case(
        "identifier with isbn",
        BOOK + f"identifier: urn:uuid:1\nisbn: {ISBN13}\n",
        "3:13",
        "'urn:uuid:1'",
    ),
    # Strings: the wrong kind of value, too long, unseen characters.
    Case("list for a string", "title: [a, b]\ncontents: [intro.md]\n", "1:8", "found a list"),
    Case("mapping for names", BOOK + "author: {a: b}\n", "3:9", "found a mapping"),
    Case("list for an epigraph", BOOK + "front_matter: {epigraph: [a]}\n", "3:26", "found a list"),
    Case("control character", 'title: "T\\x05"\ncontents: [intro.md]\n', "1:8", "'T\\x05'"),
    Case("long value cut", BOOK + f"theme: {LONG}\n", "3:8", f"'{'A' * 60}…'"),
    Case(
        "too long",
        BOOK + f"description: {'d' * 30_001}\n",
        "3:14",
        f"'{'d' * 60}…' has 30,001 characters",
    ),
    Case("first line only", BOOK + "theme: |\n  first\n  second\n", "3:8", "'first…'"),
    Case("direction override", BOOK + 'language: "en\\u202eGB"\n', "3:11", "'en\\u202eGB'"),
    Case("document a string", "my book\n", "1:1", "'my book'"),
]


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A book folder with an essay, a folder named like one, a link out and images."""
    folder = tmp_path / "book"
    folder.mkdir()
    for name in ("intro.md", "notes.doc", "cover.gif"):
        (folder / name).write_text("# An essay\n", encoding="utf-8")
    (folder / "folder.md").mkdir()
    (folder / "broken.png").write_bytes(b"not a picture")
    (tmp_path / "outside.md").write_text("# Elsewhere\n", encoding="utf-8")
    (folder / "link.md").symlink_to(tmp_path / "outside.md")
    Image.new("RGB", (4, 6), "white").save(folder / "cover.jpg")
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_the_bad_value_is_quoted_where_it_was_written(book: Path, case: Case) -> None:
    Path("book.yaml").write_text(case.yaml, encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(Path("book.yaml"))
    (problem,) = (str(p) for p in caught.value.problems)
    assert problem.startswith(f"book.yaml:{case.where}: "), problem
    assert case.shows in problem, problem


def test_the_lead_example(book: Path) -> None:
    Path("book.yaml").write_text("title: T\ncontents:\n  - ../secret.md\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(Path("book.yaml"))
    assert caught.value.format_message() == (
        "book.yaml:3:5: contents[0]: '../secret.md' leaves the book folder"
    )


FRONT_MATTER = [
    ("date: 31/02/2020", "2:1", "date: expected YYYY, YYYY-MM or YYYY-MM-DD, found '31/02/2020'"),
    ("title: T\ndate: '2024-13-45'", "3:1", "found '2024-13-45'"),
    ("language: english!", "2:1", "language: 'english!' is not a language tag"),
    ("language: 'en\\u202e'", "2:1", "'en\\u202e' is not a language tag"),
    ('bio: "a\\x07b"', "2:1", "bio: 'a\\x07b' has control character #x0007"),
    (f"subtitle: {'s' * 30_001}", "2:1", f"subtitle: '{'s' * 60}…' has 30,001 characters"),
    ("title: [a, b]", "2:1", "title: expected a string, found a list"),
]


@pytest.mark.parametrize(("front", "where", "shows"), FRONT_MATTER)
def test_front_matter_quotes_the_bad_value(
    tmp_path: Path, front: str, where: str, shows: str
) -> None:
    essay = tmp_path / "essay.md"
    essay.write_text(f"---\n{front}\n---\n\n# Text\n", encoding="utf-8")
    with pytest.raises(EssayError) as caught:
        read_source(essay, "essay.md")
    (problem,) = (str(p) for p in caught.value.problems)
    assert problem.startswith(f"essay.md:{where}: front matter: "), problem
    assert shows in problem, problem

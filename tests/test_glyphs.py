"""Characters the book's typeface lacks: one warning each, naming the character, the essay
files and lines it is on, and how to set it (render/pdf/glyphs.py).

Linux Libertine, the default face, has ὑ (U+1F51) but not ⸺ (U+2E3A), ⸻ (U+2E3B) or
漢 (U+6F22), as its cmap says (checked below); the default theme's supplement face
(fonts/MakeBookSupplement.ttf) has the two dashes, so only 漢 is warned of. The book is
built once, its PDF alone; `--strict` builds it again, for two profiles, from the layout's
cache.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner, Result

from make_book.build.driver import load
from make_book.cli import main
from make_book.render.pdf import glyphs
from make_book.render.pdf.glyphs import MissingGlyph, Place, describe, is_unset
from make_book.render.pdf.preflight_gate import font_names, warn_fallback_fonts
from make_book.theme import THEMES

FIX = "set it in a font that has it: pdf.font_family, or a theme (docs/themes.md)"
LIBERTINE = sorted((THEMES / "default" / "fonts").glob("*.otf"))
SUPPLEMENT = THEMES / "default" / "fonts" / "MakeBookSupplement.ttf"

BOOK_YAML = """\
title: "Every Glyph"
subtitle: "From — to ⸻"
editor: "Gwen Glyph"
language: en
contents:
  - essays/one.md
  - path: essays/two.md
    title: "The Second ⸻"
"""
# Line numbers count the front matter: ⸺ on lines 6, 8, 10 and 12, 漢 on line 8.
ONE = """\
---
title: "The First"
author: "Ann Author"
---

A rule ⸺ of two ems.

Both ⸺ and 漢 on one line.

Again ⸺ here, and a soft\u00adhyphen, a zero\u200dwidth joiner, an emoji presentation \u2014\ufe0f.

And ⸺ once more, as an entity: &#x2E3A;.
"""
TWO = """\
---
title: "The Second"
author: "Bo Author"
---

Greek the face has: ὑπόθεσις.
"""


@dataclass(frozen=True)
class Built:
    manifest: Path
    result: Result

    @property
    def pdf(self) -> Path:
        return self.manifest.parent / "dist" / "book.pdf"

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.result.stderr.splitlines() if line.startswith("warning: ")]


def libertine() -> frozenset[int]:
    return glyphs.coverage(LIBERTINE)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("glyphs")
    (root / "essays").mkdir()
    (root / "book.yaml").write_text(BOOK_YAML, "utf-8")
    (root / "essays" / "one.md").write_text(ONE, "utf-8")
    (root / "essays" / "two.md").write_text(TWO, "utf-8")
    result = run("build", root / "book.yaml", "--format", "pdf")
    assert result.exit_code == 0, result.output
    return Built(root / "book.yaml", result)


def test_the_default_face_has_the_greek_but_not_the_dash_or_the_ideograph() -> None:
    covered = glyphs.coverage(LIBERTINE)
    assert ord("ὑ") in covered
    assert ord("⸺") not in covered
    assert ord("⸻") not in covered
    assert ord("漢") not in covered


def test_each_missing_character_is_named_with_its_essay_and_lines(built: Built) -> None:
    """The dashes are the supplement's: only the ideograph is named."""
    assert built.warnings == [
        "warning: pdf: U+6F22 '漢' CJK UNIFIED IDEOGRAPH-6F22 is not in the book's typeface:"
        f" essays/one.md line 8; {FIX}",
    ]


def test_a_character_the_face_has_is_not_named(built: Built) -> None:
    text = "\n".join(built.warnings)
    assert "U+1F51" not in text
    assert "ὑ" not in text
    assert "two.md" not in text
    assert "were set in" not in text  # the generic warning: only when nothing is named


def test_strict_fails_on_them_and_warns_once_for_two_profiles(built: Built) -> None:
    result = run("build", built.manifest, "--format", "pdf", "--profile", "screen,kdp", "--strict")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert sum("U+2E3A '⸺' TWO-EM DASH" in line for line in lines) == 0  # the supplement's
    assert sum("U+6F22 '漢'" in line for line in lines) == 1
    assert lines[-1].startswith("error: --strict: ")


def test_the_check_reads_the_default_face_from_the_theme(built: Built) -> None:
    _, book = load(built.manifest)
    faces = glyphs.book_faces(book)
    assert list(faces) == ["Book Serif", "Make Book Supplement"]
    assert sorted(faces["Book Serif"]) == LIBERTINE
    assert faces["Make Book Supplement"] == (SUPPLEMENT.resolve(),)


def test_a_book_s_own_face_is_read_from_the_book_folder(built: Built, tmp_path: Path) -> None:
    _, book = load(built.manifest)
    (tmp_path / "fonts").mkdir()
    shutil.copy(LIBERTINE[0], tmp_path / "fonts" / "own.otf")
    css = """
    /* @font-face { font-family: "Commented"; src: url("fonts/own.otf") } */
    @media print {
      @font-face { font-family: Own Face; src: local("Nowhere"), url(fonts/own.otf) }
    }
    @font-face { font-family: "Missing"; src: url("fonts/none.otf") }
    """
    faces = glyphs.declared_faces(css, replace(book, root=tmp_path))
    assert faces == {"Own Face": (tmp_path / "fonts" / "own.otf",), "Missing": ()}


def test_a_fallback_face_with_no_character_to_name_is_still_warned_of(
    built: Built, caplog: pytest.LogCaptureFixture
) -> None:
    """Characters a template writes are not the essays': the PDF still names the face
    they were set in (here the essays' own characters, hidden from the check)."""
    manifest, book = load(built.manifest)
    plain = tuple(replace(e, title_html="Plain", body_html="<p>Plain.</p>") for e in book.essays)
    meta = replace(book.meta, subtitle="", subtitle_html="")
    hidden = replace(book, contents=plain, meta=meta)
    with caplog.at_level(logging.WARNING, logger="make_book"):
        warn_fallback_fonts(built.pdf, manifest.pdf, hidden, built.manifest)
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith(
        "pdf: some characters are not in the book's typeface and were set in "
    )


def test_font_names_read_by_the_preflight_warn_as_the_file_does(
    built: Built, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build gives the check the font names its preflight read (one opening of the
    book, not two): the same warning as the check reading the file itself."""
    manifest, book = load(built.manifest)

    def said(names: set[str] | None) -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="make_book"):
            warn_fallback_fonts(built.pdf, manifest.pdf, replace(book), built.manifest, names)
        return [r.getMessage() for r in caplog.records]

    from_file = said(None)
    with pikepdf.open(built.pdf) as pdf:
        names = font_names(pdf)
    monkeypatch.setattr(pikepdf, "open", None)  # given the names, the file is not opened
    assert from_file and said(names) == from_file


def test_a_title_written_in_book_yaml_is_found_there(built: Built) -> None:
    """The second essay's title is book.yaml's: its ⸻ is on book.yaml's line 8, not in
    the essay's file, and is named once, with the book's subtitle."""
    _, book = load(built.manifest)
    missing = glyphs.missing_glyphs(book, built.manifest, libertine())
    assert [m.char for m in missing] == ["⸺", "⸻", "漢"]
    assert missing[1].places == (Place("book.yaml", (2, 8)),)
    assert missing[2].places == (Place("essays/one.md", (8,)),)
    assert glyphs.find_lines(built.manifest, ["G"]) == {"G": [1, 3]}
    # Beyond the characters with a warning of their own, the files alone are found.
    unlocated = glyphs.missing_glyphs(book, built.manifest, libertine(), located=1)
    assert [m.places for m in unlocated[1:]] == [
        (Place("book.yaml"), Place("essays/two.md")),
        (Place("essays/one.md"),),
    ]


# The pieces of a warning


def test_a_character_without_a_name_says_so() -> None:
    assert describe("\ue000") == "U+E000 '\ue000' (no Unicode name: private use)"


def test_a_combining_mark_is_shown_on_a_dotted_circle() -> None:
    assert describe("\u0361") == "U+0361 '\u25cc\u0361' COMBINING DOUBLE INVERTED BREVE"


@pytest.mark.parametrize("char", ["\u00ad", "\u200d", "\u200b", "\ufe0f", "\u202f", "\t"])
def test_characters_the_layout_never_sets_in_the_face_are_ignored(char: str) -> None:
    assert is_unset(char)


def test_letters_and_marks_are_checked() -> None:
    assert not is_unset("漢")
    assert not is_unset("\u0301")


def test_a_letter_is_covered_when_its_decomposition_is() -> None:
    covered = frozenset(map(ord, "n\u0300"))
    assert glyphs._covered("ǹ", covered)
    assert not glyphs._covered("ǹ", frozenset({ord("n")}))


def test_lines_beyond_the_first_few_are_counted() -> None:
    place = Place("a.md", (1, 2, 3), 4)
    assert str(place) == "a.md lines 1, 2, 3 and 4 more"
    assert str(Place("a.md", (7,))) == "a.md line 7"
    assert str(Place("a.docx")) == "a.docx"


def test_files_beyond_the_first_few_are_counted() -> None:
    places = tuple(Place(f"e{i}.md", (1,)) for i in range(6))
    line = MissingGlyph("漢", places).warning()
    assert "e3.md line 1; and 2 more files; set it" in line


def test_many_missing_characters_end_in_one_warning_for_the_rest() -> None:
    chars = [chr(0x4E00 + i) for i in range(glyphs.CHARACTERS_SHOWN + 10)]
    missing = [MissingGlyph(ch, (Place("zh.md", (1,)),)) for ch in chars]
    lines = glyphs.warning_lines(missing)
    assert len(lines) == glyphs.CHARACTERS_SHOWN + 1
    assert lines[-1].startswith("10 more characters are not in the book's typeface (U+4E28 ")
    assert lines[-1].endswith(
        "in zh.md; set them in a font that has them: pdf.font_family, or a theme (docs/themes.md)"
    )


def test_lines_are_found_as_written_or_as_entities(tmp_path: Path) -> None:
    essay = tmp_path / "e.md"
    essay.write_text("one\r\ntwo &#x2E3A;\r\nthree ⸺\n", "utf-8")
    assert glyphs.find_lines(essay, ["⸺"]) == {"⸺": [2, 3]}
    word = tmp_path / "e.docx"
    word.write_bytes(b"PK\x03\x04 " + "⸺".encode())
    assert glyphs.find_lines(word, ["⸺"]) == {}


def test_the_pdf_reads_the_books_characters_and_faces_once_and_meanwhile(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PDF renderer's chore (done while the layout waits for its workers) reads the
    book's characters and its faces; the warning then takes them as they were read, for
    that book; a book loaded again is read again."""
    from make_book.render.base import RenderContext
    from make_book.render.pdf.renderer import PdfRenderer

    config, book = load(built.manifest)
    PdfRenderer().meanwhile(book, RenderContext(config, built.manifest.parent / "dist"))

    def unread(*_: object) -> None:
        raise AssertionError("read again")

    monkeypatch.setattr(glyphs, "_chars", unread)
    monkeypatch.setattr(glyphs, "_book_faces", unread)
    faces = glyphs.book_faces(book, config.pdf.font_family)
    covered = glyphs.coverage(file for files in faces.values() for file in files)
    missing = glyphs.missing_glyphs(book, built.manifest, covered)
    assert [glyph.char for glyph in missing] == ["漢"]
    _, again = load(built.manifest)
    with pytest.raises(AssertionError, match="read again"):
        glyphs.missing_glyphs(again, built.manifest, covered)


def test_an_edit_reads_the_characters_of_the_edited_essay_alone(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each essay's characters are remembered in the cache by its fingerprint: a build
    after an edit reads book.yaml's and the edited essay's, and warns of the others'
    characters as the first build did."""
    root = tmp_path / "book"
    shutil.copytree(built.manifest.parent, root, ignore=shutil.ignore_patterns(".*", "dist"))
    first = run("build", root / "book.yaml", "--format", "pdf")
    assert first.exit_code == 0, first.output
    read: list[int] = []
    real = glyphs._chars
    monkeypatch.setattr(glyphs, "_chars", lambda texts: read.append(1) or real(texts))
    two = root / "essays" / "two.md"
    two.write_text(two.read_text("utf-8") + "\nOne sentence more.\n", "utf-8")
    again = Built(root / "book.yaml", run("build", root / "book.yaml", "--format", "pdf"))
    assert again.result.exit_code == 0, again.result.output
    assert len(read) == 2, "book.yaml's and two.md's"
    assert again.warnings == built.warnings

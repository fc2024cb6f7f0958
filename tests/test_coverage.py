"""The default theme sets what Western anthologies contain in the book's own faces:
a book written with each of these characters, in roman, italic and bold, builds with
`--strict` (no warning of characters outside the typeface) and its PDF names no face
but Linux Libertine and the theme's supplement (no system fallback)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner
from fontTools.ttLib import TTFont

from helpers import copy_book
from make_book.cli import main
from make_book.theme import THEMES

# What a Western anthology writes, by kind: the characters the test sets.
CHARACTERS = {
    "Latin-1": "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ ÀÆÇÉÑÖØÜß ¡¿«»",
    "Latin Extended-A": "āăąćčďđēėęěğħīįıĳķłľńňŋōőœřśşšţťŧūůűųŵŷźżžſ ŁŒŠŽ",
    "Latin Extended-B": "ƒǆǈǌǎǐǒǔșțȘȚ",
    "Latin Extended Additional": "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ ẞ",
    "Greek": "αβγδεζηθικλμνξοπρςστυφχψω ΑΒΓΔΘΛΞΠΣΦΨΩ άέήίόύώϊϋΐΰ",
    "polytonic Greek": "ἀἁἂἃἄἅἆἇἐἑἠἡἰἱὀὁὐὑὠὡὰὲὴὶὸὺὼᾳῃῳᾶῆῖῦῶῥῤ ὑ",
    "General Punctuation": "‐‑‒–—―‖‘’‚‛“”„‟†‡•…‰′″‹›‽⁂⁄",
    "Supplemental Punctuation": "⸺⸻",
    "fractions": "½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞",
    "arrows": "←↑→↓↔↕⇐⇒⇔",
    "symbols": "©®™§¶°±×÷€£¥¢¤№℮ℓµ∞≈≠≤≥√∑∏∂∆∫ªº¹²³",
}
BOOK_FACES = ("Book-Serif", "Make-Book-Supplement")  # as the PDF names them (session.py)


def written() -> list[str]:
    return [c for text in CHARACTERS.values() for c in text if not c.isspace()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    manifest = copy_book("sample", tmp_path_factory.mktemp("coverage"))
    essay = manifest.parent / "chapters" / "02-the-anora-ending.md"
    lines = [f"{kind}: {text}, *{text}*, **{text}**." for kind, text in CHARACTERS.items()]
    with essay.open("a", encoding="utf-8") as f:
        f.write("\n" + "\n\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["build", str(manifest), "--format", "pdf", "--strict"])
    return manifest, result.output if result.exit_code else ""


def test_a_book_with_every_such_character_builds_strict(built: tuple[Path, str]) -> None:
    _, failure = built
    assert failure == ""


def test_the_pdf_names_no_face_but_the_books(built: tuple[Path, str]) -> None:
    manifest, _ = built
    with pikepdf.open(manifest.parent / "dist" / "book.pdf") as pdf:
        names = {
            str(font.BaseFont).split("+")[-1]
            for page in pdf.pages
            for font in page.Resources.get("/Font", pikepdf.Dictionary()).values()
        }
    assert names and all(name.startswith(BOOK_FACES) for name in names), names


@pytest.mark.parametrize(
    "face", ["LinLibertine_R.otf", "LinLibertine_RI.otf", "LinLibertine_RB.otf"]
)
def test_the_faces_themselves_have_every_character(face: str) -> None:
    """Read from the files: roman, italic and bold, with the supplement."""
    fonts = THEMES / "default" / "fonts"
    has = set(TTFont(fonts / face).getBestCmap()) | set(
        TTFont(fonts / "MakeBookSupplement.ttf").getBestCmap()
    )
    missing = [f"U+{ord(c):04X} {unicodedata.name(c)}" for c in written() if ord(c) not in has]
    assert missing == []


@pytest.mark.parametrize(
    ("theme", "faces"),
    [("modern", ("Literata", "Inter")), ("large-print", ("Atkinson-Hyperlegible",))],
)
def test_the_other_themes_set_the_dashes_as_rules_too(
    theme: str, faces: tuple[str, ...], tmp_path: Path
) -> None:
    manifest = copy_book("sample", tmp_path / theme)
    manifest.write_text(manifest.read_text("utf-8") + f"theme: {theme}\n", "utf-8")
    essay = manifest.parent / "chapters" / "02-the-anora-ending.md"
    with essay.open("a", encoding="utf-8") as f:
        f.write("\nSo it went with Monsieur de ⸺ and the Duke of ⸻, *and ⸺ in italics*.\n")
    result = CliRunner().invoke(main, ["build", str(manifest), "--format", "pdf", "--strict"])
    assert result.exit_code == 0, result.output
    with pikepdf.open(manifest.parent / "dist" / "book.pdf") as pdf:
        names = {
            str(font.BaseFont).split("+")[-1]
            for page in pdf.pages
            for font in page.Resources.get("/Font", pikepdf.Dictionary()).values()
        }
    assert any(name.startswith("Make-Book-Supplement") for name in names)
    assert all(name.startswith((*faces, "Make-Book-Supplement")) for name in names), names

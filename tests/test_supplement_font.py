"""The default theme's supplement face, Make Book Supplement: the two- and three-em
dashes Linux Libertine lacks, drawn by tools/make_supplement_font.py.

A book that writes them is built with `--strict` (no fallback warning), and its PDF
sets them in the supplement (no system face), as text a reader can copy, at 2 and
3 em; the committed font is what the script draws, byte for byte.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pikepdf
import pypdf
import pytest
from click.testing import CliRunner
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont

from helpers import REPO, copy_book
from make_book.build.driver import load
from make_book.cli import main
from make_book.render.pdf import glyphs
from make_book.theme import THEMES

FONTS = THEMES / "default" / "fonts"
SUPPLEMENT = FONTS / "MakeBookSupplement.ttf"
LIBERTINE = sorted(FONTS.glob("LinLibertine_*.otf"))
PARAGRAPH = "So it went with Monsieur de ⸺ and the Duke of ⸻."
RULES = {"⸺": 2, "⸻": 3}  # character -> advance in ems


def key(name: str) -> str:
    return glyphs.font_key(name.split("+")[-1])


def script() -> ModuleType:
    path = REPO / "tools" / "make_supplement_font.py"
    spec = importlib.util.spec_from_file_location("make_supplement_font", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Built:
    manifest: Path
    stderr: str

    @property
    def pdf(self) -> Path:
        return self.manifest.parent / "dist" / "book.pdf"

    def page(self) -> int:
        """The index of the page the paragraph is on."""
        pages = pypdf.PdfReader(self.pdf).pages
        (index,) = [i for i, p in enumerate(pages) if "Monsieur de" in p.extract_text()]
        return index


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    manifest = copy_book("sample", tmp_path_factory.mktemp("supplement"))
    essay = manifest.parent / "chapters" / "02-the-anora-ending.md"
    with essay.open("a", encoding="utf-8") as f:
        f.write(f"\n{PARAGRAPH}\n")
    result = CliRunner().invoke(main, ["build", str(manifest), "--format", "pdf", "--strict"])
    assert result.exit_code == 0, result.output
    return Built(manifest, result.stderr)


def used_fonts(page: pikepdf.Page) -> dict[str, pikepdf.Object]:
    """The fonts the page's text is set in (its `Tf` operators), by /BaseFont."""
    resources = page.Resources.get("/Font", pikepdf.Dictionary())
    names = {
        str(instruction.operands[0])
        for instruction in pikepdf.parse_content_stream(page)
        if str(instruction.operator) == "Tf"
    }
    return {str(resources[n].BaseFont).lstrip("/"): resources[n] for n in names}


def widths(font: pikepdf.Object) -> dict[str, float]:
    """A Type0 font's widths (1/1000 em) by the character each glyph is (its ToUnicode)."""
    cmap = font.ToUnicode.read_bytes().decode("ascii")
    chars = {
        int(cid, 16): chr(int(code, 16)) for cid, code in re.findall(r"<(\w+)> <(\w{4})>", cmap)
    }
    by_cid: dict[int, float] = {}
    w = list(font.DescendantFonts[0].W)
    while w:
        first = int(w.pop(0))
        if isinstance(w[0], pikepdf.Array):
            by_cid.update((first + i, float(v)) for i, v in enumerate(w.pop(0)))
        else:
            last, value = int(w.pop(0)), float(w.pop(0))
            by_cid.update((cid, value) for cid in range(first, last + 1))
    return {chars[cid]: value for cid, value in by_cid.items() if cid in chars}


def test_libertine_lacks_the_dashes_the_supplement_has() -> None:
    libertine = glyphs.coverage(LIBERTINE)
    supplement = glyphs.coverage([SUPPLEMENT])
    assert supplement == {ord(ch) for ch in RULES}
    assert not supplement & libertine


def test_a_book_with_the_dashes_builds_strict_without_a_warning(built: Built) -> None:
    assert "warning" not in built.stderr


def test_the_check_counts_the_supplement_as_a_face_of_the_book(built: Built) -> None:
    _, book = load(built.manifest)
    faces = glyphs.book_faces(book)
    assert faces["Make Book Supplement"] == (SUPPLEMENT.resolve(),)
    assert glyphs.missing_glyphs(book, built.manifest, glyphs.coverage(faces["Book Serif"]))
    every = glyphs.coverage(f for files in faces.values() for f in files)
    assert glyphs.missing_glyphs(book, built.manifest, every) == []


def test_the_page_sets_them_in_the_supplement_and_no_system_face(built: Built) -> None:
    with pikepdf.open(built.pdf) as pdf:
        names = used_fonts(pdf.pages[built.page()])
    keys = {key(name) for name in names}
    assert "makebooksupplement" in keys
    book = {glyphs.font_key("Book Serif"), glyphs.font_key("Make Book Supplement")}
    assert [n for n in names if not any(key(n).startswith(k) for k in book)] == []
    assert not [n for n in names if re.search("noto|dejavu", n, re.I)]


def test_the_text_keeps_the_dashes(built: Built) -> None:
    text = pypdf.PdfReader(built.pdf).pages[built.page()].extract_text()
    assert PARAGRAPH in " ".join(text.split())


def test_each_rule_is_as_wide_as_its_ems(built: Built) -> None:
    with pikepdf.open(built.pdf) as pdf:
        fonts = used_fonts(pdf.pages[built.page()])
        (font,) = [f for name, f in fonts.items() if key(name) == "makebooksupplement"]
        assert widths(font) == {ch: ems * 1000.0 for ch, ems in RULES.items()}


def test_the_rules_sit_at_libertine_s_em_dash() -> None:
    libertine = TTFont(FONTS / "LinLibertine_R.otf")
    glyph_set = libertine.getGlyphSet()
    pen = BoundsPen(glyph_set)
    glyph_set[libertine.getBestCmap()[0x2014]].draw(pen)
    assert pen.bounds is not None
    _, bottom, _, top = pen.bounds
    supplement = TTFont(SUPPLEMENT)
    upm = supplement["head"].unitsPerEm
    assert upm == libertine["head"].unitsPerEm
    for ch, ems in RULES.items():
        name = supplement.getBestCmap()[ord(ch)]
        glyph = supplement["glyf"][name]
        assert (glyph.yMin, glyph.yMax) == (round(bottom), round(top))
        assert supplement["hmtx"][name][0] == ems * upm
    assert supplement["hhea"].ascent == libertine["hhea"].ascent
    assert supplement["hhea"].descent == libertine["hhea"].descent


def test_the_committed_font_is_what_the_script_draws() -> None:
    make = script()
    assert make.build_font(make.libertine_metrics()) == SUPPLEMENT.read_bytes()

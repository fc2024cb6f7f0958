"""Print profiles: each builds, meets its own preflight, and is what its printer asks for.

Two books: the sample (21 pages, padded for the printers' minimums) and Montaigne
set at 5x8in, which runs past 200 pages and so takes KDP's second gutter.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest

from helpers import BookCopy
from make_book.build.driver import build
from make_book.preflight.checks import preflight
from make_book.profiles import KDP_GUTTER, PROFILES
from make_book.render.pdf.page_css import print_settings
from make_book.source.manifest_types import PdfSettings

PT = 72.0
Builder = Callable[[str, str], Path]


def _montaigne_5x8(dest: Path, book_copy: BookCopy) -> Path:
    manifest = book_copy("montaigne")
    text = manifest.read_text("utf-8")
    manifest.write_text(text + "\npdf:\n  trim: 5x8in\n  font_size: 11\n", "utf-8")
    return manifest


@pytest.fixture(scope="session")
def press(session_book: BookCopy, tmp_path_factory: pytest.TempPathFactory) -> Builder:
    """`press("sample", "kdp")`: the PDF of a session-wide build of that book and profile."""
    made: dict[tuple[str, str], Path] = {}
    books: dict[str, Path] = {}

    def get(name: str, profile: str) -> Path:
        if name not in books:
            books[name] = _book(name, session_book, tmp_path_factory)
        if (name, profile) not in made:
            out = tmp_path_factory.mktemp(f"press-{name}-{profile}")
            build(books[name], out, ["pdf"], [profile])
            made[name, profile] = out / PROFILES[profile].file_name("book")
        return made[name, profile]

    return get


def _book(name: str, session_book: BookCopy, factory: pytest.TempPathFactory) -> Path:
    if name != "montaigne-5x8":
        return session_book(name)
    manifest = session_book("montaigne")
    copy = factory.mktemp("montaigne-5x8")
    shutil.copytree(manifest.parent, copy, dirs_exist_ok=True)
    text = (copy / "book.yaml").read_text("utf-8")
    (copy / "book.yaml").write_text(text + "\npdf:\n  trim: 5x8in\n  font_size: 11\n", "utf-8")
    return copy / "book.yaml"


BOOKS = ("sample", "montaigne-5x8")


@pytest.mark.parametrize("book", BOOKS)
@pytest.mark.parametrize("profile", list(PROFILES))
def test_profile_passes_its_preflight_and_qpdf(press: Builder, book: str, profile: str) -> None:
    path = press(book, profile)
    assert preflight(path, PROFILES[profile]) == []
    with pikepdf.open(path) as pdf:
        assert pdf.check_pdf_syntax() == []  # qpdf's own structural check


def test_montaigne_runs_past_200_pages(press: Builder) -> None:
    with pikepdf.open(press("montaigne-5x8", "kdp")) as pdf:
        assert len(pdf.pages) > 200


@pytest.mark.parametrize("book", BOOKS)
def test_print_profiles_have_no_outline_links_or_marks(press: Builder, book: str) -> None:
    for profile in ("kdp", "ingram"):
        with pikepdf.open(press(book, profile)) as pdf:
            assert "/Outlines" not in pdf.Root
            assert all("/Annots" not in page.obj for page in pdf.pages)
            assert len(pdf.pages) % 2 == 0
            assert len(pdf.pages) >= PROFILES[profile].min_pages
            for page in pdf.pages:  # no marks: the page is the trim, nothing more
                assert list(page.mediabox) == list(page.trimbox)


def test_screen_and_archive_keep_bookmarks_links_and_tags(press: Builder) -> None:
    for profile in ("screen", "archive"):
        with pikepdf.open(press("sample", profile)) as pdf:
            assert len(pdf.open_outline().root) > 0
            assert "/StructTreeRoot" in pdf.Root
            assert any("/Annots" in page.obj for page in pdf.pages)


def test_screen_declares_pdf_ua_and_archive_pdf_a(press: Builder) -> None:
    with pikepdf.open(press("sample", "screen")) as pdf:
        assert pdf.open_metadata().get("pdfuaid:part") == "1"
    with pikepdf.open(press("sample", "archive")) as pdf:
        meta = pdf.open_metadata()
        assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == ("2", "B")
        assert pdf.Root.OutputIntents[0].S == "/GTS_PDFA1"


@pytest.mark.parametrize("book", BOOKS)
def test_ingram_is_pdf_x1a_2001_in_black_only(press: Builder, book: str) -> None:
    with pikepdf.open(press(book, "ingram")) as pdf:
        assert pdf.pdf_version == "1.3"
        assert str(pdf.docinfo.GTS_PDFXVersion) == "PDF/X-1:2001"
        assert str(pdf.docinfo.GTS_PDFXConformance) == "PDF/X-1a:2001"
        assert pdf.docinfo.Trapped == pikepdf.Name("/False")
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFX" and intent.DestOutputProfile.N == 4
        operators = set()
        for page in pdf.pages[:40]:
            operators |= {str(op) for _, op in pikepdf.parse_content_stream(page)}
            for _, font in page.Resources.get("/Font", {}).items():
                program = font.DescendantFonts[0].FontDescriptor.FontFile3
                assert program.Subtype == "/CIDFontType0C"  # PDF 1.3 has no OpenType fonts
        assert not operators & {"rg", "RG", "sc", "scn", "cs"}
        assert "k" in operators


def test_ingram_text_is_one_hundred_percent_k(press: Builder) -> None:
    with pikepdf.open(press("sample", "ingram")) as pdf:
        fills = {
            tuple(float(v) for v in operands)
            for page in pdf.pages
            for operands, op in pikepdf.parse_content_stream(page)
            if str(op) == "k"
        }
    assert (0.0, 0.0, 0.0, 1.0) in fills
    assert all(c == m == y == 0 for c, m, y, _ in fills)


@pytest.mark.parametrize("book", BOOKS)
def test_ingram_renders_in_ghostscript(press: Builder, book: str) -> None:
    if shutil.which("gs") is None:
        pytest.skip("Ghostscript is not installed (.ci/run installs it)")
    run = subprocess.run(
        [
            "gs",
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-dSAFER",
            "-sDEVICE=nullpage",
            str(press(book, "ingram")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and "Error" not in run.stdout + run.stderr, run.stdout + run.stderr


def test_kdp_gutter_follows_the_page_count() -> None:
    kdp = PROFILES["kdp"]
    narrow = PdfSettings(margin_inside=0.3)
    assert [
        print_settings(narrow, kdp, n).margin_inside for n in (24, 150, 151, 300, 301, 828)
    ] == [
        0.375,
        0.375,
        0.5,
        0.5,
        0.625,
        0.875,
    ]
    assert print_settings(PdfSettings(margin_inside=1.0), kdp, 800).margin_inside == 1.0
    assert [up_to for up_to, _ in KDP_GUTTER][-1] == kdp.max_pages


def test_safe_margins_grow_for_ingram_and_bleed() -> None:
    tight = PdfSettings(margin_top=0.3, margin_bottom=0.3, margin_outside=0.2, margin_inside=0.2)
    ingram = print_settings(tight, PROFILES["ingram"], 100)
    assert ingram.margin_outside >= 0.5 and ingram.margin_top >= 0.5 + 0.4
    bled = print_settings(PdfSettings(margin_outside=0.3, bleed=True), PROFILES["kdp"], 100)
    assert bled.margin_outside == 0.375


def _recto_text_left(path: Path, index: int) -> float:
    from pypdf import PdfReader

    xs: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():  # WeasyPrint draws in CSS px under a 0.75 scale: apply the CTM
            xs.append(tm[4] * cm[0] + cm[4])

    page = PdfReader(path).pages[index]
    page.extract_text(visitor_text=visit)
    return min(xs) / PT - float(page.trimbox.left) / PT


def test_montaigne_kdp_inside_margin_is_the_gutter_for_its_length(
    press: Builder, book_copy: BookCopy, tmp_path: Path
) -> None:
    # Montaigne's own margins (0.875in inside) already exceed KDP's 0.5in at 200+ pages:
    # make them narrower, so the table has to widen them.
    manifest = _montaigne_5x8(tmp_path, book_copy)
    text = manifest.read_text("utf-8") + "  margins: {inside: 0.3in, outside: 0.3in}\n"
    manifest.write_text(text, "utf-8")
    build(manifest, tmp_path / "out", ["pdf"], ["kdp"])
    path = tmp_path / "out" / "book-kdp.pdf"
    with pikepdf.open(path) as pdf:
        pages = len(pdf.pages)
    assert 151 <= pages <= 300
    recto = next(i for i in range(40, 60) if i % 2 == 0)  # page index 40 is a recto (page 41)
    assert _recto_text_left(path, recto) == pytest.approx(0.5, abs=0.02)


def test_kdp_bleed_adds_an_eighth_inch_on_the_outside_edges(
    book_copy: BookCopy, tmp_path: Path
) -> None:
    manifest = book_copy("sample")
    text = manifest.read_text("utf-8").replace("pdf:\n", "pdf:\n  bleed: true\n")
    manifest.write_text(text, "utf-8")
    build(manifest, tmp_path, ["pdf"], ["kdp"])
    with pikepdf.open(tmp_path / "book-kdp.pdf") as pdf:
        for index, page in enumerate(pdf.pages):
            media = [float(v) / PT for v in page.mediabox]
            trim = [float(v) / PT for v in page.trimbox]
            assert media[2] - media[0] == pytest.approx(6.125)
            assert media[3] - media[1] == pytest.approx(9.25)
            outside_left = index % 2 == 1  # versos bleed on the left
            assert (trim[0] - media[0] > 0.1) == outside_left
            assert (media[2] - trim[2] > 0.1) == (not outside_left)
    assert preflight(tmp_path / "book-kdp.pdf", PROFILES["kdp"], bleed=True) == []


def test_padding_reaches_the_minimum_then_an_even_count() -> None:
    kdp, ingram, screen = PROFILES["kdp"], PROFILES["ingram"], PROFILES["screen"]
    assert [kdp.padded(n) for n in (3, 24, 25, 200)] == [24, 24, 26, 200]
    assert [ingram.padded(n) for n in (3, 19, 20)] == [18, 20, 20]
    assert screen.padded(21) == 21


def test_a_profile_that_cannot_be_met_fails_and_writes_nothing(
    book_copy: BookCopy, tmp_path: Path
) -> None:
    from make_book.errors import RenderError

    manifest = book_copy("sample")
    styles = manifest.parent / "styles"
    styles.mkdir(exist_ok=True)
    theme = Path(__file__).parents[1] / "src/make_book/themes/default/styles/print.css"
    css = theme.read_text("utf-8") + "\n.essay-body p { opacity: 0.5 }\n"
    (styles / "print.css").write_text(css, "utf-8")
    with pytest.raises(RenderError, match="transparency"):
        build(manifest, tmp_path / "out", ["pdf"], ["ingram"])
    assert list((tmp_path / "out").iterdir()) == []  # not even a temporary file


@pytest.fixture(scope="module")
def covers(session_book: BookCopy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("covers")
    build(session_book("sample"), out, ["pdf", "cover"], list(PROFILES))
    return out


@pytest.mark.parametrize("profile", list(PROFILES))
def test_each_profile_has_a_cover_that_passes_the_cover_rules(covers: Path, profile: str) -> None:
    path = covers / PROFILES[profile].file_name("cover")
    assert preflight(path, PROFILES[profile].for_cover()) == []
    with pikepdf.open(path) as pdf:
        assert len(pdf.pages) == 1 and "/Outlines" not in pdf.Root
        media, trim = pdf.pages[0].mediabox, pdf.pages[0].trimbox
        assert [float(m) - float(t) for m, t in zip(media[:2], trim[:2], strict=True)] == [-9, -9]


def test_the_ingram_cover_is_pdf_x1a_in_managed_cmyk(covers: Path) -> None:
    with pikepdf.open(covers / "cover-ingram.pdf") as pdf:
        assert pdf.pdf_version == "1.3"
        assert str(pdf.docinfo.GTS_PDFXConformance) == "PDF/X-1a:2001"
        fills = [
            [float(v) for v in ins.operands]
            for ins in pikepdf.parse_content_stream(pdf.pages[0])
            if str(ins.operator) in ("k", "K", "rg", "RG")
        ]
        operators = {str(ins.operator) for ins in pikepdf.parse_content_stream(pdf.pages[0])}
    assert not operators & {"rg", "RG"}
    assert any(min(fill[:3]) > 0.1 for fill in fills)  # real colour, not only K
    assert all(sum(fill) <= 2.4 + 1e-6 for fill in fills)  # IngramSpark's 240% ink limit


def test_a_cover_sheet_of_the_wrong_size_fails_its_preflight(covers: Path, tmp_path: Path) -> None:
    broken = tmp_path / "cover.pdf"
    with pikepdf.open(covers / "cover-ingram.pdf") as pdf:
        pdf.pages[0].mediabox = pikepdf.Array([0, 0, 612, 792])
        pdf.save(broken)
    rules = [f.rule for f in preflight(broken, PROFILES["ingram"].for_cover())]
    assert "page-size" in rules


def test_print_images_are_downsampled_to_300_dpi_and_gray_for_ingram(
    book_copy: BookCopy, tmp_path: Path
) -> None:
    from PIL import Image

    manifest = book_copy("sample")
    images = manifest.parent / "images"
    images.mkdir()
    Image.new("CMYK", (1800, 1200), (0, 200, 200, 0)).save(images / "red.jpg")  # CMYK JPEG
    essay = manifest.parent / "chapters" / "01-making-magic.md"
    essay.write_text(essay.read_text("utf-8") + "\n\n![A red field](../images/red.jpg)\n", "utf-8")
    build(manifest, tmp_path, ["pdf"], ["kdp", "ingram"])
    for name, space in (("book-kdp.pdf", None), ("book-ingram.pdf", "/DeviceGray")):
        with pikepdf.open(tmp_path / name) as pdf:
            found = {x.objgen: x for page in pdf.pages for x in page.get_images().values()}
            (image,) = [pikepdf.PdfImage(x) for x in found.values()]
            assert image.width < 1800  # WeasyPrint resampled it to the placed size at 300 dpi
            if space:
                assert str(image.colorspace) == space
    assert preflight(tmp_path / "book-ingram.pdf", PROFILES["ingram"]) == []


def test_preflight_of_an_encrypted_pdf_is_a_finding(press: Builder, tmp_path: Path) -> None:
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(press("sample", "screen")) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(owner="o", user="u"))
    (finding,) = preflight(locked, PROFILES["kdp"])
    assert finding.rule == "unreadable" and "encrypted" in finding.message

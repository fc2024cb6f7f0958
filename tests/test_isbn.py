"""The ISBN: checked in book.yaml, printed on the copyright page, the EPUB's identifier,
and drawn as an EAN-13 barcode (with a price add-on) on the wrap cover, in black ink
alone for a CMYK press. The barcode is read back with zbarimg (Debian's zbar-tools)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import jsonschema
import pikepdf
import pytest
import yaml
from pypdf import PdfReader

from helpers import REPO, BookCopy, Epub, EpubCheckResult, assert_epubcheck_clean, copy_book
from make_book.build.driver import build, load
from make_book.errors import BookError
from make_book.render.cover import wrap
from make_book.render.cover.ean import MAX_SCALE, MIN_SCALE, BarcodePlan, plan
from make_book.render.cover.wrap import BARCODE_SIZE, cover_geometry, wrap_html
from make_book.source.manifest import load_manifest
from make_book.source.manifest_types import PdfSettings
from make_book.source.schema_export import json_schema

ISBN13 = "9780306406157"
HYPHENATED = "978-0-306-40615-7"
ISBN10 = "0-306-40615-2"  # the same book's ISBN-10
PRICE = "51995"  # USD 19.95
MM = 25.4  # per inch


# book.yaml


def write_book(folder: Path, lines: str) -> Path:
    """A one-essay book whose book.yaml ends with `lines`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.md").write_text("# An essay\n\nText.\n", encoding="utf-8")
    manifest = folder / "book.yaml"
    manifest.write_text(f"title: T\ncontents: [a.md]\n{lines}\n", encoding="utf-8")
    return manifest


def problems(manifest: Path) -> list[str]:
    """What the loader says is wrong, one string a problem ([] when it accepts the file)."""
    try:
        load_manifest(manifest)
    except BookError as error:
        return [str(p) for p in error.problems]
    return []


@pytest.mark.parametrize(
    "written",
    [ISBN13, HYPHENATED, ISBN10, "0306406152", "'978 0 306 40615 7'", f"'{ISBN10}'"],
)
def test_an_isbn_is_kept_as_isbn_13_and_becomes_the_identifier(
    tmp_path: Path, written: str
) -> None:
    manifest = load_manifest(write_book(tmp_path, f"isbn: {written}"))
    assert (manifest.isbn, manifest.identifier) == (ISBN13, f"urn:isbn:{ISBN13}")


def test_an_isbn_10_ending_in_x_is_converted(tmp_path: Path) -> None:
    manifest = load_manifest(write_book(tmp_path, "isbn: 0-8044-2957-x"))
    assert manifest.isbn == "9780804429573"


def test_an_identifier_that_is_an_isbn_is_the_isbn(tmp_path: Path) -> None:
    manifest = load_manifest(write_book(tmp_path, f"identifier: URN:ISBN:{ISBN10}\nprice: 90000"))
    assert (manifest.isbn, manifest.identifier, manifest.price) == (
        ISBN13,
        f"urn:isbn:{ISBN13}",
        "90000",
    )


def test_a_book_without_an_isbn_keeps_its_identifier(tmp_path: Path) -> None:
    manifest = load_manifest(write_book(tmp_path, "identifier: urn:uuid:1234"))
    assert (manifest.isbn, manifest.identifier, manifest.price) == ("", "urn:uuid:1234", "")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            "\n\nisbn: '978-0-306-40615-6'",
            "book.yaml:5:7: isbn: '978-0-306-40615-6' has the wrong check digit:"
            " it should end in 7",
        ),
        ("isbn: 0-306-40615-3", "book.yaml:3:7: isbn: '0-306-40615-3' has the wrong check digit:"),
        ("isbn: 9770306406157", "it should end in 8"),
        ("isbn: 9771234567898", "9771234567898 is not an ISBN: an ISBN-13 begins with 978"),
        ("isbn: 978-0-306", "isbn: expected an ISBN-13 or ISBN-10"),
        ("isbn: ISBN 978-0-306-40615-7", "found 'ISBN 978-0-306-40615-7'"),
        (
            "identifier: urn:isbn:978-0-306-40615-6",
            "3:13: identifier: 'urn:isbn:978-0-306-40615-6' has the wrong check digit",
        ),
        (f"identifier: urn:uuid:1\nisbn: {ISBN13}", "identified by it; drop identifier"),
        (
            f"identifier: urn:isbn:9791090636071\nisbn: {ISBN13}",
            "is not the same ISBN as isbn",
        ),
        ("price: 51995", "book.yaml:3:8: price: needs an isbn"),
        (f"isbn: {ISBN13}\nprice: 5199", "price: expected five digits such as 51995"),
        (f"isbn: {ISBN13}\nprice: '$19.95'", "found '$19.95'"),
    ],
)
def test_a_wrong_isbn_or_price_is_refused(tmp_path: Path, lines: str, expected: str) -> None:
    found = problems(write_book(tmp_path, lines))
    assert len(found) == 1, found
    assert expected in found[0], found


def test_a_wrong_check_digit_exits_2_on_one_line(tmp_path: Path) -> None:
    manifest = write_book(tmp_path, "\n\nisbn: '978-0-306-40615-6'")
    run = subprocess.run(
        [sys.executable, "-m", "make_book", "check", str(manifest)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [
        f"error: {manifest}:5:7: isbn: '978-0-306-40615-6' has the wrong check digit:"
        " it should end in 7"
    ]


@pytest.mark.parametrize(
    ("lines", "valid"),
    [
        (f"isbn: {HYPHENATED}", True),
        (f"isbn: {ISBN13}", True),
        ("isbn: '080442957X'", True),
        ("isbn: '978 0 306 40615 7'", True),
        ("isbn: 978-0-306", False),
        ("isbn: 978--0-306-40615-7", False),
        (f"isbn: ISBN {HYPHENATED}", False),
        ("isbn: [1]", False),
        (f"isbn: {ISBN13}\nprice: 51995", True),
        (f"isbn: {ISBN13}\nprice: '05199'", True),
        (f"isbn: {ISBN13}\nprice: 5199", False),
        (f"isbn: {ISBN13}\nprice: 519950", False),
        (f"isbn: {ISBN13}\nprice: '5199a'", False),
    ],
)
def test_the_loader_and_the_json_schema_agree(tmp_path: Path, lines: str, valid: bool) -> None:
    """As tests/test_schema.py checks for every other kind (the check digit is the
    loader's alone: a JSON Schema cannot compute it)."""
    manifest = write_book(tmp_path, lines)
    assert (problems(manifest) == []) is valid
    data = yaml.safe_load(manifest.read_text("utf-8"))
    errors = list(jsonschema.Draft202012Validator(json_schema()).iter_errors(data))
    assert (errors == []) is valid, errors


# The barcode's size


@pytest.mark.parametrize("price", ["", PRICE])
def test_the_barcode_is_sized_as_the_printers_guides_allow(price: str) -> None:
    room = (BARCODE_SIZE[0] * MM, BARCODE_SIZE[1] * MM)
    fitted = plan(ISBN13, price, room)
    assert MIN_SCALE <= fitted.scale <= min(1.0, MAX_SCALE)
    assert fitted.width <= room[0] and fitted.height <= room[1]
    # Light zones: 11 modules left, 7 right; or 9 to the add-on and 5 after it.
    assert fitted.modules_wide == (11 + 95 + 9 + 47 + 5 if price else 11 + 95 + 7)


def test_the_nominal_symbol_is_37_29_by_25_93_mm() -> None:
    nominal = BarcodePlan(ISBN13, "", 1.0)
    assert nominal.width == pytest.approx(37.29)
    assert nominal.bars + nominal.digit_room == pytest.approx(25.93)
    assert plan(ISBN13, "", (50.8, 30.48)).scale == 1.0  # it fits KDP's area at 100%


# A book with an ISBN, built


@pytest.fixture(scope="module")
def isbn_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample book with an ISBN-10 (converted) and a price."""
    manifest = copy_book("sample", tmp_path_factory.mktemp("isbn-book"))
    with manifest.open("a", encoding="utf-8") as f:
        f.write(f"isbn: {ISBN10}\nprice: '{PRICE}'\n")
    return manifest


class Collect(logging.Handler):
    """make-book's warnings, caught on its own logger (the CLI turns propagation off)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def isbn_build(isbn_book: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Its PDF, EPUB and covers for the screen and for IngramSpark (PDF/X-1a, CMYK), and
    the warnings of the build."""
    out = tmp_path_factory.mktemp("isbn-dist")
    collect, logger = Collect(), logging.getLogger("make_book")
    logger.addHandler(collect)
    try:
        build(isbn_book, out, ["pdf", "epub", "cover"], ["screen", "ingram"])
    finally:
        logger.removeHandler(collect)
    return out, collect.messages


@pytest.fixture(scope="module")
def isbn_dist(isbn_build: tuple[Path, list[str]]) -> Path:
    return isbn_build[0]


def test_the_cover_is_drawn_without_warnings(isbn_build: tuple[Path, list[str]]) -> None:
    """The SVG's styles, say, are nothing WeasyPrint warns about (--strict would fail)."""
    assert isbn_build[1] == []


def test_the_copyright_page_prints_the_isbn_hyphenated(isbn_dist: Path) -> None:
    pages = [page.extract_text() for page in PdfReader(isbn_dist / "book.pdf").pages]
    with_isbn = [text for text in pages if "ISBN" in text]
    assert len(with_isbn) == 1
    assert f"ISBN {HYPHENATED}" in with_isbn[0]
    assert "All rights reserved" in with_isbn[0]  # the copyright page


def test_the_epub_is_identified_by_the_isbn(
    isbn_dist: Path, epubcheck_of: Callable[[Path], EpubCheckResult]
) -> None:
    epub = Epub(isbn_dist / "book.epub")
    assert epub.xpath("/opf:package/opf:metadata/dc:identifier/text()") == [f"urn:isbn:{ISBN13}"]
    assert_epubcheck_clean(epubcheck_of(isbn_dist / "book.epub"))


def scanned(pdf: Path) -> list[str]:
    """What zbarimg reads in the cover's barcode area, drawn at 300 dpi."""
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is not installed (Debian's zbar-tools)")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Poppler) is not installed")
    # The area is placed from the back panel's corner: the spine's width does not move it.
    box, dpi = cover_geometry(PdfSettings(trim=(6.0, 9.0)), 100).barcode, 300
    png = pdf.with_name(pdf.stem + "-barcode")
    crop = [round(v * dpi) for v in (box.x, box.y, box.width, box.height)]
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-singlefile"]
        + ["-x", str(crop[0]), "-y", str(crop[1]), "-W", str(crop[2]), "-H", str(crop[3])]
        + [str(pdf), str(png)],
        check=True,
        capture_output=True,
    )
    read = subprocess.run(
        ["zbarimg", "-q", "-Sean5.enable", f"{png}.png"],
        capture_output=True,
        text=True,
        check=False,
    )
    return sorted(read.stdout.split())


@pytest.mark.parametrize("cover", ["cover.pdf", "cover-ingram.pdf"])
def test_the_barcode_scans_as_the_isbn_and_the_price(isbn_dist: Path, cover: str) -> None:
    assert scanned(isbn_dist / cover) == [f"EAN-13:{ISBN13}", f"EAN-5:{PRICE}"]


def test_without_a_price_the_barcode_has_no_add_on(book_copy: BookCopy, tmp_path: Path) -> None:
    manifest = book_copy("sample")
    with manifest.open("a", encoding="utf-8") as f:
        f.write(f"isbn: {HYPHENATED}\n")
    build(manifest, tmp_path, ["cover"], ["kdp"])
    assert scanned(tmp_path / "cover-kdp.pdf") == [f"EAN-13:{ISBN13}"]


def cmyk_fills(pdf: Path) -> set[tuple[float, ...]]:
    """Every CMYK colour a page's content (forms included) sets."""
    found: set[tuple[float, ...]] = set()

    def visit(stream: pikepdf.Object, resources: pikepdf.Object) -> None:
        for instruction in pikepdf.parse_content_stream(stream):
            if str(instruction.operator) in ("k", "K"):
                found.add(tuple(round(float(v), 4) for v in instruction.operands))
        for xobject in resources.get("/XObject", pikepdf.Dictionary()).values():
            if xobject.get("/Subtype") == pikepdf.Name.Form:
                visit(xobject, xobject.get("/Resources", pikepdf.Dictionary()))

    with pikepdf.open(pdf) as document:
        page = document.pages[0]
        visit(page, page.Resources)
    return found


def test_the_bars_are_black_ink_alone_on_a_cmyk_cover(
    isbn_dist: Path, session_book: BookCopy, tmp_path: Path
) -> None:
    build(session_book("sample"), tmp_path, ["cover"], ["ingram"])
    without = cmyk_fills(tmp_path / "cover-ingram.pdf")
    with_barcode = cmyk_fills(isbn_dist / "cover-ingram.pdf")
    # Black for bars and digits is K 100% (not four inks); the rest is the design's own.
    assert with_barcode - without == {(0.0, 0.0, 0.0, 1.0)}
    assert (0.0, 0.0, 0.0, 1.0) not in without


# The theme's part


def test_without_an_isbn_the_area_stays_empty(session_book: BookCopy) -> None:
    manifest, book = load(session_book("sample"))
    html = wrap_html(book, manifest, cover_geometry(manifest.pdf, 100))
    assert '<div class="barcode"></div>' in html
    with_isbn = wrap_html(book, replace(manifest, isbn=ISBN13), cover_geometry(manifest.pdf, 100))
    assert '<div class="barcode"><svg' in with_isbn


def test_a_wrap_html_without_the_barcode_is_warned_about(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest_path = book_copy("sample")
    theme = REPO / "src/make_book/themes/default/templates/wrap.html"
    (manifest_path.parent / "templates").mkdir(exist_ok=True)
    own = theme.read_text("utf-8").replace("{{ barcode }}", "")
    (manifest_path.parent / "templates" / "wrap.html").write_text(own, "utf-8")
    manifest, book = load(manifest_path)
    warned: list[str] = []
    monkeypatch.setattr(wrap.log, "warning", lambda message, *args: warned.append(message))
    wrap_html(book, replace(manifest, isbn=ISBN13), cover_geometry(manifest.pdf, 100))
    assert warned == [
        "cover: wrap.html does not place {{ barcode }}; the ISBN's barcode is left out"
    ]

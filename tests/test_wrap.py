"""The wrap cover: its geometry, and the PDF it writes, read back with pypdf."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from helpers import BookCopy, text_matrix
from make_book.build.driver import build, load
from make_book.render.base import PrintPages, RenderContext
from make_book.render.cover.renderer import WrapCoverRenderer
from make_book.render.cover.wrap import (
    Box,
    CoverGeometry,
    cover_dpi,
    cover_geometry,
    main_title,
)
from make_book.source.manifest_types import PdfSettings

PT = 72  # PDF points per inch
WHITE = PdfSettings(trim=(6.0, 9.0))
CREAM = PdfSettings(trim=(6.0, 9.0), paper="cream", paper_thickness=0.0025)
LONG_BLURB = "\n\n".join(
    [
        "> “A book that makes you see the film again, and differently.” — *A Reviewer*",
        "Sean Baker’s *Anora* won the Palme d’Or and then five Oscars on a budget most"
        " studio pictures spend on catering. These essays ask how. " * 4,
        "Between them they make a case for a kind of cinema that trusts its audience,"
        " and for criticism that takes its time. " * 4,
        "The essays first appeared online and have been revised for this edition. " * 3,
    ]
)


# Geometry


@pytest.mark.parametrize(
    ("settings", "pages", "spine", "width", "spine_text"),
    [
        (WHITE, 24, 0.054048, 12.304048, False),
        (WHITE, 79, 0.177908, 12.427908, False),
        (WHITE, 80, 0.18016, 12.43016, True),
        (WHITE, 300, 0.6756, 12.9256, True),
        (CREAM, 300, 0.75, 13.0, True),
    ],
)
def test_geometry(
    settings: PdfSettings, pages: int, spine: float, width: float, spine_text: bool
) -> None:
    g = cover_geometry(settings, pages)
    assert g.spine_width == pytest.approx(spine)
    assert g.full_width == pytest.approx(width)
    assert g.full_height == pytest.approx(9.25)
    assert g.bleed == 0.125
    assert g.spine_text is spine_text
    assert g.trim_box == Box(0.125, 0.125, pytest.approx(width - 0.25), 9.0)


def test_barcode_box_sits_in_the_back_panels_lower_right_corner() -> None:
    g = cover_geometry(WHITE, 300)
    assert g.barcode == Box(pytest.approx(3.875), pytest.approx(7.675), 2.0, 1.2)
    assert g.spine.x - g.barcode.right == pytest.approx(0.25)  # clear of the spine
    assert g.back.bottom - g.barcode.bottom == pytest.approx(0.25)  # clear of the trim


def test_panels_and_spine_type() -> None:
    g = cover_geometry(WHITE, 300)
    assert g.back == Box(0.125, 0.125, 6.0, 9.0)
    assert g.spine.x == pytest.approx(6.125)
    assert g.front.x == pytest.approx(6.125 + 0.6756)
    assert g.front.right + g.bleed == pytest.approx(g.full_width)
    assert g.front_with_bleed.width == pytest.approx(6.125)
    assert g.front_with_bleed.height == pytest.approx(9.25)
    # Capitals fit between the clearances at every size that gets spine text.
    for pages in (80, 120, 300, 800):
        thin = cover_geometry(WHITE, pages)
        assert thin.spine_type_pt * 0.658 <= thin.spine_room * PT


def test_thin_paper_leaves_a_narrow_spine_blank() -> None:
    thin = cover_geometry(replace(WHITE, paper="0.0015in", paper_thickness=0.0015), 90)
    assert not thin.spine_text  # 0.135 in: 0.01 in between the clearances


@pytest.mark.parametrize(
    ("settings", "pages", "line"),
    [
        (WHITE, 104, "12.484 x 9.25 in (spine 0.234 in, 104 pages, white paper)"),
        (CREAM, 300, "13 x 9.25 in (spine 0.75 in, 300 pages, cream paper)"),
        (
            replace(WHITE, paper="0.002in", paper_thickness=0.002),
            200,
            "12.65 x 9.25 in (spine 0.4 in, 200 pages, paper 0.0020 in/page)",
        ),
    ],
)
def test_describe(settings: PdfSettings, pages: int, line: str) -> None:
    assert cover_geometry(settings, pages).describe() == line


def test_cover_dpi_at_the_front_panel_with_bleed(tmp_path: Path) -> None:
    image = tmp_path / "cover.png"
    Image.new("RGB", (1838, 2775), (90, 30, 20)).save(image)
    g = cover_geometry(WHITE, 200)
    assert cover_dpi(image, g) == pytest.approx(300, abs=0.1)  # 6.125 x 9.25 in at 300
    Image.new("RGB", (1838, 1838), (90, 30, 20)).save(image)  # square: cropped at the sides
    assert cover_dpi(image, g) == pytest.approx(1838 / 9.25)


def test_main_title_drops_what_follows_a_colon() -> None:
    assert main_title("Uses of Enchantment: Essays") == "Uses of Enchantment"
    assert main_title("No Colon Here") == "No Colon Here"
    assert main_title("<em>Anora</em>: Notes") == "<em>Anora</em>: Notes"  # inside markup


# The written PDF


@dataclass(frozen=True)
class Cover:
    path: Path
    reader: PdfReader
    geometry: CoverGeometry

    def texts(self) -> list[Placed]:
        """Every piece of text with where it starts (inches from the sheet's top-left)."""
        found: list[Placed] = []
        height = self.geometry.full_height

        def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
            if text.strip():
                m = text_matrix(tm, cm)
                found.append(Placed(text.strip(), m[4] / PT, height - m[5] / PT, m[0], m[1]))

        self.reader.pages[0].extract_text(visitor_text=visit)
        return found

    def text_in(self, box: Box) -> str:
        return " ".join(t.text for t in self.texts() if box.x <= t.x <= box.right)


@dataclass(frozen=True)
class Placed:
    text: str
    x: float  # inches from the sheet's left edge
    y: float  # inches from its top edge (the baseline's start)
    dx: float  # the text's direction in PDF space
    dy: float


def counted(pages: int, profile: str) -> PrintPages:
    """What the print layout tells the cover: an interior of `pages` pages."""
    return PrintPages(profile, page_count=pages, starts=(), source="")


def render_cover(
    manifest_path: Path, out: Path, pages: int, profile: str = "kdp", **changes: object
) -> Cover:
    """The cover for `pages` interior pages, with manifest fields replaced by `changes`."""
    manifest, book = load(manifest_path)
    manifest = replace(manifest, **changes)  # type: ignore[arg-type]
    ctx = RenderContext(manifest=manifest, out_dir=out, profile_name=profile)
    path = WrapCoverRenderer().render(book, ctx, counted(pages, profile)).path
    return Cover(path, PdfReader(path), cover_geometry(manifest.pdf, pages + pages % 2))


@pytest.fixture(scope="module")
def sample_cover(
    session_book: BookCopy, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[int], Cover]:
    """The sample book's cover at a page count, rendered once per module."""
    covers: dict[int, Cover] = {}

    def get(pages: int) -> Cover:
        if pages not in covers:
            out = tmp_path_factory.mktemp(f"cover-{pages}")
            covers[pages] = render_cover(session_book("sample"), out, pages)
        return covers[pages]

    return get


@pytest.fixture
def warnings_logged() -> Iterator[list[str]]:
    """make-book's warnings, caught on its own logger (the CLI turns propagation off)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("make_book")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize("pages", [40, 300])
def test_pdf_boxes(sample_cover: Callable[[int], Cover], pages: int) -> None:
    cover = sample_cover(pages)
    assert len(cover.reader.pages) == 1
    page = cover.reader.pages[0]
    width, height = cover.geometry.full_width * PT, cover.geometry.full_height * PT
    media = [float(v) for v in page.mediabox]
    assert media == pytest.approx([0, 0, width, height], abs=0.01)
    assert [float(v) for v in page.trimbox] == pytest.approx(
        [9, 9, width - 9, height - 9], abs=0.01
    )
    assert [float(v) for v in page.bleedbox] == pytest.approx(media, abs=0.01)


def test_file_name_follows_the_profile(session_book: BookCopy, tmp_path: Path) -> None:
    assert render_cover(session_book("sample"), tmp_path, 40, "screen").path.name == "cover.pdf"
    assert render_cover(session_book("sample"), tmp_path, 40, "kdp").path.name == "cover-kdp.pdf"


# A bound book has an even page count: a 79-page interior is printed (and its spine
# sized) as 80 pages, over KDP's 79, so it has spine text.
@pytest.mark.parametrize(("pages", "expected"), [(40, False), (78, False), (79, True), (300, True)])
def test_spine_text_only_above_79_pages(
    sample_cover: Callable[[int], Cover], pages: int, expected: bool
) -> None:
    cover = sample_cover(pages)
    spine = cover.text_in(cover.geometry.spine)
    assert ("AFTER THE FAIRY TALE" in spine) is expected, spine
    assert ("The Editors" in spine) is expected, spine


def test_spine_text_runs_top_to_bottom_inside_the_folds(
    sample_cover: Callable[[int], Cover],
) -> None:
    cover = sample_cover(300)
    spine = cover.geometry.spine
    placed = [t for t in cover.texts() if spine.x <= t.x <= spine.right]
    assert placed
    for text in placed:
        # Turned a quarter clockwise: in PDF space (y up) the baseline points down.
        assert abs(text.dx) < 1e-6 and text.dy < 0, text
        # The baseline lies in the band between the fold clearances.
        assert spine.x + 0.0625 < text.x < spine.right - 0.0625, text
        assert spine.y + 0.25 <= text.y <= spine.bottom - 0.25, text


def test_front_and_back_text(sample_cover: Callable[[int], Cover]) -> None:
    cover = sample_cover(300)
    front = cover.text_in(cover.geometry.front)
    assert "After the" in front and "Fairy Tale" in front
    assert "Two Essays on Sean Baker’s" in front
    assert "Edited by The Editors" in front
    back = cover.text_in(cover.geometry.back)
    assert "Two essays on Sean Baker’s Anora (2024)" in back  # the description
    assert "make-book" in back  # the publisher


def test_text_stays_inside_the_safe_area(sample_cover: Callable[[int], Cover]) -> None:
    cover = sample_cover(300)
    g = cover.geometry
    for text in cover.texts():
        assert 0.375 <= text.x <= g.full_width - 0.375, text
        assert 0.375 <= text.y <= g.full_height - 0.375, text


def test_back_cover_markdown_wins_over_the_description(
    session_book: BookCopy, tmp_path: Path
) -> None:
    blurb = "**Two essays**, one film.\n\nA second paragraph."
    cover = render_cover(session_book("sample"), tmp_path, 120, back_cover=blurb)
    back = cover.text_in(cover.geometry.back)
    assert "Two essays" in back and "A second paragraph." in back
    assert "(2024)" not in back


def _in_barcode(cover: Cover) -> list[Placed]:
    barcode = cover.geometry.barcode
    return [
        t
        for t in cover.texts()
        if barcode.x - 0.05 <= t.x <= barcode.right and barcode.y <= t.y <= barcode.bottom + 0.05
    ]


def test_nothing_is_printed_in_the_barcode_area(
    session_book: BookCopy, tmp_path: Path, warnings_logged: list[str]
) -> None:
    cover = render_cover(session_book("sample"), tmp_path, 120, back_cover=LONG_BLURB)
    assert not _in_barcode(cover)
    barcode = cover.geometry.barcode
    # The blurb was set smaller to end above the barcode area, not run beside or into it.
    blurb = [t for t in cover.texts() if t.x < barcode.right and t.text != "make-book"]
    assert "five Oscars" in " ".join(t.text for t in blurb)
    assert max(t.y for t in blurb) < barcode.y
    assert not warnings_logged
    _assert_blank(cover.path, barcode)


def _assert_blank(pdf: Path, box: Box) -> None:
    """Rasterise with Poppler and check that the box is plain white."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Poppler) is not installed")
    dpi = 30
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(pdf), str(pdf.with_suffix(""))],
        check=True,
        capture_output=True,
    )
    with Image.open(pdf.with_suffix(".png")) as image:
        inset = 2  # pixels: anti-aliasing at the box's edges
        crop = image.convert("RGB").crop(
            (
                round(box.x * dpi) + inset,
                round(box.y * dpi) + inset,
                round(box.right * dpi) - inset,
                round(box.bottom * dpi) - inset,
            )
        )
        assert crop.getextrema() == ((255, 255), (255, 255), (255, 255))


def test_long_title_is_shortened_on_the_spine(
    session_book: BookCopy, tmp_path: Path, warnings_logged: list[str]
) -> None:
    manifest_path = session_book("sample")
    manifest, book = load(manifest_path)
    title = "The Uses of Disenchantment: Endings, Fairy Tales and the Independent Film"
    new_meta = replace(book.meta, title=title, title_html=title)
    book = replace(book, meta=new_meta)
    ctx = RenderContext(manifest, tmp_path, "kdp")
    path = WrapCoverRenderer().render(book, ctx, counted(300, "kdp")).path
    cover = Cover(path, PdfReader(path), cover_geometry(manifest.pdf, 300))
    spine = cover.text_in(cover.geometry.spine)
    assert "THE USES OF DISENCHANTMENT" in spine and "ENDINGS" not in spine
    assert "Endings" in cover.text_in(cover.geometry.front)  # the front has it all
    assert not warnings_logged


def test_cover_image_fills_the_front(
    book_copy: BookCopy, tmp_path: Path, warnings_logged: list[str]
) -> None:
    manifest_path = book_copy("sample")
    (manifest_path.parent / "images").mkdir(exist_ok=True)
    Image.new("RGB", (600, 900), (120, 40, 30)).save(manifest_path.parent / "images" / "c.jpg")
    with manifest_path.open("a", encoding="utf-8") as f:
        f.write("cover: images/c.jpg\n")
    cover = render_cover(manifest_path, tmp_path, 200)
    images = list(cover.reader.pages[0].images)
    assert [(i.image.width, i.image.height) for i in images] == [(600, 900)]
    # The image is the designed front: no title is drawn over it.
    assert not [t for t in cover.texts() if t.x > cover.geometry.front.x]
    assert "AFTER THE FAIRY TALE" in cover.text_in(cover.geometry.spine)
    assert any("c.jpg is 97 dpi" in message for message in warnings_logged), warnings_logged


def test_two_builds_are_byte_identical(session_book: BookCopy, tmp_path: Path) -> None:
    first = render_cover(session_book("sample"), tmp_path / "a", 150)
    second = render_cover(session_book("sample"), tmp_path / "b", 150)
    assert first.path.read_bytes() == second.path.read_bytes()


def test_a_cover_alone_lays_out_the_interior_for_its_page_count(
    session_book: BookCopy, tmp_path: Path
) -> None:
    alone = build(session_book("sample"), tmp_path / "alone", ["cover"], ["kdp"])
    both = tmp_path / "both"
    built = build(session_book("sample"), both, ["pdf", "cover"], ["kdp"])
    assert alone[0].note == built[1].note  # 21 pages, padded to KDP's minimum: 24
    assert (tmp_path / "alone" / "cover-kdp.pdf").read_bytes() == (
        both / "cover-kdp.pdf"
    ).read_bytes()
    assert built[1].note == "12.304 x 9.25 in (spine 0.054 in, 24 pages, white paper)"

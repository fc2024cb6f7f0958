"""The printed book, checked by reading the PDF back with pypdf."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import Destination

from helpers import text_matrix
from make_book.build.driver import build, load

ROOT = Path(__file__).resolve().parent.parent
BOOKS = {
    "sample": ROOT / "book.yaml",
    "mixed": ROOT / "tests" / "books" / "mixed" / "book.yaml",
}
POINTS_PER_INCH = 72
HEAD_ZONE = 0.75 * POINTS_PER_INCH  # the default top margin: running heads live above it


@dataclass(frozen=True)
class PdfBook:
    """A built PDF and the Book it came from."""

    path: Path
    reader: PdfReader
    manifest_path: Path


@pytest.fixture(scope="module", params=sorted(BOOKS))
def pdf_book(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PdfBook:
    source = BOOKS[request.param]
    copy = tmp_path_factory.mktemp(request.param) / "book"
    shutil.copytree(source.parent, copy, ignore=shutil.ignore_patterns("dist", ".*"))
    manifest = copy / source.name
    (built,) = build(manifest, copy / "dist", ["pdf"])
    return PdfBook(built.path, PdfReader(built.path), manifest)


def head_text(reader: PdfReader, index: int) -> str:
    """The text printed above the top margin of a page: running head and folio."""
    page = reader.pages[index]
    top = float(page.mediabox.top)
    found: list[str] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip() and text_matrix(tm, cm)[5] > top - HEAD_ZONE:
            found.append(text.strip())

    page.extract_text(visitor_text=visit)
    return " ".join(found)


def bookmarks(reader: PdfReader) -> Iterator[tuple[int, str, int]]:
    """(depth, title, page index) for every outline entry."""

    def walk(items: list[object], depth: int) -> Iterator[tuple[int, str, int]]:
        for item in items:
            if isinstance(item, list):
                yield from walk(item, depth + 1)
            elif isinstance(item, Destination):
                yield depth, str(item.title), reader.get_destination_page_number(item)

    yield from walk(reader.outline, 0)


def contents_entries(reader: PdfReader) -> dict[str, str]:
    """Title -> page number as printed on the contents pages (dot leaders between)."""
    entries: dict[str, str] = {}
    pages = [i for i, p in enumerate(reader.pages) if "CONTENTS" in (p.extract_text() or "")]
    for index in pages[:1] + [pages[0] + 1] if pages else []:
        text = reader.pages[index].extract_text() or ""
        for line in text.splitlines():
            match = re.match(r"^(\S.*?)[\s.]*\.\s+([ivxlc]+|\d+)$", line.strip())
            if match:
                entries[" ".join(match.group(1).split())] = match.group(2)
    return entries


def test_every_page_is_six_by_nine_inches(pdf_book: PdfBook) -> None:
    sizes = {(float(p.mediabox.width), float(p.mediabox.height)) for p in pdf_book.reader.pages}
    assert sizes == {(6 * POINTS_PER_INCH, 9 * POINTS_PER_INCH)}


def test_every_font_is_embedded(pdf_book: PdfBook) -> None:
    missing, seen = [], 0
    for page in pdf_book.reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is None:
                    continue
                seen += 1
                descriptor = descriptor.get_object()
                if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    missing.append(str(font.get("/BaseFont")))
    assert seen and not missing


def test_the_bundled_face_sets_the_text(pdf_book: PdfBook) -> None:
    names = set()
    for page in pdf_book.reader.pages[:12]:
        for font in page["/Resources"].get_object().get("/Font", {}).values():
            names.add(str(font.get_object()["/BaseFont"]))
    assert any("Book-Serif" in name for name in names), names


def test_a_bookmark_per_essay_and_part(pdf_book: PdfBook) -> None:
    _, book = load(pdf_book.manifest_path)
    titles = [title for _, title, _ in bookmarks(pdf_book.reader)]
    for essay in book.all_texts:
        assert essay.title in titles
    for item in book.contents:
        if hasattr(item, "essays"):
            depth = {t: d for d, t, _ in bookmarks(pdf_book.reader)}
            assert depth[item.title] == 0
            assert all(depth[e.title] == 1 for e in item.essays)


def test_contents_numbers_are_the_folios_where_essays_start(pdf_book: PdfBook) -> None:
    reader = pdf_book.reader
    _, book = load(pdf_book.manifest_path)
    printed = contents_entries(reader)
    starts = {title: index for _, title, index in bookmarks(reader)}
    labels = reader.page_labels
    for essay in book.all_texts:
        assert printed.get(essay.title) == labels[starts[essay.title]], (essay.title, printed)


def test_printed_folios_match_page_labels(pdf_book: PdfBook) -> None:
    """Every folio printed in a running head is the page's label (so viewers agree)."""
    reader, checked = pdf_book.reader, 0
    for index, label in enumerate(reader.page_labels):
        numbers = re.findall(r"\b(\d+|[ivxlc]+)\b", head_text(reader, index))
        if numbers and label.isdigit():
            assert label in numbers, (index, label, numbers)
            checked += 1
    assert checked >= 2


def test_no_running_head_or_folio_on_opening_and_blank_pages(pdf_book: PdfBook) -> None:
    reader = pdf_book.reader
    for _, title, index in bookmarks(reader):
        assert head_text(reader, index) == "", title
    for index, page in enumerate(reader.pages):
        if not (page.extract_text() or "").strip():
            assert head_text(reader, index) == ""


def test_running_heads_author_on_versos_title_on_rectos(pdf_book: PdfBook) -> None:
    reader = pdf_book.reader
    _, book = load(pdf_book.manifest_path)
    starts = sorted(index for _, _, index in bookmarks(reader))
    opening = {title: index for _, title, index in bookmarks(reader)}
    checked = 0
    for essay in book.essays:
        first = opening[essay.title]
        end = next((i for i in starts if i > first), len(reader.pages))
        verso = essay.byline if essay.authors != book.meta.authors else book.meta.title
        for index in range(first + 1, end):
            head = head_text(reader, index)
            if not head:
                continue  # a blank page before the next opening
            label = int(reader.page_labels[index])
            expected = essay.title if label % 2 else verso.upper()
            assert expected[:15] in head, (index, label, head)
            checked += 1
    assert checked >= 2


def test_footnotes_sit_at_the_foot_of_their_page(pdf_book: PdfBook) -> None:
    _, book = load(pdf_book.manifest_path)
    notes = [(e, n) for e in book.all_texts for n in e.footnotes]
    if not notes:
        pytest.skip("this book has no footnotes")
    text = "\n".join(p.extract_text() or "" for p in pdf_book.reader.pages)
    for _essay, note in notes:
        words = re.sub(r"<[^>]+>", "", note.html).split()[:4]
        assert " ".join(words) in " ".join(text.split())


def test_document_metadata(pdf_book: PdfBook) -> None:
    manifest, book = load(pdf_book.manifest_path)
    info = pdf_book.reader.metadata
    assert info is not None and info.title.startswith(book.meta.title)
    assert info.author == " and ".join(book.meta.creators)
    assert str(pdf_book.reader.trailer["/Root"]["/Lang"]) == book.meta.language


def test_hyphenation_is_on(pdf_book: PdfBook) -> None:
    text = "\n".join(p.extract_text() or "" for p in pdf_book.reader.pages)
    assert re.search(r"[a-z]\u2010\n|[a-z]-\n", text), "no word was hyphenated at a line end"


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    outputs = []
    for name in ("one", "two"):
        copy = tmp_path / name
        shutil.copytree(ROOT / "tests" / "books" / "mixed", copy)
        (built,) = build(copy / "book.yaml", copy / "dist", ["pdf"])
        outputs.append(built.path.read_bytes())
    assert outputs[0] == outputs[1]

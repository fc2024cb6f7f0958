"""The EPUB's print page numbers: markers at the right words, the nav's page-list, metadata."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from helpers import (
    EPUB_TYPE,
    NS,
    BookCopy,
    Epub,
    EpubCheckResult,
    assert_epubcheck_clean,
)
from make_book.build.driver import build, load
from make_book.model import Book
from make_book.pagemap import PageStart, block_words, body_blocks
from make_book.render.base import PrintPages, RenderContext
from make_book.render.epub.pagelist import mark_pages, page_ids
from make_book.render.epub.renderer import EpubRenderer
from make_book.xhtml import parse_fragment
from synthetic_pages import SOURCE, build_paged_epub, listed

MARKER = re.compile(
    r'<span epub:type="pagebreak" role="doc-pagebreak" id="[^"]*" aria-label="[^"]*"></span>'
)
NOTEREF = (
    '<a class="noteref" epub:type="noteref" role="doc-noteref" href="#e--fn1" id="e--ref1">1</a>'
)


def starts(*where: tuple[int, int]) -> list[PageStart]:
    """Page starts in text "e" at (block, word), labelled 1, 2, 3…"""
    return [PageStart(n, str(n + 1), "e", "", b, w) for n, (b, w) in enumerate(where)]


def mark(body: str, *where: tuple[int, int]) -> str:
    found = starts(*where)
    return mark_pages(body, found, page_ids(found))


def span(label: str) -> str:
    return (
        f'<span epub:type="pagebreak" role="doc-pagebreak" id="page-{label}"'
        f' aria-label="{label}"></span>'
    )


# Where a marker goes


def test_mid_block() -> None:
    body = "<p>one two three four</p>"
    assert mark(body, (0, 2)) == f"<p>one two {span('1')}three four</p>"


def test_first_word() -> None:
    assert mark("<p>one two</p>", (0, 0)) == f"<p>{span('1')}one two</p>"


def test_first_word_after_leading_space() -> None:
    assert mark("<p>\n  one two</p>", (0, 0)) == f"<p>\n  {span('1')}one two</p>"


def test_after_a_word_hyphenated_across_the_page() -> None:
    # The print has "breath-" on one page and "taking," on the next: the page map counts
    # the split word among the words before the break, so the marker follows it.
    body = "<p>I start with a breathtaking, jaw-dropping ending.</p>"
    assert (
        mark(body, (0, 5)) == f"<p>I start with a breathtaking, {span('1')}jaw-dropping ending.</p>"
    )


def test_noterefs_are_not_words() -> None:
    body = f"<p>one two{NOTEREF} three four</p>"
    assert mark(body, (0, 2)) == f"<p>one two{NOTEREF} {span('1')}three four</p>"


def test_word_right_after_a_noteref() -> None:
    body = f"<p>one.{NOTEREF}two three</p>"
    # "one." and "two" are one word to the page map (no space between them)
    assert mark(body, (0, 1)) == f"<p>one.{NOTEREF}two {span('1')}three</p>"


def test_inline_elements() -> None:
    body = "<p>one <em>two three</em> four</p>"
    assert mark(body, (0, 1)) == f"<p>one {span('1')}<em>two three</em> four</p>"
    assert mark(body, (0, 2)) == f"<p>one <em>two {span('1')}three</em> four</p>"
    assert mark(body, (0, 3)) == f"<p>one <em>two three</em> {span('1')}four</p>"


def test_a_word_opening_nested_inline_elements_is_marked_before_them() -> None:
    body = '<p>see <em><a href="#x">the link</a></em> here</p>'
    expected = f'<p>see {span("1")}<em><a href="#x">the link</a></em> here</p>'
    assert mark(body, (0, 1)) == expected


def test_a_word_split_by_markup_is_one_word() -> None:
    body = "<p>un<em>believ</em>able story</p>"
    assert mark(body, (0, 1)) == f"<p>un<em>believ</em>able {span('1')}story</p>"


def test_nested_blocks() -> None:
    body = "<blockquote><p>a b</p><p>c d</p></blockquote><p>e f</p>"
    # blocks: 0 blockquote, 1 and 2 its paragraphs, 3 the last paragraph
    expected = f"<blockquote><p>a b</p><p>c {span('1')}d</p></blockquote><p>{span('2')}e f</p>"
    assert mark(body, (2, 1), (3, 0)) == expected


def test_list_items_and_headings() -> None:
    body = "<h2>A Heading</h2><ul><li>first item</li><li>second item</li></ul>"
    expected = (
        f"<h2>A {span('1')}Heading</h2><ul><li>first item</li><li>{span('2')}second item</li></ul>"
    )
    assert mark(body, (0, 1), (2, 0)) == expected


def test_two_pages_in_one_block() -> None:
    body = "<p>one two three four five</p>"
    expected = f"<p>one {span('1')}two three {span('2')}four five</p>"
    assert mark(body, (0, 1), (0, 3)) == expected


def test_block_minus_one_is_left_to_the_document() -> None:
    # A page that begins at the heading is marked before the heading, outside the body.
    assert mark("<p>one</p>", (-1, 0)) == "<p>one</p>"


def test_a_block_without_words_opens_with_its_marker() -> None:
    body = '<figure><img src="a.png" alt="A"/></figure>'
    assert mark(body, (0, 0)) == f'<figure>{span("1")}<img src="a.png" alt="A"/></figure>'


def test_a_rule_is_marked_before() -> None:
    assert mark("<p>a</p><hr/><p>b</p>", (1, 0)) == f"<p>a</p>{span('1')}<hr/><p>b</p>"


def test_a_block_past_the_end_is_skipped() -> None:
    assert mark("<p>a</p>", (3, 0)) == "<p>a</p>"


def test_ids_are_unique_and_valid() -> None:
    found = [
        PageStart(0, "iv", "", "contents", -1, 0),
        PageStart(1, "17", "e", "", 0, 0),
        PageStart(2, "17", "e", "", 0, 1),  # a repeated folio
        PageStart(3, "A 1", "e", "", 0, 2),
    ]
    ids = page_ids(found, taken={"page-iv"})
    assert ids == {0: "page-iv-2", 1: "page-17", 2: "page-17-2", 3: "page-A-1"}


# The text is unchanged apart from the markers


@pytest.mark.parametrize("name", ["sample", "mixed", "montaigne"])
def test_every_block_of_real_essays(
    name: str, session_book: BookCopy, book_of: Callable[[str], Book]
) -> None:
    """A page at the first, middle and last word of each block: the marker is before that
    word, and taking the markers out gives back the body as it was."""
    checked = 0
    for essay in book_of(name).all_texts:
        blocks = body_blocks(parse_fragment(essay.body_html))
        for number, block in enumerate(blocks):
            words = block_words(block)
            for word in sorted({0, len(words) // 2, max(len(words) - 1, 0)}):
                marked = mark(essay.body_html, (number, word))
                assert MARKER.sub("", marked) == essay.body_html
                if words:
                    assert _word_after_marker(marked, number) == word, (essay.slug, number)
                checked += 1
    assert checked > 30


def _word_after_marker(marked: str, number: int) -> int:
    """Which word of block `number` the (single) marker stands before."""
    sentinel = "\u2983"  # a character no essay uses, glued to the following word
    block = body_blocks(parse_fragment(MARKER.sub(sentinel, marked)))[number]
    return next(n for n, w in enumerate(block_words(block)) if w.startswith(sentinel))


@pytest.fixture(scope="module")
def book_of(session_book: BookCopy) -> Callable[[str], Book]:
    loaded: dict[str, Book] = {}

    def get(name: str) -> Book:
        if name not in loaded:
            loaded[name] = load(session_book(name))[1]
        return loaded[name]

    return get


# A whole EPUB with a page-list


@pytest.fixture(scope="module")
def paged(
    session_book: BookCopy, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], tuple[Epub, Book, list[PageStart]]]:
    """The EPUB of a fixture book built with synthetic page starts (see synthetic_pages)."""
    made: dict[str, tuple[Epub, Book, list[PageStart]]] = {}

    def get(name: str) -> tuple[Epub, Book, list[PageStart]]:
        if name not in made:
            out = tmp_path_factory.mktemp(f"paged-{name}")
            path, book, found = build_paged_epub(session_book(name), out)
            made[name] = (Epub(path), book, found)
        return made[name]

    return get


PAGED = ["sample", "mixed"]


@pytest.mark.parametrize("name", PAGED)
def test_paged_epub_passes_epubcheck(
    paged: Callable[[str], tuple[Epub, Book, list[PageStart]]],
    epubcheck_of: Callable[[Path], EpubCheckResult],
    name: str,
) -> None:
    epub, _, found = paged(name)
    assert len(found) > 20
    assert_epubcheck_clean(epubcheck_of(epub.path))


def page_list(epub: Epub) -> list[tuple[str, str]]:
    """(href, label) of each entry of the nav's page-list."""
    nav = epub.document("nav.xhtml")
    (pages,) = nav.xpath("//xhtml:nav[@epub:type='page-list']", namespaces=NS)
    assert pages.get("hidden") is not None
    assert pages.get("role") == "doc-pagelist"
    return [(a.get("href"), a.text) for a in pages.xpath(".//xhtml:a", namespaces=NS)]


def markers_in_reading_order(epub: Epub) -> list[tuple[str, etree._Element]]:
    """(href, element) of every page-break marker, in spine and document order."""
    found = []
    for href in epub.spine_hrefs():
        for element in epub.document(href).iter(f"{{{NS['xhtml']}}}span"):
            if element.get(EPUB_TYPE) == "pagebreak":
                found.append((f"{href}#{element.get('id')}", element))
    return found


@pytest.mark.parametrize("name", PAGED)
def test_page_list_links_every_marker_in_reading_order(
    paged: Callable[[str], tuple[Epub, Book, list[PageStart]]], name: str
) -> None:
    epub, _, found = paged(name)
    entries = page_list(epub)
    markers = markers_in_reading_order(epub)
    assert [href for href, _ in entries] == [href for href, _ in markers]
    for (_, label), (_, element) in zip(entries, markers, strict=True):
        assert element.get("role") == "doc-pagebreak"
        assert element.get("aria-label") == label
        assert len(element) == 0 and not element.text  # empty: the print's number is not text
    # one entry per page the EPUB has a document for; here print and reading order agree
    assert [label for _, label in entries] == [s.label for s in listed(found)]
    assert len({href for href, _ in entries}) == len(entries)


@pytest.mark.parametrize("name", PAGED)
def test_markers_stand_before_their_words(
    paged: Callable[[str], tuple[Epub, Book, list[PageStart]]], name: str
) -> None:
    epub, book, found = paged(name)
    texts = {e.slug: e for e in book.all_texts}
    ids = page_ids(found)  # no fixture essay is called "page-…"
    checked = 0
    for start in found:
        if start.block < 0 or not start.text:
            continue
        document = epub.document(f"{start.text}.xhtml")
        (element,) = document.xpath(f"//*[@id='{ids[start.index]}']")
        block = body_blocks(parse_fragment(texts[start.text].body_html))[start.block]
        word = block_words(block)[start.word]
        following = element.xpath(
            "following::text()[not(ancestor::*[contains(@class, 'noteref')])]"
        )
        assert "".join(following).startswith(word), (start, word)
        checked += 1
    assert checked > 10


@pytest.mark.parametrize("name", PAGED)
def test_pages_opening_a_document_are_marked_first(
    paged: Callable[[str], tuple[Epub, Book, list[PageStart]]], name: str
) -> None:
    """At a text's heading (block -1) or a generated page: the body's first element."""
    epub, _, found = paged(name)
    files = {"title-page": "titlepage", "contents": "nav"}
    for start in listed(found):
        if start.block >= 0:
            continue
        stem = start.text or files.get(start.section, start.section)
        body = epub.document(f"{stem}.xhtml").find("xhtml:body", NS)
        first = next(iter(body))
        assert first.get(EPUB_TYPE) == "pagebreak", start
        assert not (body.text or "").strip()


def test_a_section_over_several_pages_has_them_all_at_its_start(
    paged: Callable[[str], tuple[Epub, Book, list[PageStart]]],
) -> None:
    epub, _, _ = paged("mixed")
    body = epub.document("contributors.xhtml").find("xhtml:body", NS)
    labels = [el.get("aria-label") for el in list(body)[:2]]
    assert all(labels) and labels == sorted(labels, key=int)


@pytest.mark.parametrize("name", PAGED)
def test_package_names_the_page_source(
    paged: Callable[[str], tuple[Epub, Book, list[PageStart]]], name: str
) -> None:
    epub, _, _ = paged(name)
    assert epub.xpath("//dc:source/text()") == [SOURCE]
    assert epub.xpath("//opf:meta[@property='pageBreakSource']/text()") == [SOURCE]
    features = epub.xpath("//opf:meta[@property='schema:accessibilityFeature']/text()")
    assert {"pageBreakMarkers", "printPageNumbers", "pageNavigation"} <= set(features)


def test_without_page_starts_there_is_no_page_list(tmp_path: Path, book_copy: BookCopy) -> None:
    manifest, book = load(book_copy("sample"))
    pages = PrintPages("screen", page_count=0, starts=(), source="")  # nothing to cite
    EpubRenderer().render(book, RenderContext(manifest=manifest, out_dir=tmp_path), pages)
    epub = Epub(tmp_path / "book.epub")
    nav = epub.document("nav.xhtml")
    assert not nav.xpath("//xhtml:nav[@epub:type='page-list']", namespaces=NS)
    assert not markers_in_reading_order(epub)
    assert not epub.xpath("//dc:source") and not epub.xpath(
        "//opf:meta[@property='pageBreakSource']"
    )
    features = epub.xpath("//opf:meta[@property='schema:accessibilityFeature']/text()")
    assert "pageBreakMarkers" not in features


def test_an_epub_alone_still_carries_the_print_pages(tmp_path: Path, book_copy: BookCopy) -> None:
    """The same EPUB whichever formats were asked for: it lays the print edition out itself."""
    manifest = book_copy("sample")
    build(manifest, tmp_path / "alone", ["epub"])
    build(manifest, tmp_path / "all", ["pdf", "epub"])
    alone = (tmp_path / "alone" / "book.epub").read_bytes()
    assert alone == (tmp_path / "all" / "book.epub").read_bytes()
    assert len(page_list(Epub(tmp_path / "alone" / "book.epub"))) >= 5


def test_ebooklib_writes_no_page_list_of_its_own(
    paged: Callable[[str], tuple[Epub, Book, list[PageStart]]],
) -> None:
    epub, _, _ = paged("sample")
    ncx = etree.fromstring(epub.read("toc.ncx"))
    assert not ncx.xpath("//ncx:pageList", namespaces=NS)
    assert len(epub.document("nav.xhtml").xpath("//*[@epub:type='page-list']", namespaces=NS)) == 1


def test_the_real_print_layout_feeds_the_page_list(tmp_path: Path, book_copy: BookCopy) -> None:
    """Built with the PDF, the EPUB lists the pages WeasyPrint laid out."""
    build(book_copy("sample"), tmp_path, ["pdf", "epub"])
    epub = Epub(tmp_path / "book.epub")
    entries = page_list(epub)
    assert len(entries) >= 5
    assert [href for href, _ in entries] == [href for href, _ in markers_in_reading_order(epub)]


def _pdf_essay_starts(path: Path) -> dict[str, str]:
    """Bookmark title -> the page label of its page, read from the PDF itself."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    found: dict[str, str] = {}

    def walk(items: list) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                found[item.title] = reader.page_labels[reader.get_destination_page_number(item)]

    walk(reader.outline)
    return found


def _epub_text_starts(epub: Epub) -> dict[str, str]:
    """Heading of each document -> the label of the marker that opens the document."""
    found: dict[str, str] = {}
    for href in epub.spine_hrefs():
        body = epub.document(href).find("{http://www.w3.org/1999/xhtml}body")
        first = body[0] if body is not None and len(body) else None
        heading = body.xpath(".//xhtml:h1", namespaces=NS) if body is not None else []
        if first is not None and first.get("role") == "doc-pagebreak" and heading:
            found["".join(heading[0].itertext()).strip()] = first.get("aria-label")
    return found


@pytest.mark.parametrize("name", ["sample", "montaigne"])
def test_page_list_matches_the_pdf_at_every_essay_start(
    name: str, book_copy: BookCopy, tmp_path: Path
) -> None:
    manifest = book_copy(name)
    if name == "montaigne":  # set at 5x8in it runs past 200 pages
        manifest.write_text(
            manifest.read_text("utf-8") + "\npdf:\n  trim: 5x8in\n  font_size: 11\n"
        )
    build(manifest, tmp_path / "out", ["pdf", "epub"])
    pdf = _pdf_essay_starts(tmp_path / "out" / "book.pdf")
    epub = _epub_text_starts(Epub(tmp_path / "out" / "book.epub"))
    essays = [title for title in pdf if title in epub]
    assert len(essays) >= len(pdf) - 1 >= 2  # every bookmarked essay (Contents has no <h1> doc)
    assert {t: epub[t] for t in essays} == {t: pdf[t] for t in essays}
    if name == "montaigne":
        assert int(max(pdf.values(), key=lambda label: int(label) if label.isdigit() else 0)) > 190

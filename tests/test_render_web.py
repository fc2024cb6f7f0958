"""The web edition: dist/html/ with a contents page and one page per text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import html

from helpers import BookCopy
from make_book.build.driver import _downloads, build
from make_book.model import Book, Part
from make_book.source.assemble import assemble
from make_book.source.manifest import load_manifest


@pytest.fixture(scope="module")
def mixed_book(session_book: BookCopy) -> Book:
    return assemble(load_manifest(session_book("mixed")))


@pytest.fixture(scope="module")
def site(built: Callable[..., Path]) -> Path:
    """The mixed book's web edition, built with the PDF and EPUB it links to."""
    return built("mixed", ("pdf", "epub", "html")) / "html"


def pages(folder: Path) -> dict[str, html.HtmlElement]:
    return {p.relative_to(folder).as_posix(): html.parse(str(p)).getroot()
            for p in sorted(folder.rglob("*.html"))}  # fmt: skip


def broken_links(folder: Path) -> list[str]:
    """Every href/src in the site that names a missing file or a missing fragment id."""
    docs = pages(folder)
    ids = {name: {e.get("id") for e in doc.iter() if e.get("id")} for name, doc in docs.items()}
    broken = []
    for name, doc in docs.items():
        for element, attribute, link, _ in doc.iterlinks():
            if link.startswith(("http:", "https:", "mailto:")):
                continue
            path, _, fragment = link.partition("#")
            target = (folder / name).parent / path if path else folder / name
            if not target.resolve().exists():
                broken.append(f"{name}: <{element.tag} {attribute}={link!r}>: no such file")
                continue
            if not fragment:
                continue
            key = target.resolve().relative_to(folder.resolve()).as_posix() if path else name
            if fragment not in ids.get(key, set()):
                broken.append(f"{name}: <{element.tag} {attribute}={link!r}>: no such id")
    return broken


def expected_pages(book: Book) -> set[str]:
    names = {f"{e.slug}.html" for e in book.all_texts}
    names |= {f"{p.slug}.html" for p in book.contents if isinstance(p, Part)}
    return names | {"index.html", "contributors.html", "sources.html"}


def test_one_page_per_text_and_part(site: Path, mixed_book: Book) -> None:
    assert set(pages(site)) == expected_pages(mixed_book)
    assert (site / "style.css").is_file()
    assert (site / "images" / "dot.png").read_bytes().startswith(b"\x89PNG")


def test_every_page_has_viewport_language_and_title(site: Path) -> None:
    for name, doc in pages(site).items():
        (viewport,) = doc.xpath("//meta[@name='viewport']")
        assert "width=device-width" in viewport.get("content"), name
        assert doc.get("lang") == "en", name
        assert doc.findtext(".//title").strip(), name
        assert doc.xpath("//link[@rel='stylesheet']/@href") == ["style.css"], name


def test_no_scripts(site: Path) -> None:
    for name, doc in pages(site).items():
        assert not doc.xpath("//script | //iframe | //form | //object | //embed"), name
        handlers = [a for e in doc.iter() for a in e.attrib if a.lower().startswith("on")]
        assert handlers == [], name
        assert "javascript:" not in (site / name).read_text(encoding="utf-8").lower(), name
    assert not list(site.rglob("*.js"))


def test_every_internal_link_resolves(site: Path) -> None:
    assert broken_links(site) == []


def test_contents_lists_every_text(site: Path, mixed_book: Book) -> None:
    index = pages(site)["index.html"]
    (contents,) = index.xpath("//nav[contains(@class, 'contents')]")
    links = contents.xpath(".//a/@href")
    for text in mixed_book.all_texts:
        assert f"{text.slug}.html" in links, text.slug
    titles = [" ".join(a.text_content().split()) for a in contents.iter("a")]
    assert titles == [
        "Foreword", "Part the First", "Introducing the Part", "Alpha: An Essay",
        "Beta, Overridden", "Part the Second", "Gamma in Plain Text", "Delta from HTML",
        "Acknowledgements", "Contributors", "Sources",
    ]  # fmt: skip


def test_pager_walks_the_reading_order(site: Path, mixed_book: Book) -> None:
    docs = pages(site)
    order, current = [], "index.html"
    while True:
        following = docs[current].xpath("//a[@rel='next']/@href")
        if not following:
            break
        current = following[0]
        order.append(current)
        assert len(order) < 50
    assert order == [
        "foreword.html", "part-part-the-first.html", "intro.html", "alpha.html", "beta.html",
        "part-part-the-second.html", "gamma.html", "delta.html", "thanks.html",
        "contributors.html", "sources.html",
    ]  # fmt: skip
    assert set(order) | {"index.html"} == expected_pages(mixed_book)


def test_notes_link_both_ways(site: Path) -> None:
    alpha = pages(site)["alpha.html"]
    calls = alpha.xpath("//a[@class='noteref']")
    assert [a.get("href") for a in calls] == ["#alpha--fn-1", "#alpha--fn-2", "#alpha--fn-1"]
    assert not alpha.xpath("//*[@epub:type]", namespaces={"epub": "x"})
    assert "epub:type" not in (site / "alpha.html").read_text(encoding="utf-8")
    backs = alpha.xpath("//a[@role='doc-backlink']/@href")
    assert backs == ["#alpha--fnref-1", "#alpha--fnref-2"]


def test_sanitized_and_escaped_text(site: Path) -> None:
    delta = (site / "delta.html").read_text(encoding="utf-8")
    assert "onclick" not in delta and "<iframe" not in delta and "<form" not in delta
    gamma = (site / "gamma.html").read_text(encoding="utf-8")
    assert "&lt;angle&gt;" in gamma and "<angle>" not in gamma


def test_montaigne_web_edition_links_resolve(built: Callable[..., Path]) -> None:
    folder = built("montaigne", ("epub", "html")) / "html"  # its PDF would take seconds
    assert len(pages(folder)) == 1 + 3 + 25 + 1  # index, parts, essays, sources
    assert not (folder / "contributors.html").exists()  # a single-author book
    pdf_link = "index.html: <a href='../book.pdf'>: no such file"  # not built here
    assert [link for link in broken_links(folder) if link != pdf_link] == []


def test_html_only_build_has_no_dangling_download_links(built: Callable[..., Path]) -> None:
    folder = built("sample", ("html",), out="html-only") / "html"
    assert broken_links(folder) == []


def test_rebuild_replaces_the_site(book_copy: BookCopy, tmp_path: Path) -> None:
    manifest = book_copy("titles")
    out = tmp_path / "dist"
    build(manifest, out, ["html"])
    (out / "html" / "stale.html").write_text("old", encoding="utf-8")
    build(manifest, out, ["html"])
    assert not (out / "html" / "stale.html").exists()
    assert sorted(p.name for p in out.iterdir()) == ["html"]  # no scratch folders left


def test_essay_named_index_keeps_its_page(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "index.md").write_text(
        "# The Index Essay\n\nText of the index essay.\n", encoding="utf-8"
    )
    (tmp_path / "book.yaml").write_text(
        "title: T\ncontents:\n  - chapters/index.md\n", encoding="utf-8"
    )
    build(tmp_path / "book.yaml", tmp_path / "dist", ["html"])
    site = tmp_path / "dist" / "html"
    found = [p.name for p in site.glob("*.html") if "Text of the index essay." in p.read_text()]
    assert len(found) == 1
    assert "Contents" in (site / "index.html").read_text(encoding="utf-8")


def test_the_downloads_are_those_the_build_makes_or_finds(tmp_path: Path) -> None:
    """Known before any output is made, since the web edition may be made first: the
    EPUB and the book's own print edition, if this build makes them or they are there."""
    assert _downloads(tmp_path, ["pdf", "epub", "html"], ["screen"], "screen") == (
        "book.epub",
        "book.pdf",
    )
    # Only the KDP interior is made: the web edition does not link a book.pdf never made.
    assert _downloads(tmp_path, ["pdf", "html"], ["kdp"], "screen") == ()
    (tmp_path / "book.pdf").write_bytes(b"%PDF-")  # from an earlier build
    assert _downloads(tmp_path, ["html"], ["screen"], "screen") == ("book.pdf",)

"""The EPUB 3: package, navigation, content documents, notes, EPUBCheck, reproducibility."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from helpers import (
    EPUB_TYPE,
    NS,
    XML_LANG,
    BookCopy,
    Epub,
    EpubCheckResult,
    assert_epubcheck_clean,
)
from make_book.build.driver import build
from make_book.model import Book, Part
from make_book.source.assemble import assemble
from make_book.source.manifest import load_manifest

BOOKS = ["sample", "mixed", "montaigne"]


def formats_of(name: str) -> tuple[str, ...]:
    """What each fixture book is built in. With the PDF, the EPUB has a page-list."""
    return {"mixed": ("pdf", "epub", "html"), "montaigne": ("epub", "html")}.get(name, ("epub",))


@pytest.fixture(scope="module")
def epub_of(built: Callable[..., Path]) -> Callable[[str], Epub]:
    """The EPUB of a fixture book (the mixed book is built in every format, once)."""
    opened: dict[str, Epub] = {}

    def get(name: str) -> Epub:
        if name not in opened:
            opened[name] = Epub(built(name, formats_of(name)) / "book.epub")
        return opened[name]

    return get


@pytest.fixture(scope="module")
def book_of(session_book: BookCopy) -> Callable[[str], Book]:
    loaded: dict[str, Book] = {}

    def get(name: str) -> Book:
        if name not in loaded:
            loaded[name] = assemble(load_manifest(session_book(name)))
        return loaded[name]

    return get


@pytest.fixture(scope="module")
def mixed(epub_of: Callable[[str], Epub]) -> Epub:
    return epub_of("mixed")


def reading_order(book: Book) -> list[str]:
    """The content documents of the book's texts and parts, in reading order."""
    files = [e.slug for e in book.front]
    for item in book.contents:
        if isinstance(item, Part):
            files += [item.slug] + [e.slug for e in item.all_essays]
        else:
            files.append(item.slug)
    files += [e.slug for e in book.back]
    return [f"{slug}.xhtml" for slug in files]


def text(nodes: list) -> list[str]:
    return [" ".join("".join(n.itertext()).split()) for n in nodes]


def refinements(epub: Epub, element: etree._Element) -> list[tuple[str, str, str]]:
    ident = element.get("id")
    metas = epub.xpath(f"//opf:metadata/opf:meta[@refines='#{ident}']")
    return [(m.get("property"), m.get("scheme"), m.text) for m in metas]


def people(epub: Epub, kind: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    return [(e.text, refinements(epub, e)) for e in epub.xpath(f"//opf:metadata/dc:{kind}")]


def role(code: str) -> list[tuple[str, str, str]]:
    return [("role", "marc:relators", code)]


# The zip


@pytest.mark.parametrize("name", BOOKS)
def test_mimetype_first_and_stored(epub_of: Callable[[str], Epub], name: str) -> None:
    epub = epub_of(name)
    first = epub.infos[0]
    assert first.filename == "mimetype"
    assert first.compress_type == zipfile.ZIP_STORED
    assert first.extra == b""
    assert epub.files["mimetype"] == b"application/epub+zip"
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in epub.infos[1:])
    names = [i.filename for i in epub.infos]
    assert len(names) == len(set(names))


def test_every_manifest_item_is_in_the_zip_and_vice_versa(mixed: Epub) -> None:
    hrefs = {mixed.base + item.get("href") for item in mixed.manifest_items()}
    in_zip = set(mixed.files) - {"mimetype", "META-INF/container.xml", mixed.opf_path}
    assert hrefs == in_zip


# The package document


def test_core_metadata(mixed: Epub, book_of: Callable[[str], Book]) -> None:
    meta = book_of("mixed").meta
    unique = mixed.opf.get("unique-identifier")
    assert mixed.xpath(f"//dc:identifier[@id='{unique}']/text()") == [meta.identifier]
    assert mixed.xpath("//dc:title/text()") == ["Mixed Sources: A Fixture Anthology"]
    assert mixed.xpath("//dc:language/text()") == ["en"]
    assert mixed.xpath("//dc:publisher/text()") == ["Fixture Press"]
    assert mixed.xpath("//dc:date/text()") == ["2024-05-01"]
    assert mixed.xpath("//dc:subject/text()") == ["Testing", "Essays"]
    modified = mixed.xpath("//opf:meta[@property='dcterms:modified']/text()")
    assert modified == [meta.modified] == ["2024-05-01T00:00:00Z"]


def test_editors_are_creators_with_role_edt(mixed: Epub) -> None:
    assert people(mixed, "creator") == [("Ada Editor", role("edt")), ("Ben Editor", role("edt"))]


def test_essay_authors_are_contributors_with_role_aut(mixed: Epub) -> None:
    authors = [name for name, refs in people(mixed, "contributor") if refs == role("aut")]
    assert authors == ["Ada Editor", "Alice Álvarez", "Beta Override"]
    assert "Bob Brown" not in mixed.read("content.opf").decode()  # overridden by book.yaml


def test_book_translator_is_a_contributor_with_role_trl(
    epub_of: Callable[[str], Epub],
) -> None:
    montaigne = epub_of("montaigne")
    assert people(montaigne, "creator") == [("Michel de Montaigne", role("aut"))]
    assert ("Charles Cotton", role("trl")) in people(montaigne, "contributor")


def test_essay_translator_is_a_contributor_with_role_trl(mixed: Epub) -> None:
    assert ("Tom Translator", role("trl")) in people(mixed, "contributor")


def test_book_author_is_not_repeated_as_contributor(epub_of: Callable[[str], Epub]) -> None:
    names = [name for name, _ in people(epub_of("montaigne"), "contributor")]
    assert "Michel de Montaigne" not in names


@pytest.mark.parametrize("name", BOOKS)
def test_accessibility_metadata(epub_of: Callable[[str], Epub], name: str) -> None:
    epub = epub_of(name)

    def values(prop: str) -> list[str]:
        return epub.xpath(f"//opf:metadata/opf:meta[@property='schema:{prop}']/text()")

    with_images = name == "mixed"
    assert values("accessMode") == ["textual", "visual"] if with_images else ["textual"]
    assert values("accessModeSufficient") == ["textual"]
    features = values("accessibilityFeature")
    assert {"structuralNavigation", "tableOfContents", "readingOrder"} <= set(features)
    assert ("alternativeText" in features) is with_images
    assert values("accessibilityHazard") == ["none"]
    (summary,) = values("accessibilitySummary")
    assert len(summary) > 40


@pytest.mark.parametrize("name", BOOKS)
def test_cover_image_and_nav_properties(epub_of: Callable[[str], Epub], name: str) -> None:
    epub = epub_of(name)
    (cover,) = epub.xpath("//opf:manifest/opf:item[@properties='cover-image']")
    assert cover.get("media-type") == "image/png"
    assert epub.read(cover.get("href")).startswith(b"\x89PNG\r\n\x1a\n")
    assert epub.xpath("//opf:meta[@name='cover']/@content") == [cover.get("id")]
    (nav,) = epub.xpath("//opf:manifest/opf:item[contains(@properties, 'nav')]")
    assert nav.get("href") == "nav.xhtml"
    assert not epub.xpath("//opf:item[contains(@properties, 'scripted')]")


def test_spine_of_the_mixed_book(mixed: Epub) -> None:
    assert mixed.spine_hrefs() == [
        "cover.xhtml", "titlepage.xhtml", "copyright.xhtml", "dedication.xhtml",
        "epigraph.xhtml", "nav.xhtml", "foreword.xhtml", "part-part-the-first.xhtml",
        "intro.xhtml", "alpha.xhtml", "beta.xhtml", "part-part-the-second.xhtml",
        "gamma.xhtml", "delta.xhtml", "thanks.xhtml", "contributors.xhtml", "sources.xhtml",
    ]  # fmt: skip
    linear = mixed.xpath("//opf:spine/opf:itemref/@linear")
    assert linear == ["no"]  # the cover only
    assert mixed.xpath("//opf:spine/@toc") == ["ncx"]


@pytest.mark.parametrize("name", BOOKS)
def test_spine_follows_reading_order(
    epub_of: Callable[[str], Epub], book_of: Callable[[str], Book], name: str
) -> None:
    expected = reading_order(book_of(name))
    spine = epub_of(name).spine_hrefs()
    assert [href for href in spine if href in expected] == expected
    assert spine.index("nav.xhtml") < spine.index(expected[0])


@pytest.mark.parametrize("name", BOOKS)
def test_one_document_per_essay(
    epub_of: Callable[[str], Epub], book_of: Callable[[str], Book], name: str
) -> None:
    epub, book = epub_of(name), book_of(name)
    essays = {}
    for href in epub.xhtml_hrefs():
        doc = epub.document(href)
        for section in doc.xpath("//xhtml:section[contains(@class, 'essay ')]", namespaces=NS):
            essays[section.get("id")] = (href, text(section.xpath("xhtml:header/xhtml:h1",
                                                                  namespaces=NS)))  # fmt: skip
    assert essays == {e.slug: (f"{e.slug}.xhtml", [e.title]) for e in book.all_texts}


# Navigation


def test_nav_toc_nests_parts(mixed: Epub) -> None:
    nav = mixed.document("nav.xhtml")
    (toc,) = nav.xpath("//xhtml:nav[@epub:type='toc']", namespaces=NS)
    top = toc.xpath("xhtml:ol/xhtml:li", namespaces=NS)
    assert text([li.find("xhtml:a", NS) for li in top]) == [
        "Foreword", "Part the First", "Part the Second", "Acknowledgements",
        "Contributors", "Sources",
    ]  # fmt: skip
    nested = {
        li.find("xhtml:a", NS).text: li.xpath("xhtml:ol/xhtml:li/xhtml:a/@href", namespaces=NS)
        for li in top
        if li.find("xhtml:ol", NS) is not None
    }
    assert nested == {
        "Part the First": ["intro.xhtml", "alpha.xhtml", "beta.xhtml"],
        "Part the Second": ["gamma.xhtml", "delta.xhtml"],
    }
    for href in toc.xpath(".//xhtml:a/@href", namespaces=NS):
        assert href.split("#")[0] in mixed.xhtml_hrefs()


def test_nav_has_landmarks(mixed: Epub) -> None:
    nav = mixed.document("nav.xhtml")
    (landmarks,) = nav.xpath("//xhtml:nav[@epub:type='landmarks']", namespaces=NS)
    found = {a.get(EPUB_TYPE): a.get("href") for a in landmarks.iter(f"{{{NS['xhtml']}}}a")}
    assert found == {
        "cover": "cover.xhtml",
        "titlepage": "titlepage.xhtml",
        "toc": "nav.xhtml",
        "bodymatter": "part-part-the-first.xhtml",
    }


@pytest.mark.parametrize("name", BOOKS)
def test_ncx_has_nav_points(
    epub_of: Callable[[str], Epub], book_of: Callable[[str], Book], name: str
) -> None:
    epub, book = epub_of(name), book_of(name)
    (item,) = epub.xpath("//opf:item[@media-type='application/x-dtbncx+xml']")
    ncx = etree.fromstring(epub.read(item.get("href")))
    points = ncx.xpath("//ncx:navPoint", namespaces=NS)
    sources = [p.find("ncx:content", NS).get("src") for p in points]
    parts = [i for i in book.contents if isinstance(i, Part)]
    assert len(points) >= len(book.all_texts) + len(parts)
    assert set(reading_order(book)) <= set(sources)
    for part in parts:
        (point,) = [
            p for p in points if p.find("ncx:content", NS).get("src") == f"{part.slug}.xhtml"
        ]
        children = point.xpath("ncx:navPoint/ncx:content/@src", namespaces=NS)
        assert children == [f"{e.slug}.xhtml" for e in part.all_essays]
    uid = ncx.xpath("//ncx:meta[@name='dtb:uid']/@content", namespaces=NS)
    assert uid == [book.meta.identifier]


# Content documents


@pytest.mark.parametrize("name", BOOKS)
def test_every_content_document_is_xml_with_languages(
    epub_of: Callable[[str], Epub], name: str
) -> None:
    epub = epub_of(name)
    hrefs = epub.xhtml_hrefs()
    assert len(hrefs) >= 6
    for href in hrefs:
        root = epub.document(href)  # raises unless well-formed
        assert root.tag == f"{{{NS['xhtml']}}}html", href
        assert root.get("lang") and root.get("lang") == root.get(XML_LANG), href
        assert root.find("xhtml:head/xhtml:title", NS).text, href


@pytest.mark.parametrize("name", BOOKS)
def test_no_scripts_anywhere(epub_of: Callable[[str], Epub], name: str) -> None:
    epub = epub_of(name)
    for file, data in epub.files.items():
        if file.endswith((".xhtml", ".opf", ".ncx", ".css", ".xml", ".html")):
            lowered = data.decode("utf-8").lower()
            assert "<script" not in lowered and "javascript:" not in lowered, file
            assert " onclick=" not in lowered, file
    assert not [f for f in epub.files if f.endswith(".js")]


def test_sanitized_html_essay(mixed: Epub) -> None:
    delta = mixed.read("delta.xhtml").decode()
    for bad in ("<iframe", "<form", "<input", "onclick", "javascript", "ignored"):
        assert bad not in delta
    assert '<a href="#delta--part2">a good one</a>' in delta
    assert 'id="delta--part2"' in delta


def test_images_are_packaged(mixed: Epub) -> None:
    alpha = mixed.document("alpha.xhtml")
    (img,) = alpha.xpath("//xhtml:img", namespaces=NS)
    assert img.get("alt") == "A single dot"
    (item,) = mixed.xpath(f"//opf:item[@href='{img.get('src')}']")
    assert item.get("media-type") == "image/png"
    assert mixed.read(img.get("src")).startswith(b"\x89PNG")


@pytest.mark.parametrize("name", ["mixed", "montaigne"])
def test_footnotes_link_both_ways(epub_of: Callable[[str], Epub], name: str) -> None:
    epub = epub_of(name)
    calls_seen = 0
    for href in epub.xhtml_hrefs():
        doc = epub.document(href)
        ids = {e.get("id"): e for e in doc.iter() if isinstance(e.tag, str) and e.get("id")}
        calls = doc.xpath("//xhtml:a[contains(@class, 'noteref')]", namespaces=NS)
        for call in calls:
            calls_seen += 1
            assert call.get(EPUB_TYPE) == "noteref", href
            assert call.get("role") == "doc-noteref", href
            note = ids[call.get("href").removeprefix("#")]
            assert note.get(EPUB_TYPE) == "endnote", href
            (back,) = note.xpath(".//xhtml:a[@role='doc-backlink']", namespaces=NS)
            first_call = ids[back.get("href").removeprefix("#")]
            assert first_call.get("href") == call.get("href"), href
            assert first_call.get(EPUB_TYPE) == "noteref"
    assert calls_seen >= (4 if name == "mixed" else 10)


def test_the_two_notes_sections_of_the_mixed_book(mixed: Epub) -> None:
    alpha, beta = mixed.document("alpha.xhtml"), mixed.document("beta.xhtml")
    notes = "//xhtml:li[@epub:type='endnote']/@id"
    assert alpha.xpath(notes, namespaces=NS) == ["alpha--fn-1", "alpha--fn-2"]
    assert beta.xpath(notes, namespaces=NS) == ["beta--fn-1"]
    (link,) = alpha.xpath("//xhtml:a[normalize-space()='the notes section']", namespaces=NS)
    assert link.get("href") == "#alpha--notes"
    assert alpha.xpath("//xhtml:h2[@id='alpha--notes']", namespaces=NS)


def test_verse_and_non_ascii_survive(mixed: Epub) -> None:
    alpha = mixed.read("alpha.xhtml").decode()
    assert "Ἀθῆναι, city of the owl,<br/>" in alpha
    assert "Kraków and Zürich, København;<br/>" in alpha
    assert "café on the corner—Müller’s—was closed" in alpha


# EPUBCheck and reproducibility


@pytest.mark.parametrize("name", BOOKS)
def test_epubcheck_passes(
    epub_of: Callable[[str], Epub],
    epubcheck_of: Callable[[Path], EpubCheckResult],
    name: str,
) -> None:
    assert_epubcheck_clean(epubcheck_of(epub_of(name).path))


@pytest.mark.parametrize("name", ["mixed", "sample"])
def test_two_builds_are_byte_identical(
    epub_of: Callable[[str], Epub], built: Callable[..., Path], name: str
) -> None:
    # The same formats again: an EPUB built after the PDF has the print edition's page-list.
    again = built(name, formats_of(name), out="again") / "book.epub"
    assert again.read_bytes() == epub_of(name).path.read_bytes()


def test_build_is_reproducible_across_copies(book_copy: BookCopy, tmp_path: Path) -> None:
    first, second = book_copy("titles"), book_copy("titles")
    build(first, tmp_path / "one", ["epub"])
    build(second, tmp_path / "two", ["epub"])
    assert (tmp_path / "one/book.epub").read_bytes() == (tmp_path / "two/book.epub").read_bytes()


# File names of generated pages and essays


@pytest.mark.parametrize(
    "stem",
    [
        pytest.param(
            "nav",
        ),
        pytest.param(
            "contributors",
        ),
        "afterword-essay",
    ],
)
def test_essay_file_names_never_collide_with_generated_pages(tmp_path: Path, stem: str) -> None:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / f"{stem}.md").write_text(
        f"---\ntitle: The {stem} essay\nauthor: Some One\n---\n\nText of the {stem} essay.\n",
        encoding="utf-8",
    )
    (tmp_path / "book.yaml").write_text(
        f"title: T\ncontents:\n  - chapters/{stem}.md\n", encoding="utf-8"
    )
    build(tmp_path / "book.yaml", tmp_path / "dist", ["epub"])
    with zipfile.ZipFile(tmp_path / "dist" / "book.epub") as archive:
        names = archive.namelist()
        assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
        texts = [archive.read(n).decode() for n in names if n.endswith(".xhtml")]
    assert sum(f"Text of the {stem} essay." in t for t in texts) == 1


def test_essay_in_another_language(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "de.md").write_text(
        '---\ntitle: Auf Deutsch\nlanguage: de\n---\n\n"Hallo", sagte er.\n', encoding="utf-8"
    )
    (tmp_path / "book.yaml").write_text(
        "title: T\nlanguage: en-GB\ncontents:\n  - chapters/de.md\n", encoding="utf-8"
    )
    build(tmp_path / "book.yaml", tmp_path / "dist", ["epub"])
    epub = Epub(tmp_path / "dist" / "book.epub")
    assert epub.xpath("//dc:language/text()") == ["en-GB"]
    essay = epub.document("de.xhtml")
    assert (essay.get("lang"), essay.get(XML_LANG)) == ("de", "de")
    (section,) = essay.xpath("//xhtml:section[@id='de']", namespaces=NS)
    assert (section.get("lang"), section.get(XML_LANG)) == ("de", "de")
    assert "„Hallo“, sagte er." in epub.read("de.xhtml").decode()
    assert epub.document("titlepage.xhtml").get("lang") == "en-GB"

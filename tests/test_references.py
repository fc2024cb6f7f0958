"""Links from one essay to another resolve in the PDF, the EPUB and the web edition;
a link to a file that is not an essay, or to an anchor that is not there, is an error."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import docx
import pypdf
import pytest
from click.testing import CliRunner

from helpers import assert_epubcheck_clean, copy_book, epubcheck
from make_book.cli import main
from make_book.theme import packaged_themes

# Markdown to Markdown (the file, a heading, a note), HTML to Markdown, Markdown to HTML.
ALPHA_LINKS = (
    " Compare [Delta](delta.html), [its second part](delta.html#part2){.page-ref}"
    " and [Beta's opening](beta.md)."
)
DELTA_LINK = (
    '<p>See <a class="page-ref" href="alpha.md#notes">Alpha\'s notes</a>'
    ' and <a href="alpha.md#fn-1">its first note</a>.</p>'
)


def _with_links(folder: Path) -> None:
    alpha = folder / "chapters" / "alpha.md"
    text = alpha.read_text("utf-8")
    alpha.write_text(
        text.replace(
            "This sentence carries a note.", "This sentence carries a note." + ALPHA_LINKS, 1
        ),
        "utf-8",
    )
    delta = folder / "chapters" / "delta.html"
    page = delta.read_text("utf-8")
    delta.write_text(page.replace('<h2 id="part2">', DELTA_LINK + '\n<h2 id="part2">', 1), "utf-8")


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    manifest = copy_book("mixed", tmp_path_factory.mktemp("linked"))
    _with_links(manifest.parent)
    result = CliRunner().invoke(main, ["build", str(manifest), "--format", "pdf,epub,html"])
    assert result.exit_code == 0, result.output
    return manifest.parent / "dist"


def _hrefs(html: str) -> Iterator[str]:
    yield from re.findall(r'href="([^"]*)"', html)


def _ids(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


def _assert_every_local_link_lands(files: dict[str, str]) -> int:
    """Follow every relative href of a set of pages; the number followed across files."""
    across = 0
    for name, page in files.items():
        for href in _hrefs(page):
            parts = urlsplit(href)
            if parts.scheme or href.startswith("//"):
                continue
            target = unquote(parts.path) or name
            if target not in files:
                continue  # the stylesheet, the downloads, images: checked elsewhere
            fragment = unquote(parts.fragment)
            assert not fragment or fragment in _ids(files[target]), f"{name}: {href}"
            across += target != name
    return across


def test_the_web_edition_has_no_broken_link(linked: Path) -> None:
    pages = {p.name: p.read_text("utf-8") for p in (linked / "html").glob("*.html")}
    assert _assert_every_local_link_lands(pages) > 0
    alpha = next(page for name, page in pages.items() if "Compare" in page)
    assert 'href="delta-from-html.html#delta--part2"' in alpha or "#delta--part2" in alpha


def test_the_epub_links_land_and_pass_epubcheck(linked: Path) -> None:
    with zipfile.ZipFile(linked / "book.epub") as epub:
        pages = {
            Path(n).name: epub.read(n).decode() for n in epub.namelist() if n.endswith(".xhtml")
        }
    assert _assert_every_local_link_lands(pages) > 0
    delta = next(
        page for page in pages.values() if "Alpha’s notes" in page or "Alpha's notes" in page
    )
    assert re.search(r'href="[^"#]+\.xhtml#alpha--notes"', delta)
    assert re.search(r'href="[^"#]+\.xhtml#alpha--fn-1"', delta)
    assert_epubcheck_clean(epubcheck(linked / "book.epub"))


def test_pdf_links_land_on_the_page_of_their_target(linked: Path) -> None:
    reader = pypdf.PdfReader(linked / "book.pdf")
    pages = {
        name: reader.get_destination_page_number(d) for name, d in reader.named_destinations.items()
    }
    wanted = {"delta--part2": "Second Part", "alpha--notes": "Notes", "alpha--fn-1": "first note"}
    found: set[str] = set()
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            target = str(annotation.get_object().get("/Dest", ""))
            if target in wanted:
                found.add(target)
                assert wanted[target] in reader.pages[pages[target]].extract_text()
    assert found == set(wanted)


def test_page_references_print_the_folio_of_their_target(linked: Path) -> None:
    reader = pypdf.PdfReader(linked / "book.pdf")
    destinations = reader.named_destinations
    labels = reader.page_labels
    expected = {
        "its second part": labels[reader.get_destination_page_number(destinations["delta--part2"])],
        "Alpha's notes": labels[reader.get_destination_page_number(destinations["alpha--notes"])],
    }
    text = "\n".join(page.extract_text() for page in reader.pages)
    for words, folio in expected.items():
        assert re.search(re.escape(words) + r"\s*\(p\.\s*" + folio + r"\)", text), words
    web = "".join(p.read_text("utf-8") for p in (linked / "html").glob("*.html"))
    assert "(p." not in web  # the web edition links; it has no pages to cite


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("[x](nope.md)", "link 'nope.md': no such file"),
        (
            "[x](beta.md#nowhere)",
            "link 'beta.md#nowhere': beta.md has no heading or note '#nowhere'",
        ),
        ("[x](../images/dot.png)", "link '../images/dot.png': not an essay of this book"),
        # Quoted and found as written: Markdown's escapes, a character reference.
        ("[x](no\\(pe\\).md)", "link 'no\\(pe\\).md': no such file"),
        ("[x](n&ouml;pe.md)", "link 'n&ouml;pe.md': no such file"),
        # No site root in a book; URLs no parser would read as meant.
        ("[x](/url)", "link '/url': a path from a site's root, and a book has none"),
        ('<a href="\\*">x</a>', "link '\\*': a backslash has no place in a URL"),
        ("<https://../>", "link 'https://../': an empty name between dots in the host"),
        ("[x](https://a..b/)", "link 'https://a..b/': an empty name between dots"),
        ("[x](//example.com/)", "link '//example.com/': no scheme"),
    ],
)
def test_a_link_to_no_essay_or_no_anchor_is_an_error_at_its_place(
    tmp_path: Path, link: str, message: str
) -> None:
    manifest = copy_book("mixed", tmp_path / "book")
    alpha = manifest.parent / "chapters" / "alpha.md"
    lines = alpha.read_text("utf-8").splitlines()
    lines[13] = "Before " + link + " after.[^1][^long]"  # line 14 of the file
    alpha.write_text("\n".join(lines) + "\n", "utf-8")
    result = CliRunner().invoke(main, ["check", str(manifest)])
    assert result.exit_code == 2
    said = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(said) == 1, result.output
    column = ("Before " + link).index(message.split("'")[1]) + 1  # where the value is
    assert said[0].startswith(f"error: chapters/alpha.md:14:{column}: {message}"), said[0]


def test_a_link_written_twice_is_one_error(tmp_path: Path) -> None:
    manifest = copy_book("mixed", tmp_path / "book")
    alpha = manifest.parent / "chapters" / "alpha.md"
    text = alpha.read_text("utf-8")
    alpha.write_text(text + "\nSee [gone] and [it][gone].\n\n[gone]: gone.md\n", "utf-8")
    result = CliRunner().invoke(main, ["check", str(manifest)])
    said = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(said) == 1, result.output
    assert "link 'gone.md': no such file" in said[0]


# The whole promise: every kind of essay, linked, in every theme


def _assert_offprints_are_the_books_pages(dist: Path) -> None:
    """Each offprint's pages, after its first, are the book's pages of the same folios."""
    book = pypdf.PdfReader(dist / "book.pdf")
    by_folio = dict(zip(book.page_labels, book.pages, strict=True))
    offprints = sorted((dist / "offprints").glob("*.pdf"))
    assert len(offprints) >= 5  # every essay of the main matter, Word's included
    for path in offprints:
        offprint = pypdf.PdfReader(path)
        for label, page in list(zip(offprint.page_labels, offprint.pages, strict=True))[1:]:
            assert page.extract_text() == by_folio[label].extract_text(), f"{path.name} p. {label}"


def _word_essay_linking(path: Path) -> None:
    """A Word essay (with a footnote) whose hyperlinks go to a Markdown and an HTML essay."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import parse_xml

    from test_word import W, word_document

    word_document(path, title="From Word", picture=False)
    document = docx.Document(str(path))
    paragraph = document.add_paragraph("Word links to ")
    for target, words in (("alpha.md#notes", "Alpha's notes"), ("delta.html#part2", "Delta")):
        rid = document.part.relate_to(target, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        paragraph._p.append(
            parse_xml(
                f'<w:hyperlink {W} xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
                f'2006/relationships" r:id="{rid}"><w:r><w:t>{words}</w:t></w:r></w:hyperlink>'
            )
        )
    document.save(str(path))


def _every_kind_linked(folder: Path, theme: str) -> Path:
    _with_links(folder)
    _word_essay_linking(folder / "chapters" / "from-word.docx")
    manifest = folder / "book.yaml"
    text = manifest.read_text("utf-8").replace(
        "      - chapters/delta.html",
        "      - chapters/delta.html\n      - chapters/from-word.docx",
    )
    manifest.write_text(f"theme: {theme}\n" + text, "utf-8")
    alpha = folder / "chapters" / "alpha.md"
    alpha.write_text(
        alpha.read_text("utf-8").replace(
            "See also", "Word says more ([its notes](from-word.docx#fn-1){.page-ref}). See also", 1
        ),
        "utf-8",
    )
    return manifest


@pytest.mark.parametrize("theme", packaged_themes())
def test_every_kind_of_essay_linked_in_every_theme(tmp_path: Path, theme: str) -> None:
    manifest = _every_kind_linked(copy_book("mixed", tmp_path / "book").parent, theme)
    formats = "pdf,epub,html,offprints"
    result = CliRunner().invoke(main, ["build", str(manifest), "--format", formats])
    assert result.exit_code == 0, result.output
    dist = manifest.parent / "dist"
    pages = {p.name: p.read_text("utf-8") for p in (dist / "html").glob("*.html")}
    assert _assert_every_local_link_lands(pages) >= 7
    _assert_offprints_are_the_books_pages(dist)
    word_page = next(page for page in pages.values() if "Word links to" in page)
    assert "#alpha--notes" in word_page and "#delta--part2" in word_page
    assert_epubcheck_clean(epubcheck(dist / "book.epub"))
    reader = pypdf.PdfReader(dist / "book.pdf")
    note = reader.get_destination_page_number(reader.named_destinations["from-word--fn-1"])
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert re.search(r"its\s+notes\s*\(p\.\s*" + reader.page_labels[note] + r"\)", text)


def test_a_link_written_as_text_is_not_a_link(tmp_path: Path) -> None:
    """A book about HTML shows `<a href="notes.md">` in a code span: text, not a link."""
    manifest = copy_book("mixed", tmp_path / "book")
    alpha = manifest.parent / "chapters" / "alpha.md"
    code = ' Write `<a href="notes.md" id="fake">` for a link.'
    text = alpha.read_text("utf-8")
    alpha.write_text(
        text.replace("This sentence carries a note.", "This sentence carries a note." + code, 1),
        "utf-8",
    )
    result = CliRunner().invoke(main, ["build", str(manifest), "--format", "html"])
    assert result.exit_code == 0, result.output
    page = next(
        p
        for p in (manifest.parent / "dist" / "html").glob("*.html")
        if "Write" in p.read_text("utf-8")
    )
    assert '&lt;a href="notes.md" id="fake"&gt;' in page.read_text("utf-8")


def test_a_link_out_of_the_book_does_not_say_what_is_there(tmp_path: Path) -> None:
    manifest = copy_book("mixed", tmp_path / "book")
    alpha = manifest.parent / "chapters" / "alpha.md"
    lines = alpha.read_text("utf-8").splitlines()
    lines[13] = "See [x](../../../../../../etc/hostname) and [y](../../nope.md).[^1][^long]"
    alpha.write_text("\n".join(lines) + "\n", "utf-8")
    result = CliRunner().invoke(main, ["check", str(manifest)])
    said = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2
    assert said == [
        "error: chapters/alpha.md:14:9: link '../../../../../../etc/hostname':"
        " leaves the book folder",
        "error: chapters/alpha.md:14:49: link '../../nope.md': leaves the book folder",
    ]

"""Word manuscripts (.docx) as essays: what is kept, what warns, what is refused.

The fixtures are real .docx files made here with python-docx; the footnotes part,
which python-docx cannot write, is added to its package as XML.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner, Result
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from lxml import etree
from PIL import Image
from pypdf import PdfReader

from helpers import NS, Epub, assert_epubcheck_clean, epubcheck
from make_book.cache.folder import CACHE_FOLDER
from make_book.cli import main
from make_book.model import Book, Essay
from make_book.source.assemble import assemble
from make_book.source.manifest import load_manifest
from make_book.source.word import IMAGES_FOLDER

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
FOOTNOTES = f"""<w:footnotes {W}>
<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>
<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>
</w:r></w:p></w:footnote>
<w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r>
<w:r><w:t xml:space="preserve"> A note with </w:t></w:r>
<w:r><w:rPr><w:i/></w:rPr><w:t>emphasis</w:t></w:r></w:p></w:footnote>
</w:footnotes>"""
ENDNOTES = f"""<w:endnotes {W}><w:endnote w:id="1"><w:p><w:r><w:endnoteRef/></w:r>
<w:r><w:t xml:space="preserve"> An endnote.</w:t></w:r></w:p></w:endnote></w:endnotes>"""
NOTES_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.{}+xml"


def word_document(path: Path, title: str = "On Word", picture: bool = True) -> Path:
    """A .docx with every kind of markup an essay keeps, and a footnote."""
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = "Wendy Writer; Will Writer"
    document.add_paragraph(title, style="Title")
    text = document.add_paragraph("Plain “quoted” text — with ")
    text.add_run("italics").italic = True
    text.add_run(" and ")
    text.add_run("bold").bold = True
    text.add_run()._r.append(parse_xml(f'<w:footnoteReference {W} w:id="1"/>'))
    text.add_run(" after.")
    ended = document.add_paragraph("Then an endnote.")
    ended.add_run()._r.append(parse_xml(f'<w:endnoteReference {W} w:id="1"/>'))
    document.add_heading("A section", level=1)
    document.add_heading("A subsection", level=2)
    document.add_paragraph("A quoted passage.", style="Quote")
    document.styles.add_style("Verse", WD_STYLE_TYPE.PARAGRAPH)
    for line in ("Line one", "Line two", "", "Line three"):
        document.add_paragraph(line, style="Verse")
    document.add_paragraph("first item", style="List Bullet")
    document.add_paragraph("second item", style="List Bullet")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "cell a", "cell b"
    if picture:
        shape = document.add_picture(picture_file("PNG"))
        shape._inline.docPr.set("descr", "A red square")
    for kind, xml, relation in (
        ("footnotes", FOOTNOTES, RELATIONSHIP_TYPE.FOOTNOTES),
        ("endnotes", ENDNOTES, RELATIONSHIP_TYPE.ENDNOTES),
    ):
        uri, content_type = PackURI(f"/word/{kind}.xml"), NOTES_TYPE.format(kind)
        notes = Part(uri, content_type, xml.encode(), document.part.package)
        document.part.relate_to(notes, relation)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def picture_file(kind: str) -> io.BytesIO:
    """A small picture in the format `kind` (Pillow's name)."""
    data = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(data, kind)
    data.seek(0)
    return data


def write_book(folder: Path, essays: list[str], extra: str = "") -> Path:
    contents = "".join(f"  - {essay}\n" for essay in essays)
    manifest = folder / "book.yaml"
    manifest.write_text(f"title: T\nlanguage: en\n{extra}contents:\n{contents}", encoding="utf-8")
    return manifest


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def the_essay(book: Book) -> Essay:
    return next(e for e in book.all_texts if e.source_path.suffix == ".docx")


@pytest.fixture
def word_book(tmp_path: Path) -> Path:
    word_document(tmp_path / "chapters" / "word.docx")
    markdown = "---\nauthor: Mark Down\n---\n# Plain\n\nSome *text*.\n"
    (tmp_path / "chapters" / "plain.md").write_text(markdown, "utf-8")
    return write_book(tmp_path, ["chapters/plain.md", "chapters/word.docx"])


def test_a_word_essay_keeps_its_markup(word_book: Path) -> None:
    essay = the_essay(assemble(load_manifest(word_book)))
    body = etree.fromstring(f"<div>{essay.body_html}</div>")
    assert essay.title == "On Word"  # the properties' title; the Title paragraph is dropped
    assert essay.authors == ("Wendy Writer", "Will Writer")
    first = body.find("p")
    assert first is not None
    assert "Plain “quoted” text — with" in "".join(first.itertext())  # as typed
    assert [e.text for e in body.iter("em", "strong")] == ["italics", "bold"]
    assert [(h.tag, h.text) for h in body.iter("h2", "h3")] == [
        ("h2", "A section"),
        ("h3", "A subsection"),
    ]
    assert body.findtext("blockquote/p") == "A quoted passage."
    stanzas = body.findall("div[@class='verse']/p")
    assert ["".join(p.itertext()) for p in stanzas] == ["Line oneLine two", "Line three"]
    assert stanzas[0].find("br") is not None
    assert [li.text for li in body.iter("li")] == ["first item", "second item"]
    assert [td.findtext("p") for td in body.iter("td")] == ["cell a", "cell b"]
    assert body.find(".//a[@class='noteref']") is not None
    assert [note.html for note in essay.footnotes] == [
        "<p>A note with <em>emphasis</em></p>",
        "<p>An endnote.</p>",
    ]


def test_pictures_go_to_the_cache_folder_with_their_description(word_book: Path) -> None:
    essay = the_essay(assemble(load_manifest(word_book)))
    (picture,) = essay.images
    assert picture.parent == IMAGES_FOLDER and picture.suffix == ".png"
    assert (word_book.parent / picture).is_file()
    assert 'alt="A red square"' in essay.body_html
    assert sorted(p.name for p in (word_book.parent / "chapters").iterdir()) == [
        "plain.md",
        "word.docx",
    ]  # nothing written beside the sources
    assert IMAGES_FOLDER.parts[0] == CACHE_FOLDER


def test_book_yaml_overrides_the_document_properties(tmp_path: Path) -> None:
    word_document(tmp_path / "chapters" / "word.docx", picture=False)
    extra = "  - path: chapters/word.docx\n    title: Retitled\n    author: Someone Else\n"
    manifest = write_book(tmp_path, [])
    manifest.write_text(manifest.read_text("utf-8") + extra, "utf-8")
    essay = the_essay(assemble(load_manifest(manifest)))
    assert (essay.title, essay.authors) == ("Retitled", ("Someone Else",))


def test_the_title_paragraph_wins_over_a_stale_property(tmp_path: Path) -> None:
    path = word_document(tmp_path / "chapters" / "word.docx", picture=False)
    document = docx.Document(str(path))
    document.core_properties.title = "Draft 3 (old)"
    document.save(str(path))
    essay = the_essay(assemble(load_manifest(write_book(tmp_path, ["chapters/word.docx"]))))
    assert essay.title == "On Word"
    assert "Draft 3" not in essay.body_html and "<h1" not in essay.body_html


def test_without_a_title_paragraph_the_property_titles_it(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "From the Properties"
    document.add_heading("First section", level=1)
    document.add_paragraph("Text.")
    (tmp_path / "chapters").mkdir()
    document.save(str(tmp_path / "chapters" / "word.docx"))
    essay = the_essay(assemble(load_manifest(write_book(tmp_path, ["chapters/word.docx"]))))
    assert essay.title == "From the Properties"
    assert essay.body_html.startswith("<h2>First section</h2>")


def test_without_a_title_the_word_hint_is_given(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Only text, no title.")
    (tmp_path / "chapters").mkdir()
    document.save(str(tmp_path / "chapters" / "untitled.docx"))
    result = run("check", write_book(tmp_path, ["chapters/untitled.docx"]))
    assert result.exit_code == 2
    assert "chapters/untitled.docx: essay has no title: give it a title in" in result.stderr


def test_a_book_of_markdown_and_word_in_every_format(word_book: Path) -> None:
    out = word_book.parent / "dist"
    # --strict: the Word essay, with a described picture, converts without a warning
    result = run("build", word_book, "--format", "html,epub,pdf", "--no-cache", "--strict")
    assert result.exit_code == 0, result.output
    epub = Epub(out / "book.epub")
    page = epub.document("word.xhtml")
    text = "".join(page.itertext())
    assert "Plain “quoted” text — with italics and bold" in text
    assert page.xpath("//xhtml:em/text()", namespaces=NS)[0] == "italics"
    assert page.xpath("//xhtml:a[@class='noteref']", namespaces=NS)
    assert page.xpath("//xhtml:li[@id='word--fn-1']//xhtml:em/text()", namespaces=NS) == [
        "emphasis"
    ]
    assert_epubcheck_clean(epubcheck(out / "book.epub"))
    web = (out / "html" / "word.html").read_text("utf-8")
    assert "<em>italics</em>" in web and "A note with <em>emphasis</em>" in web
    printed = "".join(page.extract_text() for page in PdfReader(out / "book.pdf").pages)
    assert "A note with emphasis" in printed and "Line three" in printed


def _docx_bytes(document: bytes = b"<w:document/>", **more: bytes) -> bytes:
    """A zip with the two parts every Word document has (and more, by name)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", document)
        for name, data in more.items():
            archive.writestr(name, data)
    return buffer.getvalue()


REFUSED = {
    "macros.docm": (b"", "unsupported extension"),
    "locked.docx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "password-protected"),
    "text.docx": (b"Just some text, saved with the wrong name.\n", "is a zip package"),
    "bomb.docx": (_docx_bytes(document=b" " * (8 * 1024 * 1024)), "a zip bomb"),
    "huge.docx": (_docx_bytes(document=b" " * (24 * 1024 * 1024)), "uncompressed; a part of"),
    "macro.docx": (_docx_bytes(**{"word/vbaProject.bin": b"\0"}), "macro-enabled"),
    # Millions of tiny runs in a small file, and a main part under another name than
    # document.xml (the package's relationships may name any): mammoth would take minutes.
    "runs.docx": (
        _docx_bytes(**{"word/main.xml": b"".join(b"<w:t>%d</w:t>" % n for n in range(320_000))}),
        "XML elements; a Word essay may have at most",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_file_that_is_not_a_readable_docx_is_one_error(tmp_path: Path, name: str) -> None:
    data, message = REFUSED[name]
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / name).write_bytes(data)
    result = run("check", write_book(tmp_path, [f"chapters/{name}"]))
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and f"chapters/{name}" in line and message in line


def test_tracked_changes_comments_and_unknown_styles_warn(tmp_path: Path) -> None:
    path = word_document(tmp_path / "chapters" / "edited.docx", picture=False)
    document = docx.Document(str(path))
    paragraph = document.add_paragraph("Kept text ")
    inserted = f'<w:ins {W} w:id="90" w:author="Ed" w:date="2024-01-01T00:00:00Z">'
    paragraph._p.append(parse_xml(f"{inserted}<w:r><w:t>inserted</w:t></w:r></w:ins>"))
    document.add_comment(paragraph.runs[0], text="Cut this?", author="Ed", initials="E")
    document.styles.add_style("House Style", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("In the house style.", style="House Style")
    document.save(str(path))
    manifest = write_book(tmp_path, ["chapters/edited.docx"])
    checked = run("check", manifest)
    assert checked.exit_code == 0, checked.output
    warnings = [line for line in checked.stderr.splitlines() if line.startswith("warning: ")]
    assert any("chapters/edited.docx: has tracked changes" in w for w in warnings), warnings
    assert any("chapters/edited.docx: has 1 comment, left out" in w for w in warnings), warnings
    unknown = "chapters/edited.docx: Word style 'House Style' is not one make-book knows"
    assert any(unknown in w for w in warnings), warnings
    strict = run("build", manifest, "--strict", "--format", "html", "--no-cache")
    assert strict.exit_code == 2, strict.output
    assert "chapters/edited.docx: has tracked changes" in strict.stderr


def test_a_picture_without_a_description_warns_naming_the_file(tmp_path: Path) -> None:
    path = word_document(tmp_path / "chapters" / "bare.docx", picture=False)
    document = docx.Document(str(path))
    document.add_picture(picture_file("PNG"))
    document.save(str(path))
    result = run("check", write_book(tmp_path, ["chapters/bare.docx"]))
    assert result.exit_code == 0, result.output
    assert re.search(r"warning: chapters/bare\.docx: image '[^']+' has no alt text", result.stderr)


def test_a_picture_make_book_cannot_show_is_left_out_with_a_warning(tmp_path: Path) -> None:
    path = word_document(tmp_path / "chapters" / "tiff.docx", picture=False)
    document = docx.Document(str(path))
    document.add_picture(picture_file("TIFF"))
    document.save(str(path))
    result = run("check", write_book(tmp_path, ["chapters/tiff.docx"]))
    assert result.exit_code == 0, result.output
    assert "chapters/tiff.docx: picture 1 (image/tiff) left out" in result.stderr


def test_a_planted_link_for_the_cache_folder_is_never_written_through(tmp_path: Path) -> None:
    book, victim = tmp_path / "book", tmp_path / "victim"
    victim.mkdir()
    word_document(book / "chapters" / "word.docx")
    (book / CACHE_FOLDER).symlink_to(victim, target_is_directory=True)
    result = run("check", write_book(book, ["chapters/word.docx"]))
    assert result.exit_code == 0, result.output
    assert "chapters/word.docx: picture 1 left out: cannot write it" in result.stderr
    assert list(victim.iterdir()) == []

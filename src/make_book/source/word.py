"""Word manuscripts (.docx) read as HTML essays: the package checked, then mammoth.

A .docx file is a zip of XML parts. Before any of it is parsed, the zip itself is
checked with `zipfile` (`check_package`): an encrypted or old binary file, a file that
is not a zip, a macro-enabled document and a zip bomb are each one error naming the
file. mammoth then turns the document into semantic HTML through a style map (Word's
styles to the book's markup), and `_shaped` puts its notes and verse in the form the
Markdown converter gives them, so the essay goes on exactly as an HTML essay does:
sanitized, titled and settled by markup.py and fragment.py. What the conversion leaves
out or changes (tracked changes, comments, styles it does not know) is a warning.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from lxml import etree, html

from make_book.errors import EssayError, Problem
from make_book.source.markup import MAX_ELEMENTS
from make_book.xhtml import parse_fragment, to_xhtml

log = logging.getLogger("make_book")

WORD_SUFFIXES = (".docx",)
# Where a Word essay's pictures are written, in the book's cache folder (cache/folder.py
# names it too; tests/test_word.py checks they agree): never beside the sources.
IMAGES_FOLDER = Path(".make-book-cache", "word-images")

# Limits checked on the zip's directory before anything is decompressed. A long book
# is a few MB of XML; pictures are capped at images.py's 40 MB each.
MAX_WORD_BYTES = 64 * 1024 * 1024  # the .docx file itself
MAX_PART_BYTES = 40 * 1024 * 1024  # one part, uncompressed
MAX_TOTAL_BYTES = 160 * 1024 * 1024  # every part, uncompressed
MAX_PARTS = 5_000
MAX_XML_BYTES = 16 * 1024 * 1024  # an XML part: mammoth reads 1 MB in some two seconds
# Elements in all the XML parts together, whichever part the package names its main
# one: mammoth holds each as a DOM node (some 2 KB), so this bounds its time and memory.
# A 17,000-word essay written in Word is some 30,000; a document built to stall a CI job
# with millions of tiny runs is refused before mammoth reads it.
MAX_XML_ELEMENTS = 600_000
MAX_RATIO = 300  # uncompressed to compressed, over RATIO_FLOOR (Word's XML: 10-20; a bomb 1,000)
RATIO_FLOOR = 1024 * 1024

_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # a compound file: a password-protected .docx, or a .doc
_MACROS = re.compile(rb"macroEnabled", re.I)  # the main part's content type in a .docm
_PARAGRAPH = re.compile(rb"<w:p[\s>]")
_REVISION = re.compile(rb"<w:(?:ins|del|moveFrom|moveTo)[\s/>]")
_COMMENT = re.compile(rb"<w:comment[\s>]")
_NOTE_ID = re.compile(r"^word-(?:foot|end)note-(-?\d+)$")
# A picture's format by its first bytes: the content type a package declares may not match.
_PICTURE_MAGIC = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg", b"GIF8": ".gif"}
_CORE = "docProps/core.xml"
_DC = "{http://purl.org/dc/elements/1.1/}"

# Word's styles (by the names Word shows) to the book's markup. Headings go one level
# down, under the essay's title; mammoth's own map (lists, footnote text…) follows.
STYLE_MAP = """
p[style-name='Title'] => h1:fresh
p[style-name='Heading 1'] => h2:fresh
p[style-name='Heading 2'] => h3:fresh
p[style-name='Heading 3'] => h4:fresh
p[style-name='Heading 4'] => h5:fresh
p[style-name='Heading 5'] => h6:fresh
p[style-name='Heading 6'] => h6:fresh
p[style-name='Quote'] => blockquote > p:fresh
p[style-name='Intense Quote'] => blockquote > p:fresh
p[style-name='Block Text'] => blockquote > p:fresh
p[style-name='Verse'] => div.verse > p:fresh
p[style-name='Poem'] => div.verse > p:fresh
p[style-name='Subtitle'] => p:fresh
p[style-name='Body Text'] => p:fresh
p[style-name='Body Text First Indent'] => p:fresh
p[style-name='First Paragraph'] => p:fresh
p[style-name='No Spacing'] => p:fresh
p[style-name='Normal (Web)'] => p:fresh
r[style-name='Emphasis'] => em
r[style-name='Intense Emphasis'] => em
r[style-name='Strong'] => strong
"""


@dataclass(frozen=True)
class WordEssay:
    """A Word document as an essay: its properties, its HTML, what was lost on the way."""

    meta: dict[str, object]  # title and author from the document's properties
    html: str  # unsanitized: it goes on as an HTML essay does
    warnings: tuple[str, ...] = ()


def read_word(raw: bytes, display: str, pictures: PictureFolder | None) -> WordEssay:
    """The .docx file's bytes as an essay; EssayError if the file cannot be one.

    Its title is its first paragraph if that is in the Title style, else the Title of
    its properties; book.yaml can give another, as for any essay.

    `pictures`: where its pictures are written (None: they are left out, silently,
    as `make-book init` wants when it only reads titles).
    """
    archive = check_package(raw, display)
    with archive:
        meta = core_properties(archive, display)
        warnings = [*_revision_warnings(archive), *_comment_warnings(archive)]
    converted, messages = _converted(raw, display, _Pictures(pictures))
    root = _shaped(converted)
    if _opens_with_title(root):  # what the reader sees wins over a property, often stale
        meta.pop("title", None)
    return WordEssay(meta, to_xhtml(root), tuple(warnings + messages))


# The package, checked before mammoth reads it


def check_package(raw: bytes, display: str) -> zipfile.ZipFile:
    """The file opened as a zip whose parts may all be read; EssayError if it cannot be."""
    if raw.startswith(_OLE_MAGIC):
        _refuse(
            display,
            "a password-protected Word file or an old .doc, which make-book cannot read:"
            " remove the password, or save it as a Word Document (.docx)",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        _refuse(display, "not a Word document: a .docx file is a zip package, and this is not one")
    problem = _package_problem(archive.infolist(), len(raw))
    if not problem:
        problem = _content_problem(archive)
    if problem:
        archive.close()
        _refuse(display, problem)
    return archive


def _refuse(display: str, message: str) -> NoReturn:
    raise EssayError([Problem(display, message)])


def _package_problem(parts: list[zipfile.ZipInfo], size: int) -> str:
    """What makes the zip unsafe to decompress, from its directory alone ("" if nothing)."""
    if len(parts) > MAX_PARTS:
        return f"a zip of {len(parts):,} parts; a Word document has a few dozen"
    total = 0
    for part in parts:
        if part.flag_bits & 0x1:
            return f"part '{part.filename}' is encrypted: remove the document's password"
        limit = MAX_XML_BYTES if part.filename.endswith((".xml", ".rels")) else MAX_PART_BYTES
        if part.file_size > limit:
            return (
                f"part '{part.filename}' is {_mb(part.file_size)} uncompressed;"
                f" a part of its kind may be at most {_mb(limit)}"
            )
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            return f"part '{part.filename}' expands {ratio:,.0f} times: a zip bomb, not a document"
        total += part.file_size
    if total > MAX_TOTAL_BYTES or (total > size * MAX_RATIO and total > RATIO_FLOOR):
        return (
            f"{_mb(total)} uncompressed, from a file of {_mb(size)}; a Word document may"
            f" hold at most {_mb(MAX_TOTAL_BYTES)}: a zip bomb, or too big a book"
        )
    return ""


def _content_problem(archive: zipfile.ZipFile) -> str:
    """What makes the package no Word document make-book reads ("" if nothing)."""
    names = set(archive.namelist())
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        return "not a Word document: the zip holds no word/document.xml (another Office file?)"
    if "word/vbaProject.bin" in names or _MACROS.search(archive.read("[Content_Types].xml")):
        return "a macro-enabled document: save it as a Word Document (.docx), without macros"
    elements = sum(
        archive.read(name).count(b"<") for name in names if name.endswith((".xml", ".rels"))
    )
    if elements > MAX_XML_ELEMENTS:
        return (
            f"{elements:,} XML elements; a Word essay may have at most {MAX_XML_ELEMENTS:,}:"
            " split it into several essays"
        )
    # Counted before mammoth spends seconds on what markup.py would refuse anyway.
    paragraphs = len(_PARAGRAPH.findall(archive.read("word/document.xml")))
    if paragraphs > MAX_ELEMENTS:
        return (
            f"{paragraphs:,} paragraphs; an essay may have at most {MAX_ELEMENTS:,}"
            " (paragraphs, table cells, notes…): split it into several essays"
        )
    return ""


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


# What the document says about itself, and what it holds that the book leaves out


def core_properties(archive: zipfile.ZipFile, display: str) -> dict[str, object]:
    """The title and the authors (dc:title, dc:creator) of File > Properties, when set.

    Word writes several authors as "A; B". A damaged properties part is a warning:
    the essay can still be read, and book.yaml can give what it would have said.
    """
    try:
        data = archive.read(_CORE)
    except KeyError:
        return {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        log.warning("%s: the document's properties (%s) cannot be read", display, _CORE)
        return {}
    meta: dict[str, object] = {}
    title = " ".join((root.findtext(f"{_DC}title") or "").split())
    if title:
        meta["title"] = title
    authors = [" ".join(a.split()) for a in (root.findtext(f"{_DC}creator") or "").split(";")]
    if any(authors):
        meta["author"] = [a for a in authors if a]
    return meta


def _revision_warnings(archive: zipfile.ZipFile) -> Iterator[str]:
    """Tracked changes: mammoth keeps insertions and drops deletions (all accepted)."""
    for name in ("word/document.xml", "word/footnotes.xml", "word/endnotes.xml"):
        if name in archive.namelist() and _REVISION.search(archive.read(name)):
            yield (
                "has tracked changes, read as if all were accepted; accept or reject"
                " them in Word (Review > Accept) to be sure of the text"
            )
            return


def _comment_warnings(archive: zipfile.ZipFile) -> Iterator[str]:
    """Comments are the editor's, not the reader's: left out, and said."""
    if "word/comments.xml" in archive.namelist():
        count = len(_COMMENT.findall(archive.read("word/comments.xml")))
        if count:
            yield f"has {count} comment{'s' if count > 1 else ''}, left out of the book"


# The conversion


def _converted(raw: bytes, display: str, pictures: _Pictures) -> tuple[str, list[str]]:
    """mammoth's HTML for the document, and its messages (and the pictures') as warnings."""
    import mammoth  # only books with Word essays load it

    try:
        result = mammoth.convert_to_html(
            io.BytesIO(raw),
            style_map=STYLE_MAP,
            convert_image=mammoth.images.img_element(pictures.src),
            id_prefix="word-",
            ignore_empty_paragraphs=False,  # an empty Verse paragraph parts two stanzas
            include_embedded_style_map=False,  # a map stored in the file is not obeyed
            external_file_access=False,  # a linked picture is never fetched
        )
    except Exception as exc:  # noqa: BLE001 - whatever a damaged part raises, the file is at fault
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _refuse(display, f"damaged Word document: {reason}")
    said = [_said(message.message) for message in result.messages]
    return str(result.value), list(dict.fromkeys(said + pictures.warnings))


_UNKNOWN_STYLE = re.compile(r"Unrecognised (paragraph|run) style: (.*) \(Style ID: .*\)$")


def _said(message: str) -> str:
    """mammoth's message, in the terms of the book where it has one."""
    unknown = _UNKNOWN_STYLE.match(message)
    if unknown:
        what = "paragraphs are plain paragraphs" if unknown[1] == "paragraph" else "text is plain"
        return f"Word style '{unknown[2]}' is not one make-book knows: its {what}"
    return f"Word conversion: {message}"


@dataclass
class _Pictures:
    """mammoth's image callback: each picture written to the folder, or left out."""

    folder: PictureFolder | None
    warnings: list[str] = field(default_factory=list)
    count: int = 0

    def src(self, image: Any) -> dict[str, str]:
        """The attributes of the picture's <img>: its src, or none (it is then dropped)."""
        self.count += 1
        if self.folder is None:
            return {}
        with image.open() as stream:
            data = stream.read(MAX_PART_BYTES + 1)
        suffix = next((s for magic, s in _PICTURE_MAGIC.items() if data.startswith(magic)), "")
        if not suffix:
            self.warnings.append(
                f"picture {self.count} ({image.content_type}) left out: make-book uses"
                " JPEG, PNG or GIF pictures; insert it again as one of those"
            )
            return {}
        try:
            return {"src": self.folder.save(data, suffix)}
        except OSError as exc:
            self.warnings.append(f"picture {self.count} left out: cannot write it: {exc}")
            return {}


# Shaping mammoth's HTML as the Markdown converter's


def _shaped(converted: str) -> html.HtmlElement:
    """Notes, verse and pictures as the book expects them; empty paragraphs dropped."""
    root = parse_fragment(converted)
    for img in list(root.iter("img")):
        if not img.get("src"):  # a picture left out (see _Pictures)
            img.drop_tree()
    _verse(root)
    _drop_empty(root)
    _notes(root)
    _drop_unused_anchors(root)
    return root


def _opens_with_title(root: html.HtmlElement) -> bool:
    """Whether the document starts with a paragraph in the Title style (the only h1)."""
    first = next(root.iterchildren(), None)
    return first is not None and first.tag == "h1" and not (root.text or "").strip()


def _verse(root: html.HtmlElement) -> None:
    """Each verse block's lines (one Word paragraph each) become stanzas, as `::: verse`
    gives them: one paragraph per stanza, a line break per line; an empty paragraph
    parts two stanzas. Lines already broken with Shift+Enter stay as they are."""
    for verse in root.xpath('.//div[@class="verse"]'):
        stanza: html.HtmlElement | None = None
        for line in list(verse):
            if line.tag != "p" or _is_empty(line):
                stanza = None
                if line.tag == "p":
                    verse.remove(line)
            elif stanza is None:
                stanza = line
            else:
                etree.SubElement(stanza, "br").tail = line.text
                stanza.extend(list(line))
                verse.remove(line)


def _is_empty(element: html.HtmlElement) -> bool:
    """No text and nothing but line breaks: a blank line typed for spacing."""
    no_text = not element.text_content().strip()
    return no_text and all(child.tag == "br" for child in element.iter() if child is not element)


def _drop_empty(root: html.HtmlElement) -> None:
    """Blank paragraphs are spacing, which the book's design gives (mammoth's default)."""
    for element in list(root.iter("p", "h1", "h2", "h3", "h4", "h5", "h6")):
        if _is_empty(element):
            element.drop_tree()
    for holder in list(root.iter("blockquote", "div")):
        if len(holder) == 0 and not (holder.text or "").strip():
            holder.drop_tree()


def _notes(root: html.HtmlElement) -> None:
    """mammoth's footnotes and endnotes (calls `<sup><a href="#word-footnote-1">`, then an
    `<ol>` of `<li id="word-footnote-1">`) as markdown-it's, which fragment.py numbers."""
    lists = [ol for ol in root.iterchildren("ol") if _is_note_list(ol)]
    if not lists:
        return
    notes = lists[-1]  # mammoth writes it after the body
    for sup in root.iter("sup"):
        link = sup.find("a")
        if link is not None and _NOTE_ID.match(link.get("href", "").lstrip("#")):
            sup.set("class", "footnote-ref")
    section = html.Element("section", {"class": "footnotes"})
    notes.addprevious(html.Element("hr", {"class": "footnotes-sep"}))
    notes.addprevious(section)
    section.append(notes)
    for item in notes:
        item.set("class", "footnote-item")
        for back in item.iter("a"):
            if back.get("href", "").startswith("#word-") and "-ref-" in back.get("href", ""):
                back.set("class", "footnote-backref")
        _strip_leading_space(item)


def _is_note_list(ol: html.HtmlElement) -> bool:
    items = list(ol)
    return bool(items) and all(_NOTE_ID.match(item.get("id", "")) for item in items)


def _strip_leading_space(item: html.HtmlElement) -> None:
    """Word puts a space after the note's number, which the book sets itself."""
    first = item[0] if len(item) and not (item.text or "").strip() else item
    first.text = (first.text or "").lstrip() or None


def _drop_unused_anchors(root: html.HtmlElement) -> None:
    """Word's bookmarks (`_GoBack`, `_Toc…`) become empty anchors: kept only when linked."""
    linked = {a.get("href", "")[1:] for a in root.iter("a") if a.get("href", "").startswith("#")}
    for anchor in list(root.iter("a")):
        empty = len(anchor) == 0 and not (anchor.text or "").strip()
        if empty and anchor.get("href") is None and anchor.get("id") not in linked:
            anchor.drop_tag()


# Pictures, written to the cache folder


class PictureFolder:
    """The cache folder's `word-images/`, where pictures are written by content.

    The book folder may come from anyone: no folder on the way may be a link, and a
    picture is written under a new temporary name and renamed, so a planted link is
    replaced, never written through. A file already there is used if it holds the
    same bytes (a rebuild writes nothing).
    """

    def __init__(self, book_root: Path, essay_file: Path) -> None:
        self.root = book_root
        self.folder = book_root / IMAGES_FOLDER
        self.essay_folder = essay_file.parent

    def save(self, data: bytes, suffix: str) -> str:
        """Write the picture (if not there already); its src, from the essay's folder."""
        name = hashlib.sha256(data).hexdigest()[:32] + suffix
        target = self.folder / name
        self._make_folders()
        if _holds(target, data):
            return self._src(target)
        temporary = target.with_name(f".{name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temporary, target)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
        return self._src(target)

    def _make_folders(self) -> None:
        current = self.root
        for part in IMAGES_FOLDER.parts:
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                os.mkdir(current)
                continue
            if not stat.S_ISDIR(mode):
                raise OSError(f"{current.relative_to(self.root)} is not a folder (a link?)")

    def _src(self, target: Path) -> str:
        return Path(os.path.relpath(target, self.essay_folder)).as_posix()


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _holds(path: Path, data: bytes) -> bool:
    """Whether `path` is a regular file (not a link) holding exactly `data`."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return False
        return file.read(len(data) + 1) == data

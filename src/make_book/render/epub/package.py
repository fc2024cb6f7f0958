"""The EPUB 3: one XHTML file per essay, packaged by ebooklib.

Content documents are rendered by our own templates and handed to ebooklib
as plain items (its EpubHtml re-parses bodies and drops <head>); ebooklib
writes the OPF, the NCX for older readers and the zip. The zip is then
rewritten with fixed timestamps so that two builds are byte-identical.

When the print edition was laid out first, every printed page's start is marked
in the text (render/epub/pagelist.py) and listed in the nav's page-list.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import gc
import json
import logging
import re
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ebooklib import epub
from lxml import etree
from markupsafe import Markup

from make_book.cache.memo import BlobMemo, key_of
from make_book.cache.remembered import Remembered, digest_of
from make_book.cache.templates import CompiledTemplates
from make_book.errors import RenderError
from make_book.model import Book, Essay, Part
from make_book.pagemap import PageStart
from make_book.publish.atomic import atomic_path
from make_book.render.base import PrintPages, RenderContext
from make_book.render.cover.image import cover_png
from make_book.render.endnotes import noterefs_with_backlinks
from make_book.render.epub.a11y import heading_faults
from make_book.render.epub.pagelist import mark_pages, markers, page_ids, pagebreaks
from make_book.render.epub.zipped import Deflated, write_zip
from make_book.render.links import LinkMap, essay_type
from make_book.theme import environment, find_file, stylesheet_fonts, theme_fingerprint

_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
}
_IMAGE_TYPES[".svg"] = "image/svg+xml"
_FONT_TYPES = {".otf": "font/otf", ".ttf": "font/ttf", ".woff": "font/woff", ".woff2": "font/woff2"}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# The DPUB-ARIA role of each structural semantic: assistive technology reads the
# role, not epub:type, so both are written (Ace reports an epub:type without its
# role). Left out: deprecated roles (doc-endnote) and the types whose templates
# write their role themselves (toc, endnotes, noteref, pagebreak, page-list).
_ROLES = {
    kind: f"doc-{kind}"
    for kind in (
        "abstract",
        "acknowledgments",
        "afterword",
        "appendix",
        "chapter",
        "colophon",
        "conclusion",
        "credits",
        "dedication",
        "epigraph",
        "epilogue",
        "foreword",
        "introduction",
        "part",
        "preface",
        "prologue",
        "pullquote",
        "subtitle",
    )
}
# Essay kinds whose epub:type is spelled otherwise (the vocabulary is American).
_TYPE_SPELLING = {"acknowledgements": "acknowledgments"}

log = logging.getLogger("make_book")


def epub_type(kind: str) -> Markup:
    """` epub:type="kind"` and its ARIA role, for templates shared with the web edition."""
    role = _ROLES.get(kind)
    return Markup(f' epub:type="{kind}"' + (f' role="{role}"' if role else ""))


def epub_essay_type(kind: str) -> str:
    """The epub:type of an essay kind, in the EPUB vocabulary's spelling."""
    kind = essay_type(kind)
    return _TYPE_SPELLING.get(kind, kind)


class _PageMarks:
    """The print edition's page starts, grouped by the document each is marked in."""

    def __init__(self, book: Book, starts: list[PageStart]) -> None:
        taken = {e.slug for e in book.all_texts} | {p.slug for p in book.contents}
        self.ids = page_ids(starts, taken | {"toc", "landmarks", "page-list"})
        self.by_text: dict[str, list[PageStart]] = {}
        self.by_section: dict[str, list[PageStart]] = {}
        for start in starts:
            if start.text:
                self.by_text.setdefault(start.text, []).append(start)
            else:
                self.by_section.setdefault(start.section, []).append(start)

    def body(self, slug: str, body: str) -> str:
        """An essay body with its pages marked at their first words."""
        inside = [s for s in self.by_text.get(slug, []) if s.block >= 0]
        return mark_pages(body, inside, self.ids) if inside else body

    def of(self, slug: str) -> tuple[object, ...]:
        """Everything about the text's page markers: its starts and their ids, but not
        their pages' places in the book, which the markers do not show (so a page
        drafted before the front matter's length was known is the same page)."""
        starts = self.by_text.get(slug, [])
        # Plain tuples, not PageStarts: their repr goes into the key, made for every essay
        # twice a build, and a dataclass's repr is slow (0.03 s of a 1,200-page rebuild).
        return tuple(
            (s.label, s.text, s.section, s.block, s.word, self.ids[s.index]) for s in starts
        )

    def opening(self, slug: str = "", section: str = "") -> str:
        """Markers for the pages that begin with the document: at a text's heading, or
        a generated section's start (a section spanning pages has them all there)."""
        if slug:
            starts = [s for s in self.by_text.get(slug, []) if s.block < 0]
        else:
            starts = self.by_section.get(section, [])
        return markers(starts, self.ids)


class _Pages:
    """Renders the content documents of one book."""

    def __init__(self, book: Book, marks: _PageMarks, memo: BlobMemo) -> None:
        self.book = book
        self.marks = marks
        self.env = environment(book, compiled=CompiledTemplates(memo.cache))
        self.env.globals["essay_type"] = epub_essay_type
        self.macros: Any = self.env.get_template("pages.html").module  # Jinja macros
        self.wrapper = self.env.get_template("epub/page.xhtml")
        self.links = LinkMap(book, ".xhtml")
        self.memo = memo
        self.meta = replace(book.meta, modified="")  # the date is the package's, not a page's
        self.theme = theme_fingerprint(book)
        # Links go to other essays' files: which texts and parts the book has.
        structure = (tuple(e.slug for e in book.all_texts), tuple(p.slug for p in book.contents))
        # What every page's key takes, hashed once: its repr (300 slugs) made for each of
        # 300 essays twice a build took 0.015 s of an edit.
        self.same_for_all = key_of(self.meta, self.theme, structure)

    def page(
        self, title: str, content: str, matter: str, lang: str = "", section: str = ""
    ) -> bytes:
        """A content document; `section` names the print section whose pages open it."""
        lang = lang or self.book.meta.language
        if section:  # both are markup: Markup + str would escape the str
            content = Markup(self.marks.opening(section=section)) + Markup(content)
        html = self.wrapper.render(title=title, content=content, matter=matter, lang=lang)
        return html.encode("utf-8")

    def essay(self, essay: Essay, matter: str) -> bytes:
        """The essay's page; the same page as a build before is taken from the memo."""
        key = key_of(essay.fingerprint, matter, self.marks.of(essay.slug), self.same_for_all)
        return self.memo.made(key, lambda: self._essay(essay, matter))

    def cover_png(self) -> bytes:
        """The typographic cover (PNG compression takes a while): from the memo if made before."""
        key = key_of("cover", self.meta, self.theme)
        return self.memo.made(key, lambda: cover_png(self.book.meta))

    def _essay(self, essay: Essay, matter: str) -> bytes:
        body, notes = noterefs_with_backlinks(essay, self.links, epub=True)
        body = self.marks.body(essay.slug, body)
        content = self.macros.essay(essay, self.book, body, notes, self.links.href, epub_type)
        # A page that begins at the essay's heading is marked before it, in the body
        # rather than the essay's <section>: that section may carry another language.
        content = Markup(self.marks.opening(slug=essay.slug)) + Markup(content)
        return self.page(essay.title, content, matter, essay.language)


def draft_documents(book: Book, ctx: RenderContext, pages: PrintPages) -> BlobMemo:
    """The pages of the essays and the back matter's, and the cover image: all that
    needs only the main matter's page starts (made while the front matter is laid out).

    Each page is kept under a key that holds its page markers, so a draft from a
    layout round that is laid out again is never taken: `write_epub` makes that page
    afresh. The main matter's markers do not depend on the front matter: they are
    named by their arabic folios (pagelist.page_ids), the front matter's by roman ones."""
    memo = BlobMemo(ctx.layout.cache_dir, "epub", held=True)
    documents = _Pages(book, _PageMarks(book, list(pages.starts)), memo)
    for essay in book.essays:
        documents.essay(essay, "bodymatter")
    for essay in book.back:
        documents.essay(essay, "backmatter")
    if not book.meta.cover:
        documents.cover_png()
    return memo


def write_epub(book: Book, ctx: RenderContext, pages: PrintPages, memo: BlobMemo | None) -> Path:
    """Build the EPUB and write it atomically with fixed zip timestamps."""
    memo = memo or BlobMemo(ctx.layout.cache_dir, "epub", held=True)
    package = _package(book, pages, memo)
    target = ctx.out_dir / "book.epub"
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ctx.out_dir, prefix=".epub-") as scratch:
        raw = Path(scratch) / "raw.epub"
        when = book.meta.modified_time
        # ebooklib's own page-list would be empty: ours is in the nav template.
        options = {"epub3_pages": False, "raise_exceptions": True, "mtime": when}
        options["compresslevel"] = 0  # normalize_zip compresses, once
        _write_package(raw, package, options, target)
        deflate = Deflated(BlobMemo(ctx.layout.cache_dir, "epub-zip"))
        with atomic_path(target) as tmp:
            normalize_zip(raw, tmp, when, lambda name, data: _finish(name, data, book), deflate)
        deflate.keep()
    return target


def _write_package(
    raw: Path, package: epub.EpubBook, options: dict[str, object], target: Path
) -> None:
    """ebooklib's write, with running out of room reported like any other output's."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # ebooklib announcing a future default
            epub.write_epub(str(raw), package, options)
    except OSError as exc:
        _discard_broken_zip(exc)
        if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise
        kept = "; the previous file is unchanged" if target.exists() else ""
        raise RenderError(f"{target}: not written: {exc.strerror}{kept}") from exc


def _discard_broken_zip(error: BaseException) -> None:
    """ebooklib leaves its ZipFile open when a write fails; closing it at collection
    fails again and Python prints that as noise. Collect it now, quietly (the error's
    traceback holds the frames that hold the file: drop it first)."""
    link: BaseException | None = error
    while link is not None:
        link.__traceback__ = None
        link = link.__context__
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _unraisable: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook


def normalize_zip(
    source: Path,
    target: Path,
    when: dt.datetime,
    edit: Callable[[str, bytes], bytes] | None = None,
    deflate: Deflated | None = None,
) -> None:
    """Copy an EPUB with every entry dated `when`: mimetype first and stored.

    `edit(name, data)`, when given, may change an entry's content on the way;
    `deflate` remembers what entries deflate to (zipped.py).
    """
    with zipfile.ZipFile(source) as src, target.open("wb") as out:
        names = [entry.filename for entry in src.infolist()]
        entries = ((n, edit(n, src.read(n)) if edit else src.read(n)) for n in names)
        write_zip(out, entries, when, deflate or Deflated(None))


def _finish(name: str, data: bytes, book: Book) -> bytes:
    """The package document gets the book's language as xml:lang, which ebooklib does not
    write: reading systems and Ace take the language of the metadata text from it."""
    if not name.endswith(".opf"):
        return data
    root = etree.fromstring(data)
    root.set(_XML_LANG, book.meta.language)
    return bytes(etree.tostring(root, encoding="utf-8", xml_declaration=True))


def _package(book: Book, print_pages: PrintPages, memo: BlobMemo) -> epub.EpubBook:
    package = epub.EpubBook()
    builder = _Spine(book, package, _PageMarks(book, list(print_pages.starts)), memo)
    builder.build()
    builder.facts.keep()
    pages = bool(builder.page_list)
    _metadata(package, book, pages)
    if pages:
        _page_source(package, print_pages.source)
    return package


def _metadata(package: epub.EpubBook, book: Book, pages: bool) -> None:
    meta = book.meta
    package.set_identifier(meta.identifier)
    package.set_title(meta.title + (f": {meta.subtitle}" if meta.subtitle else ""))
    package.set_language(meta.language)
    for n, name in enumerate(meta.authors):
        package.add_author(name, role="aut", uid=f"creator-{n}")
    for n, name in enumerate(meta.editors):
        uid = f"editor-{n}"
        if meta.authors:
            _contributor(package, name, "edt", uid)
        else:
            package.add_author(name, role="edt", uid=uid)
    people = _contributors(book)
    for n, (name, role) in enumerate(people):
        _contributor(package, name, role, f"contributor-{n}")
    for key, value in (("publisher", meta.publisher), ("rights", meta.rights), ("date", meta.date)):
        if value:
            package.add_metadata("DC", key, value)
    if meta.description:
        package.add_metadata("DC", "description", meta.description)
    for subject in meta.subjects:
        package.add_metadata("DC", "subject", subject)
    _accessibility(package, book, pages)


def _contributors(book: Book) -> list[tuple[str, str]]:
    """(name, MARC relator) of essay authors and translators, each once."""
    meta = book.meta
    people = [(c.name, "aut") for c in book.contributors] + [(t, "trl") for t in meta.translators]
    people += [(t, "trl") for e in book.all_texts for t in e.translators]
    # A single-author book names its author once, as dc:creator.
    unique = dict.fromkeys(p for p in people if p[0] not in meta.authors or p[1] != "aut")
    return list(unique)


def _contributor(package: epub.EpubBook, name: str, role: str, uid: str) -> None:
    package.add_metadata("DC", "contributor", name, {"id": uid})
    refines = {"refines": f"#{uid}", "property": "role", "scheme": "marc:relators"}
    package.add_metadata(None, "meta", role, refines)


def _accessibility(package: epub.EpubBook, book: Book, pages: bool) -> None:
    has_images = any(e.images for e in book.all_texts)
    modes = ["textual"] + (["visual"] if has_images else [])
    features = ["structuralNavigation", "tableOfContents", "readingOrder"]
    features += ["alternativeText"] if has_images else []
    # printPageNumbers is the older name of pageBreakMarkers; reading systems know either.
    features += ["pageBreakMarkers", "printPageNumbers", "pageNavigation"] if pages else []
    properties = [("schema:accessMode", m) for m in modes]
    properties += [("schema:accessModeSufficient", "textual")]
    properties += [("schema:accessibilityFeature", f) for f in features]
    properties += [("schema:accessibilityHazard", "none")]
    summary = (
        "Reflowable text with a navigable table of contents, headings in a logical order, "
        "and footnotes linked both ways."
    )
    if pages:
        summary += " The print edition's page numbers are marked in the text and listed."
    properties += [("schema:accessibilitySummary", summary)]
    for prop, value in properties:
        package.add_metadata(None, "meta", value, {"property": prop})


def _page_source(package: epub.EpubBook, source: str) -> None:
    """Which edition the page numbers are from: dc:source for older reading systems, and
    pageBreakSource (EPUB Accessibility 1.1; EPUBCheck 5 knows it unprefixed)."""
    package.add_metadata("DC", "source", source)
    package.add_metadata(None, "meta", source, {"property": "pageBreakSource"})


# The page facts' cache entry; their shape: [[fault, …], [[id, label], …]].
_FACTS = "essay pages' heading faults and page breaks, 1"


class _PageFacts:
    """An essay page's heading faults and page-break markers: read from the page parsed
    once, and remembered by its sha256 (cache/remembered.py), so an edit parses only the
    pages that changed (the rest took 0.02 s of a 300-essay book's EPUB)."""

    def __init__(self, memo: BlobMemo) -> None:
        self.remembered = Remembered(memo, _FACTS)

    def of(self, page: bytes) -> tuple[list[str], list[tuple[str, str]]]:
        digest = digest_of(page)
        known = self.remembered.get(digest)
        if known is not None:
            with contextlib.suppress(ValueError, TypeError):  # another shape: read again
                faults, breaks = json.loads(known)
                return [str(f) for f in faults], [(str(i), str(label)) for i, label in breaks]
        parsed = etree.fromstring(page)
        faults, breaks = heading_faults(parsed), pagebreaks(parsed)
        self.remembered.put(digest, json.dumps([faults, breaks]).encode("utf-8"))
        return faults, breaks

    def keep(self) -> None:
        self.remembered.keep()


class _Spine:
    """Adds every document to the package, in reading order, with nav and NCX."""

    def __init__(
        self, book: Book, package: epub.EpubBook, marks: _PageMarks, memo: BlobMemo
    ) -> None:
        self.book = book
        self.package = package
        self.marks = marks
        self.pages = _Pages(book, marks, memo)
        self.facts = _PageFacts(memo)
        self.landmarks: list[tuple[str, str, str]] = []
        self.toc: list[object] = []
        self.page_list: list[tuple[str, str]] = []  # (href, label) in reading order

    def add(
        self,
        file_name: str,
        content: bytes,
        linear: bool = True,
        breaks: list[tuple[str, str]] | None = None,
    ) -> epub.EpubItem:
        """Add a content document to the package and the spine; `breaks`: its page-break
        markers, if the caller has them (an essay's: _PageFacts)."""
        uid = "x-" + re.sub(r"[^A-Za-z0-9-]", "-", Path(file_name).stem)
        item = epub.EpubItem(uid, file_name, "application/xhtml+xml", content)
        item.properties = []
        self.package.add_item(item)
        self.package.spine.append((item, "yes" if linear else "no"))
        if content:  # the nav is written last; its markers are listed in nav()
            self.list_pages(file_name, pagebreaks(content) if breaks is None else breaks)
        return item

    def list_pages(self, file_name: str, found: list[tuple[str, str]]) -> None:
        """Add a document's markers to the page-list: the spine's order is reading order."""
        self.page_list += [(f"{file_name}#{ident}", label) for ident, label in found]

    def build(self) -> None:
        self.stylesheet()
        self.cover()
        self.front_pages()
        self.nav()
        for essay in self.book.front:
            self.essay(essay, "frontmatter")
        for index, item in enumerate(self.book.contents):
            self.main_item(item, index)
        for essay in self.book.back:
            self.essay(essay, "backmatter")
        self.back_pages()
        self.images()
        self.package.add_item(epub.EpubNcx())
        self.package.toc = self.toc
        self.finish_nav()

    def stylesheet(self) -> None:
        """The theme's stylesheet, and the fonts it names beside it (a theme's own faces)."""
        path = find_file(self.book, "epub.css")
        self.package.add_item(
            epub.EpubItem("style", "style/epub.css", "text/css", path.read_bytes())
        )
        for url, font in stylesheet_fonts(self.book, path):
            uid = "font-" + re.sub(r"[^A-Za-z0-9-]", "-", Path(url).stem)
            media = _FONT_TYPES.get(font.suffix.lower(), "application/octet-stream")
            self.package.add_item(epub.EpubItem(uid, f"style/{url}", media, font.read_bytes()))

    def cover(self) -> None:
        meta = self.book.meta
        data, suffix = (
            (meta.cover.read_bytes(), meta.cover.suffix.lower())
            if meta.cover
            else (self.pages.cover_png(), ".png")
        )
        image = epub.EpubItem("cover-image", f"images/cover{suffix}", _IMAGE_TYPES[suffix], data)
        image.properties = ["cover-image"]
        self.package.add_item(image)
        self.package.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})
        template = self.pages.env.get_template("epub/cover.xhtml")
        alt = f"Cover: {meta.title}" + (f", {meta.subtitle}" if meta.subtitle else "")
        html = template.render(meta=meta, image=f"images/cover{suffix}", alt=alt)
        self.add("cover.xhtml", html.encode("utf-8"), linear=False)
        self.landmarks.append(("cover", "cover.xhtml", "Cover"))

    def front_pages(self) -> None:
        meta, macros, pages = self.book.meta, self.pages.macros, self.pages
        title_page = macros.title_page(meta, epub_type)
        self.add(
            "titlepage.xhtml",
            pages.page(meta.title, title_page, "frontmatter", section="title-page"),
        )
        self.landmarks.append(("titlepage", "titlepage.xhtml", "Title Page"))
        colophon = self.pages.env.get_template("colophon.html").render(meta=meta, typeface="")
        section = f'<section class="copyright-page" epub:type="copyright-page">{colophon}</section>'
        self.add(
            "copyright.xhtml", pages.page("Copyright", section, "frontmatter", section="copyright")
        )
        if meta.dedication_html:
            dedication = meta.dedication_html
            body = f'<section class="dedication"{epub_type("dedication")}>{dedication}</section>'
            page = pages.page("Dedication", body, "frontmatter", section="dedication")
            self.add("dedication.xhtml", page)
        if meta.epigraph:
            epigraph = macros.epigraph(meta.epigraph, epub_type)
            body = f'<section class="epigraph-page">{epigraph}</section>'
            page = pages.page("Epigraph", body, "frontmatter", section="epigraph")
            self.add("epigraph.xhtml", page)

    def nav(self) -> None:
        self.nav_item = self.add("nav.xhtml", b"")
        self.nav_item.properties = ["nav"]
        self.landmarks.append(("toc", "nav.xhtml", "Contents"))
        # The printed contents pages are marked at the top of the nav document.
        self.nav_markers = self.marks.opening(section="contents")
        contents = self.marks.by_section.get("contents", [])
        self.list_pages("nav.xhtml", [(self.marks.ids[s.index], s.label) for s in contents])

    def finish_nav(self) -> None:
        template = self.pages.env.get_template("epub/nav.xhtml")
        html = template.render(
            book=self.book,
            meta=self.book.meta,
            pages=self.pages.macros,
            href=self.pages.links.href,
            contributors=self.contributors,
            sources=self.sources,
            landmarks=self.landmarks,
            page_markers=Markup(self.nav_markers),
            page_list=self.page_list,
        )
        self.nav_item.content = html.encode("utf-8")

    @property
    def contributors(self) -> tuple[object, ...]:
        return self.book.contributors_page

    @property
    def sources(self) -> tuple[Essay, ...]:
        return self.book.sources_page

    def essay(self, essay: Essay, matter: str) -> epub.Link:
        content = self.pages.essay(essay, matter)
        faults, breaks = self.facts.of(content)
        for fault in faults:  # screen readers move by headings
            log.warning("%s: heading %s", essay.source_path, fault)
        self.add(f"{essay.slug}.xhtml", content, breaks=breaks)
        if matter == "bodymatter" and not any(k == "bodymatter" for k, _, _ in self.landmarks):
            self.landmarks.append(("bodymatter", f"{essay.slug}.xhtml", "Start of Content"))
        link = epub.Link(f"{essay.slug}.xhtml", essay.title, essay.slug)
        if matter != "bodymatter":
            self.toc.append(link)
        return link

    def main_item(self, item: Essay | Part, index: int) -> None:
        if isinstance(item, Essay):
            self.toc.append(self.essay(item, "bodymatter"))
            return
        number = sum(isinstance(i, Part) for i in self.book.contents[: index + 1])
        content = self.pages.macros.part(item, number, epub_type)
        page = self.pages.page(item.title, content, "bodymatter", section=item.slug)
        self.add(f"{item.slug}.xhtml", page)
        if not any(k == "bodymatter" for k, _, _ in self.landmarks):
            self.landmarks.append(("bodymatter", f"{item.slug}.xhtml", "Start of Content"))
        links = [self.essay(e, "bodymatter") for e in item.all_essays]
        self.toc.append((epub.Link(f"{item.slug}.xhtml", item.title, item.slug), links))

    def back_pages(self) -> None:
        macros, href = self.pages.macros, self.pages.links.href
        if self.contributors:
            body = macros.contributors(self.contributors, href, epub_type)
            page = self.pages.page("Contributors", body, "backmatter", section="contributors")
            self.add("contributors.xhtml", page)
            self.toc.append(epub.Link("contributors.xhtml", "Contributors", "contributors"))
        if self.sources:
            body = macros.sources(self.sources, href, epub_type)
            page = self.pages.page("Sources", body, "backmatter", section="sources")
            self.add("sources.xhtml", page)
            self.toc.append(epub.Link("sources.xhtml", "Sources", "sources"))

    def images(self) -> None:
        seen: set[Path] = set()
        for essay in self.book.all_texts:
            for image in essay.images:
                if image in seen:
                    continue
                seen.add(image)
                media = _IMAGE_TYPES.get(image.suffix.lower(), "application/octet-stream")
                uid = "img-" + re.sub(r"[^A-Za-z0-9]", "-", image.as_posix())
                data = (self.book.root / image).read_bytes()
                self.package.add_item(epub.EpubItem(uid, image.as_posix(), media, data))

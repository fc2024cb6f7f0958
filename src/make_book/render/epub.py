"""The EPUB 3: one XHTML file per essay, packaged by ebooklib.

Content documents are rendered by our own templates and handed to ebooklib
as plain items (its EpubHtml re-parses bodies and drops <head>); ebooklib
writes the OPF, the NCX for older readers and the zip. The zip is then
rewritten with fixed timestamps so that two builds are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from ebooklib import epub
from markupsafe import Markup

from make_book.cover import cover_png
from make_book.model import Book, Essay, Part
from make_book.output import atomic_path
from make_book.render.base import RenderContext, Renderer
from make_book.render.endnotes import noterefs_with_backlinks
from make_book.render.links import LinkMap, essay_type
from make_book.theme import environment, find_file

_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
}
_IMAGE_TYPES[".svg"] = "image/svg+xml"


def epub_type(kind: str) -> Markup:
    """` epub:type="kind"`, for templates shared with the web edition."""
    return Markup(f' epub:type="{kind}"')


class _Pages:
    """Renders the content documents of one book."""

    def __init__(self, book: Book) -> None:
        self.book = book
        self.env = environment(book)
        self.env.globals["essay_type"] = essay_type
        self.macros: Any = self.env.get_template("pages.html").module  # Jinja macros
        self.wrapper = self.env.get_template("epub/page.xhtml")
        self.links = LinkMap(book, ".xhtml")

    def page(self, title: str, content: str, matter: str, lang: str = "") -> bytes:
        lang = lang or self.book.meta.language
        html = self.wrapper.render(title=title, content=content, matter=matter, lang=lang)
        return html.encode("utf-8")

    def essay(self, essay: Essay, matter: str) -> bytes:
        body, notes = noterefs_with_backlinks(essay, self.links, epub=True)
        content = self.macros.essay(essay, self.book, body, notes, self.links.href, epub_type)
        return self.page(essay.title, content, matter, essay.language)


class EpubRenderer(Renderer):
    """book.yaml -> dist/book.epub"""

    name = "epub"
    suffix = ".epub"

    def render(self, book: Book, ctx: RenderContext) -> Path:
        """Build the EPUB and write it atomically with fixed zip timestamps."""
        package = _package(book)
        target = ctx.out_dir / f"book{self.suffix}"
        ctx.out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=ctx.out_dir, prefix=".epub-") as scratch:
            raw = Path(scratch) / "raw.epub"
            when = book.meta.modified_time
            options = {"epub3_pages": False, "raise_exceptions": True, "mtime": when}
            epub.write_epub(str(raw), package, options)
            with atomic_path(target) as tmp:
                normalize_zip(raw, tmp, when)
        return target


def normalize_zip(source: Path, target: Path, when: dt.datetime) -> None:
    """Copy an EPUB with every entry dated `when`: mimetype first and stored."""
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for entry in src.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=stamp)
            stored = entry.filename == "mimetype"
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            out.writestr(info, src.read(entry.filename), compresslevel=None if stored else 9)


def _package(book: Book) -> epub.EpubBook:
    package = epub.EpubBook()
    _metadata(package, book)
    builder = _Spine(book, package)
    builder.build()
    return package


def _metadata(package: epub.EpubBook, book: Book) -> None:
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
    _accessibility(package, book)


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


def _accessibility(package: epub.EpubBook, book: Book) -> None:
    has_images = any(e.images for e in book.all_texts)
    modes = ["textual"] + (["visual"] if has_images else [])
    features = ["structuralNavigation", "tableOfContents", "readingOrder"]
    features += ["alternativeText"] if has_images else []
    properties = [("schema:accessMode", m) for m in modes]
    properties += [("schema:accessModeSufficient", "textual")]
    properties += [("schema:accessibilityFeature", f) for f in features]
    properties += [("schema:accessibilityHazard", "none")]
    summary = (
        "Reflowable text with a navigable table of contents, headings in a logical order, "
        "and footnotes linked both ways."
    )
    properties += [("schema:accessibilitySummary", summary)]
    for prop, value in properties:
        package.add_metadata(None, "meta", value, {"property": prop})


class _Spine:
    """Adds every document to the package, in reading order, with nav and NCX."""

    def __init__(self, book: Book, package: epub.EpubBook) -> None:
        self.book = book
        self.package = package
        self.pages = _Pages(book)
        self.landmarks: list[tuple[str, str, str]] = []
        self.toc: list[object] = []

    def add(self, file_name: str, content: bytes, linear: bool = True) -> epub.EpubItem:
        uid = "x-" + re.sub(r"[^A-Za-z0-9-]", "-", Path(file_name).stem)
        item = epub.EpubItem(uid, file_name, "application/xhtml+xml", content)
        item.properties = []
        self.package.add_item(item)
        self.package.spine.append((item, "yes" if linear else "no"))
        return item

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
        css = find_file(self.book, "epub.css").read_bytes()
        self.package.add_item(epub.EpubItem("style", "style/epub.css", "text/css", css))

    def cover(self) -> None:
        meta = self.book.meta
        data, suffix = (
            (meta.cover.read_bytes(), meta.cover.suffix.lower())
            if meta.cover
            else (
                cover_png(meta),
                ".png",
            )
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
        self.add("titlepage.xhtml", pages.page(meta.title, title_page, "frontmatter"))
        self.landmarks.append(("titlepage", "titlepage.xhtml", "Title Page"))
        colophon = self.pages.env.get_template("colophon.html").render(meta=meta, typeface="")
        section = f'<section class="copyright-page" epub:type="copyright-page">{colophon}</section>'
        self.add("copyright.xhtml", pages.page("Copyright", section, "frontmatter"))
        if meta.dedication_html:
            dedication = meta.dedication_html
            body = f'<section class="dedication" epub:type="dedication">{dedication}</section>'
            self.add("dedication.xhtml", pages.page("Dedication", body, "frontmatter"))
        if meta.epigraph:
            epigraph = macros.epigraph(meta.epigraph, epub_type)
            body = f'<section class="epigraph-page">{epigraph}</section>'
            self.add("epigraph.xhtml", pages.page("Epigraph", body, "frontmatter"))

    def nav(self) -> None:
        self.nav_item = self.add("nav.xhtml", b"")
        self.nav_item.properties = ["nav"]
        self.landmarks.append(("toc", "nav.xhtml", "Contents"))

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
        )
        self.nav_item.content = html.encode("utf-8")

    @property
    def contributors(self) -> tuple[object, ...]:
        return self.book.contributors_page

    @property
    def sources(self) -> tuple[Essay, ...]:
        return self.book.sources_page

    def essay(self, essay: Essay, matter: str) -> epub.Link:
        self.add(f"{essay.slug}.xhtml", self.pages.essay(essay, matter))
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
        self.add(f"{item.slug}.xhtml", self.pages.page(item.title, content, "bodymatter"))
        if not any(k == "bodymatter" for k, _, _ in self.landmarks):
            self.landmarks.append(("bodymatter", f"{item.slug}.xhtml", "Start of Content"))
        links = [self.essay(e, "bodymatter") for e in item.all_essays]
        self.toc.append((epub.Link(f"{item.slug}.xhtml", item.title, item.slug), links))

    def back_pages(self) -> None:
        macros, href = self.pages.macros, self.pages.links.href
        if self.contributors:
            body = macros.contributors(self.contributors, href, epub_type)
            self.add("contributors.xhtml", self.pages.page("Contributors", body, "backmatter"))
            self.toc.append(epub.Link("contributors.xhtml", "Contributors", "contributors"))
        if self.sources:
            body = macros.sources(self.sources, href, epub_type)
            self.add("sources.xhtml", self.pages.page("Sources", body, "backmatter"))
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

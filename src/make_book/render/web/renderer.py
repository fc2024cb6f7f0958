"""The web edition: dist/html/ with a contents page and one page per essay."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from make_book import __version__
from make_book.model import Book, Essay, Part
from make_book.publish.atomic import write_atomic
from make_book.publish.staging import swap_folder
from make_book.render.base import PrintPages, RenderContext, Rendered, Renderer
from make_book.render.endnotes import noterefs_with_backlinks
from make_book.render.links import LinkMap, essay_type, no_epub_type
from make_book.theme import environment, find_file, stylesheet_fonts


class WebRenderer(Renderer):
    """book.yaml -> dist/html/"""

    name = "html"
    suffix = ""

    def render(
        self, book: Book, ctx: RenderContext, pages: PrintPages | None = None, draft: object = None
    ) -> Rendered:
        """Write every page into a fresh folder, then swap it for dist/html/."""
        target = ctx.out_dir / "html"
        ctx.out_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=ctx.out_dir, prefix=".html-"))
        try:
            names = ctx.downloads
            if names is None:
                names = download_names(ctx.out_dir, ctx.profile.file_name("book"))
            present = [(f.rsplit(".", 1)[1].upper(), f) for f in names]
            _Site(book, scratch, present).write()
            swap_folder(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return Rendered(target)


def download_names(folder: Path, pdf: str, made: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The EPUB and the PDF, in that order, that are in `folder` or among `made`."""
    return tuple(n for n in ("book.epub", pdf) if n in made or (folder / n).is_file())


class _Site:
    """Renders the pages of one book into a folder."""

    def __init__(self, book: Book, out: Path, downloads: list[tuple[str, str]]) -> None:
        self.book = book
        self.downloads = downloads  # (label, file) of the other outputs beside html/
        self.out = out
        self.env = environment(book)
        self.env.globals["essay_type"] = essay_type
        self.macros: Any = self.env.get_template("pages.html").module  # Jinja macros
        self.links = LinkMap(book, ".html")
        self.contributors = book.contributors_page
        self.sources = book.sources_page

    def write(self) -> None:
        """Write the index, every page, the stylesheet and the images."""
        order = self.reading_order()
        for index, (file, title, content, lang) in enumerate(order):
            prev = order[index - 1][:2] if index else None
            after = order[index + 1][:2] if index + 1 < len(order) else None
            self.page(file, title, content, lang, prev, after)
        self.page("index.html", self.book.meta.title, self.index(), "", None, order[0][:2])
        self.copy_stylesheet()
        self.copy_images()

    def copy_stylesheet(self) -> None:
        """The theme's stylesheet as style.css, and the fonts it names beside it."""
        stylesheet = find_file(self.book, "web.css")
        shutil.copyfile(stylesheet, self.out / "style.css")
        for url, font in stylesheet_fonts(self.book, stylesheet):
            target = self.out / url
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(font, target)

    def page(
        self,
        file: str,
        title: str,
        content: str,
        lang: str,
        prev: tuple[str, str] | None,
        after: tuple[str, str] | None,
    ) -> None:
        html = self.env.get_template("web/page.html").render(
            meta=self.book.meta,
            title=title,
            content=content,
            lang=lang or self.book.meta.language,
            prev=prev,
            next=after,
            version=__version__,
        )
        write_atomic(self.out / file, html)

    def index(self) -> str:
        return self.env.get_template("web/index.html").render(
            book=self.book,
            meta=self.book.meta,
            pages=self.macros,
            href=self.links.href,
            t=no_epub_type,
            contributors=self.contributors,
            sources=self.sources,
            typeface="Linux Libertine",
            downloads=self.downloads,
        )

    def reading_order(self) -> list[tuple[str, str, str, str]]:
        """(file, title, content, language) for every page after the index."""
        pages = [self.essay(e) for e in self.book.front]
        number = 0
        for item in self.book.contents:
            if isinstance(item, Part):
                number += 1
                part = self.macros.part(item, number, no_epub_type)
                pages.append((f"{item.slug}.html", item.title, str(part), ""))
                pages += [self.essay(e) for e in item.all_essays]
            else:
                pages.append(self.essay(item))
        pages += [self.essay(e) for e in self.book.back]
        if self.contributors:
            body = self.macros.contributors(self.contributors, self.links.href, no_epub_type)
            pages.append(("contributors.html", "Contributors", str(body), ""))
        if self.sources:
            body = self.macros.sources(self.sources, self.links.href, no_epub_type)
            pages.append(("sources.html", "Sources", str(body), ""))
        return pages

    def essay(self, essay: Essay) -> tuple[str, str, str, str]:
        body, notes = noterefs_with_backlinks(essay, self.links, epub=False)
        content = self.macros.essay(essay, self.book, body, notes, self.links.href, no_epub_type)
        return (f"{essay.slug}.html", essay.title, str(content), essay.language)

    def copy_images(self) -> None:
        for essay in self.book.all_texts:
            for image in essay.images:
                target = self.out / image
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.book.root / image, target)

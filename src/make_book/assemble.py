"""Stage two: read every essay the manifest names and build the Book model."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import unicodedata
import uuid
from html import escape
from pathlib import Path
from urllib.parse import quote, unquote

from make_book import markup
from make_book.errors import EssayError, Problem
from make_book.fragment import image_path, settle
from make_book.manifest_types import Epigraph, EssayRef, Manifest, PartRef
from make_book.model import Book, BookMeta, EpigraphText, Essay, Part
from make_book.sources import SourceText, read_source
from make_book.xhtml import parse_fragment

log = logging.getLogger("make_book")

# Titles front and back matter get when their essay names none.
DEFAULT_TITLES = {
    "foreword": "Foreword",
    "preface": "Preface",
    "introduction": "Introduction",
    "acknowledgements": "Acknowledgements",
    "afterword": "Afterword",
}


class _Slugs:
    """Hands out slugs that are unique in the book and valid as XML ids."""

    # Names of generated pages (EPUB and web): an essay may not take them.
    RESERVED = frozenset(
        {"index", "nav", "toc", "cover", "titlepage", "copyright", "dedication", "epigraph"}
        | {"contributors", "sources", "contents", "main-start", "style", "title-page"}
        | {"half-title", "page"}
    )

    def __init__(self) -> None:
        self.used: set[str] = set(self.RESERVED)

    def take(self, text: str, fallback: str) -> str:
        base = slugify(text) or fallback
        slug, n = base, 2
        while slug in self.used:
            slug, n = f"{base}-{n}", n + 1
        self.used.add(slug)
        return slug


def slugify(text: str) -> str:
    """ASCII, lowercase, hyphenated; starts with a letter (ids and file names need one)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = re.sub(r"^[0-9]+-", "", slug)  # "01-of-idleness" sorts files; the slug needn't
    if slug and not slug[0].isalpha():
        slug = "s-" + slug
    return slug[:60].rstrip("-")


def assemble(manifest: Manifest) -> Book:
    """Read, convert and number every essay; raise one EssayError listing all problems."""
    builder = _Builder(manifest)
    front = builder.front_matter()
    contents = tuple(builder.item(item) for item in manifest.contents)
    back = builder.back_matter()
    if builder.problems:
        raise EssayError(builder.problems)
    return Book(
        meta=book_meta(manifest, builder.newest_mtime),
        root=manifest.root,
        front=front,
        contents=tuple(c for c in contents if c is not None),
        back=back,
        show_contributors=manifest.back_matter.contributors and not manifest.authors,
        show_sources=manifest.back_matter.sources,
        theme_dirs=theme_dirs(manifest.root),
    )


def theme_dirs(root: Path) -> tuple[Path, ...]:
    """A project's own `templates/` and `styles/` folders, searched before the theme's."""
    return tuple(d for d in (root / "templates", root / "styles") if d.is_dir())


class _Builder:
    """Collects problems while turning references into model objects."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.problems: list[Problem] = []
        self.slugs = _Slugs()
        self.newest_mtime = 0.0

    def front_matter(self) -> tuple[Essay, ...]:
        fm = self.manifest.front_matter
        refs = [
            ("foreword", fm.foreword),
            ("preface", fm.preface),
            ("introduction", fm.introduction),
        ]
        return self._optional(refs)

    def back_matter(self) -> tuple[Essay, ...]:
        bm = self.manifest.back_matter
        return self._optional(
            [("afterword", bm.afterword), ("acknowledgements", bm.acknowledgements)]
        )

    def _optional(self, refs: list[tuple[str, EssayRef | None]]) -> tuple[Essay, ...]:
        essays = (self.essay(ref, kind) for kind, ref in refs if ref is not None)
        return tuple(e for e in essays if e is not None)

    def item(self, item: EssayRef | PartRef) -> Essay | Part | None:
        if isinstance(item, EssayRef):
            return self.essay(item, "essay")
        intro = self.essay(item.introduction, "part-introduction") if item.introduction else None
        essays = tuple(e for e in (self.essay(ref, "essay") for ref in item.essays) if e)
        lang = self.manifest.language
        return Part(
            slug=self.slugs.take("part-" + item.title, "part"),
            title=item.title,
            title_html=markup.inline_markdown(item.title, lang),
            essays=essays,
            subtitle_html=markup.inline_markdown(item.subtitle, lang) if item.subtitle else "",
            introduction=intro,
        )

    def essay(self, ref: EssayRef, kind: str) -> Essay | None:
        path = self.manifest.root / ref.path
        try:
            source = read_source(path, ref.path)
            self.newest_mtime = max(self.newest_mtime, path.stat().st_mtime)
            return self._convert(source, ref, kind, path)
        except EssayError as exc:
            self.problems.extend(exc.problems)
            return None

    def _convert(self, source: SourceText, ref: EssayRef, kind: str, path: Path) -> Essay:
        meta = {**source.meta, **ref.overrides}
        language = _text(meta.get("language")) or self.manifest.language
        body, title = _body_and_title(source, path, meta, language)
        slug = self.slugs.take(Path(ref.path).stem, kind)
        settled = settle(body, slug, title)
        title_html = (
            markup.inline_markdown(title, language) if title else settled.leading_heading_html
        )
        if not title_html:
            title_html = DEFAULT_TITLES.get(kind, "")
        if not title_html:
            hint = "add `title:` to its front matter or start it with a `# Heading`"
            raise EssayError([Problem(ref.path, f"essay has no title: {hint}")])
        if not settled.body_html.strip():
            raise EssayError([Problem(ref.path, "essay has no text after its front matter")])
        images = self._images(source, settled.image_sources, path)
        for src in settled.images_without_alt:
            log.warning(
                "%s: image '%s' has no alt text; readers who cannot see it get nothing",
                ref.path,
                src,
            )
        body_html = _rebase_images(settled.body_html, settled.image_sources, images)
        return Essay(
            slug=slug,
            kind=kind,
            title=plain_text(title_html),
            title_html=title_html,
            source_path=path,
            body_html=body_html,
            subtitle_html=_inline(meta.get("subtitle"), language),
            authors=_names(meta.get("author")),
            translators=_names(meta.get("translator")),
            date=_text(meta.get("date")),
            source=_inline(meta.get("source"), language),
            rights=_inline(meta.get("rights"), language),
            bio_html=markup.markdown_to_html(_text(meta.get("bio")), language),
            language=language if language != self.manifest.language else "",
            epigraph=epigraph_html(meta.get("epigraph"), language),
            footnotes=settled.footnotes,
            images=images,
            word_count=settled.word_count,
        )

    def _images(self, source: SourceText, sources: tuple[str, ...], path: Path) -> tuple[Path, ...]:
        found: list[Path] = []
        for src in sources:
            problem = _image_problem(src, path, self.manifest.root)
            if problem:
                line, column = _locate(source, src)
                shown = f"image '{src}'" if src else "image"
                raise EssayError([Problem(source.display, f"{shown}: {problem}", line, column)])
            found.append(image_path(unquote(src), path, self.manifest.root) or Path(src))
        return tuple(found)


def _locate(source: SourceText, needle: str) -> tuple[int | None, int | None]:
    """Line and column of the first place `needle` is written in an essay's body."""
    for number, line in enumerate(source.body.splitlines()):
        for candidate in (needle, unquote(needle)):
            column = line.find(candidate) if candidate else -1
            if column >= 0:
                return source.body_line + number, column + 1
    return None, None


def _rebase_images(body: str, written: tuple[str, ...], paths: tuple[Path, ...]) -> str:
    """Image sources become relative to the book folder, as every renderer expects."""
    for src, path in zip(written, paths, strict=True):
        new = escape(quote(path.as_posix(), safe="/!$&'()*+,;=:@~"), quote=True)
        written_attr = escape(src, quote=False).replace('"', "&quot;")
        body = body.replace(f'src="{written_attr}"', f'src="{new}"')
    return body


def _image_problem(src: str, path: Path, root: Path) -> str:
    if not src or re.match(r"^[a-z][a-z0-9+.-]*:", src, re.I):
        return "remote and data images are not fetched; put the file in the book folder"
    target = image_path(unquote(src), path, root)
    if target is None:
        return "path leaves the book folder"
    if not (root / target).is_file():
        return "no such file"
    return ""


def _body_and_title(
    source: SourceText, path: Path, meta: dict[str, object], language: str
) -> tuple[str, str | None]:
    """The essay's HTML fragment, and its title when known before parsing."""
    title = _text(meta.get("title")) or None
    suffix = path.suffix.lower()
    if suffix in markup.TEXT_SUFFIXES:
        text = source.body
        if title is None:  # plain text: the first line is the title
            first, _, text = text.lstrip().partition("\n")
            title = first.strip() or None
        return markup.text_to_html(text, language), title
    if suffix in markup.HTML_SUFFIXES:
        return markup.html_to_html(source.body), title
    return markup.markdown_to_html(source.body, language), title


def plain_text(fragment: str) -> str:
    """The text of an inline HTML fragment, whitespace folded."""
    return " ".join(parse_fragment(fragment).text_content().split())


def _text(value: object) -> str:
    return str(value).strip() if value is not None else ""


def _inline(value: object, language: str) -> str:
    text = _text(value)
    return markup.inline_markdown(text, language) if text else ""


def _names(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return (str(value).strip(),) if str(value).strip() else ()


def epigraph_html(value: object, language: str) -> EpigraphText | None:
    """An epigraph from a string or {text, source}; several lines are set as verse."""
    if isinstance(value, Epigraph):
        text, source = value.text, value.source
    elif isinstance(value, dict):
        text, source = _text(value.get("text")), _text(value.get("source"))
    else:
        text, source = _text(value), ""
    if not text:
        return None
    if "\n" in text:
        text = "::: verse\n" + text + "\n:::"
    return EpigraphText(markup.markdown_to_html(text, language), _inline(source, language))


def book_meta(manifest: Manifest, newest_mtime: float) -> BookMeta:
    """Book metadata; dates from SOURCE_DATE_EPOCH, the manifest or the sources, not the clock."""
    lang = manifest.language
    modified = build_time(manifest.date, newest_mtime)
    return BookMeta(
        title=manifest.title,
        subtitle=plain_text(markup.inline_markdown(manifest.subtitle, lang)),
        editors=manifest.editors,
        authors=manifest.authors,
        translators=manifest.translators,
        language=lang,
        publisher=manifest.publisher,
        date=manifest.date,
        year=manifest.date[:4] or str(modified.year),
        modified=modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
        rights=manifest.rights,
        identifier=manifest.identifier or derived_identifier(manifest),
        description=manifest.description,
        subjects=manifest.subjects,
        cover=manifest.root / manifest.cover if manifest.cover else None,
        title_html=markup.inline_markdown(manifest.title, lang),
        subtitle_html=markup.inline_markdown(manifest.subtitle, lang) if manifest.subtitle else "",
        dedication_html=markup.markdown_to_html(manifest.front_matter.dedication, lang),
        epigraph=epigraph_html(manifest.front_matter.epigraph, lang),
    )


def build_time(date: str, newest_mtime: float) -> dt.datetime:
    """SOURCE_DATE_EPOCH, else the manifest's date, else the newest source file's mtime."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    if date:
        parts = [int(p) for p in date.split("-")] + [1, 1]
        return dt.datetime(parts[0], parts[1], parts[2], tzinfo=dt.timezone.utc)
    return dt.datetime.fromtimestamp(int(newest_mtime), dt.timezone.utc)


def derived_identifier(manifest: Manifest) -> str:
    """A URN that stays the same while the title and names do."""
    names = "|".join(manifest.authors or manifest.editors)
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'make-book:{manifest.title}|{names}')}"

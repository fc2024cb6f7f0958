"""Stage two: read every essay the manifest names and build the Book model."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from html import escape, unescape
from html.entities import html5
from pathlib import Path
from urllib.parse import quote, unquote

from make_book.errors import EssayError, Problem
from make_book.model import Book, BookMeta, EpigraphText, Essay, Part
from make_book.source import markup
from make_book.source.conversions import Conversions, FreshConversions, MadeEssay
from make_book.source.essay_files import (
    MAX_ESSAY_BYTES,
    SourceText,
    decode_utf8,
    parse_source,
    read_bounded,
    read_source,
    read_text_essay,
)
from make_book.source.fragment import EssayBody
from make_book.source.images import image_problem
from make_book.source.manifest_types import Epigraph, EssayRef, Manifest, PartRef
from make_book.source.references import Locate, link_essays
from make_book.source.stylesheets import stylesheet_problems
from make_book.source.word import WORD_SUFFIXES
from make_book.theme import template_problem
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


def assemble(manifest: Manifest, memo: Conversions | None = None) -> Book:
    """Read, convert and number every essay; raise one EssayError listing all problems.

    `memo` remembers conversions and essay bodies between builds (see cache/memo.py).
    """
    builder = _Builder(manifest, memo or FreshConversions())
    front = builder.front_matter()
    contents = tuple(builder.item(item) for item in manifest.contents)
    back = builder.back_matter()
    folders = theme_dirs(manifest.root)
    problems = builder.problems + [p for d in folders for p in _theme_problems(d, manifest.root)]
    if problems:
        raise EssayError(problems)
    book = Book(
        meta=book_meta(manifest, builder.newest_mtime),
        root=manifest.root,
        front=front,
        contents=tuple(c for c in contents if c is not None),
        back=back,
        show_contributors=manifest.back_matter.contributors and not manifest.authors,
        show_sources=manifest.back_matter.sources,
        theme_dirs=folders,
        theme=manifest.theme,
    )
    _warn_about_shared_titles(book)
    return link_essays(book, _link_locator(manifest.root))


def _essay_key(raw: bytes, ref: EssayRef, kind: str, language: str, slug: str) -> str:
    """The hash of everything a text essay is made from: its file, its entry in book.yaml,
    its place in the book, and the code and libraries that make it."""
    digest = hashlib.sha256(_code_digest().encode())
    for part in (hashlib.sha256(raw).hexdigest(), ref.path, ref.overrides, kind, language, slug):
        digest.update(b"\0" + repr(part).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """This package's code that reads essays, and the libraries it converts them with: a
    change to either (a development checkout changes without a new version) is a new key."""
    package = Path(__file__).parent.parent
    digest = hashlib.sha256()
    shared = ("model.py", "xhtml.py", "url_reach.py", "errors.py")
    for path in sorted([*package.glob("source/*.py"), *(package / name for name in shared)]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    # Each library's version as it says it (the distribution's too): importing
    # importlib.metadata to ask took 0.035 s of an edit before its piece could go.
    import lxml
    import markdown_it
    import mdit_py_plugins
    import nh3
    import yaml

    for library in (markdown_it, mdit_py_plugins, nh3, lxml, yaml):
        digest.update(str(getattr(library, "__version__", "")).encode())
    return digest.hexdigest()


class _Said(logging.Handler):
    """Keeps what this thread logs while an essay is made (`serve` logs from others)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append(record)


@contextlib.contextmanager
def _warnings_said() -> Iterator[list[logging.LogRecord]]:
    said = _Said()
    log.addHandler(said)
    try:
        yield said.records
    finally:
        log.removeHandler(said)


def theme_dirs(root: Path) -> tuple[Path, ...]:
    """A project's own `templates/` and `styles/` folders, searched before the theme's."""
    return tuple(d for d in (root / "templates", root / "styles") if d.is_dir())


def _theme_problems(folder: Path, root: Path) -> list[Problem]:
    """Links out of the book in a theme folder, and stylesheets that load from outside it.

    The renderers read these files as they are (the EPUB and the web edition carry
    the stylesheets verbatim), so they are held to the essays' rule: nothing from
    the network, nothing from outside the book folder.
    """
    display = folder.relative_to(root).as_posix()
    if not _inside(folder, root):
        return [Problem(display, "is a link to a folder outside the book folder")]
    problems: list[Problem] = []
    for parent, names, files in os.walk(folder):
        for name in names + files:
            path = Path(parent) / name
            shown = path.relative_to(root).as_posix()
            if path.is_symlink() and not _inside(path, root):
                problems.append(Problem(shown, "is a link to a file outside the book folder"))
            elif name.lower().endswith(".css") and path.is_file():
                problems += _stylesheet_problems(path, shown, root)
            elif name.lower().endswith(_TEMPLATES) and path.is_file():
                problems += _template_problems(path, shown)
    return problems


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, links followed, is in the book folder (a link loop is not)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


_TEMPLATES = (".html", ".xhtml", ".xml")


def _template_problems(path: Path, shown: str) -> list[Problem]:
    """A syntax error in a template, said before anything is built (theme/sandbox.py)."""
    raw = read_bounded(path, shown, MAX_ESSAY_BYTES, "a template", "split it")
    problem = template_problem(decode_utf8(raw, shown), shown)
    return [problem] if problem else []


def _stylesheet_problems(path: Path, shown: str, root: Path) -> list[Problem]:
    """Every file the stylesheet names, found by a CSS parser, checked (stylesheets.py)."""
    raw = read_bounded(path, shown, MAX_ESSAY_BYTES, "a stylesheet", "split it")
    return stylesheet_problems(decode_utf8(raw, shown), shown, root)


def _warn_about_shared_titles(book: Book) -> None:
    """Two texts with one title build, but a reader of the contents cannot tell them apart."""
    first: dict[str, Essay] = {}
    for essay in book.all_texts:
        key = " ".join(essay.title.casefold().split())
        if key in first:
            earlier = first[key].source_path.relative_to(book.root).as_posix()
            shown = essay.source_path.relative_to(book.root).as_posix()
            log.warning("%s: the title '%s' is also the title of %s", shown, essay.title, earlier)
        else:
            first[key] = essay


def _check_notes(body: EssayBody, path: str) -> None:
    """Refuse an essay with more notes than a book can number."""
    if len(body.footnotes) > markup.MAX_FOOTNOTES:
        message = (
            f"{len(body.footnotes):,} footnotes; an essay may have at most"
            f" {markup.MAX_FOOTNOTES:,}: split it into several essays"
        )
        raise EssayError([Problem(path, message)])


def _title_html(title: str | None, body: EssayBody, language: str, path: str, kind: str) -> str:
    """The essay's title as inline HTML: its own, its leading heading, or its kind's."""
    title_html = (
        metadata_html(title, language, f"{path}: title", inline=True)
        if title
        else body.leading_heading_html
    )
    if not plain_text(title_html).strip():  # e.g. `title: "<b></b>"`: nothing to show
        title_html = DEFAULT_TITLES.get(kind, "")
    if not title_html:
        hint = "add `title:` to its front matter or start it with a `# Heading`"
        if path.lower().endswith(WORD_SUFFIXES):
            hint = "give it a title in File > Properties or book.yaml, or a Title paragraph"
        raise EssayError([Problem(path, f"essay has no title: {hint}")])
    return title_html


class _Builder:
    """Collects problems while turning references into model objects."""

    def __init__(self, manifest: Manifest, memo: Conversions) -> None:
        self.memo = memo
        self.manifest = manifest
        self.problems: list[Problem] = []
        self.slugs = _Slugs()
        self.newest_mtime = 0.0
        self.checked_images: dict[Path, str] = {}  # each file is read once, however often used
        self.images_named = False  # whether the essay last converted named an image

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
        where = f"{self.manifest.path}: part '{item.title}'"
        try:
            title_html = metadata_html(item.title, lang, where, inline=True)
            subtitle_html = metadata_html(item.subtitle, lang, f"{where} subtitle", inline=True)
        except EssayError as exc:
            self.problems.extend(exc.problems)
            return None
        return Part(
            slug=self.slugs.take("part-" + item.title, "part"),
            title=item.title,
            title_html=title_html,
            essays=essays,
            subtitle_html=subtitle_html,
            introduction=intro,
        )

    def essay(self, ref: EssayRef, kind: str) -> Essay | None:
        path = self.manifest.root / ref.path
        try:
            if path.suffix.lower() in WORD_SUFFIXES:
                source = read_source(path, ref.path, self.manifest.root)
                slug = self.slugs.take(Path(ref.path).stem, kind)
                essay = self._convert(source, ref, kind, path, slug)
            else:
                essay = self._text_essay(ref, kind, path)
            self.newest_mtime = max(self.newest_mtime, path.stat().st_mtime)
            return essay
        except EssayError as exc:
            self.problems.extend(exc.problems)
            return None

    def _text_essay(self, ref: EssayRef, kind: str, path: Path) -> Essay:
        """A Markdown, text or HTML essay: made again only when its file, its entry in
        book.yaml or the code that makes it changed (an edit rebuild reads 1 of 300)."""
        raw = read_text_essay(path, ref.path)
        slug = self.slugs.take(Path(ref.path).stem, kind)
        key = _essay_key(raw, ref, kind, self.manifest.language, slug)
        made_now = False

        def make() -> MadeEssay:
            nonlocal made_now
            made_now = True
            with _warnings_said() as said:
                essay = self._convert(parse_source(raw, ref.path), ref, kind, path, slug)
            # Images named anywhere (kept or not) were read: files of their own.
            lasting = not self.images_named and all(r.levelno == logging.WARNING for r in said)
            return MadeEssay(essay, tuple(r.getMessage() for r in said), lasting)

        made = self.memo.essay(key, make)
        if not made_now:  # said when it was made: said again, word for word
            for warning in made.warnings:
                log.warning("%s", warning)
        # Where the file is now, whatever folder the remembered essay was made from.
        return replace(made.essay, source_path=path)

    def _convert(
        self, source: SourceText, ref: EssayRef, kind: str, path: Path, slug: str
    ) -> Essay:
        meta = {**source.meta, **ref.overrides}
        language = _text(meta.get("language")) or self.manifest.language
        converted, title = _body_and_title(source, path, meta, language, self.memo)
        self._check(source, converted, path)
        body = self.memo.essay_body(converted.html, slug, title)
        _check_notes(body, ref.path)
        title_html = _title_html(title, body, language, ref.path, kind)
        if not body.word_count and not body.image_sources:  # nothing, or <p> </p>
            raise EssayError([Problem(ref.path, "essay has no text after its front matter")])
        images = self._images(source, converted, body.image_sources, path)
        for src in dict.fromkeys(body.images_without_alt):
            log.warning(
                "%s: image '%s' has no alt text; readers who cannot see it get nothing",
                ref.path,
                src,
            )
        rebased = dict(zip(body.image_sources, images, strict=True))
        field = _Fields(meta, language, ref.path)
        return Essay(
            slug=slug,
            kind=kind,
            title=plain_text(title_html),
            title_html=title_html,
            source_path=path,
            body_html=_rebase_images(body.body_html, rebased),
            subtitle_html=field.inline("subtitle"),
            authors=_names(meta.get("author")),
            translators=_names(meta.get("translator")),
            date=_text(meta.get("date")),
            source=field.inline("source"),
            rights=field.inline("rights"),
            bio_html=field.block("bio"),
            language=language if language != self.manifest.language else "",
            epigraph=epigraph_html(meta.get("epigraph"), language, f"{ref.path}: epigraph"),
            footnotes=tuple(
                replace(note, html=_rebase_images(note.html, rebased)) for note in body.footnotes
            ),
            images=images,
            word_count=body.word_count,
        )

    def _check(self, source: SourceText, converted: markup.Converted, path: Path) -> None:
        """Report what the conversion removed; raise for what it, or an image, refuses."""
        place = _Locator(source, converted.start)
        self.images_named = bool(converted.images)
        refused = [place(f) for f in converted.findings if f.refused]
        for src in dict.fromkeys(converted.images):
            problem = self._image_problem(src, path)
            if problem:
                refused.append(place(markup.Finding(_image_message(src, problem), True, src)))
        if len(refused) > _MAX_SHOWN:  # each is located by a search of the whole essay
            more = len(refused) - _MAX_SHOWN
            refused = refused[:_MAX_SHOWN] + [Problem(source.display, f"and {more:,} more")]
        if refused:
            raise EssayError(sorted(refused, key=lambda p: (p.line or 0, p.column or 0)))
        for finding in converted.findings:
            log.warning("%s", place(finding))

    def _images(
        self, source: SourceText, converted: markup.Converted, sources: tuple[str, ...], path: Path
    ) -> tuple[Path, ...]:
        """The book-relative file of each <img>; every src was checked before sanitizing,
        but what the sanitizer kept is checked again: its parser is not lxml's."""
        found: list[Path] = []
        for src in sources:
            problem = self._image_problem(src, path)
            if problem:
                finding = markup.Finding(_image_message(src, problem), True, src)
                raise EssayError([_Locator(source, converted.start)(finding)])
            found.append(_book_file(src, path, self.manifest.root))
        return tuple(found)

    def _image_problem(self, src: str, essay_file: Path) -> str:
        problem = _reference_problem(src, essay_file, self.manifest.root)
        if problem:
            return problem
        target = (essay_file.parent / unquote(src)).resolve()
        if target not in self.checked_images:
            self.checked_images[target] = image_problem(target)
        return self.checked_images[target]


_MAX_SHOWN = 20  # problems listed per essay
_REMOTE_IMAGE = "remote and data images are not fetched; put the file in the book folder"


def _image_message(src: str, problem: str) -> str:
    return f"image '{src}': {problem}" if src else f"image: {problem}"


def _reference_problem(src: str, essay_file: Path, root: Path) -> str:
    """Why an image's src cannot be used, short of reading the file ("" if it can)."""
    if not src.strip():
        return "no file named (src is empty)"
    kind = markup.reach(src)
    if kind in ("file", "absolute"):
        return f"{markup.REACH_REASONS[kind]}; give the path from the essay to the file"
    if kind:
        return _REMOTE_IMAGE
    folder = os.path.abspath(root)
    written = os.path.normpath(os.path.join(os.path.abspath(essay_file.parent), unquote(src)))
    if not written.startswith(folder + os.sep):
        return "path leaves the book folder"
    try:
        target = Path(written)
        if not target.resolve().is_relative_to(root.resolve()):
            return "is a link to a file outside the book folder"
        if not target.exists():
            return "no such file"
        return "" if target.is_file() else "not a file"
    except (OSError, RuntimeError, ValueError):  # a NUL byte, a name too long, a link loop
        return "not a path make-book can use"


def _book_file(src: str, essay_file: Path, root: Path) -> Path:
    """The book-relative path of a checked image."""
    return (essay_file.parent / unquote(src)).resolve().relative_to(root.resolve())


def _link_locator(root: Path) -> Locate:
    """Finds a link in its essay's file, for an error about it (read again: errors are rare)."""

    def locate(text: Essay, written: str, message: str) -> Problem:
        display = os.path.relpath(text.source_path, root)
        try:
            source = read_source(text.source_path, display)
        except EssayError:  # not text (a Word file): the file alone
            return Problem(display, message)
        return _Locator(source)(markup.Finding(message, True, written))

    return locate


class _Locator:
    """Turns a finding into a Problem at its line (and column) in the essay file."""

    def __init__(self, source: SourceText, start: int = 0) -> None:
        self.source = source
        self.start = start  # search from here: a document's <head> is not the essay

    def __call__(self, finding: markup.Finding) -> Problem:
        line, column = None, None
        if not self.source.located:  # a place in a Word essay's HTML is not one in the file
            return Problem(self.source.display, finding.message)
        if finding.line is not None:
            line, column = self.source.body_line + finding.line - 1, finding.column
        elif finding.needle:
            line, column = self.find(finding.needle)
        return Problem(self.source.display, finding.message, line, column)

    def find(self, needle: str) -> tuple[int | None, int | None]:
        """The first place `needle` is written (as given, decoded or escaped; any case),
        preferring where it is a URL (`src="…"`, `](…)`), with any of its characters
        written as a character reference, then where it stands whole: `images` is not
        `images/a.png`, and `/a.png` in a sentence is not `<img src="&#x2F;a.png">`."""
        body = self.source.body
        written = dict.fromkeys((needle, unquote(needle), escape(needle, quote=False)))
        for pattern, spelled in ((_AS_URL, _referenced), (_WHOLE, re.escape), (_ANY, re.escape)):
            for candidate in written:
                search = re.compile(pattern.format(spelled(candidate)), re.I).search
                match = search(body, self.start)
                if match:
                    line, column = _line_and_column(body, match.start("at"))
                    return self.source.body_line + line - 1, column
        return None, None


# Between the delimiters a URL or a name has in Markdown and HTML: ( ) " ' = < > space.
_WHOLE = r"(?<![^\s(\"'=<])(?P<at>{})(?![^\s)\"'>])"
_ANY = r"(?P<at>{})"
_AS_URL = r"(?:\b(?:src|href)\s*=\s*[\"']?|\]\(\s*<?)(?P<at>{})(?![^\s)\"'>])"


def _referenced(text: str) -> str:
    """A pattern for `text` with any character also written as a character reference
    (`&#x2F;`, `&#47;`, `&sol;`), as HTML and Markdown both decode them in a URL."""
    return "".join(_any_reference(char) for char in text)


@lru_cache(maxsize=256)
def _any_reference(char: str) -> str:
    names = [name for name, value in html5.items() if value == char and name.endswith(";")]
    spellings = [re.escape(char), f"&#0*{ord(char)};", f"&#x0*{ord(char):x};"]
    return "(?:" + "|".join(spellings + [f"&{re.escape(name)}" for name in names]) + ")"


def _line_and_column(text: str, at: int) -> tuple[int, int]:
    """1-based line and column of offset `at` in `text`."""
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


_IMG_TAG = re.compile(r"<img\s[^>]*>")  # our own XHTML: a `>` in a value is written &gt;
_SRC = re.compile(r'\ssrc="([^"]*)"')


def _rebase_images(fragment: str, rebased: dict[str, Path]) -> str:
    """Image sources become relative to the book folder, as every renderer expects.

    One pass over the fragment, however many images it has.
    """

    def new_src(attribute: re.Match[str]) -> str:
        path = rebased.get(unescape(attribute[1]))
        if path is None:
            return attribute[0]
        return f' src="{escape(quote(path.as_posix(), safe=_URL_SAFE), quote=True)}"'

    return _IMG_TAG.sub(lambda tag: _SRC.sub(new_src, tag[0], count=1), fragment)


_URL_SAFE = "/!$&'()*+,;=:@~"


def _body_and_title(
    source: SourceText, path: Path, meta: dict[str, object], language: str, memo: Conversions
) -> tuple[markup.Converted, str | None]:
    """The essay converted to an HTML fragment, and its title when known before parsing."""
    title = _text(meta.get("title")) or None
    suffix = path.suffix.lower()
    if suffix in markup.TEXT_SUFFIXES:
        text = source.body
        if title is None:  # plain text: the first line is the title
            first, _, text = text.lstrip().partition("\n")
            title = first.strip() or None
        converted = markup.text_essay(text, language)
        title_lines = source.body.count("\n", 0, len(source.body) - len(text))
        findings = [
            replace(f, line=f.line + title_lines) if f.line else f for f in converted.findings
        ]
        return replace(converted, findings=tuple(findings)), title
    if suffix in markup.HTML_SUFFIXES or suffix in WORD_SUFFIXES:  # Word: made HTML
        return markup.html_essay(source.body), title
    return memo.markdown_essay(source.body, language), title


class _Fields:
    """An essay's metadata as HTML, with what the sanitizer removed reported."""

    def __init__(self, meta: dict[str, object], language: str, display: str) -> None:
        self.meta, self.language, self.display = meta, language, display

    def inline(self, key: str) -> str:
        return metadata_html(self.meta.get(key), self.language, self.where(key), inline=True)

    def block(self, key: str) -> str:
        return metadata_html(self.meta.get(key), self.language, self.where(key))

    def where(self, key: str) -> str:
        return f"{self.display}: {key}"


def metadata_html(value: object, language: str, where: str, inline: bool = False) -> str:
    """A title, name, bio… as HTML; what was removed is a warning, what is refused an error.

    `where` names the file and the key, as in "chapters/a.md: bio".
    """
    text = _text(value)
    if not text:
        return ""
    converted = markup.markdown_metadata(text, language, inline)
    file, _, key = where.partition(": ")
    refused = [Problem(file, f"{key}: {f.message}") for f in converted.findings if f.refused]
    if refused:
        raise EssayError(refused)
    for finding in converted.findings:
        log.warning("%s: %s", where, finding.message)
    return converted.html


def plain_text(fragment: str) -> str:
    """The text of an inline HTML fragment, whitespace folded."""
    return " ".join(parse_fragment(fragment).text_content().split())


def _text(value: object) -> str:
    return str(value).strip() if value is not None else ""


def _names(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return (str(value).strip(),) if str(value).strip() else ()


def epigraph_html(value: object, language: str, where: str) -> EpigraphText | None:
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
    return EpigraphText(
        metadata_html(text, language, where),
        metadata_html(source, language, f"{where} source", inline=True),
    )


def book_meta(manifest: Manifest, newest_mtime: float) -> BookMeta:
    """Book metadata; dates from SOURCE_DATE_EPOCH, the manifest or the sources, not the clock."""
    lang = manifest.language
    modified = build_time(manifest.date, newest_mtime)
    where = f"{manifest.path}: "
    subtitle_html = metadata_html(manifest.subtitle, lang, where + "subtitle", inline=True)
    return BookMeta(
        title=manifest.title,
        subtitle=plain_text(subtitle_html),
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
        title_html=metadata_html(manifest.title, lang, where + "title", inline=True),
        subtitle_html=subtitle_html,
        dedication_html=metadata_html(manifest.front_matter.dedication, lang, where + "dedication"),
        epigraph=epigraph_html(manifest.front_matter.epigraph, lang, where + "epigraph"),
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

"""Bad and hostile input, through the real command line.

Every kind of mistake or attack in a book's sources fails with one exact line per
problem (FILE:LINE:COL where there is a place to point at), exit code 2, and leaves
the book folder, and the previous build in its dist/, exactly as they were. Active
content that is merely removed builds, with a warning per kind, and reaches none of
the outputs. Huge inputs build, or stop at a documented limit, in bounded time.

The fixture books are tests/books/bad-* and hostile-*; what git cannot hold (links
to /etc, files of megabytes) each case makes in its copy of the book.
"""

from __future__ import annotations

import os
import random
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html
from pypdf import PdfReader

from helpers import (
    BookCopy,
    assert_epubcheck_clean,
    assert_stays_inside,
    copy_book,
    epubcheck,
    run_audited,
)
from make_book.cli import main
from make_book.render.cover.wrap import cover_geometry, wrap_html
from make_book.render.pdf.reference import print_html
from make_book.render.weasy.fetch import BOOK_URL, BookFetcher
from make_book.source import markup
from make_book.source.assemble import assemble
from make_book.source.manifest import load_manifest

MB = 1024 * 1024


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


# What a book folder holds, to see that a failed build changed nothing

Snapshot = dict[str, object]


def snapshot(folder: Path) -> Snapshot:
    """Every entry under `folder`, hidden ones too: bytes and mtime of files, mtime of
    folders (a temporary file made and removed again changes its folder's), link targets."""
    found: Snapshot = {".": folder.stat().st_mtime_ns}
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(parent) / name
            key = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_dir():
                found[key] = path.stat().st_mtime_ns
            else:
                found[key] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


@pytest.fixture(scope="session")
def good_dist(session_book: BookCopy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The outputs of a good build (every format), made once: each case starts from them."""
    out = tmp_path_factory.mktemp("good") / "dist"
    result = run("build", session_book("titles"), "--out", out)
    assert result.exit_code == 0, result.output
    return out


# What the cases make in their copy of the book


def link_to_hostname(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).symlink_to("/etc/hostname")

    return make


def link_templates_to_etc(folder: Path) -> None:
    (folder / "templates").symlink_to("/etc")


def huge_image(folder: Path) -> None:
    with (folder / "images" / "huge.png").open("wb") as file:
        file.truncate(41 * MB)  # sparse: 41 MB on paper, nothing on disk


def essays_past_the_limits(folder: Path) -> None:
    chapters = folder / "chapters"
    words = "word " * 6_001  # 30,004 characters without the last space: over the limit
    (chapters / "long-paragraph.md").write_text(f"# Long\n\nA short one.\n\n{words}\n")
    (chapters / "long-line.txt").write_text(f"Long Line\n\n{words}\n")
    (chapters / "deep.html").write_text("<h1>Deep</h1>" + "<div>" * 101 + "<p>Deep.</p>")
    (chapters / "many-elements.md").write_text("# Many\n\n" + "x\n\n" * 30_001)
    notes = "".join(f"Text.[^{n}]\n\n[^{n}]: Note {n}.\n\n" for n in range(1, 3_002))
    (chapters / "many-notes.md").write_text("# Notes\n\n" + notes)
    (chapters / "long-bio.md").write_text(f"---\nbio: {'b' * 30_001}\n---\n# Bio\n\nText.\n")
    with (chapters / "huge.md").open("wb") as file:
        file.write(b"# Huge\n\n")
        file.truncate(4 * MB + 1)


def book_yaml(text: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / "book.yaml").write_text(text, encoding="utf-8")

    return write


def nothing(folder: Path) -> None:
    """The fixture folder is the whole case."""


def essays(**texts: str) -> Callable[[Path], None]:
    """A book of these essays (chapters/NAME.md), in this order."""

    def write(folder: Path) -> None:
        for name, text in texts.items():
            (folder / "chapters" / f"{name}.md").write_text(text, encoding="utf-8")
        paths = ", ".join(f"chapters/{name}.md" for name in texts)
        (folder / "book.yaml").write_text(f"title: T\ncontents: [{paths}]\n", encoding="utf-8")

    return write


# Nested past what Markdown's parser keeps: 30 lists, 30 block quotes, 10,000 `>`.
DEEP_LISTS = "# Lists\n\n" + "".join("  " * level + f"- level {level + 1}\n" for level in range(30))
DEEP_QUOTES = "# Quotes\n\n" + "".join(">" * level + f" level {level}\n" for level in range(1, 31))
LOST_NOTES = (
    "# Notes\n\nCited[^a] and cited[^b].\n\n[^a]: The first a.\n\n[^a]: The second a.\n\n"
    "[^b]: B.\n\n  [^never]: Not cited.\n"
)
ENCODED_PATH = (
    "# Paths\n\nNever write /etc/hostname in a path.\n\n"
    '<img src="&#x2F;etc&#x2F;hostname" alt="Encoded">\n'
)


# The cases

NO_TITLE = "essay has no title: add `title:` to its front matter or start it with a `# Heading`"
REMOTE_IMAGE = "remote and data images are not fetched; put the file in the book folder"
STYLES = "put stylesheets and fonts in the book's styles/ folder"
IMAGE = "error: chapters/pictures.md:{}: image '../images/{}': {}"
LINK_OUT = "is a link to a file outside the book folder"
# What the hostile books warn about, in order: each kind of thing removed, once per text.
HOSTILE_WARNINGS = (
    "warning: chapters/markdown.md:7:18: <script> removed",
    "warning: chapters/markdown.md:9:4: onclick attribute removed",
    "warning: chapters/markdown.md:9:29: onmouseover attribute removed",
    "warning: chapters/markdown.md:11:21: link to 'javascript:' removed",
    "warning: chapters/markdown.md:11:68: link to 'vbscript:' removed",
    "warning: chapters/markdown.md:13:10: link to 'data:' removed",
    "warning: chapters/markdown.md:15:1: <iframe> removed",
    "warning: chapters/markdown.md:17:1: <object> removed",
    "warning: chapters/markdown.md:17:57: <embed> removed",
    "warning: chapters/markdown.md:19:1: <form> removed",
    "warning: chapters/markdown.md:19:43: <input> removed",
    "warning: chapters/markdown.md:19:62: <button> removed",
    "warning: chapters/markdown.md:21:1: <svg> removed",
    "warning: chapters/markdown.md:23:1: <math> removed",
    "warning: chapters/markdown.md:25:1: <template> removed",
    "warning: chapters/markdown.md: title: <script> removed",
    "warning: chapters/markdown.md: bio: <script> removed",
    "warning: chapters/markdown.md: bio: onerror attribute removed",
    "warning: chapters/markdown.md: bio: image 'x.png' removed:"
    " images belong in the text of an essay",
    "warning: chapters/document.html:12:16: <script> removed",
    "warning: chapters/document.html:13:1: <meta> removed",
    "warning: chapters/document.html:14:1: <base> removed",
    "warning: chapters/document.html:15:1: <link> removed",
    "warning: chapters/document.html:16:1: <style> removed",
    "warning: chapters/document.html:17:13: link to 'javascript:' removed",
    "warning: chapters/document.html:18:42: onerror attribute removed",
    "warning: chapters/document.html:19:1: <noscript> removed",
    "warning: chapters/document.html:20:1: <video> removed",
    "warning: chapters/document.html:21:1: <textarea> removed",
    "warning: book.yaml: title: <script> removed",
    "warning: book.yaml: dedication: onclick attribute removed",
    "warning: book.yaml: dedication: <script> removed",
)
SHARED_TITLE = (
    "warning: chapters/two/intro.md: the title 'The Same Title'"
    " is also the title of chapters/one/intro.md"
)


@dataclass(frozen=True)
class Case:
    """A book that must not build: what stderr says, line for line (exit code 2)."""

    name: str
    book: str  # a folder of tests/books
    errors: tuple[str, ...]
    setup: Callable[[Path], None] = nothing  # what git cannot hold: links, big files
    args: tuple[str, ...] = ()
    # Run in a subprocess under an audit hook (about 1 s): nothing outside the book read
    # or written, nor any of `never_read` (what the input names) read at all.
    audited: bool = False
    never_read: tuple[str, ...] = ()


CASES = [
    Case("malformed-yaml", "bad-yaml", (
        "error: book.yaml:4:1: invalid YAML: expected the node content, but found"
        " '<stream end>' (while parsing a flow node at line 4)",
    )),
    Case("wrong-types", "bad-types", (
        "error: book.yaml:2:8: title: expected a string, found a list",
        "error: book.yaml:3:11: language: 'english please' is not a language tag"
        " such as en, en-GB or fr",
        "error: book.yaml:4:7: date: expected YYYY, YYYY-MM or YYYY-MM-DD, found 'yesterday'",
        "error: book.yaml:5:11: contents: expected a list of essays and parts,"
        " found 'chapters/one.md'",
        "error: book.yaml:7:14: pdf.font_size: expected a size in points such as"
        " 10.5pt or 11, found 'huge'",
        "error: book.yaml:8:16: pdf.font_family: expected a font family name"
        " (letters, digits, spaces, - . '), found"
        " 'Evil\"; } @import url(https://evil.example/x.css); x {'",
        "error: book.yaml:9:12: pdf.margins: expected a mapping with keys among top,"
        " bottom, inside, outside, found '1in'",
    )),
    Case("front-matter-types", "bad-front-matter", (
        "error: chapters/list-title.md:2:1: front matter: title: expected a string, found a list",
        "error: chapters/list-title.md:3:1: front matter: author: expected a string"
        " or a list of strings, found a mapping",
        "error: chapters/control-character.md:2:13: front matter: control character"
        " #x0007 is not allowed",
        "error: chapters/nested.md:3:55: front matter: nested more than 50 levels deep",
        "error: chapters/epigraph.md:3:1: front matter: epigraph: unknown key 'sorce';"
        " an epigraph has text and source",
        "error: chapters/language.md:3:1: front matter: language: 'en\" onload=\"x'"
        " is not a language tag such as en, en-GB or fr",
        "error: chapters/not-a-mapping.md:2:1: front matter must be a mapping of keys",
    )),
    Case("missing-files", "bad-missing", (
        "error: book.yaml:3:8: cover: no such file 'images/cover.jpg'",
        "error: book.yaml:5:13: front_matter.foreword: no such file 'chapters/foreword.md'",
        "error: book.yaml:8:5: contents[1]: no such file 'chapters/gone.md'",
        "error: book.yaml:9:5: contents[2]: 'chapters/folder.md' is not a file",
    )),
    Case("bad-encodings", "bad-encoding", (
        "error: chapters/latin1.txt:2:11: not UTF-8 text: byte 0xe9 at offset 14",
        "error: chapters/utf16.txt:1:1: not UTF-8 text: byte 0xff at offset 0"
        " (the file is UTF-16: save it as UTF-8)",
    )),
    Case("essay-path-escapes", "bad-paths", (
        "error: book.yaml:6:5: contents[1]: '../../outside.md' leaves the book folder",
        "error: book.yaml:7:5: contents[2]: path must be relative to the book folder,"
        " found '/etc/passwd'",
        "error: book.yaml:8:5: contents[3]: 'chapters/../../../etc/hostname.md'"
        " leaves the book folder",
        f"error: book.yaml:9:5: contents[4]: 'chapters/link.md' {LINK_OUT}",
    ), setup=link_to_hostname("chapters/link.md")),
    Case("image-path-escapes", "bad-image-paths", (
        "error: chapters/escapes.md: image: no file named (src is empty)",
        "error: chapters/escapes.md:3:15: image '../../../../etc/passwd':"
        " path leaves the book folder",
        "error: chapters/escapes.md:5:13: image '/etc/hostname': absolute paths are"
        " not allowed; give the path from the essay to the file",
        "error: chapters/escapes.md:7:15: image 'file:///etc/passwd': file: URLs are"
        " not read; give the path from the essay to the file",
        "error: chapters/escapes.md:9:11: image '..%2F..%2F..%2Fetc%2Fpasswd':"
        " path leaves the book folder",
        f"error: chapters/escapes.md:11:15: image 'images/host.png': {LINK_OUT}",
        "error: chapters/escapes.md:13:13: image 'images': not a file",
        "error: chapters/escapes.md:17:9: image 'a%00b.png': not a path make-book can use",
    ), setup=link_to_hostname("chapters/images/host.png")),
    Case("remote-urls", "bad-remote", (
        "warning: chapters/mutation.html:2:1: <noscript> removed",
        f"error: chapters/images.md:3:8: image 'https://evil.example/photo.jpg': {REMOTE_IMAGE}",
        f"error: chapters/images.md:5:14: image 'http://evil.example/photo.png': {REMOTE_IMAGE}",
        f"error: chapters/images.md:7:14: image '//evil.example/photo.gif': {REMOTE_IMAGE}",
        f"error: chapters/images.md:9:8: image 'ftp://evil.example/photo.jpg': {REMOTE_IMAGE}",
        "error: chapters/images.md:11:30: <img srcset> 'https://evil.example/big.png':"
        " remote files are not fetched; put the file in the book folder",
        "error: chapters/styles.html:5:30: <link href> 'https://evil.example/essay.css':"
        f" remote files are not fetched; {STYLES}",
        "error: chapters/styles.html:6:21: CSS @import 'http://evil.example/more.css':"
        f" remote files are not fetched; {STYLES}",
        "error: chapters/styles.html:7:27: CSS url() 'http://evil.example/bg.png':"
        f" remote files are not fetched; {STYLES}",
        "error: chapters/styles.html:8:46: CSS url() 'https://evil.example/font.woff2':"
        f" remote files are not fetched; {STYLES}",
        "error: chapters/styles.html:9:33: CSS url() 'images/paper.png': an essay's CSS"
        f" cannot load files; {STYLES}",
        "error: chapters/mutation.html:2:42: image 'https://evil.example/pixel.png':"
        f" {REMOTE_IMAGE}",
        "error: styles/web.css:1:1: @import 'https://evil.example/fonts.css':"
        " remote files are not fetched; put the file in the book folder",
    )),
    Case("bad-images", "bad-images", (
        IMAGE.format("5:9", "not-an-image.png", "not an image make-book can read;"
                     " use JPEG, PNG or GIF"),
        IMAGE.format("7:10", "empty.png", "not an image make-book can read; use JPEG, PNG or GIF"),
        IMAGE.format("9:15", "truncated.png", "damaged image file: Truncated File Read"),
        IMAGE.format("11:16", "truncated.jpg", "damaged image file: image file is truncated"
                     " (24 bytes not processed)"),
        IMAGE.format("13:22", "photo-named.png", "a JPEG image named '.png': rename it to '.jpg'"),
        IMAGE.format("15:19", "thin.png", "1x100000 pixels; a side may be at most 20,000 pixels"),
        IMAGE.format("17:9", "picture.webp", "a WEBP image; use JPEG, PNG or GIF"),
        IMAGE.format("19:9", "bomb.png", "more than 50,000,000 pixels;"
                     " an image may have at most 50,000,000"),
        IMAGE.format("21:10", "64-megapixels.png", "8000x8000 pixels is 64,000,000;"
                     " an image may have at most 50,000,000"),
        IMAGE.format("23:14", "huge.png", "the file is 41 MB; an image may be at most 40 MB"),
        IMAGE.format("25:12", "missing.png", "no such file"),
    ), setup=huge_image),
    Case("empty-essays", "bad-empty", (
        "warning: chapters/whitespace.html:5:1: <script> removed",
        f"error: chapters/empty.md: {NO_TITLE}",
        "error: chapters/only-front-matter.md: essay has no text after its front matter",
        f"error: chapters/blank.txt: {NO_TITLE}",
        f"error: chapters/empty-front-matter.md: {NO_TITLE}",
        "error: chapters/whitespace.html: essay has no text after its front matter",
    )),
    Case("essay-listed-twice", "bad-duplicates", (
        "error: book.yaml:7:9: contents[1].chapters[0]: './chapters/one.md'"
        " is already used at line 4",
    )),
    Case("theme-reaching-out", "bad-theme", (
        "error: templates: is a link to a folder outside the book folder",
        "error: styles/print.css:2:1: @import 'https://evil.example/fonts.css':"
        " remote files are not fetched; put the file in the book folder",
        "error: styles/print.css:4:40: url() 'file:///etc/passwd': file: URLs are not read;"
        " put the file in the book folder",
        "error: styles/print.css:5:21: url() '//evil.example/logo.png':"
        " remote files are not fetched; put the file in the book folder",
    ), setup=link_templates_to_etc),
    Case("essays-past-the-limits", "bad-limits", (
        "error: chapters/long-paragraph.md:5: a paragraph of 30,004 characters;"
        " a paragraph may have at most 30,000: break it with blank lines",
        "error: chapters/long-line.txt:3: a paragraph of 30,004 characters;"
        " a paragraph may have at most 30,000: break it with blank lines",
        "error: chapters/deep.html: HTML nested more than 100 levels deep; break it up",
        "error: chapters/many-elements.md: 30,002 HTML elements (paragraphs, line breaks,"
        " table cells, notes…); an essay may have at most 30,000: split it into several essays",
        "error: chapters/many-notes.md: 3,001 footnotes; an essay may have at most 3,000:"
        " split it into several essays",
        "error: chapters/long-bio.md:2:1: front matter: bio: '" + "b" * 60 + "…' has"
        " 30,001 characters;"
        " a value may have at most 30,000",
        "error: chapters/huge.md: larger than 4 MB, the most an essay may be:"
        " split it into several essays",
    ), setup=essays_past_the_limits),
    Case("book-yaml-too-large", "bad-yaml", (
        "error: book.yaml: larger than 1 MB, the most book.yaml may be: move long texts"
        " into essays",
    ), setup=book_yaml("title: T\ncontents: [chapters/one.md]\n#" + "x" * MB + "\n")),
    Case("book-yaml-value-too-long", "bad-yaml", (
        "error: book.yaml:2:14: description: '" + "d" * 60 + "…' has 30,001 characters;"
        " a value may have at most 30,000",
    ), setup=book_yaml(f"title: T\ndescription: {'d' * 30_001}\ncontents: [chapters/one.md]\n")),
    Case("book-yaml-nested-too-deep", "bad-yaml", (
        "error: book.yaml:3:60: invalid YAML: nested more than 50 levels deep",
    ), setup=book_yaml("title: T\ncontents: [chapters/one.md]\nsubjects: " + "[" * 10_000 + "\n")),
    Case("markdown-nested-too-deep", "bad-limits", tuple(
        f"error: chapters/{name}.md:{place}: Markdown nested more than 19 levels deep"
        " (a block quote counts one, a list two); the parser drops the rest: break it up"
        for name, place in (("lists", "12:21"), ("quotes", "22:22"), ("arrows", "1:21"))
    ), setup=essays(lists=DEEP_LISTS, quotes=DEEP_QUOTES, arrows=">" * 10_000 + " deep\n"),
        audited=True),
    Case("lost-footnotes-strict", "bad-limits", (
        "warning: chapters/notes.md:5:1: footnote [^a] is defined again further on,"
        " and only the last definition is kept",
        "warning: chapters/notes.md:11:3: footnote [^never] is never cited,"
        " so its text is left out",
        "error: --strict: 2 warnings (listed above); nothing was written",
    ), setup=essays(notes=LOST_NOTES), args=("--strict",), audited=True),
    Case("image-path-in-character-references", "bad-image-paths", (
        "error: chapters/paths.md:5:11: image '/etc/hostname': absolute paths are not"
        " allowed; give the path from the essay to the file",
    ), setup=essays(paths=ENCODED_PATH), audited=True, never_read=("/etc/hostname",)),
    Case("page-larger-than-pdf-allows", "bad-yaml", (
        "error: book.yaml:4:9: pdf.trim: '1000x1000in' is larger than a PDF page may be:"
        " at most 200in a side",
    ), setup=book_yaml("title: T\ncontents: [chapters/one.md]\npdf:\n  trim: 1000x1000in\n"),
        audited=True),
    Case("page-and-bleed-larger-than-pdf-allows", "bad-yaml", (
        "error: book.yaml:5:9: pdf.trim: '199.9x150in' is larger than a PDF page may be:"
        " at most 200in a side, bleed included",
    ), setup=book_yaml(
        "title: T\ncontents: [chapters/one.md]\npdf:\n  bleed: true\n  trim: 199.9x150in\n"
    ), audited=True),
    Case("script-injection-strict", "hostile-injection", (
        *HOSTILE_WARNINGS,
        f"error: --strict: {len(HOSTILE_WARNINGS)} warnings (listed above); nothing was written",
    ), args=("--strict",)),
    Case("duplicate-titles-strict", "hostile-duplicates", (
        SHARED_TITLE,
        "error: --strict: 1 warning (listed above); nothing was written",
    ), args=("--strict",)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_exits_2_and_changes_nothing(
    case: Case, good_dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_book(case.book, tmp_path / case.book).parent
    case.setup(folder)
    shutil.copytree(good_dist, folder / "dist")  # copy2: the old build keeps its mtimes
    before, dist = snapshot(folder), snapshot(folder / "dist")
    if case.audited:  # messages name book.yaml as the author knows it: run in the folder
        done, accesses = run_audited(["build", *case.args], cwd=folder)
        stdout, stderr, code = done.stdout, done.stderr, done.returncode
    else:
        monkeypatch.chdir(folder)
        result = run("build", *case.args)
        stdout, stderr, code = result.stdout, result.stderr, result.exit_code
    assert stderr.splitlines() == list(case.errors)
    assert code == 2
    assert stdout == ""
    assert "Traceback" not in stderr
    assert snapshot(folder / "dist") == dist, "dist/ changed"
    assert snapshot(folder) == before, "the book folder changed"
    if case.audited:
        assert_stays_inside(accesses, [folder], never_read=case.never_read)


def fifo(folder: Path) -> Path:
    os.mkfifo(folder / "pipe.pdf")
    return folder / "pipe.pdf"


def link_to_dev_zero(folder: Path) -> Path:
    (folder / "zero.pdf").symlink_to("/dev/zero")
    return folder / "zero.pdf"


@pytest.mark.parametrize(
    ("make", "kind"),
    [(fifo, "a named pipe"), (link_to_dev_zero, "a device")],
    ids=["fifo", "dev-zero"],
)
def test_preflight_opens_no_pipe_or_device(
    make: Callable[[Path], Path], kind: str, tmp_path: Path
) -> None:
    """A "PDF" that would hang the check (a FIFO) or never end (/dev/zero) is refused
    from what it is: opened without blocking only to ask that (the audit sees opens, not
    reads), and nothing else outside the folder read."""
    path = make(tmp_path)
    before = path.lstat()  # not snapshot(): reading the FIFO would hang the test
    done, accesses = run_audited(["preflight", path], cwd=tmp_path, timeout=60)
    assert done.stderr.splitlines() == [f"error: {path}: {kind}, not a PDF file"]
    assert done.returncode == 2
    assert sorted(os.listdir(tmp_path)) == [path.name]
    assert path.lstat().st_mtime_ns == before.st_mtime_ns
    named = {str(path), os.path.realpath(path)}
    opened = [a for a in accesses if a.path in named]
    assert [(a.event, a.mode, bool(a.flags & os.O_NONBLOCK)) for a in opened] == [
        ("open", "r", True)
    ]
    rest = [a for a in accesses if a.path not in named]
    assert_stays_inside(rest, [tmp_path], never_read=[path, "/dev/zero"])


# Hostile content that builds reaches no output

# What no output may hold: elements that run, fetch, submit or play something.
_ACTIVE = {
    "script", "noscript", "style", "iframe", "frame", "frameset", "object", "embed",
    "applet", "form", "input", "button", "select", "textarea", "svg", "math",
    "foreignobject", "template", "audio", "video", "source", "track", "canvas", "base",
}  # fmt: skip
_URL_ATTRIBUTES = {"href", "src", "srcset", "data", "poster", "background", "action", "cite"}


def active_content(document: bytes) -> list[str]:
    """Everything in an HTML or XHTML document that a reader could run or fetch."""
    found = []
    for element in html.fromstring(document).iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.rsplit("}", 1)[-1].lower()
        if tag in _ACTIVE or (tag == "meta" and element.get("http-equiv")):
            found.append(f"<{tag}>")
        href = element.get("href", "")
        if tag == "link" and (element.get("rel") != "stylesheet" or markup.reach(href)):
            found.append(f"<link href={href!r}>")
        for name, value in element.attrib.items():
            name = name.rsplit("}", 1)[-1].lower()
            if name.startswith("on") or (name == "style" and "url(" in value.lower()):
                found.append(f"<{tag} {name}>")
            elif name in _URL_ATTRIBUTES and markup.reach(value) not in ("", "mailto"):
                found.append(f"<{tag} {name}={value!r}>")
    lowered = document.lower()
    return found + [
        w for w in ("evil.example", "javascript:", "vbscript:") if w.encode() in lowered
    ]


def pdf_actions(path: Path) -> list[str]:
    """Scripts, launches, form submissions and links out of a PDF."""
    found = []
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if not isinstance(obj, pikepdf.Dictionary):
                continue
            for key in ("/JS", "/JavaScript", "/Launch", "/SubmitForm", "/OpenAction", "/AA",
                        "/EmbeddedFiles", "/RichMedia"):  # fmt: skip
                if key in obj:
                    found.append(key)
            if "/URI" in obj and markup.reach(str(obj["/URI"])) not in ("", "mailto"):
                found.append(f"/URI {obj['/URI']}")
    return found


def test_hostile_content_reaches_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = copy_book("hostile-injection", tmp_path / "book").parent
    monkeypatch.chdir(folder)
    result = run("build", "--format", "pdf,cover,epub,html")
    assert result.exit_code == 0, result.output
    assert tuple(result.stderr.splitlines()) == HOSTILE_WARNINGS
    dist = folder / "dist"
    documents = {f"html/{p.name}": p.read_bytes() for p in sorted((dist / "html").glob("*.*"))}
    with zipfile.ZipFile(dist / "book.epub") as epub:
        documents |= {f"epub/{name}": epub.read(name) for name in epub.namelist()
                      if name.endswith((".xhtml", ".opf", ".ncx", ".css"))}  # fmt: skip
    manifest = load_manifest(folder / "book.yaml")
    book = assemble(manifest)
    documents["print.html"] = print_html(book).encode()  # what WeasyPrint laid out
    documents["wrap.html"] = wrap_html(book, manifest, cover_geometry(manifest.pdf, 24)).encode()
    assert len(documents) > 10
    assert {name: active_content(data) for name, data in documents.items()} == {
        name: [] for name in documents
    }
    assert pdf_actions(dist / "book.pdf") == [] and pdf_actions(dist / "cover.pdf") == []
    text = "".join(page.extract_text() for page in PdfReader(dist / "book.pdf").pages)
    assert "evil.example" not in text and "Handlers on a paragraph." in text
    assert_epubcheck_clean(epubcheck(dist / "book.epub"))


def test_colliding_titles_and_file_names_each_keep_their_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_book("hostile-duplicates", tmp_path / "book").parent
    monkeypatch.chdir(folder)
    result = run("build", "--format", "epub,html")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [SHARED_TITLE]
    site = folder / "dist" / "html"
    pages = {p.name: p.read_text(encoding="utf-8") for p in site.glob("*.html")}
    assert "first essay of this title" in pages["intro.html"]
    assert "second essay of this title" in pages["intro-2.html"]
    assert "whose file is called index" in pages["index-2.html"]
    assert "whose file is called nav" in pages["nav-2.html"]
    assert "whose file is called index" not in pages["index.html"]  # still the contents
    with zipfile.ZipFile(folder / "dist" / "book.epub") as epub:
        names = epub.namelist()
        nav = next(n for n in names if n.endswith("nav.xhtml"))
        assert b"whose file is called nav" not in epub.read(nav)
    assert len([n for n in names if n.endswith(("intro.xhtml", "intro-2.xhtml"))]) == 2


# Huge inputs: built in bounded time, or refused at a documented limit

WORDS = ["the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with"]


def prose(words: int, seed: int = 1) -> str:
    """Paragraphs of about 120 words, with a heading every 40 paragraphs."""
    pick = random.Random(seed).choice
    paragraphs = []
    for number in range(words // 120):
        if number % 40 == 0:
            paragraphs.append(f"## Section {number // 40 + 1}")
        paragraphs.append(" ".join(pick(WORDS) for _ in range(120)).capitalize() + ".")
    return "\n\n".join(paragraphs)


def write_book(folder: Path, essay: str) -> Path:
    (folder / "chapters").mkdir(parents=True)
    (folder / "chapters" / "essay.md").write_text(essay, encoding="utf-8")
    (folder / "book.yaml").write_text("title: Big\ncontents: [chapters/essay.md]\n")
    return folder / "book.yaml"


def timed(*args: str | Path) -> tuple[Result, float]:
    started = time.perf_counter()
    result = run(*args)
    return result, time.perf_counter() - started


def test_a_200000_word_essay_builds_its_web_edition(tmp_path: Path) -> None:
    # The EPUB (15 s here) and the PDF (25 s) lay the print edition out: see the README.
    manifest = write_book(tmp_path, "# A Long Essay\n\n" + prose(200_040))
    result, seconds = timed("build", manifest, "--format", "html")
    assert result.exit_code == 0, result.output
    assert seconds < 20, f"{seconds:.1f} s"  # about 1.5 s here
    assert run("check", manifest).stdout == "ok: 1 texts, 200124 words\n"
    page = (tmp_path / "dist" / "html" / "essay.html").read_text(encoding="utf-8")
    assert page.count("<p>") == 1_667


def test_2000_footnotes_build_the_web_edition(tmp_path: Path) -> None:
    notes = "".join(f"Sentence {n}.[^{n}]\n\n" for n in range(1, 2_001))
    notes += "".join(f"[^{n}]: Note {n}.\n" for n in range(1, 2_001))
    manifest = write_book(tmp_path, "# Notes\n\n" + notes)
    result, seconds = timed("build", manifest, "--format", "html")
    assert result.exit_code == 0, result.output
    assert seconds < 20, f"{seconds:.1f} s"  # about 2 s here
    page = (tmp_path / "dist" / "html" / "essay.html").read_text(encoding="utf-8")
    assert page.count('role="doc-backlink"') == 2_000


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        # A backtracking regular expression took 52 s over 240 KB of this.
        ("body-tags.html", "<body>" * 40_000 + "<h1>B</h1><p>Text.</p>", ""),
        # The sanitizer's cost grows with nesting depth times tags: minutes for 4 MB.
        ("nested.html", "<h1>N</h1>" + "<blockquote>" * 300_000, "nested more than 100"),
        # Smart quotes cost the square of a paragraph: five at the limit stay quick.
        ("quotes.md", "# Q\n\n" + ("'\"" * 14_999 + "\n\n") * 5, ""),
        ("brackets.md", "# B\n\n" + "[" * 29_999, ""),
    ],
)
def test_pathological_markup_is_checked_in_bounded_time(
    tmp_path: Path, name: str, text: str, error: str
) -> None:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / name).write_text(text, encoding="utf-8")
    (tmp_path / "book.yaml").write_text(f"title: T\ncontents: [chapters/{name}]\n")
    result, seconds = timed("check", tmp_path / "book.yaml")
    assert seconds < 15, f"{seconds:.1f} s"  # each well under 5 s here
    assert result.exit_code == (2 if error else 0), result.output
    assert error in result.stderr


def test_the_pdf_fetcher_reads_small_files_inside_the_book_only(tmp_path: Path) -> None:
    (tmp_path / "ok.css").write_text("p { color: black }", encoding="utf-8")
    (tmp_path / "link.css").symlink_to("/etc/hostname")
    with (tmp_path / "big.otf").open("wb") as file:
        file.truncate(129 * MB)
    fetcher = BookFetcher(tmp_path, ())
    assert fetcher.fetch(f"{BOOK_URL}ok.css")  # the one file it serves
    for url in ("link.css", "big.otf", "../../etc/hostname", "/etc/hostname"):
        with pytest.raises(ValueError):
            fetcher.fetch(f"{BOOK_URL}{url}")
    for url in ("file:///etc/hostname", "https://evil.example/x.css", "//evil.example/x.css"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


# Whatever the HTML, only the documented subset comes out

# README, "Essays": the tags and attributes an essay's HTML may keep.
SAFE_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
    "dd", "del", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
    "samp", "section", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul", "var",
}  # fmt: skip
SAFE_ATTRIBUTES = {"id", "class", "lang", "title", "dir", "href", "src", "alt", "width"}
SAFE_ATTRIBUTES |= {"height", "start", "reversed", "type", "colspan", "rowspan", "scope"}
SAFE_ATTRIBUTES |= {"span", "cite"}
PIECES = [
    "<script>", "</script>", "alert(1)", "<img src=x onerror=alert(1)>", "<svg>", "</svg>",
    "<foreignObject>", "<math><mtext>", "<noscript>", "</noscript>", "<style>", "</style>",
    "<!--", "-->", "<![CDATA[", "]]>", "<table>", "<td>", '<p title="', '"', "'", ">", "<",
    "<iframe srcdoc='<script>x</script>'>", "<object data=x>", "<base href=//evil.example>",
    "<meta http-equiv=refresh content=0>", "<form><input name=x>", "<template>", "<xmp>",
    '<a href="&#106;avascript:x">', '<a href="java\tscript:x">', "<textarea>", "</textarea>",
    "<plaintext>", "<noembed>", "<select><option>", "<div style='background:url(x.png)'>",
    "<img src='data:image/svg+xml,<svg onload=x>'>", "<a href=vbscript:x>", "\n\n", "text ",
    "<title>", "<body onload=x>", "<html>", "<img srcset='//evil.example/x.png 2x'>",
]  # fmt: skip


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=16), st.sampled_from(["md", "html"]))
def test_whatever_the_html_only_the_safe_subset_comes_out(pieces: list[str], kind: str) -> None:
    text = "".join(pieces)
    converted = markup.markdown_essay(text, "en") if kind == "md" else markup.html_essay(text)
    for element in html.fragment_fromstring(converted.html, create_parent="div").iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag in SAFE_TAGS, element.tag
        assert set(element.attrib) <= SAFE_ATTRIBUTES, element.attrib
        for name in ("href", "cite"):
            assert markup.scheme_of(element.get(name, "")) in ("", "http", "https", "mailto")

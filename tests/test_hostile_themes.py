"""A book's own templates and stylesheets, from someone not trusted, through the command line.

A stylesheet that names a file from outside the book folder (found by a CSS parser,
however it is written) and a template that is wrong or would run without end or
exhaust memory each fail the build with one line per problem naming the book's file
and line, exit code 2, and leave the book folder and its previous dist/ as they were.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pytest

from helpers import copy_book
from make_book import theme
from make_book.errors import TemplateError
from make_book.source.assemble import assemble
from make_book.source.manifest import load_manifest
from make_book.source.stylesheets import resources, stylesheet_problems
from make_book.theme import sandbox
from test_hostile import Snapshot, good_dist, run, snapshot

__all__ = ["good_dist"]  # the fixture, shared with test_hostile.py

HINT = "put the file in the book folder"
REMOTE = f"remote files are not fetched; {HINT}"


def files(**texts: str) -> Callable[[Path], None]:
    """Write these files (templates__web__page_html names templates/web/page.html)."""

    def write(folder: Path) -> None:
        for key, text in texts.items():
            name = key.replace("__", "/").replace("_html", ".html").replace("_css", ".css")
            path = folder / name.replace("_xhtml", ".xhtml")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    return write


@dataclass(frozen=True)
class Case:
    name: str
    setup: Callable[[Path], None]
    errors: tuple[str, ...]
    formats: str = "all"
    checked_first: bool = False  # found by `make-book check`, before any renderer runs


def files_of(found: Snapshot, under: str) -> dict[str, object]:
    """The files' bytes under a folder of a snapshot (mtimes, folders and the cache left out)."""
    return {
        key: value[0]
        for key, value in found.items()
        if key.startswith(under)
        and isinstance(value, tuple)
        and value[0] != "link"
        and not key.startswith(".make-book-cache")
        and (under or not key.startswith("dist/"))
    }


WEB_CSS = """\
/* A web stylesheet that a browser would make fetch. url(http://in-a-comment) */
.a { background: image-set("http://evil.example/a.png" 1x, "ok.png" 2x); }
.b { background: -webkit-image-set(url(https://evil.example/b.png) 1x); }
.c { background: u\\72l(//evil.example/escaped.png); }
@font-face { font-family: X; src: "../../etc/passwd", local("X"); }
.d { background: url("data:image/png;base64,iVBORw0KGgo="); cursor: url(/etc/x.png), auto; }
@media screen { .e { background: url('%2e%2e/%2e%2e/secret.png') } }
@namespace epub "http://www.idpf.org/2007/ops";
.f { filter: url(#blur); background: url(chapters/ok.png); content: "http://text-only"; }
"""

# What a book's template writes (theme/written.py): each refused, at its line.
NOT_WRITTEN = "a book's template may not write it"
RUNS = f"runs code in a reader; {NOT_WRITTEN}"
LOADS = f"loads another document or a plug-in into the book; {NOT_WRITTEN}"
WRITTEN = [
    ("script", "<script>alert(1)</script>", f"<script> {RUNS}"),
    (
        "tracker",
        '<img src="https://tracker.example/p.png">',
        f"<img src> 'https://tracker.example/p.png': {REMOTE}",
    ),
    ("iframe", '<iframe src="chapters/a.html"></iframe>', f"<iframe> {LOADS}"),
    ("object", '<object data="a.swf"></object>', f"<object> {LOADS}"),
    ("embed", '<embed src="a.swf">', f"<embed> {LOADS}"),
    (
        "form",
        '<form action="mail.php"><input name="n"></form>',
        f"<form> sends what a reader types away from the book; {NOT_WRITTEN}",
    ),
    (
        "base",
        '<base href="https://evil.example/">',
        f"<base> changes where every link and file of the page points; {NOT_WRITTEN}",
    ),
    ("handler", '<div onclick="go()">hi</div>', f"<div onclick>: an event handler {RUNS}"),
    (
        "javascript-link",
        '<a href="java\tscript:alert(1)">x</a>',
        "<a href> 'java\tscript:alert(1)': javascript: URLs run code in a reader",
    ),
    (
        "refresh",
        '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
        f'<meta http-equiv="refresh"> may reload or leave the page; {NOT_WRITTEN}',
    ),
    (
        "remote-stylesheet",
        '<link rel="stylesheet" href="https://evil.example/s.css">',
        f"<link href> 'https://evil.example/s.css': {REMOTE}",
    ),
    (
        "preload",
        '<link rel="preload" href="a.png">',
        '<link rel="preload">: a page may link only the book\'s own stylesheet',
    ),
    (
        "style-import",
        "<style>@import url(https://evil.example/x.css);</style>",
        f"<style>: @import 'https://evil.example/x.css': {REMOTE}",
    ),
    (
        "style-attribute",
        '<div style="background: url(//evil.example/bg.png)">x</div>',
        f"<div style>: url() '//evil.example/bg.png': {REMOTE}",
    ),
    (
        "data-image",
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        f"<img src> 'data:image/png;base64,iVBORw0KGgo=': data: URLs are not allowed; {HINT}",
    ),
    (
        "leaves",
        '<img src="../../secret.png">',
        "<img src> '../../secret.png': path leaves the book",
    ),
    (
        "srcset",
        '<img src="a.png" srcset="a.png 1x, https://evil.example/b.png 2x">',
        f"<img srcset> 'https://evil.example/b.png': {REMOTE}",
    ),
]


def page(markup: str) -> str:
    """A page template writing `markup` on its third line."""
    return f"<!DOCTYPE html>\n<html><body>\n{markup}\n</body></html>\n"


def written(name: str, markup: str, message: str) -> Case:
    setup = files(templates__web__page_html=page(markup))
    return Case(f"written-{name}", setup, (f"error: templates/web/page.html:3: {message}",), "html")


def _pages_with_script() -> str:
    """The packaged macros, a script written by the essay macro (line 22) on line 23."""
    lines = (theme.THEMES / "default" / "templates" / "pages.html").read_text("utf-8")
    split = lines.splitlines(keepends=True)
    assert split[21].startswith("{% macro essay(")
    return "".join([*split[:22], '<script src="x.js"></script>\n', *split[22:]])


PAGES_WITH_SCRIPT = _pages_with_script()

CASES = [
    Case("stylesheet-resources", files(styles__web_css=WEB_CSS, styles__epub_css=(
        '@import url("https://evil.example/epub.css") print;\n'
        ".x { background: image('file:///etc/passwd') }\n"
    )), (
        f"error: styles/epub.css:1:1: @import 'https://evil.example/epub.css': {REMOTE}",
        "error: styles/epub.css:2:24: image() 'file:///etc/passwd': file: URLs are not read;"
        f" {HINT}",
        f"error: styles/web.css:2:28: image-set() 'http://evil.example/a.png': {REMOTE}",
        f"error: styles/web.css:3:36: url() 'https://evil.example/b.png': {REMOTE}",
        f"error: styles/web.css:4:18: url() '//evil.example/escaped.png': {REMOTE}",
        "error: styles/web.css:5:35: src '../../etc/passwd': path leaves the book folder",
        "error: styles/web.css:6:18: url() 'data:image/png;base64,iVBORw0KGgo=':"
        f" data: URLs are not allowed; {HINT}",
        f"error: styles/web.css:6:69: url() '/etc/x.png': absolute paths are not allowed; {HINT}",
        "error: styles/web.css:7:34: url() '%2e%2e/%2e%2e/secret.png': path leaves the book folder",
    ), checked_first=True),
    Case("template-syntax", files(templates__web__page_html="<p>\n{% for %}\n"), (
        "error: templates/web/page.html:2: Expected an expression, got 'end of statement block'",
    ), checked_first=True),
    Case("template-undefined", files(templates__colophon_html="<p>\n\n{{ meta.nope.deeper }}"), (
        "error: templates/colophon.html:3: 'make_book.model.BookMeta object' has no attribute"
        " 'nope'",
    )),
    Case("template-escape", files(templates__web__index_html=(
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
    )), (
        "error: templates/web/index.html:1: access to attribute '__init__' of 'type' object"
        " is unsafe.",
    ), "html"),
    Case("template-nested-ranges", files(templates__web__page_html=(
        "{% for i in range(10000) %}\n{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}"
    )), (
        "error: templates/web/page.html:2: loops over range() turned more than 1,000,000 times",
    ), "html"),
    Case("template-long-range", files(templates__web__page_html="\n{{ range(100000)|length }}"), (
        "error: templates/web/page.html:2: range(0, 100000) has 100,000 items; at most 10,000",
    ), "html"),
    Case("template-lipsum", files(templates__web__page_html="{{ lipsum(100000) }}"), (
        "error: templates/web/page.html:1: lipsum(100000, min=20, max=100): at most 100"
        " paragraphs of 1,000 words",
    ), "html"),
    Case("template-repetition", files(templates__web__page_html="x\n{{ 'x' * 10**10 }}"), (
        "error: templates/web/page.html:2: 'x' * 10000000000 makes 10,000,000,000 characters"
        " or items; at most 16,",
    ), "html"),
    Case("template-doubling", files(templates__web__page_html=(
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}\n"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
    )), (
        "error: templates/web/page.html:2: ~ makes 16,777,216 characters or items; at most 16,",
    ), "html"),
    Case("template-padding", files(templates__web__page_html="{{ 'x'|center(10**10) }}"), (
        "error: templates/web/page.html:1: |center given 10,000,000,000; at most 16,",
    ), "html"),
    *[written(name, markup, message) for name, markup, message in WRITTEN],
    Case("written-computed", files(templates__web__page_html=page(
        "{{ ('<scr' ~ 'ipt>go()</scr' ~ 'ipt>')|safe }}"
    )), (f"error: templates/web/page.html: <script> {RUNS}",), "html"),
    Case("written-epub", files(templates__epub__page_xhtml=page(
        '<img src="https://tracker.example/p.png"/>'
    )), (f"error: templates/epub/page.xhtml:3: <img src> 'https://tracker.example/p.png': {REMOTE}",
    ), "epub"),
    Case("written-by-a-macro", files(templates__pages_html=PAGES_WITH_SCRIPT), (
        f"error: templates/pages.html:23: <script> {RUNS}",
    ), "html"),
    Case("template-missing-macro", files(templates__pages_html="{% macro x() %}{% endmacro %}"), (
        "error: templates/pages.html: defines no macro 'contributors', which the theme uses:"
        " copy it",
    )),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_theme_exits_2_and_changes_nothing(
    case: Case, good_dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_book("titles", tmp_path / "book").parent
    case.setup(folder)
    shutil.copytree(good_dist, folder / "dist")
    before = snapshot(folder)
    monkeypatch.chdir(folder)
    started = time.monotonic()
    result = run("build", "--format", case.formats)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    # A size limit grows with the book's text: its figure is left out ("at most 16,")
    assert len(errors) == len(case.errors), result.stderr
    shown = [
        e[: len(x)] if x.endswith("16,") else e for e, x in zip(errors, case.errors, strict=True)
    ]
    assert shown == list(case.errors), result.stderr
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert time.monotonic() - started < 60
    after = snapshot(folder)
    if case.checked_first:  # refused before the build began: not a byte written
        assert after == before, "the book folder or its dist/ changed"
    else:  # refused while rendering: the previous outputs kept, byte for byte
        assert files_of(after, "dist/") == files_of(before, "dist/")
        assert files_of(after, "") == files_of(before, "")  # the book's sources too


# The limits and the translation, in this process


@pytest.fixture
def book_with_templates(tmp_path: Path) -> Callable[[str], jinja2.Template]:
    folder = copy_book("titles", tmp_path / "book").parent
    (folder / "templates").mkdir()
    book = assemble(load_manifest(folder / "book.yaml"))

    def template(source: str) -> jinja2.Template:
        (folder / "templates" / "t.html").write_text(source, encoding="utf-8")
        return theme.environment(book).get_template("t.html")

    return template


def test_a_loop_that_checks_no_clock_is_stopped_in_time(
    book_with_templates: Callable[[str], jinja2.Template], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.5)
    looping = book_with_templates(
        "{% set l = [0] * 3000 %}{% for a in l %}{% for b in l %}\n"
        "{% for c in l %}{% endfor %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    with pytest.raises(TemplateError) as raised:
        looping.render()
    assert time.monotonic() - started < 5
    assert str(raised.value) == (
        "templates/t.html:2: the book's templates ran for more than 30 seconds"
    )


def test_a_book_template_within_the_limits_renders_as_jinja_would(
    book_with_templates: Callable[[str], jinja2.Template],
) -> None:
    source = (
        "{% for i in range(3) %}{{ i }}{{ range(3)|list }}{{ range(5)[1:3]|list }}{% endfor %}"
        "{{ 'a' ~ 'b' }}{{ '%5s'|format(1) }}{{ 'x' * 3 }}{{ 2 ** 10 }}{{ '{:>4}'.format(7) }}"
        "{{ lipsum(1, False, 3, 4)|length > 0 }}"
    )
    assert book_with_templates(source).render() == (
        "0[0, 1, 2][1, 2]1[0, 1, 2][1, 2]2[0, 1, 2][1, 2]ab    1xxx1024   7True"
    )


def test_errors_in_the_packaged_templates_stay_ours(tmp_path: Path) -> None:
    book = assemble(load_manifest(copy_book("titles", tmp_path / "book")))
    with pytest.raises(jinja2.UndefinedError):  # not a TemplateError: exit 1, a bug of ours
        theme.environment(book).get_template("web/index.html").render()


def test_packaged_stylesheets_pass_the_check() -> None:
    for css in (theme.THEMES / "default" / "styles").glob("*.css"):
        assert stylesheet_problems(css.read_text("utf-8"), css.name, theme.THEMES) == []


def test_resources_are_found_however_written() -> None:
    found = [(r.what, r.url) for r in resources(WEB_CSS)]
    assert ("image-set()", "ok.png") in found  # checked, and allowed
    assert ("url()", "chapters/ok.png") in found
    assert ("url()", "http://in-a-comment") not in found
    assert not any(url.startswith("http://www.idpf") for _, url in found)  # @namespace
    assert not any(url == "http://text-only" for _, url in found)  # content: a string


def test_a_link_out_named_by_a_stylesheet(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "host.png").symlink_to("/etc/hostname")
    css = ".a { background: url(images/host.png) }"
    assert [str(p) for p in stylesheet_problems(css, "styles/print.css", tmp_path)] == [
        "styles/print.css:1:18: url() 'images/host.png': is a link to a file outside the"
        " book folder"
    ]


def test_a_page_template_that_adds_a_header_still_builds(tmp_path: Path) -> None:
    folder = copy_book("titles", tmp_path / "book").parent
    packaged = (theme.THEMES / "default" / "templates" / "web" / "page.html").read_text("utf-8")
    header = (
        '<header class="press"><img src="images/logo.png" alt="">'
        ' <a href="https://press.example/">The Press</a> <a href="../book.pdf">PDF</a></header>'
    )
    assert packaged.count("<body>") == 1
    files(templates__web__page_html=packaged.replace("<body>", "<body>\n" + header))(folder)
    result = run("build", "--format", "html", folder / "book.yaml", "--out", tmp_path / "dist")
    assert result.exit_code == 0, result.output
    pages = [p.read_text("utf-8") for p in (tmp_path / "dist" / "html").glob("*.html")]
    assert any(header in text for text in pages)


def test_every_packaged_template_copied_into_a_book_still_builds(tmp_path: Path) -> None:
    """The packaged theme writes nothing a book's template may not (written.py)."""
    folder = copy_book("titles", tmp_path / "book").parent
    shutil.copytree(theme.THEMES / "default" / "templates", folder / "templates")
    (folder / "templates" / "print.html").unlink()  # not used; a warning says so
    result = run("build", folder / "book.yaml", "--out", tmp_path / "dist")
    assert result.exit_code == 0, result.output

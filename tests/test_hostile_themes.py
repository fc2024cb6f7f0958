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
            path = folder / key.replace("__", "/").replace("_html", ".html").replace("_css", ".css")
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

"""Compiled templates kept between builds (cache/templates.py): used only as sealed."""

from __future__ import annotations

import marshal
from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from helpers import BookCopy
from make_book.build.driver import load
from make_book.cache.folder import CACHE_FOLDER, CacheFolder
from make_book.cache.templates import KIND, CompiledTemplates
from make_book.cache.trust import seal
from make_book.render.pdf.layout.pieces import piece_template

OTHER_KEY = b"k" * 32  # a key that is not this machine's: a forger's


def _environment(folder: Path, cache: Path | None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        bytecode_cache=CompiledTemplates(CacheFolder.open(cache)),
    )


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "page.html").write_text("<p>{{ words }}</p>", "utf-8")
    return folder


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates Jinja compiles from here on."""
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: str, name: str | None = None, *a, **k):  # type: ignore[no-untyped-def]
        compiled.append(str(name))
        return real(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return compiled


def test_a_template_compiled_once_is_taken_from_the_cache(
    templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / CACHE_FOLDER
    compiled = _compiles(monkeypatch)
    first = _environment(templates, cache).get_template("page.html").render(words="<a>")
    assert compiled == ["page.html"]
    assert len(list((cache / KIND).iterdir())) == 1
    again = _environment(templates, cache).get_template("page.html").render(words="<a>")
    assert again == first == "<p>&lt;a&gt;</p>"
    assert compiled == ["page.html"]  # not compiled again

    (templates / "page.html").write_text("<div>{{ words }}</div>", "utf-8")
    edited = _environment(templates, cache).get_template("page.html").render(words="b")
    assert edited == "<div>b</div>"
    assert compiled == ["page.html", "page.html"]


def test_compiled_code_not_sealed_here_is_never_run(templates: Path, tmp_path: Path) -> None:
    cache = tmp_path / CACHE_FOLDER
    _environment(templates, cache).get_template("page.html")
    (entry,) = (cache / KIND).iterdir()
    # A forger's code for the same template: what a book folder from anyone could bring.
    other = jinja2.Environment(autoescape=True)
    forged = other.compile("FORGED {{ words }}", "page.html", str(templates / "page.html"))
    entry.write_bytes(seal(OTHER_KEY, f"{KIND}/{entry.name}", marshal.dumps(forged)))
    page = _environment(templates, cache).get_template("page.html").render(words="x")
    assert page == "<p>x</p>"
    entry.write_bytes(b"not an entry at all")
    assert _environment(templates, cache).get_template("page.html").render(words="y") == "<p>y</p>"


def test_without_a_cache_every_build_compiles(
    templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = _compiles(monkeypatch)
    for _ in range(2):
        env = _environment(templates, None)
        assert env.get_template("page.html").render(words="z") == "<p>z</p>"
    assert compiled == ["page.html", "page.html"]


def test_code_compiled_for_another_environment_is_not_taken(
    templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sandbox compiles operators and attribute access into its own checks: the code
    another environment compiled from the same template is not its code."""
    cache = tmp_path / CACHE_FOLDER
    compiled = _compiles(monkeypatch)
    _environment(templates, cache).get_template("page.html")
    sandboxed = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        bytecode_cache=CompiledTemplates(CacheFolder.open(cache)),
    )
    assert sandboxed.get_template("page.html").render(words="s") == "<p>s</p>"
    sandboxed.filters["shout"] = str.upper  # a filter more: the compiler checks filters
    sandboxed.cache = None  # Jinja's own in-memory cache aside
    sandboxed.get_template("page.html")
    assert compiled == ["page.html"] * 3
    assert len(list((cache / KIND).iterdir())) == 3


def test_the_theme_takes_its_compiled_templates_from_the_cache(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, book = load(book_copy("sample"))
    cache = tmp_path / CACHE_FOLDER
    first = piece_template(book, cache)
    compiled = _compiles(monkeypatch)
    again = piece_template(book, cache)
    assert compiled == []
    assert again.filename == first.filename and list((cache / KIND).iterdir())

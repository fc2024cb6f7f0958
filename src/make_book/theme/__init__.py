"""Theme lookup: a project's own templates and styles first, then the packaged theme.

A file in the book's `templates/` or `styles/` folder replaces the packaged
file of the same name. The packaged originals stay reachable under the
`default/` prefix, so an override can `{% extends "default/print.html" %}`
or `@import` nothing and copy only what it changes.

A book's templates may come from anyone: they run in a sandbox with limits
(sandbox.py).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from make_book.model import Book, join_names
from make_book.theme.sandbox import TEMPLATE_OPTIONS, BookSandbox, template_problem

THEMES = Path(__file__).parent.parent / "themes"


def packaged_themes() -> tuple[str, ...]:
    """The names of the themes shipped in the package: what `theme:` may name."""
    return tuple(sorted(p.name for p in THEMES.iterdir() if (p / "templates").is_dir()))


def packaged_dirs(theme: str = "default") -> tuple[Path, ...]:
    """The packaged theme's template, style and font folders."""
    base = THEMES / theme
    return (base / "templates", base / "styles", base / "fonts")


def search_path(book: Book) -> tuple[Path, ...]:
    """Where templates, stylesheets and fonts are looked up, in order."""
    return book.theme_dirs + packaged_dirs(book.theme)


def theme_fingerprint(book: Book) -> str:
    """The hash of every template, stylesheet and font the book's theme may use."""
    digest = hashlib.sha256()
    for folder in search_path(book):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file():
                digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def environment(book: Book, autoescape: bool = True) -> jinja2.Environment:
    """A Jinja environment over the theme's search path.

    Sandboxed: a book's `templates/` overrides come with the book, which may come
    from anyone, and plain Jinja lets a template reach Python (and the shell).
    """
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader([str(d) for d in search_path(book)]),
            jinja2.PrefixLoader(
                {"default": jinja2.FileSystemLoader([str(d) for d in packaged_dirs()])}
            ),
        ]
    )
    env: jinja2.Environment
    if _has_own_templates(book):  # from anyone: bounded, its mistakes located
        env = BookSandbox(book, loader=loader, autoescape=autoescape, **TEMPLATE_OPTIONS)
    else:  # the packaged theme alone is ours: the limits' checks would only cost time
        env = ImmutableSandboxedEnvironment(
            loader=loader, autoescape=autoescape, **TEMPLATE_OPTIONS
        )
    env.filters["names"] = join_names
    env.filters["sentence"] = as_sentence
    return env


def _has_own_templates(book: Book) -> bool:
    """Whether the book brings files a template name could reach: any file in its own
    `templates/` or `styles/` (the loader searches every folder of the search path)."""
    return any(p.is_file() for folder in book.theme_dirs for p in folder.rglob("*"))


def as_sentence(fragment: str) -> Markup:
    """An inline HTML fragment ending with a full stop unless it already ends a sentence."""
    text = re.sub(r"<[^>]+>", "", fragment).rstrip()
    return Markup(fragment if text.endswith((".", "!", "?", "…")) else fragment + ".")


def find_file(book: Book, name: str) -> Path:
    """The first file called `name` on the search path (project first)."""
    for folder in search_path(book):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(name)


__all__ = [
    "THEMES",
    "as_sentence",
    "environment",
    "find_file",
    "packaged_dirs",
    "packaged_themes",
    "search_path",
    "template_problem",
    "theme_fingerprint",
]

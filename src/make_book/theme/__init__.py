"""Theme lookup: a project's own templates and styles first, then the packaged theme,
then the theme it extends, and so on.

A file in the book's `templates/` or `styles/` folder replaces the packaged
file of the same name. A packaged theme may extend another (`extends:` in its
`theme.yaml`): a template of its own replaces the base's, and a stylesheet of its
own is layered after the base's, so that it changes only what it names and rules
added to the base later still apply (`layered_stylesheet`). Every packaged theme
stays reachable under its name, so an override can
`{% extends "default/print.html" %}` or `{% include "default/colophon.html" %}`.

A book's templates may come from anyone: they run in a sandbox with limits
(sandbox.py).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from make_book.model import Book, join_names
from make_book.theme.css import resources
from make_book.theme.sandbox import TEMPLATE_OPTIONS, BookSandbox, template_problem

THEMES = Path(__file__).parent.parent / "themes"
FOLDERS = ("templates", "styles", "fonts")  # a theme's folders, in lookup order
FONT_FOLDER = "fonts/"  # how a theme's EPUB and web stylesheets name its font files


@dataclass(frozen=True)
class ThemeInfo:
    """What a packaged theme's `theme.yaml` says about it."""

    name: str
    description: str = ""  # one line, for `make-book themes`
    extends: str = ""  # the theme it is layered on; "" for none
    typeface: str = ""  # its faces, as the copyright page names them


def packaged_themes() -> tuple[str, ...]:
    """The names of the themes shipped in the package: what `theme:` may name."""
    return tuple(
        sorted(
            p.name
            for p in THEMES.iterdir()
            if (p / "templates").is_dir() or (p / "theme.yaml").is_file()
        )
    )


@functools.cache
def theme_info(name: str) -> ThemeInfo:
    """A packaged theme's `theme.yaml` (a theme without one extends nothing)."""
    path = THEMES / name / "theme.yaml"
    data = yaml.safe_load(path.read_text("utf-8")) if path.is_file() else {}
    fields = ("description", "extends", "typeface")
    return ThemeInfo(name, **{key: str(data.get(key) or "") for key in fields})


@functools.cache
def theme_chain(name: str) -> tuple[str, ...]:
    """The theme and every theme under it, nearest first: ("modern", "default")."""
    chain = [name]
    while base := theme_info(chain[-1]).extends:
        # Packaged files only: a mistake here is make-book's own, not the book's.
        if base in chain or base not in packaged_themes():
            raise ValueError(f"theme {chain[-1]!r}: cannot extend {base!r}")
        chain.append(base)
    return tuple(chain)


def packaged_dirs(theme: str = "default") -> tuple[Path, ...]:
    """The packaged theme's template, style and font folders, then its base's, and so on."""
    return tuple(THEMES / name / folder for name in theme_chain(theme) for folder in FOLDERS)


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


def environment(
    book: Book, autoescape: bool = True, compiled: jinja2.BytecodeCache | None = None
) -> jinja2.Environment:
    """A Jinja environment over the theme's search path.

    Sandboxed: a book's `templates/` overrides come with the book, which may come
    from anyone, and plain Jinja lets a template reach Python (and the shell).
    `compiled`: where compiled templates are kept between builds (cache/templates.py).
    """
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader([str(d) for d in search_path(book)]),
            jinja2.PrefixLoader(
                {
                    name: jinja2.FileSystemLoader([str(d) for d in packaged_dirs(name)])
                    for name in packaged_themes()
                }
            ),
        ]
    )
    env: jinja2.Environment
    if _has_own_templates(book):  # from anyone: bounded, its mistakes located
        env = BookSandbox(
            book, loader=loader, autoescape=autoescape, bytecode_cache=compiled, **TEMPLATE_OPTIONS
        )
    else:  # the packaged theme alone is ours: the limits' checks would only cost time
        env = ImmutableSandboxedEnvironment(
            loader=loader, autoescape=autoescape, bytecode_cache=compiled, **TEMPLATE_OPTIONS
        )
    env.filters["names"] = join_names
    env.filters["sentence"] = as_sentence
    env.globals["theme_typeface"] = theme_typeface(book)  # a derived theme's colophon
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
    """The file called `name`: the book's own if it has one (it replaces the theme's),
    else the packaged theme's, a stylesheet layered on its bases' (layered_stylesheet)."""
    for folder in book.theme_dirs:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return packaged_file(book.theme, name)


def packaged_file(theme: str, name: str) -> Path:
    """The packaged theme's file called `name`, its bases' stylesheets layered under it."""
    found = [folder / name for folder in packaged_dirs(theme) if (folder / name).is_file()]
    if not found:
        raise FileNotFoundError(name)
    if len(found) == 1 or not name.endswith(".css"):
        return found[0]
    return layered_stylesheet(tuple(reversed(found)))


def layered_stylesheet(layers: tuple[Path, ...]) -> Path:
    """One file holding the stylesheets `layers`, base first, each under a comment.

    The renderers read one stylesheet of each name (the PDF's text, the EPUB's
    `style/epub.css`, the web's `style.css`), so a derived theme's rules are joined
    after its base's into a file of their own, in a folder private to this process.
    The file is named by its content: a later change to a theme makes a new one.
    """
    parts = [
        f"/* make-book: {path.relative_to(THEMES).as_posix()} */\n".encode() + path.read_bytes()
        for path in layers
    ]
    content = b"\n".join(parts)
    target = _layers_folder() / f"{hashlib.sha256(content).hexdigest()[:20]}-{layers[0].name}"
    if not target.is_file():
        scratch = target.with_name(f".{target.name}.{threading.get_ident()}")
        scratch.write_bytes(content)
        scratch.replace(target)  # whole or absent, for a thread reading it meanwhile
    return target


@functools.cache
def _layers_folder() -> Path:
    """A folder only this process writes to (mkdtemp: 0700), removed when it exits.
    (Two threads asking at once may make two; both are removed.)"""
    folder = Path(tempfile.mkdtemp(prefix="make-book-theme-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def stylesheet_fonts(book: Book, stylesheet: Path) -> list[tuple[str, Path]]:
    """The font files a theme's EPUB or web stylesheet names as `fonts/<file>`, each with
    its file in the theme's font folders (find_font): what the EPUB and the web edition
    copy beside the stylesheet, at the URL it names. A name found in no font folder is
    left out (the stylesheet then names a missing file, as any stylesheet may).
    The PDF's stylesheets name their fonts under the layout's own font root instead."""
    css = stylesheet.read_text("utf-8")
    urls = sorted({r.url for r in resources(css) if r.url.startswith(FONT_FOLDER)})
    found = [(url, find_font(book, url.removeprefix(FONT_FOLDER))) for url in urls]
    return [(url, path) for url, path in found if path is not None]


def find_font(book: Book, name: str) -> Path | None:
    """The first file called `name` (a plain file name, never a path) in the font
    folders of the book's packaged theme and its bases, or None."""
    if Path(name).name != name or name in {"", ".", ".."}:
        return None
    folders = (d for d in packaged_dirs(book.theme) if d.name == "fonts")
    return next((d / name for d in folders if (d / name).is_file()), None)


def theme_typeface(book: Book) -> str:
    """The faces the book's packaged theme is set in, as its copyright page names them
    (the nearest theme of its chain that names them; "" if none does)."""
    named = (theme_info(name).typeface for name in theme_chain(book.theme))
    return next((typeface for typeface in named if typeface), "")


__all__ = [
    "THEMES",
    "ThemeInfo",
    "as_sentence",
    "environment",
    "find_file",
    "find_font",
    "layered_stylesheet",
    "packaged_dirs",
    "packaged_file",
    "packaged_themes",
    "search_path",
    "stylesheet_fonts",
    "template_problem",
    "theme_chain",
    "theme_fingerprint",
    "theme_info",
    "theme_typeface",
]

"""A book's own stylesheets parsed (tinycss2), and every file they would load checked.

The web edition and the EPUB carry a book's `styles/web.css` and `epub.css` as they
are, for a reader's browser to load what they name; the PDF's fetcher reads
`print.css`'s files. So every resource a stylesheet names, found by the parser that
WeasyPrint itself uses rather than by matching text (escapes decoded, comments
skipped), must be a file in the book folder: `url()`, `src()`, the strings of
`image-set()`, `image()` and `cross-fade()`, `@import`, and a string in an
@font-face `src`. Nothing remote (`http:`, `//host`…), no `data:` or other scheme,
no absolute path, no `..` that leaves the book folder, no link to a file outside it.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from urllib.parse import unquote, urlsplit

from make_book.errors import Problem
from make_book.source import markup
from make_book.theme.css import Resource, resources

__all__ = ["Resource", "resource_problem", "resources", "stylesheet_problems"]

_HINT = "put the file in the book folder"
_SHOWN = 80  # characters of a URL quoted in a message (a data: URL may be long)


def stylesheet_problems(css: str, shown: str, root: Path) -> list[Problem]:
    """What is wrong with each resource of the stylesheet `shown` (its path in the book)."""
    problems = []
    for found in resources(css):
        reason = resource_problem(found.url, root)
        if reason:
            url = found.url if len(found.url) <= _SHOWN else found.url[: _SHOWN - 1] + "…"
            message = f"{found.what} '{url}': {reason}"
            problems.append(Problem(shown, message, found.line, found.column))
    return problems


def resource_problem(url: str, root: Path) -> str:
    """Why a stylesheet of the book at `root` may not name `url`, or "" if it may.

    A relative URL is read from the book folder, as the PDF's fetcher reads it (one
    that stays inside from there stays inside from any folder of the book, where a
    browser reads the copy in the web edition).
    """
    kind = markup.reach(url)
    if kind in markup.REACH_REASONS:
        return f"{markup.REACH_REASONS[kind]}; {_HINT}"
    if kind:
        return f"{kind}: URLs are not allowed; {_HINT}"
    path = unquote(urlsplit(url.strip().replace("\\", "/")).path)
    if not path:  # "#filter", "?x" or "": the stylesheet itself, nothing fetched
        return ""
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith("../"):
        return "path leaves the book folder"
    try:
        target = root / normal
        outside = not target.resolve().is_relative_to(root.resolve())
        linked = target.is_symlink() or target.exists()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL
        return "not a path make-book can use"
    return "is a link to a file outside the book folder" if outside and linked else ""

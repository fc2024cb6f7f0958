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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import tinycss2
from tinycss2 import ast

from make_book.errors import Problem
from make_book.source import markup

# Functions whose own string arguments name a file, as url() does.
_RESOURCE_FUNCTIONS = frozenset(
    {"url", "src", "image-set", "-webkit-image-set", "image", "cross-fade", "-webkit-cross-fade"}
)
# At-rules holding rules; their insides are read as rules (an @font-face in @media…).
_GROUPS = frozenset(
    {"media", "supports", "layer", "document", "-moz-document", "container", "scope"}
)
_BLOCKS = (ast.ParenthesesBlock, ast.SquareBracketsBlock, ast.CurlyBracketsBlock)
_HINT = "put the file in the book folder"
_SHOWN = 80  # characters of a URL quoted in a message (a data: URL may be long)


@dataclass(frozen=True)
class Resource:
    """A file a stylesheet names: how ("url()", "@import"…), the URL, and where."""

    what: str
    url: str
    line: int
    column: int


def resources(css: str) -> list[Resource]:
    """Every resource the stylesheet names, in the order they appear."""
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    return sorted(_in_rules(rules), key=lambda r: (r.line, r.column))


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


def _in_rules(rules: Iterable[ast.Node]) -> Iterator[Resource]:
    for rule in rules:
        if isinstance(rule, ast.QualifiedRule):
            yield from _in_tokens(rule.prelude)
            yield from _in_tokens(rule.content)
        elif isinstance(rule, ast.AtRule):
            yield from _in_at_rule(rule)


def _in_at_rule(rule: ast.AtRule) -> Iterator[Resource]:
    keyword = rule.lower_at_keyword
    if keyword == "namespace":  # a name, never fetched: `@namespace epub "http://…"`
        return
    if keyword == "import":
        first = next((t for t in rule.prelude if not _blank(t)), None)
        url = _url_of(first)
        if url is not None:
            yield Resource("@import", url, rule.source_line, rule.source_column)
            rest = rule.prelude[rule.prelude.index(first) + 1 :] if first is not None else []
            yield from _in_tokens(rest)
        else:
            yield from _in_tokens(rule.prelude)
        return
    yield from _in_tokens(rule.prelude)
    if rule.content is None:
        return
    if keyword in _GROUPS:
        parsed = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
        yield from _in_rules(parsed)
    elif keyword == "font-face":
        yield from _in_font_face(rule.content)
    else:
        yield from _in_tokens(rule.content)


def _in_font_face(content: list[ast.Node]) -> Iterator[Resource]:
    """url()s anywhere, and a bare string in `src` (invalid, but a file all the same)."""
    yield from _in_tokens(content)
    for declaration in tinycss2.parse_blocks_contents(content, skip_comments=True):
        if isinstance(declaration, ast.Declaration) and declaration.lower_name == "src":
            for token in declaration.value:
                if isinstance(token, ast.StringToken):
                    yield Resource("src", token.value, token.source_line, token.source_column)


def _in_tokens(tokens: Iterable[ast.Node] | None) -> Iterator[Resource]:
    for token in tokens or ():
        if isinstance(token, ast.URLToken):
            yield Resource("url()", token.value, token.source_line, token.source_column)
        elif isinstance(token, ast.FunctionBlock):
            if token.lower_name in _RESOURCE_FUNCTIONS:
                what = f"{token.lower_name}()"
                for argument in token.arguments:
                    if isinstance(argument, ast.StringToken):
                        line, column = _place(token, argument)
                        yield Resource(what, argument.value, line, column)
            yield from _in_tokens(token.arguments)
        elif isinstance(token, _BLOCKS):
            yield from _in_tokens(token.content)


def _place(function: ast.FunctionBlock, argument: ast.Node) -> tuple[int, int]:
    """url("x") is found where `url(` begins, as url(x) is; a string in image-set() at itself."""
    node = function if function.lower_name in {"url", "src"} else argument
    return node.source_line, node.source_column


def _url_of(token: ast.Node | None) -> str | None:
    """The URL of @import's first token: a string, url(x) or url("x")."""
    if isinstance(token, (ast.StringToken, ast.URLToken)):
        return str(token.value)
    if isinstance(token, ast.FunctionBlock) and token.lower_name in {"url", "src"}:
        strings = [a for a in token.arguments if isinstance(a, ast.StringToken)]
        return str(strings[0].value) if strings else ""
    return None


def _blank(token: ast.Node) -> bool:
    return isinstance(token, (ast.WhitespaceToken, ast.Comment))

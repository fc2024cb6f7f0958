"""Every file a stylesheet names, found by tinycss2 (WeasyPrint's own CSS parser).

Escapes are decoded and comments skipped, as a browser reads them: `url()`, `src()`,
the strings of `image-set()`, `image()` and `cross-fade()`, `@import`, and a string
in an @font-face `src`. What may be named is for the caller to judge: a book's
stylesheets (source/stylesheets.py) and the CSS a book's template writes (written.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import tinycss2
from tinycss2 import ast

# Functions whose own string arguments name a file, as url() does.
_RESOURCE_FUNCTIONS = frozenset(
    {"url", "src", "image-set", "-webkit-image-set", "image", "cross-fade", "-webkit-cross-fade"}
)
# At-rules holding rules; their insides are read as rules (an @font-face in @media…).
_GROUPS = frozenset(
    {"media", "supports", "layer", "document", "-moz-document", "container", "scope"}
)
_BLOCKS = (ast.ParenthesesBlock, ast.SquareBracketsBlock, ast.CurlyBracketsBlock)


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

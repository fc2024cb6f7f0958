"""Turning essay sources (Markdown, plain text, HTML) into safe HTML fragments.

markdown-it-py does CommonMark, footnotes, tables and smart typography; nh3
(the Rust `ammonia` sanitizer) strips anything unsafe from raw HTML. What
comes out is an unprocessed fragment: ids, notes and headings are settled
later by `fragment.py`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin

from make_book.xhtml import xhtml

MARKDOWN_SUFFIXES = (".md", ".markdown")
TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")

# Quotation marks by language: primary open/close, then secondary.
_QUOTES: dict[str, Sequence[str]] = {
    "en": "“”‘’",
    "de": "„“‚‘",
    "fr": ["«\u202f", "\u202f»", "‹\u202f", "\u202f›"],
    "es": "«»“”",
    "it": "«»“”",
    "pt": "«»“”",
    "ru": "«»„“",
    "pl": "„”‚’",
    "cs": "„“‚‘",
    "nl": "“”‘’",
    "sv": "””’’",
    "da": "»«›‹",
    "fi": "””’’",
}

_SAFE_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
    "dd", "del", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
    "samp", "section", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul", "var",
}  # fmt: skip
_SAFE_ATTRIBUTES = {
    "*": {"id", "class", "lang", "title", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start", "reversed", "type"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "blockquote": {"cite"},
    "q": {"cite"},
}


def quotes_for(language: str) -> Sequence[str]:
    """Typographic quotes for a BCP 47 language tag (English ones when unknown)."""
    return _QUOTES.get(language.split("-")[0].lower(), _QUOTES["en"])


@lru_cache(maxsize=16)
def _markdown(language: str) -> MarkdownIt:
    options = {"typographer": True, "quotes": quotes_for(language)}
    md = MarkdownIt("commonmark", options)
    md.enable(["replacements", "smartquotes", "table", "strikethrough"])
    md.use(footnote_plugin).use(container_plugin, "verse").use(anchors_plugin, max_level=6)
    md.core.ruler.push("verse_line_breaks", _keep_verse_lines)
    return md


@lru_cache(maxsize=16)
def _typographer(language: str) -> MarkdownIt:
    """Smart quotes, dashes and ellipses, and nothing else of Markdown."""
    options = {"typographer": True, "quotes": quotes_for(language)}
    return MarkdownIt("zero", options).enable(["replacements", "smartquotes"])


def _keep_verse_lines(state: StateCore) -> None:
    """Inside `::: verse`, every source line break is a line break on the page."""
    depth = 0
    for token in state.tokens:
        if token.type == "container_verse_open":
            depth += 1
        elif token.type == "container_verse_close":
            depth -= 1
        elif depth and token.type == "inline":
            for child in token.children or []:
                if child.type == "softbreak":
                    child.type = "hardbreak"


def markdown_to_html(text: str, language: str) -> str:
    """CommonMark with footnotes, tables, verse and smart typography, sanitized."""
    return sanitize(_markdown(language).render(text))


def inline_markdown(text: str, language: str) -> str:
    """A title or a name: inline Markdown (emphasis, quotes), no paragraph around it."""
    rendered = _markdown(language).renderInline(text.strip())
    return sanitize(rendered).strip()


def text_to_html(text: str, language: str) -> str:
    """Plain text: one paragraph per line, or per blank-line block when lines are wrapped."""
    paragraphs = _split_paragraphs(text)
    typographer = _typographer(language)
    # The zero preset has no HTML rule: markup in the text is escaped, never interpreted.
    parts = [typographer.renderInline(p) for p in paragraphs]
    return "".join(f"<p>{p}</p>\n" for p in parts)


def _split_paragraphs(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    longest = max((len(line) for line in lines), default=0)
    if longest > 100:  # unwrapped prose: each line is a paragraph
        return [line for line in lines if line]
    blocks = re.split(r"\n\s*\n", text.strip())
    return [" ".join(b.split()) for b in blocks if b.strip()]


def html_to_html(text: str) -> str:
    """An HTML or XHTML fragment (or whole document: its <body> is taken), sanitized."""
    body = re.search(r"<body[^>]*>(.*)</body>", text, re.S | re.I)
    return sanitize(body.group(1) if body else text)


def sanitize(fragment: str) -> str:
    """Keep a documented safe subset of HTML (no scripts, handlers, forms, frames), as XHTML."""
    cleaned = nh3.clean(
        fragment,
        tags=_SAFE_TAGS,
        attributes=_SAFE_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )
    return xhtml(cleaned)

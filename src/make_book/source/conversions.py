"""The two slow steps of reading an essay, as the assembler asks for them: Markdown made
into HTML, and the HTML made an essay body (ids prefixed, notes numbered). The cache remembers
them between builds (cache/memo.py) by providing this same interface."""

from __future__ import annotations

from typing import Protocol

from make_book.source import markup
from make_book.source.fragment import EssayBody, essay_body


class Conversions(Protocol):
    """Where the assembler gets an essay's conversion and settling."""

    def markdown_essay(self, text: str, language: str) -> markup.Converted:
        """The essay's Markdown as an HTML fragment, with what was found on the way."""
        ...

    def essay_body(self, fragment: str, slug: str, title: str | None) -> EssayBody:
        """The fragment with its ids prefixed by `slug` and its notes numbered."""
        ...


class FreshConversions:
    """Every conversion made anew: nothing remembered."""

    def markdown_essay(self, text: str, language: str) -> markup.Converted:
        """The essay's Markdown as an HTML fragment, converted now."""
        return markup.markdown_essay(text, language)

    def essay_body(self, fragment: str, slug: str, title: str | None) -> EssayBody:
        """The fragment made an essay body now."""
        return essay_body(fragment, slug, title)

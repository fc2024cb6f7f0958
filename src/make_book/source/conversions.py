"""The slow steps of reading an essay, as the assembler asks for them: Markdown made
into HTML, the HTML made an essay body (ids prefixed, notes numbered), and the whole
essay made from its file. The cache remembers them between builds (cache/memo.py) by
providing this same interface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from make_book.model import Essay
from make_book.source import markup
from make_book.source.fragment import EssayBody, essay_body


@dataclass(frozen=True)
class MadeEssay:
    """An essay made from its file, with the warnings said while making it."""

    essay: Essay
    warnings: tuple[str, ...] = ()
    lasting: bool = True  # made from its file alone: nothing else it read can change


class Conversions(Protocol):
    """Where the assembler gets an essay's conversion and settling."""

    def markdown_essay(self, text: str, language: str) -> markup.Converted:
        """The essay's Markdown as an HTML fragment, with what was found on the way."""
        ...

    def essay_body(self, fragment: str, slug: str, title: str | None) -> EssayBody:
        """The fragment with its ids prefixed by `slug` and its notes numbered."""
        ...

    def essay(self, key: str, make: Callable[[], MadeEssay]) -> MadeEssay:
        """The essay `make` makes; `key` hashes everything it is made from."""
        ...


class FreshConversions:
    """Every conversion made anew: nothing remembered."""

    def markdown_essay(self, text: str, language: str) -> markup.Converted:
        """The essay's Markdown as an HTML fragment, converted now."""
        return markup.markdown_essay(text, language)

    def essay_body(self, fragment: str, slug: str, title: str | None) -> EssayBody:
        """The fragment made an essay body now."""
        return essay_body(fragment, slug, title)

    def essay(self, key: str, make: Callable[[], MadeEssay]) -> MadeEssay:
        """The essay made now."""
        return make()

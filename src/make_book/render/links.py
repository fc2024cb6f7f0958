"""Internal links for outputs that split the book into one file per essay."""

from __future__ import annotations

import re

from markupsafe import Markup

from make_book.model import Book, Essay, Part

# The epub:type of each kind of text (the web edition uses it as a class).
_TYPES = {"essay": "chapter", "part-introduction": "introduction"}


def no_epub_type(_kind: str) -> Markup:
    """Templates shared with the EPUB write epub:type through `t`; other outputs write none."""
    return Markup("")


def essay_type(kind: str) -> str:
    """The EPUB structural semantics of an essay kind."""
    return _TYPES.get(kind, kind)


class LinkMap:
    """Knows which file every anchor of the book lives in."""

    def __init__(self, book: Book, suffix: str) -> None:
        self.book = book
        self.suffix = suffix
        self.files = {p.slug: p.slug + suffix for p in book.contents if isinstance(p, Part)}
        self.texts = {text.slug: text for text in book.all_texts}
        for name in ("contributors", "sources"):
            self.files[name] = name + suffix

    def file_of(self, anchor: str) -> str:
        """The file that holds `anchor` (the essay's, a part's, or a generated page's)."""
        if anchor in self.files:
            return self.files[anchor]
        # An essay's ids are `slug--id` (fragment.py), and a slug never holds "--".
        essay = self.texts.get(anchor.partition("--")[0])
        return essay.slug + self.suffix if essay else ""

    def href(self, anchor: str) -> str:
        """A link to `anchor` from any file: the file alone when the anchor opens it."""
        file = self.file_of(anchor)
        if anchor in self.files or anchor == file[: -len(self.suffix)]:
            return file
        return f"{file}#{anchor}"

    def rewrite(self, body_html: str, essay: Essay | Part) -> str:
        """Point `#anchor` links that leave this essay's file at the right file."""

        def fix(match: re.Match[str]) -> str:
            anchor = match.group(1)
            if self.file_of(anchor) in ("", essay.slug + self.suffix):
                return match.group(0)
            return f'href="{self.href(anchor)}"'

        return re.sub(r'href="#([^"]+)"', fix, body_html)

"""Where the printed pages begin, in terms both editions share.

The EPUB's page-list points at the print edition's page breaks. Both editions
are made from the same essay bodies, so a page start is named by the text (its
slug), the block element in the text's body where the page begins (blocks are
numbered in document order by `body_blocks`), and how many words of that block
came before the break. The PDF renderer reads those from WeasyPrint's layout;
the EPUB renderer inserts a marker at the same word.

Shared rules, so both sides count alike:
- blocks are the elements in BLOCK_TAGS inside the body, nested ones included;
- a word belongs to its innermost block;
- note references (class noteref / noteref-repeat) and footnote bodies are not
  words: the footnote is printed at the page foot, the EPUB has endnotes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # lxml is imported where XHTML is parsed (mark_blocks): a layout worker needs
    # PageStart and page_label from here, not lxml (~6 MB).
    from lxml import etree

BLOCK_TAGS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "td",
        "th",
        "caption",
        "div",
        "hr",
    }
)
NOT_WORDS = frozenset({"noteref", "noteref-repeat", "footnote"})
BLOCK_ATTRIBUTE = "data-b"


@dataclass(frozen=True)
class PageStart:
    """One printed page, and where its first word is."""

    index: int  # 0-based page index in the PDF
    label: str  # the printed folio: "iv", "17"
    text: str  # slug of the essay (or front/back matter text); "" for generated pages
    section: str  # id of the generated section (contents, contributors…) when text is ""
    block: int  # index into body_blocks(text body); -1: the text's heading, before its body
    word: int  # words of that block printed on earlier pages


def _local(tag: object) -> str:
    """An element's name without its namespace ("{uri}p" -> "p"); "" for comments."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def body_blocks(root: etree._Element) -> list[etree._Element]:
    """The body's block elements in document order (the numbering both editions use)."""
    return [
        el for el in root.iter() if el is not root and _local(el.tag) in BLOCK_TAGS and _counted(el)
    ]


def _counted(element: etree._Element) -> bool:
    """False inside a footnote body: it is printed at the page foot, not in the flow."""
    return not any(_classes(a) & NOT_WORDS for a in element.iterancestors())


def _classes(element: etree._Element) -> set[str]:
    return set((element.get("class") or "").split())


def mark_blocks(body_html: str) -> str:
    """The body with each block numbered in a data-b attribute, for the print layout."""
    from make_book.xhtml import parse_fragment, to_xhtml

    root = parse_fragment(body_html)
    for number, block in enumerate(body_blocks(root)):
        block.set(BLOCK_ATTRIBUTE, str(number))
    return to_xhtml(root)


def own_text(block: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    """(owner, attribute) of each piece of text that belongs to this block's words.

    attribute is "text" (owner.text) or "tail" (owner.tail). Nested blocks and
    note references are skipped, with their tails kept (the tail is the block's).
    """
    if block.text:
        yield block, "text"
    for child in block:
        skipped = _local(child.tag) in BLOCK_TAGS or bool(_classes(child) & NOT_WORDS)
        if not skipped and isinstance(child.tag, str):
            yield from own_text(child)
        if child.tail:
            yield child, "tail"


def after_break(owner: etree._Element, attribute: str) -> bool:
    """True for the text after a <br>: a line break ends a word, as in the printed line."""
    return attribute == "tail" and _local(owner.tag) == "br"


def block_words(block: etree._Element) -> list[str]:
    """The block's own words, as the page map counts them."""
    pieces = (
        (" " if after_break(owner, attr) else "") + (getattr(owner, attr) or "")
        for owner, attr in own_text(block)
    )
    return "".join(pieces).split()


def pages_of_texts(starts: Iterable[PageStart]) -> dict[str, tuple[PageStart, ...]]:
    """Each text's printed pages, by slug: those whose first words are its own.

    A page belongs to the text it begins with, so a text's pages follow one another;
    blank and generated pages (`text` "") belong to none.
    """
    pages: dict[str, list[PageStart]] = {}
    for start in starts:
        if start.text:
            pages.setdefault(start.text, []).append(start)
    return {slug: tuple(found) for slug, found in pages.items()}


def page_label(index: int, opener: int) -> str:
    """The printed folio of a page: roman before the main matter, arabic from it."""
    return str(index - opener + 1) if index >= opener else _roman(index + 1)


def _roman(number: int) -> str:
    digits = (
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    )
    out = ""
    for value, letters in digits:
        count, number = divmod(number, value)
        out += letters * count
    return out

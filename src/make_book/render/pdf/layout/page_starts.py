"""Reading WeasyPrint's layout: where each printed page begins (see pagemap.py).

The print HTML numbers the blocks of every essay body (data-b) and each essay is
a <section class="essay" id=slug> with its body in <div class="essay-body">.
Walking each page's boxes in order finds the first word of the main flow; the
words of the same block on earlier pages give its position in the block.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from weasyprint.formatting_structure import boxes

from make_book.pagemap import BLOCK_ATTRIBUTE, NOT_WORDS, PageStart, page_label

_DASHES = ("-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u00ad")


@dataclass
class _Where:
    """The innermost text, section and block around a piece of text."""

    text: str = ""
    section: str = ""
    block: int = -1
    skip: bool = False  # inside a footnote call or body: not part of the flow's words


@dataclass
class _Reader:
    """Words seen so far per (text, block), across pages."""

    seen: dict[tuple[str, int], str] = field(default_factory=dict)
    last_line: dict[tuple[str, int], Any] = field(default_factory=dict)

    def add(self, where: _Where, line: Any, text: str) -> None:
        key = (where.text, where.block)
        before = self.seen.get(key, "")
        if before and self.last_line.get(key) is not line and not before.endswith(_DASHES):
            before += " "  # a line break is a space, unless the line ended on a hyphen or dash
        self.seen[key] = before + text
        self.last_line[key] = line

    def words_before(self, where: _Where) -> int:
        return len(self.seen.get((where.text, where.block), "").split())


def page_starts(page_boxes: Sequence[Any], opener: int) -> list[PageStart]:
    """One PageStart per page that has text in the main flow, in page order.

    Read from the paginated page boxes, so the starts are known as soon as the pages
    are counted: the flow and its footnotes are placed by then. What WeasyPrint adds
    later is not the flow, and is not read: the margin boxes, and the copies of the
    pages' `position: fixed` boxes it puts on every page (some before the pages are
    counted)."""
    reader = _Reader()
    starts: list[PageStart] = []
    for index, page_box in enumerate(page_boxes):
        first = True
        for where, line, text in _flow_text(page_box):
            if first:
                starts.append(_start(index, opener, where, reader.words_before(where)))
                first = False
            reader.add(where, line, text)
    return starts


def _start(index: int, opener: int, where: _Where, words: int) -> PageStart:
    return PageStart(
        index=index,
        label=page_label(index, opener),
        text=where.text,
        section="" if where.text else where.section,
        block=where.block,
        word=words if where.block >= 0 else 0,
    )


def _flow_text(page_box: Any) -> Iterator[tuple[_Where, Any, str]]:
    """(where, line box, text) of each word-bearing text box in the main flow, in order."""
    for child in page_box.children:
        if isinstance(child, (boxes.MarginBox, boxes.FootnoteAreaBox)):
            continue  # running heads and footnotes are not the flow
        yield from _walk(child, _Where(), None)


def _walk(box: Any, where: _Where, line: Any) -> Iterator[tuple[_Where, Any, str]]:
    if box.style["position"] == "fixed":
        return  # repeated on every page (WeasyPrint copies it to each): not the flow
    where = _enter(box, where)
    if where.skip:
        return
    if isinstance(box, boxes.LineBox):
        line = box
    if isinstance(box, boxes.TextBox):
        if box.text.strip():
            yield where, line, box.text
        return
    for child in getattr(box, "children", ()):
        yield from _walk(child, where, line)


def _enter(box: Any, where: _Where) -> _Where:
    """The context inside `box`, when its element starts a text, section or block."""
    element = getattr(box, "element", None)
    if element is None:
        return where
    if "::" in (getattr(box, "element_tag", "") or ""):  # ::marker, ::footnote-call, ::before
        return _Where(where.text, where.section, where.block, True)
    classes = set((element.get("class") or "").split())
    if classes & NOT_WORDS or "essay-header" in classes:
        skip = bool(classes & NOT_WORDS)
        return _Where(where.text, where.section, -1, skip or where.skip)
    if "essay" in classes and element.tag == "section":
        return _Where(element.get("id") or "", "", -1, where.skip)
    if element.tag in ("section", "nav") and element.get("id") and not where.text:
        return _Where("", element.get("id"), -1, where.skip)
    number = element.get(BLOCK_ATTRIBUTE)
    if number is not None and where.text:
        return _Where(where.text, where.section, int(number), where.skip)
    return where

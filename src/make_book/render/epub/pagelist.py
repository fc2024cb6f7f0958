"""Print page numbers in the EPUB: page-break markers where each printed page begins.

The PDF renderer says where every printed page starts (pagemap.PageStart: a text,
a block of its body and a count of that block's words). This module puts an empty
`<span role="doc-pagebreak">` at that word of the EPUB's copy of the same body, so
that a reader can follow a citation of the print edition ("p. 17") into the EPUB.
The nav document's page-list then links to every marker.

The EPUB's body keeps the print's block numbering: both number the blocks of the
same essay body with `body_blocks`, and the EPUB only adds attributes (noterefs,
links) and these markers, which are neither blocks nor words.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree, html

from make_book.pagemap import PageStart, after_break, body_blocks, own_text
from make_book.xhtml import parse_fragment, to_xhtml

log = logging.getLogger("make_book")

PAGEBREAK_ROLE = "doc-pagebreak"
# Block elements that cannot hold a marker (void): the marker goes before them.
_VOID_BLOCKS = frozenset({"hr"})
_WORD = re.compile(r"\S+")  # as str.isspace() splits: `\s` is the same set


def page_ids(starts: Iterable[PageStart], taken: Iterable[str] = ()) -> dict[int, str]:
    """An id for each page's marker (by page index), unique in the book: "page-17", "page-iv".

    `taken` holds ids the book already uses (essay slugs are ids); a clash gets a suffix.
    """
    used = set(taken)
    ids: dict[int, str] = {}
    for start in starts:
        base = "page-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", start.label).strip("-") or "x")
        ident, n = base, 1
        while ident in used:
            n += 1
            ident = f"{base}-{n}"
        used.add(ident)
        ids[start.index] = ident
    return ids


def marker(label: str, ident: str) -> str:
    """The XHTML of one page-break marker: empty, named by aria-label for assistive tech."""
    return (
        f'<span epub:type="pagebreak" role="{PAGEBREAK_ROLE}" id="{_escape(ident)}"'
        f' aria-label="{_escape(label)}"></span>'
    )


def _escape(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def markers(starts: Sequence[PageStart], ids: dict[int, str]) -> str:
    """Markers for pages that begin at the very start of a document, in page order."""
    return "".join(marker(s.label, ids[s.index]) for s in starts)


def mark_pages(body: str, starts: Sequence[PageStart], ids: dict[int, str]) -> str:
    """The essay body with a marker before the first word of each page that starts in it.

    `starts` are the text's PageStarts with a block (block -1, the text's heading, is the
    caller's: it is outside the body). Apart from the markers the text is unchanged.
    """
    root = parse_fragment(body)
    blocks = body_blocks(root)
    for start in starts:
        if start.block < 0:
            continue
        if start.block >= len(blocks):
            log.warning(
                "page %s: block %d is past the end of %r", start.label, start.block, start.text
            )
            continue
        _insert(blocks[start.block], start.word, _element(marker(start.label, ids[start.index])))
    return to_xhtml(root)


def _element(xhtml: str) -> html.HtmlElement:
    """Parsed with the HTML parser, as the body is: it takes the epub:type attribute as is."""
    return html.fragment_fromstring(xhtml)


@dataclass(frozen=True)
class _Spot:
    """A place in a block's own text: owner.text or owner.tail, at offset."""

    owner: etree._Element
    attribute: str  # "text" or "tail"
    offset: int


def _insert(block: etree._Element, word: int, span: etree._Element) -> None:
    """Put `span` before word number `word` of the block's own words."""
    if _local(block) in _VOID_BLOCKS:
        block.addprevious(span)
        return
    spot = _word_spot(block, word)
    if spot is None:
        _at_block_start(block, span)
    elif spot.attribute == "text" and spot.offset == 0 and spot.owner is not block:
        _before_inline(block, spot.owner).addprevious(span)
    elif spot.attribute == "text":
        text = spot.owner.text or ""
        spot.owner.text = text[: spot.offset]
        spot.owner.insert(0, span)
        span.tail = text[spot.offset :]
    else:
        tail = spot.owner.tail or ""
        spot.owner.tail = tail[: spot.offset]
        spot.owner.addnext(span)
        span.tail = tail[spot.offset :]


def _word_spot(block: etree._Element, word: int) -> _Spot | None:
    """Where word number `word` begins; past the last word, the end of the last one.

    Words are counted as `block_words` counts them: runs of non-space characters
    across the block's own text pieces, so a word split by inline markup is one word.
    None when the block has no words at all.
    """
    count, in_word, last = 0, False, None
    for owner, attribute in own_text(block):
        text = getattr(owner, attribute) or ""
        in_word = in_word and not after_break(owner, attribute)
        for match in _WORD.finditer(text):
            if not (in_word and match.start() == 0):  # else it goes on from the last piece
                if count == word:
                    return _Spot(owner, attribute, match.start())
                count += 1
            last = _Spot(owner, attribute, match.end())
        in_word = not text[-1].isspace() if text else in_word
    if last is not None:
        log.warning("page start after word %d of a block of %d words", word, count)
    return last


def _before_inline(block: etree._Element, element: etree._Element) -> etree._Element:
    """The outermost inline element that `element` opens: a word at the start of
    <em><a>word</a></em> is marked before the <em>, not inside the link."""
    while True:
        parent = element.getparent()
        if parent is None or parent is block or (parent.text or "") or parent[0] is not element:
            return element
        element = parent


def _at_block_start(block: etree._Element, span: etree._Element) -> None:
    """A block without words (a figure, an empty cell): the marker opens it, after any
    markers already there, so two pages at one spot stay in page order."""
    position = 0
    while position < len(block) and block[position].get("role") == PAGEBREAK_ROLE:
        if block[position].tail:
            break
        position += 1
    if position == 0:
        span.tail, block.text = block.text, None
    block.insert(position, span)


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def pagebreaks(document: bytes | etree._Element) -> list[tuple[str, str]]:
    """(id, label) of every page-break marker in a content document (or its parsed root),
    in document order."""
    root = document if isinstance(document, etree._Element) else etree.fromstring(document)
    found = root.xpath("//*[@role=$role][@id]", role=PAGEBREAK_ROLE)
    return [(el.get("id") or "", el.get("aria-label") or "") for el in found]

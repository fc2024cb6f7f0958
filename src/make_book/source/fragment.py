"""An essay's HTML fragment made an essay body: title, headings, ids, footnotes and images.

Every id in an essay is prefixed with the essay's slug, so two essays that
both have a heading "Notes" or a footnote [^1] never collide in a book that
holds them all (the PDF is one document; the EPUB links across files).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import html

from make_book.model import Footnote
from make_book.xhtml import inner_xhtml, parse_fragment, to_xhtml

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_INLINE_TAGS = (
    *("a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd"),
    *("mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var"),
)
_BLOCK_TAGS = frozenset(
    {"p", "div", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "table", "figure"}
    | {"hr", "section", "aside", "header", "footer", "nav", "article", "figcaption"}
    | set(_HEADINGS)
)
NOTEREF = re.compile(r'<a class="noteref( repeat)?" href="#([^"]+)"( id="([^"]+)")?>(\d+)</a>')


@dataclass(frozen=True)
class EssayBody:
    """An essay's HTML made ready for a book: ids namespaced, notes taken out, headings nested."""

    body_html: str
    footnotes: tuple[Footnote, ...]
    leading_heading_html: str  # inner HTML of a heading that opened the body, now removed
    image_sources: tuple[str, ...]  # src attributes as written, the notes' included
    images_without_alt: tuple[str, ...]
    word_count: int


def essay_body(fragment: str, slug: str, title: str | None) -> EssayBody:
    """Namespace ids, extract notes, drop a heading that repeats the title, nest headings."""
    root = parse_fragment(fragment)
    leading = _take_leading_heading(root, title)
    # Before the notes leave the tree: an image in a note is checked and packaged too.
    images = tuple(img.get("src", "") for img in root.iter("img"))
    no_alt = tuple(img.get("src", "") for img in root.iter("img") if not img.get("alt", "").strip())
    _unwrap_inline_around_blocks(root)
    # Before the notes leave the tree, so a note's link to a missing place is caught too.
    _drop_dangling_links(root, set())
    footnotes = _extract_footnotes(root, slug)
    _namespace_ids(root, slug)
    _drop_dangling_links(root, {n.id for n in footnotes} | {n.ref_id for n in footnotes})
    _nest_headings(root)
    words = len(root.text_content().split()) + sum(
        len(parse_fragment(n.html).text_content().split()) for n in footnotes
    )
    return EssayBody(to_xhtml(root).strip(), footnotes, leading, images, no_alt, words)


def _take_leading_heading(root: html.HtmlElement, title: str | None) -> str:
    """Remove a first heading that is (or, with no title given, becomes) the title."""
    first = next((child for child in root if isinstance(child.tag, str)), None)
    if first is None or first.tag not in _HEADINGS or (root.text or "").strip():
        return ""
    if title is not None and _norm(first.text_content()) != _norm(title):
        return ""
    if title is None and first.tag != "h1":
        return ""
    inner = inner_xhtml(first)
    _remove_keeping_tail(first)
    return inner


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", "", text).casefold().split())


def _remove_keeping_tail(element: html.HtmlElement) -> None:
    parent = element.getparent()
    if element.tail and parent is not None:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    if parent is not None:
        parent.remove(element)


def _extract_footnotes(root: html.HtmlElement, slug: str) -> tuple[Footnote, ...]:
    """Turn markdown-it's footnote list into Footnote records and canonical calls."""
    numbers: dict[str, int] = {}
    notes: list[Footnote] = []
    for item in root.xpath('.//section[@class="footnotes"]//li[@class="footnote-item"]'):
        number = len(notes) + 1
        numbers[item.get("id", "")] = number
        for back in item.xpath('.//a[@class="footnote-backref"]'):
            _remove_keeping_tail(back)
        _namespace_ids(item, slug)
        notes.append(Footnote(number, f"{slug}--fn-{number}", f"{slug}--fnref-{number}", ""))
        notes[-1] = _with_html(notes[-1], item)
    for node in root.xpath('.//section[@class="footnotes"] | .//hr[@class="footnotes-sep"]'):
        _remove_keeping_tail(node)
    _canonical_calls(root, numbers, slug)
    return tuple(notes)


def _with_html(note: Footnote, item: html.HtmlElement) -> Footnote:
    body = re.sub(r"\s+(</p>)", r"\1", inner_xhtml(item))  # space left by the back-links
    return Footnote(note.number, note.id, note.ref_id, body)


def _canonical_calls(root: html.HtmlElement, numbers: dict[str, int], slug: str) -> None:
    seen: set[int] = set()
    for sup in root.xpath('.//sup[@class="footnote-ref"]'):
        link = sup.find("a")
        number = numbers.get((link.get("href", "") if link is not None else "").lstrip("#"))
        if number is None:
            _remove_keeping_tail(sup)
            continue
        call = html.Element("a", {"class": "noteref", "href": f"#{slug}--fn-{number}"})
        if number in seen:
            call.set("class", "noteref repeat")
        else:
            call.set("id", f"{slug}--fnref-{number}")
        seen.add(number)
        call.text = str(number)
        call.tail = sup.tail
        sup.getparent().replace(sup, call)


def _namespace_ids(root: html.HtmlElement, slug: str) -> None:
    """Prefix every id with the essay's slug; two that end up alike get -2, -3…"""
    prefix = f"{slug}--"
    seen: set[str] = set()
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        ident = (node.get("id") or "").strip()
        if not ident:
            node.attrib.pop("id", None)  # id="" is invalid: e.g. the anchor of a heading "…"
        else:
            if not ident.startswith(prefix):
                ident = prefix + id_safe(ident)
            unique, n = ident, 2
            while unique in seen:  # e.g. a heading's anchor and a span with the same id
                unique, n = f"{ident}-{n}", n + 1
            seen.add(unique)
            node.set("id", unique)
        href = node.get("href") if node.tag == "a" else None
        if href and href.startswith("#") and not href.startswith("#" + prefix):
            node.set("href", "#" + prefix + id_safe(href[1:]))


def _drop_dangling_links(root: html.HtmlElement, note_ids: set[str]) -> None:
    """A link to a place the essay does not have leads nowhere: it stays as plain text."""
    targets = {node.get("id") for node in root.iter() if isinstance(node.tag, str)} | note_ids
    for link in root.iter("a"):
        href = link.get("href") or ""
        if href.startswith("#") and href[1:] not in targets:
            del link.attrib["href"]


def _unwrap_inline_around_blocks(root: html.HtmlElement) -> None:
    """`<i>` left open before a list wraps the list: keep the text, drop the bad wrapper.

    A block inside a phrasing element is invalid XHTML (EPUBCheck refuses it), and no
    renderer can style it sensibly anyway.
    """
    for element in list(root.iter(*_INLINE_TAGS)):
        if any(child.tag in _BLOCK_TAGS for child in element.iterdescendants()):
            element.drop_tag()


def id_safe(ident: str) -> str:
    """An id (or a link's anchor) as the book writes it: what ids cannot hold becomes -."""
    return re.sub(r"[^\w.-]", "-", ident)


def _nest_headings(root: html.HtmlElement) -> None:
    """The essay title is the only h1: the body's top heading level becomes h2."""
    levels = [int(h.tag[1]) for h in root.iter(*_HEADINGS)]
    if not levels:
        return
    shift = 2 - min(levels)
    for heading in list(root.iter(*_HEADINGS)):
        heading.tag = f"h{min(6, int(heading.tag[1]) + shift)}"


def replace_noterefs(body_html: str, render: Callable[[int, bool], str]) -> str:
    """Rewrite each footnote call; `render(number, first)` returns its replacement."""
    return NOTEREF.sub(lambda m: render(int(m.group(5)), m.group(1) is None), body_html)

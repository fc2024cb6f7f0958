"""Parsing and serializing HTML fragments as XHTML that HTML parsers read the same way."""

from __future__ import annotations

from lxml import etree, html

_VOID = {"area", "br", "col", "hr", "img", "wbr"}


def parse_fragment(fragment: str) -> html.HtmlElement:
    """Parse an HTML fragment into a <div> holding it."""
    return html.fragment_fromstring(fragment or "", create_parent="div")


def to_xhtml(element: etree._Element) -> str:
    """The content of `element` (a fragment's holder) as well-formed XHTML."""
    for node in element.iter():
        if isinstance(node.tag, str) and node.tag not in _VOID and len(node) == 0 and not node.text:
            node.text = ""  # write <a id="x"></a>, never <a id="x"/>, which HTML misreads
    text = _escape(element.text or "")
    return text + "".join(etree.tostring(c, encoding="unicode", method="xml") for c in element)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inner_xhtml(element: etree._Element) -> str:
    """The content of an element (text and children) as XHTML, its tail excluded."""
    copy = html.fromstring(etree.tostring(element))
    copy.tail = None
    return to_xhtml(copy).strip()


def xhtml(fragment: str) -> str:
    """Re-serialize an HTML fragment as XHTML."""
    return to_xhtml(parse_fragment(fragment)).strip() if fragment.strip() else ""

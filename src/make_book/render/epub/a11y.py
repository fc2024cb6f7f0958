"""Accessibility checks on the EPUB's content documents that no validator makes for us.

EPUBCheck checks the markup, not whether its outline makes sense; a screen
reader user moves by headings, and a skipped level (h1 then h3) reads as a
missing section.
"""

from __future__ import annotations

from lxml import etree

_XHTML = "http://www.w3.org/1999/xhtml"
_LEVELS = {f"{{{_XHTML}}}h{n}": n for n in range(1, 7)}


def heading_faults(xhtml: bytes | str | etree._Element) -> list[str]:
    """What is wrong with a content document's heading outline (given as text or as its
    parsed root); empty when nothing is.

    The first heading must be an h1 (each document is a page of its own to a reader);
    after it a heading may go up any number of levels but down only one at a time.
    """
    if isinstance(xhtml, etree._Element):
        root = xhtml
    else:
        root = etree.fromstring(xhtml.encode("utf-8") if isinstance(xhtml, str) else xhtml)
    faults: list[str] = []
    previous = 0
    for element in root.iter(*_LEVELS):
        level = _LEVELS[str(element.tag)]
        if level > previous + 1:
            faults.append(_fault(element, level, previous))
        previous = level
    return faults


def _fault(element: etree._Element, level: int, previous: int) -> str:
    text = " ".join("".join(element.itertext()).split())
    where = f"after an h{previous}" if previous else "as the first heading"
    return f"h{level} {text!r} {where} (a skipped level)"

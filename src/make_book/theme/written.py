"""What a book's own template writes, checked: nothing that runs, fetches or navigates
outside the book.

A book's template writes straight into the web edition, the EPUB and the PDF's HTML,
past the sanitizer its essays go through. So its output is parsed and refused if it
holds what an essay may not: an element that runs code, loads another document or
sends a form (`<script>`, `<iframe>`, `<object>`, `<form>`, `<base>`…), an event
handler (`on*=`), a `<meta http-equiv>` other than the content type, a `<link>` that
is not a stylesheet, or a URL that fetches or navigates outside the book: remote files,
`javascript:`, `data:` and every other scheme, absolute paths and paths that leave the
output's folder. Links (`<a href>`, `<area href>`) may go to the web and to mail, as an
essay's may, and one folder up (the web edition links the PDF and EPUB beside it). CSS,
in `<style>` and `style=""`, may name files of the book only (the resources found as a
book's stylesheets' are, css.py).

The packaged theme's output is never checked (BookSandbox checks only what a book's
template had a part in), so its bytes and its speed stay as they were.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lxml import etree, html

from make_book.theme.css import resources
from make_book.url_reach import as_browsers_read, scheme_of


@dataclass(frozen=True)
class Refusal:
    """What is wrong, and a piece of the output to look for in the template's source."""

    message: str
    needle: str


_NOT_WRITTEN = "a book's template may not write it"
_RUNS = "runs code in a reader"
_LOADS = "loads another document or a plug-in into the book"
_REFUSED_ELEMENTS = {
    "script": _RUNS,
    "applet": _RUNS,
    "iframe": _LOADS,
    "frame": _LOADS,
    "frameset": _LOADS,
    "object": _LOADS,
    "embed": _LOADS,
    "param": _LOADS,
    "portal": _LOADS,
    "form": "sends what a reader types away from the book",
    "base": "changes where every link and file of the page points",
    # read as text by one HTML parser and as markup by another: a way to smuggle an
    # element past this check, as it is past the essays' sanitizer
    "noscript": "is read two ways by HTML parsers",
}
# The same elements found in the text itself, in case a reader's parser (HTML5, or XML
# for the EPUB) sees an element where lxml's does not: escaped text never holds "<tag".
_RAW_ELEMENT = re.compile(r"<\s*(" + "|".join(_REFUSED_ELEMENTS) + r")[\s/>]", re.I)
# Attributes whose value is a URL a reader's browser loads or goes to.
_URL_ATTRIBUTES = frozenset({
    "href", "xlink:href", "src", "poster", "data", "action", "formaction", "background",
    "ping", "manifest", "codebase", "archive", "longdesc", "lowsrc", "dynsrc", "icon",
})  # fmt: skip
_SRCSETS = frozenset({"srcset", "imagesrcset"})
_LINKS = frozenset({"a", "area"})  # what a reader follows, not what a page loads
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})  # as an essay's links (nh3)
# SVG animation can set an attribute, a link's href among them, to any value.
_ANIMATIONS = frozenset({"set", "animate", "animatemotion", "animatetransform"})
# The PDF's virtual book folder (render/weasy/urls.py), served by its fetcher from the
# book folder only: where the packaged wrap.html's cover image is.
_PDF_BOOK = "file:///make-book/"
_SHOWN = 80  # characters of a value quoted in a message (a data: URL may be long)
_PARSER = html.HTMLParser(encoding="utf-8")


def refusal(output: str) -> Refusal | None:
    """The first thing in a template's output that it may not write, or None."""
    if not output.strip():
        return None
    root = html.document_fromstring(output.encode("utf-8"), parser=_PARSER)
    for element in root.iter():
        if isinstance(element.tag, str):
            found = _element_refusal(element)
            if found is not None:
                return found
    raw = _RAW_ELEMENT.search(output)
    if raw is not None:
        tag = raw[1].lower()
        return Refusal(f"<{tag}> {_REFUSED_ELEMENTS[tag]}; {_NOT_WRITTEN}", raw[0])
    return None


def _element_refusal(element: etree._Element) -> Refusal | None:
    tag = str(element.tag).lower()
    if tag in _REFUSED_ELEMENTS:
        return Refusal(f"<{tag}> {_REFUSED_ELEMENTS[tag]}; {_NOT_WRITTEN}", f"<{tag}")
    found = _special_refusal(tag, element)
    if found is not None:
        return found
    for name, value in element.attrib.items():
        found = _attribute_refusal(tag, str(name).lower(), str(value))
        if found is not None:
            return found
    if tag == "style":
        return _css_refusal("<style>", element.text or "")
    return None


def _special_refusal(tag: str, element: etree._Element) -> Refusal | None:
    """<meta http-equiv>, <link> and SVG animation: refused for what they are set to do."""
    if tag == "meta" and "http-equiv" in element.attrib:
        equiv = str(element.get("http-equiv"))
        if equiv.strip().lower() != "content-type":
            message = f'<meta http-equiv="{_shown(equiv)}"> may reload or leave the page'
            return Refusal(f"{message}; {_NOT_WRITTEN}", "http-equiv")
    if tag == "link" and "stylesheet" not in str(element.get("rel", "")).lower().split():
        rel = _shown(str(element.get("rel", "")))
        message = f'<link rel="{rel}">: a page may link only the book\'s own stylesheet'
        return Refusal(message, "<link")
    if tag in _ANIMATIONS and "href" in str(element.get("attributename", "")).lower():
        message = f"<{tag}> changes a link as the page runs; {_NOT_WRITTEN}"
        return Refusal(message, f"<{tag}")
    return None


def _attribute_refusal(tag: str, name: str, value: str) -> Refusal | None:
    if name.startswith("on"):
        return Refusal(f"<{tag} {name}>: an event handler {_RUNS}; {_NOT_WRITTEN}", name)
    if name == "style":
        return _css_refusal(f"<{tag} style>", "x{" + value + "}")
    urls = [value] if name in _URL_ATTRIBUTES else []
    if name in _SRCSETS:  # "big.png 2x, small.png 1x": each a URL, then a size
        urls = [next(iter(c.split()), "") for c in value.split(",")]
    for url in urls:
        reason = url_reason(url, link=tag in _LINKS and name == "href")
        if reason:
            return Refusal(f"<{tag} {name}> '{_shown(url)}': {reason}", url or f"{name}=")
    return None


def _css_refusal(what: str, css: str) -> Refusal | None:
    for found in resources(css):
        reason = url_reason(found.url, link=False)
        if reason:
            message = f"{what}: {found.what} '{_shown(found.url)}': {reason}"
            return Refusal(message, found.url or found.what.rstrip(")"))
    return None


def url_reason(url: str, *, link: bool) -> str:
    """Why a template may not write `url`, or "" if it may. A link may go to the web, to
    mail, and one folder up; a file the page loads must be in its own folder or below."""
    text = as_browsers_read(url)
    scheme = scheme_of(text)
    if text.startswith("//"):  # the web, at the page's own scheme
        return "" if link else "remote files are not fetched; put the file in the book folder"
    if link and scheme in _LINK_SCHEMES:
        return ""
    if scheme == "file" and text.startswith(_PDF_BOOK):
        text = text[len(_PDF_BOOK) :]  # the book folder itself, read by the PDF's fetcher
    elif scheme in {"javascript", "vbscript"}:
        return f"{scheme}: URLs run code in a reader"
    elif scheme in {"http", "https", "ftp", "ftps", "ws", "wss"}:
        return "remote files are not fetched; put the file in the book folder"
    elif len(scheme) > 1:
        return f"{scheme}: URLs are not allowed; put the file in the book folder"
    elif scheme or text.startswith("/"):  # "C:/x" or "/etc/x"
        return "absolute paths are not allowed"
    return _leaves(text, 1 if link else 0)


def _leaves(url: str, ups_allowed: int) -> str:
    path = unquote(urlsplit(url).path)
    if not path:  # "#note", "?x" or "": the page itself
        return ""
    parts = posixpath.normpath(path).split("/")
    ups = len(parts) - len([p for p in parts if p != ".."])
    return "path leaves the book" if ups > ups_allowed else ""


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN else value[: _SHOWN - 1] + "…"

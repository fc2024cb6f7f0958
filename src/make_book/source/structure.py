"""An essay's sanitized HTML made valid XHTML: what EPUBCheck and the Nu HTML Checker
(vnu) hold every content document to, whatever a contributor wrote.

The sanitizer (nh3) parses as an HTML5 parser does, which already mends much: a table
cell outside a table, an unclosed paragraph, misnested emphasis. What a parser keeps
but the content models forbid is repaired here, on the parsed fragment, where the
repair is unambiguous, and each repair is told (`Repair`, a warning at the place):

- an inline element (`<em>`, `<span>`, `<a>`…) around a block loses its tag, the text
  kept (as fragment.py always did);
- a block inside `<pre>` or a heading is unwrapped into its text and inline markup (a
  horizontal rule there is dropped); a block inside a paragraph splits the paragraph;
- list items outside a list get a `<ul>`, terms and definitions outside a list a `<dl>`;
  what stands in a list between its items goes into the item before it (or a new one);
- a heading or a section inside a table header cell or a term is unwrapped;
- a table row with no cells is dropped; a caption outside a figure becomes a `<div>`;
- an attribute whose value its element does not allow (`dir="up"`, `colspan="x"`,
  `lang="?"`) is dropped.

Every URL (`<a href>`, `cite`) is held to the URL standard (`url_problem`): characters
no URL may hold are percent-encoded where that is the URL meant (a space, `<`, a lone
`%`); a URL that cannot be meant as written (an empty host, a backslash) and a path
from the root of a site (a book has none) are refused.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.entities import html5
from urllib.parse import quote, unquote

from lxml import etree, html

from make_book.url_reach import scheme_of


@dataclass(frozen=True)
class Repair:
    """One thing repaired (a warning) or refused (an error), and text that finds it."""

    message: str
    needle: str = ""
    refused: bool = False
    url: str = ""  # a URL the message quotes, as the sanitized HTML has it

    def as_written(self, source: str) -> Repair:
        """The repair quoting its URL as `source` spells it, and found there by it."""
        spelled = written_in(source, self.url) if self.url else None
        if not spelled:
            return self
        message = self.message.replace(f"'{shown(self.url)}'", f"'{shown(spelled)}'", 1)
        return Repair(message, spelled, self.refused, self.url)


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Phrasing content among the tags the sanitizer keeps; `a`, `ins` and `del` are
# transparent (their content model is their parent's).
_PHRASING = frozenset({
    "a", "abbr", "b", "br", "cite", "code", "del", "em", "i", "img", "ins", "kbd", "mark",
    "q", "s", "samp", "small", "span", "strong", "sub", "sup", "u", "var",
})  # fmt: skip
_TRANSPARENT = frozenset({"ins", "del"})
_INLINE = _PHRASING - _TRANSPARENT - {"br", "img"}  # inline elements that hold phrasing only
_PHRASING_BLOCKS = frozenset({"pre"} | _HEADINGS)  # blocks that hold phrasing only
_LISTS = frozenset({"ul", "ol"})
_NAMES = {"p": "paragraph", "pre": "preformatted block", "li": "list item", "tr": "table row"}


def repair(holder: html.HtmlElement, inline: bool = False, essay: bool = True) -> list[Repair]:
    """Repair the fragment held by `holder` (xhtml.parse_fragment's <div>) in place.

    `inline`: it stands where only phrasing content may (a title, a name). `essay`: its
    links to `#anchors` are made the essay's own later (fragment.py), not here.
    """
    # What costs here is not the repairs, which most essays need none of, but the Python
    # object lxml.html makes for each element a pass touches (it looks up the element's
    # class in Python), again in every pass unless one is held: they are, until the end.
    _held = list(holder.iter())
    repairs: list[Repair] = []
    _unwrap_inline_around_blocks(holder, repairs)
    if inline:
        _unwrap_blocks(holder, repairs, "where only text and inline markup may stand", "")
    for element in list(holder.iter(*_PHRASING_BLOCKS)):
        _unwrap_blocks(element, repairs, f"inside <{element.tag}>", f"<{element.tag}")
    for paragraph in _PARAGRAPHS_AROUND_BLOCKS(holder):
        _split_paragraph(paragraph, repairs)
    _lists(holder, repairs)
    _cells_and_terms(holder, repairs)
    _rows(holder, repairs)
    _captions(holder, repairs)
    for element in _WITH_ATTRIBUTES(holder):
        if not _CHECKED.isdisjoint(element.attrib):
            _attributes(element, repairs, essay)
    return repairs


# Elements a pass may repair, found in C (Python sees only these). `_BLOCK`: any
# element that is not phrasing content, as `_is_block` has it; its name looked up in one
# string, which libxml2 does four times faster than with a `self::` test for each name.
_BLOCK = f"*[not(contains(' {' '.join(sorted(_PHRASING))} ', concat(' ', local-name(), ' ')))]"
_PARAGRAPHS_AROUND_BLOCKS = etree.XPath(f"descendant::p[{_BLOCK}]")
_WITH_ATTRIBUTES = etree.XPath("descendant-or-self::*[@*]")


def _elements(root: etree._Element) -> Iterator[html.HtmlElement]:
    for element in root.iterdescendants():
        if isinstance(element.tag, str):
            yield element


def _is_block(element: etree._Element) -> bool:
    return isinstance(element.tag, str) and element.tag not in _PHRASING


def _unwrap_inline_around_blocks(root: html.HtmlElement, repairs: list[Repair]) -> None:
    """`<i>` left open before a list wraps the list: keep the text, drop the wrapper."""
    for element in list(root.iter(*_INLINE, "a")):
        if len(element) == 0:  # most hold text only
            continue
        block = next((d for d in _elements(element) if _is_block(d)), None)
        if block is not None:
            message = (
                f"<{element.tag}> around a <{block.tag}> removed, its text kept:"
                f" a <{element.tag}> holds only text and inline markup"
            )
            repairs.append(Repair(message, f"<{element.tag}"))
            element.drop_tag()


def _unwrap_blocks(
    container: html.HtmlElement, repairs: list[Repair], where: str, needle: str
) -> None:
    """Every block in `container` replaced by its content (a rule dropped). `needle`
    finds the container in the source ("": each block is looked for)."""
    for element in list(_elements(container)):
        if not _is_block(element):
            continue
        what = _NAMES.get(element.tag, f"<{element.tag}>")
        found = needle or f"<{element.tag}"
        if element.tag in ("hr", "col"):
            repairs.append(Repair(f"<{element.tag}> {where} dropped", found))
            _remove_keeping_tail(element)
        else:
            message = f"{what} {where} unwrapped: its text and inline markup kept"
            repairs.append(Repair(message, found))
            element.drop_tag()


def _remove_keeping_tail(element: etree._Element) -> None:
    parent = element.getparent()
    assert parent is not None
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def _split_paragraph(paragraph: html.HtmlElement, repairs: list[Repair]) -> None:
    """A block inside a paragraph ends it: the text after it is a paragraph again."""
    if not any(_is_block(child) for child in paragraph):
        return
    parent = paragraph.getparent()
    assert parent is not None
    pieces: list[etree._Element] = []
    current = _empty_like(paragraph, keep_id=True)
    current.text = paragraph.text
    for child in list(paragraph):
        if _is_block(child):
            what = _NAMES.get(child.tag, f"<{child.tag}>")
            message = f"{what} inside a paragraph moved out of it, the paragraph split"
            repairs.append(Repair(message, f"<{child.tag}"))
            tail, child.tail = child.tail, None
            if _has_content(current):
                pieces.append(current)
            pieces.append(child)
            current = _empty_like(paragraph, keep_id=not any(p.tag == "p" for p in pieces))
            current.text = tail
        else:
            current.append(child)
    if _has_content(current):
        pieces.append(current)
    if pieces:
        pieces[-1].tail = paragraph.tail
    index = parent.index(paragraph)
    parent.remove(paragraph)
    for offset, piece in enumerate(pieces):
        parent.insert(index + offset, piece)


def _empty_like(element: html.HtmlElement, keep_id: bool) -> html.HtmlElement:
    attributes = {k: v for k, v in element.attrib.items() if keep_id or k != "id"}
    made: html.HtmlElement = html.Element(element.tag, attributes)
    return made


def _has_content(element: etree._Element) -> bool:
    return bool((element.text or "").strip()) or len(element) > 0


def _lists(root: html.HtmlElement, repairs: list[Repair]) -> None:
    """Items in their lists, and nothing but items in a list."""
    for element in list(root.iter("li", "dt", "dd")):
        parent = element.getparent()
        if parent is None:
            continue
        wanted = _LISTS if element.tag == "li" else {"dl"}
        if parent.tag not in wanted:
            _wrap_run(element, "ul" if element.tag == "li" else "dl", repairs)
    for element in list(root.iter("ul", "ol")):
        _only_items(element, repairs)


def _wrap_run(first: html.HtmlElement, tag: str, repairs: list[Repair]) -> None:
    """`first` and the items of its kind right after it put in a new `<tag>`."""
    kinds = {"li"} if tag == "ul" else {"dt", "dd"}
    parent = first.getparent()
    assert parent is not None
    run = [first]
    node = first
    while (node.tail or "").strip() == "":
        following = node.getnext()
        if following is None or following.tag not in kinds:
            break
        run.append(following)
        node = following
    what = "list item" if tag == "ul" else f"<{first.tag}>"
    repairs.append(Repair(f"{what} outside a list put in a <{tag}>", f"<{first.tag}"))
    wrapper: html.HtmlElement = html.Element(tag)
    wrapper.tail = run[-1].tail
    parent.insert(parent.index(first), wrapper)
    for item in run:
        item.tail = None
        wrapper.append(item)


def _only_items(listing: html.HtmlElement, repairs: list[Repair]) -> None:
    """What a `<ul>` or `<ol>` holds between its items goes into the item before it."""
    stray = bool((listing.text or "").strip()) or any(
        c.tag != "li" or (c.tail or "").strip() for c in listing
    )
    if not stray:
        return
    message = f"content of a <{listing.tag}> outside its items put in a list item"
    repairs.append(Repair(message, f"<{listing.tag}"))
    item: html.HtmlElement | None = None
    text = listing.text
    listing.text = None
    if (text or "").strip():
        item = html.Element("li")
        item.text = text
        listing.insert(0, item)
    for child in list(listing):
        if child is item:
            continue
        if child.tag == "li":
            item = child
            tail, child.tail = child.tail, None
            if (tail or "").strip():
                _append_text(item, tail or "")
            continue
        if item is None:
            item = html.Element("li")
            listing.insert(listing.index(child), item)
        item.append(child)  # its tail comes with it


def _append_text(element: etree._Element, text: str) -> None:
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


def _cells_and_terms(root: html.HtmlElement, repairs: list[Repair]) -> None:
    """A table header cell or a term holds no heading and no section."""
    for container in list(root.iter("th", "dt")):
        for element in list(_elements(container)):
            if element.tag in _HEADINGS or element.tag == "section":
                where = "a table header cell" if container.tag == "th" else "a term"
                message = f"<{element.tag}> inside {where} unwrapped: its text kept"
                repairs.append(Repair(message, f"<{element.tag}"))
                element.drop_tag()


def _rows(root: html.HtmlElement, repairs: list[Repair]) -> None:
    """A table row with no cells is dropped."""
    for row in list(root.iter("tr")):
        if not any(child.tag in ("td", "th") for child in row):
            repairs.append(Repair("a table row with no cells removed", "<tr"))
            _remove_keeping_tail(row)


def _captions(root: html.HtmlElement, repairs: list[Repair]) -> None:
    """A figure caption is the first or last thing in a figure; elsewhere it is a <div>."""
    for caption in list(root.iter("figcaption")):
        parent = caption.getparent()
        children = [c for c in parent if isinstance(c.tag, str)] if parent is not None else []
        ends = children[:1] + children[-1:]
        if parent is None or parent.tag != "figure" or not any(c is caption for c in ends):
            where = "outside a figure" if parent is None or parent.tag != "figure" else "mid-figure"
            repairs.append(Repair(f"<figcaption> {where} made a <div>", "<figcaption"))
            caption.tag = "div"


# Attributes: values their element allows


def _integer(low: int, high: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        text = value.strip()
        return bool(re.fullmatch(r"-?[0-9]+", text)) and low <= int(text) <= high

    return check


def _one_of(*values: str) -> Callable[[str], bool]:
    return lambda value: value.strip().lower() in values


_VALUES: dict[tuple[str, str], Callable[[str], bool]] = {
    ("*", "dir"): _one_of("ltr", "rtl", "auto"),
    ("*", "lang"): lambda value: not value.strip() or _language(value),
    ("ol", "type"): lambda value: value in ("1", "a", "A", "i", "I"),
    ("ol", "start"): _integer(-(2**31), 2**31 - 1),
    ("ol", "reversed"): _one_of("", "reversed"),
    ("td", "colspan"): _integer(1, 1000),
    ("th", "colspan"): _integer(1, 1000),
    ("td", "rowspan"): _integer(0, 65534),
    ("th", "rowspan"): _integer(0, 65534),
    ("th", "scope"): _one_of("row", "col", "rowgroup", "colgroup"),
    ("col", "span"): _integer(1, 1000),
    ("img", "width"): _integer(0, 2**31 - 1),
    ("img", "height"): _integer(0, 2**31 - 1),
}


# What `_attributes` checks: a URL, and what `_VALUES` names.
_CHECKED = frozenset({"href", "cite"} | {name for _, name in _VALUES})


def _language(value: str) -> bool:
    from make_book.source.schema import valid_language  # schema imports markup, which us

    return valid_language(value)


def _attributes(element: html.HtmlElement, repairs: list[Repair], essay: bool) -> None:
    tag = element.tag
    for name, value in list(element.attrib.items()):
        if tag == "a" and name == "href" or name == "cite":
            if not (essay and value.startswith("#")):  # fragment.py makes it an id's
                _url(element, name, value, repairs)
            continue
        check = _VALUES.get((tag, name)) or _VALUES.get(("*", name))
        if check is not None and not check(value):
            message = f'{name}="{value}" removed from <{tag}>: not a value it may have'
            repairs.append(Repair(message, f'{name}="{value}'))
            del element.attrib[name]


def _url(element: html.HtmlElement, name: str, value: str, repairs: list[Repair]) -> None:
    written, why = normal_url(value)
    if not why:
        if written != value:
            element.set(name, written)
        return
    url = value.strip()
    if name == "href":
        repairs.append(Repair(f"link '{shown(url)}': {why}", url, refused=True, url=url))
    else:  # a quotation's source, which no reader sees: not worth refusing the essay
        message = f"{name} '{shown(url)}' removed from <{element.tag}>: {why}"
        repairs.append(Repair(message, url, url=url))
        del element.attrib[name]


_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]")


def shown(value: str) -> str:
    """A URL as a one-line message quotes it: cut at 60 characters, what cannot be seen
    escaped (as essay_files.shown does)."""
    text = _UNSEEN.sub(_escape, value)
    return text if len(text) <= 60 else text[:60] + "…"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def written_in(source: str, url: str) -> str | None:
    """How `source` spells `url` (the first place it does), or None: its characters may be
    written there percent-encoded or not, as character references, or behind Markdown's
    backslash escapes (`/bar\\*` is `/bar*`)."""
    decoded = unquote(url)[:200]
    if not decoded.strip():
        return None
    # Each character matches its own spellings only: one pattern for a run of any
    # percent-escapes would let the runs split in exponentially many ways (and match
    # another link's escapes).
    parts = [_spellings(char) for char in decoded]
    match = re.search("".join(parts), source)
    return match.group() if match else None


@functools.lru_cache(maxsize=1024)
def _spellings(char: str) -> str:
    """A pattern for `char` as a source may write it in a URL: itself (ASCII punctuation
    maybe behind a backslash, any space as any run of spaces), percent-encoded as UTF-8
    (either case of hex), or as a character reference."""
    itself = re.escape(char)
    if char.isspace():
        itself = r"\s+"
    elif char.isascii() and not char.isalnum():
        itself = rf"\\?{itself}"
    options = [itself, f"&#0*{ord(char)};", f"&#[xX]0*{ord(char):x};"]
    encoded = quote(char, safe="")
    if encoded != char:
        options.append(f"(?i:{re.escape(encoded)})")
    options += [f"&{re.escape(name)}" for name in _ENTITY_NAMES.get(char, ())]
    return "(?:" + "|".join(options) + ")"


_ENTITY_NAMES: dict[str, list[str]] = {}
for _name, _value in html5.items():
    if _name.endswith(";") and len(_value) == 1:
        _ENTITY_NAMES.setdefault(_value, []).append(_name)


# URLs

# The characters the URL standard lets a URL hold as they are (its "URL code points"),
# past the scheme: the rest is percent-encoded, as the standard's parser would.
_URL_CODE_POINTS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$&'()*+,-./:;=?@_~"
)
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_SPACES = " \t\n\r\f"  # what HTML allows around a URL
_SPECIAL = frozenset({"http", "https"})
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?")
_BACKSLASH = "a backslash has no place in a URL: write / between folders, or %5C for a backslash"
ABSOLUTE_PATH = (
    "a path from a site's root, and a book has none (an EPUB or a PDF is on no web"
    " server): link to an essay by its path from this one, or give a full address (https://…)"
)


def normal_url(value: str) -> tuple[str, str]:
    """The URL as it may be written (percent-encoded where it must be), and "", or "" and
    why it is refused. Relative paths are left to source/references.py."""
    url = re.sub("[\t\n\r]", "", value.strip(_SPACES))  # as browsers read it
    if "\\" in url:
        return "", _BACKSLASH
    if url.startswith("//"):
        return "", "no scheme: write the whole address, https://…"
    scheme = scheme_of(url)
    if not scheme and url.startswith("/") or len(scheme) == 1:  # C:/x is a drive
        return "", ABSOLUTE_PATH
    if any(ord(c) < 0x20 or c == "\x7f" for c in url):
        return "", "holds a control character"
    rest = url
    if scheme in _SPECIAL:
        after = url[len(scheme) + 1 :]
        if not after.startswith("//"):
            return "", f"write {scheme}:// before the host"
        authority, rest = re.match(r"//([^/?#]*)(.*)", after, re.S).groups()  # type: ignore[union-attr]
        problem = _authority_problem(authority)
        if problem:
            return "", problem
        head = f"{url[: len(scheme)]}://{authority}"
        return head + _encoded(rest), ""
    head = url[: len(scheme) + 1] if scheme else ""
    return head + _encoded(url[len(head) :]), ""


def _encoded(text: str) -> str:
    """`text` with what a URL's path, query and fragment may not hold percent-encoded."""
    out: list[str] = []
    fragment = False
    at = 0
    while at < len(text):
        char = text[at]
        if char == "%" and _ESCAPE.match(text, at):
            out.append(text[at : at + 3])
            at += 3
            continue
        if char == "#" and not fragment:
            fragment = True
            out.append(char)
        elif char in _URL_CODE_POINTS or _non_ascii_code_point(char):
            out.append(char)
        else:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
        at += 1
    return "".join(out)


def _non_ascii_code_point(char: str) -> bool:
    code = ord(char)
    if code < 0xA0 or 0xD800 <= code <= 0xDFFF or 0xFDD0 <= code <= 0xFDEF:
        return False
    return (code & 0xFFFE) != 0xFFFE


def _authority_problem(authority: str) -> str:
    """Why a host (with its port) is not one a URL may name ("" if it is)."""
    if "@" in authority:
        return "a user name or password in an address is not allowed"
    host, port = authority, ""
    if not authority.startswith("["):
        host, _, port = authority.partition(":")
    elif "]" in authority:
        end = authority.index("]") + 1
        host, port = authority[:end], authority[end:].removeprefix(":")
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return "not a valid IPv6 address"
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        return f"':{port}' is not a port"
    if host.startswith("["):
        return ""
    return _domain_problem(host)


def _domain_problem(host: str) -> str:
    if not host:
        return "no host"
    labels = host.lower().split(".")
    if labels[-1] == "" and len(labels) > 1:  # a final dot: example.com.
        labels = labels[:-1]
    for label in labels:
        if not label:
            return "an empty name between dots in the host"
        try:
            ascii_label = label.encode("idna").decode("ascii") if not label.isascii() else label
        except UnicodeError:
            return f"'{label}' is not a name a host may have"
        if not _LABEL.fullmatch(ascii_label):
            return f"'{label}' is not a name a host may have"
    if labels[-1].isdigit() or labels[-1].startswith("0x"):  # an IPv4 address
        try:
            ipaddress.IPv4Address(".".join(labels))
        except ValueError:
            return "not a valid IPv4 address"
    return ""

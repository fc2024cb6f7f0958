"""Turning essay sources (Markdown, plain text, HTML) into safe HTML fragments.

markdown-it-py does CommonMark, footnotes, tables and smart typography; nh3
(the Rust `ammonia` sanitizer) keeps a documented safe subset of raw HTML.
Before sanitizing, the HTML is read once more (`_scan`) to say what the
sanitizer will drop (a warning each) and to refuse what asks for a file or
a URL to be loaded, which the sanitizer alone would drop without a word.
What comes out is an unprocessed fragment: ids, notes and headings are
made an essay body later by `fragment.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import nh3
from lxml import etree, html
from markdown_it import MarkdownIt
from markdown_it.parser_block import ParserBlock
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin

from make_book.source.structure import Repair, repair
from make_book.url_reach import REACH_REASONS as REACH_REASONS
from make_book.url_reach import reach as reach
from make_book.url_reach import scheme_of
from make_book.xhtml import parse_fragment, to_xhtml

MARKDOWN_SUFFIXES = (".md", ".markdown")
TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")

# Limits that keep the work of one essay in proportion to its size (README, "Safe with
# hostile input"): smart quotes cost the square of a paragraph's length, the sanitizer
# the depth of nesting times the number of tags, and the PDF's layout its boxes.
MAX_PARAGRAPH = 30_000  # characters: some 5,000 words, ten printed pages
MAX_NESTING = 100  # levels of HTML elements
MAX_MARKDOWN_NESTING = 20  # markdown-it's own default, which guards its recursion
MAX_ELEMENTS = 30_000  # HTML elements in one essay, its notes included
MAX_FOOTNOTES = 3_000  # in one essay: WeasyPrint's footnote layout grows faster than linearly

# Quotation marks by language: primary open/close, then secondary.
_QUOTES: dict[str, Sequence[str]] = {
    "en": "“”‘’",
    "de": "„“‚‘",
    "fr": ["«\u202f", "\u202f»", "‹\u202f", "\u202f›"],
    "es": "«»“”",
    "it": "«»“”",
    "pt": "«»“”",
    "ru": "«»„“",
    "pl": "„”‚’",
    "cs": "„“‚‘",
    "nl": "“”‘’",
    "sv": "””’’",
    "da": "»«›‹",
    "fi": "””’’",
}


def quotes_for(language: str) -> Sequence[str]:
    """Typographic quotes for a BCP 47 language tag (English ones when unknown)."""
    return _QUOTES.get(language.split("-")[0].lower(), _QUOTES["en"])


@lru_cache(maxsize=16)
def _markdown(language: str) -> MarkdownIt:
    options = {
        "typographer": True,
        "quotes": quotes_for(language),
        "maxNesting": MAX_MARKDOWN_NESTING,
    }
    md = _EveryLink("commonmark", options)
    md.enable(["replacements", "smartquotes", "table", "strikethrough"])
    md.use(footnote_plugin).use(container_plugin, "verse").use(anchors_plugin, max_level=6)
    # `[the last scene](other.md#the-last-scene){.page-ref}`: a class after a link only
    # (a page reference, source/references.py); nothing else of Pandoc's attributes.
    md.use(attrs_plugin, after=("link_close",), allowed=("class",))
    md.core.ruler.before("smartquotes", "paragraph_limit", _refuse_long_paragraphs)
    md.core.ruler.before("footnote_tail", "lost_footnotes", _tell_lost_footnotes)
    md.core.ruler.push("verse_line_breaks", _keep_verse_lines)
    return md


class _EveryLink(MarkdownIt):
    """markdown-it leaves `![](file:///x)` or `[a](javascript:x)` as literal text; here
    every link and image becomes markup, so the image checks and the sanitizer judge
    it, and the author hears why it is gone instead of seeing the raw text printed.
    Its blocks are nested no deeper than it keeps (`_NoDeeperThanKept`)."""

    def __init__(self, config: str, options: dict[str, object]) -> None:
        super().__init__(config, options)
        blocks = _NoDeeperThanKept()
        blocks.ruler = self.block.ruler  # the preset's rules, as configured
        self.block = blocks

    def validateLink(self, url: str) -> bool:  # noqa: N802 - markdown-it's name
        """Accept every URL (see the class)."""
        return True


class _NestedTooDeep(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__(f"nested too deep at {line}:{column}")
        self.line, self.column = line, column


class _NoDeeperThanKept(ParserBlock):
    """markdown-it drops, without a word, everything nested deeper than its `maxNesting`
    (a block quote takes one level, a list item two): the rest of the essay, with
    10,000 `>`. Here reaching that depth with text still to read stops the conversion."""

    def tokenize(self, state: StateBlock, startLine: int, endLine: int) -> None:  # noqa: N803
        """Refuse what the parser would skip, then tokenize as markdown-it does."""
        line = state.skipEmptyLines(startLine)
        # The three tests that open markdown-it's own loop: text left, in this block, too deep.
        within = line < endLine and state.sCount[line] >= state.blkIndent
        if within and state.level >= state.md.options.maxNesting:
            at = state.bMarks[line] + state.tShift[line]
            column = at - (state.src.rfind("\n", 0, at) + 1) + 1
            raise _NestedTooDeep(line + 1, column)
        super().tokenize(state, startLine, endLine)


def _nested_too_deep(deep: _NestedTooDeep) -> Finding:
    message = (
        f"Markdown nested more than {MAX_MARKDOWN_NESTING - 1} levels deep (a block quote"
        " counts one, a list two); the parser drops the rest: break it up"
    )
    return Finding(message, refused=True, line=deep.line, column=deep.column)


class _ParagraphTooLong(Exception):
    def __init__(self, line: int | None, length: int) -> None:
        super().__init__(f"a paragraph of {length:,} characters")
        self.line = line
        self.length = length


def _refuse_long_paragraphs(state: StateCore) -> None:
    """Stop before smart quotes, whose cost grows with the square of a paragraph."""
    for token in state.tokens:
        if token.type == "inline" and len(token.content) > MAX_PARAGRAPH:
            line = token.map[0] + 1 if token.map else None
            raise _ParagraphTooLong(line, len(token.content))


_TOLD = "make_book_findings"  # where a core rule leaves its findings, in the render's env


def _tell_lost_footnotes(state: StateCore) -> None:
    """The footnote plugin leaves out, without a word, a definition no text cites and
    every definition of a label but the last: a warning each, at the definition."""
    notes = state.env.get("footnotes", {})
    cited = {note.get("label") for note in notes.get("list", {}).values()}
    definitions = [t for t in state.tokens if t.type == "footnote_reference_open" and t.map]
    last = {token.meta["label"]: token for token in definitions}
    lines = state.src.split("\n")
    for token in definitions:
        label, line = token.meta["label"], token.map[0] if token.map else 0
        if last[label] is not token:
            why = "is defined again further on, and only the last definition is kept"
        elif label not in cited:
            why = "is never cited, so its text is left out"
        else:
            continue
        column = lines[line].find(f"[^{label}]:") + 1 or None
        finding = Finding(f"footnote [^{label}] {why}", line=line + 1, column=column)
        state.env.setdefault(_TOLD, []).append(finding)


@lru_cache(maxsize=16)
def _typographer(language: str) -> MarkdownIt:
    """Smart quotes, dashes and ellipses, and nothing else of Markdown."""
    options = {"typographer": True, "quotes": quotes_for(language)}
    return MarkdownIt("zero", options).enable(["replacements", "smartquotes"])


def _keep_verse_lines(state: StateCore) -> None:
    """Inside `::: verse`, every source line break is a line break on the page."""
    depth = 0
    for token in state.tokens:
        if token.type == "container_verse_open":
            depth += 1
        elif token.type == "container_verse_close":
            depth -= 1
        elif depth and token.type == "inline":
            for child in token.children or []:
                if child.type == "softbreak":
                    child.type = "hardbreak"


# What a conversion found


@dataclass(frozen=True)
class Finding:
    """Something in an essay's markup that was removed (a warning) or is refused (an error)."""

    message: str
    refused: bool = False
    needle: str = ""  # text that locates it in the source, when `line` does not
    line: int | None = None  # 1-based, in the text that was converted
    column: int | None = None  # 1-based, with `line`


@dataclass(frozen=True)
class Converted:
    """A sanitized fragment, what the conversion found, and the images it shows."""

    html: str
    findings: tuple[Finding, ...] = ()
    images: tuple[str, ...] = ()  # every <img src>, as written (before sanitizing)
    start: int = 0  # where in the source the converted text begins (a document's <body>)


# Essays


def markdown_essay(text: str, language: str) -> Converted:
    """An essay in CommonMark with footnotes, tables, verse and smart typography."""
    told: dict[str, list[Finding]] = {}
    try:
        rendered = _markdown(language).render(text, told)
    except _ParagraphTooLong as long:
        return Converted("", (_too_long(long.length, long.line),))
    except _NestedTooDeep as deep:
        return Converted("", (_nested_too_deep(deep),))
    checked = _checked(rendered, _SAFE_TAGS, source=text)
    return replace(checked, findings=checked.findings + tuple(told.get(_TOLD, [])))


def text_essay(text: str, language: str) -> Converted:
    """Plain text: one paragraph per line, or per blank-line block when lines are wrapped."""
    paragraphs = _paragraphs(text)
    refused = [_too_long(len(p), line) for line, p in paragraphs if len(p) > MAX_PARAGRAPH]
    if len(paragraphs) > MAX_ELEMENTS:
        refused.append(_too_many(len(paragraphs)))
    if refused:
        return Converted("", tuple(refused))
    typographer = _typographer(language)
    # The zero preset has no HTML rule: markup in the text is escaped, never interpreted.
    parts = [typographer.renderInline(_NOT_IN_XML.sub("", p)) for _, p in paragraphs]
    return Converted("".join(f"<p>{p}</p>\n" for p in parts))


def html_essay(text: str) -> Converted:
    """An HTML or XHTML fragment, or a whole document whose <body> is taken."""
    start, end = _body_of(text)
    return replace(_checked(text[start:end], _SAFE_TAGS), start=start)


def _too_long(length: int, line: int | None) -> Finding:
    message = (
        f"a paragraph of {length:,} characters; a paragraph may have at most"
        f" {MAX_PARAGRAPH:,}: break it with blank lines"
    )
    return Finding(message, refused=True, line=line)


def _too_many(count: int) -> Finding:
    message = (
        f"{count:,} HTML elements (paragraphs, line breaks, table cells, notes…);"
        f" an essay may have at most {MAX_ELEMENTS:,}: split it into several essays"
    )
    return Finding(message, refused=True)


def _paragraphs(text: str) -> list[tuple[int, str]]:
    """(first line, paragraph) for each paragraph of a plain text."""
    lines = [line.strip() for line in text.splitlines()]
    if max((len(line) for line in lines), default=0) > 100:  # unwrapped prose
        return [(number, line) for number, line in enumerate(lines, 1) if line]
    found: list[tuple[int, str]] = []
    block: list[str] = []
    for number, line in enumerate([*lines, ""], 1):
        if line:
            block.append(line)
        elif block:
            found.append((number - len(block), " ".join(" ".join(block).split())))
            block = []
    return found


_BODY_OPEN = re.compile(r"<body(?=[\s/>])", re.I)
_BODY_CLOSE = re.compile(r"</body\s*>", re.I)


def _body_of(text: str) -> tuple[int, int]:
    """Where the content of a document's <body> starts and ends (a fragment: all of it).

    Found with plain searches, not one regular expression: `<body[^>]*>(.*)</body>`
    backtracks over the whole text at every `<body`, which a hostile file repeats.
    """
    opening = _BODY_OPEN.search(text)
    start = text.find(">", opening.end()) + 1 if opening else 0
    if start == 0:
        return 0, len(text)
    # The last </body>: nested documents are not a thing, a stray early one is.
    closings = [match.start() for match in _BODY_CLOSE.finditer(text, start)]
    return start, closings[-1] if closings else len(text)


# Titles, names, bios, epigraphs, dedications: no images, and what is removed is told


def markdown_metadata(text: str, language: str, inline: bool = False) -> Converted:
    """Front or back matter text: Markdown without images (inline: no paragraph around it)."""
    md = _markdown(language)
    try:
        rendered = md.renderInline(text.strip()) if inline else md.render(text)
    except _ParagraphTooLong as long:
        return Converted("", (_too_long(long.length, long.line),))
    except _NestedTooDeep as deep:
        return Converted("", (_nested_too_deep(deep),))
    checked = _checked(rendered, _METADATA_TAGS, inline=inline, essay=False, source=text)
    removed = tuple(
        Finding(f"image '{src}' removed: images belong in the text of an essay", needle=src)
        for src in dict.fromkeys(checked.images)
    )
    html = checked.html.strip() if inline else checked.html
    return Converted(html, checked.findings + removed)


def markdown_to_html(text: str, language: str) -> str:
    """Markdown metadata (a bio, an epigraph, a dedication, a back cover) as HTML."""
    return markdown_metadata(text, language).html


def inline_markdown(text: str, language: str) -> str:
    """A title or a name: inline Markdown (emphasis, quotes), no paragraph around it."""
    return markdown_metadata(text, language, inline=True).html


def text_to_html(text: str, language: str) -> str:
    """Plain text as paragraphs, with smart typography (see `text_essay`)."""
    return text_essay(text, language).html


def html_to_html(text: str) -> str:
    """An HTML fragment or document, sanitized (see `html_essay`)."""
    return html_essay(text).html


# Sanitizing

_SAFE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
    "dd", "del", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
    "samp", "section", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul", "var",
})  # fmt: skip
_METADATA_TAGS = _SAFE_TAGS - {"img"}
_SAFE_ATTRIBUTES = {
    "*": {"id", "class", "lang", "title", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start", "reversed", "type"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
_LINK_SCHEMES = {"http", "https", "mailto"}
# Dropped with everything inside. <noscript> is text to one HTML parser and markup to
# another, the classic way to smuggle an element past a sanitizer: none of it is kept.
_DROPPED_WITH_CONTENT = {"script", "style", "noscript", "template"}


def _sanitized(
    fragment: str, tags: frozenset[str], inline: bool = False, essay: bool = True
) -> tuple[str, list[Repair]]:
    """The sanitized fragment made valid XHTML (source/structure.py), and what that
    repaired or refuses."""
    cleaned = nh3.clean(
        fragment,
        tags=set(tags),
        clean_content_tags=_DROPPED_WITH_CONTENT,
        attributes=_SAFE_ATTRIBUTES,
        url_schemes=_LINK_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )
    # U+2028/U+2029 are line and paragraph separators that WeasyPrint 70 cannot break
    # lines around (an assertion fails): they read as spaces.
    kept = _NOT_IN_XML.sub("", cleaned)
    kept = kept.replace("\u2028", " ").replace("\u2029", " ")  # not translate: slow
    if not kept.strip():
        return "", []
    holder = parse_fragment(kept)
    repairs = repair(holder, inline=inline, essay=essay)
    return to_xhtml(holder).strip(), repairs


def _checked(
    fragment: str,
    tags: frozenset[str],
    inline: bool = False,
    essay: bool = True,
    source: str | None = None,
) -> Converted:
    """Scan, then sanitize unless the scan refused the fragment's structure; a URL is
    quoted as `source` spells it (default: the fragment)."""
    if source is None:
        source = fragment
    scan = _Scan(fragment)
    if scan.too_big:
        return Converted("", tuple(scan.findings), tuple(scan.images))
    sanitized, repairs = _sanitized(fragment, tags, inline, essay)
    told = [r.as_written(source) for r in repairs]
    findings = scan.findings + [Finding(r.message, r.refused, r.needle) for r in told]
    first: dict[str, Finding] = {}  # one of each kind, at its first place (see _Scan)
    for finding in findings:
        first.setdefault(finding.message, finding)
    return Converted(sanitized, tuple(first.values()), tuple(scan.images))


# Reading raw HTML before the sanitizer does

# Elements the sanitizer drops that an author should hear about: active content, and
# what would fetch, submit or play something. Other tags outside the safe subset
# (<font>, <center>…) are unwrapped without a word, their text kept.
_ANNOUNCED = frozenset({
    "script", "noscript", "style", "link", "meta", "base", "iframe", "frame", "frameset",
    "object", "embed", "applet", "param", "portal", "form", "input", "button", "select",
    "option", "textarea", "fieldset", "legend", "datalist", "output", "keygen", "svg",
    "math", "template", "audio", "video", "source", "track", "canvas", "dialog",
})  # fmt: skip
# Characters XML 1.0 does not allow, which the sanitizer lets through (written, or as
# &#x1b;): lxml refuses them and an EPUB holding one is not well-formed. Dropped.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CSS_LOAD = re.compile(r"(url\s*\(|@import\s*(?:url\s*\()?)\s*['\"]?([^'\")\s;]*)", re.I)


class _Scan:
    """Everything in a fragment that the sanitizer will drop or that would load a file."""

    def __init__(self, fragment: str) -> None:
        self.findings: list[Finding] = []
        self.images: list[str] = []
        self.too_big = False
        root = _parse(_NOT_IN_XML.sub(" ", fragment))
        if root is None:
            return
        depth, count = _depth_and_count(root)
        if depth > MAX_NESTING:  # lxml stops nesting at 255 levels: the depth is not told
            message = f"HTML nested more than {MAX_NESTING} levels deep; break it up"
            self.findings.append(Finding(message, refused=True))
        if count > MAX_ELEMENTS:
            self.findings.append(_too_many(count))
        self.too_big = bool(self.findings)
        if not self.too_big:
            for element in root.iter():
                if isinstance(element.tag, str):
                    self.element(element)
        # One finding of each kind, at its first place: a page of pasted HTML with a
        # hundred handlers needs one warning, not a hundred.
        first: dict[str, Finding] = {}
        for finding in self.findings:
            first.setdefault(finding.message, finding)
        self.findings = list(first.values())

    def element(self, element: html.HtmlElement) -> None:
        tag = element.tag.lower()
        refused = False
        if tag == "img":
            self.images.append(element.get("src", ""))
            self.srcset(element.get("srcset", ""))
        elif tag == "link":
            refused = self.link(element.get("href", ""))
        elif tag == "style":
            refused = self.css(element.text or "")
        if tag in _ANNOUNCED and not refused:
            self.findings.append(Finding(f"<{tag}> removed", needle=f"<{tag}"))
        for name, value in element.attrib.items():
            self.attribute(tag, name.lower(), value)

    def attribute(self, tag: str, name: str, value: str) -> None:
        if name.startswith("on"):
            self.findings.append(Finding(f"{name} attribute removed", needle=name))
        elif name == "style":
            self.css(value)
        elif name == "href" and tag == "a":
            scheme = scheme_of(value)
            if scheme and scheme not in _LINK_SCHEMES:
                self.findings.append(Finding(f"link to '{scheme}:' removed", needle=value))

    def link(self, href: str) -> bool:
        """Refuse a stylesheet (or font, or anything) from outside the book."""
        kind = reach(href)
        if kind in REACH_REASONS:
            message = f"<link href> '{href}': {REACH_REASONS[kind]}; {_STYLES_HINT}"
            self.findings.append(Finding(message, refused=True, needle=href))
        return kind in REACH_REASONS

    def srcset(self, srcset: str) -> None:
        for candidate in srcset.split(","):
            url = next(iter(candidate.split()), "")  # "big.png 2x": the URL, then a size
            kind = reach(url)
            if kind in REACH_REASONS:
                message = f"<img srcset> '{url}': {REACH_REASONS[kind]}; {_IMAGES_HINT}"
                self.findings.append(Finding(message, refused=True, needle=url))

    def css(self, css: str) -> bool:
        """Refuse any file CSS would load: an essay's styles load nothing."""
        loads = css_loads(css)
        for _, what, url in loads:
            reason = REACH_REASONS.get(reach(url), "an essay's CSS cannot load files")
            message = f"CSS {what} '{url}': {reason}; {_STYLES_HINT}"
            needle = url or what.rstrip(")")  # url() with nothing in it: find "url("
            self.findings.append(Finding(message, refused=True, needle=needle))
        return bool(loads)


def css_loads(css: str) -> list[tuple[int, str, str]]:
    """(offset, "url()" or "@import", URL) for each file a stylesheet would load.

    CSS escapes (`\\75 rl(`) are not decoded: what this misses the sanitizer still
    removes, and the PDF's fetcher still refuses; it only costs the author a message.
    """
    return [
        (match.start(), "@import" if match[1].startswith("@") else "url()", match[2])
        for match in _CSS_LOAD.finditer(css)
    ]


_STYLES_HINT = "put stylesheets and fonts in the book's styles/ folder"
_IMAGES_HINT = "put the file in the book folder"


def _parse(fragment: str) -> html.HtmlElement | None:
    """The fragment parsed inside a wrapper of known depth (`_WRAPPER`), or None when it
    holds nothing to parse. Not lxml's fragment_fromstring: it asserts on "<html>"."""
    if not fragment.strip():
        return None
    try:
        return html.document_fromstring(f"<html><body><div>{fragment}</div></body></html>")
    except (etree.ParserError, ValueError):  # nothing but a comment, say
        return None


_WRAPPER = 3  # html, body, div


def _depth_and_count(root: html.HtmlElement) -> tuple[int, int]:
    """The deepest nesting of the fragment's elements, and how many there are."""
    depth = deepest = count = 0
    for event, _ in _walk(root):
        if event == "start":
            depth, count = depth + 1, count + 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return max(deepest - _WRAPPER, 0), max(count - _WRAPPER, 0)


def _walk(root: html.HtmlElement) -> Iterator[tuple[str, etree._Element]]:
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if isinstance(element.tag, str):
            yield event, element

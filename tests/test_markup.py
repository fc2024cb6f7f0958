"""Essay sources (Markdown, plain text, HTML) to safe, well-formed HTML fragments."""

from __future__ import annotations

import pytest
from lxml import etree

from make_book.source import markup
from make_book.source.structure import ABSOLUTE_PATH


def as_xml(fragment: str) -> etree._Element:
    """The fragment parsed as XML inside a <div>: fails unless it is well-formed."""
    return etree.fromstring(f"<div>{fragment}</div>")


def texts(root: etree._Element, tag: str) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(tag)]


# Markdown: typography


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "<p>“Hello,” she said, ‘quietly’.</p>"),
        ("en-GB", "<p>“Hello,” she said, ‘quietly’.</p>"),
        ("de", "<p>„Hello,“ she said, ‚quietly‘.</p>"),
        ("de-CH", "<p>„Hello,“ she said, ‚quietly‘.</p>"),
        ("fr", "<p>«\u202fHello,\u202f» she said, ‹\u202fquietly\u202f›.</p>"),
        ("xx", "<p>“Hello,” she said, ‘quietly’.</p>"),  # unknown: English quotes
    ],
)
def test_smart_quotes_follow_the_language(language: str, expected: str) -> None:
    assert markup.markdown_to_html("\"Hello,\" she said, 'quietly'.", language) == expected


def test_dashes_and_ellipsis() -> None:
    html = markup.markdown_to_html("pages 10--12 -- and then --- silence...", "en")
    assert html == "<p>pages 10–12 – and then — silence…</p>"


def test_apostrophes_are_typographic() -> None:
    assert markup.markdown_to_html("It's Müller's café.", "en") == "<p>It’s Müller’s café.</p>"


def test_inline_markdown_has_no_paragraph() -> None:
    assert markup.inline_markdown('  Alpha: *An* "Essay"  ', "en") == "Alpha: <em>An</em> “Essay”"


# Markdown: structure


def test_tables() -> None:
    html = markup.markdown_to_html("| Year | Title |\n|---|---|\n| 1580 | Essais |\n", "en")
    root = as_xml(html)
    assert texts(root, "th") == ["Year", "Title"]
    assert texts(root, "td") == ["1580", "Essais"]
    assert root.find("table/thead") is not None and root.find("table/tbody") is not None


def test_footnote_markup() -> None:
    html = markup.markdown_to_html("Text.[^a] Again.[^a]\n\n[^a]: The *note*.\n", "en")
    root = as_xml(html)
    calls = root.xpath('//sup[@class="footnote-ref"]/a')
    assert len(calls) == 2
    assert {a.get("href") for a in calls} == {"#fn1"}
    (item,) = root.xpath('//section[@class="footnotes"]//li[@class="footnote-item"]')
    assert item.get("id") == "fn1"
    assert "".join(item.find("p").itertext()).startswith("The note.")
    assert item.find("p/em").text == "note"


def test_verse_keeps_line_breaks() -> None:
    html = markup.markdown_to_html("::: verse\nline one\nline two\nline three\n:::\n", "en")
    root = as_xml(html)
    (verse,) = root.xpath('//div[@class="verse"]')
    (para,) = verse.findall("p")
    assert len(para.findall("br")) == 2
    assert "<br/>" in html
    assert [t.strip() for t in para.itertext()] == ["line one", "line two", "line three"]


def test_outside_verse_soft_breaks_stay_soft() -> None:
    assert "<br" not in markup.markdown_to_html("line one\nline two\n", "en")


def test_headings_get_ids() -> None:
    html = markup.markdown_to_html("# A Title\n\n## Notes\n\n## Notes\n", "en")
    assert [h.get("id") for h in as_xml(html).iter("h1", "h2")] == ["a-title", "notes", "notes-1"]


# Markdown: sanitizing


DIRTY = """\
<script>alert("x")</script>

<p onclick="steal()" style="color: red">Hi <a href="javascript:alert(1)">bad</a>
and <a href="https://example.org/" onmouseover="x()">good</a>.</p>

<iframe src="https://example.com/"></iframe>

<form action="/post"><input name="q"><button>Go</button></form>

<img src="a.png" onerror="evil()" alt="A">

<object data="x.swf"></object><embed src="y.swf"><style>p { color: red }</style>

[markdown link](javascript:alert(2))
"""


def test_unsafe_html_is_removed() -> None:
    converted = markup.markdown_essay(DIRTY, "en")
    html = converted.html
    root = as_xml(html)
    lowered = html.lower()
    for bad in ("<script", "alert(\"x\")", "onclick", "onmouseover", "onerror", "<iframe",
                "<form", "<input", "<button", "<object", "<embed", "<style", "style=",
                'href="javascript'):  # fmt: skip
        assert bad not in lowered, bad
    links = {a.text: a.get("href") for a in root.iter("a")}
    assert links == {"bad": None, "good": "https://example.org/", "markdown link": None}
    assert [img.get("alt") for img in root.iter("img")] == ["A"]
    assert "Hi" in html
    assert [(f.message, f.refused) for f in converted.findings] == [
        ("<script> removed", False),
        ("onclick attribute removed", False),
        ("link to 'javascript:' removed", False),
        ("onmouseover attribute removed", False),
        ("<iframe> removed", False),
        ("<form> removed", False),
        ("<input> removed", False),
        ("<button> removed", False),
        ("onerror attribute removed", False),
        ("<object> removed", False),
        ("<embed> removed", False),
        ("<style> removed", False),
    ]
    assert converted.images == ("a.png",)


def test_safe_html_in_markdown_is_kept() -> None:
    html = markup.markdown_to_html(
        "Some <b>bold</b>, <sup>2</sup> & <abbr title='x'>ab</abbr>", "en"
    )
    assert html == '<p>Some <b>bold</b>, <sup>2</sup> &amp; <abbr title="x">ab</abbr></p>'


def test_entities_and_void_elements_come_out_as_xml() -> None:
    html = markup.markdown_to_html("A&nbsp;B &copy; &mdash;<br> <img src='a.png'> <hr>", "en")
    root = as_xml(html)
    assert "A\u00a0B © —" in "".join(root.itertext())
    assert "&nbsp;" not in html and "&copy;" not in html


def test_unclosed_html_is_repaired() -> None:
    html = markup.markdown_to_html("x <span>y <div><p>unclosed <em>em", "en")
    as_xml(html)


# Plain text


LONG = "word " * 25  # 125 characters: an unwrapped paragraph


def test_plain_text_long_lines_are_paragraphs() -> None:
    html = markup.text_to_html(f"{LONG}\n{LONG}\n\n{LONG}\n", "en")
    assert [p.strip() for p in texts(as_xml(html), "p")] == [LONG.strip()] * 3


def test_plain_text_wrapped_blocks_are_paragraphs() -> None:
    text = "A paragraph wrapped\nby hand at a modest\nwidth.\n\n  Second block\n  indented.\n\n\n"
    html = markup.text_to_html(text, "en")
    assert html == (
        "<p>A paragraph wrapped by hand at a modest width.</p>\n<p>Second block indented.</p>\n"
    )


def test_plain_text_markup_is_escaped_and_typography_applied() -> None:
    html = markup.text_to_html('Some <b>bold</b> & "quotes" -- *stars* ...\n', "en")
    assert html == "<p>Some &lt;b&gt;bold&lt;/b&gt; &amp; “quotes” – *stars* …</p>\n"
    root = as_xml(html)
    assert root.find(".//b") is None
    assert "<b>bold</b>" in "".join(root.itertext())


def test_plain_text_quotes_follow_the_language() -> None:
    assert markup.text_to_html('"Ja"', "de") == "<p>„Ja“</p>\n"


def test_plain_text_script_stays_text() -> None:
    html = markup.text_to_html("<script>alert(1)</script>", "en")
    assert "<script" not in html
    assert "".join(as_xml(html).itertext()).strip() == "<script>alert(1)</script>"


# HTML fragments


FULL_DOCUMENT = """\
<!DOCTYPE html>
<html><head><title>Ignored</title><script>alert(1)</script>
<style>body { color: red }</style></head>
<body class="page" onload="go()">
<h1>From HTML</h1>
<p onclick="steal()">Body &amp; <b>bold</b><br>
<a href="javascript:alert(1)">bad</a> <a href="#part2">good</a></p>
<iframe src="https://example.com/"></iframe>
<form><input name="x"></form>
<h2 id="part2">Part two</h2>
<script>evil()</script>
</body></html>
"""


def test_html_document_body_is_taken_and_sanitized() -> None:
    html = markup.html_to_html(FULL_DOCUMENT)
    root = as_xml(html)
    assert root.find("h1").text == "From HTML"
    for bad in ("Ignored", "<title", "<script", "alert", "evil", "<style", "onclick",
                "onload", "<iframe", "<form", "<input", "<body", "<html", "<head"):  # fmt: skip
        assert bad not in html, bad
    assert {a.text: a.get("href") for a in root.iter("a")} == {"bad": None, "good": "#part2"}
    assert root.find("h2").get("id") == "part2"


def test_html_fragment_without_body_is_sanitized() -> None:
    html = markup.html_to_html('<p>x <img src="x.png" onerror="e()" alt="X"></p><style>p{}</style>')
    assert html == '<p>x <img src="x.png" alt="X"/></p>'


def test_html_upper_case_body() -> None:
    assert markup.html_to_html("<HTML><BODY><P>Upper</P></BODY></HTML>") == "<p>Upper</p>"


# Well-formedness


@pytest.mark.parametrize(
    "fragment",
    [
        markup.markdown_to_html(DIRTY, "en"),
        markup.markdown_to_html("Text.[^1]\n\n[^1]: Note with <i>html</i> & more.\n", "fr"),
        markup.markdown_to_html("::: verse\nÁ\nБ\nἈθῆναι\n:::\n\n| a |\n|---|\n| <br> |\n", "de"),
        markup.markdown_to_html("Control\x0bcharacters\x01 here", "en"),
        markup.text_to_html("a < b && c > d\n\x0c\n", "en"),
        markup.html_to_html(FULL_DOCUMENT),
        markup.html_to_html("<p>unclosed <b>bold <i>and</p> <br> <hr> &eacute;"),
    ],
    ids=["dirty-md", "notes-md", "verse-table", "control-chars", "text", "html-doc", "bad-html"],
)
def test_output_is_well_formed_xml(fragment: str) -> None:
    as_xml(fragment)


# Limits of Markdown's parser: what it would drop is refused, or told


def refused(converted: markup.Converted) -> list[tuple[int | None, int | None]]:
    return [(f.line, f.column) for f in converted.findings if f.refused]


def test_nesting_the_parser_keeps_builds() -> None:
    lists = "".join("  " * level + f"- level {level + 1}\n" for level in range(9))
    quotes = "".join(">" * level + f" level {level}\n" for level in range(1, 20))
    for text in (lists, quotes):
        converted = markup.markdown_essay(text, "en")
        assert converted.findings == () and "level 9" in converted.html


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("".join("  " * level + f"- level {level + 1}\n" for level in range(30)), (10, 21)),
        ("".join(">" * level + f" level {level}\n" for level in range(1, 31)), (20, 22)),
        ("# Title\n\n" + "> " * 25 + "deep\n", (3, 41)),
        (">" * 10_000 + " deep\n", (1, 21)),
        ("Text.[^1]\n\n[^1]: " + "> " * 25 + "deep\n", (3, 45)),
    ],
    ids=["lists", "block-quotes", "quotes-on-one-line", "10000-quotes", "in-a-footnote"],
)
def test_nesting_past_the_parser_is_refused_where_it_starts(
    text: str, place: tuple[int, int]
) -> None:
    converted = markup.markdown_essay(text, "en")
    assert refused(converted) == [place]
    assert converted.findings[0].message.startswith("Markdown nested more than 19 levels deep")


def test_nesting_past_the_parser_in_metadata_is_refused() -> None:
    converted = markup.markdown_metadata("> " * 25 + "a deep bio", "en")
    assert [f.refused for f in converted.findings] == [True]


def test_unused_and_repeated_footnote_definitions_are_told() -> None:
    text = "Text[^a][^b].\n\n[^a]: First.\n\n[^b]: B.\n\n> [^a]: Second.\n\n[^c]: Unused.\n"
    converted = markup.markdown_essay(text, "en")
    assert [(f.message, f.line, f.column, f.refused) for f in converted.findings] == [
        ("footnote [^a] is defined again further on, and only the last definition is kept",
         3, 1, False),
        ("footnote [^c] is never cited, so its text is left out", 9, 1, False),
    ]  # fmt: skip
    assert "Second." in converted.html and "First." not in converted.html


def test_footnotes_all_cited_once_are_not_told() -> None:
    converted = markup.markdown_essay(
        "A[^1] and B[^2] and A again[^1].\n\n[^1]: 1.\n\n[^2]: 2.\n", "en"
    )
    assert converted.findings == ()


# Valid XHTML whatever the source (source/structure.py): URLs and content models


def _told(converted: markup.Converted) -> list[str]:
    return [f.message for f in converted.findings]


@pytest.mark.parametrize(
    ("source", "href"),
    [
        ('<a href="https://example.org/a b|c">x</a>', "https://example.org/a%20b%7Cc"),
        ('<a href="https://example.org/100%">x</a>', "https://example.org/100%25"),
        ('<a href="https://example.org/%C3%A9">x</a>', "https://example.org/%C3%A9"),
        ('<a href="mailto:a b@example.org">x</a>', "mailto:a%20b@example.org"),
        ('<a href=" https://example.org/\tx ">x</a>', "https://example.org/x"),
        ('<a href="https://example.org/é#a#b">x</a>', "https://example.org/é#a%23b"),
        ('<a href="https://example.org/a_(b)">x</a>', "https://example.org/a_(b)"),
    ],
)
def test_a_url_is_percent_encoded_where_it_must_be(source: str, href: str) -> None:
    converted = markup.html_essay(source)
    assert as_xml(converted.html).find("a").get("href") == href  # type: ignore[union-attr]
    assert not [f for f in converted.findings if f.refused]


@pytest.mark.parametrize(
    ("source", "written", "why"),
    [
        ("[x](/url)", "/url", "a path from a site's root, and a book has none"),
        ("[x](/bar\\* 'title')", "/bar\\*", "a path from a site's root"),
        ("<https://../>", "https://../", "an empty name between dots in the host"),
        ('<a href="\\\\host\\x">x</a>', "\\\\host\\x", "a backslash has no place in a URL"),
        ("[x](//example.org/)", "//example.org/", "no scheme"),
        ("[x](https:example.org)", "https:example.org", "write https:// before the host"),
        ("<https://user@example.org/>", "https://user@example.org/", "a user name"),
    ],
)
def test_a_url_no_book_can_hold_is_refused_as_written(source: str, written: str, why: str) -> None:
    converted = markup.markdown_essay(source, "en")
    refused = [f for f in converted.findings if f.refused]
    assert len(refused) == 1, converted.findings
    assert refused[0].message.startswith(f"link '{written}': {why}")
    assert refused[0].needle == written  # what finds it in the source


def test_a_quotations_source_that_is_no_url_is_dropped_with_a_warning() -> None:
    converted = markup.html_essay('<blockquote cite="/x">Q</blockquote>')
    assert converted.html == "<blockquote>Q</blockquote>"
    assert _told(converted) == ["cite '/x' removed from <blockquote>: " + ABSOLUTE_PATH]


def test_markdown_inside_pre_is_unwrapped_and_told() -> None:
    # CommonMark example 148: the paragraphs Markdown makes inside a raw <pre>.
    source = "<table><tr><td>\n<pre>\n**Hello**,\n\n_world_.\n</pre>\n</td></tr></table>\n"
    converted = markup.markdown_essay(source, "en")
    root = as_xml(converted.html)
    pre = root.find(".//pre")
    assert pre is not None and pre.find("p") is None
    assert "".join(pre.itertext()).split() == ["**Hello**,", "world."]
    assert _told(converted) == ["paragraph inside <pre> unwrapped: its text and inline markup kept"]
    assert converted.findings[0].needle == "<pre"


def test_a_table_row_with_no_cells_is_dropped() -> None:
    # CommonMark example 191: blank lines make the cell a code block, out of the table.
    source = "<table>\n\n  <tr>\n\n    <td>\n      Hi\n    </td>\n\n  </tr>\n\n</table>\n"
    converted = markup.markdown_essay(source, "en")
    assert as_xml(converted.html).find(".//tr") is None
    assert _told(converted) == ["a table row with no cells removed"]


@pytest.mark.parametrize(
    ("source", "expected", "told"),
    [
        (
            "<h2><div>x</div><hr>y</h2>",
            "<h2>xy</h2>",
            [
                "<div> inside <h2> unwrapped: its text and inline markup kept",
                "<hr> inside <h2> dropped",
            ],
        ),
        (
            "<em><p>a</p></em>",
            "<p>a</p>",
            ["<em> around a <p> removed, its text kept: a <em> holds only text and inline markup"],
        ),
        (
            "<li>a</li><li>b</li>",
            "<ul><li>a</li><li>b</li></ul>",
            ["list item outside a list put in a <ul>"],
        ),
        (
            "<ul><li>a</li><ul><li>b</li></ul></ul>",
            "<ul><li>a<ul><li>b</li></ul></li></ul>",
            ["content of a <ul> outside its items put in a list item"],
        ),
        ("<dd>d</dd>", "<dl><dd>d</dd></dl>", ["<dd> outside a list put in a <dl>"]),
        (
            "<table><tr><th><h3>T</h3></th></tr></table>",
            "<table><tbody><tr><th>T</th></tr></tbody></table>",
            ["<h3> inside a table header cell unwrapped: its text kept"],
        ),
        (
            "<figcaption>c</figcaption>",
            "<div>c</div>",
            ["<figcaption> outside a figure made a <div>"],
        ),
        (
            '<p dir="up" lang="??">x</p><ol type="z" start="2"><li>a</li></ol>',
            '<p>x</p><ol start="2"><li>a</li></ol>',
            [
                'dir="up" removed from <p>: not a value it may have',
                'lang="??" removed from <p>: not a value it may have',
                'type="z" removed from <ol>: not a value it may have',
            ],
        ),
        (
            '<table><tr><td colspan="0">x</td></tr></table>',
            None,
            ['colspan="0" removed from <td>: not a value it may have'],
        ),
    ],
)
def test_what_the_content_models_forbid_is_repaired_and_told(
    source: str, expected: str | None, told: list[str]
) -> None:
    converted = markup.html_essay(source)
    if expected is not None:
        assert converted.html == expected
    assert _told(converted) == told
    assert not [f for f in converted.findings if f.refused]


def test_valid_markup_is_left_as_it_was() -> None:
    source = (
        '<figure><img src="a.png" alt="A"/><figcaption>c</figcaption></figure>'
        '<ol reversed="" start="3" type="i"><li><p>a</p><ul><li>b</li></ul></li></ol>'
        '<p><a href="https://example.org/x?y=1&amp;z=2#top">l</a> <em>e</em></p>'
        "<dl><dt>t</dt><dd><p>d</p></dd></dl>"
        '<table><tbody><tr><td rowspan="2">x</td></tr></tbody></table>'
    )
    converted = markup.html_essay(source)
    assert converted.html == source
    assert converted.findings == ()


def test_a_title_holds_no_block() -> None:
    converted = markup.markdown_metadata("A <div>title</div>", "en", inline=True)
    assert converted.html == "A title"
    where = "where only text and inline markup may stand"
    assert _told(converted) == [f"<div> {where} unwrapped: its text and inline markup kept"]


def test_a_link_is_found_as_written_at_once_and_never_in_another_links_escapes() -> None:
    """Each character is found by its own spellings: many escapes in one link cannot make
    the search for another take exponential time, nor stand for it."""
    import time

    from make_book.source.structure import written_in

    cyrillic = "%D0%94%D0%BE%D1%81%D1%82%D0%BE%D0%B5%D0%B2%D1%81%D0%BA%D0%B8%D0%B9" * 4
    source = f"[D](https://ru.wikipedia.org/wiki/{cyrillic}) and [x](../part-two/03-the-long.md)"
    started = time.perf_counter()
    assert written_in(source, "ch2.md") is None
    assert written_in(source, "../part-two/03-the-long.md") == "../part-two/03-the-long.md"
    assert time.perf_counter() - started < 0.5
    assert written_in("[y](/f&ouml;%c3%b6)", "/f%C3%B6%C3%B6") == "/f&ouml;%c3%b6"

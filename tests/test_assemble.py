"""Stage two: essays read, titled, namespaced and checked; book metadata derived."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from lxml import etree

from helpers import BookCopy
from make_book.errors import EssayError
from make_book.model import Book, Essay
from make_book.source.assemble import assemble, slugify
from make_book.source.manifest import load_manifest


def load(book_yaml: Path) -> Book:
    return assemble(load_manifest(book_yaml))


def essay(book: Book, slug: str) -> Essay:
    return next(e for e in book.all_texts if e.slug == slug)


def body(essay: Essay) -> etree._Element:
    return etree.fromstring(f"<div>{essay.body_html}</div>")


def write_book(folder: Path, files: dict[str, str | bytes], extra: str = "") -> Path:
    """A book in `folder` whose contents are the files under chapters/, in order."""
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    contents = "".join(f"  - {name}\n" for name in files if name.startswith("chapters/"))
    manifest = folder / "book.yaml"
    manifest.write_text(f"title: T\nlanguage: en\n{extra}contents:\n{contents}", encoding="utf-8")
    return manifest


def problems(manifest: Path) -> list[str]:
    with pytest.raises(EssayError) as caught:
        load(manifest)
    return [str(p) for p in caught.value.problems]


@pytest.fixture(scope="module")
def titles(session_book: BookCopy) -> Book:
    return load(session_book("titles"))


@pytest.fixture(scope="module")
def mixed(session_book: BookCopy) -> Book:
    return load(session_book("mixed"))


# Titles


@pytest.mark.parametrize(
    ("slug", "title", "title_html"),
    [
        ("front-matter-title", "From Front Matter", "From <em>Front</em> Matter"),
        ("heading-title", "The Heading Is the Title", "The Heading Is the Title"),
        ("same-heading", "Same Title", "Same Title"),
        ("other-heading", "Declared Title", "Declared Title"),
        ("first-line", "The First Line", "The First Line"),
        ("declared", "Declared in Text", "Declared in Text"),
        ("overridden", "From the Manifest", "From the <em>Manifest</em>"),
        ("nested", "Nested", "Nested"),
        ("html-title", "HTML Title", "HTML Title"),
    ],
)
def test_title_rules(titles: Book, slug: str, title: str, title_html: str) -> None:
    found = essay(titles, slug)
    assert (found.title, found.title_html) == (title, title_html)
    assert body(found).find(".//h1") is None, "the title is the only h1 and not in the body"


def test_first_heading_becomes_title_and_is_not_repeated(titles: Book) -> None:
    found = essay(titles, "heading-title")
    assert "The Heading Is the Title" not in found.body_html
    assert found.body_html.startswith("<p>Body text under the heading.</p>")


def test_front_matter_title_with_identical_heading_drops_the_heading(titles: Book) -> None:
    found = essay(titles, "same-heading")
    assert found.body_html == "<p>Body of the essay whose heading repeats its title.</p>"


def test_front_matter_title_with_another_heading_keeps_it_as_h2(titles: Book) -> None:
    heading = body(essay(titles, "other-heading")).find("h2")
    assert heading.text == "A Different Heading"


def test_plain_text_first_line_is_title_unless_front_matter_names_one(titles: Book) -> None:
    assert essay(titles, "first-line").body_html == (
        "<p>Body paragraph one.</p>\n<p>Body paragraph two.</p>"
    )
    assert essay(titles, "declared").body_html == "<p>This first line is body text.</p>"


def test_manifest_override_beats_front_matter(titles: Book) -> None:
    found = essay(titles, "overridden")
    assert found.authors == ("Manifest Author",)
    assert "Own" not in found.title


def test_default_titles_for_front_and_back_matter(mixed: Book) -> None:
    assert [(e.kind, e.title) for e in mixed.front + mixed.back] == [
        ("foreword", "Foreword"),
        ("acknowledgements", "Acknowledgements"),
    ]


# Headings


def test_top_level_body_headings_become_h2(titles: Book) -> None:
    headings = [(h.tag, h.text) for h in body(essay(titles, "heading-title")).iter("h1", "h2")]
    assert headings == [("h2", "A Section")]  # `# A Section` after the title


def test_deeper_headings_keep_their_relative_levels(titles: Book) -> None:
    found = [(h.tag, h.text) for h in body(essay(titles, "nested")).iter("h2", "h3", "h4")]
    assert found == [("h2", "Deep"), ("h3", "Deeper"), ("h2", "Deep Again")]


# Ids and footnotes across essays


def all_ids(book: Book) -> list[str]:
    ids = [e.slug for e in book.all_texts]
    ids += [p.slug for p in book.contents if not isinstance(p, Essay)]
    for text in book.all_texts:
        ids += body(text).xpath("//@id")
        for note in text.footnotes:
            ids.append(note.id)  # its call's id (ref_id) is in the body
            ids += etree.fromstring(f"<div>{note.html}</div>").xpath("//@id")
    return ids


def test_ids_are_unique_across_the_book(mixed: Book) -> None:
    ids = all_ids(mixed)
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == []
    assert {"alpha--fnref-1", "beta--fnref-1", "alpha--fn-1", "beta--fn-1"} <= set(ids)
    assert all(re.fullmatch(r"[A-Za-z][\w.-]*", i) for i in ids), ids


def test_same_heading_in_two_essays_gets_two_ids(mixed: Book) -> None:
    def notes_heading(slug: str) -> str:
        (heading,) = body(essay(mixed, slug)).xpath("//h2[normalize-space()='Notes']")
        return heading.get("id")

    assert (notes_heading("alpha"), notes_heading("beta")) == ("alpha--notes", "beta--notes")


def test_same_footnote_label_in_two_essays_gets_two_notes(mixed: Book) -> None:
    alpha, beta = essay(mixed, "alpha"), essay(mixed, "beta")
    assert [(n.number, n.id, n.ref_id) for n in alpha.footnotes] == [
        (1, "alpha--fn-1", "alpha--fnref-1"),
        (2, "alpha--fn-2", "alpha--fnref-2"),
    ]
    assert [(n.number, n.id, n.ref_id) for n in beta.footnotes] == [
        (1, "beta--fn-1", "beta--fnref-1")
    ]
    assert "Alpha’s first note" in alpha.footnotes[0].html
    assert "Beta’s first note" in beta.footnotes[0].html
    assert "A second paragraph in the same note." in alpha.footnotes[1].html


def test_footnote_calls_are_canonical(mixed: Book) -> None:
    calls = body(essay(mixed, "alpha")).xpath("//a[contains(@class, 'noteref')]")
    assert [(a.get("class"), a.get("href"), a.get("id"), a.text) for a in calls] == [
        ("noteref", "#alpha--fn-1", "alpha--fnref-1", "1"),
        ("noteref", "#alpha--fn-2", "alpha--fnref-2", "2"),
        ("noteref repeat", "#alpha--fn-1", None, "1"),  # the second call of [^1]
    ]
    assert "footnote" not in essay(mixed, "alpha").body_html  # markdown-it's list is gone


def test_internal_links_are_rewritten_into_the_namespace(mixed: Book) -> None:
    alpha = body(essay(mixed, "alpha"))
    (link,) = alpha.xpath("//a[normalize-space()='the notes section']")
    assert link.get("href") == "#alpha--notes"
    assert alpha.xpath("//*[@id='alpha--notes']")
    delta = body(essay(mixed, "delta"))
    (good,) = delta.xpath("//a[normalize-space()='a good one']")
    assert good.get("href") == "#delta--part2"
    assert delta.xpath("//*[@id='delta--part2']")


def test_mixed_sources_are_read(mixed: Book) -> None:
    beta = essay(mixed, "beta")  # starts with a BOM
    assert beta.source == "First published in <em>Beta Quarterly</em>"
    assert beta.bio_html == "<p>Bob Brown has one essay here.</p>"
    assert beta.title == "Beta, Overridden" and beta.authors == ("Beta Override",)
    alpha = essay(mixed, "alpha")
    assert alpha.date == "2001-02-03" and alpha.translators == ("Tom Translator",)
    assert alpha.images == (Path("images/dot.png"),)
    assert '<img src="images/dot.png" alt="A single dot"/>' in alpha.body_html
    assert "Ἀθῆναι, city of the owl,<br/>" in alpha.body_html
    delta = essay(mixed, "delta")
    assert "script" not in delta.body_html and "onclick" not in delta.body_html
    assert "javascript" not in delta.body_html and "iframe" not in delta.body_html
    assert "<form" not in delta.body_html and "ignored" not in delta.body_html
    gamma = essay(mixed, "gamma")
    assert gamma.body_html.count("<p>") == 6
    assert "&lt;angle&gt;" in gamma.body_html and "*asterisks*" in gamma.body_html


def test_parts_hold_their_introduction_and_essays(mixed: Book) -> None:
    first, second = mixed.contents
    assert first.title == "Part the First" and first.subtitle_html == "Markdown"
    assert first.introduction.slug == "intro"
    assert first.introduction.kind == "part-introduction"
    assert [e.slug for e in first.essays] == ["alpha", "beta"]
    assert [e.slug for e in second.all_essays] == ["gamma", "delta"]
    assert [e.slug for e in mixed.all_texts] == [
        "foreword", "intro", "alpha", "beta", "gamma", "delta", "thanks"
    ]  # fmt: skip


def test_slugify() -> None:
    assert slugify("01-Of Idleness") == "of-idleness"
    assert slugify("Ἀθῆναι Zürich") == "zurich"
    assert slugify("2024") == "s-2024"


# Essay errors


BROKEN = [
    "chapters/latin1.txt:2:11: not UTF-8 text: byte 0xe9 at offset 14",
    "chapters/typo.md:3:1: front matter: authr: unknown key (did you mean 'author'?)",
    "chapters/bad-yaml.md:4:1: front matter: expected ',' or ']', but got '<stream end>'",
    "chapters/untitled.md: essay has no title:"
    " add `title:` to its front matter or start it with a `# Heading`",
    "chapters/empty.md: essay has no text after its front matter",
    "chapters/remote.md:3:12: image 'https://example.com/photo.jpg':"
    " remote and data images are not fetched; put the file in the book folder",
    "chapters/escape.md:3:12: image '../../outside.png': path leaves the book folder",
    "chapters/missing-image.md:3:9: image 'images/gone.png': no such file",
]


def test_every_essay_problem_is_reported_together(session_book: BookCopy) -> None:
    assert problems(session_book("broken")) == BROKEN


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"chapters/a.md": b"# Title\n\nSome text \xff here.\n"},
            "chapters/a.md:3:11: not UTF-8 text: byte 0xff at offset 19",
            id="not-utf8",
        ),
        pytest.param(
            {"chapters/a.md": "---\ntitle: X\nautor: Y\n---\n\nBody.\n"},
            "chapters/a.md:3:1: front matter: autor: unknown key (did you mean 'author'?)",
            id="unknown-key-did-you-mean",
        ),
        pytest.param(
            {"chapters/a.md": "---\ntitle: X\n  bad: indent\n---\n\nBody.\n"},
            "chapters/a.md:3:6: front matter: mapping values are not allowed here",
            id="bad-yaml",
        ),
        pytest.param(
            {"chapters/a.md": "---\n- a list\n---\n\nBody.\n"},
            "chapters/a.md:2:1: front matter must be a mapping of keys",
            id="front-matter-not-a-mapping",
        ),
        pytest.param(
            {"chapters/a.md": "## Only a second-level heading\n\nBody.\n"},
            "chapters/a.md: essay has no title:"
            " add `title:` to its front matter or start it with a `# Heading`",
            id="no-title",
        ),
        pytest.param(
            {"chapters/a.md": "---\ntitle: X\n---\n\n   \n\n"},
            "chapters/a.md: essay has no text after its front matter",
            id="empty",
        ),
        pytest.param(
            {"chapters/a.txt": "   \n\n"},
            "chapters/a.txt: essay has no title:"
            " add `title:` to its front matter or start it with a `# Heading`",
            id="empty-text-file",
        ),
        pytest.param(
            {"chapters/a.md": "# T\n\n![A](http://example.com/a.png)\n"},
            "chapters/a.md:3:6: image 'http://example.com/a.png':"
            " remote and data images are not fetched; put the file in the book folder",
            id="remote-image",
        ),
        pytest.param(
            {"chapters/a.md": "# T\n\n![A](../../elsewhere/a.png)\n"},
            "chapters/a.md:3:6: image '../../elsewhere/a.png': path leaves the book folder",
            id="image-leaves-folder",
        ),
        pytest.param(
            {"chapters/a.md": "# T\n\n![A](a.png)\n"},
            "chapters/a.md:3:6: image 'a.png': no such file",
            id="missing-image",
        ),
    ],
)
def test_essay_error_messages(tmp_path: Path, files: dict[str, str | bytes], expected: str) -> None:
    assert problems(write_book(tmp_path, files)) == [expected]


def test_unknown_key_without_a_close_match(tmp_path: Path) -> None:
    manifest = write_book(tmp_path, {"chapters/a.md": "---\ntitle: X\nzzz: 1\n---\n\nBody.\n"})
    assert problems(manifest) == ["chapters/a.md:3:1: front matter: zzz: unknown key"]


def test_several_unknown_keys_in_one_essay(tmp_path: Path) -> None:
    manifest = write_book(tmp_path, {"chapters/a.md": "---\ntitel: X\nlanguag: fr\n---\n\nBody.\n"})
    assert problems(manifest) == [
        "chapters/a.md:2:1: front matter: titel: unknown key (did you mean 'title'?)",
        "chapters/a.md:3:1: front matter: languag: unknown key (did you mean 'language'?)",
    ]


def test_image_inside_the_book_but_outside_the_essay_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(DOT.read_bytes())
    book = load(write_book(tmp_path, {"chapters/a.md": "# T\n\n![A](../images/a.png)\n"}))
    assert book.essays[0].images == (Path("images/a.png"),)


def test_not_utf8_column_counts_characters(tmp_path: Path) -> None:
    # "# été " is 6 characters (8 bytes): the bad byte is in column 7, as load_manifest says.
    manifest = write_book(tmp_path, {"chapters/a.md": "# été ".encode() + b"\xff\n"})
    assert problems(manifest) == ["chapters/a.md:1:7: not UTF-8 text: byte 0xff at offset 8"]


def test_not_utf8_offset_counts_the_bom(tmp_path: Path) -> None:
    # BOM (3 bytes) + "# T\n\n" (5 bytes): the bad byte is at file offset 8, line 3, column 1.
    manifest = write_book(tmp_path, {"chapters/a.md": b"\xef\xbb\xbf# T\n\n\xff\n"})
    assert problems(manifest) == ["chapters/a.md:3:1: not UTF-8 text: byte 0xff at offset 8"]


def test_data_image_is_named_as_such(tmp_path: Path) -> None:
    src = "data:image/png;base64,iVBORw0KGgo="
    manifest = write_book(tmp_path, {"chapters/a.md": f"# T\n\n![A]({src})\n"})
    assert problems(manifest) == [
        # Read before the sanitizer drops it, so it is quoted and located.
        f"chapters/a.md:3:6: image '{src}': remote and data images are not fetched;"
        " put the file in the book folder"
    ]


def test_image_problem_is_located(tmp_path: Path) -> None:
    manifest = write_book(tmp_path, {"chapters/a.md": "# T\n\nText.\n\n![A](a.png)\n"})
    assert problems(manifest) == ["chapters/a.md:5:6: image 'a.png': no such file"]


# Book metadata


def test_identifier_is_derived_stably(session_book: BookCopy) -> None:
    first, second = load(session_book("mixed")), load(session_book("mixed"))
    assert first.meta.identifier == second.meta.identifier
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", first.meta.identifier)
    assert first == second  # the whole model is a pure function of the sources


def test_identifier_changes_with_the_title_and_manifest_identifier_wins(tmp_path: Path) -> None:
    one = load(write_book(tmp_path / "one", {"chapters/a.md": "# A\n\nx\n"}))
    two = load(write_book(tmp_path / "two", {"chapters/a.md": "# A\n\nx\n"}))
    assert one.meta.identifier == two.meta.identifier  # same title, same names
    other = tmp_path / "two" / "book.yaml"
    other.write_text(other.read_text().replace("title: T", "title: U"), encoding="utf-8")
    assert load(other).meta.identifier != one.meta.identifier
    other.write_text("identifier: urn:isbn:9780000000002\n" + other.read_text(), encoding="utf-8")
    assert load(other).meta.identifier == "urn:isbn:9780000000002"


def test_source_date_epoch_sets_modified(
    session_book: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    meta = load(session_book("mixed")).meta
    assert meta.modified == "2023-11-14T22:13:20Z"
    assert meta.date == "2024-05-01" and meta.year == "2024"


def test_modified_falls_back_to_the_manifest_date(
    session_book: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert load(session_book("mixed")).meta.modified == "2024-05-01T00:00:00Z"


def test_modified_falls_back_to_the_newest_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    manifest = write_book(tmp_path, {"chapters/a.md": "# A\n\nx\n", "chapters/b.md": "# B\n\ny\n"})
    os.utime(tmp_path / "chapters/a.md", (1600000000, 1600000000))
    os.utime(tmp_path / "chapters/b.md", (1650000000.7, 1650000000.7))
    meta = load(manifest).meta
    assert meta.modified == "2022-04-15T05:20:00Z"
    assert meta.year == "2022"


DOT = Path(__file__).parent / "books" / "mixed" / "images" / "dot.png"


@pytest.mark.parametrize(
    ("file", "written"),
    [("café.png", "../images/café.png"), ("my dot.png", "<../images/my dot.png>")],
    ids=["non-ascii", "space"],
)
def test_image_names_beyond_ascii_letters(tmp_path: Path, file: str, written: str) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / file).write_bytes(DOT.read_bytes())
    book = load(write_book(tmp_path, {"chapters/a.md": f"# T\n\n![A dot]({written})\n"}))
    assert book.essays[0].images == (Path("images") / file,)


def test_image_name_with_ampersand_is_rebased(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a&b.png").write_bytes(DOT.read_bytes())
    book = load(write_book(tmp_path, {"chapters/a.md": "# T\n\n![A dot](../images/a&b.png)\n"}))
    assert book.essays[0].images == (Path("images/a&b.png"),)
    assert '<img src="images/a&amp;b.png" alt="A dot"/>' in book.essays[0].body_html


def test_the_theme_named_in_book_yaml_is_the_one_looked_up(book_copy: BookCopy) -> None:
    """`theme:` picks the packaged theme searched after the book's own folders."""
    from make_book.theme import THEMES, packaged_themes, search_path

    manifest = book_copy("sample")
    manifest.write_text(manifest.read_text("utf-8") + "theme: default\n", "utf-8")
    book = assemble(load_manifest(manifest))
    assert book.theme == "default" and "default" in packaged_themes()
    assert search_path(book)[-3:] == tuple(
        THEMES / "default" / d for d in ("templates", "styles", "fonts")
    )

"""Links from one essay to another: `[the ending](02-the-anora-ending.md#the-ending)`.

An essay links to another by its file, as written in its folder (`other.md`,
`../part-two/other.html`), optionally with an anchor: a heading's (its text in lower
case, words joined by `-`: "The Ending" is `#the-ending`), or an id of the essay's own
(`#fn-2` is its second footnote). Once every essay is read, such a link becomes a link
to that place in the book, `#<slug>--<anchor>` (every id of an essay is namespaced so,
source/fragment.py): the PDF finds it in whichever piece it is laid out in
(render/pdf/layout/pieces.py), the EPUB and the web edition in the essay's own file
(render/links.py). A link to a file that is not an essay of the book, or to an anchor
the essay does not have, is an error at the place it is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import replace
from html import escape, unescape
from pathlib import Path
from urllib.parse import unquote

from make_book.errors import EssayError, Problem
from make_book.model import Book, Essay, Part
from make_book.source.essay_files import read_text_essay
from make_book.source.fragment import id_safe
from make_book.source.structure import shown, written_in
from make_book.source.word import WORD_SUFFIXES
from make_book.url_reach import reach

# Attributes of tags, not text that mentions them (`<a href="x.md">` in a code span is
# written `&lt;a href="x.md"&gt;`: a tag's `<` is the only `<` the serializer leaves).
_HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")')
_ID = re.compile(r'<[A-Za-z][^>]*?\bid="([^"]+)"')
_NOT_AN_ESSAY = "not an essay of this book: list it in book.yaml, or link to where it is on the web"

# Where a link's text is written in its essay: (the essay, the href as written, message).
Locate = Callable[[Essay, str, str], Problem]


def link_essays(book: Book, locate: Locate) -> Book:
    """The book with every link to another essay's file pointing into the book."""
    linker = _Linker(book, locate)
    linked = _with_texts(book, linker.link)
    if linker.problems:
        raise EssayError(sorted(linker.problems, key=lambda p: (p.file, p.line or 0)))
    return linked


class _Linker:
    def __init__(self, book: Book, locate: Locate) -> None:
        self.root = os.path.normpath(book.root)
        self.by_file = {os.path.normpath(t.source_path): t for t in book.all_texts}
        self.locate = locate
        self.problems: list[Problem] = []
        self._ids: dict[str, frozenset[str]] = {}

    def link(self, text: Essay) -> Essay:
        """`text` with its links to other essays resolved (itself if it has none)."""
        body = _HREF.sub(lambda m: self._href(m, text), text.body_html)
        notes = tuple(
            replace(note, html=_HREF.sub(lambda m: self._href(m, text), note.html))
            for note in text.footnotes
        )
        if body == text.body_html and notes == text.footnotes:
            return text
        return replace(text, body_html=body, footnotes=notes)

    def _href(self, match: re.Match[str], text: Essay) -> str:
        written = unescape(match.group(2))
        file, _, anchor = written.partition("#")
        if not file or reach(written):  # within the essay, or on the web
            return match.group(0)
        target = self._target(text, unquote(file), written)
        if target is None:
            return match.group(0)
        place = self._anchor(target, unquote(anchor), text, written)
        return f"{match.group(1)}#{escape(place)}{match.group(3)}" if place else match.group(0)

    def _target(self, text: Essay, file: str, written: str) -> Essay | None:
        path = os.path.normpath(os.path.join(text.source_path.parent, file))
        found = self.by_file.get(path)
        if found is None:
            self._problem(text, written, _missing(path, self.root))
        return found

    def _problem(self, text: Essay, written: str, why: str) -> None:
        """An error about the link `written` (as the HTML has it), quoting it as the
        essay's source spells it (`foo\\(bar\\)`, `f&ouml;`), at its place there."""
        spelled = written_in(_source_of(text), written) or written
        problem = self.locate(text, spelled, f"link '{shown(spelled)}': {why}")
        if problem not in self.problems:  # one link written twice (`[a][x]`, `[x]`)
            self.problems.append(problem)

    def _anchor(self, target: Essay, anchor: str, text: Essay, written: str) -> str:
        """The id in the book of `anchor` in `target` ("" after an error)."""
        if not anchor:
            return target.slug
        ids = self._ids_of(target)
        for candidate in (f"{target.slug}--{id_safe(anchor)}", anchor):
            if candidate in ids:
                return candidate
        file = written.partition("#")[0]
        self._problem(text, written, f"{file} has no heading or note '#{anchor}'")
        return ""

    def _ids_of(self, text: Essay) -> frozenset[str]:
        if text.slug not in self._ids:
            found = set(_ID.findall(text.body_html))
            found.update(note.id for note in text.footnotes)
            found.add(text.slug)
            self._ids[text.slug] = frozenset(found)
        return self._ids[text.slug]


def _source_of(text: Essay) -> str:
    """The essay's file as text, to find a link in ("" for a Word file, or one unread)."""
    if text.source_path.suffix.lower() in WORD_SUFFIXES:
        return ""
    try:  # read as the essay was: bounded (the file may have changed since)
        raw = read_text_essay(text.source_path, text.source_path.name)
    except EssayError:
        return ""
    return raw.decode("utf-8", errors="replace")


def _missing(path: str, root: str) -> str:
    """Why a link's file is no essay; a path out of the book folder is not looked at, so
    that a book cannot learn which files the machine building it has."""
    if os.path.commonpath([path, root]) != root:
        return "leaves the book folder"
    return _NOT_AN_ESSAY if Path(path).is_file() else "no such file"


def _with_texts(book: Book, change: Callable[[Essay], Essay]) -> Book:
    """The book with `change` applied to every text: front, main (parts too), back."""

    def item(entry: Essay | Part) -> Essay | Part:
        if isinstance(entry, Essay):
            return change(entry)
        intro = change(entry.introduction) if entry.introduction else None
        return replace(entry, introduction=intro, essays=tuple(map(change, entry.essays)))

    return replace(
        book,
        front=tuple(map(change, book.front)),
        contents=tuple(map(item, book.contents)),
        back=tuple(map(change, book.back)),
    )

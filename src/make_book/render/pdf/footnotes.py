"""Footnotes set at the foot of their page: each note moved to its call, for the print
CSS's `float: footnote`."""

from __future__ import annotations

import re
from pathlib import Path

from make_book.cache.memo import BlobMemo, key_of
from make_book.model import Essay
from make_book.pagemap import mark_blocks
from make_book.source.fragment import replace_noterefs


def footnoted_body(essay: Essay) -> str:
    """The essay body with each note moved to its call, for `float: footnote`.

    Blocks are numbered first (data-b) so the layout can say where pages begin.
    """
    notes = {note.number: note for note in essay.footnotes}

    def place(number: int, first: bool) -> str:
        note = notes[number]
        if not first:
            return f'<a class="noteref-repeat" href="#{note.id}">{number}</a>'
        return f'<span class="footnote" id="{note.id}">{_inline_blocks(note.html)}</span>'

    return replace_noterefs(mark_blocks(essay.body_html), place)


def _inline_blocks(note_html: str) -> str:
    """A footnote lives inside a paragraph: its blocks become spans the CSS sets as blocks."""
    note_html = re.sub(r"<p(\s[^>]*)?>", '<span class="fn-p">', note_html)
    note_html = note_html.replace("</p>", "</span>")
    return re.sub(r"<(/?)(div|blockquote|ul|ol|li|h[1-6])\b[^>]*>", r"<\1span>", note_html)


class FootnotedBodies:
    """`footnoted_body` of each essay, remembered in the cache at `cache_dir` by the
    essay's fingerprint: an edit makes the edited essay's alone (a 300-essay book's took
    0.05 s of the build's own process, before its edited piece's folio was known)."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.memo = BlobMemo(cache_dir, "bodies") if cache_dir is not None else None

    def __call__(self, essay: Essay) -> str:
        if self.memo is None:
            return footnoted_body(essay)
        key = key_of("footnoted body", essay.fingerprint)
        body = self.memo.made(key, lambda: footnoted_body(essay).encode("utf-8", "surrogatepass"))
        return body.decode("utf-8", "surrogatepass")

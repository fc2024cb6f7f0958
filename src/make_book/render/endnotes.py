"""Footnotes as linked endnotes, for outputs without pages (EPUB, web)."""

from __future__ import annotations

import re

from make_book.model import Essay, Footnote
from make_book.render.links import LinkMap
from make_book.source.fragment import replace_noterefs


def noterefs(body_html: str, notes: tuple[Footnote, ...], epub: bool) -> str:
    """Footnote calls as noterefs (EPUB reading systems show the note in a pop-up)."""
    by_number = {n.number: n for n in notes}
    semantics = ' epub:type="noteref"' if epub else ""

    def call(number: int, first: bool) -> str:
        note = by_number[number]
        ident = f' id="{note.ref_id}"' if first else ""
        return (
            f'<a class="noteref"{semantics} role="doc-noteref"'
            f' href="#{note.id}"{ident}>{number}</a>'
        )

    return replace_noterefs(body_html, call)


def with_backlink(note: Footnote) -> Footnote:
    """The note with a link back to its call, at the end of its last paragraph."""
    back = f' <a class="backlink" href="#{note.ref_id}" role="doc-backlink">↩&#xFE0E;</a>'
    html = re.sub(r"</p>\s*$", back + "</p>", note.html, count=1)
    if html == note.html:
        html = note.html + f"<p>{back}</p>"
    return Footnote(note.number, note.id, note.ref_id, html)


def noterefs_with_backlinks(essay: Essay, links: LinkMap, epub: bool) -> tuple[str, list[Footnote]]:
    """An essay's body with links resolved and calls marked, and its notes with back-links."""
    body = links.rewrite(noterefs(essay.body_html, essay.footnotes, epub), essay)
    notes = [with_backlink(n) for n in essay.footnotes]
    return body, [Footnote(n.number, n.id, n.ref_id, links.rewrite(n.html, essay)) for n in notes]

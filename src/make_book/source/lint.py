"""Book-wide warnings: things that build but that an editor would want to know.

Run after assembly by `make-book build` and `make-book check`; under --strict
each one fails the build.
"""

from __future__ import annotations

import logging

import pyphen

from make_book.model import Book

log = logging.getLogger("make_book")


def lint(book: Book) -> None:
    """Log every finding as a warning naming the file it is about."""
    for message in unattributed(book) + unhyphenated(book) + unused_templates(book):
        log.warning("%s", message)


def unattributed(book: Book) -> list[str]:
    """Essays with no author in a book whose contributors page lists the others."""
    if not book.show_contributors or not book.contributors:
        return []
    return [
        f"{essay.source_path}: no author, though the book lists its contributors"
        for essay in book.all_texts
        if essay.kind == "essay" and not essay.authors
    ]


def unhyphenated(book: Book) -> list[str]:
    """Languages the PDF cannot hyphenate: Pyphen has no dictionary for them."""
    found: list[str] = []
    if pyphen.language_fallback(book.meta.language.replace("-", "_")) is None:
        found.append(f"book.yaml: no hyphenation dictionary for language '{book.meta.language}'")
    seen = {book.meta.language}
    for essay in book.all_texts:
        language = essay.language
        if language and language not in seen:
            seen.add(language)
            if pyphen.language_fallback(language.replace("-", "_")) is None:
                found.append(
                    f"{essay.source_path}: no hyphenation dictionary for language '{language}'"
                )
    return found


def unused_templates(book: Book) -> list[str]:
    """A project's print.html: the PDF is laid out in pieces from other templates."""
    return [
        f"{folder / 'print.html'}: not used: the PDF is laid out from print-piece.html"
        " and print-macros.html (override those)"
        for folder in book.theme_dirs
        if (folder / "print.html").is_file()
    ]

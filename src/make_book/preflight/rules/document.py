"""Rules on the file as a whole: its page count, whether it may bleed and carry
bookmarks; then the standard the profile names (see `standards`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pikepdf

from make_book.preflight.catalog import has_outline
from make_book.preflight.expectations import Expectations
from make_book.preflight.findings import Problem
from make_book.preflight.rules.standards import standard_problems
from make_book.profiles import Profile


def document_problems(pdf: pikepdf.Pdf, expected: Expectations) -> Iterator[Problem]:
    profile = expected.profile
    yield from _page_count(expected.pages, profile)
    if expected.bleed and not profile.bleed_allowed:
        yield "page-size", f"the file has bleed; the {profile.name} profile allows none"
    if not profile.bookmarks and has_outline(pdf):
        yield "bookmarks", f"the file has bookmarks; the {profile.name} profile allows none"
    yield from standard_problems(pdf, profile)


def _page_count(count: int, profile: Profile) -> Iterator[Problem]:
    pages = f"{count} page{'s' if count != 1 else ''}"
    if count < profile.min_pages:
        yield "page-count", f"{pages}; {profile.name} needs at least {profile.min_pages}"
    if count > profile.max_pages:
        yield "page-count", f"{pages}; {profile.name} allows at most {profile.max_pages}"
    if profile.even_pages and count % 2:
        yield "page-count", f"{pages}; {profile.name} needs an even number of pages"

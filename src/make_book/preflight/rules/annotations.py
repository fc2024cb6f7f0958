"""The annotations rule: links, notes and form fields on a page whose profile allows
none (a printer's file is paper, not a screen).
"""

from __future__ import annotations

from collections.abc import Iterator

import pikepdf

from make_book.preflight.findings import Problem
from make_book.preflight.pdf_values import entry, name_of
from make_book.profiles import Profile


def annotation_problems(page: pikepdf.Page, profile: Profile) -> Iterator[Problem]:
    annotations = page.obj.get("/Annots")
    if profile.links or not isinstance(annotations, pikepdf.Array):
        return
    kinds = sorted({name_of(entry(a, "/Subtype")) or "unknown" for a in annotations})
    if kinds:
        names = ", ".join(kinds)
        yield (
            "annotations",
            f"annotations ({names}); the {profile.name} profile allows none",
        )

"""The font rules: every font embedded, and no Type 3 fonts for print; judged once per
font object, on the fonts a page draws with (or, for a quick yes or no, on every font
its resources hold).
"""

from __future__ import annotations

import re

import pikepdf

from make_book.preflight.findings import Problem
from make_book.preflight.font_metrics import descendant
from make_book.preflight.pdf_values import Key, as_dict, entry, key_of, name_of
from make_book.preflight.resources import resource_fonts
from make_book.profiles import Profile


class FontRules:
    """The font rules for one profile, remembering each font's problems: pages share fonts."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._problems: dict[Key, list[Problem]] = {}

    def problems(self, font: pikepdf.Object, resource_name: str) -> list[Problem]:
        key = key_of(font)
        if key is not None and key in self._problems:
            return self._problems[key]
        label = _font_label(font, resource_name)
        problems: list[Problem] = []
        if name_of(font.get("/Subtype")) == "Type3":  # its glyphs are in the file, as drawings
            if self.profile.is_print:
                problems.append(("type3-font", f"font '{label}' is a Type 3 font"))
        elif not _is_embedded(font):
            problems.append(("fonts-embedded", f"font '{label}' is not embedded"))
        if key is not None:
            self._problems[key] = problems
        return problems

    def all_embedded(self, pages: list[pikepdf.Page]) -> bool:
        """Whether every font the pages' resources hold is embedded: a yes or no for a
        piece (render/pdf/preflight_gate.py), a hundred times faster than running the
        content. Pages share resources, so which pages draw a missing font is left to the
        book's own preflight, which reads the pages of a piece that did not pass."""
        return not any(
            self.problems(font, name) for page in pages for name, font in resource_fonts(page.obj)
        )


def _font_label(font: pikepdf.Object, resource_name: str) -> str:
    """The font's name without its subset tag ("ABCDEF+Book-Serif" -> "Book-Serif")."""
    base = name_of(font.get("/BaseFont")) or name_of(font.get("/Name")) or resource_name[1:]
    return re.sub(r"^[A-Z]{6}\+", "", base)


def _is_embedded(font: pikepdf.Object) -> bool:
    holder = descendant(font) if name_of(font.get("/Subtype")) == "Type0" else font
    descriptor = as_dict(entry(holder, "/FontDescriptor"))
    if descriptor is None:
        return False
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))

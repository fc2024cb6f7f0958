"""Print profiles: what each destination of the PDF requires, in one table.

The PDF renderer reads a profile to decide how to lay out and finish the file;
the preflight reads the same profile to check the finished file. Numbers are the
services' published rules (sources in the README, "Print profiles").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

BLEED = 0.125  # inches beyond the trim on the top, bottom and outside edges


@dataclass(frozen=True)
class Profile:
    """One destination's rules for the interior PDF."""

    name: str
    purpose: str  # one line for --help and the README
    bookmarks: bool  # outline allowed (and written)
    links: bool  # link annotations allowed (and written)
    tagged: bool  # a structure tree for assistive technology
    weasyprint_variant: str | None  # WeasyPrint's pdf_variant
    identification: str  # conformance the finished file must declare, "" for none
    gray_only: bool  # only DeviceGray / CMYK K: black-and-white presses
    min_margin: float  # inches, every edge of the text block from the trim
    min_margin_with_bleed: float
    bleed_allowed: bool
    gutter_by_pages: tuple[tuple[int, float], ...]  # (up to N pages, inside margin)
    min_pages: int
    max_pages: int
    even_pages: bool  # pad with blank pages so the count is even
    min_dpi: int  # images at their placed size; 0: not checked
    cover_sheet: bool = False  # a one-piece wrap cover: bleed on all four edges

    def for_cover(self) -> Profile:
        """The rules for this profile's wrap cover: one sheet, colour allowed (CMYK for PDF/X)."""
        return replace(
            self,
            name=f"{self.name} cover",
            bookmarks=False,
            links=False,
            tagged=False,
            weasyprint_variant=None,
            identification=self.identification if self.identification.startswith("PDF/X") else "",
            gray_only=False,
            min_margin=0.0,
            min_margin_with_bleed=0.0,
            bleed_allowed=True,
            gutter_by_pages=(),
            min_pages=1,
            max_pages=1,
            even_pages=False,
            cover_sheet=True,
        )

    def gutter(self, pages: int) -> float:
        """The least inside margin for a book of this many pages (0 when none is set)."""
        for up_to, inches in self.gutter_by_pages:
            if pages <= up_to:
                return inches
        return self.gutter_by_pages[-1][1] if self.gutter_by_pages else 0.0

    def padded(self, pages: int) -> int:
        """The page count after the blank pages a printer needs: its minimum, then even."""
        pages = max(pages, self.min_pages)
        return pages + 1 if self.even_pages and pages % 2 else pages

    def bleeds(self, asked: bool) -> bool:
        """Whether the file has bleed: asked for in book.yaml, and allowed here."""
        return asked and self.bleed_allowed

    def safe_margin(self, bleed: bool) -> float:
        """The least distance from the trim to any text."""
        return self.min_margin_with_bleed if bleed else self.min_margin

    @property
    def is_print(self) -> bool:
        """For a printer: no outline or links, page count padded."""
        return not self.bookmarks

    def file_name(self, stem: str) -> str:
        """dist/ names: book.pdf for the screen edition, book-kdp.pdf for KDP…"""
        return f"{stem}.pdf" if self.name == "screen" else f"{stem}-{self.name}.pdf"


# KDP's "Set trim size, bleed, and margins" table (paperback interiors).
KDP_GUTTER = ((150, 0.375), (300, 0.5), (500, 0.625), (700, 0.75), (828, 0.875))

# What a reader's copy has: the base of `screen` and `archive`.
_READING = Profile(
    name="screen",
    purpose="reading on screen: bookmarks, links, tagged PDF/UA-1",
    bookmarks=True,
    links=True,
    tagged=True,
    weasyprint_variant="pdf/ua-1",
    identification="PDF/UA-1",
    gray_only=False,
    min_margin=0.0,
    min_margin_with_bleed=0.0,
    bleed_allowed=False,
    gutter_by_pages=(),
    min_pages=1,
    max_pages=100_000,
    even_pages=False,
    min_dpi=0,
)
# What a printer wants: no outline or annotations, fonts embedded, 300 dpi, even pages.
_PRESS = replace(
    _READING,
    bookmarks=False,
    links=False,
    tagged=False,
    weasyprint_variant=None,
    identification="",
    bleed_allowed=True,
    even_pages=True,
    min_dpi=300,
)

PROFILES: dict[str, Profile] = {
    "screen": _READING,
    "kdp": replace(
        _PRESS,
        name="kdp",
        purpose="Amazon KDP paperback interior: no marks, bookmarks or links; gutter by page count",
        min_margin=0.25,
        min_margin_with_bleed=0.375,
        gutter_by_pages=KDP_GUTTER,
        min_pages=24,
        max_pages=828,
    ),
    "ingram": replace(
        _PRESS,
        name="ingram",
        purpose="IngramSpark / Lightning Source interior: PDF/X-1a:2001, text 100% K, gray images",
        identification="PDF/X-1a:2001",  # written by render/pdf/print_finish.py, not WeasyPrint
        gray_only=True,
        min_margin=0.5,
        min_margin_with_bleed=0.5,
        min_pages=18,
        max_pages=1200,
    ),
    "archive": replace(
        _READING,
        name="archive",
        purpose="libraries and long-term storage: PDF/A-2b, tagged, bookmarks",
        weasyprint_variant="pdf/a-2b",
        identification="PDF/A-2B",
    ),
}

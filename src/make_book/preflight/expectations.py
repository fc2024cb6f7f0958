"""What a file is checked against: the profile, the trim size and bleed the book asked
for (or the first page's), and which of the profile's rules need the pages' drawing read.
"""

from __future__ import annotations

from dataclasses import dataclass

from make_book.preflight.geometry import POINTS_PER_INCH, PageBoxes
from make_book.profiles import Profile


@dataclass(frozen=True)
class Expectations:
    profile: Profile
    pages: int  # the page count, which KDP's gutter grows with
    trim_size: tuple[float, float]  # width, height in points
    bleed: bool
    checks_colours: bool  # RGB, total ink and (on gray presses) rich black
    no_transparency: bool
    measures_text: bool  # where text is, for the margins, and its colours
    fonts_only: bool  # the drawing is checked for fonts only (see FontRules.all_embedded)

    @classmethod
    def of(
        cls,
        profile: Profile,
        boxes: list[PageBoxes],
        trim: tuple[float, float] | None,
        bleed: bool | None,
    ) -> Expectations:
        """`trim` (inches) and `bleed` as the book asked; when None, the first page's."""
        first = boxes[0] if boxes else None
        if trim is not None:
            trim_size = (trim[0] * POINTS_PER_INCH, trim[1] * POINTS_PER_INCH)
        else:
            trim_size = (first.trim.width, first.trim.height) if first else (0.0, 0.0)
        checks_colours = profile.gray_only or profile.identification.startswith("PDF/X")
        # PDF/X-1a is PDF 1.3, which has no transparency; the gray presses flatten nothing.
        no_transparency = profile.gray_only or profile.identification.startswith("PDF/X-1a")
        return cls(
            profile=profile,
            pages=len(boxes),
            trim_size=trim_size,
            bleed=bleed if bleed is not None else bool(first and first.has_bleed),
            checks_colours=checks_colours,
            no_transparency=no_transparency,
            measures_text=checks_colours or profile.min_margin > 0,
            # A screen or archive page's drawing is checked for fonts only.
            fonts_only=not (
                checks_colours or no_transparency or profile.min_dpi > 0 or profile.min_margin > 0
            ),
        )

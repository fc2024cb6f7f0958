"""The margins rule: all text inside the safe area, at least the profile's margin from
each trim edge, and the gutter's, which grows with the page count (KDP), at the inside.
"""

from __future__ import annotations

from collections.abc import Iterator

from make_book.preflight.expectations import Expectations
from make_book.preflight.findings import Problem
from make_book.preflight.geometry import POINTS_PER_INCH, TOLERANCE, Box, inside_edge


def margin_problems(
    index: int, extent: Box | None, trim: Box, expected: Expectations
) -> Iterator[Problem]:
    """All text inside the safe area; the gutter grows with the page count (KDP)."""
    profile = expected.profile
    if profile.min_margin <= 0 or extent is None:
        return
    outer = profile.min_margin_with_bleed if expected.bleed else profile.min_margin
    gutter = max(profile.min_margin, profile.gutter(expected.pages))
    distances = {
        "top": trim.y1 - extent.y1,
        "bottom": extent.y0 - trim.y0,
        "left": extent.x0 - trim.x0,
        "right": trim.x1 - extent.x1,
    }
    for edge, distance in distances.items():
        inside = edge == inside_edge(index)
        needed = gutter if inside else outer
        if distance < needed * POINTS_PER_INCH - TOLERANCE:
            where = f"{edge} (gutter)" if inside else edge
            yield (
                "margins",
                (
                    f"text {distance / POINTS_PER_INCH:.2f} in from the {where} trim edge;"
                    f" {profile.name} needs {needed:g} in"
                ),
            )

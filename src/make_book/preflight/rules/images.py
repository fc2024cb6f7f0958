"""The resolution rule: each image, at the size it is placed on the page, has at least
the profile's dots per inch.
"""

from __future__ import annotations

from collections.abc import Iterator

from make_book.preflight.findings import Problem
from make_book.preflight.geometry import POINTS_PER_INCH, inches
from make_book.preflight.marks import Marks
from make_book.profiles import Profile


def resolution_problems(marks: Marks, profile: Profile) -> Iterator[Problem]:
    needed = profile.min_dpi
    for image, placed_width, placed_height in marks.placements if needed > 0 else []:
        if placed_width <= 0 or placed_height <= 0:
            continue  # drawn at no size (or inside a pattern's tile): nothing to judge
        width, height = image.pixels
        dpi = min(width / placed_width, height / placed_height) * POINTS_PER_INCH
        if dpi < needed - 0.5:
            placed = f"{inches(placed_width)} × {inches(placed_height)} in"
            yield (
                "image-dpi",
                (
                    f"image {width}×{height} px placed at {placed} is {dpi:.0f} dpi;"
                    f" {profile.name} needs {needed}"
                ),
            )

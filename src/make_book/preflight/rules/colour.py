"""The colour rules for presses: no RGB anywhere, ink within the limit, and on gray
presses black text of K alone and no colour images.
"""

from __future__ import annotations

from collections.abc import Iterator

from make_book.preflight.findings import Problem
from make_book.preflight.marks import Marks

MAX_TOTAL_INK = 2.4  # 240%: IngramSpark's limit for C + M + Y + K
RICH_BLACK_K = 0.9  # text this dark with any C, M or Y is black built from four inks


def colour_problems(marks: Marks, black_text_k_only: bool) -> Iterator[Problem]:
    """For presses: no RGB anywhere, ink within the limit, and on gray presses
    (`black_text_k_only`) black text of K alone."""
    for image, _, _ in marks.placements:
        if image.space is not None and image.space.family == "rgb":
            width, height = image.pixels
            yield "colour-space", f"{image.space.label} image {width}×{height} px"
        elif image.space is not None and image.space.family == "cmyk" and black_text_k_only:
            width, height = image.pixels  # a gray press prints black only
            yield "colour-space", f"colour ({image.space.label}) image {width}×{height} px"
    for what, colour in marks.paints:
        if colour.space.family == "rgb":
            yield "colour-space", f"{colour.space.label} colour used for {what}"
        cmyk = colour.cmyk
        if cmyk is None:
            continue
        c, m, y, k = cmyk
        if black_text_k_only and what == "text" and k > RICH_BLACK_K and max(c, m, y) > 0:
            inks = f"C {c:.0%} M {m:.0%} Y {y:.0%} K {k:.0%}"
            yield "rich-black", f"text in rich black ({inks}); black text must be K alone"
        if sum(cmyk) > MAX_TOTAL_INK + 1e-6:
            yield "total-ink", f"{what} with {sum(cmyk):.0%} total ink; at most 240%"

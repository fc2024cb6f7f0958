"""Rules on each page's boxes: the trim size the book asked for, a TrimBox where bleed
or PDF/X needs one, bleed on the top, bottom and outside edges only, and a BleedBox
between the TrimBox and the MediaBox.
"""

from __future__ import annotations

from collections.abc import Iterator

from make_book.preflight.expectations import Expectations
from make_book.preflight.findings import Problem
from make_book.preflight.geometry import (
    POINTS_PER_INCH,
    TOLERANCE,
    PageBoxes,
    inches,
    inside_edge,
    is_recto,
)
from make_book.profiles import BLEED


def box_problems(index: int, boxes: PageBoxes, expected: Expectations) -> Iterator[Problem]:
    trim, (width, height) = boxes.trim, expected.trim_size
    if abs(trim.width - width) > TOLERANCE or abs(trim.height - height) > TOLERANCE:
        size = f"{inches(trim.width)} × {inches(trim.height)} in"
        yield "page-size", f"trim is {size}; expected {inches(width)} × {inches(height)} in"
    if expected.bleed and not boxes.has_trim_box:
        yield "page-size", "no TrimBox: a page with bleed must say where it is trimmed"
    elif expected.profile.identification.startswith("PDF/X") and not (
        boxes.has_trim_box or boxes.has_art_box
    ):
        yield "page-size", "no TrimBox: PDF/X needs one on every page"
    yield from _bleed(index, boxes, expected)
    if boxes.bleed_box is not None and not boxes.bleed_box.contains(trim):
        yield "page-size", "the BleedBox does not contain the TrimBox"
    if boxes.bleed_box is not None and not boxes.media.contains(boxes.bleed_box):
        yield "page-size", "the BleedBox reaches beyond the MediaBox"


def _bleed(index: int, boxes: PageBoxes, expected: Expectations) -> Iterator[Problem]:
    """How far the MediaBox reaches beyond the trim at each edge, against what it should."""
    wanted = _expected_bleed(index, expected.bleed, expected.profile.cover_sheet)
    actual = boxes.bleed()
    if any(abs(wanted[edge] - actual[edge]) > TOLERANCE for edge in wanted):
        page_side = "right-hand" if is_recto(index) else "left-hand"
        yield (
            "page-size",
            (
                f"the MediaBox reaches beyond the trim by {_describe_edges(actual)}; expected"
                f" {_describe_edges(wanted)} (a {page_side} page: no bleed at the gutter)"
            ),
        )


def _expected_bleed(index: int, bleed: bool, sheet: bool = False) -> dict[str, float]:
    """Bleed on the top, bottom and outside edges; none at the gutter, where pages bind.

    A cover sheet (`sheet`) is trimmed on all four edges, so it bleeds on all four.
    """
    size = BLEED * POINTS_PER_INCH if bleed else 0.0
    expected = dict.fromkeys(("top", "bottom", "left", "right"), size)
    if not sheet:
        expected[inside_edge(index)] = 0.0
    return expected


def _describe_edges(edges: dict[str, float]) -> str:
    return ", ".join(f"{edge} {inches(edges[edge])}" for edge in edges) + " in"

"""Where things are: points and inches, transformation matrices, a page's boxes, and
which side of the spread a page is on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pikepdf

from make_book.preflight.pdf_values import inherited, num

POINTS_PER_INCH = 72.0
TOLERANCE = 0.5  # points: a writer's rounding, never a real difference in a book

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def inches(points: float) -> str:
    return f"{points / POINTS_PER_INCH:.3f}".rstrip("0").rstrip(".")


def multiply(first: Matrix, then: Matrix) -> Matrix:
    """The matrix that applies `first`, then `then` (PDF's row-vector order)."""
    a, b, c, d, e, f = first
    a2, b2, c2, d2, e2, f2 = then
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def apply(matrix: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return a * x + c * y + e, b * x + d * y + f


def read_matrix(value: object) -> Matrix:
    """Six numbers, from an array in the file or an operator's operands."""
    if isinstance(value, (pikepdf.Array, list)) and len(value) == 6:
        a, b, c, d, e, f = (num(v) for v in value)
        return (a, b, c, d, e, f)
    return IDENTITY


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @classmethod
    def read(cls, value: object) -> Box | None:
        if not isinstance(value, pikepdf.Array) or len(value) != 4:
            return None
        x0, y0, x1, y1 = (num(v) for v in value)
        return cls(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def contains(self, other: Box) -> bool:
        return (
            other.x0 >= self.x0 - TOLERANCE
            and other.y0 >= self.y0 - TOLERANCE
            and other.x1 <= self.x1 + TOLERANCE
            and other.y1 <= self.y1 + TOLERANCE
        )

    def union(self, other: Box | None) -> Box:
        if other is None:
            return self
        return Box(
            min(self.x0, other.x0),
            min(self.y0, other.y0),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
        )


@dataclass(frozen=True)
class PageBoxes:
    media: Box
    trim: Box  # the TrimBox, or the MediaBox when there is none
    has_trim_box: bool
    bleed_box: Box | None
    has_art_box: bool

    @property
    def has_bleed(self) -> bool:
        return self.has_trim_box and not self.trim.contains(self.media)

    def bleed(self) -> dict[str, float]:
        """How far the MediaBox reaches beyond the trim at each edge, in points."""
        media, trim = self.media, self.trim
        return {
            "top": media.y1 - trim.y1,
            "bottom": trim.y0 - media.y0,
            "left": trim.x0 - media.x0,
            "right": media.x1 - trim.x1,
        }


def page_boxes(page: pikepdf.Object, read: Callable[[object], Box | None] = Box.read) -> PageBoxes:
    """The page's boxes; `read` reads one (a `BoxReader` of its file: faster)."""
    # A page without a usable MediaBox is US Letter to every reader.
    media = read(inherited(page, "/MediaBox")) or Box(0, 0, 612, 792)
    trim = read(page.get("/TrimBox"))
    return PageBoxes(
        media=media,
        trim=trim or media,
        has_trim_box=trim is not None,
        bleed_box=read(page.get("/BleedBox")),
        has_art_box=read(page.get("/ArtBox")) is not None,
    )


class BoxReader:
    """`Box.read` for the boxes of one file, each written form read once: a book's
    pages repeat a few boxes, and reading one's numbers element by element took most
    of the time the preflight spent on a 1,200-page book's boxes."""

    def __init__(self) -> None:
        self.boxes: dict[bytes, Box | None] = {}

    def __call__(self, value: object) -> Box | None:
        if not isinstance(value, pikepdf.Array):
            return None
        written = value.unparse()  # references too: the same in one file, the same object
        if written not in self.boxes:
            self.boxes[written] = Box.read(value)
        return self.boxes[written]


def is_recto(index: int) -> bool:
    """Page 1 (index 0) is a right-hand page: its outside edge is the right one."""
    return index % 2 == 0


def inside_edge(index: int) -> str:
    return "left" if is_recto(index) else "right"

"""What running a content stream keeps track of and records: the graphics state the
checks need, the images drawn, and a page's marks (fonts, graphics states, images
with their placed size, colours painted, the extent of its text).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pikepdf

from make_book.preflight.colour_spaces import BLACK, Colour, Space
from make_book.preflight.font_metrics import UNMEASURED, FontMetrics
from make_book.preflight.geometry import IDENTITY, Box, Matrix
from make_book.preflight.pdf_values import as_dict, key_of


@dataclass
class GraphicsState:
    """The parts of the graphics state the checks need (saved by q, restored by Q)."""

    ctm: Matrix = IDENTITY
    fill: Colour = BLACK
    stroke: Colour = BLACK
    font: FontMetrics = UNMEASURED
    font_size: float = 0.0
    char_spacing: float = 0.0
    word_spacing: float = 0.0
    horizontal_scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0
    render_mode: int = 0


@dataclass(frozen=True)
class Image:
    """What an image XObject or inline image is, wherever it is drawn."""

    pixels: tuple[int, int]
    space: Space | None  # None for a stencil mask, which paints with the fill colour
    soft_mask: bool


@dataclass
class Marks:
    """What a page's content draws, as the checks need it (dicts as ordered sets)."""

    placements: list[tuple[Image, float, float]] = field(default_factory=list)  # w, h in pt
    paints: dict[tuple[str, Colour], None] = field(default_factory=dict)  # (what, colour)
    fonts: dict[str, tuple[str, pikepdf.Object]] = field(default_factory=dict)  # -> (name, font)
    states: dict[str, tuple[str, pikepdf.Object]] = field(default_factory=dict)  # ExtGStates
    text_extent: Box | None = None

    @staticmethod
    def use(used: dict[str, tuple[str, pikepdf.Object]], name: str, obj: object) -> None:
        """Note a font or graphics state by its object (a direct one by its name)."""
        found = as_dict(obj)
        if found is not None:
            key = key_of(found)
            used.setdefault(f"{key}" if key is not None else f"direct {name}", (name, found))

    def merge(self, other: Marks) -> None:
        """Take in what a pattern or an appearance draws, but not where: its geometry is its own."""
        self.paints.update(other.paints)
        self.placements += [(image, 0.0, 0.0) for image, _, _ in other.placements]
        for key, value in other.fonts.items():
            self.fonts.setdefault(key, value)
        for key, value in other.states.items():
            self.states.setdefault(key, value)

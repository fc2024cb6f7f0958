"""The colour operators (g rg k cs sc scn, and their stroking twins in capitals): the
fill or stroke colour each sets, and the pattern an sc or scn may name.
"""

from __future__ import annotations

from decimal import Decimal

import pikepdf

from make_book.preflight.colour_spaces import (
    DEVICE_CMYK,
    DEVICE_GRAY,
    DEVICE_RGB,
    INITIAL_VALUES,
    Colour,
    colour_space,
)
from make_book.preflight.marks import GraphicsState
from make_book.preflight.pdf_values import lookup, num

COLOUR_SETTERS = {"g", "G", "rg", "RG", "k", "K", "cs", "CS", "sc", "scn", "SC", "SCN"}


def set_colour(
    op: str, args: list[pikepdf.Object], state: GraphicsState, resources: pikepdf.Object
) -> pikepdf.Object | None:
    """Set the colour; return the pattern it paints with, if any, for the caller to run."""
    stroking = op.isupper()
    values = tuple(num(a) for a in args if isinstance(a, (int, float, Decimal)))
    setter = op.lower()
    pattern = None
    if setter == "g":
        colour = Colour(DEVICE_GRAY, values)
    elif setter == "rg":
        colour = Colour(DEVICE_RGB, values)
    elif setter == "k":
        colour = Colour(DEVICE_CMYK, values)
    elif setter == "cs":
        space = colour_space(args[0] if args else None, resources)
        colour = Colour(space, INITIAL_VALUES.get(space.family, ()))
    else:  # sc, scn: values in the current space, and a pattern when a name ends them
        colour = Colour((state.stroke if stroking else state.fill).space, values)
        pattern = lookup(resources, "/Pattern", args[-1]) if args else None
    if stroking:
        state.stroke = colour
    else:
        state.fill = colour
    return pattern

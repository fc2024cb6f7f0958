"""Colour spaces and colours as the rules see them: a family (gray, RGB, CMYK, spot…)
for the rule, a label for the message, and the values painted with.
"""

from __future__ import annotations

from dataclasses import dataclass

import pikepdf

from make_book.preflight.pdf_values import entry, lookup, name_of, num


@dataclass(frozen=True)
class Space:
    family: str  # "gray", "rgb", "cmyk", "spot", "pattern" or "unknown"
    label: str  # for people: "DeviceRGB", "ICCBased RGB", "Indexed DeviceRGB"…


DEVICE_GRAY = Space("gray", "DeviceGray")
DEVICE_RGB = Space("rgb", "DeviceRGB")
DEVICE_CMYK = Space("cmyk", "DeviceCMYK")
PATTERN = Space("pattern", "Pattern")
UNKNOWN_SPACE = Space("unknown", "unknown")
_NAMED_SPACES = {
    "DeviceGray": DEVICE_GRAY,
    "G": DEVICE_GRAY,  # the abbreviations are inline images'
    "DeviceRGB": DEVICE_RGB,
    "RGB": DEVICE_RGB,
    "DeviceCMYK": DEVICE_CMYK,
    "CMYK": DEVICE_CMYK,
    "Pattern": PATTERN,
}
_ICC_SPACES = {
    1: Space("gray", "ICCBased gray"),
    3: Space("rgb", "ICCBased RGB"),
    4: Space("cmyk", "ICCBased CMYK"),
}


def colour_space(value: object, resources: pikepdf.Object | None, depth: int = 0) -> Space:
    """Classify a colour space given by name or array, resolving resource names."""
    name = name_of(value)
    if depth > 4:  # spaces built on spaces: no real file goes this deep
        return UNKNOWN_SPACE
    if name in _NAMED_SPACES:
        return _NAMED_SPACES[name]
    if name:
        named = lookup(resources, "/ColorSpace", value) if resources is not None else None
        return colour_space(named, resources, depth + 1) if named is not None else UNKNOWN_SPACE
    if not isinstance(value, pikepdf.Array) or len(value) == 0:
        return UNKNOWN_SPACE
    return _array_space(value, resources, depth)


def _array_space(value: pikepdf.Array, resources: pikepdf.Object | None, depth: int) -> Space:
    """A space given as an array: its first item says what kind, the rest what it is built on."""
    kind = name_of(value[0])
    if kind in ("CalRGB", "Lab"):
        return Space("rgb", kind)
    if kind == "CalGray":
        return Space("gray", kind)
    if kind == "ICCBased" and len(value) > 1:
        return _ICC_SPACES.get(int(num(entry(value[1], "/N"))), UNKNOWN_SPACE)
    if kind in ("Indexed", "I", "Pattern") and len(value) > 1:
        base = colour_space(value[1], resources, depth + 1)  # the space of the values
        return Space(base.family, f"{kind} {base.label}")
    if kind in ("Separation", "DeviceN") and len(value) > 2:
        alternate = colour_space(value[2], resources, depth + 1)
        family = "rgb" if alternate.family == "rgb" else "spot"
        return Space(family, f"{kind} over {alternate.label}")
    return _NAMED_SPACES.get(kind, UNKNOWN_SPACE)


@dataclass(frozen=True)
class Colour:
    space: Space
    values: tuple[float, ...] = ()

    @property
    def cmyk(self) -> tuple[float, float, float, float] | None:
        if self.space.family != "cmyk" or len(self.values) != 4:
            return None
        c, m, y, k = self.values
        return c, m, y, k


BLACK = Colour(DEVICE_GRAY, (0.0,))
INITIAL_VALUES = {"gray": (0.0,), "rgb": (0.0, 0.0, 0.0), "cmyk": (0.0, 0.0, 0.0, 1.0)}

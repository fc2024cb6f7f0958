"""Reading values out of a PDF's objects, leniently: a number, a name, a dictionary entry.

A malformed file has a string where a number belongs or an array where a dictionary
does; these readers give a default instead of raising, so one bad value becomes at
most one finding rather than a crash.
"""

from __future__ import annotations

from decimal import Decimal

import pikepdf

Key = tuple[int, int]  # an indirect object's number and generation


def num(value: object, default: float = 0.0) -> float:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return float(value)
    return default


def name_of(value: object) -> str:
    """A PDF name without its slash ("DeviceRGB"), or "" for anything else."""
    return str(value)[1:] if isinstance(value, pikepdf.Name) else ""


def text_of(value: object) -> str:
    return str(value) if isinstance(value, pikepdf.String) else ""


def is_true(value: object) -> bool:
    return value is True


def as_dict(value: object) -> pikepdf.Object | None:
    """The value if it is a dictionary (a stream's dictionary counts), else None."""
    return value if isinstance(value, (pikepdf.Dictionary, pikepdf.Stream)) else None


def entry(value: object, key: str) -> object:
    """value[key] when value is a dictionary, else None."""
    dictionary = as_dict(value)
    return dictionary.get(key) if dictionary is not None else None


def lookup(resources: pikepdf.Object, category: str, name: object) -> pikepdf.Object | None:
    """The resource an operand names (/F1, /Im0) in a category such as /Font."""
    group = as_dict(resources.get(category))
    if group is None or not isinstance(name, pikepdf.Name):
        return None
    return group.get(str(name))


def key_of(obj: pikepdf.Object) -> Key | None:
    """A cache key for an indirect object; direct objects have none that lasts."""
    return obj.objgen if obj.is_indirect else None


def inherited(page: pikepdf.Object, key: str) -> object:
    """A page attribute that may sit on a parent node of the page tree (MediaBox, Resources)."""
    node: pikepdf.Object | None = page
    for _ in range(64):  # a page tree deeper than this is a loop
        if node is None:
            break
        if key in node:
            return node[key]
        node = as_dict(node.get("/Parent"))
    return None

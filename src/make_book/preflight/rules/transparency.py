"""The transparency rule, for files that must be flattened (PDF/X-1a, gray presses):
no graphics state that makes drawing see-through, and no image with a soft mask.
"""

from __future__ import annotations

from collections.abc import Iterator

import pikepdf

from make_book.preflight.findings import Problem
from make_book.preflight.marks import Marks
from make_book.preflight.pdf_values import as_dict, name_of, num


def transparency_problems(marks: Marks) -> Iterator[Problem]:
    for name, state in marks.states.values():
        yield from _graphics_state(name, state)
    for image, _, _ in marks.placements:
        if image.soft_mask:
            width, height = image.pixels
            yield "transparency", f"image {width}×{height} px has a soft mask (alpha)"


def _graphics_state(name: str, state: pikepdf.Object) -> Iterator[Problem]:
    """What in a graphics state makes what it draws see-through."""
    if as_dict(state) is None:
        return
    for key in ("/CA", "/ca"):
        if num(state.get(key), 1.0) < 1:
            yield "transparency", f"graphics state {name} sets {key} {num(state[key]):g}"
    soft_mask = state.get("/SMask")
    if soft_mask is not None and name_of(soft_mask) != "None":
        yield "transparency", f"graphics state {name} sets a soft mask"
    blend = state.get("/BM")
    if isinstance(blend, pikepdf.Array):
        blend = blend[0] if len(blend) else None  # a list: readers use the first they know
    if blend is not None and name_of(blend) not in ("Normal", "Compatible"):
        yield "transparency", f"graphics state {name} sets blend mode {blend}"

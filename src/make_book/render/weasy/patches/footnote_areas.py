"""A page's footnote area laid out once for each set of footnotes, not again at the end.

WeasyPrint 70 lays a page's footnote area out each time a footnote call is placed
(`LayoutContext._update_footnote_area`, for the area's height), and once more when the
page is finished (`make_page`), with the same footnotes, in the same place: the last
of those layouts again. On the synthetic stress book (four notes an essay) the
footnote areas took a sixth of the pagination, a quarter of it that last layout. Here
each area keeps what each layout of it gave, under its footnotes and what else of the
page the layout reads; a layout asked again with the same is given what was kept.

What a footnote area's layout reads of the page, beside its footnotes and its own
place and width (the same for every layout of one area): the page number, whether the
page began with a forced break (margins at the top of a page), whether it is laid out
in columns, and the floats of the current formatting context. They are part of the
key. The footnotes are laid out from copies each time, so a kept layout shares nothing
with the page's boxes; an area with a float, a positioned or a running box in a footnote (whose
layout adds to the page's) is laid out anew each time, as WeasyPrint does.

Replaces: `block_level_layout` as `weasyprint.layout` (for `_update_footnote_area`)
and `weasyprint.layout.page` (for `make_page`) call it, with a function that passes
every other box through to WeasyPrint's.
Guarded: WeasyPrint 70.x, `block_level_layout` with the parameters written for, both
callers calling it through their module's name, the layout context having the
attributes read. Otherwise not installed, and every layout is WeasyPrint's.
Installed by `make_book.render.weasy.patches.install()`, for the process's life.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import weasyprint.layout as layout_package
import weasyprint.layout.block as block
import weasyprint.layout.page as page_module
from weasyprint.formatting_structure import boxes

from make_book.render.weasy.patches.fence import (
    ShapeChanged,
    expect_function,
    expect_global_calls,
    expect_weasyprint,
)

PARAMS = (
    "context",
    "box",
    "bottom_space",
    "skip_stack",
    "containing_block",
    "page_is_empty",
    "absolute_boxes",
    "fixed_boxes",
    "adjoining_margins",
    "first_letter_style",
    "first_line_style",
    "discard",
    "max_lines",
)
CALLERS = (layout_package, page_module)
_original = block.block_level_layout  # never replaced in `block` itself
_KEPT = "_make_book_layouts"  # the attribute of a footnote area holding its layouts
_IN_FLOW = "_make_book_in_flow"  # the attribute of a footnote saying _in_flow's verdict
_LOCK = threading.Lock()


def shape_problem() -> str | None:
    """What in this WeasyPrint differs from what the patch was written for (None: nothing)."""
    try:
        expect_weasyprint()
        expect_function(block, "block_level_layout", PARAMS)
        expect_global_calls(
            layout_package.LayoutContext._update_footnote_area, "block_level_layout"
        )
        expect_global_calls(page_module.make_page, "block_level_layout")
        for caller in CALLERS:
            if getattr(caller, "block_level_layout", None) not in (_original, block_level_layout):
                raise ShapeChanged(f"{caller.__name__}.block_level_layout is not WeasyPrint's")
        assigned = layout_package.LayoutContext.__init__.__code__.co_names
        for name in ("current_footnote_area", "forced_break", "in_column", "current_page"):
            if name not in assigned:
                raise ShapeChanged(f"the layout context has no {name}")
        if not isinstance(getattr(layout_package.LayoutContext, "excluded_shapes", None), property):
            raise ShapeChanged("the layout context has no excluded_shapes")
    except ShapeChanged as changed:
        return str(changed)
    return None


def install() -> bool:
    """Keep footnote areas' layouts from now on in this process if this WeasyPrint fits
    (idempotent); whether they are kept."""
    with _LOCK:
        if installed():
            return True
        if shape_problem() is not None:
            return False
        for caller in CALLERS:
            caller.block_level_layout = block_level_layout
        return True


def installed() -> bool:
    """Whether footnote areas' layouts are kept now."""
    return all(getattr(c, "block_level_layout", None) is block_level_layout for c in CALLERS)


def block_level_layout(
    context: Any,
    box: Any,
    bottom_space: float,
    skip_stack: Any,
    containing_block: Any,
    page_is_empty: bool = True,
    absolute_boxes: list[Any] | None = None,
    fixed_boxes: list[Any] | None = None,
    adjoining_margins: list[float] | None = None,
    first_letter_style: Any = None,
    first_line_style: Any = None,
    discard: bool = False,
    max_lines: int | None = None,
) -> Any:
    """WeasyPrint's `block_level_layout`; a footnote area's layout kept and given again."""
    area = getattr(context, "current_footnote_area", None)
    whole_area = (
        isinstance(box, boxes.FootnoteAreaBox)
        and area is not None
        and bottom_space == -math.inf
        and skip_stack is None
        and containing_block is area.page
        and page_is_empty
        and not adjoining_margins
        and first_letter_style is None
        and first_line_style is None
        and not discard
        and max_lines is None
    )
    if not whole_area:
        return _original(
            context,
            box,
            bottom_space,
            skip_stack,
            containing_block,
            page_is_empty,
            absolute_boxes,
            fixed_boxes,
            adjoining_margins,
            first_letter_style,
            first_line_style,
            discard,
            max_lines,
        )
    return _area_layout(context, area, box, absolute_boxes, fixed_boxes)


def _area_layout(
    context: Any,
    area: Any,
    box: Any,
    absolute_boxes: list[Any] | None,
    fixed_boxes: list[Any] | None,
) -> Any:
    """The layout of `box`, a copy of the page's footnote area `area`, kept on `area`."""
    if not all(map(_in_flow, area.children)):  # the layout adds to the page's: done anew
        return _original(
            context, box, -math.inf, None, area.page, True, absolute_boxes, fixed_boxes
        )
    key = (
        tuple(map(id, area.children)),  # the footnotes, alive while the area holds them
        context.forced_break,
        context.in_column,
        context.current_page,
        tuple(map(id, context.excluded_shapes)),  # floats, held by the context
    )
    kept: dict[tuple[Any, ...], Any] = area.__dict__.setdefault(_KEPT, {})
    if key not in kept:
        kept[key] = _original(context, box, -math.inf, None, area.page, True, None, None)
    return kept[key]


def _in_flow(footnote: Any) -> bool:
    """Whether all in the footnote is in the normal flow: no float, positioned or running
    box, whose layout would add to the page's (its floats, the boxes it places last).
    Remembered on the footnote."""
    verdict: bool | None = footnote.__dict__.get(_IN_FLOW)
    if verdict is None:
        inside = footnote.descendants()
        next(inside)  # the footnote itself, out of the flow as footnotes are
        verdict = footnote.__dict__[_IN_FLOW] = all(
            not isinstance(b, boxes.Box) or b.is_in_normal_flow() for b in inside
        )
    return verdict

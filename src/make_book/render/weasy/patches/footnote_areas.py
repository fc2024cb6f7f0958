"""A page's footnote area laid out once for each set of footnotes, not again at the end.

WeasyPrint 70 lays a page's footnote area out each time a footnote call is placed
(`LayoutContext._update_footnote_area`, for the area's height), and once more when the
page is finished (`make_page`), with the same footnotes, in the same place: the last
of those layouts again. On the synthetic stress book (four notes an essay) the
footnote areas took a sixth of the pagination, a quarter of it that last layout. Here
the layouts of the page's area are kept while the page is laid out, under its footnotes,
the page number and whether the page began with a forced break (the margins at its
top), and a layout asked again with the same is given what was kept; the page's own
last layout takes it and lets the rest go. They are kept beside the layout context,
not on the area: WeasyPrint copies a box's attributes into its copies, and the page
would then hold every layout of its area.

Only an area whose layout does nothing but lay out its boxes is kept: none in columns,
with no float in the current formatting context, its footnotes all in the normal flow
(no float, positioned or running box, whose layout adds to the page's), with no
columns, table, flex or grid box (whose layout may keep state in the context or warn)
and no footnote call. Any other is laid out anew each time, as WeasyPrint does. The
footnotes are laid out from copies each time, so a kept layout shares nothing with the
page's boxes.

Replaces: `block_level_layout` as `weasyprint.layout` (for `_update_footnote_area`)
and `weasyprint.layout.page` (for `make_page`) call it, with a function that passes
every other box through to WeasyPrint's.
Guarded: WeasyPrint 70.0, `block_level_layout` with the parameters written for, both
callers calling it through their module's name and being the ones this was written
against (their source's sha256), the layout context having the attributes read.
Otherwise not installed, and every layout is WeasyPrint's.
Installed by `make_book.render.weasy.patches.install()`, for the process's life.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any

import weasyprint.layout as layout_package
import weasyprint.layout.block as block
import weasyprint.layout.page as page_module
from weasyprint.formatting_structure import boxes

from make_book.render.weasy.patches.fence import (
    WEASYPRINT_RELEASE,
    ShapeChanged,
    expect_function,
    expect_global_calls,
    expect_sources,
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
_KEPT = "_make_book_footnote_area"  # the context's attribute: (area, its kept layouts)
_PLAIN = "_make_book_plain"  # the attribute of a footnote saying _plain_footnote's verdict
# Boxes whose layout may warn or keep state in the context: laid out anew every time.
NOT_PLAIN = ("TableBox", "InlineTableBox", "FlexContainerBox", "GridContainerBox")
_LOCK = threading.Lock()


def shape_problem() -> str | None:
    """What in this WeasyPrint differs from what the patch was written for (None: nothing)."""
    try:
        expect_weasyprint(WEASYPRINT_RELEASE)
        expect_function(block, "block_level_layout", PARAMS)
        expect_sources(_callers_digests())
        for name in NOT_PLAIN:
            if not isinstance(getattr(boxes, name, None), type):
                raise ShapeChanged(f"weasyprint.formatting_structure.boxes.{name} is missing")
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


def _callers_digests() -> dict[Any, str]:
    """The callers as WeasyPrint 70.0 has them (inspect.getsource), read against this code
    (looked up when checked: another WeasyPrint may lack them)."""
    context = getattr(layout_package, "LayoutContext", None)
    return {
        getattr(context, "_update_footnote_area", None): (
            "2e317e4b066fb80cb369a41cd6f054a127722f9961c18ef4d6e1eef93673c4c1"
        ),
        getattr(page_module, "make_page", None): (
            "656f183328e8b1b56311a342621442056c067422958dcaf6730acdfb6c7b8971"
        ),
    }


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
    """The layout of `box`, a copy of the page's footnote area `area`: kept while the page
    is laid out (on the context, not on the area, whose copies would carry it into the
    page), given again for the same, and let go once the page takes it."""
    final = absolute_boxes is not None  # make_page's call, which collects positioned boxes
    take = context.__dict__.pop if final else context.__dict__.get  # the page's last: let go
    held, kept = take(_KEPT, (None, {}))
    if not _plain(context, area):  # the layout has more effects than its boxes: anew
        return _original(
            context, box, -math.inf, None, area.page, True, absolute_boxes, fixed_boxes
        )
    if held is not area:  # another page: what was kept for the last one goes
        kept = {}
        if not final:
            context.__dict__[_KEPT] = (area, kept)
    key = (tuple(map(id, area.children)), context.forced_break, context.current_page)
    laid_out = kept.get(key)
    if laid_out is None:
        laid_out = _original(context, box, -math.inf, None, area.page, True, None, None)
        kept[key] = laid_out
    return laid_out


def _plain(context: Any, area: Any) -> bool:
    """Whether the area's layout does nothing but lay out its boxes: not in columns, no
    float in the current formatting context, and every footnote plain
    (`_plain_footnote`)."""
    return (
        not context.in_column
        and not context.excluded_shapes
        and area.style["column_count"] == "auto"
        and area.style["column_width"] == "auto"
        and all(map(_plain_footnote, area.children))
    )


def _plain_footnote(footnote: Any) -> bool:
    """Whether all in the footnote is in the normal flow, with no columns, table, grid or
    flex box and no footnote call: no float, positioned or running box whose layout adds
    to the page's, no layout that changes the context or warns. Remembered per footnote."""
    verdict: bool | None = footnote.__dict__.get(_PLAIN)
    if verdict is None:
        inside = footnote.descendants()
        next(inside)  # the footnote itself, out of the flow as footnotes are
        verdict = footnote.__dict__[_PLAIN] = all(map(_plain_box, inside))
    return verdict


@functools.cache
def _not_plain_types() -> tuple[type, ...]:
    return tuple(getattr(boxes, name) for name in NOT_PLAIN)


def _plain_box(box: Any) -> bool:
    if not isinstance(box, boxes.Box):
        return True
    return (
        box.is_in_normal_flow()
        and not isinstance(box, _not_plain_types())
        and getattr(box, "footnote", None) is None
        and box.style["column_count"] == "auto"
        and box.style["column_width"] == "auto"
    )

"""Dotted leaders (the contents' `leader(" . ")`) set as one run of text per line.

WeasyPrint 70 fills a leader with one copy of its text box per repetition: on a
300-essay book's contents, about 6,500 boxes, each shaped, drawn and tagged alone.
That took more than half of the front matter's time and 17 MB of its memory
(measured on the stress book: 2.9 s against 1.3 s without leaders). After WeasyPrint
has placed the copies, `install` replaces them with one text box holding the same
dots, shaped once: the same glyphs at the same places, so the dots still line up
from line to line.

Replaces: `weasyprint.layout.inline.handle_leader` (WeasyPrint 70.0's, imported from
`layout/leader.py` and called by `iter_line_boxes` by that name), with a wrapper that
calls it and then swaps the copies for the run.
Guarded: WeasyPrint 70.x, `handle_leader`, `leader_index`, `split_first_line` and
`TextBox.copy_with_text` there with the parameters written for, `iter_line_boxes`
calling `handle_leader` by its module's name. Otherwise not installed: the copies
stay, in the pieces and the one-document layout alike. Where a run does not measure
the same as the copies, that line's copies stay too.
Installed by `make_book.render.weasy.patches.install()`, for the process's life: every
layout in the process, the pieces' and the one-document reference's, sets leaders so.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import weasyprint.layout.inline as inline
import weasyprint.layout.leader as leader_module
import weasyprint.text.line_break as line_break
from weasyprint.formatting_structure import boxes

from make_book.render.weasy.patches.fence import (
    ShapeChanged,
    expect_function,
    expect_global_calls,
    expect_weasyprint,
)

# WeasyPrint's own, even if this module is imported again (then the current one is ours).
_original_handle_leader = getattr(
    getattr(inline, "handle_leader", None), "__wrapped__", getattr(inline, "handle_leader", None)
)
TOLERANCE = 0.01  # CSS px: what one run may differ from the copies laid end to end
_LOCK = threading.Lock()


def shape_problem() -> str | None:
    """What in this WeasyPrint differs from what the patch was written for (None: nothing)."""
    try:
        expect_weasyprint()
        if _original_handle_leader is None:
            raise ShapeChanged("weasyprint.layout.inline.handle_leader is missing")
        expect_function(leader_module, "handle_leader", ("context", "line", "containing_block"))
        expect_function(leader_module, "leader_index", ("box",))
        expect_global_calls(inline.iter_line_boxes, "handle_leader")
        expect_function(
            line_break,
            "split_first_line",
            ("text", "style", "context", "max_width", "justification_spacing")
            + ("is_line_start", "minimum"),
        )
        expect_function(boxes.TextBox, "copy_with_text", ("self", "text"))
    except ShapeChanged as changed:
        return str(changed)
    except AttributeError as missing:
        return str(missing)
    return None


def install() -> bool:
    """Set leaders as runs from now on in this process if this WeasyPrint fits (idempotent);
    whether they are."""
    with _LOCK:
        if installed():
            return True
        if shape_problem() is not None:
            return False
        inline.handle_leader = _leader_as_run
        return True


def installed() -> bool:
    """Whether WeasyPrint sets leaders as runs now."""
    return getattr(inline, "handle_leader", None) is _leader_as_run


def _leader_as_run(context: Any, line: Any, containing_block: Any) -> None:
    assert _original_handle_leader is not None
    _original_handle_leader(context, line, containing_block)
    _, leader = leader_module.leader_index(line)
    if leader is None or len(leader.children) < 2:
        return
    # WeasyPrint adds the copies from the right; they abut, the leftmost is the first.
    first = min(leader.children, key=lambda box: box.position_x)
    run = _run(context, first, len(leader.children))
    if run is not None:
        leader.children = (run,)


def _run(context: Any, unit: Any, count: int) -> Any | None:
    """One text box with `count` times the unit's text, or None if it would not match."""
    text = unit.text * count
    layout, length, _, width, _, _ = line_break.split_first_line(
        text, unit.style, context, math.inf, 0, is_line_start=False
    )
    if length != len(text.encode()) or abs(width - unit.width * count) > TOLERANCE:
        return None
    run = unit.copy_with_text(text)
    run.pango_layout, run.width = layout, width
    return run


_leader_as_run.__wrapped__ = _original_handle_leader  # type: ignore[attr-defined]

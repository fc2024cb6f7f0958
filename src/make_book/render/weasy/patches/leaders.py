"""Dotted leaders (the contents' `leader(" . ")`) set as one run of text per line.

WeasyPrint 70 fills a leader with one copy of its text box per repetition: on a
300-essay book's contents, about 6,500 boxes, each shaped, drawn and tagged alone.
That took more than half of the front matter's time and 17 MB of its memory
(measured on the stress book: 2.9 s against 1.3 s without leaders). After WeasyPrint
has placed the copies, `install` replaces them with one text box holding the same
dots, shaped once: the same glyphs at the same places, so the dots still line up
from line to line.

Wraps one internal (`weasyprint.layout.inline.handle_leader`); where it is missing,
or a run does not measure the same as the copies, the copies stay as they were.
"""

from __future__ import annotations

import math
from typing import Any

import weasyprint.layout.inline as inline
from weasyprint.layout.leader import leader_index
from weasyprint.text.line_break import split_first_line

_original_handle_leader = getattr(inline, "handle_leader", None)
TOLERANCE = 0.01  # CSS px: what one run may differ from the copies laid end to end


def install() -> None:
    """Set leaders as runs from now on in this process (idempotent)."""
    if _original_handle_leader is None or getattr(inline, "_make_book_leaders", False):
        return
    inline.handle_leader = _leader_as_run
    inline._make_book_leaders = True


def _leader_as_run(context: Any, line: Any, containing_block: Any) -> None:
    assert _original_handle_leader is not None
    _original_handle_leader(context, line, containing_block)
    _, leader = leader_index(line)
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
    layout, length, _, width, _, _ = split_first_line(
        text, unit.style, context, math.inf, 0, is_line_start=False
    )
    if length != len(text.encode()) or abs(width - unit.width * count) > TOLERANCE:
        return None
    run = unit.copy_with_text(text)
    run.pango_layout, run.width = layout, width
    return run

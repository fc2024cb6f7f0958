"""Following text through a content stream: the text-state operators, the moves to a
new line, and how far each shown string reaches, which grows the page's text extent.
"""

from __future__ import annotations

import pikepdf

from make_book.preflight.geometry import Box, Matrix, apply, multiply, read_matrix
from make_book.preflight.marks import GraphicsState, Marks
from make_book.preflight.pdf_values import num
from make_book.preflight.shown_strings import split_shown

TEXT_ASCENT = 0.8  # of the font size: the top of the text, for its extent on the page
LINE_MOVES = {"Td", "TD", "T*", "Tm", "'", '"'}
TEXT_SHOWS = {"Tj", "TJ", "'", '"'}  # ' and " move to the next line, then show
TEXT_STATE = {"TL", "Tc", "Tw", "Tz", "Ts", "Tr"}


def set_text_state(op: str, args: list[pikepdf.Object], state: GraphicsState) -> None:
    value = num(args[0]) if args else 0.0
    if op == "TL":
        state.leading = value
    elif op == "Tc":
        state.char_spacing = value
    elif op == "Tw":
        state.word_spacing = value
    elif op == "Tz":
        state.horizontal_scale = value / 100
    elif op == "Ts":
        state.rise = value
    elif op == "Tr":
        state.render_mode = int(value)


def move_line(
    op: str, args: list[pikepdf.Object], state: GraphicsState, line_matrix: Matrix
) -> Matrix:
    """Td, TD, T*, Tm, and the move to the next line that ' and " begin with."""
    if op == "Tm":
        return read_matrix(args)
    if op == '"' and len(args) == 3:
        state.word_spacing, state.char_spacing = num(args[0]), num(args[1])
    if op in ("Td", "TD") and len(args) == 2:
        dx, dy = num(args[0]), num(args[1])
        if op == "TD":
            state.leading = -dy
    else:
        dx, dy = 0.0, -state.leading
    return multiply((1.0, 0.0, 0.0, 1.0, dx, dy), line_matrix)


def show(shown: pikepdf.Object, state: GraphicsState, text_matrix: Matrix, marks: Marks) -> Matrix:
    """Measure a shown string, record its extent and colour; return the moved text matrix."""
    strings, adjustment = split_shown(shown)
    advance = state.font.advance(strings, state.font_size, state.char_spacing, state.word_spacing)
    # A TJ number is in thousandths of the font size, against the writing direction.
    x = (advance - adjustment / 1000 * state.font_size) * state.horizontal_scale
    mode = state.render_mode % 4  # modes 4-7 are 0-3 adding a clip
    if mode != 3 and state.font_size:  # mode 3 is invisible (an OCR layer): nothing printed
        _record_text(min(0.0, x), max(0.0, x), state, text_matrix, marks)
        if mode in (0, 2):
            marks.paints["text", state.fill] = None
        if mode in (1, 2):
            marks.paints["text", state.stroke] = None
    return multiply((1.0, 0.0, 0.0, 1.0, x, 0.0), text_matrix)


def _record_text(
    low: float, high: float, state: GraphicsState, text_matrix: Matrix, marks: Marks
) -> None:
    """Grow the page's text extent by a run from its baseline start to its end and top."""
    to_page = multiply(text_matrix, state.ctm)
    bottom, top = state.rise, state.rise + TEXT_ASCENT * state.font_size
    corners = [apply(to_page, x, y) for x in (low, high) for y in (bottom, top)]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    marks.text_extent = Box(min(xs), min(ys), max(xs), max(ys)).union(marks.text_extent)

"""Running a page's content streams: each operator the checks care about, followed into
the forms it draws, the patterns it paints with and its annotations' appearances, and
recorded as the page's marks.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import pikepdf

from make_book.preflight.colour_operators import COLOUR_SETTERS, set_colour
from make_book.preflight.colour_spaces import Colour, colour_space
from make_book.preflight.geometry import IDENTITY, multiply, read_matrix
from make_book.preflight.marks import GraphicsState, Image, Marks
from make_book.preflight.parsed import Instructions, Parsed, inline_image, parse
from make_book.preflight.pdf_values import (
    Key,
    as_dict,
    entry,
    inherited,
    key_of,
    lookup,
    name_of,
    num,
)
from make_book.preflight.resources import appearance_streams
from make_book.preflight.text import (
    LINE_MOVES,
    TEXT_SHOWS,
    TEXT_STATE,
    move_line,
    set_text_state,
    show,
)

MAX_FORM_DEPTH = 16  # forms drawing forms: deeper than any real file, shallower than a loop

_PATH_PAINTS = {  # operator -> (fills, strokes)
    "f": (True, False),
    "F": (True, False),
    "f*": (True, False),
    "S": (False, True),
    "s": (False, True),
    "B": (True, True),
    "B*": (True, True),
    "b": (True, True),
    "b*": (True, True),
}


class Interpreter:
    """Runs content streams, caching what does not depend on where a thing is drawn.

    `measure_text`: measure each shown string, for profiles that check margins or
    colours; measuring is most of the work, and a screen PDF needs neither.
    """

    def __init__(self, measure_text: bool = True) -> None:
        self.measure_text = measure_text
        self._parsed = Parsed()
        self._patterns: dict[Key, Marks] = {}

    def page(self, page: pikepdf.Page) -> Marks:
        marks = Marks()
        resources = as_dict(inherited(page.obj, "/Resources")) or pikepdf.Dictionary()
        self._run(parse(page), resources, GraphicsState(), marks)
        for stream in appearance_streams(page.obj):
            appearance = Marks()
            own = as_dict(stream.get("/Resources")) or resources
            self._run(self._parsed.instructions(stream), own, GraphicsState(), appearance)
            marks.merge(appearance)
        return marks

    def _run(
        self,
        instructions: Instructions,
        resources: pikepdf.Object,
        state: GraphicsState,
        marks: Marks,
        forms: frozenset[Key] = frozenset(),  # the forms being drawn: a loop guard
    ) -> None:
        saved: list[GraphicsState] = []
        text_matrix = line_matrix = IDENTITY
        for instruction in instructions:
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                self._place(inline_image(instruction.iimage, resources), state, marks)
                continue
            op = str(instruction.operator)
            args = list(instruction.operands)
            # What this loop holds itself (the saved states, the text matrices) changes
            # here; every other operator changes the state or the marks, in _operate.
            if op == "q":
                saved.append(copy.copy(state))
            elif op == "Q" and saved:
                state = saved.pop()
            elif op == "BT":
                text_matrix = line_matrix = IDENTITY
            elif op in LINE_MOVES:
                text_matrix = line_matrix = move_line(op, args, state, line_matrix)
            elif op not in TEXT_SHOWS:
                self._operate(op, args, state, resources, marks, forms)
            if op in TEXT_SHOWS and args and self.measure_text:  # ' and " move lines first
                text_matrix = show(args[-1], state, text_matrix, marks)

    def _operate(
        self,
        op: str,
        args: list[pikepdf.Object],
        state: GraphicsState,
        resources: pikepdf.Object,
        marks: Marks,
        forms: frozenset[Key],
    ) -> None:
        """One operator that changes the graphics state or draws (not text positioning)."""
        if op == "cm":
            state.ctm = multiply(read_matrix(args), state.ctm)
        elif op == "gs" and args:
            marks.use(marks.states, str(args[0]), lookup(resources, "/ExtGState", args[0]))
        elif op == "Tf" and len(args) == 2:
            font = lookup(resources, "/Font", args[0])
            marks.use(marks.fonts, str(args[0]), font)
            state.font, state.font_size = self._parsed.metrics(font), num(args[1])
        elif op in TEXT_STATE:
            set_text_state(op, args, state)
        elif op in COLOUR_SETTERS:
            pattern = set_colour(op, args, state, resources)
            if pattern is not None:  # what a pattern paints is drawn wherever it is used
                marks.merge(self._pattern(pattern))
        elif op in _PATH_PAINTS:
            fills, strokes = _PATH_PAINTS[op]
            if fills:
                marks.paints["paths", state.fill] = None
            if strokes:
                marks.paints["paths", state.stroke] = None
        elif op == "sh" and args:
            shading = lookup(resources, "/Shading", args[0])
            space = colour_space(entry(shading, "/ColorSpace"), resources)
            marks.paints["shadings", Colour(space)] = None
        elif op == "Do" and args:
            self._draw(lookup(resources, "/XObject", args[0]), resources, state, marks, forms)

    def _draw(
        self,
        xobject: pikepdf.Object | None,
        resources: pikepdf.Object,
        state: GraphicsState,
        marks: Marks,
        forms: frozenset[Key],
    ) -> None:
        if not isinstance(xobject, pikepdf.Stream):
            return
        subtype = name_of(xobject.get("/Subtype"))
        if subtype == "Image":
            self._place(self._parsed.image(xobject, resources), state, marks)
        elif subtype == "Form":
            key = key_of(xobject)
            if key is None or key in forms or len(forms) >= MAX_FORM_DEPTH:
                return
            inner = replace(state, ctm=multiply(read_matrix(xobject.get("/Matrix")), state.ctm))
            own = as_dict(xobject.get("/Resources")) or resources
            self._run(self._parsed.instructions(xobject), own, inner, marks, forms | {key})

    def _pattern(self, pattern: pikepdf.Object) -> Marks:
        """What a pattern paints with: its shading's space, or its tile's colours and images."""
        key = key_of(pattern)
        if key is not None and key in self._patterns:
            return self._patterns[key]
        marks = Marks()
        if key is not None:
            self._patterns[key] = marks  # filled in below; a tile using itself stops here
        shading = entry(pattern, "/Shading")
        if shading is not None:
            space = colour_space(entry(shading, "/ColorSpace"), None)
            marks.paints["shadings", Colour(space)] = None
        elif isinstance(pattern, pikepdf.Stream):
            resources = as_dict(pattern.get("/Resources")) or pikepdf.Dictionary()
            self._run(self._parsed.instructions(pattern), resources, GraphicsState(), marks)
        return marks

    def _place(self, image: Image, state: GraphicsState, marks: Marks) -> None:
        """An image fills the CTM's unit square: its sides on the page are the CTM's rows."""
        a, b, c, d, _, _ = state.ctm
        marks.placements.append((image, math.hypot(a, b), math.hypot(c, d)))
        if image.space is None:
            marks.paints["image masks", state.fill] = None

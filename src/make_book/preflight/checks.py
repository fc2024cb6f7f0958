"""Preflight: read a finished PDF and list every way it breaks a print profile's rules.

The renderer writes the PDF from a profile (make_book.profiles); this module reads the
file back, as a printer's upload check would, and reports what it finds. It trusts
nothing the renderer meant to do: every rule is checked on the file itself.

Each page's content stream is run through, tracking the graphics state (CTM, colours,
text state) into the form XObjects it draws and the appearances of its annotations:
that gives the fonts and graphics states in use, the placed images, the colours
painted and the extent of the text. Fonts and states are judged where they are used,
not where they are declared: WeasyPrint gives every page the same resources.

A problem repeated on many pages is reported once with the pages it is on; findings
about the whole file come first, then page by page.
"""

from __future__ import annotations

import copy
import math
import re
import struct
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import pikepdf

from make_book.profiles import BLEED, Profile

POINTS_PER_INCH = 72.0
TOLERANCE = 0.5  # points: a writer's rounding, never a real difference in a book
TEXT_ASCENT = 0.8  # of the font size: the top of the text, for its extent on the page
MAX_TOTAL_INK = 2.4  # 240%: IngramSpark's limit for C + M + Y + K
RICH_BLACK_K = 0.9  # text this dark with any C, M or Y is black built from four inks
MAX_FORM_DEPTH = 16  # forms drawing forms: deeper than any real file, shallower than a loop

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
Key = tuple[int, int]  # an indirect object's number and generation
Problem = tuple[str, str]  # (rule, message), before the page number is attached

NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_PDFAID = "http://www.aiim.org/pdfa/ns/id/"
NS_PDFUAID = "http://www.aiim.org/pdfua/ns/id/"


@dataclass(frozen=True)
class Finding:
    """One way the file breaks the profile: a rule id, a sentence, and the page if any."""

    rule: str
    message: str
    page: int | None = None  # 1-based; the first page when the message lists more

    def __str__(self) -> str:
        return f"page {self.page}: {self.message}" if self.page is not None else self.message


def preflight(
    path: Path,
    profile: Profile,
    *,
    trim: tuple[float, float] | None = None,
    bleed: bool | None = None,
    drawn_before: frozenset[int] = frozenset(),
    drawing_only: bool = False,
) -> list[Finding]:
    """Read a finished PDF and list every way it breaks the profile's rules (empty: passes).

    `trim` (width, height in inches) and `bleed` are what the book asked for; when None
    they are read from the file: the first page's TrimBox, and whether its MediaBox
    reaches beyond it. A file that cannot be read gives one "unreadable" finding.
    `drawn_before`: 0-based pages whose drawing (fonts, images, colours, margins)
    passed this profile in an earlier build, unchanged since (the layout cache knows):
    their content is not read again. Boxes, annotations and the whole file always are.
    `drawing_only`: check what the pages draw and nothing else (a piece of a book,
    checked while the rest is laid out; see `_DrawingCheck` in render/pdf.py).
    """
    try:
        with pikepdf.open(path) as pdf:
            # qpdf quietly rebuilds a truncated or corrupt file; its warnings say it had to.
            warnings = pdf.get_warnings()
            if warnings:
                return [Finding("unreadable", f"{path.name} is damaged: {warnings[0]}")]
            findings = _Preflight(pdf, profile, trim, bleed).run(drawn_before, drawing_only)
    except pikepdf.PasswordError:
        return [Finding("unreadable", f"{path.name} is encrypted; printers need it unlocked")]
    except (pikepdf.PdfError, OSError) as error:
        reason = str(error).removeprefix(f"{path}: ")
        return [Finding("unreadable", f"cannot read {path.name} as a PDF: {reason}")]
    except Exception as error:  # noqa: BLE001 - a malformed file must give a finding, not a crash
        return [
            Finding("unreadable", f"{path.name} is malformed ({type(error).__name__}: {error})")
        ]
    return _collapse(findings)


# ---------------------------------------------------------------- reading objects


def _num(value: object, default: float = 0.0) -> float:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return float(value)
    return default


def _name(value: object) -> str:
    """A PDF name without its slash ("DeviceRGB"), or "" for anything else."""
    return str(value)[1:] if isinstance(value, pikepdf.Name) else ""


def _text(value: object) -> str:
    return str(value) if isinstance(value, pikepdf.String) else ""


def _is_true(value: object) -> bool:
    return value is True


def _dict(value: object) -> pikepdf.Object | None:
    """The value if it is a dictionary (a stream's dictionary counts), else None."""
    return value if isinstance(value, (pikepdf.Dictionary, pikepdf.Stream)) else None


def _get(value: object, key: str) -> object:
    """value[key] when value is a dictionary, else None."""
    dictionary = _dict(value)
    return dictionary.get(key) if dictionary is not None else None


def _lookup(resources: pikepdf.Object, category: str, name: object) -> pikepdf.Object | None:
    """The resource an operand names (/F1, /Im0) in a category such as /Font."""
    group = _dict(resources.get(category))
    if group is None or not isinstance(name, pikepdf.Name):
        return None
    return group.get(str(name))


def _key(obj: pikepdf.Object) -> Key | None:
    """A cache key for an indirect object; direct objects have none that lasts."""
    return obj.objgen if obj.is_indirect else None


def _inherited(page: pikepdf.Object, key: str) -> object:
    """A page attribute that may sit on a parent node of the page tree (MediaBox, Resources)."""
    node: pikepdf.Object | None = page
    for _ in range(64):  # a page tree deeper than this is a loop
        if node is None:
            break
        if key in node:
            return node[key]
        node = _dict(node.get("/Parent"))
    return None


def _inches(points: float) -> str:
    return f"{points / POINTS_PER_INCH:.3f}".rstrip("0").rstrip(".")


def _multiply(first: Matrix, then: Matrix) -> Matrix:
    """The matrix that applies `first`, then `then` (PDF's row-vector order)."""
    a, b, c, d, e, f = first
    a2, b2, c2, d2, e2, f2 = then
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _apply(matrix: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return a * x + c * y + e, b * x + d * y + f


def _matrix(value: object) -> Matrix:
    """Six numbers, from an array in the file or an operator's operands."""
    if isinstance(value, (pikepdf.Array, list)) and len(value) == 6:
        a, b, c, d, e, f = (_num(v) for v in value)
        return (a, b, c, d, e, f)
    return IDENTITY


# ---------------------------------------------------------------- page geometry


@dataclass(frozen=True)
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @classmethod
    def read(cls, value: object) -> _Box | None:
        if not isinstance(value, pikepdf.Array) or len(value) != 4:
            return None
        x0, y0, x1, y1 = (_num(v) for v in value)
        return cls(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def contains(self, other: _Box) -> bool:
        return (
            other.x0 >= self.x0 - TOLERANCE
            and other.y0 >= self.y0 - TOLERANCE
            and other.x1 <= self.x1 + TOLERANCE
            and other.y1 <= self.y1 + TOLERANCE
        )

    def union(self, other: _Box | None) -> _Box:
        if other is None:
            return self
        return _Box(
            min(self.x0, other.x0),
            min(self.y0, other.y0),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
        )


@dataclass(frozen=True)
class _PageBoxes:
    media: _Box
    trim: _Box  # the TrimBox, or the MediaBox when there is none
    has_trim_box: bool
    bleed_box: _Box | None
    has_art_box: bool

    @property
    def has_bleed(self) -> bool:
        return self.has_trim_box and not self.trim.contains(self.media)

    def bleed(self) -> dict[str, float]:
        """How far the MediaBox reaches beyond the trim at each edge, in points."""
        media, trim = self.media, self.trim
        return {
            "top": media.y1 - trim.y1,
            "bottom": trim.y0 - media.y0,
            "left": trim.x0 - media.x0,
            "right": media.x1 - trim.x1,
        }


def _page_boxes(page: pikepdf.Object) -> _PageBoxes:
    # A page without a usable MediaBox is US Letter to every reader.
    media = _Box.read(_inherited(page, "/MediaBox")) or _Box(0, 0, 612, 792)
    trim = _Box.read(page.get("/TrimBox"))
    return _PageBoxes(
        media=media,
        trim=trim or media,
        has_trim_box=trim is not None,
        bleed_box=_Box.read(page.get("/BleedBox")),
        has_art_box=_Box.read(page.get("/ArtBox")) is not None,
    )


def _is_recto(index: int) -> bool:
    """Page 1 (index 0) is a right-hand page: its outside edge is the right one."""
    return index % 2 == 0


def _inside_edge(index: int) -> str:
    return "left" if _is_recto(index) else "right"


def _expected_bleed(index: int, bleed: bool, sheet: bool = False) -> dict[str, float]:
    """Bleed on the top, bottom and outside edges; none at the gutter, where pages bind.

    A cover sheet (`sheet`) is trimmed on all four edges, so it bleeds on all four.
    """
    size = BLEED * POINTS_PER_INCH if bleed else 0.0
    expected = dict.fromkeys(("top", "bottom", "left", "right"), size)
    if not sheet:
        expected[_inside_edge(index)] = 0.0
    return expected


def _describe_edges(edges: dict[str, float]) -> str:
    return ", ".join(f"{edge} {_inches(edges[edge])}" for edge in edges) + " in"


# ---------------------------------------------------------------- colour


@dataclass(frozen=True)
class _Space:
    family: str  # "gray", "rgb", "cmyk", "spot", "pattern" or "unknown"
    label: str  # for people: "DeviceRGB", "ICCBased RGB", "Indexed DeviceRGB"…


DEVICE_GRAY = _Space("gray", "DeviceGray")
DEVICE_RGB = _Space("rgb", "DeviceRGB")
DEVICE_CMYK = _Space("cmyk", "DeviceCMYK")
PATTERN = _Space("pattern", "Pattern")
UNKNOWN_SPACE = _Space("unknown", "unknown")
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
    1: _Space("gray", "ICCBased gray"),
    3: _Space("rgb", "ICCBased RGB"),
    4: _Space("cmyk", "ICCBased CMYK"),
}


def _colour_space(value: object, resources: pikepdf.Object | None, depth: int = 0) -> _Space:
    """Classify a colour space given by name or array, resolving resource names."""
    name = _name(value)
    if depth > 4:  # spaces built on spaces: no real file goes this deep
        return UNKNOWN_SPACE
    if name in _NAMED_SPACES:
        return _NAMED_SPACES[name]
    if name:
        named = _lookup(resources, "/ColorSpace", value) if resources is not None else None
        return _colour_space(named, resources, depth + 1) if named is not None else UNKNOWN_SPACE
    if not isinstance(value, pikepdf.Array) or len(value) == 0:
        return UNKNOWN_SPACE
    kind = _name(value[0])
    if kind in ("CalRGB", "Lab"):
        return _Space("rgb", kind)
    if kind == "CalGray":
        return _Space("gray", kind)
    if kind == "ICCBased" and len(value) > 1:
        return _ICC_SPACES.get(int(_num(_get(value[1], "/N"))), UNKNOWN_SPACE)
    if kind in ("Indexed", "I", "Pattern") and len(value) > 1:
        base = _colour_space(value[1], resources, depth + 1)  # the space of the values
        return _Space(base.family, f"{kind} {base.label}")
    if kind in ("Separation", "DeviceN") and len(value) > 2:
        alternate = _colour_space(value[2], resources, depth + 1)
        family = "rgb" if alternate.family == "rgb" else "spot"
        return _Space(family, f"{kind} over {alternate.label}")
    return _NAMED_SPACES.get(kind, UNKNOWN_SPACE)


@dataclass(frozen=True)
class _Colour:
    space: _Space
    values: tuple[float, ...] = ()

    @property
    def cmyk(self) -> tuple[float, float, float, float] | None:
        if self.space.family != "cmyk" or len(self.values) != 4:
            return None
        c, m, y, k = self.values
        return c, m, y, k


BLACK = _Colour(DEVICE_GRAY, (0.0,))
_INITIAL_VALUES = {"gray": (0.0,), "rgb": (0.0, 0.0, 0.0), "cmyk": (0.0, 0.0, 0.0, 1.0)}


# ---------------------------------------------------------------- fonts


@dataclass(frozen=True)
class _FontMetrics:
    """Enough of a font to measure a string: its code length and advance widths."""

    code_bytes: int  # 1 for simple fonts, 2 for Identity-H; 0: unknown, not measured
    widths: tuple[float, ...]  # by code, in units of the font size: 256 or 65536 of them

    def advance(self, data: bytes, size: float, char_spacing: float, word_spacing: float) -> float:
        """How far a shown string moves the text position, in unscaled text space units."""
        codes: Sequence[int]
        if self.code_bytes == 1:
            codes = data
            spaces = data.count(32)  # word spacing applies to the single-byte code 32 only
        elif self.code_bytes == 2:
            count = len(data) // 2
            codes = struct.unpack(f">{count}H", data[: count * 2])
            spaces = 0
        else:
            return 0.0
        # A book is a few hundred thousand glyphs: add their widths at C speed.
        total = sum(map(self.widths.__getitem__, codes))
        return total * size + char_spacing * len(codes) + word_spacing * spaces


UNMEASURED = _FontMetrics(0, ())


def _font_metrics(font: pikepdf.Object) -> _FontMetrics:
    subtype = _name(font.get("/Subtype"))
    if subtype == "Type0":
        return _cid_font_metrics(font)
    widths = font.get("/Widths")
    if not isinstance(widths, pikepdf.Array):
        return UNMEASURED  # a standard 14 font: the file has no widths to measure with
    # Type 3 widths are in glyph space, which the font's own matrix scales.
    scale = _matrix(font.get("/FontMatrix"))[0] if subtype == "Type3" else 0.001
    missing = _num(_get(font.get("/FontDescriptor"), "/MissingWidth"))
    table = [missing * scale] * 256
    for code, width in enumerate(widths, start=int(_num(font.get("/FirstChar")))):
        if 0 <= code < 256:
            table[code] = _num(width) * scale
    return _FontMetrics(1, tuple(table))


def _cid_font_metrics(font: pikepdf.Object) -> _FontMetrics:
    cid_font = _descendant(font)
    if cid_font is None or _name(font.get("/Encoding")) != "Identity-H":
        return UNMEASURED  # other CMaps have codes of several lengths: not worth decoding
    table = [_num(cid_font.get("/DW"), 1000.0) / 1000] * 65536
    entries = list(cid_font.get("/W", pikepdf.Array()))
    i = 0
    while i + 1 < len(entries):  # runs "first [w w …]" and ranges "first last w"
        first = int(_num(entries[i]))
        if isinstance(entries[i + 1], pikepdf.Array):
            for cid, width in enumerate(entries[i + 1], start=first):
                if 0 <= cid < 65536:
                    table[cid] = _num(width) / 1000
            i += 2
        elif i + 2 < len(entries):
            low, high = max(first, 0), min(int(_num(entries[i + 1])), 65535)
            if low <= high:
                table[low : high + 1] = [_num(entries[i + 2]) / 1000] * (high - low + 1)
            i += 3
        else:
            break
    return _FontMetrics(2, tuple(table))


def _descendant(font: pikepdf.Object) -> pikepdf.Object | None:
    """The CIDFont inside a Type 0 font, which holds its widths and font file."""
    descendants = font.get("/DescendantFonts")
    if not isinstance(descendants, pikepdf.Array) or len(descendants) == 0:
        return None
    return _dict(descendants[0])


def _font_label(font: pikepdf.Object, resource_name: str) -> str:
    """The font's name without its subset tag ("ABCDEF+Book-Serif" -> "Book-Serif")."""
    base = _name(font.get("/BaseFont")) or _name(font.get("/Name")) or resource_name[1:]
    return re.sub(r"^[A-Z]{6}\+", "", base)


def _is_embedded(font: pikepdf.Object) -> bool:
    holder = _descendant(font) if _name(font.get("/Subtype")) == "Type0" else font
    descriptor = _dict(_get(holder, "/FontDescriptor"))
    if descriptor is None:
        return False
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


# ---------------------------------------------------------------- shown strings

# How qpdf writes a string or an array back out: hex with whole bytes, or a literal
# with every parenthesis inside it escaped.
_HEX_STRING = re.compile(rb"<([0-9A-Fa-f]*)>")
_LITERAL_STRING = re.compile(rb"\(((?:[^\\)]|\\.)*)\)", re.DOTALL)
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)")
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|.)", re.DOTALL)
_ESCAPED = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"\r\n": b""}


def _split_shown(shown: pikepdf.Object) -> tuple[bytes, float]:
    """A Tj string or a TJ array as all its string bytes and the sum of its numbers.

    The width needs only the total, so the pieces need not stay in order; reading the
    array back as text is many times faster than visiting its items one by one.
    """
    raw = shown.unparse()
    # Literals first: a "(" always opens one, while a "<" may sit inside one.
    literals = b"".join(_unescape(body) for body in _LITERAL_STRING.findall(raw))
    raw = _LITERAL_STRING.sub(b" ", raw)
    hex_digits = b"".join(_HEX_STRING.findall(raw))
    numbers = _NUMBER.findall(_HEX_STRING.sub(b" ", raw))
    return bytes.fromhex(hex_digits.decode("ascii")) + literals, sum(map(float, numbers))


def _unescape(body: bytes) -> bytes:
    if b"\\" not in body:
        return body

    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1] in b"01234567":
            return bytes([int(code, 8) & 0xFF])
        return _ESCAPED.get(code, code)

    return _ESCAPE.sub(one, body)


# ---------------------------------------------------------------- content streams


@dataclass
class _State:
    """The parts of the graphics state the checks need (saved by q, restored by Q)."""

    ctm: Matrix = IDENTITY
    fill: _Colour = BLACK
    stroke: _Colour = BLACK
    font: _FontMetrics = UNMEASURED
    font_size: float = 0.0
    char_spacing: float = 0.0
    word_spacing: float = 0.0
    horizontal_scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0
    render_mode: int = 0


@dataclass(frozen=True)
class _Image:
    """What an image XObject or inline image is, wherever it is drawn."""

    pixels: tuple[int, int]
    space: _Space | None  # None for a stencil mask, which paints with the fill colour
    soft_mask: bool


@dataclass
class _Marks:
    """What a page's content draws, as the checks need it (dicts as ordered sets)."""

    placements: list[tuple[_Image, float, float]] = field(default_factory=list)  # w, h in pt
    paints: dict[tuple[str, _Colour], None] = field(default_factory=dict)  # (what, colour)
    fonts: dict[str, tuple[str, pikepdf.Object]] = field(default_factory=dict)  # -> (name, font)
    states: dict[str, tuple[str, pikepdf.Object]] = field(default_factory=dict)  # ExtGStates
    text_extent: _Box | None = None

    @staticmethod
    def use(used: dict[str, tuple[str, pikepdf.Object]], name: str, obj: object) -> None:
        """Note a font or graphics state by its object (a direct one by its name)."""
        found = _dict(obj)
        if found is not None:
            key = _key(found)
            used.setdefault(f"{key}" if key is not None else f"direct {name}", (name, found))

    def merge(self, other: _Marks) -> None:
        """Take in what a pattern or an appearance draws, but not where: its geometry is its own."""
        self.paints.update(other.paints)
        self.placements += [(image, 0.0, 0.0) for image, _, _ in other.placements]
        for key, value in other.fonts.items():
            self.fonts.setdefault(key, value)
        for key, value in other.states.items():
            self.states.setdefault(key, value)


_Instructions = list[pikepdf.ContentStreamInstruction | pikepdf.ContentStreamInlineImage]
_OPERATORS = (
    "q Q cm gs Do BI ID EI BT Tf Tm Td TD T* TL Tc Tw Tz Ts Tr Tj TJ ' \" "
    "g G rg RG k K cs CS sc scn SC SCN f F f* B B* b b* S s sh"
)
_LINE_MOVES = {"Td", "TD", "T*", "Tm", "'", '"'}
_TEXT_SHOWS = {"Tj", "TJ", "'", '"'}
_TEXT_STATE = {"TL", "Tc", "Tw", "Tz", "Ts", "Tr"}
_COLOUR_SETTERS = {"g", "G", "rg", "RG", "k", "K", "cs", "CS", "sc", "scn", "SC", "SCN"}
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


class _Interpreter:
    """Runs content streams, caching what does not depend on where a thing is drawn.

    `measure_text`: measure each shown string, for profiles that check margins or
    colours; measuring is most of the work, and a screen PDF needs neither.
    """

    def __init__(self, measure_text: bool = True) -> None:
        self.measure_text = measure_text
        self._instructions: dict[Key, _Instructions] = {}
        self._fonts: dict[Key, _FontMetrics] = {}
        self._images: dict[Key, _Image] = {}
        self._patterns: dict[Key, _Marks] = {}

    def page(self, page: pikepdf.Page) -> _Marks:
        marks = _Marks()
        resources = _dict(_inherited(page.obj, "/Resources")) or pikepdf.Dictionary()
        self._run(pikepdf.parse_content_stream(page, _OPERATORS), resources, _State(), marks)
        for stream in _appearance_streams(page.obj):
            appearance = _Marks()
            own = _dict(stream.get("/Resources")) or resources
            self._run(self._form_instructions(stream), own, _State(), appearance)
            marks.merge(appearance)
        return marks

    def _run(
        self,
        instructions: _Instructions,
        resources: pikepdf.Object,
        state: _State,
        marks: _Marks,
        forms: frozenset[Key] = frozenset(),  # the forms being drawn: a loop guard
    ) -> None:
        saved: list[_State] = []
        text_matrix = line_matrix = IDENTITY
        for instruction in instructions:
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                self._place(self._inline_image(instruction.iimage, resources), state, marks)
                continue
            op = str(instruction.operator)
            args = list(instruction.operands)
            if op == "q":
                saved.append(copy.copy(state))
            elif op == "Q" and saved:
                state = saved.pop()
            elif op == "cm":
                state.ctm = _multiply(_matrix(args), state.ctm)
            elif op == "gs" and args:
                marks.use(marks.states, str(args[0]), _lookup(resources, "/ExtGState", args[0]))
            elif op == "Tf" and len(args) == 2:
                font = _lookup(resources, "/Font", args[0])
                marks.use(marks.fonts, str(args[0]), font)
                state.font, state.font_size = self._metrics(font), _num(args[1])
            elif op == "BT":
                text_matrix = line_matrix = IDENTITY
            elif op in _LINE_MOVES:
                text_matrix = line_matrix = _move_line(op, args, state, line_matrix)
            elif op in _TEXT_STATE:
                _set_text_state(op, args, state)
            elif op in _COLOUR_SETTERS:
                self._set_colour(op, args, state, resources, marks)
            elif op in _PATH_PAINTS:
                fills, strokes = _PATH_PAINTS[op]
                if fills:
                    marks.paints["paths", state.fill] = None
                if strokes:
                    marks.paints["paths", state.stroke] = None
            elif op == "sh" and args:
                shading = _lookup(resources, "/Shading", args[0])
                space = _colour_space(_get(shading, "/ColorSpace"), resources)
                marks.paints["shadings", _Colour(space)] = None
            elif op == "Do" and args:
                self._draw(_lookup(resources, "/XObject", args[0]), resources, state, marks, forms)
            if op in _TEXT_SHOWS and args and self.measure_text:  # ' and " move lines first
                text_matrix = _show(args[-1], state, text_matrix, marks)

    def _set_colour(
        self,
        op: str,
        args: list[pikepdf.Object],
        state: _State,
        resources: pikepdf.Object,
        marks: _Marks,
    ) -> None:
        stroking = op.isupper()
        values = tuple(_num(a) for a in args if isinstance(a, (int, float, Decimal)))
        setter = op.lower()
        if setter == "g":
            colour = _Colour(DEVICE_GRAY, values)
        elif setter == "rg":
            colour = _Colour(DEVICE_RGB, values)
        elif setter == "k":
            colour = _Colour(DEVICE_CMYK, values)
        elif setter == "cs":
            space = _colour_space(args[0] if args else None, resources)
            colour = _Colour(space, _INITIAL_VALUES.get(space.family, ()))
        else:  # sc, scn: values in the current space, and a pattern when a name ends them
            colour = _Colour((state.stroke if stroking else state.fill).space, values)
            pattern = _lookup(resources, "/Pattern", args[-1]) if args else None
            if pattern is not None:
                marks.merge(self._pattern(pattern))
        if stroking:
            state.stroke = colour
        else:
            state.fill = colour

    def _draw(
        self,
        xobject: pikepdf.Object | None,
        resources: pikepdf.Object,
        state: _State,
        marks: _Marks,
        forms: frozenset[Key],
    ) -> None:
        if not isinstance(xobject, pikepdf.Stream):
            return
        subtype = _name(xobject.get("/Subtype"))
        if subtype == "Image":
            self._place(self._image(xobject, resources), state, marks)
        elif subtype == "Form":
            key = _key(xobject)
            if key is None or key in forms or len(forms) >= MAX_FORM_DEPTH:
                return
            inner = replace(state, ctm=_multiply(_matrix(xobject.get("/Matrix")), state.ctm))
            own = _dict(xobject.get("/Resources")) or resources
            self._run(self._form_instructions(xobject), own, inner, marks, forms | {key})

    def _pattern(self, pattern: pikepdf.Object) -> _Marks:
        """What a pattern paints with: its shading's space, or its tile's colours and images."""
        key = _key(pattern)
        if key is not None and key in self._patterns:
            return self._patterns[key]
        marks = _Marks()
        if key is not None:
            self._patterns[key] = marks  # filled in below; a tile using itself stops here
        shading = _get(pattern, "/Shading")
        if shading is not None:
            space = _colour_space(_get(shading, "/ColorSpace"), None)
            marks.paints["shadings", _Colour(space)] = None
        elif isinstance(pattern, pikepdf.Stream):
            resources = _dict(pattern.get("/Resources")) or pikepdf.Dictionary()
            self._run(self._form_instructions(pattern), resources, _State(), marks)
        return marks

    def _form_instructions(self, stream: pikepdf.Object) -> _Instructions:
        key = _key(stream)
        if key is None:
            return pikepdf.parse_content_stream(stream, _OPERATORS)
        if key not in self._instructions:
            self._instructions[key] = pikepdf.parse_content_stream(stream, _OPERATORS)
        return self._instructions[key]

    def _metrics(self, font: pikepdf.Object | None) -> _FontMetrics:
        font = _dict(font)
        if font is None:
            return UNMEASURED
        key = _key(font)
        if key is None:
            return _font_metrics(font)
        if key not in self._fonts:
            self._fonts[key] = _font_metrics(font)
        return self._fonts[key]

    def _image(self, image: pikepdf.Object, resources: pikepdf.Object) -> _Image:
        key = _key(image)
        if key is not None and key in self._images:
            return self._images[key]
        stencil = _is_true(image.get("/ImageMask"))
        soft_mask = image.get("/SMask")
        facts = _Image(
            pixels=(int(_num(image.get("/Width"))), int(_num(image.get("/Height")))),
            space=None if stencil else _colour_space(image.get("/ColorSpace"), resources),
            soft_mask=(soft_mask is not None and _name(soft_mask) != "None")
            or _num(image.get("/SMaskInData")) > 0,  # a JPEG 2000 image's own alpha
        )
        if key is not None:
            self._images[key] = facts
        return facts

    def _inline_image(self, image: pikepdf.PdfInlineImage, resources: pikepdf.Object) -> _Image:
        info = image.obj
        stencil = _is_true(info.get("/ImageMask"))
        space = None if stencil else _colour_space(info.get("/ColorSpace"), resources)
        return _Image((int(image.width), int(image.height)), space, soft_mask=False)

    def _place(self, image: _Image, state: _State, marks: _Marks) -> None:
        """An image fills the CTM's unit square: its sides on the page are the CTM's rows."""
        a, b, c, d, _, _ = state.ctm
        marks.placements.append((image, math.hypot(a, b), math.hypot(c, d)))
        if image.space is None:
            marks.paints["image masks", state.fill] = None


def _set_text_state(op: str, args: list[pikepdf.Object], state: _State) -> None:
    value = _num(args[0]) if args else 0.0
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


def _move_line(op: str, args: list[pikepdf.Object], state: _State, line_matrix: Matrix) -> Matrix:
    """Td, TD, T*, Tm, and the move to the next line that ' and " begin with."""
    if op == "Tm":
        return _matrix(args)
    if op == '"' and len(args) == 3:
        state.word_spacing, state.char_spacing = _num(args[0]), _num(args[1])
    if op in ("Td", "TD") and len(args) == 2:
        dx, dy = _num(args[0]), _num(args[1])
        if op == "TD":
            state.leading = -dy
    else:
        dx, dy = 0.0, -state.leading
    return _multiply((1.0, 0.0, 0.0, 1.0, dx, dy), line_matrix)


def _show(shown: pikepdf.Object, state: _State, text_matrix: Matrix, marks: _Marks) -> Matrix:
    """Measure a shown string, record its extent and colour; return the moved text matrix."""
    strings, adjustment = _split_shown(shown)
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
    return _multiply((1.0, 0.0, 0.0, 1.0, x, 0.0), text_matrix)


def _record_text(
    low: float, high: float, state: _State, text_matrix: Matrix, marks: _Marks
) -> None:
    """Grow the page's text extent by a run from its baseline start to its end and top."""
    to_page = _multiply(text_matrix, state.ctm)
    bottom, top = state.rise, state.rise + TEXT_ASCENT * state.font_size
    corners = [_apply(to_page, x, y) for x in (low, high) for y in (bottom, top)]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    marks.text_extent = _Box(min(xs), min(ys), max(xs), max(ys)).union(marks.text_extent)


# ---------------------------------------------------------------- annotations


def _appearance_streams(page: pikepdf.Object) -> Iterator[pikepdf.Object]:
    """The normal, rollover and down appearances of every annotation on the page."""
    annotations = page.get("/Annots")
    for annotation in annotations if isinstance(annotations, pikepdf.Array) else []:
        appearance = _get(annotation, "/AP")
        for key in ("/N", "/R", "/D"):
            entry = _get(appearance, key)
            if isinstance(entry, pikepdf.Stream):
                yield entry
            elif isinstance(entry, pikepdf.Dictionary):  # one appearance per state
                yield from (s for s in entry.values() if isinstance(s, pikepdf.Stream))


def _resource_fonts(page: pikepdf.Object) -> Iterator[tuple[str, pikepdf.Object]]:
    """Every font the page can draw with: its own, its forms', patterns' and appearances'."""
    resources = [_dict(_inherited(page, "/Resources"))]
    resources += [_dict(stream.get("/Resources")) for stream in _appearance_streams(page)]
    seen: set[Key] = set()
    while resources:
        found = resources.pop()
        if found is None:
            continue
        for name, font in (_dict(found.get("/Font")) or {}).items():
            if _dict(font) is not None:
                yield name, font
        for category in ("/XObject", "/Pattern"):
            for inner in (_dict(found.get(category)) or {}).values():
                key = _key(inner)
                if isinstance(inner, pikepdf.Stream) and key is not None and key not in seen:
                    seen.add(key)  # a form drawing itself stops here
                    resources.append(_dict(inner.get("/Resources")))


# ---------------------------------------------------------------- the checks


class _Preflight:
    """One file against one profile."""

    def __init__(
        self,
        pdf: pikepdf.Pdf,
        profile: Profile,
        trim: tuple[float, float] | None,
        bleed: bool | None,
    ) -> None:
        self.pdf = pdf
        self.profile = profile
        self.pages = list(pdf.pages)
        self.boxes = [_page_boxes(page.obj) for page in self.pages]
        first = self.boxes[0] if self.boxes else None
        if trim is not None:
            self.trim_size = (trim[0] * POINTS_PER_INCH, trim[1] * POINTS_PER_INCH)
        else:
            self.trim_size = (first.trim.width, first.trim.height) if first else (0.0, 0.0)
        self.bleed = bleed if bleed is not None else bool(first and first.has_bleed)
        self.checks_colours = profile.gray_only or profile.identification.startswith("PDF/X")
        self.interpreter = _Interpreter(self.checks_colours or profile.min_margin > 0)
        self.font_problems: dict[Key, list[Problem]] = {}
        # PDF/X-1a is PDF 1.3, which has no transparency; the gray presses flatten nothing.
        self.no_transparency = profile.gray_only or profile.identification.startswith("PDF/X-1a")
        # A screen or archive page's drawing is checked for fonts only (see _fonts_pass).
        self.fonts_only = not (
            self.checks_colours
            or self.no_transparency
            or profile.min_dpi > 0
            or profile.min_margin > 0
        )

    def run(self, drawn_before: frozenset[int], drawing_only: bool) -> list[Finding]:
        whole = [] if drawing_only else self._whole_file()
        findings = [Finding(rule, message) for rule, message in whole]
        if drawing_only and self.fonts_only:
            missing = Finding("fonts-embedded", "a font is not embedded")
            return [] if self._fonts_pass() else [missing]
        for index, page in enumerate(self.pages):
            problems = [] if drawing_only else [*self._boxes(index), *self._annotations(page)]
            if index not in drawn_before:
                problems += self._content(index, page)
            findings += [Finding(rule, message, index + 1) for rule, message in problems]
        return findings

    # -- the whole file

    def _whole_file(self) -> Iterator[Problem]:
        profile, identification = self.profile, self.profile.identification
        yield from self._page_count()
        if self.bleed and not profile.bleed_allowed:
            yield "page-size", f"the file has bleed; the {profile.name} profile allows none"
        if not profile.bookmarks and _has_outline(self.pdf):
            yield "bookmarks", f"the file has bookmarks; the {profile.name} profile allows none"
        if profile.tagged or identification == "PDF/UA-1":
            yield from _tagging(self.pdf)
        if identification.startswith("PDF/X-1a"):
            yield from _pdfx_1a(self.pdf, identification)
        elif identification.startswith("PDF/A-"):
            yield from _pdfa(self.pdf, identification)
        elif identification == "PDF/UA-1":
            yield from _pdfua(self.pdf)

    def _page_count(self) -> Iterator[Problem]:
        count, profile = len(self.pages), self.profile
        pages = f"{count} page{'s' if count != 1 else ''}"
        if count < profile.min_pages:
            yield "page-count", f"{pages}; {profile.name} needs at least {profile.min_pages}"
        if count > profile.max_pages:
            yield "page-count", f"{pages}; {profile.name} allows at most {profile.max_pages}"
        if profile.even_pages and count % 2:
            yield "page-count", f"{pages}; {profile.name} needs an even number of pages"

    # -- each page

    def _boxes(self, index: int) -> Iterator[Problem]:
        boxes = self.boxes[index]
        trim, (width, height) = boxes.trim, self.trim_size
        if abs(trim.width - width) > TOLERANCE or abs(trim.height - height) > TOLERANCE:
            size = f"{_inches(trim.width)} × {_inches(trim.height)} in"
            yield "page-size", f"trim is {size}; expected {_inches(width)} × {_inches(height)} in"
        if self.bleed and not boxes.has_trim_box:
            yield "page-size", "no TrimBox: a page with bleed must say where it is trimmed"
        elif self.profile.identification.startswith("PDF/X") and not (
            boxes.has_trim_box or boxes.has_art_box
        ):
            yield "page-size", "no TrimBox: PDF/X needs one on every page"
        expected = _expected_bleed(index, self.bleed, self.profile.cover_sheet)
        actual = boxes.bleed()
        if any(abs(expected[edge] - actual[edge]) > TOLERANCE for edge in expected):
            page_side = "right-hand" if _is_recto(index) else "left-hand"
            yield (
                "page-size",
                (
                    f"the MediaBox reaches beyond the trim by {_describe_edges(actual)}; expected"
                    f" {_describe_edges(expected)} (a {page_side} page: no bleed at the gutter)"
                ),
            )
        if boxes.bleed_box is not None and not boxes.bleed_box.contains(trim):
            yield "page-size", "the BleedBox does not contain the TrimBox"
        if boxes.bleed_box is not None and not boxes.media.contains(boxes.bleed_box):
            yield "page-size", "the BleedBox reaches beyond the MediaBox"

    def _annotations(self, page: pikepdf.Page) -> Iterator[Problem]:
        annotations = page.obj.get("/Annots")
        if self.profile.links or not isinstance(annotations, pikepdf.Array):
            return
        kinds = sorted({_name(_get(a, "/Subtype")) or "unknown" for a in annotations})
        if kinds:
            names = ", ".join(kinds)
            yield (
                "annotations",
                f"annotations ({names}); the {self.profile.name} profile allows none",
            )

    def _font(self, font: pikepdf.Object, resource_name: str) -> list[Problem]:
        key = _key(font)
        if key is not None and key in self.font_problems:
            return self.font_problems[key]
        label = _font_label(font, resource_name)
        problems: list[Problem] = []
        if _name(font.get("/Subtype")) == "Type3":  # its glyphs are in the file, as drawings
            if self.profile.is_print:
                problems.append(("type3-font", f"font '{label}' is a Type 3 font"))
        elif not _is_embedded(font):
            problems.append(("fonts-embedded", f"font '{label}' is not embedded"))
        if key is not None:
            self.font_problems[key] = problems
        return problems

    def _content(self, index: int, page: pikepdf.Page) -> Iterator[Problem]:
        """What the page draws: fonts, images, colours, transparency, and where its text is."""
        marks = self.interpreter.page(page)
        for name, font in marks.fonts.values():
            yield from self._font(font, name)
        yield from self._resolution(marks)
        if self.checks_colours:
            yield from _colour_problems(marks, black_text_k_only=self.profile.gray_only)
        if self.no_transparency:
            for name, state in marks.states.values():
                yield from _transparency(name, state)
            for image, _, _ in marks.placements:
                if image.soft_mask:
                    width, height = image.pixels
                    yield "transparency", f"image {width}×{height} px has a soft mask (alpha)"
        yield from self._margins(index, marks.text_extent)

    def _fonts_pass(self) -> bool:
        """Whether every font the pages' resources hold is embedded: a yes or no for a
        piece (render/pdf.py), a hundred times faster than running the content.
        Pages share resources, so which pages draw a missing font is left to the book's
        own preflight, which reads the pages of a piece that did not pass."""
        return not any(
            self._font(font, name)
            for page in self.pages
            for name, font in _resource_fonts(page.obj)
        )

    def _resolution(self, marks: _Marks) -> Iterator[Problem]:
        needed = self.profile.min_dpi
        for image, placed_width, placed_height in marks.placements if needed > 0 else []:
            if placed_width <= 0 or placed_height <= 0:
                continue  # drawn at no size (or inside a pattern's tile): nothing to judge
            width, height = image.pixels
            dpi = min(width / placed_width, height / placed_height) * POINTS_PER_INCH
            if dpi < needed - 0.5:
                placed = f"{_inches(placed_width)} × {_inches(placed_height)} in"
                yield (
                    "image-dpi",
                    (
                        f"image {width}×{height} px placed at {placed} is {dpi:.0f} dpi;"
                        f" {self.profile.name} needs {needed}"
                    ),
                )

    def _margins(self, index: int, extent: _Box | None) -> Iterator[Problem]:
        """All text inside the safe area; the gutter grows with the page count (KDP)."""
        profile = self.profile
        if profile.min_margin <= 0 or extent is None:
            return
        trim = self.boxes[index].trim
        outer = profile.min_margin_with_bleed if self.bleed else profile.min_margin
        gutter = max(profile.min_margin, profile.gutter(len(self.pages)))
        distances = {
            "top": trim.y1 - extent.y1,
            "bottom": extent.y0 - trim.y0,
            "left": extent.x0 - trim.x0,
            "right": trim.x1 - extent.x1,
        }
        for edge, distance in distances.items():
            inside = edge == _inside_edge(index)
            needed = gutter if inside else outer
            if distance < needed * POINTS_PER_INCH - TOLERANCE:
                where = f"{edge} (gutter)" if inside else edge
                yield (
                    "margins",
                    (
                        f"text {distance / POINTS_PER_INCH:.2f} in from the {where} trim edge;"
                        f" {profile.name} needs {needed:g} in"
                    ),
                )


def _transparency(name: str, state: pikepdf.Object) -> Iterator[Problem]:
    """What in a graphics state makes what it draws see-through."""
    if _dict(state) is None:
        return
    for key in ("/CA", "/ca"):
        if _num(state.get(key), 1.0) < 1:
            yield "transparency", f"graphics state {name} sets {key} {_num(state[key]):g}"
    soft_mask = state.get("/SMask")
    if soft_mask is not None and _name(soft_mask) != "None":
        yield "transparency", f"graphics state {name} sets a soft mask"
    blend = state.get("/BM")
    if isinstance(blend, pikepdf.Array):
        blend = blend[0] if len(blend) else None  # a list: readers use the first they know
    if blend is not None and _name(blend) not in ("Normal", "Compatible"):
        yield "transparency", f"graphics state {name} sets blend mode {blend}"


def _colour_problems(marks: _Marks, black_text_k_only: bool) -> Iterator[Problem]:
    """For presses: no RGB anywhere, ink within the limit, and on gray presses
    (`black_text_k_only`) black text of K alone."""
    for image, _, _ in marks.placements:
        if image.space is not None and image.space.family == "rgb":
            width, height = image.pixels
            yield "colour-space", f"{image.space.label} image {width}×{height} px"
        elif image.space is not None and image.space.family == "cmyk" and black_text_k_only:
            width, height = image.pixels  # a gray press prints black only
            yield "colour-space", f"colour ({image.space.label}) image {width}×{height} px"
    for what, colour in marks.paints:
        if colour.space.family == "rgb":
            yield "colour-space", f"{colour.space.label} colour used for {what}"
        cmyk = colour.cmyk
        if cmyk is None:
            continue
        c, m, y, k = cmyk
        if black_text_k_only and what == "text" and k > RICH_BLACK_K and max(c, m, y) > 0:
            inks = f"C {c:.0%} M {m:.0%} Y {y:.0%} K {k:.0%}"
            yield "rich-black", f"text in rich black ({inks}); black text must be K alone"
        if sum(cmyk) > MAX_TOTAL_INK + 1e-6:
            yield "total-ink", f"{what} with {sum(cmyk):.0%} total ink; at most 240%"


def _has_outline(pdf: pikepdf.Pdf) -> bool:
    return _get(pdf.Root.get("/Outlines"), "/First") is not None


# ---------------------------------------------------------------- identification


def _pdf_version(pdf: pikepdf.Pdf) -> tuple[int, int]:
    """The header's version, raised by the catalog's /Version when that is later."""
    found = [pdf.pdf_version, _name(pdf.Root.get("/Version"))]
    versions = [re.match(r"(\d+)\.(\d+)$", v) for v in found]
    return max(((int(m[1]), int(m[2])) for m in versions if m), default=(0, 0))


def _output_intents(pdf: pikepdf.Pdf, subtype: str) -> list[pikepdf.Object]:
    intents = pdf.Root.get("/OutputIntents")
    found = [_dict(i) for i in intents] if isinstance(intents, pikepdf.Array) else []
    return [i for i in found if i is not None and _name(i.get("/S")) == subtype]


def _pdfx_1a(pdf: pikepdf.Pdf, identification: str) -> Iterator[Problem]:
    """ISO 15930-1 and -4: Info keys, a CMYK output intent, PDF 1.3 for 2001, no encryption."""
    info = _dict(pdf.trailer.get("/Info")) or pikepdf.Dictionary()
    version = _text(info.get("/GTS_PDFXVersion"))
    conformance = _text(info.get("/GTS_PDFXConformance"))
    if identification == "PDF/X-1a:2001":
        # The 2001 edition names the family in the version key and the level in another.
        if (version, conformance) != ("PDF/X-1:2001", "PDF/X-1a:2001"):
            yield (
                "identification",
                (
                    f"Info has GTS_PDFXVersion {version!r} and GTS_PDFXConformance {conformance!r};"
                    " PDF/X-1a:2001 needs 'PDF/X-1:2001' and 'PDF/X-1a:2001' (ISO 15930-1)"
                ),
            )
    elif version != identification:
        yield "identification", f"Info has GTS_PDFXVersion {version!r}, not {identification!r}"
    if _name(info.get("/Trapped")) not in ("True", "False"):
        yield "identification", "Info /Trapped is not /True or /False, as PDF/X needs"
    keys = ("Title", "CreationDate", "ModDate")
    missing = [key for key in keys if not _text(info.get(f"/{key}"))]
    if missing:
        yield "identification", f"Info has no {', '.join(missing)}; PDF/X needs them"
    if not isinstance(pdf.trailer.get("/ID"), pikepdf.Array):
        yield "identification", "the trailer has no /ID; PDF/X needs one"
    yield from _pdfx_output_intent(pdf)
    major, minor = _pdf_version(pdf)
    if identification.endswith(":2001") and (major, minor) > (1, 3):
        yield "pdf-version", f"PDF {major}.{minor}; {identification} must be PDF 1.3"
    if pdf.is_encrypted:
        yield "identification", "the file is encrypted; PDF/X allows no encryption"


def _pdfx_output_intent(pdf: pikepdf.Pdf) -> Iterator[Problem]:
    intents = _output_intents(pdf, "GTS_PDFX")
    if len(intents) != 1:
        yield "output-intent", f"{len(intents)} PDF/X OutputIntents (/S /GTS_PDFX); PDF/X needs 1"
    if not intents:
        return
    intent = intents[0]
    if not _text(intent.get("/OutputConditionIdentifier")):
        yield "output-intent", "the PDF/X OutputIntent has no OutputConditionIdentifier"
    profile = intent.get("/DestOutputProfile")
    if isinstance(profile, pikepdf.Stream):
        header = _icc_header(profile)
        if _num(profile.get("/N")) != 4 or header[16:20] != b"CMYK":
            yield "output-intent", "the PDF/X output profile is not a CMYK ICC profile"
        elif header[12:16] != b"prtr":
            yield "output-intent", "the PDF/X output profile is not an output (printer) profile"
    elif not _text(intent.get("/RegistryName")):
        # Without a profile the condition must be a registered one (at color.org).
        yield "output-intent", "the PDF/X OutputIntent has no DestOutputProfile or RegistryName"


def _icc_header(profile: pikepdf.Object) -> bytes:
    """The start of an ICC profile: its device class at byte 12, its colour space at 16."""
    try:
        return profile.read_bytes()[:20]
    except pikepdf.PdfError:
        return b""  # a profile that cannot be decoded is no CMYK profile


def _pdfa(pdf: pikepdf.Pdf, identification: str) -> Iterator[Problem]:
    """PDF/A-2B and its kin: the XMP declaration and an output intent with its profile."""
    match = re.match(r"PDF/A-(\d)([A-Za-z])$", identification)
    part, level = (match[1], match[2].upper()) if match else ("", "")
    xmp = _xmp(pdf)
    found_part = xmp.get(f"{{{NS_PDFAID}}}part", "")
    found_level = xmp.get(f"{{{NS_PDFAID}}}conformance", "")
    if (found_part, found_level.upper()) != (part, level):
        yield (
            "identification",
            (
                f"the XMP declares pdfaid part {found_part!r} conformance {found_level!r};"
                f" {identification} needs part {part} conformance {level}"
            ),
        )
    intents = _output_intents(pdf, "GTS_PDFA1")
    if not intents or not isinstance(intents[0].get("/DestOutputProfile"), pikepdf.Stream):
        yield "output-intent", "no PDF/A OutputIntent (/S /GTS_PDFA1) with a DestOutputProfile"
    if pdf.is_encrypted:
        yield "identification", "the file is encrypted; PDF/A allows no encryption"


def _pdfua(pdf: pikepdf.Pdf) -> Iterator[Problem]:
    """PDF/UA-1 beyond the tags: the declaration, a title shown as such, a language."""
    xmp = _xmp(pdf)
    part = xmp.get(f"{{{NS_PDFUAID}}}part", "")
    if part != "1":
        yield "identification", f"the XMP declares pdfuaid part {part!r}; PDF/UA-1 needs part 1"
    if not xmp.get(f"{{{NS_DC}}}title"):
        yield "identification", "the XMP metadata has no dc:title; PDF/UA needs one"
    if not _is_true(_get(pdf.Root.get("/ViewerPreferences"), "/DisplayDocTitle")):
        yield "identification", "ViewerPreferences /DisplayDocTitle is not true; PDF/UA needs it"
    if not _text(pdf.Root.get("/Lang")).strip():
        yield "identification", "the catalog has no /Lang; PDF/UA needs the document's language"


def _tagging(pdf: pikepdf.Pdf) -> Iterator[Problem]:
    if _dict(pdf.Root.get("/StructTreeRoot")) is None:
        yield "tagged", "no structure tree (/StructTreeRoot): the file is not tagged"
    if not _is_true(_get(pdf.Root.get("/MarkInfo"), "/Marked")):
        yield "tagged", "the catalog's /MarkInfo does not say /Marked true"


def _xmp(pdf: pikepdf.Pdf) -> dict[str, str]:
    """XMP properties as {"{namespace}name": value}; of an Alt, Seq or Bag, the first item."""
    stream = pdf.Root.get("/Metadata")
    if not isinstance(stream, pikepdf.Stream):
        return {}
    try:
        root = ElementTree.fromstring(stream.read_bytes())
    except ElementTree.ParseError:
        return {}  # unreadable metadata declares nothing
    properties: dict[str, str] = {}
    for description in root.iter(f"{{{NS_RDF}}}Description"):
        for attribute, value in description.attrib.items():
            properties.setdefault(attribute, value.strip())
        for child in description:
            item = child.find(f".//{{{NS_RDF}}}li")
            value = (item if item is not None else child).text or ""
            properties.setdefault(child.tag, value.strip())
    return properties


# ---------------------------------------------------------------- reporting


def _collapse(findings: list[Finding]) -> list[Finding]:
    """One finding per (rule, message), naming its other pages; the file first, then by page."""
    pages: dict[Problem, list[int]] = {}
    for finding in findings:
        on = pages.setdefault((finding.rule, finding.message), [])
        if finding.page is not None and finding.page not in on:
            on.append(finding.page)
    collapsed = []
    for (rule, message), on in pages.items():
        if len(on) > 1:
            message = f"{message} (also on {_page_ranges(on[1:])})"
        collapsed.append(Finding(rule, message, on[0] if on else None))
    return sorted(collapsed, key=lambda f: 0 if f.page is None else f.page)


def _page_ranges(pages: list[int]) -> str:
    """[2, 3, 4, 7] -> "pages 2-4, 7"."""
    runs: list[list[int]] = []
    for page in sorted(pages):
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    text = ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)
    return f"page {text}" if len(pages) == 1 else f"pages {text}"

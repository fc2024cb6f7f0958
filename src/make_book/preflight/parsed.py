"""The objects a content stream uses, read once each: a form's or pattern's parsed
instructions, a font's metrics, an image's facts. Pages share them, so caching them by
object is what keeps a whole book's preflight fast.
"""

from __future__ import annotations

import pikepdf

from make_book.preflight.colour_spaces import colour_space
from make_book.preflight.font_metrics import UNMEASURED, FontMetrics, font_metrics
from make_book.preflight.marks import Image
from make_book.preflight.pdf_values import Key, as_dict, is_true, key_of, name_of, num

Instructions = list[pikepdf.ContentStreamInstruction | pikepdf.ContentStreamInlineImage]
# Only these come out of the parser: the rest (paths' construction, clipping, marked
# content) change nothing the checks look at.
OPERATORS = (
    "q Q cm gs Do BI ID EI BT Tf Tm Td TD T* TL Tc Tw Tz Ts Tr Tj TJ ' \" "
    "g G rg RG k K cs CS sc scn SC SCN f F f* B B* b b* S s sh"
)


def parse(stream: pikepdf.Object | pikepdf.Page) -> Instructions:
    return pikepdf.parse_content_stream(stream, OPERATORS)


class Parsed:
    """A cache, by indirect object, of what the interpreter reads from shared objects."""

    def __init__(self) -> None:
        self._instructions: dict[Key, Instructions] = {}
        self._fonts: dict[Key, FontMetrics] = {}
        self._images: dict[Key, Image] = {}

    def instructions(self, stream: pikepdf.Object) -> Instructions:
        key = key_of(stream)
        if key is None:
            return parse(stream)
        if key not in self._instructions:
            self._instructions[key] = parse(stream)
        return self._instructions[key]

    def metrics(self, font: pikepdf.Object | None) -> FontMetrics:
        font = as_dict(font)
        if font is None:
            return UNMEASURED
        key = key_of(font)
        if key is None:
            return font_metrics(font)
        if key not in self._fonts:
            self._fonts[key] = font_metrics(font)
        return self._fonts[key]

    def image(self, image: pikepdf.Object, resources: pikepdf.Object) -> Image:
        key = key_of(image)
        if key is not None and key in self._images:
            return self._images[key]
        facts = _image_facts(image, resources)
        if key is not None:
            self._images[key] = facts
        return facts


def _image_facts(image: pikepdf.Object, resources: pikepdf.Object) -> Image:
    stencil = is_true(image.get("/ImageMask"))
    soft_mask = image.get("/SMask")
    return Image(
        pixels=(int(num(image.get("/Width"))), int(num(image.get("/Height")))),
        space=None if stencil else colour_space(image.get("/ColorSpace"), resources),
        soft_mask=(soft_mask is not None and name_of(soft_mask) != "None")
        or num(image.get("/SMaskInData")) > 0,  # a JPEG 2000 image's own alpha
    )


def inline_image(image: pikepdf.PdfInlineImage, resources: pikepdf.Object) -> Image:
    info = image.obj
    stencil = is_true(info.get("/ImageMask"))
    space = None if stencil else colour_space(info.get("/ColorSpace"), resources)
    return Image((int(image.width), int(image.height)), space, soft_mask=False)

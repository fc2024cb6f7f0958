"""The typographic cover drawn when book.yaml names no cover image."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from make_book.model import BookMeta, join_names
from make_book.theme import packaged_dirs

SIZE = (1600, 2400)  # 2:3, the ratio ebook stores ask for
PAPER = (243, 237, 226)
INK = (38, 34, 30)
ACCENT = (140, 46, 36)


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(packaged_dirs()[2] / name), size)


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def _centered(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    font: ImageFont.FreeTypeFont,
    top: int,
    gap: int,
    fill: tuple[int, int, int],
) -> int:
    for line in lines:
        width = draw.textlength(line, font=font)
        draw.text(((SIZE[0] - width) / 2, top), line, font=font, fill=fill)
        top += gap
    return top


def cover_png(meta: BookMeta) -> bytes:
    """A 1600×2400 PNG: title, subtitle and names set in the book's face."""
    image = Image.new("RGB", SIZE, PAPER)
    draw = ImageDraw.Draw(image)
    margin = 170
    draw.rectangle(
        (margin - 60, margin - 60, SIZE[0] - margin + 60, SIZE[1] - margin + 60),
        outline=INK,
        width=4,
    )
    title_font = _font("LinLibertine_R.otf", 150)
    top = _centered(
        draw, _wrap(draw, meta.title, title_font, SIZE[0] - 2 * margin), title_font, 560, 175, INK
    )
    draw.line((SIZE[0] / 2 - 120, top + 60, SIZE[0] / 2 + 120, top + 60), fill=ACCENT, width=5)
    if meta.subtitle:
        sub_font = _font("LinLibertine_RI.otf", 78)
        _centered(
            draw,
            _wrap(draw, meta.subtitle, sub_font, SIZE[0] - 2 * margin - 80),
            sub_font,
            top + 140,
            100,
            INK,
        )
    names = join_names(meta.authors) or (
        f"Edited by {join_names(meta.editors)}" if meta.editors else ""
    )
    if names:
        name_font = _font("LinLibertine_R.otf", 80)
        _centered(
            draw,
            _wrap(draw, names, name_font, SIZE[0] - 2 * margin),
            name_font,
            SIZE[1] - margin - 260,
            100,
            INK,
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()

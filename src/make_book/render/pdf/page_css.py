"""The page geometry and type of book.yaml's `pdf:` settings, as CSS, and the margins a
print profile needs for a page count."""

from __future__ import annotations

from dataclasses import replace

from make_book.profiles import BLEED, Profile
from make_book.render.weasy.session import BOOK_FONT, FALLBACK, font_faces_css
from make_book.source.manifest_types import PdfSettings

HEAD_ROOM = 0.4  # inches between a printer's safe line and the text block, for heads and folios


def settings_css(settings: PdfSettings, bleed: bool = False, safe: float = 0.0) -> str:
    """Page geometry and type from book.yaml, as CSS written before the theme's.

    `bleed`: 0.125in beyond the trim on the top, bottom and outside edges (never
    the gutter). `safe`: a printer's least distance from the trim to any text,
    so the running heads and folios sit against the text block, clear of it.
    """
    faces = font_faces_css()
    family = f'"{settings.font_family}", ' if settings.font_family else ""
    w, h = settings.trim
    s = settings
    css = faces + (
        f':root {{ --book-font: {family}"{BOOK_FONT}", {FALLBACK};'
        f" --book-size: {s.font_size}pt; --book-leading: {s.line_height};"
        f" --page-height: {h - s.margin_top - s.margin_bottom - 0.02:.3f}in }}\n"
        f"@page {{ size: {w}in {h}in; margin: {s.margin_top}in {s.margin_outside}in"
        f" {s.margin_bottom}in {s.margin_inside}in;"
        f' font-family: {family}"{BOOK_FONT}", {FALLBACK}; font-size: {s.font_size * 0.85}pt }}\n'
        f"@page :left {{ margin-left: {s.margin_outside}in; margin-right: {s.margin_inside}in }}\n"
        f"@page :right {{ margin-left: {s.margin_inside}in; margin-right: {s.margin_outside}in }}\n"
    )
    if bleed:
        edges = f"bleed-top: {BLEED}in; bleed-bottom: {BLEED}in"
        css += f"@page :left {{ {edges}; bleed-left: {BLEED}in; bleed-right: 0 }}\n"
        css += f"@page :right {{ {edges}; bleed-right: {BLEED}in; bleed-left: 0 }}\n"
    if safe:
        css += _margin_boxes_near_text()
    return css


def _margin_boxes_near_text() -> str:
    near = "vertical-align: bottom; padding-bottom: 0.2in"
    far = "vertical-align: top; padding-top: 0.2in"
    boxes = [f"@top-{side} {{ {near} }}" for side in ("left", "center", "right")]
    boxes += [f"@bottom-{side} {{ {far} }}" for side in ("left", "center", "right")]
    return "@page { " + " ".join(boxes) + " }\n"


def print_settings(settings: PdfSettings, profile: Profile, pages: int) -> PdfSettings:
    """The settings a profile needs: its least margins and the gutter for this page count."""
    safe = safe_margin(settings, profile)
    head_room = HEAD_ROOM if safe else 0.0
    return replace(
        settings,
        margin_inside=max(settings.margin_inside, profile.gutter(pages), safe),
        margin_outside=max(settings.margin_outside, safe),
        margin_top=max(settings.margin_top, safe + head_room),
        margin_bottom=max(settings.margin_bottom, safe + head_room),
    )


def safe_margin(settings: PdfSettings, profile: Profile) -> float:
    return profile.safe_margin(profile.bleeds(settings.bleed))

"""What every WeasyPrint layout in make-book shares: the bundled face, one font
configuration per process, and WeasyPrint's warnings routed to make-book's logger.
(The dates of font subsets: patches/font_dates.py.)"""

from __future__ import annotations

import atexit
import logging
import shutil
from typing import TYPE_CHECKING

from make_book.render.weasy.urls import FONTS_URL

if TYPE_CHECKING:
    # WeasyPrint is imported where a layout needs it, not with this module: the
    # build's own process imports it for the CSS and logging and stays small.
    from weasyprint.text.fonts import FontConfiguration

# The bundled face: (file, weight, style). Licence: fonts/LICENSE-Libertine.txt (OFL).
BOOK_FONT = "Book Serif"
FACES = (
    ("LinLibertine_R.otf", 400, "normal"),
    ("LinLibertine_RI.otf", 400, "italic"),
    ("LinLibertine_RB.otf", 700, "normal"),
    ("LinLibertine_RBI.otf", 700, "italic"),
)
# What the bundled face lacks (the two- and three-em dashes U+2E3A, U+2E3B), drawn by
# tools/make_supplement_font.py: one file for every style. Licence:
# fonts/README-Supplement.txt (MIT). First of the fallbacks, so it sets only those.
SUPPLEMENT_FONT = "Make Book Supplement"
SUPPLEMENT_FACES = tuple(("MakeBookSupplement.ttf", w, s) for _, w, s in FACES)
# For glyphs the book face lacks (the supplement's dashes; Greek polytonic, CJK…).
FALLBACK = f'"{SUPPLEMENT_FONT}", "DejaVu Serif", serif'


def font_faces_css() -> str:
    """@font-face rules that load the bundled face, and its supplement, through the
    fetcher's font root."""
    return "".join(
        f'@font-face {{ font-family: "{family}"; src: url("{FONTS_URL}{f}");'
        f" font-weight: {w}; font-style: {s} }}\n"
        for family, faces in ((BOOK_FONT, FACES), (SUPPLEMENT_FONT, SUPPLEMENT_FACES))
        for f, w, s in faces
    )


_FONT_CONFIG: FontConfiguration | None = None


def font_config() -> FontConfiguration:
    """One FontConfiguration per process: loading @font-face files is the slow part."""
    global _FONT_CONFIG
    if _FONT_CONFIG is None:
        # Imported here, by the process that lays out (see the TYPE_CHECKING import).
        from weasyprint.text.fonts import FontConfiguration

        _FONT_CONFIG = FontConfiguration()
        atexit.register(release_font_config)
    return _FONT_CONFIG


def release_font_config() -> None:
    """Drop the process's FontConfiguration and remove the copies of the @font-face files
    WeasyPrint made for Fontconfig (1.7 MB a process with the default theme's faces).

    WeasyPrint removes them in the configuration's __del__, which never ran in a layout
    worker (it leaves with os._exit) nor for a configuration that WeasyPrint's styles
    hold in reference cycles when the command freezes its objects on leaving (cli.run):
    each build left a folder in the temporary directory. Run at exit, and by a worker
    before it leaves; tested (tests/test_cli.py) so that a WeasyPrint that keeps them
    elsewhere is noticed."""
    global _FONT_CONFIG
    config, _FONT_CONFIG = _FONT_CONFIG, None
    folder = getattr(config, "_folder", None)  # WeasyPrint 70's FontConfiguration
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


class captured_weasyprint_log:  # noqa: N801 - used like a function: `with captured_…():`
    """Route WeasyPrint's CSS and layout warnings to make-book's logger."""

    def __init__(self, label: str = "pdf") -> None:
        self.label = label

    def __enter__(self) -> None:
        self.handler = _Forward(self.label)
        logger = logging.getLogger("weasyprint")
        # Nested (the cover is made while the PDF is finished): the inner label alone.
        self.outer = [h for h in logger.handlers if isinstance(h, _Forward)]
        for handler in self.outer:
            logger.removeHandler(handler)
        self.propagate = logger.propagate
        logger.addHandler(self.handler)
        logger.propagate = False

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("weasyprint")
        logger.removeHandler(self.handler)
        for handler in self.outer:
            logger.addHandler(handler)
        logger.propagate = self.propagate


class _Forward(logging.Handler):
    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def emit(self, record: logging.LogRecord) -> None:
        if worth_saying(record):
            logging.getLogger("make_book").warning("%s: %s", self.label, record.getMessage())


def worth_saying(record: logging.LogRecord) -> bool:
    """A warning of WeasyPrint's the author can act on (not its fontTools fallback note)."""
    return record.levelno >= logging.WARNING and "HarfBuzz-Subset" not in record.getMessage()

"""Image files a book uses, checked before any renderer opens them.

Every image an essay shows, and the cover, is opened here once with Pillow:
a damaged file, a file that is not the image its name says, or a
decompression bomb becomes an input error naming the file, instead of a
crash, a hang or a blank in one of the outputs.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow is imported when a book has images (not while workers lay out)
    from PIL import Image

MAX_BYTES = 40 * 1024 * 1024  # a full-colour 6x9 in page at 300 dpi is ~14 MB uncompressed
MAX_PIXELS = 50_000_000  # 9x12 in at 600 dpi is 39 MP; decoding 50 MP takes about a second
MAX_SIDE = 20_000  # pixels: no page needs more, and thin slivers of 1x100000 are refused
# What every output can show: EPUB core media types that WeasyPrint also reads.
FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "GIF": (".gif",)}


def image_problem(path: Path, formats: tuple[str, ...] = tuple(FORMATS)) -> str:
    """Why the image file at `path` cannot go in the book, or "" when it can."""
    from PIL import Image, UnidentifiedImageError

    size = path.stat().st_size
    if size > MAX_BYTES:
        return f"the file is {_megabytes(size)}; an image may be at most {_megabytes(MAX_BYTES)}"
    try:
        with _whole_files_only():
            with Image.open(path) as image:
                problem = _header_problem(image, path.suffix.lower(), formats)
                if problem:
                    return problem
                image.verify()  # checksums, where the format has them (PNG)
            with Image.open(path) as image:  # verify() leaves the image unusable: open again
                image.load()  # decode every pixel: finds truncated and corrupt data
    except Image.DecompressionBombError:
        return f"more than {MAX_PIXELS:,} pixels; an image may have at most {MAX_PIXELS:,}"
    except UnidentifiedImageError:
        return f"not an image make-book can read; use {_names(formats)}"
    except Exception as exc:  # noqa: BLE001 - whatever a decoder raises, the file is at fault
        return f"damaged image file: {_reason(exc)}"
    return ""


def _header_problem(image: Image.Image, suffix: str, formats: tuple[str, ...]) -> str:
    """What the header alone shows: the format, the name, the dimensions."""
    found = image.format or "unknown"
    if found not in formats:
        return f"a {found} image; use {_names(formats)}"
    if suffix not in FORMATS[found]:
        # The EPUB's media types come from file names: they must tell the truth.
        return f"a {found} image named '{suffix}': rename it to '{FORMATS[found][0]}'"
    width, height = image.size
    if width * height > MAX_PIXELS:
        return (
            f"{width}x{height} pixels is {width * height:,}; "
            f"an image may have at most {MAX_PIXELS:,}"
        )
    if max(width, height) > MAX_SIDE:
        return f"{width}x{height} pixels; a side may be at most {MAX_SIDE:,} pixels"
    return ""


@contextlib.contextmanager
def _whole_files_only() -> Iterator[None]:
    """Decode as a strict reader would, whatever the process set before.

    WeasyPrint sets ImageFile.LOAD_TRUNCATED_IMAGES on import, so that a
    damaged image does not stop a layout; here a truncated file must fail.
    Pillow's own bomb warning is ours to give, with our limit.
    """
    from PIL import Image, ImageFile

    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__


def _names(formats: tuple[str, ...]) -> str:
    return ", ".join(formats[:-1]) + f" or {formats[-1]}" if len(formats) > 1 else formats[0]


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")

"""The print edition's pages as images, for the preview's print view.

pdfium (pypdfium2) draws a page in some 20 ms; a page is drawn when the browser first
asks for it, and kept until the next build replaces the PDF. pdfium is not safe to use
from two threads at once: the server's threads take turns (`_lock`).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path

import pypdfium2

PAGE_WIDTH_PX = 560  # a page beside the web page, legible at a glance
KEPT_PAGES = 256  # images kept between requests: one long essay, and the pages around


class PageImages:
    """PNG images of one PDF's pages, drawn on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._document: pypdfium2.PdfDocument | None = None
        self._source: tuple[Path, int] | None = None  # (path, build) of the open document
        self._images: OrderedDict[tuple[int, int], bytes] = OrderedDict()

    def png(self, pdf: Path, build: int, index: int) -> bytes | None:
        """Page `index` (from 0) of build `build`'s PDF; None past its last page."""
        with self._lock:
            found = self._images.get((build, index))
            if found is not None:
                self._images.move_to_end((build, index))
                return found
            document = self._open(pdf, build)
            if not 0 <= index < len(document):
                return None
            image = _drawn(document[index])
            self._images[(build, index)] = image
            while len(self._images) > KEPT_PAGES:
                self._images.popitem(last=False)
            return image

    def close(self) -> None:
        with self._lock:
            if self._document is not None:
                self._document.close()
            self._document, self._source = None, None

    def _open(self, pdf: Path, build: int) -> pypdfium2.PdfDocument:
        if self._document is None or self._source != (pdf, build):
            if self._document is not None:
                self._document.close()
            # Read whole: the next build replaces the file, and pdfium reads lazily.
            self._document = pypdfium2.PdfDocument(pdf.read_bytes())
            self._source = (pdf, build)
            self._images.clear()
        return self._document


def _drawn(page: pypdfium2.PdfPage) -> bytes:
    scale = PAGE_WIDTH_PX / page.get_width()
    bitmap = page.render(scale=scale)
    image = bitmap.to_pil()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    page.close()
    return out.getvalue()

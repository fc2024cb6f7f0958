"""The print edition's pages as images, for the preview's print view.

pdfium (pypdfium2) draws a page in some 20 ms; a page is drawn when the browser first
asks for it, and kept until a later build's PDF replaces it. The PDF is the bytes the
last good build published (preview.py reads them as it publishes), never the file,
which a later build may be rewriting. pdfium is not safe to use from two threads at
once: the server's threads take turns (`_lock`).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

import pypdfium2

PAGE_WIDTH_PX = 560  # a page beside the web page, legible at a glance
KEPT_PAGES = 256  # images kept between requests: one long essay, and the pages around


class PageImages:
    """PNG images of the pages of the last good build's PDF, drawn on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._document: pypdfium2.PdfDocument | None = None
        self._build = -1  # the build whose PDF is open
        self._images: OrderedDict[int, bytes] = OrderedDict()

    def png(self, pdf: bytes, build: int, index: int) -> bytes | None:
        """Page `index` (from 0) of build `build`'s PDF; None past its last page, or if
        pdfium cannot read it."""
        with self._lock:
            if build != self._build:
                self._open(pdf, build)
            found = self._images.get(index)
            if found is None:
                found = self._draw(index)
                if found is None:
                    return None
                self._images[index] = found
                while len(self._images) > KEPT_PAGES:
                    self._images.popitem(last=False)
            self._images.move_to_end(index)
            return found

    def close(self) -> None:
        with self._lock:
            if self._document is not None:
                self._document.close()
            self._document, self._build = None, -1

    def _open(self, pdf: bytes, build: int) -> None:
        if self._document is not None:
            self._document.close()
        self._images.clear()
        self._build = build
        try:
            self._document = pypdfium2.PdfDocument(pdf)
        except pypdfium2.PdfiumError:
            self._document = None

    def _draw(self, index: int) -> bytes | None:
        document = self._document
        if document is None or not 0 <= index < len(document):
            return None
        page = document[index]
        try:
            bitmap = page.render(scale=PAGE_WIDTH_PX / page.get_width())
            out = io.BytesIO()
            bitmap.to_pil().save(out, format="PNG")
        finally:
            page.close()
        return out.getvalue()

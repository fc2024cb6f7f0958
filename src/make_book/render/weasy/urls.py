"""The fixed virtual roots every resource of a layout is served under (fetch.py).

Plain constants, apart from fetch.py's WeasyPrint-backed fetcher, so that the
build's own process can name them (the bundled face's @font-face rules) without
importing WeasyPrint: it stays small while the workers lay out.
"""

from __future__ import annotations

BOOK_URL = "file:///make-book/book/"
FONTS_URL = "file:///make-book/fonts/"

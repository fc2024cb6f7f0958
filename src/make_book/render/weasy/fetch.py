"""What WeasyPrint may read while laying out a book: the book's folder and the theme.

Every resource gets a URL under a fixed virtual root, so the PDF does not
depend on where the book sits on disk (WeasyPrint names images after their
URL), and nothing outside the book folder or the theme's fonts is opened.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

from make_book.render.weasy.urls import BOOK_URL as BOOK_URL  # re-exported, see urls.py
from make_book.render.weasy.urls import FONTS_URL as FONTS_URL

# Images are checked at 40 MB before layout; a font or stylesheet larger than this is
# not one, and reading it whole (a stylesheet may name any file) would only exhaust memory.
MAX_BYTES = 128 * 1024 * 1024
_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".otf": "font/otf",
    ".ttf": "font/ttf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".css": "text/css",
}


class BookFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no types
    """Serves files from the book folder and the font folders; refuses the rest."""

    def __init__(self, book_root: Path, font_dirs: tuple[Path, ...]) -> None:
        super().__init__(allowed_protocols={"file"})
        self.roots = [(BOOK_URL, book_root.resolve())]
        self.roots += [(FONTS_URL, d.resolve()) for d in font_dirs]
        self.read: dict[str, str] = {}  # each file served -> its sha256 (a cache depends on it)

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        """Read a file under one of the allowed roots, or raise ValueError."""
        for prefix, root in self.roots:
            if not url.startswith(prefix):
                continue
            relative = unquote(urlsplit(url).path[len(urlsplit(prefix).path) :])
            target = (root / relative).resolve()
            if target.is_relative_to(root) and target.is_file():
                if target.stat().st_size > MAX_BYTES:
                    raise ValueError(f"larger than {MAX_BYTES // (1024 * 1024)} MB: {url}")
                content_type = _TYPES.get(target.suffix.lower(), "application/octet-stream")
                headers = {"Content-Type": content_type}
                content = target.read_bytes()
                self.read[str(target)] = hashlib.sha256(content).hexdigest()
                return URLFetcherResponse(url, content, headers)
        raise ValueError(f"not inside the book folder or the theme: {url}")

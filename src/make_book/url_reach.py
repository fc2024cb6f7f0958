"""Where a URL written in a book points, read as a browser reads it.

Shared by the essay sanitizer (source/markup.py) and the check of what a book's own
template writes (theme/written.py): both must see "java<tab>script:" and "\\\\host"
as a browser would, or one of them could be walked around.
"""

from __future__ import annotations

import re

_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):", re.I)
_NOT_FETCHED = {"data", "javascript", "vbscript", "mailto", "tel", "about"}
_STRIPPED_FROM_URLS = "".join(map(chr, range(0x21)))  # C0 controls and the space
_IGNORED_IN_URLS = re.compile(r"[\t\n\r]")
REACH_REASONS = {
    "remote": "remote files are not fetched",
    "file": "file: URLs are not read",
    "absolute": "absolute paths are not allowed",
}


def reach(url: str) -> str:
    """Where a URL points: "remote", "file", "absolute", "data" or another scheme that
    loads nothing ("javascript"…), or "" for a relative path (resolved against the essay)."""
    text = as_browsers_read(url)
    if text.startswith("//"):
        return "remote"
    scheme = scheme_of(text)
    if len(scheme) > 1:  # a single letter is a Windows drive: C:/x.png
        return scheme if scheme in _NOT_FETCHED or scheme == "file" else "remote"
    return "absolute" if scheme or text.startswith("/") else ""


def scheme_of(url: str) -> str:
    """The URL's scheme, lower-cased ("" for a path)."""
    match = _SCHEME.match(as_browsers_read(url))
    return match[1].lower() if match else ""


def as_browsers_read(url: str) -> str:
    """Surrounding spaces and control characters and inner tabs and newlines ignored, a
    backslash taken for a slash: "java<tab>script:" and two backslashes before a host
    mean what a browser would make of them."""
    return _IGNORED_IN_URLS.sub("", url.strip(_STRIPPED_FROM_URLS)).replace("\\", "/")

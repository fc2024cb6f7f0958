"""What is at a report's path, for `build --report` (may it be written over?) and
`clean` (is it make-book's to remove?): read without following a FIFO or a device."""

from __future__ import annotations

import enum
import json
import os
import stat
from pathlib import Path

MOST_REPORT_BYTES = 64 * 1024 * 1024  # a report is far smaller: anything bigger is not one


class Found(enum.Enum):
    NOTHING = "nothing"
    EMPTY = "an empty file"
    REPORT = "a report of make-book"
    OTHER = "something else"


def found_at(path: Path, follow_links: bool = True) -> Found:
    """What `path` holds: nothing, an empty file, a report make-book wrote (a JSON object
    naming its version), or anything else (a FIFO, a device, a link when not followed)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return Found.NOTHING
    except OSError:
        return Found.OTHER
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MOST_REPORT_BYTES:
            return Found.OTHER
        text = stream.read(MOST_REPORT_BYTES + 1)
    if not text:
        return Found.EMPTY
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):  # not JSON (or nested past the parser's depth)
        return Found.OTHER
    return Found.REPORT if isinstance(body, dict) and "make_book" in body else Found.OTHER

"""Reading files a book folder may have planted: no link followed, regular files only, capped.

Opened without following a final link and without blocking (a FIFO would otherwise hang
the build), then checked on the open file itself: a device (/dev/zero) or a FIFO is
refused before a byte is read, and so is a file larger than the caller's cap.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # POSIX; Windows has no links to follow this way
_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | NOFOLLOW
_BLOCK = 1 << 20


def read_regular(path: Path | str, limit: int, touch: bool = False) -> bytes | None:
    """The bytes of a regular file of at most `limit` bytes, else None; `touch` marks it
    used now (the cache prunes what was not used for a month)."""
    try:
        fd = os.open(path, _READ)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as stream:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
                return None
            # As much as the file holds, and a byte more to see it grew meanwhile (then it
            # is not read whole: None). Asking for `limit` would allocate all of it first.
            data = stream.read(info.st_size + 1)
            if len(data) > info.st_size:
                return None
            if touch:
                os.utime(fd)
    except OSError:
        return None
    return data if len(data) <= limit else None


def sha256_of_regular(path: Path | str, limit: int, touch: bool = False) -> str | None:
    """The sha256 of a regular file of at most `limit` bytes, read in blocks; else None.
    `touch` marks it used now, as `read_regular` does."""
    try:
        fd = os.open(path, _READ)
    except OSError:
        return None
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "rb") as stream:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
                return None
            read = 0
            for block in iter(lambda: stream.read(_BLOCK), b""):
                read += len(block)
                if read > limit:
                    return None
                digest.update(block)
            if touch:
                os.utime(fd)
    except OSError:
        return None
    return digest.hexdigest()

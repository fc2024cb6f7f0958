"""The EPUB's zip, written by us so that an entry whose bytes an earlier build already
deflated is not deflated again (an edit rebuild of a 300-essay book changes one or two
of its 600 entries).

The format is the one Python's zipfile writes for `writestr` with a fixed date (no
extra fields, no data descriptors, Unix permissions 0644), which the EPUBs built before
this module had: the bytes are the same. Deflating is at level 9, as before; what an
entry deflates to is remembered by the sha256 of its bytes (cache/remembered.py), so
a fresh build and an incremental one give the same file.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from collections.abc import Iterable
from typing import BinaryIO

from make_book.cache.memo import BlobMemo
from make_book.cache.remembered import Remembered, digest_of

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_VERSION = 20  # 2.0: deflate
_UNIX = 3
_UTF8_NAME = 0x800
_STORED, _DEFLATED = 0, 8
_PERMISSIONS = 0o644 << 16
_LIMIT = 0xFFFFFFFF  # past this a zip needs ZIP64, which no EPUB does
# What an entry deflates to depends on zlib's build (zlib-ng deflates otherwise).
_KEY = f"deflated-entries, level 9, zlib {zlib.ZLIB_RUNTIME_VERSION}"


class Deflated:
    """What each entry's bytes deflate to: remembered from the last build (`memo`),
    else deflated now. `keep()` writes what this build used, when it changed."""

    def __init__(self, memo: BlobMemo | None) -> None:
        self.remembered = Remembered(memo, _KEY)

    def __call__(self, data: bytes) -> bytes:
        digest = digest_of(data)
        deflated = self.remembered.get(digest)
        if deflated is None:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            deflated = packer.compress(data) + packer.flush()
            self.remembered.put(digest, deflated)
        return deflated

    def keep(self) -> None:
        self.remembered.keep()


def write_zip(
    out: BinaryIO, entries: Iterable[tuple[str, bytes]], when: dt.datetime, deflate: Deflated
) -> None:
    """Write `entries` (name, bytes) in order, each dated `when`; `mimetype` stored, the
    rest deflated. The caller puts `mimetype` first, as EPUB requires."""
    date = (max(when.year, 1980) - 1980) << 9 | when.month << 5 | when.day
    time = when.hour << 11 | when.minute << 5 | when.second // 2
    directory: list[bytes] = []
    offset = 0
    for name, data in entries:
        method = _STORED if name == "mimetype" else _DEFLATED
        body = data if method == _STORED else deflate(data)
        if max(len(data), len(body), offset) > _LIMIT:
            raise ValueError(f"{name}: too large for a zip without ZIP64")
        encoded, flags = _name(name)
        crc = zlib.crc32(data)
        fields = (flags, method, time, date, crc, len(body), len(data))
        out.write(_LOCAL.pack(b"PK\x03\x04", _VERSION, 0, *fields, len(encoded), 0))
        out.write(encoded)
        out.write(body)
        central = (_VERSION, _UNIX, _VERSION, 0, *fields, len(encoded), 0, 0, 0, 0)
        directory.append(_CENTRAL.pack(b"PK\x01\x02", *central, _PERMISSIONS, offset) + encoded)
        offset += _LOCAL.size + len(encoded) + len(body)
    listing = b"".join(directory)
    out.write(listing)
    count = len(directory)
    out.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, len(listing), offset, 0))


def _name(name: str) -> tuple[bytes, int]:
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _UTF8_NAME

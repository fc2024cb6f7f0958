"""What bytes compressed to in the last build, by the sha256 of the bytes: an edit of a
300-essay book changes a few of the EPUB's 600 entries and of the PDF's object streams,
and compressing the rest again took most of writing them.

Kept in one sealed cache entry (memo.py) per use, holding what the last build used, so
that the memo does not grow with every edit and a fresh build and an incremental one
write the same bytes. The entry's key names the compression and zlib's version: another
zlib (zlib-ng) compresses otherwise.
"""

from __future__ import annotations

import hashlib
import marshal

from make_book.cache.memo import BlobMemo


class Compressed:
    """`get` what a digest's bytes compressed to before (None: compress them and `put`
    it); `keep()` stores what this build used, when that changed."""

    def __init__(self, memo: BlobMemo | None, key: str) -> None:
        self.memo, self.key = memo, key
        self.known = _loaded(memo.get(key)) if memo is not None else {}
        self.used: dict[bytes, bytes] = {}

    def get(self, digest: bytes) -> bytes | None:
        found = self.known.get(digest)
        if found is not None:
            self.used[digest] = found
        return found

    def put(self, digest: bytes, compressed: bytes) -> None:
        self.used[digest] = compressed

    def keep(self) -> None:
        if self.memo is not None and self.used.keys() != self.known.keys():
            self.memo.put(self.key, marshal.dumps(self.used))


def digest_of(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _loaded(data: bytes | None) -> dict[bytes, bytes]:
    """The remembered results (the cache entry is sealed: it is what this machine wrote)."""
    if data is None:
        return {}
    try:
        known = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(known, dict) or not all(
        isinstance(k, bytes) and isinstance(v, bytes) for k, v in known.items()
    ):
        return {}
    return known

"""What the last build made of some bytes, by their sha256 (`digest_of`): what an EPUB
entry or a PDF object stream compressed to, the characters an essay prints, what an
EPUB page's headings and page breaks are. An edit of a 300-essay book changes a few of
them, and making the rest again took a good part of its second.

Kept in one sealed cache entry (memo.py) per use, holding what the last build used, so
that the memo does not grow with every edit, and a fresh build and an incremental one
give the same results. The entry's key names how the results were made (zlib's version
for what it compresses: zlib-ng compresses otherwise), and make-book's version.
"""

from __future__ import annotations

import hashlib
import marshal

from make_book.cache.memo import BlobMemo, key_of


class Remembered:
    """`get` what was made of a digest's bytes before (None: make it and `put` it);
    `keep()` stores what this build used, when that changed."""

    def __init__(self, memo: BlobMemo | None, key: str) -> None:
        # make-book's version too (key_of): another release may make them otherwise.
        self.memo, self.key = memo, key_of(key)
        self.known = _loaded(memo.get(self.key)) if memo is not None else {}
        self.used: dict[bytes, bytes] = {}

    def get(self, digest: bytes) -> bytes | None:
        found = self.known.get(digest)
        if found is not None:
            self.used[digest] = found
        return found

    def put(self, digest: bytes, made: bytes) -> None:
        self.used[digest] = made

    def keep(self) -> None:
        if self.memo is not None and self.used != self.known:
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

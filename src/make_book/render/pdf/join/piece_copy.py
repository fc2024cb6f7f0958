"""A piece (or the front matter) as the join copied it, kept beside it for the next build.

Copying a piece into the book means reading its PDF with pikepdf and printing each
object with its references renumbered (object_writer.py): about 14 ms a piece. After one
essay is edited, every piece after it must be copied again, since its objects now start
at another number. The join therefore keeps each piece's objects as printed, with the
numbers left as slots (`Slotted`), in a `.join` file beside the piece's PDF; the next
build fills the slots with the new numbers instead (joined bytes are the same). The
front matter, joined last, is kept so too, with its entries for the book's catalog,
info and structure root (`FrontEntries`), their numbers left as slots as well.

The file is a marshal dump (the format Python keeps its own compiled modules in), sealed
with this machine's cache key (cache/trust.py) for its place: marshal is not made for
data from anyone, so only a copy this machine wrote there is ever loaded. It names the
sha256 of the piece's PDF it was copied from, so a damaged, stale or foreign copy is
never used: the piece is copied from its PDF again.
"""

from __future__ import annotations

import contextlib
import marshal
from dataclasses import dataclass, field
from pathlib import Path

from make_book.cache.files import read_regular
from make_book.cache.folder import write_new
from make_book.cache.trust import CacheUnusable, machine_key, seal, unseal
from make_book.render.pdf.join.font_faces import FaceUse
from make_book.render.pdf.join.object_writer import CopiedObject, Slotted
from make_book.render.pdf.layout.piece_cache import COPY_SUFFIX, PIECE_LIMIT
from make_book.render.pdf.layout.protocol import PieceResult

FORMAT = "make-book join copy 5"

# The front matter's entries for the book's catalog (key, value), its info's number, and
# its structure root's and document element's entries (book_join.py).
FrontEntries = tuple[
    list[tuple[str, Slotted]], int | None, list[tuple[str, Slotted]], list[tuple[str, Slotted]]
]


@dataclass
class Copied:
    """A piece's objects as written into a book, and what the book took of it."""

    base: int  # the number of its first object
    key_offset: int  # its first structure parent-tree key
    book_objects: tuple[int, ...]  # the book's own objects it refers to (page tree…)
    objects: list[CopiedObject] = field(default_factory=list)  # numbered on from `base`
    pages: list[int] = field(default_factory=list)
    tops: list[Slotted] = field(default_factory=list)  # its top structure elements
    parent_tree: list[Slotted] = field(default_factory=list)  # key, value, key, value…
    key_span: int = 0  # parent-tree keys it took
    destinations: list[tuple[str, Slotted]] = field(default_factory=list)
    faces: list[FaceUse] = field(default_factory=list)  # the book's faces it uses (font_faces.py)
    front: FrontEntries | None = None  # the front matter's entries (None: a piece's copy)

    @property
    def tagged(self) -> bool:
        return len(self.book_objects) > 1


def copy_path(piece: PieceResult) -> Path:
    return piece.pdf.with_suffix(COPY_SUFFIX)


def keep_copy(piece: PieceResult, copied: Copied) -> None:
    """Write the copy beside the piece (a failure only costs the next build time)."""
    head = (FORMAT, piece.sha256, copied.base, copied.key_offset, copied.book_objects)
    tail = (copied.pages, copied.tops, copied.parent_tree, copied.key_span)
    rest = (copied.destinations, copied.faces, copied.front)
    payload = marshal.dumps((*head, copied.objects, *tail, *rest))
    with contextlib.suppress(OSError, CacheUnusable):
        write_new(copy_path(piece), seal(machine_key(), _place(piece), payload))


def kept_copy(piece: PieceResult) -> Copied | None:
    """The copy kept beside the piece, if this machine sealed it there for this very PDF."""
    data = read_regular(copy_path(piece), PIECE_LIMIT)
    if data is None:
        return None
    try:
        payload = unseal(machine_key(), _place(piece), data)
    except CacheUnusable:
        return None
    return _loaded(payload, piece) if payload is not None else None


def _place(piece: PieceResult) -> str:
    """The copy's place in the cache (pieces/<key's name>/<folio>.join), which its seal names."""
    path = copy_path(piece)
    return f"pieces/{path.parent.name}/{path.name}"


def _loaded(payload: bytes, piece: PieceResult) -> Copied | None:
    try:
        fmt, sha, base, key_offset, book, objects, *rest = marshal.loads(payload)
        pages, tops, parent_tree, key_span, destinations, faces, front = rest
        if (fmt, sha) != (FORMAT, piece.sha256) or (front is not None and len(front) != 4):
            return None
        # As dumped: marshal gives back tuples and lists as they were.
        copied = Copied(base, key_offset, book, objects, pages, tops, parent_tree)
        copied.key_span, copied.destinations, copied.faces = key_span, destinations, faces
        copied.front = front
    except (ValueError, EOFError, TypeError):
        return None
    return copied

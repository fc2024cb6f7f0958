"""Writing a PDF object by object, copying objects from other PDFs as it goes.

The joined book (book_join.py) is written this way rather than built whole in memory
with pikepdf: a 1,200-page book's structure tree alone is 56,000 objects, which
qpdf holds at about 3 KB each. Here each piece is opened, its objects copied and
renumbered, and the piece closed, so the memory used is that of one piece.

Objects are copied as qpdf prints them (`unparse`), their references renumbered
on the way. qpdf escapes every parenthesis inside a literal string and writes hex
strings as bare digits, so one regular expression tells a reference (`12 0 R`)
from text inside a string.
"""

from __future__ import annotations

import array as arrays
import hashlib
import os
import re
import sys
import zlib
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import BinaryIO

import pikepdf

from make_book.cache.remembered import Remembered, digest_of
from make_book.render.weasy.patches.font_faces import MARK

ObjGen = tuple[int, int]
# Printed PDF with a `%d` for each object number or structure key in it, and their values
# (a key k as -1 - k): the same objects can be printed again under other numbers.
Slotted = tuple[bytes, tuple[int, ...]]

# A literal string (skipped), a reference, or a structure parent key (renumbered).
_TOKENS = re.compile(
    rb"\((?:[^\\)]|\\.)*\)|(?<=[ \[\n])(\d+) (\d+) R\b|/(StructParents?) (\d+)", re.DOTALL
)


class PdfWriter:
    """A PDF file written front to back: objects as they come, the cross-reference last.

    From PDF 1.5 on (`version`, settled when the first object is written), the objects
    that are not streams are packed into compressed object streams of `PACKED` objects
    each, and the cross-reference is a stream: a tagged book is mostly small
    dictionaries (structure elements, annotations, pages), a tenth of the room
    compressed. The structure tree's objects (those written as such: its elements, the
    parent tree; its root goes with the catalog) fill streams of their own, so that a reader
    showing the pages unpacks only theirs (qpdf opening the book reads the catalog's and
    the page tree's stream whole). A stream takes the objects in the order written, sorted
    by number when full, and is compressed then (by another thread), held until `finish`,
    which numbers the streams after every other object: packing takes no number from the
    objects, so a piece's objects are numbered alike whether copied from its PDF or from
    its kept copy (piece_copy.py), and the file depends only on the objects written, in
    their order. Before PDF 1.5 (PDF/A-1, PDF/X-1a), the objects and a classic
    cross-reference table are written as they come.
    """

    def __init__(
        self, out: BinaryIO, version: str = "1.7", remembered: Remembered | None = None
    ) -> None:
        self.out = out
        # What object streams compressed to in the last build (an edit's are mostly the
        # same bytes): taken, not compressed again (0.04 s of a core in an edit).
        self.remembered = remembered
        self.version = version  # may be changed until the first object is written
        # By object number: the offset in the file; -1: reserved, not written yet;
        # -2 - k: packed, in the (k // PACKED)-th object stream begun, at index k % PACKED.
        self.offsets: list[int] = [0]
        self.position = 0
        self.digest = hashlib.md5(usedforsecurity=False)  # the file identifier
        self.packing: bool | None = None  # whether objects go in object streams, once begun
        self._filling = (_Filling(), _Filling())  # the other objects', the structure tree's
        # Count, /First, data (compressed by another thread) and the sha256 of what was
        # compressed, of each object stream.
        self._streams: list[tuple[int, int, Future[bytes] | None, bytes]] = []

    def reserve(self) -> int:
        """A number for an object written later (it may be referred to before)."""
        self.offsets.append(-1)
        return len(self.offsets) - 1

    def write(
        self, number: int, body: bytes, stream: bytes | None = None, structure: bool = False
    ) -> None:
        """Object `number`: a dictionary, array or value; with `stream`, a stream's data.
        `structure`: of the structure tree (its elements and references are told apart by
        their type), packed apart from the pages."""
        self.write_all([(number, body, stream)], structure)

    def write_all(
        self, objects: Iterable[tuple[int, bytes, bytes | None]], structure: bool = False
    ) -> None:
        """`write` each, in one go (a piece's objects written again: piece_copy.py)."""
        if self.packing is None:
            self._begin()
        printed, position, offsets = [], self.position, self.offsets
        packing, others, elements, streams = self.packing, *self._filling, self._streams
        for number, body, stream in objects:
            if stream is None and packing:
                # What a reader reads to show the pages, apart from the structure tree: the
                # pages' object streams are then all it unpacks. (qpdf prints a dictionary's
                # keys in order: a structure element's /Type, if any, comes last.)
                filling = elements if structure or body.endswith(_TREE) else others
                numbers = filling.numbers
                if not numbers:
                    filling.stream = len(streams)
                    streams.append((0, 0, None, b""))  # its place, in the order begun
                offsets[number] = -2 - filling.stream * PACKED  # its index once packed
                numbers.append(number)
                filling.bodies.append(body)
                if len(numbers) == PACKED:
                    self._pack(filling)
                continue
            offsets[number] = position
            parts = [b"%d 0 obj\n" % number, body]
            if stream is not None:
                parts += [b"\nstream\n", stream, b"\nendstream"]
            parts.append(b"\nendobj\n")
            printed.append(b"".join(parts))
            position += len(printed[-1])
        self._put(b"".join(printed))

    def add(self, body: bytes, structure: bool = False) -> int:
        """A new object, written now: its number."""
        number = self.reserve()
        self.write(number, body, structure=structure)
        return number

    def finish(self, root: int, info: int | None) -> None:
        """The cross-reference and trailer; every reserved object must be written."""
        missing = [n for n, offset in enumerate(self.offsets) if offset == -1]
        if missing:
            raise ValueError(f"objects reserved but never written: {missing[:5]}")
        if self.packing is None:
            self._begin()
        trailer = b"/Root %d 0 R" % root
        trailer += b" /Info %d 0 R" % info if info is not None else b""
        if self.packing:
            self._finish_packed(trailer)
            return
        identifier = self.digest.hexdigest().encode("ascii")
        start = self.position
        lines = [b"xref\n0 %d\n0000000000 65535 f \n" % len(self.offsets)]
        lines += [b"%010d 00000 n \n" % offset for offset in self.offsets[1:]]
        trailer = b"<< /Size %d %s" % (len(self.offsets), trailer)
        trailer += b" /ID [ <%s> <%s> ] >>" % (identifier, identifier)
        lines += [b"trailer\n", trailer, b"\nstartxref\n%d\n%%%%EOF\n" % start]
        self._put(b"".join(lines))

    def _begin(self) -> None:
        """The header; from PDF 1.5 on, objects are packed from here."""
        major, _, minor = self.version.partition(".")
        self.packing = (int(major), int(minor or 0)) >= (1, 5)
        self._put(b"%PDF-" + self.version.encode("ascii") + b"\n%\xe2\xe3\xcf\xd3\n")

    def _pack(self, filling: _Filling) -> None:
        """The objects collected into one compressed object stream, held until `finish`,
        in the order of their numbers (which compresses better than the order written)."""
        ordered = sorted(zip(filling.numbers, filling.bodies, strict=True))
        numbers, bodies = [n for n, _ in ordered], [body for _, body in ordered]
        at, offsets = -2 - filling.stream * PACKED, self.offsets
        for index, number in enumerate(numbers):
            offsets[number] = at - index
        starts = accumulate([len(body) + 1 for body in bodies[:-1]], initial=0)
        pairs = [value for pair in zip(numbers, starts, strict=True) for value in pair]
        header = b"%d %d " * len(numbers) % tuple(pairs)
        packed = header + b"\n".join(bodies)
        digest = digest_of(packed) if self.remembered is not None else b""
        known = self.remembered.get(digest) if self.remembered is not None else None
        if known is not None:
            data: Future[bytes] = Future()
            data.set_result(known)
        else:  # zlib lets go of the interpreter while it compresses: the join goes on
            data = _compressing().submit(zlib.compress, packed)
        self._streams[filling.stream] = (len(bodies), len(header), data, digest)
        filling.numbers.clear()
        filling.bodies.clear()

    def _finish_packed(self, trailer: bytes) -> None:
        """The object streams, numbered after the other objects, then the cross-reference
        stream (its rows predicted from the row above, PNG's Up, as qpdf writes them)."""
        for filling in self._filling:
            if filling.numbers:
                self._pack(filling)
        first = len(self.offsets)
        printed, position = [], self.position
        for count, start, compressed, digest in self._streams:
            assert compressed is not None  # every stream begun is packed by now
            data = compressed.result()
            if self.remembered is not None:
                self.remembered.put(digest, data)
            self.offsets.append(position)
            printed.append(
                b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>"
                b"\nstream\n%s\nendstream\nendobj\n"
                % (len(self.offsets) - 1, count, start, len(data), data)
            )
            position += len(printed[-1])
        self._put(b"".join(printed))
        number = len(self.offsets)
        self.offsets.append(self.position)  # the cross-reference stream's own
        # Rows of 8 bytes: 2 (PNG's Up, for the predictor), then /W [ 1 5 1 ]: the type, the
        # offset or object stream, the index in it. The k-th object packed (-2 - k in
        # `offsets`) is at index k % 256 of stream `first` + k // 256: its field 2 and 3
        # read as one number are (first << 8) + k.
        top, one, two = 2 << 56, 1 << 48, 2 << 48
        packed = top | two | first << 8
        rows = arrays.array(
            "Q", [packed - 2 - at if at < 0 else top | one | at << 8 for at in self.offsets]
        )
        rows[0] = top  # object 0: free, the head of the (empty) list
        if sys.byteorder == "little":
            rows.byteswap()
        data = zlib.compress(_up(rows.tobytes(), 8))
        identifier = self.digest.hexdigest().encode("ascii")
        self._put(
            b"%d 0 obj\n<< /Type /XRef /Size %d /W [ 1 5 1 ] %s /ID [ <%s> <%s> ]"
            b" /Filter /FlateDecode /DecodeParms << /Columns 7 /Predictor 12 >> /Length %d >>"
            b"\nstream\n%s\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n"
            % (
                number,
                number + 1,
                trailer,
                identifier,
                identifier,
                len(data),
                data,
                self.offsets[number],
            )
        )

    def _put(self, data: bytes) -> None:
        self.out.write(data)
        self.digest.update(data)
        self.position += len(data)


@dataclass
class _Filling:
    """An object stream being filled: its place among the streams, its objects."""

    stream: int = 0
    numbers: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


_compressor: dict[int, ThreadPoolExecutor] = {}  # by process (a fork has no thread of it)


def _compressing() -> ThreadPoolExecutor:
    """One thread, for the process, that compresses object streams in the order given."""
    process = os.getpid()
    if process not in _compressor:
        _compressor.clear()
        _compressor[process] = ThreadPoolExecutor(1, thread_name_prefix="make-book-objstm")
    return _compressor[process]


# How a structure element or an object reference (in the structure tree) ends, printed.
_TREE = (b"/StructElem >>", b"/OBJR >>")

# Objects per object stream: a reader unpacks a whole stream to reach one of its objects;
# beyond a few hundred small dictionaries zlib's 32 KB window gains nothing.
PACKED = 256  # (an object's index in its stream is one byte)


def _up(table: bytes, row: int) -> bytes:
    """Rows of `row` bytes, each (its first byte aside, PNG's filter type) less the row
    above it, byte by byte modulo 256: subtracted all at once as one number, with each
    byte's top bit set aside so that no borrow crosses from one byte to the next."""
    if not table:
        return table
    size = len(table)
    above = bytes(row) + table[:-row]
    keep = int.from_bytes((b"\x00" + b"\xff" * (row - 1)) * (size // row), "big")
    x, y = int.from_bytes(table, "big"), int.from_bytes(above, "big") & keep
    high = int.from_bytes(b"\x80" * size, "big")
    every = (1 << 8 * size) - 1
    difference = ((x | high) - (y & (every ^ high))) ^ ((x ^ y ^ every) & high)
    return difference.to_bytes(size, "big")


def pdf_version(path: Path) -> str:
    """The version a PDF file's header gives (1.7 if it gives none)."""
    with path.open("rb") as file:
        found = re.match(rb"%PDF-(\d\.\d)", file.read(16))
    return found.group(1).decode("ascii") if found is not None else "1.7"


@dataclass(frozen=True)
class Renumbering:
    """Objects numbered from `base_from` (and keys) printed again from `base_to`, keys
    moved by `keys_by`; numbers below `base_from` are the book's own and stay."""

    base_from: int = 0
    base_to: int = 0
    keys_by: int = 0

    def __call__(self, value: int) -> int:
        if value < 0:
            return -1 - value + self.keys_by
        return value + self.base_to - self.base_from if value >= self.base_from else value

    def fill(self, slotted: Slotted) -> bytes:
        printed, values = slotted
        base, by, keys = self.base_from, self.base_to - self.base_from, self.keys_by - 1
        # __call__, inline: a piece written again fills some 2,000 slots.
        return printed % tuple([v + by if v >= base else v if v >= 0 else keys - v for v in values])


AS_COPIED = Renumbering()


CopiedObject = tuple[int, Slotted, bytes | None]  # number, body, a stream's data


class Copier:
    """Copies objects of one open PDF into a writer, each once, renumbered.

    `replaced`: objects of the source that the output has its own of (the page
    tree's root, the structure tree's): references to them point there instead.
    `key_offset` is added to /StructParent(s) keys, which index the parent tree.
    """

    def __init__(
        self,
        writer: PdfWriter,
        source: pikepdf.Pdf,
        replaced: dict[ObjGen, int] | None = None,
        key_offset: int = 0,
    ) -> None:
        self.writer = writer
        self.source = source
        self.numbers: dict[ObjGen, int] = dict(replaced or {})
        self.key_offset = key_offset
        self.queue: list[ObjGen] = []
        self.copied: list[CopiedObject] = []  # as written, for writing again elsewhere

    def number(self, obj: pikepdf.Object) -> int:
        """The output number of an indirect object of the source (copied by `copy_queued`)."""
        return self._number(obj.objgen)

    def direct(self, obj: object) -> bytes:
        """A value of the source (pikepdf gives numbers as Python's), printed for the
        output; an indirect object is printed as a reference, and queued."""
        return AS_COPIED.fill(self.slotted(obj))

    def slotted(self, obj: object) -> Slotted:
        """`direct`, with its object numbers and keys left as slots."""
        if isinstance(obj, pikepdf.Object):
            if obj.is_indirect:
                return b"%d 0 R", (self.number(obj),)
            return self._slotted(obj.unparse(resolved=False))
        if isinstance(obj, bool):
            return b"true" if obj else b"false", ()
        if isinstance(obj, int):
            return b"%d" % obj, ()
        if obj is None:
            return b"null", ()
        return number(float(obj)), ()  # type: ignore[arg-type]  # a Decimal

    def copy_queued(self) -> None:
        """Write every object referred to so far, and everything they refer to."""
        while self.queue:
            objgen = self.queue.pop()
            obj = self.source.get_object(objgen)
            data = None
            if isinstance(obj, pikepdf.Stream):
                data = obj.read_raw_bytes()
                # /Length may have been an object of its own: it is written here
                entries = [(k[1:], self.slotted(v)) for k, v in obj.stream_dict.items()]
                # (and a face's mark, for the join alone: render/pdf/join/font_faces.py)
                entries = [e for e in entries if e[0] not in ("Length", MARK)]
                body = slotted_dictionary([*entries, ("Length", (b"%d" % len(data), ()))])
            else:
                body = self._slotted(obj.unparse(resolved=True))
            self.copied.append((self.numbers[objgen], body, data))
            self.writer.write(self.numbers[objgen], AS_COPIED.fill(body), data)

    def _number(self, objgen: ObjGen) -> int:
        number = self.numbers.get(objgen)
        if number is None:
            number = self.numbers[objgen] = self.writer.reserve()
            self.queue.append(objgen)
        return number

    def _slotted(self, body: bytes) -> Slotted:
        values: list[int] = []

        def token(match: re.Match[bytes]) -> bytes:
            if match.group(1) is not None:
                values.append(self._number((int(match.group(1)), int(match.group(2)))))
                return b"%d 0 R"
            if match.group(3) is not None:
                values.append(-1 - (int(match.group(4)) + self.key_offset))
                return b"/%s %%d" % match.group(3)
            return match.group(0)  # a literal string, left as it is

        return _TOKENS.sub(token, body.replace(b"%", b"%%")), tuple(values)


def dictionary(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """`<< /Key value … >>` from printed values."""
    return b"<< " + b" ".join(b"/%s %s" % (k.encode("ascii"), v) for k, v in entries) + b" >>"


def slotted_dictionary(entries: Iterable[tuple[str, Slotted]]) -> Slotted:
    """`dictionary`, of slotted values."""
    entries = list(entries)
    keys = [k.replace("%", "%%").encode("ascii") for k, _ in entries]
    printed = b" ".join(b"/%s %s" % (k, v[0]) for k, (_, v) in zip(keys, entries, strict=True))
    return b"<< " + printed + b" >>", tuple(n for _, (_, values) in entries for n in values)


def slotted_array(items: Iterable[Slotted]) -> Slotted:
    items = list(items)
    return b"[ " + b" ".join(p for p, _ in items) + b" ]", tuple(n for _, v in items for n in v)


def array(items: Iterable[bytes]) -> bytes:
    return b"[ " + b" ".join(items) + b" ]"


def ref(number: int) -> bytes:
    return b"%d 0 R" % number


def text(value: str) -> bytes:
    """A text string, as PDFDocEncoding or UTF-16 (what qpdf chooses)."""
    return bytes(pikepdf.String(value).unparse())


def number(value: float) -> bytes:
    """A real number without exponent or trailing zeros."""
    printed = f"{value:.4f}".rstrip("0").rstrip(".")
    return (printed if printed not in ("", "-0") else "0").encode("ascii")

"""Writing a PDF object by object, copying objects from other PDFs as it goes.

The joined book (join.py) is written this way rather than built whole in memory
with pikepdf: a 1,200-page book's structure tree alone is 56,000 objects, which
qpdf holds at about 3 KB each. Here each piece is opened, its objects copied and
renumbered, and the piece closed, so the memory used is that of one piece.

Objects are copied as qpdf prints them (`unparse`), their references renumbered
on the way. qpdf escapes every parenthesis inside a literal string and writes hex
strings as bare digits, so one regular expression tells a reference (`12 0 R`)
from text inside a string.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

import pikepdf

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
    """A PDF file written front to back: objects as they come, the cross-reference last."""

    def __init__(self, out: BinaryIO, version: str = "1.7") -> None:
        self.out = out
        self.offsets: list[int] = [0]  # by object number; -1: reserved, not written yet
        self.position = 0
        self.digest = hashlib.md5(usedforsecurity=False)  # the file identifier
        self._put(b"%PDF-" + version.encode("ascii") + b"\n%\xe2\xe3\xcf\xd3\n")

    def reserve(self) -> int:
        """A number for an object written later (it may be referred to before)."""
        self.offsets.append(-1)
        return len(self.offsets) - 1

    def write(self, number: int, body: bytes, stream: bytes | None = None) -> None:
        """Object `number`: a dictionary, array or value; with `stream`, a stream's data."""
        self.write_all([(number, body, stream)])

    def write_all(self, objects: Iterable[tuple[int, bytes, bytes | None]]) -> None:
        """`write` each, in one go (a piece's objects written again: piece_copy.py)."""
        printed, position = [], self.position
        for number, body, stream in objects:
            self.offsets[number] = position
            parts = [b"%d 0 obj\n" % number, body]
            if stream is not None:
                parts += [b"\nstream\n", stream, b"\nendstream"]
            parts.append(b"\nendobj\n")
            printed.append(b"".join(parts))
            position += len(printed[-1])
        self._put(b"".join(printed))

    def add(self, body: bytes) -> int:
        """A new object, written now: its number."""
        number = self.reserve()
        self.write(number, body)
        return number

    def finish(self, root: int, info: int | None) -> None:
        """The cross-reference table and trailer; every reserved object must be written."""
        missing = [n for n, offset in enumerate(self.offsets) if offset < 0]
        if missing:
            raise ValueError(f"objects reserved but never written: {missing[:5]}")
        identifier = self.digest.hexdigest().encode("ascii")
        start = self.position
        lines = [b"xref\n0 %d\n0000000000 65535 f \n" % len(self.offsets)]
        lines += [b"%010d 00000 n \n" % offset for offset in self.offsets[1:]]
        trailer = b"<< /Size %d /Root %d 0 R" % (len(self.offsets), root)
        trailer += b" /Info %d 0 R" % info if info is not None else b""
        trailer += b" /ID [ <%s> <%s> ] >>" % (identifier, identifier)
        lines += [b"trailer\n", trailer, b"\nstartxref\n%d\n%%%%EOF\n" % start]
        self._put(b"".join(lines))

    def _put(self, data: bytes) -> None:
        self.out.write(data)
        self.digest.update(data)
        self.position += len(data)


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

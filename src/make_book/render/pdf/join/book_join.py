"""Joining laid-out pieces into one PDF that reads as if laid out whole.

Each piece's pages (and what they use) are copied into the book as the piece is
added, in page order, then the piece is closed (object_writer.py): memory does not
grow with the book. What spans pieces is written at the end: the page tree, one
outline from every piece's bookmarks, one table of named destinations (a link
into another piece names its target, see pieces.py), page labels from the
opener on, and, for tagged profiles, one structure tree whose parent-tree keys
follow on from piece to piece. The front matter's catalog entries (language,
XMP metadata, output intents, viewer preferences) and document info are the book's.
Each face is embedded once, cut to the glyphs of the whole book, in one font that the
pieces' fonts of that face give way to (font_faces.py). The objects are written in
compressed object streams when the pieces are PDF 1.5 or later (object_writer.py).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pikepdf
from pikepdf import NameTree

from make_book.cache.memo import BlobMemo
from make_book.cache.remembered import Remembered
from make_book.render.pdf.join.font_faces import BookFaces
from make_book.render.pdf.join.object_writer import (
    AS_COPIED,
    Copier,
    PdfWriter,
    Renumbering,
    Slotted,
    array,
    dictionary,
    number,
    pdf_version,
    ref,
    slotted_array,
    text,
)
from make_book.render.pdf.join.piece_copy import Copied, FrontEntries, keep_copy, kept_copy
from make_book.render.pdf.layout.piece_cache import FACES_PLACE, faces_folder
from make_book.render.pdf.layout.protocol import Bookmark, PieceResult

# The object streams' entry in the cache (cache/remembered.py): zlib's default level.
OBJECT_STREAMS = f"object streams, zlib {zlib.ZLIB_RUNTIME_VERSION}"
# Catalog entries the join writes itself; the front matter's others are copied.
_REBUILT = {"/Type", "/Pages", "/Outlines", "/Names", "/StructTreeRoot", "/PageLabels"}


@dataclass
class _Added:
    """What the book keeps of a piece once it is closed."""

    pages: list[int]  # output object numbers
    bookmarks: list[Bookmark]


@dataclass
class _Front:
    """The front matter's entries for the book's catalog, info and structure root, with
    its object numbers left as slots (kept with its copy, piece_copy.py), and how they
    are numbered in this book."""

    catalog: list[tuple[str, Slotted]] = field(default_factory=list)
    info: int | None = None  # its number as copied
    structure: list[tuple[str, Slotted]] = field(default_factory=list)
    document: list[tuple[str, Slotted]] = field(default_factory=list)
    keepable: bool = True  # False: its info was a direct object, written apart from its copy
    numbering: Renumbering = AS_COPIED

    def kept(self) -> FrontEntries:
        return (self.catalog, self.info, self.structure, self.document)

    def printed(self, entries: list[tuple[str, Slotted]]) -> list[tuple[str, bytes]]:
        return [(key, self.numbering.fill(value)) for key, value in entries]

    def info_number(self) -> int | None:
        return self.numbering(self.info) if self.info is not None else None


class BookJoin:
    """The book's PDF, written piece by piece: `add` the main matter in page order,
    then `finish` with the front matter (laid out last, placed first)."""

    def __init__(self, out: BinaryIO, cache_dir: Path | None = None, name: str = "") -> None:
        # The build's cache (None: none kept): each piece's copy is kept beside it there
        # (piece_copy.py), and the faces' cuts and the object streams (of the PDF `name`,
        # its profile's) are remembered in it.
        self.cache_dir = cache_dir
        self.memo = BlobMemo(cache_dir, FACES_PLACE) if cache_dir is not None else None
        memo = self.memo
        self.streams = Remembered(memo, f"{OBJECT_STREAMS}, {name}") if memo is not None else None
        self.writer = PdfWriter(out, remembered=self.streams)
        self.catalog = self.writer.reserve()
        self.page_tree = self.writer.reserve()
        self.structure: tuple[int, int] | None = None  # (root, document), once tagged
        self.main: list[_Added] = []
        self.tops: list[bytes] = []  # the pieces' top structure elements
        self.parent_tree: list[bytes] = []  # key, value, key, value…
        self.next_key = 0
        self.destinations: dict[str, bytes] = {}
        self.faces = BookFaces(self.writer)

    def add(self, piece: PieceResult) -> None:
        self._settle_version(piece)
        copied = kept_copy(piece)
        if copied is not None and copied.front is None and self._fits(copied, piece):
            self.main.append(self._again(copied, piece))
            return
        copied = self._copy(piece, None)
        if self.cache_dir is not None:
            keep_copy(piece, copied)
        self.main.append(self._take(copied, AS_COPIED, piece))

    def finish(self, front: PieceResult) -> None:
        self._settle_version(front)
        added, found = self._front(front)
        pieces = [added, *self.main]
        pages = [page for piece in pieces for page in piece.pages]
        self.writer.write(
            self.page_tree,
            dictionary(
                [
                    ("Type", b"/Pages"),
                    ("Kids", array(map(ref, pages))),
                    ("Count", b"%d" % len(pages)),
                ]
            ),
        )
        entries = [("Type", b"/Catalog"), ("Pages", ref(self.page_tree))]
        outline = self._outline(pieces)
        entries += [("Outlines", ref(outline))] if outline is not None else []
        if self.destinations:
            entries.append(("Names", dictionary([("Dests", ref(self._destinations()))])))
        if self.structure is not None:
            entries.append(("StructTreeRoot", ref(self._structure(found))))
        entries.append(("PageLabels", page_labels(len(added.pages))))
        entries += found.printed(found.catalog)
        # The cuts are remembered in the build's cache (never where its pieces went
        # when that failed: a throwaway folder).
        self.faces.write(self.memo)
        self.writer.write(self.catalog, dictionary(entries))
        self.writer.finish(self.catalog, found.info_number())
        if self.streams is not None:
            self.streams.keep()

    def _settle_version(self, piece: PieceResult) -> None:
        """The book is of its pieces' PDF version (all alike): from 1.5 on, its objects are
        packed in object streams (object_writer.py)."""
        if self.writer.packing is None:
            self.writer.version = pdf_version(piece.pdf)

    def _front(self, front: PieceResult) -> tuple[_Added, _Front]:
        """The front matter copied into the book (from its kept copy when it has one, as a
        piece is), and its entries for the book's catalog and structure root."""
        copied = kept_copy(front)
        if copied is not None and copied.front is not None and self._fits(copied, front):
            renumbering = self._renumbered(copied, front)
            catalog, info, structure, document = copied.front
            found = _Front(catalog, info, structure, document, numbering=renumbering)
            return self._take(copied, renumbering, front, first=True), found
        found = _Front()
        copied = self._copy(front, found)
        if self.cache_dir is not None and found.keepable:
            copied.front = found.kept()
            keep_copy(front, copied)
        return self._take(copied, AS_COPIED, front, first=True), found

    # -- one piece

    def _copy(self, piece: PieceResult, front: _Front | None) -> Copied:
        """Copy the piece's objects from its PDF, and note what the book takes of it."""
        with pikepdf.open(piece.pdf) as source:
            replaced = {source.Root.Pages.objgen: self.page_tree}
            tree = source.Root.get("/StructTreeRoot")
            if tree is not None:
                replaced |= self._structure_of(tree)
            # The book's faces, numbered before the piece's objects (as the book's are).
            folder = faces_folder(piece.pdf)
            found = self.faces.found(source, folder)
            uses = [(f.mark, f.widths, f.texts, f.head) for f in found]
            taken = self.faces.take(uses, folder) if folder is not None else []
            for use, (number, whole) in zip(found, taken, strict=True):
                replaced[use.font if whole else use.program] = number
            base = len(self.writer.offsets)
            copier = Copier(self.writer, source, replaced, self.next_key)
            copied = Copied(base, self.next_key, self._book_objects(tree is not None))
            copied.faces = [
                (f.mark, number, whole, f.widths, f.texts, f.head)
                for f, (number, whole) in zip(found, taken, strict=True)
            ]
            copied.pages = [copier.number(page.obj) for page in source.pages]
            if tree is not None:
                _adopt(copier, tree, copied)
            _add_destinations(copier, source, piece, copied)
            if front is not None:
                _take_front(copier, source, front)
            copier.copy_queued()
        copied.objects = copier.copied  # every number the copier reserved, written
        return copied

    def _again(self, copied: Copied, piece: PieceResult) -> _Added:
        """A piece copied by an earlier build, written again under this book's numbers."""
        return self._take(copied, self._renumbered(copied, piece), piece)

    def _renumbered(self, copied: Copied, piece: PieceResult) -> Renumbering:
        """Write a kept copy's objects under this book's numbers; how they were moved."""
        folder = faces_folder(piece.pdf)
        if folder is not None:
            self.faces.take([(m, w, t, h) for m, _, _, w, t, h in copied.faces], folder)
        renumbering = Renumbering(
            copied.base, len(self.writer.offsets), self.next_key - copied.key_offset
        )
        for _ in copied.objects:
            self.writer.reserve()
        fill, by = renumbering.fill, renumbering.base_to - renumbering.base_from
        # (numbered from `base`: the renumbering moves each by the same)
        self.writer.write_all((n + by, fill(body), data) for n, body, data in copied.objects)
        return renumbering

    def _take(
        self, copied: Copied, renumbering: Renumbering, piece: PieceResult, first: bool = False
    ) -> _Added:
        """What spans pieces: the piece's top elements (`first`: before the others', for
        the front matter, taken last but read first), parent-tree entries and keys, named
        destinations; its pages and bookmarks."""
        tops = [renumbering.fill(top) for top in copied.tops]
        self.tops = tops + self.tops if first else self.tops + tops
        self.parent_tree += map(renumbering.fill, copied.parent_tree)
        self.next_key += copied.key_span
        for name, target in copied.destinations:
            self.destinations[name] = renumbering.fill(target)
        pages = list(map(renumbering, copied.pages))
        bookmarks = [
            Bookmark(lv, label, pages[p], x, y, st) for lv, label, p, x, y, st in piece.bookmarks
        ]
        return _Added(pages, bookmarks)

    def _fits(self, copied: Copied, piece: PieceResult) -> bool:
        """Whether a kept copy can be written again here: it refers to the book's objects
        by the numbers they have (the structure root's are reserved for the first tagged
        piece, as copying it afresh would), and its faces are the book's."""
        if copied.tagged and self.structure is None:
            self.structure = (self.writer.reserve(), self.writer.reserve())
        return copied.book_objects == self._book_objects(copied.tagged) and self.faces.fit(
            copied.faces, faces_folder(piece.pdf)
        )

    def _book_objects(self, tagged: bool) -> tuple[int, ...]:
        """The book's own objects a piece's refer to: its page tree, its structure root."""
        return (self.page_tree, *(self.structure or () if tagged else ()))

    def _structure_of(self, tree: pikepdf.Object) -> dict[tuple[int, int], int]:
        """The piece's structure root and document element are the book's."""
        if self.structure is None:
            self.structure = (self.writer.reserve(), self.writer.reserve())
        root, document = self.structure
        return {tree.objgen: root, tree.K[0].objgen: document}

    # -- what spans pieces

    def _destinations(self) -> int:
        named = sorted(self.destinations.items())
        names = [item for name, target in named for item in (text(name), target)]
        return self.writer.add(dictionary([("Names", array(names))]))

    def _structure(self, front: _Front) -> int:
        assert self.structure is not None
        root, document = self.structure
        parent_tree = self.writer.add(
            dictionary([("Nums", array(self.parent_tree))]), structure=True
        )
        self.writer.write(
            document,
            dictionary(
                [*front.printed(front.document), ("P", ref(root)), ("K", array(self.tops))],
            ),
            structure=True,
        )
        self.writer.write(
            root,
            dictionary(
                [
                    *front.printed(front.structure),
                    ("Type", b"/StructTreeRoot"),
                    ("K", array([ref(document)])),
                    ("ParentTree", ref(parent_tree)),
                    ("ParentTreeNextKey", b"%d" % self.next_key),
                ]
            ),
            # Packed with the catalog's objects (as a rule in the catalog's stream), not
            # the structure tree's elements: whoever asks whether the file is tagged (a
            # reader, the preflight) then reads no stream holding 256 elements and the
            # parent tree (0.01 s of the preflight's 0.05 s for qpdf on the synthetic book).
        )
        return root

    def _outline(self, pieces: list[_Added]) -> int | None:
        """One outline; CSS bookmark levels nest across pieces (an essay under its part)."""
        root = _Item("", 0, 0, 0.0, 0.0, False)
        stack = [root]
        for piece in pieces:
            for level, label, page, x, y, state in piece.bookmarks:
                item = _Item(label, level, page, x, y, state == "closed")
                while stack[-1].level >= level and stack[-1] is not root:
                    stack.pop()
                stack[-1].children.append(item)
                stack.append(item)
        if not root.children:
            return None
        return _write_outline(self.writer, root)


def _adopt(copier: Copier, tree: pikepdf.Object, copied: Copied) -> None:
    """The piece's top elements go under the book's document; its keys after the book's."""
    copied.tops = [copier.slotted(element) for element in tree.K[0].K]
    nums = list(tree.ParentTree.Nums)
    for key, value in zip(nums[::2], nums[1::2], strict=True):
        key_slot: Slotted = (b"%d", (-1 - (int(key) + copier.key_offset),))
        copied.parent_tree += [key_slot, copier.slotted(value)]
    keys = [int(key) for key in nums[::2]]
    copied.key_span = max(keys) + 1 if keys else 0


def _add_destinations(
    copier: Copier, source: pikepdf.Pdf, piece: PieceResult, copied: Copied
) -> None:
    """The piece's own anchors (not its stand-ins), pointing at its copied pages."""
    names = source.Root.get("/Names", pikepdf.Dictionary()).get("/Dests")
    for name, target in NameTree(names).items() if names is not None else []:
        if name in piece.anchors:
            page: Slotted = (b"%d 0 R", (copied.pages[piece.anchors[name]],))
            where = [copier.slotted(item) for item in list(target)[1:]]
            copied.destinations.append((name, slotted_array([page, *where])))


def _take_front(copier: Copier, source: pikepdf.Pdf, front: _Front) -> None:
    front.catalog = [
        (key[1:], copier.slotted(value))
        for key, value in source.Root.items()
        if key not in _REBUILT
    ]
    info = source.trailer.get("/Info")
    if info is not None and info.is_indirect:
        front.info = copier.number(info)
    elif info is not None:  # written now, apart from the copy: the copy is not kept
        front.info, front.keepable = copier.writer.add(copier.direct(info)), False
    tree = source.Root.get("/StructTreeRoot")
    if tree is not None:
        skip = {"/Type", "/K", "/ParentTree", "/ParentTreeNextKey"}
        front.structure = [(k[1:], copier.slotted(v)) for k, v in tree.items() if k not in skip]
        document = tree.K[0]
        front.document = [
            (k[1:], copier.slotted(v)) for k, v in document.items() if k not in {"/K", "/P"}
        ]


@dataclass
class _Item:
    label: str
    level: int
    page: int  # output object number
    x: float
    y: float
    closed: bool
    children: list[_Item] = field(default_factory=list)
    number: int = 0

    def shown(self) -> int:
        """Descendants shown when this item is open."""
        return sum(1 + (0 if child.closed else child.shown()) for child in self.children)


def _write_outline(writer: PdfWriter, root: _Item) -> int:
    """The outline's items, each with its parent, siblings, children and count."""
    root.number = writer.reserve()
    _number(writer, root.children)
    _write_children(writer, root)
    writer.write(
        root.number,
        dictionary(
            [
                ("Type", b"/Outlines"),
                ("First", ref(root.children[0].number)),
                ("Last", ref(root.children[-1].number)),
                ("Count", b"%d" % root.shown()),
            ]
        ),
    )
    return root.number


def _number(writer: PdfWriter, items: list[_Item]) -> None:
    """Reserve every item's number first: siblings and children refer to each other."""
    for item in items:
        item.number = writer.reserve()
        _number(writer, item.children)


def _write_children(writer: PdfWriter, parent: _Item) -> None:
    children = parent.children
    for i, item in enumerate(children):
        entries = [
            ("Title", text(item.label)),
            ("Parent", ref(parent.number)),
            ("Dest", array([ref(item.page), b"/XYZ", number(item.x), number(item.y), b"0"])),
        ]
        entries += [("Prev", ref(children[i - 1].number))] if i > 0 else []
        entries += [("Next", ref(children[i + 1].number))] if i + 1 < len(children) else []
        if item.children:
            count = -item.shown() if item.closed else item.shown()
            entries += [
                ("First", ref(item.children[0].number)),
                ("Last", ref(item.children[-1].number)),
                ("Count", b"%d" % count),
            ]
        writer.write(item.number, dictionary(entries))
        _write_children(writer, item)


def page_labels(opener: int) -> bytes:
    """Roman numbers for the front matter, arabic from the main matter's first page."""
    nums = [b"0 << /S /r >>"] if opener > 0 else []
    nums.append(b"%d << /S /D >>" % opener)
    return dictionary([("Nums", array(nums))])

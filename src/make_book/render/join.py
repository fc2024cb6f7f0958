"""Joining laid-out pieces into one PDF that reads as if laid out whole.

The front matter's file is the base (its metadata, language, output intent and
XMP are the book's); every other piece's pages are appended. Then what spans
pieces is rebuilt: one outline from every piece's bookmarks, one table of named
destinations (a link into another piece names its target, see pieces.py), page
labels from the opener on, and, for tagged profiles, one structure tree whose
parent-tree keys are renumbered piece by piece.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, NameTree, OutlineItem, PageLocation

from make_book.render.layout_pool import LaidOutBook
from make_book.render.piecework import PieceResult


def join_pieces(book: LaidOutBook, out: Path) -> None:
    """Write the joined PDF to `out`."""
    with contextlib.ExitStack() as files, pikepdf.open(book.front.pdf) as joined:
        tree = _Structure(joined)
        destinations = _destinations(joined, joined, book.front, 0)
        for piece in book.main:
            source = files.enter_context(pikepdf.open(piece.pdf))
            start = len(joined.pages)
            tree.detach(source)
            with warnings.catch_warnings():  # named destinations are rebuilt below
                warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
                joined.pages.extend(source.pages)
            destinations |= _destinations(joined, source, piece, start)
            tree.adopt(source, start)
        tree.finish()
        _write_destinations(joined, destinations)
        _write_outline(joined, book)
        joined.Root.PageLabels = page_labels(book.front.pages)
        # The sources stay open until here: pikepdf copies their streams when saving.
        joined.save(out, deterministic_id=True)


def page_labels(opener: int) -> Dictionary:
    """Roman numbers for the front matter, arabic from the main matter's first page."""
    nums: list[object] = []
    if opener > 0:
        nums += [0, Dictionary(S=Name.r)]
    nums += [opener, Dictionary(S=Name.D)]
    return Dictionary(Nums=Array(nums))


def _destinations(
    joined: pikepdf.Pdf, source: pikepdf.Pdf, piece: PieceResult, start: int
) -> dict[str, pikepdf.Object]:
    """The piece's own anchors (not its stand-ins), pointing at the joined pages."""
    names = source.Root.get("/Names", Dictionary()).get("/Dests")
    if names is None:
        return {}
    found: dict[str, pikepdf.Object] = {}
    for name, target in NameTree(names).items():
        if name in piece.anchors:
            page = joined.pages[start + piece.anchors[name]].obj
            found[name] = Array([page, *list(target)[1:]])
    return found


def _write_destinations(joined: pikepdf.Pdf, destinations: dict[str, pikepdf.Object]) -> None:
    tree = NameTree.new(joined)
    for name in sorted(destinations):
        tree[name] = destinations[name]
    names = joined.Root.get("/Names")
    if names is None:
        joined.Root.Names = names = joined.make_indirect(Dictionary())
    names.Dests = tree.obj


def _write_outline(joined: pikepdf.Pdf, book: LaidOutBook) -> None:
    """One outline; CSS bookmark levels nest across pieces (an essay under its part)."""
    with joined.open_outline() as outline:
        outline.root.clear()
        stack: list[tuple[int, list[OutlineItem]]] = [(0, outline.root)]
        start = 0
        for piece in [book.front, *book.main]:
            for level, label, page, x, y, state in piece.bookmarks:
                item = OutlineItem(label, start + page, PageLocation.XYZ, left=x, top=y, zoom=0)
                item.is_closed = state == "closed"
                while stack[-1][0] >= level:
                    stack.pop()
                stack[-1][1].append(item)
                stack.append((level, item.children))
            start += piece.pages


class _Structure:
    """The joined structure tree (tagged PDF), or nothing for an untagged one."""

    def __init__(self, joined: pikepdf.Pdf) -> None:
        root = joined.Root.get("/StructTreeRoot")
        self.joined = joined
        self.root = root
        if root is None:
            return
        self.document = root.K[0]
        self.nums: list[Any] = list(root.ParentTree.Nums)  # key, value, key, value…
        self.next_key = _next_key(self.nums)

    def detach(self, source: pikepdf.Pdf) -> None:
        """Cut the piece's top elements from its root, so copying them stops there."""
        if self.root is None or "/StructTreeRoot" not in source.Root:
            return
        for element in source.Root.StructTreeRoot.K[0].K:
            del element["/P"]

    def adopt(self, source: pikepdf.Pdf, start: int) -> None:
        """Move the piece's elements under the book's, its keys after the book's."""
        if self.root is None or "/StructTreeRoot" not in source.Root:
            return
        offset = self.next_key
        for element in source.Root.StructTreeRoot.K[0].K:
            copied = self.joined.copy_foreign(element)
            copied.P = self.document
            self.document.K.append(copied)
        nums = list(source.Root.StructTreeRoot.ParentTree.Nums)
        for key, value in zip(nums[::2], nums[1::2], strict=True):
            self.nums += [int(key) + offset, _copy(self.joined, value)]
        for page in self.joined.pages[start:]:
            _shift_keys(page, offset)
        self.next_key = offset + _next_key(nums)

    def finish(self) -> None:
        if self.root is None:
            return
        self.root.ParentTree = self.joined.make_indirect(Dictionary(Nums=Array(self.nums)))
        self.root.ParentTreeNextKey = self.next_key


def _copy(joined: pikepdf.Pdf, value: pikepdf.Object) -> pikepdf.Object:
    """A parent-tree value: an element (indirect) or a page's array of elements (direct)."""
    if value.is_indirect:
        return joined.copy_foreign(value)
    return Array([joined.copy_foreign(v) if v.is_indirect else v for v in value])


def _next_key(nums: list[pikepdf.Object]) -> int:
    keys = [int(key) for key in nums[::2]]
    return max(keys) + 1 if keys else 0


def _shift_keys(page: pikepdf.Page, offset: int) -> None:
    if "/StructParents" in page.obj:
        page.obj.StructParents = int(page.obj.StructParents) + offset
    for annotation in page.obj.get("/Annots", Array()):
        if "/StructParent" in annotation:
            annotation.StructParent = int(annotation.StructParent) + offset

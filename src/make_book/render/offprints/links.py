"""An offprint's links and bookmarks: those that lead to its own pages, kept.

The book's links and bookmarks point at its pages, often by name (the book's table of
named destinations, which an offprint does not carry). Each is resolved to a page of
the book: one the offprint has is pointed at its copy, explicitly; a link to a page it
lacks (another essay) is dropped, its text kept. Links that leave the book (the web,
mail) are kept as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pikepdf

ObjGen = tuple[int, int]  # a PDF object's number and generation: who it is in its file


@dataclass(frozen=True)
class Target:
    """Where a link or bookmark leads: a page of the offprint (0: its first book page),
    and the rest of the destination (the view: /XYZ left top zoom)."""

    position: int
    view: tuple[object, ...]


@dataclass
class BookLinks:
    """The book's destinations, resolved against the pages an offprint copies."""

    book: pikepdf.Pdf
    copied: Sequence[pikepdf.Page]  # the book's pages the offprint has, in order
    positions: dict[ObjGen, int] = field(init=False)
    names: pikepdf.NameTree | None = field(init=False)

    def __post_init__(self) -> None:
        self.positions = {page.obj.objgen: n for n, page in enumerate(self.copied)}
        names = self.book.Root.get("/Names")
        dests = names.get("/Dests") if isinstance(names, pikepdf.Dictionary) else None
        self.names = pikepdf.NameTree(dests) if isinstance(dests, pikepdf.Dictionary) else None

    def target(self, destination: object) -> Target | None:
        """The offprint's page a destination (explicit, or named) leads to; None: none."""
        if isinstance(destination, (pikepdf.String, pikepdf.Name, str)):
            destination = self._named(str(destination))
        if isinstance(destination, pikepdf.Dictionary):  # a named one's { /D [...] } form
            destination = destination.get("/D")
        if not isinstance(destination, pikepdf.Array) or not len(destination):
            return None
        page = destination[0]
        if not isinstance(page, pikepdf.Dictionary) or page.objgen not in self.positions:
            return None
        return Target(self.positions[page.objgen], tuple(destination[1:]))

    def _named(self, name: str) -> object:
        name = name.removeprefix("/")  # a /Name destination is looked up by its text
        if self.names is not None and name in self.names:
            return self.names[name]
        dests = self.book.Root.get("/Dests")  # PDF 1.1's dictionary of named destinations
        return dests.get(f"/{name}") if isinstance(dests, pikepdf.Dictionary) else None


def destination_of(link: pikepdf.Object) -> object | None:
    """A link annotation's or bookmark's destination in the book, None if it has none
    (a link to the web: an action other than GoTo)."""
    if "/Dest" in link:
        return link.Dest
    action = link.get("/A")
    if isinstance(action, pikepdf.Dictionary) and action.get("/S") == pikepdf.Name.GoTo:
        return action.get("/D")
    return None


def prepare_page(page: pikepdf.Page, links: BookLinks) -> dict[ObjGen, Target]:
    """Before `page` is copied (the book is open for this offprint alone): drop its links
    to pages the offprint lacks, and take out the destinations of those it has, which
    would drag the book's pages along; return those, to be put back on the copies."""
    annotations = page.obj.get("/Annots")
    if not isinstance(annotations, pikepdf.Array):
        return {}
    kept, inside = [], {}
    for annotation in annotations:
        destination = destination_of(annotation)
        if destination is not None:
            target = links.target(destination)
            if target is None:
                continue  # leads out of the offprint: dropped
            inside[annotation.objgen] = target
            for key in ("/Dest", "/A"):
                if key in annotation:
                    del annotation[key]
        kept.append(annotation)
    if kept:
        page.obj.Annots = pikepdf.Array(kept)
    else:
        del page.obj["/Annots"]
    return inside


def put_back(
    annotations: dict[ObjGen, pikepdf.Object],
    targets: dict[ObjGen, Target],
    pages: Sequence[pikepdf.Page],
) -> None:
    """Point each copied link at the copy of its page (`pages`: the offprint's book pages)."""
    for objgen, target in targets.items():
        annotations[objgen].Dest = explicit(target, pages)


def explicit(target: Target, pages: Sequence[pikepdf.Page]) -> pikepdf.Array:
    """The destination array of `target` in the offprint."""
    return pikepdf.Array([pages[target.position].obj, *target.view])


def copy_bookmarks(links: BookLinks, offprint: pikepdf.Pdf, pages: Sequence[pikepdf.Page]) -> None:
    """The book's bookmarks that lead to the offprint's pages (the essay's title, its
    sections), nested as in the book; those leading elsewhere are left out, their kept
    children moving up."""
    # Read, never written back: the book is open for this offprint alone, and not saved.
    items = _kept(links.book.open_outline().root, links, pages)
    if items:
        with offprint.open_outline() as outline:
            outline.root.extend(items)


def _kept(
    items: Sequence[pikepdf.OutlineItem], links: BookLinks, pages: Sequence[pikepdf.Page]
) -> list[pikepdf.OutlineItem]:
    kept: list[pikepdf.OutlineItem] = []
    for item in items:
        children = _kept(item.children, links, pages)
        destination = item.destination if item.destination is not None else item.action
        target = links.target(_goto(destination))
        if target is None:
            kept += children
            continue
        copy = pikepdf.OutlineItem(item.title, destination=explicit(target, pages))
        copy.children.extend(children)
        kept.append(copy)
    return kept


def _goto(destination: object) -> object:
    """A bookmark's GoTo action as its destination (other actions lead nowhere here)."""
    if isinstance(destination, pikepdf.Dictionary):
        return destination.get("/D") if destination.get("/S") == pikepdf.Name.GoTo else None
    return destination

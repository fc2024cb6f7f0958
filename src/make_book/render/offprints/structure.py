"""An offprint's tags: the book's structure tree, cut down to the pages it copies and
grafted under its first page's, so the essay reads to assistive technology as it
does in the book.

Every structure element that marks content on a copied page (or a copied link) is
copied, with its ancestors; its marks elsewhere are left out. They are found from the
book's parent tree, which leads from a page's marked content back to its elements, so
an offprint costs what its pages hold, not what the book does. The offprint's parent
tree gets new keys for the copies, after the first page's own.
(WeasyPrint gives only pages and link annotations parent-tree keys.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeGuard

import pikepdf

from make_book.render.offprints.links import ObjGen

# Rebuilt for the copy rather than copied: they point into the book's tree and pages.
_REBUILT = frozenset({"/K", "/P", "/Pg", "/Type", "/Ref"})


@dataclass
class Graft:
    """The book's tree cut down to the copied pages, into the offprint's tree."""

    offprint: pikepdf.Pdf
    pages: dict[ObjGen, pikepdf.Dictionary]  # a book page -> its copy
    annotations: dict[ObjGen, pikepdf.Object]  # a book link annotation -> its copy
    wanted: set[ObjGen]  # the elements marking their content, and their ancestors
    copies: dict[ObjGen, pikepdf.Dictionary] = field(default_factory=dict)  # element -> copy

    def tops(self, book_root: pikepdf.Dictionary, parent: pikepdf.Dictionary) -> list[object]:
        """Copies of the book's top elements (under its Document) that mark copied content."""
        tops = _kids(book_root)
        if len(tops) == 1 and _is_document(tops[0]):
            tops = _kids(tops[0])  # the offprint has its own Document
        return [copy for kid in tops if (copy := self.kid(kid, parent, None)) is not None]

    def kid(self, kid: object, parent: pikepdf.Dictionary, page: object) -> object | None:
        """The copy of one kid of an element (marked content, a link, an element),
        or None when nothing of it is on the copied pages."""
        if isinstance(kid, int):  # marked content on the element's page
            return kid if self._page(page) is not None else None
        if not isinstance(kid, pikepdf.Dictionary):
            return None
        kind = kid.get("/Type")
        if kind == pikepdf.Name.MCR:
            return self._content_reference(kid, page)
        if kind == pikepdf.Name.OBJR:
            return self._object_reference(kid, page)
        if kid.objgen not in self.wanted:
            return None  # nothing of it on the copied pages
        return self.element(kid, parent, page)

    def element(
        self, element: pikepdf.Dictionary, parent: pikepdf.Dictionary, page: object
    ) -> pikepdf.Dictionary | None:
        """A copy of `element` with those of its kids on the copied pages, or None."""
        page = element.get("/Pg", page)  # where its marked-content kids are
        copy = self.offprint.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem))
        kids = [k for k in (self.kid(kid, copy, page) for kid in _kids(element)) if k is not None]
        if not kids:
            return None  # the unused copy is referenced from nowhere: never written
        for key, value in element.items():
            if key not in _REBUILT:
                copy[key] = self.value(value)
        copy.P, copy.K = parent, pikepdf.Array(kids)
        if (copied_page := self._page(page)) is not None:
            copy.Pg = copied_page
        if copy.get("/S") == pikepdf.Name.Link and not any(_is_link(k) for k in kids):
            copy.S = pikepdf.Name.Span  # its link led out of the offprint: only the text is left
        self.copies[element.objgen] = copy
        return copy

    def copy_of(self, element: object, document: pikepdf.Dictionary) -> pikepdf.Dictionary | None:
        """What the parent tree holds for a book element: its copy (null: none).

        An element the tree does not reach is copied too, as the book has it: WeasyPrint
        tags the running heads and folios so, under the Document but not among its kids,
        out of the reading order."""
        if not isinstance(element, pikepdf.Dictionary):
            return None
        if element.objgen not in self.copies:
            top, parent = self._unreached(element)
            self.element(top, parent if parent is not None else document, None)
        return self.copies.get(element.objgen)

    def _unreached(
        self, element: pikepdf.Dictionary
    ) -> tuple[pikepdf.Dictionary, pikepdf.Dictionary | None]:
        """The highest ancestor of an element the tree did not reach (the element itself,
        at least), and the copy of its parent (None: the Document)."""
        while True:
            parent = element.get("/P")
            if not isinstance(parent, pikepdf.Dictionary) or "/S" not in parent:
                return element, None
            if _is_document(parent) or parent.objgen in self.copies:
                return element, self.copies.get(parent.objgen)
            element = parent

    def _content_reference(self, reference: pikepdf.Dictionary, page: object) -> object | None:
        copied_page = self._page(reference.get("/Pg", page))
        if copied_page is None:
            return None
        copy = pikepdf.Dictionary({k: self.value(v) for k, v in reference.items() if k != "/Pg"})
        copy.Pg = copied_page
        return copy

    def _object_reference(self, reference: pikepdf.Dictionary, page: object) -> object | None:
        annotation = reference.get("/Obj")
        if not isinstance(annotation, pikepdf.Dictionary):
            return None
        copied = self.annotations.get(annotation.objgen)
        if copied is None:
            return None
        copy = pikepdf.Dictionary(Type=pikepdf.Name.OBJR, Obj=copied)
        if (copied_page := self._page(reference.get("/Pg", page))) is not None:
            copy.Pg = copied_page
        return copy

    def _page(self, page: object) -> pikepdf.Dictionary | None:
        return self.pages.get(page.objgen) if isinstance(page, pikepdf.Dictionary) else None

    def value(self, value: object) -> object:
        """A value of the book's, made the offprint's (attributes, alternate text…)."""
        if isinstance(value, pikepdf.Object) and value.is_indirect:
            return self.offprint.copy_foreign(value)
        if isinstance(value, pikepdf.Dictionary):
            return pikepdf.Dictionary({k: self.value(v) for k, v in value.items()})
        if isinstance(value, pikepdf.Array):
            return pikepdf.Array([self.value(v) for v in value])
        return value


def graft_structure(
    book: pikepdf.Pdf,
    offprint: pikepdf.Pdf,
    pages: dict[ObjGen, pikepdf.Page],
    annotations: dict[ObjGen, pikepdf.Object],
) -> None:
    """Copy the book's tags of the copied `pages` (book page -> copy) and `annotations`
    into the offprint's structure tree. Nothing to do when either is untagged."""
    book_root = book.Root.get("/StructTreeRoot")
    root = offprint.Root.get("/StructTreeRoot")
    if not isinstance(book_root, pikepdf.Dictionary) or not isinstance(root, pikepdf.Dictionary):
        return
    book_tree = pikepdf.NumberTree(book_root.ParentTree)
    # The copies still hold the book's keys: each is given a new one, in page order.
    holders: list[tuple[pikepdf.Object, str]]
    holders = [(page.obj, "/StructParents") for page in pages.values()]
    holders += [(annotation, "/StructParent") for annotation in annotations.values()]
    held = [_held(book_tree, holder, key_name) for holder, key_name in holders]
    copied_pages = {k: p.obj for k, p in pages.items()}
    graft = Graft(offprint, copied_pages, annotations, _with_ancestors(held))
    document = _document(root)
    document.K = pikepdf.Array([*_kids(document), *graft.tops(book_root, document)])
    _merge_maps(book_root, root, graft)
    _extend_parent_tree(root, graft, list(zip(holders, held, strict=True)), document)


def _held(book_tree: pikepdf.NumberTree, holder: pikepdf.Object, key_name: str) -> object:
    """What the book's parent tree holds for a page (an array: an element for each of its
    marked contents) or a link (its element); None for neither."""
    key = holder.get(key_name)
    return book_tree[int(key)] if key is not None and int(key) in book_tree else None


def _with_ancestors(held: list[object]) -> set[ObjGen]:
    """The elements the parent tree holds for the copies, and all their ancestors."""
    wanted: set[ObjGen] = set()
    for entry in held:
        for element in entry if isinstance(entry, pikepdf.Array) else [entry]:
            while isinstance(element, pikepdf.Dictionary) and "/S" in element:
                if element.objgen in wanted:
                    break  # its ancestors are in already
                wanted.add(element.objgen)
                element = element.get("/P")
    return wanted


def _extend_parent_tree(
    root: pikepdf.Dictionary,
    graft: Graft,
    holders: list[tuple[tuple[pikepdf.Object, str], object]],
    document: pikepdf.Dictionary,
) -> None:
    """New parent-tree keys, after the first page's, for the copied pages' marked
    content (an element for each) and the copied links (their element)."""
    tree = pikepdf.NumberTree(root.ParentTree)
    next_key = int(root.get("/ParentTreeNextKey", max(tree.keys(), default=-1) + 1))
    for (holder, key_name), held in holders:
        if held is None:  # nothing tagged: no key of the book's left to mislead
            if key_name in holder:
                del holder[key_name]
            continue
        if isinstance(held, pikepdf.Array):
            tree[next_key] = pikepdf.Array([graft.copy_of(e, document) for e in held])
        elif (element := graft.copy_of(held, document)) is not None:
            tree[next_key] = element
        else:
            del holder[key_name]
            continue
        holder[key_name] = next_key
        next_key += 1
    root.ParentTreeNextKey = next_key


def _merge_maps(book_root: pikepdf.Dictionary, root: pikepdf.Dictionary, graft: Graft) -> None:
    """The book's own structure types and attribute classes are the offprint's too."""
    for key in ("/RoleMap", "/ClassMap"):
        theirs = book_root.get(key)
        if not isinstance(theirs, pikepdf.Dictionary):
            continue
        mine = root.get(key)
        merged: dict[str, object] = (
            dict(mine.items()) if isinstance(mine, pikepdf.Dictionary) else {}
        )
        for name, value in theirs.items():
            merged.setdefault(name, graft.value(value))
        root[key] = pikepdf.Dictionary(merged)


def _document(root: pikepdf.Dictionary) -> pikepdf.Dictionary:
    """The offprint's Document element (its first page's tags are under it)."""
    for kid in _kids(root):
        if _is_document(kid):
            return kid
    raise ValueError("the first page's structure tree has no Document element")


def _kids(element: pikepdf.Dictionary) -> list[object]:
    """An element's /K as a list: absent, one kid, or an array of them."""
    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def _is_document(kid: object) -> TypeGuard[pikepdf.Dictionary]:
    return isinstance(kid, pikepdf.Dictionary) and kid.get("/S") == pikepdf.Name.Document


def _is_link(kid: object) -> bool:
    return isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == pikepdf.Name.OBJR

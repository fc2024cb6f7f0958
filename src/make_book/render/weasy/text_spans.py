"""A tagged PDF's structure tree without an element for each run of text.

WeasyPrint tags each text box (a line's run of text in one style) as its own /Span
element whose only kid is the run's marked content, and an anonymous block as a
/NonStruct. Such an element says nothing a reader of the tree needs: no attribute, no
language, no alternate text, and its parent already gives the role (P, H2, Link,
BlockQuote…). In a 1,200-page book they were five in six of the tree's 50,000 elements,
and the tree is most of what tagging adds to the file.

`fold_text_spans` gives each such element's marked content to its parent directly (the
integer MCIDs in the parent's /K, where the element stood, as WeasyPrint already does
for a link's text), points the parent tree at the parent, and empties the element's
object: an empty dictionary nothing refers to, which the join does not copy. One with
no kids at all is dropped the same way. An element with anything more (another element,
an annotation or a marked-content reference as a kid, an attribute, content on another
page than its parent's, a place in any /K but its parent's) is kept as it is.

Runs on the pydyf objects WeasyPrint has built, in the finisher `write_pdf` calls
before it writes them (a piece, render/pdf/layout/piece_layout.py; an offprint's first
page, render/offprints/first_page.py): nothing of WeasyPrint's is changed.
"""

from __future__ import annotations

from typing import Any, TypeGuard

import pydyf

# Elements that say nothing of their own: a generic inline, a grouping for layout only.
_ROLELESS = frozenset({"/Span", "/NonStruct"})
# Such an element with exactly these keys, only marked content on its parent's page as
# kids, is folded.
_PLAIN = frozenset({"Type", "S", "K", "Pg", "P"})


def fold_text_spans(pdf: pydyf.PDF) -> int:
    """Fold the plain roleless elements of `pdf`'s structure tree into their parents;
    return how many were folded (0 for an untagged document)."""
    objects: list[Any] = pdf.objects
    total = 0
    # A span holding a span is plain once its kid is folded: again, until none is left.
    while folded := {element.reference: element for element in _plain(objects)}:
        _fold(pdf, objects, folded)
        total += len(folded)
    return total


def _fold(pdf: pydyf.PDF, objects: list[Any], folded: dict[bytes, pydyf.Dictionary]) -> None:
    """Put each folded element's marks where it stood in its parent's kids, point the parent
    tree at the parent, and empty the folded element."""
    for element in objects:
        kids = element.get("K") if _is_element(element) else None
        if isinstance(kids, pydyf.Array) and any(_is_folded(kid, folded) for kid in kids):
            kids[:] = [mark for kid in kids for mark in _marks(kid, folded)]
    parents = {reference: element["P"] for reference, element in folded.items()}
    for marks in _parent_tree_arrays(pdf, objects):
        marks[:] = [parents.get(mark, mark) if isinstance(mark, bytes) else mark for mark in marks]
    for element in folded.values():
        element.clear()


def _marks(kid: object, folded: dict[bytes, pydyf.Dictionary]) -> list[object]:
    """The kid itself, or the marks of a folded kid."""
    return list(folded[kid]["K"]) if _is_folded(kid, folded) else [kid]


def _is_folded(kid: object, folded: dict[bytes, pydyf.Dictionary]) -> TypeGuard[bytes]:
    return isinstance(kid, bytes) and kid in folded


def _plain(objects: list[Any]) -> list[pydyf.Dictionary]:
    """Each roleless element holding only marked runs on its parent's page, and held in
    its parent's kids alone (once)."""
    holders: dict[bytes, list[bytes]] = {}
    for element in objects:
        if _is_element(element) and isinstance(kids := element.get("K"), pydyf.Array):
            for kid in kids:
                if isinstance(kid, bytes):
                    holders.setdefault(kid, []).append(element.reference)
    found = []
    for element in objects:
        if not (_is_element(element) and element.get("S") in _ROLELESS):
            continue
        kids = element.get("K")
        if set(element) != _PLAIN or not isinstance(kids, pydyf.Array):
            continue
        parent = objects[_number(element["P"])]
        if not (_is_element(parent) and parent.get("Pg") == element["Pg"]):
            continue
        if holders.get(element.reference) != [element["P"]]:
            continue
        if all(type(kid) is int for kid in kids):
            found.append(element)
    return found


def _parent_tree_arrays(pdf: pydyf.PDF, objects: list[Any]) -> list[pydyf.Array]:
    """The parent tree's arrays, one a page, that map each MCID to its element."""
    root = objects[_number(pdf.catalog["StructTreeRoot"])]
    nums = objects[_number(root["ParentTree"])]["Nums"]
    return [value for value in nums[1::2] if isinstance(value, pydyf.Array)]


def _is_element(value: object) -> TypeGuard[pydyf.Dictionary]:
    return isinstance(value, pydyf.Dictionary) and value.get("Type") == "/StructElem"


def _number(reference: bytes) -> int:
    """The object number of a pydyf reference (b"12 0 R")."""
    return int(reference.split(None, 1)[0])

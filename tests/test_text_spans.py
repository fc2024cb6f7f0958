"""A tagged book's structure tree without an element per run of text
(render/weasy/text_spans.py): every mark of every page is still claimed once, by
an element the parent tree leads back to, and reads under the same roles as in the
tree WeasyPrint makes of the book laid out whole."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pydyf
import pytest

from helpers import copy_book, one_document_pdf
from make_book.build.driver import run_build
from make_book.render.weasy.text_spans import fold_text_spans

ROLELESS = {"/Span", "/NonStruct"}


def content_marks(page: pikepdf.Page) -> list[int]:
    """The MCIDs of the page's marked content, in the order it is drawn."""
    return [
        int(operands[1].MCID)
        for operands, operator in pikepdf.parse_content_stream(page)
        if str(operator) == "BDC"
        and isinstance(operands[1], pikepdf.Dictionary)
        and "/MCID" in operands[1]
    ]


def elements(root: pikepdf.Object) -> Iterator[pikepdf.Dictionary]:
    """Every structure element under `root`, depth first."""
    for kid in root.K if isinstance(root.K, pikepdf.Array) else [root.K]:
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/StructElem":
            yield kid
            yield from elements(kid)


def roles(path: Path) -> list[list[tuple[str, ...]]]:
    """For each page, each mark's roles: its element's and its ancestors', the roleless
    ones (a generic span, a grouping for layout) left out."""
    with pikepdf.open(path) as pdf:
        parents = pikepdf.NumberTree(pdf.Root.StructTreeRoot.ParentTree)
        found = []
        for page in pdf.pages:
            claimed = parents[int(page.obj.StructParents)]
            found.append([_path(claimed[mcid]) for mcid in content_marks(page)])
        return found


def _path(element: pikepdf.Object) -> tuple[str, ...]:
    path = []
    while element.get("/Type") == "/StructElem":
        if str(element.S) not in ROLELESS:
            path.append(str(element.S))
        element = element.P
    return tuple(path)


def claims(path: Path) -> tuple[Counter[tuple[int, int]], int, int]:
    """The drawn marks (page, MCID) no element of the tree claims, after checking that each
    claim is of a drawn mark, made once, and that the parent tree leads it back to its
    element; with the count of elements and of roleless ones holding only marks on their
    parent's page."""
    with pikepdf.open(path) as pdf:
        pages = {page.objgen: index for index, page in enumerate(pdf.pages)}
        parents = pikepdf.NumberTree(pdf.Root.StructTreeRoot.ParentTree)
        claimed: Counter[tuple[int, int]] = Counter()
        every = list(elements(pdf.Root.StructTreeRoot))
        for element in every:
            kids = element.K if isinstance(element.K, pikepdf.Array) else [element.K]
            for kid in kids:
                if isinstance(kid, int):
                    page = element.Pg
                    mcid = int(kid)
                elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                    page, mcid = kid.Pg, int(kid.MCID)
                else:
                    continue
                assert parents[int(page.StructParents)][mcid].objgen == element.objgen
                claimed[pages[page.objgen], mcid] += 1
        plain = sum(
            1
            for element in every
            if str(element.S) in ROLELESS
            and all(isinstance(kid, int) for kid in element.K)
            and element.P.get("/Pg") is not None
            and element.P.Pg.objgen == element.Pg.objgen
        )
        drawn = Counter(
            (index, mcid) for index, page in enumerate(pdf.pages) for mcid in content_marks(page)
        )
        assert set(claimed.values()) == {1} and not claimed - drawn, "claimed once, if drawn"
        return drawn - claimed, len(every), plain


@pytest.fixture(scope="module")
def whole_and_joined(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The mixed book laid out whole and tagged by WeasyPrint, and built by make-book."""
    folder = tmp_path_factory.mktemp("text-spans")
    manifest = copy_book("mixed", folder / "book")
    whole = one_document_pdf(manifest, folder / "whole.pdf", tagged=True)
    run_build(manifest, folder / "dist", ["pdf"])
    return whole, folder / "dist" / "book.pdf"


def test_the_book_reads_under_the_roles_weasyprint_gives_it(
    whole_and_joined: tuple[Path, Path],
) -> None:
    whole, joined = whole_and_joined
    assert roles(joined) == roles(whole)
    unclaimed, count, plain = claims(joined)
    whole_unclaimed, whole_count, whole_plain = claims(whole)
    # The same marks left out of the tree as WeasyPrint leaves out (its margin boxes').
    assert unclaimed == whole_unclaimed and plain == 0
    assert whole_plain > 100 and count <= whole_count - whole_plain


def structure_text(path: Path) -> list[tuple[tuple[str, ...], str]]:
    """The text as Poppler reads it along the structure tree, each run with the roles
    of the elements it is in (the roleless ones left out)."""
    shown = subprocess.run(
        ["pdfinfo", "-struct-text", str(path)], check=True, capture_output=True, text=True
    ).stdout
    runs, open_roles = [], []
    for line in shown.splitlines():
        depth = (len(line) - len(line.lstrip(" "))) // 2
        del open_roles[depth:]
        item = line.strip()
        if item.startswith('"'):
            runs.append((tuple(r for r in open_roles if r not in ROLELESS), item))
        else:
            open_roles.append("/" + item.split(" ", 1)[0])
    return runs


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="pdfinfo (Poppler) is not installed")
def test_a_reader_finds_the_same_text_under_the_same_roles(
    whole_and_joined: tuple[Path, Path],
) -> None:
    whole, joined = whole_and_joined
    runs = structure_text(joined)
    assert runs == structure_text(whole)
    assert len(runs) > 200 and any("/BlockQuote" in roles for roles, _ in runs)


def tagged() -> tuple[pydyf.PDF, pydyf.Dictionary, pydyf.Array]:
    """A tagged document's parts: a paragraph on page "3 0 R" (not yet added, its kids
    the caller's), and the parent tree's array for that page."""
    pdf = pydyf.PDF()
    marks = pydyf.Array()
    parent_tree = pydyf.Dictionary({"Nums": pydyf.Array([0, marks])})
    pdf.add_object(parent_tree)
    root = pydyf.Dictionary({"Type": "/StructTreeRoot", "ParentTree": parent_tree.reference})
    pdf.add_object(root)
    pdf.catalog["StructTreeRoot"] = root.reference
    paragraph = element("/P", b"3 0 R", root.reference)
    return pdf, paragraph, marks


def element(role: str, page: bytes, parent: bytes, *kids: object) -> pydyf.Dictionary:
    return pydyf.Dictionary(
        {"Type": "/StructElem", "S": role, "K": pydyf.Array(kids), "Pg": page, "P": parent}
    )


def test_spans_fold_into_their_parent_and_the_rest_stay() -> None:
    pdf, paragraph, marks = tagged()
    pdf.add_object(paragraph)
    at = paragraph.reference

    def add(kid: pydyf.Dictionary) -> pydyf.Dictionary:
        pdf.add_object(kid)
        paragraph["K"].append(kid.reference)
        return kid

    plain = add(element("/Span", b"3 0 R", at, 0))
    outer = add(element("/Span", b"3 0 R", at))  # a span holding a span
    inner = element("/Span", b"3 0 R", outer.reference, 1, 2)
    pdf.add_object(inner)
    outer["K"].append(inner.reference)
    empty = add(element("/NonStruct", b"3 0 R", at))
    named = add(element("/Span", b"3 0 R", at, 3))
    named["Lang"] = pydyf.String("el")  # says something: kept
    elsewhere = add(element("/Span", b"4 0 R", at, 4))  # on another page: kept
    quote = add(element("/BlockQuote", b"3 0 R", at, 5))  # a role: kept
    marks.extend([plain.reference, inner.reference, inner.reference, named.reference])
    marks.extend([elsewhere.reference, quote.reference])

    assert fold_text_spans(pdf) == 4
    assert list(paragraph["K"]) == [0, 1, 2, named.reference, elsewhere.reference, quote.reference]
    assert list(marks) == [at, at, at, named.reference, elsewhere.reference, quote.reference]
    assert plain == {} and outer == {} and inner == {} and empty == {}
    assert named["K"] == [3] and elsewhere["K"] == [4] and quote["K"] == [5]


def test_spans_that_hold_or_say_more_or_stand_elsewhere_are_kept() -> None:
    pdf, paragraph, marks = tagged()
    pdf.add_object(paragraph)
    at = paragraph.reference
    document = pydyf.Dictionary({"Type": "/StructElem", "S": "/Document", "K": pydyf.Array()})
    pdf.add_object(document)
    under_document = element("/Span", b"3 0 R", document.reference, 0)  # its parent: no /Pg
    pdf.add_object(under_document)
    document["K"].append(under_document.reference)
    marked = pydyf.Dictionary({"Type": "/MCR", "Pg": b"3 0 R", "MCID": 1})
    with_reference = element("/Span", b"3 0 R", at, marked)  # a marked-content reference
    with_annotation = element("/Span", b"3 0 R", at, b"99 0 R")  # an annotation's OBJR
    with_attribute = element("/Span", b"3 0 R", at, 2)
    with_attribute["A"] = pydyf.Dictionary({"O": "/Layout"})
    held_twice = element("/Span", b"3 0 R", at, 3)
    kept = [with_reference, with_annotation, with_attribute, held_twice]
    for kid in kept:
        pdf.add_object(kid)
        paragraph["K"].append(kid.reference)
    other = element("/Note", b"3 0 R", at, held_twice.reference)  # held by another too
    pdf.add_object(other)
    marks.extend([under_document.reference, at, with_attribute.reference, held_twice.reference])
    before = [obj.data for obj in pdf.objects[1:]]

    assert fold_text_spans(pdf) == 0
    assert [obj.data for obj in pdf.objects[1:]] == before


def test_an_untagged_document_is_left_as_it_is() -> None:
    pdf = pydyf.PDF()
    before = [obj.data for obj in pdf.objects[1:]]
    assert fold_text_spans(pdf) == 0
    assert [obj.data for obj in pdf.objects[1:]] == before

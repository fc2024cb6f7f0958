"""Offprints (`--format offprints`): each essay's pages of the print edition, as printed,
after a first page naming the book they are taken from and where.

The sample book is built once for the module (with a link to the other essay and one
to the web added to its first essay); the other builds reuse its layout cache.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from helpers import copy_book
from make_book.build.driver import BuildRun, run_build
from make_book.build.report import write_report
from make_book.cli import main
from make_book.cli.app import parse_formats
from make_book.model import Essay
from make_book.pagemap import PageStart, pages_of_texts
from make_book.preflight.checks import preflight
from make_book.profiles import PROFILES
from make_book.render.base import LayoutOptions

LINKS = "\nSee [the ending](02-the-anora-ending.md) and [the film](https://example.org/anora).\n"


@dataclass(frozen=True)
class Built:
    """The sample book built with `--format pdf,offprints`, and what the build knew."""

    manifest: Path
    out: Path
    run: BuildRun
    report: dict[str, object]

    @property
    def essays(self) -> tuple[Essay, ...]:
        return self.run.book.essays

    def pages_of(self, essay: Essay) -> tuple[PageStart, ...]:
        return pages_of_texts(self.run.print_pages["screen"].starts)[essay.slug]

    def offprint(self, essay: Essay) -> Path:
        return self.out / "offprints" / f"{essay.slug}.pdf"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("offprints")
    manifest = copy_book("sample", root / "book")
    first_essay = root / "book" / "chapters" / "01-making-magic.md"
    first_essay.write_text(first_essay.read_text("utf-8") + LINKS, "utf-8")
    out = root / "dist"
    cache = LayoutOptions(cache_dir=manifest.parent / ".make-book-cache")
    run = run_build(manifest, out, ["pdf", "offprints"], layout=cache)
    write_report(run, root / "report.json")
    return Built(manifest, out, run, json.loads((root / "report.json").read_text("utf-8")))


def _texts(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_essay_has_an_offprint(built: Built) -> None:
    made = sorted(p.name for p in (built.out / "offprints").iterdir())
    assert made == sorted(f"{essay.slug}.pdf" for essay in built.essays)


def test_after_the_first_page_come_the_books_pages_as_printed(built: Built) -> None:
    book = _texts(built.out / "book.pdf")
    for essay in built.essays:
        pages = built.pages_of(essay)
        offprint = _texts(built.offprint(essay))
        assert len(offprint) == 1 + len(pages)
        assert offprint[1:] == [book[start.index] for start in pages], essay.slug


def test_the_first_page_names_the_book_the_essay_and_its_pages(built: Built) -> None:
    meta = built.run.book.meta
    labels = PdfReader(built.out / "book.pdf").page_labels
    for essay in built.essays:
        pages = built.pages_of(essay)
        folios = [labels[start.index] for start in pages]  # as the book's PDF labels them
        assert folios == [start.label for start in pages]
        first = " ".join(_texts(built.offprint(essay))[0].split())
        assert meta.title in first
        assert "Edited by The Editors" in first and "MAKE-BOOK, 2025" in first
        assert essay.title in first and essay.byline in first
        assert f"pp. {folios[0]}\u2013{folios[-1]}" in first
        assert meta.rights in first


def test_metadata_labels_and_bookmarks_are_the_essays(built: Built) -> None:
    for essay in built.essays:
        reader = PdfReader(built.offprint(essay))
        assert reader.metadata.title == essay.title
        assert reader.metadata.author == essay.byline
        assert reader.page_labels == ["", *(start.label for start in built.pages_of(essay))]
        assert [item.title for item in reader.outline] == [essay.title]
        assert reader.get_destination_page_number(reader.outline[0]) == 1


def test_each_offprint_passes_the_screen_preflight(built: Built) -> None:
    for essay in built.essays:
        assert preflight(built.offprint(essay), PROFILES["screen"]) == [], essay.slug


def test_every_marked_content_has_its_element_in_the_tags(built: Built) -> None:
    for essay in built.essays:
        with pikepdf.open(built.offprint(essay)) as pdf:
            tree = pikepdf.NumberTree(pdf.Root.StructTreeRoot.ParentTree)
            for page in pdf.pages:
                elements = tree[int(page.StructParents)]
                for mcid in _marked_contents(page):
                    element = elements[mcid]
                    assert element.Pg.objgen == page.obj.objgen
                    assert mcid in list(element.K)


def _marked_contents(page: pikepdf.Page) -> list[int]:
    return [
        int(operands[1].MCID)
        for operands, operator in pikepdf.parse_content_stream(page)
        if str(operator) == "BDC" and "/MCID" in operands[1]
    ]


def test_links_to_the_web_are_kept_and_to_other_essays_dropped(built: Built) -> None:
    essay = built.essays[0]
    with pikepdf.open(built.offprint(essay)) as pdf:
        own = {page.obj.objgen for page in pdf.pages}
        links = [a for page in pdf.pages for a in page.obj.get("/Annots", [])]
        web = [str(a.A.URI) for a in links if "/A" in a]
        assert web == ["https://example.org/anora"]
        assert all(a.Dest[0].objgen in own for a in links if "/Dest" in a)
        assert len(links) == 1  # the link to the other essay is gone, its words kept
    assert "See the ending and the film." in " ".join(_texts(built.offprint(essay))[-1].split())


def test_the_report_lists_each_offprint_with_its_pages(built: Built) -> None:
    outputs = built.report["outputs"]
    assert isinstance(outputs, list)
    (entry,) = [o for o in outputs if o["format"] == "offprints"]
    assert entry["path"] == str(built.out / "offprints")
    listed = {f["name"]: f["pages"] for f in entry["files"]}
    assert listed == {f"{e.slug}.pdf": 1 + len(built.pages_of(e)) for e in built.essays}


def test_offprints_alone_are_made_from_the_cached_layout_the_same(
    built: Built, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main, ["build", str(built.manifest), "--out", str(tmp_path), "--format", "offprints"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["offprints"]
    for essay in built.essays:
        alone = tmp_path / "offprints" / f"{essay.slug}.pdf"
        assert _sha256(alone) == _sha256(built.offprint(essay)), essay.slug


def test_the_book_is_the_same_with_or_without_offprints(built: Built, tmp_path: Path) -> None:
    cache = LayoutOptions(cache_dir=built.manifest.parent / ".make-book-cache")
    run_build(built.manifest, tmp_path, ["pdf"], layout=cache)
    assert _sha256(tmp_path / "book.pdf") == _sha256(built.out / "book.pdf")


def test_all_means_the_editions_and_offprints_are_asked_for_by_name() -> None:
    assert parse_formats("all") == ["pdf", "cover", "epub", "html"]
    assert parse_formats("all,offprints") == ["pdf", "cover", "epub", "html", "offprints"]
    assert parse_formats("offprints,pdf") == ["offprints", "pdf"]

"""Outputs never overlap sources (build/overlap.py), through the real command line.

An output folder or a report where writing would replace or delete a file the book is
made from is refused before anything is written: one line per source, exit 2, and the
book folder (its previous outputs too) exactly as it was. The web edition's html/ is
swapped in whole, and each build deletes what looks like a killed build's leftovers, so
a source inside either is refused as surely as one an output would be written over.
Each refusal runs the real command line under an audit hook (helpers.run_audited): nothing
outside the book folder is read or written, and its dist/ stays byte for byte.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from helpers import assert_stays_inside, copy_book, run_audited
from make_book.build.overlap import output_names
from make_book.cli import main
from test_hostile import snapshot

HTML = "inside html/, which the web edition replaces whole (--out '.'): build into another folder"
LEFTOVER = (
    "which the build deletes as a killed build's leftover (--out '.'): build into another folder"
)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def errors(result: Result | subprocess.CompletedProcess[str]) -> list[str]:
    """The error lines (the titles book also warns that its essays have no author)."""
    return [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]


def move_essay(folder: Path, essay: str, to: str) -> None:
    """Move one of the titles book's essays, and name it there in book.yaml."""
    (folder / to).parent.mkdir(parents=True, exist_ok=True)
    (folder / "chapters" / essay).rename(folder / to)
    manifest = folder / "book.yaml"
    text = manifest.read_text(encoding="utf-8").replace(f"chapters/{essay}", to)
    manifest.write_text(text, encoding="utf-8")


def essays_in_html(folder: Path) -> None:
    move_essay(folder, "nested.md", "html/nested.md")
    move_essay(folder, "declared.txt", "html/more/declared.txt")


def essay_linked_into_html(folder: Path) -> None:
    """The essay book.yaml names is a link, inside the book, to a file in html/."""
    (folder / "html").mkdir()
    (folder / "chapters" / "nested.md").rename(folder / "html" / "nested.md")
    (folder / "chapters" / "nested.md").symlink_to("../html/nested.md")


def essay_in_a_leftover(folder: Path) -> None:
    move_essay(folder, "nested.md", ".html-old/nested.md")
    move_essay(folder, "declared.txt", ".epub-abcd1234/declared.txt")


def essay_in_a_folder_named_book_epub(folder: Path) -> None:
    move_essay(folder, "nested.md", "book.epub/nested.md")


def image_and_cover_in_html(folder: Path) -> None:
    shutil.copytree(Path(__file__).parent / "books" / "mixed" / "images", folder / "html")
    picture = "dot.png"
    with (folder / "chapters" / "nested.md").open("a", encoding="utf-8") as essay:
        essay.write(f"\n![A picture](../html/{picture})\n")
    with (folder / "book.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(f"cover: html/{picture}\n")


def styles(folder: Path) -> None:
    (folder / "styles").mkdir()
    (folder / "styles" / "print.css").write_text("p { color: black }\n", encoding="utf-8")


def broken_manifest(folder: Path) -> None:
    (folder / "book.yaml").write_text("title: [\n", encoding="utf-8")


@dataclass(frozen=True)
class Case:
    """A build that must be refused: stderr line for line (exit 2)."""

    name: str
    errors: tuple[str, ...]
    setup: Callable[[Path], None]
    args: tuple[str, ...] = ("--out", ".")


CASES = [
    Case("essays-in-html", (
        f"error: html/more/declared.txt: an essay {HTML}",
        f"error: html/nested.md: an essay {HTML}",
    ), essays_in_html),
    Case("essay-linked-into-html", (
        f"error: chapters/nested.md: an essay {HTML}",
    ), essay_linked_into_html),
    Case("image-and-cover-in-html", (
        f"error: html/dot.png: an image {HTML}",
        f"error: html/dot.png: the cover image {HTML}",
    ), image_and_cover_in_html),
    Case("essays-named-like-leftovers", (
        f"error: .epub-abcd1234/declared.txt: an essay inside '.epub-abcd1234/', {LEFTOVER}",
        f"error: .html-old/nested.md: an essay inside '.html-old/', {LEFTOVER}",
    ), essay_in_a_leftover),
    Case("essay-where-the-epub-goes", (
        "error: book.epub/nested.md: an essay where the build writes book.epub (--out '.'):"
        " build into another folder",
    ), essay_in_a_folder_named_book_epub, ("--out", ".", "--format", "epub")),
    Case("out-in-the-theme", (
        "error: --out 'styles/dist': the output folder is inside styles/, where every file is"
        " part of the book's theme: build into a folder outside templates/ and styles/",
    ), styles, ("--out", "styles/dist")),
    Case("report-over-an-essay", (
        "error: --report 'chapters/nested.md': not written over a file that is not a"
        " make-book report",
        "error: chapters/nested.md: an essay, which the report would replace"
        " (--report 'chapters/nested.md'): write it elsewhere",
    ), lambda folder: None, ("--report", "chapters/nested.md")),
    Case("failure-report-over-a-broken-manifest", (
        "error: --report 'book.yaml': not written over a file that is not a make-book report",
        "error: book.yaml:2:1: invalid YAML: expected the node content, but found"
        " '<stream end>' (while parsing a flow node at line 2)",
    ), broken_manifest, ("--report", "book.yaml")),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_outputs_over_sources_are_refused_and_nothing_changes(case: Case, tmp_path: Path) -> None:
    folder = copy_book("titles", tmp_path / "book").parent
    case.setup(folder)
    (folder / "dist").mkdir()
    (folder / "dist" / "book.pdf").write_bytes(b"%PDF- a previous build")
    before, dist = snapshot(folder), snapshot(folder / "dist")
    done, accesses = run_audited(["build", *case.args], cwd=folder)
    assert errors(done) == list(case.errors)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert snapshot(folder / "dist") == dist, "dist/ changed"
    assert snapshot(folder) == before, "the book folder changed"
    assert_stays_inside(accesses, [folder])  # every output here is inside it


def test_the_book_folder_inside_html_is_refused(tmp_path: Path) -> None:
    """--out the folder above the book's, when the book's folder is called html."""
    manifest = copy_book("titles", tmp_path / "html")
    before = snapshot(tmp_path)
    args = ["build", manifest, "--out", tmp_path, "--format", "html"]
    done, accesses = run_audited(args, cwd=tmp_path)
    lines = errors(done)
    assert done.returncode == 2
    where = f"inside html/, which the web edition replaces whole (--out '{tmp_path}')"
    assert lines[0] == f"error: book.yaml: the book's manifest {where}: build into another folder"
    assert len(lines) == 1 + len(list((tmp_path / "html" / "chapters").iterdir()))
    assert snapshot(tmp_path) == before
    assert_stays_inside(accesses, [tmp_path])  # the book's folder and the output folder


def test_the_book_folder_itself_is_a_fine_output_folder(tmp_path: Path) -> None:
    folder = copy_book("titles", tmp_path / "book").parent
    sources = snapshot(folder / "chapters")
    args = ["build", "--out", ".", "--format", "html", "--report", "report.json"]
    done, accesses = run_audited(args, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert (folder / "html" / "index.html").is_file() and (folder / "report.json").is_file()
    assert snapshot(folder / "chapters") == sources
    assert_stays_inside(accesses, [folder])


def test_the_names_checked_are_the_names_written(tmp_path: Path) -> None:
    manifest = copy_book("titles", tmp_path / "book")
    out = tmp_path / "dist"
    result = run("build", manifest, "--out", out, "--profile", "screen,kdp", "--no-cache")
    assert result.exit_code == 0, result.output
    written = sorted(os.listdir(out))
    assert written == sorted(output_names(["pdf", "cover", "epub", "html"], ["screen", "kdp"]))

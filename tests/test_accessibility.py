"""EPUB accessibility: languages, alt text, heading outlines, ARIA roles, and DAISY Ace.

Ace runs when it is installed (`.ci/install-ace`; found through MAKE_BOOK_ACE or as
`ace` on PATH); without it that test is skipped and the checks here that need no
browser still run. The books are built with synthetic page starts, so that the
page-break markers and the page-list are checked too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import EPUB_TYPE, NS, XML_LANG, BookCopy, Epub
from make_book.render.epub.a11y import heading_faults
from synthetic_pages import build_paged_epub

BOOKS = ["sample", "mixed", "titles", "montaigne"]
# DPUB-ARIA roles that reading systems expect beside each epub:type we write (the
# pairs Ace checks; doc-endnote is deprecated and not required).
ROLES = {
    "chapter": "doc-chapter",
    "foreword": "doc-foreword",
    "introduction": "doc-introduction",
    "acknowledgments": "doc-acknowledgments",
    "afterword": "doc-afterword",
    "appendix": "doc-appendix",
    "part": "doc-part",
    "epigraph": "doc-epigraph",
    "dedication": "doc-dedication",
    "subtitle": "doc-subtitle",
    "endnotes": "doc-endnotes",
    "noteref": "doc-noteref",
    "toc": "doc-toc",
    "page-list": "doc-pagelist",
    "pagebreak": "doc-pagebreak",
}


# heading_faults


def doc(body: str) -> str:
    return f'<html xmlns="http://www.w3.org/1999/xhtml"><body>{body}</body></html>'


@pytest.mark.parametrize(
    "body",
    [
        "<h1>A</h1><h2>B</h2><h3>C</h3><h2>D</h2><h3>E</h3>",
        "<h1>A</h1><h2>B</h2><h3>C</h3><h1>D</h1>",  # up by two is fine
        "<p>no headings at all</p>",
        "<section><h1>A</h1><section><h2>B</h2></section></section>",
    ],
)
def test_logical_outlines(body: str) -> None:
    assert heading_faults(doc(body)) == []


def test_a_skipped_level_is_a_fault() -> None:
    faults = heading_faults(doc("<h1>Title</h1><h3>Too <em>deep</em></h3>"))
    assert faults == ["h3 'Too deep' after an h1 (a skipped level)"]


def test_a_document_must_start_at_h1() -> None:
    assert heading_faults(doc("<h2>Late</h2><h3>Fine</h3>")) == [
        "h2 'Late' as the first heading (a skipped level)"
    ]


def test_every_skip_is_reported() -> None:
    faults = heading_faults(doc("<h1>A</h1><h3>B</h3><h2>C</h2><h4>D</h4>"))
    assert len(faults) == 2


# The books


@pytest.fixture(scope="module")
def paged_epub(
    session_book: BookCopy, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Epub]:
    made: dict[str, Epub] = {}

    def get(name: str) -> Epub:
        if name not in made:
            path, _, _ = build_paged_epub(session_book(name), tmp_path_factory.mktemp(name))
            made[name] = Epub(path)
        return made[name]

    return get


@pytest.mark.parametrize("name", BOOKS)
def test_languages(paged_epub: Callable[[str], Epub], name: str) -> None:
    epub = paged_epub(name)
    (language,) = epub.xpath("/opf:package/opf:metadata/dc:language/text()")
    assert epub.opf.get(XML_LANG) == language  # the package's own text is in it too
    for href in epub.xhtml_hrefs():
        root = epub.document(href)
        assert root.get("lang") and root.get("lang") == root.get(XML_LANG), href


@pytest.mark.parametrize("name", BOOKS)
def test_every_image_has_alt(paged_epub: Callable[[str], Epub], name: str) -> None:
    epub = paged_epub(name)
    images = [
        (href, img)
        for href in epub.xhtml_hrefs()
        for img in epub.document(href).iter(f"{{{NS['xhtml']}}}img")
    ]
    assert images  # the cover at least
    for href, img in images:
        assert img.get("alt") is not None, (href, img.get("src"))  # "" only when decorative


@pytest.mark.parametrize("name", BOOKS)
def test_heading_outlines(paged_epub: Callable[[str], Epub], name: str) -> None:
    epub = paged_epub(name)
    faults = {href: heading_faults(epub.read(href)) for href in epub.xhtml_hrefs()}
    assert {href: f for href, f in faults.items() if f} == {}


@pytest.mark.parametrize("name", BOOKS)
def test_structural_semantics_have_their_roles(
    paged_epub: Callable[[str], Epub], name: str
) -> None:
    epub = paged_epub(name)
    checked = 0
    for href in epub.xhtml_hrefs():
        for element in epub.document(href).iter():
            for kind in (element.get(EPUB_TYPE) or "").split():
                if kind in ROLES and not element.xpath("ancestor::xhtml:nav", namespaces=NS):
                    assert element.get("role") == ROLES[kind], (href, kind)
                    checked += 1
    assert checked >= 3


def test_acknowledgements_use_the_vocabulary_spelling(paged_epub: Callable[[str], Epub]) -> None:
    thanks = paged_epub("mixed").document("thanks.xhtml")
    (section,) = thanks.xpath("//xhtml:section[contains(@class, 'essay')]", namespaces=NS)
    assert section.get(EPUB_TYPE) == "acknowledgments"


# DAISY Ace


def ace_command() -> str | None:
    """Ace's command: $MAKE_BOOK_ACE, else `ace` on PATH."""
    return os.environ.get("MAKE_BOOK_ACE") or shutil.which("ace")


def ace_violations(ace: str, epub: Path, out: Path) -> list[str]:
    """Run Ace on `epub` and return its violations, one line each."""
    env = dict(os.environ)
    chromium = shutil.which("chromium")
    if chromium and "PUPPETEER_EXECUTABLE_PATH" not in env:
        env["PUPPETEER_EXECUTABLE_PATH"] = chromium  # puppeteer's own browser is not installed
    command = [ace, "--silent", "--force", "--outdir", str(out), str(epub)]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    report = out / "report.json"
    assert run.returncode == 0 and report.is_file(), f"Ace failed:\n{run.stdout}\n{run.stderr}"
    data = json.loads(report.read_text(encoding="utf-8"))
    found = []
    for subject in data["assertions"]:
        for assertion in subject["assertions"]:
            if assertion["earl:result"]["earl:outcome"] == "fail":
                test = assertion["earl:test"]
                found.append(
                    f"{subject['earl:testSubject']['url']}: {test['earl:impact']} "
                    f"{test['dct:title']}: {assertion['earl:result'].get('dct:description', '')}"
                )
    return found


@pytest.mark.parametrize("name", BOOKS)
def test_ace_finds_no_violations(
    paged_epub: Callable[[str], Epub], tmp_path: Path, name: str
) -> None:
    ace = ace_command()
    if ace is None:
        pytest.skip("DAISY Ace is not installed (run .ci/install-ace, or set MAKE_BOOK_ACE)")
    violations = ace_violations(ace, paged_epub(name).path, tmp_path / "ace")
    assert violations == [], "\n".join(violations)

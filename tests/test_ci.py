"""CI-facing behaviour: --strict, the JSON report, check --outputs, book-wide warnings."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner, Result

from helpers import BookCopy
from make_book.build import report as report_module
from make_book.cli import main

CJK = "\n\nA line with 中文 in it.\n"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_strict_fails_on_a_warning_and_writes_nothing(book_copy: BookCopy) -> None:
    manifest = book_copy("sample")
    dist = manifest.parent / "dist"
    assert run("build", manifest, "--strict").exit_code == 0  # the sample is clean
    before = _snapshot(dist)
    essay = manifest.parent / "chapters" / "02-the-anora-ending.md"
    essay.write_text(essay.read_text("utf-8") + CJK, "utf-8")
    result = run("build", manifest, "--strict")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("warning: pdf: U+4E2D '中' CJK UNIFIED IDEOGRAPH-4E2D is not in")
    assert "chapters/02-the-anora-ending.md line" in lines[0]
    assert lines[-1] == "error: --strict: 2 warnings (listed above); nothing was written"
    assert _snapshot(dist) == before  # not even the EPUB or the web edition changed
    assert not [p for p in dist.iterdir() if p.name.startswith(".")]  # no staging left


def test_without_strict_the_same_warning_builds(book_copy: BookCopy) -> None:
    manifest = book_copy("sample")
    essay = manifest.parent / "chapters" / "02-the-anora-ending.md"
    essay.write_text(essay.read_text("utf-8") + CJK, "utf-8")
    result = run("build", manifest, "--format", "pdf")
    assert result.exit_code == 0
    assert "U+6587 '文' CJK UNIFIED IDEOGRAPH-6587 is not in the book's typeface" in result.stderr


def test_book_wide_warnings_name_their_files(book_copy: BookCopy) -> None:
    manifest = book_copy("mixed")
    result = run("check", manifest)
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert any(
        w.endswith("chapters/gamma.txt: no author, though the book lists its contributors")
        for w in warnings
    )
    yaml = manifest.read_text("utf-8").replace("language: en", "language: tlh")
    manifest.write_text(yaml if "language:" in yaml else yaml + "language: tlh\n", "utf-8")
    result = run("check", manifest)
    assert "warning: book.yaml: no hyphenation dictionary for language 'tlh'" in result.stderr


def test_report_lists_outputs_with_hashes_pages_and_words(book_copy: BookCopy) -> None:
    manifest = book_copy("sample")
    report_path = manifest.parent / "dist" / "report.json"
    result = run("build", manifest, "--report", report_path, "--profile", "kdp")
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text("utf-8"))
    assert report["ok"] is True
    outputs = {o["format"]: o for o in report["outputs"]}
    assert set(outputs) == {"pdf", "cover", "epub", "html"}
    pdf = Path(outputs["pdf"]["path"])
    assert pdf.name == "book-kdp.pdf" and outputs["pdf"]["profile"] == "kdp"
    assert outputs["pdf"]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert outputs["pdf"]["bytes"] == pdf.stat().st_size
    with pikepdf.open(pdf) as opened:
        assert outputs["pdf"]["pages"] == len(opened.pages) == report["page_counts"]["kdp"] == 24
    assert outputs["cover"]["note"].endswith("(spine 0.054 in, 24 pages, white paper)")
    assert any(f["name"] == "index.html" for f in outputs["html"]["files"])
    assert [e["slug"] for e in report["essays"]] == ["foreword", "making-magic", "the-anora-ending"]
    assert all(e["words"] > 100 for e in report["essays"][1:])
    assert report["book"]["words"] == sum(e["words"] for e in report["essays"])
    assert report["warnings"] == [
        "kdp: the book has 21 pages; 3 blank pages added to reach the minimum of 24"
    ]
    assert all(o["seconds"] >= 0 for o in report["outputs"]) and report["seconds"] > 0


def test_only_a_build_with_a_report_reads_its_outputs_again(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --report, the build's record keeps what the next build reads of it (the
    book's words, its page counts) but no output's size, hash or pages: nothing would
    write them out, and reading every output again took 0.02 s of an edit. With
    --report, an up-to-date build writes the very report the build wrote."""
    manifest = book_copy("sample")
    read: list[Path] = []
    reading = report_module._file

    def counted(path: Path, root: Path) -> dict[str, object]:
        read.append(path)
        return reading(path, root)

    monkeypatch.setattr(report_module, "_file", counted)
    assert run("build", manifest, "--format", "pdf,epub").exit_code == 0
    assert read == []
    report_path = manifest.parent / "report.json"
    assert run("build", manifest, "--format", "pdf,epub", "--report", report_path).exit_code == 0
    assert read
    written = report_path.read_text("utf-8")
    report_path.unlink()
    again = run("build", manifest, "--format", "pdf,epub", "--report", report_path)
    assert "(up to date)" in again.stdout
    assert report_path.read_text("utf-8") == written
    assert "sha256" in json.loads(written)["outputs"][0]


def test_a_failed_build_still_writes_its_report(book_copy: BookCopy) -> None:
    manifest = book_copy("sample")
    manifest.write_text(manifest.read_text("utf-8").replace("title:", "titel:", 1), "utf-8")
    report_path = manifest.parent / "report.json"
    result = run("build", manifest, "--report", report_path)
    assert result.exit_code == 2
    report = json.loads(report_path.read_text("utf-8"))
    assert report["ok"] is False
    assert any("titel: unknown key" in line for line in report["errors"])


def test_check_outputs_passes_a_fresh_build(book_copy: BookCopy) -> None:
    manifest = book_copy("sample")
    assert run("build", manifest, "--profile", "screen,ingram").exit_code == 0
    result = run("check", manifest, "--outputs")
    assert result.exit_code == 0, result.output
    checked = [
        line for line in result.stdout.splitlines() if line.startswith("ok: ") and "(" in line
    ]
    assert len(checked) == 6  # the EPUB, two interiors, two covers, the web edition (vnu)
    assert any("book-ingram.pdf (preflight (ingram))" in line for line in checked)


def test_check_outputs_fails_with_the_validators_findings(book_copy: BookCopy) -> None:
    manifest = book_copy("sample")
    dist = manifest.parent / "dist"
    assert run("build", manifest, "--format", "pdf,epub", "--profile", "kdp").exit_code == 0
    with pikepdf.open(dist / "book-kdp.pdf", allow_overwriting_input=True) as pdf:
        del pdf.pages[-1]  # 23 pages: under KDP's minimum
        pdf.save(dist / "book-kdp.pdf")
    _break_epub(dist / "book.epub")
    result = run("check", manifest, "--outputs")
    assert result.exit_code == 1
    assert "page-count" in result.stderr or "23 pages" in result.stderr
    assert "EPUBCheck: ERROR" in result.stderr
    assert result.stderr.splitlines()[-1] == "error: 2 output(s) failed their checks"


def _break_epub(path: Path) -> None:
    """Rewrite the EPUB with a dangling link in one chapter."""
    import zipfile

    with zipfile.ZipFile(path) as source:
        items = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for info, data in items:
            if info.filename.endswith("making-magic.xhtml"):
                data = data.replace(b"</body>", b'<p><a href="missing.xhtml">x</a></p></body>')
            target.writestr(info, data)


def test_check_outputs_without_outputs_is_a_clear_error(book_copy: BookCopy) -> None:
    result = run("check", book_copy("sample"), "--outputs")
    assert result.exit_code == 1
    assert "no book.epub or PDF to check; build first" in result.stderr


def test_a_skipped_heading_level_warns_and_fails_strict(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "book.yaml").write_text("title: T\ncontents:\n  - chapters/a.md\n", "utf-8")
    essay = "---\ntitle: A\nauthor: X\n---\n\nText.\n\n## Two\n\nMore.\n\n#### Four\n\nEnd.\n"
    (tmp_path / "chapters" / "a.md").write_text(essay, "utf-8")
    result = run("build", tmp_path / "book.yaml", "--format", "epub", "--strict")
    assert result.exit_code == 2
    expected = f"warning: {tmp_path}/chapters/a.md: heading h4 'Four' after an h2 (a skipped level)"
    assert expected in result.stderr.splitlines()


def test_a_template_cannot_reach_python(book_copy: BookCopy, tmp_path: Path) -> None:
    manifest = book_copy("sample")
    marker = tmp_path / "pwned"
    (manifest.parent / "templates").mkdir()
    attack = f'{{{{ cycler.__init__.__globals__.os.popen("touch {marker}").read() }}}}'
    (manifest.parent / "templates" / "colophon.html").write_text(attack, "utf-8")
    result = run("build", manifest, "--format", "pdf")
    assert result.exit_code == 2  # the book's own template: bad input, at its line
    assert "templates/colophon.html:1: access to attribute '__init__'" in result.stderr
    assert not marker.exists()


def test_check_outputs_fails_when_epubcheck_cannot_run_beside_a_web_edition(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A web edition to check does not make a checker that cannot run pass unseen."""
    manifest = book_copy("sample")
    assert run("build", manifest, "--format", "epub,html").exit_code == 0
    real = shutil.which
    monkeypatch.setattr(
        "make_book.build.verify.shutil.which", lambda name: None if name == "java" else real(name)
    )
    result = run("check", manifest, "--outputs")
    assert result.exit_code == 1, result.output
    assert "EPUBCheck needs Java" in result.output

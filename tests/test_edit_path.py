"""An edit rebuild does the work of what changed: what an earlier build checked or made
from unchanged inputs is taken from the cache, and the outputs are the bytes a fresh
build gives."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import types
import zipfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from helpers import BookCopy
from make_book.cli import main
from make_book.preflight import checks
from make_book.render.epub import package as epub_package
from make_book.render.epub.zipped import Deflated, write_zip
from make_book.render.pdf import footnotes

PDF = ["--format", "pdf"]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def drawing_checks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The PDFs the preflight reads for their drawing only (a piece, while laid out)."""
    checked: list[Path] = []
    real = checks.preflight

    def counting(path: Path, *args: object, **kwargs: object) -> list[checks.Finding]:
        if kwargs.get("drawing_only"):
            checked.append(path)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("make_book.render.pdf.preflight_gate.preflight", counting)
    return checked


def test_a_piece_that_passed_its_drawing_check_is_not_checked_again(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("montaigne")
    checked = drawing_checks(monkeypatch)
    first = run("build", manifest, *PDF, "--jobs", "1")
    assert first.exit_code == 0, first.output
    pieces = len(checked)
    assert pieces > 5  # the front matter, the opener, parts and batches of essays

    checked.clear()
    (manifest.parent / "dist" / "book.pdf").unlink()  # not up to date: built again
    again = run("build", manifest, *PDF, "--jobs", "1")
    assert again.exit_code == 0, again.output
    assert checked == []  # every piece's pass was kept with it in the cache


def test_our_zip_has_the_bytes_pythons_zipfile_writes() -> None:
    when = dt.datetime(2024, 5, 17, 13, 45, 31)
    entries = [
        ("mimetype", b"application/epub+zip"),
        ("EPUB/text/essay.xhtml", b"<p>text</p>" * 500),
        ("EPUB/empty.css", b""),
        ("EPUB/images/caf\u00e9.png", bytes(range(256)) * 3),
    ]
    ours = io.BytesIO()
    write_zip(ours, entries, when, Deflated(None))

    theirs = io.BytesIO()
    with zipfile.ZipFile(theirs, "w") as out:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            stored = name == "mimetype"
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, as ours on every system (zipfile's is 0 on Windows)
            out.writestr(info, data, compresslevel=None if stored else 9)
    assert ours.getvalue() == theirs.getvalue()
    with zipfile.ZipFile(ours) as back:
        assert back.testzip() is None
        assert [(i.filename, back.read(i)) for i in back.infolist()] == entries


def test_an_edit_deflates_only_what_changed_and_gives_a_fresh_builds_bytes(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    incremental, fresh = book_copy("sample"), book_copy("sample")
    assert run("build", incremental, "--format", "epub").exit_code == 0
    deflated: list[int] = []
    real = zlib.compressobj
    counting = types.SimpleNamespace(
        compressobj=lambda *a: deflated.append(1) or real(*a),
        crc32=zlib.crc32,
        DEFLATED=zlib.DEFLATED,
    )
    monkeypatch.setattr("make_book.render.epub.zipped.zlib", counting)
    essay = sorted((incremental.parent / "chapters").glob("*.md"))[0]
    essay.write_text(essay.read_text("utf-8") + "\nOne paragraph more.\n", "utf-8")
    shutil.copy2(essay, fresh.parent / "chapters" / essay.name)  # the same bytes and date

    assert run("build", incremental, "--format", "epub").exit_code == 0
    with zipfile.ZipFile(incremental.parent / "dist" / "book.epub") as epub:
        entries = len(epub.infolist())
    assert len(deflated) == 1 < entries  # the edited essay's page
    assert run("build", fresh, "--format", "epub", "--no-cache").exit_code == 0
    made = [m.parent / "dist" / "book.epub" for m in (incremental, fresh)]
    assert made[0].read_bytes() == made[1].read_bytes()


def test_an_edit_compresses_only_the_object_streams_that_changed(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join remembers what each object stream compressed to (cache/remembered.py): an
    edit that leaves the objects' count as it was compresses only the streams holding
    the edited piece's objects, and the PDF is a fresh build's, byte for byte."""
    incremental, fresh = book_copy("sample"), book_copy("sample")
    compressed: list[int] = []
    counting = types.SimpleNamespace(
        compress=lambda data, *a: compressed.append(len(data)) or zlib.compress(data, *a)
    )
    monkeypatch.setattr("make_book.render.pdf.join.object_writer.zlib", counting)
    assert run("build", incremental, *PDF).exit_code == 0
    streams = len(compressed) - 1  # and the cross-reference stream
    assert streams >= 2, compressed
    # A title its bookmark (a packed object) says otherwise: as many objects as before.
    essay = incremental.parent / "chapters" / "02-the-anora-ending.md"
    text = essay.read_text("utf-8")
    assert "What We Think Happened" in text
    essay.write_text(text.replace("What We Think Happened", "What We Thought Happened"), "utf-8")
    shutil.copy2(essay, fresh.parent / "chapters" / essay.name)
    compressed.clear()
    assert run("build", incremental, *PDF).exit_code == 0
    assert 1 <= len(compressed) - 1 < streams, compressed
    assert run("build", fresh, *PDF, "--no-cache").exit_code == 0
    made = [m.parent / "dist" / "book.pdf" for m in (incremental, fresh)]
    assert made[0].read_bytes() == made[1].read_bytes()


def test_an_edit_parses_the_changed_epub_page_alone_and_warns_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An EPUB page's heading faults and page breaks are remembered by its sha256: the
    build after an edit reads the edited page's, and says the other page's faults as
    the first build did."""
    (tmp_path / "book.yaml").write_text(
        "title: Headings\neditor: Ed\nlanguage: en\ncontents:\n  - deep.md\n  - plain.md\n",
        "utf-8",
    )
    deep = "---\ntitle: Deep\n---\n\n## Fine\n\nText.\n\n#### Too deep\n\nText.\n"
    (tmp_path / "deep.md").write_text(deep, "utf-8")
    plain = tmp_path / "plain.md"
    plain.write_text("---\ntitle: Plain\n---\n\nText.\n", "utf-8")
    first = run("build", tmp_path / "book.yaml", "--format", "epub")
    assert first.exit_code == 0, first.output
    fault = "deep.md: heading h4 'Too deep' after an h2 (a skipped level)"
    assert any(line.endswith(fault) for line in first.stderr.splitlines()), first.stderr
    read: list[object] = []
    real = epub_package.heading_faults
    monkeypatch.setattr(epub_package, "heading_faults", lambda doc: read.append(doc) or real(doc))
    plain.write_text(plain.read_text("utf-8") + "\nMore text.\n", "utf-8")
    again = run("build", tmp_path / "book.yaml", "--format", "epub")
    assert again.exit_code == 0, again.output
    assert len(read) == 1, "the edited essay's page"
    assert [w for w in again.stderr.splitlines() if "heading" in w] == [
        w for w in first.stderr.splitlines() if "heading" in w
    ]


def test_an_edit_places_the_notes_of_the_edited_essay_alone(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each essay's body with its notes at their calls (print's footnotes) is remembered
    by the essay's fingerprint: the build after an edit makes the edited essay's."""
    manifest = book_copy("sample")
    assert run("build", manifest, *PDF).exit_code == 0
    placed: list[str] = []
    real = footnotes.footnoted_body
    monkeypatch.setattr(footnotes, "footnoted_body", lambda e: placed.append(e.slug) or real(e))
    essay = manifest.parent / "chapters" / "02-the-anora-ending.md"
    essay.write_text(essay.read_text("utf-8") + "\nOne paragraph more.\n", "utf-8")
    assert run("build", manifest, *PDF).exit_code == 0
    assert placed == ["the-anora-ending"], placed

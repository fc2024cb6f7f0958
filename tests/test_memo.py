"""Conversions and essay bodies remembered between builds (cache/memo.py)."""

from __future__ import annotations

from pathlib import Path

from helpers import BookCopy
from make_book.cache.memo import ConversionMemo
from make_book.model import Book
from make_book.source.assemble import assemble
from make_book.source.manifest import load_manifest


def _read(manifest_path: Path, folder: Path | None) -> Book:
    memo = ConversionMemo(folder)
    book = assemble(load_manifest(manifest_path), memo)
    memo.keep()
    return book


def test_a_remembered_book_equals_one_read_afresh(book_copy: BookCopy, tmp_path: Path) -> None:
    manifest_path = book_copy("mixed")
    afresh = _read(manifest_path, None)
    folder = tmp_path / "memo"
    assert _read(manifest_path, folder) == afresh
    entries = {kind: list((folder / kind).glob("*.json")) for kind in ("converted", "bodies")}
    assert all(entries.values()), entries
    assert any(note for essay in afresh.essays for note in essay.footnotes)

    assert _read(manifest_path, folder) == afresh  # every essay from the memo
    for entry in entries["converted"] + entries["bodies"]:
        assert entry.stat().st_size > 0


def test_a_damaged_entry_is_made_again(book_copy: BookCopy, tmp_path: Path) -> None:
    manifest_path = book_copy("mixed")
    folder = tmp_path / "memo"
    afresh = _read(manifest_path, folder)
    bodies = sorted((folder / "bodies").glob("*.json"))
    bodies[0].write_text("{not json", "utf-8")
    bodies[1].write_text('{"body_html": "<p>only this</p>"}', "utf-8")  # keys missing
    for entry in (folder / "converted").glob("*.json"):
        entry.write_text("[]", "utf-8")

    assert _read(manifest_path, folder) == afresh
    assert _read(manifest_path, None) == afresh
    assert "only this" not in bodies[1].read_text("utf-8")  # written again

"""Conversions and essay bodies remembered between builds (cache/memo.py)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

import make_book.source.assemble as assemble_module
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
    damages = ["{not json", '{"body_html": "<p>only this</p>"}', "[]", '{"essay": {}}']
    damaged = sorted(folder.glob("*/*.json"))
    assert {entry.parent.name for entry in damaged} >= {"converted", "bodies", "essays"}
    for number, entry in enumerate(damaged):
        entry.write_text(damages[number % len(damages)], "utf-8")

    assert _read(manifest_path, folder) == afresh
    assert _read(manifest_path, None) == afresh
    for entry in damaged:  # each made again, and kept as made
        assert entry.read_text("utf-8") not in damages


def test_an_essay_kept_whole_keeps_no_parts(book_copy: BookCopy, tmp_path: Path) -> None:
    """An essay remembered whole is made again only when its file changes, and then its
    conversion and body too: those are kept only for essays not kept whole (images)."""
    manifest_path = book_copy("mixed")
    folder = tmp_path / "memo"
    book = _read(manifest_path, folder)
    whole = [e for e in book.essays if not e.images and e.source_path.suffix == ".md"]
    with_images = [e for e in book.essays if e.images and e.source_path.suffix == ".md"]
    assert whole and with_images
    assert len(list((folder / "essays").glob("*.json"))) >= len(whole)
    assert len(list((folder / "converted").glob("*.json"))) == len(with_images)


def test_an_unchanged_essay_is_not_read_again_and_says_its_warnings_again(
    book_copy: BookCopy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    manifest_path = book_copy("mixed")
    folder = tmp_path / "memo"
    afresh = _read(manifest_path, folder)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("removed" in line for line in said)  # the mixed book's HTML essay warns
    parsed: list[str] = []
    real = assemble_module.parse_source
    monkeypatch.setattr(
        assemble_module, "parse_source", lambda raw, shown: parsed.append(shown) or real(raw, shown)
    )
    caplog.clear()

    root = manifest_path.parent
    with_images = [e.source_path.relative_to(root).as_posix() for e in afresh.essays if e.images]
    assert _read(manifest_path, folder) == afresh
    assert parsed == with_images  # the others from the memo (images are files of their own)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == said

    text = next(e for e in afresh.essays if e.source_path.suffix == ".md" and not e.images)
    edited = text.source_path
    edited.write_text(edited.read_text("utf-8") + "\nOne more paragraph.\n", "utf-8")
    parsed.clear()
    again = _read(manifest_path, folder)
    assert sorted(parsed) == sorted([*with_images, edited.relative_to(root).as_posix()])
    assert (
        "One more paragraph." in next(e for e in again.essays if e.source_path == edited).body_html
    )


def test_a_remembered_essay_is_where_its_file_is_now(book_copy: BookCopy, tmp_path: Path) -> None:
    """The same book built from another folder (moved, or named another way): its essays
    are the files there, not where the memo's entries were made."""
    manifest_path = book_copy("mixed")
    folder = tmp_path / "memo"
    _read(manifest_path, folder)
    moved = tmp_path / "moved"
    shutil.copytree(manifest_path.parent, moved)
    book = _read(moved / "book.yaml", folder)
    assert all(e.source_path.is_relative_to(moved) for e in book.all_texts)
    assert book == _read(moved / "book.yaml", None)


def test_a_failure_writing_the_memo_fails_the_build(tmp_path: Path) -> None:
    """The memo is written in a thread while the layout runs; what fails there is raised
    in the build's own thread once it is joined, as when it was written there."""
    memo = ConversionMemo(tmp_path / "memo")
    memo.new["essays/x.json"] = object()  # type: ignore[assignment]  # nothing JSON can write
    with pytest.raises(TypeError), memo.kept_meanwhile():
        pass


def test_the_essays_an_edit_changed(book_copy: BookCopy, tmp_path: Path) -> None:
    """What the layout makes first (LayoutOptions.first): none in a first build (every
    essay is new: nothing to tell apart), none when nothing changed, the edited essay
    after an edit (and those that read images, made anew at every build); none without
    a memo."""
    manifest_path = book_copy("mixed")
    folder = tmp_path / "memo"

    def edited(memo_folder: Path | None) -> frozenset[str]:
        memo = ConversionMemo(memo_folder)
        assemble(load_manifest(manifest_path), memo)
        memo.keep()
        return memo.edited()

    with_images = {"alpha"}
    assert edited(folder) == set()
    assert edited(folder) == with_images
    essay = manifest_path.parent / "chapters" / "gamma.txt"
    essay.write_text(essay.read_text("utf-8") + "\nOne sentence more.\n", "utf-8")
    assert edited(folder) == {"gamma"} | with_images
    assert edited(None) == set()

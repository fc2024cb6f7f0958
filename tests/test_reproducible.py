"""Two builds of the same sources, in different folders and from different working
directories, give byte-identical outputs: PDF (every profile), cover, EPUB, web edition."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import copy_book


def _build(book: str, root: Path, cwd: Path, *extra: str) -> dict[str, str]:
    manifest = copy_book(book, root)
    cwd.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env.update({"TZ": "Pacific/Auckland" if "a" in root.name else "UTC", "LC_ALL": "C.UTF-8"})
    subprocess.run(
        [sys.executable, "-m", "make_book", "build", str(manifest), *extra],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    dist = root / "dist"
    return {
        str(p.relative_to(dist)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(dist.rglob("*"))
        if p.is_file() and p.name != "report.json"
    }


@pytest.mark.parametrize("book", ["sample", "mixed"])
def test_two_builds_are_byte_identical(book: str, tmp_path: Path) -> None:
    first = _build(book, tmp_path / "a" / "book", tmp_path / "a" / "elsewhere")
    second = _build(book, tmp_path / "b" / "deeper" / "copy", tmp_path / "b")
    assert len(first) > 8 and {"book.pdf", "cover.pdf", "book.epub", "html/index.html"} <= set(
        first
    )
    assert first == second


def test_print_profiles_are_byte_identical(tmp_path: Path) -> None:
    args = ("--profile", "kdp,ingram,archive", "--format", "pdf,cover")
    first = _build("sample", tmp_path / "a" / "book", tmp_path / "a", *args)
    second = _build("sample", tmp_path / "b" / "book", tmp_path, *args)
    assert len(first) == 6 and first == second

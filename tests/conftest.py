"""Fixtures: fixture books copied out of the repository, and builds shared across tests.

Building a book costs a second or two (the PDF), and EPUBCheck a few seconds, so each
fixture book is built once per session (per set of formats) and checked once per EPUB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from helpers import BookCopy, EpubCheckResult, copy_book, epubcheck
from make_book.build.driver import build


@pytest.fixture(scope="session", autouse=True)
def cache_key_in_a_test_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Builds with a cache seal it with a key made in a session folder, not the user's,
    and keep their copies of hyphenation dictionaries there too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("user-cache")))
        patch.delenv("MAKE_BOOK_CACHE_KEY", raising=False)
        yield


@pytest.fixture
def book_copy(tmp_path: Path) -> BookCopy:
    """`book_copy("mixed")`: a fresh copy of a fixture book in tmp_path; returns its book.yaml."""
    counter = iter(range(1000))

    def make(name: str) -> Path:
        return copy_book(name, tmp_path / f"{name}-{next(counter)}")

    return make


@pytest.fixture(scope="session")
def session_book(tmp_path_factory: pytest.TempPathFactory) -> BookCopy:
    """One read-only copy of a fixture book per session; returns its book.yaml."""
    copies: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in copies:
            copies[name] = copy_book(name, tmp_path_factory.mktemp(f"book-{name}"))
        return copies[name]

    return get


@pytest.fixture(scope="session")
def built(session_book: BookCopy, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`built("mixed", ("epub",), out="a")`: the output folder of a session-wide build."""
    outputs: dict[tuple[str, tuple[str, ...], str], Path] = {}

    def get(name: str, formats: Sequence[str] = ("pdf", "epub", "html"), out: str = "") -> Path:
        key = (name, tuple(formats), out)
        if key not in outputs:
            folder = tmp_path_factory.mktemp(f"out-{name}-{out or 'dist'}")
            build(session_book(name), folder, list(formats))
            outputs[key] = folder
        return outputs[key]

    return get


@pytest.fixture(scope="session")
def epubcheck_of() -> Callable[[Path], EpubCheckResult]:
    """EPUBCheck's verdict on an EPUB, computed once per file."""
    results: dict[Path, EpubCheckResult] = {}

    def get(path: Path) -> EpubCheckResult:
        if path not in results:
            results[path] = epubcheck(path)
        return results[path]

    return get

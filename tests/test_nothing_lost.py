"""Nothing lost: a build that is killed, interrupted, out of room or racing another build
never damages the previous outputs nor leaves a partial file under an output's name, and
no build ever writes into the book's sources.

Real `make-book build` processes, real signals and a real file-size limit; no mocks.
Each scenario starts from the sample book's outputs (the "old" edition) with its essays
edited since, so a finished build would write a different "new" edition; whenever a
build is stopped, each output must be, byte for byte, the old one or the new one.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from helpers import copy_book
from make_book.build.driver import build
from make_book.publish.atomic import exchange, remove_leftovers
from make_book.render.pdf.layout.piece_cache import CACHE_FOLDER

FILES = ("book.pdf", "cover.pdf", "book.epub")  # the sample's outputs besides html/
ALL_FORMATS = ["pdf", "cover", "epub", "html"]
Tree = dict[str, bytes]  # a folder's files: relative path -> content


# The two editions every scenario compares against.


@dataclass(frozen=True)
class Editions:
    """The sample book's sources as edited, and the outputs of the book before and after."""

    edited: Path  # a book folder (book.yaml, chapters/...) without dist/
    old: Path  # the outputs built before the edit
    new: Path  # the outputs a complete build of the edited book writes

    def file(self, edition: str, name: str) -> bytes:
        return (self.old if edition == "old" else self.new).joinpath(name).read_bytes()

    def site(self, edition: str) -> Tree:
        return tree(self.old / "html" if edition == "old" else self.new / "html")


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> Editions:
    root = tmp_path_factory.mktemp("editions")
    manifest = copy_book("sample", root / "book")
    build(manifest, root / "old", ALL_FORMATS)
    for chapter in sorted((root / "book" / "chapters").glob("0*.md")):
        with chapter.open("a", encoding="utf-8") as essay:
            essay.write(f"\n\nA paragraph added to {chapter.stem} after the first build.\n")
    build(manifest, root / "new", ALL_FORMATS)
    editions = Editions(root / "book", root / "old", root / "new")
    assert editions.file("old", "book.pdf") != editions.file("new", "book.pdf")
    assert editions.site("old") != editions.site("new")
    return editions


@pytest.fixture
def book(editions: Editions, tmp_path: Path) -> Path:
    """A fresh copy of the edited book whose dist/ holds the old outputs; its book.yaml."""
    shutil.copytree(editions.edited, tmp_path / "book")
    shutil.copytree(editions.old, tmp_path / "book" / "dist")
    return tmp_path / "book" / "book.yaml"


# Running make-book.


def start_build(
    manifest: Path, *options: str, limit: Callable[[], None] | None = None
) -> subprocess.Popen[str]:
    """`make-book build` in a process of its own, into the book's dist/."""

    def prepare_child() -> None:
        # SIGINT is ignored in a child of a background job: the test must not depend on it.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if limit is not None:
            limit()

    command = [sys.executable, "-m", "make_book", "build", str(manifest), *options]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=prepare_child,  # safe: the test process runs no threads
    )


def run_make_book(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "make_book", *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def signal_when(
    process: subprocess.Popen[str], dist: Path, pattern: str, signum: int
) -> tuple[bool, str]:
    """Send `signum` as soon as an entry matching `pattern` appears in dist/, and wait for
    the process to end: (whether the signal came before the build ended, its stderr)."""
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if any(fnmatch.fnmatch(name, pattern) for name in _names_being_written(dist)):
            process.send_signal(signum)
            break
        time.sleep(0.001)
    mid_build = process.poll() is None
    _, stderr = process.communicate(timeout=60)
    return mid_build, stderr


def _names_being_written(dist: Path) -> list[str]:
    """The entries of dist/, and of the folders outputs wait in until the PDF is written."""
    names = []
    for name in os.listdir(dist):
        names.append(name)
        if name.startswith(".make-book-staging-"):
            with contextlib.suppress(OSError):  # published or removed meanwhile
                names += os.listdir(dist / name)
    return names


# What a folder holds.


def tree(folder: Path) -> Tree:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def leftovers(dist: Path) -> list[str]:
    """Everything in dist/ that is not an output."""
    return sorted(set(os.listdir(dist)) - {*FILES, "html"})


def assert_each_output_whole(dist: Path, editions: Editions) -> dict[str, set[str]]:
    """Each output is the old edition's or the new one's, byte for byte (never partial,
    never missing); returns, by name, the editions it equals (both, when they agree)."""
    found = {}
    for name in FILES:
        data = (dist / name).read_bytes()
        found[name] = {e for e in ("old", "new") if data == editions.file(e, name)}
    site = tree(dist / "html") if (dist / "html").is_dir() else {}
    found["html"] = {e for e in ("old", "new") if site == editions.site(e)}
    assert all(found.values()), f"outputs damaged (empty: neither edition): {found}"
    return found


def all_are(edition: str, found: dict[str, set[str]]) -> bool:
    return all(edition in editions for editions in found.values())


def assert_only_hidden_leftovers(dist: Path) -> None:
    """What a killed build may leave: hidden temporary entries, never an output's name."""
    for name in leftovers(dist):
        assert name.startswith("."), f"a visible leftover in dist/: {name}"
        assert name.endswith(".part") or (dist / name).is_dir(), name


def assert_clean_exit(process: subprocess.Popen[str], code: int, stderr: str) -> None:
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr, stderr


# Killed outright: SIGKILL at several moments of a build.

KILL_MOMENTS = {
    "at start": None,  # before Python has even imported make_book
    "laying out the PDF": ".book.pdf.*.part",
    "making the cover": ".cover.pdf.*.part",  # book.pdf is already the new one
    "making the EPUB": ".book.epub.*.part",
    "making the web edition": ".html-*",
}
NARROW = ("making the EPUB", "making the web edition")  # a few ms: the build may finish first


@pytest.mark.parametrize("moment", KILL_MOMENTS)
def test_sigkill_leaves_every_output_whole(book: Path, editions: Editions, moment: str) -> None:
    dist = book.parent / "dist"
    process = start_build(book)
    pattern = KILL_MOMENTS[moment]
    if pattern is None:
        process.kill()
        process.communicate(timeout=60)
        mid_build = True
    else:
        mid_build, _ = signal_when(process, dist, pattern, signal.SIGKILL)
    found = assert_each_output_whole(dist, editions)
    assert_only_hidden_leftovers(dist)
    if moment in ("at start", "laying out the PDF"):
        assert all_are("old", found), found  # killed before the first rename
    if moment not in NARROW:
        assert mid_build and process.returncode == -signal.SIGKILL, process.returncode


def test_next_build_removes_what_killed_builds_left(book: Path, editions: Editions) -> None:
    dist = book.parent / "dist"
    assert signal_when(start_build(book), dist, ".cover.pdf.*.part", signal.SIGKILL)[0]
    assert any(name.endswith(".part") for name in leftovers(dist)), "nothing to remove"
    finished = start_build(book)
    _, stderr = finished.communicate(timeout=120)
    assert_clean_exit(finished, 0, stderr)
    assert all_are("new", assert_each_output_whole(dist, editions))
    assert leftovers(dist) == []


# Stopped politely: Ctrl-C and SIGTERM unwind, remove their temporary files, and exit
# with 128 + the signal's number, as a shell reports.

STOPS = [
    pytest.param(signal.SIGINT, ".book.pdf.*.part", id="SIGINT-laying-out-the-PDF"),
    pytest.param(signal.SIGTERM, ".book.pdf.*.part", id="SIGTERM-laying-out-the-PDF"),
    pytest.param(signal.SIGTERM, ".cover.pdf.*.part", id="SIGTERM-making-the-cover"),
]


@pytest.mark.parametrize(("signum", "pattern"), STOPS)
def test_interrupt_cleans_up_and_exits_128_plus_signal(
    book: Path, editions: Editions, signum: signal.Signals, pattern: str
) -> None:
    dist = book.parent / "dist"
    process = start_build(book)
    mid_build, stderr = signal_when(process, dist, pattern, signum)
    assert mid_build, "the build ended before the signal"
    assert_clean_exit(process, 128 + signum, stderr)
    assert stderr.strip().splitlines() == [
        f"error: interrupted by {signum.name}; outputs not yet finished were discarded"
    ]
    assert leftovers(dist) == []
    found = assert_each_output_whole(dist, editions)
    if pattern.startswith(".book.pdf"):
        assert all_are("old", found), found


# Out of room: a file-size limit makes the write of an output fail with EFBIG, as a
# full disk fails it with ENOSPC. The limit lets WeasyPrint write its font files (the
# largest is 0.5 MB) but not a PDF or an EPUB that carries a 1.2 MB image.

ROOM = 800_000


def add_big_image(manifest: Path, size: int) -> None:
    """An image of noise (incompressible) of about `size` bytes in the first essay."""
    side = int((size / 3) ** 0.5)
    noise = random.Random(0).randbytes(side * side * 3)
    (manifest.parent / "images").mkdir(exist_ok=True)
    Image.frombytes("RGB", (side, side), noise).save(manifest.parent / "images" / "noise.png")
    essay = sorted((manifest.parent / "chapters").glob("0*.md"))[0]
    with essay.open("a", encoding="utf-8") as text:
        text.write("\n\n![Noise, for its size](../images/noise.png)\n")


def file_size_limit(size: int) -> Callable[[], None]:
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@pytest.mark.parametrize("output", ["pdf", "epub"])
def test_out_of_room_is_one_clear_error(book: Path, editions: Editions, output: str) -> None:
    dist = book.parent / "dist"
    before = tree(dist)
    add_big_image(book, int(ROOM * 1.5))
    process = start_build(book, "--format", output, limit=file_size_limit(ROOM))
    _, stderr = process.communicate(timeout=120)
    assert_clean_exit(process, 1, stderr)
    [line] = stderr.strip().splitlines()
    assert line.startswith("error: ") and "File too large" in line, line
    assert tree(dist) == before
    assert leftovers(dist) == []


# Two builds at once into the same folder.


def test_two_builds_at_once_finish_whole(editions: Editions, tmp_path: Path) -> None:
    shutil.copytree(editions.edited, tmp_path / "book")
    manifest = tmp_path / "book" / "book.yaml"
    dist = manifest.parent / "dist"
    first, second = start_build(manifest), start_build(manifest)
    waited = []
    for process in (first, second):
        _, stderr = process.communicate(timeout=120)
        assert_clean_exit(process, 0, stderr)
        waited.append("note: waiting for another make-book build into" in stderr)
    assert sorted(waited) == [False, True], "the builds were not taken one at a time"
    assert all_are("new", assert_each_output_whole(dist, editions))
    assert leftovers(dist) == []
    with pikepdf.open(dist / "book.pdf") as pdf, pikepdf.open(editions.new / "book.pdf") as ref:
        assert len(pdf.pages) == len(ref.pages)
    with zipfile.ZipFile(dist / "book.epub") as epub:
        assert epub.testzip() is None


# Never into the sources.


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    """Every entry under `folder` but dist/ and the cache: content hash (files) and
    modification time."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if relative.parts[0] in ("dist", CACHE_FOLDER):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        entries[relative.as_posix()] = (digest, path.stat().st_mtime_ns)
    return entries


def test_make_book_never_writes_into_the_sources(editions: Editions, tmp_path: Path) -> None:
    shutil.copytree(editions.edited, tmp_path / "book")
    folder = tmp_path / "book"
    before = fingerprint(folder)
    for args in (["build"], ["check"], ["new", tmp_path / "another-book"]):
        done = run_make_book(*args, cwd=folder)
        assert done.returncode == 0, done.stderr
        assert fingerprint(folder) == before, f"make-book {args[0]} wrote into the sources"
    assert sorted(os.listdir(folder / "dist")) == sorted([*FILES, "html"])


# The pieces the guarantees rest on.


def test_exchange_swaps_two_folders_in_one_step(tmp_path: Path) -> None:
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "index.html").write_text("old")
    (tmp_path / ".html-abcd1234").mkdir()
    (tmp_path / ".html-abcd1234" / "index.html").write_text("new")
    if not exchange(tmp_path / ".html-abcd1234", tmp_path / "html"):
        pytest.skip("no atomic exchange on this system: swap_folder uses two renames")
    assert (tmp_path / "html" / "index.html").read_text() == "new"
    assert (tmp_path / ".html-abcd1234" / "index.html").read_text() == "old"


def test_leftovers_are_removed_and_a_parked_site_put_back(tmp_path: Path) -> None:
    (tmp_path / "book.pdf").write_bytes(b"%PDF")
    (tmp_path / "notes.part").write_text("the user's own")  # not a make-book name
    (tmp_path / ".book.pdf.k3x9q2ab.part").write_bytes(b"%PD")
    (tmp_path / ".epub-k3x9q2ab").mkdir()
    (tmp_path / ".html-old-k3x9q2ab" / "html").mkdir(parents=True)  # killed mid-swap
    (tmp_path / ".html-old-k3x9q2ab" / "html" / "index.html").write_text("old site")
    removed = remove_leftovers(tmp_path)
    assert removed == [".book.pdf.k3x9q2ab.part", ".epub-k3x9q2ab", ".html-old-k3x9q2ab"]
    assert sorted(os.listdir(tmp_path)) == ["book.pdf", "html", "notes.part"]
    assert (tmp_path / "html" / "index.html").read_text() == "old site"

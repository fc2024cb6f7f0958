"""A cache an author cannot forge (issue 19): each attack, through the command line.

The cache folder sits in the book folder, so it can come with a hostile one. Each test
plants what such a folder could hold and checks the exit code, the message, that
`dist/` is what the sources make, and (through an audit hook in the build's process)
that nothing outside the book folder was read or written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import assert_stays_inside, fails_if_longer_than, read_audit_log, run_audited
from make_book.cache.folder import PRUNE_EVERY, PRUNED, CacheFolder, prune_due, stamp_pruned
from make_book.cache.memo import MARKDOWN_RULES, ConversionMemo, key_of
from make_book.cache.trust import CacheUnusable, key_file, machine_key, name_of, seal, unseal
from make_book.render.pdf.layout.piece_cache import CACHE_FOLDER, PieceCache
from make_book.source.assemble import assemble
from make_book.source.conversions import FreshConversions
from make_book.source.manifest import load_manifest
from make_book.source.markup import Converted

ESSAY = "The first essay says only this, in its own words.\n"
SCRIPT = "<script>alert(1)</script>"
OTHER_KEY = b"k" * 32  # a key that is not this machine's: a forger's


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A one-essay book that builds with no warning; returns its folder."""
    folder = tmp_path / "book"
    (folder / "chapters").mkdir(parents=True)
    (folder / "book.yaml").write_text(
        'title: "Tiny"\neditor: "An Editor"\nlanguage: en\ncontents:\n  - chapters/a.md\n',
        "utf-8",
    )
    front = '---\ntitle: "Alpha"\nauthor: "A. Author"\n---\n\n'
    (folder / "chapters" / "a.md").write_text(front + ESSAY, "utf-8")
    return folder


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A folder outside the book, with files named like cache entries, a month old."""
    folder = tmp_path / "victim"
    folder.mkdir()
    month_ago = time.time() - 60 * 86400
    for name in ("keep.txt", "a" * 64 + ".json", "b" * 64, "1.json", "1.pdf"):
        (folder / name).write_text("not the cache's", "utf-8")
        os.utime(folder / name, (month_ago, month_ago))
    return folder


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def make_book(book: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`make-book build book.yaml --jobs 1 ARGS` in the book folder, audited into `log`
    (helpers.run_audited: every path opened, listed, made, renamed or removed)."""
    log = log or book.parent / "audit.log"
    done, _ = run_audited(["build", "book.yaml", "--jobs", "1", *args], cwd=book, log=log)
    return done


def assert_untouched(book: Path, *outside: Path) -> None:
    """Nothing under `outside` was opened, listed, written or removed by the build, and
    nothing outside the book folder written or read (but the interpreter's own files)."""
    accesses = read_audit_log(book.parent / "audit.log")
    places = [str(p.resolve()) for p in outside]
    bad = [a for a in accesses if any(p in a.path for p in places)]
    assert not bad, bad
    assert_stays_inside(accesses, [book], never_read=outside)


def epub_text(epub: Path) -> str:
    with zipfile.ZipFile(epub) as archive:
        return "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())


# 1. Script past the sanitizer.


def conversion_key(manifest: Path) -> str:
    """The memo key of the book's one Markdown conversion (what a forger can compute)."""
    asked: list[str] = []

    class Recording(FreshConversions):
        def markdown_essay(self, text: str, language: str) -> Converted:
            asked.append(key_of(MARKDOWN_RULES, language, text))
            return super().markdown_essay(text, language)

    assemble(load_manifest(manifest), Recording())
    return asked[0]


def test_a_forged_conversion_never_reaches_the_outputs(book: Path) -> None:
    key = conversion_key(book / "book.yaml")
    html = f"<p>{ESSAY.strip()}</p>{SCRIPT}"
    forged = json.dumps({"html": html, "findings": [], "images": [], "start": 1}).encode()
    converted = book / CACHE_FOLDER / "converted"
    converted.mkdir(parents=True)
    (converted / f"{key}.json").write_bytes(forged)  # where make-book looked before
    ours = name_of(machine_key(), key)  # where it looks now: the forger cannot know it
    place = f"converted/{ours}.json"
    (converted / f"{ours}.json").write_bytes(seal(OTHER_KEY, place, forged))
    done = make_book(book, "--strict", "--format", "epub,html")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    page = (book / "dist" / "html" / "a.html").read_text("utf-8")
    assert "only this" in page and "alert(1)" not in page
    assert "alert(1)" not in epub_text(book / "dist" / "book.epub")
    # Made again, and kept whole (its conversion is not kept beside it: cache/memo.py).
    (kept,) = (book / CACHE_FOLDER / "essays").iterdir()
    assert "only this" in kept.read_text("utf-8") and SCRIPT not in kept.read_text("utf-8")


def test_an_entry_is_used_only_where_and_as_this_machine_sealed_it(tmp_path: Path) -> None:
    cache = CacheFolder.open(tmp_path / CACHE_FOLDER)
    assert cache is not None
    for kind in ("converted", "bodies", "epub"):
        place = f"{kind}/{cache.name('essay')}"
        cache.write(place, b"payload")
        assert cache.read(place) == b"payload"
        path = cache.root / place
        sealed = path.read_bytes()
        path.write_bytes(seal(OTHER_KEY, place, b"forged"))
        assert cache.read(place) is None
        path.write_bytes(sealed.replace(b"payload", b"payloaf"))
        assert cache.read(place) is None
        moved = f"{kind}/{cache.name('another essay')}"
        (cache.root / moved).write_bytes(sealed)  # a real entry, under another name
        assert cache.read(moved) is None
    assert unseal(machine_key(), "x", seal(machine_key(), "x", b"")) == b""
    assert unseal(machine_key(), "x", b"short") is None


# 2. Writes and deletes outside the book.


@pytest.mark.parametrize("linked", ["", "converted", "bodies", "epub", "pieces", "builds"])
def test_a_linked_cache_is_not_followed(linked: str, book: Path, victim: Path) -> None:
    before = snapshot(victim)
    cache = book / CACHE_FOLDER
    if linked:
        cache.mkdir()
    (cache / linked if linked else cache).symlink_to(victim, target_is_directory=True)
    formats = "pdf,epub,html" if linked in ("", "pieces") else "epub,html"
    done = make_book(book, "--strict", "--format", formats)
    assert done.returncode == 0, done.stderr
    what = f"{linked}/ is" if linked else "it is"
    assert done.stderr == f"warning: cache: {CACHE_FOLDER} not used: {what} a symbolic link\n"
    assert snapshot(victim) == before
    assert_untouched(book, victim)
    assert "only this" in (book / "dist" / "html" / "a.html").read_text("utf-8")


def test_the_clean_up_removes_only_entries_of_its_own(tmp_path: Path, victim: Path) -> None:
    root = tmp_path / CACHE_FOLDER
    cache = CacheFolder.open(root)
    assert cache is not None
    old, kept = cache.name("old"), cache.name("kept")
    cache.write(f"bodies/{old}.json", b"{}")
    cache.write(f"bodies/{kept}.json", b"{}")
    pieces = cache.folder(f"pieces/{old}")
    (pieces / "1.pdf").write_bytes(b"%PDF")
    cache.write(f"pieces/{old}/1.json", b"{}")
    (root / "bodies" / ("c" * 64 + ".json")).symlink_to(victim / ("a" * 64 + ".json"))
    (root / "bodies" / "notes.txt").write_text("mine", "utf-8")
    (pieces / "2.json").symlink_to(victim / "1.json")
    month_ago = time.time() - 60 * 86400
    for path in [*root.rglob("*.json"), *root.rglob("*.pdf"), root / "bodies" / "notes.txt"]:
        if not path.is_symlink():
            os.utime(path, (month_ago, month_ago))
    os.utime(root / "bodies" / f"{kept}.json")
    before = snapshot(victim)
    layout_cache = PieceCache(root)
    (root / "epub").symlink_to(victim)  # placed there after the cache was checked
    layout_cache.close()
    assert snapshot(victim) == before
    assert sorted(p.name for p in (root / "bodies").iterdir()) == sorted(
        [f"{kept}.json", "c" * 64 + ".json", "notes.txt"]
    )
    assert [p.name for p in pieces.iterdir()] == ["2.json"]


def _prunes(root: Path) -> bool:
    """Whether closing a layout cache at `root` walks it to prune it."""
    walked: list[Path] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PieceCache, "_prune", lambda self, at: walked.append(at))
        PieceCache(root).close()
    return walked == [root]


def test_the_clean_up_runs_once_a_day(tmp_path: Path) -> None:
    """Every entry is looked at by the clean-up (0.025 s of an edit of the stress book);
    entries are kept a month, so a build cleans up when its stamp is a day old."""
    root = tmp_path / CACHE_FOLDER
    cache = CacheFolder.open(root)
    assert cache is not None
    cache.write(f"bodies/{cache.name('one')}.json", b"{}")
    stamp = root / PRUNED
    assert _prunes(root) and stamp.is_file()
    assert not _prunes(root)
    for when in (time.time() - PRUNE_EVERY - 60, time.time() + 3600):  # a day ago, ahead
        os.utime(stamp, (when, when))
        assert _prunes(root)
        assert not _prunes(root)


def test_a_stamp_that_is_not_a_file_is_never_touched(tmp_path: Path, victim: Path) -> None:
    root = tmp_path / CACHE_FOLDER
    root.mkdir()
    before = snapshot(victim)
    (root / PRUNED).symlink_to(victim / "keep.txt")
    assert prune_due(root)
    stamp_pruned(root)
    assert prune_due(root)  # a link is no stamp: the clean-up runs, the link stays
    assert (root / PRUNED).is_symlink() and snapshot(victim) == before
    (root / PRUNED).unlink()
    os.mkfifo(root / PRUNED)
    with fails_if_longer_than(20):  # were it opened to wait for a reader
        stamp_pruned(root)
    assert prune_due(root)


# 3. Reads any path, hangs, exhausts memory.


def reseal_record(record: Path, change: dict[str, object], key: bytes) -> None:
    cache_root = next(p for p in record.parents if p.name == CACHE_FOLDER)
    place = str(record.relative_to(cache_root))
    data = json.loads(unseal(machine_key(), place, record.read_bytes()) or b"{}")
    record.write_bytes(seal(key, place, json.dumps(data | change).encode()))


@pytest.mark.parametrize("sealed_by", ["a forger", "this machine"])
def test_a_record_naming_files_elsewhere_reads_none_of_them(
    sealed_by: str, book: Path, victim: Path
) -> None:
    """Forged, the record is not read at all; sealed here (a CI cache shared with a
    hostile build, say), only regular files of the book and the theme are read."""
    first = make_book(book, "--format", "pdf")
    assert first.returncode == 0, first.stderr
    honest = (book / "dist" / "book.pdf").read_bytes()
    fifo = book / "images.fifo"
    os.mkfifo(fifo)
    outside = {"/etc/passwd": "0", "/dev/zero": "0", str(victim / "keep.txt"): "0"}
    key = OTHER_KEY if sealed_by == "a forger" else machine_key()
    for record in (book / CACHE_FOLDER / "pieces").glob("*/*.json"):
        reseal_record(record, {"files": outside | {str(fifo): "0"}}, key)
    (book / CACHE_FOLDER / "builds").rename(book / "old-builds")  # not up to date
    again = make_book(book, "--format", "pdf")
    assert again.returncode == 0, again.stderr
    assert (book / "dist" / "book.pdf").read_bytes() == honest
    assert_untouched(book, victim, Path("/etc/passwd"), Path("/dev/zero"))


def test_a_piece_linked_out_is_not_read(book: Path, victim: Path) -> None:
    make_book(book, "--format", "pdf")
    honest = (book / "dist" / "book.pdf").read_bytes()
    for piece in (book / CACHE_FOLDER / "pieces").glob("*/*.pdf"):
        (victim / piece.name).write_bytes(piece.read_bytes())
        piece.unlink()
        piece.symlink_to(victim / piece.name)
    (book / CACHE_FOLDER / "builds").rename(book / "old-builds")
    before = snapshot(victim)
    again = make_book(book, "--format", "pdf")
    assert again.returncode == 0, again.stderr
    assert (book / "dist" / "book.pdf").read_bytes() == honest
    assert snapshot(victim) == before
    assert_untouched(book, victim)


# 4. Forged pages.


def essay_pieces(book: Path) -> list[Path]:
    """The records of the book's essay pieces (the front matter is at folio 1)."""
    return [r for r in (book / CACHE_FOLDER / "pieces").glob("*/*.json") if r.stem != "1"]


@pytest.mark.parametrize("forgery", ["resealed", "moved"])
def test_forged_pages_never_reach_the_book(forgery: str, book: Path, tmp_path: Path) -> None:
    """A piece's PDF replaced by one with text in no source (another book's, laid out
    here), with its record and its join copy forged to match, or moved whole."""
    other = tmp_path / "other"
    shutil.copytree(book, other)
    (other / "chapters" / "a.md").write_text('---\ntitle: "Alpha"\n---\n\nNo source.\n')
    assert make_book(other, "--format", "pdf").returncode == 0
    first = make_book(book, "--format", "pdf")
    assert first.returncode == 0, first.stderr
    honest = (book / "dist" / "book.pdf").read_bytes()
    forged = essay_pieces(other)[0]
    for record in essay_pieces(book):
        for suffix in (".pdf", ".join", ".json"):
            record.with_suffix(suffix).write_bytes(forged.with_suffix(suffix).read_bytes())
        if forgery == "resealed":
            reseal_record(record, {}, OTHER_KEY)
            copy = record.with_suffix(".join")
            payload = copy.read_bytes().split(b"\n", 1)[1]
            copy.write_bytes(hashlib.sha256(payload).digest() + payload)  # the old seal
    (book / CACHE_FOLDER / "builds").rename(tmp_path / "old-builds")
    again = make_book(book, "--format", "pdf")
    assert again.returncode == 0, again.stderr
    assert (book / "dist" / "book.pdf").read_bytes() == honest


def test_a_forged_record_of_the_last_build_builds_again(book: Path, tmp_path: Path) -> None:
    """A folder that arrives with a dist/ and a record saying it is up to date."""
    first = make_book(book, "--format", "epub,html")
    assert first.returncode == 0, first.stderr
    epub = book / "dist" / "book.epub"
    honest = epub.read_bytes()
    epub.write_bytes(b"forged")
    for record in (book / CACHE_FOLDER / "builds").glob("*.json"):
        payload = record.read_bytes().split(b"\n", 1)[1]
        data = json.loads(payload)
        (named,) = [name for name in data["outputs"] if name.endswith("book.epub")]
        data["outputs"][named] = hashlib.sha256(b"forged").hexdigest()
        record.write_bytes(seal(OTHER_KEY, "builds/" + record.name, json.dumps(data).encode()))
    again = make_book(book, "--format", "epub,html")
    assert again.returncode == 0, again.stderr
    assert "up to date" not in again.stdout
    assert epub.read_bytes() == honest


# 5. An unusable cache.


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` made read-only: immutable for root (whom modes do not stop), else 0555."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("chattr +i is not allowed here")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)


@pytest.mark.parametrize("unusable", ["a file", "a fifo", "read-only", "read-only book"])
def test_an_unusable_cache_is_a_warning(unusable: str, book: Path, tmp_path: Path) -> None:
    cache = book / CACHE_FOLDER
    why = {
        "a file": "it is not a folder",
        "a fifo": "it is not a folder",
        "read-only": "it is read-only",
        "read-only book": "cannot be made: the book folder is read-only",
    }[unusable]
    if unusable == "a file":
        cache.write_text("", "utf-8")
    elif unusable == "a fifo":
        os.mkfifo(cache)
    else:
        cache.mkdir(exist_ok=unusable == "read-only")
        if unusable == "read-only book":
            cache.rmdir()
    out = tmp_path / "out"
    frozen = cache if unusable == "read-only" else book
    with read_only(frozen) if unusable.startswith("read-only") else contextlib.nullcontext():
        done = make_book(book, "--strict", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"warning: cache: {CACHE_FOLDER} not used: {why}\n"
    assert sorted(p.name for p in out.iterdir()) == ["book.epub", "book.pdf", "cover.pdf", "html"]


# The key.


def test_the_key_is_made_once_for_this_user_only(tmp_path: Path) -> None:
    path = key_file()
    key = machine_key()
    assert path.read_bytes() == key and len(key) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert machine_key() == key


def test_a_key_in_the_book_folder_is_not_used(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(book / "config"))
    assert CacheFolder.open(book / CACHE_FOLDER) is None
    monkeypatch.setenv("MAKE_BOOK_CACHE_KEY", "short")
    with pytest.raises(CacheUnusable, match="shorter than 32"):
        machine_key()


def test_a_ci_cache_is_used_only_with_its_secret(
    book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache restored in CI is used with the secret it was written with; with another
    (or none: a fork's pull request gets no secret) it is only missed, never read."""
    manifest, folder = book / "book.yaml", tmp_path / "restored"

    def misses(secret: str) -> int:
        monkeypatch.setenv("MAKE_BOOK_CACHE_KEY", secret)
        memo = ConversionMemo(folder)
        assemble(load_manifest(manifest), memo)
        count = len(memo.new)
        memo.keep()
        return count

    assert misses("s" * 40) == 1  # the essay, kept whole (memo.py)
    assert misses("s" * 40) == 0
    assert misses("t" * 40) == 1
    assert misses("") == 1  # the user's key file

"""`make-book clean`: the outputs and the cache removed, never a link's target, never the book."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from helpers import BookCopy, copy_book
from make_book.cache.folder import CACHE_FOLDER
from make_book.cli import main
from make_book.cli.clean import amount
from make_book.profiles import PROFILES


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(main, ["clean", *(str(a) for a in args)])


def make_folder(path: Path, files: dict[str, bytes]) -> Path:
    """A folder holding `files` (relative paths to their bytes)."""
    path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A copy of the small `titles` book with a dist/ (3 files, 3 kB) and a cache; its book.yaml."""
    manifest = copy_book("titles", tmp_path / "book")
    outputs = {"book.pdf": b"x" * 1000, "book.epub": b"y" * 2000, "html/c": b"z"}
    make_folder(manifest.parent / "dist", outputs)
    make_folder(manifest.parent / CACHE_FOLDER, {"bodies/e": b"1" * 10})
    return manifest


def sources(manifest: Path) -> dict[str, bytes]:
    """Every file of the book but its outputs and cache."""
    skip = {"dist", CACHE_FOLDER}
    return {
        str(p.relative_to(manifest.parent)): p.read_bytes()
        for p in sorted(manifest.parent.rglob("*"))
        if p.is_file() and p.relative_to(manifest.parent).parts[0] not in skip
    }


def test_clean_after_a_build_removes_what_it_made(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    before = sources(manifest)
    built = CliRunner().invoke(main, ["build", str(manifest), "--format", "html"])
    assert built.exit_code == 0, built.output
    assert (manifest.parent / "dist").is_dir() and (manifest.parent / CACHE_FOLDER).is_dir()
    result = run(manifest)
    assert result.exit_code == 0, result.output
    dist, cache = result.stdout.splitlines()
    assert dist.startswith(f"removed {manifest.parent / 'dist'}/ (")
    assert cache.startswith(f"removed {manifest.parent / CACHE_FOLDER}/ (")
    assert sorted(p.name for p in manifest.parent.iterdir()) == ["book.yaml", "chapters"]
    assert sources(manifest) == before


def test_clean_says_what_it_removed(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(book.parent)
    result = run()
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "removed dist/ (3 files, 3 kB)",
        f"removed {CACHE_FOLDER}/ (1 file, 10 B)",
    ]
    assert not (book.parent / "dist").exists()
    assert not (book.parent / CACHE_FOLDER).exists()


@pytest.mark.parametrize(("flag", "kept"), [("--dist", CACHE_FOLDER), ("--cache", "dist")])
def test_a_flag_removes_only_its_folder(book: Path, flag: str, kept: str) -> None:
    result = run(book, flag)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1
    assert (book.parent / kept).is_dir()
    assert not (book.parent / {"dist": CACHE_FOLDER, CACHE_FOLDER: "dist"}[kept]).exists()


def test_both_flags_remove_both(book: Path) -> None:
    assert run(book, "--dist", "--cache").exit_code == 0
    assert sorted(p.name for p in book.parent.iterdir()) == ["book.yaml", "chapters"]


def test_nothing_to_remove(book: Path) -> None:
    assert run(book).exit_code == 0
    result = run(book)
    assert result.exit_code == 0
    assert result.stdout == "nothing to remove\n"


def test_quiet_says_nothing(book: Path) -> None:
    result = run(book, "-q")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert not (book.parent / "dist").exists()


def test_out_names_the_outputs_folder(book: Path, tmp_path: Path) -> None:
    out = make_folder(tmp_path / "elsewhere", {"book.epub": b"e" * 310_000})
    result = run(book, "--dist", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"removed {out}/ (1 file, 310 kB)\n"
    assert not out.exists()
    assert (book.parent / "dist").is_dir()  # --out, not dist/


def test_files_in_out_that_make_book_did_not_write_are_kept(book: Path, tmp_path: Path) -> None:
    mine = {"notes.txt": b"mine", "photos/cat.jpg": b"cat", "book.pdf.bak": b"old"}
    out = make_folder(tmp_path / "Desktop", {**mine, "book.epub": b"e" * 1000, "html/i": b"h"})
    result = run(book, "--dist", env={"MAKE_BOOK_CLEAN_OUT": str(out)})  # as --out does
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"removed make-book's outputs from {out}/ (2 files, 1 kB)",
        f"kept {out}/: 2 files and 1 folder that make-book did not write",
    ]
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.*")} == mine
    assert (book.parent / "dist").is_dir()  # --out, not dist/


def test_only_files_make_book_did_not_write_is_nothing_to_remove(book: Path) -> None:
    dist = book.parent / "dist"
    assert run(book, "--dist").exit_code == 0
    make_folder(dist, {"a.txt": b"", "b.txt": b""})
    result = run(book, "--dist", "--out", dist)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"kept {dist}/: 2 files that make-book did not write",
        "nothing to remove",
    ]
    assert sorted(p.name for p in dist.iterdir()) == ["a.txt", "b.txt"]


def test_an_empty_out_folder_is_removed(book: Path, tmp_path: Path) -> None:
    out = make_folder(tmp_path / "empty", {})
    result = run(book, "--dist", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"removed {out}/ (0 files, 0 B)\n"
    assert not out.exists()


def test_what_a_killed_build_left_is_removed(book: Path, tmp_path: Path) -> None:
    leftovers = {
        ".book.pdf.k3x9q2ab.part": b"half",  # a temporary file (publish/atomic.py)
        ".epub-abcd_123/mimetype": b"m",  # renderers' scratch folders
        ".html-0a1b2c3d/index.html": b"i",
        ".make-book-staging-zzzzzzzz/book.pdf": b"p",
        ".html-old-k3x9q2ab/html/index.html": b"o",  # a folder parked aside
        ".html-old/index.html": b"o",  # make-book 0.1's
    }
    out = make_folder(tmp_path / "out", {**leftovers, ".book.pdf.part": b"mine", ".x-1": b""})
    result = run(book, "--dist", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"removed make-book's outputs from {out}/ (6 files, 9 B)",
        f"kept {out}/: 2 files that make-book did not write",  # not named as leftovers are
    ]
    assert sorted(p.name for p in out.iterdir()) == [".book.pdf.part", ".x-1"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_s_pdf_and_cover_are_removed(book: Path, profile: str) -> None:
    dist = book.parent / "dist"
    names = [PROFILES[profile].file_name(stem) for stem in ("book", "cover")]
    make_folder(dist, {name: b"%PDF" for name in names})
    assert run(book, "--dist").exit_code == 0
    assert not dist.exists()


def test_a_report_goes_only_if_it_is_make_book_s(book: Path, tmp_path: Path) -> None:
    report = {"make_book": "0.3", "outputs": []}
    ours = make_folder(tmp_path / "ours", {"report.json": json.dumps(report).encode()})
    assert run(book, "--dist", "--out", ours).stdout == f"removed {ours}/ (1 file, 35 B)\n"
    assert not ours.exists()
    for text in (b'{"name": "my data"}', b"", b"[" * 100_000, b"\xff not json"):
        theirs = make_folder(tmp_path / "theirs", {"report.json": text})
        result = run(book, "--dist", "--out", theirs)
        assert result.exit_code == 0, result.output
        assert "1 file that make-book did not write" in result.stdout
        assert (theirs / "report.json").read_bytes() == text
    (theirs / "report.json").unlink()
    (theirs / "report.json").symlink_to(tmp_path / "ours-elsewhere.json")  # never read through
    (tmp_path / "ours-elsewhere.json").write_text(json.dumps(report), encoding="utf-8")
    assert "1 file that make-book did not write" in run(book, "--dist", "--out", theirs).stdout
    assert os.path.islink(theirs / "report.json")


def test_an_output_s_name_on_something_else_is_kept(book: Path, tmp_path: Path) -> None:
    out = make_folder(tmp_path / "out", {"book.pdf/mine.txt": b"a folder", "html": b"a file"})
    result = run(book, "--dist", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        f"kept {out}/: 1 file and 1 folder that make-book did not write"
    )
    assert (out / "book.pdf" / "mine.txt").is_file() and (out / "html").is_file()


def test_a_build_into_a_folder_of_the_user_s_then_clean_keeps_the_user_s(
    book_copy: BookCopy, tmp_path: Path
) -> None:
    manifest = book_copy("titles")
    desktop = make_folder(tmp_path / "Desktop", {"todo.md": b"# mine", "work/plan.md": b"x"})
    report = desktop / "report.json"
    built = CliRunner().invoke(
        main,
        [
            "build",
            str(manifest),
            "--format",
            "html",
            "--out",
            str(desktop),
            "--report",
            str(report),
        ],
    )
    assert built.exit_code == 0, built.output
    assert (desktop / "html").is_dir() and report.is_file()
    result = run(manifest, "--dist", "--out", desktop)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == (
        f"kept {desktop}/: 1 file and 1 folder that make-book did not write"
    )
    assert sorted(p.relative_to(desktop).as_posix() for p in desktop.rglob("*")) == [
        "todo.md",
        "work",
        "work/plan.md",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="builds hold their folder with flock")
def test_clean_waits_for_a_build_writing_into_the_folder(book: Path) -> None:
    import fcntl

    dist = book.parent / "dist"
    running = os.open(dist, os.O_RDONLY)  # as publish/atomic.py: claim_output_folder holds it
    fcntl.flock(running, fcntl.LOCK_EX)
    (dist / ".book.pdf.k3x9q2ab.part").write_bytes(b"being written")
    released = threading.Event()

    def finish() -> None:  # the build ends: its temporary file renamed into place
        os.replace(dist / ".book.pdf.k3x9q2ab.part", dist / "book.pdf")
        released.set()
        os.close(running)

    timer = threading.Timer(0.5, finish)
    timer.start()
    try:
        result = run(book, "--dist")
    finally:
        timer.join()
    assert result.exit_code == 0, result.output
    assert released.is_set()
    assert result.stderr == f"note: waiting for a make-book build into {dist}/\n"
    assert result.stdout == f"removed {dist}/ (3 files, 2 kB)\n"  # the renamed file with it
    assert not dist.exists()


def test_a_linked_dist_is_unlinked_and_its_target_kept(book: Path, tmp_path: Path) -> None:
    elsewhere = make_folder(tmp_path / "precious", {"keep.txt": b"mine", "sub/deep.txt": b"mine"})
    dist = book.parent / "dist"
    make_folder(tmp_path / "trash", {})  # the book's dist moved out of the way
    dist.rename(tmp_path / "trash" / "dist")
    dist.symlink_to(elsewhere)
    result = run(book, "--dist")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout == f"removed {dist} (a symbolic link: only the link, not what it points to)\n"
    )
    assert not os.path.lexists(dist)
    assert (elsewhere / "keep.txt").read_bytes() == b"mine"
    assert (elsewhere / "sub" / "deep.txt").read_bytes() == b"mine"


def test_a_linked_cache_is_unlinked_even_when_it_points_at_the_book(book: Path) -> None:
    cache = book.parent / CACHE_FOLDER
    before = sources(book)
    make_folder(book.parent / "old", {})
    cache.rename(book.parent / "old" / "cache")
    cache.symlink_to(".")  # the book folder itself
    result = run(book, "--cache")
    assert result.exit_code == 0, result.output
    assert "a symbolic link" in result.stdout
    assert not os.path.lexists(cache)
    assert sources(book) == {**before, "old/cache/bodies/e": b"1" * 10}


def test_links_inside_dist_are_removed_not_followed(book: Path, tmp_path: Path) -> None:
    precious = make_folder(tmp_path / "precious", {"keep.txt": b"mine", "html/i": b"mine"})
    dist = book.parent / "dist"
    (dist / "html" / "to-folder").symlink_to(precious)
    (dist / "html" / "to-book").symlink_to(book.parent)
    (dist / "book.pdf").unlink()
    (dist / "book.pdf").symlink_to(precious / "keep.txt")  # an output's name: unlinked
    (dist / "offprints").symlink_to(precious / "html")
    (dist / "to-book").symlink_to(book.parent)  # not an output's name: kept, not followed
    before = sources(book)
    result = run(book, "--dist")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"removed make-book's outputs from {dist}/ (6 files, 2 kB)",
        f"kept {dist}/: 1 file that make-book did not write",
    ]
    assert [p.name for p in dist.iterdir()] == ["to-book"]
    assert os.path.islink(dist / "to-book")
    assert (precious / "keep.txt").read_bytes() == b"mine"
    assert (precious / "html" / "i").read_bytes() == b"mine"
    assert sources(book) == before


def test_out_may_be_the_cache_folder(book: Path) -> None:
    result = run(book, "--out", book.parent / CACHE_FOLDER)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1  # removed once
    assert (book.parent / "dist").is_dir()


def assert_refused(result: Result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [message]
    assert result.stdout == ""
    assert "Traceback" not in result.output


@pytest.mark.parametrize("out", [".", "..", "chapters/..", "../book"])
def test_the_book_folder_and_those_above_it_are_refused(
    book: Path, monkeypatch: pytest.MonkeyPatch, out: str
) -> None:
    monkeypatch.chdir(book.parent)
    before = sources(book)
    result = run("--out", out)
    assert_refused(
        result, f"error: --out '{out}': not removed: it is the book folder or a folder above it"
    )
    assert sources(book) == before
    assert (book.parent / CACHE_FOLDER).is_dir()  # refused before anything is removed


def test_the_book_folder_by_its_absolute_path_is_refused_and_a_link_to_it_unlinked(
    book: Path, tmp_path: Path
) -> None:
    for out in (book.parent, tmp_path, book.parent / "chapters" / ".."):
        result = run(book, "--out", out)
        assert result.exit_code == 2, (out, result.output)
        assert "it is the book folder or a folder above it" in result.stderr
    link = tmp_path / "link-to-book"
    for written in (str(link), f"{link}/", f"{link}/."):  # the link goes, never the book
        link.unlink(missing_ok=True)
        link.symlink_to(book.parent)
        result = run(book, "--dist", "--out", written)
        assert result.exit_code == 0, (written, result.output)
        assert "a symbolic link: only the link" in result.stdout
        assert not os.path.lexists(link)
    assert book.is_file() and (book.parent / "dist").is_dir()


def test_a_folder_holding_the_manifest_through_a_link_is_refused(book: Path) -> None:
    dist = book.parent / "dist"
    (dist / "book.yaml").write_bytes(book.read_bytes())
    book.unlink()
    book.symlink_to("dist/book.yaml")
    result = run(book)
    assert_refused(result, f"error: {dist}: not removed: it holds the book's manifest, {book}")
    assert (dist / "book.yaml").is_file()


def test_a_folder_of_sources_is_refused(book: Path) -> None:
    before = sources(book)
    result = run(book, "--out", book.parent / "chapters")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --out '{book.parent / 'chapters'}': not removed: ")
    assert "which book.yaml names" in result.stderr
    assert sources(book) == before


def test_a_source_reached_through_a_link_into_dist_is_refused(book: Path) -> None:
    chapters = book.parent / "chapters"
    chapters.rename(book.parent / "dist" / "chapters")
    chapters.symlink_to("dist/chapters")
    result = run(book, "--dist")
    assert result.exit_code == 2
    assert "which book.yaml names" in result.stderr
    assert (book.parent / "dist" / "chapters").is_dir()


@pytest.mark.parametrize("theme", ["templates", "styles"])
def test_the_theme_folders_are_refused(book: Path, theme: str) -> None:
    folder = make_folder(book.parent / theme / "inner", {"page.html": b"<p>"})
    for out in (folder.parent, folder):
        result = run(book, "--out", out)
        assert_refused(
            result,
            f"error: --out '{out}': not removed: it is in {theme}/,"
            " where every file is part of the book's theme",
        )
    assert (folder / "page.html").is_file()


def test_a_file_in_place_of_dist_is_not_removed(book: Path) -> None:
    dist = book.parent / "dist"
    make_folder(book.parent / "old", {})
    dist.rename(book.parent / "old" / "dist")
    dist.write_text("not an output folder", encoding="utf-8")
    result = run(book)
    assert_refused(result, f"error: {dist}: not removed: it is not a folder")
    assert dist.read_text(encoding="utf-8") == "not an output folder"
    assert (book.parent / CACHE_FOLDER).is_dir()


@pytest.mark.parametrize(
    "text",
    [
        "title: [unclosed\n",
        "\x00\x01 not yaml at all",
        "[" * 10_000,
        "a: &x [*x]\n",
        "just a string\n",
        "",
    ],
)
def test_a_broken_manifest_is_still_cleaned(book: Path, text: str) -> None:
    book.write_text(text, encoding="utf-8")
    result = run(book)
    assert result.exit_code == 0, result.output
    assert not (book.parent / "dist").exists()
    assert not (book.parent / CACHE_FOLDER).exists()
    refused = run(book, "--out", book.parent)  # and still guarded
    assert refused.exit_code == 2


def test_a_manifest_that_is_a_fifo_is_not_waited_on(book: Path) -> None:
    book.unlink()
    os.mkfifo(book)
    result = run(book)
    assert result.exit_code == 0, result.output
    assert not (book.parent / "dist").exists()


def test_a_missing_manifest_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_folder(tmp_path / "dist", {"f": b""})
    monkeypatch.chdir(tmp_path)
    result = run()
    assert_refused(result, "error: book.yaml: no such file")
    assert (tmp_path / "dist" / "f").exists()


def test_a_folder_that_cannot_be_removed_is_one_line(
    book: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("make_book.cli.clean.shutil.rmtree", refuse)  # as a read-only folder
    result = run(book)
    dist = book.parent / "dist"
    assert_refused(result, f"error: {dist}: cannot remove html: Permission denied")
    assert (book.parent / CACHE_FOLDER).is_dir()


def test_an_outputs_folder_that_cannot_be_listed_is_one_line(
    book: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = book.parent / "dist"
    scandir = os.scandir

    def unreadable(path: object) -> object:  # as a folder without read permission
        if path == dist:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr("make_book.cli.clean.os.scandir", unreadable)
    result = run(book)
    assert_refused(result, f"error: {dist}: cannot remove it: Permission denied")
    assert (dist / "book.pdf").is_file()  # not "nothing to remove"


def nest(folder: Path, depth: int) -> None:
    """`folder`/a/a/…/a, `depth` deep (made through file descriptors: the path is too long)."""
    fd = os.open(folder, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("a", dir_fd=fd)
        inner = os.open("a", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)


def unnest(folder: Path) -> None:
    """Undo nest() one level at a time (rmtree would recurse as deep)."""
    while (folder / "a" / "a").is_dir():
        os.rename(folder / "a" / "a", folder / "b")
        os.rmdir(folder / "a")
        os.rename(folder / "b", folder / "a")
    if (folder / "a").is_dir():
        os.rmdir(folder / "a")


def test_a_folder_nested_very_deep_is_removed_or_one_line(book: Path) -> None:
    dist = book.parent / "dist"
    deep = make_folder(dist / "html" / "deep", {})
    nest(deep, 1500)
    try:
        result = run(book, "--dist")
    finally:
        if deep.exists():
            unnest(deep)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code:  # Python 3.11's rmtree recurses
        assert_refused(result, f"error: {dist}: cannot remove html: folders nested too deep")
    else:
        assert not dist.exists()


@pytest.mark.parametrize(
    ("files", "size", "said"),
    [
        (0, 0, "0 files, 0 B"),
        (1, 999, "1 file, 999 B"),
        (3, 310_400, "3 files, 310 kB"),
        (12, 2_345_678, "12 files, 2.3 MB"),
        (40_000, 5_600_000_000, "40000 files, 5.6 GB"),
    ],
)
def test_amounts(files: int, size: int, said: str) -> None:
    assert amount(files, size) == said


def test_schema_takes_q_and_v_as_every_command_does() -> None:
    plain = CliRunner().invoke(main, ["schema"])
    for flag in ("-q", "-v", "--quiet"):
        result = CliRunner().invoke(main, ["schema", flag])
        assert result.exit_code == 0, result.output
        assert result.stdout == plain.stdout  # the schema is what was asked for: still printed

"""`make-book clean`: remove the outputs and the cache, never the book itself.

The cache (.make-book-cache/) is make-book's own, and goes whole. The outputs folder
(dist/, or --out) may well hold files of the user's (`build --out ~/Desktop`), so only
what make-book writes there goes: the PDFs of every profile (book*.pdf, cover*.pdf),
book.epub, html/, offprints/, a report.json that is make-book's, and what a killed build
leaves (publish/atomic.py: is_leftover_name). The folder itself goes only if that leaves
it empty; anything else is kept, and said in one line. While it removes, clean holds the
folder as a build does, so a running build's temporary files are not taken for a killed
one's: it waits for that build to end.

Book folders come from others, so removing is careful. A link is never followed: a
dist/ or cache folder that is a symbolic link is unlinked, and whatever it points to is
left as it is; an output's name that is a link is unlinked, and links inside a removed
folder are removed, not followed (shutil.rmtree does not follow them). A folder is
refused (exit 2, before anything is removed) if it is the book folder or a folder above
it, holds book.yaml, is in the theme's templates/ or styles/, or holds a file book.yaml
names. book.yaml is read leniently for those names only: a broken book can still be
cleaned, and one that cannot be read at all names nothing (the other checks still hold).
What only the essays name (their images) is not known without reading them, and clean
reads no essay.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from make_book.cache.folder import CACHE_FOLDER
from make_book.cli.app import EPILOG, main, manifest_argument, say, verbosity
from make_book.cli.reports import Found, found_at
from make_book.errors import InputError
from make_book.profiles import PROFILES
from make_book.publish.atomic import is_leftover_name

# Every file in these is part of the book's theme (source/assemble.py: theme_dirs).
THEME_FOLDERS = ("templates", "styles")

# What a build writes into its outputs folder, by name: the PDF and the wrap cover of
# every profile (book.pdf, book-kdp.pdf…, cover.pdf, cover-kdp.pdf…), the EPUB, and the
# folders of the web edition and of the offprints.
OUTPUT_FILES = frozenset(
    {p.file_name(stem) for p in PROFILES.values() for stem in ("book", "cover")} | {"book.epub"}
)
OUTPUT_FOLDERS = frozenset({"html", "offprints"})
REPORT = "report.json"  # build --report's usual name: removed only if it is make-book's
LINK_ONLY = "a symbolic link: only the link, not what it points to"


@dataclass(frozen=True)
class Target:
    """A folder to remove: as the command line (or the default) names it, and where it is."""

    shown: Path
    entry: Path  # its folder resolved, its own name not: a link stays a link
    label: str  # how an error names it
    whole: bool  # make-book's own folder (the cache), removed whole; else only its outputs

    @classmethod
    def at(cls, path: Path, option: str = "", *, whole: bool = False) -> Target:
        """The target named `path` (by `option`, if the command line named it)."""
        label = f"{option} '{path}'" if option else str(path)
        return cls(path, _entry(path), label, whole)


@main.command(epilog=EPILOG)
@manifest_argument
@click.option("--cache", is_flag=True, help=f"Remove the cache ({CACHE_FOLDER}/ beside book.yaml).")
@click.option(
    "--dist",
    is_flag=True,
    help="Remove the outputs (in dist/, or --out): only what make-book wrote.",
)
@click.option(
    "--out",  # set by MAKE_BOOK_CLEAN_OUT: named after the flag (app.name_environment)
    type=click.Path(file_okay=False, path_type=Path),
    help="The outputs folder (default: dist/ beside book.yaml).",
)
@verbosity
def clean(manifest: Path, cache: bool, dist: bool, out: Path | None) -> None:
    """Remove the outputs (dist/) and the cache of MANIFEST (default ./book.yaml).

    Both unless --dist or --cache names one. Of the outputs folder only what make-book
    writes there goes, and the folder itself if that leaves it empty. A folder that is a
    symbolic link is unlinked; what it points to is left as it is.
    """
    _check_manifest(manifest)
    targets = _targets(manifest, cache, dist, out)
    guard = Guard(manifest)
    for target in targets:  # every refusal before anything is removed
        guard.refuse_unsafe(target)
    removed = False
    for target in targets:
        gone, kept = remove(target)
        for line in (gone, kept):  # at once: if the next one fails, this one is still said
            if line:
                say(line)
        removed = removed or bool(gone)
    if not removed:
        say("nothing to remove")


def _targets(manifest: Path, cache: bool, dist: bool, out: Path | None) -> list[Target]:
    """The folders asked for: both when neither flag is given."""
    targets = []
    if dist or not cache:
        default = Target.at(manifest.parent / "dist")
        targets.append(default if out is None else Target.at(out, "--out"))
    if cache or not dist:
        targets.append(Target.at(manifest.parent / CACHE_FOLDER, whole=True))
    # --out may name the cache: it is then the cache, removed once (and whole)
    return list({t.entry: t for t in targets}.values())


def _check_manifest(manifest: Path) -> None:
    """The manifest must be there: it says which folder is the book's."""
    if not os.path.lexists(manifest):
        raise InputError(f"{manifest}: no such file")


class Guard:
    """What must survive a clean: the book folder and what is above it, book.yaml, the
    theme's folders and the files book.yaml names, each as named and as really placed."""

    def __init__(self, manifest: Path) -> None:
        folder = manifest.parent
        self.book = {_real(folder), Path(os.path.abspath(folder))}
        self.manifest = manifest
        self.manifest_at = {_entry(manifest), _real(manifest), Path(os.path.abspath(manifest))}
        self.themes = {name: _real(folder / name) for name in THEME_FOLDERS}
        self.named = {name: _reached(folder, name) for name in _named_in(manifest)}

    def refuse_unsafe(self, target: Target) -> None:
        """Raise InputError if removing `target` could remove any of the book."""
        why = self.why_unsafe(target.entry) or _why_not_a_folder(target.entry)
        if why:
            raise InputError(f"{target.label}: not removed: {why}")

    def why_unsafe(self, entry: Path) -> str:
        """Why removing the folder at `entry` would remove part of the book ("" if not)."""
        if any(entry == book or entry in book.parents for book in self.book):
            return "it is the book folder or a folder above it"
        if any(_inside(path, entry) for path in self.manifest_at):
            return f"it holds the book's manifest, {self.manifest}"
        for name, theme in self.themes.items():
            if entry == theme or theme in entry.parents:
                return f"it is in {name}/, where every file is part of the book's theme"
        for name, places in self.named.items():
            if any(_inside(path, entry) for path in places):
                return f"it holds '{name}', which book.yaml names"
        return ""


def remove(target: Target) -> tuple[str, str]:
    """Remove the target (a link only as a link; of an outputs folder only the outputs) and
    say what went and what was kept ("" for each if the target is missing)."""
    try:
        try:
            mode = os.lstat(target.entry).st_mode
        except FileNotFoundError:
            return "", ""
        if stat.S_ISLNK(mode):
            os.unlink(target.entry)
            return f"removed {target.shown} ({LINK_ONLY})", ""
        if not target.whole:
            return _remove_outputs(target)
        files, size = tally(target.entry)
        # rmtree refuses a folder that became a link meanwhile, and follows no link inside.
        shutil.rmtree(target.entry)
    except OSError as error:
        raise InputError(f"{target.label}: cannot remove it: {_reason(error)}") from None
    except RecursionError:  # Python 3.11's rmtree recurses: a hostile folder nests deeper
        raise InputError(f"{target.label}: cannot remove it: folders nested too deep") from None
    return f"removed {target.shown}/ ({amount(files, size)})", ""


def _remove_outputs(target: Target) -> tuple[str, str]:
    """Remove what make-book wrote in the outputs folder, then the folder if it is left
    empty; say what went, and what was kept."""
    with _held(target):
        with os.scandir(target.entry) as listing:  # unreadable: an error, not "nothing"
            entries = sorted(listing, key=lambda entry: entry.name)
        ours: list[os.DirEntry[str]] = []
        theirs: list[os.DirEntry[str]] = []
        for entry in entries:
            (ours if is_output(entry) else theirs).append(entry)
        files = size = 0
        for entry in ours:
            more, bytes_ = _remove_entry(target, entry)
            files, size = files + more, size + bytes_
        gone = not theirs and _remove_if_empty(target.entry)
    if gone:
        said = f"removed {target.shown}/ ({amount(files, size)})"
    else:
        said = f"removed make-book's outputs from {target.shown}/ ({amount(files, size)})"
    kept = f"kept {target.shown}/: {_kinds(theirs)} that make-book did not write" if theirs else ""
    return (said if gone or ours else ""), kept


def is_output(entry: os.DirEntry[str]) -> bool:
    """Whether a build writes `entry` (of an outputs folder), or leaves it when killed. An
    output's name that is a link is make-book's to unlink (a build would replace it)."""
    name = entry.name
    try:
        if is_leftover_name(name):
            return True
        if name in OUTPUT_FILES:
            return entry.is_symlink() or entry.is_file(follow_symlinks=False)
        if name in OUTPUT_FOLDERS:
            return entry.is_symlink() or entry.is_dir(follow_symlinks=False)
    except OSError:  # gone meanwhile: nothing to remove
        return False
    return name == REPORT and found_at(Path(entry.path), follow_links=False) is Found.REPORT


def _remove_entry(target: Target, entry: os.DirEntry[str]) -> tuple[int, int]:
    """Remove one output (a link as a link, a folder with all it holds); its files and bytes."""
    path = Path(entry.path)
    try:
        if entry.is_dir(follow_symlinks=False):
            counted = tally(path)
            shutil.rmtree(path)  # refuses a folder that became a link meanwhile
            return counted
        size = entry.stat(follow_symlinks=False).st_size
        os.unlink(path)
    except FileNotFoundError:
        return 0, 0  # gone meanwhile
    except OSError as error:
        message = f"cannot remove {entry.name}: {_reason(error)}"
        raise InputError(f"{target.label}: {message}") from None
    except RecursionError:  # Python 3.11's rmtree recurses: a hostile folder nests deeper
        message = f"cannot remove {entry.name}: folders nested too deep"
        raise InputError(f"{target.label}: {message}") from None
    return 1, size


def _remove_if_empty(folder: Path) -> bool:
    """Remove `folder` if it is empty; whether it went (a file put there meanwhile stays)."""
    try:
        os.rmdir(folder)
    except FileNotFoundError:
        return True
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise
    return True


@contextlib.contextmanager
def _held(target: Target) -> Iterator[None]:
    """Hold the outputs folder as a build does (publish/atomic.py: claim_output_folder): a
    running build's temporary files look like a killed one's, so clean waits for it."""
    if sys.platform == "win32":  # no flock: builds hold nothing either
        yield
        return
    import fcntl

    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY  # never through a link
    folder = os.open(target.entry, flags)
    try:
        try:
            fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            click.echo(f"note: waiting for a make-book build into {target.shown}/", err=True)
            fcntl.flock(folder, fcntl.LOCK_EX)
        except OSError:  # a file system without locks: as a build does, go on
            pass
        yield
    finally:
        os.close(folder)


def _kinds(entries: list[os.DirEntry[str]]) -> str:
    """`2 files`, `1 folder`, `3 files and 1 folder`: what `entries` are (a link is a file)."""
    folders = sum(1 for entry in entries if _is_folder(entry))
    files = len(entries) - folders
    parts = [
        f"{count} {kind}{'' if count == 1 else 's'}"
        for count, kind in ((files, "file"), (folders, "folder"))
        if count
    ]
    return " and ".join(parts)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _reason(error: OSError) -> str:
    return str(error.strerror or error)


def tally(folder: Path) -> tuple[int, int]:
    """The number of files under `folder` and their bytes, no link followed (a link or
    anything else that is not a folder counts as a file, of its own size)."""
    files = size = 0
    pending = [folder]  # a loop, not recursion: a hostile folder may nest very deep
    while pending:
        for entry in _listing(pending.pop()):
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                else:
                    files += 1
                    size += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue  # gone meanwhile: nothing to count
    return files, size


def amount(files: int, size: int) -> str:
    """`3 files, 310 kB`: a count and a size in decimal units, as file managers say them."""
    count = f"{files} file{'' if files == 1 else 's'}"
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{count}, {size / scale:.{0 if unit == 'kB' else 1}f} {unit}"
    return f"{count}, {size} B"


def _listing(folder: Path) -> list[os.DirEntry[str]]:
    """The entries of `folder` (none if it cannot be listed)."""
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:
        return []


def _why_not_a_folder(entry: Path) -> str:
    """Only a folder or a link is removed: a file named dist is not an output folder."""
    try:
        mode = os.lstat(entry).st_mode
    except OSError:
        return ""  # missing: nothing to remove
    return "" if stat.S_ISDIR(mode) or stat.S_ISLNK(mode) else "it is not a folder"


def _named_in(manifest: Path) -> list[str]:
    """Every string in book.yaml that could be a relative path, read leniently: the
    book need not be valid, and one that cannot be read names nothing."""
    text = _manifest_text(manifest)
    if text is None:
        return []
    import yaml

    # Only now, as the other commands do: make-book's start-up stays short.
    from make_book.source.essay_files import BoundedLoader

    try:
        loader = BoundedLoader(text)  # its depth limit keeps a deep nesting off the stack
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except (yaml.YAMLError, ValueError):  # a character YAML refuses is found at once
        return []
    return [s for s in _strings(root) if s and "\0" not in s and not os.path.isabs(s)]


def _manifest_text(manifest: Path) -> str | None:
    """book.yaml's text if it is a regular file no larger than a manifest may be (a FIFO
    is not waited on, a device not read)."""
    from make_book.source.manifest import MAX_MANIFEST_BYTES

    try:
        fd = os.open(manifest, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            data = stream.read(MAX_MANIFEST_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_MANIFEST_BYTES:
        return None
    return data.decode("utf-8-sig", errors="replace")


def _strings(root: object) -> Iterator[str]:
    """The string scalars under a YAML node, each node visited once (aliases repeat them)."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            yield str(node.value)
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, MappingNode):
            pending.extend(value for _, value in node.value)


def _reached(folder: Path, name: str) -> set[Path]:
    """Every place the path `name` in the book folder reaches: as written, its folder
    resolved, and resolved whole (a link in the book folder cannot hide a source)."""
    path = folder / name
    return {Path(os.path.abspath(path)), _entry(path), _real(path)}


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path` is in `folder` (at any depth)."""
    return folder in path.parents


def _entry(path: Path) -> Path:
    """Where a name is in the file system: its folder resolved, the name itself not (so a
    link is seen as a link). `.` and `..` are no names: they are resolved whole."""
    if path.name in ("", ".", ".."):
        return _real(path)
    return _real(path.parent) / path.name


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))

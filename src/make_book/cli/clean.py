"""`make-book clean`: remove the outputs folder and the cache, never the book itself.

Book folders come from others, so removing is careful. A link is never followed: a
dist/ or cache folder that is a symbolic link is unlinked, and whatever it points to is
left as it is; links inside a removed folder are removed, not followed (shutil.rmtree
does not follow them). A folder is refused (exit 2, before anything is removed) if it is
the book folder or a folder above it, holds book.yaml, is in the theme's templates/ or
styles/, or holds a file book.yaml names. book.yaml is read leniently for those names
only: a broken book can still be cleaned, and one that cannot be read at all names
nothing (the other checks still hold). What only the essays name (their images) is not
known without reading them, and clean reads no essay.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from make_book.cache.folder import CACHE_FOLDER
from make_book.cli.app import EPILOG, main, manifest_argument, say, verbosity
from make_book.errors import InputError

# Every file in these is part of the book's theme (source/assemble.py: theme_dirs).
THEME_FOLDERS = ("templates", "styles")


@dataclass(frozen=True)
class Target:
    """A folder to remove: as the command line (or the default) names it, and where it is."""

    shown: Path
    entry: Path  # its folder resolved, its own name not: a link stays a link
    label: str  # how an error names it

    @classmethod
    def at(cls, path: Path, option: str = "") -> Target:
        """The target named `path` (by `option`, if the command line named it)."""
        return cls(path, _entry(path), f"{option} '{path}'" if option else str(path))


@main.command(epilog=EPILOG)
@manifest_argument
@click.option("--cache", is_flag=True, help=f"Remove the cache ({CACHE_FOLDER}/ beside book.yaml).")
@click.option("--dist", is_flag=True, help="Remove the outputs folder (dist/, or --out).")
@click.option(
    "--out",  # named `out`, so that MAKE_BOOK_CLEAN_OUT sets it (click names the variable
    # after the parameter, not after the option)
    type=click.Path(file_okay=False, path_type=Path),
    help="The outputs folder to remove (default: dist/ beside book.yaml).",
)
@verbosity
def clean(manifest: Path, cache: bool, dist: bool, out: Path | None) -> None:
    """Remove the outputs (dist/) and the cache of MANIFEST (default ./book.yaml).

    Both unless --dist or --cache names one. A folder that is a symbolic link is
    unlinked; what it points to is left as it is.
    """
    _check_manifest(manifest)
    targets = _targets(manifest, cache, dist, out)
    guard = Guard(manifest)
    for target in targets:  # every refusal before anything is removed
        guard.refuse_unsafe(target)
    removed = False
    for target in targets:
        said = remove(target)
        if said:  # at once: if the next one fails, this one is still said
            say(said)
            removed = True
    if not removed:
        say("nothing to remove")


def _targets(manifest: Path, cache: bool, dist: bool, out: Path | None) -> list[Target]:
    """The folders asked for: both when neither flag is given."""
    targets = []
    if dist or not cache:
        default = Target.at(manifest.parent / "dist")
        targets.append(default if out is None else Target.at(out, "--out"))
    if cache or not dist:
        targets.append(Target.at(manifest.parent / CACHE_FOLDER))
    return list({t.entry: t for t in targets}.values())  # --out may name the cache


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


def remove(target: Target) -> str:
    """Remove the target (a link only as a link) and say what went; "" if it is missing."""
    try:
        mode = os.lstat(target.entry).st_mode
    except FileNotFoundError:
        return ""
    try:
        if stat.S_ISLNK(mode):
            os.unlink(target.entry)
            return f"removed {target.shown} (a symbolic link: only the link, not what it points to)"
        files, size = tally(target.entry)
        # rmtree refuses a folder that became a link meanwhile, and follows no link inside.
        shutil.rmtree(target.entry)
    except OSError as error:
        raise InputError(f"{target.label}: cannot remove it: {error.strerror or error}") from None
    except RecursionError:  # Python 3.11's rmtree recurses: a hostile folder nests deeper
        raise InputError(f"{target.label}: cannot remove it: folders nested too deep") from None
    return f"removed {target.shown}/ ({amount(files, size)})"


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

"""The cache folder, used as make-book's own or not at all.

The folder and its subfolders must be real folders (a symbolic link among them is never
followed: the cache is not used), entries are read only if they are regular files
sealed with this machine's key (trust.py), written under a temporary name that is never
a link and renamed, and only what is named and placed as an entry is ever removed. A
cache that cannot be used is one warning line, and the build goes on without it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from make_book.cache.files import NOFOLLOW, read_regular
from make_book.cache.trust import (
    KEY_VARIABLE,
    TAG_LENGTH,
    CacheUnusable,
    existing_machine_key,
    key_file,
    machine_key,
    name_of,
    seal,
    unseal,
)

log = logging.getLogger(__name__)

CACHE_FOLDER = ".make-book-cache"
KINDS = ("converted", "bodies", "essays", "epub", "epub-zip", "templates", "pieces", "builds")
REMEMBERED = tuple(kind for kind in KINDS if kind != "pieces")  # pieces: piece_cache.py
ENTRY_LIMIT = 256 * 1024 * 1024  # an essay's page is far less; a bigger entry is not ours
ENTRY_NAME = re.compile(r"[0-9a-f]{64}(\.json)?")  # what name_of gives, and the old sha256s
LEFTOVER_NAME = re.compile(r"\.[0-9a-f]{64}(\.json)?\.[0-9]+\.tmp")  # of a killed build
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | NOFOLLOW
# The clean-up's stamp: an empty file whose time says when the cache was last pruned. The
# clean-up walks every entry (0.025 s of an edit's second, for the stress book); entries
# are kept a month, so once a day is soon enough.
PRUNED = "pruned"
PRUNE_EVERY = 86400  # seconds
_STAMP = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_STAMP |= NOFOLLOW
_said: set[tuple[str, str]] = set()  # warnings given in this process: each is said once


@dataclass
class CacheFolder:
    """A checked cache folder and the key its entries are sealed with."""

    root: Path
    key: bytes
    checked: set[Path] = field(default_factory=set)  # folders found (or made) real

    @classmethod
    def open(cls, root: Path | None) -> CacheFolder | None:
        """The cache at `root` (made when first written), or None if it cannot be used,
        said once as a warning (`cache: … not used: …`)."""
        if root is None:
            return None
        try:
            folder = cls(root, _usable_key(root))
            folder.check()
        except CacheUnusable as why:
            say_unusable(root, str(why))
            return None
        return folder

    @classmethod
    def existing(cls, root: Path) -> CacheFolder | None:
        """The cache at `root` as `open` would take it, without a word and without making a
        key or a folder (None where `open` would refuse it, or where nothing is there yet):
        for a process that only reads, such as a layout worker."""
        try:
            if not os.environ.get(KEY_VARIABLE) and _key_in_book(root):
                return None
            key = existing_machine_key()
            if key is None or not os.path.isdir(root):
                return None
            folder = cls(root, key)
            folder.check()
        except (CacheUnusable, OSError):
            return None
        return folder

    def check(self) -> None:
        """Raise CacheUnusable unless the folder and its kinds are real, writable folders
        (or the folder is missing, in a book folder where it can be made)."""
        if not os.path.lexists(self.root):
            if not os.access(self.root.parent, os.W_OK | os.X_OK):
                raise CacheUnusable("cannot be made: the book folder is read-only")
            return
        for folder in [self.root, *(self.root / kind for kind in KINDS)]:
            if folder == self.root or os.path.lexists(folder):
                _check_folder(folder, self.root)

    def name(self, logical: str) -> str:
        """The file name of the entry known as `logical` (a hash of its inputs)."""
        return name_of(self.key, logical)

    def folder(self, relative: str, create: bool = True) -> Path:
        """The subfolder `relative` ("" or "." for the cache itself), made if missing and
        `create`; OSError if it or a folder above it (up to the cache) is not a folder."""
        path = self.root / relative
        if path not in self.checked:
            current = self.root
            _real_folder(current, create)
            for part in Path(relative).parts:
                current = current / part
                _real_folder(current, create)
            self.checked.add(path)
        return path

    def read(self, place: str, limit: int = ENTRY_LIMIT, touch: bool = True) -> bytes | None:
        """The payload of the entry at `place` if this machine sealed it there, else None."""
        try:
            self.folder(str(Path(place).parent), create=False)
        except OSError:
            return None
        data = read_regular(self.root / place, limit + TAG_LENGTH + 1, touch)
        return unseal(self.key, place, data) if data is not None else None

    def write(self, place: str, payload: bytes) -> None:
        """Seal `payload` at `place`, through a temporary name (OSError if it cannot)."""
        path = self.root / place
        self.folder(str(Path(place).parent))
        write_new(path, seal(self.key, place, payload))


def write_new(path: Path, data: bytes) -> None:
    """Write `path` whole under a temporary name that cannot be a link, then rename it
    (a rename replaces a link at `path`, never writes through it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    remove_regular(tmp)  # of a killed build with the same process id
    fd = os.open(tmp, _WRITE, 0o666)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
    except BaseException:
        remove_regular(tmp)
        raise


def remove_regular(path: Path) -> None:
    """Remove `path` if it is a regular file; anything else stays as it is."""
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)


def entries(folder: Path) -> Iterator[os.DirEntry[str]]:
    """The entries of a real folder (none if it is a link or missing), links not followed."""
    with contextlib.suppress(OSError):
        if stat.S_ISDIR(os.lstat(folder).st_mode):
            with os.scandir(folder) as listing:
                yield from list(listing)


def is_old(entry: os.DirEntry[str], cutoff: float) -> bool:
    """Whether a directory entry is a regular file last used before `cutoff`."""
    with contextlib.suppress(OSError):
        info = entry.stat(follow_symlinks=False)
        return stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff
    return False


def prune_due(root: Path) -> bool:
    """Whether the cache at `root` is due its clean-up: its stamp is missing, is not a
    regular file, or is not dated within the last day (one dated ahead is not believed)."""
    with contextlib.suppress(OSError):
        found = os.lstat(root / PRUNED)
        age = time.time() - found.st_mtime
        return not (stat.S_ISREG(found.st_mode) and 0 <= age < PRUNE_EVERY)
    return True


def stamp_pruned(root: Path) -> None:
    """Date the clean-up's stamp now (made if missing); never through a link, and
    nothing but a regular file is touched."""
    with contextlib.suppress(OSError):
        fd = os.open(root / PRUNED, _STAMP, 0o666)
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.utime(fd if os.utime in os.supports_fd else root / PRUNED)
        finally:
            os.close(fd)


def prune_remembered(root: Path, cutoff: float) -> None:
    """Remove memo entries (and records of builds) unused since `cutoff`, and what killed
    builds left there a day ago; only files named as entries are looked at."""
    a_day_ago = time.time() - 86400
    for kind in REMEMBERED:
        for entry in entries(root / kind):
            entry_unused = ENTRY_NAME.fullmatch(entry.name) and is_old(entry, cutoff)
            left_over = LEFTOVER_NAME.fullmatch(entry.name) and is_old(entry, a_day_ago)
            if entry_unused or left_over:
                remove_regular(Path(entry.path))


def say_unusable(root: Path, why: str) -> None:
    """Warn once per process that the cache at `root` is not used, and why."""
    if (str(root), why) not in _said:
        _said.add((str(root), why))
        # Not a warning about the book: the outputs are the same without a cache.
        log.warning("cache: %s not used: %s", root, why, extra={"strict": False})


def _usable_key(root: Path) -> bytes:
    """This machine's key, unless it would be kept in the book folder (checked before
    a key is made there): whoever sends the book would send the key too."""
    if not os.environ.get(KEY_VARIABLE) and _key_in_book(root):
        raise CacheUnusable(f"its key {key_file().resolve()} would be inside the book folder")
    return machine_key()


def _key_in_book(root: Path) -> bool:
    return key_file().resolve().is_relative_to(root.parent.resolve())


def _check_folder(folder: Path, root: Path) -> None:
    """CacheUnusable unless `folder` is a real folder this user can write to."""
    label = "it" if folder == root else f"{folder.name}/"
    try:
        mode = os.lstat(folder).st_mode
    except OSError as error:
        raise CacheUnusable(f"{label}: {error.strerror}") from error
    if stat.S_ISLNK(mode):
        raise CacheUnusable(f"{label} is a symbolic link")
    if not stat.S_ISDIR(mode):
        raise CacheUnusable(f"{label} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CacheUnusable(f"{label} is read-only")


def _real_folder(path: Path, create: bool) -> None:
    """Make `path` if missing (and `create`); OSError if it is a link or not a folder."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        if not create:
            raise
        try:
            os.mkdir(path)
            return
        except FileExistsError:  # made meanwhile (the memo is written in a thread): look again
            mode = os.lstat(path).st_mode
    if not stat.S_ISDIR(mode):  # a link to a folder included: lstat does not follow it
        raise NotADirectoryError(f"{path} is not a folder of the cache")

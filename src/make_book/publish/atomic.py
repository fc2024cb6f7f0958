"""Writing outputs so that a failed or interrupted build never leaves a half-written file.

Every output is written to a temporary file beside it (`.book.pdf.k3x9q2ab.part`) and
renamed over the old one only when complete, so the output folder holds, under each
output's name, the previous file or the new one, whole. A build killed outright (SIGKILL,
power loss) cannot remove its temporary files; the next build into the same folder does,
while it holds the folder (`claim_output_folder`), so it never touches a running build's.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from make_book.errors import RenderError

# Errors that mean "no room for this file": the disk, the quota or the file-size limit.
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}

# What a build leaves in its output folder only when it is killed. tempfile's random part
# is eight of [a-z0-9_]; the patterns are strict so that no file of the user's matches.
_TOKEN_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_TEMP_FILE = re.compile(r"\..+\.[a-z0-9_]{8}\.part")  # atomic_path
_SCRATCH_FOLDER = re.compile(r"\.(?:epub|html|offprints|make-book-staging)-[a-z0-9_]{8}")
# A folder moved aside while its replacement is renamed in: .html-old-k3x9q2ab/html
# (staging.swap_folder's parking place), or .html-old, the site itself (make-book 0.1).
_PARKING_FOLDER = re.compile(r"\.(?P<name>.+)-old-[a-z0-9_]{8}")
_OLD_SITE = ".html-old"


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it into place only on success.

    Running out of room (disk full, quota, file-size limit) is reported as a RenderError
    naming the output, not as a crash: the previous file is kept either way.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(target)  # named before it is made: no moment it exists unnamed
    try:
        create_empty(tmp)
        yield tmp
        place(tmp, target)
    except OSError as exc:
        _raise_no_room(exc, target)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def temporary_name(target: Path) -> Path:
    """A fresh name beside `target` for a temporary file, not made yet: named so that the
    next build into the folder removes it if this one is killed (`_TEMP_FILE`).

    Naming first, then making the file inside the `try:` that removes it, leaves no
    moment in which an interrupt (Ctrl-C raises anywhere) could strand the file."""
    return target.with_name(f".{target.name}.{random_token()}.part")


def random_token() -> str:
    """Eight of [a-z0-9_], as tempfile names its files: what the leftover patterns match."""
    return "".join(secrets.choice(_TOKEN_CHARACTERS) for _ in range(8))


def create_empty(path: Path) -> None:
    """Make the empty file `path`, which must not exist yet (never through a link)."""
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    os.close(os.open(path, flags, 0o600))


def place(tmp: Path, target: Path) -> None:
    """Put the finished temporary file `tmp` (beside `target`) in its place, atomically."""
    try:
        _flush_to_disk(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # atomic on POSIX: readers see the old file or the new one
    except OSError as exc:
        _raise_no_room(exc, target)
        raise


def _raise_no_room(exc: OSError, target: Path) -> None:
    """Running out of room is one clear error naming the output (other errors go on)."""
    if exc.errno in _NO_ROOM:
        kept = "; the previous file is unchanged" if target.exists() else ""
        raise RenderError(f"{target}: not written: {exc.strerror}{kept}") from exc


def write_atomic(target: Path, data: bytes | str) -> None:
    """Write bytes or UTF-8 text to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


_FLUSHING = [True]


@contextlib.contextmanager
def outputs_not_flushed() -> Iterator[None]:
    """While the block runs, outputs are renamed into place without an fsync first.

    For the preview (`make-book serve`), made again on every save and thrown away: a
    file of it cut short by a power loss costs nothing, and the fsyncs would cost each
    save a second on a long book.
    """
    _FLUSHING[0] = False
    try:
        yield
    finally:
        _FLUSHING[0] = True


def _flush_to_disk(path: Path) -> None:
    """fsync before the rename: after a power loss the name then holds the old file or the
    whole new one, never an empty file (the rename can reach the disk before the data)."""
    if not _FLUSHING[0]:
        return
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def claim_output_folder(out_dir: Path) -> Iterator[None]:
    """Hold `out_dir` for one build: a second build into the same folder waits for the first
    (so they never interleave their renames), then removes what killed builds left there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":  # no flock: builds are not serialized, nothing is swept
        yield
        return
    folder = os.open(out_dir, os.O_RDONLY)  # the lock is on the folder: no lock file to leave
    try:
        if _lock(folder, out_dir):
            remove_leftovers(out_dir)
        yield
    finally:
        os.close(folder)  # releases the lock, as the death of the process does


def _lock(folder: int, out_dir: Path) -> bool:
    """Take the folder's lock, waiting for another build if need be; False if unsupported."""
    import fcntl

    try:
        fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        click.echo(f"note: waiting for another make-book build into {out_dir}/", err=True)
        fcntl.flock(folder, fcntl.LOCK_EX)
    except OSError:  # a file system without locks (some network mounts): build unlocked
        return False
    return True


def remove_leftovers(out_dir: Path) -> list[str]:
    """Remove the temporary files and folders of killed builds from `out_dir`; return their names.

    Only safe while holding the folder (`claim_output_folder`): a running build's own
    temporary files look the same. A folder parked by a build killed between its two
    renames is put back when its replacement never arrived.
    """
    removed = []
    for entry in sorted(out_dir.iterdir()):
        if entry.is_symlink():
            continue
        if entry.is_file() and _TEMP_FILE.fullmatch(entry.name):
            entry.unlink(missing_ok=True)
        elif entry.is_dir() and _is_temporary_folder(entry.name):
            _put_back_parked(entry, out_dir)
            shutil.rmtree(entry, ignore_errors=True)
        else:
            continue
        removed.append(entry.name)
    return removed


def is_leftover_name(name: str) -> bool:
    """Whether an entry of an output folder is named as a killed build's leftover, which
    the next build removes: a temporary file, or a scratch or parking folder."""
    return bool(_TEMP_FILE.fullmatch(name)) or _is_temporary_folder(name)


def _is_temporary_folder(name: str) -> bool:
    return bool(
        _SCRATCH_FOLDER.fullmatch(name) or _PARKING_FOLDER.fullmatch(name) or name == _OLD_SITE
    )


def _put_back_parked(folder: Path, out_dir: Path) -> None:
    """A build killed between moving the old folder aside and renaming the new one in
    leaves no folder of that name: the old one goes back."""
    parking = _PARKING_FOLDER.fullmatch(folder.name)
    if parking:
        parked, target = folder / parking["name"], out_dir / parking["name"]
    elif folder.name == _OLD_SITE:
        parked, target = folder, out_dir / "html"
    else:
        return
    if parked.is_dir() and not target.exists():
        parked.rename(target)


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step; False where the system cannot.

    Linux's renameat2(RENAME_EXCHANGE) puts a new folder in place of the old one with
    no moment in which neither is there (two renames have one). Elsewhere, or on a file
    system without it, the caller falls back to two renames.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # a C library older than glibc 2.28, or not glibc
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    at_cwd, rename_exchange = -100, 2  # AT_FDCWD, RENAME_EXCHANGE from <fcntl.h>, <stdio.h>
    if renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # not supported here
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))

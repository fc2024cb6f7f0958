"""Publishing a whole build at once, and swapping a folder of outputs in place."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from make_book.publish.atomic import exchange, random_token


@contextlib.contextmanager
def staged(out_dir: Path, enabled: bool = True) -> Iterator[Path]:
    """Yield a folder to build into; move its outputs into `out_dir` only if the block succeeds.

    Disabled, it yields `out_dir` itself (each output is still replaced atomically).
    """
    if not enabled:
        yield out_dir
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    # Named before it is made, inside the `try:` that removes it: an interrupt (Ctrl-C
    # raises anywhere) never strands it.
    folder = out_dir / f".make-book-staging-{random_token()}"
    try:
        folder.mkdir(mode=0o700)
        yield folder
        publish(folder, out_dir)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def publish(folder: Path, out_dir: Path) -> None:
    """Move every finished output of `folder` into `out_dir`, replacing what was there."""
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue  # a renderer's own temporary file
        if entry.is_dir():
            swap_folder(entry, out_dir / entry.name)
        else:
            os.replace(entry, out_dir / entry.name)


def swap_folder(new: Path, target: Path) -> None:
    """Replace the folder `target` by `new` with renames, so a failure leaves the old one."""
    new.chmod(0o755)  # mkdtemp made it private; a published folder is readable like a file
    if target.exists() and exchange(new, target):  # no moment without the folder
        shutil.rmtree(new, ignore_errors=True)  # the old one, now under the new one's name
        return
    parking = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
    parked = parking / target.name
    try:
        if target.exists():
            target.rename(parked)
        new.rename(target)
    except BaseException:
        if parked.exists() and not target.exists():
            parked.rename(target)  # put the old folder back
        raise
    finally:
        shutil.rmtree(parking, ignore_errors=True)

"""Which saves rebuild the book: the files of the book folder, but what builds write and
what editors leave beside a file they save.

The book folder holds everything a book is made of: book.yaml, the essays, the book's
own templates, styles and fonts (the packaged theme does not change while make-book runs).

Watching starts when a `BookWatcher` is made, before the first build: a save during
that build is not missed. The watcher is watchfiles' own (`RustNotify`, documented as
its backend), used directly because `watchfiles.watch` starts watching only when first
iterated, after the first build.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from watchfiles import Change, DefaultFilter
from watchfiles._rust_notify import RustNotify

from make_book.build.interrupt import as_interrupted

# After a save, wait this long for the editor's other writes (a swap file, a rename)
# before building, so that one save makes one build.
QUIET_MS = 50
# Builds take time: what is saved meanwhile is kept by the watcher and comes as one
# batch when the build is over, so that saving three times during a build makes one more.
MOST_GROUPED_MS = 1600
# Editors' own files: Emacs (#x#, .#x), backups (x~), vim (.x.swp, 4913, the test file
# vim writes to see whether it may), Kate, LibreOffice's lock, GNOME's atomic saves.
_EDITOR_FILES = re.compile(
    r"#.*#|\.#.*|.*~|\..*\.sw[a-z]|4913|.*\.kate-swp|\.~lock\..*#|\.goutputstream-.*"
)


class BookWatcher:
    """The saves in a book folder, from the moment it is made (`with BookWatcher(…) as w`)."""

    def __init__(self, manifest: Path, written: Sequence[Path]) -> None:
        """`written`: files and folders the builds write (the cache, the outputs, the
        report), whose changes are the builds' own."""
        self.root = manifest.resolve().parent
        self._wanted = _Saves(written)
        self._notify = RustNotify([str(self.root)], False, False, 300, True, True)

    def __enter__(self) -> BookWatcher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._notify.close()

    def changes(self) -> Iterator[set[Path]]:
        """Each batch of files saved; a signal (Ctrl-C) raises out of the wait as it would
        elsewhere (build/interrupt.py)."""
        while True:
            found = self._notify.watch(MOST_GROUPED_MS, QUIET_MS, 0, None)
            if found == "signal":
                raise as_interrupted()
            if isinstance(found, str):  # "stop" or "timeout": neither is asked for
                continue
            saved = {Path(path) for kind, path in found if self._wanted(Change(kind), path)}
            if saved:
                yield saved

    def describe(self, saved: set[Path]) -> str:
        """The files saved, as paths in the book folder: `changed: chapters/a.md`."""
        shown = sorted(
            os.path.relpath(path, self.root) if path.is_relative_to(self.root) else str(path)
            for path in saved
        )
        return "changed: " + ", ".join(shown)


class _Saves(DefaultFilter):
    """watchfiles' usual filter (.git, caches…), editors' files, and what builds write:
    each such path as given and as it really is, since a link (dist/ pointing elsewhere)
    is reported under either."""

    def __init__(self, written: Sequence[Path]) -> None:
        super().__init__()
        self.written = tuple(
            {
                variant
                for path in written
                for variant in (os.path.abspath(path), os.path.realpath(path))
            }
        )

    def __call__(self, change: Change, path: str) -> bool:
        if _EDITOR_FILES.fullmatch(os.path.basename(path)):
            return False
        if any(path == done or path.startswith(done + os.sep) for done in self.written):
            return False
        return bool(super().__call__(change, path))

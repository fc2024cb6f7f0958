"""Which saves rebuild the book: every file of the book folder, except what builds write.

The book folder holds everything a book is made of: book.yaml, the essays, the book's
own templates, styles and fonts (the packaged theme does not change while make-book runs).

Watching starts when a `BookWatcher` is made, before the first build: a save during
that build is not missed. The watcher is watchfiles' own (`RustNotify`, documented as
its backend), used directly because `watchfiles.watch` starts watching only when first
iterated, after the first build.
"""

from __future__ import annotations

import threading
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
# How often the wait comes back to Python (a stop asked for by another thread).
WAKE_MS = 1000


class BookWatcher:
    """The saves in a book folder, from the moment it is made (`with BookWatcher(…) as w`)."""

    def __init__(self, manifest: Path, written: Sequence[Path]) -> None:
        """`written`: folders the builds write into (the cache, the outputs), whose changes
        are the builds' own."""
        self.root = manifest.resolve().parent
        self._wanted = DefaultFilter(ignore_paths=[str(p.resolve()) for p in written])
        self._notify = RustNotify([str(self.root)], False, False, 300, True, True)

    def __enter__(self) -> BookWatcher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._notify.close()

    def changes(self, stop: threading.Event | None = None) -> Iterator[set[Path]]:
        """Each batch of files saved, until `stop` is set; a signal (Ctrl-C) raises out
        of the wait as it would elsewhere (build/interrupt.py)."""
        while True:
            found = self._notify.watch(MOST_GROUPED_MS, QUIET_MS, WAKE_MS, stop)
            if found == "signal":
                raise as_interrupted(KeyboardInterrupt())
            if found == "stop":
                return
            if found == "timeout":
                continue
            saved = {Path(path) for kind, path in found if self._wanted(Change(kind), path)}
            if saved:
                yield saved

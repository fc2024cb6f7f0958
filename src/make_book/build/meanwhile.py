"""What a build does in a thread while the print layout waits for its workers.

An edit lays out one piece: the build's own process spends most of that third of a
second waiting for the worker, then imports and reads what making the EPUB and
finishing the PDF need (ebooklib, Pillow, fontTools; the book's characters and its
faces' cmaps for the fallback-glyph warning; the essays' fingerprints for the EPUB's
keys) before it can make them. Done in a thread while the process waits, they are
there when wanted. What to do is each renderer's declaration (`later_imports` and
`meanwhile`, render/base.py); each chore only fills a cache the renderer reads later,
so one that fails or is not done yet is simply done again where it is needed.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from functools import partial

from make_book.frame_room import call_with_room


class Meanwhile:
    """Call it (once is enough) when the build is about to wait for its workers. `join`
    before the build makes its first output (the cover imports WeasyPrint in the
    build's thread, and that import briefly swaps process-wide state) and before it
    ends, so that no chore is left running; a failing build `cancel`s what is left."""

    def __init__(self) -> None:
        self.chores: list[Callable[[], object]] = []
        self.thread: threading.Thread | None = None
        self.cancelled = threading.Event()

    def imports(self, modules: Iterable[str]) -> None:
        self.chores += [partial(importlib.import_module, name) for name in dict.fromkeys(modules)]

    def add(self, chore: Callable[[], object]) -> None:
        self.chores.append(chore)

    def __call__(self) -> None:
        if self.thread is None and self.chores:
            self.thread = threading.Thread(
                target=call_with_room, args=(self._run,), name="make-book-meanwhile"
            )
            self.thread.start()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def cancel(self) -> None:
        """Start no more chores (the one running finishes), and wait for it."""
        self.cancelled.set()
        self.join()

    def _run(self) -> None:
        for chore in self.chores:
            if self.cancelled.is_set():
                return
            try:
                chore()
            except Exception:  # noqa: BLE001, S112 - it fails again where it is needed, and is said there
                continue

"""The modules a build imports only once the print layout is done, imported meanwhile.

An edit lays out one piece: the build's own process spends most of that third of a
second waiting for the worker, then imports what making the EPUB and finishing the PDF
need (ebooklib, Pillow, fontTools, HarfBuzz: 0.05 s) before it can make them. Imported
in a thread while the process waits, they are there when wanted. Which modules is each
renderer's declaration (`Renderer.later_imports`).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable


class LaterImports:
    """Call it (once is enough) when the build is about to wait for its workers; `join`
    before the build ends, so no import is left running at exit."""

    def __init__(self, modules: Iterable[str]) -> None:
        self.modules = list(dict.fromkeys(modules))
        self.thread: threading.Thread | None = None

    def __call__(self) -> None:
        if self.thread is None and self.modules:
            self.thread = threading.Thread(target=self._run, name="make-book-imports")
            self.thread.start()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def _run(self) -> None:
        for name in self.modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001, S112 - it fails again where it is needed, and is said there
                continue

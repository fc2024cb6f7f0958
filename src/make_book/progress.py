"""Progress of a long layout: a bar on a terminal, plain lines in a log (CI).

Shown only when the book is long enough to wait for (`SHOW_FROM_PIECES`); the
plain lines come at most every `LINE_EVERY` seconds so a CI log stays short.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # rich is imported by the bar alone: a build in a log or with -q
    # needs none of it, and importing it took 0.03 s before an edit's piece could go
    from rich.progress import Progress as RichProgress

SHOW_FROM_PIECES = 20
LINE_EVERY = 5.0


class Progress:
    """Counts pieces and pages; shows nothing (the base class is silent)."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.pages = 0
        self.laid_out = 0
        self.started = time.monotonic()

    def start(self, total: int) -> None:
        self.total, self.done, self.pages, self.laid_out = total, 0, 0, 0
        self.started = time.monotonic()

    def advance(self, pages: int, laid_out: bool = True) -> None:
        self.done += 1
        self.pages += pages
        self.laid_out += laid_out
        self.show()

    def show(self) -> None:
        """Display the counts (nothing here)."""

    def finish(self) -> None:
        """Close the display."""


class LineProgress(Progress):
    """A line now and then, for logs: `pdf: 120/301 pieces, 412 pages, about 21 s left`."""

    def __init__(self, stream: TextIO, label: str = "pdf") -> None:
        super().__init__()
        self.stream, self.label, self.last = stream, label, 0.0

    def show(self) -> None:
        now = time.monotonic()
        if self.total < SHOW_FROM_PIECES or (
            now - self.last < LINE_EVERY and self.done < self.total
        ):
            return
        self.last = now
        print(f"{self.label}: {self._counts()}{self._left(now)}", file=self.stream, flush=True)

    def _counts(self) -> str:
        cached = self.done - self.laid_out
        from_cache = f" ({cached} from the cache)" if cached else ""
        return f"{self.done}/{self.total} pieces{from_cache}, {self.pages} pages"

    def _left(self, now: float) -> str:
        if self.done in (0, self.total):
            return ""
        seconds = (now - self.started) / self.done * (self.total - self.done)
        return f", about {seconds:.0f} s left"


class BarProgress(Progress):
    """rich's bar on a terminal: pieces laid out, pages so far, time left."""

    def __init__(self, label: str = "pdf") -> None:
        super().__init__()
        self.label = label
        self.bar: RichProgress | None = None

    def show(self) -> None:
        if self.bar is None and self.total >= SHOW_FROM_PIECES:
            self._start_bar()
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, pages=self.pages)

    def _start_bar(self) -> None:
        """The bar, shown once the first piece is counted: what the build does before
        (sending an edit's piece to its worker) does not wait for rich to import."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self.bar = RichProgress(
            TextColumn(f"{self.label}: laying out"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pieces · {task.fields[pages]} pages"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=Console(stderr=True),
        )
        self.bar.start()
        self.task = self.bar.add_task("layout", total=self.total, pages=0)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def for_stream(stream: TextIO | None = None) -> Progress:
    """A bar on a terminal, plain lines elsewhere."""
    stream = stream or sys.stderr
    return BarProgress() if stream.isatty() else LineProgress(stream)

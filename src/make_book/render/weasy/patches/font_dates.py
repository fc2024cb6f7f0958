"""The one place that decides the dates fontTools stamps into font subsets.

Replaces: the clock. fontTools writes the time into each font it saves (the `head`
table's `modified`, `fontTools.misc.timeTools.timestampNow`) unless the environment
variable SOURCE_DATE_EPOCH is set; WeasyPrint has fontTools save the subsets it embeds
when HarfBuzz cannot subset a face (and for variable faces). Without a date a PDF
would differ from build to build.

Which date:
- A piece of the book (`dated_as_a_piece`): always PIECE_EPOCH (2000-01-01). A piece
  must not depend on the book's date, which follows the newest essay when book.yaml
  gives none: one edit would lay every piece out again. This wins even over a
  SOURCE_DATE_EPOCH the user set.
- A whole document, the cover or the one-document reference (`dated_as_the_book`):
  the book's own date, `book.meta.modified_time`, which is SOURCE_DATE_EPOCH when the
  user set it, else book.yaml's date, else the newest source's time (source/assemble.py).

The PDF's own dates are that same book date: the print templates write it as the
document's `dcterms.created` and `dcterms.modified` metadata, which WeasyPrint turns
into the PDF's dates; WeasyPrint itself reads no SOURCE_DATE_EPOCH (70.0).

SOURCE_DATE_EPOCH is process-wide: it is held while any thread needs it; a hold
entered inside another (a piece laid out in the build's own process, inside the
PDF's hold) wins until it is left, and the outer value comes back.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from make_book.model import Book

VARIABLE = "SOURCE_DATE_EPOCH"
PIECE_EPOCH = 946684800  # 2000-01-01T00:00:00Z


def dated_as_a_piece() -> contextlib.AbstractContextManager[None]:
    """Inside: fontTools dates a piece's font subsets PIECE_EPOCH."""
    return _EPOCHS.holding(PIECE_EPOCH)


def dated_as_the_book(book: Book) -> contextlib.AbstractContextManager[None]:
    """Inside: fontTools dates font subsets with the book's date."""
    return _EPOCHS.holding(book_epoch(book))


def book_epoch(book: Book) -> int:
    """The book's date, in seconds since 1970 (its metadata's, so the PDF's too)."""
    return int(book.meta.modified_time.timestamp())


class _Epochs:
    """SOURCE_DATE_EPOCH as the holds now in force say: the newest hold's value."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holds: list[list[int]] = []  # [epoch, users], oldest first
        self.before: str | None = None  # the variable before the first hold

    @contextlib.contextmanager
    def holding(self, epoch: int) -> Iterator[None]:
        with self.lock:
            if self.holds and self.holds[-1][0] == epoch:
                hold = self.holds[-1]  # another thread's piece: the same hold
                hold[1] += 1
            else:
                if not self.holds:
                    self.before = os.environ.get(VARIABLE)
                hold = [epoch, 1]
                self.holds.append(hold)
                os.environ[VARIABLE] = str(epoch)
        try:
            yield
        finally:
            with self.lock:
                hold[1] -= 1
                if not hold[1]:
                    self.holds = [h for h in self.holds if h is not hold]
                    self._set()

    def _set(self) -> None:
        if self.holds:
            os.environ[VARIABLE] = str(self.holds[-1][0])
        elif self.before is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = self.before


_EPOCHS = _Epochs()

"""Collecting the warnings of a build, for --strict and the build report."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class _Collector(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        # A warning about this machine rather than the book (a cache that cannot be used,
        # logged with extra={"strict": False}) is printed but not the build's: the outputs
        # are the same without it, so --strict does not fail on it.
        if getattr(record, "strict", True):
            self.into.append(record.getMessage())


@contextlib.contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """Every warning make-book logs inside the block, in order (still printed as usual)."""
    found: list[str] = []
    handler = _Collector(found)
    logger = logging.getLogger("make_book")
    logger.addHandler(handler)
    try:
        yield found
    finally:
        logger.removeHandler(handler)

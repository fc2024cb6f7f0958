"""Stopping a build cleanly on Ctrl-C, SIGTERM and a closed terminal.

Python's default for SIGTERM and SIGHUP is to die on the spot, skipping every `finally:`,
so the temporary files of the outputs being written would stay behind. Here each of those
signals raises `Interrupted` in the main thread instead: the `finally:` blocks remove the
temporary files, the previous outputs stay as they were, and the process exits with
128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports a process
killed by that signal. `Interrupted` is a SystemExit, so no `except Exception` on the way
(a renderer's crash handler, say) mistakes it for a failure of its own.

The command line sets the handlers while its own modules load and for as long as a
command runs (cli.py); `interrupted` also serves a Ctrl-C that came before (__main__.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

# SIGHUP is missing on Windows.
STOPPING_SIGNALS = [
    signal.Signals(number)
    for number in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None))
    if number is not None
]


class Interrupted(SystemExit):
    """A stopping signal arrived: unwind, cleaning up, and exit with 128 + its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signal = signal.Signals(signum)


@contextlib.contextmanager
def exit_cleanly_on_signals() -> Iterator[None]:
    """While the block runs, SIGINT, SIGTERM and SIGHUP raise Interrupted.

    A signal the process was told to ignore (`nohup`, a background job's SIGINT) stays
    ignored. The previous handlers come back when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers, and only it receives them
        return
    previous = {number: signal.getsignal(number) for number in STOPPING_SIGNALS}
    for number, handler in previous.items():
        if handler != signal.SIG_IGN:
            signal.signal(number, _interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(number, handler)


_received: list[int] = []  # the signals that raised Interrupted, in order


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # A second signal while the first one unwinds kills at once, as a second Ctrl-C is
    # meant to; the next build into the folder removes what that leaves.
    _received.append(signum)
    for number in STOPPING_SIGNALS:
        if signal.getsignal(number) == _interrupt:
            signal.signal(number, signal.SIG_DFL)
    raise interrupted(signum)


def as_interrupted() -> Interrupted:
    """The Interrupted for a signal that a library caught (watchfiles does, whichever
    signal it was): the same exit, said once already by the handler."""
    if _received:
        return Interrupted(_received.pop())
    return interrupted(signal.SIGINT)  # a KeyboardInterrupt of Python's own handler


def interrupted(signum: int) -> Interrupted:
    """Say that the signal stopped make-book, and give the exception that exits with it.

    Also for a KeyboardInterrupt that came before the handlers were set (`__main__.py`).
    """
    name = signal.Signals(signum).name
    # After ^C the terminal's cursor is still on the command's line.
    start = "\n" if signum == signal.SIGINT else ""
    _say(f"{start}error: interrupted by {name}; outputs not yet finished were discarded\n")
    return Interrupted(signum)


def _say(text: str) -> None:
    """Write to stderr's file descriptor directly: a signal may arrive while Python is
    in the middle of writing to sys.stderr, whose buffer must not be entered twice."""
    with contextlib.suppress(OSError):
        os.write(2, text.encode("utf-8", "replace"))

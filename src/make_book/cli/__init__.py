"""The `make-book` command line: the group and its options (app.py), one module per
command or pair of commands."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Any

from make_book.build.interrupt import exit_cleanly_on_signals
from make_book.frame_room import call_with_room
from make_book.render.pdf.layout import launch

if TYPE_CHECKING:
    from make_book.cli.app import FORMATS as FORMATS
    from make_book.cli.app import main as main


def run() -> None:
    """`make-book`: the console script, and `python -m make_book` (the tests call `main`)."""
    try:
        # Before click and the build are imported: a build's layout worker loads
        # WeasyPrint meanwhile, ready sooner for an edit's piece (launch.py); Ctrl-C
        # meanwhile stops make-book as it does mid-build.
        with exit_cleanly_on_signals():
            launch.start_early(sys.argv[1:])
        # Its recursion (Markdown, templates, an in-process layout) kept in one chunk of
        # the frame stack, not mapping one at every turn (frame_room.py).
        call_with_room(_app().main)
    finally:
        launch.discard_early()  # not taken: the build was up to date, or failed first
        # Leaving: the interpreter's last collection would walk every object the command
        # made (a tenth of a second of a rebuild's one and a half); frozen, they are
        # freed as the interpreter ends without it. Exit codes and clean-up are as before.
        gc.freeze()


def __getattr__(name: str) -> Any:
    """`main` and `FORMATS`, from app.py imported when first asked for (`run` starts a
    worker first)."""
    if name in ("main", "FORMATS"):
        return getattr(_app(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _app() -> Any:
    """app.py, imported once. Each command's module is imported when the command is
    asked for (app.COMMAND_MODULES, while `app.MakeBook.main` has its signal handlers
    set), and what it needs beyond that (the build driver, the renderers, the preflight)
    when it runs: a build that finds itself up to date imports none of it. Ctrl-C while
    the group loads stops make-book as it does mid-build (exit 130, one line), not with
    a traceback."""
    loaded = sys.modules.get("make_book.cli.app")
    if loaded is not None:
        return loaded
    with exit_cleanly_on_signals():
        from make_book.cli import app
    return app


__all__ = ["FORMATS", "main", "run"]

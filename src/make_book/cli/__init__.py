"""The `make-book` command line: the group and its options (app.py), one module per
command or pair of commands."""

from __future__ import annotations

import gc

from make_book.build.interrupt import exit_cleanly_on_signals
from make_book.frame_room import call_with_room

# Each command's module is imported when the command is asked for (app.COMMAND_MODULES,
# while `app.MakeBook.main` has its signal handlers set), and what it needs beyond that
# (the build driver, the renderers, the preflight) when it runs: a build that finds
# itself up to date imports none of it. Ctrl-C while the group loads stops make-book as
# it does mid-build (exit 130, one line), not with a traceback.
with exit_cleanly_on_signals():
    from make_book.cli.app import FORMATS, main, name_environment

name_environment(main)


def run() -> None:
    """`make-book`: the console script, and `python -m make_book` (the tests call `main`)."""
    try:
        # Its recursion (Markdown, templates, an in-process layout) kept in one chunk of
        # the frame stack, not mapping one at every turn (frame_room.py).
        call_with_room(main)
    finally:
        # Leaving: the interpreter's last collection would walk every object the command
        # made (a tenth of a second of a rebuild's one and a half); frozen, they are
        # freed as the interpreter ends without it. Exit codes and clean-up are as before.
        gc.freeze()


__all__ = ["FORMATS", "main", "run"]

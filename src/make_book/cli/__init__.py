"""The `make-book` command line: the group and its options (app.py), one module per
command or pair of commands."""

from __future__ import annotations

from make_book.build.interrupt import exit_cleanly_on_signals

# What a command needs beyond these (the build driver, the renderers, the preflight) is
# imported when it runs: a build that finds itself up to date imports none of it.
# Loading the modules below takes some 0.2 s: Ctrl-C meanwhile stops make-book as it does
# mid-build (exit 130, one line), not with a traceback. The command then sets the handlers
# again for as long as it runs (`app.MakeBook.main`).
with exit_cleanly_on_signals():
    from make_book.cli import build, check, clean, create, schema, serve, themes
    from make_book.cli.app import FORMATS, main, name_environment

name_environment(main)

__all__ = ["FORMATS", "build", "check", "clean", "create", "main", "schema", "serve", "themes"]

"""`make-book serve`: build the preview, serve it, and build again on every save.

A plain loop in the main thread: build, then wait for saves, then build again. The
server answers in threads of its own meanwhile. Ctrl-C (or SIGTERM) raises out of the
wait or the build (build/interrupt.py): the build's workers stop as they do in
`make-book build`, then the server.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from make_book.errors import InputError
from make_book.publish.atomic import outputs_not_flushed
from make_book.render.base import LayoutOptions
from make_book.serve.preview import Outcome, Preview
from make_book.serve.server import PreviewServer, is_loopback
from make_book.serve.watch import BookWatcher

log = logging.getLogger("make_book")
PREVIEW_FOLDER = "preview"  # inside the cache folder


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    formats: tuple[str, ...] = ("pdf", "html")
    profiles: tuple[str, ...] = ()
    open_browser: bool = False


def serve(
    manifest: Path,
    cache: Path,
    layout: LayoutOptions,
    options: ServeOptions,
    say: Callable[[str], None],
    out: Path | None = None,
) -> None:
    """Serve the preview of `manifest` until interrupted."""
    folder = out if out is not None else _fresh_preview_folder(cache)
    preview = Preview(manifest, folder, options.formats, layout, options.profiles)
    server = _listen(options, folder, preview)
    if not is_loopback(options.host):
        log.warning(
            "serving on %s: anyone who can reach this machine can read the preview", options.host
        )
    try:
        with BookWatcher(manifest, [cache, folder]) as watcher, _unflushed(out is None):
            server.start()
            # Said even under -q: with --port 0 it is the only way to find the preview.
            click.echo(f"serving the preview of {manifest} at {server.url} (Ctrl-C to stop)")
            if options.open_browser:
                webbrowser.open(server.url)
            _report(preview.build(), say)
            for saved in watcher.changes():
                say(watcher.describe(saved))
                _report(preview.build(), say)
    finally:
        server.stop()


def _fresh_preview_folder(cache: Path) -> Path:
    """The cache's preview folder, made if missing and emptied: a book folder may bring
    one of its own. An error if it, or the cache, is not a real folder (a link planted
    in a book folder must not send the preview elsewhere)."""
    folder = cache / PREVIEW_FOLDER
    for path in (cache, folder):
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            path.mkdir()
            continue
        if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
            raise InputError(f"{path}: not a folder (a link?): remove it, or serve with --out")
    for entry in os.scandir(folder):  # links are removed, never followed
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)
    return folder


@contextlib.contextmanager
def _unflushed(preview_only: bool) -> Iterator[None]:
    """No fsync for the preview's own folder (publish/atomic.py); `--out` keeps them."""
    if not preview_only:
        yield
        return
    with outputs_not_flushed():
        yield


def _listen(options: ServeOptions, folder: Path, preview: Preview) -> PreviewServer:
    try:
        return PreviewServer((options.host, options.port), folder, preview.status)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            hint = "another program uses it: give another --port, or --port 0 for any free one"
            raise InputError(f"--port {options.port}: {hint}") from None
        raise InputError(f"--host {options.host!r}: {error.strerror}") from None


def _report(outcome: Outcome, say: Callable[[str], None]) -> None:
    """The build's outcome on the terminal (the browser shows it too)."""
    if outcome.ok:
        say(f"build {outcome.number}: ok ({outcome.seconds:.1f} s)")
        return
    for line in outcome.errors:
        log.error("%s", line)
    say(f"build {outcome.number}: failed; the preview shows the last good build")

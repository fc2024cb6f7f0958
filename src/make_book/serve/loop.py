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
import stat
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from make_book.errors import InputError
from make_book.publish.atomic import flush_outputs
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
    folder = out if out is not None else preview_folder(cache)
    if out is None:
        flush_outputs(False)  # the preview is thrown away: no fsync (publish/atomic.py)
    preview = Preview(manifest, folder, options.formats, layout, options.profiles)
    server = _listen(options, folder, preview)
    if not is_loopback(options.host):
        log.warning(
            "serving on %s: anyone who can reach this machine can read the preview", options.host
        )
    try:
        with BookWatcher(manifest, [cache, folder]) as watcher:
            server.start()
            say(f"serving the preview of {manifest} at {server.url} (Ctrl-C to stop)")
            if options.open_browser:
                webbrowser.open(server.url)
            _report(preview.build(), say)
            for changed in watcher.changes():
                say(f"changed: {', '.join(sorted(_shown(p, watcher.root) for p in changed))}")
                _report(preview.build(), say)
    finally:
        server.stop()


def preview_folder(cache: Path) -> Path:
    """The cache's preview folder, made if missing; an error if either is not a real
    folder (a link planted in a book folder must not send the preview elsewhere)."""
    for folder in (cache, cache / PREVIEW_FOLDER):
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            folder.mkdir()
            continue
        if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
            raise InputError(f"{folder}: not a folder (a link?): remove it, or serve with --out")
    return cache / PREVIEW_FOLDER


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
    with contextlib.suppress(OSError):
        for line in outcome.errors:
            log.error(line.removeprefix("error: "))
    say(f"build {outcome.number}: failed; the preview shows the last good build")


def _shown(path: Path, root: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(root))
    return str(path)


__all__ = ["ServeOptions", "preview_folder", "serve"]

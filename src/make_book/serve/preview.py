"""One build of the preview, and what the browser is told about it.

The preview is built into a folder of its own (by default inside the cache folder, so
that `dist/` keeps the last published build) by the same driver as `make-book build`.
A build that fails publishes nothing: the last good preview stays in the folder and in
the browser, under the errors, until a save fixes them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from make_book.build.driver import BuildRun, run_build
from make_book.errors import BookError
from make_book.pagemap import PageStart, pages_of_texts
from make_book.progress import Progress
from make_book.render.base import LayoutOptions

log = logging.getLogger("make_book")


@dataclass(frozen=True)
class Outcome:
    """What one build of the preview came to."""

    number: int  # builds so far, this one included
    ok: bool
    errors: tuple[str, ...] = ()  # as the command line says them: "file:1:2: …"
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    pdf: Path | None = None  # the print edition, if built
    pdf_bytes: bytes | None = None  # its bytes, as this build published them (pages.py)
    # essay slug -> its printed pages, and its title (the print view's heading)
    pages: dict[str, tuple[PageStart, ...]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)

    def for_browser(self, good: Outcome | None) -> dict[str, object]:
        """The JSON the live script gets: this build, and the pages of the last good one."""
        shown = self if self.ok else good
        pages = shown.pages if shown else {}
        return {
            "build": self.number,
            "ok": self.ok,
            "shown": shown.number if shown else 0,
            "errors": [f"error: {line}" for line in self.errors],
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
            "pages": {slug: [p.label for p in printed] for slug, printed in pages.items()},
        }


class Status:
    """The latest outcome and the last good one, shared with the server's threads."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.latest: Outcome | None = None
        self.good: Outcome | None = None
        self.building = False
        self.version = 0  # counts changes: a build starting, a build's outcome

    def started(self) -> None:
        with self._changed:
            self.building = True
            self._changed_now()

    def publish(self, outcome: Outcome) -> None:
        with self._changed:
            self.latest, self.building = outcome, False
            if outcome.ok:
                self.good = outcome
            self._changed_now()

    def wait_past(self, version: int, timeout: float) -> None:
        """Wait until the version is past `version`, or `timeout` seconds, whichever first."""
        with self._changed:
            self._changed.wait_for(lambda: self.version > version, timeout)

    def _changed_now(self) -> None:
        self.version += 1
        self._changed.notify_all()


class NoSpareWorkers:
    """No workers started ahead: a rebuild that lays out little does it in this process,
    whose WeasyPrint is loaded and warm, rather than wait for a new worker to load its
    own (layout/pool.py's rule: a pool only for many words, or for workers started early)."""

    def take(self, count: int) -> list[Any]:
        return []

    def __len__(self) -> int:
        return 0

    def prepare(self, job: Any) -> None:
        pass


class Preview:
    """Builds the book into the preview folder, publishing each outcome to `status`."""

    def __init__(
        self,
        manifest: Path,
        folder: Path,
        formats: Sequence[str],
        layout: LayoutOptions,
        profiles: Sequence[str] = (),
    ) -> None:
        self.manifest, self.folder = manifest, folder
        self.formats, self.profiles = list(formats), list(profiles)
        self.layout = replace(layout, progress=Progress())  # the browser shows progress
        self.status = Status()
        self.count = 0

    def build(self) -> Outcome:
        """Build once; a bad book or a failed step is an outcome, not an exception."""
        self.count += 1
        self.status.started()
        started = time.perf_counter()
        try:
            run = run_build(
                self.manifest, self.folder, self.formats, self.profiles, False, self.layout
            )
        except BookError as exc:
            outcome = Outcome(self.count, False, _lines(exc), seconds=time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - a crash is shown, and the loop goes on
            log.debug("the preview's build failed", exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
            outcome = Outcome(self.count, False, (error,), seconds=time.perf_counter() - started)
        else:
            outcome = _succeeded(self.count, run)
        self.status.publish(outcome)
        if outcome.ok:
            self.layout = replace(self.layout, spares=NoSpareWorkers())
        return outcome


def _lines(error: BookError) -> tuple[str, ...]:
    return tuple(error.format_message().splitlines())


def _succeeded(number: int, run: BuildRun) -> Outcome:
    pdf = next((b for b in run.built if b.format == "pdf"), None)  # the first profile's
    printed = run.print_pages.get(pdf.profile) if pdf else None
    titles = {text.slug: text.title for text in run.book.all_texts}
    return Outcome(
        number,
        True,
        warnings=tuple(run.warnings),
        seconds=run.seconds,
        pdf=pdf.path if pdf else None,
        pdf_bytes=_read(pdf.path) if pdf else None,
        pages=pages_of_texts(printed.starts) if printed else {},
        titles=titles,
    )


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None

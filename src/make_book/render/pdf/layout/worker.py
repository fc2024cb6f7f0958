"""A layout worker: a process of its own that lays out the pieces it is sent.

Started by launch.py as `python -c …` with one end of a socket pair, rather
than through multiprocessing: it imports only what laying out needs (not the
whole command line, as a spawned child re-importing `__main__` does), and no
resource-tracker process comes with it. Messages are pickled (multiprocessing's
Connection), the classes of protocol.py: first a Brief (to a worker started before
its build knew its book, launch.py), then the LayoutJob, then a `Lay` per piece
and a `Folio` for each piece that asked for its first folio, `Stop` to end.
"""

from __future__ import annotations

import ctypes
import gc
import os
import queue
import resource
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from multiprocessing.connection import Connection
from pathlib import Path

from make_book.errors import RenderError
from make_book.frame_room import call_with_room
from make_book.render.pdf.layout.launch import AFTER, BRIEFED, READY, REMEMBERED
from make_book.render.pdf.layout.protocol import (
    Brief,
    Done,
    Failed,
    Folio,
    FromWorker,
    Lay,
    LayoutJob,
    Paginated,
    PiecePages,
    Stop,
)


def main(fd: int) -> None:
    """Lay out each piece sent until told to stop (`Stop`)."""
    after, ready = _pipe(AFTER), _pipe(READY)
    conn = Connection(fd)
    # The build went away (failed, interrupted or killed) or wants no worker after all:
    # stop without a word. (Ctrl-C is ignored from the start, launch.BOOT: the build ends
    # its workers.)
    with suppress(EOFError, BrokenPipeError, ConnectionResetError):
        cache = _cache_folder(conn)  # a briefed worker's waits for its build to say
        _signal(after, lambda pipe: os.read(pipe, 1))  # before its first core-second
        # WeasyPrint is imported here, the quick way, with make-book's patches
        # (render/weasy/patches/).
        from make_book.render.weasy import patches

        patches.install()
        _warm_up()
        remembered = _prepare_remembered(cache)  # before the next worker takes a core
        _signal(ready, lambda pipe: os.write(pipe, b"1"))
        job = _job(conn.recv(), remembered)
        _freeze_what_lasts()  # the job too, before any piece
        server = _Server(conn, job)
        while not isinstance(message := conn.recv(), Stop):
            server.take(message)
        # Its pieces finish even if the build goes away meanwhile: each PDF is written
        # atomically, and the worker leaves after them.
        server.finish()
    # Told to stop, the worker has no piece left: each was written before it was said
    # done. Skip the interpreter's teardown of WeasyPrint's objects (0.1 s or more), but
    # not the removal of its copies of the book's fonts, which that teardown would do.
    from make_book.render.weasy.session import release_font_config

    release_font_config()
    sys.stdout.flush()
    os._exit(0)


def _pipe(variable: str) -> int | None:
    """The pipe end the environment `variable` names, if any; taken out of the
    environment, and never inherited by a program this worker might start."""
    named = os.environ.pop(variable, "")
    if not named.isdigit():
        return None
    with suppress(OSError):
        os.set_inheritable(int(named), False)
    return int(named)


def _signal(pipe: int | None, act: Callable[[int], object]) -> None:
    """Read or write `pipe`, if any, then close it. Reading returns at the pipe's end
    too: a worker whose partner died goes on."""
    if pipe is None:
        return
    try:
        with suppress(OSError):
            act(pipe)
    finally:
        with suppress(OSError):
            os.close(pipe)


class _Server:
    """Each piece in a thread of its own, one running at a time.

    A piece waits for its first folio once it is paginated, until every piece
    before it is counted; meanwhile the pool may send this worker the next piece,
    which runs while the first waits (`running` passes between them only there,
    so WeasyPrint is never entered by two threads at once)."""

    def __init__(self, conn: Connection, job: LayoutJob) -> None:
        self.conn, self.job = conn, job
        self.sending, self.running = threading.Lock(), threading.Lock()
        self.folios: dict[int, queue.SimpleQueue[int]] = {}
        self.threads: list[threading.Thread] = []
        self.started = 0  # pieces started, every other one after freeing garbage

    def take(self, message: Lay | Folio) -> None:
        if isinstance(message, Folio):
            self.folios[message.index].put(message.folio)
            return
        self.folios[message.index] = queue.SimpleQueue()
        # Laid out from a roomy frame: WeasyPrint's recursion stays in one chunk of the
        # frame stack instead of mapping and unmapping one at every turn (frame_room.py).
        thread = threading.Thread(target=call_with_room, args=(self._serve, message), daemon=True)
        self.threads = [*(t for t in self.threads if t.is_alive()), thread]  # unfinished only
        thread.start()

    def finish(self) -> None:
        """Wait for the pieces this worker holds: told to stop while it draws its last
        piece, it leaves once that piece is written and said done."""
        for thread in self.threads:
            thread.join()

    def send(self, message: FromWorker) -> None:
        with self.sending, suppress(BrokenPipeError, ConnectionResetError):
            self.conn.send(message)

    def _serve(self, lay: Lay) -> None:
        index, folio = lay.index, lay.folio
        from make_book.render.pdf.layout.piece_layout import lay_out_piece

        def ask(paged: PiecePages) -> int:
            self.send(Paginated(index, paged))  # the build may act on it at once
            if folio is not None:
                return folio
            self.running.release()  # the next piece may run while this one waits
            try:
                return self.folios[index].get()
            finally:
                self.running.acquire()

        try:
            with self.running:  # measured here, before another piece runs
                self.started += 1
                if self.started % 2 == 0:
                    _collect_garbage()
                result = lay_out_piece(self.job, lay.html, lay.borrowed, ask, lay.out)
                _give_back_free_memory()
                held = memory_held_mb()
        except RenderError as refusal:  # make-book's own: said as it is
            self.send(Failed(index, str(refusal), verbatim=True))
            return
        except Exception as error:  # reported to the build, which names the piece
            self.send(Failed(index, f"{type(error).__name__}: {error}"))
            return
        finally:
            del self.folios[index]
        self.send(Done(index, result, held))


# English hyphenated (a narrow line: a word is hyphenated only where it must break),
# with italic and bold: what most pieces have.
WARM_UP = '<p lang="en" style="hyphens: auto; width: 3em">Hyphenation <em>and</em> <b>faces</b></p>'


def _warm_up() -> None:
    """Lay out and write a few words, while the build still reads its book.

    A worker's first piece paid about 0.2 s more than the next: the hyphenation
    dictionary (pyphen parses it, or reads it from a copy: patches/hyphenation.py),
    cffi's parse of the C types drawing uses, Pango's first fonts. Done here, on the
    core the build's own reading leaves free, that comes off an edit's wait for its one
    piece. Nothing is kept; a failure here is only the first piece paying it again."""
    import weasyprint

    from make_book.render.weasy.patches import hyphenation
    from make_book.render.weasy.session import font_config

    hyphenation.preload("en")  # WARM_UP's: from the copy parsed before, if any
    with suppress(Exception):
        weasyprint.HTML(string=WARM_UP).render(font_config=font_config()).write_pdf()


def _prepared(job: LayoutJob) -> LayoutJob:
    """The job, its stylesheet parsed and its fonts loaded now: the build sends it
    while it still renders the pieces' HTML, so the first piece does not wait for
    them. A failure here is the first piece's to report (piece_layout.py)."""
    from make_book.render.pdf.layout.piece_layout import prepare

    with suppress(Exception):
        prepare(job)
    return job


def _cache_folder(conn: Connection) -> Path | None:
    """The book's cache folder, whose last job is prepared: from the environment, or for
    a briefed worker (launch.BRIEFED) its first message. Taken out of the environment:
    nothing this process starts inherits it."""
    folder = os.environ.pop(REMEMBERED, "")
    if os.environ.pop(BRIEFED, ""):
        brief = conn.recv()
        if not isinstance(brief, Brief):
            raise RenderError(f"pdf: a layout worker was sent {type(brief).__name__} first")
        return brief.cache
    return Path(folder) if folder else None


def _prepare_remembered(folder: Path | None) -> LayoutJob | None:
    """The book's last job, prepared while the build still reads the book: an edit sends
    the same job, which is then ready (a stylesheet parsed once per job: piece_layout.py)."""
    if folder is None:
        return None
    from make_book.render.pdf.layout.last_job import remembered

    with suppress(Exception):  # at worst the job sent is prepared when it comes
        job = remembered(folder)
        if job is not None:
            return _prepared(job)
    return None


def _job(job: LayoutJob, remembered: LayoutJob | None) -> LayoutJob:
    """The job sent, prepared: if another was prepared before it, its fonts and stylesheet
    are dropped first (a theme that changed a face's file keeps its family's name)."""
    if remembered is not None and job != remembered:
        from make_book.render.pdf.layout.piece_layout import forget_prepared

        forget_prepared()
    return _prepared(job)


# Objects made before Python's youngest-generation collection runs (700 by default).
# A piece makes millions of short-lived objects (boxes, styles, text runs): collected
# less often, fewer survivors are scanned again and again. On the synthetic stress
# book, a worker's collections of the two younger generations took 0.14 s instead of
# 0.27 s, and its peak was no higher (206-210 MiB against 212-215).
YOUNG_OBJECTS = 10_000


def _freeze_what_lasts() -> None:
    """Set aside what the worker keeps to the end (WeasyPrint's modules, the user-agent
    stylesheets, cffi's types, its job's stylesheet and fonts), once the job is prepared
    and before any piece, so that no collection scans it again.

    Every full collection (Python's own, and _collect_garbage's before every other
    piece) went through all of it: on the synthetic stress book a worker's took 0.56 to
    0.65 s, and 0.27 to 0.37 s once it is set aside. Collected first (6 to 7 ms): the
    warm-up's garbage, and a remembered job the build replaced (_job), are not kept."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS)


def _collect_garbage() -> None:
    """Free what the pieces before left in reference cycles (each page's box tree, held
    by its footnote area's link back to the page; styles; the HTML tree), then return it,
    before this piece allocates: else a worker carries 10 to 15 MB a piece into the next
    ones until Python's own collection comes round, every four or five pieces.

    Before every other piece (_Server._serve): the synthetic stress book's cold build
    peaks at 211 MB (MiB, the process tree's) instead of 233 MB, for 0.3 s more of each
    worker's CPU in collections; before every piece, 202 MB for 0.7 s. Never after a
    piece: an edit's one piece would wait for it."""
    gc.collect()
    _give_back_free_memory()


def _give_back_free_memory() -> None:
    """Return the heap's free pages to the system once a piece is written: what a piece
    freed otherwise stays counted in the worker's memory (about 4 MB a worker)."""
    if sys.platform.startswith("linux"):
        with suppress(OSError, AttributeError):  # not glibc (musl has no malloc_trim)
            ctypes.CDLL(None).malloc_trim(0)


def memory_held_mb() -> float:
    """This process's resident memory now, between pieces, in MB: what it keeps, which
    the pool replaces it for if it grows. (Its peak is a piece's own size: a new worker
    would reach it again.) The peak so far where /proc is missing."""
    with suppress(OSError), open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / (1 << 20)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20 if sys.platform == "darwin" else 1 << 10)  # bytes there, KB here

"""The layout workers, seen from the build: starting, feeding, replacing and stopping them.

Workers are processes of their own (worker.py): WeasyPrint and its fonts load once per
worker, and one whose memory held between pieces passes `WORKER_MEMORY_MB` is replaced,
so that memory stays bounded however long the book. Which piece goes where is
pool.py's.

A worker is started before its job is known, so a big book's workers can be started
while its essays are still read (`EarlyWorkers`): importing WeasyPrint takes about a
second of a core, which the build's own process spends reading.
"""

from __future__ import annotations

import multiprocessing.connection
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from make_book.errors import RenderError
from make_book.render.pdf.layout import launch
from make_book.render.pdf.layout.launch import AFTER, READY, REMEMBERED, cores
from make_book.render.pdf.layout.launch import command as worker_command
from make_book.render.pdf.layout.protocol import Brief, FromWorker, Lay, LayoutJob, Stop

if TYPE_CHECKING:  # this module stays light: the command line takes its early worker
    # before it imports the build (cli/build.py), so that the worker's WeasyPrint loads
    # meanwhile
    from make_book.render.base import SpareWorkers
    from make_book.render.pdf.layout.pieces import Piece


# What a worker holds between pieces (WeasyPrint without the fontTools it seldom uses,
# fonts, caches) comes to about 50 MB after its first piece and 75 MB after ten, then
# stays there: on the stress book, 74-78 MB through 45 pieces a worker, once Pango's
# attribute lists are freed (attr_lists.py; before, it grew by 0.3-0.5 MB a piece).
# 10 to 15 MB a piece of that is garbage, freed before every other piece (worker.py):
# after a piece that was not preceded by a collection, two pieces' garbage is counted.
# One that grows past this anyway is replaced after its piece, when a piece is left
# for it. (A worker's peak is its biggest piece's size, which a new worker reaches too.)
WORKER_MEMORY_MB = 120
IN_FLIGHT = 2  # pieces a worker holds: one waiting for its folio, one laid out meanwhile


@dataclass
class Task:
    """A piece to lay out: its place in the book, its cache key, and its first folio."""

    index: int  # FRONT_MATTER, or the main matter's piece number
    piece: Piece
    key: str
    folio: int | None  # None: known once the pieces before it are counted


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    held_mb: float = 0.0  # resident memory after its last piece
    tasks: dict[int, Task] = field(default_factory=dict)  # sent, not done yet
    waiting: set[int] = field(default_factory=set)  # of those, counted and given no folio
    job: LayoutJob | None = None  # sent once, first (the handshake)
    told_to_stop: bool = False  # it leaves once its pieces are done (protocol.Stop)
    scratch: Path | None = None  # its temporary folder, removed once it has gone (stop)

    @property
    def free(self) -> bool:
        """Whether it can take a piece: it has none, or its pieces only wait (worker.py)."""
        if self.told_to_stop:
            return False
        return not self.tasks or (len(self.tasks) < IN_FLIGHT and self.waiting == set(self.tasks))

    def send(self, task: Task, out: Path) -> None:
        assert not self.told_to_stop, "a worker told to stop takes no more pieces"
        self.tasks[task.index] = task
        piece = task.piece
        self.conn.send(Lay(task.index, piece.html, piece.borrowed, out, task.folio))

    def receive(self) -> FromWorker:
        try:
            message: FromWorker = self.conn.recv()
        except (EOFError, ConnectionResetError):
            code = self.process.poll()
            raise RenderError(f"pdf: a layout worker stopped (exit code {code})") from None
        return message


def spawn(pipes: dict[str, int] | None = None, cache: Path | None = None) -> Worker:
    """A worker process, importing WeasyPrint until it is sent its job. `pipes`: the
    ends of a pipe it waits on or signals (launch.AFTER, launch.READY), by variable.
    `cache`: the book's cache, whose last job the worker prepares meanwhile (last_job.py)."""
    pipes = pipes or {}
    told = {k: str(v) for k, v in pipes.items()}
    if cache is not None:
        told[REMEMBERED] = str(cache.absolute())
    started = launch.start(told, pipes.values(), worker_command)
    return _worker(started)


def briefed(started: launch.Started, cache: Path | None) -> Worker:
    """A worker `launch.start_early` started, told the book's cache folder: it goes on to
    import WeasyPrint and prepare the last job found there. One that cannot be told (it
    died) is ended, and another started."""
    worker = _worker(started)
    try:
        worker.conn.send(Brief(cache.absolute() if cache is not None else None))
    except OSError:
        stop(worker)
        return spawn(cache=cache)
    except BaseException:  # Ctrl-C: never left running
        stop(worker)
        raise
    return worker


def _worker(started: launch.Started) -> Worker:
    conn = Connection(started.sock.detach())
    return Worker(started.process, conn, scratch=started.scratch)


def staggered(count: int, cache: Path | None = None) -> list[Worker]:
    """`count` workers, the last of them waiting to import WeasyPrint until the first has
    (and warmed up): with at least as many workers as cores, the build's own process,
    reading the book meanwhile, would otherwise be one busy process more than there are
    cores, and every worker wait longer for its first piece (0.15 to 0.3 s on a cold
    build of the stress book on two cores). If the first dies, the last goes on (the
    pipe's end)."""
    if count < 2:
        return [spawn(cache=cache) for _ in range(count)]
    after, ready = os.pipe()
    started: list[Worker] = []
    try:
        started.append(spawn({READY: ready}, cache))
        for _ in range(count - 2):
            started.append(spawn(cache=cache))
        started.append(spawn({AFTER: after}, cache))
    except BaseException:
        for worker in started:  # none of them is anyone's to stop yet
            stop(worker)
        raise
    finally:  # the workers hold their ends: the pipe ends when they do
        os.close(after)
        os.close(ready)
    return started


class EarlyWorkers:
    """Workers started before the book is loaded; the first pool takes them, and those
    left are stopped with the build (`with EarlyWorkers(n) as spares:`). With at least
    as many as this process may use cores, the last waits for the first (`staggered`).
    `cache`: the book's cache folder, whose last job they prepare while they wait.
    `early`: the first is the worker the command line started as it began (launch.py),
    if it did."""

    def __init__(self, count: int, cache: Path | None = None, early: bool = False) -> None:
        started = launch.take_early() if early else None
        if started is not None:  # started as the command line began: the first
            self.workers = [briefed(started, cache)]
            try:
                self.workers += [spawn(cache=cache) for _ in range(count - 1)]
            except BaseException:
                for worker in self.workers:
                    stop(worker)
                raise
        else:
            self.workers = (
                staggered(count, cache)
                if count >= cores()
                else [spawn(cache=cache) for _ in range(count)]
            )

    def take(self, count: int) -> list[Worker]:
        taken, self.workers = self.workers[:count], self.workers[count:]
        return taken

    def __len__(self) -> int:
        return len(self.workers)

    def prepare(self, job: LayoutJob) -> None:
        """Send them the job now, while the build still renders the pieces' HTML: each
        parses its stylesheet and loads the book's fonts meanwhile (worker.py), which a
        first piece would otherwise wait for (0.05 s of an edit)."""
        for worker in self.workers:
            if worker.job is None:
                give_job(worker, job)

    def __enter__(self) -> EarlyWorkers:
        return self

    def __exit__(self, failed: type[BaseException] | None, *exc: object) -> None:
        for worker in self.take(len(self.workers)):
            if failed is not None:  # nothing of theirs is wanted: do not wait for them
                worker.process.kill()
            stop(worker)


class Pool:
    def __init__(self, job: LayoutJob, size: int, spares: SpareWorkers | None = None) -> None:
        self.job, self.size = job, size
        self.leaving: list[Worker] = []  # told to stop, not waited for yet
        self.workers = spares.take(size) if spares is not None else []
        try:  # the workers taken are the pool's to stop, whatever fails from here
            for stale in [w for w in self.workers if w.job not in (None, job)]:
                stop(stale)  # prepared for another job: a worker takes only one
                self.workers.remove(stale)
            for _ in range(size - len(self.workers)):  # each the pool's once started
                self.workers.append(spawn())
            for worker in self.workers:
                if worker.job is None:
                    give_job(worker, job)
        except BaseException:
            self.close()
            raise

    def idle(self) -> list[Worker]:
        return [w for w in self.workers if not w.tasks]

    def busy(self) -> list[Worker]:
        return [w for w in self.workers if w.tasks]

    def free(self) -> list[Worker]:
        """Workers that can take a piece, the idle ones first."""
        return sorted((w for w in self.workers if w.free), key=lambda w: len(w.tasks))

    def ready(self, busy: list[Worker]) -> list[Worker]:
        """The workers that have said something, once one has (waiting until then)."""
        conns = multiprocessing.connection.wait([w.conn for w in busy])
        return [w for w in busy if w.conn in conns]

    def has_news(self, busy: list[Worker]) -> bool:
        """Whether a worker has said something (not waiting)."""
        return bool(multiprocessing.connection.wait([w.conn for w in busy], timeout=0))

    def recycle(self, wanted: int) -> None:
        """Stop the idle workers whose memory has grown past the limit, and start new
        ones while fewer than `wanted` are left: one with no piece to come would cost
        a second of a core to start, and its memory."""
        spent = [
            w
            for w in self.workers
            if not w.tasks and (w.told_to_stop or w.held_mb > WORKER_MEMORY_MB)
        ]
        for worker in spent:
            stop(worker)
        self.workers = [w for w in self.workers if w not in spent]
        self._start_up_to(min(wanted, self.size))

    def grow(self, size: int) -> None:
        """Take `size` workers, starting the new ones now."""
        self.size = max(self.size, size)
        self._start_up_to(self.size)

    def _start_up_to(self, count: int) -> None:
        """Start workers, each given the job, until the pool has `count`."""
        while len(self.workers) < count:
            self.workers.append(spawn())
            give_job(self.workers[-1], self.job)

    def retire_idle(self) -> None:
        """Tell the idle workers to leave, without waiting: one still starting (the last
        of a staggered start) reads it only once it has prepared its job, and the build
        goes on meanwhile; `close` waits for them."""
        for worker in self.idle():
            with suppress(OSError):
                worker.conn.send(Stop())
            worker.told_to_stop = True
            self.leaving.append(worker)
        self.workers = [w for w in self.workers if w.tasks]

    def retire_when_done(self) -> None:
        """No piece is left to send: each busy worker is told to leave once its pieces
        are done, which it does even while the build is busy making other outputs and
        reads nothing from it (as long as what it says fits in the socket's buffer, as a
        piece's messages do on Linux). A worker with a piece whose folio it was not sent
        yet is told later (it would wait for that folio after it stopped reading)."""
        for worker in self.busy():
            unsent = any(task.folio is None for task in worker.tasks.values())
            if not (worker.told_to_stop or unsent):
                with suppress(OSError):
                    worker.conn.send(Stop())
                worker.told_to_stop = True

    def close(self) -> None:
        for worker in [*self.leaving, *self.workers]:
            stop(worker)


def give_job(worker: Worker, job: LayoutJob) -> None:
    """The worker's first message: the job every piece it is sent is laid out with."""
    worker.conn.send(job)
    worker.job = job


def stop(worker: Worker) -> None:
    """Tell a worker to stop and wait for it (it removes its copies of the book's fonts
    as it leaves; its temporary folder is removed once it has gone, whatever ended it).
    One never given a job has nothing to finish (it may still be importing), and one
    still holding pieces would finish them first (protocol.Stop), or wait for a folio
    forever: either is ended at once. One given its job but no piece reads the Stop
    once it has prepared that job: up to a second or two for the last of a staggered
    start (`Pool.retire_idle` does not wait for it)."""
    try:
        if worker.job is None or worker.tasks:
            worker.process.kill()
        with suppress(OSError):
            worker.conn.send(Stop())
        try:
            worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
        worker.conn.close()
    finally:  # the worker's temporary folder, once nothing of its can write there
        if worker.scratch is not None and worker.process.poll() is not None:
            shutil.rmtree(worker.scratch, ignore_errors=True)


@contextmanager
def workers(job: LayoutJob, size: int, spares: SpareWorkers | None = None) -> Iterator[Pool]:
    pool = Pool(job, size, spares)
    try:
        yield pool
    except BaseException:
        for worker in pool.workers:  # a failure or Ctrl-C: do not wait for their pieces
            worker.process.kill()
        raise
    finally:
        pool.close()

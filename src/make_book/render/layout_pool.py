"""Laying out a book's pieces: from the cache, in this process, or in worker processes.

Pieces are taken in page order. A piece whose page count is unknown is laid out;
its worker reports the count as soon as pagination ends and waits for its first
folio, which is known once every piece before it has a count (see piecework.py).
A piece whose count the cache knows waits for its folio, then comes from the
cache if it was laid out at that folio before, else is laid out again. The front
matter goes once every other piece is paginated: its contents print the folios of
all the others, read from where each piece's anchors fell (told with its count).

Workers are processes of their own (worker.py): WeasyPrint and its fonts load once per
worker, and a worker whose peak memory passes `WORKER_MEMORY_MB` is replaced, so that
memory stays bounded however long the book.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from make_book.cache import PieceCache
from make_book.errors import RenderError
from make_book.memo import key_of
from make_book.progress import Progress
from make_book.render.pieces import Piece, PieceSpec
from make_book.render.piecetypes import LayoutJob, PieceResult
from make_book.render.worker import command as worker_command
from make_book.uptodate import weasyprint_version

# A worker's memory grows to a plateau (WeasyPrint's and the fonts' caches, the heap's
# high-water mark from its biggest piece): one past this is replaced after its piece.
WORKER_MEMORY_MB = 160
# glibc gives each thread that allocates a heap of its own, and a worker's pieces run in
# threads (worker.py): one heap for all keeps a worker at one piece's high-water mark
# (the stress book's peak: 280 MB with it, 302 MB without).
WORKER_HEAPS = {"MALLOC_ARENA_MAX": "1"}
IN_FLIGHT = 2  # pieces a worker holds: one waiting for its folio, one laid out meanwhile
POOL_FROM_WORDS = 20_000  # below this, starting workers costs more than it saves


@dataclass
class LaidOutBook:
    """Every piece laid out: the front matter, then the main matter in page order."""

    front: PieceResult
    main: list[PieceResult]
    folios: list[int]  # the first folio of each main piece
    warnings: list[str]
    laid_out: int  # pieces laid out in this build (the rest came from the cache)
    entries: list[tuple[str, int]]  # (cache key, first folio) of the front, then the main

    @property
    def page_count(self) -> int:
        return self.front.pages + sum(piece.pages for piece in self.main)

    @property
    def pieces(self) -> list[PieceResult]:
        return [self.front, *self.main]

    def passed_pages(self, profile: str) -> frozenset[int]:
        """Pages of pieces whose drawing passed `profile`'s preflight before."""
        pages: set[int] = set()
        first = 0
        for piece in self.pieces:
            if profile in piece.passed:
                pages.update(range(first, first + piece.pages))
            first += piece.pages
        return frozenset(pages)


@dataclass
class _Task:
    index: int  # -1: the front matter
    piece: Piece
    key: str
    folio: int | None  # None: known once the pieces before it are counted


@dataclass
class _Plan:
    """Which pieces are counted, which have their folio, which are done."""

    pieces: list[Piece]
    keys: list[str]
    cache: PieceCache
    counts: list[int | None]
    results: dict[int, PieceResult] = field(default_factory=dict)
    queued: set[int] = field(default_factory=set)
    reported: set[int] = field(default_factory=set)  # pieces the progress display has
    anchors: dict[int, dict[str, int]] = field(default_factory=dict)  # told with the count
    front_key: str = ""
    sink: Callable[[PieceResult], None] | None = None  # takes each piece, in page order
    sunk: int = 0

    def flush(self) -> None:
        """Hand the sink every piece whose predecessors it has had."""
        while self.sunk < len(self.pieces) and self.sunk in self.results:
            if self.sink is not None:
                self.sink(self.results[self.sunk])
            self.sunk += 1

    def folio(self, index: int) -> int | None:
        """1 for the first piece; else the folio after the pieces before, once counted."""
        before = self.counts[:index]
        return None if None in before else 1 + sum(c for c in before if c is not None)

    def ready(self) -> Iterator[_Task]:
        """Tasks that can go now; cache hits are taken on the way."""
        for index, piece in enumerate(self.pieces):
            if index in self.results or index in self.queued:
                continue
            folio = self.folio(index)
            if self.counts[index] is not None and folio is None:
                continue  # counted before; its folio is not known yet
            if folio is not None and self.counts[index] is not None:
                hit = self.cache.get(self.keys[index], folio)
                if hit is not None:
                    self.results[index] = hit
                    continue
            self.queued.add(index)
            yield _Task(index, piece, self.keys[index], folio)

    def placed(self) -> bool:
        """Whether every piece's anchors are known: the contents can be laid out."""
        return all(i in self.results or i in self.anchors for i in range(len(self.pieces)))

    def anchors_of(self, index: int) -> dict[str, int]:
        return self.results[index].anchors if index in self.results else self.anchors[index]

    def folios(self) -> list[int]:
        return [self.folio(i) or 0 for i in range(len(self.pieces))]


FrontMaker = Callable[[dict[str, int]], Piece]


def lay_out_book(
    job: LayoutJob,
    main: list[Piece],
    make_front: FrontMaker,
    cache: PieceCache,
    jobs: int,
    progress: Progress,
    sink: Callable[[PieceResult], None] | None = None,
) -> LaidOutBook:
    """Lay out (or find) every piece; `make_front(folios)` renders the front matter.

    `sink` is given each main piece as soon as it and those before it are done
    (the join copies it into the book while the rest is laid out)."""
    keys = [_key(job, piece) for piece in main]
    plan = _Plan(main, keys, cache, [cache.pages(key) for key in keys], sink=sink)
    progress.start(len(main) + 1)
    words = sum(p.spec.words for i, p in enumerate(main) if plan.counts[i] is None)
    runner = _run_in_pool if jobs > 1 and words >= POOL_FROM_WORDS else _run_here
    laid_out = runner(job, plan, make_front, max(1, jobs), progress)
    plan.flush()
    front = plan.results.pop(-1)
    ordered = [plan.results[i] for i in range(len(main))]
    warnings = list(dict.fromkeys(w for r in [front, *ordered] for w in r.warnings))
    progress.finish()
    folios = plan.folios()
    entries = [(plan.front_key, 1), *zip(keys, folios, strict=True)]
    return LaidOutBook(front, ordered, folios, warnings, laid_out, entries)


def _key(job: LayoutJob, piece: Piece) -> str:
    """Everything that can change the piece's pages: the job (a frozen dataclass, whose
    repr names every field), the piece's HTML, and WeasyPrint's version (key_of adds ours)."""
    return key_of(weasyprint_version(), job, piece.html)


def _front_task(job: LayoutJob, plan: _Plan, make_front: FrontMaker) -> _Task | None:
    """The front matter, once every piece is placed; None when the cache has it."""
    folios = {
        anchor: (plan.folio(i) or 0) + page
        for i in range(len(plan.pieces))
        for anchor, page in plan.anchors_of(i).items()
    }
    front = make_front(folios)
    key = plan.front_key = _key(job, front)
    hit = plan.cache.get(key, 1)
    if hit is not None:
        plan.results[-1] = hit
        return None
    return _Task(-1, front, key, 1)


# In this process.


def _run_here(
    job: LayoutJob, plan: _Plan, make_front: FrontMaker, _jobs: int, progress: Progress
) -> int:
    # WeasyPrint is imported only by a build that lays out in its own process.
    from make_book.render.piecework import install_folio_hook

    install_folio_hook()
    laid_out = 0
    while len(plan.results) < len(plan.pieces):
        task = next(plan.ready(), None)  # one at a time: each settles the next folio
        _advance_hits(plan, progress)
        if task is None:
            assert len(plan.results) == len(plan.pieces), "a piece with no folio, in order"
            break
        _finish(plan, task, _lay_out_here(job, plan, task), progress)
        plan.flush()
        laid_out += 1
    front = _front_task(job, plan, make_front)
    if front is not None:
        _finish(plan, front, _lay_out_here(job, plan, front), progress)
        laid_out += 1
    else:
        progress.advance(plan.results[-1].pages, laid_out=False)
    return laid_out


def _lay_out_here(job: LayoutJob, plan: _Plan, task: _Task) -> PieceResult:
    from make_book.render.piecework import lay_out_piece

    def ask(pages: int, _anchors: dict[str, int]) -> int:
        if task.folio is None:
            plan.counts[task.index] = pages
            task.folio = plan.folio(task.index)
        assert task.folio is not None, "pieces are laid out in page order"
        return task.folio

    out = plan.cache.pdf_path(task.key, task.folio)
    return _laid_out(
        task, lambda: lay_out_piece(job, task.piece.html, task.piece.borrowed, ask, out)
    )


def _laid_out(task: _Task, lay_out: Callable[[], PieceResult]) -> PieceResult:
    try:
        return lay_out()
    except RenderError:
        raise
    except Exception as error:  # WeasyPrint's own failure: name the piece it was laying out
        raise RenderError(f"pdf: laying out {_what(task.piece.spec)} failed: {error}") from error


def _what(spec: PieceSpec) -> str:
    return "the front matter" if spec.kind == "front" else f"'{spec.name}'"


def _finish(plan: _Plan, task: _Task, result: PieceResult, progress: Progress) -> None:
    if task.index >= 0:
        plan.counts[task.index] = result.pages
    assert task.folio is not None
    result.name = task.piece.spec.name
    plan.results[task.index] = plan.cache.store(task.key, task.folio, result)
    plan.queued.discard(task.index)
    plan.reported.add(task.index)
    progress.advance(result.pages)


def _advance_hits(plan: _Plan, progress: Progress) -> None:
    for index in sorted(set(plan.results) - plan.reported):
        if index >= 0:
            plan.reported.add(index)
            progress.advance(plan.results[index].pages, laid_out=False)


# In worker processes.


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    peak_mb: float = 0.0
    tasks: dict[int, _Task] = field(default_factory=dict)  # sent, not done yet
    waiting: set[int] = field(default_factory=set)  # of those, counted and given no folio

    @property
    def free(self) -> bool:
        """Whether it can take a piece: it has none, or its pieces only wait (worker.py)."""
        return not self.tasks or (len(self.tasks) < IN_FLIGHT and self.waiting == set(self.tasks))

    def send(self, task: _Task, out: Path) -> None:
        self.tasks[task.index] = task
        self.conn.send(("lay", task.index, task.piece.html, task.piece.borrowed, out, task.folio))

    def receive(self) -> tuple[Any, ...]:
        try:
            message: tuple[Any, ...] = self.conn.recv()
        except (EOFError, ConnectionResetError):
            code = self.process.poll()
            raise RenderError(f"pdf: a layout worker stopped (exit code {code})") from None
        return message


def _run_in_pool(
    job: LayoutJob, plan: _Plan, make_front: FrontMaker, jobs: int, progress: Progress
) -> int:
    laid_out = 0
    pending: list[_Task] = []
    front_sent = False
    with _workers(job, jobs) as pool:
        while True:
            pending += plan.ready()
            _advance_hits(plan, progress)
            # The contents go as soon as every piece is paginated, while the last are drawn.
            if not front_sent and plan.placed():
                front = _front_task(job, plan, make_front)
                if front is None:
                    progress.advance(plan.results[-1].pages, laid_out=False)
                pending += [front] if front is not None else []
                front_sent = True
            pending.sort(key=lambda t: (t.index < 0, t.index))  # page order, front last
            free = pool.free()
            for worker, task in zip(free, pending, strict=False):
                worker.send(task, plan.cache.pdf_path(task.key, task.folio))
            del pending[: len(free)]
            if front_sent and not pending:
                pool.retire_idle()  # nothing is left for them: their memory goes now
            busy = [w for w in pool.workers if w.tasks]
            if not busy and not pending:
                break
            for worker in pool.ready(busy):
                laid_out += _handle(worker, worker.receive(), plan, progress)
            _answer_folios(plan, pool.workers)
            plan.flush()
            pool.recycle()
    return laid_out


def _handle(worker: _Worker, message: tuple[Any, ...], plan: _Plan, progress: Progress) -> int:
    kind, index = message[0], message[1]
    task = worker.tasks[index]
    if kind == "count":
        plan.counts[index], plan.anchors[index] = message[2], message[3]
        worker.waiting.add(index)
        return 0
    if kind == "failed":
        raise RenderError(f"pdf: laying out {_what(task.piece.spec)} failed: {message[2]}")
    task.folio = task.folio or plan.folio(index)
    del worker.tasks[index]
    worker.peak_mb = message[3]
    _finish(plan, task, message[2], progress)
    return 1


def _answer_folios(plan: _Plan, workers: list[_Worker]) -> None:
    for worker in workers:
        for index in sorted(worker.waiting):
            folio = plan.folio(index)
            if folio is None:
                break  # a piece before it is not counted yet; later ones wait too
            worker.tasks[index].folio = folio
            worker.waiting.discard(index)
            worker.conn.send(("folio", index, folio))


class _Pool:
    def __init__(self, job: LayoutJob, size: int) -> None:
        self.job = job
        self.workers = [self._start() for _ in range(size)]

    def _start(self) -> _Worker:
        ours, theirs = socket.socketpair()
        with theirs:
            process = subprocess.Popen(
                worker_command(theirs.fileno()),
                pass_fds=[theirs.fileno()],
                env={**os.environ, **WORKER_HEAPS},
            )
        conn = Connection(ours.detach())
        conn.send(self.job)
        return _Worker(process, conn)

    def idle(self) -> list[_Worker]:
        return [w for w in self.workers if not w.tasks]

    def free(self) -> list[_Worker]:
        """Workers that can take a piece, the idle ones first."""
        return sorted((w for w in self.workers if w.free), key=lambda w: len(w.tasks))

    def ready(self, busy: list[_Worker]) -> list[_Worker]:
        conns = multiprocessing.connection.wait([w.conn for w in busy])
        return [w for w in busy if w.conn in conns]

    def recycle(self) -> None:
        """Replace a worker whose memory has grown past the limit."""
        for i, worker in enumerate(self.workers):
            if not worker.tasks and worker.peak_mb >= WORKER_MEMORY_MB:
                _stop(worker)
                self.workers[i] = self._start()

    def retire_idle(self) -> None:
        for worker in self.idle():
            _stop(worker)
        self.workers = [w for w in self.workers if w.tasks]

    def close(self) -> None:
        for worker in self.workers:
            _stop(worker)


def _stop(worker: _Worker) -> None:
    with suppress(OSError):
        worker.conn.send(None)
    try:
        worker.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait()
    worker.conn.close()


@contextmanager
def _workers(job: LayoutJob, size: int) -> Iterator[_Pool]:
    pool = _Pool(job, size)
    try:
        yield pool
    except BaseException:
        for worker in pool.workers:  # a failure or Ctrl-C: do not wait for their pieces
            worker.process.kill()
        raise
    finally:
        pool.close()

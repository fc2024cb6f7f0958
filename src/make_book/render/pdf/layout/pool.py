"""Laying out a book's pieces: from the cache, in this process, or in worker processes.

Pieces are made (their HTML rendered, keyed and looked up in the cache) in page order,
those holding an essay an edit changed first (in a cold build, none: page order), and
only as far as needed to decide how many workers to start: the first goes to a worker
while the rest are made. A piece whose page count is unknown is laid out;
its worker reports the count as soon as pagination ends and waits for its first
folio, which is known once every piece before it has a count (see piece_layout.py).
A piece whose count the cache knows waits for its folio, then comes from the
cache if it was laid out at that folio before, else is laid out again. The front
matter goes once every other piece is paginated: its contents print the folios of
all the others, read from where each piece's anchors fell (told with its count).
The workers themselves are workers.py's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path

from make_book.cache.memo import key_of
from make_book.errors import RenderError
from make_book.progress import Progress
from make_book.render.base import LayoutOptions
from make_book.render.pdf.layout import last_job
from make_book.render.pdf.layout.piece_cache import PieceCache
from make_book.render.pdf.layout.pieces import Piece, PieceSpec
from make_book.render.pdf.layout.protocol import (
    FRONT_MATTER,
    POOL_FROM_WORDS,
    Failed,
    Folio,
    FromWorker,
    LayoutJob,
    Paginated,
    PiecePages,
    PieceResult,
)
from make_book.render.pdf.layout.workers import Pool, Task, Worker, workers
from make_book.render.weasy.patches.fence import weasyprint_version
from make_book.source.manifest_types import Manifest

BYTES_PER_WORD = 6  # of Markdown or HTML source, about: a book's size before it is read


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


PieceMaker = Callable[[PieceSpec], Piece]


@dataclass
class _Plan:
    """Which pieces are made, which are counted, which have their folio, which are done."""

    specs: list[PieceSpec]  # every main piece, in page order
    make: PieceMaker
    job: LayoutJob
    cache: PieceCache
    first: frozenset[str] = frozenset()  # slugs of essays whose pieces are made first
    pieces: dict[int, Piece] = field(default_factory=dict)  # made so far, by index
    keys: dict[int, str] = field(default_factory=dict)
    counts: list[int | None] = field(init=False)  # from the cache, or counted
    order: list[int] = field(init=False)  # in which the pieces are made
    words: int = 0  # of the pieces made so far that the cache had no count of
    results: dict[int, PieceResult] = field(default_factory=dict)
    queued: set[int] = field(default_factory=set)
    reported: set[int] = field(default_factory=set)  # pieces the progress display has
    paged: dict[int, PiecePages] = field(default_factory=dict)  # told once paginated
    front_key: str = ""
    front_paged: PiecePages | None = None  # told by its worker once it is paginated
    front_sent: bool = False  # the front matter's task is made (or it came from the cache)
    sink: Callable[[PieceResult], None] | None = None  # takes each piece, in page order
    sunk: int = 0

    def __post_init__(self) -> None:
        self.counts = [None] * len(self.specs)
        self.order = sorted(range(len(self.specs)), key=lambda i: not self._edited(i))

    def _edited(self, index: int) -> bool:
        """Whether the piece holds an essay an edit changed: made first (a cache hit, if
        it only reads images), it goes to a worker before the others are rendered."""
        return any(essay.slug in self.first for essay, _ in self.specs[index].essays)

    def _made_up_to(self) -> int:
        """How many pieces, from the first, are made: a task for a piece past them is ahead."""
        return next((i for i in range(len(self.specs)) if i not in self.pieces), len(self.specs))

    def made_all(self) -> bool:
        return len(self.pieces) == len(self.specs)

    def make_next(self) -> None:
        """Render the next piece's HTML, key it, and find its page count in the cache."""
        index = self.order[len(self.pieces)]
        piece = self.pieces[index] = self.make(self.specs[index])
        key = self.keys[index] = _key(self.job, piece)
        self.counts[index] = self.cache.pages(key)
        self.words += piece.spec.words if self.counts[index] is None else 0

    def make_more(self, until: Callable[[], bool] = lambda: False) -> None:
        """Make pieces (one at least, if any is left) until every one is made or
        `until()` says so."""
        while not self.made_all():
            self.make_next()
            if until():
                return

    def flush(self, until: Callable[[], bool] = lambda: False) -> None:
        """Hand the sink every piece whose predecessors it has had, or stop early once
        `until()` says so (checked after each piece)."""
        while self.sunk < len(self.specs) and self.sunk in self.results:
            if self.sink is not None:
                self.sink(self.results[self.sunk])
            self.sunk += 1
            if until():
                return

    def folio(self, index: int) -> int | None:
        """1 for the first piece; else the folio after the pieces before, once counted."""
        before = self.counts[:index]
        return None if None in before else 1 + sum(c for c in before if c is not None)

    def _folios(self) -> list[int | None]:
        """Every piece's `folio`, in one pass (None for those after a piece not counted)."""
        folios: list[int | None] = []
        next_folio: int | None = 1
        for count in self.counts:
            folios.append(next_folio)
            next_folio = None if next_folio is None or count is None else next_folio + count
        return folios

    def ready(self) -> Iterator[Task]:
        """Tasks that can go now; cache hits are taken on the way.

        One task at a time goes ahead of pieces not made yet (an edited piece). Every
        other task's earlier pieces are made, and go first: a task waiting for its folio
        waits only for pieces sent before it, in the slots its worker and the others have
        left. Two tasks ahead could fill every slot with pieces waiting for folios that
        nothing would ever count (a restyled book: no page count in the cache)."""
        made_up_to = self._made_up_to()
        ahead = any(index >= made_up_to for index in self.queued)
        folios = self._folios()  # once a call, not a sum over the counts for each piece
        for index, piece in sorted(self.pieces.items()):
            if index in self.results or index in self.queued:
                continue
            folio = folios[index]
            if self.counts[index] is not None and folio is None:
                continue  # counted before; its folio is not known yet
            if folio is not None and self.counts[index] is not None:
                hit = self.cache.get(self.keys[index], folio)
                if hit is not None:
                    self.results[index] = hit
                    continue
            if index >= made_up_to:
                if ahead:
                    continue  # it goes once the pieces before it are made
                ahead = True
            self.queued.add(index)
            yield Task(index, piece, self.keys[index], folio)

    def placed(self) -> bool:
        """Whether every piece's anchors are known: the contents can be laid out."""
        pieces = range(len(self.specs))
        return self.made_all() and all(i in self.results or i in self.paged for i in pieces)

    def paged_of(self, index: int) -> PiecePages:
        return self.results[index].paged if index in self.results else self.paged[index]

    def main_paged(self) -> list[PiecePages]:
        """Every main piece's pages, once `placed()`."""
        return [self.paged_of(i) for i in range(len(self.specs))]

    def front_pages(self) -> PiecePages | None:
        """The front matter's pages, once it is paginated (or came from the cache)."""
        front = self.results.get(FRONT_MATTER)
        return front.paged if front is not None else self.front_paged

    def folios(self) -> list[int]:
        return [folio or 0 for folio in self._folios()]


FrontMaker = Callable[[dict[str, int]], Piece]


@dataclass(frozen=True)
class MainPaged:
    """A milestone: every main piece is paginated (some may still be drawn); the front
    matter is not yet, its contents printing their folios."""

    main: list[PiecePages]


@dataclass(frozen=True)
class Counted:
    """A milestone: every piece paginated, the front matter too (some may still be drawn)."""

    front: PiecePages
    main: list[PiecePages]

    @property
    def page_count(self) -> int:
        return self.front.pages + sum(piece.pages for piece in self.main)


# What laying out a book yields on its way, once each, in this order (see lay_out_book).
Milestone = MainPaged | Counted
LayingOut = Generator[Milestone, None, LaidOutBook]


def lay_out_book(
    job: LayoutJob,
    main: list[PieceSpec],
    make: PieceMaker,
    make_front: FrontMaker,
    cache: PieceCache,
    options: LayoutOptions,
    sink: Callable[[PieceResult], None] | None = None,
) -> LayingOut:
    """Lay out (or find) every main piece, `make(spec)` rendering each; `make_front(folios)`
    renders the front matter.

    A generator: it yields MainPaged once every main piece is paginated, then Counted
    once the front matter is too (pieces may still be drawn: in a cold build the front
    matter, in a rebuild the edited piece), and returns the LaidOutBook. Whoever
    drives it may do other work at each milestone while the workers go on. `sink` is
    given each main piece as soon as it and those before it are done (the join copies
    it into the book while the rest is laid out). `options.spares`: workers started
    while the book loaded, taken first; `options.waiting`: called the first time this
    process waits for its workers."""
    progress = options.progress
    plan = _Plan(main, make, job, cache, options.first, sink=sink)
    progress.start(len(main) + 1)
    size = _decided_pool_size(plan, options)
    if size:
        laid_out = yield from _run_in_pool(job, plan, make_front, size, options)
        last_job.remember(cache.cache, job)  # for the next build's first worker
    else:
        plan.make_more()
        laid_out = yield from _run_here(job, plan, make_front, progress)
    plan.flush()
    front = plan.results.pop(FRONT_MATTER)
    ordered = [plan.results[i] for i in range(len(main))]
    warnings = list(dict.fromkeys(w for r in [front, *ordered] for w in r.warnings))
    progress.finish()
    folios = plan.folios()
    keys = [plan.keys[i] for i in range(len(main))]
    entries = [(plan.front_key, 1), *zip(keys, folios, strict=True)]
    return LaidOutBook(front, ordered, folios, warnings, laid_out, entries)


def early_workers(manifest: Manifest, jobs: int, cache_dir: Path | None) -> int:
    """Workers worth starting before the book is read (layout/workers.py's EarlyWorkers): none for a
    small book or a layout in one process; one when the cache has pieces already (a
    rebuild lays out few); else one per job."""
    if jobs < 2:
        return 0
    size = 0
    for ref in manifest.essay_refs:
        with suppress(OSError):  # a missing essay is reported when the book loads
            size += (manifest.root / ref.path).stat().st_size
    if size < POOL_FROM_WORDS * BYTES_PER_WORD:
        return 0
    return 1 if PieceCache.has_pieces(cache_dir) else jobs


def _decided_pool_size(plan: _Plan, options: LayoutOptions) -> int:
    """How many workers lay out (0: this process does), making pieces only until that
    is known. Below POOL_FROM_WORDS a worker costs more than it saves, unless it was
    started while the book loaded: then it has imported WeasyPrint already, and this
    process has not. (The pool grows later if a rebuild turns out to have words
    enough for every job: `_grown`.)"""
    jobs, spares = options.jobs, options.spares
    if jobs < 2:
        return 0
    spare = min(len(spares), jobs) if spares is not None else 0
    while True:
        if plan.words >= POOL_FROM_WORDS:
            return jobs
        if (spare and plan.words) or plan.made_all():
            return spare
        plan.make_next()


def _free_or_news(pool: Pool, busy: list[Worker]) -> bool:
    """Whether a worker can take a piece, or has something to say."""
    return bool(pool.free()) or pool.has_news(busy)


def _grown(pool: Pool, plan: _Plan, jobs: int) -> None:
    """A pool started with the spare workers of a rebuild takes every job once the pieces
    made since have words enough (a new stylesheet: every piece laid out again)."""
    if pool.size < jobs and plan.words >= POOL_FROM_WORDS:
        pool.grow(jobs)


def _key(job: LayoutJob, piece: Piece) -> str:
    """Everything that can change the piece's pages: the job, the piece's HTML, and
    WeasyPrint's version (key_of adds ours). Digests, not reprs: an edit build keys
    every piece, and the repr of a piece's HTML copies it (0.1 s for a 1,500-page book)."""
    html = hashlib.sha256(piece.html.encode("utf-8", "surrogatepass")).hexdigest()
    return key_of(weasyprint_version(), _job_digest(job), html)


@lru_cache(maxsize=8)  # one job per profile; serve keeps few
def _job_digest(job: LayoutJob) -> str:
    """The job's hash (a frozen dataclass, whose repr names every field), once per job."""
    return key_of(job)


def _front_task(job: LayoutJob, plan: _Plan, make_front: FrontMaker) -> Task | None:
    """The front matter, once every piece is placed; None when the cache has it."""
    firsts = plan.folios()
    folios = {
        anchor: firsts[i] + page
        for i in range(len(plan.specs))
        for anchor, page in plan.paged_of(i).anchors.items()
    }
    front = make_front(folios)
    key = plan.front_key = _key(job, front)
    hit = plan.cache.get(key, 1)
    if hit is not None:
        plan.results[FRONT_MATTER] = hit
        return None
    return Task(FRONT_MATTER, front, key, 1)


# In this process.


def _run_here(
    job: LayoutJob, plan: _Plan, make_front: FrontMaker, progress: Progress
) -> Generator[Milestone, None, int]:
    # WeasyPrint is imported only by a build that lays out in its own process.
    from make_book.render.weasy import patches

    patches.install()
    laid_out = 0
    while len(plan.results) < len(plan.specs):
        task = next(plan.ready(), None)  # one at a time: each settles the next folio
        _advance_hits(plan, progress)
        if task is None:
            assert len(plan.results) == len(plan.specs), "a piece with no folio, in order"
            break
        _finish(plan, task, _lay_out_here(job, plan, task), progress)
        plan.flush()
        laid_out += 1
    yield _main_paged(plan)
    front = _front_task(job, plan, make_front)
    if front is not None:
        _finish(plan, front, _lay_out_here(job, plan, front), progress)
        laid_out += 1
    else:
        progress.advance(plan.results[FRONT_MATTER].pages, laid_out=False)
    yield _counted(plan)
    return laid_out


def _lay_out_here(job: LayoutJob, plan: _Plan, task: Task) -> PieceResult:
    from make_book.render.pdf.layout.piece_layout import lay_out_piece

    def ask(paged: PiecePages) -> int:
        if task.folio is None:
            plan.counts[task.index] = paged.pages
            task.folio = plan.folio(task.index)
        assert task.folio is not None, "pieces are laid out in page order"
        return task.folio

    out = plan.cache.pdf_path(task.key, task.folio)
    return _laid_out(
        task, lambda: lay_out_piece(job, task.piece.html, task.piece.borrowed, ask, out)
    )


def _laid_out(task: Task, lay_out: Callable[[], PieceResult]) -> PieceResult:
    try:
        return lay_out()
    except RenderError:
        raise
    except Exception as error:  # WeasyPrint's own failure: name the piece it was laying out
        what = f"{_what(task.piece.spec)} failed: {type(error).__name__}: {error}"
        raise RenderError(f"pdf: laying out {what}") from error


def _what(spec: PieceSpec) -> str:
    return "the front matter" if spec.kind == "front" else f"'{spec.name}'"


def _finish(plan: _Plan, task: Task, result: PieceResult, progress: Progress) -> None:
    if task.index != FRONT_MATTER:
        plan.counts[task.index] = result.pages
    assert task.folio is not None
    result.name = task.piece.spec.name
    plan.results[task.index] = plan.cache.store(task.key, task.folio, result)
    plan.queued.discard(task.index)
    plan.reported.add(task.index)
    progress.advance(result.pages)


def _advance_hits(plan: _Plan, progress: Progress) -> None:
    for index in sorted(set(plan.results) - plan.reported):
        if index != FRONT_MATTER:
            plan.reported.add(index)
            progress.advance(plan.results[index].pages, laid_out=False)


# In worker processes.


def _run_in_pool(
    job: LayoutJob,
    plan: _Plan,
    make_front: FrontMaker,
    size: int,
    options: LayoutOptions,
) -> Generator[Milestone, None, int]:
    progress, waiting = options.progress, options.waiting
    laid_out = 0
    paged = counted = False  # whether MainPaged and Counted were yielded
    pending: list[Task] = []
    with workers(job, size, options.spares) as pool:
        while True:
            # Folios known since the last turn go first: a worker may wait for one that
            # making the pieces before its own settled (an edit's piece goes first), and
            # no message of its would come to prompt it.
            _answer_folios(plan, pool.workers)
            pending += plan.ready()
            # The contents go as soon as every piece is paginated, while the last are drawn.
            pending += _front_once_placed(job, plan, make_front, progress)
            _dispatch(pool, plan, pending)
            _advance_hits(plan, progress)  # after: a progress bar's start waits for no piece
            if not paged and plan.placed() and _front_gone(plan, pending):
                yield _main_paged(plan)  # drafts are made while the front matter is paginated
                paged = True
            if not counted and _all_paginated(plan):
                yield _counted(plan)  # the EPUB is made while the last pieces are drawn
                counted = True
            busy = pool.busy()
            if not plan.made_all():  # the rest are made while the workers lay out
                plan.make_more(until=partial(_free_or_news, pool, busy))
                _grown(pool, plan, options.jobs)
                if not pool.has_news(busy):
                    continue  # a worker is free for what was made, or more is to be made
            elif not busy and not pending:
                break
            # The join copies pieces while the workers lay out, until one has news.
            plan.flush(until=partial(pool.has_news, busy))
            if waiting is not None and not pool.has_news(busy):
                waiting()  # once: the build may use this wait (an edit's longest)
                waiting = None
            for worker in pool.ready(busy):
                laid_out += _handle(worker, worker.receive(), plan, progress)
            pool.recycle(wanted=len(pool.busy()) + len(pending) + (not plan.front_sent))
    if not paged:
        yield _main_paged(plan)
    if not counted:
        yield _counted(plan)
    return laid_out


def _front_once_placed(
    job: LayoutJob, plan: _Plan, make_front: FrontMaker, progress: Progress
) -> list[Task]:
    """The front matter's task, the first time every piece is placed ([] if cached)."""
    if plan.front_sent or not plan.placed():
        return []
    plan.front_sent = True
    front = _front_task(job, plan, make_front)
    if front is None:
        progress.advance(plan.results[FRONT_MATTER].pages, laid_out=False)
        return []
    return [front]


def _dispatch(pool: Pool, plan: _Plan, pending: list[Task]) -> None:
    """Send free workers the pending pieces in page order, the front matter last."""
    pending.sort(key=lambda t: (t.index == FRONT_MATTER, t.index))
    free = pool.free()
    for worker, task in zip(free, pending, strict=False):
        worker.send(task, plan.cache.pdf_path(task.key, task.folio))
    del pending[: len(free)]
    if plan.front_sent and not pending:
        pool.retire_idle()  # nothing is left for them: their memory goes now
        pool.retire_when_done()


def _all_paginated(plan: _Plan) -> bool:
    """Whether every piece, the front matter too, is paginated or done."""
    return plan.front_pages() is not None and plan.placed()


def _front_gone(plan: _Plan, pending: list[Task]) -> bool:
    """Whether the front matter went to a worker (or came from the cache): it is the
    book's last piece to lay out, and nothing this process makes should hold it back."""
    return plan.front_sent and all(task.index != FRONT_MATTER for task in pending)


def _main_paged(plan: _Plan) -> MainPaged:
    return MainPaged(plan.main_paged())


def _counted(plan: _Plan) -> Counted:
    """The Counted milestone: every piece's pages, the front matter's first."""
    front = plan.front_pages()
    assert front is not None, "the front matter is paginated"
    return Counted(front, plan.main_paged())


def _handle(worker: Worker, message: FromWorker, plan: _Plan, progress: Progress) -> int:
    """Act on a worker's message; how many pieces it finished (0 or 1)."""
    index = message.index
    task = worker.tasks[index]
    if isinstance(message, Paginated):
        if index == FRONT_MATTER:
            plan.front_paged = message.paged
            return 0
        # Counted now, not once drawn: the pieces after it get their folios sooner.
        plan.counts[index], plan.paged[index] = message.paged.pages, message.paged
        if task.folio is None:
            worker.waiting.add(index)
        return 0
    if isinstance(message, Failed):
        if message.verbatim:
            raise RenderError(message.error)
        raise RenderError(f"pdf: laying out {_what(task.piece.spec)} failed: {message.error}")
    task.folio = task.folio or plan.folio(index)
    del worker.tasks[index]
    worker.held_mb = message.held_mb
    _finish(plan, task, message.result, progress)
    return 1


def _answer_folios(plan: _Plan, workers: list[Worker]) -> None:
    for worker in workers:
        for index in sorted(worker.waiting):
            folio = plan.folio(index)
            if folio is None:
                break  # a piece before it is not counted yet; later ones wait too
            worker.tasks[index].folio = folio
            worker.waiting.discard(index)
            worker.conn.send(Folio(index, folio))

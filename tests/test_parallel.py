"""Parallel, cached layout: the joined pieces read as the book laid out whole.

The reference is the one-document layout (`render.pdf.layout`, print.html): the
PDF made piece by piece, in worker processes, must have the same pages with the
same text (folios and running heads included), the same outline, and links that
land on the same pages. The cache must give the same bytes as a cold build, lay
out only what changed, and never use a corrupt or stale entry.
"""

from __future__ import annotations

import json
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import ANY

import pikepdf
import psutil
import pypdf
import pytest

from helpers import BookCopy, fails_if_longer_than, one_document_pdf, python_says
from make_book.build.driver import load, run_build
from make_book.build.meanwhile import Meanwhile
from make_book.errors import RenderError
from make_book.profiles import PROFILES
from make_book.progress import LineProgress, Progress
from make_book.render.base import LayoutOptions, RenderContext
from make_book.render.epub import package as epub
from make_book.render.pdf import page_css, preflight_gate, print_layout
from make_book.render.pdf.join.book_join import BookJoin
from make_book.render.pdf.layout import launch, pool, workers
from make_book.render.pdf.layout import worker as worker_module
from make_book.render.pdf.layout.piece_cache import CACHE_FOLDER, PieceCache
from make_book.render.pdf.layout.pieces import Piece, PieceSpec
from make_book.render.pdf.layout.protocol import Folio, Lay, Paginated, PiecePages, Stop
from make_book.render.pdf.renderer import PdfRenderer


def pieces_pdf(manifest: Path, out: Path, options: LayoutOptions) -> Path:
    run_build(manifest, out, ["pdf"], layout=options)
    return out / "book.pdf"


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def outline(path: Path) -> list[tuple[int, str, int]]:
    reader = pypdf.PdfReader(path)
    found: list[tuple[int, str, int]] = []

    def walk(items: list[object], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return found


def link_targets(path: Path) -> list[tuple[int, int]]:
    """(page of the link, page it lands on) for every internal link."""
    with pikepdf.open(path) as document:
        names = dict(pikepdf.NameTree(document.Root.Names.Dests).items())
        pages = {page.objgen: index for index, page in enumerate(document.pages)}
        links = []
        for index, page in enumerate(document.pages):
            for annotation in page.obj.get("/Annots", []):
                if "/Dest" in annotation:
                    target = names[str(annotation.Dest)]
                    links.append((index, pages[target[0].objgen]))
        return links


@pytest.fixture
def in_pool(monkeypatch: pytest.MonkeyPatch) -> LayoutOptions:
    """Two worker processes, even for a small book."""
    monkeypatch.setattr(pool, "POOL_FROM_WORDS", 0)
    return LayoutOptions(jobs=2, cache_dir=None)


@pytest.mark.parametrize("name", ["mixed", "sample"])
def test_pieces_read_as_the_book_laid_out_whole(
    name: str, book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions
) -> None:
    manifest = book_copy(name)
    whole = one_document_pdf(manifest, tmp_path / "whole.pdf")
    joined = pieces_pdf(manifest, tmp_path / "dist", in_pool)
    assert len(pypdf.PdfReader(joined).pages) == len(pypdf.PdfReader(whole).pages)
    # Every page's text: body, folios, running heads and contents numbers.
    assert page_texts(joined) == page_texts(whole)
    assert outline(joined) == outline(whole)
    assert link_targets(joined) == link_targets(whole)
    assert link_targets(joined), "the contents links"


def test_the_joined_file_is_one_whole_tagged_pdf(
    book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions
) -> None:
    """Written object by object (render/pdf/join/object_writer.py): qpdf finds no fault, and the
    structure tree is one tree whose parent tree covers every page and link."""
    joined = pieces_pdf(book_copy("mixed"), tmp_path / "dist", in_pool)
    with pikepdf.open(joined) as document:
        assert document.check_pdf_syntax() == []
        root = document.Root.StructTreeRoot
        (book,) = list(root.K)
        assert book.S == "/Document" and book.P.objgen == root.objgen
        parents = list(root.ParentTree.Nums)
        keys = [int(key) for key in parents[::2]]
        assert keys == sorted(set(keys)) and int(root.ParentTreeNextKey) == keys[-1] + 1
        used = [int(page.obj.StructParents) for page in document.pages]
        used += [
            int(link.StructParent)
            for page in document.pages
            for link in page.obj.get("/Annots", [])
        ]
        assert sorted(used) == keys
        for element in book.K:  # every piece's top elements hang from the book's
            assert element.P.objgen == book.objgen
        assert str(document.Root.Lang) and "/Metadata" in document.Root


def test_in_process_and_pool_give_the_same_bytes(
    book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same book either way; a pooled layout tells the build once, the first time
    it waits for its workers (the build then does its chores meanwhile)."""
    waits: list[int] = []
    monkeypatch.setattr(Meanwhile, "__call__", lambda self: waits.append(len(self.chores)))
    manifest = book_copy("mixed")
    here = pieces_pdf(manifest, tmp_path / "here", LayoutOptions(jobs=1))
    assert waits == [], "no workers to wait for"
    pooled = pieces_pdf(manifest, tmp_path / "pool", in_pool)
    assert here.read_bytes() == pooled.read_bytes()
    chores = len(PdfRenderer.later_imports) + 1  # its imports, then its `meanwhile`
    assert waits == [chores], "once, though it waited often"


def test_the_build_does_its_chores_in_a_thread_while_it_waits() -> None:
    """Each renderer's `later_imports` names modules there are; the build imports them
    and runs the renderers' chores in a thread of its own, which it joins; a chore
    that fails says nothing and the next still runs."""
    import importlib.util

    from make_book.build.driver import RENDERERS

    named = [name for renderer in RENDERERS.values() for name in renderer.later_imports]
    assert named and all(importlib.util.find_spec(name) for name in named)
    code = (
        "import sys, threading\n"
        "from make_book.build.meanwhile import Meanwhile\n"
        "done = []\n"
        "chores = Meanwhile()\n"
        "chores.imports(['colorsys', 'no_such_module', 'colorsys'])\n"
        "chores.add(lambda: 1 / 0)\n"
        "chores.add(lambda: done.append(threading.current_thread().name))\n"
        "assert 'colorsys' not in sys.modules and len(chores.chores) == 4\n"
        "chores(); chores()  # a second call starts nothing more\n"
        "chores.join()\n"
        "assert 'colorsys' in sys.modules and done == ['make-book-meanwhile']\n"
        "assert threading.active_count() == 1\n"
        "cancelled = Meanwhile()\n"
        "cancelled.add(lambda: cancelled.cancelled.wait(10))  # runs until cancelled\n"
        "cancelled.add(lambda: done.append('after the cancel'))\n"
        "cancelled(); cancelled.cancel()\n"
        "assert done == ['make-book-meanwhile'], done\n"
        "print('done')\n"
    )
    assert python_says(code) == (0, "done\n", "")


def test_what_needs_little_of_the_layout_is_made_while_the_front_matter_is_laid_out(
    book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The front matter goes last, to one worker: while it is paginated, this process
    makes the web edition and the EPUB's essay pages (they need the main matter's page
    starts only); once it is paginated (every page start is known), the cover and the
    EPUB, before its worker says it is done. Each essay's EPUB page is made once, and
    the files are the ones a layout in one process makes."""
    manifest = book_copy("mixed")
    formats = ["pdf", "cover", "epub", "html"]
    run_build(manifest, tmp_path / "here", formats, layout=LayoutOptions(jobs=1))
    events = record_events(monkeypatch)
    pooled = run_build(manifest, tmp_path / "pool", formats, layout=in_pool)
    assert [b.format for b in pooled.built] == formats
    for name in ("book.pdf", "cover.pdf", "book.epub", "html/index.html"):
        assert (tmp_path / "pool" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()
    assert events.index("front sent") < events.index("draft")
    assert events.index("drafted") < events.index("front paginated") < events.index("epub")
    assert events.index("epub") < events.index("piece done front")
    _config, book = load(manifest)
    pages = [e.removeprefix("page ") for e in events if e.startswith("page ")]
    drafting = events[events.index("draft") + 1 : events.index("drafted")]
    drafted = [e.removeprefix("page ") for e in drafting]
    assert sorted(drafted) == sorted(e.slug for e in book.essays + book.back)
    assert sorted(pages) == sorted(e.slug for e in book.all_texts), "each made once"


def test_a_rebuild_makes_the_epub_while_the_edited_piece_is_drawn(
    book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit lays out one piece: the EPUB is made as soon as that piece is paginated,
    before its worker says it is done, and is the file a cold build makes."""
    manifest = book_copy("mixed")
    options = replace(in_pool, cache_dir=tmp_path / "cache")
    run_build(manifest, tmp_path / "dist", ["pdf", "epub"], layout=options)
    essay = manifest.parent / "chapters" / "alpha.md"
    text = essay.read_text("utf-8")
    essay.write_text(text.replace("Begin at the beginning.", "Begin at the start."), "utf-8")
    events = record_events(monkeypatch)
    run_build(manifest, tmp_path / "dist", ["pdf", "epub"], layout=options)
    rebuild = list(events)
    run_build(manifest, tmp_path / "cold", ["pdf", "epub"], layout=in_pool)
    laid = [e for e in rebuild if e.startswith("piece done")]
    assert len(laid) == 1 and laid != ["piece done front"], "the edited essay's piece alone"
    assert rebuild.index("epub") < rebuild.index(laid[0])
    for name in ("book.pdf", "book.epub"):
        assert (tmp_path / "dist" / name).read_bytes() == (tmp_path / "cold" / name).read_bytes()


def record_events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the build does, in order: each EPUB drafted and written, each EPUB page
    made, the front matter paginated, each piece a worker says is done (its index, or
    "front"), and the front matter's join into the PDF."""
    events: list[str] = []
    write_epub, finish_piece, join_front = epub.write_epub, pool._finish, BookJoin.finish
    draft, make_page, handle = epub.draft_documents, epub._Pages._essay, pool._handle
    send = workers.Worker.send

    def epub_written(*args: Any) -> Any:
        events.append("epub")
        return write_epub(*args)

    def drafted(*args: Any) -> Any:
        events.append("draft")
        memo = draft(*args)
        events.append("drafted")
        return memo

    def page_made(pages: Any, essay: Any, matter: str) -> bytes:
        events.append(f"page {essay.slug}")
        return make_page(pages, essay, matter)

    def sent(worker: Any, task: Any, *args: Any) -> None:
        if task.index == pool.FRONT_MATTER:
            events.append("front sent")
        send(worker, task, *args)

    def handled(worker: Any, message: Any, *args: Any) -> int:
        if isinstance(message, Paginated) and message.index == pool.FRONT_MATTER:
            events.append("front paginated")
        return handle(worker, message, *args)

    def piece_done(plan: Any, task: Any, *args: Any) -> None:
        events.append(f"piece done {'front' if task.index == pool.FRONT_MATTER else task.index}")
        finish_piece(plan, task, *args)

    def front_joined(*args: Any) -> None:
        events.append("front matter joined")
        join_front(*args)

    monkeypatch.setattr(epub, "write_epub", epub_written)
    monkeypatch.setattr(epub, "draft_documents", drafted)
    monkeypatch.setattr(epub._Pages, "_essay", page_made)
    monkeypatch.setattr(pool, "_handle", handled)
    monkeypatch.setattr(workers.Worker, "send", sent)
    monkeypatch.setattr(pool, "_finish", piece_done)
    monkeypatch.setattr(BookJoin, "finish", front_joined)
    return events


def test_the_epub_is_drafted_in_the_round_whose_page_references_settle(
    book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A book with page references is laid out twice: the first round prints
    placeholders, so its main matter's page starts are not drafted from; the second's
    are, each page once, and the EPUB is the file a layout in one process makes."""
    manifest = book_copy("mixed")
    essay = manifest.parent / "chapters" / "alpha.md"
    linked = " See [Delta's second part](delta.html#part2){.page-ref}."
    text = essay.read_text("utf-8")
    sentence = "This sentence carries a note."
    essay.write_text(text.replace(sentence, sentence + linked, 1), "utf-8")
    run_build(manifest, tmp_path / "here", ["pdf", "epub"], layout=LayoutOptions(jobs=1))
    events = record_events(monkeypatch)
    run_build(manifest, tmp_path / "pool", ["pdf", "epub"], layout=in_pool)
    assert events.count("front sent") == 2, "two rounds"
    second = [i for i, e in enumerate(events) if e == "front sent"][1]
    assert events.count("draft") == 1 and events.index("draft") > second
    _config, book = load(manifest)
    pages = sorted(e.removeprefix("page ") for e in events if e.startswith("page "))
    assert pages == sorted(e.slug for e in book.all_texts), "each made once"
    for name in ("book.pdf", "book.epub"):
        assert (tmp_path / "pool" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()


def test_an_epub_made_while_the_layout_runs_is_not_published_if_it_then_fails(
    book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no PDF to write, the EPUB is still made once every page is counted, while
    the front matter is drawn: it waits in the staging folder, and a layout that then
    fails leaves dist/ as it was."""
    manifest = book_copy("mixed")
    out = tmp_path / "dist"
    out.mkdir()
    (out / "book.epub").write_bytes(b"the EPUB before")
    events = record_events(monkeypatch)
    finish_piece = pool._finish

    def front_fails(plan: Any, task: Any, *args: Any) -> None:
        if task.index == pool.FRONT_MATTER:
            raise RenderError("pdf: laying out the front matter failed: as this test wants")
        finish_piece(plan, task, *args)

    monkeypatch.setattr(pool, "_finish", front_fails)
    with pytest.raises(RenderError, match="as this test wants"):
        run_build(manifest, out, ["epub"], layout=in_pool)
    assert events.index("front paginated") < events.index("epub"), "made meanwhile"
    assert sorted(p.name for p in out.iterdir()) == ["book.epub"]
    assert (out / "book.epub").read_bytes() == b"the EPUB before"


def test_page_starts_told_with_the_count_are_those_of_the_finished_pages(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker tells a piece's page starts when pagination is over, read from the page
    boxes before the margin boxes are made: the same as read from the finished pages,
    footnotes and all."""
    from make_book.render.pdf.layout import piece_layout
    from make_book.render.pdf.layout.page_starts import page_starts
    from make_book.render.weasy import patches
    from make_book.render.weasy.fetch import BookFetcher

    patches.install()
    job, main = job_and_pieces(book_copy("mixed"), monkeypatch)
    told: list[PiecePages] = []

    def ask(paged: PiecePages) -> int:
        told.append(paged)
        return 1

    noted = [piece for piece in main if 'class="footnote"' in piece.html]
    assert noted, "the mixed book has footnotes"
    for piece in noted:
        fetcher = BookFetcher(job.book_root, job.font_dirs)
        document = piece_layout._render(job, piece.html, fetcher, ask)
        finished = page_starts([page._page_box for page in document.pages[:-1]], 0)
        assert told[-1].starts == finished
        assert len(finished) > 1, "a piece of more than one page"


def test_a_pdf_that_fails_publishes_nothing_made_meanwhile(
    book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cover, web edition and EPUB made while the front matter is laid out wait in
    a folder of their own: a PDF that then fails its preflight leaves dist/ as it was."""
    manifest = book_copy("mixed")
    out = tmp_path / "dist"
    out.mkdir()
    (out / "cover.pdf").write_bytes(b"the cover before")

    def fails(*_args: Any, **_kwargs: Any) -> None:
        raise RenderError("pdf (screen profile) fails its preflight: as this test wants")

    monkeypatch.setattr(preflight_gate, "preflight_or_fail", fails)  # imported when used
    with pytest.raises(RenderError, match="as this test wants"):
        run_build(manifest, out, ["pdf", "cover", "epub", "html"], layout=in_pool)
    assert sorted(p.name for p in out.iterdir()) == ["cover.pdf"]
    assert (out / "cover.pdf").read_bytes() == b"the cover before"


@pytest.mark.parametrize(("pages", "made"), [(100, 100), (801, 802)])
def test_the_cover_waits_for_the_layout_round_whose_margins_suit_the_count(
    book_copy: BookCopy, tmp_path: Path, pages: int, made: int
) -> None:
    """KDP's gutter grows with the page count: a count that wants another gutter than
    the round was laid out with means another round: nothing needing the count is made."""
    loaded, book = load(book_copy("mixed"))
    manifest = replace(loaded, pdf=replace(loaded.pdf, margin_inside=0.5))
    kdp = PROFILES["kdp"]
    chosen = page_css.print_settings(manifest.pdf, kdp, pages=0)
    if pages > 150:
        assert page_css.print_settings(manifest.pdf, kdp, made) != chosen
    ctx = RenderContext(manifest, tmp_path, "kdp")
    with print_layout.PrintLayout(book, ctx, write=False) as layout:
        front = PiecePages(pages, {}, [])
        counted = layout._final_count(pool.Counted(front, main=[]), chosen, {})
    given = counted.page_count if counted is not None else None
    assert given == (made if pages <= 150 else None)


def test_a_worker_told_to_stop_finishes_its_piece_then_leaves(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the front matter has gone, the other workers are told to stop while they
    still draw their last pieces: each piece is written and said done, then the worker
    leaves by itself, though the build reads nothing from it meanwhile."""
    job, main = job_and_pieces(book_copy("mixed"), monkeypatch)
    pool = workers.Pool(job, 1)
    try:
        worker = pool.workers[0]
        worker.conn.send(Lay(0, main[0].html, main[0].borrowed, tmp_path / "a.pdf", 1))
        worker.conn.send(Stop())
        assert worker.process.wait(timeout=120) == 0, "it left by itself"
        assert isinstance(receive(worker.conn), Paginated)
        done = receive(worker.conn)
        assert done.index == 0 and done.result.pdf == tmp_path / "a.pdf"
        assert (tmp_path / "a.pdf").stat().st_size > 0
    finally:
        pool.close()


def test_workers_are_told_to_stop_once_nothing_is_left_to_send_them(
    book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the front matter has gone, each busy worker is told to stop (and leaves
    when its pieces are done), but only once every piece it holds has its folio: a
    piece still waiting for one would wait forever. The book is the same."""
    manifest = book_copy("mixed")
    here = pieces_pdf(manifest, tmp_path / "here", LayoutOptions(jobs=1))
    told: list[list[int | None]] = []  # the folios of each told worker's pieces
    retire = workers.Pool.retire_when_done

    def retire_when_done(pool_: workers.Pool) -> None:
        before = {id(w) for w in pool_.workers if w.told_to_stop}
        retire(pool_)
        for worker in pool_.workers:
            if worker.told_to_stop and id(worker) not in before:
                told.append([task.folio for task in worker.tasks.values()])

    monkeypatch.setattr(workers.Pool, "retire_when_done", retire_when_done)
    pooled = pieces_pdf(manifest, tmp_path / "pool", in_pool)
    assert pooled.read_bytes() == here.read_bytes()
    assert told, "the front matter's worker, at least"
    assert all(folios and None not in folios for folios in told)


def test_a_worker_leaves_no_copies_of_the_fonts_behind(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker leaves with os._exit, past WeasyPrint's removal of the copies of the
    book's @font-face files it made for Fontconfig: it removes them itself first."""
    job, main = job_and_pieces(book_copy("mixed"), monkeypatch)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))  # the worker's, not this process's
    pool = workers.Pool(job, 1)
    try:
        conn = pool.workers[0].conn
        conn.send(Lay(0, main[0].html, main[0].borrowed, tmp_path / "a.pdf", 1))
        assert isinstance(receive(conn), Paginated)
        receive(conn)  # done
        (scratch,) = temporary.iterdir()  # the worker's own temporary folder
        assert scratch.name.startswith(launch.SCRATCH) and scratch == pool.workers[0].scratch
        assert [p.name[:11] for p in scratch.iterdir()] == ["weasyprint-"], "made"
    finally:
        pool.close()
    assert list(temporary.iterdir()) == []


def test_a_worker_ended_by_a_signal_leaves_no_copies_of_the_fonts_behind(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed mid-piece (a build interrupted or failed ends its workers so), a worker
    removes nothing: the build removes its temporary folder once it has gone."""
    job, main = job_and_pieces(book_copy("mixed"), monkeypatch)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    pool = workers.Pool(job, 1)
    worker = pool.workers[0]
    worker.send(workers.Task(0, main[0], "a", None), tmp_path / "a.pdf")
    assert isinstance(receive(worker.conn), Paginated)  # it waits for its folio: killed
    assert scratch_files(temporary), "WeasyPrint's copies of the fonts were made"
    pool.close()
    assert worker.process.returncode == -signal.SIGKILL
    assert list(temporary.iterdir()) == []


def test_a_worker_frees_a_pieces_garbage_before_it_lays_out_the_next(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A piece's boxes are left in reference cycles: the worker collects them before
    every other piece (worker.py's _collect_garbage), never after a piece (an edit's
    only one)."""
    import gc

    from weasyprint.formatting_structure.boxes import Box

    from make_book.render.pdf.layout import piece_layout

    job, main = job_and_pieces(book_copy("mixed"), monkeypatch)
    done: list[str] = []
    laying_out = piece_layout.lay_out_piece

    def lay_out_piece(*args: Any) -> Any:
        done.append("piece")
        return laying_out(*args)

    def boxes() -> int:  # counted, not listed: a list would hold them
        return sum(isinstance(o, Box) for o in gc.get_objects())

    def collect() -> None:
        done.append("collect")
        assert boxes() > before, "the piece before left boxes in reference cycles (gc is off)"
        collect_garbage()
        assert boxes() <= before, "all of them freed"

    collect_garbage = worker_module._collect_garbage
    monkeypatch.setattr(piece_layout, "lay_out_piece", lay_out_piece)
    monkeypatch.setattr(worker_module, "_collect_garbage", collect)
    ours, theirs = multiprocessing.Pipe()
    server = worker_module._Server(theirs, job)
    gc.collect()
    gc.disable()  # Python's own collection would come round at a time of its choosing
    before = boxes()  # those other tests left alive, if any
    try:
        for index in (0, 1, 2):
            piece = main[index % len(main)]
            server.take(Lay(index, piece.html, piece.borrowed, tmp_path / f"{index}.pdf", 1))
            while not isinstance(message := receive(ours), worker_module.Done):
                assert not isinstance(message, worker_module.Failed), message
        server.finish()
    finally:
        gc.enable()
    assert done == ["piece", "collect", "piece", "piece"]


def test_a_worker_sets_aside_what_it_keeps_from_its_collections(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """What a worker holds once WeasyPrint is imported, warmed up and its job prepared is
    frozen, never scanned by a collection again, and its youngest generation is
    collected less often (worker.py's _freeze_what_lasts). Asked of a real worker as it
    leaves."""
    job, _ = job_and_pieces(book_copy("mixed"), monkeypatch)
    says = (  # printed as the worker leaves, through os._exit (worker.main)
        "import gc, os; leave = os._exit; os._exit = lambda code: ("
        "print('frozen', gc.get_freeze_count() > 0, 'young', gc.get_threshold()[0],"
        " 'job frozen', not any(o is css for o in gc.get_objects() for css in ["
        "s.css for s in __import__('make_book.render.pdf.layout.piece_layout',"
        " fromlist=['x'])._STYLESHEETS.values()]), flush=True), leave(code)); "
    )
    boot = [sys.executable, "-c", says + launch.BOOT]
    path = json.dumps(sys.path)
    monkeypatch.setattr(workers, "worker_command", lambda fd: [*boot, str(fd), path])
    worker = workers.spawn()
    workers.give_job(worker, job)
    workers.stop(worker)
    assert worker.process.returncode == 0
    young = worker_module.YOUNG_OBJECTS
    assert f"frozen True young {young} job frozen True" in capfd.readouterr().out


def test_a_worker_freezes_its_job_and_no_garbage(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The freeze that follows the job (worker.main) keeps the job sent, frees a
    remembered job the build replaced (a changed theme, another profile), and collects
    garbage in cycles (the warm-up's) first rather than keeping it for the worker's life."""
    import gc
    import weakref

    from make_book.render.pdf.layout import piece_layout

    class Cycle:
        me: object

    job, _ = job_and_pieces(book_copy("mixed"), monkeypatch)
    other = replace(job, language="fr")
    threshold = gc.get_threshold()
    gc.collect()
    gc.disable()  # Python's own collection would free the garbage at a time of its choosing
    try:
        garbage = Cycle()
        garbage.me = garbage
        gone = weakref.ref(garbage)
        del garbage
        worker_module._prepared(job)
        dropped = weakref.ref(piece_layout._stylesheet(job).css)
        assert worker_module._job(other, job) is other
        worker_module._freeze_what_lasts()
        assert gone() is None, "garbage in a cycle is collected, not frozen"
        assert dropped() is None, "the replaced job's stylesheet is freed"
        kept = piece_layout._stylesheet(other).css
        assert not any(o is kept for o in gc.get_objects()), "the job sent is frozen"
    finally:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*threshold)
        piece_layout.forget_prepared()


def test_the_folders_of_workers_whose_build_was_killed_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build killed with its workers (SIGKILL) removes nothing; the next build that
    starts a worker removes their folders: those of processes gone, on this host and in
    this PID namespace (another container's or machine's numbers are not ours)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    owner = launch._owner()
    if owner is None:
        pytest.skip("no PID namespace to read (not Linux): nothing is swept")
    left = tmp_path / f"{launch.SCRATCH}{owner}-{gone}-abc"
    running = tmp_path / f"{launch.SCRATCH}{owner}-{os.getppid()}-abc"
    elsewhere = tmp_path / f"{launch.SCRATCH}other{owner}-{gone}-abc"
    for folder in (left, running, elsewhere):
        (folder / "weasyprint-x").mkdir(parents=True)
    worker = workers.spawn()
    try:
        assert not left.exists()
        assert running.exists() and elsewhere.exists()
        assert worker.scratch is not None and worker.scratch.parent == tmp_path
    finally:
        workers.stop(worker)
    assert worker.scratch is not None and not worker.scratch.exists()


def test_a_temporary_directory_that_cannot_be_written_leaves_the_worker_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TMPDIR that is not there: the worker starts without a folder of its own, as
    before, rather than the build failing."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "not-there"))
    worker = workers.spawn()
    try:
        assert worker.scratch is None
        assert worker.process.poll() is None, "the worker started"
    finally:
        workers.stop(worker)


def scratch_files(parent: Path) -> list[Path]:
    return [p for folder in parent.glob(f"{launch.SCRATCH}*") for p in folder.rglob("*")]


def test_workers_replaced_after_each_piece_give_the_same_bytes(
    book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every worker past the memory limit is replaced, and none is started for nothing."""
    manifest = book_copy("mixed")
    here = pieces_pdf(manifest, tmp_path / "here", LayoutOptions(jobs=1))
    started: list[workers.Worker] = []
    given: set[int] = set()
    spawn, send = workers.spawn, workers.Worker.send

    def counted_spawn(
        pipes: dict[str, int] | None = None, cache: Path | None = None
    ) -> workers.Worker:
        started.append(spawn(pipes, cache))
        return started[-1]

    def counted_send(worker: workers.Worker, *args: Any) -> None:
        given.add(id(worker))
        send(worker, *args)

    monkeypatch.setattr(workers, "WORKER_MEMORY_MB", 0)
    monkeypatch.setattr(workers, "spawn", counted_spawn)
    monkeypatch.setattr(workers.Worker, "send", counted_send)
    pooled = pieces_pdf(manifest, tmp_path / "pool", in_pool)
    assert here.read_bytes() == pooled.read_bytes()
    assert len(started) > 2, "workers were replaced"
    assert {id(worker) for worker in started} == given, "each worker laid something out"


def job_and_pieces(manifest: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[Any]]:
    """What `print_layout.lay_out` hands the pool for this book: the job and the main pieces."""
    config, book = load(manifest)
    profile = PROFILES[config.pdf.profile]
    handed: dict[str, Any] = {}

    def take(job: Any, specs: list[Any], make: Any, *_: Any, **__: Any) -> Any:
        handed.update(job=job, main=[make(spec) for spec in specs])
        raise StopIteration

    monkeypatch.setattr(print_layout, "lay_out_book", take)
    with pytest.raises(StopIteration):
        settings = page_css.print_settings(config.pdf, profile, 0)
        print_layout.lay_out(book, settings, profile, LayoutOptions(jobs=1), PieceCache(None))
    return handed["job"], handed["main"]


def receive(conn: Any) -> Any:
    assert conn.poll(120), "the worker said nothing for two minutes"
    return conn.recv()


def test_a_worker_lays_out_a_piece_while_another_waits_for_its_folio(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two pieces in one worker, the first waiting for its folio while the second is
    laid out (worker.py's threads): each comes out as when laid out alone."""
    from make_book.render.pdf.layout.piece_layout import lay_out_piece
    from make_book.render.weasy import patches

    job, main = job_and_pieces(book_copy("mixed"), monkeypatch)
    first, second = main[0], main[1]
    pool = workers.Pool(job, 1)
    try:
        conn = pool.workers[0].conn
        conn.send(Lay(0, first.html, first.borrowed, tmp_path / "a.pdf", None))
        assert receive(conn) == Paginated(0, ANY)
        conn.send(Lay(1, second.html, second.borrowed, tmp_path / "b.pdf", None))
        paginated = receive(conn)  # paginated while the first waits
        assert isinstance(paginated, Paginated) and paginated.index == 1
        first_pages = lay_out_piece(job, first.html, first.borrowed, lambda *_: 1, tmp_path / "x")
        second_folio = 1 + first_pages.pages
        conn.send(Folio(1, second_folio))  # the later piece is answered first
        conn.send(Folio(0, 1))
        done = {message.index: message.result for message in (receive(conn), receive(conn))}
    finally:
        pool.close()
    patches.install()
    alone = lay_out_piece(
        job, second.html, second.borrowed, lambda *_: second_folio, tmp_path / "y"
    )
    assert done[1].pages == paginated.paged.pages == alone.pages
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "x").read_bytes()
    assert (tmp_path / "b.pdf").read_bytes() == (tmp_path / "y").read_bytes()
    assert done[0].anchors == first_pages.anchors and done[1].anchors == alone.anchors
    assert paginated.paged.anchors == alone.anchors, "told with the count, for the contents"
    assert paginated.paged.starts == alone.starts, "told with the count, for the EPUB"
    assert alone.anchors and alone.starts, "the mixed book's second piece has headings, text"


class Counting(Progress):
    """Counts the pieces laid out (the rest came from the cache)."""


def build_counting(manifest: Path, out: Path, cache: Path) -> tuple[bytes, Progress]:
    progress = Counting()
    run_build(manifest, out, ["pdf"], layout=LayoutOptions(1, cache, progress))
    return (out / "book.pdf").read_bytes(), progress


def test_the_cache_lays_out_only_what_changed(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("montaigne")
    cache = tmp_path / "cache"
    cold, first = build_counting(manifest, tmp_path / "a", cache)
    assert first.laid_out == first.total
    copied_afresh: list[str] = []
    copy = BookJoin._copy

    def watched(self: BookJoin, piece: Any, front: Any) -> Any:
        copied_afresh.append(piece.name)
        return copy(self, piece, front)

    monkeypatch.setattr(BookJoin, "_copy", watched)
    again, second = build_counting(manifest, tmp_path / "b", cache)
    assert again == cold
    assert second.laid_out == 0
    assert copied_afresh == [], "every piece, the front matter too, joined from its kept copy"
    essay = next((manifest.parent / "chapters").glob("1[0-9]-*.md"))
    essay.write_text(essay.read_text("utf-8").replace("the", "that", 1), "utf-8")
    edited, third = build_counting(manifest, tmp_path / "c", cache)
    assert 1 <= third.laid_out <= 3, "its piece, and the contents if a folio moved"
    fresh, _ = build_counting(manifest, tmp_path / "d", tmp_path / "fresh-cache")
    assert edited == fresh


def test_pieces_copied_before_are_joined_again_under_new_numbers(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join keeps each piece's copy (join/piece_copy.py): after an edit that adds objects to
    an early piece, the later pieces and the front matter are written from their copies
    under new numbers and keys, to the same bytes as copied afresh; a damaged copy is not
    used."""
    manifest = book_copy("montaigne")
    cache = tmp_path / "cache"
    build_counting(manifest, tmp_path / "a", cache)
    assert len(list((cache / "pieces").glob("*/*.join"))) > 10
    essay = sorted((manifest.parent / "chapters").glob("*.md"))[0]
    link = " See [the notes](https://example.com/notes)."  # a link: objects and a key more
    text = essay.read_text("utf-8")
    end = text.index("\n\n", text.index("\n---\n", 4) + 5)
    essay.write_text(text[:end] + link + text[end:], "utf-8")
    moves: list[tuple[bool, int]] = []  # (the front matter's copy?, how far it moved)
    renumbered = BookJoin._renumbered

    def watched(self: BookJoin, copied: Any, piece: Any) -> Any:
        moves.append((copied.front is not None, len(self.writer.offsets) - copied.base))
        return renumbered(self, copied, piece)

    monkeypatch.setattr(BookJoin, "_renumbered", watched)
    edited, _ = build_counting(manifest, tmp_path / "b", cache)
    assert len(moves) >= 5 and all(by for _, by in moves), "written at other numbers"
    assert moves[-1][0], "the front matter too, its catalog and info entries renumbered"
    fresh, _ = build_counting(manifest, tmp_path / "c", tmp_path / "fresh-cache")
    assert edited == fresh
    moves.clear()
    for kept in (cache / "pieces").glob("*/*.join"):
        data = bytearray(kept.read_bytes())
        data[len(data) // 2] ^= 0xFF
        kept.write_bytes(bytes(data))
    damaged, _ = build_counting(manifest, tmp_path / "d", cache)
    assert not moves and damaged == fresh


@pytest.mark.parametrize("damage", ["garbage-pdf", "truncated-record", "changed-image"])
def test_a_corrupt_or_stale_entry_is_laid_out_again(
    damage: str, book_copy: BookCopy, tmp_path: Path
) -> None:
    manifest = book_copy("mixed")
    cache = tmp_path / "cache"
    build_counting(manifest, tmp_path / "a", cache)
    if damage == "garbage-pdf":
        for piece in (cache / "pieces").glob("*/*.pdf"):
            piece.write_bytes(b"%PDF-1.7 not really")
    elif damage == "truncated-record":
        for record in (cache / "pieces").glob("*/*.json"):
            record.write_text(record.read_text("utf-8")[:40], "utf-8")
    else:
        image = manifest.parent / "images" / "dot.png"
        image.write_bytes(image.read_bytes() + b"\0")  # same picture, other bytes
    rebuilt, progress = build_counting(manifest, tmp_path / "b", cache)
    assert progress.laid_out >= 1
    fresh, _ = build_counting(manifest, tmp_path / "c", tmp_path / "fresh-cache")
    assert rebuilt == fresh


def test_progress_lines_for_logs() -> None:
    stream = StringIO()
    progress = LineProgress(stream)
    progress.start(30)
    for _ in range(30):
        progress.advance(4)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("pdf: 1/30 pieces, 4 pages")
    assert lines[-1] == "pdf: 30/30 pieces, 120 pages"


def make_book(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "make_book", *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_a_build_with_nothing_changed_does_nothing(book_copy: BookCopy) -> None:
    folder = book_copy("sample").parent
    first = make_book("build", "--format", "pdf,epub", "--jobs", "2", cwd=folder)
    assert first.returncode == 0, first.stderr
    assert (folder / CACHE_FOLDER).is_dir()
    before = {p: p.stat().st_mtime_ns for p in (folder / "dist").iterdir()}
    second = make_book("build", "--format", "pdf,epub", "--jobs", "2", cwd=folder)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("(up to date)") == 2
    assert {p: p.stat().st_mtime_ns for p in (folder / "dist").iterdir()} == before
    (folder / "book.yaml").write_text((folder / "book.yaml").read_text() + "\n", "utf-8")
    third = make_book("build", "--format", "pdf,epub", cwd=folder)
    assert "(up to date)" not in third.stdout


def test_jobs_must_be_positive(book_copy: BookCopy) -> None:
    folder = book_copy("sample").parent
    done = make_book("build", "--jobs", "0", cwd=folder)
    assert done.returncode == 2
    assert "'-j' / '--jobs': 0 is not in the range x>=1" in done.stderr


def test_sigterm_stops_the_workers_and_keeps_the_outputs(book_copy: BookCopy) -> None:
    """Montaigne is long enough for worker processes; SIGTERM mid-layout ends them all."""
    folder = book_copy("montaigne").parent
    first = make_book("build", "--format", "pdf", "--no-cache", cwd=folder)
    assert first.returncode == 0, first.stderr
    before = (folder / "dist" / "book.pdf").read_bytes()
    command = [sys.executable, "-m", "make_book", "build", "--format", "pdf", "--no-cache"]
    temporary = folder.parent / "tmp"  # the build's and its workers' temporary files
    temporary.mkdir()
    environment = {**os.environ, "TMPDIR": str(temporary)}
    build = psutil.Popen(command, cwd=folder, stderr=subprocess.PIPE, text=True, env=environment)
    deadline = time.monotonic() + 60
    while len(build.children(recursive=True)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # the workers have started
    time.sleep(2)
    workers = build.children(recursive=True)
    build.terminate()
    _, stderr = build.communicate(timeout=60)
    assert build.returncode == 143, stderr
    psutil.wait_procs(workers, timeout=10)
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
    assert (folder / "dist" / "book.pdf").read_bytes() == before
    assert sorted(p.name for p in (folder / "dist").iterdir()) == ["book.pdf"]
    assert list(temporary.iterdir()) == [], "the workers' copies of the fonts are removed"


def _essay(slug: str, words: int) -> Any:
    from make_book.model import Essay

    return Essay(slug, "essay", slug, slug, Path(f"{slug}.md"), "<p>x</p>", word_count=words)


def test_a_long_essay_is_never_in_a_short_ones_piece() -> None:
    """An edit of a short essay lays out its own piece: a long neighbour is not in it."""
    from make_book.render.pdf.layout import pieces

    words = [600, 16_000, 700, 300, 9_000, 400]
    essays = [(_essay(f"e{i}", w), "") for i, w in enumerate(words)]
    specs = pieces._batches(essays)
    groups = [[e.slug for e, _ in spec.essays] for spec in specs]
    assert [slug for group in groups for slug in group] == [e.slug for e, _ in essays]
    for group in groups:
        counts = [words[int(slug[1:])] for slug in group]
        # No piece passes BATCH_WORDS but an essay alone that is longer by itself.
        assert len(group) == 1 or sum(counts) <= pieces.BATCH_WORDS
    assert ["e1"] in groups and ["e4"] in groups  # the long ones, alone


def test_a_worker_warms_up_before_its_first_piece() -> None:
    """What a first piece paid once per worker (the hyphenation dictionary above all)
    is paid while the build reads its book; a warm-up that fails says nothing."""
    code = (
        "import pyphen, weasyprint\n"
        "from make_book.render.weasy import patches\n"
        "from make_book.render.pdf.layout import worker\n"
        "patches.install()  # as the worker is\n"
        "worker._warm_up()\n"
        "assert pyphen.hdcache, 'the dictionary is read'\n"
        "weasyprint.HTML = None  # a warm-up that cannot run\n"
        "worker._warm_up()\n"
        "print('warm')\n"
    )
    assert python_says(code) == (0, "warm\n", "")


@pytest.mark.parametrize(
    ("report", "jobs", "spare"),
    [
        ({}, 2, False),  # no build before
        ({"book": {"words": 30_000}, "page_counts": {}}, 2, False),  # no print layout
        ({"book": {"words": 900}, "page_counts": {"screen": 9}}, 2, False),  # small
        ({"book": {"words": 30_000}, "page_counts": {"screen": 99}}, 1, False),  # one job
        ({"book": {"words": "many"}, "page_counts": {"screen": 99}}, 2, False),  # not ours
        ({"book": {"words": 30_000}, "page_counts": {"screen": 99}}, 2, True),
    ],
)
def test_a_rebuild_of_a_big_book_starts_its_worker_first(
    report: dict[str, Any], jobs: int, spare: bool
) -> None:
    """The command line starts a layout worker before it imports the build, when the last
    build of these options laid out a book big enough for workers; stopped with the build."""
    from make_book.cli import build as cli_build

    last = {"report": report} if report else {}  # the last build's record
    with cli_build._spare_workers(last, jobs, None) as spares:
        assert (spares is not None) == spare
        processes = [w.process for w in spares.workers] if spares is not None else []
    assert len(processes) == spare
    assert all(process.poll() is not None for process in processes), "stopped"


def test_workers_started_early_are_sent_their_job_before_the_pieces(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build sends the early workers their job as soon as it knows it, while it
    still renders the pieces' HTML; the pool that takes them sends it no second time
    (a worker takes one job, its first message), and a worker prepared for another
    job is not given this one's pieces but replaced."""
    job, main = job_and_pieces(book_copy("mixed"), monkeypatch)
    given: list[tuple[int, Any]] = []
    give_job = workers.give_job

    def counted_give_job(worker: workers.Worker, job_: Any) -> None:
        given.append((id(worker), job_))
        give_job(worker, job_)

    monkeypatch.setattr(workers, "give_job", counted_give_job)
    with workers.EarlyWorkers(2) as spares:
        prepared, other = spares.workers
        workers.give_job(other, replace(job, dpi=job.dpi + 1))  # prepared for another job
        spares.prepare(job)
        assert prepared.job == job
        assert given == [(id(other), ANY), (id(prepared), job)], "each sent one job"
        pool_ = workers.Pool(job, 2, spares)
        try:
            assert prepared in pool_.workers and other not in pool_.workers
            assert other.process.poll() is not None, "the stale one is stopped"
            assert len(given) == 3, "only the new worker is sent the job"
            conn = prepared.conn
            conn.send(Lay(0, main[0].html, main[0].borrowed, tmp_path / "a.pdf", 1))
            assert isinstance(receive(conn), Paginated)
            assert receive(conn).result.pdf == tmp_path / "a.pdf"
        finally:
            pool_.close()


def test_the_books_last_job_is_remembered_sealed(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last job a pool laid out with, for the next build's first worker: written only
    when it changes, read back only as this machine sealed it, with every field of its
    type, and for the book whose cache it is in."""
    from make_book.cache.folder import CacheFolder
    from make_book.render.pdf.layout import last_job

    manifest = book_copy("mixed")
    job, _ = job_and_pieces(manifest, monkeypatch)
    root = manifest.parent / CACHE_FOLDER
    assert last_job.remembered(root) is None, "nothing yet"
    cache = CacheFolder.open(root)
    assert cache is not None
    last_job.remember(cache, job)
    assert last_job.remembered(root) == job
    (entry,) = (root / "builds").iterdir()
    written = entry.stat()
    last_job.remember(cache, job)
    assert entry.stat().st_ino == written.st_ino, "the same job: not written again"
    other = replace(job, dpi=job.dpi + 1, font_dirs=(), variant=None)
    last_job.remember(cache, other)
    assert last_job.remembered(root) == other
    place = f"builds/{entry.name}"
    for spoiled in ({"format": 1}, {**json_of(other), "dpi": "300"}, [1], "x"):
        cache.write(place, json.dumps(spoiled).encode())
        assert last_job.remembered(root) is None, spoiled
    cache.write(place, last_job._encoded(other))
    assert last_job.remembered(root) == other
    sealed = entry.read_bytes()
    changed = sealed.replace(b'"dpi": %d' % other.dpi, b'"dpi": %d' % (other.dpi + 1))
    assert changed != sealed
    entry.write_bytes(changed)
    assert last_job.remembered(root) is None, "changed after it was sealed"
    cache.write(place, last_job._encoded(replace(other, book_root=tmp_path)))
    assert last_job.remembered(root) is None, "another book's job"
    last_job.remember(None, job)  # no cache: nothing to do


def test_a_worker_reads_no_last_job_where_the_build_would_not_use_the_cache(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key yet (none is made), or a key that would be in the book folder (a CI whose
    home is the checkout): the worker prepares nothing, as the build uses no cache."""
    from make_book.cache import trust
    from make_book.cache.folder import CacheFolder
    from make_book.render.pdf.layout import last_job

    manifest = book_copy("mixed")
    job, _ = job_and_pieces(manifest, monkeypatch)
    root = manifest.parent / CACHE_FOLDER
    last_job.remember(CacheFolder.open(root), job)
    assert last_job.remembered(root) == job
    monkeypatch.setattr(trust, "_KEYS", {})
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere"))
    assert last_job.remembered(root) is None
    assert not (tmp_path / "elsewhere").exists(), "no key made"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(manifest.parent / "config"))
    CacheFolder(root, trust.machine_key())  # a key made in the book folder, as one sent
    assert (manifest.parent / "config").exists()
    assert last_job.remembered(root) is None


def json_of(job: Any) -> dict[str, Any]:
    from make_book.render.pdf.layout import last_job

    return dict(json.loads(last_job._encoded(job)))


def test_a_worker_started_early_prepares_the_books_last_job(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Told the book's cache (spawn's `cache`), a worker prepares the last job kept there
    while it waits for its own: an edit's is the same, and then ready."""
    from make_book.cache.folder import CacheFolder
    from make_book.render.pdf.layout import last_job

    manifest = book_copy("mixed")
    job, _ = job_and_pieces(manifest, monkeypatch)
    root = manifest.parent / CACHE_FOLDER
    prepared: list[Any] = []

    def prepare(job: Any) -> Any:
        prepared.append(job)
        return job

    def remembered() -> Any:
        return worker_module._prepare_remembered(worker_module._cache_folder(never_read))

    never_read: Any = None  # a worker not briefed takes its folder from the environment
    monkeypatch.setattr(worker_module, "_prepared", prepare)
    monkeypatch.setenv(launch.REMEMBERED, str(root))
    assert remembered() is None and prepared == [], "none kept yet"
    last_job.remember(CacheFolder.open(root), job)
    monkeypatch.setenv(launch.REMEMBERED, str(root))
    assert remembered() == job and prepared == [job]
    assert launch.REMEMBERED not in os.environ, "not passed on"
    assert remembered() is None
    assert prepared == [job], "a worker not told the cache prepares nothing"
    if sys.platform.startswith("linux"):  # a process's environment, as Linux shows it
        told, untold = workers.spawn(cache=root), workers.spawn()
        try:
            said = f"{launch.REMEMBERED}={root}".encode()
            assert said in Path(f"/proc/{told.process.pid}/environ").read_bytes().split(b"\0")
            assert (
                launch.REMEMBERED.encode()
                not in Path(f"/proc/{untold.process.pid}/environ").read_bytes()
            )
        finally:
            for worker in (told, untold):
                worker.process.kill()
                workers.stop(worker)


def test_a_worker_sent_another_job_than_it_prepared_drops_the_fonts_it_loaded(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A theme may give a family's name another file: the faces the remembered job loaded
    must not stay beside the new job's, where Fontconfig could pick them."""
    from make_book.render.pdf.layout import piece_layout
    from make_book.render.weasy import session

    job, _ = job_and_pieces(book_copy("mixed"), monkeypatch)
    monkeypatch.setattr(piece_layout, "_STYLESHEETS", {})
    monkeypatch.setattr(session, "_FONT_CONFIG", None)  # this test's own, dropped below
    remembered = worker_module._prepared(job)
    config = session.font_config()
    folder = Path(config._folder)
    assert folder.is_dir(), "WeasyPrint's copies of the job's @font-face files"
    assert worker_module._job(job, remembered) is job
    assert session.font_config() is config, "the job it prepared: kept as it is"
    restyled = replace(job, css=job.css + "\n/* another theme */")
    assert worker_module._job(restyled, remembered) is restyled
    assert session.font_config() is not config and not folder.exists()
    assert list(piece_layout._STYLESHEETS) == [restyled]
    assert worker_module._job(restyled, None) is restyled


def test_a_worker_prepares_its_job_as_it_is_sent(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker parses the job's stylesheet (and loads its fonts) when the job comes,
    before its first piece; a preparation that fails says nothing (the first piece
    then reports it)."""
    from make_book.render.pdf.layout import piece_layout, worker

    job, _ = job_and_pieces(book_copy("mixed"), monkeypatch)
    monkeypatch.setattr(piece_layout, "_STYLESHEETS", {})
    assert worker._prepared(job) is job
    assert list(piece_layout._STYLESHEETS) == [job]

    def fails(_: Any) -> None:
        raise ValueError("no stylesheet")

    monkeypatch.setattr(piece_layout, "prepare", fails)
    assert worker._prepared(job) is job


def test_the_first_pieces_go_to_workers_while_the_rest_are_made(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A piece's HTML is rendered, keyed and looked up in the cache only as the layout
    reaches it: in a cold build the first piece goes to a worker before the last is
    made; in a rebuild with a worker started early, the edited piece is made first and
    goes before the others are made. Either way the book is the one laid out in one
    process. The rebuild's worker is the one the command line starts as it begins
    (launch.py)."""
    events: list[str] = []
    make_next, send = pool._Plan.make_next, workers.Worker.send

    def made(plan: Any) -> None:
        events.append(f"made {len(plan.pieces)}")
        make_next(plan)

    def sent(worker: workers.Worker, task: workers.Task, out: Path) -> None:
        events.append(f"sent {task.index}")
        send(worker, task, out)

    monkeypatch.setattr(pool._Plan, "make_next", made)
    monkeypatch.setattr(workers.Worker, "send", sent)
    monkeypatch.setattr(pool, "POOL_FROM_WORDS", 1)  # workers for this small book
    manifest = book_copy("mixed")
    cache = tmp_path / "cache"
    cold = pieces_pdf(manifest, tmp_path / "a", LayoutOptions(jobs=2, cache_dir=cache))
    last = max(int(e.split()[1]) for e in events if e.startswith("made"))
    assert last >= 2 and events.index("sent 0") < events.index(f"made {last}"), events
    essay = manifest.parent / "chapters" / "gamma.txt"
    essay.write_text(essay.read_text("utf-8") + "\nOne sentence more.\n", "utf-8")
    events.clear()
    monkeypatch.setattr(launch, "cores", lambda: 2)
    launch.start_early(["--quiet", "build", str(manifest)])
    (early,) = launch._EARLY
    try:
        with workers.EarlyWorkers(1, cache, early=True) as spares:
            assert [w.process for w in spares.workers] == [early.process]
            assert launch._EARLY == [], "taken"
            options = LayoutOptions(jobs=2, cache_dir=cache, spares=spares)
            edited = pieces_pdf(manifest, tmp_path / "b", options)
    finally:
        launch.discard_early()
    assert early.process.returncode == 0, "told to stop once the build was done"
    sends = [e for e in events if e.startswith("sent") and e != "sent -1"]
    assert len(sends) == 1, events
    index = int(sends[0].split()[1])
    assert 0 < index < last, "an essay in the middle"
    # Made first: the edited essay's piece and alpha's (it reads an image: made anew at
    # every build, its piece a cache hit); the edited piece goes before any other is made.
    assert events.index(sends[0]) < events.index("made 2"), events
    alone = pieces_pdf(manifest, tmp_path / "c", LayoutOptions(jobs=1))
    assert edited.read_bytes() == alone.read_bytes() != cold.read_bytes()


def test_a_book_named_by_a_relative_path_is_laid_out_with_the_same_job(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every piece's cache key takes the job: `make-book build book.yaml` in the book's
    folder and the same book named by its absolute path must find the same pieces
    (they laid the whole book out again)."""
    manifest = book_copy("mixed")
    monkeypatch.chdir(manifest.parent.parent)
    relative = Path(manifest.parent.name) / manifest.name
    jobs, roots = [], []
    for path in (relative, manifest):
        config, book = load(path)
        profile = PROFILES[config.pdf.profile]
        settings = page_css.print_settings(config.pdf, profile, 0)
        jobs.append(print_layout.layout_job(book, settings, profile))
        roots.append(book.root)
    assert roots == [relative.parent, manifest.parent]  # the book as named
    assert jobs[0] == jobs[1]
    assert jobs[0].book_root == manifest.parent


class _NothingCached:
    """A piece cache that knows no piece."""

    def pages(self, key: str) -> None:
        return None

    def get(self, key: str, folio: int) -> None:
        return None


def test_one_piece_at_a_time_goes_ahead_of_pieces_not_made() -> None:
    """Edited pieces are made first, but only one task at a time goes before the pieces
    before it are made: two could fill every worker's slots with pieces waiting for
    folios that nothing would count (a restyled book, with no page count cached)."""
    specs = [
        PieceSpec(f"p{i}", "essays", essays=((SimpleNamespace(slug=f"e{i}", word_count=99), ""),))
        for i in range(6)
    ]

    def make(spec: PieceSpec) -> Piece:
        return Piece(spec, f"<p>{spec.name}</p>")

    cache: Any = _NothingCached()
    plan = pool._Plan(specs, make, "a job", cache, frozenset({"e3", "e5"}))
    assert plan.order == [3, 5, 0, 1, 2, 4]
    plan.make_more(until=lambda: len(plan.pieces) == 2)
    assert [task.index for task in plan.ready()] == [3]
    assert list(plan.ready()) == [], "e5's piece waits: e3's is ahead"
    plan.make_more(until=lambda: len(plan.pieces) == 5)  # pieces 0 to 2: 3 is not ahead now
    assert [task.index for task in plan.ready()] == [0, 1, 2, 5]
    plan.make_more()
    assert [task.index for task in plan.ready()] == [4]
    cold = pool._Plan(specs, make, "a job", cache)
    assert cold.order == list(range(6))


@pytest.mark.parametrize(
    "counts", [[], [3], [3, 5, 2], [3, None, 2], [None, 4], [4, 2, None], [None, None]]
)
def test_every_pieces_folio_is_summed_in_one_pass(counts: list[int | None]) -> None:
    """`ready()` and the front matter take each piece's folio from one pass over the
    counts (a pass per piece made a 300-piece book's build spend 0.9 s in `ready`)."""
    specs = [PieceSpec(f"p{i}", "essays") for i in range(len(counts))]
    cache: Any = _NothingCached()
    plan = pool._Plan(specs, lambda spec: Piece(spec, ""), "a job", cache)
    plan.counts = list(counts)
    assert plan._folios() == [plan.folio(i) for i in range(len(counts))]
    assert plan.folios() == [plan.folio(i) or 0 for i in range(len(counts))]


def test_an_edited_piece_paginated_before_the_rest_are_made_gets_its_folio(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The edited piece goes first, its folio not known. Its worker may paginate it
    before the build has made the pieces before it (their counts from the cache): the
    folio then goes as soon as they are made, not when a worker next says something,
    for none would. (It hung on the real stress book.)"""
    monkeypatch.setattr(pool, "POOL_FROM_WORDS", 1)  # workers for this small book
    manifest = book_copy("mixed")
    cache = tmp_path / "cache"
    pieces_pdf(manifest, tmp_path / "a", LayoutOptions(jobs=2, cache_dir=cache))
    essay = manifest.parent / "chapters" / "gamma.txt"
    essay.write_text(essay.read_text("utf-8") + "\nOne sentence more.\n", "utf-8")
    make_next, send, sent_to, told = pool._Plan.make_next, workers.Worker.send, [], []

    def sent(worker: workers.Worker, task: workers.Task, out: Path) -> None:
        sent_to.append(worker)
        send(worker, task, out)

    def slowly(plan: Any) -> None:
        if sent_to and not told:  # the edited piece went: wait for its worker's news
            told.append(multiprocessing.connection.wait([sent_to[0].conn], timeout=30))
        make_next(plan)

    monkeypatch.setattr(workers.Worker, "send", sent)
    monkeypatch.setattr(pool._Plan, "make_next", slowly)
    with workers.EarlyWorkers(1) as spares, fails_if_longer_than(45):
        options = LayoutOptions(jobs=2, cache_dir=cache, spares=spares)
        edited = pieces_pdf(manifest, tmp_path / "b", options)
    assert told == [[sent_to[0].conn]], "paginated before the rest were made"
    alone = pieces_pdf(manifest, tmp_path / "c", LayoutOptions(jobs=1))
    assert edited.read_bytes() == alone.read_bytes()


def test_a_rebuild_started_on_its_spare_worker_takes_every_job_once_words_enough_come(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool of a rebuild starts with the worker started early, when the first piece
    to lay out is made; if the pieces made after it have words enough (every piece of a
    restyled book), it takes every job at once, as a build that knew all its pieces."""
    from types import SimpleNamespace

    job, _ = job_and_pieces(book_copy("mixed"), monkeypatch)
    monkeypatch.setattr(pool, "POOL_FROM_WORDS", 100)
    rebuild = workers.Pool(job, 1)
    try:
        pool._grown(rebuild, SimpleNamespace(words=99), jobs=2)  # type: ignore[arg-type]
        assert rebuild.size == len(rebuild.workers) == 1
        pool._grown(rebuild, SimpleNamespace(words=100), jobs=2)  # type: ignore[arg-type]
        assert rebuild.size == len(rebuild.workers) == 2, "started now, not when a piece is"
        assert all(worker.job == job for worker in rebuild.workers)
    finally:
        rebuild.close()
    assert all(worker.process.poll() == 0 for worker in rebuild.workers), "they left"


def test_workers_started_early_are_ended_at_once_when_the_build_fails(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Early workers no pool took are stopped with the build: told to stop when it ends
    well (each removes its copies of the book's fonts as it leaves), killed when it
    fails, even those already sent their job, which would read the Stop only once they
    had prepared it."""
    job, _ = job_and_pieces(book_copy("mixed"), monkeypatch)
    with workers.EarlyWorkers(1) as spares:
        spares.prepare(job)
        calm = spares.workers[0].process
    assert calm.returncode == 0
    with pytest.raises(RuntimeError), workers.EarlyWorkers(1) as spares:
        spares.prepare(job)
        failing = spares.workers[0].process
        raise RuntimeError("the build failed")
    assert failing.returncode == -9


def test_the_chores_are_done_before_the_first_output_is_made(
    book_copy: BookCopy, tmp_path: Path, in_pool: LayoutOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build's chores (build/meanwhile.py) start when the layout first waits for its
    workers and are joined before any output is made or drafted: the cover's WeasyPrint
    import swaps process-wide state that a chore's import must not meet."""
    from make_book.render.cover.renderer import WrapCoverRenderer
    from make_book.render.epub.renderer import EpubRenderer

    events: list[str] = []
    start, join = Meanwhile.__call__, Meanwhile.join

    def started(self: Meanwhile) -> None:
        events.append("started")
        start(self)

    def joined(self: Meanwhile) -> None:
        join(self)
        events.append("joined")

    monkeypatch.setattr(Meanwhile, "__call__", started)
    monkeypatch.setattr(Meanwhile, "join", joined)
    for renderer, method in [
        (EpubRenderer, "draft"),
        (EpubRenderer, "render"),
        (PdfRenderer, "render"),
        (WrapCoverRenderer, "render"),
    ]:
        real = getattr(renderer, method)

        def making(self: Any, *args: Any, _real: Any = real, _name: str = method) -> Any:
            events.append(_name)
            return _real(self, *args)

        monkeypatch.setattr(renderer, method, making)
    run_build(book_copy("mixed"), tmp_path / "dist", ["pdf", "epub", "cover"], layout=in_pool)
    outputs = [i for i, e in enumerate(events) if e in ("draft", "render")]
    assert events.count("started") == 1 and len(outputs) == 4, events
    assert events.index("started") < events.index("joined") < outputs[0], events


def test_a_worker_started_with_as_many_as_the_cores_waits_for_the_first(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With at least as many early workers as cores (the build's own process reads the
    book meanwhile), the last imports WeasyPrint only once the first is ready, or gone:
    until then it stays small and answers nothing, then lays out as any other."""
    import os

    job, main = job_and_pieces(book_copy("mixed"), monkeypatch)
    lay = Lay(0, main[0].html, main[0].borrowed, tmp_path / "a.pdf", 1)
    after, ready = os.pipe()
    try:
        waiting = workers.spawn({launch.AFTER: after})
    finally:
        os.close(after)
    try:
        workers.give_job(waiting, job)
        waiting.conn.send(lay)
        assert not waiting.conn.poll(1.5), "it waits"
        assert psutil.Process(waiting.process.pid).memory_info().rss < 40 << 20, "no WeasyPrint"
        os.write(ready, b"1")
        assert isinstance(receive(waiting.conn), Paginated)
    finally:
        os.close(ready)
        workers.stop(waiting)
    first, last = workers.staggered(2)  # the first tells the last once it is ready
    try:
        workers.give_job(last, job)
        last.conn.send(lay)
        assert isinstance(receive(last.conn), Paginated)
        assert first.process.poll() is None, "told by the first, not by its end"
    finally:
        workers.stop(first)
        workers.stop(last)
    first, last = workers.staggered(2)
    first.process.kill()  # gone before it was ready: the last goes on
    try:
        workers.give_job(last, job)
        last.conn.send(lay)
        assert isinstance(receive(last.conn), Paginated)
    finally:
        workers.stop(first)
        workers.stop(last)


def test_early_workers_are_staggered_with_as_many_as_the_cores(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only with at least as many early workers as cores does the last wait; a pool does
    not wait for an idle worker it retires (the last of a staggered start reads its
    Stop only once it has started), but waits for it when it closes."""
    import os

    calls: list[int] = []
    stagger = workers.staggered

    def counted(count: int, cache: Path | None = None) -> list[workers.Worker]:
        calls.append(count)
        return stagger(count, cache)

    monkeypatch.setattr(workers, "staggered", counted)
    monkeypatch.setattr(workers, "cores", lambda: 2)
    with workers.EarlyWorkers(1):
        pass
    with workers.EarlyWorkers(2):
        pass
    assert calls == [2]
    job, _ = job_and_pieces(book_copy("mixed"), monkeypatch)
    after, ready = os.pipe()
    try:
        waiting = workers.spawn({launch.AFTER: after})
    finally:
        os.close(after)
    monkeypatch.setattr(workers, "spawn", lambda: waiting)
    idle = workers.Pool(job, 1)
    started = time.monotonic()
    idle.retire_idle()
    assert time.monotonic() - started < 1 and idle.leaving == [waiting]
    os.write(ready, b"1")
    os.close(ready)
    idle.close()
    assert waiting.process.returncode == 0, "it left by itself, once started"


def test_a_workers_ctrl_c_says_nothing() -> None:
    """The terminal sends Ctrl-C to the whole process group; the build says it in one line
    and ends its workers. A worker ignores it from its first line, wherever it is (its
    import here), and prints no traceback; it leaves when the build goes away."""
    import socket

    from make_book.render.pdf.layout.launch import command

    ours, theirs = socket.socketpair()
    with theirs:
        started = subprocess.Popen(
            command(theirs.fileno()), pass_fds=[theirs.fileno()], stderr=subprocess.PIPE
        )
    time.sleep(0.2)  # importing WeasyPrint
    started.send_signal(signal.SIGINT)
    time.sleep(0.2)
    ours.close()  # the build is gone
    _, stderr = started.communicate(timeout=60)
    assert (started.returncode, stderr) == (0, b"")

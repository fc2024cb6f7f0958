"""The print edition of one profile, being laid out: a handle the build driver waits on.

The book is laid out piece by piece (layout/pool.py) and, when a PDF is wanted, the
pieces are joined into the interior as they come (join/), then the interior is
finished for its profile (print_finish.py) and preflighted. Laying out runs in
rounds: KDP's gutter grows with the page count, so a round whose count asks for
other margins is laid out again (one or two rounds settle it).

The handle has three milestones, each a method that lays out until it is reached:
`main_matter_paged()` (every main piece is paginated: the main matter's page
starts, the front matter to come), `counted()` (the final page count and every page
start, known once every piece is paginated, while the last are still drawn) and
`finished()` (the finished interior). The driver alone decides what it makes at
each; nothing here calls back into the build.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from make_book.errors import RenderError
from make_book.model import Book
from make_book.pagemap import PageStart, page_label
from make_book.profiles import Profile
from make_book.publish.atomic import create_empty, temporary_name
from make_book.render.base import LayoutOptions, PrintPages, RenderContext
from make_book.render.pdf.footnotes import FootnotedBodies
from make_book.render.pdf.layout.page_refs import (
    folios_of,
    placeholder_folios,
    referenced,
    with_folios,
)
from make_book.render.pdf.layout.piece_cache import PieceCache
from make_book.render.pdf.layout.pieces import (
    Piece,
    PieceSpec,
    main_specs,
    piece_template,
    render_piece,
    template_context,
)
from make_book.render.pdf.layout.pool import (
    Counted,
    LaidOutBook,
    LayingOut,
    MainPaged,
    lay_out_book,
)
from make_book.render.pdf.layout.protocol import LayoutJob, PiecePages, PieceResult
from make_book.render.pdf.page_css import print_settings, safe_margin, settings_css
from make_book.render.weasy.patches.font_dates import dated_as_the_book
from make_book.render.weasy.session import captured_weasyprint_log
from make_book.source.manifest_types import PdfSettings
from make_book.theme import find_file, search_path

if TYPE_CHECKING:
    from make_book.render.pdf.join.book_join import BookJoin
    from make_book.render.pdf.preflight_gate import DrawingCheck

# A wider gutter can only add pages, and page references print their folios from the
# second round on: this settles in two or three rounds, rarely more.
ROUNDS = 6
log = logging.getLogger("make_book")


class PrintLayout:
    """The print edition of `ctx.profile`, laid out on demand up to each milestone.

    `write`: join and finish the interior PDF (else the pages are only counted and
    their starts found, for a cover or an EPUB built without the PDF). Use as a
    context manager: leaving it stops the workers and removes an interior not taken.
    """

    def __init__(self, book: Book, ctx: RenderContext, write: bool) -> None:
        self.book, self.ctx, self.profile = book, ctx, ctx.profile
        target = ctx.out_dir / self.profile.file_name("book")
        self.interior = temporary_name(target) if write else None  # made when laid out
        self.seconds = 0.0  # spent laying out, milestones' waits only
        self._steps: Generator[None, None, None] | None = None
        self._main_paged: PrintPages | None = None
        self._counted: PrintPages | None = None
        self._finished: PrintPages | None = None
        self._referenced = referenced(book)  # anchors whose folio a page reference prints
        self._fresh_passes: set[Path] = set()  # pieces the drawing check passed this build

    def __enter__(self) -> PrintLayout:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._steps is not None:
                self._steps.close()  # a layout left unfinished: its workers are stopped
        finally:
            if self.interior is not None:
                self.interior.unlink(missing_ok=True)  # the PDF took it, or it is not wanted

    def main_matter_paged(self) -> PrintPages | None:
        """Lay out until every main piece is paginated in a round that may be the last;
        the main matter's pages alone, numbered from its first page. None when the page
        count is final first (every round before was sure to be laid out again)."""
        self._advance(lambda: self._main_paged is not None or self._counted is not None)
        return self._main_paged

    def counted(self) -> PrintPages:
        """Lay out until the page count is final; every page start."""
        self._advance(lambda: self._counted is not None)
        assert self._counted is not None
        return self._counted

    def finished(self) -> PrintPages:
        """Lay out everything; every page start, and the finished interior if written."""
        self._advance(lambda: self._finished is not None)
        assert self._finished is not None
        return self._finished

    def _advance(self, reached: Callable[[], bool]) -> None:
        started = time.perf_counter()
        if self._steps is None:
            self._steps = self._run()
        while not reached():
            try:
                next(self._steps)
            except StopIteration:  # a bug of ours: every milestone comes before the end
                raise RenderError("pdf: the print layout ended before its milestone") from None
        self.seconds += time.perf_counter() - started

    def _run(self) -> Generator[None, None, None]:
        wants_bleed = self.interior is not None and self.ctx.manifest.pdf.bleed
        if wants_bleed and not self.profile.bleed_allowed:
            name = self.profile.name
            log.warning("pdf.bleed is for printers: the %s profile has no bleed", name)
        if self.interior is not None:  # removed by __exit__, whatever happens from here
            self.interior.parent.mkdir(parents=True, exist_ok=True)
            create_empty(self.interior)
        with (
            captured_weasyprint_log(),
            dated_as_the_book(self.book),
            PieceCache(self.ctx.layout.cache_dir) as cache,
        ):
            laid, settings = yield from self._rounds(cache)
            if self.interior is not None:
                self._finish(laid, settings, cache)
        starts = _book_starts(laid.front.paged, [piece.paged for piece in laid.main])
        self._finished = self._pages(laid.page_count, starts, settings, self.interior)
        yield  # never resumed past here: `finished()` stops at the line above

    def _rounds(self, cache: PieceCache) -> Generator[None, None, tuple[LaidOutBook, PdfSettings]]:
        """Lay out until the margins suit the page count (KDP's gutter grows with the book)
        and the page references print the folios of their targets (layout/page_refs.py)."""
        manifest_pdf = self.ctx.manifest.pdf
        chosen = print_settings(manifest_pdf, self.profile, pages=0)
        folios = placeholder_folios(self._referenced)
        for round_number in range(ROUNDS):
            with self._joined(chosen) as joining:
                sink = joining.add if joining.writes else None
                first = round_number == 0
                laid = yield from self._round(chosen, folios, cache, sink, first)
                # A piece a later round takes again is marked passed in memory already.
                self._fresh_passes |= joining.fresh
                wanted = print_settings(manifest_pdf, self.profile, self._padded(laid))
                main = [piece.paged for piece in laid.main]
                printed = folios_of(self._referenced, laid.front.pages, main)
                if wanted == chosen and printed == folios:
                    joining.finish(laid.front)
                    self._fresh_passes |= joining.fresh  # the front matter's, too
                    break
            chosen, folios = wanted, printed
        else:  # cannot happen with KDP's table, whose gutter only grows: say so if it does
            pages = self._padded(laid)
            raise RenderError(
                f"pdf: the margins and page references did not settle in {ROUNDS} layouts"
                f" ({pages} pages)"
            )
        for warning in laid.warnings:
            log.warning("pdf: %s", warning)
        return laid, chosen

    @contextlib.contextmanager
    def _joined(self, chosen: PdfSettings) -> Iterator[_Joining]:
        """A round's join into the interior (if written) and drawing check."""
        if self.interior is None:
            yield _Joining(self.profile, chosen)
            return
        with self.interior.open("wb") as file:  # its copies kept in the cache, if any
            yield _Joining(self.profile, chosen, file, self.ctx.layout.cache_dir)

    def _round(
        self,
        chosen: PdfSettings,
        folios: dict[str, str],
        cache: PieceCache,
        sink: Callable[[PieceResult], None] | None,
        first: bool,
    ) -> Generator[None, None, LaidOutBook]:
        """One round; its milestones count only when its margins suit its page count
        and its page references print the folios its layout gives their targets."""
        # Closed however this ends: closing the pool's generator stops its workers.
        with contextlib.closing(
            lay_out(self.book, chosen, self.profile, self.ctx.layout, cache, sink, folios)
        ) as steps:
            while True:
                try:
                    milestone = next(steps)
                except StopIteration as end:
                    return end.value  # type: ignore[no-any-return]
                if isinstance(milestone, MainPaged):
                    if self._main_paged is None and self._counted is None:
                        self._main_paged = self._main_pages(milestone, chosen, folios, first)
                elif self._counted is None:
                    self._counted = self._final_count(milestone, chosen, folios)
                yield

    def _main_pages(
        self, paged: MainPaged, chosen: PdfSettings, folios: dict[str, str], first: bool
    ) -> PrintPages | None:
        """The main matter's pages and starts, numbered from its first page, unless this
        round is sure to be laid out again: its page references print other folios, or,
        in the first round (laid out for no pages), the main matter alone asks for a
        wider gutter (KDP's only grows with the count). Else None: no drafts now."""
        if folios_of(self._referenced, 0, paged.main) != folios:
            return None
        count = sum(piece.pages for piece in paged.main)
        wanted = print_settings(self.ctx.manifest.pdf, self.profile, self.profile.padded(count))
        if first and wanted != chosen:
            return None
        starts = _numbered_starts(paged.main, first=0, opener=0)
        return replace(self._pages(count, starts, chosen), page_count=count)  # not padded

    def _final_count(
        self, counted: Counted, chosen: PdfSettings, folios: dict[str, str]
    ) -> PrintPages | None:
        """The count and every page start, if this round's margins are final."""
        padded = self.profile.padded(counted.page_count)
        if print_settings(self.ctx.manifest.pdf, self.profile, padded) != chosen:
            return None  # another round comes, with a wider gutter
        front = counted.front.pages
        if folios_of(self._referenced, front, counted.main) != folios:
            return None  # another round comes, its page references printing other folios
        return self._pages(counted.page_count, _book_starts(counted.front, counted.main), chosen)

    def _finish(self, laid: LaidOutBook, settings: PdfSettings, cache: PieceCache) -> None:
        """Finish the joined interior for its profile, preflight it, say which glyphs fell back."""
        assert self.interior is not None
        from make_book.render.pdf.preflight_gate import (
            font_names,
            preflight_or_fail,
            warn_fallback_fonts,
        )

        profile = self.profile
        if profile.is_print:
            from make_book.render.pdf.print_finish import (
                finish_for_print,  # fontTools, colour management
            )

            finish_for_print(self.interior, profile, self.book.meta.title)
        trim, bleed = settings.trim, profile.bleeds(settings.bleed)
        before = laid.passed_pages(profile.name)
        names: set[str] = set()  # the fonts it sets text in, read by the preflight
        if not preflight_or_fail(
            self.interior,
            profile,
            trim,
            bleed,
            drawn_before=before,
            read_also=lambda pdf: names.update(font_names(pdf)),
        ):
            # Not even a warning: next time these pieces' pages need not be read again.
            for (key, folio), piece in zip(laid.entries, laid.pieces, strict=True):
                if piece.pdf in self._fresh_passes:  # its record says so in memory only
                    cache.store(key, folio, piece)
                else:
                    cache.passed(key, folio, piece, profile.name)
        manifest, cache_dir = self.ctx.manifest.path, self.ctx.layout.cache_dir
        warn_fallback_fonts(self.interior, settings, self.book, manifest, names, cache_dir)

    def _padded(self, laid: LaidOutBook) -> int:
        return self.profile.padded(laid.page_count)

    def _pages(
        self,
        count: int,
        starts: list[PageStart],
        settings: PdfSettings,
        interior: Path | None = None,
    ) -> PrintPages:
        width, height = settings.trim
        return PrintPages(
            profile=self.profile.name,
            page_count=self.profile.padded(count),
            starts=tuple(starts),
            source=f"{self.book.meta.title}, print edition ({width:g} x {height:g} in)",
            interior=interior,
        )


class _Joining:
    """A round's drawing check of each piece and join into the interior (when `out` is
    given), both made when the first piece comes: their modules (pikepdf, the preflight,
    30 to 40 ms to import) load after an edit's piece is sent, then or in the layout's
    first wait (the PDF renderer's `later_imports`), whichever comes first."""

    def __init__(
        self,
        profile: Profile,
        chosen: PdfSettings,
        out: BinaryIO | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.profile, self.chosen, self.out, self.cache_dir = profile, chosen, out, cache_dir
        self._check: DrawingCheck | None = None
        self._join: BookJoin | None = None

    @property
    def writes(self) -> bool:
        return self.out is not None

    @property
    def fresh(self) -> set[Path]:
        """The pieces that passed their drawing check here, not yet so in the cache."""
        return self._check.fresh if self._check is not None else set()

    def add(self, piece: PieceResult) -> None:
        self._joined().add(self._checked(piece))

    def finish(self, front: PieceResult) -> None:
        if self.writes:
            self._joined().finish(self._checked(front))

    def _checked(self, piece: PieceResult) -> PieceResult:
        if self._check is None:
            from make_book.render.pdf.preflight_gate import DrawingCheck

            self._check = DrawingCheck(self.profile, self.chosen)
        return self._check(piece)

    def _joined(self) -> BookJoin:
        assert self.out is not None, "a join only where the interior is written"
        if self._join is None:
            from make_book.render.pdf.join.book_join import BookJoin

            self._join = BookJoin(self.out, self.cache_dir, self.profile.name)
        return self._join


def lay_out(
    book: Book,
    settings: PdfSettings,
    profile: Profile,
    options: LayoutOptions,
    cache: PieceCache,
    sink: Callable[[PieceResult], None] | None = None,
    references: dict[str, str] | None = None,
) -> LayingOut:
    """Lay the book out piece by piece (cached, in parallel): layout/pool.py's generator.

    `references`: the folio each page reference prints (layout/page_refs.py)."""
    printed = references or {}
    job = layout_job(book, settings, profile)
    if options.spares is not None:  # before the pieces' HTML: see EarlyWorkers.prepare
        options.spares.prepare(job)
    template = piece_template(book, options.cache_dir)
    notes = FootnotedBodies(options.cache_dir)
    context = template_context(book, settings.font_family or "Linux Libertine", notes)
    specs = main_specs(book, bool(book.contributors_page), bool(book.sources_page))
    # The book's date is the front matter's (the joined PDF's metadata): without it a
    # piece does not change when the date follows the newest essay (see piece_layout.py).
    undated = {**context, "meta": replace(book.meta, modified="")}

    def piece(spec: PieceSpec) -> Piece:  # made by the pool, in page order (pool.py)
        return with_folios(render_piece(template, spec, undated), printed)

    def front(folios: dict[str, int]) -> Piece:
        piece = render_piece(template, PieceSpec("front", "front"), context, folios)
        return with_folios(piece, printed)

    return lay_out_book(job, specs, piece, front, cache, options, sink)


def layout_job(book: Book, settings: PdfSettings, profile: Profile) -> LayoutJob:
    """What every piece of this book and profile is laid out with."""
    page_css = settings_css(
        settings, profile.bleeds(settings.bleed), safe_margin(settings, profile)
    )
    return LayoutJob(
        css=page_css + find_file(book, "print.css").read_text("utf-8"),
        # Absolute: every piece's cache key takes the job, and `make-book build book.yaml`
        # and `make-book build /path/to/book.yaml` lay out the same pieces.
        book_root=book.root.absolute(),
        font_dirs=tuple(folder.absolute() for folder in search_path(book)),
        dpi=profile.min_dpi or 0,  # printers want 300 dpi and gain nothing from more
        tagged=profile.tagged,
        variant=profile.weasyprint_variant,
        language=book.meta.language,
        identifier=book.meta.identifier,
        profile=profile.name,
    )


def _book_starts(front: PiecePages, main: list[PiecePages]) -> list[PageStart]:
    """Every page start of the book, the front matter's first."""
    return _numbered_starts([front, *main], first=0, opener=front.pages)


def _numbered_starts(pieces: list[PiecePages], first: int, opener: int) -> list[PageStart]:
    """The pieces' page starts, numbered from page index `first`; `opener` is the first
    page of the main matter (folio 1)."""
    starts = []
    for piece in pieces:
        for start in piece.starts:  # made anew, not replace()d: 3,600 a build, 0.02 s quicker
            index = first + start.index
            label = page_label(index, opener)
            starts.append(
                PageStart(
                    index=index,
                    label=label,
                    text=start.text,
                    section=start.section,
                    block=start.block,
                    word=start.word,
                )
            )
        first += piece.pages
    return starts

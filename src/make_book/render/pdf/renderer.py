"""The printed book: laid out by WeasyPrint piece by piece, joined, finished, checked."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pikepdf

from make_book.errors import RenderError
from make_book.model import Book, Essay
from make_book.pagemap import PageStart, mark_blocks, page_label
from make_book.preflight.checks import Finding, preflight
from make_book.profiles import BLEED, Profile
from make_book.publish.atomic import atomic_path
from make_book.render.base import LayoutOptions, RenderContext, Renderer
from make_book.render.pdf.join.book_join import BookJoin
from make_book.render.pdf.layout.piece_cache import PieceCache
from make_book.render.pdf.layout.pieces import (
    Piece,
    PieceSpec,
    main_specs,
    piece_template,
    render_piece,
    template_context,
)
from make_book.render.pdf.layout.pool import Counted, LaidOutBook, Meanwhile, lay_out_book
from make_book.render.pdf.layout.protocol import LayoutJob, PieceResult
from make_book.render.weasy.session import (
    BOOK_FONT,
    FALLBACK,
    captured_weasyprint_log,
    font_config,
    font_faces_css,
    source_date,
)
from make_book.render.weasy.urls import BOOK_URL
from make_book.source.fragment import replace_noterefs
from make_book.source.manifest_types import PdfSettings
from make_book.theme import environment, find_file, search_path

if TYPE_CHECKING:
    # WeasyPrint (~30 MB) is imported only where this process lays a page out itself
    # (`layout`): the build's own process stays small while the workers lay out.
    import weasyprint

WARNING_RULES = frozenset({"image-dpi"})  # preflight findings a build reports but survives
HEAD_ROOM = 0.4  # inches between a printer's safe line and the text block, for heads and folios


def settings_css(settings: PdfSettings, bleed: bool = False, safe: float = 0.0) -> str:
    """Page geometry and type from book.yaml, as CSS written before the theme's.

    `bleed`: 0.125in beyond the trim on the top, bottom and outside edges (never
    the gutter). `safe`: a printer's least distance from the trim to any text,
    so the running heads and folios sit against the text block, clear of it.
    """
    faces = font_faces_css()
    family = f'"{settings.font_family}", ' if settings.font_family else ""
    w, h = settings.trim
    s = settings
    css = faces + (
        f':root {{ --book-font: {family}"{BOOK_FONT}", {FALLBACK};'
        f" --book-size: {s.font_size}pt; --book-leading: {s.line_height};"
        f" --page-height: {h - s.margin_top - s.margin_bottom - 0.02:.3f}in }}\n"
        f"@page {{ size: {w}in {h}in; margin: {s.margin_top}in {s.margin_outside}in"
        f" {s.margin_bottom}in {s.margin_inside}in;"
        f' font-family: {family}"{BOOK_FONT}", {FALLBACK}; font-size: {s.font_size * 0.85}pt }}\n'
        f"@page :left {{ margin-left: {s.margin_outside}in; margin-right: {s.margin_inside}in }}\n"
        f"@page :right {{ margin-left: {s.margin_inside}in; margin-right: {s.margin_outside}in }}\n"
    )
    if bleed:
        edges = f"bleed-top: {BLEED}in; bleed-bottom: {BLEED}in"
        css += f"@page :left {{ {edges}; bleed-left: {BLEED}in; bleed-right: 0 }}\n"
        css += f"@page :right {{ {edges}; bleed-right: {BLEED}in; bleed-left: 0 }}\n"
    if safe:
        css += _margin_boxes_near_text()
    return css


def _margin_boxes_near_text() -> str:
    near = "vertical-align: bottom; padding-bottom: 0.2in"
    far = "vertical-align: top; padding-top: 0.2in"
    boxes = [f"@top-{side} {{ {near} }}" for side in ("left", "center", "right")]
    boxes += [f"@bottom-{side} {{ {far} }}" for side in ("left", "center", "right")]
    return "@page { " + " ".join(boxes) + " }\n"


def print_settings(settings: PdfSettings, profile: Profile, pages: int) -> PdfSettings:
    """The settings a profile needs: its least margins and the gutter for this page count."""
    safe = _safe_margin(settings, profile)
    head_room = HEAD_ROOM if safe else 0.0
    return replace(
        settings,
        margin_inside=max(settings.margin_inside, profile.gutter(pages), safe),
        margin_outside=max(settings.margin_outside, safe),
        margin_top=max(settings.margin_top, safe + head_room),
        margin_bottom=max(settings.margin_bottom, safe + head_room),
    )


def _safe_margin(settings: PdfSettings, profile: Profile) -> float:
    return profile.safe_margin(profile.bleeds(settings.bleed))


def footnoted_body(essay: Essay) -> str:
    """The essay body with each note moved to its call, for `float: footnote`.

    Blocks are numbered first (data-b) so the layout can say where pages begin.
    """
    notes = {note.number: note for note in essay.footnotes}

    def place(number: int, first: bool) -> str:
        note = notes[number]
        if not first:
            return f'<a class="noteref-repeat" href="#{note.id}">{number}</a>'
        return f'<span class="footnote" id="{note.id}">{_inline_blocks(note.html)}</span>'

    return replace_noterefs(mark_blocks(essay.body_html), place)


def _inline_blocks(note_html: str) -> str:
    """A footnote lives inside a paragraph: its blocks become spans the CSS sets as blocks."""
    note_html = re.sub(r"<p(\s[^>]*)?>", '<span class="fn-p">', note_html)
    note_html = note_html.replace("</p>", "</span>")
    return re.sub(r"<(/?)(div|blockquote|ul|ol|li|h[1-6])\b[^>]*>", r"<\1span>", note_html)


def print_html(book: Book, typeface: str = "Linux Libertine") -> str:
    """The whole book as one HTML document for WeasyPrint."""
    template = environment(book).get_template("print.html")
    return template.render(**template_context(book, typeface, footnoted_body))


class PdfRenderer(Renderer):
    """book.yaml -> dist/book.pdf (or book-kdp.pdf… for the print profiles)"""

    name = "pdf"
    suffix = ".pdf"

    def render(self, book: Book, ctx: RenderContext) -> Path:
        """Lay out the book, finish it for the profile, preflight it, then write it atomically."""
        profile = ctx.profile
        if ctx.manifest.pdf.bleed and not profile.bleed_allowed:
            log.warning("pdf.bleed is for printers: the %s profile has no bleed", profile.name)
        target = ctx.out_dir / profile.file_name("book")
        with (
            captured_weasyprint_log(),
            source_date(book),
            PieceCache(ctx.layout.cache_dir) as cache,
            atomic_path(target) as tmp,
        ):
            laid, settings = fitted_layout(book, ctx, profile, cache, tmp)
            if profile.is_print:
                from make_book.render.pdf.print_finish import finish  # fontTools, colour management

                finish(tmp, profile, book.meta.title)
            trim, bleed = settings.trim, profile.bleeds(settings.bleed)
            before = laid.passed_pages(profile.name)
            if not preflight_or_fail(tmp, profile, trim, bleed, drawn_before=before):
                # Not even a warning: next time these pieces' pages need not be read again.
                for (key, folio), piece in zip(laid.entries, laid.pieces, strict=True):
                    cache.passed(key, folio, piece, profile.name)
            _warn_fallback_fonts(tmp, settings)
            _record(ctx, book, laid, settings, profile)
        return target


def fitted_layout(
    book: Book, ctx: RenderContext, profile: Profile, cache: PieceCache, out: Path | None = None
) -> tuple[LaidOutBook, PdfSettings]:
    """Lay out until the margins suit the page count (KDP's gutter grows with the book).

    With `out`, the pieces are joined there as they are laid out (join.py)."""
    chosen = print_settings(ctx.manifest.pdf, profile, pages=0)
    keep = ctx.layout.cache_dir is not None  # the join's copies, kept for the next build
    for _ in range(4):  # a wider gutter can only add pages: this settles in one or two rounds
        with out.open("wb") if out is not None else contextlib.nullcontext() as file:
            join = BookJoin(file, keep) if file is not None else None
            check = _DrawingCheck(profile, chosen)
            sink = check.then(join.add) if join is not None else None
            meanwhile = partial(_meanwhile, ctx, profile, chosen)
            laid = lay_out(book, chosen, profile, ctx.layout, cache, sink, meanwhile)
            wanted = print_settings(ctx.manifest.pdf, profile, profile.padded(laid.page_count))
            if wanted == chosen:
                if join is not None:
                    join.finish(check(laid.front))
                break
        chosen = wanted
    for warning in laid.warnings:
        log.warning("pdf: %s", warning)
    return laid, chosen


def _meanwhile(
    ctx: RenderContext, profile: Profile, chosen: PdfSettings, count: Callable[[], Counted]
) -> None:
    """While the front matter is laid out, the build makes what needs at most the page
    count and the main matter's page starts: given once known, if the margins suit the
    count (this is the last round)."""
    if ctx.meanwhile is None:
        return

    def final_count() -> int | None:
        counted = count()
        padded = profile.padded(counted.page_count)
        if print_settings(ctx.manifest.pdf, profile, padded) != chosen:
            return None  # another round comes, with a wider gutter
        ctx.facts.page_count = padded
        front = counted.front_pages
        ctx.facts.main_starts = _numbered_starts(counted.main, first=front, opener=front)
        return padded

    ctx.meanwhile(final_count)


class _DrawingCheck:
    """Each piece's pages against the profile's checks of what they draw (fonts, images,
    colours, margins), while the rest is laid out: the joined book's preflight then
    skips the pages that passed. A print profile's finishing redraws the pages, so
    there the book's own preflight reads them all."""

    def __init__(self, profile: Profile, settings: PdfSettings) -> None:
        self.profile, self.trim = profile, settings.trim
        self.bleed = profile.bleeds(settings.bleed)

    def __call__(self, piece: PieceResult) -> PieceResult:
        name = self.profile.name
        if self.profile.is_print or name in piece.passed:
            return piece
        found = preflight(
            piece.pdf, self.profile, trim=self.trim, bleed=self.bleed, drawing_only=True
        )
        if not found:
            piece.passed.append(name)
        return piece

    def then(self, take: Callable[[PieceResult], None]) -> Callable[[PieceResult], None]:
        """A sink for the layout: each piece checked, then given to `take`."""
        return lambda piece: take(self(piece))


def lay_out(
    book: Book,
    settings: PdfSettings,
    profile: Profile,
    options: LayoutOptions,
    cache: PieceCache,
    sink: Callable[[PieceResult], None] | None = None,
    meanwhile: Meanwhile | None = None,
) -> LaidOutBook:
    """Lay the book out piece by piece (cached, in parallel); see layout_pool.py."""
    template = piece_template(book)
    context = template_context(book, settings.font_family or "Linux Libertine", footnoted_body)
    specs = main_specs(book, bool(book.contributors_page), bool(book.sources_page))
    # The book's date is the front matter's (the joined PDF's metadata): without it a
    # piece does not change when the date follows the newest essay (see piecework.py).
    undated = {**context, "meta": replace(book.meta, modified="")}
    main = [render_piece(template, spec, undated) for spec in specs]

    def front(folios: dict[str, int]) -> Piece:
        return render_piece(template, PieceSpec("front", "front"), context, folios)

    job = _job(book, settings, profile)
    return lay_out_book(
        job, main, front, cache, options.jobs, options.progress, sink, options.spares, meanwhile
    )


def _job(book: Book, settings: PdfSettings, profile: Profile) -> LayoutJob:
    page_css = settings_css(
        settings, profile.bleeds(settings.bleed), _safe_margin(settings, profile)
    )
    return LayoutJob(
        css=page_css + find_file(book, "print.css").read_text("utf-8"),
        book_root=book.root,
        font_dirs=search_path(book),
        dpi=profile.min_dpi or 0,  # printers want 300 dpi and gain nothing from more
        tagged=profile.tagged,
        variant=profile.weasyprint_variant,
        language=book.meta.language,
        identifier=book.meta.identifier,
        profile=profile.name,
    )


def layout(book: Book, settings: PdfSettings, profile: Profile) -> weasyprint.Document:
    """The whole book as one WeasyPrint document: the reference the pieces must equal.

    make-book itself lays books out in pieces (`lay_out`); this is for the tests
    that compare the two, and for the benchmark's one-document baseline.
    """
    import weasyprint

    from make_book.render.weasy.fetch import BookFetcher
    from make_book.render.weasy.patches import leaders

    leaders.install()  # as the pieces set them: the same pages, drawn the same way

    # Fonts resolve along the theme search path: a project's folders may add faces.
    fetcher = BookFetcher(book.root, search_path(book))
    typeface = settings.font_family or "Linux Libertine"
    html = weasyprint.HTML(
        string=print_html(book, typeface), base_url=BOOK_URL, url_fetcher=fetcher
    )
    fonts = font_config()
    page_css = settings_css(
        settings, profile.bleeds(settings.bleed), _safe_margin(settings, profile)
    )
    css = page_css + find_file(book, "print.css").read_text("utf-8")
    # @font-face rules only load when the stylesheet is parsed with the font config.
    stylesheet = weasyprint.CSS(
        string=css, base_url=BOOK_URL, url_fetcher=fetcher, font_config=fonts
    )
    # Printers want 300 dpi and gain nothing from more: WeasyPrint downsamples while laying out.
    dpi = {"dpi": profile.min_dpi} if profile.min_dpi else {}
    return html.render(stylesheets=[stylesheet], font_config=fonts, **dpi)


def _warn_fallback_fonts(path: Path, settings: PdfSettings) -> None:
    """Glyphs the book's face lacks are set in a fallback face: say which, once."""
    wanted = {_font_key(BOOK_FONT)} | (
        {_font_key(settings.font_family)} if settings.font_family else set()
    )
    with pikepdf.open(path) as pdf:
        names = {
            str(font.get("/BaseFont", "")).lstrip("/").split("+")[-1]
            for page in pdf.pages
            for font in page.Resources.get("/Font", pikepdf.Dictionary()).values()
        }
    fallbacks = sorted(n for n in names if not any(_font_key(n).startswith(w) for w in wanted))
    if fallbacks:
        log.warning(
            "pdf: some characters are not in the book's typeface and were set in %s",
            ", ".join(fallbacks),
        )


def _font_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def preflight_or_fail(
    path: Path,
    profile: Profile,
    trim: tuple[float, float],
    bleed: bool,
    what: str = "pdf",
    quiet: frozenset[str] = frozenset(),
    drawn_before: frozenset[int] = frozenset(),
) -> list[Finding]:
    """A file that does not meet its profile is never written under the book's name.

    Low image resolution is the one finding that only warns: the services
    themselves accept such images after a warning, and only the author can fix it.
    Returns the findings that only warn.
    """
    findings = preflight(path, profile, trim=trim, bleed=bleed, drawn_before=drawn_before)
    for finding in findings:
        if finding.rule in WARNING_RULES - quiet:
            log.warning("%s (%s profile): %s", what, profile.name, finding)
    failures = [f for f in findings if f.rule not in WARNING_RULES]
    if failures:
        lines = [f"{what} ({profile.name} profile) fails its preflight: {f}" for f in failures]
        raise RenderError("\n".join(lines))
    return findings


def _record(
    ctx: RenderContext,
    book: Book,
    laid: LaidOutBook,
    settings: PdfSettings,
    profile: Profile,
) -> None:
    """What the cover and the EPUB's page-list need from this layout."""
    if ctx.facts.page_starts:
        return  # laid out already for this profile in this run
    ctx.facts.page_count = profile.padded(laid.page_count)
    ctx.facts.page_starts = _page_starts(laid)
    ctx.facts.profile = profile.name
    width, height = settings.trim
    ctx.facts.source = f"{book.meta.title}, print edition ({width:g} x {height:g} in)"


def _page_starts(laid: LaidOutBook) -> list[PageStart]:
    """Every piece's page starts, numbered in the joined book."""
    return _numbered_starts([laid.front, *laid.main], first=0, opener=laid.front.pages)


def _numbered_starts(pieces: list[PieceResult], first: int, opener: int) -> list[PageStart]:
    """The pieces' page starts, numbered from page index `first`; `opener` is the first
    page of the main matter (folio 1)."""
    starts = []
    for piece in pieces:
        for start in piece.starts:
            index = first + start.index
            starts.append(replace(start, index=index, label=page_label(index, opener)))
        first += piece.pages
    return starts


def interior_page_count(book: Book, ctx: RenderContext) -> int:
    """Lay the interior out (without writing it) when no PDF was built in this run."""
    if ctx.facts.page_count is None:
        with (
            captured_weasyprint_log(),
            source_date(book),
            PieceCache(ctx.layout.cache_dir) as cache,
        ):
            laid, settings = fitted_layout(book, ctx, ctx.profile, cache)
            _record(ctx, book, laid, settings, ctx.profile)
    assert ctx.facts.page_count is not None
    return ctx.facts.page_count


log = logging.getLogger("make_book")

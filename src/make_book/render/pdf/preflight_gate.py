"""A PDF that does not meet its profile is never written under the book's name: the
preflight run on every PDF a build makes, piece by piece while the book is laid out
and whole once it is joined, and the warning for characters the book's faces lack."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pikepdf

from make_book.errors import RenderError
from make_book.model import Book
from make_book.preflight.checks import Finding, preflight
from make_book.profiles import Profile
from make_book.render.pdf.glyphs import (
    book_faces,
    coverage,
    font_key,
    missing_glyphs,
    per_book,
    warning_lines,
)
from make_book.render.pdf.layout.protocol import PieceResult
from make_book.render.weasy.session import BOOK_FONT
from make_book.source.manifest_types import PdfSettings

WARNING_RULES = frozenset({"image-dpi"})  # preflight findings a build reports but survives
log = logging.getLogger("make_book")


def preflight_or_fail(
    path: Path,
    profile: Profile,
    trim: tuple[float, float],
    bleed: bool,
    what: str = "pdf",
    quiet: frozenset[str] = frozenset(),
    drawn_before: frozenset[int] = frozenset(),
    read_also: Callable[[pikepdf.Pdf], object] | None = None,
) -> list[Finding]:
    """A file that does not meet its profile is never written under the book's name.

    Low image resolution is the one finding that only warns: the services
    themselves accept such images after a warning, and only the author can fix it.
    Returns the findings that only warn. `read_also`: see `preflight`.
    """
    findings = preflight(
        path, profile, trim=trim, bleed=bleed, drawn_before=drawn_before, read_also=read_also
    )
    for finding in findings:
        if finding.rule in WARNING_RULES - quiet:
            log.warning("%s (%s profile): %s", what, profile.name, finding)
    failures = [f for f in findings if f.rule not in WARNING_RULES]
    if failures:
        lines = [f"{what} ({profile.name} profile) fails its preflight: {f}" for f in failures]
        raise RenderError("\n".join(lines))
    return findings


class DrawingCheck:
    """Each piece's pages against the profile's checks of what they draw (fonts, images,
    colours, margins), while the rest is laid out: the joined book's preflight then
    skips the pages that passed. A print profile's finishing redraws the pages, so
    there the book's own preflight reads them all."""

    def __init__(self, profile: Profile, settings: PdfSettings) -> None:
        self.profile, self.trim = profile, settings.trim
        self.bleed = profile.bleeds(settings.bleed)
        self.fresh: set[Path] = set()  # pieces that passed here, not yet so in the cache

    def __call__(self, piece: PieceResult) -> PieceResult:
        name = self.profile.name
        if self.profile.is_print or name in piece.passed:
            return piece
        found = preflight(
            piece.pdf, self.profile, trim=self.trim, bleed=self.bleed, drawing_only=True
        )
        if not found:
            piece.passed.append(name)
            self.fresh.add(piece.pdf)
        return piece

    def then(self, take: Callable[[PieceResult], None]) -> Callable[[PieceResult], None]:
        """A sink for the layout: each piece checked, then given to `take`."""
        return lambda piece: take(self(piece))


def font_names(pdf: pikepdf.Pdf) -> set[str]:
    """The names of the fonts the pages of `pdf` set text in, without subset tags. The
    pages of a piece share their resources: each dictionary is read once."""
    names: set[str] = set()
    read: set[tuple[int, int]] = set()
    for page in pdf.pages:
        resources = page.Resources
        if resources.is_indirect:
            if resources.objgen in read:
                continue
            read.add(resources.objgen)
        fonts = resources.get("/Font", pikepdf.Dictionary()).values()
        names.update(str(font.get("/BaseFont", "")).lstrip("/").split("+")[-1] for font in fonts)
    return names


def warn_fallback_fonts(
    path: Path,
    settings: PdfSettings,
    book: Book,
    manifest_path: Path,
    names: set[str] | None = None,
    cache_dir: Path | None = None,
) -> None:
    """Characters the book's faces lack are set in a fallback face: say which, where
    they are written and how to set them, once per build (glyphs.py).

    The faces are those the print stylesheets declare and `pdf: font_family`, those
    of them the PDF at `path` sets text in (`names`, when its preflight read them:
    `font_names`); what they have is read from their files. When that finds nothing
    but the PDF names a face of none of them (a template's character), the warning
    names that face. `cache_dir`: the build's cache, where the essays' characters are
    remembered (glyphs.printed_texts)."""
    if names is None:
        with pikepdf.open(path) as pdf:
            names = font_names(pdf)
    said = _said(book)
    faces = book_faces(book, settings.font_family)
    keys = {font_key(name) for name in names}
    # The faces the PDF sets text in (a PDF font's name starts with its family's).
    used = {
        face: files
        for face, files in faces.items()
        if any(key.startswith(font_key(face)) for key in keys)
    } or faces
    lines: list[str] = []
    if all(used.values()):  # every face in use read from its files
        covered = coverage(file for files in used.values() for file in files)
        if covered not in said.missing:
            missing = missing_glyphs(book, manifest_path, covered, cache_dir=cache_dir)
            said.missing[covered] = warning_lines(missing)
        lines = said.missing[covered]
    wanted = {font_key(face) for face in {BOOK_FONT, *faces}}
    fallbacks = sorted(n for n in names if not any(font_key(n).startswith(w) for w in wanted))
    if not lines and fallbacks:
        faces_named = ", ".join(fallbacks)
        lines = [f"some characters are not in the book's typeface and were set in {faces_named}"]
    for line in lines:
        if line not in said.lines:
            said.lines.add(line)
            log.warning("pdf: %s", line)


class _Said:
    """What was warned of for one book: once per build, whatever the profiles."""

    def __init__(self) -> None:
        self.lines: set[str] = set()
        self.missing: dict[frozenset[int], list[str]] = {}  # by the faces' code points


def _said(book: Book) -> _Said:
    """The book's record: a new build's book is a new object, so it warns again."""
    return per_book(book, ("said", None), _Said)

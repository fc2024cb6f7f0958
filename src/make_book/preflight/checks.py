"""Preflight: read a finished PDF and list every way it breaks a print profile's rules.

The renderer writes the PDF from a profile (make_book.profiles); this module reads the
file back, as a printer's upload check would, and reports what it finds. It trusts
nothing the renderer meant to do: every rule is checked on the file itself.

Each page's content stream is run through (`interpreter`), tracking the graphics state
(CTM, colours, text state) into the form XObjects it draws and the appearances of its
annotations: that gives the fonts and graphics states in use, the placed images, the
colours painted and the extent of the text (`marks`). Fonts and states are judged where
they are used, not where they are declared: WeasyPrint gives every page the same
resources. The rules themselves are in `rules`, one module per kind.

A problem repeated on many pages is reported once with the pages it is on (`findings`);
findings about the whole file come first, then page by page.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pikepdf

from make_book.errors import InputError
from make_book.preflight.expectations import Expectations
from make_book.preflight.findings import Finding, Problem, collapse
from make_book.preflight.geometry import BoxReader, PageBoxes, is_recto, page_boxes
from make_book.preflight.interpreter import Interpreter
from make_book.preflight.rules.annotations import annotation_problems
from make_book.preflight.rules.colour import colour_problems
from make_book.preflight.rules.document import document_problems
from make_book.preflight.rules.fonts import FontRules
from make_book.preflight.rules.images import resolution_problems
from make_book.preflight.rules.margins import margin_problems
from make_book.preflight.rules.page_boxes import box_problems
from make_book.preflight.rules.transparency import transparency_problems
from make_book.profiles import Profile

__all__ = ["Finding", "preflight"]


def preflight(
    path: Path,
    profile: Profile,
    *,
    trim: tuple[float, float] | None = None,
    bleed: bool | None = None,
    drawn_before: frozenset[int] = frozenset(),
    drawing_only: bool = False,
    read_also: Callable[[pikepdf.Pdf], object] | None = None,
) -> list[Finding]:
    """Read a finished PDF and list every way it breaks the profile's rules (empty: passes).

    `trim` (width, height in inches) and `bleed` are what the book asked for; when None
    they are read from the file: the first page's TrimBox, and whether its MediaBox
    reaches beyond it. A file that cannot be read gives one "unreadable" finding.
    `drawn_before`: 0-based pages whose drawing (fonts, images, colours, margins)
    passed this profile in an earlier build, unchanged since (the layout cache knows):
    their content is not read again. Boxes, annotations and the whole file always are.
    `drawing_only`: check what the pages draw and nothing else (a piece of a book,
    checked while the rest is laid out; see `DrawingCheck` in render/pdf/preflight_gate.py).
    Anything but a regular file (a FIFO, a device) is an InputError: it is not opened for
    reading, which could wait for ever. `read_also`: given the open file once it is
    checked, for what else the caller reads in it (no second opening: 0.011 s for a
    1,200-page book); if it fails, the file is reported as malformed.
    """
    try:
        with _regular_file(path) as stream, pikepdf.open(stream) as pdf:
            # qpdf quietly rebuilds a truncated or corrupt file; its warnings say it had to.
            warnings = pdf.get_warnings()
            if warnings:
                return [Finding("unreadable", f"{path.name} is damaged: {warnings[0]}")]
            findings = _Preflight(pdf, profile, trim, bleed).run(drawn_before, drawing_only)
            if read_also is not None:
                read_also(pdf)
    except InputError:
        raise  # not a file at all: not a finding about one
    except pikepdf.PasswordError:
        return [Finding("unreadable", f"{path.name} is encrypted; printers need it unlocked")]
    except (pikepdf.PdfError, OSError) as error:
        reason = _STREAM_NAMED.sub("", str(error), count=1)
        return [Finding("unreadable", f"cannot read {path.name} as a PDF: {reason}")]
    except Exception as error:  # noqa: BLE001 - a malformed file must give a finding, not a crash
        return [
            Finding("unreadable", f"{path.name} is malformed ({type(error).__name__}: {error})")
        ]
    return collapse(findings)


# How qpdf's messages begin for a file opened by make-book (pikepdf's description of it).
_STREAM_NAMED = re.compile(r"^stream <[^>]*>: ")


def _regular_file(path: Path) -> BinaryIO:
    """`path` opened for reading, if it is a regular file (links followed)."""
    # O_NONBLOCK: opening a FIFO with no writer would block; fstat then says what it is.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"{path}: {_kind_of(mode)}, not a PDF file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _kind_of(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "a named pipe", stat.S_ISCHR: "a device", stat.S_ISBLK: "a device"}
    kinds |= {stat.S_ISSOCK: "a socket", stat.S_ISDIR: "a folder"}
    return next((kind for test, kind in kinds.items() if test(mode)), "not a regular file")


class _Preflight:
    """One file against one profile: the whole file's rules, then each page's."""

    def __init__(
        self,
        pdf: pikepdf.Pdf,
        profile: Profile,
        trim: tuple[float, float] | None,
        bleed: bool | None,
    ) -> None:
        self.pdf = pdf
        self.pages = list(pdf.pages)
        read = BoxReader()
        self.boxes = [page_boxes(page.obj, read) for page in self.pages]
        self.expected = Expectations.of(profile, self.boxes, trim, bleed)
        self.interpreter = Interpreter(self.expected.measures_text)
        self.fonts = FontRules(profile)
        # A book's pages repeat a few boxes: each set checked once for a right-hand page
        # and once for a left-hand one (its gutter), not for each of 1,200 pages.
        self._box_problems: dict[tuple[PageBoxes, bool], list[Problem]] = {}

    def run(self, drawn_before: frozenset[int], drawing_only: bool) -> list[Finding]:
        whole = [] if drawing_only else document_problems(self.pdf, self.expected)
        findings = [Finding(rule, message) for rule, message in whole]
        if drawing_only and self.expected.fonts_only:
            missing = Finding("fonts-embedded", "a font is not embedded")
            return [] if self.fonts.all_embedded(self.pages) else [missing]
        for index, page in enumerate(self.pages):
            problems = [] if drawing_only else [*self._page(index, page)]
            if index not in drawn_before:
                problems += self._drawing(index, page)
            findings += [Finding(rule, message, index + 1) for rule, message in problems]
        return findings

    def _page(self, index: int, page: pikepdf.Page) -> Iterator[Problem]:
        """The page itself, whatever it draws: its boxes and its annotations."""
        boxes = self.boxes[index]
        known = (boxes, is_recto(index))
        if known not in self._box_problems:
            self._box_problems[known] = list(box_problems(index, boxes, self.expected))
        yield from self._box_problems[known]
        yield from annotation_problems(page, self.expected.profile)

    def _drawing(self, index: int, page: pikepdf.Page) -> Iterator[Problem]:
        """What the page draws: fonts, images, colours, transparency, and where its text is."""
        expected, profile = self.expected, self.expected.profile
        marks = self.interpreter.page(page)
        for name, font in marks.fonts.values():
            yield from self.fonts.problems(font, name)
        yield from resolution_problems(marks, profile)
        if expected.checks_colours:
            yield from colour_problems(marks, black_text_k_only=profile.gray_only)
        if expected.no_transparency:
            yield from transparency_problems(marks)
        yield from margin_problems(index, marks.text_extent, self.boxes[index].trim, expected)

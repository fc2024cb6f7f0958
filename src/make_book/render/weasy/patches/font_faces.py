"""Each embedded face of a piece marked with the face it was cut from, kept once.

Replaces: `weasyprint.pdf.build_fonts_dictionary`, as `generate_pdf` calls it, with a
wrapper that calls it and then marks its work. Before the call it takes, for each face
WeasyPrint is about to subset, the face's whole font file (HarfBuzz's blob, before
`Font.clean` replaces it with the subset) and writes it, named by its sha256, into the
faces folder of the piece's cache (layout/piece_cache.py's `faces_folder`) unless it is
there already. After the call, the stream of that face's subset gets one more entry,
`/MakeBookFace (<sha256>:<index in the file>)`. Why: every piece embeds its own subset
of each face (the 1,462-page real stress book held 243 fonts of four faces, 5 MB of font
programs); with the mark the join (render/pdf/join/font_faces.py) embeds each face once,
cut from the whole file to the glyphs of the whole book, and drops the pieces' subsets.
The glyph ids stay the whole file's (WeasyPrint subsets with HarfBuzz's RETAIN_GIDS), so
the pieces' content streams stay as they are.

Only faces a subset of the whole file can stand for are marked: vector, static (no
`fvar`), without colour glyphs, subset (not used in forms), without characters the face
lacks (WeasyPrint makes up glyph ids for those, per piece), one font object per face,
at most 64 MB, in a PDF newer than 1.4 (no CIDSet to keep). Any other keeps its subset.

Guarded: WeasyPrint 70; `build_fonts_dictionary` takes (pdf, fonts, compress, subset,
options) and `generate_pdf` calls it by its module's name; a face without the
attributes read here is not marked. Held while a piece is written (`marking_faces`),
by every thread that writes one; the folder is each thread's own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from make_book.cache.folder import write_new
from make_book.render.weasy.patches.fence import (
    SHARED,
    ShapeChanged,
    expect_function,
    expect_global_calls,
    expect_weasyprint,
)

MARK = "MakeBookFace"  # the entry added to a face's font file stream
FACE_SUFFIX = ".face"  # a whole font file in the faces folder: <sha256>.face
FACE_LIMIT = 64 * 1024 * 1024  # a bigger face keeps its subsets
_PARAMS = ("pdf", "fonts", "compress", "subset", "options")


class _Where(threading.local):
    folder: Path | None = None  # this thread's piece's faces folder


_WHERE = _Where()


def shape_problem() -> str | None:
    """What in WeasyPrint differs from what this patch was written for (None: nothing)."""
    try:
        expect_weasyprint()
        import weasyprint.pdf
        import weasyprint.pdf.fonts

        expect_function(weasyprint.pdf.fonts, "build_fonts_dictionary", _PARAMS)
        expect_global_calls(weasyprint.pdf.generate_pdf, "build_fonts_dictionary")
    except ShapeChanged as changed:
        return str(changed)
    return None


@contextlib.contextmanager
def marking_faces(folder: Path) -> Iterator[None]:
    """Inside: the faces of PDFs this thread writes are kept in `folder` and marked."""
    outer, _WHERE.folder = _WHERE.folder, folder
    try:
        with SHARED.hold("weasyprint.pdf.build_fonts_dictionary", _swapped):
            yield
    finally:
        _WHERE.folder = outer


@contextlib.contextmanager
def _swapped() -> Iterator[None]:
    if shape_problem() is not None:  # another WeasyPrint: faces stay the pieces' own
        yield
        return
    import weasyprint.pdf

    original = weasyprint.pdf.build_fonts_dictionary
    if getattr(original, "_make_book", False):  # already in place (cannot happen: held)
        yield
        return

    def build_fonts_dictionary(
        pdf: Any, fonts: Any, compress: Any, subset: Any, options: Any
    ) -> Any:
        folder = _WHERE.folder
        faces = _faces(fonts, subset, options, folder) if folder is not None else {}
        pdf_fonts = original(pdf, fonts, compress, subset, options)
        for font_hash, mark in faces.items():
            with contextlib.suppress(Exception):  # a shape not foreseen: left unmarked
                _font_file(pdf, pdf_fonts[font_hash])[MARK] = _string(mark)
        return pdf_fonts

    build_fonts_dictionary._make_book = True  # type: ignore[attr-defined]
    weasyprint.pdf.build_fonts_dictionary = build_fonts_dictionary
    try:
        yield
    finally:
        weasyprint.pdf.build_fonts_dictionary = original


def _faces(fonts: Any, subset: Any, options: Any, folder: Path) -> dict[str, str]:
    """font hash -> mark, for each face that can be shared, its file kept in `folder`."""
    if not subset or str(options.get("pdf_version")) <= "1.4":
        return {}
    by_hash: dict[object, list[Any]] = {}
    for font in fonts.values():
        by_hash.setdefault(getattr(font, "hash", None), []).append(font)
    marks: dict[str, str] = {}
    for font_hash, same in by_hash.items():
        font = same[0]
        content = getattr(font, "file_content", None)
        if len(same) != 1 or not isinstance(font_hash, str) or not _shareable(font, content):
            continue
        assert isinstance(content, bytes)
        digest = hashlib.sha256(content).hexdigest()
        if _kept(folder, digest, content):
            marks[font_hash] = f"{digest}:{int(font.index)}"
    return marks


def _shareable(font: Any, content: object) -> bool:
    try:
        plain = not (font.bitmap or font.png or font.svg or font.colr or font.missing)
        return (
            plain
            and not font.used_in_forms
            and "fvar" not in font.tables
            and bool(font.to_unicode)
            and isinstance(content, bytes)
            and 0 < len(content) <= FACE_LIMIT
        )
    except AttributeError:
        return False


def _kept(folder: Path, digest: str, content: bytes) -> bool:
    """Whether the face is in `folder` (written now if it was not): never through a link.

    A regular file of the face's size under its name is taken as the face, unread: the
    join reads it and checks its sha256 against the name. (Reading it back here, piece
    after piece, cost a worker 7 MB at its peak: a CJK fallback face is 4 MB.)"""
    path = folder / f"{digest}{FACE_SUFFIX}"
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder)
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        with contextlib.suppress(FileNotFoundError):
            found = os.lstat(path)
            if stat.S_ISREG(found.st_mode) and found.st_size == len(content):
                return True
        write_new(path, content)  # missing or damaged (the join checks it by its name)
    except OSError:
        return False
    return True


def _font_file(pdf: Any, reference: Any) -> Any:
    """The font file stream of the Type0 font at `reference` (pydyf's objects)."""
    font = _object(pdf, reference)
    descriptor = _object(pdf, _object(pdf, font["DescendantFonts"][0])["FontDescriptor"])
    return _object(pdf, descriptor.get("FontFile2") or descriptor["FontFile3"])


def _object(pdf: Any, reference: Any) -> Any:
    number = int(bytes(reference).split()[0])
    obj = pdf.objects[number]
    if getattr(obj, "number", None) != number:
        raise LookupError(reference)
    if hasattr(obj, "extra"):  # a stream: its dictionary
        return obj.extra
    return obj


def _string(text: str) -> Any:
    import pydyf

    return pydyf.String(text)

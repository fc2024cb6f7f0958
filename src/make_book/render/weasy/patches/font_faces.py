"""Each embedded face of a piece marked with its whole font file, kept once, and left out.

Replaces: `weasyprint.pdf.build_fonts_dictionary`, as `generate_pdf` calls it, with a
wrapper around it. Before the call it takes, for each face WeasyPrint would subset, the
face's whole font file (HarfBuzz's blob) and writes it, named by its sha256, into the
faces folder of the piece's cache (layout/piece_cache.py's `faces_folder`) unless it is
there already. After the call, the face's font file stream gets one more entry,
`/MakeBookFace (<sha256>:<index in the file>)`. Why: each piece would embed its own
subset of each face (the 1,462-page real stress book held 243 fonts of four faces, 5 MB
of font programs); with the mark the join (render/pdf/join/font_faces.py) embeds each
face once, cut from the whole file to the glyphs of the whole book. The glyph ids stay
the whole file's (the join cuts with HarfBuzz's RETAIN_GIDS, as WeasyPrint does), so
the pieces' content streams stay as they are.

A marked face is not subset in the piece at all: its font file stream keeps only four
bytes, the sfnt version its subset would start with (`OTTO` for CFF outlines, else
TrueType's), which WeasyPrint reads to choose FontFile3 or FontFile2 and the CIDFont's
type (`Font.clean`, which only subsets such a face, is skipped for it). The join never
uses a marked piece's own program once it has the whole file, and cutting it took about
3% of a worker's time (HarfBuzz, and deflating the cut, once a face a piece). So a
piece now needs its faces: `marking_faces` gives the sha256 of each face left out, the
piece's record lists them, and the layout cache takes the piece only while each is
whole in the faces folder (layout/piece_cache.py). A face already in the
folder is checked by its sha256 before a piece relies on it (once for each time the
file was written or marked used), and written again if it is not what its name says.

Only faces a subset of the whole file can stand for are marked: vector, static (no
`fvar`), without colour glyphs, subset (not used in forms), without characters the face
lacks (WeasyPrint makes up glyph ids for those, per piece), one font object per face,
at most 64 MB, in a PDF newer than 1.4 (no CIDSet to keep). Any other keeps its subset.

Guarded: WeasyPrint 70; `build_fonts_dictionary` takes (pdf, fonts, compress, subset,
options), `generate_pdf` calls it by its module's name, and its source and that of
`Font.type` (the four bytes it reads) are the ones this was written for; `Font.clean`
takes (self, to_unicode, hinting). Elsewhere faces keep their subsets; a face without
the attributes read here is not marked. Held while a piece is written (`marking_faces`),
by every thread that writes one; the folder is each thread's own.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from make_book.cache.files import sha256_of_regular
from make_book.cache.folder import write_new
from make_book.render.weasy.patches.fence import (
    SHARED,
    ShapeChanged,
    expect_function,
    expect_global_calls,
    expect_weasyprint,
    has_source,
)

MARK = "MakeBookFace"  # the entry added to a face's font file stream
FACE_SUFFIX = ".face"  # a whole font file in the faces folder: <sha256>.face
FACE_LIMIT = 64 * 1024 * 1024  # a bigger face keeps its subsets
LEFT_OUT = 4  # what a piece keeps of a face it leaves out: an sfnt version (`Font.type`)
_CFF, _TRUETYPE = b"OTTO", b"\x00\x01\x00\x00"  # the sfnt versions a subset starts with
_PARAMS = ("pdf", "fonts", "compress", "subset", "options")
# The sources the wrapper was written for (WeasyPrint 70.0): which fonts `clean` is called
# on, and how `Font.type` tells CFF from TrueType (`_emptied`).
_BUILD_SOURCE_SHA256 = "fc551bef35d0d6c3d288f686fd21b5ea8c1efadb8f2f3b4d379cfa6045c02230"
_TYPE_SOURCE_SHA256 = "31376bf9b326ac58403187f045eb3b823ef5cf26ec2a6a4af88f436266a0bd98"


class _Where(threading.local):
    folder: Path | None = None  # this thread's piece's faces folder
    left_out: set[str] | None = None  # the sha256 of each face left out of its pieces


_WHERE = _Where()
_CHECKED: set[tuple[str, int, int, int]] = set()  # face files found whole by this process


def shape_problem() -> str | None:
    """What in WeasyPrint differs from what this patch was written for (None: nothing)."""
    try:
        expect_weasyprint()
        import weasyprint.pdf
        import weasyprint.pdf.fonts

        build = expect_function(weasyprint.pdf.fonts, "build_fonts_dictionary", _PARAMS)
        expect_global_calls(weasyprint.pdf.generate_pdf, "build_fonts_dictionary")
        font = weasyprint.pdf.fonts.Font
        expect_function(font, "clean", ("self", "to_unicode", "hinting"))
        if not has_source(build, _BUILD_SOURCE_SHA256):
            raise ShapeChanged("weasyprint.pdf.fonts.build_fonts_dictionary has changed")
        reads_type = getattr(font.type, "fget", None)
        if not callable(reads_type) or not has_source(reads_type, _TYPE_SOURCE_SHA256):
            raise ShapeChanged("weasyprint.pdf.fonts.Font.type has changed")
    except ShapeChanged as changed:
        return str(changed)
    return None


@contextlib.contextmanager
def marking_faces(folder: Path) -> Iterator[set[str]]:
    """Inside: the faces of PDFs this thread writes are kept in `folder` and marked, and
    left out of them. Gives the sha256 of each face left out (its file in `folder`),
    filled as the PDFs are written: what the pieces need to be read again."""
    left_out: set[str] = set()
    outer = _WHERE.folder, _WHERE.left_out
    _WHERE.folder, _WHERE.left_out = folder, left_out
    try:
        with SHARED.hold("weasyprint.pdf.build_fonts_dictionary", _swapped):
            yield left_out
    finally:
        _WHERE.folder, _WHERE.left_out = outer


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
        with _left_out([f for f in fonts.values() if f.hash in faces]):
            pdf_fonts = original(pdf, fonts, compress, subset, options)
        for font_hash, mark in faces.items():
            # Marked, or the build fails: the join could not tell the face left out.
            _font_file(pdf, pdf_fonts[font_hash])[MARK] = _string(mark)
        if _WHERE.left_out is not None:
            _WHERE.left_out.update(mark.split(":")[0] for mark in faces.values())
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


@contextlib.contextmanager
def _left_out(fonts: list[Any]) -> Iterator[None]:
    """Inside: these fonts' programs are written as the sfnt version of their subset
    alone, not subset. Each is a face `_shareable` allows (static, plain), so `clean`
    would only have subset it; WeasyPrint tells CFF from TrueType (FontFile3 or 2, and
    the CIDFont's type) by those bytes. Not the whole file's first bytes: a collection's
    (.ttc, .otc) are `ttcf`, whatever its faces' outlines."""
    kept = [(font, font.file_content) for font in fonts]
    for font in fonts:
        font.clean = functools.partial(_emptied, font)
    try:
        yield
    finally:
        for font, content in kept:
            del font.clean  # the class's again
            font.file_content = content


def _emptied(font: Any, *_cleaning: object) -> None:
    cff = {"CFF ", "CFF2"} & set(font.tables)
    font.file_content = _CFF if cff else _TRUETYPE


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

    A regular file of the face's size under its name is read (in blocks: a CJK
    fallback face is 4 MB) and checked against its name, once per process for each
    time the file was written or marked used (its time is part of what is checked); one that is not
    what its name says is written again. Pieces leave their faces out, so it must be
    whole; the join checks it again."""
    path = folder / f"{digest}{FACE_SUFFIX}"
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder)
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        with contextlib.suppress(FileNotFoundError):
            found = os.lstat(path)
            seen = (str(path), found.st_size, found.st_mtime_ns, found.st_ino)
            same_size = stat.S_ISREG(found.st_mode) and found.st_size == len(content)
            if same_size and (seen in _CHECKED or sha256_of_regular(path, FACE_LIMIT) == digest):
                _CHECKED.add(seen)
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

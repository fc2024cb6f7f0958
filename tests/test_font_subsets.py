"""The joined book embeds each face once, cut to the glyphs the whole book uses
(render/pdf/join/font_faces.py, render/weasy/patches/font_faces.py): the pieces keep their
widths and ToUnicode maps, so the text reads as before; a rebuild cuts no face again
unless its glyphs changed, and gives the bytes of a fresh build."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pikepdf
import pypdf
import pytest
from fontTools.ttLib import TTFont
from fontTools.ttLib.ttCollection import TTCollection

from helpers import BookCopy
from make_book.build.driver import run_build
from make_book.cache.folder import CacheFolder
from make_book.errors import RenderError
from make_book.progress import Progress
from make_book.render.base import LayoutOptions
from make_book.render.pdf.join import font_faces
from make_book.render.pdf.join.object_writer import PdfWriter
from make_book.render.pdf.layout.piece_cache import PieceCache
from make_book.render.weasy.patches import font_faces as marking
from make_book.render.weasy.patches import install

MARK = f"/{marking.MARK}"


def build(manifest: Path, out: Path, cache: Path | None) -> bytes:
    run_build(manifest, out, ["pdf"], layout=LayoutOptions(1, cache, Progress()))
    return (out / "book.pdf").read_bytes()


def type0_fonts(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    fonts: dict[tuple[int, int], pikepdf.Dictionary] = {}
    for page in pdf.pages:
        for font in page.Resources.get("/Font", pikepdf.Dictionary()).values():
            if font.get("/Subtype") == "/Type0":
                fonts[font.objgen] = font
    return list(fonts.values())


def program_of(font: pikepdf.Dictionary) -> pikepdf.Stream:
    descriptor = font.DescendantFonts[0].FontDescriptor
    program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
    assert isinstance(program, pikepdf.Stream)
    return program


def widths_of(font: pikepdf.Dictionary) -> set[int]:
    w = list(font.DescendantFonts[0].W)
    return {
        g
        for first, run in zip(w[::2], w[1::2], strict=True)
        for g in range(first, first + len(run))
    }


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


@pytest.fixture
def cuts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many glyphs each face cut in this test was cut to."""
    made: list[int] = []
    cut = font_faces._cut

    def counted(content: bytes, index: int, glyphs: list[int]) -> bytes:
        made.append(len(glyphs))
        return cut(content, index, glyphs)

    monkeypatch.setattr(font_faces, "_cut", counted)
    return made


def test_each_face_is_embedded_once_with_every_glyph_the_book_uses(
    book_copy: BookCopy, tmp_path: Path
) -> None:
    manifest = book_copy("montaigne")
    cache = tmp_path / "cache"
    build(manifest, tmp_path / "a", cache)
    with pikepdf.open(tmp_path / "a" / "book.pdf") as pdf:
        assert pdf.check_pdf_syntax() == []
        fonts = type0_fonts(pdf)
        by_face: dict[str, set[tuple[int, int]]] = {}
        for font in fonts:
            by_face.setdefault(str(font.BaseFont), set()).add(program_of(font).objgen)
        assert len(fonts) == len(by_face) >= 2, "one font a face, for every piece"
        assert all(program_key_fits(font) for font in fonts)
        assert all(len(programs) == 1 for programs in by_face.values()), by_face
        for font in fonts:
            program = program_of(font)
            assert MARK not in program.stream_dict
            face = TTFont(io.BytesIO(program.read_bytes()))
            order = face.getGlyphOrder()
            if "CFF " in face:
                strings = face["CFF "].cff.topDictIndex[0].CharStrings
                drawn = {g for g in widths_of(font) if len(strings[order[g]].bytecode or b"")}
            else:
                drawn = {g for g in widths_of(font) if face["glyf"][order[g]].numberOfContours}
            assert max(widths_of(font)) < len(order)
            assert len(drawn) > len(widths_of(font)) / 2, "the glyphs are drawn, not empty"
    # The pieces are marked, and their faces kept whole in the cache under their sha256.
    faces = list((cache / "pieces" / "faces").glob("*.face"))
    assert faces and all(hashlib.sha256(f.read_bytes()).hexdigest() == f.stem for f in faces)
    with pikepdf.open(next((cache / "pieces").glob("*/*.pdf"))) as piece:
        fonts = type0_fonts(piece)
        assert all(MARK in program_of(font).stream_dict for font in fonts)
        kept = [program_of(font).read_bytes() for font in fonts]
        assert all(len(k) == marking.LEFT_OUT for k in kept), "left out, not cut"
        # A piece that left a face out cannot be joined without the face's file.
        with pytest.raises(RenderError, match="went missing or was damaged during the build"):
            font_faces._refuse_left_out(fonts[0])


def test_a_piece_whose_font_disagrees_keeps_it_with_the_book_s_font_file(
    tmp_path: Path,
) -> None:
    """A glyph with another width (or text) than the book's font gives it: the piece keeps
    its own font objects, pointing at the one font file; a kept copy fits only as it was."""
    content = b"a whole font file"
    digest = hashlib.sha256(content).hexdigest()
    (tmp_path / f"{digest}.face").write_bytes(content)
    mark = f"{digest}:0"
    head: Any = (
        b"/BaseFont /X",
        b"/Subtype /CIDFontType2",
        b"/Ascent 800",
        6,
        (b"0", b"-200", b"800"),
    )
    faces = font_faces.BookFaces(PdfWriter(io.BytesIO()))
    first = faces.take([(mark, {3: 500, 4: 600}, {3: "a", 4: "b"}, head)], tmp_path)
    same = faces.take([(mark, {4: 600, 5: 700}, {4: "b", 5: "c"}, head)], tmp_path)
    other = faces.take([(mark, {3: 501}, {3: "a"}, head)], tmp_path)
    text = faces.take([(mark, {3: 500}, {3: "á"}, head)], tmp_path)
    ((font, whole),), ((font_again, whole_again),) = first, same
    assert whole and whole_again and font == font_again
    program = faces.faces[mark].program
    assert other == [(program, False)] and text == [(program, False)]
    assert faces.faces[mark].widths == {3: 500, 4: 600, 5: 700}
    assert faces.faces[mark].glyphs == {3, 4, 5}
    kept = [(mark, font, True, {5: 700}, {5: "c"}, head)]
    assert faces.fit(kept, tmp_path)
    assert not faces.fit([(mark, font, True, {3: 501}, {3: "a"}, head)], tmp_path)
    assert faces.fit([(mark, program, False, {3: 501}, {3: "a"}, head)], tmp_path)
    elsewhere = font_faces.BookFaces(PdfWriter(io.BytesIO()))
    assert not elsewhere.fit(kept, tmp_path / "elsewhere"), "no whole file there"


def test_the_book_reads_as_with_each_piece_s_own_subsets(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("montaigne")
    shared = build(manifest, tmp_path / "a", tmp_path / "cache-a")
    monkeypatch.setattr(marking, "shape_problem", lambda: "told not to")  # as before
    own = build(manifest, tmp_path / "b", tmp_path / "cache-b")
    assert len(shared) < len(own) * 0.85
    assert page_texts(tmp_path / "a" / "book.pdf") == page_texts(tmp_path / "b" / "book.pdf")
    with pikepdf.open(tmp_path / "b" / "book.pdf") as pdf:
        programs = Counter(str(font.BaseFont) for font in type0_fonts(pdf))
        assert all(count > 1 for count in programs.values()), "each piece its own subset"


def test_a_rebuild_cuts_a_face_only_when_its_glyphs_changed(
    book_copy: BookCopy, tmp_path: Path, cuts: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("montaigne")
    cache = tmp_path / "cache"
    build(manifest, tmp_path / "a", cache)
    faces = len(cuts)
    assert faces >= 2
    essay = sorted((manifest.parent / "chapters").glob("*.md"))[3]
    essay.write_text(essay.read_text("utf-8").replace("the", "that", 1), "utf-8")
    opened: list[Path] = []
    real_open = pikepdf.open

    def watched(path: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, (str, Path)):
            opened.append(Path(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(pikepdf, "open", watched)
    edited = build(manifest, tmp_path / "b", cache)
    assert len(cuts) == faces, "no new glyph: every cut remembered"
    pieces = {p for p in opened if p.parent.parent.name == "pieces"}
    assert len(pieces) <= 3, "the pieces that did not change are joined from their copies"
    monkeypatch.setattr(pikepdf, "open", real_open)
    assert edited == build(manifest, tmp_path / "c", tmp_path / "fresh-cache")
    cuts.clear()
    # A glyph the book did not use yet: that face alone is cut again.
    essay.write_text(essay.read_text("utf-8").replace("that", "thǽt", 1), "utf-8")
    added = build(manifest, tmp_path / "d", cache)
    assert len(cuts) == 1
    assert added == build(manifest, tmp_path / "e", tmp_path / "fresh-cache-2")


def test_a_face_whose_file_cannot_be_kept_keeps_each_piece_s_subsets(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("montaigne")
    cache = tmp_path / "cache"
    build(manifest, tmp_path / "a", cache)
    faces = cache / "pieces" / "faces"
    for face in faces.glob("*.face"):
        damaged = bytearray(face.read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF  # not what its name says
        face.write_bytes(bytes(damaged))
    for cut in faces.glob("*[0-9a-f]"):
        cut.unlink()
    essay = sorted((manifest.parent / "chapters").glob("*.md"))[3]
    essay.write_text(essay.read_text("utf-8").replace("the", "that", 1), "utf-8")
    monkeypatch.setattr(marking, "_kept", lambda *_: False)  # and none can be written now
    build(manifest, tmp_path / "b", cache)
    with pikepdf.open(tmp_path / "b" / "book.pdf") as pdf:
        assert pdf.check_pdf_syntax() == []
        fonts = type0_fonts(pdf)
        programs = {program_of(font).objgen for font in fonts}
        assert len(programs) == len(fonts) > 2, "each piece's font with its own subset"
        assert not any(MARK in program_of(font).stream_dict for font in fonts)
    shutil.rmtree(faces)


def test_a_piece_laid_out_outside_a_cache_keeps_its_subsets(tmp_path: Path) -> None:
    """Only a piece in a piece's folder (layout/piece_cache.py) marks its faces."""
    from make_book.render.pdf.layout.piece_cache import faces_folder

    assert faces_folder(tmp_path / "x.pdf") is None
    entry = tmp_path / ("ab" * 32)
    assert faces_folder(entry / "3.pdf") == tmp_path / "faces"


def test_the_marking_patch_fits_this_weasyprint(monkeypatch: pytest.MonkeyPatch) -> None:
    install()
    assert marking.shape_problem() is None
    import weasyprint.pdf
    import weasyprint.pdf.fonts

    original = weasyprint.pdf.build_fonts_dictionary
    with marking.marking_faces(Path("unused")):
        assert weasyprint.pdf.build_fonts_dictionary is not original
    assert weasyprint.pdf.build_fonts_dictionary is original

    def changed(pdf: Any, fonts: Any, compress: Any, subset: Any) -> Any:
        return None

    monkeypatch.setattr(weasyprint.pdf.fonts, "build_fonts_dictionary", changed)
    assert "takes (pdf, fonts, compress, subset)" in (marking.shape_problem() or "")
    with marking.marking_faces(Path("unused")):
        assert weasyprint.pdf.build_fonts_dictionary is original, "left as it is"
    monkeypatch.undo()
    # What leaving a face out relies on: which fonts `clean` cuts, and what `type` reads.
    font = weasyprint.pdf.fonts.Font
    monkeypatch.setattr(font, "clean", lambda self, to_unicode: None)
    assert "Font.clean takes (self, to_unicode)" in (marking.shape_problem() or "")
    monkeypatch.undo()
    monkeypatch.setattr(font, "type", property(lambda self: "ttf"))
    assert "Font.type has changed" in (marking.shape_problem() or "")
    monkeypatch.undo()
    assert marking.shape_problem() is None


FACES = Path(font_faces.__file__).parents[3] / "themes" / "default" / "fonts"


def face_and_glyphs(name: str, text: str) -> tuple[bytes, list[int]]:
    """A face of the default theme, and the glyph ids of `text` in it (with .notdef)."""
    content = (FACES / name).read_bytes()
    face = TTFont(io.BytesIO(content))
    order, cmap = face.getGlyphOrder(), face.getBestCmap()
    return content, sorted({0} | {order.index(cmap[ord(c)]) for c in text})


def drawn(face: TTFont, glyphs: list[int]) -> list[object]:
    from fontTools.pens.recordingPen import DecomposingRecordingPen

    order, glyph_set = face.getGlyphOrder(), face.getGlyphSet()
    drawings: list[object] = []
    for g in glyphs:
        pen = DecomposingRecordingPen(glyph_set)
        glyph_set[order[g]].draw(pen)
        drawings.append((pen.value, face["hmtx"][order[g]]))
    return drawings


@pytest.mark.parametrize(
    ("name", "text"),
    [("LinLibertine_R.otf", "Montaigne, ‘Of Cannibals’"), ("MakeBookSupplement.ttf", "⸻")],
)
def test_a_face_is_cut_by_harfbuzz_as_weasyprint_cuts(name: str, text: str) -> None:
    """HarfBuzz's subsetter with WeasyPrint 70's flags: the glyphs drawn as in the whole
    face at their own ids (RETAIN_GIDS, the second pass keeping 0 to the last), the
    layout tables dropped, CFF desubroutinized, no hinting; the same bytes every time."""
    content, glyphs = face_and_glyphs(name, text)
    assert font_faces._harfbuzz() is not None, "uharfbuzz is a dependency"
    program = font_faces._cut(content, 0, glyphs)
    assert (
        program
        == font_faces._harfbuzz_cut(content, 0, glyphs)
        == font_faces._cut(content, 0, glyphs)
    )
    cut, whole = TTFont(io.BytesIO(program)), TTFont(io.BytesIO(content))
    assert len(cut.getGlyphOrder()) == max(glyphs) + 1
    assert drawn(cut, glyphs[1:]) == drawn(whole, glyphs[1:])
    assert not {"GPOS", "GSUB", "DSIG", "fpgm", "prep", "cvt "} & set(cut.keys())
    assert (program[:4] == b"OTTO") == (content[:4] == b"OTTO")
    if "CFF " in cut:
        cff = cut["CFF "].cff
        assert len(cff.GlobalSubrs) == 0
        assert not getattr(cff.topDictIndex[0].Private, "Subrs", None)
    assert cut["head"].modified == whole["head"].modified, "no date of its own"


def test_without_harfbuzz_or_where_it_fails_fonttools_cuts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content, glyphs = face_and_glyphs("LinLibertine_R.otf", "Montaigne")
    by_fonttools = font_faces._fonttools_cut(content, 0, glyphs)
    assert by_fonttools != font_faces._cut(content, 0, glyphs)
    drawings = drawn(TTFont(io.BytesIO(by_fonttools)), glyphs[1:])
    assert drawings == drawn(TTFont(io.BytesIO(content)), glyphs[1:])

    def failing(*_: object) -> bytes:
        raise RuntimeError("hb_subset_or_fail failed")

    monkeypatch.setattr(font_faces, "_harfbuzz_cut", failing)
    assert font_faces._cut(content, 0, glyphs) == by_fonttools
    monkeypatch.setattr(font_faces, "_harfbuzz", lambda: None)  # uharfbuzz not installed
    assert font_faces._cut(content, 0, glyphs) == by_fonttools
    assert font_faces._cutter.__wrapped__().startswith("fonttools ")
    assert font_faces._cut(b"not a font", 0, [0, 1]) == b"not a font", "embedded whole"


def test_a_remembered_cut_is_reused_only_from_the_same_cutter(
    tmp_path: Path, cuts: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo's key names the cutter and its version: a cache written with fontTools'
    cuts (or another HarfBuzz) is cut again, not taken for this HarfBuzz's."""
    from importlib.metadata import version

    from make_book.cache.memo import BlobMemo

    content, glyphs = face_and_glyphs("LinLibertine_RI.otf", "Essays")
    digest = hashlib.sha256(content).hexdigest()
    (tmp_path / f"{digest}.face").write_bytes(content)
    cutter = font_faces._cutter()
    assert cutter.startswith(f"harfbuzz {font_faces._harfbuzz().version_string()} ")
    assert f"uharfbuzz {version('uharfbuzz')}" in cutter

    def joined(memo: BlobMemo) -> bytes:
        out = io.BytesIO()
        faces = font_faces.BookFaces(PdfWriter(out))
        faces.take([(f"{digest}:0", dict.fromkeys(glyphs, 500), {}, None)], tmp_path)
        faces.write(memo)
        return out.getvalue()

    memo = BlobMemo(tmp_path / "cache", "faces")
    first = joined(memo)
    assert joined(memo) == first and len(cuts) == 1, "remembered"
    monkeypatch.setattr(font_faces, "_cutter", lambda: f"fonttools {version('fonttools')}")
    joined(memo)
    assert len(cuts) == 2, "another cutter's key: cut again"


def test_a_damaged_face_is_written_again_and_its_pieces_laid_out_again(
    book_copy: BookCopy, tmp_path: Path
) -> None:
    """The pieces leave their faces out: the cache takes a piece only while the faces it
    left out are whole, and a layout writes a damaged one again."""
    manifest = book_copy("sample")
    cache = tmp_path / "cache"
    first = build(manifest, tmp_path / "a", cache)
    faces = cache / "pieces" / "faces"
    for face in faces.glob("*.face"):  # the same size, not what the name says
        damaged = bytearray(face.read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF
        face.write_bytes(bytes(damaged))
    names = sorted(f.name for f in faces.glob("*.face"))
    pieces = sorted((cache / "pieces").glob("*/*.pdf"))
    laid_out = {p: p.stat().st_mtime_ns for p in pieces}
    assert build(manifest, tmp_path / "b", cache) == first
    assert sorted(f.name for f in faces.glob("*.face")) == names
    assert all(hashlib.sha256(f.read_bytes()).hexdigest() == f.stem for f in faces.glob("*.face"))
    again = sorted((cache / "pieces").glob("*/*.pdf"))
    assert again == pieces and all(p.stat().st_mtime_ns != laid_out[p] for p in again)
    laid_out = {p: p.stat().st_mtime_ns for p in again}
    assert build(manifest, tmp_path / "c", cache) == first  # whole again: taken as they are
    assert {p: p.stat().st_mtime_ns for p in again} == laid_out


def program_key_fits(font: pikepdf.Dictionary) -> bool:
    """A CIDFont of CFF outlines (Type 0) has a FontFile3; of TrueType's (Type 2), a
    FontFile2: what a PDF reader, and PDF/X's finishing, go by."""
    cid = font.DescendantFonts[0]
    descriptor = cid.FontDescriptor
    wanted = "/FontFile3" if cid.Subtype == "/CIDFontType0" else "/FontFile2"
    return wanted in descriptor and len(descriptor.keys() & {"/FontFile2", "/FontFile3"}) == 1


def test_a_face_of_a_collection_is_left_out_as_the_flavour_of_its_outlines(
    book_copy: BookCopy, tmp_path: Path
) -> None:
    """A .ttc or .otc file starts with `ttcf`, not with its faces' own sfnt version: a
    piece leaving such a face out must still say CFF (FontFile3) or TrueType, as its
    subset would have, or the book names a TrueType font over a CFF program (and PDF/X's
    finishing refuses it)."""
    manifest = book_copy("sample")
    collection = TTCollection()
    collection.fonts = [TTFont(FACES / "LinLibertine_R.otf"), TTFont(FACES / "LinLibertine_RI.otf")]
    (manifest.parent / "fonts").mkdir()
    collection.save(manifest.parent / "fonts" / "collected.ttc")
    assert (manifest.parent / "fonts" / "collected.ttc").read_bytes()[:4] == b"ttcf"
    theme_css = (FACES.parent / "styles" / "print.css").read_text("utf-8")
    (manifest.parent / "styles").mkdir(exist_ok=True)
    (manifest.parent / "styles" / "print.css").write_text(
        '@font-face { font-family: "Collected"; src: url(fonts/collected.ttc) }\n'
        + theme_css
        + '\np { font-family: "Collected" }\n',
        "utf-8",
    )
    cache = tmp_path / "cache"
    layout = LayoutOptions(1, cache, Progress())
    run_build(manifest, tmp_path / "out", ["pdf"], ["screen", "ingram"], layout=layout)
    with pikepdf.open(tmp_path / "out" / "book.pdf") as pdf:
        assert all(program_key_fits(font) for font in type0_fonts(pdf))
    # The collection's first face was set, kept whole and left out as CFF.
    digest = hashlib.sha256((manifest.parent / "fonts" / "collected.ttc").read_bytes()).hexdigest()
    assert (cache / "pieces" / "faces" / f"{digest}.face").is_file()
    left_out = []
    for path in (cache / "pieces").glob("*/*.pdf"):
        with pikepdf.open(path) as piece:
            for font in type0_fonts(piece):
                if str(program_of(font).stream_dict.get(MARK, "")) == f"{digest}:0":
                    left_out.append(program_of(font).read_bytes())
    assert left_out and set(left_out) == {b"OTTO"}, "Linux Libertine's outlines are CFF"
    assert (tmp_path / "out" / "book-ingram.pdf").exists()


def test_the_faces_cached_pieces_left_out_are_marked_used_when_they_are_taken(
    book_copy: BookCopy, tmp_path: Path
) -> None:
    """A cached piece needs the faces it left out: taking it marks them used, so that
    the month's pruning never removes a face whose pieces are still in use."""
    manifest = book_copy("sample")
    cache = tmp_path / "cache"
    first = build(manifest, tmp_path / "a", cache)
    folder = CacheFolder.open(cache)
    assert folder is not None
    places = [r.relative_to(cache).as_posix() for r in (cache / "pieces").glob("*/*.json")]
    records = [json.loads(folder.read(place) or b"") for place in places]
    named = {digest for record in records for digest in record["faces"]}
    faces = sorted((cache / "pieces" / "faces").glob("*.face"))
    assert named and named == {face.stem for face in faces}, "named by sha256, not by path"
    long_ago = time.time() - 40 * 86400
    for face in faces:
        os.utime(face, (long_ago, long_ago))
    # An EPUB alone lays the book out for its page-list, from the cache, and joins nothing.
    run_build(manifest, tmp_path / "b", ["epub"], layout=LayoutOptions(1, cache, Progress()))
    assert all(face.exists() and face.stat().st_mtime > long_ago + 86400 for face in faces)
    assert build(manifest, tmp_path / "c", cache) == first


def test_a_face_gone_after_the_cache_took_its_pieces_stops_the_build_once(
    book_copy: BookCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a face go between the cache's check and the join, in the same build, the
    book is not written with the face left out: the build stops with one line, and the
    next build lays those pieces out again, to the same bytes."""
    manifest = book_copy("sample")
    cache = tmp_path / "cache"
    first = build(manifest, tmp_path / "a", cache)
    for face in (cache / "pieces" / "faces").glob("*.face"):
        face.unlink()
    monkeypatch.setattr(PieceCache, "_face_is_whole", lambda *_: True)  # checked before
    with pytest.raises(
        RenderError, match="went missing or was damaged during the build"
    ) as stopped:
        build(manifest, tmp_path / "b", cache)
    assert "\n" not in str(stopped.value)
    assert not (tmp_path / "b" / "book.pdf").exists()
    monkeypatch.undo()
    assert build(manifest, tmp_path / "c", cache) == first

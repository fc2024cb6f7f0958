"""Each face embedded once in the joined book, cut to the glyphs the whole book uses.

Every piece is its own WeasyPrint document, so every piece would embed its own subset
of each face: the 1,462-page real stress book held 243 fonts of four faces, 5 MB of font
programs in a file of 19.5 MB. The worker marks each face it could share
(render/weasy/patches/font_faces.py): its font file stream names the face's whole font
file, kept once in the faces folder of the cache by its sha256. The join then writes
each face's font file once, cut from the whole file to the union of the glyphs every
piece uses, by HarfBuzz's subsetter (uharfbuzz) with WeasyPrint's own flags: glyph ids
kept, as WeasyPrint keeps them.

A piece's font of a shared face is replaced by the book's one font of that face, whose
widths and ToUnicode map are the union of the pieces': but only where the piece's own
agree with those of the pieces before it (the same width and text for every glyph they
both use, the same name and descriptor), so that every glyph is placed, extracted and
copied as in the piece. A piece whose font does not agree keeps its own font objects,
its font descriptor pointing at the book's font file. Pieces are taken in the book's
order, in a cold build and a rebuild alike: the same bytes. The pieces leave their marked
faces out (render/weasy/patches/font_faces.py), and the layout cache takes a piece only
with its faces' files whole: should one go during the build, the join stops there. A
piece that kept its subset (its face could not be written) keeps it in the book.

Cutting a face takes a few milliseconds (fontTools, the fallback where uharfbuzz is
missing or fails, took 0.1 to 0.4 s); the cut is remembered in the cache under the face,
the glyphs and the cutter's version (cache/memo.py's BlobMemo), so a rebuild whose
glyphs did not change cuts nothing. What the join needs of each piece's fonts comes
with its kept copy (piece_copy.py): a rebuild opens no piece with pikepdf for them.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf

from make_book.cache.files import read_regular
from make_book.cache.folder import remove_regular
from make_book.cache.memo import BlobMemo, key_of
from make_book.errors import RenderError
from make_book.render.pdf.join.object_writer import ObjGen, PdfWriter, dictionary, number
from make_book.render.pdf.layout.protocol import FACES
from make_book.render.weasy.patches.font_faces import FACE_LIMIT, FACE_SUFFIX, LEFT_OUT, MARK

FORMAT = 2  # of a remembered cut: bump when the cut changes
# A font of a shared face as a piece has it: its Type0 font's entries, its CIDFont's and
# its descriptor's (printed, without what the book's font sets itself), the descriptor's
# flags and its FontBBox's x0, y0 and y1, printed. None: it cannot stand for others.
Head = tuple[bytes, bytes, bytes, int, tuple[bytes, bytes, bytes]]
# A piece's use of a face: its mark (sha256:index), the book's object the piece refers
# to (the book's font, or the font file alone), whether it is the book's font, and the
# piece's widths, texts (ToUnicode) and head.
FaceUse = tuple[str, int, bool, dict[int, int], dict[int, str], Head | None]
# The tables HarfBuzz drops in WeasyPrint's subsets (weasyprint/pdf/fonts.py, 70.0).
_DROPPED = ["BASE", "DSIG", "EBDT", "EBLC", "EBSC", "GPOS", "GSUB", "JSTF", "LTSH", "PCLT"]
_DROPPED += ["SVG "]
_SKIPPED_FONT = {"/DescendantFonts", "/ToUnicode"}
_SKIPPED_CID = {"/W", "/FontDescriptor"}
_SKIPPED_DESCRIPTOR = {"/FontFile2", "/FontFile3", "/FontBBox", "/Flags"}
_REFERENCE = re.compile(rb"\b\d+ \d+ R\b")
_UNICODE = re.compile(rb"<([0-9a-fA-F]{4})> <([0-9a-fA-F]*)>")
_CMAP_HEAD = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo
<< /Registry (Adobe)
/Ordering (UCS)
/Supplement 0
>> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <ffff>
endcodespacerange"""
_CMAP_TAIL = b"""endcmap
CMapName currentdict /CMap defineresource pop
end
end"""


@dataclass
class Found:
    """A font of a shared face in a piece: its objects there, and what it uses."""

    font: ObjGen  # the Type0 font
    program: ObjGen  # its font file
    mark: str
    widths: dict[int, int]
    texts: dict[int, str]
    head: Head | None


@dataclass
class _Face:
    program: int  # the book's object for its font file
    content: bytes  # the whole file
    index: int  # the face's index in it (a collection)
    glyphs: set[int] = field(default_factory=set)
    font: int | None = None  # the book's Type0 font, once a piece's font stands for it
    head: Head | None = None  # that first piece's
    widths: dict[int, int] = field(default_factory=dict)  # of every piece that shares it
    texts: dict[int, str] = field(default_factory=dict)


class BookFaces:
    """The faces the book shares, numbered as the pieces come (before each piece's own
    objects, so that a kept copy refers to them by the same numbers)."""

    def __init__(self, writer: PdfWriter) -> None:
        self.writer = writer
        self.faces: dict[str, _Face] = {}  # by mark, in the order first used
        self.files: dict[str, bytes | None] = {}  # mark -> the whole font file, checked

    def found(self, source: pikepdf.Pdf, folder: Path | None) -> list[Found]:
        """The piece's fonts whose face can be shared (none without a faces folder).
        RenderError where the piece left out a face whose file is not there whole (every
        face a worker marks it leaves out: a marked face is shared or refused)."""
        found: list[Found] = []
        seen: set[ObjGen] = set()
        for page in source.pages:
            fonts = page.obj.get("/Resources", pikepdf.Dictionary()).get("/Font")
            for font in fonts.values() if isinstance(fonts, pikepdf.Dictionary) else []:
                if not isinstance(font, pikepdf.Dictionary) or font.objgen in seen:
                    continue
                seen.add(font.objgen)
                if (
                    folder is not None
                    and (use := _marked(font)) is not None
                    and self._file(use.mark, folder) is not None
                ):
                    found.append(use)
                else:
                    _refuse_left_out(font)
        return found

    def fit(self, uses: list[FaceUse], folder: Path | None) -> bool:
        """Whether a kept copy's fonts are shared and numbered as this book would now."""
        if folder is None:
            return not uses
        numbers = {mark: (face.program, face.font) for mark, face in self.faces.items()}
        coming = len(self.writer.offsets)  # the number the next new object would be given
        seen: set[str] = set()
        for mark, given, whole, widths, texts, head in uses:
            if self._file(mark, folder) is None:
                return False
            program, font = numbers.get(mark, (None, None))
            if program is None:
                program, coming = coming, coming + 1
            if self._whole(mark, widths, texts, head, mark in seen):
                if font is None:
                    font, coming = coming, coming + 1
                wanted = (True, font)
            else:
                wanted = (False, program)
            numbers[mark] = (program, font)
            seen.add(mark)
            if (whole, given) != wanted:
                return False
        return True

    def take(
        self, uses: list[tuple[str, dict[int, int], dict[int, str], Head | None]], folder: Path
    ) -> list[tuple[int, bool]]:
        """For each font a piece uses, in order: the book's object it refers to and
        whether that is the book's font (else the font file); the glyphs added."""
        taken: list[tuple[int, bool]] = []
        seen: set[str] = set()
        for mark, widths, texts, head in uses:
            face = self.faces.get(mark)
            if face is None:
                content = self._file(mark, folder)
                assert content is not None, "taken only once found"
                face = _Face(self.writer.reserve(), content, int(mark.split(":")[1]))
                self.faces[mark] = face
            whole = self._whole(mark, widths, texts, head, mark in seen)
            seen.add(mark)
            face.glyphs.update(widths)
            if whole:
                if face.font is None:
                    face.font, face.head = self.writer.reserve(), head
                face.widths.update(widths)
                face.texts.update(texts)
            taken.append((face.font, True) if whole and face.font else (face.program, False))
        return taken

    def write(self, memo: BlobMemo | None) -> None:
        """Each face's font file, cut to the book's glyphs (remembered in `memo`), and
        its font where pieces share it."""
        for mark, face in self.faces.items():
            glyphs = sorted(face.glyphs | {0})
            # The cut is kept deflated: zlib's build decides those bytes too.
            key = key_of(
                "font face cut", FORMAT, mark, glyphs, _cutter(), zlib.ZLIB_RUNTIME_VERSION
            )
            kept = memo.get(key) if memo is not None else None
            cut = _parsed(kept) if kept is not None else None
            if cut is None:
                program = _cut(face.content, face.index, glyphs)
                cut = (len(program), program[:4] == b"OTTO", zlib.compress(program))
                if memo is not None:
                    memo.put(key, b"%d %d\n" % cut[:2] + cut[2])
            length, opentype, data = cut
            extra = [("Subtype", b"/OpenType")] if opentype else [("Length1", b"%d" % length)]
            body = [*extra, ("Filter", b"/FlateDecode"), ("Length", b"%d" % len(data))]
            self.writer.write(face.program, dictionary(body), data)
            if face.font is not None:
                self._write_font(face, b"/FontFile3" if opentype else b"/FontFile2")

    def _whole(
        self,
        mark: str,
        widths: dict[int, int],
        texts: dict[int, str],
        head: Head | None,
        repeated: bool,
    ) -> bool:
        """Whether a piece's font can be the book's font of its face: it agrees with the
        pieces' that are (a second font of one face in a piece never is)."""
        if head is None or repeated:
            return False
        face = self.faces.get(mark)
        if face is None or face.head is None:
            return True
        same = head[:3] == face.head[:3] and head[3] | 1 == face.head[3] | 1
        return (
            same
            and head[4] == face.head[4]
            and all(face.widths.get(g, w) == w for g, w in widths.items())
            and all(face.texts.get(g, t) == t for g, t in texts.items())
        )

    def _write_font(self, face: _Face, program_key: bytes) -> None:
        """The book's font of a face: the first sharing piece's entries, the widths and
        texts of every sharing piece, as WeasyPrint writes them."""
        assert face.head is not None and face.font is not None
        font, cid, descriptor, flags, (x0, y0, y1) = face.head
        widths = face.widths
        flags &= ~1
        if len(widths) > 1 and len(set(widths.values())) == 1:
            flags |= 1  # FixedPitch, as WeasyPrint sets it
        right = b"%d" % max(widths.values(), default=0)
        described = descriptor + b" /Flags %d /FontBBox [ %s %s %s %s ] %s %d 0 R" % (
            flags,
            x0,
            y0,
            right,
            y1,
            program_key,
            face.program,
        )
        descriptor_number = self.writer.add(b"<< " + described + b" >>")
        runs: list[bytes] = []
        for glyph in sorted(widths):
            if glyph - 1 not in widths:
                runs.append(b"%d [" % glyph)
            runs.append(b"%d" % widths[glyph])
            if glyph + 1 not in widths:
                runs.append(b"]")
        cid_body = cid + b" /W [ %s ] /FontDescriptor %d 0 R" % (b" ".join(runs), descriptor_number)
        cid_number = self.writer.add(b"<< " + cid_body + b" >>")
        cmap = zlib.compress(_cmap(face.texts))
        to_unicode = self.writer.reserve()
        self.writer.write(to_unicode, b"<< /Filter /FlateDecode /Length %d >>" % len(cmap), cmap)
        font_body = font + b" /DescendantFonts [ %d 0 R ] /ToUnicode %d 0 R" % (
            cid_number,
            to_unicode,
        )
        self.writer.write(face.font, b"<< " + font_body + b" >>")

    def _file(self, mark: str, folder: Path) -> bytes | None:
        """The whole font file `mark` names, if the faces folder holds it (checked once)."""
        if mark not in self.files:
            digest = mark.split(":")[0]
            path = folder / f"{digest}{FACE_SUFFIX}"
            data = read_regular(path, FACE_LIMIT, touch=True)
            if data is not None and hashlib.sha256(data).hexdigest() != digest:
                data = None  # damaged or planted: removed, so the next layout writes it again
                remove_regular(path)
            self.files[mark] = data
        return self.files[mark]


def _cmap(texts: dict[int, str]) -> bytes:
    """A ToUnicode CMap as WeasyPrint writes one (glyphs in order, a hundred a block)."""
    lines = [_CMAP_HEAD]
    items = sorted(texts.items())
    for start in range(0, len(items), 100):
        batch = items[start : start + 100]
        lines.append(b"%d beginbfchar" % len(batch))
        lines += [b"<%04x> <%s>" % (g, t.encode("utf-16-be").hex().encode()) for g, t in batch]
        lines.append(b"endbfchar")
    lines.append(_CMAP_TAIL)
    return b"\n".join(lines)


def _refuse_left_out(font: pikepdf.Dictionary) -> None:
    """Stop where a piece left a face out that the join cannot give it: its whole file
    went from the faces folder after the layout cache found it there, in this build."""
    try:
        descriptor = font.DescendantFonts[0].FontDescriptor
        program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
        if not isinstance(program, pikepdf.Stream):
            return
        mark = program.stream_dict.get(f"/{MARK}")
        left_out = mark is not None and len(program.read_bytes()) <= LEFT_OUT
    except (AttributeError, KeyError, TypeError, ValueError, IndexError, pikepdf.PdfError):
        return  # not a face a piece could leave out
    if left_out:
        face = f"pieces/{FACES}/{str(mark).partition(':')[0]}{FACE_SUFFIX}"
        raise RenderError(
            f"pdf: the layout cache's font file '{face}' went missing or was damaged"
            " during the build; build again"
        )


def _marked(font: pikepdf.Dictionary) -> Found | None:
    """A Type0 font with a marked font file: what the join needs of it."""
    try:
        if font.get("/Subtype") != pikepdf.Name.Type0 or font.get("/Encoding") != "/Identity-H":
            return None
        descendant = font.DescendantFonts[0]
        if descendant.get("/CIDToGIDMap") != "/Identity":
            return None
        descriptor = descendant.FontDescriptor
        if "/CIDSet" in descriptor:
            return None
        program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
        if not isinstance(program, pikepdf.Stream) or not program.is_indirect:
            return None
        mark = program.stream_dict.get(f"/{MARK}")
        if mark is None:
            return None
        listed: dict[int, object] = {}
        w = list(descendant.W)
        for first, run in zip(w[::2], w[1::2], strict=True):
            listed.update((int(first) + i, width) for i, width in enumerate(run))
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None
    text = str(mark)
    digest, _, index = text.partition(":")
    if len(digest) != 64 or not index.isdigit():
        return None
    widths = {g: w for g, w in listed.items() if type(w) is int}
    texts, head = _texts(font), _head(font, descendant, descriptor)
    if texts is None or len(widths) != len(listed):
        head = None  # its glyphs are still the book's, in its own font
        widths = dict.fromkeys(listed, 0)  # (only the glyph ids count then)
    return Found(font.objgen, program.objgen, text, widths, texts or {}, head)


def _texts(font: pikepdf.Dictionary) -> dict[int, str] | None:
    """The font's ToUnicode map, as WeasyPrint writes it (bfchar only)."""
    stream = font.get("/ToUnicode")
    try:
        data = stream.read_bytes() if isinstance(stream, pikepdf.Stream) else None
    except pikepdf.PdfError:
        return None
    if data is None or b"bfrange" in data:
        return None
    try:
        return {
            int(glyph, 16): bytes.fromhex(text.decode()).decode("utf-16-be")
            for glyph, text in _UNICODE.findall(data)
        }
    except (ValueError, UnicodeDecodeError):
        return None


def _head(
    font: pikepdf.Dictionary, descendant: pikepdf.Object, descriptor: pikepdf.Object
) -> Head | None:
    try:
        bbox = [_printed(v) for v in descriptor.FontBBox]
        flags = int(descriptor.Flags)
        parts = [
            b" ".join(b"%s %s" % (k.encode(), _printed(v)) for k, v in d.items() if k not in skip)
            for d, skip in (
                (font, _SKIPPED_FONT),
                (descendant, _SKIPPED_CID),
                (descriptor, _SKIPPED_DESCRIPTOR),
            )
        ]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if len(bbox) != 4:
        return None
    return parts[0], parts[1], parts[2], flags, (bbox[0], bbox[1], bbox[3])


def _printed(value: object) -> bytes:
    """A direct value, printed; ValueError for anything that refers to an object."""
    if isinstance(value, pikepdf.Object):
        if value.is_indirect:
            raise ValueError("an indirect object")
        printed = bytes(value.unparse(resolved=True))
        if _REFERENCE.search(printed):
            raise ValueError("a reference")
        return printed
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return b"%d" % value
    return number(float(value))  # type: ignore[arg-type]  # a Decimal


def _parsed(kept: bytes) -> tuple[int, bool, bytes] | None:
    head, _, data = kept.partition(b"\n")
    try:
        length, opentype = map(int, head.split())
    except ValueError:
        return None
    return length, bool(opentype), data


def _cut(content: bytes, index: int, glyphs: list[int]) -> bytes:
    """The face cut to `glyphs`, their ids kept: by HarfBuzz as WeasyPrint cuts (see
    `_harfbuzz_cut`); by fontTools, as near as it can, where uharfbuzz is missing or
    fails (as WeasyPrint falls back to fontTools without libharfbuzz-subset)."""
    if _harfbuzz() is not None:
        try:
            return _harfbuzz_cut(content, index, glyphs)
        except (RuntimeError, ValueError, OverflowError):  # hb_subset_or_fail failed
            pass  # fontTools tries
    return _fonttools_cut(content, index, glyphs)


def _harfbuzz_cut(content: bytes, index: int, glyphs: list[int]) -> bytes:
    """The face cut as WeasyPrint 70 cuts a piece's (weasyprint/pdf/fonts.py,
    `_harfbuzz_subset`, for the fonts the pieces share: none with missing glyphs, so no
    NOTDEF_OUTLINE; hinting off): the glyphs kept at their ids, unrecognized tables
    passed through, CFF desubroutinized, the same tables dropped; then a second cut of
    that to glyphs 0 to the last used, without hinting (the first keeps empty glyphs
    past it: a 10-glyph cut of Droid Sans Fallback held 36,471 glyphs, 367 KB, and
    holds 17,869, 181 KB). HarfBuzz stamps no date: the bytes depend on the face, the
    glyphs and HarfBuzz's version alone."""
    hb = _harfbuzz()
    assert hb is not None
    flags = hb.SubsetFlags
    face = hb.Face(hb.Blob(content), index)
    wanted = hb.SubsetInput()
    wanted.glyph_set.update(glyphs)
    dropped = wanted.sets(hb.SubsetInputSets.DROP_TABLE_TAG)
    dropped.update(int.from_bytes(tag.encode("latin-1"), "big") for tag in _DROPPED)
    wanted.flags = flags.RETAIN_GIDS | flags.PASSTHROUGH_UNRECOGNIZED | flags.DESUBROUTINIZE
    face = hb.subset(face, wanted)
    wanted.glyph_set.add_range(0, max(glyphs))
    wanted.flags = flags.PASSTHROUGH_UNRECOGNIZED | flags.DESUBROUTINIZE | flags.NO_HINTING
    program = bytes(hb.subset(face, wanted).blob.data)
    if not program:
        raise RuntimeError("HarfBuzz cut the face to nothing")
    return program


def _fonttools_cut(content: bytes, index: int, glyphs: list[int]) -> bytes:
    """The face cut by fontTools as WeasyPrint's fallback cuts (retain gids,
    desubroutinized, no hinting, layout tables dropped). Dated as the whole file is:
    fontTools stamps no date of its own (recalcTimestamp off)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options(
        retain_gids=True,
        passthrough_tables=True,
        ignore_missing_glyphs=True,
        hinting=False,
        desubroutinize=True,
        notdef_outline=False,
    )
    options.drop_tables += _DROPPED
    try:
        font = TTFont(io.BytesIO(content), fontNumber=index, recalcTimestamp=False)
        subsetter = subset.Subsetter(options)
        subsetter.populate(gids=glyphs)
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
    except Exception as error:  # fontTools' own: a face it cannot cut is embedded whole
        if index == 0 and content[:4] != b"ttcf":
            return content
        why = f"pdf: a font face could not be cut to the book's glyphs: {error}"
        raise RenderError(why) from error
    return out.getvalue()


@functools.cache
def _harfbuzz() -> Any:
    """uharfbuzz, or None where it cannot be imported."""
    try:
        import uharfbuzz
    except ImportError:
        return None
    return uharfbuzz


@functools.cache
def _cutter() -> str:
    """What cuts the faces, with its version: part of a remembered cut's key, so that a
    cut is reused only from the same cutter (HarfBuzz's, fontTools' where it fails)."""
    import fontTools  # its version as it says it: importlib.metadata takes 0.035 s to import

    fonttools = f"fonttools {fontTools.version}"
    hb = _harfbuzz()
    if hb is None:
        return fonttools
    return f"harfbuzz {hb.version_string()} (uharfbuzz {hb.__version__}), else {fonttools}"

"""The joined book's objects in compressed object streams, with a cross-reference stream
(render/pdf/join/object_writer.py): from PDF 1.5 on, and a classic table before it."""

from __future__ import annotations

import io
import os
import re
import zlib
from pathlib import Path

import pikepdf
import pytest

from helpers import BookCopy
from make_book.build.driver import build
from make_book.profiles import PROFILES
from make_book.render.pdf.join import object_writer
from make_book.render.pdf.join.object_writer import PdfWriter, pdf_version

ELEMENT = b"<< /K [ 0 ] /Pg 2 0 R /S /Span /Type /StructElem >>"


def xref_rows(data: bytes) -> dict[int, tuple[int, int, int]]:
    """The cross-reference stream's rows by object number: type, field 2, field 3."""
    start = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)[1])  # type: ignore[index]
    head = re.compile(rb"\d+ 0 obj\s*(<<.*?>>)\s*stream\r?\n", re.DOTALL).match(data, start)
    assert head is not None, "a cross-reference stream where startxref points"
    entries = head[1]
    assert b"/Type /XRef" in entries
    widths = [int(w) for w in re.search(rb"/W \[ ?(\d+) (\d+) (\d+) ?\]", entries).groups()]  # type: ignore[union-attr]
    length = int(re.search(rb"/Length (\d+)", entries)[1])  # type: ignore[index]
    raw = zlib.decompress(data[head.end() : head.end() + length])
    row = sum(widths)
    assert re.search(rb"/Predictor 12", entries) and re.search(rb"/Columns %d\b" % row, entries)
    rows: dict[int, tuple[int, int, int]] = {}
    above = bytes(row)
    for number, at in enumerate(range(0, len(raw), row + 1)):
        assert raw[at] == 2, "PNG's Up on every row"
        line = bytes((a + b) & 0xFF for a, b in zip(raw[at + 1 : at + 1 + row], above, strict=True))
        above = line
        fields, offset = [], 0
        for width in widths:
            fields.append(int.from_bytes(line[offset : offset + width], "big"))
            offset += width
        rows[number] = (fields[0], fields[1], fields[2])
    return rows


def written(version: str, objects: list[tuple[bytes, bytes | None]], one_go: bool) -> bytes:
    out = io.BytesIO()
    writer = PdfWriter(out, version)
    numbers = [writer.reserve() for _ in objects]
    batch = [(n, body, data) for n, (body, data) in zip(numbers, objects, strict=True)]
    if one_go:
        writer.write_all(batch)
    else:
        for number, body, data in batch:
            writer.write(number, body, data)
    root = writer.add(b"<< /Type /Catalog /Pages %d 0 R >>" % numbers[0])
    writer.finish(root, None)
    return out.getvalue()


def a_book(elements: int) -> list[tuple[bytes, bytes | None]]:
    """A page tree, one page with its contents, and `elements` structure elements."""
    objects: list[tuple[bytes, bytes | None]] = [
        (b"<< /Type /Pages /Kids [ 2 0 R ] /Count 1 >>", None),
        (
            b"<< /Type /Page /Parent 1 0 R /MediaBox [ 0 0 9 9 ] /Contents 3 0 R"
            b" /Resources << >> >>",
            None,
        ),
        (b"<< /Length 12 >>", b"0 0 m 9 9 l S"[:12]),
    ]
    objects += [(ELEMENT.replace(b"[ 0 ]", b"[ %d ]" % i), None) for i in range(elements)]
    return objects


def test_objects_are_packed_and_read_back_as_written(tmp_path: Path) -> None:
    objects = a_book(600)
    data = written("1.7", objects, one_go=False)
    assert data.startswith(b"%PDF-1.7\n") and b"\nxref\n" not in data and b"trailer" not in data
    path = tmp_path / "packed.pdf"
    path.write_bytes(data)
    with pikepdf.open(path) as pdf:
        assert pdf.check_pdf_syntax() == []
        assert len(pdf.pages) == 1
        assert pdf.get_object(3, 0).read_bytes() == objects[2][1]
        assert [int(pdf.get_object(n, 0).K[0]) for n in range(4, 604)] == list(range(600))
        assert pdf.get_object(603, 0).Pg.objgen == pdf.pages[0].obj.objgen
    rows = xref_rows(data)
    assert rows[0] == (0, 0, 0) and rows[3][0] == 1, "a stream is never packed"
    packs = {rows[n][1] for n in range(4, 604)}  # the 600 elements: three streams
    assert len(packs) == 3 and all(rows[n][0] == 2 for n in range(4, 604))
    assert rows[1][1] not in packs, "the page tree apart from the structure tree"
    assert max(index for kind, _, index in rows.values() if kind == 2) < object_writer.PACKED


def test_written_in_one_go_or_one_by_one_the_bytes_are_the_same() -> None:
    """A piece written again from its kept copy goes in one go (piece_copy.py)."""
    objects = a_book(700)
    assert written("1.7", objects, one_go=True) == written("1.7", objects, one_go=False)


def test_before_pdf_1_5_the_table_is_classic(tmp_path: Path) -> None:
    data = written("1.4", a_book(300), one_go=True)
    assert data.startswith(b"%PDF-1.4\n") and b"\nxref\n0 305\n" in data
    assert b"/ObjStm" not in data and b"/XRef" not in data
    path = tmp_path / "classic.pdf"
    path.write_bytes(data)
    with pikepdf.open(path) as pdf:
        assert pdf.check_pdf_syntax() == [] and pdf.pdf_version == "1.4"
    assert pdf_version(path) == "1.4"


def test_the_predictor_subtracts_byte_by_byte() -> None:
    table = os.urandom(8 * 50)
    rows = [table[i : i + 8] for i in range(0, len(table), 8)]
    expected = b"".join(
        row[:1] + bytes((a - b) & 0xFF for a, b in zip(row[1:], above[1:], strict=True))
        for row, above in zip(rows, [bytes(8), *rows[:-1]], strict=True)
    )
    assert object_writer._up(table, 8) == expected


@pytest.mark.parametrize("profile", ["screen", "archive", "kdp", "ingram"])
def test_each_profile_s_book(book_copy: BookCopy, tmp_path: Path, profile: str) -> None:
    """PDF/UA and PDF/A-2 (PDF 1.7) in object streams; PDF/X-1a:2001 is PDF 1.3, which has
    none: print_finish.py writes it classic."""
    out = tmp_path / "out"
    build(book_copy("sample"), out, ["pdf"], [profile])
    path = out / PROFILES[profile].file_name("book")
    data = path.read_bytes()
    with pikepdf.open(path) as pdf:
        assert pdf.check_pdf_syntax() == []
        packed = [
            o for o in pdf.objects if isinstance(o, pikepdf.Stream) and o.get("/Type") == "/ObjStm"
        ]
        if profile == "ingram":
            assert pdf.pdf_version == "1.3" and not packed
            assert b"\nxref\n" in data and b"/XRef" not in data
            return
        assert packed
        if profile in ("screen", "archive"):  # as the join wrote it (the others, as qpdf)
            rows = xref_rows(data)
            pages = [rows[page.obj.objgen[0]] for page in pdf.pages]
            elements = [rows[element.objgen[0]] for element in pdf.Root.StructTreeRoot.K[0].K]
            assert all(kind == 2 for kind, _, _ in pages + elements)
            assert not {s for _, s, _ in pages} & {s for _, s, _ in elements}, "kept apart"

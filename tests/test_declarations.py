"""WeasyPrint's C declarations, parsed when make-book is released (patches/declarations.py):
the same types, functions and constants as cffi's parse at import, and the usual
import wherever they do not fit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from make_book.render.weasy.patches import declarations

LINUX = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the prebuilt declarations are used on Linux"
)


# The start of a script of its own: WeasyPrint imported the usual way (`usual`), the
# declarations it gave cffi kept (`kept`), cffi's FFI put back.
KEEPING = """
import cffi, sys
kept = []
class Keeping(cffi.FFI):
    def cdef(self, csource, *args, **kwargs):
        kept.append(csource)
        super().cdef(csource, *args, **kwargs)
cffi.FFI = Keeping
import weasyprint.text.ffi as usual
cffi.FFI = Keeping.__bases__[0]
from make_book.render.weasy.patches import declarations
"""


# Then each library WeasyPrint loaded opened again with the prebuilt FFI, and compared.
def _same_script() -> str:
    return (
        KEEPING
        + r"""
prebuilt = declarations._declared()
assert prebuilt is not None, "the declarations do not fit this WeasyPrint"
prebuilt.cdef(kept[0])  # the very declarations: accepted
sonames = {
    "gobject": "libgobject-2.0.so.0", "pango": "libpango-1.0.so.0",
    "harfbuzz": "libharfbuzz.so.0", "harfbuzz_subset": "libharfbuzz-subset.so.0",
    "fontconfig": "libfontconfig.so.1", "pangoft2": "libpangoft2-1.0.so.0",
    "harfbuzz_vector": "libharfbuzz-vector.so.0",
}
def same(ours, theirs, seen=None):
    # The same C type, structurally (cffi may name an opaque struct by its typedef).
    seen = set() if seen is None else seen
    if (id(ours), id(theirs)) in seen:
        return True
    seen.add((id(ours), id(theirs)))
    if ours.kind != theirs.kind:
        return False
    if ours.kind == "primitive":
        return ours.cname == theirs.cname
    if ours.kind in ("pointer", "array"):
        return getattr(ours, "length", None) == getattr(theirs, "length", None) and same(
            ours.item, theirs.item, seen
        )
    if ours.kind == "function":
        return (
            len(ours.args) == len(theirs.args)
            and all(same(a, b, seen) for a, b in zip(ours.args, theirs.args))
            and same(ours.result, theirs.result, seen)
            and (ours.ellipsis, ours.abi) == (theirs.ellipsis, theirs.abi)
        )
    if ours.kind == "enum":
        return ours.elements == theirs.elements
    if ours.kind in ("struct", "union"):
        sizes = size(usual.ffi, ours), size(prebuilt, theirs)  # completes a lazy struct
        if sizes[0] != sizes[1] or sizes[0] is None:
            return sizes[0] == sizes[1]  # both opaque, or not the same
        return [(f, t.offset, t.bitshift, t.bitsize) for f, t in ours.fields] == [
            (f, t.offset, t.bitshift, t.bitsize) for f, t in theirs.fields
        ] and all(same(a.type, b.type, seen) for (_, a), (_, b) in zip(ours.fields, theirs.fields))
    return ours.cname == theirs.cname  # void


def size(ffi, ctype):
    try:
        return ffi.sizeof(ctype)
    except (ValueError, prebuilt.error):  # opaque: of unknown size
        return None


def found(lib, symbol):
    try:
        return True, getattr(lib, symbol)
    except (AttributeError, prebuilt.error):  # not in this library
        return False, None
checked = 0
for name, soname in sonames.items():
    if getattr(usual, name) is None:
        continue
    lib, other = getattr(usual, name), prebuilt.dlopen(soname, prebuilt.RTLD_NOW)
    names = sorted(n for n in dir(lib) if not n.startswith("_"))
    assert names == sorted(n for n in dir(other) if not n.startswith("_")), name
    for symbol in names:  # every name declared; each library has some of them
        (has, value), (other_has, other_value) = found(lib, symbol), found(other, symbol)
        assert has == other_has, symbol
        if not has:
            continue
        if isinstance(value, usual.ffi.CData):
            ours, theirs = usual.ffi.typeof(value), prebuilt.typeof(other_value)
            assert same(ours, theirs), (symbol, ours, theirs)
        else:
            assert other_value == value, symbol
        checked += 1
typedefs, structs, unions = usual.ffi.list_types()
assert (typedefs, structs, unions) == prebuilt.list_types()
for typedef in typedefs:
    assert same(usual.ffi.typeof(typedef), prebuilt.typeof(typedef)), typedef
    checked += 1
print("checked", checked)
"""
    )


@LINUX
def test_the_prebuilt_declarations_are_those_weasyprint_gives_cffi() -> None:
    """Every function's C type, every constant and every type's size and fields, in every
    library WeasyPrint loads, as cffi's own parse of the declarations has them."""
    data = declarations.read_data()
    assert data is not None
    assert data["ffi_sha256"] == declarations.weasyprint_ffi_digest(), (
        f"WeasyPrint's text/ffi.py is not the one of {declarations.DATA.name} "
        f"(WeasyPrint {data['weasyprint']}): run tools/weasyprint_declarations.py"
    )
    done = subprocess.run(
        [sys.executable, "-c", _same_script()], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 400, done.stdout  # 300 functions, 100 types


# A layout worker's import: the prebuilt declarations, and no C parser at all.
LEAN = """
import sys
from make_book.render.weasy.patches import declarations, import_weasyprint_lean
import_weasyprint_lean()
import weasyprint, weasyprint.text.ffi as ffi
assert type(ffi.ffi) is declarations.declared_class(), type(ffi.ffi)
assert weasyprint.HTML(string="<p>x <em>y</em></p>").write_pdf().startswith(b"%PDF")
print(sorted(m for m in sys.modules if m.startswith("pycparser")))
"""


@LINUX
def test_weasyprint_imported_the_lean_way_uses_them_and_parses_no_c() -> None:
    done = subprocess.run([sys.executable, "-c", LEAN], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


# WeasyPrint's declarations kept as it gives them; then given to the prebuilt FFI with
# and without options, and another FFI made while the prebuilt are in place.
GIVEN = (
    KEEPING
    + """
declared = declarations._declared()
declared.cdef(kept[0])
refused = []
for source, options in (
    (kept[0], {"override": True}), (kept[0], {"packed": True}), ("int abs(int);", {}),
):
    try:
        declared.cdef(source, **options)
    except declarations.ShapeChanged:
        refused.append(True)
with declarations.prebuilt() as used:
    other = cffi.FFI()
print(used, refused, type(other) is cffi.FFI)
"""
)


@LINUX
def test_other_declarations_or_options_are_refused_and_other_ffis_are_cffis() -> None:
    done = subprocess.run(
        [sys.executable, "-c", GIVEN], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["True", "[True,", "True,", "True]", "True"], done.stderr


@pytest.mark.parametrize(
    "content",
    [
        "__import__('pathlib').Path('RAN').touch()",  # code: never run
        "{'weasyprint': '70.0'}",  # not every entry
        "[" * 200 + "]" * 200,  # nested past the parser
        "{",
        "\udcff",
        "x" * (declarations.SIZE_LIMIT + 1),
    ],
)
def test_spoiled_declarations_are_not_read(
    content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spoiled = tmp_path / "ffi_declarations.txt"
    ran = tmp_path / "ran"
    spoiled.write_bytes(content.replace("RAN", str(ran)).encode("utf-8", "surrogateescape"))
    monkeypatch.setattr(declarations, "DATA", spoiled)
    declarations.read_data.cache_clear()
    try:
        assert declarations.read_data() is None
        with declarations.prebuilt() as used:
            assert not used
    finally:
        declarations.read_data.cache_clear()
    assert not ran.exists()


def test_declarations_of_another_weasyprint_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(declarations, "weasyprint_ffi_digest", lambda: "0" * 64)
    import cffi

    usual = cffi.FFI
    with declarations.prebuilt() as used:
        assert not used and cffi.FFI is usual


# WeasyPrint given other declarations than those prebuilt (as a 70.x whose text/ffi.py
# differed in them alone would): imported the usual way, and it works.
OTHER = """
import hashlib, sys
from make_book.render.weasy.patches import declarations
data = dict(declarations.read_data(), cdef_sha256=hashlib.sha256(b"other").hexdigest())
declarations.read_data = lambda: data
from make_book.render.weasy.patches import import_weasyprint_lean
import_weasyprint_lean()
import cffi, weasyprint, weasyprint.text.ffi as ffi
assert type(ffi.ffi) is cffi.FFI, type(ffi.ffi)
assert weasyprint.HTML(string="<p>x</p>").write_pdf().startswith(b"%PDF")
print("ok")
"""


@LINUX
def test_weasyprint_is_imported_the_usual_way_when_its_declarations_differ() -> None:
    done = subprocess.run(
        [sys.executable, "-c", OTHER], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "ok", done.stdout + done.stderr

"""WeasyPrint imported without the fontTools modules it seldom uses (patches/lean_import.py):
they are left out until used, and then they are the real ones."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
from pathlib import Path

import pytest

import make_book

FONT = Path(make_book.__file__).parent / "themes/default/fonts/LinLibertine_R.otf"

CHECK = f"""
import sys
from make_book.render.weasy.patches import import_weasyprint_lean
import_weasyprint_lean()
import weasyprint, weasyprint.pdf.fonts as fonts
left_out = [m for m in sys.modules if m.startswith(("fontTools.subset", "fontTools.varLib"))]
assert not left_out, left_out
from fontTools.ttLib import TTFont
try:
    fonts.instantiateVariableFont(TTFont({str(FONT)!r}), {{}})
except ValueError as error:  # the real function: this face has no variations
    assert "fvar" in str(error), error
else:
    raise AssertionError("a static face was instantiated")
import fontTools.subset
assert fonts.subset.Subsetter is fontTools.subset.Subsetter
print("ok")
"""


def test_weasyprint_loads_without_the_rare_fonttools_modules() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "ok", done.stderr


NO_SEARCH = """
import ctypes.util, subprocess, sys
ran = []
real_popen = subprocess.Popen.__init__
def spy(self, args, *a, **k):
    ran.append(args)
    real_popen(self, args, *a, **k)
subprocess.Popen.__init__ = spy
search = ctypes.util.find_library
from make_book.render.weasy.patches import import_weasyprint_lean
import_weasyprint_lean()
assert ctypes.util.find_library is search, "the library search is put back"
import weasyprint
weasyprint.HTML(string="<p>x</p>").write_pdf()
print("ran", len(ran))
"""

# Both FFIs, cffi's and the prebuilt declarations' (declarations.py), refuse the names
# with sys.argv[1] in them; and a search for HarfBuzz's subsetter finds it or not
# (sys.argv[2]). Prints the FFI WeasyPrint ended with, and whether it has the subsetter.
BLOCKED = """
import cffi, ctypes.util, sys
from make_book.render.weasy.patches import declarations
def blocking(dlopen):
    def no_soname(self, name, flags=0):  # as if this Linux had other sonames
        if isinstance(name, str) and sys.argv[1] in name:
            raise OSError(name)
        return dlopen(self, name, flags)
    return no_soname
usual, prebuilt = cffi.FFI.dlopen, declarations.declared_class()
cffi.FFI.dlopen, prebuilt.dlopen = blocking(usual), blocking(prebuilt.dlopen)
if sys.argv[2] == "unfound":
    ctypes.util.find_library = lambda name: None
from make_book.render.weasy.patches import import_weasyprint_lean
import_weasyprint_lean()
import weasyprint, weasyprint.text.ffi as ffi
assert weasyprint.HTML(string="<p>x</p>").write_pdf().startswith(b"%PDF")
print(type(ffi.ffi).__name__, ffi.harfbuzz_subset is not None)
"""


# The fast way loads each library by its Linux soname; it gives way to the usual import
# where HarfBuzz's subsetter is not installed (libharfbuzz-subset.so.0), as on a system
# with HarfBuzz alone.
NO_SUBSETTER = ctypes.util.find_library("harfbuzz-subset") is None
FAST_WAY = pytest.mark.skipif(
    not sys.platform.startswith("linux") or NO_SUBSETTER,
    reason="the fast way is Linux's, and needs libharfbuzz-subset",
)


@FAST_WAY
def test_weasyprint_loads_its_libraries_without_searching_for_them() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_SEARCH], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "ran 0", done.stdout + done.stderr


@FAST_WAY
@pytest.mark.parametrize("blocked", [".so.", "libharfbuzz-subset.so."])
def test_weasyprint_is_imported_the_slow_way_when_the_fast_one_fails(blocked: str) -> None:
    """Every library, or only the subsetter WeasyPrint can do without, not loadable by
    its Linux name: the usual import finds them."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED, blocked, "found"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split() == ["FFI", "True"], done.stdout + done.stderr


@FAST_WAY
def test_weasyprint_is_imported_once_where_no_search_finds_the_subsetter() -> None:
    """A system without HarfBuzz's subsetter: the usual import would not find it either,
    and is not made (fontTools subsets, as it would)."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED, "harfbuzz-subset", "unfound"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split() == ["Declared", "False"], done.stdout + done.stderr

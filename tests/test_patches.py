"""make-book's patches of other libraries (render/weasy/patches/): one test per patched
internal that fails loudly when the upstream shape changes, and the refusals that
keep a WeasyPrint the patches were not written for from making a wrong book."""

from __future__ import annotations

import ctypes.util
import datetime as dt
import hashlib
import inspect
import io
import os
import sys
import zlib
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pydyf
import pypdf
import pytest
from click.testing import CliRunner

from helpers import BookCopy
from make_book.cli import main
from make_book.errors import RenderError
from make_book.render.weasy import patches
from make_book.render.weasy.patches import declarations, fence, font_dates, lean_import

patches.install()

import weasyprint  # noqa: E402 - imported the lean way, by `install`
import weasyprint.layout  # noqa: E402
import weasyprint.layout.inline as inline  # noqa: E402
import weasyprint.pdf.fonts  # noqa: E402
import weasyprint.text.ffi  # noqa: E402
from fontTools.misc import timeTools  # noqa: E402
from weasyprint.text import line_break  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402

from make_book.render.weasy.patches import attr_lists, flate, folios, leaders  # noqa: E402

FOLIOS = """<html><head><style>
@page { size: 3in 3in; margin: 0.5in; @bottom-center { content: "folio " counter(page) } }
p { break-after: page }
</style></head><body><p>one</p><p>two</p><p>three</p></body></html>"""
MAY_2021 = dt.datetime(2021, 5, 4, tzinfo=dt.timezone.utc)


def test_the_installed_weasyprint_is_the_one_the_patches_were_written_for() -> None:
    """An upgrade fails here first, by name (every patch also checks before it installs)."""
    assert fence.weasyprint_version() == fence.WEASYPRINT_RELEASE
    assert weasyprint.__version__ == fence.WEASYPRINT_RELEASE
    assert pydyf.VERSION.startswith("0.13"), "flate.py was measured on pydyf 0.13"


def test_every_process_wide_patch_is_installed_once() -> None:
    first = patches.install()
    assert first == patches.Installed(
        "70.0",
        folios=True,
        leaders=True,
        attr_lists=True,
        glyph_runs=True,
        footnote_areas=True,
        page_styles=True,
    )
    wrapped = (weasyprint.layout.make_all_pages, inline.handle_leader, line_break.Layout.setup)
    assert patches.install() == first
    again = (weasyprint.layout.make_all_pages, inline.handle_leader, line_break.Layout.setup)
    assert again == wrapped, "installing again wraps nothing twice"


# The folio hook: weasyprint.layout.make_all_pages and make_margin_boxes.


def test_the_folio_hook_fits_this_weasyprint() -> None:
    assert folios.shape_problem() is None


def _folios(first: int, asked: list[int]) -> list[str]:
    def first_folio(page_boxes: Sequence[Any]) -> int:
        asked.append(len(page_boxes))
        return first

    with folios.numbered_from(first_folio):
        document = weasyprint.HTML(string=FOLIOS).render()
    out = io.BytesIO()
    document.write_pdf(out)
    return [page.extract_text().split()[-1] for page in pypdf.PdfReader(out).pages]


def test_a_document_numbered_from_a_folio_gets_it_on_its_first_page() -> None:
    asked: list[int] = []
    assert _folios(7, asked) == ["7", "8", "9"]
    assert asked == [3], "asked once, with the paginated page boxes"
    assert _folios(1, []) == ["1", "2", "3"]


def test_outside_a_numbered_layout_the_hook_passes_through() -> None:
    document = weasyprint.HTML(string=FOLIOS).render()
    out = io.BytesIO()
    document.write_pdf(out)
    assert [p.extract_text().split()[-1] for p in pypdf.PdfReader(out).pages] == ["1", "2", "3"]


def _refused(monkeypatch: pytest.MonkeyPatch) -> str:
    with pytest.raises(RenderError) as refused, folios.numbered_from(lambda _: 5):
        weasyprint.HTML(string=FOLIOS).render()
    message = str(refused.value)
    assert message.startswith("pdf: make-book lays the book out in pieces"), message
    assert "\n" not in message and fence.REQUIREMENT in message
    return message


def test_a_missing_folio_internal_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(weasyprint.layout, "make_margin_boxes")
    assert "weasyprint.layout.make_margin_boxes is missing" in _refused(monkeypatch)


def test_a_changed_folio_internal_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def make_margin_boxes(context: Any, page: Any, state: Any, extra: Any = None) -> Any:
        raise AssertionError("never called")

    monkeypatch.setattr(weasyprint.layout, "make_margin_boxes", make_margin_boxes)
    assert "takes (context, page, state, extra)" in _refused(monkeypatch)


def test_a_layout_that_goes_round_the_hook_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def layout_document(html: Any, root_box: Any, context: Any, max_loops: int = 8) -> Any:
        raise AssertionError("never called")

    monkeypatch.setattr(weasyprint.layout, "layout_document", layout_document)
    assert "no longer calls make_all_pages" in _refused(monkeypatch)


def test_another_weasyprint_release_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weasyprint, "__version__", "71.0")
    message = _refused(monkeypatch)
    assert "WeasyPrint 71.0 is installed, not 70.x" in message


def test_a_build_on_a_weasyprint_without_the_hook_stops_with_one_error_line(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never a book numbered from 1 in every piece: the build says why, in one line."""
    manifest = book_copy("mixed")
    monkeypatch.delattr(weasyprint.layout, "make_all_pages")
    out = manifest.parent / "dist"
    result = CliRunner().invoke(
        main, ["build", str(manifest), "--out", str(out), "--format", "pdf", "-j", "1"]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(errors) == 1, errors
    assert errors[0].startswith("error: pdf: make-book lays the book out in pieces"), errors
    assert "weasyprint.layout.make_all_pages is missing" in errors[0]
    assert not (out / "book.pdf").exists()


# Leaders: weasyprint.layout.inline.handle_leader.


def test_the_leader_patch_fits_this_weasyprint() -> None:
    assert leaders.shape_problem() is None
    assert leaders.installed()


def test_leaders_stay_copies_where_the_internal_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    def iter_line_boxes(*args: Any) -> Any:  # calls no handle_leader any more
        raise AssertionError("never called")

    monkeypatch.setattr(inline, "handle_leader", leaders._original_handle_leader)
    monkeypatch.setattr(inline, "iter_line_boxes", iter_line_boxes)
    assert "no longer calls handle_leader" in (leaders.shape_problem() or "")
    assert not leaders.install()
    assert inline.handle_leader is leaders._original_handle_leader


# Attribute lists: weasyprint.text.line_break.Layout.setup and FontConfiguration.font_features.


def test_the_attribute_list_patch_fits_this_weasyprint_to_the_letter() -> None:
    assert attr_lists.shape_problem() is None
    assert attr_lists.installed()
    source = inspect.getsource(attr_lists._original_setup)
    assert "pango_attr_list_new()" in source and "pango_attr_list_unref" not in source
    assert ".font_features.setdefault(" in source


def test_a_weasyprint_that_frees_its_lists_is_not_freed_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should WeasyPrint unref the list itself, make-book must not: no wrapper, no freeing."""
    released = attr_lists._weasyprints_setup()

    def setup(self: Any, style: Any) -> None:  # a WeasyPrint with the leak fixed
        released(self, style)
        attributes = line_break.pango.pango_layout_get_attributes(self.layout)
        if attributes != line_break.ffi.NULL:
            line_break.pango.pango_attr_list_unref(attributes)

    monkeypatch.setattr(line_break.Layout, "setup", setup)
    assert "Layout.setup is not 70.0's" in (attr_lists.shape_problem() or "")
    assert not attr_lists.install()
    assert line_break.Layout.setup is setup
    fonts = FontConfiguration()
    attr_lists.free_attr_lists_with_layouts(fonts)
    assert type(fonts.font_features) is dict, "WeasyPrint's cache stays"


# Source checks: fence.has_source.


# Python 3.10's code objects have no end lines: there every check reads getsource.
NEEDS_END_LINES = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="Python 3.11's co_positions"
)


@NEEDS_END_LINES
def test_every_source_a_patch_rests_on_is_matched_without_tokenizing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lines each fenced function's code spans are getsource's, to the letter: the
    checks never fall back to tokenizing (0.03 s of every worker's start)."""
    from make_book.render.weasy.patches import (
        font_faces,
        footnote_areas,
        glyph_runs,
        page_styles,
    )

    def tokenized(function: Any) -> str:
        raise AssertionError(f"{function.__qualname__} was read through inspect.getsource")

    monkeypatch.setattr(fence, "source_digest", tokenized)
    for patch in (attr_lists, font_faces, footnote_areas, glyph_runs, page_styles):
        assert patch.shape_problem() is None, patch.__name__


@NEEDS_END_LINES
def test_a_source_check_reads_getsource_where_the_code_spans_fewer_lines(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unreachable lines after a `return` are in getsource's text, not in the code's: the
    block goes on past the code, so getsource is read, whose digest matches; a changed
    line does not."""
    module = tmp_path / "fenced_sample.py"
    module.write_text(
        "def sample(x):\n    return x + 1\n    x = 2\n\n\ndef changed(x):\n    return x + 2\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import fenced_sample

    digest = fence.source_digest(fenced_sample.sample)
    assert digest is not None
    assert fence._compiled_lines(fenced_sample.sample) == ""
    assert fence._compiled_lines(fenced_sample.changed) == "def changed(x):\n    return x + 2\n"
    assert fence.has_source(fenced_sample.sample, digest)
    assert not fence.has_source(fenced_sample.changed, digest)
    with pytest.raises(fence.ShapeChanged, match="changed is not 70.0's"):
        fence.expect_sources({fenced_sample.changed: digest})


@NEEDS_END_LINES
def test_lines_past_a_functions_code_in_its_block_are_never_taken_for_its_end(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `yield` after the last `return` compiles to nothing but makes a generator: the
    lines the code spans are not the function's, and only getsource's digest counts."""
    module = tmp_path / "fenced_generator.py"
    module.write_text(
        "def plain(x):\n    return x\n\n\ndef generator(x):\n    return x\n    # why\n    yield\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import fenced_generator

    assert fence._compiled_lines(fenced_generator.plain) == "def plain(x):\n    return x\n"
    assert fence._compiled_lines(fenced_generator.generator) == ""
    # The digest a patch would hold for the function before the `yield` came.
    before = hashlib.sha256(b"def generator(x):\n    return x\n").hexdigest()
    assert not fence.has_source(fenced_generator.generator, before)
    generator_digest = fence.source_digest(fenced_generator.generator)
    assert generator_digest is not None
    assert fence.has_source(fenced_generator.generator, generator_digest)


# Compression: pydyf.zlib.


def test_the_flate_patch_fits_this_pydyf() -> None:
    assert flate.shape_problem() is None
    assert "zlib.compressobj(level=9)" in inspect.getsource(pydyf.Stream.data.fget)


def test_pdf_streams_are_compressed_at_the_default_level_inside_only() -> None:
    content = b"".join(b"%d 0 0 %d re f\n" % (n, n * 7 % 13) for n in range(2000))

    def compressed() -> bytes:
        data: bytes = pydyf.Stream([content], compress=True).data
        return data.split(b"stream\n", 1)[1].rsplit(b"\nendstream", 1)[0]

    assert zlib.decompress(compressed()) == content
    best = compressed()
    with flate.default_flate_level():
        assert not isinstance(pydyf.zlib, type(zlib))
        default = compressed()
    assert pydyf.zlib is zlib
    level = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION)
    assert default == level.compress(content) + level.flush()
    assert zlib.decompress(default) == content and default != best


# The lean import: sys.modules stand-ins and ctypes.util.find_library.


def test_weasyprint_imports_at_load_exactly_what_the_stand_ins_stand_for() -> None:
    source = inspect.getsource(weasyprint.pdf.fonts)
    assert "from fontTools import subset\n" in source
    assert "from fontTools.varLib.instancer import instantiateVariableFont\n" in source
    assert lean_import.DEFERRED == {
        "fontTools.subset": (),
        "fontTools.varLib.instancer": ("instantiateVariableFont",),
    }
    import fontTools.varLib.instancer as instancer

    assert callable(instancer.instantiateVariableFont)


def test_weasyprint_names_each_library_by_its_linux_soname_too() -> None:
    """The fast import skips `find_library` and relies on these names."""
    assert inspect.signature(ctypes.util.find_library).parameters.keys() == {"name"}
    params = inspect.signature(weasyprint.text.ffi._dlopen).parameters
    assert list(params) == ["ffi", "names", "allow_fail"]
    source = inspect.getsource(weasyprint.text.ffi)
    for soname in ("libgobject-2.0.so.0", "libpango-1.0.so.0", "libharfbuzz.so.0"):
        assert f"'{soname}'" in source, soname


# The prebuilt declarations: cffi.FFI, while WeasyPrint is imported.


def test_weasyprint_makes_one_ffi_and_declares_its_types_once() -> None:
    """What declarations.py relies on: `cffi.FFI()` called once, by its module's name,
    then `cdef` once, in the text/ffi.py the declarations were made from."""
    source = inspect.getsource(weasyprint.text.ffi)
    assert source.count("cffi.FFI(") == 1 and "\nffi = cffi.FFI()\n" in source
    assert source.count(".cdef(") == 1 and source.count("import cffi\n") == 1
    data = declarations.read_data()
    assert data is not None and data["ffi_sha256"] == declarations.weasyprint_ffi_digest()


# Dates: SOURCE_DATE_EPOCH, as fontTools reads it.


def test_fonttools_dates_font_subsets_as_decided_in_one_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")

    book: Any = SimpleNamespace(meta=SimpleNamespace(modified_time=MAY_2021))
    stamp = timeTools.timestampNow
    with font_dates.dated_as_the_book(book):
        assert stamp() == timeTools.timestampSinceEpoch(font_dates.book_epoch(book))
        with font_dates.dated_as_a_piece():
            assert stamp() == timeTools.timestampSinceEpoch(font_dates.PIECE_EPOCH)
            with font_dates.dated_as_a_piece():  # another thread's piece: the same hold
                pass
            assert os.environ["SOURCE_DATE_EPOCH"] == str(font_dates.PIECE_EPOCH)
        assert os.environ["SOURCE_DATE_EPOCH"] == str(font_dates.book_epoch(book))
    assert os.environ["SOURCE_DATE_EPOCH"] == "1700000000"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    with font_dates.dated_as_a_piece():
        pass
    assert "SOURCE_DATE_EPOCH" not in os.environ


def test_versions_are_read_as_the_packages_say_them_without_importlib_metadata() -> None:
    """WeasyPrint's version is read from its __init__.py before it is imported (a layout
    worker checks it first; every piece's key takes it), and the libraries' versions
    that key converted essays and cut faces from their modules: each what the installed
    distribution says, and neither a layout worker nor a build's reading imports
    importlib.metadata for them (0.035 s, before an edit's piece could go)."""
    import importlib.metadata
    import subprocess
    import sys

    import fontTools
    import lxml
    import markdown_it
    import mdit_py_plugins
    import nh3
    import yaml

    fence._installed_weasyprint.cache_clear()
    assert fence._installed_weasyprint() == importlib.metadata.version("weasyprint")
    libraries = {"markdown-it-py": markdown_it, "mdit-py-plugins": mdit_py_plugins, "nh3": nh3}
    libraries |= {"lxml": lxml, "pyyaml": yaml}
    for name, module in libraries.items():
        assert module.__version__ == importlib.metadata.version(name), name
    assert fontTools.version == importlib.metadata.version("fonttools")
    code = (  # our code alone: WeasyPrint is not imported
        "import sys\n"
        "from make_book.render.weasy.patches.fence import weasyprint_version\n"
        "from make_book.source.assemble import _code_digest\n"
        "_code_digest()\n"
        "print(weasyprint_version(), 'importlib.metadata' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout == f"{importlib.metadata.version('weasyprint')} False\n", done.stderr

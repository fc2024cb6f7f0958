"""Every change make-book makes to another library's behaviour, each fenced, checked and
installed from one place.

Each module says what it replaces, why, and how it is guarded; each checks (fence.py)
that the library is the release it was written for and that its target is there with
the shape it expects before it changes anything.

- lean_import: `sys.modules` stand-ins for two fontTools modules, and
  `ctypes.util.find_library`; while WeasyPrint is imported.
- declarations: `cffi.FFI`, giving WeasyPrint's C declarations as parsed when
  make-book was released; while WeasyPrint is imported (by lean_import, on Linux).
- folios: `weasyprint.layout.make_all_pages` and `make_margin_boxes`; for the process
  (inert outside `folios.numbered_from`, which refuses where the hook cannot work).
- leaders: `weasyprint.layout.inline.handle_leader`; for the process.
- glyph_runs: `weasyprint.draw.text.draw_first_line`; for the process.
- footnote_areas: `block_level_layout` as `weasyprint.layout` and its `page` module
  call it; for the process.
- page_styles: `weasyprint.layout.page.set_page_type_computed_styles`; for the process.
- attr_lists: `weasyprint.text.line_break.Layout.setup`, and the `font_features` cache
  of the font configurations given to it; for the process (inert for others).
- flate: `pydyf.zlib`; while a piece is written (`default_flate_level`).
- font_dates: the environment's SOURCE_DATE_EPOCH, which fontTools reads; while a
  layout needs it (`dated_as_a_piece`, `dated_as_the_book`).
- font_faces: `weasyprint.pdf.build_fonts_dictionary`; while a piece is written
  (`marking_faces`): each face marked with its whole file, and left out of the piece.
- hyphenation: no code; an entry of `pyphen.hdcache`, pyphen's cache of parsed
  dictionaries, made from a copy of an earlier parse (`preload`, by a worker's
  warm-up and before a piece's layout); for the process. It checks pyphen's shape
  itself (`shape_problem`), and each copy names the pyphen release that made it.

`install()` is the one entry point for the process-wide ones, in any process that lays
out with WeasyPrint (a layout worker, the build laying out in its own process, the
one-document reference). The scoped ones are context managers, entered around the
work that needs them and restored in `finally`.

Nothing here imports WeasyPrint until `install()` or `import_weasyprint_lean()` runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from make_book.render.weasy.patches.fence import weasyprint_version
from make_book.render.weasy.patches.lean_import import import_weasyprint_lean

__all__ = ["Installed", "import_weasyprint_lean", "install", "installed"]


@dataclass(frozen=True)
class Installed:
    """Which process-wide patches are in place (False: its target did not fit; see
    each module's `shape_problem()`)."""

    weasyprint: str  # the version imported
    folios: bool  # False: the piecewise layout refuses to run (folios.numbered_from)
    leaders: bool  # False: leaders stay one text box per dot
    attr_lists: bool  # False: no attribute list is freed
    glyph_runs: bool  # False: lines are drawn by WeasyPrint's own loop
    footnote_areas: bool  # False: every footnote area's layout is made anew
    page_styles: bool  # False: every page's styles are computed anew


_LOCK = threading.Lock()
_INSTALLED: Installed | None = None


def install() -> Installed:
    """Import WeasyPrint the lean way and install every process-wide patch whose target
    fits (idempotent: the patches are installed once per process, and put back if
    something else replaced them). Never raises for a target that does not fit: the
    piecewise layout refuses to run then, with a RenderError, when it is asked to."""
    global _INSTALLED
    import_weasyprint_lean()
    from make_book.render.weasy.patches import (
        attr_lists,
        folios,
        footnote_areas,
        glyph_runs,
        leaders,
        page_styles,
    )

    with _LOCK:
        _INSTALLED = Installed(
            weasyprint=weasyprint_version(),
            folios=folios.install(),
            leaders=leaders.install(),
            attr_lists=attr_lists.install(),
            glyph_runs=glyph_runs.install(),
            footnote_areas=footnote_areas.install(),
            page_styles=page_styles.install(),
        )
        return _INSTALLED


def installed() -> Installed | None:
    """What `install()` last found (None: it has not run in this process)."""
    return _INSTALLED

"""Pages that match the same @page rules given the same computed styles.

WeasyPrint 70 gives every page a page type of its own (its index is part of it, for
`:nth()` selectors), and computes the page's style and each of its margin boxes' styles
afresh for each page (`set_page_type_computed_styles`, called by `remake_page`). A
computed style works out each property when it is first read, so every page paid again
for the same values: on the synthetic stress book, the margin boxes' styles alone were
about 3% of a cold build's CPU. Here a page whose type matches exactly the same @page
selectors as an earlier page of the document (and which is not the first page) is given
that page's computed style objects, so each value is worked out once per kind of page.

Why the styles are the same: a page's cascaded declarations are those of the @page
rules whose selectors match its type, in the style sheets' order, and its computed
styles are made from those, the root element's style and the document's fonts and
base URL, none of which depends on the page otherwise. The first page is always left
to WeasyPrint: page-relative units read the page size it sets. What WeasyPrint writes
into a page's styles afterwards (`overflow` from the root, the page counters' standard
form) is the same for every page of a kind, and written the same way again. One thing
differs: a warning WeasyPrint gives while working a page's style value out (an invalid
math function, content it cannot compute) is given once per kind of page, not once per
page. The kinds are kept for the document's layout: should the first page's size change
between two of its passes, a value in page-relative units would keep the earlier size
(make-book's page size is set by the profile and never changes).

Replaces: `weasyprint.layout.page.set_page_type_computed_styles` (called by
`remake_page` by that module's name), with a function that calls it for each new kind
of page.
Guarded: WeasyPrint 70.0, whose `set_page_type_computed_styles`, `StyleFor`'s
`add_page_declarations` and `_page_type_match` and `ComputedStyle.__missing__` are the
ones this was written against (their source's sha256), `remake_page` calling it by the
module's name, the style lookup (`StyleFor`) having the style sheets, matching and
lookups read here.
Otherwise not installed, and every page's styles are computed as WeasyPrint does.
Installed by `make_book.render.weasy.patches.install()`, for the process's life.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import weasyprint.css
import weasyprint.layout.page as page_module

from make_book.render.weasy.patches.fence import (
    WEASYPRINT_RELEASE,
    ShapeChanged,
    expect_global_calls,
    expect_sources,
    expect_weasyprint,
)

NAME = "set_page_type_computed_styles"
# set_page_type_computed_styles as WeasyPrint 70.0 has it (inspect.getsource).
ORIGINAL_SHA256 = "4e68b396b35c4a0640453f413be69acdc81a82b37e0f806fd00999c937a126bb"
# What the sharing's reasoning rests on, as WeasyPrint 70.0 has it.
ADD_PAGE_DECLARATIONS_SHA256 = "78e388ade2325011754b44f2aedbff51b93a0789adb53fb70efb57fc46244f18"
PAGE_TYPE_MATCH_SHA256 = "e81e6a05201f06436306e3dacce45b5737a6f13af25280429ffb2f7d86345933"
COMPUTE_SHA256 = "b318d8efc8ac79d716f05cb81cc3abd65a32bd79601e363b218a32559bb3a5fb"
_original = getattr(
    getattr(page_module, NAME, None), "__wrapped__", getattr(page_module, NAME, None)
)
_KEPT = "_make_book_page_kinds"  # the attribute of a StyleFor holding each kind's styles
_LOCK = threading.Lock()


def shape_problem() -> str | None:
    """What in this WeasyPrint differs from what the patch was written for (None: nothing)."""
    try:
        expect_weasyprint(WEASYPRINT_RELEASE)
        if _original is None:
            raise ShapeChanged(f"weasyprint.layout.page.{NAME} is missing")
        expect_global_calls(page_module.remake_page, NAME)
        style_for = weasyprint.css.StyleFor
        expect_sources(
            {
                _original: ORIGINAL_SHA256,
                style_for.add_page_declarations: ADD_PAGE_DECLARATIONS_SHA256,
                style_for._page_type_match: PAGE_TYPE_MATCH_SHA256,
                weasyprint.css.ComputedStyle.__missing__: COMPUTE_SHA256,
            }
        )
        for name in ("_page_type_match", "get_cascaded_styles", "get_computed_styles"):
            if not callable(getattr(style_for, name, None)):
                raise ShapeChanged(f"weasyprint.css.StyleFor.{name} is missing")
        if "_sheets" not in style_for.__init__.__code__.co_names:
            raise ShapeChanged("weasyprint.css.StyleFor keeps no _sheets")
    except ShapeChanged as changed:
        return str(changed)
    return None


def install() -> bool:
    """Share computed styles between pages of a kind from now on in this process if this
    WeasyPrint fits (idempotent); whether they are shared."""
    with _LOCK:
        if installed():
            return True
        if shape_problem() is not None:
            return False
        setattr(page_module, NAME, set_page_type_computed_styles)
        return True


def installed() -> bool:
    """Whether pages of a kind share their computed styles now."""
    return getattr(page_module, NAME, None) is set_page_type_computed_styles


def set_page_type_computed_styles(page_type: Any, html: Any, style_for: Any) -> None:
    """WeasyPrint's, for the first page and each new kind of page; the earlier page's
    computed styles for a page of a kind already met."""
    assert _original is not None
    if page_type.index == 0:
        _original(page_type, html, style_for)
        return
    kinds: dict[tuple[Any, ...], tuple[Any, list[Any]]] = style_for.__dict__.setdefault(_KEPT, {})
    kind = (id(html), *_matches(page_type, style_for))
    earlier = kinds.get(kind)
    if earlier is None:
        _original(page_type, html, style_for)
        cascaded = style_for.get_cascaded_styles()
        pseudo_types = [pseudo for element, pseudo in cascaded if pseudo and element == page_type]
        kinds[kind] = (page_type, [None, *pseudo_types])
        return
    earlier_type, pseudo_types = earlier
    computed = style_for.get_computed_styles()
    for pseudo_type in pseudo_types:
        computed[page_type, pseudo_type] = computed[earlier_type, pseudo_type]


def _matches(page_type: Any, style_for: Any) -> Iterator[bool]:
    """Whether each @page selector matches the page type, in the order WeasyPrint's
    cascade reads them (`StyleFor.add_page_declarations`)."""
    for sheet, _, _ in style_for._sheets:
        for _, selector_list, _ in sheet.page_rules:
            for _, _, page_selector_type in selector_list:
                yield style_for._page_type_match(page_selector_type, page_type)


set_page_type_computed_styles.__wrapped__ = _original  # type: ignore[attr-defined]

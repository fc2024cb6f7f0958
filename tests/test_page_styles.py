"""Pages matching the same @page selectors share their computed styles (page_styles.py):
the same pages, byte for byte, with each kind of page's styles worked out once."""

from __future__ import annotations

from typing import Any

import pytest
import weasyprint
import weasyprint.css
import weasyprint.layout.page as page_module

from make_book.render.weasy.patches import page_styles

CSS = """@page { size: 4in 4in; margin: 0.6in 0.5in;
  @bottom-center { content: counter(page) " of " counter(pages) } }
@page :left { @top-left { content: string(part); font-style: italic } }
@page :right { @top-right { content: string(title) " — " counter(page, lower-roman) } }
@page :first { @top-right { content: none } }
@page :blank { @bottom-center { content: none } }
@page :nth(3n+2) { @top-center { content: "every third"; font-size: 6pt } }
@page opener { margin-top: 1.5in; @top-left { content: "Part opener" } }
@page :nth(2 of opener) { @bottom-left { content: "second of its group" } }
h1 { string-set: part content(); page: opener; break-before: recto }
h2 { string-set: title content(); break-before: page }
body { font-family: serif; font-size: 10pt }"""


def _html() -> str:
    parts = []
    for part in range(1, 4):
        parts.append(f"<h1>Part {part}</h1><p>{'An opening. ' * 40}</p>")
        for essay in range(1, 4):
            parts.append(f"<h2>Essay {part}.{essay}</h2><p>{'Words upon words. ' * 150}</p>")
    return f"<html><body>{''.join(parts)}</body></html>"


def _pdf() -> tuple[bytes, int]:
    document = weasyprint.HTML(string=_html()).render(stylesheets=[weasyprint.CSS(string=CSS)])
    return bytes(document.write_pdf()), len(document.pages)


def test_the_patch_fits_this_weasyprint() -> None:
    assert page_styles.shape_problem() is None
    assert page_styles.install()
    assert page_styles.installed()


def test_pages_of_a_kind_share_styles_and_come_out_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert page_styles.install()
    computed = 0
    original = page_styles._original
    assert original is not None

    def counted(page_type: Any, html: Any, style_for: Any) -> None:
        nonlocal computed
        computed += 1
        original(page_type, html, style_for)

    monkeypatch.setattr(page_styles, "_original", counted)
    shared, pages = _pdf()
    kinds, computed = computed, 0
    monkeypatch.setattr(page_module, page_styles.NAME, counted)
    own, own_pages = _pdf()
    assert pages == own_pages > 20
    assert shared == own
    assert kinds < computed // 2  # left, right, first, blank, every third, openers


def test_a_style_read_on_one_page_is_read_once_for_its_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert page_styles.install()
    worked_out = 0
    missing = weasyprint.css.ComputedStyle.__missing__

    def counted(self: Any, key: str) -> Any:
        nonlocal worked_out
        worked_out += 1
        return missing(self, key)

    monkeypatch.setattr(weasyprint.css.ComputedStyle, "__missing__", counted)
    _pdf()
    shared, worked_out = worked_out, 0
    monkeypatch.setattr(page_module, page_styles.NAME, page_styles._original)
    _pdf()
    assert shared < worked_out


def test_another_page_style_function_is_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_styles, "ORIGINAL_SHA256", "0" * 64)
    assert "is not 70.0's" in (page_styles.shape_problem() or "")
    monkeypatch.setattr(page_module, page_styles.NAME, page_styles._original)
    assert not page_styles.install()
    assert getattr(page_module, page_styles.NAME) is page_styles._original

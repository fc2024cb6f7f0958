"""A page's footnote area laid out once for each set of footnotes (footnote_areas.py): the
same pages, byte for byte, with fewer layouts."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
import weasyprint
import weasyprint.layout as layout_package
import weasyprint.layout.page as page_module
from weasyprint.formatting_structure import boxes

from make_book.render.weasy.patches import footnote_areas

CSS = """@page { size: 4in 4.5in; margin: 0.4in }
body { font-family: serif; font-size: 10pt; text-align: justify; hyphens: auto }
.note { float: footnote; font-size: 8pt }
.note .aside { float: right; width: 0.6in; height: 0.3in; background: #ddd }
.note .pinned { position: absolute; right: 0; top: 0 }
h2 { break-before: page; margin-top: 1in }"""
SENTENCE = "Of the inconstancy of our actions, and of the vanity of words so spoken. "


def _note(n: int, words: int, extra: str = "") -> str:
    return f'<span class="note">{extra}Note {n}: {"a gloss on it " * words}</span>'


def _body(extra: str = "", every: int = 7) -> str:
    """Paragraphs with notes of every length: one alone on a page, several, one too
    long for the room left (WeasyPrint carries it to the next page), a forced break."""
    paragraphs = []
    for n in range(1, 25):
        words = (3, 40, 8, 120, 1, 15)[n % 6]
        note = _note(n, words, extra if n % every == 0 else "")
        heading = "<h2>Part</h2>" if n % 9 == 0 else ""
        paragraphs.append(f"{heading}<p lang='en'>{SENTENCE * (2 + n % 5)}{note} {SENTENCE}</p>")
    return f"<html><body>{''.join(paragraphs)}</body></html>"


def _pdf(html: str) -> tuple[bytes, int]:
    document = weasyprint.HTML(string=html).render(stylesheets=[weasyprint.CSS(string=CSS)])
    return bytes(document.write_pdf()), len(document.pages)


def _both(html: str, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple[bytes, int], ...]:
    """The document laid out with footnote areas kept, then as WeasyPrint lays it out,
    and how many footnote-area layouts each made."""
    assert footnote_areas.install()
    made = 0
    original = footnote_areas._original

    def counted(context: Any, box: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal made
        made += isinstance(box, boxes.FootnoteAreaBox)
        return original(context, box, *args, **kwargs)

    monkeypatch.setattr(footnote_areas, "_original", counted)
    kept = _pdf(html)
    kept_made, made = made, 0
    for caller in footnote_areas.CALLERS:
        monkeypatch.setattr(caller, "block_level_layout", counted)
    own = _pdf(html)
    return (*kept, kept_made), (*own, made)


def test_the_patch_fits_this_weasyprint() -> None:
    assert footnote_areas.shape_problem() is None
    assert footnote_areas.install()
    assert footnote_areas.installed()


def test_the_pages_are_the_same_with_fewer_layouts(monkeypatch: pytest.MonkeyPatch) -> None:
    (kept, pages, kept_made), (own, own_pages, own_made) = _both(_body(), monkeypatch)
    assert pages == own_pages > 8
    assert kept == own
    assert kept_made <= own_made - pages // 2  # the page's last layout, at least


@pytest.mark.parametrize("extra", ['<span class="aside"></span>', '<span class="pinned">*</span>'])
def test_a_note_with_a_float_or_a_positioned_box_is_laid_out_anew(
    extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (kept, pages, _), (own, own_pages, _) = _both(_body(extra), monkeypatch)
    assert pages == own_pages
    assert kept == own
    # Every note with one: then no area is given a kept layout.
    (kept, pages, kept_made), (own, own_pages, own_made) = _both(_body(extra, 1), monkeypatch)
    assert kept == own
    assert kept_made == own_made


def test_a_changed_layout_function_is_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    def block_level_layout(context: Any, box: Any) -> Any:  # another WeasyPrint's
        raise AssertionError("not to be called")

    for caller in footnote_areas.CALLERS:
        monkeypatch.setattr(caller, "block_level_layout", footnote_areas._original)
    monkeypatch.setattr(footnote_areas.block, "block_level_layout", block_level_layout)
    assert "takes (context, box)" in (footnote_areas.shape_problem() or "")
    assert not footnote_areas.install()
    assert layout_package.block_level_layout is footnote_areas._original
    assert page_module.block_level_layout is footnote_areas._original


def test_notes_with_a_table_are_laid_out_anew_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    table = '<span style="display: inline-table"><span style="display: table-cell">x</span></span>'
    html = _body().replace('class="note">', f'class="note">{table}')
    (kept, pages, kept_made), (own, own_pages, own_made) = _both(html, monkeypatch)
    assert pages == own_pages
    assert kept == own
    assert kept_made == own_made  # none given again


@pytest.mark.parametrize("extra", ["", '<span class="aside"></span>'])
def test_no_layout_of_an_area_outlives_its_page(
    extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert footnote_areas.install()
    made: list[weakref.ref[Any]] = []
    original = footnote_areas._original

    def remembered(context: Any, box: Any, *args: Any, **kwargs: Any) -> Any:
        laid_out = original(context, box, *args, **kwargs)
        if isinstance(box, boxes.FootnoteAreaBox):
            made.append(weakref.ref(laid_out[0]))
        return laid_out

    monkeypatch.setattr(footnote_areas, "_original", remembered)
    html = _body(extra, 3)  # with a float in every third note: those areas laid out anew
    document = weasyprint.HTML(string=html).render(stylesheets=[weasyprint.CSS(string=CSS)])
    gc.collect()
    alive = {id(area) for area in (made_one() for made_one in made) if area is not None}
    in_pages = {
        id(box)
        for page in document.pages
        for box in page._page_box.descendants()
        if isinstance(box, boxes.FootnoteAreaBox)
    }
    assert len(made) > len(in_pages)  # the layouts made for each note's height, too
    assert alive == in_pages  # only the pages' own areas are left

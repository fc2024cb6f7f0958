"""The preview's own pages: an essay's print pages, and the page shown before the first
build. Everything written into them is escaped: titles come from the book."""

from __future__ import annotations

import html

from make_book.pagemap import PageStart
from make_book.serve.preview import Outcome

LIVE = "/__make-book/"  # the server's own paths; no output of a book has this name
_STYLE = """
body { margin: 0; background: #d8d8d4; font: 15px/1.4 system-ui, sans-serif; color: #222; }
header { padding: 12px 20px; background: #f4f4f0; border-bottom: 1px solid #bbb; }
h1 { margin: 0; font-size: 18px; } header p { margin: 4px 0 0; }
main { display: flex; flex-wrap: wrap; gap: 24px; justify-content: center; padding: 24px; }
figure { margin: 0; text-align: center; }
img { display: block; max-width: 100%; height: auto; background: #fff;
      box-shadow: 0 1px 4px rgba(0, 0, 0, .35); }
figcaption { margin-top: 6px; font-size: 13px; color: #444; }
"""
_SHELL = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head><body class="make-book-preview">
<header><h1>{heading}</h1>
<p>{links}</p></header>
<main>{figures}</main>
</body></html>
"""


def print_page(outcome: Outcome, slug: str) -> str | None:
    """The pages of one essay (`slug`), or of the whole book (""), as printed; None if
    the build has no such pages."""
    shown = outcome.pages.get(slug, ()) if slug else _every_page(outcome)
    if not shown or outcome.pdf is None:
        return None
    title = outcome.titles.get(slug, "The whole book") if slug else "The whole book"
    first, last = shown[0].label, shown[-1].label
    span = f"p. {first}" if len(shown) == 1 else f"pp. {first}–{last}"
    web = f"/html/{slug}.html" if slug else "/html/index.html"
    pdf = f"/{outcome.pdf.name}#page={shown[0].index + 1}"
    links = f'{html.escape(span)} · <a href="{html.escape(web)}">web page</a>'
    links += f' · <a href="{html.escape(pdf)}">PDF</a>'
    return _SHELL.format(
        title=html.escape(f"{title} — print pages"),
        style=_STYLE,
        heading=html.escape(title),
        links=links,
        figures="\n".join(_figure(page, outcome.number) for page in shown),
    )


def waiting_page() -> str:
    """Shown until the first build is good; the live script leads to the book then."""
    return _SHELL.format(
        title="make-book preview",
        style=_STYLE,
        heading="make-book preview",
        links="Building the book…",
        figures="",
    )


def _figure(page: PageStart, build: int) -> str:
    folio = html.escape(page.label)
    # lazy: the whole book's view asks for a page only when it is scrolled to
    return (
        f'<figure><img src="{LIVE}page/{page.index}.png?b={build}" alt="page {folio}"'
        f' width="560" loading="lazy"><figcaption>{folio}</figcaption></figure>'
    )


def _every_page(outcome: Outcome) -> tuple[PageStart, ...]:
    every = (page for pages in outcome.pages.values() for page in pages)
    return tuple(sorted(every, key=lambda page: page.index))

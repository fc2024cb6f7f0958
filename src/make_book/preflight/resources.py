"""What a page can draw beyond its own content stream: its annotations' appearance
streams, and every font reachable through its resources, forms and patterns.
"""

from __future__ import annotations

from collections.abc import Iterator

import pikepdf

from make_book.preflight.pdf_values import Key, as_dict, entry, inherited, key_of


def appearance_streams(page: pikepdf.Object) -> Iterator[pikepdf.Object]:
    """The normal, rollover and down appearances of every annotation on the page."""
    annotations = page.get("/Annots")
    for annotation in annotations if isinstance(annotations, pikepdf.Array) else []:
        appearance = entry(annotation, "/AP")
        for key in ("/N", "/R", "/D"):
            found = entry(appearance, key)
            if isinstance(found, pikepdf.Stream):
                yield found
            elif isinstance(found, pikepdf.Dictionary):  # one appearance per state
                yield from (s for s in found.values() if isinstance(s, pikepdf.Stream))


def resource_fonts(page: pikepdf.Object) -> Iterator[tuple[str, pikepdf.Object]]:
    """Every font the page can draw with: its own, its forms', patterns' and appearances'."""
    resources = [as_dict(inherited(page, "/Resources"))]
    resources += [as_dict(stream.get("/Resources")) for stream in appearance_streams(page)]
    seen: set[Key] = set()
    while resources:
        found = resources.pop()
        if found is None:
            continue
        for name, font in (as_dict(found.get("/Font")) or {}).items():
            if as_dict(font) is not None:
                yield name, font
        for category in ("/XObject", "/Pattern"):
            for inner in (as_dict(found.get(category)) or {}).values():
                key = key_of(inner)
                if isinstance(inner, pikepdf.Stream) and key is not None and key not in seen:
                    seen.add(key)  # a form drawing itself stops here
                    resources.append(as_dict(inner.get("/Resources")))

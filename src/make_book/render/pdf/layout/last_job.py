"""The last layout job of a book, remembered in its cache for the next build's first worker.

A rebuild starts one worker before it reads the book (cli/build.py): the worker imports
and warms up WeasyPrint meanwhile, then waits for its job, which the build sends once it
has read the book; preparing the job (its stylesheet parsed, its fonts loaded) then took
0.04 s more on an edit's way to its one piece. An edit's job is most often the last
build's: the worker prepares that one while it waits (worker.py), and the job sent is
then ready. Another job is prepared when it comes, after the worker has dropped the
fonts the remembered one loaded (piece_layout.py's `forget_prepared`).

Kept sealed with the machine's key, as every cache entry (cache/trust.py), and read only
as the build would open the cache (`CacheFolder.existing`: no key in the book folder, no
key or folder made) and only for the book whose cache it is in: a book folder from
elsewhere cannot have a worker read a stylesheet or fonts of its choosing.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from make_book.cache.folder import CacheFolder
from make_book.render.pdf.layout.protocol import LayoutJob

FORMAT = 1  # of the entry: a change of LayoutJob's fields gets a new number
JOB_LIMIT = 16 * 1024 * 1024  # bytes: a theme's stylesheet is tens of KB
_TEXTS = ("css", "book_root", "language", "identifier", "profile")


def remember(cache: CacheFolder | None, job: LayoutJob) -> None:
    """Keep `job` as the book's last (written only when it is another job)."""
    if cache is None:
        return
    payload = _encoded(job)
    place = _place(cache)
    with contextlib.suppress(OSError):  # a cache that fails now: the next worker waits
        if cache.read(place, JOB_LIMIT) != payload:
            cache.write(place, payload)


def remembered(cache_root: Path) -> LayoutJob | None:
    """The last job kept in the cache at `cache_root` (the book's, beside book.yaml), if
    this machine sealed it there and it is that book's job."""
    cache = CacheFolder.existing(cache_root)
    if cache is None:
        return None
    try:
        payload = cache.read(_place(cache), JOB_LIMIT, touch=False)
        job = _decoded(json.loads(payload)) if payload is not None else None
    except (OSError, ValueError):
        return None
    return job if job is not None and job.book_root == cache_root.parent else None


def _place(cache: CacheFolder) -> str:
    return f"builds/{cache.name('last layout job')}.json"


def _encoded(job: LayoutJob) -> bytes:
    fields = {
        "format": FORMAT,
        **{name: getattr(job, name) for name in _TEXTS},
        "book_root": str(job.book_root),
        "font_dirs": [str(folder) for folder in job.font_dirs],
        "dpi": job.dpi,
        "tagged": job.tagged,
        "variant": job.variant,
    }
    return json.dumps(fields, sort_keys=True).encode()


def _decoded(fields: Any) -> LayoutJob | None:
    """The job, if `fields` is one of this format with every field of its type."""
    if not isinstance(fields, dict) or fields.get("format") != FORMAT:
        return None
    texts = all(isinstance(fields.get(name), str) for name in _TEXTS)
    folders = fields.get("font_dirs")
    if not texts or not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        return None
    dpi, tagged, variant = fields.get("dpi"), fields.get("tagged"), fields.get("variant")
    if type(dpi) is not int or type(tagged) is not bool:
        return None
    if variant is not None and not isinstance(variant, str):
        return None
    return LayoutJob(
        css=fields["css"],
        book_root=Path(fields["book_root"]),
        font_dirs=tuple(Path(folder) for folder in folders),
        dpi=dpi,
        tagged=tagged,
        variant=variant,
        language=fields["language"],
        identifier=fields["identifier"],
        profile=fields["profile"],
    )

"""Knowing that nothing changed since the last build, as `make` knows it.

After a build that succeeds, make-book records in its cache folder a
fingerprint of everything the build could read, the hash of every output, and
what the build said: its lines, its report and its warnings (the book's, in
order). The next build with the same options skips all work when the fingerprint
is the same and every output is still there, unchanged: it says the warnings
again, and under --strict fails on them, as a build would. The fingerprint
covers each file under the book's folder (size and modification time; outputs,
caches and hidden folders aside), the packaged themes, make-book's and
WeasyPrint's versions, the revision of make-book's outputs (`OUTPUTS`), the options
and SOURCE_DATE_EPOCH. Anything else, and it builds as usual (with its layout cache,
so only what changed is laid out).

The record is named and sealed with this machine's cache key (cache/trust.py): a
book folder that arrives with a `dist/` and a record saying it is up to date is
built all the same, since no one without the key can write such a record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from make_book import __version__
from make_book.cache.files import sha256_of_regular
from make_book.cache.folder import CacheFolder
from make_book.render.weasy.patches.fence import weasyprint_version

# Bumped with every commit that changes what the same inputs give (tools/output_hashes.py
# tells): a record of an older make-book's outputs is then not up to date, though the
# version is the same between releases.
OUTPUTS = 2  # 2: tagged PDFs without an element per run of text, the front matter first
OUTPUT_LIMIT = 1 << 40  # outputs are hashed in blocks: no size is too big, a FIFO is
# Every packaged theme, whole (theme/__init__.py's THEMES): named here, not imported
# from make_book.theme, whose Jinja, tinycss2 and YAML a build found up to date never needs.
THEMES = Path(__file__).resolve().parent.parent / "themes"


@dataclass(frozen=True)
class Record:
    """Where a build's record lives (no cache: nowhere), and the fingerprint of its
    inputs now."""

    cache: CacheFolder | None
    place: str
    fingerprint: str

    def last(self) -> dict[str, Any]:
        """The last build's record, whatever changed since ({} if there is none)."""
        data = self.cache.read(self.place) if self.cache is not None else None
        try:
            record = json.loads(data) if data is not None else {}
        except ValueError:
            return {}
        return record if isinstance(record, dict) else {}

    def unchanged(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The last build's record (`last()`) if its inputs and outputs are as it left them."""
        if record.get("fingerprint") != self.fingerprint:
            return None
        outputs: dict[str, str] = record.get("outputs", {})
        return record if outputs and all(_sha256(p) == h for p, h in outputs.items()) else None

    def save(self, outputs: list[Path], summary: dict[str, Any]) -> None:
        """Record a build: its fingerprint, its outputs' hashes, what it said (`summary`)."""
        if self.cache is None:
            return
        hashes = {str(p): _sha256(str(p)) for p in _files(outputs)}
        body = {"fingerprint": self.fingerprint, "outputs": hashes, **summary}
        with contextlib.suppress(OSError):  # without it, the next build only takes longer
            self.cache.write(self.place, json.dumps(body, indent=1, sort_keys=True).encode())


def record_for(
    manifest: Path,
    out_dir: Path,
    cache_dir: Path,
    options: list[str],
    report: Path | None = None,
) -> Record:
    """The record of builds of `manifest` into `out_dir` with these options (one that
    is never found if the cache cannot be used: that is said, once, as a warning).

    `report`: the build report's path, which is written, never read (overlap.py refuses
    one that is a source), so left out of the fingerprint like the outputs.
    """
    cache = CacheFolder.open(cache_dir)
    if cache is None:
        return Record(None, "", "")
    root = manifest.resolve().parent
    skip = {out_dir.resolve(), cache_dir.resolve()}
    if report is not None:
        skip.add(report.resolve())
    digest = hashlib.sha256()
    versions = [__version__, str(OUTPUTS), weasyprint_version()]
    for part in [*versions, *options, str(manifest.resolve())]:
        digest.update(part.encode() + b"\0")
    digest.update(os.environ.get("SOURCE_DATE_EPOCH", "").encode() + b"\0")
    where = hashlib.sha256(digest.digest() + str(out_dir.resolve()).encode()).hexdigest()
    for folder in [root, THEMES]:
        for path, stat in _walk(folder, skip):
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return Record(cache, f"builds/{cache.name(where)}.json", digest.hexdigest())


def _walk(folder: Path, skip: set[Path]) -> list[tuple[str, os.stat_result]]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        real = here.resolve()
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (here / d).resolve() not in skip
        )
        for name in sorted(filenames):
            if real / name in skip:  # the report
                continue
            with contextlib.suppress(OSError):
                found.append((str(here / name), (here / name).stat()))
    return found


def _files(outputs: list[Path]) -> list[Path]:
    """Each output, a folder's files included (the web edition)."""
    files = []
    for path in outputs:
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return files


def _sha256(path: str) -> str | None:
    return sha256_of_regular(path, OUTPUT_LIMIT)

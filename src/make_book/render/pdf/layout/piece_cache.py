"""The layout cache: laid-out pieces of a book, found by what went into them.

A piece's key is the hash of everything that can change its pages: its HTML
(the essay's text and metadata, rendered), the stylesheets, the profile's
options and the versions of make-book and WeasyPrint. Under the key, one entry
per first folio: the piece's PDF and a JSON record. The record lists each file
the layout read (fonts, images, imported CSS) with its hash; an entry whose files
changed, whose PDF does not match its recorded hash, or that cannot be read is
stale or corrupt: it is removed and laid out again, never used.

Entries are written to a temporary name and renamed, so a killed build leaves
no half entry under a real name. Entries unused for `MAX_AGE_DAYS` are pruned.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from make_book.pagemap import PageStart
from make_book.publish.atomic import replace_quickly
from make_book.render.pdf.layout.protocol import Bookmark, PieceResult

CACHE_FOLDER = ".make-book-cache"
FORMAT = 2  # bump when the record's shape changes: older entries are then stale
MAX_AGE_DAYS = 30
COPY_SUFFIX = ".join"  # a piece as the join copied it, beside its PDF (render/joincopy.py)


class FileHashes:
    """sha256 of files, each read once per build (every piece uses the same fonts)."""

    def __init__(self) -> None:
        self.known: dict[str, str | None] = {}

    def __call__(self, path: str) -> str | None:
        if path not in self.known:
            try:
                self.known[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            except OSError:
                self.known[path] = None
        return self.known[path]


class PieceCache:
    """Laid-out pieces under `folder`; a throwaway folder when caching is off."""

    def __init__(self, folder: Path | None) -> None:
        self.keep = folder is not None
        self.folder = folder if folder is not None else Path(tempfile.mkdtemp(prefix="make-book-"))
        self.hashes = FileHashes()
        self.hits = 0
        self.misses = 0

    def __enter__(self) -> PieceCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove a throwaway folder; prune old entries of a kept one."""
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            self._prune()

    @staticmethod
    def has_pieces(folder: Path | None) -> bool:
        """Whether a kept cache folder holds laid-out pieces (of this book or another)."""
        if folder is None:
            return False
        with contextlib.suppress(OSError):
            return any((folder / "pieces").iterdir())
        return False

    def pdf_path(self, key: str, folio: int | None) -> Path:
        """Where the piece's PDF goes (folio None: not known yet, renamed by `store`)."""
        entry = self.folder / "pieces" / key
        entry.mkdir(parents=True, exist_ok=True)
        return entry / (f"{folio}.pdf" if folio is not None else f".pending-{os.getpid()}.pdf")

    def pages(self, key: str) -> int | None:
        """The page count of a piece laid out before at any folio, if still valid."""
        entry = self.folder / "pieces" / key
        for record in sorted(entry.glob("*.json")) if entry.is_dir() else ():
            result = self._load(record)
            if result is not None:
                return result.pages
        return None

    def get(self, key: str, folio: int) -> PieceResult | None:
        """The piece laid out at `folio`, or None (a stale or corrupt entry is removed)."""
        record = self.folder / "pieces" / key / f"{folio}.json"
        result = self._load(record) if record.exists() else None
        if result is None:
            self.misses += 1
            return None
        pdf_bytes = _read(result.pdf)
        if pdf_bytes is None or hashlib.sha256(pdf_bytes).hexdigest() != result.sha256:
            _remove(*_entry_files(result.pdf))
            self.misses += 1
            return None
        now = time.time()
        with contextlib.suppress(OSError):
            os.utime(record, (now, now))
        self.hits += 1
        return result

    def store(self, key: str, folio: int, result: PieceResult) -> PieceResult:
        """Record a freshly laid-out piece under its folio; returns it with its final path."""
        final = self.folder / "pieces" / key / f"{folio}.pdf"
        if result.pdf != final:
            os.replace(result.pdf, final)
            result.pdf = final
        data = asdict(result) | {"format": FORMAT, "pdf": final.name}
        replace_quickly(final.with_suffix(".json"), json.dumps(data))
        return result

    def passed(self, key: str, folio: int, result: PieceResult, profile: str) -> None:
        """Note that the piece's pages passed `profile`'s preflight in a joined book."""
        if profile not in result.passed:
            result.passed.append(profile)
            self.store(key, folio, result)

    def _load(self, record: Path) -> PieceResult | None:
        """The record if readable and every file it read is unchanged; else remove it."""
        try:
            data = json.loads(record.read_text("utf-8"))
            if data.pop("format") != FORMAT:
                raise ValueError("an older cache format")
            data["pdf"] = record.with_name(data["pdf"])
            data["starts"] = [PageStart(**s) for s in data["starts"]]
            data["bookmarks"] = [Bookmark(*b) for b in data["bookmarks"]]
            result = PieceResult(**data)
        except (OSError, ValueError, KeyError, TypeError):
            _remove(*_entry_files(record.with_suffix(".pdf")))
            return None
        if any(self.hashes(path) != digest for path, digest in result.files.items()):
            _remove(*_entry_files(result.pdf))
            return None
        return result

    def _prune(self) -> None:
        cutoff = time.time() - MAX_AGE_DAYS * 86400
        for leftover in (self.folder / "pieces").glob("*/.*"):  # of a build killed midway
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < time.time() - 86400:
                    _remove(leftover)
        for record in (self.folder / "pieces").glob("*/*.json"):
            with contextlib.suppress(OSError):
                if record.stat().st_mtime < cutoff:
                    _remove(*_entry_files(record.with_suffix(".pdf")))
        remembered = ("converted", "bodies", "epub")
        for entry in [path for kind in remembered for path in (self.folder / kind).glob("*")]:
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    _remove(entry)


def _entry_files(pdf: Path) -> tuple[Path, Path, Path]:
    """A piece's record, PDF, and its copy as the join wrote it (render/joincopy.py)."""
    return pdf.with_suffix(".json"), pdf, pdf.with_suffix(COPY_SUFFIX)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()

"""The layout cache: laid-out pieces of a book, found by what went into them.

A piece's key is the hash of everything that can change its pages: its HTML
(the essay's text and metadata, rendered), the stylesheets, the profile's
options and the versions of make-book and WeasyPrint. Under the key (named with
this machine's key, cache/trust.py), one entry per first folio: the piece's PDF
and a JSON record sealed by this machine. The record gives the PDF's size and
sha256, and each file the layout read (fonts, images, imported CSS) with its hash.
An entry whose record is not sealed here, whose files changed or are not regular
files of the book or the theme, whose PDF is not the one recorded, whose faces (the
whole font files it left out, render/weasy/patches/font_faces.py) are not whole in the
faces folder, or that cannot be read is stale, corrupt or forged: it is removed and
laid out again, never used. (The faces are named by their sha256, their files found in
the cache's own faces folder, not by a path a record would carry.)

Entries are written to a temporary name and renamed, so a killed build leaves
no half entry under a real name. Entries unused for `MAX_AGE_DAYS` are pruned (at most
once a day: folder.py's stamp).
A cache that cannot be used (folder.py) lays out in a throwaway folder instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from make_book.cache.files import read_regular, sha256_of_regular
from make_book.cache.folder import CACHE_FOLDER as CACHE_FOLDER
from make_book.cache.folder import (
    CacheFolder,
    entries,
    is_old,
    prune_due,
    prune_remembered,
    remove_regular,
    say_unusable,
    stamp_pruned,
)
from make_book.pagemap import PageStart
from make_book.render.pdf.layout.protocol import FACES, Bookmark, PieceResult
from make_book.render.pdf.layout.protocol import faces_folder as faces_folder
from make_book.render.weasy.patches.font_faces import FACE_LIMIT, FACE_SUFFIX
from make_book.theme import THEMES

FORMAT = 7  # bump when the record or its piece changes shape: older entries are then stale
MAX_AGE_DAYS = 30
COPY_SUFFIX = ".join"  # a piece as the join copied it, beside its PDF (join/piece_copy.py)
# Beside the pieces' folders: whole font files (<sha256>.face) the pieces' faces were cut
# from, and the join's cuts of them (render/pdf/join/font_faces.py).
FACES_PLACE = f"pieces/{FACES}"  # the same, as a place in the cache
READ_LIMIT = 128 * 1024 * 1024  # what the layout may read of a file (weasy/fetch.py)
PIECE_LIMIT = 4 * 1024 * 1024 * 1024  # a piece's PDF: its images are 40 MB at most, each
_FILE_NAME = re.compile(r"[0-9]+\.(json|pdf|join)")
# A killed build's: a piece laid out before its folio was known, and temporary files.
_DIGEST = re.compile(r"[0-9a-f]{64}")
_FACE_NAME = re.compile(rf"{_DIGEST.pattern}(\.face)?")
_FACE_LEFTOVER = re.compile(r"\.[0-9a-f]{64}(\.face)?\.[0-9]+\.tmp")
_LEFTOVER_NAME = re.compile(r"\.(pending-[0-9]+\.pdf|(\.pending-[0-9]+|[0-9]+)\.\w+\.[0-9]+\.tmp)")


class FileHashes:
    """sha256 of the files a layout read, each read once per build (every piece uses the
    same fonts); only regular files under `roots`, reached by no link, are read."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        self.roots = tuple(root.resolve() for root in roots)
        self.known: dict[str, str | None] = {}

    def __call__(self, path: str) -> str | None:
        if path not in self.known:
            self.known[path] = self._hash(path)
        return self.known[path]

    def _hash(self, path: str) -> str | None:
        # The layout records resolved paths: one that a link would change is not its own.
        if not os.path.isabs(path) or os.path.realpath(path) != path:
            return None
        if not any(Path(path).is_relative_to(root) for root in self.roots):
            return None
        return sha256_of_regular(path, READ_LIMIT)


class PieceCache:
    """Laid-out pieces under `folder`; a throwaway folder when caching is off or the
    folder cannot be used (said once, as a warning)."""

    def __init__(self, folder: Path | None) -> None:
        self.cache = CacheFolder.open(folder)
        self.scratch: Path | None = None  # the throwaway folder, once needed
        # The cache sits beside book.yaml: what a layout may read is there or in the theme.
        self.hashes = FileHashes((folder.parent, THEMES) if folder is not None else ())
        self.faces: dict[str, bool] = {}  # sha256 -> whether its file is whole, this build
        self.faces_used: set[str] = set()  # sha256 of the faces marked used, this build
        self.hits = 0
        self.misses = 0

    @property
    def keep(self) -> bool:
        return self.cache is not None

    def __enter__(self) -> PieceCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove a throwaway folder; prune old entries of a kept one, once a day."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if self.cache is not None and prune_due(self.cache.root):
            self._prune(self.cache.root)
            stamp_pruned(self.cache.root)

    @staticmethod
    def has_pieces(folder: Path | None) -> bool:
        """Whether a kept cache folder holds laid-out pieces (of this book or another)."""
        if folder is None or os.path.islink(folder):
            return False
        return any(True for _ in entries(folder / "pieces"))

    def pdf_path(self, key: str, folio: int | None) -> Path:
        """Where the piece's PDF goes (folio None: not known yet, renamed by `store`)."""
        entry = self._entry_folder(key)
        path = entry / (f"{folio}.pdf" if folio is not None else f".pending-{os.getpid()}.pdf")
        remove_regular(path)  # the layout writes beside it and renames: never through a link
        return path

    def pages(self, key: str) -> int | None:
        """The page count of a piece laid out before at any folio, if still valid."""
        if self.cache is None:
            return None
        place = f"pieces/{self.cache.name(key)}"
        for name in sorted(e.name for e in entries(self.cache.root / place)):
            if name.endswith(".json") and _FILE_NAME.fullmatch(name):
                loaded = self._load(f"{place}/{name}")
                if loaded is not None:
                    return loaded[0].pages
        return None

    def get(self, key: str, folio: int) -> PieceResult | None:
        """The piece laid out at `folio`, or None (a stale or corrupt entry is removed)."""
        loaded = self._load(self._place(key, folio)) if self.cache is not None else None
        if loaded is None or not _pdf_is_recorded(*loaded):
            if loaded is not None:
                _remove_entry(loaded[0].pdf)
            self.misses += 1
            return None
        self.hits += 1
        return loaded[0]

    def store(self, key: str, folio: int, result: PieceResult) -> PieceResult:
        """Record a freshly laid-out piece under its folio; returns it with its final path."""
        final = self._entry_folder(key) / f"{folio}.pdf"
        if result.pdf != final:
            os.replace(result.pdf, final)
            result.pdf = final
        if self.cache is not None:
            self._save(self._place(key, folio), result)
            self._mark_used(result.faces)
        return result

    def passed(self, key: str, folio: int, result: PieceResult, profile: str) -> None:
        """Note that the piece's pages passed `profile`'s preflight in a joined book."""
        if profile not in result.passed:
            result.passed.append(profile)
            self.store(key, folio, result)

    def _place(self, key: str, folio: int) -> str:
        """Where the record of the piece at `folio` is, in the cache."""
        assert self.cache is not None
        return f"pieces/{self.cache.name(key)}/{folio}.json"

    def _entry_folder(self, key: str) -> Path:
        """The folder of a piece's entries: in the cache, else in the throwaway folder
        (also when the cache fails now: one warning, and the build goes on)."""
        if self.cache is not None:
            try:
                return self.cache.folder(f"pieces/{self.cache.name(key)}")
            except OSError as error:
                say_unusable(self.cache.root, error.strerror or str(error))
                self.cache = None
        if self.scratch is None:
            self.scratch = Path(tempfile.mkdtemp(prefix="make-book-"))
        entry = self.scratch / hashlib.sha256(key.encode()).hexdigest()
        entry.mkdir(exist_ok=True)
        return entry

    def _save(self, place: str, result: PieceResult) -> None:
        assert self.cache is not None
        size = os.lstat(result.pdf).st_size
        data = asdict(result) | {"format": FORMAT, "pdf": result.pdf.name, "size": size}
        with contextlib.suppress(OSError):  # a piece not recorded is only laid out again
            self.cache.write(place, json.dumps(data).encode())

    def _load(self, place: str) -> tuple[PieceResult, int] | None:
        """The record at `place` and its PDF's size, if sealed here and every file it
        read is unchanged; else None, and the entry is removed. (Its PDF is read only
        when the piece is taken: `get`.)"""
        assert self.cache is not None
        data = self.cache.read(place)  # marked in use: not pruned
        record = self.cache.root / place
        loaded = _parsed(data, record) if data is not None else None
        if (
            loaded is not None
            and all(self.hashes(path) == digest for path, digest in loaded[0].files.items())
            and all(map(self._face_is_whole, loaded[0].faces))
        ):
            return loaded
        _remove_entry(record)  # stale, damaged or forged (regular files only)
        return None

    def _face_is_whole(self, digest: str) -> bool:
        """Whether the faces folder holds the face `digest` whole (read once a build, and
        marked used: a face the pieces need is not pruned while they are used)."""
        if digest not in self.faces:
            named = isinstance(digest, str) and _DIGEST.fullmatch(digest) is not None
            path = self._face_path(digest)
            self.faces[digest] = named and sha256_of_regular(path, FACE_LIMIT, touch=True) == digest
        return self.faces[digest]

    def _mark_used(self, digests: list[str]) -> None:
        """Mark a fresh piece's faces used, as taking a piece from the cache does; once a
        build (a worker checks a face again once its time changed)."""
        for digest in set(digests) - self.faces_used - self.faces.keys():
            self.faces_used.add(digest)
            with contextlib.suppress(OSError):
                os.utime(self._face_path(digest), follow_symlinks=False)

    def _face_path(self, digest: str) -> Path:
        assert self.cache is not None
        return self.cache.root / FACES_PLACE / f"{digest}{FACE_SUFFIX}"

    def _prune(self, root: Path) -> None:
        cutoff = time.time() - MAX_AGE_DAYS * 86400
        for folder in entries(root / "pieces"):
            if len(folder.name) == 64 and folder.is_dir(follow_symlinks=False):
                _prune_piece(Path(folder.path), cutoff)
        _prune_faces(root / FACES_PLACE, cutoff)
        prune_remembered(root, cutoff)


def _prune_piece(folder: Path, cutoff: float) -> None:
    """Remove a piece's entries unused since `cutoff`, and what a build killed a day ago
    left; the piece's folder goes once empty. Only names of entries are looked at."""
    a_day_ago = time.time() - 86400
    for entry in entries(folder):
        path = Path(entry.path)
        if _LEFTOVER_NAME.fullmatch(entry.name) and is_old(entry, a_day_ago):
            remove_regular(path)
        elif _FILE_NAME.fullmatch(entry.name) and is_old(entry, cutoff) and _unrecorded(path):
            _remove_entry(path)
    with contextlib.suppress(OSError):
        os.rmdir(folder)  # only if empty


def _prune_faces(folder: Path, cutoff: float) -> None:
    """Remove font files and cuts unused since `cutoff` (each use marks it), and what a
    build killed a day ago left."""
    a_day_ago = time.time() - 86400
    for entry in entries(folder):
        unused = _FACE_NAME.fullmatch(entry.name) and is_old(entry, cutoff)
        if unused or (_FACE_LEFTOVER.fullmatch(entry.name) and is_old(entry, a_day_ago)):
            remove_regular(Path(entry.path))


def _parsed(data: bytes, record: Path) -> tuple[PieceResult, int] | None:
    """A record's piece and its PDF's size in bytes; None if it is not of this format."""
    try:
        fields = json.loads(data)
        if fields.pop("format") != FORMAT:
            return None
        size = int(fields.pop("size"))
        fields["pdf"] = record.with_name(str(fields["pdf"]))
        fields["starts"] = [PageStart(**s) for s in fields["starts"]]
        fields["bookmarks"] = [Bookmark(*b) for b in fields["bookmarks"]]
        return PieceResult(**fields), size
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _pdf_is_recorded(result: PieceResult, size: int) -> bool:
    """Whether the piece's PDF is the one its record names: a regular file of its size
    and sha256, reached by no link."""
    pdf = read_regular(result.pdf, size)
    return pdf is not None and hashlib.sha256(pdf).hexdigest() == result.sha256


def _unrecorded(path: Path) -> bool:
    """A record (marked in use when used), or a PDF or copy whose record is gone."""
    return path.suffix == ".json" or not os.path.lexists(path.with_suffix(".json"))


def _remove_entry(path: Path) -> None:
    """A piece's record, PDF, and its copy as the join wrote it (join/piece_copy.py)."""
    for suffix in (".json", ".pdf", COPY_SUFFIX):
        remove_regular(path.with_suffix(suffix))

"""Results kept between builds, under the hash of everything that made them.

Markdown to HTML is the slow part of loading a book, and an essay's EPUB page
the slow part of the EPUB: both are pure functions of their inputs, stored as
JSON or as the bytes themselves (never pickle: a cache folder could come with a
book from anyone). An entry that cannot be read is ignored and replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from make_book import __version__, markup
from make_book.output import replace_quickly


class ConversionMemo:
    """markdown_essay, remembered under `folder` (None: not remembered)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.new: dict[Path, markup.Converted] = {}  # written by `keep`, once the book loads

    def markdown_essay(self, text: str, language: str) -> markup.Converted:
        if self.folder is None:
            return markup.markdown_essay(text, language)
        entry = self.folder / "converted" / f"{key_of(language, text)}.json"
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            remembered = _load(json.loads(entry.read_text("utf-8")))
            os.utime(entry)  # in use: not pruned (cache.py prunes entries unused for a month)
            return remembered
        converted = self.new[entry] = markup.markdown_essay(text, language)
        return converted

    def keep(self) -> None:
        """Write the new conversions: only a book that loads (bad input changes nothing)."""
        for entry, converted in self.new.items():
            with contextlib.suppress(OSError):
                entry.parent.mkdir(parents=True, exist_ok=True)
                replace_quickly(entry, json.dumps(asdict(converted)))
        self.new.clear()


def _load(data: dict[str, object]) -> markup.Converted:
    findings = tuple(markup.Finding(**f) for f in data["findings"])  # type: ignore[attr-defined]
    return markup.Converted(
        html=str(data["html"]),
        findings=findings,
        images=tuple(data["images"]),  # type: ignore[arg-type]
        start=int(data["start"]),  # type: ignore[call-overload]
    )


class BlobMemo:
    """Bytes by key under `folder/namespace` (folder None: nothing is kept)."""

    def __init__(self, folder: Path | None, namespace: str) -> None:
        self.where = folder / namespace if folder is not None else None

    def get(self, key: str) -> bytes | None:
        if self.where is None:
            return None
        entry = self.where / key
        try:
            data = entry.read_bytes()
            os.utime(entry)  # in use: not pruned
        except OSError:
            return None
        return data

    def put(self, key: str, data: bytes) -> None:
        if self.where is None:
            return
        with contextlib.suppress(OSError):
            self.where.mkdir(parents=True, exist_ok=True)
            replace_quickly(self.where / key, data)


def key_of(*parts: object) -> str:
    """The hash of the parts' reprs (dataclasses and tuples give stable ones)."""
    digest = hashlib.sha256(__version__.encode())
    for part in parts:
        digest.update(b"\0" + repr(part).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()

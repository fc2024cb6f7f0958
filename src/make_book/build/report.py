"""The build report (`make-book build --report FILE`): what was built, as JSON for CI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pikepdf

from make_book import __version__
from make_book.build.driver import BuildRun
from make_book.build.schedule import Built
from make_book.errors import BookError
from make_book.publish.atomic import write_atomic


def write_report(run: BuildRun, target: Path) -> dict[str, Any]:
    """Write the report atomically, and return it; keys are sorted so two reports diff
    cleanly."""
    made = report(run)
    write_atomic(target, json.dumps(made, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return made


def write_failure_report(error: BookError, target: Path) -> None:
    """A failed build still reports, so CI can show why: ok false and each error line."""
    body = {
        "make_book": __version__,
        "ok": False,
        "errors": error.format_message().splitlines(),
        "warnings": getattr(error, "warnings", []),
    }
    write_atomic(target, json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def report(run: BuildRun, files: bool = True) -> dict[str, Any]:
    """Outputs (paths, sizes, sha256, pages, timings), essays with word counts, warnings.
    `files`: False leaves out each output's files (sizes, sha256, pages), which reading
    every output again costs (0.02 s for a 1,200-page book)."""
    book = run.book
    return {
        "make_book": __version__,
        "ok": True,
        "book": {
            "title": book.meta.title,
            "identifier": book.meta.identifier,
            "language": book.meta.language,
            "words": sum(e.word_count for e in book.all_texts),
        },
        "outputs": [_output(item, files) for item in run.built],
        "page_counts": run.page_counts,
        "essays": [
            {
                "slug": essay.slug,
                "title": essay.title,
                "authors": list(essay.authors),
                "source": str(essay.source_path),
                "words": essay.word_count,
            }
            for essay in book.all_texts
        ],
        "warnings": run.warnings,
        "seconds": round(run.seconds, 3),
    }


def _output(item: Built, files: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "format": item.format,
        "profile": item.profile,
        "path": str(item.path),
        "seconds": round(item.seconds, 3),
    }
    if item.note:
        entry["note"] = item.note
    if not files:
        return entry
    if item.path.is_dir():
        entry["files"] = [_file(p, item.path) for p in sorted(item.path.rglob("*")) if p.is_file()]
        entry["bytes"] = sum(f["bytes"] for f in entry["files"])
        return entry
    entry.update(_file(item.path, item.path.parent))
    return entry


def _file(path: Path, root: Path) -> dict[str, Any]:
    """A file's name under `root`, size and sha256; a PDF's pages (the offprints' too)."""
    data = path.read_bytes()
    found: dict[str, Any] = {
        "name": path.relative_to(root).as_posix(),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    if path.suffix == ".pdf":
        with pikepdf.open(path) as pdf:
            found["pages"] = len(pdf.pages)
    return found

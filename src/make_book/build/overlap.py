"""Outputs never overlap sources: a build refuses, before it writes anything, an output
folder or a report where writing would replace or delete a file the book is made from.

What a build writes: each output by name in the output folder (book.pdf, book-kdp.pdf,
cover.pdf, book.epub…), html/ swapped in whole, the --report file, and temporary entries
beside them. Temporary entries have random names that never replace a file, but the next
build deletes whatever in the output folder looks like one (publish/atomic.py,
`remove_leftovers`), so a source may not look like one either. And the output folder may
not be in templates/ or styles/: every file there is part of the book's theme.

A source is compared as the book names it, as its folder really is and as the file really
is, so that a link in the book folder cannot hide an overlap.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from make_book.errors import InputError, Problem
from make_book.model import Book
from make_book.profiles import PROFILES

# The leftover patterns live with the sweep that acts on them; only they say what it deletes.
from make_book.publish.atomic import is_leftover_name
from make_book.source.manifest_types import Manifest

THEME_FOLDERS = ("templates", "styles")  # source/assemble.py: theme_dirs
WEB_EDITION = "html"
OFFPRINTS = "offprints"  # a folder, replaced whole as the web edition is
_FOLDERS = {WEB_EDITION: "the web edition replaces", OFFPRINTS: "the offprints replace"}


@dataclass(frozen=True)
class Source:
    """A file the build reads: how it is shown, what it is, and every path that reaches it."""

    shown: str  # relative to the book folder, as the book names it
    kind: str  # "an essay", "the cover image"…
    reached_at: frozenset[Path]


def output_names(formats: Sequence[str], profiles: Sequence[str]) -> list[str]:
    """The entries the renderers write in the output folder (the PDF's and the cover's
    are named by render/pdf/renderer.py and render/cover/wrap.py, per profile)."""
    names = []
    for stem, form in (("book", "pdf"), ("cover", "cover")):
        names += [PROFILES[p].file_name(stem) for p in profiles if form in formats]
    names += ["book.epub"] if "epub" in formats else []
    return names + [folder for folder in _FOLDERS if folder in formats]


def refuse_overlaps(
    manifest: Manifest, book: Book, out_dir: Path, names: Sequence[str], report: Path | None
) -> None:
    """Raise InputError, one line per source, if writing `names` into `out_dir` or the
    report to `report` would replace or delete a source (see the module)."""
    problems = _folder_problems(manifest.root, out_dir)
    writes = _Writes(out_dir, names, report)
    for source in _sources(manifest, book):
        why = writes.would_lose(source)
        if why:
            problems.append(Problem(source.shown, source.kind + why))
    if problems:
        raise InputError(problems)


def _folder_problems(root: Path, out_dir: Path) -> list[Problem]:
    """The output folder in the theme: outputs would become theme files."""
    out = _real(out_dir)
    for name in THEME_FOLDERS:
        theme = _real(root / name)
        if out == theme or theme in out.parents:
            message = (
                f"the output folder is inside {name}/, where every file is part of the"
                " book's theme: build into a folder outside templates/ and styles/"
            )
            return [Problem(f"--out '{out_dir}'", message)]
    return []


class _Writes:
    """What a build writes: the outputs in their folder, and the report."""

    def __init__(self, out_dir: Path, names: Sequence[str], report: Path | None) -> None:
        self.written, self.report = out_dir, report  # as the command line gave them
        self.out = _real(out_dir)
        self.outputs = {self.out / name: name for name in names}

    def would_lose(self, source: Source) -> str:
        """Why writing would replace or delete the source, after its kind ("" if it would not)."""
        if self.report is not None and _reaches(source, _entry(self.report)):
            return (
                f", which the report would replace (--report '{self.report}'): write it elsewhere"
            )
        why = self.output_over(source) or self.swept(source)
        return f"{why} (--out '{self.written}'): build into another folder" if why else ""

    def output_over(self, source: Source) -> str:
        for path, name in self.outputs.items():
            if _reaches(source, path):
                if name in _FOLDERS:
                    return f" inside {name}/, which {_FOLDERS[name]} whole"
                return f" where the build writes {name}"
        return ""

    def swept(self, source: Source) -> str:
        """A source at or under an entry of the output folder named like a killed build's
        leftover: each build deletes those."""
        for path in source.reached_at:
            if path == self.out or not _at_or_under(path, self.out):
                continue
            parts = path.relative_to(self.out).parts
            if is_leftover_name(parts[0]):
                where = f" named '{parts[0]}'" if len(parts) == 1 else f" inside '{parts[0]}/'"
                return f"{where}, which the build deletes as a killed build's leftover"
        return ""


def _reaches(source: Source, output: Path) -> bool:
    """Whether writing `output` (a file, or a folder swapped whole) replaces the source."""
    return any(_at_or_under(path, output) for path in source.reached_at)


def _at_or_under(path: Path, folder: Path) -> bool:
    """`path == folder or folder in path.parents`, for absolute paths, as pathlib compares
    them (case-folded where names are, on Windows), without making a Path per parent: a
    book's hundreds of sources against each output took a hundredth of a second."""
    inside, outer = os.path.normcase(path), os.path.normcase(folder)
    return inside == outer or inside.startswith(outer.rstrip(os.sep) + os.sep)


def _sources(manifest: Manifest, book: Book) -> Iterator[Source]:
    """Every file the book is made from: book.yaml, the essays, their images, the cover
    and the theme's own files."""
    root, found = manifest.root, _Resolved()
    yield found.source(root, manifest.path, "the book's manifest")
    for essay in book.all_texts:
        yield found.source(root, essay.source_path, "an essay")
        for image in essay.images:
            yield found.source(root, root / image, "an image")
    if book.meta.cover is not None:
        yield found.source(root, book.meta.cover, "the cover image")
    for folder in book.theme_dirs:
        for path in sorted(folder.rglob("*")):
            if not path.is_dir():
                yield found.source(root, path, "a theme file")


class _Resolved:
    """Paths resolved as `os.path.realpath` does, each folder once: a book's 300 essays
    share a few folders, and resolving each path whole took 0.027 s of an edit."""

    def __init__(self) -> None:
        self.folders: dict[str, Path] = {}

    def source(self, root: Path, path: Path, kind: str) -> Source:
        named = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
        entry = self.entry(path)
        reached = {self.folder(root) / named, entry, self.real(path, entry)}
        return Source(Path(named).as_posix(), kind, frozenset(reached))

    def folder(self, path: Path) -> Path:
        key = str(path)
        if key not in self.folders:
            self.folders[key] = _real(path)
        return self.folders[key]

    def entry(self, path: Path) -> Path:
        """As `_entry`: its folder resolved, the name itself not."""
        return self.folder(path.parent) / path.name

    @staticmethod
    def real(path: Path, entry: Path) -> Path:
        """As `_real`: the entry itself, unless it is a link (or a name realpath reads).
        Not on Windows, whose realpath also spells a name as the disk has it (its case,
        its long form), which `swept` compares with leftovers' names."""
        if os.name == "nt" or path.name in ("", ".", "..") or os.path.islink(entry):
            return _real(path)
        return entry


def _entry(path: Path) -> Path:
    """Where a name is in the file system: its folder resolved, the name itself not (a
    rename replaces a link, not what it points to)."""
    return _real(path.parent) / path.name


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))

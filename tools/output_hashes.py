"""Print the sha256 of every output of the sample book, the fixture books and Montaigne.

Run before and after a restructuring: the two listings must be the same
(`python tools/output_hashes.py > before.txt`, then diff). Every format and every
print profile is built, with no cache, into a temporary folder. A commit that changes
outputs on purpose bumps `OUTPUTS` in src/make_book/build/uptodate.py, so that a book
built before is not taken as up to date.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = ("all", "screen,kdp,ingram,archive")
# name -> (book.yaml, formats, profiles): each book whole, and the sample's outputs made
# alone, which the build schedules otherwise (an EPUB or a cover without its PDF).
BOOKS = {
    "sample": (ROOT / "book.yaml", *EVERYTHING),
    "mixed": (ROOT / "tests/books/mixed/book.yaml", *EVERYTHING),
    "titles": (ROOT / "tests/books/titles/book.yaml", *EVERYTHING),
    "montaigne": (ROOT / "examples/montaigne/book.yaml", *EVERYTHING),
    "sample-epub-alone": (ROOT / "book.yaml", "epub", "screen"),
    "sample-kdp-cover-alone": (ROOT / "book.yaml", "cover", "kdp"),
    "montaigne-epub-kdp": (ROOT / "examples/montaigne/book.yaml", "epub,pdf", "kdp"),
}


def build(manifest: Path, formats: str, profiles: str, out: Path) -> None:
    command = [sys.executable, "-m", "make_book", "build", str(manifest), "--out", str(out)]
    command += ["--format", formats, "--profile", profiles, "--no-cache"]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> None:
    names = sys.argv[1:] or list(BOOKS)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = Path(tmp) / name
            build(*BOOKS[name], out)
            for path in sorted(p for p in out.rglob("*") if p.is_file()):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                print(f"{digest}  {name}/{path.relative_to(out)}", flush=True)


if __name__ == "__main__":
    main()

"""`make-book new`: a small working book to start from."""

from __future__ import annotations

import shutil
from pathlib import Path

STARTER = Path(__file__).parent / "starter"


def scaffold(folder: Path) -> None:
    """Copy the starter book (book.yaml, chapters/, styles/) into `folder`."""
    shutil.copytree(STARTER, folder, dirs_exist_ok=True)
    (folder / ".gitignore").write_text("/dist/\n/.make-book-cache/\n", encoding="utf-8")

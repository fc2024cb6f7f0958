"""What every renderer is given and must provide."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from make_book.manifest_types import Manifest
from make_book.model import Book


@dataclass(frozen=True)
class RenderContext:
    """Where to write, and the manifest the book came from."""

    manifest: Manifest
    out_dir: Path


class Renderer:
    """One output format. Renderers never change the Book."""

    name: str = ""
    suffix: str = ""

    def render(self, book: Book, ctx: RenderContext) -> Path:
        """Write this format's output under ctx.out_dir and return its path."""
        raise NotImplementedError

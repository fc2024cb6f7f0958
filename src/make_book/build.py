"""The build driver: manifest -> Book -> each selected renderer."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from make_book.assemble import assemble
from make_book.errors import BookError, RenderError
from make_book.manifest import load_manifest
from make_book.manifest_types import Manifest
from make_book.model import Book
from make_book.render.base import RenderContext, Renderer
from make_book.render.epub import EpubRenderer
from make_book.render.pdf import PdfRenderer
from make_book.render.web import WebRenderer
from make_book.render.wrap import WrapCoverRenderer

# In build order: the PDF first, since the cover and the EPUB's page-list use its pages.
RENDERERS: dict[str, type[Renderer]] = {
    "pdf": PdfRenderer,
    "cover": WrapCoverRenderer,
    "epub": EpubRenderer,
    "html": WebRenderer,
}
PER_PROFILE = ("pdf", "cover")
log = logging.getLogger("make_book")


@dataclass(frozen=True)
class Built:
    """One output that was written, and how long it took."""

    format: str
    path: Path
    seconds: float
    profile: str = ""
    note: str = ""  # e.g. the cover's dimensions


def load(manifest_path: Path) -> tuple[Manifest, Book]:
    """Validate the manifest and read every essay; render nothing."""
    manifest = load_manifest(manifest_path)
    return manifest, assemble(manifest)


def build(
    manifest_path: Path,
    out_dir: Path,
    formats: Sequence[str],
    profiles: Sequence[str] = (),
) -> list[Built]:
    """Build the selected formats; a renderer's crash becomes a RenderError naming it.

    The PDF and the cover are made once per print profile (default: the
    manifest's); the EPUB's page-list follows the first profile's pages.
    """
    manifest, book = load(manifest_path)
    contexts = [
        RenderContext(manifest=manifest, out_dir=out_dir, profile_name=name)
        for name in (profiles or [manifest.pdf.profile])
    ]
    built: list[Built] = []
    for ctx in contexts:
        built += [_render(name, book, ctx) for name in formats if name in PER_PROFILE]
    built += [_render(name, book, contexts[0]) for name in formats if name not in PER_PROFILE]
    return built


def _render(name: str, book: Book, ctx: RenderContext) -> Built:
    started = time.perf_counter()
    try:
        path = RENDERERS[name]().render(book, ctx)
    except BookError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as one line, traceback with --verbose
        log.debug("renderer %s failed", name, exc_info=True)
        raise RenderError(f"{name}: {type(exc).__name__}: {exc}") from exc
    seconds = time.perf_counter() - started
    return Built(name, path, seconds, ctx.profile.name, ctx.facts.notes.get(name, ""))

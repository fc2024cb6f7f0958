"""Draw the pictures of docs/themes.md: the sample book in each packaged theme.

For every theme, the sample book is built (PDF and wrap cover) in a temporary
folder with `theme:` set, and its title page, contents, first essay's opening and
front cover are drawn as small PNGs:
docs/images/themes/<theme>-{title,contents,opening,cover}.png.
Run it after changing a theme: `python tools/theme_pictures.py` (or name themes).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
from PIL import Image

from make_book.model import Part
from make_book.source.assemble import assemble
from make_book.source.manifest import load_manifest
from make_book.theme import packaged_themes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images" / "themes"
PAGE_DPI = 72  # a 6 x 9 in page: 432 x 648 pixels, legible headings, small files
COVER_DPI = 40  # the wrap's front panel only: the same height as a page, about


def build(theme: str, folder: Path) -> Path:
    """The sample book copied into `folder` with `theme:` set, built there; its book.yaml."""
    shutil.copytree(ROOT / "chapters", folder / "chapters")
    shutil.copy2(ROOT / "book.yaml", folder / "book.yaml")
    manifest = folder / "book.yaml"
    manifest.write_text(manifest.read_text("utf-8") + f"\ntheme: {theme}\n", "utf-8")
    command = [sys.executable, "-m", "make_book", "build", str(manifest), "--quiet"]
    subprocess.run([*command, "--format", "pdf,cover", "--out", str(folder / "dist")], check=True)
    return manifest


def first_essay_slug(manifest: Path) -> str:
    """The id of the main matter's first essay: where its opening page is."""
    first = assemble(load_manifest(manifest)).contents[0]
    return first.all_essays[0].slug if isinstance(first, Part) else first.slug


def destination_pages(pdf_path: Path) -> dict[str, int]:
    """The PDF's named destinations (the ids of the book's sections), as 0-based pages."""
    with pikepdf.open(pdf_path) as pdf:
        numbers = {page.objgen: index for index, page in enumerate(pdf.pages)}
        found = {}
        for name, target in pikepdf.NameTree(pdf.Root.Names.Dests).items():
            array = target if isinstance(target, pikepdf.Array) else target.D
            found[name] = numbers[array[0].objgen]
        return found


def draw(pdf_path: Path, page: int, dpi: int) -> Image.Image:
    document = pdfium.PdfDocument(pdf_path)
    try:
        image: Image.Image = document[page].render(scale=dpi / 72).to_pil()
        return image.convert("RGB")
    finally:
        document.close()


def front_panel(cover: Image.Image) -> Image.Image:
    """The right half of the wrap: the front, with a sliver of spine (bleed included)."""
    return cover.crop((cover.width // 2, 0, cover.width, cover.height))


def pictures(theme: str) -> list[Path]:
    """Build the sample in `theme` and write its pictures; the files written."""
    with tempfile.TemporaryDirectory() as scratch:
        manifest = build(theme, Path(scratch))
        dist = manifest.parent / "dist"
        pages = destination_pages(dist / "book.pdf")
        wanted = {
            "title": pages["title-page"],
            "contents": pages["contents"],
            "opening": pages[first_essay_slug(manifest)],
        }
        images = {kind: draw(dist / "book.pdf", page, PAGE_DPI) for kind, page in wanted.items()}
        images["cover"] = front_panel(draw(dist / "cover.pdf", 0, COVER_DPI))
        written = []
        for kind, image in images.items():
            target = OUT / f"{theme}-{kind}.png"
            image.save(target, optimize=True)
            written.append(target)
        return written


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for theme in sys.argv[1:] or packaged_themes():
        for path in pictures(theme):
            print(path.relative_to(ROOT), flush=True)


if __name__ == "__main__":
    main()

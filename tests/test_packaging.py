"""The wheel carries everything make-book reads at run time: theme, fonts, starter book."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from helpers import REPO
from make_book import __version__
from make_book.theme import packaged_dirs

REQUIRED = [
    "make_book/py.typed",
    "make_book/themes/default/templates/print.html",
    "make_book/themes/default/templates/pages.html",
    "make_book/themes/default/templates/colophon.html",
    "make_book/themes/default/templates/epub/nav.xhtml",
    "make_book/themes/default/templates/epub/page.xhtml",
    "make_book/themes/default/templates/epub/cover.xhtml",
    "make_book/themes/default/templates/web/index.html",
    "make_book/themes/default/templates/web/page.html",
    "make_book/themes/default/styles/print.css",
    "make_book/themes/default/styles/epub.css",
    "make_book/themes/default/styles/web.css",
    "make_book/themes/default/fonts/LICENSE-Libertine.txt",
    "make_book/starter/book.yaml",
    "make_book/starter/chapters/01-first-essay.md",
    "make_book/render/weasy/patches/ffi_declarations.txt",  # WeasyPrint's C types, parsed
]


def _index_options() -> list[str]:
    """pip's configured local (file://) indexes, so the build needs no network."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    local = re.findall(r"file://\S+?(?=['\s])", listed)
    if not local:
        return []
    return [
        "--index-url",
        local[0],
        *[arg for url in local[1:] for arg in ("--extra-index-url", url)],
    ]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """A wheel built from a copy of the source tree (the repository is not written to)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("*.egg-info", "__pycache__", "*.pyc")
    shutil.copytree(REPO / "src", source / "src", ignore=ignore)
    out = work / "dist"
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-input",
               "--quiet", "-w", str(out), *_index_options()]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}\n{done.stderr}"
    (path,) = out.glob("make_book-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_holds_the_theme_and_starter(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    missing = [name for name in REQUIRED if name not in names]
    assert missing == []


def test_wheel_holds_every_packaged_font(wheel: zipfile.ZipFile) -> None:
    fonts = sorted(n for n in wheel.namelist() if n.startswith("make_book/themes/default/fonts/"))
    expected = sorted(
        f"make_book/themes/default/fonts/{p.name}" for p in packaged_dirs()[2].iterdir()
    )
    assert fonts == expected
    assert len([n for n in fonts if n.endswith(".otf")]) == 4
    for name in fonts:
        data = wheel.read(name)
        assert data == (packaged_dirs()[2] / name.rsplit("/", 1)[1]).read_bytes()
        if name.endswith(".otf"):
            assert data[:4] == b"OTTO"


def test_wheel_holds_every_theme_and_starter_file(wheel: zipfile.ZipFile) -> None:
    package = REPO / "src" / "make_book"
    for folder in ("themes", "starter"):
        for path in (package / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                name = "make_book/" + path.relative_to(package).as_posix()
                assert name in wheel.namelist(), name


def test_wheel_metadata(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "make-book = make_book.cli:run" in wheel.read(entry_points).decode()
    assert not [n for n in wheel.namelist() if n.startswith(("tests/", "examples/"))]
    # The version is declared once, in the package; the wheel's metadata reads it there.
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    assert f"\nVersion: {__version__}\n" in wheel.read(metadata).decode()


def test_wheel_holds_every_module(wheel: zipfile.ZipFile) -> None:
    """Every package of the tree is in the wheel: one named `build` included, a name
    that packaging tools often take for a folder of build output."""
    package = REPO / "src" / "make_book"
    modules = {
        "make_book/" + path.relative_to(package).as_posix() for path in package.rglob("*.py")
    }
    assert modules and modules <= set(wheel.namelist()), sorted(modules - set(wheel.namelist()))

"""The package keeps its layers: light imports, the import-linter contracts, docstrings.

The contracts themselves are in pyproject.toml (`[tool.importlinter]`); see
docs/architecture.md for the layers they describe.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, python_says

PACKAGE = REPO / "src" / "make_book"
HEAVY = ("weasyprint", "ebooklib")


def _loaded(modules: list[str], unwanted: tuple[str, ...], folder: Path) -> list[str]:
    """Which of `unwanted` a fresh interpreter has loaded once it imports `modules`."""
    code = "import sys\n" + "".join(f"import {module}\n" for module in modules)
    code += f"print(' '.join(name for name in {unwanted!r} if name in sys.modules))\n"
    returncode, stdout, stderr = python_says(code, cwd=folder)
    assert returncode == 0, stderr
    return stdout.split()


@pytest.mark.parametrize("module", ["make_book.build.driver", "make_book.cli"])
def test_importing_loads_no_weasyprint_or_ebooklib(module: str, tmp_path: Path) -> None:
    """The build's own process imports WeasyPrint and ebooklib only when it uses them."""
    assert _loaded([module], HEAVY, tmp_path) == []


def test_the_build_imports_the_join_and_the_preflight_once_it_has_a_piece(
    tmp_path: Path,
) -> None:
    """pikepdf, the join and the preflight (30 to 40 ms) are imported when the first piece
    comes (print_layout.py's _Joining), or in the layout's first wait (the PDF renderer's
    later_imports), not before the build sends an edit's piece."""
    from make_book.render.pdf.renderer import PdfRenderer

    assert _loaded(["make_book.build.driver"], ("pikepdf",), tmp_path) == []
    wanted = {"make_book.render.pdf.join.book_join", "make_book.render.pdf.preflight_gate"}
    assert wanted <= set(PdfRenderer.later_imports)


# What a layout worker has no use for: 6 MB each (jinja2 and yaml came in through the
# theme package once, by an import of the piece cache's).
# click: a worker's errors are make-book's own, said by the command line (errors.py).
WORKER_LEAVES_OUT = ("jinja2", "yaml", "pikepdf", "ebooklib", "markdown_it", "nh3", "click")
# And what neither a worker nor the command line needs to start (50 ms: email's parsers).
SLOW_TO_IMPORT = ("importlib.metadata",)


def test_a_layout_worker_imports_none_of_the_build_s_libraries(tmp_path: Path) -> None:
    layout = ["make_book.render.pdf.layout.worker", "make_book.render.pdf.layout.piece_layout"]
    assert _loaded(layout, WORKER_LEAVES_OUT + SLOW_TO_IMPORT, tmp_path) == []


def test_the_command_line_starts_without_reading_installed_metadata(tmp_path: Path) -> None:
    assert _loaded(["make_book.cli"], SLOW_TO_IMPORT, tmp_path) == []


def _lint_imports() -> list[str]:
    """The lint-imports script of this interpreter's environment, or the same by -c."""
    script = Path(sys.executable).with_name("lint-imports")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"]


def test_import_contracts_are_kept() -> None:
    """Every contract of pyproject.toml's [tool.importlinter] holds (nothing cached)."""
    done = subprocess.run(
        [*_lint_imports(), "--no-cache", "--no-logo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _python_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_package_has_an_init_with_a_docstring() -> None:
    folders = {path.parent for path in _python_files()}
    missing = sorted(
        str(f.relative_to(PACKAGE)) for f in folders if not (f / "__init__.py").exists()
    )
    assert missing == [], f"folders of modules without __init__.py: {missing}"
    bare = sorted(
        str(f.relative_to(PACKAGE))
        for f in folders
        if not ast.get_docstring(ast.parse((f / "__init__.py").read_text(encoding="utf-8")))
    )
    assert bare == [], f"packages whose __init__.py has no docstring: {bare}"


def test_every_module_has_a_docstring() -> None:
    bare = [
        str(path.relative_to(PACKAGE))
        for path in _python_files()
        if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert bare == [], f"modules without a module docstring: {bare}"

"""An edit rebuild does the work of what changed: what an earlier build checked or made
from unchanged inputs is taken from the cache, and the outputs are the bytes a fresh
build gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from helpers import BookCopy
from make_book.cli import main
from make_book.preflight import checks

PDF = ["--format", "pdf"]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def drawing_checks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The PDFs the preflight reads for their drawing only (a piece, while laid out)."""
    checked: list[Path] = []
    real = checks.preflight

    def counting(path: Path, *args: object, **kwargs: object) -> list[checks.Finding]:
        if kwargs.get("drawing_only"):
            checked.append(path)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("make_book.render.pdf.preflight_gate.preflight", counting)
    return checked


def test_a_piece_that_passed_its_drawing_check_is_not_checked_again(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("montaigne")
    checked = drawing_checks(monkeypatch)
    first = run("build", manifest, *PDF, "--jobs", "1")
    assert first.exit_code == 0, first.output
    pieces = len(checked)
    assert pieces > 5  # the front matter, the opener, parts and batches of essays

    checked.clear()
    (manifest.parent / "dist" / "book.pdf").unlink()  # not up to date: built again
    again = run("build", manifest, *PDF, "--jobs", "1")
    assert again.exit_code == 0, again.output
    assert checked == []  # every piece's pass was kept with it in the cache

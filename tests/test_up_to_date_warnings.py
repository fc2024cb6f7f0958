"""A build with nothing changed since the last one, when that one warned: its warnings
said again, word for word, then `(up to date)`; under --strict, the failure it would be.

Each build is the web edition of the small `titles` book, which warns seven times (its
essays have no authors); the sample book is the clean one.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from helpers import BookCopy
from make_book.build import driver, uptodate
from make_book.cli import main
from make_book.model import Book

STRICT_FAILED = "error: --strict: 7 warnings (listed above); nothing was written"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def html_build(manifest: Path, *more: str | Path) -> list[str | Path]:
    return ["build", manifest, "--format", "html", *more]


def warnings_of(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def mtimes(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in [folder, *folder.rglob("*")]}


def _boom(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("built, though nothing changed")


@pytest.fixture
def built_once(book_copy: BookCopy) -> tuple[Path, Result]:
    """The `titles` book's web edition, built once: its book.yaml, and what it said."""
    manifest = book_copy("titles")
    first = run(*html_build(manifest))
    assert first.exit_code == 0, first.output
    assert len(warnings_of(first)) == 7
    return manifest, first


def test_the_warnings_are_said_again_word_for_word(
    built_once: tuple[Path, Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, first = built_once
    dist = manifest.parent / "dist"
    before = mtimes(dist)
    monkeypatch.setattr(driver, "run_build", _boom)
    again = run(*html_build(manifest))
    assert again.exit_code == 0, again.output
    assert again.stderr == first.stderr  # every line, in order, and nothing else
    assert again.stdout == f"html  {dist / 'html'}  (up to date)\n"
    assert mtimes(dist) == before


def test_quiet_hides_the_warnings_said_again(
    built_once: tuple[Path, Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, _ = built_once
    monkeypatch.setattr(driver, "run_build", _boom)
    again = run(*html_build(manifest, "-q"))
    assert again.exit_code == 0, again.output
    assert again.stdout == again.stderr == ""


def test_strict_fails_on_the_warnings_without_building(
    built_once: tuple[Path, Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest, first = built_once
    dist = manifest.parent / "dist"
    before = mtimes(dist)
    monkeypatch.setattr(driver, "run_build", _boom)
    strict = run(*html_build(manifest, "--strict"))
    assert strict.exit_code == 2, strict.output
    assert warnings_of(strict) == warnings_of(first)
    assert strict.stderr.splitlines()[-1] == STRICT_FAILED
    assert strict.stdout == ""
    assert mtimes(dist) == before
    quiet = run(*html_build(manifest, "--strict", "-q"))  # counted, not said
    assert (quiet.exit_code, quiet.stderr) == (2, STRICT_FAILED + "\n")
    again = run(*html_build(manifest))  # the record is still there
    assert again.exit_code == 0, again.output
    assert "(up to date)" in again.stdout


def test_an_edited_essay_builds_again_and_warns_afresh(built_once: tuple[Path, Result]) -> None:
    manifest, first = built_once
    essay = manifest.parent / "chapters" / "nested.md"
    essay.write_text("---\nauthor: Nell Nested\n---\n" + essay.read_text("utf-8"), "utf-8")
    again = run(*html_build(manifest))
    assert again.exit_code == 0, again.output
    assert "(up to date)" not in again.stdout
    said = [w for w in warnings_of(first) if "chapters/nested.md" not in w]
    assert warnings_of(again) == said and len(said) == 6
    third = run(*html_build(manifest))
    assert "(up to date)" in third.stdout
    assert warnings_of(third) == said


def test_outputs_of_an_older_revision_are_not_up_to_date(
    built_once: tuple[Path, Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A make-book whose outputs changed (same version, `OUTPUTS` bumped) builds again."""
    manifest, _ = built_once
    monkeypatch.setattr(uptodate, "OUTPUTS", uptodate.OUTPUTS + 1)
    again = run(*html_build(manifest))
    assert again.exit_code == 0, again.output
    assert "(up to date)" not in again.stdout
    assert "(up to date)" in run(*html_build(manifest)).stdout


def test_the_report_of_a_build_found_up_to_date_lists_the_warnings(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("titles")
    report_path = manifest.parent / "report.json"  # beside book.yaml: not an input
    first = run(*html_build(manifest, "--report", report_path))
    assert first.exit_code == 0, first.output
    written = report_path.read_text("utf-8")
    assert json.loads(written)["warnings"] == [w[len("warning: ") :] for w in warnings_of(first)]
    report_path.unlink()
    monkeypatch.setattr(driver, "run_build", _boom)
    again = run(*html_build(manifest, "--report", report_path))
    assert again.exit_code == 0, again.output
    assert "(up to date)" in again.stdout
    assert report_path.read_text("utf-8") == written
    strict = run(*html_build(manifest, "--report", report_path, "--strict"))
    assert strict.exit_code == 2, strict.output
    failed = json.loads(report_path.read_text("utf-8"))
    assert failed["ok"] is False
    assert failed["errors"] == [STRICT_FAILED[len("error: ") :]]
    assert failed["warnings"] == json.loads(written)["warnings"]


def test_a_warning_about_the_machine_is_not_said_again(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("titles")
    lint = driver.lint

    def lint_and_a_machine_warning(book: Book) -> None:
        logging.getLogger("make_book").warning("a machine's", extra={"strict": False})
        lint(book)

    with monkeypatch.context() as patch:
        patch.setattr(driver, "lint", lint_and_a_machine_warning)
        first = run(*html_build(manifest))
    assert first.exit_code == 0, first.output
    assert warnings_of(first)[0] == "warning: a machine's"
    again = run(*html_build(manifest))
    assert "(up to date)" in again.stdout
    assert warnings_of(again) == warnings_of(first)[1:]


def test_a_clean_build_is_up_to_date_with_or_without_strict(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("sample")
    first = run(*html_build(manifest))
    assert first.exit_code == 0, first.output
    assert first.stderr == ""
    monkeypatch.setattr(driver, "run_build", _boom)
    for more in [(), ("--strict",)]:
        again = run(*html_build(manifest, *more))
        assert again.exit_code == 0, again.output
        assert again.stderr == ""
        assert again.stdout.endswith("  (up to date)\n")

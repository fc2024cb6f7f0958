"""The `make-book` command line: build, check, new; exit codes and messages."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from helpers import BookCopy, assert_epubcheck_clean, epubcheck, python_says
from make_book.cli import main
from make_book.render.pdf import renderer as pdf_renderer


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def error_lines(result: Result) -> list[str]:
    return result.stderr.splitlines()


def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_version_in_a_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "make_book", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"make-book, version {version('make-book')}\n"


@pytest.mark.parametrize(("args", "code"), [(["--version"], 0), (["build", "missing.yaml"], 2)])
def test_the_command_leaves_with_its_objects_frozen_and_its_exit_code(
    args: list[str], code: int, tmp_path: Path
) -> None:
    """`make-book` (`cli.run`) freezes what the command made as it leaves, so that the
    interpreter's last collection does not walk it; the exit code is the command's."""
    program = (
        "import atexit, gc, sys; "
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0)); "
        f"sys.argv = ['make-book', *{args!r}]; "
        "from make_book.cli import run; run()"
    )
    returncode, stdout, stderr = python_says(program, timeout=60, cwd=tmp_path)
    assert returncode == code, stderr
    assert stdout.endswith("frozen True\n")


def test_a_build_in_a_log_imports_no_progress_bar(book_copy: BookCopy) -> None:
    """rich draws the progress bar on a terminal; a build whose output goes to a log (CI,
    the benchmark) shows plain lines and does not import it (0.03 s before an edit's
    one piece can go to its worker). On a terminal the bar starts with the first piece
    counted, not before."""
    manifest = book_copy("sample")
    program = (
        "import atexit, sys; "
        "atexit.register(lambda: print('rich', 'rich' in sys.modules)); "
        f"sys.argv = ['make-book', 'build', {str(manifest)!r}, '--format', 'pdf']; "
        "from make_book.cli import run; run()"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("rich False\n")
    bar = (
        "import sys\n"
        "from make_book.progress import SHOW_FROM_PIECES, BarProgress\n"
        "progress = BarProgress()\n"
        "progress.start(SHOW_FROM_PIECES)\n"
        "print('rich' in sys.modules, end=' ')\n"
        "progress.advance(3)\n"
        "print('rich' in sys.modules, progress.bar is not None, end=' ')\n"
        "progress.finish()\n"
        "print(progress.bar is None)\n"
    )
    done = subprocess.run([sys.executable, "-c", bar], capture_output=True, text=True, timeout=60)
    assert done.stdout == "False True True True\n", done.stderr


def test_a_command_loads_no_other_commands_module() -> None:
    """Each command's module is imported when the command is asked for: `build` starts its
    layout worker without first importing `serve`, `check` or `new`; its options are
    still named in the environment (MAKE_BOOK_BUILD_FORMAT)."""
    program = (
        "import atexit, sys; "
        "atexit.register(lambda: print(sorted(m for m in sys.modules "
        "if m.startswith('make_book.cli.')))); "
        "sys.argv = ['make-book', 'build', '--help']; "
        "from make_book.cli import run; run()"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.splitlines()[-1]
    assert "'make_book.cli.build'" in loaded
    others = ("check", "clean", "create", "schema", "serve", "themes")
    assert not any(f"'make_book.cli.{name}'" in loaded for name in others), loaded
    from make_book.cli import main

    build = main.get_command(click.Context(main), "build")
    assert build is not None
    formats = next(p for p in build.params if p.name == "formats")
    assert formats.envvar == "MAKE_BOOK_BUILD_FORMAT"


def test_a_build_leaves_no_copies_of_its_fonts_behind(book_copy: BookCopy, tmp_path: Path) -> None:
    """WeasyPrint copies the book's @font-face files into a temporary folder for
    Fontconfig; the command removes it as it leaves (render/weasy/session.py), though
    it freezes its objects (`cli.run`). Laid out in the command's own process here."""
    manifest = book_copy("sample")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "make_book", "build", str(manifest), "-q", "--no-cache"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    assert done.returncode == 0, done.stderr
    assert (manifest.parent / "dist" / "book.pdf").exists()
    assert list(temporary.iterdir()) == []


def test_help_mentions_exit_codes() -> None:
    for args in ([], ["build"], ["check"], ["new"]):
        result = run(*args, "--help")
        assert result.exit_code == 0
        assert "Exit codes:" in result.stdout
        assert "0  the book was built (or checked) without errors" in result.stdout
        assert "1  a build step failed on valid input" in result.stdout
        assert "2  bad input: manifest, essay or command-line usage" in result.stdout


def test_build_prints_every_output(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    dist = manifest.parent / "dist"
    result = run("build", manifest)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["pdf", "cover", "epub", "html"]
    for line, path in zip(
        lines,
        [dist / "book.pdf", dist / "cover.pdf", dist / "book.epub", dist / "html"],
        strict=True,
    ):
        assert line.split()[1] == str(path)
        assert re.search(r"  \(\d+\.\d s\)", line)
        assert path.exists()
    # The cover's size: 27 pages are bound as 28.
    assert lines[1].endswith("in (spine 0.063 in, 28 pages, white paper)")
    assert (dist / "book.pdf").read_bytes().startswith(b"%PDF-")
    # Only warnings (this fixture's essays have no authors), never an error.
    assert all(line.startswith("warning: ") for line in result.stderr.splitlines())


def test_build_format_epub_builds_only_the_epub(book_copy: BookCopy, tmp_path: Path) -> None:
    manifest = book_copy("titles")
    out = tmp_path / "elsewhere"
    result = run("build", manifest, "--format", "epub", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["book.epub"]
    assert not (manifest.parent / "dist").exists()
    assert result.stdout.startswith(f"epub  {out / 'book.epub'}  (")


def test_build_several_formats(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    result = run("build", manifest, "--format", "html, EPUB")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (manifest.parent / "dist").iterdir()) == ["book.epub", "html"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("docx", "unknown format docx; use pdf, cover, epub, html, all"),
        ("pdf,mobi", "unknown format mobi; use pdf, cover, epub, html, all"),
        ("", "unknown format (none); use pdf, cover, epub, html, all"),
    ],
)
def test_unknown_format_exits_2(book_copy: BookCopy, value: str, message: str) -> None:
    manifest = book_copy("titles")
    result = run("build", manifest, "--format", value)
    assert result.exit_code == 2
    assert f"Error: Invalid value for '--format': {message}" in result.stderr
    assert not (manifest.parent / "dist").exists()


def test_missing_book_yaml_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for command in ("build", "check"):
        result = run(command)
        assert result.exit_code == 2
        assert error_lines(result) == ["error: book.yaml: no such file"]
        assert_no_traceback(result)


def test_manifest_problems_are_all_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "book.yaml").write_text(
        "title: Two Problems\nlangauge: en\ncontents:\n  - chapters/missing.md\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    result = run("build")
    assert result.exit_code == 2
    assert error_lines(result) == [
        "error: book.yaml:2:1: langauge: unknown key (did you mean 'language'?)",
        "error: book.yaml:4:5: contents[0]: no such file 'chapters/missing.md'",
    ]
    assert result.stdout == ""
    assert_no_traceback(result)
    assert not (tmp_path / "dist").exists()


def test_essay_errors_exit_2_naming_the_files(book_copy: BookCopy) -> None:
    manifest = book_copy("broken")
    result = run("build", manifest)
    assert result.exit_code == 2
    lines = error_lines(result)
    assert lines[0] == "error: chapters/latin1.txt:2:11: not UTF-8 text: byte 0xe9 at offset 14"
    assert [line.split(":")[1].strip() for line in lines] == [
        "chapters/latin1.txt", "chapters/typo.md", "chapters/bad-yaml.md",
        "chapters/untitled.md", "chapters/empty.md", "chapters/remote.md",
        "chapters/escape.md", "chapters/missing-image.md",
    ]  # fmt: skip
    assert_no_traceback(result)
    assert not (manifest.parent / "dist").exists()


def test_check_validates_and_renders_nothing(book_copy: BookCopy) -> None:
    manifest = book_copy("mixed")
    result = run("check", manifest)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 7 texts, ")
    assert result.stdout.endswith(" words\n")
    assert not (manifest.parent / "dist").exists()
    assert sorted(p.name for p in manifest.parent.iterdir()) == ["book.yaml", "chapters", "images"]


def test_check_reports_essay_errors(book_copy: BookCopy) -> None:
    result = run("check", book_copy("broken"))
    assert result.exit_code == 2
    assert len(error_lines(result)) == 8


def test_new_creates_a_book_that_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("new", "anthology")
    assert result.exit_code == 0, result.output
    assert result.stdout == "created anthology/: now `cd anthology && make-book build`\n"
    folder = tmp_path / "anthology"
    assert (folder / "book.yaml").is_file()
    assert (folder / ".gitignore").read_text(encoding="utf-8").startswith("/dist/")
    assert sorted(p.name for p in (folder / "chapters").iterdir()) == [
        "01-first-essay.md", "02-second-essay.txt", "foreword.md"
    ]  # fmt: skip
    assert run("check", "anthology/book.yaml").exit_code == 0
    monkeypatch.chdir(folder)
    built = run("build")
    assert built.exit_code == 0, built.output
    for name in ("book.pdf", "book.epub", "html/index.html"):
        assert (folder / "dist" / name).is_file(), name
    assert_epubcheck_clean(epubcheck(folder / "dist" / "book.epub"))


def test_new_into_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("new", tmp_path / "empty")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "empty" / "book.yaml").is_file()


def test_new_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "book.yaml").write_text("title: Mine\n", encoding="utf-8")
    result = run("new", folder)
    assert result.exit_code == 2
    assert error_lines(result) == [f"error: {folder}: folder exists and is not empty"]
    assert sorted(p.name for p in folder.iterdir()) == ["book.yaml"]
    assert (folder / "book.yaml").read_text(encoding="utf-8") == "title: Mine\n"
    assert_no_traceback(result)


def test_failed_build_leaves_the_previous_pdf(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    dist = manifest.parent / "dist"
    first = run("build", manifest, "--format", "pdf")
    assert first.exit_code == 0, first.output
    before = (dist / "book.pdf").read_bytes()
    (manifest.parent / "chapters" / "nested.md").write_bytes(b"# Nested\n\n\xff\n")
    again = run("build", manifest, "--format", "pdf")
    assert again.exit_code == 2
    assert error_lines(again) == [
        "error: chapters/nested.md:3:1: not UTF-8 text: byte 0xff at offset 10"
    ]
    assert (dist / "book.pdf").read_bytes() == before
    assert sorted(p.name for p in dist.iterdir()) == ["book.pdf"]
    assert not list(dist.rglob("*.part"))


def _boom(*_args: object) -> None:
    raise ValueError("boom")


def test_renderer_failure_exits_1_and_keeps_the_previous_outputs(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("titles")
    dist = manifest.parent / "dist"
    assert run("build", manifest, "--format", "pdf,epub").exit_code == 0
    before = {p.name: p.read_bytes() for p in dist.iterdir()}
    # A fault of make-book's own while the PDF is finished: not the input's.
    monkeypatch.setattr(pdf_renderer, "place", _boom)
    result = run("build", manifest, "--format", "pdf")
    assert result.exit_code == 1
    errors = [line for line in error_lines(result) if not line.startswith("warning: ")]
    assert errors == ["error: pdf: ValueError: boom"]
    assert_no_traceback(result)
    assert {p.name: p.read_bytes() for p in dist.iterdir()} == before
    assert not list(dist.rglob("*.part"))


def test_a_broken_book_template_exits_2_at_its_line(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    dist = manifest.parent / "dist"
    assert run("build", manifest, "--format", "pdf,epub").exit_code == 0
    before = {p.name: p.read_bytes() for p in dist.iterdir()}
    (manifest.parent / "templates").mkdir()
    (manifest.parent / "templates" / "print-piece.html").write_text(
        "<html><body>\n{{ no_such_variable }}</body></html>", encoding="utf-8"
    )
    result = run("build", manifest, "--format", "pdf")
    assert result.exit_code == 2
    errors = [line for line in error_lines(result) if not line.startswith("warning: ")]
    assert errors == ["error: templates/print-piece.html:2: 'no_such_variable' is undefined"]
    assert_no_traceback(result)
    assert {p.name: p.read_bytes() for p in dist.iterdir()} == before


def test_verbose_shows_the_traceback_of_a_renderer_failure(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = book_copy("titles")
    monkeypatch.setattr(pdf_renderer, "place", _boom)
    result = run("-v", "build", manifest, "--format", "pdf")
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ValueError: boom" in result.stderr


def test_build_with_an_unknown_profile_is_a_usage_error(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    result = run("build", manifest, "--profile", "kdp,lulu")
    assert result.exit_code == 2
    assert "unknown profile lulu; use screen, kdp, ingram, archive" in result.stderr
    assert not (manifest.parent / "dist").exists()


def test_preflight_passes_a_profile_file_and_fails_another(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    assert run("build", manifest, "--format", "pdf", "--profile", "screen,kdp").exit_code == 0
    dist = manifest.parent / "dist"
    passed = run("preflight", dist / "book-kdp.pdf", "--profile", "kdp")
    assert passed.exit_code == 0 and passed.stdout.startswith("ok: ")
    failed = run("preflight", dist / "book.pdf", "--profile", "kdp")
    assert failed.exit_code == 1
    findings = failed.stderr.splitlines()
    assert any("bookmarks" in line for line in findings)
    assert any("annotation" in line for line in findings)
    assert (
        findings[-1].startswith("error: ")
        and "preflight findings for the kdp profile" in findings[-1]
    )


def test_preflight_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("preflight", tmp_path / "nope.pdf")
    assert result.exit_code == 2


# Ctrl-C while Python loads make-book: the same clean exit as mid-build, no traceback

INTERRUPTED = "error: interrupted by SIGINT; outputs not yet finished were discarded"
# A child that sends itself SIGINT as it starts importing a given module, then runs
# make-book as the console script does, or as `python -m make_book` does.
CHILD = """
import os, runpy, signal, sys

module, how, *args = sys.argv[1:]

class InterruptAt:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, InterruptAt())
sys.argv = ["make-book", *args]
if how == "console-script":
    from make_book.cli import main
    sys.exit(main())
runpy.run_module("make_book", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize(
    ("module", "how", "args"),
    [
        ("make_book.profiles", "console-script", ["--version"]),
        # while the command's module loads (app.COMMAND_MODULES)
        ("make_book.build.uptodate", "console-script", ["build", "--help"]),
        ("make_book.build.uptodate", "python-m", ["build", "--help"]),
        ("make_book.cli", "python-m", ["--version"]),  # before cli.py sets its handlers
    ],
)
def test_ctrl_c_while_importing_exits_130_in_one_line(
    module: str, how: str, args: list[str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, module, how, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        # SIGINT is ignored in a child of a background job: the test must not depend on it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert done.stderr.strip().splitlines() == [INTERRUPTED]
    assert done.returncode == 130
    assert done.stdout == ""


def test_the_command_line_names_every_format_in_build_order() -> None:
    from make_book import cli
    from make_book.build.driver import RENDERERS

    assert tuple(RENDERERS) == cli.FORMATS

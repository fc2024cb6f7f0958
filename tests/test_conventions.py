"""The command line's conventions: -q and -v on either side of the command's name, every
option settable as MAKE_BOOK_<COMMAND>_<OPTION>, and shell completion.

Each build here is the web edition of the small `titles` book, which warns (its essays
have no authors): fast, and enough to see what -q hides and what --strict counts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from helpers import BookCopy
from make_book.build import driver
from make_book.cli import main
from make_book.render.web import renderer as web_renderer

MAKE_BOOK = Path(sys.executable).with_name("make-book")  # the installed console script


def run(*args: str | Path, env: Mapping[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(main, [str(a) for a in args])


def warnings_of(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def _boom(*_args: object) -> None:
    raise ValueError("boom")


# -q and -v

# Where a flag may go: before the command's name, right after it, or last.
PLACES = ["before", "after", "last"]


def placed(flag: str, place: str, command: list[str]) -> list[str]:
    """`command` (its name first) with `flag` put in `place`."""
    name, rest = command[0], command[1:]
    return {
        "before": [flag, name, *rest],
        "after": [name, flag, *rest],
        "last": [name, *rest, flag],
    }[place]


def html_build(manifest: Path, *more: str) -> list[str]:
    return ["build", str(manifest), "--format", "html", *more]


def test_without_q_the_book_warns_and_lists_its_output(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    result = run(*html_build(manifest))
    assert result.exit_code == 0, result.output
    assert warnings_of(result)  # what -q hides below is there to hide
    assert result.stdout.startswith(f"html  {manifest.parent / 'dist' / 'html'}  (")


@pytest.mark.parametrize("place", PLACES)
def test_quiet_hides_warnings_and_outputs_wherever_it_is(book_copy: BookCopy, place: str) -> None:
    manifest = book_copy("titles")
    result = run(*placed("-q", place, html_build(manifest)))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == ""
    assert (manifest.parent / "dist" / "html" / "index.html").is_file()


@pytest.mark.parametrize("place", PLACES)
def test_quiet_still_shows_errors(book_copy: BookCopy, place: str) -> None:
    manifest = book_copy("bad-yaml")
    result = run(*placed("--quiet", place, html_build(manifest)))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith(f"error: {manifest}:") for line in lines)


@pytest.mark.parametrize("place", PLACES)
def test_quiet_strict_still_fails_on_warnings(book_copy: BookCopy, place: str) -> None:
    manifest = book_copy("titles")
    result = run(*placed("-q", place, html_build(manifest, "--strict")))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert not warnings_of(result)  # counted, not said
    [error] = result.stderr.splitlines()
    assert error.startswith("error: --strict: 7 warnings")
    assert not (manifest.parent / "dist").exists()


@pytest.mark.parametrize("place", PLACES)
def test_verbose_shows_a_failure_s_traceback_wherever_it_is(
    book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch, place: str
) -> None:
    manifest = book_copy("titles")
    monkeypatch.setattr(web_renderer, "swap_folder", _boom)
    quiet = run(*html_build(manifest))
    assert quiet.exit_code == 1
    assert "Traceback" not in quiet.stderr  # without -v: one line
    result = run(*placed("-v", place, html_build(manifest)))
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ValueError: boom" in result.stderr


@pytest.mark.parametrize(
    ("flags", "quiet"),
    [(("-v", "-q"), True), (("-q", "-v"), False), (("--verbose", "--quiet"), True)],
)
def test_the_last_of_q_and_v_wins(book_copy: BookCopy, flags: tuple[str, str], quiet: bool) -> None:
    manifest = book_copy("titles")
    first, last = flags
    result = run(first, *html_build(manifest, last))
    assert result.exit_code == 0, result.output
    assert (result.stdout == "") is quiet
    assert (not warnings_of(result)) is quiet


# MAKE_BOOK_* environment variables


def test_format_from_the_environment(book_copy: BookCopy, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = book_copy("titles")
    real_build = driver.run_build

    def html_only(manifest: Path, out: Path, formats: list[str], *rest: Any, **more: Any) -> Any:
        assert formats == ["html"], formats  # and no slow build of the PDF if not
        return real_build(manifest, out, formats, *rest, **more)

    monkeypatch.setattr(driver, "run_build", html_only)
    result = run("build", manifest, env={"MAKE_BOOK_BUILD_FORMAT": "html"})
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (manifest.parent / "dist").iterdir()) == ["html"]


def test_out_from_the_environment(book_copy: BookCopy, tmp_path: Path) -> None:
    manifest = book_copy("titles")
    out = tmp_path / "from-env"
    result = run("build", manifest, "--format", "html", env={"MAKE_BOOK_BUILD_OUT": str(out)})
    assert result.exit_code == 0, result.output
    assert (out / "html" / "index.html").is_file()
    assert not (manifest.parent / "dist").exists()


def test_the_command_line_wins_over_the_environment(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    env = {"MAKE_BOOK_BUILD_FORMAT": "epub", "MAKE_BOOK_BUILD_FORMATS": "epub"}
    result = run("build", manifest, "--format", "html", env=env)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (manifest.parent / "dist").iterdir()) == ["html"]


def test_a_flag_from_the_environment(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    result = run(*html_build(manifest), env={"MAKE_BOOK_BUILD_STRICT": "1"})
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("error: --strict: 7 warnings")
    kept = run(*html_build(manifest, "--no-cache"), env={"MAKE_BOOK_BUILD_STRICT": "0"})
    assert kept.exit_code == 0, kept.output


def test_no_cache_from_the_environment(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    result = run(*html_build(manifest), env={"MAKE_BOOK_BUILD_NO_CACHE": "true"})
    assert result.exit_code == 0, result.output
    assert not (manifest.parent / ".make-book-cache").exists()


@pytest.mark.parametrize("variable", ["MAKE_BOOK_QUIET", "MAKE_BOOK_BUILD_QUIET"])
def test_quiet_from_the_environment(book_copy: BookCopy, variable: str) -> None:
    manifest = book_copy("titles")
    result = run(*html_build(manifest), env={variable: "1"})
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""


def test_a_bad_value_from_the_environment_is_a_usage_error(book_copy: BookCopy) -> None:
    manifest = book_copy("titles")
    result = run(*html_build(manifest), env={"MAKE_BOOK_BUILD_JOBS": "0"})
    assert result.exit_code == 2
    assert "Invalid value for '-j' / '--jobs'" in result.stderr
    assert not (manifest.parent / "dist").exists()


def test_clean_s_options_from_the_environment(book_copy: BookCopy, tmp_path: Path) -> None:
    manifest = book_copy("titles")
    out = tmp_path / "out"
    (out / "html").mkdir(parents=True)
    (manifest.parent / ".make-book-cache").mkdir()
    env = {"MAKE_BOOK_CLEAN_OUT": str(out), "MAKE_BOOK_CLEAN_DIST": "1"}
    result = run("clean", manifest, env=env)
    assert result.exit_code == 0, result.output
    assert not out.exists()
    assert (manifest.parent / ".make-book-cache").is_dir()  # --dist alone, from the variable


def documented_variable(command: str, option: click.Option) -> str:
    """MAKE_BOOK_<COMMAND>_<OPTION>, the option as its longest flag spells it."""
    flag = max(option.opts, key=len).lstrip("-")
    return f"MAKE_BOOK_{command.upper()}_{flag.upper().replace('-', '_')}"


def variables_not_read() -> list[str]:
    """Each option whose documented variable click does not read, with the one it does."""
    group = click.Context(main, info_name="make-book", auto_envvar_prefix="MAKE_BOOK")
    wrong = []
    for name in main.list_commands(group):  # each loaded as the command line loads it
        command = main.get_command(group, name)
        assert command is not None, name
        context = click.Context(command, info_name=name, parent=group)
        for option in command.params:
            if not isinstance(option, click.Option) or option.hidden:
                continue
            variable = documented_variable(name, option)
            automatic = f"{context.auto_envvar_prefix}_{(option.name or '').upper()}"
            read = option.envvar or automatic  # click's own rule, unless the option says
            names = [read] if isinstance(read, str) else list(read)
            if variable not in names:
                wrong.append(f"{variable} (click reads {', '.join(names)})")
    return wrong


def test_every_option_is_read_from_the_variable_its_flag_names() -> None:
    assert variables_not_read() == []


# Shell completion


def completion_env(**variables: str) -> dict[str, str]:
    """This environment without make-book's own variables, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.lstrip("_").startswith("MAKE_BOOK")}
    return {**env, **variables}


def complete(shell_mode: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """The real console script, asked for completion as a shell asks."""
    if not MAKE_BOOK.is_file():
        pytest.skip(f"no console script at {MAKE_BOOK}")
    env = completion_env(_MAKE_BOOK_COMPLETE=shell_mode, **variables)
    return subprocess.run(
        [str(MAKE_BOOK)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        ("bash", "complete -o nosort -F _make_book_completion make-book"),
        ("zsh", "#compdef make-book"),
        ("fish", "complete --no-files --command make-book"),
    ],
)
def test_the_completion_script_of_each_shell(shell: str, expected: str) -> None:
    done = complete(f"{shell}_source")
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
    assert "_MAKE_BOOK_COMPLETE" in done.stdout  # it calls make-book back to complete
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("make-book bu", ["plain,build"]),
        ("make-book cl", ["plain,clean"]),
        ("make-book build --fo", ["plain,--format"]),
        ("make-book clean --ca", ["plain,--cache"]),
    ],
)
def test_bash_completes_commands_and_options(words: str, expected: list[str]) -> None:
    cword = str(len(words.split()) - 1)
    done = complete("bash_complete", COMP_WORDS=words, COMP_CWORD=cword)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected


def test_completion_lists_every_command() -> None:
    done = complete("bash_complete", COMP_WORDS="make-book ", COMP_CWORD="1")
    assert done.returncode == 0, done.stderr
    offered = {line.split(",", 1)[1] for line in done.stdout.splitlines()}
    assert offered == set(main.list_commands(click.Context(main)))
    assert len(offered) == 9, "build, check, preflight, clean, new, init, schema, serve, themes"

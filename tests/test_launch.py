"""The layout worker the command line starts as it begins (render/pdf/layout/launch.py):
only for a build, on two cores or more; taken and briefed by the build, or ended with
nothing left behind."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from helpers import python_says
from make_book.cli import build as cli_build
from make_book.render.pdf.layout import launch


@pytest.fixture
def two_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process may use two cores; workers' folders go under a TMPDIR of the test's."""
    monkeypatch.setattr(launch, "cores", lambda: 2)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return tmp_path


def test_only_a_build_starts_a_worker_early(
    two_cores: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for args in (["check", "book.yaml"], ["--version"], [], ["new", "build"], ["-q", "serve"]):
        launch.start_early(args)
        assert launch.take_early() is None, args
    launch.start_early(["-q", "build", "book.yaml"])
    early = launch.take_early()
    assert early is not None and early.process.poll() is None
    assert launch.take_early() is None, "taken once"
    early.end()
    assert early.process.returncode == -signal.SIGKILL
    assert early.scratch is not None and not early.scratch.exists()
    monkeypatch.setattr(launch, "cores", lambda: 1)
    launch.start_early(["build", "book.yaml"])
    assert launch.take_early() is None, "one core: the worker would take it from the build"


def test_a_worker_nobody_took_is_ended_with_its_folder(two_cores: Path) -> None:
    launch.start_early(["build"])
    started = list(launch._EARLY)
    launch.discard_early()
    assert launch.take_early() is None and len(started) == 1
    assert started[0].process.returncode == -signal.SIGKILL
    assert list(two_cores.glob(f"{launch.SCRATCH}*")) == []


def test_a_briefed_worker_whose_build_goes_away_leaves_quietly(two_cores: Path) -> None:
    """The build killed before it briefed its worker: the worker's socket ends, and it
    leaves at once, without a word."""
    started = launch.start({launch.BRIEFED: "1"})
    time.sleep(0.5)
    started.sock.close()
    assert started.process.wait(timeout=60) == 0
    if started.scratch is not None:
        assert list(started.scratch.iterdir()) == [], "WeasyPrint copied no fonts there"
        started.scratch.rmdir()


def test_the_build_ends_the_early_worker_it_does_not_want(two_cores: Path) -> None:
    """A first build (no record) or a small book: no worker before the driver's own."""
    for record in ({}, {"report": {"book": {"words": 10}, "page_counts": {"screen": 9}}}):
        launch.start_early(["build"])
        started = list(launch._EARLY)
        with cli_build._spare_workers(record, 2, None) as spares:
            assert spares is None
            assert started[0].process.returncode == -signal.SIGKILL, "ended before the build"
        assert launch.take_early() is None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")
def test_the_command_line_leaves_no_worker_behind(tmp_path: Path) -> None:
    """`make-book build` of a book that is not there fails (exit 2) having started its
    worker: the worker is ended before the command line leaves."""
    program = (
        "import atexit, sys, psutil; "
        "atexit.register(lambda: print('children', psutil.Process().children())); "
        "sys.argv = ['make-book', 'build', 'missing.yaml']; "
        "from make_book.render.pdf.layout import launch; launch.cores = lambda: 2; "
        "started = launch.start_early; "
        "launch.start_early = lambda args: (started(args), print('started', len(launch._EARLY))); "
        "from make_book.cli import run; run()"
    )
    returncode, stdout, stderr = python_says(program, timeout=60, cwd=tmp_path)
    assert returncode == 2, stderr
    assert "started 1\n" in stdout and stdout.endswith("children []\n"), stdout

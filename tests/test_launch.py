"""The layout worker the command line starts as it begins (render/pdf/layout/launch.py):
only for a build, on two cores or more; taken and briefed by the build, or ended with
nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import python_says
from make_book.cli import build as cli_build
from make_book.render.pdf.layout import launch

pytestmark = pytest.mark.skipif(os.name != "posix", reason="no early worker but on POSIX")


@pytest.fixture
def two_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This process may use two cores; workers' folders go under a TMPDIR of the test's.
    Whatever a test left started is ended."""
    monkeypatch.setattr(launch, "cores", lambda: 2)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    yield tmp_path
    launch.discard_early()


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


def test_a_briefed_worker_waits_for_its_brief_and_leaves_quietly_without_one(
    two_cores: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Before its brief a worker has imported no WeasyPrint (it says so here, as it reads
    the brief); its build killed before it was briefed, its socket ends, and it leaves
    at once, without a word."""
    says = (
        "import sys; from make_book.render.pdf.layout import worker; "
        "read = worker._cache_folder; "
        "worker._cache_folder = lambda conn: ("
        "print('weasyprint' in sys.modules, flush=True), read(conn))[1]; "
    )
    started = launch.start(
        {launch.BRIEFED: "1"},
        command_for=lambda fd: [
            sys.executable,
            "-c",
            says + launch.BOOT,
            str(fd),
            json.dumps(sys.path),
        ],
    )
    started.sock.close()
    assert started.process.wait(timeout=60) == 0
    if started.scratch is not None:
        started.scratch.rmdir()  # empty: it made nothing there
    out, err = capfd.readouterr()
    assert (out, err) == ("False\n", "")


def test_the_build_ends_the_early_worker_it_does_not_want(two_cores: Path) -> None:
    """A first build (no record) or a small book: no worker before the driver's own."""
    for record in ({}, {"report": {"book": {"words": 10}, "page_counts": {"screen": 9}}}):
        launch.start_early(["build"])
        started = list(launch._EARLY)
        with cli_build._spare_workers(record, 2, None) as spares:
            assert spares is None
            assert started[0].process.returncode == -signal.SIGKILL, "ended before the build"
        assert launch.take_early() is None


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

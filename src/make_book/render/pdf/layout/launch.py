"""Starting a layout worker's process (worker.py), from a module light enough for the
command line to use before it imports anything else (no click, no multiprocessing).

`make-book build` starts one as it begins (`start_early`, called by cli/__init__.py's
`run`), before it imports click and the build: the worker loads WeasyPrint while the
command line imports the rest and reads the book, and is ready when an edit's piece is
(its code runs 0.05 s sooner than that of a worker started once the build knew it wanted
one). Such a worker waits for a brief before it imports WeasyPrint (`BRIEFED`,
worker.py): the book's cache folder, sent when the build takes it (workers.py's
EarlyWorkers). A build that wants no worker (a first build, a small book laid out in
process, `--jobs 1`) kills it at once (cli/build.py), and one that ends first (up to
date, failed) as the command ends (`discard_early`): it has cost a Python start on
another core. POSIX only: workers are given their socket by `pass_fds`.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

# Environment variables naming a pipe's file descriptor: read one byte (or its end) from
# AFTER before importing WeasyPrint; write one to READY once warmed up (workers.py's
# EarlyWorkers: a worker that would take a core from the build's reading waits).
AFTER, READY = "MAKE_BOOK_WORKER_AFTER", "MAKE_BOOK_WORKER_READY"
# The book's cache folder, whose last job a worker started early prepares (last_job.py).
REMEMBERED = "MAKE_BOOK_WORKER_CACHE"
# Set for a worker started before the build knew its book: its first message is a Brief
# (protocol.py), which says the cache folder instead of REMEMBERED.
BRIEFED = "MAKE_BOOK_WORKER_BRIEFED"
OURS = (AFTER, READY, REMEMBERED, BRIEFED)  # never inherited by a worker from its build

# What `python -c` runs: Ctrl-C ignored first, then the parent's import path, then `main`
# (from a roomy frame, frame_room.py: its import and warm-up recurse too).
# The terminal sends Ctrl-C to the whole process group: the build handles it (exit 130,
# one line) and ends its workers, which must not each print a KeyboardInterrupt's
# traceback from wherever their import or layout happened to be.
BOOT = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "import json, sys; sys.path[:0] = json.loads(sys.argv[2]); "
    "from make_book.frame_room import call_with_room; "
    "from make_book.render.pdf.layout.worker import main; "
    "call_with_room(main, int(sys.argv[1]))"
)

# glibc gives each thread that allocates a heap of its own, and a worker's pieces run in
# threads (worker.py): one heap for all keeps a worker at one piece's high-water mark
# (the stress book's peak: 280 MB with it, 302 MB without).
WORKER_HEAPS = {"MALLOC_ARENA_MAX": "1"}
# A worker's temporary folder (its TMPDIR): WeasyPrint copies the book's @font-face files
# into a folder of its own there (1.7 MB with the default theme), which a worker ended by
# a signal (a build interrupted, failed or killed) cannot remove. The build removes the
# whole folder once the worker is gone, and sweeps those of builds killed before.
SCRATCH = "make-book-worker-"  # + host and PID namespace + "-" + build's PID + "-" + letters


def command(fd: int) -> list[str]:
    """The command line of a worker talking over file descriptor `fd`."""
    return [sys.executable, "-c", BOOT, str(fd), json.dumps(sys.path)]


class Started:
    """A worker's process, the build's end of its socket, and its temporary folder."""

    def __init__(
        self, process: subprocess.Popen[bytes], sock: socket.socket, scratch: Path | None
    ) -> None:
        self.process, self.sock, self.scratch = process, sock, scratch

    def end(self) -> None:
        """Kill it, wait for it, and remove its folder: it was never given anything."""
        self.process.kill()
        self.process.wait()
        self.sock.close()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def start(
    told: dict[str, str],
    pipes: Collection[int] = (),
    command_for: Callable[[int], list[str]] = command,
) -> Started:
    """A worker process, `told` the environment variables given (and its own temporary
    folder), holding the file descriptors `pipes`."""
    inherited = {k: v for k, v in os.environ.items() if k not in OURS}
    told = dict(told)
    scratch = _scratch_folder()
    if scratch is not None:
        told["TMPDIR"] = str(scratch)
    try:
        ours, theirs = socket.socketpair()
        with theirs:
            try:
                process = subprocess.Popen(
                    command_for(theirs.fileno()),
                    pass_fds=[theirs.fileno(), *pipes],
                    env={**inherited, **WORKER_HEAPS, **told},
                )
            except BaseException:
                ours.close()
                raise
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    return Started(process, ours, scratch)


_EARLY: list[Started] = []  # the worker `start_early` started, until taken or discarded


def start_early(args: Iterable[str]) -> None:
    """Start a briefed worker now if the command line `args` ask for a build and this
    process may use two cores or more (with one, the worker would take it from the
    build's own start). A failure to start one is only that build starting its own."""
    command_name = next((arg for arg in args if not arg.startswith("-")), None)
    if command_name != "build" or os.name != "posix" or cores() < 2:
        return
    try:
        _EARLY.append(start({BRIEFED: "1"}))
    except Exception:  # noqa: BLE001 - the build starts its own, and says why it cannot
        return


def take_early() -> Started | None:
    """The worker started early, now the caller's (None: none was)."""
    return _EARLY.pop() if _EARLY else None


def discard_early() -> None:
    """End the worker started early if nothing took it."""
    while _EARLY:
        _EARLY.pop().end()


def cores() -> int:
    """The cores this process may run on (its affinity, where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _scratch_folder() -> Path | None:
    """A new temporary folder for a worker, where this process's children would make
    theirs (TMPDIR, if set); the folders of builds no longer running are removed first.
    None if it cannot be made there: the worker then uses the temporary directory as
    it finds it, as WeasyPrint would."""
    parent = Path(os.environ.get("TMPDIR") or tempfile.gettempdir())
    owner = _owner()
    if owner is not None:
        _sweep_scratch(parent, owner)
    try:
        return Path(tempfile.mkdtemp(prefix=f"{SCRATCH}{owner or 'x'}-{os.getpid()}-", dir=parent))
    except OSError:
        return None


@functools.cache  # once a process: a build that replaces workers spawns many
def _sweep_scratch(parent: Path, owner: str) -> None:
    """Remove the workers' folders left by builds that were killed with their workers
    (SIGKILL, the out-of-memory killer): those whose build's process is gone. Only those
    of this host and PID namespace (`owner`): a container or another machine sharing the
    folder numbers its own processes. One whose process cannot be asked about (another
    user's) is left."""
    for folder in parent.glob(f"{SCRATCH}{owner}-*"):
        pid = folder.name[len(SCRATCH) + len(owner) + 1 :].partition("-")[0]
        if pid.isascii() and pid.isdigit() and len(pid) <= 10 and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


@functools.cache
def _owner() -> str | None:
    """This host's name and the number of this process's PID namespace, which the PIDs
    in folder names are read in; None where either is unknown (no sweeping then)."""
    try:
        link = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return None
    namespace = "".join(c for c in link if c.isascii() and c.isdigit())
    host = socket.gethostname().encode().hex()  # every host its own, no glob's characters
    return f"{host}.{namespace}" if namespace and host else None


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":  # Windows' os.kill would end the process
        return True
    try:
        os.kill(pid, 0)  # no signal sent: only whether the process exists (POSIX)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: it exists, and is not ours
        return True
    return True

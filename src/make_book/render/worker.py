"""A layout worker: a process of its own that lays out the pieces it is sent.

Started by layout_pool.py as `python -c …` with one end of a socket pair, rather
than through multiprocessing: it imports only what laying out needs (not the
whole command line, as a spawned child re-importing `__main__` does), and no
resource-tracker process comes with it. Messages are pickled (multiprocessing's
Connection): first the LayoutJob, then one ("lay", …) per piece, None to stop.
"""

from __future__ import annotations

import json
import resource
import sys
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import Any

from make_book.render.piecetypes import LayoutJob

# What `python -c` runs: the parent's import path first, then `main`.
BOOT = (
    "import json, sys; sys.path[:0] = json.loads(sys.argv[2]); "
    "from make_book.render.worker import main; main(int(sys.argv[1]))"
)


def command(fd: int) -> list[str]:
    """The command line of a worker talking over file descriptor `fd`."""
    return [sys.executable, "-c", BOOT, str(fd), json.dumps(sys.path)]


def main(fd: int) -> None:
    """Lay out each piece sent until told to stop (None)."""
    # WeasyPrint is imported here, not by the build that imports this module for `command`.
    from make_book.render.piecework import install_folio_hook

    conn = Connection(fd)
    install_folio_hook()
    # The build went away (failed, interrupted or killed): stop without a word.
    with suppress(EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        job: LayoutJob = conn.recv()
        while (message := conn.recv()) is not None:
            _serve_one(conn, job, message)


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MB (the pool replaces big workers)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20 if sys.platform == "darwin" else 1 << 10)  # bytes there, KB here


def _serve_one(conn: Connection, job: LayoutJob, message: tuple[Any, ...]) -> None:
    from make_book.render.piecework import lay_out_piece

    _, index, html, borrowed, out, folio = message

    def ask(pages: int) -> int:
        if folio is not None:
            return int(folio)
        conn.send(("count", index, pages))
        answer: tuple[str, int, int] = conn.recv()
        return answer[2]

    try:
        result = lay_out_piece(job, html, borrowed, ask, out)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        raise
    except Exception as error:  # reported to the build, which names the piece
        conn.send(("failed", index, f"{type(error).__name__}: {error}"))
        return
    conn.send(("done", index, result, peak_memory_mb()))

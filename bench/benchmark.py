"""Speed benchmark: make-book against Pandoc + WeasyPrint on a ~1,000-page stress anthology.

A script, not a test. From the repository, with the project's virtualenv:

    .venv/bin/python bench/benchmark.py                          # full size: several minutes
    .venv/bin/python bench/benchmark.py --essays 12 --words 600  # a quick try
    .venv/bin/python bench/benchmark.py --skip a,b --jobs 2 --json figures.json --keep /tmp/b

Runs: (a) pandoc to PDF (WeasyPrint engine) then to EPUB; (b) make-book's book HTML laid
out as one WeasyPrint document, timed writing it untagged as WeasyPrint does by default
(written tagged too, as the book's profile writes it, for the size: neither that time
nor that memory counted); make-book build (c) cold, (d) after one essay is edited, (e) with nothing
changed. Each runs in a subprocess; its peak memory is the peak of the summed RSS of its
process tree, sampled every ~50 ms. The runs are made in rounds (two by default,
--rounds): each run's fastest time counts, since the machine's other load can only slow
a run down, and its highest peak memory. Exit status: 0 even if a floor fails
(this is a measurement), 1 if a command failed.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, replace
from importlib.metadata import version
from pathlib import Path

import pikepdf
import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_stress_book  # noqa: E402  (sibling scripts, not a package)
from stress_book import write_book  # noqa: E402

BIN = Path(sys.executable).parent  # .venv/bin: make-book and weasyprint live beside python
MB = 1_000_000
ADDED = " An added sentence for the benchmark."
LABELS = {
    "a": "Pandoc + WeasyPrint (PDF, then EPUB)",
    "b": "make-book HTML as one WeasyPrint document",
    "c": "make-book build, cold",
    "d": "make-book build, one essay edited",
    "e": "make-book build, nothing changed",
}
ASIDE = "seconds not counted:"  # what a command did that is not the run's own work
UNTIL = "memory counted until:"  # a time: what the command does after is not its work
LAYOUT = f"""\
import sys, time
from pathlib import Path
from make_book.build.driver import load
from make_book.render.pdf import page_css, reference
from make_book.profiles import PROFILES
manifest, book = load(Path(sys.argv[1]))
profile = PROFILES[manifest.pdf.profile]  # as make-book build lays it out
settings = page_css.print_settings(manifest.pdf, profile, 0)
document = reference.layout(book, settings, profile)
document.write_pdf(sys.argv[2])  # as WeasyPrint writes by default: what is timed
# Then as make-book writes this profile (tagged, PDF/UA-1), for the size only: the same
# book with the same structure tree, which is about a quarter of either file. Its time
# is taken off; the process's exit, which frees the document, counts as before.
print(f"{UNTIL} {{time.time()}}", flush=True)
aside = time.perf_counter()
document.write_pdf(sys.argv[3], pdf_tags=profile.tagged, pdf_variant=profile.weasyprint_variant)
print(f"{ASIDE} {{time.perf_counter() - aside}}", flush=True)
"""


@dataclass
class Result:
    key: str
    status: str = "ok"  # ok, skipped or failed
    seconds: float | None = None
    pages: int | None = None
    pages_per_second: float | None = None
    peak_mb: float | None = None
    pdf_mb: float | None = None  # the size of the PDF it made
    tagged_pdf_mb: float | None = None  # b: the same document written tagged, as c writes it
    note: str = ""


class PeakRss(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until `done` is set."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak, self.done = psutil.Process(pid), 0, threading.Event()
        self.samples: list[tuple[float, int]] = []  # (time.time(), summed RSS)

    def run(self) -> None:
        while not self.done.is_set():
            rss = tree_rss(self.root)
            self.peak = max(self.peak, rss)
            self.samples.append((time.time(), rss))
            self.done.wait(0.05)

    def peak_until(self, until: float) -> int:
        """The peak of the samples taken until the time `until` (time.time())."""
        return max((rss for when, rss in self.samples if when <= until), default=0)


def tree_rss(root: psutil.Process) -> int:
    # Children count too: pandoc runs weasyprint, and a build may fork workers.
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:  # the process has just exited
        return 0
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):  # a child may exit between listing and reading
            total += proc.memory_info().rss
    return total


def timed(commands: list[list[str]]) -> tuple[float, int, str]:
    """Total wall time, peak tree RSS in bytes, and an error ("" if every command succeeded).
    A command that says ASIDE with a number of seconds has them taken off its time, and
    one that says UNTIL with a time has its memory sampled until then only."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    seconds, peak = 0.0, 0
    for command in commands:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        sampler = PeakRss(proc.pid)
        sampler.start()
        out, err = proc.communicate()  # pipes drained while we wait, so nothing blocks
        lines = out.decode("utf-8", "replace").splitlines()
        aside = sum(float(line.rsplit(" ", 1)[1]) for line in lines if ASIDE in line)
        seconds += time.perf_counter() - start - aside
        until = [float(line.rsplit(" ", 1)[1]) for line in lines if UNTIL in line]
        sampler.done.set()
        sampler.join()
        peak = max(peak, sampler.peak_until(until[-1]) if until else sampler.peak)
        if proc.returncode != 0:
            lines = (err or out).decode("utf-8", "replace").strip().splitlines()[-15:]
            tail = "".join(f"\n      {line}" for line in lines)
            return seconds, peak, f"{Path(command[0]).name} exited with {proc.returncode}:{tail}"
    return seconds, peak, ""


def measure(key: str, commands: list[list[str]], pdf: Path) -> Result:
    seconds, peak, error = timed(commands)
    result = Result(key, seconds=seconds, peak_mb=peak / MB)
    if error:
        result.status, result.note = "failed", error
        return result
    if pdf.is_dir():  # make-book names the PDF after the book: take the only (largest) one
        pdf = max(pdf.glob("*.pdf"), key=lambda p: p.stat().st_size, default=pdf / "none.pdf")
    try:
        with pikepdf.open(pdf) as document:
            result.pages = len(document.pages)
        result.pdf_mb = pdf.stat().st_size / MB
    except (OSError, pikepdf.PdfError) as exc:  # it ran, but left no readable PDF
        result.status, result.note = "failed", f"no PDF to count: {exc}"
        return result
    result.pages_per_second = result.pages / seconds if seconds else None
    return result


def chapter_files(manifest: Path) -> list[Path]:
    """The essays' Markdown files in book order (parts flattened)."""
    contents = yaml.safe_load(manifest.read_text("utf-8"))["contents"]
    names = [n for e in contents for n in (e["chapters"] if isinstance(e, dict) else [e])]
    return [manifest.parent / name for name in names]


def pandoc_commands(manifest: Path, work: Path, pandoc: str) -> list[list[str]]:
    title = yaml.safe_load(manifest.read_text("utf-8"))["title"]  # pandoc warns without one
    # --file-scope: every essay numbers its notes from 1; without it pandoc merges them.
    base = [pandoc, "--file-scope", *map(str, chapter_files(manifest)), f"--metadata=title:{title}"]
    return [
        [*base, f"--pdf-engine={BIN / 'weasyprint'}", "-o", str(work / "a.pdf")],
        [*base, "-o", str(work / "a.epub")],
    ]


def add_sentence(manifest: Path) -> None:
    """Append ADDED to the first paragraph of the middle essay (or of the first after it
    that opens with prose, not verse or a quotation, as real essays may)."""
    files = chapter_files(manifest)
    for essay in files[len(files) // 2 :]:
        text = essay.read_text("utf-8")
        start = text.index("\n---\n", 4) + len("\n---\n\n")  # past the front matter
        if not text.startswith((":::", ">"), start):
            break
    end = text.find("\n\n", start)
    end = len(text.rstrip("\n")) if end < 0 else end
    essay.write_text(text[:end] + ADDED + text[end:], "utf-8")


def run(key: str, manifest: Path, work: Path, jobs: int | None) -> Result:
    if key == "a":
        pandoc = shutil.which("pandoc")
        if not pandoc:
            return Result(key, status="skipped", note="pandoc is not installed")
        return measure(key, pandoc_commands(manifest, work, pandoc), work / "a.pdf")
    if key == "b":
        tagged = work / "b-tagged.pdf"
        command = [sys.executable, "-c", LAYOUT, str(manifest), str(work / "b.pdf"), str(tagged)]
        result = measure(key, [command], work / "b.pdf")
        if result.status == "ok":
            result.tagged_pdf_mb = tagged.stat().st_size / MB
        return result
    out = work / "out"
    if key == "c":  # cold: neither a cache nor earlier outputs to reuse
        shutil.rmtree(manifest.parent / ".make-book-cache", ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    if key == "d":
        add_sentence(manifest)
    command = [str(BIN / "make-book"), "build", str(manifest), "--out", str(out)]
    command += ["--format", "pdf,epub", *(["--jobs", str(jobs)] if jobs else [])]
    return measure(key, [command], out)


def run_round(manifest: Path, work: Path, jobs: int | None, skip: set[str]) -> dict[str, Result]:
    """Each run once, in order (d edits the book c built; e rebuilds it unchanged)."""
    results: dict[str, Result] = {}
    for key, label in LABELS.items():
        if key in skip:
            results[key] = Result(key, status="skipped", note="--skip")
        elif key in "de" and results["c"].status == "failed":  # d and e need c's cache
            results[key] = Result(key, status="skipped", note="the cold build (c) failed")
        else:
            results[key] = run(key, manifest, work, jobs)
        print_result(results[key], label)
    return results


def print_result(r: Result, label: str) -> None:
    if r.status == "ok":
        line = f"  {r.key}  {label:<42} {r.seconds:8.2f} s {r.pages:6} pp"
        size = f" {r.pdf_mb:6.2f} MB PDF" if r.pdf_mb is not None else ""
        size += f" ({r.tagged_pdf_mb:.2f} MB tagged)" if r.tagged_pdf_mb is not None else ""
        print(f"{line} {r.pages_per_second:7.1f} pp/s {r.peak_mb:7.0f} MB{size}", flush=True)
    else:
        print(f"  {r.key}  {label:<42} {r.status.upper()}: {r.note}", flush=True)


def best_of(rounds: list[dict[str, Result]]) -> dict[str, Result]:
    """Per run: the fastest round's time (the machine's other load only slows a run
    down), with the highest peak memory of any round."""
    best: dict[str, Result] = {}
    for key in LABELS:
        tries = [r[key] for r in rounds]
        done = [r for r in tries if r.status == "ok"]
        if len(done) < len(tries):
            best[key] = next(r for r in tries if r.status != "ok")
            continue
        fastest = min(done, key=lambda r: r.seconds or 0.0)
        peak = max(r.peak_mb or 0.0 for r in done)
        best[key] = replace(fastest, peak_mb=peak, note=f"best of {len(done)}")
    return best


def figures(results: dict[str, Result]) -> tuple[dict[str, float | None], dict[str, bool | None]]:
    """The ratios, and each floor's verdict (None: a run it needs did not succeed)."""
    done = {key: r for key, r in results.items() if r.status == "ok"}

    def ratio(top: str, bottom: str, field: str = "seconds", under: str = "") -> float | None:
        """top's `field` over bottom's (its `under`, if given); None if either is missing."""
        if top not in done or bottom not in done:
            return None
        over, below = getattr(done[top], field), getattr(done[bottom], under or field)
        return float(over / below) if over is not None and below else None

    def within(value: float | None, limit: float, strict: bool = False) -> bool | None:
        return None if value is None else value < limit if strict else value <= limit

    ratios = {
        "c/a time": ratio("c", "a"),
        "c/b time": ratio("c", "b"),
        "d/c time": ratio("d", "c"),
        "e/c time": ratio("e", "c"),
        "c/b peak memory": ratio("c", "b", "peak_mb"),
        "c/b PDF size": ratio("c", "b", "pdf_mb"),
        "c/b PDF size, b tagged": ratio("c", "b", "pdf_mb", "tagged_pdf_mb"),
    }
    # The floors of the real-books issue (the speed issue's were 0.6 b, 0.75 a, 0.1 c, 2 s).
    floors = {
        "c <= 0.55 * b (time)": within(ratios["c/b time"], 0.55),
        "c <= 0.6 * a (time)": within(ratios["c/a time"], 0.6),
        "d <= 0.05 * c (time)": within(ratios["d/c time"], 0.05),
        "e < 1 s": within(done["e"].seconds if "e" in done else None, 1, strict=True),
        # b as WeasyPrint writes by default (untagged), and b with c's structure tree.
        "c's PDF <= 1.2 * b's": within(ratios["c/b PDF size"], 1.2),
        "c's PDF <= 1.2 * b's, b tagged": within(ratios["c/b PDF size, b tagged"], 1.2),
        "c peak memory <= 0.5 * b's": within(ratios["c/b peak memory"], 0.5),
        "c peak memory < 500 MB": within(done["c"].peak_mb if "c" in done else None, 500, True),
    }
    return ratios, floors


def header(args: argparse.Namespace, manifest: Path) -> dict[str, str]:
    pandoc, pandoc_version = shutil.which("pandoc"), "not installed"
    if pandoc:
        run = subprocess.run([pandoc, "--version"], capture_output=True, text=True, check=False)
        pandoc_version = run.stdout.split("\n", 1)[0].removeprefix("pandoc ")
    words = sum(len(f.read_text("utf-8").split()) for f in chapter_files(manifest))
    info = {
        "machine": f"{os.cpu_count()} cores, {platform.platform()}",
        "make-book": version("make-book"),
        "WeasyPrint": version("weasyprint"),
        "pandoc": pandoc_version,
        "book": f"{args.book}: {args.essays} essays"
        + (f" x ~{args.words} words" if args.book == "synthetic" else ", 300 to 17,000 words each")
        + f" ({words:,} words in all, notes included)",
    }
    for name, value in info.items():
        print(f"{name + ':':<12}{value}")
    return info


def summary(ratios: dict[str, float | None], floors: dict[str, bool | None]) -> None:
    print("\nRatios")
    for name, value in ratios.items():
        print(f"  {name:<24}{'n/a' if value is None else f'{value:.3f}'}")
    print("Floors")
    for name, ok in floors.items():
        print(f"  {'n/a ' if ok is None else 'PASS' if ok else 'FAIL'}  {name}")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--book",
        choices=["synthetic", "real"],
        default="synthetic",
        help="the stress book: 300 alike essays, or uneven ones as real (real_stress_book.py)",
    )
    parser.add_argument("--essays", type=int, default=300)
    parser.add_argument("--words", type=int, default=760, help="per essay")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR and keep it")
    parser.add_argument("--jobs", type=int, help="passed on to make-book build --jobs")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write all figures to FILE")
    parser.add_argument("--skip", default="", metavar="RUNS", help="runs to skip, e.g. a,b")
    parser.add_argument(
        "--rounds", type=int, default=2, help="times each run is made (the fastest counts)"
    )
    args = parser.parse_args()
    args.skip = {key.strip() for key in args.skip.split(",") if key.strip()}
    if args.skip - LABELS.keys():
        parser.error(f"--skip takes runs among {','.join(LABELS)}")
    return args


def compiled_as_installed() -> None:
    """make-book's modules compiled to bytecode, as pip leaves an installed package: an
    editable checkout run with PYTHONDONTWRITEBYTECODE set (as on some CI machines)
    would otherwise compile them in every run, a fifth of a second of an edit."""
    import make_book

    compileall.compile_dir(Path(make_book.__file__).parent, quiet=1)


def main() -> int:
    args = arguments()
    compiled_as_installed()
    work = args.keep or Path(tempfile.mkdtemp(prefix="make-book-bench-"))
    try:
        if args.book == "real":
            manifest = real_stress_book.write_book(work / "book", args.essays)
        else:
            manifest = write_book(work / "book", args.essays, args.words)
        info = header(args, manifest)
        print("\nRuns: wall time, PDF pages, pages per second, peak RSS of the process tree")
        rounds = []
        for number in range(1, args.rounds + 1):
            print(f"Round {number} of {args.rounds}", flush=True)
            rounds.append(run_round(manifest, work, args.jobs, args.skip))
        results = best_of(rounds)
        if args.rounds > 1:
            print("Best of the rounds: the fastest time, the highest peak memory")
            for key, label in LABELS.items():
                print_result(results[key], label)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    ratios, floors = figures(results)
    summary(ratios, floors)
    if args.json:
        runs = {key: asdict(r) for key, r in results.items()}
        each = [{key: asdict(r) for key, r in round_.items()} for round_ in rounds]
        data = {**info, "megabyte": MB, "runs": runs, "rounds": each}
        data |= {"ratios": ratios, "floors": floors}
        args.json.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    return 1 if any(r.status == "failed" for round_ in rounds for r in round_.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

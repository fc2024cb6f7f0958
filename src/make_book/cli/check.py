"""`make-book check` (the book, its outputs) and `make-book preflight` (one PDF)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from make_book.cli.app import EPILOG, main, manifest_argument, say, verbosity
from make_book.errors import RenderError
from make_book.profiles import PROFILES


@main.command(epilog=EPILOG)
@manifest_argument
@click.option(
    "--outputs",
    "outputs",
    is_flag=True,
    help="Also check the built files: EPUBCheck on the EPUB, the preflight on each PDF, "
    "the Nu HTML Checker (vnu, if installed) on the web edition.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the outputs are (default: dist/ beside book.yaml).",
)
@click.option(
    "--env",
    "env",
    is_flag=True,
    help="Instead of the book, report what this machine has (Pango, Java, Ghostscript…), "
    "with install hints; exit 1 if something needed is missing (with --outputs, Java too).",
)
@verbosity
def check(manifest: Path, outputs: bool, out_dir: Path | None, env: bool) -> None:
    """Validate the manifest and every essay (and with --outputs, the built files).

    With --env, check this machine instead: the book is not read.
    """
    if env:
        _check_machine(outputs)
        return
    from make_book.build.driver import load

    _, book = load(manifest)
    words = sum(e.word_count for e in book.all_texts)
    say(f"ok: {len(book.all_texts)} texts, {words} words")
    if outputs:
        _check_outputs(out_dir if out_dir is not None else manifest.parent / "dist")


def _check_machine(outputs: bool) -> None:
    """`check --env`: one line for each thing looked for, a hint under each one lacking."""
    from make_book import machine

    found = machine.survey(outputs=outputs)
    for item in found:
        say(item.line())
        if item.status != "ok":
            say(" " * 9 + item.hint(sys.platform))  # under the name, past the status column
    lacking = [item for item in found if item.lacking]
    if lacking:
        raise RenderError(machine.summary(lacking))


def _check_outputs(out_dir: Path) -> None:
    failed = 0
    from make_book.build.verify import Verdict, verify_outputs

    web = _web_edition(out_dir)
    # A checker that cannot run (EPUBCheck without Java…) fails the command, as ever.
    verdicts = verify_outputs(out_dir, required=web is None)
    if web is not None:
        from make_book.build import vnu

        why = vnu.unavailable()
        if why:
            say(f"not checked: {web} ({why})")
        else:
            verdicts.append(vnu.check_web_edition(web))
    verdict: Verdict
    for verdict in verdicts:
        for finding in verdict.findings:
            click.echo(f"{verdict.path}: {verdict.checker}: {finding}", err=True)
        failed += bool(verdict.findings)
        if not verdict.findings:
            say(f"ok: {verdict.path} ({verdict.checker})")
    if failed:
        raise RenderError(f"{failed} output(s) failed their checks")


def _web_edition(out_dir: Path) -> Path | None:
    """The web edition's folder in `out_dir`, if one was built there."""
    from make_book.build.overlap import WEB_EDITION

    folder = out_dir / WEB_EDITION
    return folder if (folder / "index.html").is_file() else None


@main.command(epilog=EPILOG)
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--profile",
    "profile_name",
    type=click.Choice(list(PROFILES)),
    default="screen",
    show_default=True,
    help="The rules to check against.",
)
@click.option(
    "--cover", is_flag=True, help="The file is a wrap cover: one sheet with bleed on every edge."
)
@verbosity
def preflight(pdf: Path, profile_name: str, cover: bool) -> None:
    """Check a finished PDF against a print profile; exit 1 on any finding."""
    rules = PROFILES[profile_name].for_cover() if cover else PROFILES[profile_name]
    from make_book.preflight.checks import preflight as run_preflight

    findings = run_preflight(pdf, rules, bleed=True if cover else None)
    for finding in findings:
        click.echo(f"{pdf}: {finding}", err=True)
    if findings:
        raise RenderError(
            f"{pdf}: {len(findings)} preflight findings for the {profile_name} profile"
        )
    say(f"ok: {pdf} meets the {profile_name} profile")

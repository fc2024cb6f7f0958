"""`make-book serve`: a preview that rebuilds on every save and reloads the browser."""

from __future__ import annotations

from pathlib import Path

import click

from make_book.cache.folder import CACHE_FOLDER
from make_book.cli.app import (
    EPILOG,
    jobs_option,
    main,
    manifest_argument,
    option_value,
    parse_formats,
    parse_profiles,
    say,
    verbosity,
)
from make_book.profiles import PROFILES


@main.command(epilog=EPILOG)
@manifest_argument
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in the browser.")
@click.option(
    "--format",
    "formats",
    default="pdf,html",
    show_default=True,
    help="What the preview builds: html (the web pages), pdf (their print pages), or more.",
)
@click.option(
    "--profile",
    "profiles",
    default="",
    help="Print profile of the print pages: " + ", ".join(PROFILES) + " (default: pdf.profile).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Build the preview here (default: {CACHE_FOLDER}/preview/ beside book.yaml).",
)
@jobs_option
@verbosity
def serve(
    manifest: Path,
    host: str,
    port: int,
    open_browser: bool,
    formats: str,
    profiles: str,
    out_dir: Path | None,
    jobs: int,
) -> None:
    """Preview the book in a browser, rebuilt and reloaded on every save.

    Each essay's web page links to its print pages, drawn from the PDF with their
    folios. A build that fails shows its errors over the last good preview.
    Nothing is written beside book.yaml but the cache (and --out, if given).
    """
    chosen = option_value(parse_formats, formats, "'--format'")
    chosen_profiles = option_value(parse_profiles, profiles, "'--profile'")
    from make_book.render.base import LayoutOptions
    from make_book.serve.loop import ServeOptions
    from make_book.serve.loop import serve as serve_book

    options = ServeOptions(host, port, tuple(chosen), tuple(chosen_profiles), open_browser)
    cache = manifest.parent / CACHE_FOLDER
    layout = LayoutOptions(jobs=jobs, cache_dir=cache)
    serve_book(manifest, cache, layout, options, say, out_dir)

"""`make-book schema`: the JSON Schema of book.yaml, or its reference in Markdown."""

from __future__ import annotations

import json

import click

from make_book.cli.app import main, verbosity


@main.command()
@click.option("--markdown", is_flag=True, help="Print the reference (docs/book-yaml.md) instead.")
@click.option(
    "--front-matter", is_flag=True, help="The schema of an essay's front matter, not book.yaml's."
)
@verbosity
def schema(markdown: bool, front_matter: bool) -> None:
    """Print the JSON Schema of book.yaml: every key, its type, default and meaning."""
    from make_book.source import schema_export
    from make_book.source.schema import BOOK, ESSAY_META

    if markdown:
        click.echo(schema_export.markdown(), nl=False)
    else:
        root = ESSAY_META if front_matter else BOOK
        click.echo(json.dumps(schema_export.json_schema(root), indent=2))

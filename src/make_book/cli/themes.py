"""`make-book themes`: the packaged themes book.yaml's `theme:` may name, one a line."""

from __future__ import annotations

import click

from make_book.cli.app import main


@main.command()
def themes() -> None:
    """List the packaged themes, each with what it looks like (book.yaml: `theme: NAME`)."""
    from make_book.theme import packaged_themes, theme_info

    names = packaged_themes()
    width = max(len(name) for name in names)
    for name in names:
        info = theme_info(name)
        based_on = f" (extends {info.extends})" if info.extends else ""
        click.echo(f"{name:<{width}}  {info.description}{based_on}".rstrip())

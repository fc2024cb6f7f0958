"""The command group, the options every command shares, and how they are said."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from make_book import __version__
from make_book.build.interrupt import exit_cleanly_on_signals
from make_book.errors import BookError
from make_book.profiles import PROFILES

# The output formats in build order: build/driver.py's RENDERERS (test_cli keeps them
# equal), named here so that the command line does not import the renderers to parse.
FORMATS = ("pdf", "cover", "epub", "html", "offprints")
# Asked for by name only (`--format offprints`, `all,offprints`): `all` is the book's
# editions, so what a build writes by default stays as it was.
OPT_IN = ("offprints",)
ALL_FORMATS = tuple(f for f in FORMATS if f not in OPT_IN)

EPILOG = """\b
Exit codes:
  0  the book was built (or checked) without errors
  1  a build step failed on valid input
  2  bad input: manifest, essay or command-line usage
     (and any warning under --strict)
  130, 143, 129  interrupted by Ctrl-C, SIGTERM or SIGHUP
                 (outputs left as they were)
"""

# Every option can also be set in the environment: MAKE_BOOK_<COMMAND>_<OPTION>, for
# example MAKE_BOOK_BUILD_FORMAT=pdf or MAKE_BOOK_SERVE_PORT=8080 (`name_environment`).
ENV_PREFIX = "MAKE_BOOK"

Command = TypeVar("Command", bound=Callable[..., Any])


# Each command's module (it adds the command to `main` as it is imported), imported only
# when the command is run or listed: `make-book build` imports no other command's, and
# starts its layout worker that much sooner (cli/build.py).
COMMAND_MODULES = {
    "build": "build",
    "check": "check",
    "preflight": "check",
    "clean": "clean",
    "new": "create",
    "init": "create",
    "schema": "schema",
    "serve": "serve",
    "themes": "themes",
}


class MakeBook(click.Group):
    """The command line, stopping cleanly on Ctrl-C, SIGTERM and SIGHUP whatever it does:
    a build unwinds and removes its temporary files (build/interrupt.py). Commands are
    loaded when asked for (COMMAND_MODULES)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(f"make_book.cli.{COMMAND_MODULES[cmd_name]}")
        command = super().get_command(ctx, cmd_name)
        if command is not None:  # however its module came to be imported
            _name_options(command, _prefix(cmd_name))
        return command

    def main(  # click's own parameters, so that standalone_mode is seen however given
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command with the signal handlers set; make-book's own errors said in
        one line per problem, without a traceback, with their exit code (errors.py)."""
        Verbosity.set(logging.WARNING)  # until -v or -q says otherwise
        with exit_cleanly_on_signals():
            try:
                return super().main(args, prog_name, complete_var, standalone_mode, **extra)
            except BookError as error:  # not a ClickException: click lets it through
                if not standalone_mode:
                    raise
                error.show()
                sys.exit(error.exit_code)


class _WarningFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class Verbosity:
    """-v and -q, given before or after the command's name (the last one given wins)."""

    level = logging.WARNING

    @classmethod
    def set(cls, level: int) -> None:
        cls.level = level
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_WarningFormatter())
        handler.setLevel(level)
        logger = logging.getLogger("make_book")
        logger.handlers[:] = [handler]
        # Warnings are still made under -q: --strict and the report count them.
        logger.setLevel(min(level, logging.WARNING))
        logger.propagate = False

    @classmethod
    def quiet(cls) -> bool:
        return cls.level > logging.WARNING


def say(text: str) -> None:
    """What a command reports on stdout, unless -q."""
    if not Verbosity.quiet():
        click.echo(text)


def _verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        Verbosity.set(logging.DEBUG)


def _quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        Verbosity.set(logging.ERROR)


def verbosity(command: Command) -> Command:
    """Add -v and -q to a command (and to the group: either place works)."""
    command = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_quiet,
        help="Say only errors: no warnings, no list of outputs, no progress.",
    )(command)
    return click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_verbose,
        help="Say more, including tracebacks of failures.",
    )(command)


@click.group(
    cls=MakeBook,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="make-book")
@verbosity
def main() -> None:
    """Compile essays into a print-ready PDF, an EPUB 3 and a web edition."""


def name_environment(group: click.Group) -> None:
    """Name each option's environment variable after its long flag, as the docs do: the
    group's now, each command's as the group looks it up (`MakeBook.get_command`).

    (click's own rule, `auto_envvar_prefix`, names it after the Python parameter:
    MAKE_BOOK_BUILD_FORMATS for --format, which no user would guess.)
    """
    _name_options(group, ENV_PREFIX)


def _prefix(command: str) -> str:
    return f"{ENV_PREFIX}_{command.upper().replace('-', '_')}"


def _name_options(command: click.Command, prefix: str) -> None:
    for param in command.params:
        # --version and --help act at once: not from the environment
        if isinstance(param, click.Option) and param.envvar is None and not param.is_eager:
            longest = max(param.opts, key=len).lstrip("-")
            param.envvar = f"{prefix}_{longest.upper().replace('-', '_')}"


jobs_option = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="the number of cores",
    help="Worker processes laying out the PDF.",
)

manifest_argument = click.argument(
    "manifest", type=click.Path(dir_okay=False, path_type=Path), default="book.yaml"
)


def parse_formats(value: str) -> list[str]:
    """`--format`: a comma-separated list of FORMATS and `all` (ALL_FORMATS), in order."""
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS and n != "all"]
    if unknown or not names:
        choices = ", ".join([*ALL_FORMATS, "all (those four)", *OPT_IN])
        raise click.BadParameter(f"unknown format {', '.join(unknown) or '(none)'}; use {choices}")
    chosen = [f for n in names for f in (ALL_FORMATS if n == "all" else (n,))]
    return list(dict.fromkeys(chosen))


def parse_profiles(value: str) -> list[str]:
    """`--profile`: a comma-separated list of print profiles (none: the book's own)."""
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        raise click.BadParameter(f"unknown profile {', '.join(unknown)}; use {', '.join(PROFILES)}")
    return names


def option_value(parse: Callable[[str], list[str]], value: str, hint: str) -> list[str]:
    """`parse(value)`, its error naming the option."""
    try:
        return parse(value)
    except click.BadParameter as exc:
        exc.param_hint = hint
        raise


# The group's options named in the environment once it is made; each command's as the
# group looks it up (MakeBook.get_command).
name_environment(main)

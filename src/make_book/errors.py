"""Errors a user can cause, and the exit codes they map to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_BUILD_FAILED = 1
EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class BookError(Exception):
    """Base of every error make-book reports without a traceback.

    Not a click.ClickException: the command line says it as click would say one
    (cli/app.py), and a layout worker, which raises these too, starts without importing
    click (0.01 to 0.016 s of its start, on an edit's critical path)."""

    exit_code = EXIT_BUILD_FAILED

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            self.message = problems
        else:
            self.problems = list(problems)
            self.message = "\n".join(str(p) for p in self.problems)
        super().__init__(self.message)  # str() gives it, as Exception's does its one argument

    def format_message(self) -> str:
        return self.message

    def show(self) -> None:
        """One line per problem, on stderr (as click.echo writes it)."""
        import click

        click.echo(f"error: {self.format_message()}".replace("\n", "\nerror: "), err=True)


class InputError(BookError):
    """The user's manifest or sources are wrong: exit 2."""

    exit_code = EXIT_BAD_INPUT


class ManifestError(InputError):
    """book.yaml is malformed or names something that does not exist."""


class EssayError(InputError):
    """An essay cannot be read or parsed."""


class RenderError(BookError):
    """A renderer failed on input that passed every check: exit 1."""


class StrictError(InputError):
    """--strict and the build warned: exit 2. The warnings were printed as they came."""

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = list(warnings)
        count = f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
        super().__init__(f"--strict: {count} (listed above); nothing was written")


class TemplateError(InputError):
    """A book's own template (in its templates/ folder) is wrong or went past a limit: exit 2.

    Errors in the packaged templates are make-book's own, and stay RenderErrors (exit 1).
    """

"""The sandbox a book's templates run in, with limits.

A book's templates may come from anyone, so they run in Jinja's immutable sandbox
with limits (`BookSandbox`): a bounded `range()`, a bounded number of loop turns, no
value or output past a size proportional to the book, and a time limit. A mistake
or a limit in a book's own template is a TemplateError (exit 2) naming its file and
line; one in the packaged templates is ours, and is raised as it is.
What a book's template writes is checked as well (`check_written`, written.py).
"""

from __future__ import annotations

import functools
import inspect
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import jinja2
from jinja2.environment import TemplateModule
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment

from make_book.errors import BookError, Problem, TemplateError
from make_book.model import Book
from make_book.theme.written import Refusal, refusal

TEMPLATE_OPTIONS: dict[str, Any] = {
    "undefined": jinja2.StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
}


# Limits on what a template may do (docs/themes.md). None is near what a theme needs:
# the packaged templates count nothing, and each page's template runs in milliseconds.
MAX_RANGE = 10_000  # items in one range()
MAX_LOOPS = 1_000_000  # turns of loops over range(), in all of an environment's templates
MAX_SECONDS = 30.0  # time spent in an environment's templates, all renders together
MAX_BITS = 100_000  # a number a template computes (`**` and `*` on integers)
MAX_PARAGRAPHS = 100  # lipsum(n)
MAX_WORDS = 1_000  # lipsum's words per paragraph
# No string, list or output a template makes may be longer than this, plus four times
# the text of the book's essays (which a template may show more than once).
MIN_TEXT = 16_000_000


class TemplateLimit(Exception):
    """A template went past a limit; said as its file and line once it is known."""


class _Budget:
    """The time and loop turns an environment's templates have used."""

    def __init__(self) -> None:
        self.spent = 0.0  # seconds, in renders that finished
        self.started = 0.0  # when the current render began
        self.depth = 0  # renders in progress (a macro the renderer calls is one)
        self.loops = 0

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count the time spent inside; in the main thread, stop the render when it is up."""
        outer = self.depth == 0
        previous: Any = None
        if outer:
            self.started = time.perf_counter()
            previous = self._arm()
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if outer:
                if previous is not None:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    signal.signal(signal.SIGALRM, previous)
                self.spent += time.perf_counter() - self.started

    def _arm(self) -> Any:
        """An alarm at the end of the time left (a loop that calls nothing checks no clock)."""
        if threading.current_thread() is not threading.main_thread():
            return None
        previous = signal.signal(signal.SIGALRM, _out_of_time)
        signal.setitimer(signal.ITIMER_REAL, max(MAX_SECONDS - self.spent, 0.001))
        return previous

    def tick(self) -> None:
        if self.depth and time.perf_counter() - self.started + self.spent > MAX_SECONDS:
            raise TemplateLimit(_TIME_UP)

    def turn(self) -> None:
        self.loops += 1
        if self.loops > MAX_LOOPS:
            raise TemplateLimit(f"loops over range() turned more than {MAX_LOOPS:,} times")
        if not self.loops % 1024:
            self.tick()


_TIME_UP = f"the book's templates ran for more than {MAX_SECONDS:.0f} seconds"


def _out_of_time(signum: int, frame: FrameType | None) -> NoReturn:
    raise TemplateLimit(_TIME_UP)


class _Range:
    """range() as a template sees it: at most MAX_RANGE items, each turn counted."""

    def __init__(self, inner: range, budget: _Budget) -> None:
        self.inner = inner
        self.budget = budget

    def __iter__(self) -> Iterator[int]:
        for item in self.inner:
            self.budget.turn()
            yield item

    def __reversed__(self) -> Iterator[int]:
        return iter(_Range(self.inner[::-1], self.budget))

    def __len__(self) -> int:
        return len(self.inner)

    def __contains__(self, item: object) -> bool:
        return item in self.inner

    def __getitem__(self, index: Any) -> Any:
        item = self.inner[index]
        return _Range(item, self.budget) if isinstance(item, range) else item

    def __repr__(self) -> str:
        return repr(self.inner)


def _size(value: object) -> int:
    """The length of a string, list or mapping; 0 for anything else."""
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        return len(value)
    return 0


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:20] + "…" + text[-5:]


# A width or precision in a format string: "%10000s", "%.5f", "{:>10000}", "{0:10000.2f}".
_WIDTHS = re.compile(r"(?:%[-#0 +]*|\{[^{}:]*:[^{}\d]*)(\d+)(?:\.(\d+))?")


class BookSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with the limits above and errors that name a book's file."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, book: Book, **options: Any) -> None:
        super().__init__(**options)
        self.book_root = book.root
        self.book_dirs = book.theme_dirs
        self.budget = _Budget()
        self.own_sources: dict[str, str] = {}  # the book's templates loaded, by shown path
        text = sum(len(e.body_html) + sum(len(n.html) for n in e.footnotes) for e in book.all_texts)
        self.most = MIN_TEXT + 4 * text
        self.globals["range"] = self._range
        self.globals["lipsum"] = self._lipsum
        self.filters = {name: self._bounded(name, f) for name, f in self.filters.items()}

    # Where a template may use time or memory without bound

    def _range(self, *args: int) -> _Range:
        inner = range(*args)
        if len(inner) > MAX_RANGE:
            raise TemplateLimit(f"{inner!r} has {len(inner):,} items; at most {MAX_RANGE:,}")
        return _Range(inner, self.budget)

    def _lipsum(self, n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
        if n > MAX_PARAGRAPHS or min > MAX_WORDS or max > MAX_WORDS:
            raise TemplateLimit(
                f"lipsum({n}, min={min}, max={max}): at most {MAX_PARAGRAPHS} paragraphs"
                f" of {MAX_WORDS:,} words"
            )
        return str(jinja2.utils.generate_lorem_ipsum(n, html, min, max))

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        self.budget.tick()
        what = f"{_shown(left)} {operator} {_shown(right)}"
        if operator == "*":
            self._check_repeat(what, left, right)
        elif operator == "+":
            self._check_length(what, _size(left) + _size(right))
        elif operator == "**" and _is_int(left) and _is_int(right) and right > 0:
            self._check_bits(what, max(left.bit_length(), 1) * right)
        elif operator == "%" and isinstance(left, str):
            self._check_format(what, left, right if isinstance(right, tuple) else (right,))
        result = super().call_binop(context, operator, left, right)
        self._check_length(what, _size(result))
        return result

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.budget.tick()
        self._check_arguments(f"{_name(obj)}()", obj, args, kwargs)
        result = super().call(context, obj, *args, **kwargs)
        self._check_length(f"{_name(obj)}()", _size(result))
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.budget.tick()
        if isinstance(obj, TemplateModule) and not hasattr(obj, attribute):
            self.check_exports(obj.__name__ or "", attribute)
        return super().getattr(obj, attribute)

    def check_exports(self, name: str, attribute: str) -> None:
        """A book's template in place of a packaged one must define what the theme uses."""
        if not name or attribute.startswith("_"):
            return
        shown = self._shown_file(self.get_template(name).filename)
        if shown is not None:
            message = f"defines no macro '{attribute}', which the theme uses: copy it"
            raise TemplateError([Problem(shown, message)])

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.budget.tick()
        return super().getitem(obj, argument)

    def concat(self, parts: Iterable[str]) -> str:
        """A template's output joined, its size and time checked as it comes."""
        collected = []
        size = 0
        for part in parts:
            size += len(part)
            try:
                self.budget.tick()
                self._check_length("the output", size)
            except TemplateLimit as limit:
                if isinstance(parts, Generator):
                    parts.throw(limit)  # raised where the template is, at its line
                raise
            collected.append(part)
        return "".join(collected)

    def _joined(self, join: Callable[[Any], str]) -> Callable[[Any], str]:
        """`~` in a template: its result's size checked before it is made."""

        def joined(seq: Any) -> str:
            items = list(seq)
            self._check_length("~", sum(len(i) if isinstance(i, str) else 32 for i in items))
            return join(items)

        return joined

    def _bounded(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """A filter with its arguments and its result checked."""
        what = f"|{name}"

        @functools.wraps(function)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            self.budget.tick()
            self._check_arguments(what, function, args, kwargs)
            result = function(*args, **kwargs)
            self._check_length(what, _size(result))
            return result

        return bounded

    def _check_arguments(
        self, what: str, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """Numbers that size a result (a width, a count) and strings repeated in it."""
        values = [*args, *kwargs.values()]
        for value in values:
            if _is_int(value) and value > self.most:
                raise TemplateLimit(f"{what} given {value:,}; at most {self.most:,}")
        strings = [v for v in values if isinstance(v, str)]
        bound = getattr(inspect.unwrap(obj), "__self__", None)
        if isinstance(bound, str):
            strings.insert(0, bound)
            if what in {"format()", "format_map()"}:
                self._check_format(what, bound, values)
        if what.strip("|()") in {"replace", "join", "indent"}:
            # each item or line may get the longest string: a bound on the result
            items = [len(s) + 1 for s in strings] + [_size(v) + 1 for v in values]
            longest = max((len(s) for s in strings), default=0)
            self._check_length(what, max(items, default=0) * longest)

    def _check_format(self, what: str, form: str, values: Iterable[Any]) -> None:
        for match in _WIDTHS.finditer(form):
            for number in match.groups():
                if number and int(number) > self.most:
                    raise TemplateLimit(f"{what}: width {int(number):,}; at most {self.most:,}")
        if "*" in form:
            for value in values:
                if _is_int(value) and value > self.most:
                    raise TemplateLimit(f"{what}: width {value:,}; at most {self.most:,}")

    def _check_repeat(self, what: str, left: Any, right: Any) -> None:
        if _is_int(left) and _is_int(right):
            self._check_bits(what, left.bit_length() + right.bit_length())
        elif _is_int(right):
            self._check_length(what, _size(left) * right)
        elif _is_int(left):
            self._check_length(what, _size(right) * left)

    def _check_length(self, what: str, length: int) -> None:
        if length > self.most:
            raise TemplateLimit(
                f"{what} makes {length:,} characters or items; at most {self.most:,}"
            )

    def _check_bits(self, what: str, bits: int) -> None:
        if bits > MAX_BITS:
            raise TemplateLimit(f"{what} makes a number of {bits:,} bits; at most {MAX_BITS:,}")

    # What a book's template writes

    def check_written(self, output: Any, rendered: str | None) -> None:
        """Refuse output that runs, fetches or navigates outside the book (written.py),
        once a template of the book's has been loaded: until then it is all ours."""
        if not self.own_sources or not isinstance(output, str):
            return
        found = refusal(output)
        if found is not None:
            raise TemplateError([self._written_problem(found, rendered)])

    def _written_problem(self, found: Refusal, rendered: str | None) -> Problem:
        """The refusal at the first line of the book's templates that holds its text (the
        rendered template's first); without its line when the text was computed."""
        first = self._shown_file(rendered)
        ordered = sorted(self.own_sources.items(), key=lambda item: item[0] != first)
        needle = found.needle.lower()
        for shown, source in ordered:
            at = source.lower().find(needle)
            if at >= 0:
                return Problem(shown, found.message, source.count("\n", 0, at) + 1)
        return Problem(ordered[0][0], found.message)

    # Errors said as a book's file and line

    def handle_exception(self, source: str | None = None) -> NoReturn:
        error = sys.exc_info()[1]
        problem = self.book_problem(error) if isinstance(error, Exception) else None
        if problem is not None:
            raise TemplateError([problem]) from error
        super().handle_exception(source)

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Errors of a book's template raised inside as TemplateErrors (exit 2)."""
        try:
            with self.budget.running():
                yield
        except BookError:
            raise
        except Exception as error:
            problem = self.book_problem(error)
            if problem is None:
                raise
            raise TemplateError([problem]) from error

    def book_problem(self, error: Exception) -> Problem | None:
        """The error as a Problem at its place in the book's innermost template, or None
        when no template of the book's is involved (the error is make-book's own)."""
        if isinstance(error, BookError):
            return None
        place: tuple[str, int] | None = None
        if isinstance(error, jinja2.TemplateSyntaxError):
            shown = self._shown_file(error.filename)
            place = (shown, error.lineno) if shown else None
        else:
            trace = error.__traceback__
            while trace is not None:
                template = trace.tb_frame.f_globals.get("__jinja_template__")
                shown = self._shown_file(template.filename) if template is not None else None
                if shown and template is not None:
                    place = (shown, template.get_corresponding_lineno(trace.tb_lineno))
                trace = trace.tb_next
        if place is None:
            return None
        return Problem(place[0], _message(error), place[1])

    def _shown_file(self, filename: str | None) -> str | None:
        """A template file's path in the book folder, if it is one of the book's."""
        if filename is None:
            return None
        path = Path(filename)
        if any(path.is_relative_to(d) for d in self.book_dirs):
            return path.relative_to(self.book_root).as_posix()
        return None


class _BookTemplate(jinja2.Template):
    """A template of the sandbox: rendered within its limits, its errors translated."""

    environment: BookSandbox

    @classmethod
    def from_code(
        cls,
        environment: jinja2.Environment,
        code: Any,
        globals: Any,  # noqa: A002 - Jinja's name
        uptodate: Callable[[], bool] | None = None,
    ) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        if isinstance(environment, BookSandbox):  # `~` is compiled to these two: checked
            namespace = template.root_render_func.__globals__
            namespace["str_join"] = environment._joined(str_join)
            namespace["markup_join"] = environment._joined(markup_join)
            shown = environment._shown_file(template.filename)
            if shown is not None and template.filename is not None:
                source = Path(template.filename).read_text(encoding="utf-8", errors="replace")
                environment.own_sources[shown] = source
        return template

    def render(self, *args: Any, **kwargs: Any) -> str:
        with self.environment.translated():
            output = super().render(*args, **kwargs)
        self.environment.check_written(output, self.filename)
        return output

    @property
    def module(self) -> Any:
        """The template's macros, for a renderer to call: each call checked and translated."""
        with self.environment.translated():
            return _Module(super().module, self.environment, self.name or "", self.filename)


BookSandbox.template_class = _BookTemplate


class _Module:
    """A template's module as the renderers see it: its macros called within the limits."""

    def __init__(self, module: Any, env: BookSandbox, name: str, filename: str | None) -> None:
        self._module = module
        self._env = env
        self._name = name
        self._filename = filename

    def __getattr__(self, name: str) -> Any:
        try:
            value = getattr(self._module, name)
        except (AttributeError, jinja2.UndefinedError):
            self._env.check_exports(self._name, name)
            raise
        if not callable(value):
            return value
        env = self._env

        def call(*args: Any, **kwargs: Any) -> Any:
            with env.translated():
                output = value(*args, **kwargs)
            env.check_written(output, self._filename)
            return output

        return call

    def __str__(self) -> str:
        return str(self._module)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name(obj: Any) -> str:
    return str(getattr(inspect.unwrap(obj), "__name__", type(obj).__name__))


def _message(error: Exception) -> str:
    """What is wrong, in the words Jinja (or the limit) gives."""
    if isinstance(error, jinja2.TemplateSyntaxError):
        return error.message or "syntax error"
    if isinstance(error, jinja2.TemplateNotFound):
        return f"no template named '{error.name}'"
    if isinstance(error, (jinja2.TemplateError, TemplateLimit)):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


_PARSER = ImmutableSandboxedEnvironment(**TEMPLATE_OPTIONS)


def template_problem(source: str, shown: str) -> Problem | None:
    """A syntax error in a book's template `shown`, found before anything is rendered."""
    try:
        _PARSER.parse(source, shown, shown)
    except jinja2.TemplateSyntaxError as error:
        return Problem(shown, _message(error), error.lineno)
    return None

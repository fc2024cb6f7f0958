"""Compiled templates kept between builds: Jinja's bytecode cache, in the sealed cache.

Compiling the theme's templates is a tenth of an edit rebuild (about 0.15 s: print-piece,
the EPUB's pages and their macros, each build anew). Jinja can keep the compiled code
(`jinja2.BytecodeCache`); its own buckets serialize a checksum with pickle, so this
cache stores the code alone, with marshal, under a key that holds the checksum and
everything else that changes the code. Entries are sealed with this machine's key like
every other (folder.py): a book folder from anyone cannot bring code of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import marshal
import types
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import jinja2

from make_book.cache.folder import CacheFolder
from make_book.cache.memo import key_of

KIND = "templates"
THEME_CODE = Path(__file__).resolve().parent.parent / "theme"  # named, not imported (layers)


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates, in the cache (None: compiled every build)."""

    def __init__(self, cache: CacheFolder | None) -> None:
        self.cache = cache

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if self.cache is None:
            return
        data = self.cache.read(self._place(bucket))  # marked in use: not pruned
        if data is None:
            return
        with contextlib.suppress(ValueError, EOFError, TypeError):
            code = marshal.loads(data)
            if isinstance(code, types.CodeType):
                bucket.code = code

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if self.cache is None or bucket.code is None:
            return
        with contextlib.suppress(OSError):  # an entry not kept is only compiled again
            self.cache.write(self._place(bucket), marshal.dumps(bucket.code))

    def _place(self, bucket: jinja2.bccache.Bucket) -> str:
        assert self.cache is not None
        return f"{KIND}/{self.cache.name(code_key(bucket))}"


def code_key(bucket: jinja2.bccache.Bucket) -> str:
    """What the compiled code depends on: the template (Jinja's key names it and its file,
    the checksum is its source's), the environment's class, options, operators it
    intercepts, filters and tests (which exist, and what context each is passed), the
    theme code that makes the environments, Jinja's version and the bytecode format."""
    env = bucket.environment
    syntax = (
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
    )
    options = (
        type(env).__module__,
        type(env).__qualname__,
        env.autoescape if isinstance(env.autoescape, bool) else "autoescape by name",
        env.trim_blocks,
        env.lstrip_blocks,
        env.keep_trailing_newline,
        env.newline_sequence,
        env.optimized,
        env.is_async,
        env.finalize is not None,
        sorted(env.extensions),
        syntax,
        sorted(getattr(env, "intercepted_binops", ())),
        sorted(getattr(env, "intercepted_unops", ())),
        _callables(env.filters),
        _callables(env.tests),
    )
    return key_of(
        KIND,
        importlib.util.MAGIC_NUMBER,
        jinja2.__version__,
        _theme_code(),
        options,
        bucket.key,
        bucket.checksum,
    )


def _callables(named: Mapping[str, object]) -> list[tuple[str, str]]:
    """Each filter's or test's name, and what Jinja's compiler passes it (context or not)."""
    # Jinja's pass_context and its kin mark a callable with this attribute.
    return sorted((name, str(getattr(f, "jinja_pass_arg", ""))) for name, f in named.items())


@lru_cache(maxsize=1)
def _theme_code() -> str:
    """The code that makes make-book's environments (the sandbox above all): a change to
    it in a checkout, where the version stays, is new compiled code."""
    digest = hashlib.sha256()
    for path in sorted(THEME_CODE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()

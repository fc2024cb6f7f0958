"""Results kept between builds, under the hash of everything that made them.

Markdown to HTML and settling the HTML are the slow parts of loading a book
(most of an edit rebuild's loading, unremembered), and an essay's EPUB page
the slow part of the EPUB: both are pure functions of their inputs, stored as
JSON or as the bytes themselves (never pickle). A cache folder can come with a book
from anyone: entries are named and sealed with this machine's key (folder.py,
trust.py), and one that is not sealed by it, or cannot be read, is made again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from make_book import __version__
from make_book.cache.folder import CacheFolder
from make_book.model import EpigraphText, Essay, Footnote
from make_book.source import markup
from make_book.source.conversions import MadeEssay
from make_book.source.fragment import EssayBody, essay_body

T = TypeVar("T", markup.Converted, EssayBody, MadeEssay)  # what the memo remembers


# Changes when the Markdown rules do within a version (2: a class after a link; 3: links
# made valid URLs and structure repaired, source/structure.py), so
# that no conversion made under the old rules is taken from the cache.
MARKDOWN_RULES = 3


class ConversionMemo:
    """An essay's Markdown conversion and settling (fragment.py), remembered under
    `folder` (None: not remembered)."""

    def __init__(self, folder: Path | None) -> None:
        self.cache = CacheFolder.open(folder)
        self.new: dict[str, markup.Converted | EssayBody | MadeEssay] = {}  # written by `keep`
        self.anew: set[str] = set()  # slugs of the essays made from their files, not remembered
        self.remembered = 0  # essays taken whole from the memo

    def markdown_essay(self, text: str, language: str) -> markup.Converted:
        key = key_of(MARKDOWN_RULES, language, text)
        return self._remembered(
            "converted", key, _converted, lambda: markup.markdown_essay(text, language)
        )

    def essay_body(self, fragment: str, slug: str, title: str | None) -> EssayBody:
        key = key_of(fragment, slug, title)
        return self._remembered(
            "bodies", key, _essay_body, lambda: essay_body(fragment, slug, title)
        )

    def essay(self, key: str, make: Callable[[], MadeEssay]) -> MadeEssay:
        """A whole essay, remembered unless it read more than its file (its images).

        Its conversion and body are kept only for an essay not remembered whole: a cold
        build of 300 essays writes 300 entries, not 900. What that gives up: an essay
        renamed, whose front matter alone changed, or read by changed code is converted
        again (about 6 ms an essay) rather than taken from the memo."""
        before, making = set(self.new), _Making(make)
        made = self._remembered("essays", key, _made_essay, making, lambda m: m.lasting)
        if making.made:
            self.anew.add(made.essay.slug)
        elif self.cache is not None:
            self.remembered += 1
        if made.lasting:
            for place in set(self.new) - before:
                if not place.startswith("essays/"):
                    del self.new[place]
        return made

    def _remembered(
        self,
        kind: str,
        key: str,
        load: Callable[[Any], T],
        make: Callable[[], T],
        worth_keeping: Callable[[T], bool] = lambda _: True,
    ) -> T:
        if self.cache is None:
            return make()
        place = f"{kind}/{self.cache.name(key)}.json"
        data = self.cache.read(place)  # marked in use: not pruned (folder.py)
        if data is not None:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                return load(json.loads(data))
        made = make()
        if worth_keeping(made):
            self.new[place] = made
        return made

    def edited(self) -> frozenset[str]:
        """The slugs of the essays an edit changed (or added): made from their files, when
        others were remembered. None in a first build, or one whose memo was all stale
        (every essay new: nothing to tell apart), nor without a cache. Essays that read
        images are made anew at every build, and are among them."""
        return frozenset(self.anew) if self.remembered else frozenset()

    def keep(self) -> None:
        """Write the new entries: only a book that loads (bad input changes nothing)."""
        for place, made in self.new.items():
            if self.cache is not None:
                with contextlib.suppress(OSError):  # an entry not kept is only made again
                    data = json.dumps(asdict(made), default=_path_string)
                    self.cache.write(place, data.encode())
        self.new.clear()

    @contextlib.contextmanager
    def kept_meanwhile(self) -> Iterator[None]:
        """`keep` in a thread while the build goes on (a cold build writes an entry or
        three per essay: most of a second the layout need not wait for); joined on exit,
        so the build ends with its entries written."""
        failed: list[BaseException] = []

        def keep() -> None:
            try:
                self.keep()
            except BaseException as error:  # noqa: BLE001 - raised again in the build's thread
                failed.append(error)

        writer = threading.Thread(target=keep, name="make-book-memo")
        writer.start()
        try:
            yield
        finally:
            writer.join()
        if failed:  # what failed the build when it was written in the build's own thread
            raise failed[0]


class _Making:
    """`make`, noting whether it was called (the essay was not remembered)."""

    def __init__(self, make: Callable[[], MadeEssay]) -> None:
        self.make, self.made = make, False

    def __call__(self) -> MadeEssay:
        self.made = True
        return self.make()


def _converted(data: dict[str, Any]) -> markup.Converted:
    return markup.Converted(
        html=str(data["html"]),
        findings=tuple(markup.Finding(**f) for f in data["findings"]),
        images=tuple(data["images"]),
        start=int(data["start"]),
    )


def _essay_body(data: dict[str, Any]) -> EssayBody:
    return EssayBody(
        body_html=str(data["body_html"]),
        footnotes=tuple(Footnote(**note) for note in data["footnotes"]),
        leading_heading_html=str(data["leading_heading_html"]),
        image_sources=tuple(data["image_sources"]),
        images_without_alt=tuple(data["images_without_alt"]),
        word_count=int(data["word_count"]),
    )


def _path_string(value: object) -> str:
    if not isinstance(value, Path):
        raise TypeError(f"{type(value).__name__} is not remembered")
    return str(value)


def _made_essay(data: dict[str, Any]) -> MadeEssay:
    fields = dict(data["essay"])
    epigraph = fields["epigraph"]
    essay = Essay(
        **fields
        | {
            "source_path": Path(fields["source_path"]),
            "authors": tuple(fields["authors"]),
            "translators": tuple(fields["translators"]),
            "epigraph": EpigraphText(**epigraph) if epigraph is not None else None,
            "footnotes": tuple(Footnote(**note) for note in fields["footnotes"]),
            "images": tuple(Path(image) for image in fields["images"]),
        }
    )
    return MadeEssay(essay, tuple(str(w) for w in data["warnings"]), bool(data["lasting"]))


class BlobMemo:
    """Bytes by key under `folder/namespace` (folder None: nothing is kept), and in this
    process's memory too with `held` (what one renderer makes or reads ahead, then uses)."""

    def __init__(self, folder: Path | None, namespace: str, held: bool = False) -> None:
        self.cache = CacheFolder.open(folder)
        self.namespace = namespace
        self.held: dict[str, bytes] | None = {} if held else None

    def get(self, key: str) -> bytes | None:
        if self.held is not None and key in self.held:
            return self.held[key]
        if self.cache is None:
            return None
        data = self.cache.read(self._place(key))  # marked in use: not pruned
        if data is not None and self.held is not None:
            self.held[key] = data  # asked again in this build (drafted, then used)
        return data

    def put(self, key: str, data: bytes) -> None:
        if self.held is not None:
            self.held[key] = data
        if self.cache is not None:
            with contextlib.suppress(OSError):  # an entry not kept is only made again
                self.cache.write(self._place(key), data)

    def made(self, key: str, make: Callable[[], bytes]) -> bytes:
        """What is kept under `key`, or else what `make()` gives, kept there."""
        data = self.get(key)
        if data is None:
            data = make()
            self.put(key, data)
        return data

    def _place(self, key: str) -> str:
        assert self.cache is not None
        return f"{self.namespace}/{self.cache.name(key)}"


def key_of(*parts: object) -> str:
    """The hash of the parts' reprs (dataclasses and tuples give stable ones)."""
    digest = hashlib.sha256(__version__.encode())
    for part in parts:
        digest.update(b"\0" + repr(part).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()

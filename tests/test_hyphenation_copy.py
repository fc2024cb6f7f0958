"""patches/hyphenation.py: pyphen's dictionaries parsed once per machine, kept as JSON.

Each test has its own XDG_CACHE_HOME and an empty `pyphen.hdcache` (pyphen's cache of
parsed dictionaries, which `Pyphen` looks in by the module's global name)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyphen
import pytest

from helpers import python_says
from make_book.render.weasy.patches import hyphenation

WORDS = ["hyphenation", "typographers", "anthology", "extraordinary", "Montaigne", "a"]


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty user cache and no dictionary parsed; returns en-US's dictionary path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setattr(pyphen, "hdcache", {})
    path: Path = pyphen.LANGUAGES[pyphen.language_fallback("en-US")]
    return path


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every parse pyphen makes from now on."""
    parsed: list[Path] = []
    real = pyphen.HyphDict.__init__

    def counting(self: Any, path: Path) -> None:
        parsed.append(path)
        real(self, path)

    monkeypatch.setattr(pyphen.HyphDict, "__init__", counting)
    return parsed


def _hyphenated(language: str) -> list[str]:
    dictionary = pyphen.Pyphen(lang=language)
    return [dictionary.inserted(word) for word in WORDS]


def test_the_first_process_parses_and_keeps_a_copy(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = _parses(monkeypatch)
    hyphenation.preload("en-US")
    assert parses == [fresh]
    assert fresh in pyphen.hdcache
    assert hyphenation._copy_path(fresh).is_file()
    assert hyphenation._copy_path(fresh).parent == hyphenation.folder()


def test_the_next_reads_the_copy_and_hyphenates_the_same(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hyphenation.preload("en-US")
    parsed = pyphen.hdcache.pop(fresh)
    expected = _hyphenated("en-US")
    pyphen.hdcache.clear()
    parses = _parses(monkeypatch)

    hyphenation.preload("en-US")
    restored = pyphen.hdcache[fresh]
    assert parses == []
    assert restored.patterns == parsed.patterns
    assert restored.maxlen == parsed.maxlen
    assert sorted(vars(restored)) == sorted(vars(parsed))
    assert pyphen.Pyphen(lang="en-US").hd is restored  # pyphen takes it from its cache
    assert _hyphenated("en-US") == expected
    assert parses == []


@pytest.mark.parametrize(
    "spoil",
    [
        lambda copy: {**copy, "source": [copy["source"][0] + 1, copy["source"][1]]},
        lambda copy: {**copy, "pyphen": "0.0.1"},
        lambda copy: {**copy, "format": hyphenation.FORMAT + 1},
        lambda copy: {**copy, "attributes": ["patterns"]},
        lambda copy: {**copy, "table": [["one", [1]], *copy["table"][1:]]},
        lambda copy: {**copy, "table": [[0, ["1"]], *copy["table"][1:]]},
        lambda copy: {**copy, "keys": [1, *copy["keys"][1:]]},
        lambda copy: {**copy, "index": copy["index"][1:]},
        lambda copy: {**copy, "index": [10**9, *copy["index"][1:]]},
        lambda copy: {**copy, "maxlen": "19"},
        lambda copy: [copy],
        lambda copy: "not a copy",
    ],
)
def test_a_stale_or_spoiled_copy_is_parsed_over(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, spoil: Any
) -> None:
    hyphenation.preload("en-US")
    expected = pyphen.hdcache.pop(fresh).patterns
    copy = hyphenation._copy_path(fresh)
    copy.write_text(json.dumps(spoil(json.loads(copy.read_bytes()))))
    parses = _parses(monkeypatch)

    hyphenation.preload("en-US")
    assert parses == [fresh]
    assert pyphen.hdcache[fresh].patterns == expected
    assert json.loads(copy.read_bytes())["source"] == hyphenation._source(fresh)  # written again


@pytest.mark.parametrize("written", [b"\x00\xff{not json", b"[" * 100_000])
def test_a_copy_that_is_not_json_is_parsed_over(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, written: bytes
) -> None:
    copy = hyphenation._copy_path(fresh)
    copy.parent.mkdir(parents=True)
    copy.write_bytes(written)
    parses = _parses(monkeypatch)
    hyphenation.preload("en-US")
    assert parses == [fresh]
    assert json.loads(copy.read_bytes())["format"] == hyphenation.FORMAT


def test_a_copy_that_is_not_a_file_is_not_waited_for(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = hyphenation._copy_path(fresh)
    copy.parent.mkdir(parents=True)
    os.mkfifo(copy)  # reading it would wait for a writer for ever
    parses = _parses(monkeypatch)
    hyphenation.preload("en-US")
    assert parses == [fresh]
    assert fresh in pyphen.hdcache


def test_each_install_of_pyphen_keeps_its_own_copy() -> None:
    """Two virtual environments' dictionaries differ in time: one copy would be written
    over by each in turn, and parsed again every time."""
    one, other = (Path(root) / "pyphen" / "hyph_en_US.dic" for root in ("/venv-a", "/venv-b"))
    assert hyphenation._copy_path(one) != hyphenation._copy_path(other)
    assert hyphenation._copy_path(one).name.startswith("hyph_en_US-")


def test_nowhere_to_keep_the_copy_only_parses(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file: no folder can go there
    hyphenation.preload("en-US")
    assert fresh in pyphen.hdcache


def test_a_language_without_a_dictionary_does_nothing(fresh: Path) -> None:
    hyphenation.preload("tlh")
    hyphenation.preload("")
    assert pyphen.hdcache == {}
    assert not hyphenation.folder().exists()


def test_a_dictionary_with_alternatives_is_not_copied(fresh: Path) -> None:
    """Hungarian's patterns hold pyphen objects of their own, not only numbers."""
    hyphenation.preload("hu")
    path = pyphen.LANGUAGES[pyphen.language_fallback("hu")]
    assert path in pyphen.hdcache
    assert not hyphenation._copy_path(path).exists()


# The fence: what of pyphen this relies on.


def test_pyphen_is_the_shape_it_was_written_for() -> None:
    assert hyphenation.shape_problem() is None


def test_a_parsed_dictionary_holds_what_a_copy_restores(fresh: Path) -> None:
    parsed = pyphen.HyphDict(fresh)
    assert sorted(vars(parsed)) == hyphenation.ATTRIBUTES
    assert all(
        isinstance(start, int) and isinstance(values, tuple)
        for start, values in parsed.patterns.values()
    )


def test_pyphen_takes_a_dictionary_from_its_cache(fresh: Path) -> None:
    planted = pyphen.HyphDict.__new__(pyphen.HyphDict)
    pyphen.hdcache[fresh] = planted
    assert pyphen.Pyphen(lang="en-US").hd is planted


def test_without_its_cache_pyphen_is_left_to_parse(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(pyphen, "hdcache")
    assert hyphenation.shape_problem() == "pyphen.hdcache is missing"
    hyphenation.preload("en-US")  # does nothing, raises nothing
    assert not hyphenation.folder().exists()


# In a layout worker.


def test_a_workers_warm_up_reads_the_copy_the_first_one_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes: the first parses and keeps a copy; the second parses nothing."""
    counting = (
        "import json, pyphen; parsed = []; real = pyphen.HyphDict.__init__\n"
        "def counting(self, path): parsed.append(str(path)); real(self, path)\n"
        "pyphen.HyphDict.__init__ = counting\n"
        "from make_book.render.pdf.layout import worker; worker._warm_up()\n"
        "print(json.dumps(parsed))"
    )
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    runs = [python_says(counting) for _ in range(2)]
    assert [code for code, _, _ in runs] == [0, 0], runs
    first, second = (json.loads(out) for _, out, _ in runs)
    assert len(first) == 1
    assert second == []
    assert list((tmp_path / "make-book" / "hyphenation").glob("*.json"))

"""The schema's table and what is derived from it agree: the loader, the model, the
front matter reader, the JSON Schema (`make-book schema`) and docs/book-yaml.md."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from make_book.cli import main
from make_book.errors import BookError
from make_book.source import essay_files, schema
from make_book.source.essay_files import read_source
from make_book.source.manifest import _Checker, load_manifest
from make_book.source.manifest_types import BackMatter, FrontMatter, Manifest, PdfSettings
from make_book.source.schema_export import json_schema, markdown

REPO = Path(__file__).parent.parent
BOOKS = REPO / "tests/books"
# Fixtures whose book.yaml is wrong in itself (bad-paths names /etc/passwd, which is
# no essay file by its name); the others' problems are in the files they name.
NOT_SCHEMA_VALID = {"bad-types", "bad-yaml", "bad-paths"}
MANIFESTS = [
    REPO / "book.yaml",
    REPO / "examples/montaigne/book.yaml",
    REPO / "src/make_book/starter/book.yaml",
    *(p for p in sorted(BOOKS.glob("*/book.yaml")) if p.parent.name not in NOT_SCHEMA_VALID),
]


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as editors read it for a JSON Schema: dates are strings, `no` is not false."""


def _as_written(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """A timestamp as its text; a boolean only when written true or false."""
    text = loader.construct_scalar(node)
    if node.tag.endswith(":bool") and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


_Yaml12Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_written)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _as_written)


def yaml12(text: str) -> object:
    """`text` read as YAML 1.2 would read it, into JSON values."""
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506  # a SafeLoader


def schema_errors(text: str, root: schema.Section = schema.BOOK) -> list[str]:
    """Where the JSON Schema finds `text` wrong, as key paths."""
    validator = jsonschema.Draft202012Validator(json_schema(root))
    errors = validator.iter_errors(yaml12(text))
    return sorted(".".join(map(str, e.absolute_path)) for e in errors)


def test_the_json_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())
    jsonschema.Draft202012Validator.check_schema(json_schema(schema.ESSAY_META))


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_fixture_book_yaml_is_valid(manifest: Path) -> None:
    assert schema_errors(manifest.read_text("utf-8")) == []


def test_bad_paths_are_wrong_by_the_schema_too() -> None:
    text = (BOOKS / "bad-paths/book.yaml").read_text("utf-8")
    assert schema_errors(text) == ["contents.2"]


def test_a_book_yaml_of_wrong_types_is_wrong_where_the_loader_says() -> None:
    manifest = BOOKS / "bad-types/book.yaml"
    with pytest.raises(BookError) as caught:
        load_manifest(manifest)
    said = {str(p).split(": ")[1] for p in caught.value.problems}
    assert set(schema_errors(manifest.read_text("utf-8"))) == said


def test_make_book_schema_prints_the_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json_schema()
    result = CliRunner().invoke(main, ["schema", "--front-matter"])
    assert json.loads(result.output) == json_schema(schema.ESSAY_META)


def test_the_reference_is_current() -> None:
    written = (REPO / "docs/book-yaml.md").read_text("utf-8")
    assert written == markdown(), "run: make-book schema --markdown > docs/book-yaml.md"
    assert CliRunner().invoke(main, ["schema", "--markdown"]).output == written


def test_every_key_is_in_the_reference() -> None:
    reference = markdown()
    for section in schema.SECTIONS:
        for key in section.keys:
            assert f"| `{key.name}`" in reference
            assert key.doc in reference


# The model


MODELS: list[tuple[schema.Section, type[Any], dict[str, set[str]]]] = [
    (schema.BOOK, Manifest, {"": {"path"}}),
    (schema.FRONT, FrontMatter, {}),
    (schema.BACK, BackMatter, {}),
    (
        schema.PDF,
        PdfSettings,
        {"margins": {f"margin_{k}" for k in schema.MARGINS.names}, "paper": {"paper_thickness"}},
    ),
]


@pytest.mark.parametrize(
    ("section", "model", "extra"), MODELS, ids=lambda x: getattr(x, "name", "")
)
def test_the_model_has_a_field_for_every_key(
    section: schema.Section, model: type[Any], extra: dict[str, set[str]]
) -> None:
    fields = {f.name for f in dataclasses.fields(model)}
    keys = {key.field for key in section.keys if key.name not in extra} | set().union(
        *extra.values()
    )
    assert fields == keys | ({"paper"} if model is PdfSettings else set())


def test_the_models_defaults_are_the_tables() -> None:
    pdf = PdfSettings()
    assert (pdf.trim, pdf.font_size, pdf.line_height) == ((6.0, 9.0), 10.5, 1.35)
    assert (pdf.margin_top, pdf.margin_bottom, pdf.margin_inside, pdf.margin_outside) == (
        0.75,
        0.85,
        0.875,
        0.625,
    )
    assert (pdf.profile, pdf.bleed, pdf.paper, pdf.paper_thickness) == (
        "screen",
        False,
        "white",
        0.002252,
    )
    assert BackMatter().contributors and BackMatter().sources
    manifest = Manifest(Path("book.yaml"), "T", ())
    assert (manifest.language, manifest.theme) == ("en", "default")


def test_every_kind_has_a_reader() -> None:
    kinds = {key.kind.name for s in schema.SECTIONS for key in s.keys if key.section is None}
    assert kinds <= set(_Checker("book.yaml", Path()).readers)
    meta_kinds = {key.kind.name for key in schema.ESSAY_META.keys}
    assert meta_kinds <= set(essay_files._CHECKS)


# The loader, the front matter reader and the JSON Schema judge the same values alike.

SAMPLES: list[tuple[str, str, bool]] = [
    ("title", "1984", True),
    ("title", "'  '", False),
    ("title", "[a]", False),
    ("title", '"T\\x05"', False),
    ("language", "en-GB", True),
    ("language", "no", True),
    ("language", "english!", False),
    ("language", "'12'", False),
    ("date", "2024", True),
    ("date", "'2024-05'", True),
    ("date", "2024-05-01", True),
    ("date", "March 2025", False),
    ("date", "2024-13", False),
    ("date", "2025-03-01 10:00:00", False),
    ("author", "[Ann, Bo]", True),
    ("author", "{a: b}", False),
    ("author", "[A, [B]]", False),
    ("epigraph", "Be still.", True),
    ("epigraph", "{text: Hush., source: Anon}", True),
    ("epigraph", "{source: Anon}", False),
    ("epigraph", "{text: Hush., sorce: Anon}", False),
    ("theme", "default", True),
    ("theme", "fancy", False),
    ("cover", "cover.jpg", True),
    ("cover", "cover.gif", False),
    ("subjects", "[Essays, Film]", True),
    ("pdf.trim", "a5", True),
    ("pdf.trim", "148 x 210 mm", True),
    ("pdf.trim", "6x9", False),
    ("pdf.margins.top", "18mm", True),
    ("pdf.margins.top", "0.75", False),
    ("pdf.margins", "1in", False),
    ("pdf.font_size", "11", True),
    ("pdf.font_size", "10.5pt", True),
    ("pdf.font_size", "30", False),
    ("pdf.font_size", "12px", False),
    ("pdf.line_height", "1.4", True),
    ("pdf.line_height", "3", False),
    ("pdf.font_family", "EB Garamond", True),
    ("pdf.font_family", "'a\"; }'", False),
    ("pdf.profile", "kdp", True),
    ("pdf.profile", "lulu", False),
    ("pdf.paper", "cream", True),
    ("pdf.paper", "0.0023in", True),
    ("pdf.paper", "thick", False),
    ("pdf.bleed", "true", True),
    ("pdf.bleed", "'no'", False),
    ("back_matter.contributors", "false", True),
    ("front_matter.foreword", "foreword.md", True),
    ("front_matter.forword", "foreword.md", False),
    ("colour", "red", False),
]


def nested(path: str, value: str) -> str:
    """The YAML lines setting the key at dotted `path` to `value`."""
    *parents, key = path.split(".")
    lines = [f"{'  ' * depth}{name}:" for depth, name in enumerate(parents)]
    return "\n".join([*lines, f"{'  ' * len(parents)}{key}: {value}"]) + "\n"


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A book folder with two essays and a cover."""
    for name in ("a.md", "foreword.md", "cover.gif"):
        (tmp_path / name).write_text("# An essay\n\nText.\n", encoding="utf-8")
    Image.new("RGB", (4, 6), "white").save(tmp_path / "cover.jpg")
    return tmp_path


def loader_accepts(manifest: Path, text: str) -> bool:
    """Whether load_manifest accepts book.yaml `text`."""
    manifest.write_text(text, encoding="utf-8")
    try:
        load_manifest(manifest)
    except BookError:
        return False
    return True


@pytest.mark.parametrize(("path", "value", "valid"), SAMPLES, ids=lambda x: str(x))
def test_book_yaml_loader_and_schema_agree(book: Path, path: str, value: str, valid: bool) -> None:
    path = {"epigraph": "front_matter.epigraph"}.get(path, path)  # book.yaml's own
    text = "title: T\ncontents: [a.md]\n" + nested(path, value)
    if path == "title":
        text = "contents: [a.md]\n" + nested(path, value)
    assert loader_accepts(book / "book.yaml", text) is valid
    assert (schema_errors(text) == []) is valid


META_SAMPLES = [s for s in SAMPLES if s[0] in schema.ESSAY_META.names]


@pytest.mark.parametrize(("key", "value", "valid"), META_SAMPLES, ids=lambda x: str(x))
def test_front_matter_and_overrides_agree(book: Path, key: str, value: str, valid: bool) -> None:
    """A key set in an essay's front matter, or over it in book.yaml, is held to one rule."""
    if key == "title" and value == "'  '":
        valid = True  # only book.yaml's own title must not be empty
    override = f"title: T\ncontents:\n  - path: a.md\n{nested(key, value)}".replace(
        f"\n{key}:", f"\n    {key}:"
    )
    assert loader_accepts(book / "book.yaml", override) is valid
    (book / "a.md").write_text(f"---\n{key}: {value}\n---\n# A\n", encoding="utf-8")
    try:
        read_source(book / "a.md", "a.md")
        accepted = True
    except BookError:
        accepted = False
    assert accepted is valid
    assert (schema_errors(f"{key}: {value}\n", schema.ESSAY_META) == []) is valid

"""`make-book new` and `make-book init`: the book.yaml they write, quoted as YAML needs, listing
what it should, checked by make-book and by the JSON Schema written beside it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from make_book.cli import main
from make_book.scaffold import (
    SCHEMA_LINE,
    STARTER,
    BookInfo,
    comment_text,
    starter_manifest,
    yaml_scalar,
)
from make_book.source.inventory import essay_paths
from make_book.source.schema import BOOK
from make_book.source.schema_export import json_schema

# Titles YAML must quote (or keep plain) with care.
AWKWARD_TITLES = [
    'On "Walking": Notes',
    "#1 — Ünïcödé “curly” ‘quotes’",
    "Title: with 'single' and \"double\" quotes",
    "- a leading dash",
    "no",
    "1984",
    "[not a list]",
    "{not: a mapping}",
    "it's a colon at the end:",
    "日本語の本 😀",
    "50% & @handles, `code` | pipes > and *stars*",
]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def error_lines(result: Result) -> list[str]:
    return result.stderr.splitlines()


def assert_one_line_error(result: Result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert error_lines(result) == [f"error: {expected}"]
    assert "Traceback" not in result.output


def book_yaml(folder: Path) -> dict[str, object]:
    loaded = yaml.safe_load((folder / "book.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def assert_schema_valid(folder: Path) -> None:
    """book.yaml opens with the editor's schema line, and the schema beside it accepts it."""
    text = (folder / "book.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_LINE == "# yaml-language-server: $schema=book.schema.json"
    schema = json.loads((folder / "book.schema.json").read_text(encoding="utf-8"))
    assert schema == json_schema(BOOK)  # what `make-book schema` prints
    jsonschema.validate(book_yaml(folder), schema)


def assert_checks(folder: Path) -> None:
    result = run("check", folder / "book.yaml")
    assert result.exit_code == 0, result.output


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


# make-book new


@pytest.mark.parametrize("title", AWKWARD_TITLES)
def test_new_writes_the_title_as_given(tmp_path: Path, title: str) -> None:
    folder = tmp_path / "book"
    result = run(
        "new", folder, "--title", title, "--author", "Jane O'Neil: Jr.", "--language", "fr-CA"
    )
    assert result.exit_code == 0, result.output
    data = book_yaml(folder)
    assert data["title"] == title
    assert data["author"] == "Jane O'Neil: Jr."
    assert "editor" not in data  # the starter's placeholder editor went with it
    assert data["language"] == "fr-CA"
    assert data["subtitle"] == "Essays by Several Hands"  # the rest is the starter's
    assert_schema_valid(folder)
    assert_checks(folder)


def test_new_without_options_is_the_starter(tmp_path: Path) -> None:
    result = run("new", tmp_path / "book")
    assert result.exit_code == 0, result.output
    written = (tmp_path / "book" / "book.yaml").read_text(encoding="utf-8")
    assert written == SCHEMA_LINE + "\n" + (STARTER / "book.yaml").read_text(encoding="utf-8")
    assert_schema_valid(tmp_path / "book")


def test_new_editor_and_author_both(tmp_path: Path) -> None:
    folder = tmp_path / "book"
    result = run("new", folder, "--editor", "E. Ditor", "--author", "A. Uthor")
    assert result.exit_code == 0, result.output
    data = book_yaml(folder)
    assert (data["author"], data["editor"]) == ("A. Uthor", "E. Ditor")
    assert_checks(folder)


def test_new_book_builds(tmp_path: Path) -> None:
    folder = tmp_path / "book"
    assert run("new", folder, "--title", "Über: “Bücher”", "--language", "de").exit_code == 0
    built = run("build", folder / "book.yaml", "--format", "html")
    assert built.exit_code == 0, built.output
    index = (folder / "dist" / "html" / "index.html").read_text(encoding="utf-8")
    assert "Über: “Bücher”" in index


@pytest.mark.parametrize("language", ["xx_YY", "e", "english language", "en-"])
def test_new_refuses_a_bad_language(tmp_path: Path, language: str) -> None:
    result = run("new", tmp_path / "book", "--language", language)
    expected = f"--language: '{language}' is not a language tag such as en, en-GB or fr"
    assert_one_line_error(result, expected)
    assert not (tmp_path / "book").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--title", "   ", "must not be empty"),
        ("--author", "A\x07B", "control character #x0007 is not allowed"),
    ],
)
def test_new_refuses_text_book_yaml_would(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    result = run("new", tmp_path / "book", option, value)
    assert_one_line_error(result, f"{option}: {message}")
    assert not (tmp_path / "book").exists()


def test_every_option_has_its_line_in_the_starter() -> None:
    """The starter keeps the lines `new` replaces (scaffold.starter_manifest)."""
    info = BookInfo(title="T", author="A", editor="E", language="de")
    data = yaml.safe_load(starter_manifest(info))
    assert (data["title"], data["author"], data["editor"], data["language"]) == (
        "T",
        "A",
        "E",
        "de",
    )


# make-book init


def manuscripts_folder(folder: Path) -> Path:
    """Essays in every format, in subfolders, with titles of their own or none."""
    write(folder / "10-ten.md", '---\ntitle: "Front: *matter*"\n---\n\nThe tenth.\n')
    write(folder / "2-two.md", "# Heading Two\n\nThe second.\n")
    write(folder / "part-10" / "a.txt", "Plain Title Line\n\nA text.\n")
    write(folder / "part-2" / "z.html", "<h1>An <em>HTML</em> Title</h1><p>Some HTML.</p>")
    write(folder / "part-2" / "untitled-notes.md", "Notes without a heading.\n")
    write(folder / "part-2" / "B.MARKDOWN", "---\ntitle: 'It''s: upper'\n---\n\nUpper case.\n")
    # Not essays: hidden, outputs, a theme's overrides, another book, other files.
    for skipped in (".drafts/x.md", "dist/x.md", "styles/x.md", "templates/x.md", ".hidden.md"):
        write(folder / skipped, "# Skipped\n\nNot in the book.\n")
    write(folder / "other-book" / "book.yaml", "title: Another\n")
    write(folder / "other-book" / "chapter.md", "# Another's\n\nNot in this one.\n")
    write(folder / "notes.odt", "not an essay format")
    return folder


def test_init_lists_every_essay_in_name_order_with_its_title(tmp_path: Path) -> None:
    folder = manuscripts_folder(tmp_path / "My Essays")
    result = run("init", folder, "--author", "Ann: Author")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {folder / 'book.yaml'}: 6 essays in name order")
    data = book_yaml(folder)
    assert data["title"] == "My Essays"  # the folder's name
    assert (data["author"], data["language"]) == ("Ann: Author", "en")
    assert data["contents"] == [
        "2-two.md",
        "10-ten.md",
        "part-2/B.MARKDOWN",
        {"path": "part-2/untitled-notes.md", "title": "untitled notes"},  # it has no title
        "part-2/z.html",
        "part-10/a.txt",
    ]
    lines = (folder / "book.yaml").read_text(encoding="utf-8").splitlines()
    contents = lines[lines.index("contents:") + 1 :]
    assert [line.split("  # ")[-1] if "#" in line else line.strip() for line in contents] == [
        "Heading Two",
        "Front: matter",
        "It’s: upper",  # as the book prints it
        "- path: part-2/untitled-notes.md",
        "title: untitled notes",
        "An HTML Title",
        "Plain Title Line",
    ]
    assert "essay has no title" in result.stderr  # and book.yaml gave it one
    assert_schema_valid(folder)
    assert_checks(folder)


def test_init_here_with_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = manuscripts_folder(tmp_path / "essays")
    monkeypatch.chdir(folder)
    title = 'Essays: "Collected" #2'
    result = run("init", "--title", title, "--editor", "Ed", "--language", "en-GB")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote book.yaml: 6 essays")
    data = book_yaml(folder)
    assert (data["title"], data["editor"], data["language"]) == (title, "Ed", "en-GB")
    assert "author" not in data
    assert_schema_valid(folder)
    assert_checks(folder)


def test_init_writes_a_styles_readme(tmp_path: Path) -> None:
    folder = manuscripts_folder(tmp_path / "book")
    assert run("init", folder).exit_code == 0
    readme = (folder / "styles" / "README.md").read_bytes()
    assert readme == (STARTER / "styles" / "README.md").read_bytes()
    assert (folder / "styles" / "x.md").exists()  # what was there stays


def test_init_keeps_a_styles_readme(tmp_path: Path) -> None:
    folder = manuscripts_folder(tmp_path / "book")
    write(folder / "styles" / "README.md", "Mine.\n")
    assert run("init", folder).exit_code == 0
    assert (folder / "styles" / "README.md").read_text(encoding="utf-8") == "Mine.\n"


def test_init_refuses_an_existing_book_yaml(tmp_path: Path) -> None:
    folder = manuscripts_folder(tmp_path / "book")
    write(folder / "book.yaml", "title: Mine\ncontents: [2-two.md]\n")
    before = tree(folder)
    result = run("init", folder)
    assert_one_line_error(
        result, f"{folder / 'book.yaml'} exists: init never replaces it (edit it, or remove it)"
    )
    assert tree(folder) == before  # nothing written: no schema, no styles/README.md


def test_init_without_essays_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    write(folder / "notes.odt", "not an essay")
    write(folder / "dist" / "old.md", "# Old output\n")
    before = tree(folder)
    result = run("init", folder)
    assert_one_line_error(
        result,
        f"{folder}: no essay files (.md, .markdown, .txt, .text, .html, .htm, .xhtml, .docx)"
        " here or in subfolders; put the essays there, or start from an example with"
        " `make-book new FOLDER`",
    )
    assert tree(folder) == before


def test_init_refuses_a_missing_folder(tmp_path: Path) -> None:
    assert_one_line_error(run("init", tmp_path / "nope"), f"{tmp_path / 'nope'}: no such folder")


def test_init_replaces_only_its_own_schema(tmp_path: Path) -> None:
    ours = manuscripts_folder(tmp_path / "ours")
    old = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "book.yaml"}
    write(ours / "book.schema.json", json.dumps(old))  # an older make-book's
    assert run("init", ours).exit_code == 0
    assert_schema_valid(ours)

    theirs = manuscripts_folder(tmp_path / "theirs")
    write(theirs / "book.schema.json", '{"title": "Something else"}')
    result = run("init", theirs)
    assert result.exit_code == 0, result.output
    assert (theirs / "book.schema.json").read_text() == '{"title": "Something else"}'
    assert "book.schema.json is not make-book's: kept as it is" in result.stderr


def test_essays_are_in_natural_order(tmp_path: Path) -> None:
    for name in ("b/1.md", "a10.md", "A2.md", "a1.txt", "b/01.md", "c.md", "b/x/9.md"):
        write(tmp_path / name, "# T\n\nx\n")
    assert essay_paths(tmp_path) == [
        "a1.txt", "A2.md", "a10.md", "b/01.md", "b/1.md", "b/x/9.md", "c.md"
    ]  # fmt: skip


REPOSITORY_FILES = [
    "README.md", "readme.txt", "Readme.en.md", "LICENSE.md", "License.txt", "LICENSE-MIT.md",
    "LICENCE.markdown", "CHANGELOG.md", "CHANGES.txt", "CONTRIBUTING.md", "CODE_OF_CONDUCT.md",
    "SECURITY.md", "NOTICE.txt", "AUTHORS.md", "essays/README.md", "essays/deep/license.html",
]  # fmt: skip


@pytest.mark.parametrize("name", REPOSITORY_FILES)
def test_a_repository_s_own_files_are_no_essays(tmp_path: Path, name: str) -> None:
    write(tmp_path / "essay.md", "# An essay\n\nx\n")
    write(tmp_path / name, "# About this repository\n\nx\n")
    assert essay_paths(tmp_path) == ["essay.md"]


def test_essays_named_like_a_repository_file_stay_essays(tmp_path: Path) -> None:
    names = ["changes-of-heart.md", "notices.md", "readmes-and-writers.md", "security_theatre.md"]
    for name in names:
        write(tmp_path / name, "# T\n\nx\n")
    assert essay_paths(tmp_path) == sorted(names)


TOOL_FOLDERS = [
    "venv", ".venv", "VENV", "node_modules", "__pycache__", "lib/python3.12/site-packages",
    "essays/venv", "part-1/node_modules/pkg", "tools/__pycache__",
]  # fmt: skip


@pytest.mark.parametrize("folder", TOOL_FOLDERS)
def test_the_folders_of_tools_are_skipped_at_any_depth(tmp_path: Path, folder: str) -> None:
    write(tmp_path / "essays" / "one.md", "# One\n\nx\n")
    write(tmp_path / folder / "docs" / "guide.md", "# A package's guide\n\nx\n")
    write(tmp_path / folder / "notes.txt", "A package's notes\n")
    assert essay_paths(tmp_path) == ["essays/one.md"]


def test_a_virtual_environment_of_any_name_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "one.md", "# One\n\nx\n")
    write(tmp_path / "py312" / "pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path / "py312" / "lib" / "python3.12" / "pkg" / "guide.md", "# Guide\n\nx\n")
    write(tmp_path / "environment" / "an-essay.md", "# On environments\n\nx\n")
    assert essay_paths(tmp_path) == ["environment/an-essay.md", "one.md"]


def test_init_lists_no_readme_licence_or_virtual_environment(tmp_path: Path) -> None:
    folder = manuscripts_folder(tmp_path / "repo")
    write(folder / "README.md", "# My essays\n\nHow to build them.\n")
    write(folder / "LICENSE.md", "# MIT License\n\nx\n")
    write(folder / "venv" / "lib" / "python3.12" / "site-packages" / "pkg" / "README.md", "# P\n")
    write(folder / "venv" / "share" / "doc.md", "# Doc\n\nx\n")
    result = run("init", folder)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {folder / 'book.yaml'}: 6 essays in name order")
    listed = [e if isinstance(e, str) else e["path"] for e in book_yaml(folder)["contents"]]
    assert not [path for path in listed if "venv" in path or "README" in path or "LICENSE" in path]
    assert_checks(folder)


# The YAML written by hand


@given(st.text())
def test_yaml_scalar_reads_back_as_written(value: str) -> None:
    line = f"key: {yaml_scalar(value)}"
    assert "\n" not in line
    assert yaml.safe_load(line) == {"key": value}


@given(st.text())
def test_a_title_comment_is_one_harmless_line(title: str) -> None:
    line = f"- a.md  # {comment_text(title)}"
    assert len(line.splitlines()) == 1
    assert yaml.safe_load(line) == ["a.md"]

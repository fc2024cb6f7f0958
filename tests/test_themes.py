"""The packaged themes: each builds the sample book in every format, clean and in its own
faces (embedded in the PDF and the EPUB, WOFF2 on the web); they really differ; a
theme's `extends:` layers its files on its base's; `make-book themes` lists them all."""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner, Result
from pypdf import PdfReader

from helpers import (
    assert_epubcheck_clean,
    assert_stays_inside,
    copy_book,
    epubcheck,
    run_audited,
    text_matrix,
)
from make_book import theme
from make_book.cli import main
from make_book.preflight.checks import preflight
from make_book.profiles import PROFILES
from make_book.source.manifest import load_manifest
from make_book.theme.css import resources
from test_accessibility import ace_command, ace_violations

THEMES = theme.packaged_themes()
PRINT_PROFILES = ("screen", "kdp")
# The faces each theme sets the book in: every font of its PDF is one of these.
FACES = {
    "default": {"Book Serif"},
    "modern": {"Literata", "Inter"},
    "large-print": {"Atkinson Hyperlegible"},
}
# The warning a short book gets from KDP's page minimum, whatever its theme.
PADDING = re.compile(r"^warning: kdp: the book has \d+ pages; \d+ blank pages added")


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@dataclass(frozen=True)
class Built:
    """The sample book built in one theme: its output folder and what the build said."""

    out: Path
    warnings: list[str]

    def pdf_fonts(self, name: str = "book.pdf") -> set[str]:
        """The base names of every font the PDF's pages use, without the subset tag."""
        with pikepdf.open(self.out / name) as pdf:
            return {
                str(font.get("/BaseFont", "")).lstrip("/").split("+")[-1]
                for page in pdf.pages
                for font in page.Resources.get("/Font", pikepdf.Dictionary()).values()
            }

    def pages(self) -> int:
        return len(PdfReader(self.out / "book.pdf").pages)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """The sample book built once per packaged theme: every format, two print profiles."""
    made = {}
    for name in THEMES:
        folder = tmp_path_factory.mktemp(f"theme-{name}")
        manifest = copy_book("sample", folder / "book")
        manifest.write_text(manifest.read_text("utf-8") + f"\ntheme: {name}\n", "utf-8")
        out = folder / "dist"
        profiles = ",".join(PRINT_PROFILES)
        result = run("build", manifest, "--format", "all", "--profile", profiles, "--out", out)
        assert result.exit_code == 0, result.output
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
        made[name] = Built(out, warnings)
    return made


@pytest.fixture(params=THEMES)
def built(request: pytest.FixtureRequest, builds: dict[str, Built]) -> Built:
    return builds[request.param]


def key(name: str) -> str:
    """A font name as the PDF spells it and as CSS does, compared alike."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


# Each theme, every format


def test_three_themes_are_packaged() -> None:
    assert {"default", "modern", "large-print"} <= set(THEMES)
    assert set(FACES) == set(THEMES), "a new theme: say which faces it sets"


def test_the_build_warns_of_nothing_but_kdp_s_page_minimum(built: Built) -> None:
    assert [w for w in built.warnings if not PADDING.match(w)] == []


def test_the_epub_passes_epubcheck(built: Built) -> None:
    assert_epubcheck_clean(epubcheck(built.out / "book.epub"))


def test_ace_finds_no_violations_in_the_epub(built: Built, tmp_path: Path) -> None:
    ace = ace_command()
    if ace is None:
        pytest.skip("DAISY Ace is not installed (run .ci/install-ace, or set MAKE_BOOK_ACE)")
    violations = ace_violations(ace, built.out / "book.epub", tmp_path / "ace")
    assert violations == [], "\n".join(violations)


@pytest.mark.parametrize("profile", PRINT_PROFILES)
def test_the_pdf_and_cover_pass_the_preflight(built: Built, profile: str) -> None:
    rules = PROFILES[profile]
    assert preflight(built.out / rules.file_name("book"), rules) == []
    assert preflight(built.out / rules.file_name("cover"), rules.for_cover()) == []


def test_the_pdf_embeds_the_theme_s_faces_and_no_other(
    built: Built, request: pytest.FixtureRequest
) -> None:
    faces = {key(face) for face in FACES[theme_of(request)]}
    for pdf in ("book.pdf", "book-kdp.pdf", "cover.pdf"):
        fonts = built.pdf_fonts(pdf)
        fallbacks = [f for f in fonts if not any(key(f).startswith(face) for face in faces)]
        assert fallbacks == [], f"{pdf}: set in a fallback face"
    used = {face for face in faces for f in built.pdf_fonts() if key(f).startswith(face)}
    assert used == faces


def test_the_epub_carries_every_font_its_stylesheet_names(built: Built) -> None:
    with zipfile.ZipFile(built.out / "book.epub") as epub:
        names = set(epub.namelist())
        css = epub.read("EPUB/style/epub.css").decode("utf-8")
    fonts = [r.url for r in resources(css) if r.url.startswith("fonts/")]
    assert [url for url in fonts if f"EPUB/style/{url}" not in names] == []
    packed = {n for n in names if n.endswith((".otf", ".ttf"))}
    assert len(packed) == len(set(fonts)), "every face named is packed, and nothing else"


def test_the_web_edition_names_woff2_files_that_exist(built: Built) -> None:
    html = built.out / "html"
    fonts = [r.url for r in resources((html / "style.css").read_text("utf-8"))]
    fonts = [url for url in fonts if url.startswith("fonts/")]
    assert all(url.endswith(".woff2") for url in fonts)
    assert [url for url in fonts if not (html / url).is_file()] == []


def test_the_copyright_page_names_the_theme_s_faces(
    built: Built, request: pytest.FixtureRequest
) -> None:
    name = theme_of(request)
    typeface = theme.theme_info(name).typeface or "Linux Libertine"
    pages = PdfReader(built.out / "book.pdf").pages
    text = " ".join(" ".join(page.extract_text().split()) for page in pages[:6])
    assert f"Set in {typeface} with make-book." in text
    assert f"Set in {typeface} with make-book." in (built.out / "html" / "index.html").read_text()


def theme_of(request: pytest.FixtureRequest) -> str:
    """The theme a test runs for (the `built` fixture's parameter)."""
    return str(request.node.callspec.params["built"])


# The themes differ


def test_the_themes_look_different(builds: dict[str, Built]) -> None:
    fonts = {name: frozenset(b.pdf_fonts()) for name, b in builds.items()}
    assert len(set(fonts.values())) == len(builds), fonts
    pages = {name: b.pages() for name, b in builds.items()}
    assert pages["large-print"] > pages["default"] * 1.25, pages


def test_large_print_sets_the_text_at_17_points_or_more(builds: dict[str, Built]) -> None:
    reader = PdfReader(builds["large-print"].out / "book.pdf")
    sizes: Counter[float] = Counter()

    def size_of(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        scale = text_matrix(tm, cm)[3]
        sizes[round(size * scale, 1)] += len(text.strip())

    for page in reader.pages[12:16]:  # inside the first essay
        page.extract_text(visitor_text=size_of)
    body, _ = sizes.most_common(1)[0]
    assert body >= 17.0


# extends: the lookup chain


def test_a_derived_theme_is_searched_before_its_base() -> None:
    assert theme.theme_chain("modern") == ("modern", "default")
    assert theme.packaged_dirs("modern") == tuple(
        theme.THEMES / name / folder
        for name in ("modern", "default")
        for folder in ("templates", "styles", "fonts")
    )
    assert theme.packaged_dirs() == theme.packaged_dirs("default")[:3]


def test_a_derived_stylesheet_is_layered_after_its_base_s() -> None:
    base = (theme.THEMES / "default" / "styles" / "print.css").read_text("utf-8")
    own = (theme.THEMES / "modern" / "styles" / "print.css").read_text("utf-8")
    layered = theme.packaged_file("modern", "print.css").read_text("utf-8")
    assert layered.index(base) < layered.index(own)
    assert theme.packaged_file("default", "print.css") == theme.THEMES / "default" / "styles" / (
        "print.css"
    )


def test_a_derived_template_replaces_its_base_s_and_the_rest_are_inherited() -> None:
    assert theme.packaged_file("modern", "colophon.html").parent.parent.name == "modern"
    assert theme.packaged_file("modern", "pages.html").parent.parent.name == "default"


def test_a_book_s_own_stylesheet_still_replaces_the_theme_s(tmp_path: Path) -> None:
    manifest = copy_book("sample", tmp_path / "book")
    manifest.write_text(manifest.read_text("utf-8") + "\ntheme: modern\n", "utf-8")
    (tmp_path / "book" / "styles").mkdir(exist_ok=True)
    own = tmp_path / "book" / "styles" / "web.css"
    own.write_text("body { color: black }\n", "utf-8")
    from make_book.source.assemble import assemble

    book = assemble(load_manifest(manifest))
    assert theme.find_file(book, "web.css") == own
    assert theme.stylesheet_fonts(book, own) == []


def test_a_derived_theme_s_build_stays_inside_the_book(tmp_path: Path) -> None:
    """Its layered stylesheets are written to the build's own temp folder, nowhere else."""
    manifest = copy_book("sample", tmp_path / "book")
    manifest.write_text(manifest.read_text("utf-8") + "\ntheme: modern\n", "utf-8")
    done, accesses = run_audited(["build", "--format", "all"], cwd=manifest.parent)
    assert done.returncode == 0, done.stderr
    assert_stays_inside(accesses, [manifest.parent])


@pytest.fixture
def themes_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder of packaged themes of the test's making, in place of the real one."""
    monkeypatch.setattr(theme, "THEMES", tmp_path)
    theme.theme_info.cache_clear()
    theme.theme_chain.cache_clear()
    yield tmp_path
    theme.theme_info.cache_clear()
    theme.theme_chain.cache_clear()


def make_theme(folder: Path, name: str, extends: str = "", css: str = "") -> None:
    (folder / name / "styles").mkdir(parents=True)
    (folder / name / "theme.yaml").write_text(f"description: {name}\nextends: {extends}\n")
    if css:
        (folder / name / "styles" / "print.css").write_text(css)


def test_extends_chains_through_every_base(themes_folder: Path) -> None:
    make_theme(themes_folder, "base", css="p { color: black }\n")
    make_theme(themes_folder, "middle", "base")
    make_theme(themes_folder, "top", "middle", css="p { color: navy }\n")
    assert theme.theme_chain("top") == ("top", "middle", "base")
    layered = theme.packaged_file("top", "print.css").read_text("utf-8")
    assert layered.index("black") < layered.index("navy")


@pytest.mark.parametrize("extends", ["itself", "missing"])
def test_a_broken_chain_is_our_own_error(themes_folder: Path, extends: str) -> None:
    make_theme(themes_folder, "itself", "itself" if extends == "itself" else "missing")
    with pytest.raises(ValueError, match="cannot extend"):
        theme.theme_chain("itself")


def test_every_packaged_chain_ends_in_a_theme_with_templates() -> None:
    for name in THEMES:
        assert (theme.THEMES / theme.theme_chain(name)[-1] / "templates").is_dir()


def test_a_font_name_cannot_leave_the_font_folders(tmp_path: Path) -> None:
    manifest = copy_book("sample", tmp_path / "book")
    manifest.write_text(manifest.read_text("utf-8") + "\ntheme: modern\n", "utf-8")
    from make_book.source.assemble import assemble

    book = assemble(load_manifest(manifest))
    assert theme.find_font(book, "Inter-Regular.otf") is not None
    assert theme.find_font(book, "../styles/print.css") is None
    assert theme.find_font(book, "..") is None


# make-book themes


def test_make_book_themes_lists_every_packaged_theme() -> None:
    result = run("themes")
    assert result.exit_code == 0, result.output
    listed = [line.split()[0] for line in result.output.splitlines()]
    assert listed == list(THEMES)
    assert "extends default" in result.output


def test_an_unknown_theme_is_refused_naming_the_packaged_ones(tmp_path: Path) -> None:
    manifest = copy_book("sample", tmp_path / "book")
    manifest.write_text(manifest.read_text("utf-8") + "\ntheme: gothic\n", "utf-8")
    result = run("check", manifest)
    assert result.exit_code == 2
    assert all(name in result.stderr for name in THEMES)

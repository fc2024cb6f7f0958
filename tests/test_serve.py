"""`make-book serve`: the preview, served, rebuilt on save, reloaded in a real browser.

One server on a copy of the sample book serves the module's tests (its first build takes
a few seconds); the tests that stop a server start their own.
"""

from __future__ import annotations

import hashlib
import http.client
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from helpers import REPO, copy_book
from serve_helpers import CHROMIUM, CHROMIUM_ARGS, Running, Server

ESSAY = "chapters/01-making-magic.md"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    manifest = copy_book("sample", tmp_path_factory.mktemp("served"))
    running = Server(manifest.parent)
    running.wait_for_build(0)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _raw(server: Server, target: str, host: str | None = None) -> int:
    """The status of GET `target` sent exactly as written (no client tidies the path)."""
    address = server.url.removeprefix("http://").rstrip("/")
    name, port = address.rsplit(":", 1)
    with socket.create_connection((name, int(port)), timeout=10) as connection:
        request = f"GET {target} HTTP/1.1\r\nHost: {host or address}\r\nConnection: close\r\n\r\n"
        connection.sendall(request.encode())
        first = connection.makefile("rb").readline().decode()
    return int(first.split()[1])


def _book_files(folder: Path) -> dict[str, str]:
    """The hash of every source file (what the server must never write)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".make-book-cache" not in path.parts
    }


# The server: what it serves, what it refuses


def test_pages_carry_the_live_script_and_the_files_do_not(server: Server) -> None:
    status, body = _get(server.url + "html/making-magic.html")
    assert status == 200
    assert b'<script src="/__make-book/live.js"' in body
    preview = _preview_folder(server)
    assert b"__make-book" not in (preview / "html" / "making-magic.html").read_bytes()
    assert not (preview.parent.parent / "dist").exists(), "serve wrote into dist/"


def _preview_folder(server: Server) -> Path:
    cwd = Path(psutil.Process(server.process.pid).cwd())
    return cwd / ".make-book-cache" / "preview"


def test_the_root_leads_to_the_contents(server: Server) -> None:
    status, body = _get(server.url)
    assert status == 200 and b"toc" in body.lower()


@pytest.mark.parametrize(
    "target",
    [
        "/../book.yaml",
        "/html/../../book.yaml",
        "/%2e%2e/book.yaml",
        "/html/%2e%2e%2f%2e%2e%2fbook.yaml",
        "/..%5c..%5cbook.yaml",
        "/html/./index.html/../../../book.yaml",
        "//etc/passwd",
        "/%00",
    ],
)
def test_paths_out_of_the_preview_are_refused(server: Server, target: str) -> None:
    assert _raw(server, target) in (403, 404)


def test_no_folder_is_listed(server: Server) -> None:
    (_preview_folder(server) / "empty-folder").mkdir(exist_ok=True)
    assert _get(server.url + "empty-folder/")[0] == 404


def test_a_link_out_of_the_preview_is_not_followed(server: Server, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the browser")
    link = _preview_folder(server) / "leak.txt"
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    assert _get(server.url + "leak.txt")[0] == 404


def test_another_sites_name_is_refused(server: Server) -> None:
    """DNS rebinding: a page of evil.example resolving its name to 127.0.0.1."""
    assert _raw(server, "/html/index.html", host="evil.example") == 403
    assert _raw(server, "/html/index.html", host="localhost") == 200


def test_the_loopback_names_are_answered(server: Server) -> None:
    for name in ("127.0.0.1", "[::1]", "LOCALHOST", "localhost:1"):
        assert _raw(server, "/html/index.html", host=name) == 200, name


def test_an_error_to_head_has_no_body(server: Server) -> None:
    address = server.url.removeprefix("http://").rstrip("/")
    connection = http.client.HTTPConnection(address, timeout=10)
    connection.request("HEAD", "/no-such-file")
    answer = connection.getresponse()
    assert answer.status == 404 and answer.read() == b""
    connection.request("HEAD", "/html/index.html")  # the same connection still works
    assert connection.getresponse().status == 200
    connection.close()


def test_only_get_and_head(server: Server) -> None:
    address = server.url.removeprefix("http://").rstrip("/")
    connection = http.client.HTTPConnection(address, timeout=10)
    connection.request("POST", "/html/index.html", body=b"x")
    assert connection.getresponse().status == 501
    connection.close()


def test_page_images_of_the_print_edition(server: Server) -> None:
    state = server.status()
    assert state["pages"]["making-magic"] == ["3", "4", "5"]
    status, body = _get(server.url + "__make-book/print/making-magic")
    assert status == 200 and b"pp. 3\xe2\x80\x935" in body
    status, image = _get(server.url + "__make-book/page/12.png")
    assert status == 200 and image.startswith(b"\x89PNG")
    assert _get(server.url + "__make-book/page/9999.png")[0] == 404
    assert _get(server.url + "__make-book/print/no-such-essay")[0] == 404


def test_a_non_loopback_host_is_warned_about(tmp_path: Path) -> None:
    manifest = copy_book("sample", tmp_path / "book")
    running = Running(
        ["serve", "--host", "0.0.0.0", "--port", "0", "--format", "html"], manifest.parent
    )
    try:
        running.wait_for(lambda line: "anyone who can reach this machine" in line, timeout=60)
    finally:
        assert running.stop() == 130


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    manifest = copy_book("sample", tmp_path / "book")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = Running(["serve", "--port", str(port)], manifest.parent)
        assert running.process.wait(timeout=60) == 2
        running.readers_done()
    said = running.said()
    hint = "another program uses it: give another --port, or --port 0 for any free one"
    assert said == [f"error: --port {port}: {hint}"]


# Rebuilding


def test_saves_during_a_build_make_one_more_build(tmp_path: Path) -> None:
    manifest = copy_book("sample", tmp_path / "book")
    server = Server(manifest.parent, "--format", "html,pdf")
    try:
        first = server.wait_for_build(0)["build"]
        essay = manifest.parent / ESSAY
        text = essay.read_text("utf-8")
        essay.write_text(text + "\nA first save.\n", "utf-8")
        deadline = time.monotonic() + 60
        while not server.status()["building"]:
            assert time.monotonic() < deadline, "the save started no build"
            time.sleep(0.01)
        for count in range(3):  # saved three times while it builds (it takes ~0.3 s)
            essay.write_text(text + f"\nSave {count}.\n", "utf-8")
        state = _settled(server)
        assert state["build"] == first + 2, "three saves during a build made more than one build"
        assert state["ok"]
        page = _preview_folder(server) / "html" / "making-magic.html"
        assert "Save 2." in page.read_text("utf-8")
    finally:
        server.stop()


def _settled(server: Server) -> dict[str, object]:
    """The status once nothing has changed for longer than the watcher groups saves."""
    state, since = server.status(), time.monotonic()
    while time.monotonic() - since < 3.0:
        time.sleep(0.1)
        now = server.status()
        if now != state:
            state, since = now, time.monotonic()
    return state


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_server_and_its_workers(tmp_path: Path, signum: int, code: int) -> None:
    """A book big enough for layout workers, stopped while they lay it out."""
    folder = tmp_path / "big"
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "stress_book.py"), str(folder), "--essays", "40"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    server = Server(folder, "--jobs", "2", "--format", "pdf")
    tree = psutil.Process(server.process.pid)
    deadline = time.monotonic() + 120
    while not tree.children(recursive=True):
        assert time.monotonic() < deadline, "no layout worker was started"
        time.sleep(0.05)
    workers = tree.children(recursive=True)
    assert server.status()["building"]
    assert server.stop(signum) == code
    name = signal.Signals(signum).name
    assert f"error: interrupted by {name}" in "\n".join(server.said())
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"left running: {alive}"
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=2)


def test_the_server_writes_nothing_into_the_sources(tmp_path: Path) -> None:
    manifest = copy_book("sample", tmp_path / "book")
    before = _book_files(manifest.parent)
    server = Server(manifest.parent)
    try:
        server.wait_for_build(0)
        for path in ("", "html/index.html", "__make-book/print/making-magic"):
            _get(server.url + path)
        _get(server.url + "__make-book/page/3.png")
    finally:
        server.stop()
    assert _book_files(manifest.parent) == before


# In the browser


def test_an_edit_appears_by_itself_with_its_print_pages(server: Server, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(server.url + "html/making-magic.html")
    page.wait_for_selector("#make-book-bar")
    essay = _source(server, ESSAY)
    text = essay.read_text("utf-8")
    try:
        essay.write_text(text.replace("Sean Baker", "Sean Baker (an editorial note)", 1), "utf-8")
        page.wait_for_selector("text=an editorial note", timeout=60_000)
        page.click("#make-book-bar a")  # one click to the print pages
        page.wait_for_selector("figure img")
        folios = page.locator("figcaption").all_inner_texts()
        assert folios == ["3", "4", "5"]
        widths = page.evaluate(  # the pages are drawn when scrolled to: ask for all
            "() => Promise.all([...document.images].map(async i => {"
            " i.loading = 'eager'; await i.decode(); return i.naturalWidth; }))"
        )
        assert all(width > 300 for width in widths)
        shown_build = _build_of_images(page)
        essay.write_text(text, "utf-8")  # the print view refreshes too
        page.wait_for_function(
            f"() => [...document.images].every(i => !i.src.endsWith('b={shown_build}'))",
            timeout=60_000,
        )
    finally:
        essay.write_text(text, "utf-8")
        page.close()


def _build_of_images(page: object) -> str:
    src: str = page.get_attribute("figure img", "src")  # type: ignore[attr-defined]
    return src.rsplit("b=", 1)[1]


def test_a_broken_book_yaml_shows_its_line_and_column_over_the_last_preview(
    server: Server, browser: object
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(server.url + "html/making-magic.html")
    page.wait_for_selector("#make-book-bar")
    manifest = _source(server, "book.yaml")
    good = manifest.read_text("utf-8")
    try:
        manifest.write_text(good.replace("title:", "title: [", 1), "utf-8")
        overlay = page.wait_for_selector("#make-book-errors", timeout=60_000)
        said = overlay.inner_text()
        assert "error: book.yaml:" in said and "invalid YAML" in said
        line_col = said.split("book.yaml:", 1)[1].split(":")[:2]
        assert all(part.isdigit() for part in line_col)
        assert page.is_visible("text=Making Magic with So Little"), "the last preview is gone"
        manifest.write_text(good, "utf-8")
        page.wait_for_selector("#make-book-errors", state="detached", timeout=60_000)
    finally:
        manifest.write_text(good, "utf-8")
        page.close()


def _source(server: Server, name: str) -> Path:
    return Path(psutil.Process(server.process.pid).cwd()) / name


# build --watch and --open


def test_build_watch_builds_again_on_every_save(tmp_path: Path) -> None:
    manifest = copy_book("sample", tmp_path / "book")
    running = Running(["build", "--watch", "--format", "html"], manifest.parent)
    try:
        running.wait_for(lambda line: line.startswith("html ") and "dist/html" in line)
        running.wait_for(lambda line: line.startswith("watching "))
        essay = manifest.parent / ESSAY
        essay.write_text(essay.read_text("utf-8") + "\nA new closing line.\n", "utf-8")
        running.wait_for(lambda line: line == "changed: chapters/01-making-magic.md")
        running.wait_for(lambda line: line.startswith("html "))
        page = manifest.parent / "dist" / "html" / "making-magic.html"
        assert "A new closing line." in page.read_text("utf-8")
        (manifest.parent / "book.yaml").write_text("title: [\n", "utf-8")
        running.wait_for(lambda line: line.startswith("error: book.yaml:2:1: invalid YAML"))
        assert running.process.poll() is None, "a failed build ended the watch"
    finally:
        assert running.stop() == 130


def _recording_browser(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A BROWSER (Python's webbrowser reads it) that notes what it was asked to open."""
    opened = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n', "utf-8")
    script.chmod(0o755)
    return {"BROWSER": f"{script} %s"}, opened


@pytest.mark.parametrize(
    ("formats", "expected"), [("pdf,html", "dist/book.pdf"), ("html", "dist/html/index.html")]
)
def test_build_open_opens_the_pdf_or_the_web_edition(
    tmp_path: Path, formats: str, expected: str
) -> None:
    manifest = copy_book("sample", tmp_path / "book")
    env, opened = _recording_browser(tmp_path)
    running = Running(["build", "--open", "--format", formats], manifest.parent, env)
    assert running.process.wait(timeout=300) == 0, running.said()
    running.readers_done()
    assert opened.read_text("utf-8").split() == [(manifest.parent / expected).as_uri()]


# What the watcher takes for a save


def test_only_real_saves_rebuild(tmp_path: Path) -> None:
    """Not the editor's swap and lock files, not the outputs (even through a link), but
    a file whose name merely begins like an output folder's."""
    manifest = copy_book("sample", tmp_path / "book")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (manifest.parent / "dist").symlink_to(elsewhere)
    running = Running(["build", "--watch", "--format", "html", "--no-cache"], manifest.parent)
    try:
        running.wait_for(lambda line: line.startswith("watching "))
        chapters = manifest.parent / "chapters"
        for name in (".01-making-magic.md.swp", "#01-making-magic.md#", "4913", "x.md~"):
            (chapters / name).write_text("editor", "utf-8")
        time.sleep(3)  # the builds' own writes, and those, for longer than a batch takes
        assert not [line for line in running.said() if line.startswith("changed:")]
        (manifest.parent / "distance.md").write_text("a note", "utf-8")
        running.wait_for(lambda line: line == "changed: distance.md", timeout=30)
    finally:
        assert running.stop() == 130


def test_a_script_in_the_preview_folder_does_not_run(server: Server, browser: object) -> None:
    preview = _preview_folder(server)
    (preview / "planted.js").write_text("document.title = 'RAN';", "utf-8")
    (preview / "planted.html").write_text(
        "<html><head><title>kept</title></head><body><p>planted</p>"
        '<script src="/planted.js"></script><script>document.title="RAN"</script></body></html>',
        "utf-8",
    )
    page = browser.new_page()  # type: ignore[attr-defined]
    try:
        page.goto(server.url + "planted.html")
        page.wait_for_selector("#make-book-bar")  # the live script itself runs
        assert page.title() == "kept"
    finally:
        page.close()


def test_a_preview_folder_brought_with_the_book_is_emptied(tmp_path: Path) -> None:
    manifest = copy_book("sample", tmp_path / "book")
    planted = manifest.parent / ".make-book-cache" / "preview" / "old.html"
    planted.parent.mkdir(parents=True)
    planted.write_text("<p>from the book folder</p>", "utf-8")
    server = Server(manifest.parent, "--format", "html")
    try:
        server.wait_for_build(0)
        assert _get(server.url + "old.html")[0] == 404
    finally:
        server.stop()

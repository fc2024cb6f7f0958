"""The preview's HTTP server: the preview folder, the live script, the print view.

It serves the preview folder and nothing else: no path outside it (`..`, links that
leave it), no directory listings, GET and HEAD only. Pages are sent with the live script
added (the files stay as a build wrote them). A page asking from another site's name
(DNS rebinding) is refused when the server listens on loopback only.
"""

from __future__ import annotations

import html
import ipaddress
import json
import mimetypes
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from make_book.serve.pages import PageImages
from make_book.serve.preview import Outcome, Status

LIVE = "/__make-book/"  # the server's own paths; no output of a book has this name
LIVE_SCRIPT = (Path(__file__).parent / "live.js").read_bytes()
KEEPALIVE_SECONDS = 10.0
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,200}")
_PAGE = re.compile(r"(\d{1,6})\.png")
# Scripts only from the server itself: an essay cannot run one in the preview.
_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'self'; frame-ancestors 'self'"
)


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class PreviewServer(ThreadingHTTPServer):
    """Serves `root` (the preview folder) and the state of its builds."""

    daemon_threads = True  # an open event stream does not keep make-book running
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], root: Path, status: Status) -> None:
        super().__init__(address, _Handler)
        self.root = root.resolve()
        self.status = status
        self.images = PageImages()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, name="preview-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:  # shutdown() waits for a loop that must have started
            self.shutdown()
        self.server_close()
        self.images.close()


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Requests are not logged: the terminal is for the builds."""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        if not self._host_allowed():
            self._fail(HTTPStatus.FORBIDDEN, "this preview answers to localhost only")
            return
        path = urlsplit(self.path).path
        if path.startswith(LIVE):
            self._live(path[len(LIVE) :], send_body)
        elif path == "/":
            shown = self.server.status.good
            target = "/html/index.html" if (self.server.root / "html").is_dir() else LIVE + "print/"
            self._redirect(target if shown else LIVE + "status.html")
        else:
            self._file(unquote(path), send_body)

    def _host_allowed(self) -> bool:
        host = self.server.server_address[0]
        if not is_loopback(str(host)):
            return True  # asked for with --host: any name the machine is reached by
        asked = self.headers.get("Host", "")
        name = asked.rsplit(":", 1)[0] if not asked.endswith("]") else asked
        return is_loopback(name)

    # The preview folder

    def _file(self, path: str, send_body: bool) -> None:
        found = self._inside(path)
        if found is None:
            self._fail(HTTPStatus.NOT_FOUND, "not found")
            return
        body = found.read_bytes()
        kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        if kind == "text/html":
            body = _with_live_script(body, self._shown_build())
            kind += "; charset=utf-8"
        self._send(HTTPStatus.OK, kind, body, send_body)

    def _inside(self, path: str) -> Path | None:
        """The file `path` names inside the preview folder, or None: a path with `..`,
        a backslash or a NUL, a link leading out, a folder without index.html."""
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") or "\\" in p or "\0" in p for p in parts):
            return None
        candidate = self.server.root.joinpath(*parts)
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if real.is_dir():
            real = real / "index.html"
        if not real.is_relative_to(self.server.root) or not real.is_file():
            return None
        return real

    # The server's own paths

    def _live(self, path: str, send_body: bool) -> None:
        routes: dict[str, Callable[[], None]] = {
            "live.js": lambda: self._send(
                HTTPStatus.OK, "text/javascript; charset=utf-8", LIVE_SCRIPT, send_body
            ),
            "status": lambda: self._send_json(self._state(), send_body),
            "status.html": lambda: self._send_page(_status_page(), send_body),
            "events": self._events,
        }
        if path in routes:
            routes[path]()
        elif path.startswith("print/"):
            self._print_view(path[len("print/") :], send_body)
        elif path.startswith("page/"):
            self._page_image(path[len("page/") :], send_body)
        else:
            self._fail(HTTPStatus.NOT_FOUND, "not found")

    def _state(self) -> dict[str, object]:
        status = self.server.status
        latest = status.latest
        state = latest.for_browser(status.good) if latest else {"build": 0, "ok": True}
        return {**state, "building": status.building}

    def _events(self) -> None:
        """Server-sent events: the state now, then after every build, until the server
        stops or the page goes away."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        status, sent = self.server.status, -1
        try:
            while not self.server.stopping.is_set():
                version = status.version
                if version != sent:
                    self.wfile.write(b"data: " + json.dumps(self._state()).encode() + b"\n\n")
                    sent = version
                else:  # a comment: a closed page shows as a broken pipe
                    self.wfile.write(b": still here\n\n")
                self.wfile.flush()
                status.wait_past(sent, KEEPALIVE_SECONDS)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return

    def _print_view(self, slug: str, send_body: bool) -> None:
        good = self.server.status.good
        slug = slug.strip("/")
        if good is None or good.pdf is None:
            self._fail(HTTPStatus.NOT_FOUND, "no print edition in this preview (see --format)")
            return
        if slug and (not _SLUG.fullmatch(slug) or slug not in good.pages):
            self._fail(HTTPStatus.NOT_FOUND, "no such essay in the print edition")
            return
        self._send_page(_print_page(good, slug), send_body)

    def _page_image(self, name: str, send_body: bool) -> None:
        good = self.server.status.good
        match = _PAGE.fullmatch(name)
        image = None
        if good is not None and good.pdf is not None and match:
            image = self.server.images.png(good.pdf, good.number, int(match.group(1)))
        if image is None:
            self._fail(HTTPStatus.NOT_FOUND, "no such page")
            return
        self._send(HTTPStatus.OK, "image/png", image, send_body)

    # Answers

    def _shown_build(self) -> int:
        good = self.server.status.good
        return good.number if good else 0

    def _send_page(self, page: str, send_body: bool) -> None:
        body = _with_live_script(page.encode(), self._shown_build())
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", body, send_body)

    def _send_json(self, value: object, send_body: bool) -> None:
        self._send(HTTPStatus.OK, "application/json", json.dumps(value).encode(), send_body)

    def _redirect(self, target: str) -> None:
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _fail(self, code: HTTPStatus, message: str) -> None:
        body = f"{code.value} {code.phrase}: {message}\n".encode()
        self._send(code, "text/plain; charset=utf-8", body, True)

    def _send(self, code: HTTPStatus, kind: str, body: bytes, send_body: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")  # a preview is always the latest
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", _POLICY)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def _with_live_script(page: bytes, build: int) -> bytes:
    """The page with the live script added before </body> (or at its end)."""
    tag = f'<script src="{LIVE}live.js" data-build="{build}"></script>'.encode()
    at = page.lower().rfind(b"</body>")
    return page[:at] + tag + page[at:] if at >= 0 else page + tag


def _print_page(outcome: Outcome, slug: str) -> str:
    """The print view: the pages of one essay (or of the whole book), as printed."""
    shown = outcome.pages[slug] if slug else _all_pages(outcome)
    title = outcome.titles.get(slug, "The whole book") if slug else "The whole book"
    first, last = shown[0].folio, shown[-1].folio
    span = f"p. {first}" if len(shown) == 1 else f"pp. {first}–{last}"
    web = f"/html/{slug}.html" if slug else "/html/index.html"
    figures = "\n".join(
        f'<figure><img src="{LIVE}page/{p.index}.png?b={outcome.number}" '
        f'alt="page {html.escape(p.folio)}" width="560"><figcaption>{html.escape(p.folio)}'
        "</figcaption></figure>"
        for p in shown
    )
    return _PAGE_SHELL.format(
        title=html.escape(title),
        span=span,
        web=web,
        pdf=_pdf_link(outcome, shown[0].index),
        figures=figures,
    )


def _all_pages(outcome: Outcome) -> tuple[Any, ...]:
    return tuple(
        sorted((p for pages in outcome.pages.values() for p in pages), key=lambda p: p.index)
    )


def _pdf_link(outcome: Outcome, index: int) -> str:
    assert outcome.pdf is not None
    return f"/{html.escape(outcome.pdf.name)}#page={index + 1}"


def _status_page() -> str:
    """Shown until the first build is good; the live script replaces it then."""
    return _PAGE_SHELL.format(
        title="make-book preview", span="building the book", web="/", pdf="/", figures=""
    )


_PAGE_SHELL = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — print pages</title>
<style>
body {{ margin: 0; background: #d8d8d4; font: 15px/1.4 system-ui, sans-serif; color: #222; }}
header {{ padding: 12px 20px; background: #f4f4f0; border-bottom: 1px solid #bbb; }}
h1 {{ margin: 0; font-size: 18px; }} header p {{ margin: 4px 0 0; }}
main {{ display: flex; flex-wrap: wrap; gap: 24px; justify-content: center; padding: 24px; }}
figure {{ margin: 0; text-align: center; }}
img {{ display: block; max-width: 100%; height: auto; background: #fff;
       box-shadow: 0 1px 4px rgba(0, 0, 0, .35); }}
figcaption {{ margin-top: 6px; font-size: 13px; color: #444; }}
</style>
</head><body class="make-book-print">
<header><h1>{title}</h1>
<p>{span} · <a href="{web}">web page</a> · <a href="{pdf}">PDF</a></p></header>
<main>{figures}</main>
</body></html>
"""

"""The preview's HTTP server: the preview folder, the live script, the print view.

It serves the preview folder and nothing else: no path outside it (`..`, links that
leave it), no directory listings, GET and HEAD only. Pages are sent with the live script
added (the files stay as a build wrote them). Only that script runs: the pages' policy
names it by a nonce drawn when the server starts, so a script in an essay or a file
planted in the preview folder does not run. A request naming a host this server is not
(DNS rebinding: a web page elsewhere resolving its own name to this machine) is refused.
"""

from __future__ import annotations

import ipaddress
import json
import mimetypes
import re
import secrets
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from make_book.serve.pages import PageImages
from make_book.serve.preview import Status
from make_book.serve.print_view import LIVE, print_page, waiting_page

LIVE_SCRIPT = (Path(__file__).parent / "live.js").read_bytes()
KEEPALIVE_SECONDS = 10.0
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,200}")
_PAGE = re.compile(r"(\d{1,6})\.png")


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class PreviewServer(ThreadingHTTPServer):
    """Serves `root` (the preview folder) and the state of its builds."""

    daemon_threads = True  # an open event stream does not keep make-book running
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], root: Path, status: Status) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        self.root = root.resolve()
        self.status = status
        self.images = PageImages()
        self.stopping = threading.Event()
        self.nonce = secrets.token_urlsafe(18)
        self.policy = (
            f"default-src 'self'; script-src 'nonce-{self.nonce}'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
        )
        self.names = _own_names(address[0])
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

    def answers_to(self, host: str) -> bool:
        """Whether a request naming `host` is for this server: a loopback name, or, when it
        listens beyond loopback, an address or this machine's own name."""
        if is_loopback(host):
            return True
        return self.names is not None and (_is_address(host) or host.lower() in self.names)


def _own_names(bound: str) -> frozenset[str] | None:
    """The names this machine goes by, when the server listens beyond loopback."""
    if is_loopback(bound):
        return None
    names = {socket.gethostname(), socket.getfqdn(), bound}
    return frozenset(name.lower() for name in names if name)


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
        if not self.server.answers_to(_host_of(self.headers.get("Host", ""))):
            self._fail(HTTPStatus.FORBIDDEN, "not a name of this preview", send_body)
            return
        path = urlsplit(self.path).path
        if path.startswith(LIVE):
            self._live(path[len(LIVE) :], send_body)
        elif path == "/":
            self._redirect(self._home())
        else:
            self._file(unquote(path), send_body)

    def _home(self) -> str:
        if self.server.status.good is None:
            return LIVE + "waiting.html"
        return "/html/index.html" if (self.server.root / "html").is_dir() else LIVE + "print/"

    # The preview folder

    def _file(self, path: str, send_body: bool) -> None:
        build = self._shown_build()  # before reading: a page newer than this reloads
        found = self._inside(path)
        try:
            body = found.read_bytes() if found is not None else None
        except OSError:  # swapped or removed meanwhile (a build, `make-book clean`)
            body = None
        if found is None or body is None:
            self._fail(HTTPStatus.NOT_FOUND, "not found", send_body)
            return
        kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        if kind == "text/html":
            body = self._with_live_script(body, build)
            kind += "; charset=utf-8"
        self._send(HTTPStatus.OK, kind, body, send_body)

    def _inside(self, path: str) -> Path | None:
        """The file `path` names inside the preview folder, or None: a path with `..`,
        a backslash or a NUL, a link leading out, a folder without index.html."""
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") or "\\" in p or "\0" in p for p in parts):
            return None
        try:
            real = self.server.root.joinpath(*parts).resolve(strict=True)
            if real.is_dir():
                real = real / "index.html"
            inside = real.is_relative_to(self.server.root) and real.is_file()
        except (OSError, RuntimeError):
            return None
        return real if inside else None

    # The server's own paths

    def _live(self, path: str, send_body: bool) -> None:
        routes: dict[str, Callable[[], None]] = {
            "live.js": lambda: self._send(
                HTTPStatus.OK, "text/javascript; charset=utf-8", LIVE_SCRIPT, send_body
            ),
            "status": lambda: self._send_json(self._state(), send_body),
            "waiting.html": lambda: self._send_page(waiting_page(), send_body),
            "events": self._events,
        }
        if path in routes:
            routes[path]()
        elif path.startswith("print/"):
            self._print_view(path[len("print/") :].strip("/"), send_body)
        elif path.startswith("page/"):
            self._page_image(path[len("page/") :], send_body)
        else:
            self._fail(HTTPStatus.NOT_FOUND, "not found", send_body)

    def _state(self) -> dict[str, object]:
        status = self.server.status
        latest = status.latest
        state = latest.for_browser(status.good) if latest else {"build": 0, "ok": True}
        return {**state, "building": status.building}

    def _events(self) -> None:
        """Server-sent events: the state now, then at every change (a build starting, a
        build's outcome), until the server stops or the page goes away."""
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
        except (ConnectionError, TimeoutError):
            return

    def _print_view(self, slug: str, send_body: bool) -> None:
        good = self.server.status.good
        page = None
        if good is not None and (not slug or _SLUG.fullmatch(slug)):
            page = print_page(good, slug)
        if page is None:
            self._fail(HTTPStatus.NOT_FOUND, "no such print pages in this preview", send_body)
            return
        self._send_page(page, send_body)

    def _page_image(self, name: str, send_body: bool) -> None:
        good = self.server.status.good
        match = _PAGE.fullmatch(name)
        image = None
        if good is not None and good.pdf_bytes is not None and match:
            image = self.server.images.png(good.pdf_bytes, good.number, int(match.group(1)))
        if image is None:
            self._fail(HTTPStatus.NOT_FOUND, "no such page", send_body)
            return
        self._send(HTTPStatus.OK, "image/png", image, send_body)

    # Answers

    def _shown_build(self) -> int:
        good = self.server.status.good
        return good.number if good else 0

    def _with_live_script(self, page: bytes, build: int) -> bytes:
        """The page with the live script added before </body> (or at its end)."""
        tag = (
            f'<script src="{LIVE}live.js" nonce="{self.server.nonce}"'
            f' data-build="{build}"></script>'
        ).encode()
        at = page.lower().rfind(b"</body>")
        return page[:at] + tag + page[at:] if at >= 0 else page + tag

    def _send_page(self, page: str, send_body: bool) -> None:
        body = self._with_live_script(page.encode(), self._shown_build())
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", body, send_body)

    def _send_json(self, value: object, send_body: bool) -> None:
        self._send(HTTPStatus.OK, "application/json", json.dumps(value).encode(), send_body)

    def _redirect(self, target: str) -> None:
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _fail(self, code: HTTPStatus, message: str, send_body: bool) -> None:
        body = f"{code.value} {code.phrase}: {message}\n".encode()
        self._send(code, "text/plain; charset=utf-8", body, send_body)

    def _send(self, code: HTTPStatus, kind: str, body: bytes, send_body: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")  # a preview is always the latest
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", self.server.policy)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def _host_of(header: str) -> str:
    """The host a Host header names, without its port ("[::1]:8000" -> "::1")."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header

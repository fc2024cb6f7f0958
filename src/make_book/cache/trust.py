"""The key that makes the cache this machine's own: entry names and tags come from it.

A cache folder sits beside book.yaml, so it can arrive with a book folder from anyone.
An entry is used only if it carries a tag (HMAC-SHA256 over its place and its bytes)
made with a key the book folder does not hold: the `MAKE_BOOK_CACHE_KEY` environment
variable (a CI's secret), else 32 random bytes in the user's config folder, made on
first use. Entry names are keyed too, so without the key one cannot even say where an
entry would go. See docs/safety.md, "How the cache is trusted".
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from pathlib import Path

KEY_VARIABLE = "MAKE_BOOK_CACHE_KEY"
MIN_SECRET = 32  # characters of MAKE_BOOK_CACHE_KEY: `openssl rand -hex 32` gives 64
KEY_BYTES = 32
TAG_LENGTH = 64  # hex digits of an HMAC-SHA256
_DOMAIN = b"make-book cache 1\0"  # a new scheme gets a new domain: old tags then fail

_KEYS: dict[Path, bytes] = {}  # key files read in this process


class CacheUnusable(Exception):
    """Why a cache cannot be used, in words that finish "not used: …"."""


def key_file() -> Path:
    """Where this user's key is kept: ${XDG_CONFIG_HOME:-~/.config}/make-book/cache-key."""
    config = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config) if os.path.isabs(config) else Path.home() / ".config"
    return base / "make-book" / "cache-key"


def machine_key() -> bytes:
    """The key from MAKE_BOOK_CACHE_KEY, else the user's key file (made if missing)."""
    secret = os.environ.get(KEY_VARIABLE, "")
    if secret:  # empty: a CI secret that this job does not get (a fork's pull request)
        if len(secret) < MIN_SECRET:
            raise CacheUnusable(f"{KEY_VARIABLE} is shorter than {MIN_SECRET} characters")
        return secret.encode("utf-8", "surrogateescape")
    path = key_file()
    if path not in _KEYS:
        _KEYS[path] = _read_or_make(path)
    return _KEYS[path]


def existing_machine_key() -> bytes | None:
    """The key, as `machine_key` gives it, if there is one already (None: none is made)."""
    if not os.environ.get(KEY_VARIABLE) and not os.path.lexists(key_file()):
        return None
    return machine_key()


def name_of(key: bytes, logical: str) -> str:
    """The file name an entry known as `logical` gets: computable only with the key."""
    return hmac.new(key, _DOMAIN + b"name\0" + logical.encode(), hashlib.sha256).hexdigest()


def seal(key: bytes, place: str, payload: bytes) -> bytes:
    """An entry's bytes: the tag of its place and payload, a newline, the payload."""
    return _tag(key, place, payload) + b"\n" + payload


def unseal(key: bytes, place: str, data: bytes) -> bytes | None:
    """The payload of a sealed entry, or None if its tag is not this key's for `place`."""
    tag, newline, payload = (
        data[:TAG_LENGTH],
        data[TAG_LENGTH : TAG_LENGTH + 1],
        data[TAG_LENGTH + 1 :],
    )
    if newline != b"\n" or not hmac.compare_digest(tag, _tag(key, place, payload)):
        return None
    return payload


def _tag(key: bytes, place: str, payload: bytes) -> bytes:
    # The place is tagged too: an entry moved to another name (another essay's) fails.
    mac = hmac.new(key, _DOMAIN + b"entry\0" + place.encode() + b"\0", hashlib.sha256)
    mac.update(payload)
    return mac.hexdigest().encode()


def _read_or_make(path: Path) -> bytes:
    with contextlib.suppress(FileNotFoundError):
        return _read_key(path)
    try:
        _make_key(path)
    except OSError as error:
        raise CacheUnusable(f"cannot make the key {path}: {error.strerror}") from error
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    """The key file's 32 bytes; a FIFO or a device there is refused, not waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise CacheUnusable(f"cannot read the key {path}: {error.strerror}") from error
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CacheUnusable(f"the key {path} is not a file")
        key = stream.read(KEY_BYTES + 1)
    if len(key) != KEY_BYTES:
        raise CacheUnusable(f"the key {path} is not {KEY_BYTES} bytes")
    return key


def _make_key(path: Path) -> None:
    """Write a new key whole, readable by this user only; a key already there is kept
    (two first builds at once agree on the one that was linked in first)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cache-key.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(secrets.token_bytes(KEY_BYTES))
            stream.flush()
            os.fsync(stream.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # never replaces: unlike a rename, it fails if one exists
    finally:
        os.unlink(tmp)

"""Decoding the operand of a Tj or TJ: the bytes of its strings and the sum of its
kerning numbers, which is all measuring its width needs.
"""

from __future__ import annotations

import re

import pikepdf

# How qpdf writes a string or an array back out: hex with whole bytes, or a literal
# with every parenthesis inside it escaped.
_HEX_STRING = re.compile(rb"<([0-9A-Fa-f]*)>")
_LITERAL_STRING = re.compile(rb"\(((?:[^\\)]|\\.)*)\)", re.DOTALL)
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)")
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|.)", re.DOTALL)
_ESCAPED = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"\r\n": b""}


def split_shown(shown: pikepdf.Object) -> tuple[bytes, float]:
    """A Tj string or a TJ array as all its string bytes and the sum of its numbers.

    The width needs only the total, so the pieces need not stay in order; reading the
    array back as text is many times faster than visiting its items one by one.
    """
    raw = shown.unparse()
    # Literals first: a "(" always opens one, while a "<" may sit inside one.
    literals = b"".join(_unescape(body) for body in _LITERAL_STRING.findall(raw))
    raw = _LITERAL_STRING.sub(b" ", raw)
    hex_digits = b"".join(_HEX_STRING.findall(raw))
    numbers = _NUMBER.findall(_HEX_STRING.sub(b" ", raw))
    return bytes.fromhex(hex_digits.decode("ascii")) + literals, sum(map(float, numbers))


def _unescape(body: bytes) -> bytes:
    if b"\\" not in body:
        return body

    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1] in b"01234567":
            return bytes([int(code, 8) & 0xFF])
        return _ESCAPED.get(code, code)

    return _ESCAPE.sub(one, body)

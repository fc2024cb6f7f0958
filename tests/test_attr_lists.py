"""Pango attribute lists freed with their layouts (patches/attr_lists.py): a process that lays
out the same document again and again stays the same size, and draws the same bytes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

LAY_OUT_AGAIN = """
import ctypes, gc, hashlib, io, os, sys
import weasyprint
from weasyprint.text.fonts import FontConfiguration
from make_book.render.weasy.patches import attr_lists

fonts = FontConfiguration()
if sys.argv[1] == "freed":
    assert attr_lists.install(), attr_lists.shape_problem()
    attr_lists.free_attr_lists_with_layouts(fonts)
# Font features (small caps) give each layout an attribute list; justified lines add
# an attribute per space to it when they are drawn.
text = "<p style='text-align: justify; font-variant: small-caps'>" + "word " * 2000 + "</p>"
html = weasyprint.HTML(string=text)

def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

for i in range(16):
    out = io.BytesIO()
    html.render(font_config=fonts).write_pdf(out)
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)
    if i == 3:
        base = rss()
print(rss() - base, hashlib.sha256(out.getvalue()).hexdigest())
"""


def lay_out_again(mode: str) -> tuple[int, str]:
    # A fixed date: where fontTools subsets the fonts, it stamps them (font_dates.py).
    env = {**os.environ, "SOURCE_DATE_EPOCH": "946684800"}
    done = subprocess.run(
        [sys.executable, "-c", LAY_OUT_AGAIN, mode],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    growth, digest = done.stdout.split()
    return int(growth), digest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, calls glibc")
def test_layouts_free_their_attribute_lists() -> None:
    leaked, leaked_pdf = lay_out_again("as-released")
    freed, freed_pdf = lay_out_again("freed")
    assert leaked > 1 << 20, "WeasyPrint as released keeps every list (the test's premise)"
    assert freed < leaked / 10
    assert freed_pdf == leaked_pdf

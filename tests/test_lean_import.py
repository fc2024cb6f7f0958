"""WeasyPrint imported without the fontTools modules it seldom uses (lean_import.py):
they are left out until used, and then they are the real ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import make_book

FONT = Path(make_book.__file__).parent / "themes/default/fonts/LinLibertine_R.otf"

CHECK = f"""
import sys
from make_book.render.lean_import import weasyprint_imported
weasyprint_imported()
import weasyprint, weasyprint.pdf.fonts as fonts
left_out = [m for m in sys.modules if m.startswith(("fontTools.subset", "fontTools.varLib"))]
assert not left_out, left_out
from fontTools.ttLib import TTFont
try:
    fonts.instantiateVariableFont(TTFont({str(FONT)!r}), {{}})
except ValueError as error:  # the real function: this face has no variations
    assert "fvar" in str(error), error
else:
    raise AssertionError("a static face was instantiated")
import fontTools.subset
assert fonts.subset.Subsetter is fontTools.subset.Subsetter
print("ok")
"""


def test_weasyprint_loads_without_the_rare_fonttools_modules() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "ok", done.stderr

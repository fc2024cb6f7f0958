"""Write src/make_book/render/weasy/patches/ffi_declarations.txt from the installed WeasyPrint.

Run with the project's virtualenv after WeasyPrint or cffi changes (the test of the
declarations says when): `.venv/bin/python tools/weasyprint_declarations.py`.
It imports WeasyPrint as usual, keeping the C declarations `text/ffi.py` gives cffi,
has cffi write them in its out-of-line ABI form (`emit_python_code`), and keeps that
form's arguments as Python literals, with the sha256 of `text/ffi.py` and of the
declarations (render/weasy/patches/declarations.py reads them).
"""

from __future__ import annotations

import ast
import hashlib
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import cffi

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src/make_book/render/weasy/patches/ffi_declarations.txt"
MODULE = "_make_book_weasyprint"
HEADER = """\
# WeasyPrint {weasyprint}'s C declarations (weasyprint/text/ffi.py) as cffi {cffi}'s
# out-of-line ABI mode keeps them: written by tools/weasyprint_declarations.py, read by
# make_book/render/weasy/patches/declarations.py with ast.literal_eval, never run.
"""


def declarations() -> tuple[str, Path]:
    """The declarations WeasyPrint gives cffi's `cdef`, and the file that gives them."""
    sources: list[str] = []
    usual = cffi.FFI

    class Keeping(usual):  # type: ignore[misc, valid-type]
        def cdef(self, csource: str, *args: object, **kwargs: object) -> None:
            sources.append(csource)
            super().cdef(csource, *args, **kwargs)

    cffi.FFI = Keeping
    try:
        import weasyprint.text.ffi as declaring
    finally:
        cffi.FFI = usual
    if len(sources) != 1:
        sys.exit(f"WeasyPrint called cdef {len(sources)} times, not once")
    return sources[0], Path(declaring.__file__)


def arguments(csource: str) -> dict[str, object]:
    """What cffi's out-of-line module passes `_cffi_backend.FFI`, as Python values."""
    builder = cffi.FFI()
    builder.cdef(csource)
    builder.set_source(MODULE, None)
    with tempfile.TemporaryDirectory() as folder:
        written = Path(folder) / f"{MODULE}.py"
        builder.emit_python_code(str(written))
        tree = ast.parse(written.read_text("utf-8"))
    call = next(node.value for node in tree.body if isinstance(node, ast.Assign))
    assert isinstance(call, ast.Call) and len(call.args) == 1, "cffi's module changed shape"
    assert ast.literal_eval(call.args[0]) == MODULE
    return {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}


def main() -> None:
    csource, ffi_file = declarations()
    entries = {
        "weasyprint": version("weasyprint"),
        "cffi": version("cffi"),
        "ffi_sha256": hashlib.sha256(ffi_file.read_bytes()).hexdigest(),
        "cdef_sha256": hashlib.sha256(csource.encode()).hexdigest(),
        "module": MODULE,
    }
    lines = [HEADER.format(**entries), "{\n"]
    lines += [f"    {key!r}: {value!r},\n" for key, value in entries.items()]
    lines.append("    'arguments': {\n")
    for key, value in arguments(csource).items():
        if isinstance(value, tuple):  # one entry a line: a diff shows what changed
            items = "".join(f"        {item!r},\n" for item in value)
            lines.append(f"      {key!r}: (\n{items}      ),\n")
        else:
            lines.append(f"      {key!r}: {value!r},\n")
    lines.append("    },\n}\n")
    OUT.write_text("".join(lines), "utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

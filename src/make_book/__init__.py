"""make-book: compile essays into a print-ready PDF, an EPUB 3 and a web edition."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("make-book")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

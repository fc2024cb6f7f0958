"""make-book: compile essays into a print-ready PDF, an EPUB 3 and a web edition."""

# The one declaration of the version: pyproject.toml reads it from here. Not read from
# the installed metadata: importing importlib.metadata took 50 ms of every command's
# start, and of every layout worker's.
__version__ = "0.1.0"

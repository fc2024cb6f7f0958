"""`python -m make_book` runs the command line."""

import signal

from make_book.build.interrupt import interrupted  # small: loads nothing else of make_book

try:
    from make_book.cli import run
except KeyboardInterrupt:  # Ctrl-C before cli.py set its handlers: the same exit
    raise interrupted(signal.SIGINT) from None

run()

"""`python -m make_book` runs the command line."""

from make_book.cli import main

main()

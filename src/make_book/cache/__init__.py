"""What is kept between builds in .make-book-cache/: converted essays and rendered pages (memo)."""

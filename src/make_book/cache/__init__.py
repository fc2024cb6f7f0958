"""What is kept between builds in .make-book-cache/ (memo), and how it is trusted: entries
sealed with a key outside the book folder (trust), read and written as make-book's own
files only (folder, files)."""

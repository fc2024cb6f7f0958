"""Reading the book: book.yaml's schema and loader, essay files and their front matter,
Markdown and HTML made into safe fragments, and the Book they are assembled into.
"""

"""The EPUB 3: content documents, the page-list of the print edition, packaging by ebooklib."""

"""The covers: the one-piece wrap cover PDF for printers, and the EPUB's cover image."""

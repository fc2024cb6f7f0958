"""Where make-book meets WeasyPrint: the shared session (fonts, logging), the URL
fetcher, and the fenced patches of its internals.
"""
